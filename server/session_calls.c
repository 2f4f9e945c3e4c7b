/* session_calls.c: the worker's side of the hand-written calls of proto/calls.spec (owner:
 * server/): copies whose host data travels in the frames (sync, async, 2D, 3D), modules and
 * libraries loaded from an image sent whole (JIT options with their log buffers), the linker,
 * launches (parameters packed by the client), context creation, host functions and stream
 * callbacks (round trips to the client), names and enumerations, pointer
 * attributes, batched copies (host operands staged here). Argument order here must match the shim's (shim/calls_*.c, shim/launch.c). */
#include "session_int.h"
#include "bf_calls.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SYM(s, name) bf_sv_sym_flavour((s), (name), (s)->flavour)
typedef CUresult (*hostfn_launch_t)(CUstream, CUhostFn, void *);

static CUstream stream_arg(bf_sargs *s) { return (CUstream)bf_sh_get(s, bf_sa_u64(s)); }

/* Runs fn(arg) in stream order after what is queued on the stream. */
static CUresult after_stream(bf_sargs *s, CUstream st, CUhostFn fn, void *arg)
{
    hostfn_launch_t launch = (hostfn_launch_t)SYM(s, "cuLaunchHostFunc");
    return launch ? launch(st, fn, arg) : CUDA_ERROR_NOT_SUPPORTED;
}

/* ---- host to device, device to host ------------------------------------------------------------ */
CUresult bf_sv_cuMemcpyHtoD(bf_sargs *s, void *fnp)
{
    CUdeviceptr dst = bf_sa_u64(s);
    size_t n;
    const void *src = bf_sa_bytes(s, &n);
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    return ((CUresult (*)(CUdeviceptr, const void *, size_t))fnp)(dst, src, n);
}

static void CUDA_CB free_cb(void *p) { free(p); }

CUresult bf_sv_cuMemcpyHtoDAsync(bf_sargs *s, void *fnp)
{
    CUdeviceptr dst = bf_sa_u64(s);
    CUstream st = stream_arg(s);
    size_t n;
    const void *src = bf_sa_bytes(s, &n);
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    void *stage = malloc(n ? n : 1);
    if (!stage) return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(stage, src, n);
    CUresult r = ((CUresult (*)(CUdeviceptr, const void *, size_t, CUstream))fnp)(dst, stage, n, st);
    if (r == CUDA_SUCCESS) r = after_stream(s, st, free_cb, stage);
    else free(stage);
    return r;
}

CUresult bf_sv_cuMemcpyDtoH(bf_sargs *s, void *fnp)
{
    CUdeviceptr src = bf_sa_u64(s);
    size_t n = (size_t)bf_sa_u64(s);
    if (s->bad || n > BF_MAX_FRAME) return CUDA_ERROR_INVALID_VALUE;
    void *buf = malloc(n ? n : 1);
    if (!buf) return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = ((CUresult (*)(void *, CUdeviceptr, size_t))fnp)(buf, src, n);
    if (r == CUDA_SUCCESS) bf_sr_bytes_owned(s, buf, n);
    else free(buf);
    return r;
}

typedef struct late_reply { bf_session *ss; uint64_t id; void *buf; size_t n; } late_reply;

static void CUDA_CB late_reply_cb(void *arg)
{
    late_reply *lr = arg;
    ProtobufCBinaryData b = { lr->n, lr->buf };
    bf_sv_send_reply(lr->ss, lr->id, CUDA_SUCCESS, &b, 1);
    free(lr->buf);
    free(lr);
}

CUresult bf_sv_cuMemcpyDtoHAsync(bf_sargs *s, void *fnp)
{
    CUdeviceptr src = bf_sa_u64(s);
    size_t n = (size_t)bf_sa_u64(s);
    CUstream st = stream_arg(s);
    if (s->bad || n > BF_MAX_FRAME) return CUDA_ERROR_INVALID_VALUE;
    late_reply *lr = calloc(1, sizeof *lr);
    void *buf = malloc(n ? n : 1);
    if (!lr || !buf) { free(lr); free(buf); return CUDA_ERROR_OUT_OF_MEMORY; }
    CUresult r = ((CUresult (*)(void *, CUdeviceptr, size_t, CUstream))fnp)(buf, src, n, st);
    if (r == CUDA_SUCCESS) {
        lr->ss = s->ss; lr->id = s->c->id; lr->buf = buf; lr->n = n;
        r = after_stream(s, st, late_reply_cb, lr);
        if (r == CUDA_SUCCESS) { s->no_reply = 1; return r; }
    }
    free(lr);
    free(buf);
    return r;
}

/* ---- 2D / 3D: host sides travel packed (rows of WidthInBytes, no pitch) ---------------------------
 * a: dst_is_host, src_is_host; b[0]: the struct (host pointers meaningless), b[1]: packed source.
 * A host side is rebuilt here in a staging buffer with the caller's own geometry (pitch, height,
 * offsets: the host pointer is set so that its offsets land on the buffer), so the driver makes
 * every check it makes on the caller's struct. Only the rectangle is staged. */
typedef struct host_side {
    size_t *x, *y, *z, *pitch, *height;     /* fields of the struct (z, height: NULL in 2D) */
    const void **src;                       /* srcHost or dstHost */
    uint8_t *stage;
    size_t pe, he;                          /* the staging layout: pitch and rows per layer */
} host_side;

/* Stages a host side of w x h x d bytes; 0 on success. */
static int stage_side(host_side *hs, size_t w, size_t h, size_t d)
{
    size_t hh = hs->height && *hs->height ? *hs->height : h, ext, t;
    hs->pe = *hs->pitch > w ? *hs->pitch : w;
    hs->he = hh > h ? hh : h;
    if (hs->pe > BF_MAX_FRAME || hs->he > BF_MAX_FRAME || d > BF_MAX_FRAME) return -1;
    if (__builtin_mul_overflow((d - 1) * hs->he + (h - 1), hs->pe, &ext) || __builtin_add_overflow(ext, w, &ext) ||
        ext > BF_MAX_FRAME)
        return -1;
    hs->stage = calloc(1, ext ? ext : 1);
    if (!hs->stage) return -1;
    size_t z = hs->z ? *hs->z : 0;
    if (__builtin_mul_overflow(z * hh + *hs->y, *hs->pitch, &t)) t = 0;
    *hs->src = (const void *)((uintptr_t)hs->stage - t - *hs->x);   /* the caller's offsets land on the stage */
    return 0;
}

static void side_rows(host_side *hs, uint8_t *packed, size_t w, size_t h, size_t d, int to_stage)
{
    for (size_t k = 0; k < d; k++)
        for (size_t r = 0; r < h; r++) {
            uint8_t *st = hs->stage + (k * hs->he + r) * hs->pe, *pk = packed + (k * h + r) * w;
            if (to_stage) memcpy(st, pk, w); else memcpy(pk, st, w);
        }
}

