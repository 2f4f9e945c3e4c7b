/* test_corpus_lang.c: corpus cases for language features: real calls and recursion (calls.cu),
 * indirect calls and virtual dispatch (fnptr.cu), device printf (printf.cu, stdout captured around
 * the launch and cuCtxSynchronize), by-value parameters (params.cu), dynamic shared memory
 * (dynsmem.cu), predicated barriers, local arrays, switches, loops and clocks (sync.cu),
 * __constant__ and __device__ globals (constmem.cu), and hand-written PTX that nvcc does not emit
 * (brx.idx jump table, bfe/bfi, prmt.f4e) loaded as PTX text. */
#include "bft.h"
#include "corpus_ref.h"
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- calls ------------------------------------------------------------------------------------- */

BFT_CASE(calls_noinline)
{
    unsigned n = 1u << 14;
    float coef[8] = { 0.5f, -1.25f, 2.0f, 0.75f, -0.125f, 0.0625f, 1.5f, -0.25f };
    int32_t *in = bft_alloc(n * 4), *gio = bft_alloc(n * 8), *wio = bft_alloc(n * 8);
    float *gfo = bft_alloc(n * 4), *wfo = bft_alloc(n * 4);
    double *gd = bft_alloc(n * 8), *wd = bft_alloc(n * 8);
    int64_t *gl = bft_alloc(n * 8), *wl = bft_alloc(n * 8);
    bft_fill_i32(in, n, -100000, 100000, 401);
    cref_calls_noinline_want(in, coef, wfo, wio, wd, wl, n);
    CUdeviceptr dcoef = bft_dup(coef, sizeof coef), din = bft_dup(in, n * 4), dfo = bft_dalloc(n * 4);
    CUdeviceptr dio = bft_dalloc(n * 8), dd = bft_dalloc(n * 8), dl = bft_dalloc(n * 8);
    BFT_LAUNCH(bft_func("calls", "calls_noinline"), bft_d1(n / 128), bft_d1(128), 0, &dcoef, &din, &dfo, &dio, &dd, &dl, &n);
    bft_sync();
    bft_download(gfo, dfo, n * 4);
    bft_download(gio, dio, n * 8);
    bft_download(gd, dd, n * 8);
    bft_download(gl, dl, n * 8);
    bft_cmp_f32("poly_eval + struct float", gfo, wfo, n, 1e-5, 1e-6);
    bft_cmp_i32("struct int + out-params", gio, wio, n * 2);
    bft_cmp_f64("struct double", gd, wd, n, 0, 0);
    bft_cmp_i64("many_args", gl, wl, n);
}

BFT_CASE(fib_recursive)
{
    unsigned n = 4096;
    int modulo = 13;
    int32_t *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    cref_fib_want(want, n);
    CUdeviceptr dout = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("recursion", "fib_recursive"), bft_d1(n / 64), bft_d1(64), 0, &dout, &n, &modulo);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_cmp_i32("fib", got, want, n);
}

BFT_CASE(recurse_local)
{
    unsigned n = 8192;
    int32_t *seeds = bft_alloc(n * 4), *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    bft_fill_i32(seeds, n, -100000, 100000, 403);
    cref_recurse_local_want(seeds, want, n);
    CUdeviceptr ds = bft_dup(seeds, n * 4), dout = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("recursion", "recurse_local"), bft_d1(n / 128), bft_d1(128), 0, &ds, &dout, &n);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_cmp_i32("depth_sum", got, want, n);
}

/* ---- indirect calls ---------------------------------------------------------------------------- */

BFT_CASE(fnptr_calls)
{
    unsigned n = 1u << 14;
    int32_t *a = bft_alloc(n * 4), *b = bft_alloc(n * 4), *sel = bft_alloc(n * 4);
    int32_t *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    bft_fill_i32(a, n, -50000, 50000, 411);
    bft_fill_i32(b, n, -50000, 50000, 412);
    bft_fill_i32(sel, n, 0, 1000, 413);
    CUdeviceptr da = bft_dup(a, n * 4), db = bft_dup(b, n * 4), ds = bft_dup(sel, n * 4), dout = bft_dalloc(n * 4);
    cref_fnptr_table_want(a, b, sel, want, n);
    BFT_LAUNCH(bft_func("fnptr", "fnptr_table"), bft_d1(n / 128), bft_d1(128), 0, &da, &db, &ds, &dout, &n);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_cmp_i32("fnptr_table", got, want, n);
    cref_fnptr_local_want(a, b, sel, want, n);
    BFT_LAUNCH(bft_func("fnptr", "fnptr_local"), bft_d1(n / 128), bft_d1(128), 0, &da, &db, &ds, &dout, &n);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_cmp_i32("fnptr_local", got, want, n);
}

