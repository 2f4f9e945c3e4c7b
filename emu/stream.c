/* stream.c: the stream engine and events. Every stream has a FIFO of operations and a worker
 * thread that runs them in order. Cross-stream ordering uses completion tokens: an operation
 * waits for the tokens it depends on (the legacy default stream waits for earlier work of every
 * blocking stream of its context, a blocking stream waits for earlier legacy-stream work,
 * cuStreamWaitEvent adds the event's token). Events are tokens recorded by marker operations.
 * Owns cuStream*, cuEvent*, cuLaunchHostFunc, their _ptsz variants and emu_stream_* / emu_ctx_wait_idle. */
#include "emu.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_MAGIC 0x5374726du
#define EVENT_MAGIC  0x4576656eu
#define NUM_STREAM_ATTRS 17

enum stream_kind { ST_LEGACY = 1, ST_PER_THREAD, ST_USER, ST_INTERNAL };
enum op_kind { OP_FN = 1, OP_MARKER, OP_CALLBACK, OP_HOSTFN };

/* Completion of one operation; shared by the op, its stream (last token) and events. */
typedef struct token {
    int refs;
    int done;
    unsigned long long stream_id;   /* the stream that runs it (deadlock checks) */
    double t_ms;                    /* CLOCK_MONOTONIC time it completed */
} token;

typedef struct stream_op {
    struct stream_op *next;
    int kind;
    emu_op_fn fn;
    void *arg;
    void (*release)(void *);
    CUstreamCallback callback;
    CUhostFn hostfn;
    void *user;
    CUstream user_handle;           /* the handle the callback receives */
    token *tok;
    token **deps;
    int ndeps;
    CUresult *sync_result;          /* emu_stream_run_sync: the waiter's result slot */
} stream_op;

struct emu_stream {
    uint32_t magic;
    emu_ctx *ctx;
    int kind;
    unsigned flags;
    int priority;
    unsigned long long id;
    pthread_t owner;                /* ST_PER_THREAD: its host thread */
    stream_op *head, *tail;
    token *last;                    /* token of the last op queued (ref held) */
    pthread_cond_t cv;              /* work queued or stopping */
    int has_worker;
    int stopping;
    CUresult pending;               /* first non-sticky failure of an async op */
    CUstreamAttrValue attrs[NUM_STREAM_ATTRS];
    struct emu_stream *prev, *next;
};

typedef struct emu_event_s {
    uint32_t magic;
    emu_ctx *ctx;
    unsigned flags;
    token *tok;                     /* last record, NULL before the first */
    struct emu_event_s *prev, *next;
} emu_event_t;

/* One lock guards every queue, token, list and pending error; ops run without it. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;   /* a token completed / a worker left */
static emu_stream *g_streams;
static emu_event_t *g_events;
static unsigned long long g_next_stream_id = 1;

static __thread emu_stream *t_worker_stream;                /* set on worker threads */

static pthread_key_t g_thread_key;
static pthread_once_t g_thread_key_once = PTHREAD_ONCE_INIT;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- tokens ------------------------------------------------------------------------------- */
static token *token_new(unsigned long long stream_id)
{
    token *t = calloc(1, sizeof *t);
    if (t) {
        t->refs = 1;
        t->stream_id = stream_id;
    }
    return t;
}

static void token_unref_nolock(token *t)
{
    if (t && --t->refs == 0)
        free(t);
}

static void token_wait_nolock(token *t)
{
    while (!t->done)
        pthread_cond_wait(&g_done, &g_mu);
}

/* Waiting for work queued behind the running host function would never end. */
static int would_deadlock_nolock(const token *t)
{
    return t && !t->done && t_worker_stream && t->stream_id == t_worker_stream->id;
}

/* ---- stream list -------------------------------------------------------------------------- */
static int stream_is_blocking(const emu_stream *s)
{
    return s->kind == ST_PER_THREAD || (s->kind == ST_USER && !(s->flags & CU_STREAM_NON_BLOCKING));
}

static void list_link_nolock(emu_stream *s)
{
    s->prev = NULL;
    s->next = g_streams;
    if (g_streams)
        g_streams->prev = s;
    g_streams = s;
}

