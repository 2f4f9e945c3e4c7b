/* ptx_ops.h: what instruction handlers share: the lane loop, operand access, bit casts, and the
 * handler functions ptx_decode.c chooses from. Every handler has the ptx_exec_fn signature and
 * runs one instruction for the lanes in mask. */
#ifndef BF_EMU_PTX_OPS_H
#define BF_EMU_PTX_OPS_H
#include "ptx_ir.h"
#include <string.h>

/* Runs body with `l` bound to each lane of mask. */
#define LANES(mask, ...) do { uint32_t _m = (mask); \
    if (_m == 0xffffffffu) { for (int l = 0; l < PTX_WARP; l++) { __VA_ARGS__; } } \
    else { while (_m) { int l = __builtin_ctz(_m); _m &= _m - 1; __VA_ARGS__; } } } while (0)

typedef struct src_t { const uint64_t *p; uint32_t st; } src_t;
static inline src_t src_of(ptx_warp *w, const ptx_opnd *o)
{
    if (o->kind == OPK_REG)
        return (src_t){ REG(w, o->reg), 1 };
    return (src_t){ &o->imm, 0 };
}
#define S(s, l) ((s).p[(size_t)(l) * (s).st])
#define SRC(i) src_of(w, &in->op[i])
#define DST(i) REG(w, in->op[i].reg)

static inline float as_f32(uint64_t v) { uint32_t u = (uint32_t)v; float f; memcpy(&f, &u, 4); return f; }
static inline uint64_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline double as_f64(uint64_t v) { double d; memcpy(&d, &v, 8); return d; }
static inline uint64_t f64_bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

/* Sub-operations (ptx_insn.sub). */
enum { CMP_EQ = 1, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_LO, CMP_LS, CMP_HI, CMP_HS,
       CMP_EQU, CMP_NEU, CMP_LTU, CMP_LEU, CMP_GTU, CMP_GEU, CMP_NUM, CMP_NAN };
enum { BOP_NONE = 0, BOP_AND, BOP_OR, BOP_XOR };
enum { AOP_ADD = 1, AOP_MIN, AOP_MAX, AOP_AND, AOP_OR, AOP_XOR, AOP_EXCH, AOP_CAS, AOP_INC, AOP_DEC };
enum { SHFL_UP = 1, SHFL_DOWN, SHFL_BFLY, SHFL_IDX };
enum { VOTE_ALL = 1, VOTE_ANY, VOTE_UNI, VOTE_BALLOT };
enum { TESTP_FINITE = 1, TESTP_INFINITE, TESTP_NUMBER, TESTP_NOTANUMBER, TESTP_NORMAL, TESTP_SUBNORMAL };

/* integer and bit operations (ptx_ops_int.c) */
void op_add(ptx_warp *, const ptx_insn *, uint32_t);
void op_sub(ptx_warp *, const ptx_insn *, uint32_t);
void op_addc(ptx_warp *, const ptx_insn *, uint32_t);     /* add.cc / addc / sub.cc / subc: sub=1 for sub */
void op_mul(ptx_warp *, const ptx_insn *, uint32_t);      /* mods: M_LO / M_HI / M_WIDE */
void op_mad(ptx_warp *, const ptx_insn *, uint32_t);
void op_madc(ptx_warp *, const ptx_insn *, uint32_t);
void op_mul24(ptx_warp *, const ptx_insn *, uint32_t);
void op_sad(ptx_warp *, const ptx_insn *, uint32_t);
void op_div_int(ptx_warp *, const ptx_insn *, uint32_t);
void op_rem(ptx_warp *, const ptx_insn *, uint32_t);
void op_minmax_int(ptx_warp *, const ptx_insn *, uint32_t); /* sub: 0 min, 1 max */
void op_abs_int(ptx_warp *, const ptx_insn *, uint32_t);
void op_neg_int(ptx_warp *, const ptx_insn *, uint32_t);
void op_logic(ptx_warp *, const ptx_insn *, uint32_t);    /* sub: BOP_AND/OR/XOR */
void op_not(ptx_warp *, const ptx_insn *, uint32_t);
void op_cnot(ptx_warp *, const ptx_insn *, uint32_t);
void op_lop3(ptx_warp *, const ptx_insn *, uint32_t);
void op_shl(ptx_warp *, const ptx_insn *, uint32_t);
void op_shr(ptx_warp *, const ptx_insn *, uint32_t);
void op_shf(ptx_warp *, const ptx_insn *, uint32_t);      /* sub: 0 left, 1 right; M_CLAMP/M_WRAP */
void op_popc(ptx_warp *, const ptx_insn *, uint32_t);
void op_clz(ptx_warp *, const ptx_insn *, uint32_t);
void op_brev(ptx_warp *, const ptx_insn *, uint32_t);
void op_bfind(ptx_warp *, const ptx_insn *, uint32_t);
void op_fns(ptx_warp *, const ptx_insn *, uint32_t);
void op_bfe(ptx_warp *, const ptx_insn *, uint32_t);
void op_bfi(ptx_warp *, const ptx_insn *, uint32_t);
void op_prmt(ptx_warp *, const ptx_insn *, uint32_t);     /* sub: 0 default, 1 f4e, 2 b4e, 3 rc8, 4 ecl, 5 ecr, 6 rc16 */
void op_bmsk(ptx_warp *, const ptx_insn *, uint32_t);
void op_szext(ptx_warp *, const ptx_insn *, uint32_t);
void op_dp4a(ptx_warp *, const ptx_insn *, uint32_t);     /* type: a type, type2: b type; sub 1 = dp2a (aux: hi) */
void op_setp(ptx_warp *, const ptx_insn *, uint32_t);     /* sub: CMP_*, sub2: BOP_*, aux: 1 when q present */
void op_set(ptx_warp *, const ptx_insn *, uint32_t);      /* type2: source type, type: dest type */
void op_selp(ptx_warp *, const ptx_insn *, uint32_t);
void op_slct(ptx_warp *, const ptx_insn *, uint32_t);
void op_mov(ptx_warp *, const ptx_insn *, uint32_t);
void op_mov_pack(ptx_warp *, const ptx_insn *, uint32_t);   /* mov d, {a,b..} (aux: element bits) */
void op_mov_unpack(ptx_warp *, const ptx_insn *, uint32_t); /* mov {a,b..}, s */
void op_mov_sym(ptx_warp *, const ptx_insn *, uint32_t);    /* mov d, symbol (address) */
void op_mov_sreg(ptx_warp *, const ptx_insn *, uint32_t);   /* dynamic special registers */
void op_pred_not(ptx_warp *, const ptx_insn *, uint32_t);
void op_nop(ptx_warp *, const ptx_insn *, uint32_t);

