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

/* Each lane's member mask may differ (e.g. two 16-lane tiles in one warp): lane l's result is
 * over the executing lanes of its own member mask. */

/* op0 d, op1 a (pred, maybe negated), op2 membermask */
void op_vote(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), M = SRC(2);
    int neg = in->op[1].neg;
    uint32_t t = 0;
    LANES(mask, { t |= (uint32_t)((S(A, l) != 0) ^ neg) << l; });
    uint64_t *D = DST(0);
    int mode = in->sub;
    LANES(mask, {
        uint32_t part = mask & (uint32_t)S(M, l), tp = t & part;
        uint64_t r;
        switch (mode) {
        case VOTE_ALL: r = tp == part; break;
        case VOTE_ANY: r = tp != 0; break;
        case VOTE_UNI: r = tp == 0 || tp == part; break;
        default: r = tp; break;
        }
        D[l] = r;
    });
}

/* op0 d, op1 p, op2 a, op3 membermask */
void op_match(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(2), M = SRC(3);
    uint64_t *D = DST(0), *P = DST(1);
    uint64_t wm = ptx_type_size(in->type) == 8 ? ~0ull : 0xffffffffull;
    uint64_t v[PTX_WARP];
    for (int l = 0; l < PTX_WARP; l++)
        v[l] = S(A, l) & wm;
    int all = in->sub;
    LANES(mask, {
        uint32_t part = mask & (uint32_t)S(M, l), same = 0;
        for (uint32_t m = part; m; m &= m - 1) {
            int k = __builtin_ctz(m);
            if (v[k] == v[l]) same |= 1u << k;
        }
        if (all) {
            int ok = same == part;
            D[l] = ok ? part : 0;
            P[l] = (uint64_t)ok;
        } else {
            D[l] = same;
            P[l] = 0;
        }
    });
}

void op_activemask(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint64_t *D = DST(0);
    LANES(mask, { D[l] = mask; });
}

void op_redux(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), M = SRC(2);
    uint64_t *D = DST(0);
    int sg = ptx_type_is_signed(in->type), op = in->sub;
    uint32_t v[PTX_WARP];
    for (int l = 0; l < PTX_WARP; l++)
        v[l] = (uint32_t)S(A, l);
    LANES(mask, {
        uint32_t part = mask & (uint32_t)S(M, l);
        uint32_t acc = v[part ? __builtin_ctz(part) : l];
        for (uint32_t m = part & (part - 1); m; m &= m - 1) {
            uint32_t x = v[__builtin_ctz(m)];
            switch (op) {
            case AOP_ADD: acc += x; break;
            case AOP_MIN: acc = sg ? ((int32_t)x < (int32_t)acc ? x : acc) : (x < acc ? x : acc); break;
            case AOP_MAX: acc = sg ? ((int32_t)x > (int32_t)acc ? x : acc) : (x > acc ? x : acc); break;
            case AOP_AND: acc &= x; break;
            case AOP_OR: acc |= x; break;
            default: acc ^= x; break;
            }
        }
        D[l] = acc;
    });
}

/* op0 d (leader lane), op1 p (is leader), op2 membermask */
void op_elect(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t M = SRC(2);
    uint64_t *D = DST(0), *P = DST(1);
    LANES(mask, {
        uint32_t mm = (uint32_t)S(M, l) & mask;
        int leader = mm ? __builtin_ctz(mm) : -1;
        D[l] = (uint64_t)(uint32_t)leader;
        P[l] = l == leader;
    });
}
