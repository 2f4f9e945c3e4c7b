// rt_corpus_warp.cu: the warp-level and atomic part of the kernel corpus (warp.cu, atomics.cu,
// atomics_cas16.cu: 10 kernels) as a CUDA runtime program (rt_corpus.h says how), with the inputs
// and references of tests/emu/test_corpus_warp.c (atomics checked through order-independent
// results).
#include "rt_corpus.h"
#include <climits>
#include "../kernels/warp.cu"
#include "../kernels/atomics.cu"
#include "../kernels/atomics_cas16.cu"

/* ---- votes and match --------------------------------------------------------------------------- */

static void case_warp_vote(cudaStream_t s)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    uint32_t *in = rc_host<uint32_t>(n);
    rc_fill_u32(in, n, 301);
    for (unsigned w = 0; w < n / 32; w++) {
        for (unsigned l = 0; l < 32; l++) {
            uint32_t *v = &in[w * 32 + l];
            if (w % 3 == 0) *v |= 2;                   // all lanes: __all_sync true
            if ((*v & 0xff) == 0) *v |= 0x10;          // no accidental zero bytes ...
        }
        if (w % 4 == 1) in[w * 32 + w % 32] &= ~0xffu; // ... except one lane in some warps
        if (w % 3 == 1) in[w * 32 + 5] &= ~2u;         // these warps certainly fail __all
    }
    unsigned *din = rc_dup(in, n, s), *dout = rc_dalloc<unsigned>((size_t)n * 4, s);
    RC_LAUNCH(warp_vote, nb, bs, 0, s, din, dout);
    unsigned *got = rc_get(dout, (size_t)n * 4, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "warp_vote", [=] {
        std::vector<unsigned> want((size_t)n * 4);
        for (unsigned w = 0; w < n / 32; w++) {
            uint32_t ballot = 0, all = 1, any = 0;
            for (unsigned l = 0; l < 32; l++) {
                uint32_t v = in[w * 32 + l];
                if (v & 1) ballot |= 1u << l;
                if (!(v & 2)) all = 0;
                if ((v & 0xff) == 0) any = 1;
            }
            for (unsigned l = 0; l < 32; l++) {
                uint32_t *o = &want[4 * (w * 32 + l)];
                o[0] = ballot; o[1] = all; o[2] = any; o[3] = FULL;
            }
        }
        return rc_cmp_int("ballot/all/any/activemask", got, want.data(), (size_t)n * 4);
    });
}

static void case_warp_match(cudaStream_t s)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    uint32_t *in = rc_host<uint32_t>(n);
    rc_rng r(302);
    for (unsigned i = 0; i < n; i++) {
        unsigned w = i / 32;
        in[i] = (w % 2 == 0) ? 5000 + r.next32() % 1000 : r.next32() % 100000;
    }
    unsigned *din = rc_dup(in, n, s), *dout = rc_dalloc<unsigned>((size_t)n * 4, s);
    RC_LAUNCH(warp_match, nb, bs, 0, s, din, dout);
    unsigned *got = rc_get(dout, (size_t)n * 4, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "warp_match", [=] {
        std::vector<unsigned> want((size_t)n * 4);
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
                uint32_t *o = &want[4 * (w * 32 + l)];
                o[0] = m_any;
                o[1] = same ? FULL : 0;
                o[2] = (uint32_t)same;
                o[3] = m_any64;
            }
        }
        return rc_cmp_int("match_any/match_all/pred/match_any64", got, want.data(), (size_t)n * 4);
    });
}

/* ---- shuffles ----------------------------------------------------------------------------------- */

static void case_warp_divergent(cudaStream_t s)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -1000, 1000, 303);
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>((size_t)n * 4, s);
    RC_LAUNCH(warp_divergent, nb, bs, 0, s, din, dout);
    int *got = rc_get(dout, (size_t)n * 4, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "warp_divergent", [=] {
        std::vector<int> want((size_t)n * 4);
        for (unsigned w = 0; w < n / 32; w++) {
            const int32_t *v = in + w * 32;
            int32_t sum = 0, mx = INT_MIN;
            uint32_t odd = 0;
            for (unsigned l = 0; l < 16; l++) sum += v[l];
            for (unsigned l = 16; l < 32; l++) mx = v[l] > mx ? v[l] : mx;
            for (unsigned l = 0; l < 32; l++)
                if (v[l] & 1) odd |= 1u << l;
            for (unsigned l = 0; l < 32; l++) {
                int32_t *o = &want[4 * (w * 32 + l)];
                o[0] = l < 16 ? sum : mx;
                o[1] = (int32_t)(l < 16 ? 0x0000ffffu : 0xffff0000u);
                o[2] = (v[l] & 1) ? v[__builtin_ctz(odd)] : -1;
                o[3] = (v[l] & 1) ? (int32_t)odd : 0;
            }
        }
        // columns: branch result, __activemask in the lane<16 branches, broadcast in the odd
        // branch, __activemask in the odd branch
        return rc_cmp_int("divergent results (4 per thread)", got, want.data(), (size_t)n * 4);
    });
}

