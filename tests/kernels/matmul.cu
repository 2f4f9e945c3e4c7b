// matmul.cu: dense matrix multiply C = A*B (row-major, MxK times KxN): naive, and shared-memory
// 16x16 tiles through a template instantiated for float and double by extern "C" wrappers.
// Dimensions need not be multiples of the tile. Host side: tests/emu/test_corpus_linalg.c.
#define TILE 16

template <typename T>
__device__ void mm_tiled(const T *A, const T *B, T *C, int M, int N, int K)
{
    __shared__ T As[TILE][TILE];
    __shared__ T Bs[TILE][TILE];
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
    T acc = 0;
    for (int t = 0; t < (K + TILE - 1) / TILE; ++t) {
        int ka = t * TILE + tx, kb = t * TILE + ty;
        As[ty][tx] = (row < M && ka < K) ? A[(size_t)row * K + ka] : T(0);
        Bs[ty][tx] = (kb < K && col < N) ? B[(size_t)kb * N + col] : T(0);
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TILE; ++k)
            acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    if (row < M && col < N) C[(size_t)row * N + col] = acc;
}

extern "C" __global__ void matmul_tiled_f32(const float *A, const float *B, float *C, int M, int N, int K)
{
    mm_tiled<float>(A, B, C, M, N, K);
}

extern "C" __global__ void matmul_tiled_f64(const double *A, const double *B, double *C, int M, int N, int K)
{
    mm_tiled<double>(A, B, C, M, N, K);
}

extern "C" __global__ void matmul_naive_f32(const float *A, const float *B, float *C, int M, int N, int K)
{
    int row = blockIdx.y * blockDim.y + threadIdx.y, col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= M || col >= N) return;
    float acc = 0.0f;
    for (int k = 0; k < K; ++k)
        acc += A[(size_t)row * K + k] * B[(size_t)k * N + col];
    C[(size_t)row * N + col] = acc;
}
