/* ptx_ops_float.c: f32/f64 arithmetic and math, f16/bf16 arithmetic, every cvt, and the
 * half-precision conversions. Rounding modifiers other than .rn switch the host rounding mode
 * around the lane loop; .ftz flushes f32 subnormal inputs and results; .sat clamps to [0,1]. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("rounding-math")
#endif
#include "ptx_ops.h"
#include <fenv.h>
#include <float.h>
#include <math.h>

/* ---- half precision ----------------------------------------------------------------------- */
float ptx_h2f(uint16_t h)
{
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0) {
        if (m == 0) bits = s;
        else {   /* subnormal: value = m * 2^-24 */
            float f = (float)m * 0x1p-24f;
            return s ? -f : f;
        }
    } else if (e == 31) {
        bits = s | 0x7f800000u | (m << 13);
    } else {
        bits = s | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float ptx_bf2f(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* rmode: 0 nearest-even, 1 toward zero, 2 toward -inf, 3 toward +inf */
static double round_mag(double q, int rmode, int neg)
{
    switch (rmode) {
    case 1: return trunc(q);
    case 2: return neg ? ceil(q) : floor(q);
    case 3: return neg ? floor(q) : ceil(q);
    default: {
        double r = floor(q), f = q - r;
        if (f > 0.5 || (f == 0.5 && fmod(r, 2.0) != 0.0)) r += 1.0;
        return r;
    }
    }
}

/* Encodes d in a binary format with `mbits` stored significand bits and exponent bias `bias`
 * (emax = bias): used for f16 (10, 15) and bf16 (7, 127). */
static uint16_t encode_small(double d, int rmode, int mbits, int bias, uint16_t qnan)
{
    uint16_t sign = signbit(d) ? 0x8000 : 0;
    int ebits = 15 - mbits;
    uint16_t inf = (uint16_t)(((1u << ebits) - 1) << mbits);
    uint16_t maxf = (uint16_t)(inf - 1);
    if (isnan(d)) return qnan;
    double a = fabs(d);
    if (isinf(a)) return sign | inf;
    if (a == 0) return sign;
    int e;
    frexp(a, &e);
    int E = e - 1;
    int emin = 1 - bias;
    double quantum = ldexp(1.0, (E < emin ? emin : E) - mbits);
    double q = round_mag(a / quantum, rmode, sign != 0);
    uint64_t n = (uint64_t)q;
    if (E < emin)
        return sign | (uint16_t)n;    /* n == 2^mbits carries into the smallest normal */
    if (n == (1ull << (mbits + 1))) { n >>= 1; E++; }
    if (n == 0) return sign;
    if (E > bias) {   /* overflow */
        int to_inf = rmode == 0 || (rmode == 2 && sign) || (rmode == 3 && !sign);
        return sign | (to_inf ? inf : maxf);
    }
    return sign | (uint16_t)((uint32_t)(E + bias) << mbits) | (uint16_t)(n - (1ull << mbits));
}

uint16_t ptx_f2h(double d, int rmode) { return encode_small(d, rmode, 10, 15, 0x7fff); }
uint16_t ptx_f2h_rn(float f) { return encode_small(f, 0, 10, 15, 0x7fff); }
uint16_t ptx_f2bf(double d, int rmode) { return encode_small(d, rmode, 7, 127, 0x7fff); }

/* ---- helpers ------------------------------------------------------------------------------ */
static inline float ftz32(float x) { return fabsf(x) < FLT_MIN ? copysignf(0.0f, x) : x; }
static inline float sat32(float x) { return x != x ? 0.0f : x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
static inline double sat64(double x) { return x != x ? 0.0 : x < 0.0 ? 0.0 : x > 1.0 ? 1.0 : x; }

static int host_round(uint32_t mods)
{
    if (mods & (M_RZ | M_RZI)) return FE_TOWARDZERO;
    if (mods & (M_RM | M_RMI)) return FE_DOWNWARD;
    if (mods & (M_RP | M_RPI)) return FE_UPWARD;
    return FE_TONEAREST;
}

static int rmode_of(uint32_t mods)
{
    if (mods & (M_RZ | M_RZI)) return 1;
    if (mods & (M_RM | M_RMI)) return 2;
    if (mods & (M_RP | M_RPI)) return 3;
    return 0;
}

#define WITH_ROUNDING(mods, ...) do { int _rm = host_round(mods); \
    if (_rm != FE_TONEAREST) { fesetround(_rm); __VA_ARGS__; fesetround(FE_TONEAREST); } else { __VA_ARGS__; } } while (0)

/* f32 binary/ternary ops with ftz/sat, f64 without */
#define F32_OP2(expr) do { src_t A = SRC(1), B = SRC(2); uint64_t *D = DST(0); \
    if (!(in->mods & (M_FTZ | M_SAT))) { LANES(mask, { float a = as_f32(S(A, l)), b = as_f32(S(B, l)); D[l] = f32_bits(expr); }); } \
    else { int ftz = (in->mods & M_FTZ) != 0, sat = (in->mods & M_SAT) != 0; \
        LANES(mask, { float a = as_f32(S(A, l)), b = as_f32(S(B, l)); if (ftz) { a = ftz32(a); b = ftz32(b); } \
            float r = (expr); if (ftz) r = ftz32(r); if (sat) r = sat32(r); D[l] = f32_bits(r); }); } } while (0)
#define F64_OP2(expr) do { src_t A = SRC(1), B = SRC(2); uint64_t *D = DST(0); int sat = (in->mods & M_SAT) != 0; \
    LANES(mask, { double a = as_f64(S(A, l)), b = as_f64(S(B, l)); double r = (expr); if (sat) r = sat64(r); D[l] = f64_bits(r); }); } while (0)

