/* opts.c: option parsing shared by every subcommand: the option forms Bitfusion accepted ("-n 1",
 * "-n1", "--num_gpus 1", "--num_gpus=1"), the parse loop ("--" or the first word that is not an
 * option ends the options), and the lease options of run and request_gpus. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_to_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

const char *cli_opt(int argc, char **argv, int *i, const char *shrt, const char *lng, int *missing)
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

int cli_parse(const char *cmd, const char *help, int argc, char **argv, cli_opt_fn fn, void *ctx, int want,
              char ***rest)
{
    int i, missing = 0;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            exit(0);
        }
        int r = fn ? fn(ctx, cmd, argc, argv, &i, &missing) : 0;
        if (r < 0)
            return 2;
        if (missing)
            return cli_usage_error("%s: %s needs a value; see 'bitfusion %s --help'", cmd, argv[i], cmd);
        if (r == 0)
            return cli_usage_error("%s: unknown option '%s'; see 'bitfusion %s --help'", cmd, argv[i], cmd);
    }
    if (want == CLI_CMD_REQUIRED) {
        if (i >= argc)
            return cli_usage_error("%s: no command to run; give it after '--' (bitfusion %s ... -- CMD [ARGS...])",
                                   cmd, cmd);
        *rest = argv + i;
    } else if (i < argc) {
        return cli_usage_error("%s: unexpected argument '%s'; see 'bitfusion %s --help'", cmd, argv[i], cmd);
    }
    return 0;
}

int cli_check_server_list(const char *cmd, const char *list)
{
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        char item[512], host[256];
        int port;
        if (n >= sizeof item || (snprintf(item, sizeof item, "%.*s", (int)n, p),
                                 bf_parse_hostport(item, BF_DEFAULT_PORT, host, sizeof host, &port) != 0))
            return cli_usage_error("%s: -l '%s': '%.*s' is not HOST[:PORT]; give servers as HOST[:PORT],...", cmd,
                                   list, (int)(n > 200 ? 200 : n), p);
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

int cli_server_list_opt(void *ctx, const char *cmd, int argc, char **argv, int *i, int *missing)
{
    const char *v = cli_opt(argc, argv, i, "-l", "--server_list", missing);
    if (!v)
        return *missing ? 1 : 0;
    if (cli_check_server_list(cmd, v) != 0)
        return -1;
    *(const char **)ctx = v;
    return 1;
}

int cli_file_opt(void *ctx, const char *cmd, int argc, char **argv, int *i, int *missing)
{
    const char *v = cli_opt(argc, argv, i, "-f", "--file", missing);
    if (!v)
        return *missing ? 1 : 0;
    if (!*v)
        return cli_usage_error("%s: -f needs a file name", cmd), -1;
    *(const char **)ctx = v;
    return 1;
}

static int parse_fraction(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || !(v > 0) || v > 1)
        return -1;
    *out = v;
    return 0;
}

int cli_lease_opt(void *ctx, const char *cmd, int argc, char **argv, int *i, int *missing)
{
    cli_lease_opts *o = ctx;
    const char *v;
    if ((v = cli_opt(argc, argv, i, "-n", "--num_gpus", missing))) {
        if (cli_to_int(v, 1, BF_LEASE_MAX_GPUS, &o->n) != 0)
            return cli_usage_error("%s: -n must be a number of GPUs from 1 to %d, not '%s'", cmd, BF_LEASE_MAX_GPUS,
                                   v), -1;
    } else if ((v = cli_opt(argc, argv, i, "-p", "--partial", missing))) {
        if (parse_fraction(v, &o->fraction) != 0)
            return cli_usage_error("%s: -p must be a fraction of a GPU's memory, 0 < F <= 1 (e.g. 0.5), not '%s'",
                                   cmd, v), -1;
    } else if ((v = cli_opt(argc, argv, i, "-m", "--memory", missing))) {
        if (cli_to_int(v, 1, 1 << 30, &o->mib) != 0)
            return cli_usage_error("%s: -m must be the partition size in MiB (e.g. 8192), not '%s'", cmd, v), -1;
    } else if ((v = cli_opt(argc, argv, i, NULL, "--filter", missing))) {
        char err[512];
        if (o->nfilters >= BF_MAX_FILTERS)
            return cli_usage_error("%s: more than %d --filter options; combine them into fewer", cmd,
                                   BF_MAX_FILTERS), -1;
        if (bf_filter_parse(v, &o->filters[o->nfilters], err, sizeof err) != 0)
            return cli_usage_error("%s: --filter '%s': %s", cmd, v, err), -1;
        o->nfilters++;
    } else if ((v = cli_opt(argc, argv, i, "-l", "--server_list", missing))) {
        if (cli_check_server_list(cmd, v) != 0)
            return -1;
        o->server_list = v;
    } else if ((v = cli_opt(argc, argv, i, NULL, "--timeout", missing))) {
        if (cli_to_int(v, 1, 86400, &o->timeout_s) != 0)
            return cli_usage_error("%s: --timeout must be seconds from 1 to 86400, not '%s'", cmd, v), -1;
    } else {
        return *missing ? 1 : 0;
    }
    return 1;
}

int cli_lease_file_opt(void *ctx, const char *cmd, int argc, char **argv, int *i, int *missing)
{
    int r = cli_lease_opt(ctx, cmd, argc, argv, i, missing);
    if (r != 0 || *missing)
        return r;
    return cli_file_opt(&((cli_lease_opts *)ctx)->file, cmd, argc, argv, i, missing);
}

int cli_lease_opts_check(const char *cmd, const cli_lease_opts *o)
{
    if (!o->n)
        return cli_usage_error("%s: say how many GPUs with -n (e.g. bitfusion %s -n 1 %s)", cmd, cmd,
                               strcmp(cmd, "run") ? "-p 0.5" : "-- CMD");
    if (o->fraction > 0 && o->mib > 0)
        return cli_usage_error("%s: -p and -m both give the partition size; use one of them", cmd);
    return 0;
}
