/* test_remote.c: behaviours of the remoting itself (owner: tests/remote/), run by run_remote.sh
 * with the client library preloaded against a server with the software GPU: multi-stream ordering
 * with events, async copies (host data taken at call time, DtoH filled by the next sync), host
 * function and stream callback ordering, module globals, a 1 GiB transfer checked byte for byte,
 * two client processes at once, and that nothing hangs: a host function that never returns, a
 * server that stops answering or goes away (calls fail within the client timeout,
 * BITFUSION_CALL_TIMEOUT_S). (Run directly without the preload, it tests the emu; the cases about
 * the connection skip then.) */
#include "bft.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

BFT_CASE(streams_ordered_by_events)
{
    bft_cuda_init();
    const unsigned n = 1 << 16;
    CUfunction saxpy = bft_func("blas1", "saxpy");
    CUstream s1, s2;
    CUevent e;
    CHECK_CU(cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
    CHECK_CU(cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING));
    CHECK_CU(cuEventCreate(&e, 0));
    CUdeviceptr x = bft_dalloc(n * 4), y = bft_dalloc(n * 4);
    CHECK_CU(cuMemsetD32Async(x, 0x3f800000u, n, s1));   /* 1.0f */
    CHECK_CU(cuMemsetD32Async(y, 0, n, s1));
    float a = 1.0f;
    void *args[] = { &a, &x, &y, (void *)&n };
    for (int i = 0; i < 20; i++)
        CHECK_CU(cuLaunchKernel(saxpy, n / 256, 1, 1, 256, 1, 1, 0, s1, args, NULL));
    CHECK_CU(cuEventRecord(e, s1));
    CHECK_CU(cuStreamWaitEvent(s2, e, 0));
    float *out = bft_alloc(n * 4);
    CHECK_CU(cuMemcpyDtoHAsync(out, y, n * 4, s2));
    CHECK_CU(cuStreamSynchronize(s2));
    size_t bad = 0;
    for (unsigned i = 0; i < n; i++) bad += out[i] != 20.0f;
    EXPECT(bad == 0, "%zu of %u elements are not 20", bad, n);
    CHECK_CU(cuEventSynchronize(e));
    CHECK_CU(cuEventDestroy(e));
    CHECK_CU(cuStreamDestroy(s1));
    CHECK_CU(cuStreamDestroy(s2));
}

BFT_CASE(async_copies)
{
    bft_cuda_init();
    const size_t n = 3 << 20;
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, 0));
    unsigned char *src = bft_alloc(n), *back = bft_alloc(n);
    for (size_t i = 0; i < n; i++) src[i] = (unsigned char)(i * 7 + 3);
    CUdeviceptr d = bft_dalloc(n);
    CHECK_CU(cuMemcpyHtoDAsync(d, src, n, s));
    memset(src, 0xee, n);   /* the copy took the data at call time */
    CHECK_CU(cuMemcpyDtoHAsync(back, d, n, s));
    CHECK_CU(cuStreamSynchronize(s));
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += back[i] != (unsigned char)(i * 7 + 3);
    EXPECT(bad == 0, "%zu bytes differ", bad);
    /* pinned host memory and the generic copy */
    void *pinned;
    CHECK_CU(cuMemAllocHost(&pinned, 4096));
    memset(pinned, 0x42, 4096);
    CHECK_CU(cuMemcpyAsync(d, (CUdeviceptr)(uintptr_t)pinned, 4096, s));
    CHECK_CU(cuMemcpyDtoH(back, d, 4096));
    EXPECT(back[0] == 0x42 && back[4095] == 0x42, "generic copy from pinned memory");
    CHECK_CU(cuMemFreeHost(pinned));
    CHECK_CU(cuStreamDestroy(s));
}

static int g_log[64];
static int g_nlog;
static void CUDA_CB log_fn(void *p) { g_log[g_nlog++] = (int)(intptr_t)p; }
static void CUDA_CB log_cb(CUstream s, CUresult st, void *p) { if (st == CUDA_SUCCESS) g_log[g_nlog++] = (int)(intptr_t)p; }

