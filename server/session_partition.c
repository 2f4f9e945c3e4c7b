/* session_partition.c: a CUDA session worker's memory partition (docs/leasing-design.md). Wraps
 * the backend's entry points that take or give back device memory, so that every allocation of
 * every process of a lease is charged against the lease's partition in the shared table
 * (lease_shm.h) and refused with CUDA_ERROR_OUT_OF_MEMORY beyond it; cuMemGetInfo and
 * cuDeviceTotalMem answer the partition. The session resolves backend symbols through
 * bf_partition_sym, which hands out the wrappers. Without a lease (the test server) nothing is
 * wrapped. */
#include "session_partition.h"
#include "lease_shm.h"
#include "session_int.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHARGE_ALIGN 256u

/* The backend's own entry points the wrappers call. */
static struct {
    CUresult (*ctx_get_device)(CUdevice *);
    CUresult (*mem_get_info)(size_t *, size_t *);
    CUresult (*total_mem)(size_t *, CUdevice);
    CUresult (*mem_alloc)(CUdeviceptr *, size_t);
    CUresult (*mem_alloc_pitch)(CUdeviceptr *, size_t *, size_t, size_t, unsigned);
    CUresult (*mem_alloc_managed)(CUdeviceptr *, size_t, unsigned);
    CUresult (*mem_free)(CUdeviceptr);
    CUresult (*alloc_async[3])(CUdeviceptr *, size_t, CUstream);
    CUresult (*alloc_pool_async[3])(CUdeviceptr *, size_t, CUmemoryPool, CUstream);
    CUresult (*free_async[3])(CUdeviceptr, CUstream);
    CUresult (*mem_create)(CUmemGenericAllocationHandle *, size_t, const CUmemAllocationProp *, unsigned long long);
    CUresult (*mem_release)(CUmemGenericAllocationHandle);
    CUresult (*mem_map)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long);
    CUresult (*mem_unmap)(CUdeviceptr, size_t);
    CUresult (*mem_retain)(CUmemGenericAllocationHandle *, void *);
    CUresult (*module_load)(CUmodule *, const char *);
    CUresult (*module_load_data)(CUmodule *, const void *);
    CUresult (*module_load_data_ex)(CUmodule *, const void *, unsigned, CUjit_option *, void **);
    CUresult (*module_load_fatbin)(CUmodule *, const void *);
    CUresult (*module_unload)(CUmodule);
    CUresult (*library_load_data)(CUlibrary *, const void *, CUjit_option *, void **, unsigned,
                                  CUlibraryOption *, void **, unsigned);
    CUresult (*library_load_file)(CUlibrary *, const char *, CUjit_option *, void **, unsigned,
                                  CUlibraryOption *, void **, unsigned);
    CUresult (*library_unload)(CUlibrary);
    CUresult (*array_create)(CUarray *, const CUDA_ARRAY_DESCRIPTOR *);
    CUresult (*array3d_create)(CUarray *, const CUDA_ARRAY3D_DESCRIPTOR *);
    CUresult (*array_destroy)(CUarray);
    CUresult (*mipmap_create)(CUmipmappedArray *, const CUDA_ARRAY3D_DESCRIPTOR *, unsigned);
    CUresult (*mipmap_destroy)(CUmipmappedArray);
    CUresult (*ctx_create_v2)(CUcontext *, unsigned, CUdevice);
    CUresult (*ctx_create_v3)(CUcontext *, CUexecAffinityParam *, int, unsigned, CUdevice);
    CUresult (*ctx_create_v4)(CUcontext *, CUctxCreateParams *, unsigned, CUdevice);
    CUresult (*primary_retain)(CUcontext *, CUdevice);
    CUresult (*set_limit)(CUlimit, size_t);
    CUresult (*get_limit)(size_t *, CUlimit);
    CUresult (*primary_release)(CUdevice);
    CUresult (*primary_reset)(CUdevice);
    CUresult (*primary_state)(CUdevice, unsigned *, int *);
    CUresult (*ctx_destroy)(CUcontext);
    CUresult (*ctx_get_current)(CUcontext *);
} R;

