/* test_faults.c: failure paths of the software GPU, each case in its own forked child (the
 * framework's default; the parent never initialises CUDA): kernel faults (out-of-bounds
 * load/store, NULL read from PTX text, misaligned load, __trap, assert) that surface at
 * cuCtxSynchronize and stay sticky; bad images (random bytes, corrupted and truncated fatbins,
 * SASS-only fatbin/cubin) and PTX the loader must reject (made-up and texture instructions, with
 * the instruction named in the JIT error log or on stderr); invalid handles; and launch
 * configuration errors that must not poison the context. Kernels: tests/kernels/faults.cu. */
#include "bft.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------------ */

static int is_one_of(CUresult r, const CUresult *set, int n)
{
    for (int i = 0; i < n; i++)
        if (r == set[i]) return 1;
    return 0;
}

#define EXPECT_CU_ANY(call, ...)                                                                \
    do {                                                                                        \
        static const CUresult bft_set_[] = { __VA_ARGS__ };                                     \
        CUresult bft_r_ = (call);                                                               \
        if (!is_one_of(bft_r_, bft_set_, (int)(sizeof bft_set_ / sizeof bft_set_[0])))          \
            bft_failf(__FILE__, __LINE__, "%s -> %s, expected one of: %s", #call,               \
                      bft_cu_name(bft_r_), #__VA_ARGS__);                                       \
    } while (0)

/* After a kernel fault reported as `code`: the context stays broken with the same code. */
static void expect_sticky(CUresult code)
{
    CUdeviceptr p = 0;
    EXPECT_CU(cuCtxSynchronize(), code);
    EXPECT_CU(cuMemAlloc(&p, 16), code);
    EXPECT_CU(cuCtxSynchronize(), code);
}

/* Launches faults.cu's ok_kernel and checks its output: the context is healthy. */
static void expect_context_ok(void)
{
    unsigned n = 1000;
    int v = 17;
    int32_t got[1000], want[1000];
    CUdeviceptr d = bft_dalloc(sizeof got);
    for (unsigned i = 0; i < n; i++) want[i] = v + (int)i;
    BFT_LAUNCH(bft_func("faults", "ok_kernel"), bft_d1(8), bft_d1(128), 0, &d, &v, &n);
    bft_sync();
    bft_download(got, d, sizeof got);
    bft_cmp_i32("ok_kernel after the error", got, want, n);
}

/* ---- kernel faults ------------------------------------------------------------------------------ */

BFT_CASE(oob_global_load_sticky)
{
    CUfunction f = bft_func("faults", "fault_load");
    CUdeviceptr buf = bft_dalloc(1024), out = bft_dalloc(4);
    long long off = 1ll << 34;   /* 64 GiB past a 1 KiB buffer */
    bft_no_cleanup();
    EXPECT_CU(cuLaunchKernel(f, 4, 1, 1, 64, 1, 1, 0, NULL, (void *[]){ &buf, &off, &out }, NULL), CUDA_SUCCESS);
    EXPECT_CU(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    expect_sticky(CUDA_ERROR_ILLEGAL_ADDRESS);
}

BFT_CASE(oob_global_store_sticky)
{
    CUfunction f = bft_func("faults", "fault_store");
    CUdeviceptr buf = bft_dalloc(1024);
    long long off = (1ll << 33) + 12345;
    bft_no_cleanup();
    EXPECT_CU(cuLaunchKernel(f, 4, 1, 1, 64, 1, 1, 0, NULL, (void *[]){ &buf, &off }, NULL), CUDA_SUCCESS);
    EXPECT_CU(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    expect_sticky(CUDA_ERROR_ILLEGAL_ADDRESS);
}

static const char null_read_ptx[] =
    ".version 7.0\n.target sm_75\n.address_size 64\n"
    ".visible .entry null_read(.param .u64 p_src, .param .u64 p_dst)\n"
    "{\n"
    "\t.reg .b32 %r<2>;\n"
    "\t.reg .b64 %rd<4>;\n"
    "\tld.param.u64 %rd1, [p_src];\n"
    "\tld.param.u64 %rd2, [p_dst];\n"
    "\tcvta.to.global.u64 %rd3, %rd1;\n"
    "\tld.global.u32 %r1, [%rd3];\n"
    "\tcvta.to.global.u64 %rd2, %rd2;\n"
    "\tst.global.u32 [%rd2], %r1;\n"
    "\tret;\n"
    "}\n";

BFT_CASE(null_pointer_read_ptx)
{
    CUmodule m;
    CUfunction f;
    CUdeviceptr src = 0, dst;
    bft_cuda_init();
    dst = bft_dalloc(4);
    CHECK_CU(cuModuleLoadData(&m, null_read_ptx));
    CHECK_CU(cuModuleGetFunction(&f, m, "null_read"));
    bft_no_cleanup();
    EXPECT_CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, (void *[]){ &src, &dst }, NULL), CUDA_SUCCESS);
    EXPECT_CU(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    expect_sticky(CUDA_ERROR_ILLEGAL_ADDRESS);
}

BFT_CASE(misaligned_load)
{
    CUfunction f = bft_func("faults", "fault_misaligned");
    CUdeviceptr buf = bft_dalloc(64), out = bft_dalloc(4);
    bft_no_cleanup();
    EXPECT_CU(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, (void *[]){ &buf, &out }, NULL), CUDA_SUCCESS);
    EXPECT_CU(cuCtxSynchronize(), CUDA_ERROR_MISALIGNED_ADDRESS);
    expect_sticky(CUDA_ERROR_MISALIGNED_ADDRESS);
}

BFT_CASE(trap_is_launch_failure)
{
    CUfunction f = bft_func("faults", "fault_trap");
    CUdeviceptr out = bft_dalloc(8 * 64 * 4);
    CUresult r;
    bft_no_cleanup();
    EXPECT_CU(cuLaunchKernel(f, 8, 1, 1, 64, 1, 1, 0, NULL, (void *[]){ &out }, NULL), CUDA_SUCCESS);
    r = cuCtxSynchronize();
    /* CUDA reports __trap() as an unspecified launch failure (some GPUs: illegal instruction) */
    if (r != CUDA_ERROR_LAUNCH_FAILED && r != CUDA_ERROR_ILLEGAL_INSTRUCTION)
        bft_fatalf(__FILE__, __LINE__, "cuCtxSynchronize after __trap -> %s, want CUDA_ERROR_LAUNCH_FAILED",
                   bft_cu_name(r));
    expect_sticky(r);
}

BFT_CASE(assert_is_sticky_assert)
{
    unsigned n = 4096;
    int32_t *in = bft_alloc(n * 4);
    CUfunction f = bft_func("faults", "fault_assert");
    for (unsigned i = 0; i < n; i++) in[i] = (int32_t)i * 3;
    in[777] = 42;
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 4);
    bft_no_cleanup();
    EXPECT_CU(cuLaunchKernel(f, n / 128, 1, 1, 128, 1, 1, 0, NULL, (void *[]){ &din, &dout, &n }, NULL), CUDA_SUCCESS);
    EXPECT_CU(cuCtxSynchronize(), CUDA_ERROR_ASSERT);
    expect_sticky(CUDA_ERROR_ASSERT);
}

