/* session_ctl.c: what bitfusiond's parent and its workers share (owner: server/): the socket
 * between the parent and each worker, a SOCK_SEQPACKET pair made before the fork (each message is
 * one packed bitfusion.Frame; the worker's end is a global set at fork, bf_ctl_fd; the parent keeps
 * one fd per worker, server/lease.c), and the shared accounting table (lease_shm.h). */
#include "session_ctl.h"
#include "lease_shm.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int bf_ctl_fd = -1;
bf_shm *bf_shm_table;
int bf_shm_worker_slot = -1;

int bf_ctl_send(int fd, const Bitfusion__Frame *f)
{
    size_t n = bitfusion__frame__get_packed_size(f);
    if (n > BF_CTL_MAX)
        return -1;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return -1;
    bitfusion__frame__pack(f, buf);
    ssize_t w;
    do
        w = send(fd, buf, n, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    free(buf);
    return w == (ssize_t)n ? 0 : -1;
}

Bitfusion__Frame *bf_ctl_recv(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r <= 0)
        return NULL;
    uint8_t *buf = malloc(BF_CTL_MAX);
    if (!buf)
        return NULL;
    ssize_t n;
    do
        n = recv(fd, buf, BF_CTL_MAX, 0);
    while (n < 0 && errno == EINTR);
    Bitfusion__Frame *f = n > 0 ? bitfusion__frame__unpack(NULL, (size_t)n, buf) : NULL;
    free(buf);
    return f;
}

Bitfusion__Frame *bf_ctl_call(const Bitfusion__Frame *req, int timeout_ms)
{
    if (bf_ctl_fd < 0 || bf_ctl_send(bf_ctl_fd, req) != 0)
        return NULL;
    return bf_ctl_recv(bf_ctl_fd, timeout_ms);
}
