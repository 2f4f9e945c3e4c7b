/* corpus_ref_math.c: inputs, references and tolerances of the arithmetic corpus cases (fpmath.cu,
 * half.cu, half_atomics.cu, bf16.cu, intops.cu), shared by tests/emu/test_corpus_math.c and
 * tests/rt/rt_corpus_math.cu (corpus_ref.h says how). Results that IEEE makes exact are bit-exact
 * references; transcendental and fast approximate functions carry the CUDA accuracy tables'
 * tolerances. */
#include "corpus_ref.h"
#include <math.h>
#include <string.h>

/* ---- reference roundings (the one copy; the emu and runtime tests both use it) ------------------------------------------- */

static uint64_t cref_round_mag(double scaled, int neg, int mode)
{
    double fl = floor(scaled), frac = scaled - fl;
    uint64_t m = (uint64_t)fl;
    int up = 0;
    switch (mode) {
    case CREF_RN: up = frac > 0.5 || (frac == 0.5 && (m & 1)); break;
    case CREF_RZ: up = 0; break;
    case CREF_RD: up = neg && frac > 0; break;
    case CREF_RU: up = !neg && frac > 0; break;
    }
    return m + (uint64_t)up;
}

uint16_t cref_f64_to_f16(double x, int mode)
{
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    int neg = sign != 0, e, q;
    double a = fabs(x), v;
    uint64_t m;
    if (isnan(x)) return 0x7e00;
    if (isinf(x)) return sign | 0x7c00;
    if (a == 0) return sign;
    frexp(a, &e);                       /* a = f * 2^e, f in [0.5, 1) */
    q = e - 11;                         /* quantum of an 11-bit significand */
    if (q < -24) q = -24;               /* subnormal quantum */
    m = cref_round_mag(ldexp(a, -q), neg, mode);
    v = ldexp((double)m, q);
    if (v > 65504.0) {
        int to_inf = mode == CREF_RN || (mode == CREF_RU && !neg) || (mode == CREF_RD && neg);
        return sign | (to_inf ? 0x7c00 : 0x7bff);
    }
    if (v < ldexp(1.0, -14))            /* subnormal (or zero) */
        return sign | (uint16_t)(v / ldexp(1.0, -24));
    frexp(v, &e);
    {
        int E = e - 1 + 15;
        uint32_t mant = (uint32_t)(ldexp(v, -(e - 1)) * 1024.0) - 1024u;
        return sign | (uint16_t)((unsigned)E << 10) | (uint16_t)mant;
    }
}

double cref_f16_to_f64(uint16_t h)
{
    int s = h >> 15, E = (h >> 10) & 31, M = h & 1023;
    double v;
    if (E == 31) v = M ? NAN : INFINITY;
    else if (E == 0) v = ldexp((double)M, -24);
    else v = ldexp((double)(1024 + M), E - 25);
    return s ? -v : v;
}

uint16_t cref_f32_to_bf16(float x, int mode)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if (isnan(x)) return (uint16_t)((u >> 16) | 0x40);
    if (mode == CREF_RN) u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float cref_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float cref_f64_to_f32(double x, int mode)
{
    float f = (float)x;             /* round to nearest */
    if (isnan(x) || (double)f == x) return f;
    switch (mode) {
    case CREF_RZ: if (fabs((double)f) > fabs(x)) f = nextafterf(f, 0.0f); break;
    case CREF_RD: if ((double)f > x) f = nextafterf(f, -INFINITY); break;
    case CREF_RU: if ((double)f < x) f = nextafterf(f, INFINITY); break;
    default: break;
    }
    return f;
}

/* ---- f64 / f32 --------------------------------------------------------------------------------- */

const char *const cref_math_f64_names[MATH_F64_OUTS] = { "sqrt", "exp", "log", "sin", "cos", "pow", "fma", "div",
                                                         "floor/ceil", "trunc/round", "fmod", "fmin/fmax/fabs",
                                                         "tanh+atan2", "f64->int", "f64->f32", "rsqrt+cbrt" };
/* 0: exact, else relative tolerance (with CREF_MATH_F64_ATOL for results near zero) */
const double cref_math_f64_rtol[MATH_F64_OUTS] = { 0, 1e-14, 1e-14, 1e-14, 1e-14, 1e-14, 0, 0,
                                                   0, 0, 0, 1e-14, 1e-14, 0, 0, 1e-14 };

void cref_math_f64_inputs(double *x, double *y, unsigned n)
{
    cref_fill_f64(x, n, 0.1, 10.0, 201);
    cref_fill_f64(y, n, -3.0, 3.0, 202);
    y[0] = 2.0; x[1] = 1.0; y[2] = -0.5; x[3] = 4.0;
}