/* An assert that holds everywhere must not fail anything. */
BFT_CASE(assert_passing_is_fine)
{
    unsigned n = 4096;
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc(n * 4);
    for (unsigned i = 0; i < n; i++) in[i] = (int32_t)i * 3 + 43;
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("faults", "fault_assert"), bft_d1(n / 128), bft_d1(128), 0, &din, &dout, &n);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_cmp_i32("copy", got, in, n);
}

/* ---- bad images ---------------------------------------------------------------------------------- */

static unsigned char *load_fatbin(const char *name, size_t *len)
{
    char file[128];
    unsigned char *img;
    snprintf(file, sizeof file, "%s.fatbin", name);
    img = bft_read_file(bft_kernel_path(file), len);
    REQUIRE(img != NULL, "cannot read %s.fatbin from %s", name, bft_kernel_dir());
    REQUIRE(*len > 16 && img[0] == 0x50 && img[1] == 0xed && img[2] == 0x55 && img[3] == 0xba,
            "%s.fatbin does not start with the fatbin magic", name);
    return img;
}

static uint64_t rd64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }

BFT_CASE(bad_image_random_bytes)
{
    size_t n = 4096;
    unsigned char *img = bft_alloc(n + 1);
    CUmodule m = NULL;
    bft_rng r = bft_rng_seed(601);
    bft_cuda_init();
    for (size_t i = 0; i < n; i++) img[i] = (unsigned char)(1 + bft_rand32(&r) % 255);   /* no NUL inside */
    img[n] = 0;
    /* no recognisable magic: CUDA takes it for PTX text */
    EXPECT_CU_ANY(cuModuleLoadData(&m, img), CUDA_ERROR_INVALID_IMAGE, CUDA_ERROR_INVALID_PTX);
    /* fatbin magic followed by garbage */
    img[0] = 0x50; img[1] = 0xed; img[2] = 0x55; img[3] = 0xba;
    EXPECT_CU(cuModuleLoadData(&m, img), CUDA_ERROR_INVALID_IMAGE);
    /* ELF magic followed by garbage */
    img[0] = 0x7f; img[1] = 'E'; img[2] = 'L'; img[3] = 'F';
    EXPECT_CU(cuModuleLoadData(&m, img), CUDA_ERROR_INVALID_IMAGE);
    expect_context_ok();
}

