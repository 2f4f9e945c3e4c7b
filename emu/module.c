/* module.c: modules, functions, libraries and kernels. An image (PTX text, fatbin, fatbin
 * wrapper, cubin, or the linker's own multi-part output, see link.c) becomes one or more PTX texts
 * (fatbin.c), each parsed by the interpreter; a module owns the parsed parts, the device storage
 * of their globals and a function handle per kernel. Libraries are context-independent: they keep
 * the validated PTX and load a module into each context on first use. Also owns
 * cuFuncGet/SetAttribute & co and the JIT option/log handling shared with the linker (declared in
 * module_internal.h). The linker (cuLink*) and its output format live in link.c. */
#include "emu.h"
#include "fatbin.h"
#include "module_internal.h"
#include "ptx.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIBRARY_MAGIC 0x4c696272u
#define KERNEL_MAGIC  0x4b65726eu

/* ---- PTX parts of an image ---------------------------------------------------------------- */
void emu_parts_free(ptx_parts *p)
{
    if (p->from_fatbin) {
        emu_image_free_all_ptx(p->text, p->len, p->n);
    } else {
        for (int i = 0; i < p->n; i++)
            free(p->text[i]);
        free(p->text);
        free(p->len);
    }
    memset(p, 0, sizeof *p);
}

int emu_parts_append(ptx_parts *p, const char *text, size_t len)
{
    char **t = realloc(p->text, (size_t)(p->n + 1) * sizeof *t);
    if (t)
        p->text = t;
    size_t *l = realloc(p->len, (size_t)(p->n + 1) * sizeof *l);
    if (l)
        p->len = l;
    char *copy = malloc(len + 1);
    if (!t || !l || !copy) {
        free(copy);
        return -1;
    }
    memcpy(copy, text, len);
    copy[len] = 0;
    p->text[p->n] = copy;
    p->len[p->n++] = len;
    return 0;
}

CUresult emu_parts_from_image(const void *image, size_t size, const emu_device *dev, ptx_parts *out,
                              char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!image)
        return CUDA_ERROR_INVALID_VALUE;
    if ((size == 0 || size >= 16) && emu_link_blob_is(image))
        return emu_link_blob_parse(image, size, out, err, errlen);
    CUresult rc = emu_image_get_all_ptx(image, size, dev->cc_major, dev->cc_minor, &out->text, &out->len,
                                        &out->n, err, errlen);
    if (rc == CUDA_SUCCESS)
        out->from_fatbin = 1;
    else
        memset(out, 0, sizeof *out);
    return rc;
}

/* Reads a whole file (NUL-terminated); logs "api: cannot read path" on failure. */
CUresult emu_read_file(const char *api, const char *path, char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        emu_log("%s: cannot read %s", api, path);
        return CUDA_ERROR_FILE_NOT_FOUND;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *n = realloc(buf, cap);
            if (!n) {
                free(buf);
                fclose(f);
                return CUDA_ERROR_OUT_OF_MEMORY;
            }
            buf = n;
        }
        size_t got = fread(buf + len, 1, 65536, f);
        len += got;
        if (got < 65536)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        emu_log("%s: cannot read %s", api, path);
        return CUDA_ERROR_OPERATING_SYSTEM;
    }
    buf[len] = 0;
    *data = buf;
    *size = len;
    return CUDA_SUCCESS;
}

/* ---- JIT options: log buffers and wall time ----------------------------------------------- */
CUresult emu_jit_opts_parse(unsigned n, CUjit_option *opts, void **vals, jit_opts *j)
{
    memset(j, 0, sizeof *j);
    if (n && (!opts || !vals))
        return CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < n; i++) {
        switch (opts[i]) {
        case CU_JIT_INFO_LOG_BUFFER: j->info = vals[i]; break;
        case CU_JIT_ERROR_LOG_BUFFER: j->error = vals[i]; break;
        case CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES:
            j->info_size = (size_t)(uintptr_t)vals[i];
            j->info_size_slot = &vals[i];
            break;
        case CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES:
            j->error_size = (size_t)(uintptr_t)vals[i];
            j->error_size_slot = &vals[i];
            break;
        case CU_JIT_WALL_TIME: j->walltime_slot = &vals[i]; break;
        default:
            if ((unsigned)opts[i] >= CU_JIT_NUM_OPTIONS)
                return CUDA_ERROR_INVALID_VALUE;
            break;   /* optimisation, target, caching, ... have no meaning for the interpreter */
        }
    }
    return CUDA_SUCCESS;
}

static void jit_write_log(char *buf, size_t size, void **size_slot, const char *text)
{
    if (!buf || !size)
        return;
    snprintf(buf, size, "%s", text);
    if (size_slot)
        *size_slot = (void *)(uintptr_t)(text[0] ? strlen(buf) + 1 : 0);
}

void emu_jit_report(jit_opts *j, const char *info, const char *error)
{
    if (!j)
        return;
    jit_write_log(j->info, j->info_size, j->info_size_slot, info ? info : "");
    jit_write_log(j->error, j->error_size, j->error_size_slot, error ? error : "");
    if (j->walltime_slot) {
        float ms = 0.0f;
        memcpy(j->walltime_slot, &ms, sizeof ms);
    }
}

/* Entry-point prologue for a handle argument: CUDA_ERROR_NOT_INITIALIZED before cuInit, then
 * CUDA_ERROR_INVALID_HANDLE unless the handle is live and of the right kind. */
CUresult emu_arg_check(const void *h, int kind)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    return emu_handle_is(h, kind) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/* ---- modules ------------------------------------------------------------------------------ */
struct library_impl;
struct kernel_impl;

typedef struct func_impl {
    emu_function pub;
    ptx_func_info info;
    int cache_config;
    struct kernel_impl *kernel;   /* set for functions of a library's module */
} func_impl;

typedef struct module_impl {
    emu_module pub;              /* pub.ptx is parts[0]; global_addrs spans every part */
    int nparts;
    ptx_module **parts;
    int *global_base;            /* index of part i's first global in pub.global_addrs */
    unsigned char *global_owned; /* allocated by this module (not an .extern alias) */
    size_t *global_size;
    int nfuncs;
    func_impl **funcs;           /* the kernels (.entry functions) */
    size_t const_bytes;
    int ptx_target;              /* .target sm_XY as XY */
    int ptx_version;             /* .version X.Y as X*10+Y */
    struct library_impl *lib;
    struct module_impl *next;
} module_impl;

