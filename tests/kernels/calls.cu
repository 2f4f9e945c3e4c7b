// calls.cu: real device calls (__noinline__): pointer arguments, struct return by value, many
// scalar arguments of mixed types, and out-parameters pointing at the caller's locals (generic
// addresses into local memory). Recursion is in recursion.cu. Host side: tests/emu/test_corpus_lang.c.

struct Pair { int a; float b; double c; };

__device__ __noinline__ float poly_eval(const float *c, int n, float x)
{
    float r = 0.0f;
    for (int k = n - 1; k >= 0; --k) r = r * x + c[k];
    return r;
}

__device__ __noinline__ Pair make_pair(int i, float f)
{
    Pair p;
    p.a = i * 3 - 7;
    p.b = f * 0.5f;
    p.c = (double)i * 1.25;
    return p;
}

__device__ __noinline__ long long many_args(int a, int b, int c, int d, int e, int f, int g, int h,
                                            long long i, double j, float k, unsigned char l)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i + (long long)(j * 2.0) +
           (long long)k + 11 * (long long)l;
}

__device__ __noinline__ void divmod10(int x, int *q, int *r)
{
    *q = x / 10;
    *r = x % 10;
}

// coef: 8 polynomial coefficients. Per element: fo[i], io[2*i..], dout[i], lo[i].
extern "C" __global__ void calls_noinline(const float *coef, const int *in, float *fo, int *io, double *dout,
                                          long long *lo, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int v = in[i];
    float x = (float)(v % 100) * 0.01f;
    Pair p = make_pair(v, x);
    int q, r;
    divmod10(v, &q, &r);
    fo[i] = poly_eval(coef, 8, x) + p.b;
    io[2 * i] = p.a + q;
    io[2 * i + 1] = r;
    dout[i] = p.c;
    lo[i] = many_args(v, v + 1, v - 2, v * 3, v >> 1, v & 7, -v, 42, (long long)v << 20, x * 10.0, x, (unsigned char)v);
}
