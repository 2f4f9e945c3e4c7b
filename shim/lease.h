/* lease.h: which lease and which server this process's CUDA session runs in (owner: shim/lease.c).
 * Design: docs/leasing-design.md ("Client side"). */
#ifndef BF_SHIM_LEASE_H
#define BF_SHIM_LEASE_H
#include <stddef.h>
#include "config.h"

typedef struct bf_target {
    char host[256];
    int port;
    char lease[64];                    /* the lease id the Hello names */
} bf_target;

/* BITFUSION_LEASE=ID@HOST:PORT names the lease; without it, leases on its own from the
 * BITFUSION_* variables (held by a keepalive thread, exported as BITFUSION_LEASE for the
 * processes this one starts, released at exit by this process only). 0, or -1 with one line in
 * err ("what went wrong; what to do", without the "bitfusion: " prefix). Called under the
 * connection lock (conn.c), so at most once at a time. */
int bf_lease_target(const bf_client_config *cfg, bf_target *t, char *err, size_t errlen);

/* In a child forked after leasing: abandons the inherited hold (nothing sent, nothing released);
 * the child attaches to the same lease through BITFUSION_LEASE at its next cuInit. */
void bf_lease_atfork_child(void);
#endif
