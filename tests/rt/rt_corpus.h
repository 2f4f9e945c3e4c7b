/* rt_corpus.h: host side shared by the corpus runtime programs (tests/rt/rt_corpus_*.cu), which
 * include the kernel corpus (tests/kernels/*.cu) and run every kernel as an ordinary CUDA runtime
 * program would: <<<grid, block, smem, stream>>> launches on a few streams, device memory from
 * cudaMallocAsync (stream-ordered, freed with cudaFreeAsync) and cudaMalloc, cudaMemcpyAsync both
 * ways (pinned buffers for the results), and each case's verification enqueued behind its results
 * with cudaLaunchHostFunc, so it runs on the runtime's callback thread in stream order. The main
 * thread then waits on events (and times each stream), and checks that every verification ran.
 * Every kernel launched goes through cudaFuncGetAttributes; grid-stride kernels take their block
 * size from cudaOccupancyMaxPotentialBlockSize and their grid from
 * cudaOccupancyMaxActiveBlocksPerMultiprocessor. Inputs come from the same splitmix64 generator
 * and seeds as tests/emu/test_corpus_*.c, and references and tolerances are theirs.
 *
 * One object serves the CUDA 13 and the CUDA 12 runtimes (emu/rt_tests.mk links it four ways):
 * cudaGetDeviceProperties, whose structure changed in 13, is called only when the runtime in use
 * is 13 or newer. */
#ifndef RT_CORPUS_H
#define RT_CORPUS_H
#include "rt_check.h"
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>
#include <unistd.h>

/* ---- seeded data (tests/common/bft_num.c) ---------------------------------------------------- */

struct rc_rng {
    uint64_t s;
    explicit rc_rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x1234567ull) {}
    uint64_t next64()
    {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint32_t next32() { return (uint32_t)(next64() >> 32); }
    double uniform(double lo, double hi) { return lo + (hi - lo) * ((double)(next64() >> 11) * (1.0 / 9007199254740992.0)); }
    int range(int lo, int hi)   /* [lo, hi] */
    {
        uint64_t span = (uint64_t)((int64_t)hi - (int64_t)lo + 1);
        return (int)((int64_t)lo + (int64_t)(next64() % span));
    }
};

static void rc_fill_u32(uint32_t *p, size_t n, uint64_t seed)
{
    rc_rng r(seed);
    for (size_t i = 0; i < n; i++) p[i] = r.next32();
}
static void rc_fill_f32(float *p, size_t n, double lo, double hi, uint64_t seed)
{
    rc_rng r(seed);
    for (size_t i = 0; i < n; i++) p[i] = (float)r.uniform(lo, hi);
}
static void rc_fill_f64(double *p, size_t n, double lo, double hi, uint64_t seed)
{
    rc_rng r(seed);
    for (size_t i = 0; i < n; i++) p[i] = r.uniform(lo, hi);
}
static void rc_fill_i32(int32_t *p, size_t n, int lo, int hi, uint64_t seed)
{
    rc_rng r(seed);
    for (size_t i = 0; i < n; i++) p[i] = r.range(lo, hi);
}
static unsigned rc_div_up(size_t n, unsigned d) { return (unsigned)((n + d - 1) / d); }

/* ---- comparisons: print the first mismatches, return how many differ ------------------------- */

template <typename T> static size_t rc_cmp_int(const char *what, const T *got, const T *want, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (got[i] == want[i]) continue;
        if (bad < 6)
            std::printf("    %s[%zu]: got %lld (0x%llx), want %lld (0x%llx)\n", what, i, (long long)got[i],
                        (unsigned long long)got[i], (long long)want[i], (unsigned long long)want[i]);
        bad++;
    }
    if (bad) std::printf("  %s: %zu of %zu elements differ\n", what, bad, n);
    return bad;
}

static bool rc_close(double g, double w, double rtol, double atol)
{
    if (std::isnan(w)) return std::isnan(g);
    if (std::isnan(g)) return false;
    if (std::isinf(w) || std::isinf(g)) return g == w;
    if (rtol == 0 && atol == 0) return g == w;
    return std::fabs(g - w) <= atol + rtol * std::fabs(w);
}

template <typename T>
static size_t rc_cmp_fp(const char *what, const T *got, const T *want, size_t n, double rtol, double atol)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc_close((double)got[i], (double)want[i], rtol, atol)) continue;
        if (bad < 6)
            std::printf("    %s[%zu]: got %.17g, want %.17g (diff %.3g)\n", what, i, (double)got[i], (double)want[i],
                        (double)got[i] - (double)want[i]);
        bad++;
    }
    if (bad) std::printf("  %s: %zu of %zu elements differ (rtol %g atol %g)\n", what, bad, n, rtol, atol);
    return bad;
}
#define rc_cmp_f32 rc_cmp_fp<float>
#define rc_cmp_f64 rc_cmp_fp<double>

