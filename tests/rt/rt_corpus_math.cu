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
#include "../common/corpus_ref_math.c"

/* ---- f64 / f32 ------------------------------------------------------------------------------------- */

static void case_math_f64(cudaStream_t s)
{
    unsigned n = 4096;
    double *x = rc_host<double>(n), *y = rc_host<double>(n);
    cref_math_f64_inputs(x, y, n);
    double *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s), *dout = rc_dalloc<double>((size_t)n * MATH_F64_OUTS, s);
    RC_LAUNCH(math_f64, rc_div_up(n, 64), 64, 0, s, dx, dy, dout, n);
    double *got = rc_get(dout, (size_t)n * MATH_F64_OUTS, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dout, s);
    rc_verify(s, "math_f64", [=] {
        std::vector<double> w((size_t)n * MATH_F64_OUTS);
        cref_math_f64_want(x, y, w.data(), n);
        size_t bad = 0;
        for (int k = 0; k < MATH_F64_OUTS; k++)
            bad += rc_cmp_f64(cref_math_f64_names[k], got + (size_t)k * n, &w[(size_t)k * n], n, cref_math_f64_rtol[k],
                              cref_math_f64_rtol[k] ? CREF_MATH_F64_ATOL : 0);
        return bad;
    });
}

static void case_math_f32(cudaStream_t s)
{
    unsigned n = 8192, grid, block;
    float *x = rc_host<float>(n), *y = rc_host<float>(n);
    cref_math_f32_inputs(x, y, n);
    float *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s), *dout = rc_dalloc<float>((size_t)n * MATH_F32_OUTS, s);
    rc_occupancy(math_f32, 0, 512, n, &grid, &block);   // bounds-checked: any block size
    grid = rc_div_up(n, block);
    RC_LAUNCH(math_f32, grid, block, 0, s, dx, dy, dout, n);
    float *got = rc_get(dout, (size_t)n * MATH_F32_OUTS, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dout, s);
    rc_verify(s, "math_f32", [=] {
        std::vector<float> w((size_t)n * MATH_F32_OUTS);
        cref_math_f32_want(x, y, w.data(), n);
        size_t bad = 0;
        for (int k = 0; k < MATH_F32_OUTS; k++)
            bad += rc_cmp_f32(cref_math_f32_names[k], got + (size_t)k * n, &w[(size_t)k * n], n, cref_math_f32_rtol[k],
                              cref_math_f32_atol[k]);
        return bad;
    });
}

static void case_convert_mix(cudaStream_t s)
{
    unsigned n = 1u << 14;
    long long *v = rc_host<long long>(n);
    cref_convert_mix_inputs((int64_t *)v, n);
    long long *dv = rc_dup(v, n, s), *di = rc_dalloc<long long>((size_t)n * 6, s);
    double *dd = rc_dalloc<double>((size_t)n * 2, s);
    RC_LAUNCH(convert_mix, rc_div_up(n, 256), 256, 0, s, dv, di, dd, n);
    long long *gi = rc_get(di, (size_t)n * 6, s);
    double *gd = rc_get(dd, (size_t)n * 2, s);
    rc_free(dv, s); rc_free(di, s); rc_free(dd, s);
    rc_verify(s, "convert_mix", [=] {
        std::vector<long long> wi((size_t)n * 6);
        std::vector<double> wd((size_t)n * 2);
        cref_convert_mix_want((const int64_t *)v, (int64_t *)wi.data(), wd.data(), n);
        return rc_cmp_int("int conversions (6 per element)", gi, wi.data(), (size_t)n * 6) +
               rc_cmp_f64("float conversions (2 per element)", gd, wd.data(), (size_t)n * 2, 0, 0);
    });
}

/* ---- binary16 / bfloat16 ------------------------------------------------------------------------- */

static void case_half_arith(cudaStream_t s)
{
    unsigned n = 8192;
    float *x = rc_host<float>(n), *y = rc_host<float>(n), *z = rc_host<float>(n);
    cref_half_arith_inputs(x, y, z, n);
    float *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s), *dz = rc_dup(z, n, s);
    unsigned short *dout = rc_dalloc<unsigned short>((size_t)n * HALF_OUTS, s);
    RC_LAUNCH(half_arith, rc_div_up(n, 128), 128, 0, s, dx, dy, dz, dout, n);
    unsigned short *got = rc_get(dout, (size_t)n * HALF_OUTS, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dz, s); rc_free(dout, s);
    rc_verify(s, "half_arith", [=] {
        std::vector<unsigned short> want((size_t)n * HALF_OUTS);
        cref_half_arith_want(x, y, z, want.data(), n);
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
        cref_half_to_float_want(want.data(), n);
        return rc_cmp_f32("half->float, then *3+1", got, want.data(), (size_t)n * 2, 0, 0);
    });
}

