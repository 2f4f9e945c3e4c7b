/* memcpy_batch.c: cuMemcpyBatchAsync and cuMemcpy3DBatchAsync, the CUDA 13 _v2 forms and the
 * CUDA 12.8 ones with failIdx, each with its _ptsz entry point (owner: shim/). Operands on the
 * client (pointers the server does not know as device memory: memtrack.c, else bfMemClassify)
 * are marked host: a source's bytes travel in the call (packed rows: the caller may reuse its
 * buffer at once), a destination's come back in the reply, which the server sends when its stream
 * got past the batch; the caller's own geometry travels with the op, so the server stages each
 * host side with it and the driver checks the caller's operands. A batch waits for its reply
 * (the driver refuses most mistakes at the call, and host destinations are filled before it
 * returns). Wire (server/session_calls.c):
 *   linear: a: v1, failIdx present, count, dsts/srcs/sizes present, numAttrs, attrs/attrsIdxs
 *           present, stream; b: the ops ({dst, src, size, host} u64 each, when all three arrays
 *           are given), attrs, attrsIdxs (min(numAttrs, count) each), packed sources
 *   3D:     a: v1, failIdx present, numOps, opList present, flags, stream; b: the ops as given,
 *           one host byte per op, packed sources
 *   reply b: failIdx (8 bytes), packed destinations (on success). */
#include "rpc.h"
#include "bf_calls.h"
#include <stdlib.h>

#define BATCH_DST_HOST 1
#define BATCH_SRC_HOST 2
#define BATCH_CAP (BF_MAX_FRAME - 4096)   /* the bytes one frame carries */

typedef struct batch_op { uint64_t dst, src, size, host; } batch_op;

/* A region of w x h x d bytes in rows of `row` bytes and layers of `layer` rows: its rows travel
 * when the driver can accept the geometry (otherwise it refuses the op and nothing travels). */
static int geom_ok(size_t w, size_t h, size_t d, size_t row, size_t layer)
{
    return w && h && d && row >= w && layer >= h;
}

/* Bytes from the region's first byte to its last (geometry ok); 0 when that overflows. */
static size_t geom_ext(size_t w, size_t h, size_t d, size_t row, size_t layer)
{
    size_t t, e;
    if (__builtin_mul_overflow(d - 1, layer, &t) || __builtin_add_overflow(t, h - 1, &t) ||
        __builtin_mul_overflow(t, row, &e) || __builtin_add_overflow(e, w, &e))
        return 0;
    return e;
}

/* The rows of a region, packed (scatter: back into the region). */
static void rows(uint8_t *packed, uint8_t *base, size_t w, size_t h, size_t d, size_t row, size_t layer, int scatter)
{
    for (size_t k = 0; k < d; k++)
        for (size_t r = 0; r < h; r++) {
            uint8_t *p = base + (k * layer + r) * row, *q = packed + (k * h + r) * w;
            if (scatter) memcpy(p, q, w); else memcpy(q, p, w);
        }
}

/* Which of two pointers (spanning ed / es bytes) are the client's: memory the client knows is
 * device memory; else the server says. NULL stays what it is (the driver refuses it). */
static CUresult sides(CUdeviceptr d, size_t ed, CUdeviceptr s, size_t es, int *dh, int *sh)
{
    *dh = *sh = 0;
    int kd = !d || bf_mem_in(d, ed ? ed : 1), ks = !s || bf_mem_in(s, es ? es : 1);
    if (kd && ks) return CUDA_SUCCESS;
    unsigned td, ts;
    CUresult r = bf_mem_classify(d, s, &td, &ts);
    if (r != CUDA_SUCCESS) return r;
    *dh = !kd && td != CU_MEMORYTYPE_DEVICE;
    *sh = !ks && ts != CU_MEMORYTYPE_DEVICE;
    return CUDA_SUCCESS;
}

/* Sends the call and, on success, scatters the packed destinations (fill(c, data, n)). */
static CUresult finish(bf_call *c, size_t *failIdx, size_t out_n,
                       void (*fill)(void *ctx, const uint8_t *data), void *ctx)
{
    CUresult r = bf_invoke(c);
    size_t n;
    const void *fi = bf_get_bytes_ref(c, &n);
    if (failIdx && c->have_reply && fi && n == sizeof(uint64_t)) {
        uint64_t v;
        memcpy(&v, fi, sizeof v);
        *failIdx = (size_t)v;
    }
    if (r == CUDA_SUCCESS && out_n) {
        const uint8_t *data = bf_get_bytes_ref(c, &n);
        if (data && n >= out_n) fill(ctx, data);
        else r = CUDA_ERROR_UNKNOWN;
    }
    bf_call_done(c);
    return r;
}

