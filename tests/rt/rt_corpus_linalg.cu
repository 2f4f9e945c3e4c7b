// rt_corpus_linalg.cu: the linear-algebra part of the kernel corpus (matmul.cu, transpose.cu,
// blas1.cu, stencil.cu: 15 kernels) as a CUDA runtime program (rt_corpus.h says how), with the
// inputs, references and tolerances of tests/emu/test_corpus_linalg.c; stencil1d's weights go to
// __constant__ memory with cudaMemcpyToSymbolAsync.
#include "rt_corpus.h"
#include "../kernels/matmul.cu"
#include "../kernels/transpose.cu"
#include "../kernels/blas1.cu"
#include "../kernels/stencil.cu"   // last: it defines R, BX and BY
#include "../common/corpus_ref_linalg.c"

/* ---- matrix multiply ---------------------------------------------------------------------------- */

static size_t ref_matmul_f32(const char *what, const float *A, const float *B, const float *C, int M, int N, int K)
{
    std::vector<float> W((size_t)M * N);
    cref_matmul_f32_want(A, B, W.data(), M, N, K);
    // |terms| <= 1, K terms: an absolute bound scaled by K covers any contraction differences
    return rc_cmp_f32(what, C, W.data(), (size_t)M * N, 1e-5, 1e-6 * K);
}

static void case_matmul_tiled_f32(cudaStream_t s)
{
    int M = 120, N = 136, K = 75;
    float *A = rc_host<float>((size_t)M * K), *B = rc_host<float>((size_t)K * N);
    rc_fill_f32(A, (size_t)M * K, -1.0, 1.0, 101);
    rc_fill_f32(B, (size_t)K * N, -1.0, 1.0, 102);
    float *dA = rc_dup(A, (size_t)M * K, s), *dB = rc_dup(B, (size_t)K * N, s), *dC = rc_dalloc<float>((size_t)M * N, s);
    RC_LAUNCH_SMEM(matmul_tiled_f32, 2 * 16 * 16 * 4, dim3(rc_div_up(N, 16), rc_div_up(M, 16)), dim3(16, 16), 0, s,
                   dA, dB, dC, M, N, K);
    float *C = rc_get(dC, (size_t)M * N, s);
    rc_free(dA, s); rc_free(dB, s); rc_free(dC, s);
    rc_verify(s, "matmul_tiled_f32", [=] { return ref_matmul_f32("matmul_tiled_f32", A, B, C, M, N, K); });
}

static void case_matmul_naive_f32(cudaStream_t s)
{
    int M = 100, N = 130, K = 64;
    float *A = rc_host<float>((size_t)M * K), *B = rc_host<float>((size_t)K * N);
    rc_fill_f32(A, (size_t)M * K, -1.0, 1.0, 103);
    rc_fill_f32(B, (size_t)K * N, -1.0, 1.0, 104);
    float *dA = rc_dup(A, (size_t)M * K, s), *dB = rc_dup(B, (size_t)K * N, s), *dC = rc_dalloc<float>((size_t)M * N, s);
    RC_LAUNCH(matmul_naive_f32, dim3(rc_div_up(N, 32), rc_div_up(M, 8)), dim3(32, 8), 0, s, dA, dB, dC, M, N, K);
    float *C = rc_get(dC, (size_t)M * N, s);
    rc_free(dA, s); rc_free(dB, s); rc_free(dC, s);
    rc_verify(s, "matmul_naive_f32", [=] { return ref_matmul_f32("matmul_naive_f32", A, B, C, M, N, K); });
}

