/* bft.h: the test helper library shared by every test binary under tests/emu/ (owner: the test
 * corpus). It provides: a case registry (one binary runs many named cases, one line per case,
 * a final machine-readable `cases: P passed, F failed, S skipped` line that tests/run.sh adds up),
 * CHECK_CU and expectation macros, CUDA init/context helpers, fatbin loading from the kernel
 * directory, device/host buffers freed automatically at the end of a case, seeded random data,
 * tolerant float comparison (half/bfloat16 references: corpus_ref.h), fd capture (device printf) and
 * a stream gate (a host function that holds a stream until the case opens it).
 *
 * Cases run each in a forked child by default (the parent never initialises CUDA), so a crash,
 * hang or sticky error fails only its own case; BFT_NOFORK=1 runs them in-process (for gdb), and
 * BFT_CASE_TIMEOUT (seconds, default 60) bounds each forked case.
 * The kernel directory is $BF_TEST_KERNELS, else <dir of the executable>/../kernels
 * (i.e. $(B)/tests/kernels next to $(B)/tests/emu/), else $B/tests/kernels, else build/tests/kernels. */
#ifndef BFT_H
#define BFT_H
#include "corpus_ref.h"
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <cuda.h>

/* ---- registry ------------------------------------------------------------------------------ */
typedef void (*bft_case_fn)(void);
void bft_register(const char *name, bft_case_fn fn);
/* Defines and registers a case: BFT_CASE(name) { ...body... } */
#define BFT_CASE(name)                                                                          \
    static void name(void);                                                                     \
    __attribute__((constructor)) static void bft_reg_##name(void) { bft_register(#name, name); } \
    static void name(void)
/* Runs the registered cases (argv: optional name filters, substring match; -l lists).
 * Returns the process exit status. Every test binary's main is `return bft_main(argc, argv);`. */
int bft_main(int argc, char **argv);

