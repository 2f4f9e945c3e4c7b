/* test_lease_client.c: the lease client (proto/lease_client.c, pool.c) against fake control servers
 * in this process: TLS on loopback with a throw-away PKI (proto/pki.c), answering Hello, inventory,
 * lease, release and ping frames as bitfusion.proto says, with inventories and answers each case
 * sets. Covers placement by free memory, retry and final refusals, filters, requests that can
 * never fit, waiting for room, the hold's keepalive and "server gone", release, abandoning a
 * forked copy, and answers that do not come. Owner: proto/. */
#include "bft.h"
#include "lease_client.h"
#include "pki.h"
#include "wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1ull << 20)
#define MAX_GPUS 4

static char g_pki[128], g_bundle[160];

/* ---- a fake server ---------------------------------------------------------------------------------- */
enum { ANSWER_OK, ANSWER_RETRY, ANSWER_FINAL };

typedef struct fake {
    int port, lfd;
    bf_tls_server *tls;
    pthread_mutex_t mu;
    char hostname[64];
    int ngpus;
    uint64_t total[MAX_GPUS], free[MAX_GPUS];
    int answer;             /* to lease requests */
    int refuse_hello;
    int mute;               /* stop answering pings */
    int drop_holds;         /* close connections that hold a lease */
    /* what happened */
    int conns, closed, leases_asked, pings, hold_pings;
    Bitfusion__LeaseRequest req;
    uint32_t req_devices[16];
    char holder[256], released[64];
} fake;

static int fake_gpu(fake *f, uint64_t total_mib, uint64_t free_mib)
{
    int i = f->ngpus++;
    f->total[i] = total_mib * MIB;
    f->free[i] = free_mib * MIB;
    return i;
}

static int send_frame(bf_wire *w, Bitfusion__Frame *fr)
{
    return bf_wire_send(w, fr);
}

static void answer_hello(fake *f, bf_wire *w)
{
    Bitfusion__HelloReply h = BITFUSION__HELLO_REPLY__INIT;
    Bitfusion__Frame fr = BITFUSION__FRAME__INIT;
    h.ok = !f->refuse_hello;
    h.protocol_version = BF_PROTOCOL_VERSION;
    h.server_version = "fake";
    h.error = f->refuse_hello ? "client tester may not lease here" : "";
    fr.msg_case = BITFUSION__FRAME__MSG_HELLO_REPLY;
    fr.hello_reply = &h;
    send_frame(w, &fr);
}

static void answer_inventory(fake *f, bf_wire *w)
{
    Bitfusion__Inventory inv = BITFUSION__INVENTORY__INIT;
    Bitfusion__Gpu g[MAX_GPUS], *gp[MAX_GPUS];
    Bitfusion__Frame fr = BITFUSION__FRAME__INIT;
    pthread_mutex_lock(&f->mu);
    inv.hostname = f->hostname;
    inv.cuda_version = "13.0";
    inv.driver_version = "580.65.06";
    for (int i = 0; i < f->ngpus; i++) {
        Bitfusion__Gpu init = BITFUSION__GPU__INIT;
        g[i] = init;
        g[i].index = (uint32_t)i;
        g[i].name = i == 0 ? "NVIDIA H200" : "Software GPU";
        g[i].total = f->total[i];
        g[i].free = f->free[i];
        gp[i] = &g[i];
    }
    inv.n_gpus = (size_t)f->ngpus;
    inv.gpus = gp;
    fr.msg_case = BITFUSION__FRAME__MSG_INVENTORY;
    fr.inventory = &inv;
    send_frame(w, &fr);
    pthread_mutex_unlock(&f->mu);
}

