/* memcpy.c: copies whose host side lives on the client (owner: shim/). HtoD data travels in the
 * call (async: copied into the frame at call time, so the caller may reuse its buffer at once);
 * DtoH data comes back in the reply (async: the receiver fills the buffer when the stream reaches
 * the copy on the server, before any later synchronisation returns). Transfers over BF_CHUNK are
 * split. Generic copies (cuMemcpy, UNIFIED 2D/3D) ask the server which side each pointer is on.
 * Host memory (cuMemAllocHost, cuMemHostAlloc, cuMemHostRegister) is plain client memory. An async
 * copy waits for its reply when the driver could refuse it at the call (a stream not seen valid in
 * this context, a device range outside the allocations memtrack.c knows). Batched copies
 * (cuMemcpyBatchAsync, cuMemcpy3DBatchAsync) are memcpy_batch.c's, with bf_mem_classify and
 * bf_host_mapped from here. */
#include "rpc.h"
#include "bf_calls.h"
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PTDS 1
#define PTSZ 2

static CUresult htod(int fl, CUdeviceptr dst, const void *src, size_t n, int async, CUstream st)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!src && n) return CUDA_ERROR_INVALID_VALUE;
    size_t off = 0;
    do {
        size_t k = n - off < BF_CHUNK ? n - off : BF_CHUNK;
        bf_call c;
        bf_call_init(&c, (async ? BF_FN_cuMemcpyHtoDAsync : BF_FN_cuMemcpyHtoD) | (uint32_t)fl << 16,
                     async && bf_token_async_ok((uint64_t)(uintptr_t)st) && bf_mem_in(dst + off, k));
        bf_put(&c, dst + off);
        if (async) bf_put(&c, (uint64_t)(uintptr_t)st);
        bf_put_bytes(&c, (const char *)src + off, k);
        CUresult r = bf_invoke(&c);
        bf_call_done(&c);
        if (r != CUDA_SUCCESS) return r;
        off += k;
    } while (off < n);
    return CUDA_SUCCESS;
}

static CUresult dtoh(int fl, void *dst, CUdeviceptr src, size_t n, int async, CUstream st)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!dst && n) return CUDA_ERROR_INVALID_VALUE;
    size_t off = 0;
    do {
        size_t k = n - off < BF_CHUNK ? n - off : BF_CHUNK;
        bf_call c;
        int really_async = async && bf_token_async_ok((uint64_t)(uintptr_t)st) && bf_mem_in(src + off, k);
        bf_call_init(&c, (async ? BF_FN_cuMemcpyDtoHAsync : BF_FN_cuMemcpyDtoH) | (uint32_t)fl << 16,
                     really_async);
        bf_put(&c, src + off);
        bf_put(&c, k);
        if (async) bf_put(&c, (uint64_t)(uintptr_t)st);
        if (really_async) { c.sink = (char *)dst + off; c.sink_len = k; }
        CUresult r = bf_invoke(&c);
        if (r == CUDA_SUCCESS && !really_async) bf_get_bytes(&c, (char *)dst + off, k);
        bf_call_done(&c);
        if (r != CUDA_SUCCESS) return r;
        off += k;
    } while (off < n);
    return CUDA_SUCCESS;
}

