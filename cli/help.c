/* help.c: `bitfusion help [COMMAND]`: the commands, or one command's usage and every option (the
 * same text as `bitfusion COMMAND --help`). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char HELP_HELP[] = "usage: bitfusion help [COMMAND | all]\n"
                         "Lists the commands with their options, or shows COMMAND's usage and what every\n"
                         "option does (the same as 'bitfusion COMMAND --help'); 'all': every command's.\n"
                         "  -h, --help    this text\n";

/* The synopsis of a help text (its "usage:" line and the indented lines after it), as
 * "  bitfusion ..." lines. */
static void synopsis(const char *help)
{
    const char *p = help;
    for (int first = 1; *p && (first || *p == ' '); first = 0) {
        size_t n = strcspn(p, "\n");
        if (first && !strncmp(p, "usage: ", 7))
            printf("  %.*s\n", (int)n - 7, p + 7);
        else
            printf("%.*s\n", (int)(n > 5 ? n - 5 : n), n > 5 ? p + 5 : p);
        p += n + (p[n] == '\n');
    }
}

static const char FOOTER[] =
    "'bitfusion COMMAND --help' (or 'bitfusion help COMMAND') says what each option does;\n"
    "'bitfusion help all' shows that for every command.\n"
    "The client configuration is read from $BITFUSION_CONFIG_DIR, else ~/.bitfusion/, else\n"
    "/etc/bitfusion/ (client.yaml, servers.conf, tls/ca.crt, tls/client.crt, tls/client.key);\n"
    "'bitfusiond pki client NAME --pki DIR --out OUTDIR --server HOST:56001' makes one.\n"
    "Example: bitfusion run -n 1 -p 0.5 -- python3 train.py\n";

int help_main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(HELP_HELP, stdout);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "all")) {
        for (size_t i = 0; i < CLI_NCOMMANDS; i++)
            printf("%s%s", i ? "\n" : "", CLI_COMMANDS[i].help);
        return 0;
    }
    if (argc > 1) {
        for (size_t i = 0; i < CLI_NCOMMANDS; i++)
            if (!strcmp(argv[1], CLI_COMMANDS[i].name)) {
                fputs(CLI_COMMANDS[i].help, stdout);
                return 0;
            }
        return cli_usage_error("help: unknown command '%s'; run 'bitfusion help' for the list", argv[1]);
    }
    fputs("usage: bitfusion COMMAND [OPTIONS] [-- CMD [ARGS...]]\n", stdout);
    for (size_t i = 0; i < CLI_NCOMMANDS; i++) {
        synopsis(CLI_COMMANDS[i].help);
        printf("      %s\n", CLI_COMMANDS[i].summary);
    }
    fputs(FOOTER, stdout);
    return 0;
}
