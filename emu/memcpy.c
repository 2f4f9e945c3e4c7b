/* memcpy.c: the copy and memset engine and the linear (1D) copy and memset API: cuMemcpy,
 * cuMemcpyAsync, cuMemcpyPeer(+Async), cuMemcpyHtoD/DtoH/DtoD(+Async), cuMemsetD8/16/32,
 * cuMemsetD2D8/16/32 and their Async forms, plus the _ptds/_ptsz per-thread-default-stream
 * entry points. 2D/3D/peer-3D/batch copies are in memcpy3d.c and share the engine.
 * Rules: every operand in device address space is validated against the range table before
 * anything is queued (CUDA_ERROR_INVALID_VALUE when it is not inside one live allocation) and
 * again when the operation runs; synchronous calls run on the resolved stream (legacy default
 * stream, or the per-thread one for _ptds) and wait; async calls are queued in stream order. An
 * async copy from pageable host memory snapshots the source at call time (as CUDA stages
 * pageable memory), so the caller may reuse its buffer; pageable destinations are written when
 * the copy runs. */
#include <stdlib.h>
#include <string.h>
#include "mem_internal.h"

/* ===================================================================================== */
/* Shapes and operands                                                                    */
/* ===================================================================================== */

uint64_t mem_shape_extent(size_t width, size_t height, size_t depth, size_t pitch, size_t slice,
                          int *overflow)
{
    if (!width || !height || !depth)
        return 0;
    unsigned __int128 ext = (unsigned __int128)(depth - 1) * slice + (unsigned __int128)(height - 1) * pitch +
                            width;
    if (ext > UINT64_MAX) {
        *overflow = 1;
        return 0;
    }
    return (uint64_t)ext;
}

/* Where a validated operand lives. */
typedef struct copy_side {
    uint64_t addr;
    uint64_t check_len;       /* > 0: a range in device address space, re-checked when the copy
                               * runs (freed device pages are inaccessible) */
    int pageable;             /* host memory the driver does not know */
} copy_side;

static uint64_t recheck_len(uint64_t addr, uint64_t extent)
{
    return mem_in_device_va(addr, extent) ? extent : 0;
}

/* Validates one operand covering extent bytes from op->addr. Device operands must lie inside one
 * live range; host/unified ones must too when they touch device address space (anything else is
 * host memory, pinned or pageable). */
