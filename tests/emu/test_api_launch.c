/* test_api_launch.c: modules, functions, launches and occupancy with PTX kernels embedded as
 * text: cuModuleLoadData(Ex) (with JIT log buffers), functions and their attributes/parameters,
 * module globals (initialised and constant), launches through kernelParams and the `extra`
 * buffer, launch-configuration errors, dynamic shared memory opt-in, cooperative limits,
 * cuLaunchKernelEx, the library API (CUkernel launched directly), the linker (two PTX inputs
 * sharing an .extern global), sticky faults, unloading, occupancy. Needs the interpreter and the
 * memory manager. Self-contained: prints one line per failed check, exits non-zero on failure. */
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_check.h"

/* nvcc -arch=sm_80 -ptx of: vecadd(a,b,c,n); __device__ int g_value = 5; __constant__ int
 * c_add[2]; read_global(out): out[t] = g_value + c_add[t&1]; poke(p): p[t] = 1;
 * dyn_smem(out): reverse through extern __shared__. */
static const char *k_ptx =
    ".version 8.0\n.target sm_80\n.address_size 64\n"
    ".global .align 4 .u32 g_value = 5;\n"
    ".const .align 4 .b8 c_add[8];\n"
    ".extern .shared .align 16 .b8 s[];\n"
    ".visible .entry vecadd(.param .u64 vecadd_param_0, .param .u64 vecadd_param_1,\n"
    "    .param .u64 vecadd_param_2, .param .u32 vecadd_param_3)\n"
    "{\n"
    "  .reg .pred %p<2>; .reg .f32 %f<4>; .reg .b32 %r<6>; .reg .b64 %rd<11>;\n"
    "  ld.param.u64 %rd1, [vecadd_param_0];\n"
    "  ld.param.u64 %rd2, [vecadd_param_1];\n"
    "  ld.param.u64 %rd3, [vecadd_param_2];\n"
    "  ld.param.u32 %r2, [vecadd_param_3];\n"
    "  mov.u32 %r3, %ctaid.x;\n  mov.u32 %r4, %ntid.x;\n  mov.u32 %r5, %tid.x;\n"
    "  mad.lo.s32 %r1, %r3, %r4, %r5;\n"
    "  setp.ge.s32 %p1, %r1, %r2;\n"
    "  @%p1 bra $L__BB0_2;\n"
    "  cvta.to.global.u64 %rd4, %rd1;\n  mul.wide.s32 %rd5, %r1, 4;\n  add.s64 %rd6, %rd4, %rd5;\n"
    "  cvta.to.global.u64 %rd7, %rd2;\n  add.s64 %rd8, %rd7, %rd5;\n"
    "  ld.global.f32 %f1, [%rd8];\n  ld.global.f32 %f2, [%rd6];\n  add.f32 %f3, %f2, %f1;\n"
    "  cvta.to.global.u64 %rd9, %rd3;\n  add.s64 %rd10, %rd9, %rd5;\n  st.global.f32 [%rd10], %f3;\n"
    "$L__BB0_2:\n  ret;\n}\n"
    ".visible .entry read_global(.param .u64 read_global_param_0)\n"
    "{\n"
    "  .reg .b32 %r<6>; .reg .b64 %rd<9>;\n"
    "  ld.param.u64 %rd1, [read_global_param_0];\n  cvta.to.global.u64 %rd2, %rd1;\n"
    "  ld.global.u32 %r1, [g_value];\n  mov.u32 %r2, %tid.x;\n  shl.b32 %r3, %r2, 2;\n"
    "  cvt.u64.u32 %rd3, %r3;\n  and.b64 %rd4, %rd3, 4;\n  mov.u64 %rd5, c_add;\n  add.s64 %rd6, %rd5, %rd4;\n"
    "  ld.const.u32 %r4, [%rd6];\n  add.s32 %r5, %r4, %r1;\n  mul.wide.u32 %rd7, %r2, 4;\n"
    "  add.s64 %rd8, %rd2, %rd7;\n  st.global.u32 [%rd8], %r5;\n  ret;\n}\n"
    ".visible .entry poke(.param .u64 poke_param_0)\n"
    "{\n"
    "  .reg .b32 %r<3>; .reg .b64 %rd<5>;\n"
    "  ld.param.u64 %rd1, [poke_param_0];\n  cvta.to.global.u64 %rd2, %rd1;\n  mov.u32 %r1, %tid.x;\n"
    "  mul.wide.u32 %rd3, %r1, 4;\n  add.s64 %rd4, %rd2, %rd3;\n  mov.u32 %r2, 1;\n"
    "  st.global.u32 [%rd4], %r2;\n  ret;\n}\n"
    ".visible .entry dyn_smem(.param .u64 dyn_smem_param_0)\n"
    "{\n"
    "  .reg .b32 %r<12>; .reg .b64 %rd<5>;\n"
    "  ld.param.u64 %rd1, [dyn_smem_param_0];\n  cvta.to.global.u64 %rd2, %rd1;\n  mov.u32 %r1, %tid.x;\n"
    "  shl.b32 %r2, %r1, 1;\n  shl.b32 %r3, %r1, 2;\n  mov.u32 %r4, s;\n  add.s32 %r5, %r4, %r3;\n"
    "  st.shared.u32 [%r5], %r2;\n  bar.sync 0;\n  mov.u32 %r6, %ntid.x;\n  not.b32 %r7, %r1;\n"
    "  add.s32 %r8, %r6, %r7;\n  shl.b32 %r9, %r8, 2;\n  add.s32 %r10, %r4, %r9;\n"
    "  ld.shared.u32 %r11, [%r10];\n  mul.wide.u32 %rd3, %r1, 4;\n  add.s64 %rd4, %rd2, %rd3;\n"
    "  st.global.u32 [%rd4], %r11;\n  ret;\n}\n";

