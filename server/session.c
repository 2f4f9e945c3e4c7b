/* session.c: one client session in a bitfusiond worker (owner: server/; interface in session.h).
 * Owns the handshake, the backend (dlopen), the handle table, the per-client-thread dispatch
 * threads (each client thread's calls run in order on one server thread, so the driver's
 * thread-local state (current context, per-thread stream) is that client thread's), the stdout
 * pipe whose data (kernel printf) goes to the client as Output frames, and host-function round
 * trips (the calls the client makes inside a host function run on the stream thread waiting for
 * it). Handles keep their token after destroy (the driver answers a stale handle itself). The
 * calls themselves: generated $(B)/gen/bf_server_calls.c and session_calls.c. */
#include "session.h"
#include "session_int.h"
#include "bf_calls.h"
#include "session_control.h"
#include "session_ctl.h"
#include "session_partition.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BF_TOKEN_BASE 0x10000u
#define BF_MAX_FN 512

typedef struct bf_qitem { Bitfusion__Frame *f; struct bf_qitem *next; } bf_qitem;

typedef struct bf_worker {
    struct bf_session *ss;
    uint64_t tid;
    pthread_t thr;
    bf_qitem *head, *tail;
    pthread_cond_t cv;
    struct bf_worker *next;
} bf_worker;

/* A host function in progress: the stream thread waits for HostFnDone and meanwhile runs the calls
 * the client makes from inside the host function (Call.thread = BF_HOSTFN_TID | token). */
typedef struct bf_hwait {
    uint64_t token;
    int done;
    pthread_cond_t cv;
    bf_qitem *head, *tail;
    struct bf_hwait *next;
} bf_hwait;

#define BF_HOSTFN_TID ((uint64_t)1 << 63)

struct bf_session {
    bf_conn *conn;
    bf_wire wire;
    void *lib;
    const char *backend;
    pthread_mutex_t lock;               /* handles, workers, host-function waits */
    int stopping;
    void **objs;                        /* token index -> object */
    size_t nobjs, capobjs;
    size_t *hash;                       /* object -> token index (open addressing, -1 empty) */
    size_t caphash;
    bf_worker *workers;
    bf_hwait *hwaits;
    const bf_sv_entry *by_id[BF_MAX_FN];
    void *syms[BF_MAX_FN][3];
    long calls;
    int out_rd, saved_stdout;
    pthread_t out_thr;
    int out_running;
    pthread_mutex_t out_lock;
};

/* ---- arguments -------------------------------------------------------------------------------- */
uint64_t bf_sa_u64(bf_sargs *s)
{
    if (s->ia >= s->c->n_a) { s->bad = 1; return 0; }
    return s->c->a[s->ia++];
}

void bf_sa_val(bf_sargs *s, void *dst, size_t n)
{
    uint64_t v = bf_sa_u64(s);
    memcpy(dst, &v, n < 8 ? n : 8);
}

const void *bf_sa_bytes(bf_sargs *s, size_t *len)
{
    *len = 0;
    if (s->ib >= s->c->n_b) { s->bad = 1; return NULL; }
    *len = s->c->b[s->ib].len;
    return s->c->b[s->ib++].data;
}

const char *bf_sa_str(bf_sargs *s)
{
    size_t n;
    int has = (int)bf_sa_u64(s);
    const char *p = bf_sa_bytes(s, &n);
    if (!has) return NULL;
    if (!p || n == 0 || p[n - 1] != 0) { s->bad = 1; return NULL; }
    return p;
}

void bf_sa_struct(bf_sargs *s, void *dst, size_t n)
{
    size_t len;
    const void *p = bf_sa_bytes(s, &len);
    memset(dst, 0, n);
    if (p) memcpy(dst, p, len < n ? len : n);
}

