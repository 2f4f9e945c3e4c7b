/* mem_internal.h: private interface shared by the memory files only: memory.c (device address
 * ranges, the table of device-accessible ranges, cuMemAlloc & co, pointer attributes), hostmem.c
 * (page-locked and registered host memory), mempool.c (stream-ordered allocation, memory pools),
 * vmm.c (virtual memory management: reservations, physical allocations, mappings),
 * memcpy.c (1D copies, memsets) and memcpy3d.c (2D/3D/peer/batch copies). Other emu files use the
 * emu_mem_* functions declared in emu.h. */
#ifndef BF_EMU_MEM_INTERNAL_H
#define BF_EMU_MEM_INTERNAL_H
#include "emu.h"

struct emu_pool;

/* Smallest alignment and size granule of a device allocation (CUDA guarantees >= 256). */
#define MEM_GRANULE 256u

/* How a range came to be registered: decides how it is freed and what pointer attributes say. */
enum mem_origin {
    MEM_ORIGIN_DEVICE = 1,    /* cuMemAlloc, cuMemAllocPitch, emu_mem_alloc (module globals) */
    MEM_ORIGIN_MANAGED,       /* cuMemAllocManaged */
    MEM_ORIGIN_POOL,          /* cuMemAllocAsync, cuMemAllocFromPoolAsync */
    MEM_ORIGIN_HOST_ALLOC,    /* cuMemAllocHost, cuMemHostAlloc */
    MEM_ORIGIN_HOST_REGISTER, /* cuMemHostRegister */
    MEM_ORIGIN_VMM            /* an accessible cuMemMap mapping (vmm.c owns the memory) */
};

/* One registered range. The table owns records; readers get copies (mem_table_find). */
typedef struct mem_rec {
    uint64_t base;            /* the range the device and copies may touch: [base, base+size) */
    size_t size;
    int kind;                 /* enum emu_mem_kind */
    int origin;               /* enum mem_origin */
    emu_ctx *ctx;             /* owning context; NULL for pool allocations (as in CUDA) */
    int device;               /* ordinal the memory belongs to */
    unsigned flags;           /* host alloc/register flags, managed attach flags */
    unsigned long long buffer_id;
    struct emu_pool *pool;    /* MEM_ORIGIN_POOL: the pool the block returns to */
    uint64_t block;           /* backing storage: carved device block or host mapping */
    size_t block_size;        /* bytes charged to the device (device side) / mapped (host) */
    int sync_memops;          /* CU_POINTER_ATTRIBUTE_SYNC_MEMOPS */
    int free_pending;         /* a cuMemFreeAsync is queued for it */
} mem_rec;

/* ---- the range table (memory.c) ---- */
mem_rec *mem_rec_new(void);                       /* zeroed, with a fresh buffer id */
/* Inserts r (the table takes ownership). Returns 0, or -1 when it overlaps a live range. */
int mem_table_insert(mem_rec *r);
/* Copies the record of the range containing addr into *out (may be NULL). 1 found, 0 not. */
int mem_table_find(uint64_t addr, mem_rec *out);
/* Removes and returns the record whose base is exactly base and whose origin bit is in
 * origin_mask (1u << origin); NULL when none. allow_pending: also take one marked free_pending.
 * buffer_id: when non-zero, only the record with that id (not a later one at the same base). */
mem_rec *mem_table_claim(uint64_t base, unsigned origin_mask, int allow_pending,
                         unsigned long long buffer_id);
/* Sets/clears free_pending on the record at exactly base with an origin in origin_mask. Setting
 * fails (returns 0) when it is already pending. Copies the record into *out when non-NULL. */
