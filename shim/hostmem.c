/* hostmem.c: page-locked host memory, which lives on the client (owner: shim/): cuMemAllocHost,
 * cuMemHostAlloc, cuMemFreeHost, cuMemHostRegister/Unregister, cuMemHostGetFlags, and pointer
 * attributes (host ranges answered here as the driver would, with the context current when they
 * were made; device pointers by the server). A destroyed context takes its host allocations with
 * it. Kernels cannot reach client memory: cuMemHostGetDevicePointer returns
 * CUDA_ERROR_NOT_SUPPORTED. */
#include "rpc.h"
#include "bf_calls.h"
#include <pthread.h>
#include <stdlib.h>

typedef struct bf_hrange {
    uintptr_t base;
    size_t size;
    unsigned flags;
    int owned;
    CUcontext ctx;                  /* current when it was made (a token) */
    uint64_t id;                    /* buffer id */
    struct bf_hrange *next;
} bf_hrange;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static bf_hrange *g_ranges;
static uint64_t g_next_id = 1ull << 40;

static bf_hrange *find(uintptr_t p, int exact)
{
    for (bf_hrange *r = g_ranges; r; r = r->next)
        if (exact ? r->base == p : (p >= r->base && p < r->base + (r->size ? r->size : 1))) return r;
    return NULL;
}

void bf_hook_forget_all(CUresult r);

static CUresult add(void *p, size_t n, unsigned flags, int owned)
{
    bf_hrange *r = calloc(1, sizeof *r);
    if (!r) return CUDA_ERROR_OUT_OF_MEMORY;
    r->base = (uintptr_t)p; r->size = n; r->flags = flags; r->owned = owned;
    if (cuCtxGetCurrent(&r->ctx) != CUDA_SUCCESS) r->ctx = NULL;
    pthread_mutex_lock(&g_lock);
    r->id = g_next_id++;
    r->next = g_ranges;
    g_ranges = r;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}

static int take(void *p, int owned)
{
    pthread_mutex_lock(&g_lock);
    for (bf_hrange **pp = &g_ranges; *pp; pp = &(*pp)->next)
        if ((*pp)->base == (uintptr_t)p && (*pp)->owned == owned) {
            bf_hrange *r = *pp;
            *pp = r->next;
            pthread_mutex_unlock(&g_lock);
            free(r);
            return 1;
        }
    pthread_mutex_unlock(&g_lock);
    return 0;
}

BF_API CUresult CUDAAPI cuMemHostAlloc(void **pp, size_t n, unsigned int flags)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!pp || n == 0) return CUDA_ERROR_INVALID_VALUE;
    if (flags & ~(unsigned)(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED))
        return CUDA_ERROR_INVALID_VALUE;
    void *p = NULL;
    if (posix_memalign(&p, 4096, n) != 0) return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = add(p, n, flags, 1);
    if (r != CUDA_SUCCESS) { free(p); return r; }
    *pp = p;
    return CUDA_SUCCESS;
}

BF_API CUresult CUDAAPI cuMemAllocHost(void **pp, size_t n) { return cuMemHostAlloc(pp, n, 0); }

BF_API CUresult CUDAAPI cuMemFreeHost(void *p)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!take(p, 1)) return CUDA_ERROR_INVALID_VALUE;
    free(p);
    return CUDA_SUCCESS;
}

BF_API CUresult CUDAAPI cuMemHostRegister(void *p, size_t n, unsigned int flags)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!p || n == 0) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    int dup = find((uintptr_t)p, 0) != NULL || find((uintptr_t)p + n - 1, 0) != NULL;
    pthread_mutex_unlock(&g_lock);
    if (dup) return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
    return add(p, n, flags, 0);
}

BF_API CUresult CUDAAPI cuMemHostUnregister(void *p)
{
    if (!bf_connected()) return bf_not_connected_result();
    return take(p, 0) ? CUDA_SUCCESS : CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
}

BF_API CUresult CUDAAPI cuMemHostGetFlags(unsigned int *flags, void *p)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!flags) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    bf_hrange *r = find((uintptr_t)p, 0);
    if (r) *flags = r->flags;
    pthread_mutex_unlock(&g_lock);
    return r ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

BF_API CUresult CUDAAPI cuMemHostGetDevicePointer(CUdeviceptr *pd, void *p, unsigned int flags)
{
    static int logged;
    if (!bf_connected()) return bf_not_connected_result();
    if (!__atomic_exchange_n(&logged, 1, __ATOMIC_RELAXED))
        bf_log("cuMemHostGetDevicePointer: the GPU is remote and cannot reach this machine's memory "
               "(CUDA_ERROR_NOT_SUPPORTED); copy the data to device memory instead");
    return CUDA_ERROR_NOT_SUPPORTED;
}

static size_t attr_size(CUpointer_attribute a)
{
    switch (a) {
    case CU_POINTER_ATTRIBUTE_CONTEXT: case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
    case CU_POINTER_ATTRIBUTE_HOST_POINTER: case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE: case CU_POINTER_ATTRIBUTE_BUFFER_ID:
    case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES: case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
        return 8;
    case CU_POINTER_ATTRIBUTE_P2P_TOKENS:
        return sizeof(CUDA_POINTER_ATTRIBUTE_P2P_TOKENS);
    default:
        return 4;
    }
}

