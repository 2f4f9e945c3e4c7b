/* vmm.c: virtual memory management of the software GPU: cuMemGetAllocationGranularity,
 * cuMemCreate / cuMemRelease / cuMemRetainAllocationHandle / cuMemGetAllocationPropertiesFromHandle
 * (physical allocations), cuMemAddressReserve / cuMemAddressFree (reservations), cuMemMap /
 * cuMemUnmap (mappings) and cuMemSetAccess / cuMemGetAccess (access).
 * Owns the address range reservations are carved from (one inaccessible host reservation apart
 * from every device's range, so it never overlaps normal allocations), the reservations, the
 * physical allocations (each a memfd, so one allocation can appear at several addresses; charged
 * to its device like cuMemAlloc) and the mappings (the memfd mapped at the reserved address).
 * A mapping is registered in memory.c's range table, which kernels and copies consult, only while
 * some device has access to it; anything else faults as on a GPU (kernels: ILLEGAL_ADDRESS,
 * copies: INVALID_VALUE). Physical memory is freed once its handle is released (every retain
 * included) and it is mapped nowhere.
 * Limits: all devices share one address space here, so access granted to one device lets every
 * device reach the mapping; read-only access is refused with CUDA_ERROR_NOT_SUPPORTED (the
 * interpreter cannot fault a store to readable memory). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mem_internal.h"

#define VMM_GRANULE  (2ull << 20)             /* minimum and recommended granularity */
#define VMM_VA_BASE  0x400000000000ull        /* 64 TiB: above every device's range (device.c) */
#define VMM_VA_SIZE  0x080000000000ull        /* 8 TiB */
#define VMM_VA_MIN   (64ull << 30)            /* smallest range accepted when VMM_VA_BASE is taken */
#define HANDLE_TAG   0xb17f000000000000ull    /* handle values: tag | serial number */

typedef struct vmm_phys {
    unsigned long long handle;
    int fd;                       /* memfd holding the memory */
    size_t size;
    int device;                   /* visible ordinal the memory is charged to */
    CUmemAllocationProp prop;
    int refs;                     /* cuMemCreate + cuMemRetainAllocationHandle - cuMemRelease */
    int maps;                     /* live mappings */
    struct vmm_phys *next;
} vmm_phys;

typedef struct vmm_map {
    uint64_t va;
    size_t size;
    vmm_phys *phys;
    unsigned long long access[EMU_MAX_DEVICES];   /* CUmemAccess_flags per device */
    int registered;               /* in the range table (some device has access) */
    struct vmm_map *next;
} vmm_map;

typedef struct vmm_resv { uint64_t lo, hi; } vmm_resv;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_va_lo, g_va_hi;        /* the range reservations come from; 0 until needed */
static vmm_resv *g_resv;                 /* sorted by address, never overlapping */
static size_t g_nresv, g_capresv;
static vmm_phys *g_phys;
static vmm_map *g_maps;
static unsigned long long g_serial;

static uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
static int is_pow2(uint64_t v) { return v && !(v & (v - 1)); }
static int granular(uint64_t v) { return v % VMM_GRANULE == 0; }

/* ===================================================================================== */
/* The reservation range                                                                  */
/* ===================================================================================== */

/* Reserves the range inaccessible at VMM_VA_BASE, else the largest one (down to VMM_VA_MIN) the
 * kernel places elsewhere. g_lock held. */
