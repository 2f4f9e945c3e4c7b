/* export_cudart.c: the cudart interface table {6bd5fb6c-5bf4-e74a-8987-d93912fd9df9}, through
 * which the runtime loads the fatbins that __cudaRegisterFatBinary registered and reaches the
 * primary contexts:
 *   slot 0   size of the table in bytes
 *   slot 1   get_module_from_cubin(CUmodule *mod, const fatbin wrapper *w)
 *   slot 2   get_primary_context(CUcontext *ctx, CUdevice dev)
 *   slot 6   get_module_from_cubin_ext1(CUmodule *mod, const fatbin wrapper *w, void *a3, void *a4, unsigned a5)
 *   slot 7   fn7(size_t)                   (no observable effect; succeeds)
 *   slot 8   get_module_from_cubin_ext2(const fatbin header *h, CUmodule *mod, void *a3, void *a4, unsigned a5)
 *   slot 12  load_compilers(void)          (succeeds)
 * A fatbin wrapper is {u32 magic 0x466243b1, u32 version, const void *fatbin, void *unused}; both
 * it and a bare fatbin header are images the driver's cuModuleLoadData takes. Other slots are the
 * logging stubs of export_tables.c. Owns only this table. */
#include "export_tables.h"
#include <stdint.h>
#include <string.h>

#define FATBINC_MAGIC 0x466243b1u
#define FATBIN_MAGIC  0xba55ed50u

static CUresult load_image(CUmodule *mod, const void *image, const char *how)
{
    if (!mod || !image)
        return CUDA_ERROR_INVALID_VALUE;
    const bf_export_ops *ops = bf_export_driver;
    CUresult rc = ops->module_load_data(mod, image);
    BF_EXPORT_DEBUG("export table cudart: %s(%p) -> %d", how, image, (int)rc);
    return rc;
}

static CUresult check_wrapper(const void *w)
{
    uint32_t magic;
    if (!w)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(&magic, w, sizeof magic);
    if (magic != FATBINC_MAGIC) {
        BF_EXPORT_LOG("export table cudart: fatbin wrapper with magic 0x%08x refused", magic);
        return CUDA_ERROR_INVALID_IMAGE;
    }
    return CUDA_SUCCESS;
}

static CUresult get_module_from_cubin(CUmodule *mod, const void *wrapper)
{
    CUresult rc = check_wrapper(wrapper);
    return rc != CUDA_SUCCESS ? rc : load_image(mod, wrapper, "get_module_from_cubin");
}

static CUresult get_primary_context(CUcontext *pctx, CUdevice dev)
{
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = bf_export_driver->primary_ctx_retain(pctx, dev);
    BF_EXPORT_DEBUG("export table cudart: get_primary_context(%d) -> %d", dev, (int)rc);
    return rc;
}

static CUresult get_module_from_cubin_ext1(CUmodule *mod, const void *wrapper, void *a3, void *a4,
                                           unsigned a5)
{
    if (a3 || a4)
        BF_EXPORT_DEBUG("export table cudart: ext1 with extra arguments %p %p %u", a3, a4, a5);
    CUresult rc = check_wrapper(wrapper);
    return rc != CUDA_SUCCESS ? rc : load_image(mod, wrapper, "get_module_from_cubin_ext1");
}

static CUresult cudart_fn7(size_t arg)
{
    BF_EXPORT_DEBUG("export table cudart: fn7(%zu)", arg);
    return CUDA_SUCCESS;
}

static CUresult get_module_from_cubin_ext2(const void *header, CUmodule *mod, void *a3, void *a4,
                                           unsigned a5)
{
    if (a3 || a4 || a5)
        BF_EXPORT_DEBUG("export table cudart: ext2 with extra arguments %p %p %u", a3, a4, a5);
    if (!header)
        return CUDA_ERROR_INVALID_VALUE;
    uint32_t magic;
    memcpy(&magic, header, sizeof magic);
    if (magic != FATBIN_MAGIC && magic != FATBINC_MAGIC) {
        BF_EXPORT_LOG("export table cudart: fatbin with magic 0x%08x refused", magic);
        return CUDA_ERROR_INVALID_IMAGE;
    }
    return load_image(mod, header, "get_module_from_cubin_ext2");
}

static CUresult load_compilers(void)
{
    return CUDA_SUCCESS;
}

void *bf_export_cudart_interface[] = {
    [0] = BF_EXPORT_SIZE_OF(13),
    [1] = (void *)get_module_from_cubin,
    [2] = (void *)get_primary_context,
    [6] = (void *)get_module_from_cubin_ext1,
    [7] = (void *)cudart_fn7,
    [8] = (void *)get_module_from_cubin_ext2,
    [12] = (void *)load_compilers,
};
const int bf_export_cudart_interface_len = 13;
