/* export.c: the client library's binding of the export-table component (emu/export_tables.h,
 * whose export_*.c files shim/shim.mk compiles in) (owner: shim/). Owns:
 *   - the shim's bf_export_ops: its own remoted driver entry points (versions, devices, contexts,
 *     and module loads through cuModuleLoadData, which sizes the fatbin behind a wrapper before
 *     sending it); the tables live in this process, so the integrity hash covers the client's pid,
 *     thread and table addresses;
 *   - the cuGetExportTable answer (bf_shim_export_get_table, called by procaddr.c);
 *   - the notices of contexts that end, which run the runtime's context-local storage destructors:
 *     cuDevicePrimaryCtxReset as cuGetProcAddress hands it out (bf_shim_export_proc) runs them
 *     before the reset; bf_shim_export_ctx_destroyed (cuCtxDestroy succeeded) and
 *     bf_shim_export_sweep (a primary context may have been released to zero: every context with
 *     storage that the server now calls destroyed or invalid) run them just after the fact, as the
 *     server tells of those ends only once they happened;
 *   - bf_shim_primary_reset, which legacy.c's cuDevicePrimaryCtxReset (pre-11.0) forwards to.
 * The older-version names (cuDeviceGetUuid, cuCtxDestroy, ...) are legacy.c's. */
#include "rpc.h"
#include "export_tables.h"
#include <stdarg.h>
#include <stdio.h>

CUresult bf_shim_export_get_table(const void **table, const CUuuid *id);
void bf_shim_export_ctx_destroyed(CUcontext ctx);
void bf_shim_export_sweep(void);
void *bf_shim_export_proc(void *fn);

/* cuDevicePrimaryCtxReset as cuGetProcAddress hands out its _v2 and legacy.c exports its pre-11.0
 * name: the storage destructors first, then the reset. */
CUresult bf_shim_primary_reset(CUdevice dev);
CUresult CUDAAPI cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);   /* legacy.c */

static void export_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void export_log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    bf_log("%s", line);
}

static int g_served;   /* a table was handed out: context-local storage may exist */

/* A reset keeps the primary context's handle (the server's driver reactivates it), so no later
 * check can tell it ended: its storage destructors run here, before the reset, while it is still
 * usable (as the driver runs them). The handle comes from a retain balanced by a release. */
CUresult bf_shim_primary_reset(CUdevice dev)
{
    unsigned flags;
    int active = 0;
    CUcontext ctx = NULL;
    if (__atomic_load_n(&g_served, __ATOMIC_RELAXED) &&
        cuDevicePrimaryCtxGetState(dev, &flags, &active) == CUDA_SUCCESS && active &&
        cuDevicePrimaryCtxRetain(&ctx, dev) == CUDA_SUCCESS) {
        bf_export_ctx_destroyed(ctx);
        cuDevicePrimaryCtxRelease_v2(dev);
    }
    return cuDevicePrimaryCtxReset_v2(dev);
}

void *bf_shim_export_proc(void *fn)
{
    return fn == (void *)cuDevicePrimaryCtxReset_v2 ? (void *)bf_shim_primary_reset : fn;
}

static const bf_export_ops g_shim_ops = {
    .driver_get_version = cuDriverGetVersion,
    .device_get_count = cuDeviceGetCount,
    .device_get_uuid = cuDeviceGetUuid_v2,
    .device_get_attribute = cuDeviceGetAttribute,
    .ctx_get_current = cuCtxGetCurrent,
    .primary_ctx_retain = cuDevicePrimaryCtxRetain,
    .primary_ctx_release = cuDevicePrimaryCtxRelease_v2,
    .ctx_create = cuCtxCreate_v2,   /* legacy.c: the v4 entry point without creation parameters */
    .module_load_data = cuModuleLoadData,
    .log = export_log,
    .debug = NULL,
};

CUresult bf_shim_export_get_table(const void **table, const CUuuid *id)
{
    bf_export_init(&g_shim_ops);
    CUresult r = bf_export_get_table(table, id);
    if (r == CUDA_SUCCESS)
        __atomic_store_n(&g_served, 1, __ATOMIC_RELAXED);
    return r;
}

void bf_shim_export_ctx_destroyed(CUcontext ctx)
{
    if (__atomic_load_n(&g_served, __ATOMIC_RELAXED))
        bf_export_ctx_destroyed(ctx);
}

/* Gone: the server answers for the handle that it was destroyed or is no (longer a) context; a
 * lost connection says nothing about the context. */
static int ctx_gone(CUcontext ctx)
{
    unsigned v;
    CUresult r = cuCtxGetApiVersion(ctx, &v);
    return r == CUDA_ERROR_CONTEXT_IS_DESTROYED || r == CUDA_ERROR_INVALID_CONTEXT;
}

void bf_shim_export_sweep(void)
{
    if (__atomic_load_n(&g_served, __ATOMIC_RELAXED) && bf_connected())
        bf_export_ctx_sweep(ctx_gone);
}
