/* inventory.c: what GPUs this bitfusiond serves, probed once at start in a short-lived child (the
 * daemon never loads CUDA itself): for each device its name, UUID, PCI id, compute capability,
 * total memory and the memory one context takes; the driver's CUDA version and the driver
 * version. The child sends a packed bitfusion.Inventory over a pipe. */
#include "server.h"
#include "log.h"
#include "session_partition.h"
#include "wire.h"

#include <cuda.h>
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define INVENTORY_TIMEOUT_MS 60000
#define INV_MAX (1u << 20)

typedef struct drv {
    CUresult (*init)(unsigned);
    CUresult (*version)(int *);
    CUresult (*count)(int *);
    CUresult (*get)(CUdevice *, int);
    CUresult (*name)(char *, int, CUdevice);
    CUresult (*total)(size_t *, CUdevice);
    CUresult (*uuid)(CUuuid *, CUdevice);
    CUresult (*pci)(char *, int, CUdevice);
    CUresult (*attr)(int *, CUdevice_attribute, CUdevice);
    CUresult (*ctx_create)(CUcontext *, unsigned, CUdevice);
    CUresult (*ctx_destroy)(CUcontext);
    CUresult (*mem_info)(size_t *, size_t *);
} drv;

static int load(void *h, drv *d)
{
    d->init = (CUresult (*)(unsigned))dlsym(h, "cuInit");
    d->version = (CUresult (*)(int *))dlsym(h, "cuDriverGetVersion");
    d->count = (CUresult (*)(int *))dlsym(h, "cuDeviceGetCount");
    d->get = (CUresult (*)(CUdevice *, int))dlsym(h, "cuDeviceGet");
    d->name = (CUresult (*)(char *, int, CUdevice))dlsym(h, "cuDeviceGetName");
    d->total = (CUresult (*)(size_t *, CUdevice))dlsym(h, "cuDeviceTotalMem_v2");
    d->uuid = (CUresult (*)(CUuuid *, CUdevice))dlsym(h, "cuDeviceGetUuid_v2");
    if (!d->uuid)
        d->uuid = (CUresult (*)(CUuuid *, CUdevice))dlsym(h, "cuDeviceGetUuid");
    d->pci = (CUresult (*)(char *, int, CUdevice))dlsym(h, "cuDeviceGetPCIBusId");
    d->attr = (CUresult (*)(int *, CUdevice_attribute, CUdevice))dlsym(h, "cuDeviceGetAttribute");
    d->ctx_create = (CUresult (*)(CUcontext *, unsigned, CUdevice))dlsym(h, "cuCtxCreate_v2");
    d->ctx_destroy = (CUresult (*)(CUcontext))dlsym(h, "cuCtxDestroy_v2");
    d->mem_info = (CUresult (*)(size_t *, size_t *))dlsym(h, "cuMemGetInfo_v2");
    return d->init && d->version && d->count && d->get && d->name && d->total && d->uuid && d->pci &&
                   d->attr && d->ctx_create && d->ctx_destroy && d->mem_info ? 0 : -1;
}

/* The NVIDIA kernel module's version ("570.86.15"), else "unknown". */
static void nvidia_driver_version(char *out, size_t len)
{
    snprintf(out, len, "unknown");
    FILE *f = fopen("/proc/driver/nvidia/version", "r");
    char line[512];
    if (f && fgets(line, sizeof line, f)) {
        char *k = strstr(line, "Kernel Module");
        if (k && sscanf(k + 13, " %63s", out) != 1)
            snprintf(out, len, "unknown");
    }
    if (f)
        fclose(f);
}

/* Context reservation: what the device's free memory lacks right after this process's first
 * context on it (the software GPU: exact; a GPU that other programs use: an over-estimate). */
static uint64_t ctx_reserve(drv *d, CUdevice dev)
{
    CUcontext ctx;
    size_t fr = 0, tot = 0;
    if (d->ctx_create(&ctx, 0, dev) != CUDA_SUCCESS)
        return 0;
    uint64_t r = d->mem_info(&fr, &tot) == CUDA_SUCCESS && tot > fr ? tot - fr : 0;
    d->ctx_destroy(ctx);
    return r;
}

