/* test_mem_kernel.c: the memory manager as the interpreter sees it (emu_mem_lookup): a kernel
 * stores to device, managed, stream-ordered (pool), page-locked and registered host memory through
 * their device pointers; a store one element past an allocation, or into memory whose
 * cuMemFreeAsync has run, stops the kernel with CUDA_ERROR_ILLEGAL_ADDRESS (sticky, so each
 * fault gets its own context).
 * Self-contained (the kernel is PTX text): one line per failed check, a PASS/FAIL line per case,
 * the `cases:` summary, and a non-zero exit status on failure. */
#include <cuda.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_case_fail, g_passed, g_failed;

static const char *errname(CUresult r)
{
    const char *s = NULL;
    cuGetErrorName(r, &s);
    return s ? s : "?";
}

#define CHECK(cond, ...) do {                                                                    \
        if (!(cond)) {                                                                           \
            g_case_fail++;                                                                       \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                               \
            printf(__VA_ARGS__);                                                                 \
            printf("\n");                                                                        \
        }                                                                                        \
    } while (0)
#define EXPECT(call, want) do {                                                                  \
        CUresult r_ = (call), w_ = (want);                                                       \
        if (r_ != w_) {                                                                          \
            g_case_fail++;                                                                       \
            printf("FAIL %s:%d: %s -> %s, expected %s\n", __FILE__, __LINE__, #call, errname(r_), \
                   errname(w_));                                                                 \
        }                                                                                        \
    } while (0)
#define OK(call) EXPECT(call, CUDA_SUCCESS)

static void run_case(const char *name, void (*fn)(void))
{
    g_case_fail = 0;
    fn();
    if (g_case_fail) {
        g_failed++;
        printf("FAIL  %-40s (%d checks failed)\n", name, g_case_fail);
    } else {
        g_passed++;
        printf("PASS  %s\n", name);
    }
}
#define RUN(fn) run_case(#fn, fn)

/* fill(p, n, v): p[i] = v for i < n, one thread per element. */
static const char *k_ptx =
    ".version 7.0\n.target sm_80\n.address_size 64\n"
    ".visible .entry fill(.param .u64 p, .param .u32 n, .param .u32 v)\n{\n"
    "  .reg .u32 %r<6>;\n  .reg .u64 %rd<4>;\n  .reg .pred %p1;\n"
    "  ld.param.u64 %rd1, [p];\n  ld.param.u32 %r1, [n];\n  ld.param.u32 %r2, [v];\n"
    "  mov.u32 %r3, %tid.x;\n  mov.u32 %r4, %ctaid.x;\n  mov.u32 %r5, %ntid.x;\n"
    "  mad.lo.u32 %r3, %r4, %r5, %r3;\n  setp.ge.u32 %p1, %r3, %r1;\n  @%p1 bra DONE;\n"
    "  cvta.to.global.u64 %rd1, %rd1;\n  mul.wide.u32 %rd2, %r3, 4;\n  add.u64 %rd3, %rd1, %rd2;\n"
    "  st.global.u32 [%rd3], %r2;\nDONE:\n  ret;\n}\n";

static CUdevice g_dev;

typedef struct kctx { CUcontext ctx; CUmodule mod; CUfunction fill; } kctx;

static int kctx_open(kctx *k)
{
    if (cuCtxCreate(&k->ctx, NULL, 0, g_dev) != CUDA_SUCCESS || cuModuleLoadData(&k->mod, k_ptx) != CUDA_SUCCESS ||
        cuModuleGetFunction(&k->fill, k->mod, "fill") != CUDA_SUCCESS) {
        printf("FAIL cannot load the fill kernel\n");
        g_case_fail++;
        return -1;
    }
    return 0;
}

static CUresult fill(const kctx *k, CUdeviceptr p, unsigned n, unsigned v, CUstream s)
{
    void *args[] = { &p, &n, &v };
    return cuLaunchKernel(k->fill, (n + 127) / 128, 1, 1, 128, 1, 1, 0, s, args, NULL);
}

