/* config.c: parsers for bitfusiond.yaml, client.yaml, servers.conf and reservation files
 * (libyaml document API; reservations are declared in lease_client.h), and the client's
 * configuration discovery (see config.h). Each file is read whole (1 MiB at most),
 * parsed into a libyaml document and walked against a fixed set of keys: an unknown key, a wrong
 * type or a bad value is one line "FILE:LINE: problem". */
#include "config.h"
#include "lease_client.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_FILE (1 << 20)

typedef struct walk {
    const char *name;      /* file name for messages */
    const char *dir;       /* directory for relative paths */
    yaml_document_t *doc;
    char *err;
    size_t errlen;
} walk;

static int fail(walk *w, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Values quoted in messages come from the file: keep the message one printable line. */
void bf_one_line(char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

static int fail(walk *w, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bf_one_line(msg);
    if (w->err && w->errlen) {
        if (n)
            snprintf(w->err, w->errlen, "%s:%lu: %s", w->name, (unsigned long)n->start_mark.line + 1, msg);
        else
            snprintf(w->err, w->errlen, "%s: %s", w->name, msg);
    }
    return -1;
}

/* ---- reading and parsing -------------------------------------------------------------------- */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, MAX_FILE + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad || n > MAX_FILE) {
        snprintf(err, errlen, "cannot read %s: %s", path, !buf ? "out of memory" : bad ? "read error"
                                                                                 : "larger than 1 MiB");
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Parses buf into doc. The root is NULL for an empty file. */
static int load_doc(walk *w, yaml_document_t *doc, const void *buf, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return fail(w, NULL, "out of memory");
    yaml_parser_set_input_string(&p, buf, len);
    int ok = yaml_parser_load(&p, doc);
    if (!ok) {
        char ctx[160] = "";
        if (p.context && p.context_mark.line != p.problem_mark.line)
            snprintf(ctx, sizeof ctx, " (%s that starts on line %lu)", p.context,
                     (unsigned long)p.context_mark.line + 1);
        else if (p.context)
            snprintf(ctx, sizeof ctx, " (%s)", p.context);
        snprintf(w->err, w->errlen, "%s:%lu: not valid YAML: %s%s", w->name,
                 (unsigned long)p.problem_mark.line + 1, p.problem ? p.problem : "syntax error", ctx);
        bf_one_line(w->err);
    }
    yaml_parser_delete(&p);
    w->doc = doc;
    return ok ? 0 : -1;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_str(walk *w, const yaml_node_t *n, const char *key, char *out, size_t len)
{
    const char *s = scalar(n);
    if (!s)
        return fail(w, n, "%s must be a single value, not a list or mapping", key);
    if (strlen(s) >= len)
        return fail(w, n, "%s is longer than %zu characters", key, len - 1);
    snprintf(out, len, "%s", s);
    return 0;
}

static int get_int(walk *w, const yaml_node_t *n, const char *key, long lo, long hi, int *out)
{
    const char *s = scalar(n);
    char *end = NULL;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || v < lo || v > hi)
        return fail(w, n, "%s must be a whole number from %ld to %ld, not '%s'", key, lo, hi,
                    s ? s : "(a list or mapping)");
    *out = (int)v;
    return 0;
}

/* A path; relative ones resolve against the file's directory, "~/" against $HOME. */
static int get_path(walk *w, const yaml_node_t *n, const char *key, char *out, size_t len)
{
    char raw[BF_PATH_MAX];
    if (get_str(w, n, key, raw, sizeof raw) != 0)
        return -1;
    if (!raw[0])
        return fail(w, n, "%s is empty", key);
    const char *home = getenv("HOME");
    int k;
    if (raw[0] == '/')
        k = snprintf(out, len, "%s", raw);
    else if (raw[0] == '~' && raw[1] == '/' && home)
        k = snprintf(out, len, "%s/%s", home, raw + 2);
    else
        k = snprintf(out, len, "%s/%s", w->dir && *w->dir ? w->dir : ".", raw);
    if (k < 0 || (size_t)k >= len)
        return fail(w, n, "%s: path too long", key);
    return 0;
}

static int one_of(walk *w, const yaml_node_t *n, const char *key, const char *const *allowed,
                  char *out, size_t len)
{
    if (get_str(w, n, key, out, len) != 0)
        return -1;
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(out, allowed[i]))
            return 0;
    char list[128] = "";
    for (int i = 0; allowed[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", allowed[i]);
    return fail(w, n, "%s must be one of %s, not '%s'", key, list, out);
}

/* Calls fn for each key: value of a mapping node (NULL or empty scalar node: nothing). */
typedef int (*pair_fn)(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx);

static int each_pair(walk *w, yaml_node_t *map, const char *what, pair_fn fn, void *ctx)
{
    if (!map || (map->type == YAML_SCALAR_NODE && !map->data.scalar.length))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return fail(w, map, "%s must be a mapping of 'key: value' lines", what);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        const char *key = scalar(k);
        if (!key)
            return fail(w, k, "keys in %s must be plain words", what);
        if (fn(w, key, k, v, ctx) != 0)
            return -1;
    }
    return 0;
}

static int unknown(walk *w, yaml_node_t *k, const char *key, const char *where, const char *known)
{
    return fail(w, k, "unknown key '%s'%s%s (known: %s)", key, where[0] ? " in " : "", where, known);
}

static void dir_of(const char *path, char *out, size_t len)
{
    snprintf(out, len, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(out, len, ".");
    else if (slash == out)
        out[1] = 0;
    else
        *slash = 0;
}

/* ---- host:port -------------------------------------------------------------------------------- */
int bf_parse_hostport(const char *s, int default_port, char *host, size_t hostlen, int *port)
{
    const char *colon = NULL, *h = s;
    size_t hl;
    if (!s || !*s)
        return -1;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || (close[1] && close[1] != ':'))
            return -1;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close[1] ? close + 1 : NULL;
    } else {
        colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon)
            colon = NULL; /* bare IPv6 address */
        hl = colon ? (size_t)(colon - s) : strlen(s);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    for (size_t i = 0; i < hl; i++)
        if (isspace((unsigned char)host[i]) || host[i] == '/')
            return -1;
    *port = default_port;
    if (colon) {
        char *end;
        errno = 0;
        long p = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || errno || p < 1 || p > 65535)
            return -1;
        *port = (int)p;
    }
    return 0;
}

