/* lease_client.c: the client side of leases (owner: proto/; see lease_client.h,
 * docs/leasing-design.md): control connections to one server (bf_ctl_*: Hello{purpose: control},
 * then one request frame and one answer frame at a time, each answer awaited at most the
 * connection's timeout), placement of a lease over the pool, the hold's keepalive thread, release,
 * and the BITFUSION_LEASE value. Filters are in filter.c, the pool query in pool.c. */
#include "lease_client.h"
#include "wire.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 30000
#define MIB (1ull << 20)
#define MIN_PING_INTERVAL_MS 50

struct bf_ctl {
    bf_conn *conn;
    bf_wire wire;
    int broken;              /* a request failed: the stream is out of step, nothing more is sent */
    uint64_t seq;            /* last Ping seq */
    char addr[300];
    int timeout_ms;          /* connect, and the longest wait for each answer */
    pid_t owner;             /* the process that opened it: a forked child's copy is only abandoned */
    /* keepalive (bf_lease_keepalive_start): after start only its thread uses the connection */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int running, stop;
    int interval_ms;
    char lease8[16];         /* the lease's first 8 hex digits, for the "server gone" line */
};

static void setf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void setf(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    bf_one_line(buf);              /* servers' words travel in it: keep it one printable line */
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fmt_addr(char *out, size_t len, const char *host, int port)
{
    if (strchr(host, ':'))
        snprintf(out, len, "[%s]:%d", host, port);
    else
        snprintf(out, len, "%s:%d", host, port);
}

/* ---- control connections ------------------------------------------------------------------------ */
static bf_ctl *ctl_new(bf_conn *conn, const char *host, int port, int timeout_ms)
{
    bf_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);
    c->conn = conn;
    bf_wire_init(&c->wire, conn);
    fmt_addr(c->addr, sizeof c->addr, host, port);
    c->timeout_ms = timeout_ms;
    c->owner = getpid();
    bf_conn_set_timeout(conn, timeout_ms);
    return c;
}

/* Sends req and reads the one answer frame, which must be `want`. NULL + err otherwise (and the
 * connection is marked broken: its stream may be out of step). */
static Bitfusion__Frame *ctl_call(bf_ctl *c, const Bitfusion__Frame *req, Bitfusion__Frame__MsgCase want,
                                  const char *what, char *err, size_t errlen)
{
    char why[512];
    if (c->broken) {
        setf(err, errlen, "%s: the control connection failed earlier; open a new one", c->addr);
        return NULL;
    }
    if (bf_wire_send(&c->wire, req) != 0) {
        c->broken = 1;
        setf(err, errlen, "%s: cannot send %s: %s", c->addr, what, bf_conn_error(c->conn));
        return NULL;
    }
    Bitfusion__Frame *r = bf_wire_recv(c->conn, why, sizeof why);
    if (!r) {
        c->broken = 1;
        setf(err, errlen, "%s did not answer %s (%s); check that bitfusiond runs there", c->addr, what, why);
        return NULL;
    }
    if (r->msg_case == want)
        return r;
    c->broken = 1;
    if (r->msg_case == BITFUSION__FRAME__MSG_HELLO_REPLY && !r->hello_reply->ok)
        setf(err, errlen, "%s refused %s: %s", c->addr, what, r->hello_reply->error);
    else
        setf(err, errlen, "%s answered %s with an unexpected message (%d); is it an older bitfusiond?",
             c->addr, what, (int)r->msg_case);
    bf_wire_free(r);
    return NULL;
}

static const char *program_name(void)
{
    return program_invocation_short_name ? program_invocation_short_name : "";
}

static int ctl_hello(bf_ctl *c, char *err, size_t errlen)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    Bitfusion__Hello h = BITFUSION__HELLO__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    h.protocol_version = BF_PROTOCOL_VERSION;
    h.client_version = (char *)BF_VERSION_STRING;
    h.client_name = (char *)program_name();
    h.purpose = 1;
    h.client_pid = (int32_t)getpid();
    h.client_host = host;
    f.msg_case = BITFUSION__FRAME__MSG_HELLO;
    f.hello = &h;
    Bitfusion__Frame *r = ctl_call(c, &f, BITFUSION__FRAME__MSG_HELLO_REPLY, "the control handshake", err, errlen);
    if (!r)
        return -1;
    Bitfusion__HelloReply *hr = r->hello_reply;
    int rc = -1;
    if (!hr->ok)
        setf(err, errlen, "%s refused the control connection: %s", c->addr,
             hr->error[0] ? hr->error : "no reason given");
    else if (hr->protocol_version != BF_PROTOCOL_VERSION)
        setf(err, errlen, "%s speaks protocol %u (bitfusiond %s), we speak %u; install matching bitfusion "
             "versions", c->addr, hr->protocol_version, hr->server_version, BF_PROTOCOL_VERSION);
    else
        rc = 0;
    bf_wire_free(r);
    return rc;
}

