/* api_check.c: the state and the runner of api_check.h (the check framework of the
 * tests/emu/test_api_*.c binaries). Linked into every test; only those binaries call it. */
#include "api_check.h"

#include <stdarg.h>
#include <stdio.h>

static int api_check_failed_flag;   /* a check of the running case failed */

void api_check_failf(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    api_check_failed_flag = 1;
}

int api_check_case_failed(void) { return api_check_failed_flag; }

int api_check_run(const api_check_case *cases, size_t n, unsigned flags)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        api_check_failed_flag = 0;
        cases[i].fn();
        printf("%s %s\n", api_check_failed_flag ? "FAIL" : "ok  ", cases[i].name);
        api_check_failed_flag ? failed++ : passed++;
        if (i == 0 && api_check_failed_flag && (flags & API_CHECK_SETUP_FIRST))
            break;   /* nothing else can run */
    }
    printf("cases: %d passed, %d failed, 0 skipped\n", passed, failed);
    return failed ? 1 : 0;
}

void api_check_ctx_create(CUcontext *ctx)
{
    CHECK_RC(cuInit(0), CUDA_SUCCESS);
    CHECK_RC(cuCtxCreate(ctx, NULL, 0, 0), CUDA_SUCCESS);
}

CUfunction api_check_func(CUmodule m, const char *name)
{
    CUfunction f = NULL;
    CHECK_RC(cuModuleGetFunction(&f, m, name), CUDA_SUCCESS);
    return f;
}
