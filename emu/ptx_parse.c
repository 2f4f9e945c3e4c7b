/* ptx_parse.c: reads PTX module text into the pre-decoded form of ptx_ir.h: module variables,
 * functions, their parameters, registers, frames and instructions (decoded by ptx_decode.c).
 * Also owns the module accessors declared in ptx.h. */
#include "ptx_ir.h"
#include "ptx_lex.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BI_NONE = 0, BI_VPRINTF, BI_ASSERTFAIL, BI_MALLOC, BI_FREE };

/* Name kinds in the parser's symbol tables (value = kind << 40 | payload). */
enum { NK_REG = 1, NK_GVAR, NK_SVAR, NK_FUNC, NK_LOCAL, NK_FPARAM, NK_KPARAM, NK_SREG };
#define NK_MAKE(k, v) (((int64_t)(k) << 40) | (int64_t)(uint32_t)(v))
#define NK_KIND(x) ((int)((x) >> 40))
#define NK_VAL(x) ((uint32_t)((x)&0xffffffffu))

typedef struct reg_range { char *prefix; uint32_t base, count; } reg_range;

typedef struct fixup { uint32_t pc; int opi; char *name; int line; } fixup;

typedef struct scope {
    ptx_map names;
    struct scope *up;
} scope;

typedef struct parser {
    ptx_toks tk;
    size_t p;
    ptx_module *m;
    ptx_map globals;         /* module-scope names */
    char *err; size_t errlen;
    int failed;
    /* per function being parsed */
    ptx_func *f;
    scope *sc;
    reg_range *ranges; int nranges, cap_ranges;
    int sreg_reg[SR_COUNT];
    uint32_t frame_top;
    fixup *fix; int nfix, cap_fix;
    ptx_map brtab_names;     /* .branchtargets label -> table index */
    uint8_t *init_base;      /* initializer being filled (for relocations) */
    ptx_map labels;          /* label -> pc */
    size_t cap_code;
} parser;

static void perr(parser *ps, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void perr(parser *ps, int line, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = 1;
    int n = snprintf(ps->err, ps->errlen, "PTX line %d: ", line);
    if (n < 0 || (size_t)n >= ps->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static ptx_tok *peek(parser *ps) { return &ps->tk.v[ps->p]; }
static ptx_tok *peekn(parser *ps, size_t k)
{
    size_t i = ps->p + k;
    return i < ps->tk.n ? &ps->tk.v[i] : &ps->tk.v[ps->tk.n - 1];
}
static ptx_tok *next(parser *ps)
{
    ptx_tok *t = &ps->tk.v[ps->p];
    if (t->kind != TK_EOF)
        ps->p++;
    return t;
}
static int accept_punct(parser *ps, char c)
{
    if (tok_punct(peek(ps), c)) { ps->p++; return 1; }
    return 0;
}
static int expect_punct(parser *ps, char c)
{
    if (accept_punct(ps, c))
        return 1;
    ptx_tok *t = peek(ps);
    perr(ps, t->line, "expected '%c' near '%.*s'", c, (int)t->len, t->s);
    return 0;
}
static int accept_word(parser *ps, const char *w)
{
    if (tok_is(peek(ps), w)) { ps->p++; return 1; }
    return 0;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        abort();
    return p;
}
static void *xrealloc(void *p, size_t sz)
{
    p = realloc(p, sz ? sz : 1);
    if (!p)
        abort();
    return p;
}
#define GROW(arr, n, cap) do { if ((n) >= (cap)) { (cap) = (cap) ? (cap) * 2 : 8; \
    (arr) = xrealloc((arr), (size_t)(cap) * sizeof *(arr)); } } while (0)

/* ---- numbers ------------------------------------------------------------------------------ */
static int parse_u64(const ptx_tok *t, uint64_t *out, int *is_float)
{
    char buf[80];
    if (t->kind != TK_NUM || t->len >= sizeof buf)
        return -1;
    memcpy(buf, t->s, t->len);
    buf[t->len] = 0;
    *is_float = 0;
    if ((buf[0] == '0') && (buf[1] == 'f' || buf[1] == 'F') && t->len == 10) {
        *out = strtoull(buf + 2, NULL, 16);
        *is_float = 1;
        return 0;
    }
    if ((buf[0] == '0') && (buf[1] == 'd' || buf[1] == 'D') && t->len == 18) {
        *out = strtoull(buf + 2, NULL, 16);
        *is_float = 2;
        return 0;
    }
    char *end;
    size_t n = t->len;
    if (n && (buf[n - 1] == 'U' || buf[n - 1] == 'u'))
        buf[--n] = 0;
    if (strchr(buf, '.') || ((strchr(buf, 'e') || strchr(buf, 'E')) && !(buf[1] == 'x' || buf[1] == 'X'))) {
        double d = strtod(buf, &end);
        if (*end)
            return -1;
        memcpy(out, &d, 8);
        *is_float = 2;
        return 0;
    }
    if (buf[0] == '0' && (buf[1] == 'b' || buf[1] == 'B'))
        *out = strtoull(buf + 2, &end, 2);
    else if (buf[0] == '0' && n > 1 && buf[1] >= '0' && buf[1] <= '7')
        *out = strtoull(buf + 1, &end, 8);
    else
        *out = strtoull(buf, &end, 0);
    return *end ? -1 : 0;
}

/* An integer constant with optional sign. */
static int parse_int_const(parser *ps, int64_t *out)
{
    int neg = accept_punct(ps, '-');
    ptx_tok *t = next(ps);
    uint64_t v;
    int isf;
    if (parse_u64(t, &v, &isf) < 0 || isf) {
        perr(ps, t->line, "expected an integer, got '%.*s'", (int)t->len, t->s);
        return -1;
    }
    *out = (int64_t)(neg ? 0 - v : v);
    return 0;
}

/* ---- types -------------------------------------------------------------------------------- */
static const struct { const char *name; int t; } type_names[] = {
    {".pred", T_PRED}, {".b8", T_B8}, {".b16", T_B16}, {".b32", T_B32}, {".b64", T_B64}, {".b128", T_B128},
    {".u8", T_U8}, {".u16", T_U16}, {".u32", T_U32}, {".u64", T_U64},
    {".s8", T_S8}, {".s16", T_S16}, {".s32", T_S32}, {".s64", T_S64},
    {".f16", T_F16}, {".f16x2", T_F16X2}, {".bf16", T_BF16}, {".bf16x2", T_BF16X2},
    {".f32", T_F32}, {".f64", T_F64},
};

static int type_of_word(const ptx_tok *t)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (tok_is(t, type_names[i].name))
            return type_names[i].t;
    return T_NONE;
}

int ptx_type_size(int t)
{
    switch (t) {
    case T_PRED: return 1;
    case T_B8: case T_U8: case T_S8: return 1;
    case T_B16: case T_U16: case T_S16: case T_F16: case T_BF16: return 2;
    case T_B32: case T_U32: case T_S32: case T_F32: case T_F16X2: case T_BF16X2: return 4;
    case T_B64: case T_U64: case T_S64: case T_F64: return 8;
    case T_B128: return 16;
    default: return 0;
    }
}
int ptx_type_is_float(int t) { return t == T_F16 || t == T_F16X2 || t == T_BF16 || t == T_BF16X2 || t == T_F32 || t == T_F64; }
int ptx_type_is_signed(int t) { return t == T_S8 || t == T_S16 || t == T_S32 || t == T_S64; }