/* floating point (ptx_ops_float.c) */
void op_fadd(ptx_warp *, const ptx_insn *, uint32_t);
void op_fsub(ptx_warp *, const ptx_insn *, uint32_t);
void op_fmul(ptx_warp *, const ptx_insn *, uint32_t);
void op_ffma(ptx_warp *, const ptx_insn *, uint32_t);
void op_fdiv(ptx_warp *, const ptx_insn *, uint32_t);
void op_fminmax(ptx_warp *, const ptx_insn *, uint32_t);  /* sub: 0 min, 1 max */
void op_fabs(ptx_warp *, const ptx_insn *, uint32_t);
void op_fneg(ptx_warp *, const ptx_insn *, uint32_t);
void op_fmath(ptx_warp *, const ptx_insn *, uint32_t);    /* sub: FM_* unary functions */
void op_testp(ptx_warp *, const ptx_insn *, uint32_t);
void op_copysign(ptx_warp *, const ptx_insn *, uint32_t);
void op_cvt(ptx_warp *, const ptx_insn *, uint32_t);      /* type: dest, type2: source */
void op_cvt_pack(ptx_warp *, const ptx_insn *, uint32_t); /* cvt.rn.f16x2.f32 d, a, b */
enum { FM_RCP = 1, FM_SQRT, FM_RSQRT, FM_SIN, FM_COS, FM_LG2, FM_EX2, FM_TANH };
void op_hmath(ptx_warp *, const ptx_insn *, uint32_t);    /* f16/bf16 (x2) arithmetic; sub: HOP_* */
enum { HOP_ADD = 1, HOP_SUB, HOP_MUL, HOP_FMA, HOP_MIN, HOP_MAX, HOP_NEG, HOP_ABS, HOP_EX2, HOP_TANH };

/* memory (ptx_ops_mem.c) */
void op_ld(ptx_warp *, const ptx_insn *, uint32_t);       /* space, type, aux = vector width */
void op_st(ptx_warp *, const ptx_insn *, uint32_t);
void op_ld_kparam(ptx_warp *, const ptx_insn *, uint32_t);
void op_ld_global_u32(ptx_warp *, const ptx_insn *, uint32_t);
void op_ld_global_u64(ptx_warp *, const ptx_insn *, uint32_t);
void op_st_global_u32(ptx_warp *, const ptx_insn *, uint32_t);
void op_atom(ptx_warp *, const ptx_insn *, uint32_t);     /* sub: AOP_*, aux 1 for red (no result) */
void op_cvta(ptx_warp *, const ptx_insn *, uint32_t);     /* sub: 0 to generic, 1 from generic */
void op_isspacep(ptx_warp *, const ptx_insn *, uint32_t);
void op_fence(ptx_warp *, const ptx_insn *, uint32_t);
void op_cp_async(ptx_warp *, const ptx_insn *, uint32_t);

/* warp-wide (ptx_ops_warp.c) */
void op_shfl(ptx_warp *, const ptx_insn *, uint32_t);     /* sub: SHFL_*, aux: 1 when the p output exists */
void op_vote(ptx_warp *, const ptx_insn *, uint32_t);     /* sub: VOTE_* */
void op_match(ptx_warp *, const ptx_insn *, uint32_t);    /* sub: 0 any, 1 all; aux: p output */
void op_activemask(ptx_warp *, const ptx_insn *, uint32_t);
void op_redux(ptx_warp *, const ptx_insn *, uint32_t);    /* sub: AOP_ADD/MIN/MAX/AND/OR/XOR */
void op_elect(ptx_warp *, const ptx_insn *, uint32_t);

/* exec helpers (ptx_exec.c) */
uint64_t ptx_to_generic(ptx_warp *w, int sp, uint64_t a, int lane);
uint64_t ptx_from_generic(ptx_warp *w, int sp, uint64_t a, int lane);
int ptx_is_space(ptx_warp *w, int sp, uint64_t a, int lane);
uint64_t ptx_dyn_sreg(ptx_warp *w, int sr);
#endif