/* ---- linear ------------------------------------------------------------------------------------- */
typedef struct linear_fill { const batch_op *ops; size_t count; } linear_fill;

static void linear_scatter(void *ctx, const uint8_t *data)
{
    const linear_fill *lf = ctx;
    for (size_t i = 0; i < lf->count; i++)
        if ((lf->ops[i].host & BATCH_DST_HOST) && lf->ops[i].size) {
            memcpy((void *)(uintptr_t)lf->ops[i].dst, data, lf->ops[i].size);
            data += lf->ops[i].size;
        }
}

static CUresult batch_linear(int fl, int v1, CUdeviceptr *dsts, CUdeviceptr *srcs, size_t *sizes, size_t count,
                             CUmemcpyAttributes *attrs, size_t *idxs, size_t numAttrs, size_t *failIdx,
                             CUstream st)
{
    if (failIdx) *failIdx = SIZE_MAX;
    if (!bf_connected()) return bf_not_connected_result();
    int all = dsts && srcs && sizes;
    size_t na = numAttrs < count ? numAttrs : count;
    if ((all && count > BATCH_CAP / sizeof(batch_op)) || na > BATCH_CAP / 2 / sizeof(CUmemcpyAttributes))
        return CUDA_ERROR_NOT_SUPPORTED;
    batch_op *ops = all ? calloc(count ? count : 1, sizeof *ops) : NULL;
    uint8_t *pk = NULL;
    size_t pk_n = 0, out_n = 0;
    CUresult r = CUDA_SUCCESS;
    if (all && !ops) return CUDA_ERROR_OUT_OF_MEMORY;
    for (size_t i = 0; all && i < count && r == CUDA_SUCCESS; i++) {
        int dh, sh;
        ops[i] = (batch_op){ dsts[i], srcs[i], sizes[i], 0 };
        r = sides(dsts[i], sizes[i], srcs[i], sizes[i], &dh, &sh);
        if (r != CUDA_SUCCESS) break;
        if ((sh && (__builtin_add_overflow(pk_n, sizes[i], &pk_n) || pk_n > BATCH_CAP)) ||
            (dh && (__builtin_add_overflow(out_n, sizes[i], &out_n) || out_n > BATCH_CAP)))
            r = CUDA_ERROR_NOT_SUPPORTED;
        else if ((dh && sizes[i] && !bf_host_mapped(dsts[i], sizes[i])) ||
                 (sh && sizes[i] && !bf_host_mapped(srcs[i], sizes[i])))
            r = CUDA_ERROR_INVALID_VALUE;
        ops[i].host = (uint64_t)(dh ? BATCH_DST_HOST : 0) | (sh ? BATCH_SRC_HOST : 0);
        if (r != CUDA_SUCCESS && failIdx) *failIdx = i;
    }
    if (r == CUDA_SUCCESS && pk_n && !(pk = malloc(pk_n))) r = CUDA_ERROR_OUT_OF_MEMORY;
    if (r != CUDA_SUCCESS) { free(ops); return r; }
    for (size_t i = 0, off = 0; pk && i < count; i++)
        if ((ops[i].host & BATCH_SRC_HOST) && sizes[i]) {
            memcpy(pk + off, (const void *)(uintptr_t)srcs[i], sizes[i]);
            off += sizes[i];
        }
    bf_call c;
    bf_call_init(&c, BF_FN_cuMemcpyBatchAsync | (uint32_t)fl << 16, 0);
    bf_put(&c, (uint64_t)v1);
    bf_put(&c, failIdx != NULL);
    bf_put(&c, count);
    bf_put(&c, dsts != NULL);
    bf_put(&c, srcs != NULL);
    bf_put(&c, sizes != NULL);
    bf_put(&c, numAttrs);
    bf_put(&c, attrs != NULL);
    bf_put(&c, idxs != NULL);
    bf_put(&c, (uint64_t)(uintptr_t)st);
    bf_put_bytes(&c, ops, all ? count * sizeof *ops : 0);
    bf_put_bytes(&c, attrs, attrs ? na * sizeof *attrs : 0);
    bf_put_bytes(&c, idxs, idxs ? na * sizeof *idxs : 0);
    bf_put_bytes(&c, pk, pk_n);
    linear_fill lf = { ops, count };
    r = finish(&c, failIdx, out_n, linear_scatter, &lf);
    free(pk);
    free(ops);
    return r;
}

/* ---- 3D ------------------------------------------------------------------------------------------ */
/* A pointer operand's geometry (extents in bytes: pointer operands have 1-byte elements). */
static void operand_geom(const CUmemcpy3DOperand *o, const CUextent3D *e, size_t *row, size_t *layer)
{
    *row = o->op.ptr.rowLength ? o->op.ptr.rowLength : e->width;
    *layer = o->op.ptr.layerHeight ? o->op.ptr.layerHeight : e->height;
}