void cref_math_f64_want(const double *x, const double *y, double *w, unsigned n)
{
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
}

const char *const cref_math_f32_names[MATH_F32_OUTS] = { "div", "sqrtf", "rsqrtf", "__expf", "__sinf", "__cosf",
                                                         "__fdividef", "expf", "logf", "sinf", "powf", "__frcp_rn",
                                                         "__fmul_rz", "__fadd_rd", "__fmaf_rn", "__saturatef",
                                                         "float2int", "__logf", "fmin/fmax/copysign/floor",
                                                         "__fsqrt_rd+__fdiv_ru" };
const double cref_math_f32_rtol[MATH_F32_OUTS] = { 0, 0, 1e-6, 2e-6, 0, 0, 1e-6, 1e-6, 1e-6, 1e-6, 5e-6, 0,
                                                   0, 0, 0, 0, 0, 2e-6, 1e-6, 0 };
const double cref_math_f32_atol[MATH_F32_OUTS] = { 0, 0, 0, 0, 2e-6, 2e-6, 0, 0, 1e-7, 1e-6, 0, 0,
                                                   0, 0, 0, 0, 0, 2e-6, 1e-6, 0 };

void cref_math_f32_inputs(float *x, float *y, unsigned n)
{
    cref_fill_f32(x, n, 0.1, 10.0, 211);
    cref_fill_f32(y, n, -3.0, 3.0, 212);
    y[0] = 1.0f; y[1] = 0.5f; y[2] = -0.25f; x[3] = 1.0f; y[4] = 2.0f; y[5] = -1.0f;
}

void cref_math_f32_want(const float *x, const float *y, float *w, unsigned n)
{
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
        w[12 * n + i] = cref_f64_to_f32((double)a * (double)b, CREF_RZ);
        w[13 * n + i] = cref_f64_to_f32((double)a + (double)b, CREF_RD);
        w[14 * n + i] = fmaf(a, b, 0.25f);
        w[15 * n + i] = b < 0.0f ? 0.0f : (b > 1.0f ? 1.0f : b);
        w[16 * n + i] = (float)lrintf(b * 1000.5f) + (float)(int)(b * 77.7f) * 0.5f;
        w[17 * n + i] = (float)log((double)a);
        w[18 * n + i] = fminf(a, b) + fmaxf(a, b) * 2.0f + copysignf(a, b) + floorf(b * 7.3f);
        w[19 * n + i] = cref_f64_to_f32(sqrt((double)a), CREF_RD) + cref_f64_to_f32((double)a / 3.0, CREF_RU);
    }
}

void cref_convert_mix_inputs(int64_t *v, unsigned n)
{
    cref_rng r = cref_rng_seed(221);
    for (unsigned i = 0; i < n; i++) v[i] = (int64_t)cref_rand64(&r) >> (2 + (i % 40));   /* |s| < 2^61, many magnitudes */
    v[0] = 0; v[1] = -1; v[2] = 1; v[3] = 32767; v[4] = -32768; v[5] = 255; v[6] = 4611686018427387903ll;
}

void cref_convert_mix_want(const int64_t *v, int64_t *wi, double *wd, unsigned n)
{
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
}

/* ---- binary16 / bfloat16 ----------------------------------------------------------------------- */

static void cref_fill_half_inputs(float *p, unsigned n, uint64_t seed)
{
    cref_fill_f32(p, n, -4.0, 4.0, seed);
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

void cref_half_arith_inputs(float *x, float *y, float *z, unsigned n)
{
    cref_fill_half_inputs(x, n, 231);
    cref_fill_half_inputs(y, n, 232);
    cref_fill_f32(z, n, -4.0, 4.0, 233);
    y[0] = 300.3f;
    y[9] = 1.0f + 0x1p-11f;
}

void cref_half_arith_want(const float *x, const float *y, const float *z, uint16_t *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t ha = cref_f64_to_f16(x[i], CREF_RN), hb = cref_f64_to_f16(y[i], CREF_RN), hc = cref_f64_to_f16(z[i], CREF_RN);
        double A = cref_f16_to_f64(ha), B = cref_f16_to_f64(hb), C = cref_f16_to_f64(hc);
        uint16_t *o = want + (size_t)i * HALF_OUTS;
        o[0] = ha;
        o[1] = cref_f64_to_f16(A + B, CREF_RN);
        o[2] = cref_f64_to_f16(A - B, CREF_RN);
        o[3] = cref_f64_to_f16(A * B, CREF_RN);
        o[4] = cref_f64_to_f16(fma(A, B, C), CREF_RN);
        o[5] = ha ^ 0x8000;
        o[6] = (uint16_t)((A < B) | ((A >= B) << 1) | ((A == C) << 2) | ((B > C) << 3));
        o[7] = cref_f64_to_f16(x[i], CREF_RZ);
        o[8] = cref_f64_to_f16(y[i], CREF_RD);
        o[9] = cref_f64_to_f16(y[i], CREF_RU);
        o[10] = cref_f64_to_f16((double)(int)(x[i] * 1000.0f), CREF_RN);
        o[11] = (uint16_t)(int)trunc(cref_f16_to_f64(cref_f64_to_f16(B * 100.0, CREF_RN)));
    }
}

