/* test_mem_kernel.c: the memory manager as the interpreter sees it (emu_mem_lookup): a kernel
 * stores to device, managed, stream-ordered (pool), page-locked and registered host memory through
 * their device pointers; a store one element past an allocation, or into memory whose
 * cuMemFreeAsync has run, stops the kernel with CUDA_ERROR_ILLEGAL_ADDRESS (sticky, so each
 * fault gets its own context).
 * The kernel is PTX text. Cases run on the shared test framework (tests/common/bft.h), each in its
 * own forked child. */
#include "bft.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct kctx { CUcontext ctx; CUmodule mod; CUfunction fill; } kctx;

/* A fresh context (a fault is sticky) with the fill kernel loaded; fails the case otherwise. */
static void kctx_open(kctx *k)
{
    CHECK_CU(cuCtxCreate(&k->ctx, NULL, 0, bft_device()));
    CHECK_CU(cuModuleLoadData(&k->mod, k_ptx));
    CHECK_CU(cuModuleGetFunction(&k->fill, k->mod, "fill"));
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

BFT_CASE(kernels_reach_every_kind)
{
    bft_cuda_init();
    enum { N = 1000 };
    kctx k;
    kctx_open(&k);
    unsigned h[N];
    CUdeviceptr d, m, q;
    CHECK_CU(cuMemAlloc(&d, N * 4));
    CHECK_CU(fill(&k, d, N, 7, NULL));
    CHECK_CU(cuMemcpyDtoH(h, d, sizeof h));
    EXPECT(count_not(h, N, 7) == 0, "device memory");

    CHECK_CU(cuMemAllocManaged(&m, N * 4, CU_MEM_ATTACH_GLOBAL));
    CHECK_CU(fill(&k, m, N, 8, NULL));
    CHECK_CU(cuCtxSynchronize());
    EXPECT(count_not((unsigned *)(uintptr_t)m, N, 8) == 0, "managed memory seen by the host");

    CUstream s;
    CHECK_CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CHECK_CU(cuMemAllocAsync(&q, N * 4, s));
    CHECK_CU(fill(&k, q, N, 9, s));
    CHECK_CU(cuMemcpyDtoHAsync(h, q, sizeof h, s));
    CHECK_CU(cuMemFreeAsync(q, s));
    CHECK_CU(cuStreamSynchronize(s));
    EXPECT(count_not(h, N, 9) == 0, "pool memory");

    unsigned *pinned;
    CHECK_CU(cuMemAllocHost((void **)&pinned, N * 4));
    CUdeviceptr pd;
    CHECK_CU(cuMemHostGetDevicePointer(&pd, pinned, 0));
    CHECK_CU(fill(&k, pd, N, 10, NULL));
    CHECK_CU(cuCtxSynchronize());
    EXPECT(count_not(pinned, N, 10) == 0, "page-locked host memory");
    CHECK_CU(cuMemFreeHost(pinned));

    unsigned *reg = malloc(N * 4);
    CHECK_CU(cuMemHostRegister(reg, N * 4, CU_MEMHOSTREGISTER_DEVICEMAP));
    CHECK_CU(cuMemHostGetDevicePointer(&pd, reg, 0));
    CHECK_CU(fill(&k, pd, N, 11, NULL));
    CHECK_CU(cuCtxSynchronize());
    EXPECT(count_not(reg, N, 11) == 0, "registered host memory");
    CHECK_CU(cuMemHostUnregister(reg));
    free(reg);

    CHECK_CU(cuStreamDestroy(s));
    CHECK_CU(cuMemFree(d));
    CHECK_CU(cuMemFree(m));
    CHECK_CU(cuCtxDestroy(k.ctx));
}

BFT_CASE(store_past_the_end_faults)
{
    bft_cuda_init();
    kctx k;
    kctx_open(&k);
    CUdeviceptr d;
    CHECK_CU(cuMemAlloc(&d, 1000 * 4));
    CHECK_CU(fill(&k, d, 1000, 1, NULL));
    CHECK_CU(cuCtxSynchronize());
    CHECK_CU(fill(&k, d, 1001, 2, NULL));
    EXPECT_CU(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    CHECK_CU(cuCtxDestroy(k.ctx));
}

BFT_CASE(store_after_async_free_faults)
{
    bft_cuda_init();
    kctx k;
    kctx_open(&k);
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, 0));
    CUdeviceptr q;
    CHECK_CU(cuMemAllocAsync(&q, 4096, s));
    CHECK_CU(cuMemFreeAsync(q, s));
    CHECK_CU(fill(&k, q, 16, 3, s));
    EXPECT_CU(cuStreamSynchronize(s), CUDA_ERROR_ILLEGAL_ADDRESS);
    CHECK_CU(cuCtxDestroy(k.ctx));
}

BFT_CASE(store_to_host_memory_faults)
{
    bft_cuda_init();
    kctx k;
    kctx_open(&k);
    unsigned *plain = malloc(64);
    CHECK_CU(fill(&k, (CUdeviceptr)(uintptr_t)plain, 16, 4, NULL));
    EXPECT_CU(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    free(plain);
    CHECK_CU(cuCtxDestroy(k.ctx));
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

BFT_CASE(lookups_during_churn)
{
    bft_cuda_init();
    enum { N = 4096 };
    kctx k;
    kctx_open(&k);
    CUdeviceptr d;
    CHECK_CU(cuMemAlloc(&d, N * 4));
    churn_arg a = { k.ctx, 0, 0 };
    pthread_t th;
    pthread_create(&th, NULL, churn, &a);
    static unsigned h[N];
    for (unsigned it = 0; it < 60; it++) {
        CHECK_CU(fill(&k, d, N, it, NULL));
        CHECK_CU(cuMemcpyDtoH(h, d, sizeof h));
        EXPECT(count_not(h, N, it) == 0, "iteration %u", it);
    }
    a.stop = 1;
    pthread_join(th, NULL);
    EXPECT(a.errors == 0, "%d errors in the allocating thread", a.errors);
    CHECK_CU(cuMemFree(d));
    CHECK_CU(cuCtxDestroy(k.ctx));
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
