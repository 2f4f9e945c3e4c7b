/* module.c: modules and libraries (owner: shim/). An image is sent whole, so its size must be
 * known: PTX text (strlen), a fatbin (its header), a fatbin wrapper (the fatbin it points to),
 * an ELF cubin (its section and program header tables). Files are read here. Also names
 * (cached here for the life of the process, as the driver's pointers are) and enumerations. JIT
 * options travel with the call; their log buffers are the server's and come back into the
 * caller's. The linker (cuLink*): each call sends its input, the link's logs come back after each
 * call, and the linked image is kept here until cuLinkDestroy, as the driver keeps it. */
#include "rpc.h"
#include "bf_calls.h"
#include <elf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define FATBIN_MAGIC   0xBA55ED50u
#define WRAPPER_MAGIC  0x466243B1u

/* The bytes to send for an image (at most `avail` readable when known, else SIZE_MAX); 0 when its
 * size cannot be told (a fatbin or ELF header that does not hold together: the caller refuses it
 * with CUDA_ERROR_INVALID_IMAGE, as the driver does). */
static size_t image_size_n(const void **img, size_t avail)
{
    const uint8_t *p = *img;
    uint32_t magic;
    if (!p) return 0;
    memcpy(&magic, p, 4);
    if (magic == WRAPPER_MAGIC) {
        uint32_t ver;
        const void *data;
        memcpy(&ver, p + 4, 4);
        memcpy(&data, p + 8, sizeof data);
        if (ver != 1 || !data) return 0;
        *img = data;
        p = data;
        memcpy(&magic, p, 4);
        avail = SIZE_MAX;
    }
    if (magic == FATBIN_MAGIC) {
        uint16_t hsize;
        uint64_t fsize;
        memcpy(&hsize, p + 6, 2);
        memcpy(&fsize, p + 8, 8);
        if (fsize > BF_MAX_FRAME || hsize + fsize > avail) return 0;   /* garbage: refused here */
        return hsize + fsize;
    }
    if (!memcmp(p, ELFMAG, SELFMAG)) {
        Elf64_Ehdr eh;
        memcpy(&eh, p, sizeof eh);
        size_t end = eh.e_shoff + (size_t)eh.e_shnum * eh.e_shentsize;
        size_t pend = eh.e_phoff + (size_t)eh.e_phnum * eh.e_phentsize;
        if (pend > end) end = pend;
        if (end > BF_MAX_FRAME || eh.e_shentsize < sizeof(Elf64_Shdr) || end > avail) return 0;
        for (int i = 0; i < eh.e_shnum; i++) {
            Elf64_Shdr sh;
            memcpy(&sh, p + eh.e_shoff + (size_t)i * eh.e_shentsize, sizeof sh);
            if (sh.sh_type != SHT_NOBITS && sh.sh_offset + sh.sh_size > end) end = sh.sh_offset + sh.sh_size;
        }
        return end <= avail && end <= BF_MAX_FRAME ? end : 0;
    }
    return strnlen((const char *)p, avail == SIZE_MAX ? BF_MAX_FRAME : avail - 1) + 1;
}

static size_t image_size(const void **img) { return image_size_n(img, SIZE_MAX); }

/* JIT options travel as (option, value) pairs; the log buffers are the server's, their contents
 * come back and are copied into the caller's, with the values the driver wrote (sizes, times). */
#define MAXOPT 32
typedef struct jit_opts { unsigned n; CUjit_option *o; void **v; } jit_opts;