static void list_unlink_nolock(emu_stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        g_streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

static emu_stream *stream_new_nolock(emu_ctx *ctx, int kind, unsigned flags, int priority)
{
    emu_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->magic = STREAM_MAGIC;
    s->ctx = ctx;
    s->kind = kind;
    s->flags = flags;
    s->priority = priority;
    s->id = g_next_stream_id++;
    s->attrs[CU_LAUNCH_ATTRIBUTE_PRIORITY].priority = priority;
    pthread_cond_init(&s->cv, NULL);
    list_link_nolock(s);
    return s;
}

static void stream_free_nolock(emu_stream *s)
{
    list_unlink_nolock(s);
    token_unref_nolock(s->last);
    pthread_cond_destroy(&s->cv);
    s->magic = 0;
    free(s);
    pthread_cond_broadcast(&g_done);
}

/* The handle stops working now; queued work still runs, then the worker frees the stream. */
static void stream_destroy_nolock(emu_stream *s)
{
    if (s->kind == ST_USER)
        emu_handle_remove(s);
    s->stopping = 1;
    if (s->has_worker)
        pthread_cond_signal(&s->cv);
    else
        stream_free_nolock(s);
}

/* ---- operations --------------------------------------------------------------------------- */
static void op_free_nolock(stream_op *op)
{
    for (int i = 0; i < op->ndeps; i++)
        token_unref_nolock(op->deps[i]);
    free(op->deps);
    token_unref_nolock(op->tok);
    free(op);
}

static int op_add_dep_nolock(stream_op *op, token *t, int *cap)
{
    if (!t || t->done)
        return 0;
    if (op->ndeps == *cap) {
        int n = *cap ? *cap * 2 : 4;
        token **d = realloc(op->deps, (size_t)n * sizeof *d);
        if (!d)
            return -1;
        op->deps = d;
        *cap = n;
    }
    t->refs++;
    op->deps[op->ndeps++] = t;
    return 0;
}

/* The implicit synchronisation of the legacy default stream, plus an optional extra token. */
static int op_collect_deps_nolock(emu_stream *s, stream_op *op, token *extra)
{
    int cap = 0;
    if (s->kind == ST_LEGACY) {
        for (emu_stream *t = g_streams; t; t = t->next)
            if (t != s && t->ctx == s->ctx && stream_is_blocking(t) &&
                op_add_dep_nolock(op, t->last, &cap) != 0)
                return -1;
    } else if (stream_is_blocking(s) && s->ctx->null_stream) {
        if (op_add_dep_nolock(op, s->ctx->null_stream->last, &cap) != 0)
            return -1;
    }
    return op_add_dep_nolock(op, extra, &cap);
}

static int op_deps_done_nolock(const stream_op *op)
{
    for (int i = 0; i < op->ndeps; i++)
        if (!op->deps[i]->done)
            return 0;
    return 1;
}

static CUresult ctx_sticky_of(emu_ctx *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    CUresult rc = ctx->sticky;
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

/* Runs one operation on the worker thread (no lock held). */
static CUresult op_run(emu_stream *s, stream_op *op)
{
    CUresult sticky = ctx_sticky_of(s->ctx);
    CUresult rc = CUDA_SUCCESS;
    switch (op->kind) {
    case OP_FN:
        rc = sticky != CUDA_SUCCESS ? sticky : op->fn(s->ctx, op->arg);
        if (op->release)
            op->release(op->arg);
        if (emu_error_is_sticky(rc))
            emu_ctx_set_sticky(s->ctx, rc, NULL);
        break;
    case OP_CALLBACK:
        op->callback(op->user_handle, sticky, op->user);
        break;
    case OP_HOSTFN:
        if (sticky == CUDA_SUCCESS)
            op->hostfn(op->user);
        break;
    default:
        break;
    }
    return rc;
}

static void op_complete_nolock(emu_stream *s, stream_op *op, CUresult rc)
{
    s->head = op->next;
    if (!s->head)
        s->tail = NULL;
    if (op->sync_result)
        *op->sync_result = rc;
    else if (rc != CUDA_SUCCESS && !emu_error_is_sticky(rc) && s->pending == CUDA_SUCCESS)
        s->pending = rc;
    op->tok->t_ms = now_ms();
    op->tok->done = 1;
    op_free_nolock(op);
    pthread_cond_broadcast(&g_done);
}

/* Worker threads: one per stream with work, kept in an idle pool after their stream goes away
 * (creating a thread per stream lifetime is slow, and thread-local caches of the interpreter
 * stay reachable). */
#define MAX_IDLE_WORKERS 32

typedef struct worker {
    pthread_cond_t cv;
    emu_stream *stream;             /* the stream it serves; NULL while idle */
    struct worker *next;
} worker;

static worker *g_idle_workers;
static int g_idle_count;

/* Runs s's operations until it is destroyed and drained, then frees it. g_mu held. */
static void stream_serve_nolock(emu_stream *s)
{
    t_worker_stream = s;
    pthread_mutex_unlock(&g_mu);
    cuCtxSetCurrent((CUcontext)s->ctx);   /* host functions may call the API */
    pthread_mutex_lock(&g_mu);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->cv, &g_mu);
        if (!s->head)
            break;
        stream_op *op = s->head;
        while (!op_deps_done_nolock(op))
            pthread_cond_wait(&g_done, &g_mu);
        pthread_mutex_unlock(&g_mu);
        CUresult rc = op_run(s, op);
        pthread_mutex_lock(&g_mu);
        op_complete_nolock(s, op, rc);
    }
    stream_free_nolock(s);
    t_worker_stream = NULL;
    pthread_mutex_unlock(&g_mu);
    cuCtxSetCurrent(NULL);
    pthread_mutex_lock(&g_mu);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&g_mu);
    for (;;) {
        stream_serve_nolock(w->stream);
        w->stream = NULL;
        if (g_idle_count >= MAX_IDLE_WORKERS)
            break;
        w->next = g_idle_workers;
        g_idle_workers = w;
        g_idle_count++;
        while (!w->stream)
            pthread_cond_wait(&w->cv, &g_mu);
    }
    pthread_mutex_unlock(&g_mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return NULL;
}

