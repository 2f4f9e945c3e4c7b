/* test_api_procaddr.c: cuGetProcAddress returns the newest exported variant of a name valid for
 * the requested CUDA version, the _ptds/_ptsz variant under
 * CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, reports symbol status; the per-thread default
 * stream entry points use one blocking stream per host thread; cuGetExportTable refuses.
 * Self-contained: prints one line per failed check, exits non-zero on failure. */
#include <cuda.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_check.h"

/* Per-thread-stream exports (declared by cuda.h only with CUDA_API_PER_THREAD_DEFAULT_STREAM). */
CUresult cuLaunchHostFunc_ptsz(CUstream hStream, CUhostFn fn, void *userData);
CUresult cuStreamSynchronize_ptsz(CUstream hStream);
CUresult cuStreamQuery_ptsz(CUstream hStream);
CUresult cuStreamGetId_ptsz(CUstream hStream, unsigned long long *id);

static void *sym(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);
    if (!p)
        printf("note: %s is not exported\n", name);
    return p;
}

/* Looks name up and checks it resolves to the exported symbol want (NULL: must fail). */
static void expect(const char *name, int version, cuuint64_t flags, const char *want, int line)
{
    void *fn = (void *)0x1;
    CUdriverProcAddressQueryResult st = (CUdriverProcAddressQueryResult)77;
    CUresult rc = cuGetProcAddress(name, &fn, version, flags, &st);
    void *w = want ? sym(want) : NULL;
    int ok = want ? (rc == CUDA_SUCCESS && st == CU_GET_PROC_ADDRESS_SUCCESS && fn == w && w)
                  : (rc == CUDA_ERROR_NOT_FOUND && fn == NULL && st != CU_GET_PROC_ADDRESS_SUCCESS);
    if (!ok)
        api_check_failf(__FILE__, line, "cuGetProcAddress(%s, %d, %llu): rc %d status %d fn %p, want %s (%p)",
                        name, version, (unsigned long long)flags, (int)rc, (int)st, fn, want ? want : "none", w);
}
#define EXPECT(name, version, flags, want) expect(name, version, flags, want, __LINE__)

static void case_versions(void)
{
    EXPECT("cuInit", 13000, 0, "cuInit");
    EXPECT("cuMemAlloc", 13000, 0, "cuMemAlloc_v2");
    EXPECT("cuMemAlloc", 12000, 0, "cuMemAlloc_v2");
    EXPECT("cuMemAlloc", 3000, 0, "cuMemAlloc");
    EXPECT("cuCtxCreate", 13000, 0, "cuCtxCreate_v4");
    EXPECT("cuCtxCreate", 12000, 0, "cuCtxCreate_v3");
    EXPECT("cuCtxCreate", 11000, 0, "cuCtxCreate_v2");
    EXPECT("cuCtxDestroy", 12000, 0, "cuCtxDestroy_v2");
    EXPECT("cuGetProcAddress", 12000, 0, "cuGetProcAddress_v2");
    EXPECT("cuGetProcAddress", 11030, 0, "cuGetProcAddress");
    EXPECT("cuEventElapsedTime", 12080, 0, "cuEventElapsedTime_v2");
    EXPECT("cuEventElapsedTime", 12000, 0, "cuEventElapsedTime");
    EXPECT("cuModuleGetGlobal", 12000, 0, "cuModuleGetGlobal_v2");
    EXPECT("cuDevicePrimaryCtxRelease", 12000, 0, "cuDevicePrimaryCtxRelease_v2");
    EXPECT("cuStreamGetCaptureInfo", 12030, 0, "cuStreamGetCaptureInfo_v3");
    EXPECT("cuLinkCreate", 12000, 0, "cuLinkCreate_v2");
    EXPECT("cuLaunchKernel", 12000, 0, "cuLaunchKernel");
}

static void case_per_thread(void)
{
    const cuuint64_t ptds = CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
    EXPECT("cuMemcpyHtoD", 12000, ptds, "cuMemcpyHtoD_v2_ptds");
    EXPECT("cuMemcpyHtoDAsync", 12000, ptds, "cuMemcpyHtoDAsync_v2_ptsz");
    EXPECT("cuStreamSynchronize", 12000, ptds, "cuStreamSynchronize_ptsz");
    EXPECT("cuLaunchKernel", 12000, ptds, "cuLaunchKernel_ptsz");
    EXPECT("cuEventRecord", 12000, ptds, "cuEventRecord_ptsz");
    EXPECT("cuStreamGetCaptureInfo", 12030, ptds, "cuStreamGetCaptureInfo_v3_ptsz");
    EXPECT("cuInit", 12000, ptds, "cuInit");   /* no per-thread flavour: the plain one */
    EXPECT("cuStreamSynchronize", 6000, ptds, "cuStreamSynchronize");
    EXPECT("cuStreamSynchronize", 12000, CU_GET_PROC_ADDRESS_LEGACY_STREAM, "cuStreamSynchronize");
    EXPECT("cuMemcpyHtoD", 12000, CU_GET_PROC_ADDRESS_LEGACY_STREAM, "cuMemcpyHtoD_v2");
}

