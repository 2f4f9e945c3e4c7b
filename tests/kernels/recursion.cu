// recursion.cu: recursive __noinline__ device functions: fibonacci (two recursive call sites),
// and a recursion whose frames hold a dynamically indexed local array (stack frames in local
// memory). Host side: tests/emu/test_corpus_lang.c.

__device__ __noinline__ int fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

extern "C" __global__ void fib_recursive(int *out, unsigned n, int modulo)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = fib((int)(i % (unsigned)modulo));
}

__device__ __noinline__ int depth_sum(int d, int seed)
{
    int buf[8];
    for (int k = 0; k < 8; ++k) buf[k] = seed * k + d;
    int r = buf[(seed + d) & 7];
    if (d > 0) r += depth_sum(d - 1, seed ^ r);
    return r;
}

extern "C" __global__ void recurse_local(const int *seeds, int *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = depth_sum((int)(i % 9), seeds[i]);
}
