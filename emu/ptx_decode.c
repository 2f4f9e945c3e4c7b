/* ptx_decode.c: turns one parsed PTX instruction (its dotted opcode and operands) into a
 * ptx_insn: handler, types, state space, modifiers and sub-operation. Anything it does not
 * know is a load-time error naming the instruction, never a silent wrong result. */
#include "ptx_ops.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dec {
    char base[32];
    int types[4]; int ntypes;
    int space;               /* -1 when none given */
    int vec;
    uint32_t mods;
    char words[12][40]; int nwords; int used[12];
    const char *full;
    char *err; size_t errlen;
    ptx_func *f;
    ptx_insn *in;
} dec;

static const struct { const char *n; int t; } k_types[] = {
    {"pred", T_PRED}, {"b8", T_B8}, {"b16", T_B16}, {"b32", T_B32}, {"b64", T_B64}, {"b128", T_B128},
    {"u8", T_U8}, {"u16", T_U16}, {"u32", T_U32}, {"u64", T_U64}, {"s8", T_S8}, {"s16", T_S16},
    {"s32", T_S32}, {"s64", T_S64}, {"f16", T_F16}, {"f16x2", T_F16X2}, {"bf16", T_BF16},
    {"bf16x2", T_BF16X2}, {"f32", T_F32}, {"f64", T_F64},
};
static const struct { const char *n; uint32_t m; } k_mods[] = {
    {"ftz", M_FTZ}, {"sat", M_SAT}, {"approx", M_APPROX}, {"full", M_FULL}, {"rn", M_RN}, {"rz", M_RZ},
    {"rm", M_RM}, {"rp", M_RP}, {"rni", M_RNI}, {"rzi", M_RZI}, {"rmi", M_RMI}, {"rpi", M_RPI},
    {"wide", M_WIDE}, {"cc", M_CC}, {"uni", M_UNI}, {"NaN", M_NAN}, {"relu", M_RELU}, {"shiftamt", M_SHIFTAMT},
    {"clamp", M_CLAMP}, {"wrap", M_WRAP}, {"xorsign", M_XORSIGN}, {"abs", M_ABS},
};
static const char *k_ignored[] = {
    "nc", "volatile", "relaxed", "acquire", "release", "acq_rel", "sc", "weak", "mmio", "cta", "gpu", "sys",
    "cluster", "ca", "cg", "cs", "lu", "cv", "wb", "wt", "sync", "aligned", "noftz", "unified", "L1", "L2",
};

static int derr(dec *d, const char *fmt, const char *arg)
{
    int n = snprintf(d->err, d->errlen, "PTX line %d: ", d->in->line);
    if (n > 0 && (size_t)n < d->errlen)
        snprintf(d->err + n, d->errlen - (size_t)n, fmt, arg);
    return -1;
}

static int split_opcode(dec *d, const char *op)
{
    const char *p = strchr(op, '.');
    size_t bl = p ? (size_t)(p - op) : strlen(op);
    if (bl >= sizeof d->base)
        return derr(d, "unknown instruction '%s'", op);
    memcpy(d->base, op, bl);
    d->base[bl] = 0;
    d->space = -1;
    while (p) {
        const char *s = p + 1;
        p = strchr(s, '.');
        size_t n = p ? (size_t)(p - s) : strlen(s);
        char w[40];
        if (n >= sizeof w)
            return derr(d, "bad modifier in '%s'", op);
        memcpy(w, s, n);
        w[n] = 0;
        int done = 0;
        for (size_t i = 0; i < sizeof k_types / sizeof k_types[0] && !done; i++)
            if (!strcmp(w, k_types[i].n)) {
                if (d->ntypes < 4) d->types[d->ntypes++] = k_types[i].t;
                done = 1;
            }
        for (size_t i = 0; i < sizeof k_mods / sizeof k_mods[0] && !done; i++)
            if (!strcmp(w, k_mods[i].n)) { d->mods |= k_mods[i].m; done = 1; }
        if (!done) {
            if (!strcmp(w, "global")) d->space = SP_GLOBAL;
            else if (!strcmp(w, "shared") || !strcmp(w, "shared::cta") || !strcmp(w, "shared::cluster")) d->space = SP_SHARED;
            else if (!strcmp(w, "local")) d->space = SP_LOCAL;
            else if (!strcmp(w, "const")) d->space = SP_CONST;
            else if (!strcmp(w, "param") || !strcmp(w, "param::entry") || !strcmp(w, "param::func")) d->space = SP_PARAM_KERNEL;
            else if (!strcmp(w, "v2") || !strcmp(w, "v4") || !strcmp(w, "v8")) d->vec = w[1] - '0';
            else done = 0;
            if (d->space >= 0 || d->vec) done = done || !strcmp(w, "global") || !strncmp(w, "shared", 6) ||
                !strcmp(w, "local") || !strcmp(w, "const") || !strncmp(w, "param", 5) || w[0] == 'v';
        }
        for (size_t i = 0; i < sizeof k_ignored / sizeof k_ignored[0] && !done; i++)
            if (!strcmp(w, k_ignored[i])) done = 1;
        if (!done && strstr(w, "::")) done = 1;   /* cache and eviction hints */
        if (!done) {
            if (d->nwords >= 12)
                return derr(d, "too many modifiers in '%s'", op);
            snprintf(d->words[d->nwords++], sizeof d->words[0], "%s", w);
        }
    }
    return 0;
}

