/* test_corpus_math.c: corpus cases for arithmetic: f64 and f32 math functions and intrinsics
 * (fpmath.cu), binary16/bfloat16 (half.cu), and integer bit operations and division (intops.cu).
 * Results that IEEE makes exact (division, sqrt, fma, directed-rounding intrinsics, conversions,
 * f16/bf16 arithmetic) are compared bit for bit with a C reference; transcendental functions and
 * fast approximate intrinsics with tolerances from the CUDA accuracy tables. bfloat16: bf16.cu. */
#include "bft.h"
#include "corpus_ref.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- f64 --------------------------------------------------------------------------------------- */

BFT_CASE(math_f64)
{
    unsigned n = 4096;
    double *x = bft_alloc(n * 8), *y = bft_alloc(n * 8);
    double *got = bft_alloc((size_t)n * MATH_F64_OUTS * 8), *want = bft_alloc((size_t)n * MATH_F64_OUTS * 8);
    cref_math_f64_inputs(x, y, n);
    cref_math_f64_want(x, y, want, n);
    CUdeviceptr dx = bft_dup(x, n * 8), dy = bft_dup(y, n * 8), dout = bft_dalloc((size_t)n * MATH_F64_OUTS * 8);
    BFT_LAUNCH(bft_func("fpmath", "math_f64"), bft_d1(bft_div_up(n, 64)), bft_d1(64), 0, &dx, &dy, &dout, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * MATH_F64_OUTS * 8);
    for (int k = 0; k < MATH_F64_OUTS; k++)
        bft_cmp_f64(cref_math_f64_names[k], got + (size_t)k * n, want + (size_t)k * n, n, cref_math_f64_rtol[k],
                    cref_math_f64_rtol[k] ? CREF_MATH_F64_ATOL : 0);
}

/* ---- f32 --------------------------------------------------------------------------------------- */

BFT_CASE(math_f32)
{
    unsigned n = 8192;
    float *x = bft_alloc(n * 4), *y = bft_alloc(n * 4);
    float *got = bft_alloc((size_t)n * MATH_F32_OUTS * 4), *want = bft_alloc((size_t)n * MATH_F32_OUTS * 4);
    cref_math_f32_inputs(x, y, n);
    cref_math_f32_want(x, y, want, n);
    CUdeviceptr dx = bft_dup(x, n * 4), dy = bft_dup(y, n * 4), dout = bft_dalloc((size_t)n * MATH_F32_OUTS * 4);
    BFT_LAUNCH(bft_func("fpmath", "math_f32"), bft_d1(bft_div_up(n, 128)), bft_d1(128), 0, &dx, &dy, &dout, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * MATH_F32_OUTS * 4);
    for (int k = 0; k < MATH_F32_OUTS; k++)
        bft_cmp_f32(cref_math_f32_names[k], got + (size_t)k * n, want + (size_t)k * n, n, cref_math_f32_rtol[k],
                    cref_math_f32_atol[k]);
}

BFT_CASE(convert_mix)
{
    unsigned n = 1u << 14;
    int64_t *v = bft_alloc(n * 8), *gi = bft_alloc((size_t)n * 48), *wi = bft_alloc((size_t)n * 48);
    double *gd = bft_alloc((size_t)n * 16), *wd = bft_alloc((size_t)n * 16);
    cref_convert_mix_inputs(v, n);
    cref_convert_mix_want(v, wi, wd, n);
    CUdeviceptr dv = bft_dup(v, n * 8), di = bft_dalloc((size_t)n * 48), dd = bft_dalloc((size_t)n * 16);
    BFT_LAUNCH(bft_func("fpmath", "convert_mix"), bft_d1(bft_div_up(n, 256)), bft_d1(256), 0, &dv, &di, &dd, &n);
    bft_sync();
    bft_download(gi, di, (size_t)n * 48);
    bft_download(gd, dd, (size_t)n * 16);
    bft_cmp_i64("int conversions (6 per element)", gi, wi, (size_t)n * 6);
    bft_cmp_f64("float conversions (2 per element)", gd, wd, (size_t)n * 2, 0, 0);
}

/* ---- binary16 / bfloat16 ----------------------------------------------------------------------- */

