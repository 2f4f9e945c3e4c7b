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
#include "../common/corpus_ref_parallel.c"

#define N_RED ((1u << 16) + 100)

/* ---- reductions ------------------------------------------------------------------------------ */

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
        cref_reduce_smem_f32_want(in, want.data(), n, grid);
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
        cref_reduce_shfl_down_f32_want(in, want.data(), n, grid);
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
        int want_total = cref_reduce_shfl_xor_i32_want(in, want.data(), n);
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
        total = cref_reduce_lastblock_f32_want(in, n, grid, want_partial);
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
        cref_scan_hs_multiblock_want(in, want.data(), wsums.data(), n, nb);
        return rc_cmp_int("block_sums", gsums, wsums.data(), nb) + rc_cmp_int("scan", got, want.data(), n);
    });
}

static void case_scan_blelloch(cudaStream_t s)
{
    unsigned n = (1u << 16) + 5, nb = rc_div_up(n, 512);
    uint32_t *in = rc_host<uint32_t>(n);
    cref_scan_blelloch_inputs(in, n);
    unsigned *din = rc_dup(in, n, s), *dout = rc_dalloc<unsigned>(n, s), *dsums = rc_dalloc<unsigned>(nb, s);
    RC_LAUNCH(scan_blelloch_excl_u32, nb, 256, 0, s, din, dout, dsums, n);
    unsigned *got = rc_get(dout, n, s), *gsums = rc_get(dsums, nb, s);
    rc_free(din, s); rc_free(dout, s); rc_free(dsums, s);
    rc_verify(s, "scan_blelloch_excl_u32", [=] {
        std::vector<unsigned> want(n), wsums(nb);
        cref_scan_blelloch_want(in, want.data(), wsums.data(), n, nb);
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
            cref_block_incl_scan_want(in, want.data(), wsums.data(), n, bs);
            return rc_cmp_int("scan", got, want.data(), n) + rc_cmp_int("block_sums", gsums, wsums.data(), nb);
        });
    }
}

/* ---- histograms -------------------------------------------------------------------------------- */

static void case_hist256_shared(cudaStream_t s)
{
    unsigned n = 1u << 18, grid, block;
    unsigned char *data = rc_host<unsigned char>(n);
    cref_hist256_inputs(data, n);
    unsigned char *dd = rc_dup(data, n, s);
    unsigned *dbins = rc_dalloc<unsigned>(256, s);
    rc_occupancy(hist256_shared, 0, 1024, n, &grid, &block);   // grid-stride
    RC_LAUNCH_SMEM(hist256_shared, 1024, grid, block, 0, s, dd, n, dbins);
    unsigned *got = rc_get(dbins, 256, s);
    rc_free(dd, s); rc_free(dbins, s);
    rc_verify(s, "hist256_shared", [=] {
        unsigned want[256];
        cref_hist256_want(data, n, want);
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
        unsigned want[37];
        cref_hist_global_want(vals, n, nbins, want);
        return rc_cmp_int("bins", got, want, nbins);
    });
}

static void case_hist64_uchar4(cudaStream_t s)
{
    unsigned n4 = 1u << 15, grid, bs;
    unsigned char *data = rc_host<unsigned char>((size_t)n4 * 4);
    cref_hist64_inputs(data, n4);
    // grid-stride: the block size and grid come from the occupancy API (the reference follows)
    rc_occupancy(hist64_uchar4, 0, 1024, n4, &grid, &bs);
    grid = std::max(grid, 16u);
    uchar4 *dd = (uchar4 *)rc_dup(data, (size_t)n4 * 4, s);
    unsigned *dbins = rc_dalloc<unsigned>(64, s), *ddist = rc_dalloc<unsigned>(grid, s);
    RC_LAUNCH_SMEM(hist64_uchar4, 2 * 64 * 4 + 4, grid, bs, 0, s, dd, n4, dbins, ddist);
    unsigned *got = rc_get(dbins, 64, s), *gdist = rc_get(ddist, grid, s);
    rc_free((unsigned char *)dd, s); rc_free(dbins, s); rc_free(ddist, s);
    rc_verify(s, "hist64_uchar4", [=] {
        unsigned want[64];
        std::vector<unsigned> wdist(grid);
        cref_hist64_want(data, n4, grid, bs, want, wdist.data());
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
        cref_cg_tile_reduce_want(in, want.data(), n, nb);
        return rc_cmp_int("block_sums", got, want.data(), nb);
    });
}

static void case_cg_tile16(cudaStream_t s)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    int32_t *in = rc_host<int32_t>(n);
    cref_cg_tile16_inputs(in, n);
    int *din = rc_dup(in, n, s), *dout = rc_dalloc<int>((size_t)n * 8, s);
    RC_LAUNCH(cg_tile16, nb, bs, 0, s, din, dout);
    int *got = rc_get(dout, (size_t)n * 8, s);
    rc_free(din, s); rc_free(dout, s);
    rc_verify(s, "cg_tile16", [=] {
        std::vector<int> want((size_t)n * 8);
        cref_cg_tile16_want(in, want.data(), n, bs);
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
        cref_cg_coalesced_want(in, want.data(), n);
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
        cref_cg_tile_scan_want(in, wi.data(), we.data(), n);
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
        cref_tmpl_sum_i32_want(in1, w1.data(), n, nb1);
        cref_tmpl_max_f32_want(in2, w2.data(), n, nb2);
        cref_tmpl_sum_f64_want(in3, w3.data(), n, nb3);
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
        std::vector<int64_t> wl(nl);
        cref_tmpl_dot8_want(a, b, wd.data(), rows);
        cref_tmpl_quantize_want(x, wq.data(), nq, scale);
        cref_tmpl_lambda_want(xl, wl.data(), nl, k);
        return rc_cmp_int("dot8", gd, wd.data(), rows) + rc_cmp_int("quantize", gq, wq.data(), nq) +
               rc_cmp_int("lambda", gl, (const long long *)wl.data(), nl);
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