/* ---- variable declarations ---------------------------------------------------------------- */
typedef struct var_decl {
    int type;
    int vec;                 /* .v2/.v4 */
    size_t align;
    size_t count;            /* elements (product of dims), 1 for scalars */
    int unsized;             /* name[] */
    const ptx_tok *name;
    uint8_t *init;           /* initial bytes (count * elem) or NULL */
    int line;
} var_decl;

/* Reads one initializer element into buf; returns 0 on success. */
static int parse_init_scalar(parser *ps, int type, uint8_t *dst)
{
    int neg = accept_punct(ps, '-');
    ptx_tok *t = next(ps);
    uint64_t v;
    int isf;
    if (t->kind == TK_WORD) {
        int generic = 0;
        if (tok_is(t, "generic") && accept_punct(ps, '(')) {
            t = next(ps);
            generic = 1;
        }
        int64_t v;
        if (!map_get(&ps->globals, t->s, t->len, &v) || (NK_KIND(v) != NK_FUNC && NK_KIND(v) != NK_GVAR)) {
            perr(ps, t->line, "initializer '%.*s' is not a function or global variable", (int)t->len, t->s);
            return -1;
        }
        int64_t addend = 0;
        if (accept_punct(ps, '+') && parse_int_const(ps, &addend) < 0)
            return -1;
        if (generic && !expect_punct(ps, ')'))
            return -1;
        if (ptx_type_size(type) != 8) {
            perr(ps, t->line, "address initializer '%.*s' needs a 64-bit element", (int)t->len, t->s);
            return -1;
        }
        if (NK_KIND(v) == NK_FUNC) {
            uint64_t a = PTX_FUNC_ADDR(NK_VAL(v)) + (uint64_t)addend;
            memcpy(dst, &a, 8);
            return 0;
        }
        ptx_module *m = ps->m;
        m->relocs = xrealloc(m->relocs, (size_t)(m->nrelocs + 1) * sizeof *m->relocs);
        m->relocs[m->nrelocs].target = m->ngvars;   /* the variable being declared */
        m->relocs[m->nrelocs].offset = (uint64_t)(dst - ps->init_base);
        m->relocs[m->nrelocs].source = (int)NK_VAL(v);
        m->relocs[m->nrelocs].addend = addend;
        m->nrelocs++;
        memset(dst, 0, 8);
        return 0;
    }
    if (parse_u64(t, &v, &isf) < 0) {
        perr(ps, t->line, "bad initializer '%.*s'", (int)t->len, t->s);
        return -1;
    }
    int sz = ptx_type_size(type);
    if (type == T_F32) {
        float f;
        if (isf == 1) { uint32_t b = (uint32_t)v; memcpy(&f, &b, 4); }
        else if (isf == 2) { double d; memcpy(&d, &v, 8); f = (float)d; }
        else f = (float)(int64_t)v;
        if (neg) f = -f;
        memcpy(dst, &f, 4);
        return 0;
    }
    if (type == T_F64) {
        double d;
        if (isf == 1) { uint32_t b = (uint32_t)v; float f; memcpy(&f, &b, 4); d = f; }
        else if (isf == 2) memcpy(&d, &v, 8);
        else d = (double)(int64_t)v;
        if (neg) d = -d;
        memcpy(dst, &d, 8);
        return 0;
    }
    if (neg)
        v = 0 - v;
    memcpy(dst, &v, (size_t)sz);   /* little endian */
    return 0;
}

static int parse_init_list(parser *ps, int type, uint8_t *buf, size_t count, size_t *filled)
{
    int esz = ptx_type_size(type);
    if (accept_punct(ps, '{')) {
        if (accept_punct(ps, '}'))
            return 0;
        do {
            if (tok_punct(peek(ps), '{')) {
                if (parse_init_list(ps, type, buf, count, filled) < 0)
                    return -1;
                continue;
            }
            if (*filled >= count) {
                perr(ps, peek(ps)->line, "too many initializers");
                return -1;
            }
            if (parse_init_scalar(ps, type, buf + *filled * (size_t)esz) < 0)
                return -1;
            (*filled)++;
        } while (accept_punct(ps, ','));
        return expect_punct(ps, '}') ? 0 : -1;
    }
    if (*filled >= count) {
        perr(ps, peek(ps)->line, "too many initializers");
        return -1;
    }
    if (parse_init_scalar(ps, type, buf + *filled * (size_t)esz) < 0)
        return -1;
    (*filled)++;
    return 0;
}

/* After the state-space word: [.attribute(..)] [.align N] [.vN] .type name[dims] [= init] */
static int parse_var_decl(parser *ps, var_decl *d, int allow_init)
{
    memset(d, 0, sizeof *d);
    d->line = peek(ps)->line;
    for (;;) {
        ptx_tok *t = peek(ps);
        if (tok_is(t, ".align")) {
            next(ps);
            int64_t a;
            if (parse_int_const(ps, &a) < 0)
                return -1;
            d->align = (size_t)a;
        } else if (tok_is(t, ".attribute")) {
            next(ps);
            int depth = 0;
            do {
                ptx_tok *u = next(ps);
                if (tok_punct(u, '(')) depth++;
                else if (tok_punct(u, ')')) depth--;
                else if (u->kind == TK_EOF) return -1;
            } while (depth > 0);
        } else if (tok_is(t, ".v2") || tok_is(t, ".v4") || tok_is(t, ".v8")) {
            d->vec = t->s[2] - '0';
            next(ps);
        } else if (tok_is(t, ".ptr") || tok_is(t, ".global") || tok_is(t, ".shared") || tok_is(t, ".const")
                   || tok_is(t, ".local")) {
            next(ps);   /* .param .u64 .ptr .global .align 4 name */
        } else if (type_of_word(t)) {
            d->type = type_of_word(t);
            next(ps);
        } else if (tok_is(t, ".texref") || tok_is(t, ".surfref") || tok_is(t, ".samplerref")) {
            perr(ps, t->line, "%.*s variables (textures and surfaces) are not supported by the software GPU",
                 (int)t->len, t->s);
            return -1;
        } else {
            break;
        }
    }
    ptx_tok *name = next(ps);
    if (name->kind != TK_WORD || !d->type) {
        perr(ps, name->line, "bad declaration near '%.*s'", (int)name->len, name->s);
        return -1;
    }
    d->name = name;
    d->count = 1;
    int esz = ptx_type_size(d->type) * (d->vec ? d->vec : 1);
    if (!d->align)
        d->align = (size_t)esz;
    int saw_unsized = 0;
    while (accept_punct(ps, '[')) {
        if (accept_punct(ps, ']')) {
            saw_unsized = 1;
            continue;
        }
        int64_t n;
        if (parse_int_const(ps, &n) < 0 || n < 0 || !expect_punct(ps, ']'))
            return -1;
        d->count *= (size_t)n;
    }
    if (saw_unsized && !tok_punct(peek(ps), '=')) {
        d->unsized = 1;
        d->count = 0;
    }
    if (accept_punct(ps, '=')) {
        if (!allow_init) {
            perr(ps, name->line, "initializer not allowed here");
            return -1;
        }
        if (d->vec) {
            perr(ps, name->line, "vector initializers are not supported");
            return -1;
        }
        size_t cap = d->unsized ? 65536 : d->count;
        if (saw_unsized) cap = 1 << 20;
        if (cap > ((size_t)1 << 28)) {
            perr(ps, name->line, "initializer too large");
            return -1;
        }
        d->init = xcalloc(cap, (size_t)esz);
        ps->init_base = d->init;
        size_t filled = 0;
        if (parse_init_list(ps, d->type, d->init, cap, &filled) < 0) {
            free(d->init);
            d->init = NULL;
            return -1;
        }
        if (saw_unsized)
            d->count = filled;
    }
    return 0;
}

