/* test_mem_alloc.c: device memory manager of the software GPU (emu/memory.c): allocation and
 * free accounting against cuMemGetInfo, out-of-memory exactly at the device's size, alignment,
 * address ranges, pitched and managed allocations, zeroed fresh memory, freeing on context
 * destruction, invalid frees, and concurrent allocation from many threads.
 * Cases run on the shared test framework (tests/common/bft.h), each in its own forked child with
 * a 64 MiB device (BITFUSION_EMU_MEMORY_MB, set by main). */
#include "bft.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024u * 1024u)


/* ---- cases ---------------------------------------------------------------------------------- */

BFT_CASE(not_initialized)
{
    CUdeviceptr p;
    EXPECT_CU(cuMemAlloc(&p, 16), CUDA_ERROR_NOT_INITIALIZED);   /* before cuInit */
}

BFT_CASE(info_and_accounting)
{
    bft_cuda_init();
    size_t f, t;
    CHECK_CU(cuMemGetInfo(&f, &t));
    EXPECT(t == 64 * MIB, "total %zu", t);
    EXPECT(f <= t, "free %zu total %zu", f, t);
    size_t tot2 = 0;
    CHECK_CU(cuDeviceTotalMem(&tot2, bft_device()));
    EXPECT(tot2 == t, "cuDeviceTotalMem %zu vs %zu", tot2, t);
    EXPECT_CU(cuMemGetInfo(NULL, NULL), CUDA_ERROR_INVALID_VALUE);

    size_t base = bft_free_mem();
    CUdeviceptr p = 0;
    CHECK_CU(cuMemAlloc(&p, MIB));
    EXPECT(p != 0 && p % 256 == 0, "pointer 0x%llx", (unsigned long long)p);
    EXPECT(bft_free_mem() == base - MIB, "free after 1 MiB alloc: %zu (was %zu)", bft_free_mem(), base);
    CHECK_CU(cuMemFree(p));
    EXPECT(bft_free_mem() == base, "free after free: %zu (was %zu)", bft_free_mem(), base);

    /* Sizes are charged in 256-byte granules. */
    size_t sizes[] = { 1, 255, 256, 257, 4095, 4096, 4097, 100000 };
    CUdeviceptr ps[8];
    size_t charged = 0;
    for (int i = 0; i < 8; i++) {
        CHECK_CU(cuMemAlloc(&ps[i], sizes[i]));
        EXPECT(ps[i] % 256 == 0, "alignment of %zu-byte allocation: 0x%llx", sizes[i], (unsigned long long)ps[i]);
        charged += (sizes[i] + 255) / 256 * 256;
    }
    EXPECT(bft_free_mem() == base - charged, "free %zu, expected %zu", bft_free_mem(), base - charged);
    for (int i = 0; i < 8; i++)
        CHECK_CU(cuMemFree(ps[i]));
    EXPECT(bft_free_mem() == base, "free after frees: %zu, expected %zu", bft_free_mem(), base);
}

