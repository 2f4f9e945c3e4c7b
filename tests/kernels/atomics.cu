// atomics.cu: every atomic kind on global memory (add/sub/min/max signed and unsigned 32/64,
// and/or/xor 32/64, inc/dec with wrap, exch, CAS loops for float max and double add, native
// double/float adds, _block/_system scopes, results used and unused), shared memory atomics,
// and a lane-0 spin lock. 16-bit CAS is in atomics_cas16.cu. Host side: tests/emu/test_corpus_warp.c.

// Counters (host zeroes then seeds): ic[4], uc[10], ull[6], ll[2].
extern "C" __global__ void atomics_int(const int *vals, int *ic, unsigned *uc, unsigned long long *ull,
                                       long long *ll, unsigned *old_exch, unsigned *tickets, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int v = vals[i];
    unsigned u = (unsigned)v;
    atomicAdd(&ic[0], v);
    atomicSub(&ic[1], v);
    atomicMin(&ic[2], v);
    atomicMax(&ic[3], v);
    atomicMin(&uc[0], u);
    atomicMax(&uc[1], u);
    atomicAnd(&uc[2], ~(1u << (u % 29)));
    atomicOr(&uc[3], 1u << (u & 31));
    atomicXor(&uc[4], u);
    atomicInc(&uc[5], 1000u);
    atomicDec(&uc[6], 777u);
    old_exch[i] = atomicExch(&uc[7], i + 1);
    tickets[i] = atomicAdd(&uc[8], 1u);
    atomicAdd(&ull[0], (unsigned long long)u * 12345ull);
    atomicMin(&ull[1], (unsigned long long)u << 20);
    atomicMax(&ull[2], (unsigned long long)u << 20);
    atomicAnd(&ull[3], ~(1ull << (u % 61)));
    atomicOr(&ull[4], 1ull << (u & 63));
    atomicXor(&ull[5], ((unsigned long long)u << 17) | u);
    atomicMin(&ll[0], (long long)v * 100000);
    atomicMax(&ll[1], (long long)v * 100000);
}

__device__ float atomic_max_float_cas(float *addr, float val)
{
    int *ai = (int *)addr;
    int old = *ai, assumed;
    do {
        assumed = old;
        if (__int_as_float(assumed) >= val) break;
        old = atomicCAS(ai, assumed, __float_as_int(val));
    } while (assumed != old);
    return __int_as_float(old);
}

__device__ double atomic_add_double_cas(double *address, double val)
{
    unsigned long long *a = (unsigned long long *)address;
    unsigned long long old = *a, assumed;
    do {
        assumed = old;
        old = atomicCAS(a, assumed, __double_as_longlong(val + __longlong_as_double(assumed)));
    } while (assumed != old);
    return __longlong_as_double(old);
}

// f[0]: CAS float max, f[1]: native float add; d[0]: CAS double add, d[1]: native double add,
// d[2]: _block, d[3]: _system.
extern "C" __global__ void atomics_float(const float *fv, float *f, double *d, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float x = fv[i];
    atomic_max_float_cas(&f[0], x);
    atomicAdd(&f[1], floorf(x));
    double dx = (double)floorf(x * 4.0f) * 0.25;
    atomic_add_double_cas(&d[0], dx);
    atomicAdd(&d[1], dx);
    atomicAdd_block(&d[2], 1.0);
    atomicAdd_system(&d[3], dx);
}

// Shared-memory atomics, one result row of 8 words per block.
extern "C" __global__ void atomics_shared(const int *vals, unsigned *out, unsigned long long *out64, float *outf)
{
    __shared__ int s_add, s_max, s_min;
    __shared__ unsigned s_or, s_exch, s_cas, s_inc;
    __shared__ unsigned long long s_64;
    __shared__ float s_f;
    unsigned t = threadIdx.x;
    int v = vals[blockIdx.x * blockDim.x + t];
    if (t == 0) {
        s_add = 0; s_max = -2147483647 - 1; s_min = 2147483647;
        s_or = 0; s_exch = 0; s_cas = 0; s_inc = 0; s_64 = 0; s_f = 0.0f;
    }
    __syncthreads();
    atomicAdd(&s_add, v);
    atomicMax(&s_max, v);
    atomicMin(&s_min, v);
    atomicOr(&s_or, 1u << (t & 31));
    atomicExch(&s_exch, t + 1);
    // each thread adds 1 to s_cas through a CAS loop
    unsigned old = s_cas, assumed;
    do {
        assumed = old;
        old = atomicCAS(&s_cas, assumed, assumed + 1);
    } while (assumed != old);
    atomicInc(&s_inc, 63u);
    atomicAdd(&s_64, (unsigned long long)(unsigned)v << 8);
    atomicAdd(&s_f, (float)(v & 15));
    __syncthreads();
    if (t == 0) {
        unsigned *o = out + blockIdx.x * 8;
        o[0] = (unsigned)s_add; o[1] = (unsigned)s_max; o[2] = (unsigned)s_min; o[3] = s_or;
        o[4] = s_exch; o[5] = s_cas; o[6] = s_inc; o[7] = 0;
        out64[blockIdx.x] = s_64;
        outf[blockIdx.x] = s_f;
    }
}

// Lane 0 of each warp takes a global spin lock (CAS 0->1), does a non-atomic read-modify-write
// of two words, and releases with atomicExch. Needs forward progress between warps and blocks.
extern "C" __global__ void atomic_spinlock(int *lock, unsigned *data)
{
    if ((threadIdx.x & 31) != 0) return;
    while (atomicCAS(lock, 0, 1) != 0) { }
    __threadfence();
    volatile unsigned *vd = data;
    unsigned a = vd[0];
    vd[0] = a + 1;
    vd[1] = vd[1] + blockIdx.x;
    __threadfence();
    atomicExch(lock, 0);
}