/* Async copy to a host side: when the stream gets there, pack the staged rows and reply. */
typedef struct copy_back { host_side hs; size_t w, h, d; late_reply *lr; } copy_back;

static void CUDA_CB copy_back_cb(void *arg)
{
    copy_back *cb = arg;
    side_rows(&cb->hs, cb->lr->buf, cb->w, cb->h, cb->d, 0);
    free(cb->hs.stage);
    late_reply_cb(cb->lr);
    free(cb);
}

static CUresult copy_nd(bf_sargs *s, void *fnp, int dims, int async)
{
    CUDA_MEMCPY3D m3;
    CUDA_MEMCPY2D m2;
    int dst_host = (int)bf_sa_u64(s), src_host = (int)bf_sa_u64(s);
    CUstream st = async ? stream_arg(s) : NULL;
    size_t n;
    if (dims == 2) bf_sa_struct(s, &m2, sizeof m2); else bf_sa_struct(s, &m3, sizeof m3);
    const void *src = bf_sa_bytes(s, &n);
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    size_t w = dims == 2 ? m2.WidthInBytes : m3.WidthInBytes;
    size_t h = dims == 2 ? m2.Height : m3.Height, d = dims == 2 ? 1 : (m3.Depth ? m3.Depth : 1);
    size_t total = w * h * d;
    host_side hs[2];      /* 0: source, 1: destination */
    memset(hs, 0, sizeof hs);
    if (dims == 2) {
        hs[0] = (host_side){ &m2.srcXInBytes, &m2.srcY, NULL, &m2.srcPitch, NULL, &m2.srcHost, NULL, 0, 0 };
        hs[1] = (host_side){ &m2.dstXInBytes, &m2.dstY, NULL, &m2.dstPitch, NULL, (const void **)&m2.dstHost, NULL, 0, 0 };
    } else {
        hs[0] = (host_side){ &m3.srcXInBytes, &m3.srcY, &m3.srcZ, &m3.srcPitch, &m3.srcHeight, &m3.srcHost, NULL, 0, 0 };
        hs[1] = (host_side){ &m3.dstXInBytes, &m3.dstY, &m3.dstZ, &m3.dstPitch, &m3.dstHeight, (const void **)&m3.dstHost,
                             NULL, 0, 0 };
    }
    if (!w || !h) {
        src_host = dst_host = 0;    /* nothing is copied: the host pointers as sent (NULL or not) */
        total = 0;
    } else if ((src_host || dst_host) && (total / h / d != w || total > BF_MAX_FRAME)) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (src_host && n < total) return CUDA_ERROR_INVALID_VALUE;
    if ((src_host && stage_side(&hs[0], w, h, d) != 0) || (dst_host && stage_side(&hs[1], w, h, d) != 0)) {
        free(hs[0].stage);
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (src_host) side_rows(&hs[0], (uint8_t *)(uintptr_t)src, w, h, d, 1);
    CUresult r;
    if (dims == 2 && !async) r = ((CUresult (*)(const CUDA_MEMCPY2D *))fnp)(&m2);
    else if (dims == 2) r = ((CUresult (*)(const CUDA_MEMCPY2D *, CUstream))fnp)(&m2, st);
    else if (!async) r = ((CUresult (*)(const CUDA_MEMCPY3D *))fnp)(&m3);
    else r = ((CUresult (*)(const CUDA_MEMCPY3D *, CUstream))fnp)(&m3, st);
    if (r != CUDA_SUCCESS) { free(hs[0].stage); free(hs[1].stage); return r; }
    if (async && hs[0].stage) after_stream(s, st, free_cb, hs[0].stage);
    else free(hs[0].stage);
    if (!hs[1].stage) return r;
    uint8_t *out = malloc(total);
    if (!out) { free(hs[1].stage); return CUDA_ERROR_OUT_OF_MEMORY; }
    if (async) {
        /* the bytes are read back when the stream gets there */
        late_reply *lr = calloc(1, sizeof *lr);
        copy_back *cb = calloc(1, sizeof *cb);
        if (!lr || !cb) { free(lr); free(cb); free(out); free(hs[1].stage); return CUDA_ERROR_OUT_OF_MEMORY; }
        lr->ss = s->ss; lr->id = s->c->id; lr->buf = out; lr->n = total;
        cb->hs = hs[1]; cb->w = w; cb->h = h; cb->d = d; cb->lr = lr;
        r = after_stream(s, st, copy_back_cb, cb);
        if (r == CUDA_SUCCESS) s->no_reply = 1;
        else { free(hs[1].stage); free(out); free(lr); free(cb); }
        return r;
    }
    side_rows(&hs[1], out, w, h, d, 0);
    free(hs[1].stage);
    bf_sr_bytes_owned(s, out, total);
    return r;
}

CUresult bf_sv_cuMemcpy2D(bf_sargs *s, void *fnp) { return copy_nd(s, fnp, 2, 0); }
CUresult bf_sv_cuMemcpy2DUnaligned(bf_sargs *s, void *fnp) { return copy_nd(s, fnp, 2, 0); }
CUresult bf_sv_cuMemcpy2DAsync(bf_sargs *s, void *fnp) { return copy_nd(s, fnp, 2, 1); }
CUresult bf_sv_cuMemcpy3D(bf_sargs *s, void *fnp) { return copy_nd(s, fnp, 3, 0); }
CUresult bf_sv_cuMemcpy3DAsync(bf_sargs *s, void *fnp) { return copy_nd(s, fnp, 3, 1); }
/* device sides only (the client turns a host side into a plain 3D copy): a: [stream]; b: the struct
 * with its contexts as tokens */
static CUresult copy_peer(bf_sargs *s, void *fnp, int async)
{
    CUDA_MEMCPY3D_PEER m;
    CUstream st = async ? stream_arg(s) : NULL;
    bf_sa_struct(s, &m, sizeof m);
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    m.srcContext = (CUcontext)bf_sh_get(s, (uint64_t)(uintptr_t)m.srcContext);
    m.dstContext = (CUcontext)bf_sh_get(s, (uint64_t)(uintptr_t)m.dstContext);
    if (m.srcMemoryType == CU_MEMORYTYPE_HOST || m.dstMemoryType == CU_MEMORYTYPE_HOST) return CUDA_ERROR_INVALID_VALUE;
    if (async) return ((CUresult (*)(const CUDA_MEMCPY3D_PEER *, CUstream))fnp)(&m, st);
    return ((CUresult (*)(const CUDA_MEMCPY3D_PEER *))fnp)(&m);
}
CUresult bf_sv_cuMemcpy3DPeer(bf_sargs *s, void *fnp) { return copy_peer(s, fnp, 0); }
CUresult bf_sv_cuMemcpy3DPeerAsync(bf_sargs *s, void *fnp) { return copy_peer(s, fnp, 1); }

/* ---- batches: host operands staged here (shim/memcpy_batch.c has the wire) ------------------------
 * Each operand the client marked host gets a zeroed staging buffer laid out with the caller's own
 * geometry (rows of `row` bytes, layers of `layer` rows; a linear copy is one row), sources filled
 * from the packed rows that came with the call; the driver gets the staging buffer as the pointer.
 * When the stream got past the batch, the staged destinations are packed into the reply and every
 * staging buffer is freed. */
#define BATCH_DST_HOST 1
#define BATCH_SRC_HOST 2
typedef struct batch_op { uint64_t dst, src, size, host; } batch_op;

typedef struct bstage { uint8_t *buf; size_t w, h, d, row, layer; int dst, rows_ok; } bstage;
typedef struct batch_st {
    bf_session *ss;
    uint64_t id;
    uint64_t fail;
    bstage *v;
    size_t n, out_n, staged;
} batch_st;

static void batch_free(batch_st *b)
{
    for (size_t i = 0; b && i < b->n; i++) free(b->v[i].buf);
    if (b) free(b->v);
    free(b);
}

/* Stages one host operand; NULL when it cannot (the call fails with INVALID_VALUE). */
static uint8_t *batch_stage(batch_st *b, size_t w, size_t h, size_t d, size_t row, size_t layer, int dst,
                            const uint8_t **pk, size_t *left)
{
    bstage *st = &b->v[b->n];
    size_t ext = 1, t, n = 0;
    memset(st, 0, sizeof *st);
    st->rows_ok = w && h && d && row >= w && layer >= h;   /* else the driver refuses the op */
    if (st->rows_ok) {
        if (__builtin_mul_overflow(d - 1, layer, &t) || __builtin_add_overflow(t, h - 1, &t) ||
            __builtin_mul_overflow(t, row, &ext) || __builtin_add_overflow(ext, w, &ext) ||
            __builtin_mul_overflow(w * h, d, &n) || ext > BF_MAX_FRAME ||
            __builtin_add_overflow(b->staged, ext, &b->staged) || b->staged > BF_MAX_FRAME)
            return NULL;
        if (!dst && *left < n) return NULL;
    }
    if (!(st->buf = calloc(1, ext))) return NULL;
    b->n++;
    st->w = w; st->h = h; st->d = d; st->row = row; st->layer = layer; st->dst = dst;
    if (!st->rows_ok) return st->buf;
    if (dst) { b->out_n += n; return st->buf; }
    for (size_t k = 0; k < d; k++)
        for (size_t r = 0; r < h; r++)
            memcpy(st->buf + (k * layer + r) * row, *pk + (k * h + r) * w, w);
    *pk += n;
    *left -= n;
    return st->buf;
}

static uint8_t *batch_pack(batch_st *b)
{
    uint8_t *out = malloc(b->out_n ? b->out_n : 1), *q = out;
    for (size_t i = 0; out && i < b->n; i++) {
        bstage *st = &b->v[i];
        if (!st->dst || !st->rows_ok) continue;
        for (size_t k = 0; k < st->d; k++)
            for (size_t r = 0; r < st->h; r++, q += st->w)
                memcpy(q, st->buf + (k * st->layer + r) * st->row, st->w);
    }
    return out;
}

/* The stream got past the batch: the destinations go back in the (late) reply. */
static void CUDA_CB batch_done_cb(void *arg)
{
    batch_st *b = arg;
    if (b->out_n) {
        uint8_t *out = batch_pack(b);
        ProtobufCBinaryData rb[2] = { { sizeof b->fail, (uint8_t *)&b->fail }, { out ? b->out_n : 0, out } };
        bf_sv_send_reply(b->ss, b->id, out ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY, rb, 2);
        free(out);
    }
    batch_free(b);
}

/* After the driver accepted the batch (r) or refused it: reply now, or when the stream gets there. */
static CUresult batch_after(bf_sargs *s, batch_st *b, CUresult r, CUstream st)
{
    if (r != CUDA_SUCCESS || !b->n) {
        bf_sr_bytes(s, &b->fail, sizeof b->fail);
        batch_free(b);
        return r;
    }
    b->ss = s->ss;
    b->id = s->c->id;
    int late = b->out_n != 0;
    uint64_t fail = b->fail;
    if (after_stream(s, st, batch_done_cb, b) == CUDA_SUCCESS) {
        if (late) s->no_reply = 1;
        else bf_sr_bytes(s, &fail, sizeof fail);
        return r;
    }
    /* no host function: wait for the stream here */
    CUresult (*sync)(CUstream) = (CUresult (*)(CUstream))SYM(s, "cuStreamSynchronize");
    if (sync) r = sync(st);
    bf_sr_bytes(s, &b->fail, sizeof b->fail);
    if (r == CUDA_SUCCESS && b->out_n) {
        uint8_t *out = batch_pack(b);
        if (out) bf_sr_bytes_owned(s, out, b->out_n);
        else r = CUDA_ERROR_OUT_OF_MEMORY;
    }
    batch_free(b);
    return r;
}

typedef CUresult (*batch_v1_t)(CUdeviceptr *, CUdeviceptr *, size_t *, size_t, CUmemcpyAttributes *, size_t *, size_t,
                               size_t *, CUstream);
typedef CUresult (*batch_v2_t)(CUdeviceptr *, CUdeviceptr *, size_t *, size_t, CUmemcpyAttributes *, size_t *, size_t,
                               CUstream);

/* fnp: the CUDA 12.8 form; a _v2 request runs the backend's _v2 when it has one */
CUresult bf_sv_cuMemcpyBatchAsync(bf_sargs *s, void *fnp)
{
    int v1 = (int)bf_sa_u64(s);
    (void)bf_sa_u64(s);                             /* failIdx present: the reply always has it */
    size_t count = (size_t)bf_sa_u64(s);
    int has_d = (int)bf_sa_u64(s), has_s = (int)bf_sa_u64(s), has_z = (int)bf_sa_u64(s);
    size_t nattrs = (size_t)bf_sa_u64(s);
    int has_a = (int)bf_sa_u64(s), has_i = (int)bf_sa_u64(s);
    CUstream st = stream_arg(s);
    size_t nops, nat, nix, left;
    const uint8_t *ops = bf_sa_bytes(s, &nops);
    const void *at = bf_sa_bytes(s, &nat), *ix = bf_sa_bytes(s, &nix);
    const uint8_t *pk = bf_sa_bytes(s, &left);
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    int all = has_d && has_s && has_z;
    size_t na = nat / sizeof(CUmemcpyAttributes);
    if ((all && nops != count * sizeof(batch_op)) || (!all && count > 65536) || (has_a && nattrs > na) ||
        (has_i && nattrs > nix / sizeof(size_t)) || na > BF_MAX_FRAME / sizeof(CUmemcpyAttributes))
        return CUDA_ERROR_INVALID_VALUE;
    size_t cn = count ? count : 1;
    CUdeviceptr *d = calloc(cn, sizeof *d), *sr = calloc(cn, sizeof *sr);
    size_t *z = calloc(cn, sizeof *z), *idx = calloc(na ? na : 1, sizeof *idx);
    CUmemcpyAttributes *a = calloc(na ? na : 1, sizeof *a);
    batch_st *b = calloc(1, sizeof *b);
    bstage *v = all ? calloc(2 * cn, sizeof *v) : NULL;
    CUresult r = CUDA_SUCCESS;
    if (!d || !sr || !z || !idx || !a || !b || (all && !v)) r = CUDA_ERROR_OUT_OF_MEMORY;
    if (b) { b->v = v; b->fail = SIZE_MAX; }
    if (r == CUDA_SUCCESS) {
        if (na) memcpy(a, at, na * sizeof *a);
        if (na) memcpy(idx, ix, na * sizeof *idx);
        for (size_t i = 0; all && i < count; i++) {
            batch_op op;
            memcpy(&op, ops + i * sizeof op, sizeof op);
            d[i] = op.dst; sr[i] = op.src; z[i] = (size_t)op.size;
            uint8_t *p;
            if ((op.host & BATCH_SRC_HOST) && !(p = batch_stage(b, z[i], 1, 1, z[i], 1, 0, &pk, &left))) r = CUDA_ERROR_INVALID_VALUE;
            else if (op.host & BATCH_SRC_HOST) sr[i] = (CUdeviceptr)(uintptr_t)p;
            if (r == CUDA_SUCCESS && (op.host & BATCH_DST_HOST) && !(p = batch_stage(b, z[i], 1, 1, z[i], 1, 1, &pk, &left)))
                r = CUDA_ERROR_INVALID_VALUE;
            else if (r == CUDA_SUCCESS && (op.host & BATCH_DST_HOST)) d[i] = (CUdeviceptr)(uintptr_t)p;
            if (r != CUDA_SUCCESS) { b->fail = i; break; }
        }
    }
    if (r == CUDA_SUCCESS) {
        void *v2 = v1 ? NULL : bf_sv_sym_flavour(s, "cuMemcpyBatchAsync_v2", s->flavour);
        CUdeviceptr *pd = has_d ? d : NULL, *ps = has_s ? sr : NULL;
        size_t *pz = has_z ? z : NULL, *pi = has_i ? idx : NULL;
        CUmemcpyAttributes *pa = has_a ? a : NULL;
        if (v2) r = ((batch_v2_t)v2)(pd, ps, pz, count, pa, pi, nattrs, st);
        else r = ((batch_v1_t)fnp)(pd, ps, pz, count, pa, pi, nattrs, &b->fail, st);
    }
    free(d); free(sr); free(z); free(idx); free(a);
    if (!b) return r;
    return batch_after(s, b, r, st);
}

typedef CUresult (*batch3d_v1_t)(size_t, CUDA_MEMCPY3D_BATCH_OP *, size_t *, unsigned long long, CUstream);
typedef CUresult (*batch3d_v2_t)(size_t, CUDA_MEMCPY3D_BATCH_OP *, unsigned long long, CUstream);

/* One operand: a host pointer gets its staging buffer, an array its server handle. */
static int batch3d_operand(bf_sargs *s, batch_st *b, CUmemcpy3DOperand *o, const CUextent3D *e, int host, int dst,
                           const uint8_t **pk, size_t *left)
{
    if (o->type == CU_MEMCPY_OPERAND_TYPE_ARRAY) {
        o->op.array.array = (CUarray)bf_sh_get(s, (uint64_t)(uintptr_t)o->op.array.array);
        return 0;
    }
    if (!host || o->type != CU_MEMCPY_OPERAND_TYPE_POINTER) return 0;
    size_t row = o->op.ptr.rowLength ? o->op.ptr.rowLength : e->width;
    size_t layer = o->op.ptr.layerHeight ? o->op.ptr.layerHeight : e->height;
    uint8_t *p = batch_stage(b, e->width, e->height, e->depth, row, layer, dst, pk, left);
    if (!p) return -1;
    o->op.ptr.ptr = (CUdeviceptr)(uintptr_t)p;
    return 0;
}

CUresult bf_sv_cuMemcpy3DBatchAsync(bf_sargs *s, void *fnp)
{
    int v1 = (int)bf_sa_u64(s);
    (void)bf_sa_u64(s);                             /* failIdx present: the reply always has it */
    size_t num = (size_t)bf_sa_u64(s);
    int has_ops = (int)bf_sa_u64(s);
    unsigned long long flags = bf_sa_u64(s);
    CUstream st = stream_arg(s);
    size_t nops, nhost, left;
    const void *opsb = bf_sa_bytes(s, &nops);
    const uint8_t *host = bf_sa_bytes(s, &nhost);
    const uint8_t *pk = bf_sa_bytes(s, &left);
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    size_t n = has_ops ? num : 0;
    if (nops != n * sizeof(CUDA_MEMCPY3D_BATCH_OP) || nhost != n) return CUDA_ERROR_INVALID_VALUE;
    CUDA_MEMCPY3D_BATCH_OP *ops = malloc(n ? nops : 1);
    batch_st *b = calloc(1, sizeof *b);
    bstage *v = calloc(2 * (n ? n : 1), sizeof *v);
    CUresult r = ops && b && v ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
    if (b) { b->v = v; b->fail = SIZE_MAX; }
    else free(v);
    if (r == CUDA_SUCCESS && n) memcpy(ops, opsb, nops);
    for (size_t i = 0; r == CUDA_SUCCESS && i < n; i++) {
        CUDA_MEMCPY3D_BATCH_OP *op = &ops[i];
        if (batch3d_operand(s, b, &op->src, &op->extent, host[i] & BATCH_SRC_HOST, 0, &pk, &left) ||
            batch3d_operand(s, b, &op->dst, &op->extent, host[i] & BATCH_DST_HOST, 1, &pk, &left)) {
            r = CUDA_ERROR_INVALID_VALUE;
            b->fail = i;
        }
    }
    if (r == CUDA_SUCCESS) {
        void *v2 = v1 ? NULL : bf_sv_sym_flavour(s, "cuMemcpy3DBatchAsync_v2", s->flavour);
        if (v2) r = ((batch3d_v2_t)v2)(num, has_ops ? ops : NULL, flags, st);
        else r = ((batch3d_v1_t)fnp)(num, has_ops ? ops : NULL, &b->fail, flags, st);
    }
    free(ops);
    if (!b) return r;
    return batch_after(s, b, r, st);
}

/* a: p0, p1 -> reply a: memory type of each (0: not device-accessible memory of the server) */
CUresult bf_sv_bfMemClassify(bf_sargs *s, void *fnp)
{
    CUresult (*attr)(void *, CUpointer_attribute, CUdeviceptr) =
        (CUresult (*)(void *, CUpointer_attribute, CUdeviceptr))bf_sv_sym(s, "cuPointerGetAttribute");
    for (int i = 0; i < 2; i++) {
        CUdeviceptr p = bf_sa_u64(s);
        unsigned int t = 0;
        if (!attr || attr(&t, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p) != CUDA_SUCCESS) t = 0;
        bf_sr_u64(s, t);
    }
    return s->bad ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

/* a: attribute, ptr -> reply b: the value (a context as its token) */
CUresult bf_sv_cuPointerGetAttribute(bf_sargs *s, void *fnp)
{
    CUpointer_attribute a = (CUpointer_attribute)bf_sa_u64(s);
    CUdeviceptr p = bf_sa_u64(s);
    uint64_t v[8] = { 0 };
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    CUresult r = ((CUresult (*)(void *, CUpointer_attribute, CUdeviceptr))fnp)(v, a, p);
    if (r == CUDA_SUCCESS && (a == CU_POINTER_ATTRIBUTE_CONTEXT || a == CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE))
        v[0] = bf_sh_put(s, (void *)(uintptr_t)v[0]);
    bf_sr_bytes(s, v, sizeof v);
    return r;
}

/* a: n, attributes..., ptr -> reply a: each value (contexts and pools as tokens) */
CUresult bf_sv_cuPointerGetAttributes(bf_sargs *s, void *fnp)
{
    unsigned n = (unsigned)bf_sa_u64(s);
    CUpointer_attribute at[64];
    uint64_t vals[64][8];
    void *data[64];
    if (n > 64) return CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < n; i++) at[i] = (CUpointer_attribute)bf_sa_u64(s);
    CUdeviceptr p = bf_sa_u64(s);
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    memset(vals, 0, sizeof vals);
    for (unsigned i = 0; i < n; i++) data[i] = vals[i];
    CUresult r = ((CUresult (*)(unsigned, CUpointer_attribute *, void **, CUdeviceptr))fnp)(n, at, data, p);
    for (unsigned i = 0; i < n; i++) {
        if (r == CUDA_SUCCESS && (at[i] == CU_POINTER_ATTRIBUTE_CONTEXT || at[i] == CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE))
            vals[i][0] = bf_sh_put(s, (void *)(uintptr_t)vals[i][0]);
        bf_sr_u64(s, vals[i][0]);
    }
    return r;
}

CUresult bf_sv_cuMemHostGetDevicePointer(bf_sargs *s, void *fnp) { return CUDA_ERROR_NOT_SUPPORTED; }

/* ---- host functions and stream callbacks ----------------------------------------------------------- */
typedef struct hostfn_arg { bf_session *ss; uint64_t token; } hostfn_arg;

static void CUDA_CB hostfn_cb(void *arg)
{
    hostfn_arg *h = arg;
    bf_sv_hostfn_roundtrip(h->ss, h->token, 0);
    free(h);
}

static void CUDA_CB stream_cb(CUstream st, CUresult status, void *arg)
{
    hostfn_arg *h = arg;
    (void)st;
    bf_sv_hostfn_roundtrip(h->ss, h->token, (int)status);
    free(h);
}

/* a: stream, token */
CUresult bf_sv_cuLaunchHostFunc(bf_sargs *s, void *fnp)
{
    CUstream st = stream_arg(s);
    hostfn_arg *h = malloc(sizeof *h);
    if (!h) return CUDA_ERROR_OUT_OF_MEMORY;
    h->ss = s->ss;
    h->token = bf_sa_u64(s);
    if (s->bad) { free(h); return CUDA_ERROR_INVALID_VALUE; }
    CUresult r = ((CUresult (*)(CUstream, CUhostFn, void *))fnp)(st, hostfn_cb, h);
    if (r != CUDA_SUCCESS) free(h);
    return r;
}

/* a: stream, token, flags */
CUresult bf_sv_cuStreamAddCallback(bf_sargs *s, void *fnp)
{
    CUstream st = stream_arg(s);
    hostfn_arg *h = malloc(sizeof *h);
    if (!h) return CUDA_ERROR_OUT_OF_MEMORY;
    h->ss = s->ss;
    h->token = bf_sa_u64(s);
    unsigned flags = (unsigned)bf_sa_u64(s);
    if (s->bad) { free(h); return CUDA_ERROR_INVALID_VALUE; }
    CUresult r = ((CUresult (*)(CUstream, CUstreamCallback, void *, unsigned))fnp)(st, stream_cb, h, flags);
    if (r != CUDA_SUCCESS) free(h);
    return r;
}

/* ---- modules and libraries --------------------------------------------------------------------
 * a: n, (option, value) x n; b[0]: the whole image -> reply a: token, the n values after the call;
 * b: the error log, the info log (the log buffers are ours, sized by their SIZE_BYTES options). */
#define BF_MAX_JIT_OPTS 32
#define BF_MAX_JIT_LOG (1u << 20)

static CUresult load_image(bf_sargs *s, const char *sym, int library)
{
    size_t n;
    unsigned nopt = (unsigned)bf_sa_u64(s);
    CUjit_option o[BF_MAX_JIT_OPTS];
    void *v[BF_MAX_JIT_OPTS];
    char *logs[2] = { NULL, NULL };
    if (nopt > BF_MAX_JIT_OPTS) return CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < nopt; i++) {
        o[i] = (CUjit_option)bf_sa_u64(s);
        v[i] = (void *)(uintptr_t)bf_sa_u64(s);
    }
    const void *img = bf_sa_bytes(s, &n);
    void *h = NULL;
    CUresult r;
    void *fn = bf_sv_sym(s, nopt && !library ? "cuModuleLoadDataEx" : sym);
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    if (!fn) return CUDA_ERROR_NOT_SUPPORTED;
    for (unsigned i = 0; i < nopt; i++) {
        int k = o[i] == CU_JIT_ERROR_LOG_BUFFER ? 0 : o[i] == CU_JIT_INFO_LOG_BUFFER ? 1 : -1;
        if (k < 0) continue;
        CUjit_option want = k ? CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES : CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES;
        size_t size = 0;
        for (unsigned j = 0; j < nopt; j++) if (o[j] == want) size = (size_t)(uintptr_t)v[j];
        if (size > BF_MAX_JIT_LOG) size = BF_MAX_JIT_LOG;
        if (!logs[k]) logs[k] = calloc(1, size + 1);
        if (!logs[k]) return CUDA_ERROR_OUT_OF_MEMORY;
        v[i] = logs[k];
        for (unsigned j = 0; j < nopt; j++) if (o[j] == want) v[j] = (void *)(uintptr_t)size;
    }
    /* the bytes are followed by a NUL (protobuf-c does not promise one): copy */
    char *copy = malloc(n + 1);
    if (!copy) { free(logs[0]); free(logs[1]); return CUDA_ERROR_OUT_OF_MEMORY; }
    memcpy(copy, img, n);
    copy[n] = 0;
    if (library)
        r = ((CUresult (*)(CUlibrary *, const void *, CUjit_option *, void **, unsigned,
                           CUlibraryOption *, void **, unsigned))fn)((CUlibrary *)&h, copy, nopt ? o : NULL,
                                                                      nopt ? v : NULL, nopt, NULL, NULL, 0);
    else if (nopt)
        r = ((CUresult (*)(CUmodule *, const void *, unsigned, CUjit_option *, void **))fn)((CUmodule *)&h, copy,
                                                                                           nopt, o, v);
    else
        r = ((CUresult (*)(CUmodule *, const void *))fn)((CUmodule *)&h, copy);
    free(copy);
    bf_sr_u64(s, r == CUDA_SUCCESS ? bf_sh_put(s, h) : 0);
    for (unsigned i = 0; i < nopt; i++) bf_sr_u64(s, (uint64_t)(uintptr_t)v[i]);
    for (int k = 0; k < 2; k++) {
        if (logs[k]) bf_sr_bytes_owned(s, logs[k], strlen(logs[k]) + 1);
        else bf_sr_bytes(s, "", 0);
    }
    return r;
}

