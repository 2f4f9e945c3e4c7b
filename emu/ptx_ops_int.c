/* ptx_ops_int.c: integer, bit, logic, comparison, select and move instructions. Values live in
 * 64-bit register slots; an instruction reads the low bits its type names and writes results
 * zero-extended (signed loads and conversions sign-extend). */
#include "ptx_ops.h"
#include <stdlib.h>

typedef __int128 i128;
typedef unsigned __int128 u128;

/* Apply `expr` (over a, b in type CT) per lane, storing through UT to zero-extend. */
#define BIN(CT, UT, expr) do { src_t A = SRC(1), B = SRC(2); uint64_t *D = DST(0); \
    LANES(mask, { CT a = (CT)S(A, l); CT b = (CT)S(B, l); D[l] = (uint64_t)(UT)(expr); }); } while (0)
#define UN(CT, UT, expr) do { src_t A = SRC(1); uint64_t *D = DST(0); \
    LANES(mask, { CT a = (CT)S(A, l); D[l] = (uint64_t)(UT)(expr); }); } while (0)
#define TER(CT, UT, expr) do { src_t A = SRC(1), B = SRC(2), C = SRC(3); uint64_t *D = DST(0); \
    LANES(mask, { CT a = (CT)S(A, l); CT b = (CT)S(B, l); CT c = (CT)S(C, l); D[l] = (uint64_t)(UT)(expr); }); } while (0)

/* Dispatch on the width (and signedness where it matters) of in->type. */
#define BY_WIDTH_U(M, expr) switch (ptx_type_size(in->type)) { \
    case 1: M(uint8_t, uint8_t, expr); break; case 2: M(uint16_t, uint16_t, expr); break; \
    case 4: M(uint32_t, uint32_t, expr); break; default: M(uint64_t, uint64_t, expr); break; }
#define BY_TYPE(M, expr) switch (in->type) { \
    case T_S8: M(int8_t, uint8_t, expr); break; case T_S16: M(int16_t, uint16_t, expr); break; \
    case T_S32: M(int32_t, uint32_t, expr); break; case T_S64: M(int64_t, uint64_t, expr); break; \
    default: BY_WIDTH_U(M, expr) }

static inline int32_t sat_s32(int64_t v) { return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v; }

void op_nop(ptx_warp *w, const ptx_insn *in, uint32_t mask) { (void)w; (void)in; (void)mask; }

void op_add(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    if ((in->mods & M_SAT) && in->type == T_S32) {
        BIN(int32_t, uint32_t, sat_s32((int64_t)a + b));
        return;
    }
    BY_WIDTH_U(BIN, a + b)
}

void op_sub(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    if ((in->mods & M_SAT) && in->type == T_S32) {
        BIN(int32_t, uint32_t, sat_s32((int64_t)a - b));
        return;
    }
    BY_WIDTH_U(BIN, a - b)
}

/* add.cc / addc / sub.cc / subc: in->sub 1 = subtract; in->aux 1 = consume carry; M_CC = produce carry. */
void op_addc(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2);
    uint64_t *D = DST(0);
    int wide = ptx_type_size(in->type) == 8;
    uint32_t carry = w->carry, out = carry;
    LANES(mask, {
        uint64_t a = S(A, l), b = S(B, l);
        uint64_t cin = in->aux ? ((carry >> l) & 1) : (in->sub ? 0 : 0);
        u128 r;
        int c;
        if (!in->sub) {
            r = wide ? (u128)a + b + cin : (u128)(uint32_t)a + (uint32_t)b + cin;
            c = wide ? (int)(r >> 64) : (int)((r >> 32) & 1);
        } else {
            /* borrow semantics: CC.CF holds the borrow-out; subc subtracts it */
            u128 bb = wide ? (u128)b + cin : (u128)(uint32_t)b + cin;
            u128 aa = wide ? (u128)a : (u128)(uint32_t)a;
            r = aa - bb;
            c = aa < bb;
        }
        D[l] = wide ? (uint64_t)r : (uint32_t)r;
        if (in->mods & M_CC)
            out = (out & ~(1u << l)) | ((uint32_t)c << l);
    });
    w->carry = out;
}

