/* worker.c: one forked bitfusiond worker per connection: the TLS handshake (a refused client is
 * one log line), then the session, then one line saying how it ended. */
#include "server.h"
#include "log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

void bf_format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)sa;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(out, outlen, "%s:%d", ip, ntohs(a->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof ip);
            snprintf(out, outlen, "%s:%d", ip, ntohs(a->sin6_port));
        } else {
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
            snprintf(out, outlen, "[%s]:%d", ip, ntohs(a->sin6_port));
        }
    } else {
        snprintf(out, outlen, "unknown");
    }
    (void)len;
}

static char g_cn[256], g_addr[80];
static int g_control = -1;           /* -1: the handshake did not get that far */

/* The session's start line: CUDA sessions at info level, control connections (list_gpus, lease
 * requests, holders' pings) at debug level. */
static void started(int control, const char *lease)
{
    g_control = control;
    if (control)
        LOG_D("control connection: client=%s peer=%s", g_cn, g_addr);
    else
        LOG_I("session start: client=%s peer=%s lease=%.8s", g_cn, g_addr, lease);
}

int bf_worker_run(const bf_worker_ctx *w, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
    char addr[80], err[512], end[512] = "";
    bf_format_addr(peer, peerlen, addr, sizeof addr);
    bf_conn *c = bf_tls_accept(w->tls, fd, w->handshake_timeout_ms, err, sizeof err);
    if (!c) {
        LOG_W("refused peer=%s: %s", addr, err);
        return 1;
    }
    const char *cn = g_cn;
    snprintf(g_cn, sizeof g_cn, "%s", bf_conn_peer_name(c));
    snprintf(g_addr, sizeof g_addr, "%s", addr);
    bf_session_set_peer(addr);
    bf_session_started = started;
    long calls = bf_session_run(c, w->backend, w->emu_lib, end, sizeof end);
    bf_conn_close(c);
    if (!end[0])
        snprintf(end, sizeof end, "%s", calls >= 0 ? "client closed the connection" : "session failed");
    if (g_control == 1)
        LOG_D("control connection end: client=%s requests=%ld reason=%s", cn, calls, end);
    else if (g_control == 0)
        LOG_I("session end: client=%s calls=%ld reason=%s", cn, calls < 0 ? 0 : calls, end);
    else
        LOG_W("session failed: client=%s peer=%s reason=%s", cn, addr, end);
    return calls >= 0 ? 0 : 1;
}
