// bf16.cu: bfloat16 (cuda_bf16.h) conversions (rn, rz, pairs) and arithmetic, which nvcc
// emulates through f32 for sm_75 (PTX such as `mov.b32 %f1, {0,%rs1};`).
// Host side: tests/emu/test_corpus_math.c (exact, against a C reference rounding).
#include <cuda_bf16.h>

#define BF16_OUTS 6
extern "C" __global__ void bf16_convert(const float *x, const float *y, unsigned short *out, float *fout, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    __nv_bfloat16 a = __float2bfloat16(x[i]);
    __nv_bfloat16 b = __float2bfloat16_rz(y[i]);
    __nv_bfloat162 p = __floats2bfloat162_rn(x[i], y[i]);
    unsigned short *o = out + (size_t)i * BF16_OUTS;
    o[0] = __bfloat16_as_ushort(a);
    o[1] = __bfloat16_as_ushort(b);
    o[2] = __bfloat16_as_ushort(__hadd(a, b));
    o[3] = __bfloat16_as_ushort(__hmul(a, b));
    o[4] = __bfloat16_as_ushort(__low2bfloat16(p));
    o[5] = __bfloat16_as_ushort(__high2bfloat16(p));
    fout[2 * i] = __bfloat162float(a);
    fout[2 * i + 1] = __bfloat162float(b) + __low2float(p);
}
