/* fuzz_lease_server.c: libFuzzer target for bitfusiond's lease bookkeeping (server/lease.c): the
 * messages workers pass on from their clients (Hello, LeaseRequest, LeaseRelease,
 * InventoryRequest, and raw bytes), workers ending, and the timers, in any order, against a fixed
 * inventory of two 1 GiB GPUs. The input is a sequence of operations; each builds a message from
 * the bytes that follow it, so the fuzzer reaches placement, attach, release and the end of leases
 * rather than stopping at protobuf's parser (raw frames are one of the operations).
 * After every input, all workers end, and the invariant is checked: no lease, no partition, and
 * nothing charged is left (a fresh worker's InventoryRequest shows every GPU entirely free).
 * Build: make fuzz-lease-server; run: make fuzz-lease-server-run (FUZZ_SECONDS). */
#include "lease.h"
#include "lease_shm.h"
#include "session_ctl.h"
#include "wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NW 4
#define GIB (1ull << 30)

/* ---- what the daemon's other parts would provide ------------------------------------------------ */
Bitfusion__Inventory *bf_inventory_probe(const char *backend, const char *emu_lib, char *err, size_t errlen)
{
    static Bitfusion__Gpu g[2];
    static Bitfusion__Gpu *gp[2] = {&g[0], &g[1]};
    static Bitfusion__Inventory inv = BITFUSION__INVENTORY__INIT;
    for (int i = 0; i < 2; i++) {
        bitfusion__gpu__init(&g[i]);
        g[i].index = (uint32_t)i;
        g[i].name = (char *)"fuzz GPU";
        g[i].uuid = (char *)(i ? "GPU-1" : "GPU-0");
        g[i].pci_bus_id = (char *)"0000:00:00.0";
        g[i].total = g[i].free = GIB;
        g[i].ctx_reserve = i ? (16u << 20) : 0;
    }
    inv.hostname = inv.server_version = inv.backend = inv.driver_version = inv.cuda_version = (char *)"fuzz";
    inv.gpus = gp;
    inv.n_gpus = 2;
    /* bf_leases_init keeps it and never frees it: a copy that lives as long as the process */
    size_t n = bitfusion__inventory__get_packed_size(&inv);
    uint8_t *buf = malloc(n);
    bitfusion__inventory__pack(&inv, buf);
    Bitfusion__Inventory *copy = bitfusion__inventory__unpack(NULL, n, buf);
    free(buf);
    return copy;
}

void bfd_log(int level, const char *fmt, ...) { (void)level, (void)fmt; }

static pid_t next_pid = 1 << 22;
void bf_serve_kill_worker(pid_t pid) { bf_lease_worker_ended(pid); }

/* ---- workers ------------------------------------------------------------------------------------- */
typedef struct fw {
    int slot, parent_fd, child_fd;   /* child_fd: what the worker process would write to */
    pid_t pid;
} fw;
static fw W[NW];
static char ids[8][33];              /* lease ids seen in replies, for later messages to name */
static int nids;

static void worker_start(fw *w)
{
    int cfd;
    static struct pollfd before[BF_SHM_MAX_WORKERS], after[BF_SHM_MAX_WORKERS];
    int nb = bf_lease_pollfds(before, BF_SHM_MAX_WORKERS);
    w->slot = bf_lease_worker_new(&cfd);
    if (w->slot < 0)
        abort();
    w->child_fd = dup(cfd);
    w->pid = next_pid++;
    bf_lease_worker_forked(w->slot, cfd, w->pid);
    int na = bf_lease_pollfds(after, BF_SHM_MAX_WORKERS);
    w->parent_fd = -1;
    for (int i = 0; i < na; i++) {   /* the parent's end: the fd that is new in the poll set */
        int seen = 0;
        for (int j = 0; j < nb; j++)
            seen |= after[i].fd == before[j].fd;
        if (!seen)
            w->parent_fd = after[i].fd;
    }
    if (w->parent_fd < 0)
        abort();
}

static void worker_end(fw *w)
{
    if (!w->pid)
        return;
    bf_lease_worker_ended(w->pid);
    close(w->child_fd);
    memset(w, 0, sizeof *w);
}

