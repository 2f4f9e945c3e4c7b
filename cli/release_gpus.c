/* release_gpus.c: `bitfusion release_gpus [-f FILE]`: ends the reservation of a reservation file
 * (`bitfusion request_gpus`): releases the lease on its server, stops the keeper process that held
 * it (SIGTERM, when keeper_pid is still a `bitfusion request_gpus` process) and deletes the file.
 * A lease the server no longer knows (it had ended) is cleaned up the same way, with a note. When
 * the server cannot be reached, nothing is touched (exit 1) so that the command can be repeated. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char RELEASE_GPUS_HELP[] =
    "usage: bitfusion release_gpus [-f FILE]\n"
    "Releases the GPUs reserved by 'bitfusion request_gpus': ends the lease on its server (commands\n"
    "still running in it lose their GPUs), stops the background process that held it, and deletes\n"
    "the reservation file.\n"
    "  -f, --file FILE    the reservation file (default ./" BF_RESERVATION_DEFAULT ")\n"
    "  -h, --help         this text\n"
    "Prints: Released N GPU(s) on HOST:PORT\n";

/* The server's answer for a lease it does not know (it ended already). */
static int unknown_lease(int rc, const char *err)
{
    return rc == -2 || strcasestr(err, "unknown lease") || strcasestr(err, "no such lease") ||
           strcasestr(err, "no lease");
}

static void stop_keeper(int pid)
{
    if (!cli_is_keeper(pid) || kill(pid, SIGTERM) != 0)
        return;
    for (int i = 0; i < 60 && cli_is_keeper(pid); i++) { /* up to 3 s for it to go */
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int release_gpus_main(int argc, char **argv)
{
    static bf_client_config cfg;
    const char *file = NULL;
    char err[1024], host[256];
    int port;
    bf_reservation r;

    if (cli_parse("release_gpus", RELEASE_GPUS_HELP, argc, argv, cli_file_opt, &file, CLI_NO_CMD, NULL) != 0)
        return 2;
    const char *path = cli_reservation_path(file);
    if (cli_read_reservation(path, &r) != 0 || cli_load_config(&cfg) != 0)
        return 1;
    if (bf_parse_hostport(r.server, BF_DEFAULT_PORT, host, sizeof host, &port) != 0)
        return cli_error("%s: server '%s' is not HOST:PORT; fix the file or delete it", path, r.server);
    err[0] = 0;
    int rc = bf_lease_release_id(&cfg, host, port, r.lease, err, sizeof err);
    int gone = rc != 0 && unknown_lease(rc, err);
    if (rc != 0 && !gone)
        return cli_error("%s; the reservation stays in %s: run 'bitfusion release_gpus%s%s' again when %s answers, or "
                         "delete the file if that server is gone for good",
                         err, path, file ? " -f " : "", file ? file : "", r.server);
    if (!gone)                        /* (a keeper whose lease ended goes by itself) */
        stop_keeper(r.keeper_pid);
    if (unlink(path) != 0 && errno != ENOENT)
        return cli_error("released the lease on %s but cannot delete %s: %s; delete it yourself", r.server, path,
                         strerror(errno));
    if (gone)
        printf("Lease %.8s on %s had already ended; removed %s\n", r.lease, r.server, path);
    else
        printf("Released %d GPU(s) on %s\n", r.num_gpus, r.server);
    return 0;
}
