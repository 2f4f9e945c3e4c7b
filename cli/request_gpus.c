/* request_gpus.c: `bitfusion request_gpus -n N [-p FRACTION | -m MiB] [--filter EXPR]...
 * [-l HOST[:PORT],...] [--timeout SECONDS] [-f FILE]`: leases GPUs for later `bitfusion client`
 * runs. A background keeper process (forked here, in a session of its own) takes the lease and
 * holds it; this process writes the reservation file and exits.
 *
 * Keeper protocol: the keeper keeps the terminal's stderr while it leases (bf_lease_acquire's
 * waiting line reaches the user), then sends one struct report over a pipe (the lease, or the error
 * line). The foreground writes the reservation file and sends one byte back; the keeper then stops
 * ending with the foreground (PR_SET_PDEATHSIG) and says so with one last byte (so that the
 * foreground's normal exit is not taken for its death), and detaches (stdin/stdout/stderr to
 * /dev/null, working directory /). If the foreground dies first, the keeper learns it
 * (PR_SET_PDEATHSIG while it leases, end of file on the ack pipe after) and gives the lease back,
 * so no lease is left without a file. Detached, it pings the lease's hold connection every ttl/3
 * (its own loop on bf_ctl_ping, not bf_lease_keepalive_start, so that it learns when the lease is
 * gone) and checks that the server still lists the lease; it exits when the lease has ended or the
 * connection failed, and releases the lease and exits on SIGTERM/SIGINT/SIGHUP (release_gpus sends
 * SIGTERM after releasing the lease itself). */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char REQUEST_GPUS_HELP[] =
    "usage: bitfusion request_gpus -n N [-p FRACTION | -m MiB] [--filter EXPR]... [-l HOST[:PORT],...]\n"
    "                              [--timeout SECONDS] [-f FILE]\n"
    "Leases N GPUs of one bitfusiond server and keeps them for 'bitfusion client' runs until\n"
    "'bitfusion release_gpus'. A background bitfusion process holds the lease; the reservation file\n"
    "(default ./" BF_RESERVATION_DEFAULT ") says which lease and which process.\n"
    CLI_LEASE_OPTIONS_HELP
    "  -f, --file FILE           the reservation file to write (default ./" BF_RESERVATION_DEFAULT "); an existing\n"
    "                            one whose lease is still held is not overwritten\n"
    "  -h, --help                this text\n"
    "Prints: Reserved N GPU(s) of M MiB on HOST:PORT; reservation file: PATH\n"
    "Example: bitfusion request_gpus -n 1 -p 0.5 && bitfusion client -- python3 train.py &&\n"
    "         bitfusion release_gpus\n";

typedef struct report {
    int ok;
    int num_gpus;
    uint64_t bytes;
    char id[64];
    char addr[300];
    char err[2048];
} report;

/* ---- the keeper ------------------------------------------------------------------------------- */
static ssize_t recv_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

static void detach_stdio(void)
{
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
}

static void hold(const bf_client_config *cfg, bf_lease *l, const sigset_t *sigs)
{
    int interval_ms = l->ttl_ms > 0 ? l->ttl_ms / 3 : 5000;
    if (interval_ms < 100)
        interval_ms = 100;
    char err[1024];
    for (;;) {
        struct timespec ts = {interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L};
        int sig = sigtimedwait(sigs, NULL, &ts);
        if (sig > 0) {
            bf_lease_release(cfg, l, err, sizeof err); /* release_gpus may have released it already */
            _exit(0);
        }
        if (errno == EINTR)
            continue;
        /* a lease that ends (released by release_gpus, idle limit) ends its hold's connection
         * on the server, so the ping fails */
        if (bf_ctl_ping(l->hold, err, sizeof err) != 0) {
            bf_lease_abandon(l); /* the connection is gone: the server ends the hold */
            _exit(0);
        }
    }
}

/* Closes every inherited descriptor but stdin/stdout/stderr and keep1, keep2: whoever started
 * request_gpus (a shell's $(...), a test harness) must not wait for the keeper's copies. */
static void close_inherited(int keep1, int keep2)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int fds[1024], n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 1024) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd > 2 && fd != keep1 && fd != keep2 && fd != dirfd(d))
            fds[n++] = fd;
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

/* The configuration's files as absolute paths (the keeper leaves the working directory). */
static void absolute_paths(bf_client_config *cfg)
{
    char *paths[] = {cfg->dir, cfg->ca, cfg->cert, cfg->key}, real[PATH_MAX];
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (realpath(paths[i], real))
            snprintf(paths[i], BF_PATH_MAX, "%s", real);
}

