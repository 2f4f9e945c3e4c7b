/* memory.c: the software GPU's device memory manager. Owns each device's reserved device-address
 * range and the allocator that carves allocations out of it (usage accounting, commit on alloc,
 * decommit on free; emu_mem_charge for memory that holds no range here: context reservations,
 * VMM physical allocations), the one table of device-accessible ranges (device allocations, module
 * globals, pool allocations, page-locked and registered host memory, accessible VMM mappings
 * registered by vmm.c) that the interpreter
 * consults (lock-free) through emu_mem_lookup and host-side copies through emu_mem_check, and the
 * driver API for linear device memory: cuMemAlloc, cuMemAllocPitch, cuMemAllocManaged, cuMemFree,
 * cuMemGetInfo, cuMemGetAddressRange, the cuPointer*Attribute(s) calls and the managed-memory
 * hints cuMemPrefetchAsync / cuMemAdvise (validated no-ops: managed memory is always resident).
 * Device memory is ordinary host memory (device pointer == host address), so the host side of
 * the emulator can read and write it directly. */
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mem_internal.h"

#define MEM_MAX_DEVICES EMU_MAX_DEVICES
#define MEM_VA_ALIGN (2u << 20)            /* device ranges start on a 2 MiB boundary */
#define MEM_PITCH_ALIGN 512u

/* ===================================================================================== */
/* Per-device address space                                                               */
/* ===================================================================================== */

typedef struct extent { uint64_t lo, hi; } extent;

typedef struct devmem {
    emu_device *dev;
    pthread_mutex_t lock;
    uint64_t va_lo, va_hi;     /* the reserved range */
    extent *free;              /* free extents, sorted by address, never adjacent */
    size_t nfree, capfree;
    size_t used;               /* bytes charged against dev->total_mem */
} devmem;

static pthread_mutex_t g_devmem_lock = PTHREAD_MUTEX_INITIALIZER;
static devmem *g_devmem[MEM_MAX_DEVICES];
static size_t g_page = 4096;
static pthread_once_t g_mem_once = PTHREAD_ONCE_INIT;

static void mem_init_once(void)
{
    long p = sysconf(_SC_PAGESIZE);
    if (p > 0)
        g_page = (size_t)p;
    /* The interpreter is pointed at emu_mem_lookup by cuInit (device.c). */
}

static uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
static uint64_t round_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
static int is_pow2(size_t v) { return v && !(v & (v - 1)); }