static CUresult stream_start_worker_nolock(emu_stream *s)
{
    worker *w = g_idle_workers;
    if (w) {
        g_idle_workers = w->next;
        g_idle_count--;
        w->stream = s;
        s->has_worker = 1;
        pthread_cond_signal(&w->cv);
        return CUDA_SUCCESS;
    }
    if (!(w = calloc(1, sizeof *w)))
        return CUDA_ERROR_OUT_OF_MEMORY;
    pthread_cond_init(&w->cv, NULL);
    w->stream = s;
    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&tid, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (err) {
        pthread_cond_destroy(&w->cv);
        free(w);
        emu_log("cannot start a stream worker thread: %s", strerror(err));
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    s->has_worker = 1;
    return CUDA_SUCCESS;
}

/* A host function (or callback) that waits for work queued behind itself would hang forever;
 * CUDA answers CUDA_ERROR_NOT_PERMITTED to synchronous calls made there. */
static int op_waits_for_caller_nolock(const emu_stream *s, const stream_op *op)
{
    if (!t_worker_stream)
        return 0;
    if (s == t_worker_stream)
        return 1;
    for (int i = 0; i < op->ndeps; i++)
        if (would_deadlock_nolock(op->deps[i]))
            return 1;
    return 0;
}

/* Queues op on s after its implicit dependencies (and extra). sync: the caller will wait for
 * it. On failure op is freed. */
static CUresult op_enqueue_nolock(emu_stream *s, stream_op *op, token *extra, int sync)
{
    op->tok = token_new(s->id);
    if (!op->tok || op_collect_deps_nolock(s, op, extra) != 0) {
        op_free_nolock(op);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    if (sync && op_waits_for_caller_nolock(s, op)) {
        op_free_nolock(op);
        return CUDA_ERROR_NOT_PERMITTED;
    }
    if (!s->has_worker) {
        CUresult rc = stream_start_worker_nolock(s);
        if (rc != CUDA_SUCCESS) {
            op_free_nolock(op);
            return rc;
        }
    }
    op->tok->refs++;
    token_unref_nolock(s->last);
    s->last = op->tok;
    if (s->tail)
        s->tail->next = op;
    else
        s->head = op;
    s->tail = op;
    pthread_cond_signal(&s->cv);
    return CUDA_SUCCESS;
}

static stream_op *op_new(int kind)
{
    stream_op *op = calloc(1, sizeof *op);
    if (op)
        op->kind = kind;
    return op;
}

/* Queues a marker (an op that does nothing) and returns its token with a reference held. */
static CUresult marker_enqueue_nolock(emu_stream *s, token *extra, token **out, int sync)
{
    stream_op *op = op_new(OP_MARKER);
    if (!op)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult rc = op_enqueue_nolock(s, op, extra, sync);
    if (rc == CUDA_SUCCESS && out) {
        *out = s->last;
        (*out)->refs++;
    }
    return rc;
}

/* ---- per-thread default streams ----------------------------------------------------------- */
/* At thread exit the thread's per-thread streams go away (after their queued work). */
static void thread_exit_cleanup(void *unused)
{
    pthread_t self = pthread_self();
    pthread_mutex_lock(&g_mu);
    for (emu_stream *s = g_streams, *next; s; s = next) {
        next = s->next;
        if (s->kind == ST_PER_THREAD && !s->stopping && pthread_equal(s->owner, self))
            stream_destroy_nolock(s);
    }
    pthread_mutex_unlock(&g_mu);
}

static void thread_key_init(void) { pthread_key_create(&g_thread_key, thread_exit_cleanup); }

static CUresult per_thread_stream_nolock(emu_ctx *ctx, emu_stream **out)
{
    pthread_t self = pthread_self();
    for (emu_stream *s = g_streams; s; s = s->next)
        if (s->kind == ST_PER_THREAD && s->ctx == ctx && !s->stopping && pthread_equal(s->owner, self)) {
            *out = s;
            return CUDA_SUCCESS;
        }
    emu_stream *s = stream_new_nolock(ctx, ST_PER_THREAD, 0, 0);
    if (!s)
        return CUDA_ERROR_OUT_OF_MEMORY;
    s->owner = self;
    pthread_once(&g_thread_key_once, thread_key_init);
    pthread_setspecific(g_thread_key, (void *)1);
    *out = s;
    return CUDA_SUCCESS;
}

/* ---- interface for the other driver files (emu.h) ----------------------------------------- */
CUresult emu_stream_ctx_init(emu_ctx *ctx)
{
    pthread_mutex_lock(&g_mu);
    ctx->null_stream = stream_new_nolock(ctx, ST_LEGACY, 0, 0);
    pthread_mutex_unlock(&g_mu);
    return ctx->null_stream ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

void emu_stream_release_ctx(emu_ctx *ctx)
{
    pthread_mutex_lock(&g_mu);
    for (emu_stream *s = g_streams, *next; s; s = next) {
        next = s->next;
        if (s->ctx == ctx && !s->stopping)
            stream_destroy_nolock(s);
    }
    for (;;) {
        int left = 0;
        for (emu_stream *s = g_streams; s && !left; s = s->next)
            left = s->ctx == ctx && s != t_worker_stream;
        if (!left)
            break;
        pthread_cond_wait(&g_done, &g_mu);
    }
    for (emu_event_t *e = g_events, *next; e; e = next) {
        next = e->next;
        if (e->ctx != ctx)
            continue;
        emu_handle_remove(e);
        if (e->prev) e->prev->next = e->next; else g_events = e->next;
        if (e->next) e->next->prev = e->prev;
        token_unref_nolock(e->tok);
        e->magic = 0;
        free(e);
    }
    ctx->null_stream = NULL;
    pthread_mutex_unlock(&g_mu);
}

int emu_stream_on_worker_of(emu_ctx *ctx)
{
    return t_worker_stream && t_worker_stream->ctx == ctx;
}

emu_ctx *emu_stream_get_ctx(emu_stream *s) { return s ? s->ctx : NULL; }

CUresult emu_stream_resolve(emu_ctx *ctx, CUstream h, emu_stream **out)
{
    if (!ctx || !out)
        return CUDA_ERROR_INVALID_VALUE;
    if (!h || h == CU_STREAM_LEGACY) {
        *out = ctx->null_stream;
        return *out ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
    }
    if (h == CU_STREAM_PER_THREAD) {
        pthread_mutex_lock(&g_mu);
        CUresult rc = per_thread_stream_nolock(ctx, out);
        pthread_mutex_unlock(&g_mu);
        return rc;
    }
    if (!emu_handle_is(h, EMU_H_STREAM))
        return CUDA_ERROR_INVALID_HANDLE;
    emu_stream *s = (emu_stream *)h;
    if (s->ctx != ctx)
        return CUDA_ERROR_INVALID_HANDLE;
    *out = s;
    return CUDA_SUCCESS;
}

CUresult emu_stream_enqueue(emu_stream *s, emu_op_fn fn, void *arg, void (*release)(void *))
{
    CUresult rc = (!s || !fn) ? CUDA_ERROR_INVALID_VALUE : ctx_sticky_of(s->ctx);
    stream_op *op = NULL;
    if (rc == CUDA_SUCCESS && !(op = op_new(OP_FN)))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc != CUDA_SUCCESS) {
        if (release)
            release(arg);
        return rc;
    }
    op->fn = fn;
    op->arg = arg;
    op->release = release;
    pthread_mutex_lock(&g_mu);
    rc = op_enqueue_nolock(s, op, NULL, 0);
    pthread_mutex_unlock(&g_mu);
    if (rc != CUDA_SUCCESS && release)
        release(arg);
    return rc;
}

CUresult emu_stream_run_sync(emu_stream *s, emu_op_fn fn, void *arg)
{
    if (!s || !fn)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = ctx_sticky_of(s->ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    CUresult result = CUDA_SUCCESS;
    stream_op *op = op_new(OP_FN);
    if (!op)
        return CUDA_ERROR_OUT_OF_MEMORY;
    op->fn = fn;
    op->arg = arg;
    op->sync_result = &result;
    pthread_mutex_lock(&g_mu);
    rc = op_enqueue_nolock(s, op, NULL, 1);
    if (rc == CUDA_SUCCESS) {
        token *t = s->last;
        t->refs++;
        token_wait_nolock(t);
        token_unref_nolock(t);
        rc = result;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

/* The sticky error, else the first pending async failure (which is then reported). */
static CUresult stream_take_error_nolock(emu_stream *s)
{
    CUresult rc = s->pending;
    s->pending = CUDA_SUCCESS;
    return rc;
}

CUresult emu_stream_wait_idle(emu_stream *s)
{
    if (!s)
        return CUDA_ERROR_INVALID_VALUE;
    if (s == t_worker_stream)
        return CUDA_ERROR_NOT_PERMITTED;
    token *t = NULL;
    CUresult rc = CUDA_SUCCESS;
    pthread_mutex_lock(&g_mu);
    if (s->kind == ST_LEGACY) {
        rc = marker_enqueue_nolock(s, NULL, &t, 1);   /* also waits for the blocking streams */
    } else if (s->last) {
        t = s->last;
        t->refs++;
    }
    if (t) {
        token_wait_nolock(t);
        token_unref_nolock(t);
    }
    CUresult pending = stream_take_error_nolock(s);
    pthread_mutex_unlock(&g_mu);
    CUresult sticky = ctx_sticky_of(s->ctx);
    if (sticky != CUDA_SUCCESS)
        return sticky;
    return rc != CUDA_SUCCESS ? rc : pending;
}

CUresult emu_ctx_wait_idle(emu_ctx *ctx)
{
    if (!ctx)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (emu_stream_on_worker_of(ctx))
        return CUDA_ERROR_NOT_PERMITTED;
    CUresult pending = CUDA_SUCCESS;
    pthread_mutex_lock(&g_mu);
    for (;;) {   /* rescan until every stream of ctx has completed its last token */
        token *busy = NULL;
        for (emu_stream *s = g_streams; s && !busy; s = s->next)
            if (s->ctx == ctx && s->last && !s->last->done)
                busy = s->last;
        if (!busy)
            break;
        busy->refs++;
        token_wait_nolock(busy);
        token_unref_nolock(busy);
    }
    for (emu_stream *s = g_streams; s; s = s->next)
        if (s->ctx == ctx) {
            CUresult e = stream_take_error_nolock(s);
            if (pending == CUDA_SUCCESS)
                pending = e;
        }
    pthread_mutex_unlock(&g_mu);
    CUresult sticky = ctx_sticky_of(ctx);
    return sticky != CUDA_SUCCESS ? sticky : pending;
}

/* ---- handle lookup for the entry points --------------------------------------------------- */
static CUresult current_ctx_live(emu_ctx **out)
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

/* Any stream handle: special handles name the current context's streams; a created stream
 * carries its own context. */
static CUresult stream_lookup(CUstream h, emu_stream **out)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!h || h == CU_STREAM_LEGACY || h == CU_STREAM_PER_THREAD) {
        emu_ctx *ctx;
        CUresult rc = current_ctx_live(&ctx);
        return rc != CUDA_SUCCESS ? rc : emu_stream_resolve(ctx, h, out);
    }
    if (!emu_handle_is(h, EMU_H_STREAM))
        return CUDA_ERROR_INVALID_HANDLE;
    *out = (emu_stream *)h;
    return CUDA_SUCCESS;
}

/* A stream for queueing work: also refuses a context with a sticky error. */
static CUresult stream_for_work(CUstream h, emu_stream **out)
{
    CUresult rc = stream_lookup(h, out);
    return rc != CUDA_SUCCESS ? rc : ctx_sticky_of((*out)->ctx);
}

static emu_event_t *event_of(CUevent h)
{
    return emu_handle_is(h, EMU_H_EVENT) ? (emu_event_t *)h : NULL;
}

/* ---- stream entry points ------------------------------------------------------------------ */
static CUresult stream_create(CUstream *ph, unsigned flags, int priority)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!ph || (flags & ~(unsigned)CU_STREAM_NON_BLOCKING))
        return CUDA_ERROR_INVALID_VALUE;
    if (priority > 0)
        priority = 0;
    if (priority < -5)
        priority = -5;
    pthread_mutex_lock(&g_mu);
    emu_stream *s = stream_new_nolock(ctx, ST_USER, flags, priority);
    if (s)
        emu_handle_add(s, EMU_H_STREAM);
    pthread_mutex_unlock(&g_mu);
    if (!s)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *ph = (CUstream)s;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)
{
    return stream_create(phStream, Flags, 0);
}

EMU_API CUresult cuStreamCreateWithPriority(CUstream *phStream, unsigned int flags, int priority)
{
    return stream_create(phStream, flags, priority);
}

EMU_API CUresult cuStreamDestroy_v2(CUstream hStream)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!hStream || hStream == CU_STREAM_LEGACY || hStream == CU_STREAM_PER_THREAD)
        return CUDA_ERROR_INVALID_HANDLE;
    pthread_mutex_lock(&g_mu);
    CUresult rc = CUDA_ERROR_INVALID_HANDLE;
    if (emu_handle_is(hStream, EMU_H_STREAM)) {
        stream_destroy_nolock((emu_stream *)hStream);
        rc = CUDA_SUCCESS;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

static CUresult stream_synchronize(CUstream h)
{
    emu_stream *s;
    CUresult rc = stream_for_work(h, &s);
    return rc != CUDA_SUCCESS ? rc : emu_stream_wait_idle(s);
}

static int stream_idle_nolock(emu_stream *s)
{
    if (s->last && !s->last->done)
        return 0;
    if (s->kind != ST_LEGACY)
        return 1;
    for (emu_stream *t = g_streams; t; t = t->next)   /* legacy: earlier blocking work too */
        if (t->ctx == s->ctx && stream_is_blocking(t) && t->last && !t->last->done)
            return 0;
    return 1;
}

static CUresult stream_query(CUstream h)
{
    emu_stream *s;
    CUresult rc = stream_for_work(h, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&g_mu);
    int idle = stream_idle_nolock(s);
    pthread_mutex_unlock(&g_mu);
    rc = ctx_sticky_of(s->ctx);
    return rc != CUDA_SUCCESS ? rc : (idle ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY);
}

static CUresult stream_wait_event(CUstream h, CUevent ev, unsigned flags)
{
    emu_stream *s;
    CUresult rc = stream_for_work(h, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (flags & ~(unsigned)CU_EVENT_WAIT_EXTERNAL)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_mu);
    emu_event_t *e = event_of(ev);
    if (!e)
        rc = CUDA_ERROR_INVALID_HANDLE;
    else if (e->tok && !e->tok->done)
        rc = marker_enqueue_nolock(s, e->tok, NULL, 0);
    pthread_mutex_unlock(&g_mu);
    return rc;
}

static CUresult stream_add_host_op(CUstream h, stream_op *op)
{
    emu_stream *s;
    CUresult rc = stream_for_work(h, &s);
    if (rc != CUDA_SUCCESS) {
        free(op);
        return rc;
    }
    op->user_handle = h;
    pthread_mutex_lock(&g_mu);
    rc = op_enqueue_nolock(s, op, NULL, 0);
    pthread_mutex_unlock(&g_mu);
    return rc;
}

static CUresult stream_add_callback(CUstream h, CUstreamCallback cb, void *user, unsigned flags)
{
    if (!cb || flags != 0)
        return emu_initialized() ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_NOT_INITIALIZED;
    stream_op *op = op_new(OP_CALLBACK);
    if (!op)
        return CUDA_ERROR_OUT_OF_MEMORY;
    op->callback = cb;
    op->user = user;
    return stream_add_host_op(h, op);
}

static CUresult launch_host_func(CUstream h, CUhostFn fn, void *user)
{
    if (!fn)
        return emu_initialized() ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_NOT_INITIALIZED;
    stream_op *op = op_new(OP_HOSTFN);
    if (!op)
        return CUDA_ERROR_OUT_OF_MEMORY;
    op->hostfn = fn;
    op->user = user;
    return stream_add_host_op(h, op);
}

/* ---- stream queries ----------------------------------------------------------------------- */
static CUresult stream_get_priority(CUstream h, int *priority)
{
    emu_stream *s;
    CUresult rc = stream_lookup(h, &s);
    if (rc == CUDA_SUCCESS && !priority)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *priority = s->priority;
    return rc;
}

static CUresult stream_get_flags(CUstream h, unsigned *flags)
{
    emu_stream *s;
    CUresult rc = stream_lookup(h, &s);
    if (rc == CUDA_SUCCESS && !flags)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *flags = s->flags;
    return rc;
}

static CUresult stream_get_id(CUstream h, unsigned long long *id)
{
    emu_stream *s;
    CUresult rc = stream_lookup(h, &s);
    if (rc == CUDA_SUCCESS && !id)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *id = s->id;
    return rc;
}

static CUresult stream_get_ctx(CUstream h, CUcontext *pctx, CUgreenCtx *green)
{
    emu_stream *s;
    CUresult rc = stream_lookup(h, &s);
    if (rc == CUDA_SUCCESS && !pctx)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        *pctx = (CUcontext)s->ctx;
        if (green)
            *green = NULL;
    }
    return rc;
}

