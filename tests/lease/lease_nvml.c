/* lease_nvml.c: NVML inside a lease (tests/lease/run_lease.sh, case 12). dlopen("libnvidia-ml.so.1")
 * as monitoring tools do (bitfusion run puts the client library's directory, which has it, on
 * LD_LIBRARY_PATH), then checks NVML's answers against CUDA's:
 *   nvmlInit_v2; nvmlDeviceGetCount_v2 == cuDeviceGetCount; for device 0: nvmlDeviceGetName ==
 *   cuDeviceGetName, nvmlDeviceGetUUID == cuDeviceGetUuid ("GPU-..."), nvmlDeviceGetMemoryInfo's
 *   total == cuDeviceTotalMem == EXPECT_MIB, its used grows by at least the 64 MiB this process
 *   allocates with cuMemAlloc, nvmlDeviceGetComputeRunningProcesses (_v3, _v2 or the first version,
 *   whichever the library has) lists this process, nvmlDeviceGetUtilizationRates succeeds with
 *   0..100; nvmlShutdown.
 * Usage: lease_nvml EXPECT_MIB. One line per check ("ok ..." / "lease_nvml: FAIL ..."), then
 * "lease_nvml: passed" and status 0, or status 1. */
#include <cuda.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The parts of nvml.h used here (the toolkit does not always ship the header). */
typedef int nvmlReturn_t;
#define NVML_SUCCESS 0
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned int pid; unsigned long long usedGpuMemory; } nvmlProcessInfo_v1_t;
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_v2_t;

static int failures;
static void *nvml;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok   ");                                                                       \
        } else {                                                                                   \
            printf("lease_nvml: FAIL ");                                                           \
            failures++;                                                                            \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
    } while (0)

static const char *cu_name(CUresult r)
{
    const char *s = NULL;
    return cuGetErrorName(r, &s) == CUDA_SUCCESS && s ? s : "(unknown CUresult)";
}

static const char *nv_name(nvmlReturn_t r)
{
    static const char *(*fn)(nvmlReturn_t);
    if (!fn)
        *(void **)&fn = dlsym(nvml, "nvmlErrorString");
    return fn ? fn(r) : "(no nvmlErrorString)";
}