/* Two inputs for the linker: A defines shared_val, B uses it through .extern. */
static const char *link_a_ptx =
    ".version 8.0\n.target sm_80\n.address_size 64\n"
    ".visible .global .align 4 .u32 shared_val = 7;\n"
    ".visible .entry kA(.param .u64 kA_p)\n{\n  .reg .b32 %r<2>; .reg .b64 %rd<3>;\n"
    "  ld.param.u64 %rd1, [kA_p];\n  cvta.to.global.u64 %rd2, %rd1;\n  ld.global.u32 %r1, [shared_val];\n"
    "  st.global.u32 [%rd2], %r1;\n  ret;\n}\n";
static const char *link_b_ptx =
    ".version 8.0\n.target sm_80\n.address_size 64\n"
    ".extern .global .align 4 .u32 shared_val;\n"
    ".visible .entry kB(.param .u64 kB_p)\n{\n  .reg .b32 %r<3>; .reg .b64 %rd<3>;\n"
    "  ld.param.u64 %rd1, [kB_p];\n  cvta.to.global.u64 %rd2, %rd1;\n  ld.global.u32 %r1, [shared_val];\n"
    "  add.s32 %r2, %r1, 1;\n  st.global.u32 [%rd2], %r2;\n  ret;\n}\n";

static const char *bad_ptx =
    ".version 8.0\n.target sm_80\n.address_size 64\n"
    ".visible .entry broken()\n{\n  .reg .b32 %r<2>;\n  frobnicate.u32 %r1, 3;\n  ret;\n}\n";

static CUcontext g_ctx;
static CUmodule g_mod;

static void case_setup(void)
{
    api_check_ctx_create(&g_ctx);
    CHECK_RC(cuModuleLoadData(&g_mod, k_ptx), CUDA_SUCCESS);
}

