/* test_mem_pool.c: stream-ordered allocation and memory pools (emu/mempool.c): cuMemAllocAsync /
 * cuMemFreeAsync accounting against cuMemGetInfo and the pool's counters, the release threshold and
 * block reuse, cuMemPoolTrimTo, attribute get/set (watermark resets), created pools with a size
 * limit, destroying a pool with blocks still out, current-pool selection, frees that happen in
 * stream order (gated stream), invalid frees, and allocation from many threads.
 * Self-contained: one line per failed check, a PASS/FAIL line per case, the `cases:` summary, and
 * a non-zero exit status on failure. Runs with a 256 MiB device (BITFUSION_EMU_MEMORY_MB). */
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

CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUstream hStream);
CUresult cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hStream);
CUresult cuStreamSynchronize_ptsz(CUstream hStream);

#define MIB (1024u * 1024u)
static CUcontext g_ctx;
static CUdevice g_dev;
static CUstream g_s;

static size_t free_mem(void)
{
    size_t f = 0, t = 0;
    OK(cuMemGetInfo(&f, &t));
    return f;
}

static cuuint64_t pool_attr(CUmemoryPool p, CUmemPool_attribute a)
{
    cuuint64_t v = 0;
    OK(cuMemPoolGetAttribute(p, a, &v));
    return v;
}

typedef struct gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    int open;
} gate;

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

static void async_accounting(void)
{
    CUmemoryPool pool, cur;
    OK(cuDeviceGetDefaultMemPool(&pool, g_dev));
    OK(cuDeviceGetMemPool(&cur, g_dev));
    CHECK(pool == cur, "the default pool is current");
    size_t base = free_mem();
    CUdeviceptr p;
    OK(cuMemAllocAsync(&p, 3 * MIB, g_s));
    CHECK(base - free_mem() == 3 * MIB, "allocation charged: %zu", base - free_mem());
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 3 * MIB, "pool used");
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT) == 3 * MIB, "pool reserved");
    OK(cuMemsetD8Async(p, 0x33, 3 * MIB, g_s));
    unsigned char last = 0;
    OK(cuMemcpyDtoHAsync(&last, p + 3 * MIB - 1, 1, g_s));
    OK(cuMemFreeAsync(p, g_s));
    OK(cuStreamSynchronize(g_s));
    CHECK(last == 0x33, "used in stream order before the free: %u", last);
    CHECK(free_mem() == base, "threshold 0 releases at once: free %zu vs %zu", free_mem(), base);
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 0, "pool used after free");
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT) == 0, "pool reserved after free");
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH) >= 3 * MIB, "used high watermark");
    /* Freed memory can no longer be used. */
    EXPECT(cuMemsetD8(p, 0, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemFreeAsync(p, g_s), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocAsync(&p, 0, g_s), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocAsync(NULL, 16, g_s), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocAsync(&p, 1024u * MIB, g_s), CUDA_ERROR_OUT_OF_MEMORY);
    OK(cuMemFreeAsync(0, g_s));
}

static void threshold_and_reuse(void)
{
    CUmemoryPool pool;
    OK(cuDeviceGetDefaultMemPool(&pool, g_dev));
    cuuint64_t keep = UINT64_MAX;
    OK(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep));
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD) == UINT64_MAX, "threshold read back");
    size_t base = free_mem();
    CUdeviceptr p, q;
    OK(cuMemAllocAsync(&p, MIB, g_s));
    OK(cuMemFreeAsync(p, g_s));
    OK(cuStreamSynchronize(g_s));
    CHECK(base - free_mem() == MIB, "cached block stays charged");
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT) == MIB &&
          pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 0, "reserved but unused");
    OK(cuMemAllocAsync(&q, MIB - 1000, g_s));
    CHECK(q == p, "cached block reused (0x%llx vs 0x%llx)", (unsigned long long)q, (unsigned long long)p);
    CHECK(base - free_mem() == MIB, "no new memory for a reused block");
    OK(cuMemFreeAsync(q, g_s));
    OK(cuStreamSynchronize(g_s));
    /* A regular allocation that needs the cached memory trims the pool instead of failing. */
    size_t avail = free_mem();
    CUdeviceptr big;
    OK(cuMemAlloc(&big, avail + MIB));
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT) == 0, "pool trimmed for cuMemAlloc");
    OK(cuMemFree(big));
    OK(cuMemAllocAsync(&p, 2 * MIB, g_s));
    OK(cuMemFreeAsync(p, g_s));
    OK(cuStreamSynchronize(g_s));
    OK(cuMemPoolTrimTo(pool, 0));
    CHECK(free_mem() == base, "TrimTo(0) releases everything: %zu vs %zu", free_mem(), base);
    /* Watermarks reset only to zero. */
    cuuint64_t zero = 0, nonzero = 5;
    OK(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, &zero));
    OK(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH, &zero));
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH) == 0, "used high reset");
    EXPECT(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, &nonzero), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &zero), CUDA_ERROR_INVALID_VALUE);
    int reuse = 0, rb = 1;
    OK(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, &reuse));
    OK(cuMemPoolGetAttribute(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, &rb));
    CHECK(rb == 0, "reuse attribute %d", rb);
    reuse = 1;
    OK(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, &reuse));
    OK(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &zero));
    EXPECT(cuMemPoolGetAttribute(pool, (CUmemPool_attribute)99, &rb), CUDA_ERROR_INVALID_VALUE);
}