BFT_CASE(virtual_dispatch)
{
    unsigned n = 8192;
    float *dims = bft_alloc(n * 4), *ga = bft_alloc(n * 4), *wa = bft_alloc(n * 4);
    int32_t *kind = bft_alloc(n * 4), *gs = bft_alloc(n * 4), *ws = bft_alloc(n * 4);
    bft_fill_f32(dims, n, 0.5, 20.0, 421);
    bft_fill_i32(kind, n, 0, 1000, 422);
    cref_virtual_dispatch_want(dims, kind, wa, ws, n);
    CUdeviceptr dd = bft_dup(dims, n * 4), dk = bft_dup(kind, n * 4), da = bft_dalloc(n * 4), dsd = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("fnptr", "virtual_dispatch"), bft_d1(n / 128), bft_d1(128), 0, &dd, &dk, &da, &dsd, &n);
    bft_sync();
    bft_download(ga, da, n * 4);
    bft_download(gs, dsd, n * 4);
    bft_cmp_f32("area", ga, wa, n, 0, 0);
    bft_cmp_i32("sides", gs, ws, n);
}

/* ---- printf -------------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Splits text into lines (in place), sorts them; returns the count. */
static size_t sorted_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save)) lines[n++] = l;
    qsort(lines, n, sizeof *lines, cmp_str);
    return n;
}

static void compare_output(const char *what, char *got, char *want)
{
    char *gl[64], *wl[64];
    size_t ng = sorted_lines(got, gl, 64), nw = sorted_lines(want, wl, 64);
    int same = ng == nw;
    for (size_t i = 0; same && i < ng; i++) same = strcmp(gl[i], wl[i]) == 0;
    if (!same) {
        printf("    %s: got %zu lines:\n", what, ng);
        for (size_t i = 0; i < ng; i++) printf("      |%s|\n", gl[i]);
        printf("    want %zu lines:\n", nw);
        for (size_t i = 0; i < nw; i++) printf("      |%s|\n", wl[i]);
        bft_failf(__FILE__, __LINE__, "%s: device printf output differs", what);
    }
}

BFT_CASE(printf_basic)
{
    int base = 1000;
    char want[4096] = "", *got;
    size_t len = 0;
    CUfunction f = bft_func("printf", "printf_basic");
    for (int t = 0; t < 256; t++)
        if (t % 37 == 0)
            len += (size_t)snprintf(want + len, sizeof want - len, "thread %d: val=%d hex=%x f=%.3f s=%s c=%c ll=%lld\n",
                                    t, base + t, t * 255, t * 0.5, "str", 'A' + t % 26, (long long)t << 33);
    bft_capture_begin(1);
    BFT_LAUNCH(f, bft_d1(2), bft_d1(128), 0, &base);
    CUresult r = cuCtxSynchronize();
    got = bft_capture_end(1);
    REQUIRE(r == CUDA_SUCCESS, "cuCtxSynchronize -> %s", bft_cu_name(r));
    compare_output("printf_basic", got, want);
}

BFT_CASE(printf_formats)
{
    unsigned u = 77;
    double d = 3.14159;
    CUdeviceptr unused = 0;
    char want[1024], *got;
    int len = snprintf(want, sizeof want, "plain line\n");
    len += snprintf(want + len, sizeof want - (size_t)len, "pct 100%% [%5d] [%-4d] [%05u] [%8.2f] [%e]\n", 42, 7, u, d, 1.5e-3);
    snprintf(want + len, sizeof want - (size_t)len, "u64=%llu x64=%llx neg=%d\n", 18446744073709551615ull,
             0xdeadbeefcafeull, -12345);
    CUfunction f = bft_func("printf", "printf_formats");
    bft_capture_begin(1);
    BFT_LAUNCH(f, bft_d1(4), bft_d1(32), 0, &u, &d, &unused);
    CUresult r = cuCtxSynchronize();
    got = bft_capture_end(1);
    REQUIRE(r == CUDA_SUCCESS, "cuCtxSynchronize -> %s", bft_cu_name(r));
    compare_output("printf_formats", got, want);
}

