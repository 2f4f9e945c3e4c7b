/* procaddr.c: driver entry points by name. cuGetProcAddress (and _v2) answer from
 * emu_proc_table, which scripts/gen_stubs.py derives at build time from cuda.h and
 * cudaTypedefs.h (name, first driver version, per-thread flavour, symbol); cuGetExportTable
 * hands the request to the export-table component (export_tables.h, export_emu.c). */
#include "emu.h"
#include <stdio.h>
#include <string.h>

/* Layout shared with the generated emu_stubs.c. */
struct emu_proc_entry {
    const char *name;
    int version;
    int per_thread;          /* 1: the _ptds/_ptsz flavour */
    const char *symbol;
    void *fn;
};
extern const struct emu_proc_entry emu_proc_table[] __attribute__((visibility("hidden")));
extern const int emu_proc_table_len __attribute__((visibility("hidden")));

/* The newest entry named name that exists at version, of the wanted flavour. found is set
 * when the name exists at all. */
static const struct emu_proc_entry *proc_best(const char *name, int version, int per_thread, int *found)
{
    const struct emu_proc_entry *best = NULL;
    for (int i = 0; i < emu_proc_table_len; i++) {
        const struct emu_proc_entry *e = &emu_proc_table[i];
        if (strcmp(e->name, name) != 0)
            continue;
        *found = 1;
        if (e->per_thread == per_thread && e->version <= version && (!best || e->version > best->version))
            best = e;
    }
    return best;
}

/* Callers sometimes pass an exported symbol ("cuMemAlloc_v2") instead of the base name. */
static const struct emu_proc_entry *proc_by_symbol(const char *symbol, int version)
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
    if (!symbol || !pfn || (flags & ~known) || flags == known)
        return CUDA_ERROR_INVALID_VALUE;
    *pfn = NULL;
    int found = 0;
    const struct emu_proc_entry *e = NULL;
    if (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)
        e = proc_best(symbol, version, 1, &found);
    if (!e)
        e = proc_best(symbol, version, 0, &found);
    if (!e && !found && (e = proc_by_symbol(symbol, version)) != NULL)
        found = 1;
    if (status)
        *status = e ? CU_GET_PROC_ADDRESS_SUCCESS
                    : found ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    if (!e) {
        emu_debug("cuGetProcAddress(%s, %d): %s", symbol, version, found ? "version not sufficient" : "not found");
        return CUDA_ERROR_NOT_FOUND;
    }
    *pfn = e->fn;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
                                     CUdriverProcAddressQueryResult *symbolStatus)
{
    return proc_address(symbol, pfn, cudaVersion, flags, symbolStatus);
}

#undef cuGetProcAddress
EMU_API CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags)
{
    return proc_address(symbol, pfn, cudaVersion, flags, NULL);
}

/* ---- export tables ------------------------------------------------------------------------ */
/* The runtime's private tables are served by the export-table component (export_tables.h, bound to
 * this driver in export_emu.c). */
CUresult emu_export_get_table(const void **table, const CUuuid *id);

EMU_API CUresult cuGetExportTable(const void **ppExportTable, const CUuuid *pExportTableId)
{
    return emu_export_get_table(ppExportTable, pExportTableId);
}
