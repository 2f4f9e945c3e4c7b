/* pool.c: the pool of GPU servers (owner: proto/; see lease_client.h): the servers of servers.conf
 * or of a -l list, each asked for its inventory over a control connection of its own, all at once
 * (one thread per server), so that one slow or dead server costs the client timeout once. */
#include "lease_client.h"

#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ask_job {
    const bf_client_config *cfg;
    bf_pool_server *s;
    pthread_t thread;
    int started;
} ask_job;

static void set_server(bf_pool_server *s, const char *host, int port)
{
    memset(s, 0, sizeof *s);
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = port;
    if (strchr(host, ':'))
        snprintf(s->addr, sizeof s->addr, "[%s]:%d", host, port);
    else
        snprintf(s->addr, sizeof s->addr, "%s:%d", host, port);
}

/* One entry of a -l list ("HOST[:PORT]", blanks around it allowed). */
static int add_listed(bf_pool *p, const char *item, size_t n, char *err, size_t errlen)
{
    char tok[300], host[256];
    int port;
    while (n && isspace((unsigned char)*item))
        item++, n--;
    while (n && isspace((unsigned char)item[n - 1]))
        n--;
    if (n >= sizeof tok) {
        snprintf(err, errlen, "server list: an address is longer than %zu characters", sizeof tok - 1);
        return -1;
    }
    memcpy(tok, item, n);
    tok[n] = 0;
    if (bf_parse_hostport(tok, BF_DEFAULT_PORT, host, sizeof host, &port) != 0) {
        for (char *q = tok; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f)
                *q = '?';
        snprintf(err, errlen, "server list: '%s' is not HOST[:PORT] (e.g. -l 10.0.0.5:56001,gpu2)", tok);
        return -1;
    }
    if (p->n >= BF_MAX_SERVERS) {
        snprintf(err, errlen, "server list: more than %d servers", BF_MAX_SERVERS);
        return -1;
    }
    set_server(&p->s[p->n++], host, port);
    return 0;
}

static int parse_list(bf_pool *p, const char *list, char *err, size_t errlen)
{
    const char *s = list;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (add_listed(p, s, n, err, errlen) != 0)
            return -1;
        if (!comma)
            return 0;
        s = comma + 1;
    }
}

/* Thread body: one server's inventory, or why not (always naming the server). */
static void *ask_one(void *arg)
{
    ask_job *j = arg;
    bf_pool_server *s = j->s;
    char why[sizeof s->error];
    bf_ctl *c = bf_ctl_open(j->cfg, s->host, s->port, j->cfg->timeout_ms, why, sizeof why);
    if (c) {
        s->inv = bf_ctl_inventory(c, why, sizeof why);
        bf_ctl_close(c);
    }
    if (s->inv)
        return NULL;
    size_t k = strstr(why, s->host) ? 0 : (size_t)snprintf(s->error, sizeof s->error, "%s: ", s->addr);
    if (k < sizeof s->error)
        snprintf(s->error + k, sizeof s->error - k, "%s", why);
    return NULL;
}

static void ask_all(bf_pool *p, const bf_client_config *cfg)
{
    ask_job jobs[BF_MAX_SERVERS];
    sigset_t all, old; /* the program's signals are not for these threads */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < p->n; i++) {
        jobs[i] = (ask_job){.cfg = cfg, .s = &p->s[i]};
        jobs[i].started = pthread_create(&jobs[i].thread, NULL, ask_one, &jobs[i]) == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (int i = 0; i < p->n; i++) {
        if (jobs[i].started)
            pthread_join(jobs[i].thread, NULL);
        else
            ask_one(&jobs[i]); /* no thread to be had: ask it here */
    }
}

int bf_pool_query(bf_pool *p, const bf_client_config *cfg, const char *list, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (list) {
        if (parse_list(p, list, err, errlen) != 0) {
            p->n = 0;
            return -1;
        }
    } else {
        for (int i = 0; i < cfg->nservers && i < BF_MAX_SERVERS; i++)
            set_server(&p->s[p->n++], cfg->servers[i].host, cfg->servers[i].port);
    }
    ask_all(p, cfg);
    return 0;
}

void bf_pool_free(bf_pool *p)
{
    for (int i = 0; i < p->n; i++) {
        bf_inventory_free(p->s[i].inv);
        p->s[i].inv = NULL;
    }
}