/* ---- parameters ---------------------------------------------------------------------------------- */

typedef struct { float x, y, z, w; } __attribute__((aligned(16))) bft_float4;
struct Mixed { char c; double d; int i; short s; bft_float4 f4; unsigned long long u; unsigned char tail; };
struct WithArray { int n; int vals[16]; float scale; CUdeviceptr dst; };
struct Big { int data[256]; };
_Static_assert(sizeof(struct Mixed) == 64, "Mixed must match the device layout");
_Static_assert(sizeof(struct WithArray) == 80, "WithArray must match the device layout");

BFT_CASE(params_scalars)
{
    char c = -5;
    short s = -1234;
    int i = 123456789;
    long long ll = -9876543210123ll;
    float f = 1.5f;
    double d = 2.718281828;
    unsigned char uc = 250;
    unsigned short us = 60000;
    CUdeviceptr p = 0x1234567890abull;
    int64_t got[9], want[9] = { -5, -1234, 123456789, -9876543210123ll, 1500, 2718281, 250, 60000, 0x1234567890abll };
    CUdeviceptr dout = bft_dalloc(sizeof got);
    BFT_LAUNCH(bft_func("params", "params_scalars"), bft_d1(2), bft_d1(32), 0, &c, &s, &i, &ll, &f, &d, &uc, &us, &p, &dout);
    bft_sync();
    bft_download(got, dout, sizeof got);
    bft_cmp_i64("scalars", got, want, 9);
}

static void params_struct_setup(struct Mixed *m, struct WithArray *w, CUdeviceptr dst, double *want)
{
    memset(m, 0, sizeof *m);
    memset(w, 0, sizeof *w);
    m->c = -3; m->d = 6.25; m->i = -77; m->s = 1234;
    m->f4.x = 1.0f; m->f4.y = 2.0f; m->f4.z = 3.0f; m->f4.w = 4.0f;
    m->u = 0xfedcba9876543210ull; m->tail = 200;
    w->n = 11;
    for (int k = 0; k < 16; k++) w->vals[k] = k * k - 5;
    w->scale = 0.5f;
    w->dst = dst;
    memset(want, 0, 32 * sizeof(double));
    want[0] = -3; want[1] = 6.25; want[2] = -77; want[3] = 1234; want[4] = 4321.0;
    want[5] = (double)0xfedcba9876543210ull; want[6] = 200; want[7] = 11; want[8] = 0.5;
    for (int t = 0; t < 16; t++) want[16 + t] = (double)((float)w->vals[(t * 7 + 11) & 15] * 0.5f);
}

static void params_struct_check(CUdeviceptr dout, CUdeviceptr ddst, const double *want)
{
    double got[32];
    int32_t gdst[16], wdst[16] = { 0 };
    bft_download(got, dout, sizeof got);
    bft_download(gdst, ddst, sizeof gdst);
    for (int t = 0; t < 11; t++) wdst[t] = t * t - 5 + t;
    bft_cmp_f64("fields", got, want, 32, 0, 0);
    bft_cmp_i32("writes through the struct's pointer", gdst, wdst, 16);
}

BFT_CASE(params_struct)
{
    struct Mixed m;
    struct WithArray w;
    double want[32];
    CUdeviceptr dout = bft_dalloc(32 * sizeof(double)), ddst = bft_dalloc(16 * 4);
    params_struct_setup(&m, &w, ddst, want);
    BFT_LAUNCH(bft_func("params", "params_struct"), bft_d1(1), bft_d1(32), 0, &m, &w, &dout);
    bft_sync();
    params_struct_check(dout, ddst, want);
}

/* The same kernel launched through `extra` with CU_LAUNCH_PARAM_BUFFER_POINTER: the packed buffer
 * follows the ABI's natural alignment (Mixed at 0, WithArray at 64, the pointer at 144). */
