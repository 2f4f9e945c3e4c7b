// sort.cu: bitonic sorting network in shared memory (key/value pairs, 1024 per block, 512
// threads, ascending when dir == 1), as in the CUDA samples' bitonicSortShared.
// Host side: tests/emu/test_corpus_parallel.c.
#define SORT_N 1024

__device__ __forceinline__ void cmp_swap(unsigned &ka, unsigned &kb, unsigned &va, unsigned &vb, unsigned dir)
{
    if ((ka > kb) == (dir != 0)) {
        unsigned t = ka; ka = kb; kb = t;
        t = va; va = vb; vb = t;
    }
}

extern "C" __global__ void bitonic_sort_kv(unsigned *keys, unsigned *vals, unsigned dir)
{
    __shared__ unsigned sk[SORT_N];
    __shared__ unsigned sv[SORT_N];
    unsigned *dk = keys + blockIdx.x * SORT_N, *dv = vals + blockIdx.x * SORT_N;
    unsigned t = threadIdx.x;
    sk[t] = dk[t];
    sv[t] = dv[t];
    sk[t + SORT_N / 2] = dk[t + SORT_N / 2];
    sv[t + SORT_N / 2] = dv[t + SORT_N / 2];
    for (unsigned size = 2; size < SORT_N; size <<= 1) {
        unsigned ddd = dir ^ ((t & (size / 2)) != 0);
        for (unsigned stride = size / 2; stride > 0; stride >>= 1) {
            __syncthreads();
            unsigned pos = 2 * t - (t & (stride - 1));
            cmp_swap(sk[pos], sk[pos + stride], sv[pos], sv[pos + stride], ddd);
        }
    }
    for (unsigned stride = SORT_N / 2; stride > 0; stride >>= 1) {
        __syncthreads();
        unsigned pos = 2 * t - (t & (stride - 1));
        cmp_swap(sk[pos], sk[pos + stride], sv[pos], sv[pos + stride], dir);
    }
    __syncthreads();
    dk[t] = sk[t];
    dv[t] = sv[t];
    dk[t + SORT_N / 2] = sk[t + SORT_N / 2];
    dv[t + SORT_N / 2] = sv[t + SORT_N / 2];
}

// Odd-even transposition sort of 64 floats per block (64 threads), signed comparisons on float
// keys including negatives.
extern "C" __global__ void oddeven_sort_f32(float *data)
{
    __shared__ float s[64];
    float *d = data + blockIdx.x * 64;
    unsigned t = threadIdx.x;
    s[t] = d[t];
    for (int phase = 0; phase < 64; ++phase) {
        __syncthreads();
        unsigned i = 2 * t + (phase & 1);
        if (t < 32 && i + 1 < 64) {
            float a = s[i], b = s[i + 1];
            if (a > b) { s[i] = b; s[i + 1] = a; }
        }
    }
    __syncthreads();
    d[t] = s[t];
}
