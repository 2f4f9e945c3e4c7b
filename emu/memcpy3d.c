/* memcpy3d.c: shaped and batched copies: cuMemcpy2D, cuMemcpy2DUnaligned, cuMemcpy2DAsync,
 * cuMemcpy3D, cuMemcpy3DAsync, cuMemcpy3DPeer(+Async), cuMemcpyBatchAsync and
 * cuMemcpy3DBatchAsync (the CUDA 13 _v2 forms and the CUDA 12.8 ones with failIdx), with their
 * _ptds/_ptsz entry points. Descriptors are checked as CUDA does (pitches, heights, reserved
 * fields, LOD) and turned into strided copies run by the engine in memcpy.c. CUDA arrays are not
 * supported: an array operand gives CUDA_ERROR_NOT_SUPPORTED. */
#include <stdlib.h>
#include <string.h>
#include "mem_internal.h"

/* One side of a 2D/3D descriptor, in a form common to CUDA_MEMCPY2D/3D/3D_PEER. */
typedef struct desc_side {
    CUmemorytype type;
    const void *host;
    CUdeviceptr dev;
    size_t x, y, z, lod;
    size_t pitch, height;     /* height: rows per layer (3D) */
    CUcontext ctx;            /* peer copies */
    int reserved_set;         /* a reserved field is not NULL */
} desc_side;

typedef struct desc3d {
    desc_side src, dst;
    size_t width, height, depth;
} desc3d;

static CUresult array_refused(void)
{
    emu_log("CUDA arrays are not supported by the software GPU (2D/3D copy with an array operand)");
    return CUDA_ERROR_NOT_SUPPORTED;
}

/* Checks one side and turns it into an operand at the first byte copied. */
static CUresult side_operand(const desc_side *d, const desc3d *c, int is_peer, mem_operand *out)
{
    uint64_t base;
    switch (d->type) {
    case CU_MEMORYTYPE_HOST:
        base = (uint64_t)(uintptr_t)d->host;
        break;
    case CU_MEMORYTYPE_DEVICE:
    case CU_MEMORYTYPE_UNIFIED:
        base = (uint64_t)d->dev;
        break;
    case CU_MEMORYTYPE_ARRAY:
        return array_refused();
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (base == 0 || d->reserved_set || d->lod != 0)
        return CUDA_ERROR_INVALID_VALUE;
    if ((c->height > 1 || c->depth > 1) && d->pitch < c->width)
        return CUDA_ERROR_INVALID_VALUE;
    if (c->depth > 1 && d->height < c->height)
        return CUDA_ERROR_INVALID_VALUE;
    unsigned __int128 off = ((unsigned __int128)d->z * d->height + d->y) * d->pitch + d->x;
    if (off > UINT64_MAX - base)
        return CUDA_ERROR_INVALID_VALUE;
    out->type = d->type;
    out->addr = base + (uint64_t)off;
    out->peer_ctx = NULL;
    if (is_peer && d->ctx) {
        out->peer_ctx = emu_ctx_from_handle(d->ctx);
        if (!out->peer_ctx)
            return CUDA_ERROR_INVALID_CONTEXT;
    }
    return CUDA_SUCCESS;
}

static CUresult submit3d(CUstream h, int sync, const desc3d *c, int is_peer)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    mem_operand dst, src;
    rc = side_operand(&c->dst, c, is_peer, &dst);
    if (rc == CUDA_SUCCESS)
        rc = side_operand(&c->src, c, is_peer, &src);
    if (rc != CUDA_SUCCESS)
        return rc;
    unsigned __int128 sslice = (unsigned __int128)c->src.pitch * c->src.height;
    unsigned __int128 dslice = (unsigned __int128)c->dst.pitch * c->dst.height;
    if (sslice > SIZE_MAX || dslice > SIZE_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    mem_copy_shape shape = { c->width, c->height, c->depth, c->src.pitch, (size_t)sslice,
                             c->dst.pitch, (size_t)dslice };
    return mem_copy_submit(ctx, h, sync, &dst, &src, &shape);
}

/* ---- 2D ---- */

static CUresult copy2d(const CUDA_MEMCPY2D *p, CUstream h, int sync)
{
    if (!p) {
        emu_ctx *ctx;
        CUresult rc = emu_ctx_enter(&ctx);
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    }
    desc3d c = {
        .src = { p->srcMemoryType, p->srcHost, p->srcDevice, p->srcXInBytes, p->srcY, 0, 0, p->srcPitch,
                 0, NULL, 0 },
        .dst = { p->dstMemoryType, p->dstHost, p->dstDevice, p->dstXInBytes, p->dstY, 0, 0, p->dstPitch,
                 0, NULL, 0 },
        .width = p->WidthInBytes, .height = p->Height, .depth = 1,
    };
    return submit3d(h, sync, &c, 0);
}

EMU_API CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D *pCopy) { return copy2d(pCopy, NULL, 1); }
EMU_API CUresult cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D *pCopy)
{ return copy2d(pCopy, CU_STREAM_PER_THREAD, 1); }
EMU_API CUresult cuMemcpy2DUnaligned_v2(const CUDA_MEMCPY2D *pCopy) { return copy2d(pCopy, NULL, 1); }
EMU_API CUresult cuMemcpy2DUnaligned_v2_ptds(const CUDA_MEMCPY2D *pCopy)
{ return copy2d(pCopy, CU_STREAM_PER_THREAD, 1); }
EMU_API CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *pCopy, CUstream hStream)
{ return copy2d(pCopy, hStream, 0); }
EMU_API CUresult cuMemcpy2DAsync_v2_ptsz(const CUDA_MEMCPY2D *pCopy, CUstream hStream)
{ return copy2d(pCopy, emu_stream_ptsz(hStream), 0); }

