/* conn.c: the client library's one connection per process (owner: shim/). cuInit connects
 * (bf_connect_once: the server and lease from shim/lease.c, the TLS files of the client
 * configuration), does the versioned handshake (Hello names the lease, this process's pid and
 * host; a server that refuses the session says why, in one line) and starts the receiver thread,
 * which routes Reply frames to the waiting caller (matched by id, in any order), Output frames
 * (kernel printf) to stdout and HostFn frames to hostfn.c. If the connection breaks, every waiting
 * and later call fails with CUDA_ERROR_DEVICE_UNAVAILABLE and one line on stderr says so (unless
 * the session ends on purpose at exit: bf_conn_quiet). Nothing waits forever: a sync call that has
 * waited the client timeout (client.yaml `timeout`, BITFUSION_CALL_TIMEOUT_S; 30 s by
 * default) probes the server on a thread of its own; no answer within another timeout means the
 * server is gone (the connection is dropped and every call fails); a host function of this process
 * that has been running that long fails the waiting call (CUDA_ERROR_LAUNCH_TIMEOUT) rather than
 * letting it wait behind the host function forever. Calls made from inside a host function carry
 * its token as their thread, so the server runs them on the stream thread the host function holds
 * (as the driver runs them: e.g. synchronising the host function's own stream is refused).
 * A child forked after cuInit starts afresh (bf_conn_atfork): the inherited connection is dropped
 * without a byte sent, and its next cuInit connects to the same lease. */
#include "rpc.h"
#include "config.h"
#include "lease.h"
#include "bf_calls.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

typedef struct bf_pending {
    uint64_t id;
    bf_call *call;                  /* sync: the waiting call */
    pthread_cond_t cv;
    int done;
    void *sink;                     /* async with data: where the reply's bytes go */
    size_t sink_len;
    int probe;                      /* a liveness probe: nobody waits for it */
    struct bf_pending *next;
} bf_pending;

typedef struct bf_token { uint64_t t, tid, epoch, gen; } bf_token;

static struct {
    pthread_mutex_t lock;
    int state;                      /* 0 never tried, 1 connected, -1 failed/lost */
    CUresult fail_code;
    bf_conn *conn;
    bf_wire wire;
    pthread_t rx;
    uint64_t next_id;
    bf_pending *pend;
    CUresult deferred;              /* first failure of an async call, returned by the next sync one */
    int sticky;                     /* a context-fatal error was seen: async calls go sync */
    int timeout_ms;                 /* "server gone" / host function limit for sync calls (0: none) */
    struct timespec last_rx;        /* when the last frame arrived */
    int probing;                    /* a probe is outstanding */
    char server[300];
    char lease[64];                 /* the lease the Hello names ("" for the plain test server) */
    int quiet;                      /* the session is ending on purpose (exit): no "lost" line */
    pid_t pid;                      /* the process that connected (a forked child has its own) */
    int goodbye_registered;
    uint64_t next_tid;
    bf_token *tokens;               /* handles the server gave out */
    size_t ntokens, captokens;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_mutex_t g_connect_lock = PTHREAD_MUTEX_INITIALIZER;   /* bf_connect_once */

static __thread uint64_t t_tid;

#define PROBE_TID (~(uint64_t)0 >> 1)     /* the thread id of liveness probes */

void bf_set_thread_for_hostfn(uint64_t token) { t_tid = BF_HOSTFN_TID | token; }

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double ts_s(const struct timespec *t) { return (double)t->tv_sec + (double)t->tv_nsec * 1e-9; }

void bf_log(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "bitfusion: %s\n", buf);
}

int bf_connected(void) { return __atomic_load_n(&g.state, __ATOMIC_ACQUIRE) == 1; }

CUresult bf_not_connected_result(void)
{
    int st = __atomic_load_n(&g.state, __ATOMIC_ACQUIRE);
    return st == 0 ? CUDA_ERROR_NOT_INITIALIZED : g.fail_code;
}

/* ---- known handles ------------------------------------------------------------------------- */
/* Each handle the server gave out, with the client thread and that thread's context epoch when it
 * was last seen valid: an async call uses a handle without waiting only on that thread and epoch
 * (a handle of another context is refused by the driver at the call). The epoch of a thread moves
 * whenever its current context may have changed (bf_ctx_changed); a context destroyed or reset by
 * any thread invalidates every handle's standing (bf_ctx_destroyed). */
static __thread uint64_t t_epoch;
static uint64_t g_ctx_gen;          /* moves when any thread destroys or resets a context */

