/* link.c: the linker (cuLinkCreate/AddData/AddFile/Complete/Destroy) and its output format. Each
 * input is reduced to PTX texts and parsed on its own as it is added (so errors surface at
 * cuLinkAddData as in CUDA); cuLinkComplete emits a "cubin" of our own format (magic + PTX texts)
 * that module.c's loaders recognise through emu_link_blob_is/emu_link_blob_parse. Shares the PTX
 * parts, JIT option and file helpers of module.c through module_internal.h. */
#include "emu.h"
#include "module_internal.h"
#include "ptx.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_MAGIC    0x4c696e6bu
#define BLOB_MAGIC    "BFEMUPTX"       /* the linker's output: see blob_build */
#define BLOB_VERSION  1u
#define BLOB_MAX_PARTS 4096u

/* ---- the linker's output format ----------------------------------------------------------- *
 * "BFEMUPTX", u32 version, u32 part count, then per part: u64 length, the text, a NUL, zero
 * padding to 8 bytes. */
static size_t pad8(size_t v) { return (v + 7) & ~(size_t)7; }

int emu_link_blob_is(const void *image)
{
    const char *p = image;
    for (int i = 0; i < 8; i++)
        if (p[i] != BLOB_MAGIC[i])
            return 0;
    return 1;
}

static CUresult blob_build(const ptx_parts *p, char **out, size_t *out_size)
{
    size_t size = 16;
    for (int i = 0; i < p->n; i++)
        size += 8 + pad8(p->len[i] + 1);
    char *b = calloc(1, size);
    if (!b)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(b, BLOB_MAGIC, 8);
    uint32_t hdr[2] = { BLOB_VERSION, (uint32_t)p->n };
    memcpy(b + 8, hdr, sizeof hdr);
    size_t off = 16;
    for (int i = 0; i < p->n; i++) {
        uint64_t len = p->len[i];
        memcpy(b + off, &len, 8);
        memcpy(b + off + 8, p->text[i], p->len[i]);
        off += 8 + pad8(p->len[i] + 1);
    }
    *out = b;
    *out_size = size;
    return CUDA_SUCCESS;
}

/* size 0: unknown, the headers are trusted within sane limits. */
CUresult emu_link_blob_parse(const char *b, size_t size, ptx_parts *out, char *err, size_t errlen)
{
    uint32_t hdr[2];
    memcpy(hdr, b + 8, sizeof hdr);
    if (hdr[0] != BLOB_VERSION || hdr[1] == 0 || hdr[1] > BLOB_MAX_PARTS || (size && size < 16)) {
        snprintf(err, errlen, "linked image has a bad header (version %u, %u parts)", hdr[0], hdr[1]);
        return CUDA_ERROR_INVALID_IMAGE;
    }
    memset(out, 0, sizeof *out);
    size_t off = 16;
    for (uint32_t i = 0; i < hdr[1]; i++) {
        uint64_t len;
        if (size && (off + 8 > size)) 
            goto truncated;
        memcpy(&len, b + off, 8);
        if (len > (1ull << 32) || (size && (len + 1 > size - off - 8)) || b[off + 8 + len] != 0)
            goto truncated;
        if (emu_parts_append(out, b + off + 8, (size_t)len) != 0) {
            emu_parts_free(out);
            return CUDA_ERROR_OUT_OF_MEMORY;
        }
        off += 8 + pad8((size_t)len + 1);
    }
    return CUDA_SUCCESS;
truncated:
    emu_parts_free(out);
    snprintf(err, errlen, "linked image is truncated or corrupt");
    return CUDA_ERROR_INVALID_IMAGE;
}

/* ---- the linker --------------------------------------------------------------------------- */
typedef struct link_state {
    uint32_t magic;
    emu_ctx *ctx;
    ptx_parts parts;
    jit_opts jit;
    char *blob;
    size_t blob_size;
} link_state;

EMU_API CUresult cuLinkCreate_v2(unsigned int numOptions, CUjit_option *options, void **optionValues,
                                 CUlinkState *stateOut)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!stateOut)
        return CUDA_ERROR_INVALID_VALUE;
    link_state *ls = calloc(1, sizeof *ls);
    if (!ls)
        return CUDA_ERROR_OUT_OF_MEMORY;
    rc = emu_jit_opts_parse(numOptions, options, optionValues, &ls->jit);
    if (rc != CUDA_SUCCESS) {
        free(ls);
        return rc;
    }
    ls->magic = LINK_MAGIC;
    ls->ctx = ctx;
    emu_handle_add(ls, EMU_H_LINK);
    *stateOut = (CUlinkState)ls;
    return CUDA_SUCCESS;
}

/* Each input is parsed on its own now, so errors surface at cuLinkAddData as in CUDA. */
static CUresult link_validate(link_state *ls, const ptx_parts *p, const char *name)
{
    char err[512] = "", msg[600];
    for (int i = 0; i < p->n; i++) {
        if (emu_ptx_is_empty(p->text[i], p->len[i]))
            continue;
        ptx_module *pm = ptx_module_parse(p->text[i], p->len[i], err, sizeof err);
        if (!pm) {
            /* a call to a function another input defines cannot be linked */
            snprintf(msg, sizeof msg, "%s: %s%s", name ? name : "input", err,
                     strstr(err, "declared but not defined") ? " (the software GPU does not resolve calls "
                                                               "between linked inputs)" : "");
            emu_log("cuLinkAddData: CUDA_ERROR_INVALID_PTX: %s", msg);
            emu_jit_report(&ls->jit, NULL, msg);
            return CUDA_ERROR_INVALID_PTX;
        }
        ptx_module_free(pm);
    }
    return CUDA_SUCCESS;
}

