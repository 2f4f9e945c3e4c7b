/* test_mem_pool.c: stream-ordered allocation and memory pools (emu/mempool.c): cuMemAllocAsync /
 * cuMemFreeAsync accounting against cuMemGetInfo and the pool's counters, the release threshold and
 * block reuse, cuMemPoolTrimTo, attribute get/set (watermark resets), created pools with a size
 * limit, destroying a pool with blocks still out, current-pool selection, frees that happen in
 * stream order (gated stream), invalid frees, and allocation from many threads.
 * Cases run on the shared test framework (tests/common/bft.h), each in its own forked child with
 * a 256 MiB device (BITFUSION_EMU_MEMORY_MB, set by main). */
#include "bft.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUstream hStream);
CUresult cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hStream);
CUresult cuStreamSynchronize_ptsz(CUstream hStream);

#define MIB (1024u * 1024u)
static CUstream g_s;   /* created by setup() in each case */

/* Each case: the primary context of device 0 and a stream on it. */
static void setup(void)
{
    bft_cuda_init();
    CHECK_CU(cuStreamCreate(&g_s, 0));
}


static cuuint64_t pool_attr(CUmemoryPool p, CUmemPool_attribute a)
{
    cuuint64_t v = 0;
    CHECK_CU(cuMemPoolGetAttribute(p, a, &v));
    return v;
}

/* ---- cases ---------------------------------------------------------------------------------- */

BFT_CASE(async_accounting)
{
    setup();
    CUmemoryPool pool, cur;
    CHECK_CU(cuDeviceGetDefaultMemPool(&pool, bft_device()));
    CHECK_CU(cuDeviceGetMemPool(&cur, bft_device()));
    EXPECT(pool == cur, "the default pool is current");
    size_t base = bft_free_mem();
    CUdeviceptr p;
    CHECK_CU(cuMemAllocAsync(&p, 3 * MIB, g_s));
    EXPECT(base - bft_free_mem() == 3 * MIB, "allocation charged: %zu", base - bft_free_mem());
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 3 * MIB, "pool used");
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT) == 3 * MIB, "pool reserved");
    CHECK_CU(cuMemsetD8Async(p, 0x33, 3 * MIB, g_s));
    unsigned char last = 0;
    CHECK_CU(cuMemcpyDtoHAsync(&last, p + 3 * MIB - 1, 1, g_s));
    CHECK_CU(cuMemFreeAsync(p, g_s));
    CHECK_CU(cuStreamSynchronize(g_s));
    EXPECT(last == 0x33, "used in stream order before the free: %u", last);
    EXPECT(bft_free_mem() == base, "threshold 0 releases at once: free %zu vs %zu", bft_free_mem(), base);
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 0, "pool used after free");
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT) == 0, "pool reserved after free");
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH) >= 3 * MIB, "used high watermark");
    /* Freed memory can no longer be used. */
    EXPECT_CU(cuMemsetD8(p, 0, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemFreeAsync(p, g_s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocAsync(&p, 0, g_s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocAsync(NULL, 16, g_s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocAsync(&p, 1024u * MIB, g_s), CUDA_ERROR_OUT_OF_MEMORY);
    CHECK_CU(cuMemFreeAsync(0, g_s));
}

BFT_CASE(threshold_and_reuse)
{
    setup();
    CUmemoryPool pool;
    CHECK_CU(cuDeviceGetDefaultMemPool(&pool, bft_device()));
    cuuint64_t keep = UINT64_MAX;
    CHECK_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep));
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD) == UINT64_MAX, "threshold read back");
    size_t base = bft_free_mem();
    CUdeviceptr p, q;
    CHECK_CU(cuMemAllocAsync(&p, MIB, g_s));
    CHECK_CU(cuMemFreeAsync(p, g_s));
    CHECK_CU(cuStreamSynchronize(g_s));
    EXPECT(base - bft_free_mem() == MIB, "cached block stays charged");
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT) == MIB &&
          pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 0, "reserved but unused");
    CHECK_CU(cuMemAllocAsync(&q, MIB - 1000, g_s));
    EXPECT(q == p, "cached block reused (0x%llx vs 0x%llx)", (unsigned long long)q, (unsigned long long)p);
    EXPECT(base - bft_free_mem() == MIB, "no new memory for a reused block");
    CHECK_CU(cuMemFreeAsync(q, g_s));
    CHECK_CU(cuStreamSynchronize(g_s));
    /* A regular allocation that needs the cached memory trims the pool instead of failing. */
    size_t avail = bft_free_mem();
    CUdeviceptr big;
    CHECK_CU(cuMemAlloc(&big, avail + MIB));
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT) == 0, "pool trimmed for cuMemAlloc");
    CHECK_CU(cuMemFree(big));
    CHECK_CU(cuMemAllocAsync(&p, 2 * MIB, g_s));
    CHECK_CU(cuMemFreeAsync(p, g_s));
    CHECK_CU(cuStreamSynchronize(g_s));
    CHECK_CU(cuMemPoolTrimTo(pool, 0));
    EXPECT(bft_free_mem() == base, "TrimTo(0) releases everything: %zu vs %zu", bft_free_mem(), base);
    /* Watermarks reset only to zero. */
    cuuint64_t zero = 0, nonzero = 5;
    CHECK_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, &zero));
    CHECK_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH, &zero));
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH) == 0, "used high reset");
    EXPECT_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, &nonzero), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &zero), CUDA_ERROR_INVALID_VALUE);
    int reuse = 0, rb = 1;
    CHECK_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, &reuse));
    CHECK_CU(cuMemPoolGetAttribute(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, &rb));
    EXPECT(rb == 0, "reuse attribute %d", rb);
    reuse = 1;
    CHECK_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, &reuse));
    CHECK_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &zero));
    EXPECT_CU(cuMemPoolGetAttribute(pool, (CUmemPool_attribute)99, &rb), CUDA_ERROR_INVALID_VALUE);
}

