/* test_corpus_warp.c: corpus cases for warp-level primitives (warp.cu: votes, match, shuffles
 * with widths, divergence with partial masks, partial warps) and atomics (atomics.cu and
 * atomics_cas16.cu: every kind on global and shared memory, CAS loops, 16/32/64-bit,
 * float/double, scopes, a spin lock).
 * References are computed per warp in C; atomics are checked through order-independent results
 * (sums, extrema, permutations of returned old values). */
#include "bft.h"
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
    bft_fill_u32(in, n, 301);
    for (unsigned w = 0; w < n / 32; w++) {
        for (unsigned l = 0; l < 32; l++) {
            uint32_t *v = &in[w * 32 + l];
            if (w % 3 == 0) *v |= 2;                       /* all lanes: __all_sync true */
            if ((*v & 0xff) == 0) *v |= 0x10;              /* no accidental zero bytes ... */
        }
        if (w % 4 == 1) in[w * 32 + w % 32] &= ~0xffu;     /* ... except one lane in some warps */
        if (w % 3 == 1) in[w * 32 + 5] &= ~2u;             /* these warps certainly fail __all */
    }
    for (unsigned w = 0; w < n / 32; w++) {
        uint32_t ballot = 0, all = 1, any = 0;
        for (unsigned l = 0; l < 32; l++) {
            uint32_t v = in[w * 32 + l];
            if (v & 1) ballot |= 1u << l;
            if (!(v & 2)) all = 0;
            if ((v & 0xff) == 0) any = 1;
        }
        for (unsigned l = 0; l < 32; l++) {
            uint32_t *o = want + 4 * (w * 32 + l);
            o[0] = ballot; o[1] = all; o[2] = any; o[3] = FULL;
        }
    }
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
    bft_rng r = bft_rng_seed(302);
    for (unsigned i = 0; i < n; i++) {
        unsigned w = i / 32;
        in[i] = (w % 2 == 0) ? 5000 + bft_rand32(&r) % 1000 : bft_rand32(&r) % 100000;
    }
    for (unsigned w = 0; w < n / 32; w++) {
        const uint32_t *v = in + w * 32;
        int same = 1;
        for (unsigned l = 1; l < 32; l++)
            if (v[l] / 1000 != v[0] / 1000) same = 0;
        for (unsigned l = 0; l < 32; l++) {
            uint32_t m_any = 0, m_any64 = 0;
            for (unsigned k = 0; k < 32; k++) {
                if (v[k] % 4 == v[l] % 4) m_any |= 1u << k;
                if (v[k] % 3 == v[l] % 3 && (k & 1) == (l & 1)) m_any64 |= 1u << k;
            }
            uint32_t *o = want + 4 * (w * 32 + l);
            o[0] = m_any;
            o[1] = same ? FULL : 0;
            o[2] = (uint32_t)same;
            o[3] = m_any64;
        }
    }
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
    for (unsigned w = 0; w < n / 32; w++) {
        const int32_t *v = in + w * 32;
        int32_t sum = 0, mx = INT_MIN;
        uint32_t odd = 0;
        for (unsigned l = 0; l < 16; l++) sum += v[l];
        for (unsigned l = 16; l < 32; l++) mx = v[l] > mx ? v[l] : mx;
        for (unsigned l = 0; l < 32; l++)
            if (v[l] & 1) odd |= 1u << l;
        for (unsigned l = 0; l < 32; l++) {
            int32_t *o = want + 4 * (w * 32 + l);
            o[0] = l < 16 ? sum : mx;
            o[1] = (int32_t)(l < 16 ? 0x0000ffffu : 0xffff0000u);
            o[2] = (v[l] & 1) ? v[__builtin_ctz(odd)] : -1;
            o[3] = (v[l] & 1) ? (int32_t)odd : 0;
        }
    }
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
    for (unsigned w = 0; w < n / 32; w++) {
        const int32_t *v = in + w * 32;
        for (unsigned l = 0; l < 32; l++) {
            unsigned i = w * 32 + l;
            int32_t *o = want + 4 * i;
            o[0] = v[(l & ~7u) + 3];
            o[1] = (l % 16) >= 2 ? v[l - 2] : v[l];
            o[2] = v[l ^ 5];
            o[3] = v[(l + 7) & 31];
            wd[i] = (double)v[l + 1 < 32 ? l + 1 : l] * 1.5;
            wl[i] = (int64_t)(((uint64_t)(int64_t)v[l ^ 16] << 32) | (l ^ 16));
        }
    }
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
    for (unsigned b = 0; b < nb; b++)
        for (unsigned w = 0; w < 2; w++) {
            unsigned first = b * bs + w * 32, cnt = w ? 16 : 32;
            uint32_t m = w ? 0xffffu : FULL, bal = 0;
            for (unsigned l = 0; l < cnt; l++)
                if (in[first + l] & 1) bal |= 1u << l;
            for (unsigned l = 0; l < cnt; l++) {
                uint32_t *o = want + 3 * (first + l);
                o[0] = m; o[1] = bal; o[2] = (uint32_t)in[first];
            }
        }
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc((size_t)n * 12);
    BFT_LAUNCH(bft_func("warp", "warp_partial_block"), bft_d1(nb), bft_d1(bs), 0, &din, &dout);
    bft_sync();
    bft_download(got, dout, (size_t)n * 12);
    bft_cmp_u32("activemask/ballot/broadcast (block of 48)", got, want, (size_t)n * 3);
}

