/* emu.h: internal interface shared by the software GPU's driver-API files.
 * Ownership: device.c (devices, config from the environment), context.c (contexts, current
 * context, sticky errors), stream.c (stream engine, events), memory.c (device memory manager,
 * allocations, host memory), memcpy.c (copies, memsets), module.c (modules, libraries, link,
 * functions), launch.c (launches, occupancy), procaddr.c (cuGetProcAddress, export tables),
 * vmm.c (virtual memory management: cuMemCreate, cuMemMap & co), busy.c (device busy time),
 * errors.c (error names, logging), ptx_*.c (the interpreter, see ptx.h), fatbin.c (images). */
#ifndef BF_EMU_H
#define BF_EMU_H
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <cuda.h>

#define EMU_API __attribute__((visibility("default")))

/* ---- logging (errors.c) ---------------------------------------------------------------- */
/* One line to stderr prefixed "bitfusion-emu: ", when BITFUSION_EMU_LOG allows (default: warnings). */
void emu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For generated stubs: logs "NAME is not implemented by the software GPU" once per name. */
void emu_log_unimplemented(const char *name);

/* ---- devices (device.c) -------------------------------------------------------------------- */
typedef struct emu_device {
    int ordinal;             /* the ordinal the program sees (after CUDA_VISIBLE_DEVICES) */
    int phys;                /* the device's own index: its identity (UUID, PCI bus id) */
    char name[256];
    size_t total_mem;        /* bytes */
    size_t ctx_reserve;      /* bytes each context takes (BITFUSION_EMU_CTX_RESERVE_MB) */
    int sm_count;
    int cc_major, cc_minor;
    unsigned char uuid[16];
    uint64_t va_base;        /* this device's device-address range [va_base, va_base+va_size) */
    uint64_t va_size;
} emu_device;

/* Reads the environment once: BITFUSION_EMU_DEVICES, BITFUSION_EMU_MEMORY_MB, BITFUSION_EMU_SMS,
 * BITFUSION_EMU_NAME, BITFUSION_EMU_CC ("8.0"), BITFUSION_EMU_CTX_RESERVE_MB, CUDA_VISIBLE_DEVICES.
 * Returns the number of devices the program sees. */
int emu_device_count(void);
emu_device *emu_device_get(int ordinal);   /* NULL when out of range */
int emu_initialized(void);                 /* cuInit has succeeded */

/* ---- contexts (context.c) -------------------------------------------------------------- */
typedef struct emu_stream emu_stream;

typedef struct emu_ctx {
    uint32_t magic;          /* EMU_CTX_MAGIC while alive */
    emu_device *dev;
    unsigned flags;
    int is_primary;
    int refcount;            /* primary: retain count */
    pthread_mutex_t lock;
    CUresult sticky;         /* first fatal kernel error; every later call returns it */
    char sticky_msg[256];
    emu_stream *null_stream; /* the legacy default stream */
    size_t limits[16];       /* CUlimit values */
} emu_ctx;
#define EMU_CTX_MAGIC 0x43747843u

/* The calling thread's current context, or NULL. */
emu_ctx *emu_ctx_current(void);
/* Common prologue of every API call that needs a context: CUDA_ERROR_NOT_INITIALIZED before
 * cuInit, CUDA_ERROR_INVALID_CONTEXT without a current context, the sticky error if any. */
CUresult emu_ctx_enter(emu_ctx **out);
/* Validates a CUcontext handle. */
emu_ctx *emu_ctx_from_handle(CUcontext c);
/* Records a fatal (sticky) error on ctx; the first one wins. */
void emu_ctx_set_sticky(emu_ctx *ctx, CUresult code, const char *msg);

/* ---- streams and events (stream.c) ------------------------------------------------------- */
/* An operation run in stream order on the stream's worker thread. Its result, if not
 * CUDA_SUCCESS, is reported at the next synchronisation (and becomes sticky when the code is one
 * CUDA treats as sticky: illegal address, launch failure, assert, ...). */
typedef CUresult (*emu_op_fn)(emu_ctx *ctx, void *arg);

/* Resolves a CUstream handle (NULL, CU_STREAM_LEGACY, CU_STREAM_PER_THREAD or a created stream)
 * in the current context. */
CUresult emu_stream_resolve(emu_ctx *ctx, CUstream h, emu_stream **out);
/* Queues fn(ctx,arg) on the stream; release(arg) runs after it (or if it is never run). */
CUresult emu_stream_enqueue(emu_stream *s, emu_op_fn fn, void *arg, void (*release)(void *));
/* Queues fn and waits for it: the behaviour of CUDA's synchronous calls (which are ordered on the
 * legacy default stream). Returns fn's result. */
CUresult emu_stream_run_sync(emu_stream *s, emu_op_fn fn, void *arg);
/* Waits for everything queued on s / on every stream of ctx. */
CUresult emu_stream_wait_idle(emu_stream *s);
CUresult emu_ctx_wait_idle(emu_ctx *ctx);

/* ---- device memory (memory.c) ------------------------------------------------------------ */
/* Every device-accessible range (device allocations, module globals, pool allocations, mapped
 * host memory) is registered in one table that the interpreter consults on each access. */
enum emu_mem_kind { EMU_MEM_DEVICE = 1, EMU_MEM_HOST = 2, EMU_MEM_REGISTERED = 3, EMU_MEM_MANAGED = 4 };
CUresult emu_mem_alloc(emu_ctx *ctx, size_t size, size_t align, uint64_t *out);   /* device memory */
CUresult emu_mem_free(uint64_t ptr);
/* Is [addr, addr+len) inside one live device-accessible range? Sets the range bounds. */
int emu_mem_lookup(uint64_t addr, uint64_t len, uint64_t *lo, uint64_t *hi);
/* Kind and owning context of the allocation containing addr (0 when none). */
int emu_mem_kind_of(uint64_t addr, emu_ctx **ctx, uint64_t *base, size_t *size);
/* Checks that a host-side copy may touch [addr, addr+len) as device memory:
 * CUDA_ERROR_INVALID_VALUE when it is not inside one live range. */
