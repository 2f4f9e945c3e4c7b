// intops.cu: integer bit operations (__popc, __clz, __brev, __ffs and 64-bit forms, __byte_perm,
// __funnelshift_l/r/lc, bit-field extract/insert written with shifts and masks, rotates,
// __mulhi/__umulhi/__umul64hi, __mul24, __sad/__usad) and signed/unsigned 32/64-bit division
// and modulo by variables and by constants. Host side: tests/emu/test_corpus_math.c.

#define BITS_OUTS 24
extern "C" __global__ void int_bits(const unsigned *xs, const unsigned *ys, const unsigned long long *zs,
                                    unsigned *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned x = xs[i], y = ys[i];
    unsigned long long z = zs[i];
    unsigned s = y & 31, len = (y >> 5) & 15;
    unsigned *o = out + (size_t)i * BITS_OUTS;
    o[0] = __popc(x);
    o[1] = __clz(x);
    o[2] = __brev(x);
    o[3] = __ffs(x);
    o[4] = __popcll(z);
    o[5] = __clzll(z);
    unsigned long long bz = __brevll(z);
    o[6] = (unsigned)bz ^ (unsigned)(bz >> 32);
    o[7] = __ffsll(z);
    o[8] = __byte_perm(x, y, y & 0x7777);
    o[9] = __byte_perm(x, y, (y >> 16));
    o[10] = __funnelshift_l(x, y, s + len);
    o[11] = __funnelshift_r(x, y, s + len);
    o[12] = __funnelshift_lc(x, y, s + 2 * len);
    o[13] = (x >> s) & ((1u << len) - 1u);                         // bfe.u32-like
    o[14] = (unsigned)(((int)(x << (31 - s))) >> (31 - (s > len ? len : s)));   // sign-extending field
    {
        unsigned mask = ((1u << len) - 1u) << s;
        o[15] = (x & ~mask) | ((y << s) & mask);                   // bfi-like
    }
    o[16] = (x << s) | (x >> ((32 - s) & 31));                     // rotate left
    o[17] = (unsigned)__mulhi((int)x, (int)y);
    o[18] = __umulhi(x, y);
    unsigned long long h = __umul64hi(z, (unsigned long long)x * y + 1ull);
    o[19] = (unsigned)h ^ (unsigned)(h >> 32);
    o[20] = (unsigned)__mul24((int)x, (int)y);
    o[21] = __usad(x & 0xffff, y & 0xffff, s);
    o[22] = __sad((int)x >> 8, (int)y >> 8, len);
    o[23] = (unsigned)(__mul64hi((long long)z, -(long long)(x | 1)) >> 3) + __popc(~x & y);
}

#define DIV_OUTS 8
extern "C" __global__ void int_divmod(const int *a, const int *b, const long long *A, const long long *B,
                                      int *o32, long long *o64, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int x = a[i], y = b[i];
    unsigned ux = (unsigned)x, uy = (unsigned)y;
    long long X = A[i], Y = B[i];
    unsigned long long UX = (unsigned long long)X, UY = (unsigned long long)Y;
    int *p = o32 + (size_t)i * DIV_OUTS;
    long long *q = o64 + (size_t)i * DIV_OUTS;
    p[0] = x / y;
    p[1] = x % y;
    p[2] = (int)(ux / uy);
    p[3] = (int)(ux % uy);
    p[4] = x / 7;
    p[5] = x % 1000;
    p[6] = (int)(ux / 10u);
    p[7] = (int)(ux % 3u) + x / -16;
    q[0] = X / Y;
    q[1] = X % Y;
    q[2] = (long long)(UX / UY);
    q[3] = (long long)(UX % UY);
    q[4] = X / 10;
    q[5] = X % 1000000007ll;
    q[6] = (long long)(UX / 3ull);
    q[7] = (long long)(UX % 65536ull) + (X >> 13) + (long long)(UX >> 61);
}