void *bf_sa_outbuf(bf_sargs *s, size_t n)
{
    void *p;
    if (n > BF_MAX_FRAME || s->ntmp >= 8) { s->bad = 1; return NULL; }
    p = calloc(1, n ? n : 1);
    if (!p) { s->bad = 1; return NULL; }
    s->tmp[s->ntmp++] = p;
    return p;
}

void bf_sr_u64(bf_sargs *s, uint64_t v)
{
    if (s->nra < BF_SV_MAXR) s->ra[s->nra++] = v;
}

void bf_sr_bytes_owned(bf_sargs *s, void *p, size_t n)
{
    if (s->nrb >= 8 || s->ntmp >= 8) { free(p); return; }
    s->tmp[s->ntmp++] = p;
    s->rb[s->nrb].data = p;
    s->rb[s->nrb].len = p ? n : 0;
    s->nrb++;
}

void bf_sr_bytes(bf_sargs *s, const void *p, size_t n)
{
    void *q = p ? malloc(n ? n : 1) : NULL;
    if (q) memcpy(q, p, n);
    bf_sr_bytes_owned(s, q, q ? n : 0);
}

/* ---- handles ---------------------------------------------------------------------------------- */
/* Token i <-> object: objs[i] (tokens are never reused) and a hash from the object to i. A destroyed
 * object keeps its token: the driver recognises its stale handle (CONTEXT_IS_DESTROYED, ...), and
 * when it hands out the same address again the client sees the same handle value, as locally. */
static size_t hslot(const bf_session *ss, const void *obj)
{
    uint64_t h = (uint64_t)(uintptr_t)obj * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (ss->caphash - 1);
}

static int hash_grow(bf_session *ss)
{
    size_t cap = ss->caphash ? ss->caphash * 2 : 1024;
    size_t *n = malloc(cap * sizeof *n);
    if (!n) return -1;
    for (size_t i = 0; i < cap; i++) n[i] = (size_t)-1;
    free(ss->hash);
    ss->hash = n;
    ss->caphash = cap;
    for (size_t i = 0; i < ss->nobjs; i++) {
        size_t j = hslot(ss, ss->objs[i]);
        while (ss->hash[j] != (size_t)-1) j = (j + 1) & (cap - 1);
        ss->hash[j] = i;
    }
    return 0;
}

void *bf_sh_get(bf_sargs *s, uint64_t t)
{
    bf_session *ss = s->ss;
    void *p = (void *)(uintptr_t)t;
    if (t >= BF_TOKEN_BASE && (t - BF_TOKEN_BASE) % 16 == 0) {
        size_t i = (t - BF_TOKEN_BASE) / 16;
        pthread_mutex_lock(&ss->lock);
        if (i < ss->nobjs) p = ss->objs[i];
        pthread_mutex_unlock(&ss->lock);
    }
    return p;
}

uint64_t bf_sh_put(bf_sargs *s, void *obj)
{
    bf_session *ss = s->ss;
    size_t i, j;
    if ((uintptr_t)obj <= 2) return (uint64_t)(uintptr_t)obj;
    pthread_mutex_lock(&ss->lock);
    if (ss->caphash && (j = hslot(ss, obj), 1)) {
        for (; ss->hash[j] != (size_t)-1; j = (j + 1) & (ss->caphash - 1))
            if (ss->objs[ss->hash[j]] == obj) {
                i = ss->hash[j];
                pthread_mutex_unlock(&ss->lock);
                return BF_TOKEN_BASE + 16 * (uint64_t)i;
            }
    }
    if (ss->nobjs == ss->capobjs) {
        size_t cap = ss->capobjs ? ss->capobjs * 2 : 256;
        void **n = realloc(ss->objs, cap * sizeof *n);
        if (!n) { pthread_mutex_unlock(&ss->lock); return 0; }
        ss->objs = n;
        ss->capobjs = cap;
    }
    i = ss->nobjs++;
    ss->objs[i] = obj;
    if ((ss->nobjs * 2 > ss->caphash && hash_grow(ss) != 0) || !ss->caphash) {
        ss->nobjs--;
        pthread_mutex_unlock(&ss->lock);
        return 0;
    }
    if (ss->nobjs * 2 <= ss->caphash) {
        for (j = hslot(ss, obj); ss->hash[j] != (size_t)-1 && ss->hash[j] != i; j = (j + 1) & (ss->caphash - 1)) {}
        ss->hash[j] = i;
    }
    pthread_mutex_unlock(&ss->lock);
    return BF_TOKEN_BASE + 16 * (uint64_t)i;
}

