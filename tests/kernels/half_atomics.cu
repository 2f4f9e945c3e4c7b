// half_atomics.cu: atomicAdd on __half (sm_70+, atom.add.noftz.f16) and __half2 (sm_60+,
// atom.add.noftz.f16x2). Host side: tests/emu/test_corpus_math.c.
#include <cuda_fp16.h>

// Every thread adds 1.0 to hsum[i % 8] (__half atomic) and (1.0, 2.0) to h2sum[i % 4].
extern "C" __global__ void half_atomics(__half *hsum, __half2 *h2sum, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    atomicAdd(&hsum[i % 8], __float2half(1.0f));
    atomicAdd(&h2sum[i % 4], __floats2half2_rn(1.0f, 2.0f));
}