void op_fadd(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    if (in->type == T_F64) WITH_ROUNDING(in->mods, F64_OP2(a + b));
    else WITH_ROUNDING(in->mods, F32_OP2(a + b));
}

void op_fsub(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    if (in->type == T_F64) WITH_ROUNDING(in->mods, F64_OP2(a - b));
    else WITH_ROUNDING(in->mods, F32_OP2(a - b));
}

void op_fmul(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    if (in->type == T_F64) WITH_ROUNDING(in->mods, F64_OP2(a * b));
    else WITH_ROUNDING(in->mods, F32_OP2(a * b));
}

void op_ffma(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2), C = SRC(3);
    uint64_t *D = DST(0);
    int ftz = (in->mods & M_FTZ) != 0, sat = (in->mods & M_SAT) != 0;
    if (in->type == T_F64) {
        WITH_ROUNDING(in->mods, LANES(mask, {
            double r = fma(as_f64(S(A, l)), as_f64(S(B, l)), as_f64(S(C, l)));
            D[l] = f64_bits(sat ? sat64(r) : r); }));
        return;
    }
    if (!ftz && !sat) {
        WITH_ROUNDING(in->mods, LANES(mask, { D[l] = f32_bits(fmaf(as_f32(S(A, l)), as_f32(S(B, l)), as_f32(S(C, l)))); }));
        return;
    }
    WITH_ROUNDING(in->mods, LANES(mask, {
        float a = as_f32(S(A, l)), b = as_f32(S(B, l)), c = as_f32(S(C, l));
        if (ftz) { a = ftz32(a); b = ftz32(b); c = ftz32(c); }
        float r = fmaf(a, b, c);
        if (ftz) r = ftz32(r);
        if (sat) r = sat32(r);
        D[l] = f32_bits(r); }));
}

void op_fdiv(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    if (in->type == T_F64) WITH_ROUNDING(in->mods, F64_OP2(a / b));
    else WITH_ROUNDING(in->mods, F32_OP2(a / b));
}

static inline float fmin_nan(float a, float b) { return (a != a || b != b) ? NAN : fminf(a, b); }
static inline float fmax_nan(float a, float b) { return (a != a || b != b) ? NAN : fmaxf(a, b); }

void op_fminmax(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int nanp = (in->mods & M_NAN) != 0;
    if (in->type == T_F64) {
        if (in->sub) F64_OP2(fmax(a, b));
        else F64_OP2(fmin(a, b));
        return;
    }
    if (in->sub) { if (nanp) F32_OP2(fmax_nan(a, b)); else F32_OP2(fmaxf(a, b)); }
    else { if (nanp) F32_OP2(fmin_nan(a, b)); else F32_OP2(fminf(a, b)); }
}

void op_fabs(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    if (in->type == T_F64) { LANES(mask, { D[l] = S(A, l) & 0x7fffffffffffffffull; }); return; }
    int ftz = (in->mods & M_FTZ) != 0;
    LANES(mask, { float a = as_f32(S(A, l)); if (ftz) a = ftz32(a); D[l] = f32_bits(a) & 0x7fffffffu; });
}

void op_fneg(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    if (in->type == T_F64) { LANES(mask, { D[l] = S(A, l) ^ 0x8000000000000000ull; }); return; }
    int ftz = (in->mods & M_FTZ) != 0;
    LANES(mask, { float a = as_f32(S(A, l)); if (ftz) a = ftz32(a); D[l] = f32_bits(a) ^ 0x80000000u; });
}