/* Maps [lo, lo+size) inaccessible and unbacked at exactly lo; 0 on success. */
static int reserve_fixed(uint64_t lo, uint64_t size)
{
    void *want = (void *)(uintptr_t)lo;
    void *p = mmap(want, size, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    if (p != want) {              /* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
        munmap(p, size);
        return -1;
    }
    return 0;
}

/* Reserves the device's address range: the one device.c assigned (dev->va_base/va_size), or,
 * when that is taken, twice the device's memory wherever the kernel puts it (dev->va_base and
 * va_size are updated). Pages stay inaccessible until allocations commit them. */
static int devmem_reserve(devmem *dm)
{
    emu_device *dev = dm->dev;
    uint64_t total = round_up(dev->total_mem ? dev->total_mem : MEM_VA_ALIGN, MEM_VA_ALIGN);
    if (dev->va_base && dev->va_size >= total && dev->va_base % MEM_VA_ALIGN == 0 &&
        reserve_fixed(dev->va_base, dev->va_size) == 0) {
        dm->va_lo = dev->va_base;
        dm->va_hi = dev->va_base + dev->va_size;
    } else {
        uint64_t want = total * 2 + MEM_VA_ALIGN;
        void *p = mmap(NULL, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            emu_log("cannot reserve %llu bytes of address space for device %d",
                    (unsigned long long)want, dev->ordinal);
            return -1;
        }
        dm->va_lo = round_up((uint64_t)(uintptr_t)p, MEM_VA_ALIGN);
        dm->va_hi = round_down((uint64_t)(uintptr_t)p + want, MEM_VA_ALIGN);
        emu_debug("device %d: address range at 0x%llx (the assigned one was not free)", dev->ordinal,
                  (unsigned long long)dm->va_lo);
    }
    dm->free = malloc(16 * sizeof(extent));
    if (!dm->free)
        return -1;
    dm->capfree = 16;
    dm->nfree = 1;
    dm->free[0] = (extent){ dm->va_lo, dm->va_hi };
    dev->va_base = dm->va_lo;
    dev->va_size = dm->va_hi - dm->va_lo;
    return 0;
}

static devmem *devmem_get(int ordinal)
{
    if (ordinal < 0 || ordinal >= MEM_MAX_DEVICES)
        return NULL;
    devmem *dm = __atomic_load_n(&g_devmem[ordinal], __ATOMIC_ACQUIRE);
    if (dm)
        return dm;
    emu_device *dev = emu_device_get(ordinal);
    if (!dev)
        return NULL;
    pthread_once(&g_mem_once, mem_init_once);
    pthread_mutex_lock(&g_devmem_lock);
    dm = g_devmem[ordinal];
    if (!dm) {
        dm = calloc(1, sizeof *dm);
        if (dm) {
            dm->dev = dev;
            pthread_mutex_init(&dm->lock, NULL);
            if (devmem_reserve(dm) == 0) {
                __atomic_store_n(&g_devmem[ordinal], dm, __ATOMIC_RELEASE);
            } else {
                free(dm->free);
                free(dm);
                dm = NULL;
            }
        }
    }
    pthread_mutex_unlock(&g_devmem_lock);
    return dm;
}

int mem_in_device_va(uint64_t addr, uint64_t len)
{
    uint64_t end = addr + (len ? len : 1);
    if (end < addr)
        end = UINT64_MAX;
    for (int i = 0; i < MEM_MAX_DEVICES; i++) {
        devmem *dm = __atomic_load_n(&g_devmem[i], __ATOMIC_ACQUIRE);
        if (dm && addr < dm->va_hi && end > dm->va_lo)
            return 1;
    }
    return mem_vmm_in_va(addr, end - addr);
}

/* First extent that fits size bytes at alignment align; returns its index or -1. */
static ptrdiff_t extents_find_fit(const devmem *dm, uint64_t size, uint64_t align, uint64_t *at)
{
    for (size_t i = 0; i < dm->nfree; i++) {
        uint64_t a = round_up(dm->free[i].lo, align);
        if (a >= dm->free[i].lo && a < dm->free[i].hi && dm->free[i].hi - a >= size) {
            *at = a;
            return (ptrdiff_t)i;
        }
    }
    return -1;
}

static int extents_reserve_slot(devmem *dm)
{
    if (dm->nfree < dm->capfree)
        return 0;
    size_t cap = dm->capfree * 2;
    extent *n = realloc(dm->free, cap * sizeof(extent));
    if (!n)
        return -1;
    dm->free = n;
    dm->capfree = cap;
    return 0;
}

/* Removes [a, b) from free extent i, which contains it. */
static int extents_take(devmem *dm, size_t i, uint64_t a, uint64_t b)
{
    extent e = dm->free[i];
    if (a > e.lo && b < e.hi) {
        if (extents_reserve_slot(dm))
            return -1;
        memmove(&dm->free[i + 2], &dm->free[i + 1], (dm->nfree - i - 1) * sizeof(extent));
        dm->free[i] = (extent){ e.lo, a };
        dm->free[i + 1] = (extent){ b, e.hi };
        dm->nfree++;
    } else if (a > e.lo) {
        dm->free[i].hi = a;
    } else if (b < e.hi) {
        dm->free[i].lo = b;
    } else {
        memmove(&dm->free[i], &dm->free[i + 1], (dm->nfree - i - 1) * sizeof(extent));
        dm->nfree--;
    }
    return 0;
}

/* Gives [a, b) back, merging with neighbours; returns the merged free extent. */
static extent extents_give(devmem *dm, uint64_t a, uint64_t b)
{
    size_t lo = 0, hi = dm->nfree;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dm->free[mid].lo < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;                      /* first extent after [a, b) */
    int merge_prev = i > 0 && dm->free[i - 1].hi == a;
    int merge_next = i < dm->nfree && dm->free[i].lo == b;
    if (merge_prev && merge_next) {
        dm->free[i - 1].hi = dm->free[i].hi;
        memmove(&dm->free[i], &dm->free[i + 1], (dm->nfree - i - 1) * sizeof(extent));
        dm->nfree--;
        return dm->free[i - 1];
    }
    if (merge_prev) {
        dm->free[i - 1].hi = b;
        return dm->free[i - 1];
    }
    if (merge_next) {
        dm->free[i].lo = a;
        return dm->free[i];
    }
    if (extents_reserve_slot(dm)) {
        /* Cannot track it: the block leaks (address space only; it is decommitted below). */
        return (extent){ a, b };
    }
    memmove(&dm->free[i + 1], &dm->free[i], (dm->nfree - i) * sizeof(extent));
    dm->free[i] = (extent){ a, b };
    dm->nfree++;
    return dm->free[i];
}

static int commit_pages(uint64_t a, uint64_t b)
{
    uint64_t lo = round_down(a, g_page), hi = round_up(b, g_page);
    return mprotect((void *)(uintptr_t)lo, hi - lo, PROT_READ | PROT_WRITE);
}

/* Returns whole pages to the OS and makes them inaccessible again. */
static void decommit_pages(uint64_t lo, uint64_t hi)
{
    void *p = mmap((void *)(uintptr_t)lo, hi - lo, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) {
        madvise((void *)(uintptr_t)lo, hi - lo, MADV_DONTNEED);
    }
}

CUresult mem_dev_carve(int ordinal, size_t size, size_t align, uint64_t *addr, size_t *charged)
{
    if (size == 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (align && !is_pow2(align))
        return CUDA_ERROR_INVALID_VALUE;
    devmem *dm = devmem_get(ordinal);
    if (!dm)
        return emu_device_get(ordinal) ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_INVALID_DEVICE;
    if (size > SIZE_MAX - MEM_GRANULE)
        return CUDA_ERROR_OUT_OF_MEMORY;
    uint64_t rounded = round_up(size, MEM_GRANULE);
    uint64_t al = align > MEM_GRANULE ? align : MEM_GRANULE;
    if (rounded >= g_page && al < g_page)
        al = g_page;
    CUresult rc = CUDA_ERROR_OUT_OF_MEMORY;
    pthread_mutex_lock(&dm->lock);
    uint64_t at = 0;
    ptrdiff_t i;
    if (rounded <= dm->dev->total_mem - dm->used && (i = extents_find_fit(dm, rounded, al, &at)) >= 0 &&
        extents_take(dm, (size_t)i, at, at + rounded) == 0) {
        if (commit_pages(at, at + rounded) == 0) {
            dm->used += rounded;
            *addr = at;
            *charged = rounded;
            rc = CUDA_SUCCESS;
        } else {
            extents_give(dm, at, at + rounded);
        }
    }
    pthread_mutex_unlock(&dm->lock);
    return rc;
}

void mem_dev_release(int ordinal, uint64_t addr, size_t charged)
{
    devmem *dm = devmem_get(ordinal);
    if (!dm || !charged)
        return;
    uint64_t end = addr + charged;
    pthread_mutex_lock(&dm->lock);
    extent merged = extents_give(dm, addr, end);
    uint64_t dlo = round_up(merged.lo, g_page), dhi = round_down(merged.hi, g_page);
    if (dlo < dhi) {
        decommit_pages(dlo, dhi);
        /* Bytes of the block in pages still shared with live neighbours: zero them, so every free
         * byte reads as zero when it is handed out again. */
        if (addr < dlo)
            memset((void *)(uintptr_t)addr, 0, (end < dlo ? end : dlo) - addr);
        if (end > dhi && end > addr) {
            uint64_t from = addr > dhi ? addr : dhi;
            memset((void *)(uintptr_t)from, 0, end - from);
        }
    } else {
        memset((void *)(uintptr_t)addr, 0, charged);
    }
    dm->used -= charged;
    pthread_mutex_unlock(&dm->lock);
}

static int charge_locked(devmem *dm, size_t bytes)
{
    if (bytes > dm->dev->total_mem - dm->used)
        return -1;
    dm->used += bytes;
    return 0;
}

CUresult emu_mem_charge(int device_ordinal, size_t bytes)
{
    devmem *dm = devmem_get(device_ordinal);
    if (!dm)
        return emu_device_get(device_ordinal) ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_INVALID_DEVICE;
    if (bytes == 0)
        return CUDA_SUCCESS;
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_mutex_lock(&dm->lock);
        int rc = charge_locked(dm, bytes);
        pthread_mutex_unlock(&dm->lock);
        if (rc == 0)
            return CUDA_SUCCESS;
        if (attempt == 0 && mem_pools_trim_device(device_ordinal) == 0)
            break;
    }
    return CUDA_ERROR_OUT_OF_MEMORY;
}

void emu_mem_uncharge(int device_ordinal, size_t bytes)
{
    devmem *dm = devmem_get(device_ordinal);
    if (!dm || bytes == 0)
        return;
    pthread_mutex_lock(&dm->lock);
    dm->used -= bytes < dm->used ? bytes : dm->used;
    pthread_mutex_unlock(&dm->lock);
}

size_t emu_mem_used(int device_ordinal)
{
    if (device_ordinal < 0 || device_ordinal >= MEM_MAX_DEVICES)
        return 0;
    devmem *dm = __atomic_load_n(&g_devmem[device_ordinal], __ATOMIC_ACQUIRE);
    if (!dm)
        return 0;
    pthread_mutex_lock(&dm->lock);
    size_t used = dm->used;
    pthread_mutex_unlock(&dm->lock);
    return used;
}

/* ===================================================================================== */
/* The table of device-accessible ranges                                                  */
/* ===================================================================================== */

/* Readers on the hot path (emu_mem_lookup, called by interpreter threads on every cache miss)
 * take no lock: the keys are read under a sequence counter and the lookup is retried when a
 * writer changed them meanwhile. Everything else (writers, and readers of the records) holds
 * g_tab_mu. Arrays outgrown are kept (chained from the current one), so a reader that still
 * holds an old array reads valid memory; their total is less than the current array's size. */
typedef struct range_key { uint64_t lo, hi; } range_key;

typedef struct range_tab {
    struct range_tab *older;   /* the array this one replaced */
    size_t cap;
    range_key *keys;           /* sorted by lo; ranges never overlap */
    mem_rec **recs;
} range_tab;

static pthread_mutex_t g_tab_mu = PTHREAD_MUTEX_INITIALIZER;
static range_tab *g_tab;
static size_t g_ntab;
static unsigned g_tab_seq;     /* odd while a writer is changing keys */
static unsigned long long g_next_buffer_id = 1;

mem_rec *mem_rec_new(void)
{
    mem_rec *r = calloc(1, sizeof *r);
    if (r)
        r->buffer_id = __atomic_fetch_add(&g_next_buffer_id, 1, __ATOMIC_RELAXED);
    return r;
}

/* ---- writer side (g_tab_mu held) ---- */

static void seq_begin(void)
{
    __atomic_store_n(&g_tab_seq, __atomic_load_n(&g_tab_seq, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void seq_end(void)
{
    __atomic_store_n(&g_tab_seq, __atomic_load_n(&g_tab_seq, __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
}

static void key_store(range_tab *t, size_t i, uint64_t lo, uint64_t hi)
{
    __atomic_store_n(&t->keys[i].lo, lo, __ATOMIC_RELAXED);
    __atomic_store_n(&t->keys[i].hi, hi, __ATOMIC_RELAXED);
}

/* Moves entries [from, from+n) to [to, to+n) (overlapping moves allowed). */
static void entries_move(range_tab *t, size_t to, size_t from, size_t n)
{
    if (to < from) {
        for (size_t k = 0; k < n; k++) {
            key_store(t, to + k, t->keys[from + k].lo, t->keys[from + k].hi);
            t->recs[to + k] = t->recs[from + k];
        }
    } else {
        for (size_t k = n; k-- > 0;) {
            key_store(t, to + k, t->keys[from + k].lo, t->keys[from + k].hi);
            t->recs[to + k] = t->recs[from + k];
        }
    }
}

/* Makes room for one more entry, publishing a bigger array when needed. */
static int tab_reserve_one(void)
{
    if (g_tab && g_ntab < g_tab->cap)
        return 0;
    size_t cap = g_tab ? g_tab->cap * 2 : 256;
    range_tab *t = malloc(sizeof(range_tab) + cap * (sizeof(range_key) + sizeof(mem_rec *)));
    if (!t)
        return -1;
    t->older = g_tab;
    t->cap = cap;
    t->keys = (range_key *)(t + 1);
    t->recs = (mem_rec **)(t->keys + cap);
    if (g_tab) {
        memcpy(t->keys, g_tab->keys, g_ntab * sizeof(range_key));
        memcpy(t->recs, g_tab->recs, g_ntab * sizeof(mem_rec *));
    }
    __atomic_store_n(&g_tab, t, __ATOMIC_RELEASE);
    return 0;
}

/* Index of the last entry whose lo <= addr, or -1. */
static ptrdiff_t tab_floor(uint64_t addr)
{
    size_t lo = 0, hi = g_ntab;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g_tab->keys[mid].lo <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

/* Entry containing [addr, addr+len) (len 0: containing addr), or -1. */
static ptrdiff_t tab_containing(uint64_t addr, uint64_t len)
{
    ptrdiff_t i = g_tab ? tab_floor(addr) : -1;
    if (i < 0 || addr >= g_tab->keys[i].hi || len > g_tab->keys[i].hi - addr)
        return -1;
    return i;
}

static void tab_remove_at(size_t i)
{
    seq_begin();
    entries_move(g_tab, i, i + 1, g_ntab - i - 1);
    __atomic_store_n(&g_ntab, g_ntab - 1, __ATOMIC_RELAXED);
    seq_end();
}

int mem_table_insert(mem_rec *r)
{
    uint64_t lo = r->base, hi = r->base + r->size;
    if (r->size == 0 || hi < lo)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&g_tab_mu);
    ptrdiff_t i = g_tab ? tab_floor(lo) : -1;
    size_t at = (size_t)(i + 1);
    int overlaps = (i >= 0 && g_tab->keys[i].hi > lo) || (at < g_ntab && g_tab->keys[at].lo < hi);
    if (!overlaps && tab_reserve_one() == 0) {
        seq_begin();
        entries_move(g_tab, at + 1, at, g_ntab - at);
        key_store(g_tab, at, lo, hi);
        g_tab->recs[at] = r;
        __atomic_store_n(&g_ntab, g_ntab + 1, __ATOMIC_RELAXED);
        seq_end();
        rc = 0;
    }
    pthread_mutex_unlock(&g_tab_mu);
    return rc;
}

int mem_table_find(uint64_t addr, mem_rec *out)
{
    pthread_mutex_lock(&g_tab_mu);
    ptrdiff_t i = tab_containing(addr, 0);
    if (i >= 0 && out)
        *out = *g_tab->recs[i];
    pthread_mutex_unlock(&g_tab_mu);
    return i >= 0;
}

/* Index of the entry based exactly at base with an accepted origin, or -1. */
static ptrdiff_t tab_exact(uint64_t base, unsigned origin_mask)
{
    ptrdiff_t i = g_tab ? tab_floor(base) : -1;
    if (i < 0 || g_tab->keys[i].lo != base || !(origin_mask & MEM_ORIGIN_BIT(g_tab->recs[i]->origin)))
        return -1;
    return i;
}

mem_rec *mem_table_claim(uint64_t base, unsigned origin_mask, int allow_pending,
                         unsigned long long buffer_id)
{
    mem_rec *r = NULL;
    pthread_mutex_lock(&g_tab_mu);
    ptrdiff_t i = tab_exact(base, origin_mask);
    if (i >= 0 && (allow_pending || !g_tab->recs[i]->free_pending) &&
        (!buffer_id || g_tab->recs[i]->buffer_id == buffer_id)) {
        r = g_tab->recs[i];
        tab_remove_at((size_t)i);
    }
    pthread_mutex_unlock(&g_tab_mu);
    return r;
}

int mem_table_mark_pending(uint64_t base, unsigned origin_mask, int pending, mem_rec *out)
{
    int ok = 0;
    pthread_mutex_lock(&g_tab_mu);
    ptrdiff_t i = tab_exact(base, origin_mask);
    if (i >= 0 && (!pending || !g_tab->recs[i]->free_pending)) {
        g_tab->recs[i]->free_pending = pending;
        if (out)
            *out = *g_tab->recs[i];
        ok = 1;
    }
    pthread_mutex_unlock(&g_tab_mu);
    return ok;
}

int mem_table_set_sync_memops(uint64_t addr, int value)
{
    pthread_mutex_lock(&g_tab_mu);
    ptrdiff_t i = tab_containing(addr, 0);
    if (i >= 0)
        g_tab->recs[i]->sync_memops = value;
    pthread_mutex_unlock(&g_tab_mu);
    return i >= 0;
}

/* Removes every record owned by ctx; returns them as a malloc'd array. */
static mem_rec **tab_claim_owned(emu_ctx *ctx, size_t *count)
{
    pthread_mutex_lock(&g_tab_mu);
    size_t n = 0;
    for (size_t i = 0; i < g_ntab; i++)
        n += g_tab->recs[i]->ctx == ctx;
    mem_rec **out = n ? malloc(n * sizeof(mem_rec *)) : NULL;
    size_t k = 0, w = 0;
    if (out) {
        seq_begin();
        for (size_t i = 0; i < g_ntab; i++) {
            if (g_tab->recs[i]->ctx == ctx) {
                out[k++] = g_tab->recs[i];
            } else {
                key_store(g_tab, w, g_tab->keys[i].lo, g_tab->keys[i].hi);
                g_tab->recs[w++] = g_tab->recs[i];
            }
        }
        __atomic_store_n(&g_ntab, w, __ATOMIC_RELAXED);
        seq_end();
    }
    pthread_mutex_unlock(&g_tab_mu);
    *count = k;
    return out;
}

/* ---- lock-free reader ---- */

/* Binary search over a snapshot that may be changing under us; the caller validates. */
static int keys_containing(const range_tab *t, size_t n, uint64_t addr, uint64_t len, uint64_t *flo,
                           uint64_t *fhi)
{
    if (n > t->cap)
        n = t->cap;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (__atomic_load_n(&t->keys[mid].lo, __ATOMIC_RELAXED) <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    *flo = __atomic_load_n(&t->keys[lo - 1].lo, __ATOMIC_RELAXED);
    *fhi = __atomic_load_n(&t->keys[lo - 1].hi, __ATOMIC_RELAXED);
    return addr >= *flo && addr < *fhi && len <= *fhi - addr;
}

int emu_mem_lookup(uint64_t addr, uint64_t len, uint64_t *lo, uint64_t *hi)
{
    for (unsigned spins = 1;; spins++) {
        unsigned s1 = __atomic_load_n(&g_tab_seq, __ATOMIC_ACQUIRE);
        if (!(s1 & 1)) {
            range_tab *t = __atomic_load_n(&g_tab, __ATOMIC_ACQUIRE);
            size_t n = __atomic_load_n(&g_ntab, __ATOMIC_RELAXED);
            uint64_t flo = 0, fhi = 0;
            int found = t ? keys_containing(t, n, addr, len, &flo, &fhi) : 0;
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (__atomic_load_n(&g_tab_seq, __ATOMIC_RELAXED) == s1) {
                if (found && lo)
                    *lo = flo;
                if (found && hi)
                    *hi = fhi;
                return found;
            }
        }
        if (spins % 64 == 0)
            sched_yield();
    }
}

/* [addr, addr+len) across adjacent accessible VMM mappings (contiguous virtual memory, as a copy
 * may span them on a GPU). */
static int vmm_span_ok(uint64_t addr, uint64_t len)
{
    uint64_t end = addr + len;
    while (addr < end) {
        mem_rec r;
        if (!mem_table_find(addr, &r) || r.origin != MEM_ORIGIN_VMM)
            return 0;
        addr = r.base + r.size;
    }
    return 1;
}

CUresult emu_mem_check(uint64_t addr, size_t len)
{
    if (len == 0)
        return CUDA_SUCCESS;
    if (addr + len < addr)
        return CUDA_ERROR_INVALID_VALUE;
    if (emu_mem_lookup(addr, len, NULL, NULL))
        return CUDA_SUCCESS;
    return vmm_span_ok(addr, len) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

int emu_mem_kind_of(uint64_t addr, emu_ctx **ctx, uint64_t *base, size_t *size)
{
    mem_rec r;
    if (!mem_table_find(addr, &r))
        return 0;
    if (ctx)
        *ctx = r.ctx;
    if (base)
        *base = r.base;
    if (size)
        *size = r.size;
    return r.kind;
}

/* ===================================================================================== */
/* Allocation and release                                                                 */
/* ===================================================================================== */

void mem_rec_destroy(mem_rec *r)
{
    switch (r->origin) {
    case MEM_ORIGIN_DEVICE:
    case MEM_ORIGIN_MANAGED:
        mem_dev_release(r->device, r->block, r->block_size);
        break;
    case MEM_ORIGIN_POOL:
        mem_pool_return(r);
        return;
    case MEM_ORIGIN_HOST_ALLOC:
        munmap((void *)(uintptr_t)r->block, r->block_size);
        break;
    default:
        break;
    }
    free(r);
}

/* Carves device memory for ctx's device (trimming pools once when short) and registers it. */
static CUresult mem_alloc_device(emu_ctx *ctx, size_t size, size_t align, int origin, unsigned flags,
                                 uint64_t *out)
{
    int ord = ctx->dev->ordinal;
    uint64_t addr;
    size_t charged;
    CUresult rc = mem_dev_carve(ord, size, align, &addr, &charged);
    if (rc == CUDA_ERROR_OUT_OF_MEMORY && mem_pools_trim_device(ord) > 0)
        rc = mem_dev_carve(ord, size, align, &addr, &charged);
    if (rc != CUDA_SUCCESS)
        return rc;
    mem_rec *r = mem_rec_new();
    if (!r) {
        mem_dev_release(ord, addr, charged);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    r->base = addr;
    r->size = size;
    r->kind = origin == MEM_ORIGIN_MANAGED ? EMU_MEM_MANAGED : EMU_MEM_DEVICE;
    r->origin = origin;
    r->ctx = ctx;
    r->device = ord;
    r->flags = flags;
    r->block = addr;
    r->block_size = charged;
    if (mem_table_insert(r) != 0) {
        emu_log("internal: device allocation at 0x%llx overlaps a registered range",
                (unsigned long long)addr);
        mem_dev_release(ord, addr, charged);
        free(r);
        return CUDA_ERROR_UNKNOWN;
    }
    *out = addr;
    return CUDA_SUCCESS;
}

CUresult emu_mem_alloc(emu_ctx *ctx, size_t size, size_t align, uint64_t *out)
{
    if (!ctx || ctx->magic != EMU_CTX_MAGIC || !ctx->dev)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (!out || size == 0 || (align && !is_pow2(align)))
        return CUDA_ERROR_INVALID_VALUE;
    return mem_alloc_device(ctx, size, align, MEM_ORIGIN_DEVICE, 0, out);
}

/* Waits until the context that owns the range, and the calling one, have no queued work (either
 * may have copies or kernels in flight that touch it). Never from a stream's own worker thread. */
static void wait_users_idle(emu_ctx *owner, emu_ctx *caller)
{
    emu_ctx *c = owner ? emu_ctx_from_handle((CUcontext)owner) : NULL;
    if (c && !emu_stream_on_worker_of(c))
        emu_ctx_wait_idle(c);
    if (caller && caller != c && !emu_stream_on_worker_of(caller))
        emu_ctx_wait_idle(caller);
}

CUresult mem_free_range(uint64_t base, unsigned origin_mask, int sync, emu_ctx *wait_ctx)
{
    mem_rec info;
    if (!mem_table_find(base, &info) || info.base != base ||
        !(origin_mask & MEM_ORIGIN_BIT(info.origin)) || info.free_pending)
        return CUDA_ERROR_INVALID_VALUE;
    if (sync)
        wait_users_idle(info.ctx, wait_ctx);
    mem_rec *r = mem_table_claim(base, origin_mask, 0, info.buffer_id);
    if (!r)
        return CUDA_ERROR_INVALID_VALUE;
    mem_rec_destroy(r);
    return CUDA_SUCCESS;
}

CUresult emu_mem_free(uint64_t ptr)
{
    return mem_free_range(ptr, MEM_ORIGINS_DEVICE_SIDE, 0, NULL);
}

void emu_mem_release_ctx(emu_ctx *ctx)
{
    if (!ctx)
        return;
    size_t n = 0;
    mem_rec **recs = tab_claim_owned(ctx, &n);
    for (size_t i = 0; i < n; i++)
        mem_rec_destroy(recs[i]);
    free(recs);
}

/* ===================================================================================== */
/* Driver API: allocation                                                                 */
/* ===================================================================================== */

EMU_API CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dptr || bytesize == 0)
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t p;
    rc = mem_alloc_device(ctx, bytesize, 0, MEM_ORIGIN_DEVICE, 0, &p);
    if (rc == CUDA_SUCCESS)
        *dptr = (CUdeviceptr)p;
    return rc;
}

EMU_API CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pPitch, size_t WidthInBytes,
                                    size_t Height, unsigned int ElementSizeBytes)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dptr || !pPitch || WidthInBytes == 0 || Height == 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (ElementSizeBytes != 4 && ElementSizeBytes != 8 && ElementSizeBytes != 16)
        return CUDA_ERROR_INVALID_VALUE;
    if (WidthInBytes > SIZE_MAX - MEM_PITCH_ALIGN)
        return CUDA_ERROR_INVALID_VALUE;
    size_t pitch = (size_t)round_up(WidthInBytes, MEM_PITCH_ALIGN);
    if (Height > SIZE_MAX / pitch)
        return CUDA_ERROR_OUT_OF_MEMORY;
    uint64_t p;
    rc = mem_alloc_device(ctx, pitch * Height, MEM_PITCH_ALIGN, MEM_ORIGIN_DEVICE, 0, &p);
    if (rc == CUDA_SUCCESS) {
        *dptr = (CUdeviceptr)p;
        *pPitch = pitch;
    }
    return rc;
}

EMU_API CUresult cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize, unsigned int flags)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dptr || bytesize == 0 || (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST))
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t p;
    rc = mem_alloc_device(ctx, bytesize, 0, MEM_ORIGIN_MANAGED, flags, &p);
    if (rc == CUDA_SUCCESS)
        *dptr = (CUdeviceptr)p;
    return rc;
}

/* cuMemFree: synchronizes the owning context first, since queued work may still use the
 * memory. Accepts device, managed and stream-ordered allocations, as CUDA does. */
EMU_API CUresult cuMemFree_v2(CUdeviceptr dptr)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (dptr == 0)
        return CUDA_SUCCESS;
    return mem_free_range((uint64_t)dptr, MEM_ORIGINS_DEVICE_SIDE, 1, ctx);
}

EMU_API CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total_bytes)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!free_bytes && !total_bytes)
        return CUDA_ERROR_INVALID_VALUE;
    size_t total = ctx->dev->total_mem;
    size_t used = emu_mem_used(ctx->dev->ordinal);
    if (free_bytes)
        *free_bytes = used < total ? total - used : 0;
    if (total_bytes)
        *total_bytes = total;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    mem_rec r;
    if (!mem_table_find((uint64_t)dptr, &r))
        return CUDA_ERROR_NOT_FOUND;
    if (pbase)
        *pbase = (CUdeviceptr)r.base;
    if (psize)
        *psize = r.size;
    return CUDA_SUCCESS;
}

