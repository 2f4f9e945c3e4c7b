/* test_ptx_ops.c: instruction-level checks of the PTX interpreter on hand-written PTX: rounding
 * and saturation modes of cvt and arithmetic, half precision, integer corner cases, and
 * block-level barriers (named barriers with counts, bar.red, barriers in divergent code). Each
 * case is one small kernel whose inputs and expected outputs are written out here, so the
 * semantics checked are the PTX ISA's, independent of what nvcc happens to emit. */
#include "bft.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A kernel computing out[i] = f(a[i], b[i]) on 64-bit slots: BODY reads %rd4 (a) and %rd5 (b),
 * writes %rd6. */
static const char *k_template =
    ".version 8.0\n.target sm_80\n.address_size 64\n"
    ".visible .entry k(.param .u64 pa, .param .u64 pb, .param .u64 po, .param .u32 pn)\n{\n"
    ".reg .b64 %%rd<12>; .reg .b32 %%r<12>; .reg .f32 %%f<12>; .reg .f64 %%fd<12>;\n"
    ".reg .b16 %%h<12>; .reg .pred %%p<6>;\n"
    "ld.param.u64 %%rd1, [pa]; ld.param.u64 %%rd2, [pb]; ld.param.u64 %%rd3, [po]; ld.param.u32 %%r10, [pn];\n"
    "mov.u32 %%r11, %%tid.x; setp.ge.u32 %%p5, %%r11, %%r10; @%%p5 bra DONE;\n"
    "mul.wide.u32 %%rd7, %%r11, 8; add.s64 %%rd8, %%rd1, %%rd7; add.s64 %%rd9, %%rd2, %%rd7; add.s64 %%rd10, %%rd3, %%rd7;\n"
    "ld.global.b64 %%rd4, [%%rd8]; ld.global.b64 %%rd5, [%%rd9]; mov.b64 %%rd6, 0;\n"
    "%s\n"
    "st.global.b64 [%%rd10], %%rd6;\nDONE:\nret;\n}\n";

typedef struct op_case { uint64_t a, b, want; } op_case;

