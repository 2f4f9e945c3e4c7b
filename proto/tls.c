/* tls.c: the bf_conn transport (bf_conn.h) over OpenSSL 3: TLS 1.3 only, the cluster CA on both
 * sides, client certificates required by the server, server name checked by the client. One
 * reader thread and one writer thread may share a connection: the socket is non-blocking, every
 * SSL_* call runs under the connection's mutex and waiting (poll) happens outside it. Refusals
 * are turned into one line that names the certificate and the reason. */
#include "bf_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define BF_API /* linked statically into each program and library: stays hidden */
#define ERRLEN 512

struct bf_conn {
    int fd;
    int wake;                /* eventfd: bf_conn_close wakes waiters through it */
    SSL *ssl;                /* NULL for bf_conn_plain_for_tests */
    SSL_CTX *own_ctx;        /* client side: the context this connection owns */
    pthread_mutex_t mu;      /* around every SSL_* call and the fields below */
    pthread_cond_t idle;
    int users;               /* threads inside read_all/write_all */
    int closing;
    int ticket_seen;         /* client: the server sent a session ticket (it accepted us) */
    int verify_failed;       /* the verify callback explained a refusal in err */
    int io_timeout_ms;       /* bf_conn_set_timeout: longest wait for the peer in one read/write; 0 = none */
    pid_t pid;               /* the process that made it (bf_conn_abandon in a forked child) */
    char peer[256];
    char err[ERRLEN];
};

struct bf_tls_server {
    SSL_CTX *ctx;
};

static int g_conn_index = -1;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    OPENSSL_init_ssl(0, NULL);
    g_conn_index = SSL_get_ex_new_index(0, "bf_conn", NULL, NULL, NULL);
}

static void setf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void setf(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* ---- small helpers ---------------------------------------------------------------------- */
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(long long deadline)
{
    if (deadline < 0)
        return -1;
    long long r = deadline - now_ms();
    return r < 0 ? 0 : (int)(r > 1000000000 ? 1000000000 : r);
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Dead peers are noticed by the kernel within about a minute even when nothing is written. */
static void set_keepalive(int fd)
{
    int on = 1, idle = 30, intvl = 10, cnt = 3;
    unsigned int user_timeout = 60000;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

/* "2026-01-01 12:00 UTC" */
static void fmt_time(const ASN1_TIME *t, char *out, size_t len)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm)) {
        setf(out, len, "an unknown date");
        return;
    }
    strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
}

static void cert_cn(X509 *x, char *out, size_t len)
{
    out[0] = 0;
    if (x && X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)len) < 0)
        out[0] = 0;
}

/* The first queued OpenSSL error as text, or fallback. */
static const char *ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : fallback;
}

/* Waits until fd is ready for ev (or the connection is being closed). 1 ready, 0 timeout, -1 error. */
static int wait_fd(bf_conn *c, short ev, int timeout_ms)
{
    struct pollfd p[2] = {{.fd = c->fd, .events = ev}, {.fd = c->wake, .events = POLLIN}};
    for (;;) {
        int n = poll(p, c->wake >= 0 ? 2 : 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (c->wake >= 0 && (p[1].revents & POLLIN))
            return -1;
        return 1;
    }
}

/* SSL_write and SSL_shutdown may write to a socket whose peer is gone; keep SIGPIPE away from the
 * process (the library must not change the program's signal dispositions). */
typedef struct { sigset_t old; int pending_before; } sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pend);
    g->pending_before = sigismember(&pend, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(sigpipe_guard *g)
{
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pend);
    if (!g->pending_before && sigismember(&pend, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- connection object ------------------------------------------------------------------ */
static bf_conn *conn_new(int fd)
{
    bf_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->pid = getpid();
    c->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->idle, NULL);
    return c;
}

static void conn_free(bf_conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->own_ctx)
        SSL_CTX_free(c->own_ctx);
    if (c->fd >= 0)
        close(c->fd);
    if (c->wake >= 0)
        close(c->wake);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->idle);
    free(c);
}

