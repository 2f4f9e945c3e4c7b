/* test_api_context.c: contexts of the software GPU: create/destroy, the per-thread context stack
 * (push/pop/set/get), stale and garbage handles, primary contexts (retain/release/reset/flags/
 * state), limits, flags, ids, cache configuration, stream priority range, peer access between two
 * devices. Self-contained: prints one line per failed check, exits non-zero on failure. */
#define CUDA_ENABLE_DEPRECATED 1
#include <cuda.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_check.h"

/* Older export, declared by cuda.h only for the driver's own build. */
CUresult cuCtxCreate_v3(CUcontext *pctx, CUexecAffinityParam *paramsArray, int numParams, unsigned int flags,
                        CUdevice dev);

static CUcontext current(void)
{
    CUcontext c = (CUcontext)0x1;
    CHECK_RC(cuCtxGetCurrent(&c), CUDA_SUCCESS);
    return c;
}

static void case_before_init(void)
{
    CUcontext c;
    CHECK_RC(cuCtxGetCurrent(&c), CUDA_ERROR_NOT_INITIALIZED);
    CHECK_RC(cuCtxCreate(&c, NULL, 0, 0), CUDA_ERROR_NOT_INITIALIZED);
    CHECK_RC(cuDevicePrimaryCtxRetain(&c, 0), CUDA_ERROR_NOT_INITIALIZED);
    CHECK_RC(cuInit(0), CUDA_SUCCESS);
}

static void case_create_destroy(void)
{
    CUcontext a = NULL, b = NULL, popped = NULL;
    CUdevice dev = -1;
    CHECK(current() == NULL);
    CHECK_RC(cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);
    CHECK_RC(cuCtxCreate(&a, NULL, 0, 0), CUDA_SUCCESS);
    CHECK(a != NULL && current() == a);
    CHECK_RC(cuCtxGetDevice(&dev), CUDA_SUCCESS);
    CHECK(dev == 0);
    CHECK_RC(cuCtxCreate(&b, NULL, CU_CTX_SCHED_BLOCKING_SYNC, 1), CUDA_SUCCESS);
    CHECK(current() == b);
    CHECK_RC(cuCtxGetDevice(&dev), CUDA_SUCCESS);
    CHECK(dev == 1);
    CHECK_RC(cuCtxPopCurrent(&popped), CUDA_SUCCESS);
    CHECK(popped == b && current() == a);
    CHECK_RC(cuCtxPushCurrent(b), CUDA_SUCCESS);
    CHECK(current() == b);
    CHECK_RC(cuCtxDestroy(b), CUDA_SUCCESS);    /* current: popped as well */
    CHECK(current() == a);
    CHECK_RC(cuCtxDestroy(a), CUDA_SUCCESS);
    CHECK(current() == NULL);
    CHECK_RC(cuCtxPopCurrent(&popped), CUDA_ERROR_INVALID_CONTEXT);
    CHECK_RC(cuCtxCreate(&a, NULL, 0, 5), CUDA_ERROR_INVALID_DEVICE);
    CHECK_RC(cuCtxCreate(&a, NULL, 0x100, 0), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuCtxCreate(&a, NULL, CU_CTX_SCHED_SPIN | CU_CTX_SCHED_YIELD, 0), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuCtxCreate(NULL, NULL, 0, 0), CUDA_ERROR_INVALID_VALUE);
}