void op_mul(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int sz = ptx_type_size(in->type), sg = ptx_type_is_signed(in->type);
    if (in->mods & M_WIDE) {
        if (sz == 2) { if (sg) BIN(int16_t, uint32_t, (int32_t)a * (int32_t)b); else BIN(uint16_t, uint32_t, (uint32_t)a * b); }
        else if (sg) BIN(int32_t, uint64_t, (int64_t)a * (int64_t)b);
        else BIN(uint32_t, uint64_t, (uint64_t)a * b);
        return;
    }
    if (in->mods & M_HI) {
        switch (sz) {
        case 2: if (sg) BIN(int16_t, uint16_t, ((int32_t)a * b) >> 16); else BIN(uint16_t, uint16_t, ((uint32_t)a * b) >> 16); break;
        case 4: if (sg) BIN(int32_t, uint32_t, ((int64_t)a * b) >> 32); else BIN(uint32_t, uint32_t, ((uint64_t)a * b) >> 32); break;
        default: if (sg) BIN(int64_t, uint64_t, ((i128)a * b) >> 64); else BIN(uint64_t, uint64_t, ((u128)a * b) >> 64); break;
        }
        return;
    }
    switch (sz) {
    case 2: BIN(uint16_t, uint16_t, (uint32_t)a * b); break;
    case 4: BIN(uint32_t, uint32_t, a * b); break;
    default: BIN(uint64_t, uint64_t, a * b); break;
    }
}

void op_mad(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int sz = ptx_type_size(in->type), sg = ptx_type_is_signed(in->type);
    if (in->mods & M_WIDE) {
        if (sz == 2) {
            if (sg) TER(int16_t, uint32_t, (uint32_t)((int32_t)a * (int32_t)b) + (uint32_t)(int32_t)(int16_t)c);
            else TER(uint16_t, uint32_t, (uint32_t)a * b + c);
            return;
        }
        src_t A = SRC(1), B = SRC(2), C = SRC(3);
        uint64_t *D = DST(0);
        if (sg) LANES(mask, { D[l] = (uint64_t)((int64_t)(int32_t)S(A, l) * (int32_t)S(B, l)) + S(C, l); });
        else LANES(mask, { D[l] = (uint64_t)(uint32_t)S(A, l) * (uint32_t)S(B, l) + S(C, l); });
        return;
    }
    if (in->mods & M_HI) {
        switch (sz) {
        case 4:
            if (in->mods & M_SAT) TER(int32_t, uint32_t, sat_s32((((int64_t)a * b) >> 32) + c));
            else if (sg) TER(int32_t, uint32_t, (uint32_t)(((int64_t)a * b) >> 32) + (uint32_t)c);
            else TER(uint32_t, uint32_t, (uint32_t)(((uint64_t)a * b) >> 32) + c);
            break;
        case 8:
            if (sg) TER(int64_t, uint64_t, (uint64_t)(((i128)a * b) >> 64) + (uint64_t)c);
            else TER(uint64_t, uint64_t, (uint64_t)(((u128)a * b) >> 64) + c);
            break;
        default:
            if (sg) TER(int16_t, uint16_t, (uint16_t)(((int32_t)a * b) >> 16) + (uint16_t)c);
            else TER(uint16_t, uint16_t, (((uint32_t)a * b) >> 16) + c);
            break;
        }
        return;
    }
    switch (sz) {
    case 2: TER(uint16_t, uint16_t, (uint32_t)a * b + c); break;
    case 4: TER(uint32_t, uint32_t, a * b + c); break;
    default: TER(uint64_t, uint64_t, a * b + c); break;
    }
}

