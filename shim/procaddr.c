/* procaddr.c: driver entry points by name (owner: shim/). cuGetProcAddress (and _v2) answer from
 * the table scripts/gen_stubs.py generates for the client library at build time (every entry point
 * cuda.h declares, by version and per-thread flavour, pointing at the remoted call or its
 * NOT_SUPPORTED stub); cuGetExportTable answers from the export-table component in this process
 * (shim/export.c: cudart's private tables are served here, calling the remoted driver). */
#include "rpc.h"
#include <stdio.h>

struct emu_proc_entry { const char *name; int version; int per_thread; const char *symbol; void *fn; };
extern const struct emu_proc_entry emu_proc_table[] __attribute__((visibility("hidden")));
extern const int emu_proc_table_len __attribute__((visibility("hidden")));

void *bf_shim_export_proc(void *fn);   /* export.c */

static const struct emu_proc_entry *best(const char *name, int version, int per_thread, int *found)
{
    const struct emu_proc_entry *b = NULL;
    for (int i = 0; i < emu_proc_table_len; i++) {
        const struct emu_proc_entry *e = &emu_proc_table[i];
        if (strcmp(e->name, name) != 0) continue;
        *found = 1;
        if (e->per_thread == per_thread && e->version <= version && (!b || e->version > b->version)) b = e;
    }
    return b;
}

static const struct emu_proc_entry *by_symbol(const char *symbol, int version)
{
    for (int i = 0; i < emu_proc_table_len; i++)
        if (!strcmp(emu_proc_table[i].symbol, symbol) && emu_proc_table[i].version <= version)
            return &emu_proc_table[i];
    return NULL;
}

static CUresult proc_address(const char *symbol, void **pfn, int version, cuuint64_t flags,
                             CUdriverProcAddressQueryResult *status)
{
    const cuuint64_t known = CU_GET_PROC_ADDRESS_LEGACY_STREAM | CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
    if (!symbol || !pfn || (flags & ~known) || flags == known) return CUDA_ERROR_INVALID_VALUE;
    *pfn = NULL;
    int found = 0;
    const struct emu_proc_entry *e = NULL;
    if (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) e = best(symbol, version, 1, &found);
    if (!e) e = best(symbol, version, 0, &found);
    if (!e && !found && (e = by_symbol(symbol, version)) != NULL) found = 1;
    if (status)
        *status = e ? CU_GET_PROC_ADDRESS_SUCCESS
                    : found ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    if (!e) return CUDA_ERROR_NOT_FOUND;
    *pfn = bf_shim_export_proc(e->fn);   /* cuDevicePrimaryCtxReset: its storage destructors first */
    return CUDA_SUCCESS;
}

BF_API CUresult CUDAAPI cuGetProcAddress_v2(const char *symbol, void **pfn, int v, cuuint64_t flags,
                                            CUdriverProcAddressQueryResult *st);
BF_API CUresult CUDAAPI cuGetProcAddress_v2(const char *symbol, void **pfn, int v, cuuint64_t flags,
                                            CUdriverProcAddressQueryResult *st)
{
    return proc_address(symbol, pfn, v, flags, st);
}

#undef cuGetProcAddress
BF_API CUresult CUDAAPI cuGetProcAddress(const char *symbol, void **pfn, int v, cuuint64_t flags);
BF_API CUresult CUDAAPI cuGetProcAddress(const char *symbol, void **pfn, int v, cuuint64_t flags)
{
    return proc_address(symbol, pfn, v, flags, NULL);
}

CUresult bf_shim_export_get_table(const void **table, const CUuuid *id);   /* export.c */

BF_API CUresult CUDAAPI cuGetExportTable(const void **pp, const CUuuid *id)
{
    return bf_shim_export_get_table(pp, id);
}