static void case_functions(void)
{
    CUfunction f = NULL;
    unsigned count = 0;
    CHECK_RC(cuModuleGetFunctionCount(&count, g_mod), CUDA_SUCCESS);
    CHECK(count == 4);
    CHECK_RC(cuModuleGetFunction(&f, g_mod, "vecadd"), CUDA_SUCCESS);
    CHECK_RC(cuModuleGetFunction(&f, g_mod, "nope"), CUDA_ERROR_NOT_FOUND);
    CHECK_RC(cuModuleGetFunction(&f, (CUmodule)&count, "vecadd"), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuModuleGetFunction(&f, g_mod, "vecadd"), CUDA_SUCCESS);
    const char *name = NULL;
    CHECK_RC(cuFuncGetName(&name, f), CUDA_SUCCESS);
    CHECK(name && !strcmp(name, "vecadd"));
    CUmodule m = NULL;
    CHECK_RC(cuFuncGetModule(&m, f), CUDA_SUCCESS);
    CHECK(m == g_mod);
    size_t off = 99, size = 99;
    CHECK_RC(cuFuncGetParamInfo(f, 0, &off, &size), CUDA_SUCCESS);
    CHECK(off == 0 && size == 8);
    CHECK_RC(cuFuncGetParamInfo(f, 3, &off, &size), CUDA_SUCCESS);
    CHECK(off == 24 && size == 4);
    CHECK_RC(cuFuncGetParamInfo(f, 4, &off, &size), CUDA_ERROR_INVALID_VALUE);
    int v = -1;
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f), CUDA_SUCCESS);
    CHECK(v == 1024);
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_NUM_REGS, f), CUDA_SUCCESS);
    CHECK(v > 0 && v <= 255);
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_BINARY_VERSION, f), CUDA_SUCCESS);
    CHECK(v == 80);
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_PTX_VERSION, f), CUDA_SUCCESS);
    CHECK(v == 80);
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f), CUDA_SUCCESS);
    CHECK(v == 0);
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES, f), CUDA_SUCCESS);
    CHECK(v == 8);
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, f), CUDA_SUCCESS);
    CHECK(v == 49152);
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, f), CUDA_SUCCESS);
    CHECK(v == -1);
    for (int a = 0; a < CU_FUNC_ATTRIBUTE_MAX; a++)
        CHECK_RC(cuFuncGetAttribute(&v, (CUfunction_attribute)a, f), CUDA_SUCCESS);
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX, f), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_NUM_REGS, 3), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 50), CUDA_SUCCESS);
    CHECK_RC(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 101), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuFuncSetCacheConfig(f, CU_FUNC_CACHE_PREFER_L1), CUDA_SUCCESS);
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_NUM_REGS, (CUfunction)&v), CUDA_ERROR_INVALID_HANDLE);
}

