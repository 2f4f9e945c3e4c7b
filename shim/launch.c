/* launch.c: kernel launches and the occupancy calls that take a launch configuration (owner:
 * shim/). A function's parameter layout (cuFuncGetParamInfo on the server) and its block-size
 * limit are fetched once and cached per handle; kernelParams are packed into one buffer at those
 * offsets. Launches are sent without waiting, except when something could fail at the call
 * (a handle never seen, a configuration outside the limits, a malformed parameter form, a
 * cooperative launch): then they wait, so the error comes back from the call as CUDA returns it. */
#include "rpc.h"
#include "bf_calls.h"
#include <pthread.h>
#include <stdlib.h>

#define MAXP 96

typedef struct bf_fninfo {
    uint64_t h;
    int nparams;
    uint32_t off[MAXP], size[MAXP];
    size_t total;
    int max_threads;
    int static_smem;
    struct bf_fninfo *next;
} bf_fninfo;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static bf_fninfo *g_infos;

static CUresult param_info(uint32_t fn, void *h, size_t i, size_t *off, size_t *size)
{
    bf_call c;
    bf_call_init(&c, fn, 0);
    bf_put(&c, (uint64_t)(uintptr_t)h);
    bf_put(&c, i);
    bf_put(&c, 1); bf_put(&c, 0);
    bf_put(&c, 1); bf_put(&c, 0);
    CUresult r = bf_invoke(&c);
    *off = (size_t)bf_get(&c);
    *size = (size_t)bf_get(&c);
    bf_call_done(&c);
    return r;
}

static int func_attr(void *h, CUfunction_attribute a, int dflt)
{
    int v = dflt;
    return cuFuncGetAttribute(&v, a, (CUfunction)h) == CUDA_SUCCESS ? v : dflt;
}

/* Cached layout of a function or kernel handle; NULL with *err when the server refuses it. */
static bf_fninfo *fninfo(void *h, CUresult *err)
{
    pthread_mutex_lock(&g_lock);
    bf_fninfo *f = g_infos;
    while (f && f->h != (uint64_t)(uintptr_t)h) f = f->next;
    pthread_mutex_unlock(&g_lock);
    if (f) return f;
    f = calloc(1, sizeof *f);
    if (!f) { *err = CUDA_ERROR_OUT_OF_MEMORY; return NULL; }
    f->h = (uint64_t)(uintptr_t)h;
    uint32_t fn = BF_FN_cuFuncGetParamInfo;
    for (int i = 0; i < MAXP; i++) {
        size_t off, size;
        CUresult r = param_info(fn, h, (size_t)i, &off, &size);
        if (r == CUDA_ERROR_INVALID_HANDLE && i == 0 && fn == BF_FN_cuFuncGetParamInfo) {
            fn = BF_FN_cuKernelGetParamInfo;
            r = param_info(fn, h, 0, &off, &size);
        }
        if (r == CUDA_ERROR_INVALID_VALUE) break;
        if (r != CUDA_SUCCESS) { free(f); *err = r; return NULL; }
        f->off[i] = (uint32_t)off;
        f->size[i] = (uint32_t)size;
        if (off + size > f->total) f->total = off + size;
        f->nparams = i + 1;
    }
    f->max_threads = func_attr(h, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, 1024);
    f->static_smem = func_attr(h, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, 48 << 10);
    pthread_mutex_lock(&g_lock);
    f->next = g_infos;
    g_infos = f;
    pthread_mutex_unlock(&g_lock);
    return f;
}

