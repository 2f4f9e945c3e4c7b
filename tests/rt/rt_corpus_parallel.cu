// rt_corpus_parallel.cu: the parallel building blocks of the kernel corpus (reduce.cu, scan.cu,
// histogram.cu, sort.cu, coop.cu, templates.cu: 23 kernels) as a CUDA runtime program (rt_corpus.h
// says how), with the inputs, references and tolerances of tests/emu/test_corpus_parallel.c. The
// multi-block scan runs its middle pass on a second stream, ordered by events both ways;
// reduce_lastblock_f32's __device__ counter is read back with cudaMemcpyFromSymbolAsync.
#include "rt_corpus.h"
#include "../kernels/reduce.cu"
#include "../kernels/scan.cu"
#include "../kernels/histogram.cu"
#include "../kernels/sort.cu"
#include "../kernels/coop.cu"
#include "../kernels/templates.cu"

#define N_RED ((1u << 16) + 100)

/* ---- reductions ------------------------------------------------------------------------------ */

// In-place simulation of `v += __shfl_down_sync(full, v, off)` for off = 16..1 over 32 lanes.
static void sim_shfl_down_sum(float v[32])
{
    for (int off = 16; off > 0; off >>= 1) {
        float t[32];
        for (int l = 0; l < 32; l++) t[l] = v[l] + (l + off < 32 ? v[l + off] : v[l]);
        std::memcpy(v, t, sizeof t);
    }
}

static void sim_tree_f32(float *s, unsigned size)
{
    for (unsigned stride = size / 2; stride > 0; stride >>= 1)
        for (unsigned t = 0; t < stride; t++) s[t] += s[t + stride];
}

static void case_reduce_smem_f32(cudaStream_t s)
{
    unsigned n = N_RED, grid = rc_div_up(n, 512);
    float *in = rc_host<float>(n);
    rc_fill_f32(in, n, -1.0, 1.0, 11);
    float *din = rc_dup(in, n, s), *dout = rc_dalloc<float>(grid, s);
    RC_LAUNCH_SMEM(reduce_smem_f32, 1024, grid, 256, 0, s, din, dout, n);
    float *got = rc_get(dout, grid, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "reduce_smem_f32", [=] {
        std::vector<float> want(grid);
        for (unsigned b = 0; b < grid; b++) {
            float sh[256];
            for (unsigned t = 0; t < 256; t++) {
                unsigned i = b * 512 + t;
                float v = 0.0f;
                if (i < n) v = in[i];
                if (i + 256 < n) v += in[i + 256];
                sh[t] = v;
            }
            sim_tree_f32(sh, 256);
            want[b] = sh[0];
        }
        return rc_cmp_f32("block_sums", got, want.data(), grid, 0, 0);
    });
}

static void case_reduce_shfl_down_f32(cudaStream_t s)
{
    unsigned n = N_RED, grid = rc_div_up(n, 256);
    float *in = rc_host<float>(n);
    rc_fill_f32(in, n, -2.0, 2.0, 12);
    float *din = rc_dup(in, n, s), *dout = rc_dalloc<float>(grid, s);
    RC_LAUNCH_SMEM(reduce_shfl_down_f32, 128, grid, 256, 0, s, din, dout, n);
    float *got = rc_get(dout, grid, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "reduce_shfl_down_f32", [=] {
        std::vector<float> want(grid);
        for (unsigned b = 0; b < grid; b++) {
            float ws[8], v[32];
            for (unsigned w = 0; w < 8; w++) {
                for (unsigned l = 0; l < 32; l++) {
                    unsigned i = b * 256 + w * 32 + l;
                    v[l] = i < n ? in[i] : 0.0f;
                }
                sim_shfl_down_sum(v);
                ws[w] = v[0];
            }
            for (unsigned l = 0; l < 32; l++) v[l] = l < 8 ? ws[l] : 0.0f;
            sim_shfl_down_sum(v);
            want[b] = v[0];
        }
        return rc_cmp_f32("block_sums", got, want.data(), grid, 0, 0);
    });
}

