/* client.c: `bitfusion client [-f FILE] -- CMD [ARGS...]`: runs CMD inside the lease of a
 * reservation file written by `bitfusion request_gpus` (the same way `bitfusion run` runs it,
 * cli/exec.c) and exits with CMD's status. The lease stays: `bitfusion release_gpus` ends it. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char CLIENT_HELP[] =
    "usage: bitfusion client [-f FILE] -- CMD [ARGS...]\n"
    "Runs CMD with the client library in place inside the GPUs reserved by 'bitfusion request_gpus'\n"
    "and exits with CMD's status (128+N when signal N killed it). The reservation stays until\n"
    "'bitfusion release_gpus'; several commands may run in it, one after another or at once, and\n"
    "share its GPUs and their memory partitions.\n"
    "  -f, --file FILE    the reservation file (default ./" BF_RESERVATION_DEFAULT ")\n"
    "  -h, --help         this text\n"
    "CMD gets BITFUSION_LEASE (the lease), BITFUSION_SERVER, BITFUSION_CONFIG_DIR, and the client\n"
    "library first in LD_PRELOAD and LD_LIBRARY_PATH. Signals sent to bitfusion are passed on to CMD.\n";

int client_main(int argc, char **argv)
{
    static bf_client_config cfg;
    static bf_lease lease;
    const char *file = NULL;
    char **cmd = NULL, lease_env[512];
    bf_reservation r;

    if (cli_parse("client", CLIENT_HELP, argc, argv, cli_file_opt, &file, CLI_CMD_REQUIRED, &cmd) != 0)
        return 2;
    const char *path = cli_reservation_path(file);
    if (cli_read_reservation(path, &r) != 0)
        return 1;
    if (cli_load_config(&cfg) != 0)
        return 1;
    if (cli_lease_listed(&cfg, r.server, r.lease) == 0)
        return cli_error("the reservation in %s has ended (%s no longer has lease %.8s); reserve GPUs again with "
                         "'bitfusion request_gpus', after 'bitfusion release_gpus%s%s' to clean up",
                         path, r.server, r.lease, file ? " -f " : "", file ? file : "");
    /* a bf_lease that only names the lease: for BITFUSION_LEASE */
    if (bf_parse_hostport(r.server, BF_DEFAULT_PORT, lease.host, sizeof lease.host, &lease.port) != 0)
        return cli_error("%s: server '%s' is not HOST:PORT; run 'bitfusion request_gpus' again", path, r.server);
    snprintf(lease.id, sizeof lease.id, "%s", r.lease);
    snprintf(lease.addr, sizeof lease.addr, "%s", r.server);
    lease.num_gpus = r.num_gpus;
    lease.bytes = r.partition_mib << 20;
    bf_lease_env_format(&lease, lease_env, sizeof lease_env);
    cli_exec x = {.cfg = &cfg, .lease_env = lease_env, .server = r.server};
    int status = cli_exec_in_lease(&x, cmd);
    return status < 0 ? 1 : status;
}
