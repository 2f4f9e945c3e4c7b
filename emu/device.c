/* device.c: the software GPU's devices. Owns the configuration read once from the environment
 * (BITFUSION_EMU_DEVICES, _MEMORY_MB, _SMS, _NAME, _CC, _CTX_RESERVE_MB, and CUDA_VISIBLE_DEVICES,
 * which selects and orders the devices the program sees as the NVIDIA driver does), cuInit, the
 * driver version, device enumeration, names, UUIDs, PCI ids, every device attribute (an A100-like
 * sm_80 part with the configured SM count), properties and peer capabilities. */
#include "emu.h"
#include "ptx.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_DEVICES   1
#define DEFAULT_MEMORY_MB 16384
#define DEFAULT_SMS       8
#define DEFAULT_NAME      "Bitfusion Software GPU"
#define MAX_MEMORY_MB     (1L << 20)          /* 1 TiB per device */
#define MAX_SMS           1024
#define VA_FIRST_BASE     0x200000000000ull   /* 32 TiB: clear of the heap, libraries, ASan */
#define VA_STRIDE         0x020000000000ull   /* 2 TiB per device */
#define PCI_FIRST_BUS     0x10
#define UUID_HEX_DIGITS   32

static emu_device g_devices[EMU_MAX_DEVICES];
static int g_device_count;
static pthread_once_t g_config_once = PTHREAD_ONCE_INIT;
static volatile int g_initialized;
static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- configuration ------------------------------------------------------------------------ */
/* Parses a decimal integer in [lo, hi]; logs and returns def when the variable is malformed. */
static long env_long(const char *var, long def, long lo, long hi)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    while (*end && isspace((unsigned char)*end))
        end++;
    if (errno || *end || x < lo || x > hi) {
        emu_log("%s=%s is not a whole number in %ld..%ld; using %ld", var, v, lo, hi, def);
        return def;
    }
    return x;
}

/* Accepts "8.0", "8", "80", "sm_80", "compute_86". */
static int parse_cc(const char *v, int *major, int *minor)
{
    if (!strncasecmp(v, "sm_", 3))
        v += 3;
    else if (!strncasecmp(v, "compute_", 8))
        v += 8;
    int a, b, n = 0;
    if (sscanf(v, "%d.%d%n", &a, &b, &n) == 2 && v[n] == 0 && b >= 0 && b <= 9) {
        *major = a;
        *minor = b;
    } else if (sscanf(v, "%d%n", &a, &n) == 1 && v[n] == 0) {
        if (a >= 10 && a <= 129) {
            *major = a / 10;
            *minor = a % 10;
        } else {
            *major = a;
            *minor = 0;
        }
    } else {
        return -1;
    }
    return (*major >= 3 && *major <= 12) ? 0 : -1;
}

static void config_cc(int *major, int *minor)
{
    const char *v = getenv("BITFUSION_EMU_CC");
    *major = 8;
    *minor = 0;
    if (v && *v && parse_cc(v, major, minor) != 0) {
        emu_log("BITFUSION_EMU_CC=%s is not a compute capability like 8.0; using 8.0", v);
        *major = 8;
        *minor = 0;
    }
}

static void config_name(char *out, size_t n)
{
    const char *v = getenv("BITFUSION_EMU_NAME");
    if (v && strlen(v) >= n)
        emu_log("BITFUSION_EMU_NAME is longer than %zu characters; truncated", n - 1);
    snprintf(out, n, "%s", (v && *v) ? v : DEFAULT_NAME);
}

/* A stable UUID per physical device index (FNV-1a over a fixed string, RFC 4122 version 4
 * layout): distinct for distinct indices (the seeds differ, and so do both 64-bit hashes). */
static void make_uuid(int ordinal, unsigned char uuid[16])
{
    char seed[64];
    snprintf(seed, sizeof seed, "bitfusion-emu-gpu-%d", ordinal);
    uint64_t h1 = 1469598103934665603ull, h2 = 1099511628211ull * 7919u;
    for (const char *p = seed; *p; p++) {
        h1 = (h1 ^ (unsigned char)*p) * 1099511628211ull;
        h2 = (h2 ^ (unsigned char)*p) * 1099511628211ull + 0x9e3779b97f4a7c15ull;
    }
    for (int i = 0; i < 8; i++) {
        uuid[i] = (unsigned char)(h1 >> (8 * i));
        uuid[8 + i] = (unsigned char)(h2 >> (8 * i));
    }
    uuid[6] = (unsigned char)((uuid[6] & 0x0f) | 0x40);
    uuid[8] = (unsigned char)((uuid[8] & 0x3f) | 0x80);
}