static void case_stale_and_garbage_handles(void)
{
    CUcontext a = NULL, b = NULL;
    CHECK_RC(cuCtxCreate(&a, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxCreate(&b, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(a), CUDA_SUCCESS);     /* not current: b stays */
    CHECK(current() == b);
    CHECK_RC(cuCtxDestroy(a), CUDA_ERROR_INVALID_CONTEXT);
    CHECK_RC(cuCtxPushCurrent(a), CUDA_ERROR_INVALID_CONTEXT);
    CHECK_RC(cuCtxSetCurrent(a), CUDA_ERROR_CONTEXT_IS_DESTROYED);
    unsigned long long id;
    CHECK_RC(cuCtxGetId(a, &id), CUDA_ERROR_CONTEXT_IS_DESTROYED);
    char junk[256];
    memset(junk, 0x5a, sizeof junk);
    CHECK_RC(cuCtxDestroy((CUcontext)junk), CUDA_ERROR_INVALID_CONTEXT);
    CHECK_RC(cuCtxPushCurrent((CUcontext)junk), CUDA_ERROR_INVALID_CONTEXT);
    CHECK_RC(cuCtxSetCurrent((CUcontext)(uintptr_t)0x1234), CUDA_ERROR_INVALID_CONTEXT);
    CHECK_RC(cuCtxDestroy(NULL), CUDA_ERROR_INVALID_VALUE);
    /* b destroyed while it is still pushed below another context */
    CUcontext c = NULL;
    CHECK_RC(cuCtxCreate(&c, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(b), CUDA_SUCCESS);
    CHECK(current() == c);
    CHECK_RC(cuCtxPopCurrent(NULL), CUDA_SUCCESS);
    CHECK(current() == b);   /* the stale entry is still on the stack */
    CHECK_RC(cuCtxSynchronize(), CUDA_ERROR_CONTEXT_IS_DESTROYED);
    CHECK_RC(cuCtxPopCurrent(NULL), CUDA_SUCCESS);
    CHECK(current() == a);   /* destroying a context that is not current leaves it stacked */
    CHECK_RC(cuCtxPopCurrent(NULL), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(c), CUDA_SUCCESS);
    CHECK(current() == NULL);
}

static void case_set_current(void)
{
    CUcontext a = NULL, b = NULL;
    CHECK_RC(cuCtxCreate(&a, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxPopCurrent(NULL), CUDA_SUCCESS);
    CHECK(current() == NULL);
    CHECK_RC(cuCtxSetCurrent(a), CUDA_SUCCESS);     /* empty stack: pushes */
    CHECK(current() == a);
    CHECK_RC(cuCtxCreate(&b, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxSetCurrent(a), CUDA_SUCCESS);     /* replaces the top (b) */
    CHECK(current() == a);
    CHECK_RC(cuCtxPopCurrent(NULL), CUDA_SUCCESS);
    CHECK(current() == a);                         /* the a below it */
    CHECK_RC(cuCtxSetCurrent(NULL), CUDA_SUCCESS);  /* pops */
    CHECK(current() == NULL);
    CHECK_RC(cuCtxSetCurrent(NULL), CUDA_SUCCESS);  /* no-op on an empty stack */
    CHECK_RC(cuCtxDestroy(a), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(b), CUDA_SUCCESS);
}

/* ---- threads -------------------------------------------------------------------------------- */
typedef struct thread_arg {
    CUcontext ctx;
    CUcontext seen;
    CUresult rc_sync;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int stage;
} thread_arg;

static void *thread_fn(void *p)
{
    thread_arg *t = p;
    cuCtxGetCurrent(&t->seen);
    cuCtxSetCurrent(t->ctx);
    pthread_mutex_lock(&t->lock);
    t->stage = 1;
    pthread_cond_broadcast(&t->cv);
    while (t->stage != 2)
        pthread_cond_wait(&t->cv, &t->lock);
    pthread_mutex_unlock(&t->lock);
    t->rc_sync = cuCtxSynchronize();
    return NULL;
}

/* Each thread has its own stack; a context destroyed elsewhere reads as destroyed. */
static void case_threads(void)
{
    thread_arg t;
    memset(&t, 0, sizeof t);
    pthread_mutex_init(&t.lock, NULL);
    pthread_cond_init(&t.cv, NULL);
    CHECK_RC(cuCtxCreate(&t.ctx, NULL, 0, 0), CUDA_SUCCESS);
    t.seen = (CUcontext)0x1;
    pthread_t th;
    pthread_create(&th, NULL, thread_fn, &t);
    pthread_mutex_lock(&t.lock);
    while (t.stage != 1)
        pthread_cond_wait(&t.cv, &t.lock);
    pthread_mutex_unlock(&t.lock);
    CHECK_RC(cuCtxDestroy(t.ctx), CUDA_SUCCESS);
    pthread_mutex_lock(&t.lock);
    t.stage = 2;
    pthread_cond_broadcast(&t.cv);
    pthread_mutex_unlock(&t.lock);
    pthread_join(th, NULL);
    CHECK(t.seen == NULL);
    CHECK(t.rc_sync == CUDA_ERROR_CONTEXT_IS_DESTROYED);
}

static void case_primary(void)
{
    unsigned flags = 99;
    int active = -1;
    CUcontext p1 = NULL, p2 = NULL;
    CHECK_RC(cuDevicePrimaryCtxGetState(0, &flags, &active), CUDA_SUCCESS);
    CHECK(flags == 0 && active == 0);
    CHECK_RC(cuDevicePrimaryCtxSetFlags(0, CU_CTX_SCHED_BLOCKING_SYNC), CUDA_SUCCESS);
    CHECK_RC(cuDevicePrimaryCtxRetain(&p1, 0), CUDA_SUCCESS);
    CHECK_RC(cuDevicePrimaryCtxRetain(&p2, 0), CUDA_SUCCESS);
    CHECK(p1 && p1 == p2);
    CHECK_RC(cuDevicePrimaryCtxGetState(0, &flags, &active), CUDA_SUCCESS);
    CHECK(flags == CU_CTX_SCHED_BLOCKING_SYNC && active == 1);
    CHECK(current() == NULL);                        /* retain does not make it current */
    CHECK_RC(cuCtxSetCurrent(p1), CUDA_SUCCESS);
    unsigned cf = 0;
    CHECK_RC(cuCtxGetFlags(&cf), CUDA_SUCCESS);
    CHECK(cf == CU_CTX_SCHED_BLOCKING_SYNC);
    CHECK_RC(cuCtxDestroy(p1), CUDA_ERROR_INVALID_CONTEXT);   /* primaries are released, not destroyed */
    CHECK_RC(cuDevicePrimaryCtxReset(0), CUDA_SUCCESS);      /* reset keeps it retained and usable */
    CHECK_RC(cuDevicePrimaryCtxGetState(0, &flags, &active), CUDA_SUCCESS);
    CHECK(active == 1);
    CHECK_RC(cuCtxSynchronize(), CUDA_SUCCESS);
    CHECK_RC(cuDevicePrimaryCtxRelease(0), CUDA_SUCCESS);
    CHECK_RC(cuDevicePrimaryCtxGetState(0, &flags, &active), CUDA_SUCCESS);
    CHECK(active == 1);
    CHECK_RC(cuDevicePrimaryCtxRelease(0), CUDA_SUCCESS);
    CHECK_RC(cuDevicePrimaryCtxGetState(0, &flags, &active), CUDA_SUCCESS);
    CHECK(active == 0 && flags == CU_CTX_SCHED_BLOCKING_SYNC);
    CHECK_RC(cuDevicePrimaryCtxRelease(0), CUDA_ERROR_INVALID_CONTEXT);
    CHECK_RC(cuCtxSynchronize(), CUDA_ERROR_CONTEXT_IS_DESTROYED);   /* still current here */
    CHECK_RC(cuDevicePrimaryCtxRetain(&p2, 0), CUDA_SUCCESS);        /* same handle again */
    CHECK(p2 == p1);
    CHECK_RC(cuCtxSynchronize(), CUDA_SUCCESS);
    CHECK_RC(cuCtxSetCurrent(NULL), CUDA_SUCCESS);
    CHECK_RC(cuDevicePrimaryCtxRelease(0), CUDA_SUCCESS);
    CHECK_RC(cuDevicePrimaryCtxSetFlags(0, 0), CUDA_SUCCESS);
    CHECK_RC(cuDevicePrimaryCtxSetFlags(0, 0x1000), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuDevicePrimaryCtxRetain(&p1, 9), CUDA_ERROR_INVALID_DEVICE);
    CHECK_RC(cuDevicePrimaryCtxRetain(NULL, 0), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuDevicePrimaryCtxGetState(0, NULL, &active), CUDA_ERROR_INVALID_VALUE);
}

static void case_limits_and_config(void)
{
    CUcontext a = NULL, b = NULL;
    size_t v = 0;
    CHECK_RC(cuCtxCreate(&a, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxGetLimit(&v, CU_LIMIT_STACK_SIZE), CUDA_SUCCESS);
    CHECK(v == 1024);
    CHECK_RC(cuCtxGetLimit(&v, CU_LIMIT_PRINTF_FIFO_SIZE), CUDA_SUCCESS);
    CHECK(v == 1u << 20);
    CHECK_RC(cuCtxGetLimit(&v, CU_LIMIT_MALLOC_HEAP_SIZE), CUDA_SUCCESS);
    CHECK(v == 8u << 20);
    CHECK_RC(cuCtxSetLimit(CU_LIMIT_STACK_SIZE, 4096), CUDA_SUCCESS);
    CHECK_RC(cuCtxGetLimit(&v, CU_LIMIT_STACK_SIZE), CUDA_SUCCESS);
    CHECK(v == 4096);
    CHECK_RC(cuCtxSetLimit(CU_LIMIT_MALLOC_HEAP_SIZE, 64u << 20), CUDA_SUCCESS);
    CHECK_RC(cuCtxGetLimit(&v, CU_LIMIT_MALLOC_HEAP_SIZE), CUDA_SUCCESS);
    CHECK(v == 64u << 20);
    CHECK_RC(cuCtxGetLimit(&v, CU_LIMIT_SHMEM_SIZE), CUDA_ERROR_UNSUPPORTED_LIMIT);
    CHECK_RC(cuCtxGetLimit(&v, (CUlimit)77), CUDA_ERROR_UNSUPPORTED_LIMIT);
    CHECK_RC(cuCtxGetLimit(NULL, CU_LIMIT_STACK_SIZE), CUDA_ERROR_INVALID_VALUE);

    int least = 99, greatest = 99;
    CHECK_RC(cuCtxGetStreamPriorityRange(&least, &greatest), CUDA_SUCCESS);
    CHECK(least == 0 && greatest == -5);
    CHECK_RC(cuCtxGetStreamPriorityRange(NULL, NULL), CUDA_SUCCESS);

    CUfunc_cache cc = CU_FUNC_CACHE_PREFER_L1;
    CHECK_RC(cuCtxGetCacheConfig(&cc), CUDA_SUCCESS);
    CHECK(cc == CU_FUNC_CACHE_PREFER_NONE);
    CHECK_RC(cuCtxSetCacheConfig(CU_FUNC_CACHE_PREFER_SHARED), CUDA_SUCCESS);
    CHECK_RC(cuCtxGetCacheConfig(&cc), CUDA_SUCCESS);
    CHECK(cc == CU_FUNC_CACHE_PREFER_SHARED);
    CHECK_RC(cuCtxSetCacheConfig((CUfunc_cache)9), CUDA_ERROR_INVALID_VALUE);
    CUsharedconfig sc;
    CHECK_RC(cuCtxGetSharedMemConfig(&sc), CUDA_SUCCESS);
    CHECK(sc == CU_SHARED_MEM_CONFIG_FOUR_BYTE_BANK_SIZE);

    unsigned flags = 77, ver = 0;
    CHECK_RC(cuCtxGetFlags(&flags), CUDA_SUCCESS);
    CHECK(flags == 0);
    CHECK_RC(cuCtxSetFlags(CU_CTX_SCHED_YIELD), CUDA_SUCCESS);
    CHECK_RC(cuCtxGetFlags(&flags), CUDA_SUCCESS);
    CHECK(flags == CU_CTX_SCHED_YIELD);
    CHECK_RC(cuCtxGetApiVersion(a, &ver), CUDA_SUCCESS);
    CHECK(ver >= 3020);
    CHECK_RC(cuCtxGetApiVersion(NULL, &ver), CUDA_SUCCESS);

    unsigned long long ida = 0, idb = 0, idcur = 0;
    CHECK_RC(cuCtxCreate(&b, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxGetId(a, &ida), CUDA_SUCCESS);
    CHECK_RC(cuCtxGetId(b, &idb), CUDA_SUCCESS);
    CHECK_RC(cuCtxGetId(NULL, &idcur), CUDA_SUCCESS);
    CHECK(ida != idb && idcur == idb && ida && idb);
    CUdevice d = -1;
    CHECK_RC(cuCtxGetDevice_v2(&d, a), CUDA_SUCCESS);
    CHECK(d == 0);
    CHECK_RC(cuCtxSynchronize_v2(a), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(b), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(a), CUDA_SUCCESS);
}

static void case_create_variants(void)
{
    CUcontext c = NULL;
    CUctxCreateParams params;
    memset(&params, 0, sizeof params);
    CHECK_RC(cuCtxCreate(&c, &params, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(c), CUDA_SUCCESS);
    CUexecAffinityParam aff;
    aff.type = CU_EXEC_AFFINITY_TYPE_SM_COUNT;
    aff.param.smCount.val = 2;
    params.execAffinityParams = &aff;
    params.numExecAffinityParams = 1;
    CHECK_RC(cuCtxCreate(&c, &params, 0, 0), CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY);
    CHECK_RC(cuCtxCreate_v3(&c, &aff, 1, 0, 0), CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY);
    CHECK_RC(cuCtxCreate_v3(&c, NULL, 0, 0, 0), CUDA_SUCCESS);
    CUexecAffinityParam got;
    CHECK_RC(cuCtxGetExecAffinity(&got, CU_EXEC_AFFINITY_TYPE_SM_COUNT), CUDA_SUCCESS);
    CHECK(got.param.smCount.val == 8);
    CHECK_RC(cuCtxDestroy(c), CUDA_SUCCESS);
}

static void case_peer_access(void)
{
    CUcontext a = NULL, b = NULL, a2 = NULL;
    CHECK_RC(cuCtxCreate(&b, NULL, 0, 1), CUDA_SUCCESS);
    CHECK_RC(cuCtxCreate(&a2, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxCreate(&a, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxDisablePeerAccess(b), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
    CHECK_RC(cuCtxEnablePeerAccess(b, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxEnablePeerAccess(b, 0), CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED);
    CHECK_RC(cuCtxEnablePeerAccess(a2, 0), CUDA_ERROR_INVALID_DEVICE);
    CHECK_RC(cuCtxEnablePeerAccess(b, 1), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuCtxDisablePeerAccess(b), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(a), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(a2), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(b), CUDA_SUCCESS);
    int v = -1;
    CHECK_RC(cuDeviceGetP2PAttribute(&v, CU_DEVICE_P2P_ATTRIBUTE_ACCESS_SUPPORTED, 0, 1), CUDA_SUCCESS);
    CHECK(v == 1);
}

/* Many create/destroy cycles with a stream each: nothing leaks into later contexts. */
static void case_churn(void)
{
    for (int i = 0; i < 200; i++) {
        CUcontext c = NULL;
        CUstream s = NULL;
        CHECK_RC(cuCtxCreate(&c, NULL, 0, i & 1), CUDA_SUCCESS);
        CHECK_RC(cuStreamCreate(&s, 0), CUDA_SUCCESS);
        CHECK_RC(cuCtxDestroy(c), CUDA_SUCCESS);
        CHECK_RC(cuStreamSynchronize(s), CUDA_ERROR_INVALID_HANDLE);
    }
    CHECK(current() == NULL);
}

int main(void)
{
    setenv("BITFUSION_EMU_DEVICES", "2", 1);
    unsetenv("BITFUSION_EMU_SMS");
    alarm(120);
    static const api_check_case cases[] = {
        { "before_init", case_before_init },
        { "create_destroy", case_create_destroy },
        { "stale_and_garbage_handles", case_stale_and_garbage_handles },
        { "set_current", case_set_current },
        { "threads", case_threads },
        { "primary", case_primary },
        { "limits_and_config", case_limits_and_config },
        { "create_variants", case_create_variants },
        { "peer_access", case_peer_access },
        { "churn", case_churn },
    };
    return API_CHECK_RUN(cases, 0);
}
