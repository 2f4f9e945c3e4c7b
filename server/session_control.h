/* session_control.h: a worker's control connection (server/session_control.c). */
#ifndef BF_SESSION_CONTROL_H
#define BF_SESSION_CONTROL_H
#include <stddef.h>
#include "wire.h"

/* Serves control requests until the client goes (or a holder is silent past its ttl). Returns the
 * number of requests served; why gets one line saying how it ended. */
long bf_control_run(bf_conn *c, bf_wire *w, char *why, size_t len);
#endif