static CUresult load(uint32_t fn, void **out, const void *img, size_t n, jit_opts jo)
{
    bf_call c;
    if (jo.n > MAXOPT || (jo.n && (!jo.o || !jo.v))) return CUDA_ERROR_INVALID_VALUE;
    bf_call_init(&c, fn, 0);
    bf_put(&c, jo.n);
    for (unsigned i = 0; i < jo.n; i++) {
        int buf = jo.o[i] == CU_JIT_ERROR_LOG_BUFFER || jo.o[i] == CU_JIT_INFO_LOG_BUFFER;
        bf_put(&c, (uint64_t)jo.o[i]);
        bf_put(&c, buf ? 0 : (uint64_t)(uintptr_t)jo.v[i]);
    }
    bf_put_bytes(&c, img, n);
    CUresult r = bf_invoke(&c);
    uint64_t t = bf_get(&c);
    if (r == CUDA_SUCCESS) { *out = (void *)(uintptr_t)t; bf_token_learn(t); }
    if (c.have_reply) {
        size_t esz = 0, isz = 0;
        for (unsigned i = 0; i < jo.n; i++) {
            uint64_t v = bf_get(&c);
            if (jo.o[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES) esz = (size_t)(uintptr_t)jo.v[i];
            if (jo.o[i] == CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES) isz = (size_t)(uintptr_t)jo.v[i];
            if (jo.o[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES || jo.o[i] == CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES ||
                jo.o[i] == CU_JIT_WALL_TIME)
                jo.v[i] = (void *)(uintptr_t)v;
        }
        for (int k = 0; k < 2; k++) {
            size_t len;
            const void *d = bf_get_bytes_ref(&c, &len);
            CUjit_option want = k ? CU_JIT_INFO_LOG_BUFFER : CU_JIT_ERROR_LOG_BUFFER;
            size_t cap = k ? isz : esz;
            for (unsigned i = 0; i < jo.n && d; i++)
                if (jo.o[i] == want && jo.v[i] && cap) memcpy(jo.v[i], d, len < cap ? len : cap);
        }
    }
    bf_call_done(&c);
    return r;
}

static size_t linked_image_size(const void *img);

static CUresult load_image(uint32_t fn, void **out, const void *img, jit_opts jo)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!out || !img) return CUDA_ERROR_INVALID_VALUE;
    size_t n = linked_image_size(img);        /* an image cuLinkComplete gave: its size is known */
    if (!n) n = image_size(&img);
    if (n == 0 || n > BF_MAX_FRAME - 4096) return CUDA_ERROR_INVALID_IMAGE;
    return load(fn, out, img, n, jo);
}

static CUresult load_file(uint32_t fn, void **out, const char *path)
{
    jit_opts none = { 0, NULL, NULL };
    if (!bf_connected()) return bf_not_connected_result();
    if (!out || !path) return CUDA_ERROR_INVALID_VALUE;
    FILE *f = fopen(path, "rb");
    if (!f) return CUDA_ERROR_FILE_NOT_FOUND;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { fclose(f); free(buf); return CUDA_ERROR_FILE_NOT_FOUND; }
    fclose(f);
    buf[n] = 0;
    const void *img = buf;
    size_t sz = image_size_n(&img, (size_t)n + 1);
    CUresult r = load(fn, out, img, img == buf && sz && sz <= (size_t)n + 1 ? sz : (size_t)n + 1, none);
    free(buf);
    return r;
}

#define NOOPTS ((jit_opts){ 0, NULL, NULL })
BF_API CUresult CUDAAPI cuModuleLoadData(CUmodule *m, const void *img) { return load_image(BF_FN_cuModuleLoadData, (void **)m, img, NOOPTS); }
BF_API CUresult CUDAAPI cuModuleLoadDataEx(CUmodule *m, const void *img, unsigned int n, CUjit_option *o, void **v)
{
    return load_image(BF_FN_cuModuleLoadDataEx, (void **)m, img, (jit_opts){ n, o, v });
}
BF_API CUresult CUDAAPI cuModuleLoadFatBinary(CUmodule *m, const void *img) { return load_image(BF_FN_cuModuleLoadFatBinary, (void **)m, img, NOOPTS); }
BF_API CUresult CUDAAPI cuModuleLoad(CUmodule *m, const char *path) { return load_file(BF_FN_cuModuleLoad, (void **)m, path); }
BF_API CUresult CUDAAPI cuLibraryLoadData(CUlibrary *l, const void *code, CUjit_option *jo, void **jv,
                                          unsigned int nj, CUlibraryOption *lo, void **lv, unsigned int nl)
{
    return load_image(BF_FN_cuLibraryLoadData, (void **)l, code, (jit_opts){ nj, jo, jv });
}
BF_API CUresult CUDAAPI cuLibraryLoadFromFile(CUlibrary *l, const char *path, CUjit_option *jo, void **jv,
                                              unsigned int nj, CUlibraryOption *lo, void **lv, unsigned int nl)
{
    return load_file(BF_FN_cuLibraryLoadFromFile, (void **)l, path);
}

/* ---- names and enumerations ----------------------------------------------------------------------- */
static pthread_mutex_t g_names_lock = PTHREAD_MUTEX_INITIALIZER;
typedef struct bf_name { uint64_t h; char *s; struct bf_name *next; } bf_name;
static bf_name *g_names;

static const char *intern(uint64_t h, const char *s)
{
    pthread_mutex_lock(&g_names_lock);
    bf_name *n = g_names;
    while (n && !(n->h == h && !strcmp(n->s, s))) n = n->next;
    if (!n && (n = calloc(1, sizeof *n)) && (n->s = strdup(s))) {
        n->h = h;
        n->next = g_names;
        g_names = n;
    }
    pthread_mutex_unlock(&g_names_lock);
    return n ? n->s : NULL;
}