static CUresult resolve_side(const mem_operand *op, uint64_t extent, copy_side *out)
{
    out->addr = op->addr;
    out->check_len = 0;
    out->pageable = 0;
    switch (op->type) {
    case CU_MEMORYTYPE_DEVICE:
        if (emu_mem_check(op->addr, extent) != CUDA_SUCCESS)
            return CUDA_ERROR_INVALID_VALUE;
        out->check_len = recheck_len(op->addr, extent);
        return CUDA_SUCCESS;
    case CU_MEMORYTYPE_HOST:
    case CU_MEMORYTYPE_UNIFIED:
        if (op->addr == 0 || op->addr + extent < op->addr)
            return CUDA_ERROR_INVALID_VALUE;
        if (emu_mem_check(op->addr, extent) == CUDA_SUCCESS) {
            out->check_len = recheck_len(op->addr, extent);
            return CUDA_SUCCESS;
        }
        if (mem_in_device_va(op->addr, extent))
            return CUDA_ERROR_INVALID_VALUE;
        out->pageable = 1;
        return CUDA_SUCCESS;
    case CU_MEMORYTYPE_ARRAY:
        emu_log("CUDA arrays are not supported by the software GPU (copy operand of type array)");
        return CUDA_ERROR_NOT_SUPPORTED;
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
}

/* ===================================================================================== */
/* Copy jobs                                                                              */
/* ===================================================================================== */

typedef struct copy_item {
    copy_side dst, src;
    mem_copy_shape shape;
    void *staging;            /* packed snapshot of a pageable source, owned */
} copy_item;

typedef struct copy_job {
    size_t n;
    copy_item items[];
} copy_job;

static void copy_rows(uint8_t *dst, const uint8_t *src, const mem_copy_shape *s)
{
    int dense_rows = s->width == s->src_pitch && s->width == s->dst_pitch;
    int dense_layers = s->src_slice == s->src_pitch * s->height && s->dst_slice == s->dst_pitch * s->height;
    if (dense_rows && (s->depth == 1 || dense_layers)) {
        memmove(dst, src, s->width * s->height * s->depth);
        return;
    }
    for (size_t z = 0; z < s->depth; z++)
        for (size_t y = 0; y < s->height; y++)
            memmove(dst + z * s->dst_slice + y * s->dst_pitch, src + z * s->src_slice + y * s->src_pitch,
                    s->width);
}

/* Copies the source rows into a packed buffer now; the item then reads from it. */
static int snapshot_source(copy_item *it)
{
    mem_copy_shape *s = &it->shape;
    size_t bytes = s->width * s->height * s->depth;
    uint8_t *buf = malloc(bytes ? bytes : 1);
    if (!buf)
        return -1;
    mem_copy_shape packed = { s->width, s->height, s->depth, s->src_pitch, s->src_slice,
                              s->width, s->width * s->height };
    copy_rows(buf, (const uint8_t *)(uintptr_t)it->src.addr, &packed);
    it->staging = buf;
    it->src.addr = (uint64_t)(uintptr_t)buf;
    it->src.pageable = 0;
    it->src.check_len = 0;
    s->src_pitch = s->width;
    s->src_slice = s->width * s->height;
    return 0;
}

static CUresult copy_job_run(emu_ctx *ctx, void *arg)
{
    copy_job *job = arg;
    for (size_t i = 0; i < job->n; i++) {
        copy_item *it = &job->items[i];
        if ((it->dst.check_len && emu_mem_check(it->dst.addr, it->dst.check_len) != CUDA_SUCCESS) ||
            (it->src.check_len && emu_mem_check(it->src.addr, it->src.check_len) != CUDA_SUCCESS)) {
            emu_log("copy skipped: memory at 0x%llx or 0x%llx was freed before the copy ran",
                    (unsigned long long)it->dst.addr, (unsigned long long)it->src.addr);
            return CUDA_ERROR_INVALID_VALUE;
        }
        copy_rows((uint8_t *)(uintptr_t)it->dst.addr, (const uint8_t *)(uintptr_t)it->src.addr, &it->shape);
    }
    return CUDA_SUCCESS;
}

static void copy_job_free(void *arg)
{
    copy_job *job = arg;
    for (size_t i = 0; i < job->n; i++)
        free(job->items[i].staging);
    free(job);
}

/* Waits for the other contexts a peer copy touches (synchronous peer copies are ordered with
 * respect to work in both contexts). */
static void wait_peer_contexts(emu_ctx *ctx, const mem_operand *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i].peer_ctx && ops[i].peer_ctx != ctx)
            emu_ctx_wait_idle(ops[i].peer_ctx);
}

/* Validates copy i of a batch into job->items[i]. */
static CUresult build_item(copy_item *it, const mem_operand *dst, const mem_operand *src,
                           const mem_copy_shape *s)
{
    int overflow = 0;
    uint64_t dext = mem_shape_extent(s->width, s->height, s->depth, s->dst_pitch, s->dst_slice, &overflow);
    uint64_t sext = mem_shape_extent(s->width, s->height, s->depth, s->src_pitch, s->src_slice, &overflow);
    if (overflow || (s->width && s->height && s->depth &&
                     (unsigned __int128)s->width * s->height * s->depth > SIZE_MAX))
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = resolve_side(dst, dext, &it->dst);
    if (rc == CUDA_SUCCESS)
        rc = resolve_side(src, sext, &it->src);
    it->shape = *s;
    it->staging = NULL;
    return rc;
}

static int shape_empty(const mem_copy_shape *s)
{
    return !s->width || !s->height || !s->depth;
}