bf_ctl *bf_ctl_open(const bf_client_config *cfg, const char *host, int port, int timeout_ms,
                    char *err, size_t errlen)
{
    bf_tls_files files = {cfg->ca, cfg->cert, cfg->key};
    int limit = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
    bf_conn *conn = bf_tls_connect(host, port, &files, limit, err, errlen);
    if (!conn)
        return NULL;
    bf_ctl *c = ctl_new(conn, host, port, limit);
    if (!c) {
        bf_conn_close(conn);
        setf(err, errlen, "out of memory for a control connection");
        return NULL;
    }
    if (ctl_hello(c, err, errlen) != 0) {
        bf_ctl_close(c);
        return NULL;
    }
    return c;
}

/* Stops the keepalive thread (in the process that started it) and waits for it. */
static void keepalive_stop(bf_ctl *c)
{
    if (!c->running)
        return;
    c->running = 0;
    if (c->owner != getpid())
        return; /* a forked child: the thread lives only in the parent */
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
}

/* Frees c; `abandon`: without sending anything (a forked child's copy). */
static void ctl_free(bf_ctl *c, int abandon)
{
    int forked = c->owner != getpid();
    keepalive_stop(c);
    if (abandon || forked)
        bf_conn_abandon(c->conn);
    else
        bf_conn_close(c->conn);
    if (!forked) { /* a forked child's copies of the locks may be held by threads it does not have */
        bf_wire_destroy(&c->wire);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
    }
    free(c);
}

void bf_ctl_close(bf_ctl *c)
{
    if (c)
        ctl_free(c, 0);
}

/* The answer's message, detached from its frame (freed with its own free_unpacked). */
static void *detach(Bitfusion__Frame *r, void *msg)
{
    r->msg_case = BITFUSION__FRAME__MSG__NOT_SET; /* free_unpacked skips the oneof */
    bf_wire_free(r);
    return msg;
}

/* Words from the server (and, through it, from other clients: holders' command lines) are printed
 * by list_gpus and smi: no control characters reach the terminal. */
static void printable_inventory(Bitfusion__Inventory *inv)
{
    bf_one_line(inv->hostname), bf_one_line(inv->server_version), bf_one_line(inv->backend);
    bf_one_line(inv->driver_version), bf_one_line(inv->cuda_version);
    for (size_t g = 0; g < inv->n_gpus; g++) {
        Bitfusion__Gpu *gpu = inv->gpus[g];
        bf_one_line(gpu->name), bf_one_line(gpu->uuid), bf_one_line(gpu->pci_bus_id);
        for (size_t p = 0; p < gpu->n_partitions; p++)
            bf_one_line(gpu->partitions[p]->lease), bf_one_line(gpu->partitions[p]->holder),
                bf_one_line(gpu->partitions[p]->owner);
    }
}

Bitfusion__Inventory *bf_ctl_inventory(bf_ctl *c, char *err, size_t errlen)
{
    Bitfusion__InventoryRequest q = BITFUSION__INVENTORY_REQUEST__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    f.msg_case = BITFUSION__FRAME__MSG_INVENTORY_REQUEST;
    f.inventory_request = &q;
    Bitfusion__Frame *r = ctl_call(c, &f, BITFUSION__FRAME__MSG_INVENTORY, "the inventory request", err, errlen);
    Bitfusion__Inventory *inv = r ? detach(r, r->inventory) : NULL;
    if (inv)
        printable_inventory(inv);
    return inv;
}

void bf_inventory_free(Bitfusion__Inventory *inv)
{
    if (inv)
        bitfusion__inventory__free_unpacked(inv, NULL);
}