/* ---- 3D ---- */

static CUresult copy3d(const CUDA_MEMCPY3D *p, CUstream h, int sync)
{
    if (!p) {
        emu_ctx *ctx;
        CUresult rc = emu_ctx_enter(&ctx);
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    }
    desc3d c = {
        .src = { p->srcMemoryType, p->srcHost, p->srcDevice, p->srcXInBytes, p->srcY, p->srcZ, p->srcLOD,
                 p->srcPitch, p->srcHeight, NULL, p->reserved0 != NULL },
        .dst = { p->dstMemoryType, p->dstHost, p->dstDevice, p->dstXInBytes, p->dstY, p->dstZ, p->dstLOD,
                 p->dstPitch, p->dstHeight, NULL, p->reserved1 != NULL },
        .width = p->WidthInBytes, .height = p->Height, .depth = p->Depth,
    };
    return submit3d(h, sync, &c, 0);
}

static CUresult copy3d_peer(const CUDA_MEMCPY3D_PEER *p, CUstream h, int sync)
{
    if (!p) {
        emu_ctx *ctx;
        CUresult rc = emu_ctx_enter(&ctx);
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    }
    desc3d c = {
        .src = { p->srcMemoryType, p->srcHost, p->srcDevice, p->srcXInBytes, p->srcY, p->srcZ, p->srcLOD,
                 p->srcPitch, p->srcHeight, p->srcContext, 0 },
        .dst = { p->dstMemoryType, p->dstHost, p->dstDevice, p->dstXInBytes, p->dstY, p->dstZ, p->dstLOD,
                 p->dstPitch, p->dstHeight, p->dstContext, 0 },
        .width = p->WidthInBytes, .height = p->Height, .depth = p->Depth,
    };
    return submit3d(h, sync, &c, 1);
}