static void case_vecadd(void)
{
    enum { N = 1000 };
    float a[N], b[N], c[N];
    for (int i = 0; i < N; i++) {
        a[i] = (float)i;
        b[i] = 0.5f * (float)i;
        c[i] = -1;
    }
    CUdeviceptr da, db, dc;
    CHECK_RC(cuMemAlloc(&da, sizeof a), CUDA_SUCCESS);
    CHECK_RC(cuMemAlloc(&db, sizeof b), CUDA_SUCCESS);
    CHECK_RC(cuMemAlloc(&dc, sizeof c), CUDA_SUCCESS);
    CHECK_RC(cuMemcpyHtoD(da, a, sizeof a), CUDA_SUCCESS);
    CHECK_RC(cuMemcpyHtoD(db, b, sizeof b), CUDA_SUCCESS);
    CUfunction f = api_check_func(g_mod, "vecadd");
    int n = N;
    void *params[] = { &da, &db, &dc, &n };
    CHECK_RC(cuLaunchKernel(f, (N + 127) / 128, 1, 1, 128, 1, 1, 0, NULL, params, NULL), CUDA_SUCCESS);
    CHECK_RC(cuMemcpyDtoH(c, dc, sizeof c), CUDA_SUCCESS);
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += c[i] != 1.5f * (float)i;
    CHECK(bad == 0);
    /* the same through the extra buffer, on a created stream */
    struct { CUdeviceptr a, b, c; int n; int pad; } buf = { db, db, dc, N, 0 };
    size_t size = 28;
    void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, &buf, CU_LAUNCH_PARAM_BUFFER_SIZE, &size, CU_LAUNCH_PARAM_END };
    CUstream s;
    CHECK_RC(cuStreamCreate(&s, 0), CUDA_SUCCESS);
    CHECK_RC(cuLaunchKernel(f, (N + 255) / 256, 1, 1, 256, 1, 1, 0, s, NULL, extra), CUDA_SUCCESS);
    CHECK_RC(cuStreamSynchronize(s), CUDA_SUCCESS);
    CHECK_RC(cuMemcpyDtoH(c, dc, sizeof c), CUDA_SUCCESS);
    bad = 0;
    for (int i = 0; i < N; i++)
        bad += c[i] != (float)i;
    CHECK(bad == 0);
    size = 8;   /* too small */
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, s, NULL, extra), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, s, params, extra), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, s, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
    /* cuLaunchKernelEx with a completion event */
    CUevent done;
    CHECK_RC(cuEventCreate(&done, 0), CUDA_SUCCESS);
    CUlaunchAttribute attrs[2];
    memset(attrs, 0, sizeof attrs);
    attrs[0].id = CU_LAUNCH_ATTRIBUTE_LAUNCH_COMPLETION_EVENT;
    attrs[0].value.launchCompletionEvent.event = done;
    attrs[1].id = CU_LAUNCH_ATTRIBUTE_PRIORITY;
    attrs[1].value.priority = -1;
    CUlaunchConfig cfg = { 8, 1, 1, 128, 1, 1, 0, s, attrs, 2 };
    CHECK_RC(cuLaunchKernelEx(&cfg, f, params, NULL), CUDA_SUCCESS);
    CHECK_RC(cuEventSynchronize(done), CUDA_SUCCESS);
    attrs[0].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    attrs[0].value.clusterDim.x = 2;
    attrs[0].value.clusterDim.y = attrs[0].value.clusterDim.z = 1;
    CHECK_RC(cuLaunchKernelEx(&cfg, f, params, NULL), CUDA_ERROR_NOT_SUPPORTED);
    CHECK_RC(cuEventDestroy(done), CUDA_SUCCESS);
    CHECK_RC(cuStreamDestroy(s), CUDA_SUCCESS);
    CHECK_RC(cuMemFree(da), CUDA_SUCCESS);
    CHECK_RC(cuMemFree(db), CUDA_SUCCESS);
    CHECK_RC(cuMemFree(dc), CUDA_SUCCESS);
}

static void case_launch_config_errors(void)
{
    CUfunction f = api_check_func(g_mod, "poke");
    CUdeviceptr d;
    CHECK_RC(cuMemAlloc(&d, 4096), CUDA_SUCCESS);
    void *params[] = { &d };
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 1025, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 32, 32, 2, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 65, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuLaunchKernel(f, 0, 1, 1, 32, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuLaunchKernel(f, 1, 65536, 1, 32, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 49153, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuLaunchKernel(NULL, 1, 1, 1, 32, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuLaunchKernel((CUfunction)&d, 1, 1, 1, 32, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, (CUstream)&d, params, NULL), CUDA_ERROR_INVALID_HANDLE);
    /* cooperative: every block must be resident at once */
    CHECK_RC(cuLaunchCooperativeKernel(f, 8, 1, 1, 32, 1, 1, 0, NULL, params), CUDA_SUCCESS);
    CHECK_RC(cuLaunchCooperativeKernel(f, 100000, 1, 1, 1024, 1, 1, 0, NULL, params),
             CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE);
    CHECK_RC(cuCtxSynchronize(), CUDA_SUCCESS);
    CHECK_RC(cuMemFree(d), CUDA_SUCCESS);
}

static void case_dynamic_shared(void)
{
    CUfunction f = api_check_func(g_mod, "dyn_smem");
    CUdeviceptr d;
    int out[256];
    CHECK_RC(cuMemAlloc(&d, sizeof out), CUDA_SUCCESS);
    void *params[] = { &d };
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 256, 1, 1, 256 * 4, NULL, params, NULL), CUDA_SUCCESS);
    CHECK_RC(cuMemcpyDtoH(out, d, sizeof out), CUDA_SUCCESS);
    int bad = 0;
    for (int i = 0; i < 256; i++)
        bad += out[i] != (255 - i) * 2;
    CHECK(bad == 0);
    /* more than 48 KiB needs the opt-in attribute */
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 256, 1, 1, 64 << 10, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 64 << 10), CUDA_SUCCESS);
    CHECK_RC(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 200 << 10),
             CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 256, 1, 1, 64 << 10, NULL, params, NULL), CUDA_SUCCESS);
    CHECK_RC(cuCtxSynchronize(), CUDA_SUCCESS);
    CHECK_RC(cuMemFree(d), CUDA_SUCCESS);
}

