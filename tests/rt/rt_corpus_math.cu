// rt_corpus_math.cu: the arithmetic part of the kernel corpus (fpmath.cu, half.cu,
// half_atomics.cu, bf16.cu, intops.cu: 10 kernels) as a CUDA runtime program (rt_corpus.h says
// how), with the inputs, references and tolerances of tests/emu/test_corpus_math.c: bit-exact where
// IEEE makes the result exact, the CUDA accuracy tables' tolerances elsewhere.
#include "rt_corpus.h"
#include "../kernels/fpmath.cu"
#include "../kernels/half.cu"
#include "../kernels/half_atomics.cu"
#include "../kernels/bf16.cu"
#include "../kernels/intops.cu"

/* ---- reference roundings (tests/common/bft_num.c) ---------------------------------------------- */

enum { RN, RZ, RD, RU };

static uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

static uint64_t round_mag(double scaled, int neg, int mode)
{
    double fl = floor(scaled), frac = scaled - fl;
    uint64_t m = (uint64_t)fl;
    int up = 0;
    switch (mode) {
    case RN: up = frac > 0.5 || (frac == 0.5 && (m & 1)); break;
    case RZ: up = 0; break;
    case RD: up = neg && frac > 0; break;
    case RU: up = !neg && frac > 0; break;
    }
    return m + (uint64_t)up;
}

static uint16_t ref_f64_to_f16(double x, int mode)
{
    uint16_t sign = std::signbit(x) ? 0x8000 : 0;
    int neg = sign != 0, e, q;
    double a = fabs(x), v;
    uint64_t m;
    if (std::isnan(x)) return 0x7e00;
    if (std::isinf(x)) return sign | 0x7c00;
    if (a == 0) return sign;
    frexp(a, &e);
    q = e - 11;
    if (q < -24) q = -24;
    m = round_mag(ldexp(a, -q), neg, mode);
    v = ldexp((double)m, q);
    if (v > 65504.0) {
        int to_inf = mode == RN || (mode == RU && !neg) || (mode == RD && neg);
        return sign | (to_inf ? 0x7c00 : 0x7bff);
    }
    if (v < ldexp(1.0, -14)) return sign | (uint16_t)(v / ldexp(1.0, -24));
    frexp(v, &e);
    int E = e - 1 + 15;
    uint32_t mant = (uint32_t)(ldexp(v, -(e - 1)) * 1024.0) - 1024u;
    return sign | (uint16_t)((unsigned)E << 10) | (uint16_t)mant;
}

static double ref_f16_to_f64(uint16_t h)
{
    int sg = h >> 15, E = (h >> 10) & 31, M = h & 1023;
    double v;
    if (E == 31) v = M ? NAN : INFINITY;
    else if (E == 0) v = ldexp((double)M, -24);
    else v = ldexp((double)(1024 + M), E - 25);
    return sg ? -v : v;
}

