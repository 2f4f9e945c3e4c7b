/* mempool.c: stream-ordered allocation and memory pools: cuMemAllocAsync, cuMemAllocFromPoolAsync,
 * cuMemFreeAsync (+ _ptsz), cuMemPoolCreate/Destroy/SetAttribute/GetAttribute/TrimTo,
 * cuMemPoolSetAccess/GetAccess, cuDeviceGetDefaultMemPool, cuDeviceGetMemPool/SetMemPool,
 * cuMemGetDefaultMemPool, cuMemGetMemPool/SetMemPool.
 * A pool hands out blocks carved from its device (memory.c) and caches freed blocks up to its
 * release threshold; cached blocks stay charged to the device, as in CUDA. Allocation happens at
 * call time (the pointer is valid from then on, a superset of stream order); cuMemFreeAsync is a
 * stream operation, so the block returns to the pool only once the stream reaches the free. */
#include <stdlib.h>
#include <string.h>
#include "mem_internal.h"

#define EMU_POOL_MAGIC 0x506f6f6cu
#define POOL_MAX_DEVICES EMU_MAX_DEVICES

typedef struct pool_block { uint64_t addr; size_t size; } pool_block;

typedef struct emu_pool {
    uint32_t magic;                 /* EMU_POOL_MAGIC while the handle is valid */
    int device;
    int is_default;
    int destroyed;                  /* handle destroyed; freed once its last block returns */
    pthread_mutex_t lock;
    pool_block *cached;             /* freed blocks kept for reuse */
    size_t ncached, capcached;
    uint64_t reserved, reserved_high;   /* bytes carved from the device (in use + cached) */
    uint64_t used, used_high;           /* bytes handed out */
    uint64_t release_threshold;
    int reuse_follow_events, reuse_opportunistic, reuse_internal_deps;
    size_t max_size;                /* 0: unlimited */
    CUmemAccess_flags access[POOL_MAX_DEVICES];   /* cuMemPoolSetAccess, per accessing device */
    struct emu_pool *next;          /* registry of live handles */
} emu_pool;

static pthread_mutex_t g_pools_lock = PTHREAD_MUTEX_INITIALIZER;
static emu_pool *g_pools;                          /* live handles */
static emu_pool *g_default_pool[POOL_MAX_DEVICES];
static emu_pool *g_current_pool[POOL_MAX_DEVICES];

