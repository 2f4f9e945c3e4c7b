/* nvml.c: NVML answered with the lease's view (owner: shim/). The client library is also installed
 * as libnvidia-ml.so.1, so monitoring tools and frameworks that ask NVML see the GPUs of the
 * lease, numbered like CUDA's devices, with the partition as their memory (shim/nvml_usage.c).
 * nvmlInit connects and leases exactly like cuInit (one session per process, shared with CUDA);
 * it is reference-counted like NVML's. Device identity comes from the driver calls of the session
 * (cuDeviceGetName, cuDeviceGetUuid, PCI attributes); the driver version from the server's
 * inventory (one control connection, the first time it is asked). Every NVML entry point not
 * answered here or in nvml_usage.c is a generated stub that logs its name once and returns
 * NVML_ERROR_NOT_SUPPORTED. */
#include "nvml_api.h"
#include "config.h"
#include "lease_client.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct {
    pthread_mutex_t lock;
    int refs;                          /* nvmlInit calls not yet matched by nvmlShutdown */
    int count;                         /* devices of the session, -1 until asked */
    char driver[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];   /* "" until asked */
} nv = { .lock = PTHREAD_MUTEX_INITIALIZER, .count = -1 };

static struct nvmlDevice_st g_dev[BF_NVML_MAX_DEVICES];

/* ---- errors ----------------------------------------------------------------------------------- */
nvmlReturn_t bf_nvml_from_cu(CUresult r)
{
    switch (r) {
    case CUDA_SUCCESS: return NVML_SUCCESS;
    case CUDA_ERROR_NOT_INITIALIZED: case CUDA_ERROR_DEINITIALIZED: return NVML_ERROR_UNINITIALIZED;
    case CUDA_ERROR_INVALID_VALUE: case CUDA_ERROR_INVALID_DEVICE: return NVML_ERROR_INVALID_ARGUMENT;
    case CUDA_ERROR_NOT_SUPPORTED: return NVML_ERROR_NOT_SUPPORTED;
    case CUDA_ERROR_OUT_OF_MEMORY: return NVML_ERROR_MEMORY;
    case CUDA_ERROR_NO_DEVICE: return NVML_ERROR_DRIVER_NOT_LOADED;
    case CUDA_ERROR_DEVICE_UNAVAILABLE: return NVML_ERROR_GPU_IS_LOST;
    case CUDA_ERROR_OPERATING_SYSTEM: return NVML_ERROR_OPERATING_SYSTEM;
    default: return NVML_ERROR_UNKNOWN;
    }
}

BF_API const char *nvmlErrorString(nvmlReturn_t r)
{
    switch (r) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM: return "The operating system has blocked the request.";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch.";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    case NVML_ERROR_VGPU_ECC_NOT_SUPPORTED: return "The requested vgpu operation is not available on "
                                                  "target device, because ECC is enabled";
    case NVML_ERROR_INSUFFICIENT_RESOURCES: return "Ran out of critical resources, other than memory";
    case NVML_ERROR_FREQ_NOT_SUPPORTED: return "The requested frequency is not supported";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "The provided version is invalid/unsupported";
    case NVML_ERROR_DEPRECATED: return "The requested functionality has been deprecated";
    case NVML_ERROR_NOT_READY: return "The system is not ready for the request";
    case NVML_ERROR_GPU_NOT_FOUND: return "No GPUs were found";
    case NVML_ERROR_INVALID_STATE: return "Resource not in correct state to perform requested operation";
    case NVML_ERROR_RESET_TYPE_NOT_SUPPORTED: return "Reset not supported for given device/parameters";
    default: return "Unknown Error";
    }
}

void bf_nvml_unsupported(const char *name)
{
    static const char *seen[512];
    static int nseen;
    int found = 0;
    pthread_mutex_lock(&nv.lock);
    for (int i = 0; i < nseen; i++) if (seen[i] == name) found = 1;
    if (!found && nseen < 512) seen[nseen++] = name;
    pthread_mutex_unlock(&nv.lock);
    if (!found)
        bf_log("%s is not implemented for the remote GPU (returns NVML_ERROR_NOT_SUPPORTED); run the "
               "tool on the GPU server if it needs it", name);
}