Bitfusion__LeaseReply *bf_ctl_lease(bf_ctl *c, const Bitfusion__LeaseRequest *req, char *err, size_t errlen)
{
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    f.msg_case = BITFUSION__FRAME__MSG_LEASE_REQUEST;
    f.lease_request = (Bitfusion__LeaseRequest *)req;
    Bitfusion__Frame *r = ctl_call(c, &f, BITFUSION__FRAME__MSG_LEASE_REPLY, "the lease request", err, errlen);
    return r ? detach(r, r->lease_reply) : NULL;
}

void bf_lease_reply_free(Bitfusion__LeaseReply *r)
{
    if (r)
        bitfusion__lease_reply__free_unpacked(r, NULL);
}

int bf_ctl_release(bf_ctl *c, const char *lease_id, char *err, size_t errlen)
{
    Bitfusion__LeaseRelease q = BITFUSION__LEASE_RELEASE__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    q.id = (char *)lease_id;
    f.msg_case = BITFUSION__FRAME__MSG_LEASE_RELEASE;
    f.lease_release = &q;
    Bitfusion__Frame *r = ctl_call(c, &f, BITFUSION__FRAME__MSG_CONTROL_REPLY, "the release", err, errlen);
    if (!r)
        return -1;
    int ok = r->control_reply->ok;
    if (!ok)
        setf(err, errlen, "%s: cannot release lease %.8s: %s", c->addr, lease_id,
             r->control_reply->error[0] ? r->control_reply->error : "no reason given");
    bf_wire_free(r);
    return ok ? 0 : -1;
}

int bf_ctl_ping(bf_ctl *c, char *err, size_t errlen)
{
    Bitfusion__Ping p = BITFUSION__PING__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    p.seq = ++c->seq;
    f.msg_case = BITFUSION__FRAME__MSG_PING;
    f.ping = &p;
    Bitfusion__Frame *r = ctl_call(c, &f, BITFUSION__FRAME__MSG_PING, "a ping", err, errlen);
    if (!r)
        return -1;
    int ok = r->ping->seq == p.seq;
    if (!ok) {
        c->broken = 1;
        setf(err, errlen, "%s answered ping %llu with %llu; the connection is out of step", c->addr,
             (unsigned long long)p.seq, (unsigned long long)r->ping->seq);
    }
    bf_wire_free(r);
    return ok ? 0 : -1;
}

/* ---- what is wanted ----------------------------------------------------------------------------- */
static int whole_gpus(const bf_lease_want *w)
{
    return w->fraction <= 0 && !w->bytes;
}

/* The partition a GPU would give this lease: F of its whole MiB (rounded down to a MiB, as the
 * server computes it), -m's bytes, or all of it. */
static uint64_t need_bytes(const bf_lease_want *w, const Bitfusion__Gpu *g)
{
    if (w->fraction > 0)
        return (uint64_t)floor(w->fraction * (double)(g->total / MIB)) * MIB;
    return w->bytes ? w->bytes : g->total;
}

static int gpu_fits_now(const bf_lease_want *w, const Bitfusion__Gpu *g)
{
    if (whole_gpus(w))
        return g->total > 0 && g->free == g->total; /* nothing else on it */
    uint64_t n = need_bytes(w, g);
    return n > 0 && g->free >= n;
}

static int gpu_fits_ever(const bf_lease_want *w, const Bitfusion__Gpu *g)
{
    uint64_t n = need_bytes(w, g);
    return n > 0 && n <= g->total;
}

static int check_want(const bf_lease_want *w, char *err, size_t errlen)
{
    if (w->num_gpus < 1 || w->num_gpus > BF_LEASE_MAX_GPUS)
        setf(err, errlen, "asked for %d GPUs; a lease has 1 to %d", w->num_gpus, BF_LEASE_MAX_GPUS);
    else if (!(w->fraction >= 0 && w->fraction <= 1))
        setf(err, errlen, "partial %g is not a fraction of a GPU; give one from 0.01 to 1 (e.g. 0.5)", w->fraction);
    else if (w->fraction > 0 && w->bytes)
        setf(err, errlen, "give either a fraction of each GPU (-p) or a size (-m), not both");
    else if (w->nfilters < 0 || w->nfilters > BF_MAX_FILTERS)
        setf(err, errlen, "%d filters; at most %d are allowed", w->nfilters, BF_MAX_FILTERS);
    else
        return 0;
    return -1;
}