static void case_not_found(void)
{
    void *fn = (void *)0x1;
    CUdriverProcAddressQueryResult st = CU_GET_PROC_ADDRESS_SUCCESS;
    CHECK_RC(cuGetProcAddress("cuNoSuchEntryPoint", &fn, 13000, 0, &st), CUDA_ERROR_NOT_FOUND);
    CHECK(fn == NULL && st == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
    CHECK_RC(cuGetProcAddress("cuLibraryLoadData", &fn, 11000, 0, &st), CUDA_ERROR_NOT_FOUND);
    CHECK(fn == NULL && st == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
    CHECK_RC(cuGetProcAddress(NULL, &fn, 13000, 0, &st), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuGetProcAddress("cuInit", NULL, 13000, 0, &st), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuGetProcAddress("cuInit", &fn, 13000, 4, &st), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuGetProcAddress("cuInit", &fn, 13000, 3, &st), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuGetProcAddress("cuInit", &fn, 13000, 0, NULL), CUDA_SUCCESS);
}

/* The old four-argument entry point and calling through a returned pointer. */
static void case_call_through(void)
{
    typedef CUresult (*v1_fn)(const char *, void **, int, cuuint64_t);
    v1_fn v1 = (v1_fn)sym("cuGetProcAddress");
    CHECK(v1 != NULL);
    void *fn = NULL;
    if (v1)
        CHECK_RC(v1("cuDriverGetVersion", &fn, 12000, 0), CUDA_SUCCESS);
    CHECK(fn == sym("cuDriverGetVersion"));
    int version = 0;
    if (fn)
        CHECK_RC(((CUresult (*)(int *))fn)(&version), CUDA_SUCCESS);
    CHECK(version == 13000);
}

static void case_export_table(void)
{
    const void *table = (const void *)0x1;
    CUuuid id;
    memset(&id, 0x42, sizeof id);
    CHECK_RC(cuGetExportTable(&table, &id), CUDA_ERROR_NOT_SUPPORTED);
    CHECK(table == NULL);
    CHECK_RC(cuGetExportTable(NULL, &id), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuGetExportTable(&table, NULL), CUDA_ERROR_INVALID_VALUE);
}

/* ---- per-thread default streams ------------------------------------------------------------ */
static void sleep_then_set(void *p)
{
    usleep(100 * 1000);
    *(volatile int *)p = 1;
}

static void record_flag(void *p)
{
    int *pair = p;   /* pair[0]: flag written by the earlier function, pair[1]: what we saw */
    pair[1] = pair[0];
}

typedef struct ptds_arg {
    CUcontext ctx;
    unsigned long long id1, id2;
} ptds_arg;

static void *ptds_thread(void *p)
{
    ptds_arg *a = p;
    cuCtxSetCurrent(a->ctx);
    cuStreamGetId_ptsz(NULL, &a->id1);
    cuStreamGetId(CU_STREAM_PER_THREAD, &a->id2);
    return NULL;
}

static void case_per_thread_streams(void)
{
    CHECK_RC(cuInit(0), CUDA_SUCCESS);   /* the first case to need it */
    CUcontext ctx = NULL;
    CHECK_RC(cuCtxCreate(&ctx, NULL, 0, 0), CUDA_SUCCESS);
    /* the _ptsz entry points put the NULL stream's work on this thread's stream */
    volatile int flag = 0;
    CHECK_RC(cuLaunchHostFunc_ptsz(NULL, sleep_then_set, (void *)&flag), CUDA_SUCCESS);
    CHECK_RC(cuStreamQuery_ptsz(NULL), CUDA_ERROR_NOT_READY);
    CHECK_RC(cuStreamSynchronize_ptsz(NULL), CUDA_SUCCESS);
    CHECK(flag == 1);
    /* the per-thread stream is blocking: later legacy-stream work waits for it */
    int pair[2] = { 0, -1 };
    CHECK_RC(cuLaunchHostFunc_ptsz(NULL, sleep_then_set, &pair[0]), CUDA_SUCCESS);
    CHECK_RC(cuLaunchHostFunc(NULL, record_flag, pair), CUDA_SUCCESS);
    CHECK_RC(cuCtxSynchronize(), CUDA_SUCCESS);
    CHECK(pair[1] == 1);
    /* one stream per thread: the same within a thread, different across threads */
    unsigned long long mine1 = 0, mine2 = 0, legacy = 0;
    CHECK_RC(cuStreamGetId_ptsz(NULL, &mine1), CUDA_SUCCESS);
    CHECK_RC(cuStreamGetId(CU_STREAM_PER_THREAD, &mine2), CUDA_SUCCESS);
    CHECK_RC(cuStreamGetId(NULL, &legacy), CUDA_SUCCESS);
    CHECK(mine1 == mine2 && mine1 != legacy);
    ptds_arg a = { ctx, 0, 0 };
    pthread_t th;
    pthread_create(&th, NULL, ptds_thread, &a);
    pthread_join(th, NULL);
    CHECK(a.id1 && a.id1 == a.id2 && a.id1 != mine1);
    CHECK_RC(cuCtxDestroy(ctx), CUDA_SUCCESS);
}

int main(void)
{
    alarm(60);
    static const api_check_case cases[] = {
        { "versions", case_versions },          /* before cuInit: allowed */
        { "per_thread", case_per_thread },
        { "not_found", case_not_found },
        { "call_through", case_call_through },
        { "export_table", case_export_table },
        { "per_thread_streams", case_per_thread_streams },
    };
    return API_CHECK_RUN(cases, 0);
}
