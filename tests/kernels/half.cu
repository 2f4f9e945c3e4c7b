// half.cu: binary16 (cuda_fp16.h): __half arithmetic and comparisons, __half2 vector ops,
// and conversions with every rounding mode. Results are returned as raw bits. bfloat16 is in
// bf16.cu, atomicAdd on __half/__half2 in half_atomics.cu.
// Host side: tests/emu/test_corpus_math.c (exact, against a C reference rounding).
#include <cuda_fp16.h>

#define HALF_OUTS 12
extern "C" __global__ void half_arith(const float *x, const float *y, const float *z, unsigned short *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    __half a = __float2half_rn(x[i]), b = __float2half_rn(y[i]), c = __float2half_rn(z[i]);
    unsigned short *o = out + (size_t)i * HALF_OUTS;
    o[0] = __half_as_ushort(a);
    o[1] = __half_as_ushort(__hadd(a, b));
    o[2] = __half_as_ushort(__hsub(a, b));
    o[3] = __half_as_ushort(__hmul(a, b));
    o[4] = __half_as_ushort(__hfma(a, b, c));
    o[5] = __half_as_ushort(__hneg(a));
    o[6] = (unsigned short)(__hlt(a, b) | (__hge(a, b) << 1) | (__heq(a, c) << 2) | (__hgt(b, c) << 3));
    o[7] = __half_as_ushort(__float2half_rz(x[i]));
    o[8] = __half_as_ushort(__float2half_rd(y[i]));
    o[9] = __half_as_ushort(__float2half_ru(y[i]));
    o[10] = __half_as_ushort(__int2half_rn((int)(x[i] * 1000.0f)));
    o[11] = (unsigned short)__half2int_rz(__hmul(b, __float2half_rn(100.0f)));
}

// Half to float and arithmetic through float.
extern "C" __global__ void half_to_float(const unsigned short *h, float *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    __half a = __ushort_as_half(h[i]);
    out[2 * i] = __half2float(a);
    out[2 * i + 1] = __half2float(a) * 3.0f + 1.0f;
}

#define HALF2_OUTS 6
extern "C" __global__ void half2_arith(const float2 *xy, const float2 *zw, unsigned *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    __half2 a = __float22half2_rn(xy[i]), b = __float22half2_rn(zw[i]);
    __half2 r[HALF2_OUTS];
    r[0] = a;
    r[1] = __hadd2(a, b);
    r[2] = __hmul2(a, b);
    r[3] = __hfma2(a, b, a);
    r[4] = __lowhigh2highlow(a);
    r[5] = __halves2half2(__low2half(a), __high2half(b));
    for (int k = 0; k < HALF2_OUTS; ++k)
        out[(size_t)i * HALF2_OUTS + k] = ((unsigned)__half_as_ushort(__high2half(r[k])) << 16) |
                                          __half_as_ushort(__low2half(r[k]));
}
