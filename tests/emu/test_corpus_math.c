/* test_corpus_math.c: corpus cases for arithmetic: f64 and f32 math functions and intrinsics
 * (fpmath.cu), binary16/bfloat16 (half.cu), and integer bit operations and division (intops.cu).
 * Results that IEEE makes exact (division, sqrt, fma, directed-rounding intrinsics, conversions,
 * f16/bf16 arithmetic) are compared bit for bit with a C reference; transcendental functions and
 * fast approximate intrinsics with tolerances from the CUDA accuracy tables. bfloat16: bf16.cu. */
#include "bft.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATH_F64_OUTS 16
#define MATH_F32_OUTS 20
#define HALF_OUTS 12
#define HALF2_OUTS 6
#define BF16_OUTS 6
#define BITS_OUTS 24
#define DIV_OUTS 8

/* ---- f64 --------------------------------------------------------------------------------------- */

BFT_CASE(math_f64)
{
    unsigned n = 4096;
    double *x = bft_alloc(n * 8), *y = bft_alloc(n * 8);
    double *got = bft_alloc((size_t)n * MATH_F64_OUTS * 8), *want = bft_alloc((size_t)n * MATH_F64_OUTS * 8);
    static const char *names[MATH_F64_OUTS] = { "sqrt", "exp", "log", "sin", "cos", "pow", "fma", "div",
                                                "floor/ceil", "trunc/round", "fmod", "fmin/fmax/fabs",
                                                "tanh+atan2", "f64->int", "f64->f32", "rsqrt+cbrt" };
    /* 0: exact, else relative tolerance (with a tiny absolute floor for results near zero) */
    static const double rtol[MATH_F64_OUTS] = { 0, 1e-14, 1e-14, 1e-14, 1e-14, 1e-14, 0, 0,
                                                0, 0, 0, 1e-14, 1e-14, 0, 0, 1e-14 };
    bft_fill_f64(x, n, 0.1, 10.0, 201);
    bft_fill_f64(y, n, -3.0, 3.0, 202);
    y[0] = 2.0; x[1] = 1.0; y[2] = -0.5; x[3] = 4.0;
    for (unsigned i = 0; i < n; i++) {
        double a = x[i], b = y[i];
        double *w = want;
        w[0 * n + i] = sqrt(a);
        w[1 * n + i] = exp(b);
        w[2 * n + i] = log(a);
        w[3 * n + i] = sin(a * b);
        w[4 * n + i] = cos(a * b);
        w[5 * n + i] = pow(a, b);
        w[6 * n + i] = fma(a, b, 0.375);
        w[7 * n + i] = a / b;
        w[8 * n + i] = floor(b * 3.7) + ceil(a * 1.3) * 1000.0;
        w[9 * n + i] = trunc(b * 5.5) + round(b * 2.5) * 100.0;
        w[10 * n + i] = fmod(a, b);
        w[11 * n + i] = fmin(a, b) * 3.0 + fmax(a, b) + fabs(b);
        w[12 * n + i] = tanh(b) + atan2(b, a);
        w[13 * n + i] = (double)(long long)(b * 1.0e9) + (double)(unsigned)(a * 1.0e8);
        w[14 * n + i] = (double)(float)(a * b);
        w[15 * n + i] = 1.0 / sqrt(a) + cbrt(b);
    }
    CUdeviceptr dx = bft_dup(x, n * 8), dy = bft_dup(y, n * 8), dout = bft_dalloc((size_t)n * MATH_F64_OUTS * 8);
    BFT_LAUNCH(bft_func("fpmath", "math_f64"), bft_d1(bft_div_up(n, 64)), bft_d1(64), 0, &dx, &dy, &dout, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * MATH_F64_OUTS * 8);
    for (int k = 0; k < MATH_F64_OUTS; k++)
        bft_cmp_f64(names[k], got + (size_t)k * n, want + (size_t)k * n, n, rtol[k], rtol[k] ? 1e-15 : 0);
}

/* ---- f32 --------------------------------------------------------------------------------------- */

