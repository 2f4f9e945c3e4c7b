// warp.cu: warp-level primitives: __ballot_sync/__all_sync/__any_sync, __activemask,
// __match_any_sync/__match_all_sync (32- and 64-bit keys), shuffles with sub-warp widths and
// wrap-around source lanes, 64-bit and double shuffles, shuffles inside divergent branches with
// partial masks, and a block whose size is not a multiple of 32.
// Host side: tests/emu/test_corpus_warp.c. Blocks are full warps unless stated.
#define FULL 0xffffffffu

extern "C" __global__ void warp_vote(const unsigned *in, unsigned *out)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned v = in[i];
    unsigned ballot = __ballot_sync(FULL, v & 1);
    int all = __all_sync(FULL, v & 2);
    int any = __any_sync(FULL, (v & 0xff) == 0);
    unsigned am = __activemask();
    out[4 * i + 0] = ballot;
    out[4 * i + 1] = all ? 1u : 0u;
    out[4 * i + 2] = any ? 1u : 0u;
    out[4 * i + 3] = am;
}

extern "C" __global__ void warp_match(const unsigned *in, unsigned *out)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned v = in[i];
    int pred = 0;
    unsigned m_any = __match_any_sync(FULL, v % 4);
    unsigned m_all = __match_all_sync(FULL, v / 1000, &pred);
    unsigned long long k64 = ((unsigned long long)(v % 3) << 40) | (threadIdx.x & 1);
    unsigned m_any64 = __match_any_sync(FULL, k64);
    out[4 * i + 0] = m_any;
    out[4 * i + 1] = m_all;
    out[4 * i + 2] = (unsigned)pred;
    out[4 * i + 3] = m_any64;
}

// Lanes 0-15 reduce (sum) with width-16 shuffle-down under mask 0x0000ffff, lanes 16-31 take
// the max with width-16 xor shuffles under 0xffff0000; then a data-dependent branch broadcasts
// from its first lane using the ballot mask.
extern "C" __global__ void warp_divergent(const int *in, int *out)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned lane = threadIdx.x & 31;
    int v = in[i];
    int r;
    unsigned am;
    if (lane < 16) {
        am = __activemask();
        r = v;
        for (int off = 8; off > 0; off >>= 1)
            r += __shfl_down_sync(0x0000ffffu, r, off, 16);
        r = __shfl_sync(0x0000ffffu, r, 0, 16);
    } else {
        am = __activemask();
        r = v;
        for (int x = 1; x < 16; x <<= 1)
            r = max(r, __shfl_xor_sync(0xffff0000u, r, x, 16));
    }
    unsigned odd = __ballot_sync(FULL, v & 1);
    int b = -1;
    unsigned am2 = 0;
    if (v & 1) {
        am2 = __activemask();
        b = __shfl_sync(odd, v, __ffs(odd) - 1);
    }
    out[4 * i + 0] = r;
    out[4 * i + 1] = (int)am;
    out[4 * i + 2] = b;
    out[4 * i + 3] = (int)am2;
}

extern "C" __global__ void warp_shfl_width(const int *in, int *out, double *dout, long long *lout)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned lane = threadIdx.x & 31;
    int v = in[i];
    out[4 * i + 0] = __shfl_sync(FULL, v, 3, 8);
    out[4 * i + 1] = __shfl_up_sync(FULL, v, 2, 16);
    out[4 * i + 2] = __shfl_xor_sync(FULL, v, 5);
    out[4 * i + 3] = __shfl_sync(FULL, v, (int)lane + 7);
    dout[i] = __shfl_down_sync(FULL, (double)v * 1.5, 1);
    lout[i] = __shfl_xor_sync(FULL, ((long long)v << 32) | lane, 16);
}

// blockDim.x == 48: warp 1 has 16 threads. Uses the active mask for every warp op.
extern "C" __global__ void warp_partial_block(const int *in, unsigned *out)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = in[i];
    unsigned m = __activemask();
    unsigned b = __ballot_sync(m, v & 1);
    int first = __shfl_sync(m, v, 0);
    out[3 * i + 0] = m;
    out[3 * i + 1] = b;
    out[3 * i + 2] = (unsigned)first;
}