/* ---- the linker: its JIT log buffers live here with the link, and travel back after each call ---- */
/* (the driver keeps pointers into the option arrays: they live with the link) */
typedef struct link_logs {
    CUlinkState st;
    char *log[2];
    size_t size[2];
    CUjit_option o[BF_MAX_JIT_OPTS];
    void *v[BF_MAX_JIT_OPTS];
    struct link_logs *next;
} link_logs;
static pthread_mutex_t g_links_lock = PTHREAD_MUTEX_INITIALIZER;
static link_logs *g_links;

static void link_reply_logs(bf_sargs *s, CUlinkState st)
{
    pthread_mutex_lock(&g_links_lock);
    link_logs *l = g_links;
    while (l && l->st != st) l = l->next;
    for (int k = 0; k < 2; k++) {
        if (l && l->log[k]) bf_sr_bytes(s, l->log[k], strlen(l->log[k]) + 1);
        else bf_sr_bytes(s, "", 0);
    }
    pthread_mutex_unlock(&g_links_lock);
}

/* a: n, (option, value) x n -> reply a: token; b: error log, info log */
CUresult bf_sv_cuLinkCreate(bf_sargs *s, void *fnp)
{
    unsigned nopt = (unsigned)bf_sa_u64(s);
    if (nopt > BF_MAX_JIT_OPTS) return CUDA_ERROR_INVALID_VALUE;
    link_logs *l = calloc(1, sizeof *l);
    if (!l) return CUDA_ERROR_OUT_OF_MEMORY;
    CUjit_option *o = l->o;
    void **v = l->v;
    for (unsigned i = 0; i < nopt; i++) { o[i] = (CUjit_option)bf_sa_u64(s); v[i] = (void *)(uintptr_t)bf_sa_u64(s); }
    if (s->bad) { free(l); return CUDA_ERROR_INVALID_VALUE; }
    for (unsigned i = 0; i < nopt; i++) {
        int k = o[i] == CU_JIT_ERROR_LOG_BUFFER ? 0 : o[i] == CU_JIT_INFO_LOG_BUFFER ? 1 : -1;
        if (k < 0) continue;
        CUjit_option want = k ? CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES : CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES;
        for (unsigned j = 0; j < nopt; j++) if (o[j] == want) l->size[k] = (size_t)(uintptr_t)v[j];
        if (l->size[k] > BF_MAX_JIT_LOG) l->size[k] = BF_MAX_JIT_LOG;
        if (!l->log[k] && !(l->log[k] = calloc(1, l->size[k] + 1))) break;
        v[i] = l->log[k];
        for (unsigned j = 0; j < nopt; j++) if (o[j] == want) v[j] = (void *)(uintptr_t)l->size[k];
    }
    CUresult r = ((CUresult (*)(unsigned, CUjit_option *, void **, CUlinkState *))fnp)(nopt, nopt ? o : NULL,
                                                                                      nopt ? v : NULL, &l->st);
    bf_sr_u64(s, r == CUDA_SUCCESS ? bf_sh_put(s, l->st) : 0);
    for (int k = 0; k < 2; k++) bf_sr_bytes(s, l->log[k] ? l->log[k] : "", l->log[k] ? strlen(l->log[k]) + 1 : 0);
    if (r != CUDA_SUCCESS) { free(l->log[0]); free(l->log[1]); free(l); return r; }
    pthread_mutex_lock(&g_links_lock);
    l->next = g_links;
    g_links = l;
    pthread_mutex_unlock(&g_links_lock);
    return r;
}