BFT_CASE(math_f32)
{
    unsigned n = 8192;
    float *x = bft_alloc(n * 4), *y = bft_alloc(n * 4);
    float *got = bft_alloc((size_t)n * MATH_F32_OUTS * 4), *want = bft_alloc((size_t)n * MATH_F32_OUTS * 4);
    static const char *names[MATH_F32_OUTS] = { "div", "sqrtf", "rsqrtf", "__expf", "__sinf", "__cosf",
                                                "__fdividef", "expf", "logf", "sinf", "powf", "__frcp_rn",
                                                "__fmul_rz", "__fadd_rd", "__fmaf_rn", "__saturatef",
                                                "float2int", "__logf", "fmin/fmax/copysign/floor",
                                                "__fsqrt_rd+__fdiv_ru" };
    static const double rtol[MATH_F32_OUTS] = { 0, 0, 1e-6, 2e-6, 0, 0, 1e-6, 1e-6, 1e-6, 1e-6, 5e-6, 0,
                                                0, 0, 0, 0, 0, 2e-6, 1e-6, 0 };
    static const double atol[MATH_F32_OUTS] = { 0, 0, 0, 0, 2e-6, 2e-6, 0, 0, 1e-7, 1e-6, 0, 0,
                                                0, 0, 0, 0, 0, 2e-6, 1e-6, 0 };
    bft_fill_f32(x, n, 0.1, 10.0, 211);
    bft_fill_f32(y, n, -3.0, 3.0, 212);
    y[0] = 1.0f; y[1] = 0.5f; y[2] = -0.25f; x[3] = 1.0f; y[4] = 2.0f; y[5] = -1.0f;
    for (unsigned i = 0; i < n; i++) {
        float a = x[i], b = y[i];
        float *w = want;
        w[0 * n + i] = a / b;
        w[1 * n + i] = sqrtf(a);
        w[2 * n + i] = (float)(1.0 / sqrt((double)a));
        w[3 * n + i] = (float)exp((double)b);
        w[4 * n + i] = (float)sin((double)b);
        w[5 * n + i] = (float)cos((double)b);
        w[6 * n + i] = (float)((double)a / (double)b);
        w[7 * n + i] = (float)exp((double)b);
        w[8 * n + i] = (float)log((double)a);
        w[9 * n + i] = (float)sin((double)(a * b));
        w[10 * n + i] = (float)pow((double)a, (double)b);
        w[11 * n + i] = 1.0f / a;
        w[12 * n + i] = bft_f64_to_f32((double)a * (double)b, BFT_RZ);
        w[13 * n + i] = bft_f64_to_f32((double)a + (double)b, BFT_RD);
        w[14 * n + i] = fmaf(a, b, 0.25f);
        w[15 * n + i] = b < 0.0f ? 0.0f : (b > 1.0f ? 1.0f : b);
        w[16 * n + i] = (float)lrintf(b * 1000.5f) + (float)(int)(b * 77.7f) * 0.5f;
        w[17 * n + i] = (float)log((double)a);
        w[18 * n + i] = fminf(a, b) + fmaxf(a, b) * 2.0f + copysignf(a, b) + floorf(b * 7.3f);
        w[19 * n + i] = bft_f64_to_f32(sqrt((double)a), BFT_RD) + bft_f64_to_f32((double)a / 3.0, BFT_RU);
    }
    CUdeviceptr dx = bft_dup(x, n * 4), dy = bft_dup(y, n * 4), dout = bft_dalloc((size_t)n * MATH_F32_OUTS * 4);
    BFT_LAUNCH(bft_func("fpmath", "math_f32"), bft_d1(bft_div_up(n, 128)), bft_d1(128), 0, &dx, &dy, &dout, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * MATH_F32_OUTS * 4);
    for (int k = 0; k < MATH_F32_OUTS; k++)
        bft_cmp_f32(names[k], got + (size_t)k * n, want + (size_t)k * n, n, rtol[k], atol[k]);
}