static void case_warp_shfl_width(cudaStream_t s)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -100000, 100000, 304);
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>((size_t)n * 4, s);
    double *dd = rc_dalloc<double>(n, s);
    long long *dl = rc_dalloc<long long>(n, s);
    RC_LAUNCH(warp_shfl_width, nb, bs, 0, s, din, dout, dd, dl);
    int *got = rc_get(dout, (size_t)n * 4, s);
    double *gd = rc_get(dd, n, s);
    long long *gl = rc_get(dl, n, s);
    rc_free(din, s); rc_free(dout, s); rc_free(dd, s); rc_free(dl, s);
    rc_verify(s, "warp_shfl_width", [=] {
        std::vector<int> want((size_t)n * 4);
        std::vector<double> wd(n);
        std::vector<long long> wl(n);
        for (unsigned w = 0; w < n / 32; w++) {
            const int32_t *v = in + w * 32;
            for (unsigned l = 0; l < 32; l++) {
                unsigned i = w * 32 + l;
                int32_t *o = &want[4 * i];
                o[0] = v[(l & ~7u) + 3];
                o[1] = (l % 16) >= 2 ? v[l - 2] : v[l];
                o[2] = v[l ^ 5];
                o[3] = v[(l + 7) & 31];
                wd[i] = (double)v[l + 1 < 32 ? l + 1 : l] * 1.5;
                wl[i] = (long long)(((uint64_t)(int64_t)v[l ^ 16] << 32) | (l ^ 16));
            }
        }
        return rc_cmp_int("idx(w8)/up(w16)/xor/idx(wrap)", got, want.data(), (size_t)n * 4) +
               rc_cmp_f64("shfl_down(double)", gd, wd.data(), n, 0, 0) + rc_cmp_int("shfl_xor(int64)", gl, wl.data(), n);
    });
}

static void case_warp_partial_block(cudaStream_t s)
{
    unsigned nb = 64, bs = 48, n = nb * bs;
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -1000, 1000, 305);
    int *din = rc_dup(in, n, s);
    unsigned *dout = rc_dalloc<unsigned>((size_t)n * 3, s);
    RC_LAUNCH(warp_partial_block, nb, bs, 0, s, din, dout);   // blocks of 48: a warp of 16
    unsigned *got = rc_get(dout, (size_t)n * 3, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "warp_partial_block", [=] {
        std::vector<unsigned> want((size_t)n * 3);
        for (unsigned b = 0; b < nb; b++)
            for (unsigned w = 0; w < 2; w++) {
                unsigned first = b * bs + w * 32, cnt = w ? 16 : 32;
                uint32_t m = w ? 0xffffu : FULL, bal = 0;
                for (unsigned l = 0; l < cnt; l++)
                    if (in[first + l] & 1) bal |= 1u << l;
                for (unsigned l = 0; l < cnt; l++) {
                    uint32_t *o = &want[3 * (first + l)];
                    o[0] = m; o[1] = bal; o[2] = (uint32_t)in[first];
                }
            }
        return rc_cmp_int("activemask/ballot/broadcast (block of 48)", got, want.data(), (size_t)n * 3);
    });
}

/* ---- atomics ------------------------------------------------------------------------------------ */

static int bad_atomic_value(uint32_t u)
{
    uint32_t a = u & 31, b = u % 29, c = u % 61;
    return a == 7 || a == 19 || a == 30 || b == 5 || b == 17 || c == 10 || c == 40;
}