/* The object behind t was destroyed: its token stays (see above). */
void bf_sh_drop(bf_sargs *s, uint64_t t)
{
    (void)s;
    (void)t;
}

void *bf_sv_sym(bf_sargs *s, const char *name) { return bf_partition_sym(s->ss->lib, name); }
bf_wire *bf_sv_wire(bf_sargs *s) { return &s->ss->wire; }

void *bf_sv_sym_flavour(bf_sargs *s, const char *base, int flavour)
{
    char name[128];
    snprintf(name, sizeof name, "%s%s", base, flavour == 1 ? "_ptds" : flavour == 2 ? "_ptsz" : "");
    void *p = bf_partition_sym(s->ss->lib, name);
    return p ? p : bf_partition_sym(s->ss->lib, base);
}

/* ---- output (the worker's stdout) -------------------------------------------------------------- */
static void forward_output(bf_session *ss)
{
    char buf[65536];
    ssize_t n;
    pthread_mutex_lock(&ss->out_lock);
    while ((n = read(ss->out_rd, buf, sizeof buf)) > 0) {
        Bitfusion__Output o = BITFUSION__OUTPUT__INIT;
        Bitfusion__Frame f = BITFUSION__FRAME__INIT;
        o.fd = 1;
        o.data.data = (uint8_t *)buf;
        o.data.len = (size_t)n;
        f.msg_case = BITFUSION__FRAME__MSG_OUTPUT;
        f.output = &o;
        bf_wire_send(&ss->wire, &f);
    }
    pthread_mutex_unlock(&ss->out_lock);
}

/* Before a sync call's reply: what the kernels printed so far reaches the client first. */
static void drain_output(bf_session *ss)
{
    if (ss->out_rd < 0) return;
    fflush(stdout);
    forward_output(ss);
}

static void *output_thread(void *arg)
{
    bf_session *ss = arg;
    while (!__atomic_load_n(&ss->stopping, __ATOMIC_ACQUIRE)) {
        struct pollfd p = { .fd = ss->out_rd, .events = POLLIN };
        int r = poll(&p, 1, 50);
        if (r == 0) fflush(stdout);
        else if (r > 0) forward_output(ss);
    }
    drain_output(ss);
    return NULL;
}

static void output_start(bf_session *ss)
{
    int fds[2];
    ss->out_rd = ss->saved_stdout = -1;
    fflush(stdout);
    if (pipe(fds) != 0) return;
    ss->saved_stdout = dup(1);
    dup2(fds[1], 1);
    close(fds[1]);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    ss->out_rd = fds[0];
    ss->out_running = pthread_create(&ss->out_thr, NULL, output_thread, ss) == 0;
}

static void output_stop(bf_session *ss)
{
    if (ss->out_running) pthread_join(ss->out_thr, NULL);
    if (ss->saved_stdout >= 0) {
        fflush(stdout);
        dup2(ss->saved_stdout, 1);
        close(ss->saved_stdout);
    }
    if (ss->out_rd >= 0) close(ss->out_rd);
}

/* ---- host functions ---------------------------------------------------------------------------- */
static void run_call(bf_session *ss, const Bitfusion__Call *c);