/* Returns 1 when this connection now holds a lease. */
static int answer_lease(fake *f, bf_wire *w, const Bitfusion__LeaseRequest *q)
{
    Bitfusion__LeaseReply r = BITFUSION__LEASE_REPLY__INIT;
    Bitfusion__Frame fr = BITFUSION__FRAME__INIT;
    uint32_t devs[16];
    pthread_mutex_lock(&f->mu);
    f->leases_asked++;
    f->req = *q;
    f->req.n_devices = q->n_devices < 16 ? q->n_devices : 16;
    memcpy(f->req_devices, q->devices, f->req.n_devices * sizeof devs[0]);
    snprintf(f->holder, sizeof f->holder, "%s", q->holder);
    r.ok = f->answer == ANSWER_OK;
    r.retry = f->answer == ANSWER_RETRY;
    r.error = f->answer == ANSWER_FINAL ? "asked for more GPUs than this server has" : r.retry ? "no room" : "";
    for (uint32_t i = 0; i < q->num_gpus && i < 16; i++)
        devs[i] = i < q->n_devices ? q->devices[q->n_devices - 1 - i] : i; /* last allowed first */
    if (r.ok) {
        r.id = "00112233445566778899aabbccddeeff";
        r.n_devices = q->num_gpus;
        r.devices = devs;
        r.bytes = q->bytes ? q->bytes : 1234 * MIB;
    }
    pthread_mutex_unlock(&f->mu);
    fr.msg_case = BITFUSION__FRAME__MSG_LEASE_REPLY;
    fr.lease_reply = &r;
    send_frame(w, &fr);
    return r.ok && q->hold;
}

static void answer_release(fake *f, bf_wire *w, const char *id)
{
    Bitfusion__ControlReply r = BITFUSION__CONTROL_REPLY__INIT;
    Bitfusion__Frame fr = BITFUSION__FRAME__INIT;
    pthread_mutex_lock(&f->mu);
    r.ok = !strcmp(id, "00112233445566778899aabbccddeeff");
    r.error = r.ok ? "" : "no lease with that id";
    snprintf(f->released, sizeof f->released, "%s", id);
    pthread_mutex_unlock(&f->mu);
    fr.msg_case = BITFUSION__FRAME__MSG_CONTROL_REPLY;
    fr.control_reply = &r;
    send_frame(w, &fr);
}

static int answer_ping(fake *f, bf_wire *w, uint64_t seq, int holding)
{
    Bitfusion__Ping p = BITFUSION__PING__INIT;
    Bitfusion__Frame fr = BITFUSION__FRAME__INIT;
    pthread_mutex_lock(&f->mu);
    int mute = f->mute, drop = holding && f->drop_holds;
    f->pings++;
    f->hold_pings += holding;
    pthread_mutex_unlock(&f->mu);
    if (drop)
        return -1;
    if (mute)
        return 0;
    p.seq = seq;
    fr.msg_case = BITFUSION__FRAME__MSG_PING;
    fr.ping = &p;
    send_frame(w, &fr);
    return 0;
}

typedef struct session {
    fake *f;
    bf_conn *c;
} session;

static void *serve(void *arg)
{
    session *s = arg;
    fake *f = s->f;
    bf_wire w;
    char err[512];
    int holding = 0;
    bf_wire_init(&w, s->c);
    for (;;) {
        Bitfusion__Frame *fr = bf_wire_recv(s->c, err, sizeof err);
        if (!fr)
            break;
        int stop = 0;
        switch (fr->msg_case) {
        case BITFUSION__FRAME__MSG_HELLO: answer_hello(f, &w); break;
        case BITFUSION__FRAME__MSG_INVENTORY_REQUEST: answer_inventory(f, &w); break;
        case BITFUSION__FRAME__MSG_LEASE_REQUEST: holding |= answer_lease(f, &w, fr->lease_request); break;
        case BITFUSION__FRAME__MSG_LEASE_RELEASE: answer_release(f, &w, fr->lease_release->id); break;
        case BITFUSION__FRAME__MSG_PING: stop = answer_ping(f, &w, fr->ping->seq, holding) != 0; break;
        default: stop = 1;
        }
        bf_wire_free(fr);
        if (stop)
            break;
    }
    bf_wire_destroy(&w);
    bf_conn_close(s->c);
    free(s);
    pthread_mutex_lock(&f->mu);
    f->closed++;
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void *accept_loop(void *arg)
{
    fake *f = arg;
    for (;;) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        char err[512];
        bf_conn *c = bf_tls_accept(f->tls, fd, 5000, err, sizeof err);
        if (!c)
            continue;
        pthread_mutex_lock(&f->mu);
        f->conns++;
        pthread_mutex_unlock(&f->mu);
        session *s = malloc(sizeof *s);
        s->f = f;
        s->c = c;
        pthread_t t;
        pthread_create(&t, NULL, serve, s);
        pthread_detach(t);
    }
    return NULL;
}