static size_t rc_expect(bool ok, const char *what)
{
    if (!ok) std::printf("  %s\n", what);
    return ok ? 0 : 1;
}

/* ---- memory ---------------------------------------------------------------------------------- */

/* Host buffers live until the end of the program (the verifications read them later). Inputs are
 * pageable; results (rc_get) are pinned. */
static std::vector<void *> rc_pageable, rc_pinned, rc_dev_sync;
static std::set<void *> rc_dev_pool;
static unsigned rc_nalloc;

template <typename T> static T *rc_host(size_t n)
{
    void *p = std::calloc(n ? n : 1, sizeof(T));
    if (!p) { std::printf("out of host memory\n"); std::exit(1); }
    rc_pageable.push_back(p);
    return (T *)p;
}

/* Device memory, zeroed in stream order: every other buffer from the stream-ordered allocator
 * (freed in stream order), the others from cudaMalloc (freed at the end). */
template <typename T> static T *rc_dalloc(size_t n, cudaStream_t s)
{
    void *p = nullptr;
    size_t bytes = (n ? n : 1) * sizeof(T);
    if (rc_nalloc++ % 2 == 0) {
        RT_REQUIRE(cudaMallocAsync(&p, bytes, s));
        rc_dev_pool.insert(p);
    } else {
        RT_REQUIRE(cudaMalloc(&p, bytes));
        rc_dev_sync.push_back(p);
    }
    RT_CHECK(cudaMemsetAsync(p, 0, bytes, s));
    return (T *)p;
}

template <typename T> static T *rc_dup(const T *h, size_t n, cudaStream_t s)
{
    T *d = rc_dalloc<T>(n, s);
    RT_CHECK(cudaMemcpyAsync(d, h, n * sizeof(T), cudaMemcpyHostToDevice, s));
    return d;
}

/* Copies n elements back into a pinned buffer, in stream order. */
template <typename T> static T *rc_get(const T *d, size_t n, cudaStream_t s)
{
    void *p = nullptr;
    RT_REQUIRE(cudaMallocHost(&p, (n ? n : 1) * sizeof(T)));
    rc_pinned.push_back(p);
    RT_CHECK(cudaMemcpyAsync(p, d, n * sizeof(T), cudaMemcpyDeviceToHost, s));
    return (T *)p;
}

template <typename T> static void rc_free(T *d, cudaStream_t s)
{
    if (rc_dev_pool.erase((void *)d)) RT_CHECK(cudaFreeAsync((void *)d, s));
}

/* ---- kernels: attributes, occupancy, launches --------------------------------------------------- */

static std::set<std::string> rc_kernels;
static int rc_sm_count = 1;

/* cudaFuncGetAttributes for every kernel launched (once each): a block of `threads` and `dyn`
 * bytes of dynamic shared memory must fit what it reports; static_smem: the kernel's own
 * __shared__ bytes (0: not checked). */
static void rc_attrs(const char *name, const void *fn, unsigned threads, size_t dyn, size_t static_smem)
{
    if (!rc_kernels.insert(name).second) return;
    cudaFuncAttributes a;
    std::memset(&a, 0, sizeof a);
    cudaError_t e = cudaFuncGetAttributes(&a, fn);
    if (e != cudaSuccess) {
        std::printf("FAIL cudaFuncGetAttributes(%s) -> %s\n", name, cudaGetErrorName(e));
        rt_failures++;
        return;
    }
    if (a.maxThreadsPerBlock < (int)threads || a.maxThreadsPerBlock > 1024 || a.numRegs < 0 ||
        a.sharedSizeBytes < static_smem || a.sharedSizeBytes > 48 * 1024 ||
        (int)dyn > a.maxDynamicSharedSizeBytes || (a.ptxVersion <= 0 && a.binaryVersion <= 0)) {
        std::printf("FAIL %s attributes: maxThreadsPerBlock %d (launch %u) numRegs %d static smem %zu "
                    "(want >= %zu) maxDynamicShared %d (launch %zu) ptx %d binary %d\n",
                    name, a.maxThreadsPerBlock, threads, a.numRegs, a.sharedSizeBytes, static_smem,
                    a.maxDynamicSharedSizeBytes, dyn, a.ptxVersion, a.binaryVersion);
        rt_failures++;
    }
}

static unsigned rc_threads(dim3 b) { return b.x * b.y * b.z; }