void bf_ctx_changed(void) { t_epoch++; }
void bf_ctx_destroyed(void) { t_epoch++; __atomic_add_fetch(&g_ctx_gen, 1, __ATOMIC_RELAXED); }

static uint64_t my_tid(void);

static int token_index(uint64_t t)
{
    for (size_t i = 0; i < g.ntokens; i++)
        if (g.tokens[i].t == t) return (int)i;
    return -1;
}

void bf_token_learn(uint64_t t)
{
    if (t <= 2) return;
    uint64_t tid = my_tid();
    pthread_mutex_lock(&g.lock);
    int i = token_index(t);
    if (i < 0) {
        if (g.ntokens == g.captokens) {
            size_t cap = g.captokens ? g.captokens * 2 : 64;
            bf_token *n = realloc(g.tokens, cap * sizeof *n);
            if (n) { g.tokens = n; g.captokens = cap; }
        }
        if (g.ntokens < g.captokens) i = (int)g.ntokens++;
    }
    if (i >= 0) {
        g.tokens[i].t = t;
        g.tokens[i].tid = tid;
        g.tokens[i].epoch = t_epoch;
        g.tokens[i].gen = __atomic_load_n(&g_ctx_gen, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&g.lock);
}

void bf_token_forget(uint64_t t)
{
    pthread_mutex_lock(&g.lock);
    int i = token_index(t);
    if (i >= 0) g.tokens[i] = g.tokens[--g.ntokens];
    pthread_mutex_unlock(&g.lock);
}

int bf_token_known(uint64_t t)
{
    if (t <= 2) return 1;        /* NULL, CU_STREAM_LEGACY, CU_STREAM_PER_THREAD */
    pthread_mutex_lock(&g.lock);
    int k = token_index(t) >= 0;
    pthread_mutex_unlock(&g.lock);
    return k;
}

int bf_token_async_ok(uint64_t t)
{
    if (t <= 2) return 1;
    uint64_t tid = my_tid();
    pthread_mutex_lock(&g.lock);
    int i = token_index(t);
    int ok = i >= 0 && g.tokens[i].tid == tid && g.tokens[i].epoch == t_epoch &&
             g.tokens[i].gen == __atomic_load_n(&g_ctx_gen, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&g.lock);
    return ok;
}

/* ---- calls ----------------------------------------------------------------------------------- */
void bf_call_init(bf_call *c, uint32_t fn, int async)
{
    memset(c, 0, offsetof(bf_call, a));
    c->fn = fn;
    c->async = async;
    c->na = c->nb = 0;
    c->overflow = c->have_reply = 0;
    c->rf = NULL;
    c->ra = c->rb = 0;
    c->sink = NULL;
    c->sink_len = 0;
}

void bf_put(bf_call *c, uint64_t v)
{
    if (c->na < BF_MAXA) c->a[c->na++] = v;
    else c->overflow = 1;
}

void bf_put_bytes(bf_call *c, const void *p, size_t n)
{
    if (c->nb >= BF_MAXB) { c->overflow = 1; return; }
    c->b[c->nb].data = (uint8_t *)(uintptr_t)(p ? p : "");
    c->b[c->nb].len = p ? n : 0;
    c->nb++;
}

void bf_put_str(bf_call *c, const char *s)
{
    bf_put(c, s != NULL);
    bf_put_bytes(c, s, s ? strlen(s) + 1 : 0);
}

uint64_t bf_get(bf_call *c)
{
    if (!c->rf || c->ra >= c->rf->reply->n_a) return 0;
    return c->rf->reply->a[c->ra++];
}

const void *bf_get_bytes_ref(bf_call *c, size_t *len)
{
    *len = 0;
    if (!c->rf || c->rb >= c->rf->reply->n_b) return NULL;
    ProtobufCBinaryData *d = &c->rf->reply->b[c->rb++];
    *len = d->len;
    return d->data;
}

size_t bf_get_bytes(bf_call *c, void *dst, size_t max)
{
    size_t n;
    const void *p = bf_get_bytes_ref(c, &n);
    if (p && dst) memcpy(dst, p, n < max ? n : max);
    return n;
}

void bf_call_done(bf_call *c)
{
    bf_wire_free(c->rf);
    c->rf = NULL;
}

static uint64_t my_tid(void)
{
    if (!t_tid) t_tid = __atomic_add_fetch(&g.next_tid, 1, __ATOMIC_RELAXED);
    return t_tid;
}

static int is_sticky(CUresult r)
{
    switch (r) {
    case CUDA_ERROR_ILLEGAL_ADDRESS: case CUDA_ERROR_LAUNCH_FAILED:
    case CUDA_ERROR_MISALIGNED_ADDRESS: case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE: case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_HARDWARE_STACK_ERROR: case CUDA_ERROR_ASSERT:
    case CUDA_ERROR_LAUNCH_TIMEOUT: case CUDA_ERROR_ECC_UNCORRECTABLE:
        return 1;
    default:
        return 0;
    }
}

static void pend_unlink(bf_pending *p)
{
    for (bf_pending **pp = &g.pend; *pp; pp = &(*pp)->next)
        if (*pp == p) { *pp = p->next; return; }
}

static int send_call(bf_call *c, uint64_t id)
{
    Bitfusion__Call call = BITFUSION__CALL__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    call.id = id;
    call.fn = c->fn;
    call.thread = my_tid();
    call.async = c->async != 0;
    call.n_a = c->na;
    call.a = c->a;
    call.n_b = c->nb;
    call.b = c->b;
    f.msg_case = BITFUSION__FRAME__MSG_CALL;
    f.call = &call;
    return bf_wire_send(&g.wire, &f);
}

static int send_probe_locked(void);
static void connection_lost(const char *why);

/* Waits (g.lock held) for p's reply, the connection's end, or a timeout: see the top comment. */
static CUresult wait_reply(bf_pending *p)
{
    double start = now_s(), probe_at = 0;
    while (!p->done && g.state == 1) {
        if (g.timeout_ms <= 0) { pthread_cond_wait(&p->cv, &g.lock); continue; }
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        long slice = g.timeout_ms < 1000 ? g.timeout_ms : 1000;   /* re-check every second */
        dl.tv_sec += slice / 1000;
        dl.tv_nsec += (slice % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) { dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
        if (pthread_cond_timedwait(&p->cv, &g.lock, &dl) != ETIMEDOUT) continue;
        double now = now_s(), limit = g.timeout_ms / 1000.0;
        if (now - ts_s(&g.last_rx) < limit) { probe_at = 0; }
        else if (probe_at == 0) { probe_at = now; if (!g.probing) send_probe_locked(); }   /* unlocks to send */
        else if (now - probe_at >= limit) {
            char why[96];
            snprintf(why, sizeof why, "no answer for %d s", (int)(now - probe_at + 0.5));
            pthread_mutex_unlock(&g.lock);
            connection_lost(why);
            pthread_mutex_lock(&g.lock);
            break;
        }
        double hf = bf_hostfn_oldest_start();
        if (hf > 0 && now - hf >= limit && now - start >= limit) {
            bf_log("a host function of this process has been running for %d s or more and this call "
                   "waits behind it; the call fails with CUDA_ERROR_LAUNCH_TIMEOUT", g.timeout_ms / 1000);
            return CUDA_ERROR_LAUNCH_TIMEOUT;
        }
    }
    if (p->done) return CUDA_SUCCESS;
    return g.state == 1 ? CUDA_ERROR_LAUNCH_TIMEOUT : g.fail_code;
}

CUresult bf_invoke(bf_call *c)
{
    bf_pending p;
    CUresult r;
    if (c->overflow) return CUDA_ERROR_INVALID_VALUE;
    if (!bf_connected()) return bf_not_connected_result();
    memset(&p, 0, sizeof p);
    pthread_mutex_lock(&g.lock);
    if (g.sticky && !c->sink) c->async = 0;
    p.id = ++g.next_id;
    if (!c->async || c->sink) {
        pthread_cond_init(&p.cv, NULL);
        p.call = c->async ? NULL : c;
        if (c->sink) {
            bf_pending *h = malloc(sizeof *h);
            if (!h) { pthread_mutex_unlock(&g.lock); return CUDA_ERROR_OUT_OF_MEMORY; }
            *h = p;
            h->sink = c->sink;
            h->sink_len = c->sink_len;
            h->next = g.pend;
            g.pend = h;
        } else {
            p.next = g.pend;
            g.pend = &p;
        }
    }
    pthread_mutex_unlock(&g.lock);
    if (send_call(c, p.id) != 0) {
        pthread_mutex_lock(&g.lock);
        if (!c->async) pend_unlink(&p);
        pthread_mutex_unlock(&g.lock);
        if (!c->async) pthread_cond_destroy(&p.cv);
        return bf_not_connected_result() == CUDA_ERROR_NOT_INITIALIZED ? CUDA_ERROR_DEVICE_UNAVAILABLE
                                                                         : bf_not_connected_result();
    }
    if (c->async) return CUDA_SUCCESS;
    pthread_mutex_lock(&g.lock);
    r = wait_reply(&p);
    if (r == CUDA_SUCCESS) {
        c->have_reply = 1;
        r = (CUresult)c->rf->reply->result;
        if (r == CUDA_SUCCESS && g.deferred != CUDA_SUCCESS) {
            r = g.deferred;
            g.deferred = CUDA_SUCCESS;
        }
        if (is_sticky(r)) g.sticky = 1;
    } else {
        pend_unlink(&p);
    }
    pthread_mutex_unlock(&g.lock);
    pthread_cond_destroy(&p.cv);
    return r;
}

/* A liveness probe (g.lock held): cuDriverGetVersion on a thread id of its own, so the server
 * answers it even while the caller's server thread is busy. Any frame that arrives counts. */
static int send_probe_locked(void)
{
    bf_pending *h = calloc(1, sizeof *h);
    bf_call c;
    if (!h) return -1;
    h->id = ++g.next_id;
    h->probe = 1;
    h->next = g.pend;
    g.pend = h;
    g.probing = 1;
    uint64_t id = h->id;
    bf_call_init(&c, BF_FN_cuDriverGetVersion, 0);
    pthread_mutex_unlock(&g.lock);             /* never send while holding the lock */
    uint64_t saved = t_tid;
    t_tid = PROBE_TID;
    int rc = send_call(&c, id);
    t_tid = saved;
    pthread_mutex_lock(&g.lock);
    return rc;
}

/* ---- receiver ------------------------------------------------------------------------------- */
static void on_reply(Bitfusion__Frame *f)
{
    Bitfusion__Reply *rp = f->reply;
    pthread_mutex_lock(&g.lock);
    bf_pending *p = g.pend;
    while (p && p->id != rp->id) p = p->next;
    if (p) pend_unlink(p);
    if (p && p->probe) {
        g.probing = 0;
        pthread_mutex_unlock(&g.lock);
        free(p);
        bf_wire_free(f);
        return;
    }
    if (p && p->call) {
        p->call->rf = f;
        p->done = 1;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&g.lock);
        return;
    }
    if (rp->result != CUDA_SUCCESS) {
        if (g.deferred == CUDA_SUCCESS) g.deferred = (CUresult)rp->result;
        if (is_sticky((CUresult)rp->result)) g.sticky = 1;
    }
    pthread_mutex_unlock(&g.lock);
    if (p) {
        if (rp->result == CUDA_SUCCESS && rp->n_b > 0)
            memcpy(p->sink, rp->b[0].data, rp->b[0].len < p->sink_len ? rp->b[0].len : p->sink_len);
        pthread_cond_destroy(&p->cv);
        free(p);
    }
    bf_wire_free(f);
}

static void on_output(Bitfusion__Output *o)
{
    FILE *fp = o->fd == 2 ? stderr : stdout;
    flockfile(fp);
    fwrite(o->data.data, 1, o->data.len, fp);
    funlockfile(fp);
}

static void connection_lost(const char *why)
{
    pthread_mutex_lock(&g.lock);
    int was = g.state;
    g.state = -1;
    g.fail_code = CUDA_ERROR_DEVICE_UNAVAILABLE;
    for (bf_pending *p = g.pend; p; p = p->next)
        if (p->call) pthread_cond_signal(&p->cv);
    int quiet = g.quiet;
    pthread_mutex_unlock(&g.lock);
    if (was == 1 && !quiet)
        bf_log("lost the connection to the GPU server %s (%s); CUDA calls now fail with "
               "CUDA_ERROR_DEVICE_UNAVAILABLE: check that bitfusiond is running and reachable",
               g.server, why);
}

static void *receiver(void *arg)
{
    char err[256];
    (void)arg;
    for (;;) {
        Bitfusion__Frame *f = bf_wire_recv(g.conn, err, sizeof err);
        if (!f) break;
        pthread_mutex_lock(&g.lock);
        clock_gettime(CLOCK_MONOTONIC, &g.last_rx);
        pthread_mutex_unlock(&g.lock);
        switch (f->msg_case) {
        case BITFUSION__FRAME__MSG_REPLY:
            on_reply(f);
            continue;
        case BITFUSION__FRAME__MSG_OUTPUT:
            on_output(f->output);
            break;
        case BITFUSION__FRAME__MSG_HOST_FN:
            bf_hostfn_arrived(f->host_fn->token, f->host_fn->status);
            break;
        default:
            break;
        }
        bf_wire_free(f);
    }
    connection_lost(err);
    return NULL;
}

void bf_send_hostfn_done(uint64_t token)
{
    Bitfusion__HostFnDone d = BITFUSION__HOST_FN_DONE__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    d.token = token;
    f.msg_case = BITFUSION__FRAME__MSG_HOST_FN_DONE;
    f.host_fn_done = &d;
    bf_wire_send(&g.wire, &f);
}

/* ---- connecting ------------------------------------------------------------------------------ */
/* Test hook: BITFUSION_TEST_PLAIN_UNIX=PATH speaks plain frames over a local unix socket to
 * tests/remote/bf_test_server (never a network address; TLS is always used otherwise). */
static bf_conn *connect_test_unix(const char *path, char *err, size_t len)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, len, "cannot connect to the test socket %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    return bf_conn_plain_for_tests(fd);
}

