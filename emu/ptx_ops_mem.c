/* ptx_ops_mem.c: loads, stores, atomics and reductions, address-space conversions, fences and
 * asynchronous copies. Every access goes through ptx_addr_ptr, which bounds-checks it against
 * the block's shared memory, the lane's local memory, the kernel parameters or a live global
 * allocation; a bad or misaligned address raises a fault instead of touching host memory. */
#include "ptx_ops.h"
#include <math.h>

static inline uint64_t extend_load(int type, uint64_t v)
{
    switch (type) {
    case T_S8: return (uint64_t)(int64_t)(int8_t)v;
    case T_S16: return (uint64_t)(int64_t)(int16_t)v;
    case T_S32: return (uint64_t)(int64_t)(int32_t)v;
    default: return v;
    }
}

static int misaligned(ptx_warp *w, uint64_t a, uint32_t size, int lane, int is_store)
{
    uint32_t al = size > 16 ? 16 : size;
    if ((a & (al - 1)) == 0)
        return 0;
    ptx_raise(w, CUDA_ERROR_MISALIGNED_ADDRESS, "misaligned %s of %u bytes at 0x%llx (lane %d)",
              is_store ? "store" : "load", size, (unsigned long long)a, lane);
    return 1;
}

static void *access_ptr(ptx_warp *w, const ptx_insn *in, const ptx_opnd *ao, int lane, uint32_t size, int is_store)
{
    uint64_t a = ptx_opnd_addr(w, ao, lane);
    void *p = ptx_addr_ptr(w, in->space, a, lane, size, is_store);
    if (!p)
        return NULL;
    if (misaligned(w, (uint64_t)(uintptr_t)p, size, lane, is_store))
        return NULL;
    return p;
}

void op_ld(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint32_t esz = (uint32_t)ptx_type_size(in->type), n = in->aux;
    const ptx_opnd *ao = &in->op[1], *d = &in->op[0];
    LANES(mask, {
        const uint8_t *p = access_ptr(w, in, ao, l, esz * n, 0);
        if (!p) return;
        if (n == 1) {
            uint64_t v = 0;
            memcpy(&v, p, esz > 8 ? 8 : esz);
            REG(w, d->reg)[l] = extend_load(in->type, v);
        } else {
            for (uint32_t k = 0; k < n; k++) {
                uint64_t v = 0;
                memcpy(&v, p + k * esz, esz > 8 ? 8 : esz);
                REG(w, d->vec[k])[l] = extend_load(in->type, v);
            }
        }
    });
}

void op_st(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint32_t esz = (uint32_t)ptx_type_size(in->type), n = in->aux;
    const ptx_opnd *ao = &in->op[0], *v = &in->op[1];
    src_t V = src_of(w, v);
    LANES(mask, {
        uint8_t *p = access_ptr(w, in, ao, l, esz * n, 1);
        if (!p) return;
        if (n == 1) {
            uint64_t x = S(V, l);
            memcpy(p, &x, esz > 8 ? 8 : esz);
        } else {
            for (uint32_t k = 0; k < n; k++) {
                uint64_t x = REG(w, v->vec[k])[l];
                memcpy(p + k * esz, &x, esz > 8 ? 8 : esz);
            }
        }
    });
}

/* ld.param of a kernel parameter by name: the same value for every lane. */
void op_ld_kparam(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint32_t esz = (uint32_t)ptx_type_size(in->type);
    int first = __builtin_ctz(mask);
    const uint8_t *p = access_ptr(w, in, &in->op[1], first, esz, 0);
    if (!p)
        return;
    uint64_t v = 0;
    memcpy(&v, p, esz > 8 ? 8 : esz);
    v = extend_load(in->type, v);
    uint64_t *D = DST(0);
    LANES(mask, { D[l] = v; });
}

/* Fast paths for the most common accesses: global, register + offset, scalar. */
#define FAST_GLOBAL(SZ, body_hit) \
    const ptx_opnd *ao = &in->op[ADDR_OP]; \
    if (ao->reg < 0) { SLOW(w, in, mask); return; } \
    const uint64_t *R = REG(w, ao->reg); \
    uint64_t lo = w->lo_cache, hi = w->hi_cache, off = ao->imm; \
    LANES(mask, { uint64_t a = R[l] + off; \
        if (a >= lo && a + SZ <= hi && !(a & (SZ - 1))) { body_hit; } \
        else { SLOW(w, in, 1u << l); if (w->stop) return; lo = w->lo_cache; hi = w->hi_cache; } });