static void keeper(bf_client_config *cfg, const bf_lease_want *want, pid_t parent, int rep, int ack)
{
    static bf_lease lease;
    static report r;
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(1);
    setsid();
    prctl(PR_SET_NAME, "bitfusion-keep");
    close_inherited(rep, ack);
    absolute_paths(cfg);
    if (chdir("/") != 0)
        _exit(1);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    if (bf_lease_acquire(cfg, want, &lease, r.err, sizeof r.err) != 0) {
        bf_write_all(rep, &r, sizeof r);
        _exit(1);
    }
    sigprocmask(SIG_BLOCK, &sigs, NULL); /* from here on, a signal releases the lease */
    r.ok = 1;
    r.num_gpus = lease.num_gpus;
    r.bytes = lease.bytes;
    snprintf(r.id, sizeof r.id, "%s", lease.id);
    snprintf(r.addr, sizeof r.addr, "%s", lease.addr);
    char c, err[1024];
    if (bf_write_all(rep, &r, sizeof r) != 0 || recv_all(ack, &c, 1) != 1) {
        bf_lease_release(cfg, &lease, err, sizeof err);
        _exit(1);
    }
    prctl(PR_SET_PDEATHSIG, 0);
    c = 2; /* the foreground may exit now: its end no longer signals us */
    bf_write_all(rep, &c, 1);
    detach_stdio();
    close(rep);
    close(ack);
    hold(cfg, &lease, &sigs);
}

/* ---- the foreground --------------------------------------------------------------------------- */
static void absolute(const char *path, char *out, size_t len)
{
    char cwd[PATH_MAX];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
        snprintf(out, len, "%s", path);
    else
        snprintf(out, len, "%s/%s", cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
}

static int refuse_existing(const bf_client_config *cfg, const char *path)
{
    bf_reservation r;
    char err[1024];
    if (access(path, F_OK) != 0)
        return 0;
    if (bf_reservation_read(path, &r, err, sizeof err) != 0)
        return cli_error("%s exists and is not a reservation file (%s); remove it or give another file with -f",
                         path, err);
    int listed = cli_lease_listed(cfg, r.server, r.lease);
    if (listed == 1 || (listed < 0 && cli_is_keeper(r.keeper_pid)))
        return cli_error("%s holds lease %.8s on %s, which is still held; release it first with "
                         "'bitfusion release_gpus -f %s', or give another file with -f",
                         path, r.lease, r.server, path);
    return 0;
}

int request_gpus_main(int argc, char **argv)
{
    static cli_lease_opts o;
    static bf_client_config cfg;
    static report r;
    char holder[256], abspath[PATH_MAX + 256];
    bf_lease_want want;
    char *what[] = {"request_gpus", NULL};

    if (cli_parse("request_gpus", REQUEST_GPUS_HELP, argc, argv, cli_lease_file_opt, &o, CLI_NO_CMD, NULL) != 0 ||
        cli_lease_opts_check("request_gpus", &o) != 0)
        return 2;
    const char *path = cli_reservation_path(o.file);
    if (cli_load_config(&cfg) != 0 || refuse_existing(&cfg, path) != 0)
        return 1;

    int rep[2], ack[2];
    if (pipe2(rep, O_CLOEXEC) != 0 || pipe2(ack, O_CLOEXEC) != 0)
        return cli_error("cannot create a pipe: %s; try again", strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return cli_error("cannot start the process that holds the lease: %s; try again", strerror(errno));
    if (pid == 0) {
        close(rep[0]);
        close(ack[1]);
        cli_holder(holder, sizeof holder, getpid(), what);
        cli_lease_want(&o, &cfg, holder, &want);
        keeper(&cfg, &want, parent, rep[1], ack[0]);
        _exit(1);
    }
    close(rep[1]);
    close(ack[0]);
    if (recv_all(rep[0], &r, sizeof r) != (ssize_t)sizeof r) {
        int st = 0;
        waitpid(pid, &st, 0);
        return cli_error("the process that holds the lease ended before it reported (%s %d); try again",
                         WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    }
    if (!r.ok) {
        waitpid(pid, NULL, 0);
        r.err[sizeof r.err - 1] = 0;
        return cli_fail(r.err);
    }
    bf_reservation res = {.num_gpus = r.num_gpus, .partition_mib = cli_mib(r.bytes), .keeper_pid = pid};
    snprintf(res.server, sizeof res.server, "%s", r.addr);
    snprintf(res.lease, sizeof res.lease, "%s", r.id);
    char err[1024], c = 1;
    if (bf_reservation_write(path, &res, err, sizeof err) != 0) {
        close(ack[1]); /* the keeper releases the lease */
        waitpid(pid, NULL, 0);
        return cli_fail(err);
    }
    if (bf_write_all(ack[1], &c, 1) != 0) {
        unlink(path);
        return cli_error("the process that holds the lease on %s ended; try again", r.addr);
    }
    close(ack[1]);
    recv_all(rep[0], &c, 1); /* the keeper no longer dies with us (or it has ended: a stale file is harmless) */
    absolute(path, abspath, sizeof abspath);
    printf("Reserved %d GPU(s) of %llu MiB on %s; reservation file: %s\n", r.num_gpus,
           (unsigned long long)cli_mib(r.bytes), r.addr, abspath);
    return 0;
}
