/* test_mem_peer.c: memory on two software GPUs (BITFUSION_EMU_DEVICES=2): separate address
 * ranges and accounting per device, cuMemcpyPeer(+Async), cuMemcpy3DPeer(+Async), unified
 * cuMemcpy between devices, pointer attributes naming the right device and context, and the
 * checks on contexts and ranges.
 * Self-contained: one line per failed check, a PASS/FAIL line per case, the `cases:` summary, and
 * a non-zero exit status on failure. */
#include <cuda.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define MIB (1024u * 1024u)
static CUcontext g_c0, g_c1;
static CUdevice g_d0, g_d1;

static size_t free_on(CUcontext c)
{
    size_t f = 0, t = 0;
    OK(cuCtxSetCurrent(c));
    OK(cuMemGetInfo(&f, &t));
    return f;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 37u + seed);
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void per_device_accounting(void)
{
    size_t f0 = free_on(g_c0), f1 = free_on(g_c1);
    CUdeviceptr a, b;
    OK(cuCtxSetCurrent(g_c0));
    OK(cuMemAlloc(&a, 4 * MIB));
    OK(cuCtxSetCurrent(g_c1));
    OK(cuMemAlloc(&b, 2 * MIB));
    CHECK(f0 - free_on(g_c0) == 4 * MIB, "device 0 charged %zu", f0 - free_on(g_c0));
    CHECK(f1 - free_on(g_c1) == 2 * MIB, "device 1 charged %zu", f1 - free_on(g_c1));
    int ord = -1;
    OK(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, b));
    CHECK(ord == 1, "device 1 allocation ordinal %d", ord);
    OK(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, a));
    CHECK(ord == 0, "device 0 allocation ordinal %d", ord);
    CUcontext c = NULL;
    OK(cuPointerGetAttribute(&c, CU_POINTER_ATTRIBUTE_CONTEXT, a));
    CHECK(c == g_c0, "owner context of a device 0 allocation");
    /* Device ranges are disjoint. */
    CHECK(a + 4 * MIB <= b || b + 2 * MIB <= a, "allocations of two devices overlap");
    /* Freeing from the other device's context works (the pointer says where it lives). */
    OK(cuCtxSetCurrent(g_c1));
    OK(cuMemFree(a));
    OK(cuMemFree(b));
    CHECK(free_on(g_c0) == f0 && free_on(g_c1) == f1, "accounting restored");
}

