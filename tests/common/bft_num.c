/* bft_num.c: numeric helpers of the test helper library (see bft.h): exact/tolerant comparisons
 * that report the first mismatches, and float bit casts. (Seeded data and half/bfloat16/directed
 * rounding references are in corpus_ref.h / corpus_ref_math.c.) */
#include "bft.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define BFT_MAX_REPORT 6

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