/* mad.lo.cc / madc.lo / madc.hi (.cc): carry-chained multiply-add. */
void op_madc(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2), C = SRC(3);
    uint64_t *D = DST(0);
    int wide = ptx_type_size(in->type) == 8, hi = (in->mods & M_HI) != 0, sg = ptx_type_is_signed(in->type);
    uint32_t carry = w->carry, out = carry;
    LANES(mask, {
        uint64_t a = S(A, l), b = S(B, l), c = S(C, l);
        uint64_t cin = in->aux ? ((carry >> l) & 1) : 0;
        uint64_t prod;
        if (wide) {
            u128 p = sg ? (u128)((i128)(int64_t)a * (int64_t)b) : (u128)a * b;
            prod = hi ? (uint64_t)(p >> 64) : (uint64_t)p;
            u128 r = (u128)prod + c + cin;
            D[l] = (uint64_t)r;
            if (in->mods & M_CC) out = (out & ~(1u << l)) | ((uint32_t)(r >> 64) & 1) << l;
        } else {
            uint64_t p = sg ? (uint64_t)((int64_t)(int32_t)a * (int32_t)b) : (uint64_t)(uint32_t)a * (uint32_t)b;
            prod = hi ? (p >> 32) & 0xffffffffu : p & 0xffffffffu;
            uint64_t r = prod + (uint32_t)c + cin;
            D[l] = (uint32_t)r;
            if (in->mods & M_CC) out = (out & ~(1u << l)) | (uint32_t)((r >> 32) & 1) << l;
        }
    });
    w->carry = out;
}

void op_mul24(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int hi = (in->mods & M_HI) != 0, sg = ptx_type_is_signed(in->type), mad = in->sub;
    src_t A = SRC(1), B = SRC(2), C = mad ? SRC(3) : (src_t){ 0 };
    uint64_t *D = DST(0);
    LANES(mask, {
        int64_t a = sg ? (int64_t)((int32_t)((uint32_t)S(A, l) << 8) >> 8) : (int64_t)(S(A, l) & 0xffffff);
        int64_t b = sg ? (int64_t)((int32_t)((uint32_t)S(B, l) << 8) >> 8) : (int64_t)(S(B, l) & 0xffffff);
        uint64_t p = (uint64_t)(a * b);
        uint32_t r = hi ? (uint32_t)(p >> 16) : (uint32_t)p;
        if (mad) r += (uint32_t)S(C, l);
        D[l] = r;
    });
}

void op_sad(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    if (ptx_type_is_signed(in->type)) {
        if (ptx_type_size(in->type) == 8) TER(int64_t, uint64_t, (uint64_t)(a < b ? (uint64_t)b - (uint64_t)a : (uint64_t)a - (uint64_t)b) + (uint64_t)c);
        else TER(int32_t, uint32_t, (uint32_t)(a < b ? (uint32_t)b - (uint32_t)a : (uint32_t)a - (uint32_t)b) + (uint32_t)c);
    } else {
        BY_WIDTH_U(TER, (a < b ? b - a : a - b) + c)
    }
}

/* Division by zero and INT_MIN / -1 give what the GPU gives, not a host trap. */
void op_div_int(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    switch (in->type) {
    case T_S16: BIN(int16_t, uint16_t, b == 0 ? -1 : (int16_t)((int32_t)a / b)); break;
    case T_S32: BIN(int32_t, uint32_t, b == 0 ? -1 : (b == -1 ? (int32_t)(0u - (uint32_t)a) : a / b)); break;
    case T_S64: BIN(int64_t, uint64_t, b == 0 ? -1 : (b == -1 ? (int64_t)(0ull - (uint64_t)a) : a / b)); break;
    default: BY_WIDTH_U(BIN, b == 0 ? (__typeof__(a))~(__typeof__(a))0 : (__typeof__(a))(a / b))
    }
}

void op_rem(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    switch (in->type) {
    case T_S16: BIN(int16_t, uint16_t, b == 0 ? a : (int16_t)((int32_t)a % b)); break;
    case T_S32: BIN(int32_t, uint32_t, b == 0 ? a : (b == -1 ? 0 : a % b)); break;
    case T_S64: BIN(int64_t, uint64_t, b == 0 ? a : (b == -1 ? 0 : a % b)); break;
    default: BY_WIDTH_U(BIN, b == 0 ? a : (__typeof__(a))(a % b))
    }
}

void op_minmax_int(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    if (in->sub) { BY_TYPE(BIN, a > b ? a : b) }
    else { BY_TYPE(BIN, a < b ? a : b) }
}

void op_abs_int(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    switch (in->type) {
    case T_S16: UN(int16_t, uint16_t, a < 0 ? (uint16_t)(0u - (uint16_t)a) : (uint16_t)a); break;
    case T_S64: UN(int64_t, uint64_t, a < 0 ? 0ull - (uint64_t)a : (uint64_t)a); break;
    default: UN(int32_t, uint32_t, a < 0 ? 0u - (uint32_t)a : (uint32_t)a); break;
    }
}