/* Packs the parameters; returns 1 when the form is unusual (the launch then waits). */
static int put_params(bf_call *c, bf_fninfo *fi, void **kp, void **extra, uint8_t **packed)
{
    int mode = (kp ? 1 : 0) | (extra ? 2 : 0), odd = 0;
    const void *buf = NULL;
    size_t n = 0;
    *packed = NULL;
    if (kp && fi) {
        n = fi->total;
        *packed = calloc(1, n ? n : 1);
        if (*packed) for (int i = 0; i < fi->nparams; i++) memcpy(*packed + fi->off[i], kp[i], fi->size[i]);
        buf = *packed;
    } else if (extra) {
        const void *p = NULL;
        size_t *sz = NULL;
        for (int i = 0; extra[i] != CU_LAUNCH_PARAM_END && i < 16; i += 2) {
            if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) p = extra[i + 1];
            else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE) sz = extra[i + 1];
            else odd = 1;
        }
        if (p && sz) { buf = p; n = *sz; } else odd = 1;
        if (fi && n < fi->total) odd = 1;
    }
    if (mode == 3 || (mode == 0 && fi && fi->nparams > 0)) odd = 1;
    bf_put(c, (uint64_t)mode);
    int cnt = (mode & 1) && fi ? fi->nparams : 0;
    bf_put(c, (uint64_t)cnt);
    for (int i = 0; i < cnt; i++) bf_put(c, fi->off[i]);
    bf_put_bytes(c, buf, buf ? n : 0);
    return odd;
}

static int dims_ok(const unsigned *d, unsigned smem, bf_fninfo *fi)
{
    unsigned long long threads = (unsigned long long)d[3] * d[4] * d[5];
    if (!d[0] || !d[1] || !d[2] || !d[3] || !d[4] || !d[5]) return 0;
    if (d[1] > 65535 || d[2] > 65535 || d[0] > 0x7fffffffu) return 0;
    if (d[3] > 1024 || d[4] > 1024 || d[5] > 64 || threads > 1024) return 0;
    if (!fi || threads > (unsigned long long)fi->max_threads) return 0;
    return (size_t)smem + (size_t)fi->static_smem <= (48u << 10);   /* more: the server decides */
}

static CUresult launch(uint32_t fn, int fl, CUfunction f, const unsigned *d, unsigned smem, CUstream st,
                       void **kp, void **extra, int coop)
{
    CUresult err = CUDA_SUCCESS;
    if (!bf_connected()) return bf_not_connected_result();
    bf_fninfo *fi = bf_token_known((uint64_t)(uintptr_t)f) && f ? fninfo(f, &err) : NULL;
    bf_call c;
    uint8_t *packed;
    bf_call_init(&c, fn | (uint32_t)fl << 16, 1);
    bf_put(&c, (uint64_t)(uintptr_t)f);
    for (int i = 0; i < 6; i++) bf_put(&c, d[i]);
    bf_put(&c, smem);
    bf_put(&c, (uint64_t)(uintptr_t)st);
    int odd = put_params(&c, fi, kp, extra, &packed);
    if (odd || coop || !fi || !dims_ok(d, smem, fi) || !bf_token_async_ok((uint64_t)(uintptr_t)st) ||
        !bf_token_async_ok((uint64_t)(uintptr_t)f))
        c.async = 0;
    CUresult r = bf_invoke(&c);
    bf_call_done(&c);
    free(packed);
    if (r == CUDA_SUCCESS && !c.async) { bf_token_learn((uint64_t)(uintptr_t)f); bf_token_learn((uint64_t)(uintptr_t)st); }
    return r;
}

#define DIMS unsigned d[6] = { gx, gy, gz, bx, by, bz }
BF_API CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                       unsigned by, unsigned bz, unsigned smem, CUstream st, void **kp, void **extra)
{
    DIMS;
    return launch(BF_FN_cuLaunchKernel, 0, f, d, smem, st, kp, extra, 0);
}
BF_API CUresult CUDAAPI cuLaunchKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                            unsigned by, unsigned bz, unsigned smem, CUstream st, void **kp, void **extra);
BF_API CUresult CUDAAPI cuLaunchKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                            unsigned by, unsigned bz, unsigned smem, CUstream st, void **kp, void **extra)
{
    DIMS;
    return launch(BF_FN_cuLaunchKernel, 2, f, d, smem, st, kp, extra, 0);
}
BF_API CUresult CUDAAPI cuLaunchCooperativeKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                                  unsigned by, unsigned bz, unsigned smem, CUstream st, void **kp)
{
    DIMS;
    return launch(BF_FN_cuLaunchCooperativeKernel, 0, f, d, smem, st, kp, NULL, 1);
}
BF_API CUresult CUDAAPI cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                                                       unsigned bx, unsigned by, unsigned bz, unsigned smem,
                                                       CUstream st, void **kp);
