/* test_corpus_warp.c: corpus cases for warp-level primitives (warp.cu: votes, match, shuffles
 * with widths, divergence with partial masks, partial warps) and atomics (atomics.cu and
 * atomics_cas16.cu: every kind on global and shared memory, CAS loops, 16/32/64-bit,
 * float/double, scopes, a spin lock).
 * References are computed per warp in C; atomics are checked through order-independent results
 * (sums, extrema, permutations of returned old values). */
#include "bft.h"
#include "corpus_ref.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FULL 0xffffffffu

/* ---- votes and match --------------------------------------------------------------------------- */

BFT_CASE(warp_vote)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    uint32_t *in = bft_alloc(n * 4), *got = bft_alloc((size_t)n * 16), *want = bft_alloc((size_t)n * 16);
    cref_warp_vote_inputs(in, n);
    cref_warp_vote_want(in, want, n);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc((size_t)n * 16);
    BFT_LAUNCH(bft_func("warp", "warp_vote"), bft_d1(nb), bft_d1(bs), 0, &din, &dout);
    bft_sync();
    bft_download(got, dout, (size_t)n * 16);
    bft_cmp_u32("ballot/all/any/activemask", got, want, (size_t)n * 4);
}

BFT_CASE(warp_match)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    uint32_t *in = bft_alloc(n * 4), *got = bft_alloc((size_t)n * 16), *want = bft_alloc((size_t)n * 16);
    cref_warp_match_inputs(in, n);
    cref_warp_match_want(in, want, n);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc((size_t)n * 16);
    BFT_LAUNCH(bft_func("warp", "warp_match"), bft_d1(nb), bft_d1(bs), 0, &din, &dout);
    bft_sync();
    bft_download(got, dout, (size_t)n * 16);
    bft_cmp_u32("match_any/match_all/pred/match_any64", got, want, (size_t)n * 4);
}

/* ---- shuffles ----------------------------------------------------------------------------------- */

BFT_CASE(warp_divergent_shfl)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc((size_t)n * 16), *want = bft_alloc((size_t)n * 16);
    bft_fill_i32(in, n, -1000, 1000, 303);
    cref_warp_divergent_want(in, want, n);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc((size_t)n * 16);
    BFT_LAUNCH(bft_func("warp", "warp_divergent"), bft_d1(nb), bft_d1(bs), 0, &din, &dout);
    bft_sync();
    bft_download(got, dout, (size_t)n * 16);
    /* columns: branch result, __activemask in the lane<16 branches, broadcast in the odd branch,
     * __activemask in the odd branch */
    bft_cmp_i32("divergent results (4 per thread)", got, want, (size_t)n * 4);
}

BFT_CASE(warp_shfl_width)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc((size_t)n * 16), *want = bft_alloc((size_t)n * 16);
    double *gd = bft_alloc(n * 8), *wd = bft_alloc(n * 8);
    int64_t *gl = bft_alloc(n * 8), *wl = bft_alloc(n * 8);
    bft_fill_i32(in, n, -100000, 100000, 304);
    cref_warp_shfl_width_want(in, want, wd, wl, n);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc((size_t)n * 16), dd = bft_dalloc(n * 8), dl = bft_dalloc(n * 8);
    BFT_LAUNCH(bft_func("warp", "warp_shfl_width"), bft_d1(nb), bft_d1(bs), 0, &din, &dout, &dd, &dl);
    bft_sync();
    bft_download(got, dout, (size_t)n * 16);
    bft_download(gd, dd, n * 8);
    bft_download(gl, dl, n * 8);
    bft_cmp_i32("idx(w8)/up(w16)/xor/idx(wrap)", got, want, (size_t)n * 4);
    bft_cmp_f64("shfl_down(double)", gd, wd, n, 0, 0);
    bft_cmp_i64("shfl_xor(int64)", gl, wl, n);
}

