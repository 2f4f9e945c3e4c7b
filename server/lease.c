/* lease.c: the lease bookkeeping of bitfusiond, in the parent process (docs/leasing-design.md).
 * Owns the GPU inventory, the leases (placement of partitions on GPUs, their holders and
 * sessions, their end) and the shared accounting table (lease_shm.h) that workers charge. Workers
 * talk to it over their socket pair (session_ctl.c): their client's Hello, LeaseRequest,
 * LeaseRelease and InventoryRequest. Nothing here blocks on a client. */
#include "lease.h"
#include "lease_shm.h"
#include "log.h"
#include "server.h"
#include "session_ctl.h"
#include "wire.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MiB (1ull << 20)
#define SESSION_GRACE_MS 2000

Bitfusion__Inventory *bf_inventory_probe(const char *backend, const char *emu_lib, char *err, size_t errlen);

enum { ROLE_NONE, ROLE_SESSION, ROLE_HOLD };

typedef struct worker {
    pid_t pid;                      /* 0: slot free */
    int fd;                         /* the parent's end, -1 when closed */
    int lease;                      /* lease slot, -1 none */
    int role;
    int client_pid;
    int said_hello;                 /* its client's Hello came (once, first) */
    char cn[256], client_host[256], peer[80];
} worker;

typedef struct lease {
    int in_use;
    char id[33];
    char owner[256];                /* certificate CN */
    char holder[256];
    int nsess, nhold;
    long long idle_since;           /* ms: when the last session left (or the lease began) */
    const char *ending;             /* why it is being ended (lease_end), for the log */
    long long kill_at;              /* ms: when an ending lease's sessions are killed */
} lease;

static struct {
    Bitfusion__Inventory *inv;      /* the probe's answer (static facts) */
    int idle_limit_s;
    worker w[BF_SHM_MAX_WORKERS];
    lease l[BF_SHM_MAX_LEASES];
} S;

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- start ------------------------------------------------------------------------------------- */
int bf_leases_init(const bf_server_config *cfg, const char *backend, const char *emu_lib)
{
    char err[600];
    S.inv = bf_inventory_probe(backend, emu_lib, err, sizeof err);
    if (!S.inv) {
        LOG_E("cannot list the GPUs: %s", err);
        return -1;
    }
    if (S.inv->n_gpus > BF_SHM_MAX_GPUS) {
        LOG_W("%zu GPUs found; serving the first %d", S.inv->n_gpus, BF_SHM_MAX_GPUS);
        S.inv->n_gpus = BF_SHM_MAX_GPUS;
    }
    bf_shm_table = mmap(NULL, sizeof *bf_shm_table, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (bf_shm_table == MAP_FAILED) {
        bf_shm_table = NULL;
        LOG_E("cannot map the memory accounting table: %s", strerror(errno));
        return -1;
    }
    bf_shm_table->ngpus = (uint32_t)S.inv->n_gpus;
    for (size_t i = 0; i < S.inv->n_gpus; i++) {
        const Bitfusion__Gpu *g = S.inv->gpus[i];
        bf_shm_table->gpu[i].total = g->total;
        bf_shm_table->gpu[i].ctx_reserve = g->ctx_reserve;
        LOG_I("GPU %u: %s, %llu MiB, %s (a context takes %llu MiB)", g->index, g->name,
              (unsigned long long)(g->total / MiB), g->uuid, (unsigned long long)(g->ctx_reserve / MiB));
    }
    for (int i = 0; i < BF_SHM_MAX_WORKERS; i++) {
        S.w[i].fd = -1;
        S.w[i].lease = -1;
        bf_shm_table->worker[i].lease = -1;
    }
    S.idle_limit_s = cfg->lease_idle_limit_s;
    return 0;
}

/* ---- workers ----------------------------------------------------------------------------------- */
int bf_lease_worker_new(int *child_fd)
{
    for (int i = 0; i < BF_SHM_MAX_WORKERS; i++) {
        if (S.w[i].pid || S.w[i].fd >= 0)
            continue;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
            LOG_E("cannot make a worker socket: %s", strerror(errno));
            return -1;
        }
        S.w[i].fd = sv[0];
        *child_fd = sv[1];
        return i;
    }
    return -1;
}