static int conn_enter(bf_conn *c)
{
    pthread_mutex_lock(&c->mu);
    int ok = !c->closing;
    if (ok)
        c->users++;
    else
        setf(c->err, sizeof c->err, "connection closed");
    pthread_mutex_unlock(&c->mu);
    return ok ? 0 : -1;
}

static void conn_leave(bf_conn *c)
{
    pthread_mutex_lock(&c->mu);
    if (--c->users == 0)
        pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->mu);
}

/* Sets c->err (under c->mu) from an SSL error that ends the stream. */
static void conn_fail(bf_conn *c, int sslerr, int ret, const char *what)
{
    if (sslerr == SSL_ERROR_ZERO_RETURN)
        setf(c->err, sizeof c->err, "connection closed by the peer");
    else if (sslerr == SSL_ERROR_SYSCALL && ret == 0)
        setf(c->err, sizeof c->err, "connection closed by the peer without TLS close");
    else if (sslerr == SSL_ERROR_SYSCALL)
        setf(c->err, sizeof c->err, "%s failed: %s", what, strerror(errno ? errno : EIO));
    else
        setf(c->err, sizeof c->err, "%s failed: %s", what, ssl_reason("TLS error"));
}

/* ---- plain (test) I/O --------------------------------------------------------------------- */
/* Waits for the peer within the deadline of one read_all/write_all. 1 ready, else c->err set. */
static int wait_io(bf_conn *c, short ev, long long deadline, int writing)
{
    int w = wait_fd(c, ev, remaining_ms(deadline));
    if (w > 0)
        return 1;
    if (w == 0)
        setf(c->err, sizeof c->err, "%s within %d ms", writing ? "the peer took no data" : "no answer from the peer",
             c->io_timeout_ms);
    else
        setf(c->err, sizeof c->err, "connection closed");
    return 0;
}

static int plain_io(bf_conn *c, void *buf, size_t n, int writing, long long deadline)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = writing ? send(c->fd, (char *)buf + done, n - done, MSG_NOSIGNAL)
                            : recv(c->fd, (char *)buf + done, n - done, 0);
        if (k > 0) {
            done += (size_t)k;
            continue;
        }
        if (k == 0) {
            setf(c->err, sizeof c->err, "connection closed by the peer");
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_io(c, writing ? POLLOUT : POLLIN, deadline, writing))
                continue;
            return -1;
        }
        setf(c->err, sizeof c->err, "%s failed: %s", writing ? "write" : "read",
             c->closing ? "connection closed" : strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- TLS I/O ------------------------------------------------------------------------------ */
/* One SSL_read or SSL_write of up to n bytes under the lock; waits outside it. Returns bytes
 * moved (> 0) or -1 (c->err set). */
static int tls_step(bf_conn *c, void *buf, size_t n, int writing, long long deadline)
{
    for (;;) {
        sigpipe_guard g;
        pthread_mutex_lock(&c->mu);
        if (c->closing) {
            setf(c->err, sizeof c->err, "connection closed");
            pthread_mutex_unlock(&c->mu);
            return -1;
        }
        ERR_clear_error();
        errno = 0;
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n, ret, e;
        if (writing) {
            sigpipe_block(&g);
            ret = SSL_write(c->ssl, buf, chunk);
            sigpipe_restore(&g);
        } else {
            ret = SSL_read(c->ssl, buf, chunk);
        }
        e = ret > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, ret);
        if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            conn_fail(c, e, ret, writing ? "TLS write" : "TLS read");
        pthread_mutex_unlock(&c->mu);
        if (e == SSL_ERROR_NONE)
            return ret;
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return -1;
        if (!wait_io(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, writing))
            return -1;
    }
}