/* ---- init ------------------------------------------------------------------------------------- */
static nvmlReturn_t init_result(CUresult r)
{
    switch (r) {
    case CUDA_SUCCESS: return NVML_SUCCESS;
    case CUDA_ERROR_OPERATING_SYSTEM: return NVML_ERROR_OPERATING_SYSTEM;
    case CUDA_ERROR_OUT_OF_MEMORY: return NVML_ERROR_MEMORY;
    default: return NVML_ERROR_DRIVER_NOT_LOADED;   /* no server, no lease, no GPU: said on stderr */
    }
}

static nvmlReturn_t nvml_init(void)
{
    nvmlReturn_t r = init_result(bf_session_init());
    if (r != NVML_SUCCESS) return r;
    pthread_mutex_lock(&nv.lock);
    nv.refs++;
    pthread_mutex_unlock(&nv.lock);
    return NVML_SUCCESS;
}

BF_API nvmlReturn_t nvmlInit_v2(void) { return nvml_init(); }
BF_API nvmlReturn_t nvmlInit(void) { return nvml_init(); }
BF_API nvmlReturn_t nvmlInitWithFlags(unsigned int flags) { (void)flags; return nvml_init(); }

BF_API nvmlReturn_t nvmlShutdown(void)
{
    nvmlReturn_t r = NVML_SUCCESS;
    pthread_mutex_lock(&nv.lock);
    if (nv.refs > 0) nv.refs--;
    else r = NVML_ERROR_UNINITIALIZED;
    pthread_mutex_unlock(&nv.lock);
    return r;
}

nvmlReturn_t bf_nvml_enter(void)
{
    pthread_mutex_lock(&nv.lock);
    int refs = nv.refs;
    pthread_mutex_unlock(&nv.lock);
    if (!refs) return NVML_ERROR_UNINITIALIZED;
    if (bf_connected()) return NVML_SUCCESS;
    CUresult r = bf_session_init();             /* a forked child, or the session was lost */
    return r == CUDA_SUCCESS ? NVML_SUCCESS : bf_nvml_from_cu(r);
}

/* fork.c: the child's session is a new one (its device count is asked again). */
void bf_nvml_atfork(int phase)
{
    if (phase == BF_FORK_PREPARE) { pthread_mutex_lock(&nv.lock); return; }
    if (phase == BF_FORK_CHILD) nv.count = -1;
    pthread_mutex_unlock(&nv.lock);
}

/* ---- devices ---------------------------------------------------------------------------------- */
static nvmlReturn_t device_count(unsigned int *n)
{
    nvmlReturn_t r = bf_nvml_enter();
    if (r != NVML_SUCCESS) return r;
    pthread_mutex_lock(&nv.lock);
    int cached = nv.count;
    pthread_mutex_unlock(&nv.lock);
    if (cached < 0) {
        int c = 0;
        CUresult cr = cuDeviceGetCount(&c);
        if (cr != CUDA_SUCCESS) return bf_nvml_from_cu(cr);
        cached = c < BF_NVML_MAX_DEVICES ? c : BF_NVML_MAX_DEVICES;
        pthread_mutex_lock(&nv.lock);
        nv.count = cached;
        pthread_mutex_unlock(&nv.lock);
    }
    *n = (unsigned int)cached;
    return NVML_SUCCESS;
}

nvmlReturn_t bf_nvml_device(nvmlDevice_t d, unsigned int *index, CUdevice *dev)
{
    unsigned int n;
    nvmlReturn_t r = device_count(&n);
    if (r != NVML_SUCCESS) return r;
    if (!d || d < g_dev || d >= g_dev + BF_NVML_MAX_DEVICES || (unsigned int)(d - g_dev) >= n)
        return NVML_ERROR_INVALID_ARGUMENT;
    *index = (unsigned int)(d - g_dev);
    return bf_nvml_from_cu(cuDeviceGet(dev, (int)*index));
}