static int describe(drv *d, int i, Bitfusion__Gpu *g)
{
    CUdevice dev;
    char name[256] = "", pci[64] = "", uu[64];
    size_t total = 0;
    CUuuid id;
    int maj = 0, min = 0;
    if (d->get(&dev, i) != CUDA_SUCCESS || d->name(name, sizeof name, dev) != CUDA_SUCCESS ||
        d->total(&total, dev) != CUDA_SUCCESS || d->uuid(&id, dev) != CUDA_SUCCESS)
        return -1;
    d->pci(pci, sizeof pci, dev);
    d->attr(&maj, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
    d->attr(&min, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
    bf_format_uuid((const unsigned char *)id.bytes, uu, sizeof uu);
    g->index = (uint32_t)i;
    g->name = strdup(name);
    g->uuid = strdup(uu);
    g->pci_bus_id = strdup(pci);
    g->total = total;
    g->free = total;
    g->cc_major = (uint32_t)maj;
    g->cc_minor = (uint32_t)min;
    g->ctx_reserve = ctx_reserve(d, dev);
    return 0;
}

/* In the child: probes and writes the packed Inventory (or "!" and a reason) to fd. */
static void probe_child(int fd, const char *backend, const char *emu_lib)
{
    char msg[600], ver[64];
    void *h = dlopen(strcmp(backend, "emu") ? "libcuda.so.1" : emu_lib, RTLD_NOW | RTLD_LOCAL);
    drv d;
    int n = 0, v = 0;
    CUresult rc;
    if (!h || load(h, &d) != 0) {
        snprintf(msg, sizeof msg, "!cannot load the %s backend: %s", backend, h ? "symbols missing" : dlerror());
    } else if ((rc = d.init(0)) != CUDA_SUCCESS || (rc = d.count(&n)) != CUDA_SUCCESS) {
        snprintf(msg, sizeof msg, "!the %s backend failed to start (CUDA error %d)", backend, (int)rc);
    } else {
        Bitfusion__Inventory inv = BITFUSION__INVENTORY__INIT;
        Bitfusion__Gpu *gpus = calloc((size_t)n + 1, sizeof *gpus);
        Bitfusion__Gpu **gp = calloc((size_t)n + 1, sizeof *gp);
        char host[256] = "", drvver[64];
        gethostname(host, sizeof host - 1);
        d.version(&v);
        snprintf(ver, sizeof ver, "%d.%d", v / 1000, (v % 1000) / 10);
        if (!strcmp(backend, "emu"))
            snprintf(drvver, sizeof drvver, "emu-%s", BF_VERSION_STRING);
        else
            nvidia_driver_version(drvver, sizeof drvver);
        inv.hostname = host;
        inv.server_version = (char *)BF_VERSION_STRING;
        inv.backend = (char *)backend;
        inv.driver_version = drvver;
        inv.cuda_version = ver;
        for (int i = 0; gpus && gp && i < n; i++) {
            bitfusion__gpu__init(&gpus[i]);
            if (describe(&d, i, &gpus[i]) == 0)
                gp[inv.n_gpus++] = &gpus[i];
        }
        inv.gpus = gp;
        size_t len = bitfusion__inventory__get_packed_size(&inv);
        uint8_t *buf = len <= INV_MAX ? malloc(len + 1) : NULL;
        if (buf) {
            bitfusion__inventory__pack(&inv, buf);
            bf_write_all(fd, buf, len);
        }
        _exit(0);
    }
    ssize_t k = write(fd, msg, strlen(msg));
    (void)k;
    _exit(0);
}

static size_t read_all(int fd, uint8_t *buf, size_t max)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    size_t got = 0;
    while (got < max && poll(&pf, 1, INVENTORY_TIMEOUT_MS) > 0) {
        ssize_t k = read(fd, buf + got, max - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

Bitfusion__Inventory *bf_inventory_probe(const char *backend, const char *emu_lib, char *err, size_t errlen)
{
    int p[2];
    if (pipe(p) != 0) {
        snprintf(err, errlen, "cannot probe the GPUs: pipe failed");
        return NULL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        probe_child(p[1], backend, emu_lib);
    }
    close(p[1]);
    uint8_t *buf = malloc(INV_MAX);
    size_t got = pid > 0 && buf ? read_all(p[0], buf, INV_MAX) : 0;
    close(p[0]);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    Bitfusion__Inventory *inv = NULL;
    if (got && buf[0] == '!')
        snprintf(err, errlen, "%.*s", (int)(got - 1 < 500 ? got - 1 : 500), (char *)buf + 1);
    else if (!got)
        snprintf(err, errlen, "the GPU probe did not answer within %d s", INVENTORY_TIMEOUT_MS / 1000);
    else if (!(inv = bitfusion__inventory__unpack(NULL, got, buf)))
        snprintf(err, errlen, "the GPU probe sent a malformed answer");
    free(buf);
    return inv;
}
