// rt_corpus_lang.cu: the language-feature part of the kernel corpus (calls.cu, recursion.cu,
// fnptr.cu, printf.cu, params.cu, dynsmem.cu, sync.cu, constmem.cu: 22 kernels) as a CUDA runtime
// program (rt_corpus.h says how), with the inputs and references of tests/emu/test_corpus_lang.c:
// structures passed by value with the kernels' own types, __constant__ and __device__ symbols
// through cudaMemcpyToSymbolAsync / cudaMemcpyFromSymbolAsync / cudaGetSymbolSize, a dynamic shared
// memory opt-in over 48 KiB with cudaFuncSetAttribute, and device printf captured from stdout
// (after the rest, alone on the device).
#include "rt_corpus.h"
#include <climits>
#include <cstdlib>
#include "../kernels/calls.cu"
#include "../kernels/recursion.cu"
#include "../kernels/fnptr.cu"
#include "../kernels/printf.cu"
#include "../kernels/params.cu"
#include "../kernels/dynsmem.cu"
#include "../kernels/sync.cu"
#include "../kernels/constmem.cu"

/* ---- calls and recursion --------------------------------------------------------------------------- */

static void case_calls_noinline(cudaStream_t s)
{
    unsigned n = 1u << 14;
    static const float coef[8] = { 0.5f, -1.25f, 2.0f, 0.75f, -0.125f, 0.0625f, 1.5f, -0.25f };
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -100000, 100000, 401);
    float *dcoef = rc_dup(coef, 8, s), *dfo = rc_dalloc<float>(n, s);
    int *din = rc_dup(in, n, s), *dio = rc_dalloc<int>((size_t)n * 2, s);
    double *dd = rc_dalloc<double>(n, s);
    long long *dl = rc_dalloc<long long>(n, s);
    RC_LAUNCH(calls_noinline, n / 128, 128, 0, s, dcoef, din, dfo, dio, dd, dl, n);
    float *gfo = rc_get(dfo, n, s);
    int *gio = rc_get(dio, (size_t)n * 2, s);
    double *gd = rc_get(dd, n, s);
    long long *gl = rc_get(dl, n, s);
    rc_free(dcoef, s); rc_free(dfo, s); rc_free(din, s); rc_free(dio, s); rc_free(dd, s); rc_free(dl, s);
    rc_verify(s, "calls_noinline", [=] {
        std::vector<float> wfo(n);
        std::vector<int> wio((size_t)n * 2);
        std::vector<double> wd(n);
        std::vector<long long> wl(n);
        for (unsigned i = 0; i < n; i++) {
            int v = in[i];
            float x = (float)(v % 100) * 0.01f, r = 0.0f;
            for (int k = 7; k >= 0; --k) r = fmaf(r, x, coef[k]);
            wfo[i] = r + x * 0.5f;
            wio[2 * i] = v * 3 - 7 + v / 10;
            wio[2 * i + 1] = v % 10;
            wd[i] = (double)v * 1.25;
            int a = v, b = v + 1, c = v - 2, d = v * 3, e = v >> 1, f = v & 7, g = -v, h = 42;
            int64_t ii = (int64_t)((uint64_t)(int64_t)v << 20);
            double j = (double)x * 10.0;
            unsigned char l = (unsigned char)v;
            wl[i] = a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * ii + (int64_t)(j * 2.0) +
                    (int64_t)x + 11 * (int64_t)l;
        }
        return rc_cmp_f32("poly_eval + struct float", gfo, wfo.data(), n, 1e-5, 1e-6) +
               rc_cmp_int("struct int + out-params", gio, wio.data(), (size_t)n * 2) +
               rc_cmp_f64("struct double", gd, wd.data(), n, 0, 0) + rc_cmp_int("many_args", gl, wl.data(), n);
    });
}

static int ref_fib(int n) { return n < 2 ? n : ref_fib(n - 1) + ref_fib(n - 2); }