/* A fake server on 127.0.0.1 (lives until the case's process ends). */
static fake *fake_start(const char *hostname)
{
    char ca[256], cert[256], key[256], err[512];
    fake *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    snprintf(f->hostname, sizeof f->hostname, "%s", hostname);
    snprintf(ca, sizeof ca, "%s/ca.crt", g_pki);
    snprintf(cert, sizeof cert, "%s/server.crt", g_pki);
    snprintf(key, sizeof key, "%s/server.key", g_pki);
    bf_tls_files files = {ca, cert, key};
    f->tls = bf_tls_server_new(&files, err, sizeof err);
    REQUIRE(f->tls, "%s", err);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(f->lfd >= 0 && bind(f->lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(f->lfd, 16) == 0);
    REQUIRE(getsockname(f->lfd, (struct sockaddr *)&sa, &sl) == 0);
    f->port = ntohs(sa.sin_port);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, accept_loop, f) == 0);
    pthread_detach(t);
    return f;
}

static int fake_get(fake *f, const int *field);

/* Waits (up to 3 s) until every connection the fakes accepted has been closed on their side, so
 * that the case ends with no server thread inside OpenSSL. */
static void quiesce(fake **f, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 300 && fake_get(f[i], &f[i]->closed) < fake_get(f[i], &f[i]->conns); k++)
            usleep(10000);
}

static int fake_get(fake *f, const int *field)
{
    pthread_mutex_lock(&f->mu);
    int v = *field;
    pthread_mutex_unlock(&f->mu);
    return v;
}

static void fake_set(fake *f, int *field, int v)
{
    pthread_mutex_lock(&f->mu);
    *field = v;
    pthread_mutex_unlock(&f->mu);
}

/* ---- the client side --------------------------------------------------------------------------------- */
static bf_client_config *client_config(int timeout_ms)
{
    static bf_client_config cfg;
    char err[512];
    setenv("BITFUSION_CONFIG_DIR", g_bundle, 1);
    unsetenv("BITFUSION_TIMEOUT");
    REQUIRE(bf_client_config_load(&cfg, err, sizeof err) == 0, "%s", err);
    cfg.timeout_ms = timeout_ms;
    return &cfg;
}

static const char *list_of(fake **f, int n)
{
    static char list[512];
    list[0] = 0;
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s127.0.0.1:%d", i ? "," : "", f[i]->port);
    return list;
}

static bf_lease_want want_mib(const char *list, int n, uint64_t mib)
{
    bf_lease_want w = {.num_gpus = n, .bytes = mib * MIB, .server_list = list, .holder = "tester@here pid 1: t",
                       .prog = "test"};
    return w;
}

static void add_filter(bf_lease_want *w, const char *expr)
{
    char err[512];
    REQUIRE(bf_filter_parse(expr, &w->filters[w->nfilters++], err, sizeof err) == 0, "%s", err);
}

static int acquire(const bf_client_config *cfg, const bf_lease_want *w, bf_lease *l, char *err, size_t len)
{
    memset(l, 0, sizeof *l);
    return bf_lease_acquire(cfg, w, l, err, len);
}

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* ---- cases ----------------------------------------------------------------------------------------- */
BFT_CASE(ctl_inventory_and_ping)
{
    fake *f = fake_start("gpu-a");
    fake_gpu(f, 16384, 16384);
    fake_gpu(f, 8192, 100);
    char err[512] = "";
    bf_ctl *c = bf_ctl_open(client_config(5000), "127.0.0.1", f->port, 5000, err, sizeof err);
    REQUIRE(c, "%s", err);
    Bitfusion__Inventory *inv = bf_ctl_inventory(c, err, sizeof err);
    REQUIRE(inv, "%s", err);
    EXPECT(!strcmp(inv->hostname, "gpu-a") && inv->n_gpus == 2 && inv->gpus[1]->free == 100 * MIB);
    bf_inventory_free(inv);
    EXPECT(bf_ctl_ping(c, err, sizeof err) == 0, "%s", err);
    EXPECT(bf_ctl_ping(c, err, sizeof err) == 0, "%s", err);
    EXPECT(bf_ctl_release(c, "ffff", err, sizeof err) == -1);
    EXPECT(strstr(err, "cannot release lease ffff: no lease with that id"), "%s", err);
    EXPECT(bf_ctl_ping(c, err, sizeof err) == 0, "a refusal leaves the connection usable: %s", err);
    bf_ctl_close(c);
    EXPECT(fake_get(f, &f->pings) == 3);
    quiesce(&f, 1);
}

