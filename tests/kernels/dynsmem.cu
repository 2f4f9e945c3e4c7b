// dynsmem.cu: dynamic shared memory (extern __shared__): a block-wide reverse, a partitioned
// buffer (float and int regions carved from one extern array) next to static shared memory, and
// a kernel meant for > 48 KiB of dynamic shared memory (needs the max-dynamic-shared attribute).
// Host side: tests/emu/test_corpus_lang.c.

extern "C" __global__ void dynsmem_reverse(const int *in, int *out)
{
    extern __shared__ int s[];
    unsigned t = threadIdx.x, base = blockIdx.x * blockDim.x;
    s[t] = in[base + t];
    __syncthreads();
    out[base + t] = s[blockDim.x - 1 - t];
}

// Dynamic layout: nf floats then ni ints. Static: 64 ints.
extern "C" __global__ void dynsmem_partition(const float *fin, const int *iin, float *fout, int *iout, int nf, int ni)
{
    extern __shared__ unsigned char raw[];
    __shared__ int stat[64];
    float *fs = (float *)raw;
    int *is = (int *)(raw + nf * sizeof(float));
    unsigned t = threadIdx.x;
    if (t < 64) stat[t] = (int)t * 3;
    for (int k = t; k < nf; k += blockDim.x) fs[k] = fin[blockIdx.x * nf + k];
    for (int k = t; k < ni; k += blockDim.x) is[k] = iin[blockIdx.x * ni + k];
    __syncthreads();
    for (int k = t; k < nf; k += blockDim.x) fout[blockIdx.x * nf + k] = fs[nf - 1 - k] * 2.0f;
    for (int k = t; k < ni; k += blockDim.x) iout[blockIdx.x * ni + k] = is[(k + 1) % ni] + stat[k & 63];
}

// Sums the words of a dynamic buffer of `words` ints filled by all threads (words may exceed
// 12288, i.e. 48 KiB).
extern "C" __global__ void dynsmem_large(int *out, int words)
{
    extern __shared__ int big[];
    for (int k = threadIdx.x; k < words; k += blockDim.x) big[k] = k ^ (int)blockIdx.x;
    __syncthreads();
    int acc = 0;
    for (int k = threadIdx.x; k < words; k += blockDim.x) acc += big[words - 1 - k];
    atomicAdd(&out[blockIdx.x], acc);
}