BF_API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n)
{
    if (!n) return NVML_ERROR_INVALID_ARGUMENT;
    return device_count(n);
}

BF_API nvmlReturn_t nvmlDeviceGetCount(unsigned int *n) { return nvmlDeviceGetCount_v2(n); }

BF_API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d)
{
    unsigned int n;
    if (!d) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = device_count(&n);
    if (r != NVML_SUCCESS) return r;
    if (i >= n) return NVML_ERROR_INVALID_ARGUMENT;
    *d = &g_dev[i];
    return NVML_SUCCESS;
}

BF_API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int i, nvmlDevice_t *d)
{
    return nvmlDeviceGetHandleByIndex_v2(i, d);
}

BF_API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t d, unsigned int *index)
{
    CUdevice dev;
    if (!index) return NVML_ERROR_INVALID_ARGUMENT;
    return bf_nvml_device(d, index, &dev);
}

BF_API nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t d, unsigned int *minor)
{
    return nvmlDeviceGetIndex(d, minor);        /* no /dev/nvidiaN here: the program's ordinal */
}

BF_API nvmlReturn_t nvmlDeviceGetBrand(nvmlDevice_t d, nvmlBrandType_t *brand)
{
    unsigned int i;
    CUdevice dev;
    if (!brand) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = bf_nvml_device(d, &i, &dev);
    if (r == NVML_SUCCESS) *brand = NVML_BRAND_NVIDIA;
    return r;
}

/* ---- identity --------------------------------------------------------------------------------- */
/* Copies s into buf of len bytes; NVML_ERROR_INSUFFICIENT_SIZE when it does not fit. */
static nvmlReturn_t put_str(char *buf, unsigned int len, const char *s)
{
    if (!buf) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(s) + 1 > len) return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(buf, s, strlen(s) + 1);
    return NVML_SUCCESS;
}

BF_API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int len)
{
    unsigned int i;
    CUdevice dev;
    char buf[256] = "";
    nvmlReturn_t r = bf_nvml_device(d, &i, &dev);
    if (r == NVML_SUCCESS) r = bf_nvml_from_cu(cuDeviceGetName(buf, (int)sizeof buf - 1, dev));
    return r == NVML_SUCCESS ? put_str(name, len, buf) : r;
}

static nvmlReturn_t uuid_of(CUdevice dev, char *out, size_t len)
{
    CUuuid u;
    CUresult cr = cuDeviceGetUuid(&u, dev);
    if (cr != CUDA_SUCCESS) return bf_nvml_from_cu(cr);
    const unsigned char *b = (const unsigned char *)u.bytes;
    snprintf(out, len, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return NVML_SUCCESS;
}

BF_API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int len)
{
    unsigned int i;
    CUdevice dev;
    char buf[64];
    nvmlReturn_t r = bf_nvml_device(d, &i, &dev);
    if (r == NVML_SUCCESS) r = uuid_of(dev, buf, sizeof buf);
    return r == NVML_SUCCESS ? put_str(uuid, len, buf) : r;
}