BFT_CASE(params_struct_extra_buffer)
{
    struct Mixed m;
    struct WithArray w;
    double want[32];
    unsigned char buf[152] __attribute__((aligned(16)));
    size_t size = sizeof buf;
    CUdeviceptr dout = bft_dalloc(32 * sizeof(double)), ddst = bft_dalloc(16 * 4);
    params_struct_setup(&m, &w, ddst, want);
    memcpy(buf, &m, 64);
    memcpy(buf + 64, &w, 80);
    memcpy(buf + 144, &dout, 8);
    void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, buf, CU_LAUNCH_PARAM_BUFFER_SIZE, &size, CU_LAUNCH_PARAM_END };
    CHECK_CU(cuLaunchKernel(bft_func("params", "params_struct"), 1, 1, 1, 32, 1, 1, 0, NULL, NULL, extra));
    bft_sync();
    params_struct_check(dout, ddst, want);
}

BFT_CASE(params_func_param_info)
{
    static const size_t offs[3] = { 0, 64, 144 }, sizes[3] = { 64, 80, 8 };
    CUfunction f = bft_func("params", "params_struct");
    for (size_t k = 0; k < 3; k++) {
        size_t off = 0, sz = 0;
        CHECK_CU(cuFuncGetParamInfo(f, k, &off, &sz));
        EXPECT(off == offs[k] && sz == sizes[k], "param %zu: offset %zu size %zu, want %zu %zu", k, off, sz, offs[k], sizes[k]);
    }
}

BFT_CASE(params_big)
{
    struct Big b;
    int32_t got[256], want[256];
    for (int k = 0; k < 256; k++) b.data[k] = k * 31 - 1000;
    for (int t = 0; t < 256; t++) want[t] = b.data[t] * 2 + b.data[255 - t];
    CUdeviceptr dout = bft_dalloc(sizeof got);
    BFT_LAUNCH(bft_func("params", "params_big"), bft_d1(2), bft_d1(128), 0, &b, &dout);
    bft_sync();
    bft_download(got, dout, sizeof got);
    bft_cmp_i32("big struct", got, want, 256);
}

/* ---- dynamic shared memory ----------------------------------------------------------------------- */

BFT_CASE(dynsmem_reverse)
{
    unsigned nb = 128, bs = 256, n = nb * bs;
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    bft_fill_i32(in, n, INT_MIN, INT_MAX, 431);
    cref_dynsmem_reverse_want(in, want, nb, bs);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("dynsmem", "dynsmem_reverse"), bft_d1(nb), bft_d1(bs), bs * 4, &din, &dout);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_cmp_i32("reverse", got, want, n);
}

BFT_CASE(dynsmem_partition)
{
    int nf = 300, ni = 200;
    unsigned nb = 64, bs = 128;
    float *fin = bft_alloc(nb * (size_t)nf * 4), *gf = bft_alloc(nb * (size_t)nf * 4), *wf = bft_alloc(nb * (size_t)nf * 4);
    int32_t *iin = bft_alloc(nb * (size_t)ni * 4), *gi = bft_alloc(nb * (size_t)ni * 4), *wi = bft_alloc(nb * (size_t)ni * 4);
    bft_fill_f32(fin, nb * (size_t)nf, -10.0, 10.0, 441);
    bft_fill_i32(iin, nb * (size_t)ni, -100000, 100000, 442);
    cref_dynsmem_partition_want(fin, iin, wf, wi, nb, nf, ni);
    CUdeviceptr dfi = bft_dup(fin, nb * (size_t)nf * 4), dii = bft_dup(iin, nb * (size_t)ni * 4);
    CUdeviceptr dfo = bft_dalloc(nb * (size_t)nf * 4), dio = bft_dalloc(nb * (size_t)ni * 4);
    BFT_LAUNCH(bft_func("dynsmem", "dynsmem_partition"), bft_d1(nb), bft_d1(bs), (unsigned)(nf + ni) * 4, &dfi, &dii,
               &dfo, &dio, &nf, &ni);
    bft_sync();
    bft_download(gf, dfo, nb * (size_t)nf * 4);
    bft_download(gi, dio, nb * (size_t)ni * 4);
    bft_cmp_f32("float region", gf, wf, nb * (size_t)nf, 0, 0);
    bft_cmp_i32("int region + static", gi, wi, nb * (size_t)ni);
}