BFT_CASE(convert_mix)
{
    unsigned n = 1u << 14;
    int64_t *v = bft_alloc(n * 8), *gi = bft_alloc((size_t)n * 48), *wi = bft_alloc((size_t)n * 48);
    double *gd = bft_alloc((size_t)n * 16), *wd = bft_alloc((size_t)n * 16);
    bft_rng r = bft_rng_seed(221);
    for (unsigned i = 0; i < n; i++) {
        int64_t s = (int64_t)bft_rand64(&r) >> (2 + (i % 40));   /* |s| < 2^61, many magnitudes */
        v[i] = s;
    }
    v[0] = 0; v[1] = -1; v[2] = 1; v[3] = 32767; v[4] = -32768; v[5] = 255; v[6] = 4611686018427387903ll;
    for (unsigned i = 0; i < n; i++) {
        int64_t s = v[i];
        uint64_t u = (uint64_t)s;
        wi[6 * i + 0] = (int64_t)(float)s;
        wi[6 * i + 1] = (int64_t)(double)(u >> 2);
        wi[6 * i + 2] = (int)(short)s + (unsigned char)s;
        wi[6 * i + 3] = (int64_t)(uint32_t)(s >> 7);
        wi[6 * i + 4] = llrint((double)s * 0.001);
        wi[6 * i + 5] = (int64_t)(uint32_t)floorf(fabsf((float)(s & 0xffffff) * 0.37f));
        wd[2 * i + 0] = (double)s * 0.5;
        wd[2 * i + 1] = (double)(float)(int32_t)s;
    }
    CUdeviceptr dv = bft_dup(v, n * 8), di = bft_dalloc((size_t)n * 48), dd = bft_dalloc((size_t)n * 16);
    BFT_LAUNCH(bft_func("fpmath", "convert_mix"), bft_d1(bft_div_up(n, 256)), bft_d1(256), 0, &dv, &di, &dd, &n);
    bft_sync();
    bft_download(gi, di, (size_t)n * 48);
    bft_download(gd, dd, (size_t)n * 16);
    bft_cmp_i64("int conversions (6 per element)", gi, wi, (size_t)n * 6);
    bft_cmp_f64("float conversions (2 per element)", gd, wd, (size_t)n * 2, 0, 0);
}

/* ---- binary16 / bfloat16 ----------------------------------------------------------------------- */

static void fill_half_inputs(float *p, unsigned n, uint64_t seed)
{
    bft_fill_f32(p, n, -4.0, 4.0, seed);
    /* ties and subnormals for the conversions */
    p[0] = 1.0f + 0x1p-11f;       /* tie between 1 and 1+2^-10: even -> 1 */
    p[1] = 1.0f + 3 * 0x1p-11f;   /* tie: even -> 1+2^-9 */
    p[2] = -3.0e-6f;              /* f16 subnormal */
    p[3] = 5.0e-8f;               /* rounds to the smallest subnormal */
    p[4] = 0.0f;
    p[5] = -0.0f;
    p[6] = 2.0e-8f;               /* below half the smallest subnormal */
    p[7] = 3.99951171875f;
}

