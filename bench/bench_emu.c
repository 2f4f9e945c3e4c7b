/* bench_emu.c: measures the software GPU: interpreter throughput (PTX thread-instructions per
 * second on one host thread and on every core), the same work done by native C on one core in
 * the same run (the baseline the ratio is taken against), a memory-bound kernel, and the cost
 * of an empty-kernel launch. Figures are medians of several repetitions.
 * Usage: bench_emu [--reps N] [--fatbin PATH]. The binary re-runs itself once per thread count
 * (BITFUSION_EMU_THREADS is read when the library starts). */
#include <cuda.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CK(call) do { CUresult _r = (call); if (_r != CUDA_SUCCESS) { const char *_n = "?"; \
    cuGetErrorName(_r, &_n); fprintf(stderr, "bench_emu: %s failed: %s\n", #call, _n); exit(1); } } while (0)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_emu: cannot open %s: %s (build it with `make bench`)\n", path, strerror(errno));
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "bench_emu: cannot read %s\n", path);
        exit(1);
    }
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The same loop as kernels.cu:mix, for one thread, in C. */
static float mix_native(unsigned i, int iters)
{
    float x = (float)(i & 255) * 0.001f, y = 1.0f;
    unsigned h = i * 2654435761u;
    for (int k = 0; k < iters; k++) {
        x = __builtin_fmaf(x, 0.999f, 0.001f);
        h ^= h << 13; h ^= h >> 17; h ^= h << 5;
        y = (h & 1) ? y + x : y - x;
    }
    return x + y + (float)(h & 7);
}

typedef void (*counts_fn)(uint64_t *, uint64_t *);

static void run_child(const char *fatbin, int reps, int threads)
{
    size_t len;
    void *image = read_file(fatbin, &len);
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUfunction fmix, fsaxpy, fempty;
    CK(cuInit(0));
    CK(cuDeviceGet(&dev, 0));
    CK(cuDevicePrimaryCtxRetain(&ctx, dev));
    CK(cuCtxSetCurrent(ctx));
    CK(cuModuleLoadData(&mod, image));
    CK(cuModuleGetFunction(&fmix, mod, "mix"));
    CK(cuModuleGetFunction(&fsaxpy, mod, "saxpy"));
    CK(cuModuleGetFunction(&fempty, mod, "empty"));
    counts_fn counts = (counts_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "bfemu_instruction_counts");

    /* interpreter throughput */
    const unsigned blocks = 32, tpb = 256, n = blocks * tpb;
    int iters = 400;
    CUdeviceptr out;
    CK(cuMemAlloc(&out, n * sizeof(float)));
    double rate[64], secs[64];
    for (int r = 0; r < reps; r++) {
        uint64_t l0 = 0, l1 = 0;
        if (counts) counts(NULL, &l0);
        void *args[] = { &out, &iters };
        double t0 = now();
        CK(cuLaunchKernel(fmix, blocks, 1, 1, tpb, 1, 1, 0, NULL, args, NULL));
        CK(cuCtxSynchronize());
        double t = now() - t0;
        if (counts) counts(NULL, &l1);
        secs[r] = t;
        rate[r] = (double)(l1 - l0) / t;
    }
    float *host = malloc(n * sizeof(float));
    CK(cuMemcpyDtoH(host, out, n * sizeof(float)));
    int bad = 0;
    for (unsigned i = 0; i < n; i++)
        if (host[i] != mix_native(i, iters)) bad++;
    double mix_s = median(secs, reps), mix_rate = median(rate, reps);
    printf("mix kernel, %u threads x %d iterations, %d host thread%s: %.3f s, %.1f M thread-instructions/s%s\n",
           n, iters, threads, threads == 1 ? "" : "s", mix_s, mix_rate / 1e6,
           bad ? "  (RESULTS DIFFER FROM NATIVE)" : "");
    if (threads == 1) {
        /* native baseline: the same work, one core */
        double nat[64];
        volatile float sink = 0;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            float acc = 0;
            for (unsigned i = 0; i < n; i++)
                acc += mix_native(i, iters);
            nat[r] = now() - t0;
            sink = acc;
        }
        (void)sink;
        double nat_s = median(nat, reps);
        printf("native C, same work, 1 core: %.4f s; interpreter / native time ratio: %.0fx\n", nat_s, mix_s / nat_s);
    }

    /* memory-bound kernel */
    int m = 1 << 22;
    CUdeviceptr x, y;
    CK(cuMemAlloc(&x, (size_t)m * 4));
    CK(cuMemAlloc(&y, (size_t)m * 4));
    CK(cuMemsetD32(x, 0x3f800000u, (size_t)m));
    CK(cuMemsetD32(y, 0, (size_t)m));
    float a = 2.0f;
    for (int r = 0; r < reps; r++) {
        void *args[] = { &a, &x, &y, &m };
        double t0 = now();
        CK(cuLaunchKernel(fsaxpy, (unsigned)(m / 256), 1, 1, 256, 1, 1, 0, NULL, args, NULL));
        CK(cuCtxSynchronize());
        secs[r] = now() - t0;
    }
    double sx = median(secs, reps);
    printf("saxpy, %d elements: %.3f s, %.2f GB/s effective\n", m, sx, 12.0 * m / sx / 1e9);

    /* empty-kernel launch */
    const int launches = 2000;
    double lat[64], thr[64];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < launches; i++) {
            CK(cuLaunchKernel(fempty, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
            CK(cuCtxSynchronize());
        }
        lat[r] = (now() - t0) / launches;
        t0 = now();
        for (int i = 0; i < launches; i++)
            CK(cuLaunchKernel(fempty, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
        CK(cuCtxSynchronize());
        thr[r] = (now() - t0) / launches;
    }
    printf("empty kernel: launch+synchronize %.1f us, queued launches %.1f us each\n",
           median(lat, reps) * 1e6, median(thr, reps) * 1e6);
    free(host);
    free(image);
    CK(cuModuleUnload(mod));
    CK(cuDevicePrimaryCtxRelease(dev));
}

int main(int argc, char **argv)
{
    int reps = 5;
    char fatbin[4096] = "";
    int child_threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--fatbin") && i + 1 < argc) snprintf(fatbin, sizeof fatbin, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--child") && i + 1 < argc) child_threads = atoi(argv[++i]);
        else { fprintf(stderr, "usage: bench_emu [--reps N] [--fatbin PATH]\n"); return 2; }
    }
    if (reps < 1) reps = 1;
    if (reps > 64) reps = 64;
    if (!fatbin[0]) {
        char self[4000];
        ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
        if (k <= 0) { fprintf(stderr, "bench_emu: cannot find myself; pass --fatbin\n"); return 1; }
        self[k] = 0;
        char *slash = strrchr(self, '/');
        if (slash) *slash = 0;
        snprintf(fatbin, sizeof fatbin, "%s/kernels.fatbin", self);
    }
    if (child_threads) {
        run_child(fatbin, reps, child_threads);
        return 0;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    int configs[2] = { 1, (int)cores };
    printf("bench_emu: software GPU, %ld host cores, medians of %d runs\n", cores, reps);
    for (int c = 0; c < (cores > 1 ? 2 : 1); c++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char t[16], r[16];
            snprintf(t, sizeof t, "%d", configs[c]);
            snprintf(r, sizeof r, "%d", reps);
            setenv("BITFUSION_EMU_THREADS", t, 1);
            execl("/proc/self/exe", argv[0], "--child", t, "--reps", r, "--fatbin", fatbin, (char *)NULL);
            _exit(127);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench_emu: the %d-thread run failed\n", configs[c]);
            return 1;
        }
    }
    return 0;
}