/* ---- bitfusiond.yaml ---------------------------------------------------------------------------- */
static const char *const BACKENDS[] = {"auto", "nvidia", "emu", NULL};
static const char *const LEVELS[] = {"error", "warn", "info", "debug", NULL};

void bf_server_config_defaults(bf_server_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "*:%d", BF_DEFAULT_PORT);
    snprintf(c->backend, sizeof c->backend, "auto");
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->handshake_timeout_ms = 10000;
    c->shutdown_grace_s = 10;
}

/* tls: {ca, cert, key} of either file (each path BF_PATH_MAX long) */
typedef struct tls_paths {
    char *ca, *cert, *key;
} tls_paths;

static int tls_pair(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    tls_paths *t = ctx;
    if (!strcmp(key, "ca"))
        return get_path(w, v, "tls.ca", t->ca, BF_PATH_MAX);
    if (!strcmp(key, "cert"))
        return get_path(w, v, "tls.cert", t->cert, BF_PATH_MAX);
    if (!strcmp(key, "key"))
        return get_path(w, v, "tls.key", t->key, BF_PATH_MAX);
    return unknown(w, k, key, "tls", "ca, cert, key");
}

static int tls_section(walk *w, yaml_node_t *v, char *ca, char *cert, char *key)
{
    tls_paths t = {ca, cert, key};
    return each_pair(w, v, "tls", tls_pair, &t);
}

static int server_emu_pair(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    bf_server_config *c = ctx;
    if (!strcmp(key, "devices"))
        return get_int(w, v, "emu.devices", 1, 16, &c->emu_devices);
    if (!strcmp(key, "memory_mb"))
        return get_int(w, v, "emu.memory_mb", 1, 1 << 20, &c->emu_memory_mb);
    if (!strcmp(key, "sms"))
        return get_int(w, v, "emu.sms", 1, 1024, &c->emu_sms);
    if (!strcmp(key, "cc"))
        return get_str(w, v, "emu.cc", c->emu_cc, sizeof c->emu_cc);
    return unknown(w, k, key, "emu", "devices, memory_mb, sms, cc");
}

int bf_parse_listen(const char *spec, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(spec, ':');
    char *end;
    if (!colon)
        return -1;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    size_t hl = (size_t)(colon - spec);
    if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
        spec++;
        hl -= 2;
    }
    if (hl >= hostlen)
        return -1;
    memcpy(host, spec, hl);
    host[hl] = 0;
    if (!strcmp(host, "*"))
        host[0] = 0;
    for (size_t i = 0; i < hl; i++)
        if (isspace((unsigned char)host[i]) || host[i] == '/' || host[i] == '[' || host[i] == ']')
            return -1;
    return 0;
}

