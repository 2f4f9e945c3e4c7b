/* bft_cuda.c: CUDA-side helpers of the test helper library (see bft.h): init and primary
 * context, kernel directory and fatbin modules, launches, tracked device/host buffers, module
 * globals, error names, free device memory, fd capture and the stream gate. Everything a case
 * acquires is released by bft_case_cleanup() when the case ends. */
#include "bft.h"
#include "bft_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct bft_mod { char *name; CUmodule mod; void *image; } bft_mod;

static int g_inited;
static CUdevice g_dev;
static CUcontext g_ctx;
static CUdeviceptr *g_dptrs;
static size_t g_ndptrs, g_capdptrs;
static void **g_hptrs;
static size_t g_nhptrs, g_caphptrs;
static CUcontext *g_ctxs;
static size_t g_nctxs, g_capctxs;
static bft_mod *g_mods;
static size_t g_nmods, g_capmods;
static int g_cap_saved[3] = { -1, -1, -1 };
static FILE *g_cap_file[3];
static char g_kdir[PATH_MAX];

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return p;
    *cap = *cap ? *cap * 2 : 32;
    p = realloc(p, *cap * elem);
    if (!p) { perror("bft: realloc"); abort(); }
    return p;
}

const char *bft_cu_name(CUresult r)
{
    static __thread char buf[40];
    const char *s = NULL;
    if (cuGetErrorName(r, &s) == CUDA_SUCCESS && s) return s;
    snprintf(buf, sizeof buf, "CUresult(%d)", (int)r);
    return buf;
}

void bft_cuda_init(void)
{
    if (g_inited) return;
    CHECK_CU(cuInit(0));
    CHECK_CU(cuDeviceGet(&g_dev, 0));
    CHECK_CU(cuDevicePrimaryCtxRetain(&g_ctx, g_dev));
    g_inited = 1;
    CHECK_CU(cuCtxSetCurrent(g_ctx));
}

CUdevice bft_device(void) { bft_cuda_init(); return g_dev; }
CUcontext bft_context(void) { bft_cuda_init(); return g_ctx; }

CUcontext bft_ctx_create(CUdevice dev)
{
    CUcontext c;
    CHECK_CU(cuInit(0));
    CHECK_CU(cuCtxCreate(&c, NULL, 0, dev));
    g_ctxs = grow(g_ctxs, &g_capctxs, g_nctxs, sizeof *g_ctxs);
    g_ctxs[g_nctxs++] = c;
    return c;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *bft_kernel_dir(void)
{
    const char *e;
    char exe[PATH_MAX];
    ssize_t n;
    if (g_kdir[0]) return g_kdir;
    e = getenv("BF_TEST_KERNELS");
    if (e && *e) {
        snprintf(g_kdir, sizeof g_kdir, "%s", e);
        return g_kdir;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        char *slash;
        exe[n] = 0;
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(g_kdir, sizeof g_kdir, "%.*s/../kernels", (int)(sizeof g_kdir - 16), exe);
            if (is_dir(g_kdir)) return g_kdir;
        }
    }
    e = getenv("B");
    snprintf(g_kdir, sizeof g_kdir, "%.*s/tests/kernels", (int)(sizeof g_kdir - 16),
             e && *e ? e : "build");
    return g_kdir;
}

char *bft_kernel_path(const char *file)
{
    const char *d = bft_kernel_dir();
    size_t n = strlen(d) + strlen(file) + 2;
    char *p = bft_alloc(n);
    snprintf(p, n, "%s/%s", d, file);
    return p;
}

void *bft_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long sz;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = bft_alloc((size_t)sz + 1);
    if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[sz] = 0;
    if (len) *len = (size_t)sz;
    return buf;
}

