/* test_api_device.c: cuInit, driver version, device enumeration, names, UUIDs, PCI ids, every
 * device attribute, properties, and the BITFUSION_EMU_* configuration variables (checked in
 * child processes started with a chosen environment). Self-contained: prints one line per failed
 * check and exits non-zero when any check fails. */
#define CUDA_ENABLE_DEPRECATED 1   /* cuDeviceGetProperties #include <cuda.h> co are tested too */
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_check.h"

static int attr(CUdevice_attribute a, CUdevice d)
{
    int v = -12345;
    CHECK_RC(cuDeviceGetAttribute(&v, a, d), CUDA_SUCCESS);
    return v;
}

static void case_before_init(void)
{
    int n, v;
    CHECK_RC(cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED);
    CHECK_RC(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 0), CUDA_ERROR_NOT_INITIALIZED);
    CHECK_RC(cuDriverGetVersion(&v), CUDA_SUCCESS);
    CHECK(v == 13000);
    CHECK_RC(cuDriverGetVersion(NULL), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuInit(1), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuInit(0), CUDA_SUCCESS);
    CHECK_RC(cuInit(0), CUDA_SUCCESS);
}

static void case_enumeration(void)
{
    int n = -1;
    CUdevice d = -1;
    CHECK_RC(cuDeviceGetCount(&n), CUDA_SUCCESS);
    CHECK(n == 1);
    CHECK_RC(cuDeviceGetCount(NULL), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuDeviceGet(&d, 0), CUDA_SUCCESS);
    CHECK(d == 0);
    CHECK_RC(cuDeviceGet(&d, 1), CUDA_ERROR_INVALID_DEVICE);
    CHECK_RC(cuDeviceGet(&d, -1), CUDA_ERROR_INVALID_DEVICE);
    CHECK_RC(cuDeviceGet(NULL, 0), CUDA_ERROR_INVALID_VALUE);

    char name[256];
    CHECK_RC(cuDeviceGetName(name, sizeof name, 0), CUDA_SUCCESS);
    CHECK(!strcmp(name, "Bitfusion Software GPU"));
    CHECK_RC(cuDeviceGetName(name, 5, 0), CUDA_SUCCESS);
    CHECK(!strcmp(name, "Bitf"));
    CHECK_RC(cuDeviceGetName(name, sizeof name, 7), CUDA_ERROR_INVALID_DEVICE);
    CHECK_RC(cuDeviceGetName(NULL, 10, 0), CUDA_ERROR_INVALID_VALUE);

    size_t mem = 0;
    CHECK_RC(cuDeviceTotalMem(&mem, 0), CUDA_SUCCESS);
    CHECK(mem == 16384ull << 20);
}

static void case_uuid(void)
{
    CUuuid a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 1, sizeof b);
    CHECK_RC(cuDeviceGetUuid(&a, 0), CUDA_SUCCESS);
    CHECK_RC(cuDeviceGetUuid_v2(&b, 0), CUDA_SUCCESS);
    CHECK(!memcmp(&a, &b, sizeof a));
    int nonzero = 0;
    for (int i = 0; i < 16; i++)
        nonzero |= a.bytes[i];
    CHECK(nonzero);
    CHECK(((unsigned char)a.bytes[6] >> 4) == 4);   /* version 4 layout */
    CHECK_RC(cuDeviceGetUuid(&a, 3), CUDA_ERROR_INVALID_DEVICE);
    CHECK_RC(cuDeviceGetUuid(NULL, 0), CUDA_ERROR_INVALID_VALUE);
}

static void case_pci(void)
{
    char bus[32];
    CUdevice d = -1;
    CHECK_RC(cuDeviceGetPCIBusId(bus, sizeof bus, 0), CUDA_SUCCESS);
    CHECK(strlen(bus) == 12 && bus[4] == ':' && bus[7] == ':' && bus[10] == '.');
    CHECK_RC(cuDeviceGetByPCIBusId(&d, bus), CUDA_SUCCESS);
    CHECK(d == 0);
    int busnum = attr(CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 0);
    char shortform[32];
    snprintf(shortform, sizeof shortform, "%02X:00.0", busnum);
    d = -1;
    CHECK_RC(cuDeviceGetByPCIBusId(&d, shortform), CUDA_SUCCESS);
    CHECK(d == 0);
    CHECK_RC(cuDeviceGetByPCIBusId(&d, "0000:ff:1f.0"), CUDA_ERROR_INVALID_DEVICE);
    CHECK_RC(cuDeviceGetByPCIBusId(&d, "not a bus id"), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuDeviceGetByPCIBusId(&d, NULL), CUDA_ERROR_INVALID_VALUE);
}