static void worker_reset(worker *w)
{
    if (w->fd >= 0)
        close(w->fd);
    *w = (worker){.fd = -1, .lease = -1};
}

void bf_lease_worker_forked(int slot, int child_fd, pid_t pid)
{
    close(child_fd);
    if (pid > 0) {
        S.w[slot].pid = pid;
        bf_shm_table->worker[slot] = (bf_shm_worker){.lease = -1};
    } else {
        worker_reset(&S.w[slot]);
    }
}

void bf_lease_worker_child(int slot, int child_fd)
{
    for (int i = 0; i < BF_SHM_MAX_WORKERS; i++)
        if (S.w[i].fd >= 0)
            close(S.w[i].fd);
    bf_ctl_fd = child_fd;
    bf_shm_worker_slot = slot;
}

static worker *worker_by_pid(pid_t pid)
{
    for (int i = 0; i < BF_SHM_MAX_WORKERS; i++)
        if (S.w[i].pid == pid)
            return &S.w[i];
    return NULL;
}

/* ---- leases ------------------------------------------------------------------------------------ */
static void short_id(const lease *l, char out[9]) { snprintf(out, 9, "%.8s", l->id); }

static void lease_free(int ls, const char *why)
{
    lease *l = &S.l[ls];
    char sid[9];
    short_id(l, sid);
    LOG_I("lease %s end: client=%s reason=%s", sid, l->owner, why);
    memset(&bf_shm_table->lease[ls], 0, sizeof bf_shm_table->lease[ls]);
    memset(l, 0, sizeof *l);
}

/* Detaches worker w from its lease; the lease ends when nothing holds it any more. */
static void detach(worker *w, int slot)
{
    int ls = w->lease;
    if (ls < 0)
        return;
    lease *l = &S.l[ls];
    bf_shm_lease *sl = &bf_shm_table->lease[ls];
    bf_shm_worker *sw = &bf_shm_table->worker[slot];
    for (uint32_t d = 0; d < sl->ndev && w->role == ROLE_SESSION; d++)
        __atomic_sub_fetch(&sl->used[d], __atomic_load_n(&sw->held[d], __ATOMIC_ACQUIRE), __ATOMIC_ACQ_REL);
    *sw = (bf_shm_worker){.lease = -1};
    if (w->role == ROLE_SESSION && --l->nsess == 0)
        l->idle_since = now_ms();
    if (w->role == ROLE_HOLD)
        l->nhold--;
    w->lease = -1;
    w->role = ROLE_NONE;
    if (l->nsess + l->nhold == 0)
        lease_free(ls, l->ending ? l->ending : "its holders and sessions ended");
}

void bf_lease_worker_ended(pid_t pid)
{
    worker *w = worker_by_pid(pid);
    if (!w)
        return;
    detach(w, (int)(w - S.w));
    worker_reset(w);
}

/* Kills lease ls's workers of `role` (ROLE_NONE: all), which returns their memory; reaping them
 * detaches them, and the last one's detach frees the lease. */
static void kill_workers(int ls, int role)
{
    for (int i = 0; i < BF_SHM_MAX_WORKERS && S.l[ls].in_use; i++) {
        worker *w = &S.w[i];
        if (w->lease == ls && w->pid > 0 && (role == ROLE_NONE || w->role == role))
            bf_serve_kill_worker(w->pid);
    }
}

/* Ends lease ls: its holders at once; its sessions get SESSION_GRACE_MS to finish on their own
 * (a program that has just exited is still closing its session), then they are killed. The
 * partition stays taken until the last of them is gone. */
static void lease_end(int ls, const char *why)
{
    lease *l = &S.l[ls];
    l->ending = why;
    kill_workers(ls, ROLE_HOLD);
    if (!l->in_use)
        return;
    if (l->nsess + l->nhold == 0)
        lease_free(ls, why);
    else if (!l->kill_at)
        l->kill_at = now_ms() + SESSION_GRACE_MS;
}

static int lease_by_id(const char *id)
{
    if (!id || strlen(id) != 32)
        return -1;
    for (int i = 0; i < BF_SHM_MAX_LEASES; i++)
        if (S.l[i].in_use && !S.l[i].ending && !strcmp(S.l[i].id, id))
            return i;
    return -1;
}

