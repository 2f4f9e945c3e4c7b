/* cli.h: the `bitfusion` command's subcommands, one file each (cli/run.c, cli/version.c,
 * cli/help.c); cli/main.c dispatches. Each returns the process exit status. */
#ifndef BF_CLI_H
#define BF_CLI_H

#ifndef BF_VERSION
#define BF_VERSION "0.0.0"
#endif

int run_main(int argc, char **argv);
int version_main(int argc, char **argv);
int help_main(int argc, char **argv);
/* One line "bitfusion: ..." on stderr; returns 2 (a usage error) for the caller to return. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