static uint16_t ref_f32_to_bf16(float x, int mode)
{
    uint32_t u = f32_bits(x);
    if (std::isnan(x)) return (uint16_t)((u >> 16) | 0x40);
    if (mode == RN) u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static float ref_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

static float ref_f64_to_f32(double x, int mode)
{
    float f = (float)x;
    if (std::isnan(x) || (double)f == x) return f;
    switch (mode) {
    case RZ: if (fabs((double)f) > fabs(x)) f = nextafterf(f, 0.0f); break;
    case RD: if ((double)f > x) f = nextafterf(f, -INFINITY); break;
    case RU: if ((double)f < x) f = nextafterf(f, INFINITY); break;
    default: break;
    }
    return f;
}

/* ---- f64 / f32 ------------------------------------------------------------------------------------- */

static void case_math_f64(cudaStream_t s)
{
    unsigned n = 4096;
    double *x = rc_host<double>(n), *y = rc_host<double>(n);
    rc_fill_f64(x, n, 0.1, 10.0, 201);
    rc_fill_f64(y, n, -3.0, 3.0, 202);
    y[0] = 2.0; x[1] = 1.0; y[2] = -0.5; x[3] = 4.0;
    double *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s), *dout = rc_dalloc<double>((size_t)n * MATH_F64_OUTS, s);
    RC_LAUNCH(math_f64, rc_div_up(n, 64), 64, 0, s, dx, dy, dout, n);
    double *got = rc_get(dout, (size_t)n * MATH_F64_OUTS, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dout, s);
    rc_verify(s, "math_f64", [=] {
        static const char *names[MATH_F64_OUTS] = { "sqrt", "exp", "log", "sin", "cos", "pow", "fma", "div",
                                                    "floor/ceil", "trunc/round", "fmod", "fmin/fmax/fabs",
                                                    "tanh+atan2", "f64->int", "f64->f32", "rsqrt+cbrt" };
        // 0: exact, else relative tolerance (with a tiny absolute floor for results near zero)
        static const double rtol[MATH_F64_OUTS] = { 0, 1e-14, 1e-14, 1e-14, 1e-14, 1e-14, 0, 0,
                                                    0, 0, 0, 1e-14, 1e-14, 0, 0, 1e-14 };
        std::vector<double> w((size_t)n * MATH_F64_OUTS);
        for (unsigned i = 0; i < n; i++) {
            double a = x[i], b = y[i];
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
        size_t bad = 0;
        for (int k = 0; k < MATH_F64_OUTS; k++)
            bad += rc_cmp_f64(names[k], got + (size_t)k * n, &w[(size_t)k * n], n, rtol[k], rtol[k] ? 1e-15 : 0);
        return bad;
    });
}

static void case_math_f32(cudaStream_t s)
{
    unsigned n = 8192, grid, block;
    float *x = rc_host<float>(n), *y = rc_host<float>(n);
    rc_fill_f32(x, n, 0.1, 10.0, 211);
    rc_fill_f32(y, n, -3.0, 3.0, 212);
    y[0] = 1.0f; y[1] = 0.5f; y[2] = -0.25f; x[3] = 1.0f; y[4] = 2.0f; y[5] = -1.0f;
    float *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s), *dout = rc_dalloc<float>((size_t)n * MATH_F32_OUTS, s);
    rc_occupancy(math_f32, 0, 512, n, &grid, &block);   // bounds-checked: any block size
    grid = rc_div_up(n, block);
    RC_LAUNCH(math_f32, grid, block, 0, s, dx, dy, dout, n);
    float *got = rc_get(dout, (size_t)n * MATH_F32_OUTS, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dout, s);
    rc_verify(s, "math_f32", [=] {
        static const char *names[MATH_F32_OUTS] = { "div", "sqrtf", "rsqrtf", "__expf", "__sinf", "__cosf",
                                                    "__fdividef", "expf", "logf", "sinf", "powf", "__frcp_rn",
                                                    "__fmul_rz", "__fadd_rd", "__fmaf_rn", "__saturatef",
                                                    "float2int", "__logf", "fmin/fmax/copysign/floor",
                                                    "__fsqrt_rd+__fdiv_ru" };
        static const double rtol[MATH_F32_OUTS] = { 0, 0, 1e-6, 2e-6, 0, 0, 1e-6, 1e-6, 1e-6, 1e-6, 5e-6, 0,
                                                    0, 0, 0, 0, 0, 2e-6, 1e-6, 0 };
        static const double atol[MATH_F32_OUTS] = { 0, 0, 0, 0, 2e-6, 2e-6, 0, 0, 1e-7, 1e-6, 0, 0,
                                                    0, 0, 0, 0, 0, 2e-6, 1e-6, 0 };
        std::vector<float> w((size_t)n * MATH_F32_OUTS);
        for (unsigned i = 0; i < n; i++) {
            float a = x[i], b = y[i];
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
            w[12 * n + i] = ref_f64_to_f32((double)a * (double)b, RZ);
            w[13 * n + i] = ref_f64_to_f32((double)a + (double)b, RD);
            w[14 * n + i] = fmaf(a, b, 0.25f);
            w[15 * n + i] = b < 0.0f ? 0.0f : (b > 1.0f ? 1.0f : b);
            w[16 * n + i] = (float)lrintf(b * 1000.5f) + (float)(int)(b * 77.7f) * 0.5f;
            w[17 * n + i] = (float)log((double)a);
            w[18 * n + i] = fminf(a, b) + fmaxf(a, b) * 2.0f + copysignf(a, b) + floorf(b * 7.3f);
            w[19 * n + i] = ref_f64_to_f32(sqrt((double)a), RD) + ref_f64_to_f32((double)a / 3.0, RU);
        }
        size_t bad = 0;
        for (int k = 0; k < MATH_F32_OUTS; k++)
            bad += rc_cmp_f32(names[k], got + (size_t)k * n, &w[(size_t)k * n], n, rtol[k], atol[k]);
        return bad;
    });
}