void bf_sv_hostfn_roundtrip(bf_session *ss, uint64_t token, int status)
{
    Bitfusion__HostFn h = BITFUSION__HOST_FN__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    bf_hwait w = { .token = token };
    pthread_cond_init(&w.cv, NULL);
    pthread_mutex_lock(&ss->lock);
    w.next = ss->hwaits;
    ss->hwaits = &w;
    pthread_mutex_unlock(&ss->lock);
    drain_output(ss);
    h.token = token;
    h.status = status;
    f.msg_case = BITFUSION__FRAME__MSG_HOST_FN;
    f.host_fn = &h;
    int sent = bf_wire_send(&ss->wire, &f) == 0;
    pthread_mutex_lock(&ss->lock);
    while (sent && (!w.done || w.head) && !ss->stopping) {
        if (!w.head) { pthread_cond_wait(&w.cv, &ss->lock); continue; }
        bf_qitem *it = w.head;
        w.head = it->next;
        if (!w.head) w.tail = NULL;
        pthread_mutex_unlock(&ss->lock);
        run_call(ss, it->f->call);     /* on this (the stream's) thread, as the driver would */
        bf_wire_free(it->f);
        free(it);
        pthread_mutex_lock(&ss->lock);
    }
    for (bf_hwait **pp = &ss->hwaits; *pp; pp = &(*pp)->next)
        if (*pp == &w) { *pp = w.next; break; }
    pthread_mutex_unlock(&ss->lock);
    while (w.head) {
        bf_qitem *it = w.head;
        w.head = it->next;
        bf_wire_free(it->f);
        free(it);
    }
    pthread_cond_destroy(&w.cv);
}

static void hostfn_done(bf_session *ss, uint64_t token)
{
    pthread_mutex_lock(&ss->lock);
    for (bf_hwait *w = ss->hwaits; w; w = w->next)
        if (w->token == token) { w->done = 1; pthread_cond_signal(&w->cv); }
    pthread_mutex_unlock(&ss->lock);
}

/* ---- dispatch ---------------------------------------------------------------------------------- */
int bf_sv_send_reply(bf_session *ss, uint64_t id, CUresult r, ProtobufCBinaryData *b, size_t nb)
{
    Bitfusion__Reply rp = BITFUSION__REPLY__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    rp.id = id;
    rp.result = (int32_t)r;
    rp.n_b = nb;
    rp.b = b;
    f.msg_case = BITFUSION__FRAME__MSG_REPLY;
    f.reply = &rp;
    return bf_wire_send(&ss->wire, &f);
}

static void run_call(bf_session *ss, const Bitfusion__Call *c)
{
    bf_sargs s;
    CUresult r;
    uint32_t id = c->fn & 0xffff;
    int fl = (int)(c->fn >> 16) & 3;
    memset(&s, 0, sizeof s);
    s.ss = ss;
    s.c = c;
    s.flavour = fl;
    const bf_sv_entry *e = id < BF_MAX_FN ? ss->by_id[id] : NULL;
    if (!e) {
        r = CUDA_ERROR_NOT_SUPPORTED;
    } else {
        void *sym = ss->syms[id][fl] ? ss->syms[id][fl] : ss->syms[id][0];
        if (!sym && e->sym[0]) r = CUDA_ERROR_NOT_SUPPORTED;
        else r = e->fn(&s, sym);
    }
    __atomic_add_fetch(&ss->calls, 1, __ATOMIC_RELAXED);
    if (!c->async) drain_output(ss);
    if (!s.no_reply && (!c->async || r != CUDA_SUCCESS || s.force_reply)) {
        Bitfusion__Reply rp = BITFUSION__REPLY__INIT;
        Bitfusion__Frame f = BITFUSION__FRAME__INIT;
        rp.id = c->id;
        rp.result = (int32_t)r;
        rp.n_a = s.nra;
        rp.a = s.ra;
        rp.n_b = s.nrb;
        rp.b = s.rb;
        f.msg_case = BITFUSION__FRAME__MSG_REPLY;
        f.reply = &rp;
        bf_wire_send(&ss->wire, &f);
    }
    for (size_t i = 0; i < s.ntmp; i++) free(s.tmp[i]);
}

