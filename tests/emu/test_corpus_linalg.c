/* test_corpus_linalg.c: corpus cases for dense linear algebra and grids: matrix multiply
 * (matmul.cu), transposes (transpose.cu), 1D/2D/3D stencils and 3D grid geometry (stencil.cu),
 * and level-1 BLAS (blas1.cu). Seeded inputs, many blocks, C references; floats compared with
 * tolerances sized to the length of each sum (exactly where a single fma per element is made). */
#include "bft.h"
#include "corpus_ref.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- matrix multiply --------------------------------------------------------------------------- */

static void run_matmul_f32(const char *kernel, int M, int N, int K, bft_dim3 grid, bft_dim3 block, uint64_t seed)
{
    float *A = bft_alloc((size_t)M * K * 4), *B = bft_alloc((size_t)K * N * 4);
    float *C = bft_alloc((size_t)M * N * 4), *W = bft_alloc((size_t)M * N * 4);
    bft_fill_f32(A, (size_t)M * K, -1.0, 1.0, seed);
    bft_fill_f32(B, (size_t)K * N, -1.0, 1.0, seed + 1);
    CUdeviceptr dA = bft_dup(A, (size_t)M * K * 4), dB = bft_dup(B, (size_t)K * N * 4);
    CUdeviceptr dC = bft_dalloc((size_t)M * N * 4);
    BFT_LAUNCH(bft_func("matmul", kernel), grid, block, 0, &dA, &dB, &dC, &M, &N, &K);
    bft_sync();
    bft_download(C, dC, (size_t)M * N * 4);
    cref_matmul_f32_want(A, B, W, M, N, K);
    /* |terms| <= 1, K terms: an absolute bound scaled by K covers any contraction differences */
    bft_cmp_f32(kernel, C, W, (size_t)M * N, 1e-5, 1e-6 * K);
}

BFT_CASE(matmul_tiled_f32)
{
    int M = 120, N = 136, K = 75;
    run_matmul_f32("matmul_tiled_f32", M, N, K, bft_d3(bft_div_up(N, 16), bft_div_up(M, 16), 1), bft_d3(16, 16, 1), 101);
}

BFT_CASE(matmul_naive_f32)
{
    int M = 100, N = 130, K = 64;
    run_matmul_f32("matmul_naive_f32", M, N, K, bft_d3(bft_div_up(N, 32), bft_div_up(M, 8), 1), bft_d3(32, 8, 1), 103);
}

BFT_CASE(matmul_tiled_f64)
{
    int M = 120, N = 136, K = 75;
    double *A = bft_alloc((size_t)M * K * 8), *B = bft_alloc((size_t)K * N * 8);
    double *C = bft_alloc((size_t)M * N * 8), *W = bft_alloc((size_t)M * N * 8);
    bft_fill_f64(A, (size_t)M * K, -1.0, 1.0, 105);
    bft_fill_f64(B, (size_t)K * N, -1.0, 1.0, 106);
    cref_matmul_f64_want(A, B, W, M, N, K);
    CUdeviceptr dA = bft_dup(A, (size_t)M * K * 8), dB = bft_dup(B, (size_t)K * N * 8);
    CUdeviceptr dC = bft_dalloc((size_t)M * N * 8);
    BFT_LAUNCH(bft_func("matmul", "matmul_tiled_f64"), bft_d3(bft_div_up(N, 16), bft_div_up(M, 16), 1),
               bft_d3(16, 16, 1), 0, &dA, &dB, &dC, &M, &N, &K);
    bft_sync();
    bft_download(C, dC, (size_t)M * N * 8);
    /* same order of fused multiply-adds as the kernel: tight tolerance */
    bft_cmp_f64("matmul_tiled_f64", C, W, (size_t)M * N, 1e-12, 1e-13);
}

/* ---- transpose --------------------------------------------------------------------------------- */

static void run_transpose_f32(const char *kernel, int w, int h, bft_dim3 grid, bft_dim3 block)
{
    float *in = bft_alloc((size_t)w * h * 4), *got = bft_alloc((size_t)w * h * 4), *want = bft_alloc((size_t)w * h * 4);
    bft_fill_f32(in, (size_t)w * h, -10.0, 10.0, 111);
    cref_transpose_f32_want(in, want, w, h);
    CUdeviceptr din = bft_dup(in, (size_t)w * h * 4), dout = bft_dalloc((size_t)w * h * 4);
    BFT_LAUNCH(bft_func("transpose", kernel), grid, block, 0, &dout, &din, &w, &h);
    bft_sync();
    bft_download(got, dout, (size_t)w * h * 4);
    bft_cmp_f32(kernel, got, want, (size_t)w * h, 0, 0);
}

BFT_CASE(transpose_naive_f32)
{
    int w = 333, h = 250;
    run_transpose_f32("transpose_naive_f32", w, h, bft_d3(bft_div_up(w, 16), bft_div_up(h, 16), 1), bft_d3(16, 16, 1));
}