BF_API CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr d, const void *s, size_t n) { return htod(0, d, s, n, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpyDtoH(void *d, CUdeviceptr s, size_t n) { return dtoh(0, d, s, n, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpyHtoDAsync(CUdeviceptr d, const void *s, size_t n, CUstream st) { return htod(0, d, s, n, 1, st); }
BF_API CUresult CUDAAPI cuMemcpyDtoHAsync(void *d, CUdeviceptr s, size_t n, CUstream st) { return dtoh(0, d, s, n, 1, st); }
BF_API CUresult CUDAAPI cuMemcpyHtoD_v2_ptds(CUdeviceptr d, const void *s, size_t n);
BF_API CUresult CUDAAPI cuMemcpyHtoD_v2_ptds(CUdeviceptr d, const void *s, size_t n) { return htod(PTDS, d, s, n, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpyDtoH_v2_ptds(void *d, CUdeviceptr s, size_t n);
BF_API CUresult CUDAAPI cuMemcpyDtoH_v2_ptds(void *d, CUdeviceptr s, size_t n) { return dtoh(PTDS, d, s, n, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr d, const void *s, size_t n, CUstream st);
BF_API CUresult CUDAAPI cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr d, const void *s, size_t n, CUstream st) { return htod(PTSZ, d, s, n, 1, st); }
BF_API CUresult CUDAAPI cuMemcpyDtoHAsync_v2_ptsz(void *d, CUdeviceptr s, size_t n, CUstream st);
BF_API CUresult CUDAAPI cuMemcpyDtoHAsync_v2_ptsz(void *d, CUdeviceptr s, size_t n, CUstream st) { return dtoh(PTSZ, d, s, n, 1, st); }

/* ---- generic copies ------------------------------------------------------------------------------ */
CUresult bf_mem_classify(CUdeviceptr a, CUdeviceptr b, unsigned *ta, unsigned *tb)
{
    bf_call c;
    bf_call_init(&c, BF_FN_bfMemClassify, 0);
    bf_put(&c, a);
    bf_put(&c, b);
    CUresult r = bf_invoke(&c);
    *ta = (unsigned)bf_get(&c);
    *tb = (unsigned)bf_get(&c);
    bf_call_done(&c);
    return r;
}

static CUresult dtod(int fl, CUdeviceptr d, CUdeviceptr s, size_t n, int async, CUstream st)
{
    bf_call c;
    bf_call_init(&c, (async ? BF_FN_cuMemcpyDtoDAsync : BF_FN_cuMemcpyDtoD) | (uint32_t)fl << 16,
                 async && bf_token_async_ok((uint64_t)(uintptr_t)st) && bf_mem_in(d, n) && bf_mem_in(s, n));
    bf_put(&c, d);
    bf_put(&c, s);
    bf_put(&c, n);
    if (async) bf_put(&c, (uint64_t)(uintptr_t)st);
    CUresult r = bf_invoke(&c);
    bf_call_done(&c);
    return r;
}

/* Is [p, p+n) mapped in this process? (a pointer the server does not know is taken as client
 * memory only when it is) */
int bf_host_mapped(uintptr_t p, size_t n)
{
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t lo = p & ~(uintptr_t)(pg - 1), hi = (p + (n ? n : 1) + pg - 1) & ~(uintptr_t)(pg - 1);
    unsigned char vec[64];
    for (uintptr_t a = lo; a < hi; a += 64 * (uintptr_t)pg) {
        size_t len = hi - a < 64 * (size_t)pg ? hi - a : 64 * (size_t)pg;
        if (mincore((void *)a, len, vec) != 0) return 0;
    }
    return 1;
}

static CUresult generic(int fl, CUdeviceptr d, CUdeviceptr s, size_t n, int async, CUstream st)
{
    unsigned td, ts;
    if (!bf_connected()) return bf_not_connected_result();
    CUresult r = bf_mem_classify(d, s, &td, &ts);
    if (r != CUDA_SUCCESS) return r;
    int dh = td != CU_MEMORYTYPE_DEVICE, sh = ts != CU_MEMORYTYPE_DEVICE;
    if (n && ((dh && !bf_host_mapped(d, n)) || (sh && !bf_host_mapped(s, n)))) return CUDA_ERROR_INVALID_VALUE;
    if (dh && sh) {
        if (async && st) { r = cuStreamSynchronize(st); if (r) return r; }
        memmove((void *)(uintptr_t)d, (const void *)(uintptr_t)s, n);
        return CUDA_SUCCESS;
    }
    if (dh) return dtoh(fl, (void *)(uintptr_t)d, s, n, async, st);
    if (sh) return htod(fl, d, (const void *)(uintptr_t)s, n, async, st);
    return dtod(fl, d, s, n, async, st);
}

BF_API CUresult CUDAAPI cuMemcpy(CUdeviceptr d, CUdeviceptr s, size_t n) { return generic(0, d, s, n, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpyAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) { return generic(0, d, s, n, 1, st); }
BF_API CUresult CUDAAPI cuMemcpy_ptds(CUdeviceptr d, CUdeviceptr s, size_t n);
BF_API CUresult CUDAAPI cuMemcpy_ptds(CUdeviceptr d, CUdeviceptr s, size_t n) { return generic(PTDS, d, s, n, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpyAsync_ptsz(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st);
BF_API CUresult CUDAAPI cuMemcpyAsync_ptsz(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) { return generic(PTSZ, d, s, n, 1, st); }

/* ---- 2D / 3D ------------------------------------------------------------------------------------- */
/* Resolves UNIFIED to HOST or DEVICE. */
static CUresult resolve_types(CUmemorytype *st, CUdeviceptr sp, CUmemorytype *dt, CUdeviceptr dp)
{
    if (*st != CU_MEMORYTYPE_UNIFIED && *dt != CU_MEMORYTYPE_UNIFIED) return CUDA_SUCCESS;
    unsigned ts, td;
    CUresult r = bf_mem_classify(sp, dp, &ts, &td);
    if (r != CUDA_SUCCESS) return r;
    if (*st == CU_MEMORYTYPE_UNIFIED) *st = ts == CU_MEMORYTYPE_DEVICE ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
    if (*dt == CU_MEMORYTYPE_UNIFIED) *dt = td == CU_MEMORYTYPE_DEVICE ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
    return CUDA_SUCCESS;
}

/* rows of w bytes: row r of slice z at base + (z*height + y + r) * pitch + x */
static void gather(uint8_t *out, const uint8_t *base, size_t x, size_t y, size_t z, size_t pitch,
                   size_t height, size_t w, size_t h, size_t depth, int scatter)
{
    for (size_t k = 0; k < depth; k++)
        for (size_t r = 0; r < h; r++) {
            uint8_t *host = (uint8_t *)base + ((z + k) * height + y + r) * pitch + x;
            uint8_t *pk = out + (k * h + r) * w;
            if (scatter) memcpy(host, pk, w); else memcpy(pk, host, w);
        }
}

static CUresult copy3d(uint32_t fn, int fl, CUDA_MEMCPY3D m, int async, CUstream st)
{
    if (!bf_connected()) return bf_not_connected_result();
    CUresult r = resolve_types(&m.srcMemoryType, m.srcDevice, &m.dstMemoryType, m.dstDevice);
    if (r != CUDA_SUCCESS) return r;
    int sh = m.srcMemoryType == CU_MEMORYTYPE_HOST, dh = m.dstMemoryType == CU_MEMORYTYPE_HOST;
    size_t w = m.WidthInBytes, h = m.Height, d = m.Depth ? m.Depth : 1, total = w * h * d;
    if (total > BF_MAX_FRAME - 4096) return CUDA_ERROR_NOT_SUPPORTED;
    const uint8_t *shost = m.srcMemoryType == CU_MEMORYTYPE_UNIFIED ? (const uint8_t *)(uintptr_t)m.srcDevice : m.srcHost;
    uint8_t *dhost = m.dstMemoryType == CU_MEMORYTYPE_UNIFIED ? (uint8_t *)(uintptr_t)m.dstDevice : m.dstHost;
    if (sh && !m.srcHost && m.srcDevice) shost = (const uint8_t *)(uintptr_t)m.srcDevice;
    if (dh && !m.dstHost && m.dstDevice) dhost = (uint8_t *)(uintptr_t)m.dstDevice;
    if ((sh && !shost) || (dh && !dhost)) return CUDA_ERROR_INVALID_VALUE;
    uint8_t *pk = NULL;
    if (sh) {
        pk = malloc(total ? total : 1);
        if (!pk) return CUDA_ERROR_OUT_OF_MEMORY;
        gather(pk, shost, m.srcXInBytes, m.srcY, m.srcZ, m.srcPitch ? m.srcPitch : w,
               m.srcHeight ? m.srcHeight : h, w, h, d, 0);
    }
    bf_call c;
    int really_async = async && bf_token_async_ok((uint64_t)(uintptr_t)st) && !dh;
    bf_call_init(&c, fn | (uint32_t)fl << 16, really_async);
    bf_put(&c, dh);
    bf_put(&c, sh);
    if (async) bf_put(&c, (uint64_t)(uintptr_t)st);
    bf_put_bytes(&c, &m, sizeof m);
    bf_put_bytes(&c, pk, sh ? total : 0);
    r = bf_invoke(&c);
    if (r == CUDA_SUCCESS && dh) {
        size_t n;
        const uint8_t *data = bf_get_bytes_ref(&c, &n);
        if (data && n >= total)
            gather((uint8_t *)data, dhost, m.dstXInBytes, m.dstY, m.dstZ, m.dstPitch ? m.dstPitch : w,
                   m.dstHeight ? m.dstHeight : h, w, h, d, 1);
    }
    bf_call_done(&c);
    free(pk);
    return r;
}

static CUDA_MEMCPY3D from2d(const CUDA_MEMCPY2D *p)
{
    CUDA_MEMCPY3D m;
    memset(&m, 0, sizeof m);
    m.srcXInBytes = p->srcXInBytes; m.srcY = p->srcY; m.srcMemoryType = p->srcMemoryType;
    m.srcHost = p->srcHost; m.srcDevice = p->srcDevice; m.srcArray = p->srcArray; m.srcPitch = p->srcPitch;
    m.dstXInBytes = p->dstXInBytes; m.dstY = p->dstY; m.dstMemoryType = p->dstMemoryType;
    m.dstHost = p->dstHost; m.dstDevice = p->dstDevice; m.dstArray = p->dstArray; m.dstPitch = p->dstPitch;
    m.WidthInBytes = p->WidthInBytes; m.Height = p->Height; m.Depth = 1;
    return m;
}

/* 2D copies go as 3D ones of depth 1 (the server runs cuMemcpy3D), which checks the same things. */
static CUresult copy2d(int fl, const CUDA_MEMCPY2D *p, int async, CUstream st)
{
    if (!p) return CUDA_ERROR_INVALID_VALUE;
    return copy3d(async ? BF_FN_cuMemcpy3DAsync : BF_FN_cuMemcpy3D, fl, from2d(p), async, st);
}

static CUresult copy3d_user(int fl, const CUDA_MEMCPY3D *p, int async, CUstream st)
{
    if (!p) return CUDA_ERROR_INVALID_VALUE;
    return copy3d(async ? BF_FN_cuMemcpy3DAsync : BF_FN_cuMemcpy3D, fl, *p, async, st);
}

BF_API CUresult CUDAAPI cuMemcpy2D(const CUDA_MEMCPY2D *p) { return copy2d(0, p, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpy2DUnaligned(const CUDA_MEMCPY2D *p) { return copy2d(0, p, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpy2DAsync(const CUDA_MEMCPY2D *p, CUstream s) { return copy2d(0, p, 1, s); }
BF_API CUresult CUDAAPI cuMemcpy3D(const CUDA_MEMCPY3D *p) { return copy3d_user(0, p, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpy3DAsync(const CUDA_MEMCPY3D *p, CUstream s) { return copy3d_user(0, p, 1, s); }
BF_API CUresult CUDAAPI cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D *p);
BF_API CUresult CUDAAPI cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D *p) { return copy2d(PTDS, p, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpy2DUnaligned_v2_ptds(const CUDA_MEMCPY2D *p);
BF_API CUresult CUDAAPI cuMemcpy2DUnaligned_v2_ptds(const CUDA_MEMCPY2D *p) { return copy2d(PTDS, p, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpy2DAsync_v2_ptsz(const CUDA_MEMCPY2D *p, CUstream s);
BF_API CUresult CUDAAPI cuMemcpy2DAsync_v2_ptsz(const CUDA_MEMCPY2D *p, CUstream s) { return copy2d(PTSZ, p, 1, s); }
BF_API CUresult CUDAAPI cuMemcpy3D_v2_ptds(const CUDA_MEMCPY3D *p);
BF_API CUresult CUDAAPI cuMemcpy3D_v2_ptds(const CUDA_MEMCPY3D *p) { return copy3d_user(PTDS, p, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpy3DAsync_v2_ptsz(const CUDA_MEMCPY3D *p, CUstream s);
BF_API CUresult CUDAAPI cuMemcpy3DAsync_v2_ptsz(const CUDA_MEMCPY3D *p, CUstream s) { return copy3d_user(PTSZ, p, 1, s); }

/* ---- peer 3D: device sides go as they are (contexts as tokens, mapped by the server); a host side
 * makes it an ordinary 3D copy (host memory is the client's, in no context) ------------------------ */
static CUresult copy3d_peer(int fl, const CUDA_MEMCPY3D_PEER *p, int async, CUstream st)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!p) return CUDA_ERROR_INVALID_VALUE;
    CUmemorytype stp = p->srcMemoryType, dtp = p->dstMemoryType;
    CUresult r = resolve_types(&stp, p->srcDevice, &dtp, p->dstDevice);
    if (r != CUDA_SUCCESS) return r;
    if (stp == CU_MEMORYTYPE_HOST || dtp == CU_MEMORYTYPE_HOST) {
        CUDA_MEMCPY3D m;
        memset(&m, 0, sizeof m);
        m.srcXInBytes = p->srcXInBytes; m.srcY = p->srcY; m.srcZ = p->srcZ; m.srcLOD = p->srcLOD;
        m.srcMemoryType = p->srcMemoryType; m.srcHost = p->srcHost; m.srcDevice = p->srcDevice;
        m.srcArray = p->srcArray; m.srcPitch = p->srcPitch; m.srcHeight = p->srcHeight;
        m.dstXInBytes = p->dstXInBytes; m.dstY = p->dstY; m.dstZ = p->dstZ; m.dstLOD = p->dstLOD;
        m.dstMemoryType = p->dstMemoryType; m.dstHost = p->dstHost; m.dstDevice = p->dstDevice;
        m.dstArray = p->dstArray; m.dstPitch = p->dstPitch; m.dstHeight = p->dstHeight;
        m.WidthInBytes = p->WidthInBytes; m.Height = p->Height; m.Depth = p->Depth;
        return copy3d(async ? BF_FN_cuMemcpy3DAsync : BF_FN_cuMemcpy3D, fl, m, async, st);
    }
    bf_call c;
    bf_call_init(&c, (async ? BF_FN_cuMemcpy3DPeerAsync : BF_FN_cuMemcpy3DPeer) | (uint32_t)fl << 16, 0);
    if (async) bf_put(&c, (uint64_t)(uintptr_t)st);
    bf_put_bytes(&c, p, sizeof *p);
    r = bf_invoke(&c);
    bf_call_done(&c);
    return r;
}

BF_API CUresult CUDAAPI cuMemcpy3DPeer(const CUDA_MEMCPY3D_PEER *p) { return copy3d_peer(0, p, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpy3DPeerAsync(const CUDA_MEMCPY3D_PEER *p, CUstream s) { return copy3d_peer(0, p, 1, s); }
BF_API CUresult CUDAAPI cuMemcpy3DPeer_ptds(const CUDA_MEMCPY3D_PEER *p);
BF_API CUresult CUDAAPI cuMemcpy3DPeer_ptds(const CUDA_MEMCPY3D_PEER *p) { return copy3d_peer(PTDS, p, 0, NULL); }
BF_API CUresult CUDAAPI cuMemcpy3DPeerAsync_ptsz(const CUDA_MEMCPY3D_PEER *p, CUstream s);
BF_API CUresult CUDAAPI cuMemcpy3DPeerAsync_ptsz(const CUDA_MEMCPY3D_PEER *p, CUstream s) { return copy3d_peer(PTSZ, p, 1, s); }
