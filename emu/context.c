/* context.c: contexts of the software GPU. Owns the live-handle registry (emu_handle_*), context
 * objects (never freed, so a stale handle is recognised as destroyed), each thread's context
 * stack, primary contexts, each context's memory reservation (BITFUSION_EMU_CTX_RESERVE_MB),
 * emu_ctx_enter, sticky errors, the cuCtx* / cuDevicePrimaryCtx* entry points (limits, flags,
 * cache config, peer access), and cuProfilerStart/Stop (accepted: no profiler runs on the
 * software GPU). */
#include "emu.h"
#include <cudaProfiler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- live-handle registry: an open-addressing pointer set -------------------------------- */
typedef struct handle_slot {
    const void *key;
    int kind;
} handle_slot;

static handle_slot *g_slots;
static size_t g_slot_cap, g_slot_len;
static pthread_rwlock_t g_slot_lock = PTHREAD_RWLOCK_INITIALIZER;

static size_t slot_hash(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static void slot_insert_nolock(const void *h, int kind)
{
    size_t i = slot_hash(h, g_slot_cap);
    while (g_slots[i].key && g_slots[i].key != h)
        i = (i + 1) & (g_slot_cap - 1);
    if (!g_slots[i].key)
        g_slot_len++;
    g_slots[i].key = h;
    g_slots[i].kind = kind;
}

static int slot_grow_nolock(void)
{
    size_t old_cap = g_slot_cap;
    handle_slot *old = g_slots;
    size_t cap = old_cap ? old_cap * 2 : 256;
    handle_slot *n = calloc(cap, sizeof *n);
    if (!n)
        return -1;
    g_slots = n;
    g_slot_cap = cap;
    g_slot_len = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            slot_insert_nolock(old[i].key, old[i].kind);
    free(old);
    return 0;
}

void emu_handle_add(const void *h, int kind)
{
    if (!h)
        return;
    pthread_rwlock_wrlock(&g_slot_lock);
    if ((g_slot_len + 1) * 2 > g_slot_cap && slot_grow_nolock() != 0) {
        pthread_rwlock_unlock(&g_slot_lock);
        emu_log("out of memory growing the handle registry");
        return;
    }
    slot_insert_nolock(h, kind);
    pthread_rwlock_unlock(&g_slot_lock);
}

/* Linear probing with backward-shift deletion keeps lookups tombstone-free. */
void emu_handle_remove(const void *h)
{
    if (!h)
        return;
    pthread_rwlock_wrlock(&g_slot_lock);
    if (g_slot_cap) {
        size_t i = slot_hash(h, g_slot_cap);
        while (g_slots[i].key && g_slots[i].key != h)
            i = (i + 1) & (g_slot_cap - 1);
        if (g_slots[i].key) {
            g_slots[i].key = NULL;
            g_slot_len--;
            size_t j = i;
            for (;;) {
                j = (j + 1) & (g_slot_cap - 1);
                if (!g_slots[j].key)
                    break;
                size_t want = slot_hash(g_slots[j].key, g_slot_cap);
                int movable = (j > i) ? (want <= i || want > j) : (want <= i && want > j);
                if (movable) {
                    g_slots[i] = g_slots[j];
                    g_slots[j].key = NULL;
                    i = j;
                }
            }
        }
    }
    pthread_rwlock_unlock(&g_slot_lock);
}

int emu_handle_is(const void *h, int kind)
{
    int found = 0;
    if (!h)
        return 0;
    pthread_rwlock_rdlock(&g_slot_lock);
    if (g_slot_cap) {
        size_t i = slot_hash(h, g_slot_cap);
        while (g_slots[i].key && g_slots[i].key != h)
            i = (i + 1) & (g_slot_cap - 1);
        found = g_slots[i].key == h && g_slots[i].kind == kind;
    }
    pthread_rwlock_unlock(&g_slot_lock);
    return found;
}

/* ---- context objects ---------------------------------------------------------------------- */
#define MAX_PEERS 64

typedef struct ctx_impl {
    emu_ctx pub;
    uint64_t id;
    int live;                  /* registered; 0 once destroyed (or a released primary) */
    int cache_config;          /* CUfunc_cache */
    int shmem_config;          /* CUsharedconfig */
    emu_ctx *peers[MAX_PEERS]; /* contexts this one may access (cuCtxEnablePeerAccess) */
    int npeers;
    struct ctx_impl *all_next; /* every context ever made: they are never freed */
} ctx_impl;

static pthread_mutex_t g_ctx_lock = PTHREAD_MUTEX_INITIALIZER;  /* ids, list, primaries */
static ctx_impl *g_all_ctx;
static uint64_t g_next_ctx_id = 1;

static ctx_impl *impl_of(emu_ctx *c) { return (ctx_impl *)c; }

/* export_emu.c: runs the CUDA runtime's context-local storage destructors of a dying context. */
void emu_export_ctx_destroyed(emu_ctx *ctx);

/* Weak: memory.c provides it; until it does, contexts have no memory of their own to free. */
#pragma weak emu_mem_release_ctx

/* CUDA's defaults for cuCtxGetLimit. */
static void ctx_default_limits(emu_ctx *c)
{
    memset(c->limits, 0, sizeof c->limits);
    c->limits[CU_LIMIT_STACK_SIZE] = 1024;
    c->limits[CU_LIMIT_PRINTF_FIFO_SIZE] = 1 << 20;
    c->limits[CU_LIMIT_MALLOC_HEAP_SIZE] = 8 << 20;
    c->limits[CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH] = 2;
    c->limits[CU_LIMIT_DEV_RUNTIME_PENDING_LAUNCH_COUNT] = 2048;
    c->limits[CU_LIMIT_MAX_L2_FETCH_GRANULARITY] = 128;
    c->limits[CU_LIMIT_PERSISTING_L2_CACHE_SIZE] = 0;
}

static ctx_impl *ctx_alloc(emu_device *dev, unsigned flags, int is_primary)
{
    ctx_impl *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->pub.lock, NULL);
    c->pub.dev = dev;
    c->pub.flags = flags;
    c->pub.is_primary = is_primary;
    pthread_mutex_lock(&g_ctx_lock);
    c->id = g_next_ctx_id++;
    c->all_next = g_all_ctx;
    g_all_ctx = c;
    pthread_mutex_unlock(&g_ctx_lock);
    return c;
}

