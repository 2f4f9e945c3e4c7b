/* memtrack.c: the device memory this client knows of (owner: shim/), so that stream-ordered calls
 * can be sent without waiting only when the driver could not refuse them at the call: a memset,
 * copy or free whose range lies inside a live allocation this process made goes async; anything
 * else (a range past the end, a pointer never seen, memory of a destroyed context) is sent sync and
 * its error returned by the call, as the driver does. Fed by hooks of the generated stubs
 * (proto/calls.spec `hook=`); anything that frees memory wholesale (a context destroyed or reset,
 * a module or library unloaded, a pool destroyed) forgets everything, which only costs round trips.
 * Sorted array of [base, base+size), binary search. */
#include "rpc.h"
#include <pthread.h>
#include <stdlib.h>

typedef struct { CUdeviceptr base; size_t size; } bf_range;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static bf_range *g_r;
static size_t g_n, g_cap;

/* index of the first range with base > p */
static size_t upper(CUdeviceptr p)
{
    size_t lo = 0, hi = g_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g_r[mid].base <= p) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static void forget_locked(CUdeviceptr base)
{
    size_t i = upper(base);
    if (i > 0 && g_r[i - 1].base == base) {
        memmove(&g_r[i - 1], &g_r[i], (g_n - i) * sizeof *g_r);
        g_n--;
    }
}

void bf_mem_add(CUdeviceptr base, size_t size)
{
    if (!base || !size) return;
    pthread_mutex_lock(&g_lock);
    forget_locked(base);
    if (g_n == g_cap) {
        size_t cap = g_cap ? g_cap * 2 : 256;
        bf_range *n = realloc(g_r, cap * sizeof *n);
        if (!n) { pthread_mutex_unlock(&g_lock); return; }
        g_r = n;
        g_cap = cap;
    }
    size_t i = upper(base);
    /* an overlapping range is stale (its memory was freed behind our back): drop it */
    if (i > 0 && g_r[i - 1].base + g_r[i - 1].size > base) { memmove(&g_r[i - 1], &g_r[i], (g_n - i) * sizeof *g_r); g_n--; i--; }
    while (i < g_n && g_r[i].base < base + size) { memmove(&g_r[i], &g_r[i + 1], (g_n - i - 1) * sizeof *g_r); g_n--; }
    memmove(&g_r[i + 1], &g_r[i], (g_n - i) * sizeof *g_r);
    g_r[i].base = base;
    g_r[i].size = size;
    g_n++;
    pthread_mutex_unlock(&g_lock);
}

void bf_mem_forget(CUdeviceptr base)
{
    pthread_mutex_lock(&g_lock);
    forget_locked(base);
    pthread_mutex_unlock(&g_lock);
}

void bf_mem_forget_range(CUdeviceptr p, size_t n)
{
    CUdeviceptr end = p + n < p ? (CUdeviceptr)-1 : p + n;
    pthread_mutex_lock(&g_lock);
    size_t w = 0;
    for (size_t i = 0; i < g_n; i++)
        if (!(g_r[i].base < end && g_r[i].base + g_r[i].size > p))
            g_r[w++] = g_r[i];
    g_n = w;
    pthread_mutex_unlock(&g_lock);
}

void bf_mem_forget_all(void)
{
    pthread_mutex_lock(&g_lock);
    g_n = 0;
    pthread_mutex_unlock(&g_lock);
}

int bf_mem_in(CUdeviceptr p, size_t n)
{
    pthread_mutex_lock(&g_lock);
    size_t i = upper(p);
    int in = i > 0 && p - g_r[i - 1].base <= g_r[i - 1].size && n <= g_r[i - 1].size - (p - g_r[i - 1].base);
    pthread_mutex_unlock(&g_lock);
    return in;
}

int bf_mem_in2d(CUdeviceptr p, size_t pitch, size_t width, size_t height)
{
    if (!height || !width) return bf_mem_in(p, 0);
    if (width > pitch || height - 1 > (SIZE_MAX - width) / pitch) return 0;
    return bf_mem_in(p, pitch * (height - 1) + width);
}

int bf_mem_is_base(CUdeviceptr p)
{
    pthread_mutex_lock(&g_lock);
    size_t i = upper(p);
    int is = i > 0 && g_r[i - 1].base == p;
    pthread_mutex_unlock(&g_lock);
    return is;
}