static void case_convert_mix(cudaStream_t s)
{
    unsigned n = 1u << 14;
    long long *v = rc_host<long long>(n);
    rc_rng r(221);
    for (unsigned i = 0; i < n; i++) v[i] = (int64_t)r.next64() >> (2 + (i % 40));   // |s| < 2^61, many magnitudes
    v[0] = 0; v[1] = -1; v[2] = 1; v[3] = 32767; v[4] = -32768; v[5] = 255; v[6] = 4611686018427387903ll;
    long long *dv = rc_dup(v, n, s), *di = rc_dalloc<long long>((size_t)n * 6, s);
    double *dd = rc_dalloc<double>((size_t)n * 2, s);
    RC_LAUNCH(convert_mix, rc_div_up(n, 256), 256, 0, s, dv, di, dd, n);
    long long *gi = rc_get(di, (size_t)n * 6, s);
    double *gd = rc_get(dd, (size_t)n * 2, s);
    rc_free(dv, s); rc_free(di, s); rc_free(dd, s);
    rc_verify(s, "convert_mix", [=] {
        std::vector<long long> wi((size_t)n * 6);
        std::vector<double> wd((size_t)n * 2);
        for (unsigned i = 0; i < n; i++) {
            int64_t sv = v[i];
            uint64_t u = (uint64_t)sv;
            wi[6 * i + 0] = (int64_t)(float)sv;
            wi[6 * i + 1] = (int64_t)(double)(u >> 2);
            wi[6 * i + 2] = (int)(short)sv + (unsigned char)sv;
            wi[6 * i + 3] = (int64_t)(uint32_t)(sv >> 7);
            wi[6 * i + 4] = llrint((double)sv * 0.001);
            wi[6 * i + 5] = (int64_t)(uint32_t)floorf(fabsf((float)(sv & 0xffffff) * 0.37f));
            wd[2 * i + 0] = (double)sv * 0.5;
            wd[2 * i + 1] = (double)(float)(int32_t)sv;
        }
        return rc_cmp_int("int conversions (6 per element)", gi, wi.data(), (size_t)n * 6) +
               rc_cmp_f64("float conversions (2 per element)", gd, wd.data(), (size_t)n * 2, 0, 0);
    });
}

/* ---- binary16 / bfloat16 ------------------------------------------------------------------------- */

static void fill_half_inputs(float *p, unsigned n, uint64_t seed)
{
    rc_fill_f32(p, n, -4.0, 4.0, seed);
    // ties and subnormals for the conversions
    p[0] = 1.0f + 0x1p-11f;       // tie between 1 and 1+2^-10: even -> 1
    p[1] = 1.0f + 3 * 0x1p-11f;   // tie: even -> 1+2^-9
    p[2] = -3.0e-6f;              // f16 subnormal
    p[3] = 5.0e-8f;               // rounds to the smallest subnormal
    p[4] = 0.0f;
    p[5] = -0.0f;
    p[6] = 2.0e-8f;               // below half the smallest subnormal
    p[7] = 3.99951171875f;
}

