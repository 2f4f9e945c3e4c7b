/* test_mem_copy.c: copies and memsets of the software GPU (emu/memcpy.c, emu/memcpy3d.c): every
 * direction of linear copies, unified cuMemcpy, 2D copies with pitches and offsets, 3D copies,
 * memsets of each width (1D and 2D, sync and async), stream ordering with events and a gated
 * stream, pageable-source snapshots, the per-thread-default-stream entry points, batch copies, and
 * CUDA_ERROR_INVALID_VALUE (never a crash) for ranges outside live allocations.
 * Cases run on the shared test framework (tests/common/bft.h), each in its own forked child. */
#include "bft.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static uint16_t u16_at(const unsigned char *p, size_t off)
{
    uint16_t v;
    memcpy(&v, p + off, 2);
    return v;
}

static uint32_t u32_at(const unsigned char *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, 4);
    return v;
}

/* One end of a 2D/3D copy: memory type, host or device pointer, pitch, height (3D only) and the
 * x (bytes), y, z offsets. */
typedef struct copy_end {
    CUmemorytype type;
    const void *host;
    CUdeviceptr dev;
    size_t pitch, height, x, y, z;
} copy_end;
#define HOST_END(p, ...) ((copy_end){ .type = CU_MEMORYTYPE_HOST, .host = (p), __VA_ARGS__ })
#define DEV_END(d, ...) ((copy_end){ .type = CU_MEMORYTYPE_DEVICE, .dev = (d), __VA_ARGS__ })

static CUDA_MEMCPY2D copy2d(copy_end src, copy_end dst, size_t width, size_t height)
{
    CUDA_MEMCPY2D c;
    memset(&c, 0, sizeof c);
    c.srcMemoryType = src.type;
    c.srcHost = src.host;
    c.srcDevice = src.dev;
    c.srcPitch = src.pitch;
    c.srcXInBytes = src.x;
    c.srcY = src.y;
    c.dstMemoryType = dst.type;
    c.dstHost = (void *)(uintptr_t)dst.host;
    c.dstDevice = dst.dev;
    c.dstPitch = dst.pitch;
    c.dstXInBytes = dst.x;
    c.dstY = dst.y;
    c.WidthInBytes = width;
    c.Height = height;
    return c;
}

static CUDA_MEMCPY3D copy3d(copy_end src, copy_end dst, size_t width, size_t height, size_t depth)
{
    CUDA_MEMCPY3D c;
    memset(&c, 0, sizeof c);
    c.srcMemoryType = src.type;
    c.srcHost = src.host;
    c.srcDevice = src.dev;
    c.srcPitch = src.pitch;
    c.srcHeight = src.height;
    c.srcXInBytes = src.x;
    c.srcY = src.y;
    c.srcZ = src.z;
    c.dstMemoryType = dst.type;
    c.dstHost = (void *)(uintptr_t)dst.host;
    c.dstDevice = dst.dev;
    c.dstPitch = dst.pitch;
    c.dstHeight = dst.height;
    c.dstXInBytes = dst.x;
    c.dstY = dst.y;
    c.dstZ = dst.z;
    c.WidthInBytes = width;
    c.Height = height;
    c.Depth = depth;
    return c;
}

/* Copies the descriptor `base` into v, applies `change` (statements on v) and expects
 * fn(&v) to return want: one invalid variant of a valid copy. */
#define EXPECT_VARIANT(fn, base, change, want)                                                  \
    do {                                                                                        \
        __typeof__(base) v = (base);                                                            \
        change;                                                                                 \
        EXPECT_CU(fn(&v), want);                                                                \
    } while (0)

/* ---- cases ---------------------------------------------------------------------------------- */

