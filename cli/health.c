/* health.c: `bitfusion health [-l HOST[:PORT],...]`: checks the client's setup and every server of
 * the pool, one line per check: "[ OK ] what was checked" or "[FAIL] what is wrong: what to do".
 * Client: the configuration directory, client.yaml and servers.conf, the TLS files, the client
 * certificate (signed by the CA, within its validity, matching the key; days left), the client
 * library. Each server: reachable (TCP), TLS handshake (its certificate name), protocol (a control
 * Hello: the protocol version and the server's version), and its GPUs (backend, how many, memory
 * in no partition). Exit status 0 only when every check passed. */
#include "cli.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const char HEALTH_HELP[] =
    "usage: bitfusion health [-l HOST[:PORT],...]\n"
    "Checks this client's setup and every server of the pool, one line per check, '[ OK ] ...' or\n"
    "'[FAIL] ...: what to do'. Client: the configuration directory ($BITFUSION_CONFIG_DIR, else\n"
    "~/.bitfusion/, else /etc/bitfusion/), client.yaml and servers.conf, the TLS files, the client\n"
    "certificate (signed by the CA, not expired, days left, matches its key), the client library.\n"
    "Each server: reachable, TLS handshake, protocol version, backend, GPUs and free memory.\n"
    "Exits 0 only when every check passed.\n"
    "  -l, --server_list LIST    check these servers (HOST[:PORT],...) instead of servers.conf's\n"
    "  -h, --help                this text\n";

static int g_failed;

static void ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ok(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[ OK ] ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[FAIL] ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    g_failed = 1;
}

/* ---- the client certificate ------------------------------------------------------------------- */
static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static void asn1_date(const ASN1_TIME *t, char *out, size_t len)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, len, "%Y-%m-%d", &tm);
    else
        snprintf(out, len, "?");
}

static void check_certificate(const bf_client_config *cfg)
{
    char cn[256] = "?", date[32], err[256], remake[400];
    X509 *cert = read_cert(cfg->cert);
    if (cert)
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    snprintf(remake, sizeof remake, "make a new bundle on the server with 'bitfusiond pki client %s --pki DIR --out "
             "OUTDIR' and copy it here", cert ? cn : "NAME");
    if (!cert) {
        fail("client certificate %s is not a PEM certificate: %s", cfg->cert, remake);
        return;
    }
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    EVP_PKEY *key = NULL;
    FILE *kf = NULL;
    if (!store || !ctx) {
        fail("client certificate CN=%s: out of memory checking it: try again", cn);
        goto out;
    }
    if (X509_STORE_load_file(store, cfg->ca) != 1) {
        fail("CA certificate %s cannot be loaded: %s", cfg->ca, remake);
        goto out;
    }
    X509_STORE_CTX_init(ctx, store, cert, NULL);
    X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx), X509_PURPOSE_SSL_CLIENT);
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        asn1_date(X509_get0_notAfter(cert), date, sizeof date);
        if (e == X509_V_ERR_CERT_HAS_EXPIRED)
            fail("client certificate CN=%s expired on %s: %s", cn, date, remake);
        else
            fail("client certificate CN=%s is not accepted by the CA %s (%s): %s", cn, cfg->ca,
                 X509_verify_cert_error_string(e), remake);
        goto out;
    }
    kf = fopen(cfg->key, "r");
    key = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
    if (!key || X509_check_private_key(cert, key) != 1) {
        ERR_error_string_n(ERR_peek_last_error(), err, sizeof err);
        fail("client key %s does not belong to the certificate %s: %s", cfg->key, cfg->cert, remake);
        goto out;
    }
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert));
    asn1_date(X509_get0_notAfter(cert), date, sizeof date);
    if (days < 14)
        ok("client certificate CN=%s is signed by the CA and matches its key; it expires in %d day%s (%s): "
           "make a new bundle soon",
           cn, days, days == 1 ? "" : "s", date);
    else
        ok("client certificate CN=%s is signed by the CA and matches its key; %d days left (until %s)", cn, days,
           date);
out:
    if (kf)
        fclose(kf);
    EVP_PKEY_free(key);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(cert);
    ERR_clear_error();
}

