/* test_emu_config.c: what the software GPU takes from its environment for leases (emu/device.c,
 * context.c, busy.c) and what it counts as used memory: CUDA_VISIBLE_DEVICES (devices selected
 * and renumbered in the listed order by ordinal or UUID, each keeping its identity; the list
 * stops at the first invalid entry; none left: CUDA_ERROR_NO_DEVICE), BITFUSION_EMU_CTX_RESERVE_MB
 * (each context takes that much of cuMemGetInfo's free memory; OUT_OF_MEMORY when it does not
 * fit), module globals counted as used memory, and bfEmuDeviceBusyNs.
 * The emu reads its environment once per process: cases set it before cuInit in their own forked
 * child (the parent never initialises CUDA), and the CUDA_VISIBLE_DEVICES cases probe each setting
 * in a further child. Shared test framework: tests/common/bft.h. */
#include "bft.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

/* The emu's export; absent (NULL) when another libcuda (the client library) is loaded. */
extern unsigned long long bfEmuDeviceBusyNs(int ordinal) __attribute__((weak));

static void need_fork(void)
{
    if (!bft_forking())
        bft_skip("configures the software GPU through its environment: needs a fresh process per case");
}

/* ---- probing one CUDA_VISIBLE_DEVICES setting in a child ------------------------------------- */
typedef struct probe_dev {
    CUuuid uuid;
    char pci[32];
    char name[64];
    size_t mem;
    int by_pci;                   /* cuDeviceGetByPCIBusId of its own bus id */
} probe_dev;

typedef struct probe {
    int init_rc;                  /* cuInit */
    int count;
    probe_dev dev[16];
} probe;

static void probe_child(const char *cvd, int fd)
{
    probe p;
    memset(&p, 0, sizeof p);
    setenv("BITFUSION_EMU_DEVICES", "3", 1);
    setenv("BITFUSION_EMU_MEMORY_MB", "64", 1);
    if (cvd)
        setenv("CUDA_VISIBLE_DEVICES", cvd, 1);
    else
        unsetenv("CUDA_VISIBLE_DEVICES");
    p.init_rc = (int)cuInit(0);
    if (p.init_rc == CUDA_SUCCESS && cuDeviceGetCount(&p.count) != CUDA_SUCCESS)
        p.count = -1;
    for (int i = 0; i < p.count && i < 16; i++) {
        probe_dev *d = &p.dev[i];
        CUdevice dev = -1;
        if (cuDeviceGetUuid(&d->uuid, i) != CUDA_SUCCESS || cuDeviceGetPCIBusId(d->pci, sizeof d->pci, i) ||
            cuDeviceGetName(d->name, sizeof d->name, i) || cuDeviceTotalMem(&d->mem, i) ||
            cuDeviceGetByPCIBusId(&dev, d->pci))
            p.count = -2;
        d->by_pci = dev;
    }
    ssize_t w = write(fd, &p, sizeof p);
    _exit(w == (ssize_t)sizeof p ? 0 : 1);
}

/* Runs cuInit and device queries in a child with BITFUSION_EMU_DEVICES=3 and
 * CUDA_VISIBLE_DEVICES=cvd (NULL: unset). */
static probe run_probe(const char *cvd)
{
    probe p;
    memset(&p, 0, sizeof p);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        probe_child(cvd, fds[1]);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while (got < sizeof p && (r = read(fds[0], (char *)&p + got, sizeof p - got)) > 0)
        got += (size_t)r;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(got == sizeof p && WIFEXITED(status) && WEXITSTATUS(status) == 0, "probe of '%s' failed",
            cvd ? cvd : "(unset)");
    return p;
}

static int same_dev(const probe_dev *a, const probe_dev *b)
{
    return !memcmp(&a->uuid, &b->uuid, sizeof a->uuid) && !strcmp(a->pci, b->pci) && !strcmp(a->name, b->name) &&
           a->mem == b->mem;
}

/* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
static void uuid_string(const CUuuid *u, char *out, size_t n)
{
    const unsigned char *b = (const unsigned char *)u->bytes;
    snprintf(out, n, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- CUDA_VISIBLE_DEVICES ---------------------------------------------------------------------- */

