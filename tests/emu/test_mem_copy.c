/* test_mem_copy.c: copies and memsets of the software GPU (emu/memcpy.c, emu/memcpy3d.c): every
 * direction of linear copies, unified cuMemcpy, 2D copies with pitches and offsets, 3D copies,
 * memsets of each width (1D and 2D, sync and async), stream ordering with events and a gated
 * stream, pageable-source snapshots, the per-thread-default-stream entry points, batch copies, and
 * CUDA_ERROR_INVALID_VALUE (never a crash) for ranges outside live allocations.
 * Self-contained: one line per failed check, a PASS/FAIL line per case, the `cases:` summary, and
 * a non-zero exit status on failure. */
#include <cuda.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int g_case_fail, g_passed, g_failed;

static const char *errname(CUresult r)
{
    const char *s = NULL;
    cuGetErrorName(r, &s);
    return s ? s : "?";
}

#define CHECK(cond, ...) do {                                                                    \
        if (!(cond)) {                                                                           \
            g_case_fail++;                                                                       \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                               \
            printf(__VA_ARGS__);                                                                 \
            printf("\n");                                                                        \
        }                                                                                        \
    } while (0)
#define EXPECT(call, want) do {                                                                  \
        CUresult r_ = (call), w_ = (want);                                                       \
        if (r_ != w_) {                                                                          \
            g_case_fail++;                                                                       \
            printf("FAIL %s:%d: %s -> %s, expected %s\n", __FILE__, __LINE__, #call, errname(r_), \
                   errname(w_));                                                                 \
        }                                                                                        \
    } while (0)
#define OK(call) EXPECT(call, CUDA_SUCCESS)

static void run_case(const char *name, void (*fn)(void))
{
    g_case_fail = 0;
    fn();
    if (g_case_fail) {
        g_failed++;
        printf("FAIL  %-40s (%d checks failed)\n", name, g_case_fail);
    } else {
        g_passed++;
        printf("PASS  %s\n", name);
    }
}
#define RUN(fn) run_case(#fn, fn)

/* The per-thread-default-stream entry points (declared by cuda.h only under
 * CUDA_API_PER_THREAD_DEFAULT_STREAM). */
CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount);
CUresult cuMemcpyDtoH_v2_ptds(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount);
CUresult cuMemcpyDtoD_v2_ptds(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount);
CUresult cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount);
CUresult cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount, CUstream hStream);
CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream h);
CUresult cuMemcpyDtoHAsync_v2_ptsz(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream h);
CUresult cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D *pCopy);
CUresult cuMemcpy3D_v2_ptds(const CUDA_MEMCPY3D *pCopy);
CUresult cuMemsetD8_v2_ptds(CUdeviceptr dstDevice, unsigned char uc, size_t N);
CUresult cuMemsetD32_v2_ptds(CUdeviceptr dstDevice, unsigned int ui, size_t N);
CUresult cuMemsetD2D16_v2_ptds(CUdeviceptr dstDevice, size_t dstPitch, unsigned short us, size_t Width,
                               size_t Height);
CUresult cuMemsetD16Async_ptsz(CUdeviceptr dstDevice, unsigned short us, size_t N, CUstream hStream);
CUresult cuStreamSynchronize_ptsz(CUstream hStream);

static CUcontext g_ctx;

static size_t count_not(const unsigned char *p, size_t n, unsigned char v)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += p[i] != v;
    return bad;
}

static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xff);
}

/* ---- a gate: a host function that blocks its stream until opened ---------------------------- */
typedef struct gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    int open;
} gate;

static void gate_init(gate *g)
{
    pthread_mutex_init(&g->m, NULL);
    pthread_cond_init(&g->c, NULL);
    g->open = 0;
}