BFT_CASE(half_arith)
{
    unsigned n = 8192;
    float *x = bft_alloc(n * 4), *y = bft_alloc(n * 4), *z = bft_alloc(n * 4);
    uint16_t *got = bft_alloc((size_t)n * HALF_OUTS * 2), *want = bft_alloc((size_t)n * HALF_OUTS * 2);
    fill_half_inputs(x, n, 231);
    fill_half_inputs(y, n, 232);
    bft_fill_f32(z, n, -4.0, 4.0, 233);
    y[0] = 300.3f;
    y[9] = 1.0f + 0x1p-11f;
    for (unsigned i = 0; i < n; i++) {
        uint16_t ha = bft_f64_to_f16(x[i], BFT_RN), hb = bft_f64_to_f16(y[i], BFT_RN), hc = bft_f64_to_f16(z[i], BFT_RN);
        double A = bft_f16_to_f64(ha), B = bft_f16_to_f64(hb), C = bft_f16_to_f64(hc);
        uint16_t *o = want + (size_t)i * HALF_OUTS;
        o[0] = ha;
        o[1] = bft_f64_to_f16(A + B, BFT_RN);
        o[2] = bft_f64_to_f16(A - B, BFT_RN);
        o[3] = bft_f64_to_f16(A * B, BFT_RN);
        o[4] = bft_f64_to_f16(fma(A, B, C), BFT_RN);
        o[5] = ha ^ 0x8000;
        o[6] = (uint16_t)((A < B) | ((A >= B) << 1) | ((A == C) << 2) | ((B > C) << 3));
        o[7] = bft_f64_to_f16(x[i], BFT_RZ);
        o[8] = bft_f64_to_f16(y[i], BFT_RD);
        o[9] = bft_f64_to_f16(y[i], BFT_RU);
        o[10] = bft_f64_to_f16((double)(int)(x[i] * 1000.0f), BFT_RN);
        o[11] = (uint16_t)(int)trunc(bft_f16_to_f64(bft_f64_to_f16(B * 100.0, BFT_RN)));
    }
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
    for (unsigned i = 0; i < n; i++) {
        h[i] = (uint16_t)i;
        want[2 * i] = (float)bft_f16_to_f64((uint16_t)i);
        want[2 * i + 1] = fmaf(want[2 * i], 3.0f, 1.0f);
    }
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
    fill_half_inputs(xy, 2 * n, 241);
    bft_fill_f32(zw, 2 * n, -4.0, 4.0, 242);
    for (unsigned i = 0; i < n; i++) {
        uint16_t al = bft_f64_to_f16(xy[2 * i], BFT_RN), ah = bft_f64_to_f16(xy[2 * i + 1], BFT_RN);
        uint16_t bl = bft_f64_to_f16(zw[2 * i], BFT_RN), bh = bft_f64_to_f16(zw[2 * i + 1], BFT_RN);
        double Al = bft_f16_to_f64(al), Ah = bft_f16_to_f64(ah), Bl = bft_f16_to_f64(bl), Bh = bft_f16_to_f64(bh);
        uint32_t *o = want + (size_t)i * HALF2_OUTS;
#define PACK(lo, hi) (((uint32_t)(hi) << 16) | (lo))
        o[0] = PACK(al, ah);
        o[1] = PACK(bft_f64_to_f16(Al + Bl, BFT_RN), bft_f64_to_f16(Ah + Bh, BFT_RN));
        o[2] = PACK(bft_f64_to_f16(Al * Bl, BFT_RN), bft_f64_to_f16(Ah * Bh, BFT_RN));
        o[3] = PACK(bft_f64_to_f16(fma(Al, Bl, Al), BFT_RN), bft_f64_to_f16(fma(Ah, Bh, Ah), BFT_RN));
        o[4] = PACK(ah, al);
        o[5] = PACK(al, bh);
#undef PACK
    }
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
    bft_fill_f32(x, n, -1000.0, 1000.0, 251);
    bft_fill_f32(y, n, -2.0, 2.0, 252);
    x[0] = 1.0f + 0x1p-8f;          /* tie: even -> 1.0 */
    x[1] = 1.0f + 3 * 0x1p-8f;      /* tie: even -> 1 + 2^-6 */
    x[2] = 1.0e-40f;                /* float subnormal */
    y[3] = -0.0f;
    x[4] = 3.0e38f;
    y[4] = 0.5f;
    for (unsigned i = 0; i < n; i++) {
        uint16_t a = bft_f32_to_bf16(x[i], BFT_RN), b = bft_f32_to_bf16(y[i], BFT_RZ);
        float A = bft_bf16_to_f32(a), B = bft_bf16_to_f32(b);
        uint16_t *o = want + (size_t)i * BF16_OUTS;
        o[0] = a;
        o[1] = b;
        o[2] = bft_f32_to_bf16(A + B, BFT_RN);
        o[3] = bft_f32_to_bf16(A * B, BFT_RN);
        o[4] = a;
        o[5] = bft_f32_to_bf16(y[i], BFT_RN);
        wf[2 * i] = A;
        wf[2 * i + 1] = B + A;
    }
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
    for (int k = 0; k < 8; k++) whs[k] = bft_f64_to_f16(1024.0, BFT_RN);
    for (int k = 0; k < 4; k++) {
        wh2[2 * k] = bft_f64_to_f16(2048.0, BFT_RN);
        wh2[2 * k + 1] = bft_f64_to_f16(4096.0, BFT_RN);
    }
    CUdeviceptr dh = bft_dalloc(sizeof hs), dh2 = bft_dalloc(sizeof h2);
    BFT_LAUNCH(bft_func("half_atomics", "half_atomics"), bft_d1(n / 128), bft_d1(128), 0, &dh, &dh2, &n);
    bft_sync();
    bft_download(hs, dh, sizeof hs);
    bft_download(h2, dh2, sizeof h2);
    bft_cmp_u16("atomicAdd(__half)", hs, whs, 8);
    bft_cmp_u16("atomicAdd(__half2)", h2, wh2, 8);
}

/* ---- integer bit operations -------------------------------------------------------------------- */

static uint32_t ref_prmt(uint32_t a, uint32_t b, uint32_t s)
{
    uint8_t bytes[8];
    uint32_t r = 0;
    for (int k = 0; k < 4; k++) { bytes[k] = (uint8_t)(a >> (8 * k)); bytes[k + 4] = (uint8_t)(b >> (8 * k)); }
    for (int k = 0; k < 4; k++) {
        uint32_t sel = (s >> (4 * k)) & 15;
        uint8_t v = bytes[sel & 7];
        if (sel & 8) v = (v & 0x80) ? 0xff : 0;   /* PTX prmt: msb of a selector replicates the sign */
        r |= (uint32_t)v << (8 * k);
    }
    return r;
}

static uint32_t brev32(uint32_t x)
{
    uint32_t r = 0;
    for (int k = 0; k < 32; k++) r |= ((x >> k) & 1u) << (31 - k);
    return r;
}

