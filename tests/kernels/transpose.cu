// transpose.cu: matrix transpose (w x h row-major in, h x w out): naive, and 32x32 shared tiles
// with a padded row (TDIM+1) against bank conflicts, blocks of 32x8 threads looping over rows.
// Host side: tests/emu/test_corpus_linalg.c.
#define TDIM 32
#define BROWS 8

extern "C" __global__ void transpose_naive_f32(float *out, const float *in, int w, int h)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x < w && y < h) out[(size_t)x * h + y] = in[(size_t)y * w + x];
}

extern "C" __global__ void transpose_tiled_f32(float *out, const float *in, int w, int h)
{
    __shared__ float tile[TDIM][TDIM + 1];
    int x = blockIdx.x * TDIM + threadIdx.x, y = blockIdx.y * TDIM + threadIdx.y;
    for (int j = 0; j < TDIM; j += BROWS)
        if (x < w && y + j < h) tile[threadIdx.y + j][threadIdx.x] = in[(size_t)(y + j) * w + x];
    __syncthreads();
    x = blockIdx.y * TDIM + threadIdx.x;
    y = blockIdx.x * TDIM + threadIdx.y;
    for (int j = 0; j < TDIM; j += BROWS)
        if (x < h && y + j < w) out[(size_t)(y + j) * h + x] = tile[threadIdx.x][threadIdx.y + j];
}

// 64-bit elements through a padded tile (8-byte shared accesses).
extern "C" __global__ void transpose_tiled_u64(unsigned long long *out, const unsigned long long *in, int w, int h)
{
    __shared__ unsigned long long tile[TDIM][TDIM + 1];
    int x = blockIdx.x * TDIM + threadIdx.x, y = blockIdx.y * TDIM + threadIdx.y;
    for (int j = 0; j < TDIM; j += BROWS)
        if (x < w && y + j < h) tile[threadIdx.y + j][threadIdx.x] = in[(size_t)(y + j) * w + x];
    __syncthreads();
    x = blockIdx.y * TDIM + threadIdx.x;
    y = blockIdx.x * TDIM + threadIdx.y;
    for (int j = 0; j < TDIM; j += BROWS)
        if (x < h && y + j < w) out[(size_t)(y + j) * h + x] = tile[threadIdx.x][threadIdx.y + j];
}