BFT_CASE(ctl_hello_refused)
{
    fake *f = fake_start("gpu-a");
    f->refuse_hello = 1;
    char err[512] = "", want[128];
    EXPECT(!bf_ctl_open(client_config(5000), "127.0.0.1", f->port, 5000, err, sizeof err));
    snprintf(want, sizeof want, "127.0.0.1:%d refused the control connection: client tester may not lease here",
             f->port);
    EXPECT(!strcmp(err, want), "%s", err);
    quiesce(&f, 1);
}

BFT_CASE(ctl_answer_timeout)
{
    fake *f = fake_start("gpu-a");
    char err[512] = "";
    bf_ctl *c = bf_ctl_open(client_config(500), "127.0.0.1", f->port, 500, err, sizeof err);
    REQUIRE(c, "%s", err);
    fake_set(f, &f->mute, 1);
    double t0 = bft_now();
    EXPECT(bf_ctl_ping(c, err, sizeof err) == -1);
    double took = bft_now() - t0;
    EXPECT(took > 0.4 && took < 3, "took %.2f s", took);
    EXPECT(strstr(err, "did not answer a ping") && strstr(err, "within 500 ms"), "%s", err);
    EXPECT(bf_ctl_ping(c, err, sizeof err) == -1 && strstr(err, "failed earlier"), "%s", err);
    bf_ctl_close(c);
    quiesce(&f, 1);
}

BFT_CASE(acquire_most_free_first)
{
    fake *f[2] = {fake_start("gpu-a"), fake_start("gpu-b")};
    fake_gpu(f[0], 16384, 10000);
    fake_gpu(f[0], 16384, 10000);
    fake_gpu(f[1], 81920, 40000);
    bf_lease l;
    char err[512] = "";
    bf_lease_want w = want_mib(list_of(f, 2), 1, 8192);
    REQUIRE(acquire(client_config(4000), &w, &l, err, sizeof err) == 0, "%s", err);
    EXPECT(fake_get(f[0], &f[0]->leases_asked) == 0 && fake_get(f[1], &f[1]->leases_asked) == 1);
    EXPECT(!strcmp(l.id, "00112233445566778899aabbccddeeff") && l.port == f[1]->port && !strcmp(l.host, "127.0.0.1"));
    EXPECT(l.num_gpus == 1 && l.bytes == 8192 * MIB && l.devices[0] == 0 && l.hold && l.ttl_ms == 4000);
    Bitfusion__LeaseRequest *q = &f[1]->req;
    EXPECT(q->num_gpus == 1 && q->bytes == 8192 * MIB && q->fraction == 0 && q->hold && q->ttl_ms == 4000);
    EXPECT(q->n_devices == 1 && f[1]->req_devices[0] == 0);
    EXPECT(!strcmp(f[1]->holder, "tester@here pid 1: t"), "%s", f[1]->holder);

    /* two GPUs: only gpu-a has two */
    bf_lease l2;
    w.num_gpus = 2;
    REQUIRE(acquire(client_config(4000), &w, &l2, err, sizeof err) == 0, "%s", err);
    EXPECT(l2.port == f[0]->port && l2.num_gpus == 2 && l2.devices[0] == 1 && l2.devices[1] == 0);
    EXPECT(f[0]->req.n_devices == 2);
    EXPECT(bf_lease_release(client_config(4000), &l, err, sizeof err) == 0, "%s", err);
    EXPECT(bf_lease_release(client_config(4000), &l2, err, sizeof err) == 0, "%s", err);
    quiesce(f, 2);
}