/* Consumes a word modifier; returns its index in names (1-based) or 0. */
static int take(dec *d, const char *const *names, int n)
{
    for (int i = 0; i < d->nwords; i++) {
        if (d->used[i]) continue;
        for (int k = 0; k < n; k++)
            if (!strcmp(d->words[i], names[k])) {
                d->used[i] = 1;
                return k + 1;
            }
    }
    return 0;
}
#define TAKE(d, ...) take(d, (const char *const[]){ __VA_ARGS__ }, (int)(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)))

static int leftovers(dec *d)
{
    for (int i = 0; i < d->nwords; i++)
        if (!d->used[i]) {
            char msg[128];
            snprintf(msg, sizeof msg, "unsupported modifier .%s in '%s'", d->words[i], d->full);
            return derr(d, "%s", msg);
        }
    return 0;
}

static int32_t scratch_reg(ptx_func *f) { return (int32_t)f->nregs++; }

/* Destination operands must be registers; '_' sinks become a scratch register. */
static int want_dst(dec *d, int i)
{
    ptx_opnd *o = &d->in->op[i];
    if (o->kind == OPK_SINK) {
        o->kind = OPK_REG;
        o->reg = scratch_reg(d->f);
        return 0;
    }
    if (o->kind != OPK_REG)
        return derr(d, "destination of '%s' must be a register", d->full);
    return 0;
}

/* Source operands: registers or immediates; immediates are converted to the operand's type. */
static int want_src(dec *d, int i, int type)
{
    ptx_opnd *o = &d->in->op[i];
    if (o->kind == OPK_REG)
        return 0;
    if (o->kind == OPK_IMM) {
        int lit = o->n;
        o->n = 0;
        if (type == T_F32) {
            if (lit == 0) o->imm = f32_bits((float)(int64_t)o->imm);
            else if (lit == 2) o->imm = f32_bits((float)as_f64(o->imm));
        } else if (type == T_F64) {
            if (lit == 0) o->imm = f64_bits((double)(int64_t)o->imm);
            else if (lit == 1) o->imm = f64_bits((double)as_f32(o->imm));
        } else if (type == T_F16 || type == T_BF16) {
            if (lit == 1) o->imm = type == T_F16 ? ptx_f2h_rn(as_f32(o->imm)) : ptx_f2bf(as_f32(o->imm), 0);
            else if (lit == 2) o->imm = type == T_F16 ? ptx_f2h(as_f64(o->imm), 0) : ptx_f2bf(as_f64(o->imm), 0);
        }
        return 0;
    }
    if (o->kind == OPK_SYM && o->symk != SYMK_NONE && o->symk != SYMK_FUNC) {
        /* an address used as a value in arithmetic: only mov takes that form */
        return derr(d, "symbol operand not allowed in '%s' (use mov first)", d->full);
    }
    return derr(d, "bad source operand in '%s'", d->full);
}

static int nops_is(dec *d, int lo, int hi)
{
    if (d->in->nops < lo || d->in->nops > hi)
        return derr(d, "wrong number of operands for '%s'", d->full);
    return 0;
}

static int main_type(dec *d)
{
    if (d->ntypes < 1) {
        derr(d, "missing type on '%s'", d->full);
        return -1;
    }
    return d->types[d->ntypes - 1];
}

/* dst, src... with all operands of the main type */
static int simple(dec *d, ptx_exec_fn fn, int nsrc)
{
    int t = main_type(d);
    if (t < 0 || nops_is(d, 1 + nsrc, 1 + nsrc) < 0 || want_dst(d, 0) < 0)
        return -1;
    for (int i = 1; i <= nsrc; i++)
        if (want_src(d, i, t) < 0)
            return -1;
    d->in->type = (uint8_t)t;
    d->in->fn = fn;
    return 0;
}