static uint32_t ref_depth_sum(int d, int32_t seed)
{
    uint32_t buf[8], r;
    for (int k = 0; k < 8; ++k) buf[k] = (uint32_t)seed * (uint32_t)k + (uint32_t)d;
    r = buf[((uint32_t)seed + (uint32_t)d) & 7];
    if (d > 0) r += ref_depth_sum(d - 1, seed ^ (int32_t)r);
    return r;
}

static void case_recursion(cudaStream_t s)
{
    unsigned n = 4096, n2 = 8192;
    int modulo = 13;
    int32_t *seeds = rc_host<int32_t>(n2);
    rc_fill_i32(seeds, n2, -100000, 100000, 403);
    int *dfib = rc_dalloc<int>(n, s), *ds = rc_dup(seeds, n2, s), *dout = rc_dalloc<int>(n2, s);
    RC_LAUNCH(fib_recursive, n / 64, 64, 0, s, dfib, n, modulo);
    RC_LAUNCH(recurse_local, n2 / 128, 128, 0, s, ds, dout, n2);
    int *gfib = rc_get(dfib, n, s), *got = rc_get(dout, n2, s);
    rc_free(dfib, s); rc_free(ds, s); rc_free(dout, s);
    rc_verify(s, "fib_recursive / recurse_local", [=] {
        std::vector<int> wfib(n), want(n2);
        for (unsigned i = 0; i < n; i++) wfib[i] = ref_fib((int)(i % 13));
        for (unsigned i = 0; i < n2; i++) want[i] = (int32_t)ref_depth_sum((int)(i % 9), seeds[i]);
        return rc_cmp_int("fib", gfib, wfib.data(), n) + rc_cmp_int("depth_sum", got, want.data(), n2);
    });
}

/* ---- indirect calls ---------------------------------------------------------------------------- */

static int32_t ref_op(int k, int32_t a, int32_t b)
{
    switch (k & 3) {
    case 0: return (int32_t)((uint32_t)a + (uint32_t)b);
    case 1: return (int32_t)((uint32_t)a - (uint32_t)b);
    case 2: return (int32_t)((uint32_t)a * (uint32_t)b);
    default: return a ^ b;
    }
}

static void case_fnptr(cudaStream_t s)
{
    unsigned n = 1u << 14, grid, block;
    int32_t *a = rc_host<int32_t>(n), *b = rc_host<int32_t>(n), *sel = rc_host<int32_t>(n);
    rc_fill_i32(a, n, -50000, 50000, 411);
    rc_fill_i32(b, n, -50000, 50000, 412);
    rc_fill_i32(sel, n, 0, 1000, 413);
    int *da = rc_dup(a, n, s), *db = rc_dup(b, n, s), *dsel = rc_dup(sel, n, s);
    int *d1 = rc_dalloc<int>(n, s), *d2 = rc_dalloc<int>(n, s);
    rc_occupancy(fnptr_table, 0, 1024, n, &grid, &block);   // bounds-checked: any block size
    RC_LAUNCH(fnptr_table, rc_div_up(n, block), block, 0, s, da, db, dsel, d1, n);
    RC_LAUNCH(fnptr_local, n / 128, 128, 0, s, da, db, dsel, d2, n);
    int *g1 = rc_get(d1, n, s), *g2 = rc_get(d2, n, s);
    rc_free(da, s); rc_free(db, s); rc_free(dsel, s); rc_free(d1, s); rc_free(d2, s);
    rc_verify(s, "fnptr_table / fnptr_local", [=] {
        std::vector<int> w1(n), w2(n);
        for (unsigned i = 0; i < n; i++) {
            w1[i] = ref_op(sel[i], a[i], b[i]);
            int k = (sel[i] & 2) ? 3 : ((sel[i] & 1) ? 1 : 2);
            w2[i] = (int32_t)((uint32_t)ref_op(k, a[i], b[i]) + (uint32_t)ref_op(k, b[i], 3));
        }
        return rc_cmp_int("fnptr_table", g1, w1.data(), n) + rc_cmp_int("fnptr_local", g2, w2.data(), n);
    });
}