BF_API nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t d, int *major, int *minor)
{
    unsigned int i;
    CUdevice dev;
    if (!major || !minor) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = bf_nvml_device(d, &i, &dev);
    if (r != NVML_SUCCESS) return r;
    r = bf_nvml_from_cu(cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
    if (r != NVML_SUCCESS) return r;
    return bf_nvml_from_cu(cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
}

/* ---- PCI -------------------------------------------------------------------------------------- */
typedef struct { unsigned int domain, bus, device; } pci_loc;

static nvmlReturn_t pci_of(CUdevice dev, pci_loc *p)
{
    int v[3];
    static const CUdevice_attribute attr[3] = { CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID,
                                                CU_DEVICE_ATTRIBUTE_PCI_BUS_ID,
                                                CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID };
    for (int k = 0; k < 3; k++) {
        CUresult cr = cuDeviceGetAttribute(&v[k], attr[k], dev);
        if (cr != CUDA_SUCCESS) return bf_nvml_from_cu(cr);
    }
    p->domain = (unsigned)v[0];
    p->bus = (unsigned)v[1];
    p->device = (unsigned)v[2];
    return NVML_SUCCESS;
}

static void fill_pci(nvmlPciInfo_t *pci, const pci_loc *p)
{
    memset(pci, 0, sizeof *pci);
    snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.0", p->domain & 0xffff,
             p->bus & 0xff, p->device & 0x1f);
    snprintf(pci->busId, sizeof pci->busId, "%08X:%02X:%02X.0", p->domain, p->bus & 0xff, p->device & 0x1f);
    pci->domain = p->domain;
    pci->bus = p->bus;
    pci->device = p->device;
    pci->pciDeviceId = 0x10de;          /* NVIDIA's vendor id; the product id is not known here */
}

static nvmlReturn_t device_pci(nvmlDevice_t d, pci_loc *p)
{
    unsigned int i;
    CUdevice dev;
    nvmlReturn_t r = bf_nvml_device(d, &i, &dev);
    return r == NVML_SUCCESS ? pci_of(dev, p) : r;
}

BF_API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *pci)
{
    pci_loc p;
    if (!pci) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = device_pci(d, &p);
    if (r == NVML_SUCCESS) fill_pci(pci, &p);
    return r;
}

BF_API nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t d, nvmlPciInfo_t *pci)
{
    return nvmlDeviceGetPciInfo_v3(d, pci);
}

BF_API nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t d, bf_nvmlPciInfo_v1_t *pci)
{
    pci_loc p;
    nvmlPciInfo_t v2;
    if (!pci) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = device_pci(d, &p);
    if (r != NVML_SUCCESS) return r;
    fill_pci(&v2, &p);
    memset(pci, 0, sizeof *pci);
    memcpy(pci->busId, v2.busIdLegacy, sizeof pci->busId);
    pci->domain = v2.domain;
    pci->bus = v2.bus;
    pci->device = v2.device;
    pci->pciDeviceId = v2.pciDeviceId;
    return NVML_SUCCESS;
}

/* "DOMAIN:BUS:DEVICE.FUNCTION" (domain of 4 or 8 hex digits) or "BUS:DEVICE.FUNCTION". */
static int parse_bus_id(const char *s, pci_loc *p)
{
    unsigned int a, b, c, f;
    char tail;
    if (sscanf(s, "%x:%x:%x.%x%c", &a, &b, &c, &f, &tail) == 4) {
        p->domain = a; p->bus = b; p->device = c;
        return 0;
    }
    if (sscanf(s, "%x:%x.%x%c", &b, &c, &f, &tail) == 3) {
        p->domain = 0; p->bus = b; p->device = c;
        return 0;
    }
    return -1;
}

/* The handle of the first device for which match(dev, arg) holds. */
static nvmlReturn_t find_device(int (*match)(CUdevice, const void *), const void *arg, nvmlDevice_t *d)
{
    unsigned int n;
    nvmlReturn_t r = device_count(&n);
    if (r != NVML_SUCCESS) return r;
    for (unsigned int i = 0; i < n; i++) {
        CUdevice dev;
        if (cuDeviceGet(&dev, (int)i) != CUDA_SUCCESS || !match(dev, arg)) continue;
        return nvmlDeviceGetHandleByIndex_v2(i, d);
    }
    return NVML_ERROR_NOT_FOUND;
}

static int match_pci(CUdevice dev, const void *arg)
{
    const pci_loc *want = arg;
    pci_loc p;
    return pci_of(dev, &p) == NVML_SUCCESS && p.domain == want->domain && p.bus == want->bus &&
           p.device == want->device;
}