/* Reads the parent's answers; remembers lease ids; checks that an answer is well formed. */
static void drain(fw *w)
{
    uint8_t buf[BF_CTL_MAX];
    for (;;) {
        ssize_t n = recv(w->child_fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            return;
        Bitfusion__Frame *f = bitfusion__frame__unpack(NULL, (size_t)n, buf);
        if (!f)
            abort();                 /* the parent sent something that is no frame */
        if (f->msg_case == BITFUSION__FRAME__MSG_LEASE_REPLY && f->lease_reply->ok) {
            if (strlen(f->lease_reply->id) != 32)
                abort();
            snprintf(ids[nids++ % 8], 33, "%s", f->lease_reply->id);
        }
        bitfusion__frame__free_unpacked(f, NULL);
    }
}

static void deliver(fw *w, const void *bytes, size_t n)
{
    if (!w->pid)
        worker_start(w);
    if (send(w->child_fd, bytes, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n)
        return;
    struct pollfd p = {.fd = w->parent_fd, .events = POLLIN, .revents = POLLIN};
    bf_lease_handle(&p, 1);
    if (w->pid)
        drain(w);
}

static void deliver_frame(fw *w, const Bitfusion__Frame *f)
{
    uint8_t buf[BF_CTL_MAX];
    size_t n = bitfusion__frame__get_packed_size(f);
    if (n > sizeof buf)
        return;
    bitfusion__frame__pack(f, buf);
    deliver(w, buf, n);
}

/* ---- the input ----------------------------------------------------------------------------------- */
typedef struct in {
    const uint8_t *p;
    size_t n;
} in;

static uint64_t take(in *s, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes && s->n; i++, s->p++, s->n--)
        v = v << 8 | *s->p;
    return v;
}

static const char *lease_name(in *s)
{
    static char junk[40];
    unsigned k = (unsigned)take(s, 1);
    if (k < 200 && nids)
        return ids[k % (nids < 8 ? nids : 8)];
    snprintf(junk, sizeof junk, "%032x", k);
    return k == 255 ? "" : junk;
}

static void op_hello(fw *w, in *s)
{
    Bitfusion__Hello h = BITFUSION__HELLO__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    unsigned b = (unsigned)take(s, 1);
    h.protocol_version = BF_PROTOCOL_VERSION;
    h.purpose = b & 1;
    h.lease = (char *)lease_name(s);
    h.client_pid = (int32_t)take(s, 2);
    h.client_host = (char *)"fuzz-host\n\x1b[31m";
    h.peer_cn = (char *)((b & 2) ? "mallory" : "alice");
    h.peer_addr = (char *)"127.0.0.1:1";
    f.msg_case = BITFUSION__FRAME__MSG_HELLO;
    f.hello = &h;
    deliver_frame(w, &f);
}

static void op_lease(fw *w, in *s)
{
    Bitfusion__LeaseRequest r = BITFUSION__LEASE_REQUEST__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    uint32_t devs[4];
    unsigned b = (unsigned)take(s, 1);
    r.num_gpus = (uint32_t)take(s, 1) % 20;
    switch (b & 3) {
    case 0: break;                                                        /* whole GPUs */
    case 1: r.fraction = (double)take(s, 1) / 200.0; break;               /* 0 .. 1.275 */
    case 2: r.bytes = take(s, 2) << 16; break;                            /* 0 .. 4 GiB */
    case 3: { uint64_t raw = take(s, 8); memcpy(&r.fraction, &raw, 8); r.bytes = take(s, 1); } break;
    }
    r.n_devices = (b >> 2) & 3;
    for (size_t i = 0; i < r.n_devices; i++)
        devs[i] = (uint32_t)take(s, 1) % 4;
    r.devices = devs;
    r.ttl_ms = (uint32_t)take(s, 2);
    r.hold = !(b & 16);
    r.holder = (char *)"holder\x07";
    f.msg_case = BITFUSION__FRAME__MSG_LEASE_REQUEST;
    f.lease_request = &r;
    deliver_frame(w, &f);
}

static void op_release(fw *w, in *s)
{
    Bitfusion__LeaseRelease r = BITFUSION__LEASE_RELEASE__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    r.id = (char *)lease_name(s);
    f.msg_case = BITFUSION__FRAME__MSG_LEASE_RELEASE;
    f.lease_release = &r;
    deliver_frame(w, &f);
}

static void op_inventory(fw *w)
{
    Bitfusion__InventoryRequest q = BITFUSION__INVENTORY_REQUEST__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    f.msg_case = BITFUSION__FRAME__MSG_INVENTORY_REQUEST;
    f.inventory_request = &q;
    deliver_frame(w, &f);
}

/* A session's worker charges its lease (as session_partition.c would) before it ends. */
static void op_charge(fw *w, in *s)
{
    if (!w->pid || !bf_shm_table)
        return;
    bf_shm_worker *sw = &bf_shm_table->worker[w->slot];
    if (sw->lease < 0 || sw->lease >= BF_SHM_MAX_LEASES)
        return;
    bf_shm_lease *sl = &bf_shm_table->lease[sw->lease];
    uint32_t d = (uint32_t)take(s, 1) % BF_LEASE_MAX_DEV;
    uint64_t n = take(s, 2) << 12;
    if (d >= sl->ndev || sl->used[d] + n > sl->limit[d])
        return;
    sl->used[d] += n;
    sw->held[d] += n;
}

/* After every worker ended: nothing may be partitioned or charged. */
/* probe's request f, and the parent's answer (NULL: none) */
static Bitfusion__Frame *ask(fw *probe, const Bitfusion__Frame *f)
{
    static uint8_t buf[BF_CTL_MAX];
    size_t n = bitfusion__frame__get_packed_size(f);
    bitfusion__frame__pack(f, buf);
    if (send(probe->child_fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
        abort();
    struct pollfd p = {.fd = probe->parent_fd, .events = POLLIN, .revents = POLLIN};
    bf_lease_handle(&p, 1);
    ssize_t k = recv(probe->child_fd, buf, sizeof buf, MSG_DONTWAIT);
    return k > 0 ? bitfusion__frame__unpack(NULL, (size_t)k, buf) : NULL;
}

static void check_all_free(void)
{
    fw probe = {0};
    Bitfusion__Hello h = BITFUSION__HELLO__INIT;
    Bitfusion__InventoryRequest q = BITFUSION__INVENTORY_REQUEST__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    worker_start(&probe);
    h.purpose = 1;
    h.peer_cn = (char *)"alice";
    f.msg_case = BITFUSION__FRAME__MSG_HELLO;
    f.hello = &h;
    Bitfusion__Frame *a = ask(&probe, &f);
    if (!a || a->msg_case != BITFUSION__FRAME__MSG_HELLO_REPLY || !a->hello_reply->ok)
        abort();
    bitfusion__frame__free_unpacked(a, NULL);
    f.msg_case = BITFUSION__FRAME__MSG_INVENTORY_REQUEST;
    f.inventory_request = &q;
    a = ask(&probe, &f);
    if (!a || a->msg_case != BITFUSION__FRAME__MSG_INVENTORY)
        abort();
    for (size_t g = 0; g < a->inventory->n_gpus; g++)
        if (a->inventory->gpus[g]->free != a->inventory->gpus[g]->total || a->inventory->gpus[g]->n_partitions)
            abort();                 /* a lease or a partition outlived every worker */
    bitfusion__frame__free_unpacked(a, NULL);
    for (int l = 0; l < BF_SHM_MAX_LEASES; l++)
        for (int d = 0; d < BF_LEASE_MAX_DEV; d++)
            if (bf_shm_table->lease[l].used[d])
                abort();             /* memory still charged */
    worker_end(&probe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        static bf_server_config cfg;
        bf_server_config_defaults(&cfg);
        cfg.lease_idle_limit_s = 0;
        if (bf_leases_init(&cfg, "emu", "") != 0)
            abort();
        ready = 1;
    }
    in s = {data, size};
    nids = 0;
    while (s.n) {
        unsigned op = (unsigned)take(&s, 1);
        fw *w = &W[(op >> 4) % NW];
        switch (op & 15) {
        case 0: case 1: op_hello(w, &s); break;
        case 2: case 3: case 4: op_lease(w, &s); break;
        case 5: op_release(w, &s); break;
        case 6: op_inventory(w); break;
        case 7: op_charge(w, &s); break;
        case 8: worker_end(w); break;
        case 9: bf_lease_run_timers(); break;
        case 10: {                   /* raw bytes: whatever a broken worker might send */
            size_t n = (size_t)take(&s, 1);
            n = n < s.n ? n : s.n;
            if (n)
                deliver(w, s.p, n);
            s.p += n, s.n -= n;
            break;
        }
        default: break;
        }
    }
    for (int i = 0; i < NW; i++)
        worker_end(&W[i]);
    check_all_free();
    return 0;
}