/* ===================================================================================== */
/* Driver API: pointer attributes                                                         */
/* ===================================================================================== */

#define PUT(type, value) do { type v_ = (value); memcpy(data, &v_, sizeof v_); } while (0)

static unsigned rec_memory_type(const mem_rec *r)
{
    return (r->kind == EMU_MEM_HOST || r->kind == EMU_MEM_REGISTERED) ? CU_MEMORYTYPE_HOST
                                                                       : CU_MEMORYTYPE_DEVICE;
}

static int rec_host_accessible(const mem_rec *r)
{
    return r->kind != EMU_MEM_DEVICE;
}

/* Writes one attribute of ptr (r: its range, NULL when CUDA does not know it). strict: the
 * cuPointerGetAttribute rules (unknown pointer or no value -> CUDA_ERROR_INVALID_VALUE);
 * otherwise cuPointerGetAttributes' (default values). Booleans are written as 32-bit ints. */
static CUresult pointer_attribute(CUpointer_attribute attr, const mem_rec *r, uint64_t ptr, void *data,
                                  int strict)
{
    if (!r && strict)
        return CUDA_ERROR_INVALID_VALUE;
    switch ((int)attr) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
        PUT(CUcontext, r ? (CUcontext)r->ctx : NULL);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
        PUT(unsigned int, r ? rec_memory_type(r) : 0u);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
        PUT(CUdeviceptr, r ? (CUdeviceptr)ptr : 0);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
        if (r && !rec_host_accessible(r) && strict)
            return CUDA_ERROR_INVALID_VALUE;
        PUT(void *, r && rec_host_accessible(r) ? (void *)(uintptr_t)ptr : NULL);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
        PUT(unsigned int, r ? (unsigned)r->sync_memops : 0u);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_BUFFER_ID:
    case CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID:
        PUT(unsigned long long, r ? r->buffer_id : 0ull);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
        PUT(unsigned int, r && r->kind == EMU_MEM_MANAGED);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
        PUT(int, r ? r->device : -2);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
        PUT(unsigned int, r && r->origin == MEM_ORIGIN_DEVICE);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
        PUT(CUdeviceptr, r ? (CUdeviceptr)r->base : 0);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
    case CU_POINTER_ATTRIBUTE_MAPPING_SIZE:
        PUT(size_t, r ? r->size : 0);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR:
        PUT(void *, r ? (void *)(uintptr_t)r->base : NULL);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_MAPPED:
        PUT(unsigned int, r != NULL);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES:
    case CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE:
    case CU_POINTER_ATTRIBUTE_IS_HW_DECOMPRESS_CAPABLE:
        PUT(unsigned int, 0u);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_ACCESS_FLAGS: {
        unsigned f = CU_MEM_ACCESS_FLAGS_PROT_NONE;
        if (r)
            f = (r->origin == MEM_ORIGIN_HOST_REGISTER && (r->flags & CU_MEMHOSTREGISTER_READ_ONLY))
                    ? CU_MEM_ACCESS_FLAGS_PROT_READ : CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
        PUT(unsigned int, f);
        return CUDA_SUCCESS;
    }
    case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
        PUT(CUmemoryPool, r ? (CUmemoryPool)r->pool : NULL);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_P2P_TOKENS:
        return strict ? CUDA_ERROR_NOT_SUPPORTED : CUDA_ERROR_INVALID_VALUE;
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
}