static void case_reduce_shfl_xor_i32(cudaStream_t s)
{
    unsigned n = N_RED, grid = rc_div_up(n, 256);
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -1000, 1000, 13);
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>(n, s), *dtot = rc_dalloc<int>(1, s);
    RC_LAUNCH(reduce_shfl_xor_i32, grid, 256, 0, s, din, dout, dtot, n);
    int *got = rc_get(dout, n, s), *total = rc_get(dtot, 1, s);
    rc_free(din, s); rc_free(dout, s); rc_free(dtot, s);
    rc_verify(s, "reduce_shfl_xor_i32", [=] {
        std::vector<int> want(n);
        int want_total = 0;
        for (unsigned w = 0; w * 32 < n; w++) {
            int sum = 0;
            for (unsigned l = 0; l < 32 && w * 32 + l < n; l++) sum += in[w * 32 + l];
            for (unsigned l = 0; l < 32 && w * 32 + l < n; l++) want[w * 32 + l] = sum;
            want_total += sum;
        }
        return rc_cmp_int("lane_sums", got, want.data(), n) + rc_cmp_int("total", total, &want_total, 1);
    });
}

static void case_reduce_lastblock_f32(cudaStream_t s)
{
    unsigned n = (1u << 16) + 3, grid = 64;
    float *in = rc_host<float>(n);
    rc_fill_f32(in, n, 0.0, 1.0, 14);
    size_t csize = 0;
    RT_CHECK(cudaGetSymbolSize(&csize, retirement_count));
    RT_EXPECT(csize == 4);
    float *din = rc_dup(in, n, s), *dpart = rc_dalloc<float>(grid, s), *dres = rc_dalloc<float>(1, s);
    RC_LAUNCH_SMEM(reduce_lastblock_f32, 1024, grid, 256, 0, s, din, dpart, dres, n);
    float *result = rc_get(dres, 1, s), *got_partial = rc_get(dpart, grid, s);
    unsigned *counter = rc_host<unsigned>(1);
    RT_CHECK(cudaMemcpyFromSymbolAsync(counter, retirement_count, 4, 0, cudaMemcpyDeviceToHost, s));
    // a second launch must see the counter reset by the first one
    RT_CHECK(cudaMemsetAsync(dres, 0, 4, s));
    RC_LAUNCH(reduce_lastblock_f32, grid, 256, 0, s, din, dpart, dres, n);
    float *result2 = rc_get(dres, 1, s);
    rc_free(din, s); rc_free(dpart, s); rc_free(dres, s);
    rc_verify(s, "reduce_lastblock_f32", [=] {
        float want_partial[64], total;
        for (unsigned b = 0; b < grid; b++) {
            float sh[256];
            for (unsigned t = 0; t < 256; t++) {
                float v = 0.0f;
                for (unsigned i = b * 256 + t; i < n; i += grid * 256) v += in[i];
                sh[t] = v;
            }
            sim_tree_f32(sh, 256);
            want_partial[b] = sh[0];
        }
        {
            float sh[256];
            for (unsigned t = 0; t < 256; t++) sh[t] = t < grid ? 0.0f + want_partial[t] : 0.0f;
            sim_tree_f32(sh, 256);
            total = sh[0];
        }
        return rc_cmp_f32("partial", got_partial, want_partial, grid, 0, 0) + rc_cmp_f32("result", result, &total, 1, 0, 0) +
               rc_cmp_f32("second launch's result", result2, &total, 1, 0, 0) +
               rc_expect(*counter == 0, "retirement_count is not 0 after the launch");
    });
}

/* ---- scans ------------------------------------------------------------------------------------ */

static cudaStream_t scan_side;
static cudaEvent_t scan_ev[2];