BF_API CUresult CUDAAPI cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                                                       unsigned bx, unsigned by, unsigned bz, unsigned smem,
                                                       CUstream st, void **kp)
{
    DIMS;
    return launch(BF_FN_cuLaunchCooperativeKernel, 2, f, d, smem, st, kp, NULL, 1);
}

/* config fields + attributes (events as tokens; the server maps them) */
static void put_config(bf_call *c, CUfunction f, const CUlaunchConfig *cfg)
{
    CUlaunchConfig z;
    memset(&z, 0, sizeof z);
    if (!cfg) cfg = &z;
    bf_put(c, (uint64_t)(uintptr_t)f);
    bf_put(c, cfg->gridDimX); bf_put(c, cfg->gridDimY); bf_put(c, cfg->gridDimZ);
    bf_put(c, cfg->blockDimX); bf_put(c, cfg->blockDimY); bf_put(c, cfg->blockDimZ);
    bf_put(c, cfg->sharedMemBytes);
    bf_put(c, (uint64_t)(uintptr_t)cfg->hStream);
}

static CUresult launch_ex(int fl, const CUlaunchConfig *cfg, CUfunction f, void **kp, void **extra)
{
    CUresult err = CUDA_SUCCESS;
    if (!bf_connected()) return bf_not_connected_result();
    bf_fninfo *fi = bf_token_known((uint64_t)(uintptr_t)f) && f ? fninfo(f, &err) : NULL;
    bf_call c;
    uint8_t *packed;
    bf_call_init(&c, BF_FN_cuLaunchKernelEx | (uint32_t)fl << 16, 1);
    put_config(&c, f, cfg);
    bf_put(&c, cfg != NULL);
    unsigned na = cfg && cfg->attrs ? cfg->numAttrs : 0;
    bf_put_bytes(&c, na ? (const void *)cfg->attrs : "", na * sizeof(CUlaunchAttribute));
    int odd = put_params(&c, fi, kp, extra, &packed);
    unsigned d[6] = { 0 };
    if (cfg) { d[0] = cfg->gridDimX; d[1] = cfg->gridDimY; d[2] = cfg->gridDimZ;
               d[3] = cfg->blockDimX; d[4] = cfg->blockDimY; d[5] = cfg->blockDimZ; }
    if (odd || !cfg || na || !fi || !dims_ok(d, cfg->sharedMemBytes, fi) ||
        !bf_token_async_ok((uint64_t)(uintptr_t)cfg->hStream))
        c.async = 0;
    CUresult r = bf_invoke(&c);
    bf_call_done(&c);
    free(packed);
    return r;
}

BF_API CUresult CUDAAPI cuLaunchKernelEx(const CUlaunchConfig *cfg, CUfunction f, void **kp, void **extra)
{
    return launch_ex(0, cfg, f, kp, extra);
}
BF_API CUresult CUDAAPI cuLaunchKernelEx_ptsz(const CUlaunchConfig *cfg, CUfunction f, void **kp, void **extra);
BF_API CUresult CUDAAPI cuLaunchKernelEx_ptsz(const CUlaunchConfig *cfg, CUfunction f, void **kp, void **extra)
{
    return launch_ex(2, cfg, f, kp, extra);
}

