/* listen.c: bitfusiond's parent process: binds the listen address (IPv4 and IPv6), accepts, forks
 * one worker per connection and reaps them, and answers the workers' lease messages (lease.c).
 * SIGTERM/SIGINT: stop accepting, give the sessions shutdown_grace seconds to end, then kill what
 * is left. Signals arrive through a signalfd so the loop is a single poll(). */
#include "server.h"
#include "lease.h"
#include "lease_shm.h"
#include "log.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN 8
#define MAX_POLL (1 + MAX_LISTEN + BF_SHM_MAX_WORKERS)

typedef struct server {
    int lfd[MAX_LISTEN];
    int nl;
    int sfd;                 /* signalfd */
    pid_t *kids;
    int nkids, cap;
    int max_sessions;
    sigset_t oldmask;
} server;

/* ---- binding ---------------------------------------------------------------------------------- */
static int bind_one(const struct sockaddr *sa, socklen_t len, int v6only, char *err, size_t errlen)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    if (bind(fd, sa, len) != 0 || listen(fd, 128) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* "*:PORT": one dual-stack IPv6 socket, or IPv4 when the host has no IPv6. */
static int bind_any(server *s, int port, char *err, size_t errlen)
{
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any};
    int fd = bind_one((struct sockaddr *)&a6, sizeof a6, 0, err, errlen);
    if (fd < 0 && (errno == EAFNOSUPPORT || strstr(err, "not supported"))) {
        struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        fd = bind_one((struct sockaddr *)&a4, sizeof a4, 0, err, errlen);
    }
    if (fd >= 0)
        s->lfd[s->nl++] = fd;
    return fd < 0 ? -1 : 0;
}

static int bind_host(server *s, const char *host, int port, char *err, size_t errlen)
{
    char svc[16];
    snprintf(svc, sizeof svc, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE},
                    *res = NULL;
    int gai = getaddrinfo(host, svc, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    for (struct addrinfo *a = res; a && s->nl < MAX_LISTEN; a = a->ai_next) {
        int fd = bind_one(a->ai_addr, a->ai_addrlen, 1, err, errlen);
        if (fd >= 0)
            s->lfd[s->nl++] = fd;
        if (fd >= 0 && port == 0)
            break; /* an ephemeral port: one address, or the ports would differ */
    }
    freeaddrinfo(res);
    return s->nl ? 0 : -1;
}

static int do_bind(server *s, const char *spec)
{
    char host[256], err[512] = "", where[300];
    int port;
    if (bf_parse_listen(spec, host, sizeof host, &port) != 0) {
        LOG_E("listen address '%s' is not ADDRESS:PORT (e.g. *:56001 or 127.0.0.1:56001)", spec);
        return -1;
    }
    int rc = host[0] ? bind_host(s, host, port, err, sizeof err) : bind_any(s, port, err, sizeof err);
    if (rc != 0) {
        LOG_E("cannot listen on %s: %s%s", spec, err,
              strstr(err, "in use") ? "; another bitfusiond may be running, or choose another --listen" : "");
        return -1;
    }
    for (int i = 0; i < s->nl; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        getsockname(s->lfd[i], (struct sockaddr *)&ss, &sl);
        bf_format_addr((struct sockaddr *)&ss, sl, where, sizeof where);
        if (((struct sockaddr *)&ss)->sa_family == AF_INET6 && !host[0])
            LOG_I("listening on %s (IPv4 and IPv6)", where);
        else
            LOG_I("listening on %s", where);
    }
    return 0;
}

/* ---- children --------------------------------------------------------------------------------- */
static void add_kid(server *s, pid_t pid)
{
    if (s->nkids == s->cap) {
        int cap = s->cap ? s->cap * 2 : 64;
        pid_t *k = realloc(s->kids, (size_t)cap * sizeof *k);
        if (!k)
            return; /* still reaped by waitpid(-1) */
        s->kids = k;
        s->cap = cap;
    }
    s->kids[s->nkids++] = pid;
}

static server *g_server;           /* for bf_serve_kill_worker */

static void reaped(server *s, pid_t pid, int st, int expected)
{
    for (int i = 0; i < s->nkids; i++)
        if (s->kids[i] == pid) {
            s->kids[i] = s->kids[--s->nkids];
            break;
        }
    if (WIFSIGNALED(st) && !expected)
        LOG_W("worker %d killed by signal %d", (int)pid, WTERMSIG(st));
    bf_lease_worker_ended(pid);
}

static void reap(server *s)
{
    pid_t pid;
    int st;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        reaped(s, pid, st, 0);
}

void bf_serve_kill_worker(pid_t pid)
{
    int st;
    if (kill(pid, SIGKILL) != 0 && errno == ESRCH)
        return;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return;
    reaped(g_server, pid, st, 1);
}

static void child_setup(server *s)
{
    for (int i = 0; i < s->nl; i++)
        close(s->lfd[i]);
    close(s->sfd);
    signal(SIGPIPE, SIG_IGN);
    sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
}

static void accept_one(server *s, int lfd, const bf_worker_ctx *w)
{
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            LOG_W("accept: %s", strerror(errno));
        if (errno == EMFILE || errno == ENFILE)
            usleep(100000);
        return;
    }
    if (s->max_sessions > 0 && s->nkids >= s->max_sessions) {
        char a[80];
        bf_format_addr((struct sockaddr *)&peer, plen, a, sizeof a);
        LOG_W("refused peer=%s: %d sessions running (max_sessions)", a, s->nkids);
        close(fd);
        return;
    }
    int cfd, slot = bf_lease_worker_new(&cfd);
    if (slot < 0) {
        LOG_W("refused a connection: all %d worker slots are in use", BF_SHM_MAX_WORKERS);
        close(fd);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        bf_lease_worker_child(slot, cfd);
        child_setup(s);
        _exit(bf_worker_run(w, fd, (struct sockaddr *)&peer, plen));
    }
    if (pid < 0)
        LOG_E("cannot start a worker: %s", strerror(errno));
    else
        add_kid(s, pid);
    bf_lease_worker_forked(slot, cfd, pid);
    close(fd);
}