CUresult mem_copy_submit_batch(emu_ctx *ctx, CUstream h, size_t n, const mem_operand *dsts,
                               const mem_operand *srcs, const mem_copy_shape *shapes,
                               const int *srcorder, size_t *fail_idx)
{
    if (fail_idx)
        *fail_idx = SIZE_MAX;
    emu_stream *s;
    CUresult rc = emu_stream_resolve(ctx, h, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    copy_job *job = malloc(sizeof(copy_job) + (n ? n : 1) * sizeof(copy_item));
    if (!job)
        return CUDA_ERROR_OUT_OF_MEMORY;
    job->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (shape_empty(&shapes[i]))
            continue;
        copy_item *it = &job->items[job->n];
        rc = build_item(it, &dsts[i], &srcs[i], &shapes[i]);
        int order = srcorder ? srcorder[i] : MEM_SRC_STREAM;
        int snap = order == MEM_SRC_SNAPSHOT_ALWAYS || (order == MEM_SRC_SNAPSHOT_PAGEABLE && it->src.pageable);
        if (rc == CUDA_SUCCESS && snap && snapshot_source(it) != 0)
            rc = CUDA_ERROR_OUT_OF_MEMORY;
        if (rc != CUDA_SUCCESS) {
            if (fail_idx)
                *fail_idx = i;
            copy_job_free(job);
            return rc;
        }
        job->n++;
    }
    if (job->n == 0) {
        copy_job_free(job);
        return CUDA_SUCCESS;
    }
    return emu_stream_enqueue(s, copy_job_run, job, copy_job_free);
}

CUresult mem_copy_submit(emu_ctx *ctx, CUstream h, int sync, const mem_operand *dst,
                         const mem_operand *src, const mem_copy_shape *shape)
{
    if (!sync) {
        int order = MEM_SRC_SNAPSHOT_PAGEABLE;
        return mem_copy_submit_batch(ctx, h, 1, dst, src, shape, &order, NULL);
    }
    emu_stream *s;
    CUresult rc = emu_stream_resolve(ctx, h, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (shape_empty(shape))
        return CUDA_SUCCESS;
    copy_job *job = malloc(sizeof(copy_job) + sizeof(copy_item));
    if (!job)
        return CUDA_ERROR_OUT_OF_MEMORY;
    job->n = 1;
    rc = build_item(&job->items[0], dst, src, shape);
    if (rc == CUDA_SUCCESS) {
        mem_operand ops[2] = { *dst, *src };
        wait_peer_contexts(ctx, ops, 2);
        rc = emu_stream_run_sync(s, copy_job_run, job);
    }
    copy_job_free(job);
    return rc;
}

/* ===================================================================================== */
/* 1D copies                                                                              */
/* ===================================================================================== */

#define PTDS CU_STREAM_PER_THREAD

static CUresult copy_linear(CUstream h, int sync, int dtype, uint64_t dst, int stype, uint64_t src,
                            size_t n)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    mem_operand d = { dtype, dst, NULL }, s = { stype, src, NULL };
    mem_copy_shape shape = { n, 1, 1, n, n, n, n };
    return mem_copy_submit(ctx, h, sync, &d, &s, &shape);
}

static CUresult copy_peer(CUstream h, int sync, uint64_t dst, CUcontext dctx, uint64_t src,
                          CUcontext sctx, size_t n)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_ctx *dc = emu_ctx_from_handle(dctx), *sc = emu_ctx_from_handle(sctx);
    if (!dc || !sc)
        return CUDA_ERROR_INVALID_CONTEXT;
    mem_operand d = { CU_MEMORYTYPE_DEVICE, dst, dc }, s = { CU_MEMORYTYPE_DEVICE, src, sc };
    mem_copy_shape shape = { n, 1, 1, n, n, n, n };
    return mem_copy_submit(ctx, h, sync, &d, &s, &shape);
}

#define H CU_MEMORYTYPE_HOST
#define D CU_MEMORYTYPE_DEVICE
#define U CU_MEMORYTYPE_UNIFIED
#define HP(p) ((uint64_t)(uintptr_t)(p))

EMU_API CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount)
{ return copy_linear(NULL, 1, U, dst, U, src, ByteCount); }
EMU_API CUresult cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount)
{ return copy_linear(PTDS, 1, U, dst, U, src, ByteCount); }
EMU_API CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount, CUstream hStream)
{ return copy_linear(hStream, 0, U, dst, U, src, ByteCount); }
EMU_API CUresult cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount, CUstream hStream)
{ return copy_linear(emu_stream_ptsz(hStream), 0, U, dst, U, src, ByteCount); }