static unsigned count_not(const unsigned *p, unsigned n, unsigned v)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < n; i++)
        bad += p[i] != v;
    return bad;
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void kernels_reach_every_kind(void)
{
    enum { N = 1000 };
    kctx k;
    if (kctx_open(&k))
        return;
    unsigned h[N];
    CUdeviceptr d, m, q;
    OK(cuMemAlloc(&d, N * 4));
    OK(fill(&k, d, N, 7, NULL));
    OK(cuMemcpyDtoH(h, d, sizeof h));
    CHECK(count_not(h, N, 7) == 0, "device memory");

    OK(cuMemAllocManaged(&m, N * 4, CU_MEM_ATTACH_GLOBAL));
    OK(fill(&k, m, N, 8, NULL));
    OK(cuCtxSynchronize());
    CHECK(count_not((unsigned *)(uintptr_t)m, N, 8) == 0, "managed memory seen by the host");

    CUstream s;
    OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    OK(cuMemAllocAsync(&q, N * 4, s));
    OK(fill(&k, q, N, 9, s));
    OK(cuMemcpyDtoHAsync(h, q, sizeof h, s));
    OK(cuMemFreeAsync(q, s));
    OK(cuStreamSynchronize(s));
    CHECK(count_not(h, N, 9) == 0, "pool memory");

    unsigned *pinned;
    OK(cuMemAllocHost((void **)&pinned, N * 4));
    CUdeviceptr pd;
    OK(cuMemHostGetDevicePointer(&pd, pinned, 0));
    OK(fill(&k, pd, N, 10, NULL));
    OK(cuCtxSynchronize());
    CHECK(count_not(pinned, N, 10) == 0, "page-locked host memory");
    OK(cuMemFreeHost(pinned));

    unsigned *reg = malloc(N * 4);
    OK(cuMemHostRegister(reg, N * 4, CU_MEMHOSTREGISTER_DEVICEMAP));
    OK(cuMemHostGetDevicePointer(&pd, reg, 0));
    OK(fill(&k, pd, N, 11, NULL));
    OK(cuCtxSynchronize());
    CHECK(count_not(reg, N, 11) == 0, "registered host memory");
    OK(cuMemHostUnregister(reg));
    free(reg);

    OK(cuStreamDestroy(s));
    OK(cuMemFree(d));
    OK(cuMemFree(m));
    OK(cuCtxDestroy(k.ctx));
}

static void store_past_the_end_faults(void)
{
    kctx k;
    if (kctx_open(&k))
        return;
    CUdeviceptr d;
    OK(cuMemAlloc(&d, 1000 * 4));
    OK(fill(&k, d, 1000, 1, NULL));
    OK(cuCtxSynchronize());
    OK(fill(&k, d, 1001, 2, NULL));
    EXPECT(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    OK(cuCtxDestroy(k.ctx));
}

static void store_after_async_free_faults(void)
{
    kctx k;
    if (kctx_open(&k))
        return;
    CUstream s;
    OK(cuStreamCreate(&s, 0));
    CUdeviceptr q;
    OK(cuMemAllocAsync(&q, 4096, s));
    OK(cuMemFreeAsync(q, s));
    OK(fill(&k, q, 16, 3, s));
    EXPECT(cuStreamSynchronize(s), CUDA_ERROR_ILLEGAL_ADDRESS);
    OK(cuCtxDestroy(k.ctx));
}

static void store_to_host_memory_faults(void)
{
    kctx k;
    if (kctx_open(&k))
        return;
    unsigned *plain = malloc(64);
    OK(fill(&k, (CUdeviceptr)(uintptr_t)plain, 16, 4, NULL));
    EXPECT(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    free(plain);
    OK(cuCtxDestroy(k.ctx));
}

/* Kernels keep finding a stable buffer while another thread allocates and frees around it (the
 * interpreter's lookups run concurrently with table updates). */
typedef struct churn_arg { CUcontext ctx; volatile int stop; int errors; } churn_arg;

static void *churn(void *p)
{
    churn_arg *a = p;
    CUdeviceptr ring[64] = { 0 };
    if (cuCtxSetCurrent(a->ctx) != CUDA_SUCCESS)
        a->errors++;
    for (unsigned i = 0; !a->stop; i++) {
        unsigned slot = i % 64;
        if (ring[slot] && cuMemFree(ring[slot]) != CUDA_SUCCESS)
            a->errors++;
        ring[slot] = 0;
        if (cuMemAlloc(&ring[slot], 64 + (i * 97) % 9000) != CUDA_SUCCESS)
            a->errors++;
    }
    for (unsigned s = 0; s < 64; s++)
        if (ring[s] && cuMemFree(ring[s]) != CUDA_SUCCESS)
            a->errors++;
    return NULL;
}

static void lookups_during_churn(void)
{
    enum { N = 4096 };
    kctx k;
    if (kctx_open(&k))
        return;
    CUdeviceptr d;
    OK(cuMemAlloc(&d, N * 4));
    churn_arg a = { k.ctx, 0, 0 };
    pthread_t th;
    pthread_create(&th, NULL, churn, &a);
    static unsigned h[N];
    for (unsigned it = 0; it < 60; it++) {
        OK(fill(&k, d, N, it, NULL));
        OK(cuMemcpyDtoH(h, d, sizeof h));
        CHECK(count_not(h, N, it) == 0, "iteration %u", it);
    }
    a.stop = 1;
    pthread_join(th, NULL);
    CHECK(a.errors == 0, "%d errors in the allocating thread", a.errors);
    OK(cuMemFree(d));
    OK(cuCtxDestroy(k.ctx));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* lines survive a crash or a sanitizer exit */
    if (cuInit(0) != CUDA_SUCCESS || cuDeviceGet(&g_dev, 0) != CUDA_SUCCESS) {
        printf("FAIL cannot initialise the software GPU\n");
        return 1;
    }
    RUN(kernels_reach_every_kind);
    RUN(lookups_during_churn);
    RUN(store_past_the_end_faults);
    RUN(store_after_async_free_faults);
    RUN(store_to_host_memory_faults);
    printf("cases: %d passed, %d failed, 0 skipped\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