static size_t decl_bytes(const var_decl *d)
{
    return d->count * (size_t)ptx_type_size(d->type) * (size_t)(d->vec ? d->vec : 1);
}

static void add_gvar(parser *ps, const var_decl *d, int space, int is_extern)
{
    ptx_module *m = ps->m;
    int64_t prev;
    if (map_get(&ps->globals, d->name->s, d->name->len, &prev) && NK_KIND(prev) == NK_GVAR) {
        ptx_gvar *g = &m->gvars[NK_VAL(prev)];
        if (!is_extern && g->is_extern) {   /* definition after extern declaration */
            g->is_extern = 0; g->size = decl_bytes(d); g->align = d->align;
            free(g->init); g->init = d->init;
        } else {
            free(d->init);
        }
        return;
    }
    m->gvars = xrealloc(m->gvars, (size_t)(m->ngvars + 1) * sizeof *m->gvars);
    ptx_gvar *g = &m->gvars[m->ngvars];
    memset(g, 0, sizeof *g);
    g->name = tok_dup(d->name);
    g->space = space;
    g->size = decl_bytes(d);
    g->align = d->align ? d->align : 1;
    g->init = d->init;
    g->is_extern = is_extern;
    map_put(&ps->globals, d->name->s, d->name->len, NK_MAKE(NK_GVAR, m->ngvars));
    m->ngvars++;
}

static int add_svar(parser *ps, const var_decl *d, int is_extern, ptx_map *scope_names)
{
    ptx_module *m = ps->m;
    free(d->init);
    m->svars = xrealloc(m->svars, (size_t)(m->nsvars + 1) * sizeof *m->svars);
    ptx_svar *s = &m->svars[m->nsvars];
    s->name = tok_dup(d->name);
    s->size = d->unsized ? 0 : decl_bytes(d);
    s->align = d->align ? d->align : 1;
    s->is_extern = is_extern || d->unsized;
    map_put(scope_names, d->name->s, d->name->len, NK_MAKE(NK_SVAR, m->nsvars));
    return m->nsvars++;
}

/* ---- functions ---------------------------------------------------------------------------- */
static ptx_func *new_func(parser *ps, const ptx_tok *name)
{
    ptx_module *m = ps->m;
    ptx_func *f = xcalloc(1, sizeof *f);
    f->name = tok_dup(name);
    f->mod = m;
    f->index = m->nfuncs;
    m->funcs = xrealloc(m->funcs, (size_t)(m->nfuncs + 1) * sizeof *m->funcs);
    m->funcs[m->nfuncs++] = f;
    map_put(&ps->globals, name->s, name->len, NK_MAKE(NK_FUNC, f->index));
    if (!strcmp(f->name, "vprintf")) f->builtin = BI_VPRINTF;
    else if (!strcmp(f->name, "__assertfail")) f->builtin = BI_ASSERTFAIL;
    else if (!strcmp(f->name, "malloc")) f->builtin = BI_MALLOC;
    else if (!strcmp(f->name, "free")) f->builtin = BI_FREE;
    return f;
}

static uint32_t align_up32(uint32_t v, uint32_t a)
{
    if (a == 0) a = 1;
    return (v + a - 1) / a * a;
}

/* ( .param .type name, ... ) into a parameter list laid out from *offset. */
static int parse_param_list(parser *ps, ptx_param **out, int *nout, uint32_t *offset, int is_entry)
{
    *out = NULL;
    *nout = 0;
    if (!expect_punct(ps, '('))
        return -1;
    if (accept_punct(ps, ')'))
        return 0;
    int cap = 0;
    do {
        ptx_tok *t = next(ps);
        if (!tok_is(t, ".param") && !tok_is(t, ".reg")) {
            perr(ps, t->line, "expected .param in parameter list, got '%.*s'", (int)t->len, t->s);
            return -1;
        }
        var_decl d;
        if (parse_var_decl(ps, &d, 0) < 0)
            return -1;
        GROW(*out, *nout, cap);
        ptx_param *p = &(*out)[*nout];
        p->name = tok_dup(d.name);
        p->size = (uint32_t)decl_bytes(&d);
        p->align = (uint32_t)(d.align ? d.align : 1);
        if (p->align > 256) p->align = 256;
        *offset = align_up32(*offset, is_entry ? p->align : (p->align < 4 ? 4 : p->align));
        p->offset = *offset;
        *offset += p->size;
        (*nout)++;
    } while (accept_punct(ps, ','));
    return expect_punct(ps, ')') ? 0 : -1;
}

static void scope_push(parser *ps)
{
    scope *s = xcalloc(1, sizeof *s);
    map_init(&s->names);
    s->up = ps->sc;
    ps->sc = s;
}

static void scope_pop(parser *ps)
{
    scope *s = ps->sc;
    ps->sc = s->up;
    map_free(&s->names);
    free(s);
}

static int lookup_name(parser *ps, const char *s, size_t n, int64_t *v)
{
    for (scope *sc = ps->sc; sc; sc = sc->up)
        if (map_get(&sc->names, s, n, v))
            return 1;
    return map_get(&ps->globals, s, n, v);
}

