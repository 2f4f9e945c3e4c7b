/* bf_conn.h: an authenticated byte stream between the client library and a bitfusiond worker:
 * TLS 1.3 with certificates from the cluster CA on both sides (proto/tls.c). One thread may read
 * while another writes (the implementation serialises its TLS calls internally and never holds
 * its lock while waiting for the network). */
#ifndef BF_CONN_H
#define BF_CONN_H
#include <stddef.h>

typedef struct bf_conn bf_conn;

typedef struct bf_tls_files {
    const char *ca;          /* cluster CA certificate (PEM) */
    const char *cert;        /* own certificate (PEM) */
    const char *key;         /* own private key (PEM) */
} bf_tls_files;

/* Writes/reads exactly n bytes. 0 on success, -1 on error or end of stream (err set when given). */
int bf_conn_write_all(bf_conn *c, const void *buf, size_t n);
int bf_conn_read_all(bf_conn *c, void *buf, size_t n);
/* Shuts the stream down (wakes a blocked reader) and frees it. */
void bf_conn_close(bf_conn *c);
/* For a copy inherited across fork(2) (or a stream nobody else uses): closes this process's
 * descriptors WITHOUT sending anything (no TLS close_notify, no shutdown(2)), so the other
 * process's connection is untouched. In the process that made c, c is freed; in a forked child,
 * only its descriptors are closed (another thread of the parent may have been inside OpenSSL at
 * the fork), the rest stays allocated. No other thread of this process may be using c. */
void bf_conn_abandon(bf_conn *c);
/* Tells the peer that nothing more will be written (TLS close_notify), while reads go on: the
 * peer sees the end of the stream, finishes and closes, and the reader then sees the end. */
void bf_conn_end_writes(bf_conn *c);
/* Bounds every later read_all/write_all: one that waits longer than ms for the peer fails with
 * "no answer from the peer within N ms" in bf_conn_error (the stream is then out of step: close
 * it). 0 = wait for ever (the default). 0, or -1 for a bad argument. */
int bf_conn_set_timeout(bf_conn *c, int ms);
/* The peer certificate's common name ("" for plain test connections). */
const char *bf_conn_peer_name(const bf_conn *c);
/* Last error on this connection, one line. */
const char *bf_conn_error(const bf_conn *c);

/* Client: TCP connect to host:port within timeout_ms, TLS 1.3 handshake, verify the server's
 * certificate against the CA. NULL with a one-line message in err on failure. */
bf_conn *bf_tls_connect(const char *host, int port, const bf_tls_files *files, int timeout_ms,
                        char *err, size_t errlen);

/* Server: a TLS context that requires and verifies client certificates. */
typedef struct bf_tls_server bf_tls_server;
bf_tls_server *bf_tls_server_new(const bf_tls_files *files, char *err, size_t errlen);
void bf_tls_server_free(bf_tls_server *s);
/* Handshake on an accepted socket (takes ownership of fd). NULL + one-line err when the client
 * is refused (no certificate, another CA, expired, not TLS 1.3, timeout). */
bf_conn *bf_tls_accept(bf_tls_server *s, int fd, int timeout_ms, char *err, size_t errlen);

/* Plain stream over an fd: ONLY for unit tests over socketpair(2); never on a network address. */
bf_conn *bf_conn_plain_for_tests(int fd);
#endif