/* ---- hooks of the generated stubs (see calls.spec) ----------------------------------------------- */
static void bf_hook_alloc(CUresult r, CUdeviceptr *dptr, size_t bytesize)
{
    if (r == CUDA_SUCCESS && dptr) bf_mem_add(*dptr, bytesize);
}
void bf_hook_cuMemAlloc(CUresult r, CUdeviceptr *dptr, size_t bytesize) { bf_hook_alloc(r, dptr, bytesize); }
void bf_hook_cuMemAllocManaged(CUresult r, CUdeviceptr *dptr, size_t bytesize, unsigned int flags)
{
    bf_hook_alloc(r, dptr, bytesize);
}
void bf_hook_cuMemAllocAsync(CUresult r, CUdeviceptr *dptr, size_t bytesize, CUstream st) { bf_hook_alloc(r, dptr, bytesize); }
void bf_hook_cuMemAllocFromPoolAsync(CUresult r, CUdeviceptr *dptr, size_t bytesize, CUmemoryPool pool, CUstream st)
{
    bf_hook_alloc(r, dptr, bytesize);
}
void bf_hook_cuMemAllocPitch(CUresult r, CUdeviceptr *dptr, size_t *pitch, size_t w, size_t h, unsigned int elem)
{
    if (r == CUDA_SUCCESS && dptr && pitch) bf_mem_add(*dptr, *pitch * h);
}
static void global(CUresult r, CUdeviceptr *dptr, size_t *bytes)
{
    if (r == CUDA_SUCCESS && dptr && bytes) bf_mem_add(*dptr, *bytes);
}
void bf_hook_cuModuleGetGlobal(CUresult r, CUdeviceptr *d, size_t *b, CUmodule m, const char *n) { global(r, d, b); }
void bf_hook_cuLibraryGetGlobal(CUresult r, CUdeviceptr *d, size_t *b, CUlibrary l, const char *n) { global(r, d, b); }
void bf_hook_cuLibraryGetManaged(CUresult r, CUdeviceptr *d, size_t *b, CUlibrary l, const char *n) { global(r, d, b); }
/* hook=bf_hook_forget_all(): whatever freed memory wholesale (contexts destroyed or reset also
 * change the current context) */
void bf_shim_export_sweep(void);   /* export.c */
void bf_hook_forget_all(CUresult r)
{
    bf_ctx_destroyed();
    if (r == CUDA_SUCCESS) bf_mem_forget_all();
    if (r == CUDA_SUCCESS) bf_shim_export_sweep();   /* the runtime's storage of contexts now gone */
}
/* hook=bf_hook_ctx_changed(): push, pop, set current */
void bf_hook_ctx_changed(CUresult r) { bf_ctx_changed(); }
void bf_hook_cuMemFree(CUresult r, CUdeviceptr p) { bf_mem_forget(p); }
void bf_hook_cuMemFreeAsync(CUresult r, CUdeviceptr p, CUstream st) { bf_mem_forget(p); }
/* Virtual memory management: a mapped range becomes usable (known) when access to it is granted,
 * and is forgotten when access is taken away or it is unmapped. */
void bf_hook_cuMemSetAccess(CUresult r, CUdeviceptr p, size_t size, const CUmemAccessDesc *desc, size_t count)
{
    int grants = 0;
    for (size_t i = 0; desc && i < count; i++)
        grants |= desc[i].flags != CU_MEM_ACCESS_FLAGS_PROT_NONE;
    if (r == CUDA_SUCCESS && grants)
        bf_mem_add(p, size);
    else if (r == CUDA_SUCCESS)
        bf_mem_forget_range(p, size);
}
void bf_hook_cuMemUnmap(CUresult r, CUdeviceptr p, size_t size)
{
    if (r == CUDA_SUCCESS) bf_mem_forget_range(p, size);
}

/* fork.c: the list's lock is held across fork(2), so the child's copy is consistent. */
void bf_memtrack_atfork(int phase)
{
    if (phase == BF_FORK_PREPARE)
        pthread_mutex_lock(&g_lock);
    else
        pthread_mutex_unlock(&g_lock);
}