EMU_API CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr ptr)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!data)
        return CUDA_ERROR_INVALID_VALUE;
    mem_rec r;
    int known = mem_table_find((uint64_t)ptr, &r);
    return pointer_attribute(attribute, known ? &r : NULL, (uint64_t)ptr, data, 1);
}

EMU_API CUresult cuPointerGetAttributes(unsigned int numAttributes, CUpointer_attribute *attributes,
                                        void **data, CUdeviceptr ptr)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (numAttributes && (!attributes || !data))
        return CUDA_ERROR_INVALID_VALUE;
    mem_rec r;
    int known = mem_table_find((uint64_t)ptr, &r);
    for (unsigned i = 0; i < numAttributes; i++) {
        if (!data[i])
            return CUDA_ERROR_INVALID_VALUE;
        CUresult rc = pointer_attribute(attributes[i], known ? &r : NULL, (uint64_t)ptr, data[i], 0);
        if (rc != CUDA_SUCCESS)
            return rc;
    }
    return CUDA_SUCCESS;
}

EMU_API CUresult cuPointerSetAttribute(const void *value, CUpointer_attribute attribute, CUdeviceptr ptr)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!value || attribute != CU_POINTER_ATTRIBUTE_SYNC_MEMOPS)
        return CUDA_ERROR_INVALID_VALUE;
    unsigned int v;
    memcpy(&v, value, sizeof v);
    return mem_table_set_sync_memops((uint64_t)ptr, v != 0) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* ===================================================================================== */