static void case_half_arith(cudaStream_t s)
{
    unsigned n = 8192;
    float *x = rc_host<float>(n), *y = rc_host<float>(n), *z = rc_host<float>(n);
    fill_half_inputs(x, n, 231);
    fill_half_inputs(y, n, 232);
    rc_fill_f32(z, n, -4.0, 4.0, 233);
    y[0] = 300.3f;
    y[9] = 1.0f + 0x1p-11f;
    float *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s), *dz = rc_dup(z, n, s);
    unsigned short *dout = rc_dalloc<unsigned short>((size_t)n * HALF_OUTS, s);
    RC_LAUNCH(half_arith, rc_div_up(n, 128), 128, 0, s, dx, dy, dz, dout, n);
    unsigned short *got = rc_get(dout, (size_t)n * HALF_OUTS, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dz, s); rc_free(dout, s);
    rc_verify(s, "half_arith", [=] {
        std::vector<unsigned short> want((size_t)n * HALF_OUTS);
        for (unsigned i = 0; i < n; i++) {
            uint16_t ha = ref_f64_to_f16(x[i], RN), hb = ref_f64_to_f16(y[i], RN), hc = ref_f64_to_f16(z[i], RN);
            double A = ref_f16_to_f64(ha), B = ref_f16_to_f64(hb), C = ref_f16_to_f64(hc);
            unsigned short *o = &want[(size_t)i * HALF_OUTS];
            o[0] = ha;
            o[1] = ref_f64_to_f16(A + B, RN);
            o[2] = ref_f64_to_f16(A - B, RN);
            o[3] = ref_f64_to_f16(A * B, RN);
            o[4] = ref_f64_to_f16(fma(A, B, C), RN);
            o[5] = ha ^ 0x8000;
            o[6] = (uint16_t)((A < B) | ((A >= B) << 1) | ((A == C) << 2) | ((B > C) << 3));
            o[7] = ref_f64_to_f16(x[i], RZ);
            o[8] = ref_f64_to_f16(y[i], RD);
            o[9] = ref_f64_to_f16(y[i], RU);
            o[10] = ref_f64_to_f16((double)(int)(x[i] * 1000.0f), RN);
            o[11] = (uint16_t)(int)trunc(ref_f16_to_f64(ref_f64_to_f16(B * 100.0, RN)));
        }
        return rc_cmp_int("half results (12 per element: cvt add sub mul fma neg cmp rz rd ru i2h h2i)", got,
                          want.data(), (size_t)n * HALF_OUTS);
    });
}

static void case_half_to_float(cudaStream_t s)
{
    unsigned n = 65536;
    unsigned short *h = rc_host<unsigned short>(n);
    for (unsigned i = 0; i < n; i++) h[i] = (uint16_t)i;   // every pattern
    unsigned short *dh = rc_dup(h, n, s);
    float *dout = rc_dalloc<float>((size_t)n * 2, s);
    RC_LAUNCH(half_to_float, n / 256, 256, 0, s, dh, dout, n);
    float *got = rc_get(dout, (size_t)n * 2, s);
    rc_free(dh, s); rc_free(dout, s);
    rc_verify(s, "half_to_float", [=] {
        std::vector<float> want((size_t)n * 2);
        for (unsigned i = 0; i < n; i++) {
            want[2 * i] = (float)ref_f16_to_f64((uint16_t)i);
            want[2 * i + 1] = fmaf(want[2 * i], 3.0f, 1.0f);
        }
        return rc_cmp_f32("half->float, then *3+1", got, want.data(), (size_t)n * 2, 0, 0);
    });
}