BFT_CASE(out_of_memory_boundary)
{
    bft_cuda_init();
    size_t base = bft_free_mem();
    CUdeviceptr all = 0, extra = 0;
    EXPECT_CU(cuMemAlloc(&all, base + 1), CUDA_ERROR_OUT_OF_MEMORY);
    EXPECT_CU(cuMemAlloc(&all, (size_t)1 << 40), CUDA_ERROR_OUT_OF_MEMORY);
    EXPECT_CU(cuMemAlloc(&all, SIZE_MAX), CUDA_ERROR_OUT_OF_MEMORY);
    CHECK_CU(cuMemAlloc(&all, base));
    EXPECT(bft_free_mem() == 0, "free after taking everything: %zu", bft_free_mem());
    EXPECT_CU(cuMemAlloc(&extra, 1), CUDA_ERROR_OUT_OF_MEMORY);
    EXPECT_CU(cuMemAllocManaged(&extra, 1, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_OUT_OF_MEMORY);
    /* The whole device is usable: touch its last byte. */
    unsigned char last = 0x5a, back = 0;
    CHECK_CU(cuMemcpyHtoD(all + base - 1, &last, 1));
    CHECK_CU(cuMemcpyDtoH(&back, all + base - 1, 1));
    EXPECT(back == 0x5a, "last byte %u", back);
    CHECK_CU(cuMemFree(all));
    EXPECT(bft_free_mem() == base, "free restored: %zu vs %zu", bft_free_mem(), base);
    /* Half and half, then one more byte fails. */
    CUdeviceptr a = 0, b = 0;
    CHECK_CU(cuMemAlloc(&a, base / 2));
    CHECK_CU(cuMemAlloc(&b, base - base / 2));
    EXPECT_CU(cuMemAlloc(&extra, 256), CUDA_ERROR_OUT_OF_MEMORY);
    CHECK_CU(cuMemFree(a));
    CHECK_CU(cuMemAlloc(&extra, 256));
    CHECK_CU(cuMemFree(extra));
    CHECK_CU(cuMemFree(b));
    EXPECT(bft_free_mem() == base, "free restored: %zu vs %zu", bft_free_mem(), base);
}

BFT_CASE(invalid_arguments)
{
    bft_cuda_init();
    CUdeviceptr p = 0;
    EXPECT_CU(cuMemAlloc(&p, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAlloc(NULL, 16), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemFree(0));
    CHECK_CU(cuMemAlloc(&p, 4096));
    EXPECT_CU(cuMemFree(p + 16), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemFree(p));
    EXPECT_CU(cuMemFree(p), CUDA_ERROR_INVALID_VALUE);
    int local = 0;
    EXPECT_CU(cuMemFree((CUdeviceptr)(uintptr_t)&local), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemFree((CUdeviceptr)0x1234), CUDA_ERROR_INVALID_VALUE);
    void *h = NULL;
    CHECK_CU(cuMemAllocHost(&h, 100));
    EXPECT_CU(cuMemFree((CUdeviceptr)(uintptr_t)h), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemFreeHost(h));
}

BFT_CASE(address_range)
{
    bft_cuda_init();
    CUdeviceptr p = 0, base = 0;
    size_t size = 0;
    CHECK_CU(cuMemAlloc(&p, 10000));
    CHECK_CU(cuMemGetAddressRange(&base, &size, p + 1234));
    EXPECT(base == p && size == 10000, "base 0x%llx size %zu", (unsigned long long)base, size);
    CHECK_CU(cuMemGetAddressRange(&base, NULL, p + 9999));
    EXPECT(base == p, "base only");
    CHECK_CU(cuMemGetAddressRange(NULL, &size, p));
    EXPECT(size == 10000, "size only");
    EXPECT_CU(cuMemGetAddressRange(&base, &size, p + 10000), CUDA_ERROR_NOT_FOUND);
    int local;
    EXPECT_CU(cuMemGetAddressRange(&base, &size, (CUdeviceptr)(uintptr_t)&local), CUDA_ERROR_NOT_FOUND);
    CHECK_CU(cuMemFree(p));
    EXPECT_CU(cuMemGetAddressRange(&base, &size, p), CUDA_ERROR_NOT_FOUND);
}

BFT_CASE(pitched)
{
    bft_cuda_init();
    CUdeviceptr p = 0;
    size_t pitch = 0, before = bft_free_mem();
    CHECK_CU(cuMemAllocPitch(&p, &pitch, 1000, 7, 4));
    EXPECT(pitch >= 1000 && pitch % 512 == 0, "pitch %zu", pitch);
    EXPECT(p % 512 == 0, "pitched base alignment");
    CUdeviceptr base;
    size_t size;
    CHECK_CU(cuMemGetAddressRange(&base, &size, p));
    EXPECT(size == pitch * 7, "size %zu pitch %zu", size, pitch);
    EXPECT(before - bft_free_mem() == pitch * 7, "charged %zu", before - bft_free_mem());
    CHECK_CU(cuMemFree(p));
    EXPECT_CU(cuMemAllocPitch(&p, &pitch, 1000, 7, 3), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocPitch(&p, &pitch, 1000, 7, 2), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocPitch(&p, &pitch, 0, 7, 4), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocPitch(&p, &pitch, 100, 0, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocPitch(&p, NULL, 100, 1, 16), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemAllocPitch(&p, &pitch, 512, 2, 16));
    EXPECT(pitch == 512, "exact pitch %zu", pitch);
    CHECK_CU(cuMemFree(p));
}

BFT_CASE(fresh_memory_reads_zero)
{
    bft_cuda_init();
    size_t n = 3 * MIB + 300;
    unsigned char *buf = malloc(n);
    for (int round = 0; round < 3; round++) {
        CUdeviceptr p = 0;
        CHECK_CU(cuMemAlloc(&p, n));
        memset(buf, 0x77, n);
        CHECK_CU(cuMemcpyDtoH(buf, p, n));
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += buf[i] != 0;
        EXPECT(bad == 0, "round %d: %zu non-zero bytes in a fresh allocation", round, bad);
        CHECK_CU(cuMemsetD8(p, 0xab, n));
        CHECK_CU(cuMemFree(p));
    }
    /* Small neighbours sharing pages: freeing one must not disturb the other, and the freed
     * bytes read zero when handed out again. */
    CUdeviceptr a, b, c;
    CHECK_CU(cuMemAlloc(&a, 300));
    CHECK_CU(cuMemAlloc(&b, 300));
    CHECK_CU(cuMemsetD8(a, 0x11, 300));
    CHECK_CU(cuMemsetD8(b, 0x22, 300));
    CHECK_CU(cuMemFree(a));
    CHECK_CU(cuMemAlloc(&c, 300));
    CHECK_CU(cuMemcpyDtoH(buf, c, 300));
    size_t bad = 0;
    for (size_t i = 0; i < 300; i++)
        bad += buf[i] != 0;
    EXPECT(bad == 0, "%zu non-zero bytes in a reused small block", bad);
    CHECK_CU(cuMemcpyDtoH(buf, b, 300));
    bad = 0;
    for (size_t i = 0; i < 300; i++)
        bad += buf[i] != 0x22;
    EXPECT(bad == 0, "neighbour damaged: %zu bytes", bad);
    CHECK_CU(cuMemFree(b));
    CHECK_CU(cuMemFree(c));
    free(buf);
}

BFT_CASE(managed)
{
    bft_cuda_init();
    CUdeviceptr p = 0;
    EXPECT_CU(cuMemAllocManaged(&p, 100, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocManaged(&p, 100, 3), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocManaged(&p, 0, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_INVALID_VALUE);
    size_t before = bft_free_mem();
    CHECK_CU(cuMemAllocManaged(&p, 4096, CU_MEM_ATTACH_GLOBAL));
    EXPECT(before - bft_free_mem() == 4096, "managed memory is charged to the device");
    int *host = (int *)(uintptr_t)p;   /* the host may touch managed memory directly */
    for (int i = 0; i < 1024; i++)
        host[i] = i * 3;
    int back[1024];
    CHECK_CU(cuMemcpyDtoH(back, p, sizeof back));
    EXPECT(back[1023] == 3069 && back[7] == 21, "managed contents %d %d", back[1023], back[7]);
    CHECK_CU(cuMemsetD32(p, 9, 1024));
    EXPECT(host[500] == 9, "host view after memset %d", host[500]);
    /* Prefetches and advice are accepted for managed memory only. */
    CUmemLocation dev0 = { CU_MEM_LOCATION_TYPE_DEVICE, 0 }, hostloc = { CU_MEM_LOCATION_TYPE_HOST, 0 };
    CUmemLocation bad = { CU_MEM_LOCATION_TYPE_DEVICE, 42 };
    CHECK_CU(cuMemPrefetchAsync(p, 4096, dev0, 0, NULL));
    CHECK_CU(cuMemPrefetchAsync(p + 100, 100, hostloc, 0, NULL));
    EXPECT_CU(cuMemPrefetchAsync(p, 4097, dev0, 0, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemPrefetchAsync(p, 4096, bad, 0, NULL), CUDA_ERROR_INVALID_DEVICE);
    CHECK_CU(cuMemAdvise(p, 4096, CU_MEM_ADVISE_SET_READ_MOSTLY, dev0));
    CHECK_CU(cuMemAdvise(p, 64, CU_MEM_ADVISE_SET_PREFERRED_LOCATION, hostloc));
    EXPECT_CU(cuMemAdvise(p, 64, (CUmem_advise)77, dev0), CUDA_ERROR_INVALID_VALUE);
    CUdeviceptr plain;
    CHECK_CU(cuMemAlloc(&plain, 4096));
    EXPECT_CU(cuMemPrefetchAsync(plain, 4096, dev0, 0, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAdvise(plain, 4096, CU_MEM_ADVISE_SET_READ_MOSTLY, dev0), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemFree(plain));
    CHECK_CU(cuCtxSynchronize());
    CHECK_CU(cuMemFree(p));
    EXPECT(bft_free_mem() == before, "managed freed");
    CHECK_CU(cuMemAllocManaged(&p, 64, CU_MEM_ATTACH_HOST));
    CHECK_CU(cuMemFree(p));
}

BFT_CASE(many_allocations)
{
    bft_cuda_init();
    enum { N = 3000 };
    static CUdeviceptr ps[N];
    static size_t sz[N];
    size_t base = bft_free_mem();
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        sz[i] = 1 + (seed >> 8) % 20000;
        CHECK_CU(cuMemAlloc(&ps[i], sz[i]));
    }
    /* No two allocations overlap. */
    int overlaps = 0;
    for (int i = 0; i < N; i += 7) {
        CUdeviceptr b;
        size_t s;
        CHECK_CU(cuMemGetAddressRange(&b, &s, ps[i] + sz[i] - 1));
        overlaps += b != ps[i] || s != sz[i];
    }
    EXPECT(overlaps == 0, "%d ranges not as allocated", overlaps);
    for (int i = 0; i < N; i += 2)
        CHECK_CU(cuMemFree(ps[i]));
    for (int i = 0; i < N; i += 2)
        CHECK_CU(cuMemAlloc(&ps[i], sz[i]));
    for (int i = N - 1; i >= 0; i--)
        CHECK_CU(cuMemFree(ps[i]));
    EXPECT(bft_free_mem() == base, "free %zu, expected %zu", bft_free_mem(), base);
}

BFT_CASE(context_destroy_frees)
{
    bft_cuda_init();
    size_t base = bft_free_mem();
    CUcontext c2 = NULL;
    CHECK_CU(cuCtxCreate(&c2, NULL, 0, bft_device()));
    CUdeviceptr p = 0;
    void *h = NULL;
    CHECK_CU(cuMemAlloc(&p, 8 * MIB));
    CHECK_CU(cuMemAllocHost(&h, 5000));
    CHECK_CU(cuMemAllocManaged(&p, MIB, CU_MEM_ATTACH_GLOBAL));
    CHECK_CU(cuCtxDestroy(c2));
    CHECK_CU(cuCtxSetCurrent(bft_context()));
    EXPECT(bft_free_mem() == base, "after destroying a context with 9 MiB: free %zu, expected %zu", bft_free_mem(), base);
    unsigned int mt = 99;
    EXPECT_CU(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)(uintptr_t)h),
           CUDA_ERROR_INVALID_VALUE);
}

typedef struct worker_arg { int id; int errors; } worker_arg;

static void *alloc_worker(void *p)
{
    worker_arg *a = p;
    CUdeviceptr mine[16] = { 0 };
    unsigned seed = 77u + (unsigned)a->id;
    if (cuCtxSetCurrent(bft_context()) != CUDA_SUCCESS)
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

BFT_CASE(concurrent_threads)
{
    bft_cuda_init();
    enum { T = 8 };
    size_t base = bft_free_mem();
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
    EXPECT(errors == 0, "%d errors in worker threads", errors);
    EXPECT(bft_free_mem() == base, "free %zu, expected %zu", bft_free_mem(), base);
}

int main(int argc, char **argv)
{
    /* process-wide configuration: the parent never initialises CUDA, each forked case does */
    setenv("BITFUSION_EMU_MEMORY_MB", "64", 1);
    return bft_main(argc, argv);
}