/* ---- shutdown --------------------------------------------------------------------------------- */
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drain(server *s, int grace_s)
{
    for (int i = 0; i < s->nl; i++)
        close(s->lfd[i]);
    s->nl = 0;
    reap(s);
    if (s->nkids)
        LOG_I("stopping: waiting up to %d s for %d session%s to end", grace_s, s->nkids, s->nkids == 1 ? "" : "s");
    long long deadline = now_ms() + grace_s * 1000LL;
    while (s->nkids > 0 && now_ms() < deadline) {
        struct pollfd p = {.fd = s->sfd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - now_ms())) > 0) {
            struct signalfd_siginfo si;
            if (read(s->sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD) {
                LOG_W("second stop signal: ending the sessions now");
                break;
            }
        }
        reap(s);
    }
    if (s->nkids)
        LOG_W("killing %d session%s still running", s->nkids, s->nkids == 1 ? "" : "s");
    for (int i = 0; i < s->nkids; i++)
        kill(s->kids[i], SIGKILL);
    while (s->nkids > 0 && waitpid(-1, NULL, 0) > 0)
        reap(s);
}

/* ---- main loop -------------------------------------------------------------------------------- */
static int handle_signal(server *s)
{
    struct signalfd_siginfo si;
    if (read(s->sfd, &si, sizeof si) != sizeof si)
        return 0;
    if (si.ssi_signo == SIGCHLD) {
        reap(s);
        return 0;
    }
    if (si.ssi_signo == SIGHUP) {
        LOG_I("SIGHUP: reload is not supported yet; restart bitfusiond to apply a new configuration");
        return 0;
    }
    LOG_I("received %s: stopping", strsignal((int)si.ssi_signo));
    return 1;
}

static int setup_signals(server *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &s->oldmask);
    s->sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (s->sfd < 0)
        LOG_E("signalfd: %s", strerror(errno));
    return s->sfd < 0 ? -1 : 0;
}

int bf_serve(const bf_server_config *cfg, const bf_worker_ctx *w)
{
    server s = {.max_sessions = cfg->max_sessions};
    static struct pollfd p[MAX_POLL];
    g_server = &s;
    signal(SIGPIPE, SIG_IGN);
    if (setup_signals(&s) != 0 || bf_leases_init(cfg, w->backend, w->emu_lib) != 0 || do_bind(&s, cfg->listen) != 0)
        return 1;
    for (;;) {
        p[0] = (struct pollfd){.fd = s.sfd, .events = POLLIN};
        for (int i = 0; i < s.nl; i++)
            p[i + 1] = (struct pollfd){.fd = s.lfd[i], .events = POLLIN};
        int nw = bf_lease_pollfds(p + 1 + s.nl, MAX_POLL - 1 - s.nl);
        int n = poll(p, (nfds_t)(1 + s.nl + nw), bf_lease_next_timer_ms());
        if (n < 0 && errno != EINTR) {
            LOG_E("poll: %s", strerror(errno));
            break;
        }
        if (n > 0 && (p[0].revents & POLLIN) && handle_signal(&s))
            break;
        if (n > 0)
            bf_lease_handle(p + 1 + s.nl, nw);
        bf_lease_run_timers();
        for (int i = 0; n > 0 && i < s.nl; i++)
            if (p[i + 1].revents & POLLIN)
                accept_one(&s, s.lfd[i], w);
    }
    drain(&s, cfg->shutdown_grace_s);
    LOG_I("stopped");
    free(s.kids);
    return 0;
}