static void case_globals(void)
{
    CUdeviceptr g = 0, c = 0;
    size_t bytes = 0;
    CHECK_RC(cuModuleGetGlobal(&g, &bytes, g_mod, "g_value"), CUDA_SUCCESS);
    CHECK(g != 0 && bytes == 4);
    int v = 0;
    CHECK_RC(cuMemcpyDtoH(&v, g, 4), CUDA_SUCCESS);
    CHECK(v == 5);
    CHECK_RC(cuModuleGetGlobal(&c, &bytes, g_mod, "c_add"), CUDA_SUCCESS);
    CHECK(bytes == 8);
    int add[2] = { 10, 20 };
    CHECK_RC(cuMemcpyHtoD(c, add, sizeof add), CUDA_SUCCESS);
    CHECK_RC(cuModuleGetGlobal(&g, NULL, g_mod, "missing"), CUDA_ERROR_NOT_FOUND);
    CHECK_RC(cuModuleGetGlobal(NULL, NULL, g_mod, "g_value"), CUDA_ERROR_INVALID_VALUE);
    CUdeviceptr d;
    int out[4] = { 0 };
    CHECK_RC(cuMemAlloc(&d, sizeof out), CUDA_SUCCESS);
    void *params[] = { &d };
    CHECK_RC(cuLaunchKernel(api_check_func(g_mod, "read_global"), 1, 1, 1, 4, 1, 1, 0, NULL, params, NULL),
             CUDA_SUCCESS);
    CHECK_RC(cuMemcpyDtoH(out, d, sizeof out), CUDA_SUCCESS);
    CHECK(out[0] == 15 && out[1] == 25 && out[2] == 15 && out[3] == 25);
    CHECK_RC(cuMemFree(d), CUDA_SUCCESS);
}

static void case_load_errors(void)
{
    CUmodule m = NULL;
    char err[1024] = "", info[256] = "";
    CUjit_option opts[4] = { CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_INFO_LOG_BUFFER,
                             CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES };
    void *vals[4] = { err, (void *)(uintptr_t)sizeof err, info, (void *)(uintptr_t)sizeof info };
    CHECK_RC(cuModuleLoadDataEx(&m, bad_ptx, 4, opts, vals), CUDA_ERROR_INVALID_PTX);
    CHECK(strstr(err, "frobnicate") != NULL);
    CHECK((uintptr_t)vals[1] == strlen(err) + 1);
    vals[1] = (void *)(uintptr_t)sizeof err;
    CHECK_RC(cuModuleLoadDataEx(&m, k_ptx, 4, opts, vals), CUDA_SUCCESS);
    CHECK(err[0] == 0);
    CHECK_RC(cuModuleUnload(m), CUDA_SUCCESS);
    CHECK_RC(cuModuleUnload(m), CUDA_ERROR_INVALID_HANDLE);
    static const unsigned char junk[64] = { 0x50, 0xed, 0x55, 0xba, 0x01, 0x00, 0x10, 0x00, 0xff, 0xff, 0xff, 0xff };
    CHECK_RC(cuModuleLoadData(&m, junk), CUDA_ERROR_INVALID_IMAGE);
    CHECK_RC(cuModuleLoadData(NULL, k_ptx), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuModuleLoad(&m, "/nonexistent/file.ptx"), CUDA_ERROR_FILE_NOT_FOUND);
    /* a module with nothing in it (what an executable's empty nvlink cubin stands for) */
    unsigned count = 99;
    CHECK_RC(cuModuleLoadData(&m, "// empty\n.version 9.0\n.target sm_80\n.address_size 64\n"), CUDA_SUCCESS);
    CHECK_RC(cuModuleGetFunctionCount(&count, m), CUDA_SUCCESS);
    CHECK(count == 0);
    CHECK_RC(cuModuleUnload(m), CUDA_SUCCESS);
    CUjit_option bad_opt = (CUjit_option)999;
    void *bad_val = NULL;
    CHECK_RC(cuModuleLoadDataEx(&m, k_ptx, 1, &bad_opt, &bad_val), CUDA_ERROR_INVALID_VALUE);
}