static pthread_mutex_t g_mod_lock = PTHREAD_MUTEX_INITIALIZER;  /* module and library lists */
static module_impl *g_modules;

static void module_free(module_impl *m)
{
    for (int i = 0; i < m->nfuncs; i++) {
        emu_handle_remove(m->funcs[i]);
        m->funcs[i]->pub.magic = 0;
        free(m->funcs[i]);
    }
    free(m->funcs);
    for (int i = 0; i < m->pub.nglobals; i++)
        if (m->global_owned && m->global_owned[i] && m->pub.global_addrs[i])
            emu_mem_free(m->pub.global_addrs[i]);
    for (int i = 0; i < m->nparts; i++)
        ptx_module_free(m->parts[i]);
    free(m->parts);
    free(m->global_base);
    free(m->global_owned);
    free(m->global_size);
    free(m->pub.global_addrs);
    m->pub.magic = 0;
    free(m);
}

static void list_remove_module_nolock(module_impl *m)
{
    for (module_impl **pp = &g_modules; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            return;
        }
}

static int scan_directive_number(const char *text, size_t len, const char *directive, int two_parts)
{
    size_t dl = strlen(directive);
    for (size_t i = 0; i + dl < len && i < 65536; i++) {
        if (memcmp(text + i, directive, dl) != 0)
            continue;
        const char *p = text + i + dl;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!two_parts && (p[0] == 's' && p[1] == 'm' && p[2] == '_'))
            return atoi(p + 3);
        int a, b;
        if (two_parts && sscanf(p, "%d.%d", &a, &b) == 2)
            return a * 10 + b;
        return 0;
    }
    return 0;
}

/* PTX holding nothing but comments and .version/.target/.address_size (the stand-in fatbin.c
 * returns for the empty cubin nvlink puts in every executable): the interpreter refuses to parse
 * it, but it is a valid module without kernels. */
int emu_ptx_is_empty(const char *t, size_t len)
{
    static const char *const allowed[] = { ".version", ".target", ".address_size" };
    size_t i = 0;
    while (i < len && t[i]) {
        if (t[i] == '/' && i + 1 < len && t[i + 1] == '/') {
            while (i < len && t[i] && t[i] != '\n')
                i++;
        } else if (t[i] == '.') {
            int ok = 0;
            for (size_t k = 0; k < 3 && !ok; k++)
                ok = !strncmp(t + i, allowed[k], strlen(allowed[k]));
            if (!ok)
                return 0;
            while (i < len && t[i] && t[i] != '\n')
                i++;
        } else if (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n') {
            i++;
        } else {
            return 0;
        }
    }
    return 1;
}

static CUresult module_parse_parts(module_impl *m, const ptx_parts *p, char *err, size_t errlen)
{
    m->parts = calloc((size_t)p->n + 1, sizeof *m->parts);
    if (!m->parts)
        return CUDA_ERROR_OUT_OF_MEMORY;
    for (int i = 0; i < p->n; i++) {
        char msg[400];
        if (emu_ptx_is_empty(p->text[i], p->len[i]))
            continue;
        ptx_module *pm = ptx_module_parse(p->text[i], p->len[i], msg, sizeof msg);
        if (!pm) {
            if (p->n > 1)
                snprintf(err, errlen, "PTX part %d of %d: %s", i + 1, p->n, msg);
            else
                snprintf(err, errlen, "%s", msg);
            return CUDA_ERROR_INVALID_PTX;
        }
        m->parts[m->nparts++] = pm;
    }
    m->pub.ptx = m->parts[0];
    if (p->n > 0) {
        m->ptx_target = scan_directive_number(p->text[0], p->len[0], ".target", 0);
        m->ptx_version = scan_directive_number(p->text[0], p->len[0], ".version", 1);
    }
    return CUDA_SUCCESS;
}

/* Allocates and initialises every defined global (device memory is host-addressable). */
static CUresult module_alloc_globals(module_impl *m, emu_ctx *ctx, char *err, size_t errlen)
{
    int total = 0;
    m->global_base = calloc((size_t)m->nparts + 1, sizeof *m->global_base);
    if (!m->global_base)
        return CUDA_ERROR_OUT_OF_MEMORY;
    for (int i = 0; i < m->nparts; i++) {
        m->global_base[i] = total;
        total += ptx_module_global_count(m->parts[i]);
    }
    m->pub.global_addrs = calloc((size_t)total + 1, sizeof *m->pub.global_addrs);
    m->global_owned = calloc((size_t)total + 1, 1);
    m->global_size = calloc((size_t)total + 1, sizeof *m->global_size);
    if (!m->pub.global_addrs || !m->global_owned || !m->global_size)
        return CUDA_ERROR_OUT_OF_MEMORY;
    m->pub.nglobals = total;
    for (int i = 0; i < m->nparts; i++)
        for (int g = 0; g < ptx_module_global_count(m->parts[i]); g++) {
            ptx_global_info gi;
            ptx_module_global_info(m->parts[i], g, &gi);
            if (gi.size == 0)
                continue;
            int k = m->global_base[i] + g;
            uint64_t addr;
            CUresult rc = emu_mem_alloc(ctx, gi.size, gi.align ? gi.align : 1, &addr);
            if (rc != CUDA_SUCCESS) {
                snprintf(err, errlen, "cannot allocate %zu bytes for global '%s'", gi.size, gi.name);
                return rc;
            }
            m->pub.global_addrs[k] = addr;
            m->global_owned[k] = 1;
            m->global_size[k] = gi.size;
            if (gi.init)
                memcpy((void *)(uintptr_t)addr, gi.init, gi.size);
            else
                memset((void *)(uintptr_t)addr, 0, gi.size);
            if (gi.space == PTX_SPACE_CONST)
                m->const_bytes += gi.size;
            ptx_module_bind_global(m->parts[i], g, addr);
        }
    return CUDA_SUCCESS;
}