static void case_half2_arith(cudaStream_t s)
{
    unsigned n = 8192;
    float *xy = rc_host<float>((size_t)n * 2), *zw = rc_host<float>((size_t)n * 2);
    cref_half2_arith_inputs(xy, zw, n);
    float2 *dxy = (float2 *)rc_dup(xy, (size_t)n * 2, s), *dzw = (float2 *)rc_dup(zw, (size_t)n * 2, s);
    unsigned *dout = rc_dalloc<unsigned>((size_t)n * HALF2_OUTS, s);
    RC_LAUNCH(half2_arith, rc_div_up(n, 128), 128, 0, s, dxy, dzw, dout, n);
    unsigned *got = rc_get(dout, (size_t)n * HALF2_OUTS, s);
    rc_free((float *)dxy, s); rc_free((float *)dzw, s); rc_free(dout, s);
    rc_verify(s, "half2_arith", [=] {
        std::vector<unsigned> want((size_t)n * HALF2_OUTS);
        cref_half2_arith_want(xy, zw, want.data(), n);
        return rc_cmp_int("half2 results (6 per element: cvt add mul fma swap halves)", got, want.data(),
                          (size_t)n * HALF2_OUTS);
    });
}

static void case_bf16_convert(cudaStream_t s)
{
    unsigned n = 8192;
    float *x = rc_host<float>(n), *y = rc_host<float>(n);
    cref_bf16_convert_inputs(x, y, n);
    float *dx = rc_dup(x, n, s), *dy = rc_dup(y, n, s), *dfo = rc_dalloc<float>((size_t)n * 2, s);
    unsigned short *dout = rc_dalloc<unsigned short>((size_t)n * BF16_OUTS, s);
    RC_LAUNCH(bf16_convert, rc_div_up(n, 128), 128, 0, s, dx, dy, dout, dfo, n);
    unsigned short *got = rc_get(dout, (size_t)n * BF16_OUTS, s);
    float *gf = rc_get(dfo, (size_t)n * 2, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dfo, s); rc_free(dout, s);
    rc_verify(s, "bf16_convert", [=] {
        std::vector<unsigned short> want((size_t)n * BF16_OUTS);
        std::vector<float> wf((size_t)n * 2);
        cref_bf16_convert_want(x, y, want.data(), wf.data(), n);
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
        cref_half_atomics_want(whs, wh2);
        return rc_cmp_int("atomicAdd(__half)", hs, whs, 8) + rc_cmp_int("atomicAdd(__half2)", h2, wh2, 8);
    });
}

/* ---- integer bit operations -------------------------------------------------------------------- */

static void case_int_bits(cudaStream_t s)
{
    unsigned n = 1u << 14;
    uint32_t *xs = rc_host<uint32_t>(n), *ys = rc_host<uint32_t>(n);
    unsigned long long *zs = rc_host<unsigned long long>(n);
    cref_int_bits_inputs(xs, ys, (uint64_t *)zs, n);
    unsigned *dx = rc_dup(xs, n, s), *dy = rc_dup(ys, n, s), *dout = rc_dalloc<unsigned>((size_t)n * BITS_OUTS, s);
    unsigned long long *dz = rc_dup(zs, n, s);
    RC_LAUNCH(int_bits, rc_div_up(n, 128), 128, 0, s, dx, dy, dz, dout, n);
    unsigned *got = rc_get(dout, (size_t)n * BITS_OUTS, s);
    rc_free(dx, s); rc_free(dy, s); rc_free(dout, s); rc_free(dz, s);
    rc_verify(s, "int_bits", [=] {
        size_t total = 0;
        std::vector<uint32_t> want((size_t)n * BITS_OUTS);
        cref_int_bits_want(xs, ys, (const uint64_t *)zs, want.data(), n);
        for (int k = 0; k < BITS_OUTS; k++) {
            size_t bad = 0;
            for (unsigned i = 0; i < n; i++) {
                uint32_t g = got[(size_t)i * BITS_OUTS + k], w = want[(size_t)i * BITS_OUTS + k];
                if (g == w) continue;
                if (bad < 4)
                    std::printf("    %s[%u]: got 0x%08x, want 0x%08x (x=0x%08x y=0x%08x z=0x%016llx)\n", cref_int_bits_names[k], i, g, w,
                                xs[i], ys[i], (unsigned long long)zs[i]);
                bad++;
            }
            if (bad) std::printf("  %s: %zu of %u differ\n", cref_int_bits_names[k], bad, n);
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
    cref_int_divmod_inputs(a, b, (int64_t *)A, (int64_t *)B, n);
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
        cref_int_divmod_want(a, b, (const int64_t *)A, (const int64_t *)B, w32.data(), (int64_t *)w64.data(), n);
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
