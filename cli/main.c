/* main.c: `bitfusion SUBCOMMAND ...`: finds the subcommand (wg-style, one file per subcommand) and
 * runs it. Subcommands the product interface lists but this version lacks say so in one line. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
} subcommand;

static const subcommand COMMANDS[] = {
    {"run", run_main}, {"version", version_main}, {"help", help_main}, {"--help", help_main},
    {"-h", help_main}, {"--version", version_main},
};

static const char *const LATER[] = {"request_gpus", "release_gpus", "client", "list_gpus", "smi", "health"};

int cli_usage_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "bitfusion: %s\n", msg);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help_main(argc, argv);
        return 2;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name))
            return COMMANDS[i].fn(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof LATER / sizeof LATER[0]; i++)
        if (!strcmp(argv[1], LATER[i]))
            return cli_usage_error("'%s' is not available in this version yet; 'bitfusion run -n 1 -- CMD' is",
                                   argv[1]);
    return cli_usage_error("unknown command '%s'; run 'bitfusion help'", argv[1]);
}
