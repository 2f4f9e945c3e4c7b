// constmem.cu: __constant__ arrays and a __constant__ struct set by the host through
// cuModuleGetGlobal + cuMemcpyHtoD (uniform and divergent indexing), and __device__ globals: a
// counter, an initialised table, a 64-bit sum and an array read back by the host.
// Host side: tests/emu/test_corpus_lang.c.

struct ConstParams { int scale; int bias; };

__constant__ float c_coeffs[64];
__constant__ int c_lut[256];
__constant__ ConstParams c_params;

__device__ int g_counter;
__device__ float g_table[16] = { 1.0f, 2.0f, 3.0f, 5.0f, 8.0f, 13.0f, 21.0f, 34.0f,
                                 -1.5f, -2.5f, 0.125f, 1e3f, 7.0f, 9.0f, 11.0f, 0.0f };
__device__ unsigned long long g_sum;
__device__ int g_array[1024];

// Polynomial of degree 7 in x with c_coeffs[0..7] (uniform constant loads); the block's
// c_coeffs[8 + blockIdx.x % 56] is added.
extern "C" __global__ void const_poly(const float *x, float *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = x[i], r = 0.0f;
    for (int k = 7; k >= 0; --k) r = r * v + c_coeffs[k];
    out[i] = r + c_coeffs[8 + blockIdx.x % 56];
}

extern "C" __global__ void const_lut(const unsigned *in, int *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = c_lut[in[i] & 255] * c_params.scale + c_params.bias;
}

extern "C" __global__ void dev_globals(int *tickets, float *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    tickets[i] = atomicAdd(&g_counter, 1);
    out[i] = g_table[i & 15] * 2.0f;
    atomicAdd(&g_sum, (unsigned long long)i);
    if (i < 1024) g_array[i] = (int)(i * 3 + 1);
}
