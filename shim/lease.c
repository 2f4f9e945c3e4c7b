/* lease.c: which lease and which server the client library's CUDA session runs in (owner: shim/).
 * With BITFUSION_LEASE=ID@HOST:PORT (set by `bitfusion run` / `bitfusion client`, or by a parent
 * process that leased on its own) the session attaches to that lease. Otherwise the first cuInit
 * or nvmlInit of the process leases on its own (docs/leasing-design.md, "Client side"):
 *   BITFUSION_NUM_GPUS     GPUs (default 1)
 *   BITFUSION_PARTIAL      fraction of each GPU's memory, or
 *   BITFUSION_MEMORY       MiB of each GPU (neither: whole GPUs; both: an error)
 *   BITFUSION_FILTER       filters (`bitfusion run --filter`), separated by ';'
 *   BITFUSION_SERVER_LIST  servers to ask, like `-l` (else BITFUSION_SERVER=HOST:PORT: only that
 *                          server; else servers.conf)
 *   BITFUSION_TIMEOUT      seconds to wait for room (default: client.yaml `timeout`)
 * The lease is held by a control connection with a keepalive thread (proto/lease_client.c), is
 * exported as BITFUSION_LEASE so that the processes this one starts share it, and is released at
 * exit by the process that took it (never by a forked child: bf_lease_atfork_child). A bad value
 * in any of these variables fails cuInit with one line saying which and how to fix it. */
#include "lease.h"
#include "lease_client.h"
#include "rpc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    int have;                          /* this process took `lease` and holds it */
    pid_t owner;                       /* the process that took it */
    bf_lease lease;
    bf_client_config cfg;              /* for the release at exit */
    int atexit_done;
} st;