/* ---- occupancy with a launch configuration or a callback -------------------------------------------- */
static CUresult cluster_query(uint32_t fn, int *out, CUfunction f, const CUlaunchConfig *cfg)
{
    if (!bf_connected()) return bf_not_connected_result();
    bf_call c;
    bf_call_init(&c, fn, 0);
    put_config(&c, f, cfg);
    bf_put(&c, cfg != NULL);
    bf_put(&c, out != NULL);
    unsigned na = cfg && cfg->attrs ? cfg->numAttrs : 0;
    bf_put_bytes(&c, na ? (const void *)cfg->attrs : "", na * sizeof(CUlaunchAttribute));
    CUresult r = bf_invoke(&c);
    int v = (int)bf_get(&c);
    if (c.have_reply && out) *out = v;
    bf_call_done(&c);
    return r;
}

BF_API CUresult CUDAAPI cuOccupancyMaxActiveClusters(int *n, CUfunction f, const CUlaunchConfig *cfg)
{
    return cluster_query(BF_FN_cuOccupancyMaxActiveClusters, n, f, cfg);
}
BF_API CUresult CUDAAPI cuOccupancyMaxPotentialClusterSize(int *n, CUfunction f, const CUlaunchConfig *cfg)
{
    return cluster_query(BF_FN_cuOccupancyMaxPotentialClusterSize, n, f, cfg);
}

static CUresult potential_remote(int *mg, int *bs, CUfunction f, size_t smem, int limit, unsigned flags)
{
    bf_call c;
    bf_call_init(&c, BF_FN_cuOccupancyMaxPotentialBlockSizeWithFlags, 0);
    bf_put(&c, (uint64_t)(uintptr_t)f);
    bf_put(&c, smem);
    bf_put(&c, (uint64_t)(int64_t)limit);
    bf_put(&c, flags);
    bf_put(&c, mg != NULL);
    bf_put(&c, bs != NULL);
    CUresult r = bf_invoke(&c);
    int a = (int)bf_get(&c), b = (int)bf_get(&c);
    if (c.have_reply) { if (mg) *mg = a; if (bs) *bs = b; }
    bf_call_done(&c);
    return r;
}

/* With a callback (client code): the block-size search runs here, asking the server for each
 * candidate's occupancy (as the driver's own search does). */
static CUresult potential(int *mg, int *bs, CUfunction f, CUoccupancyB2DSize cb, size_t smem, int limit,
                          unsigned flags)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!cb) return potential_remote(mg, bs, f, smem, limit, flags);
    if (!mg || !bs) return CUDA_ERROR_INVALID_VALUE;
    int maxt = 1024, sms = 1, best = 0, best_bs = 0;
    CUdevice dev;
    CUresult r = cuFuncGetAttribute(&maxt, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f);
    if (r != CUDA_SUCCESS) return r;
    if (cuCtxGetDevice(&dev) == CUDA_SUCCESS)
        cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
    if (limit > 0 && limit < maxt) maxt = limit;
    for (int b = (maxt / 32) * 32; b > 0; b -= 32) {
        int blocks = 0;
        r = cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&blocks, f, b, cb(b), flags);
        if (r != CUDA_SUCCESS) return r;
        if (blocks * b > best) { best = blocks * b; best_bs = b; }
    }
    *bs = best_bs;
    *mg = best_bs ? (best / best_bs) * sms : 0;
    return CUDA_SUCCESS;
}

BF_API CUresult CUDAAPI cuOccupancyMaxPotentialBlockSize(int *mg, int *bs, CUfunction f, CUoccupancyB2DSize cb,
                                                         size_t smem, int limit)
{
    return potential(mg, bs, f, cb, smem, limit, 0);
}
BF_API CUresult CUDAAPI cuOccupancyMaxPotentialBlockSizeWithFlags(int *mg, int *bs, CUfunction f,
                                                                  CUoccupancyB2DSize cb, size_t smem,
                                                                  int limit, unsigned flags)
{
    return potential(mg, bs, f, cb, smem, limit, flags);
}