static uint64_t va_size_for(size_t total_mem)
{
    uint64_t gib = 1ull << 30;
    uint64_t v = ((2ull * total_mem + gib - 1) / gib) * gib;
    return v > VA_STRIDE ? VA_STRIDE : v;
}

/* ---- CUDA_VISIBLE_DEVICES ----------------------------------------------------------------- */
/* The 32 lowercase hex digits of a UUID, in byte order (as "GPU-..." strings spell them). */
static void uuid_hex(const unsigned char uuid[16], char out[UUID_HEX_DIGITS + 1])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", uuid[i]);
}

/* "GPU-<hex digits, dashes anywhere>": the one physical device whose UUID starts with those
 * digits, or -1 (not a UUID, no match, or more than one). */
static int visible_by_uuid(const char *e, size_t len, int nphys, unsigned char uuids[][16])
{
    if (len <= 4 || strncasecmp(e, "GPU-", 4) != 0)
        return -1;
    char want[UUID_HEX_DIGITS + 1];
    size_t n = 0;
    for (size_t i = 4; i < len; i++) {
        if (e[i] == '-')
            continue;
        if (!isxdigit((unsigned char)e[i]) || n == UUID_HEX_DIGITS)
            return -1;
        want[n++] = (char)tolower((unsigned char)e[i]);
    }
    if (n == 0)
        return -1;
    int found = -1;
    for (int p = 0; p < nphys; p++) {
        char hex[UUID_HEX_DIGITS + 1];
        uuid_hex(uuids[p], hex);
        if (strncmp(hex, want, n) == 0) {
            if (found >= 0)
                return -1;   /* ambiguous prefix */
            found = p;
        }
    }
    return found;
}

/* One entry (surrounding blanks allowed): a device ordinal or a UUID; -1 when invalid. */
static int visible_entry(const char *e, size_t len, int nphys, unsigned char uuids[][16])
{
    while (len && isspace((unsigned char)*e)) {
        e++;
        len--;
    }
    while (len && isspace((unsigned char)e[len - 1]))
        len--;
    if (len == 0)
        return -1;
    if (!isdigit((unsigned char)e[0]))
        return visible_by_uuid(e, len, nphys, uuids);
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)e[i]) || v > EMU_MAX_DEVICES)
            return -1;
        v = v * 10 + (e[i] - '0');
    }
    return v < nphys ? (int)v : -1;
}

/* Fills order[] with the physical devices CUDA_VISIBLE_DEVICES selects, in its order, and returns
 * how many. Like the NVIDIA driver: unset means all; the list stops at the first entry that is not
 * a device (out of range, unknown or ambiguous UUID, repeated, malformed), so an empty or invalid
 * list leaves no device. */
static int visible_devices(int nphys, unsigned char uuids[][16], int order[])
{
    const char *v = getenv("CUDA_VISIBLE_DEVICES");
    if (!v) {
        for (int i = 0; i < nphys; i++)
            order[i] = i;
        return nphys;
    }
    int n = 0, seen[EMU_MAX_DEVICES] = { 0 };
    for (const char *e = v; n < nphys;) {
        const char *comma = strchr(e, ',');
        size_t len = comma ? (size_t)(comma - e) : strlen(e);
        int p = visible_entry(e, len, nphys, uuids);
        if (p < 0 || seen[p]) {
            emu_debug("CUDA_VISIBLE_DEVICES=%s: stopped at entry %d", v, n);
            break;
        }
        seen[p] = 1;
        order[n++] = p;
        if (!comma)
            break;
        e = comma + 1;
    }
    return n;
}

