/* wire.c: length-prefixed protobuf-c frames over a bf_conn (see wire.h). Owner: proto/. */
#include "wire.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bf_wire_init(bf_wire *w, bf_conn *c)
{
    w->conn = c;
    w->broken = 0;
    pthread_mutex_init(&w->wlock, NULL);
}

void bf_wire_destroy(bf_wire *w)
{
    pthread_mutex_destroy(&w->wlock);
}

int bf_wire_send(bf_wire *w, const Bitfusion__Frame *f)
{
    size_t n = bitfusion__frame__get_packed_size(f);
    uint8_t *buf;
    int rc;
    if (n > BF_MAX_FRAME) return -1;
    buf = malloc(n + 4);
    if (!buf) return -1;
    buf[0] = (uint8_t)(n >> 24); buf[1] = (uint8_t)(n >> 16);
    buf[2] = (uint8_t)(n >> 8);  buf[3] = (uint8_t)n;
    bitfusion__frame__pack(f, buf + 4);
    pthread_mutex_lock(&w->wlock);
    rc = w->broken ? -1 : bf_conn_write_all(w->conn, buf, n + 4);
    if (rc != 0) w->broken = 1;
    pthread_mutex_unlock(&w->wlock);
    free(buf);
    return rc;
}

Bitfusion__Frame *bf_wire_recv(bf_conn *c, char *err, size_t errlen)
{
    uint8_t hdr[4];
    uint8_t *buf;
    size_t n;
    Bitfusion__Frame *f;
    if (bf_conn_read_all(c, hdr, 4) != 0) {
        snprintf(err, errlen, "connection closed: %s", bf_conn_error(c));
        return NULL;
    }
    n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    if (n > BF_MAX_FRAME) {
        snprintf(err, errlen, "frame of %zu bytes exceeds the %u-byte limit", n, BF_MAX_FRAME);
        return NULL;
    }
    buf = malloc(n ? n : 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory for a %zu-byte frame", n);
        return NULL;
    }
    if (bf_conn_read_all(c, buf, n) != 0) {
        snprintf(err, errlen, "connection closed mid-frame: %s", bf_conn_error(c));
        free(buf);
        return NULL;
    }
    f = bitfusion__frame__unpack(NULL, n, buf);
    free(buf);
    if (!f) snprintf(err, errlen, "malformed frame (%zu bytes)", n);
    return f;
}

void bf_wire_free(Bitfusion__Frame *f)
{
    if (f) bitfusion__frame__free_unpacked(f, NULL);
}