void cref_half_to_float_want(float *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        want[2 * i] = (float)cref_f16_to_f64((uint16_t)i);
        want[2 * i + 1] = fmaf(want[2 * i], 3.0f, 1.0f);
    }
}

void cref_half2_arith_inputs(float *xy, float *zw, unsigned n)
{
    cref_fill_half_inputs(xy, 2 * n, 241);
    cref_fill_f32(zw, 2 * n, -4.0, 4.0, 242);
}

void cref_half2_arith_want(const float *xy, const float *zw, uint32_t *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t al = cref_f64_to_f16(xy[2 * i], CREF_RN), ah = cref_f64_to_f16(xy[2 * i + 1], CREF_RN);
        uint16_t bl = cref_f64_to_f16(zw[2 * i], CREF_RN), bh = cref_f64_to_f16(zw[2 * i + 1], CREF_RN);
        double Al = cref_f16_to_f64(al), Ah = cref_f16_to_f64(ah), Bl = cref_f16_to_f64(bl), Bh = cref_f16_to_f64(bh);
        uint32_t *o = want + (size_t)i * HALF2_OUTS;
#define PACK(lo, hi) (((uint32_t)(hi) << 16) | (lo))
        o[0] = PACK(al, ah);
        o[1] = PACK(cref_f64_to_f16(Al + Bl, CREF_RN), cref_f64_to_f16(Ah + Bh, CREF_RN));
        o[2] = PACK(cref_f64_to_f16(Al * Bl, CREF_RN), cref_f64_to_f16(Ah * Bh, CREF_RN));
        o[3] = PACK(cref_f64_to_f16(fma(Al, Bl, Al), CREF_RN), cref_f64_to_f16(fma(Ah, Bh, Ah), CREF_RN));
        o[4] = PACK(ah, al);
        o[5] = PACK(al, bh);
#undef PACK
    }
}

void cref_bf16_convert_inputs(float *x, float *y, unsigned n)
{
    cref_fill_f32(x, n, -1000.0, 1000.0, 251);
    cref_fill_f32(y, n, -2.0, 2.0, 252);
    x[0] = 1.0f + 0x1p-8f;          /* tie: even -> 1.0 */
    x[1] = 1.0f + 3 * 0x1p-8f;      /* tie: even -> 1 + 2^-6 */
    x[2] = 1.0e-40f;                /* float subnormal */
    y[3] = -0.0f;
    x[4] = 3.0e38f;
    y[4] = 0.5f;
}

void cref_bf16_convert_want(const float *x, const float *y, uint16_t *want, float *wf, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t a = cref_f32_to_bf16(x[i], CREF_RN), b = cref_f32_to_bf16(y[i], CREF_RZ);
        float A = cref_bf16_to_f32(a), B = cref_bf16_to_f32(b);
        uint16_t *o = want + (size_t)i * BF16_OUTS;
        o[0] = a;
        o[1] = b;
        o[2] = cref_f32_to_bf16(A + B, CREF_RN);
        o[3] = cref_f32_to_bf16(A * B, CREF_RN);
        o[4] = a;
        o[5] = cref_f32_to_bf16(y[i], CREF_RN);
        wf[2 * i] = A;
        wf[2 * i + 1] = B + A;
    }
}

void cref_half_atomics_want(uint16_t whs[8], uint16_t wh2[8])
{
    for (int k = 0; k < 8; k++) whs[k] = cref_f64_to_f16(1024.0, CREF_RN);
    for (int k = 0; k < 4; k++) {
        wh2[2 * k] = cref_f64_to_f16(2048.0, CREF_RN);
        wh2[2 * k + 1] = cref_f64_to_f16(4096.0, CREF_RN);
    }
}

/* ---- integer bit operations -------------------------------------------------------------------- */

static uint32_t cref_prmt(uint32_t a, uint32_t b, uint32_t s)
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

static uint32_t cref_brev32(uint32_t x)
{
    uint32_t r = 0;
    for (int k = 0; k < 32; k++) r |= ((x >> k) & 1u) << (31 - k);
    return r;
}