static int conn_io(bf_conn *c, void *buf, size_t n, int writing)
{
    if (!c)
        return -1;
    if (conn_enter(c) != 0)
        return -1;
    int rc = 0, limit = __atomic_load_n(&c->io_timeout_ms, __ATOMIC_RELAXED);
    long long deadline = limit > 0 ? now_ms() + limit : -1;
    if (!c->ssl) {
        rc = plain_io(c, buf, n, writing, deadline);
    } else {
        for (size_t done = 0; done < n;) {
            int k = tls_step(c, (char *)buf + done, n - done, writing, deadline);
            if (k < 0) {
                rc = -1;
                break;
            }
            done += (size_t)k;
        }
    }
    conn_leave(c);
    return rc;
}

BF_API int bf_conn_write_all(bf_conn *c, const void *buf, size_t n)
{
    return conn_io(c, (void *)buf, n, 1);
}

BF_API int bf_conn_read_all(bf_conn *c, void *buf, size_t n)
{
    return conn_io(c, buf, n, 0);
}

BF_API void bf_conn_close(bf_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    if (c->ssl && !c->closing) {
        sigpipe_guard g;
        sigpipe_block(&g);
        ERR_clear_error();
        SSL_shutdown(c->ssl); /* one try at close_notify; never waits */
        sigpipe_restore(&g);
    }
    c->closing = 1;
    pthread_mutex_unlock(&c->mu);
    shutdown(c->fd, SHUT_RDWR);
    if (c->wake >= 0) {
        uint64_t one = 1;
        ssize_t k = write(c->wake, &one, sizeof one);
        (void)k;
    }
    pthread_mutex_lock(&c->mu);
    while (c->users > 0)
        pthread_cond_wait(&c->idle, &c->mu);
    pthread_mutex_unlock(&c->mu);
    conn_free(c);
}

BF_API void bf_conn_end_writes(bf_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    if (!c->closing) {
        sigpipe_guard g;
        sigpipe_block(&g);
        ERR_clear_error();
        if (c->ssl)
            SSL_shutdown(c->ssl);         /* close_notify: TLS 1.3 lets the peer go on writing */
        else
            shutdown(c->fd, SHUT_WR);
        sigpipe_restore(&g);
    }
    pthread_mutex_unlock(&c->mu);
}

BF_API void bf_conn_abandon(bf_conn *c)
{
    /* In the process that made it: freed without a byte sent (SSL_free sends nothing). A forked
     * child's copy: another thread of the parent may have been inside OpenSSL or held c->mu at the
     * fork, so nothing of it is touched but the descriptors (close(2) leaves the parent's copies
     * open); the rest is left to the process's end. */
    if (!c)
        return;
    if (c->pid == getpid()) {
        conn_free(c);
        return;
    }
    if (c->fd >= 0)
        close(c->fd);
    if (c->wake >= 0)
        close(c->wake);
    c->fd = c->wake = -1;
}

BF_API int bf_conn_set_timeout(bf_conn *c, int ms)
{
    if (!c || ms < 0)
        return -1;
    __atomic_store_n(&c->io_timeout_ms, ms, __ATOMIC_RELAXED);
    return 0;
}

BF_API const char *bf_conn_peer_name(const bf_conn *c)
{
    return c ? c->peer : "";
}

BF_API const char *bf_conn_error(const bf_conn *c)
{
    return c ? c->err : "no connection";
}

BF_API bf_conn *bf_conn_plain_for_tests(int fd)
{
    bf_conn *c = conn_new(fd);
    if (c)
        set_nonblock(fd);
    return c;
}