// Three passes: block scans and block sums on s, the scan of the sums on a second stream (after
// an event of s), the offsets added on s (after an event of the second stream).
static void case_scan_hs_multiblock(cudaStream_t s)
{
    unsigned n = (1u << 16) + 37, nb = rc_div_up(n, 256);
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -100, 100, 21);
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>(n, s), *dsums = rc_dalloc<int>(nb, s);
    unsigned *doffs = rc_dalloc<unsigned>(nb, s);
    RT_REQUIRE(cudaStreamCreateWithFlags(&scan_side, cudaStreamNonBlocking));
    RT_REQUIRE(cudaEventCreateWithFlags(&scan_ev[0], cudaEventDisableTiming));
    RT_REQUIRE(cudaEventCreateWithFlags(&scan_ev[1], cudaEventDisableTiming));
    rc_at_end.push_back([] {
        RT_CHECK(cudaEventDestroy(scan_ev[0]));
        RT_CHECK(cudaEventDestroy(scan_ev[1]));
        RT_CHECK(cudaStreamDestroy(scan_side));
    });
    RC_LAUNCH(scan_hs_incl_i32, nb, 256, 2 * 256 * 4, s, din, dout, dsums, n);
    RT_CHECK(cudaEventRecord(scan_ev[0], s));
    RT_CHECK(cudaStreamWaitEvent(scan_side, scan_ev[0], 0));
    RC_LAUNCH_SMEM(scan_blelloch_excl_u32, (512 + 16) * 4, 1, 256, 0, scan_side, (const unsigned *)dsums, doffs,
                   (unsigned *)nullptr, nb);
    RT_CHECK(cudaEventRecord(scan_ev[1], scan_side));
    RT_CHECK(cudaStreamWaitEvent(s, scan_ev[1], 0));
    RC_LAUNCH(scan_add_offsets_i32, nb, 256, 0, s, dout, (const int *)doffs, n);
    int *got = rc_get(dout, n, s), *gsums = rc_get(dsums, nb, s);
    rc_free(din, s); rc_free(dout, s); rc_free(dsums, s); rc_free(doffs, s);
    rc_verify(s, "scan_hs_incl_i32 + scan_blelloch_excl_u32 + scan_add_offsets_i32", [=] {
        std::vector<int> want(n), wsums(nb);
        uint32_t acc = 0;
        for (unsigned i = 0; i < n; i++) { acc += (uint32_t)in[i]; want[i] = (int32_t)acc; }
        for (unsigned b = 0; b < nb; b++) {
            uint32_t sum = 0;
            for (unsigned i = b * 256; i < (b + 1) * 256 && i < n; i++) sum += (uint32_t)in[i];
            wsums[b] = (int32_t)sum;
        }
        return rc_cmp_int("block_sums", gsums, wsums.data(), nb) + rc_cmp_int("scan", got, want.data(), n);
    });
}

static void case_scan_blelloch(cudaStream_t s)
{
    unsigned n = (1u << 16) + 5, nb = rc_div_up(n, 512);
    uint32_t *in = rc_host<uint32_t>(n);
    rc_fill_u32(in, n, 22);
    for (unsigned i = 0; i < n; i++) in[i] %= 1000;
    unsigned *din = rc_dup(in, n, s), *dout = rc_dalloc<unsigned>(n, s), *dsums = rc_dalloc<unsigned>(nb, s);
    RC_LAUNCH(scan_blelloch_excl_u32, nb, 256, 0, s, din, dout, dsums, n);
    unsigned *got = rc_get(dout, n, s), *gsums = rc_get(dsums, nb, s);
    rc_free(din, s); rc_free(dout, s); rc_free(dsums, s);
    rc_verify(s, "scan_blelloch_excl_u32", [=] {
        std::vector<unsigned> want(n), wsums(nb);
        for (unsigned b = 0; b < nb; b++) {
            uint32_t acc = 0;
            for (unsigned i = b * 512; i < (b + 1) * 512; i++) {
                if (i < n) want[i] = acc;
                acc += i < n ? in[i] : 0;
            }
            wsums[b] = acc;
        }
        return rc_cmp_int("scan", got, want.data(), n) + rc_cmp_int("block_sums", gsums, wsums.data(), nb);
    });
}