/* .extern globals take the address of the part that defines them. */
static CUresult module_bind_externs(module_impl *m, char *err, size_t errlen)
{
    for (int i = 0; i < m->nparts; i++)
        for (int g = 0; g < ptx_module_global_count(m->parts[i]); g++) {
            ptx_global_info gi;
            ptx_module_global_info(m->parts[i], g, &gi);
            if (gi.size != 0)
                continue;
            int found = -1;
            for (int j = 0; j < m->nparts && found < 0; j++) {
                int k = j == i ? -1 : ptx_module_find_global(m->parts[j], gi.name);
                if (k >= 0 && m->global_owned[m->global_base[j] + k])
                    found = m->global_base[j] + k;
            }
            if (found < 0) {
                snprintf(err, errlen, "unresolved .extern variable '%s'", gi.name);
                return CUDA_ERROR_INVALID_PTX;
            }
            m->pub.global_addrs[m->global_base[i] + g] = m->pub.global_addrs[found];
            m->global_size[m->global_base[i] + g] = m->global_size[found];
            ptx_module_bind_global(m->parts[i], g, m->pub.global_addrs[found]);
        }
    return CUDA_SUCCESS;
}

static func_impl *module_find_func(module_impl *m, const char *name)
{
    for (int i = 0; i < m->nfuncs; i++)
        if (!strcmp(m->funcs[i]->info.name, name))
            return m->funcs[i];
    return NULL;
}

static CUresult module_make_functions(module_impl *m, char *err, size_t errlen)
{
    for (int i = 0; i < m->nparts; i++)
        for (int f = 0; f < ptx_module_func_count(m->parts[i]); f++) {
            ptx_func *pf = ptx_module_func(m->parts[i], f);
            ptx_func_info info;
            ptx_func_get_info(pf, &info);
            if (!info.is_entry)
                continue;
            if (module_find_func(m, info.name)) {
                snprintf(err, errlen, "kernel '%s' is defined more than once", info.name);
                return CUDA_ERROR_INVALID_PTX;
            }
            func_impl **n = realloc(m->funcs, (size_t)(m->nfuncs + 1) * sizeof *n);
            func_impl *fi = calloc(1, sizeof *fi);
            if (n)
                m->funcs = n;
            if (!n || !fi) {
                free(fi);
                return CUDA_ERROR_OUT_OF_MEMORY;
            }
            fi->pub.magic = EMU_FUNC_MAGIC;
            fi->pub.mod = &m->pub;
            fi->pub.pf = pf;
            fi->info = info;
            fi->pub.max_dyn_smem = info.static_smem < EMU_SMEM_PER_BLOCK
                                       ? (int)(EMU_SMEM_PER_BLOCK - info.static_smem) : 0;
            fi->pub.carveout = -1;
            m->funcs[m->nfuncs++] = fi;
        }
    return CUDA_SUCCESS;
}

/* Builds a module in ctx from PTX parts; err gets the reason on failure. */
static CUresult module_from_parts(emu_ctx *ctx, const ptx_parts *p, char *err, size_t errlen,
                                  module_impl **out)
{
    module_impl *m = calloc(1, sizeof *m);
    if (!m)
        return CUDA_ERROR_OUT_OF_MEMORY;
    m->pub.magic = EMU_MODULE_MAGIC;
    m->pub.ctx = ctx;
    CUresult rc = module_parse_parts(m, p, err, errlen);
    if (rc == CUDA_SUCCESS)
        rc = module_alloc_globals(m, ctx, err, errlen);
    if (rc == CUDA_SUCCESS)
        rc = module_bind_externs(m, err, errlen);
    if (rc == CUDA_SUCCESS)
        rc = module_make_functions(m, err, errlen);
    if (rc != CUDA_SUCCESS) {
        module_free(m);
        return rc;
    }
    for (int i = 0; i < m->nfuncs; i++)
        emu_handle_add(m->funcs[i], EMU_H_FUNCTION);
    pthread_mutex_lock(&g_mod_lock);
    m->next = g_modules;
    g_modules = m;
    pthread_mutex_unlock(&g_mod_lock);
    emu_handle_add(m, EMU_H_MODULE);
    *out = m;
    return CUDA_SUCCESS;
}

static CUresult module_load(const char *api, emu_ctx *ctx, const void *image, size_t size, jit_opts *jit,
                            module_impl **out)
{
    char err[512] = "";
    ptx_parts parts;
    CUresult rc = emu_parts_from_image(image, size, ctx->dev, &parts, err, sizeof err);
    if (rc == CUDA_SUCCESS) {
        rc = module_from_parts(ctx, &parts, err, sizeof err, out);
        emu_parts_free(&parts);
    }
    if (rc != CUDA_SUCCESS) {
        const char *name = "error";
        cuGetErrorName(rc, &name);
        emu_log("%s: %s: %s", api, name ? name : "error", err[0] ? err : "cannot load the image");
        emu_jit_report(jit, NULL, err);
        return rc;
    }
    char info[128];
    snprintf(info, sizeof info, "bitfusion-emu: loaded %d kernel(s) from %d PTX part(s)", (*out)->nfuncs,
             (*out)->nparts);
    emu_jit_report(jit, info, NULL);
    return CUDA_SUCCESS;
}

CUresult emu_module_from_image(emu_ctx *ctx, const void *image, emu_module **out)
{
    module_impl *m;
    if (!ctx || !out)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = module_load("module load", ctx, image, 0, NULL, &m);
    if (rc == CUDA_SUCCESS)
        *out = &m->pub;
    return rc;
}

/* Unregisters and frees a module; its context must be idle. */
static void module_unload_nowait(module_impl *m)
{
    emu_handle_remove(m);
    pthread_mutex_lock(&g_mod_lock);
    list_remove_module_nolock(m);
    pthread_mutex_unlock(&g_mod_lock);
    module_free(m);
}

/* ---- module entry points ------------------------------------------------------------------ */
static CUresult load_entry(const char *api, CUmodule *module, const void *image, size_t size, jit_opts *jit)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!module || !image)
        return CUDA_ERROR_INVALID_VALUE;
    module_impl *m;
    rc = module_load(api, ctx, image, size, jit, &m);
    if (rc == CUDA_SUCCESS)
        *module = (CUmodule)m;
    return rc;
}