/* a: state, type, name present; b: data, name -> reply b: error log, info log */
static CUresult link_add(bf_sargs *s)
{
    size_t n;
    CUlinkState st = (CUlinkState)bf_sh_get(s, bf_sa_u64(s));
    CUjitInputType type = (CUjitInputType)bf_sa_u64(s);
    const void *data = bf_sa_bytes(s, &n);
    const char *name = bf_sa_str(s);
    void *fn = bf_sv_sym_flavour(s, "cuLinkAddData_v2", 0);
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    if (!fn) return CUDA_ERROR_NOT_SUPPORTED;
    char *copy = malloc(n + 1);
    if (!copy) return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(copy, data, n);
    copy[n] = 0;
    CUresult r = ((CUresult (*)(CUlinkState, CUjitInputType, void *, size_t, const char *, unsigned, CUjit_option *,
                                void **))fn)(st, type, copy, n, name, 0, NULL, NULL);
    free(copy);
    link_reply_logs(s, st);
    return r;
}
CUresult bf_sv_cuLinkAddData(bf_sargs *s, void *fnp) { return link_add(s); }
CUresult bf_sv_cuLinkAddFile(bf_sargs *s, void *fnp) { return link_add(s); }

/* a: state -> reply b: error log, info log, the image */
CUresult bf_sv_cuLinkComplete(bf_sargs *s, void *fnp)
{
    CUlinkState st = (CUlinkState)bf_sh_get(s, bf_sa_u64(s));
    int has_out = (int)bf_sa_u64(s), has_size = (int)bf_sa_u64(s);
    void *img = NULL;
    size_t size = 0;
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    CUresult r = ((CUresult (*)(CUlinkState, void **, size_t *))fnp)(st, has_out ? &img : NULL, has_size ? &size : NULL);
    link_reply_logs(s, st);
    bf_sr_bytes(s, img, r == CUDA_SUCCESS && img ? size : 0);
    return r;
}

