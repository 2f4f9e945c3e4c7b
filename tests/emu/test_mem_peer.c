/* test_mem_peer.c: memory on two software GPUs (BITFUSION_EMU_DEVICES=2): separate address
 * ranges and accounting per device, cuMemcpyPeer(+Async), cuMemcpy3DPeer(+Async), unified
 * cuMemcpy between devices, pointer attributes naming the right device and context, and the
 * checks on contexts and ranges.
 * Cases run on the shared test framework (tests/common/bft.h), each in its own forked child. */
#include "bft.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024u * 1024u)
static CUcontext g_c0, g_c1;   /* created by setup() in each case */
static CUdevice g_d0, g_d1;

/* Each case: a context on each of the two devices (BITFUSION_EMU_DEVICES=2, set by main). */
static void setup(void)
{
    int n = 0;
    CHECK_CU(cuInit(0));
    CHECK_CU(cuDeviceGetCount(&n));
    REQUIRE(n == 2, "cannot initialise two software GPUs (count %d)", n);
    CHECK_CU(cuDeviceGet(&g_d0, 0));
    CHECK_CU(cuDeviceGet(&g_d1, 1));
    g_c0 = bft_ctx_create(g_d0);
    g_c1 = bft_ctx_create(g_d1);
}

static size_t free_on(CUcontext c)
{
    size_t f = 0, t = 0;
    CHECK_CU(cuCtxSetCurrent(c));
    CHECK_CU(cuMemGetInfo(&f, &t));
    return f;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 37u + seed);
}

/* ---- cases ---------------------------------------------------------------------------------- */

BFT_CASE(per_device_accounting)
{
    setup();
    size_t f0 = free_on(g_c0), f1 = free_on(g_c1);
    CUdeviceptr a, b;
    CHECK_CU(cuCtxSetCurrent(g_c0));
    CHECK_CU(cuMemAlloc(&a, 4 * MIB));
    CHECK_CU(cuCtxSetCurrent(g_c1));
    CHECK_CU(cuMemAlloc(&b, 2 * MIB));
    EXPECT(f0 - free_on(g_c0) == 4 * MIB, "device 0 charged %zu", f0 - free_on(g_c0));
    EXPECT(f1 - free_on(g_c1) == 2 * MIB, "device 1 charged %zu", f1 - free_on(g_c1));
    int ord = -1;
    CHECK_CU(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, b));
    EXPECT(ord == 1, "device 1 allocation ordinal %d", ord);
    CHECK_CU(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, a));
    EXPECT(ord == 0, "device 0 allocation ordinal %d", ord);
    CUcontext c = NULL;
    CHECK_CU(cuPointerGetAttribute(&c, CU_POINTER_ATTRIBUTE_CONTEXT, a));
    EXPECT(c == g_c0, "owner context of a device 0 allocation");
    /* Device ranges are disjoint. */
    EXPECT(a + 4 * MIB <= b || b + 2 * MIB <= a, "allocations of two devices overlap");
    /* Freeing from the other device's context works (the pointer says where it lives). */
    CHECK_CU(cuCtxSetCurrent(g_c1));
    CHECK_CU(cuMemFree(a));
    CHECK_CU(cuMemFree(b));
    EXPECT(free_on(g_c0) == f0 && free_on(g_c1) == f1, "accounting restored");
}

BFT_CASE(peer_copies)
{
    setup();
    enum { N = 200000 };
    unsigned char *src = malloc(N), *dst = malloc(N);
    fill(src, N, 3);
    CUdeviceptr a, b;
    CHECK_CU(cuCtxSetCurrent(g_c0));
    CHECK_CU(cuMemAlloc(&a, N));
    CHECK_CU(cuMemcpyHtoD(a, src, N));
    CHECK_CU(cuCtxSetCurrent(g_c1));
    CHECK_CU(cuMemAlloc(&b, N));
    CHECK_CU(cuMemcpyPeer(b, g_c1, a, g_c0, N));
    memset(dst, 0, N);
    CHECK_CU(cuMemcpyDtoH(dst, b, N));
    EXPECT(memcmp(src, dst, N) == 0, "cuMemcpyPeer 0 -> 1");
    /* Async, back the other way, on a stream of device 1. */
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CHECK_CU(cuMemsetD8Async(b, 0x61, 1000, s));
    CHECK_CU(cuMemcpyPeerAsync(a + 10, g_c0, b, g_c1, 1000, s));
    CHECK_CU(cuStreamSynchronize(s));
    CHECK_CU(cuCtxSetCurrent(g_c0));
    CHECK_CU(cuMemcpyDtoH(dst, a, 1100));
    EXPECT(dst[9] == src[9] && dst[10] == 0x61 && dst[1009] == 0x61 && dst[1010] == src[1010], "peer async 1 -> 0");
    /* Unified copy between devices. */
    CHECK_CU(cuMemcpy(a, b, N));
    CHECK_CU(cuMemcpyDtoH(dst, a, 1000));
    EXPECT(dst[0] == 0x61 && dst[999] == 0x61, "unified copy across devices");
    /* Checks. */
    EXPECT_CU(cuMemcpyPeer(b, g_c1, a, g_c0, N + 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyPeer(b, g_c1, a, NULL, N), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT_CU(cuMemcpyPeer(b, (CUcontext)(uintptr_t)0x1234, a, g_c0, N), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT_CU(cuMemcpyPeer(b + N, g_c1, a, g_c0, 1), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuCtxSetCurrent(g_c1));
    CHECK_CU(cuStreamDestroy(s));
    CHECK_CU(cuMemFree(b));
    CHECK_CU(cuMemFree(a));
    free(src);
    free(dst);
}

BFT_CASE(peer_3d)
{
    setup();
    enum { W = 30, H = 4, D = 3, P0 = 32, P1 = 64 };
    unsigned char host[P0 * H * D], back[W * H * D];
    fill(host, sizeof host, 9);
    CUdeviceptr a, b;
    CHECK_CU(cuCtxSetCurrent(g_c0));
    CHECK_CU(cuMemAlloc(&a, P0 * H * D));
    CHECK_CU(cuMemcpyHtoD(a, host, P0 * H * D));
    CHECK_CU(cuCtxSetCurrent(g_c1));
    CHECK_CU(cuMemAlloc(&b, P1 * (H + 1) * D));
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
    CHECK_CU(cuMemcpy3DPeer(&c));
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
    CHECK_CU(cuMemcpy3D(&r));
    int bad = 0;
    for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++)
            bad += memcmp(back + (z * H + y) * W, host + (z * H + y) * P0, W) != 0;
    EXPECT(bad == 0, "%d rows differ after cuMemcpy3DPeer", bad);
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, 0));
    CHECK_CU(cuMemsetD8(b, 0, P1 * (H + 1) * D));
    CHECK_CU(cuMemcpy3DPeerAsync(&c, s));
    CHECK_CU(cuStreamSynchronize(s));
    memset(back, 0, sizeof back);
    CHECK_CU(cuMemcpy3D(&r));
    EXPECT(memcmp(back, host, W) == 0, "cuMemcpy3DPeerAsync");
    c.srcContext = (CUcontext)(uintptr_t)0x999;
    EXPECT_CU(cuMemcpy3DPeer(&c), CUDA_ERROR_INVALID_CONTEXT);
    c.srcContext = g_c0;
    c.srcMemoryType = CU_MEMORYTYPE_ARRAY;
    EXPECT_CU(cuMemcpy3DPeer(&c), CUDA_ERROR_NOT_SUPPORTED);
    CHECK_CU(cuStreamDestroy(s));
    CHECK_CU(cuMemFree(b));
    CHECK_CU(cuMemFree(a));
}

