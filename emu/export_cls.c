/* export_cls.c: the context-local storage table {c693336e-1121-df11-a8c3-68f355d89593}
 * ("CONTEXT_LOCAL_STORAGE_INTERFACE_V0301"). The runtime keeps its per-context state here:
 *   slot 0  put(CUcontext ctx, void *key, void *value, void (*dtor)(CUcontext, void *key, void *value))
 *   slot 1  delete(CUcontext ctx, void *key)
 *   slot 2  get(void **value, CUcontext ctx, void *key)   CUDA_ERROR_INVALID_HANDLE when absent
 * A NULL ctx means the calling thread's current context. The table has no size header (slot 0 is
 * a function). When a context is destroyed, or a primary context reset or released to zero, the
 * driver calls bf_export_ctx_destroyed, which runs each destructor of that context once (outside
 * the lock, so a destructor may call back into the driver) and forgets the entries; a driver that
 * learns of a context's end only afterwards calls bf_export_ctx_sweep instead. Owns only this
 * table and its entries. */
#include "export_tables.h"
#include <pthread.h>
#include <stdlib.h>

typedef void (*cls_dtor)(CUcontext ctx, void *key, void *value);

typedef struct cls_entry {
    CUcontext ctx;
    void *key, *value;
    cls_dtor dtor;
    struct cls_entry *next;
} cls_entry;

static cls_entry *g_cls;
static pthread_mutex_t g_cls_lock = PTHREAD_MUTEX_INITIALIZER;

static CUresult cls_context(CUcontext ctx, CUcontext *out)
{
    *out = ctx;
    if (ctx)
        return CUDA_SUCCESS;
    if (!bf_export_driver)
        return CUDA_ERROR_NOT_INITIALIZED;
    CUresult rc = bf_export_driver->ctx_get_current(out);
    if (rc != CUDA_SUCCESS)
        return rc;
    return *out ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

/* The entry's link, or the list end's (pointing at NULL). Call with the lock held. */
static cls_entry **cls_find(CUcontext ctx, void *key)
{
    cls_entry **e = &g_cls;
    while (*e && ((*e)->ctx != ctx || (*e)->key != key))
        e = &(*e)->next;
    return e;
}

static CUresult cls_put(CUcontext ctx, void *key, void *value, cls_dtor dtor)
{
    CUresult rc = cls_context(ctx, &ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&g_cls_lock);
    cls_entry **link = cls_find(ctx, key), *e = *link;
    if (!e && (e = calloc(1, sizeof *e)) != NULL) {
        e->ctx = ctx;
        e->key = key;
        *link = e;
    }
    if (e) {
        e->value = value;
        e->dtor = dtor;
    }
    pthread_mutex_unlock(&g_cls_lock);
    BF_EXPORT_DEBUG("context-local storage: put ctx %p key %p", (void *)ctx, key);
    return e ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

static CUresult cls_delete(CUcontext ctx, void *key)
{
    CUresult rc = cls_context(ctx, &ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&g_cls_lock);
    cls_entry **link = cls_find(ctx, key), *e = *link;
    if (e)
        *link = e->next;
    pthread_mutex_unlock(&g_cls_lock);
    BF_EXPORT_DEBUG("context-local storage: delete ctx %p key %p%s", (void *)ctx, key, e ? "" : " (absent)");
    free(e);
    return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

static CUresult cls_get(void **value, CUcontext ctx, void *key)
{
    if (!value)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = cls_context(ctx, &ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&g_cls_lock);
    cls_entry *e = *cls_find(ctx, key);
    if (e)
        *value = e->value;
    pthread_mutex_unlock(&g_cls_lock);
    if (!e)
        BF_EXPORT_DEBUG("context-local storage: get ctx %p key %p: absent", (void *)ctx, key);
    return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/* Unlinks the first entry of ctx; NULL when none is left. */
static cls_entry *cls_take_one(CUcontext ctx)
{
    pthread_mutex_lock(&g_cls_lock);
    cls_entry **link = &g_cls;
    while (*link && (*link)->ctx != ctx)
        link = &(*link)->next;
    cls_entry *e = *link;
    if (e)
        *link = e->next;
    pthread_mutex_unlock(&g_cls_lock);
    return e;
}

void bf_export_ctx_destroyed(CUcontext ctx)
{
    if (!ctx)
        return;
    cls_entry *e;
    while ((e = cls_take_one(ctx)) != NULL) {
        BF_EXPORT_DEBUG("context-local storage: destructor for ctx %p key %p", (void *)ctx, e->key);
        if (e->dtor)
            e->dtor(ctx, e->key, e->value);
        free(e);
    }
}

/* The first context with storage that is not in seen[0..n), NULL when none: the sweep visits each
 * context once without holding the lock across gone(). */
static CUcontext cls_next_ctx(CUcontext *seen, int n)
{
    CUcontext found = NULL;
    pthread_mutex_lock(&g_cls_lock);
    for (cls_entry *e = g_cls; e && !found; e = e->next) {
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = seen[i] == e->ctx;
        if (!dup)
            found = e->ctx;
    }
    pthread_mutex_unlock(&g_cls_lock);
    return found;
}

#define SWEEP_MAX 256
void bf_export_ctx_sweep(int (*gone)(CUcontext ctx))
{
    CUcontext seen[SWEEP_MAX], ctx;
    int n = 0;
    if (!gone)
        return;
    while (n < SWEEP_MAX && (ctx = cls_next_ctx(seen, n)) != NULL) {
        seen[n++] = ctx;
        if (gone(ctx))
            bf_export_ctx_destroyed(ctx);
    }
}

void *bf_export_cls_table[] = {
    (void *)cls_put,
    (void *)cls_delete,
    (void *)cls_get,
    NULL,
};
const int bf_export_cls_table_len = 4;