static void case_atomics_int(cudaStream_t s)
{
    unsigned n = 32768;
    int32_t *v = rc_host<int32_t>(n);
    static const int32_t ic[4] = { 0, 0, INT_MAX, INT_MIN };
    static const uint32_t uc[10] = { UINT_MAX, 0, UINT_MAX, 0, 0, 0, 0, 0, 0, 0 };
    static const unsigned long long ull[6] = { 0, ULLONG_MAX, 0, ULLONG_MAX, 0, 0 };
    static const long long ll[2] = { LLONG_MAX, LLONG_MIN };
    rc_rng r(311);
    for (unsigned i = 0; i < n; i++) {
        uint32_t u = r.next32();
        while (bad_atomic_value(u)) u++;
        v[i] = (int32_t)u;
    }
    int *dv = rc_dup(v, n, s), *dic = rc_dup(ic, 4, s);
    unsigned *duc = rc_dup(uc, 10, s), *dold = rc_dalloc<unsigned>(n, s), *dtick = rc_dalloc<unsigned>(n, s);
    unsigned long long *dull = rc_dup(ull, 6, s);
    long long *dll = rc_dup(ll, 2, s);
    RC_LAUNCH(atomics_int, n / 256, 256, 0, s, dv, dic, duc, dull, dll, dold, dtick, n);
    int *gic = rc_get(dic, 4, s);
    unsigned *guc = rc_get(duc, 10, s), *olds = rc_get(dold, n, s), *tickets = rc_get(dtick, n, s);
    unsigned long long *gull = rc_get(dull, 6, s);
    long long *gll = rc_get(dll, 2, s);
    rc_free(dv, s); rc_free(dic, s); rc_free(duc, s); rc_free(dold, s); rc_free(dtick, s); rc_free(dull, s); rc_free(dll, s);
    rc_verify(s, "atomics_int", [=] {
        int32_t wic[4];
        uint32_t wuc[10];
        unsigned long long wull[6];
        long long wll[2];
        std::memcpy(wic, ic, sizeof wic); std::memcpy(wuc, uc, sizeof wuc);
        std::memcpy(wull, ull, sizeof wull); std::memcpy(wll, ll, sizeof wll);
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
        wuc[7] = guc[7];   // checked below
        size_t bad = rc_cmp_int("int add/sub/min/max", gic, wic, 4) +
                     rc_cmp_int("u32 min/max/and/or/xor/inc/dec/-/count", guc, wuc, 10) +
                     rc_cmp_int("u64 add/min/max/and/or/xor", gull, wull, 6) + rc_cmp_int("s64 min/max", gll, wll, 2);
        // exch: the returned olds plus the final value are 0..n, each once
        std::vector<unsigned char> seen(n + 1);
        size_t perm = 0;
        if (guc[7] >= 1 && guc[7] <= n) seen[guc[7]] = 1; else perm++;
        for (unsigned i = 0; i < n; i++)
            if (olds[i] > n || seen[olds[i]]++) perm++;
        bad += rc_expect(perm == 0, "atomicExch: the returned values are not a permutation of 0..n");
        std::fill(seen.begin(), seen.end(), 0);
        perm = 0;
        for (unsigned i = 0; i < n; i++)
            if (tickets[i] >= n || seen[tickets[i]]++) perm++;
        return bad + rc_expect(perm == 0, "atomicAdd tickets are not a permutation of 0..n-1");
    });
}

static void case_atomics_float(cudaStream_t s)
{
    unsigned n = 16384;
    float *fv = rc_host<float>(n);
    static const float f0[2] = { -1e30f, 0.0f };
    static const double d0[4] = { 0, 0, 0, 0 };
    rc_fill_f32(fv, n, -100.0, 100.0, 321);
    float *dfv = rc_dup(fv, n, s), *df = rc_dup(f0, 2, s);
    double *dd = rc_dup(d0, 4, s);
    RC_LAUNCH(atomics_float, n / 128, 128, 0, s, dfv, df, dd, n);
    float *gf = rc_get(df, 2, s);
    double *gd = rc_get(dd, 4, s);
    rc_free(dfv, s); rc_free(df, s); rc_free(dd, s);
    rc_verify(s, "atomics_float", [=] {
        float wf[2] = { -1e30f, 0.0f };
        double wd[4] = { 0 };
        for (unsigned i = 0; i < n; i++) {
            double dx = (double)floorf(fv[i] * 4.0f) * 0.25;
            if (fv[i] > wf[0]) wf[0] = fv[i];
            wf[1] += floorf(fv[i]);
            wd[0] += dx; wd[1] += dx; wd[2] += 1.0; wd[3] += dx;
        }
        // every partial sum is a multiple of 0.25 (or an integer) far below 2^24: exact in any order
        return rc_cmp_f32("CAS max / atomicAdd(float)", gf, wf, 2, 0, 0) +
               rc_cmp_f64("CAS add / atomicAdd / _block / _system (double)", gd, wd, 4, 0, 0);
    });
}