void op_neg_int(ptx_warp *w, const ptx_insn *in, uint32_t mask) { BY_WIDTH_U(UN, 0 - a) }

void op_logic(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2);
    uint64_t *D = DST(0);
    switch (in->sub) {
    case BOP_AND: LANES(mask, { D[l] = S(A, l) & S(B, l); }); break;
    case BOP_OR: LANES(mask, { D[l] = S(A, l) | S(B, l); }); break;
    default: LANES(mask, { D[l] = S(A, l) ^ S(B, l); }); break;
    }
    if (in->op[1].neg || in->op[2].neg) {   /* and.pred d, a, !b */
        int na = in->op[1].neg, nb = in->op[2].neg;
        LANES(mask, {
            uint64_t a = (S(A, l) != 0) ^ na, b = (S(B, l) != 0) ^ nb;
            D[l] = in->sub == BOP_AND ? (a & b) : in->sub == BOP_OR ? (a | b) : (a ^ b);
        });
    }
}

void op_not(ptx_warp *w, const ptx_insn *in, uint32_t mask) { BY_WIDTH_U(UN, ~a) }
void op_pred_not(ptx_warp *w, const ptx_insn *in, uint32_t mask) { UN(uint64_t, uint64_t, a == 0); }
void op_cnot(ptx_warp *w, const ptx_insn *in, uint32_t mask) { BY_WIDTH_U(UN, a == 0) }

void op_lop3(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint32_t lut = (uint32_t)in->op[4].imm;
    src_t A = SRC(1), B = SRC(2), C = SRC(3);
    uint64_t *D = DST(0);
    LANES(mask, {
        uint32_t a = (uint32_t)S(A, l), b = (uint32_t)S(B, l), c = (uint32_t)S(C, l), r = 0;
        for (int k = 0; k < 8; k++) {
            if (!((lut >> k) & 1)) continue;
            uint32_t ta = (k & 4) ? a : ~a, tb = (k & 2) ? b : ~b, tc = (k & 1) ? c : ~c;
            r |= ta & tb & tc;
        }
        D[l] = r;
    });
}

void op_shl(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int bits = ptx_type_size(in->type) * 8;
    src_t A = SRC(1), B = SRC(2);
    uint64_t *D = DST(0);
    uint64_t wm = bits == 64 ? ~0ull : ((1ull << bits) - 1);
    LANES(mask, { uint32_t b = (uint32_t)S(B, l); D[l] = b >= (uint32_t)bits ? 0 : (S(A, l) << b) & wm; });
}

void op_shr(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int bits = ptx_type_size(in->type) * 8;
    src_t A = SRC(1), B = SRC(2);
    uint64_t *D = DST(0);
    if (ptx_type_is_signed(in->type)) {
        LANES(mask, {
            uint32_t b = (uint32_t)S(B, l);
            int64_t a = (int64_t)(S(A, l) << (64 - bits)) >> (64 - bits);
            if (b >= (uint32_t)bits) b = (uint32_t)bits - 1;
            int64_t r = a >> b;
            D[l] = bits == 64 ? (uint64_t)r : (uint64_t)r & ((1ull << bits) - 1);
        });
    } else {
        uint64_t wm = bits == 64 ? ~0ull : ((1ull << bits) - 1);
        LANES(mask, { uint32_t b = (uint32_t)S(B, l); D[l] = b >= (uint32_t)bits ? 0 : (S(A, l) & wm) >> b; });
    }
}

/* shf.{l,r}.{wrap,clamp}.b32 d, a, b, c: funnel shift of b:a by c. */
void op_shf(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2), C = SRC(3);
    uint64_t *D = DST(0);
    int clamp = (in->mods & M_CLAMP) != 0, right = in->sub;
    LANES(mask, {
        uint64_t v = ((uint64_t)(uint32_t)S(B, l) << 32) | (uint32_t)S(A, l);
        uint32_t n = (uint32_t)S(C, l);
        n = clamp ? (n > 32 ? 32 : n) : (n & 31);
        D[l] = right ? (uint32_t)(v >> n) : (uint32_t)((v << n) >> 32);
    });
}