static void case_module_from_file(void)
{
    char path[] = "/tmp/bf-test-ptx-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, k_ptx, strlen(k_ptx)) == (ssize_t)strlen(k_ptx));
    close(fd);
    CUmodule m = NULL;
    CHECK_RC(cuModuleLoad(&m, path), CUDA_SUCCESS);
    unlink(path);
    CUfunction f = NULL;
    CHECK_RC(cuModuleGetFunction(&f, m, "poke"), CUDA_SUCCESS);
    CHECK_RC(cuModuleUnload(m), CUDA_SUCCESS);
    CHECK_RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL), CUDA_ERROR_INVALID_HANDLE);
}

static void case_link(void)
{
    CUlinkState ls;
    char err[512] = "";
    CUjit_option o[2] = { CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
    void *v[2] = { err, (void *)(uintptr_t)sizeof err };
    CHECK_RC(cuLinkCreate(2, o, v, &ls), CUDA_SUCCESS);
    CHECK_RC(cuLinkAddData(ls, CU_JIT_INPUT_PTX, (void *)link_a_ptx, strlen(link_a_ptx) + 1, "a.ptx", 0, NULL, NULL),
             CUDA_SUCCESS);
    CHECK_RC(cuLinkAddData(ls, CU_JIT_INPUT_PTX, (void *)link_b_ptx, strlen(link_b_ptx), "b.ptx", 0, NULL, NULL),
             CUDA_SUCCESS);
    CHECK_RC(cuLinkAddData(ls, CU_JIT_INPUT_PTX, (void *)bad_ptx, strlen(bad_ptx), "bad.ptx", 0, NULL, NULL),
             CUDA_ERROR_INVALID_PTX);
    CHECK(strstr(err, "bad.ptx") != NULL);
    void *cubin = NULL;
    size_t size = 0;
    CHECK_RC(cuLinkComplete(ls, &cubin, &size), CUDA_SUCCESS);
    CHECK(cubin && size > 0);
    CUmodule m = NULL;
    CHECK_RC(cuModuleLoadData(&m, cubin), CUDA_SUCCESS);
    CHECK_RC(cuLinkDestroy(ls), CUDA_SUCCESS);
    CHECK_RC(cuLinkDestroy(ls), CUDA_ERROR_INVALID_HANDLE);
    CUdeviceptr d;
    int out[2] = { 0, 0 };
    CHECK_RC(cuMemAlloc(&d, 8), CUDA_SUCCESS);
    CUdeviceptr d1 = d + 4;
    void *pa[] = { &d }, *pb[] = { &d1 };
    CHECK_RC(cuLaunchKernel(api_check_func(m, "kA"), 1, 1, 1, 1, 1, 1, 0, NULL, pa, NULL), CUDA_SUCCESS);
    CHECK_RC(cuLaunchKernel(api_check_func(m, "kB"), 1, 1, 1, 1, 1, 1, 0, NULL, pb, NULL), CUDA_SUCCESS);
    CHECK_RC(cuMemcpyDtoH(out, d, 8), CUDA_SUCCESS);
    CHECK(out[0] == 7 && out[1] == 8);
    CHECK_RC(cuMemFree(d), CUDA_SUCCESS);
    CHECK_RC(cuModuleUnload(m), CUDA_SUCCESS);
    /* an .extern nobody defines */
    CHECK_RC(cuModuleLoadData(&m, link_b_ptx), CUDA_ERROR_INVALID_PTX);
}

static void case_library(void)
{
    CUlibrary lib;
    CUkernel k;
    CHECK_RC(cuLibraryLoadData(&lib, k_ptx, NULL, NULL, 0, NULL, NULL, 0), CUDA_SUCCESS);
    unsigned count = 0;
    CHECK_RC(cuLibraryGetKernelCount(&count, lib), CUDA_SUCCESS);
    CHECK(count == 4);
    CHECK_RC(cuLibraryGetKernel(&k, lib, "vecadd"), CUDA_SUCCESS);
    CHECK_RC(cuLibraryGetKernel(&k, lib, "missing"), CUDA_ERROR_NOT_FOUND);
    CHECK_RC(cuLibraryGetKernel(&k, lib, "poke"), CUDA_SUCCESS);
    const char *name = NULL;
    CHECK_RC(cuKernelGetName(&name, k), CUDA_SUCCESS);
    CHECK(name && !strcmp(name, "poke"));
    size_t off = 9, size = 9;
    CHECK_RC(cuKernelGetParamInfo(k, 0, &off, &size), CUDA_SUCCESS);
    CHECK(off == 0 && size == 8);
    int v = 0;
    CHECK_RC(cuKernelGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, k, 0), CUDA_SUCCESS);
    CHECK(v == 1024);
    CHECK_RC(cuKernelSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 65536, k, 0), CUDA_SUCCESS);
    CUfunction f = NULL;
    CHECK_RC(cuKernelGetFunction(&f, k), CUDA_SUCCESS);
    CHECK_RC(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, f), CUDA_SUCCESS);
    CHECK(v == 65536);
    CUdeviceptr g = 0;
    size_t bytes = 0;
    CHECK_RC(cuLibraryGetGlobal(&g, &bytes, lib, "g_value"), CUDA_SUCCESS);
    CHECK(g && bytes == 4);
    CUdeviceptr d;
    int out[2] = { 0, 0 };
    CHECK_RC(cuMemAlloc(&d, sizeof out), CUDA_SUCCESS);
    void *params[] = { &d };
    CHECK_RC(cuLaunchKernel((CUfunction)k, 1, 1, 1, 2, 1, 1, 0, NULL, params, NULL), CUDA_SUCCESS);  /* a CUkernel */
    CHECK_RC(cuMemcpyDtoH(out, d, sizeof out), CUDA_SUCCESS);
    CHECK(out[0] == 1 && out[1] == 1);
    CUmodule m = NULL;
    CHECK_RC(cuLibraryGetModule(&m, lib), CUDA_SUCCESS);
    CHECK_RC(cuModuleUnload(m), CUDA_ERROR_INVALID_HANDLE);   /* owned by the library */
    CHECK_RC(cuLibraryUnload(lib), CUDA_SUCCESS);
    CHECK_RC(cuLibraryUnload(lib), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuKernelGetFunction(&f, k), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuMemFree(d), CUDA_SUCCESS);
}

