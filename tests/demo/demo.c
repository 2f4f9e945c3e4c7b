/* demo.c: the README's first command. A plain CUDA driver-API program: it finds the GPU, loads
 * kernels that nvcc built (a fatbin), runs a printf kernel, saxpy over a million elements and a
 * reduction, and checks every result on the CPU. Run it with any libcuda.so.1: the software GPU
 * here, an NVIDIA driver on a GPU machine. */
#include <cuda.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check(CUresult r, const char *what)
{
    if (r == CUDA_SUCCESS)
        return 0;
    const char *name = "?", *desc = "?";
    cuGetErrorName(r, &name);
    cuGetErrorString(r, &desc);
    fprintf(stderr, "demo: %s failed: %s (%s)\n", what, name, desc);
    exit(1);
}
#define CK(x) check((x), #x)

static void *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "demo: cannot open %s (run `make` first)\n", path); exit(1); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    void *b = malloc((size_t)n);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "demo: cannot read %s\n", path); exit(1); }
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    char path[4096];
    if (argc > 1) snprintf(path, sizeof path, "%s", argv[1]);
    else {
        ssize_t k = readlink("/proc/self/exe", path, sizeof path - 32);
        if (k <= 0) return 1;
        path[k] = 0;
        strcpy(strrchr(path, '/') + 1, "demo_kernels.fatbin");
    }
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUfunction hello, saxpy, sum;
    char name[256];
    size_t total;
    int major, minor, sms;
    CK(cuInit(0));
    CK(cuDeviceGet(&dev, 0));
    CK(cuDeviceGetName(name, sizeof name, dev));
    CK(cuDeviceTotalMem(&total, dev));
    CK(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
    CK(cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
    CK(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
    printf("device 0: %s, compute capability %d.%d, %d SMs, %zu MiB\n", name, major, minor, sms, total >> 20);
    CK(cuCtxCreate(&ctx, NULL, 0, dev));
    void *image = load(path);
    CK(cuModuleLoadData(&mod, image));
    CK(cuModuleGetFunction(&hello, mod, "hello"));
    CK(cuModuleGetFunction(&saxpy, mod, "saxpy"));
    CK(cuModuleGetFunction(&sum, mod, "block_sum"));

    int n = 1 << 20;
    void *hargs[] = { &n };
    CK(cuLaunchKernel(hello, 4, 1, 1, 32, 1, 1, 0, NULL, hargs, NULL));
    CK(cuCtxSynchronize());
    fflush(stdout);

    float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4), a = 2.5f;
    for (int i = 0; i < n; i++) { x[i] = (float)(i % 1000) * 0.01f; y[i] = 1.0f; }
    CUdeviceptr dx, dy, dsum;
    CK(cuMemAlloc(&dx, (size_t)n * 4));
    CK(cuMemAlloc(&dy, (size_t)n * 4));
    CK(cuMemAlloc(&dsum, 4));
    CK(cuMemcpyHtoD(dx, x, (size_t)n * 4));
    CK(cuMemcpyHtoD(dy, y, (size_t)n * 4));
    CK(cuMemsetD32(dsum, 0, 1));
    void *sargs[] = { &a, &dx, &dy, &n };
    CK(cuLaunchKernel(saxpy, 256, 1, 1, 256, 1, 1, 0, NULL, sargs, NULL));
    void *rargs[] = { &dy, &dsum, &n };
    CK(cuLaunchKernel(sum, 64, 1, 1, 256, 1, 1, 0, NULL, rargs, NULL));
    float *back = malloc((size_t)n * 4), gsum;
    CK(cuMemcpyDtoH(back, dy, (size_t)n * 4));
    CK(cuMemcpyDtoH(&gsum, dsum, 4));
    int bad = 0;
    double ref = 0;
    for (int i = 0; i < n; i++) {
        float e = fmaf(a, x[i], y[i]);   /* nvcc contracts a*x+y into one fma */
        if (back[i] != e) bad++;
        ref += e;
    }
    int sum_ok = fabs(gsum - ref) <= 1e-4 * fabs(ref);
    printf("saxpy over %d elements: %s; sum %.1f (CPU %.1f): %s\n", n, bad ? "WRONG" : "verified",
           gsum, ref, sum_ok ? "verified" : "WRONG");
    CK(cuMemFree(dx));
    CK(cuMemFree(dy));
    CK(cuMemFree(dsum));
    CK(cuModuleUnload(mod));
    CK(cuCtxDestroy(ctx));
    free(x); free(y); free(back); free(image);
    if (bad || !sum_ok) { fprintf(stderr, "demo: results differ from the CPU\n"); return 1; }
    printf("demo: OK\n");
    return 0;
}