/* kernel<<<grid, block, smem, stream>>>(args...), after its attributes, then the launch's error. */
#define RC_LAUNCH_SMEM(k, static_smem, g, b, sm, s, ...)                                        \
    do {                                                                                         \
        rc_attrs(#k, (const void *)k, rc_threads(dim3(b)), (sm), (static_smem));                 \
        k<<<(g), (b), (sm), (s)>>>(__VA_ARGS__);                                                 \
        cudaError_t rc_e_ = cudaGetLastError();                                                  \
        if (rc_e_ != cudaSuccess) {                                                              \
            std::printf("FAIL %s:%d: launch of %s -> %s\n", __FILE__, __LINE__, #k,              \
                        cudaGetErrorName(rc_e_));                                                \
            rt_failures++;                                                                       \
        }                                                                                        \
    } while (0)
#define RC_LAUNCH(k, g, b, sm, s, ...) RC_LAUNCH_SMEM(k, 0, g, b, sm, s, __VA_ARGS__)

/* Block and grid for a grid-stride (or bounds-checked) kernel over n items from the occupancy
 * API: the block size that maximises occupancy (at most max_block), and as many blocks as are
 * resident at once on the device, but no more than n needs. */
template <typename K>
static void rc_occupancy(K kernel, size_t dyn, int max_block, size_t n, unsigned *grid, unsigned *block)
{
    int min_grid = 0, bs = 0, per_sm = 0;
    RT_CHECK(cudaOccupancyMaxPotentialBlockSize(&min_grid, &bs, kernel, dyn, max_block));
    if (bs < 32 || bs > max_block || bs % 32) {
        std::printf("FAIL cudaOccupancyMaxPotentialBlockSize: block %d (limit %d), min grid %d\n", bs, max_block, min_grid);
        rt_failures++;
        bs = 128;
    }
    RT_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, bs, dyn));
    if (per_sm < 1 || per_sm > 64) {
        std::printf("FAIL cudaOccupancyMaxActiveBlocksPerMultiprocessor: %d for block %d\n", per_sm, bs);
        rt_failures++;
        per_sm = 1;
    }
    size_t resident = (size_t)per_sm * (size_t)rc_sm_count, need = (n + bs - 1) / bs;
    *block = (unsigned)bs;
    *grid = (unsigned)std::max<size_t>(1, std::min(resident, need));
}

/* ---- the device ----------------------------------------------------------------------------- */

static int rc_runtime_version;

static void rc_device()
{
    int n = 0, drv = 0;
    RT_REQUIRE(cudaGetDeviceCount(&n));
    RT_EXPECT(n >= 1);
    RT_REQUIRE(cudaSetDevice(0));
    RT_CHECK(cudaRuntimeGetVersion(&rc_runtime_version));
    RT_CHECK(cudaDriverGetVersion(&drv));
    RT_EXPECT(rc_runtime_version >= 12000 && drv >= rc_runtime_version / 1000 * 1000);
    RT_CHECK(cudaDeviceGetAttribute(&rc_sm_count, cudaDevAttrMultiProcessorCount, 0));
    RT_EXPECT(rc_sm_count >= 1);
    if (rc_sm_count < 1) rc_sm_count = 1;
    if (rc_runtime_version >= 13000) {
        cudaDeviceProp p;
        std::memset(&p, 0, sizeof p);
        RT_CHECK(cudaGetDeviceProperties(&p, 0));
        RT_EXPECT(p.name[0] != 0 && p.warpSize == 32 && p.maxThreadsPerBlock == 1024);
        RT_EXPECT(p.multiProcessorCount == rc_sm_count && p.totalGlobalMem > 0 && p.major >= 7);
        RT_EXPECT(p.sharedMemPerBlock >= 48 * 1024 && p.sharedMemPerBlockOptin >= p.sharedMemPerBlock);
        RT_EXPECT(p.maxGridSize[0] >= 65535 && p.maxThreadsDim[0] == 1024 && p.maxThreadsDim[2] == 64);
    } else {
        int v = 0;
        RT_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrWarpSize, 0));
        RT_EXPECT(v == 32);
    }
    size_t free_b = 0, total_b = 0;
    RT_CHECK(cudaMemGetInfo(&free_b, &total_b));
    RT_EXPECT(total_b > 0 && free_b > 0 && free_b <= total_b);
}

/* ---- cases and their verifications -------------------------------------------------------------- */

struct rc_check_item {
    const char *name;
    std::function<size_t()> check;
    size_t bad;
    std::atomic<int> ran;
};
static std::vector<rc_check_item *> rc_checks;