static int check_listen(walk *w, yaml_node_t *v, const char *s)
{
    char host[256];
    int port;
    if (bf_parse_listen(s, host, sizeof host, &port) != 0)
        return fail(w, v, "listen must be ADDRESS:PORT (e.g. \"*:56001\" or \"127.0.0.1:56001\"), not '%s'", s);
    return 0;
}

/* devices: all | [0, 2, ...] -> "" | "0,2" */
static int get_devices(walk *w, yaml_node_t *v, char *out, size_t len)
{
    const char *s = scalar(v);
    out[0] = 0;
    if (s && !strcmp(s, "all"))
        return 0;
    if (!v || v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.start == v->data.sequence.items.top)
        return fail(w, v, "devices must be 'all' or a list of GPU indexes like [0, 2]");
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        int d;
        size_t n = strlen(out);
        if (get_int(w, yaml_document_get_node(w->doc, *i), "each device", 0, 1023, &d) != 0)
            return -1;
        if ((size_t)snprintf(out + n, len - n, "%s%d", n ? "," : "", d) >= len - n)
            return fail(w, v, "devices: too many GPUs listed");
    }
    return 0;
}

static int server_pair(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    bf_server_config *c = ctx;
    if (!strcmp(key, "listen"))
        return get_str(w, v, "listen", c->listen, sizeof c->listen) || check_listen(w, v, c->listen);
    if (!strcmp(key, "backend"))
        return one_of(w, v, "backend", BACKENDS, c->backend, sizeof c->backend);
    if (!strcmp(key, "log_level"))
        return one_of(w, v, "log_level", LEVELS, c->log_level, sizeof c->log_level);
    if (!strcmp(key, "tls"))
        return tls_section(w, v, c->ca, c->cert, c->key);
    if (!strcmp(key, "emu"))
        return each_pair(w, v, "emu", server_emu_pair, c);
    if (!strcmp(key, "handshake_timeout"))
        return get_int(w, v, "handshake_timeout (seconds)", 1, 3600, &c->handshake_timeout_ms) ||
               (c->handshake_timeout_ms *= 1000, 0);
    if (!strcmp(key, "shutdown_grace"))
        return get_int(w, v, "shutdown_grace (seconds)", 0, 3600, &c->shutdown_grace_s);
    if (!strcmp(key, "max_sessions"))
        return get_int(w, v, "max_sessions", 0, 100000, &c->max_sessions);
    if (!strcmp(key, "metrics"))
        return get_str(w, v, "metrics", c->metrics, sizeof c->metrics);
    if (!strcmp(key, "lease_idle_limit"))
        return get_int(w, v, "lease_idle_limit (seconds, 0 = none)", 0, 604800, &c->lease_idle_limit_s);
    if (!strcmp(key, "devices"))
        return get_devices(w, v, c->devices, sizeof c->devices);
    return unknown(w, k, key, "", "listen, backend, log_level, tls, emu, handshake_timeout, "
                                  "shutdown_grace, max_sessions, metrics, lease_idle_limit, devices");
}

int bf_server_config_parse(bf_server_config *c, const char *name, const char *dir, const void *buf,
                           size_t len, char *err, size_t errlen)
{
    yaml_document_t doc;
    walk w = {.name = name, .dir = dir, .err = err, .errlen = errlen};
    if (load_doc(&w, &doc, buf, len) != 0)
        return -1;
    int rc = each_pair(&w, yaml_document_get_root_node(&doc), "the file", server_pair, c);
    yaml_document_delete(&doc);
    return rc;
}

int bf_server_config_load(bf_server_config *c, const char *path, char *err, size_t errlen)
{
    size_t len;
    char dir[BF_PATH_MAX];
    char *buf = read_file(path, &len, err, errlen);
    if (!buf)
        return -1;
    dir_of(path, dir, sizeof dir);
    snprintf(c->path, sizeof c->path, "%s", path);
    int rc = bf_server_config_parse(c, path, dir, buf, len, err, errlen);
    free(buf);
    return rc;
}

