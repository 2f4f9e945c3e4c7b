/* rt_check.h: checks for the CUDA runtime tests (tests/rt/): each failed check prints the file,
 * line, expression and runtime error and marks the program failed; rt_finish() prints the
 * program's verdict and gives its exit status (0 all passed, 1 otherwise). RT12 is defined when the
 * program is built for a CUDA 12 runtime (host code compiled against CUDA 13 headers, so calls
 * whose structures changed between 12 and 13, cudaGetDeviceProperties, are left out). */
#ifndef RT_CHECK_H
#define RT_CHECK_H
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

static int rt_failures;

#define RT_EXPECT(cond)                                                                          \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                         \
            rt_failures++;                                                                       \
        }                                                                                        \
    } while (0)

/* Expects a runtime call to return exactly want. */
#define RT_EXPECT_ERR(call, want)                                                                \
    do {                                                                                         \
        cudaError_t rt_e_ = (call), rt_w_ = (want);                                              \
        if (rt_e_ != rt_w_) {                                                                    \
            std::printf("FAIL %s:%d: %s -> %d (%s), expected %d (%s)\n", __FILE__, __LINE__,    \
                        #call, (int)rt_e_, cudaGetErrorName(rt_e_), (int)rt_w_,                  \
                        cudaGetErrorName(rt_w_));                                                \
            rt_failures++;                                                                       \
        }                                                                                        \
    } while (0)

#define RT_CHECK(call) RT_EXPECT_ERR(call, cudaSuccess)

/* As RT_CHECK, but ends the program at once on failure. */
#define RT_REQUIRE(call)                                                                         \
    do {                                                                                         \
        int rt_before_ = rt_failures;                                                            \
        RT_CHECK(call);                                                                          \
        if (rt_failures != rt_before_) {                                                         \
            std::printf("%s: FAILED (stopped early)\n", __FILE__);                              \
            std::exit(1);                                                                        \
        }                                                                                        \
    } while (0)

static inline int rt_finish(const char *name)
{
    std::printf("%s: %s\n", name, rt_failures ? "FAILED" : "passed");
    return rt_failures ? 1 : 0;
}
#endif