EMU_API CUresult cuModuleLoadData(CUmodule *module, const void *image)
{
    return load_entry("cuModuleLoadData", module, image, 0, NULL);
}

EMU_API CUresult cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin)
{
    return load_entry("cuModuleLoadFatBinary", module, fatCubin, 0, NULL);
}

EMU_API CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions,
                                    CUjit_option *options, void **optionValues)
{
    jit_opts jit;
    CUresult rc = emu_jit_opts_parse(numOptions, options, optionValues, &jit);
    if (rc != CUDA_SUCCESS)
        return emu_initialized() ? rc : CUDA_ERROR_NOT_INITIALIZED;
    return load_entry("cuModuleLoadDataEx", module, image, 0, &jit);
}

EMU_API CUresult cuModuleLoad(CUmodule *module, const char *fname)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!module || !fname)
        return CUDA_ERROR_INVALID_VALUE;
    char *data;
    size_t size;
    rc = emu_read_file("cuModuleLoad", fname, &data, &size);
    if (rc != CUDA_SUCCESS)
        return rc;
    module_impl *m;
    rc = module_load("cuModuleLoad", ctx, data, size, NULL, &m);
    free(data);
    if (rc == CUDA_SUCCESS)
        *module = (CUmodule)m;
    return rc;
}

EMU_API CUresult cuModuleUnload(CUmodule hmod)
{
    CUresult rc = emu_arg_check(hmod, EMU_H_MODULE);
    module_impl *m = (module_impl *)hmod;
    if (rc != CUDA_SUCCESS || m->lib)
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_HANDLE;
    if (emu_stream_on_worker_of(m->pub.ctx))
        return CUDA_ERROR_NOT_PERMITTED;
    emu_ctx_wait_idle(m->pub.ctx);   /* queued launches may still use it */
    module_unload_nowait(m);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
    CUresult rc = emu_arg_check(hmod, EMU_H_MODULE);
    if (rc != CUDA_SUCCESS || !hfunc || !name)
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    func_impl *f = module_find_func((module_impl *)hmod, name);
    if (!f)
        return CUDA_ERROR_NOT_FOUND;
    *hfunc = (CUfunction)f;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuModuleGetFunctionCount(unsigned int *count, CUmodule mod)
{
    CUresult rc = emu_arg_check(mod, EMU_H_MODULE);
    if (rc != CUDA_SUCCESS || !count)
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    *count = (unsigned)((module_impl *)mod)->nfuncs;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuModuleEnumerateFunctions(CUfunction *functions, unsigned int numFunctions, CUmodule mod)
{
    CUresult rc = emu_arg_check(mod, EMU_H_MODULE);
    module_impl *m = (module_impl *)mod;
    if (rc != CUDA_SUCCESS || (!functions && numFunctions))
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < numFunctions && i < (unsigned)m->nfuncs; i++)
        functions[i] = (CUfunction)m->funcs[i];
    return CUDA_SUCCESS;
}

static CUresult module_get_global(module_impl *m, const char *name, CUdeviceptr *dptr, size_t *bytes)
{
    if (!name || (!dptr && !bytes))
        return CUDA_ERROR_INVALID_VALUE;
    for (int i = 0; i < m->nparts; i++) {
        int g = ptx_module_find_global(m->parts[i], name);
        int k = g >= 0 ? m->global_base[i] + g : -1;
        if (k >= 0 && m->global_owned[k]) {
            if (dptr)
                *dptr = (CUdeviceptr)m->pub.global_addrs[k];
            if (bytes)
                *bytes = m->global_size[k];
            return CUDA_SUCCESS;
        }
    }
    return CUDA_ERROR_NOT_FOUND;
}

EMU_API CUresult cuModuleGetGlobal_v2(CUdeviceptr *dptr, size_t *bytes, CUmodule hmod, const char *name)
{
    CUresult rc = emu_arg_check(hmod, EMU_H_MODULE);
    return rc != CUDA_SUCCESS ? rc : module_get_global((module_impl *)hmod, name, dptr, bytes);
}

EMU_API CUresult cuModuleGetLoadingMode(CUmoduleLoadingMode *mode)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!mode)
        return CUDA_ERROR_INVALID_VALUE;
    *mode = CU_MODULE_EAGER_LOADING;
    return CUDA_SUCCESS;
}

/* ---- function attributes ------------------------------------------------------------------ */
typedef struct kernel_impl {
    uint32_t magic;
    struct library_impl *lib;
    char *name;
    const ptx_func_info *proto;              /* the library's validation parse */
    const ptx_func *proto_func;
    size_t const_bytes;
    int ptx_target, ptx_version;
    int max_dyn_smem[EMU_MAX_DEVICES];       /* -1: default */
    int carveout[EMU_MAX_DEVICES];
    int cache_config[EMU_MAX_DEVICES];
} kernel_impl;

