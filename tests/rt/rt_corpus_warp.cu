// rt_corpus_warp.cu: the warp-level and atomic part of the kernel corpus (warp.cu, atomics.cu,
// atomics_cas16.cu: 10 kernels) as a CUDA runtime program (rt_corpus.h says how), with the inputs
// and references of tests/emu/test_corpus_warp.c (atomics checked through order-independent
// results).
#include "rt_corpus.h"
#include <climits>
#include "../kernels/warp.cu"
#include "../kernels/atomics.cu"
#include "../kernels/atomics_cas16.cu"
#include "../common/corpus_ref_warp.c"

/* ---- votes and match --------------------------------------------------------------------------- */

static void case_warp_vote(cudaStream_t s)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    uint32_t *in = rc_host<uint32_t>(n);
    cref_warp_vote_inputs(in, n);
    unsigned *din = rc_dup(in, n, s), *dout = rc_dalloc<unsigned>((size_t)n * 4, s);
    RC_LAUNCH(warp_vote, nb, bs, 0, s, din, dout);
    unsigned *got = rc_get(dout, (size_t)n * 4, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "warp_vote", [=] {
        std::vector<unsigned> want((size_t)n * 4);
        cref_warp_vote_want(in, want.data(), n);
        return rc_cmp_int("ballot/all/any/activemask", got, want.data(), (size_t)n * 4);
    });
}

static void case_warp_match(cudaStream_t s)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    uint32_t *in = rc_host<uint32_t>(n);
    cref_warp_match_inputs(in, n);
    unsigned *din = rc_dup(in, n, s), *dout = rc_dalloc<unsigned>((size_t)n * 4, s);
    RC_LAUNCH(warp_match, nb, bs, 0, s, din, dout);
    unsigned *got = rc_get(dout, (size_t)n * 4, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "warp_match", [=] {
        std::vector<unsigned> want((size_t)n * 4);
        cref_warp_match_want(in, want.data(), n);
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
        cref_warp_divergent_want(in, want.data(), n);
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
        std::vector<int64_t> wl(n);
        cref_warp_shfl_width_want(in, want.data(), wd.data(), wl.data(), n);
        return rc_cmp_int("idx(w8)/up(w16)/xor/idx(wrap)", got, want.data(), (size_t)n * 4) +
               rc_cmp_f64("shfl_down(double)", gd, wd.data(), n, 0, 0) + rc_cmp_int("shfl_xor(int64)", gl, (const long long *)wl.data(), n);
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
        cref_warp_partial_block_want(in, want.data(), nb, bs);
        return rc_cmp_int("activemask/ballot/broadcast (block of 48)", got, want.data(), (size_t)n * 3);
    });
}

/* ---- atomics ------------------------------------------------------------------------------------ */

static void case_atomics_int(cudaStream_t s)
{
    unsigned n = 32768;
    int32_t *v = rc_host<int32_t>(n);
    const int32_t *ic = cref_atomics_ic;
    const uint32_t *uc = cref_atomics_uc;
    const unsigned long long *ull = (const unsigned long long *)cref_atomics_ull;
    const long long *ll = (const long long *)cref_atomics_ll;
    cref_atomics_int_inputs(v, n);
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
        uint64_t wull[6];
        int64_t wll[2];
        cref_atomics_int_want(v, n, wic, wuc, wull, wll);
        wuc[7] = guc[7];   // checked below
        size_t bad = rc_cmp_int("int add/sub/min/max", gic, wic, 4) +
                     rc_cmp_int("u32 min/max/and/or/xor/inc/dec/-/count", guc, wuc, 10) +
                     rc_cmp_int("u64 add/min/max/and/or/xor", gull, (const unsigned long long *)wull, 6) +
                     rc_cmp_int("s64 min/max", gll, (const long long *)wll, 2);
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
        float wf[2];
        double wd[4];
        cref_atomics_float_want(fv, n, wf, wd);
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
        std::vector<uint64_t> w64(nb);
        std::vector<float> wf(nb);
        size_t bad = 0;
        cref_atomics_shared_want(v, nb, bs, want.data(), w64.data(), wf.data());
        for (unsigned b = 0; b < nb; b++) {
            bad += rc_expect(g[b * 8 + 4] >= 1 && g[b * 8 + 4] <= bs, "shared atomicExch final value not in 1..bs");
            g[b * 8 + 4] = 0;
        }
        return bad + rc_cmp_int("shared add/max/min/or/-/cas/inc (8 per block)", g.data(), want.data(), (size_t)nb * 8) +
               rc_cmp_int("shared atomicAdd(u64)", g64, (const unsigned long long *)w64.data(), nb) + rc_cmp_f32("shared atomicAdd(float)", gf, wf.data(), nb, 0, 0);
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
        unsigned want[2];
        cref_atomic_spinlock_want(nb, bs, want);
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
