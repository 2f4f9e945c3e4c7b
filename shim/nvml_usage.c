/* nvml_usage.c: what NVML says a GPU of the lease is using (owner: shim/): memory (total = the
 * partition, used = what every process of the lease holds on it, free = total - used),
 * utilisation, and the compute processes (the client processes of the lease's sessions on it,
 * with the bytes each holds; their pids are the client machines' pids). All from one internal
 * call, bfDeviceInfo (proto/calls.spec, id 300): a: device ordinal -> reply a: total, used,
 * utilisation gpu %, memory %, nproc, then (client pid, bytes) per process. Graphics and MPS
 * process lists are always empty. */
#include "nvml_api.h"
#include "bf_calls.h"
#include <string.h>

typedef struct devinfo {
    uint64_t total, used;
    unsigned int util_gpu, util_mem;
    unsigned int nproc;                /* (pid, bytes) pairs still to read from the call */
} devinfo;

/* Sends bfDeviceInfo for handle d and reads the fixed part; the caller reads the pairs (bf_get)
 * and ends the call (bf_call_done) when it returns NVML_SUCCESS. */
#define BF_UTIL_UNKNOWN 0xffffffffu     /* server/session_nvml.c */

static nvmlReturn_t device_info(nvmlDevice_t d, bf_call *c, devinfo *di)
{
    unsigned int i;
    CUdevice dev;
    nvmlReturn_t r = bf_nvml_device(d, &i, &dev);
    if (r != NVML_SUCCESS) return r;
    bf_call_init(c, BF_FN_bfDeviceInfo, 0);
    bf_put(c, i);
    CUresult cr = bf_invoke(c);
    if (cr != CUDA_SUCCESS) { bf_call_done(c); return bf_nvml_from_cu(cr); }
    di->total = bf_get(c);
    di->used = bf_get(c);
    di->util_gpu = (unsigned int)bf_get(c);
    di->util_mem = (unsigned int)bf_get(c);
    di->nproc = (unsigned int)bf_get(c);
    return NVML_SUCCESS;
}

/* The fixed part only. */
static nvmlReturn_t device_usage(nvmlDevice_t d, devinfo *di)
{
    bf_call c;
    nvmlReturn_t r = device_info(d, &c, di);
    if (r == NVML_SUCCESS) bf_call_done(&c);
    return r;
}

BF_API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m)
{
    devinfo di;
    if (!m) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = device_usage(d, &di);
    if (r != NVML_SUCCESS) return r;
    m->total = di.total;
    m->used = di.used < di.total ? di.used : di.total;
    m->free = di.total - m->used;
    return NVML_SUCCESS;
}

BF_API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *m)
{
    nvmlMemory_t v1;
    if (!m) return NVML_ERROR_INVALID_ARGUMENT;
    if (m->version != nvmlMemory_v2) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    nvmlReturn_t r = nvmlDeviceGetMemoryInfo(d, &v1);
    if (r != NVML_SUCCESS) return r;
    m->total = v1.total;
    m->reserved = 0;
    m->free = v1.free;
    m->used = v1.used;
    return NVML_SUCCESS;
}

BF_API nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u)
{
    devinfo di;
    if (!u) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = device_usage(d, &di);
    if (r != NVML_SUCCESS) return r;
    if (di.util_gpu == BF_UTIL_UNKNOWN || di.util_mem == BF_UTIL_UNKNOWN)
        return NVML_ERROR_NOT_SUPPORTED;   /* the server's backend cannot say */
    u->gpu = di.util_gpu;
    u->memory = di.util_mem;
    return NVML_SUCCESS;
}

/* ---- processes ------------------------------------------------------------------------------- */
/* NVML's contract: *count in = room in infos; out = the number of processes. Too little room (or
 * no array while there are processes): NVML_ERROR_INSUFFICIENT_SIZE. v1 entries have no instance
 * ids; v2/v3 entries report 0xFFFFFFFF (no MIG). */
static void put_proc(void *infos, unsigned int k, int v1, unsigned int pid, uint64_t bytes)
{
    if (v1) {
        nvmlProcessInfo_v1_t *p = (nvmlProcessInfo_v1_t *)infos + k;
        memset(p, 0, sizeof *p);
        p->pid = pid;
        p->usedGpuMemory = bytes;
        return;
    }
    nvmlProcessInfo_v2_t *p = (nvmlProcessInfo_v2_t *)infos + k;
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->usedGpuMemory = bytes;
    p->gpuInstanceId = p->computeInstanceId = 0xFFFFFFFFu;
}

static nvmlReturn_t compute_procs(nvmlDevice_t d, unsigned int *count, void *infos, int v1)
{
    bf_call c;
    devinfo di;
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = device_info(d, &c, &di);
    if (r != NVML_SUCCESS) return r;
    unsigned int room = *count;
    *count = di.nproc;
    if (di.nproc > 0 && (!infos || room < di.nproc)) r = NVML_ERROR_INSUFFICIENT_SIZE;
    for (unsigned int k = 0; r == NVML_SUCCESS && k < di.nproc; k++) {
        unsigned int pid = (unsigned int)bf_get(&c);
        put_proc(infos, k, v1, pid, bf_get(&c));
    }
    bf_call_done(&c);
    return r;
}

BF_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t d, unsigned int *n,
                                                         nvmlProcessInfo_v1_t *p)
{
    return compute_procs(d, n, p, 1);
}

BF_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t d, unsigned int *n,
                                                            nvmlProcessInfo_v2_t *p)
{
    return compute_procs(d, n, p, 0);
}

BF_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *n,
                                                            nvmlProcessInfo_t *p)
{
    return compute_procs(d, n, p, 0);
}

/* No graphics here, and no MPS server (each session is a process of its own on the server). */
static nvmlReturn_t no_procs(nvmlDevice_t d, unsigned int *count)
{
    unsigned int i;
    CUdevice dev;
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = bf_nvml_device(d, &i, &dev);
    if (r == NVML_SUCCESS) *count = 0;
    return r;
}

#define BF_NO_PROCS(name, type) \
    BF_API nvmlReturn_t name(nvmlDevice_t d, unsigned int *n, type *p) { (void)p; return no_procs(d, n); }
BF_NO_PROCS(nvmlDeviceGetGraphicsRunningProcesses, nvmlProcessInfo_v1_t)
BF_NO_PROCS(nvmlDeviceGetGraphicsRunningProcesses_v2, nvmlProcessInfo_v2_t)
BF_NO_PROCS(nvmlDeviceGetGraphicsRunningProcesses_v3, nvmlProcessInfo_t)
BF_NO_PROCS(nvmlDeviceGetMPSComputeRunningProcesses, nvmlProcessInfo_v1_t)
BF_NO_PROCS(nvmlDeviceGetMPSComputeRunningProcesses_v2, nvmlProcessInfo_v2_t)
BF_NO_PROCS(nvmlDeviceGetMPSComputeRunningProcesses_v3, nvmlProcessInfo_t)