/* ---- certificates and contexts ------------------------------------------------------------ */
/* Records why a peer certificate was rejected, in words a user can act on. */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
    if (ok)
        return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    bf_conn *c = ssl ? SSL_get_ex_data(ssl, g_conn_index) : NULL;
    if (!c || c->verify_failed)
        return ok;
    c->verify_failed = 1;
    int err = X509_STORE_CTX_get_error(store), depth = X509_STORE_CTX_get_error_depth(store);
    X509 *x = X509_STORE_CTX_get_current_cert(store), *leaf = X509_STORE_CTX_get0_cert(store);
    const char *who = SSL_is_server(ssl) ? "client" : "server";
    char cn[128], leaf_cn[128], when[64], whose[160];
    cert_cn(x, cn, sizeof cn);
    cert_cn(leaf, leaf_cn, sizeof leaf_cn);
    if (depth > 0)
        setf(whose, sizeof whose, "the CA certificate (CN=%s) of the %s", cn, who);
    else
        setf(whose, sizeof whose, "%s certificate", who);
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        fmt_time(X509_get0_notAfter(x), when, sizeof when);
        setf(c->err, sizeof c->err, "%s expired on %s (CN=%s)", whose, when, depth ? leaf_cn : cn);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        fmt_time(X509_get0_notBefore(x), when, sizeof when);
        setf(c->err, sizeof c->err, "%s is not valid before %s (CN=%s); check the clocks", whose, when,
             depth ? leaf_cn : cn);
        break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        if (SSL_is_server(ssl))
            setf(c->err, sizeof c->err, "client certificate (CN=%s) is not signed by this cluster's CA (%s)",
                 leaf_cn, X509_verify_cert_error_string(err));
        else
            setf(c->err, sizeof c->err, "server certificate (CN=%s) is not signed by our CA (%s); the "
                 "bundle's tls/ca.crt must be the server's CA", leaf_cn, X509_verify_cert_error_string(err));
        break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        setf(c->err, sizeof c->err,
             "server certificate (CN=%s) is not valid for the address we connected to; connect by a name "
             "it lists, or remake it with 'bitfusiond pki init DIR --server-name NAME'", leaf_cn);
        break;
    default:
        setf(c->err, sizeof c->err, "%s (CN=%s) refused: %s", whose, cn, X509_verify_cert_error_string(err));
    }
    return ok;
}

/* A client may have no certificate (cert and key NULL): the security tests use that. */
static int load_files(SSL_CTX *ctx, int server, const bf_tls_files *f, char *err, size_t errlen)
{
    int own = f && f->cert && f->key;
    if (!f || !f->ca || (server && !own)) {
        setf(err, errlen, "TLS files not configured (need ca, cert and key)");
        return -1;
    }
    const char *what[3] = {f->ca, f->cert, f->key};
    for (int i = 0; i < (own ? 3 : 1); i++)
        if (access(what[i], R_OK) != 0) {
            setf(err, errlen, "cannot read %s: %s", what[i], strerror(errno));
            return -1;
        }
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1) {
        setf(err, errlen, "%s is not a PEM CA certificate (%s)", f->ca, ssl_reason("bad file"));
        return -1;
    }
    if (!own)
        return 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
        setf(err, errlen, "%s is not a PEM certificate (%s)", f->cert, ssl_reason("bad file"));
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1) {
        setf(err, errlen, "%s is not a PEM private key (%s)", f->key, ssl_reason("bad file"));
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        setf(err, errlen, "%s does not belong to the certificate %s", f->key, f->cert);
        return -1;
    }
    return 0;
}

static SSL_CTX *ctx_new(int server, const bf_tls_files *f, char *err, size_t errlen)
{
    pthread_once(&g_once, init_once);
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) {
        setf(err, errlen, "cannot create a TLS context: %s", ssl_reason("out of memory"));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
                       verify_cb);
    SSL_CTX_set_verify_depth(ctx, 4);
    if (load_files(ctx, server, f, err, errlen) != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* ---- handshakes --------------------------------------------------------------------------- */
/* Drives SSL_connect/SSL_accept until done or the deadline. 0 ok, -1 failed (err set), -2 timeout. */
static int handshake(bf_conn *c, int server, long long deadline)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int ret = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
        if (ret == 1)
            return 0;
        int e = SSL_get_error(c->ssl, ret);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int w = wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, remaining_ms(deadline));
            if (w == 0)
                return -2;
            if (w < 0)
                return -1;
            continue;
        }
        if (!c->err[0]) {
            if (e == SSL_ERROR_SYSCALL)
                setf(c->err, sizeof c->err, "connection closed during the TLS handshake%s%s",
                     errno ? ": " : "", errno ? strerror(errno) : "");
            else
                setf(c->err, sizeof c->err, "TLS handshake failed: %s", ssl_reason("unknown error"));
        }
        return -1;
    }
}