BFT_CASE(bad_image_truncated_fatbin)
{
    size_t len;
    unsigned char *img = load_fatbin("faults", &len), *bad = bft_alloc(len + 1);
    CUmodule m = NULL;
    uint64_t fat = rd64(img + 8);
    bft_cuda_init();
    /* the header claims only half of the entries' bytes */
    memcpy(bad, img, len);
    fat /= 2;
    memcpy(bad + 8, &fat, 8);
    memset(bad + 16 + fat, 0, len - 16 - fat);
    EXPECT_CU(cuModuleLoadData(&m, bad), CUDA_ERROR_INVALID_IMAGE);
    /* everything after the first 64 bytes zeroed */
    memcpy(bad, img, len);
    memset(bad + 64, 0, len - 64);
    EXPECT_CU_ANY(cuModuleLoadData(&m, bad), CUDA_ERROR_INVALID_IMAGE, CUDA_ERROR_NO_BINARY_FOR_GPU);
    expect_context_ok();
}

/* Walks the fatbin's entries: kind 1 is PTX, kind 2 an ELF cubin. Returns the offset of the
 * first entry of `kind` (its header), or 0. */
static size_t find_entry(const unsigned char *img, size_t len, uint16_t kind, size_t *entry_len)
{
    size_t hs = rd16(img + 6), end = hs + rd64(img + 8), off = hs;
    if (end > len) end = len;
    while (off + 16 <= end) {
        size_t ehs = rd32(img + off + 4), psz = rd64(img + off + 8);
        if (ehs == 0 || off + ehs + psz > end) break;
        if (rd16(img + off) == kind) {
            *entry_len = ehs + psz;
            return off;
        }
        off += ehs + psz;
    }
    return 0;
}

BFT_CASE(corrupt_ptx_payload)
{
    size_t len, elen = 0, off;
    unsigned char *img = load_fatbin("faults", &len), *bad = bft_alloc(len + 1);
    CUmodule m = NULL;
    bft_cuda_init();
    off = find_entry(img, len, 1, &elen);
    if (!off) bft_skip("faults.fatbin has no PTX entry");
    memcpy(bad, img, len);
    {
        size_t ehs = rd32(img + off + 4);
        bft_rng r = bft_rng_seed(611);
        for (size_t i = off + ehs; i < off + elen; i++) bad[i] = (unsigned char)(1 + bft_rand32(&r) % 255);
    }
    EXPECT_CU_ANY(cuModuleLoadData(&m, bad), CUDA_ERROR_INVALID_IMAGE, CUDA_ERROR_INVALID_PTX);
    expect_context_ok();
}

