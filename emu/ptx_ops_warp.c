/* ptx_ops_warp.c: warp-wide instructions: shfl.sync, vote.sync, match.sync, activemask,
 * redux.sync, elect.sync. The lanes in `mask` are the lanes executing the instruction together;
 * a lane named by a shuffle that is not executing it contributes its current register value. */
#include "ptx_ops.h"

/* op0 d, op1 p, op2 a, op3 b, op4 c, op5 membermask */
void op_shfl(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(2), B = SRC(3), C = SRC(4);
    uint64_t *D = DST(0), *P = DST(1);
    uint32_t av[PTX_WARP];
    for (int l = 0; l < PTX_WARP; l++)
        av[l] = (uint32_t)S(A, l);
    int mode = in->sub;
    LANES(mask, {
        uint32_t bval = (uint32_t)S(B, l) & 31, c = (uint32_t)S(C, l);
        uint32_t cval = c & 31, seg = (c >> 8) & 31;
        uint32_t lane = (uint32_t)l;
        uint32_t maxl = (lane & seg) | (cval & ~seg), minl = lane & seg;
        int32_t j;
        int ok;
        switch (mode) {
        case SHFL_UP: j = (int32_t)lane - (int32_t)bval; ok = j >= (int32_t)maxl; break;
        case SHFL_DOWN: j = (int32_t)(lane + bval); ok = j <= (int32_t)maxl; break;
        case SHFL_BFLY: j = (int32_t)(lane ^ bval); ok = j <= (int32_t)maxl; break;
        default: j = (int32_t)(minl | (bval & ~seg)); ok = j <= (int32_t)maxl; break;
        }
        if (!ok || j < 0 || j > 31) j = (int32_t)lane;
        D[l] = av[j];
        P[l] = (uint64_t)ok;
    });
}

/* op0 d, op1 a (pred, maybe negated), op2 membermask */
void op_vote(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1);
    int neg = in->op[1].neg;
    uint32_t t = 0;
    LANES(mask, { t |= (uint32_t)((S(A, l) != 0) ^ neg) << l; });
    uint64_t *D = DST(0);
    uint64_t r;
    switch (in->sub) {
    case VOTE_ALL: r = t == mask; break;
    case VOTE_ANY: r = t != 0; break;
    case VOTE_UNI: r = t == 0 || t == mask; break;
    default: r = t; break;
    }
    LANES(mask, { D[l] = r; });
}

/* op0 d, op1 p, op2 a, op3 membermask */
void op_match(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(2);
    uint64_t *D = DST(0), *P = DST(1);
    uint64_t wm = ptx_type_size(in->type) == 8 ? ~0ull : 0xffffffffull;
    if (in->sub == 0) {
        LANES(mask, {
            uint64_t v = S(A, l) & wm;
            uint32_t m = 0;
            LANES(mask, { if ((S(A, l) & wm) == v) m |= 1u << l; });
            D[l] = m;
            P[l] = 0;
        });
        return;
    }
    int first = __builtin_ctz(mask);
    uint64_t v0 = S(A, first) & wm;
    int same = 1;
    LANES(mask, { if ((S(A, l) & wm) != v0) same = 0; });
    LANES(mask, { D[l] = same ? mask : 0; P[l] = (uint64_t)same; });
}

void op_activemask(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint64_t *D = DST(0);
    LANES(mask, { D[l] = mask; });
}

void op_redux(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    int sg = ptx_type_is_signed(in->type);
    uint32_t acc = 0;
    int first = 1;
    LANES(mask, {
        uint32_t v = (uint32_t)S(A, l);
        if (first) { acc = v; first = 0; continue; }
        switch (in->sub) {
        case AOP_ADD: acc += v; break;
        case AOP_MIN: acc = sg ? ((int32_t)v < (int32_t)acc ? v : acc) : (v < acc ? v : acc); break;
        case AOP_MAX: acc = sg ? ((int32_t)v > (int32_t)acc ? v : acc) : (v > acc ? v : acc); break;
        case AOP_AND: acc &= v; break;
        case AOP_OR: acc |= v; break;
        default: acc ^= v; break;
        }
    });
    LANES(mask, { D[l] = acc; });
}

/* op0 d (leader lane), op1 p (is leader), op2 membermask */
void op_elect(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t M = SRC(2);
    uint32_t mm = (uint32_t)S(M, __builtin_ctz(mask)) & mask;
    int leader = mm ? __builtin_ctz(mm) : -1;
    uint64_t *D = DST(0), *P = DST(1);
    LANES(mask, { D[l] = (uint64_t)(uint32_t)leader; P[l] = l == leader; });
}
