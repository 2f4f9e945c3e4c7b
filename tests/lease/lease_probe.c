/* lease_probe.c: a CUDA driver-API program for the lease tests (tests/lease/run_lease.sh) that runs
 * the steps its arguments spell, in order, and prints one line per step. A check that does not hold
 * prints "lease_probe: FAIL ..." and ends the program with status 1; a CUDA call that fails where it
 * must not ends it with status 2. Status 0: every step held.
 *
 * Steps (SIZE: BYTES, NK, NM, NG, "free" (cuMemGetInfo's free now), "free+N[KMG]", or "pct:P" (P%
 * of cuMemGetInfo's total, rounded down to a MiB)):
 *   init                  cuInit(0) (every CUDA step does it first when it has not been done)
 *   ctx [DEV]             retain DEV's primary context (default 0) and make it current
 *   info                  "count N", then per device "device I name=<name> uuid=GPU-... total=BYTES"
 *   count N               cuDeviceGetCount == N
 *   meminfo               "meminfo dev=I free=B total=B free_mib=F total_mib=T"
 *   total MIB             cuDeviceTotalMem and cuMemGetInfo's total both == MIB MiB (current device)
 *   free MIB              cuMemGetInfo's free == MIB MiB
 *   alltotal MIB          every device: both totals == MIB MiB; the UUIDs are distinct
 *   alloc KIND SIZE WANT  KIND: mem (cuMemAlloc), async (cuMemAllocAsync), pool (cuMemPoolCreate +
 *                         cuMemAllocFromPoolAsync), vmm (cuMemCreate, SIZE rounded up to
 *                         cuMemGetAllocationGranularity), managed (cuMemAllocManaged);
 *                         WANT: ok | oom (CUDA_ERROR_OUT_OF_MEMORY) | any. Prints
 *                         "alloc KIND BYTES -> CUDA_..." (the CUresult's name)
 *   freeall               frees every allocation (cuMemFree, cuMemFreeAsync + sync, cuMemRelease)
 *   mark                  remembers cuMemGetInfo's free; allocations from here on are summed
 *   checkmark             free at mark - free now == the bytes allocated (and not freed) since mark
 *   env                   "env BITFUSION_LEASE=... BITFUSION_SERVER=..." and "server HOST:PORT" (from
 *                         BITFUSION_LEASE's @HOST:PORT, else BITFUSION_SERVER)
 *   pid FILE              writes getpid() to FILE
 *   touch FILE            creates FILE
 *   wait FILE SECS        waits until FILE exists (FAIL after SECS seconds)
 *   sleep SECS            sleeps (fractions allowed)
 *   echo WORD             prints WORD
 *   heap SIZE WANT        cuCtxSetLimit(CU_LIMIT_MALLOC_HEAP_SIZE, SIZE); WANT as for alloc; prints
 *                         "heap BYTES -> CUDA_..." (a GPU reserves the heap in device memory)
 *   timeloop N            N cuMemAlloc(4 KiB)+cuMemFree pairs, then N cuCtxGetDevice pairs (two
 *                         round trips that take no memory), in the current context; prints
 *                         "timeloop pairs=N alloc_free_us=A getdevice_us=G" (microseconds per pair)
 */
#include <cuda.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ALLOCS 256
#define MAX_DEVS 64

enum kind { K_MEM, K_ASYNC, K_POOL, K_VMM, K_MANAGED };
static const char *const KIND_NAMES[] = {"mem", "async", "pool", "vmm", "managed"};

typedef struct alloc {
    enum kind kind;
    size_t bytes;
    CUdeviceptr ptr;
    CUmemGenericAllocationHandle handle;
    int dev;
} alloc;

static alloc allocs[MAX_ALLOCS];
static int nallocs;
static int inited;
static int cur_dev;
static CUcontext ctxs[MAX_DEVS];
static CUstream stream;
static CUmemoryPool pools[MAX_DEVS];
static size_t mark_free;
static long long since_mark;
static int marked;