BFT_CASE(warp_partial_block)
{
    unsigned nb = 64, bs = 48, n = nb * bs;
    int32_t *in = bft_alloc(n * 4);
    uint32_t *got = bft_alloc((size_t)n * 12), *want = bft_alloc((size_t)n * 12);
    bft_fill_i32(in, n, -1000, 1000, 305);
    cref_warp_partial_block_want(in, want, nb, bs);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc((size_t)n * 12);
    BFT_LAUNCH(bft_func("warp", "warp_partial_block"), bft_d1(nb), bft_d1(bs), 0, &din, &dout);
    bft_sync();
    bft_download(got, dout, (size_t)n * 12);
    bft_cmp_u32("activemask/ballot/broadcast (block of 48)", got, want, (size_t)n * 3);
}

/* ---- atomics ------------------------------------------------------------------------------------ */

BFT_CASE(atomics_int)
{
    unsigned n = 32768;
    int32_t *v = bft_alloc(n * 4);
    int32_t ic[4], wic[4];
    uint32_t uc[10], wuc[10];
    uint64_t ull[6], wull[6];
    int64_t ll[2], wll[2];
    uint32_t *olds = bft_alloc(n * 4), *tickets = bft_alloc(n * 4);
    unsigned char *seen = bft_alloc(n + 1);
    size_t bad = 0;
    memcpy(ic, cref_atomics_ic, sizeof ic); memcpy(uc, cref_atomics_uc, sizeof uc);
    memcpy(ull, cref_atomics_ull, sizeof ull); memcpy(ll, cref_atomics_ll, sizeof ll);
    cref_atomics_int_inputs(v, n);
    cref_atomics_int_want(v, n, wic, wuc, wull, wll);
    CUdeviceptr dv = bft_dup(v, n * 4), dic = bft_dup(ic, sizeof ic), duc = bft_dup(uc, sizeof uc);
    CUdeviceptr dull = bft_dup(ull, sizeof ull), dll = bft_dup(ll, sizeof ll);
    CUdeviceptr dold = bft_dalloc(n * 4), dtick = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("atomics", "atomics_int"), bft_d1(n / 256), bft_d1(256), 0, &dv, &dic, &duc, &dull, &dll,
               &dold, &dtick, &n);
    bft_sync();
    bft_download(ic, dic, sizeof ic);
    bft_download(uc, duc, sizeof uc);
    bft_download(ull, dull, sizeof ull);
    bft_download(ll, dll, sizeof ll);
    bft_download(olds, dold, n * 4);
    bft_download(tickets, dtick, n * 4);
    bft_cmp_i32("int add/sub/min/max", ic, wic, 4);
    wuc[7] = uc[7];   /* checked below */
    bft_cmp_u32("u32 min/max/and/or/xor/inc/dec/-/count", uc, wuc, 10);
    bft_cmp_u64("u64 add/min/max/and/or/xor", ull, wull, 6);
    bft_cmp_i64("s64 min/max", ll, wll, 2);
    /* exch: the returned olds plus the final value are 0..n, each once */
    if (uc[7] >= 1 && uc[7] <= n) seen[uc[7]] = 1; else bad++;
    for (unsigned i = 0; i < n; i++) {
        if (olds[i] > n || seen[olds[i]]++) bad++;
    }
    EXPECT(bad == 0, "atomicExch: %zu returned values are not a permutation of 0..n", bad);
    memset(seen, 0, n + 1);
    bad = 0;
    for (unsigned i = 0; i < n; i++)
        if (tickets[i] >= n || seen[tickets[i]]++) bad++;
    EXPECT(bad == 0, "atomicAdd tickets: %zu values are not a permutation of 0..n-1", bad);
}

