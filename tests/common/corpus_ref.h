/* corpus_ref.h: the CPU side of the kernel-corpus tests, shared by the driver-API cases
 * (tests/emu/test_corpus_*.c) and the CUDA runtime programs (tests/rt/rt_corpus_*.cu). It owns
 * the input generators with their seeds and hand-placed special values, the reference functions
 * that compute the expected results, and the per-output names and tolerances; the tests own the
 * launches and the comparisons. One file per part of the corpus: corpus_ref_math.c, corpus_ref_warp.c,
 * corpus_ref_lang.c, corpus_ref_parallel.c, corpus_ref_linalg.c. Plain C:
 * the Makefile compiles every tests/common .c file into every tests/emu binary (gcc -std=gnu11 -Werror), and
 * each rt_corpus_NAME.cu #includes its corpus_ref_NAME.c (compiled as C++ by nvcc's host compiler).
 * Random data: one splitmix64 generator (bft.h uses it too), so seeds give the same inputs. */
#ifndef CORPUS_REF_H
#define CORPUS_REF_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* ---- seeded data (bft.h's bft_rng / bft_fill_* are these) ------------------------------------------- */
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

/* ---- warp: warp.cu, atomics.cu, atomics_cas16.cu (corpus_ref_warp.c) --------------------------- */
void cref_warp_vote_inputs(uint32_t *in, unsigned n);
void cref_warp_vote_want(const uint32_t *in, uint32_t *want, unsigned n);   /* 4 per thread */
void cref_warp_match_inputs(uint32_t *in, unsigned n);
void cref_warp_match_want(const uint32_t *in, uint32_t *want, unsigned n);  /* 4 per thread */
void cref_warp_divergent_want(const int32_t *in, int32_t *want, unsigned n);   /* 4 per thread */
void cref_warp_shfl_width_want(const int32_t *in, int32_t *want, double *wd, int64_t *wl, unsigned n);
void cref_warp_partial_block_want(const int32_t *in, uint32_t *want, unsigned nb, unsigned bs);   /* 3 per thread */
extern const int32_t cref_atomics_ic[4];     /* initial values of atomics_int's counters */
extern const uint32_t cref_atomics_uc[10];
extern const uint64_t cref_atomics_ull[6];
extern const int64_t cref_atomics_ll[2];
void cref_atomics_int_inputs(int32_t *v, unsigned n);
void cref_atomics_int_want(const int32_t *v, unsigned n, int32_t wic[4], uint32_t wuc[10], uint64_t wull[6],
                           int64_t wll[2]);   /* wuc[7] (the exch result) is checked apart */
void cref_atomics_float_want(const float *fv, unsigned n, float wf[2], double wd[4]);
void cref_atomics_shared_want(const int32_t *v, unsigned nb, unsigned bs, uint32_t *want, uint64_t *w64, float *wf);
void cref_atomic_spinlock_want(unsigned nb, unsigned bs, uint32_t want[2]);

/* ---- lang: calls.cu, recursion.cu, fnptr.cu, dynsmem.cu, sync.cu, constmem.cu (corpus_ref_lang.c) */
void cref_calls_noinline_want(const int32_t *in, const float coef[8], float *wfo, int32_t *wio, double *wd, int64_t *wl,
                              unsigned n);   /* wio: 2 per element */
void cref_fib_want(int32_t *want, unsigned n);
void cref_recurse_local_want(const int32_t *seeds, int32_t *want, unsigned n);
void cref_fnptr_table_want(const int32_t *a, const int32_t *b, const int32_t *sel, int32_t *want, unsigned n);
void cref_fnptr_local_want(const int32_t *a, const int32_t *b, const int32_t *sel, int32_t *want, unsigned n);
void cref_virtual_dispatch_want(const float *dims, const int32_t *kind, float *wa, int32_t *ws, unsigned n);
void cref_dynsmem_reverse_want(const int32_t *in, int32_t *want, unsigned nb, unsigned bs);
void cref_dynsmem_partition_want(const float *fin, const int32_t *iin, float *wf, int32_t *wi, unsigned nb, int nf, int ni);
void cref_dynsmem_large_want(int32_t *want, unsigned nb, int words);
void cref_sync_predicates_inputs(int32_t *in, unsigned nb, unsigned bs);
void cref_sync_predicates_want(const int32_t *in, int32_t *want, unsigned nb, unsigned bs);   /* 3 per block */
void cref_local_array_dyn_want(const int32_t *idx, int32_t *want, float *wf, unsigned n);
void cref_switch_dense_inputs(int32_t *in, unsigned n);
void cref_switch_dense_want(const int32_t *in, int32_t *want, unsigned n);   /* 2 per element */
void cref_collatz_want(const int32_t *in, uint32_t *want, unsigned n);       /* 2 per element */
void cref_const_memory_want(const float *x, const float coeffs[64], const int32_t lut[256], const uint32_t *in, float *wf,
                            int32_t *wi, unsigned n);