static inline float fm32(int op, float a)
{
    switch (op) {
    case FM_RCP: return 1.0f / a;
    case FM_SQRT: return sqrtf(a);
    case FM_RSQRT: return 1.0f / sqrtf(a);
    case FM_SIN: return sinf(a);
    case FM_COS: return cosf(a);
    case FM_LG2: return log2f(a);
    case FM_EX2: return exp2f(a);
    default: return tanhf(a);
    }
}

static inline double fm64(int op, double a)
{
    switch (op) {
    case FM_RCP: return 1.0 / a;
    case FM_SQRT: return sqrt(a);
    case FM_RSQRT: return 1.0 / sqrt(a);
    case FM_SIN: return sin(a);
    case FM_COS: return cos(a);
    case FM_LG2: return log2(a);
    case FM_EX2: return exp2(a);
    default: return tanh(a);
    }
}

void op_fmath(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    int op = in->sub;
    if (in->type == T_F64) {
        WITH_ROUNDING(in->mods, LANES(mask, { D[l] = f64_bits(fm64(op, as_f64(S(A, l)))); }));
        return;
    }
    int ftz = (in->mods & M_FTZ) != 0;
    WITH_ROUNDING(in->mods, LANES(mask, {
        float a = as_f32(S(A, l));
        if (ftz) a = ftz32(a);
        float r = fm32(op, a);
        if (ftz) r = ftz32(r);
        D[l] = f32_bits(r); }));
}

void op_testp(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    int k = in->sub;
    LANES(mask, {
        double a = in->type == T_F64 ? as_f64(S(A, l)) : (double)as_f32(S(A, l));
        int c = fpclassify(in->type == T_F64 ? a : (double)as_f32(S(A, l)));
        if (in->type == T_F32) c = fpclassify(as_f32(S(A, l)));
        int r;
        switch (k) {
        case TESTP_FINITE: r = isfinite(a); break;
        case TESTP_INFINITE: r = isinf(a) != 0; break;
        case TESTP_NUMBER: r = !isnan(a); break;
        case TESTP_NOTANUMBER: r = isnan(a) != 0; break;
        case TESTP_NORMAL: r = c == FP_NORMAL; break;
        default: r = c == FP_SUBNORMAL; break;
        }
        D[l] = (uint64_t)r;
    });
}

void op_copysign(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2);
    uint64_t *D = DST(0);
    if (in->type == T_F64) LANES(mask, { D[l] = (S(B, l) & 0x7fffffffffffffffull) | (S(A, l) & 0x8000000000000000ull); });
    else LANES(mask, { D[l] = ((uint32_t)S(B, l) & 0x7fffffffu) | ((uint32_t)S(A, l) & 0x80000000u); });
}

/* ---- f16 / bf16 arithmetic ----------------------------------------------------------------- */
static inline float hget(int bf, uint16_t h) { return bf ? ptx_bf2f(h) : ptx_h2f(h); }
static inline uint16_t hput(int bf, float f) { return bf ? ptx_f2bf(f, 0) : ptx_f2h_rn(f); }

static float hop(int op, float a, float b, float c, int relu, int sat, int nanp)
{
    float r;
    switch (op) {
    case HOP_ADD: r = a + b; break;
    case HOP_SUB: r = a - b; break;
    case HOP_MUL: r = a * b; break;
    case HOP_FMA: r = fmaf(a, b, c); break;
    case HOP_MIN: r = nanp ? fmin_nan(a, b) : fminf(a, b); break;
    case HOP_MAX: r = nanp ? fmax_nan(a, b) : fmaxf(a, b); break;
    case HOP_NEG: r = -a; break;
    case HOP_ABS: r = fabsf(a); break;
    case HOP_EX2: r = exp2f(a); break;
    default: r = tanhf(a); break;
    }
    if (relu && r < 0) r = 0;
    if (sat) r = sat32(r);
    return r;
}