static void CUDA_CB gate_wait(void *p)
{
    gate *g = p;
    pthread_mutex_lock(&g->m);
    while (!g->open)
        pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->m);
    g->open = 1;
    pthread_cond_broadcast(&g->c);
    pthread_mutex_unlock(&g->m);
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void linear_directions(void)
{
    enum { N = 100000 };
    unsigned char *src = malloc(N), *dst = malloc(N);
    fill_pattern(src, N, 1);
    CUdeviceptr a, b;
    OK(cuMemAlloc(&a, N));
    OK(cuMemAlloc(&b, N));
    OK(cuMemcpyHtoD(a, src, N));
    OK(cuMemcpyDtoD(b, a, N));
    memset(dst, 0, N);
    OK(cuMemcpyDtoH(dst, b, N));
    CHECK(memcmp(src, dst, N) == 0, "HtoD -> DtoD -> DtoH round trip");
    /* Offsets inside allocations. */
    OK(cuMemcpyHtoD(a + 1000, src + 5, 777));
    OK(cuMemcpyDtoH(dst, a + 1000, 777));
    CHECK(memcmp(dst, src + 5, 777) == 0, "offset copy");
    /* Unified cuMemcpy works out directions from the pointers. */
    fill_pattern(src, N, 2);
    OK(cuMemcpy(a, (CUdeviceptr)(uintptr_t)src, N));             /* host -> device */
    OK(cuMemcpy(b, a, N));                                       /* device -> device */
    memset(dst, 0, N);
    OK(cuMemcpy((CUdeviceptr)(uintptr_t)dst, b, N));             /* device -> host */
    CHECK(memcmp(src, dst, N) == 0, "unified round trip");
    memset(dst, 0, N);
    OK(cuMemcpy((CUdeviceptr)(uintptr_t)dst, (CUdeviceptr)(uintptr_t)src, N));   /* host -> host */
    CHECK(memcmp(src, dst, N) == 0, "unified host to host");
    /* Overlapping device-to-device copy inside one allocation. */
    OK(cuMemcpyDtoD(a + 10, a, 1000));
    OK(cuMemcpyDtoH(dst, a + 10, 1000));
    CHECK(memcmp(dst, src, 1000) == 0, "overlapping DtoD");
    /* Device memory is host-addressable in this design: check it directly too. */
    CHECK(memcmp((void *)(uintptr_t)b, src, N) == 0, "device bytes seen from the host");
    OK(cuMemFree(a));
    OK(cuMemFree(b));
    free(src);
    free(dst);
}