void op_popc(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    if (ptx_type_size(in->type) == 8) UN(uint64_t, uint32_t, __builtin_popcountll(a));
    else UN(uint32_t, uint32_t, __builtin_popcount(a));
}

void op_clz(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    if (ptx_type_size(in->type) == 8) UN(uint64_t, uint32_t, a ? __builtin_clzll(a) : 64);
    else UN(uint32_t, uint32_t, a ? __builtin_clz(a) : 32);
}

void op_brev(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int bits = ptx_type_size(in->type) * 8;
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    LANES(mask, {
        uint64_t a = S(A, l), r = 0;
        for (int k = 0; k < bits; k++) r |= ((a >> k) & 1) << (bits - 1 - k);
        D[l] = r;
    });
}

void op_bfind(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int bits = ptx_type_size(in->type) * 8, sg = ptx_type_is_signed(in->type);
    int shamt = (in->mods & M_SHIFTAMT) != 0;
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    LANES(mask, {
        uint64_t a = S(A, l);
        if (bits == 32) a &= 0xffffffffu;
        if (sg && ((a >> (bits - 1)) & 1)) a = ~a & (bits == 64 ? ~0ull : 0xffffffffull);
        uint32_t r = a ? (uint32_t)(63 - __builtin_clzll(a)) : 0xffffffffu;
        if (shamt && r != 0xffffffffu) r = (uint32_t)bits - 1 - r;
        D[l] = r;
    });
}

void op_fns(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2), C = SRC(3);
    uint64_t *D = DST(0);
    LANES(mask, {
        uint32_t m = (uint32_t)S(A, l), base = (uint32_t)S(B, l) & 31;
        int32_t off = (int32_t)S(C, l);
        uint32_t r = 0xffffffffu;
        if (off == 0) { r = base; }
        else if (off > 0) {
            int cnt = 0;
            for (uint32_t p = base; p < 32; p++) if ((m >> p) & 1) { if (++cnt == off) { r = p; break; } }
        } else {
            int cnt = 0;
            for (int p = (int)base; p >= 0; p--) if ((m >> p) & 1) { if (--cnt == off) { r = (uint32_t)p; break; } }
        }
        D[l] = r;
    });
}

void op_bfe(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int bits = ptx_type_size(in->type) * 8, sg = ptx_type_is_signed(in->type);
    src_t A = SRC(1), B = SRC(2), C = SRC(3);
    uint64_t *D = DST(0);
    uint64_t wm = bits == 64 ? ~0ull : ((1ull << bits) - 1);
    LANES(mask, {
        /* extend the source to 64 bits so bits past its msb read as its sign (or zero) */
        uint64_t a = S(A, l) & wm;
        if (sg && bits < 64 && ((a >> (bits - 1)) & 1)) a |= ~wm;
        uint32_t pos = (uint32_t)S(B, l) & 0xff, len = (uint32_t)S(C, l) & 0xff;
        uint64_t r = 0;
        if (len) {
            if (len > (uint32_t)bits) len = (uint32_t)bits;
            uint64_t sh = pos >= 64 ? (sg && (a >> 63) ? ~0ull : 0) : a >> pos;
            uint64_t lm = len >= 64 ? ~0ull : ((1ull << len) - 1);
            r = sh & lm;
            if (sg && ((r >> (len - 1)) & 1)) r |= ~lm;
        }
        D[l] = r & wm;
    });
}

void op_bfi(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int bits = ptx_type_size(in->type) * 8;
    src_t A = SRC(1), B = SRC(2), C = SRC(3), E = SRC(4);
    uint64_t *D = DST(0);
    LANES(mask, {
        uint64_t a = S(A, l), b = S(B, l);
        uint32_t pos = (uint32_t)S(C, l) & 0xff, len = (uint32_t)S(E, l) & 0xff;
        uint64_t r = b;
        if (len && pos < (uint32_t)bits) {
            if (pos + len > (uint32_t)bits) len = (uint32_t)bits - pos;
            uint64_t lm = (len >= 64 ? ~0ull : ((1ull << len) - 1)) << pos;
            r = (b & ~lm) | ((a << pos) & lm);
        }
        D[l] = bits == 64 ? r : (r & 0xffffffffu);
    });
}

