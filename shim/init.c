/* init.c: calls answered by the client library itself (owner: shim/): cuInit (connects, and so
 * leases when the process has no lease yet: shim/lease.c; nvmlInit does the same, shim/nvml.c),
 * cuDriverGetVersion, cuGetErrorName / cuGetErrorString (tables generated from cuda.h with the
 * driver's texts), the log line of the generated NOT_SUPPORTED stubs, and cuCtxCreate (its
 * parameter struct points at arrays, which travel with the call). */
#include "rpc.h"
#include "bf_calls.h"
#include <pthread.h>
#include <stdio.h>

struct bf_err_row { int code; const char *name; const char *text; };
extern const struct bf_err_row bf_err_table[];

CUresult bf_session_init(void)
{
    CUresult r = bf_connect_once();
    if (r != CUDA_SUCCESS) return r;
    bf_call c;
    bf_call_init(&c, BF_FN_cuInit, 0);       /* the backend's own cuInit */
    bf_put(&c, 0);
    r = bf_invoke(&c);
    bf_call_done(&c);
    return r;
}

BF_API CUresult CUDAAPI cuInit(unsigned int flags)
{
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    return bf_session_init();
}

BF_API CUresult CUDAAPI cuDriverGetVersion(int *v)
{
    if (!v) return CUDA_ERROR_INVALID_VALUE;
    if (!bf_connected()) { *v = CUDA_VERSION; return CUDA_SUCCESS; }
    bf_call c;
    bf_call_init(&c, BF_FN_cuDriverGetVersion, 0);
    CUresult r = bf_invoke(&c);
    if (r == CUDA_SUCCESS) *v = (int)bf_get(&c);
    bf_call_done(&c);
    if (r != CUDA_SUCCESS) { *v = CUDA_VERSION; r = CUDA_SUCCESS; }
    return r;
}

static const struct bf_err_row *err_row(CUresult r)
{
    for (const struct bf_err_row *e = bf_err_table; e->name; e++)
        if (e->code == (int)r) return e;
    return NULL;
}

const char *bf_error_name(CUresult r)
{
    const struct bf_err_row *e = err_row(r);
    return e ? e->name : NULL;
}

BF_API CUresult CUDAAPI cuGetErrorName(CUresult error, const char **pStr)
{
    const struct bf_err_row *e = err_row(error);
    if (!pStr) return CUDA_ERROR_INVALID_VALUE;
    if (!e) { *pStr = NULL; return CUDA_ERROR_INVALID_VALUE; }
    *pStr = e->name;
    return CUDA_SUCCESS;
}

BF_API CUresult CUDAAPI cuGetErrorString(CUresult error, const char **pStr)
{
    const struct bf_err_row *e = err_row(error);
    if (!pStr) return CUDA_ERROR_INVALID_VALUE;
    if (!e) { *pStr = NULL; return CUDA_ERROR_INVALID_VALUE; }
    *pStr = e->text;
    return CUDA_SUCCESS;
}

/* For the generated stubs: "NAME is not supported remotely" once per name. */
__attribute__((visibility("hidden"))) void bf_log_unimplemented(const char *name);
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;

void bf_init_atfork(int phase)
{
    if (phase == BF_FORK_PREPARE) pthread_mutex_lock(&g_log_lock);
    else pthread_mutex_unlock(&g_log_lock);
}

void bf_log_unimplemented(const char *name)
{
    static const char *seen[256];
    static int nseen;
    int found = 0;
    pthread_mutex_lock(&g_log_lock);
    for (int i = 0; i < nseen; i++) if (seen[i] == name) found = 1;
    if (!found && nseen < 256) seen[nseen++] = name;
    pthread_mutex_unlock(&g_log_lock);
    if (!found)
        bf_log("%s is not implemented by the remote GPU (returns CUDA_ERROR_NOT_SUPPORTED); run the "
               "program on the GPU server if it needs it", name);
}

/* a: pctx present, params present, flags, dev; b: the params struct, its affinity array, its CIG
 * parameters (pointers inside are meaningless on the server, which rebuilds them) -> reply a: token */
BF_API CUresult CUDAAPI cuCtxCreate(CUcontext *pctx, CUctxCreateParams *p, unsigned int flags, CUdevice dev)
{
    if (!bf_connected()) return bf_not_connected_result();
    bf_call c;
    bf_call_init(&c, BF_FN_cuCtxCreate, 0);
    bf_put(&c, pctx != NULL);
    bf_put(&c, p != NULL);
    bf_put(&c, flags);
    bf_put(&c, (uint64_t)(int64_t)dev);
    int na = p && p->execAffinityParams && p->numExecAffinityParams > 0 ? p->numExecAffinityParams : 0;
    bf_put_bytes(&c, p, p ? sizeof *p : 0);
    bf_put_bytes(&c, na ? (const void *)p->execAffinityParams : "", (size_t)na * sizeof(CUexecAffinityParam));
    bf_put_bytes(&c, p && p->cigParams ? (const void *)p->cigParams : "", p && p->cigParams ? sizeof *p->cigParams : 0);
    CUresult r = bf_invoke(&c);
    uint64_t t = bf_get(&c);
    bf_ctx_changed();
    if (r == CUDA_SUCCESS && pctx) { *pctx = (CUcontext)(uintptr_t)t; bf_token_learn(t); }
    bf_call_done(&c);
    return r;
}