static CUresult get_name(uint32_t fn, const char **name, void *h)
{
    if (!bf_connected()) return bf_not_connected_result();
    bf_call c;
    bf_call_init(&c, fn, 0);
    bf_put(&c, name != NULL);
    bf_put(&c, (uint64_t)(uintptr_t)h);
    CUresult r = bf_invoke(&c);
    size_t n;
    const char *s = bf_get_bytes_ref(&c, &n);
    if (r == CUDA_SUCCESS && name) *name = s && n && s[n - 1] == 0 ? intern((uint64_t)(uintptr_t)h, s) : NULL;
    bf_call_done(&c);
    return r;
}

BF_API CUresult CUDAAPI cuFuncGetName(const char **name, CUfunction f) { return get_name(BF_FN_cuFuncGetName, name, f); }
BF_API CUresult CUDAAPI cuKernelGetName(const char **name, CUkernel k) { return get_name(BF_FN_cuKernelGetName, name, k); }

static CUresult enumerate(uint32_t fn, void **out, unsigned n, void *cont)
{
    if (!bf_connected()) return bf_not_connected_result();
    bf_call c;
    bf_call_init(&c, fn, 0);
    bf_put(&c, out != NULL);
    bf_put(&c, n);
    bf_put(&c, (uint64_t)(uintptr_t)cont);
    CUresult r = bf_invoke(&c);
    for (unsigned i = 0; i < n; i++) {
        uint64_t t = bf_get(&c);
        if (r == CUDA_SUCCESS && out) { out[i] = (void *)(uintptr_t)t; bf_token_learn(t); }
    }
    bf_call_done(&c);
    return r;
}

BF_API CUresult CUDAAPI cuModuleEnumerateFunctions(CUfunction *f, unsigned int n, CUmodule m)
{
    return enumerate(BF_FN_cuModuleEnumerateFunctions, (void **)f, n, m);
}
BF_API CUresult CUDAAPI cuLibraryEnumerateKernels(CUkernel *k, unsigned int n, CUlibrary l)
{
    return enumerate(BF_FN_cuLibraryEnumerateKernels, (void **)k, n, l);
}

/* ---- the linker ------------------------------------------------------------------------------ */
typedef struct bf_link {
    uint64_t token;
    char *log[2];                   /* the caller's error and info log buffers */
    size_t size[2];
    void *image;                    /* cuLinkComplete's output */
    size_t image_size;
    struct bf_link *next;
} bf_link;
static bf_link *g_links;            /* under g_names_lock */

static size_t linked_image_size(const void *img)
{
    size_t n = 0;
    pthread_mutex_lock(&g_names_lock);
    for (bf_link *l = g_links; l; l = l->next)
        if (l->image == img) n = l->image_size;
    pthread_mutex_unlock(&g_names_lock);
    return n;
}

static void link_logs(uint64_t token, bf_call *c)
{
    pthread_mutex_lock(&g_names_lock);
    bf_link *l = g_links;
    while (l && l->token != token) l = l->next;
    for (int k = 0; k < 2; k++) {
        size_t n;
        const void *d = bf_get_bytes_ref(c, &n);
        if (l && l->log[k] && l->size[k] && d && n) memcpy(l->log[k], d, n < l->size[k] ? n : l->size[k]);
    }
    pthread_mutex_unlock(&g_names_lock);
}

BF_API CUresult CUDAAPI cuLinkCreate(unsigned int n, CUjit_option *o, void **v, CUlinkState *out)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (n > MAXOPT || (n && (!o || !v))) return CUDA_ERROR_INVALID_VALUE;
    bf_link *l = calloc(1, sizeof *l);
    if (!l) return CUDA_ERROR_OUT_OF_MEMORY;
    bf_call c;
    bf_call_init(&c, BF_FN_cuLinkCreate, 0);
    bf_put(&c, n);
    for (unsigned i = 0; i < n; i++) {
        int k = o[i] == CU_JIT_ERROR_LOG_BUFFER ? 0 : o[i] == CU_JIT_INFO_LOG_BUFFER ? 1 : -1;
        if (k >= 0) l->log[k] = v[i];
        if (o[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES) l->size[0] = (size_t)(uintptr_t)v[i];
        if (o[i] == CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES) l->size[1] = (size_t)(uintptr_t)v[i];
        bf_put(&c, (uint64_t)o[i]);
        bf_put(&c, k >= 0 ? 0 : (uint64_t)(uintptr_t)v[i]);
    }
    CUresult r = bf_invoke(&c);
    l->token = bf_get(&c);
    if (r == CUDA_SUCCESS && out) {
        *out = (CUlinkState)(uintptr_t)l->token;
        bf_token_learn(l->token);
        pthread_mutex_lock(&g_names_lock);
        l->next = g_links;
        g_links = l;
        pthread_mutex_unlock(&g_names_lock);
        link_logs(l->token, &c);
    } else {
        free(l);
    }
    bf_call_done(&c);
    return r;
}