static const struct { const char *name; int sr; } sreg_names[] = {
    {"%tid.x", SR_TID_X}, {"%tid.y", SR_TID_Y}, {"%tid.z", SR_TID_Z},
    {"%ntid.x", SR_NTID_X}, {"%ntid.y", SR_NTID_Y}, {"%ntid.z", SR_NTID_Z},
    {"%ctaid.x", SR_CTAID_X}, {"%ctaid.y", SR_CTAID_Y}, {"%ctaid.z", SR_CTAID_Z},
    {"%nctaid.x", SR_NCTAID_X}, {"%nctaid.y", SR_NCTAID_Y}, {"%nctaid.z", SR_NCTAID_Z},
    {"%laneid", SR_LANEID}, {"%warpid", SR_WARPID}, {"%nwarpid", SR_NWARPID},
    {"%smid", SR_SMID}, {"%nsmid", SR_NSMID}, {"%gridid", SR_GRIDID},
    {"%lanemask_eq", SR_LANEMASK_EQ}, {"%lanemask_lt", SR_LANEMASK_LT}, {"%lanemask_le", SR_LANEMASK_LE},
    {"%lanemask_gt", SR_LANEMASK_GT}, {"%lanemask_ge", SR_LANEMASK_GE},
    {"%dynamic_smem_size", SR_DYN_SMEM}, {"%total_smem_size", SR_TOTAL_SMEM}, {"WARP_SZ", SR_WARPSZ},
    {"%clock", SR_CLOCK}, {"%clock64", SR_CLOCK64}, {"%globaltimer", SR_GLOBALTIMER},
    {"%globaltimer_lo", SR_GLOBALTIMER_LO}, {"%globaltimer_hi", SR_GLOBALTIMER_HI},
};

static int sreg_of(const ptx_tok *t)
{
    for (size_t i = 0; i < sizeof sreg_names / sizeof sreg_names[0]; i++)
        if (tok_is(t, sreg_names[i].name))
            return sreg_names[i].sr;
    return -1;
}

static int32_t new_regs(parser *ps, uint32_t n)
{
    int32_t r = (int32_t)ps->f->nregs;
    ps->f->nregs += n;
    return r;
}

/* %r12 where %r<N> was declared. */
static int lookup_reg(parser *ps, const ptx_tok *t, int32_t *reg)
{
    int64_t v;
    if (lookup_name(ps, t->s, t->len, &v) && NK_KIND(v) == NK_REG) {
        *reg = (int32_t)NK_VAL(v);
        return 1;
    }
    size_t n = t->len;
    while (n > 0 && t->s[n - 1] >= '0' && t->s[n - 1] <= '9') n--;
    if (n == t->len || n == 0)
        return 0;
    uint64_t idx = strtoull(t->s + n, NULL, 10);
    for (int i = ps->nranges - 1; i >= 0; i--) {
        reg_range *r = &ps->ranges[i];
        if (strlen(r->prefix) == n && !memcmp(r->prefix, t->s, n) && idx < r->count) {
            *reg = (int32_t)(r->base + idx);
            return 1;
        }
    }
    return 0;
}

static int32_t sreg_pseudo(parser *ps, int sr)
{
    if (ps->sreg_reg[sr] >= 0)
        return ps->sreg_reg[sr];
    int32_t r = new_regs(ps, 1);
    ps->sreg_reg[sr] = r;
    ptx_func *f = ps->f;
    f->sregs = xrealloc(f->sregs, (size_t)(f->nsregs + 1) * sizeof *f->sregs);
    f->sregs[f->nsregs].reg = r;
    f->sregs[f->nsregs].sreg = sr;
    f->nsregs++;
    return r;
}

/* A register that holds a constant in every lane (vector elements written as immediates). */
static int32_t const_reg(parser *ps, uint64_t value)
{
    ptx_func *f = ps->f;
    int32_t r = new_regs(ps, 1);
    f->consts = xrealloc(f->consts, (size_t)(f->nconsts + 1) * sizeof *f->consts);
    f->consts[f->nconsts].reg = r;
    f->consts[f->nconsts].value = value;
    f->nconsts++;
    return r;
}

static void note_shared_use(parser *ps, int sidx)
{
    ptx_func *f = ps->f;
    for (int i = 0; i < f->nshared_used; i++)
        if (f->shared_used[i] == sidx)
            return;
    f->shared_used = xrealloc(f->shared_used, (size_t)(f->nshared_used + 1) * sizeof(int));
    f->shared_used[f->nshared_used++] = sidx;
    if (ps->m->svars[sidx].is_extern)
        f->uses_dyn_smem = 1;
}

/* Resolves a name used as an operand: registers, symbols; unknown names become label fixups. */
static int resolve_name(parser *ps, const ptx_tok *t, ptx_opnd *o, uint32_t pc, int opi)
{
    int sr = sreg_of(t);
    if (sr >= 0) {
        if (sr >= SR_COUNT_STATIC) {
            o->kind = OPK_SREG;
            o->imm = (uint64_t)sr;
        } else {
            o->kind = OPK_REG;
            o->reg = sreg_pseudo(ps, sr);
        }
        return 0;
    }
    int32_t reg;
    if (t->s[0] == '%' && lookup_reg(ps, t, &reg)) {
        o->kind = OPK_REG;
        o->reg = reg;
        return 0;
    }
    int64_t v;
    if (lookup_name(ps, t->s, t->len, &v)) {
        o->kind = OPK_SYM;
        o->sym = -1;
        switch (NK_KIND(v)) {
        case NK_REG: o->kind = OPK_REG; o->reg = (int32_t)NK_VAL(v); return 0;
        case NK_GVAR: o->symk = SYMK_GLOBAL; o->sym = (int32_t)NK_VAL(v); return 0;
        case NK_SVAR: o->symk = SYMK_SHARED; o->sym = (int32_t)NK_VAL(v); note_shared_use(ps, o->sym); return 0;
        case NK_FUNC: o->symk = SYMK_FUNC; o->sym = (int32_t)NK_VAL(v); return 0;
        case NK_LOCAL: o->symk = SYMK_LOCAL; o->imm = NK_VAL(v); return 0;
        case NK_FPARAM: o->symk = SYMK_FPARAM; o->imm = NK_VAL(v); return 0;
        case NK_KPARAM: o->symk = SYMK_KPARAM; o->imm = NK_VAL(v); return 0;
        default: break;
        }
    }
    if (t->s[0] == '%') {
        perr(ps, t->line, "undeclared register '%.*s'", (int)t->len, t->s);
        return -1;
    }
    o->kind = OPK_SYM;
    o->symk = SYMK_NONE;
    o->sym = -1;
    GROW(ps->fix, ps->nfix, ps->cap_fix);
    ps->fix[ps->nfix++] = (fixup){ pc, opi, tok_dup(t), t->line };
    return 0;
}

static int parse_imm(parser *ps, ptx_opnd *o)
{
    int neg = accept_punct(ps, '-');
    ptx_tok *t = next(ps);
    uint64_t v;
    int isf;
    if (parse_u64(t, &v, &isf) < 0) {
        perr(ps, t->line, "bad number '%.*s'", (int)t->len, t->s);
        return -1;
    }
    o->kind = OPK_IMM;
    o->n = (uint8_t)isf;   /* 0 int, 1 f32 bits, 2 f64 bits: decode converts to the instruction type */
    if (neg) {
        if (isf == 1) v ^= 0x80000000u;
        else if (isf == 2) v ^= 0x8000000000000000ull;
        else v = 0 - v;
    }
    o->imm = v;
    return 0;
}