static void *worker_main(void *arg)
{
    bf_worker *w = arg;
    bf_session *ss = w->ss;
    pthread_mutex_lock(&ss->lock);
    for (;;) {
        while (!w->head && !ss->stopping) pthread_cond_wait(&w->cv, &ss->lock);
        if (!w->head) break;
        bf_qitem *it = w->head;
        w->head = it->next;
        if (!w->head) w->tail = NULL;
        pthread_mutex_unlock(&ss->lock);
        run_call(ss, it->f->call);
        bf_wire_free(it->f);
        free(it);
        pthread_mutex_lock(&ss->lock);
    }
    pthread_mutex_unlock(&ss->lock);
    return NULL;
}

/* Queues a Call frame on its client thread's server thread (created on first use). */
static int enqueue_call(bf_session *ss, Bitfusion__Frame *f)
{
    bf_qitem *it = malloc(sizeof *it);
    bf_worker *w;
    if (!it) return -1;
    it->f = f;
    it->next = NULL;
    pthread_mutex_lock(&ss->lock);
    if (f->call->thread & BF_HOSTFN_TID) {
        for (bf_hwait *h = ss->hwaits; h; h = h->next)
            if (h->token == (f->call->thread & ~BF_HOSTFN_TID)) {
                if (h->tail) h->tail->next = it; else h->head = it;
                h->tail = it;
                pthread_cond_signal(&h->cv);
                pthread_mutex_unlock(&ss->lock);
                return 0;
            }
    }
    for (w = ss->workers; w && w->tid != f->call->thread; w = w->next) {}
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w) { pthread_mutex_unlock(&ss->lock); free(it); return -1; }
        w->ss = ss;
        w->tid = f->call->thread;
        pthread_cond_init(&w->cv, NULL);
        if (pthread_create(&w->thr, NULL, worker_main, w) != 0) {
            pthread_mutex_unlock(&ss->lock);
            free(w); free(it);
            return -1;
        }
        w->next = ss->workers;
        ss->workers = w;
    }
    if (w->tail) w->tail->next = it; else w->head = it;
    w->tail = it;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&ss->lock);
    return 0;
}

static void stop_workers(bf_session *ss)
{
    pthread_mutex_lock(&ss->lock);
    ss->stopping = 1;
    for (bf_worker *w = ss->workers; w; w = w->next) pthread_cond_signal(&w->cv);
    for (bf_hwait *h = ss->hwaits; h; h = h->next) pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&ss->lock);
    while (ss->workers) {
        bf_worker *w = ss->workers;
        ss->workers = w->next;
        pthread_join(w->thr, NULL);
        while (w->head) {
            bf_qitem *it = w->head;
            w->head = it->next;
            bf_wire_free(it->f);
            free(it);
        }
        pthread_cond_destroy(&w->cv);
        free(w);
    }
}

/* ---- backend and handshake --------------------------------------------------------------------- */
static void *open_backend(const char *backend, const char *emu_path, const char **used, char *err,
                          size_t len)
{
    void *lib = NULL;
    if (!strcmp(backend, "nvidia") || !strcmp(backend, "auto")) {
        lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
        if (lib && !strcmp(backend, "auto")) {
            CUresult (*init)(unsigned) = (CUresult (*)(unsigned))dlsym(lib, "cuInit");
            CUresult (*count)(int *) = (CUresult (*)(int *))dlsym(lib, "cuDeviceGetCount");
            int n = 0;
            if (!init || !count || init(0) != CUDA_SUCCESS || count(&n) != CUDA_SUCCESS || n <= 0) {
                dlclose(lib);
                lib = NULL;
            }
        }
        if (lib) { *used = "nvidia"; return lib; }
        if (!strcmp(backend, "nvidia")) {
            snprintf(err, len, "cannot load the NVIDIA driver (libcuda.so.1): %s; install it or "
                     "run bitfusiond --backend emu", dlerror());
            return NULL;
        }
    }
    if (!emu_path || !*emu_path) {
        snprintf(err, len, "no software GPU library path given; reinstall bitfusion");
        return NULL;
    }
    lib = dlopen(emu_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(err, len, "cannot load the software GPU %s: %s", emu_path, dlerror());
        return NULL;
    }
    *used = "emu";
    return lib;
}