/* "1 GPU with 8192 MiB free", "2 GPUs with 50% of their memory free", "1 whole GPU". */
static void describe_want(const bf_lease_want *w, char *out, size_t len)
{
    const char *s = w->num_gpus == 1 ? "" : "s";
    if (w->fraction > 0)
        snprintf(out, len, "%d GPU%s with %g%% of %s memory free", w->num_gpus, s, w->fraction * 100,
                 w->num_gpus == 1 ? "its" : "their");
    else if (w->bytes)
        snprintf(out, len, "%d GPU%s with %llu MiB free", w->num_gpus, s,
                 (unsigned long long)((w->bytes + MIB - 1) / MIB));
    else
        snprintf(out, len, "%d whole GPU%s (with no partition on %s)", w->num_gpus, s,
                 w->num_gpus == 1 ? "it" : "them");
}

/* ---- placement ---------------------------------------------------------------------------------- */
typedef struct placement {
    int n;                              /* candidates, best first */
    int order[BF_MAX_SERVERS];
    uint64_t score[BF_MAX_SERVERS];     /* free bytes of the candidate's best num_gpus GPUs */
    int asked, unreachable, matching;   /* servers: all, not answering, passing server filters */
    char first_error[600];              /* "ADDR: why" of the first unreachable one */
    int most_allowed, most_ever;        /* GPUs on one server: passing filters; able to hold it */
    char most_allowed_at[300];
    uint64_t largest;                   /* largest GPU (total) passing the filters */
    char largest_at[300];
} placement;

/* Free bytes of the num_gpus fitting GPUs with the most free memory (0 when fewer fit). */
static uint64_t best_free(const bf_lease_want *w, const Bitfusion__Inventory *inv, int *nfit)
{
    uint64_t best[BF_LEASE_MAX_GPUS] = {0}, sum = 0;
    *nfit = 0;
    for (size_t i = 0; i < inv->n_gpus; i++) {
        const Bitfusion__Gpu *g = inv->gpus[i];
        if (!bf_filter_gpu_ok(w->filters, w->nfilters, g) || !gpu_fits_now(w, g))
            continue;
        (*nfit)++;
        uint64_t v = g->free; /* keep best[] sorted, largest first */
        for (int k = 0; k < w->num_gpus; k++)
            if (v > best[k]) {
                uint64_t t = best[k];
                best[k] = v;
                v = t;
            }
    }
    for (int k = 0; k < w->num_gpus; k++)
        sum += best[k];
    return *nfit >= w->num_gpus ? sum : 0;
}

/* What a server could ever give (for "can never fit"). */
static void note_capacity(placement *pl, const bf_lease_want *w, const bf_pool_server *s)
{
    int allowed = 0, ever = 0;
    for (size_t i = 0; i < s->inv->n_gpus; i++) {
        const Bitfusion__Gpu *g = s->inv->gpus[i];
        if (!bf_filter_gpu_ok(w->filters, w->nfilters, g))
            continue;
        allowed++;
        ever += gpu_fits_ever(w, g);
        if (g->total > pl->largest) {
            pl->largest = g->total;
            snprintf(pl->largest_at, sizeof pl->largest_at, "%s", s->addr);
        }
    }
    if (allowed > pl->most_allowed) {
        pl->most_allowed = allowed;
        snprintf(pl->most_allowed_at, sizeof pl->most_allowed_at, "%s", s->addr);
    }
    if (ever > pl->most_ever)
        pl->most_ever = ever;
}

static void add_candidate(placement *pl, int si, uint64_t score)
{
    int k = pl->n++;
    while (k > 0 && pl->score[k - 1] < score) { /* stable: equal scores keep the pool's order */
        pl->order[k] = pl->order[k - 1];
        pl->score[k] = pl->score[k - 1];
        k--;
    }
    pl->order[k] = si;
    pl->score[k] = score;
}

/* A server that did not answer (the pool query, or later the lease request). */
static void note_unreachable(placement *pl, const char *why)
{
    if (!pl->unreachable++)
        snprintf(pl->first_error, sizeof pl->first_error, "%s", why);
}