static void case_virtual_dispatch(cudaStream_t s)
{
    unsigned n = 8192;
    float *dims = rc_host<float>(n);
    int32_t *kind = rc_host<int32_t>(n);
    rc_fill_f32(dims, n, 0.5, 20.0, 421);
    rc_fill_i32(kind, n, 0, 1000, 422);
    float *dd = rc_dup(dims, n, s), *da = rc_dalloc<float>(n, s);
    int *dk = rc_dup(kind, n, s), *dsd = rc_dalloc<int>(n, s);
    RC_LAUNCH(virtual_dispatch, n / 128, 128, 0, s, dd, dk, da, dsd, n);
    float *ga = rc_get(da, n, s);
    int *gs = rc_get(dsd, n, s);
    rc_free(dd, s); rc_free(da, s); rc_free(dk, s); rc_free(dsd, s);
    rc_verify(s, "virtual_dispatch", [=] {
        std::vector<float> wa(n);
        std::vector<int> ws(n);
        for (unsigned i = 0; i < n; i++) {
            float d = dims[i];
            switch (kind[i] % 3) {
            case 0: wa[i] = d * 2.0f; ws[i] = 4; break;
            case 1: wa[i] = 0.5f * d * 4.0f; ws[i] = 3; break;
            default: wa[i] = 3.0f * d * d; ws[i] = 0; break;
            }
        }
        return rc_cmp_f32("area", ga, wa.data(), n, 0, 0) + rc_cmp_int("sides", gs, ws.data(), n);
    });
}

/* ---- parameters ---------------------------------------------------------------------------------- */

static void case_params(cudaStream_t s)
{
    static_assert(sizeof(Mixed) == 64 && sizeof(WithArray) == 80 && sizeof(Big) == 1024, "parameter layouts");
    long long *dsc = rc_dalloc<long long>(9, s);
    RC_LAUNCH(params_scalars, 2, 32, 0, s, (char)-5, (short)-1234, 123456789, -9876543210123ll, 1.5f, 2.718281828,
              (unsigned char)250, (unsigned short)60000, (void *)0x1234567890abull, dsc);
    long long *gsc = rc_get(dsc, 9, s);

    Mixed m;
    WithArray w;
    std::memset(&m, 0, sizeof m);
    std::memset(&w, 0, sizeof w);
    m.c = -3; m.d = 6.25; m.i = -77; m.s = 1234;
    m.f4 = make_float4(1.0f, 2.0f, 3.0f, 4.0f);
    m.u = 0xfedcba9876543210ull; m.tail = 200;
    w.n = 11;
    for (int k = 0; k < 16; k++) w.vals[k] = k * k - 5;
    w.scale = 0.5f;
    double *dout = rc_dalloc<double>(32, s);
    int *ddst = rc_dalloc<int>(16, s);
    w.dst = ddst;
    RC_LAUNCH(params_struct, 1, 32, 0, s, m, w, dout);
    double *gout = rc_get(dout, 32, s);
    int *gdst = rc_get(ddst, 16, s);

    Big big;
    for (int k = 0; k < 256; k++) big.data[k] = k * 31 - 1000;
    int *dbig = rc_dalloc<int>(256, s);
    RC_LAUNCH(params_big, 2, 128, 0, s, big, dbig);
    int *gbig = rc_get(dbig, 256, s);
    rc_free(dsc, s); rc_free(dout, s); rc_free(ddst, s); rc_free(dbig, s);
    rc_verify(s, "params_scalars / params_struct / params_big", [=] {
        static const long long wsc[9] = { -5, -1234, 123456789, -9876543210123ll, 1500, 2718281, 250, 60000, 0x1234567890abll };
        double want[32] = { -3, 6.25, -77, 1234, 4321.0, (double)0xfedcba9876543210ull, 200, 11, 0.5 };
        int wdst[16] = { 0 }, wbig[256];
        for (int t = 0; t < 16; t++) want[16 + t] = (double)((float)w.vals[(t * 7 + 11) & 15] * 0.5f);
        for (int t = 0; t < 11; t++) wdst[t] = t * t - 5 + t;
        for (int t = 0; t < 256; t++) wbig[t] = big.data[t] * 2 + big.data[255 - t];
        return rc_cmp_int("scalars", gsc, wsc, 9) + rc_cmp_f64("struct fields", gout, want, 32, 0, 0) +
               rc_cmp_int("writes through the struct's pointer", gdst, wdst, 16) + rc_cmp_int("big struct", gbig, wbig, 256);
    });
}