BFT_CASE(atomics_float)
{
    unsigned n = 16384;
    float *fv = bft_alloc(n * 4), f[2] = { -1e30f, 0.0f }, wf[2];
    double d[4] = { 0 }, wd[4];
    bft_fill_f32(fv, n, -100.0, 100.0, 321);
    cref_atomics_float_want(fv, n, wf, wd);
    CUdeviceptr dfv = bft_dup(fv, n * 4), df = bft_dup(f, sizeof f), dd = bft_dup(d, sizeof d);
    BFT_LAUNCH(bft_func("atomics", "atomics_float"), bft_d1(n / 128), bft_d1(128), 0, &dfv, &df, &dd, &n);
    bft_sync();
    bft_download(f, df, sizeof f);
    bft_download(d, dd, sizeof d);
    /* every partial sum is a multiple of 0.25 (or an integer) far below 2^24: exact in any order */
    bft_cmp_f32("CAS max / atomicAdd(float)", f, wf, 2, 0, 0);
    bft_cmp_f64("CAS add / atomicAdd / _block / _system (double)", d, wd, 4, 0, 0);
}

BFT_CASE(atomics_cas16)
{
    unsigned n = 16384;
    uint16_t c16[4] = { 0 }, wc16[4] = { 4096, 4096, 4096, 4096 };
    CUdeviceptr dc = bft_dup(c16, sizeof c16);
    BFT_LAUNCH(bft_func("atomics_cas16", "atomics_cas16"), bft_d1(n / 128), bft_d1(128), 0, &dc, &n);
    bft_sync();
    bft_download(c16, dc, sizeof c16);
    bft_cmp_u16("16-bit CAS counters", c16, wc16, 4);
}

BFT_CASE(atomics_shared)
{
    unsigned nb = 64, bs = 256, n = nb * bs;
    int32_t *v = bft_alloc(n * 4);
    uint32_t *got = bft_alloc(nb * 32), *want = bft_alloc(nb * 32);
    uint64_t *g64 = bft_alloc(nb * 8), *w64 = bft_alloc(nb * 8);
    float *gf = bft_alloc(nb * 4), *wf = bft_alloc(nb * 4);
    bft_fill_i32(v, n, -1000000, 1000000, 331);
    cref_atomics_shared_want(v, nb, bs, want, w64, wf);
    CUdeviceptr dv = bft_dup(v, n * 4), dout = bft_dalloc(nb * 32), d64 = bft_dalloc(nb * 8), df = bft_dalloc(nb * 4);
    BFT_LAUNCH(bft_func("atomics", "atomics_shared"), bft_d1(nb), bft_d1(bs), 0, &dv, &dout, &d64, &df);
    bft_sync();
    bft_download(got, dout, nb * 32);
    bft_download(g64, d64, nb * 8);
    bft_download(gf, df, nb * 4);
    for (unsigned b = 0; b < nb; b++) {
        uint32_t e = got[b * 8 + 4];
        EXPECT(e >= 1 && e <= bs, "block %u: shared atomicExch final value %u not in 1..%u", b, e, bs);
        got[b * 8 + 4] = 0;
    }
    bft_cmp_u32("shared add/max/min/or/-/cas/inc (8 per block)", got, want, nb * 8);
    bft_cmp_u64("shared atomicAdd(u64)", g64, w64, nb);
    bft_cmp_f32("shared atomicAdd(float)", gf, wf, nb, 0, 0);
}

BFT_CASE(atomic_spinlock)
{
    unsigned nb = 64, bs = 128;
    int32_t lock = 0;
    uint32_t data[2] = { 0, 0 }, want[2];
    cref_atomic_spinlock_want(nb, bs, want);
    CUdeviceptr dlock = bft_dup(&lock, 4), ddata = bft_dup(data, sizeof data);
    BFT_LAUNCH(bft_func("atomics", "atomic_spinlock"), bft_d1(nb), bft_d1(bs), 0, &dlock, &ddata);
    bft_sync();
    bft_download(&lock, dlock, 4);
    bft_download(data, ddata, sizeof data);
    EXPECT(lock == 0, "lock left at %d", lock);
    bft_cmp_u32("critical-section counters", data, want, 2);
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