static void config_init(void)
{
    int nphys = (int)env_long("BITFUSION_EMU_DEVICES", DEFAULT_DEVICES, 0, EMU_MAX_DEVICES);
    long mem_mb = env_long("BITFUSION_EMU_MEMORY_MB", DEFAULT_MEMORY_MB, 1, MAX_MEMORY_MB);
    int sms = (int)env_long("BITFUSION_EMU_SMS", DEFAULT_SMS, 1, MAX_SMS);
    long reserve_mb = env_long("BITFUSION_EMU_CTX_RESERVE_MB", 0, 0, MAX_MEMORY_MB);
    int major, minor;
    config_cc(&major, &minor);
    unsigned char uuids[EMU_MAX_DEVICES][16];
    for (int p = 0; p < nphys; p++)
        make_uuid(p, uuids[p]);
    int order[EMU_MAX_DEVICES];
    int count = visible_devices(nphys, uuids, order);
    for (int i = 0; i < count; i++) {
        emu_device *d = &g_devices[i];
        d->ordinal = i;
        d->phys = order[i];
        config_name(d->name, sizeof d->name);
        d->total_mem = (size_t)mem_mb << 20;
        d->ctx_reserve = (size_t)reserve_mb << 20;
        d->sm_count = sms;
        d->cc_major = major;
        d->cc_minor = minor;
        memcpy(d->uuid, uuids[d->phys], sizeof d->uuid);
        d->va_base = VA_FIRST_BASE + (uint64_t)i * VA_STRIDE;
        d->va_size = va_size_for(d->total_mem);
    }
    g_device_count = count;
}

int emu_device_count(void)
{
    pthread_once(&g_config_once, config_init);
    return g_device_count;
}

emu_device *emu_device_get(int ordinal)
{
    if (ordinal < 0 || ordinal >= emu_device_count())
        return NULL;
    return &g_devices[ordinal];
}

int emu_initialized(void) { return __atomic_load_n(&g_initialized, __ATOMIC_ACQUIRE); }

/* ---- init and version --------------------------------------------------------------------- */
EMU_API CUresult cuInit(unsigned int Flags)
{
    if (Flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (emu_device_count() == 0)
        return CUDA_ERROR_NO_DEVICE;
    pthread_mutex_lock(&g_init_lock);
    if (!emu_initialized()) {
        ptx_set_mem_lookup(emu_mem_lookup);
        emu_debug("initialized: %d device(s), %d SMs, %zu MiB, sm_%d%d", g_device_count,
                  g_devices[0].sm_count, g_devices[0].total_mem >> 20, g_devices[0].cc_major,
                  g_devices[0].cc_minor);
        __atomic_store_n(&g_initialized, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&g_init_lock);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDriverGetVersion(int *driverVersion)
{
    if (!driverVersion)
        return CUDA_ERROR_INVALID_VALUE;
    *driverVersion = CUDA_VERSION;
    return CUDA_SUCCESS;
}

/* Common prologue: initialized, output pointer present, device valid. */
static CUresult device_check(const void *out, CUdevice dev, emu_device **d)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    *d = emu_device_get(dev);
    return *d ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

/* ---- enumeration and identity ------------------------------------------------------------- */
EMU_API CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    if (ordinal < 0 || ordinal >= emu_device_count())
        return CUDA_ERROR_INVALID_DEVICE;
    *device = ordinal;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetCount(int *count)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!count)
        return CUDA_ERROR_INVALID_VALUE;
    *count = emu_device_count();
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
    emu_device *d;
    CUresult rc = device_check(name, dev, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)len, "%s", d->name);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev)
{
    emu_device *d;
    CUresult rc = device_check(uuid, dev, &d);
    if (rc == CUDA_SUCCESS)
        memcpy(uuid->bytes, d->uuid, sizeof uuid->bytes);
    return rc;
}

EMU_API CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
    emu_device *d;
    CUresult rc = device_check(bytes, dev, &d);
    if (rc == CUDA_SUCCESS)
        *bytes = d->total_mem;
    return rc;
}

static void pci_location(int ordinal, int *domain, int *bus, int *slot)
{
    *domain = 0;
    *bus = PCI_FIRST_BUS + ordinal;
    *slot = 0;
}