/* The lease's server over TLS; err: the configuration's or the lease's own line, or the server's
 * address and why it could not be reached. */
static bf_conn *connect_tls(char *err, size_t len)
{
    bf_client_config cfg;
    bf_target t;
    if (bf_client_config_load(&cfg, err, len) != 0) return NULL;
    g.timeout_ms = cfg.timeout_ms;
    if (bf_lease_target(&cfg, &t, err, len) != 0) return NULL;
    snprintf(g.lease, sizeof g.lease, "%s", t.lease);
    snprintf(g.server, sizeof g.server, strchr(t.host, ':') ? "[%s]:%d" : "%s:%d", t.host, t.port);
    bf_tls_files files = { cfg.ca, cfg.cert, cfg.key };
    bf_conn *c = bf_tls_connect(t.host, t.port, &files, cfg.timeout_ms > 0 ? cfg.timeout_ms : 30000, err, len);
    if (!c) {
        char why[256];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, len, "cannot reach the GPU server %.200s: %s", g.server, why);
    }
    return c;
}

static void hello_identity(Bitfusion__Hello *h, char *name, size_t nlen, char *host, size_t hlen)
{
    FILE *fp = fopen("/proc/self/comm", "r");
    name[0] = host[0] = 0;
    if (fp) { if (fgets(name, (int)nlen, fp)) name[strcspn(name, "\n")] = 0; fclose(fp); }
    if (gethostname(host, hlen) != 0) host[0] = 0;
    host[hlen - 1] = 0;
    h->client_name = name;
    h->purpose = 0;                 /* a CUDA session */
    h->lease = g.lease;
    h->client_pid = (int32_t)getpid();
    h->client_host = host;
}