/* Bytes of GPU g already given to partitions. */
static uint64_t partitioned(uint32_t g)
{
    uint64_t sum = 0;
    for (int i = 0; i < BF_SHM_MAX_LEASES; i++) {
        const bf_shm_lease *sl = &bf_shm_table->lease[i];
        for (uint32_t d = 0; S.l[i].in_use && d < sl->ndev; d++)
            if (sl->gpu[d] == g)
                sum += sl->limit[d];
    }
    return sum;
}

/* ---- placement --------------------------------------------------------------------------------- */
typedef struct cand {
    uint32_t gpu;
    uint64_t want, free;
} cand;

static int by_free_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->free < y->free ? 1 : x->free > y->free ? -1 : (x->gpu > y->gpu) - (x->gpu < y->gpu);
}

static int by_gpu(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return (x->gpu > y->gpu) - (x->gpu < y->gpu);
}

static int allowed(const Bitfusion__LeaseRequest *r, uint32_t g)
{
    if (!r->n_devices)
        return 1;
    for (size_t i = 0; i < r->n_devices; i++)
        if (r->devices[i] == g)
            return 1;
    return 0;
}

static uint64_t wanted(const Bitfusion__LeaseRequest *r, uint64_t total)
{
    if (r->bytes)
        return r->bytes;
    if (r->fraction > 0)
        return (uint64_t)floor(r->fraction * (double)(total / MiB)) * MiB;
    return total;
}

/* Checks the request and picks GPUs: 0 with c[0..n) chosen, 1 no room now (err), -1 never (err). */
static int place(const Bitfusion__LeaseRequest *r, cand *c, char *err, size_t len)
{
    uint32_t n = r->num_gpus, k = 0;
    uint64_t largest = 0, biggest_want = 0;
    cand all[BF_SHM_MAX_GPUS];
    if (n < 1 || n > BF_LEASE_MAX_DEV || r->fraction < 0 || r->fraction > 1 || isnan(r->fraction) ||
        (r->fraction > 0 && r->bytes)) {
        snprintf(err, len, "malformed request: %u GPUs, fraction %g, %llu bytes", n, r->fraction,
                 (unsigned long long)r->bytes);
        return -1;
    }
    for (uint32_t g = 0; g < bf_shm_table->ngpus; g++) {
        if (!allowed(r, g))
            continue;
        uint64_t total = bf_shm_table->gpu[g].total, want = wanted(r, total);
        largest = total > largest ? total : largest;
        biggest_want = want > biggest_want ? want : biggest_want;
        if (want > total || want <= bf_shm_table->gpu[g].ctx_reserve)
            continue;
        all[k++] = (cand){g, want, total - partitioned(g)};
    }
    if (!biggest_want && r->fraction > 0) {
        snprintf(err, len, "a partition of %g of a GPU is less than 1 MiB; ask for more", r->fraction);
        return -1;
    }
    if (k < n) {
        if (k == 0 && biggest_want > largest)
            snprintf(err, len, "a partition of %llu MiB is larger than any GPU here (largest %llu MiB)",
                     (unsigned long long)(biggest_want / MiB), (unsigned long long)(largest / MiB));
        else if (k == 0 && largest)
            snprintf(err, len, "a partition of %llu MiB is too small: a context alone takes %llu MiB",
                     (unsigned long long)(biggest_want / MiB),
                     (unsigned long long)(bf_shm_table->gpu[0].ctx_reserve / MiB));
        else
            snprintf(err, len, "this server has %u GPU%s%s that can hold such a partition; %u asked", k,
                     k == 1 ? "" : "s", r->n_devices ? " (of those the filters allow)" : "", n);
        return -1;
    }
    uint32_t fit = 0;
    for (uint32_t i = 0; i < k; i++)
        if (all[i].free >= all[i].want && (r->fraction > 0 || r->bytes || all[i].free == all[i].want))
            all[fit++] = all[i];
    if (fit < n) {
        snprintf(err, len, "no room now: %u of the %u GPU%s asked %s free", fit, n, n == 1 ? "" : "s",
                 fit == 1 ? "is" : "are");
        return 1;
    }
    qsort(all, fit, sizeof *all, by_free_desc);
    qsort(all, n, sizeof *all, by_gpu);
    memcpy(c, all, n * sizeof *c);
    return 0;
}