BFT_CASE(transpose_tiled_f32)
{
    int w = 333, h = 250;
    run_transpose_f32("transpose_tiled_f32", w, h, bft_d3(bft_div_up(w, 32), bft_div_up(h, 32), 1), bft_d3(32, 8, 1));
}

BFT_CASE(transpose_tiled_u64)
{
    int w = 200, h = 150;
    uint64_t *in = bft_alloc((size_t)w * h * 8), *got = bft_alloc((size_t)w * h * 8), *want = bft_alloc((size_t)w * h * 8);
    cref_transpose_u64_inputs(in, (size_t)w * h);
    cref_transpose_u64_want(in, want, w, h);
    CUdeviceptr din = bft_dup(in, (size_t)w * h * 8), dout = bft_dalloc((size_t)w * h * 8);
    BFT_LAUNCH(bft_func("transpose", "transpose_tiled_u64"), bft_d3(bft_div_up(w, 32), bft_div_up(h, 32), 1),
               bft_d3(32, 8, 1), 0, &dout, &din, &w, &h);
    bft_sync();
    bft_download(got, dout, (size_t)w * h * 8);
    bft_cmp_u64("transpose_u64", got, want, (size_t)w * h);
}

/* ---- stencils ---------------------------------------------------------------------------------- */

BFT_CASE(stencil1d_const_weights)
{
    int n = (1 << 16) + 13;
    unsigned bs = 256;
    float w[7] = { 0.05f, -0.1f, 0.25f, 0.6f, 0.25f, -0.1f, 0.05f };
    float *in = bft_alloc((size_t)n * 4), *got = bft_alloc((size_t)n * 4), *want = bft_alloc((size_t)n * 4);
    size_t wsize = 0;
    bft_fill_f32(in, (size_t)n, -1.0, 1.0, 121);
    CUdeviceptr dw = bft_global("stencil", "c_w1d", &wsize);
    EXPECT(wsize == sizeof w, "c_w1d size %zu, want %zu", wsize, sizeof w);
    bft_upload(dw, w, sizeof w);
    CUdeviceptr din = bft_dup(in, (size_t)n * 4), dout = bft_dalloc((size_t)n * 4);
    BFT_LAUNCH(bft_func("stencil", "stencil1d_f32"), bft_d1(bft_div_up((size_t)n, bs)), bft_d1(bs), (bs + 6) * 4,
               &din, &dout, &n);
    bft_sync();
    bft_download(got, dout, (size_t)n * 4);
    cref_stencil1d_want(w, in, want, n);
    bft_cmp_f32("stencil1d", got, want, (size_t)n, 1e-5, 1e-6);
}

BFT_CASE(stencil2d_f32)
{
    int w = 300, h = 200;
    float c0 = 0.5f, c1 = 0.125f;
    float *in = bft_alloc((size_t)w * h * 4), *got = bft_alloc((size_t)w * h * 4), *want = bft_alloc((size_t)w * h * 4);
    bft_fill_f32(in, (size_t)w * h, 0.0, 4.0, 123);
    cref_stencil2d_want(in, want, w, h, c0, c1);
    CUdeviceptr din = bft_dup(in, (size_t)w * h * 4), dout = bft_dalloc((size_t)w * h * 4);
    BFT_LAUNCH(bft_func("stencil", "stencil2d_f32"), bft_d3(bft_div_up(w, 16), bft_div_up(h, 16), 1), bft_d3(16, 16, 1),
               0, &din, &dout, &w, &h, &c0, &c1);
    bft_sync();
    bft_download(got, dout, (size_t)w * h * 4);
    bft_cmp_f32("stencil2d", got, want, (size_t)w * h, 1e-5, 1e-6);
}

BFT_CASE(stencil3d_f32)
{
    int nx = 40, ny = 36, nz = 20;
    size_t n = (size_t)nx * ny * nz;
    float *in = bft_alloc(n * 4), *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    bft_fill_f32(in, n, -1.0, 1.0, 125);
    cref_stencil3d_want(in, want, nx, ny, nz);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("stencil", "stencil3d_f32"), bft_d3(bft_div_up(nx, 8), bft_div_up(ny, 8), bft_div_up(nz, 4)),
               bft_d3(8, 8, 4), 0, &din, &dout, &nx, &ny, &nz);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_cmp_f32("stencil3d", got, want, n, 1e-5, 1e-6);
}

