/* filter.c: `--filter KEY OP VALUE` (owner: proto/; see lease_client.h, docs/leasing-design.md):
 * parsing, and matching servers (server.*) and GPUs (device.*) of an inventory. Values that are
 * numbers or dotted versions on both sides compare component by component as numbers; any other
 * pair compares as strings (case-insensitive), with = and != only. */
#include "lease_client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KNOWN_KEYS "server.addr, server.hostname, server.cuda-version, server.driver-version, " \
                   "device.id, device.name, device.phy-memory"
#define KNOWN_OPS "=, ==, !=, <, <=, >, >="
#define MAX_CANDIDATES 3

static const char *const KEYS[] = {"server.addr", "server.hostname", "server.cuda-version",
                                   "server.driver-version", "device.id", "device.name",
                                   "device.phy-memory", NULL};

/* ---- values ----------------------------------------------------------------------------------- */
/* "13", "13.0", "535.104.05": digits in dot-separated groups. */
static int is_version(const char *s)
{
    if (!isdigit((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
            return 0;
    return 1;
}

/* Next dot-separated group of s as a number (0 past the end); advances *s. -1 on overflow. */
static int next_group(const char **s, unsigned long long *v)
{
    *v = 0;
    if (!**s)
        return 0;
    char *end;
    errno = 0;
    *v = strtoull(*s, &end, 10);
    if (errno)
        return -1;
    *s = *end == '.' ? end + 1 : end;
    return 0;
}

/* a vs b as versions: 0 with *cmp = -1/0/1, or -1 when either is not a version. */
static int version_cmp(const char *a, const char *b, int *cmp)
{
    if (!is_version(a) || !is_version(b))
        return -1;
    while (*a || *b) {
        unsigned long long x, y;
        if (next_group(&a, &x) != 0 || next_group(&b, &y) != 0)
            return -1;
        if (x != y) {
            *cmp = x < y ? -1 : 1;
            return 0;
        }
    }
    *cmp = 0;
    return 0;
}

static int op_holds(bf_filter_op op, int cmp)
{
    switch (op) {
    case BF_OP_EQ: return cmp == 0;
    case BF_OP_NE: return cmp != 0;
    case BF_OP_LT: return cmp < 0;
    case BF_OP_LE: return cmp <= 0;
    case BF_OP_GT: return cmp > 0;
    case BF_OP_GE: return cmp >= 0;
    }
    return 0;
}

/* Does `have` (a value of the server or GPU) satisfy the filter? */
static int match_one(const bf_filter *f, const char *have)
{
    int cmp;
    if (!have)
        return 0;
    if (version_cmp(have, f->value, &cmp) == 0)
        return op_holds(f->op, cmp);
    if (f->op != BF_OP_EQ && f->op != BF_OP_NE)
        return 0; /* an ordering on something that is not a number */
    return op_holds(f->op, strcasecmp(have, f->value));
}

/* A key with several names for one thing (an address listed as host:port or host): = holds when
 * one of them matches, != when none equals the value, an ordering when one of them satisfies it. */
static int match_any(const bf_filter *f, const char *const *have, int n)
{
    if (f->op == BF_OP_NE) {
        bf_filter eq = *f;
        eq.op = BF_OP_EQ;
        return !match_any(&eq, have, n);
    }
    for (int i = 0; i < n; i++)
        if (match_one(f, have[i]))
            return 1;
    return 0;
}

/* ---- parsing ---------------------------------------------------------------------------------- */
static int key_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* Length of the operator at s (0: none) and which it is. */
static size_t parse_op(const char *s, bf_filter_op *op)
{
    static const struct { const char *text; bf_filter_op op; } OPS[] = {
        {"==", BF_OP_EQ}, {"!=", BF_OP_NE}, {"<=", BF_OP_LE}, {">=", BF_OP_GE},
        {"=", BF_OP_EQ},  {"<", BF_OP_LT},  {">", BF_OP_GT},
    };
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        size_t n = strlen(OPS[i].text);
        if (!strncmp(s, OPS[i].text, n)) {
            *op = OPS[i].op;
            return n;
        }
    }
    return 0;
}

/* The value: the rest of the expression without surrounding blanks, or the inside of quotes. */
static int parse_value(const char *s, const char *expr, bf_filter *out, char *err, size_t errlen)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n && (s[0] == '"' || s[0] == '\'')) {
        if (n < 2 || s[n - 1] != s[0]) {
            snprintf(err, errlen, "filter '%s': the value's closing %c is missing", expr, s[0]);
            return -1;
        }
        s++;
        n -= 2;
    } else if (!n) {
        snprintf(err, errlen, "filter '%s' has no value; use KEY OP VALUE, e.g. 'device.phy-memory>=16000'",
                 expr);
        return -1;
    }
    if (n >= sizeof out->value) {
        snprintf(err, errlen, "filter value longer than %zu characters", sizeof out->value - 1);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(err, errlen, "filter '%s': the value contains a control character", expr);
            return -1;
        }
    memcpy(out->value, s, n);
    out->value[n] = 0;
    return 0;
}