/* Attribute values shared by functions and kernels. */
static CUresult attribute_value(const ptx_func_info *info, size_t const_bytes, int ptx_target, int max_dyn,
                                int carveout, const emu_device *dev, CUfunction_attribute attr, int *out)
{
    int binary = dev->cc_major * 10 + dev->cc_minor;
    switch (attr) {
    case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *out = emu_func_max_threads(info); break;
    case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES: *out = (int)info->static_smem; break;
    case CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES: *out = (int)const_bytes; break;
    case CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES: *out = (int)info->local_bytes; break;
    case CU_FUNC_ATTRIBUTE_NUM_REGS: *out = emu_func_regs(info); break;
    case CU_FUNC_ATTRIBUTE_PTX_VERSION: *out = ptx_target ? ptx_target : binary; break;
    case CU_FUNC_ATTRIBUTE_BINARY_VERSION: *out = binary; break;
    case CU_FUNC_ATTRIBUTE_CACHE_MODE_CA: *out = 0; break;
    case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: *out = max_dyn; break;
    case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT: *out = carveout; break;
    case CU_FUNC_ATTRIBUTE_CLUSTER_SIZE_MUST_BE_SET:
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH:
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT:
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH:
    case CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED:
    case CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE: *out = 0; break;
    default: return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

/* Checks a settable attribute's value. */
static CUresult attribute_check(const ptx_func_info *info, CUfunction_attribute attr, int value)
{
    switch (attr) {
    case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
        if (value < 0 || (size_t)value + info->static_smem > EMU_SMEM_PER_BLOCK_OPTIN)
            return CUDA_ERROR_INVALID_VALUE;
        return CUDA_SUCCESS;
    case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
        return (value >= -1 && value <= 100) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH:
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT:
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH:
    case CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED:
    case CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
        return CUDA_ERROR_NOT_SUPPORTED;   /* no thread block clusters on the software GPU */
    default:
        return CUDA_ERROR_INVALID_VALUE;   /* read-only */
    }
}

static func_impl *func_of(CUfunction h)
{
    return emu_handle_is(h, EMU_H_FUNCTION) ? (func_impl *)h : NULL;
}

static kernel_impl *kernel_of(CUkernel h)
{
    return emu_handle_is(h, EMU_H_KERNEL) ? (kernel_impl *)h : NULL;
}

static module_impl *func_module(func_impl *f) { return (module_impl *)f->pub.mod; }

EMU_API CUresult cuFuncGetAttribute(int *pi, CUfunction_attribute attrib, CUfunction hfunc)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!pi)
        return CUDA_ERROR_INVALID_VALUE;
    func_impl *f = func_of(hfunc);
    emu_ctx *ctx = emu_ctx_current();
    emu_function *ef;
    if (!f && ctx && kernel_of((CUkernel)hfunc) && emu_function_resolve(ctx, hfunc, &ef) == CUDA_SUCCESS)
        f = (func_impl *)ef;   /* CUDA 12 accepts a CUkernel where a CUfunction is expected */
    if (!f)
        return CUDA_ERROR_INVALID_HANDLE;
    module_impl *m = func_module(f);
    return attribute_value(&f->info, m->const_bytes, m->ptx_target, f->pub.max_dyn_smem, f->pub.carveout,
                           m->pub.ctx->dev, attrib, pi);
}

static void func_apply_attribute(func_impl *f, CUfunction_attribute attr, int value)
{
    if (attr == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
        f->pub.max_dyn_smem = value;
    else if (attr == CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT)
        f->pub.carveout = value;
}

EMU_API CUresult cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value)
{
    CUresult rc = emu_arg_check(hfunc, EMU_H_FUNCTION);
    if (rc != CUDA_SUCCESS)
        return rc;
    func_impl *f = (func_impl *)hfunc;
    rc = attribute_check(&f->info, attrib, value);
    if (rc == CUDA_SUCCESS)
        func_apply_attribute(f, attrib, value);
    return rc;
}

EMU_API CUresult cuFuncSetCacheConfig(CUfunction hfunc, CUfunc_cache config)
{
    CUresult rc = emu_arg_check(hfunc, EMU_H_FUNCTION);
    if (rc != CUDA_SUCCESS)
        return rc;
    func_impl *f = (func_impl *)hfunc;
    if ((unsigned)config > CU_FUNC_CACHE_PREFER_EQUAL)
        return CUDA_ERROR_INVALID_VALUE;
    f->cache_config = config;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuFuncSetSharedMemConfig(CUfunction hfunc, CUsharedconfig config)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!func_of(hfunc))
        return CUDA_ERROR_INVALID_HANDLE;
    return (unsigned)config > CU_SHARED_MEM_CONFIG_EIGHT_BYTE_BANK_SIZE ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