static void case_matmul_tiled_f64(cudaStream_t s)
{
    int M = 120, N = 136, K = 75;
    double *A = rc_host<double>((size_t)M * K), *B = rc_host<double>((size_t)K * N);
    rc_fill_f64(A, (size_t)M * K, -1.0, 1.0, 105);
    rc_fill_f64(B, (size_t)K * N, -1.0, 1.0, 106);
    double *dA = rc_dup(A, (size_t)M * K, s), *dB = rc_dup(B, (size_t)K * N, s), *dC = rc_dalloc<double>((size_t)M * N, s);
    RC_LAUNCH_SMEM(matmul_tiled_f64, 2 * 16 * 16 * 8, dim3(rc_div_up(N, 16), rc_div_up(M, 16)), dim3(16, 16), 0, s,
                   dA, dB, dC, M, N, K);
    double *C = rc_get(dC, (size_t)M * N, s);
    rc_free(dA, s); rc_free(dB, s); rc_free(dC, s);
    rc_verify(s, "matmul_tiled_f64", [=] {
        std::vector<double> W((size_t)M * N);
        cref_matmul_f64_want(A, B, W.data(), M, N, K);
        // the same order of fused multiply-adds as the kernel: tight tolerance
        return rc_cmp_f64("matmul_tiled_f64", C, W.data(), (size_t)M * N, 1e-12, 1e-13);
    });
}

/* ---- transpose ------------------------------------------------------------------------------------ */

static size_t check_transpose(const char *what, const float *in, const float *got, int w, int h)
{
    std::vector<float> want((size_t)w * h);
    cref_transpose_f32_want(in, want.data(), w, h);
    return rc_cmp_f32(what, got, want.data(), (size_t)w * h, 0, 0);
}

static size_t check_transpose(const char *what, const unsigned long long *in, const unsigned long long *got, int w, int h)
{
    std::vector<uint64_t> want((size_t)w * h);
    cref_transpose_u64_want((const uint64_t *)in, want.data(), w, h);
    return rc_cmp_int(what, got, (const unsigned long long *)want.data(), (size_t)w * h);
}

static void case_transpose_f32(cudaStream_t s)
{
    int w = 333, h = 250;
    float *in = rc_host<float>((size_t)w * h);
    rc_fill_f32(in, (size_t)w * h, -10.0, 10.0, 111);
    float *din = rc_dup(in, (size_t)w * h, s), *d1 = rc_dalloc<float>((size_t)w * h, s), *d2 = rc_dalloc<float>((size_t)w * h, s);
    RC_LAUNCH(transpose_naive_f32, dim3(rc_div_up(w, 16), rc_div_up(h, 16)), dim3(16, 16), 0, s, d1, din, w, h);
    RC_LAUNCH_SMEM(transpose_tiled_f32, 32 * 33 * 4, dim3(rc_div_up(w, 32), rc_div_up(h, 32)), dim3(32, 8), 0, s, d2, din, w, h);
    float *g1 = rc_get(d1, (size_t)w * h, s), *g2 = rc_get(d2, (size_t)w * h, s);
    rc_free(din, s); rc_free(d1, s); rc_free(d2, s);
    rc_verify(s, "transpose_naive_f32 / transpose_tiled_f32", [=] {
        return check_transpose("transpose_naive_f32", in, g1, w, h) + check_transpose("transpose_tiled_f32", in, g2, w, h);
    });
}

static void case_transpose_u64(cudaStream_t s)
{
    int w = 200, h = 150;
    unsigned long long *in = rc_host<unsigned long long>((size_t)w * h);
    cref_transpose_u64_inputs((uint64_t *)in, (size_t)w * h);
    unsigned long long *din = rc_dup(in, (size_t)w * h, s), *dout = rc_dalloc<unsigned long long>((size_t)w * h, s);
    RC_LAUNCH_SMEM(transpose_tiled_u64, 32 * 33 * 8, dim3(rc_div_up(w, 32), rc_div_up(h, 32)), dim3(32, 8), 0, s, dout, din, w, h);
    unsigned long long *got = rc_get(dout, (size_t)w * h, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "transpose_tiled_u64", [=] { return check_transpose("transpose_tiled_u64", in, got, w, h); });
}

/* ---- stencils ------------------------------------------------------------------------------------- */

static void case_stencil1d(cudaStream_t s)
{
    int n = (1 << 16) + 13;
    unsigned bs = 256;
    static const float w[7] = { 0.05f, -0.1f, 0.25f, 0.6f, 0.25f, -0.1f, 0.05f };
    float *in = rc_host<float>(n);
    rc_fill_f32(in, n, -1.0, 1.0, 121);
    RT_CHECK(cudaMemcpyToSymbolAsync(c_w1d, w, sizeof w, 0, cudaMemcpyHostToDevice, s));
    float *din = rc_dup(in, n, s), *dout = rc_dalloc<float>(n, s);
    RC_LAUNCH(stencil1d_f32, rc_div_up(n, bs), bs, (bs + 6) * 4, s, din, dout, n);
    float *got = rc_get(dout, n, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "stencil1d_f32", [=] {
        std::vector<float> want(n);
        cref_stencil1d_want(w, in, want.data(), n);
        return rc_cmp_f32("stencil1d", got, want.data(), n, 1e-5, 1e-6);
    });
}

