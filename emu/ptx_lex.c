/* ptx_lex.c: the PTX tokenizer and the small hash map the parser keys names with. */
#include "ptx_lex.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_word_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c == '%' || c == '.';
}

static int is_word_char(char c)
{
    return is_word_start(c) || (c >= '0' && c <= '9');
}

static int push_tok(ptx_toks *out, ptx_tok t)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 4096;
        ptx_tok *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return -1;
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = t;
    return 0;
}

int ptx_lex(const char *s, size_t len, ptx_toks *out, char *err, size_t errlen)
{
    size_t i = 0;
    int line = 1;
    memset(out, 0, sizeof *out);
    while (i < len && s[i]) {
        char c = s[i];
        if (c == '\n') { line++; i++; continue; }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') { i++; continue; }
        if (c == '/' && i + 1 < len && s[i + 1] == '/') {
            while (i < len && s[i] && s[i] != '\n') i++;
            continue;
        }
        if (c == '/' && i + 1 < len && s[i + 1] == '*') {
            i += 2;
            while (i + 1 < len && s[i] && !(s[i] == '*' && s[i + 1] == '/')) {
                if (s[i] == '\n') line++;
                i++;
            }
            i += 2;
            continue;
        }
        ptx_tok t = { .s = s + i, .line = line };
        if (c == '"') {
            size_t j = i + 1;
            while (j < len && s[j] && s[j] != '"' && s[j] != '\n') j++;
            if (j >= len || s[j] != '"') {
                snprintf(err, errlen, "PTX line %d: unterminated string", line);
                return -1;
            }
            t.kind = TK_STR; t.s = s + i + 1; t.len = (uint32_t)(j - i - 1);
            i = j + 1;
        } else if (c >= '0' && c <= '9') {
            size_t j = i;
            while (j < len && (is_word_char(s[j]))) j++;
            t.kind = TK_NUM; t.len = (uint32_t)(j - i);
            i = j;
        } else if (is_word_start(c)) {
            size_t j = i;
            while (j < len && (is_word_char(s[j]) ||
                               (s[j] == ':' && j + 2 < len && s[j + 1] == ':' && is_word_char(s[j + 2]))))
                j += (s[j] == ':') ? 2 : 1;
            t.kind = TK_WORD; t.len = (uint32_t)(j - i);
            i = j;
        } else if (strchr(",;:[]{}()<>+-@!|=*", c)) {
            t.kind = TK_PUNCT; t.c = c; t.len = 1;
            i++;
        } else {
            snprintf(err, errlen, "PTX line %d: unexpected character '%c'", line, c);
            return -1;
        }
        if (push_tok(out, t) < 0) {
            snprintf(err, errlen, "out of memory while reading PTX");
            return -1;
        }
    }
    ptx_tok eof = { .kind = TK_EOF, .s = s + i, .line = line };
    if (push_tok(out, eof) < 0) {
        snprintf(err, errlen, "out of memory while reading PTX");
        return -1;
    }
    return 0;
}

int tok_is(const ptx_tok *t, const char *w)
{
    size_t n = strlen(w);
    return t->kind == TK_WORD && t->len == n && memcmp(t->s, w, n) == 0;
}

int tok_punct(const ptx_tok *t, char c)
{
    return t->kind == TK_PUNCT && t->c == c;
}

char *tok_dup(const ptx_tok *t)
{
    char *p = malloc(t->len + 1);
    if (p) {
        memcpy(p, t->s, t->len);
        p[t->len] = 0;
    }
    return p;
}

/* ---- map ---------------------------------------------------------------------------------- */
static uint64_t hash_str(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ull;
    }
    return h;
}

void map_init(ptx_map *m) { memset(m, 0, sizeof *m); }

void map_free(ptx_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t map_slot(const ptx_map *m, const char *k, size_t n)
{
    size_t i = hash_str(k, n) & (m->cap - 1);
    while (m->keys[i] && !(strlen(m->keys[i]) == n && memcmp(m->keys[i], k, n) == 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

int map_get(const ptx_map *m, const char *k, size_t n, int64_t *val)
{
    if (!m->cap)
        return 0;
    size_t i = map_slot(m, k, n);
    if (!m->keys[i])
        return 0;
    if (val)
        *val = m->vals[i];
    return 1;
}

static void map_grow(ptx_map *m)
{
    ptx_map nm = { .cap = m->cap ? m->cap * 2 : 64 };
    nm.keys = calloc(nm.cap, sizeof *nm.keys);
    nm.vals = calloc(nm.cap, sizeof *nm.vals);
    if (!nm.keys || !nm.vals)
        abort();
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = map_slot(&nm, m->keys[i], strlen(m->keys[i]));
        nm.keys[j] = m->keys[i];
        nm.vals[j] = m->vals[i];
        nm.n++;
    }
    free(m->keys);
    free(m->vals);
    *m = nm;
}

void map_put(ptx_map *m, const char *k, size_t n, int64_t val)
{
    if ((m->n + 1) * 2 > m->cap)
        map_grow(m);
    size_t i = map_slot(m, k, n);
    if (!m->keys[i]) {
        m->keys[i] = malloc(n + 1);
        if (!m->keys[i])
            abort();
        memcpy(m->keys[i], k, n);
        m->keys[i][n] = 0;
        m->n++;
    }
    m->vals[i] = val;
}
