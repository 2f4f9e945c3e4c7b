/* bft_num.c: numeric helpers of the test helper library (see bft.h): seeded random data,
 * exact/tolerant comparisons that report the first mismatches, and reference conversions for
 * binary16, bfloat16 and directed float rounding. */
#include "bft.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define BFT_MAX_REPORT 6

uint64_t bft_rand64(bft_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double bft_randf(bft_rng *r, double lo, double hi)
{
    double u = (double)(bft_rand64(r) >> 11) * (1.0 / 9007199254740992.0);
    return lo + (hi - lo) * u;
}

int bft_randi(bft_rng *r, int lo, int hi)
{
    uint64_t span = (uint64_t)((int64_t)hi - (int64_t)lo + 1);
    return (int)((int64_t)lo + (int64_t)(bft_rand64(r) % span));
}

void bft_fill_u32(uint32_t *p, size_t n, uint64_t seed)
{
    bft_rng r = bft_rng_seed(seed);
    for (size_t i = 0; i < n; i++) p[i] = bft_rand32(&r);
}

void bft_fill_f32(float *p, size_t n, double lo, double hi, uint64_t seed)
{
    bft_rng r = bft_rng_seed(seed);
    for (size_t i = 0; i < n; i++) p[i] = (float)bft_randf(&r, lo, hi);
}

void bft_fill_f64(double *p, size_t n, double lo, double hi, uint64_t seed)
{
    bft_rng r = bft_rng_seed(seed);
    for (size_t i = 0; i < n; i++) p[i] = bft_randf(&r, lo, hi);
}

void bft_fill_i32(int32_t *p, size_t n, int lo, int hi, uint64_t seed)
{
    bft_rng r = bft_rng_seed(seed);
    for (size_t i = 0; i < n; i++) p[i] = bft_randi(&r, lo, hi);
}

static uint64_t load_u(const void *p, size_t i, size_t elem)
{
    const unsigned char *b = (const unsigned char *)p + i * elem;
    switch (elem) {
    case 1: return *b;
    case 2: { uint16_t v; memcpy(&v, b, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, b, 4); return v; }
    default: { uint64_t v; memcpy(&v, b, 8); return v; }
    }
}

static int64_t load_s(const void *p, size_t i, size_t elem)
{
    uint64_t u = load_u(p, i, elem);
    switch (elem) {
    case 1: return (int8_t)u;
    case 2: return (int16_t)u;
    case 4: return (int32_t)u;
    default: return (int64_t)u;
    }
}

size_t bft_cmp_int(const char *what, const void *got, const void *want, size_t n, size_t elem, int is_signed)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t g = load_u(got, i, elem), w = load_u(want, i, elem);
        if (g == w) continue;
        if (bad < BFT_MAX_REPORT) {
            if (is_signed)
                printf("    %s[%zu]: got %" PRId64 ", want %" PRId64 "\n", what, i, load_s(got, i, elem),
                       load_s(want, i, elem));
            else
                printf("    %s[%zu]: got %" PRIu64 " (0x%" PRIx64 "), want %" PRIu64 " (0x%" PRIx64 ")\n",
                       what, i, g, g, w, w);
        }
        bad++;
    }
    if (bad) bft_failf(__FILE__, __LINE__, "%s: %zu of %zu elements differ", what, bad, n);
    return bad;
}

static int close_enough(double g, double w, double rtol, double atol)
{
    if (isnan(w)) return isnan(g);
    if (isnan(g)) return 0;
    if (isinf(w) || isinf(g)) return g == w;
    if (rtol == 0 && atol == 0) return g == w;
    return fabs(g - w) <= atol + rtol * fabs(w);
}

size_t bft_cmp_f64s(const char *what, const double *got, const double *want, size_t n, size_t stride,
                    double rtol, double atol)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i * stride], w = want[i * stride];
        if (close_enough(g, w, rtol, atol)) continue;
        if (bad < BFT_MAX_REPORT)
            printf("    %s[%zu]: got %.17g, want %.17g (diff %.3g)\n", what, i, g, w, g - w);
        bad++;
    }
    if (bad)
        bft_failf(__FILE__, __LINE__, "%s: %zu of %zu elements differ (rtol %g atol %g)", what, bad, n,
                  rtol, atol);
    return bad;
}

size_t bft_cmp_f32s(const char *what, const float *got, const float *want, size_t n, size_t stride,
                    double rtol, double atol)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float g = got[i * stride], w = want[i * stride];
        if (close_enough(g, w, rtol, atol)) continue;
        if (bad < BFT_MAX_REPORT)
            printf("    %s[%zu]: got %.9g (0x%08x), want %.9g (0x%08x) (diff %.3g)\n", what, i, g,
                   bft_f32_bits(g), w, bft_f32_bits(w), (double)g - (double)w);
        bad++;
    }
    if (bad)
        bft_failf(__FILE__, __LINE__, "%s: %zu of %zu elements differ (rtol %g atol %g)", what, bad, n,
                  rtol, atol);
    return bad;
}

size_t bft_cmp_f32(const char *what, const float *got, const float *want, size_t n, double rtol, double atol)
{
    return bft_cmp_f32s(what, got, want, n, 1, rtol, atol);
}

size_t bft_cmp_f64(const char *what, const double *got, const double *want, size_t n, double rtol, double atol)
{
    return bft_cmp_f64s(what, got, want, n, 1, rtol, atol);
}

uint32_t bft_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

uint64_t bft_f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

/* Rounds the non-negative integer part m (with fraction frac in [0,1)) of a scaled magnitude. */
static uint64_t round_mag(double scaled, int neg, int mode)
{
    double fl = floor(scaled), frac = scaled - fl;
    uint64_t m = (uint64_t)fl;
    int up = 0;
    switch (mode) {
    case BFT_RN: up = frac > 0.5 || (frac == 0.5 && (m & 1)); break;
    case BFT_RZ: up = 0; break;
    case BFT_RD: up = neg && frac > 0; break;
    case BFT_RU: up = !neg && frac > 0; break;
    }
    return m + (uint64_t)up;
}

uint16_t bft_f64_to_f16(double x, int mode)
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
    m = round_mag(ldexp(a, -q), neg, mode);
    v = ldexp((double)m, q);
    if (v > 65504.0) {
        int to_inf = mode == BFT_RN || (mode == BFT_RU && !neg) || (mode == BFT_RD && neg);
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

double bft_f16_to_f64(uint16_t h)
{
    int s = h >> 15, E = (h >> 10) & 31, M = h & 1023;
    double v;
    if (E == 31) v = M ? NAN : INFINITY;
    else if (E == 0) v = ldexp((double)M, -24);
    else v = ldexp((double)(1024 + M), E - 25);
    return s ? -v : v;
}

uint16_t bft_f32_to_bf16(float x, int mode)
{
    uint32_t u = bft_f32_bits(x);
    if (isnan(x)) return (uint16_t)((u >> 16) | 0x40);
    if (mode == BFT_RN) u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float bft_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float bft_f64_to_f32(double x, int mode)
{
    float f = (float)x;             /* round to nearest */
    if (isnan(x) || (double)f == x) return f;
    switch (mode) {
    case BFT_RZ: if (fabs((double)f) > fabs(x)) f = nextafterf(f, 0.0f); break;
    case BFT_RD: if ((double)f > x) f = nextafterf(f, -INFINITY); break;
    case BFT_RU: if ((double)f < x) f = nextafterf(f, INFINITY); break;
    default: break;
    }
    return f;
}
