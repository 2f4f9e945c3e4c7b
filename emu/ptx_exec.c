/* ptx_exec.c: runs decoded PTX. Owns the warp scheduler (SIMT lanes with per-lane program
 * counters, lowest-pc-first reconvergence, call frames), block execution with barriers, the
 * host thread pool that runs the blocks of a grid, address translation for every state space,
 * and faults. Instruction semantics live in ptx_ops_*.c. */
#include "ptx_ir.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { BI_NONE = 0, BI_VPRINTF, BI_ASSERTFAIL, BI_MALLOC, BI_FREE };
#define WARP_SLICE 4096          /* instructions a warp runs before the next warp gets a turn */

static ptx_mem_lookup_fn g_lookup;
void ptx_set_mem_lookup(ptx_mem_lookup_fn fn) { g_lookup = fn; }

/* ---- faults ------------------------------------------------------------------------------- */
void ptx_raise(ptx_warp *w, CUresult code, const char *fmt, ...)
{
    ptx_grid *g = w->blk->grid;
    w->stop = 1;
    pthread_mutex_lock(&g->fault_lock);
    if (g->fault.code == CUDA_SUCCESS) {
        g->fault.code = code;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(g->fault.msg, sizeof g->fault.msg, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof g->fault.msg)
            snprintf(g->fault.msg + n, sizeof g->fault.msg - (size_t)n, " in kernel %s (block %u,%u,%u warp %d)",
                     g->fn->name, w->blk->ctaid[0], w->blk->ctaid[1], w->blk->ctaid[2], w->id);
    }
    g->abort = 1;
    pthread_mutex_unlock(&g->fault_lock);
}

/* ---- addresses ---------------------------------------------------------------------------- */
static inline uint8_t *lane_local(ptx_warp *w, int lane)
{
    return w->local + (size_t)lane * w->local_cap;
}

uint64_t ptx_opnd_addr(ptx_warp *w, const ptx_opnd *o, int lane)
{
    uint64_t a = o->imm + (o->reg >= 0 ? REG(w, o->reg)[lane] : 0);
    switch (o->symk) {
    case SYMK_GLOBAL: a += w->blk->grid->fn->mod->gvars[o->sym].addr; break;
    case SYMK_SHARED: a += w->blk->grid->fn->shared_off[o->sym]; break;
    case SYMK_LOCAL: case SYMK_FPARAM: a += w->fbase; break;
    default: break;
    }
    return a;
}

static const char *space_name(int sp)
{
    static const char *n[] = { "generic", "global", "shared", "local", "const", "param", "param" };
    return (sp >= 0 && sp < SP_COUNT) ? n[sp] : "?";
}

static void *global_ptr(ptx_warp *w, uint64_t addr, uint32_t size, int is_store, int sp, int lane)
{
    if (addr >= w->lo_cache && addr + size <= w->hi_cache && addr + size >= addr)
        return (void *)(uintptr_t)addr;
    uint64_t lo, hi;
    if (g_lookup && addr + size >= addr && g_lookup(addr, size, &lo, &hi)) {
        w->lo_cache = lo;
        w->hi_cache = hi;
        return (void *)(uintptr_t)addr;
    }
    ptx_raise(w, CUDA_ERROR_ILLEGAL_ADDRESS, "out-of-bounds %s %s of %u bytes at 0x%llx (lane %d, thread %u,%u,%u)",
              space_name(sp), is_store ? "store" : "load", size, (unsigned long long)addr, lane,
              w->tid[lane][0], w->tid[lane][1], w->tid[lane][2]);
    return NULL;
}

static void *bad_addr(ptx_warp *w, int sp, uint64_t addr, int lane, uint32_t size, int is_store)
{
    ptx_raise(w, CUDA_ERROR_ILLEGAL_ADDRESS, "out-of-bounds %s %s of %u bytes at 0x%llx (lane %d, thread %u,%u,%u)",
              space_name(sp), is_store ? "store" : "load", size, (unsigned long long)addr, lane,
              w->tid[lane][0], w->tid[lane][1], w->tid[lane][2]);
    return NULL;
}

void *ptx_addr_ptr(ptx_warp *w, int sp, uint64_t addr, int lane, uint32_t size, int is_store)
{
    ptx_block *b = w->blk;
    switch (sp) {
    case SP_GLOBAL:
    case SP_CONST:
        return global_ptr(w, addr, size, is_store, sp, lane);
    case SP_SHARED:
        if (addr + size <= b->smem_size && addr + size >= addr)
            return b->smem + addr;
        return bad_addr(w, sp, addr, lane, size, is_store);
    case SP_LOCAL:
    case SP_PARAM_FRAME:
        if (addr + size <= w->local_cap && addr + size >= addr)
            return lane_local(w, lane) + addr;
        return bad_addr(w, sp, addr, lane, size, is_store);
    case SP_PARAM_KERNEL: {
        uint32_t n = b->grid->fn->kparam_bytes;
        if (!is_store && addr + size <= n && addr + size >= addr)
            return (void *)(b->grid->params + addr);
        return bad_addr(w, sp, addr, lane, size, is_store);
    }
    default: {   /* generic */
        uintptr_t sm = (uintptr_t)b->smem;
        if (addr >= sm && addr + size <= sm + b->smem_size)
            return (void *)(uintptr_t)addr;
        uintptr_t lb = (uintptr_t)lane_local(w, lane);
        if (addr >= lb && addr + size <= lb + w->local_cap)
            return (void *)(uintptr_t)addr;
        uintptr_t pb = (uintptr_t)b->grid->params;
        if (!is_store && addr >= pb && addr + size <= pb + b->grid->fn->kparam_bytes)
            return (void *)(uintptr_t)addr;
        return global_ptr(w, addr, size, is_store, sp, lane);
    }
    }
}

