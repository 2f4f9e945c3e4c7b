/* export_tables.h: the CUDA runtime's private driver interface ("export tables", reached through
 * cuGetExportTable), shared by every libcuda.so.1 bitfusion builds: the software GPU (emu/) and
 * the client library (shim/).
 *
 * The component owns the table layouts, their UUIDs and their logic (module registration from
 * fatbins, context-local storage with its destructor callbacks, the tools/TLS hooks, the
 * integrity-check hash, the context checks) and calls the underlying driver only through the ops
 * struct below, so each library plugs in its own driver entry points (the emu its local
 * functions, the shim its remoted ones). The files: export_tables.c (UUID registry, lookup, the
 * small tables), export_cudart.c (the cudart interface: modules, primary contexts),
 * export_cls.c (context-local storage), export_integrity.c (the integrity check). Plain C over
 * cuda.h; nothing here includes emu.h.
 *
 * Use: fill a bf_export_ops once (every pointer set; the log functions may be NULL), call
 * bf_export_init(&ops) before the first lookup (idempotent for the same ops), answer
 * cuGetExportTable with bf_export_get_table, and call bf_export_ctx_destroyed(ctx) when a
 * context is destroyed or a primary context is reset/released to zero, while the context is
 * still usable (that runs the runtime's destructor callbacks). */
#ifndef BF_EXPORT_TABLES_H
#define BF_EXPORT_TABLES_H
#include <cuda.h>

typedef struct bf_export_ops {
    /* device queries (the integrity hash covers every device) */
    CUresult (*driver_get_version)(int *version);
    CUresult (*device_get_count)(int *count);
    CUresult (*device_get_uuid)(CUuuid *uuid, CUdevice dev);
    CUresult (*device_get_attribute)(int *value, CUdevice_attribute attr, CUdevice dev);
    /* contexts */
    CUresult (*ctx_get_current)(CUcontext *ctx);
    CUresult (*primary_ctx_retain)(CUcontext *ctx, CUdevice dev);
    CUresult (*primary_ctx_release)(CUdevice dev);
    CUresult (*ctx_create)(CUcontext *ctx, unsigned flags, CUdevice dev);
    /* modules: the image is a fatbin wrapper, a fatbin or anything cuModuleLoadData takes */
    CUresult (*module_load_data)(CUmodule *mod, const void *image);
    /* logging: warn once-per-event lines and debug traces; printf-like, may be NULL */
    void (*log)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
    void (*debug)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
} bf_export_ops;

/* Installs the driver ops; later calls with other ops replace them (tests). */
void bf_export_init(const bf_export_ops *ops);

/* cuGetExportTable: CUDA_SUCCESS and the table, CUDA_ERROR_INVALID_VALUE for NULL arguments,
 * CUDA_ERROR_NOT_SUPPORTED (and one log line naming the UUID) for a table not served. */
CUresult bf_export_get_table(const void **table, const CUuuid *id);

/* A context is going away: runs and drops its context-local storage destructors. */
void bf_export_ctx_destroyed(CUcontext ctx);

/* For a driver that learns of a context's end only afterwards (the client library: a primary
 * context released to zero or reset on the server): runs bf_export_ctx_destroyed for every context
 * holding context-local storage for which gone(ctx) is nonzero. gone may call the driver. */
void bf_export_ctx_sweep(int (*gone)(CUcontext ctx));

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into out (at least 37 bytes). */
void bf_export_format_uuid(const CUuuid *id, char *out, unsigned long n);

/* ---- internal to the export_*.c files ------------------------------------------------------ */
extern const bf_export_ops *bf_export_driver;   /* set by bf_export_init */
#define BF_EXPORT_SIZE_OF(n) ((void *)(unsigned long)(sizeof(void *) * (n)))

/* The tables, each an array of pointers (most start with their own size in bytes). */
extern void *bf_export_cudart_interface[];      /* export_cudart.c */
extern const int bf_export_cudart_interface_len;
extern void *bf_export_cls_table[];              /* export_cls.c */
extern const int bf_export_cls_table_len;
extern void *bf_export_integrity_table[];        /* export_integrity.c */
extern const int bf_export_integrity_table_len;

/* The integrity hash itself (export_integrity.c), exposed for tests: version and unix_seconds as
 * the runtime passes them, the other inputs as the table function gathers them. */
typedef struct bf_export_device_hash {
    unsigned char uuid[16];
    int pci_domain, pci_bus, pci_device;
} bf_export_device_hash;
void bf_export_integrity_hash(unsigned version, unsigned long long unix_seconds,
                              unsigned driver_version, unsigned pid, unsigned tid,
                              const void *integrity_table, const void *cudart_table,
                              const void *fn_address, const bf_export_device_hash *devs,
                              int ndevs, unsigned long long out[2]);

/* RFC 1319 MD2 of data (export_integrity.c), exposed for tests. */
void bf_export_md2(const void *data, unsigned long len, unsigned char out[16]);

#define BF_EXPORT_LOG(...) do { if (bf_export_driver && bf_export_driver->log) bf_export_driver->log(__VA_ARGS__); } while (0)
#define BF_EXPORT_DEBUG(...) do { if (bf_export_driver && bf_export_driver->debug) bf_export_driver->debug(__VA_ARGS__); } while (0)
#endif