BFT_CASE(half_arith)
{
    unsigned n = 8192;
    float *x = bft_alloc(n * 4), *y = bft_alloc(n * 4), *z = bft_alloc(n * 4);
    uint16_t *got = bft_alloc((size_t)n * HALF_OUTS * 2), *want = bft_alloc((size_t)n * HALF_OUTS * 2);
    cref_half_arith_inputs(x, y, z, n);
    cref_half_arith_want(x, y, z, want, n);
    CUdeviceptr dx = bft_dup(x, n * 4), dy = bft_dup(y, n * 4), dz = bft_dup(z, n * 4);
    CUdeviceptr dout = bft_dalloc((size_t)n * HALF_OUTS * 2);
    BFT_LAUNCH(bft_func("half", "half_arith"), bft_d1(bft_div_up(n, 128)), bft_d1(128), 0, &dx, &dy, &dz, &dout, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * HALF_OUTS * 2);
    bft_cmp_u16("half results (12 per element: cvt add sub mul fma neg cmp rz rd ru i2h h2i)", got, want,
                (size_t)n * HALF_OUTS);
}

BFT_CASE(half_to_float_all_patterns)
{
    unsigned n = 65536;
    uint16_t *h = bft_alloc(n * 2);
    float *got = bft_alloc((size_t)n * 8), *want = bft_alloc((size_t)n * 8);
    for (unsigned i = 0; i < n; i++) h[i] = (uint16_t)i;
    cref_half_to_float_want(want, n);
    CUdeviceptr dh = bft_dup(h, n * 2), dout = bft_dalloc((size_t)n * 8);
    BFT_LAUNCH(bft_func("half", "half_to_float"), bft_d1(n / 256), bft_d1(256), 0, &dh, &dout, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * 8);
    bft_cmp_f32("half->float, then *3+1", got, want, (size_t)n * 2, 0, 0);
}

BFT_CASE(half2_arith)
{
    unsigned n = 8192;
    float *xy = bft_alloc(n * 8), *zw = bft_alloc(n * 8);
    uint32_t *got = bft_alloc((size_t)n * HALF2_OUTS * 4), *want = bft_alloc((size_t)n * HALF2_OUTS * 4);
    cref_half2_arith_inputs(xy, zw, n);
    cref_half2_arith_want(xy, zw, want, n);
    CUdeviceptr dxy = bft_dup(xy, n * 8), dzw = bft_dup(zw, n * 8), dout = bft_dalloc((size_t)n * HALF2_OUTS * 4);
    BFT_LAUNCH(bft_func("half", "half2_arith"), bft_d1(bft_div_up(n, 128)), bft_d1(128), 0, &dxy, &dzw, &dout, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * HALF2_OUTS * 4);
    bft_cmp_u32("half2 results (6 per element: cvt add mul fma swap halves)", got, want, (size_t)n * HALF2_OUTS);
}

BFT_CASE(bf16_convert)
{
    unsigned n = 8192;
    float *x = bft_alloc(n * 4), *y = bft_alloc(n * 4), *gf = bft_alloc(n * 8), *wf = bft_alloc(n * 8);
    uint16_t *got = bft_alloc((size_t)n * BF16_OUTS * 2), *want = bft_alloc((size_t)n * BF16_OUTS * 2);
    cref_bf16_convert_inputs(x, y, n);
    cref_bf16_convert_want(x, y, want, wf, n);
    CUdeviceptr dx = bft_dup(x, n * 4), dy = bft_dup(y, n * 4), dout = bft_dalloc((size_t)n * BF16_OUTS * 2);
    CUdeviceptr dfo = bft_dalloc(n * 8);
    BFT_LAUNCH(bft_func("bf16", "bf16_convert"), bft_d1(bft_div_up(n, 128)), bft_d1(128), 0, &dx, &dy, &dout, &dfo, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * BF16_OUTS * 2);
    bft_download(gf, dfo, n * 8);
    bft_cmp_u16("bf16 results (6 per element: rn rz add mul pair.lo pair.hi)", got, want, (size_t)n * BF16_OUTS);
    bft_cmp_f32("bf16->float", gf, wf, n * 2, 0, 0);
}