static int parse_address(parser *ps, ptx_opnd *o, uint32_t pc, int opi)
{
    o->kind = OPK_ADDR;
    o->reg = -1;
    o->sym = -1;
    ptx_tok *t = peek(ps);
    if (t->kind == TK_WORD) {
        next(ps);
        ptx_opnd base = { 0 };
        if (resolve_name(ps, t, &base, pc, opi) < 0)
            return -1;
        if (base.kind == OPK_REG) {
            o->reg = base.reg;
        } else if (base.kind == OPK_SYM) {
            o->symk = base.symk;
            o->sym = base.sym;
            o->imm = base.imm;
            if (base.symk == SYMK_NONE || base.symk == SYMK_FUNC) {
                perr(ps, t->line, "'%.*s' is not a variable", (int)t->len, t->s);
                return -1;
            }
        } else {
            perr(ps, t->line, "bad address base '%.*s'", (int)t->len, t->s);
            return -1;
        }
        while (tok_punct(peek(ps), '+') || tok_punct(peek(ps), '-')) {
            int neg = tok_punct(next(ps), '-');
            int64_t off;
            if (parse_int_const(ps, &off) < 0)
                return -1;
            o->imm += (uint64_t)(neg ? -off : off);
        }
    } else {
        int64_t a;
        if (parse_int_const(ps, &a) < 0)
            return -1;
        o->imm = (uint64_t)a;
    }
    return expect_punct(ps, ']') ? 0 : -1;
}

static int parse_operand(parser *ps, ptx_opnd *o, uint32_t pc, int opi)
{
    memset(o, 0, sizeof *o);
    o->reg = -1;
    o->sym = -1;
    ptx_tok *t = peek(ps);
    if (accept_punct(ps, '['))
        return parse_address(ps, o, pc, opi);
    if (accept_punct(ps, '{')) {
        o->kind = OPK_VEC;
        do {
            if (o->n >= 4) {
                perr(ps, t->line, "vector operand with more than 4 elements is not supported");
                return -1;
            }
            ptx_opnd e;
            if (parse_operand(ps, &e, pc, opi) < 0)
                return -1;
            if (e.kind == OPK_SINK) {
                o->vec[o->n++] = -1;
            } else if (e.kind == OPK_IMM) {
                o->vec[o->n++] = const_reg(ps, e.imm);
            } else if (e.kind == OPK_REG) {
                o->vec[o->n++] = e.reg;
            } else {
                perr(ps, t->line, "vector elements must be registers");
                return -1;
            }
        } while (accept_punct(ps, ','));
        return expect_punct(ps, '}') ? 0 : -1;
    }
    if (accept_punct(ps, '!')) {
        if (parse_operand(ps, o, pc, opi) < 0)
            return -1;
        o->neg = 1;
        return 0;
    }
    if (tok_punct(t, '-') || t->kind == TK_NUM)
        return parse_imm(ps, o);
    if (tok_is(t, "_")) {
        next(ps);
        o->kind = OPK_SINK;
        return 0;
    }
    if (t->kind == TK_WORD) {
        next(ps);
        /* generic(sym) / sym+off as an address value */
        if ((tok_is(t, "generic")) && accept_punct(ps, '(')) {
            ptx_tok *n = next(ps);
            if (resolve_name(ps, n, o, pc, opi) < 0 || !expect_punct(ps, ')'))
                return -1;
            o->n = 1;   /* generic address of the symbol */
            return 0;
        }
        if (resolve_name(ps, t, o, pc, opi) < 0)
            return -1;
        if (o->kind == OPK_SYM && tok_punct(peek(ps), '+') && peekn(ps, 1)->kind == TK_NUM) {
            next(ps);
            int64_t off;
            if (parse_int_const(ps, &off) < 0)
                return -1;
            o->imm += (uint64_t)off;
        }
        return 0;
    }
    perr(ps, t->line, "unexpected '%.*s' in operands", (int)t->len, t->s);
    return -1;
}

static ptx_insn *new_insn(parser *ps)
{
    ptx_func *f = ps->f;
    if (f->ncode >= ps->cap_code) {
        ps->cap_code = ps->cap_code ? ps->cap_code * 2 : 256;
        f->code = xrealloc(f->code, ps->cap_code * sizeof *f->code);
    }
    ptx_insn *in = &f->code[f->ncode];
    memset(in, 0, sizeof *in);
    in->guard = -1;
    return in;
}

/* call[.uni] (rets), func, (args)[, proto]; */
static int parse_call_operands(parser *ps, ptx_insn *in)
{
    ptx_func *f = ps->f;
    ptx_callsite cs = { .callee = -1 };
    uint32_t *lists[2] = { NULL, NULL };
    int counts[2] = { 0, 0 };
    int which = 0;
    if (tok_punct(peek(ps), '(')) {
        which = 1;   /* return list first */
        goto list;
    }
    for (;;) {
        ptx_tok *t = next(ps);
        int64_t v = 0;
        int32_t r;
        if (t->kind != TK_WORD || (!lookup_name(ps, t->s, t->len, &v) && !(t->s[0] == '%' && lookup_reg(ps, t, &r)))) {
            perr(ps, t->line, "call target '%.*s' is not a declared function", (int)t->len, t->s);
            goto fail;
        }
        if (NK_KIND(v) == NK_FUNC) {
            cs.callee = (int)NK_VAL(v);
        } else if (NK_KIND(v) == NK_REG || lookup_reg(ps, t, &in->op[0].reg)) {
            cs.callee = -1;   /* indirect call through a register */
            if (NK_KIND(v) == NK_REG) in->op[0].reg = (int32_t)NK_VAL(v);
            in->op[0].kind = OPK_REG;
            in->nops = 1;
        } else {
            perr(ps, t->line, "call target '%.*s' is not a function", (int)t->len, t->s);
            goto fail;
        }
        which = 0;
        if (!accept_punct(ps, ','))
            break;
        if (!tok_punct(peek(ps), '(')) {
            next(ps);   /* prototype name */
            break;
        }
list:
        next(ps);   /* '(' */
        if (!accept_punct(ps, ')')) {
            do {
                ptx_tok *a = next(ps);
                int64_t v2;
                if (a->kind != TK_WORD || !lookup_name(ps, a->s, a->len, &v2) || NK_KIND(v2) != NK_FPARAM) {
                    perr(ps, a->line, "call argument '%.*s' must be a .param variable", (int)a->len, a->s);
                    goto fail;
                }
                int k = which ? 0 : 1;   /* rets in lists[0], args in lists[1] */
                lists[k] = xrealloc(lists[k], (size_t)(counts[k] + 1) * sizeof(uint32_t));
                lists[k][counts[k]++] = NK_VAL(v2);
            } while (accept_punct(ps, ','));
            if (!expect_punct(ps, ')'))
                goto fail;
        }
        if (which) {
            which = 0;
            if (!expect_punct(ps, ','))
                goto fail;
            continue;
        }
        if (accept_punct(ps, ','))
            next(ps);   /* prototype */
        break;
    }
    cs.ret_off = lists[0]; cs.nrets = counts[0];
    cs.arg_off = lists[1]; cs.nargs = counts[1];
    f->calls = xrealloc(f->calls, (size_t)(f->ncalls + 1) * sizeof *f->calls);
    f->calls[f->ncalls] = cs;
    in->aux = (uint32_t)f->ncalls++;
    in->target = (uint32_t)cs.callee;
    return expect_punct(ps, ';') ? 0 : -1;
fail:
    free(lists[0]);
    free(lists[1]);
    return -1;
}

