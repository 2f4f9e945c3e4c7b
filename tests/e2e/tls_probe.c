/* tls_probe.c: a tiny client of the bf_conn transport for the security tests (tests/e2e/).
 *   tls_probe connect HOST PORT CA CERT KEY [TIMEOUT_MS]   connect, send a few bytes, close
 *                                                          (CERT and KEY '-': no client certificate)
 *   tls_probe config                                       the same with the client configuration
 *                                                          ($BITFUSION_CONFIG_DIR, ...), first server
 *   tls_probe echo SCA SCERT SKEY CCA CCERT CKEY           in-process: a TLS echo server on loopback
 *        with a reader and a writer thread per side moving 32 MiB both ways at once, then
 *        bf_conn_close waking a blocked reader
 * Prints "ok peer=CN" on success; on failure one line "tls_probe: ..." on stderr and exit 1. */
#include "bf_conn.h"
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_BYTES (32u << 20)

static int die(const char *msg)
{
    fprintf(stderr, "tls_probe: %s\n", msg);
    return 1;
}

static int connect_and_talk(const char *host, int port, const bf_tls_files *f, int timeout_ms)
{
    char err[512];
    bf_conn *c = bf_tls_connect(host, port, f, timeout_ms, err, sizeof err);
    if (!c)
        return die(err);
    printf("ok peer=%s\n", bf_conn_peer_name(c));
    fflush(stdout);
    if (bf_conn_write_all(c, "probe", 5) != 0)
        return die(bf_conn_error(c));
    bf_conn_close(c);
    return 0;
}

static int cmd_config(void)
{
    static bf_client_config cfg;
    char err[1024];
    if (bf_client_config_load(&cfg, err, sizeof err) != 0 || bf_client_config_check_files(&cfg, err, sizeof err))
        return die(err);
    bf_tls_files f = {cfg.ca, cfg.cert, cfg.key};
    return connect_and_talk(cfg.servers[0].host, cfg.servers[0].port, &f, cfg.timeout_ms);
}

/* ---- echo self-test -------------------------------------------------------------------------- */
typedef struct side {
    bf_conn *c;
    int fail;
    int check;      /* reader: verify the pattern */
    int echo;       /* server: write back what was read */
    size_t n;
    uint8_t *buf;
} side;

static uint8_t pat(size_t i)
{
    return (uint8_t)(i * 2654435761u >> 13);
}

static void *writer(void *arg)
{
    side *s = arg;
    size_t off = 0, step = 1;
    uint8_t *b = malloc(65536);
    while (off < s->n) {
        size_t k = step < s->n - off ? step : s->n - off;
        for (size_t i = 0; i < k; i++)
            b[i] = pat(off + i);
        if (bf_conn_write_all(s->c, b, k) != 0) {
            s->fail = 1;
            break;
        }
        off += k;
        step = step * 3 % 65536 + 1;
    }
    free(b);
    return NULL;
}

static void *reader(void *arg)
{
    side *s = arg;
    size_t off = 0, step = 7;
    uint8_t *b = malloc(65536);
    while (off < s->n) {
        size_t k = step < s->n - off ? step : s->n - off;
        if (bf_conn_read_all(s->c, b, k) != 0) {
            s->fail = 1;
            break;
        }
        for (size_t i = 0; s->check && i < k; i++)
            if (b[i] != pat(off + i)) {
                s->fail = 2;
                break;
            }
        if (s->echo && bf_conn_write_all(s->c, b, k) != 0)
            s->fail = 1;
        if (s->fail)
            break;
        off += k;
        step = step * 5 % 65536 + 1;
    }
    free(b);
    return NULL;
}

typedef struct srv {
    int lfd;
    bf_tls_files f;
    bf_conn *c;
    char err[512];
} srv;

static void *server_accept(void *arg)
{
    srv *s = arg;
    bf_tls_server *ts = bf_tls_server_new(&s->f, s->err, sizeof s->err);
    int fd = ts ? accept(s->lfd, NULL, NULL) : -1;
    if (fd >= 0)
        s->c = bf_tls_accept(ts, fd, 5000, s->err, sizeof s->err);
    bf_tls_server_free(ts);
    return NULL;
}

static void *blocked_read(void *arg)
{
    char b;
    *(int *)((void **)arg)[1] = bf_conn_read_all(((void **)arg)[0], &b, 1);
    return NULL;
}

static int cmd_echo(char **a)
{
    srv s = {.f = {a[0], a[1], a[2]}};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    s.lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(s.lfd, (struct sockaddr *)&sa, sl) || listen(s.lfd, 1) || getsockname(s.lfd, (struct sockaddr *)&sa, &sl))
        return die("cannot listen on loopback");
    pthread_t st;
    pthread_create(&st, NULL, server_accept, &s);
    char err[512];
    bf_tls_files cf = {a[3], a[4], a[5]};
    bf_conn *c = bf_tls_connect("127.0.0.1", ntohs(sa.sin_port), &cf, 5000, err, sizeof err);
    pthread_join(st, NULL);
    if (!c || !s.c)
        return die(!c ? err : s.err);
    /* server: one thread reads and echoes; client: a writer and a checking reader at once */
    side se = {.c = s.c, .echo = 1, .n = ECHO_BYTES}, cw = {.c = c, .n = ECHO_BYTES},
         cr = {.c = c, .check = 1, .n = ECHO_BYTES};
    pthread_t t1, t2, t3;
    pthread_create(&t1, NULL, reader, &se);
    pthread_create(&t2, NULL, writer, &cw);
    pthread_create(&t3, NULL, reader, &cr);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_join(t3, NULL);
    if (se.fail || cw.fail || cr.fail)
        return die(cr.fail == 2 ? "echoed bytes differ" : "echo transfer failed");
    /* close wakes a reader blocked in another thread */
    int rc = 0;
    void *args[2] = {s.c, &rc};
    pthread_t t4;
    pthread_create(&t4, NULL, blocked_read, args);
    usleep(200000);
    bf_conn_close(s.c);
    pthread_join(t4, NULL);
    if (rc != -1)
        return die("a blocked reader was not woken by bf_conn_close");
    char b;
    if (bf_conn_read_all(c, &b, 1) != -1)
        return die("the client did not see the server close");
    printf("ok echo %u bytes both ways; close woke the reader; client saw: %s\n", ECHO_BYTES, bf_conn_error(c));
    bf_conn_close(c);
    close(s.lfd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 7 && !strcmp(argv[1], "connect")) {
        bf_tls_files f = {argv[4], strcmp(argv[5], "-") ? argv[5] : NULL, strcmp(argv[6], "-") ? argv[6] : NULL};
        return connect_and_talk(argv[2], atoi(argv[3]), &f, argc > 7 ? atoi(argv[7]) : 5000);
    }
    if (argc == 2 && !strcmp(argv[1], "config"))
        return cmd_config();
    if (argc == 8 && !strcmp(argv[1], "echo"))
        return cmd_echo(argv + 2);
    return die("usage: tls_probe connect HOST PORT CA CERT KEY [TIMEOUT_MS] | config | echo SCA SCERT SKEY CCA CCERT CKEY");
}