/* ---- per-opcode decoders ------------------------------------------------------------------ */
static int d_arith(dec *d)
{
    const char *b = d->base;
    ptx_insn *in = d->in;
    int t = main_type(d);
    if (t < 0) return -1;
    int fl = ptx_type_is_float(t);
    int half = t == T_F16 || t == T_F16X2 || t == T_BF16 || t == T_BF16X2;
    int lohi = TAKE(d, "lo", "hi");
    if (lohi == 1) d->mods |= M_LO;
    if (lohi == 2) d->mods |= M_HI;
    if (!strcmp(b, "add") || !strcmp(b, "sub") || !strcmp(b, "addc") || !strcmp(b, "subc")) {
        if (half) { in->sub = b[0] == 'a' ? HOP_ADD : HOP_SUB; return simple(d, op_hmath, 2); }
        if (fl) return simple(d, b[0] == 'a' ? op_fadd : op_fsub, 2);
        if ((d->mods & M_CC) || b[3] == 'c') {
            in->sub = b[0] == 's';
            in->aux = (b[3] == 'c') ? 1 : 0;   /* consumes carry */
            return simple(d, op_addc, 2);
        }
        return simple(d, b[0] == 'a' ? op_add : op_sub, 2);
    }
    if (!strcmp(b, "mul")) {
        if (half) { in->sub = HOP_MUL; return simple(d, op_hmath, 2); }
        if (fl) return simple(d, op_fmul, 2);
        if (simple(d, op_mul, 2) < 0) return -1;
        return 0;
    }
    if (!strcmp(b, "mad") || !strcmp(b, "fma") || !strcmp(b, "madc")) {
        if (half) { in->sub = HOP_FMA; return simple(d, op_hmath, 3); }
        if (fl) return simple(d, op_ffma, 3);
        if ((d->mods & M_CC) || !strcmp(b, "madc")) {
            in->aux = !strcmp(b, "madc");
            return simple(d, op_madc, 3);
        }
        return simple(d, op_mad, 3);
    }
    if (!strcmp(b, "mul24")) return simple(d, op_mul24, 2);
    if (!strcmp(b, "mad24")) { in->sub = 1; return simple(d, op_mul24, 3); }
    if (!strcmp(b, "sad")) return simple(d, op_sad, 3);
    if (!strcmp(b, "div")) return simple(d, fl ? op_fdiv : op_div_int, 2);
    if (!strcmp(b, "rem")) return simple(d, op_rem, 2);
    if (!strcmp(b, "min") || !strcmp(b, "max")) {
        in->sub = b[1] == 'a';
        if (half) { in->sub = b[1] == 'a' ? HOP_MAX : HOP_MIN; return simple(d, op_hmath, 2); }
        return simple(d, fl ? op_fminmax : op_minmax_int, 2);
    }
    if (!strcmp(b, "abs")) {
        if (half) { in->sub = HOP_ABS; return simple(d, op_hmath, 1); }
        return simple(d, fl ? op_fabs : op_abs_int, 1);
    }
    if (!strcmp(b, "neg")) {
        if (half) { in->sub = HOP_NEG; return simple(d, op_hmath, 1); }
        return simple(d, fl ? op_fneg : op_neg_int, 1);
    }
    return derr(d, "unsupported instruction '%s'", d->full);
}

static int d_logic(dec *d)
{
    const char *b = d->base;
    ptx_insn *in = d->in;
    int t = main_type(d);
    if (t < 0) return -1;
    if (!strcmp(b, "not")) return simple(d, t == T_PRED ? op_pred_not : op_not, 1);
    if (!strcmp(b, "cnot")) return simple(d, op_cnot, 1);
    in->sub = b[0] == 'a' ? BOP_AND : b[0] == 'o' ? BOP_OR : BOP_XOR;
    return simple(d, op_logic, 2);
}

static int d_bits(dec *d)
{
    const char *b = d->base;
    ptx_insn *in = d->in;
    if (!strcmp(b, "shl")) return simple(d, op_shl, 2);
    if (!strcmp(b, "shr")) return simple(d, op_shr, 2);
    if (!strcmp(b, "popc")) return simple(d, op_popc, 1);
    if (!strcmp(b, "clz")) return simple(d, op_clz, 1);
    if (!strcmp(b, "brev")) return simple(d, op_brev, 1);
    if (!strcmp(b, "bfind")) return simple(d, op_bfind, 1);
    if (!strcmp(b, "fns")) return simple(d, op_fns, 3);
    if (!strcmp(b, "bfe")) return simple(d, op_bfe, 3);
    if (!strcmp(b, "bfi")) return simple(d, op_bfi, 4);
    if (!strcmp(b, "bmsk")) return simple(d, op_bmsk, 2);
    if (!strcmp(b, "szext")) return simple(d, op_szext, 2);
    if (!strcmp(b, "lop3")) {
        if (simple(d, op_lop3, 4) < 0) return -1;
        if (in->op[4].kind != OPK_IMM) return derr(d, "lop3 needs an immediate lut in '%s'", d->full);
        return 0;
    }
    if (!strcmp(b, "shf")) {
        int dir = TAKE(d, "l", "r");
        if (!dir) return derr(d, "shf needs .l or .r in '%s'", d->full);
        in->sub = (uint8_t)(dir - 1);
        return simple(d, op_shf, 3);
    }
    if (!strcmp(b, "prmt")) {
        in->sub = (uint8_t)TAKE(d, "f4e", "b4e", "rc8", "ecl", "ecr", "rc16");
        return simple(d, op_prmt, 3);
    }
    return derr(d, "unsupported instruction '%s'", d->full);
}

static int take_cmp(dec *d)
{
    return TAKE(d, "eq", "ne", "lt", "le", "gt", "ge", "lo", "ls", "hi", "hs",
                "equ", "neu", "ltu", "leu", "gtu", "geu", "num", "nan");
}