/* ---- failing, skipping, expectations ------------------------------------------------------- */
/* Records a failure with a message and continues. */
void bft_failf(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records a failure and leaves the case at once. */
void bft_fatalf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* EXPECT/REQUIRE failures: "expected|required <cond>:<fmt...>"; fatal leaves the case. */
void bft_cond_failf(const char *file, int line, int fatal, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Ends the case as skipped (counted apart from passes and failures). */
void bft_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* True when the running case has recorded a failure. */
int bft_failed(void);
/* The case ends its process with _exit, skipping leak checks and atexit handlers: for cases that
 * leave the context in a sticky error state on purpose. Only meaningful in fork mode. */
void bft_no_cleanup(void);
/* Fork mode (the default)? */
int bft_forking(void);

const char *bft_cu_name(CUresult r);   /* "CUDA_ERROR_..." or "CUresult(N)" */

#define CHECK_CU(call)                                                                          \
    do {                                                                                        \
        CUresult bft_r_ = (call);                                                               \
        if (bft_r_ != CUDA_SUCCESS)                                                             \
            bft_fatalf(__FILE__, __LINE__, "%s -> %s", #call, bft_cu_name(bft_r_));             \
    } while (0)

/* Expects call to return exactly `want`; records a failure otherwise and continues. */
#define EXPECT_CU(call, want)                                                                   \
    do {                                                                                        \
        CUresult bft_r_ = (call), bft_w_ = (want);                                              \
        if (bft_r_ != bft_w_)                                                                   \
            bft_failf(__FILE__, __LINE__, "%s -> %s, expected %s", #call, bft_cu_name(bft_r_),  \
                      bft_cu_name(bft_w_));                                                     \
    } while (0)

/* Expects cond to hold; records "expected <cond>: <message>" otherwise and continues. The
 * optional message is a printf format and its arguments (cond may contain '%'). */
#define EXPECT(cond, ...)                                                                       \
    do {                                                                                        \
        if (!(cond)) bft_cond_failf(__FILE__, __LINE__, 0, #cond, " " __VA_ARGS__);              \
    } while (0)

/* As EXPECT, but leaves the case at once ("required <cond>: <message>"). */
#define REQUIRE(cond, ...)                                                                      \
    do {                                                                                        \
        if (!(cond)) bft_cond_failf(__FILE__, __LINE__, 1, #cond, " " __VA_ARGS__);              \
    } while (0)

/* ---- CUDA setup ------------------------------------------------------------------------------ */
/* cuInit, device 0, retains and makes current its primary context (once per case). */
void bft_cuda_init(void);
CUdevice bft_device(void);
CUcontext bft_context(void);
/* cuInit, then cuCtxCreate on dev (the new context is current); destroyed when the case ends. */
CUcontext bft_ctx_create(CUdevice dev);
/* Directory holding the kernels' fatbins (see top of file). */
const char *bft_kernel_dir(void);
/* malloc'd "<kernel dir>/<file>". */
char *bft_kernel_path(const char *file);
/* Reads a whole file (NUL appended, not counted in *len); NULL when it cannot be read. */
void *bft_read_file(const char *path, size_t *len);
/* Loads (once per case) "<kernel dir>/<name>.fatbin" with cuModuleLoadData. */
CUmodule bft_module(const char *name);
/* cuModuleGetFunction on bft_module(module). */
CUfunction bft_func(const char *module, const char *fn);

/* ---- launches -------------------------------------------------------------------------------- */
typedef struct bft_dim3 { unsigned x, y, z; } bft_dim3;
static inline bft_dim3 bft_d3(unsigned x, unsigned y, unsigned z) { bft_dim3 d = { x, y, z }; return d; }
static inline bft_dim3 bft_d1(unsigned x) { return bft_d3(x, 1, 1); }
static inline unsigned bft_div_up(size_t n, unsigned d) { return (unsigned)((n + d - 1) / d); }
/* cuLaunchKernel on the NULL stream; CHECK_CU on its result. */
void bft_launch(CUfunction f, bft_dim3 grid, bft_dim3 block, unsigned smem, void **args);
/* Usage: BFT_LAUNCH(f, grid, block, smem, &arg0, &arg1, ...) */
#define BFT_LAUNCH(f, grid, block, smem, ...)                                                   \
    do {                                                                                        \
        void *bft_args_[] = { __VA_ARGS__ };                                                    \
        bft_launch((f), (grid), (block), (smem), bft_args_);                                    \
    } while (0)
void bft_sync(void);   /* CHECK_CU(cuCtxSynchronize()) */

/* ---- memory (freed automatically when the case ends) ----------------------------------------- */
CUdeviceptr bft_dalloc(size_t bytes);                    /* cuMemAlloc, zero-filled */
CUdeviceptr bft_dup(const void *host, size_t bytes);     /* alloc + upload */
void bft_upload(CUdeviceptr d, const void *host, size_t bytes);
void bft_download(void *host, CUdeviceptr d, size_t bytes);
void *bft_alloc(size_t bytes);                           /* calloc'd host memory */
/* Device address and size of a module global (cuModuleGetGlobal); fails the case if absent. */
CUdeviceptr bft_global(const char *module, const char *name, size_t *size);

/* Free bytes of the current context's device (cuMemGetInfo; fails the case on error). */
size_t bft_free_mem(void);

/* ---- a gate: a host function that blocks its stream until the case opens it ------------------ */
typedef struct bft_gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    int open;
} bft_gate;
void bft_gate_init(bft_gate *g);           /* closed */
void CUDA_CB bft_gate_wait(void *gate);     /* for cuLaunchHostFunc(stream, bft_gate_wait, &gate) */
void bft_gate_open(bft_gate *g);
/* bft_gate_init, then queues bft_gate_wait on stream s: s holds until bft_gate_open. */
void bft_gate_hold(bft_gate *g, CUstream s);

/* ---- seeded random data ---------------------------------------------------------------------- */
/* The seeded generator of corpus_ref.h (splitmix64): one implementation for the driver-API and the
 * runtime tests, so a seed gives the same data in both. */
typedef cref_rng bft_rng;
#define bft_rng_seed cref_rng_seed
#define bft_rand64 cref_rand64      /* splitmix64 */
#define bft_rand32 cref_rand32
#define bft_randf cref_randf        /* uniform in [lo, hi) */
#define bft_randi cref_randi        /* uniform in [lo, hi] */
#define bft_fill_u32 cref_fill_u32
#define bft_fill_f32 cref_fill_f32
#define bft_fill_f64 cref_fill_f64
#define bft_fill_i32 cref_fill_i32

/* ---- comparisons (record failures, print the first few mismatches, return the count) ---------- */
/* Integers: exact. elem is 1, 2, 4 or 8 bytes. */
size_t bft_cmp_int(const char *what, const void *got, const void *want, size_t n, size_t elem, int is_signed);
#define bft_cmp_u32(w, g, e, n) bft_cmp_int((w), (g), (e), (n), 4, 0)
#define bft_cmp_i32(w, g, e, n) bft_cmp_int((w), (g), (e), (n), 4, 1)
#define bft_cmp_u64(w, g, e, n) bft_cmp_int((w), (g), (e), (n), 8, 0)
#define bft_cmp_i64(w, g, e, n) bft_cmp_int((w), (g), (e), (n), 8, 1)
#define bft_cmp_u16(w, g, e, n) bft_cmp_int((w), (g), (e), (n), 2, 0)
/* Floats: |got - want| <= atol + rtol * |want|; NaN matches NaN; rtol = atol = 0 is an exact
 * comparison of values (-0 == +0). */
size_t bft_cmp_f32(const char *what, const float *got, const float *want, size_t n, double rtol, double atol);
size_t bft_cmp_f64(const char *what, const double *got, const double *want, size_t n, double rtol, double atol);
/* Strided variants: element i is at [i * stride]. */
size_t bft_cmp_f32s(const char *what, const float *got, const float *want, size_t n, size_t stride,
                    double rtol, double atol);
size_t bft_cmp_f64s(const char *what, const double *got, const double *want, size_t n, size_t stride,
                    double rtol, double atol);

/* ---- reference number formats ---------------------------------------------------------------- */
uint32_t bft_f32_bits(float f);
uint64_t bft_f64_bits(double d);

/* ---- capturing a file descriptor (device printf goes to stdout) -------------------------------- */
/* Points fd at a temporary file (after fflush of stdout/stderr). */
void bft_capture_begin(int fd);
/* Restores fd and returns what was written (malloc'd, NUL-terminated, owned by the case). */
char *bft_capture_end(int fd);

double bft_now(void);   /* seconds, monotonic */
#endif
