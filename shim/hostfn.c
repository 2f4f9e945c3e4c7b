/* hostfn.c: host functions and stream callbacks (owner: shim/). cuLaunchHostFunc and
 * cuStreamAddCallback register (fn, userData) under a fresh token and send it; the server queues
 * its own host function in the stream, which sends HostFn{token} when the stream reaches it and
 * holds the stream until HostFnDone{token}. Each arrival runs on a thread of its own here (a host
 * function may block on another stream's progress), then answers HostFnDone. Driver calls made
 * from inside a host function are tagged with its token, so the server runs them on the stream
 * thread that waits for it (see conn.c); running host functions are tracked with their start
 * times, so a call stuck behind one that never returns can time out. A forked child forgets the
 * parent's registrations and running host functions (bf_hostfn_atfork). */
#include "rpc.h"
#include "bf_calls.h"
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct bf_hostfn {
    uint64_t token;
    CUhostFn fn;
    CUstreamCallback cb;
    CUstream stream;
    void *user;
    int status;
    double started;                 /* CLOCK_MONOTONIC seconds, while it runs */
    struct bf_hostfn *next;
} bf_hostfn;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static bf_hostfn *g_regs;
static uint64_t g_next = 1;
static bf_hostfn *g_running;

double bf_hostfn_oldest_start(void)
{
    double t = 0;
    pthread_mutex_lock(&g_lock);
    for (bf_hostfn *h = g_running; h; h = h->next)
        if (t == 0 || h->started < t) t = h->started;
    pthread_mutex_unlock(&g_lock);
    return t;
}

static bf_hostfn *reg_new(CUhostFn fn, CUstreamCallback cb, CUstream st, void *user)
{
    bf_hostfn *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->fn = fn; h->cb = cb; h->stream = st; h->user = user;
    pthread_mutex_lock(&g_lock);
    h->token = g_next++;
    h->next = g_regs;
    g_regs = h;
    pthread_mutex_unlock(&g_lock);
    return h;
}

static bf_hostfn *reg_take(uint64_t token)
{
    pthread_mutex_lock(&g_lock);
    bf_hostfn **pp = &g_regs, *h = NULL;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->token == token) { h = *pp; *pp = h->next; break; }
    pthread_mutex_unlock(&g_lock);
    return h;
}

static void *run_one(void *arg)
{
    bf_hostfn *h = arg;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    pthread_mutex_lock(&g_lock);
    h->started = (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
    h->next = g_running;
    g_running = h;
    pthread_mutex_unlock(&g_lock);
    bf_set_thread_for_hostfn(h->token);
    if (h->fn) h->fn(h->user);
    else if (h->cb) h->cb(h->stream, (CUresult)h->status, h->user);
    pthread_mutex_lock(&g_lock);
    for (bf_hostfn **pp = &g_running; *pp; pp = &(*pp)->next)
        if (*pp == h) { *pp = h->next; break; }
    pthread_mutex_unlock(&g_lock);
    bf_send_hostfn_done(h->token);
    free(h);
    return NULL;
}

void bf_hostfn_arrived(uint64_t token, int status)
{
    pthread_t t;
    pthread_attr_t at;
    bf_hostfn *h = reg_take(token);
    if (!h) { bf_send_hostfn_done(token); return; }
    h->status = status;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, run_one, h) != 0) run_one(h);
    pthread_attr_destroy(&at);
}

static CUresult send_reg(uint32_t fn, int flavour, CUstream st, bf_hostfn *h, int has_flags,
                         unsigned flags)
{
    bf_call c;
    bf_call_init(&c, fn | (uint32_t)flavour << 16, bf_token_async_ok((uint64_t)(uintptr_t)st) && !flags);
    bf_put(&c, (uint64_t)(uintptr_t)st);
    bf_put(&c, h->token);
    if (has_flags) bf_put(&c, flags);
    CUresult r = bf_invoke(&c);
    bf_call_done(&c);
    if (r != CUDA_SUCCESS) free(reg_take(h->token));
    return r;
}

static CUresult launch_host_func(int flavour, CUstream st, CUhostFn fn, void *user)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!fn) return CUDA_ERROR_INVALID_VALUE;
    bf_hostfn *h = reg_new(fn, NULL, st, user);
    if (!h) return CUDA_ERROR_OUT_OF_MEMORY;
    return send_reg(BF_FN_cuLaunchHostFunc, flavour, st, h, 0, 0);
}

static CUresult add_callback(int flavour, CUstream st, CUstreamCallback cb, void *user, unsigned flags)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!cb) return CUDA_ERROR_INVALID_VALUE;
    bf_hostfn *h = reg_new(NULL, cb, st, user);
    if (!h) return CUDA_ERROR_OUT_OF_MEMORY;
    return send_reg(BF_FN_cuStreamAddCallback, flavour, st, h, 1, flags);
}

BF_API CUresult CUDAAPI cuLaunchHostFunc(CUstream s, CUhostFn fn, void *u) { return launch_host_func(0, s, fn, u); }
BF_API CUresult CUDAAPI cuLaunchHostFunc_ptsz(CUstream s, CUhostFn fn, void *u);
BF_API CUresult CUDAAPI cuLaunchHostFunc_ptsz(CUstream s, CUhostFn fn, void *u) { return launch_host_func(2, s, fn, u); }
BF_API CUresult CUDAAPI cuStreamAddCallback(CUstream s, CUstreamCallback cb, void *u, unsigned f)
{
    return add_callback(0, s, cb, u, f);
}
BF_API CUresult CUDAAPI cuStreamAddCallback_ptsz(CUstream s, CUstreamCallback cb, void *u, unsigned f);
BF_API CUresult CUDAAPI cuStreamAddCallback_ptsz(CUstream s, CUstreamCallback cb, void *u, unsigned f)
{
    return add_callback(2, s, cb, u, f);
}

/* fork.c: in the child, the registrations belong to the parent's session and the running host
 * functions to threads the child does not have. */
void bf_hostfn_atfork(int phase)
{
    if (phase == BF_FORK_PREPARE) { pthread_mutex_lock(&g_lock); return; }
    if (phase == BF_FORK_CHILD) {
        while (g_regs) { bf_hostfn *h = g_regs; g_regs = h->next; free(h); }
        g_running = NULL;               /* owned by the parent's threads: left alone */
    }
    pthread_mutex_unlock(&g_lock);
}