static CUresult stream_get_device(CUstream h, CUdevice *dev)
{
    emu_stream *s;
    CUresult rc = stream_lookup(h, &s);
    if (rc == CUDA_SUCCESS && !dev)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *dev = s->ctx->dev->ordinal;
    return rc;
}

/* Stream capture (graphs) is not supported, so no stream is ever capturing. */
static CUresult stream_capture_info(CUstream h, CUstreamCaptureStatus *status, cuuint64_t *id,
                                    CUgraph *graph, const CUgraphNode **deps,
                                    const CUgraphEdgeData **edges, size_t *ndeps)
{
    emu_stream *s;
    CUresult rc = stream_lookup(h, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!status)
        return CUDA_ERROR_INVALID_VALUE;
    *status = CU_STREAM_CAPTURE_STATUS_NONE;
    if (id) *id = 0;
    if (graph) *graph = NULL;
    if (deps) *deps = NULL;
    if (edges) *edges = NULL;
    if (ndeps) *ndeps = 0;
    return CUDA_SUCCESS;
}

static int stream_attr_known(CUstreamAttrID attr)
{
    return attr == CU_STREAM_ATTRIBUTE_ACCESS_POLICY_WINDOW || attr == CU_STREAM_ATTRIBUTE_SYNCHRONIZATION_POLICY ||
           attr == CU_STREAM_ATTRIBUTE_PRIORITY || attr == CU_STREAM_ATTRIBUTE_MEM_SYNC_DOMAIN_MAP ||
           attr == CU_STREAM_ATTRIBUTE_MEM_SYNC_DOMAIN;
}