/* ---- dynamic shared memory ----------------------------------------------------------------------- */

static void case_dynsmem(cudaStream_t s)
{
    unsigned nb = 128, bs = 256, n = nb * bs;
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, INT_MIN, INT_MAX, 431);
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>(n, s);
    RC_LAUNCH(dynsmem_reverse, nb, bs, bs * 4, s, din, dout);
    int *grev = rc_get(dout, n, s);

    int nf = 300, ni = 200;
    unsigned pnb = 64, pbs = 128;
    float *fin = rc_host<float>((size_t)pnb * nf);
    int32_t *iin = rc_host<int32_t>((size_t)pnb * ni);
    rc_fill_f32(fin, (size_t)pnb * nf, -10.0, 10.0, 441);
    rc_fill_i32(iin, (size_t)pnb * ni, -100000, 100000, 442);
    float *dfi = rc_dup(fin, (size_t)pnb * nf, s), *dfo = rc_dalloc<float>((size_t)pnb * nf, s);
    int *dii = rc_dup(iin, (size_t)pnb * ni, s), *dio = rc_dalloc<int>((size_t)pnb * ni, s);
    RC_LAUNCH_SMEM(dynsmem_partition, 256, pnb, pbs, (nf + ni) * 4, s, dfi, dii, dfo, dio, nf, ni);
    float *gf = rc_get(dfo, (size_t)pnb * nf, s);
    int *gi = rc_get(dio, (size_t)pnb * ni, s);

    // more than 48 KiB of dynamic shared memory: opted in through the function attribute
    int words = 16384;
    unsigned lnb = 8;
    RT_CHECK(cudaFuncSetAttribute(dynsmem_large, cudaFuncAttributeMaxDynamicSharedMemorySize, words * 4));
    int *dl = rc_dalloc<int>(lnb, s);
    RC_LAUNCH(dynsmem_large, lnb, 256, words * 4, s, dl, words);
    int *gl = rc_get(dl, lnb, s);
    rc_free(din, s); rc_free(dout, s); rc_free(dfi, s); rc_free(dfo, s); rc_free(dii, s); rc_free(dio, s); rc_free(dl, s);
    rc_verify(s, "dynsmem_reverse / dynsmem_partition / dynsmem_large", [=] {
        std::vector<int> wrev(n), wi((size_t)pnb * ni), wl(lnb);
        std::vector<float> wf((size_t)pnb * nf);
        for (unsigned b = 0; b < nb; b++)
            for (unsigned t = 0; t < bs; t++) wrev[b * bs + t] = in[b * bs + bs - 1 - t];
        for (unsigned b = 0; b < pnb; b++) {
            for (int k = 0; k < nf; k++) wf[b * nf + k] = fin[b * nf + nf - 1 - k] * 2.0f;
            for (int k = 0; k < ni; k++) wi[b * ni + k] = iin[b * ni + (k + 1) % ni] + (k & 63) * 3;
        }
        for (unsigned b = 0; b < lnb; b++) {
            uint32_t sum = 0;
            for (int k = 0; k < words; k++) sum += (uint32_t)(k ^ (int)b);
            wl[b] = (int32_t)sum;
        }
        return rc_cmp_int("reverse", grev, wrev.data(), n) + rc_cmp_f32("float region", gf, wf.data(), (size_t)pnb * nf, 0, 0) +
               rc_cmp_int("int region + static", gi, wi.data(), (size_t)pnb * ni) +
               rc_cmp_int("64 KiB dynamic shared sums", gl, wl.data(), lnb);
    });
}