typedef struct op3d_fill { const CUDA_MEMCPY3D_BATCH_OP *ops; const uint8_t *host; size_t n; } op3d_fill;

static void op3d_scatter(void *ctx, const uint8_t *data)
{
    const op3d_fill *f = ctx;
    for (size_t i = 0; i < f->n; i++) {
        const CUDA_MEMCPY3D_BATCH_OP *op = &f->ops[i];
        size_t row, layer, w = op->extent.width, h = op->extent.height, d = op->extent.depth;
        operand_geom(&op->dst, &op->extent, &row, &layer);
        if (!(f->host[i] & BATCH_DST_HOST) || !geom_ok(w, h, d, row, layer)) continue;
        rows((uint8_t *)data, (uint8_t *)(uintptr_t)op->dst.op.ptr.ptr, w, h, d, row, layer, 1);
        data += w * h * d;
    }
}

/* Is operand o the client's memory (a pointer the server does not know)? Its packed size goes to
 * *total (NOT_SUPPORTED past what a frame carries). */
static CUresult host_operand(const CUmemcpy3DOperand *o, const CUextent3D *e, int is_host, size_t *total)
{
    size_t row, layer, ext, n;
    if (!is_host) return CUDA_SUCCESS;
    operand_geom(o, e, &row, &layer);
    if (!geom_ok(e->width, e->height, e->depth, row, layer)) return CUDA_SUCCESS;   /* refused by the driver */
    ext = geom_ext(e->width, e->height, e->depth, row, layer);
    if (!ext || ext > BATCH_CAP || __builtin_mul_overflow(e->width * e->height, e->depth, &n) ||
        __builtin_add_overflow(*total, n, total) || *total > BATCH_CAP)
        return CUDA_ERROR_NOT_SUPPORTED;
    if (!bf_host_mapped(o->op.ptr.ptr, ext)) return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

static size_t op_span(const CUmemcpy3DOperand *o, const CUextent3D *e)
{
    size_t row, layer;
    operand_geom(o, e, &row, &layer);
    return geom_ok(e->width, e->height, e->depth, row, layer) ? geom_ext(e->width, e->height, e->depth, row, layer) : 1;
}

static CUresult batch3d(int fl, int v1, size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList, size_t *failIdx,
                        unsigned long long flags, CUstream st)
{
    if (failIdx) *failIdx = SIZE_MAX;
    if (!bf_connected()) return bf_not_connected_result();
    if (opList && numOps > BATCH_CAP / sizeof *opList) return CUDA_ERROR_NOT_SUPPORTED;
    size_t n = opList ? numOps : 0, pk_n = 0, out_n = 0;
    uint8_t *host = calloc(n ? n : 1, 1), *pk = NULL;
    CUresult r = host ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
    for (size_t i = 0; i < n && r == CUDA_SUCCESS; i++) {
        const CUDA_MEMCPY3D_BATCH_OP *op = &opList[i];
        int sp = op->src.type == CU_MEMCPY_OPERAND_TYPE_POINTER, dp = op->dst.type == CU_MEMCPY_OPERAND_TYPE_POINTER;
        int dh = 0, sh = 0;
        if (sp || dp)
            r = sides(dp ? op->dst.op.ptr.ptr : 0, dp ? op_span(&op->dst, &op->extent) : 0,
                      sp ? op->src.op.ptr.ptr : 0, sp ? op_span(&op->src, &op->extent) : 0, &dh, &sh);
        if (r == CUDA_SUCCESS) r = host_operand(&op->src, &op->extent, sh, &pk_n);
        if (r == CUDA_SUCCESS) r = host_operand(&op->dst, &op->extent, dh, &out_n);
        host[i] = (uint8_t)((dh ? BATCH_DST_HOST : 0) | (sh ? BATCH_SRC_HOST : 0));
        if (r != CUDA_SUCCESS && failIdx) *failIdx = i;
    }
    if (r == CUDA_SUCCESS && pk_n && !(pk = malloc(pk_n))) r = CUDA_ERROR_OUT_OF_MEMORY;
    if (r != CUDA_SUCCESS) { free(host); return r; }
    for (size_t i = 0, off = 0; pk && i < n; i++) {
        const CUDA_MEMCPY3D_BATCH_OP *op = &opList[i];
        size_t row, layer, w = op->extent.width, h = op->extent.height, d = op->extent.depth;
        operand_geom(&op->src, &op->extent, &row, &layer);
        if (!(host[i] & BATCH_SRC_HOST) || !geom_ok(w, h, d, row, layer)) continue;
        rows(pk + off, (uint8_t *)(uintptr_t)op->src.op.ptr.ptr, w, h, d, row, layer, 0);
        off += w * h * d;
    }
    bf_call c;
    bf_call_init(&c, BF_FN_cuMemcpy3DBatchAsync | (uint32_t)fl << 16, 0);
    bf_put(&c, (uint64_t)v1);
    bf_put(&c, failIdx != NULL);
    bf_put(&c, numOps);
    bf_put(&c, opList != NULL);
    bf_put(&c, flags);
    bf_put(&c, (uint64_t)(uintptr_t)st);
    bf_put_bytes(&c, opList, n * sizeof *opList);
    bf_put_bytes(&c, host, n);
    bf_put_bytes(&c, pk, pk_n);
    op3d_fill f = { opList, host, n };
    r = finish(&c, failIdx, out_n, op3d_scatter, &f);
    free(pk);
    free(host);
    return r;
}

/* ---- entry points -------------------------------------------------------------------------------- */
#define PTSZ 2
#define LIN_PARAMS CUdeviceptr *dsts, CUdeviceptr *srcs, size_t *sizes, size_t count, CUmemcpyAttributes *attrs, \
                   size_t *attrsIdxs, size_t numAttrs
#define LIN_ARGS dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs

BF_API CUresult CUDAAPI cuMemcpyBatchAsync_v2(LIN_PARAMS, CUstream hStream);
BF_API CUresult CUDAAPI cuMemcpyBatchAsync_v2(LIN_PARAMS, CUstream hStream)
{ return batch_linear(0, 0, LIN_ARGS, NULL, hStream); }
BF_API CUresult CUDAAPI cuMemcpyBatchAsync_v2_ptsz(LIN_PARAMS, CUstream hStream);
BF_API CUresult CUDAAPI cuMemcpyBatchAsync_v2_ptsz(LIN_PARAMS, CUstream hStream)
{ return batch_linear(PTSZ, 0, LIN_ARGS, NULL, hStream); }
BF_API CUresult CUDAAPI cuMemcpy3DBatchAsync_v2(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList,
                                                unsigned long long flags, CUstream hStream);
BF_API CUresult CUDAAPI cuMemcpy3DBatchAsync_v2(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList,
                                                unsigned long long flags, CUstream hStream)
{ return batch3d(0, 0, numOps, opList, NULL, flags, hStream); }
BF_API CUresult CUDAAPI cuMemcpy3DBatchAsync_v2_ptsz(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList,
                                                     unsigned long long flags, CUstream hStream);
BF_API CUresult CUDAAPI cuMemcpy3DBatchAsync_v2_ptsz(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList,
                                                     unsigned long long flags, CUstream hStream)
{ return batch3d(PTSZ, 0, numOps, opList, NULL, flags, hStream); }

/* The CUDA 12.8 forms (with failIdx), still exported by the driver: cuda.h's public names are
 * macros for the _v2 forms. */
#undef cuMemcpyBatchAsync
#undef cuMemcpy3DBatchAsync
BF_API CUresult CUDAAPI cuMemcpyBatchAsync(LIN_PARAMS, size_t *failIdx, CUstream hStream);
BF_API CUresult CUDAAPI cuMemcpyBatchAsync(LIN_PARAMS, size_t *failIdx, CUstream hStream)
{ return batch_linear(0, 1, LIN_ARGS, failIdx, hStream); }
BF_API CUresult CUDAAPI cuMemcpyBatchAsync_ptsz(LIN_PARAMS, size_t *failIdx, CUstream hStream);
BF_API CUresult CUDAAPI cuMemcpyBatchAsync_ptsz(LIN_PARAMS, size_t *failIdx, CUstream hStream)
{ return batch_linear(PTSZ, 1, LIN_ARGS, failIdx, hStream); }
BF_API CUresult CUDAAPI cuMemcpy3DBatchAsync(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList, size_t *failIdx,
                                             unsigned long long flags, CUstream hStream);
BF_API CUresult CUDAAPI cuMemcpy3DBatchAsync(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList, size_t *failIdx,
                                             unsigned long long flags, CUstream hStream)
{ return batch3d(0, 1, numOps, opList, failIdx, flags, hStream); }
BF_API CUresult CUDAAPI cuMemcpy3DBatchAsync_ptsz(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList, size_t *failIdx,
                                                  unsigned long long flags, CUstream hStream);
BF_API CUresult CUDAAPI cuMemcpy3DBatchAsync_ptsz(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList, size_t *failIdx,
                                                  unsigned long long flags, CUstream hStream)
{ return batch3d(PTSZ, 1, numOps, opList, failIdx, flags, hStream); }
