/* lease_client.h: the client side of leases (owner: proto/lease_client.c, proto/pool.c,
 * proto/filter.c; reservation files in proto/config.c), shared by the `bitfusion` command (cli/) and the client
 * library (shim/). Design: docs/leasing-design.md. Every function that fails writes one line to
 * err saying what went wrong and what to do; none prints anything except bf_lease_acquire's one
 * "waiting" line. */
#ifndef BF_LEASE_CLIENT_H
#define BF_LEASE_CLIENT_H
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "bf_conn.h"
#include "bitfusion.pb-c.h"

#define BF_MAX_FILTERS 16
#define BF_LEASE_MAX_GPUS 16

/* ---- filters (proto/filter.c) ------------------------------------------------------------------ */
typedef enum { BF_OP_EQ, BF_OP_NE, BF_OP_LT, BF_OP_LE, BF_OP_GT, BF_OP_GE } bf_filter_op;
typedef struct bf_filter {
    char key[32];              /* server.addr, server.hostname, server.cuda-version,
                                  server.driver-version, device.id, device.name, device.phy-memory */
    bf_filter_op op;
    char value[256];
} bf_filter;
/* Parses "KEY OP VALUE" (spaces around OP optional; VALUE may be quoted). -1 + err naming the
 * problem and the known keys/operators. */
int bf_filter_parse(const char *expr, bf_filter *out, char *err, size_t errlen);
/* Does the server (addr "host:port" as listed, its inventory) pass every server.* filter? */
int bf_filter_server_ok(const bf_filter *f, int nf, const char *addr, const Bitfusion__Inventory *inv);
/* Does GPU g pass every device.* filter? */
int bf_filter_gpu_ok(const bf_filter *f, int nf, const Bitfusion__Gpu *g);

/* ---- one server (proto/lease_client.c) ---------------------------------------------------------- */
typedef struct bf_ctl bf_ctl;          /* a control connection to one server */
/* TLS connect + Hello{purpose: control}. NULL + err. */
bf_ctl *bf_ctl_open(const bf_client_config *cfg, const char *host, int port, int timeout_ms,
                    char *err, size_t errlen);
void bf_ctl_close(bf_ctl *c);
/* Inventory of the server; free with bf_inventory_free. NULL + err. */
Bitfusion__Inventory *bf_ctl_inventory(bf_ctl *c, char *err, size_t errlen);
void bf_inventory_free(Bitfusion__Inventory *inv);
/* LeaseRequest -> LeaseReply (free with bf_lease_reply_free); NULL + err when the connection failed. */
Bitfusion__LeaseReply *bf_ctl_lease(bf_ctl *c, const Bitfusion__LeaseRequest *req, char *err, size_t errlen);
void bf_lease_reply_free(Bitfusion__LeaseReply *r);
/* LeaseRelease. 0, or -1 + err (unknown lease, connection failed). */
int bf_ctl_release(bf_ctl *c, const char *lease_id, char *err, size_t errlen);
/* Ping (answered with the same seq). 0 or -1 + err. */
int bf_ctl_ping(bf_ctl *c, char *err, size_t errlen);

/* ---- the pool (proto/pool.c) -------------------------------------------------------------------- */
typedef struct bf_pool_server {
    char addr[300];                    /* "host:port" as listed ("[v6]:port") */
    char host[256];
    int port;
    Bitfusion__Inventory *inv;         /* NULL when it could not be asked */
    char error[512];                   /* why inv is NULL */
} bf_pool_server;
typedef struct bf_pool {
    int n;
    bf_pool_server s[BF_MAX_SERVERS];
} bf_pool;
/* The servers of cfg (or of `list`, "HOST[:PORT],..." as -l takes it, when not NULL), each asked
 * for its inventory in parallel within cfg->timeout_ms. -1 + err only when list is malformed. */
int bf_pool_query(bf_pool *p, const bf_client_config *cfg, const char *list, char *err, size_t errlen);
void bf_pool_free(bf_pool *p);

/* ---- leasing (proto/lease_client.c) ------------------------------------------------------------- */
typedef struct bf_lease_want {
    int num_gpus;                      /* >= 1 */
    double fraction;                   /* 0 < f <= 1, or 0 */
    uint64_t bytes;                    /* -m MiB << 20, or 0 (with fraction 0: whole GPUs) */
    const char *server_list;           /* -l, or NULL: servers.conf */
    bf_filter filters[BF_MAX_FILTERS];
    int nfilters;
    int wait_s;                        /* how long to wait for room (0: do not wait) */
    const char *holder;                /* shown by list_gpus; NULL: "user@host pid N" */
    const char *prog;                  /* prefix of the waiting line and of errors ("bitfusion") */
} bf_lease_want;

typedef struct bf_lease {
    char id[64];
    char host[256];
    int port;
    char addr[300];                    /* "host:port" */
    int num_gpus;
    uint64_t bytes;                    /* partition per GPU */
    uint32_t devices[BF_LEASE_MAX_GPUS];
    bf_ctl *hold;                      /* the control connection holding the lease */
    int ttl_ms;
} bf_lease;

/* Places and takes a lease held by a new control connection (l->hold): pool query, filters,
 * placement by free memory, waiting up to want->wait_s (one line on stderr, once, saying what it
 * waits for). 0, or -1 + err (one line, e.g. "no server has 1 GPU with 8192 MiB free (2 servers
 * asked); waited 30 s"). */
int bf_lease_acquire(const bf_client_config *cfg, const bf_lease_want *want, bf_lease *l, char *err,
                     size_t errlen);
/* Pings l->hold every ttl/3 on a thread of its own until bf_lease_release or bf_lease_abandon. */
int bf_lease_keepalive_start(bf_lease *l);
/* Releases the lease (on the hold connection, else a new one) and closes the hold. */
int bf_lease_release(const bf_client_config *cfg, bf_lease *l, char *err, size_t errlen);
/* Releases lease `id` at host:port over a new control connection (release_gpus). */
int bf_lease_release_id(const bf_client_config *cfg, const char *host, int port, const char *id,
                        char *err, size_t errlen);
/* Stops the keepalive and closes the hold without releasing (a forked child's copy). */
void bf_lease_abandon(bf_lease *l);
/* BITFUSION_LEASE value: "ID@HOST:PORT" ("ID@[v6]:PORT"); and back. */
void bf_lease_env_format(const bf_lease *l, char *out, size_t len);
int bf_lease_env_parse(const char *s, char *id, size_t idlen, char *host, size_t hostlen, int *port);

/* ---- reservation files (proto/config.c: the YAML walker is shared) ---------------------------------------------------- */
#define BF_RESERVATION_DEFAULT "adaptor.conf"
typedef struct bf_reservation {
    char server[300];                  /* "host:port" */
    char lease[64];
    int num_gpus;
    uint64_t partition_mib;
    int keeper_pid;
} bf_reservation;
/* Written atomically (temp file + rename), mode 0600. */
int bf_reservation_write(const char *path, const bf_reservation *r, char *err, size_t errlen);
/* libyaml; a malformed file: "FILE:LINE: problem". */
int bf_reservation_read(const char *path, bf_reservation *r, char *err, size_t errlen);
int bf_reservation_parse(const char *name, const void *buf, size_t len, bf_reservation *r, char *err,
                         size_t errlen);
#endif