BFT_CASE(sass_only_fatbin)
{
    size_t len, elen = 0, off;
    unsigned char *img = load_fatbin("faults", &len), *only;
    CUmodule m = NULL;
    uint64_t fat;
    bft_cuda_init();
    off = find_entry(img, len, 2, &elen);
    if (!off) bft_skip("faults.fatbin has no ELF entry");
    only = bft_alloc(16 + elen + 1);
    memcpy(only, img, 16);
    memcpy(only + 16, img + off, elen);
    fat = elen;
    memcpy(only + 8, &fat, 8);
    /* sm_75 SASS only: nothing the software GPU (or a newer GPU) can run */
    EXPECT_CU(cuModuleLoadData(&m, only), CUDA_ERROR_NO_BINARY_FOR_GPU);
    /* the bare cubin (ELF) from that entry */
    {
        size_t ehs = rd32(img + off + 4);
        unsigned char *elf = bft_alloc(elen);
        memcpy(elf, img + off + ehs, elen - ehs);
        REQUIRE(memcmp(elf, "\177ELF", 4) == 0, "the ELF entry's payload is not an ELF file");
        EXPECT_CU(cuModuleLoadData(&m, elf), CUDA_ERROR_NO_BINARY_FOR_GPU);
    }
    expect_context_ok();
}

/* An sm_80 cubin from nvcc -cubin -arch=sm_80: <kernel dir>/sass_only.cubin if present, else the
 * fatbin decoder's fixture <kernel dir>/../fixtures/k.sm80.cubin (both built by `make tests`). */
BFT_CASE(sass_only_cubin_file)
{
    size_t len = 0;
    CUmodule m = NULL;
    char *path = bft_kernel_path("sass_only.cubin");
    void *img = bft_read_file(path, &len);
    if (!img) {
        path = bft_kernel_path("../fixtures/k.sm80.cubin");
        img = bft_read_file(path, &len);
    }
    if (!img) bft_skip("no sm_80 cubin (sass_only.cubin or ../fixtures/k.sm80.cubin) in %s", bft_kernel_dir());
    bft_cuda_init();
    EXPECT_CU(cuModuleLoadData(&m, img), CUDA_ERROR_NO_BINARY_FOR_GPU);
    expect_context_ok();
}

/* ---- PTX the loader must reject -------------------------------------------------------------------- */

static const char tex_ptx[] =
    ".version 7.0\n.target sm_75\n.address_size 64\n"
    ".visible .entry uses_tex(.param .u64 p_tex, .param .u64 p_out)\n"
    "{\n"
    "\t.reg .f32 %f<8>;\n"
    "\t.reg .b64 %rd<4>;\n"
    "\tld.param.u64 %rd1, [p_tex];\n"
    "\tld.param.u64 %rd2, [p_out];\n"
    "\tmov.f32 %f5, 0f3F000000;\n"
    "\tmov.f32 %f6, 0f3F000000;\n"
    "\ttex.2d.v4.f32.f32 {%f1, %f2, %f3, %f4}, [%rd1, {%f5, %f6}];\n"
    "\tcvta.to.global.u64 %rd3, %rd2;\n"
    "\tst.global.f32 [%rd3], %f1;\n"
    "\tret;\n"
    "}\n";

static const char madeup_ptx[] =
    ".version 7.0\n.target sm_75\n.address_size 64\n"
    ".visible .entry uses_frobnicate(.param .u64 p_out)\n"
    "{\n"
    "\t.reg .b32 %r<4>;\n"
    "\t.reg .b64 %rd<4>;\n"
    "\tld.param.u64 %rd1, [p_out];\n"
    "\tmov.u32 %r1, 5;\n"
    "\tfrobnicate.b32 %r2, %r1;\n"
    "\tcvta.to.global.u64 %rd2, %rd1;\n"
    "\tst.global.u32 [%rd2], %r2;\n"
    "\tret;\n"
    "}\n";

/* Loads `ptx` with an error log buffer while capturing stderr: expects CUDA_ERROR_INVALID_PTX and
 * `word` in the log or on stderr. */
