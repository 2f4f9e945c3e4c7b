/* test_mem_big.c: large transfers on the software GPU: a 256 MiB host -> device -> device -> host
 * round trip checked byte for byte (synchronous, then asynchronous from pageable memory on a
 * stream), a 256 MiB memset, and the memory returning to the device afterwards.
 * Self-contained: one line per failed check, a PASS/FAIL line per case, the `cases:` summary, and
 * a non-zero exit status on failure. */
#include <cuda.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_case_fail, g_passed, g_failed;

static const char *errname(CUresult r)
{
    const char *s = NULL;
    cuGetErrorName(r, &s);
    return s ? s : "?";
}

#define CHECK(cond, ...) do {                                                                    \
        if (!(cond)) {                                                                           \
            g_case_fail++;                                                                       \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                               \
            printf(__VA_ARGS__);                                                                 \
            printf("\n");                                                                        \
        }                                                                                        \
    } while (0)
#define EXPECT(call, want) do {                                                                  \
        CUresult r_ = (call), w_ = (want);                                                       \
        if (r_ != w_) {                                                                          \
            g_case_fail++;                                                                       \
            printf("FAIL %s:%d: %s -> %s, expected %s\n", __FILE__, __LINE__, #call, errname(r_), \
                   errname(w_));                                                                 \
        }                                                                                        \
    } while (0)
#define OK(call) EXPECT(call, CUDA_SUCCESS)

static void run_case(const char *name, void (*fn)(void))
{
    g_case_fail = 0;
    fn();
    if (g_case_fail) {
        g_failed++;
        printf("FAIL  %-40s (%d checks failed)\n", name, g_case_fail);
    } else {
        g_passed++;
        printf("PASS  %s\n", name);
    }
}
#define RUN(fn) run_case(#fn, fn)

#define BIG ((size_t)256 << 20)

/* A pattern that differs in every byte position of a 64-bit word and between words. */
static void fill(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
}

static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t n)
{
    if (memcmp(a, b, n) == 0)
        return SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return i;
    return SIZE_MAX;
}

static void round_trip_256mib(void)
{
    size_t f0, t;
    OK(cuMemGetInfo(&f0, &t));
    unsigned char *src = malloc(BIG), *dst = malloc(BIG);
    CHECK(src && dst, "host buffers");
    if (!src || !dst)
        return;
    fill(src, BIG, 0x9e3779b97f4a7c15ull);
    memset(dst, 0, BIG);
    CUdeviceptr a, b;
    OK(cuMemAlloc(&a, BIG));
    OK(cuMemAlloc(&b, BIG));
    OK(cuMemcpyHtoD(a, src, BIG));
    OK(cuMemcpyDtoD(b, a, BIG));
    OK(cuMemcpyDtoH(dst, b, BIG));
    size_t at = first_difference(src, dst, BIG);
    CHECK(at == SIZE_MAX, "synchronous round trip differs at byte %zu", at);

    /* Asynchronous, from pageable memory that the caller overwrites right after the call. */
    CUstream s;
    OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    fill(src, BIG, 12345);
    memcpy(dst, src, BIG);                 /* dst keeps the expected bytes for now */
    OK(cuMemcpyHtoDAsync(a, src, BIG, s));
    memset(src, 0, BIG);
    OK(cuMemcpyDtoDAsync(b, a, BIG, s));
    OK(cuMemcpyDtoHAsync(src, b, BIG, s));
    OK(cuStreamSynchronize(s));
    at = first_difference(src, dst, BIG);
    CHECK(at == SIZE_MAX, "asynchronous round trip differs at byte %zu", at);

    /* A whole-buffer memset. */
    OK(cuMemsetD32Async(b, 0xa5a5a5a5u, BIG / 4, s));
    OK(cuMemcpyDtoHAsync(dst, b, BIG, s));
    OK(cuStreamSynchronize(s));
    size_t bad = 0;
    for (size_t i = 0; i < BIG; i++)
        bad += dst[i] != 0xa5;
    CHECK(bad == 0, "%zu bytes wrong after a 256 MiB memset", bad);
    OK(cuStreamDestroy(s));
    OK(cuMemFree(a));
    OK(cuMemFree(b));
    size_t f1;
    OK(cuMemGetInfo(&f1, &t));
    CHECK(f1 == f0, "free %zu after, %zu before", f1, f0);
    free(src);
    free(dst);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* lines survive a crash or a sanitizer exit */
    CUdevice dev;
    CUcontext ctx;
    if (cuInit(0) != CUDA_SUCCESS || cuDeviceGet(&dev, 0) != CUDA_SUCCESS ||
        cuCtxCreate(&ctx, NULL, 0, dev) != CUDA_SUCCESS) {
        printf("FAIL cannot initialise the software GPU\n");
        return 1;
    }
    RUN(round_trip_256mib);
    cuCtxDestroy(ctx);
    printf("cases: %d passed, %d failed, 0 skipped\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
