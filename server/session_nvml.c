/* session_nvml.c: the internal call bfDeviceInfo, NVML's view of a device of the lease (the client
 * library's nvmlDeviceGetMemoryInfo, ...GetUtilizationRates, ...GetComputeRunningProcesses): the
 * partition and what every process of the lease uses of it (session_partition.c), and how busy
 * the GPU is: the NVIDIA driver's NVML where the backend is the driver, else the software GPU's
 * own kernel-busy time (bfEmuDeviceBusyNs), which it reports for both the GPU and the memory
 * figure. A figure the backend cannot give is sent as BF_UTIL_UNKNOWN (the client answers
 * NVML_ERROR_NOT_SUPPORTED). */
#include "session_int.h"
#include "session_partition.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define BF_UTIL_UNKNOWN 0xffffffffu
#define MAX_PROCS 40

typedef struct nvml_util { unsigned int gpu, memory; } nvml_util;
static struct {
    pthread_once_t once;
    void *dev_by_uuid, *util;        /* libnvidia-ml's entry points, NULL without it */
} N = {.once = PTHREAD_ONCE_INIT};

static void nvml_open(void)
{
    void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    int (*init)(void) = h ? (int (*)(void))dlsym(h, "nvmlInit_v2") : NULL;
    if (!init || init() != 0)
        return;
    N.dev_by_uuid = dlsym(h, "nvmlDeviceGetHandleByUUID");
    N.util = dlsym(h, "nvmlDeviceGetUtilizationRates");
}

void bf_format_uuid(const unsigned char b[16], char *out, size_t len)
{
    snprintf(out, len, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The NVIDIA driver's utilisation of the lease's device dev. 0, or -1 when it cannot say. */
static int nvidia_util(bf_sargs *s, int dev, uint64_t *gpu, uint64_t *mem)
{
    CUresult (*uuid)(CUuuid *, CUdevice) = (CUresult (*)(CUuuid *, CUdevice))bf_sv_sym(s, "cuDeviceGetUuid_v2");
    CUuuid id;
    char text[64];
    void *handle = NULL;
    nvml_util u;
    pthread_once(&N.once, nvml_open);
    if (!N.dev_by_uuid || !N.util || !uuid || uuid(&id, dev) != CUDA_SUCCESS)
        return -1;
    bf_format_uuid((const unsigned char *)id.bytes, text, sizeof text);
    if (((int (*)(const char *, void **))N.dev_by_uuid)(text, &handle) != 0 ||
        ((int (*)(void *, nvml_util *))N.util)(handle, &u) != 0)
        return -1;
    *gpu = u.gpu;
    *mem = u.memory;
    return 0;
}

/* The software GPU: percent of the time since the previous ask that kernels ran on dev. */
static int emu_util(bf_sargs *s, int dev, uint64_t *gpu, uint64_t *mem)
{
    static double last_t[64];
    static unsigned long long last_busy[64];
    unsigned long long (*busy_ns)(int) = (unsigned long long (*)(int))bf_sv_sym(s, "bfEmuDeviceBusyNs");
    struct timespec ts;
    if (!busy_ns || dev < 0 || dev >= 64)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9, span = last_t[dev] > 0 ? t - last_t[dev] : 0;
    unsigned long long b = busy_ns(dev);
    double pct = span > 0 ? (double)(b - last_busy[dev]) * 1e-9 / span * 100.0 : 0;
    last_t[dev] = t;
    last_busy[dev] = b;
    *gpu = *mem = pct > 100 ? 100 : pct < 0 ? 0 : (uint64_t)pct;
    return 0;
}

/* a: ordinal -> a: total, used, utilisation gpu %, memory %, nproc, (pid, bytes)... */
CUresult bf_sv_bfDeviceInfo(bf_sargs *s, void *fnp)
{
    int dev = (int)bf_sa_u64(s);
    uint64_t total = 0, used = 0, gpu = BF_UTIL_UNKNOWN, mem = BF_UTIL_UNKNOWN, pairs[2 * MAX_PROCS];
    (void)fnp;
    if (s->bad)
        return CUDA_ERROR_INVALID_VALUE;
    int leased = bf_partition_view(dev, &total, &used);
    if (leased < 0)
        return CUDA_ERROR_INVALID_DEVICE;
    if (!leased) {                    /* no lease (the test server): the whole device */
        size_t t = 0;
        CUresult (*tm)(size_t *, CUdevice) = (CUresult (*)(size_t *, CUdevice))bf_sv_sym(s, "cuDeviceTotalMem_v2");
        CUresult r = tm ? tm(&t, dev) : CUDA_ERROR_NOT_SUPPORTED;
        if (r != CUDA_SUCCESS)
            return r;
        total = t;
    }
    if (emu_util(s, dev, &gpu, &mem) != 0)
        nvidia_util(s, dev, &gpu, &mem);
    size_t np = bf_partition_processes(dev, pairs, MAX_PROCS);
    bf_sr_u64(s, total);
    bf_sr_u64(s, used);
    bf_sr_u64(s, gpu);
    bf_sr_u64(s, mem);
    bf_sr_u64(s, np);
    for (size_t i = 0; i < 2 * np; i++)
        bf_sr_u64(s, pairs[i]);
    return CUDA_SUCCESS;
}
