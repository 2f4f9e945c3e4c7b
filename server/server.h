/* server.h: the pieces of bitfusiond (owner: server/main.c, listen.c, worker.c, backend.c,
 * cmd_pki.c). The session layer (server/session*.c) runs in the workers; the lease bookkeeping
 * (lease.h) in the parent. */
#ifndef BF_SERVER_H
#define BF_SERVER_H
#include <stddef.h>
#include <sys/socket.h>
#include "bf_conn.h"
#include "config.h"

/* What every worker needs. */
typedef struct bf_worker_ctx {
    bf_tls_server *tls;
    const char *backend;           /* "emu" | "nvidia" | "auto" */
    const char *emu_lib;           /* the software GPU library */
    int handshake_timeout_ms;
} bf_worker_ctx;

/* bf_session_run: session.h (other component). */
#include "session.h"

/* listen.c: binds cfg->listen, accepts and forks a worker per connection until SIGTERM/SIGINT;
 * returns the exit status. */
int bf_serve(const bf_server_config *cfg, const bf_worker_ctx *w);

/* worker.c: runs in the forked child; returns its exit status. */
int bf_worker_run(const bf_worker_ctx *w, int fd, const struct sockaddr *peer, socklen_t peerlen);
/* "1.2.3.4:5" / "[::1]:5" (v4-mapped addresses shown as IPv4). */
void bf_format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen);

/* backend.c: resolves the backend and says so in one line (the first log line). The emu library
 * path is <dir of this executable>/../lib/bitfusion/emu/libcuda.so.1. "auto" is probed in a
 * short-lived child (the daemon itself never loads CUDA). Returns the backend workers use, or NULL
 * (error logged). */
const char *bf_backend_resolve(const char *requested, char *emu_lib, size_t len);

/* cmd_pki.c: `bitfusiond pki ...`. */
int bf_cmd_pki(int argc, char **argv);
#endif