/* ---- client.yaml -------------------------------------------------------------------------------- */
static int client_pair(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    bf_client_config *c = ctx;
    if (!strcmp(key, "tls"))
        return tls_section(w, v, c->ca, c->cert, c->key);
    if (!strcmp(key, "timeout")) {
        int s;
        if (get_int(w, v, "timeout (seconds)", 1, 86400, &s) != 0)
            return -1;
        c->timeout_ms = s * 1000;
        return 0;
    }
    if (!strcmp(key, "log_level"))
        return one_of(w, v, "log_level", LEVELS, c->log_level, sizeof c->log_level);
    return unknown(w, k, key, "", "tls, timeout, log_level");
}

int bf_client_yaml_parse(bf_client_config *c, const char *name, const char *dir, const void *buf,
                         size_t len, char *err, size_t errlen)
{
    yaml_document_t doc;
    walk w = {.name = name, .dir = dir, .err = err, .errlen = errlen};
    if (load_doc(&w, &doc, buf, len) != 0)
        return -1;
    int rc = each_pair(&w, yaml_document_get_root_node(&doc), "the file", client_pair, c);
    yaml_document_delete(&doc);
    return rc;
}

/* ---- servers.conf ------------------------------------------------------------------------------- */
static int add_address(walk *w, bf_client_config *c, yaml_node_t *v)
{
    const char *s = scalar(v);
    if (!s)
        return fail(w, v, "each address must be HOST:PORT, not a list or mapping");
    if (c->nservers >= BF_MAX_SERVERS)
        return fail(w, v, "more than %d server addresses", BF_MAX_SERVERS);
    bf_server_addr *a = &c->servers[c->nservers];
    if (bf_parse_hostport(s, BF_DEFAULT_PORT, a->host, sizeof a->host, &a->port) != 0)
        return fail(w, v, "address must be HOST:PORT (e.g. 10.0.0.5:56001), not '%s'", s);
    c->nservers++;
    return 0;
}

static int server_entry_pair(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    bf_client_config *c = ctx;
    if (strcmp(key, "addresses"))
        return unknown(w, k, key, "a server entry", "addresses");
    if (scalar(v))
        return add_address(w, c, v);
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(w, v, "addresses must be a list like [host:56001]");
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++)
        if (add_address(w, c, yaml_document_get_node(w->doc, *i)) != 0)
            return -1;
    return 0;
}

static int servers_pair(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    if (strcmp(key, "servers"))
        return unknown(w, k, key, "", "servers");
    if (!v || v->type != YAML_SEQUENCE_NODE)
        return fail(w, v, "servers must be a list of '- addresses: [host:56001]' entries");
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        yaml_node_t *e = yaml_document_get_node(w->doc, *i);
        if (!e || e->type != YAML_MAPPING_NODE)
            return fail(w, e, "each server must be an entry like '- addresses: [host:56001]'");
        if (each_pair(w, e, "a server entry", server_entry_pair, ctx) != 0)
            return -1;
    }
    return 0;
}

int bf_servers_conf_parse(bf_client_config *c, const char *name, const void *buf, size_t len,
                          char *err, size_t errlen)
{
    yaml_document_t doc;
    walk w = {.name = name, .dir = "", .err = err, .errlen = errlen};
    if (load_doc(&w, &doc, buf, len) != 0)
        return -1;
    int rc = each_pair(&w, yaml_document_get_root_node(&doc), "the file", servers_pair, c);
    yaml_document_delete(&doc);
    if (rc == 0 && c->nservers == 0)
        rc = fail(&w, NULL, "no servers listed; add 'servers:\\n  - addresses: [host:56001]'");
    return rc;
}

