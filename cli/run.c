/* run.c: `bitfusion run -n 1 [--timeout S] [-l HOST[:PORT]] -- CMD [ARGS...]`: reads the client
 * configuration, picks the server, runs CMD with the client library preloaded (found next to this
 * executable: <exe dir>/../lib/bitfusion/client/libcuda.so.1) and exits with CMD's status
 * (128+N when a signal N killed it). SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to bitfusion are passed on
 * to CMD; ones from the terminal already reach CMD (same process group) and are not sent twice. */
#include "cli.h"
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run_opts {
    int n;
    int timeout_s;           /* 0: client.yaml's */
    const char *server;      /* -l: overrides servers.conf */
    char **cmd;
} run_opts;

static const char USAGE[] = "usage: bitfusion run -n 1 [--timeout SECONDS] [-l HOST[:PORT]] -- CMD [ARGS...]";

static int to_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* "-x V", "-xV", "--long V", "--long=V". NULL when argv[*i] is not this option. */
static const char *opt(int argc, char **argv, int *i, const char *shrt, const char *lng, int *missing)
{
    const char *a = argv[*i];
    size_t ls = shrt ? strlen(shrt) : 0, ll = lng ? strlen(lng) : 0;
    if (lng && !strncmp(a, lng, ll) && a[ll] == '=')
        return a + ll + 1;
    if (shrt && !strncmp(a, shrt, ls) && a[ls] && a[1] != '-')
        return a + ls;
    if (!((shrt && !strcmp(a, shrt)) || (lng && !strcmp(a, lng))))
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int parse(int argc, char **argv, run_opts *o)
{
    int i, missing = 0;
    const char *v;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if ((v = opt(argc, argv, &i, "-n", "--num_gpus", &missing))) {
            if (to_int(v, 1, 64, &o->n) != 0)
                return cli_usage_error("run: -n must be a number of GPUs (1), not '%s'", v);
        } else if ((v = opt(argc, argv, &i, NULL, "--timeout", &missing))) {
            if (to_int(v, 1, 86400, &o->timeout_s) != 0)
                return cli_usage_error("run: --timeout must be seconds from 1 to 86400, not '%s'", v);
        } else if ((v = opt(argc, argv, &i, "-l", "--server_list", &missing))) {
            o->server = v;
        } else if (opt(argc, argv, &i, "-p", "--partial", &missing) || opt(argc, argv, &i, "-m", "--memory", &missing) ||
                   opt(argc, argv, &i, NULL, "--filter", &missing)) {
            return cli_usage_error("run: GPU partitions and filters (-p, -m, --filter) are not supported in "
                                   "this version yet; leave them out to get a whole GPU");
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts(USAGE);
            exit(0);
        } else {
            return cli_usage_error(missing ? "run: %s needs a value; %s" : "run: unknown option '%s'; %s",
                                   argv[i], USAGE);
        }
    }
    if (missing)
        return cli_usage_error("run: %s needs a value; %s", argv[i - 1], USAGE);
    if (!o->n)
        return cli_usage_error("run: say how many GPUs with -n (e.g. bitfusion run -n 1 -- CMD)");
    if (o->n != 1)
        return cli_usage_error("run: -n %d: this version serves one GPU per run; use -n 1", o->n);
    if (i >= argc)
        return cli_usage_error("run: no command to run; %s", USAGE);
    o->cmd = argv + i;
    return 0;
}

/* <dir of /proc/self/exe>/../lib/bitfusion/client */
static int client_lib_dir(char *out, size_t len)
{
    char exe[PATH_MAX - 64], tmp[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    snprintf(tmp, sizeof tmp, "%s/../lib/bitfusion/client", exe);
    if (!realpath(tmp, out)) {
        snprintf(out, len, "%s", tmp);
        return -1;
    }
    return 0;
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

static int set_environment(const bf_client_config *cfg, const run_opts *o)
{
    char dir[PATH_MAX], lib[PATH_MAX + 32], server[300], cfgdir[PATH_MAX];
    int have_dir = client_lib_dir(dir, sizeof dir) == 0;
    snprintf(lib, sizeof lib, "%s/libcuda.so.1", dir);
    if (!have_dir || access(lib, R_OK) != 0) {
        fprintf(stderr, "bitfusion: the client library %s is missing; build it with 'make' or reinstall bitfusion\n",
                lib);
        return -1;
    }
    const bf_server_addr *a = &cfg->servers[0];
    snprintf(server, sizeof server, strchr(a->host, ':') ? "[%s]:%d" : "%s:%d", a->host, a->port);
    prepend_env("LD_PRELOAD", lib, ':');
    prepend_env("LD_LIBRARY_PATH", dir, ':');
    setenv("BITFUSION_SERVER", server, 1);
    setenv("BITFUSION_CONFIG_DIR", realpath(cfg->dir, cfgdir) ? cfgdir : cfg->dir, 1);
    if (o->timeout_s) {
        char t[16];
        snprintf(t, sizeof t, "%d", o->timeout_s);
        setenv("BITFUSION_TIMEOUT", t, 1);
    }
    return 0;
}

static int load_config(const run_opts *o, bf_client_config *cfg)
{
    char err[2048];
    if (bf_client_config_load(cfg, err, sizeof err) != 0 || bf_client_config_check_files(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "bitfusion: %s\n", err);
        return -1;
    }
    if (o->server) {
        char first[300];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(o->server, ","), o->server);
        if (bf_parse_hostport(first, BF_DEFAULT_PORT, cfg->servers[0].host, sizeof cfg->servers[0].host,
                              &cfg->servers[0].port) != 0) {
            fprintf(stderr, "bitfusion: run: -l '%s' is not HOST[:PORT]\n", first);
            return -1;
        }
    }
    return 0;
}

/* ---- running CMD ------------------------------------------------------------------------------- */
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

static int spawn(char **cmd)
{
    static const int SIGS[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bitfusion: cannot start %s: %s\n", cmd[0], strerror(errno));
        return 1;
    }
    if (pid == 0) {
        execvp(cmd[0], cmd);
        int e = errno;
        fprintf(stderr, "bitfusion: cannot run %s: %s\n", cmd[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    g_child = pid;
    for (size_t i = 0; i < sizeof SIGS / sizeof SIGS[0]; i++)
        sigaction(SIGS[i], &sa, NULL);
    return wait_child(pid);
}

int run_main(int argc, char **argv)
{
    run_opts o = {0};
    static bf_client_config cfg;
    if (parse(argc, argv, &o) != 0)
        return 2;
    if (load_config(&o, &cfg) != 0 || set_environment(&cfg, &o) != 0)
        return 1;
    return spawn(o.cmd);
}