BFT_CASE(host_functions_in_stream_order)
{
    bft_cuda_init();
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, 0));
    CUdeviceptr d = bft_dalloc(1 << 20);
    g_nlog = 0;
    for (int i = 0; i < 32; i++) {
        CHECK_CU(cuMemsetD8Async(d, (unsigned char)i, 1 << 20, s));
        if (i % 2) CHECK_CU(cuLaunchHostFunc(s, log_fn, (void *)(intptr_t)i));
        else CHECK_CU(cuStreamAddCallback(s, log_cb, (void *)(intptr_t)i, 0));
    }
    CHECK_CU(cuStreamSynchronize(s));
    EXPECT(g_nlog == 32, "%d host functions ran", g_nlog);
    for (int i = 0; i < g_nlog; i++) EXPECT(g_log[i] == i, "position %d ran %d", i, g_log[i]);
    CHECK_CU(cuStreamDestroy(s));
}

BFT_CASE(module_globals)
{
    bft_cuda_init();
    CUmodule m = bft_module("constmem");
    CUdeviceptr g;
    size_t size = 0;
    CHECK_CU(cuModuleGetGlobal(&g, &size, m, "g_table"));
    EXPECT(size == 16 * sizeof(float), "g_table is %zu bytes", size);
    float t[16];
    CHECK_CU(cuMemcpyDtoH(t, g, sizeof t));
    EXPECT(t[0] == 1.0f && t[3] == 5.0f && t[7] == 34.0f, "initial values %g %g %g", t[0], t[3], t[7]);
    CUdeviceptr counter;
    CHECK_CU(cuModuleGetGlobal(&counter, &size, m, "g_counter"));
    int start = 100;
    CHECK_CU(cuMemcpyHtoD(counter, &start, sizeof start));
    const unsigned n = 256;
    CUdeviceptr tickets = bft_dalloc(n * 4), out = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("constmem", "dev_globals"), bft_d1(1), bft_d1(n), 0, &tickets, &out, (void *)&n);
    bft_sync();
    int end = 0;
    CHECK_CU(cuMemcpyDtoH(&end, counter, sizeof end));
    EXPECT(end == 100 + (int)n, "g_counter is %d", end);
}

BFT_CASE(transfer_1gib_byte_exact)
{
    bft_cuda_init();
    const size_t chunk = 256u << 20;
    uint64_t *up = malloc(chunk), *down = malloc(chunk);
    REQUIRE(up && down, "host buffers");
    CUdeviceptr d;
    CHECK_CU(cuMemAlloc(&d, chunk));
    size_t bad = 0;
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < chunk / 8; i++) up[i] = (i + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)round;
        CHECK_CU(cuMemcpyHtoD(d, up, chunk));
        memset(down, 0, chunk);
        CHECK_CU(cuMemcpyDtoH(down, d, chunk));
        if (memcmp(up, down, chunk) != 0) bad++;
    }
    EXPECT(bad == 0, "%zu of 4 rounds of 256 MiB differ", bad);
    CHECK_CU(cuMemFree(d));
    free(up);
    free(down);
}

/* One client process: its own connection and session. 0 when its result is right. */
static int one_client(int seed)
{
    const unsigned n = 1 << 15;
    CUdevice dev;
    CUcontext ctx;
    if (cuInit(0) || cuDeviceGet(&dev, 0) || cuDevicePrimaryCtxRetain(&ctx, dev) || cuCtxSetCurrent(ctx)) return 1;
    CUmodule m;
    char *path = bft_kernel_path("blas1.fatbin");
    size_t len;
    void *img = bft_read_file(path, &len);
    if (!img || cuModuleLoadData(&m, img)) return 2;
    CUfunction f;
    if (cuModuleGetFunction(&f, m, "saxpy")) return 3;
    float *h = malloc(n * 4);
    for (unsigned i = 0; i < n; i++) h[i] = (float)(i % 100);
    CUdeviceptr x, y;
    if (cuMemAlloc(&x, n * 4) || cuMemAlloc(&y, n * 4)) return 4;
    if (cuMemcpyHtoD(x, h, n * 4) || cuMemsetD32(y, 0, n)) return 5;
    float a = (float)seed;
    void *args[] = { &a, &x, &y, (void *)&n };
    for (int i = 0; i < 10; i++)
        if (cuLaunchKernel(f, n / 256, 1, 1, 256, 1, 1, 0, NULL, args, NULL)) return 6;
    if (cuMemcpyDtoH(h, y, n * 4)) return 7;
    for (unsigned i = 0; i < n; i++)
        if (h[i] != 10.0f * (float)seed * (float)(i % 100)) return 8;
    return 0;
}