static void expect_ptx_rejected(const char *ptx, const char *word)
{
    char log[4096] = "";
    CUjit_option opts[2] = { CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
    void *vals[2] = { log, (void *)(uintptr_t)sizeof log };
    CUmodule m = NULL;
    CUresult r;
    char *err;
    bft_cuda_init();
    bft_capture_begin(2);
    r = cuModuleLoadDataEx(&m, ptx, 2, opts, vals);
    err = bft_capture_end(2);
    log[sizeof log - 1] = 0;
    if (r == CUDA_SUCCESS) cuModuleUnload(m);
    EXPECT(r == CUDA_ERROR_INVALID_PTX, "cuModuleLoadDataEx -> %s, want CUDA_ERROR_INVALID_PTX", bft_cu_name(r));
    EXPECT(strstr(log, word) || strstr(err, word), "neither the JIT log (\"%s\") nor stderr (\"%s\") names \"%s\"",
           log, err, word);
    if (err[0]) fputs(err, stderr);
}

BFT_CASE(ptx_madeup_instruction)
{
    expect_ptx_rejected(madeup_ptx, "frobnicate");
    expect_context_ok();
}

/* Texture instructions are valid PTX for CUDA; the software GPU does not support them and must
 * refuse the module at load time rather than fail at run time. */
BFT_CASE(ptx_texture_instruction_unsupported)
{
    expect_ptx_rejected(tex_ptx, "tex");
    expect_context_ok();
}

/* ---- invalid handles -------------------------------------------------------------------------------- */

BFT_CASE(invalid_handles)
{
    CUfunction f = NULL;
    CUstream s;
    CUevent e;
    float ms;
    int dummy = 0;
    void *args[] = { &dummy };
    bft_cuda_init();
    EXPECT_CU_ANY(cuModuleGetFunction(&f, NULL, "ok_kernel"), CUDA_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU_ANY(cuLaunchKernel(NULL, 1, 1, 1, 1, 1, 1, 0, NULL, args, NULL), CUDA_ERROR_INVALID_HANDLE,
                  CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU_ANY(cuModuleUnload(NULL), CUDA_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU_ANY(cuEventRecord(NULL, NULL), CUDA_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU_ANY(cuEventSynchronize(NULL), CUDA_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU_ANY(cuEventQuery(NULL), CUDA_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU_ANY(cuEventElapsedTime(&ms, NULL, NULL), CUDA_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU_ANY(cuModuleGetFunction(&f, bft_module("faults"), "no_such_kernel"), CUDA_ERROR_NOT_FOUND);
    /* a destroyed stream and event */
    CHECK_CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CHECK_CU(cuStreamDestroy(s));
    EXPECT_CU_ANY(cuStreamSynchronize(s), CUDA_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_VALUE,
                  CUDA_ERROR_INVALID_CONTEXT);
    EXPECT_CU_ANY(cuStreamQuery(s), CUDA_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_VALUE, CUDA_ERROR_INVALID_CONTEXT);
    CHECK_CU(cuEventCreate(&e, CU_EVENT_DEFAULT));
    CHECK_CU(cuEventDestroy(e));
    EXPECT_CU_ANY(cuEventQuery(e), CUDA_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_VALUE, CUDA_ERROR_INVALID_CONTEXT);
    /* the NULL stream is the legacy default stream, not an invalid handle */
    EXPECT_CU(cuStreamSynchronize(NULL), CUDA_SUCCESS);
    expect_context_ok();
}

/* ---- launch configuration errors (not sticky) --------------------------------------------------------- */

BFT_CASE(launch_config_errors)
{
    CUfunction f = bft_func("faults", "ok_kernel");
    CUdeviceptr d = bft_dalloc(4096);
    int v = 1;
    unsigned n = 1;
    void *args[] = { &d, &v, &n };
    EXPECT_CU(cuLaunchKernel(f, 1, 1, 1, 1025, 1, 1, 0, NULL, args, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuLaunchKernel(f, 1, 1, 1, 32, 32, 2, 0, NULL, args, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 65, 0, NULL, args, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuLaunchKernel(f, 1, 65536, 1, 32, 1, 1, 0, NULL, args, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuLaunchKernel(f, 0, 1, 1, 32, 1, 1, 0, NULL, args, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuLaunchKernel(f, 1, 1, 1, 0, 1, 1, 0, NULL, args, NULL), CUDA_ERROR_INVALID_VALUE);
    /* dynamic shared memory: 64 KiB without the opt-in attribute, and far more than any GPU has */
    EXPECT_CU_ANY(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 64 * 1024, NULL, args, NULL), CUDA_ERROR_INVALID_VALUE,
                  CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES);
    EXPECT_CU_ANY(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 1024 * 1024, NULL, args, NULL), CUDA_ERROR_INVALID_VALUE,
                  CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES);
    EXPECT_CU(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 16 * 1024 * 1024),
              CUDA_ERROR_INVALID_VALUE);
    /* none of these is sticky */
    EXPECT_CU(cuCtxSynchronize(), CUDA_SUCCESS);
    expect_context_ok();
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