/* ---- a server --------------------------------------------------------------------------------- */
/* TCP connect within timeout_ms. 0, or -1 + err. */
static int tcp_reachable(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %.255s: %s", host, gai_strerror(rc));
        return -1;
    }
    int e = ETIMEDOUT;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            close(fd);
            freeaddrinfo(res);
            return 0;
        }
        e = errno;
        if (e == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int n = poll(&p, 1, timeout_ms);
            socklen_t sl = sizeof e;
            if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 && e == 0) {
                close(fd);
                freeaddrinfo(res);
                return 0;
            }
            if (n == 0)
                e = ETIMEDOUT;
        }
        close(fd);
    }
    freeaddrinfo(res);
    snprintf(err, errlen, "cannot connect: %s", strerror(e));
    return -1;
}

/* A control Hello on conn: 0 with the server's protocol version and version, or -1 + err. */
static int hello(bf_conn *conn, uint32_t *proto, char *version, size_t vlen, char *err, size_t errlen)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    Bitfusion__Hello h = BITFUSION__HELLO__INIT;
    h.protocol_version = BF_PROTOCOL_VERSION;
    h.client_version = (char *)BF_VERSION;
    h.client_name = (char *)"bitfusion health";
    h.purpose = 1;
    h.client_pid = (int32_t)getpid();
    h.client_host = host;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    f.msg_case = BITFUSION__FRAME__MSG_HELLO;
    f.hello = &h;
    bf_wire w;
    bf_wire_init(&w, conn);
    int rc = bf_wire_send(&w, &f);
    bf_wire_destroy(&w);
    if (rc != 0) {
        snprintf(err, errlen, "the connection ended before Hello was sent");
        return -1;
    }
    Bitfusion__Frame *r = bf_wire_recv(conn, err, errlen);
    if (!r)
        return -1;
    rc = -1;
    if (r->msg_case != BITFUSION__FRAME__MSG_HELLO_REPLY)
        snprintf(err, errlen, "the server answered Hello with message %d, not HelloReply", (int)r->msg_case);
    else if (!r->hello_reply->ok)
        snprintf(err, errlen, "%s", r->hello_reply->error && *r->hello_reply->error ? r->hello_reply->error
                                                                                     : "Hello refused");
    else {
        *proto = r->hello_reply->protocol_version;
        snprintf(version, vlen, "%s", r->hello_reply->server_version ? r->hello_reply->server_version : "?");
        rc = 0;
    }
    bf_wire_free(r);
    return rc;
}

static const bf_pool_server *pool_find(const bf_pool *p, const char *host, int port)
{
    for (int i = 0; i < p->n; i++)
        if (p->s[i].port == port && !strcmp(p->s[i].host, host))
            return &p->s[i];
    return NULL;
}

static void check_server(const bf_client_config *cfg, const bf_pool *pool, const char *host, int port)
{
    char addr[300], err[1024], version[64], what[16];
    snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (tcp_reachable(host, port, cfg->timeout_ms, err, sizeof err) != 0) {
        fail("server %s is not reachable (%s): check that bitfusiond runs there and listens on that address, "
             "and that no firewall is in the way",
             addr, err);
        return;
    }
    ok("server %s is reachable", addr);
    bf_tls_files files = {cfg->ca, cfg->cert, cfg->key};
    bf_conn *conn = bf_tls_connect(host, port, &files, cfg->timeout_ms, err, sizeof err);
    if (!conn) {
        fail("server %s: TLS handshake failed: %s", addr, err);
        return;
    }
    ok("server %s: TLS 1.3 handshake, server certificate CN=%s", addr, bf_conn_peer_name(conn));
    uint32_t proto = 0;
    int hrc = hello(conn, &proto, version, sizeof version, err, sizeof err);
    bf_conn_close(conn);
    if (hrc != 0) {
        fail("server %s: protocol: %s: install the same bitfusion version on the client and the server", addr, err);
        return;
    }
    if (proto != BF_PROTOCOL_VERSION) {
        fail("server %s: protocol version %u, this client speaks %u: install the same bitfusion version on both",
             addr, proto, BF_PROTOCOL_VERSION);
        return;
    }
    ok("server %s: protocol version %u, bitfusiond %s", addr, proto, version);
    const bf_pool_server *s = pool_find(pool, host, port);
    if (!s || !s->inv) {
        fail("server %s: inventory: %s", addr, s && *s->error ? s->error : "no answer; check the server's log");
        return;
    }
    uint64_t total = 0, avail = 0;
    for (size_t g = 0; g < s->inv->n_gpus; g++) {
        total += s->inv->gpus[g]->total;
        avail += s->inv->gpus[g]->free;
    }
    snprintf(what, sizeof what, "%s", s->inv->backend && *s->inv->backend ? s->inv->backend : "?");
    if (!s->inv->n_gpus)
        fail("server %s (%s): backend %s, no GPUs: check the server's log and its 'backend' and GPU settings", addr,
             s->inv->hostname, what);
    else
        ok("server %s (%s): backend %s, CUDA %s, driver %s, %zu GPU%s, %llu MiB free of %llu MiB", addr,
           s->inv->hostname, what, s->inv->cuda_version, s->inv->driver_version, s->inv->n_gpus,
           s->inv->n_gpus == 1 ? "" : "s", (unsigned long long)cli_mib(avail), (unsigned long long)cli_mib(total));
}