void *ptx_mem_ptr(ptx_warp *w, int space, const ptx_opnd *o, int lane, uint32_t size, int is_store)
{
    return ptx_addr_ptr(w, space, ptx_opnd_addr(w, o, lane), lane, size, is_store);
}

/* Generic <-> state-space conversions (cvta). */
uint64_t ptx_to_generic(ptx_warp *w, int sp, uint64_t a, int lane)
{
    switch (sp) {
    case SP_SHARED: return (uint64_t)(uintptr_t)w->blk->smem + a;
    case SP_LOCAL: case SP_PARAM_FRAME: return (uint64_t)(uintptr_t)lane_local(w, lane) + a;
    case SP_PARAM_KERNEL: return (uint64_t)(uintptr_t)w->blk->grid->params + a;
    default: return a;
    }
}

uint64_t ptx_from_generic(ptx_warp *w, int sp, uint64_t a, int lane)
{
    switch (sp) {
    case SP_SHARED: return a - (uint64_t)(uintptr_t)w->blk->smem;
    case SP_LOCAL: case SP_PARAM_FRAME: return a - (uint64_t)(uintptr_t)lane_local(w, lane);
    case SP_PARAM_KERNEL: return a - (uint64_t)(uintptr_t)w->blk->grid->params;
    default: return a;
    }
}

int ptx_is_space(ptx_warp *w, int sp, uint64_t a, int lane)
{
    uintptr_t sm = (uintptr_t)w->blk->smem, lb = (uintptr_t)lane_local(w, lane);
    uintptr_t pb = (uintptr_t)w->blk->grid->params;
    int in_sh = a >= sm && a < sm + w->blk->smem_size;
    int in_lo = a >= lb && a < lb + w->local_cap;
    int in_pa = a >= pb && a < pb + w->blk->grid->fn->kparam_bytes;
    switch (sp) {
    case SP_SHARED: return in_sh;
    case SP_LOCAL: return in_lo;
    case SP_PARAM_KERNEL: return in_pa;
    case SP_GLOBAL: case SP_CONST: return !in_sh && !in_lo && !in_pa;
    default: return 1;
    }
}

/* ---- special registers -------------------------------------------------------------------- */
static uint64_t sreg_value(ptx_warp *w, int sr, int lane)
{
    ptx_block *b = w->blk;
    const ptx_launch *l = &b->grid->l;
    switch (sr) {
    case SR_TID_X: return w->tid[lane][0];
    case SR_TID_Y: return w->tid[lane][1];
    case SR_TID_Z: return w->tid[lane][2];
    case SR_NTID_X: return l->block[0];
    case SR_NTID_Y: return l->block[1];
    case SR_NTID_Z: return l->block[2];
    case SR_CTAID_X: return b->ctaid[0];
    case SR_CTAID_Y: return b->ctaid[1];
    case SR_CTAID_Z: return b->ctaid[2];
    case SR_NCTAID_X: return l->grid[0];
    case SR_NCTAID_Y: return l->grid[1];
    case SR_NCTAID_Z: return l->grid[2];
    case SR_LANEID: return (uint64_t)lane;
    case SR_WARPID: return (uint64_t)w->id;
    case SR_NWARPID: return 64;
    case SR_SMID: return (uint64_t)b->worker;
    case SR_NSMID: return (uint64_t)ptx_pool_threads();
    case SR_GRIDID: return 1;
    case SR_LANEMASK_EQ: return 1u << lane;
    case SR_LANEMASK_LT: return (1u << lane) - 1;
    case SR_LANEMASK_LE: return lane == 31 ? 0xffffffffu : (2u << lane) - 1;
    case SR_LANEMASK_GT: return lane == 31 ? 0 : ~((2u << lane) - 1);
    case SR_LANEMASK_GE: return ~((1u << lane) - 1);
    case SR_DYN_SMEM: return l->dyn_smem;
    case SR_TOTAL_SMEM: return b->smem_size;
    case SR_WARPSZ: return PTX_WARP;
    default: return 0;
    }
}

uint64_t ptx_dyn_sreg(ptx_warp *w, int sr)
{
    struct timespec ts;
    (void)w;
    if (sr == SR_CLOCK || sr == SR_CLOCK64) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t v = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        return sr == SR_CLOCK ? (uint32_t)v : v;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t v = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    if (sr == SR_GLOBALTIMER_LO) return (uint32_t)v;
    if (sr == SR_GLOBALTIMER_HI) return v >> 32;
    return v;
}

