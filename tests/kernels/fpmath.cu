// fpmath.cu: floating-point math. f64: sqrt, exp, log, sin, cos, pow, fma, division, rounding
// functions, fmod, and conversions; f32: IEEE division/sqrt, rsqrtf, the fast intrinsics
// (__expf, __sinf, __cosf, __fdividef, __logf), libdevice expf/logf/sinf/powf, directed-rounding
// intrinsics and float<->int conversions. Outputs are laid out out[k * n + i].
// Host side: tests/emu/test_corpus_math.c (exact where IEEE makes it exact, else tolerance).

#define MATH_F64_OUTS 16
extern "C" __global__ void math_f64(const double *x, const double *y, double *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double a = x[i], b = y[i];            // a in [0.1, 10), b in [-3, 3)
    out[0 * n + i] = sqrt(a);
    out[1 * n + i] = exp(b);
    out[2 * n + i] = log(a);
    out[3 * n + i] = sin(a * b);
    out[4 * n + i] = cos(a * b);
    out[5 * n + i] = pow(a, b);
    out[6 * n + i] = fma(a, b, 0.375);
    out[7 * n + i] = a / b;
    out[8 * n + i] = floor(b * 3.7) + ceil(a * 1.3) * 1000.0;
    out[9 * n + i] = trunc(b * 5.5) + round(b * 2.5) * 100.0;
    out[10 * n + i] = fmod(a, b);
    out[11 * n + i] = fmin(a, b) * 3.0 + fmax(a, b) + fabs(b);
    out[12 * n + i] = tanh(b) + atan2(b, a);
    out[13 * n + i] = (double)(long long)(b * 1.0e9) + (double)(unsigned)(a * 1.0e8);
    out[14 * n + i] = (double)(float)(a * b);
    out[15 * n + i] = rsqrt(a) + cbrt(b);
}

#define MATH_F32_OUTS 20
extern "C" __global__ void math_f32(const float *x, const float *y, float *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float a = x[i], b = y[i];             // a in [0.1, 10), b in [-3, 3)
    out[0 * n + i] = a / b;
    out[1 * n + i] = sqrtf(a);
    out[2 * n + i] = rsqrtf(a);
    out[3 * n + i] = __expf(b);
    out[4 * n + i] = __sinf(b);
    out[5 * n + i] = __cosf(b);
    out[6 * n + i] = __fdividef(a, b);
    out[7 * n + i] = expf(b);
    out[8 * n + i] = logf(a);
    out[9 * n + i] = sinf(a * b);
    out[10 * n + i] = powf(a, b);
    out[11 * n + i] = __frcp_rn(a);
    out[12 * n + i] = __fmul_rz(a, b);
    out[13 * n + i] = __fadd_rd(a, b);
    out[14 * n + i] = __fmaf_rn(a, b, 0.25f);
    out[15 * n + i] = __saturatef(b);
    out[16 * n + i] = (float)__float2int_rn(b * 1000.5f) + (float)(int)(b * 77.7f) * 0.5f;
    out[17 * n + i] = __logf(a);
    out[18 * n + i] = fminf(a, b) + fmaxf(a, b) * 2.0f + copysignf(a, b) + floorf(b * 7.3f);
    out[19 * n + i] = __fsqrt_rd(a) + __fdiv_ru(a, 3.0f);
}

// Conversions between integer widths and floating types, results as 64-bit integers/doubles.
extern "C" __global__ void convert_mix(const long long *v, long long *iout, double *dout, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    long long s = v[i];
    unsigned long long u = (unsigned long long)s;
    iout[6 * i + 0] = (long long)(float)s;                 // s64 -> f32 -> s64 (rn then rz)
    iout[6 * i + 1] = (long long)(double)(u >> 2);         // u64 -> f64 (rn) -> s64
    iout[6 * i + 2] = (int)(short)s + (unsigned char)s;    // sign / zero extension of narrow types
    iout[6 * i + 3] = (long long)(unsigned)(s >> 7);       // truncate to 32 then zero-extend
    iout[6 * i + 4] = __double2ll_rn((double)s * 0.001);
    iout[6 * i + 5] = (long long)__float2uint_rd(fabsf((float)(s & 0xffffff) * 0.37f));
    dout[2 * i + 0] = __ll2double_rn(s) * 0.5;
    dout[2 * i + 1] = (double)__int2float_rn((int)s);
}