static emu_pool *pool_new(int device, int is_default, size_t max_size)
{
    emu_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->magic = EMU_POOL_MAGIC;
    p->device = device;
    p->is_default = is_default;
    p->max_size = max_size;
    p->reuse_follow_events = p->reuse_opportunistic = p->reuse_internal_deps = 1;
    p->access[device] = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;   /* the owning device, always */
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

/* The device's default pool, created on first use. Caller holds g_pools_lock. */
static emu_pool *default_pool_locked(int device)
{
    if (device < 0 || device >= POOL_MAX_DEVICES || !emu_device_get(device))
        return NULL;
    if (!g_default_pool[device]) {
        emu_pool *p = pool_new(device, 1, 0);
        if (!p)
            return NULL;
        p->next = g_pools;
        g_pools = p;
        emu_handle_add(p, EMU_H_POOL);
        g_default_pool[device] = p;
        if (!g_current_pool[device])
            g_current_pool[device] = p;
    }
    return g_default_pool[device];
}

static emu_pool *current_pool(int device)
{
    pthread_mutex_lock(&g_pools_lock);
    emu_pool *p = default_pool_locked(device) ? g_current_pool[device] : NULL;
    pthread_mutex_unlock(&g_pools_lock);
    return p;
}

/* Validates a handle: it must be a live pool. */
static emu_pool *pool_from_handle(CUmemoryPool h)
{
    emu_pool *found = NULL;
    pthread_mutex_lock(&g_pools_lock);
    for (emu_pool *p = g_pools; p; p = p->next)
        if (p == (emu_pool *)h) {
            found = p;
            break;
        }
    pthread_mutex_unlock(&g_pools_lock);
    return found;
}

/* Releases cached blocks until at most keep bytes stay reserved. Caller holds p->lock. */
static size_t pool_trim_locked(emu_pool *p, uint64_t keep)
{
    size_t released = 0;
    while (p->reserved > keep && p->ncached > 0) {
        pool_block b = p->cached[--p->ncached];
        mem_dev_release(p->device, b.addr, b.size);
        p->reserved -= b.size;
        released += b.size;
    }
    return released;
}

size_t mem_pools_trim_device(int ordinal)
{
    size_t released = 0;
    pthread_mutex_lock(&g_pools_lock);
    for (emu_pool *p = g_pools; p; p = p->next) {
        if (p->device != ordinal)
            continue;
        pthread_mutex_lock(&p->lock);
        released += pool_trim_locked(p, 0);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_unlock(&g_pools_lock);
    return released;
}

/* Best cached block for size bytes: the smallest one at least size and at most twice it. */
static ptrdiff_t pool_find_cached(const emu_pool *p, size_t size)
{
    ptrdiff_t best = -1;
    for (size_t i = 0; i < p->ncached; i++) {
        size_t s = p->cached[i].size;
        if (s >= size && s / 2 <= size && (best < 0 || s < p->cached[best].size))
            best = (ptrdiff_t)i;
    }
    return best;
}

/* Takes a block of at least size bytes from the cache or the device. Caller holds p->lock. */
static CUresult pool_take_block(emu_pool *p, size_t size, pool_block *out)
{
    ptrdiff_t i = pool_find_cached(p, size);
    if (i >= 0) {
        *out = p->cached[i];
        p->cached[i] = p->cached[--p->ncached];
        return CUDA_SUCCESS;
    }
    if (p->max_size && (size > p->max_size || p->reserved > p->max_size - size)) {
        pool_trim_locked(p, 0);
        if (size > p->max_size || p->reserved > p->max_size - size)
            return CUDA_ERROR_OUT_OF_MEMORY;
    }
    CUresult rc = mem_dev_carve(p->device, size, 0, &out->addr, &out->size);
    if (rc == CUDA_ERROR_OUT_OF_MEMORY && pool_trim_locked(p, 0) > 0)
        rc = mem_dev_carve(p->device, size, 0, &out->addr, &out->size);
    if (rc != CUDA_SUCCESS)
        return rc;
    p->reserved += out->size;
    if (p->reserved > p->reserved_high)
        p->reserved_high = p->reserved;
    return CUDA_SUCCESS;
}

static void pool_put_block(emu_pool *p, pool_block b)
{
    if (p->ncached == p->capcached) {
        size_t cap = p->capcached ? p->capcached * 2 : 16;
        pool_block *n = realloc(p->cached, cap * sizeof(pool_block));
        if (!n) {
            mem_dev_release(p->device, b.addr, b.size);
            p->reserved -= b.size;
            return;
        }
        p->cached = n;
        p->capcached = cap;
    }
    p->cached[p->ncached++] = b;
}

static void pool_free_struct(emu_pool *p)
{
    pthread_mutex_destroy(&p->lock);
    free(p->cached);
    free(p);
}

/* Takes a block and registers r for it, all under the pool's lock (so the pool never sees a
 * block that is neither cached nor accounted as used). */
static CUresult pool_alloc_once(emu_pool *p, size_t size, mem_rec *r, uint64_t *out)
{
    pool_block b;
    pthread_mutex_lock(&p->lock);
    CUresult rc = pool_take_block(p, size, &b);
    if (rc == CUDA_SUCCESS) {
        r->base = b.addr;
        r->size = size;
        r->kind = EMU_MEM_DEVICE;
        r->origin = MEM_ORIGIN_POOL;
        r->device = p->device;
        r->pool = p;
        r->block = b.addr;
        r->block_size = b.size;
        if (mem_table_insert(r) != 0) {
            pool_put_block(p, b);
            rc = CUDA_ERROR_UNKNOWN;
        } else {
            p->used += b.size;
            if (p->used > p->used_high)
                p->used_high = p->used;
            *out = b.addr;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static CUresult pool_alloc(emu_pool *p, size_t size, uint64_t *out)
{
    mem_rec *r = mem_rec_new();
    if (!r)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult rc = pool_alloc_once(p, size, r, out);
    if (rc == CUDA_ERROR_OUT_OF_MEMORY && mem_pools_trim_device(p->device) > 0)
        rc = pool_alloc_once(p, size, r, out);   /* other pools gave cached memory back */
    if (rc != CUDA_SUCCESS)
        free(r);
    return rc;
}

void mem_pool_return(mem_rec *r)
{
    emu_pool *p = r->pool;
    int release_struct = 0;
    pthread_mutex_lock(&p->lock);
    p->used -= r->block_size;
    pool_put_block(p, (pool_block){ r->block, r->block_size });
    pool_trim_locked(p, p->destroyed ? 0 : p->release_threshold);
    release_struct = p->destroyed && p->used == 0;
    pthread_mutex_unlock(&p->lock);
    free(r);
    if (release_struct)
        pool_free_struct(p);
}

/* ===================================================================================== */
/* Stream-ordered allocation                                                              */
/* ===================================================================================== */

static CUresult alloc_async(CUdeviceptr *dptr, size_t bytesize, CUmemoryPool hpool, int use_pool,
                            CUstream hStream)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_stream *s;
    rc = emu_stream_resolve(ctx, hStream, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dptr || bytesize == 0)
        return CUDA_ERROR_INVALID_VALUE;
    emu_ctx *owner = emu_stream_get_ctx(s);
    int device = (owner ? owner : ctx)->dev->ordinal;
    emu_pool *p = use_pool ? pool_from_handle(hpool) : current_pool(device);
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t addr;
    rc = pool_alloc(p, bytesize, &addr);
    if (rc == CUDA_SUCCESS)
        *dptr = (CUdeviceptr)addr;
    return rc;
}

EMU_API CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize, CUstream hStream)
{
    return alloc_async(dptr, bytesize, NULL, 0, hStream);
}

EMU_API CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUstream hStream)
{
    return alloc_async(dptr, bytesize, NULL, 0, emu_stream_ptsz(hStream));
}

EMU_API CUresult cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytesize, CUmemoryPool pool,
                                         CUstream hStream)
{
    return alloc_async(dptr, bytesize, pool, 1, hStream);
}

EMU_API CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUmemoryPool pool,
                                              CUstream hStream)
{
    return alloc_async(dptr, bytesize, pool, 1, emu_stream_ptsz(hStream));
}