static uint32_t cref_fshl(uint32_t lo, uint32_t hi, uint32_t sh) { return (uint32_t)(((((uint64_t)hi << 32) | lo) << sh) >> 32); }

const char *const cref_int_bits_names[BITS_OUTS] = { "popc", "clz", "brev", "ffs", "popcll", "clzll", "brevll", "ffsll",
                                                     "byte_perm", "byte_perm(hi)", "funnelshift_l", "funnelshift_r",
                                                     "funnelshift_lc", "bfe", "bfe.s", "bfi", "rotl", "mulhi", "umulhi",
                                                     "umul64hi", "mul24", "usad", "sad", "mul64hi+popc" };

void cref_int_bits_inputs(uint32_t *xs, uint32_t *ys, uint64_t *zs, unsigned n)
{
    cref_rng r = cref_rng_seed(261);
    for (unsigned i = 0; i < n; i++) {
        xs[i] = cref_rand32(&r) >> (i % 7 == 0 ? cref_rand32(&r) % 32 : 0);
        ys[i] = cref_rand32(&r);
        zs[i] = cref_rand64(&r) >> (i % 5 == 0 ? cref_rand32(&r) % 64 : 0);
    }
    xs[0] = 0; zs[0] = 0; xs[1] = 0xffffffffu; zs[1] = ~0ull; ys[2] = 0; xs[3] = 0x80000000u; zs[3] = 1ull << 63;
}

void cref_int_bits_want(const uint32_t *xs, const uint32_t *ys, const uint64_t *zs, uint32_t *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint32_t x = xs[i], y = ys[i], s = y & 31, len = (y >> 5) & 15;
        uint64_t z = zs[i];
        uint32_t *o = want + (size_t)i * BITS_OUTS;
        uint64_t bz = 0;
        for (int k = 0; k < 64; k++) bz |= ((z >> k) & 1ull) << (63 - k);
        o[0] = (uint32_t)__builtin_popcount(x);
        o[1] = x ? (uint32_t)__builtin_clz(x) : 32;
        o[2] = cref_brev32(x);
        o[3] = x ? (uint32_t)__builtin_ctz(x) + 1 : 0;
        o[4] = (uint32_t)__builtin_popcountll(z);
        o[5] = z ? (uint32_t)__builtin_clzll(z) : 64;
        o[6] = (uint32_t)bz ^ (uint32_t)(bz >> 32);
        o[7] = z ? (uint32_t)__builtin_ctzll(z) + 1 : 0;
        o[8] = cref_prmt(x, y, y & 0x7777);
        o[9] = cref_prmt(x, y, (y >> 16) & 0x7777);   /* __byte_perm uses 3 selector bits: nvcc masks */
        o[10] = cref_fshl(x, y, (s + len) & 31);
        o[11] = (uint32_t)((((uint64_t)y << 32) | x) >> ((s + len) & 31));
        o[12] = cref_fshl(x, y, s + 2 * len > 32 ? 32 : s + 2 * len);
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
}

void cref_int_divmod_inputs(int32_t *a, int32_t *b, int64_t *A, int64_t *B, unsigned n)
{
    cref_rng r = cref_rng_seed(271);
    for (unsigned i = 0; i < n; i++) {
        a[i] = (int32_t)cref_rand32(&r);
        A[i] = (int64_t)cref_rand64(&r) >> (cref_rand32(&r) % 40);
        switch (i % 3) {
        case 0: b[i] = cref_randi(&r, -20, 20); B[i] = cref_randi(&r, -20, 20); break;
        case 1: b[i] = (int32_t)cref_rand32(&r) >> (cref_rand32(&r) % 31); B[i] = (int64_t)cref_rand64(&r) >> (cref_rand32(&r) % 63); break;
        default: b[i] = (int32_t)cref_rand32(&r); B[i] = (int64_t)cref_rand64(&r); break;
        }
        if (b[i] == 0) b[i] = 3;
        if (B[i] == 0) B[i] = -7;
        if (a[i] == INT32_MIN && b[i] == -1) b[i] = 1;
        if (A[i] == INT64_MIN && B[i] == -1) B[i] = 1;
    }
    a[0] = INT32_MIN; b[0] = 2; A[0] = INT64_MIN; B[0] = 3; a[1] = -7; b[1] = 7; A[1] = -1; B[1] = INT64_MAX;
}

void cref_int_divmod_want(const int32_t *a, const int32_t *b, const int64_t *A, const int64_t *B, int32_t *w32,
                          int64_t *w64, unsigned n)
{
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
}
