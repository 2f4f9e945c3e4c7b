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
#include "../common/corpus_ref_lang.c"

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
        std::vector<int64_t> wl(n);
        cref_calls_noinline_want(in, coef, wfo.data(), wio.data(), wd.data(), wl.data(), n);
        return rc_cmp_f32("poly_eval + struct float", gfo, wfo.data(), n, 1e-5, 1e-6) +
               rc_cmp_int("struct int + out-params", gio, wio.data(), (size_t)n * 2) +
               rc_cmp_f64("struct double", gd, wd.data(), n, 0, 0) + rc_cmp_int("many_args", gl, (const long long *)wl.data(), n);
    });
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
        cref_fib_want(wfib.data(), n);
        cref_recurse_local_want(seeds, want.data(), n2);
        return rc_cmp_int("fib", gfib, wfib.data(), n) + rc_cmp_int("depth_sum", got, want.data(), n2);
    });
}

/* ---- indirect calls ---------------------------------------------------------------------------- */

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
        cref_fnptr_table_want(a, b, sel, w1.data(), n);
        cref_fnptr_local_want(a, b, sel, w2.data(), n);
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
        cref_virtual_dispatch_want(dims, kind, wa.data(), ws.data(), n);
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
        cref_dynsmem_reverse_want(in, wrev.data(), nb, bs);
        cref_dynsmem_partition_want(fin, iin, wf.data(), wi.data(), pnb, nf, ni);
        cref_dynsmem_large_want(wl.data(), lnb, words);
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
    cref_sync_predicates_inputs(in, nb, bs);
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>((size_t)nb * 3, s);
    RC_LAUNCH(sync_predicates, nb, bs, 0, s, din, dout);
    int *got = rc_get(dout, (size_t)nb * 3, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "sync_predicates", [=] {
        std::vector<int> want((size_t)nb * 3);
        cref_sync_predicates_want(in, want.data(), nb, bs);
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
        cref_local_array_dyn_want(idx, want.data(), wf.data(), n);
        return rc_cmp_int("local int array", got, want.data(), n) + rc_cmp_f32("local struct array", gf, wf.data(), n, 0, 0);
    });
}

static void case_switch_and_loops(cudaStream_t s)
{
    unsigned n = 1u << 14, grid, block;
    int32_t *in = rc_host<int32_t>(n), *cin = rc_host<int32_t>(n);
    cref_switch_dense_inputs(in, n);
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
        cref_switch_dense_want(in, want.data(), n);
        cref_collatz_want(cin, wc.data(), n);
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
        cref_const_memory_want(x, coeffs, lut, in, wf.data(), wi.data(), n);
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
