/* corpus_ref.h: the CPU side of the kernel-corpus tests, shared by the driver-API cases
 * (tests/emu/test_corpus_*.c) and the CUDA runtime programs (tests/rt/rt_corpus_*.cu). It owns
 * the input generators with their seeds and hand-placed special values, the reference functions
 * that compute the expected results, and the per-output names and tolerances; the tests own the
 * launches and the comparisons. One file per part of the corpus: corpus_ref_math.c, ... Plain C:
 * the Makefile compiles every tests/common .c file into every tests/emu binary (gcc -std=gnu11 -Werror), and
 * each rt_corpus_NAME.cu #includes its corpus_ref_NAME.c (compiled as C++ by nvcc's host compiler).
 * Random data: the splitmix64 generator of tests/common/bft_num.c, so seeds give the same inputs. */
#ifndef CORPUS_REF_H
#define CORPUS_REF_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* ---- seeded data (identical to bft_rng / bft_fill_*) ------------------------------------------- */
typedef struct cref_rng { uint64_t s; } cref_rng;
static inline cref_rng cref_rng_seed(uint64_t seed) { cref_rng r = { seed * 0x9E3779B97F4A7C15ull + 0x1234567ull }; return r; }
static inline uint64_t cref_rand64(cref_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline uint32_t cref_rand32(cref_rng *r) { return (uint32_t)(cref_rand64(r) >> 32); }
static inline double cref_randf(cref_rng *r, double lo, double hi)   /* uniform in [lo, hi) */
{
    return lo + (hi - lo) * ((double)(cref_rand64(r) >> 11) * (1.0 / 9007199254740992.0));
}
static inline int cref_randi(cref_rng *r, int lo, int hi)   /* uniform in [lo, hi] */
{
    uint64_t span = (uint64_t)((int64_t)hi - (int64_t)lo + 1);
    return (int)((int64_t)lo + (int64_t)(cref_rand64(r) % span));
}
static inline void cref_fill_u32(uint32_t *p, size_t n, uint64_t seed)
{
    cref_rng r = cref_rng_seed(seed);
    for (size_t i = 0; i < n; i++) p[i] = cref_rand32(&r);
}
static inline void cref_fill_f32(float *p, size_t n, double lo, double hi, uint64_t seed)
{
    cref_rng r = cref_rng_seed(seed);
    for (size_t i = 0; i < n; i++) p[i] = (float)cref_randf(&r, lo, hi);
}
static inline void cref_fill_f64(double *p, size_t n, double lo, double hi, uint64_t seed)
{
    cref_rng r = cref_rng_seed(seed);
    for (size_t i = 0; i < n; i++) p[i] = cref_randf(&r, lo, hi);
}
static inline void cref_fill_i32(int32_t *p, size_t n, int lo, int hi, uint64_t seed)
{
    cref_rng r = cref_rng_seed(seed);
    for (size_t i = 0; i < n; i++) p[i] = cref_randi(&r, lo, hi);
}

/* ---- math: fpmath.cu, half.cu, half_atomics.cu, bf16.cu, intops.cu (corpus_ref_math.c) -------- */
#define MATH_F64_OUTS 16
#define MATH_F32_OUTS 20
#define HALF_OUTS 12
#define HALF2_OUTS 6
#define BF16_OUTS 6
#define BITS_OUTS 24
#define DIV_OUTS 8
#define CREF_MATH_F64_ATOL 1e-15   /* absolute floor of the outputs with a relative tolerance */

enum { CREF_RN = 0, CREF_RZ = 1, CREF_RD = 2, CREF_RU = 3 };
uint16_t cref_f64_to_f16(double x, int mode);   /* IEEE binary16 bits, subnormals kept */
double cref_f16_to_f64(uint16_t h);
uint16_t cref_f32_to_bf16(float x, int mode);   /* CREF_RN or CREF_RZ */
float cref_bf16_to_f32(uint16_t h);
float cref_f64_to_f32(double x, int mode);      /* directed rounding of a double to float */

extern const char *const cref_math_f64_names[MATH_F64_OUTS];
extern const double cref_math_f64_rtol[MATH_F64_OUTS];   /* 0: exact */
void cref_math_f64_inputs(double *x, double *y, unsigned n);
void cref_math_f64_want(const double *x, const double *y, double *want, unsigned n);   /* want[k * n + i] */

extern const char *const cref_math_f32_names[MATH_F32_OUTS];
extern const double cref_math_f32_rtol[MATH_F32_OUTS], cref_math_f32_atol[MATH_F32_OUTS];
void cref_math_f32_inputs(float *x, float *y, unsigned n);
void cref_math_f32_want(const float *x, const float *y, float *want, unsigned n);   /* want[k * n + i] */

void cref_convert_mix_inputs(int64_t *v, unsigned n);
void cref_convert_mix_want(const int64_t *v, int64_t *wi, double *wd, unsigned n);   /* 6 and 2 per element */

void cref_half_arith_inputs(float *x, float *y, float *z, unsigned n);
void cref_half_arith_want(const float *x, const float *y, const float *z, uint16_t *want, unsigned n);
void cref_half_to_float_want(float *want, unsigned n);   /* every pattern h = i < n: 2 per element */
void cref_half2_arith_inputs(float *xy, float *zw, unsigned n);   /* 2n floats each */
void cref_half2_arith_want(const float *xy, const float *zw, uint32_t *want, unsigned n);
void cref_bf16_convert_inputs(float *x, float *y, unsigned n);
void cref_bf16_convert_want(const float *x, const float *y, uint16_t *want, float *wf, unsigned n);
void cref_half_atomics_want(uint16_t whs[8], uint16_t wh2[8]);

extern const char *const cref_int_bits_names[BITS_OUTS];
void cref_int_bits_inputs(uint32_t *xs, uint32_t *ys, uint64_t *zs, unsigned n);
void cref_int_bits_want(const uint32_t *xs, const uint32_t *ys, const uint64_t *zs, uint32_t *want, unsigned n);
void cref_int_divmod_inputs(int32_t *a, int32_t *b, int64_t *A, int64_t *B, unsigned n);
void cref_int_divmod_want(const int32_t *a, const int32_t *b, const int64_t *A, const int64_t *B, int32_t *w32,
                          int64_t *w64, unsigned n);

#ifdef __cplusplus
}
#endif
#endif