/* a: state */
CUresult bf_sv_cuLinkDestroy(bf_sargs *s, void *fnp)
{
    CUlinkState st = (CUlinkState)bf_sh_get(s, bf_sa_u64(s));
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    CUresult r = ((CUresult (*)(CUlinkState))fnp)(st);
    if (r != CUDA_SUCCESS) return r;
    pthread_mutex_lock(&g_links_lock);
    for (link_logs **pp = &g_links; *pp; pp = &(*pp)->next)
        if ((*pp)->st == st) {
            link_logs *l = *pp;
            *pp = l->next;
            free(l->log[0]); free(l->log[1]); free(l);
            break;
        }
    pthread_mutex_unlock(&g_links_lock);
    return r;
}

CUresult bf_sv_cuModuleLoad(bf_sargs *s, void *fnp) { return load_image(s, "cuModuleLoadData", 0); }
CUresult bf_sv_cuModuleLoadData(bf_sargs *s, void *fnp) { return load_image(s, "cuModuleLoadData", 0); }
CUresult bf_sv_cuModuleLoadDataEx(bf_sargs *s, void *fnp) { return load_image(s, "cuModuleLoadData", 0); }
CUresult bf_sv_cuModuleLoadFatBinary(bf_sargs *s, void *fnp) { return load_image(s, "cuModuleLoadFatBinary", 0); }
CUresult bf_sv_cuLibraryLoadData(bf_sargs *s, void *fnp) { return load_image(s, "cuLibraryLoadData", 1); }
CUresult bf_sv_cuLibraryLoadFromFile(bf_sargs *s, void *fnp) { return load_image(s, "cuLibraryLoadData", 1); }