/* Brings a context (new, or a primary being retained/reset) to its initial working state; it
 * takes its device's context reservation (BITFUSION_EMU_CTX_RESERVE_MB), OUT_OF_MEMORY when that
 * does not fit. */
static CUresult ctx_activate(ctx_impl *c)
{
    c->pub.sticky = CUDA_SUCCESS;
    c->pub.sticky_msg[0] = 0;
    c->cache_config = CU_FUNC_CACHE_PREFER_NONE;
    c->shmem_config = CU_SHARED_MEM_CONFIG_FOUR_BYTE_BANK_SIZE;
    c->npeers = 0;
    ctx_default_limits(&c->pub);
    CUresult rc = emu_mem_charge(c->pub.dev->ordinal, c->pub.dev->ctx_reserve);
    if (rc != CUDA_SUCCESS)
        return rc;
    c->pub.magic = EMU_CTX_MAGIC;
    rc = emu_stream_ctx_init(&c->pub);
    if (rc != CUDA_SUCCESS) {
        c->pub.magic = 0;
        emu_mem_uncharge(c->pub.dev->ordinal, c->pub.dev->ctx_reserve);
        return rc;
    }
    c->live = 1;
    emu_handle_add(c, EMU_H_CTX);
    return CUDA_SUCCESS;
}

/* Waits for the context's work, then frees its modules, streams, events and memory. The object
 * itself stays (dead) so stale handles are recognised. */
static void ctx_deactivate(ctx_impl *c)
{
    emu_ctx *ctx = &c->pub;
    emu_ctx_wait_idle(ctx);
    emu_export_ctx_destroyed(ctx);   /* the runtime's context-local storage destructors */
    emu_handle_remove(c);
    c->live = 0;
    emu_module_release_ctx(ctx);
    emu_stream_release_ctx(ctx);
    if (emu_mem_release_ctx)
        emu_mem_release_ctx(ctx);
    emu_mem_uncharge(ctx->dev->ordinal, ctx->dev->ctx_reserve);
    ctx->magic = 0;
    c->npeers = 0;
}