CUresult emu_mem_check(uint64_t addr, size_t len);
size_t emu_mem_used(int device_ordinal);
/* Charges / returns bytes of a device's memory that no address range holds (a context's
 * reservation, VMM physical memory): CUDA_ERROR_OUT_OF_MEMORY when they do not fit. */
CUresult emu_mem_charge(int device_ordinal, size_t bytes);
void emu_mem_uncharge(int device_ordinal, size_t bytes);

/* ---- modules and launches (module.c, launch.c) --------------------------------------------- */
struct ptx_module; struct ptx_func;
typedef struct emu_module {
    uint32_t magic;
    emu_ctx *ctx;
    struct ptx_module *ptx;
    uint64_t *global_addrs;  /* device address of each module global */
    int nglobals;
} emu_module;
#define EMU_MODULE_MAGIC 0x4d6f6455u

typedef struct emu_function {
    uint32_t magic;
    emu_module *mod;
    struct ptx_func *pf;
    int max_dyn_smem;        /* CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES */
    int carveout;
} emu_function;
#define EMU_FUNC_MAGIC 0x46756e63u

/* Turns an image (PTX text, fatbin, fatbin wrapper, cubin) into a parsed PTX module; see fatbin.h. */
CUresult emu_module_from_image(emu_ctx *ctx, const void *image, emu_module **out);

/* ---- additions: driver core (errors.c, context.c, stream.c, module.c, launch.c) ------------ */
/* sm_80-class (A100) resource limits: device attributes, launch validation, occupancy. */
#define EMU_MAX_THREADS_PER_BLOCK   1024
#define EMU_MAX_THREADS_PER_SM      2048
#define EMU_MAX_BLOCKS_PER_SM       32
#define EMU_SMEM_PER_BLOCK          49152    /* without opt-in */
#define EMU_SMEM_PER_BLOCK_OPTIN    166912   /* 163 KiB */
#define EMU_SMEM_PER_SM             167936   /* 164 KiB */
#define EMU_SMEM_RESERVED_PER_BLOCK 1024
#define EMU_REGS_PER_SM             65536
#define EMU_REGS_PER_BLOCK          65536
#define EMU_MAX_DEVICES             16

/* errors.c: a line only when BITFUSION_EMU_LOG=debug. */
void emu_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Codes after which a context is unusable (illegal address, launch failure, assert, ...). */
int emu_error_is_sticky(CUresult code);

/* context.c: registry of live handles, so a stale or garbage handle is refused (never
 * dereferenced) with CUDA_ERROR_INVALID_HANDLE / INVALID_CONTEXT. */
enum emu_handle_kind {
    EMU_H_CTX = 1, EMU_H_STREAM, EMU_H_EVENT, EMU_H_MODULE, EMU_H_FUNCTION, EMU_H_LIBRARY,
    EMU_H_KERNEL, EMU_H_LINK, EMU_H_POOL, EMU_H_OTHER
};
void emu_handle_add(const void *h, int kind);
void emu_handle_remove(const void *h);
int emu_handle_is(const void *h, int kind);   /* h is live and of that kind */

/* memory.c: frees every allocation owned by ctx (called by cuCtxDestroy and primary-context
 * release/reset once the context's streams are idle and its modules are unloaded). */
void emu_mem_release_ctx(emu_ctx *ctx);

/* stream.c: per-context stream state. emu_stream_ctx_init creates ctx->null_stream;
 * emu_stream_release_ctx destroys every stream and event of ctx (after emu_ctx_wait_idle). */
CUresult emu_stream_ctx_init(emu_ctx *ctx);
void emu_stream_release_ctx(emu_ctx *ctx);
/* Is the calling thread a stream worker of ctx (running a host function or callback)? */
int emu_stream_on_worker_of(emu_ctx *ctx);
emu_ctx *emu_stream_get_ctx(emu_stream *s);
/* The _ptds/_ptsz entry points: the NULL stream means the per-thread default stream there. */
static inline CUstream emu_stream_ptsz(CUstream h) { return h ? h : CU_STREAM_PER_THREAD; }

/* context.c: waits until every live context has no queued work (skipping those whose stream
 * worker is the calling thread): before memory that any device may be using goes away. */
void emu_ctx_wait_all_idle(void);

/* busy.c: per-device kernel execution time (bfEmuDeviceBusyNs). Brackets one grid's run. */
void emu_busy_begin(int device_ordinal);
void emu_busy_end(int device_ordinal);
/* Exported (C linkage, default visibility) for the server's NVML utilisation: cumulative ns during
 * which at least one kernel ran on the device (visible ordinal) in this process. */
EMU_API unsigned long long bfEmuDeviceBusyNs(int ordinal);

/* module.c: unloads every module (and library instance) of ctx; resolves a CUfunction or a
 * CUkernel (CUDA 12 allows either in launches) to the function of the given context. */
void emu_module_release_ctx(emu_ctx *ctx);
CUresult emu_function_resolve(emu_ctx *ctx, CUfunction h, emu_function **out);
/* launch.c: largest block a function can be launched with (.maxntid/.reqntid, else 1024), and
 * the registers per thread reported for it (the interpreter's estimate, capped so that block fits). */
struct ptx_func_info;
int emu_func_max_threads(const struct ptx_func_info *info);
int emu_func_regs(const struct ptx_func_info *info);
#endif