static int handshake(char *err, size_t len)
{
    Bitfusion__Hello h = BITFUSION__HELLO__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    char name[64], host[HOST_NAME_MAX + 1];
    hello_identity(&h, name, sizeof name, host, sizeof host);
    h.protocol_version = BF_PROTOCOL_VERSION;
    h.client_version = (char *)BF_VERSION_STRING;
    h.capabilities = BF_CAP_PIPELINE | BF_CAP_HOSTFN | BF_CAP_OUTPUT;
    f.msg_case = BITFUSION__FRAME__MSG_HELLO;
    f.hello = &h;
    if (bf_wire_send(&g.wire, &f) != 0) {
        snprintf(err, len, "handshake with the GPU server %s failed: %s", g.server, bf_conn_error(g.conn));
        return -1;
    }
    char why[256];
    Bitfusion__Frame *r = bf_wire_recv(g.conn, why, sizeof why);
    if (!r) {
        snprintf(err, len, "handshake with the GPU server %.200s failed: %s", g.server, why);
        return -1;
    }
    int ok = r->msg_case == BITFUSION__FRAME__MSG_HELLO_REPLY && r->hello_reply->ok;
    if (!ok && r->msg_case == BITFUSION__FRAME__MSG_HELLO_REPLY)
        snprintf(err, len, "the GPU server %s refused the session: %s", g.server,
                 r->hello_reply->error && *r->hello_reply->error ? r->hello_reply->error : "no reason given");
    else if (!ok)
        snprintf(err, len, "the server answered the handshake with an unexpected frame");
    else if (r->hello_reply->protocol_version != BF_PROTOCOL_VERSION) {
        snprintf(err, len, "protocol version mismatch: client %u, server %u (%s); install matching "
                 "bitfusion versions", BF_PROTOCOL_VERSION, r->hello_reply->protocol_version,
                 r->hello_reply->server_version);
        ok = 0;
    }
    bf_wire_free(r);
    return ok ? 0 : -1;
}