/* A queued free. If the stream never runs it (its context is torn down), release frees anyway. */
typedef struct free_op {
    uint64_t base;
    unsigned long long buffer_id;
    int done;
} free_op;

static void free_op_now(free_op *op)
{
    mem_rec *r = mem_table_claim(op->base, MEM_ORIGINS_DEVICE_SIDE, 1, op->buffer_id);
    op->done = 1;
    if (r)
        mem_rec_destroy(r);
}

static CUresult free_op_run(emu_ctx *ctx, void *arg)
{
    free_op_now(arg);
    return CUDA_SUCCESS;
}

static void free_op_release(void *arg)
{
    free_op *op = arg;
    if (!op->done)
        free_op_now(op);
    free(op);
}

static CUresult free_async(CUdeviceptr dptr, CUstream hStream)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_stream *s;
    rc = emu_stream_resolve(ctx, hStream, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (dptr == 0)
        return CUDA_SUCCESS;
    free_op *op = calloc(1, sizeof *op);
    if (!op)
        return CUDA_ERROR_OUT_OF_MEMORY;
    mem_rec info;
    if (!mem_table_mark_pending((uint64_t)dptr, MEM_ORIGINS_DEVICE_SIDE, 1, &info)) {
        free(op);
        return CUDA_ERROR_INVALID_VALUE;
    }
    op->base = info.base;
    op->buffer_id = info.buffer_id;
    rc = emu_stream_enqueue(s, free_op_run, op, free_op_release);
    if (rc != CUDA_SUCCESS) {
        /* Not queued (and released, which freed it): nothing else to undo. */
        return rc;
    }
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream)
{
    return free_async(dptr, hStream);
}

EMU_API CUresult cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hStream)
{
    return free_async(dptr, emu_stream_ptsz(hStream));
}

/* ===================================================================================== */
/* Pools                                                                                  */
/* ===================================================================================== */

static CUresult check_init(void)
{
    return emu_initialized() ? CUDA_SUCCESS : CUDA_ERROR_NOT_INITIALIZED;
}