/* Server side: why a handshake failed when the verify callback said nothing. */
static void explain_server_failure(bf_conn *c)
{
    unsigned long e = ERR_peek_last_error();
    int reason = ERR_GET_REASON(e);
    if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
        setf(c->err, sizeof c->err, "client sent no certificate; it needs a bundle from "
                                    "'bitfusiond pki client'");
    else if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_WRONG_VERSION_NUMBER)
        setf(c->err, sizeof c->err, "client does not speak TLS 1.3 (%s)", ERR_reason_error_string(e));
    else if (reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST)
        setf(c->err, sizeof c->err, "client sent plain HTTP, not TLS");
    else if (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA || reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
             reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN)
        setf(c->err, sizeof c->err, "client refused this server's certificate (%s): its bundle's ca.crt "
             "is not this cluster's CA", ERR_reason_error_string(e));
    else if (e && ERR_reason_error_string(e) && strstr(ERR_reason_error_string(e), "alert"))
        setf(c->err, sizeof c->err, "client ended the handshake: %s", ERR_reason_error_string(e));
}

BF_API bf_tls_server *bf_tls_server_new(const bf_tls_files *files, char *err, size_t errlen)
{
    bf_tls_server *s = calloc(1, sizeof *s);
    if (!s) {
        setf(err, errlen, "out of memory");
        return NULL;
    }
    s->ctx = ctx_new(1, files, err, errlen);
    if (!s->ctx) {
        free(s);
        return NULL;
    }
    STACK_OF(X509_NAME) *cas = SSL_load_client_CA_file(files->ca);
    if (cas)
        SSL_CTX_set_client_CA_list(s->ctx, cas);
    SSL_CTX_set_session_cache_mode(s->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(s->ctx, 1); /* the ticket tells the client it was accepted */
    return s;
}

BF_API void bf_tls_server_free(bf_tls_server *s)
{
    if (!s)
        return;
    SSL_CTX_free(s->ctx);
    free(s);
}

static bf_conn *tls_conn_new(SSL_CTX *ctx, int fd, char *err, size_t errlen)
{
    bf_conn *c = conn_new(fd);
    if (!c || set_nonblock(fd) != 0 || !(c->ssl = SSL_new(ctx)) || SSL_set_fd(c->ssl, fd) != 1) {
        setf(err, errlen, "cannot set up TLS on the socket: %s", ssl_reason(strerror(errno)));
        if (c)
            c->fd = -1;
        if (c)
            conn_free(c);
        else
            close(fd);
        return NULL;
    }
    SSL_set_ex_data(c->ssl, g_conn_index, c);
    set_keepalive(fd);
    return c;
}

BF_API bf_conn *bf_tls_accept(bf_tls_server *s, int fd, int timeout_ms, char *err, size_t errlen)
{
    bf_conn *c = tls_conn_new(s->ctx, fd, err, errlen);
    if (!c)
        return NULL;
    int rc = handshake(c, 1, timeout_ms > 0 ? now_ms() + timeout_ms : -1);
    if (rc == -2)
        setf(c->err, sizeof c->err, "TLS handshake timed out after %d ms", timeout_ms);
    else if (rc == -1 && !c->verify_failed)
        explain_server_failure(c);
    if (rc != 0) {
        setf(err, errlen, "%s", c->err);
        conn_free(c);
        return NULL;
    }
    cert_cn(SSL_get0_peer_certificate(c->ssl), c->peer, sizeof c->peer);
    c->err[0] = 0;
    return c;
}

/* Client side: TLS 1.3 finishes the client's handshake before the server has judged the client
 * certificate; the server's answer is either a session ticket (accepted) or an alert (refused).
 * Wait for one of them so that a refusal is reported here, not at the first call. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    bf_conn *c = SSL_get_ex_data(ssl, g_conn_index);
    if (c)
        c->ticket_seen = 1;
    return 0; /* not kept */
}