void emu_ctx_wait_all_idle(void)
{
    size_t n = 0, cap = 0;
    emu_ctx **live = NULL;
    pthread_mutex_lock(&g_ctx_lock);
    for (ctx_impl *c = g_all_ctx; c; c = c->all_next) {
        if (!c->live)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            emu_ctx **grown = realloc(live, ncap * sizeof *grown);
            if (!grown)
                break;
            live = grown;
            cap = ncap;
        }
        live[n++] = &c->pub;
    }
    pthread_mutex_unlock(&g_ctx_lock);
    for (size_t i = 0; i < n; i++)
        if (emu_ctx_from_handle((CUcontext)live[i]) && !emu_stream_on_worker_of(live[i]))
            emu_ctx_wait_idle(live[i]);
    free(live);
}

/* 1 live, 2 a context that existed but is destroyed, 0 not a context. */
static int ctx_state(const void *h)
{
    if (!h)
        return 0;
    if (emu_handle_is(h, EMU_H_CTX))
        return 1;
    int known = 0;
    pthread_mutex_lock(&g_ctx_lock);
    for (ctx_impl *c = g_all_ctx; c && !known; c = c->all_next)
        known = (const void *)c == h;
    pthread_mutex_unlock(&g_ctx_lock);
    return known ? 2 : 0;
}

emu_ctx *emu_ctx_from_handle(CUcontext h)
{
    return emu_handle_is(h, EMU_H_CTX) ? (emu_ctx *)h : NULL;
}

