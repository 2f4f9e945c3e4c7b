/* test_mem_big.c: large transfers on the software GPU: a 256 MiB host -> device -> device -> host
 * round trip checked byte for byte (synchronous, then asynchronous from pageable memory on a
 * stream), a 256 MiB memset, and the memory returning to the device afterwards.
 * Cases run on the shared test framework (tests/common/bft.h), each in its own forked child. */
#include "bft.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

BFT_CASE(round_trip_256mib)
{
    bft_cuda_init();
    size_t f0, t;
    CHECK_CU(cuMemGetInfo(&f0, &t));
    unsigned char *src = malloc(BIG), *dst = malloc(BIG);
    EXPECT(src && dst, "host buffers");
    if (!src || !dst)
        return;
    fill(src, BIG, 0x9e3779b97f4a7c15ull);
    memset(dst, 0, BIG);
    CUdeviceptr a, b;
    CHECK_CU(cuMemAlloc(&a, BIG));
    CHECK_CU(cuMemAlloc(&b, BIG));
    CHECK_CU(cuMemcpyHtoD(a, src, BIG));
    CHECK_CU(cuMemcpyDtoD(b, a, BIG));
    CHECK_CU(cuMemcpyDtoH(dst, b, BIG));
    size_t at = first_difference(src, dst, BIG);
    EXPECT(at == SIZE_MAX, "synchronous round trip differs at byte %zu", at);

    /* Asynchronous, from pageable memory that the caller overwrites right after the call. */
    CUstream s;
    CHECK_CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    fill(src, BIG, 12345);
    memcpy(dst, src, BIG);                 /* dst keeps the expected bytes for now */
    CHECK_CU(cuMemcpyHtoDAsync(a, src, BIG, s));
    memset(src, 0, BIG);
    CHECK_CU(cuMemcpyDtoDAsync(b, a, BIG, s));
    CHECK_CU(cuMemcpyDtoHAsync(src, b, BIG, s));
    CHECK_CU(cuStreamSynchronize(s));
    at = first_difference(src, dst, BIG);
    EXPECT(at == SIZE_MAX, "asynchronous round trip differs at byte %zu", at);

    /* A whole-buffer memset. */
    CHECK_CU(cuMemsetD32Async(b, 0xa5a5a5a5u, BIG / 4, s));
    CHECK_CU(cuMemcpyDtoHAsync(dst, b, BIG, s));
    CHECK_CU(cuStreamSynchronize(s));
    size_t bad = 0;
    for (size_t i = 0; i < BIG; i++)
        bad += dst[i] != 0xa5;
    EXPECT(bad == 0, "%zu bytes wrong after a 256 MiB memset", bad);
    CHECK_CU(cuStreamDestroy(s));
    CHECK_CU(cuMemFree(a));
    CHECK_CU(cuMemFree(b));
    size_t f1;
    CHECK_CU(cuMemGetInfo(&f1, &t));
    EXPECT(f1 == f0, "free %zu after, %zu before", f1, f0);
    free(src);
    free(dst);
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