static void case_scan_warp_shfl(cudaStream_t s)
{
    static const unsigned sizes[2][2] = { { (1u << 16) + 77, 512 }, { 5000, 96 } };
    for (int k = 0; k < 2; k++) {
        unsigned n = sizes[k][0], bs = sizes[k][1], nb = rc_div_up(n, bs);
        int32_t *in = rc_host<int32_t>(n);
        rc_fill_i32(in, n, -50, 50, 23 + (uint64_t)k);
        int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>(n, s), *dsums = rc_dalloc<int>(nb, s);
        RC_LAUNCH_SMEM(scan_warp_shfl_incl_i32, 128, nb, bs, 0, s, din, dout, dsums, n);
        int *got = rc_get(dout, n, s), *gsums = rc_get(dsums, nb, s);
        rc_free(din, s); rc_free(dout, s); rc_free(dsums, s);
        rc_verify(s, k ? "scan_warp_shfl_incl_i32 (block 96)" : "scan_warp_shfl_incl_i32 (block 512)", [=] {
            std::vector<int> want(n), wsums(nb);
            for (unsigned b = 0; b < nb; b++) {
                uint32_t acc = 0;
                for (unsigned i = b * bs; i < (b + 1) * bs; i++) {
                    acc += i < n ? (uint32_t)in[i] : 0;
                    if (i < n) want[i] = (int32_t)acc;
                }
                wsums[b] = (int32_t)acc;
            }
            return rc_cmp_int("scan", got, want.data(), n) + rc_cmp_int("block_sums", gsums, wsums.data(), nb);
        });
    }
}

/* ---- histograms -------------------------------------------------------------------------------- */

static void case_hist256_shared(cudaStream_t s)
{
    unsigned n = 1u << 18, grid, block;
    unsigned char *data = rc_host<unsigned char>(n);
    rc_rng r(31);
    for (unsigned i = 0; i < n; i++) data[i] = (r.next32() & 1) ? 7 : (unsigned char)r.next32();
    unsigned char *dd = rc_dup(data, n, s);
    unsigned *dbins = rc_dalloc<unsigned>(256, s);
    rc_occupancy(hist256_shared, 0, 1024, n, &grid, &block);   // grid-stride
    RC_LAUNCH_SMEM(hist256_shared, 1024, grid, block, 0, s, dd, n, dbins);
    unsigned *got = rc_get(dbins, 256, s);
    rc_free(dd, s); rc_free(dbins, s);
    rc_verify(s, "hist256_shared", [=] {
        unsigned want[256] = { 0 };
        for (unsigned i = 0; i < n; i++) want[data[i]]++;
        return rc_cmp_int("bins", got, want, 256);
    });
}

static void case_hist_global(cudaStream_t s)
{
    unsigned n = 1u << 16, nbins = 37;
    uint32_t *vals = rc_host<uint32_t>(n);
    rc_fill_u32(vals, n, 32);
    unsigned *dv = rc_dup(vals, n, s), *dbins = rc_dalloc<unsigned>(nbins, s);
    RC_LAUNCH(hist_global, rc_div_up(n, 256), 256, 0, s, dv, n, nbins, dbins);
    unsigned *got = rc_get(dbins, nbins, s);
    rc_free(dv, s); rc_free(dbins, s);
    rc_verify(s, "hist_global", [=] {
        unsigned want[37] = { 0 };
        for (unsigned i = 0; i < n; i++) want[vals[i] % nbins]++;
        return rc_cmp_int("bins", got, want, nbins);
    });
}

