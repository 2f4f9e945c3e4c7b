/* ptx_module.c: what a parsed module knows about itself: the per-entry layout computed after
 * parsing (shared-memory offsets of the symbols each kernel reaches, worst-case per-thread stack,
 * recursion), freeing, and the module and function accessors declared in ptx.h. */
#include "ptx_ir.h"
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        abort();
    return p;
}

static uint32_t align_up32(uint32_t v, uint32_t a)
{
    if (a == 0) a = 1;
    return (v + a - 1) / a * a;
}

/* ---- per-entry layout --------------------------------------------------------------------- */
#define PTX_RECURSION_STACK (16u * 1024u)

/* Worst-case per-lane stack of f and its callees; a cycle marks the entry recursive.
 * state: 0 unvisited, 1 on the DFS path, 2 done (memo holds the result). */
static uint32_t func_stack(ptx_module *m, ptx_func *f, uint8_t *state, uint32_t *memo, int *recursive)
{
    if (state[f->index] == 2)
        return memo[f->index];
    if (state[f->index] == 1) {
        *recursive = 1;
        return 0;
    }
    state[f->index] = 1;
    uint32_t worst = 0;
    for (int i = 0; i < f->ncalls; i++) {
        if (f->calls[i].callee < 0) {   /* indirect: any function of the module may be called */
            *recursive = 1;
            continue;
        }
        ptx_func *c = m->funcs[f->calls[i].callee];
        if (c->builtin)
            continue;
        uint32_t s = func_stack(m, c, state, memo, recursive);
        if (s > worst) worst = s;
    }
    state[f->index] = 2;
    memo[f->index] = f->frame_bytes + worst;
    return memo[f->index];
}

static void mark_shared(ptx_module *m, ptx_func *f, uint8_t *used, uint8_t *seen)
{
    if (seen[f->index])
        return;
    seen[f->index] = 1;
    for (int i = 0; i < f->nshared_used; i++)
        used[f->shared_used[i]] = 1;
    for (int i = 0; i < f->ncalls; i++) {
        if (f->calls[i].callee < 0) {   /* indirect call: every function may run */
            for (int k = 0; k < m->nfuncs; k++)
                if (!m->funcs[k]->is_entry) mark_shared(m, m->funcs[k], used, seen);
            continue;
        }
        ptx_func *c = m->funcs[f->calls[i].callee];
        if (c->uses_dyn_smem) f->uses_dyn_smem = 1;
        mark_shared(m, c, used, seen);
    }
}

void ptx_layout_entry(ptx_module *m, ptx_func *f)
{
    uint8_t *used = xcalloc((size_t)m->nsvars + 1, 1);
    uint8_t *seen = xcalloc((size_t)m->nfuncs + 1, 1);
    mark_shared(m, f, used, seen);
    f->shared_off = xcalloc((size_t)m->nsvars + 1, sizeof(uint32_t));
    uint32_t off = 0;
    size_t dyn_align = 16;
    for (int i = 0; i < m->nsvars; i++) {
        if (!used[i] || m->svars[i].is_extern) {
            if (m->svars[i].is_extern && m->svars[i].align > dyn_align)
                dyn_align = m->svars[i].align;
            continue;
        }
        off = align_up32(off, (uint32_t)m->svars[i].align);
        f->shared_off[i] = off;
        off += (uint32_t)m->svars[i].size;
    }
    f->static_smem = off;
    uint32_t dyn_off = align_up32(off, (uint32_t)dyn_align);
    for (int i = 0; i < m->nsvars; i++)
        if (m->svars[i].is_extern)
            f->shared_off[i] = dyn_off;
    int recursive = 0;
    uint8_t *state = xcalloc((size_t)m->nfuncs + 1, 1);
    uint32_t *memo = xcalloc((size_t)m->nfuncs + 1, sizeof(uint32_t));
    uint32_t stack = func_stack(m, f, state, memo, &recursive);
    free(state);
    free(memo);
    f->recursive = recursive;
    f->max_stack = recursive ? stack + PTX_RECURSION_STACK : stack;
    free(used);
    free(seen);
}

void ptx_module_free(ptx_module *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nfuncs; i++) {
        ptx_func *f = m->funcs[i];
        free(f->name);
        for (int k = 0; k < f->nparams; k++) free(f->params[k].name);
        for (int k = 0; k < f->nrets; k++) free(f->rets[k].name);
        free(f->params);
        free(f->rets);
        free(f->code);
        free(f->sregs);
        free(f->consts);
        for (int k = 0; k < f->nbrtabs; k++) free(f->brtabs[k].pcs);
        free(f->brtabs);
        for (int k = 0; k < f->ncalls; k++) { free(f->calls[k].arg_off); free(f->calls[k].ret_off); }
        free(f->calls);
        free(f->callees);
        free(f->shared_used);
        free(f->shared_off);
        free(f);
    }
    free(m->funcs);
    for (int i = 0; i < m->ngvars; i++) {
        free(m->gvars[i].name);
        free(m->gvars[i].init);
    }
    free(m->gvars);
    for (int i = 0; i < m->nsvars; i++)
        free(m->svars[i].name);
    free(m->svars);
    free(m->relocs);
    pthread_mutex_destroy(&m->reloc_lock);
    free(m);
}

/* ---- accessors (ptx.h) -------------------------------------------------------------------- */
int ptx_module_global_count(const ptx_module *m) { return m->ngvars; }

void ptx_module_global_info(const ptx_module *m, int i, ptx_global_info *out)
{
    const ptx_gvar *g = &m->gvars[i];
    out->name = g->name;
    out->space = g->space;
    out->size = g->is_extern ? 0 : g->size;
    out->align = g->align;
    out->init = g->init;
}

void ptx_module_bind_global(ptx_module *m, int i, uint64_t addr) { m->gvars[i].addr = addr; }

int ptx_module_find_global(const ptx_module *m, const char *name)
{
    for (int i = 0; i < m->ngvars; i++)
        if (!strcmp(m->gvars[i].name, name))
            return i;
    return -1;
}

int ptx_module_func_count(const ptx_module *m) { return m->nfuncs; }
ptx_func *ptx_module_func(ptx_module *m, int i) { return (i >= 0 && i < m->nfuncs) ? m->funcs[i] : NULL; }

ptx_func *ptx_module_find_func(ptx_module *m, const char *name)
{
    for (int i = 0; i < m->nfuncs; i++)
        if (!strcmp(m->funcs[i]->name, name) && m->funcs[i]->code)
            return m->funcs[i];
    return NULL;
}

void ptx_func_get_info(const ptx_func *f, ptx_func_info *out)
{
    memset(out, 0, sizeof *out);
    out->name = f->name;
    out->is_entry = f->is_entry;
    out->static_smem = f->static_smem;
    out->local_bytes = f->max_stack;
    out->param_bytes = f->kparam_bytes;
    out->nparams = f->nparams;
    out->num_regs = f->nregs > 255 ? 255 : (int)(f->nregs < 16 ? 16 : f->nregs);
    memcpy(out->maxntid, f->maxntid, sizeof out->maxntid);
    out->reqntid = f->reqntid;
    out->minnctapersm = f->minnctapersm;
}

int ptx_func_param(const ptx_func *f, int i, size_t *offset, size_t *size)
{
    if (i < 0 || i >= f->nparams)
        return -1;
    if (offset) *offset = f->params[i].offset;
    if (size) *size = f->params[i].size;
    return 0;
}