BFT_CASE(half_atomics)
{
    unsigned n = 8192;
    uint16_t hs[8], h2[8], whs[8], wh2[8];
    cref_half_atomics_want(whs, wh2);
    CUdeviceptr dh = bft_dalloc(sizeof hs), dh2 = bft_dalloc(sizeof h2);
    BFT_LAUNCH(bft_func("half_atomics", "half_atomics"), bft_d1(n / 128), bft_d1(128), 0, &dh, &dh2, &n);
    bft_sync();
    bft_download(hs, dh, sizeof hs);
    bft_download(h2, dh2, sizeof h2);
    bft_cmp_u16("atomicAdd(__half)", hs, whs, 8);
    bft_cmp_u16("atomicAdd(__half2)", h2, wh2, 8);
}

/* ---- integer bit operations -------------------------------------------------------------------- */

BFT_CASE(int_bits)
{
    unsigned n = 1u << 14;
    uint32_t *xs = bft_alloc(n * 4), *ys = bft_alloc(n * 4);
    uint64_t *zs = bft_alloc(n * 8);
    uint32_t *got = bft_alloc((size_t)n * BITS_OUTS * 4), *want = bft_alloc((size_t)n * BITS_OUTS * 4);
    cref_int_bits_inputs(xs, ys, zs, n);
    cref_int_bits_want(xs, ys, zs, want, n);
    CUdeviceptr dx = bft_dup(xs, n * 4), dy = bft_dup(ys, n * 4), dz = bft_dup(zs, n * 8);
    CUdeviceptr dout = bft_dalloc((size_t)n * BITS_OUTS * 4);
    BFT_LAUNCH(bft_func("intops", "int_bits"), bft_d1(bft_div_up(n, 128)), bft_d1(128), 0, &dx, &dy, &dz, &dout, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * BITS_OUTS * 4);
    for (int k = 0; k < BITS_OUTS; k++) {
        size_t bad = 0;
        for (unsigned i = 0; i < n; i++) {
            uint32_t g = got[(size_t)i * BITS_OUTS + k], w = want[(size_t)i * BITS_OUTS + k];
            if (g == w) continue;
            if (bad < 4)
                printf("    %s[%u]: got 0x%08x, want 0x%08x (x=0x%08x y=0x%08x z=0x%016llx)\n", cref_int_bits_names[k], i, g, w,
                       xs[i], ys[i], (unsigned long long)zs[i]);
            bad++;
        }
        if (bad) bft_failf(__FILE__, __LINE__, "%s: %zu of %u differ", cref_int_bits_names[k], bad, n);
    }
}

BFT_CASE(int_divmod)
{
    unsigned n = 1u << 14;
    int32_t *a = bft_alloc(n * 4), *b = bft_alloc(n * 4);
    int64_t *A = bft_alloc(n * 8), *B = bft_alloc(n * 8);
    int32_t *g32 = bft_alloc((size_t)n * DIV_OUTS * 4), *w32 = bft_alloc((size_t)n * DIV_OUTS * 4);
    int64_t *g64 = bft_alloc((size_t)n * DIV_OUTS * 8), *w64 = bft_alloc((size_t)n * DIV_OUTS * 8);
    cref_int_divmod_inputs(a, b, A, B, n);
    cref_int_divmod_want(a, b, A, B, w32, w64, n);
    CUdeviceptr da = bft_dup(a, n * 4), db = bft_dup(b, n * 4), dA = bft_dup(A, n * 8), dB = bft_dup(B, n * 8);
    CUdeviceptr d32 = bft_dalloc((size_t)n * DIV_OUTS * 4), d64 = bft_dalloc((size_t)n * DIV_OUTS * 8);
    BFT_LAUNCH(bft_func("intops", "int_divmod"), bft_d1(bft_div_up(n, 128)), bft_d1(128), 0, &da, &db, &dA, &dB, &d32, &d64, &n);
    bft_sync();
    bft_download(g32, d32, (size_t)n * DIV_OUTS * 4);
    bft_download(g64, d64, (size_t)n * DIV_OUTS * 8);
    bft_cmp_i32("div/mod 32-bit (8 per element: s/ s% u/ u% /7 %1000 u/10 u%3+/-16)", g32, w32, (size_t)n * DIV_OUTS);
    bft_cmp_i64("div/mod 64-bit (8 per element)", g64, w64, (size_t)n * DIV_OUTS);
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