/* Every value of the enum answers; values outside it are refused. */
static void case_every_attribute(void)
{
    for (int a = 1; a < CU_DEVICE_ATTRIBUTE_MAX; a++) {
        int v = -12345;
        CUresult rc = cuDeviceGetAttribute(&v, (CUdevice_attribute)a, 0);
        if (rc != CUDA_SUCCESS || v == -12345)
            api_check_failf(__FILE__, __LINE__, "attribute %d: rc %d value %d", a, (int)rc, v);
    }
    int v;
    CHECK_RC(cuDeviceGetAttribute(&v, (CUdevice_attribute)0, 0), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX, 0), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuDeviceGetAttribute(&v, (CUdevice_attribute)100000, 0), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuDeviceGetAttribute(NULL, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 0), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 1), CUDA_ERROR_INVALID_DEVICE);
}

static void case_attribute_values(void)
{
    CHECK(attr(CU_DEVICE_ATTRIBUTE_WARP_SIZE, 0) == 32);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, 0) == 1024);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, 0) == 1024);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, 0) == 64);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, 0) == 2147483647);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y, 0) == 65535);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, 0) == 49152);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, 0) == 166912);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, 0) == 167936);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK, 0) == 65536);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, 0) == 2048);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR, 0) == 32);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 0) == 8);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 0) == 8);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 0) == 0);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, 0) == 1);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY, 0) == 1);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS, 0) == 1);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH, 0) == 1);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, 0) > 0);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_CLOCK_RATE, 0) > 0);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, 0) > 0);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED, 0) == 1);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_INTEGRATED, 0) == 0);

    int major = 0, minor = -1;
    CHECK_RC(cuDeviceComputeCapability(&major, &minor, 0), CUDA_SUCCESS);
    CHECK(major == 8 && minor == 0);
    CUdevprop p;
    memset(&p, 0, sizeof p);
    CHECK_RC(cuDeviceGetProperties(&p, 0), CUDA_SUCCESS);
    CHECK(p.maxThreadsPerBlock == 1024 && p.SIMDWidth == 32 && p.sharedMemPerBlock == 49152);
    CHECK(p.maxThreadsDim[2] == 64 && p.maxGridSize[1] == 65535 && p.regsPerBlock == 65536);
}

/* ---- configuration through the environment: a child process per setting ------------------ */
static const char *g_self;

/* Runs this program with argv[1]=mode and the given environment additions; returns its exit
 * status and stores what it wrote to stderr. */
static int run_child(const char *mode, const char *const *env, char *err, size_t errlen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        unsetenv("BITFUSION_EMU_DEVICES");
        unsetenv("BITFUSION_EMU_MEMORY_MB");
        unsetenv("BITFUSION_EMU_SMS");
        unsetenv("BITFUSION_EMU_NAME");
        unsetenv("BITFUSION_EMU_CC");
        setenv("BITFUSION_EMU_LOG", "warn", 1);
        for (int i = 0; env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        execl(g_self, g_self, mode, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < errlen && (r = read(fds[0], err + n, errlen - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int child_configured(void)
{
    int n = 0;
    CHECK_RC(cuInit(0), CUDA_SUCCESS);
    CHECK_RC(cuDeviceGetCount(&n), CUDA_SUCCESS);
    CHECK(n == 3);
    CUuuid u[3];
    for (int d = 0; d < 3 && n == 3; d++) {
        char name[64];
        size_t mem = 0;
        CHECK_RC(cuDeviceGetName(name, sizeof name, d), CUDA_SUCCESS);
        CHECK(!strcmp(name, "Test GPU"));
        CHECK_RC(cuDeviceTotalMem(&mem, d), CUDA_SUCCESS);
        CHECK(mem == 1024ull << 20);
        CHECK(attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, d) == 4);
        CHECK(attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d) == 8);
        CHECK(attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d) == 6);
        CHECK_RC(cuDeviceGetUuid(&u[d], d), CUDA_SUCCESS);
        char bus[16];
        CUdevice back = -1;
        CHECK_RC(cuDeviceGetPCIBusId(bus, sizeof bus, d), CUDA_SUCCESS);
        CHECK_RC(cuDeviceGetByPCIBusId(&back, bus), CUDA_SUCCESS);
        CHECK(back == d);
    }
    CHECK(memcmp(&u[0], &u[1], sizeof u[0]) != 0 && memcmp(&u[1], &u[2], sizeof u[0]) != 0);
    int can = -1;
    CHECK_RC(cuDeviceCanAccessPeer(&can, 0, 1), CUDA_SUCCESS);
    CHECK(can == 1);
    CHECK_RC(cuDeviceCanAccessPeer(&can, 1, 1), CUDA_SUCCESS);
    CHECK(can == 0);
    CHECK_RC(cuDeviceCanAccessPeer(&can, 0, 9), CUDA_ERROR_INVALID_DEVICE);
    return api_check_case_failed();
}

static int child_defaults_after_bad_values(void)
{
    int n = 0;
    CHECK_RC(cuInit(0), CUDA_SUCCESS);
    CHECK_RC(cuDeviceGetCount(&n), CUDA_SUCCESS);
    CHECK(n == 1);
    size_t mem = 0;
    CHECK_RC(cuDeviceTotalMem(&mem, 0), CUDA_SUCCESS);
    CHECK(mem == 16384ull << 20);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 0) == 8);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 0) == 8);
    CHECK(attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 0) == 0);
    return api_check_case_failed();
}