CUmodule bft_module(const char *name)
{
    char file[256];
    char *path;
    void *img;
    CUmodule m;
    bft_cuda_init();
    for (size_t i = 0; i < g_nmods; i++)
        if (strcmp(g_mods[i].name, name) == 0) return g_mods[i].mod;
    snprintf(file, sizeof file, "%s.fatbin", name);
    path = bft_kernel_path(file);
    img = bft_read_file(path, NULL);
    if (!img)
        bft_fatalf(__FILE__, __LINE__, "cannot read %s: %s (build the kernels: make tests, or set "
                   "BF_TEST_KERNELS)", path, strerror(errno));
    CHECK_CU(cuModuleLoadData(&m, img));
    g_mods = grow(g_mods, &g_capmods, g_nmods, sizeof *g_mods);
    g_mods[g_nmods].name = strdup(name);
    g_mods[g_nmods].mod = m;
    g_mods[g_nmods].image = img;
    g_nmods++;
    return m;
}

CUfunction bft_func(const char *module, const char *fn)
{
    CUfunction f;
    CUmodule m = bft_module(module);
    CUresult r = cuModuleGetFunction(&f, m, fn);
    if (r != CUDA_SUCCESS)
        bft_fatalf(__FILE__, __LINE__, "cuModuleGetFunction(%s, \"%s\") -> %s", module, fn, bft_cu_name(r));
    return f;
}

CUdeviceptr bft_global(const char *module, const char *name, size_t *size)
{
    CUdeviceptr d;
    size_t sz;
    CUmodule m = bft_module(module);
    CUresult r = cuModuleGetGlobal(&d, &sz, m, name);
    if (r != CUDA_SUCCESS)
        bft_fatalf(__FILE__, __LINE__, "cuModuleGetGlobal(%s, \"%s\") -> %s", module, name, bft_cu_name(r));
    if (size) *size = sz;
    return d;
}

void bft_launch(CUfunction f, bft_dim3 grid, bft_dim3 block, unsigned smem, void **args)
{
    CUresult r = cuLaunchKernel(f, grid.x, grid.y, grid.z, block.x, block.y, block.z, smem, NULL, args, NULL);
    if (r != CUDA_SUCCESS)
        bft_fatalf(__FILE__, __LINE__, "cuLaunchKernel(grid %u,%u,%u block %u,%u,%u smem %u) -> %s",
                   grid.x, grid.y, grid.z, block.x, block.y, block.z, smem, bft_cu_name(r));
}

void bft_sync(void)
{
    CHECK_CU(cuCtxSynchronize());
}

void *bft_alloc(size_t bytes)
{
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) bft_fatalf(__FILE__, __LINE__, "out of host memory (%zu bytes)", bytes);
    g_hptrs = grow(g_hptrs, &g_caphptrs, g_nhptrs, sizeof *g_hptrs);
    g_hptrs[g_nhptrs++] = p;
    return p;
}

CUdeviceptr bft_dalloc(size_t bytes)
{
    CUdeviceptr d;
    bft_cuda_init();
    CHECK_CU(cuMemAlloc(&d, bytes ? bytes : 1));
    g_dptrs = grow(g_dptrs, &g_capdptrs, g_ndptrs, sizeof *g_dptrs);
    g_dptrs[g_ndptrs++] = d;
    CHECK_CU(cuMemsetD8(d, 0, bytes ? bytes : 1));
    return d;
}

void bft_upload(CUdeviceptr d, const void *host, size_t bytes)
{
    CHECK_CU(cuMemcpyHtoD(d, host, bytes));
}

void bft_download(void *host, CUdeviceptr d, size_t bytes)
{
    CHECK_CU(cuMemcpyDtoH(host, d, bytes));
}

CUdeviceptr bft_dup(const void *host, size_t bytes)
{
    CUdeviceptr d = bft_dalloc(bytes);
    bft_upload(d, host, bytes);
    return d;
}

size_t bft_free_mem(void)
{
    size_t f = 0, t = 0;
    CHECK_CU(cuMemGetInfo(&f, &t));
    return f;
}