void op_hmath(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    int bf = in->type == T_BF16 || in->type == T_BF16X2;
    int pairs = (in->type == T_F16X2 || in->type == T_BF16X2) ? 2 : 1;
    int nsrc = in->nops - 1;
    src_t A = SRC(1), B = nsrc > 1 ? SRC(2) : A, C = nsrc > 2 ? SRC(3) : A;
    uint64_t *D = DST(0);
    int relu = (in->mods & M_RELU) != 0, sat = (in->mods & M_SAT) != 0, nanp = (in->mods & M_NAN) != 0;
    int op = in->sub;
    if (op == HOP_NEG || op == HOP_ABS) {   /* bit operations, exact for NaNs too */
        uint32_t m = op == HOP_NEG ? 0x80008000u : 0x7fff7fffu;
        if (pairs == 1) m &= 0xffff;
        if (op == HOP_NEG) LANES(mask, { D[l] = ((uint32_t)S(A, l) ^ m) & (pairs == 2 ? 0xffffffffu : 0xffffu); });
        else LANES(mask, { D[l] = (uint32_t)S(A, l) & m; });
        return;
    }
    LANES(mask, {
        uint32_t a = (uint32_t)S(A, l), b = (uint32_t)S(B, l), c = (uint32_t)S(C, l), r = 0;
        for (int k = 0; k < pairs; k++) {
            int sh = 16 * k;
            float x = hop(op, hget(bf, (uint16_t)(a >> sh)), hget(bf, (uint16_t)(b >> sh)), hget(bf, (uint16_t)(c >> sh)),
                          relu, sat, nanp);
            r |= (uint32_t)hput(bf, x) << sh;
        }
        D[l] = r;
    });
}

/* ---- cvt ---------------------------------------------------------------------------------- */
static inline double read_float(int t, uint64_t v)
{
    switch (t) {
    case T_F16: return ptx_h2f((uint16_t)v);
    case T_BF16: return ptx_bf2f((uint16_t)v);
    case T_F32: return as_f32(v);
    default: return as_f64(v);
    }
}

static inline int64_t read_sint(int t, uint64_t v)
{
    int bits = ptx_type_size(t) * 8;
    return bits == 64 ? (int64_t)v : (int64_t)(v << (64 - bits)) >> (64 - bits);
}

static inline uint64_t read_uint(int t, uint64_t v)
{
    int bits = ptx_type_size(t) * 8;
    return bits == 64 ? v : v & ((1ull << bits) - 1);
}

static void int_range(int t, double *lo, double *hi)
{
    int bits = ptx_type_size(t) * 8;
    if (ptx_type_is_signed(t)) { *lo = -ldexp(1.0, bits - 1); *hi = ldexp(1.0, bits - 1) - 1; }
    else { *lo = 0; *hi = ldexp(1.0, bits) - 1; }
}

static uint64_t float_to_int(int dt, double x, uint32_t mods)
{
    if (x != x) return 0;
    if (mods & (M_RZI | M_RZ)) x = trunc(x);
    else if (mods & (M_RMI | M_RM)) x = floor(x);
    else if (mods & (M_RPI | M_RP)) x = ceil(x);
    else if (mods & (M_RNI | M_RN)) x = nearbyint(x);
    else x = trunc(x);
    double lo, hi;
    int_range(dt, &lo, &hi);
    int bits = ptx_type_size(dt) * 8;
    uint64_t wm = bits == 64 ? ~0ull : ((1ull << bits) - 1);
    if (ptx_type_is_signed(dt)) {
        if (x <= lo) return (uint64_t)(int64_t)lo & wm;
        if (x >= hi) return (bits == 64 ? (uint64_t)INT64_MAX : (uint64_t)(int64_t)hi) & wm;
        return (uint64_t)(int64_t)x & wm;
    }
    if (x <= 0) return 0;
    if (x >= hi) return bits == 64 ? UINT64_MAX : (uint64_t)hi;
    return (uint64_t)x;
}

/* Integer conversions; a signed result is left sign-extended in the 64-bit slot, so a sub-word
 * destination (cvt.s8 into a .b16 register) reads back sign-extended, as PTX specifies. */
static uint64_t int_to_int(int dt, int st, uint64_t v, int sat)
{
    int dbits = ptx_type_size(dt) * 8;
    uint64_t wm = dbits == 64 ? ~0ull : ((1ull << dbits) - 1);
    int ssg = ptx_type_is_signed(st), dsg = ptx_type_is_signed(dt);
    if (!sat) {
        uint64_t x = ssg ? (uint64_t)read_sint(st, v) : read_uint(st, v);
        return dsg ? (uint64_t)read_sint(dt, x) : x & wm;
    }
    if (ssg) {
        int64_t x = read_sint(st, v);
        if (dsg) {
            int64_t lo = dbits == 64 ? INT64_MIN : -(1ll << (dbits - 1)), hi = dbits == 64 ? INT64_MAX : (1ll << (dbits - 1)) - 1;
            return (uint64_t)(x < lo ? lo : x > hi ? hi : x);
        }
        if (x < 0) return 0;
        return (uint64_t)x > wm ? wm : (uint64_t)x;
    }
    uint64_t x = read_uint(st, v);
    uint64_t hi = dsg ? (wm >> 1) : wm;
    return x > hi ? hi : x;
}

