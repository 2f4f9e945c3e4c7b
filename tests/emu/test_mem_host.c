/* test_mem_host.c: page-locked and registered host memory (emu/hostmem.c) and pointer attributes
 * (emu/memory.c): cuMemAllocHost/cuMemHostAlloc/cuMemFreeHost, device pointers and flags of host
 * memory, cuMemHostRegister/Unregister with overlap rules, device-side use of host memory
 * (memsets and copies through its device pointer), and cuPointerGetAttribute(s) /
 * cuPointerSetAttribute for device, managed, pool, host, registered and unknown pointers.
 * Cases run on the shared test framework (tests/common/bft.h), each in its own forked child. */
#include "bft.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DP(p) ((CUdeviceptr)(uintptr_t)(p))

/* ---- cases ---------------------------------------------------------------------------------- */

BFT_CASE(alloc_host)
{
    bft_cuda_init();
    size_t f0, f1, t;
    CHECK_CU(cuMemGetInfo(&f0, &t));
    void *p = NULL;
    CHECK_CU(cuMemAllocHost(&p, 10000));
    EXPECT(p != NULL && (uintptr_t)p % 4096 == 0, "host allocation %p", p);
    CHECK_CU(cuMemGetInfo(&f1, &t));
    EXPECT(f0 == f1, "host memory is not charged to the device");
    memset(p, 0x3c, 10000);                          /* the host may use it */
    CUdeviceptr d = 0;
    CHECK_CU(cuMemHostGetDevicePointer(&d, p, 0));
    EXPECT(d == DP(p), "device pointer of host memory 0x%llx vs %p", (unsigned long long)d, p);
    CHECK_CU(cuMemHostGetDevicePointer(&d, (char *)p + 9999, 0));
    EXPECT(d == DP(p) + 9999, "interior device pointer");
    EXPECT_CU(cuMemHostGetDevicePointer(&d, p, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemHostGetDevicePointer(&d, (char *)p + 10000 + 4096, 0), CUDA_ERROR_INVALID_VALUE);
    unsigned int flags = 0;
    CHECK_CU(cuMemHostGetFlags(&flags, p));
    EXPECT((flags & CU_MEMHOSTALLOC_DEVICEMAP) && !(flags & CU_MEMHOSTALLOC_WRITECOMBINED), "flags %#x", flags);
    /* The device side can use it: memset through the device pointer, copy from it. */
    CHECK_CU(cuMemHostGetDevicePointer(&d, p, 0));
    CHECK_CU(cuMemsetD8(d, 0x42, 100));
    EXPECT(((unsigned char *)p)[99] == 0x42 && ((unsigned char *)p)[100] == 0x3c, "memset of host memory");
    CUdeviceptr dev;
    CHECK_CU(cuMemAlloc(&dev, 10000));
    CHECK_CU(cuMemcpyDtoD(dev, d, 10000));
    unsigned char back[10000];
    CHECK_CU(cuMemcpyDtoH(back, dev, 10000));
    EXPECT(memcmp(back, p, 10000) == 0, "DtoD from host memory");
    EXPECT_CU(cuMemcpyDtoD(dev, d, 10001), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemFree(dev));
    EXPECT_CU(cuMemFreeHost((char *)p + 8), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemFreeHost(p));
    EXPECT_CU(cuMemFreeHost(p), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemHostGetDevicePointer(&d, p, 0), CUDA_ERROR_INVALID_VALUE);

    CHECK_CU(cuMemHostAlloc(&p, 333, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED));
    CHECK_CU(cuMemHostGetFlags(&flags, p));
    EXPECT(flags == (CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED),
          "flags %#x", flags);
    CHECK_CU(cuMemFreeHost(p));
    EXPECT_CU(cuMemHostAlloc(&p, 100, 0x80), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemHostAlloc(&p, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocHost(NULL, 10), CUDA_ERROR_INVALID_VALUE);
    int local;
    EXPECT_CU(cuMemHostGetFlags(&flags, &local), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemFreeHost(NULL));
}

BFT_CASE(register_host)
{
    bft_cuda_init();
    enum { N = 3 * 4096 + 100 };
    unsigned char *buf = malloc(N + 8192);
    memset(buf, 1, N + 8192);
    CHECK_CU(cuMemHostRegister(buf, N, CU_MEMHOSTREGISTER_DEVICEMAP));
    EXPECT_CU(cuMemHostRegister(buf, N, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
    EXPECT_CU(cuMemHostRegister(buf + 100, 10, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
    EXPECT_CU(cuMemHostRegister(buf + N - 1, 100, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
    CHECK_CU(cuMemHostRegister(buf + N, 64, CU_MEMHOSTREGISTER_READ_ONLY));   /* adjacent is fine */
    CUdeviceptr d;
    CHECK_CU(cuMemHostGetDevicePointer(&d, buf + 10, 0));
    EXPECT(d == DP(buf + 10), "registered device pointer");
    unsigned int flags;
    CHECK_CU(cuMemHostGetFlags(&flags, buf));
    EXPECT(flags & CU_MEMHOSTREGISTER_DEVICEMAP, "register flags %#x", flags);
    CHECK_CU(cuMemsetD32(DP(buf), 0x07070707, N / 4));
    EXPECT(buf[0] == 7 && buf[N / 4 * 4 - 1] == 7 && buf[N / 4 * 4] == 1, "memset of registered memory");
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CUdeviceptr dev;
    CHECK_CU(cuMemAlloc(&dev, N));
    CHECK_CU(cuMemsetD8(dev, 9, N));
    CHECK_CU(cuMemcpyDtoHAsync(buf, dev, N, s));
    CHECK_CU(cuStreamSynchronize(s));
    EXPECT(buf[0] == 9 && buf[N - 1] == 9 && buf[N] == 1, "async DtoH into registered memory");
    EXPECT_CU(cuMemsetD8(DP(buf), 0, N + 1), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemFree(dev));
    CHECK_CU(cuStreamDestroy(s));
    EXPECT_CU(cuMemHostUnregister(buf + 4), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
    CHECK_CU(cuMemHostUnregister(buf));
    CHECK_CU(cuMemHostUnregister(buf + N));
    EXPECT_CU(cuMemHostUnregister(buf), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
    EXPECT_CU(cuMemHostGetDevicePointer(&d, buf, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemsetD8(DP(buf), 0, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemHostRegister(NULL, 16, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemHostRegister(buf, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemHostRegister(buf, 16, 0x100), CUDA_ERROR_INVALID_VALUE);
    /* Device memory cannot be registered as host memory. */
    CHECK_CU(cuMemAlloc(&dev, 4096));
    EXPECT(cuMemHostRegister((void *)(uintptr_t)dev, 4096, 0) != CUDA_SUCCESS, "registered device memory");
    CHECK_CU(cuMemFree(dev));
    free(buf);
}

/* Reads every attribute of ptr with cuPointerGetAttributes. */
typedef struct all_attrs {
    CUcontext ctx;
    unsigned int type;
    CUdeviceptr dptr;
    void *hptr;
    unsigned int sync_memops;
    unsigned long long buffer_id;
    unsigned int managed;
    int ordinal;
    CUdeviceptr start;
    size_t size;
    unsigned int mapped;
    CUmemoryPool pool;
} all_attrs;

static CUresult get_all(CUdeviceptr p, all_attrs *a)
{
    memset(a, 0x5c, sizeof *a);
    CUpointer_attribute ids[] = {
        CU_POINTER_ATTRIBUTE_CONTEXT, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_DEVICE_POINTER,
        CU_POINTER_ATTRIBUTE_HOST_POINTER, CU_POINTER_ATTRIBUTE_SYNC_MEMOPS, CU_POINTER_ATTRIBUTE_BUFFER_ID,
        CU_POINTER_ATTRIBUTE_IS_MANAGED, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
        CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, CU_POINTER_ATTRIBUTE_RANGE_SIZE, CU_POINTER_ATTRIBUTE_MAPPED,
        CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE,
    };
    void *data[] = { &a->ctx, &a->type, &a->dptr, &a->hptr, &a->sync_memops, &a->buffer_id, &a->managed,
                     &a->ordinal, &a->start, &a->size, &a->mapped, &a->pool };
    return cuPointerGetAttributes(sizeof ids / sizeof ids[0], ids, data, p);
}

BFT_CASE(pointer_attributes)
{
    bft_cuda_init();
    all_attrs a;
    CUdeviceptr dev;
    CHECK_CU(cuMemAlloc(&dev, 5000));
    CHECK_CU(get_all(dev + 100, &a));
    EXPECT(a.ctx == bft_context(), "device ctx");
    EXPECT(a.type == CU_MEMORYTYPE_DEVICE, "device type %u", a.type);
    EXPECT(a.dptr == dev + 100, "device dptr");
    EXPECT(a.hptr == NULL, "device memory has no host pointer in CUDA's model");
    EXPECT(a.managed == 0 && a.ordinal == 0 && a.mapped == 1 && a.pool == NULL, "device flags");
    EXPECT(a.start == dev && a.size == 5000, "device range");
    unsigned long long id1 = a.buffer_id;

    /* cuPointerGetAttribute: the same answers, INVALID_VALUE where there is none. */
    CUcontext c = NULL;
    CHECK_CU(cuPointerGetAttribute(&c, CU_POINTER_ATTRIBUTE_CONTEXT, dev));
    EXPECT(c == bft_context(), "ctx");
    unsigned int type = 0;
    CHECK_CU(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, dev + 4999));
    EXPECT(type == CU_MEMORYTYPE_DEVICE, "type");
    void *hp;
    EXPECT_CU(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER, dev), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, dev + 5000), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuPointerGetAttribute(NULL, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, dev), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuPointerGetAttribute(&type, (CUpointer_attribute)999, dev), CUDA_ERROR_INVALID_VALUE);
    unsigned long long id = 0;
    CHECK_CU(cuPointerGetAttribute(&id, CU_POINTER_ATTRIBUTE_BUFFER_ID, dev));
    EXPECT(id == id1, "buffer id stable");
    int ord = -1;
    CHECK_CU(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, dev));
    EXPECT(ord == 0, "ordinal %d", ord);

    /* SYNC_MEMOPS can be set and read back. */
    unsigned int one = 1, v = 0;
    CHECK_CU(cuPointerSetAttribute(&one, CU_POINTER_ATTRIBUTE_SYNC_MEMOPS, dev + 5));
    CHECK_CU(cuPointerGetAttribute(&v, CU_POINTER_ATTRIBUTE_SYNC_MEMOPS, dev));
    EXPECT(v == 1, "sync memops %u", v);
    EXPECT_CU(cuPointerSetAttribute(&one, CU_POINTER_ATTRIBUTE_SYNC_MEMOPS, dev + 5000), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuPointerSetAttribute(&one, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, dev), CUDA_ERROR_INVALID_VALUE);

    /* Buffer ids are never reused. */
    CUdeviceptr dev2;
    CHECK_CU(cuMemFree(dev));
    CHECK_CU(cuMemAlloc(&dev2, 5000));
    CHECK_CU(cuPointerGetAttribute(&id, CU_POINTER_ATTRIBUTE_BUFFER_ID, dev2));
    EXPECT(id != id1, "buffer id reused");
    CHECK_CU(cuMemFree(dev2));

    /* Managed memory: device type, managed, host pointer is itself. */
    CUdeviceptr m;
    CHECK_CU(cuMemAllocManaged(&m, 64, CU_MEM_ATTACH_GLOBAL));
    CHECK_CU(get_all(m, &a));
    EXPECT(a.type == CU_MEMORYTYPE_DEVICE && a.managed == 1 && a.hptr == (void *)(uintptr_t)m, "managed");
    CHECK_CU(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER, m));
    EXPECT(hp == (void *)(uintptr_t)m, "managed host pointer");
    CHECK_CU(cuMemFree(m));

    /* Page-locked host memory. */
    void *h;
    CHECK_CU(cuMemAllocHost(&h, 100));
    CHECK_CU(get_all(DP(h) + 50, &a));
    EXPECT(a.type == CU_MEMORYTYPE_HOST && a.ctx == bft_context() && a.hptr == (char *)h + 50 && a.dptr == DP(h) + 50,
          "host attributes");
    EXPECT(a.start == DP(h) && a.size == 100 && a.ordinal == 0 && a.managed == 0, "host range");
    CHECK_CU(cuMemFreeHost(h));

    /* Registered memory. */
    char *buf = malloc(256);
    CHECK_CU(cuMemHostRegister(buf, 256, 0));
    CHECK_CU(get_all(DP(buf), &a));
    EXPECT(a.type == CU_MEMORYTYPE_HOST && a.hptr == buf && a.size == 256, "registered attributes");
    CHECK_CU(cuMemHostUnregister(buf));

    /* Plain malloc memory: unknown. GetAttributes succeeds with defaults, GetAttribute refuses. */
    CHECK_CU(get_all(DP(buf), &a));
    EXPECT(a.type == 0 && a.ctx == NULL && a.dptr == 0 && a.hptr == NULL && a.managed == 0 && a.ordinal == -2 &&
          a.start == 0 && a.size == 0 && a.mapped == 0 && a.pool == NULL,
          "unknown pointer defaults: type %u ordinal %d", a.type, a.ordinal);
    EXPECT_CU(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, DP(buf)), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuPointerGetAttribute(&c, CU_POINTER_ATTRIBUTE_CONTEXT, 0), CUDA_ERROR_INVALID_VALUE);
    free(buf);

    /* Pool allocations: no context (as in CUDA), the pool handle. */
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CUdeviceptr pa;
    CHECK_CU(cuMemAllocAsync(&pa, 1000, s));
    CUmemoryPool pool;
    CHECK_CU(cuDeviceGetDefaultMemPool(&pool, bft_device()));
    CHECK_CU(get_all(pa, &a));
    EXPECT(a.type == CU_MEMORYTYPE_DEVICE && a.ctx == NULL && a.pool == pool && a.size == 1000, "pool attributes");
    CHECK_CU(cuMemFreeAsync(pa, s));
    CHECK_CU(cuStreamSynchronize(s));
    CHECK_CU(cuStreamDestroy(s));
    EXPECT_CU(get_all(0, &a), CUDA_SUCCESS);
    CUpointer_attribute bad = (CUpointer_attribute)999;
    void *bd[] = { &type };
    EXPECT_CU(cuPointerGetAttributes(1, &bad, bd, DP(&type)), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuPointerGetAttributes(1, NULL, bd, DP(&type)), CUDA_ERROR_INVALID_VALUE);
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