static const char *errname(CUresult r)
{
    const char *s = NULL;
    if (cuGetErrorName(r, &s) != CUDA_SUCCESS || !s)
        return "(unknown CUresult)";
    return s;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("lease_probe: FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(1);
}

static void must(CUresult r, const char *what)
{
    if (r != CUDA_SUCCESS) {
        printf("lease_probe: %s failed: %s (%d)\n", what, errname(r), (int)r);
        fflush(stdout);
        exit(2);
    }
}

static void init(void)
{
    if (!inited) {
        must(cuInit(0), "cuInit");
        inited = 1;
    }
}

static void use_ctx(int dev)
{
    init();
    if (dev < 0 || dev >= MAX_DEVS)
        fail("device %d out of range", dev);
    if (!ctxs[dev]) {
        CUdevice d;
        must(cuDeviceGet(&d, dev), "cuDeviceGet");
        must(cuDevicePrimaryCtxRetain(&ctxs[dev], d), "cuDevicePrimaryCtxRetain");
    }
    must(cuCtxSetCurrent(ctxs[dev]), "cuCtxSetCurrent");
    cur_dev = dev;
}

static void ensure_ctx(void)
{
    if (!ctxs[cur_dev])
        use_ctx(cur_dev);
}

static void meminfo(size_t *fr, size_t *tot)
{
    ensure_ctx();
    must(cuMemGetInfo(fr, tot), "cuMemGetInfo");
}

static void uuid_str(CUdevice d, char *out, size_t len)
{
    CUuuid u;
    must(cuDeviceGetUuid(&u, d), "cuDeviceGetUuid");
    const unsigned char *b = (const unsigned char *)u.bytes;
    snprintf(out, len, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static unsigned long long parse_num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno)
        fail("bad number '%s' for %s", s, what);
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    default: break;
    }
    if (*end)
        fail("bad number '%s' for %s", s, what);
    return v;
}

static size_t parse_size(const char *s)
{
    size_t fr, tot;
    if (!strcmp(s, "free")) {
        meminfo(&fr, &tot);
        return fr;
    }
    if (!strncmp(s, "free+", 5)) {
        meminfo(&fr, &tot);
        return fr + parse_num(s + 5, "SIZE");
    }
    if (!strncmp(s, "pct:", 4)) {
        meminfo(&fr, &tot);
        unsigned long long p = parse_num(s + 4, "SIZE");
        return (size_t)(((unsigned long long)tot / 100 * p) & ~((1ull << 20) - 1));
    }
    return parse_num(s, "SIZE");
}

static CUmemAllocationProp vmm_prop(int dev)
{
    CUmemAllocationProp prop;
    memset(&prop, 0, sizeof prop);
    prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    prop.location.id = dev;
    return prop;
}