static void case_stencil2d(cudaStream_t s)
{
    int w = 300, h = 200;
    float c0 = 0.5f, c1 = 0.125f;
    float *in = rc_host<float>((size_t)w * h);
    rc_fill_f32(in, (size_t)w * h, 0.0, 4.0, 123);
    float *din = rc_dup(in, (size_t)w * h, s), *dout = rc_dalloc<float>((size_t)w * h, s);
    RC_LAUNCH_SMEM(stencil2d_f32, 18 * 18 * 4, dim3(rc_div_up(w, 16), rc_div_up(h, 16)), dim3(16, 16), 0, s, din, dout, w, h, c0, c1);
    float *got = rc_get(dout, (size_t)w * h, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "stencil2d_f32", [=] {
        std::vector<float> want((size_t)w * h);
        cref_stencil2d_want(in, want.data(), w, h, c0, c1);
        return rc_cmp_f32("stencil2d", got, want.data(), (size_t)w * h, 1e-5, 1e-6);
    });
}

static void case_stencil3d(cudaStream_t s)
{
    int nx = 40, ny = 36, nz = 20;
    size_t n = (size_t)nx * ny * nz;
    float *in = rc_host<float>(n);
    rc_fill_f32(in, n, -1.0, 1.0, 125);
    float *din = rc_dup(in, n, s), *dout = rc_dalloc<float>(n, s);
    RC_LAUNCH(stencil3d_f32, dim3(rc_div_up(nx, 8), rc_div_up(ny, 8), rc_div_up(nz, 4)), dim3(8, 8, 4), 0, s, din, dout, nx, ny, nz);
    float *got = rc_get(dout, n, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "stencil3d_f32", [=] {
        std::vector<float> want(n);
        cref_stencil3d_want(in, want.data(), nx, ny, nz);
        return rc_cmp_f32("stencil3d", got, want.data(), n, 1e-5, 1e-6);
    });
}

static void case_grid_ids_3d(cudaStream_t s)
{
    dim3 g(5, 3, 4), b(8, 4, 2);
    unsigned nthreads = b.x * b.y * b.z, total = g.x * g.y * g.z * nthreads;
    unsigned *dout = rc_dalloc<unsigned>((size_t)total * 2, s), *ddims = rc_dalloc<unsigned>(7, s);
    RC_LAUNCH(grid_ids_3d, g, b, 0, s, dout, ddims);
    unsigned *got = rc_get(dout, (size_t)total * 2, s), *dims = rc_get(ddims, 7, s);
    rc_free(dout, s); rc_free(ddims, s);
    rc_verify(s, "grid_ids_3d", [=] {
        std::vector<unsigned> want((size_t)total * 2);
        unsigned wdims[7];
        const unsigned gs[3] = { g.x, g.y, g.z }, bs[3] = { b.x, b.y, b.z };
        cref_grid_ids_3d_want(gs, bs, want.data(), wdims);
        return rc_cmp_int("ids", got, want.data(), (size_t)total * 2) + rc_cmp_int("dims", dims, wdims, 7);
    });
}

/* ---- BLAS level 1 ---------------------------------------------------------------------------------- */