BFT_CASE(dynsmem_optin_64k)
{
    int words = 16384;
    unsigned nb = 8;
    int32_t got[8], want[8];
    CUfunction f = bft_func("dynsmem", "dynsmem_large");
    CHECK_CU(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, words * 4));
    cref_dynsmem_large_want(want, nb, words);
    CUdeviceptr dout = bft_dalloc(sizeof got);
    BFT_LAUNCH(f, bft_d1(nb), bft_d1(256), (unsigned)words * 4, &dout, &words);
    bft_sync();
    bft_download(got, dout, sizeof got);
    bft_cmp_i32("64 KiB dynamic shared sums", got, want, nb);
}

/* ---- sync.cu -------------------------------------------------------------------------------------- */

BFT_CASE(sync_predicates)
{
    unsigned nb = 64, bs = 256, n = nb * bs;
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc(nb * 12), *want = bft_alloc(nb * 12);
    cref_sync_predicates_inputs(in, nb, bs);
    cref_sync_predicates_want(in, want, nb, bs);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(nb * 12);
    BFT_LAUNCH(bft_func("sync", "sync_predicates"), bft_d1(nb), bft_d1(bs), 0, &din, &dout);
    bft_sync();
    bft_download(got, dout, nb * 12);
    bft_cmp_i32("count/and/or per block", got, want, nb * 3);
}

BFT_CASE(local_array_dyn)
{
    unsigned n = 1u << 14;
    int32_t *idx = bft_alloc(n * 4), *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    float *gf = bft_alloc(n * 4), *wf = bft_alloc(n * 4);
    bft_fill_i32(idx, n, 0, (1 << 20) - 1, 461);
    cref_local_array_dyn_want(idx, want, wf, n);
    CUdeviceptr di = bft_dup(idx, n * 4), dout = bft_dalloc(n * 4), dfo = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("sync", "local_array_dyn"), bft_d1(n / 128), bft_d1(128), 0, &di, &dout, &dfo, &n);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_download(gf, dfo, n * 4);
    bft_cmp_i32("local int array", got, want, n);
    bft_cmp_f32("local struct array", gf, wf, n, 0, 0);
}

BFT_CASE(switch_dense)
{
    unsigned n = 1u << 14;
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc(n * 8), *want = bft_alloc(n * 8);
    cref_switch_dense_inputs(in, n);
    cref_switch_dense_want(in, want, n);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 8);
    BFT_LAUNCH(bft_func("sync", "switch_dense"), bft_d1(n / 128), bft_d1(128), 0, &din, &dout, &n);
    bft_sync();
    bft_download(got, dout, n * 8);
    bft_cmp_i32("dense/sparse switch", got, want, n * 2);
}

BFT_CASE(collatz_steps)
{
    unsigned n = 1u << 14;
    int32_t *in = bft_alloc(n * 4);
    uint32_t *got = bft_alloc(n * 8), *want = bft_alloc(n * 8);
    bft_fill_i32(in, n, 1, 100000, 481);
    cref_collatz_want(in, want, n);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 8);
    BFT_LAUNCH(bft_func("sync", "collatz_steps"), bft_d1(n / 128), bft_d1(128), 0, &din, &dout, &n);
    bft_sync();
    bft_download(got, dout, n * 8);
    bft_cmp_u32("steps/odd", got, want, n * 2);
}

BFT_CASE(clock_monotonic)
{
    unsigned n = 8192;
    uint32_t *ok = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    for (unsigned i = 0; i < n; i++) want[i] = 1;
    CUdeviceptr dok = bft_dalloc(n * 4), dd = bft_dalloc(n * 8);
    BFT_LAUNCH(bft_func("sync", "clock_monotonic"), bft_d1(n / 128), bft_d1(128), 0, &dok, &dd, &n);
    bft_sync();
    bft_download(ok, dok, n * 4);
    bft_cmp_u32("clock64 non-decreasing", ok, want, n);
}

/* ---- constant memory and device globals ------------------------------------------------------------ */