BFT_CASE(visible_devices_select_and_order)
{
    need_fork();
    probe all = run_probe(NULL);
    REQUIRE(all.init_rc == CUDA_SUCCESS && all.count == 3, "unset: rc %d count %d", all.init_rc, all.count);
    for (int i = 0; i < 3; i++) {
        EXPECT(all.dev[i].by_pci == i, "device %d found by its PCI id as %d", i, all.dev[i].by_pci);
        for (int j = i + 1; j < 3; j++)
            EXPECT(memcmp(&all.dev[i].uuid, &all.dev[j].uuid, sizeof(CUuuid)) != 0 && strcmp(all.dev[i].pci, all.dev[j].pci),
                   "devices %d and %d share a UUID or PCI bus id", i, j);
    }
    probe p = run_probe("2,0");
    REQUIRE(p.init_rc == CUDA_SUCCESS && p.count == 2, "2,0: rc %d count %d", p.init_rc, p.count);
    EXPECT(same_dev(&p.dev[0], &all.dev[2]), "visible 0 is device 2 (uuid, pci %s vs %s)", p.dev[0].pci, all.dev[2].pci);
    EXPECT(same_dev(&p.dev[1], &all.dev[0]), "visible 1 is device 0");
    EXPECT(p.dev[0].by_pci == 0 && p.dev[1].by_pci == 1, "by PCI id: %d %d", p.dev[0].by_pci, p.dev[1].by_pci);
    p = run_probe(" 1 , 2");
    REQUIRE(p.count == 2, "blanks around entries: count %d", p.count);
    EXPECT(same_dev(&p.dev[0], &all.dev[1]) && same_dev(&p.dev[1], &all.dev[2]), "1,2 with blanks");
    p = run_probe("0,1,2");
    EXPECT(p.count == 3 && same_dev(&p.dev[2], &all.dev[2]), "the full list");
}

BFT_CASE(visible_devices_stop_at_invalid)
{
    need_fork();
    probe all = run_probe(NULL);
    REQUIRE(all.count == 3);
    probe p = run_probe("1,7,0");
    EXPECT(p.init_rc == CUDA_SUCCESS && p.count == 1 && same_dev(&p.dev[0], &all.dev[1]), "1,7,0: count %d", p.count);
    p = run_probe("2,2,0");
    EXPECT(p.count == 1 && same_dev(&p.dev[0], &all.dev[2]), "a repeated device stops the list: count %d", p.count);
    p = run_probe("0,x1,2");
    EXPECT(p.count == 1 && same_dev(&p.dev[0], &all.dev[0]), "a malformed entry stops the list: count %d", p.count);
    p = run_probe("1,");
    EXPECT(p.count == 1 && same_dev(&p.dev[0], &all.dev[1]), "a trailing comma: count %d", p.count);
    const char *none[] = { "", "-1", "3", "abc", ",0", "1x" };
    for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
        p = run_probe(none[i]);
        EXPECT(p.init_rc == CUDA_ERROR_NO_DEVICE, "CUDA_VISIBLE_DEVICES='%s': cuInit -> %s", none[i],
               bft_cu_name((CUresult)p.init_rc));
    }
}

BFT_CASE(visible_devices_by_uuid)
{
    need_fork();
    probe all = run_probe(NULL);
    REQUIRE(all.count == 3);
    char u2[64], u0[64], list[160];
    uuid_string(&all.dev[2].uuid, u2, sizeof u2);
    uuid_string(&all.dev[0].uuid, u0, sizeof u0);
    snprintf(list, sizeof list, "%s,%s", u2, u0);
    probe p = run_probe(list);
    EXPECT(p.count == 2 && same_dev(&p.dev[0], &all.dev[2]) && same_dev(&p.dev[1], &all.dev[0]), "full UUIDs '%s': count %d",
           list, p.count);
    /* a unique prefix (the first 12 hex digits, which tell three devices apart) mixed with an ordinal */
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%.17s,1", u0);   /* "GPU-" + 8 digits + "-" + 4 digits */
    p = run_probe(prefix);
    EXPECT(p.count == 2 && same_dev(&p.dev[0], &all.dev[0]) && same_dev(&p.dev[1], &all.dev[1]), "prefix '%s': count %d",
           prefix, p.count);
    p = run_probe("GPU-zz");
    EXPECT(p.init_rc == CUDA_ERROR_NO_DEVICE, "GPU-zz: %s", bft_cu_name((CUresult)p.init_rc));
    p = run_probe("GPU-");
    EXPECT(p.init_rc == CUDA_ERROR_NO_DEVICE, "GPU-: %s", bft_cu_name((CUresult)p.init_rc));
}