EMU_API CUresult cuMemcpy3D_v2(const CUDA_MEMCPY3D *pCopy) { return copy3d(pCopy, NULL, 1); }
EMU_API CUresult cuMemcpy3D_v2_ptds(const CUDA_MEMCPY3D *pCopy)
{ return copy3d(pCopy, CU_STREAM_PER_THREAD, 1); }
EMU_API CUresult cuMemcpy3DAsync_v2(const CUDA_MEMCPY3D *pCopy, CUstream hStream)
{ return copy3d(pCopy, hStream, 0); }
EMU_API CUresult cuMemcpy3DAsync_v2_ptsz(const CUDA_MEMCPY3D *pCopy, CUstream hStream)
{ return copy3d(pCopy, emu_stream_ptsz(hStream), 0); }
EMU_API CUresult cuMemcpy3DPeer(const CUDA_MEMCPY3D_PEER *pCopy) { return copy3d_peer(pCopy, NULL, 1); }
EMU_API CUresult cuMemcpy3DPeer_ptds(const CUDA_MEMCPY3D_PEER *pCopy)
{ return copy3d_peer(pCopy, CU_STREAM_PER_THREAD, 1); }
EMU_API CUresult cuMemcpy3DPeerAsync(const CUDA_MEMCPY3D_PEER *pCopy, CUstream hStream)
{ return copy3d_peer(pCopy, hStream, 0); }
EMU_API CUresult cuMemcpy3DPeerAsync_ptsz(const CUDA_MEMCPY3D_PEER *pCopy, CUstream hStream)
{ return copy3d_peer(pCopy, emu_stream_ptsz(hStream), 0); }

/* ===================================================================================== */
/* Batches                                                                                */
/* ===================================================================================== */

static int src_order_of(CUmemcpySrcAccessOrder o, int *out)
{
    switch (o) {
    case CU_MEMCPY_SRC_ACCESS_ORDER_STREAM: *out = MEM_SRC_STREAM; return 0;
    case CU_MEMCPY_SRC_ACCESS_ORDER_DURING_API_CALL: *out = MEM_SRC_SNAPSHOT_ALWAYS; return 0;
    case CU_MEMCPY_SRC_ACCESS_ORDER_ANY: *out = MEM_SRC_SNAPSHOT_PAGEABLE; return 0;
    default: return -1;
    }
}

/* Batches may not use the legacy NULL stream (the _ptsz forms map NULL to the per-thread one). */
static int legacy_stream(CUstream h)
{
    return h == NULL || h == CU_STREAM_LEGACY;
}

static int batch_attrs_valid(const CUmemcpyAttributes *attrs, const size_t *idxs, size_t n, size_t count)
{
    if (!attrs || !idxs || n == 0 || n > count || idxs[0] != 0)
        return 0;
    for (size_t k = 0; k < n; k++) {
        int o;
        if ((k > 0 && idxs[k] <= idxs[k - 1]) || idxs[k] >= count || src_order_of(attrs[k].srcAccessOrder, &o))
            return 0;
        if (attrs[k].flags & ~(unsigned)CU_MEMCPY_FLAG_PREFER_OVERLAP_WITH_COMPUTE)
            return 0;
    }
    return 1;
}

typedef struct batch_bufs {
    mem_operand *dsts, *srcs;
    mem_copy_shape *shapes;
    int *orders;
} batch_bufs;

static int batch_bufs_alloc(batch_bufs *b, size_t n)
{
    b->dsts = calloc(n, sizeof *b->dsts);
    b->srcs = calloc(n, sizeof *b->srcs);
    b->shapes = calloc(n, sizeof *b->shapes);
    b->orders = calloc(n, sizeof *b->orders);
    return b->dsts && b->srcs && b->shapes && b->orders ? 0 : -1;
}

static void batch_bufs_free(batch_bufs *b)
{
    free(b->dsts);
    free(b->srcs);
    free(b->shapes);
    free(b->orders);
}