BFT_CASE(const_memory)
{
    unsigned n = 1u << 16;
    float coeffs[64], *x = bft_alloc(n * 4), *gf = bft_alloc(n * 4), *wf = bft_alloc(n * 4);
    int32_t lut[256], params[2] = { 3, -7 }, *gi = bft_alloc(n * 4), *wi = bft_alloc(n * 4);
    uint32_t *in = bft_alloc(n * 4);
    size_t sz = 0;
    bft_fill_f32(coeffs, 64, -1.0, 1.0, 491);
    bft_fill_i32(lut, 256, -100000, 100000, 492);
    bft_fill_f32(x, n, -1.0, 1.0, 493);
    bft_fill_u32(in, n, 494);
    bft_upload(bft_global("constmem", "c_coeffs", &sz), coeffs, sizeof coeffs);
    EXPECT(sz == sizeof coeffs, "c_coeffs size %zu", sz);
    bft_upload(bft_global("constmem", "c_lut", &sz), lut, sizeof lut);
    EXPECT(sz == sizeof lut, "c_lut size %zu", sz);
    bft_upload(bft_global("constmem", "c_params", &sz), params, sizeof params);
    EXPECT(sz == sizeof params, "c_params size %zu", sz);
    cref_const_memory_want(x, coeffs, lut, in, wf, wi, n);
    CUdeviceptr dx = bft_dup(x, n * 4), dfo = bft_dalloc(n * 4), din = bft_dup(in, n * 4), dio = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("constmem", "const_poly"), bft_d1(n / 256), bft_d1(256), 0, &dx, &dfo, &n);
    BFT_LAUNCH(bft_func("constmem", "const_lut"), bft_d1(n / 256), bft_d1(256), 0, &din, &dio, &n);
    bft_sync();
    bft_download(gf, dfo, n * 4);
    bft_download(gi, dio, n * 4);
    bft_cmp_f32("const_poly", gf, wf, n, 1e-5, 1e-6);
    bft_cmp_i32("const_lut", gi, wi, n);
}

BFT_CASE(device_globals)
{
    unsigned n = 1u << 15;
    static const float table[16] = { 1.0f, 2.0f, 3.0f, 5.0f, 8.0f, 13.0f, 21.0f, 34.0f,
                                     -1.5f, -2.5f, 0.125f, 1e3f, 7.0f, 9.0f, 11.0f, 0.0f };
    float gtable[16], *gf = bft_alloc(n * 4), *wf = bft_alloc(n * 4);
    uint32_t *tickets = bft_alloc(n * 4);
    unsigned char *seen = bft_alloc(n);
    int32_t counter = -1, garr[1024], warr[1024];
    uint64_t sum = 0, wsum = (uint64_t)n * (n - 1) / 2;
    size_t sz = 0, bad = 0;
    CUdeviceptr dtable = bft_global("constmem", "g_table", &sz);
    EXPECT(sz == sizeof table, "g_table size %zu", sz);
    bft_download(gtable, dtable, sizeof gtable);
    bft_cmp_f32("g_table initializer", gtable, table, 16, 0, 0);
    CUdeviceptr dcounter = bft_global("constmem", "g_counter", &sz);
    EXPECT(sz == 4, "g_counter size %zu", sz);
    CUdeviceptr dsum = bft_global("constmem", "g_sum", &sz);
    EXPECT(sz == 8, "g_sum size %zu", sz);
    CUdeviceptr darr = bft_global("constmem", "g_array", &sz);
    EXPECT(sz == sizeof garr, "g_array size %zu", sz);
    CUdeviceptr dt = bft_dalloc(n * 4), dfo = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("constmem", "dev_globals"), bft_d1(n / 256), bft_d1(256), 0, &dt, &dfo, &n);
    bft_sync();
    bft_download(tickets, dt, n * 4);
    bft_download(gf, dfo, n * 4);
    bft_download(&counter, dcounter, 4);
    bft_download(&sum, dsum, 8);
    bft_download(garr, darr, sizeof garr);
    for (unsigned i = 0; i < n; i++) {
        wf[i] = table[i & 15] * 2.0f;
        if (tickets[i] >= n || seen[tickets[i]]++) bad++;
    }
    for (int i = 0; i < 1024; i++) warr[i] = i * 3 + 1;
    EXPECT(counter == (int32_t)n, "g_counter %d, want %u", counter, n);
    EXPECT(sum == wsum, "g_sum %llu, want %llu", (unsigned long long)sum, (unsigned long long)wsum);
    EXPECT(bad == 0, "%zu tickets are not a permutation of 0..n-1", bad);
    bft_cmp_f32("g_table reads", gf, wf, n, 0, 0);
    bft_cmp_i32("g_array", garr, warr, 1024);
}