BFT_CASE(linear_directions)
{
    bft_cuda_init();
    enum { N = 100000 };
    unsigned char *src = malloc(N), *dst = malloc(N);
    fill_pattern(src, N, 1);
    CUdeviceptr a, b;
    CHECK_CU(cuMemAlloc(&a, N));
    CHECK_CU(cuMemAlloc(&b, N));
    CHECK_CU(cuMemcpyHtoD(a, src, N));
    CHECK_CU(cuMemcpyDtoD(b, a, N));
    memset(dst, 0, N);
    CHECK_CU(cuMemcpyDtoH(dst, b, N));
    EXPECT(memcmp(src, dst, N) == 0, "HtoD -> DtoD -> DtoH round trip");
    /* Offsets inside allocations. */
    CHECK_CU(cuMemcpyHtoD(a + 1000, src + 5, 777));
    CHECK_CU(cuMemcpyDtoH(dst, a + 1000, 777));
    EXPECT(memcmp(dst, src + 5, 777) == 0, "offset copy");
    /* Unified cuMemcpy works out directions from the pointers. */
    fill_pattern(src, N, 2);
    CHECK_CU(cuMemcpy(a, (CUdeviceptr)(uintptr_t)src, N));             /* host -> device */
    CHECK_CU(cuMemcpy(b, a, N));                                       /* device -> device */
    memset(dst, 0, N);
    CHECK_CU(cuMemcpy((CUdeviceptr)(uintptr_t)dst, b, N));             /* device -> host */
    EXPECT(memcmp(src, dst, N) == 0, "unified round trip");
    memset(dst, 0, N);
    CHECK_CU(cuMemcpy((CUdeviceptr)(uintptr_t)dst, (CUdeviceptr)(uintptr_t)src, N));   /* host -> host */
    EXPECT(memcmp(src, dst, N) == 0, "unified host to host");
    /* Overlapping device-to-device copy inside one allocation. */
    CHECK_CU(cuMemcpyDtoD(a + 10, a, 1000));
    CHECK_CU(cuMemcpyDtoH(dst, a + 10, 1000));
    EXPECT(memcmp(dst, src, 1000) == 0, "overlapping DtoD");
    /* Device memory is host-addressable in this design: check it directly too. */
    EXPECT(memcmp((void *)(uintptr_t)b, src, N) == 0, "device bytes seen from the host");
    CHECK_CU(cuMemFree(a));
    CHECK_CU(cuMemFree(b));
    free(src);
    free(dst);
}