/* a: present, count, container -> reply a: tokens */
static CUresult enumerate(bf_sargs *s, void *fnp)
{
    int has = (int)bf_sa_u64(s);
    unsigned n = (unsigned)bf_sa_u64(s);
    void *cont = bf_sh_get(s, bf_sa_u64(s));
    if (s->bad || n > BF_SV_MAXR) return CUDA_ERROR_INVALID_VALUE;
    void *out[BF_SV_MAXR] = { 0 };
    CUresult r = ((CUresult (*)(void **, unsigned, void *))fnp)(has ? out : NULL, n, cont);
    for (unsigned i = 0; i < n; i++) bf_sr_u64(s, r == CUDA_SUCCESS ? bf_sh_put(s, out[i]) : 0);
    return r;
}
CUresult bf_sv_cuModuleEnumerateFunctions(bf_sargs *s, void *fnp) { return enumerate(s, fnp); }
CUresult bf_sv_cuLibraryEnumerateKernels(bf_sargs *s, void *fnp) { return enumerate(s, fnp); }

/* a: present, handle -> reply b: the name with its NUL */
static CUresult get_name(bf_sargs *s, void *fnp)
{
    int has = (int)bf_sa_u64(s);
    void *h = bf_sh_get(s, bf_sa_u64(s));
    const char *name = NULL;
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    CUresult r = ((CUresult (*)(const char **, void *))fnp)(has ? &name : NULL, h);
    if (r == CUDA_SUCCESS && name) bf_sr_bytes(s, name, strlen(name) + 1);
    return r;
}
CUresult bf_sv_cuFuncGetName(bf_sargs *s, void *fnp) { return get_name(s, fnp); }
CUresult bf_sv_cuKernelGetName(bf_sargs *s, void *fnp) { return get_name(s, fnp); }