static void explain_refusal(bf_conn *c)
{
    if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
        setf(c->err, sizeof c->err, "server refused us: it requires a client certificate and we sent none; "
             "get a client bundle with 'bitfusiond pki client'");
        return;
    }
    char own[128] = "", when[64] = "", extra[256] = "";
    X509 *me = SSL_get_certificate(c->ssl);
    cert_cn(me, own, sizeof own);
    if (me && X509_cmp_current_time(X509_get0_notAfter(me)) < 0) {
        fmt_time(X509_get0_notAfter(me), when, sizeof when);
        setf(extra, sizeof extra, "; ours (CN=%s) expired on %s", own, when);
    }
    setf(c->err, sizeof c->err, "server refused our certificate: %s%s; get a new client bundle with "
         "'bitfusiond pki client' from the server's CA", ssl_reason("connection closed"), extra);
}

static int await_verdict(bf_conn *c, long long deadline)
{
    char b;
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int ret = SSL_peek(c->ssl, &b, 1);
        if (ret > 0 || c->ticket_seen)
            return 0;
        int e = SSL_get_error(c->ssl, ret);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (c->ticket_seen)
                return 0;
            int w = wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, remaining_ms(deadline));
            if (w == 0)
                return -2;
            if (w < 0)
                return -1;
            continue;
        }
        if (e == SSL_ERROR_SSL)
            explain_refusal(c);
        else
            setf(c->err, sizeof c->err, "server closed the connection after the TLS handshake "
                                        "(it may have refused our certificate)");
        return -1;
    }
}

static int tcp_connect(const char *host, int port, long long deadline, char *err, size_t errlen)
{
    char svc[16];
    snprintf(svc, sizeof svc, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(host, svc, &hints, &res);
    if (gai != 0) {
        setf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1, last = ECONNREFUSED;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int n;
            do n = poll(&p, 1, remaining_ms(deadline)); while (n < 0 && errno == EINTR);
            int soerr = n == 0 ? ETIMEDOUT : 0;
            socklen_t sl = sizeof soerr;
            if (n > 0)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            errno = soerr;
        }
        if (errno != 0 && errno != EISCONN) {
            last = errno;
            close(fd);
            fd = -1;
        }
        errno = 0;
    }
    freeaddrinfo(res);
    if (fd < 0)
        setf(err, errlen, "cannot connect to %s:%d: %s", host, port,
             last == ETIMEDOUT ? "timed out" : strerror(last));
    return fd;
}

static int set_expected_name(SSL *ssl, const char *host)
{
    unsigned char tmp[16];
    int is_ip = inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
    if (is_ip)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -1;
    SSL_set_tlsext_host_name(ssl, host);
    return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

BF_API bf_conn *bf_tls_connect(const char *host, int port, const bf_tls_files *files, int timeout_ms,
                               char *err, size_t errlen)
{
    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
    SSL_CTX *ctx = ctx_new(0, files, err, errlen);
    if (!ctx)
        return NULL;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    int fd = tcp_connect(host, port, deadline, err, errlen);
    if (fd < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    bf_conn *c = tls_conn_new(ctx, fd, err, errlen);
    if (!c) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    c->own_ctx = ctx;
    if (set_expected_name(c->ssl, host) != 0) {
        setf(err, errlen, "cannot check the server name %s", host);
        conn_free(c);
        return NULL;
    }
    int rc = handshake(c, 0, deadline);
    if (rc == 0)
        rc = await_verdict(c, deadline);
    if (rc != 0) {
        if (rc == -2)
            setf(err, errlen, "%s:%d did not complete the TLS handshake within %d ms", host, port, timeout_ms);
        else
            setf(err, errlen, "%s:%d: %s", host, port, c->err);
        conn_free(c);
        return NULL;
    }
    cert_cn(SSL_get0_peer_certificate(c->ssl), c->peer, sizeof c->peer);
    c->err[0] = 0;
    return c;
}
