/* cli.h: the `bitfusion` command. wg-style: each subcommand is its own file with a `<cmd>_main`
 * (cli/run.c, request_gpus.c, client.c, release_gpus.c, list_gpus.c, smi.c, health.c, version.c,
 * help.c); cli/main.c dispatches. Shared pieces: option parsing (cli/opts.c), running a command
 * inside a lease with the client library in place (cli/exec.c), and the configuration, error and
 * reservation helpers (cli/util.c). Each `<cmd>_main` returns the process exit status: 0, 1 for a
 * failure, 2 for a usage error; every failure is one line "bitfusion: what went wrong; what to do"
 * on stderr. */
#ifndef BF_CLI_H
#define BF_CLI_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "lease_client.h"

#ifndef BF_VERSION
#define BF_VERSION "0.0.0"
#endif

/* ---- subcommands ----------------------------------------------------------------------------- */
typedef struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;          /* one line for `bitfusion help` */
    const char *help;             /* `bitfusion CMD --help`: usage and every option */
} cli_command;

int run_main(int argc, char **argv);
int request_gpus_main(int argc, char **argv);
int client_main(int argc, char **argv);
int release_gpus_main(int argc, char **argv);
int list_gpus_main(int argc, char **argv);
int smi_main(int argc, char **argv);
int health_main(int argc, char **argv);
int version_main(int argc, char **argv);
int help_main(int argc, char **argv);

extern const char RUN_HELP[], REQUEST_GPUS_HELP[], CLIENT_HELP[], RELEASE_GPUS_HELP[], LIST_GPUS_HELP[],
    SMI_HELP[], HEALTH_HELP[], VERSION_HELP[], HELP_HELP[];
/* The subcommands in the order `bitfusion help` lists them (cli/main.c). */
extern const cli_command CLI_COMMANDS[];
extern const size_t CLI_NCOMMANDS;

/* ---- errors (cli/main.c, cli/util.c) ------------------------------------------------------------- */
/* One line "bitfusion: ..." on stderr; returns 2 (a usage error) for the caller to return. */
/* The --help lines of the options that say what to lease (run, request_gpus). */
#define CLI_LEASE_OPTIONS_HELP \
    "  -n, --num_gpus N          number of GPUs, 1 to 16 (required)\n" \
    "  -p, --partial FRACTION    a partition of FRACTION of each GPU's memory, 0 < FRACTION <= 1\n" \
    "  -m, --memory MiB          a partition of MiB of each GPU's memory (not with -p);\n" \
    "                            without -p and -m: whole GPUs\n" \
    "      --filter EXPR         only servers and GPUs for which EXPR holds (repeatable, all must\n" \
    "                            hold): 'KEY OP VALUE', OP one of = == != < <= > >=, KEY one of\n" \
    "                            server.addr, server.hostname, server.cuda-version,\n" \
    "                            server.driver-version, device.id, device.name, device.phy-memory (MiB)\n" \
    "  -l, --server_list LIST    ask these servers (HOST[:PORT],...) instead of servers.conf's\n" \
    "      --timeout SECONDS     wait up to SECONDS for GPUs to become free (default: client.yaml's\n" \
    "                            timeout)\n"

int cli_verror(int status, const char *fmt, va_list ap);
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line "bitfusion: ..." on stderr; returns 1. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a one-line error from proto/ ("bitfusion: " added unless it is there already); returns 1. */
int cli_fail(const char *err);

/* ---- options (cli/opts.c) ----------------------------------------------------------------------- */
/* "-x V", "-xV", "--long V", "--long=V". NULL when argv[*i] is not this option (or, with *missing
 * set, when it is but its value is missing). */
const char *cli_opt(int argc, char **argv, int *i, const char *shrt, const char *lng, int *missing);
int cli_to_int(const char *s, int lo, int hi, int *out);
/* A handler for one subcommand's own options: 1 = argv[*i] was one of them (consumed, *i at its
 * last word), 0 = not one of them, -1 = usage error already printed. */
typedef int (*cli_opt_fn)(void *ctx, const char *cmd, int argc, char **argv, int *i, int *missing);
enum { CLI_NO_CMD, CLI_CMD_REQUIRED };
/* Parses argv[1..] (argv[0] is the subcommand's name): options through fn until "--" or the first
 * word that is not an option; -h/--help prints help and exits 0. With CLI_CMD_REQUIRED the rest
 * is the command to run (*rest); with CLI_NO_CMD any other word is a usage error. 0, or 2 after
 * a usage error line. */
