/* config.c: parsers for bitfusiond.yaml, client.yaml and servers.conf (libyaml document API), and
 * the client's configuration discovery (see config.h). Each file is read whole (1 MiB at most),
 * parsed into a libyaml document and walked against a fixed set of keys: an unknown key, a wrong
 * type or a bad value is one line "FILE:LINE: problem". */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
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
static void one_line(char *s)
{
    for (; *s; s++)
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
    one_line(msg);
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
        one_line(w->err);
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

static int server_tls_pair(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    bf_server_config *c = ctx;
    if (!strcmp(key, "ca"))
        return get_path(w, v, "tls.ca", c->ca, sizeof c->ca);
    if (!strcmp(key, "cert"))
        return get_path(w, v, "tls.cert", c->cert, sizeof c->cert);
    if (!strcmp(key, "key"))
        return get_path(w, v, "tls.key", c->key, sizeof c->key);
    return unknown(w, k, key, "tls", "ca, cert, key");
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
        return each_pair(w, v, "tls", server_tls_pair, c);
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
    return unknown(w, k, key, "", "listen, backend, log_level, tls, emu, handshake_timeout, "
                                  "shutdown_grace, max_sessions, metrics");
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
static int client_tls_pair(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    bf_client_config *c = ctx;
    if (!strcmp(key, "ca"))
        return get_path(w, v, "tls.ca", c->ca, sizeof c->ca);
    if (!strcmp(key, "cert"))
        return get_path(w, v, "tls.cert", c->cert, sizeof c->cert);
    if (!strcmp(key, "key"))
        return get_path(w, v, "tls.key", c->key, sizeof c->key);
    return unknown(w, k, key, "tls", "ca, cert, key");
}

static int client_pair(walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    bf_client_config *c = ctx;
    if (!strcmp(key, "tls"))
        return each_pair(w, v, "tls", client_tls_pair, c);
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
    const char *t = getenv("BITFUSION_TIMEOUT"); /* bitfusion run --timeout */
    if (t && atoi(t) > 0 && atoi(t) <= 86400)
        c->timeout_ms = atoi(t) * 1000;
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