void emu_ctx_set_sticky(emu_ctx *ctx, CUresult code, const char *msg)
{
    if (!ctx || code == CUDA_SUCCESS)
        return;
    int first = 0;
    pthread_mutex_lock(&ctx->lock);
    if (ctx->sticky == CUDA_SUCCESS) {
        ctx->sticky = code;
        snprintf(ctx->sticky_msg, sizeof ctx->sticky_msg, "%s", msg ? msg : "");
        first = 1;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (first) {
        const char *name = "CUDA_ERROR";
        cuGetErrorName(code, &name);
        emu_log("device %d: %s%s%s; the context is now unusable", ctx->dev ? ctx->dev->ordinal : -1,
                name ? name : "error", (msg && *msg) ? ": " : "", msg ? msg : "");
    }
}

static CUresult ctx_sticky(emu_ctx *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    CUresult rc = ctx->sticky;
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

/* ---- each thread's context stack ---------------------------------------------------------- */
static __thread emu_ctx **t_stack;
static __thread int t_depth, t_cap;
static pthread_key_t g_stack_key;
static pthread_once_t g_stack_key_once = PTHREAD_ONCE_INIT;

static void stack_free(void *p)
{
    free(p);
    t_stack = NULL;
    t_depth = t_cap = 0;
}
static void stack_key_init(void) { pthread_key_create(&g_stack_key, stack_free); }

static int stack_push(emu_ctx *c)
{
    if (t_depth == t_cap) {
        int cap = t_cap ? t_cap * 2 : 8;
        emu_ctx **n = realloc(t_stack, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        pthread_once(&g_stack_key_once, stack_key_init);
        pthread_setspecific(g_stack_key, n);
        t_stack = n;
        t_cap = cap;
    }
    t_stack[t_depth++] = c;
    return 0;
}

emu_ctx *emu_ctx_current(void) { return t_depth ? t_stack[t_depth - 1] : NULL; }

/* The current context without the sticky check: for queries that work after a fault. */
static CUresult ctx_current_live(emu_ctx **out)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    emu_ctx *c = emu_ctx_current();
    if (!c)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (!emu_handle_is(c, EMU_H_CTX))
        return CUDA_ERROR_CONTEXT_IS_DESTROYED;
    *out = c;
    return CUDA_SUCCESS;
}

CUresult emu_ctx_enter(emu_ctx **out)
{
    emu_ctx *c;
    CUresult rc = ctx_current_live(&c);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = ctx_sticky(c);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (out)
        *out = c;
    return CUDA_SUCCESS;
}

/* A context argument: NULL means the current one. */
static CUresult ctx_arg(CUcontext h, emu_ctx **out)
{
    if (!h)
        return ctx_current_live(out);
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    int st = ctx_state(h);
    if (st != 1)
        return st == 2 ? CUDA_ERROR_CONTEXT_IS_DESTROYED : CUDA_ERROR_INVALID_CONTEXT;
    *out = (emu_ctx *)h;
    return CUDA_SUCCESS;
}

/* ---- creation and destruction ------------------------------------------------------------- */
static int valid_ctx_flags(unsigned flags)
{
    if (flags & ~(unsigned)CU_CTX_FLAGS_MASK)
        return 0;
    unsigned sched = flags & CU_CTX_SCHED_MASK;
    return sched == 0 || sched == CU_CTX_SCHED_SPIN || sched == CU_CTX_SCHED_YIELD ||
           sched == CU_CTX_SCHED_BLOCKING_SYNC;
}

static CUresult ctx_create(CUcontext *pctx, unsigned flags, CUdevice dev)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!pctx || !valid_ctx_flags(flags))
        return CUDA_ERROR_INVALID_VALUE;
    emu_device *d = emu_device_get(dev);
    if (!d)
        return CUDA_ERROR_INVALID_DEVICE;
    ctx_impl *c = ctx_alloc(d, flags, 0);
    if (!c)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult rc = ctx_activate(c);
    if (rc != CUDA_SUCCESS)
        return rc;   /* c stays on the list as a dead context */
    if (stack_push(&c->pub) != 0) {
        ctx_deactivate(c);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *pctx = (CUcontext)c;
    emu_debug("context %llu created on device %d", (unsigned long long)c->id, dev);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxCreate_v4(CUcontext *pctx, CUctxCreateParams *params, unsigned int flags, CUdevice dev)
{
    if (params && params->numExecAffinityParams > 0)
        return CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY;
    if (params && params->cigParams)
        return CUDA_ERROR_NOT_SUPPORTED;
    return ctx_create(pctx, flags, dev);
}

EMU_API CUresult cuCtxCreate_v3(CUcontext *pctx, CUexecAffinityParam *paramsArray, int numParams,
                                unsigned int flags, CUdevice dev)
{
    if (numParams < 0 || (numParams > 0 && !paramsArray))
        return CUDA_ERROR_INVALID_VALUE;
    if (numParams > 0)
        return CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY;
    return ctx_create(pctx, flags, dev);
}

EMU_API CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
    return ctx_create(pctx, flags, dev);
}

EMU_API CUresult cuCtxDestroy_v2(CUcontext h)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!h)
        return CUDA_ERROR_INVALID_VALUE;
    emu_ctx *ctx = emu_ctx_from_handle(h);
    if (!ctx || ctx->is_primary)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (emu_stream_on_worker_of(ctx))
        return CUDA_ERROR_NOT_PERMITTED;
    ctx_deactivate(impl_of(ctx));
    if (emu_ctx_current() == ctx)
        t_depth--;
    emu_debug("context %llu destroyed", (unsigned long long)impl_of(ctx)->id);
    return CUDA_SUCCESS;
}

/* ---- the current context ------------------------------------------------------------------ */
EMU_API CUresult cuCtxPushCurrent_v2(CUcontext h)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!h)
        return CUDA_ERROR_INVALID_VALUE;
    emu_ctx *ctx = emu_ctx_from_handle(h);
    if (!ctx)
        return CUDA_ERROR_INVALID_CONTEXT;
    return stack_push(ctx) == 0 ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

EMU_API CUresult cuCtxPopCurrent_v2(CUcontext *pctx)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (t_depth == 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    emu_ctx *c = t_stack[--t_depth];
    if (pctx)
        *pctx = (CUcontext)c;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxSetCurrent(CUcontext h)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!h) {
        if (t_depth)
            t_depth--;
        return CUDA_SUCCESS;
    }
    int st = ctx_state(h);
    if (st != 1)
        return st == 2 ? CUDA_ERROR_CONTEXT_IS_DESTROYED : CUDA_ERROR_INVALID_CONTEXT;
    if (t_depth) {
        t_stack[t_depth - 1] = (emu_ctx *)h;
        return CUDA_SUCCESS;
    }
    return stack_push((emu_ctx *)h) == 0 ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