static void place(placement *pl, const bf_lease_want *w, const bf_pool *p)
{
    memset(pl, 0, sizeof *pl);
    pl->asked = p->n;
    for (int i = 0; i < p->n; i++) {
        const bf_pool_server *s = &p->s[i];
        if (!s->inv) {
            note_unreachable(pl, s->error);
            continue;
        }
        if (!bf_filter_server_ok(w->filters, w->nfilters, s->addr, s->inv))
            continue;
        pl->matching++;
        note_capacity(pl, w, s);
        int nfit;
        uint64_t score = best_free(w, s->inv, &nfit);
        if (nfit >= w->num_gpus)
            add_candidate(pl, i, score);
    }
}

/* The request can never be met by the servers asked (all of them answered). 1 + err, or 0. */
static int never_fits(const placement *pl, const bf_lease_want *w, char *err, size_t errlen)
{
    char what[160];
    if (pl->asked == 0 || pl->unreachable > 0 || pl->most_ever >= w->num_gpus)
        return 0;
    if (pl->matching == 0)
        setf(err, errlen, "none of the %d servers asked passes the server filters", pl->asked);
    else if (pl->most_allowed < w->num_gpus)
        setf(err, errlen, "no server has %d GPU%s%s (at most %d, on %s; %d server%s asked)", w->num_gpus,
             w->num_gpus == 1 ? "" : "s", w->nfilters ? " that pass the filters" : "", pl->most_allowed,
             pl->most_allowed_at[0] ? pl->most_allowed_at : "none", pl->asked, pl->asked == 1 ? "" : "s");
    else if (w->fraction > 0)
        setf(err, errlen, "%g of a GPU is less than 1 MiB on every GPU", w->fraction);
    else {
        describe_want(w, what, sizeof what);
        setf(err, errlen, "no server has %s: the partition is larger than the GPUs (largest: %llu MiB, on %s)",
             what, (unsigned long long)(pl->largest / MIB), pl->largest_at);
    }
    return 1;
}

/* "(3 servers asked)", "(3 servers asked, 1 unreachable: ADDR: why)". */
static void describe_asked(const placement *pl, char *out, size_t len)
{
    int k = snprintf(out, len, "(%d server%s asked", pl->asked, pl->asked == 1 ? "" : "s");
    if (pl->unreachable && k > 0 && (size_t)k < len)
        k += snprintf(out + k, len - (size_t)k, ", %d unreachable: %s", pl->unreachable, pl->first_error);
    if (k > 0 && (size_t)k < len)
        snprintf(out + k, len - (size_t)k, ")");
}

/* ---- asking a server ---------------------------------------------------------------------------- */
static void default_holder(char *out, size_t len)
{
    char host[256] = "";
    const char *user = getenv("USER");
    if (!user || !*user)
        user = getenv("LOGNAME");
    gethostname(host, sizeof host - 1);
    if (user && *user)
        snprintf(out, len, "%s@%s pid %d", user, host, (int)getpid());
    else
        snprintf(out, len, "uid %d@%s pid %d", (int)getuid(), host, (int)getpid());
}

static int take_reply(bf_lease *l, const bf_pool_server *s, const bf_lease_want *w, bf_ctl *c,
                      const Bitfusion__LeaseReply *r, char *err, size_t errlen)
{
    if (!r->id[0] || strlen(r->id) >= sizeof l->id || r->n_devices != (size_t)w->num_gpus) {
        setf(err, errlen, "%s answered the lease request with a malformed lease (%zu GPUs for %d); is it an "
             "older bitfusiond?", s->addr, r->n_devices, w->num_gpus);
        return -1;
    }
    memset(l, 0, sizeof *l);
    snprintf(l->id, sizeof l->id, "%s", r->id);
    snprintf(l->host, sizeof l->host, "%s", s->host);
    snprintf(l->addr, sizeof l->addr, "%s", s->addr);
    l->port = s->port;
    l->num_gpus = w->num_gpus;
    l->bytes = r->bytes;
    memcpy(l->devices, r->devices, r->n_devices * sizeof r->devices[0]);
    l->hold = c;
    l->ttl_ms = c->timeout_ms;
    return 0;
}

/* One LeaseRequest to server s. 0 leased (l filled), 1 no room there now (or not reachable),
 * -1 a final refusal (err). */