static int d_setp(dec *d)
{
    ptx_insn *in = d->in;
    int cmp = take_cmp(d);
    if (!cmp) return derr(d, "missing comparison on '%s'", d->full);
    in->sub = (uint8_t)cmp;
    in->sub2 = (uint8_t)TAKE(d, "and", "or", "xor");
    int t = main_type(d);
    if (t < 0) return -1;
    in->type = (uint8_t)t;
    int has_q = in->nops > 1 && in->op[1].n == 1 && in->op[1].kind != OPK_IMM;   /* p|q */
    int first_src = has_q ? 2 : 1;
    int need = first_src + 2 + (in->sub2 ? 1 : 0);
    if (in->nops != need) return derr(d, "wrong number of operands for '%s'", d->full);
    if (want_dst(d, 0) < 0 || (has_q && want_dst(d, 1) < 0)) return -1;
    if (want_src(d, first_src, t) < 0 || want_src(d, first_src + 1, t) < 0) return -1;
    if (in->sub2 && want_src(d, first_src + 2, T_PRED) < 0) return -1;
    if (has_q) {   /* normalise: op0 p, op1 q, op2 a, op3 b, op4 c */
        in->aux = 1;
    } else {
        memmove(&in->op[2], &in->op[1], sizeof(ptx_opnd) * 3);
        in->op[1].kind = OPK_REG;
        in->op[1].reg = scratch_reg(d->f);
    }
    in->fn = op_setp;
    return 0;
}

static int d_set(dec *d)
{
    ptx_insn *in = d->in;
    int cmp = take_cmp(d);
    if (!cmp || d->ntypes != 2) return derr(d, "bad set instruction '%s'", d->full);
    in->sub = (uint8_t)cmp;
    in->sub2 = (uint8_t)TAKE(d, "and", "or", "xor");
    in->type = (uint8_t)d->types[0];
    in->type2 = (uint8_t)d->types[1];
    if (nops_is(d, 3 + (in->sub2 ? 1 : 0), 3 + (in->sub2 ? 1 : 0)) < 0 || want_dst(d, 0) < 0 ||
        want_src(d, 1, in->type2) < 0 || want_src(d, 2, in->type2) < 0)
        return -1;
    if (in->sub2 && want_src(d, 3, T_PRED) < 0) return -1;
    in->fn = op_set;
    return 0;
}

static int d_selp(dec *d)
{
    if (simple(d, op_selp, 3) < 0) return -1;
    return 0;
}

static int d_slct(dec *d)
{
    ptx_insn *in = d->in;
    if (d->ntypes != 2) return derr(d, "bad slct '%s'", d->full);
    in->type = (uint8_t)d->types[0];
    in->type2 = (uint8_t)d->types[1];
    if (nops_is(d, 4, 4) < 0 || want_dst(d, 0) < 0 || want_src(d, 1, in->type) < 0 ||
        want_src(d, 2, in->type) < 0 || want_src(d, 3, in->type2) < 0)
        return -1;
    in->fn = op_slct;
    return 0;
}

static int d_mov(dec *d)
{
    ptx_insn *in = d->in;
    int t = main_type(d);
    if (t < 0 || nops_is(d, 2, 2) < 0) return -1;
    in->type = (uint8_t)t;
    ptx_opnd *a = &in->op[1];
    if (in->op[0].kind == OPK_VEC) {
        if (a->kind != OPK_REG) return derr(d, "bad vector mov '%s'", d->full);
        for (int i = 0; i < in->op[0].n; i++)
            if (in->op[0].vec[i] < 0) in->op[0].vec[i] = scratch_reg(d->f);
        in->aux = (uint32_t)(ptx_type_size(t) * 8 / in->op[0].n);
        in->fn = op_mov_unpack;
        return 0;
    }
    if (want_dst(d, 0) < 0) return -1;
    if (a->kind == OPK_VEC) {
        in->aux = (uint32_t)(ptx_type_size(t) * 8 / a->n);
        for (int i = 0; i < a->n; i++)
            if (a->vec[i] < 0) return derr(d, "bad vector mov '%s'", d->full);
        in->fn = op_mov_pack;
        return 0;
    }
    if (a->kind == OPK_SREG) { in->fn = op_mov_sreg; return 0; }
    if (a->kind == OPK_SYM) {
        if (a->symk == SYMK_NONE)
            return derr(d, "mov of a label address is not supported ('%s')", d->full);
        in->fn = op_mov_sym;
        return 0;
    }
    if (want_src(d, 1, t) < 0) return -1;
    in->fn = op_mov;
    return 0;
}

static int d_cvt(dec *d)
{
    ptx_insn *in = d->in;
    if (d->ntypes != 2) return derr(d, "cvt needs two types in '%s'", d->full);
    in->type = (uint8_t)d->types[0];
    in->type2 = (uint8_t)d->types[1];
    if ((in->type == T_F16X2 || in->type == T_BF16X2) && in->type2 == T_F32) {
        if (nops_is(d, 3, 3) < 0 || want_dst(d, 0) < 0 || want_src(d, 1, T_F32) < 0 || want_src(d, 2, T_F32) < 0)
            return -1;
        in->fn = op_cvt_pack;
        return 0;
    }
    if (nops_is(d, 2, 2) < 0 || want_dst(d, 0) < 0 || want_src(d, 1, in->type2) < 0) return -1;
    if (in->type == T_F16X2 || in->type == T_BF16X2 || in->type2 == T_F16X2 || in->type2 == T_BF16X2 ||
        in->type == T_PRED || in->type2 == T_PRED || in->type == T_B128 || in->type2 == T_B128)
        return derr(d, "unsupported conversion '%s'", d->full);
    in->fn = op_cvt;
    return 0;
}