#define ADDR_OP 1
#define SLOW op_ld
void op_ld_global_u32(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint64_t *D = DST(0);
    FAST_GLOBAL(4, { uint32_t v; memcpy(&v, (const void *)(uintptr_t)a, 4); D[l] = v; })
}

void op_ld_global_u64(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint64_t *D = DST(0);
    FAST_GLOBAL(8, { uint64_t v; memcpy(&v, (const void *)(uintptr_t)a, 8); D[l] = v; })
}
#undef ADDR_OP
#undef SLOW
#define ADDR_OP 0
#define SLOW op_st
void op_st_global_u32(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t V = SRC(1);
    FAST_GLOBAL(4, { uint32_t v = (uint32_t)S(V, l); memcpy((void *)(uintptr_t)a, &v, 4); })
}
#undef ADDR_OP
#undef SLOW

/* ---- atomics ------------------------------------------------------------------------------ */
static uint32_t atom32(int op, int type, uint32_t *p, uint32_t b, uint32_t c)
{
    uint32_t old = __atomic_load_n(p, __ATOMIC_RELAXED), nv;
    switch (op) {
    case AOP_ADD:
        if (type != T_F32 && type != T_F16X2 && type != T_BF16X2) return __atomic_fetch_add(p, b, __ATOMIC_SEQ_CST);
        break;
    case AOP_AND: return __atomic_fetch_and(p, b, __ATOMIC_SEQ_CST);
    case AOP_OR: return __atomic_fetch_or(p, b, __ATOMIC_SEQ_CST);
    case AOP_XOR: return __atomic_fetch_xor(p, b, __ATOMIC_SEQ_CST);
    case AOP_EXCH: return __atomic_exchange_n(p, b, __ATOMIC_SEQ_CST);
    case AOP_CAS:
        __atomic_compare_exchange_n(p, &b, c, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return b;
    default: break;
    }
    do {
        switch (op) {
        case AOP_ADD:
            if (type == T_F32) { nv = f32_bits(as_f32(old) + as_f32(b)) & 0xffffffffu; break; }
            nv = 0;
            for (int k = 0; k < 2; k++) {
                uint16_t x = (uint16_t)(old >> (16 * k)), y = (uint16_t)(b >> (16 * k));
                uint16_t r = type == T_F16X2 ? ptx_f2h_rn(ptx_h2f(x) + ptx_h2f(y)) : ptx_f2bf(ptx_bf2f(x) + ptx_bf2f(y), 0);
                nv |= (uint32_t)r << (16 * k);
            }
            break;
        case AOP_MIN:
            nv = type == T_S32 ? ((int32_t)old < (int32_t)b ? old : b) : type == T_F32 ? f32_bits(fminf(as_f32(old), as_f32(b))) & 0xffffffffu : (old < b ? old : b);
            break;
        case AOP_MAX:
            nv = type == T_S32 ? ((int32_t)old > (int32_t)b ? old : b) : type == T_F32 ? f32_bits(fmaxf(as_f32(old), as_f32(b))) & 0xffffffffu : (old > b ? old : b);
            break;
        case AOP_INC: nv = old >= b ? 0 : old + 1; break;
        case AOP_DEC: nv = (old == 0 || old > b) ? b : old - 1; break;
        default: nv = old; break;
        }
    } while (!__atomic_compare_exchange_n(p, &old, nv, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return old;
}

static uint64_t atom64(int op, int type, uint64_t *p, uint64_t b, uint64_t c)
{
    uint64_t old = __atomic_load_n(p, __ATOMIC_RELAXED), nv;
    switch (op) {
    case AOP_ADD:
        if (type != T_F64) return __atomic_fetch_add(p, b, __ATOMIC_SEQ_CST);
        break;
    case AOP_AND: return __atomic_fetch_and(p, b, __ATOMIC_SEQ_CST);
    case AOP_OR: return __atomic_fetch_or(p, b, __ATOMIC_SEQ_CST);
    case AOP_XOR: return __atomic_fetch_xor(p, b, __ATOMIC_SEQ_CST);
    case AOP_EXCH: return __atomic_exchange_n(p, b, __ATOMIC_SEQ_CST);
    case AOP_CAS:
        __atomic_compare_exchange_n(p, &b, c, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return b;
    default: break;
    }
    do {
        switch (op) {
        case AOP_ADD: nv = f64_bits(as_f64(old) + as_f64(b)); break;
        case AOP_MIN: nv = type == T_S64 ? ((int64_t)old < (int64_t)b ? old : b) : type == T_F64 ? f64_bits(fmin(as_f64(old), as_f64(b))) : (old < b ? old : b); break;
        case AOP_MAX: nv = type == T_S64 ? ((int64_t)old > (int64_t)b ? old : b) : type == T_F64 ? f64_bits(fmax(as_f64(old), as_f64(b))) : (old > b ? old : b); break;
        case AOP_INC: nv = old >= b ? 0 : old + 1; break;
        case AOP_DEC: nv = (old == 0 || old > b) ? b : old - 1; break;
        default: nv = old; break;
        }
    } while (!__atomic_compare_exchange_n(p, &old, nv, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return old;
}

static uint16_t atom16(int op, int type, uint16_t *p, uint16_t b, uint16_t c)
{
    uint16_t old = __atomic_load_n(p, __ATOMIC_RELAXED), nv;
    if (op == AOP_CAS) {
        __atomic_compare_exchange_n(p, &b, c, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return b;
    }
    if (op == AOP_EXCH) return __atomic_exchange_n(p, b, __ATOMIC_SEQ_CST);
    do {
        float x = type == T_F16 ? ptx_h2f(old) : ptx_bf2f(old), y = type == T_F16 ? ptx_h2f(b) : ptx_bf2f(b);
        float r = op == AOP_ADD ? x + y : op == AOP_MIN ? fminf(x, y) : fmaxf(x, y);
        nv = type == T_F16 ? ptx_f2h_rn(r) : ptx_f2bf(r, 0);
    } while (!__atomic_compare_exchange_n(p, &old, nv, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return old;
}

/* op0 d (scratch for red), op1 [a], op2 b, [op3 c] */
void op_atom(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    uint32_t sz = (uint32_t)ptx_type_size(in->type);
    src_t B = SRC(2), C = in->nops > 3 ? SRC(3) : B;
    uint64_t *D = DST(0);
    int op = in->sub, type = in->type;
    LANES(mask, {
        void *p = access_ptr(w, in, &in->op[1], l, sz, 1);
        if (!p) return;
        if (sz == 4) D[l] = atom32(op, type, p, (uint32_t)S(B, l), (uint32_t)S(C, l));
        else if (sz == 8) D[l] = atom64(op, type, p, S(B, l), S(C, l));
        else D[l] = atom16(op, type, p, (uint16_t)S(B, l), (uint16_t)S(C, l));
    });
}

void op_cvta(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    uint64_t wm = ptx_type_size(in->type) == 4 ? 0xffffffffull : ~0ull;
    int sp = in->space;
    if (sp == SP_GLOBAL || sp == SP_CONST) { LANES(mask, { D[l] = S(A, l) & wm; }); return; }
    if (in->sub) LANES(mask, { D[l] = ptx_from_generic(w, sp, S(A, l), l) & wm; });
    else LANES(mask, { D[l] = ptx_to_generic(w, sp, S(A, l) & wm, l); });
}

void op_isspacep(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t A = SRC(1);
    uint64_t *D = DST(0);
    LANES(mask, { D[l] = (uint64_t)ptx_is_space(w, in->space, S(A, l), l); });
}

void op_fence(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    (void)w; (void)in; (void)mask;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* cp.async.{ca,cg}.shared.global [dst], [src], cp-size[, src-size]: done synchronously. */
void op_cp_async(ptx_warp *w, const ptx_insn *in, uint32_t mask)
{
    src_t N = SRC(2), SS = in->nops > 3 ? SRC(3) : N;
    LANES(mask, {
        uint32_t n = (uint32_t)S(N, l), ss = (uint32_t)S(SS, l);
        if (ss > n) ss = n;
        uint8_t *d = ptx_addr_ptr(w, SP_SHARED, ptx_opnd_addr(w, &in->op[0], l), l, n, 1);
        if (!d) return;
        if (ss) {
            const uint8_t *s = ptx_addr_ptr(w, SP_GLOBAL, ptx_opnd_addr(w, &in->op[1], l), l, ss, 0);
            if (!s) return;
            memcpy(d, s, ss);
        }
        memset(d + ss, 0, n - ss);
    });
}