/* ---- client discovery --------------------------------------------------------------------------- */
static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_config(const char *dir)
{
    char p[BF_PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/servers.conf", dir);
    if (access(p, F_OK) == 0)
        return 1;
    snprintf(p, sizeof p, "%s/client.yaml", dir);
    return access(p, F_OK) == 0;
}

int bf_client_config_find_dir(char *dir, size_t len, char *err, size_t errlen)
{
    const char *env = getenv("BITFUSION_CONFIG_DIR"), *home = getenv("HOME");
    if (env && *env) {
        if (!is_dir(env)) {
            snprintf(err, errlen, "BITFUSION_CONFIG_DIR=%s is not a directory; point it at a client "
                     "bundle made by 'bitfusiond pki client'", env);
            return -1;
        }
        snprintf(dir, len, "%s", env);
        return 0;
    }
    char cand[BF_PATH_MAX];
    if (home && *home) {
        snprintf(cand, sizeof cand, "%s/.bitfusion", home);
        if (is_dir(cand) && has_config(cand)) {
            snprintf(dir, len, "%s", cand);
            return 0;
        }
    }
    if (has_config("/etc/bitfusion")) {
        snprintf(dir, len, "/etc/bitfusion");
        return 0;
    }
    snprintf(err, errlen, "no client configuration in $BITFUSION_CONFIG_DIR, ~/.bitfusion or "
             "/etc/bitfusion; make one on the server with 'bitfusiond pki client NAME --pki DIR --out "
             "OUTDIR --server HOST:56001' and copy OUTDIR to ~/.bitfusion");
    return -1;
}

static int load_optional(bf_client_config *c, const char *dir, char *err, size_t errlen)
{
    char path[BF_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/client.yaml", dir);
    if (access(path, F_OK) != 0)
        return 0;
    size_t len;
    char *buf = read_file(path, &len, err, errlen);
    if (!buf)
        return -1;
    int rc = bf_client_yaml_parse(c, path, dir, buf, len, err, errlen);
    free(buf);
    return rc;
}

int bf_client_config_load_dir(bf_client_config *c, const char *dir, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    snprintf(c->ca, sizeof c->ca, "%s/tls/ca.crt", dir);
    snprintf(c->cert, sizeof c->cert, "%s/tls/client.crt", dir);
    snprintf(c->key, sizeof c->key, "%s/tls/client.key", dir);
    snprintf(c->log_level, sizeof c->log_level, "warn");
    c->timeout_ms = 30000;
    if (load_optional(c, dir, err, errlen) != 0)
        return -1;
    char path[BF_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/servers.conf", dir);
    size_t len;
    char *buf = read_file(path, &len, err, errlen);
    if (!buf) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, "; list the servers there as 'servers:\\n  - addresses: [host:56001]'");
        return -1;
    }
    int rc = bf_servers_conf_parse(c, path, buf, len, err, errlen);
    free(buf);
    return rc;
}

int bf_client_config_load(bf_client_config *c, char *err, size_t errlen)
{
    char dir[BF_PATH_MAX];
    if (bf_client_config_find_dir(dir, sizeof dir, err, errlen) != 0)
        return -1;
    return bf_client_config_load_dir(c, dir, err, errlen);
}

int bf_client_config_check_files(const bf_client_config *c, char *err, size_t errlen)
{
    const char *files[3] = {c->ca, c->cert, c->key};
    for (int i = 0; i < 3; i++)
        if (access(files[i], R_OK) != 0) {
            snprintf(err, errlen, "cannot read %s: %s; run 'bitfusiond pki client NAME --pki DIR --out "
                     "DIR' on the server to make a client bundle", files[i], strerror(errno));
            return -1;
        }
    return 0;
}

/* ---- reservation files (lease_client.h) ---------------------------------------------------------- */
#define RES_KEYS "server, lease, num_gpus, partition_mib, keeper_pid"
enum { RES_SERVER = 1, RES_LEASE = 2, RES_NUM_GPUS = 4, RES_PARTITION = 8 };

typedef struct res_ctx {
    bf_reservation *r;
    unsigned seen;
} res_ctx;

static int get_u64(walk *w, const yaml_node_t *n, const char *key, uint64_t lo, uint64_t hi, uint64_t *out)
{
    const char *s = scalar(n);
    char *end = NULL;
    errno = 0;
    unsigned long long v = s && isdigit((unsigned char)*s) ? strtoull(s, &end, 10) : 0;
    if (!s || !end || errno || *end || v < lo || v > hi)
        return fail(w, n, "%s must be a whole number from %llu to %llu, not '%s'", key, (unsigned long long)lo,
                    (unsigned long long)hi, s ? s : "(a list or mapping)");
    *out = v;
    return 0;
}

static int res_server(walk *w, yaml_node_t *v, bf_reservation *r)
{
    char host[256];
    int port;
    if (get_str(w, v, "server", r->server, sizeof r->server) != 0)
        return -1;
    if (bf_parse_hostport(r->server, 0, host, sizeof host, &port) != 0 || port == 0)
        return fail(w, v, "server must be HOST:PORT (e.g. 10.0.0.5:56001), not '%s'", r->server);
    return 0;
}

static int res_lease(walk *w, yaml_node_t *v, bf_reservation *r)
{
    if (get_str(w, v, "lease", r->lease, sizeof r->lease) != 0)
        return -1;
    size_t n = strlen(r->lease);
    if (!n || strspn(r->lease, "0123456789abcdefABCDEF") != n)
        return fail(w, v, "lease must be the lease id (hex digits), not '%s'", r->lease);
    return 0;
}

static int reservation_pair(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    res_ctx *c = ctx;
    bf_reservation *r = c->r;
    if (!strcmp(key, "keeper_pid"))
        return get_int(w, v, "keeper_pid", 1, INT_MAX, &r->keeper_pid);
    if (!strcmp(key, "server")) {
        c->seen |= RES_SERVER;
        return res_server(w, v, r);
    }
    if (!strcmp(key, "lease")) {
        c->seen |= RES_LEASE;
        return res_lease(w, v, r);
    }
    if (!strcmp(key, "num_gpus")) {
        c->seen |= RES_NUM_GPUS;
        return get_int(w, v, "num_gpus", 1, BF_LEASE_MAX_GPUS, &r->num_gpus);
    }
    if (!strcmp(key, "partition_mib")) {
        c->seen |= RES_PARTITION;
        return get_u64(w, v, "partition_mib", 1, UINT64_MAX >> 20, &r->partition_mib);
    }
    return unknown(w, k, key, "", RES_KEYS);
}

static int res_complete(walk *w, const yaml_node_t *root, unsigned seen)
{
    static const struct { unsigned bit; const char *key; } REQUIRED[] = {
        {RES_SERVER, "server"}, {RES_LEASE, "lease"}, {RES_NUM_GPUS, "num_gpus"}, {RES_PARTITION, "partition_mib"},
    };
    for (size_t i = 0; i < sizeof REQUIRED / sizeof REQUIRED[0]; i++)
        if (!(seen & REQUIRED[i].bit))
            return fail(w, root, "'%s' is missing; this is not a whole reservation file (bitfusion "
                        "request_gpus writes them)", REQUIRED[i].key);
    return 0;
}

int bf_reservation_parse(const char *name, const void *buf, size_t len, bf_reservation *r, char *err,
                         size_t errlen)
{
    yaml_document_t doc;
    walk w = {.name = name, .dir = "", .err = err, .errlen = errlen};
    res_ctx c = {.r = r};
    memset(r, 0, sizeof *r);
    if (load_doc(&w, &doc, buf, len) != 0)
        return -1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc = each_pair(&w, root, "the file", reservation_pair, &c);
    if (rc == 0)
        rc = res_complete(&w, root, c.seen);
    yaml_document_delete(&doc);
    return rc;
}

int bf_reservation_read(const char *path, bf_reservation *r, char *err, size_t errlen)
{
    size_t len;
    char *buf = read_file(path, &len, err, errlen);
    if (!buf) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, "; give the file 'bitfusion request_gpus' wrote with -f FILE");
        return -1;
    }
    int rc = bf_reservation_parse(path, buf, len, r, err, errlen);
    free(buf);
    return rc;
}