/* ---- launches ----------------------------------------------------------------------------------- */
/* Parameters: a: mode (0 none, 1 kernelParams, 2 extra buffer), count, offsets...; b: the packed
 * buffer. Builds the kernelParams array or extra list into the caller's storage. */
typedef struct launch_params {
    void *kp[BF_SV_MAXR];
    void *extra[5];
    size_t size;
    int mode;
} launch_params;

static int read_params(bf_sargs *s, launch_params *lp)
{
    size_t n;
    lp->mode = (int)bf_sa_u64(s);
    unsigned cnt = (unsigned)bf_sa_u64(s);
    if (cnt > BF_SV_MAXR) { s->bad = 1; return -1; }
    uint64_t off[BF_SV_MAXR];
    for (unsigned i = 0; i < cnt; i++) off[i] = bf_sa_u64(s);
    uint8_t *buf = (uint8_t *)bf_sa_bytes(s, &n);
    if (s->bad) return -1;
    for (unsigned i = 0; i < cnt; i++) {
        if (off[i] > n) { s->bad = 1; return -1; }
        lp->kp[i] = buf + off[i];
    }
    lp->size = n;
    lp->extra[0] = CU_LAUNCH_PARAM_BUFFER_POINTER;
    lp->extra[1] = buf;
    lp->extra[2] = CU_LAUNCH_PARAM_BUFFER_SIZE;
    lp->extra[3] = &lp->size;
    lp->extra[4] = CU_LAUNCH_PARAM_END;
    return 0;
}

/* a: f, grid xyz, block xyz, smem, stream, params... */
static CUresult launch(bf_sargs *s, void *fnp, int coop)
{
    CUfunction f = (CUfunction)bf_sh_get(s, bf_sa_u64(s));
    unsigned d[7];
    launch_params lp;
    for (int i = 0; i < 7; i++) d[i] = (unsigned)bf_sa_u64(s);
    CUstream st = stream_arg(s);
    if (read_params(s, &lp) != 0) return CUDA_ERROR_INVALID_VALUE;
    void **kp = (lp.mode & 1) ? lp.kp : NULL;
    if (coop)
        return ((CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                              unsigned, CUstream, void **))fnp)(f, d[0], d[1], d[2], d[3], d[4], d[5],
                                                                d[6], st, kp);
    return ((CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                          unsigned, CUstream, void **, void **))fnp)(f, d[0], d[1], d[2], d[3], d[4],
                                                                     d[5], d[6], st, kp,
                                                                     (lp.mode & 2) ? lp.extra : NULL);
}

CUresult bf_sv_cuLaunchKernel(bf_sargs *s, void *fnp) { return launch(s, fnp, 0); }
CUresult bf_sv_cuLaunchCooperativeKernel(bf_sargs *s, void *fnp) { return launch(s, fnp, 1); }

/* a: f, grid xyz, block xyz, smem, stream, has_config, params...; b[0]: the attributes array */
CUresult bf_sv_cuLaunchKernelEx(bf_sargs *s, void *fnp)
{
    CUlaunchConfig cfg;
    launch_params lp;
    size_t n;
    CUfunction f = (CUfunction)bf_sh_get(s, bf_sa_u64(s));
    memset(&cfg, 0, sizeof cfg);
    cfg.gridDimX = (unsigned)bf_sa_u64(s); cfg.gridDimY = (unsigned)bf_sa_u64(s);
    cfg.gridDimZ = (unsigned)bf_sa_u64(s); cfg.blockDimX = (unsigned)bf_sa_u64(s);
    cfg.blockDimY = (unsigned)bf_sa_u64(s); cfg.blockDimZ = (unsigned)bf_sa_u64(s);
    cfg.sharedMemBytes = (unsigned)bf_sa_u64(s);
    cfg.hStream = stream_arg(s);
    int has_cfg = (int)bf_sa_u64(s);
    const void *attrs = bf_sa_bytes(s, &n);
    CUlaunchAttribute a[32];
    cfg.numAttrs = (unsigned)(n / sizeof(CUlaunchAttribute));
    if (cfg.numAttrs > 32) return CUDA_ERROR_INVALID_VALUE;
    if (n) memcpy(a, attrs, n);
    cfg.attrs = cfg.numAttrs ? a : NULL;
    for (unsigned i = 0; i < cfg.numAttrs; i++) {
        if (a[i].id == CU_LAUNCH_ATTRIBUTE_LAUNCH_COMPLETION_EVENT)
            a[i].value.launchCompletionEvent.event =
                (CUevent)bf_sh_get(s, (uint64_t)(uintptr_t)a[i].value.launchCompletionEvent.event);
        else if (a[i].id == CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_EVENT)
            a[i].value.programmaticEvent.event =
                (CUevent)bf_sh_get(s, (uint64_t)(uintptr_t)a[i].value.programmaticEvent.event);
    }
    if (read_params(s, &lp) != 0) return CUDA_ERROR_INVALID_VALUE;
    return ((CUresult (*)(const CUlaunchConfig *, CUfunction, void **, void **))fnp)(
        has_cfg ? &cfg : NULL, f, (lp.mode & 1) ? lp.kp : NULL, (lp.mode & 2) ? lp.extra : NULL);
}