static CUresult stream_get_attribute(CUstream h, CUstreamAttrID attr, CUstreamAttrValue *value)
{
    emu_stream *s;
    CUresult rc = stream_lookup(h, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!value || !stream_attr_known(attr))
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_mu);
    *value = s->attrs[attr];
    pthread_mutex_unlock(&g_mu);
    return CUDA_SUCCESS;
}

static CUresult stream_set_attribute(CUstream h, CUstreamAttrID attr, const CUstreamAttrValue *value)
{
    emu_stream *s;
    CUresult rc = stream_lookup(h, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!value || !stream_attr_known(attr))
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_mu);
    s->attrs[attr] = *value;
    if (attr == CU_STREAM_ATTRIBUTE_PRIORITY) {
        int p = value->priority;
        s->priority = p > 0 ? 0 : (p < -5 ? -5 : p);
        s->attrs[attr].priority = s->priority;
    }
    pthread_mutex_unlock(&g_mu);
    return CUDA_SUCCESS;
}

static CUresult stream_copy_attributes(CUstream dst, CUstream src)
{
    emu_stream *d, *s;
    CUresult rc = stream_lookup(dst, &d);
    if (rc == CUDA_SUCCESS)
        rc = stream_lookup(src, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&g_mu);
    memcpy(d->attrs, s->attrs, sizeof d->attrs);
    d->priority = s->priority;
    pthread_mutex_unlock(&g_mu);
    return CUDA_SUCCESS;
}

