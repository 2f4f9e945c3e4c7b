// histogram.cu: histograms with atomicAdd: privatised shared-memory bins merged into global
// bins, and direct global atomics. Host side: tests/emu/test_corpus_parallel.c.

// 256 bins over bytes, grid-stride loop.
extern "C" __global__ void hist256_shared(const unsigned char *data, unsigned n, unsigned *bins)
{
    __shared__ unsigned s[256];
    for (unsigned b = threadIdx.x; b < 256; b += blockDim.x) s[b] = 0;
    __syncthreads();
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        atomicAdd(&s[data[i]], 1u);
    __syncthreads();
    for (unsigned b = threadIdx.x; b < 256; b += blockDim.x)
        if (s[b]) atomicAdd(&bins[b], s[b]);
}

// nbins bins over 32-bit values (value % nbins), straight to global memory.
extern "C" __global__ void hist_global(const unsigned *vals, unsigned n, unsigned nbins, unsigned *bins)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomicAdd(&bins[vals[i] % nbins], 1u);
}

// Byte histogram reading 4 bytes at a time (uchar4 vector load), 64 bins on the top 6 bits with
// the atomics' results unused (red.shared). A second shared table counts only the .x bytes with
// the result used: block_distinct[b] = number of distinct (x >> 2) values the block saw.
extern "C" __global__ void hist64_uchar4(const uchar4 *data, unsigned n4, unsigned *bins, unsigned *block_distinct)
{
    __shared__ unsigned s[64];
    __shared__ unsigned sx[64];
    __shared__ unsigned distinct;
    if (threadIdx.x < 64) { s[threadIdx.x] = 0; sx[threadIdx.x] = 0; }
    if (threadIdx.x == 0) distinct = 0;
    __syncthreads();
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += blockDim.x * gridDim.x) {
        uchar4 v = data[i];
        atomicAdd(&s[v.x >> 2], 1u);
        atomicAdd(&s[v.y >> 2], 1u);
        atomicAdd(&s[v.z >> 2], 1u);
        atomicAdd(&s[v.w >> 2], 1u);
        if (atomicAdd(&sx[v.x >> 2], 1u) == 0) atomicAdd(&distinct, 1u);
    }
    __syncthreads();
    if (threadIdx.x < 64) atomicAdd(&bins[threadIdx.x], s[threadIdx.x]);
    if (threadIdx.x == 0) block_distinct[blockIdx.x] = distinct;
}