static void new_id(char out[33])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        srandom((unsigned)(t.tv_nsec ^ getpid()));
        for (int i = 0; i < 16; i++)
            b[i] = (unsigned char)random();
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int lease_create(worker *w, int slot, const Bitfusion__LeaseRequest *r, const cand *c, char *err, size_t len)
{
    int ls = -1;
    for (int i = 0; i < BF_SHM_MAX_LEASES && ls < 0; i++)
        if (!S.l[i].in_use)
            ls = i;
    if (ls < 0) {
        snprintf(err, len, "this server already has %d leases; try again later", BF_SHM_MAX_LEASES);
        return -1;
    }
    lease *l = &S.l[ls];
    bf_shm_lease *sl = &bf_shm_table->lease[ls];
    memset(sl, 0, sizeof *sl);
    *l = (lease){.in_use = 1, .idle_since = now_ms()};
    new_id(l->id);
    snprintf(l->owner, sizeof l->owner, "%s", w->cn);
    snprintf(l->holder, sizeof l->holder, "%s", r->holder && *r->holder ? r->holder : w->client_host);
    bf_one_line(l->holder);           /* shown to every client by list_gpus */
    sl->ndev = r->num_gpus;
    for (uint32_t d = 0; d < r->num_gpus; d++) {
        sl->gpu[d] = c[d].gpu;
        sl->limit[d] = c[d].want;
    }
    w->lease = ls;                    /* the requesting connection holds it (on_lease_request) */
    w->role = ROLE_HOLD;
    l->nhold = 1;
    char sid[9], gpus[64] = "";
    short_id(l, sid);
    for (uint32_t d = 0; d < sl->ndev; d++)
        snprintf(gpus + strlen(gpus), sizeof gpus - strlen(gpus), "%s%u", d ? "," : "", sl->gpu[d]);
    LOG_I("lease %s start: client=%s gpus=%s partition=%llu MiB holder=%s", sid, l->owner, gpus,
          (unsigned long long)(sl->limit[0] / MiB), l->holder);
    (void)slot;
    return ls;
}

/* ---- messages ---------------------------------------------------------------------------------- */
static void reply(worker *w, Bitfusion__Frame *f)
{
    if (w->fd >= 0 && bf_ctl_send(w->fd, f) != 0)
        LOG_W("worker %d: cannot answer it", (int)w->pid);
}

static void hello_reply(worker *w, int ok, const char *error, int ls, int slot)
{
    Bitfusion__HelloReply h = BITFUSION__HELLO_REPLY__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    uint32_t devs[BF_LEASE_MAX_DEV];
    h.ok = ok;
    h.protocol_version = BF_PROTOCOL_VERSION;
    h.error = (char *)(error ? error : "");
    if (ok && ls >= 0) {
        const bf_shm_lease *sl = &bf_shm_table->lease[ls];
        memcpy(devs, sl->gpu, sl->ndev * sizeof *devs);
        h.devices = devs;
        h.n_devices = sl->ndev;
        h.partition_bytes = sl->limit[0];
        h.lease_slot = (uint32_t)ls;
        h.worker_slot = (uint32_t)slot;
    }
    f.msg_case = BITFUSION__FRAME__MSG_HELLO_REPLY;
    f.hello_reply = &h;
    reply(w, &f);
}

static void on_hello(worker *w, int slot, const Bitfusion__Hello *h)
{
    char err[300];
    snprintf(w->cn, sizeof w->cn, "%s", h->peer_cn ? h->peer_cn : "");
    snprintf(w->client_host, sizeof w->client_host, "%s", h->client_host ? h->client_host : "");
    snprintf(w->peer, sizeof w->peer, "%s", h->peer_addr ? h->peer_addr : "");
    w->client_pid = h->client_pid;
    if (h->purpose == 1) {
        hello_reply(w, 1, NULL, -1, slot);
        return;
    }
    int ls = lease_by_id(h->lease);
    if (ls < 0 || strcmp(S.l[ls].owner, w->cn)) {
        snprintf(err, sizeof err, "%s: no such lease on this server (it ended or was released, or was never "
                 "taken); run the program with 'bitfusion run', or unset BITFUSION_LEASE to lease on start",
                 h->lease && *h->lease ? "the lease in BITFUSION_LEASE" : "this session names no lease");
        hello_reply(w, 0, err, -1, slot);
        return;
    }
    lease *l = &S.l[ls];
    w->lease = ls;
    w->role = ROLE_SESSION;
    l->nsess++;
    bf_shm_table->worker[slot] = (bf_shm_worker){.lease = ls, .client_pid = w->client_pid};
    hello_reply(w, 1, NULL, ls, slot);
}