/* ---- sync.cu -------------------------------------------------------------------------------------- */

static void case_sync_predicates(cudaStream_t s)
{
    unsigned nb = 64, bs = 256, n = nb * bs;
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -5, 5, 451);
    for (unsigned b = 0; b < nb; b++)
        for (unsigned t = 0; t < bs; t++) {
            int32_t *v = &in[b * bs + t];
            if (b % 4 == 0 && *v == 0) *v = 1;
            if (b % 5 == 0 && t == (b * 7) % bs) *v = 12345;
        }
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>((size_t)nb * 3, s);
    RC_LAUNCH(sync_predicates, nb, bs, 0, s, din, dout);
    int *got = rc_get(dout, (size_t)nb * 3, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "sync_predicates", [=] {
        std::vector<int> want((size_t)nb * 3);
        for (unsigned b = 0; b < nb; b++) {
            int c = 0, a = 1, o = 0;
            for (unsigned t = 0; t < bs; t++) {
                int32_t v = in[b * bs + t];
                c += v > 0;
                a &= v != 0;
                o |= v == 12345;
            }
            want[3 * b] = c; want[3 * b + 1] = a; want[3 * b + 2] = o;
        }
        return rc_cmp_int("count/and/or per block", got, want.data(), (size_t)nb * 3);
    });
}

static void case_local_array_dyn(cudaStream_t s)
{
    unsigned n = 1u << 14;
    int32_t *idx = rc_host<int32_t>(n);
    rc_fill_i32(idx, n, 0, (1 << 20) - 1, 461);
    int *di = rc_dup(idx, n, s), *dout = rc_dalloc<int>(n, s);
    float *dfo = rc_dalloc<float>(n, s);
    RC_LAUNCH(local_array_dyn, n / 128, 128, 0, s, di, dout, dfo, n);
    int *got = rc_get(dout, n, s);
    float *gf = rc_get(dfo, n, s);
    rc_free(di, s); rc_free(dout, s); rc_free(dfo, s);
    rc_verify(s, "local_array_dyn", [=] {
        std::vector<int> want(n);
        std::vector<float> wf(n);
        for (unsigned i = 0; i < n; i++) {
            int arr[40], j = idx[i];
            for (int k = 0; k < 40; ++k) arr[k] = k * k + (int)i;
            arr[(j >> 12) % 40] += 1000;
            want[i] = arr[j % 40] + arr[(j >> 8) % 40];
            wf[i] = (float)(j & 7) * 0.25f + (float)((j & 7) * 5 - (int)(i & 3));
        }
        return rc_cmp_int("local int array", got, want.data(), n) + rc_cmp_f32("local struct array", gf, wf.data(), n, 0, 0);
    });
}