static uint64_t to_float(int dt, int st, uint64_t v, uint32_t mods)
{
    int sfl = ptx_type_is_float(st);
    int rm = rmode_of(mods);
    int ftz = (mods & M_FTZ) != 0, sat = (mods & M_SAT) != 0;
    if (dt == T_F16 || dt == T_BF16) {
        double x = sfl ? read_float(st, v) : ptx_type_is_signed(st) ? (double)read_sint(st, v) : (double)read_uint(st, v);
        if (sat) x = sat64(x);
        if (mods & M_RELU && x < 0) x = 0;
        return dt == T_F16 ? ptx_f2h(x, rm) : ptx_f2bf(x, rm);
    }
    if (dt == T_F32) {
        float r;
        if (!sfl) r = ptx_type_is_signed(st) ? (float)read_sint(st, v) : (float)read_uint(st, v);
        else if (st == T_F64) r = (float)as_f64(v);
        else r = (float)read_float(st, v);
        if (ftz) r = ftz32(r);
        if (mods & M_RNI) r = nearbyintf(r);
        else if (mods & M_RZI) r = truncf(r);
        else if (mods & M_RMI) r = floorf(r);
        else if (mods & M_RPI) r = ceilf(r);
        if (sat) r = sat32(r);
        return f32_bits(r);
    }
    double r;
    if (!sfl) r = ptx_type_is_signed(st) ? (double)read_sint(st, v) : (double)read_uint(st, v);
    else r = read_float(st, v);
    if (st == T_F32 && ftz) r = ftz32((float)r);
    if (mods & M_RNI) r = nearbyint(r);
    else if (mods & M_RZI) r = trunc(r);
    else if (mods & M_RMI) r = floor(r);
    else if (mods & M_RPI) r = ceil(r);
    if (sat) r = sat64(r);
    return f64_bits(r);
}

void op_cvt(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    int dt = in->type, st = in->type2;
    int dfl = ptx_type_is_float(dt), sfl = ptx_type_is_float(st);
    uint32_t mods = in->mods;
    if (!dfl && !sfl) {
        int sat = (mods & M_SAT) != 0;
        if (!sat && dt == T_U64 && st == T_U32) { LANES(mask, { D[l] = (uint32_t)S(A, l); }); return; }
        if (!sat && dt == T_S64 && st == T_S32) { LANES(mask, { D[l] = (uint64_t)(int64_t)(int32_t)S(A, l); }); return; }
        if (!sat && ptx_type_size(dt) == 4 && ptx_type_size(st) == 8) { LANES(mask, { D[l] = (uint32_t)S(A, l); }); return; }
        LANES(mask, { D[l] = int_to_int(dt, st, S(A, l), sat); });
        return;
    }
    if (!dfl) {
        if (st == T_F32 && !(mods & M_FTZ)) { LANES(mask, { D[l] = float_to_int(dt, as_f32(S(A, l)), mods); }); return; }
        LANES(mask, {
            double x = read_float(st, S(A, l));
            if (st == T_F32 && (mods & M_FTZ)) x = ftz32((float)x);
            D[l] = float_to_int(dt, x, mods);
        });
        return;
    }
    uint32_t host_mods = (dt == T_F16 || dt == T_BF16) ? 0 : mods;
    WITH_ROUNDING(host_mods & (M_RZ | M_RM | M_RP), LANES(mask, { D[l] = to_float(dt, st, S(A, l), mods); }));
}

/* cvt.rn.f16x2.f32 d, a, b: d = {hi: a, lo: b} */
void op_cvt_pack(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1), B = SRC(2);
    uint64_t *D = DST(0);
    int rm = rmode_of(in->mods), bf = in->type == T_BF16X2, relu = (in->mods & M_RELU) != 0, sat = (in->mods & M_SAT) != 0;
    LANES(mask, {
        float a = as_f32(S(A, l)), b = as_f32(S(B, l));
        if (relu) { if (a < 0) a = 0; if (b < 0) b = 0; }
        if (sat) { a = sat32(a); b = sat32(b); }
        uint16_t ha = bf ? ptx_f2bf(a, rm) : ptx_f2h(a, rm), hb = bf ? ptx_f2bf(b, rm) : ptx_f2h(b, rm);
        D[l] = ((uint32_t)ha << 16) | hb;
    });
}