static void resolve_symbols(bf_session *ss)
{
    for (const bf_sv_entry *e = bf_sv_table; e->name; e++) {
        if (e->id >= BF_MAX_FN) continue;
        ss->by_id[e->id] = e;
        for (int f = 0; f < 3; f++)
            ss->syms[e->id][f] = e->sym[f] ? bf_partition_sym(ss->lib, e->sym[f]) : NULL;
    }
}

static int send_hello_reply(bf_session *ss, int ok, const char *error)
{
    Bitfusion__HelloReply h = BITFUSION__HELLO_REPLY__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    h.ok = ok;
    h.protocol_version = BF_PROTOCOL_VERSION;
    h.server_version = (char *)BF_VERSION_STRING;
    h.capabilities = BF_CAP_PIPELINE | BF_CAP_HOSTFN | BF_CAP_OUTPUT;
    h.backend = (char *)(ss->backend ? ss->backend : "");
    h.error = (char *)(error ? error : "");
    f.msg_case = BITFUSION__FRAME__MSG_HELLO_REPLY;
    f.hello_reply = &h;
    return bf_wire_send(&ss->wire, &f);
}

void (*bf_session_started)(int control, const char *lease);
static char g_peer_addr[80];
void bf_session_set_peer(const char *addr) { snprintf(g_peer_addr, sizeof g_peer_addr, "%s", addr); }

/* Passes the client's Hello to the daemon's parent (who says which lease, if any, the session
 * runs in). NULL + why when it refuses or does not answer; else its HelloReply frame. */
static Bitfusion__Frame *ask_parent(bf_session *ss, Bitfusion__Frame *f, char *why, size_t len)
{
    char *cn = f->hello->peer_cn, *addr = f->hello->peer_addr;   /* restored before the frame is freed */
    f->hello->peer_cn = (char *)bf_conn_peer_name(ss->conn);
    f->hello->peer_addr = g_peer_addr;
    Bitfusion__Frame *a = bf_ctl_call(f, BF_CTL_TIMEOUT_MS);
    f->hello->peer_cn = cn;
    f->hello->peer_addr = addr;
    if (!a || a->msg_case != BITFUSION__FRAME__MSG_HELLO_REPLY) {
        snprintf(why, len, "the daemon did not answer the session's start; try again");
    } else if (!a->hello_reply->ok) {
        snprintf(why, len, "%s", a->hello_reply->error);
    } else {
        return a;
    }
    if (a)
        bitfusion__frame__free_unpacked(a, NULL);
    return NULL;
}

/* Reads Hello; asks the parent; opens the backend (CUDA sessions); answers. 0 when the session may
 * go on; *control set for a control connection. */
