// atomics_cas16.cu: 16-bit atomicCAS (sm_70+, atom.global.cas.b16) in a CAS-loop counter.
// Host side: tests/emu/test_corpus_warp.c.

__device__ void atomic_inc_u16_cas(unsigned short *p)
{
    unsigned short old = *p, assumed;
    do {
        assumed = old;
        old = atomicCAS(p, assumed, (unsigned short)(assumed + 1));
    } while (assumed != old);
}

// Every thread increments c16[i % 4] through a 16-bit CAS loop.
extern "C" __global__ void atomics_cas16(unsigned short *c16, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomic_inc_u16_cas(&c16[i % 4]);
}