static int match_uuid(CUdevice dev, const void *arg)
{
    char u[64];
    return uuid_of(dev, u, sizeof u) == NVML_SUCCESS && !strcasecmp(u, arg);
}

BF_API nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *bus_id, nvmlDevice_t *d)
{
    pci_loc want;
    if (!bus_id || !d || parse_bus_id(bus_id, &want) != 0) return NVML_ERROR_INVALID_ARGUMENT;
    return find_device(match_pci, &want, d);
}

BF_API nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char *bus_id, nvmlDevice_t *d)
{
    return nvmlDeviceGetHandleByPciBusId_v2(bus_id, d);
}

BF_API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *d)
{
    if (!uuid || !d) return NVML_ERROR_INVALID_ARGUMENT;
    return find_device(match_uuid, uuid, d);
}

/* ---- system ----------------------------------------------------------------------------------- */
/* The server's driver version, from its inventory over a control connection (asked once). */
static int server_driver_version(char *out, size_t len)
{
    bf_client_config cfg;
    char host[256], err[512];
    int port, ok = 0;
    const char *addr = bf_session_server();
    if (!strncmp(addr, "unix:", 5) || bf_parse_hostport(addr, BF_DEFAULT_PORT, host, sizeof host, &port) != 0)
        return -1;                      /* the plain test server has no control connection */
    if (bf_client_config_load(&cfg, err, sizeof err) != 0) return -1;
    bf_ctl *c = bf_ctl_open(&cfg, host, port, cfg.timeout_ms > 0 ? cfg.timeout_ms : 30000, err, sizeof err);
    if (!c) return -1;
    Bitfusion__Inventory *inv = bf_ctl_inventory(c, err, sizeof err);
    if (inv && inv->driver_version && *inv->driver_version) {
        snprintf(out, len, "%s", inv->driver_version);
        ok = 1;
    }
    if (inv) bf_inventory_free(inv);
    bf_ctl_close(c);
    return ok ? 0 : -1;
}

static nvmlReturn_t driver_version(char *out, size_t len)
{
    nvmlReturn_t r = bf_nvml_enter();
    if (r != NVML_SUCCESS) return r;
    pthread_mutex_lock(&nv.lock);
    snprintf(out, len, "%s", nv.driver);
    pthread_mutex_unlock(&nv.lock);
    if (*out) return NVML_SUCCESS;
    if (server_driver_version(out, len) != 0) return NVML_ERROR_NOT_SUPPORTED;
    pthread_mutex_lock(&nv.lock);
    snprintf(nv.driver, sizeof nv.driver, "%s", out);
    pthread_mutex_unlock(&nv.lock);
    return NVML_SUCCESS;
}

BF_API nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int len)
{
    char v[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
    if (!version) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = driver_version(v, sizeof v);
    return r == NVML_SUCCESS ? put_str(version, len, v) : r;
}

BF_API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *version)
{
    if (!version) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = bf_nvml_enter();
    return r == NVML_SUCCESS ? bf_nvml_from_cu(cuDriverGetVersion(version)) : r;
}

BF_API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *version)
{
    return nvmlSystemGetCudaDriverVersion(version);
}

/* "CUDA_MAJOR.DRIVER_VERSION" like NVML's ("13.580.65.06"); "CUDA_MAJOR.CUDA_MINOR" without the
 * driver version. */
BF_API nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int len)
{
    char drv[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE], v[NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE + 16];
    int cuda = 0;
    if (!version) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t r = nvmlSystemGetCudaDriverVersion(&cuda);
    if (r != NVML_SUCCESS) return r;
    if (driver_version(drv, sizeof drv) == NVML_SUCCESS)
        snprintf(v, sizeof v, "%d.%s", cuda / 1000, drv);
    else
        snprintf(v, sizeof v, "%d.%d", cuda / 1000, cuda % 1000 / 10);
    return put_str(version, len, v);
}