static void case_half2_arith(cudaStream_t s)
{
    unsigned n = 8192;
    float *xy = rc_host<float>((size_t)n * 2), *zw = rc_host<float>((size_t)n * 2);
    fill_half_inputs(xy, 2 * n, 241);
    rc_fill_f32(zw, 2 * n, -4.0, 4.0, 242);
    float2 *dxy = (float2 *)rc_dup(xy, (size_t)n * 2, s), *dzw = (float2 *)rc_dup(zw, (size_t)n * 2, s);
    unsigned *dout = rc_dalloc<unsigned>((size_t)n * HALF2_OUTS, s);
    RC_LAUNCH(half2_arith, rc_div_up(n, 128), 128, 0, s, dxy, dzw, dout, n);
    unsigned *got = rc_get(dout, (size_t)n * HALF2_OUTS, s);
    rc_free((float *)dxy, s); rc_free((float *)dzw, s); rc_free(dout, s);
    rc_verify(s, "half2_arith", [=] {
        std::vector<unsigned> want((size_t)n * HALF2_OUTS);
        for (unsigned i = 0; i < n; i++) {
            uint16_t al = ref_f64_to_f16(xy[2 * i], RN), ah = ref_f64_to_f16(xy[2 * i + 1], RN);
            uint16_t bl = ref_f64_to_f16(zw[2 * i], RN), bh = ref_f64_to_f16(zw[2 * i + 1], RN);
            double Al = ref_f16_to_f64(al), Ah = ref_f16_to_f64(ah), Bl = ref_f16_to_f64(bl), Bh = ref_f16_to_f64(bh);
            auto pack = [](uint16_t lo, uint16_t hi) { return ((uint32_t)hi << 16) | lo; };
            unsigned *o = &want[(size_t)i * HALF2_OUTS];
            o[0] = pack(al, ah);
            o[1] = pack(ref_f64_to_f16(Al + Bl, RN), ref_f64_to_f16(Ah + Bh, RN));
            o[2] = pack(ref_f64_to_f16(Al * Bl, RN), ref_f64_to_f16(Ah * Bh, RN));
            o[3] = pack(ref_f64_to_f16(fma(Al, Bl, Al), RN), ref_f64_to_f16(fma(Ah, Bh, Ah), RN));
            o[4] = pack(ah, al);
            o[5] = pack(al, bh);
        }
        return rc_cmp_int("half2 results (6 per element: cvt add mul fma swap halves)", got, want.data(),
                          (size_t)n * HALF2_OUTS);
    });
}

static void case_bf16_convert(cudaStream_t s)
{
    unsigned n = 8192;
    float *x = rc_host<float>(n), *y = rc_host<float>(n);
    rc_fill_f32(x, n, -1000.0, 1000.0, 251);
    rc_fill_f32(y, n, -2.0, 2.0, 252);
    x[0] = 1.0f + 0x1p-8f;       // tie: even -> 1.0
    x[1] = 1.0f + 3 * 0x1p-8f;   // tie: even -> 1 + 2^-6
    x[2] = 1.0e-40f;             // float subnormal
    y[3] = -0.0f;
    x[4] = 3.0e38f;
    y[4] = 0.5f;
    float *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s), *dfo = rc_dalloc<float>((size_t)n * 2, s);
    unsigned short *dout = rc_dalloc<unsigned short>((size_t)n * BF16_OUTS, s);
    RC_LAUNCH(bf16_convert, rc_div_up(n, 128), 128, 0, s, dx, dy, dout, dfo, n);
    unsigned short *got = rc_get(dout, (size_t)n * BF16_OUTS, s);
    float *gf = rc_get(dfo, (size_t)n * 2, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dfo, s); rc_free(dout, s);
    rc_verify(s, "bf16_convert", [=] {
        std::vector<unsigned short> want((size_t)n * BF16_OUTS);
        std::vector<float> wf((size_t)n * 2);
        for (unsigned i = 0; i < n; i++) {
            uint16_t a = ref_f32_to_bf16(x[i], RN), b = ref_f32_to_bf16(y[i], RZ);
            float A = ref_bf16_to_f32(a), B = ref_bf16_to_f32(b);
            unsigned short *o = &want[(size_t)i * BF16_OUTS];
            o[0] = a;
            o[1] = b;
            o[2] = ref_f32_to_bf16(A + B, RN);
            o[3] = ref_f32_to_bf16(A * B, RN);
            o[4] = a;
            o[5] = ref_f32_to_bf16(y[i], RN);
            wf[2 * i] = A;
            wf[2 * i + 1] = B + A;
        }
        return rc_cmp_int("bf16 results (6 per element: rn rz add mul pair.lo pair.hi)", got, want.data(),
                          (size_t)n * BF16_OUTS) +
               rc_cmp_f32("bf16->float", gf, wf.data(), (size_t)n * 2, 0, 0);
    });
}