static int parse_instruction(parser *ps)
{
    ptx_func *f = ps->f;
    ptx_insn *in = new_insn(ps);
    uint32_t pc = f->ncode;
    if (accept_punct(ps, '@')) {
        int neg = accept_punct(ps, '!');
        ptx_tok *g = next(ps);
        int32_t r;
        if (!lookup_reg(ps, g, &r)) {
            perr(ps, g->line, "bad guard predicate '%.*s'", (int)g->len, g->s);
            return -1;
        }
        in->guard = r;
        in->guard_neg = (uint8_t)neg;
    }
    ptx_tok *op = next(ps);
    if (op->kind != TK_WORD) {
        perr(ps, op->line, "expected an instruction, got '%.*s'", (int)op->len, op->s);
        return -1;
    }
    in->line = op->line;
    char opcode[128];
    if (op->len >= sizeof opcode) {
        perr(ps, op->line, "instruction name too long");
        return -1;
    }
    memcpy(opcode, op->s, op->len);
    opcode[op->len] = 0;
    if (!ptx_decode_known(opcode)) {
        perr(ps, op->line, "unsupported instruction '%s'", opcode);
        return -1;
    }
    if (!strncmp(opcode, "call", 4) && (opcode[4] == 0 || opcode[4] == '.')) {
        if (parse_call_operands(ps, in) < 0)
            return -1;
    } else if (!accept_punct(ps, ';')) {
        int n = 0;
        do {
            if (n >= PTX_MAX_OPS) {
                perr(ps, op->line, "too many operands for %s", opcode);
                return -1;
            }
            if (parse_operand(ps, &in->op[n], pc, n) < 0)
                return -1;
            n++;
            if (accept_punct(ps, '|')) {   /* d|p pair */
                if (n >= PTX_MAX_OPS || parse_operand(ps, &in->op[n], pc, n) < 0)
                    return -1;
                in->op[n].n = 1;          /* marks the second of a pair */
                n++;
            }
        } while (accept_punct(ps, ','));
        in->nops = (uint8_t)n;
        if (!expect_punct(ps, ';'))
            return -1;
    }
    f->ncode++;
    if (ptx_decode_insn(ps->m, f, opcode, in, ps->err, ps->errlen) < 0) {
        ps->failed = 1;
        return -1;
    }
    return 0;
}

/* .reg .b32 %r<57>;  .reg .pred p, q; */
static int parse_reg_decl(parser *ps)
{
    for (;;) {
        ptx_tok *t = peek(ps);
        if (type_of_word(t) || tok_is(t, ".v2") || tok_is(t, ".v4") || tok_is(t, ".align")) {
            next(ps);
            if (tok_is(t, ".align")) { int64_t a; if (parse_int_const(ps, &a) < 0) return -1; }
            continue;
        }
        break;
    }
    do {
        ptx_tok *name = next(ps);
        if (name->kind != TK_WORD) {
            perr(ps, name->line, "bad register name");
            return -1;
        }
        if (accept_punct(ps, '<')) {
            int64_t n;
            if (parse_int_const(ps, &n) < 0 || n < 0 || n > 1000000 || !expect_punct(ps, '>'))
                return -1;
            GROW(ps->ranges, ps->nranges, ps->cap_ranges);
            ps->ranges[ps->nranges].prefix = tok_dup(name);
            ps->ranges[ps->nranges].count = (uint32_t)n;
            ps->ranges[ps->nranges].base = (uint32_t)new_regs(ps, (uint32_t)n);
            ps->nranges++;
        } else {
            int64_t prev;
            if (!map_get(&ps->sc->names, name->s, name->len, &prev))
                map_put(&ps->sc->names, name->s, name->len, NK_MAKE(NK_REG, new_regs(ps, 1)));
        }
    } while (accept_punct(ps, ','));
    return expect_punct(ps, ';') ? 0 : -1;
}

/* .local / .param inside a body: frame storage. */
static int parse_frame_decl(parser *ps, int kind)
{
    var_decl d;
    if (parse_var_decl(ps, &d, 0) < 0)
        return -1;
    uint32_t a = (uint32_t)(d.align ? d.align : 1);
    ps->frame_top = align_up32(ps->frame_top, a < 4 ? 4 : a);
    map_put(&ps->sc->names, d.name->s, d.name->len, NK_MAKE(kind, ps->frame_top));
    ps->frame_top += (uint32_t)decl_bytes(&d);
    return expect_punct(ps, ';') ? 0 : -1;
}

static void skip_to_line_end(parser *ps, int line)
{
    while (peek(ps)->kind != TK_EOF && peek(ps)->line == line)
        next(ps);
}

static void skip_statement(parser *ps)
{
    while (peek(ps)->kind != TK_EOF && !tok_punct(peek(ps), ';'))
        next(ps);
    accept_punct(ps, ';');
}

/* $L_brx_0: .branchtargets a, b, c; */
static int parse_branchtargets(parser *ps, const ptx_tok *label)
{
    ptx_func *f = ps->f;
    f->brtabs = xrealloc(f->brtabs, (size_t)(f->nbrtabs + 1) * sizeof *f->brtabs);
    ptx_brtable *bt = &f->brtabs[f->nbrtabs];
    bt->n = 0;
    bt->pcs = NULL;
    map_put(&ps->brtab_names, label->s, label->len, f->nbrtabs);
    do {
        ptx_tok *t = next(ps);
        if (t->kind != TK_WORD) {
            perr(ps, t->line, "bad branch target");
            return -1;
        }
        bt->pcs = xrealloc(bt->pcs, (bt->n + 1) * sizeof(uint32_t));
        /* resolved after the body: store a fixup with pc = table, opi = -(index+1) */
        GROW(ps->fix, ps->nfix, ps->cap_fix);
        ps->fix[ps->nfix++] = (fixup){ (uint32_t)f->nbrtabs, -(int)(bt->n + 1), tok_dup(t), t->line };
        bt->pcs[bt->n++] = 0;
    } while (accept_punct(ps, ','));
    f->nbrtabs++;
    return expect_punct(ps, ';') ? 0 : -1;
}