EMU_API CUresult cuFuncGetModule(CUmodule *hmod, CUfunction hfunc)
{
    CUresult rc = emu_arg_check(hfunc, EMU_H_FUNCTION);
    if (rc != CUDA_SUCCESS || !hmod)
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    func_impl *f = (func_impl *)hfunc;
    *hmod = (CUmodule)f->pub.mod;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuFuncGetName(const char **name, CUfunction hfunc)
{
    CUresult rc = emu_arg_check(hfunc, EMU_H_FUNCTION);
    if (rc != CUDA_SUCCESS || !name)
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    func_impl *f = (func_impl *)hfunc;
    *name = f->info.name;
    return CUDA_SUCCESS;
}

static CUresult param_info(const ptx_func *pf, size_t index, size_t *offset, size_t *size)
{
    if (!offset && !size)
        return CUDA_ERROR_INVALID_VALUE;
    if (index > 0x7fffffff || ptx_func_param(pf, (int)index, offset, size) != 0)
        return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuFuncGetParamInfo(CUfunction func, size_t paramIndex, size_t *paramOffset, size_t *paramSize)
{
    CUresult rc = emu_arg_check(func, EMU_H_FUNCTION);
    if (rc != CUDA_SUCCESS)
        return rc;
    func_impl *f = (func_impl *)func;
    return param_info(f->pub.pf, paramIndex, paramOffset, paramSize);
}

EMU_API CUresult cuFuncIsLoaded(CUfunctionLoadingState *state, CUfunction function)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!state)
        return CUDA_ERROR_INVALID_VALUE;
    if (!func_of(function))
        return CUDA_ERROR_INVALID_HANDLE;
    *state = CU_FUNCTION_LOADING_STATE_LOADED;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuFuncLoad(CUfunction function)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    return func_of(function) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/* ---- libraries and kernels ---------------------------------------------------------------- */
typedef struct lib_instance {
    emu_ctx *ctx;
    module_impl *mod;
    struct lib_instance *next;
} lib_instance;

typedef struct library_impl {
    uint32_t magic;
    ptx_parts parts;
    module_impl *proto;          /* parsed once for validation and context-free queries (no globals) */
    int nkernels;
    kernel_impl **kernels;
    lib_instance *instances;     /* one module per context that used the library */
    struct library_impl *next;
} library_impl;

static library_impl *g_libraries;   /* guarded by g_mod_lock */

static library_impl *library_of(CUlibrary h)
{
    return emu_handle_is(h, EMU_H_LIBRARY) ? (library_impl *)h : NULL;
}

static void library_free(library_impl *lib)
{
    for (int i = 0; i < lib->nkernels; i++) {
        emu_handle_remove(lib->kernels[i]);
        lib->kernels[i]->magic = 0;
        free(lib->kernels[i]->name);
        free(lib->kernels[i]);
    }
    free(lib->kernels);
    if (lib->proto) {
        for (int i = 0; i < lib->proto->nparts; i++)
            ptx_module_free(lib->proto->parts[i]);
        free(lib->proto->parts);
        for (int i = 0; i < lib->proto->nfuncs; i++)
            free(lib->proto->funcs[i]);
        free(lib->proto->funcs);
        free(lib->proto);
    }
    emu_parts_free(&lib->parts);
    lib->magic = 0;
    free(lib);
}

/* Parses the parts without a context: kernels, their info and parameters. */
static CUresult library_prototype(library_impl *lib, char *err, size_t errlen)
{
    module_impl *m = calloc(1, sizeof *m);
    if (!m)
        return CUDA_ERROR_OUT_OF_MEMORY;
    lib->proto = m;
    CUresult rc = module_parse_parts(m, &lib->parts, err, errlen);
    if (rc == CUDA_SUCCESS)
        rc = module_make_functions(m, err, errlen);
    for (int i = 0; rc == CUDA_SUCCESS && i < m->nparts; i++)
        for (int g = 0; g < ptx_module_global_count(m->parts[i]); g++) {
            ptx_global_info gi;
            ptx_module_global_info(m->parts[i], g, &gi);
            if (gi.space == PTX_SPACE_CONST)
                m->const_bytes += gi.size;
        }
    if (rc != CUDA_SUCCESS)
        return rc;
    lib->kernels = calloc((size_t)m->nfuncs + 1, sizeof *lib->kernels);
    if (!lib->kernels)
        return CUDA_ERROR_OUT_OF_MEMORY;
    for (int i = 0; i < m->nfuncs; i++) {
        kernel_impl *k = calloc(1, sizeof *k);
        if (!k || !(k->name = strdup(m->funcs[i]->info.name))) {
            free(k);
            return CUDA_ERROR_OUT_OF_MEMORY;
        }
        k->magic = KERNEL_MAGIC;
        k->lib = lib;
        k->proto = &m->funcs[i]->info;
        k->proto_func = m->funcs[i]->pub.pf;
        k->const_bytes = m->const_bytes;
        k->ptx_target = m->ptx_target;
        k->ptx_version = m->ptx_version;
        for (int d = 0; d < EMU_MAX_DEVICES; d++) {
            k->max_dyn_smem[d] = -1;
            k->carveout[d] = -1;
        }
        lib->kernels[lib->nkernels++] = k;
    }
    return CUDA_SUCCESS;
}

static CUresult library_load(const char *api, const void *image, size_t size, jit_opts *jit, CUlibrary *out)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!out || !image)
        return CUDA_ERROR_INVALID_VALUE;
    emu_ctx *cur = emu_ctx_current();
    const emu_device *dev = cur && emu_handle_is(cur, EMU_H_CTX) ? cur->dev : emu_device_get(0);
    char err[512] = "";
    library_impl *lib = calloc(1, sizeof *lib);
    if (!lib)
        return CUDA_ERROR_OUT_OF_MEMORY;
    lib->magic = LIBRARY_MAGIC;
    CUresult rc = emu_parts_from_image(image, size, dev, &lib->parts, err, sizeof err);
    if (rc == CUDA_SUCCESS)
        rc = library_prototype(lib, err, sizeof err);
    if (rc != CUDA_SUCCESS) {
        const char *name = "error";
        cuGetErrorName(rc, &name);
        emu_log("%s: %s: %s", api, name ? name : "error", err[0] ? err : "cannot load the image");
        emu_jit_report(jit, NULL, err);
        library_free(lib);
        return rc;
    }
    emu_jit_report(jit, "", NULL);
    pthread_mutex_lock(&g_mod_lock);
    lib->next = g_libraries;
    g_libraries = lib;
    pthread_mutex_unlock(&g_mod_lock);
    for (int i = 0; i < lib->nkernels; i++)
        emu_handle_add(lib->kernels[i], EMU_H_KERNEL);
    emu_handle_add(lib, EMU_H_LIBRARY);
    *out = (CUlibrary)lib;
    return CUDA_SUCCESS;
}

static void library_settings_to_function(kernel_impl *k, func_impl *f)
{
    int d = f->pub.mod->ctx->dev->ordinal;
    f->kernel = k;
    if (k->max_dyn_smem[d] >= 0)
        f->pub.max_dyn_smem = k->max_dyn_smem[d];
    if (k->carveout[d] >= 0)
        f->pub.carveout = k->carveout[d];
    f->cache_config = k->cache_config[d];
}

/* The library's module in ctx, loading it on first use. */
static CUresult library_module(library_impl *lib, emu_ctx *ctx, module_impl **out)
{
    pthread_mutex_lock(&g_mod_lock);
    for (lib_instance *in = lib->instances; in; in = in->next)
        if (in->ctx == ctx) {
            *out = in->mod;
            pthread_mutex_unlock(&g_mod_lock);
            return CUDA_SUCCESS;
        }
    pthread_mutex_unlock(&g_mod_lock);
    char err[512] = "";
    module_impl *m;
    lib_instance *in = calloc(1, sizeof *in);
    CUresult rc = in ? module_from_parts(ctx, &lib->parts, err, sizeof err, &m) : CUDA_ERROR_OUT_OF_MEMORY;
    if (rc != CUDA_SUCCESS) {
        free(in);
        emu_log("library load into a context: %s", err[0] ? err : "out of memory");
        return rc;
    }
    m->lib = lib;
    for (int i = 0; i < m->nfuncs; i++)
        for (int k = 0; k < lib->nkernels; k++)
            if (!strcmp(lib->kernels[k]->name, m->funcs[i]->info.name))
                library_settings_to_function(lib->kernels[k], m->funcs[i]);
    pthread_mutex_lock(&g_mod_lock);
    lib_instance *other = lib->instances;
    while (other && other->ctx != ctx)
        other = other->next;
    module_impl *theirs = other ? other->mod : NULL;
    if (!other) {
        in->ctx = ctx;
        in->mod = m;
        in->next = lib->instances;
        lib->instances = in;
    }
    pthread_mutex_unlock(&g_mod_lock);
    if (theirs) {   /* another thread loaded it meanwhile: use that one */
        free(in);
        module_unload_nowait(m);
        m = theirs;
    }
    *out = m;
    return CUDA_SUCCESS;
}

