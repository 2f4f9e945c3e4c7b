/* export_emu.c: the software GPU's binding of the export-table component (export_tables.h): the
 * ops struct of local driver functions, cuGetExportTable's implementation (emu_export_get_table,
 * called by procaddr.c) and the context-destruction notice context.c sends
 * (emu_export_ctx_destroyed). Owns nothing else. */
#include "emu.h"
#include "export_tables.h"

CUresult emu_export_get_table(const void **table, const CUuuid *id);
void emu_export_ctx_destroyed(emu_ctx *ctx);
/* Declared by cuda.h only for its own internal builds. */
CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);

static const bf_export_ops g_emu_ops = {
    .driver_get_version = cuDriverGetVersion,
    .device_get_count = cuDeviceGetCount,
    .device_get_uuid = cuDeviceGetUuid_v2,
    .device_get_attribute = cuDeviceGetAttribute,
    .ctx_get_current = cuCtxGetCurrent,
    .primary_ctx_retain = cuDevicePrimaryCtxRetain,
    .primary_ctx_release = cuDevicePrimaryCtxRelease_v2,
    .ctx_create = cuCtxCreate_v2,
    .module_load_data = cuModuleLoadData,
    .log = emu_log,
    .debug = emu_debug,
};

CUresult emu_export_get_table(const void **table, const CUuuid *id)
{
    bf_export_init(&g_emu_ops);
    return bf_export_get_table(table, id);
}

void emu_export_ctx_destroyed(emu_ctx *ctx)
{
    bf_export_ctx_destroyed((CUcontext)ctx);
}