BFT_CASE(two_clients_at_once)
{
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        REQUIRE(pids[i] >= 0, "fork");
        if (pids[i] == 0) _exit(one_client(i + 2));
    }
    for (int i = 0; i < 2; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client %d: status %d", i, st);
    }
}

/* ---- nothing hangs ------------------------------------------------------------------------------ */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void remote_only(void)
{
    /* BITFUSION_SERVER: set by `bitfusion run`; BITFUSION_TEST_PLAIN_UNIX: run_remote.sh REMOTE_MODE=plain */
    if (!getenv("BITFUSION_TEST_PLAIN_UNIX") && !getenv("BITFUSION_SERVER"))
        bft_skip("needs the client library and a server (run_remote.sh)");
}

static volatile int g_forever;
static void CUDA_CB block_forever(void *p) { while (!g_forever) usleep(10000); }

BFT_CASE(host_function_that_never_returns_times_out)
{
    remote_only();
    setenv("BITFUSION_CALL_TIMEOUT_S", "1", 1);
    bft_cuda_init();
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CHECK_CU(cuLaunchHostFunc(s, block_forever, NULL));
    double t0 = now_s();
    CUresult r = cuStreamSynchronize(s);
    double dt = now_s() - t0;
    EXPECT(r == CUDA_ERROR_LAUNCH_TIMEOUT, "cuStreamSynchronize -> %s", bft_cu_name(r));
    EXPECT(dt < 10, "took %.1f s", dt);
    bft_no_cleanup();
}

/* A stand-in server on a unix socket: answers the handshake, then (mode 0) reads and never answers
 * or (mode 1) closes the connection. Returns its pid; the socket path goes to path. */
static pid_t fake_server(int mode, char *path, size_t len)
{
    struct sockaddr_un sa;
    snprintf(path, len, "/tmp/bf-fake-%d-%d.sock", (int)getpid(), mode);
    unlink(path);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 1) != 0) return -1;
    pid_t pid = fork();
    if (pid != 0) { close(ls); return pid; }
    int fd = accept(ls, NULL, NULL);
    unsigned char hdr[4], buf[4096];
    if (fd < 0 || read(fd, hdr, 4) != 4) _exit(1);
    size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    while (n > 0) { ssize_t k = read(fd, buf, n < sizeof buf ? n : sizeof buf); if (k <= 0) _exit(1); n -= (size_t)k; }
    /* Frame{hello_reply{ok: true, protocol_version: 1}} */
    static const unsigned char reply[] = { 0, 0, 0, 6, 0x12, 4, 0x08, 1, 0x10, 2 };
    if (write(fd, reply, sizeof reply) != (ssize_t)sizeof reply) _exit(1);
    if (mode == 1) { usleep(100000); _exit(0); }
    while (read(fd, buf, sizeof buf) > 0) {}
    _exit(0);
}

static void connection_case(int mode)
{
    char path[128];
    remote_only();
    pid_t pid = fake_server(mode, path, sizeof path);
    REQUIRE(pid > 0, "fake server");
    setenv("BITFUSION_TEST_PLAIN_UNIX", path, 1);
    setenv("BITFUSION_CALL_TIMEOUT_S", "1", 1);
    double t0 = now_s();
    CUresult r = cuInit(0);
    if (mode == 1 && r == CUDA_SUCCESS) { usleep(300000); r = cuDeviceGetCount(&(int){ 0 }); }
    double dt = now_s() - t0;
    EXPECT(r == CUDA_ERROR_DEVICE_UNAVAILABLE, "-> %s", bft_cu_name(r));
    EXPECT(dt < 10, "took %.1f s", dt);
    int n = -1;
    EXPECT_CU(cuDeviceGetCount(&n), CUDA_ERROR_DEVICE_UNAVAILABLE);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    unlink(path);
}

BFT_CASE(server_that_stops_answering_fails_calls) { connection_case(0); }
BFT_CASE(server_that_goes_away_fails_calls) { connection_case(1); }

int main(int argc, char **argv) { return bft_main(argc, argv); }
