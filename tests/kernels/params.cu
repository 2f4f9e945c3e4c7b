// params.cu: kernel parameters by value: scalars of every width, structs with mixed alignment,
// arrays inside structs (indexed statically and dynamically), a large 1 KiB struct, and a
// pointer inside a struct. The host mirrors the layouts in C (same ABI alignment rules).
// Host side: tests/emu/test_corpus_lang.c.

struct Mixed {
    char c;
    double d;
    int i;
    short s;
    float4 f4;
    unsigned long long u;
    unsigned char tail;
};

struct WithArray {
    int n;
    int vals[16];
    float scale;
    int *dst;
};

struct Big {
    int data[256];
};

extern "C" __global__ void params_scalars(char c, short s, int i, long long ll, float f, double d,
                                          unsigned char uc, unsigned short us, void *p, long long *out)
{
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    out[0] = c;
    out[1] = s;
    out[2] = i;
    out[3] = ll;
    out[4] = (long long)(f * 1000.0f);
    out[5] = (long long)(d * 1000000.0);
    out[6] = uc;
    out[7] = us;
    out[8] = (long long)p;
}

extern "C" __global__ void params_struct(Mixed m, WithArray w, double *out)
{
    unsigned t = threadIdx.x;
    if (t == 0) {
        out[0] = m.c;
        out[1] = m.d;
        out[2] = m.i;
        out[3] = m.s;
        out[4] = m.f4.x + 10.0f * m.f4.y + 100.0f * m.f4.z + 1000.0f * m.f4.w;
        out[5] = (double)m.u;
        out[6] = m.tail;
        out[7] = w.n;
        out[8] = w.scale;
    }
    // dynamic index into the by-value array
    if (t < 16) out[16 + t] = w.vals[(t * 7 + w.n) & 15] * w.scale;
    if (t < (unsigned)w.n) w.dst[t] = w.vals[t] + (int)t;
}

extern "C" __global__ void params_big(Big b, int *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < 256) out[t] = b.data[t] * 2 + b.data[255 - t];
}
