/* version.c: `bitfusion version`. */
#include "cli.h"

#include <stdio.h>

const char VERSION_HELP[] = "usage: bitfusion version\n"
                            "Prints the version of this bitfusion command.\n"
                            "  -h, --help    this text\n";

int version_main(int argc, char **argv)
{
    if (argc > 1 && cli_parse("version", VERSION_HELP, argc, argv, NULL, NULL, CLI_NO_CMD, NULL) != 0)
        return 2;
    printf("bitfusion %s\n", BF_VERSION);
    return 0;
}
