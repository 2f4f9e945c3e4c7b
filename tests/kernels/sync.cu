// sync.cu: block synchronisation with predicates (__syncthreads_count/_and/_or), __syncwarp,
// local arrays indexed dynamically (local memory), dense and sparse switch statements,
// data-dependent loops with break/continue (collatz), and clock()/clock64() monotonicity.
// Host side: tests/emu/test_corpus_lang.c.

extern "C" __global__ void sync_predicates(const int *in, int *out)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = in[i];
    int c = __syncthreads_count(v > 0);
    int a = __syncthreads_and(v != 0);
    int o = __syncthreads_or(v == 12345);
    __syncwarp();
    if (threadIdx.x == 0) {
        out[3 * blockIdx.x + 0] = c;
        out[3 * blockIdx.x + 1] = a ? 1 : 0;
        out[3 * blockIdx.x + 2] = o ? 1 : 0;
    }
}

struct Rec { int key; float w; };

extern "C" __global__ void local_array_dyn(const int *idx, int *out, float *fout, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int arr[40];
    Rec recs[8];
    for (int k = 0; k < 40; ++k) arr[k] = k * k + (int)i;
    for (int k = 0; k < 8; ++k) { recs[k].key = k * 5 - (int)(i & 3); recs[k].w = (float)k * 0.25f; }
    int j = idx[i];
    arr[(j >> 12) % 40] += 1000;                 // dynamic store
    out[i] = arr[j % 40] + arr[(j >> 8) % 40];   // dynamic loads
    Rec r = recs[j & 7];
    fout[i] = r.w + (float)r.key;
}

extern "C" __global__ void switch_dense(const int *in, int *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int v = in[i], r;
    switch (v % 12) {
    case 0: r = v * 3; break;
    case 1: r = v + 100; break;
    case 2: r = v ^ 0x5a5a; break;
    case 3: r = -v; break;
    case 4: r = v << 3; break;
    case 5: r = v >> 2; break;
    case 6: r = v * v; break;
    case 7: r = 7; break;
    case 8: r = v - 8000; break;
    case 9: r = v | 0x100; break;
    case 10: r = v & 0xff; break;
    case 11: r = v / 3; break;
    default: r = -1; break;   // negative remainders
    }
    int s;
    switch (v & 0xffff) {     // sparse
    case 3: s = 1; break;
    case 100: s = 2; break;
    case 1000: s = 3; break;
    case 40000: s = 4; break;
    default: s = 0; break;
    }
    out[2 * i] = r;
    out[2 * i + 1] = s;
}

extern "C" __global__ void collatz_steps(const unsigned *in, unsigned *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned long long x = in[i];
    unsigned steps = 0, odd = 0;
    while (x != 1) {
        if (steps >= 400) break;
        ++steps;
        if ((x & 1) == 0) { x >>= 1; continue; }
        ++odd;
        x = 3 * x + 1;
    }
    out[2 * i] = steps;
    out[2 * i + 1] = odd;
}

extern "C" __global__ void clock_monotonic(unsigned *ok, unsigned long long *deltas, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    long long t0 = clock64();
    unsigned c0 = (unsigned)clock();
    volatile int acc = 0;
    for (int k = 0; k < 50; ++k) acc = acc + k;
    long long t1 = clock64();
    long long t2 = clock64();
    unsigned c1 = (unsigned)clock();
    ok[i] = (t1 >= t0) && (t2 >= t1) && (acc == 1225);
    deltas[i] = (unsigned long long)(t2 - t0);
    (void)c0; (void)c1;
}