static int d_fmath(dec *d)
{
    const char *b = d->base;
    ptx_insn *in = d->in;
    int t = main_type(d);
    if (t < 0) return -1;
    static const char *names[] = { "rcp", "sqrt", "rsqrt", "sin", "cos", "lg2", "ex2", "tanh" };
    for (int i = 0; i < 8; i++)
        if (!strcmp(b, names[i])) in->sub = (uint8_t)(i + 1);
    if (t == T_F16 || t == T_F16X2 || t == T_BF16 || t == T_BF16X2) {
        if (in->sub == FM_EX2) { in->sub = HOP_EX2; return simple(d, op_hmath, 1); }
        if (in->sub == FM_TANH) { in->sub = HOP_TANH; return simple(d, op_hmath, 1); }
        return derr(d, "unsupported instruction '%s'", d->full);
    }
    if (t != T_F32 && t != T_F64) return derr(d, "unsupported type in '%s'", d->full);
    return simple(d, op_fmath, 1);
}

static int d_testp(dec *d)
{
    ptx_insn *in = d->in;
    int k = TAKE(d, "finite", "infinite", "number", "notanumber", "normal", "subnormal");
    if (!k) return derr(d, "bad testp '%s'", d->full);
    in->sub = (uint8_t)k;
    int t = main_type(d);
    if (t < 0 || nops_is(d, 2, 2) < 0 || want_dst(d, 0) < 0 || want_src(d, 1, t) < 0) return -1;
    in->type = (uint8_t)t;
    in->fn = op_testp;
    return 0;
}

static int check_addr(dec *d, int i)
{
    if (d->in->op[i].kind != OPK_ADDR)
        return derr(d, "expected an address operand in '%s'", d->full);
    return 0;
}

/* The state space of a memory access, refined by the symbol it names. */
static int mem_space(dec *d, int opi)
{
    ptx_opnd *o = &d->in->op[opi];
    int sp = d->space < 0 ? SP_GENERIC : d->space;
    if (sp == SP_PARAM_KERNEL && (o->symk == SYMK_FPARAM || (o->symk == SYMK_NONE && !d->f->is_entry)))
        sp = SP_PARAM_FRAME;
    if (sp == SP_PARAM_KERNEL && o->symk == SYMK_LOCAL)
        sp = SP_PARAM_FRAME;
    return sp;
}

static int d_ldst(dec *d)
{
    ptx_insn *in = d->in;
    int is_st = d->base[0] == 's';
    int t = main_type(d);
    if (t < 0 || nops_is(d, 2, 2) < 0) return -1;
    int ai = is_st ? 0 : 1, vi = is_st ? 1 : 0;
    if (check_addr(d, ai) < 0) return -1;
    in->type = (uint8_t)t;
    in->space = (uint8_t)mem_space(d, ai);
    in->aux = (uint32_t)(d->vec ? d->vec : 1);
    ptx_opnd *v = &in->op[vi];
    if (d->vec) {
        if (v->kind != OPK_VEC || v->n != d->vec) return derr(d, "vector operand size mismatch in '%s'", d->full);
        for (int i = 0; i < v->n; i++)
            if (v->vec[i] < 0) v->vec[i] = scratch_reg(d->f);
    } else if (is_st) {
        if (want_src(d, vi, t) < 0) return -1;
    } else if (want_dst(d, vi) < 0) {
        return -1;
    }
    if (t == T_B128 && !d->vec) return derr(d, "128-bit scalar access is not supported in '%s'", d->full);
    in->fn = is_st ? op_st : op_ld;
    if (!is_st && !d->vec && in->space == SP_PARAM_KERNEL && in->op[ai].reg < 0 && ptx_type_size(t) <= 8)
        in->fn = op_ld_kparam;
    if (!d->vec && in->space == SP_GLOBAL && in->op[ai].symk == SYMK_NONE) {
        int sz = ptx_type_size(t);
        if (!is_st && sz == 4 && t != T_S32) in->fn = op_ld_global_u32;
        else if (!is_st && sz == 8) in->fn = op_ld_global_u64;
        else if (is_st && sz == 4) in->fn = op_st_global_u32;
    }
    return 0;
}

