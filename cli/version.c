/* version.c: `bitfusion version`. */
#include "cli.h"

#include <stdio.h>

int version_main(int argc, char **argv)
{
    printf("bitfusion %s\n", BF_VERSION);
    return 0;
}