/* ---- frames ------------------------------------------------------------------------------- */
static int push_frame(ptx_warp *w, const ptx_func *fn, uint32_t members, uint32_t fbase)
{
    if (w->nframes == w->cap_frames) {
        int cap = w->cap_frames ? w->cap_frames * 2 : 4;
        ptx_frame *nf = realloc(w->frames, (size_t)cap * sizeof *nf);
        if (!nf)
            return -1;
        w->frames = nf;
        w->cap_frames = cap;
    }
    size_t need = (size_t)fn->nregs * PTX_WARP;
    uint64_t *regs;
    if (w->nframes == 0 && w->regpool_cap >= need) {
        regs = w->regpool;
    } else {
        regs = calloc(need ? need : 1, sizeof *regs);
        if (!regs)
            return -1;
    }
    ptx_frame *f = &w->frames[w->nframes++];
    memset(f, 0, sizeof *f);
    f->fn = fn;
    f->regs = regs;
    f->members = members;
    f->fbase = fbase;
    w->regs = regs;
    w->fbase = fbase;
    for (int i = 0; i < fn->nconsts; i++) {
        uint64_t *r = regs + (size_t)fn->consts[i].reg * PTX_WARP;
        for (int l = 0; l < PTX_WARP; l++)
            r[l] = fn->consts[i].value;
    }
    for (int i = 0; i < fn->nsregs; i++) {
        uint64_t *r = regs + (size_t)fn->sregs[i].reg * PTX_WARP;
        int sr = fn->sregs[i].sreg;
        if (sr <= SR_TID_Z || sr == SR_LANEID || (sr >= SR_LANEMASK_EQ && sr <= SR_LANEMASK_GE)) {
            for (int l = 0; l < PTX_WARP; l++)
                r[l] = sreg_value(w, sr, l);
        } else {
            uint64_t v = sreg_value(w, sr, 0);
            for (int l = 0; l < PTX_WARP; l++)
                r[l] = v;
        }
    }
    return 0;
}

static void pop_frame(ptx_warp *w)
{
    ptx_frame *callee = &w->frames[w->nframes - 1];
    ptx_frame *caller = &w->frames[w->nframes - 2];
    const ptx_callsite *cs = &caller->fn->calls[callee->call->aux];
    uint32_t live = callee->members & ~w->exited;
    for (int k = 0; k < cs->nrets && k < callee->fn->nrets; k++) {
        const ptx_param *rp = &callee->fn->rets[k];
        for (uint32_t m = live; m; m &= m - 1) {
            int l = __builtin_ctz(m);
            uint8_t *base = lane_local(w, l);
            memcpy(base + caller->fbase + cs->ret_off[k], base + callee->fbase + rp->offset, rp->size);
        }
    }
    if (callee->regs != w->regpool)
        free(callee->regs);
    w->nframes--;
    w->regs = caller->regs;
    w->fbase = caller->fbase;
}

