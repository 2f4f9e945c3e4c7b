// faults.cu: kernels that fault on purpose (out-of-bounds load/store, misaligned load, __trap,
// failed assert) and a well-behaved kernel to probe the context afterwards.
// Host side: tests/emu/test_faults.c.
#include <assert.h>

extern "C" __global__ void fault_load(const int *p, long long off, int *out)
{
    if (threadIdx.x == 0 && blockIdx.x == 0) out[0] = p[off];
}

extern "C" __global__ void fault_store(int *p, long long off)
{
    if (threadIdx.x == 3 && blockIdx.x == 1) p[off] = 1;
}

extern "C" __global__ void fault_misaligned(const char *p, int *out)
{
    if (threadIdx.x == 0) out[0] = *(const int *)(p + 1);
}

extern "C" __global__ void fault_trap(int *out)
{
    if (threadIdx.x == 5 && blockIdx.x == 2) __trap();
    out[blockIdx.x * blockDim.x + threadIdx.x] = 1;
}

extern "C" __global__ void fault_assert(const int *in, int *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    assert(in[i] != 42);
    out[i] = in[i];
}

extern "C" __global__ void ok_kernel(int *out, int v, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = v + (int)i;
}