EMU_API CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev)
{
    emu_device *d;
    CUresult rc = device_check(pciBusId, dev, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    int domain, bus, slot;
    pci_location(d->phys, &domain, &bus, &slot);
    snprintf(pciBusId, (size_t)len, "%04x:%02x:%02x.0", domain, bus, slot);
    return CUDA_SUCCESS;
}

/* Accepts "[domain:]bus:device[.function]" in hex, domain up to 8 digits. */
static int parse_pci_bus_id(const char *s, unsigned *domain, unsigned *bus, unsigned *slot)
{
    unsigned a, b, c, f;
    int n = 0;
    if (sscanf(s, "%x:%x:%x.%x%n", &a, &b, &c, &f, &n) == 4 && s[n] == 0) {
        *domain = a; *bus = b; *slot = c;
        return 0;
    }
    n = 0;
    if (sscanf(s, "%x:%x:%x%n", &a, &b, &c, &n) == 3 && s[n] == 0) {
        *domain = a; *bus = b; *slot = c;
        return 0;
    }
    n = 0;
    if (sscanf(s, "%x:%x.%x%n", &b, &c, &f, &n) == 3 && s[n] == 0) {
        *domain = 0; *bus = b; *slot = c;
        return 0;
    }
    return -1;
}

EMU_API CUresult cuDeviceGetByPCIBusId(CUdevice *dev, const char *pciBusId)
{
    if (!emu_initialized())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (!dev || !pciBusId)
        return CUDA_ERROR_INVALID_VALUE;
    unsigned domain, bus, slot;
    if (parse_pci_bus_id(pciBusId, &domain, &bus, &slot) != 0)
        return CUDA_ERROR_INVALID_VALUE;
    for (int i = 0; i < emu_device_count(); i++) {
        int dd, db, ds;
        pci_location(emu_device_get(i)->phys, &dd, &db, &ds);
        if ((unsigned)dd == domain && (unsigned)db == bus && (unsigned)ds == slot) {
            *dev = i;
            return CUDA_SUCCESS;
        }
    }
    return CUDA_ERROR_INVALID_DEVICE;
}

/* ---- attributes --------------------------------------------------------------------------- */
/* Texture/surface limits of an sm_80 part (attributes 21..77 that are not listed elsewhere). */
static int texture_attribute(int attr, int *v)
{
    switch (attr) {
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_WIDTH: *v = 131072; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_WIDTH: *v = 131072; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_HEIGHT: *v = 65536; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH: *v = 16384; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT: *v = 16384; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH: *v = 16384; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_HEIGHT: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_LAYERS: *v = 2048; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LAYERED_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LAYERED_LAYERS: *v = 2048; return 0;
    case CU_DEVICE_ATTRIBUTE_CAN_TEX2D_GATHER: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_GATHER_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_GATHER_HEIGHT: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH_ALTERNATE: *v = 8192; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT_ALTERNATE: *v = 8192; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH_ALTERNATE: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT: *v = 32; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_LAYERED_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_LAYERED_LAYERS: *v = 2046; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_WIDTH: *v = 131072; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_HEIGHT: *v = 65536; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_WIDTH: *v = 16384; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_HEIGHT: *v = 16384; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_DEPTH: *v = 16384; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_LAYERED_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_LAYERED_LAYERS: *v = 2048; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_HEIGHT: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_LAYERS: *v = 2048; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_LAYERED_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_LAYERED_LAYERS: *v = 2046; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LINEAR_WIDTH: *v = 268435456; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_WIDTH: *v = 131072; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_HEIGHT: *v = 65000; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_PITCH: *v = 2097120; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_MIPMAPPED_WIDTH: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_MIPMAPPED_HEIGHT: *v = 32768; return 0;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_MIPMAPPED_WIDTH: *v = 32768; return 0;
    default: return -1;
    }
}

/* Launch and execution limits. */
static int compute_attribute(const emu_device *d, int attr, int *v)
{
    switch (attr) {
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *v = EMU_MAX_THREADS_PER_BLOCK; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: *v = 1024; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: *v = 1024; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: *v = 64; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *v = INT_MAX; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: *v = 65535; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: *v = 65535; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *v = EMU_SMEM_PER_BLOCK; return 0;
    case CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: *v = 65536; return 0;
    case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *v = 32; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_PITCH: *v = INT_MAX; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: *v = EMU_REGS_PER_BLOCK; return 0;
    case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *v = 1410000; return 0;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = d->sm_count; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: *v = EMU_MAX_THREADS_PER_SM; return 0;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = d->cc_major; return 0;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = d->cc_minor; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: *v = EMU_SMEM_PER_SM; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR: *v = EMU_REGS_PER_SM; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *v = EMU_SMEM_PER_BLOCK_OPTIN; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR: *v = EMU_MAX_BLOCKS_PER_SM; return 0;
    case CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK: *v = EMU_SMEM_RESERVED_PER_BLOCK; return 0;
    case CU_DEVICE_ATTRIBUTE_SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO: *v = 2; return 0;
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_COOPERATIVE_MULTI_DEVICE_LAUNCH: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_GLOBAL_L1_CACHE_SUPPORTED: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_LOCAL_L1_CACHE_SUPPORTED: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_PREEMPTION_SUPPORTED: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_MODE: *v = CU_COMPUTEMODE_DEFAULT; return 0;
    case CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_MEM_SYNC_DOMAIN_COUNT: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_UNIFIED_FUNCTION_POINTERS: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT: *v = 512; return 0;
    case CU_DEVICE_ATTRIBUTE_SURFACE_ALIGNMENT: *v = 512; return 0;
    default: return -1;
    }
}

/* Memory system, addressing and board. */
static int memory_attribute(const emu_device *d, int attr, int *v)
{
    int domain, bus, slot;
    pci_location(d->phys, &domain, &bus, &slot);
    switch (attr) {
    case CU_DEVICE_ATTRIBUTE_GPU_OVERLAP: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT: *v = 3; return 0;
    case CU_DEVICE_ATTRIBUTE_INTEGRATED: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_ECC_ENABLED: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: *v = bus; return 0;
    case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID: *v = slot; return 0;
    case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID: *v = domain; return 0;
    case CU_DEVICE_ATTRIBUTE_TCC_DRIVER: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: *v = 1215000; return 0;
    case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: *v = 5120; return 0;
    case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *v = 40 << 20; return 0;
    case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD_GROUP_ID: *v = d->phys; return 0;
    case CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_CAN_FLUSH_REMOTE_WRITES: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_DIRECT_MANAGED_MEM_ACCESS_FROM_HOST: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE: *v = 30 << 20; return 0;
    case CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE: *v = 134213632; return 0;
    case CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED: *v = 1; return 0;
    case CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED: *v = 1; return 0;   /* vmm.c */
    case CU_DEVICE_ATTRIBUTE_NUMA_ID: *v = -1; return 0;
    case CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID: *v = 0; return 0;
    case CU_DEVICE_ATTRIBUTE_GPU_PCI_DEVICE_ID: *v = 0x20B010DE; return 0;
    case CU_DEVICE_ATTRIBUTE_GPU_PCI_SUBSYSTEM_ID: *v = 0x134F10DE; return 0;
    default: return -1;
    }
}

/* Features the software GPU does not have: they answer 0. */
static int absent_feature(int attr)
{
    switch (attr) {
    case CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_MEM_OPS_V1:
    case CU_DEVICE_ATTRIBUTE_CAN_USE_64_BIT_STREAM_MEM_OPS_V1:
    case CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_WAIT_VALUE_NOR_V1:
    case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_WIN32_HANDLE_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_WIN32_KMT_HANDLE_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_GENERIC_COMPRESSION_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WITH_CUDA_VMM_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_SPARSE_CUDA_ARRAY_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_TIMELINE_SEMAPHORE_INTEROP_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_FLUSH_WRITES_OPTIONS:
    case CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WRITES_ORDERING:
    case CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES:
    case CU_DEVICE_ATTRIBUTE_DEFERRED_MAPPING_CUDA_ARRAY_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_CAN_USE_64_BIT_STREAM_MEM_OPS:
    case CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_WAIT_VALUE_NOR:
    case CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_IPC_EVENT_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_TENSOR_MAP_ACCESS_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_FABRIC_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_NUMA_CONFIG:
    case CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_MPS_ENABLED:
    case CU_DEVICE_ATTRIBUTE_D3D12_CIG_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_MEM_DECOMPRESS_ALGORITHM_MASK:
    case CU_DEVICE_ATTRIBUTE_MEM_DECOMPRESS_MAXIMUM_LENGTH:
    case CU_DEVICE_ATTRIBUTE_VULKAN_CIG_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HOST_NUMA_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HOST_NUMA_MEMORY_POOLS_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HOST_NUMA_MULTINODE_IPC_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HOST_MEMORY_POOLS_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HOST_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HOST_ALLOC_DMA_BUF_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_ONLY_PARTIAL_HOST_NATIVE_ATOMIC_SUPPORTED:
        return 1;
    default:
        return 0;
    }
}

static int device_attribute(const emu_device *d, int attr, int *v)
{
    if (compute_attribute(d, attr, v) == 0 || memory_attribute(d, attr, v) == 0 ||
        texture_attribute(attr, v) == 0)
        return 0;
    if (absent_feature(attr)) {
        *v = 0;
        return 0;
    }
    return -1;
}

EMU_API CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
    emu_device *d;
    CUresult rc = device_check(pi, dev, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    int v;
    if (device_attribute(d, (int)attrib, &v) != 0)
        return CUDA_ERROR_INVALID_VALUE;
    *pi = v;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetProperties(CUdevprop *prop, CUdevice dev)
{
    emu_device *d;
    CUresult rc = device_check(prop, dev, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    memset(prop, 0, sizeof *prop);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, &prop->maxThreadsPerBlock);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, &prop->maxThreadsDim[0]);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y, &prop->maxThreadsDim[1]);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, &prop->maxThreadsDim[2]);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, &prop->maxGridSize[0]);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y, &prop->maxGridSize[1]);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z, &prop->maxGridSize[2]);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, &prop->sharedMemPerBlock);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY, &prop->totalConstantMemory);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_WARP_SIZE, &prop->SIMDWidth);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_MAX_PITCH, &prop->memPitch);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK, &prop->regsPerBlock);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_CLOCK_RATE, &prop->clockRate);
    device_attribute(d, CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT, &prop->textureAlign);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceComputeCapability(int *major, int *minor, CUdevice dev)
{
    emu_device *d;
    CUresult rc = device_check(major, dev, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!minor)
        return CUDA_ERROR_INVALID_VALUE;
    *major = d->cc_major;
    *minor = d->cc_minor;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetExecAffinitySupport(int *pi, CUexecAffinityType type, CUdevice dev)
{
    emu_device *d;
    CUresult rc = device_check(pi, dev, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (type != CU_EXEC_AFFINITY_TYPE_SM_COUNT)
        return CUDA_ERROR_INVALID_VALUE;
    *pi = 0;
    return CUDA_SUCCESS;
}

/* ---- peers: all devices live in one address space, so any two can reach each other ------- */
EMU_API CUresult cuDeviceCanAccessPeer(int *canAccessPeer, CUdevice dev, CUdevice peerDev)
{
    emu_device *d;
    CUresult rc = device_check(canAccessPeer, dev, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!emu_device_get(peerDev))
        return CUDA_ERROR_INVALID_DEVICE;
    *canAccessPeer = dev != peerDev;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetP2PAttribute(int *value, CUdevice_P2PAttribute attrib, CUdevice srcDevice,
                                         CUdevice dstDevice)
{
    emu_device *d;
    CUresult rc = device_check(value, srcDevice, &d);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!emu_device_get(dstDevice) || srcDevice == dstDevice)
        return CUDA_ERROR_INVALID_DEVICE;
    switch (attrib) {
    case CU_DEVICE_P2P_ATTRIBUTE_PERFORMANCE_RANK: *value = 0; break;
    case CU_DEVICE_P2P_ATTRIBUTE_ACCESS_SUPPORTED: *value = 1; break;
    case CU_DEVICE_P2P_ATTRIBUTE_NATIVE_ATOMIC_SUPPORTED: *value = 1; break;
    case CU_DEVICE_P2P_ATTRIBUTE_CUDA_ARRAY_ACCESS_SUPPORTED: *value = 0; break;
    case CU_DEVICE_P2P_ATTRIBUTE_ONLY_PARTIAL_NATIVE_ATOMIC_SUPPORTED: *value = 0; break;
    default: return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

/* ---- older exports of the same entry points ----------------------------------------------- */
#undef cuDeviceTotalMem
#undef cuDeviceGetUuid
EMU_API CUresult cuDeviceGetUuid(CUuuid *uuid, CUdevice dev) { return cuDeviceGetUuid_v2(uuid, dev); }

EMU_API CUresult cuDeviceTotalMem(unsigned int *bytes, CUdevice dev)
{
    size_t b = 0;
    CUresult rc = cuDeviceTotalMem_v2(bytes ? &b : NULL, dev);
    if (rc == CUDA_SUCCESS)
        *bytes = b > UINT_MAX ? UINT_MAX : (unsigned int)b;
    return rc;
}