static int do_call(ptx_warp *w, ptx_frame *fr, const ptx_insn *in, uint32_t em, const ptx_func *callee)
{
    const ptx_callsite *cs = &fr->fn->calls[in->aux];
    uint32_t fbase = (fr->fbase + fr->fn->frame_bytes + 15u) & ~15u;
    if ((uint64_t)fbase + callee->frame_bytes > w->local_cap) {
        ptx_raise(w, CUDA_ERROR_HARDWARE_STACK_ERROR, "call stack overflow calling %s (%u bytes of local memory per thread)",
                  callee->name, w->local_cap);
        return -1;
    }
    for (int k = 0; k < cs->nargs && k < callee->nparams; k++) {
        const ptx_param *p = &callee->params[k];
        for (uint32_t m = em; m; m &= m - 1) {
            int l = __builtin_ctz(m);
            uint8_t *base = lane_local(w, l);
            memmove(base + fbase + p->offset, base + fr->fbase + cs->arg_off[k], p->size);
        }
    }
    int caller_idx = w->nframes - 1;
    if (push_frame(w, callee, em, fbase) < 0) {
        ptx_raise(w, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory for a call frame of %s", callee->name);
        return -1;
    }
    w->frames[w->nframes - 1].call = in;
    (void)caller_idx;
    return 0;
}

static uint64_t frame_arg_u64(ptx_warp *w, ptx_frame *fr, const ptx_callsite *cs, int k, int lane)
{
    uint64_t v = 0;
    if (k < cs->nargs)
        memcpy(&v, lane_local(w, lane) + fr->fbase + cs->arg_off[k], 8);
    return v;
}

/* The function an indirect call names in the first lane of em; *same gets the lanes calling it. */
static const ptx_func *indirect_target(ptx_warp *w, ptx_frame *fr, const ptx_insn *in, uint32_t em, uint32_t *same)
{
    const uint64_t *r = REG(w, in->op[0].reg);
    int first = __builtin_ctz(em);
    uint64_t a = r[first];
    const ptx_module *m = fr->fn->mod;
    uint64_t idx = (a & ~PTX_FUNC_ADDR_TAG) >> 4;
    if ((a & 0xffff000000000000ull) != PTX_FUNC_ADDR_TAG || (a & 15) || idx >= (uint64_t)m->nfuncs ||
        m->funcs[idx]->is_entry || (!m->funcs[idx]->code && !m->funcs[idx]->builtin)) {
        ptx_raise(w, CUDA_ERROR_ILLEGAL_ADDRESS, "indirect call through 0x%llx, which is not a device function",
                  (unsigned long long)a);
        return NULL;
    }
    const ptx_func *callee = m->funcs[idx];
    if (!callee->builtin && callee->nparams != fr->fn->calls[in->aux].nargs) {
        ptx_raise(w, CUDA_ERROR_ILLEGAL_INSTRUCTION, "indirect call to %s with %d arguments, expected %d",
                  callee->name, fr->fn->calls[in->aux].nargs, callee->nparams);
        return NULL;
    }
    *same = 0;
    for (uint32_t m2 = em; m2; m2 &= m2 - 1) {
        int l = __builtin_ctz(m2);
        if (r[l] == a) *same |= 1u << l;
    }
    return callee;
}

static void do_builtin(ptx_warp *w, ptx_frame *fr, const ptx_insn *in, uint32_t em, const ptx_func *callee)
{
    const ptx_callsite *cs = &fr->fn->calls[in->aux];
    if (callee->builtin == BI_VPRINTF) {
        for (uint32_t m = em; m; m &= m - 1) {
            int l = __builtin_ctz(m);
            ptx_vprintf(w, l, frame_arg_u64(w, fr, cs, 0, l), frame_arg_u64(w, fr, cs, 1, l));
            if (cs->nrets) {
                int32_t rv = 0;
                memcpy(lane_local(w, l) + fr->fbase + cs->ret_off[0], &rv, 4);
            }
        }
        fflush(stdout);
        return;
    }
    if (callee->builtin == BI_ASSERTFAIL) {
        int l = __builtin_ctz(em);
        char msg[160] = "?", file[160] = "?", func[160] = "?";
        const char *srcs[3] = { 0 };
        char *dst[3] = { msg, file, func };
        int ks[3] = { 0, 1, 3 };
        for (int i = 0; i < 3; i++) {
            uint64_t p = frame_arg_u64(w, fr, cs, ks[i], l);
            for (size_t j = 0; j + 1 < 160; j++) {
                const char *c = ptx_addr_ptr(w, SP_GENERIC, p + j, l, 1, 0);
                if (!c) { w->stop = 0; break; }
                dst[i][j] = *c;
                dst[i][j + 1] = 0;
                if (!*c) break;
            }
            srcs[i] = dst[i];
        }
        uint32_t line = 0;
        memcpy(&line, lane_local(w, l) + fr->fbase + cs->arg_off[2], 4);
        ptx_block *b = w->blk;
        fprintf(stderr, "%s:%u: %s: block: [%u,%u,%u], thread: [%u,%u,%u] Assertion `%s` failed.\n",
                srcs[1], line, srcs[2], b->ctaid[0], b->ctaid[1], b->ctaid[2],
                w->tid[l][0], w->tid[l][1], w->tid[l][2], srcs[0]);
        fflush(stderr);
        ptx_raise(w, CUDA_ERROR_ASSERT, "device-side assertion `%s` failed at %s:%u", srcs[0], srcs[1], line);
        return;
    }
    ptx_raise(w, CUDA_ERROR_NOT_SUPPORTED, "call to unsupported device library function %s", callee->name);
}

/* ---- barriers ----------------------------------------------------------------------------- */
static uint32_t opnd_u32_first(ptx_warp *w, const ptx_opnd *o, uint32_t em)
{
    if (o->kind == OPK_IMM)
        return (uint32_t)o->imm;
    int l = em ? __builtin_ctz(em) : 0;
    return (uint32_t)REG(w, o->reg)[l];
}

/* in->sub: 0 sync, 1 arrive, 2 red.popc, 3 red.and, 4 red.or.
 * operands: sync/arrive: id[, count]; red: d, id, [count,] pred. */
static void do_barrier(ptx_warp *w, const ptx_insn *in, uint32_t em)
{
    ptx_block *b = w->blk;
    int is_red = in->sub >= 2;
    const ptx_opnd *idop = &in->op[is_red ? 1 : 0];
    uint32_t id = opnd_u32_first(w, idop, em);
    int ncount_ops = in->nops - (is_red ? 3 : 1);
    if (id >= PTX_MAX_BARRIERS) {
        ptx_raise(w, CUDA_ERROR_ILLEGAL_INSTRUCTION, "barrier id %u out of range", id);
        return;
    }
    if (ncount_ops > 0) {
        uint32_t cnt = opnd_u32_first(w, &in->op[is_red ? 2 : 1], em);
        b->bar_expected[id] = cnt;
    }
    b->bar_arrived[id] += (uint32_t)__builtin_popcount(em);
    if (is_red) {
        const ptx_opnd *p = &in->op[in->nops - 1];
        uint32_t acc = b->bar_accum[id];
        if (b->bar_arrived[id] == (uint32_t)__builtin_popcount(em))
            acc = (in->sub == 3) ? 1 : 0;   /* first arrivals start the reduction */
        for (uint32_t m = em; m; m &= m - 1) {
            int l = __builtin_ctz(m);
            uint32_t v = (p->kind == OPK_IMM ? (uint32_t)p->imm : (uint32_t)REG(w, p->reg)[l]) != 0;
            if (p->neg) v = !v;
            if (in->sub == 2) acc += v;
            else if (in->sub == 3) acc = acc && v;
            else acc = acc || v;
        }
        b->bar_accum[id] = acc;
        b->bar_redop[id] = in->sub;
    }
    if (in->sub == 1)
        return;
    w->blocked |= em;
    for (uint32_t m = em; m; m &= m - 1) {
        int l = __builtin_ctz(m);
        w->bar_id[l] = (int8_t)id;
        w->bar_dst[l] = is_red ? in->op[0].reg : -1;
    }
}

static int release_barriers(ptx_block *b)
{
    int released = 0;
    for (int id = 0; id < PTX_MAX_BARRIERS; id++) {
        if (!b->bar_arrived[id])
            continue;
        uint32_t expected = b->bar_expected[id] ? b->bar_expected[id] : b->nthreads - b->exited_threads;
        if (b->bar_arrived[id] < expected)
            continue;
        for (int wi = 0; wi < b->nwarps; wi++) {
            ptx_warp *w = &b->warps[wi];
            for (uint32_t m = w->blocked; m; m &= m - 1) {
                int l = __builtin_ctz(m);
                if (w->bar_id[l] != id)
                    continue;
                w->blocked &= ~(1u << l);
                if (w->bar_dst[l] >= 0)
                    REG(w, w->bar_dst[l])[l] = b->bar_accum[id];
            }
        }
        b->bar_arrived[id] = 0;
        b->bar_expected[id] = 0;
        b->bar_accum[id] = 0;
        released = 1;
    }
    return released;
}

/* ---- the warp scheduler ------------------------------------------------------------------- */
static inline uint32_t guard_mask(ptx_warp *w, const ptx_insn *in, uint32_t gmask)
{
    const uint64_t *p = REG(w, in->guard);
    uint32_t em = 0;
    for (uint32_t m = gmask; m; m &= m - 1) {
        int l = __builtin_ctz(m);
        if ((p[l] != 0) != in->guard_neg)
            em |= 1u << l;
    }
    return em;
}

static inline void store_pcs(ptx_frame *fr, uint32_t mask, uint32_t pc)
{
    for (uint32_t m = mask; m; m &= m - 1)
        fr->pc[__builtin_ctz(m)] = pc;
}

/* Runs one warp until all its lanes have exited or wait at a barrier, or the slice ends.
 * Returns 1 if it executed anything. */
static uint64_t g_stat_warp_insns, g_stat_lane_insns;

/* Totals of executed instructions since the library loaded: warp-level (one per instruction a
 * warp issues) and thread-level (one per lane that executes it). For benchmarks. */
__attribute__((visibility("default"))) void bfemu_instruction_counts(uint64_t *warp_insns, uint64_t *lane_insns)
{
    if (warp_insns) *warp_insns = __atomic_load_n(&g_stat_warp_insns, __ATOMIC_RELAXED);
    if (lane_insns) *lane_insns = __atomic_load_n(&g_stat_lane_insns, __ATOMIC_RELAXED);
}

static int run_warp_counted(ptx_warp *w, long budget, uint64_t *lanes);

static int run_warp(ptx_warp *w, long budget)
{
    uint64_t lanes = 0;
    int r = run_warp_counted(w, budget, &lanes);
    __atomic_fetch_add(&g_stat_lane_insns, lanes, __ATOMIC_RELAXED);
    __atomic_fetch_add(&g_stat_warp_insns, w->issued, __ATOMIC_RELAXED);
    w->issued = 0;
    return r;
}

static int run_warp_counted(ptx_warp *w, long budget, uint64_t *lanes)
{
    int progressed = 0;
    while (budget > 0 && !w->stop) {
        ptx_frame *fr = &w->frames[w->nframes - 1];
        uint32_t alive = fr->members & ~fr->done & ~w->exited;
        uint32_t runnable = alive & ~w->blocked;
        if (!runnable) {
            if (alive)
                return progressed;        /* waiting at a barrier */
            if (w->nframes == 1) {
                w->finished = 1;
                return progressed;
            }
            pop_frame(w);
            continue;
        }
        uint32_t gpc = UINT32_MAX, next_other = UINT32_MAX, gmask = 0;
        for (uint32_t m = runnable; m; m &= m - 1) {
            int l = __builtin_ctz(m);
            uint32_t pc = fr->pc[l];
            if (pc < gpc) { if (gpc != UINT32_MAX && gpc < next_other) next_other = gpc; gpc = pc; gmask = 1u << l; }
            else if (pc == gpc) gmask |= 1u << l;
            else if (pc < next_other) next_other = pc;
        }
        const ptx_insn *code = fr->fn->code;
        progressed = 1;
        for (;;) {
            const ptx_insn *in = &code[gpc];
            uint32_t em = in->guard >= 0 ? guard_mask(w, in, gmask) : gmask;
            budget--;
            w->issued++;
            *lanes += em == 0xffffffffu ? 32u : (uint64_t)__builtin_popcount(em);
            if (in->ctl == CTL_NONE) {
                if (em)
                    in->fn(w, in, em);
                gpc++;
                if (w->stop) { store_pcs(fr, gmask, gpc); return 1; }
                if (gpc == next_other || budget <= 0) { store_pcs(fr, gmask, gpc); break; }
                continue;
            }
            if (in->ctl == CTL_BRA) {
                if (em == gmask) {
                    gpc = in->target;
                    if (gpc < next_other && budget > 0)
                        continue;
                    store_pcs(fr, gmask, gpc);
                } else if (em == 0) {
                    gpc++;
                    if (gpc < next_other && budget > 0)
                        continue;
                    store_pcs(fr, gmask, gpc);
                } else {
                    store_pcs(fr, em, in->target);
                    store_pcs(fr, gmask & ~em, gpc + 1);
                }
                break;
            }
            store_pcs(fr, gmask & ~em, gpc + 1);
            switch (in->ctl) {
            case CTL_BRX: {
                const ptx_brtable *bt = &fr->fn->brtabs[in->aux];
                const uint64_t *idx = REG(w, in->op[0].reg);
                for (uint32_t m = em; m; m &= m - 1) {
                    int l = __builtin_ctz(m);
                    uint32_t i = (uint32_t)idx[l];
                    if (i >= bt->n) {
                        ptx_raise(w, CUDA_ERROR_ILLEGAL_INSTRUCTION, "brx.idx index %u outside its table of %u", i, bt->n);
                        return 1;
                    }
                    fr->pc[l] = bt->pcs[i];
                }
                break;
            }
            case CTL_EXIT:
                w->exited |= em;
                w->blk->exited_threads += (uint32_t)__builtin_popcount(em);
                break;
            case CTL_RET:
                if (w->nframes == 1) {
                    w->exited |= em;
                    w->blk->exited_threads += (uint32_t)__builtin_popcount(em);
                } else {
                    fr->done |= em;
                }
                break;
            case CTL_CALL: {
                if (!em)
                    break;
                const ptx_callsite *cs = &fr->fn->calls[in->aux];
                const ptx_func *callee;
                if (cs->callee < 0) {
                    uint32_t cm;
                    callee = indirect_target(w, fr, in, em, &cm);
                    if (!callee)
                        return 1;
                    store_pcs(fr, em & ~cm, gpc);   /* lanes calling another function go next */
                    em = cm;
                } else {
                    callee = fr->fn->mod->funcs[cs->callee];
                }
                store_pcs(fr, em, gpc + 1);
                if (callee->builtin) {
                    do_builtin(w, fr, in, em, callee);
                    break;
                }
                do_call(w, fr, in, em, callee);
                break;
            }
            case CTL_BAR:
                store_pcs(fr, em, gpc + 1);
                if (em)
                    do_barrier(w, in, em);
                break;
            case CTL_TRAP:
                if (em)
                    ptx_raise(w, CUDA_ERROR_LAUNCH_FAILED, "trap instruction executed (PTX line %d)", in->line);
                break;
            default:
                ptx_raise(w, CUDA_ERROR_ILLEGAL_INSTRUCTION, "bad control instruction");
                break;
            }
            break;
        }
    }
    return progressed;
}

/* ---- blocks ------------------------------------------------------------------------------- */
typedef struct worker_buf {
    ptx_warp *warps; int cap_warps;
    uint8_t *smem; size_t smem_cap;
    uint8_t *local; size_t local_bytes;
    uint64_t *regs; size_t regs_cap;   /* entry-frame registers for all warps */
} worker_buf;

static int ensure(void **p, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    void *n = realloc(*p, need ? need : 1);
    if (!n)
        return -1;
    *p = n;
    *cap = need;
    return 0;
}

static void block_fault(ptx_grid *g, CUresult code, const char *msg)
{
    pthread_mutex_lock(&g->fault_lock);
    if (g->fault.code == CUDA_SUCCESS) {
        g->fault.code = code;
        snprintf(g->fault.msg, sizeof g->fault.msg, "%s in kernel %s", msg, g->fn->name);
    }
    g->abort = 1;
    pthread_mutex_unlock(&g->fault_lock);
}

static void run_block(ptx_grid *g, unsigned long long bidx, worker_buf *wb, int worker)
{
    const ptx_launch *l = &g->l;
    const ptx_func *fn = g->fn;
    ptx_block b;
    memset(&b, 0, sizeof b);
    b.grid = g;
    b.worker = worker;
    b.ctaid[0] = (unsigned)(bidx % l->grid[0]);
    b.ctaid[1] = (unsigned)((bidx / l->grid[0]) % l->grid[1]);
    b.ctaid[2] = (unsigned)(bidx / ((unsigned long long)l->grid[0] * l->grid[1]));
    b.nthreads = l->block[0] * l->block[1] * l->block[2];
    b.nwarps = (int)((b.nthreads + PTX_WARP - 1) / PTX_WARP);
    b.smem_size = g->smem_total;
    size_t nregs = (size_t)fn->nregs * PTX_WARP;
    size_t local_bytes = (size_t)g->local_cap * PTX_WARP * (size_t)b.nwarps;
    if (b.nwarps > wb->cap_warps) {
        ptx_warp *nw = realloc(wb->warps, (size_t)b.nwarps * sizeof *nw);
        if (!nw) { block_fault(g, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory for warps"); return; }
        wb->warps = nw;
        wb->cap_warps = b.nwarps;
    }
    if (ensure((void **)&wb->smem, &wb->smem_cap, b.smem_size + 16) < 0 ||
        ensure((void **)&wb->local, &wb->local_bytes, local_bytes + 16) < 0 ||
        ensure((void **)&wb->regs, &wb->regs_cap, nregs * sizeof(uint64_t) * (size_t)b.nwarps + 8) < 0) {
        block_fault(g, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory for a block");
        return;
    }
    memset(wb->smem, 0, b.smem_size);
    memset(wb->regs, 0, nregs * sizeof(uint64_t) * (size_t)b.nwarps);
    b.smem = wb->smem;
    b.warps = wb->warps;
    unsigned tx = 0, ty = 0, tz = 0;   /* thread index, counted up without divisions */
    for (int i = 0; i < b.nwarps; i++) {
        ptx_warp *w = &b.warps[i];
        memset(w, 0, sizeof *w);
        w->blk = &b;
        w->id = i;
        w->local = wb->local + (size_t)g->local_cap * PTX_WARP * (size_t)i;
        w->local_cap = g->local_cap;
        w->regpool = wb->regs + nregs * (size_t)i;
        w->regpool_cap = nregs;
        for (int ln = 0; ln < PTX_WARP; ln++) {
            uint32_t t = (uint32_t)i * PTX_WARP + (uint32_t)ln;
            if (t < b.nthreads) {
                w->valid |= 1u << ln;
                w->tid[ln][0] = tx;
                w->tid[ln][1] = ty;
                w->tid[ln][2] = tz;
                if (++tx == l->block[0]) {
                    tx = 0;
                    if (++ty == l->block[1]) { ty = 0; tz++; }
                }
            }
        }
        w->exited = ~w->valid;
        if (push_frame(w, fn, w->valid, 0) < 0) {
            block_fault(g, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory for a frame");
            return;
        }
    }
    for (;;) {
        int progress = 0, all_done = 1;
        for (int i = 0; i < b.nwarps && !g->abort; i++) {
            ptx_warp *w = &b.warps[i];
            if (w->finished)
                continue;
            progress |= run_warp(w, WARP_SLICE);
            if (!w->finished)
                all_done = 0;
        }
        if (g->abort || all_done)
            break;
        int released = release_barriers(&b);
        if (!progress && !released) {
            block_fault(g, CUDA_ERROR_LAUNCH_FAILED,
                        "deadlock: threads wait at a barrier that the other threads of the block never reach");
            break;
        }
    }
    for (int i = 0; i < b.nwarps; i++) {
        ptx_warp *w = &b.warps[i];
        while (w->nframes > 1) {
            ptx_frame *f = &w->frames[--w->nframes];
            if (f->regs != w->regpool)
                free(f->regs);
        }
        free(w->frames);
    }
}

/* ---- thread pool -------------------------------------------------------------------------- */
typedef struct pool_job {
    ptx_grid *g;
    unsigned long long done;
    struct pool_job *next;
    pthread_cond_t finished;
} pool_job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;
    pool_job *jobs;
    int nthreads;
    int started;
} g_pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER };

int ptx_pool_threads(void)
{
    static int n;
    if (!n) {
        const char *e = getenv("BITFUSION_EMU_THREADS");
        long v = e ? strtol(e, NULL, 10) : 0;
        if (v <= 0) v = sysconf(_SC_NPROCESSORS_ONLN);
        if (v <= 0) v = 1;
        if (v > 256) v = 256;
        n = (int)v;
    }
    return n;
}

static __thread worker_buf t_buf;
static __thread int t_worker_id;
static pthread_key_t g_buf_key;
static pthread_once_t g_buf_once = PTHREAD_ONCE_INIT;

static void worker_buf_free(worker_buf *wb)
{
    free(wb->warps); free(wb->smem); free(wb->local); free(wb->regs);
    memset(wb, 0, sizeof *wb);
}

/* A host thread that ran blocks (a stream worker, an application thread) frees its block
 * buffers when it exits. */
static void buf_key_destroy(void *p) { worker_buf_free(p); }
static void buf_key_create(void) { pthread_key_create(&g_buf_key, buf_key_destroy); }

static worker_buf *thread_buf(void)
{
    pthread_once(&g_buf_once, buf_key_create);
    if (!pthread_getspecific(g_buf_key))
        pthread_setspecific(g_buf_key, &t_buf);
    return &t_buf;
}

static pool_job *claim_block(unsigned long long *bidx)
{
    for (pool_job *j = g_pool.jobs; j; j = j->next) {
        ptx_grid *g = j->g;
        if (g->next_block < g->nblocks && !g->abort) {
            *bidx = g->next_block++;
            return j;
        }
    }
    return NULL;
}

static void finish_block(pool_job *j)
{
    j->done++;
    ptx_grid *g = j->g;
    if (g->abort) {   /* abandon blocks nobody has started */
        j->done += g->nblocks - g->next_block;
        g->next_block = g->nblocks;
    }
    if (j->done == g->nblocks)
        pthread_cond_broadcast(&j->finished);
}

static void *pool_main(void *arg)
{
    t_worker_id = (int)(intptr_t)arg;
    pthread_mutex_lock(&g_pool.lock);
    for (;;) {
        unsigned long long bidx;
        pool_job *j = claim_block(&bidx);
        if (!j) {
            pthread_cond_wait(&g_pool.work, &g_pool.lock);
            continue;
        }
        pthread_mutex_unlock(&g_pool.lock);
        run_block(j->g, bidx, thread_buf(), t_worker_id);
        pthread_mutex_lock(&g_pool.lock);
        finish_block(j);
    }
    return NULL;
}

static void pool_start_locked(void)
{
    if (g_pool.started)
        return;
    g_pool.started = 1;
    int n = ptx_pool_threads() - 1;   /* the launching thread works too */
    for (int i = 0; i < n; i++) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&a, 1 << 20);
        if (pthread_create(&t, &a, pool_main, (void *)(intptr_t)(i + 1)) == 0)
            g_pool.nthreads++;
        pthread_attr_destroy(&a);
    }
}

static void run_pooled(ptx_grid *g)
{
    pool_job job = { .g = g };
    pthread_cond_init(&job.finished, NULL);
    pthread_mutex_lock(&g_pool.lock);
    pool_start_locked();
    job.next = g_pool.jobs;
    g_pool.jobs = &job;
    pthread_cond_broadcast(&g_pool.work);
    while (job.done < g->nblocks) {
        unsigned long long bidx;
        if (g->next_block < g->nblocks && !g->abort) {
            bidx = g->next_block++;
            pthread_mutex_unlock(&g_pool.lock);
            run_block(g, bidx, thread_buf(), 0);
            pthread_mutex_lock(&g_pool.lock);
            finish_block(&job);
            continue;
        }
        pthread_cond_wait(&job.finished, &g_pool.lock);
    }
    pool_job **pp = &g_pool.jobs;
    while (*pp != &job) pp = &(*pp)->next;
    *pp = job.next;
    pthread_mutex_unlock(&g_pool.lock);
    pthread_cond_destroy(&job.finished);
}

/* Cooperative grids: every block on its own host thread so grid-wide spin barriers progress. */
typedef struct coop_arg { ptx_grid *g; unsigned long long bidx; } coop_arg;

static void *coop_main(void *p)
{
    coop_arg *a = p;
    worker_buf wb = { 0 };
    run_block(a->g, a->bidx, &wb, (int)a->bidx);
    worker_buf_free(&wb);
    return NULL;
}

static void run_cooperative(ptx_grid *g)
{
    unsigned long long n = g->nblocks;
    pthread_t *t = calloc(n, sizeof *t);
    coop_arg *a = calloc(n, sizeof *a);
    if (!t || !a) {
        free(t); free(a);
        g->fault.code = CUDA_ERROR_OUT_OF_MEMORY;
        snprintf(g->fault.msg, sizeof g->fault.msg, "out of host memory for a cooperative launch");
        return;
    }
    for (unsigned long long i = 0; i < n; i++) {
        a[i].g = g;
        a[i].bidx = i;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 1 << 20);
        if (pthread_create(&t[i], &at, coop_main, &a[i]) != 0) {
            t[i] = 0;
            block_fault(g, CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE, "could not start a host thread per block");
        }
        pthread_attr_destroy(&at);
    }
    for (unsigned long long i = 0; i < n; i++)
        if (t[i]) pthread_join(t[i], NULL);
    free(t);
    free(a);
}