static void case_occupancy(void)
{
    CUfunction f = api_check_func(g_mod, "vecadd");
    int blocks = -1, best_blocks = 0, grid = 0, bs = 0;
    CHECK_RC(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, 256, 0), CUDA_SUCCESS);
    CHECK(blocks >= 1 && blocks <= 8);
    CHECK_RC(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, 32, 0), CUDA_SUCCESS);
    CHECK(blocks >= 1 && blocks <= 32);
    CHECK_RC(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, 2048, 0), CUDA_SUCCESS);
    CHECK(blocks == 0);
    CHECK_RC(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, 128, 100 << 10), CUDA_SUCCESS);
    CHECK(blocks == 1);
    CHECK_RC(cuOccupancyMaxPotentialBlockSize(&grid, &bs, f, NULL, 0, 0), CUDA_SUCCESS);
    CHECK(bs >= 32 && bs <= 1024 && bs % 32 == 0 && grid >= 8);
    CHECK_RC(cuOccupancyMaxActiveBlocksPerMultiprocessor(&best_blocks, f, bs, 0), CUDA_SUCCESS);
    for (int b = 32; b <= 1024; b += 32) {   /* no block size keeps more threads resident */
        CHECK_RC(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, b, 0), CUDA_SUCCESS);
        CHECK(blocks * b <= best_blocks * bs);
    }
    CHECK_RC(cuOccupancyMaxPotentialBlockSize(&grid, &bs, f, NULL, 0, 96), CUDA_SUCCESS);
    CHECK(bs <= 96 && bs > 0);
    size_t smem = 0;
    CHECK_RC(cuOccupancyAvailableDynamicSMemPerBlock(&smem, f, 2, 128), CUDA_SUCCESS);
    CHECK(smem > 0 && smem <= 49152);
    CHECK_RC(cuOccupancyMaxActiveBlocksPerMultiprocessor(NULL, f, 128, 0), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&blocks, f, 128, 0, 8), CUDA_ERROR_INVALID_VALUE);
}