static void ensure_stream(void)
{
    ensure_ctx();
    if (!stream)
        must(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
}

static void step_alloc(const char *kname, const char *sizes, const char *want)
{
    int k;
    for (k = 0; k < 5; k++)
        if (!strcmp(kname, KIND_NAMES[k]))
            break;
    if (k == 5)
        fail("alloc: unknown kind '%s' (mem, async, pool, vmm, managed)", kname);
    if (strcmp(want, "ok") && strcmp(want, "oom") && strcmp(want, "any"))
        fail("alloc: WANT must be ok, oom or any, not '%s'", want);
    ensure_ctx();
    size_t bytes = parse_size(sizes);
    if (nallocs == MAX_ALLOCS)
        fail("too many allocations");
    alloc *a = &allocs[nallocs];
    memset(a, 0, sizeof *a);
    a->kind = (enum kind)k;
    a->dev = cur_dev;
    CUresult r;
    switch (a->kind) {
    case K_MEM:
        r = cuMemAlloc(&a->ptr, bytes);
        break;
    case K_MANAGED:
        r = cuMemAllocManaged(&a->ptr, bytes, CU_MEM_ATTACH_GLOBAL);
        break;
    case K_ASYNC:
        ensure_stream();
        r = cuMemAllocAsync(&a->ptr, bytes, stream);
        if (r == CUDA_SUCCESS)
            r = cuStreamSynchronize(stream);
        break;
    case K_POOL:
        ensure_stream();
        if (!pools[cur_dev]) {
            CUmemPoolProps pp;
            memset(&pp, 0, sizeof pp);
            pp.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
            pp.handleTypes = CU_MEM_HANDLE_TYPE_NONE;
            pp.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
            pp.location.id = cur_dev;
            must(cuMemPoolCreate(&pools[cur_dev], &pp), "cuMemPoolCreate");
        }
        r = cuMemAllocFromPoolAsync(&a->ptr, bytes, pools[cur_dev], stream);
        if (r == CUDA_SUCCESS)
            r = cuStreamSynchronize(stream);
        break;
    case K_VMM:
    default: {
        CUmemAllocationProp prop = vmm_prop(cur_dev);
        size_t g = 0;
        must(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
             "cuMemGetAllocationGranularity");
        if (g == 0)
            fail("cuMemGetAllocationGranularity gave 0");
        bytes = (bytes + g - 1) / g * g;
        r = cuMemCreate(&a->handle, bytes, &prop, 0);
        break;
    }
    }
    a->bytes = bytes;
    printf("alloc %s %zu -> %s\n", kname, bytes, errname(r));
    fflush(stdout);
    if (r == CUDA_SUCCESS) {
        nallocs++;
        since_mark += (long long)bytes;
    }
    if (!strcmp(want, "ok") && r != CUDA_SUCCESS)
        fail("alloc %s %zu (%s) gave %s, expected CUDA_SUCCESS", kname, bytes, sizes, errname(r));
    if (!strcmp(want, "oom") && r != CUDA_ERROR_OUT_OF_MEMORY)
        fail("alloc %s %zu (%s) gave %s, expected CUDA_ERROR_OUT_OF_MEMORY", kname, bytes, sizes,
             errname(r));
}

static void step_heap(const char *sizes, const char *want)
{
    ensure_ctx();
    size_t bytes = parse_size(sizes);
    CUresult r = cuCtxSetLimit(CU_LIMIT_MALLOC_HEAP_SIZE, bytes);
    printf("heap %zu -> %s\n", bytes, errname(r));
    if (!strcmp(want, "ok") && r != CUDA_SUCCESS)
        fail("heap %zu gave %s, expected CUDA_SUCCESS", bytes, errname(r));
    if (!strcmp(want, "oom") && r != CUDA_ERROR_OUT_OF_MEMORY)
        fail("heap %zu gave %s, expected CUDA_ERROR_OUT_OF_MEMORY", bytes, errname(r));
}

static void step_freeall(void)
{
    for (int i = nallocs - 1; i >= 0; i--) {
        alloc *a = &allocs[i];
        use_ctx(a->dev);
        switch (a->kind) {
        case K_MEM:
        case K_MANAGED:
            must(cuMemFree(a->ptr), "cuMemFree");
            break;
        case K_ASYNC:
        case K_POOL:
            must(cuMemFreeAsync(a->ptr, stream), "cuMemFreeAsync");
            must(cuStreamSynchronize(stream), "cuStreamSynchronize");
            break;
        case K_VMM:
            must(cuMemRelease(a->handle), "cuMemRelease");
            break;
        }
        since_mark -= (long long)a->bytes;
    }
    printf("freeall %d allocations\n", nallocs);
    nallocs = 0;
}

static double mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void step_timeloop(int n)
{
    CUdeviceptr p;
    CUdevice d;
    if (n <= 0)
        fail("timeloop needs a number of pairs");
    ensure_ctx();
    double t0 = mono_us();
    for (int k = 0; k < n; k++) {
        must(cuMemAlloc(&p, 4096), "cuMemAlloc");
        must(cuMemFree(p), "cuMemFree");
    }
    double t1 = mono_us();
    for (int k = 0; k < n; k++) {
        must(cuCtxGetDevice(&d), "cuCtxGetDevice");
        must(cuCtxGetDevice(&d), "cuCtxGetDevice");
    }
    double t2 = mono_us();
    printf("timeloop pairs=%d alloc_free_us=%.1f getdevice_us=%.1f\n", n, (t1 - t0) / n, (t2 - t1) / n);
}

static void check_total(int dev, unsigned long long want)
{
    CUdevice d;
    size_t tm = 0, fr, tot;
    use_ctx(dev);
    must(cuDeviceGet(&d, dev), "cuDeviceGet");
    must(cuDeviceTotalMem(&tm, d), "cuDeviceTotalMem");
    must(cuMemGetInfo(&fr, &tot), "cuMemGetInfo");
    printf("total dev=%d cuDeviceTotalMem=%zu cuMemGetInfo.total=%zu cuMemGetInfo.free=%zu want=%llu\n", dev, tm,
           tot, fr, want);
    if (tm != want || tot != want)
        fail("device %d: cuDeviceTotalMem %zu MiB (%zu), cuMemGetInfo total %zu MiB (%zu); expected %llu MiB",
             dev, tm >> 20, tm, tot >> 20, tot, want >> 20);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static const char *need(int argc, char **argv, int i, const char *step)
{
    if (i >= argc)
        fail("step '%s' needs another argument", step);
    return argv[i];
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: lease_probe STEP [ARGS] ... (see tests/lease/lease_probe.c)\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "init")) {
            init();
            printf("init ok\n");
        } else if (!strcmp(s, "ctx")) {
            int dev = 0;
            if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9')
                dev = (int)parse_num(argv[++i], "ctx DEV");
            use_ctx(dev);
            printf("ctx %d ok\n", dev);
        } else if (!strcmp(s, "info")) {
            int n = 0;
            init();
            must(cuDeviceGetCount(&n), "cuDeviceGetCount");
            printf("count %d\n", n);
            for (int d = 0; d < n; d++) {
                CUdevice dv;
                char name[256], uuid[64];
                size_t tm = 0;
                must(cuDeviceGet(&dv, d), "cuDeviceGet");
                must(cuDeviceGetName(name, sizeof name, dv), "cuDeviceGetName");
                uuid_str(dv, uuid, sizeof uuid);
                must(cuDeviceTotalMem(&tm, dv), "cuDeviceTotalMem");
                printf("device %d name=%s uuid=%s total=%zu total_mib=%zu\n", d, name, uuid, tm, tm >> 20);
            }
        } else if (!strcmp(s, "count")) {
            int want = (int)parse_num(need(argc, argv, ++i, s), "count N"), n = 0;
            init();
            must(cuDeviceGetCount(&n), "cuDeviceGetCount");
            printf("count %d\n", n);
            if (n != want)
                fail("cuDeviceGetCount gave %d, expected %d", n, want);
        } else if (!strcmp(s, "meminfo")) {
            size_t fr, tot;
            meminfo(&fr, &tot);
            printf("meminfo dev=%d free=%zu total=%zu free_mib=%zu total_mib=%zu\n", cur_dev, fr, tot, fr >> 20,
                   tot >> 20);
        } else if (!strcmp(s, "total")) {
            unsigned long long want = parse_num(need(argc, argv, ++i, s), "total MIB") << 20;
            check_total(cur_dev, want);
        } else if (!strcmp(s, "free")) {
            unsigned long long want = parse_num(need(argc, argv, ++i, s), "free MIB") << 20;
            size_t fr, tot;
            meminfo(&fr, &tot);
            printf("free dev=%d cuMemGetInfo.free=%zu total=%zu want=%llu\n", cur_dev, fr, tot, want);
            if (fr != want)
                fail("cuMemGetInfo free %zu (%zu MiB), expected %llu MiB", fr, fr >> 20, want >> 20);
        } else if (!strcmp(s, "alltotal")) {
            unsigned long long want = parse_num(need(argc, argv, ++i, s), "alltotal MIB") << 20;
            int n = 0;
            char uuids[MAX_DEVS][64];
            init();
            must(cuDeviceGetCount(&n), "cuDeviceGetCount");
            if (n > MAX_DEVS)
                fail("%d devices", n);
            for (int d = 0; d < n; d++) {
                CUdevice dv;
                must(cuDeviceGet(&dv, d), "cuDeviceGet");
                uuid_str(dv, uuids[d], sizeof uuids[d]);
                check_total(d, want);
                printf("device %d uuid=%s\n", d, uuids[d]);
                for (int e = 0; e < d; e++)
                    if (!strcmp(uuids[d], uuids[e]))
                        fail("devices %d and %d have the same UUID %s", e, d, uuids[d]);
            }
            use_ctx(0);
        } else if (!strcmp(s, "alloc")) {
            const char *k = need(argc, argv, i + 1, s), *sz = need(argc, argv, i + 2, s),
                       *w = need(argc, argv, i + 3, s);
            i += 3;
            step_alloc(k, sz, w);
        } else if (!strcmp(s, "heap")) {
            const char *sz = need(argc, argv, i + 1, s), *w = need(argc, argv, i + 2, s);
            i += 2;
            step_heap(sz, w);
        } else if (!strcmp(s, "freeall")) {
            step_freeall();
        } else if (!strcmp(s, "mark")) {
            size_t tot;
            meminfo(&mark_free, &tot);
            since_mark = 0;
            marked = 1;
            printf("mark free=%zu\n", mark_free);
        } else if (!strcmp(s, "checkmark")) {
            size_t fr, tot;
            if (!marked)
                fail("checkmark without mark");
            meminfo(&fr, &tot);
            long long dropped = (long long)mark_free - (long long)fr;
            printf("checkmark free=%zu dropped=%lld allocated=%lld\n", fr, dropped, since_mark);
            if (dropped != since_mark)
                fail("cuMemGetInfo free dropped by %lld bytes since mark, but %lld bytes were allocated", dropped,
                     since_mark);
        } else if (!strcmp(s, "env")) {
            const char *l = getenv("BITFUSION_LEASE"), *sv = getenv("BITFUSION_SERVER");
            printf("env BITFUSION_LEASE=%s BITFUSION_SERVER=%s\n", l ? l : "", sv ? sv : "");
            const char *at = l ? strchr(l, '@') : NULL;
            printf("server %s\n", at ? at + 1 : sv ? sv : "");
        } else if (!strcmp(s, "pid")) {
            const char *f = need(argc, argv, ++i, s);
            FILE *fp = fopen(f, "w");
            if (!fp || fprintf(fp, "%d\n", (int)getpid()) < 0 || fclose(fp) != 0)
                fail("cannot write %s", f);
        } else if (!strcmp(s, "touch")) {
            const char *f = need(argc, argv, ++i, s);
            int fd = open(f, O_WRONLY | O_CREAT, 0644);
            if (fd < 0)
                fail("cannot create %s: %s", f, strerror(errno));
            close(fd);
        } else if (!strcmp(s, "wait")) {
            const char *f = need(argc, argv, ++i, s);
            double secs = atof(need(argc, argv, ++i, s)), waited = 0;
            while (access(f, F_OK) != 0) {
                if (waited >= secs)
                    fail("waited %.0f s for %s", secs, f);
                sleep_s(0.02);
                waited += 0.02;
            }
        } else if (!strcmp(s, "sleep")) {
            sleep_s(atof(need(argc, argv, ++i, s)));
        } else if (!strcmp(s, "timeloop")) {
            step_timeloop(atoi(need(argc, argv, ++i, s)));
        } else if (!strcmp(s, "echo")) {
            printf("%s\n", need(argc, argv, ++i, s));
        } else {
            fail("unknown step '%s'", s);
        }
    }
    printf("lease_probe: done\n");
    return 0;
}
