/* test_api_errors.c: cuGetErrorName / cuGetErrorString answer every CUresult of cuda.h (and
 * refuse other values), and entry points the software GPU does not implement return
 * CUDA_ERROR_NOT_SUPPORTED and are logged once per name. Self-contained: prints one line per
 * failed check, exits non-zero on failure. */
#include <cuda.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_check.h"

#define ALL_CODES(X) \
    X(CUDA_SUCCESS) X(CUDA_ERROR_INVALID_VALUE) X(CUDA_ERROR_OUT_OF_MEMORY) X(CUDA_ERROR_NOT_INITIALIZED) \
    X(CUDA_ERROR_DEINITIALIZED) X(CUDA_ERROR_PROFILER_DISABLED) X(CUDA_ERROR_PROFILER_NOT_INITIALIZED) \
    X(CUDA_ERROR_PROFILER_ALREADY_STARTED) X(CUDA_ERROR_PROFILER_ALREADY_STOPPED) X(CUDA_ERROR_STUB_LIBRARY) \
    X(CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER) X(CUDA_ERROR_DEVICE_UNAVAILABLE) X(CUDA_ERROR_NO_DEVICE) \
    X(CUDA_ERROR_INVALID_DEVICE) X(CUDA_ERROR_DEVICE_NOT_LICENSED) X(CUDA_ERROR_INVALID_IMAGE) \
    X(CUDA_ERROR_INVALID_CONTEXT) X(CUDA_ERROR_CONTEXT_ALREADY_CURRENT) X(CUDA_ERROR_MAP_FAILED) \
    X(CUDA_ERROR_UNMAP_FAILED) X(CUDA_ERROR_ARRAY_IS_MAPPED) X(CUDA_ERROR_ALREADY_MAPPED) \
    X(CUDA_ERROR_NO_BINARY_FOR_GPU) X(CUDA_ERROR_ALREADY_ACQUIRED) X(CUDA_ERROR_NOT_MAPPED) \
    X(CUDA_ERROR_NOT_MAPPED_AS_ARRAY) X(CUDA_ERROR_NOT_MAPPED_AS_POINTER) X(CUDA_ERROR_ECC_UNCORRECTABLE) \
    X(CUDA_ERROR_UNSUPPORTED_LIMIT) X(CUDA_ERROR_CONTEXT_ALREADY_IN_USE) X(CUDA_ERROR_PEER_ACCESS_UNSUPPORTED) \
    X(CUDA_ERROR_INVALID_PTX) X(CUDA_ERROR_INVALID_GRAPHICS_CONTEXT) X(CUDA_ERROR_NVLINK_UNCORRECTABLE) \
    X(CUDA_ERROR_JIT_COMPILER_NOT_FOUND) X(CUDA_ERROR_UNSUPPORTED_PTX_VERSION) \
    X(CUDA_ERROR_JIT_COMPILATION_DISABLED) X(CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY) \
    X(CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC) X(CUDA_ERROR_CONTAINED) X(CUDA_ERROR_INVALID_SOURCE) \
    X(CUDA_ERROR_FILE_NOT_FOUND) X(CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND) \
    X(CUDA_ERROR_SHARED_OBJECT_INIT_FAILED) X(CUDA_ERROR_OPERATING_SYSTEM) X(CUDA_ERROR_INVALID_HANDLE) \
    X(CUDA_ERROR_ILLEGAL_STATE) X(CUDA_ERROR_LOSSY_QUERY) X(CUDA_ERROR_NOT_FOUND) X(CUDA_ERROR_NOT_READY) \
    X(CUDA_ERROR_ILLEGAL_ADDRESS) X(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES) X(CUDA_ERROR_LAUNCH_TIMEOUT) \
    X(CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING) X(CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED) \
    X(CUDA_ERROR_PEER_ACCESS_NOT_ENABLED) X(CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE) \
    X(CUDA_ERROR_CONTEXT_IS_DESTROYED) X(CUDA_ERROR_ASSERT) X(CUDA_ERROR_TOO_MANY_PEERS) \
    X(CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED) X(CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED) \
    X(CUDA_ERROR_HARDWARE_STACK_ERROR) X(CUDA_ERROR_ILLEGAL_INSTRUCTION) X(CUDA_ERROR_MISALIGNED_ADDRESS) \
    X(CUDA_ERROR_INVALID_ADDRESS_SPACE) X(CUDA_ERROR_INVALID_PC) X(CUDA_ERROR_LAUNCH_FAILED) \
    X(CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE) X(CUDA_ERROR_TENSOR_MEMORY_LEAK) X(CUDA_ERROR_NOT_PERMITTED) \
    X(CUDA_ERROR_NOT_SUPPORTED) X(CUDA_ERROR_SYSTEM_NOT_READY) X(CUDA_ERROR_SYSTEM_DRIVER_MISMATCH) \
    X(CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE) X(CUDA_ERROR_MPS_CONNECTION_FAILED) \
    X(CUDA_ERROR_MPS_RPC_FAILURE) X(CUDA_ERROR_MPS_SERVER_NOT_READY) X(CUDA_ERROR_MPS_MAX_CLIENTS_REACHED) \
    X(CUDA_ERROR_MPS_MAX_CONNECTIONS_REACHED) X(CUDA_ERROR_MPS_CLIENT_TERMINATED) \
    X(CUDA_ERROR_CDP_NOT_SUPPORTED) X(CUDA_ERROR_CDP_VERSION_MISMATCH) X(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED) \
    X(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED) X(CUDA_ERROR_STREAM_CAPTURE_MERGE) \
    X(CUDA_ERROR_STREAM_CAPTURE_UNMATCHED) X(CUDA_ERROR_STREAM_CAPTURE_UNJOINED) \
    X(CUDA_ERROR_STREAM_CAPTURE_ISOLATION) X(CUDA_ERROR_STREAM_CAPTURE_IMPLICIT) X(CUDA_ERROR_CAPTURED_EVENT) \
    X(CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD) X(CUDA_ERROR_TIMEOUT) X(CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE) \
    X(CUDA_ERROR_EXTERNAL_DEVICE) X(CUDA_ERROR_INVALID_CLUSTER_SIZE) X(CUDA_ERROR_FUNCTION_NOT_LOADED) \
    X(CUDA_ERROR_INVALID_RESOURCE_TYPE) X(CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION) X(CUDA_ERROR_KEY_ROTATION) \
    X(CUDA_ERROR_UNKNOWN)

