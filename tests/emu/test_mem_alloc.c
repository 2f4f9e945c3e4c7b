/* test_mem_alloc.c: device memory manager of the software GPU (emu/memory.c): allocation and
 * free accounting against cuMemGetInfo, out-of-memory exactly at the device's size, alignment,
 * address ranges, pitched and managed allocations, zeroed fresh memory, freeing on context
 * destruction, invalid frees, and concurrent allocation from many threads.
 * Self-contained: one line per failed check, a PASS/FAIL line per case, the `cases:` summary, and
 * a non-zero exit status on failure. Runs with a 64 MiB device (BITFUSION_EMU_MEMORY_MB). */
#include <cuda.h>
#include <pthread.h>
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
static CUcontext g_ctx;
static CUdevice g_dev;

static size_t free_mem(void)
{
    size_t f = 0, t = 0;
    OK(cuMemGetInfo(&f, &t));
    return f;
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void info_and_accounting(void)
{
    size_t f, t;
    OK(cuMemGetInfo(&f, &t));
    CHECK(t == 64 * MIB, "total %zu", t);
    CHECK(f <= t, "free %zu total %zu", f, t);
    size_t tot2 = 0;
    OK(cuDeviceTotalMem(&tot2, g_dev));
    CHECK(tot2 == t, "cuDeviceTotalMem %zu vs %zu", tot2, t);
    EXPECT(cuMemGetInfo(NULL, NULL), CUDA_ERROR_INVALID_VALUE);

    size_t base = free_mem();
    CUdeviceptr p = 0;
    OK(cuMemAlloc(&p, MIB));
    CHECK(p != 0 && p % 256 == 0, "pointer 0x%llx", (unsigned long long)p);
    CHECK(free_mem() == base - MIB, "free after 1 MiB alloc: %zu (was %zu)", free_mem(), base);
    OK(cuMemFree(p));
    CHECK(free_mem() == base, "free after free: %zu (was %zu)", free_mem(), base);

    /* Sizes are charged in 256-byte granules. */
    size_t sizes[] = { 1, 255, 256, 257, 4095, 4096, 4097, 100000 };
    CUdeviceptr ps[8];
    size_t charged = 0;
    for (int i = 0; i < 8; i++) {
        OK(cuMemAlloc(&ps[i], sizes[i]));
        CHECK(ps[i] % 256 == 0, "alignment of %zu-byte allocation: 0x%llx", sizes[i], (unsigned long long)ps[i]);
        charged += (sizes[i] + 255) / 256 * 256;
    }
    CHECK(free_mem() == base - charged, "free %zu, expected %zu", free_mem(), base - charged);
    for (int i = 0; i < 8; i++)
        OK(cuMemFree(ps[i]));
    CHECK(free_mem() == base, "free after frees: %zu, expected %zu", free_mem(), base);
}

static void out_of_memory_boundary(void)
{
    size_t base = free_mem();
    CUdeviceptr all = 0, extra = 0;
    EXPECT(cuMemAlloc(&all, base + 1), CUDA_ERROR_OUT_OF_MEMORY);
    EXPECT(cuMemAlloc(&all, (size_t)1 << 40), CUDA_ERROR_OUT_OF_MEMORY);
    EXPECT(cuMemAlloc(&all, SIZE_MAX), CUDA_ERROR_OUT_OF_MEMORY);
    OK(cuMemAlloc(&all, base));
    CHECK(free_mem() == 0, "free after taking everything: %zu", free_mem());
    EXPECT(cuMemAlloc(&extra, 1), CUDA_ERROR_OUT_OF_MEMORY);
    EXPECT(cuMemAllocManaged(&extra, 1, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_OUT_OF_MEMORY);
    /* The whole device is usable: touch its last byte. */
    unsigned char last = 0x5a, back = 0;
    OK(cuMemcpyHtoD(all + base - 1, &last, 1));
    OK(cuMemcpyDtoH(&back, all + base - 1, 1));
    CHECK(back == 0x5a, "last byte %u", back);
    OK(cuMemFree(all));
    CHECK(free_mem() == base, "free restored: %zu vs %zu", free_mem(), base);
    /* Half and half, then one more byte fails. */
    CUdeviceptr a = 0, b = 0;
    OK(cuMemAlloc(&a, base / 2));
    OK(cuMemAlloc(&b, base - base / 2));
    EXPECT(cuMemAlloc(&extra, 256), CUDA_ERROR_OUT_OF_MEMORY);
    OK(cuMemFree(a));
    OK(cuMemAlloc(&extra, 256));
    OK(cuMemFree(extra));
    OK(cuMemFree(b));
    CHECK(free_mem() == base, "free restored: %zu vs %zu", free_mem(), base);
}

static void invalid_arguments(void)
{
    CUdeviceptr p = 0;
    EXPECT(cuMemAlloc(&p, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAlloc(NULL, 16), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemFree(0));
    OK(cuMemAlloc(&p, 4096));
    EXPECT(cuMemFree(p + 16), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemFree(p));
    EXPECT(cuMemFree(p), CUDA_ERROR_INVALID_VALUE);
    int local = 0;
    EXPECT(cuMemFree((CUdeviceptr)(uintptr_t)&local), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemFree((CUdeviceptr)0x1234), CUDA_ERROR_INVALID_VALUE);
    void *h = NULL;
    OK(cuMemAllocHost(&h, 100));
    EXPECT(cuMemFree((CUdeviceptr)(uintptr_t)h), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemFreeHost(h));
}

static void address_range(void)
{
    CUdeviceptr p = 0, base = 0;
    size_t size = 0;
    OK(cuMemAlloc(&p, 10000));
    OK(cuMemGetAddressRange(&base, &size, p + 1234));
    CHECK(base == p && size == 10000, "base 0x%llx size %zu", (unsigned long long)base, size);
    OK(cuMemGetAddressRange(&base, NULL, p + 9999));
    CHECK(base == p, "base only");
    OK(cuMemGetAddressRange(NULL, &size, p));
    CHECK(size == 10000, "size only");
    EXPECT(cuMemGetAddressRange(&base, &size, p + 10000), CUDA_ERROR_NOT_FOUND);
    int local;
    EXPECT(cuMemGetAddressRange(&base, &size, (CUdeviceptr)(uintptr_t)&local), CUDA_ERROR_NOT_FOUND);
    OK(cuMemFree(p));
    EXPECT(cuMemGetAddressRange(&base, &size, p), CUDA_ERROR_NOT_FOUND);
}

static void pitched(void)
{
    CUdeviceptr p = 0;
    size_t pitch = 0, before = free_mem();
    OK(cuMemAllocPitch(&p, &pitch, 1000, 7, 4));
    CHECK(pitch >= 1000 && pitch % 512 == 0, "pitch %zu", pitch);
    CHECK(p % 512 == 0, "pitched base alignment");
    CUdeviceptr base;
    size_t size;
    OK(cuMemGetAddressRange(&base, &size, p));
    CHECK(size == pitch * 7, "size %zu pitch %zu", size, pitch);
    CHECK(before - free_mem() == pitch * 7, "charged %zu", before - free_mem());
    OK(cuMemFree(p));
    EXPECT(cuMemAllocPitch(&p, &pitch, 1000, 7, 3), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocPitch(&p, &pitch, 1000, 7, 2), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocPitch(&p, &pitch, 0, 7, 4), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocPitch(&p, &pitch, 100, 0, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocPitch(&p, NULL, 100, 1, 16), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemAllocPitch(&p, &pitch, 512, 2, 16));
    CHECK(pitch == 512, "exact pitch %zu", pitch);
    OK(cuMemFree(p));
}

static void fresh_memory_reads_zero(void)
{
    size_t n = 3 * MIB + 300;
    unsigned char *buf = malloc(n);
    for (int round = 0; round < 3; round++) {
        CUdeviceptr p = 0;
        OK(cuMemAlloc(&p, n));
        memset(buf, 0x77, n);
        OK(cuMemcpyDtoH(buf, p, n));
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += buf[i] != 0;
        CHECK(bad == 0, "round %d: %zu non-zero bytes in a fresh allocation", round, bad);
        OK(cuMemsetD8(p, 0xab, n));
        OK(cuMemFree(p));
    }
    /* Small neighbours sharing pages: freeing one must not disturb the other, and the freed
     * bytes read zero when handed out again. */
    CUdeviceptr a, b, c;
    OK(cuMemAlloc(&a, 300));
    OK(cuMemAlloc(&b, 300));
    OK(cuMemsetD8(a, 0x11, 300));
    OK(cuMemsetD8(b, 0x22, 300));
    OK(cuMemFree(a));
    OK(cuMemAlloc(&c, 300));
    OK(cuMemcpyDtoH(buf, c, 300));
    size_t bad = 0;
    for (size_t i = 0; i < 300; i++)
        bad += buf[i] != 0;
    CHECK(bad == 0, "%zu non-zero bytes in a reused small block", bad);
    OK(cuMemcpyDtoH(buf, b, 300));
    bad = 0;
    for (size_t i = 0; i < 300; i++)
        bad += buf[i] != 0x22;
    CHECK(bad == 0, "neighbour damaged: %zu bytes", bad);
    OK(cuMemFree(b));
    OK(cuMemFree(c));
    free(buf);
}

static void managed(void)
{
    CUdeviceptr p = 0;
    EXPECT(cuMemAllocManaged(&p, 100, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocManaged(&p, 100, 3), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocManaged(&p, 0, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_INVALID_VALUE);
    size_t before = free_mem();
    OK(cuMemAllocManaged(&p, 4096, CU_MEM_ATTACH_GLOBAL));
    CHECK(before - free_mem() == 4096, "managed memory is charged to the device");
    int *host = (int *)(uintptr_t)p;   /* the host may touch managed memory directly */
    for (int i = 0; i < 1024; i++)
        host[i] = i * 3;
    int back[1024];
    OK(cuMemcpyDtoH(back, p, sizeof back));
    CHECK(back[1023] == 3069 && back[7] == 21, "managed contents %d %d", back[1023], back[7]);
    OK(cuMemsetD32(p, 9, 1024));
    CHECK(host[500] == 9, "host view after memset %d", host[500]);
    /* Prefetches and advice are accepted for managed memory only. */
    CUmemLocation dev0 = { CU_MEM_LOCATION_TYPE_DEVICE, 0 }, hostloc = { CU_MEM_LOCATION_TYPE_HOST, 0 };
    CUmemLocation bad = { CU_MEM_LOCATION_TYPE_DEVICE, 42 };
    OK(cuMemPrefetchAsync(p, 4096, dev0, 0, NULL));
    OK(cuMemPrefetchAsync(p + 100, 100, hostloc, 0, NULL));
    EXPECT(cuMemPrefetchAsync(p, 4097, dev0, 0, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemPrefetchAsync(p, 4096, bad, 0, NULL), CUDA_ERROR_INVALID_DEVICE);
    OK(cuMemAdvise(p, 4096, CU_MEM_ADVISE_SET_READ_MOSTLY, dev0));
    OK(cuMemAdvise(p, 64, CU_MEM_ADVISE_SET_PREFERRED_LOCATION, hostloc));
    EXPECT(cuMemAdvise(p, 64, (CUmem_advise)77, dev0), CUDA_ERROR_INVALID_VALUE);
    CUdeviceptr plain;
    OK(cuMemAlloc(&plain, 4096));
    EXPECT(cuMemPrefetchAsync(plain, 4096, dev0, 0, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAdvise(plain, 4096, CU_MEM_ADVISE_SET_READ_MOSTLY, dev0), CUDA_ERROR_INVALID_VALUE);
    OK(cuMemFree(plain));
    OK(cuCtxSynchronize());
    OK(cuMemFree(p));
    CHECK(free_mem() == before, "managed freed");
    OK(cuMemAllocManaged(&p, 64, CU_MEM_ATTACH_HOST));
    OK(cuMemFree(p));
}

static void many_allocations(void)
{
    enum { N = 3000 };
    static CUdeviceptr ps[N];
    static size_t sz[N];
    size_t base = free_mem();
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        sz[i] = 1 + (seed >> 8) % 20000;
        OK(cuMemAlloc(&ps[i], sz[i]));
    }
    /* No two allocations overlap. */
    int overlaps = 0;
    for (int i = 0; i < N; i += 7) {
        CUdeviceptr b;
        size_t s;
        OK(cuMemGetAddressRange(&b, &s, ps[i] + sz[i] - 1));
        overlaps += b != ps[i] || s != sz[i];
    }
    CHECK(overlaps == 0, "%d ranges not as allocated", overlaps);
    for (int i = 0; i < N; i += 2)
        OK(cuMemFree(ps[i]));
    for (int i = 0; i < N; i += 2)
        OK(cuMemAlloc(&ps[i], sz[i]));
    for (int i = N - 1; i >= 0; i--)
        OK(cuMemFree(ps[i]));
    CHECK(free_mem() == base, "free %zu, expected %zu", free_mem(), base);
}

static void context_destroy_frees(void)
{
    size_t base = free_mem();
    CUcontext c2 = NULL;
    OK(cuCtxCreate(&c2, NULL, 0, g_dev));
    CUdeviceptr p = 0;
    void *h = NULL;
    OK(cuMemAlloc(&p, 8 * MIB));
    OK(cuMemAllocHost(&h, 5000));
    OK(cuMemAllocManaged(&p, MIB, CU_MEM_ATTACH_GLOBAL));
    OK(cuCtxDestroy(c2));
    OK(cuCtxSetCurrent(g_ctx));
    CHECK(free_mem() == base, "after destroying a context with 9 MiB: free %zu, expected %zu", free_mem(), base);
    unsigned int mt = 99;
    EXPECT(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)(uintptr_t)h),
           CUDA_ERROR_INVALID_VALUE);
}

typedef struct worker_arg { int id; int errors; } worker_arg;

static void *alloc_worker(void *p)
{
    worker_arg *a = p;
    CUdeviceptr mine[16] = { 0 };
    unsigned seed = 77u + (unsigned)a->id;
    if (cuCtxSetCurrent(g_ctx) != CUDA_SUCCESS)
        a->errors++;
    for (int it = 0; it < 400; it++) {
        int slot = it % 16;
        if (mine[slot]) {
            unsigned char v = 0;
            if (cuMemcpyDtoH(&v, mine[slot], 1) != CUDA_SUCCESS || v != (unsigned char)(a->id + slot))
                a->errors++;
            if (cuMemFree(mine[slot]) != CUDA_SUCCESS)
                a->errors++;
            mine[slot] = 0;
        }
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 8) % 50000;
        if (cuMemAlloc(&mine[slot], n) != CUDA_SUCCESS) {
            a->errors++;
            mine[slot] = 0;
            continue;
        }
        if (cuMemsetD8(mine[slot], (unsigned char)(a->id + slot), n) != CUDA_SUCCESS)
            a->errors++;
    }
    for (int s = 0; s < 16; s++)
        if (mine[s] && cuMemFree(mine[s]) != CUDA_SUCCESS)
            a->errors++;
    return NULL;
}

static void concurrent_threads(void)
{
    enum { T = 8 };
    size_t base = free_mem();
    pthread_t th[T];
    worker_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (worker_arg){ i, 0 };
        pthread_create(&th[i], NULL, alloc_worker, &args[i]);
    }
    int errors = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        errors += args[i].errors;
    }
    CHECK(errors == 0, "%d errors in worker threads", errors);
    CHECK(free_mem() == base, "free %zu, expected %zu", free_mem(), base);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* lines survive a crash or a sanitizer exit */
    setenv("BITFUSION_EMU_MEMORY_MB", "64", 1);
    CUdeviceptr p;
    if (cuMemAlloc(&p, 16) != CUDA_ERROR_NOT_INITIALIZED) {
        printf("FAIL cuMemAlloc before cuInit did not return CUDA_ERROR_NOT_INITIALIZED\n");
        g_failed++;
    }
    if (cuInit(0) != CUDA_SUCCESS || cuDeviceGet(&g_dev, 0) != CUDA_SUCCESS ||
        cuCtxCreate(&g_ctx, NULL, 0, g_dev) != CUDA_SUCCESS) {
        printf("FAIL cannot initialise the software GPU\n");
        return 1;
    }
    RUN(info_and_accounting);
    RUN(out_of_memory_boundary);
    RUN(invalid_arguments);
    RUN(address_range);
    RUN(pitched);
    RUN(fresh_memory_reads_zero);
    RUN(managed);
    RUN(many_allocations);
    RUN(context_destroy_frees);
    RUN(concurrent_threads);
    cuCtxDestroy(g_ctx);
    printf("cases: %d passed, %d failed, 0 skipped\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
