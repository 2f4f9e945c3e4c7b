// templates.cu: C++ templates instantiated through extern "C" wrapper kernels: a block
// reduction templated on type, operator functor and block size; a compile-time unrolled dot
// product; and a type-generic grid-stride map. Host side: tests/emu/test_corpus_parallel.c.

template <typename T> struct SumOp {
    __device__ static T identity() { return T(0); }
    __device__ T operator()(T a, T b) const { return a + b; }
};
template <typename T> struct MaxOp {
    __device__ static T identity();
    __device__ T operator()(T a, T b) const { return a > b ? a : b; }
};
template <> __device__ int MaxOp<int>::identity() { return -2147483647 - 1; }
template <> __device__ float MaxOp<float>::identity() { return -3.0e38f; }

template <typename T, typename Op, int BS>
__device__ void block_reduce_tmpl(const T *in, T *out, unsigned n)
{
    __shared__ T s[BS];
    Op op;
    unsigned i = blockIdx.x * BS + threadIdx.x;
    s[threadIdx.x] = i < n ? in[i] : Op::identity();
    __syncthreads();
#pragma unroll
    for (int stride = BS / 2; stride > 0; stride >>= 1) {
        if ((int)threadIdx.x < stride) s[threadIdx.x] = op(s[threadIdx.x], s[threadIdx.x + stride]);
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

extern "C" __global__ void tmpl_reduce_sum_i32(const int *in, int *out, unsigned n)
{
    block_reduce_tmpl<int, SumOp<int>, 256>(in, out, n);
}
extern "C" __global__ void tmpl_reduce_max_f32(const float *in, float *out, unsigned n)
{
    block_reduce_tmpl<float, MaxOp<float>, 128>(in, out, n);
}
extern "C" __global__ void tmpl_reduce_sum_f64(const double *in, double *out, unsigned n)
{
    block_reduce_tmpl<double, SumOp<double>, 64>(in, out, n);
}

template <int N, typename T>
__device__ T unrolled_dot(const T *a, const T *b)
{
    T acc = 0;
#pragma unroll
    for (int k = 0; k < N; ++k) acc += a[k] * b[k];
    return acc;
}

// out[i] = dot of the 8-element rows i of a and b.
extern "C" __global__ void tmpl_dot8_u32(const unsigned *a, const unsigned *b, unsigned *out, unsigned rows)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows) out[i] = unrolled_dot<8, unsigned>(a + 8 * i, b + 8 * i);
}

template <typename In, typename Out, typename F>
__device__ void gs_map(const In *in, Out *out, unsigned n, F f)
{
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        out[i] = f(in[i]);
}

struct Quantize {
    float scale;
    __device__ short operator()(float x) const { return (short)__float2int_rn(x * scale); }
};

extern "C" __global__ void tmpl_map_quantize(const float *in, short *out, unsigned n, float scale)
{
    Quantize q = { scale };
    gs_map(in, out, n, q);
}

extern "C" __global__ void tmpl_map_lambda(const int *in, long long *out, unsigned n, int k)
{
    gs_map(in, out, n, [k](int x) { return (long long)x * k - 1; });
}