static CUresult link_add(link_state *ls, CUjitInputType type, const void *data, size_t size, const char *name)
{
    ptx_parts p;
    char err[512] = "";
    CUresult rc;
    switch (type) {
    case CU_JIT_INPUT_PTX:
        memset(&p, 0, sizeof p);
        size = strnlen(data, size ? size : (size_t)-1);
        rc = emu_parts_append(&p, data, size) == 0 ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
        break;
    case CU_JIT_INPUT_CUBIN:
    case CU_JIT_INPUT_FATBINARY:
    case CU_JIT_INPUT_OBJECT:
        rc = emu_parts_from_image(data, size, ls->ctx->dev, &p, err, sizeof err);
        break;
    case CU_JIT_INPUT_LIBRARY:
        emu_log("cuLinkAddData: library input %s ignored (device-runtime libraries are not supported)",
                name ? name : "");
        return CUDA_SUCCESS;
    case CU_JIT_INPUT_NVVM:
        emu_log("cuLinkAddData: NVVM IR input is not supported by the software GPU");
        return CUDA_ERROR_NOT_SUPPORTED;
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (rc != CUDA_SUCCESS) {
        emu_log("cuLinkAddData: %s: %s", name ? name : "input", err[0] ? err : "cannot read the input");
        emu_jit_report(&ls->jit, NULL, err);
        return rc;
    }
    rc = link_validate(ls, &p, name);
    for (int i = 0; rc == CUDA_SUCCESS && i < p.n; i++)
        if (emu_parts_append(&ls->parts, p.text[i], p.len[i]) != 0)
            rc = CUDA_ERROR_OUT_OF_MEMORY;
    emu_parts_free(&p);
    return rc;
}

EMU_API CUresult cuLinkAddData_v2(CUlinkState state, CUjitInputType type, void *data, size_t size, const char *name,
                                  unsigned int numOptions, CUjit_option *options, void **optionValues)
{
    CUresult rc = emu_arg_check(state, EMU_H_LINK);
    if (rc != CUDA_SUCCESS)
        return rc;
    link_state *ls = (link_state *)state;
    if (!data || (numOptions && (!options || !optionValues)))
        return CUDA_ERROR_INVALID_VALUE;
    return link_add(ls, type, data, size, name);
}

EMU_API CUresult cuLinkAddFile_v2(CUlinkState state, CUjitInputType type, const char *path, unsigned int numOptions,
                                  CUjit_option *options, void **optionValues)
{
    CUresult rc = emu_arg_check(state, EMU_H_LINK);
    if (rc != CUDA_SUCCESS)
        return rc;
    link_state *ls = (link_state *)state;
    if (!path || (numOptions && (!options || !optionValues)))
        return CUDA_ERROR_INVALID_VALUE;
    char *data;
    size_t size;
    rc = emu_read_file("cuLinkAddFile", path, &data, &size);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = link_add(ls, type, data, size, path);
    free(data);
    return rc;
}

EMU_API CUresult cuLinkComplete(CUlinkState state, void **cubinOut, size_t *sizeOut)
{
    CUresult rc = emu_arg_check(state, EMU_H_LINK);
    if (rc != CUDA_SUCCESS)
        return rc;
    link_state *ls = (link_state *)state;
    if (!cubinOut || !sizeOut)
        return CUDA_ERROR_INVALID_VALUE;
    if (ls->parts.n == 0) {
        emu_jit_report(&ls->jit, NULL, "no input to link");
        return CUDA_ERROR_INVALID_VALUE;
    }
    free(ls->blob);
    ls->blob = NULL;
    rc = blob_build(&ls->parts, &ls->blob, &ls->blob_size);
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_jit_report(&ls->jit, "", NULL);
    *cubinOut = ls->blob;
    *sizeOut = ls->blob_size;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuLinkDestroy(CUlinkState state)
{
    CUresult rc = emu_arg_check(state, EMU_H_LINK);
    if (rc != CUDA_SUCCESS)
        return rc;
    link_state *ls = (link_state *)state;
    emu_handle_remove(ls);
    emu_parts_free(&ls->parts);
    free(ls->blob);
    ls->magic = 0;
    free(ls);
    return CUDA_SUCCESS;
}

#undef cuLinkCreate
#undef cuLinkAddData
#undef cuLinkAddFile
EMU_API CUresult cuLinkCreate(unsigned int n, CUjit_option *o, void **v, CUlinkState *s)
{
    return cuLinkCreate_v2(n, o, v, s);
}
EMU_API CUresult cuLinkAddData(CUlinkState s, CUjitInputType t, void *d, size_t z, const char *name, unsigned int n,
                               CUjit_option *o, void **v)
{
    return cuLinkAddData_v2(s, t, d, z, name, n, o, v);
}
EMU_API CUresult cuLinkAddFile(CUlinkState s, CUjitInputType t, const char *p, unsigned int n, CUjit_option *o,
                               void **v)
{
    return cuLinkAddFile_v2(s, t, p, n, o, v);
}