static void on_lease_request(worker *w, int slot, const Bitfusion__LeaseRequest *r)
{
    Bitfusion__LeaseReply lr = BITFUSION__LEASE_REPLY__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    char err[300] = "";
    cand c[BF_LEASE_MAX_DEV];
    uint32_t devs[BF_LEASE_MAX_DEV];
    int rc = w->lease >= 0 ? (snprintf(err, sizeof err, "this connection already holds a lease"), -1)
             : !r->hold    ? (snprintf(err, sizeof err, "a lease must be held by the connection that asks for it"), -1)
                           : place(r, c, err, sizeof err);
    int ls = rc == 0 ? lease_create(w, slot, r, c, err, sizeof err) : -1;
    lr.ok = ls >= 0;
    lr.retry = rc == 1;
    lr.error = err;
    if (ls >= 0) {
        for (uint32_t d = 0; d < r->num_gpus; d++)
            devs[d] = c[d].gpu;
        lr.id = S.l[ls].id;
        lr.devices = devs;
        lr.n_devices = r->num_gpus;
        lr.bytes = c[0].want;
    }
    f.msg_case = BITFUSION__FRAME__MSG_LEASE_REPLY;
    f.lease_reply = &lr;
    reply(w, &f);
}

static void on_release(worker *w, int slot, const Bitfusion__LeaseRelease *r)
{
    Bitfusion__ControlReply cr = BITFUSION__CONTROL_REPLY__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    char err[200] = "";
    int ls = lease_by_id(r->id);
    if (ls < 0 || strcmp(S.l[ls].owner, w->cn)) {
        snprintf(err, sizeof err, "no such lease on this server (it has ended already)");
    } else {
        if (w->lease == ls) {          /* the holder releases: it stays connected, lease-less */
            S.l[ls].nhold -= w->role == ROLE_HOLD;
            w->lease = -1;
            w->role = ROLE_NONE;
            bf_shm_table->worker[slot] = (bf_shm_worker){.lease = -1};
        }
        lease_end(ls, "released");
        cr.ok = 1;
    }
    cr.error = err;
    f.msg_case = BITFUSION__FRAME__MSG_CONTROL_REPLY;
    f.control_reply = &cr;
    reply(w, &f);
}

/* The inventory with what is partitioned now. */
static void on_inventory(worker *w)
{
    Bitfusion__Inventory inv = *S.inv;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    size_t ng = S.inv->n_gpus;
    Bitfusion__Gpu *gpus = calloc(ng + 1, sizeof *gpus);
    Bitfusion__Gpu **gp = calloc(ng + 1, sizeof *gp);
    Bitfusion__Partition *parts = calloc((size_t)BF_SHM_MAX_LEASES * BF_LEASE_MAX_DEV + 1, sizeof *parts);
    Bitfusion__Partition **pp = calloc((size_t)BF_SHM_MAX_LEASES * BF_LEASE_MAX_DEV + 1, sizeof *pp);
    int32_t *pids = calloc(BF_SHM_MAX_WORKERS + 1, sizeof *pids);
    char sids[BF_SHM_MAX_LEASES][9];
    size_t np = 0, npid = 0;
    if (!gpus || !gp || !parts || !pp || !pids)
        ng = 0, inv.n_gpus = 0;
    for (size_t g = 0; g < ng; g++) {
        gpus[g] = *S.inv->gpus[g];
        gpus[g].free = gpus[g].total - partitioned((uint32_t)g);
        gpus[g].partitions = pp + np;
        for (int ls = 0; ls < BF_SHM_MAX_LEASES; ls++) {
            const lease *l = &S.l[ls];
            const bf_shm_lease *sl = &bf_shm_table->lease[ls];
            for (uint32_t d = 0; l->in_use && d < sl->ndev; d++) {
                if (sl->gpu[d] != g)
                    continue;
                Bitfusion__Partition *p = &parts[np];
                bitfusion__partition__init(p);
                short_id(l, sids[ls]);
                p->lease = sids[ls];
                p->holder = (char *)l->holder;
                p->owner = (char *)l->owner;
                p->bytes = sl->limit[d];
                p->used = __atomic_load_n(&sl->used[d], __ATOMIC_ACQUIRE);
                p->sessions = (uint32_t)l->nsess;
                p->pids = pids + npid;
                for (int i = 0; i < BF_SHM_MAX_WORKERS; i++)
                    if (S.w[i].lease == ls && S.w[i].role == ROLE_SESSION)
                        pids[npid++] = S.w[i].client_pid, p->n_pids++;
                pp[np++] = p;
                gpus[g].n_partitions++;
            }
        }
        gp[g] = &gpus[g];
    }
    inv.gpus = gp;
    f.msg_case = BITFUSION__FRAME__MSG_INVENTORY;
    f.inventory = &inv;
    reply(w, &f);
    free(gpus), free(gp), free(parts), free(pp), free(pids);
}