BFT_CASE(created_pools)
{
    setup();
    CUmemPoolProps props;
    memset(&props, 0, sizeof props);
    props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
    props.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    props.location.id = bft_device();
    props.maxSize = 4 * MIB;
    CUmemoryPool pool, def, cur;
    CHECK_CU(cuMemPoolCreate(&pool, &props));
    CHECK_CU(cuDeviceGetDefaultMemPool(&def, bft_device()));
    EXPECT(pool != def, "a new pool");
    size_t base = bft_free_mem();
    CUdeviceptr a, b, c;
    CHECK_CU(cuMemAllocFromPoolAsync(&a, 3 * MIB, pool, g_s));
    EXPECT_CU(cuMemAllocFromPoolAsync(&b, 2 * MIB, pool, g_s), CUDA_ERROR_OUT_OF_MEMORY);   /* maxSize */
    CHECK_CU(cuMemAllocFromPoolAsync(&b, MIB, pool, g_s));
    CUmemoryPool owner = NULL;
    CHECK_CU(cuPointerGetAttribute(&owner, CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE, a));
    EXPECT(owner == pool, "mempool handle attribute");
    /* cuMemAllocAsync uses the current pool. */
    CHECK_CU(cuDeviceSetMemPool(bft_device(), pool));
    CHECK_CU(cuDeviceGetMemPool(&cur, bft_device()));
    EXPECT(cur == pool, "current pool set");
    CHECK_CU(cuMemFreeAsync(b, g_s));
    CHECK_CU(cuStreamSynchronize(g_s));
    CHECK_CU(cuMemAllocAsync(&c, MIB, g_s));
    CHECK_CU(cuPointerGetAttribute(&owner, CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE, c));
    EXPECT(owner == pool, "cuMemAllocAsync allocated from the current pool");
    CHECK_CU(cuMemFreeAsync(c, g_s));
    /* Destroying the pool with a block out: the block stays usable until its free. */
    CHECK_CU(cuMemPoolDestroy(pool));
    CHECK_CU(cuDeviceGetMemPool(&cur, bft_device()));
    EXPECT(cur == def, "current pool back to the default after destroy");
    CHECK_CU(cuMemsetD8Async(a, 1, 3 * MIB, g_s));
    CHECK_CU(cuMemFreeAsync(a, g_s));
    CHECK_CU(cuStreamSynchronize(g_s));
    EXPECT(bft_free_mem() == base, "destroyed pool returned its memory: %zu vs %zu", bft_free_mem(), base);
    EXPECT_CU(cuMemPoolDestroy(pool), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemPoolDestroy(def), CUDA_ERROR_INVALID_VALUE);
    cuuint64_t v;
    EXPECT_CU(cuMemPoolGetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &v), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAllocFromPoolAsync(&a, 16, pool, g_s), CUDA_ERROR_INVALID_VALUE);
    /* Props CUDA refuses. */
    props.allocType = CU_MEM_ALLOCATION_TYPE_INVALID;
    EXPECT_CU(cuMemPoolCreate(&pool, &props), CUDA_ERROR_INVALID_VALUE);
    props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
    props.location.id = 77;
    EXPECT_CU(cuMemPoolCreate(&pool, &props), CUDA_ERROR_INVALID_DEVICE);
    EXPECT_CU(cuMemPoolCreate(&pool, NULL), CUDA_ERROR_INVALID_VALUE);
    props.location.id = bft_device();
    props.handleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;   /* the device reports none */
    EXPECT_CU(cuMemPoolCreate(&pool, &props), CUDA_ERROR_NOT_SUPPORTED);
    props.handleTypes = CU_MEM_HANDLE_TYPE_NONE;
    EXPECT_CU(cuDeviceGetDefaultMemPool(&def, 77), CUDA_ERROR_INVALID_DEVICE);
    /* CUDA 13's location-based forms. */
    CUmemLocation loc = { CU_MEM_LOCATION_TYPE_DEVICE, bft_device() };
    CUmemoryPool viaLoc;
    CHECK_CU(cuMemGetDefaultMemPool(&viaLoc, &loc, CU_MEM_ALLOCATION_TYPE_PINNED));
    EXPECT(viaLoc == def, "cuMemGetDefaultMemPool");
    CHECK_CU(cuMemGetMemPool(&viaLoc, &loc, CU_MEM_ALLOCATION_TYPE_PINNED));
    EXPECT(viaLoc == def, "cuMemGetMemPool");
}