static void case_switch_and_loops(cudaStream_t s)
{
    unsigned n = 1u << 14, grid, block;
    int32_t *in = rc_host<int32_t>(n), *cin = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -100000, 100000, 471);
    in[0] = 3; in[1] = 100; in[2] = 1000; in[3] = 40000; in[4] = 0x10000 + 3; in[5] = -65536 + 100;
    rc_fill_i32(cin, n, 1, 100000, 481);
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>((size_t)n * 2, s);
    unsigned *dcin = rc_dup((const unsigned *)cin, n, s), *dcout = rc_dalloc<unsigned>((size_t)n * 2, s);
    RC_LAUNCH(switch_dense, n / 128, 128, 0, s, din, dout, n);
    rc_occupancy(collatz_steps, 0, 1024, n, &grid, &block);   // bounds-checked: any block size
    RC_LAUNCH(collatz_steps, rc_div_up(n, block), block, 0, s, dcin, dcout, n);
    int *got = rc_get(dout, (size_t)n * 2, s);
    unsigned *gc = rc_get(dcout, (size_t)n * 2, s);
    rc_free(din, s); rc_free(dout, s); rc_free(dcin, s); rc_free(dcout, s);
    rc_verify(s, "switch_dense / collatz_steps", [=] {
        std::vector<int> want((size_t)n * 2);
        std::vector<unsigned> wc((size_t)n * 2);
        for (unsigned i = 0; i < n; i++) {
            int32_t v = in[i], r;
            uint32_t u = (uint32_t)v;
            switch (v % 12) {
            case 0: r = (int32_t)(u * 3u); break;
            case 1: r = v + 100; break;
            case 2: r = v ^ 0x5a5a; break;
            case 3: r = -v; break;
            case 4: r = (int32_t)(u << 3); break;
            case 5: r = v >> 2; break;
            case 6: r = (int32_t)(u * u); break;
            case 7: r = 7; break;
            case 8: r = v - 8000; break;
            case 9: r = v | 0x100; break;
            case 10: r = v & 0xff; break;
            case 11: r = v / 3; break;
            default: r = -1; break;
            }
            switch (v & 0xffff) {
            case 3: want[2 * i + 1] = 1; break;
            case 100: want[2 * i + 1] = 2; break;
            case 1000: want[2 * i + 1] = 3; break;
            case 40000: want[2 * i + 1] = 4; break;
            default: want[2 * i + 1] = 0; break;
            }
            want[2 * i] = r;
            uint64_t x = (uint32_t)cin[i];
            uint32_t steps = 0, odd = 0;
            while (x != 1) {
                if (steps >= 400) break;
                ++steps;
                if ((x & 1) == 0) { x >>= 1; continue; }
                ++odd;
                x = 3 * x + 1;
            }
            wc[2 * i] = steps;
            wc[2 * i + 1] = odd;
        }
        return rc_cmp_int("dense/sparse switch", got, want.data(), (size_t)n * 2) + rc_cmp_int("steps/odd", gc, wc.data(), (size_t)n * 2);
    });
}

static void case_clock_monotonic(cudaStream_t s)
{
    unsigned n = 8192;
    unsigned *dok = rc_dalloc<unsigned>(n, s);
    unsigned long long *dd = rc_dalloc<unsigned long long>(n, s);
    RC_LAUNCH(clock_monotonic, n / 128, 128, 0, s, dok, dd, n);
    unsigned *ok = rc_get(dok, n, s);
    rc_free(dok, s); rc_free(dd, s);
    rc_verify(s, "clock_monotonic", [=] {
        std::vector<unsigned> want(n, 1u);
        return rc_cmp_int("clock64 non-decreasing", ok, want.data(), n);
    });
}

/* ---- constant memory and device globals ------------------------------------------------------------ */