EMU_API CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
{ return copy_linear(NULL, 1, D, dstDevice, H, HP(srcHost), ByteCount); }
EMU_API CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
{ return copy_linear(PTDS, 1, D, dstDevice, H, HP(srcHost), ByteCount); }
EMU_API CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
{ return copy_linear(NULL, 1, H, HP(dstHost), D, srcDevice, ByteCount); }
EMU_API CUresult cuMemcpyDtoH_v2_ptds(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
{ return copy_linear(PTDS, 1, H, HP(dstHost), D, srcDevice, ByteCount); }
EMU_API CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)
{ return copy_linear(NULL, 1, D, dstDevice, D, srcDevice, ByteCount); }
EMU_API CUresult cuMemcpyDtoD_v2_ptds(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)
{ return copy_linear(PTDS, 1, D, dstDevice, D, srcDevice, ByteCount); }

EMU_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount,
                                      CUstream hStream)
{ return copy_linear(hStream, 0, D, dstDevice, H, HP(srcHost), ByteCount); }
EMU_API CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount,
                                           CUstream hStream)
{ return copy_linear(emu_stream_ptsz(hStream), 0, D, dstDevice, H, HP(srcHost), ByteCount); }
EMU_API CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
{ return copy_linear(hStream, 0, H, HP(dstHost), D, srcDevice, ByteCount); }
EMU_API CUresult cuMemcpyDtoHAsync_v2_ptsz(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount,
                                           CUstream hStream)
{ return copy_linear(emu_stream_ptsz(hStream), 0, H, HP(dstHost), D, srcDevice, ByteCount); }
EMU_API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount,
                                      CUstream hStream)
{ return copy_linear(hStream, 0, D, dstDevice, D, srcDevice, ByteCount); }
EMU_API CUresult cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount,
                                           CUstream hStream)
{ return copy_linear(emu_stream_ptsz(hStream), 0, D, dstDevice, D, srcDevice, ByteCount); }

EMU_API CUresult cuMemcpyPeer(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
                              CUcontext srcContext, size_t ByteCount)
{ return copy_peer(NULL, 1, dstDevice, dstContext, srcDevice, srcContext, ByteCount); }
EMU_API CUresult cuMemcpyPeer_ptds(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
                                   CUcontext srcContext, size_t ByteCount)
{ return copy_peer(PTDS, 1, dstDevice, dstContext, srcDevice, srcContext, ByteCount); }
EMU_API CUresult cuMemcpyPeerAsync(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
                                   CUcontext srcContext, size_t ByteCount, CUstream hStream)
{ return copy_peer(hStream, 0, dstDevice, dstContext, srcDevice, srcContext, ByteCount); }
EMU_API CUresult cuMemcpyPeerAsync_ptsz(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
                                        CUcontext srcContext, size_t ByteCount, CUstream hStream)
{ return copy_peer(emu_stream_ptsz(hStream), 0, dstDevice, dstContext, srcDevice, srcContext, ByteCount); }

/* ===================================================================================== */
/* Memsets                                                                                */
/* ===================================================================================== */

typedef struct set_op {
    uint64_t dst;
    size_t pitch;             /* bytes between rows */
    size_t width;             /* elements per row */
    size_t height;
    unsigned elem;            /* 1, 2 or 4 bytes */
    uint32_t value;
    uint64_t extent;          /* bytes from dst to the end of the last row */
    int recheck;              /* dst is in device address space: re-check it when run */
} set_op;

static void fill_row(uint8_t *p, size_t n, unsigned elem, uint32_t v)
{
    if (elem == 1) {
        memset(p, (int)(v & 0xff), n);
    } else if (elem == 2) {
        uint16_t w = (uint16_t)v;
        for (size_t i = 0; i < n; i++)
            memcpy(p + 2 * i, &w, 2);
    } else {
        for (size_t i = 0; i < n; i++)
            memcpy(p + 4 * i, &v, 4);
    }
}