/* ---- BITFUSION_EMU_CTX_RESERVE_MB ------------------------------------------------------------ */

BFT_CASE(ctx_reserve_charged)
{
    need_fork();
    setenv("BITFUSION_EMU_MEMORY_MB", "64", 1);
    setenv("BITFUSION_EMU_CTX_RESERVE_MB", "8", 1);
    bft_cuda_init();   /* the primary context, current */
    size_t f, t;
    CHECK_CU(cuMemGetInfo(&f, &t));
    EXPECT(t == 64 * MIB && f == 56 * MIB, "primary context: free %zu total %zu", f, t);
    CUcontext c;
    CHECK_CU(cuCtxCreate(&c, NULL, 0, bft_device()));
    EXPECT(bft_free_mem() == 48 * MIB, "two contexts: free %zu", bft_free_mem());
    CUdeviceptr d;
    EXPECT_CU(cuMemAlloc(&d, 48 * MIB + 1), CUDA_ERROR_OUT_OF_MEMORY);
    CHECK_CU(cuMemAlloc(&d, 48 * MIB));
    CHECK_CU(cuMemFree(d));
    CHECK_CU(cuCtxDestroy(c));
    CHECK_CU(cuCtxSetCurrent(bft_context()));
    EXPECT(bft_free_mem() == 56 * MIB, "context destroyed: free %zu", bft_free_mem());
    CHECK_CU(cuDevicePrimaryCtxReset(bft_device()));
    CUcontext again;
    CHECK_CU(cuDevicePrimaryCtxRetain(&again, bft_device()));
    CHECK_CU(cuCtxSetCurrent(again));
    EXPECT(bft_free_mem() == 56 * MIB, "primary reset and retained again: free %zu", bft_free_mem());
    CHECK_CU(cuDevicePrimaryCtxRelease(bft_device()));
}

BFT_CASE(ctx_reserve_out_of_memory)
{
    need_fork();
    setenv("BITFUSION_EMU_MEMORY_MB", "64", 1);
    setenv("BITFUSION_EMU_CTX_RESERVE_MB", "40", 1);
    bft_cuda_init();
    EXPECT(bft_free_mem() == 24 * MIB, "free %zu", bft_free_mem());
    CUcontext c = NULL;
    EXPECT_CU(cuCtxCreate(&c, NULL, 0, bft_device()), CUDA_ERROR_OUT_OF_MEMORY);
    CUcontext cur = NULL;
    CHECK_CU(cuCtxGetCurrent(&cur));
    EXPECT(cur == bft_context(), "the failed creation left the current context alone");
    EXPECT(bft_free_mem() == 24 * MIB, "nothing charged by the failed creation: free %zu", bft_free_mem());
}

BFT_CASE(ctx_reserve_default_zero)
{
    need_fork();
    setenv("BITFUSION_EMU_MEMORY_MB", "64", 1);
    unsetenv("BITFUSION_EMU_CTX_RESERVE_MB");
    bft_cuda_init();
    EXPECT(bft_free_mem() == 64 * MIB, "free %zu", bft_free_mem());
    CUcontext c;
    CHECK_CU(cuCtxCreate(&c, NULL, 0, bft_device()));
    EXPECT(bft_free_mem() == 64 * MIB, "free %zu", bft_free_mem());
    CHECK_CU(cuCtxDestroy(c));
}

/* ---- module globals count as used memory ---------------------------------------------------- */