void op_prmt(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2), C = SRC(3);
    uint64_t *D = DST(0);
    int mode = in->sub;
    LANES(mask, {
        uint64_t x = ((uint64_t)(uint32_t)S(B, l) << 32) | (uint32_t)S(A, l);
        uint32_t c = (uint32_t)S(C, l), r = 0;
        uint8_t sel[4];
        if (mode == 0) {
            for (int k = 0; k < 4; k++) sel[k] = (uint8_t)((c >> (4 * k)) & 0xf);
        } else {
            uint32_t s = c & 3;
            static const uint8_t tab[7][4][4] = {
                { {0} },
                { {0,1,2,3}, {1,2,3,4}, {2,3,4,5}, {3,4,5,6} },      /* f4e */
                { {0,7,6,5}, {1,0,7,6}, {2,1,0,7}, {3,2,1,0} },      /* b4e */
                { {0,0,0,0}, {1,1,1,1}, {2,2,2,2}, {3,3,3,3} },      /* rc8 */
                { {0,1,2,3}, {1,1,2,3}, {2,2,2,3}, {3,3,3,3} },      /* ecl */
                { {0,0,0,0}, {0,1,1,1}, {0,1,2,2}, {0,1,2,3} },      /* ecr */
                { {0,1,0,1}, {2,3,2,3}, {0,1,0,1}, {2,3,2,3} },      /* rc16 */
            };
            for (int k = 0; k < 4; k++) sel[k] = tab[mode][s][k];
        }
        for (int k = 0; k < 4; k++) {
            uint8_t byte = (uint8_t)(x >> (8 * (sel[k] & 7)));
            if (mode == 0 && (sel[k] & 8)) byte = (byte & 0x80) ? 0xff : 0;
            r |= (uint32_t)byte << (8 * k);
        }
        D[l] = r;
    });
}

void op_bmsk(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int clamp = (in->mods & M_CLAMP) != 0;
    src_t A = SRC(1), B = SRC(2);
    uint64_t *D = DST(0);
    LANES(mask, {
        uint32_t a = (uint32_t)S(A, l), b = (uint32_t)S(B, l);
        if (!clamp) { a &= 0xff; b &= 0xff; }
        if (a >= 32) { D[l] = 0; }
        else {
            uint32_t e = a + b > 32 ? 32 : a + b;
            uint64_t m = ((e >= 32 ? 0xffffffffull : ((1ull << e) - 1)) & ~((1ull << a) - 1));
            D[l] = (uint32_t)m;
        }
    });
}

void op_szext(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int sg = ptx_type_is_signed(in->type), clamp = (in->mods & M_CLAMP) != 0;
    src_t A = SRC(1), B = SRC(2);
    uint64_t *D = DST(0);
    LANES(mask, {
        uint32_t a = (uint32_t)S(A, l), n = (uint32_t)S(B, l);
        n = clamp ? (n > 32 ? 32 : n) : (n & 31);
        uint32_t r;
        if (n == 0) r = 0;
        else if (n >= 32) r = a;
        else if (sg) r = (uint32_t)((int32_t)(a << (32 - n)) >> (32 - n));
        else r = a & ((1u << n) - 1);
        D[l] = r;
    });
}

void op_dp4a(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2), C = SRC(3);
    uint64_t *D = DST(0);
    int sa = ptx_type_is_signed(in->type), sb = ptx_type_is_signed(in->type2);
    LANES(mask, {
        uint32_t a = (uint32_t)S(A, l), b = (uint32_t)S(B, l);
        int64_t acc = (sa || sb) ? (int64_t)(int32_t)S(C, l) : (int64_t)(uint32_t)S(C, l);
        if (!in->sub) {
            for (int k = 0; k < 4; k++) {
                int64_t x = sa ? (int8_t)(a >> (8 * k)) : (uint8_t)(a >> (8 * k));
                int64_t y = sb ? (int8_t)(b >> (8 * k)) : (uint8_t)(b >> (8 * k));
                acc += x * y;
            }
        } else {
            for (int k = 0; k < 2; k++) {
                int64_t x = sa ? (int16_t)(a >> (16 * k)) : (uint16_t)(a >> (16 * k));
                int kb = k + (in->aux ? 2 : 0);
                int64_t y = sb ? (int8_t)(b >> (8 * kb)) : (uint8_t)(b >> (8 * kb));
                acc += x * y;
            }
        }
        D[l] = (uint32_t)acc;
    });
}

