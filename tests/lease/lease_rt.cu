/* lease_rt.cu: a CUDA runtime program inside a partition (tests/lease/run_lease.sh, case 16); built
 * by nvcc with its default static cudart. Usage: lease_rt EXPECT_MIB. Checks cudaGetDeviceCount == 1,
 * cudaMemGetInfo's total == EXPECT_MIB MiB, cudaGetDeviceProperties' totalGlobalMem == EXPECT_MIB
 * MiB, and that cudaMalloc beyond cudaMemGetInfo's free fails with cudaErrorMemoryAllocation while
 * cudaMalloc of half of it succeeds. Prints "lease_rt: passed" and exits 0, or prints the failing
 * checks ("lease_rt: FAIL ...") and exits 1. */
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            std::printf("ok   ");                                                                  \
        } else {                                                                                   \
            std::printf("lease_rt: FAIL ");                                                        \
            failures++;                                                                            \
        }                                                                                          \
        std::printf(__VA_ARGS__);                                                                  \
        std::printf("\n");                                                                         \
    } while (0)

#define RT(call)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            std::printf("lease_rt: FAIL %s: %s\n", #call, cudaGetErrorName(e_));                  \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: lease_rt EXPECT_MIB\n");
        return 2;
    }
    size_t want = (size_t)std::strtoull(argv[1], NULL, 10) << 20;
    int n = 0;
    RT(cudaGetDeviceCount(&n));
    CHECK(n == 1, "cudaGetDeviceCount %d", n);
    size_t fr = 0, tot = 0;
    RT(cudaMemGetInfo(&fr, &tot));
    CHECK(tot == want, "cudaMemGetInfo total %zu (%zu MiB), free %zu; partition %zu MiB", tot, tot >> 20, fr,
          want >> 20);
    cudaDeviceProp prop;
    RT(cudaGetDeviceProperties(&prop, 0));
    CHECK(prop.totalGlobalMem == want, "cudaGetDeviceProperties: %s, totalGlobalMem %zu (%zu MiB)", prop.name,
          prop.totalGlobalMem, prop.totalGlobalMem >> 20);
    void *p = NULL, *q = NULL;
    cudaError_t e = cudaMalloc(&p, fr + (1 << 20));
    CHECK(e == cudaErrorMemoryAllocation, "cudaMalloc(free + 1 MiB) -> %s", cudaGetErrorName(e));
    if (p)
        cudaFree(p);
    (void)cudaGetLastError();
    e = cudaMalloc(&q, fr / 2);
    CHECK(e == cudaSuccess, "cudaMalloc(free / 2) -> %s", cudaGetErrorName(e));
    if (q)
        cudaFree(q);
    std::printf("lease_rt: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
