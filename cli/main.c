/* main.c: `bitfusion SUBCOMMAND ...`: finds the subcommand (wg-style, one file per subcommand) and
 * runs it with argv[0] = its name. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const cli_command CLI_COMMANDS[] = {
    {"run", run_main, "lease GPUs, run CMD with them, release them", RUN_HELP},
    {"request_gpus", request_gpus_main, "lease GPUs and keep them (writes a reservation file)", REQUEST_GPUS_HELP},
    {"client", client_main, "run CMD with the GPUs of a reservation file", CLIENT_HELP},
    {"release_gpus", release_gpus_main, "release the GPUs of a reservation file", RELEASE_GPUS_HELP},
    {"list_gpus", list_gpus_main, "list the servers, their GPUs and partitions", LIST_GPUS_HELP},
    {"smi", smi_main, "nvidia-smi-like tables of the pool's GPUs and processes", SMI_HELP},
    {"health", health_main, "check this client's setup and the servers", HEALTH_HELP},
    {"version", version_main, "print the version", VERSION_HELP},
    {"help", help_main, "list the commands, or show one's options", HELP_HELP},
};
const size_t CLI_NCOMMANDS = sizeof CLI_COMMANDS / sizeof CLI_COMMANDS[0];

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_verror(2, fmt, ap);
    va_end(ap);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help_main(argc, argv);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return help_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "--version"))
        return version_main(1, argv + 1);
    for (size_t i = 0; i < CLI_NCOMMANDS; i++)
        if (!strcmp(argv[1], CLI_COMMANDS[i].name))
            return CLI_COMMANDS[i].fn(argc - 1, argv + 1);
    return cli_usage_error("unknown command '%s'; run 'bitfusion help'", argv[1]);
}