/* At exit: the session ends on purpose; waits (a bounded time) until the server has ended it, so
 * the memory the session held is back in its lease's partition when this process is gone (a
 * process started next in the same lease sees it free). */
#define GOODBYE_WAIT_MS 2000
static void goodbye_at_exit(void)
{
    if (__atomic_load_n(&g.state, __ATOMIC_ACQUIRE) != 1 || getpid() != g.pid)
        return;
    bf_conn_quiet();
    bf_conn_end_writes(g.conn);
    for (int ms = 0; ms < GOODBYE_WAIT_MS && __atomic_load_n(&g.state, __ATOMIC_ACQUIRE) == 1; ms += 2)
        usleep(2000);
}

static CUresult do_connect(void)
{
    char err[512] = "";
    const char *tp = getenv("BITFUSION_TEST_PLAIN_UNIX");
    const char *to = getenv("BITFUSION_CALL_TIMEOUT_S");
    g.lease[0] = 0;                 /* the plain test server takes sessions without a lease */
    if (tp && *tp) {
        snprintf(g.server, sizeof g.server, "unix:%s", tp);
        g.conn = connect_test_unix(tp, err, sizeof err);
    } else {
        g.conn = connect_tls(err, sizeof err);
    }
    if (tp && *tp) g.timeout_ms = 30000;   /* the client.yaml default */
    if (to && *to) g.timeout_ms = atoi(to) * 1000;
    if (!g.conn) {
        bf_log("%s", err);
        return CUDA_ERROR_NO_DEVICE;
    }
    bf_wire_init(&g.wire, g.conn);
    if (handshake(err, sizeof err) != 0) {
        bf_log("%s", err);
        bf_conn_close(g.conn);
        g.conn = NULL;
        return CUDA_ERROR_NO_DEVICE;
    }
    clock_gettime(CLOCK_MONOTONIC, &g.last_rx);
    if (pthread_create(&g.rx, NULL, receiver, NULL) != 0) return CUDA_ERROR_OPERATING_SYSTEM;
    pthread_detach(g.rx);
    g.pid = getpid();
    if (!g.goodbye_registered && atexit(goodbye_at_exit) == 0)   /* after OpenSSL's: runs before it */
        g.goodbye_registered = 1;
    return CUDA_SUCCESS;
}