BFT_CASE(grid_ids_3d)
{
    bft_dim3 g = bft_d3(5, 3, 4), b = bft_d3(8, 4, 2);
    unsigned nthreads = b.x * b.y * b.z, total = g.x * g.y * g.z * nthreads;
    uint32_t *got = bft_alloc((size_t)total * 8), *want = bft_alloc((size_t)total * 8), dims[7];
    uint32_t wdims[7];
    const unsigned gs[3] = { g.x, g.y, g.z }, bs[3] = { b.x, b.y, b.z };
    cref_grid_ids_3d_want(gs, bs, want, wdims);
    CUdeviceptr dout = bft_dalloc((size_t)total * 8), ddims = bft_dalloc(sizeof dims);
    BFT_LAUNCH(bft_func("stencil", "grid_ids_3d"), g, b, 0, &dout, &ddims);
    bft_sync();
    bft_download(got, dout, (size_t)total * 8);
    bft_download(dims, ddims, sizeof dims);
    bft_cmp_u32("ids", got, want, (size_t)total * 2);
    bft_cmp_u32("dims", dims, wdims, 7);
}

/* ---- BLAS level 1 ------------------------------------------------------------------------------ */

BFT_CASE(saxpy)
{
    unsigned n = (1u << 16) + 7;
    float a = 2.5f;
    float *x = bft_alloc(n * 4), *y = bft_alloc(n * 4), *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    bft_fill_f32(x, n, -1.0, 1.0, 131);
    bft_fill_f32(y, n, -1.0, 1.0, 132);
    cref_saxpy_want(a, x, y, want, n);   /* nvcc fuses a*x+y */
    CUdeviceptr dx = bft_dup(x, n * 4), dy = bft_dup(y, n * 4);
    BFT_LAUNCH(bft_func("blas1", "saxpy"), bft_d1(bft_div_up(n, 256)), bft_d1(256), 0, &a, &dx, &dy, &n);
    bft_sync();
    bft_download(got, dy, n * 4);
    bft_cmp_f32("saxpy", got, want, n, 0, 0);
    /* grid-stride variant on a small grid: adds a*x again */
    cref_saxpy_want(a, x, want, want, n);
    BFT_LAUNCH(bft_func("blas1", "saxpy_gridstride"), bft_d1(24), bft_d1(128), 0, &a, &dx, &dy, &n);
    bft_sync();
    bft_download(got, dy, n * 4);
    bft_cmp_f32("saxpy_gridstride", got, want, n, 0, 0);
}

BFT_CASE(daxpy)
{
    unsigned n = (1u << 16) + 9;
    double a = -1.75;
    double *x = bft_alloc(n * 8), *y = bft_alloc(n * 8), *got = bft_alloc(n * 8), *want = bft_alloc(n * 8);
    bft_fill_f64(x, n, -1.0, 1.0, 133);
    bft_fill_f64(y, n, -1.0, 1.0, 134);
    cref_daxpy_want(a, x, y, want, n);
    CUdeviceptr dx = bft_dup(x, n * 8), dy = bft_dup(y, n * 8);
    BFT_LAUNCH(bft_func("blas1", "daxpy"), bft_d1(bft_div_up(n, 128)), bft_d1(128), 0, &a, &dx, &dy, &n);
    bft_sync();
    bft_download(got, dy, n * 8);
    bft_cmp_f64("daxpy", got, want, n, 0, 0);
}

BFT_CASE(sscal_vec4)
{
    unsigned n4 = 1u << 14;
    float a = -0.75f;
    float *x = bft_alloc(n4 * 16), *got = bft_alloc(n4 * 16), *want = bft_alloc(n4 * 16);
    bft_fill_f32(x, n4 * 4, -100.0, 100.0, 135);
    cref_sscal_want(a, x, want, n4 * 4);
    CUdeviceptr dx = bft_dup(x, n4 * 16);
    BFT_LAUNCH(bft_func("blas1", "sscal_vec4"), bft_d1(bft_div_up(n4, 128)), bft_d1(128), 0, &a, &dx, &n4);
    bft_sync();
    bft_download(got, dx, n4 * 16);
    bft_cmp_f32("sscal_vec4", got, want, n4 * 4, 0, 0);
}

BFT_CASE(ddot_atomic)
{
    unsigned n = (1u << 16) + 21;
    double *x = bft_alloc(n * 8), *y = bft_alloc(n * 8), got = 0, want = 0, mag = 0;
    bft_fill_f64(x, n, -1.0, 1.0, 137);
    bft_fill_f64(y, n, -1.0, 1.0, 138);
    want = cref_ddot_want(x, y, n, &mag);
    CUdeviceptr dx = bft_dup(x, n * 8), dy = bft_dup(y, n * 8), dr = bft_dalloc(8);
    BFT_LAUNCH(bft_func("blas1", "ddot_atomic"), bft_d1(80), bft_d1(256), 0, &dx, &dy, &dr, &n);
    bft_sync();
    bft_download(&got, dr, 8);
    /* the order of the blocks' atomics is not fixed: bound by the magnitude of the terms */
    EXPECT(fabs(got - want) <= 1e-12 * mag, "dot %.17g, want %.17g", got, want);
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