/* Driver API: managed-memory hints                                                       */
/* ===================================================================================== */

/* Managed memory is always resident and coherent here, so prefetches and advice are validated
 * and then have nothing to do. */
static CUresult check_managed_range(CUdeviceptr p, size_t count)
{
    mem_rec r;
    if (count == 0 || !mem_table_find((uint64_t)p, &r) || r.kind != EMU_MEM_MANAGED ||
        emu_mem_check((uint64_t)p, count) != CUDA_SUCCESS)
        return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

static int location_valid(CUmemLocation loc)
{
    switch (loc.type) {
    case CU_MEM_LOCATION_TYPE_DEVICE:
        return emu_device_get(loc.id) != NULL;
    case CU_MEM_LOCATION_TYPE_HOST:
    case CU_MEM_LOCATION_TYPE_HOST_NUMA:
    case CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT:
        return 1;
    default:
        return 0;
    }
}

/* CUdevice form (CU_DEVICE_CPU is the host). */
static CUmemLocation location_of_device(CUdevice dev)
{
    CUmemLocation loc = { CU_MEM_LOCATION_TYPE_HOST, 0 };
    if (dev != CU_DEVICE_CPU) {
        loc.type = CU_MEM_LOCATION_TYPE_DEVICE;
        loc.id = dev;
    }
    return loc;
}

static CUresult prefetch(CUdeviceptr devPtr, size_t count, CUmemLocation location, unsigned flags, CUstream h)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_stream *s;
    rc = emu_stream_resolve(ctx, h, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (flags != 0 || !location_valid(location))
        return location.type == CU_MEM_LOCATION_TYPE_DEVICE ? CUDA_ERROR_INVALID_DEVICE : CUDA_ERROR_INVALID_VALUE;
    return check_managed_range(devPtr, count);
}

static CUresult advise(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUmemLocation location)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (advice < CU_MEM_ADVISE_SET_READ_MOSTLY || advice > CU_MEM_ADVISE_UNSET_ACCESSED_BY)
        return CUDA_ERROR_INVALID_VALUE;
    int needs_location = advice == CU_MEM_ADVISE_SET_PREFERRED_LOCATION || advice == CU_MEM_ADVISE_SET_ACCESSED_BY ||
                         advice == CU_MEM_ADVISE_UNSET_ACCESSED_BY;
    if (needs_location && !location_valid(location))
        return location.type == CU_MEM_LOCATION_TYPE_DEVICE ? CUDA_ERROR_INVALID_DEVICE : CUDA_ERROR_INVALID_VALUE;
    return check_managed_range(devPtr, count);
}