static const char *k_globals_ptx =
    ".version 7.0\n.target sm_80\n.address_size 64\n"
    ".visible .global .align 4 .b8 g_big[10000];\n"
    ".visible .const .align 8 .b8 c_small[300];\n"
    ".visible .entry touch(.param .u64 p)\n{\n  ret;\n}\n";

BFT_CASE(module_globals_counted)
{
    bft_cuda_init();
    size_t before = bft_free_mem();
    CUmodule m;
    CHECK_CU(cuModuleLoadData(&m, k_globals_ptx));
    size_t loaded = bft_free_mem();
    CUdeviceptr g;
    size_t gs = 0, cs = 0;
    CHECK_CU(cuModuleGetGlobal(&g, &gs, m, "g_big"));
    CHECK_CU(cuModuleGetGlobal(&g, &cs, m, "c_small"));
    EXPECT(gs == 10000 && cs == 300, "sizes %zu %zu", gs, cs);
    /* device memory is charged in 256-byte granules */
    EXPECT(before - loaded == 10240 + 512, "free dropped by %zu bytes, expected %d", before - loaded, 10240 + 512);
    CHECK_CU(cuModuleUnload(m));
    EXPECT(bft_free_mem() == before, "unloaded: free %zu, was %zu", bft_free_mem(), before);
}

/* ---- bfEmuDeviceBusyNs -------------------------------------------------------------------------- */

/* spin(n): each thread adds n times (enough work to take measurable time). */
static const char *k_spin_ptx =
    ".version 7.0\n.target sm_80\n.address_size 64\n"
    ".visible .entry spin(.param .u64 p, .param .u32 n)\n{\n"
    "  .reg .u32 %r<4>;\n  .reg .u64 %rd<2>;\n  .reg .pred %p1;\n"
    "  ld.param.u64 %rd1, [p];\n  ld.param.u32 %r1, [n];\n  mov.u32 %r2, 0;\n  mov.u32 %r3, 0;\n"
    "LOOP:\n  add.u32 %r3, %r3, 3;\n  add.u32 %r2, %r2, 1;\n  setp.lt.u32 %p1, %r2, %r1;\n  @%p1 bra LOOP;\n"
    "  cvta.to.global.u64 %rd1, %rd1;\n  st.global.u32 [%rd1], %r3;\n  ret;\n}\n";

BFT_CASE(busy_time)
{
    if (!bfEmuDeviceBusyNs)
        bft_skip("bfEmuDeviceBusyNs is the software GPU's own export (another libcuda is loaded)");
    need_fork();
    setenv("BITFUSION_EMU_DEVICES", "2", 1);
    bft_cuda_init();
    CUmodule m;
    CUfunction f;
    CHECK_CU(cuModuleLoadData(&m, k_spin_ptx));
    CHECK_CU(cuModuleGetFunction(&f, m, "spin"));
    CUdeviceptr out = bft_dalloc(4);
    unsigned long long b0 = bfEmuDeviceBusyNs(0);
    EXPECT(b0 == 0, "no kernel has run yet: %llu", b0);
    unsigned n = 20000;
    double t0 = bft_now();
    BFT_LAUNCH(f, bft_d1(4), bft_d1(64), 0, &out, &n);
    bft_sync();
    double wall = bft_now() - t0;
    unsigned long long b1 = bfEmuDeviceBusyNs(0);
    EXPECT(b1 > 0, "busy after a kernel: %llu ns", b1);
    EXPECT((double)b1 <= wall * 1e9 + 1e6, "busy %llu ns within the %.0f ns the launch took", b1, wall * 1e9);
    unsigned got = 0;
    bft_download(&got, out, 4);
    EXPECT(got == 3 * n, "the kernel ran: %u", got);
    EXPECT(bfEmuDeviceBusyNs(0) == b1, "idle again: no more busy time");
    BFT_LAUNCH(f, bft_d1(4), bft_d1(64), 0, &out, &n);
    bft_sync();
    EXPECT(bfEmuDeviceBusyNs(0) > b1, "a second kernel adds time");
    EXPECT(bfEmuDeviceBusyNs(1) == 0, "device 1 ran nothing");
    EXPECT(bfEmuDeviceBusyNs(2) == 0 && bfEmuDeviceBusyNs(-1) == 0, "no such device");
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