static void created_pools(void)
{
    CUmemPoolProps props;
    memset(&props, 0, sizeof props);
    props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
    props.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    props.location.id = g_dev;
    props.maxSize = 4 * MIB;
    CUmemoryPool pool, def, cur;
    OK(cuMemPoolCreate(&pool, &props));
    OK(cuDeviceGetDefaultMemPool(&def, g_dev));
    CHECK(pool != def, "a new pool");
    size_t base = free_mem();
    CUdeviceptr a, b, c;
    OK(cuMemAllocFromPoolAsync(&a, 3 * MIB, pool, g_s));
    EXPECT(cuMemAllocFromPoolAsync(&b, 2 * MIB, pool, g_s), CUDA_ERROR_OUT_OF_MEMORY);   /* maxSize */
    OK(cuMemAllocFromPoolAsync(&b, MIB, pool, g_s));
    CUmemoryPool owner = NULL;
    OK(cuPointerGetAttribute(&owner, CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE, a));
    CHECK(owner == pool, "mempool handle attribute");
    /* cuMemAllocAsync uses the current pool. */
    OK(cuDeviceSetMemPool(g_dev, pool));
    OK(cuDeviceGetMemPool(&cur, g_dev));
    CHECK(cur == pool, "current pool set");
    OK(cuMemFreeAsync(b, g_s));
    OK(cuStreamSynchronize(g_s));
    OK(cuMemAllocAsync(&c, MIB, g_s));
    OK(cuPointerGetAttribute(&owner, CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE, c));
    CHECK(owner == pool, "cuMemAllocAsync allocated from the current pool");
    OK(cuMemFreeAsync(c, g_s));
    /* Destroying the pool with a block out: the block stays usable until its free. */
    OK(cuMemPoolDestroy(pool));
    OK(cuDeviceGetMemPool(&cur, g_dev));
    CHECK(cur == def, "current pool back to the default after destroy");
    OK(cuMemsetD8Async(a, 1, 3 * MIB, g_s));
    OK(cuMemFreeAsync(a, g_s));
    OK(cuStreamSynchronize(g_s));
    CHECK(free_mem() == base, "destroyed pool returned its memory: %zu vs %zu", free_mem(), base);
    EXPECT(cuMemPoolDestroy(pool), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemPoolDestroy(def), CUDA_ERROR_INVALID_VALUE);
    cuuint64_t v;
    EXPECT(cuMemPoolGetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &v), CUDA_ERROR_INVALID_VALUE);
    EXPECT(cuMemAllocFromPoolAsync(&a, 16, pool, g_s), CUDA_ERROR_INVALID_VALUE);
    /* Props CUDA refuses. */
    props.allocType = CU_MEM_ALLOCATION_TYPE_INVALID;
    EXPECT(cuMemPoolCreate(&pool, &props), CUDA_ERROR_INVALID_VALUE);
    props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
    props.location.id = 77;
    EXPECT(cuMemPoolCreate(&pool, &props), CUDA_ERROR_INVALID_DEVICE);
    EXPECT(cuMemPoolCreate(&pool, NULL), CUDA_ERROR_INVALID_VALUE);
    props.location.id = g_dev;
    props.handleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;   /* the device reports none */
    EXPECT(cuMemPoolCreate(&pool, &props), CUDA_ERROR_NOT_SUPPORTED);
    props.handleTypes = CU_MEM_HANDLE_TYPE_NONE;
    EXPECT(cuDeviceGetDefaultMemPool(&def, 77), CUDA_ERROR_INVALID_DEVICE);
    /* CUDA 13's location-based forms. */
    CUmemLocation loc = { CU_MEM_LOCATION_TYPE_DEVICE, g_dev };
    CUmemoryPool viaLoc;
    OK(cuMemGetDefaultMemPool(&viaLoc, &loc, CU_MEM_ALLOCATION_TYPE_PINNED));
    CHECK(viaLoc == def, "cuMemGetDefaultMemPool");
    OK(cuMemGetMemPool(&viaLoc, &loc, CU_MEM_ALLOCATION_TYPE_PINNED));
    CHECK(viaLoc == def, "cuMemGetMemPool");
}