EMU_API CUresult cuMemPrefetchAsync_v2(CUdeviceptr devPtr, size_t count, CUmemLocation location,
                                       unsigned int flags, CUstream hStream)
{ return prefetch(devPtr, count, location, flags, hStream); }
EMU_API CUresult cuMemPrefetchAsync_v2_ptsz(CUdeviceptr devPtr, size_t count, CUmemLocation location,
                                            unsigned int flags, CUstream hStream)
{ return prefetch(devPtr, count, location, flags, emu_stream_ptsz(hStream)); }
EMU_API CUresult cuMemAdvise_v2(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUmemLocation location)
{ return advise(devPtr, count, advice, location); }

/* The CUDA 8-12 forms with a CUdevice (cuda.h maps the public names to the _v2 forms). */
EMU_API CUresult emu_cuMemPrefetchAsync_v1(CUdeviceptr, size_t, CUdevice, CUstream) __asm__("cuMemPrefetchAsync");
EMU_API CUresult emu_cuMemPrefetchAsync_v1(CUdeviceptr devPtr, size_t count, CUdevice dstDevice, CUstream hStream)
{ return prefetch(devPtr, count, location_of_device(dstDevice), 0, hStream); }
EMU_API CUresult emu_cuMemPrefetchAsync_v1_ptsz(CUdeviceptr, size_t, CUdevice, CUstream)
    __asm__("cuMemPrefetchAsync_ptsz");
EMU_API CUresult emu_cuMemPrefetchAsync_v1_ptsz(CUdeviceptr devPtr, size_t count, CUdevice dstDevice,
                                                CUstream hStream)
{ return prefetch(devPtr, count, location_of_device(dstDevice), 0, emu_stream_ptsz(hStream)); }
EMU_API CUresult emu_cuMemAdvise_v1(CUdeviceptr, size_t, CUmem_advise, CUdevice) __asm__("cuMemAdvise");
EMU_API CUresult emu_cuMemAdvise_v1(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUdevice device)
{ return advise(devPtr, count, advice, location_of_device(device)); }