/* ---- comparisons -------------------------------------------------------------------------- */
static inline int cmp_int(int op, int64_t sa, int64_t sb, uint64_t ua, uint64_t ub, int sg)
{
    switch (op) {
    case CMP_EQ: return ua == ub;
    case CMP_NE: return ua != ub;
    case CMP_LT: return sg ? sa < sb : ua < ub;
    case CMP_LE: return sg ? sa <= sb : ua <= ub;
    case CMP_GT: return sg ? sa > sb : ua > ub;
    case CMP_GE: return sg ? sa >= sb : ua >= ub;
    case CMP_LO: return ua < ub;
    case CMP_LS: return ua <= ub;
    case CMP_HI: return ua > ub;
    case CMP_HS: return ua >= ub;
    default: return 0;
    }
}

static inline int cmp_f(int op, double a, double b)
{
    int un = a != a || b != b;
    switch (op) {
    case CMP_EQ: return !un && a == b;
    case CMP_NE: return !un && a != b;
    case CMP_LT: return !un && a < b;
    case CMP_LE: return !un && a <= b;
    case CMP_GT: return !un && a > b;
    case CMP_GE: return !un && a >= b;
    case CMP_EQU: return un || a == b;
    case CMP_NEU: return un || a != b;
    case CMP_LTU: return un || a < b;
    case CMP_LEU: return un || a <= b;
    case CMP_GTU: return un || a > b;
    case CMP_GEU: return un || a >= b;
    case CMP_NUM: return !un;
    case CMP_NAN: return un;
    default: return 0;
    }
}

/* Compares a and b of the instruction's type for every lane; bit l of the result is lane l. */
static uint32_t compare_lanes(ptx_warp *w, int type, int op, src_t A, src_t B, uint32_t mask)
{
    uint32_t res = 0;
    int bits = ptx_type_size(type) * 8;
    if (type == T_F32) {
        LANES(mask, { float a = as_f32(S(A, l)), b = as_f32(S(B, l)); res |= (uint32_t)cmp_f(op, a, b) << l; });
    } else if (type == T_F64) {
        LANES(mask, { res |= (uint32_t)cmp_f(op, as_f64(S(A, l)), as_f64(S(B, l))) << l; });
    } else if (type == T_F16 || type == T_BF16) {
        LANES(mask, {
            float a = type == T_F16 ? ptx_h2f((uint16_t)S(A, l)) : ptx_bf2f((uint16_t)S(A, l));
            float b = type == T_F16 ? ptx_h2f((uint16_t)S(B, l)) : ptx_bf2f((uint16_t)S(B, l));
            res |= (uint32_t)cmp_f(op, a, b) << l;
        });
    } else if (op == CMP_EQ && bits == 32) {
        LANES(mask, { res |= (uint32_t)((uint32_t)S(A, l) == (uint32_t)S(B, l)) << l; });
    } else if (op == CMP_NE && bits == 32) {
        LANES(mask, { res |= (uint32_t)((uint32_t)S(A, l) != (uint32_t)S(B, l)) << l; });
    } else if (type == T_S32 && op == CMP_LT) {
        LANES(mask, { res |= (uint32_t)((int32_t)S(A, l) < (int32_t)S(B, l)) << l; });
    } else {
        int sg = ptx_type_is_signed(type);
        uint64_t wm = bits == 64 ? ~0ull : ((1ull << bits) - 1);
        LANES(mask, {
            uint64_t ua = S(A, l) & wm, ub = S(B, l) & wm;
            int64_t sa = (int64_t)(ua << (64 - bits)) >> (64 - bits), sb = (int64_t)(ub << (64 - bits)) >> (64 - bits);
            res |= (uint32_t)cmp_int(op, sa, sb, ua, ub, sg) << l;
        });
    }
    return res;
}

static inline uint32_t combine(int bop, uint32_t t, uint32_t c)
{
    return bop == BOP_AND ? (t & c) : bop == BOP_OR ? (t | c) : bop == BOP_XOR ? (t ^ c) : t;
}