#define CU(call)                                                                                   \
    do {                                                                                           \
        CUresult r_ = (call);                                                                      \
        if (r_ != CUDA_SUCCESS) {                                                                  \
            printf("lease_nvml: FAIL %s: %s\n", #call, cu_name(r_));                               \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static void *sym(const char *name)
{
    void *p = dlsym(nvml, name);
    if (!p)
        printf("lease_nvml: FAIL libnvidia-ml.so.1 has no %s\n", name);
    return p;
}

#define NV(fnptr, name, ...)                                                                       \
    do {                                                                                           \
        *(void **)&fnptr = sym(name);                                                              \
        if (!fnptr)                                                                                \
            return 1;                                                                              \
        nvmlReturn_t r_ = fnptr(__VA_ARGS__);                                                      \
        if (r_ != NVML_SUCCESS) {                                                                  \
            printf("lease_nvml: FAIL %s: %d (%s)\n", name, r_, nv_name(r_));                       \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 2) {
        fprintf(stderr, "usage: lease_nvml EXPECT_MIB\n");
        return 2;
    }
    unsigned long long want = strtoull(argv[1], NULL, 10) << 20;

    nvml = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!nvml) {
        printf("lease_nvml: FAIL dlopen(libnvidia-ml.so.1): %s (LD_LIBRARY_PATH=%s)\n", dlerror(),
               getenv("LD_LIBRARY_PATH") ? getenv("LD_LIBRARY_PATH") : "");
        return 1;
    }
    nvmlReturn_t (*init)(void), (*count)(unsigned *), (*byindex)(unsigned, nvmlDevice_t *),
        (*name)(nvmlDevice_t, char *, unsigned), (*uuid)(nvmlDevice_t, char *, unsigned),
        (*meminfo)(nvmlDevice_t, nvmlMemory_t *), (*util)(nvmlDevice_t, nvmlUtilization_t *),
        (*shutdown)(void);
    unsigned n = 0;
    nvmlDevice_t dev;
    char nname[96] = "", nuuid[96] = "";
    nvmlMemory_t m0, m1;
    nvmlUtilization_t u;
    NV(init, "nvmlInit_v2");
    NV(count, "nvmlDeviceGetCount_v2", &n);
    NV(byindex, "nvmlDeviceGetHandleByIndex_v2", 0, &dev);
    NV(name, "nvmlDeviceGetName", dev, nname, sizeof nname);
    NV(uuid, "nvmlDeviceGetUUID", dev, nuuid, sizeof nuuid);
    printf("nvml: count=%u name=%s uuid=%s\n", n, nname, nuuid);

    /* CUDA's answers */
    int cn = 0;
    CUdevice cd;
    CUcontext ctx;
    size_t ctotal = 0;
    char cname[256];
    CUuuid cu;
    CU(cuInit(0));
    CU(cuDeviceGetCount(&cn));
    CU(cuDeviceGet(&cd, 0));
    CU(cuDeviceGetName(cname, sizeof cname, cd));
    CU(cuDeviceTotalMem(&ctotal, cd));
    CU(cuDeviceGetUuid(&cu, cd));
    CU(cuDevicePrimaryCtxRetain(&ctx, cd));
    CU(cuCtxSetCurrent(ctx));
    const unsigned char *b = (const unsigned char *)cu.bytes;
    char cuuid[64];
    snprintf(cuuid, sizeof cuuid, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    CHECK((int)n == cn, "nvmlDeviceGetCount_v2 %u, cuDeviceGetCount %d", n, cn);
    CHECK(!strcmp(nname, cname), "nvmlDeviceGetName '%s', cuDeviceGetName '%s'", nname, cname);
    CHECK(!strcasecmp(nuuid, cuuid), "nvmlDeviceGetUUID %s, cuDeviceGetUuid %s", nuuid, cuuid);

    NV(meminfo, "nvmlDeviceGetMemoryInfo", dev, &m0);
    CHECK(m0.total == want && m0.total == ctotal,
          "nvmlDeviceGetMemoryInfo total %llu (%llu MiB), cuDeviceTotalMem %zu, partition %llu MiB", m0.total,
          m0.total >> 20, ctotal, want >> 20);
    CHECK(m0.used <= m0.total && m0.free <= m0.total, "before cuMemAlloc: used %llu, free %llu", m0.used, m0.free);
    CUdeviceptr p;
    size_t sz = 64ull << 20;
    CU(cuMemAlloc(&p, sz));
    NV(meminfo, "nvmlDeviceGetMemoryInfo", dev, &m1);
    CHECK(m1.used >= m0.used + sz && m1.used <= m1.total,
          "after cuMemAlloc(64 MiB): used %llu -> %llu (grew by %lld), free %llu -> %llu", m0.used, m1.used,
          (long long)(m1.used - m0.used), m0.free, m1.free);

    /* running processes: the newest entry point the library has */
    static const char *const PROC_FNS[] = {"nvmlDeviceGetComputeRunningProcesses_v3",
                                           "nvmlDeviceGetComputeRunningProcesses_v2",
                                           "nvmlDeviceGetComputeRunningProcesses"};
    nvmlReturn_t (*procs)(nvmlDevice_t, unsigned *, void *) = NULL;
    int which = -1;
    for (int i = 0; i < 3 && !procs; i++)
        if ((*(void **)&procs = dlsym(nvml, PROC_FNS[i])))
            which = i;
    if (!procs) {
        CHECK(0, "libnvidia-ml.so.1 has no nvmlDeviceGetComputeRunningProcesses (_v3, _v2 or plain)");
    } else {
        unsigned np = 64;
        nvmlProcessInfo_v2_t v2[64];
        nvmlProcessInfo_v1_t v1[64];
        memset(v2, 0, sizeof v2);
        memset(v1, 0, sizeof v1);
        nvmlReturn_t r = procs(dev, &np, which < 2 ? (void *)v2 : (void *)v1);
        int mine = 0;
        char list[512] = "";
        for (unsigned i = 0; r == NVML_SUCCESS && i < np && i < 64; i++) {
            unsigned pid = which < 2 ? v2[i].pid : v1[i].pid;
            mine |= pid == (unsigned)getpid();
            snprintf(list + strlen(list), sizeof list - strlen(list), " %u", pid);
        }
        CHECK(r == NVML_SUCCESS && mine, "%s: %d (%s), %u processes:%s; this one is %d", PROC_FNS[which], r,
              nv_name(r), np, list, (int)getpid());
    }
    *(void **)&util = sym("nvmlDeviceGetUtilizationRates");
    if (util) {
        nvmlReturn_t r = util(dev, &u);
        CHECK(r == NVML_SUCCESS && u.gpu <= 100 && u.memory <= 100,
              "nvmlDeviceGetUtilizationRates: %d (%s), gpu %u%%, memory %u%%", r, nv_name(r), u.gpu, u.memory);
    } else {
        failures++;
    }
    CU(cuMemFree(p));
    NV(shutdown, "nvmlShutdown");
    printf("lease_nvml: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
