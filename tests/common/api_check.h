/* api_check.h: the check framework of the self-contained tests/emu/test_api_*.c binaries (they do
 * not use the bft runner of bft.h). It owns:
 *  - CHECK / CHECK_RC / api_check_failf: a failed check prints `FAIL file:line: ...` and marks the
 *    running case failed (the flag lives in api_check.c; api_check_case_failed() reads it);
 *  - the case table and its runner api_check_run: one `ok  NAME` or `FAIL NAME` line per case, then
 *    `cases: P passed, F failed, 0 skipped`, the line tests/run.sh counts (tests/remote/run_remote.sh
 *    filters these binaries' cases by NAME, so names are part of the interface);
 *  - helpers several of them repeat: a context for the whole run, a module's function by name.
 * Its symbols are prefixed api_check_ (bft owns bft_ and CHECK_CU/EXPECT/REQUIRE); a test includes
 * either this header or bft.h, not both. */
#ifndef API_CHECK_H
#define API_CHECK_H

#include <cuda.h>
#include <stddef.h>

/* Prints `FAIL file:line: <fmt...>` and marks the running case failed. */
void api_check_failf(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether a check of the running case (or, outside the runner, of the process) failed. */
int api_check_case_failed(void);

#define CHECK(cond)                                                \
    do {                                                           \
        if (!(cond))                                               \
            api_check_failf(__FILE__, __LINE__, "%s", #cond);      \
    } while (0)
#define CHECK_RC(call, want)                                                                     \
    do {                                                                                         \
        CUresult rc_ = (call);                                                                   \
        if (rc_ != (want))                                                                       \
            api_check_failf(__FILE__, __LINE__, "%s returned %d, expected %s", #call, (int)rc_, \
                            #want);                                                              \
    } while (0)

typedef struct api_check_case {
    const char *name;
    void (*fn)(void);
} api_check_case;

enum {
    API_CHECK_SETUP_FIRST = 1,   /* the first case sets up what the others need: stop when it fails */
};

/* Runs the cases in order and prints their lines and the summary; returns the exit status (0: all
 * passed). */
int api_check_run(const api_check_case *cases, size_t n, unsigned flags);
#define API_CHECK_RUN(cases, flags) api_check_run((cases), sizeof(cases) / sizeof((cases)[0]), (flags))

/* cuInit and a new context on device 0, current on this thread. */
void api_check_ctx_create(CUcontext *ctx);
/* The function name of module m (NULL, after a failed check, when it has none). */
CUfunction api_check_func(CUmodule m, const char *name);

#endif