/* ---- all checks -------------------------------------------------------------------------------- */
static void check_client_library(void)
{
    char dir[PATH_MAX], lib[PATH_MAX + 32];
    if (cli_client_lib(dir, sizeof dir, lib, sizeof lib) == 0)
        ok("client library %s", lib);
    else
        fail("client library %s is missing: build it with 'make' or reinstall bitfusion", lib);
}

static const char *where(const char *dir)
{
    const char *env = getenv("BITFUSION_CONFIG_DIR");
    if (env && *env)
        return "$BITFUSION_CONFIG_DIR";
    return strcmp(dir, "/etc/bitfusion") ? "~/.bitfusion" : "/etc/bitfusion";
}

int health_main(int argc, char **argv)
{
    static bf_client_config cfg;
    static bf_pool pool;
    const char *list = NULL;
    char dir[BF_PATH_MAX], err[2048], path[BF_PATH_MAX + 32];

    if (cli_parse("health", HEALTH_HELP, argc, argv, cli_server_list_opt, &list, CLI_NO_CMD, NULL) != 0)
        return 2;
    if (bf_client_config_find_dir(dir, sizeof dir, err, sizeof err) != 0) {
        fail("client configuration: %s", err);
        check_client_library();
        return 1;
    }
    ok("client configuration directory %s (%s)", dir, where(dir));
    if (bf_client_config_load_dir(&cfg, dir, err, sizeof err) != 0) {
        fail("%s%s", err, strchr(err, ';') ? "" : ": fix that line");
        check_client_library();
        return 1;
    }
    snprintf(path, sizeof path, "%s/client.yaml", dir);
    ok("%s/servers.conf and %s parse: %d server%s, timeout %d s", dir,
       access(path, F_OK) == 0 ? "client.yaml" : "no client.yaml (defaults)", cfg.nservers,
       cfg.nservers == 1 ? "" : "s", cfg.timeout_ms / 1000);
    if (bf_client_config_check_files(&cfg, err, sizeof err) != 0)
        fail("TLS files: %s", err);
    else {
        ok("TLS files readable: %s, %s, %s", cfg.ca, cfg.cert, cfg.key);
        check_certificate(&cfg);
    }
    check_client_library();
    if (g_failed)
        return 1; /* no server can be asked without the TLS files */

    bf_server_addr addrs[BF_MAX_SERVERS];
    int n = 0;
    if (list) {
        for (const char *p = list; n < BF_MAX_SERVERS;) {
            size_t k = strcspn(p, ",");
            char item[512];
            snprintf(item, sizeof item, "%.*s", (int)(k < sizeof item ? k : sizeof item - 1), p);
            if (bf_parse_hostport(item, BF_DEFAULT_PORT, addrs[n].host, sizeof addrs[n].host, &addrs[n].port) == 0)
                n++;
            if (!p[k])
                break;
            p += k + 1;
        }
    } else {
        n = cfg.nservers;
        memcpy(addrs, cfg.servers, (size_t)n * sizeof addrs[0]);
    }
    if (!n) {
        fail("servers: none listed in %s/servers.conf: list them as 'servers:\\n  - addresses: [host:56001]'", dir);
        return 1;
    }
    fflush(stdout);
    if (bf_pool_query(&pool, &cfg, list, err, sizeof err) != 0) {
        fail("servers: %s", err);
        return 1;
    }
    for (int i = 0; i < n; i++)
        check_server(&cfg, &pool, addrs[i].host, addrs[i].port);
    bf_pool_free(&pool);
    return g_failed;
}