static CUresult link_add(uint32_t fn, CUlinkState st, CUjitInputType type, const void *data, size_t size,
                         const char *name)
{
    bf_call c;
    bf_call_init(&c, fn, 0);
    bf_put(&c, (uint64_t)(uintptr_t)st);
    bf_put(&c, (uint64_t)type);
    bf_put_bytes(&c, data, size);
    bf_put_str(&c, name);
    CUresult r = bf_invoke(&c);
    if (c.have_reply) link_logs((uint64_t)(uintptr_t)st, &c);
    bf_call_done(&c);
    return r;
}

BF_API CUresult CUDAAPI cuLinkAddData(CUlinkState st, CUjitInputType type, void *data, size_t size, const char *name,
                                      unsigned int n, CUjit_option *o, void **v)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!data) return CUDA_ERROR_INVALID_VALUE;
    if (type == CU_JIT_INPUT_PTX) size = strnlen(data, size ? size : (size_t)BF_MAX_FRAME);
    if (size > BF_MAX_FRAME - 4096) return CUDA_ERROR_INVALID_VALUE;
    return link_add(BF_FN_cuLinkAddData, st, type, data, size, name);
}

BF_API CUresult CUDAAPI cuLinkAddFile(CUlinkState st, CUjitInputType type, const char *path, unsigned int n,
                                      CUjit_option *o, void **v)
{
    if (!bf_connected()) return bf_not_connected_result();
    if (!path) return CUDA_ERROR_INVALID_VALUE;
    FILE *f = fopen(path, "rb");
    if (!f) return CUDA_ERROR_FILE_NOT_FOUND;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = len >= 0 && (size_t)len < BF_MAX_FRAME - 4096 ? malloc((size_t)len + 1) : NULL;
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) { fclose(f); free(buf); return CUDA_ERROR_FILE_NOT_FOUND; }
    fclose(f);
    buf[len] = 0;
    CUresult r = link_add(BF_FN_cuLinkAddFile, st, type, buf, (size_t)len, path);
    free(buf);
    return r;
}

BF_API CUresult CUDAAPI cuLinkComplete(CUlinkState st, void **cubin, size_t *size)
{
    if (!bf_connected()) return bf_not_connected_result();
    bf_call c;
    bf_call_init(&c, BF_FN_cuLinkComplete, 0);
    bf_put(&c, (uint64_t)(uintptr_t)st);
    bf_put(&c, cubin != NULL);
    bf_put(&c, size != NULL);
    CUresult r = bf_invoke(&c);
    if (c.have_reply) link_logs((uint64_t)(uintptr_t)st, &c);
    size_t n;
    const void *img = bf_get_bytes_ref(&c, &n);
    if (r == CUDA_SUCCESS) {
        void *copy = malloc(n ? n : 1);
        pthread_mutex_lock(&g_names_lock);
        bf_link *l = g_links;
        while (l && l->token != (uint64_t)(uintptr_t)st) l = l->next;
        if (copy && img) memcpy(copy, img, n);
        if (l) { free(l->image); l->image = copy; l->image_size = n; } else { free(copy); copy = NULL; }
        pthread_mutex_unlock(&g_names_lock);
        if (!copy) r = CUDA_ERROR_OUT_OF_MEMORY;
        else { if (cubin) *cubin = copy; if (size) *size = n; }
    }
    bf_call_done(&c);
    return r;
}

BF_API CUresult CUDAAPI cuLinkDestroy(CUlinkState st)
{
    if (!bf_connected()) return bf_not_connected_result();
    bf_call c;
    bf_call_init(&c, BF_FN_cuLinkDestroy, 0);
    bf_put(&c, (uint64_t)(uintptr_t)st);
    CUresult r = bf_invoke(&c);
    bf_call_done(&c);
    if (r != CUDA_SUCCESS) return r;
    bf_token_forget((uint64_t)(uintptr_t)st);
    pthread_mutex_lock(&g_names_lock);
    for (bf_link **pp = &g_links; *pp; pp = &(*pp)->next)
        if ((*pp)->token == (uint64_t)(uintptr_t)st) {
            bf_link *l = *pp;
            *pp = l->next;
            free(l->image);
            free(l);
            break;
        }
    pthread_mutex_unlock(&g_names_lock);
    return r;
}