/* Attributes of client host memory, as the driver answers them (strict: cuPointerGetAttribute). */
static CUresult host_attr(bf_hrange *r, void *data, CUpointer_attribute a, CUdeviceptr p, int strict)
{
    uint64_t v = 0;
    switch ((int)a) {
    case CU_POINTER_ATTRIBUTE_CONTEXT: v = (uint64_t)(uintptr_t)r->ctx; break;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE: v = CU_MEMORYTYPE_HOST; break;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER: case CU_POINTER_ATTRIBUTE_HOST_POINTER: v = p; break;
    case CU_POINTER_ATTRIBUTE_BUFFER_ID: case CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID: v = r->id; break;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR: case CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR: v = r->base; break;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE: case CU_POINTER_ATTRIBUTE_MAPPING_SIZE: v = r->size; break;
    case CU_POINTER_ATTRIBUTE_MAPPED: v = 1; break;
    case CU_POINTER_ATTRIBUTE_ACCESS_FLAGS:
        v = (!r->owned && (r->flags & CU_MEMHOSTREGISTER_READ_ONLY)) ? CU_MEM_ACCESS_FLAGS_PROT_READ
                                                                     : CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
        break;
    case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS: case CU_POINTER_ATTRIBUTE_IS_MANAGED:
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
    case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES: case CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE:
    case CU_POINTER_ATTRIBUTE_IS_HW_DECOMPRESS_CAPABLE: case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
        v = 0;
        break;
    case CU_POINTER_ATTRIBUTE_P2P_TOKENS:
        return strict ? CUDA_ERROR_NOT_SUPPORTED : CUDA_ERROR_INVALID_VALUE;
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
    memcpy(data, &v, attr_size(a));
    return CUDA_SUCCESS;
}

/* cuCtxDestroy succeeded: the context's host allocations go with it (hook of the generated stub). */
void bf_shim_export_ctx_destroyed(CUcontext ctx);   /* export.c */
void bf_hook_cuCtxDestroy(CUresult r, CUcontext ctx)
{
    if (r == CUDA_SUCCESS) bf_shim_export_ctx_destroyed(ctx);   /* the runtime's storage of it */
    bf_hook_forget_all(r);
    if (r != CUDA_SUCCESS) return;
    pthread_mutex_lock(&g_lock);
    for (bf_hrange **pp = &g_ranges; *pp;) {
        bf_hrange *h = *pp;
        if (h->ctx != ctx) { pp = &h->next; continue; }
        *pp = h->next;
        if (h->owned) free((void *)h->base);
        free(h);
    }
    pthread_mutex_unlock(&g_lock);
}

BF_API CUresult CUDAAPI cuPointerGetAttribute(void *data, CUpointer_attribute a, CUdeviceptr p)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!data) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    bf_hrange *r = find((uintptr_t)p, 0);
    bf_hrange copy;
    if (r) copy = *r;
    pthread_mutex_unlock(&g_lock);
    if (r) return host_attr(&copy, data, a, p, 1);
    bf_call c;
    bf_call_init(&c, BF_FN_cuPointerGetAttribute, 0);
    bf_put(&c, a);
    bf_put(&c, p);
    CUresult res = bf_invoke(&c);
    if (res == CUDA_SUCCESS) bf_get_bytes(&c, data, attr_size(a));
    bf_call_done(&c);
    return res;
}

/* a: n, attributes..., ptr -> reply a: one value per attribute (contexts and pools as tokens) */
BF_API CUresult CUDAAPI cuPointerGetAttributes(unsigned int n, CUpointer_attribute *attrs, void **data,
                                               CUdeviceptr p)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (n && (!attrs || !data)) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    bf_hrange *r = find((uintptr_t)p, 0);
    bf_hrange copy;
    if (r) copy = *r;
    pthread_mutex_unlock(&g_lock);
    if (r) {
        for (unsigned i = 0; i < n; i++) {
            if (!data[i]) return CUDA_ERROR_INVALID_VALUE;
            CUresult res = host_attr(&copy, data[i], attrs[i], p, 0);
            if (res != CUDA_SUCCESS) return res;
        }
        return CUDA_SUCCESS;
    }
    if (n > 64) return CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < n; i++) if (!data[i]) return CUDA_ERROR_INVALID_VALUE;
    bf_call c;
    bf_call_init(&c, BF_FN_cuPointerGetAttributes, 0);
    bf_put(&c, n);
    for (unsigned i = 0; i < n; i++) bf_put(&c, (uint64_t)attrs[i]);
    bf_put(&c, p);
    CUresult res = bf_invoke(&c);
    for (unsigned i = 0; i < n && c.have_reply && res == CUDA_SUCCESS; i++) {
        uint64_t v = bf_get(&c);
        memcpy(data[i], &v, attr_size(attrs[i]) < 8 ? attr_size(attrs[i]) : 8);
    }
    bf_call_done(&c);
    return res;
}

/* fork.c: the host memory itself is copied into the child and stays registered there. */
void bf_hostmem_atfork(int phase)
{
    if (phase == BF_FORK_PREPARE) pthread_mutex_lock(&g_lock);
    else pthread_mutex_unlock(&g_lock);
}