BFT_CASE(free_in_stream_order)
{
    setup();
    CUmemoryPool pool;
    CHECK_CU(cuDeviceGetDefaultMemPool(&pool, bft_device()));
    size_t base = bft_free_mem();
    bft_gate g;
    CUdeviceptr p;
    CHECK_CU(cuMemAllocAsync(&p, 2 * MIB, g_s));
    bft_gate_hold(&g, g_s);
    CHECK_CU(cuMemsetD8Async(p, 5, 2 * MIB, g_s));
    CHECK_CU(cuMemFreeAsync(p, g_s));
    usleep(20000);
    /* The stream has not reached the free: the memory is still allocated and valid. */
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 2 * MIB, "freed before the stream got there");
    EXPECT(base - bft_free_mem() == 2 * MIB, "accounting before the free ran");
    EXPECT_CU(cuMemFreeAsync(p, g_s), CUDA_ERROR_INVALID_VALUE);      /* already being freed */
    bft_gate_open(&g);
    CHECK_CU(cuStreamSynchronize(g_s));
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 0, "free ran");
    EXPECT(bft_free_mem() == base, "accounting after the free ran");

    /* cuMemFree may free stream-ordered memory (synchronising), and cuMemFreeAsync regular memory. */
    CHECK_CU(cuMemAllocAsync(&p, MIB, g_s));
    CHECK_CU(cuMemFree(p));
    CHECK_CU(cuMemAlloc(&p, MIB));
    CHECK_CU(cuMemFreeAsync(p, g_s));
    CHECK_CU(cuStreamSynchronize(g_s));
    EXPECT(bft_free_mem() == base, "mixed frees");
    /* Interior pointers and unknown pointers are refused. */
    CHECK_CU(cuMemAllocAsync(&p, MIB, g_s));
    EXPECT_CU(cuMemFreeAsync(p + 8, g_s), CUDA_ERROR_INVALID_VALUE);
    int local;
    EXPECT_CU(cuMemFreeAsync((CUdeviceptr)(uintptr_t)&local, g_s), CUDA_ERROR_INVALID_VALUE);
    /* Per-thread-stream entry points. */
    CUdeviceptr q;
    CHECK_CU(cuMemAllocAsync_ptsz(&q, 4096, NULL));
    CHECK_CU(cuMemFreeAsync_ptsz(q, NULL));
    CHECK_CU(cuStreamSynchronize_ptsz(NULL));
    CHECK_CU(cuMemFreeAsync(p, g_s));
    CHECK_CU(cuStreamSynchronize(g_s));
    EXPECT(bft_free_mem() == base, "after ptsz frees");
}

static void *pool_worker(void *arg)
{
    int *errors = arg;
    CUstream s;
    if (cuCtxSetCurrent(bft_context()) != CUDA_SUCCESS || cuStreamCreate(&s, CU_STREAM_NON_BLOCKING) != CUDA_SUCCESS) {
        (*errors)++;
        return NULL;
    }
    for (int i = 0; i < 300; i++) {
        CUdeviceptr p;
        size_t n = 256 + (size_t)(i * 977) % 300000;
        if (cuMemAllocAsync(&p, n, s) != CUDA_SUCCESS) {
            (*errors)++;
            continue;
        }
        if (cuMemsetD8Async(p, (unsigned char)i, n, s) != CUDA_SUCCESS || cuMemFreeAsync(p, s) != CUDA_SUCCESS)
            (*errors)++;
    }
    if (cuStreamSynchronize(s) != CUDA_SUCCESS || cuStreamDestroy(s) != CUDA_SUCCESS)
        (*errors)++;
    return NULL;
}

BFT_CASE(concurrent_pools)
{
    setup();
    enum { T = 6 };
    CUmemoryPool pool;
    CHECK_CU(cuDeviceGetDefaultMemPool(&pool, bft_device()));
    cuuint64_t keep = 64 * MIB;
    CHECK_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep));
    size_t base = bft_free_mem();
    pthread_t th[T];
    int errors[T] = { 0 };
    for (int i = 0; i < T; i++)
        pthread_create(&th[i], NULL, pool_worker, &errors[i]);
    int total = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        total += errors[i];
    }
    EXPECT(total == 0, "%d errors in worker threads", total);
    EXPECT(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 0, "all blocks returned");
    CHECK_CU(cuMemPoolTrimTo(pool, 0));
    EXPECT(bft_free_mem() == base, "free %zu vs %zu", bft_free_mem(), base);
    cuuint64_t zero = 0;
    CHECK_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &zero));
}

int main(int argc, char **argv)
{
    /* process-wide configuration: the parent never initialises CUDA, each forked case does */
    setenv("BITFUSION_EMU_MEMORY_MB", "256", 1);
    return bft_main(argc, argv);
}