/* ---- events ------------------------------------------------------------------------------- */
EMU_API CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    unsigned all = CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS;
    if (!phEvent || (Flags & ~all))
        return CUDA_ERROR_INVALID_VALUE;
    if ((Flags & CU_EVENT_INTERPROCESS) && !(Flags & CU_EVENT_DISABLE_TIMING))
        return CUDA_ERROR_INVALID_VALUE;
    emu_event_t *e = calloc(1, sizeof *e);
    if (!e)
        return CUDA_ERROR_OUT_OF_MEMORY;
    e->magic = EVENT_MAGIC;
    e->ctx = ctx;
    e->flags = Flags;
    pthread_mutex_lock(&g_mu);
    e->next = g_events;
    if (g_events)
        g_events->prev = e;
    g_events = e;
    emu_handle_add(e, EMU_H_EVENT);
    pthread_mutex_unlock(&g_mu);
    *phEvent = (CUevent)e;
    return CUDA_SUCCESS;
}

static CUresult event_record(CUevent hEvent, CUstream hStream, unsigned flags)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (flags & ~(unsigned)CU_EVENT_RECORD_EXTERNAL)
        return CUDA_ERROR_INVALID_VALUE;
    emu_stream *s;
    CUresult rc = stream_for_work(hStream, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&g_mu);
    emu_event_t *e = event_of(hEvent);
    if (!e || e->ctx != s->ctx) {
        rc = CUDA_ERROR_INVALID_HANDLE;
    } else {
        token *t = NULL;
        rc = marker_enqueue_nolock(s, NULL, &t, 0);
        if (rc == CUDA_SUCCESS) {
            token_unref_nolock(e->tok);
            e->tok = t;
        }
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

EMU_API CUresult cuEventQuery(CUevent hEvent)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    pthread_mutex_lock(&g_mu);
    emu_event_t *e = event_of(hEvent);
    CUresult rc = !e ? CUDA_ERROR_INVALID_HANDLE
                     : (e->tok && !e->tok->done) ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
    emu_ctx *ctx = e ? e->ctx : NULL;
    pthread_mutex_unlock(&g_mu);
    if (ctx && rc != CUDA_ERROR_INVALID_HANDLE) {
        CUresult sticky = ctx_sticky_of(ctx);
        if (sticky != CUDA_SUCCESS)
            return sticky;
    }
    return rc;
}

