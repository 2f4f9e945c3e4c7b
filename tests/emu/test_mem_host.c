/* test_mem_host.c: page-locked and registered host memory (emu/hostmem.c) and pointer attributes
 * (emu/memory.c): cuMemAllocHost/cuMemHostAlloc/cuMemFreeHost, device pointers and flags of host
 * memory, cuMemHostRegister/Unregister with overlap rules, device-side use of host memory
 * (memsets and copies through its device pointer), and cuPointerGetAttribute(s) /
 * cuPointerSetAttribute for device, managed, pool, host, registered and unknown pointers.
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

static CUcontext g_ctx;
static CUdevice g_dev;
#define DP(p) ((CUdeviceptr)(uintptr_t)(p))

/* ---- cases ---------------------------------------------------------------------------------- */

static void alloc_host(void)
{
    size_t f0, f1, t;
    OK(cuMemGetInfo(&f0, &t));
    void *p = NULL;
    OK(cuMemAllocHost(&p, 10000));
    CHECK(p != NULL && (uintptr_t)p % 4096 == 0, "host allocation %p", p);
    OK(cuMemGetInfo(&f1, &t));
    CHECK(f0 == f1, "host memory is not charged to the device");
    memset(p, 0x3c, 10000);                          /* the host may use it */
    CUdeviceptr d = 0;
    OK(cuMemHostGetDevicePointer(&d, p, 0));
    CHECK(d == DP(p), "device pointer of host memory 0x%llx vs %p", (unsigned long long)d, p);
    OK(cuMemHostGetDevicePointer(&d, (char *)p + 9999, 0));
    CHECK(d == DP(p) + 9999, "interior device pointer");
    EXPECT(cuMemHostGetDevicePointer(&d, p, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemHostGetDevicePointer(&d, (char *)p + 10000 + 4096, 0), CUDA_ERROR_INVALID_VALUE);
    unsigned int flags = 0;
    OK(cuMemHostGetFlags(&flags, p));
    CHECK((flags & CU_MEMHOSTALLOC_DEVICEMAP) && !(flags & CU_MEMHOSTALLOC_WRITECOMBINED), "flags %#x", flags);
    /* The device side can use it: memset through the device pointer, copy from it. */
    OK(cuMemHostGetDevicePointer(&d, p, 0));
    OK(cuMemsetD8(d, 0x42, 100));
    CHECK(((unsigned char *)p)[99] == 0x42 && ((unsigned char *)p)[100] == 0x3c, "memset of host memory");
    CUdeviceptr dev;
    OK(cuMemAlloc(&dev, 10000));
    OK(cuMemcpyDtoD(dev, d, 10000));
    unsigned char back[10000];
    OK(cuMemcpyDtoH(back, dev, 10000));
    CHECK(memcmp(back, p, 10000) == 0, "DtoD from host memory");
    EXPECT(cuMemcpyDtoD(dev, d, 10001), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemFree(dev));
    EXPECT(cuMemFreeHost((char *)p + 8), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemFreeHost(p));
    EXPECT(cuMemFreeHost(p), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemHostGetDevicePointer(&d, p, 0), CUDA_ERROR_INVALID_VALUE);

    OK(cuMemHostAlloc(&p, 333, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED));
    OK(cuMemHostGetFlags(&flags, p));
    CHECK(flags == (CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED),
          "flags %#x", flags);
    OK(cuMemFreeHost(p));
    EXPECT(cuMemHostAlloc(&p, 100, 0x80), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemHostAlloc(&p, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocHost(NULL, 10), CUDA_ERROR_INVALID_VALUE);
    int local;
    EXPECT(cuMemHostGetFlags(&flags, &local), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemFreeHost(NULL));
}

static void register_host(void)
{
    enum { N = 3 * 4096 + 100 };
    unsigned char *buf = malloc(N + 8192);
    memset(buf, 1, N + 8192);
    OK(cuMemHostRegister(buf, N, CU_MEMHOSTREGISTER_DEVICEMAP));
    EXPECT(cuMemHostRegister(buf, N, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
    EXPECT(cuMemHostRegister(buf + 100, 10, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
    EXPECT(cuMemHostRegister(buf + N - 1, 100, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
    OK(cuMemHostRegister(buf + N, 64, CU_MEMHOSTREGISTER_READ_ONLY));   /* adjacent is fine */
    CUdeviceptr d;
    OK(cuMemHostGetDevicePointer(&d, buf + 10, 0));
    CHECK(d == DP(buf + 10), "registered device pointer");
    unsigned int flags;
    OK(cuMemHostGetFlags(&flags, buf));
    CHECK(flags & CU_MEMHOSTREGISTER_DEVICEMAP, "register flags %#x", flags);
    OK(cuMemsetD32(DP(buf), 0x07070707, N / 4));
    CHECK(buf[0] == 7 && buf[N / 4 * 4 - 1] == 7 && buf[N / 4 * 4] == 1, "memset of registered memory");
    CUstream s;
    OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CUdeviceptr dev;
    OK(cuMemAlloc(&dev, N));
    OK(cuMemsetD8(dev, 9, N));
    OK(cuMemcpyDtoHAsync(buf, dev, N, s));
    OK(cuStreamSynchronize(s));
    CHECK(buf[0] == 9 && buf[N - 1] == 9 && buf[N] == 1, "async DtoH into registered memory");
    EXPECT(cuMemsetD8(DP(buf), 0, N + 1), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemFree(dev));
    OK(cuStreamDestroy(s));
    EXPECT(cuMemHostUnregister(buf + 4), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
    OK(cuMemHostUnregister(buf));
    OK(cuMemHostUnregister(buf + N));
    EXPECT(cuMemHostUnregister(buf), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
    EXPECT(cuMemHostGetDevicePointer(&d, buf, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemsetD8(DP(buf), 0, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemHostRegister(NULL, 16, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemHostRegister(buf, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemHostRegister(buf, 16, 0x100), CUDA_ERROR_INVALID_VALUE);
    /* Device memory cannot be registered as host memory. */
    OK(cuMemAlloc(&dev, 4096));
    CHECK(cuMemHostRegister((void *)(uintptr_t)dev, 4096, 0) != CUDA_SUCCESS, "registered device memory");
    OK(cuMemFree(dev));
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

static void pointer_attributes(void)
{
    all_attrs a;
    CUdeviceptr dev;
    OK(cuMemAlloc(&dev, 5000));
    OK(get_all(dev + 100, &a));
    CHECK(a.ctx == g_ctx, "device ctx");
    CHECK(a.type == CU_MEMORYTYPE_DEVICE, "device type %u", a.type);
    CHECK(a.dptr == dev + 100, "device dptr");
    CHECK(a.hptr == NULL, "device memory has no host pointer in CUDA's model");
    CHECK(a.managed == 0 && a.ordinal == 0 && a.mapped == 1 && a.pool == NULL, "device flags");
    CHECK(a.start == dev && a.size == 5000, "device range");
    unsigned long long id1 = a.buffer_id;

    /* cuPointerGetAttribute: the same answers, INVALID_VALUE where there is none. */
    CUcontext c = NULL;
    OK(cuPointerGetAttribute(&c, CU_POINTER_ATTRIBUTE_CONTEXT, dev));
    CHECK(c == g_ctx, "ctx");
    unsigned int type = 0;
    OK(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, dev + 4999));
    CHECK(type == CU_MEMORYTYPE_DEVICE, "type");
    void *hp;
    EXPECT(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER, dev), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, dev + 5000), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuPointerGetAttribute(NULL, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, dev), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuPointerGetAttribute(&type, (CUpointer_attribute)999, dev), CUDA_ERROR_INVALID_VALUE);
    unsigned long long id = 0;
    OK(cuPointerGetAttribute(&id, CU_POINTER_ATTRIBUTE_BUFFER_ID, dev));
    CHECK(id == id1, "buffer id stable");
    int ord = -1;
    OK(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, dev));
    CHECK(ord == 0, "ordinal %d", ord);

    /* SYNC_MEMOPS can be set and read back. */
    unsigned int one = 1, v = 0;
    OK(cuPointerSetAttribute(&one, CU_POINTER_ATTRIBUTE_SYNC_MEMOPS, dev + 5));
    OK(cuPointerGetAttribute(&v, CU_POINTER_ATTRIBUTE_SYNC_MEMOPS, dev));
    CHECK(v == 1, "sync memops %u", v);
    EXPECT(cuPointerSetAttribute(&one, CU_POINTER_ATTRIBUTE_SYNC_MEMOPS, dev + 5000), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuPointerSetAttribute(&one, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, dev), CUDA_ERROR_INVALID_VALUE);

    /* Buffer ids are never reused. */
    CUdeviceptr dev2;
    OK(cuMemFree(dev));
    OK(cuMemAlloc(&dev2, 5000));
    OK(cuPointerGetAttribute(&id, CU_POINTER_ATTRIBUTE_BUFFER_ID, dev2));
    CHECK(id != id1, "buffer id reused");
    OK(cuMemFree(dev2));

    /* Managed memory: device type, managed, host pointer is itself. */
    CUdeviceptr m;
    OK(cuMemAllocManaged(&m, 64, CU_MEM_ATTACH_GLOBAL));
    OK(get_all(m, &a));
    CHECK(a.type == CU_MEMORYTYPE_DEVICE && a.managed == 1 && a.hptr == (void *)(uintptr_t)m, "managed");
    OK(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER, m));
    CHECK(hp == (void *)(uintptr_t)m, "managed host pointer");
    OK(cuMemFree(m));

    /* Page-locked host memory. */
    void *h;
    OK(cuMemAllocHost(&h, 100));
    OK(get_all(DP(h) + 50, &a));
    CHECK(a.type == CU_MEMORYTYPE_HOST && a.ctx == g_ctx && a.hptr == (char *)h + 50 && a.dptr == DP(h) + 50,
          "host attributes");
    CHECK(a.start == DP(h) && a.size == 100 && a.ordinal == 0 && a.managed == 0, "host range");
    OK(cuMemFreeHost(h));

    /* Registered memory. */
    char *buf = malloc(256);
    OK(cuMemHostRegister(buf, 256, 0));
    OK(get_all(DP(buf), &a));
    CHECK(a.type == CU_MEMORYTYPE_HOST && a.hptr == buf && a.size == 256, "registered attributes");
    OK(cuMemHostUnregister(buf));

    /* Plain malloc memory: unknown. GetAttributes succeeds with defaults, GetAttribute refuses. */
    OK(get_all(DP(buf), &a));
    CHECK(a.type == 0 && a.ctx == NULL && a.dptr == 0 && a.hptr == NULL && a.managed == 0 && a.ordinal == -2 &&
          a.start == 0 && a.size == 0 && a.mapped == 0 && a.pool == NULL,
          "unknown pointer defaults: type %u ordinal %d", a.type, a.ordinal);
    EXPECT(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, DP(buf)), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuPointerGetAttribute(&c, CU_POINTER_ATTRIBUTE_CONTEXT, 0), CUDA_ERROR_INVALID_VALUE);
    free(buf);

    /* Pool allocations: no context (as in CUDA), the pool handle. */
    CUstream s;
    OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CUdeviceptr pa;
    OK(cuMemAllocAsync(&pa, 1000, s));
    CUmemoryPool pool;
    OK(cuDeviceGetDefaultMemPool(&pool, g_dev));
    OK(get_all(pa, &a));
    CHECK(a.type == CU_MEMORYTYPE_DEVICE && a.ctx == NULL && a.pool == pool && a.size == 1000, "pool attributes");
    OK(cuMemFreeAsync(pa, s));
    OK(cuStreamSynchronize(s));
    OK(cuStreamDestroy(s));
    EXPECT(get_all(0, &a), CUDA_SUCCESS);
    CUpointer_attribute bad = (CUpointer_attribute)999;
    void *bd[] = { &type };
    EXPECT(cuPointerGetAttributes(1, &bad, bd, DP(&type)), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuPointerGetAttributes(1, NULL, bd, DP(&type)), CUDA_ERROR_INVALID_VALUE);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* lines survive a crash or a sanitizer exit */
    if (cuInit(0) != CUDA_SUCCESS || cuDeviceGet(&g_dev, 0) != CUDA_SUCCESS ||
        cuCtxCreate(&g_ctx, NULL, 0, g_dev) != CUDA_SUCCESS) {
        printf("FAIL cannot initialise the software GPU\n");
        return 1;
    }
    RUN(alloc_host);
    RUN(register_host);
    RUN(pointer_attributes);
    cuCtxDestroy(g_ctx);
    printf("cases: %d passed, %d failed, 0 skipped\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