/* ---- parallel: reduce.cu, scan.cu, histogram.cu, coop.cu, templates.cu (corpus_ref_parallel.c) -- */
void cref_reduce_smem_f32_want(const float *in, float *want, unsigned n, unsigned grid);
void cref_reduce_shfl_down_f32_want(const float *in, float *want, unsigned n, unsigned grid);
int32_t cref_reduce_shfl_xor_i32_want(const int32_t *in, int32_t *want, unsigned n);   /* returns the total */
float cref_reduce_lastblock_f32_want(const float *in, unsigned n, unsigned grid, float *want_partial);   /* the result */
void cref_scan_hs_multiblock_want(const int32_t *in, int32_t *want, int32_t *wsums, unsigned n, unsigned nb);
void cref_scan_blelloch_inputs(uint32_t *in, unsigned n);
void cref_scan_blelloch_want(const uint32_t *in, uint32_t *want, uint32_t *wsums, unsigned n, unsigned nb);
void cref_block_incl_scan_want(const int32_t *in, int32_t *want, int32_t *wsums, unsigned n, unsigned bs);
void cref_hist256_inputs(unsigned char *data, unsigned n);
void cref_hist256_want(const unsigned char *data, unsigned n, uint32_t want[256]);
void cref_hist_global_want(const uint32_t *vals, unsigned n, unsigned nbins, uint32_t *want);
void cref_hist64_inputs(unsigned char *data, unsigned n4);   /* 4 * n4 bytes */
void cref_hist64_want(const unsigned char *data, unsigned n4, unsigned grid, unsigned bs, uint32_t want[64], uint32_t *wdist);
void cref_cg_tile_reduce_want(const int32_t *in, int32_t *want, unsigned n, unsigned nb);
void cref_cg_tile16_inputs(int32_t *in, unsigned n);
void cref_cg_tile16_want(const int32_t *in, int32_t *want, unsigned n, unsigned bs);   /* 8 per thread */
void cref_cg_coalesced_want(const int32_t *in, int32_t *want, unsigned n);            /* 3 per thread */
void cref_cg_tile_scan_want(const int32_t *in, int32_t *wi, int32_t *we, unsigned n);
void cref_tmpl_sum_i32_want(const int32_t *in, int32_t *want, unsigned n, unsigned nb);   /* blocks of 256 */
void cref_tmpl_max_f32_want(const float *in, float *want, unsigned n, unsigned nb);       /* blocks of 128 */
void cref_tmpl_sum_f64_want(const double *in, double *want, unsigned n, unsigned nb);     /* blocks of 64 */
void cref_tmpl_dot8_want(const uint32_t *a, const uint32_t *b, uint32_t *want, unsigned rows);
void cref_tmpl_quantize_want(const float *x, int16_t *wq, unsigned n, float scale);
void cref_tmpl_lambda_want(const int32_t *x, int64_t *wl, unsigned n, int k);

/* ---- linalg: matmul.cu, transpose.cu, stencil.cu, blas1.cu (corpus_ref_linalg.c) -------------- */
void cref_matmul_f32_want(const float *A, const float *B, float *C, int M, int N, int K);
void cref_matmul_f64_want(const double *A, const double *B, double *W, int M, int N, int K);
void cref_transpose_f32_want(const float *in, float *want, int w, int h);
void cref_transpose_u64_inputs(uint64_t *in, size_t n);
void cref_transpose_u64_want(const uint64_t *in, uint64_t *want, int w, int h);
void cref_stencil1d_want(const float w[7], const float *in, float *want, int n);
void cref_stencil2d_want(const float *in, float *want, int w, int h, float c0, float c1);
void cref_stencil3d_want(const float *in, float *want, int nx, int ny, int nz);
void cref_grid_ids_3d_want(const unsigned g[3], const unsigned b[3], uint32_t *want, uint32_t wdims[7]);   /* 2 per thread */
void cref_saxpy_want(float a, const float *x, const float *y, float *want, unsigned n);
void cref_daxpy_want(double a, const double *x, const double *y, double *want, unsigned n);
void cref_sscal_want(float a, const float *x, float *want, unsigned n);
double cref_ddot_want(const double *x, const double *y, unsigned n, double *mag);   /* mag: sum of |terms| */

#ifdef __cplusplus
}
#endif
#endif