/* Work queued behind a fault: callbacks see the error, host functions are skipped. */
static volatile int g_gate, g_hostfn_ran;
static CUresult g_cb_status = CUDA_SUCCESS;
static void wait_gate(void *unused)
{
    while (!g_gate)
        usleep(1000);
}
static void hostfn_mark(void *unused) { g_hostfn_ran = 1; }
static void CUDA_CB cb_status(CUstream s, CUresult status, void *unused) { g_cb_status = status; }

/* A fault makes the context unusable; other contexts carry on. */
static void case_sticky_fault(void)
{
    CUcontext c;
    CUmodule m;
    CHECK_RC(cuCtxCreate(&c, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuModuleLoadData(&m, k_ptx), CUDA_SUCCESS);
    CUdeviceptr bad = 0x10;
    void *params[] = { &bad };
    g_gate = 0;
    CHECK_RC(cuLaunchHostFunc(NULL, wait_gate, NULL), CUDA_SUCCESS);
    CHECK_RC(cuLaunchKernel(api_check_func(m, "poke"), 1, 1, 1, 32, 1, 1, 0, NULL, params, NULL), CUDA_SUCCESS);
    CHECK_RC(cuStreamAddCallback(NULL, cb_status, NULL, 0), CUDA_SUCCESS);
    CHECK_RC(cuLaunchHostFunc(NULL, hostfn_mark, NULL), CUDA_SUCCESS);
    g_gate = 1;
    CHECK_RC(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    CHECK(g_cb_status == CUDA_ERROR_ILLEGAL_ADDRESS);
    CHECK(g_hostfn_ran == 0);
    CHECK_RC(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    CUdeviceptr d;
    CHECK_RC(cuMemAlloc(&d, 16), CUDA_ERROR_ILLEGAL_ADDRESS);
    CHECK_RC(cuLaunchKernel(api_check_func(m, "poke"), 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL),
             CUDA_ERROR_ILLEGAL_ADDRESS);
    CUstream s;
    CHECK_RC(cuStreamCreate(&s, 0), CUDA_ERROR_ILLEGAL_ADDRESS);
    CHECK_RC(cuCtxDestroy(c), CUDA_SUCCESS);
    CHECK_RC(cuCtxSetCurrent(g_ctx), CUDA_SUCCESS);
    CHECK_RC(cuCtxSynchronize(), CUDA_SUCCESS);       /* the other context is fine */
    CHECK_RC(cuMemAlloc(&d, 16), CUDA_SUCCESS);
    CHECK_RC(cuMemFree(d), CUDA_SUCCESS);
}

static void case_teardown(void)
{
    CHECK_RC(cuModuleUnload(g_mod), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(g_ctx), CUDA_SUCCESS);
}

int main(void)
{
    alarm(300);
    static const api_check_case cases[] = {
        { "setup", case_setup },
        { "functions", case_functions },
        { "vecadd", case_vecadd },
        { "launch_config_errors", case_launch_config_errors },
        { "dynamic_shared", case_dynamic_shared },
        { "globals", case_globals },
        { "load_errors", case_load_errors },
        { "module_from_file", case_module_from_file },
        { "link", case_link },
        { "library", case_library },
        { "occupancy", case_occupancy },
        { "sticky_fault", case_sticky_fault },
        { "teardown", case_teardown },
    };
    return API_CHECK_RUN(cases, API_CHECK_SETUP_FIRST);
}