/* ---- occupancy ---------------------------------------------------------------------------------- */
/* a: f, dynamicSMemSize, blockSizeLimit, flags -> reply a: minGridSize, blockSize */
static CUresult potential_block(bf_sargs *s, int with_flags)
{
    CUfunction f = (CUfunction)bf_sh_get(s, bf_sa_u64(s));
    size_t smem = (size_t)bf_sa_u64(s);
    int limit = (int)bf_sa_u64(s);
    unsigned flags = (unsigned)bf_sa_u64(s);
    int has_min = (int)bf_sa_u64(s), has_bs = (int)bf_sa_u64(s);
    int mg = 0, bs = 0;
    CUresult r;
    if (s->bad) return CUDA_ERROR_INVALID_VALUE;
    void *fn = bf_sv_sym(s, "cuOccupancyMaxPotentialBlockSizeWithFlags");
    if (!fn) return CUDA_ERROR_NOT_SUPPORTED;
    r = ((CUresult (*)(int *, int *, CUfunction, CUoccupancyB2DSize, size_t, int, unsigned))fn)(
        has_min ? &mg : NULL, has_bs ? &bs : NULL, f, NULL, smem, limit, with_flags ? flags : 0);
    bf_sr_u64(s, (uint64_t)(int64_t)mg);
    bf_sr_u64(s, (uint64_t)(int64_t)bs);
    return r;
}
CUresult bf_sv_cuOccupancyMaxPotentialBlockSize(bf_sargs *s, void *fnp) { return potential_block(s, 0); }
CUresult bf_sv_cuOccupancyMaxPotentialBlockSizeWithFlags(bf_sargs *s, void *fnp) { return potential_block(s, 1); }

/* a: f, grid xyz, block xyz, smem, stream, has_config; b[0]: attributes -> reply a: value */
static CUresult cluster_query(bf_sargs *s, void *fnp)
{
    CUlaunchConfig cfg;
    size_t n;
    int v = 0;
    CUfunction f = (CUfunction)bf_sh_get(s, bf_sa_u64(s));
    memset(&cfg, 0, sizeof cfg);
    cfg.gridDimX = (unsigned)bf_sa_u64(s); cfg.gridDimY = (unsigned)bf_sa_u64(s);
    cfg.gridDimZ = (unsigned)bf_sa_u64(s); cfg.blockDimX = (unsigned)bf_sa_u64(s);
    cfg.blockDimY = (unsigned)bf_sa_u64(s); cfg.blockDimZ = (unsigned)bf_sa_u64(s);
    cfg.sharedMemBytes = (unsigned)bf_sa_u64(s);
    cfg.hStream = stream_arg(s);
    int has_cfg = (int)bf_sa_u64(s), has_out = (int)bf_sa_u64(s);
    const void *attrs = bf_sa_bytes(s, &n);
    CUlaunchAttribute a[32];
    cfg.numAttrs = (unsigned)(n / sizeof(CUlaunchAttribute));
    if (s->bad || cfg.numAttrs > 32) return CUDA_ERROR_INVALID_VALUE;
    if (n) memcpy(a, attrs, n);
    cfg.attrs = cfg.numAttrs ? a : NULL;
    CUresult r = ((CUresult (*)(int *, CUfunction, const CUlaunchConfig *))fnp)(
        has_out ? &v : NULL, f, has_cfg ? &cfg : NULL);
    bf_sr_u64(s, (uint64_t)(int64_t)v);
    return r;
}
CUresult bf_sv_cuOccupancyMaxActiveClusters(bf_sargs *s, void *fnp) { return cluster_query(s, fnp); }
CUresult bf_sv_cuOccupancyMaxPotentialClusterSize(bf_sargs *s, void *fnp) { return cluster_query(s, fnp); }

/* -> reply a: the backend driver's version */
CUresult bf_sv_cuDriverGetVersion(bf_sargs *s, void *fnp)
{
    int v = 0;
    CUresult r = ((CUresult (*)(int *))fnp)(&v);
    bf_sr_u64(s, (uint64_t)v);
    return r;
}

/* a: pctx present, params present, flags, dev; b: params, affinity array, CIG params -> a: token */
CUresult bf_sv_cuCtxCreate(bf_sargs *s, void *fnp)
{
    CUctxCreateParams p;
    CUexecAffinityParam aff[8];
    CUctxCigParam cig;
    size_t na, nc;
    int has_ctx = (int)bf_sa_u64(s), has_p = (int)bf_sa_u64(s);
    unsigned flags = (unsigned)bf_sa_u64(s);
    CUdevice dev = (CUdevice)(int64_t)bf_sa_u64(s);
    bf_sa_struct(s, &p, sizeof p);
    const void *a = bf_sa_bytes(s, &na);
    const void *cg = bf_sa_bytes(s, &nc);
    if (s->bad || na > sizeof aff) return CUDA_ERROR_INVALID_VALUE;
    if (na) memcpy(aff, a, na);
    if (nc) memcpy(&cig, cg, nc < sizeof cig ? nc : sizeof cig);
    p.execAffinityParams = na ? aff : NULL;           /* a count without an array stays refused */
    p.cigParams = nc ? &cig : NULL;
    CUcontext ctx = NULL;
    CUresult r = ((CUresult (*)(CUcontext *, CUctxCreateParams *, unsigned, CUdevice))fnp)(
        has_ctx ? &ctx : NULL, has_p ? &p : NULL, flags, dev);
    bf_sr_u64(s, r == CUDA_SUCCESS ? bf_sh_put(s, ctx) : 0);
    return r;
}

/* a: flags */
CUresult bf_sv_cuInit(bf_sargs *s, void *fnp)
{
    unsigned flags = (unsigned)bf_sa_u64(s);
    return s->bad ? CUDA_ERROR_INVALID_VALUE : ((CUresult (*)(unsigned))fnp)(flags);
}