BFT_CASE(invalid_ranges)
{
    bft_cuda_init();
    /* a is N bytes but not a whole number of 256-byte granules, so a + N is never the start of
     * another allocation. */
    enum { N = 4000 };
    unsigned char buf[2 * N];
    memset(buf, 0, sizeof buf);
    CUdeviceptr a, b;
    CHECK_CU(cuMemAlloc(&a, N));
    CHECK_CU(cuMemAlloc(&b, N));
    EXPECT_CU(cuMemcpyHtoD(a, buf, N + 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyHtoD(a + 1, buf, N), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyDtoH(buf, a + N, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyDtoD(b, a, N + 256), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyDtoD(b + N - 4, a, 8), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyDtoD(a, a - 1, 8), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyHtoD(a, NULL, 8), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyDtoH(NULL, a, 8), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyHtoD((CUdeviceptr)(uintptr_t)buf, buf + N, 8), CUDA_ERROR_INVALID_VALUE);
    /* Pointers just past an allocation, or into unallocated device space, through the unified
     * copy (which would otherwise treat them as host memory). */
    EXPECT_CU(cuMemcpy(a + N, (CUdeviceptr)(uintptr_t)buf, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpy((CUdeviceptr)(uintptr_t)buf, b + N + 100000, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpy(a + N - 8, (CUdeviceptr)(uintptr_t)buf, 16), CUDA_ERROR_INVALID_VALUE);
    /* Zero-byte copies succeed whatever the pointers. */
    CHECK_CU(cuMemcpyHtoD(0x10, NULL, 0));
    CHECK_CU(cuMemcpyDtoD(a + N + 5000, 0x10, 0));
    /* Freed memory. */
    CUdeviceptr c;
    CHECK_CU(cuMemAlloc(&c, N));
    CHECK_CU(cuMemFree(c));
    EXPECT_CU(cuMemcpyHtoD(c, buf, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyDtoH(buf, c, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemsetD8(c, 1, 16), CUDA_ERROR_INVALID_VALUE);
    /* Async forms refuse before queueing; the stream stays healthy. */
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    EXPECT_CU(cuMemcpyHtoDAsync(a, buf, N + 1, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyDtoHAsync(buf, c, 1, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyDtoDAsync(b, a + 1, N, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemsetD32Async(a, 1, N / 4 + 1, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyAsync(a + N, b, 4, s), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemcpyHtoDAsync(a, buf, N, s));
    CHECK_CU(cuStreamSynchronize(s));
    CHECK_CU(cuStreamDestroy(s));
    /* Memsets need device-addressable memory. */
    EXPECT_CU(cuMemsetD8((CUdeviceptr)(uintptr_t)buf, 0, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemsetD8(a, 0, N + 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemsetD2D8(a, 1024, 0, 1024, 5), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuCtxSynchronize());
    CHECK_CU(cuMemFree(a));
    CHECK_CU(cuMemFree(b));
}

BFT_CASE(memsets)
{
    bft_cuda_init();
    enum { N = 4096 };
    unsigned char h[N];
    CUdeviceptr a;
    CHECK_CU(cuMemAlloc(&a, N));
    CHECK_CU(cuMemsetD8(a, 0xee, N));
    CHECK_CU(cuMemsetD8(a + 3, 0x5a, 100));
    CHECK_CU(cuMemcpyDtoH(h, a, N));
    EXPECT(h[2] == 0xee && h[3] == 0x5a && h[102] == 0x5a && h[103] == 0xee, "D8 %x %x %x %x", h[2], h[3],
          h[102], h[103]);
    CHECK_CU(cuMemsetD16(a + 2, 0xbeef, 10));
    CHECK_CU(cuMemcpyDtoH(h, a, N));
    EXPECT(u16_at(h, 2) == 0xbeef, "D16 first %x", u16_at(h, 2));
    EXPECT(u16_at(h, 20) == 0xbeef, "D16 last %x", u16_at(h, 20));
    EXPECT(h[22] == 0x5a && h[1] == 0xee, "D16 bounds %x %x", h[22], h[1]);
    CHECK_CU(cuMemsetD32(a + 64, 0xdeadbeef, 5));
    CHECK_CU(cuMemcpyDtoH(h, a, N));
    EXPECT(u32_at(h, 64) == 0xdeadbeef, "D32 first %x", u32_at(h, 64));
    EXPECT(u32_at(h, 80) == 0xdeadbeef, "D32 last %x", u32_at(h, 80));
    EXPECT(h[84] == 0x5a || h[84] == 0xee, "D32 bound %x", h[84]);
    EXPECT_CU(cuMemsetD16(a + 1, 1, 4), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemsetD32(a + 2, 1, 4), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemsetD32(a, 1, N / 4 + 1), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemsetD32(a, 1, 0));
    /* 2D: rows of width elements at pitch; the padding stays. */
    size_t pitch = 256;
    CHECK_CU(cuMemsetD8(a, 0, N));
    CHECK_CU(cuMemsetD2D8(a, pitch, 0x11, 100, 5));
    CHECK_CU(cuMemcpyDtoH(h, a, N));
    for (int y = 0; y < 5; y++) {
        EXPECT(count_not(h + y * pitch, 100, 0x11) == 0, "D2D8 row %d", y);
        EXPECT(count_not(h + y * pitch + 100, pitch - 100, 0) == 0, "D2D8 padding %d", y);
    }
    EXPECT(count_not(h + 5 * pitch, N - 5 * pitch, 0) == 0, "D2D8 after the last row");
    CHECK_CU(cuMemsetD2D16(a, pitch, 0x1234, 50, 4));
    CHECK_CU(cuMemcpyDtoH(h, a, N));
    EXPECT(u16_at(h, 3 * pitch + 98) == 0x1234, "D2D16 last element %x", u16_at(h, 3 * pitch + 98));
    EXPECT(h[3 * pitch + 100] == 0, "D2D16 padding %x", h[3 * pitch + 100]);
    CHECK_CU(cuMemsetD2D32(a, pitch, 0xcafef00d, 10, 16));
    CHECK_CU(cuMemcpyDtoH(h, a, N));
    EXPECT(u32_at(h, 15 * pitch + 36) == 0xcafef00d, "D2D32 last element %x", u32_at(h, 15 * pitch + 36));
    EXPECT(h[15 * pitch + 40] == 0, "D2D32 padding %x", h[15 * pitch + 40]);
    EXPECT_CU(cuMemsetD2D32(a, 30, 1, 10, 2), CUDA_ERROR_INVALID_VALUE);     /* pitch < width */
    EXPECT_CU(cuMemsetD2D16(a, 255, 1, 10, 2), CUDA_ERROR_INVALID_VALUE);    /* pitch not aligned */
    EXPECT_CU(cuMemsetD2D8(a, pitch, 1, 100, 17), CUDA_ERROR_INVALID_VALUE); /* past the end */
    /* Async forms on a stream. */
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, 0));
    CHECK_CU(cuMemsetD8Async(a, 7, N, s));
    CHECK_CU(cuMemsetD16Async(a + 10, 0x0102, 3, s));
    CHECK_CU(cuMemsetD32Async(a + 100, 0x0a0b0c0d, 2, s));
    CHECK_CU(cuMemsetD2D8Async(a + 1024, 512, 9, 10, 2, s));
    CHECK_CU(cuMemsetD2D16Async(a + 2048, 512, 0x0909, 5, 2, s));
    CHECK_CU(cuMemsetD2D32Async(a + 3072, 512, 0x08080808, 2, 2, s));
    CHECK_CU(cuStreamSynchronize(s));
    CHECK_CU(cuMemcpyDtoH(h, a, N));
    EXPECT(h[0] == 7 && h[10] == 2 && h[11] == 1 && h[16] == 7, "async D8/D16 %u %u %u %u", h[0], h[10], h[11],
          h[16]);
    EXPECT(h[100] == 0x0d && h[107] == 0x0a && h[108] == 7, "async D32");
    EXPECT(h[1024] == 9 && h[1033] == 9 && h[1034] == 7 && h[1536 + 9] == 9, "async D2D8");
    EXPECT(h[2048] == 9 && h[2048 + 512 + 9] == 9 && h[2048 + 512 + 10] == 7, "async D2D16");
    EXPECT(h[3072] == 8 && h[3072 + 512 + 7] == 8 && h[3072 + 512 + 8] == 7, "async D2D32");
    CHECK_CU(cuStreamDestroy(s));
    CHECK_CU(cuMemFree(a));
}

BFT_CASE(copies_2d)
{
    bft_cuda_init();
    enum { W = 100, H = 7, HP = 128 };
    unsigned char host[HP * H], back[200 * (H + 3)];
    fill_pattern(host, sizeof host, 3);
    CUdeviceptr d, d2;
    size_t dp, dp2;
    CHECK_CU(cuMemAllocPitch(&d, &dp, 200, H + 3, 4));
    CHECK_CU(cuMemAllocPitch(&d2, &dp2, 300, H + 3, 4));
    CHECK_CU(cuMemsetD8(d, 0, dp * (H + 3)));
    CUDA_MEMCPY2D c = copy2d(HOST_END(host, .pitch = HP), DEV_END(d, .pitch = dp, .x = 16, .y = 2), W, H);
    CHECK_CU(cuMemcpy2D(&c));
    /* Device -> device at other offsets, then device -> host packed. */
    copy_end unified = { .type = CU_MEMORYTYPE_UNIFIED, .dev = d2, .pitch = dp2, .x = 3, .y = 1 };
    CUDA_MEMCPY2D e = copy2d(DEV_END(d, .pitch = dp, .x = 16, .y = 2), unified, W, H);
    CHECK_CU(cuMemcpy2DUnaligned(&e));
    CUDA_MEMCPY2D f = copy2d(DEV_END(d2, .pitch = dp2, .x = 3, .y = 1), HOST_END(back, .pitch = W), W, H);
    memset(back, 0, sizeof back);
    CHECK_CU(cuMemcpy2D(&f));
    int bad = 0;
    for (int y = 0; y < H; y++)
        bad += memcmp(back + y * W, host + y * HP, W) != 0;
    EXPECT(bad == 0, "%d rows differ after host->device->device->host 2D copies", bad);
    /* The padding around the destination rectangle was not touched. */
    unsigned char row[512];
    CHECK_CU(cuMemcpyDtoH(row, d + 2 * dp, dp));
    EXPECT(count_not(row, 16, 0) == 0 && count_not(row + 16 + W, dp - 16 - W, 0) == 0, "2D padding written");
    CHECK_CU(cuMemcpyDtoH(row, d + 1 * dp, dp));
    EXPECT(count_not(row, dp, 0) == 0, "row above the rectangle written");
    /* Async form on a stream. */
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    memset(back, 0, sizeof back);
    CHECK_CU(cuMemcpy2DAsync(&f, s));
    CHECK_CU(cuStreamSynchronize(s));
    EXPECT(memcmp(back + (H - 1) * W, host + (H - 1) * HP, W) == 0, "2D async");
    CHECK_CU(cuStreamDestroy(s));
    /* Checks CUDA makes. */
    EXPECT_VARIANT(cuMemcpy2D, c, v.srcPitch = W - 1, CUDA_ERROR_INVALID_VALUE);
    EXPECT_VARIANT(cuMemcpy2D, c, v.dstPitch = 50, CUDA_ERROR_INVALID_VALUE);
    /* last row past the allocation */
    EXPECT_VARIANT(cuMemcpy2D, c, v.dstY = H + 3 - H + 1, CUDA_ERROR_INVALID_VALUE);
    EXPECT_VARIANT(cuMemcpy2D, c, v.srcMemoryType = CU_MEMORYTYPE_ARRAY, CUDA_ERROR_NOT_SUPPORTED);
    EXPECT_VARIANT(cuMemcpy2D, c, v.dstMemoryType = (CUmemorytype)9, CUDA_ERROR_INVALID_VALUE);
    EXPECT_VARIANT(cuMemcpy2D, c, v.srcHost = NULL, CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpy2D(NULL), CUDA_ERROR_INVALID_VALUE);
    /* One row needs no pitch. */
    CUDA_MEMCPY2D one = c;
    one.Height = 1;
    one.srcPitch = 0;
    CHECK_CU(cuMemcpy2D(&one));
    one.WidthInBytes = 0;
    CHECK_CU(cuMemcpy2D(&one));
    CHECK_CU(cuMemFree(d));
    CHECK_CU(cuMemFree(d2));
}

BFT_CASE(copies_3d)
{
    bft_cuda_init();
    enum { W = 40, H = 5, D = 4, HP = 48, HH = 6, DP = 64, DH = 8, DD = 7 };
    unsigned char *host = malloc(HP * HH * D), *back = malloc(W * H * D);
    fill_pattern(host, HP * HH * D, 4);
    CUdeviceptr dev;
    CHECK_CU(cuMemAlloc(&dev, DP * DH * DD));
    CHECK_CU(cuMemsetD8(dev, 0, DP * DH * DD));
    CUDA_MEMCPY3D c = copy3d(HOST_END(host, .pitch = HP, .height = HH),
                             DEV_END(dev, .pitch = DP, .height = DH, .x = 8, .y = 1, .z = 2), W, H, D);
    CHECK_CU(cuMemcpy3D(&c));
    /* Check a few device bytes directly from the layout. */
    int bad = 0;
    for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++) {
            unsigned char row[W];
            CHECK_CU(cuMemcpyDtoH(row, dev + (size_t)(z + 2) * DP * DH + (size_t)(y + 1) * DP + 8, W));
            bad += memcmp(row, host + (size_t)z * HP * HH + (size_t)y * HP, W) != 0;
        }
    EXPECT(bad == 0, "%d rows misplaced by the 3D host->device copy", bad);
    unsigned char pad[DP];
    CHECK_CU(cuMemcpyDtoH(pad, dev + 2 * DP * DH, DP));
    EXPECT(count_not(pad, DP, 0) == 0, "row 0 of layer 2 written");
    /* Back to a packed host box, asynchronously. */
    CUDA_MEMCPY3D r = copy3d(DEV_END(dev, .pitch = DP, .height = DH, .x = 8, .y = 1, .z = 2),
                             HOST_END(back, .pitch = W, .height = H), W, H, D);
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, 0));
    memset(back, 0, W * H * D);
    CHECK_CU(cuMemcpy3DAsync(&r, s));
    CHECK_CU(cuStreamSynchronize(s));
    bad = 0;
    for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++)
            bad += memcmp(back + (size_t)(z * H + y) * W, host + (size_t)z * HP * HH + (size_t)y * HP, W) != 0;
    EXPECT(bad == 0, "%d rows differ after the 3D round trip", bad);
    CHECK_CU(cuStreamDestroy(s));
    /* Checks CUDA makes. */
    int dummy;
    EXPECT_VARIANT(cuMemcpy3D, c, v.reserved0 = &dummy, CUDA_ERROR_INVALID_VALUE);
    EXPECT_VARIANT(cuMemcpy3D, c, v.dstLOD = 1, CUDA_ERROR_INVALID_VALUE);
    EXPECT_VARIANT(cuMemcpy3D, c, v.srcHeight = H - 1, CUDA_ERROR_INVALID_VALUE);
    /* last layer past the allocation */
    EXPECT_VARIANT(cuMemcpy3D, c, v.dstZ = DD - D + 1, CUDA_ERROR_INVALID_VALUE);
    EXPECT_VARIANT(cuMemcpy3D, c, v.dstMemoryType = CU_MEMORYTYPE_ARRAY, CUDA_ERROR_NOT_SUPPORTED);
    /* Depth 1 may leave the heights 0. */
    CUDA_MEMCPY3D b = c;
    b.Depth = 1;
    b.srcHeight = 0;
    b.dstHeight = 0;
    b.dstZ = 0;
    CHECK_CU(cuMemcpy3D(&b));
    CHECK_CU(cuMemFree(dev));
    free(host);
    free(back);
}

BFT_CASE(async_ordering)
{
    bft_cuda_init();
    enum { N = 1 << 16 };
    unsigned char *src = malloc(N), *dst = malloc(N), *orig = malloc(N);
    CUstream s1, s2;
    CUevent ev;
    CHECK_CU(cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
    CHECK_CU(cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING));
    CHECK_CU(cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING));
    CUdeviceptr a, b;
    CHECK_CU(cuMemAlloc(&a, N));
    CHECK_CU(cuMemAlloc(&b, N));

    /* s1 is held by a gate; an async copy from pageable memory snapshots the source at the call,
     * so changing the buffer afterwards does not change what lands on the device. */
    bft_gate g;
    bft_gate_hold(&g, s1);
    fill_pattern(src, N, 5);
    memcpy(orig, src, N);
    CHECK_CU(cuMemcpyHtoDAsync(a, src, N, s1));
    memset(src, 0xff, N);
    CHECK_CU(cuEventRecord(ev, s1));
    /* s2 waits for s1's event, then copies a -> b -> pageable dst. */
    CHECK_CU(cuStreamWaitEvent(s2, ev, 0));
    CHECK_CU(cuMemcpyDtoDAsync(b, a, N, s2));
    memset(dst, 0xcd, N);
    CHECK_CU(cuMemcpyDtoHAsync(dst, b, N, s2));
    usleep(20000);
    EXPECT_CU(cuStreamQuery(s2), CUDA_ERROR_NOT_READY);
    EXPECT(count_not(dst, N, 0xcd) == 0, "DtoH async wrote its destination before its stream got there");
    bft_gate_open(&g);
    CHECK_CU(cuStreamSynchronize(s2));
    EXPECT(memcmp(dst, orig, N) == 0, "ordered chain s1 -> event -> s2 delivered the wrong bytes");

    /* Memsets and copies in one stream keep their order. */
    CHECK_CU(cuMemsetD8Async(a, 1, N, s1));
    CHECK_CU(cuMemsetD8Async(a, 2, N / 2, s1));
    CHECK_CU(cuMemcpyDtoDAsync(b, a, N, s1));
    CHECK_CU(cuMemsetD8Async(a, 3, N, s1));
    CHECK_CU(cuMemcpyDtoHAsync(dst, b, N, s1));
    CHECK_CU(cuStreamSynchronize(s1));
    EXPECT(count_not(dst, N / 2, 2) == 0 && count_not(dst + N / 2, N / 2, 1) == 0, "in-stream order");

    /* The legacy default stream orders synchronous copies after queued work. */
    bft_gate g2;
    bft_gate_hold(&g2, s1);
    CHECK_CU(cuMemsetD8Async(a, 9, N, s1));
    CHECK_CU(cuEventRecord(ev, s1));
    CHECK_CU(cuStreamWaitEvent(NULL, ev, 0));
    bft_gate_open(&g2);
    CHECK_CU(cuMemcpyDtoH(dst, a, N));
    EXPECT(count_not(dst, N, 9) == 0, "sync copy after an event wait on the NULL stream");

    /* Pinned sources are read in stream order (no snapshot). */
    unsigned char *pinned;
    CHECK_CU(cuMemAllocHost((void **)&pinned, N));
    memset(pinned, 4, N);
    bft_gate g3;
    bft_gate_hold(&g3, s1);
    CHECK_CU(cuMemcpyHtoDAsync(a, pinned, N, s1));
    memset(pinned, 6, N);
    bft_gate_open(&g3);
    CHECK_CU(cuStreamSynchronize(s1));
    CHECK_CU(cuMemcpyDtoH(dst, a, N));
    EXPECT(count_not(dst, N, 6) == 0, "pinned source read at execution time");
    CHECK_CU(cuMemFreeHost(pinned));

    CHECK_CU(cuEventDestroy(ev));
    CHECK_CU(cuStreamDestroy(s1));
    CHECK_CU(cuStreamDestroy(s2));
    CHECK_CU(cuMemFree(a));
    CHECK_CU(cuMemFree(b));
    free(src);
    free(dst);
    free(orig);
}

BFT_CASE(per_thread_variants)
{
    bft_cuda_init();
    enum { N = 5000 };
    unsigned char src[N], dst[N];
    fill_pattern(src, N, 6);
    CUdeviceptr a, b;
    CHECK_CU(cuMemAlloc(&a, N));
    CHECK_CU(cuMemAlloc(&b, N));
    CHECK_CU(cuMemcpyHtoD_v2_ptds(a, src, N));
    CHECK_CU(cuMemcpyDtoD_v2_ptds(b, a, N));
    CHECK_CU(cuMemcpyDtoH_v2_ptds(dst, b, N));
    EXPECT(memcmp(src, dst, N) == 0, "ptds linear");
    CHECK_CU(cuMemcpy_ptds(b, a, N));
    CHECK_CU(cuMemsetD8_v2_ptds(a, 3, N));
    CHECK_CU(cuMemcpyAsync_ptsz(b, a, N, NULL));
    CHECK_CU(cuMemcpyDtoHAsync_v2_ptsz(dst, b, N, NULL));
    CHECK_CU(cuStreamSynchronize_ptsz(NULL));
    EXPECT(count_not(dst, N, 3) == 0, "ptsz async on the per-thread stream");
    CHECK_CU(cuMemsetD32_v2_ptds(a, 0x01010101, N / 4));
    CHECK_CU(cuMemsetD16Async_ptsz(a, 0x0202, 2, NULL));
    CHECK_CU(cuMemcpyHtoDAsync_v2_ptsz(b, src, N, CU_STREAM_PER_THREAD));
    CHECK_CU(cuStreamSynchronize_ptsz(NULL));
    CHECK_CU(cuMemcpyDtoH(dst, a, 8));
    EXPECT(dst[0] == 2 && dst[3] == 2 && dst[4] == 1, "ptds memsets");
    CHECK_CU(cuMemsetD2D16_v2_ptds(a, 100, 0x0303, 10, 3));
    CUDA_MEMCPY2D c = copy2d(DEV_END(a, .pitch = 100), HOST_END(dst, .pitch = 20), 20, 3);
    CHECK_CU(cuMemcpy2D_v2_ptds(&c));
    EXPECT(count_not(dst, 60, 3) == 0, "ptds 2D");
    CUDA_MEMCPY3D t = copy3d(HOST_END(src, .pitch = 10, .height = 2), DEV_END(b, .pitch = 10, .height = 2),
                             10, 2, 3);
    CHECK_CU(cuMemcpy3D_v2_ptds(&t));
    CHECK_CU(cuMemcpyDtoH(dst, b, 60));
    EXPECT(memcmp(dst, src, 60) == 0, "ptds 3D");
    CHECK_CU(cuMemFree(a));
    CHECK_CU(cuMemFree(b));
}

BFT_CASE(batches)
{
    bft_cuda_init();
    enum { N = 3000 };
    unsigned char src[N], dst[N], dst2[N];
    fill_pattern(src, N, 8);
    CUdeviceptr a, b;
    CHECK_CU(cuMemAlloc(&a, N));
    CHECK_CU(cuMemAlloc(&b, N));
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CHECK_CU(cuMemcpyHtoD(a, src, N));
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
    CHECK_CU(cuMemcpyBatchAsync(dsts, srcs, sizes, 3, attrs, idxs, 2, s));
    CHECK_CU(cuStreamSynchronize(s));
    EXPECT(memcmp(dst, src, N) == 0, "batch copy 1");
    EXPECT(memcmp(dst2, src, N / 2) == 0 && dst2[N / 2] == 0, "batch copy 2");
    unsigned char chk[N];
    CHECK_CU(cuMemcpyDtoH(chk, b, N));
    EXPECT(memcmp(chk, src, N) == 0, "batch copy 0");
    /* Checks CUDA makes. */
    EXPECT_CU(cuMemcpyBatchAsync(dsts, srcs, sizes, 3, attrs, idxs, 2, NULL), CUDA_ERROR_INVALID_VALUE);
    size_t badidx[2] = { 1, 2 };
    EXPECT_CU(cuMemcpyBatchAsync(dsts, srcs, sizes, 3, attrs, badidx, 2, s), CUDA_ERROR_INVALID_VALUE);
    attrs[1].srcAccessOrder = CU_MEMCPY_SRC_ACCESS_ORDER_INVALID;
    EXPECT_CU(cuMemcpyBatchAsync(dsts, srcs, sizes, 3, attrs, idxs, 2, s), CUDA_ERROR_INVALID_VALUE);
    attrs[1].srcAccessOrder = CU_MEMCPY_SRC_ACCESS_ORDER_ANY;
    sizes[0] = N + 1;
    EXPECT_CU(cuMemcpyBatchAsync(dsts, srcs, sizes, 3, attrs, idxs, 2, s), CUDA_ERROR_INVALID_VALUE);
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
    CHECK_CU(cuMemsetD8(b, 0, N));
    CHECK_CU(cuMemcpy3DBatchAsync(1, &op, 0, s));
    CHECK_CU(cuStreamSynchronize(s));
    CHECK_CU(cuMemcpyDtoH(chk, b, 128));
    int bad = 0;
    for (int z = 0; z < 2; z++)
        for (int y = 0; y < 3; y++)
            bad += memcmp(chk + z * 64 + y * 16, src + (z * 3 + y) * 10, 10) != 0;
    EXPECT(bad == 0 && chk[10] == 0 && chk[48] == 0, "3D batch layout (%d rows bad)", bad);
    op.dst.type = CU_MEMCPY_OPERAND_TYPE_ARRAY;
    EXPECT_CU(cuMemcpy3DBatchAsync(1, &op, 0, s), CUDA_ERROR_NOT_SUPPORTED);
    op.dst.type = CU_MEMCPY_OPERAND_TYPE_POINTER;
    op.dst.op.ptr.rowLength = 5;
    EXPECT_CU(cuMemcpy3DBatchAsync(1, &op, 0, s), CUDA_ERROR_INVALID_VALUE);
    op.dst.op.ptr.rowLength = 16;
    EXPECT_CU(cuMemcpy3DBatchAsync(1, &op, 1, s), CUDA_ERROR_INVALID_VALUE);
    op.extent.depth = 0;
    EXPECT_CU(cuMemcpy3DBatchAsync(1, &op, 0, s), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuStreamDestroy(s));
    CHECK_CU(cuMemFree(a));
    CHECK_CU(cuMemFree(b));
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
