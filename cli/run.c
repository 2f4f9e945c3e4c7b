/* run.c: `bitfusion run -n N [-p FRACTION | -m MiB] [--filter EXPR]... [-l HOST[:PORT],...]
 * [--timeout SECONDS] -- CMD [ARGS...]`: reads the client configuration, leases N GPUs (waiting up
 * to --timeout, default client.yaml's timeout, for room), holds the lease (a keepalive thread pings
 * the server), runs CMD inside it with the client library in place (cli/exec.c), releases the lease
 * when CMD exits and exits with CMD's status (128+N when a signal N killed it). */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char RUN_HELP[] =
    "usage: bitfusion run -n N [-p FRACTION | -m MiB] [--filter EXPR]... [-l HOST[:PORT],...]\n"
    "                     [--timeout SECONDS] -- CMD [ARGS...]\n"
    "Leases N GPUs of one bitfusiond server, runs CMD with the client library in place, releases the\n"
    "GPUs when CMD exits, and exits with CMD's status (128+N when signal N killed it).\n"
    CLI_LEASE_OPTIONS_HELP
    "  -h, --help                this text\n"
    "CMD gets BITFUSION_LEASE (the lease), BITFUSION_SERVER, BITFUSION_CONFIG_DIR, and the client\n"
    "library first in LD_PRELOAD and LD_LIBRARY_PATH. Signals sent to bitfusion are passed on to CMD.\n"
    "Example: bitfusion run -n 1 -p 0.5 -- python3 train.py\n";

int run_main(int argc, char **argv)
{
    static cli_lease_opts o;
    static bf_client_config cfg;
    static bf_lease lease;
    char **cmd = NULL, err[2048], holder[256], lease_env[512], dir[4096], lib[4200];
    bf_lease_want want;

    if (cli_parse("run", RUN_HELP, argc, argv, cli_lease_opt, &o, CLI_CMD_REQUIRED, &cmd) != 0 ||
        cli_lease_opts_check("run", &o) != 0)
        return 2;
    if (cli_load_config(&cfg) != 0)
        return 1;
    if (cli_client_lib(dir, sizeof dir, lib, sizeof lib) != 0)
        return cli_error("the client library %s is missing; build it with 'make' or reinstall bitfusion", lib);

    cli_holder(holder, sizeof holder, getpid(), cmd);
    cli_lease_want(&o, &cfg, holder, &want);
    if (bf_lease_acquire(&cfg, &want, &lease, err, sizeof err) != 0)
        return cli_fail(err);
    if (bf_lease_keepalive_start(&lease) != 0) {
        bf_lease_release(&cfg, &lease, err, sizeof err);
        return cli_error("cannot start the thread that keeps the lease on %s; try again", lease.addr);
    }
    bf_lease_env_format(&lease, lease_env, sizeof lease_env);
    cli_exec x = {.cfg = &cfg, .lease_env = lease_env, .server = lease.addr};
    int status = cli_exec_in_lease(&x, cmd);
    if (bf_lease_release(&cfg, &lease, err, sizeof err) != 0)
        cli_fail(err); /* the lease ends anyway: its hold connection is closed */
    return status < 0 ? 1 : status;
}