static CUresult set_op_run(emu_ctx *ctx, void *arg)
{
    set_op *op = arg;
    if (op->recheck && emu_mem_check(op->dst, op->extent) != CUDA_SUCCESS) {
        emu_log("memset skipped: memory at 0x%llx was freed before the memset ran",
                (unsigned long long)op->dst);
        return CUDA_ERROR_INVALID_VALUE;
    }
    uint8_t *base = (uint8_t *)(uintptr_t)op->dst;
    if (op->pitch == op->width * op->elem) {
        fill_row(base, op->width * op->height, op->elem, op->value);
        return CUDA_SUCCESS;
    }
    for (size_t y = 0; y < op->height; y++)
        fill_row(base + y * op->pitch, op->width, op->elem, op->value);
    return CUDA_SUCCESS;
}

/* Validates and runs/queues a (2D) memset of height rows of width elements. The destination
 * must be memory the device can address (device, managed, pinned or registered host memory). */
static CUresult memset_submit(CUstream h, int sync, uint64_t dst, size_t pitch, uint32_t value,
                              unsigned elem, size_t width, size_t height)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_stream *s;
    rc = emu_stream_resolve(ctx, h, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (width == 0 || height == 0)
        return CUDA_SUCCESS;
    if (width > SIZE_MAX / elem)
        return CUDA_ERROR_INVALID_VALUE;
    size_t row = width * elem;
    if (height > 1 && (pitch < row || pitch % elem))
        return CUDA_ERROR_INVALID_VALUE;
    if (dst % elem)
        return CUDA_ERROR_INVALID_VALUE;
    int overflow = 0;
    uint64_t extent = mem_shape_extent(row, height, 1, pitch, 0, &overflow);
    if (overflow || (height > 1 && height > SIZE_MAX / pitch))
        return CUDA_ERROR_INVALID_VALUE;
    if (emu_mem_check(dst, extent) != CUDA_SUCCESS)
        return CUDA_ERROR_INVALID_VALUE;
    set_op local = { dst, height > 1 ? pitch : row, width, height, elem, value, extent,
                     recheck_len(dst, extent) != 0 };
    if (sync)
        return emu_stream_run_sync(s, set_op_run, &local);
    set_op *op = malloc(sizeof *op);
    if (!op)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *op = local;
    return emu_stream_enqueue(s, set_op_run, op, free);
}

EMU_API CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)
{ return memset_submit(NULL, 1, dstDevice, N, uc, 1, N, 1); }
EMU_API CUresult cuMemsetD8_v2_ptds(CUdeviceptr dstDevice, unsigned char uc, size_t N)
{ return memset_submit(PTDS, 1, dstDevice, N, uc, 1, N, 1); }
EMU_API CUresult cuMemsetD16_v2(CUdeviceptr dstDevice, unsigned short us, size_t N)
{ return memset_submit(NULL, 1, dstDevice, 0, us, 2, N, 1); }
EMU_API CUresult cuMemsetD16_v2_ptds(CUdeviceptr dstDevice, unsigned short us, size_t N)
{ return memset_submit(PTDS, 1, dstDevice, 0, us, 2, N, 1); }
EMU_API CUresult cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui, size_t N)
{ return memset_submit(NULL, 1, dstDevice, 0, ui, 4, N, 1); }
EMU_API CUresult cuMemsetD32_v2_ptds(CUdeviceptr dstDevice, unsigned int ui, size_t N)
{ return memset_submit(PTDS, 1, dstDevice, 0, ui, 4, N, 1); }

EMU_API CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream)
{ return memset_submit(hStream, 0, dstDevice, N, uc, 1, N, 1); }
EMU_API CUresult cuMemsetD8Async_ptsz(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream)
{ return memset_submit(emu_stream_ptsz(hStream), 0, dstDevice, N, uc, 1, N, 1); }
EMU_API CUresult cuMemsetD16Async(CUdeviceptr dstDevice, unsigned short us, size_t N, CUstream hStream)
{ return memset_submit(hStream, 0, dstDevice, 0, us, 2, N, 1); }
EMU_API CUresult cuMemsetD16Async_ptsz(CUdeviceptr dstDevice, unsigned short us, size_t N, CUstream hStream)
{ return memset_submit(emu_stream_ptsz(hStream), 0, dstDevice, 0, us, 2, N, 1); }
EMU_API CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream)
{ return memset_submit(hStream, 0, dstDevice, 0, ui, 4, N, 1); }
EMU_API CUresult cuMemsetD32Async_ptsz(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream)
{ return memset_submit(emu_stream_ptsz(hStream), 0, dstDevice, 0, ui, 4, N, 1); }