CUresult bf_connect_once(void)
{
    CUresult r;
    bf_fork_register();
    pthread_mutex_lock(&g_connect_lock);
    if (g.state == 0) {
        r = do_connect();
        if (r == CUDA_SUCCESS) {
            __atomic_store_n(&g.state, 1, __ATOMIC_RELEASE);
        } else {
            g.fail_code = r;
            __atomic_store_n(&g.state, -1, __ATOMIC_RELEASE);
        }
    }
    r = g.state == 1 ? CUDA_SUCCESS : g.fail_code;
    pthread_mutex_unlock(&g_connect_lock);
    return r;
}

const char *bf_session_server(void) { return g.server; }

void bf_conn_quiet(void)
{
    pthread_mutex_lock(&g.lock);
    g.quiet = 1;
    pthread_mutex_unlock(&g.lock);
}

/* ---- fork(2) --------------------------------------------------------------------------------- */
/* The child has only the forking thread: no receiver, no waiting callers. Its copy of the
 * connection is dropped without sending anything (the parent's session goes on), every handle and
 * pending call of the parent's session is forgotten, and the next cuInit connects anew. */
static void child_reset(void)
{
    if (g.conn) bf_conn_abandon(g.conn);
    g.conn = NULL;
    g.state = 0;
    g.fail_code = CUDA_SUCCESS;
    g.pend = NULL;                  /* other threads' waits (their stacks are gone) or async sinks */
    g.deferred = CUDA_SUCCESS;
    g.sticky = 0;
    g.probing = 0;
    g.quiet = 0;
    g.ntokens = 0;
    g.server[0] = g.lease[0] = 0;
    __atomic_add_fetch(&g_ctx_gen, 1, __ATOMIC_RELAXED);
}

void bf_conn_atfork(int phase)
{
    if (phase == BF_FORK_PREPARE) {
        pthread_mutex_lock(&g_connect_lock);
        pthread_mutex_lock(&g.lock);
        return;
    }
    if (phase == BF_FORK_CHILD) child_reset();
    pthread_mutex_unlock(&g.lock);
    pthread_mutex_unlock(&g_connect_lock);
}