static int ask_server(const bf_client_config *cfg, const bf_lease_want *w, const char *holder,
                      const bf_pool_server *s, placement *pl, bf_lease *l, char *err, size_t errlen)
{
    char why[600];
    uint32_t devs[256];
    size_t nd = 0;
    for (size_t i = 0; i < s->inv->n_gpus && nd < sizeof devs / sizeof devs[0]; i++)
        if (bf_filter_gpu_ok(w->filters, w->nfilters, s->inv->gpus[i]))
            devs[nd++] = s->inv->gpus[i]->index;
    bf_ctl *c = bf_ctl_open(cfg, s->host, s->port, cfg->timeout_ms, why, sizeof why);
    if (!c) {
        note_unreachable(pl, why);
        return 1;
    }
    Bitfusion__LeaseRequest q = BITFUSION__LEASE_REQUEST__INIT;
    q.num_gpus = (uint32_t)w->num_gpus;
    q.fraction = w->fraction;
    q.bytes = w->bytes;
    q.n_devices = nd;
    q.devices = devs;
    q.ttl_ms = (uint32_t)c->timeout_ms;
    q.holder = (char *)holder;
    q.hold = 1;
    Bitfusion__LeaseReply *r = bf_ctl_lease(c, &q, why, sizeof why);
    int rc = 1;
    if (r && r->ok)
        rc = take_reply(l, s, w, c, r, err, errlen);
    else if (r && !r->retry) {
        setf(err, errlen, "%s: %s", s->addr, r->error[0] ? r->error : "the lease was refused (no reason given)");
        rc = -1;
    } else if (!r)
        note_unreachable(pl, why);
    bf_lease_reply_free(r);
    if (rc != 0)
        bf_ctl_close(c);
    return rc;
}

/* One round: pool query, placement, requests. 0 leased, 1 nothing fits now (pl filled), -1 err. */
static int lease_round(const bf_client_config *cfg, const bf_lease_want *w, const char *holder,
                       placement *pl, bf_lease *l, char *err, size_t errlen)
{
    bf_pool *p = calloc(1, sizeof *p);
    if (!p) {
        setf(err, errlen, "out of memory for the server pool");
        return -1;
    }
    int rc = bf_pool_query(p, cfg, w->server_list, err, errlen);
    if (rc == 0 && p->n == 0) {
        setf(err, errlen, "no GPU servers to ask: list them in %s/servers.conf or give -l HOST[:PORT],...",
             cfg->dir[0] ? cfg->dir : "~/.bitfusion");
        rc = -1;
    }
    if (rc == 0) {
        place(pl, w, p);
        rc = never_fits(pl, w, err, errlen) ? -1 : 1;
        for (int k = 0; rc == 1 && k < pl->n; k++)
            rc = ask_server(cfg, w, holder, &p->s[pl->order[k]], pl, l, err, errlen);
    }
    bf_pool_free(p);
    free(p);
    return rc;
}

static void no_fit_error(const placement *pl, const bf_lease_want *w, char *err, size_t errlen)
{
    char what[160], asked[800];
    describe_want(w, what, sizeof what);
    describe_asked(pl, asked, sizeof asked);
    if (pl->unreachable == pl->asked)
        setf(err, errlen, "cannot reach any GPU server %s", asked);
    else
        setf(err, errlen, "no server has %s %s", what, asked);
    if (w->wait_s > 0) {
        size_t k = strlen(err);
        setf(err + k, errlen - k, "; waited %d s", w->wait_s);
    }
}

static void say_waiting(const placement *pl, const bf_lease_want *w)
{
    char what[160], asked[800];
    describe_want(w, what, sizeof what);
    describe_asked(pl, asked, sizeof asked);
    fprintf(stderr, "%s: waiting for %s %s; up to %d s\n", w->prog ? w->prog : "bitfusion", what, asked,
            w->wait_s);
    fflush(stderr);
}