BFT_CASE(acquire_retry_then_next)
{
    fake *f[2] = {fake_start("gpu-a"), fake_start("gpu-b")};
    fake_gpu(f[0], 16384, 9000);
    fake_gpu(f[1], 16384, 16000);
    f[1]->answer = ANSWER_RETRY;
    bf_lease l;
    char err[512] = "";
    bf_lease_want w = want_mib(list_of(f, 2), 1, 8192);
    REQUIRE(acquire(client_config(4000), &w, &l, err, sizeof err) == 0, "%s", err);
    EXPECT(fake_get(f[1], &f[1]->leases_asked) == 1 && fake_get(f[0], &f[0]->leases_asked) == 1);
    EXPECT(l.port == f[0]->port);
    bf_lease_abandon(&l);
    quiesce(f, 2);
}

BFT_CASE(acquire_final_refusal)
{
    fake *f[2] = {fake_start("gpu-a"), fake_start("gpu-b")};
    fake_gpu(f[0], 16384, 9000);
    fake_gpu(f[1], 16384, 16000);
    f[1]->answer = ANSWER_FINAL;
    bf_lease l;
    char err[512] = "", want[160];
    bf_lease_want w = want_mib(list_of(f, 2), 1, 8192);
    EXPECT(acquire(client_config(4000), &w, &l, err, sizeof err) == -1);
    snprintf(want, sizeof want, "127.0.0.1:%d: asked for more GPUs than this server has", f[1]->port);
    EXPECT(!strcmp(err, want), "%s", err);
    EXPECT(fake_get(f[0], &f[0]->leases_asked) == 0, "a final answer is not tried elsewhere");
    quiesce(f, 2);
}

BFT_CASE(acquire_filters)
{
    fake *f[2] = {fake_start("gpu-a"), fake_start("gpu-b")};
    fake_gpu(f[0], 16384, 16384);
    fake_gpu(f[0], 8192, 8192);
    fake_gpu(f[0], 16384, 16384);
    fake_gpu(f[1], 81920, 81920);
    bf_lease l;
    char err[512] = "";
    bf_lease_want w = want_mib(list_of(f, 2), 1, 4096);
    add_filter(&w, "server.hostname=gpu-a");
    add_filter(&w, "device.phy-memory>=10000");
    REQUIRE(acquire(client_config(4000), &w, &l, err, sizeof err) == 0, "%s", err);
    EXPECT(l.port == f[0]->port && fake_get(f[1], &f[1]->leases_asked) == 0);
    EXPECT(f[0]->req.n_devices == 2 && f[0]->req_devices[0] == 0 && f[0]->req_devices[1] == 2,
           "devices: the ones the filters allow");
    bf_lease_abandon(&l);
    w.nfilters = 0;
    add_filter(&w, "server.hostname=gpu-c");
    EXPECT(acquire(client_config(4000), &w, &l, err, sizeof err) == -1);
    EXPECT(!strcmp(err, "none of the 2 servers asked passes the server filters"), "%s", err);
    quiesce(f, 2);
}

BFT_CASE(acquire_never_fits)
{
    fake *f[2] = {fake_start("gpu-a"), fake_start("gpu-b")};
    fake_gpu(f[0], 16384, 16384);
    fake_gpu(f[0], 16384, 16384);
    fake_gpu(f[1], 81920, 0);
    bf_lease l;
    char err[512] = "", want[200];
    bf_lease_want w = want_mib(list_of(f, 2), 3, 1024);
    w.wait_s = 30; /* never fits: fails at once all the same */
    double t0 = bft_now();
    EXPECT(acquire(client_config(4000), &w, &l, err, sizeof err) == -1);
    snprintf(want, sizeof want, "no server has 3 GPUs (at most 2, on 127.0.0.1:%d; 2 servers asked)", f[0]->port);
    EXPECT(!strcmp(err, want), "%s", err);
    w = want_mib(list_of(f, 2), 1, 100000);
    w.wait_s = 30;
    EXPECT(acquire(client_config(4000), &w, &l, err, sizeof err) == -1);
    snprintf(want, sizeof want, "no server has 1 GPU with 100000 MiB free: the partition is larger than the GPUs "
             "(largest: 81920 MiB, on 127.0.0.1:%d)", f[1]->port);
    EXPECT(!strcmp(err, want), "%s", err);
    EXPECT(bft_now() - t0 < 5, "did not fail at once");
    quiesce(f, 2);
}

