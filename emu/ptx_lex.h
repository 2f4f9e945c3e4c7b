/* ptx_lex.h: tokens of PTX source text, and small name tables used while parsing. */
#ifndef BF_EMU_PTX_LEX_H
#define BF_EMU_PTX_LEX_H
#include <stddef.h>
#include <stdint.h>

enum tok_kind { TK_EOF = 0, TK_WORD, TK_NUM, TK_STR, TK_PUNCT };

typedef struct ptx_tok {
    uint8_t kind;
    char c;                  /* TK_PUNCT: the character */
    uint32_t len;
    const char *s;
    int line;
} ptx_tok;

typedef struct ptx_toks { ptx_tok *v; size_t n, cap; } ptx_toks;

/* Splits text into tokens (comments dropped). Returns 0, or -1 with err set. */
int ptx_lex(const char *text, size_t len, ptx_toks *out, char *err, size_t errlen);
int tok_is(const ptx_tok *t, const char *word);       /* TK_WORD equal to word */
int tok_punct(const ptx_tok *t, char c);
char *tok_dup(const ptx_tok *t);

/* A string-keyed hash map to int64 values. */
typedef struct ptx_map { char **keys; int64_t *vals; size_t cap, n; } ptx_map;
void map_init(ptx_map *m);
void map_free(ptx_map *m);
int map_get(const ptx_map *m, const char *k, size_t klen, int64_t *val);   /* 1 when found */
void map_put(ptx_map *m, const char *k, size_t klen, int64_t val);
#endif