static std::mutex rc_check_lock;   // one verification at a time: their reports stay together

static void CUDART_CB rc_run_check(void *arg)
{
    rc_check_item *c = (rc_check_item *)arg;
    std::lock_guard<std::mutex> hold(rc_check_lock);
    c->bad = c->check();
    if (c->bad) std::printf("FAIL %s\n", c->name);
    c->ran.store(1);
}

/* Enqueues the verification of a case behind its results on stream s. */
static void rc_verify(cudaStream_t s, const char *name, std::function<size_t()> check)
{
    rc_check_item *c = new rc_check_item;
    c->name = name;
    c->check = std::move(check);
    c->bad = 0;
    c->ran.store(0);
    rc_checks.push_back(c);
    RT_CHECK(cudaLaunchHostFunc(s, rc_run_check, c));
}

typedef void (*rc_case_fn)(cudaStream_t);

/* Run by rc_main once all the work has finished (destroying a case's own streams and events). */
static std::vector<std::function<void()>> rc_at_end;

/* Runs the cases round-robin on `nstreams` non-blocking streams, timed by events; then checks
 * that each verification ran and passed, frees everything and gives the program's exit status.
 * want_kernels: how many distinct kernels the program must have launched; serial: a phase run
 * alone once all that is done (device printf, whose output is captured). */
static int rc_main(const char *prog, const rc_case_fn *cases, size_t ncases, int nstreams, size_t want_kernels,
                   void (*serial)() = nullptr)
{
    setvbuf(stdout, nullptr, _IOLBF, 0);
    rc_device();
    std::vector<cudaStream_t> st(nstreams);
    std::vector<cudaEvent_t> t0(nstreams), t1(nstreams);
    for (int k = 0; k < nstreams; k++) {
        RT_REQUIRE(cudaStreamCreateWithFlags(&st[k], cudaStreamNonBlocking));
        RT_REQUIRE(cudaEventCreate(&t0[k]));
        RT_REQUIRE(cudaEventCreate(&t1[k]));
        RT_CHECK(cudaEventRecord(t0[k], st[k]));
    }
    for (size_t i = 0; i < ncases; i++) cases[i](st[i % nstreams]);
    for (int k = 0; k < nstreams; k++) RT_CHECK(cudaEventRecord(t1[k], st[k]));
    std::string times;
    for (int k = 0; k < nstreams; k++) {
        float ms = -1;
        RT_CHECK(cudaEventSynchronize(t1[k]));
        RT_CHECK(cudaEventQuery(t1[k]));
        RT_CHECK(cudaEventElapsedTime(&ms, t0[k], t1[k]));
        RT_EXPECT(ms >= 0);
        char buf[48];
        std::snprintf(buf, sizeof buf, "%s%.1f", k ? "/" : "", ms);
        times += buf;
    }
    RT_CHECK(cudaDeviceSynchronize());
    size_t bad = 0, ran = 0;
    for (rc_check_item *c : rc_checks) {
        ran += c->ran.load() != 0;
        bad += c->bad != 0;
    }
    RT_EXPECT(ran == rc_checks.size());
    for (auto &f : rc_at_end) f();
    if (serial) serial();   // with the device idle and no verification left to run
    rt_failures += (int)bad;
    if (rc_kernels.size() != want_kernels) {
        std::printf("FAIL %zu kernels launched, want %zu\n", rc_kernels.size(), want_kernels);
        rt_failures++;
    }
    for (void *p : rc_dev_pool) RT_CHECK(cudaFree(p));   /* none left unless a case forgot */
    RT_EXPECT(rc_dev_pool.empty());
    for (void *p : rc_dev_sync) RT_CHECK(cudaFree(p));
    for (void *p : rc_pinned) RT_CHECK(cudaFreeHost(p));
    for (void *p : rc_pageable) std::free(p);
    for (int k = 0; k < nstreams; k++) {
        RT_CHECK(cudaEventDestroy(t0[k]));
        RT_CHECK(cudaEventDestroy(t1[k]));
        RT_CHECK(cudaStreamDestroy(st[k]));
    }
    size_t free_b = 0, total_b = 0;
    RT_CHECK(cudaMemGetInfo(&free_b, &total_b));
    RT_EXPECT(free_b <= total_b);
    std::printf("%s: runtime %d, %d SMs, %zu kernels, %zu verifications (%zu failed), stream ms %s\n", prog,
                rc_runtime_version, rc_sm_count, rc_kernels.size(), rc_checks.size(), bad, times.c_str());
    for (rc_check_item *c : rc_checks) delete c;
    return rt_finish(prog);
}
#endif