/* ---- hand-written PTX --------------------------------------------------------------------------- */

static const char hand_ptx[] =
    ".version 7.0\n"
    ".target sm_75\n"
    ".address_size 64\n"
    "\n"
    ".visible .entry brx_switch(.param .u64 p_in, .param .u64 p_out, .param .u32 p_n)\n"
    "{\n"
    "\t.reg .pred %p<2>;\n"
    "\t.reg .b32 %r<10>;\n"
    "\t.reg .b64 %rd<8>;\n"
    "\tld.param.u64 %rd1, [p_in];\n"
    "\tld.param.u64 %rd2, [p_out];\n"
    "\tld.param.u32 %r1, [p_n];\n"
    "\tmov.u32 %r2, %ctaid.x;\n"
    "\tmov.u32 %r3, %ntid.x;\n"
    "\tmov.u32 %r4, %tid.x;\n"
    "\tmad.lo.s32 %r5, %r2, %r3, %r4;\n"
    "\tsetp.ge.u32 %p1, %r5, %r1;\n"
    "\t@%p1 bra $DONE;\n"
    "\tcvta.to.global.u64 %rd3, %rd1;\n"
    "\tmul.wide.u32 %rd4, %r5, 4;\n"
    "\tadd.s64 %rd5, %rd3, %rd4;\n"
    "\tld.global.u32 %r6, [%rd5];\n"
    "\tand.b32 %r7, %r6, 3;\n"
    "$TARGETS:\n"
    "\t.branchtargets $L0, $L1, $L2, $L3;\n"
    "\tbrx.idx %r7, $TARGETS;\n"
    "$L0:\n"
    "\tmul.lo.s32 %r8, %r6, 3;\n"
    "\tbra.uni $STORE;\n"
    "$L1:\n"
    "\tadd.s32 %r8, %r6, 100;\n"
    "\tbra.uni $STORE;\n"
    "$L2:\n"
    "\txor.b32 %r8, %r6, 90;\n"
    "\tbra.uni $STORE;\n"
    "$L3:\n"
    "\tneg.s32 %r8, %r6;\n"
    "$STORE:\n"
    "\tcvta.to.global.u64 %rd6, %rd2;\n"
    "\tadd.s64 %rd7, %rd6, %rd4;\n"
    "\tst.global.u32 [%rd7], %r8;\n"
    "$DONE:\n"
    "\tret;\n"
    "}\n"
    "\n"
    ".visible .entry bitfield_ops(.param .u64 p_in, .param .u64 p_out, .param .u32 p_n)\n"
    "{\n"
    "\t.reg .pred %p<2>;\n"
    "\t.reg .b32 %r<16>;\n"
    "\t.reg .b64 %rd<8>;\n"
    "\tld.param.u64 %rd1, [p_in];\n"
    "\tld.param.u64 %rd2, [p_out];\n"
    "\tld.param.u32 %r1, [p_n];\n"
    "\tmov.u32 %r2, %ctaid.x;\n"
    "\tmov.u32 %r3, %ntid.x;\n"
    "\tmov.u32 %r4, %tid.x;\n"
    "\tmad.lo.s32 %r5, %r2, %r3, %r4;\n"
    "\tsetp.ge.u32 %p1, %r5, %r1;\n"
    "\t@%p1 bra $DONE;\n"
    "\tcvta.to.global.u64 %rd3, %rd1;\n"
    "\tmul.wide.u32 %rd4, %r5, 8;\n"
    "\tadd.s64 %rd5, %rd3, %rd4;\n"
    "\tld.global.v2.u32 {%r6, %r7}, [%rd5];\n"
    "\tand.b32 %r8, %r7, 31;\n"
    "\tshr.u32 %r9, %r7, 5;\n"
    "\tand.b32 %r9, %r9, 15;\n"
    "\tadd.u32 %r9, %r9, 1;\n"
    "\tbfe.u32 %r10, %r6, %r8, %r9;\n"
    "\tbfe.s32 %r11, %r6, %r8, %r9;\n"
    "\tbfi.b32 %r12, %r7, %r6, %r8, %r9;\n"
    "\tprmt.b32.f4e %r13, %r6, %r7, %r7;\n"
    "\tcvta.to.global.u64 %rd6, %rd2;\n"
    "\tmul.wide.u32 %rd4, %r5, 16;\n"
    "\tadd.s64 %rd7, %rd6, %rd4;\n"
    "\tst.global.v4.u32 [%rd7], {%r10, %r11, %r12, %r13};\n"
    "$DONE:\n"
    "\tret;\n"
    "}\n";