EMU_API CUresult cuMemPoolCreate(CUmemoryPool *pool, const CUmemPoolProps *poolProps)
{
    CUresult rc = check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pool || !poolProps || poolProps->allocType != CU_MEM_ALLOCATION_TYPE_PINNED)
        return CUDA_ERROR_INVALID_VALUE;
    if (poolProps->location.type != CU_MEM_LOCATION_TYPE_DEVICE) {
        emu_log("cuMemPoolCreate: only device-located pools are supported (location type %d)",
                (int)poolProps->location.type);
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    if (poolProps->handleTypes != CU_MEM_HANDLE_TYPE_NONE) {
        emu_log("cuMemPoolCreate: shareable pool handles are not supported (handle types %#x)",
                (unsigned)poolProps->handleTypes);
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    int dev = poolProps->location.id;
    if (dev < 0 || dev >= POOL_MAX_DEVICES || !emu_device_get(dev))
        return CUDA_ERROR_INVALID_DEVICE;
    emu_pool *p = pool_new(dev, 0, poolProps->maxSize);
    if (!p)
        return CUDA_ERROR_OUT_OF_MEMORY;
    pthread_mutex_lock(&g_pools_lock);
    p->next = g_pools;
    g_pools = p;
    emu_handle_add(p, EMU_H_POOL);
    pthread_mutex_unlock(&g_pools_lock);
    *pool = (CUmemoryPool)p;
    return CUDA_SUCCESS;
}

/* Destroying a pool with blocks still out defers the release to the last cuMemFreeAsync. */
EMU_API CUresult cuMemPoolDestroy(CUmemoryPool pool)
{
    CUresult rc = check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_pool *p = (emu_pool *)pool;
    pthread_mutex_lock(&g_pools_lock);
    emu_pool **link = &g_pools;
    while (*link && *link != p)
        link = &(*link)->next;
    if (!*link || p->is_default) {
        pthread_mutex_unlock(&g_pools_lock);
        return CUDA_ERROR_INVALID_VALUE;
    }
    *link = p->next;
    emu_handle_remove(p);
    if (g_current_pool[p->device] == p)
        g_current_pool[p->device] = g_default_pool[p->device];
    pthread_mutex_lock(&p->lock);
    p->magic = 0;
    p->destroyed = 1;
    pool_trim_locked(p, 0);
    int release_now = p->used == 0;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&g_pools_lock);
    if (release_now)
        pool_free_struct(p);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemPoolTrimTo(CUmemoryPool pool, size_t minBytesToKeep)
{
    CUresult rc = check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_pool *p = pool_from_handle(pool);
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&p->lock);
    pool_trim_locked(p, minBytesToKeep);
    pthread_mutex_unlock(&p->lock);
    return CUDA_SUCCESS;
}