static struct {
    int active;
    bf_shm_lease *lease;
    bf_shm_worker *me;
    int lease_slot;
    uint32_t ndev;
    int ctx_charged[BF_LEASE_MAX_DEV];
    CUcontext primary[BF_LEASE_MAX_DEV];
    pthread_mutex_t lock;            /* the charge map; measured operations */
} P = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- what is charged, by key (pointer, handle) -------------------------------------------------- */
typedef struct charge_rec {
    uint64_t key;
    int kind, dev;
    uint64_t bytes;
    int refs, maps;                  /* VMM: handle references and mappings; given back at 0 and 0 */
    CUcontext ctx;                   /* what it belongs to (destroyed with it); NULL: the process */
    struct charge_rec *next;
} charge_rec;

enum { K_PTR, K_VMM, K_MODULE, K_LIBRARY, K_ARRAY, K_MIPMAP, K_LIMIT };
#define NBUCKET 4096
static charge_rec *bucket[NBUCKET];

static size_t hkey(uint64_t key, int kind) { return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 52 ^ (uint64_t)kind) % NBUCKET; }

static void rec_put(uint64_t key, int kind, int dev, uint64_t bytes)
{
    charge_rec *r = malloc(sizeof *r);
    CUcontext ctx = NULL;
    if (!r)
        return;                       /* charged, never returned: conservative */
    if (kind != K_VMM && R.ctx_get_current)
        R.ctx_get_current(&ctx);
    *r = (charge_rec){key, kind, dev, bytes, 1, 0, ctx, NULL};
    pthread_mutex_lock(&P.lock);
    size_t h = hkey(key, kind);
    r->next = bucket[h];
    bucket[h] = r;
    pthread_mutex_unlock(&P.lock);
}

/* Removes and returns the record (caller frees), NULL when unknown. */
static charge_rec *rec_take(uint64_t key, int kind)
{
    pthread_mutex_lock(&P.lock);
    charge_rec **pp = &bucket[hkey(key, kind)], *r;
    while ((r = *pp) && !(r->key == key && r->kind == kind))
        pp = &r->next;
    if (r)
        *pp = r->next;
    pthread_mutex_unlock(&P.lock);
    return r;
}

static void uncharge(int dev, uint64_t n);

/* Context ctx is gone, and with it everything allocated in it. */
static void give_back_context(CUcontext ctx)
{
    if (!ctx)
        return;
    pthread_mutex_lock(&P.lock);
    for (size_t h = 0; h < NBUCKET; h++)
        for (charge_rec **pp = &bucket[h], *r; (r = *pp);) {
            if (r->ctx == ctx) {
                *pp = r->next;
                uncharge(r->dev, r->bytes);
                free(r);
            } else {
                pp = &r->next;
            }
        }
    pthread_mutex_unlock(&P.lock);
}

/* ---- charging ---------------------------------------------------------------------------------- */
static uint64_t align_up(uint64_t n) { return (n + CHARGE_ALIGN - 1) / CHARGE_ALIGN * CHARGE_ALIGN; }