static CUresult batch_linear(CUdeviceptr *dsts, CUdeviceptr *srcs, size_t *sizes, size_t count,
                             CUmemcpyAttributes *attrs, size_t *attrsIdxs, size_t numAttrs, size_t *failIdx,
                             CUstream hStream)
{
    if (failIdx)
        *failIdx = SIZE_MAX;
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (count == 0 || !dsts || !srcs || !sizes || legacy_stream(hStream) ||
        !batch_attrs_valid(attrs, attrsIdxs, numAttrs, count))
        return CUDA_ERROR_INVALID_VALUE;
    batch_bufs b;
    if (batch_bufs_alloc(&b, count)) {
        batch_bufs_free(&b);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        if (k + 1 < numAttrs && attrsIdxs[k + 1] == i)
            k++;
        src_order_of(attrs[k].srcAccessOrder, &b.orders[i]);
        b.dsts[i] = (mem_operand){ CU_MEMORYTYPE_UNIFIED, (uint64_t)dsts[i], NULL };
        b.srcs[i] = (mem_operand){ CU_MEMORYTYPE_UNIFIED, (uint64_t)srcs[i], NULL };
        b.shapes[i] = (mem_copy_shape){ sizes[i], 1, 1, sizes[i], sizes[i], sizes[i], sizes[i] };
    }
    rc = mem_copy_submit_batch(ctx, hStream, count, b.dsts, b.srcs, b.shapes, b.orders, failIdx);
    batch_bufs_free(&b);
    return rc;
}