static void case_hist64_uchar4(cudaStream_t s)
{
    unsigned n4 = 1u << 15, grid, bs;
    unsigned char *data = rc_host<unsigned char>((size_t)n4 * 4);
    rc_rng r(33);
    for (unsigned i = 0; i < n4 * 4; i++) {
        uint32_t x = r.next32();
        // .x bytes use few distinct bins so the per-block distinct count is interesting
        data[i] = (i % 4 == 0) ? (unsigned char)((x % 23) * 4 + (x >> 30)) : (unsigned char)x;
    }
    // grid-stride: the block size and grid come from the occupancy API (the reference follows)
    rc_occupancy(hist64_uchar4, 0, 1024, n4, &grid, &bs);
    grid = std::max(grid, 16u);
    uchar4 *dd = (uchar4 *)rc_dup(data, (size_t)n4 * 4, s);
    unsigned *dbins = rc_dalloc<unsigned>(64, s), *ddist = rc_dalloc<unsigned>(grid, s);
    RC_LAUNCH_SMEM(hist64_uchar4, 2 * 64 * 4 + 4, grid, bs, 0, s, dd, n4, dbins, ddist);
    unsigned *got = rc_get(dbins, 64, s), *gdist = rc_get(ddist, grid, s);
    rc_free((unsigned char *)dd, s); rc_free(dbins, s); rc_free(ddist, s);
    rc_verify(s, "hist64_uchar4", [=] {
        unsigned want[64] = { 0 };
        std::vector<unsigned> wdist(grid);
        for (unsigned i = 0; i < n4 * 4; i++) want[data[i] >> 2]++;
        for (unsigned b = 0; b < grid; b++) {
            int seen[64] = { 0 };
            unsigned d = 0;
            for (unsigned t = 0; t < bs; t++)
                for (unsigned i = b * bs + t; i < n4; i += grid * bs)
                    if (!seen[data[4 * i] >> 2]++) d++;
            wdist[b] = d;
        }
        return rc_cmp_int("bins", got, want, 64) + rc_cmp_int("block_distinct", gdist, wdist.data(), grid);
    });
}

/* ---- sorting ----------------------------------------------------------------------------------- */

static void run_bitonic(cudaStream_t s, unsigned nblocks, unsigned dir, uint64_t seed)
{
    unsigned n = nblocks * 1024;
    uint32_t *keys = rc_host<uint32_t>(n), *vals = rc_host<uint32_t>(n);
    rc_fill_u32(keys, n, seed);
    for (unsigned i = 0; i < n; i++) { keys[i] %= 5000; vals[i] = i; }
    unsigned *dk = rc_dup(keys, n, s), *dv = rc_dup(vals, n, s);
    RC_LAUNCH_SMEM(bitonic_sort_kv, 2 * 1024 * 4, nblocks, 512, 0, s, dk, dv, dir);
    unsigned *gk = rc_get(dk, n, s), *gv = rc_get(dv, n, s);
    rc_free(dk, s); rc_free(dv, s);
    rc_verify(s, dir ? "bitonic_sort_kv (ascending)" : "bitonic_sort_kv (descending)", [=] {
        std::vector<uint32_t> sorted(keys, keys + n);
        size_t bad_pairs = 0;
        for (unsigned b = 0; b < nblocks; b++) {
            std::sort(sorted.begin() + b * 1024, sorted.begin() + (b + 1) * 1024);
            if (!dir) std::reverse(sorted.begin() + b * 1024, sorted.begin() + (b + 1) * 1024);
            std::vector<unsigned char> seen(1024);
            for (unsigned i = b * 1024; i < (b + 1) * 1024; i++) {
                uint32_t v = gv[i];
                if (v < b * 1024 || v >= (b + 1) * 1024 || seen[v - b * 1024]++ || keys[v] != gk[i]) bad_pairs++;
            }
        }
        return rc_cmp_int("keys", gk, sorted.data(), n) +
               rc_expect(bad_pairs == 0, "the values are not the permutation that goes with the keys");
    });
}

static void case_bitonic_sort_kv(cudaStream_t s)
{
    run_bitonic(s, 32, 1, 41);
    run_bitonic(s, 4, 0, 42);
}

static void case_oddeven_sort_f32(cudaStream_t s)
{
    unsigned nb = 64, n = nb * 64;
    float *d = rc_host<float>(n);
    rc_fill_f32(d, n, -100.0, 100.0, 43);
    float *dd = rc_dup(d, n, s);
    RC_LAUNCH_SMEM(oddeven_sort_f32, 256, nb, 64, 0, s, dd);
    float *got = rc_get(dd, n, s);
    rc_free(dd, s);
    rc_verify(s, "oddeven_sort_f32", [=] {
        std::vector<float> want(d, d + n);
        for (unsigned b = 0; b < nb; b++) std::sort(want.begin() + b * 64, want.begin() + (b + 1) * 64);
        return rc_cmp_f32("sorted", got, want.data(), n, 0, 0);
    });
}