static CUresult pool_set_attr_locked(emu_pool *p, CUmemPool_attribute attr, const void *value)
{
    int iv;
    cuuint64_t uv;
    switch (attr) {
    case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES:
        memcpy(&iv, value, sizeof iv);
        if (attr == CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES)
            p->reuse_follow_events = iv != 0;
        else if (attr == CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC)
            p->reuse_opportunistic = iv != 0;
        else
            p->reuse_internal_deps = iv != 0;
        return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD:
        memcpy(&uv, value, sizeof uv);
        p->release_threshold = uv;
        pool_trim_locked(p, uv);
        return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH:
    case CU_MEMPOOL_ATTR_USED_MEM_HIGH:
        memcpy(&uv, value, sizeof uv);
        if (uv != 0)
            return CUDA_ERROR_INVALID_VALUE;   /* high watermarks can only be reset */
        if (attr == CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH)
            p->reserved_high = p->reserved;
        else
            p->used_high = p->used;
        return CUDA_SUCCESS;
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
}

static CUresult pool_get_attr_locked(const emu_pool *p, CUmemPool_attribute attr, void *value)
{
    int iv;
    cuuint64_t uv;
    switch (attr) {
    case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
        iv = p->reuse_follow_events;
        break;
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
        iv = p->reuse_opportunistic;
        break;
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES:
        iv = p->reuse_internal_deps;
        break;
    case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD:
        uv = p->release_threshold;
        memcpy(value, &uv, sizeof uv);
        return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT:
    case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH:
    case CU_MEMPOOL_ATTR_USED_MEM_CURRENT:
    case CU_MEMPOOL_ATTR_USED_MEM_HIGH:
        uv = attr == CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT ? p->reserved
           : attr == CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH    ? p->reserved_high
           : attr == CU_MEMPOOL_ATTR_USED_MEM_CURRENT     ? p->used
                                                          : p->used_high;
        memcpy(value, &uv, sizeof uv);
        return CUDA_SUCCESS;
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
    memcpy(value, &iv, sizeof iv);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemPoolSetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value)
{
    CUresult rc = check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_pool *p = pool_from_handle(pool);
    if (!p || !value)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&p->lock);
    rc = pool_set_attr_locked(p, attr, value);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

EMU_API CUresult cuMemPoolGetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value)
{
    CUresult rc = check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_pool *p = pool_from_handle(pool);
    if (!p || !value)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&p->lock);
    rc = pool_get_attr_locked(p, attr, value);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* Every device can reach all memory here, so access settings are only recorded and reported
 * (the owning device's own access cannot be changed, as in CUDA). */
static int access_flags_valid(CUmemAccess_flags f)
{
    return f == CU_MEM_ACCESS_FLAGS_PROT_NONE || f == CU_MEM_ACCESS_FLAGS_PROT_READ ||
           f == CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
}

EMU_API CUresult cuMemPoolSetAccess(CUmemoryPool pool, const CUmemAccessDesc *map, size_t count)
{
    CUresult rc = check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_pool *p = pool_from_handle(pool);
    if (!p || (count && !map))
        return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < count; i++) {
        int dev = map[i].location.id;
        if (map[i].location.type != CU_MEM_LOCATION_TYPE_DEVICE || !access_flags_valid(map[i].flags))
            return CUDA_ERROR_INVALID_VALUE;
        if (dev < 0 || dev >= POOL_MAX_DEVICES || !emu_device_get(dev))
            return CUDA_ERROR_INVALID_DEVICE;
        if (dev == p->device && map[i].flags != CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
            return CUDA_ERROR_INVALID_VALUE;
    }
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < count; i++)
        p->access[map[i].location.id] = map[i].flags;
    pthread_mutex_unlock(&p->lock);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemPoolGetAccess(CUmemAccess_flags *flags, CUmemoryPool memPool, CUmemLocation *location)
{
    CUresult rc = check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_pool *p = pool_from_handle(memPool);
    if (!p || !flags || !location || location->type != CU_MEM_LOCATION_TYPE_DEVICE)
        return CUDA_ERROR_INVALID_VALUE;
    if (location->id < 0 || location->id >= POOL_MAX_DEVICES || !emu_device_get(location->id))
        return CUDA_ERROR_INVALID_DEVICE;
    pthread_mutex_lock(&p->lock);
    *flags = p->access[location->id];
    pthread_mutex_unlock(&p->lock);
    return CUDA_SUCCESS;
}

/* ---- per-device default/current pool ---- */

static CUresult device_check(CUdevice dev)
{
    CUresult rc = check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (dev < 0 || dev >= POOL_MAX_DEVICES || !emu_device_get(dev))
        return CUDA_ERROR_INVALID_DEVICE;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool_out, CUdevice dev)
{
    CUresult rc = device_check(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pool_out)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_pools_lock);
    emu_pool *p = default_pool_locked(dev);
    pthread_mutex_unlock(&g_pools_lock);
    if (!p)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *pool_out = (CUmemoryPool)p;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetMemPool(CUmemoryPool *pool, CUdevice dev)
{
    CUresult rc = device_check(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pool)
        return CUDA_ERROR_INVALID_VALUE;
    emu_pool *p = current_pool(dev);
    if (!p)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *pool = (CUmemoryPool)p;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceSetMemPool(CUdevice dev, CUmemoryPool pool)
{
    CUresult rc = device_check(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_pools_lock);
    default_pool_locked(dev);
    for (emu_pool *p = g_pools; p; p = p->next)
        if (p == (emu_pool *)pool && p->device == dev) {
            g_current_pool[dev] = p;
            rc = CUDA_SUCCESS;
        }
    pthread_mutex_unlock(&g_pools_lock);
    return rc;
}

/* CUDA 13's location-based forms: device-located pinned pools only. */
static CUresult location_device(const CUmemLocation *location, CUmemAllocationType type, CUdevice *dev)
{
    CUresult rc = check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!location)
        return CUDA_ERROR_INVALID_VALUE;
    if (type != CU_MEM_ALLOCATION_TYPE_PINNED || location->type != CU_MEM_LOCATION_TYPE_DEVICE) {
        emu_log("memory pools: only pinned device-located pools are supported");
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    *dev = location->id;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemGetDefaultMemPool(CUmemoryPool *pool_out, CUmemLocation *location,
                                        CUmemAllocationType type)
{
    CUdevice dev;
    CUresult rc = location_device(location, type, &dev);
    return rc != CUDA_SUCCESS ? rc : cuDeviceGetDefaultMemPool(pool_out, dev);
}

EMU_API CUresult cuMemGetMemPool(CUmemoryPool *pool, CUmemLocation *location, CUmemAllocationType type)
{
    CUdevice dev;
    CUresult rc = location_device(location, type, &dev);
    return rc != CUDA_SUCCESS ? rc : cuDeviceGetMemPool(pool, dev);
}

EMU_API CUresult cuMemSetMemPool(CUmemLocation *location, CUmemAllocationType type, CUmemoryPool pool)
{
    CUdevice dev;
    CUresult rc = location_device(location, type, &dev);
    return rc != CUDA_SUCCESS ? rc : cuDeviceSetMemPool(dev, pool);
}