static void peer_copies(void)
{
    enum { N = 200000 };
    unsigned char *src = malloc(N), *dst = malloc(N);
    fill(src, N, 3);
    CUdeviceptr a, b;
    OK(cuCtxSetCurrent(g_c0));
    OK(cuMemAlloc(&a, N));
    OK(cuMemcpyHtoD(a, src, N));
    OK(cuCtxSetCurrent(g_c1));
    OK(cuMemAlloc(&b, N));
    OK(cuMemcpyPeer(b, g_c1, a, g_c0, N));
    memset(dst, 0, N);
    OK(cuMemcpyDtoH(dst, b, N));
    CHECK(memcmp(src, dst, N) == 0, "cuMemcpyPeer 0 -> 1");
    /* Async, back the other way, on a stream of device 1. */
    CUstream s;
    OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    OK(cuMemsetD8Async(b, 0x61, 1000, s));
    OK(cuMemcpyPeerAsync(a + 10, g_c0, b, g_c1, 1000, s));
    OK(cuStreamSynchronize(s));
    OK(cuCtxSetCurrent(g_c0));
    OK(cuMemcpyDtoH(dst, a, 1100));
    CHECK(dst[9] == src[9] && dst[10] == 0x61 && dst[1009] == 0x61 && dst[1010] == src[1010], "peer async 1 -> 0");
    /* Unified copy between devices. */
    OK(cuMemcpy(a, b, N));
    OK(cuMemcpyDtoH(dst, a, 1000));
    CHECK(dst[0] == 0x61 && dst[999] == 0x61, "unified copy across devices");
    /* Checks. */
    EXPECT(cuMemcpyPeer(b, g_c1, a, g_c0, N + 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemcpyPeer(b, g_c1, a, NULL, N), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT(cuMemcpyPeer(b, (CUcontext)(uintptr_t)0x1234, a, g_c0, N), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT(cuMemcpyPeer(b + N, g_c1, a, g_c0, 1), CUDA_ERROR_INVALID_VALUE);
    OK(cuCtxSetCurrent(g_c1));
    OK(cuStreamDestroy(s));
    OK(cuMemFree(b));
    OK(cuMemFree(a));
    free(src);
    free(dst);
}

static void peer_3d(void)
{
    enum { W = 30, H = 4, D = 3, P0 = 32, P1 = 64 };
    unsigned char host[P0 * H * D], back[W * H * D];
    fill(host, sizeof host, 9);
    CUdeviceptr a, b;
    OK(cuCtxSetCurrent(g_c0));
    OK(cuMemAlloc(&a, P0 * H * D));
    OK(cuMemcpyHtoD(a, host, P0 * H * D));
    OK(cuCtxSetCurrent(g_c1));
    OK(cuMemAlloc(&b, P1 * (H + 1) * D));
    CUDA_MEMCPY3D_PEER c;
    memset(&c, 0, sizeof c);
    c.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    c.srcDevice = a;
    c.srcContext = g_c0;
    c.srcPitch = P0;
    c.srcHeight = H;
    c.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    c.dstDevice = b;
    c.dstContext = g_c1;
    c.dstPitch = P1;
    c.dstHeight = H + 1;
    c.dstY = 1;
    c.WidthInBytes = W;
    c.Height = H;
    c.Depth = D;
    OK(cuMemcpy3DPeer(&c));
    CUDA_MEMCPY3D r;
    memset(&r, 0, sizeof r);
    r.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    r.srcDevice = b;
    r.srcPitch = P1;
    r.srcHeight = H + 1;
    r.srcY = 1;
    r.dstMemoryType = CU_MEMORYTYPE_HOST;
    r.dstHost = back;
    r.dstPitch = W;
    r.dstHeight = H;
    r.WidthInBytes = W;
    r.Height = H;
    r.Depth = D;
    OK(cuMemcpy3D(&r));
    int bad = 0;
    for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++)
            bad += memcmp(back + (z * H + y) * W, host + (z * H + y) * P0, W) != 0;
    CHECK(bad == 0, "%d rows differ after cuMemcpy3DPeer", bad);
    CUstream s;
    OK(cuStreamCreate(&s, 0));
    OK(cuMemsetD8(b, 0, P1 * (H + 1) * D));
    OK(cuMemcpy3DPeerAsync(&c, s));
    OK(cuStreamSynchronize(s));
    memset(back, 0, sizeof back);
    OK(cuMemcpy3D(&r));
    CHECK(memcmp(back, host, W) == 0, "cuMemcpy3DPeerAsync");
    c.srcContext = (CUcontext)(uintptr_t)0x999;
    EXPECT(cuMemcpy3DPeer(&c), CUDA_ERROR_INVALID_CONTEXT);
    c.srcContext = g_c0;
    c.srcMemoryType = CU_MEMORYTYPE_ARRAY;
    EXPECT(cuMemcpy3DPeer(&c), CUDA_ERROR_NOT_SUPPORTED);
    OK(cuStreamDestroy(s));
    OK(cuMemFree(b));
    OK(cuMemFree(a));
}

static void pool_access(void)
{
    CUmemoryPool pool;
    OK(cuDeviceGetDefaultMemPool(&pool, g_d0));
    CUmemLocation l0 = { CU_MEM_LOCATION_TYPE_DEVICE, 0 }, l1 = { CU_MEM_LOCATION_TYPE_DEVICE, 1 };
    CUmemAccess_flags f = CU_MEM_ACCESS_FLAGS_PROT_MAX;
    OK(cuMemPoolGetAccess(&f, pool, &l0));
    CHECK(f == CU_MEM_ACCESS_FLAGS_PROT_READWRITE, "owner access %d", (int)f);
    OK(cuMemPoolGetAccess(&f, pool, &l1));
    CHECK(f == CU_MEM_ACCESS_FLAGS_PROT_NONE, "peer access before SetAccess %d", (int)f);
    CUmemAccessDesc d = { l1, CU_MEM_ACCESS_FLAGS_PROT_READWRITE };
    OK(cuMemPoolSetAccess(pool, &d, 1));
    OK(cuMemPoolGetAccess(&f, pool, &l1));
    CHECK(f == CU_MEM_ACCESS_FLAGS_PROT_READWRITE, "peer access after SetAccess %d", (int)f);
    d.location = l0;
    d.flags = CU_MEM_ACCESS_FLAGS_PROT_NONE;
    EXPECT(cuMemPoolSetAccess(pool, &d, 1), CUDA_ERROR_INVALID_VALUE);   /* the owner keeps access */
    d.location.id = 5;
    d.flags = CU_MEM_ACCESS_FLAGS_PROT_READ;
    EXPECT(cuMemPoolSetAccess(pool, &d, 1), CUDA_ERROR_INVALID_DEVICE);
    /* A pool allocation of device 0 copied to device 1 memory on a device 1 stream. */
    OK(cuCtxSetCurrent(g_c0));
    CUstream s0, s1;
    OK(cuStreamCreate(&s0, CU_STREAM_NON_BLOCKING));
    CUdeviceptr a, b;
    OK(cuMemAllocAsync(&a, 4096, s0));
    OK(cuMemsetD8Async(a, 0x3d, 4096, s0));
    OK(cuStreamSynchronize(s0));
    OK(cuCtxSetCurrent(g_c1));
    OK(cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
    OK(cuMemAlloc(&b, 4096));
    OK(cuMemcpyPeerAsync(b, g_c1, a, g_c0, 4096, s1));
    unsigned char h[4096];
    OK(cuMemcpyDtoHAsync(h, b, 4096, s1));
    OK(cuStreamSynchronize(s1));
    CHECK(h[0] == 0x3d && h[4095] == 0x3d, "pool memory read by the peer");
    OK(cuMemFree(b));
    OK(cuStreamDestroy(s1));
    OK(cuCtxSetCurrent(g_c0));
    OK(cuMemFreeAsync(a, s0));
    OK(cuStreamSynchronize(s0));
    OK(cuStreamDestroy(s0));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* lines survive a crash or a sanitizer exit */
    setenv("BITFUSION_EMU_DEVICES", "2", 1);
    setenv("BITFUSION_EMU_MEMORY_MB", "512", 1);
    int n = 0;
    if (cuInit(0) != CUDA_SUCCESS || cuDeviceGetCount(&n) != CUDA_SUCCESS || n != 2 ||
        cuDeviceGet(&g_d0, 0) != CUDA_SUCCESS || cuDeviceGet(&g_d1, 1) != CUDA_SUCCESS ||
        cuCtxCreate(&g_c0, NULL, 0, g_d0) != CUDA_SUCCESS || cuCtxCreate(&g_c1, NULL, 0, g_d1) != CUDA_SUCCESS) {
        printf("FAIL cannot initialise two software GPUs (count %d)\n", n);
        return 1;
    }
    RUN(per_device_accounting);
    RUN(peer_copies);
    RUN(peer_3d);
    RUN(pool_access);
    cuCtxDestroy(g_c1);
    cuCtxDestroy(g_c0);
    printf("cases: %d passed, %d failed, 0 skipped\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