static int parse_body(parser *ps)
{
    int depth = 1;
    while (depth > 0 && !ps->failed) {
        ptx_tok *t = peek(ps);
        if (t->kind == TK_EOF) {
            perr(ps, t->line, "unexpected end of PTX inside a function body");
            return -1;
        }
        if (accept_punct(ps, '{')) { depth++; scope_push(ps); continue; }
        if (accept_punct(ps, '}')) { depth--; if (depth > 0) scope_pop(ps); continue; }
        if (t->kind == TK_WORD && tok_punct(peekn(ps, 1), ':')) {
            next(ps);
            next(ps);
            if (accept_word(ps, ".branchtargets")) {
                if (parse_branchtargets(ps, t) < 0)
                    return -1;
                continue;
            }
            if (tok_is(peek(ps), ".callprototype")) {
                skip_statement(ps);
                continue;
            }
            map_put(&ps->labels, t->s, t->len, ps->f->ncode);
            continue;
        }
        if (tok_is(t, ".reg")) { next(ps); if (parse_reg_decl(ps) < 0) return -1; continue; }
        if (tok_is(t, ".local")) { next(ps); if (parse_frame_decl(ps, NK_LOCAL) < 0) return -1; continue; }
        if (tok_is(t, ".param")) { next(ps); if (parse_frame_decl(ps, NK_FPARAM) < 0) return -1; continue; }
        if (tok_is(t, ".shared")) {
            next(ps);
            var_decl d;
            if (parse_var_decl(ps, &d, 0) < 0)
                return -1;
            add_svar(ps, &d, 0, &ps->sc->names);
            if (!expect_punct(ps, ';'))
                return -1;
            continue;
        }
        if (tok_is(t, ".loc") || tok_is(t, ".file")) { skip_to_line_end(ps, t->line); continue; }
        if (tok_is(t, ".pragma")) { skip_statement(ps); continue; }
        if (t->kind == TK_WORD && t->s[0] == '.' ) {
            perr(ps, t->line, "unsupported directive '%.*s' in a function body", (int)t->len, t->s);
            return -1;
        }
        if (parse_instruction(ps) < 0)
            return -1;
    }
    return ps->failed ? -1 : 0;
}

static int resolve_fixups(parser *ps)
{
    ptx_func *f = ps->f;
    for (int i = 0; i < ps->nfix; i++) {
        fixup *fx = &ps->fix[i];
        int64_t pc;
        if (!map_get(&ps->labels, fx->name, strlen(fx->name), &pc)) {
            int64_t bt;
            if (fx->opi >= 0 && map_get(&ps->brtab_names, fx->name, strlen(fx->name), &bt)) {
                f->code[fx->pc].aux = (uint32_t)bt;   /* brx.idx table */
                continue;
            }
            perr(ps, fx->line, "unknown symbol '%s'", fx->name);
            return -1;
        }
        if (fx->opi < 0) {
            f->brtabs[fx->pc].pcs[-fx->opi - 1] = (uint32_t)pc;
            continue;
        }
        ptx_insn *in = &f->code[fx->pc];
        if (in->ctl != CTL_BRA) {
            perr(ps, fx->line, "label '%s' used as a value", fx->name);
            return -1;
        }
        in->target = (uint32_t)pc;
    }
    return 0;
}

static void reset_func_state(parser *ps)
{
    for (int i = 0; i < ps->nranges; i++)
        free(ps->ranges[i].prefix);
    ps->nranges = 0;
    for (int i = 0; i < ps->nfix; i++)
        free(ps->fix[i].name);
    ps->nfix = 0;
    map_free(&ps->labels);
    map_free(&ps->brtab_names);
    map_init(&ps->labels);
    map_init(&ps->brtab_names);
    for (int i = 0; i < SR_COUNT; i++)
        ps->sreg_reg[i] = -1;
    while (ps->sc)
        scope_pop(ps);
    ps->f = NULL;
    ps->cap_code = 0;
}

static int parse_perf_directives(parser *ps, ptx_func *f)
{
    for (;;) {
        ptx_tok *t = peek(ps);
        unsigned *dst = NULL;
        if (tok_is(t, ".maxntid")) dst = f->maxntid;
        else if (tok_is(t, ".reqntid")) { dst = f->maxntid; f->reqntid = 1; }
        if (dst) {
            next(ps);
            for (int i = 0; i < 3; i++) dst[i] = 1;
            int k = 0;
            do {
                int64_t v;
                if (parse_int_const(ps, &v) < 0)
                    return -1;
                if (k < 3) dst[k++] = (unsigned)v;
            } while (accept_punct(ps, ','));
            continue;
        }
        if (tok_is(t, ".minnctapersm")) {
            next(ps);
            int64_t v;
            if (parse_int_const(ps, &v) < 0)
                return -1;
            f->minnctapersm = (unsigned)v;
            continue;
        }
        if (tok_is(t, ".maxnreg") || tok_is(t, ".maxnctapersm") || tok_is(t, ".maxclusterrank")) {
            next(ps);
            int64_t v;
            if (parse_int_const(ps, &v) < 0)
                return -1;
            continue;
        }
        if (tok_is(t, ".reqnctapercluster") || tok_is(t, ".explicitcluster") || tok_is(t, ".noreturn")
            || tok_is(t, ".nocluster")) {
            next(ps);
            if (tok_is(t, ".reqnctapercluster"))
                do { int64_t v; if (parse_int_const(ps, &v) < 0) return -1; } while (accept_punct(ps, ','));
            continue;
        }
        if (tok_is(t, ".pragma")) { skip_statement(ps); continue; }
        return 0;
    }
}

static void free_params(ptx_param *p, int n)
{
    for (int i = 0; i < n; i++)
        free(p[i].name);
    free(p);
}

static int parse_function(parser *ps, int is_entry, int is_extern)
{
    ptx_func *f = NULL;
    ptx_param *rets = NULL;
    int nrets = 0;
    uint32_t off = 0;
    if (!is_entry && tok_punct(peek(ps), '(')) {
        if (parse_param_list(ps, &rets, &nrets, &off, 0) < 0) {
            free_params(rets, nrets);
            return -1;
        }
    }
    ptx_tok *name = next(ps);
    if (name->kind != TK_WORD) {
        perr(ps, name->line, "expected a function name");
        free_params(rets, nrets);
        return -1;
    }
    int64_t v;
    if (map_get(&ps->globals, name->s, name->len, &v) && NK_KIND(v) == NK_FUNC) {
        f = ps->m->funcs[NK_VAL(v)];
        if (f->code) {
            perr(ps, name->line, "function '%s' defined twice", f->name);
            free_params(rets, nrets);
            return -1;
        }
        free_params(f->params, f->nparams);
        free_params(f->rets, f->nrets);
        f->params = f->rets = NULL;
        f->nparams = f->nrets = 0;
    } else {
        f = new_func(ps, name);
    }
    f->is_entry = is_entry;
    f->is_extern = is_extern;
    f->rets = rets;
    f->nrets = nrets;
    uint32_t poff = is_entry ? 0 : off;
    if (tok_punct(peek(ps), '(')) {
        if (parse_param_list(ps, &f->params, &f->nparams, &poff, is_entry) < 0)
            return -1;
    }
    if (parse_perf_directives(ps, f) < 0)
        return -1;
    if (accept_punct(ps, ';'))
        return 0;   /* declaration only */
    if (!expect_punct(ps, '{'))
        return -1;
    f->is_extern = 0;
    ps->f = f;
    scope_push(ps);
    if (is_entry) {
        f->kparam_bytes = poff;
        for (int i = 0; i < f->nparams; i++)
            map_put(&ps->sc->names, f->params[i].name, strlen(f->params[i].name),
                    NK_MAKE(NK_KPARAM, f->params[i].offset));
        ps->frame_top = 0;
    } else {
        f->fparam_base = 0;
        f->fret_base = 0;
        for (int i = 0; i < f->nrets; i++)
            map_put(&ps->sc->names, f->rets[i].name, strlen(f->rets[i].name), NK_MAKE(NK_FPARAM, f->rets[i].offset));
        for (int i = 0; i < f->nparams; i++)
            map_put(&ps->sc->names, f->params[i].name, strlen(f->params[i].name),
                    NK_MAKE(NK_FPARAM, f->params[i].offset));
        ps->frame_top = poff;
    }
    if (parse_body(ps) < 0)
        return -1;
    if (resolve_fixups(ps) < 0)
        return -1;
    /* a body that falls off the end returns */
    ptx_insn *in = new_insn(ps);
    in->line = peek(ps)->line;
    f->ncode++;
    if (ptx_decode_insn(ps->m, f, "ret", in, ps->err, ps->errlen) < 0)
        return -1;
    f->frame_bytes = align_up32(ps->frame_top, 16);
    reset_func_state(ps);
    return 0;
}