static void case_const_memory(cudaStream_t s)
{
    unsigned n = 1u << 16;
    float *coeffs = rc_host<float>(64), *x = rc_host<float>(n);
    int32_t *lut = rc_host<int32_t>(256);
    uint32_t *in = rc_host<uint32_t>(n);
    static const ConstParams params = { 3, -7 };
    size_t sz = 0;
    rc_fill_f32(coeffs, 64, -1.0, 1.0, 491);
    rc_fill_i32(lut, 256, -100000, 100000, 492);
    rc_fill_f32(x, n, -1.0, 1.0, 493);
    rc_fill_u32(in, n, 494);
    RT_CHECK(cudaGetSymbolSize(&sz, c_coeffs));
    RT_EXPECT(sz == 64 * sizeof(float));
    RT_CHECK(cudaGetSymbolSize(&sz, c_lut));
    RT_EXPECT(sz == 256 * sizeof(int));
    RT_CHECK(cudaMemcpyToSymbolAsync(c_coeffs, coeffs, 64 * sizeof(float), 0, cudaMemcpyHostToDevice, s));
    RT_CHECK(cudaMemcpyToSymbolAsync(c_lut, lut, 128 * sizeof(int), 0, cudaMemcpyHostToDevice, s));   // in two parts
    RT_CHECK(cudaMemcpyToSymbolAsync(c_lut, lut + 128, 128 * sizeof(int), 128 * sizeof(int), cudaMemcpyHostToDevice, s));
    RT_CHECK(cudaMemcpyToSymbolAsync(c_params, &params, sizeof params, 0, cudaMemcpyHostToDevice, s));
    float *dx = rc_dup(x, n, s), *dfo = rc_dalloc<float>(n, s);
    unsigned *din = rc_dup(in, n, s);
    int *dio = rc_dalloc<int>(n, s);
    RC_LAUNCH(const_poly, n / 256, 256, 0, s, dx, dfo, n);
    RC_LAUNCH(const_lut, n / 256, 256, 0, s, din, dio, n);
    float *gf = rc_get(dfo, n, s);
    int *gi = rc_get(dio, n, s);
    rc_free(dx, s); rc_free(dfo, s); rc_free(din, s); rc_free(dio, s);
    rc_verify(s, "const_poly / const_lut", [=] {
        std::vector<float> wf(n);
        std::vector<int> wi(n);
        for (unsigned i = 0; i < n; i++) {
            float r = 0.0f;
            for (int k = 7; k >= 0; --k) r = fmaf(r, x[i], coeffs[k]);
            wf[i] = r + coeffs[8 + (i / 256) % 56];
            wi[i] = lut[in[i] & 255] * 3 - 7;
        }
        return rc_cmp_f32("const_poly", gf, wf.data(), n, 1e-5, 1e-6) + rc_cmp_int("const_lut", gi, wi.data(), n);
    });
}