static int handshake(bf_session *ss, const char *backend, const char *emu_path, int *control, char *why, size_t len)
{
    char err[512];
    Bitfusion__Frame *f = bf_wire_recv(ss->conn, err, sizeof err), *lease = NULL;
    if (!f) { snprintf(why, len, "no handshake: %s", err); return -1; }
    if (f->msg_case != BITFUSION__FRAME__MSG_HELLO) {
        snprintf(why, len, "the client did not start with Hello; is it a bitfusion client?");
        send_hello_reply(ss, 0, why);
        bf_wire_free(f);
        return -1;
    }
    if (f->hello->protocol_version != BF_PROTOCOL_VERSION) {
        snprintf(why, len, "protocol version mismatch: client %u (%s), server %u (%s); install "
                 "matching bitfusion versions", f->hello->protocol_version, f->hello->client_version,
                 BF_PROTOCOL_VERSION, BF_VERSION_STRING);
        send_hello_reply(ss, 0, why);
        bf_wire_free(f);
        return -1;
    }
    *control = f->hello->purpose == 1;
    char lease_id[64];
    snprintf(lease_id, sizeof lease_id, "%s", f->hello->lease ? f->hello->lease : "");
    int refused = 0;
    if (bf_ctl_fd >= 0)
        refused = !(lease = ask_parent(ss, f, why, len));
    else if (*control)
        refused = (snprintf(why, len, "this server takes no lease requests"), 1);
    bf_wire_free(f);
    if (!refused && lease && !*control && bf_partition_setup(lease->hello_reply) != 0)
        refused = (snprintf(why, len, "the lease's accounting is unusable; restart bitfusiond"), 1);
    if (lease)
        bitfusion__frame__free_unpacked(lease, NULL);
    if (refused) {
        send_hello_reply(ss, 0, why);
        return -1;
    }
    if (bf_session_started)
        bf_session_started(*control, lease_id);
    if (*control)
        return send_hello_reply(ss, 1, NULL) == 0 ? 0 : (snprintf(why, len, "the client went away"), -1);
    ss->lib = open_backend(backend ? backend : "auto", emu_path, &ss->backend, err, sizeof err);
    if (!ss->lib) {
        snprintf(why, len, "%s", err);
        send_hello_reply(ss, 0, why);
        return -1;
    }
    bf_partition_attach_backend(ss->lib);
    resolve_symbols(ss);
    return send_hello_reply(ss, 1, NULL) == 0 ? 0 : (snprintf(why, len, "the client went away"), -1);
}

/* ---- the session --------------------------------------------------------------------------------- */
static void serve(bf_session *ss, char *why, size_t len)
{
    char err[512];
    for (;;) {
        Bitfusion__Frame *f = bf_wire_recv(ss->conn, err, sizeof err);
        if (!f) {
            snprintf(why, len, "%s", strstr(err, "connection closed") == err ? "client closed the connection" : err);
            return;
        }
        switch (f->msg_case) {
        case BITFUSION__FRAME__MSG_CALL:
            if (enqueue_call(ss, f) != 0) {
                snprintf(why, len, "out of memory or threads");
                bf_wire_free(f);
                return;
            }
            continue;
        case BITFUSION__FRAME__MSG_HOST_FN_DONE:
            hostfn_done(ss, f->host_fn_done->token);
            break;
        default:
            break;
        }
        bf_wire_free(f);
    }
}

long bf_session_run(bf_conn *c, const char *backend, const char *emu_lib_path, char *endreason,
                    size_t len)
{
    bf_session *ss = calloc(1, sizeof *ss);
    char tmp[512];
    long calls;
    if (!endreason || !len) { endreason = tmp; len = sizeof tmp; }
    if (!ss) { snprintf(endreason, len, "out of memory"); return -1; }
    ss->conn = c;
    bf_wire_init(&ss->wire, c);
    pthread_mutex_init(&ss->lock, NULL);
    pthread_mutex_init(&ss->out_lock, NULL);
    ss->out_rd = ss->saved_stdout = -1;
    int control = 0;
    if (handshake(ss, backend, emu_lib_path, &control, endreason, len) != 0) {
        bf_wire_destroy(&ss->wire);
        free(ss);
        return -1;
    }
    if (control) {
        calls = bf_control_run(c, &ss->wire, endreason, len);
        bf_wire_destroy(&ss->wire);
        free(ss);
        return calls;
    }
    output_start(ss);
    serve(ss, endreason, len);
    stop_workers(ss);
    bf_partition_end();
    output_stop(ss);
    calls = ss->calls;
    bf_wire_destroy(&ss->wire);
    free(ss->objs);
    free(ss->hash);
    free(ss);
    return calls;
}