int mem_table_mark_pending(uint64_t base, unsigned origin_mask, int pending, mem_rec *out);
int mem_table_set_sync_memops(uint64_t addr, int value);
/* Does [addr, addr+len) touch some device's reserved address range (or the VMM range)? */
int mem_in_device_va(uint64_t addr, uint64_t len);
/* vmm.c: does [addr, addr+len) touch the range cuMemAddressReserve hands out from? */
int mem_vmm_in_va(uint64_t addr, uint64_t len);
#define MEM_ORIGIN_BIT(o) (1u << (o))
#define MEM_ORIGINS_DEVICE_SIDE \
    (MEM_ORIGIN_BIT(MEM_ORIGIN_DEVICE) | MEM_ORIGIN_BIT(MEM_ORIGIN_MANAGED) | MEM_ORIGIN_BIT(MEM_ORIGIN_POOL))

/* ---- device address space (memory.c) ---- */
/* Carves size bytes (rounded to MEM_GRANULE) aligned to align from the device's range, commits
 * them and charges them to the device. *charged is the rounded size. CUDA_ERROR_OUT_OF_MEMORY
 * when the device's memory is used up. Does not trim pools. */
CUresult mem_dev_carve(int ordinal, size_t size, size_t align, uint64_t *addr, size_t *charged);
/* Returns a carved block: decommits whole pages (they read as zero when reused). */
void mem_dev_release(int ordinal, uint64_t addr, size_t charged);
/* Frees what a claimed record holds (block, pool block, host mapping) and the record itself. */
void mem_rec_destroy(mem_rec *r);
/* Claims and destroys the record at base (any origin in origin_mask). sync: first wait until its
 * owning context and the caller's context (wait_ctx) have no queued work. */
CUresult mem_free_range(uint64_t base, unsigned origin_mask, int sync, emu_ctx *wait_ctx);

/* ---- pools (mempool.c) ---- */
/* Returns a claimed pool record's block to its pool (and frees the record). */
void mem_pool_return(mem_rec *r);
/* Releases every cached block of every pool of the device; returns bytes released. */
size_t mem_pools_trim_device(int ordinal);

/* ---- copies (memcpy.c) ---- */
/* A strided copy: depth layers of height rows of width bytes. */
typedef struct mem_copy_shape {
    size_t width, height, depth;
    size_t src_pitch, src_slice;   /* bytes between rows / between layers */
    size_t dst_pitch, dst_slice;
} mem_copy_shape;

/* One operand as given by the caller. */
typedef struct mem_operand {
    int type;                 /* CU_MEMORYTYPE_HOST / DEVICE / UNIFIED (ARRAY is refused) */
    uint64_t addr;            /* start of the first row */
    emu_ctx *peer_ctx;        /* peer copies: the operand's context (may be NULL) */
} mem_operand;

/* When an async copy reads its source: in stream order, at call time when it is pageable host
 * memory (CUDA's staging), or always at call time (CU_MEMCPY_SRC_ACCESS_ORDER_DURING_API_CALL). */
enum mem_src_order { MEM_SRC_STREAM = 0, MEM_SRC_SNAPSHOT_PAGEABLE = 1, MEM_SRC_SNAPSHOT_ALWAYS = 2 };

/* Validates both operands of a shaped copy (CUDA_ERROR_INVALID_VALUE for a range that is not
 * inside one live allocation) and runs it synchronously (sync=1) or queues it on stream h. */
CUresult mem_copy_submit(emu_ctx *ctx, CUstream h, int sync, const mem_operand *dst,
                         const mem_operand *src, const mem_copy_shape *shape);
/* A batch of shaped copies run as one stream operation; srcorder[i] says whether a pageable
 * source may be read at enqueue time. */
CUresult mem_copy_submit_batch(emu_ctx *ctx, CUstream h, size_t n, const mem_operand *dsts,
                               const mem_operand *srcs, const mem_copy_shape *shapes,
                               const int *srcorder, size_t *fail_idx);
/* Extent of a shape in bytes (from the first byte to one past the last); 0 when empty; sets
 * *overflow when it does not fit in 64 bits. */
uint64_t mem_shape_extent(size_t width, size_t height, size_t depth, size_t pitch, size_t slice,
                          int *overflow);
#endif