int bf_lease_acquire(const bf_client_config *cfg, const bf_lease_want *want, bf_lease *l, char *err,
                     size_t errlen)
{
    char holder[512];
    placement pl;
    if (check_want(want, err, errlen) != 0)
        return -1;
    if (want->holder)
        snprintf(holder, sizeof holder, "%s", want->holder);
    else
        default_holder(holder, sizeof holder);
    long long deadline = now_ms() + (long long)(want->wait_s > 0 ? want->wait_s : 0) * 1000;
    for (int said = 0;; said = 1) {
        int rc = lease_round(cfg, want, holder, &pl, l, err, errlen);
        if (rc <= 0)
            return rc;
        long long left = deadline - now_ms();
        if (left <= 0) {
            no_fit_error(&pl, want, err, errlen);
            return -1;
        }
        if (!said)
            say_waiting(&pl, want);
        struct timespec ts = {left >= 1000 ? 1 : 0, left >= 1000 ? 0 : (long)left * 1000000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}

/* ---- the hold ------------------------------------------------------------------------------------ */
static struct timespec after_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

static void *keepalive_main(void *arg)
{
    bf_ctl *c = arg;
    char err[600];
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec until = after_ms(c->interval_ms);
        while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &until) != ETIMEDOUT)
            ;
        if (c->stop)
            break;
        pthread_mutex_unlock(&c->mu);
        int rc = bf_ctl_ping(c, err, sizeof err);
        pthread_mutex_lock(&c->mu);
        if (rc != 0) {
            if (!c->stop)
                fprintf(stderr, "bitfusion: lease %s on %s: server gone (%s)\n", c->lease8, c->addr, err);
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int bf_lease_keepalive_start(bf_lease *l)
{
    if (!l || !l->hold || l->hold->owner != getpid())
        return -1;
    bf_ctl *c = l->hold;
    if (c->running)
        return 0;
    int ttl = l->ttl_ms > 0 ? l->ttl_ms : c->timeout_ms;
    c->interval_ms = ttl / 3 > MIN_PING_INTERVAL_MS ? ttl / 3 : MIN_PING_INTERVAL_MS;
    snprintf(c->lease8, sizeof c->lease8, "%.8s", l->id);
    c->stop = 0;
    sigset_t all, old; /* the program's signals are not for this thread */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, keepalive_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    c->running = rc == 0;
    return rc == 0 ? 0 : -1;
}

int bf_lease_release_id(const bf_client_config *cfg, const char *host, int port, const char *id,
                        char *err, size_t errlen)
{
    bf_ctl *c = bf_ctl_open(cfg, host, port, cfg->timeout_ms, err, errlen);
    if (!c)
        return -1;
    int rc = bf_ctl_release(c, id, err, errlen);
    bf_ctl_close(c);
    return rc;
}

int bf_lease_release(const bf_client_config *cfg, bf_lease *l, char *err, size_t errlen)
{
    if (!l->id[0]) {
        setf(err, errlen, "no lease to release");
        return -1;
    }
    if (!l->hold || l->hold->owner != getpid()) {
        bf_lease_abandon(l);
        return bf_lease_release_id(cfg, l->host, l->port, l->id, err, errlen);
    }
    keepalive_stop(l->hold);
    int rc = bf_ctl_release(l->hold, l->id, err, errlen);
    int conn_failed = rc != 0 && l->hold->broken;
    bf_ctl_close(l->hold);
    l->hold = NULL;
    if (conn_failed) /* the hold's connection is gone: another one may still reach the server */
        rc = bf_lease_release_id(cfg, l->host, l->port, l->id, err, errlen);
    return rc;
}

void bf_lease_abandon(bf_lease *l)
{
    if (!l || !l->hold)
        return;
    ctl_free(l->hold, 1);
    l->hold = NULL;
}

/* ---- BITFUSION_LEASE ----------------------------------------------------------------------------- */
void bf_lease_env_format(const bf_lease *l, char *out, size_t len)
{
    char addr[300];
    fmt_addr(addr, sizeof addr, l->host, l->port);
    snprintf(out, len, "%s@%s", l->id, addr);
}

int bf_lease_env_parse(const char *s, char *id, size_t idlen, char *host, size_t hostlen, int *port)
{
    const char *at = s ? strchr(s, '@') : NULL;
    if (!at || at == s || (size_t)(at - s) >= idlen)
        return -1;
    for (const char *p = s; p < at; p++)
        if (!strchr("0123456789abcdefABCDEF", *p))
            return -1;
    if (bf_parse_hostport(at + 1, 0, host, hostlen, port) != 0 || *port == 0)
        return -1;
    memcpy(id, s, (size_t)(at - s));
    id[at - s] = 0;
    return 0;
}