static int va_init_locked(void)
{
    if (g_va_hi)
        return 0;
    void *want = (void *)(uintptr_t)VMM_VA_BASE;
    void *p = mmap(want, VMM_VA_SIZE, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    uint64_t size = VMM_VA_SIZE;
    if (p != MAP_FAILED && p != want) {
        munmap(p, size);
        p = MAP_FAILED;
    }
    while (p == MAP_FAILED && size / 2 >= VMM_VA_MIN) {
        size /= 2;
        p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (p == MAP_FAILED) {
        emu_log("cannot reserve address space for virtual memory management");
        return -1;
    }
    uint64_t lo = round_up((uint64_t)(uintptr_t)p, VMM_GRANULE);
    uint64_t hi = ((uint64_t)(uintptr_t)p + size) / VMM_GRANULE * VMM_GRANULE;
    __atomic_store_n(&g_va_hi, hi, __ATOMIC_RELAXED);
    __atomic_store_n(&g_va_lo, lo, __ATOMIC_RELEASE);
    return 0;
}

int mem_vmm_in_va(uint64_t addr, uint64_t len)
{
    uint64_t lo = __atomic_load_n(&g_va_lo, __ATOMIC_ACQUIRE);
    uint64_t hi = __atomic_load_n(&g_va_hi, __ATOMIC_RELAXED);
    uint64_t end = addr + (len ? len : 1);
    if (end < addr)
        end = UINT64_MAX;
    return lo && addr < hi && end > lo;
}

/* Makes [va, va+size) inaccessible and unbacked again (a reservation). */
static void va_make_reserved(uint64_t va, size_t size)
{
    void *p = mmap((void *)(uintptr_t)va, size, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED)
        emu_log("cannot return 0x%llx (+%zu) to the reserved state", (unsigned long long)va, size);
}

/* ===================================================================================== */
/* Reservations (g_lock held)                                                             */
/* ===================================================================================== */

/* Index of the first reservation with lo >= addr. */
static size_t resv_lower(uint64_t addr)
{
    size_t lo = 0, hi = g_nresv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g_resv[mid].lo < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Is [a, b) inside the range and clear of every reservation? */
static int resv_free(uint64_t a, uint64_t b)
{
    if (a < g_va_lo || b > g_va_hi || b <= a)
        return 0;
    size_t i = resv_lower(a);
    if (i > 0 && g_resv[i - 1].hi > a)
        return 0;
    return i == g_nresv || g_resv[i].lo >= b;
}

/* First address aligned to align where size bytes fit; 0 when none. */
static uint64_t resv_first_fit(uint64_t size, uint64_t align)
{
    uint64_t gap = g_va_lo;
    for (size_t i = 0; i <= g_nresv; i++) {
        uint64_t end = i < g_nresv ? g_resv[i].lo : g_va_hi;
        uint64_t a = round_up(gap, align);
        if (a >= gap && a <= end && end - a >= size)
            return a;
        if (i < g_nresv)
            gap = g_resv[i].hi;
    }
    return 0;
}

static int resv_insert(uint64_t lo, uint64_t hi)
{
    if (g_nresv == g_capresv) {
        size_t cap = g_capresv ? g_capresv * 2 : 16;
        vmm_resv *n = realloc(g_resv, cap * sizeof *n);
        if (!n)
            return -1;
        g_resv = n;
        g_capresv = cap;
    }
    size_t i = resv_lower(lo);
    memmove(&g_resv[i + 1], &g_resv[i], (g_nresv - i) * sizeof *g_resv);
    g_resv[i] = (vmm_resv){ lo, hi };
    g_nresv++;
    return 0;
}

/* The reservation containing [a, b), or NULL. */
static vmm_resv *resv_containing(uint64_t a, uint64_t b)
{
    size_t i = resv_lower(a + 1);
    if (i == 0 || b < a)
        return NULL;
    vmm_resv *r = &g_resv[i - 1];
    return (a >= r->lo && b <= r->hi) ? r : NULL;
}

/* ===================================================================================== */
/* Physical allocations and mappings (g_lock held)                                        */
/* ===================================================================================== */

/* A physical allocation whose handle is live (not released), or NULL. */
static vmm_phys *phys_find(unsigned long long handle)
{
    for (vmm_phys *p = g_phys; p; p = p->next)
        if (p->handle == handle && p->refs > 0)
            return p;
    return NULL;
}

/* Frees p when it is released and mapped nowhere. */
static void phys_maybe_free(vmm_phys *p)
{
    if (p->refs > 0 || p->maps > 0)
        return;
    for (vmm_phys **pp = &g_phys; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    close(p->fd);
    emu_mem_uncharge(p->device, p->size);
    free(p);
}

static vmm_map *map_containing(uint64_t addr)
{
    for (vmm_map *m = g_maps; m; m = m->next)
        if (addr >= m->va && addr - m->va < m->size)
            return m;
    return NULL;
}

static int map_overlaps(uint64_t a, uint64_t b)
{
    for (vmm_map *m = g_maps; m; m = m->next)
        if (a < m->va + m->size && b > m->va)
            return 1;
    return 0;
}

/* Collects the mappings that tile [a, b) exactly (whole mappings, no gaps), in address order.
 * Returns their number (*out malloc'd), 0 when [a, b) is not such a range, -1 out of memory. */
static long maps_tiling(uint64_t a, uint64_t b, vmm_map ***out)
{
    size_t n = 0;
    for (vmm_map *m = g_maps; m; m = m->next)
        n += m->va >= a && m->va < b;
    if (n == 0)
        return 0;
    vmm_map **v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    size_t k = 0;
    for (uint64_t at = a; at < b; k++) {
        vmm_map *m = map_containing(at);
        if (!m || m->va != at || m->size > b - at || k == n) {
            free(v);
            return 0;
        }
        v[k] = m;
        at += m->size;
    }
    *out = v;
    return (long)k;
}

/* Adds the mapping to the range table (kernels and copies may use it) or takes it out. */
static CUresult map_register(vmm_map *m, int on)
{
    if (on == m->registered)
        return CUDA_SUCCESS;
    if (!on) {
        mem_rec *r = mem_table_claim(m->va, MEM_ORIGIN_BIT(MEM_ORIGIN_VMM), 1, 0);
        free(r);
        mprotect((void *)(uintptr_t)m->va, m->size, PROT_NONE);
        m->registered = 0;
        return CUDA_SUCCESS;
    }
    mem_rec *r = mem_rec_new();
    if (!r)
        return CUDA_ERROR_OUT_OF_MEMORY;
    r->base = m->va;
    r->size = m->size;
    r->kind = EMU_MEM_DEVICE;
    r->origin = MEM_ORIGIN_VMM;
    r->device = m->phys->device;
    if (mprotect((void *)(uintptr_t)m->va, m->size, PROT_READ | PROT_WRITE) != 0 || mem_table_insert(r) != 0) {
        mprotect((void *)(uintptr_t)m->va, m->size, PROT_NONE);
        free(r);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    m->registered = 1;
    return CUDA_SUCCESS;
}

static int map_accessible(const vmm_map *m)
{
    for (int d = 0; d < EMU_MAX_DEVICES; d++)
        if (m->access[d] != CU_MEM_ACCESS_FLAGS_PROT_NONE)
            return 1;
    return 0;
}

static void map_destroy(vmm_map *m)
{
    map_register(m, 0);
    va_make_reserved(m->va, m->size);
    for (vmm_map **pp = &g_maps; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    m->phys->maps--;
    phys_maybe_free(m->phys);
    free(m);
}

/* ===================================================================================== */
/* Validation                                                                             */
/* ===================================================================================== */

static CUresult check_device_location(const CUmemLocation *loc)
{
    switch (loc->type) {
    case CU_MEM_LOCATION_TYPE_DEVICE:
        return emu_device_get(loc->id) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
    case CU_MEM_LOCATION_TYPE_HOST:
    case CU_MEM_LOCATION_TYPE_HOST_NUMA:
        return CUDA_ERROR_NOT_SUPPORTED;   /* CU_DEVICE_ATTRIBUTE_HOST_VIRTUAL_MEMORY_... = 0 */
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
}

/* The properties cuMemCreate and cuMemGetAllocationGranularity accept: pinned device memory
 * that is not exported. */
static CUresult check_prop(const CUmemAllocationProp *prop)
{
    if (prop->type != CU_MEM_ALLOCATION_TYPE_PINNED || prop->win32HandleMetaData)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = check_device_location(&prop->location);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (prop->requestedHandleTypes != CU_MEM_HANDLE_TYPE_NONE)
        return CUDA_ERROR_NOT_SUPPORTED;   /* no shareable handles (device attributes say 0) */
    return CUDA_SUCCESS;
}

static CUresult check_access_desc(const CUmemAccessDesc *d)
{
    if (d->location.type != CU_MEM_LOCATION_TYPE_DEVICE)
        return CUDA_ERROR_INVALID_VALUE;
    if (!emu_device_get(d->location.id))
        return CUDA_ERROR_INVALID_DEVICE;
    switch (d->flags) {
    case CU_MEM_ACCESS_FLAGS_PROT_NONE:
    case CU_MEM_ACCESS_FLAGS_PROT_READWRITE:
        return CUDA_SUCCESS;
    case CU_MEM_ACCESS_FLAGS_PROT_READ:
        emu_log("cuMemSetAccess: read-only access is not supported by the software GPU");
        return CUDA_ERROR_NOT_SUPPORTED;
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
}

/* ===================================================================================== */
/* Driver API: granularity and physical allocations                                       */
/* ===================================================================================== */

EMU_API CUresult cuMemGetAllocationGranularity(size_t *granularity, const CUmemAllocationProp *prop,
                                               CUmemAllocationGranularity_flags option)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!granularity || !prop ||
        (option != CU_MEM_ALLOC_GRANULARITY_MINIMUM && option != CU_MEM_ALLOC_GRANULARITY_RECOMMENDED))
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = check_prop(prop);
    if (rc == CUDA_SUCCESS)
        *granularity = VMM_GRANULE;
    return rc;
}

/* A memfd of size bytes (zero-filled, pages allocated when first touched); -1 on failure. */
static int phys_backing(size_t size)
{
    int fd = memfd_create("bitfusion-emu-vmm", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

EMU_API CUresult cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size, const CUmemAllocationProp *prop,
                             unsigned long long flags)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!handle || !prop || flags != 0 || size == 0 || !granular(size))
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = check_prop(prop);
    if (rc != CUDA_SUCCESS)
        return rc;
    int dev = prop->location.id;
    rc = emu_mem_charge(dev, size);
    if (rc != CUDA_SUCCESS)
        return rc;
    vmm_phys *p = calloc(1, sizeof *p);
    int fd = p ? phys_backing(size) : -1;
    if (fd < 0) {
        free(p);
        emu_mem_uncharge(dev, size);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    p->fd = fd;
    p->size = size;
    p->device = dev;
    p->prop = *prop;
    p->prop.allocFlags.compressionType = CU_MEM_ALLOCATION_COMP_NONE;   /* never compressed here */
    p->prop.allocFlags.gpuDirectRDMACapable = 0;
    p->refs = 1;
    pthread_mutex_lock(&g_lock);
    p->handle = HANDLE_TAG | ++g_serial;
    p->next = g_phys;
    g_phys = p;
    *handle = p->handle;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemRelease(CUmemGenericAllocationHandle handle)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    CUresult rc = CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    vmm_phys *p = phys_find(handle);
    if (p) {
        p->refs--;
        phys_maybe_free(p);
        rc = CUDA_SUCCESS;
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

EMU_API CUresult cuMemGetAllocationPropertiesFromHandle(CUmemAllocationProp *prop, CUmemGenericAllocationHandle handle)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!prop)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    vmm_phys *p = phys_find(handle);
    if (p)
        *prop = p->prop;
    pthread_mutex_unlock(&g_lock);
    return p ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

EMU_API CUresult cuMemRetainAllocationHandle(CUmemGenericAllocationHandle *handle, void *addr)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!handle)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    vmm_map *m = map_containing((uint64_t)(uintptr_t)addr);
    if (m) {
        m->phys->refs++;
        *handle = m->phys->handle;
    }
    pthread_mutex_unlock(&g_lock);
    return m ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* ===================================================================================== */
/* Driver API: reservations                                                               */
/* ===================================================================================== */

/* Where a reservation of size bytes goes: the hint when it is suitably aligned and free, else
 * the first fit. 0 when the range is full. g_lock held. */
static uint64_t resv_place(size_t size, uint64_t align, uint64_t hint)
{
    if (hint && hint % align == 0 && hint + size > hint && resv_free(hint, hint + size))
        return hint;
    return resv_first_fit(size, align);
}

EMU_API CUresult cuMemAddressReserve(CUdeviceptr *ptr, size_t size, size_t alignment, CUdeviceptr addr,
                                     unsigned long long flags)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (!ptr || size == 0 || size % page || addr % page || (alignment && !is_pow2(alignment)) || flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t align = alignment > VMM_GRANULE ? alignment : VMM_GRANULE;
    CUresult rc = CUDA_ERROR_OUT_OF_MEMORY;
    pthread_mutex_lock(&g_lock);
    uint64_t at = va_init_locked() == 0 ? resv_place(size, align, addr) : 0;
    if (at && resv_insert(at, at + size) == 0) {
        *ptr = (CUdeviceptr)at;
        rc = CUDA_SUCCESS;
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

/* The reservation must be given back whole, and unmapped. */
EMU_API CUresult cuMemAddressFree(CUdeviceptr ptr, size_t size)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    CUresult rc = CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    size_t i = g_nresv ? resv_lower((uint64_t)ptr) : 0;
    if (i < g_nresv && g_resv[i].lo == ptr && g_resv[i].hi - g_resv[i].lo == size &&
        !map_overlaps(g_resv[i].lo, g_resv[i].hi)) {
        memmove(&g_resv[i], &g_resv[i + 1], (g_nresv - i - 1) * sizeof *g_resv);
        g_nresv--;
        rc = CUDA_SUCCESS;
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

/* ===================================================================================== */
/* Driver API: mappings                                                                   */
/* ===================================================================================== */

/* Validates a new mapping of [va, va+size) from offset of handle; g_lock held. */
static CUresult map_check(uint64_t va, size_t size, size_t offset, vmm_phys *p)
{
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    if (offset > p->size || size > p->size - offset)
        return CUDA_ERROR_INVALID_VALUE;
    if (va + size < va || !resv_containing(va, va + size) || map_overlaps(va, va + size))
        return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemMap(CUdeviceptr ptr, size_t size, size_t offset, CUmemGenericAllocationHandle handle,
                          unsigned long long flags)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (flags != 0 || size == 0 || !granular(ptr) || !granular(size) || !granular(offset))
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t va = (uint64_t)ptr;
    pthread_mutex_lock(&g_lock);
    vmm_phys *p = phys_find(handle);
    CUresult rc = map_check(va, size, offset, p);
    vmm_map *m = rc == CUDA_SUCCESS ? calloc(1, sizeof *m) : NULL;
    if (rc == CUDA_SUCCESS && !m)
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (m) {
        void *at = mmap((void *)(uintptr_t)va, size, PROT_NONE, MAP_SHARED | MAP_FIXED, p->fd, (off_t)offset);
        if (at == MAP_FAILED) {
            va_make_reserved(va, size);
            free(m);
            rc = CUDA_ERROR_OUT_OF_MEMORY;
        } else {
            m->va = va;
            m->size = size;
            m->phys = p;
            m->next = g_maps;
            g_maps = m;
            p->maps++;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

/* The range must be whole mappings, one or several adjacent ones. Queued work that may use them
 * finishes first (the call is synchronous, as CUDA's is). */
EMU_API CUresult cuMemUnmap(CUdeviceptr ptr, size_t size)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    uint64_t a = (uint64_t)ptr, b = a + size;
    if (size == 0 || b < a)
        return CUDA_ERROR_INVALID_VALUE;
    emu_ctx_wait_all_idle();
    pthread_mutex_lock(&g_lock);
    vmm_map **v = NULL;
    long n = maps_tiling(a, b, &v);
    for (long i = 0; i < n; i++)
        map_destroy(v[i]);
    pthread_mutex_unlock(&g_lock);
    free(v);
    return n > 0 ? CUDA_SUCCESS : n < 0 ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_INVALID_VALUE;
}

/* ===================================================================================== */
/* Driver API: access                                                                     */
/* ===================================================================================== */

static CUresult set_access_locked(vmm_map **v, long n, const CUmemAccessDesc *desc, size_t count)
{
    for (long i = 0; i < n; i++) {
        for (size_t k = 0; k < count; k++)
            v[i]->access[desc[k].location.id] = desc[k].flags;
        CUresult rc = map_register(v[i], map_accessible(v[i]));
        if (rc != CUDA_SUCCESS)
            return rc;
    }
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemSetAccess(CUdeviceptr ptr, size_t size, const CUmemAccessDesc *desc, size_t count)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    uint64_t a = (uint64_t)ptr, b = a + size;
    if (!desc || count == 0 || size == 0 || b < a)
        return CUDA_ERROR_INVALID_VALUE;
    int revokes = 0;
    for (size_t k = 0; k < count; k++) {
        CUresult rc = check_access_desc(&desc[k]);
        if (rc != CUDA_SUCCESS)
            return rc;
        revokes |= desc[k].flags == CU_MEM_ACCESS_FLAGS_PROT_NONE;
    }
    if (revokes)
        emu_ctx_wait_all_idle();   /* work in flight may still use the range */
    pthread_mutex_lock(&g_lock);
    vmm_map **v = NULL;
    long n = maps_tiling(a, b, &v);
    CUresult rc = n > 0 ? set_access_locked(v, n, desc, count)
                        : n < 0 ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_unlock(&g_lock);
    free(v);
    return rc;
}

EMU_API CUresult cuMemGetAccess(unsigned long long *flags, const CUmemLocation *location, CUdeviceptr ptr)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!flags || !location)
        return CUDA_ERROR_INVALID_VALUE;
    if (location->type != CU_MEM_LOCATION_TYPE_DEVICE)
        return CUDA_ERROR_INVALID_VALUE;
    if (!emu_device_get(location->id))
        return CUDA_ERROR_INVALID_DEVICE;
    pthread_mutex_lock(&g_lock);
    vmm_map *m = map_containing((uint64_t)ptr);
    if (m)
        *flags = m->access[location->id];
    pthread_mutex_unlock(&g_lock);
    return m ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