static uint64_t f32b(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t f64b(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

static void run_op(const char *name, const char *body, const op_case *cases, unsigned n)
{
    char ptx[4096];
    snprintf(ptx, sizeof ptx, k_template, body);
    bft_cuda_init();
    CUmodule mod;
    CUfunction f;
    CHECK_CU(cuModuleLoadData(&mod, ptx));
    CHECK_CU(cuModuleGetFunction(&f, mod, "k"));
    uint64_t *a = bft_alloc(n * 8), *b = bft_alloc(n * 8), *got = bft_alloc(n * 8), *want = bft_alloc(n * 8);
    for (unsigned i = 0; i < n; i++) { a[i] = cases[i].a; b[i] = cases[i].b; want[i] = cases[i].want; }
    CUdeviceptr da, db, dout;
    CHECK_CU(cuMemAlloc(&da, n * 8));
    CHECK_CU(cuMemAlloc(&db, n * 8));
    CHECK_CU(cuMemAlloc(&dout, n * 8));
    bft_upload(da, a, n * 8);
    bft_upload(db, b, n * 8);
    void *args[] = { &da, &db, &dout, &n };
    CHECK_CU(cuLaunchKernel(f, 1, 1, 1, 64, 1, 1, 0, NULL, args, NULL));
    bft_sync();
    bft_download(got, dout, n * 8);
    for (unsigned i = 0; i < n; i++)
        EXPECT(got[i] == want[i], "%s case %u: a=0x%llx b=0x%llx: got 0x%llx, want 0x%llx", name, i,
               (unsigned long long)a[i], (unsigned long long)b[i], (unsigned long long)got[i],
               (unsigned long long)want[i]);
    CHECK_CU(cuMemFree(da));
    CHECK_CU(cuMemFree(db));
    CHECK_CU(cuMemFree(dout));
    CHECK_CU(cuModuleUnload(mod));
}

#define RUN(name, body, ...) do { const op_case c_[] = { __VA_ARGS__ }; \
    run_op(name, body, c_, (unsigned)(sizeof c_ / sizeof c_[0])); } while (0)

BFT_CASE(cvt_float_to_int_rounding)
{
    const char *fmt = "cvt.u32.u64 %%r1, %%rd4; mov.b32 %%f1, %%r1; cvt.%s.s32.f32 %%r2, %%f1; cvt.s64.s32 %%rd6, %%r2;";
    const char *modes[4] = { "rni", "rzi", "rmi", "rpi" };
    const float in[5] = { 2.5f, -2.5f, 3.7f, -3.2f, 1e10f };
    const int32_t want[4][5] = {
        { 2, -2, 4, -3, INT32_MAX },   /* nearest even, saturating */
        { 2, -2, 3, -3, INT32_MAX },
        { 2, -3, 3, -4, INT32_MAX },
        { 3, -2, 4, -3, INT32_MAX },
    };
    for (int m = 0; m < 4; m++) {
        char body[512];
        snprintf(body, sizeof body, fmt, modes[m]);
        op_case c[6];
        for (int i = 0; i < 5; i++) c[i] = (op_case){ f32b(in[i]), 0, (uint64_t)(int64_t)want[m][i] };
        c[5] = (op_case){ f32b(NAN), 0, 0 };   /* NaN converts to 0 */
        run_op(modes[m], body, c, 6);
    }
}

BFT_CASE(cvt_saturation_and_narrowing)
{
    RUN("cvt.sat.u8.s32", "cvt.u32.u64 %r1, %rd4; cvt.sat.u8.s32 %h1, %r1; cvt.u64.u16 %rd6, %h1;",
        { 300, 0, 255 }, { (uint64_t)(uint32_t)-5, 0, 0 }, { 77, 0, 77 });
    RUN("cvt.s8.s32 (wrap, sign)", "cvt.u32.u64 %r1, %rd4; cvt.s8.s32 %h1, %r1; cvt.s64.s16 %rd6, %h1;",
        { 0x1ff, 0, (uint64_t)-1 }, { 0x80, 0, (uint64_t)-128 }, { 0x17f, 0, 127 });
    RUN("cvt.sat.f32.f32", "cvt.u32.u64 %r1, %rd4; mov.b32 %f1, %r1; cvt.sat.f32.f32 %f2, %f1; mov.b32 %r2, %f2; cvt.u64.u32 %rd6, %r2;",
        { f32b(1.5f), 0, f32b(1.0f) }, { f32b(-0.25f), 0, f32b(0.0f) }, { f32b(0.5f), 0, f32b(0.5f) },
        { f32b(NAN), 0, f32b(0.0f) });
    RUN("cvt.u16.u32 truncates", "cvt.u32.u64 %r1, %rd4; cvt.u16.u32 %h1, %r1; cvt.u64.u16 %rd6, %h1;",
        { 0x12345678, 0, 0x5678 });
}

BFT_CASE(cvt_f64_to_f32_directed)
{
    double x = 1.0 + 0x1p-30;   /* between two floats, nearer the lower one */
    float lo = 1.0f, hi = nextafterf(1.0f, 2.0f);
    RUN("cvt.rn.f32.f64", "mov.b64 %fd1, %rd4; cvt.rn.f32.f64 %f1, %fd1; mov.b32 %r1, %f1; cvt.u64.u32 %rd6, %r1;",
        { f64b(x), 0, f32b(lo) });
    RUN("cvt.rp.f32.f64", "mov.b64 %fd1, %rd4; cvt.rp.f32.f64 %f1, %fd1; mov.b32 %r1, %f1; cvt.u64.u32 %rd6, %r1;",
        { f64b(x), 0, f32b(hi) }, { f64b(-x), 0, f32b(-lo) });
    RUN("cvt.rm.f32.f64", "mov.b64 %fd1, %rd4; cvt.rm.f32.f64 %f1, %fd1; mov.b32 %r1, %f1; cvt.u64.u32 %rd6, %r1;",
        { f64b(-x), 0, f32b(-hi) }, { f64b(x), 0, f32b(lo) });
    RUN("cvt.rz.f32.f64", "mov.b64 %fd1, %rd4; cvt.rz.f32.f64 %f1, %fd1; mov.b32 %r1, %f1; cvt.u64.u32 %rd6, %r1;",
        { f64b(-x), 0, f32b(-lo) });
    RUN("cvt.rn.f32.s64 (2^24+1)", "cvt.rn.f32.s64 %f1, %rd4; mov.b32 %r1, %f1; cvt.u64.u32 %rd6, %r1;",
        { (1ull << 24) + 1, 0, f32b(16777216.0f) }, { (1ull << 24) + 3, 0, f32b(16777220.0f) });
}

BFT_CASE(cvt_half_rounding)
{
    /* 1 + 2^-11 lies halfway between the halves 1.0 (0x3c00) and 1+2^-10 (0x3c01) */
    uint64_t mid = f32b(1.0f + 0x1p-11f), above = f32b(1.0f + 0x1p-11f + 0x1p-20f);
    RUN("cvt.rn.f16.f32", "cvt.u32.u64 %r1, %rd4; mov.b32 %f1, %r1; cvt.rn.f16.f32 %h1, %f1; cvt.u64.u16 %rd6, %h1;",
        { mid, 0, 0x3c00 }, { above, 0, 0x3c01 }, { f32b(65520.0f), 0, 0x7c00 }, { f32b(1e-8f), 0, 0x0000 },
        { f32b(6e-8f), 0, 0x0001 }, { f32b(-2.0f), 0, 0xc000 });
    RUN("cvt.rz.f16.f32", "cvt.u32.u64 %r1, %rd4; mov.b32 %f1, %r1; cvt.rz.f16.f32 %h1, %f1; cvt.u64.u16 %rd6, %h1;",
        { above, 0, 0x3c00 }, { f32b(1e6f), 0, 0x7bff });
    RUN("cvt.rp.f16.f32", "cvt.u32.u64 %r1, %rd4; mov.b32 %f1, %r1; cvt.rp.f16.f32 %h1, %f1; cvt.u64.u16 %rd6, %h1;",
        { f32b(1.0f + 0x1p-20f), 0, 0x3c01 });
    RUN("cvt.f32.f16", "cvt.u16.u64 %h1, %rd4; cvt.f32.f16 %f1, %h1; mov.b32 %r1, %f1; cvt.u64.u32 %rd6, %r1;",
        { 0x3c01, 0, f32b(1.0f + 0x1p-10f) }, { 0x0001, 0, f32b(0x1p-24f) }, { 0xfc00, 0, f32b(-INFINITY) });
    RUN("cvt.rn.bf16.f32", "cvt.u32.u64 %r1, %rd4; mov.b32 %f1, %r1; cvt.rn.bf16.f32 %h1, %f1; cvt.u64.u16 %rd6, %h1;",
        { f32b(1.0f + 0x1p-8f), 0, 0x3f80 }, { f32b(1.0f + 0x1p-8f + 0x1p-12f), 0, 0x3f81 });
}

BFT_CASE(half2_arithmetic)
{
    /* {hi, lo} pairs: (1.5, 2.0) + (0.25, -3.0) = (1.75, -1.0); fma and sat */
    RUN("add.f16x2", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; add.rn.f16x2 %r3, %r1, %r2; cvt.u64.u32 %rd6, %r3;",
        { 0x3e004000, 0x3400c200, 0x3f00bc00 });
    RUN("fma.sat.f16x2", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; fma.rn.sat.f16x2 %r3, %r1, %r2, %r2; cvt.u64.u32 %rd6, %r3;",
        { 0x3e004000, 0x3400c200, 0x39000000 });   /* hi 1.5*.25+.25 = .625, lo 2*-3-3 = -9 -> 0 */
}

BFT_CASE(float_arith_modes)
{
    float a = 1.0f, b = 0x1p-25f;   /* a + b is between 1 and next float */
    RUN("add.rn.f32", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; mov.b32 %f1, %r1; mov.b32 %f2, %r2; add.rn.f32 %f3, %f1, %f2; mov.b32 %r3, %f3; cvt.u64.u32 %rd6, %r3;",
        { f32b(a), f32b(b), f32b(1.0f) });
    RUN("add.rp.f32", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; mov.b32 %f1, %r1; mov.b32 %f2, %r2; add.rp.f32 %f3, %f1, %f2; mov.b32 %r3, %f3; cvt.u64.u32 %rd6, %r3;",
        { f32b(a), f32b(b), f32b(nextafterf(1.0f, 2.0f)) });
    RUN("add.ftz.f32 (subnormal)", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; mov.b32 %f1, %r1; mov.b32 %f2, %r2; add.ftz.f32 %f3, %f1, %f2; mov.b32 %r3, %f3; cvt.u64.u32 %rd6, %r3;",
        { f32b(0x1p-140f), f32b(0x1p-140f), f32b(0.0f) });
    RUN("mul.sat.f32", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; mov.b32 %f1, %r1; mov.b32 %f2, %r2; mul.sat.f32 %f3, %f1, %f2; mov.b32 %r3, %f3; cvt.u64.u32 %rd6, %r3;",
        { f32b(3.0f), f32b(0.5f), f32b(1.0f) }, { f32b(-3.0f), f32b(0.5f), f32b(0.0f) });
    RUN("min/max NaN", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; mov.b32 %f1, %r1; mov.b32 %f2, %r2; min.f32 %f3, %f1, %f2; mov.b32 %r3, %f3; cvt.u64.u32 %rd6, %r3;",
        { f32b(NAN), f32b(2.0f), f32b(2.0f) });
    RUN("div.rn.f64", "mov.b64 %fd1, %rd4; mov.b64 %fd2, %rd5; div.rn.f64 %fd3, %fd1, %fd2; mov.b64 %rd6, %fd3;",
        { f64b(1.0), f64b(3.0), f64b(1.0 / 3.0) });
}

BFT_CASE(integer_corners)
{
    RUN("add.sat.s32", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; add.sat.s32 %r3, %r1, %r2; cvt.s64.s32 %rd6, %r3;",
        { 0x7fffffff, 1, 0x7fffffff }, { 0x80000000, (uint32_t)-1, (uint64_t)(int64_t)INT32_MIN });
    RUN("div.s32 by zero and overflow", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; div.s32 %r3, %r1, %r2; cvt.u64.u32 %rd6, %r3;",
        { 7, 0, 0xffffffff }, { 0x80000000, 0xffffffff, 0x80000000 }, { (uint32_t)-7, 2, (uint32_t)-3 });
    RUN("rem.u64 by zero", "rem.u64 %rd6, %rd4, %rd5;", { 9, 0, 9 }, { 9, 4, 1 });
    RUN("mul.hi.s64", "mul.hi.s64 %rd6, %rd4, %rd5;", { (uint64_t)-1, 5, (uint64_t)-1 }, { 1ull << 62, 8, 2 });
    RUN("shr.s32 by >= 32", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; shr.s32 %r3, %r1, %r2; cvt.u64.u32 %rd6, %r3;",
        { 0x80000000, 40, 0xffffffff }, { 0x40000000, 40, 0 });
    RUN("shl.b32 by >= 32", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; shl.b32 %r3, %r1, %r2; cvt.u64.u32 %rd6, %r3;",
        { 1, 32, 0 }, { 1, 31, 0x80000000 });
    RUN("bfind.u32 / shiftamt", "cvt.u32.u64 %r1, %rd4; bfind.u32 %r2, %r1; bfind.shiftamt.u32 %r3, %r1; mov.b64 %rd6, {%r2, %r3};",
        { 0x10, 0, (27ull << 32) | 4 }, { 0, 0, 0xffffffffffffffffull });
    RUN("bfe.s32 past msb", "cvt.u32.u64 %r1, %rd4; bfe.s32 %r2, %r1, 28, 8; cvt.u64.u32 %rd6, %r2;",
        { 0x80000000, 0, 0xfffffff8 }, { 0x70000000, 0, 0x7 });
    RUN("prmt sign replicate", "cvt.u32.u64 %r1, %rd4; prmt.b32 %r2, %r1, 0, 0x8880; cvt.u64.u32 %rd6, %r2;",
        { 0x000000f0, 0, 0xfffffff0 }, { 0x00000070, 0, 0x00000070 });
    RUN("popc.b64 / clz.b64", "popc.b64 %r1, %rd4; clz.b64 %r2, %rd4; mov.b64 %rd6, {%r1, %r2};",
        { 0xff, 0, (56ull << 32) | 8 }, { 0, 0, 64ull << 32 });
    RUN("add.cc/addc 64-bit from 32", "cvt.u32.u64 %r1, %rd4; cvt.u32.u64 %r2, %rd5; add.cc.u32 %r3, %r1, %r2; addc.u32 %r4, 0, 0; mov.b64 %rd6, {%r3, %r4};",
        { 0xffffffff, 2, (1ull << 32) | 1 });
}

/* Two warps: warp 1 produces into shared memory and arrives at named barrier 1 (64 threads),
 * warp 0 waits there, then reads. bar.red.popc counts odd tids; a barrier in divergent code is
 * passed by every thread of the block. */
static const char *k_barriers =
    ".version 8.0\n.target sm_80\n.address_size 64\n"
    ".visible .entry bars(.param .u64 po)\n{\n"
    ".reg .b64 %rd<6>; .reg .b32 %r<12>; .reg .pred %p<4>;\n"
    ".shared .align 4 .b32 buf[32];\n"
    "ld.param.u64 %rd1, [po]; mov.u32 %r1, %tid.x; shr.u32 %r2, %r1, 5; and.b32 %r3, %r1, 31;\n"
    "mov.u32 %r4, buf; shl.b32 %r5, %r3, 2; add.s32 %r6, %r4, %r5;\n"
    "setp.eq.u32 %p1, %r2, 1; @!%p1 bra CONSUME;\n"
    "mul.lo.u32 %r7, %r3, 3; st.shared.u32 [%r6], %r7; bar.arrive 1, 64; bra RED;\n"
    "CONSUME:\nbar.sync 1, 64; ld.shared.u32 %r8, [%r6];\n"
    "mul.wide.u32 %rd2, %r1, 4; add.s64 %rd3, %rd1, %rd2; st.global.u32 [%rd3], %r8;\n"
    "RED:\nand.b32 %r9, %r1, 1; setp.ne.u32 %p2, %r9, 0; bar.red.popc.u32 %r10, 0, %p2;\n"
    "setp.lt.u32 %p3, %r3, 7; @%p3 bra DIV;\nbar.sync 2;\nbra AFTER;\nDIV:\nbar.sync 2;\nAFTER:\n"
    "mul.wide.u32 %rd2, %r1, 4; add.s64 %rd4, %rd1, 256; add.s64 %rd5, %rd4, %rd2; st.global.u32 [%rd5], %r10;\n"
    "ret;\n}\n";

BFT_CASE(named_and_divergent_barriers)
{
    bft_cuda_init();
    CUmodule mod;
    CUfunction f;
    CHECK_CU(cuModuleLoadData(&mod, k_barriers));
    CHECK_CU(cuModuleGetFunction(&f, mod, "bars"));
    CUdeviceptr d;
    CHECK_CU(cuMemAlloc(&d, 512));
    CHECK_CU(cuMemsetD32(d, 0xdead, 128));
    void *args[] = { &d };
    CHECK_CU(cuLaunchKernel(f, 4, 1, 1, 64, 1, 1, 0, NULL, args, NULL));
    bft_sync();
    uint32_t got[128];
    bft_download(got, d, 512);
    for (unsigned t = 0; t < 32; t++)
        EXPECT(got[t] == t * 3, "consumer thread %u read %u, want %u", t, got[t], t * 3);
    for (unsigned t = 0; t < 64; t++)
        EXPECT(got[64 + t] == 32, "bar.red.popc in thread %u gave %u, want 32", t, got[64 + t]);
    CHECK_CU(cuMemFree(d));
    CHECK_CU(cuModuleUnload(mod));
}

int main(int argc, char **argv) { return bft_main(argc, argv); }