static CUresult kernel_function(kernel_impl *k, emu_ctx *ctx, func_impl **out)
{
    module_impl *m;
    CUresult rc = library_module(k->lib, ctx, &m);
    if (rc != CUDA_SUCCESS)
        return rc;
    *out = module_find_func(m, k->name);
    return *out ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

CUresult emu_function_resolve(emu_ctx *ctx, CUfunction h, emu_function **out)
{
    func_impl *f = func_of(h);
    if (f) {
        if (f->pub.mod->ctx != ctx)
            return CUDA_ERROR_INVALID_HANDLE;
        *out = &f->pub;
        return CUDA_SUCCESS;
    }
    kernel_impl *k = kernel_of((CUkernel)h);
    if (!k)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult rc = kernel_function(k, ctx, &f);
    if (rc == CUDA_SUCCESS)
        *out = &f->pub;
    return rc;
}

static CUresult library_opts(unsigned njit, CUjit_option *jitOptions, void **jitValues, unsigned nlib,
                             CUlibraryOption *libOptions, void **libValues, jit_opts *jit)
{
    if (nlib && (!libOptions || !libValues))
        return CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < nlib; i++)
        if ((unsigned)libOptions[i] >= CU_LIBRARY_NUM_OPTIONS)
            return CUDA_ERROR_INVALID_VALUE;
    return emu_jit_opts_parse(njit, jitOptions, jitValues, jit);
}

EMU_API CUresult cuLibraryLoadData(CUlibrary *library, const void *code, CUjit_option *jitOptions,
                                   void **jitOptionsValues, unsigned int numJitOptions,
                                   CUlibraryOption *libraryOptions, void **libraryOptionValues,
                                   unsigned int numLibraryOptions)
{
    jit_opts jit;
    CUresult rc = library_opts(numJitOptions, jitOptions, jitOptionsValues, numLibraryOptions, libraryOptions,
                               libraryOptionValues, &jit);
    return rc != CUDA_SUCCESS ? rc : library_load("cuLibraryLoadData", code, 0, &jit, library);
}

EMU_API CUresult cuLibraryLoadFromFile(CUlibrary *library, const char *fileName, CUjit_option *jitOptions,
                                       void **jitOptionsValues, unsigned int numJitOptions,
                                       CUlibraryOption *libraryOptions, void **libraryOptionValues,
                                       unsigned int numLibraryOptions)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!fileName || !library)
        return CUDA_ERROR_INVALID_VALUE;
    jit_opts jit;
    CUresult rc = library_opts(numJitOptions, jitOptions, jitOptionsValues, numLibraryOptions, libraryOptions,
                               libraryOptionValues, &jit);
    if (rc != CUDA_SUCCESS)
        return rc;
    char *data;
    size_t size;
    rc = emu_read_file("cuLibraryLoadFromFile", fileName, &data, &size);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = library_load("cuLibraryLoadFromFile", data, size, &jit, library);
    free(data);
    return rc;
}

EMU_API CUresult cuLibraryUnload(CUlibrary library)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    pthread_mutex_lock(&g_mod_lock);
    library_impl *lib = library_of(library);
    if (lib) {
        emu_handle_remove(lib);
        for (library_impl **pp = &g_libraries; *pp; pp = &(*pp)->next)
            if (*pp == lib) {
                *pp = lib->next;
                break;
            }
    }
    pthread_mutex_unlock(&g_mod_lock);
    if (!lib)
        return CUDA_ERROR_INVALID_HANDLE;
    for (lib_instance *in = lib->instances, *next; in; in = next) {
        next = in->next;
        if (!emu_stream_on_worker_of(in->ctx))
            emu_ctx_wait_idle(in->ctx);
        module_unload_nowait(in->mod);
        free(in);
    }
    library_free(lib);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuLibraryGetKernel(CUkernel *pKernel, CUlibrary library, const char *name)
{
    CUresult rc = emu_arg_check(library, EMU_H_LIBRARY);
    if (rc != CUDA_SUCCESS || !pKernel || !name)
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    library_impl *lib = (library_impl *)library;
    for (int i = 0; i < lib->nkernels; i++)
        if (!strcmp(lib->kernels[i]->name, name)) {
            *pKernel = (CUkernel)lib->kernels[i];
            return CUDA_SUCCESS;
        }
    return CUDA_ERROR_NOT_FOUND;
}

EMU_API CUresult cuLibraryGetKernelCount(unsigned int *count, CUlibrary library)
{
    CUresult rc = emu_arg_check(library, EMU_H_LIBRARY);
    if (rc != CUDA_SUCCESS || !count)
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    library_impl *lib = (library_impl *)library;
    *count = (unsigned)lib->nkernels;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuLibraryEnumerateKernels(CUkernel *kernels, unsigned int numKernels, CUlibrary library)
{
    CUresult rc = emu_arg_check(library, EMU_H_LIBRARY);
    if (rc != CUDA_SUCCESS || (!kernels && numKernels))
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    library_impl *lib = (library_impl *)library;
    for (unsigned i = 0; i < numKernels && i < (unsigned)lib->nkernels; i++)
        kernels[i] = (CUkernel)lib->kernels[i];
    return CUDA_SUCCESS;
}

EMU_API CUresult cuLibraryGetModule(CUmodule *pMod, CUlibrary library)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pMod)
        return CUDA_ERROR_INVALID_VALUE;
    library_impl *lib = library_of(library);
    if (!lib)
        return CUDA_ERROR_INVALID_HANDLE;
    module_impl *m;
    rc = library_module(lib, ctx, &m);
    if (rc == CUDA_SUCCESS)
        *pMod = (CUmodule)m;
    return rc;
}