/* 0: charged; -1: it does not fit in the partition. */
static int charge(int dev, uint64_t n)
{
    if (!P.active || n == 0 || dev < 0 || (uint32_t)dev >= P.ndev)
        return 0;                     /* no device of the lease: the backend refuses the call itself */
    uint64_t *u = &P.lease->used[dev], cur = __atomic_load_n(u, __ATOMIC_ACQUIRE), lim = P.lease->limit[dev];
    do {
        if (n > lim || cur > lim - n)
            return -1;
    } while (!__atomic_compare_exchange_n(u, &cur, cur + n, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    __atomic_add_fetch(&P.me->held[dev], n, __ATOMIC_ACQ_REL);
    return 0;
}

static void uncharge(int dev, uint64_t n)
{
    if (!P.active || n == 0 || dev < 0 || (uint32_t)dev >= P.ndev)
        return;
    __atomic_sub_fetch(&P.lease->used[dev], n, __ATOMIC_ACQ_REL);
    __atomic_sub_fetch(&P.me->held[dev], n, __ATOMIC_ACQ_REL);
}

static void give_back(uint64_t key, int kind)
{
    charge_rec *r = rec_take(key, kind);
    if (r)
        uncharge(r->dev, r->bytes);
    free(r);
}

static int cur_dev(void)
{
    CUdevice d;
    return R.ctx_get_device && R.ctx_get_device(&d) == CUDA_SUCCESS ? (int)d : -1;
}

/* Charges n bytes on the current device for key; CUDA_ERROR_OUT_OF_MEMORY when it does not fit. */
static CUresult charge_key(uint64_t key, int kind, int dev, uint64_t n)
{
    if (!P.active)
        return CUDA_SUCCESS;
    n = align_up(n);
    if (charge(dev, n) != 0)
        return CUDA_ERROR_OUT_OF_MEMORY;
    rec_put(key, kind, dev, n);
    return CUDA_SUCCESS;
}

/* The first context of this session on a device takes the device's context reservation. */
static CUresult charge_context(CUdevice dev)
{
    if (!P.active || dev < 0 || (uint32_t)dev >= P.ndev)
        return CUDA_SUCCESS;
    pthread_mutex_lock(&P.lock);
    CUresult r = CUDA_SUCCESS;
    if (!P.ctx_charged[dev]) {
        uint64_t reserve = bf_shm_table->gpu[P.lease->gpu[dev]].ctx_reserve;
        if (charge(dev, reserve) != 0)
            r = CUDA_ERROR_OUT_OF_MEMORY;
        else
            P.ctx_charged[dev] = 1;
    }
    pthread_mutex_unlock(&P.lock);
    return r;
}

/* Device memory this process uses now (the backend's view; exact on the software GPU, whose
 * instance is this process's alone). */
static int64_t backend_used(void)
{
    size_t fr = 0, tot = 0;
    return R.mem_get_info && R.mem_get_info(&fr, &tot) == CUDA_SUCCESS ? (int64_t)(tot - fr) : -1;
}

/* ---- wrappers: explicit allocations ------------------------------------------------------------ */
/* An allocation of n bytes on dev: charged before the call (-1: it does not fit), then settled
 * after it: recorded under key when it succeeded, else the charge goes back. */
static int charge_before(int dev, size_t n) { return P.active && charge(dev, align_up(n)) != 0 ? -1 : 0; }

static CUresult settle(CUresult r, int made, uint64_t key, int kind, int dev, size_t n)
{
    if (r == CUDA_SUCCESS && made)
        rec_put(key, kind, dev, align_up(n));
    else
        uncharge(dev, align_up(n));
    return r;
}

static CUresult w_mem_alloc(CUdeviceptr *p, size_t n)
{
    int dev = cur_dev();
    if (charge_before(dev, n) != 0)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = R.mem_alloc(p, n);
    return settle(r, p != NULL, p ? *p : 0, K_PTR, dev, n);
}

static CUresult w_mem_alloc_managed(CUdeviceptr *p, size_t n, unsigned flags)
{
    int dev = cur_dev();
    if (charge_before(dev, n) != 0)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = R.mem_alloc_managed(p, n, flags);
    return settle(r, p != NULL, p ? *p : 0, K_PTR, dev, n);
}

static CUresult w_mem_alloc_pitch(CUdeviceptr *p, size_t *pitch, size_t w, size_t h, unsigned elem)
{
    CUresult r = R.mem_alloc_pitch(p, pitch, w, h, elem);
    if (r != CUDA_SUCCESS || !p || !pitch)
        return r;
    if (charge_key(*p, K_PTR, cur_dev(), (uint64_t)*pitch * h) != CUDA_SUCCESS) {
        R.mem_free(*p);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    return r;
}

static CUresult w_mem_free(CUdeviceptr p)
{
    CUresult r = R.mem_free(p);
    if (r == CUDA_SUCCESS)
        give_back(p, K_PTR);
    return r;
}

static CUresult alloc_async(int fl, CUdeviceptr *p, size_t n, CUmemoryPool pool, CUstream st)
{
    int dev = cur_dev();
    if (charge_before(dev, n) != 0)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = pool ? R.alloc_pool_async[fl](p, n, pool, st) : R.alloc_async[fl](p, n, st);
    return settle(r, p != NULL, p ? *p : 0, K_PTR, dev, n);
}

static CUresult free_async(int fl, CUdeviceptr p, CUstream st)
{
    CUresult r = R.free_async[fl](p, st);
    if (r == CUDA_SUCCESS)
        give_back(p, K_PTR);
    return r;
}

#define ASYNC_FLAVOUR(fl, sfx)                                                                        \
    static CUresult w_alloc_async##sfx(CUdeviceptr *p, size_t n, CUstream st) { return alloc_async(fl, p, n, NULL, st); } \
    static CUresult w_alloc_pool_async##sfx(CUdeviceptr *p, size_t n, CUmemoryPool pool, CUstream st)                      \
    {                                                                                                 \
        if (!pool)                                                                                    \
            return CUDA_ERROR_INVALID_VALUE;                                                          \
        return alloc_async(fl, p, n, pool, st);                                                       \
    }                                                                                                 \
    static CUresult w_free_async##sfx(CUdeviceptr p, CUstream st) { return free_async(fl, p, st); }
ASYNC_FLAVOUR(0, )
ASYNC_FLAVOUR(2, _ptsz)

static CUresult w_mem_create(CUmemGenericAllocationHandle *h, size_t n, const CUmemAllocationProp *prop,
                             unsigned long long flags)
{
    /* (host memory: no device of the lease, so nothing is charged) */
    int dev = prop && prop->location.type == CU_MEM_LOCATION_TYPE_DEVICE ? prop->location.id : -1;
    if (charge_before(dev, n) != 0)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = R.mem_create(h, n, prop, flags);
    return settle(r, h != NULL, h ? *h : 0, K_VMM, dev, n);
}

/* VMM memory lives while its handle is referenced or mapped anywhere. */
typedef struct vmm_map {
    CUdeviceptr va;
    size_t size;
    CUmemGenericAllocationHandle h;
    struct vmm_map *next;
} vmm_map;
static vmm_map *vmm_maps;

/* Adjusts the references and mappings of handle h; gives its charge back when both reach 0. */
static void vmm_adjust(CUmemGenericAllocationHandle h, int drefs, int dmaps)
{
    pthread_mutex_lock(&P.lock);
    charge_rec **pp = &bucket[hkey(h, K_VMM)], *r;
    while ((r = *pp) && !(r->key == h && r->kind == K_VMM))
        pp = &r->next;
    if (r) {
        r->refs += drefs;
        r->maps += dmaps;
        if (r->refs <= 0 && r->maps <= 0) {
            *pp = r->next;
            uncharge(r->dev, r->bytes);
            free(r);
        }
    }
    pthread_mutex_unlock(&P.lock);
}

static CUresult w_mem_release(CUmemGenericAllocationHandle h)
{
    CUresult r = R.mem_release(h);
    if (r == CUDA_SUCCESS && P.active)
        vmm_adjust(h, -1, 0);
    return r;
}

static CUresult w_mem_retain(CUmemGenericAllocationHandle *h, void *addr)
{
    CUresult r = R.mem_retain(h, addr);
    if (r == CUDA_SUCCESS && h && P.active)
        vmm_adjust(*h, 1, 0);
    return r;
}

static CUresult w_mem_map(CUdeviceptr va, size_t size, size_t off, CUmemGenericAllocationHandle h,
                          unsigned long long flags)
{
    CUresult r = R.mem_map(va, size, off, h, flags);
    vmm_map *m = r == CUDA_SUCCESS && P.active ? malloc(sizeof *m) : NULL;
    if (!m)
        return r;                     /* (a lost record only keeps the memory charged) */
    *m = (vmm_map){va, size, h, NULL};
    pthread_mutex_lock(&P.lock);
    m->next = vmm_maps;
    vmm_maps = m;
    pthread_mutex_unlock(&P.lock);
    vmm_adjust(h, 0, 1);
    return r;
}

static CUresult w_mem_unmap(CUdeviceptr va, size_t size)
{
    CUresult r = R.mem_unmap(va, size);
    if (r != CUDA_SUCCESS || !P.active)
        return r;
    for (;;) {                        /* every mapping inside [va, va + size) is gone */
        CUmemGenericAllocationHandle h = 0;
        int found = 0;
        pthread_mutex_lock(&P.lock);
        for (vmm_map **pp = &vmm_maps, *m; (m = *pp); pp = &m->next)
            if (m->va >= va && m->va - va < size) {
                *pp = m->next;
                h = m->h;
                found = 1;
                free(m);
                break;
            }
        pthread_mutex_unlock(&P.lock);
        if (!found)
            return r;
        vmm_adjust(h, 0, -1);
    }
}

/* ---- wrappers: measured (module globals, arrays) ----------------------------------------------- */
/* Runs op, charges what the backend's used memory grew by under `key` (filled by op); undoes it
 * with `undo` when it does not fit. */
#define MEASURED(kind, handle_type, out, undo, call)                                                  \
    do {                                                                                              \
        if (!P.active)                                                                                \
            return call;                                                                              \
        pthread_mutex_lock(&measure_lock);                                                            \
        int64_t before = backend_used();                                                              \
        CUresult r_ = call;                                                                           \
        int64_t after = backend_used();                                                               \
        pthread_mutex_unlock(&measure_lock);                                                          \
        if (r_ != CUDA_SUCCESS || !(out))                                                             \
            return r_;                                                                                \
        uint64_t grew = before >= 0 && after > before ? (uint64_t)(after - before) : 0;               \
        if (charge_key((uint64_t)(uintptr_t)*(out), kind, cur_dev(), grew) != CUDA_SUCCESS) {         \
            undo((handle_type)*(out));                                                                \
            return CUDA_ERROR_OUT_OF_MEMORY;                                                          \
        }                                                                                             \
        return r_;                                                                                    \
    } while (0)

static pthread_mutex_t measure_lock = PTHREAD_MUTEX_INITIALIZER;

static CUresult w_module_load(CUmodule *m, const char *f) { MEASURED(K_MODULE, CUmodule, m, R.module_unload, R.module_load(m, f)); }
static CUresult w_module_load_data(CUmodule *m, const void *img) { MEASURED(K_MODULE, CUmodule, m, R.module_unload, R.module_load_data(m, img)); }
static CUresult w_module_load_data_ex(CUmodule *m, const void *img, unsigned n, CUjit_option *o, void **v)
{
    MEASURED(K_MODULE, CUmodule, m, R.module_unload, R.module_load_data_ex(m, img, n, o, v));
}
static CUresult w_module_load_fatbin(CUmodule *m, const void *img) { MEASURED(K_MODULE, CUmodule, m, R.module_unload, R.module_load_fatbin(m, img)); }
static CUresult w_library_load_data(CUlibrary *l, const void *c, CUjit_option *jo, void **jv, unsigned nj,
                                    CUlibraryOption *lo, void **lv, unsigned nl)
{
    MEASURED(K_LIBRARY, CUlibrary, l, R.library_unload, R.library_load_data(l, c, jo, jv, nj, lo, lv, nl));
}
static CUresult w_library_load_file(CUlibrary *l, const char *f, CUjit_option *jo, void **jv, unsigned nj,
                                    CUlibraryOption *lo, void **lv, unsigned nl)
{
    MEASURED(K_LIBRARY, CUlibrary, l, R.library_unload, R.library_load_file(l, f, jo, jv, nj, lo, lv, nl));
}
static CUresult w_array_create(CUarray *a, const CUDA_ARRAY_DESCRIPTOR *d) { MEASURED(K_ARRAY, CUarray, a, R.array_destroy, R.array_create(a, d)); }
static CUresult w_array3d_create(CUarray *a, const CUDA_ARRAY3D_DESCRIPTOR *d) { MEASURED(K_ARRAY, CUarray, a, R.array_destroy, R.array3d_create(a, d)); }
static CUresult w_mipmap_create(CUmipmappedArray *a, const CUDA_ARRAY3D_DESCRIPTOR *d, unsigned n)
{
    MEASURED(K_MIPMAP, CUmipmappedArray, a, R.mipmap_destroy, R.mipmap_create(a, d, n));
}

/* Context limits (stack size, device malloc heap, printf FIFO) take device memory on a GPU: what
 * the backend's free memory drops by is charged to the context (and given back when a smaller
 * limit frees it); beyond the partition the old limit is put back and OUT_OF_MEMORY returned. */
static CUresult w_ctx_set_limit(CUlimit lim, size_t value)
{
    CUcontext ctx = NULL;
    size_t old = 0;
    if (!P.active)
        return R.set_limit(lim, value);
    if (R.ctx_get_current)
        R.ctx_get_current(&ctx);
    int have_old = R.get_limit && R.get_limit(&old, lim) == CUDA_SUCCESS;
    pthread_mutex_lock(&measure_lock);
    int64_t before = backend_used();
    CUresult r = R.set_limit(lim, value);
    int64_t after = backend_used();
    pthread_mutex_unlock(&measure_lock);
    if (r != CUDA_SUCCESS || before < 0 || after < 0 || after == before)
        return r;
    uint64_t key = (uint64_t)(uintptr_t)ctx ^ ((uint64_t)lim << 56);
    charge_rec *rec = rec_take(key, K_LIMIT);
    uint64_t had = rec ? rec->bytes : 0, now = had;
    int dev = rec ? rec->dev : cur_dev();
    free(rec);
    if (after > before && charge(dev, (uint64_t)(after - before)) == 0) {
        now = had + (uint64_t)(after - before);
    } else if (after > before) {      /* beyond the partition: the old limit back */
        if (have_old)
            R.set_limit(lim, old);
        r = CUDA_ERROR_OUT_OF_MEMORY;
    } else {
        uint64_t back = (uint64_t)(before - after) < had ? (uint64_t)(before - after) : had;
        uncharge(dev, back);
        now = had - back;
    }
    if (now)
        rec_put(key, K_LIMIT, dev, now);
    return r;
}

#define GIVE_BACK_AFTER(kind, call, key)                                                             \
    do {                                                                                              \
        CUresult r_ = call;                                                                           \
        if (r_ == CUDA_SUCCESS)                                                                       \
            give_back((uint64_t)(uintptr_t)(key), kind);                                              \
        return r_;                                                                                    \
    } while (0)
static CUresult w_module_unload(CUmodule m) { GIVE_BACK_AFTER(K_MODULE, R.module_unload(m), m); }
static CUresult w_library_unload(CUlibrary l) { GIVE_BACK_AFTER(K_LIBRARY, R.library_unload(l), l); }
static CUresult w_array_destroy(CUarray a) { GIVE_BACK_AFTER(K_ARRAY, R.array_destroy(a), a); }
static CUresult w_mipmap_destroy(CUmipmappedArray a) { GIVE_BACK_AFTER(K_MIPMAP, R.mipmap_destroy(a), a); }

/* ---- wrappers: contexts and the partition's view ----------------------------------------------- */
static CUresult w_ctx_create_v2(CUcontext *c, unsigned fl, CUdevice d)
{
    CUresult r = charge_context(d);
    return r != CUDA_SUCCESS ? r : R.ctx_create_v2(c, fl, d);
}
static CUresult w_ctx_create_v3(CUcontext *c, CUexecAffinityParam *p, int n, unsigned fl, CUdevice d)
{
    CUresult r = charge_context(d);
    return r != CUDA_SUCCESS ? r : R.ctx_create_v3(c, p, n, fl, d);
}
static CUresult w_ctx_create_v4(CUcontext *c, CUctxCreateParams *p, unsigned fl, CUdevice d)
{
    CUresult r = charge_context(d);
    return r != CUDA_SUCCESS ? r : R.ctx_create_v4(c, p, fl, d);
}
static CUresult w_primary_retain(CUcontext *c, CUdevice d)
{
    CUresult r = charge_context(d);
    if (r == CUDA_SUCCESS && (r = R.primary_retain(c, d)) == CUDA_SUCCESS && c && d >= 0 && d < BF_LEASE_MAX_DEV)
        P.primary[d] = *c;
    return r;
}

static CUresult w_ctx_destroy(CUcontext c)
{
    CUresult r = R.ctx_destroy(c);
    if (r == CUDA_SUCCESS)
        give_back_context(c);
    return r;
}

static CUresult w_primary_reset(CUdevice d)
{
    CUresult r = R.primary_reset(d);
    if (r == CUDA_SUCCESS && d >= 0 && d < BF_LEASE_MAX_DEV)
        give_back_context(P.primary[d]);
    return r;
}

/* The primary context ends with its last release. */
static CUresult w_primary_release(CUdevice d)
{
    unsigned flags = 0;
    int active = 1;
    CUresult r = R.primary_release(d);
    if (r == CUDA_SUCCESS && d >= 0 && d < BF_LEASE_MAX_DEV && R.primary_state &&
        R.primary_state(d, &flags, &active) == CUDA_SUCCESS && !active)
        give_back_context(P.primary[d]);
    return r;
}

static CUresult w_mem_get_info(size_t *fr, size_t *tot)
{
    size_t bfree = 0, btot = 0;
    CUresult r = R.mem_get_info(&bfree, &btot);
    int dev = cur_dev();
    if (r != CUDA_SUCCESS || dev < 0 || (uint32_t)dev >= P.ndev)
        return r;
    uint64_t lim = P.lease->limit[dev], used = __atomic_load_n(&P.lease->used[dev], __ATOMIC_ACQUIRE);
    uint64_t left = used < lim ? lim - used : 0;
    if (!fr || !tot)
        return CUDA_ERROR_INVALID_VALUE;
    *fr = left < bfree ? left : bfree;
    *tot = lim;
    return CUDA_SUCCESS;
}

static CUresult w_total_mem(size_t *bytes, CUdevice d)
{
    CUresult r = R.total_mem(bytes, d);
    if (r == CUDA_SUCCESS && d >= 0 && (uint32_t)d < P.ndev)
        *bytes = P.lease->limit[d];
    return r;
}

/* ---- the table ----------------------------------------------------------------------------------- */
typedef struct wrap {
    const char *name;
    void *wrapper;
    void **real;
} wrap;

#define W(n, w, r) {n, (void *)(w), (void **)&(r)}
static const wrap WRAPS[] = {
    W("cuMemAlloc_v2", w_mem_alloc, R.mem_alloc),
    W("cuMemAllocManaged", w_mem_alloc_managed, R.mem_alloc_managed),
    W("cuMemAllocPitch_v2", w_mem_alloc_pitch, R.mem_alloc_pitch),
    W("cuMemFree_v2", w_mem_free, R.mem_free),
    W("cuMemAllocAsync", w_alloc_async, R.alloc_async[0]),
    W("cuMemAllocAsync_ptsz", w_alloc_async_ptsz, R.alloc_async[2]),
    W("cuMemAllocFromPoolAsync", w_alloc_pool_async, R.alloc_pool_async[0]),
    W("cuMemAllocFromPoolAsync_ptsz", w_alloc_pool_async_ptsz, R.alloc_pool_async[2]),
    W("cuMemFreeAsync", w_free_async, R.free_async[0]),
    W("cuMemFreeAsync_ptsz", w_free_async_ptsz, R.free_async[2]),
    W("cuMemCreate", w_mem_create, R.mem_create),
    W("cuMemRelease", w_mem_release, R.mem_release),
    W("cuMemRetainAllocationHandle", w_mem_retain, R.mem_retain),
    W("cuMemMap", w_mem_map, R.mem_map),
    W("cuMemUnmap", w_mem_unmap, R.mem_unmap),
    W("cuModuleLoad", w_module_load, R.module_load),
    W("cuModuleLoadData", w_module_load_data, R.module_load_data),
    W("cuModuleLoadDataEx", w_module_load_data_ex, R.module_load_data_ex),
    W("cuModuleLoadFatBinary", w_module_load_fatbin, R.module_load_fatbin),
    W("cuModuleUnload", w_module_unload, R.module_unload),
    W("cuLibraryLoadData", w_library_load_data, R.library_load_data),
    W("cuLibraryLoadFromFile", w_library_load_file, R.library_load_file),
    W("cuLibraryUnload", w_library_unload, R.library_unload),
    W("cuArrayCreate_v2", w_array_create, R.array_create),
    W("cuArray3DCreate_v2", w_array3d_create, R.array3d_create),
    W("cuArrayDestroy", w_array_destroy, R.array_destroy),
    W("cuMipmappedArrayCreate", w_mipmap_create, R.mipmap_create),
    W("cuMipmappedArrayDestroy", w_mipmap_destroy, R.mipmap_destroy),
    W("cuCtxCreate_v2", w_ctx_create_v2, R.ctx_create_v2),
    W("cuCtxCreate_v3", w_ctx_create_v3, R.ctx_create_v3),
    W("cuCtxCreate_v4", w_ctx_create_v4, R.ctx_create_v4),
    W("cuDevicePrimaryCtxRetain", w_primary_retain, R.primary_retain),
    W("cuDevicePrimaryCtxRelease_v2", w_primary_release, R.primary_release),
    W("cuDevicePrimaryCtxReset_v2", w_primary_reset, R.primary_reset),
    W("cuCtxDestroy_v2", w_ctx_destroy, R.ctx_destroy),
    W("cuMemGetInfo_v2", w_mem_get_info, R.mem_get_info),
    W("cuCtxSetLimit", w_ctx_set_limit, R.set_limit),
    W("cuDeviceTotalMem_v2", w_total_mem, R.total_mem),
};

void *bf_partition_sym(void *lib, const char *name)
{
    if (P.active)
        for (size_t i = 0; i < sizeof WRAPS / sizeof WRAPS[0]; i++)
            if (!strcmp(WRAPS[i].name, name))
                return *WRAPS[i].real ? WRAPS[i].wrapper : NULL;
    return dlsym(lib, name);
}

void bf_partition_end(void)
{
    if (!P.active)
        return;
    P.active = 0;
    for (uint32_t d = 0; d < P.ndev; d++)
        __atomic_sub_fetch(&P.lease->used[d], __atomic_exchange_n(&P.me->held[d], 0, __ATOMIC_ACQ_REL),
                           __ATOMIC_ACQ_REL);
}

void bf_partition_attach_backend(void *lib)
{
    for (size_t i = 0; i < sizeof WRAPS / sizeof WRAPS[0]; i++)
        *WRAPS[i].real = dlsym(lib, WRAPS[i].name);
    R.ctx_get_device = (CUresult (*)(CUdevice *))dlsym(lib, "cuCtxGetDevice");
    R.ctx_get_current = (CUresult (*)(CUcontext *))dlsym(lib, "cuCtxGetCurrent");
    R.get_limit = (CUresult (*)(size_t *, CUlimit))dlsym(lib, "cuCtxGetLimit");
    R.primary_state = (CUresult (*)(CUdevice, unsigned *, int *))dlsym(lib, "cuDevicePrimaryCtxGetState");
    if (!R.mem_get_info || !R.total_mem)
        P.active = 0;                 /* cannot answer the partition's view: do not pretend */
}

/* CUDA_VISIBLE_DEVICES for the lease's GPUs: server GPU i is entry i of the daemon's own
 * CUDA_VISIBLE_DEVICES when it has one, else ordinal i. */
static void set_visible_devices(const uint32_t *gpus, size_t n)
{
    const char *outer = getenv("CUDA_VISIBLE_DEVICES");
    char list[1024] = "", ent[128];
    for (size_t i = 0; i < n; i++) {
        snprintf(ent, sizeof ent, "%u", gpus[i]);
        if (outer && *outer) {
            const char *p = outer;
            for (uint32_t k = 0; k < gpus[i] && p; k++)
                p = (p = strchr(p, ',')) ? p + 1 : NULL;
            if (p)
                snprintf(ent, sizeof ent, "%.*s", (int)strcspn(p, ","), p);
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? "," : "", ent);
    }
    setenv("CUDA_VISIBLE_DEVICES", list, 1);
}

int bf_partition_setup(const Bitfusion__HelloReply *h)
{
    if (!bf_shm_table || h->lease_slot >= BF_SHM_MAX_LEASES || h->worker_slot >= BF_SHM_MAX_WORKERS ||
        !h->n_devices || h->n_devices > BF_LEASE_MAX_DEV)
        return -1;
    P.lease = &bf_shm_table->lease[h->lease_slot];
    P.me = &bf_shm_table->worker[h->worker_slot];
    P.lease_slot = (int)h->lease_slot;
    P.ndev = (uint32_t)h->n_devices;
    P.active = 1;
    set_visible_devices(h->devices, h->n_devices);
    return 0;
}

/* ---- the partition's view (session_nvml.c) ------------------------------------------------------ */
int bf_partition_view(int dev, uint64_t *limit, uint64_t *used)
{
    if (!P.active)
        return 0;
    if (dev < 0 || (uint32_t)dev >= P.ndev)
        return -1;
    *limit = P.lease->limit[dev];
    *used = __atomic_load_n(&P.lease->used[dev], __ATOMIC_ACQUIRE);
    return 1;
}

size_t bf_partition_processes(int dev, uint64_t *pairs, size_t max)
{
    size_t n = 0;
    for (int i = 0; P.active && i < BF_SHM_MAX_WORKERS && n < max; i++) {
        const bf_shm_worker *w = &bf_shm_table->worker[i];
        if (w->lease == P.lease_slot) {
            pairs[2 * n] = (uint64_t)(int64_t)w->client_pid;
            pairs[2 * n + 1] = __atomic_load_n(&w->held[dev], __ATOMIC_ACQUIRE);
            n++;
        }
    }
    return n;
}