static void free_in_stream_order(void)
{
    CUmemoryPool pool;
    OK(cuDeviceGetDefaultMemPool(&pool, g_dev));
    size_t base = free_mem();
    gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    CUdeviceptr p;
    OK(cuMemAllocAsync(&p, 2 * MIB, g_s));
    OK(cuLaunchHostFunc(g_s, gate_wait, &g));
    OK(cuMemsetD8Async(p, 5, 2 * MIB, g_s));
    OK(cuMemFreeAsync(p, g_s));
    usleep(20000);
    /* The stream has not reached the free: the memory is still allocated and valid. */
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 2 * MIB, "freed before the stream got there");
    CHECK(base - free_mem() == 2 * MIB, "accounting before the free ran");
    EXPECT(cuMemFreeAsync(p, g_s), CUDA_ERROR_INVALID_VALUE);      /* already being freed */
    gate_open(&g);
    OK(cuStreamSynchronize(g_s));
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 0, "free ran");
    CHECK(free_mem() == base, "accounting after the free ran");

    /* cuMemFree may free stream-ordered memory (synchronising), and cuMemFreeAsync regular memory. */
    OK(cuMemAllocAsync(&p, MIB, g_s));
    OK(cuMemFree(p));
    OK(cuMemAlloc(&p, MIB));
    OK(cuMemFreeAsync(p, g_s));
    OK(cuStreamSynchronize(g_s));
    CHECK(free_mem() == base, "mixed frees");
    /* Interior pointers and unknown pointers are refused. */
    OK(cuMemAllocAsync(&p, MIB, g_s));
    EXPECT(cuMemFreeAsync(p + 8, g_s), CUDA_ERROR_INVALID_VALUE);
    int local;
    EXPECT(cuMemFreeAsync((CUdeviceptr)(uintptr_t)&local, g_s), CUDA_ERROR_INVALID_VALUE);
    /* Per-thread-stream entry points. */
    CUdeviceptr q;
    OK(cuMemAllocAsync_ptsz(&q, 4096, NULL));
    OK(cuMemFreeAsync_ptsz(q, NULL));
    OK(cuStreamSynchronize_ptsz(NULL));
    OK(cuMemFreeAsync(p, g_s));
    OK(cuStreamSynchronize(g_s));
    CHECK(free_mem() == base, "after ptsz frees");
}

static void *pool_worker(void *arg)
{
    int *errors = arg;
    CUstream s;
    if (cuCtxSetCurrent(g_ctx) != CUDA_SUCCESS || cuStreamCreate(&s, CU_STREAM_NON_BLOCKING) != CUDA_SUCCESS) {
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

static void concurrent_pools(void)
{
    enum { T = 6 };
    CUmemoryPool pool;
    OK(cuDeviceGetDefaultMemPool(&pool, g_dev));
    cuuint64_t keep = 64 * MIB;
    OK(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep));
    size_t base = free_mem();
    pthread_t th[T];
    int errors[T] = { 0 };
    for (int i = 0; i < T; i++)
        pthread_create(&th[i], NULL, pool_worker, &errors[i]);
    int total = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        total += errors[i];
    }
    CHECK(total == 0, "%d errors in worker threads", total);
    CHECK(pool_attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT) == 0, "all blocks returned");
    OK(cuMemPoolTrimTo(pool, 0));
    CHECK(free_mem() == base, "free %zu vs %zu", free_mem(), base);
    cuuint64_t zero = 0;
    OK(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &zero));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* lines survive a crash or a sanitizer exit */
    setenv("BITFUSION_EMU_MEMORY_MB", "256", 1);
    if (cuInit(0) != CUDA_SUCCESS || cuDeviceGet(&g_dev, 0) != CUDA_SUCCESS ||
        cuCtxCreate(&g_ctx, NULL, 0, g_dev) != CUDA_SUCCESS || cuStreamCreate(&g_s, 0) != CUDA_SUCCESS) {
        printf("FAIL cannot initialise the software GPU\n");
        return 1;
    }
    RUN(async_accounting);
    RUN(threshold_and_reuse);
    RUN(created_pools);
    RUN(free_in_stream_order);
    RUN(concurrent_pools);
    cuStreamDestroy(g_s);
    cuCtxDestroy(g_ctx);
    printf("cases: %d passed, %d failed, 0 skipped\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
