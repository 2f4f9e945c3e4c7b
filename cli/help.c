/* help.c: `bitfusion help`. */
#include "cli.h"

#include <stdio.h>

static const char HELP[] =
    "usage: bitfusion COMMAND [ARGS]\n"
    "  run -n 1 [--timeout SECONDS] [-l HOST[:PORT]] -- CMD [ARGS...]\n"
    "                 run CMD with a GPU of a bitfusiond server; exits with CMD's status\n"
    "  version        print the version\n"
    "  help           this text\n"
    "The client configuration is read from $BITFUSION_CONFIG_DIR, else ~/.bitfusion/, else\n"
    "/etc/bitfusion/ (client.yaml, servers.conf, tls/ca.crt, tls/client.crt, tls/client.key);\n"
    "'bitfusiond pki client NAME --pki DIR --out OUTDIR --server HOST:56001' makes one.\n";

int help_main(int argc, char **argv)
{
    fputs(HELP, stdout);
    return 0;
}