/* ---- cooperative groups ------------------------------------------------------------------------- */

static void case_cg_tile_reduce(cudaStream_t s)
{
    unsigned n = (1u << 16) + 9, nb = rc_div_up(n, 256);
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -1000, 1000, 51);
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>(nb, s);
    RC_LAUNCH_SMEM(cg_tile_reduce, 128, nb, 256, 0, s, din, dout, n);
    int *got = rc_get(dout, nb, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "cg_tile_reduce", [=] {
        std::vector<int> want(nb);
        for (unsigned b = 0; b < nb; b++) {
            int32_t sum = 0;
            for (unsigned i = b * 256; i < (b + 1) * 256 && i < n; i++) sum += in[i];
            want[b] = sum;
        }
        return rc_cmp_int("block_sums", got, want.data(), nb);
    });
}

static void case_cg_tile16(cudaStream_t s)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -1000, 1000, 52);
    for (unsigned i = 0; i < n; i += 16)
        if ((i / 16) % 3 == 0) in[i + 5] = 950;   // some tiles have any(v > 900)
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>((size_t)n * 8, s);
    RC_LAUNCH(cg_tile16, nb, bs, 0, s, din, dout);
    int *got = rc_get(dout, (size_t)n * 8, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "cg_tile16", [=] {
        std::vector<int> want((size_t)n * 8);
        for (unsigned t0 = 0; t0 < n; t0 += 16) {
            const int32_t *v = in + t0;
            int32_t mx = v[0];
            int any = 0, all = 1;
            uint32_t bal = 0;
            for (unsigned r = 0; r < 16; r++) {
                if (v[r] > mx) mx = v[r];
                if (v[r] > 900) any = 1;
                if (!(v[r] > -900)) all = 0;
                if (v[r] & 1) bal |= 1u << r;
            }
            for (unsigned r = 0; r < 16; r++) {
                int32_t *o = &want[8 * (t0 + r)];
                o[0] = mx;
                o[1] = r + 3 < 16 ? v[r + 3] : v[r];
                o[2] = v[r ^ 9];
                o[3] = v[15];
                o[4] = any;
                o[5] = all;
                o[6] = (int32_t)bal;
                o[7] = (int32_t)((((t0 + r) % bs) / 16) * 100 + r);
            }
        }
        return rc_cmp_int("tile16 results (8 per thread)", got, want.data(), (size_t)n * 8);
    });
}

static void case_cg_coalesced(cudaStream_t s)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -1000, 1000, 53);
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>((size_t)n * 3, s);
    RC_LAUNCH(cg_coalesced, nb, bs, 0, s, din, dout);
    int *got = rc_get(dout, (size_t)n * 3, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "cg_coalesced", [=] {
        std::vector<int> want((size_t)n * 3);
        for (unsigned w = 0; w < n / 32; w++) {
            uint32_t mask = 0;
            for (unsigned l = 0; l < 32; l++)
                if (in[w * 32 + l] & 1) mask |= 1u << l;
            int first = mask ? in[w * 32 + (unsigned)__builtin_ctz(mask)] : -1;
            for (unsigned l = 0; l < 32; l++) {
                int32_t *o = &want[3 * (w * 32 + l)];
                if (mask >> l & 1) {
                    o[0] = __builtin_popcount(mask);
                    o[1] = __builtin_popcount(mask & ((1u << l) - 1u));
                    o[2] = first;
                } else {
                    o[0] = o[1] = o[2] = -1;
                }
            }
        }
        return rc_cmp_int("size/rank/first", got, want.data(), (size_t)n * 3);
    });
}

