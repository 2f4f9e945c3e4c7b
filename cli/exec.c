/* exec.c: runs a command inside a lease with the client library in place (shared by `bitfusion
 * run` and `bitfusion client`). The client library is found next to this executable:
 * <exe dir>/../lib/bitfusion/client/libcuda.so.1; it is put first in LD_PRELOAD and its directory
 * first in LD_LIBRARY_PATH, and BITFUSION_LEASE names the lease it attaches to.
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to bitfusion are passed on to the command; ones from the
 * terminal already reach it (same process group) and are not sent twice. The lease's hold
 * connection is opened with SOCK_CLOEXEC (proto/tls.c), so the command does not inherit it. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int cli_client_lib(char *dir, size_t dirlen, char *lib, size_t liblen)
{
    char exe[PATH_MAX - 64], tmp[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(dir, dirlen, "lib/bitfusion/client");
        snprintf(lib, liblen, "lib/bitfusion/client/libcuda.so.1");
        return -1;
    }
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    snprintf(tmp, sizeof tmp, "%s/../lib/bitfusion/client", exe);
    char real[PATH_MAX];
    int ok = realpath(tmp, real) != NULL;
    snprintf(dir, dirlen, "%s", ok ? real : tmp);
    snprintf(lib, liblen, "%s/libcuda.so.1", dir);
    return ok && access(lib, R_OK) == 0 ? 0 : -1;
}

static void prepend_env(const char *var, const char *value, char sep)
{
    const char *old = getenv(var);
    if (!old || !*old) {
        setenv(var, value, 1);
        return;
    }
    size_t n = strlen(value) + strlen(old) + 2;
    char *both = malloc(n);
    if (!both)
        return;
    snprintf(both, n, "%s%c%s", value, sep, old);
    setenv(var, both, 1);
    free(both);
}

static int set_environment(const cli_exec *x)
{
    char dir[PATH_MAX], lib[PATH_MAX + 32], cfgdir[PATH_MAX];
    if (cli_client_lib(dir, sizeof dir, lib, sizeof lib) != 0) {
        cli_error("the client library %s is missing; build it with 'make' or reinstall bitfusion", lib);
        return -1;
    }
    prepend_env("LD_PRELOAD", lib, ':');
    prepend_env("LD_LIBRARY_PATH", dir, ':');
    setenv("BITFUSION_LEASE", x->lease_env, 1);
    setenv("BITFUSION_SERVER", x->server, 1);
    setenv("BITFUSION_CONFIG_DIR", realpath(x->cfg->dir, cfgdir) ? cfgdir : x->cfg->dir, 1);
    return 0;
}

static volatile pid_t g_child;

static void forward(int sig, siginfo_t *si, void *uctx)
{
    if (g_child > 0 && si->si_code != SI_KERNEL) /* the terminal's signals reach CMD directly */
        kill(g_child, sig);
}

static int wait_child(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

static const int FORWARDED[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

int cli_exec_in_lease(const cli_exec *x, char **cmd)
{
    if (set_environment(x) != 0)
        return -1;
    struct sigaction sa = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART}, old[4];
    sigemptyset(&sa.sa_mask);
    sigset_t block, prev;
    sigemptyset(&block);
    for (size_t i = 0; i < 4; i++)
        sigaddset(&block, FORWARDED[i]);
    /* no signal between fork and the handlers: it would end bitfusion and leave CMD running */
    sigprocmask(SIG_BLOCK, &block, &prev);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        sigprocmask(SIG_SETMASK, &prev, NULL);
        cli_error("cannot start %s: %s", cmd[0], strerror(e));
        return 1;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &prev, NULL);
        execvp(cmd[0], cmd);
        int e = errno;
        fprintf(stderr, "bitfusion: cannot run %s: %s%s\n", cmd[0], strerror(e),
                e == ENOENT ? "; check the command's name and PATH" : "");
        _exit(e == ENOENT ? 127 : 126);
    }
    g_child = pid;
    for (size_t i = 0; i < 4; i++)
        sigaction(FORWARDED[i], &sa, &old[i]);
    sigprocmask(SIG_SETMASK, &prev, NULL);
    int status = wait_child(pid);
    g_child = 0;
    for (size_t i = 0; i < 4; i++)
        sigaction(FORWARDED[i], &old[i], NULL);
    return status;
}
