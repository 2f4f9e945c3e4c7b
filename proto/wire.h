/* wire.h: frames over a bf_conn (owner: proto/wire.c). A frame is a 4-byte big-endian length and
 * a packed bitfusion.Frame (bitfusion.proto, compiled by protoc-c into $(B)/gen at build time).
 * Writers share a bf_wire: its mutex keeps one frame's bytes together when several threads send
 * (held only while that frame is written, never across a round trip). One thread reads. */
#ifndef BF_WIRE_H
#define BF_WIRE_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "bf_conn.h"
#include "bitfusion.pb-c.h"

#define BF_PROTOCOL_VERSION 2
#define BF_VERSION_STRING   "0.1.0"
#define BF_MAX_FRAME        (256u << 20)   /* bytes of one packed frame */
#define BF_CHUNK            (32u << 20)    /* transfers larger than this are split by the client */

/* Capabilities (Hello/HelloReply.capabilities bits). */
#define BF_CAP_PIPELINE  0x1u   /* async calls without replies */
#define BF_CAP_HOSTFN    0x2u   /* host functions run on the client */
#define BF_CAP_OUTPUT    0x4u   /* Output frames (kernel printf) */

typedef struct bf_wire {
    bf_conn *conn;
    pthread_mutex_t wlock;
    int broken;                  /* a write failed: every later send fails at once */
} bf_wire;

void bf_wire_init(bf_wire *w, bf_conn *c);
void bf_wire_destroy(bf_wire *w);   /* does not close the conn */
/* Packs and sends one frame. 0, or -1 when the connection is gone. */
int bf_wire_send(bf_wire *w, const Bitfusion__Frame *f);
/* Reads one frame; NULL on end of stream or error (a one-line reason in err). Free it with
 * bf_wire_free. */
Bitfusion__Frame *bf_wire_recv(bf_conn *c, char *err, size_t errlen);
void bf_wire_free(Bitfusion__Frame *f);
#endif