static void on_message(worker *w, int slot, const Bitfusion__Frame *f)
{
    /* a worker passes its client's Hello once, first, and then only control requests */
    if ((f->msg_case == BITFUSION__FRAME__MSG_HELLO) == w->said_hello) {
        LOG_W("worker %d: a message out of order (%d); ending it", (int)w->pid, (int)f->msg_case);
        bf_serve_kill_worker(w->pid);
        return;
    }
    w->said_hello = 1;
    switch (f->msg_case) {
    case BITFUSION__FRAME__MSG_HELLO: on_hello(w, slot, f->hello); break;
    case BITFUSION__FRAME__MSG_LEASE_REQUEST: on_lease_request(w, slot, f->lease_request); break;
    case BITFUSION__FRAME__MSG_LEASE_RELEASE: on_release(w, slot, f->lease_release); break;
    case BITFUSION__FRAME__MSG_INVENTORY_REQUEST: on_inventory(w); break;
    default: LOG_W("worker %d sent an unexpected message (%d)", (int)w->pid, (int)f->msg_case); break;
    }
}

int bf_lease_pollfds(struct pollfd *p, int max)
{
    int n = 0;
    for (int i = 0; i < BF_SHM_MAX_WORKERS && n < max; i++)
        if (S.w[i].fd >= 0 && S.w[i].pid > 0)
            p[n++] = (struct pollfd){.fd = S.w[i].fd, .events = POLLIN};
    return n;
}

void bf_lease_handle(const struct pollfd *p, int n)
{
    for (int k = 0; k < n; k++) {
        if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        for (int i = 0; i < BF_SHM_MAX_WORKERS; i++) {
            worker *w = &S.w[i];
            if (w->fd != p[k].fd || w->pid <= 0)
                continue;
            Bitfusion__Frame *f = bf_ctl_recv(w->fd, 0);
            if (f) {
                on_message(w, i, f);
                bitfusion__frame__free_unpacked(f, NULL);
            } else {
                close(w->fd);       /* the worker is ending; reaping detaches it */
                w->fd = -1;
            }
            break;
        }
    }
}

int bf_lease_next_timer_ms(void)
{
    long long now = now_ms(), next = -1;
    for (int i = 0; i < BF_SHM_MAX_LEASES; i++) {
        const lease *l = &S.l[i];
        long long due = -1;
        if (!l->in_use)
            continue;
        if (l->kill_at)
            due = l->kill_at;
        else if (S.idle_limit_s > 0 && l->nsess == 0)
            due = l->idle_since + S.idle_limit_s * 1000LL;
        if (due >= 0 && (next < 0 || due < next))
            next = due;
    }
    return next < 0 ? -1 : next <= now ? 0 : (int)(next - now < 60000 ? next - now : 60000);
}

void bf_lease_run_timers(void)
{
    long long now = now_ms();
    for (int i = 0; i < BF_SHM_MAX_LEASES; i++) {
        lease *l = &S.l[i];
        if (!l->in_use)
            continue;
        if (l->kill_at && now >= l->kill_at)
            kill_workers(i, ROLE_NONE);
        else if (!l->ending && S.idle_limit_s > 0 && l->nsess == 0 && now - l->idle_since >= S.idle_limit_s * 1000LL)
            lease_end(i, "idle longer than lease_idle_limit");
    }
}