static int parse_module_var(parser *ps, int space_word, int is_extern)
{
    var_decl d;
    if (parse_var_decl(ps, &d, 1) < 0)
        return -1;
    if (space_word == 2) {   /* .shared */
        add_svar(ps, &d, is_extern, &ps->globals);
    } else {
        add_gvar(ps, &d, space_word == 1 ? PTX_SPACE_GLOBAL : PTX_SPACE_CONST, is_extern);
    }
    return expect_punct(ps, ';') ? 0 : -1;
}

static int parse_top(parser *ps)
{
    while (!ps->failed) {
        ptx_tok *t = peek(ps);
        if (t->kind == TK_EOF)
            return 0;
        if (tok_is(t, ".version")) {
            next(ps);
            ptx_tok *v = next(ps);
            ps->m->version_major = atoi(v->s);
            const char *dot = memchr(v->s, '.', v->len);
            ps->m->version_minor = dot ? atoi(dot + 1) : 0;
            continue;
        }
        if (tok_is(t, ".target")) {
            next(ps);
            do {
                ptx_tok *a = next(ps);
                if (a->len > 3 && !memcmp(a->s, "sm_", 3))
                    ps->m->target_sm = atoi(a->s + 3);
            } while (accept_punct(ps, ','));
            continue;
        }
        if (tok_is(t, ".address_size")) {
            next(ps);
            ptx_tok *a = next(ps);
            if (a->len != 2 || memcmp(a->s, "64", 2)) {
                perr(ps, a->line, "only .address_size 64 is supported");
                return -1;
            }
            continue;
        }
        if (tok_is(t, ".file") || tok_is(t, ".loc")) { next(ps); skip_to_line_end(ps, t->line); continue; }
        if (tok_is(t, ".section")) {
            next(ps);
            while (!tok_punct(peek(ps), '{') && peek(ps)->kind != TK_EOF) next(ps);
            int depth = 0;
            do {
                ptx_tok *u = next(ps);
                if (tok_punct(u, '{')) depth++;
                else if (tok_punct(u, '}')) depth--;
                else if (u->kind == TK_EOF) return -1;
            } while (depth > 0);
            continue;
        }
        if (tok_is(t, ".pragma")) { skip_statement(ps); continue; }
        int is_extern = 0;
        for (;;) {
            if (accept_word(ps, ".visible") || accept_word(ps, ".weak") || accept_word(ps, ".common"))
                continue;
            if (accept_word(ps, ".extern")) { is_extern = 1; continue; }
            break;
        }
        t = peek(ps);
        if (accept_word(ps, ".entry")) { if (parse_function(ps, 1, is_extern) < 0) return -1; continue; }
        if (accept_word(ps, ".func")) { if (parse_function(ps, 0, is_extern) < 0) return -1; continue; }
        if (accept_word(ps, ".global")) { if (parse_module_var(ps, 1, is_extern) < 0) return -1; continue; }
        if (accept_word(ps, ".const")) { if (parse_module_var(ps, 3, is_extern) < 0) return -1; continue; }
        if (accept_word(ps, ".shared")) { if (parse_module_var(ps, 2, is_extern) < 0) return -1; continue; }
        perr(ps, t->line, "unexpected '%.*s' at module scope", (int)t->len, t->s);
        return -1;
    }
    return -1;
}

static int check_calls(parser *ps)
{
    ptx_module *m = ps->m;
    for (int i = 0; i < m->nfuncs; i++) {
        ptx_func *f = m->funcs[i];
        for (int c = 0; c < f->ncalls; c++) {
            if (f->calls[c].callee < 0)
                continue;
            ptx_func *callee = m->funcs[f->calls[c].callee];
            if (callee->builtin == BI_MALLOC || callee->builtin == BI_FREE) {
                snprintf(ps->err, ps->errlen, "function '%s' calls device-side %s, which the software GPU does not support",
                         f->name, callee->name);
                return -1;
            }
            if (!callee->builtin && !callee->code) {
                snprintf(ps->err, ps->errlen, "function '%s' calls '%s', which is declared but not defined "
                         "(link device code with cuLink* first)", f->name, callee->name);
                return -1;
            }
            if (!callee->builtin && (callee->nparams != f->calls[c].nargs)) {
                snprintf(ps->err, ps->errlen, "call from '%s' to '%s' passes %d arguments, expected %d",
                         f->name, callee->name, f->calls[c].nargs, callee->nparams);
                return -1;
            }
        }
    }
    return 0;
}

ptx_module *ptx_module_parse(const char *text, size_t len, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    err[0] = 0;
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.err = err;
    ps.errlen = errlen;
    ps.m = xcalloc(1, sizeof *ps.m);
    pthread_mutex_init(&ps.m->reloc_lock, NULL);
    map_init(&ps.globals);
    map_init(&ps.labels);
    map_init(&ps.brtab_names);
    for (int i = 0; i < SR_COUNT; i++)
        ps.sreg_reg[i] = -1;
    int rc = ptx_lex(text, len, &ps.tk, err, errlen);
    if (rc == 0)
        rc = parse_top(&ps);
    if (rc == 0 && !ps.failed)
        rc = check_calls(&ps);
    if (rc == 0 && ps.m->nfuncs == 0 && ps.m->ngvars == 0) {
        snprintf(err, errlen, "PTX module defines nothing (is this PTX text?)");
        rc = -1;
    }
    if (rc == 0)
        for (int i = 0; i < ps.m->nfuncs; i++)
            if (ps.m->funcs[i]->is_entry && ps.m->funcs[i]->code)
                ptx_layout_entry(ps.m, ps.m->funcs[i]);
    reset_func_state(&ps);
    free(ps.ranges);
    free(ps.fix);
    map_free(&ps.globals);
    map_free(&ps.labels);
    map_free(&ps.brtab_names);
    free(ps.tk.v);
    if (rc != 0 || ps.failed) {
        if (!err[0])
            snprintf(err, errlen, "PTX parse error");
        ptx_module_free(ps.m);
        return NULL;
    }
    return ps.m;
}