/* ---- the environment ------------------------------------------------------------------------ */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* An integer variable in [lo, hi]; *out = def when unset. */
static int env_long(const char *name, long lo, long hi, long def, long *out, const char *what,
                    char *err, size_t len)
{
    const char *v = env(name);
    char *end;
    *out = def;
    if (!v) return 0;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) {
        snprintf(err, len, "%s=%.64s is not %s from %ld to %ld; set it to one, or unset it", name, v,
                 what, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

static int env_fraction(double *out, char *err, size_t len)
{
    const char *v = env("BITFUSION_PARTIAL");
    char *end;
    *out = 0;
    if (!v) return 0;
    errno = 0;
    double f = strtod(v, &end);
    if (errno || end == v || *end || !(f > 0 && f <= 1)) {
        snprintf(err, len, "BITFUSION_PARTIAL=%.64s is not a fraction of a GPU (0 < F <= 1); set "
                 "e.g. BITFUSION_PARTIAL=0.5 for half of each GPU's memory", v);
        return -1;
    }
    *out = f;
    return 0;
}

static int want_size(bf_lease_want *w, char *err, size_t len)
{
    long mib;
    if (env_fraction(&w->fraction, err, len) != 0) return -1;
    if (env_long("BITFUSION_MEMORY", 1, 1L << 30, 0, &mib, "a number of MiB", err, len) != 0) return -1;
    if (w->fraction > 0 && mib > 0) {
        snprintf(err, len, "BITFUSION_PARTIAL and BITFUSION_MEMORY are both set; set only one (a "
                 "fraction of each GPU, or MiB of each GPU)");
        return -1;
    }
    w->bytes = (uint64_t)mib << 20;
    return 0;
}

/* BITFUSION_FILTER: "EXPR;EXPR;..." (empty pieces are skipped). */
static int want_filters(bf_lease_want *w, char *err, size_t len)
{
    const char *v = env("BITFUSION_FILTER");
    char buf[4096], ferr[384];
    if (!v) return 0;
    if (strlen(v) >= sizeof buf) {
        snprintf(err, len, "BITFUSION_FILTER is longer than %zu characters; shorten it", sizeof buf - 1);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    for (char *p = strtok_r(buf, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
        if (p[strspn(p, " \t")] == 0) continue;
        if (w->nfilters == BF_MAX_FILTERS) {
            snprintf(err, len, "BITFUSION_FILTER has more than %d filters; combine or drop some",
                     BF_MAX_FILTERS);
            return -1;
        }
        if (bf_filter_parse(p, &w->filters[w->nfilters], ferr, sizeof ferr) != 0) {
            snprintf(err, len, "BITFUSION_FILTER: %s", ferr);
            return -1;
        }
        w->nfilters++;
    }
    return 0;
}

/* BITFUSION_SERVER_LIST, else BITFUSION_SERVER (only that server), else NULL: servers.conf. */
static int want_servers(bf_lease_want *w, char *err, size_t len)
{
    const char *list = env("BITFUSION_SERVER_LIST"), *one = env("BITFUSION_SERVER");
    char host[256];
    int port;
    w->server_list = list;
    if (list || !one) return 0;
    if (strchr(one, ',') || bf_parse_hostport(one, BF_DEFAULT_PORT, host, sizeof host, &port) != 0) {
        snprintf(err, len, "BITFUSION_SERVER=%.200s is not HOST:PORT; set one server there (several "
                 "go in BITFUSION_SERVER_LIST)", one);
        return -1;
    }
    w->server_list = one;
    return 0;
}

static int build_want(const bf_client_config *cfg, bf_lease_want *w, char *err, size_t len)
{
    long n, wait;
    memset(w, 0, sizeof *w);
    if (env_long("BITFUSION_NUM_GPUS", 1, BF_LEASE_MAX_GPUS, 1, &n, "a number of GPUs", err, len) != 0)
        return -1;
    if (env_long("BITFUSION_TIMEOUT", 0, 86400, cfg->timeout_ms / 1000, &wait, "a number of seconds",
                 err, len) != 0)
        return -1;
    if (want_size(w, err, len) != 0 || want_filters(w, err, len) != 0 || want_servers(w, err, len) != 0)
        return -1;
    w->num_gpus = (int)n;
    w->wait_s = (int)wait;
    w->holder = NULL;
    w->prog = "bitfusion";
    return 0;
}

/* ---- leasing ---------------------------------------------------------------------------------- */
/* Errors from proto/ may carry the "bitfusion: " prefix that bf_log adds again. */
static void copy_err(char *err, size_t len, const char *from)
{
    static const char prefix[] = "bitfusion: ";
    if (!strncmp(from, prefix, sizeof prefix - 1)) from += sizeof prefix - 1;
    if (err != from) memmove(err, from, strlen(from) + 1 < len ? strlen(from) + 1 : len);
    if (len) err[len - 1] = 0;
}

/* atexit, registered after OpenSSL registered its own cleanup (the lease was taken over TLS), so
 * it runs while TLS still works. Exit handlers registered before the lease (cudart's teardown) run
 * after it: their calls fail quietly, as at the end of any session. */
static void release_at_exit(void)
{
    char err[512];
    if (!st.have || st.owner != getpid()) return;
    st.have = 0;
    bf_conn_quiet();                   /* the server now ends this process's session: no alarm */
    if (bf_lease_release(&st.cfg, &st.lease, err, sizeof err) != 0) {
        copy_err(err, sizeof err, err);
        bf_log("could not release the lease this program took (%s); it ends when its last process "
               "exits", err);
    }
}

static int acquire(const bf_client_config *cfg, char *err, size_t len)
{
    bf_lease_want w;
    char val[400];
    if (build_want(cfg, &w, err, len) != 0) return -1;
    memset(&st.lease, 0, sizeof st.lease);
    if (bf_lease_acquire(cfg, &w, &st.lease, err, len) != 0) {
        copy_err(err, len, err);
        return -1;
    }
    st.cfg = *cfg;
    if (bf_lease_keepalive_start(&st.lease) != 0) {
        char e2[256];
        bf_lease_release(cfg, &st.lease, e2, sizeof e2);
        snprintf(err, len, "cannot start the thread that holds the lease; check the process's thread "
                 "limit (ulimit -u)");
        return -1;
    }
    st.have = 1;
    st.owner = getpid();
    bf_lease_env_format(&st.lease, val, sizeof val);
    setenv("BITFUSION_LEASE", val, 1);
    if (!st.atexit_done && atexit(release_at_exit) == 0) st.atexit_done = 1;
    return 0;
}

static int from_env(const char *v, bf_target *t, char *err, size_t len)
{
    if (bf_lease_env_parse(v, t->lease, sizeof t->lease, t->host, sizeof t->host, &t->port) != 0) {
        snprintf(err, len, "BITFUSION_LEASE is not ID@HOST:PORT; unset it to lease GPUs from the "
                 "BITFUSION_* variables, or start the program with 'bitfusion run'");
        return -1;
    }
    return 0;
}

int bf_lease_target(const bf_client_config *cfg, bf_target *t, char *err, size_t len)
{
    const char *v = env("BITFUSION_LEASE");
    memset(t, 0, sizeof *t);
    if (v) return from_env(v, t, err, len);
    if (!st.have && acquire(cfg, err, len) != 0) return -1;
    snprintf(t->lease, sizeof t->lease, "%s", st.lease.id);
    snprintf(t->host, sizeof t->host, "%s", st.lease.host);
    t->port = st.lease.port;
    return 0;
}

void bf_lease_atfork_child(void)
{
    if (!st.have) return;
    bf_lease_abandon(&st.lease);       /* the parent's hold and keepalive stay the parent's */
    st.have = 0;
}