static int d_atom(dec *d)
{
    ptx_insn *in = d->in;
    int is_red = d->base[0] == 'r';
    int k = TAKE(d, "add", "min", "max", "and", "or", "xor", "exch", "cas", "inc", "dec");
    if (!k) return derr(d, "unsupported atomic operation in '%s'", d->full);
    in->sub = (uint8_t)k;
    int t = main_type(d);
    if (t < 0) return -1;
    in->type = (uint8_t)t;
    int sz16_ok = (t == T_F16 || t == T_BF16) || (ptx_type_size(t) == 2 && (k == AOP_CAS || k == AOP_EXCH));
    if (((t == T_F16X2 || t == T_BF16X2) && k != AOP_ADD) || (ptx_type_size(t) != 4 && ptx_type_size(t) != 8 && !sz16_ok))
        return derr(d, "unsupported atomic type in '%s'", d->full);
    if (d->vec) return derr(d, "vector atomics are not supported ('%s')", d->full);
    int ai = is_red ? 0 : 1;
    int nsrc = k == AOP_CAS ? 2 : 1;
    if (nops_is(d, ai + 1 + nsrc, ai + 1 + nsrc) < 0 || check_addr(d, ai) < 0) return -1;
    if (!is_red && want_dst(d, 0) < 0) return -1;
    for (int i = 0; i < nsrc; i++)
        if (want_src(d, ai + 1 + i, t) < 0) return -1;
    if (is_red) {   /* normalise to atom layout with a scratch destination */
        memmove(&in->op[1], &in->op[0], sizeof(ptx_opnd) * 3);
        in->op[0].kind = OPK_REG;
        in->op[0].reg = scratch_reg(d->f);
        in->nops++;
    }
    in->space = (uint8_t)(d->space < 0 ? SP_GENERIC : d->space);
    if (in->space != SP_GLOBAL && in->space != SP_SHARED && in->space != SP_GENERIC)
        return derr(d, "atomics on this state space are not supported ('%s')", d->full);
    in->fn = op_atom;
    return 0;
}

static int d_cvta(dec *d)
{
    ptx_insn *in = d->in;
    int to = TAKE(d, "to");
    if (d->space < 0) return derr(d, "cvta needs a state space in '%s'", d->full);
    in->sub = to ? 1 : 0;
    in->space = (uint8_t)(d->space == SP_PARAM_KERNEL && !d->f->is_entry ? SP_PARAM_FRAME : d->space);
    int t = main_type(d);
    if (t < 0 || nops_is(d, 2, 2) < 0 || want_dst(d, 0) < 0) return -1;
    in->type = (uint8_t)t;
    if (in->op[1].kind == OPK_SYM) {
        in->op[1].n = 0;
        in->fn = op_mov_sym;    /* cvta.space d, sym  ==  address of sym, converted below */
        in->aux = 1;            /* convert to generic */
        return 0;
    }
    if (want_src(d, 1, t) < 0) return -1;
    in->fn = op_cvta;
    return 0;
}

static int d_isspacep(dec *d)
{
    ptx_insn *in = d->in;
    if (d->space < 0 || nops_is(d, 2, 2) < 0 || want_dst(d, 0) < 0 || want_src(d, 1, T_U64) < 0) return -1;
    in->space = (uint8_t)d->space;
    in->fn = op_isspacep;
    return 0;
}

static int d_bar(dec *d)
{
    ptx_insn *in = d->in;
    if (TAKE(d, "warp")) {   /* bar.warp.sync: lanes reconverge by construction */
        TAKE(d, "sync");
        in->fn = op_nop;
        return 0;
    }
    TAKE(d, "cta");
    TAKE(d, "sync");
    int arrive = TAKE(d, "arrive");
    int red = TAKE(d, "red");
    if (red) {
        int rop = TAKE(d, "popc", "and", "or");
        if (!rop) return derr(d, "bad barrier reduction '%s'", d->full);
        in->sub = (uint8_t)(1 + rop);   /* 2 popc, 3 and, 4 or */
        if (nops_is(d, 3, 4) < 0 || want_dst(d, 0) < 0) return -1;
        for (int i = 1; i < in->nops; i++)
            if (want_src(d, i, i == in->nops - 1 ? T_PRED : T_U32) < 0) return -1;
    } else {
        in->sub = arrive ? 1 : 0;
        if (nops_is(d, 1, 2) < 0) return -1;
        for (int i = 0; i < in->nops; i++)
            if (want_src(d, i, T_U32) < 0) return -1;
    }
    in->ctl = CTL_BAR;
    return 0;
}

static int d_shfl(dec *d)
{
    ptx_insn *in = d->in;
    int mode = TAKE(d, "up", "down", "bfly", "idx");
    if (!mode) return derr(d, "shfl needs a mode in '%s'", d->full);
    in->sub = (uint8_t)mode;
    in->type = T_B32;
    int has_p = in->nops == 6 && in->op[1].n == 1;
    if (in->nops != (has_p ? 6 : 5) && in->nops != (has_p ? 5 : 4))
        return derr(d, "wrong number of operands for '%s'", d->full);
    if (!has_p) {
        memmove(&in->op[2], &in->op[1], sizeof(ptx_opnd) * 4);
        in->op[1].kind = OPK_REG;
        in->op[1].reg = scratch_reg(d->f);
        in->nops++;
    }
    if (in->nops == 5) {   /* legacy shfl without a member mask */
        in->op[5].kind = OPK_IMM;
        in->op[5].imm = 0xffffffffu;
        in->nops = 6;
    }
    if (want_dst(d, 0) < 0 || want_dst(d, 1) < 0) return -1;
    for (int i = 2; i < 6; i++)
        if (want_src(d, i, T_B32) < 0) return -1;
    in->fn = op_shfl;
    return 0;
}