BFT_CASE(acquire_whole_and_fraction)
{
    fake *f[1] = {fake_start("gpu-a")};
    fake_gpu(f[0], 16384, 16000); /* a partition on it: not whole */
    bf_lease l;
    char err[512] = "";
    bf_lease_want w = want_mib(list_of(f, 1), 1, 0);
    EXPECT(acquire(client_config(4000), &w, &l, err, sizeof err) == -1);
    EXPECT(starts(err, "no server has 1 whole GPU (with no partition on it) (1 server asked)"), "%s", err);
    w.fraction = 0.5; /* 8192 MiB fits in 16000 */
    REQUIRE(acquire(client_config(4000), &w, &l, err, sizeof err) == 0, "%s", err);
    EXPECT(f[0]->req.fraction == 0.5 && f[0]->req.bytes == 0);
    bf_lease_abandon(&l);
    w.fraction = 0.99;
    EXPECT(acquire(client_config(4000), &w, &l, err, sizeof err) == -1);
    EXPECT(!strcmp(err, "no server has 1 GPU with 99% of its memory free (1 server asked)"), "%s", err);
    quiesce(f, 1);
}

/* Frees GPU 0 of the fake after 1.5 s. */
static void *free_later(void *arg)
{
    fake *f = arg;
    usleep(1500000);
    pthread_mutex_lock(&f->mu);
    f->free[0] = f->total[0];
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

BFT_CASE(acquire_waits_for_room)
{
    fake *f[1] = {fake_start("gpu-a")};
    fake_gpu(f[0], 16384, 4000);
    bf_lease l;
    char err[512] = "";
    bf_lease_want w = want_mib(list_of(f, 1), 1, 8192);
    w.wait_s = 10;
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, free_later, f[0]) == 0);
    bft_capture_begin(2);
    double t0 = bft_now();
    int rc = acquire(client_config(4000), &w, &l, err, sizeof err);
    double took = bft_now() - t0;
    char *said = bft_capture_end(2);
    pthread_join(t, NULL);
    REQUIRE(rc == 0, "%s", err);
    EXPECT(took > 1.2 && took < 5, "took %.1f s", took);
    EXPECT(!strcmp(said, "test: waiting for 1 GPU with 8192 MiB free (1 server asked); up to 10 s\n"), "said '%s'",
           said);
    bf_lease_abandon(&l);

    w.wait_s = 1; /* no room within the wait */
    fake_set(f[0], &f[0]->answer, ANSWER_RETRY);
    EXPECT(acquire(client_config(4000), &w, &l, err, sizeof err) == -1);
    EXPECT(!strcmp(err, "no server has 1 GPU with 8192 MiB free (1 server asked); waited 1 s"), "%s", err);
    quiesce(f, 1);
}

BFT_CASE(keepalive_and_release)
{
    fake *f[1] = {fake_start("gpu-a")};
    fake_gpu(f[0], 16384, 16384);
    bf_lease l;
    char err[512] = "";
    bf_lease_want w = want_mib(list_of(f, 1), 1, 1024);
    bf_client_config *cfg = client_config(600); /* ttl 600 ms: a ping every 200 ms */
    REQUIRE(acquire(cfg, &w, &l, err, sizeof err) == 0, "%s", err);
    REQUIRE(bf_lease_keepalive_start(&l) == 0);
    usleep(1100000);
    int pings = fake_get(f[0], &f[0]->hold_pings);
    EXPECT(pings >= 3 && pings <= 7, "%d pings in 1.1 s", pings);
    REQUIRE(bf_lease_release(cfg, &l, err, sizeof err) == 0, "%s", err);
    EXPECT(!strcmp(f[0]->released, "00112233445566778899aabbccddeeff"));
    EXPECT(!l.hold);
    usleep(300000);
    EXPECT(fake_get(f[0], &f[0]->hold_pings) == pings, "pings after the release");
    EXPECT(fake_get(f[0], &f[0]->conns) == 2 && fake_get(f[0], &f[0]->closed) == 2,
           "the pool query's and the hold's connections, both closed");
    EXPECT(bf_lease_release_id(cfg, "127.0.0.1", f[0]->port, "00112233445566778899aabbccddeeff", err,
                               sizeof err) == 0, "%s", err);
    EXPECT(bf_lease_release_id(cfg, "127.0.0.1", f[0]->port, "abcd", err, sizeof err) == -1);
    EXPECT(strstr(err, "cannot release lease abcd: no lease with that id"), "%s", err);
    quiesce(f, 1);
}