static int known_key(const char *k)
{
    for (int i = 0; KEYS[i]; i++)
        if (!strcmp(k, KEYS[i]))
            return 1;
    return 0;
}

/* Copy of expr fit for an error line (no control characters, bounded). */
static void shown(const char *expr, char *out, size_t len)
{
    snprintf(out, len, "%s", expr);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static int parse_key(const char **s, const char *expr, bf_filter *out, char *err, size_t errlen)
{
    const char *k = *s;
    while (key_char(**s))
        (*s)++;
    size_t n = (size_t)(*s - k);
    if (n == 0) {
        snprintf(err, errlen, "filter '%s' does not start with a key (known: %s)", expr, KNOWN_KEYS);
        return -1;
    }
    if (n >= sizeof out->key) {
        snprintf(err, errlen, "unknown filter key '%.*s' (known: %s)", (int)(n > 40 ? 40 : n), k, KNOWN_KEYS);
        return -1;
    }
    memcpy(out->key, k, n);
    out->key[n] = 0;
    if (!known_key(out->key)) {
        snprintf(err, errlen, "unknown filter key '%s' (known: %s)", out->key, KNOWN_KEYS);
        return -1;
    }
    return 0;
}

int bf_filter_parse(const char *expr, bf_filter *out, char *err, size_t errlen)
{
    char ex[96];
    shown(expr ? expr : "", ex, sizeof ex);
    memset(out, 0, sizeof *out);
    const char *s = expr ? expr : "";
    while (isspace((unsigned char)*s))
        s++;
    if (!*s) {
        snprintf(err, errlen, "empty filter; use KEY OP VALUE, e.g. 'device.phy-memory>=16000'");
        return -1;
    }
    if (parse_key(&s, ex, out, err, errlen) != 0)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    size_t oplen = parse_op(s, &out->op);
    if (!oplen) {
        snprintf(err, errlen, "filter '%s' has no operator after '%s' (use one of %s)", ex, out->key, KNOWN_OPS);
        return -1;
    }
    s += oplen;
    while (isspace((unsigned char)*s))
        s++;
    if (parse_value(s, ex, out, err, errlen) != 0)
        return -1;
    if (out->op != BF_OP_EQ && out->op != BF_OP_NE && !is_version(out->value)) {
        snprintf(err, errlen, "filter '%s': <, <=, > and >= need a number or version (e.g. 16000 or 12.4), "
                 "not '%s'", ex, out->value);
        return -1;
    }
    return 0;
}

/* ---- matching --------------------------------------------------------------------------------- */
static int server_match(const bf_filter *f, const char *addr, const Bitfusion__Inventory *inv)
{
    if (!strcmp(f->key, "server.addr")) {
        char host[256] = "";
        int port;
        if (bf_parse_hostport(addr, BF_DEFAULT_PORT, host, sizeof host, &port) != 0)
            host[0] = 0;
        const char *have[2] = {addr, host[0] ? host : NULL};
        return match_any(f, have, 2);
    }
    if (!inv)
        return 0;
    if (!strcmp(f->key, "server.hostname"))
        return match_one(f, inv->hostname);
    if (!strcmp(f->key, "server.cuda-version"))
        return match_one(f, inv->cuda_version);
    if (!strcmp(f->key, "server.driver-version"))
        return match_one(f, inv->driver_version);
    return 0;
}

int bf_filter_server_ok(const bf_filter *f, int nf, const char *addr, const Bitfusion__Inventory *inv)
{
    for (int i = 0; i < nf; i++)
        if (!strncmp(f[i].key, "server.", 7) && !server_match(&f[i], addr ? addr : "", inv))
            return 0;
    return 1;
}

/* device.id names a GPU by its index, its UUID or its PCI bus id. */
static int gpu_match(const bf_filter *f, const Bitfusion__Gpu *g)
{
    char num[32];
    if (!strcmp(f->key, "device.id")) {
        snprintf(num, sizeof num, "%u", g->index);
        const char *have[MAX_CANDIDATES] = {num, g->uuid, g->pci_bus_id};
        return match_any(f, have, MAX_CANDIDATES);
    }
    if (!strcmp(f->key, "device.name"))
        return match_one(f, g->name);
    if (!strcmp(f->key, "device.phy-memory")) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)(g->total >> 20));
        return match_one(f, num);
    }
    return 0;
}

int bf_filter_gpu_ok(const bf_filter *f, int nf, const Bitfusion__Gpu *g)
{
    for (int i = 0; i < nf; i++)
        if (!strncmp(f[i].key, "device.", 7) && (!g || !gpu_match(&f[i], g)))
            return 0;
    return 1;
}