static uint32_t pred_lanes(ptx_warp *w, const ptx_opnd *o, uint32_t mask)
{
    uint32_t r = 0;
    src_t P = src_of(w, o);
    LANES(mask, { r |= (uint32_t)((S(P, l) != 0) ^ o->neg) << l; });
    return r;
}

/* op0 p, op1 q, op2 a, op3 b, [op4 c] */
void op_setp(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint32_t t = compare_lanes(w, in->type, in->sub, SRC(2), SRC(3), mask);
    uint32_t c = in->sub2 ? pred_lanes(w, &in->op[4], mask) : 0;
    uint32_t p = combine(in->sub2, t, c), q = combine(in->sub2, ~t, c);
    uint64_t *P = DST(0), *Q = DST(1);
    LANES(mask, { P[l] = (p >> l) & 1; Q[l] = (q >> l) & 1; });
}

void op_set(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint32_t t = compare_lanes(w, in->type2, in->sub, SRC(1), SRC(2), mask);
    if (in->sub2) t = combine(in->sub2, t, pred_lanes(w, &in->op[3], mask));
    uint64_t *D = DST(0);
    uint64_t one = in->type == T_F32 ? 0x3f800000u : 0xffffffffu;
    LANES(mask, { D[l] = ((t >> l) & 1) ? one : 0; });
}

void op_selp(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2), C = SRC(3);
    uint64_t *D = DST(0);
    int neg = in->op[3].neg;
    LANES(mask, { D[l] = ((S(C, l) != 0) ^ neg) ? S(A, l) : S(B, l); });
}

void op_slct(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2), C = SRC(3);
    uint64_t *D = DST(0);
    if (in->type2 == T_F32) LANES(mask, { D[l] = as_f32(S(C, l)) >= 0.0f ? S(A, l) : S(B, l); });
    else LANES(mask, { D[l] = (int32_t)S(C, l) >= 0 ? S(A, l) : S(B, l); });
}

/* ---- moves -------------------------------------------------------------------------------- */
void op_mov(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    if (in->type == T_PRED && in->op[1].neg) { LANES(mask, { D[l] = S(A, l) == 0; }); return; }
    LANES(mask, { D[l] = S(A, l); });
}

void op_mov_pack(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    const ptx_opnd *v = &in->op[1];
    uint64_t *D = DST(0);
    uint32_t eb = in->aux;
    uint64_t em = eb >= 64 ? ~0ull : ((1ull << eb) - 1);
    LANES(mask, {
        uint64_t r = 0;
        for (int k = 0; k < v->n; k++) r |= (REG(w, v->vec[k])[l] & em) << (eb * (uint32_t)k);
        D[l] = r;
    });
}

void op_mov_unpack(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    const ptx_opnd *v = &in->op[0];
    src_t A = SRC(1);
    uint32_t eb = in->aux;
    uint64_t em = eb >= 64 ? ~0ull : ((1ull << eb) - 1);
    LANES(mask, {
        uint64_t a = S(A, l);
        for (int k = 0; k < v->n; k++) REG(w, v->vec[k])[l] = (a >> (eb * (uint32_t)k)) & em;
    });
}

/* mov d, sym: the symbol's address in its own space (generic for generic(sym) and cvta). */
void op_mov_sym(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    const ptx_opnd *o = &in->op[1];
    uint64_t *D = DST(0);
    if (o->symk == SYMK_FUNC) {
        uint64_t a = PTX_FUNC_ADDR((uint32_t)o->sym);
        LANES(mask, { D[l] = a; });
        return;
    }
    int sp = o->symk == SYMK_GLOBAL ? SP_GLOBAL : o->symk == SYMK_SHARED ? SP_SHARED
           : o->symk == SYMK_KPARAM ? SP_PARAM_KERNEL : SP_LOCAL;
    int generic = o->n == 1 || in->aux == 1;
    uint64_t wm = ptx_type_size(in->type) == 4 ? 0xffffffffull : ~0ull;
    LANES(mask, {
        uint64_t a = ptx_opnd_addr(w, o, l);
        D[l] = (generic ? ptx_to_generic(w, sp, a, l) : a) & wm;
    });
}

void op_mov_sreg(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint64_t v = ptx_dyn_sreg(w, (int)in->op[1].imm);
    uint64_t *D = DST(0);
    LANES(mask, { D[l] = v; });
}
