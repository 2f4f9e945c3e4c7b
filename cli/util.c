/* util.c: helpers shared by the subcommands: error lines, the client configuration, the lease
 * request built from the options, the holder string, and recognising a request_gpus keeper. */
#include "cli.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "bitfusion: MESSAGE" on stderr, returning status (cli_error, cli_usage_error). */
int cli_verror(int status, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "bitfusion: %s\n", msg);
    return status;
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_verror(1, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_fail(const char *err)
{
    static const char P[] = "bitfusion: ";
    /* one line, whatever the callee wrote */
    size_t n = strcspn(err, "\n");
    fprintf(stderr, "%s%.*s\n", strncmp(err, P, sizeof P - 1) ? P : "", (int)n, err);
    return 1;
}

int cli_load_config(bf_client_config *cfg)
{
    char err[2048];
    if (bf_client_config_load(cfg, err, sizeof err) != 0 || bf_client_config_check_files(cfg, err, sizeof err) != 0)
        return cli_fail(err);
    return 0;
}

void cli_holder(char *out, size_t len, pid_t pid, char **what)
{
    char host[256] = "", cmd[96];
    const char *user = getenv("USER");
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name && *pw->pw_name)
        user = pw->pw_name;
    if (!user || !*user)
        user = "?";
    if (gethostname(host, sizeof host - 1) != 0 || !*host)
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = 0;
    size_t n = 0;
    cmd[0] = 0;
    for (int i = 0; what && what[i] && n < sizeof cmd; i++) {
        int k = snprintf(cmd + n, sizeof cmd - n, "%s%s", i ? " " : "", what[i]);
        if (k < 0)
            break;
        n += (size_t)k;
    }
    if (n >= 60) /* short: list_gpus and smi show it on one line */
        memcpy(cmd + 57, "...", 4);
    snprintf(out, len, "%s@%s pid %d%s%s", user, host, (int)pid, *cmd ? ": " : "", cmd);
}

void cli_lease_want(const cli_lease_opts *o, const bf_client_config *cfg, const char *holder, bf_lease_want *w)
{
    memset(w, 0, sizeof *w);
    w->num_gpus = o->n;
    w->fraction = o->fraction;
    w->bytes = (uint64_t)o->mib << 20;
    w->server_list = o->server_list;
    memcpy(w->filters, o->filters, sizeof w->filters);
    w->nfilters = o->nfilters;
    w->wait_s = o->timeout_s ? o->timeout_s : (cfg->timeout_ms + 999) / 1000;
    w->holder = holder;
    w->prog = "bitfusion";
}

const char *cli_reservation_path(const char *file)
{
    return file ? file : BF_RESERVATION_DEFAULT;
}

int cli_read_reservation(const char *path, bf_reservation *r)
{
    char err[1024];
    if (access(path, F_OK) != 0)
        return cli_error("no reservation file %s; reserve GPUs with 'bitfusion request_gpus -n N' first, or name "
                         "the file with -f", path);
    if (bf_reservation_read(path, r, err, sizeof err) != 0)
        return cli_fail(err);
    return 0;
}

int cli_query_pool(bf_client_config *cfg, const char *list, bf_pool *pool)
{
    char err[1024];
    if (cli_load_config(cfg) != 0)
        return 1;
    if (bf_pool_query(pool, cfg, list, err, sizeof err) != 0)
        return cli_fail(err);
    return 0;
}

int cli_pool_answered(const bf_pool *pool)
{
    int n = 0;
    for (int i = 0; i < pool->n; i++)
        n += pool->s[i].inv != NULL;
    if (n)
        return 0;
    if (!pool->n)
        return cli_error("no servers to ask; list them in servers.conf or give them with -l HOST[:PORT],...");
    return cli_error("no server answered (%d asked); check that bitfusiond runs there, and 'bitfusion health'",
                     pool->n);
}

const char *cli_plural(long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Does the inventory show a partition of lease id? */
static int inventory_has_lease(const Bitfusion__Inventory *inv, const char *id)
{
    for (size_t g = 0; g < inv->n_gpus; g++)
        for (size_t k = 0; k < inv->gpus[g]->n_partitions; k++) {
            const char *p = inv->gpus[g]->partitions[k]->lease; /* the id's first 8 hex digits */
            if (p && *p && !strncmp(id, p, strlen(p)))
                return 1;
        }
    return 0;
}

int cli_lease_listed(const bf_client_config *cfg, const char *server, const char *id)
{
    static bf_pool pool;
    char err[512];
    int rc = -1;
    if (bf_pool_query(&pool, cfg, server, err, sizeof err) == 0 && pool.n == 1 && pool.s[0].inv)
        rc = inventory_has_lease(pool.s[0].inv, id);
    bf_pool_free(&pool);
    return rc;
}

uint64_t cli_mib(uint64_t bytes)
{
    return bytes >> 20;
}

int cli_is_keeper(int pid)
{
    char path[64], buf[4096];
    if (pid <= 1)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* argv[0] ends in "bitfusion", argv[1] is "request_gpus" */
    const char *a0 = buf, *slash = strrchr(a0, '/');
    const char *base = slash ? slash + 1 : a0;
    size_t l0 = strlen(a0);
    if ((size_t)n <= l0 + 1 || strncmp(base, "bitfusion", 9) != 0 || !strncmp(base, "bitfusiond", 10))
        return 0;
    return !strcmp(buf + l0 + 1, "request_gpus");
}