EMU_API CUresult cuCtxGetCurrent(CUcontext *pctx)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    *pctx = (CUcontext)emu_ctx_current();
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxGetDevice(CUdevice *device)
{
    emu_ctx *ctx;
    CUresult rc = ctx_current_live(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    *device = ctx->dev->ordinal;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxGetDevice_v2(CUdevice *device, CUcontext h)
{
    emu_ctx *ctx;
    CUresult rc = ctx_arg(h, &ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    *device = ctx->dev->ordinal;
    return CUDA_SUCCESS;
}

/* ---- synchronisation ---------------------------------------------------------------------- */
EMU_API CUresult cuCtxSynchronize(void)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    return emu_ctx_wait_idle(ctx);
}

EMU_API CUresult cuCtxSynchronize_v2(CUcontext h)
{
    emu_ctx *ctx;
    CUresult rc = ctx_arg(h, &ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = ctx_sticky(ctx);
    return rc != CUDA_SUCCESS ? rc : emu_ctx_wait_idle(ctx);
}

/* ---- flags, ids, versions ----------------------------------------------------------------- */
EMU_API CUresult cuCtxGetFlags(unsigned int *flags)
{
    emu_ctx *ctx;
    CUresult rc = ctx_current_live(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!flags)
        return CUDA_ERROR_INVALID_VALUE;
    *flags = ctx->flags;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxSetFlags(unsigned int flags)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!valid_ctx_flags(flags))
        return CUDA_ERROR_INVALID_VALUE;
    ctx->flags = flags;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxGetId(CUcontext h, unsigned long long *ctxId)
{
    emu_ctx *ctx;
    CUresult rc = ctx_arg(h, &ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!ctxId)
        return CUDA_ERROR_INVALID_VALUE;
    *ctxId = impl_of(ctx)->id;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxGetApiVersion(CUcontext h, unsigned int *version)
{
    emu_ctx *ctx;
    CUresult rc = ctx_arg(h, &ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!version)
        return CUDA_ERROR_INVALID_VALUE;
    *version = 3020;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxGetStreamPriorityRange(int *leastPriority, int *greatestPriority)
{
    emu_ctx *ctx;
    CUresult rc = ctx_current_live(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (leastPriority)
        *leastPriority = 0;
    if (greatestPriority)
        *greatestPriority = -5;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxGetExecAffinity(CUexecAffinityParam *pExecAffinity, CUexecAffinityType type)
{
    emu_ctx *ctx;
    CUresult rc = ctx_current_live(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pExecAffinity)
        return CUDA_ERROR_INVALID_VALUE;
    if (type != CU_EXEC_AFFINITY_TYPE_SM_COUNT)
        return CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY;
    pExecAffinity->type = type;
    pExecAffinity->param.smCount.val = (unsigned)ctx->dev->sm_count;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxResetPersistingL2Cache(void)
{
    return emu_ctx_enter(NULL);
}

/* ---- limits and cache configuration -------------------------------------------------------- */
static int limit_supported(CUlimit limit)
{
    return limit >= CU_LIMIT_STACK_SIZE && limit <= CU_LIMIT_PERSISTING_L2_CACHE_SIZE;
}

EMU_API CUresult cuCtxGetLimit(size_t *pvalue, CUlimit limit)
{
    emu_ctx *ctx;
    CUresult rc = ctx_current_live(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pvalue)
        return CUDA_ERROR_INVALID_VALUE;
    if (!limit_supported(limit))
        return CUDA_ERROR_UNSUPPORTED_LIMIT;
    pthread_mutex_lock(&ctx->lock);
    *pvalue = ctx->limits[limit];
    pthread_mutex_unlock(&ctx->lock);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxSetLimit(CUlimit limit, size_t value)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!limit_supported(limit))
        return CUDA_ERROR_UNSUPPORTED_LIMIT;
    if (limit == CU_LIMIT_MAX_L2_FETCH_GRANULARITY && value > 128)
        return CUDA_ERROR_INVALID_VALUE;
    if (limit == CU_LIMIT_PERSISTING_L2_CACHE_SIZE && value > (30u << 20))
        return CUDA_ERROR_INVALID_VALUE;
    if (limit == CU_LIMIT_STACK_SIZE && value > (1u << 20))
        return CUDA_ERROR_INVALID_VALUE;
    if (limit == CU_LIMIT_MAX_L2_FETCH_GRANULARITY) {
        size_t g = 0;   /* rounded down to a supported granularity (0, 32, 64, 128) */
        while (g < 128 && g * 2 <= value && value >= 32)
            g = g ? g * 2 : 32;
        value = g;
    }
    pthread_mutex_lock(&ctx->lock);
    ctx->limits[limit] = value;
    pthread_mutex_unlock(&ctx->lock);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxGetCacheConfig(CUfunc_cache *pconfig)
{
    emu_ctx *ctx;
    CUresult rc = ctx_current_live(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pconfig)
        return CUDA_ERROR_INVALID_VALUE;
    *pconfig = (CUfunc_cache)impl_of(ctx)->cache_config;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxSetCacheConfig(CUfunc_cache config)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if ((unsigned)config > CU_FUNC_CACHE_PREFER_EQUAL)
        return CUDA_ERROR_INVALID_VALUE;
    impl_of(ctx)->cache_config = config;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxGetSharedMemConfig(CUsharedconfig *pConfig)
{
    emu_ctx *ctx;
    CUresult rc = ctx_current_live(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pConfig)
        return CUDA_ERROR_INVALID_VALUE;
    *pConfig = (CUsharedconfig)impl_of(ctx)->shmem_config;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxSetSharedMemConfig(CUsharedconfig config)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if ((unsigned)config > CU_SHARED_MEM_CONFIG_EIGHT_BYTE_BANK_SIZE)
        return CUDA_ERROR_INVALID_VALUE;
    /* sm_80 has four-byte banks only; the setting is accepted and has no effect, as in CUDA */
    return CUDA_SUCCESS;
}

EMU_API CUresult cuProfilerStart(void) { return emu_ctx_enter(NULL); }
EMU_API CUresult cuProfilerStop(void) { return emu_ctx_enter(NULL); }

/* ---- peer access -------------------------------------------------------------------------- */
static int peer_index(ctx_impl *c, emu_ctx *peer)
{
    for (int i = 0; i < c->npeers; i++)
        if (c->peers[i] == peer)
            return i;
    return -1;
}

EMU_API CUresult cuCtxEnablePeerAccess(CUcontext peerContext, unsigned int Flags)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (Flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    emu_ctx *peer = emu_ctx_from_handle(peerContext);
    if (!peer)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (peer->dev == ctx->dev)
        return CUDA_ERROR_INVALID_DEVICE;
    ctx_impl *c = impl_of(ctx);
    pthread_mutex_lock(&ctx->lock);
    if (peer_index(c, peer) >= 0)
        rc = CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED;
    else if (c->npeers == MAX_PEERS)
        rc = CUDA_ERROR_TOO_MANY_PEERS;
    else
        c->peers[c->npeers++] = peer;
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

EMU_API CUresult cuCtxDisablePeerAccess(CUcontext peerContext)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_ctx *peer = emu_ctx_from_handle(peerContext);
    if (!peer)
        return CUDA_ERROR_INVALID_CONTEXT;
    ctx_impl *c = impl_of(ctx);
    pthread_mutex_lock(&ctx->lock);
    int i = peer_index(c, peer);
    if (i < 0)
        rc = CUDA_ERROR_PEER_ACCESS_NOT_ENABLED;
    else
        c->peers[i] = c->peers[--c->npeers];
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

/* ---- primary contexts --------------------------------------------------------------------- */
typedef struct primary_slot {
    pthread_mutex_t lock;
    ctx_impl *ctx;             /* created on first retain, kept forever (same handle) */
    unsigned flags;            /* cuDevicePrimaryCtxSetFlags */
} primary_slot;

static primary_slot g_primary[EMU_MAX_DEVICES];
static pthread_once_t g_primary_once = PTHREAD_ONCE_INIT;

static void primary_init(void)
{
    for (int i = 0; i < EMU_MAX_DEVICES; i++)
        pthread_mutex_init(&g_primary[i].lock, NULL);
}

static CUresult primary_slot_of(CUdevice dev, primary_slot **out)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!emu_device_get(dev))
        return CUDA_ERROR_INVALID_DEVICE;
    pthread_once(&g_primary_once, primary_init);
    *out = &g_primary[dev];
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
    if (!pctx)
        return emu_initialized() ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_NOT_INITIALIZED;
    primary_slot *p;
    CUresult rc = primary_slot_of(dev, &p);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&p->lock);
    if (!p->ctx)
        p->ctx = ctx_alloc(emu_device_get(dev), p->flags, 1);
    if (!p->ctx) {
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    } else if (p->ctx->pub.refcount == 0) {
        p->ctx->pub.flags = p->flags;
        rc = ctx_activate(p->ctx);
    }
    if (rc == CUDA_SUCCESS) {
        p->ctx->pub.refcount++;
        *pctx = (CUcontext)p->ctx;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

EMU_API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
    primary_slot *p;
    CUresult rc = primary_slot_of(dev, &p);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&p->lock);
    if (!p->ctx || p->ctx->pub.refcount == 0) {
        rc = CUDA_ERROR_INVALID_CONTEXT;
    } else if (emu_stream_on_worker_of(&p->ctx->pub) && p->ctx->pub.refcount == 1) {
        rc = CUDA_ERROR_NOT_PERMITTED;
    } else if (--p->ctx->pub.refcount == 0) {
        ctx_deactivate(p->ctx);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

EMU_API CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
    primary_slot *p;
    CUresult rc = primary_slot_of(dev, &p);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&p->lock);
    if (p->ctx && p->ctx->pub.refcount > 0) {
        if (emu_stream_on_worker_of(&p->ctx->pub)) {
            rc = CUDA_ERROR_NOT_PERMITTED;
        } else {
            ctx_deactivate(p->ctx);
            p->ctx->pub.flags = p->flags;
            rc = ctx_activate(p->ctx);
            if (rc != CUDA_SUCCESS)
                p->ctx->pub.refcount = 0;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

EMU_API CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags)
{
    primary_slot *p;
    CUresult rc = primary_slot_of(dev, &p);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!valid_ctx_flags(flags))
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&p->lock);
    p->flags = flags;
    if (p->ctx && p->ctx->pub.refcount > 0)
        p->ctx->pub.flags = flags;
    pthread_mutex_unlock(&p->lock);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active)
{
    primary_slot *p;
    CUresult rc = primary_slot_of(dev, &p);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!flags || !active)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&p->lock);
    *flags = p->flags;
    *active = p->ctx && p->ctx->pub.refcount > 0;
    pthread_mutex_unlock(&p->lock);
    return CUDA_SUCCESS;
}

/* ---- older exports of the same entry points ----------------------------------------------- */
#undef cuCtxCreate
#undef cuCtxDestroy
#undef cuCtxPushCurrent
#undef cuCtxPopCurrent
#undef cuDevicePrimaryCtxRelease
#undef cuDevicePrimaryCtxReset
#undef cuDevicePrimaryCtxSetFlags
EMU_API CUresult cuCtxCreate(CUcontext *pctx, unsigned int flags, CUdevice dev) { return ctx_create(pctx, flags, dev); }
EMU_API CUresult cuCtxDestroy(CUcontext ctx) { return cuCtxDestroy_v2(ctx); }
EMU_API CUresult cuCtxPushCurrent(CUcontext ctx) { return cuCtxPushCurrent_v2(ctx); }
EMU_API CUresult cuCtxPopCurrent(CUcontext *pctx) { return cuCtxPopCurrent_v2(pctx); }
EMU_API CUresult cuDevicePrimaryCtxRelease(CUdevice dev) { return cuDevicePrimaryCtxRelease_v2(dev); }
EMU_API CUresult cuDevicePrimaryCtxReset(CUdevice dev) { return cuDevicePrimaryCtxReset_v2(dev); }
EMU_API CUresult cuDevicePrimaryCtxSetFlags(CUdevice dev, unsigned int flags)
{
    return cuDevicePrimaryCtxSetFlags_v2(dev, flags);
}