static uint32_t fshl(uint32_t lo, uint32_t hi, uint32_t sh) { return (uint32_t)(((((uint64_t)hi << 32) | lo) << sh) >> 32); }

BFT_CASE(int_bits)
{
    unsigned n = 1u << 14;
    uint32_t *xs = bft_alloc(n * 4), *ys = bft_alloc(n * 4);
    uint64_t *zs = bft_alloc(n * 8);
    uint32_t *got = bft_alloc((size_t)n * BITS_OUTS * 4), *want = bft_alloc((size_t)n * BITS_OUTS * 4);
    bft_rng r = bft_rng_seed(261);
    for (unsigned i = 0; i < n; i++) {
        xs[i] = bft_rand32(&r) >> (i % 7 == 0 ? bft_rand32(&r) % 32 : 0);
        ys[i] = bft_rand32(&r);
        zs[i] = bft_rand64(&r) >> (i % 5 == 0 ? bft_rand32(&r) % 64 : 0);
    }
    xs[0] = 0; zs[0] = 0; xs[1] = 0xffffffffu; zs[1] = ~0ull; ys[2] = 0; xs[3] = 0x80000000u; zs[3] = 1ull << 63;
    for (unsigned i = 0; i < n; i++) {
        uint32_t x = xs[i], y = ys[i], s = y & 31, len = (y >> 5) & 15;
        uint64_t z = zs[i];
        uint32_t *o = want + (size_t)i * BITS_OUTS;
        uint64_t bz = 0;
        for (int k = 0; k < 64; k++) bz |= ((z >> k) & 1ull) << (63 - k);
        o[0] = (uint32_t)__builtin_popcount(x);
        o[1] = x ? (uint32_t)__builtin_clz(x) : 32;
        o[2] = brev32(x);
        o[3] = x ? (uint32_t)__builtin_ctz(x) + 1 : 0;
        o[4] = (uint32_t)__builtin_popcountll(z);
        o[5] = z ? (uint32_t)__builtin_clzll(z) : 64;
        o[6] = (uint32_t)bz ^ (uint32_t)(bz >> 32);
        o[7] = z ? (uint32_t)__builtin_ctzll(z) + 1 : 0;
        o[8] = ref_prmt(x, y, y & 0x7777);
        o[9] = ref_prmt(x, y, (y >> 16) & 0x7777);   /* __byte_perm uses 3 selector bits: nvcc masks */
        o[10] = fshl(x, y, (s + len) & 31);
        o[11] = (uint32_t)((((uint64_t)y << 32) | x) >> ((s + len) & 31));
        o[12] = fshl(x, y, s + 2 * len > 32 ? 32 : s + 2 * len);
        o[13] = (x >> s) & ((1u << len) - 1u);
        o[14] = (uint32_t)(((int32_t)(x << (31 - s))) >> (31 - (s > len ? len : s)));
        {
            uint32_t mask = ((1u << len) - 1u) << s;
            o[15] = (x & ~mask) | ((y << s) & mask);
        }
        o[16] = (x << s) | (x >> ((32 - s) & 31));
        o[17] = (uint32_t)(((int64_t)(int32_t)x * (int64_t)(int32_t)y) >> 32);
        o[18] = (uint32_t)(((uint64_t)x * y) >> 32);
        {
            uint64_t h = (uint64_t)(((unsigned __int128)z * ((uint64_t)x * y + 1ull)) >> 64);
            o[19] = (uint32_t)h ^ (uint32_t)(h >> 32);
        }
        o[20] = (uint32_t)((int64_t)((int32_t)(x << 8) >> 8) * (int64_t)((int32_t)(y << 8) >> 8));
        {
            uint32_t a16 = x & 0xffff, b16 = y & 0xffff;
            o[21] = (a16 > b16 ? a16 - b16 : b16 - a16) + s;
        }
        {
            int64_t d = (int64_t)((int32_t)x >> 8) - (int64_t)((int32_t)y >> 8);
            o[22] = (uint32_t)(d < 0 ? -d : d) + len;
        }
        {
            __int128 p = (__int128)(int64_t)z * (__int128)(-(int64_t)(x | 1));
            int64_t hi = (int64_t)(p >> 64);
            o[23] = (uint32_t)(hi >> 3) + (uint32_t)__builtin_popcount(~x & y);
        }
    }
    CUdeviceptr dx = bft_dup(xs, n * 4), dy = bft_dup(ys, n * 4), dz = bft_dup(zs, n * 8);
    CUdeviceptr dout = bft_dalloc((size_t)n * BITS_OUTS * 4);
    BFT_LAUNCH(bft_func("intops", "int_bits"), bft_d1(bft_div_up(n, 128)), bft_d1(128), 0, &dx, &dy, &dz, &dout, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * BITS_OUTS * 4);
    for (int k = 0; k < BITS_OUTS; k++) {
        static const char *names[BITS_OUTS] = { "popc", "clz", "brev", "ffs", "popcll", "clzll", "brevll", "ffsll",
                                                "byte_perm", "byte_perm(hi)", "funnelshift_l", "funnelshift_r",
                                                "funnelshift_lc", "bfe", "bfe.s", "bfi", "rotl", "mulhi", "umulhi",
                                                "umul64hi", "mul24", "usad", "sad", "mul64hi+popc" };
        size_t bad = 0;
        for (unsigned i = 0; i < n; i++) {
            uint32_t g = got[(size_t)i * BITS_OUTS + k], w = want[(size_t)i * BITS_OUTS + k];
            if (g == w) continue;
            if (bad < 4)
                printf("    %s[%u]: got 0x%08x, want 0x%08x (x=0x%08x y=0x%08x z=0x%016llx)\n", names[k], i, g, w,
                       xs[i], ys[i], (unsigned long long)zs[i]);
            bad++;
        }
        if (bad) bft_failf(__FILE__, __LINE__, "%s: %zu of %u differ", names[k], bad, n);
    }
}