static void case_atomics_cas16(cudaStream_t s)
{
    unsigned n = 16384;
    unsigned short *dc = rc_dalloc<unsigned short>(4, s);
    RC_LAUNCH(atomics_cas16, n / 128, 128, 0, s, dc, n);
    unsigned short *got = rc_get(dc, 4, s);
    rc_free(dc, s);
    rc_verify(s, "atomics_cas16", [=] {
        static const unsigned short want[4] = { 4096, 4096, 4096, 4096 };
        return rc_cmp_int("16-bit CAS counters", got, want, 4);
    });
}

static void case_atomics_shared(cudaStream_t s)
{
    unsigned nb = 64, bs = 256, n = nb * bs;
    int32_t *v = rc_host<int32_t>(n);
    rc_fill_i32(v, n, -1000000, 1000000, 331);
    int *dv = rc_dup(v, n, s);
    unsigned *dout = rc_dalloc<unsigned>((size_t)nb * 8, s);
    unsigned long long *d64 = rc_dalloc<unsigned long long>(nb, s);
    float *df = rc_dalloc<float>(nb, s);
    RC_LAUNCH_SMEM(atomics_shared, 40, nb, bs, 0, s, dv, dout, d64, df);
    unsigned *got = rc_get(dout, (size_t)nb * 8, s);
    unsigned long long *g64 = rc_get(d64, nb, s);
    float *gf = rc_get(df, nb, s);
    rc_free(dv, s); rc_free(dout, s); rc_free(d64, s); rc_free(df, s);
    rc_verify(s, "atomics_shared", [=] {
        std::vector<unsigned> want((size_t)nb * 8), g(got, got + (size_t)nb * 8);
        std::vector<unsigned long long> w64(nb);
        std::vector<float> wf(nb);
        size_t bad = 0;
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
            uint32_t *o = &want[b * 8];
            o[0] = sum; o[1] = (uint32_t)mx; o[2] = (uint32_t)mn; o[3] = FULL; o[4] = 0; o[5] = bs; o[6] = inc; o[7] = 0;
            w64[b] = s64;
            wf[b] = sf;
            bad += rc_expect(g[b * 8 + 4] >= 1 && g[b * 8 + 4] <= bs, "shared atomicExch final value not in 1..bs");
            g[b * 8 + 4] = 0;
        }
        return bad + rc_cmp_int("shared add/max/min/or/-/cas/inc (8 per block)", g.data(), want.data(), (size_t)nb * 8) +
               rc_cmp_int("shared atomicAdd(u64)", g64, w64.data(), nb) + rc_cmp_f32("shared atomicAdd(float)", gf, wf.data(), nb, 0, 0);
    });
}

static void case_atomic_spinlock(cudaStream_t s)
{
    unsigned nb = 64, bs = 128;
    int *dlock = rc_dalloc<int>(1, s);
    unsigned *ddata = rc_dalloc<unsigned>(2, s);
    RC_LAUNCH(atomic_spinlock, nb, bs, 0, s, dlock, ddata);
    int *lock = rc_get(dlock, 1, s);
    unsigned *data = rc_get(ddata, 2, s);
    rc_free(dlock, s); rc_free(ddata, s);
    rc_verify(s, "atomic_spinlock", [=] {
        unsigned want[2] = { nb * (bs / 32), 0 };
        for (unsigned b = 0; b < nb; b++) want[1] += b * (bs / 32);
        return rc_expect(*lock == 0, "lock left taken") + rc_cmp_int("critical-section counters", data, want, 2);
    });
}

int main()
{
    static const rc_case_fn cases[] = { case_warp_vote,     case_warp_match,      case_warp_divergent,
                                        case_warp_shfl_width, case_warp_partial_block, case_atomics_int,
                                        case_atomics_float, case_atomics_cas16,   case_atomics_shared,
                                        case_atomic_spinlock };
    return rc_main("rt_corpus_warp", cases, sizeof cases / sizeof *cases, 3, 10);
}