static void case_device_globals(cudaStream_t s)
{
    unsigned n = 1u << 15;
    size_t sz = 0;
    RT_CHECK(cudaGetSymbolSize(&sz, g_table));
    RT_EXPECT(sz == 16 * sizeof(float));
    RT_CHECK(cudaGetSymbolSize(&sz, g_sum));
    RT_EXPECT(sz == 8);
    RT_CHECK(cudaGetSymbolSize(&sz, g_array));
    RT_EXPECT(sz == 1024 * sizeof(int));
    float *gtable = rc_host<float>(16);
    RT_CHECK(cudaMemcpyFromSymbolAsync(gtable, g_table, 16 * sizeof(float), 0, cudaMemcpyDeviceToHost, s));
    int *dt = rc_dalloc<int>(n, s);
    float *dfo = rc_dalloc<float>(n, s);
    RC_LAUNCH(dev_globals, n / 256, 256, 0, s, dt, dfo, n);
    int *tickets = rc_get(dt, n, s);
    float *gf = rc_get(dfo, n, s);
    int *counter = rc_host<int>(1), *garr = rc_host<int>(1024);
    unsigned long long *sum = rc_host<unsigned long long>(1);
    int *dcounter = nullptr;
    RT_CHECK(cudaGetSymbolAddress((void **)&dcounter, g_counter));
    RT_CHECK(cudaMemcpyAsync(counter, dcounter, 4, cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaMemcpyFromSymbolAsync(sum, g_sum, 8, 0, cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaMemcpyFromSymbolAsync(garr, g_array, 1024 * sizeof(int), 0, cudaMemcpyDeviceToHost, s));
    rc_free(dt, s); rc_free(dfo, s);
    rc_verify(s, "dev_globals", [=] {
        static const float table[16] = { 1.0f, 2.0f, 3.0f, 5.0f, 8.0f, 13.0f, 21.0f, 34.0f,
                                         -1.5f, -2.5f, 0.125f, 1e3f, 7.0f, 9.0f, 11.0f, 0.0f };
        std::vector<float> wf(n);
        std::vector<unsigned char> seen(n);
        std::vector<int> warr(1024);
        size_t bad = 0;
        for (unsigned i = 0; i < n; i++) {
            wf[i] = table[i & 15] * 2.0f;
            if ((unsigned)tickets[i] >= n || seen[tickets[i]]++) bad++;
        }
        for (int i = 0; i < 1024; i++) warr[i] = i * 3 + 1;
        return rc_cmp_f32("g_table initializer", gtable, table, 16, 0, 0) +
               rc_expect(*counter == (int)n, "g_counter is not n") +
               rc_expect(*sum == (unsigned long long)n * (n - 1) / 2, "g_sum is not n(n-1)/2") +
               rc_expect(bad == 0, "the tickets are not a permutation of 0..n-1") +
               rc_cmp_f32("g_table reads", gf, wf.data(), n, 0, 0) + rc_cmp_int("g_array", garr, warr.data(), 1024);
    });
}

/* ---- printf: alone on the device, stdout captured ----------------------------------------------- */

static std::vector<std::string> sorted_lines(const std::string &text)
{
    std::vector<std::string> lines;
    size_t at = 0;
    while (at < text.size()) {
        size_t nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        if (nl > at) lines.push_back(text.substr(at, nl - at));
        at = nl + 1;
    }
    std::sort(lines.begin(), lines.end());
    return lines;
}

static void printf_phase()
{
    char want[4096];
    size_t len = 0;
    int base = 1000;
    unsigned u = 77;
    double d = 3.14159;
    for (int t = 0; t < 256; t++)
        if (t % 37 == 0)
            len += (size_t)std::snprintf(want + len, sizeof want - len, "thread %d: val=%d hex=%x f=%.3f s=%s c=%c ll=%lld\n",
                                         t, base + t, t * 255, t * 0.5, "str", 'A' + t % 26, (long long)t << 33);
    len += (size_t)std::snprintf(want + len, sizeof want - len, "plain line\n");
    len += (size_t)std::snprintf(want + len, sizeof want - len, "pct 100%% [%5d] [%-4d] [%05u] [%8.2f] [%e]\n", 42, 7, u,
                                 d, 1.5e-3);
    std::snprintf(want + len, sizeof want - len, "u64=%llu x64=%llx neg=%d\n", 18446744073709551615ull,
                  0xdeadbeefcafeull, -12345);
    cudaStream_t s;
    RT_REQUIRE(cudaStreamCreate(&s));
    char path[] = "/tmp/rt_corpus_printf.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { std::printf("FAIL mkstemp\n"); rt_failures++; return; }
    unlink(path);
    std::fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    RC_LAUNCH(printf_basic, 2, 128, 0, s, base);
    RC_LAUNCH(printf_formats, 4, 32, 0, s, u, d, (const char *)nullptr);
    cudaError_t e = cudaStreamSynchronize(s);
    std::fflush(stdout);
    dup2(saved, 1);
    close(saved);
    RT_CHECK(e);
    std::string got;
    char buf[4096];
    ssize_t r;
    lseek(fd, 0, SEEK_SET);
    while ((r = read(fd, buf, sizeof buf)) > 0) got.append(buf, (size_t)r);
    close(fd);
    std::vector<std::string> gl = sorted_lines(got), wl = sorted_lines(want);
    if (gl != wl) {
        std::printf("FAIL device printf output differs: got %zu lines:\n", gl.size());
        for (auto &l : gl) std::printf("      |%s|\n", l.c_str());
        std::printf("    want %zu lines:\n", wl.size());
        for (auto &l : wl) std::printf("      |%s|\n", l.c_str());
        rt_failures++;
    }
    RT_CHECK(cudaStreamDestroy(s));
}

int main()
{
    static const rc_case_fn cases[] = { case_calls_noinline,   case_recursion,       case_fnptr,
                                        case_virtual_dispatch, case_params,          case_dynsmem,
                                        case_sync_predicates,  case_local_array_dyn, case_switch_and_loops,
                                        case_clock_monotonic,  case_const_memory,    case_device_globals };
    return rc_main("rt_corpus_lang", cases, sizeof cases / sizeof *cases, 3, 22, printf_phase);
}