static int d_vote(dec *d)
{
    ptx_insn *in = d->in;
    int mode = TAKE(d, "all", "any", "uni", "ballot");
    if (!mode) return derr(d, "vote needs a mode in '%s'", d->full);
    in->sub = (uint8_t)mode;
    if (in->nops == 2) {   /* legacy vote without a member mask */
        in->op[2].kind = OPK_IMM;
        in->op[2].imm = 0xffffffffu;
        in->nops = 3;
    }
    if (nops_is(d, 3, 3) < 0 || want_dst(d, 0) < 0 || want_src(d, 1, T_PRED) < 0 || want_src(d, 2, T_B32) < 0)
        return -1;
    in->fn = op_vote;
    return 0;
}

static int d_match(dec *d)
{
    ptx_insn *in = d->in;
    int mode = TAKE(d, "any", "all");
    if (!mode) return derr(d, "match needs .any or .all in '%s'", d->full);
    in->sub = (uint8_t)(mode - 1);
    int t = main_type(d);
    if (t < 0) return -1;
    in->type = (uint8_t)t;
    int has_p = in->nops == 4 && in->op[1].n == 1;
    if (!has_p) {
        if (in->nops != 3) return derr(d, "wrong number of operands for '%s'", d->full);
        memmove(&in->op[2], &in->op[1], sizeof(ptx_opnd) * 2);
        in->op[1].kind = OPK_REG;
        in->op[1].reg = scratch_reg(d->f);
        in->nops = 4;
    }
    if (want_dst(d, 0) < 0 || want_dst(d, 1) < 0 || want_src(d, 2, t) < 0 || want_src(d, 3, T_B32) < 0) return -1;
    in->fn = op_match;
    return 0;
}

static int d_redux(dec *d)
{
    ptx_insn *in = d->in;
    int k = TAKE(d, "add", "min", "max", "and", "or", "xor");
    if (!k) return derr(d, "bad redux '%s'", d->full);
    static const uint8_t map[] = { 0, AOP_ADD, AOP_MIN, AOP_MAX, AOP_AND, AOP_OR, AOP_XOR };
    in->sub = map[k];
    int t = main_type(d);
    if (t < 0 || nops_is(d, 3, 3) < 0 || want_dst(d, 0) < 0 || want_src(d, 1, t) < 0 || want_src(d, 2, T_B32) < 0)
        return -1;
    in->type = (uint8_t)t;
    in->fn = op_redux;
    return 0;
}

static int d_branch(dec *d)
{
    ptx_insn *in = d->in;
    const char *b = d->base;
    if (!strcmp(b, "bra")) {
        if (nops_is(d, 1, 1) < 0 || in->op[0].kind != OPK_SYM) return derr(d, "bra needs a label in '%s'", d->full);
        in->ctl = CTL_BRA;
        return 0;
    }
    if (!strcmp(b, "brx")) {
        TAKE(d, "idx");
        if (nops_is(d, 2, 2) < 0 || in->op[0].kind != OPK_REG) return derr(d, "bad brx.idx '%s'", d->full);
        in->ctl = CTL_BRX;
        return 0;
    }
    if (!strcmp(b, "call")) { in->ctl = CTL_CALL; return 0; }
    if (!strcmp(b, "ret")) { in->ctl = CTL_RET; return 0; }
    if (!strcmp(b, "exit")) { in->ctl = CTL_EXIT; return 0; }
    if (!strcmp(b, "trap") || !strcmp(b, "brkpt")) { in->ctl = CTL_TRAP; return 0; }
    return derr(d, "unsupported instruction '%s'", d->full);
}

static int d_nop(dec *d)
{
    d->nwords = 0;   /* fences, prefetches and hints carry modifiers we do not model */
    d->in->fn = !strcmp(d->base, "membar") || !strcmp(d->base, "fence") ? op_fence : op_nop;
    return 0;
}

static int d_simple_misc(dec *d)
{
    ptx_insn *in = d->in;
    const char *b = d->base;
    if (!strcmp(b, "activemask")) {
        if (nops_is(d, 1, 1) < 0 || want_dst(d, 0) < 0) return -1;
        in->fn = op_activemask;
        return 0;
    }
    if (!strcmp(b, "elect")) {
        int has_p = in->nops == 3;
        if (!has_p) {
            if (in->nops != 2) return derr(d, "bad elect '%s'", d->full);
            in->op[2] = in->op[1];
            in->op[1] = in->op[0];
            in->op[0].kind = OPK_REG;
            in->op[0].reg = scratch_reg(d->f);
            in->nops = 3;
        }
        if (want_dst(d, 0) < 0 || want_dst(d, 1) < 0 || want_src(d, 2, T_B32) < 0) return -1;
        in->fn = op_elect;
        return 0;
    }
    if (!strcmp(b, "copysign")) return simple(d, op_copysign, 2);
    if (!strcmp(b, "dp4a") || !strcmp(b, "dp2a")) {
        if (d->ntypes != 2) return derr(d, "bad %s", d->full);
        in->sub = b[2] == '2';
        in->aux = TAKE(d, "hi") ? 1 : 0;
        TAKE(d, "lo");
        in->type = (uint8_t)d->types[0];
        in->type2 = (uint8_t)d->types[1];
        if (nops_is(d, 4, 4) < 0 || want_dst(d, 0) < 0) return -1;
        for (int i = 1; i < 4; i++) if (want_src(d, i, T_U32) < 0) return -1;
        in->fn = op_dp4a;
        return 0;
    }
    if (!strcmp(b, "cp")) {
        if (!TAKE(d, "async")) return derr(d, "unsupported instruction '%s'", d->full);
        if (TAKE(d, "commit_group", "wait_group", "wait_all")) { d->nwords = 0; in->fn = op_fence; return 0; }
        if (TAKE(d, "bulk", "mbarrier")) return derr(d, "unsupported instruction '%s'", d->full);
        d->nwords = 0;
        if (in->nops < 3 || check_addr(d, 0) < 0 || check_addr(d, 1) < 0 || want_src(d, 2, T_U32) < 0) return -1;
        if (in->nops > 4) return derr(d, "unsupported cp.async form '%s'", d->full);
        if (in->nops == 4 && want_src(d, 3, T_U32) < 0) return -1;
        in->fn = op_cp_async;
        return 0;
    }
    return derr(d, "unsupported instruction '%s'", d->full);
}