EMU_API CUresult cuLibraryGetGlobal(CUdeviceptr *dptr, size_t *bytes, CUlibrary library, const char *name)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    library_impl *lib = library_of(library);
    if (!lib)
        return CUDA_ERROR_INVALID_HANDLE;
    module_impl *m;
    rc = library_module(lib, ctx, &m);
    return rc != CUDA_SUCCESS ? rc : module_get_global(m, name, dptr, bytes);
}

EMU_API CUresult cuLibraryGetManaged(CUdeviceptr *dptr, size_t *bytes, CUlibrary library, const char *name)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!name || (!dptr && !bytes))
        return CUDA_ERROR_INVALID_VALUE;
    return library_of(library) ? CUDA_ERROR_NOT_FOUND : CUDA_ERROR_INVALID_HANDLE;
}

EMU_API CUresult cuKernelGetFunction(CUfunction *pFunc, CUkernel kernel)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pFunc)
        return CUDA_ERROR_INVALID_VALUE;
    kernel_impl *k = kernel_of(kernel);
    if (!k)
        return CUDA_ERROR_INVALID_HANDLE;
    func_impl *f;
    rc = kernel_function(k, ctx, &f);
    if (rc == CUDA_SUCCESS)
        *pFunc = (CUfunction)f;
    return rc;
}

EMU_API CUresult cuKernelGetLibrary(CUlibrary *pLib, CUkernel kernel)
{
    CUresult rc = emu_arg_check(kernel, EMU_H_KERNEL);
    if (rc != CUDA_SUCCESS || !pLib)
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    kernel_impl *k = (kernel_impl *)kernel;
    *pLib = (CUlibrary)k->lib;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuKernelGetName(const char **name, CUkernel hfunc)
{
    CUresult rc = emu_arg_check(hfunc, EMU_H_KERNEL);
    if (rc != CUDA_SUCCESS || !name)
        return rc != CUDA_SUCCESS ? rc : CUDA_ERROR_INVALID_VALUE;
    kernel_impl *k = (kernel_impl *)hfunc;
    *name = k->name;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuKernelGetParamInfo(CUkernel kernel, size_t paramIndex, size_t *paramOffset, size_t *paramSize)
{
    CUresult rc = emu_arg_check(kernel, EMU_H_KERNEL);
    if (rc != CUDA_SUCCESS)
        return rc;
    kernel_impl *k = (kernel_impl *)kernel;
    return param_info(k->proto_func, paramIndex, paramOffset, paramSize);
}

static CUresult kernel_args(CUkernel kernel, CUdevice dev, kernel_impl **k, emu_device **d)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    *k = kernel_of(kernel);
    if (!*k)
        return CUDA_ERROR_INVALID_HANDLE;
    *d = emu_device_get(dev);
    return *d ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

EMU_API CUresult cuKernelGetAttribute(int *pi, CUfunction_attribute attrib, CUkernel kernel, CUdevice dev)
{
    kernel_impl *k;
    emu_device *d;
    CUresult rc = kernel_args(kernel, dev, &k, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pi)
        return CUDA_ERROR_INVALID_VALUE;
    int max_dyn = k->max_dyn_smem[dev] >= 0 ? k->max_dyn_smem[dev]
                  : (k->proto->static_smem < EMU_SMEM_PER_BLOCK ? (int)(EMU_SMEM_PER_BLOCK - k->proto->static_smem) : 0);
    return attribute_value(k->proto, k->const_bytes, k->ptx_target, max_dyn, k->carveout[dev], d, attrib, pi);
}

/* Applies a kernel setting to the functions already made from it in contexts on dev. */
static void kernel_propagate(kernel_impl *k, int dev, CUfunction_attribute attr, int value, int cache_config)
{
    pthread_mutex_lock(&g_mod_lock);
    for (lib_instance *in = k->lib->instances; in; in = in->next) {
        if (in->ctx->dev->ordinal != dev)
            continue;
        func_impl *f = module_find_func(in->mod, k->name);
        if (f && cache_config >= 0)
            f->cache_config = cache_config;
        else if (f)
            func_apply_attribute(f, attr, value);
    }
    pthread_mutex_unlock(&g_mod_lock);
}

EMU_API CUresult cuKernelSetAttribute(CUfunction_attribute attrib, int val, CUkernel kernel, CUdevice dev)
{
    kernel_impl *k;
    emu_device *d;
    CUresult rc = kernel_args(kernel, dev, &k, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = attribute_check(k->proto, attrib, val);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (attrib == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
        k->max_dyn_smem[dev] = val;
    else if (attrib == CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT)
        k->carveout[dev] = val;
    kernel_propagate(k, dev, attrib, val, -1);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuKernelSetCacheConfig(CUkernel kernel, CUfunc_cache config, CUdevice dev)
{
    kernel_impl *k;
    emu_device *d;
    CUresult rc = kernel_args(kernel, dev, &k, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    if ((unsigned)config > CU_FUNC_CACHE_PREFER_EQUAL)
        return CUDA_ERROR_INVALID_VALUE;
    k->cache_config[dev] = config;
    kernel_propagate(k, dev, CU_FUNC_ATTRIBUTE_MAX, 0, config);
    return CUDA_SUCCESS;
}

/* ---- contexts going away ------------------------------------------------------------------ */
void emu_module_release_ctx(emu_ctx *ctx)
{
    pthread_mutex_lock(&g_mod_lock);
    for (library_impl *lib = g_libraries; lib; lib = lib->next)
        for (lib_instance **pp = &lib->instances; *pp;) {
            lib_instance *in = *pp;
            if (in->ctx == ctx) {
                *pp = in->next;
                free(in);
            } else {
                pp = &in->next;
            }
        }
    module_impl *mine = NULL;
    for (module_impl **pp = &g_modules; *pp;) {
        module_impl *m = *pp;
        if (m->pub.ctx == ctx) {
            *pp = m->next;
            m->next = mine;
            mine = m;
        } else {
            pp = &m->next;
        }
    }
    pthread_mutex_unlock(&g_mod_lock);
    for (module_impl *m = mine, *next; m; m = next) {
        next = m->next;
        emu_handle_remove(m);
        module_free(m);
    }
}
