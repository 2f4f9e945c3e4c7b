/* session_ctl.h: parent <-> worker messages of bitfusiond (server/session_ctl.c). */
#ifndef BF_SESSION_CTL_H
#define BF_SESSION_CTL_H
#include "bitfusion.pb-c.h"

#define BF_CTL_MAX (1u << 20)        /* one message */
#define BF_CTL_TIMEOUT_MS 10000      /* the parent answers at once; this is a safety net */

/* The worker's end (-1 in processes that have no parent daemon, e.g. the test server). */
extern int bf_ctl_fd;

/* One frame per message. 0 / -1. */
int bf_ctl_send(int fd, const Bitfusion__Frame *f);
/* NULL on timeout, end or a malformed message. Free with bitfusion__frame__free_unpacked(f, NULL). */
Bitfusion__Frame *bf_ctl_recv(int fd, int timeout_ms);
/* Worker: sends req to the parent and waits for its answer. */
Bitfusion__Frame *bf_ctl_call(const Bitfusion__Frame *req, int timeout_ms);
#endif