void bft_gate_init(bft_gate *g)
{
    pthread_mutex_init(&g->m, NULL);
    pthread_cond_init(&g->c, NULL);
    g->open = 0;
}

void CUDA_CB bft_gate_wait(void *gate)
{
    bft_gate *g = gate;
    pthread_mutex_lock(&g->m);
    while (!g->open)
        pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
}

void bft_gate_hold(bft_gate *g, CUstream s)
{
    bft_gate_init(g);
    CHECK_CU(cuLaunchHostFunc(s, bft_gate_wait, g));
}

void bft_gate_open(bft_gate *g)
{
    pthread_mutex_lock(&g->m);
    g->open = 1;
    pthread_cond_broadcast(&g->c);
    pthread_mutex_unlock(&g->m);
}

void bft_capture_begin(int fd)
{
    FILE *tmp;
    if (fd < 1 || fd > 2 || g_cap_saved[fd] >= 0)
        bft_fatalf(__FILE__, __LINE__, "bft_capture_begin(%d): bad fd or already capturing", fd);
    fflush(stdout);
    fflush(stderr);
    tmp = tmpfile();
    if (!tmp) bft_fatalf(__FILE__, __LINE__, "tmpfile: %s", strerror(errno));
    g_cap_saved[fd] = dup(fd);
    if (g_cap_saved[fd] < 0 || dup2(fileno(tmp), fd) < 0) {
        fclose(tmp);
        bft_fatalf(__FILE__, __LINE__, "dup: %s", strerror(errno));
    }
    g_cap_file[fd] = tmp;
}

char *bft_capture_end(int fd)
{
    FILE *tmp;
    long sz;
    char *buf;
    if (fd < 1 || fd > 2 || g_cap_saved[fd] < 0)
        bft_fatalf(__FILE__, __LINE__, "bft_capture_end(%d): not capturing", fd);
    fflush(stdout);
    fflush(stderr);
    dup2(g_cap_saved[fd], fd);
    close(g_cap_saved[fd]);
    g_cap_saved[fd] = -1;
    tmp = g_cap_file[fd];
    g_cap_file[fd] = NULL;
    fseek(tmp, 0, SEEK_END);
    sz = ftell(tmp);
    if (sz < 0) sz = 0;
    buf = bft_alloc((size_t)sz + 1);
    fseek(tmp, 0, SEEK_SET);
    if (fread(buf, 1, (size_t)sz, tmp) != (size_t)sz) sz = 0;
    buf[sz] = 0;
    fclose(tmp);
    return buf;
}

void bft_case_cleanup(void)
{
    for (int fd = 1; fd <= 2; fd++)
        if (g_cap_saved[fd] >= 0) (void)bft_capture_end(fd);
    if (g_inited) {
        for (size_t i = 0; i < g_ndptrs; i++) (void)cuMemFree(g_dptrs[i]);
        for (size_t i = 0; i < g_nmods; i++) (void)cuModuleUnload(g_mods[i].mod);
    }
    for (size_t i = g_nctxs; i-- > 0;) (void)cuCtxDestroy(g_ctxs[i]);
    g_nctxs = 0;
    free(g_ctxs); g_ctxs = NULL; g_capctxs = 0;
    for (size_t i = 0; i < g_nmods; i++) free(g_mods[i].name);
    g_nmods = 0;
    g_ndptrs = 0;
    if (g_inited) {
        (void)cuCtxSetCurrent(NULL);
        (void)cuDevicePrimaryCtxRelease(g_dev);
        g_inited = 0;
    }
    for (size_t i = 0; i < g_nhptrs; i++) free(g_hptrs[i]);
    g_nhptrs = 0;
    free(g_dptrs); g_dptrs = NULL; g_capdptrs = 0;
    free(g_hptrs); g_hptrs = NULL; g_caphptrs = 0;
    free(g_mods); g_mods = NULL; g_capmods = 0;
}