int cli_parse(const char *cmd, const char *help, int argc, char **argv, cli_opt_fn fn, void *ctx, int want,
              char ***rest);

/* The lease options of run and request_gpus. */
typedef struct cli_lease_opts {
    int n;                             /* -n, --num_gpus */
    double fraction;                   /* -p, --partial */
    int mib;                           /* -m, --memory */
    const char *server_list;           /* -l, --server_list */
    bf_filter filters[BF_MAX_FILTERS]; /* --filter */
    int nfilters;
    int timeout_s;                     /* --timeout; 0: client.yaml's */
    const char *file;                  /* -f, --file (request_gpus) */
} cli_lease_opts;
/* cli_opt_fn for cli_lease_opts (ctx): -n -p -m --filter -l --timeout; the second also -f. */
int cli_lease_opt(void *ctx, const char *cmd, int argc, char **argv, int *i, int *missing);
int cli_lease_file_opt(void *ctx, const char *cmd, int argc, char **argv, int *i, int *missing);
/* -n given, -p/-m not both: 0 or 2 after a usage line. */
int cli_lease_opts_check(const char *cmd, const cli_lease_opts *o);
/* -l/--server_list for commands that only take that (ctx: const char **). */
int cli_server_list_opt(void *ctx, const char *cmd, int argc, char **argv, int *i, int *missing);
/* -f/--file (ctx: const char **). */
int cli_file_opt(void *ctx, const char *cmd, int argc, char **argv, int *i, int *missing);
/* A -l value: every comma-separated item HOST[:PORT]. 0 or 2 after a usage line. */
int cli_check_server_list(const char *cmd, const char *list);

/* ---- shared helpers (cli/util.c) ---------------------------------------------------------------- */
/* Loads the client configuration and checks its TLS files; 0 or 1 after an error line. */
int cli_load_config(bf_client_config *cfg);
/* "user@host pid N: WHAT", WHAT cut to a short length. */
void cli_holder(char *out, size_t len, pid_t pid, char **what_argv);
/* The lease request of the options. */
void cli_lease_want(const cli_lease_opts *o, const bf_client_config *cfg, const char *holder, bf_lease_want *w);
/* Is pid a bitfusion request_gpus keeper (its /proc cmdline)? */
int cli_is_keeper(int pid);
/* The reservation file path (default BF_RESERVATION_DEFAULT). */
const char *cli_reservation_path(const char *file);
/* Reads a reservation file: 0, or 1 after an error line (bf_reservation_read's as it is). */
int cli_read_reservation(const char *path, bf_reservation *r);
/* Loads the configuration and asks the servers (list: -l, or NULL for servers.conf's): 0, or 1
 * after an error line. Free with bf_pool_free. */
int cli_query_pool(bf_client_config *cfg, const char *list, bf_pool *pool);
/* 0 when at least one server answered, else 1 after an error line. */
int cli_pool_answered(const bf_pool *pool);
const char *cli_plural(long n, const char *one, const char *many);
/* Does server ("host:port") still list lease id in its inventory? 1 yes, 0 no, -1 it could not
 * be asked. */
int cli_lease_listed(const bf_client_config *cfg, const char *server, const char *id);
/* bytes in whole MiB. */
uint64_t cli_mib(uint64_t bytes);

/* ---- running a command inside a lease (cli/exec.c) ---------------------------------------------- */
/* The client library (<exe dir>/../lib/bitfusion/client/libcuda.so.1) and its directory.
 * 0, or -1 with lib set to the path looked for. */
int cli_client_lib(char *dir, size_t dirlen, char *lib, size_t liblen);
typedef struct cli_exec {
    const bf_client_config *cfg;
    const char *lease_env;             /* BITFUSION_LEASE */
    const char *server;                /* BITFUSION_SERVER: "host:port" of the lease */
} cli_exec;
/* Sets the environment (LD_PRELOAD, LD_LIBRARY_PATH, BITFUSION_LEASE, BITFUSION_SERVER,
 * BITFUSION_CONFIG_DIR), runs cmd, passes SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to
 * bitfusion on to it and returns its exit status (128+N when signal N killed it; 126/127 when it
 * could not run, after one line). Returns -1 (after one line) when the client library is missing. */
int cli_exec_in_lease(const cli_exec *x, char **cmd);
#endif