static void case_half_atomics(cudaStream_t s)
{
    unsigned n = 8192;
    __half *dh = rc_dalloc<__half>(8, s);
    __half2 *dh2 = rc_dalloc<__half2>(4, s);
    RC_LAUNCH(half_atomics, n / 128, 128, 0, s, dh, dh2, n);
    unsigned short *hs = rc_get((const unsigned short *)dh, 8, s), *h2 = rc_get((const unsigned short *)dh2, 8, s);
    rc_free(dh, s); rc_free(dh2, s);
    rc_verify(s, "half_atomics", [=] {
        unsigned short whs[8], wh2[8];
        for (int k = 0; k < 8; k++) whs[k] = ref_f64_to_f16(1024.0, RN);
        for (int k = 0; k < 4; k++) {
            wh2[2 * k] = ref_f64_to_f16(2048.0, RN);
            wh2[2 * k + 1] = ref_f64_to_f16(4096.0, RN);
        }
        return rc_cmp_int("atomicAdd(__half)", hs, whs, 8) + rc_cmp_int("atomicAdd(__half2)", h2, wh2, 8);
    });
}

/* ---- integer bit operations -------------------------------------------------------------------- */

static uint32_t ref_prmt(uint32_t a, uint32_t b, uint32_t sel_word)
{
    uint8_t bytes[8];
    uint32_t r = 0;
    for (int k = 0; k < 4; k++) { bytes[k] = (uint8_t)(a >> (8 * k)); bytes[k + 4] = (uint8_t)(b >> (8 * k)); }
    for (int k = 0; k < 4; k++) {
        uint32_t sel = (sel_word >> (4 * k)) & 15;
        uint8_t v = bytes[sel & 7];
        if (sel & 8) v = (v & 0x80) ? 0xff : 0;   // PTX prmt: msb of a selector replicates the sign
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

static void case_int_bits(cudaStream_t s)
{
    unsigned n = 1u << 14;
    uint32_t *xs = rc_host<uint32_t>(n), *ys = rc_host<uint32_t>(n);
    unsigned long long *zs = rc_host<unsigned long long>(n);
    rc_rng r(261);
    for (unsigned i = 0; i < n; i++) {
        xs[i] = r.next32() >> (i % 7 == 0 ? r.next32() % 32 : 0);
        ys[i] = r.next32();
        zs[i] = r.next64() >> (i % 5 == 0 ? r.next32() % 64 : 0);
    }
    xs[0] = 0; zs[0] = 0; xs[1] = 0xffffffffu; zs[1] = ~0ull; ys[2] = 0; xs[3] = 0x80000000u; zs[3] = 1ull << 63;
    unsigned *dx = rc_dup(xs, n, s), *dy = rc_dup(ys, n, s), *dout = rc_dalloc<unsigned>((size_t)n * BITS_OUTS, s);
    unsigned long long *dz = rc_dup(zs, n, s);
    RC_LAUNCH(int_bits, rc_div_up(n, 128), 128, 0, s, dx, dy, dz, dout, n);
    unsigned *got = rc_get(dout, (size_t)n * BITS_OUTS, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dout, s); rc_free(dz, s);
    rc_verify(s, "int_bits", [=] {
        static const char *names[BITS_OUTS] = { "popc", "clz", "brev", "ffs", "popcll", "clzll", "brevll", "ffsll",
                                                "byte_perm", "byte_perm(hi)", "funnelshift_l", "funnelshift_r",
                                                "funnelshift_lc", "bfe", "bfe.s", "bfi", "rotl", "mulhi", "umulhi",
                                                "umul64hi", "mul24", "usad", "sad", "mul64hi+popc" };
        size_t total = 0;
        std::vector<uint32_t> want((size_t)n * BITS_OUTS);
        for (unsigned i = 0; i < n; i++) {
            uint32_t x = xs[i], y = ys[i], sh = y & 31, len = (y >> 5) & 15;
            uint64_t z = zs[i];
            uint32_t *o = &want[(size_t)i * BITS_OUTS];
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
            o[9] = ref_prmt(x, y, (y >> 16) & 0x7777);   // __byte_perm uses 3 selector bits: nvcc masks
            o[10] = fshl(x, y, (sh + len) & 31);
            o[11] = (uint32_t)((((uint64_t)y << 32) | x) >> ((sh + len) & 31));
            o[12] = fshl(x, y, sh + 2 * len > 32 ? 32 : sh + 2 * len);
            o[13] = (x >> sh) & ((1u << len) - 1u);
            o[14] = (uint32_t)(((int32_t)(x << (31 - sh))) >> (31 - (sh > len ? len : sh)));
            {
                uint32_t mask = ((1u << len) - 1u) << sh;
                o[15] = (x & ~mask) | ((y << sh) & mask);
            }
            o[16] = (x << sh) | (x >> ((32 - sh) & 31));
            o[17] = (uint32_t)(((int64_t)(int32_t)x * (int64_t)(int32_t)y) >> 32);
            o[18] = (uint32_t)(((uint64_t)x * y) >> 32);
            {
                uint64_t h = (uint64_t)(((unsigned __int128)z * ((uint64_t)x * y + 1ull)) >> 64);
                o[19] = (uint32_t)h ^ (uint32_t)(h >> 32);
            }
            o[20] = (uint32_t)((int64_t)((int32_t)(x << 8) >> 8) * (int64_t)((int32_t)(y << 8) >> 8));
            {
                uint32_t a16 = x & 0xffff, b16 = y & 0xffff;
                o[21] = (a16 > b16 ? a16 - b16 : b16 - a16) + sh;
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
        for (int k = 0; k < BITS_OUTS; k++) {
            size_t bad = 0;
            for (unsigned i = 0; i < n; i++) {
                uint32_t g = got[(size_t)i * BITS_OUTS + k], w = want[(size_t)i * BITS_OUTS + k];
                if (g == w) continue;
                if (bad < 4)
                    std::printf("    %s[%u]: got 0x%08x, want 0x%08x (x=0x%08x y=0x%08x z=0x%016llx)\n", names[k], i, g, w,
                                xs[i], ys[i], (unsigned long long)zs[i]);
                bad++;
            }
            if (bad) std::printf("  %s: %zu of %u differ\n", names[k], bad, n);
            total += bad;
        }
        return total;
    });
}

static void case_int_divmod(cudaStream_t s)
{
    unsigned n = 1u << 14, grid, block;
    int32_t *a = rc_host<int32_t>(n), *b = rc_host<int32_t>(n);
    long long *A = rc_host<long long>(n), *B = rc_host<long long>(n);
    rc_rng r(271);
    for (unsigned i = 0; i < n; i++) {
        a[i] = (int32_t)r.next32();
        A[i] = (int64_t)r.next64() >> (r.next32() % 40);
        switch (i % 3) {
        case 0: b[i] = r.range(-20, 20); B[i] = r.range(-20, 20); break;
        case 1: b[i] = (int32_t)r.next32() >> (r.next32() % 31); B[i] = (int64_t)r.next64() >> (r.next32() % 63); break;
        default: b[i] = (int32_t)r.next32(); B[i] = (int64_t)r.next64(); break;
        }
        if (b[i] == 0) b[i] = 3;
        if (B[i] == 0) B[i] = -7;
        if (a[i] == INT32_MIN && b[i] == -1) b[i] = 1;
        if (A[i] == INT64_MIN && B[i] == -1) B[i] = 1;
    }
    a[0] = INT32_MIN; b[0] = 2; A[0] = INT64_MIN; B[0] = 3; a[1] = -7; b[1] = 7; A[1] = -1; B[1] = INT64_MAX;
    int *da = rc_dup(a, n, s), *db = rc_dup(b, n, s), *d32 = rc_dalloc<int>((size_t)n * DIV_OUTS, s);
    long long *dA = rc_dup(A, n, s), *dB = rc_dup(B, n, s), *d64 = rc_dalloc<long long>((size_t)n * DIV_OUTS, s);
    rc_occupancy(int_divmod, 0, 1024, n, &grid, &block);   // bounds-checked: any block size
    grid = rc_div_up(n, block);
    RC_LAUNCH(int_divmod, grid, block, 0, s, da, db, dA, dB, d32, d64, n);
    int *g32 = rc_get(d32, (size_t)n * DIV_OUTS, s);
    long long *g64 = rc_get(d64, (size_t)n * DIV_OUTS, s);
    rc_free(da, s); rc_free(db, s); rc_free(d32, s); rc_free(dA, s); rc_free(dB, s); rc_free(d64, s);
    rc_verify(s, "int_divmod", [=] {
        std::vector<int> w32((size_t)n * DIV_OUTS);
        std::vector<long long> w64((size_t)n * DIV_OUTS);
        for (unsigned i = 0; i < n; i++) {
            int32_t x = a[i], y = b[i];
            uint32_t ux = (uint32_t)x, uy = (uint32_t)y;
            int64_t X = A[i], Y = B[i];
            uint64_t UX = (uint64_t)X, UY = (uint64_t)Y;
            int *p = &w32[(size_t)i * DIV_OUTS];
            long long *q = &w64[(size_t)i * DIV_OUTS];
            p[0] = x / y; p[1] = x % y; p[2] = (int32_t)(ux / uy); p[3] = (int32_t)(ux % uy);
            p[4] = x / 7; p[5] = x % 1000; p[6] = (int32_t)(ux / 10u); p[7] = (int32_t)(ux % 3u) + x / -16;
            q[0] = X / Y; q[1] = X % Y; q[2] = (int64_t)(UX / UY); q[3] = (int64_t)(UX % UY);
            q[4] = X / 10; q[5] = X % 1000000007ll; q[6] = (int64_t)(UX / 3ull);
            q[7] = (int64_t)(UX % 65536ull) + (X >> 13) + (int64_t)(UX >> 61);
        }
        return rc_cmp_int("div/mod 32-bit (8 per element)", g32, w32.data(), (size_t)n * DIV_OUTS) +
               rc_cmp_int("div/mod 64-bit (8 per element)", g64, w64.data(), (size_t)n * DIV_OUTS);
    });
}

int main()
{
    static const rc_case_fn cases[] = { case_math_f64,     case_math_f32,      case_convert_mix, case_half_arith,
                                        case_half_to_float, case_half2_arith,  case_bf16_convert, case_half_atomics,
                                        case_int_bits,     case_int_divmod };
    return rc_main("rt_corpus_math", cases, sizeof cases / sizeof *cases, 3, 10);
}