/* One pointer operand of a 3D batch op (element size 1: extents are bytes). */
static CUresult batch3d_operand(const CUmemcpy3DOperand *o, const CUextent3D *e, mem_operand *out,
                                size_t *pitch, size_t *slice)
{
    if (o->type == CU_MEMCPY_OPERAND_TYPE_ARRAY) {
        emu_log("CUDA arrays are not supported by the software GPU (3D batch copy with an array operand)");
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    if (o->type != CU_MEMCPY_OPERAND_TYPE_POINTER || o->op.ptr.ptr == 0)
        return CUDA_ERROR_INVALID_VALUE;
    size_t row = o->op.ptr.rowLength ? o->op.ptr.rowLength : e->width;
    size_t layer = o->op.ptr.layerHeight ? o->op.ptr.layerHeight : e->height;
    if (row < e->width || layer < e->height)
        return CUDA_ERROR_INVALID_VALUE;
    if ((unsigned __int128)row * layer > SIZE_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    *out = (mem_operand){ CU_MEMORYTYPE_UNIFIED, (uint64_t)o->op.ptr.ptr, NULL };
    *pitch = row;
    *slice = row * layer;
    return CUDA_SUCCESS;
}

static CUresult batch3d(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList, size_t *failIdx,
                        unsigned long long flags, CUstream hStream)
{
    if (failIdx)
        *failIdx = SIZE_MAX;
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (numOps == 0 || !opList || flags != 0 || legacy_stream(hStream))
        return CUDA_ERROR_INVALID_VALUE;
    batch_bufs b;
    if (batch_bufs_alloc(&b, numOps)) {
        batch_bufs_free(&b);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < numOps && rc == CUDA_SUCCESS; i++) {
        const CUDA_MEMCPY3D_BATCH_OP *op = &opList[i];
        const CUextent3D *e = &op->extent;
        mem_copy_shape *s = &b.shapes[i];
        if (!e->width || !e->height || !e->depth || src_order_of(op->srcAccessOrder, &b.orders[i]) ||
            (op->flags & ~(unsigned)CU_MEMCPY_FLAG_PREFER_OVERLAP_WITH_COMPUTE))
            rc = CUDA_ERROR_INVALID_VALUE;
        if (rc == CUDA_SUCCESS)
            rc = batch3d_operand(&op->src, e, &b.srcs[i], &s->src_pitch, &s->src_slice);
        if (rc == CUDA_SUCCESS)
            rc = batch3d_operand(&op->dst, e, &b.dsts[i], &s->dst_pitch, &s->dst_slice);
        s->width = e->width;
        s->height = e->height;
        s->depth = e->depth;
        if (rc != CUDA_SUCCESS && failIdx)
            *failIdx = i;
    }
    if (rc == CUDA_SUCCESS)
        rc = mem_copy_submit_batch(ctx, hStream, numOps, b.dsts, b.srcs, b.shapes, b.orders, failIdx);
    batch_bufs_free(&b);
    return rc;
}

EMU_API CUresult cuMemcpyBatchAsync_v2(CUdeviceptr *dsts, CUdeviceptr *srcs, size_t *sizes, size_t count,
                                       CUmemcpyAttributes *attrs, size_t *attrsIdxs, size_t numAttrs,
                                       CUstream hStream)
{ return batch_linear(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, NULL, hStream); }
EMU_API CUresult cuMemcpyBatchAsync_v2_ptsz(CUdeviceptr *dsts, CUdeviceptr *srcs, size_t *sizes, size_t count,
                                            CUmemcpyAttributes *attrs, size_t *attrsIdxs, size_t numAttrs,
                                            CUstream hStream)
{ return batch_linear(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, NULL, emu_stream_ptsz(hStream)); }
EMU_API CUresult cuMemcpy3DBatchAsync_v2(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList,
                                         unsigned long long flags, CUstream hStream)
{ return batch3d(numOps, opList, NULL, flags, hStream); }
EMU_API CUresult cuMemcpy3DBatchAsync_v2_ptsz(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList,
                                              unsigned long long flags, CUstream hStream)
{ return batch3d(numOps, opList, NULL, flags, emu_stream_ptsz(hStream)); }

/* The CUDA 12.8 forms (with failIdx), still exported by the real driver; the public names are
 * macros for the _v2 forms in cuda.h, hence the assembler names. */
EMU_API CUresult emu_cuMemcpyBatchAsync_v1(CUdeviceptr *, CUdeviceptr *, size_t *, size_t, CUmemcpyAttributes *,
                                           size_t *, size_t, size_t *, CUstream) __asm__("cuMemcpyBatchAsync");
EMU_API CUresult emu_cuMemcpyBatchAsync_v1(CUdeviceptr *dsts, CUdeviceptr *srcs, size_t *sizes, size_t count,
                                           CUmemcpyAttributes *attrs, size_t *attrsIdxs, size_t numAttrs,
                                           size_t *failIdx, CUstream hStream)
{ return batch_linear(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, failIdx, hStream); }

EMU_API CUresult emu_cuMemcpyBatchAsync_v1_ptsz(CUdeviceptr *, CUdeviceptr *, size_t *, size_t,
                                                CUmemcpyAttributes *, size_t *, size_t, size_t *, CUstream)
    __asm__("cuMemcpyBatchAsync_ptsz");
EMU_API CUresult emu_cuMemcpyBatchAsync_v1_ptsz(CUdeviceptr *dsts, CUdeviceptr *srcs, size_t *sizes, size_t count,
                                                CUmemcpyAttributes *attrs, size_t *attrsIdxs, size_t numAttrs,
                                                size_t *failIdx, CUstream hStream)
{
    return batch_linear(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, failIdx,
                        emu_stream_ptsz(hStream));
}

EMU_API CUresult emu_cuMemcpy3DBatchAsync_v1(size_t, CUDA_MEMCPY3D_BATCH_OP *, size_t *, unsigned long long,
                                             CUstream) __asm__("cuMemcpy3DBatchAsync");
EMU_API CUresult emu_cuMemcpy3DBatchAsync_v1(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList, size_t *failIdx,
                                             unsigned long long flags, CUstream hStream)
{ return batch3d(numOps, opList, failIdx, flags, hStream); }

EMU_API CUresult emu_cuMemcpy3DBatchAsync_v1_ptsz(size_t, CUDA_MEMCPY3D_BATCH_OP *, size_t *,
                                                  unsigned long long, CUstream) __asm__("cuMemcpy3DBatchAsync_ptsz");
EMU_API CUresult emu_cuMemcpy3DBatchAsync_v1_ptsz(size_t numOps, CUDA_MEMCPY3D_BATCH_OP *opList, size_t *failIdx,
                                                  unsigned long long flags, CUstream hStream)
{ return batch3d(numOps, opList, failIdx, flags, emu_stream_ptsz(hStream)); }