typedef int (*dec_fn)(dec *);
static const struct { const char *base; dec_fn fn; } k_decoders[] = {
    {"add", d_arith}, {"sub", d_arith}, {"addc", d_arith}, {"subc", d_arith}, {"mul", d_arith}, {"mad", d_arith},
    {"madc", d_arith}, {"fma", d_arith}, {"mul24", d_arith}, {"mad24", d_arith}, {"sad", d_arith}, {"div", d_arith},
    {"rem", d_arith}, {"min", d_arith}, {"max", d_arith}, {"abs", d_arith}, {"neg", d_arith},
    {"and", d_logic}, {"or", d_logic}, {"xor", d_logic}, {"not", d_logic}, {"cnot", d_logic},
    {"shl", d_bits}, {"shr", d_bits}, {"shf", d_bits}, {"popc", d_bits}, {"clz", d_bits}, {"brev", d_bits},
    {"bfind", d_bits}, {"fns", d_bits}, {"bfe", d_bits}, {"bfi", d_bits}, {"prmt", d_bits}, {"lop3", d_bits},
    {"bmsk", d_bits}, {"szext", d_bits},
    {"setp", d_setp}, {"set", d_set}, {"selp", d_selp}, {"slct", d_slct}, {"mov", d_mov}, {"cvt", d_cvt},
    {"rcp", d_fmath}, {"sqrt", d_fmath}, {"rsqrt", d_fmath}, {"sin", d_fmath}, {"cos", d_fmath},
    {"lg2", d_fmath}, {"ex2", d_fmath}, {"tanh", d_fmath}, {"testp", d_testp},
    {"ld", d_ldst}, {"ldu", d_ldst}, {"st", d_ldst}, {"atom", d_atom}, {"red", d_atom}, {"cvta", d_cvta},
    {"isspacep", d_isspacep},
    {"bar", d_bar}, {"barrier", d_bar}, {"shfl", d_shfl}, {"vote", d_vote}, {"match", d_match}, {"redux", d_redux},
    {"bra", d_branch}, {"brx", d_branch}, {"call", d_branch}, {"ret", d_branch}, {"exit", d_branch},
    {"trap", d_branch}, {"brkpt", d_branch},
    {"membar", d_nop}, {"fence", d_nop}, {"prefetch", d_nop}, {"prefetchu", d_nop}, {"nanosleep", d_nop},
    {"pmevent", d_nop}, {"applypriority", d_nop}, {"discard", d_nop}, {"griddepcontrol", d_nop},
    {"activemask", d_simple_misc}, {"elect", d_simple_misc}, {"copysign", d_simple_misc},
    {"dp4a", d_simple_misc}, {"dp2a", d_simple_misc}, {"cp", d_simple_misc},
};

int ptx_decode_insn(ptx_module *m, ptx_func *f, const char *opcode, ptx_insn *in, char *err, size_t errlen)
{
    (void)m;
    dec d;
    memset(&d, 0, sizeof d);
    d.full = opcode;
    d.err = err;
    d.errlen = errlen;
    d.f = f;
    d.in = in;
    if (split_opcode(&d, opcode) < 0)
        return -1;
    in->mods = 0;
    for (size_t i = 0; i < sizeof k_decoders / sizeof k_decoders[0]; i++) {
        if (strcmp(d.base, k_decoders[i].base))
            continue;
        if (k_decoders[i].fn(&d) < 0)
            return -1;
        in->mods |= d.mods;
        if (leftovers(&d) < 0)
            return -1;
        if (in->ctl == CTL_NONE && !in->fn)
            return derr(&d, "internal: no handler for '%s'", opcode);
        return 0;
    }
    return derr(&d, "unsupported instruction '%s'", opcode);
}

/* Is the opcode's base instruction one the decoder knows? (checked before operands are read,
 * so an unsupported instruction is named even when its operand syntax is unfamiliar) */
int ptx_decode_known(const char *opcode)
{
    size_t n = strcspn(opcode, ".");
    for (size_t i = 0; i < sizeof k_decoders / sizeof k_decoders[0]; i++)
        if (strlen(k_decoders[i].base) == n && !strncmp(opcode, k_decoders[i].base, n))
            return 1;
    return 0;
}