BFT_CASE(keepalive_server_gone)
{
    fake *f[1] = {fake_start("gpu-a")};
    fake_gpu(f[0], 16384, 16384);
    bf_lease l;
    char err[512] = "", want[160];
    bf_lease_want w = want_mib(list_of(f, 1), 1, 1024);
    bf_client_config *cfg = client_config(600);
    REQUIRE(acquire(cfg, &w, &l, err, sizeof err) == 0, "%s", err);
    f[0]->drop_holds = 1;
    bft_capture_begin(2);
    REQUIRE(bf_lease_keepalive_start(&l) == 0);
    usleep(1000000);
    char *said = bft_capture_end(2);
    snprintf(want, sizeof want, "bitfusion: lease 00112233 on 127.0.0.1:%d: server gone (", f[0]->port);
    EXPECT(starts(said, want) && strchr(said, '\n') == said + strlen(said) - 1, "said '%s'", said);
    /* the hold is gone: the release goes over a new connection */
    EXPECT(bf_lease_release(cfg, &l, err, sizeof err) == 0, "%s", err);
    EXPECT(!strcmp(f[0]->released, "00112233445566778899aabbccddeeff"));
    quiesce(f, 1);
}

BFT_CASE(abandon_in_forked_child)
{
    fake *f[1] = {fake_start("gpu-a")};
    fake_gpu(f[0], 16384, 16384);
    bf_lease l;
    char err[512] = "";
    bf_lease_want w = want_mib(list_of(f, 1), 1, 1024);
    bf_client_config *cfg = client_config(600);
    REQUIRE(acquire(cfg, &w, &l, err, sizeof err) == 0, "%s", err);
    REQUIRE(bf_lease_keepalive_start(&l) == 0);
    pid_t kid = fork();
    if (kid == 0) {
        bf_lease_abandon(&l);
        _exit(l.hold ? 1 : 0);
    }
    int st;
    REQUIRE(waitpid(kid, &st, 0) == kid);
    EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    int pings = fake_get(f[0], &f[0]->hold_pings);
    usleep(700000);
    EXPECT(fake_get(f[0], &f[0]->hold_pings) > pings, "the parent's keepalive stopped");
    EXPECT(fake_get(f[0], &f[0]->closed) == 1, "the child closed the hold (only the pool query's closed)");
    EXPECT(bf_lease_release(cfg, &l, err, sizeof err) == 0, "%s", err);
    quiesce(f, 1);
}

BFT_CASE(acquire_some_unreachable)
{
    fake *f[1] = {fake_start("gpu-a")};
    fake_gpu(f[0], 16384, 1000);
    bf_lease l;
    char err[1024] = "", list[128];
    snprintf(list, sizeof list, "127.0.0.1:%d,127.0.0.1:1", f[0]->port);
    bf_lease_want w = want_mib(list, 1, 8192);
    EXPECT(acquire(client_config(2000), &w, &l, err, sizeof err) == -1);
    EXPECT(starts(err, "no server has 1 GPU with 8192 MiB free (2 servers asked, 1 unreachable: cannot connect "
                       "to 127.0.0.1:1: "), "%s", err);
    quiesce(f, 1);
}

int main(int argc, char **argv)
{
    char tmp[64] = "/tmp/bf-lease-pki.XXXXXX", err[512], cmd[128];
    const char *names[] = {"localhost"}, *servers[] = {"localhost:56001"};
    if (!mkdtemp(tmp)) {
        perror("test_lease_client: mkdtemp");
        return 1;
    }
    snprintf(g_pki, sizeof g_pki, "%s/ca", tmp);
    snprintf(g_bundle, sizeof g_bundle, "%s/bundle", tmp);
    if (bf_pki_init(g_pki, names, 1, err, sizeof err) != 0 ||
        bf_pki_client("tester", g_pki, g_bundle, servers, 1, 30, err, sizeof err) != 0) {
        fprintf(stderr, "test_lease_client: cannot make a PKI: %s\n", err);
        return 1;
    }
    int rc = bft_main(argc, argv);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "test_lease_client: could not remove %s\n", tmp);
    return rc;
}