static void case_saxpy(cudaStream_t s)
{
    unsigned n = (1u << 16) + 7, grid, block;
    float a = 2.5f;
    float *x = rc_host<float>(n), *y = rc_host<float>(n);
    rc_fill_f32(x, n, -1.0, 1.0, 131);
    rc_fill_f32(y, n, -1.0, 1.0, 132);
    float *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s);
    RC_LAUNCH(saxpy, rc_div_up(n, 256), 256, 0, s, a, dx, dy, n);
    float *g1 = rc_get(dy, n, s);
    // the grid-stride variant adds a*x again, on the grid the occupancy API suggests
    rc_occupancy(saxpy_gridstride, 0, 1024, n, &grid, &block);
    RC_LAUNCH(saxpy_gridstride, grid, block, 0, s, a, dx, dy, n);
    float *g2 = rc_get(dy, n, s);
    rc_free(dx, s); rc_free(dy, s);
    rc_verify(s, "saxpy / saxpy_gridstride", [=] {
        std::vector<float> want(n);
        cref_saxpy_want(a, x, y, want.data(), n);   // nvcc fuses a*x+y
        size_t bad = rc_cmp_f32("saxpy", g1, want.data(), n, 0, 0);
        cref_saxpy_want(a, x, want.data(), want.data(), n);
        return bad + rc_cmp_f32("saxpy_gridstride", g2, want.data(), n, 0, 0);
    });
}

static void case_daxpy(cudaStream_t s)
{
    unsigned n = (1u << 16) + 9;
    double a = -1.75;
    double *x = rc_host<double>(n), *y = rc_host<double>(n);
    rc_fill_f64(x, n, -1.0, 1.0, 133);
    rc_fill_f64(y, n, -1.0, 1.0, 134);
    double *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s);
    RC_LAUNCH(daxpy, rc_div_up(n, 128), 128, 0, s, a, dx, dy, n);
    double *got = rc_get(dy, n, s);
    rc_free(dx, s); rc_free(dy, s);
    rc_verify(s, "daxpy", [=] {
        std::vector<double> want(n);
        cref_daxpy_want(a, x, y, want.data(), n);
        return rc_cmp_f64("daxpy", got, want.data(), n, 0, 0);
    });
}

static void case_sscal_vec4(cudaStream_t s)
{
    unsigned n4 = 1u << 14;
    float a = -0.75f;
    float *x = rc_host<float>((size_t)n4 * 4);
    rc_fill_f32(x, (size_t)n4 * 4, -100.0, 100.0, 135);
    float4 *dx = (float4 *)rc_dup(x, (size_t)n4 * 4, s);
    RC_LAUNCH(sscal_vec4, rc_div_up(n4, 128), 128, 0, s, a, dx, n4);
    float *got = rc_get((const float *)dx, (size_t)n4 * 4, s);
    rc_free((float *)dx, s);
    rc_verify(s, "sscal_vec4", [=] {
        std::vector<float> want((size_t)n4 * 4);
        cref_sscal_want(a, x, want.data(), n4 * 4);
        return rc_cmp_f32("sscal_vec4", got, want.data(), (size_t)n4 * 4, 0, 0);
    });
}

static void case_ddot_atomic(cudaStream_t s)
{
    unsigned n = (1u << 16) + 21;
    double *x = rc_host<double>(n), *y = rc_host<double>(n);
    rc_fill_f64(x, n, -1.0, 1.0, 137);
    rc_fill_f64(y, n, -1.0, 1.0, 138);
    double *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s), *dr = rc_dalloc<double>(1, s);
    RC_LAUNCH_SMEM(ddot_atomic, 256 * 8, 80, 256, 0, s, dx, dy, dr, n);   // blockDim.x must be 256
    double *got = rc_get(dr, 1, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dr, s);
    rc_verify(s, "ddot_atomic", [=] {
        double mag, want = cref_ddot_want(x, y, n, &mag);
        // the order of the blocks' atomics is not fixed: bound by the magnitude of the terms
        if (fabs(*got - want) <= 1e-12 * mag) return (size_t)0;
        std::printf("  dot %.17g, want %.17g\n", *got, want);
        return (size_t)1;
    });
}

int main()
{
    static const rc_case_fn cases[] = { case_matmul_tiled_f32, case_matmul_naive_f32, case_matmul_tiled_f64,
                                        case_transpose_f32,    case_transpose_u64,    case_stencil1d,
                                        case_stencil2d,        case_stencil3d,        case_grid_ids_3d,
                                        case_saxpy,            case_daxpy,            case_sscal_vec4,
                                        case_ddot_atomic };
    return rc_main("rt_corpus_linalg", cases, sizeof cases / sizeof *cases, 3, 15);
}
