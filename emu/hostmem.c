/* hostmem.c: page-locked and registered host memory: cuMemAllocHost, cuMemHostAlloc,
 * cuMemFreeHost, cuMemHostRegister/Unregister, cuMemHostGetDevicePointer, cuMemHostGetFlags.
 * With unified addressing such memory is device-accessible at the same address, so every range
 * is entered in the range table (memory.c) and kernels and copies may use it directly. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mem_internal.h"

#define HOSTALLOC_FLAGS (CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED)
#define HOSTREGISTER_FLAGS (CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP | \
                            CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY)
#define HOST_ORIGINS (MEM_ORIGIN_BIT(MEM_ORIGIN_HOST_ALLOC) | MEM_ORIGIN_BIT(MEM_ORIGIN_HOST_REGISTER))

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* Maps fresh page-locked-looking memory (plain anonymous pages) and registers it. */
static CUresult host_alloc(emu_ctx *ctx, size_t bytesize, unsigned flags, void **pp)
{
    size_t pg = page_size();
    if (bytesize > SIZE_MAX - pg)
        return CUDA_ERROR_OUT_OF_MEMORY;
    size_t mapped = (bytesize + pg - 1) & ~(pg - 1);
    void *p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return CUDA_ERROR_OUT_OF_MEMORY;
    mem_rec *r = mem_rec_new();
    if (!r) {
        munmap(p, mapped);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    r->base = (uint64_t)(uintptr_t)p;
    r->size = bytesize;
    r->kind = EMU_MEM_HOST;
    r->origin = MEM_ORIGIN_HOST_ALLOC;
    r->ctx = ctx;
    r->device = ctx->dev->ordinal;
    r->flags = flags;
    r->block = r->base;
    r->block_size = mapped;
    if (mem_table_insert(r) != 0) {
        munmap(p, mapped);
        free(r);
        return CUDA_ERROR_UNKNOWN;
    }
    *pp = p;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pp || bytesize == 0 || (Flags & ~HOSTALLOC_FLAGS))
        return CUDA_ERROR_INVALID_VALUE;
    return host_alloc(ctx, bytesize, Flags, pp);
}

EMU_API CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pp || bytesize == 0)
        return CUDA_ERROR_INVALID_VALUE;
    return host_alloc(ctx, bytesize, 0, pp);
}

/* cuMemFreeHost: waits for the owning context's queued work (which may still copy to or from the
 * buffer), then unmaps it. */
EMU_API CUresult cuMemFreeHost(void *p)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!p)
        return CUDA_SUCCESS;
    return mem_free_range((uint64_t)(uintptr_t)p, MEM_ORIGIN_BIT(MEM_ORIGIN_HOST_ALLOC), 1, ctx);
}

/* Is [p, p+len) mapped host memory? msync fails with ENOMEM on an unmapped page. */
static int host_range_mapped(const void *p, size_t len)
{
    size_t pg = page_size();
    uintptr_t lo = (uintptr_t)p & ~(uintptr_t)(pg - 1);
    uintptr_t hi = ((uintptr_t)p + len + pg - 1) & ~(uintptr_t)(pg - 1);
    return msync((void *)lo, hi - lo, MS_ASYNC) == 0;
}

EMU_API CUresult cuMemHostRegister_v2(void *p, size_t bytesize, unsigned int Flags)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!p || bytesize == 0 || (Flags & ~HOSTREGISTER_FLAGS) ||
        (uintptr_t)p + bytesize < (uintptr_t)p)
        return CUDA_ERROR_INVALID_VALUE;
    if (mem_in_device_va((uint64_t)(uintptr_t)p, bytesize))
        return CUDA_ERROR_INVALID_VALUE;
    if (!host_range_mapped(p, bytesize))
        return CUDA_ERROR_INVALID_VALUE;
    mem_rec *r = mem_rec_new();
    if (!r)
        return CUDA_ERROR_OUT_OF_MEMORY;
    r->base = (uint64_t)(uintptr_t)p;
    r->size = bytesize;
    r->kind = EMU_MEM_REGISTERED;
    r->origin = MEM_ORIGIN_HOST_REGISTER;
    r->ctx = ctx;
    r->device = ctx->dev->ordinal;
    r->flags = Flags;
    if (mem_table_insert(r) != 0) {
        free(r);
        return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
    }
    return CUDA_SUCCESS;
}

/* The pre-4.0 entry point (same signature), still exported by the real driver. */
EMU_API CUresult cuMemHostRegister_v1_entry(void *p, size_t bytesize, unsigned int Flags)
    __asm__("cuMemHostRegister");
EMU_API CUresult cuMemHostRegister_v1_entry(void *p, size_t bytesize, unsigned int Flags)
{
    return cuMemHostRegister_v2(p, bytesize, Flags);
}

EMU_API CUresult cuMemHostUnregister(void *p)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    mem_rec *r = mem_table_claim((uint64_t)(uintptr_t)p, MEM_ORIGIN_BIT(MEM_ORIGIN_HOST_REGISTER), 0, 0);
    if (!r)
        return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
    mem_rec_destroy(r);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *pdptr, void *p, unsigned int Flags)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pdptr || !p || Flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    mem_rec r;
    if (!mem_table_find((uint64_t)(uintptr_t)p, &r) || !(HOST_ORIGINS & MEM_ORIGIN_BIT(r.origin)))
        return CUDA_ERROR_INVALID_VALUE;
    *pdptr = (CUdeviceptr)(uintptr_t)p;   /* unified addressing: the same address */
    return CUDA_SUCCESS;
}

/* With unified addressing all page-locked memory is portable and mapped, which the flags show. */
EMU_API CUresult cuMemHostGetFlags(unsigned int *pFlags, void *p)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pFlags || !p)
        return CUDA_ERROR_INVALID_VALUE;
    mem_rec r;
    if (!mem_table_find((uint64_t)(uintptr_t)p, &r) || !(HOST_ORIGINS & MEM_ORIGIN_BIT(r.origin)))
        return CUDA_ERROR_INVALID_VALUE;
    unsigned f = r.flags | CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP;
    if (r.origin == MEM_ORIGIN_HOST_REGISTER)
        f = r.flags | CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP;
    *pFlags = f;
    return CUDA_SUCCESS;
}