static int child_no_devices(void)
{
    int n;
    CHECK_RC(cuInit(0), CUDA_ERROR_NO_DEVICE);
    CHECK_RC(cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED);
    return api_check_case_failed();
}

static void case_env_configuration(void)
{
    char err[4096];
    const char *env[] = { "BITFUSION_EMU_DEVICES", "3", "BITFUSION_EMU_MEMORY_MB", "1024", "BITFUSION_EMU_SMS",
                          "4", "BITFUSION_EMU_NAME", "Test GPU", "BITFUSION_EMU_CC", "8.6", NULL };
    CHECK(run_child("child-configured", env, err, sizeof err) == 0);
    CHECK(err[0] == 0);   /* good values log nothing */
}

static void case_env_bad_values(void)
{
    char err[4096];
    const char *env[] = { "BITFUSION_EMU_DEVICES", "99", "BITFUSION_EMU_MEMORY_MB", "lots", "BITFUSION_EMU_SMS",
                          "-3", "BITFUSION_EMU_CC", "banana", NULL };
    CHECK(run_child("child-bad", env, err, sizeof err) == 0);
    CHECK(strstr(err, "BITFUSION_EMU_DEVICES=99") != NULL);
    CHECK(strstr(err, "BITFUSION_EMU_MEMORY_MB=lots") != NULL);
    CHECK(strstr(err, "BITFUSION_EMU_SMS=-3") != NULL);
    CHECK(strstr(err, "BITFUSION_EMU_CC=banana") != NULL);
    const char *zero[] = { "BITFUSION_EMU_DEVICES", "0", NULL };
    CHECK(run_child("child-none", zero, err, sizeof err) == 0);
}

int main(int argc, char **argv)
{
    g_self = "/proc/self/exe";
    static char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        g_self = self;
    }
    if (argc > 1 && !strcmp(argv[1], "child-configured"))
        return child_configured();
    if (argc > 1 && !strcmp(argv[1], "child-bad"))
        return child_defaults_after_bad_values();
    if (argc > 1 && !strcmp(argv[1], "child-none"))
        return child_no_devices();
    unsetenv("BITFUSION_EMU_DEVICES");
    unsetenv("BITFUSION_EMU_MEMORY_MB");
    unsetenv("BITFUSION_EMU_SMS");
    unsetenv("BITFUSION_EMU_NAME");
    unsetenv("BITFUSION_EMU_CC");
    alarm(120);
    static const api_check_case cases[] = {
        { "before_init", case_before_init },
        { "enumeration", case_enumeration },
        { "uuid", case_uuid },
        { "pci", case_pci },
        { "every_attribute", case_every_attribute },
        { "attribute_values", case_attribute_values },
        { "env_configuration", case_env_configuration },
        { "env_bad_values", case_env_bad_values },
    };
    return API_CHECK_RUN(cases, 0);
}