static void case_cg_tile_scan(cudaStream_t s)
{
    unsigned nb = 64, bs = 256, n = nb * bs;
    int32_t *in = rc_host<int32_t>(n);
    rc_fill_i32(in, n, -100, 100, 54);
    int *din = rc_dup(in, n, s), *di = rc_dalloc<int>(n, s), *de = rc_dalloc<int>(n, s);
    RC_LAUNCH(cg_tile_scan, nb, bs, 0, s, din, di, de);
    int *gi = rc_get(di, n, s), *ge = rc_get(de, n, s);
    rc_free(din, s); rc_free(di, s); rc_free(de, s);
    rc_verify(s, "cg_tile_scan", [=] {
        std::vector<int> wi(n), we(n);
        for (unsigned w = 0; w < n / 32; w++) {
            int32_t acc = 0;
            for (unsigned l = 0; l < 32; l++) {
                we[w * 32 + l] = acc;
                acc += in[w * 32 + l];
                wi[w * 32 + l] = acc;
            }
        }
        return rc_cmp_int("inclusive", gi, wi.data(), n) + rc_cmp_int("exclusive", ge, we.data(), n);
    });
}

/* ---- templates --------------------------------------------------------------------------------- */

static void case_tmpl_reduce(cudaStream_t s)
{
    unsigned n = (1u << 16) + 11, nb1 = rc_div_up(n, 256), nb2 = rc_div_up(n, 128), nb3 = rc_div_up(n, 64);
    int32_t *in1 = rc_host<int32_t>(n);
    float *in2 = rc_host<float>(n);
    double *in3 = rc_host<double>(n);
    rc_fill_i32(in1, n, -100000, 100000, 61);
    rc_fill_f32(in2, n, -1000.0, 1000.0, 62);
    rc_fill_f64(in3, n, -1.0, 1.0, 63);
    int *d1 = rc_dup(in1, n, s), *o1 = rc_dalloc<int>(nb1, s);
    float *d2 = rc_dup(in2, n, s), *o2 = rc_dalloc<float>(nb2, s);
    double *d3 = rc_dup(in3, n, s), *o3 = rc_dalloc<double>(nb3, s);
    RC_LAUNCH_SMEM(tmpl_reduce_sum_i32, 256 * 4, nb1, 256, 0, s, d1, o1, n);
    RC_LAUNCH_SMEM(tmpl_reduce_max_f32, 128 * 4, nb2, 128, 0, s, d2, o2, n);
    RC_LAUNCH_SMEM(tmpl_reduce_sum_f64, 64 * 8, nb3, 64, 0, s, d3, o3, n);
    int *g1 = rc_get(o1, nb1, s);
    float *g2 = rc_get(o2, nb2, s);
    double *g3 = rc_get(o3, nb3, s);
    rc_free(d1, s); rc_free(o1, s); rc_free(d2, s); rc_free(o2, s); rc_free(d3, s); rc_free(o3, s);
    rc_verify(s, "tmpl_reduce_sum_i32 / tmpl_reduce_max_f32 / tmpl_reduce_sum_f64", [=] {
        std::vector<int> w1(nb1);
        std::vector<float> w2(nb2);
        std::vector<double> w3(nb3);
        for (unsigned b = 0; b < nb1; b++) {
            uint32_t sum = 0;
            for (unsigned i = b * 256; i < (b + 1) * 256 && i < n; i++) sum += (uint32_t)in1[i];
            w1[b] = (int32_t)sum;
        }
        for (unsigned b = 0; b < nb2; b++) {
            float m = -3.0e38f;
            for (unsigned i = b * 128; i < (b + 1) * 128 && i < n; i++) m = in2[i] > m ? in2[i] : m;
            w2[b] = m;
        }
        for (unsigned b = 0; b < nb3; b++) {   // tree order reproduced
            double sh[64];
            for (unsigned t = 0; t < 64; t++) sh[t] = b * 64 + t < n ? in3[b * 64 + t] : 0.0;
            for (unsigned stride = 32; stride > 0; stride >>= 1)
                for (unsigned t = 0; t < stride; t++) sh[t] += sh[t + stride];
            w3[b] = sh[0];
        }
        return rc_cmp_int("sum_i32", g1, w1.data(), nb1) + rc_cmp_f32("max_f32", g2, w2.data(), nb2, 0, 0) +
               rc_cmp_f64("sum_f64", g3, w3.data(), nb3, 0, 0);
    });
}

