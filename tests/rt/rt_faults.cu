// rt_faults.cu: kernel faults as a CUDA runtime program sees them on the software GPU. Each case
// runs in its own child process (the parent never touches CUDA): an out-of-bounds access gives
// cudaErrorIllegalAddress at the next synchronisation and it is sticky (every later call that
// reaches the driver keeps returning it; cudaGetLastError reports it once) until cudaDeviceReset, after which the device works again
// (the runtime rebuilds its per-context state and reloads its modules); __trap() gives
// cudaErrorLaunchFailure, a failed assert cudaErrorAssert.
#include "rt_check.h"
#include <cassert>
#include <sys/wait.h>
#include <unistd.h>

__global__ void poke(int *p, long long offset, int v)
{
    if (threadIdx.x == 0)
        p[offset] = v;
}

__global__ void trap_kernel() { __trap(); }

__global__ void assert_kernel(int v) { assert(v == 0); }

static void illegal_address_is_sticky_until_reset()
{
    int *d, h = 0;
    RT_REQUIRE(cudaMalloc(&d, 256 * sizeof(int)));
    poke<<<1, 32>>>(d, 1 << 28, 1);   // far outside the allocation
    RT_EXPECT_ERR(cudaDeviceSynchronize(), cudaErrorIllegalAddress);
    RT_EXPECT_ERR(cudaGetLastError(), cudaErrorIllegalAddress);
    // cudaGetLastError hands the error out once (the runtime answers it without asking the
    // driver), but the context stays broken: every call that reaches the driver fails with it.
    RT_CHECK(cudaGetLastError());
    RT_EXPECT_ERR(cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost), cudaErrorIllegalAddress);
    int *e = nullptr;
    RT_EXPECT_ERR(cudaMalloc(&e, 16), cudaErrorIllegalAddress);
    poke<<<1, 1>>>(d, 0, 2);
    RT_EXPECT_ERR(cudaGetLastError(), cudaErrorIllegalAddress);
    RT_CHECK(cudaDeviceReset());
    RT_CHECK(cudaGetLastError());
    RT_REQUIRE(cudaMalloc(&d, 256 * sizeof(int)));
    poke<<<1, 32>>>(d, 5, 77);
    RT_CHECK(cudaDeviceSynchronize());
    RT_CHECK(cudaMemcpy(&h, d + 5, sizeof h, cudaMemcpyDeviceToHost));
    RT_EXPECT(h == 77);
    RT_CHECK(cudaFree(d));
}

static void trap_is_launch_failure()
{
    trap_kernel<<<1, 1>>>();
    RT_EXPECT_ERR(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
    int *e = nullptr;
    RT_EXPECT_ERR(cudaMalloc(&e, 16), cudaErrorLaunchFailure);
    RT_EXPECT_ERR(cudaGetLastError(), cudaErrorLaunchFailure);
}

static void assert_is_assert()
{
    assert_kernel<<<1, 1>>>(0);
    RT_CHECK(cudaDeviceSynchronize());
    assert_kernel<<<1, 1>>>(1);
    RT_EXPECT_ERR(cudaDeviceSynchronize(), cudaErrorAssert);
    RT_EXPECT_ERR(cudaGetLastError(), cudaErrorAssert);
}

static void reset_twice_and_relaunch()
{
    int *d, h = 0;
    for (int round = 0; round < 3; round++) {
        RT_REQUIRE(cudaMalloc(&d, 64 * sizeof(int)));
        poke<<<1, 1>>>(d, 3, round + 10);
        RT_CHECK(cudaMemcpy(&h, d + 3, sizeof h, cudaMemcpyDeviceToHost));
        RT_EXPECT(h == round + 10);
        RT_CHECK(cudaDeviceReset());
    }
}

typedef void (*case_fn)();

static int run_case(const char *name, case_fn fn)
{
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        std::fflush(stdout);
        _exit(rt_failures ? 1 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", name);
    return ok ? 0 : 1;
}

int main()
{
    int failed = 0;
    failed += run_case("illegal_address_is_sticky_until_reset", illegal_address_is_sticky_until_reset);
    failed += run_case("trap_is_launch_failure", trap_is_launch_failure);
    failed += run_case("assert_is_assert", assert_is_assert);
    failed += run_case("reset_twice_and_relaunch", reset_twice_and_relaunch);
    rt_failures = failed;
    return rt_finish("rt_faults");
}