/* ---- atomics ------------------------------------------------------------------------------------ */

static int bad_atomic_value(uint32_t u)
{
    uint32_t a = u & 31, b = u % 29, c = u % 61;
    return a == 7 || a == 19 || a == 30 || b == 5 || b == 17 || c == 10 || c == 40;
}

BFT_CASE(atomics_int)
{
    unsigned n = 32768;
    int32_t *v = bft_alloc(n * 4);
    int32_t ic[4] = { 0, 0, INT_MAX, INT_MIN }, wic[4];
    uint32_t uc[10] = { UINT_MAX, 0, UINT_MAX, 0, 0, 0, 0, 0, 0, 0 }, wuc[10];
    uint64_t ull[6] = { 0, ULLONG_MAX, 0, ULLONG_MAX, 0, 0 }, wull[6];
    int64_t ll[2] = { LLONG_MAX, LLONG_MIN }, wll[2];
    uint32_t *olds = bft_alloc(n * 4), *tickets = bft_alloc(n * 4);
    unsigned char *seen = bft_alloc(n + 1);
    size_t bad = 0;
    bft_rng r = bft_rng_seed(311);
    for (unsigned i = 0; i < n; i++) {
        uint32_t u = bft_rand32(&r);
        while (bad_atomic_value(u)) u++;
        v[i] = (int32_t)u;
    }
    memcpy(wic, ic, sizeof ic); memcpy(wuc, uc, sizeof uc); memcpy(wull, ull, sizeof ull); memcpy(wll, ll, sizeof ll);
    for (unsigned i = 0; i < n; i++) {
        int32_t x = v[i];
        uint32_t u = (uint32_t)x;
        wic[0] = (int32_t)((uint32_t)wic[0] + u);
        wic[1] = (int32_t)((uint32_t)wic[1] - u);
        if (x < wic[2]) wic[2] = x;
        if (x > wic[3]) wic[3] = x;
        if (u < wuc[0]) wuc[0] = u;
        if (u > wuc[1]) wuc[1] = u;
        wuc[2] &= ~(1u << (u % 29));
        wuc[3] |= 1u << (u & 31);
        wuc[4] ^= u;
        wuc[5] = wuc[5] >= 1000u ? 0 : wuc[5] + 1;
        wuc[6] = (wuc[6] == 0 || wuc[6] > 777u) ? 777u : wuc[6] - 1;
        wull[0] += (uint64_t)u * 12345ull;
        if ((uint64_t)u << 20 < wull[1]) wull[1] = (uint64_t)u << 20;
        if ((uint64_t)u << 20 > wull[2]) wull[2] = (uint64_t)u << 20;
        wull[3] &= ~(1ull << (u % 61));
        wull[4] |= 1ull << (u & 63);
        wull[5] ^= ((uint64_t)u << 17) | u;
        if ((int64_t)x * 100000 < wll[0]) wll[0] = (int64_t)x * 100000;
        if ((int64_t)x * 100000 > wll[1]) wll[1] = (int64_t)x * 100000;
    }
    wuc[8] = n;
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
    float *fv = bft_alloc(n * 4), f[2] = { -1e30f, 0.0f }, wf[2] = { -1e30f, 0.0f };
    double d[4] = { 0 }, wd[4] = { 0 };
    bft_fill_f32(fv, n, -100.0, 100.0, 321);
    for (unsigned i = 0; i < n; i++) {
        double dx = (double)floorf(fv[i] * 4.0f) * 0.25;
        if (fv[i] > wf[0]) wf[0] = fv[i];
        wf[1] += floorf(fv[i]);
        wd[0] += dx; wd[1] += dx; wd[2] += 1.0; wd[3] += dx;
    }
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
    for (unsigned b = 0; b < nb; b++) {
        uint32_t sum = 0, inc = 0;
        int32_t mx = INT_MIN, mn = INT_MAX;
        uint64_t s64 = 0;
        float sf = 0.0f;
        for (unsigned t = 0; t < bs; t++) {
            int32_t x = v[b * bs + t];
            sum += (uint32_t)x;
            mx = x > mx ? x : mx;
            mn = x < mn ? x : mn;
            inc = inc >= 63 ? 0 : inc + 1;
            s64 += (uint64_t)(uint32_t)x << 8;
            sf += (float)(x & 15);
        }
        uint32_t *o = want + b * 8;
        o[0] = sum; o[1] = (uint32_t)mx; o[2] = (uint32_t)mn; o[3] = FULL; o[4] = 0; o[5] = bs; o[6] = inc; o[7] = 0;
        w64[b] = s64;
        wf[b] = sf;
    }
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
    uint32_t data[2] = { 0, 0 }, want[2] = { nb * (bs / 32), 0 };
    for (unsigned b = 0; b < nb; b++) want[1] += b * (bs / 32);
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