EMU_API CUresult cuMemsetD2D8_v2(CUdeviceptr dstDevice, size_t dstPitch, unsigned char uc, size_t Width,
                                 size_t Height)
{ return memset_submit(NULL, 1, dstDevice, dstPitch, uc, 1, Width, Height); }
EMU_API CUresult cuMemsetD2D8_v2_ptds(CUdeviceptr dstDevice, size_t dstPitch, unsigned char uc, size_t Width,
                                      size_t Height)
{ return memset_submit(PTDS, 1, dstDevice, dstPitch, uc, 1, Width, Height); }
EMU_API CUresult cuMemsetD2D16_v2(CUdeviceptr dstDevice, size_t dstPitch, unsigned short us, size_t Width,
                                  size_t Height)
{ return memset_submit(NULL, 1, dstDevice, dstPitch, us, 2, Width, Height); }
EMU_API CUresult cuMemsetD2D16_v2_ptds(CUdeviceptr dstDevice, size_t dstPitch, unsigned short us,
                                       size_t Width, size_t Height)
{ return memset_submit(PTDS, 1, dstDevice, dstPitch, us, 2, Width, Height); }
EMU_API CUresult cuMemsetD2D32_v2(CUdeviceptr dstDevice, size_t dstPitch, unsigned int ui, size_t Width,
                                  size_t Height)
{ return memset_submit(NULL, 1, dstDevice, dstPitch, ui, 4, Width, Height); }
EMU_API CUresult cuMemsetD2D32_v2_ptds(CUdeviceptr dstDevice, size_t dstPitch, unsigned int ui, size_t Width,
                                       size_t Height)
{ return memset_submit(PTDS, 1, dstDevice, dstPitch, ui, 4, Width, Height); }

EMU_API CUresult cuMemsetD2D8Async(CUdeviceptr dstDevice, size_t dstPitch, unsigned char uc, size_t Width,
                                   size_t Height, CUstream hStream)
{ return memset_submit(hStream, 0, dstDevice, dstPitch, uc, 1, Width, Height); }
EMU_API CUresult cuMemsetD2D8Async_ptsz(CUdeviceptr dstDevice, size_t dstPitch, unsigned char uc,
                                        size_t Width, size_t Height, CUstream hStream)
{ return memset_submit(emu_stream_ptsz(hStream), 0, dstDevice, dstPitch, uc, 1, Width, Height); }
EMU_API CUresult cuMemsetD2D16Async(CUdeviceptr dstDevice, size_t dstPitch, unsigned short us, size_t Width,
                                    size_t Height, CUstream hStream)
{ return memset_submit(hStream, 0, dstDevice, dstPitch, us, 2, Width, Height); }
EMU_API CUresult cuMemsetD2D16Async_ptsz(CUdeviceptr dstDevice, size_t dstPitch, unsigned short us,
                                         size_t Width, size_t Height, CUstream hStream)
{ return memset_submit(emu_stream_ptsz(hStream), 0, dstDevice, dstPitch, us, 2, Width, Height); }
EMU_API CUresult cuMemsetD2D32Async(CUdeviceptr dstDevice, size_t dstPitch, unsigned int ui, size_t Width,
                                    size_t Height, CUstream hStream)
{ return memset_submit(hStream, 0, dstDevice, dstPitch, ui, 4, Width, Height); }
EMU_API CUresult cuMemsetD2D32Async_ptsz(CUdeviceptr dstDevice, size_t dstPitch, unsigned int ui,
                                         size_t Width, size_t Height, CUstream hStream)
{ return memset_submit(emu_stream_ptsz(hStream), 0, dstDevice, dstPitch, ui, 4, Width, Height); }