static void case_tmpl_dot8_and_maps(cudaStream_t s)
{
    unsigned rows = 1u << 14, nq = (1u << 16) + 3, nl = 50000, grid, block;
    float scale = 1000.0f;
    int k = -77;
    uint32_t *a = rc_host<uint32_t>((size_t)rows * 8), *b = rc_host<uint32_t>((size_t)rows * 8);
    float *x = rc_host<float>(nq);
    int32_t *xl = rc_host<int32_t>(nl);
    rc_fill_u32(a, (size_t)rows * 8, 64);
    rc_fill_u32(b, (size_t)rows * 8, 65);
    rc_fill_f32(x, nq, -1.0, 1.0, 66);
    rc_fill_i32(xl, nl, -2000000000, 2000000000, 67);
    unsigned *da = rc_dup(a, (size_t)rows * 8, s), *db = rc_dup(b, (size_t)rows * 8, s), *dd = rc_dalloc<unsigned>(rows, s);
    float *dx = rc_dup(x, nq, s);
    short *dq = rc_dalloc<short>(nq, s);
    int *dxl = rc_dup(xl, nl, s);
    long long *dl = rc_dalloc<long long>(nl, s);
    RC_LAUNCH(tmpl_dot8_u32, rc_div_up(rows, 128), 128, 0, s, da, db, dd, rows);
    rc_occupancy(tmpl_map_quantize, 0, 1024, nq, &grid, &block);   // grid-stride maps
    RC_LAUNCH(tmpl_map_quantize, grid, block, 0, s, dx, dq, nq, scale);
    rc_occupancy(tmpl_map_lambda, 0, 256, nl, &grid, &block);
    RC_LAUNCH(tmpl_map_lambda, grid, block, 0, s, dxl, dl, nl, k);
    unsigned *gd = rc_get(dd, rows, s);
    short *gq = rc_get(dq, nq, s);
    long long *gl = rc_get(dl, nl, s);
    rc_free(da, s); rc_free(db, s); rc_free(dd, s); rc_free(dx, s); rc_free(dq, s); rc_free(dxl, s); rc_free(dl, s);
    rc_verify(s, "tmpl_dot8_u32 / tmpl_map_quantize / tmpl_map_lambda", [=] {
        std::vector<unsigned> wd(rows);
        std::vector<short> wq(nq);
        std::vector<long long> wl(nl);
        for (unsigned i = 0; i < rows; i++) {
            uint32_t acc = 0;
            for (unsigned j = 0; j < 8; j++) acc += a[8 * i + j] * b[8 * i + j];
            wd[i] = acc;
        }
        for (unsigned i = 0; i < nq; i++) wq[i] = (short)lrintf(x[i] * scale);
        for (unsigned i = 0; i < nl; i++) wl[i] = (long long)xl[i] * k - 1;
        return rc_cmp_int("dot8", gd, wd.data(), rows) + rc_cmp_int("quantize", gq, wq.data(), nq) +
               rc_cmp_int("lambda", gl, wl.data(), nl);
    });
}

int main()
{
    static const rc_case_fn cases[] = {
        case_reduce_smem_f32, case_reduce_shfl_down_f32, case_reduce_shfl_xor_i32, case_reduce_lastblock_f32,
        case_scan_hs_multiblock, case_scan_blelloch, case_scan_warp_shfl, case_hist256_shared, case_hist_global,
        case_hist64_uchar4, case_bitonic_sort_kv, case_oddeven_sort_f32, case_cg_tile_reduce, case_cg_tile16,
        case_cg_coalesced, case_cg_tile_scan, case_tmpl_reduce, case_tmpl_dot8_and_maps,
    };
    return rc_main("rt_corpus_parallel", cases, sizeof cases / sizeof *cases, 3, 23);
}