#define PTX_MAX_SMEM (228u * 1024u)

/* Module variables initialised with other variables' addresses get them at the first launch,
 * once every variable has its device address. */
static CUresult apply_relocs(ptx_module *m, ptx_fault *fault)
{
    if (__atomic_load_n(&m->relocs_done, __ATOMIC_ACQUIRE))
        return CUDA_SUCCESS;
    pthread_mutex_lock(&m->reloc_lock);
    CUresult rc = CUDA_SUCCESS;
    for (int i = 0; i < m->nrelocs && !m->relocs_done; i++) {
        const ptx_reloc *r = &m->relocs[i];
        ptx_gvar *t = &m->gvars[r->target], *src = &m->gvars[r->source];
        if (!t->addr || !src->addr || r->offset + 8 > t->size) {
            snprintf(fault->msg, sizeof fault->msg, "module variable %s has no device storage", t->addr ? src->name : t->name);
            rc = fault->code = CUDA_ERROR_NOT_INITIALIZED;
            break;
        }
        uint64_t v = src->addr + (uint64_t)r->addend;
        memcpy((void *)(uintptr_t)(t->addr + r->offset), &v, 8);
    }
    if (rc == CUDA_SUCCESS)
        __atomic_store_n(&m->relocs_done, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&m->reloc_lock);
    return rc;
}