EMU_API CUresult cuEventSynchronize(CUevent hEvent)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    pthread_mutex_lock(&g_mu);
    emu_event_t *e = event_of(hEvent);
    CUresult rc = e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
    emu_ctx *ctx = e ? e->ctx : NULL;
    token *t = e ? e->tok : NULL;
    if (would_deadlock_nolock(t)) {
        rc = CUDA_ERROR_NOT_PERMITTED;
    } else if (t) {
        t->refs++;
        token_wait_nolock(t);
        token_unref_nolock(t);
    }
    pthread_mutex_unlock(&g_mu);
    if (ctx && rc == CUDA_SUCCESS)
        rc = ctx_sticky_of(ctx);
    return rc;
}

static CUresult event_elapsed(float *ms, CUevent hStart, CUevent hEnd)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!ms)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_mu);
    emu_event_t *a = event_of(hStart), *b = event_of(hEnd);
    CUresult rc = CUDA_SUCCESS;
    if (!a || !b || !a->tok || !b->tok || ((a->flags | b->flags) & CU_EVENT_DISABLE_TIMING))
        rc = CUDA_ERROR_INVALID_HANDLE;
    else if (!a->tok->done || !b->tok->done)
        rc = CUDA_ERROR_NOT_READY;
    else
        *ms = (float)(b->tok->t_ms - a->tok->t_ms);
    emu_ctx *ctx = a ? a->ctx : NULL;
    pthread_mutex_unlock(&g_mu);
    if (ctx && rc != CUDA_ERROR_INVALID_HANDLE) {
        CUresult sticky = ctx_sticky_of(ctx);
        if (sticky != CUDA_SUCCESS)
            return sticky;
    }
    return rc;
}

EMU_API CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd)
{
    return event_elapsed(pMilliseconds, hStart, hEnd);
}

EMU_API CUresult cuEventDestroy_v2(CUevent hEvent)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    pthread_mutex_lock(&g_mu);
    emu_event_t *e = event_of(hEvent);
    if (e) {
        emu_handle_remove(e);
        if (e->prev) e->prev->next = e->next; else g_events = e->next;
        if (e->next) e->next->prev = e->prev;
        token_unref_nolock(e->tok);
        e->magic = 0;
        free(e);
    }
    pthread_mutex_unlock(&g_mu);
    return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/* ---- exported names: default-stream and per-thread-stream (_ptsz) variants ---------------- */
#undef cuStreamDestroy
#undef cuEventDestroy
#undef cuEventElapsedTime
#undef cuStreamGetCaptureInfo
EMU_API CUresult cuStreamDestroy(CUstream h) { return cuStreamDestroy_v2(h); }
EMU_API CUresult cuEventDestroy(CUevent e) { return cuEventDestroy_v2(e); }
EMU_API CUresult cuEventElapsedTime(float *ms, CUevent a, CUevent b) { return event_elapsed(ms, a, b); }

EMU_API CUresult cuStreamSynchronize(CUstream h) { return stream_synchronize(h); }
EMU_API CUresult cuStreamSynchronize_ptsz(CUstream h) { return stream_synchronize(emu_stream_ptsz(h)); }
EMU_API CUresult cuStreamQuery(CUstream h) { return stream_query(h); }
EMU_API CUresult cuStreamQuery_ptsz(CUstream h) { return stream_query(emu_stream_ptsz(h)); }

EMU_API CUresult cuStreamWaitEvent(CUstream h, CUevent e, unsigned int flags) { return stream_wait_event(h, e, flags); }
EMU_API CUresult cuStreamWaitEvent_ptsz(CUstream h, CUevent e, unsigned int flags)
{
    return stream_wait_event(emu_stream_ptsz(h), e, flags);
}

EMU_API CUresult cuStreamAddCallback(CUstream h, CUstreamCallback cb, void *user, unsigned int flags)
{
    return stream_add_callback(h, cb, user, flags);
}
EMU_API CUresult cuStreamAddCallback_ptsz(CUstream h, CUstreamCallback cb, void *user, unsigned int flags)
{
    return stream_add_callback(emu_stream_ptsz(h), cb, user, flags);
}

EMU_API CUresult cuLaunchHostFunc(CUstream h, CUhostFn fn, void *user) { return launch_host_func(h, fn, user); }
EMU_API CUresult cuLaunchHostFunc_ptsz(CUstream h, CUhostFn fn, void *user)
{
    return launch_host_func(emu_stream_ptsz(h), fn, user);
}

EMU_API CUresult cuEventRecord(CUevent e, CUstream h) { return event_record(e, h, 0); }
EMU_API CUresult cuEventRecord_ptsz(CUevent e, CUstream h) { return event_record(e, emu_stream_ptsz(h), 0); }
EMU_API CUresult cuEventRecordWithFlags(CUevent e, CUstream h, unsigned int flags) { return event_record(e, h, flags); }
EMU_API CUresult cuEventRecordWithFlags_ptsz(CUevent e, CUstream h, unsigned int flags)
{
    return event_record(e, emu_stream_ptsz(h), flags);
}