static void check_code(CUresult code, const char *expect)
{
    const char *name = NULL, *text = NULL;
    CUresult a = cuGetErrorName(code, &name), b = cuGetErrorString(code, &text);
    if (a != CUDA_SUCCESS || b != CUDA_SUCCESS || !name || !text || strcmp(name, expect) || !text[0])
        api_check_failf(__FILE__, __LINE__, "code %d (%s): name %s text %s", (int)code, expect,
                        name ? name : "(null)", text ? text : "(null)");
}

static void case_every_code(void)
{
    int known = 0;
#define X(c) check_code(c, #c); known++;
    ALL_CODES(X)
#undef X
    /* exactly the header's codes have names */
    int named = 0;
    for (int c = 0; c < 2000; c++) {
        const char *s = NULL;
        if (cuGetErrorName((CUresult)c, &s) == CUDA_SUCCESS)
            named++;
    }
    CHECK(named == known);
}

static void case_known_texts(void)
{
    const char *s = NULL;
    CHECK_RC(cuGetErrorString(CUDA_ERROR_INVALID_VALUE, &s), CUDA_SUCCESS);
    CHECK(s && !strcmp(s, "invalid argument"));
    CHECK_RC(cuGetErrorString(CUDA_ERROR_ILLEGAL_ADDRESS, &s), CUDA_SUCCESS);
    CHECK(s && !strcmp(s, "an illegal memory access was encountered"));
    CHECK_RC(cuGetErrorString(CUDA_ERROR_NOT_SUPPORTED, &s), CUDA_SUCCESS);
    CHECK(s && !strcmp(s, "operation not supported"));
}

static void case_unknown_codes(void)
{
    const char *s = "x";
    CHECK_RC(cuGetErrorName((CUresult)12345, &s), CUDA_ERROR_INVALID_VALUE);
    CHECK(s == NULL);
    s = "x";
    CHECK_RC(cuGetErrorString((CUresult)-1, &s), CUDA_ERROR_INVALID_VALUE);
    CHECK(s == NULL);
    CHECK_RC(cuGetErrorName(CUDA_SUCCESS, NULL), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuGetErrorString(CUDA_SUCCESS, NULL), CUDA_ERROR_INVALID_VALUE);
}

/* Runs fn with stderr captured into buf. */
static void capture_stderr(void (*fn)(void), char *buf, size_t len)
{
    char path[] = "/tmp/bf-test-stderr-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    fflush(stderr);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, len - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
}

static CUresult g_stub_rc[3];
static void call_stubs(void)
{
    /* graphics interop and the NvSciSync query are never implemented by the software GPU */
    g_stub_rc[0] = cuGraphicsUnregisterResource(NULL);
    g_stub_rc[1] = cuGraphicsUnregisterResource(NULL);
    g_stub_rc[2] = cuDeviceGetNvSciSyncAttributes(NULL, 0, 0);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void case_unimplemented_stubs(void)
{
    char log[8192];
    capture_stderr(call_stubs, log, sizeof log);
    CHECK(g_stub_rc[0] == CUDA_ERROR_NOT_SUPPORTED);
    CHECK(g_stub_rc[1] == CUDA_ERROR_NOT_SUPPORTED);
    CHECK(g_stub_rc[2] == CUDA_ERROR_NOT_SUPPORTED);
    CHECK(count(log, "cuGraphicsUnregisterResource is not implemented") == 1);
    CHECK(count(log, "cuDeviceGetNvSciSyncAttributes is not implemented") == 1);
}

int main(void)
{
    setenv("BITFUSION_EMU_LOG", "warn", 1);
    alarm(60);
    static const api_check_case cases[] = {
        { "every_code", case_every_code },
        { "known_texts", case_known_texts },
        { "unknown_codes", case_unknown_codes },
        { "unimplemented_stubs", case_unimplemented_stubs },
    };
    return API_CHECK_RUN(cases, 0);
}