CUresult ptx_launch_grid(ptx_func *f, const ptx_launch *l, ptx_fault *fault)
{
    ptx_fault dummy;
    if (!fault) fault = &dummy;
    memset(fault, 0, sizeof *fault);
    if (!f || !f->is_entry || !f->code) {
        snprintf(fault->msg, sizeof fault->msg, "not a kernel entry");
        return fault->code = CUDA_ERROR_INVALID_HANDLE;
    }
    unsigned long long nthreads = (unsigned long long)l->block[0] * l->block[1] * l->block[2];
    unsigned long long nblocks = (unsigned long long)l->grid[0] * l->grid[1] * l->grid[2];
    if (nthreads == 0 || nthreads > 1024 || nblocks == 0) {
        snprintf(fault->msg, sizeof fault->msg, "bad launch configuration");
        return fault->code = CUDA_ERROR_INVALID_VALUE;
    }
    if (f->static_smem + (uint64_t)l->dyn_smem > PTX_MAX_SMEM) {
        snprintf(fault->msg, sizeof fault->msg, "%u bytes of shared memory exceed the block limit",
                 f->static_smem + l->dyn_smem);
        return fault->code = CUDA_ERROR_INVALID_VALUE;
    }
    if (apply_relocs(f->mod, fault) != CUDA_SUCCESS)
        return fault->code;
    for (int i = 0; i < f->mod->ngvars; i++)
        if (!f->mod->gvars[i].addr && !f->mod->gvars[i].is_extern) {
            snprintf(fault->msg, sizeof fault->msg, "module variable %s has no device storage", f->mod->gvars[i].name);
            return fault->code = CUDA_ERROR_NOT_INITIALIZED;
        }
    ptx_grid g;
    memset(&g, 0, sizeof g);
    g.fn = f;
    g.l = *l;
    g.params = l->params;
    uint8_t zero_params[8] = { 0 };
    if (!g.params) g.params = zero_params;
    uint32_t dyn_off = f->static_smem;
    for (int i = 0; i < f->mod->nsvars; i++)
        if (f->mod->svars[i].is_extern)
            dyn_off = f->shared_off[i];
    g.smem_total = (l->dyn_smem ? dyn_off + l->dyn_smem : f->static_smem);
    if (g.smem_total < f->static_smem) g.smem_total = f->static_smem;
    g.local_cap = (f->max_stack + 15u) & ~15u;
    if (g.local_cap < 16) g.local_cap = 16;
    g.nblocks = nblocks;
    pthread_mutex_init(&g.fault_lock, NULL);
    if (l->cooperative)
        run_cooperative(&g);
    else
        run_pooled(&g);
    pthread_mutex_destroy(&g.fault_lock);
    *fault = g.fault;
    return fault->code;
}