EMU_API CUresult cuStreamGetPriority(CUstream h, int *p) { return stream_get_priority(h, p); }
EMU_API CUresult cuStreamGetPriority_ptsz(CUstream h, int *p) { return stream_get_priority(emu_stream_ptsz(h), p); }
EMU_API CUresult cuStreamGetFlags(CUstream h, unsigned int *f) { return stream_get_flags(h, f); }
EMU_API CUresult cuStreamGetFlags_ptsz(CUstream h, unsigned int *f) { return stream_get_flags(emu_stream_ptsz(h), f); }
EMU_API CUresult cuStreamGetId(CUstream h, unsigned long long *id) { return stream_get_id(h, id); }
EMU_API CUresult cuStreamGetId_ptsz(CUstream h, unsigned long long *id) { return stream_get_id(emu_stream_ptsz(h), id); }
EMU_API CUresult cuStreamGetCtx(CUstream h, CUcontext *c) { return stream_get_ctx(h, c, NULL); }
EMU_API CUresult cuStreamGetCtx_ptsz(CUstream h, CUcontext *c) { return stream_get_ctx(emu_stream_ptsz(h), c, NULL); }
EMU_API CUresult cuStreamGetCtx_v2(CUstream h, CUcontext *c, CUgreenCtx *g) { return stream_get_ctx(h, c, g); }
EMU_API CUresult cuStreamGetCtx_v2_ptsz(CUstream h, CUcontext *c, CUgreenCtx *g)
{
    return stream_get_ctx(emu_stream_ptsz(h), c, g);
}
EMU_API CUresult cuStreamGetDevice(CUstream h, CUdevice *d) { return stream_get_device(h, d); }
EMU_API CUresult cuStreamGetDevice_ptsz(CUstream h, CUdevice *d) { return stream_get_device(emu_stream_ptsz(h), d); }

EMU_API CUresult cuStreamGetAttribute(CUstream h, CUstreamAttrID a, CUstreamAttrValue *v)
{
    return stream_get_attribute(h, a, v);
}
EMU_API CUresult cuStreamGetAttribute_ptsz(CUstream h, CUstreamAttrID a, CUstreamAttrValue *v)
{
    return stream_get_attribute(emu_stream_ptsz(h), a, v);
}
EMU_API CUresult cuStreamSetAttribute(CUstream h, CUstreamAttrID a, const CUstreamAttrValue *v)
{
    return stream_set_attribute(h, a, v);
}
EMU_API CUresult cuStreamSetAttribute_ptsz(CUstream h, CUstreamAttrID a, const CUstreamAttrValue *v)
{
    return stream_set_attribute(emu_stream_ptsz(h), a, v);
}
EMU_API CUresult cuStreamCopyAttributes(CUstream dst, CUstream src) { return stream_copy_attributes(dst, src); }
EMU_API CUresult cuStreamCopyAttributes_ptsz(CUstream dst, CUstream src)
{
    return stream_copy_attributes(emu_stream_ptsz(dst), emu_stream_ptsz(src));
}

EMU_API CUresult cuStreamIsCapturing(CUstream h, CUstreamCaptureStatus *st)
{
    return stream_capture_info(h, st, NULL, NULL, NULL, NULL, NULL);
}
EMU_API CUresult cuStreamIsCapturing_ptsz(CUstream h, CUstreamCaptureStatus *st)
{
    return stream_capture_info(emu_stream_ptsz(h), st, NULL, NULL, NULL, NULL, NULL);
}
EMU_API CUresult cuStreamGetCaptureInfo(CUstream h, CUstreamCaptureStatus *st, cuuint64_t *id)
{
    return stream_capture_info(h, st, id, NULL, NULL, NULL, NULL);
}
EMU_API CUresult cuStreamGetCaptureInfo_ptsz(CUstream h, CUstreamCaptureStatus *st, cuuint64_t *id)
{
    return stream_capture_info(emu_stream_ptsz(h), st, id, NULL, NULL, NULL, NULL);
}
EMU_API CUresult cuStreamGetCaptureInfo_v2(CUstream h, CUstreamCaptureStatus *st, cuuint64_t *id, CUgraph *g,
                                           const CUgraphNode **deps, size_t *n)
{
    return stream_capture_info(h, st, id, g, deps, NULL, n);
}
EMU_API CUresult cuStreamGetCaptureInfo_v2_ptsz(CUstream h, CUstreamCaptureStatus *st, cuuint64_t *id,
                                                CUgraph *g, const CUgraphNode **deps, size_t *n)
{
    return stream_capture_info(emu_stream_ptsz(h), st, id, g, deps, NULL, n);
}
EMU_API CUresult cuStreamGetCaptureInfo_v3(CUstream h, CUstreamCaptureStatus *st, cuuint64_t *id, CUgraph *g,
                                           const CUgraphNode **deps, const CUgraphEdgeData **edges, size_t *n)
{
    return stream_capture_info(h, st, id, g, deps, edges, n);
}
EMU_API CUresult cuStreamGetCaptureInfo_v3_ptsz(CUstream h, CUstreamCaptureStatus *st, cuuint64_t *id,
                                                CUgraph *g, const CUgraphNode **deps,
                                                const CUgraphEdgeData **edges, size_t *n)
{
    return stream_capture_info(emu_stream_ptsz(h), st, id, g, deps, edges, n);
}