BFT_CASE(int_divmod)
{
    unsigned n = 1u << 14;
    int32_t *a = bft_alloc(n * 4), *b = bft_alloc(n * 4);
    int64_t *A = bft_alloc(n * 8), *B = bft_alloc(n * 8);
    int32_t *g32 = bft_alloc((size_t)n * DIV_OUTS * 4), *w32 = bft_alloc((size_t)n * DIV_OUTS * 4);
    int64_t *g64 = bft_alloc((size_t)n * DIV_OUTS * 8), *w64 = bft_alloc((size_t)n * DIV_OUTS * 8);
    bft_rng r = bft_rng_seed(271);
    for (unsigned i = 0; i < n; i++) {
        a[i] = (int32_t)bft_rand32(&r);
        A[i] = (int64_t)bft_rand64(&r) >> (bft_rand32(&r) % 40);
        switch (i % 3) {
        case 0: b[i] = bft_randi(&r, -20, 20); B[i] = bft_randi(&r, -20, 20); break;
        case 1: b[i] = (int32_t)bft_rand32(&r) >> (bft_rand32(&r) % 31); B[i] = (int64_t)bft_rand64(&r) >> (bft_rand32(&r) % 63); break;
        default: b[i] = (int32_t)bft_rand32(&r); B[i] = (int64_t)bft_rand64(&r); break;
        }
        if (b[i] == 0) b[i] = 3;
        if (B[i] == 0) B[i] = -7;
        if (a[i] == INT32_MIN && b[i] == -1) b[i] = 1;
        if (A[i] == INT64_MIN && B[i] == -1) B[i] = 1;
    }
    a[0] = INT32_MIN; b[0] = 2; A[0] = INT64_MIN; B[0] = 3; a[1] = -7; b[1] = 7; A[1] = -1; B[1] = INT64_MAX;
    for (unsigned i = 0; i < n; i++) {
        int32_t x = a[i], y = b[i];
        uint32_t ux = (uint32_t)x, uy = (uint32_t)y;
        int64_t X = A[i], Y = B[i];
        uint64_t UX = (uint64_t)X, UY = (uint64_t)Y;
        int32_t *p = w32 + (size_t)i * DIV_OUTS;
        int64_t *q = w64 + (size_t)i * DIV_OUTS;
        p[0] = x / y; p[1] = x % y; p[2] = (int32_t)(ux / uy); p[3] = (int32_t)(ux % uy);
        p[4] = x / 7; p[5] = x % 1000; p[6] = (int32_t)(ux / 10u); p[7] = (int32_t)(ux % 3u) + x / -16;
        q[0] = X / Y; q[1] = X % Y; q[2] = (int64_t)(UX / UY); q[3] = (int64_t)(UX % UY);
        q[4] = X / 10; q[5] = X % 1000000007ll; q[6] = (int64_t)(UX / 3ull);
        q[7] = (int64_t)(UX % 65536ull) + (X >> 13) + (int64_t)(UX >> 61);
    }
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