/* The file's text. Addresses that YAML would not read as a plain word ("[::1]:56001") are quoted. */
static int res_format(const char *path, const bf_reservation *r, char *out, size_t len)
{
    char shown[BF_PATH_MAX];
    snprintf(shown, sizeof shown, "%s", path);
    bf_one_line(shown);
    int plain = strspn(r->server, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_:") ==
                strlen(r->server);
    int k = snprintf(out, len, "# bitfusion reservation: release with 'bitfusion release_gpus -f %s'\n"
                     "server: %s%s%s\nlease: %s\nnum_gpus: %d\npartition_mib: %llu\n", shown,
                     plain ? "" : "\"", r->server, plain ? "" : "\"", r->lease, r->num_gpus,
                     (unsigned long long)r->partition_mib);
    if (k >= 0 && (size_t)k < len && r->keeper_pid > 0)
        k += snprintf(out + k, len - (size_t)k, "keeper_pid: %d\n", r->keeper_pid);
    return k < 0 || (size_t)k >= len ? -1 : k;
}

int bf_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int bf_reservation_write(const char *path, const bf_reservation *r, char *err, size_t errlen)
{
    char text[BF_PATH_MAX + 1024], tmp[BF_PATH_MAX + 16];
    int n = res_format(path, r, text, sizeof text);
    if (n < 0 || snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "cannot write %s: path too long", path);
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s; choose a writable place with -f FILE", path, strerror(errno));
        return -1;
    }
    int bad = fchmod(fd, 0600) != 0 || bf_write_all(fd, text, (size_t)n) != 0 || fsync(fd) != 0;
    int saved = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        saved = errno;
    }
    if (bad) {
        unlink(tmp);
        snprintf(err, errlen, "cannot write %s: %s; choose a writable place with -f FILE", path, strerror(saved));
        return -1;
    }
    return 0;
}