BFT_CASE(pool_access)
{
    setup();
    CUmemoryPool pool;
    CHECK_CU(cuDeviceGetDefaultMemPool(&pool, g_d0));
    CUmemLocation l0 = { CU_MEM_LOCATION_TYPE_DEVICE, 0 }, l1 = { CU_MEM_LOCATION_TYPE_DEVICE, 1 };
    CUmemAccess_flags f = CU_MEM_ACCESS_FLAGS_PROT_MAX;
    CHECK_CU(cuMemPoolGetAccess(&f, pool, &l0));
    EXPECT(f == CU_MEM_ACCESS_FLAGS_PROT_READWRITE, "owner access %d", (int)f);
    CHECK_CU(cuMemPoolGetAccess(&f, pool, &l1));
    EXPECT(f == CU_MEM_ACCESS_FLAGS_PROT_NONE, "peer access before SetAccess %d", (int)f);
    CUmemAccessDesc d = { l1, CU_MEM_ACCESS_FLAGS_PROT_READWRITE };
    CHECK_CU(cuMemPoolSetAccess(pool, &d, 1));
    CHECK_CU(cuMemPoolGetAccess(&f, pool, &l1));
    EXPECT(f == CU_MEM_ACCESS_FLAGS_PROT_READWRITE, "peer access after SetAccess %d", (int)f);
    d.location = l0;
    d.flags = CU_MEM_ACCESS_FLAGS_PROT_NONE;
    EXPECT_CU(cuMemPoolSetAccess(pool, &d, 1), CUDA_ERROR_INVALID_VALUE);   /* the owner keeps access */
    d.location.id = 5;
    d.flags = CU_MEM_ACCESS_FLAGS_PROT_READ;
    EXPECT_CU(cuMemPoolSetAccess(pool, &d, 1), CUDA_ERROR_INVALID_DEVICE);
    /* A pool allocation of device 0 copied to device 1 memory on a device 1 stream. */
    CHECK_CU(cuCtxSetCurrent(g_c0));
    CUstream s0, s1;
    CHECK_CU(cuStreamCreate(&s0, CU_STREAM_NON_BLOCKING));
    CUdeviceptr a, b;
    CHECK_CU(cuMemAllocAsync(&a, 4096, s0));
    CHECK_CU(cuMemsetD8Async(a, 0x3d, 4096, s0));
    CHECK_CU(cuStreamSynchronize(s0));
    CHECK_CU(cuCtxSetCurrent(g_c1));
    CHECK_CU(cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
    CHECK_CU(cuMemAlloc(&b, 4096));
    CHECK_CU(cuMemcpyPeerAsync(b, g_c1, a, g_c0, 4096, s1));
    unsigned char h[4096];
    CHECK_CU(cuMemcpyDtoHAsync(h, b, 4096, s1));
    CHECK_CU(cuStreamSynchronize(s1));
    EXPECT(h[0] == 0x3d && h[4095] == 0x3d, "pool memory read by the peer");
    CHECK_CU(cuMemFree(b));
    CHECK_CU(cuStreamDestroy(s1));
    CHECK_CU(cuCtxSetCurrent(g_c0));
    CHECK_CU(cuMemFreeAsync(a, s0));
    CHECK_CU(cuStreamSynchronize(s0));
    CHECK_CU(cuStreamDestroy(s0));
}

int main(int argc, char **argv)
{
    /* process-wide configuration: the parent never initialises CUDA, each forked case does */
    setenv("BITFUSION_EMU_DEVICES", "2", 1);
    setenv("BITFUSION_EMU_MEMORY_MB", "512", 1);
    return bft_main(argc, argv);
}
