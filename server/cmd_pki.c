/* cmd_pki.c: `bitfusiond pki init DIR [--server-name NAME]...` and `bitfusiond pki client NAME
 * --pki DIR --out OUTDIR [--server HOST:PORT]... [--days N]`; the work is in proto/pki.c. */
#include "server.h"
#include "pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 64

static const char USAGE[] =
    "usage: bitfusiond pki init DIR [--server-name NAME]...\n"
    "       bitfusiond pki client NAME --pki DIR --out OUTDIR [--server HOST:PORT]... [--days N]\n";

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "bitfusiond pki: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "; run 'bitfusiond pki --help'\n");
    return 2;
}

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]; advances *i. NULL when argv[*i] is not opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int pki_init(int argc, char **argv)
{
    const char *dir = NULL, *names[MAX_NAMES];
    int n = 0, missing = 0;
    char err[1024];
    for (int i = 1; i < argc; i++) {
        const char *v = opt_value(argc, argv, &i, "--server-name", &missing);
        if (missing)
            return bad("%s needs a value", argv[i]);
        if (v && n < MAX_NAMES)
            names[n++] = v;
        else if (!v && argv[i][0] != '-' && !dir)
            dir = argv[i];
        else if (!v)
            return bad("unexpected argument '%s'", argv[i]);
    }
    if (!dir)
        return bad("%s", "pki init needs a directory (e.g. bitfusiond pki init /etc/bitfusion)");
    if (bf_pki_init(dir, names, n, err, sizeof err) != 0) {
        fprintf(stderr, "bitfusiond pki init: %s\n", err);
        return 1;
    }
    printf("made the cluster CA (%s/ca.crt, ca.key), the server certificate (server.crt, server.key)\n"
           "and %s/bitfusiond.yaml. Next:\n"
           "  start the server:  bitfusiond --config %s/bitfusiond.yaml\n"
           "  make a client:     bitfusiond pki client NAME --pki %s --out NAME-bundle --server HOST:56001\n"
           "Keep ca.key secret: whoever has it can make client certificates.\n",
           dir, dir, dir, dir);
    return 0;
}

static int pki_client(int argc, char **argv)
{
    const char *name = NULL, *pki = NULL, *out = NULL, *servers[MAX_NAMES], *v;
    int n = 0, days = 365, missing = 0;
    char err[1024], host[256];
    for (int i = 1; i < argc; i++) {
        int port;
        if ((v = opt_value(argc, argv, &i, "--pki", &missing)))
            pki = v;
        else if ((v = opt_value(argc, argv, &i, "--out", &missing)))
            out = v;
        else if ((v = opt_value(argc, argv, &i, "--server", &missing))) {
            if (bf_parse_hostport(v, BF_DEFAULT_PORT, host, sizeof host, &port) != 0)
                return bad("--server '%s' is not HOST or HOST:PORT", v);
            if (n < MAX_NAMES)
                servers[n++] = v;
        } else if ((v = opt_value(argc, argv, &i, "--days", &missing)) ||
                   (v = opt_value(argc, argv, &i, "--not-after-days", &missing))) {
            char *end;
            days = (int)strtol(v, &end, 10);
            if (*end || !*v)
                return bad("--days '%s' is not a whole number", v);
        } else if (missing)
            return bad("%s needs a value", argv[i]);
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else
            return bad("unexpected argument '%s'", argv[i]);
    }
    if (missing)
        return bad("%s", "an option needs a value");
    if (!name || !pki || !out)
        return bad("%s", "pki client needs NAME, --pki DIR and --out OUTDIR");
    if (bf_pki_client(name, pki, out, servers, n, days, err, sizeof err) != 0) {
        fprintf(stderr, "bitfusiond pki client: %s\n", err);
        return 1;
    }
    printf("made a client bundle for '%s' in %s; copy it to the client's ~/.bitfusion (or point "
           "BITFUSION_CONFIG_DIR at it)\n", name, out);
    return 0;
}

int bf_cmd_pki(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "init"))
        return pki_init(argc - 1, argv + 1);
    if (!strcmp(argv[1], "client"))
        return pki_client(argc - 1, argv + 1);
    return bad("unknown command 'pki %s' (known: init, client)", argv[1]);
}
