/* session_control.c: a worker serving a control connection (Hello.purpose = 1): inventory
 * queries, lease requests and releases, which it relays to the parent (server/lease.c), and pings
 * of a lease's holder. A holder silent for its lease's ttl is taken as gone: the worker ends and
 * the parent lets the lease go when nothing else holds it. A connection that holds nothing may
 * stay idle for CONTROL_IDLE_MS. */
#include "session_control.h"
#include "session_ctl.h"

#include <stdio.h>
#include <string.h>

#define CONTROL_IDLE_MS 120000
#define TTL_MIN_MS 1000
#define TTL_MAX_MS 3600000

static int relay(bf_wire *w, const Bitfusion__Frame *req, char *why, size_t len)
{
    Bitfusion__Frame *ans = bf_ctl_call(req, BF_CTL_TIMEOUT_MS);
    if (!ans) {
        snprintf(why, len, "the daemon did not answer a control request");
        return -1;
    }
    int rc = bf_wire_send(w, ans);
    bitfusion__frame__free_unpacked(ans, NULL);
    if (rc != 0)
        snprintf(why, len, "the client went away");
    return rc;
}

static int pong(bf_wire *w, const Bitfusion__Ping *p)
{
    Bitfusion__Ping q = BITFUSION__PING__INIT;
    Bitfusion__Frame f = BITFUSION__FRAME__INIT;
    q.seq = p->seq;
    f.msg_case = BITFUSION__FRAME__MSG_PING;
    f.ping = &q;
    return bf_wire_send(w, &f);
}

long bf_control_run(bf_conn *c, bf_wire *w, char *why, size_t len)
{
    char err[512];
    long n = 0;
    int holding = 0;
    bf_conn_set_timeout(c, CONTROL_IDLE_MS);
    for (;;) {
        Bitfusion__Frame *f = bf_wire_recv(c, err, sizeof err);
        if (!f) {
            snprintf(why, len, "%s%s", holding ? "lease holder: " : "",
                     strstr(err, "connection closed") == err ? "client closed the connection" : err);
            return n;
        }
        int rc = 0;
        n++;
        switch (f->msg_case) {
        case BITFUSION__FRAME__MSG_PING:
            rc = pong(w, f->ping);
            break;
        case BITFUSION__FRAME__MSG_LEASE_REQUEST: {
            uint32_t ttl = f->lease_request->ttl_ms;
            int hold = f->lease_request->hold;
            rc = relay(w, f, why, len);
            if (rc == 0 && hold && !holding) {
                holding = 1;          /* (a refused request leaves nothing held: the ttl is harmless) */
                bf_conn_set_timeout(c, ttl < TTL_MIN_MS ? TTL_MIN_MS : ttl > TTL_MAX_MS ? TTL_MAX_MS : (int)ttl);
            }
            break;
        }
        case BITFUSION__FRAME__MSG_LEASE_RELEASE:
        case BITFUSION__FRAME__MSG_INVENTORY_REQUEST:
            rc = relay(w, f, why, len);
            break;
        default:
            snprintf(why, len, "the client sent a message that is not a control request (%d)", (int)f->msg_case);
            rc = -1;
            break;
        }
        bitfusion__frame__free_unpacked(f, NULL);
        if (rc != 0)
            return n;
    }
}
