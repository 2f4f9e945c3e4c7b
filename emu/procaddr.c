/* procaddr.c: driver entry points by name. cuGetProcAddress (and _v2) answer from
 * emu_proc_table, which scripts/gen_stubs.py derives at build time from cuda.h and
 * cudaTypedefs.h (name, first driver version, per-thread flavour, symbol); cuGetExportTable
 * refuses every table (a later issue serves cudart's private tables). */
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
#define MAX_LOGGED_TABLES 64
static unsigned char g_logged[MAX_LOGGED_TABLES][16];
static int g_nlogged;
static pthread_mutex_t g_logged_lock = PTHREAD_MUTEX_INITIALIZER;

static int first_request(const CUuuid *id)
{
    int first = 1;
    pthread_mutex_lock(&g_logged_lock);
    for (int i = 0; i < g_nlogged && first; i++)
        first = memcmp(g_logged[i], id->bytes, 16) != 0;
    if (first && g_nlogged < MAX_LOGGED_TABLES)
        memcpy(g_logged[g_nlogged++], id->bytes, 16);
    pthread_mutex_unlock(&g_logged_lock);
    return first;
}

static void format_uuid(const CUuuid *id, char *out, size_t n)
{
    const unsigned char *b = (const unsigned char *)id->bytes;
    snprintf(out, n, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

EMU_API CUresult cuGetExportTable(const void **ppExportTable, const CUuuid *pExportTableId)
{
    if (!ppExportTable || !pExportTableId)
        return CUDA_ERROR_INVALID_VALUE;
    *ppExportTable = NULL;
    if (first_request(pExportTableId)) {
        char text[40];
        format_uuid(pExportTableId, text, sizeof text);
        emu_log("cuGetExportTable: export table %s is not provided by the software GPU", text);
    }
    return CUDA_ERROR_NOT_SUPPORTED;
}
