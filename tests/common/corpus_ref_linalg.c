/* corpus_ref_linalg.c: inputs and references of the linear-algebra corpus cases (matmul.cu,
 * transpose.cu, stencil.cu, blas1.cu), shared by tests/emu/test_corpus_linalg.c and
 * tests/rt/rt_corpus_linalg.cu (corpus_ref.h says how). */
#include "corpus_ref.h"
#include <math.h>
#include <string.h>

/* ---- matrix multiply --------------------------------------------------------------------------- */

void cref_matmul_f32_want(const float *A, const float *B, float *C, int M, int N, int K)
{
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc = fmaf(A[(size_t)r * K + k], B[(size_t)k * N + c], acc);
            C[(size_t)r * N + c] = acc;
        }
}

void cref_matmul_f64_want(const double *A, const double *B, double *W, int M, int N, int K)
{
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) acc = fma(A[(size_t)r * K + k], B[(size_t)k * N + c], acc);
            W[(size_t)r * N + c] = acc;
        }
}

/* ---- transpose --------------------------------------------------------------------------------- */

void cref_transpose_f32_want(const float *in, float *want, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) want[(size_t)x * h + y] = in[(size_t)y * w + x];
}

void cref_transpose_u64_inputs(uint64_t *in, size_t n)
{
    cref_rng r = cref_rng_seed(113);
    for (size_t i = 0; i < n; i++) in[i] = cref_rand64(&r);
}

void cref_transpose_u64_want(const uint64_t *in, uint64_t *want, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) want[(size_t)x * h + y] = in[(size_t)y * w + x];
}

/* ---- stencils ---------------------------------------------------------------------------------- */

static int cref_clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

void cref_stencil1d_want(const float w[7], const float *in, float *want, int n)
{
    for (int g = 0; g < n; g++) {
        float acc = 0.0f;
        for (int j = -3; j <= 3; j++) acc = fmaf(w[j + 3], in[cref_clampi(g + j, 0, n - 1)], acc);
        want[g] = acc;
    }
}

void cref_stencil2d_want(const float *in, float *want, int w, int h, float c0, float c1)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
#define AT(xx, yy) in[(size_t)cref_clampi((yy), 0, h - 1) * w + cref_clampi((xx), 0, w - 1)]
            float nb = AT(x - 1, y) + AT(x + 1, y) + AT(x, y - 1) + AT(x, y + 1);
            want[(size_t)y * w + x] = c0 * AT(x, y) + c1 * nb;
#undef AT
        }
}

void cref_stencil3d_want(const float *in, float *want, int nx, int ny, int nz)
{
    for (int z = 0; z < nz; z++)
        for (int y = 0; y < ny; y++)
            for (int x = 0; x < nx; x++) {
                size_t i = ((size_t)z * ny + y) * nx + x, sy = (size_t)nx, sz = (size_t)nx * ny;
                float c = in[i], s = 0.0f;
                s += x > 0 ? in[i - 1] : c;
                s += x < nx - 1 ? in[i + 1] : c;
                s += y > 0 ? in[i - sy] : c;
                s += y < ny - 1 ? in[i + sy] : c;
                s += z > 0 ? in[i - sz] : c;
                s += z < nz - 1 ? in[i + sz] : c;
                want[i] = 0.4f * c + 0.1f * s;
            }
}

void cref_grid_ids_3d_want(const unsigned g[3], const unsigned b[3], uint32_t *want, uint32_t wdims[7])
{
    unsigned nthreads = b[0] * b[1] * b[2];
    for (unsigned bz = 0; bz < g[2]; bz++)
        for (unsigned by = 0; by < g[1]; by++)
            for (unsigned bx = 0; bx < g[0]; bx++)
                for (unsigned tz = 0; tz < b[2]; tz++)
                    for (unsigned ty = 0; ty < b[1]; ty++)
                        for (unsigned tx = 0; tx < b[0]; tx++) {
                            unsigned bid = (bz * g[1] + by) * g[0] + bx, tid = (tz * b[1] + ty) * b[0] + tx;
                            unsigned gid = bid * nthreads + tid;
                            want[2 * gid] = (bx << 24) | (by << 16) | (bz << 8) | tz;
                            want[2 * gid + 1] = (tx << 16) | ty;
                        }
    wdims[0] = g[0]; wdims[1] = g[1]; wdims[2] = g[2];
    wdims[3] = b[0]; wdims[4] = b[1]; wdims[5] = b[2]; wdims[6] = 32;
}

/* ---- BLAS level 1 ------------------------------------------------------------------------------ */

void cref_saxpy_want(float a, const float *x, const float *y, float *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) want[i] = fmaf(a, x[i], y[i]);   /* nvcc fuses a*x+y */
}

void cref_daxpy_want(double a, const double *x, const double *y, double *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) want[i] = fma(a, x[i], y[i]);
}

void cref_sscal_want(float a, const float *x, float *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) want[i] = a * x[i];
}

double cref_ddot_want(const double *x, const double *y, unsigned n, double *mag)
{
    double want = 0, m = 0;
    for (unsigned i = 0; i < n; i++) { want += x[i] * y[i]; m += fabs(x[i] * y[i]); }
    *mag = m;
    return want;
}