static void invalid_ranges(void)
{
    /* a is N bytes but not a whole number of 256-byte granules, so a + N is never the start of
     * another allocation. */
    enum { N = 4000 };
    unsigned char buf[2 * N];
    memset(buf, 0, sizeof buf);
    CUdeviceptr a, b;
    OK(cuMemAlloc(&a, N));
    OK(cuMemAlloc(&b, N));
    EXPECT(cuMemcpyHtoD(a, buf, N + 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyHtoD(a + 1, buf, N), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyDtoH(buf, a + N, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyDtoD(b, a, N + 256), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyDtoD(b + N - 4, a, 8), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyDtoD(a, a - 1, 8), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyHtoD(a, NULL, 8), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyDtoH(NULL, a, 8), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyHtoD((CUdeviceptr)(uintptr_t)buf, buf + N, 8), CUDA_ERROR_INVALID_VALUE);
    /* Pointers just past an allocation, or into unallocated device space, through the unified
     * copy (which would otherwise treat them as host memory). */
    EXPECT(cuMemcpy(a + N, (CUdeviceptr)(uintptr_t)buf, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpy((CUdeviceptr)(uintptr_t)buf, b + N + 100000, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpy(a + N - 8, (CUdeviceptr)(uintptr_t)buf, 16), CUDA_ERROR_INVALID_VALUE);
    /* Zero-byte copies succeed whatever the pointers. */
    OK(cuMemcpyHtoD(0x10, NULL, 0));
    OK(cuMemcpyDtoD(a + N + 5000, 0x10, 0));
    /* Freed memory. */
    CUdeviceptr c;
    OK(cuMemAlloc(&c, N));
    OK(cuMemFree(c));
    EXPECT(cuMemcpyHtoD(c, buf, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyDtoH(buf, c, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemsetD8(c, 1, 16), CUDA_ERROR_INVALID_VALUE);
    /* Async forms refuse before queueing; the stream stays healthy. */
    CUstream s;
    OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    EXPECT(cuMemcpyHtoDAsync(a, buf, N + 1, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyDtoHAsync(buf, c, 1, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyDtoDAsync(b, a + 1, N, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemsetD32Async(a, 1, N / 4 + 1, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyAsync(a + N, b, 4, s), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemcpyHtoDAsync(a, buf, N, s));
    OK(cuStreamSynchronize(s));
    OK(cuStreamDestroy(s));
    /* Memsets need device-addressable memory. */
    EXPECT(cuMemsetD8((CUdeviceptr)(uintptr_t)buf, 0, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemsetD8(a, 0, N + 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemsetD2D8(a, 1024, 0, 1024, 5), CUDA_ERROR_INVALID_VALUE);
    OK(cuCtxSynchronize());
    OK(cuMemFree(a));
    OK(cuMemFree(b));
}

static void memsets(void)
{
    enum { N = 4096 };
    unsigned char h[N];
    CUdeviceptr a;
    OK(cuMemAlloc(&a, N));
    OK(cuMemsetD8(a, 0xee, N));
    OK(cuMemsetD8(a + 3, 0x5a, 100));
    OK(cuMemcpyDtoH(h, a, N));
    CHECK(h[2] == 0xee && h[3] == 0x5a && h[102] == 0x5a && h[103] == 0xee, "D8 %x %x %x %x", h[2], h[3],
          h[102], h[103]);
    OK(cuMemsetD16(a + 2, 0xbeef, 10));
    OK(cuMemcpyDtoH(h, a, N));
    uint16_t w;
    memcpy(&w, h + 2, 2);
    CHECK(w == 0xbeef, "D16 first %x", w);
    memcpy(&w, h + 20, 2);
    CHECK(w == 0xbeef, "D16 last %x", w);
    CHECK(h[22] == 0x5a && h[1] == 0xee, "D16 bounds %x %x", h[22], h[1]);
    OK(cuMemsetD32(a + 64, 0xdeadbeef, 5));
    OK(cuMemcpyDtoH(h, a, N));
    uint32_t d;
    memcpy(&d, h + 64, 4);
    CHECK(d == 0xdeadbeef, "D32 first %x", d);
    memcpy(&d, h + 80, 4);
    CHECK(d == 0xdeadbeef, "D32 last %x", d);
    CHECK(h[84] == 0x5a || h[84] == 0xee, "D32 bound %x", h[84]);
    EXPECT(cuMemsetD16(a + 1, 1, 4), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemsetD32(a + 2, 1, 4), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemsetD32(a, 1, N / 4 + 1), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemsetD32(a, 1, 0));
    /* 2D: rows of width elements at pitch; the padding stays. */
    size_t pitch = 256;
    OK(cuMemsetD8(a, 0, N));
    OK(cuMemsetD2D8(a, pitch, 0x11, 100, 5));
    OK(cuMemcpyDtoH(h, a, N));
    for (int y = 0; y < 5; y++) {
        CHECK(count_not(h + y * pitch, 100, 0x11) == 0, "D2D8 row %d", y);
        CHECK(count_not(h + y * pitch + 100, pitch - 100, 0) == 0, "D2D8 padding %d", y);
    }
    CHECK(count_not(h + 5 * pitch, N - 5 * pitch, 0) == 0, "D2D8 after the last row");
    OK(cuMemsetD2D16(a, pitch, 0x1234, 50, 4));
    OK(cuMemcpyDtoH(h, a, N));
    memcpy(&w, h + 3 * pitch + 98, 2);
    CHECK(w == 0x1234, "D2D16 last element %x", w);
    CHECK(h[3 * pitch + 100] == 0, "D2D16 padding %x", h[3 * pitch + 100]);
    OK(cuMemsetD2D32(a, pitch, 0xcafef00d, 10, 16));
    OK(cuMemcpyDtoH(h, a, N));
    memcpy(&d, h + 15 * pitch + 36, 4);
    CHECK(d == 0xcafef00d, "D2D32 last element %x", d);
    CHECK(h[15 * pitch + 40] == 0, "D2D32 padding %x", h[15 * pitch + 40]);
    EXPECT(cuMemsetD2D32(a, 30, 1, 10, 2), CUDA_ERROR_INVALID_VALUE);     /* pitch < width */
    EXPECT(cuMemsetD2D16(a, 255, 1, 10, 2), CUDA_ERROR_INVALID_VALUE);    /* pitch not aligned */
    EXPECT(cuMemsetD2D8(a, pitch, 1, 100, 17), CUDA_ERROR_INVALID_VALUE); /* past the end */
    /* Async forms on a stream. */
    CUstream s;
    OK(cuStreamCreate(&s, 0));
    OK(cuMemsetD8Async(a, 7, N, s));
    OK(cuMemsetD16Async(a + 10, 0x0102, 3, s));
    OK(cuMemsetD32Async(a + 100, 0x0a0b0c0d, 2, s));
    OK(cuMemsetD2D8Async(a + 1024, 512, 9, 10, 2, s));
    OK(cuMemsetD2D16Async(a + 2048, 512, 0x0909, 5, 2, s));
    OK(cuMemsetD2D32Async(a + 3072, 512, 0x08080808, 2, 2, s));
    OK(cuStreamSynchronize(s));
    OK(cuMemcpyDtoH(h, a, N));
    CHECK(h[0] == 7 && h[10] == 2 && h[11] == 1 && h[16] == 7, "async D8/D16 %u %u %u %u", h[0], h[10], h[11],
          h[16]);
    CHECK(h[100] == 0x0d && h[107] == 0x0a && h[108] == 7, "async D32");
    CHECK(h[1024] == 9 && h[1033] == 9 && h[1034] == 7 && h[1536 + 9] == 9, "async D2D8");
    CHECK(h[2048] == 9 && h[2048 + 512 + 9] == 9 && h[2048 + 512 + 10] == 7, "async D2D16");
    CHECK(h[3072] == 8 && h[3072 + 512 + 7] == 8 && h[3072 + 512 + 8] == 7, "async D2D32");
    OK(cuStreamDestroy(s));
    OK(cuMemFree(a));
}

static void copies_2d(void)
{
    enum { W = 100, H = 7, HP = 128 };
    unsigned char host[HP * H], back[200 * (H + 3)];
    fill_pattern(host, sizeof host, 3);
    CUdeviceptr d, d2;
    size_t dp, dp2;
    OK(cuMemAllocPitch(&d, &dp, 200, H + 3, 4));
    OK(cuMemAllocPitch(&d2, &dp2, 300, H + 3, 4));
    OK(cuMemsetD8(d, 0, dp * (H + 3)));
    CUDA_MEMCPY2D c;
    memset(&c, 0, sizeof c);
    c.srcMemoryType = CU_MEMORYTYPE_HOST;
    c.srcHost = host;
    c.srcPitch = HP;
    c.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    c.dstDevice = d;
    c.dstPitch = dp;
    c.dstXInBytes = 16;
    c.dstY = 2;
    c.WidthInBytes = W;
    c.Height = H;
    OK(cuMemcpy2D(&c));
    /* Device -> device at other offsets, then device -> host packed. */
    CUDA_MEMCPY2D e;
    memset(&e, 0, sizeof e);
    e.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    e.srcDevice = d;
    e.srcPitch = dp;
    e.srcXInBytes = 16;
    e.srcY = 2;
    e.dstMemoryType = CU_MEMORYTYPE_UNIFIED;
    e.dstDevice = d2;
    e.dstPitch = dp2;
    e.dstXInBytes = 3;
    e.dstY = 1;
    e.WidthInBytes = W;
    e.Height = H;
    OK(cuMemcpy2DUnaligned(&e));
    CUDA_MEMCPY2D f;
    memset(&f, 0, sizeof f);
    f.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    f.srcDevice = d2;
    f.srcPitch = dp2;
    f.srcXInBytes = 3;
    f.srcY = 1;
    f.dstMemoryType = CU_MEMORYTYPE_HOST;
    f.dstHost = back;
    f.dstPitch = W;
    f.WidthInBytes = W;
    f.Height = H;
    memset(back, 0, sizeof back);
    OK(cuMemcpy2D(&f));
    int bad = 0;
    for (int y = 0; y < H; y++)
        bad += memcmp(back + y * W, host + y * HP, W) != 0;
    CHECK(bad == 0, "%d rows differ after host->device->device->host 2D copies", bad);
    /* The padding around the destination rectangle was not touched. */
    unsigned char row[512];
    OK(cuMemcpyDtoH(row, d + 2 * dp, dp));
    CHECK(count_not(row, 16, 0) == 0 && count_not(row + 16 + W, dp - 16 - W, 0) == 0, "2D padding written");
    OK(cuMemcpyDtoH(row, d + 1 * dp, dp));
    CHECK(count_not(row, dp, 0) == 0, "row above the rectangle written");
    /* Async form on a stream. */
    CUstream s;
    OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    memset(back, 0, sizeof back);
    OK(cuMemcpy2DAsync(&f, s));
    OK(cuStreamSynchronize(s));
    CHECK(memcmp(back + (H - 1) * W, host + (H - 1) * HP, W) == 0, "2D async");
    OK(cuStreamDestroy(s));
    /* Checks CUDA makes. */
    CUDA_MEMCPY2D bad2 = c;
    bad2.srcPitch = W - 1;
    EXPECT(cuMemcpy2D(&bad2), CUDA_ERROR_INVALID_VALUE);
    bad2 = c;
    bad2.dstPitch = 50;
    EXPECT(cuMemcpy2D(&bad2), CUDA_ERROR_INVALID_VALUE);
    bad2 = c;
    bad2.dstY = H + 3 - H + 1;              /* last row falls past the allocation */
    EXPECT(cuMemcpy2D(&bad2), CUDA_ERROR_INVALID_VALUE);
    bad2 = c;
    bad2.srcMemoryType = CU_MEMORYTYPE_ARRAY;
    EXPECT(cuMemcpy2D(&bad2), CUDA_ERROR_NOT_SUPPORTED);
    bad2 = c;
    bad2.dstMemoryType = (CUmemorytype)9;
    EXPECT(cuMemcpy2D(&bad2), CUDA_ERROR_INVALID_VALUE);
    bad2 = c;
    bad2.srcHost = NULL;
    EXPECT(cuMemcpy2D(&bad2), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpy2D(NULL), CUDA_ERROR_INVALID_VALUE);
    /* One row needs no pitch. */
    bad2 = c;
    bad2.Height = 1;
    bad2.srcPitch = 0;
    OK(cuMemcpy2D(&bad2));
    bad2.WidthInBytes = 0;
    OK(cuMemcpy2D(&bad2));
    OK(cuMemFree(d));
    OK(cuMemFree(d2));
}

static void copies_3d(void)
{
    enum { W = 40, H = 5, D = 4, HP = 48, HH = 6, DP = 64, DH = 8, DD = 7 };
    unsigned char *host = malloc(HP * HH * D), *back = malloc(W * H * D);
    fill_pattern(host, HP * HH * D, 4);
    CUdeviceptr dev;
    OK(cuMemAlloc(&dev, DP * DH * DD));
    OK(cuMemsetD8(dev, 0, DP * DH * DD));
    CUDA_MEMCPY3D c;
    memset(&c, 0, sizeof c);
    c.srcMemoryType = CU_MEMORYTYPE_HOST;
    c.srcHost = host;
    c.srcPitch = HP;
    c.srcHeight = HH;
    c.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    c.dstDevice = dev;
    c.dstPitch = DP;
    c.dstHeight = DH;
    c.dstXInBytes = 8;
    c.dstY = 1;
    c.dstZ = 2;
    c.WidthInBytes = W;
    c.Height = H;
    c.Depth = D;
    OK(cuMemcpy3D(&c));
    /* Check a few device bytes directly from the layout. */
    int bad = 0;
    for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++) {
            unsigned char row[W];
            OK(cuMemcpyDtoH(row, dev + (size_t)(z + 2) * DP * DH + (size_t)(y + 1) * DP + 8, W));
            bad += memcmp(row, host + (size_t)z * HP * HH + (size_t)y * HP, W) != 0;
        }
    CHECK(bad == 0, "%d rows misplaced by the 3D host->device copy", bad);
    unsigned char pad[DP];
    OK(cuMemcpyDtoH(pad, dev + 2 * DP * DH, DP));
    CHECK(count_not(pad, DP, 0) == 0, "row 0 of layer 2 written");
    /* Back to a packed host box, asynchronously. */
    CUDA_MEMCPY3D r;
    memset(&r, 0, sizeof r);
    r.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    r.srcDevice = dev;
    r.srcPitch = DP;
    r.srcHeight = DH;
    r.srcXInBytes = 8;
    r.srcY = 1;
    r.srcZ = 2;
    r.dstMemoryType = CU_MEMORYTYPE_HOST;
    r.dstHost = back;
    r.dstPitch = W;
    r.dstHeight = H;
    r.WidthInBytes = W;
    r.Height = H;
    r.Depth = D;
    CUstream s;
    OK(cuStreamCreate(&s, 0));
    memset(back, 0, W * H * D);
    OK(cuMemcpy3DAsync(&r, s));
    OK(cuStreamSynchronize(s));
    bad = 0;
    for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++)
            bad += memcmp(back + (size_t)(z * H + y) * W, host + (size_t)z * HP * HH + (size_t)y * HP, W) != 0;
    CHECK(bad == 0, "%d rows differ after the 3D round trip", bad);
    OK(cuStreamDestroy(s));
    /* Checks CUDA makes. */
    CUDA_MEMCPY3D b = c;
    int dummy;
    b.reserved0 = &dummy;
    EXPECT(cuMemcpy3D(&b), CUDA_ERROR_INVALID_VALUE);
    b = c;
    b.dstLOD = 1;
    EXPECT(cuMemcpy3D(&b), CUDA_ERROR_INVALID_VALUE);
    b = c;
    b.srcHeight = H - 1;
    EXPECT(cuMemcpy3D(&b), CUDA_ERROR_INVALID_VALUE);
    b = c;
    b.dstZ = DD - D + 1;                    /* last layer past the allocation */
    EXPECT(cuMemcpy3D(&b), CUDA_ERROR_INVALID_VALUE);
    b = c;
    b.dstMemoryType = CU_MEMORYTYPE_ARRAY;
    EXPECT(cuMemcpy3D(&b), CUDA_ERROR_NOT_SUPPORTED);
    /* Depth 1 may leave the heights 0. */
    b = c;
    b.Depth = 1;
    b.srcHeight = 0;
    b.dstHeight = 0;
    b.dstZ = 0;
    OK(cuMemcpy3D(&b));
    OK(cuMemFree(dev));
    free(host);
    free(back);
}

static void async_ordering(void)
{
    enum { N = 1 << 16 };
    unsigned char *src = malloc(N), *dst = malloc(N), *orig = malloc(N);
    CUstream s1, s2;
    CUevent ev;
    OK(cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
    OK(cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING));
    OK(cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING));
    CUdeviceptr a, b;
    OK(cuMemAlloc(&a, N));
    OK(cuMemAlloc(&b, N));

    /* s1 is held by a gate; an async copy from pageable memory snapshots the source at the call,
     * so changing the buffer afterwards does not change what lands on the device. */
    gate g;
    gate_init(&g);
    OK(cuLaunchHostFunc(s1, gate_wait, &g));
    fill_pattern(src, N, 5);
    memcpy(orig, src, N);
    OK(cuMemcpyHtoDAsync(a, src, N, s1));
    memset(src, 0xff, N);
    OK(cuEventRecord(ev, s1));
    /* s2 waits for s1's event, then copies a -> b -> pageable dst. */
    OK(cuStreamWaitEvent(s2, ev, 0));
    OK(cuMemcpyDtoDAsync(b, a, N, s2));
    memset(dst, 0xcd, N);
    OK(cuMemcpyDtoHAsync(dst, b, N, s2));
    usleep(20000);
    EXPECT(cuStreamQuery(s2), CUDA_ERROR_NOT_READY);
    CHECK(count_not(dst, N, 0xcd) == 0, "DtoH async wrote its destination before its stream got there");
    gate_open(&g);
    OK(cuStreamSynchronize(s2));
    CHECK(memcmp(dst, orig, N) == 0, "ordered chain s1 -> event -> s2 delivered the wrong bytes");

    /* Memsets and copies in one stream keep their order. */
    OK(cuMemsetD8Async(a, 1, N, s1));
    OK(cuMemsetD8Async(a, 2, N / 2, s1));
    OK(cuMemcpyDtoDAsync(b, a, N, s1));
    OK(cuMemsetD8Async(a, 3, N, s1));
    OK(cuMemcpyDtoHAsync(dst, b, N, s1));
    OK(cuStreamSynchronize(s1));
    CHECK(count_not(dst, N / 2, 2) == 0 && count_not(dst + N / 2, N / 2, 1) == 0, "in-stream order");

    /* The legacy default stream orders synchronous copies after queued work. */
    gate g2;
    gate_init(&g2);
    OK(cuLaunchHostFunc(s1, gate_wait, &g2));
    OK(cuMemsetD8Async(a, 9, N, s1));
    OK(cuEventRecord(ev, s1));
    OK(cuStreamWaitEvent(NULL, ev, 0));
    gate_open(&g2);
    OK(cuMemcpyDtoH(dst, a, N));
    CHECK(count_not(dst, N, 9) == 0, "sync copy after an event wait on the NULL stream");

    /* Pinned sources are read in stream order (no snapshot). */
    unsigned char *pinned;
    OK(cuMemAllocHost((void **)&pinned, N));
    memset(pinned, 4, N);
    gate g3;
    gate_init(&g3);
    OK(cuLaunchHostFunc(s1, gate_wait, &g3));
    OK(cuMemcpyHtoDAsync(a, pinned, N, s1));
    memset(pinned, 6, N);
    gate_open(&g3);
    OK(cuStreamSynchronize(s1));
    OK(cuMemcpyDtoH(dst, a, N));
    CHECK(count_not(dst, N, 6) == 0, "pinned source read at execution time");
    OK(cuMemFreeHost(pinned));

    OK(cuEventDestroy(ev));
    OK(cuStreamDestroy(s1));
    OK(cuStreamDestroy(s2));
    OK(cuMemFree(a));
    OK(cuMemFree(b));
    free(src);
    free(dst);
    free(orig);
}

static void per_thread_variants(void)
{
    enum { N = 5000 };
    unsigned char src[N], dst[N];
    fill_pattern(src, N, 6);
    CUdeviceptr a, b;
    OK(cuMemAlloc(&a, N));
    OK(cuMemAlloc(&b, N));
    OK(cuMemcpyHtoD_v2_ptds(a, src, N));
    OK(cuMemcpyDtoD_v2_ptds(b, a, N));
    OK(cuMemcpyDtoH_v2_ptds(dst, b, N));
    CHECK(memcmp(src, dst, N) == 0, "ptds linear");
    OK(cuMemcpy_ptds(b, a, N));
    OK(cuMemsetD8_v2_ptds(a, 3, N));
    OK(cuMemcpyAsync_ptsz(b, a, N, NULL));
    OK(cuMemcpyDtoHAsync_v2_ptsz(dst, b, N, NULL));
    OK(cuStreamSynchronize_ptsz(NULL));
    CHECK(count_not(dst, N, 3) == 0, "ptsz async on the per-thread stream");
    OK(cuMemsetD32_v2_ptds(a, 0x01010101, N / 4));
    OK(cuMemsetD16Async_ptsz(a, 0x0202, 2, NULL));
    OK(cuMemcpyHtoDAsync_v2_ptsz(b, src, N, CU_STREAM_PER_THREAD));
    OK(cuStreamSynchronize_ptsz(NULL));
    OK(cuMemcpyDtoH(dst, a, 8));
    CHECK(dst[0] == 2 && dst[3] == 2 && dst[4] == 1, "ptds memsets");
    OK(cuMemsetD2D16_v2_ptds(a, 100, 0x0303, 10, 3));
    CUDA_MEMCPY2D c;
    memset(&c, 0, sizeof c);
    c.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    c.srcDevice = a;
    c.srcPitch = 100;
    c.dstMemoryType = CU_MEMORYTYPE_HOST;
    c.dstHost = dst;
    c.dstPitch = 20;
    c.WidthInBytes = 20;
    c.Height = 3;
    OK(cuMemcpy2D_v2_ptds(&c));
    CHECK(count_not(dst, 60, 3) == 0, "ptds 2D");
    CUDA_MEMCPY3D t;
    memset(&t, 0, sizeof t);
    t.srcMemoryType = CU_MEMORYTYPE_HOST;
    t.srcHost = src;
    t.srcPitch = 10;
    t.srcHeight = 2;
    t.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    t.dstDevice = b;
    t.dstPitch = 10;
    t.dstHeight = 2;
    t.WidthInBytes = 10;
    t.Height = 2;
    t.Depth = 3;
    OK(cuMemcpy3D_v2_ptds(&t));
    OK(cuMemcpyDtoH(dst, b, 60));
    CHECK(memcmp(dst, src, 60) == 0, "ptds 3D");
    OK(cuMemFree(a));
    OK(cuMemFree(b));
}

static void batches(void)
{
    enum { N = 3000 };
    unsigned char src[N], dst[N], dst2[N];
    fill_pattern(src, N, 8);
    CUdeviceptr a, b;
    OK(cuMemAlloc(&a, N));
    OK(cuMemAlloc(&b, N));
    CUstream s;
    OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    OK(cuMemcpyHtoD(a, src, N));
    memset(dst, 0, N);
    memset(dst2, 0, N);
    CUdeviceptr dsts[3] = { b, (CUdeviceptr)(uintptr_t)dst, (CUdeviceptr)(uintptr_t)dst2 };
    CUdeviceptr srcs[3] = { a, a, (CUdeviceptr)(uintptr_t)src };
    size_t sizes[3] = { N, N, N / 2 };
    CUmemcpyAttributes attrs[2];
    memset(attrs, 0, sizeof attrs);
    attrs[0].srcAccessOrder = CU_MEMCPY_SRC_ACCESS_ORDER_STREAM;
    attrs[1].srcAccessOrder = CU_MEMCPY_SRC_ACCESS_ORDER_DURING_API_CALL;
    size_t idxs[2] = { 0, 2 };
    OK(cuMemcpyBatchAsync(dsts, srcs, sizes, 3, attrs, idxs, 2, s));
    OK(cuStreamSynchronize(s));
    CHECK(memcmp(dst, src, N) == 0, "batch copy 1");
    CHECK(memcmp(dst2, src, N / 2) == 0 && dst2[N / 2] == 0, "batch copy 2");
    unsigned char chk[N];
    OK(cuMemcpyDtoH(chk, b, N));
    CHECK(memcmp(chk, src, N) == 0, "batch copy 0");
    /* Checks CUDA makes. */
    EXPECT(cuMemcpyBatchAsync(dsts, srcs, sizes, 3, attrs, idxs, 2, NULL), CUDA_ERROR_INVALID_VALUE);
    size_t badidx[2] = { 1, 2 };
    EXPECT(cuMemcpyBatchAsync(dsts, srcs, sizes, 3, attrs, badidx, 2, s), CUDA_ERROR_INVALID_VALUE);
    attrs[1].srcAccessOrder = CU_MEMCPY_SRC_ACCESS_ORDER_INVALID;
    EXPECT(cuMemcpyBatchAsync(dsts, srcs, sizes, 3, attrs, idxs, 2, s), CUDA_ERROR_INVALID_VALUE);
    attrs[1].srcAccessOrder = CU_MEMCPY_SRC_ACCESS_ORDER_ANY;
    sizes[0] = N + 1;
    EXPECT(cuMemcpyBatchAsync(dsts, srcs, sizes, 3, attrs, idxs, 2, s), CUDA_ERROR_INVALID_VALUE);
    sizes[0] = N;

    /* 3D batch: a 10x3x2 box from a packed host buffer into rows of 16, layers of 4 on the device. */
    CUDA_MEMCPY3D_BATCH_OP op;
    memset(&op, 0, sizeof op);
    op.src.type = CU_MEMCPY_OPERAND_TYPE_POINTER;
    op.src.op.ptr.ptr = (CUdeviceptr)(uintptr_t)src;
    op.dst.type = CU_MEMCPY_OPERAND_TYPE_POINTER;
    op.dst.op.ptr.ptr = b;
    op.dst.op.ptr.rowLength = 16;
    op.dst.op.ptr.layerHeight = 4;
    op.extent.width = 10;
    op.extent.height = 3;
    op.extent.depth = 2;
    op.srcAccessOrder = CU_MEMCPY_SRC_ACCESS_ORDER_STREAM;
    OK(cuMemsetD8(b, 0, N));
    OK(cuMemcpy3DBatchAsync(1, &op, 0, s));
    OK(cuStreamSynchronize(s));
    OK(cuMemcpyDtoH(chk, b, 128));
    int bad = 0;
    for (int z = 0; z < 2; z++)
        for (int y = 0; y < 3; y++)
            bad += memcmp(chk + z * 64 + y * 16, src + (z * 3 + y) * 10, 10) != 0;
    CHECK(bad == 0 && chk[10] == 0 && chk[48] == 0, "3D batch layout (%d rows bad)", bad);
    op.dst.type = CU_MEMCPY_OPERAND_TYPE_ARRAY;
    EXPECT(cuMemcpy3DBatchAsync(1, &op, 0, s), CUDA_ERROR_NOT_SUPPORTED);
    op.dst.type = CU_MEMCPY_OPERAND_TYPE_POINTER;
    op.dst.op.ptr.rowLength = 5;
    EXPECT(cuMemcpy3DBatchAsync(1, &op, 0, s), CUDA_ERROR_INVALID_VALUE);
    op.dst.op.ptr.rowLength = 16;
    EXPECT(cuMemcpy3DBatchAsync(1, &op, 1, s), CUDA_ERROR_INVALID_VALUE);
    op.extent.depth = 0;
    EXPECT(cuMemcpy3DBatchAsync(1, &op, 0, s), CUDA_ERROR_INVALID_VALUE);
    OK(cuStreamDestroy(s));
    OK(cuMemFree(a));
    OK(cuMemFree(b));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* lines survive a crash or a sanitizer exit */
    CUdevice dev;
    if (cuInit(0) != CUDA_SUCCESS || cuDeviceGet(&dev, 0) != CUDA_SUCCESS ||
        cuCtxCreate(&g_ctx, NULL, 0, dev) != CUDA_SUCCESS) {
        printf("FAIL cannot initialise the software GPU\n");
        return 1;
    }
    RUN(linear_directions);
    RUN(invalid_ranges);
    RUN(memsets);
    RUN(copies_2d);
    RUN(copies_3d);
    RUN(async_ordering);
    RUN(per_thread_variants);
    RUN(batches);
    cuCtxDestroy(g_ctx);
    printf("cases: %d passed, %d failed, 0 skipped\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
