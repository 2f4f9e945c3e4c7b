/* session_stub.c: a weak stand-in for bf_session_run (server/session.c, another component) so the
 * daemon links and its TLS path can be tested before the session layer exists: it reads until the
 * client closes. The real definition, when linked, wins; bf_session_is_stub() tells which. */
#include "server.h"

#include <stdio.h>

static long stub_run(bf_conn *c, const char *backend, const char *emu_lib_path, char *endreason, size_t len)
{
    char b;
    size_t total = 0;
    while (bf_conn_read_all(c, &b, 1) == 0)
        total++;
    snprintf(endreason, len, "client closed the connection (no session layer in this build; %zu bytes read)",
             total);
    return 0;
}

long bf_session_run(bf_conn *c, const char *backend, const char *emu_lib_path, char *endreason, size_t len)
    __attribute__((weak, alias("stub_run")));

int bf_session_is_stub(void)
{
    return (void *)bf_session_run == (void *)stub_run;
}