static uint32_t ref_bfe(uint32_t a, uint32_t pos, uint32_t len, int is_signed)
{
    uint32_t msb = 31, d = 0, top = pos + len - 1 > msb ? msb : pos + len - 1;
    uint32_t sbit = is_signed ? (a >> top) & 1u : 0;
    for (uint32_t i = 0; i <= msb; i++) {
        uint32_t bit = (i < len && pos + i <= msb) ? (a >> (pos + i)) & 1u : sbit;
        d |= bit << i;
    }
    return d;
}

static uint32_t ref_bfi(uint32_t a, uint32_t b, uint32_t pos, uint32_t len)
{
    uint32_t d = b;
    for (uint32_t i = 0; i < len && pos + i <= 31; i++) d = (d & ~(1u << (pos + i))) | (((a >> i) & 1u) << (pos + i));
    return d;
}

BFT_CASE(ptx_brx_idx_and_bitfields)
{
    unsigned n = 1u << 14;
    CUmodule m;
    CUfunction fsw, fbf;
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    uint32_t *pairs = bft_alloc(n * 8), *gbf = bft_alloc(n * 16), *wbf = bft_alloc(n * 16);
    bft_cuda_init();
    CHECK_CU(cuModuleLoadData(&m, hand_ptx));
    CHECK_CU(cuModuleGetFunction(&fsw, m, "brx_switch"));
    CHECK_CU(cuModuleGetFunction(&fbf, m, "bitfield_ops"));
    bft_fill_i32(in, n, -1000000, 1000000, 501);
    bft_fill_u32(pairs, n * 2, 502);
    for (unsigned i = 0; i < n; i++) {
        int32_t v = in[i];
        switch (v & 3) {
        case 0: want[i] = (int32_t)((uint32_t)v * 3u); break;
        case 1: want[i] = v + 100; break;
        case 2: want[i] = v ^ 90; break;
        default: want[i] = -v; break;
        }
        {
            uint32_t x = pairs[2 * i], y = pairs[2 * i + 1], pos = y & 31, len = ((y >> 5) & 15) + 1, sh = y & 3;
            uint8_t bytes[8];
            for (int k = 0; k < 4; k++) { bytes[k] = (uint8_t)(x >> (8 * k)); bytes[k + 4] = (uint8_t)(y >> (8 * k)); }
            wbf[4 * i + 0] = ref_bfe(x, pos, len, 0);
            wbf[4 * i + 1] = ref_bfe(x, pos, len, 1);
            wbf[4 * i + 2] = ref_bfi(y, x, pos, len);
            wbf[4 * i + 3] = (uint32_t)bytes[sh] | (uint32_t)bytes[sh + 1] << 8 | (uint32_t)bytes[sh + 2] << 16 |
                             (uint32_t)bytes[sh + 3] << 24;
        }
    }
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 4), dp = bft_dup(pairs, n * 8), dbf = bft_dalloc(n * 16);
    BFT_LAUNCH(fsw, bft_d1(n / 128), bft_d1(128), 0, &din, &dout, &n);
    BFT_LAUNCH(fbf, bft_d1(n / 128), bft_d1(128), 0, &dp, &dbf, &n);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_download(gbf, dbf, n * 16);
    CHECK_CU(cuModuleUnload(m));
    bft_cmp_i32("brx.idx switch", got, want, n);
    bft_cmp_u32("bfe.u32/bfe.s32/bfi.b32/prmt.f4e", gbf, wbf, n * 4);
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
