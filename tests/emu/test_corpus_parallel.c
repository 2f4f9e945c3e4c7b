/* test_corpus_parallel.c: corpus cases for parallel building blocks: reductions (reduce.cu),
 * scans (scan.cu), histograms (histogram.cu), sorting networks (sort.cu), cooperative groups
 * (coop.cu) and templated kernels (templates.cu). Each case uploads seeded random input, launches
 * many blocks and compares with a C reference (exactly where the order of operations is
 * reproduced, e.g. float trees simulated step by step). */
#include "bft.h"
#include "corpus_ref.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_RED ((1u << 16) + 100)

/* ---- reductions ------------------------------------------------------------------------------ */

BFT_CASE(reduce_smem_f32)
{
    unsigned n = N_RED, grid = bft_div_up(n, 512);
    float *in = bft_alloc(n * sizeof(float)), *got = bft_alloc(grid * sizeof(float));
    float *want = bft_alloc(grid * sizeof(float));
    bft_fill_f32(in, n, -1.0, 1.0, 11);
    CUdeviceptr din = bft_dup(in, n * sizeof(float)), dout = bft_dalloc(grid * sizeof(float));
    BFT_LAUNCH(bft_func("reduce", "reduce_smem_f32"), bft_d1(grid), bft_d1(256), 0, &din, &dout, &n);
    bft_sync();
    bft_download(got, dout, grid * sizeof(float));
    cref_reduce_smem_f32_want(in, want, n, grid);
    bft_cmp_f32("block_sums", got, want, grid, 0, 0);
}

BFT_CASE(reduce_shfl_down_f32)
{
    unsigned n = N_RED, grid = bft_div_up(n, 256);
    float *in = bft_alloc(n * sizeof(float)), *got = bft_alloc(grid * sizeof(float));
    float *want = bft_alloc(grid * sizeof(float));
    bft_fill_f32(in, n, -2.0, 2.0, 12);
    CUdeviceptr din = bft_dup(in, n * sizeof(float)), dout = bft_dalloc(grid * sizeof(float));
    BFT_LAUNCH(bft_func("reduce", "reduce_shfl_down_f32"), bft_d1(grid), bft_d1(256), 0, &din, &dout, &n);
    bft_sync();
    bft_download(got, dout, grid * sizeof(float));
    cref_reduce_shfl_down_f32_want(in, want, n, grid);
    bft_cmp_f32("block_sums", got, want, grid, 0, 0);
}

BFT_CASE(reduce_shfl_xor_i32)
{
    unsigned n = N_RED, grid = bft_div_up(n, 256);
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    int32_t total = 0, want_total;
    bft_fill_i32(in, n, -1000, 1000, 13);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 4), dtot = bft_dalloc(4);
    BFT_LAUNCH(bft_func("reduce", "reduce_shfl_xor_i32"), bft_d1(grid), bft_d1(256), 0, &din, &dout, &dtot, &n);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_download(&total, dtot, 4);
    want_total = cref_reduce_shfl_xor_i32_want(in, want, n);
    bft_cmp_i32("lane_sums", got, want, n);
    EXPECT(total == want_total, "total %d, want %d", total, want_total);
}

BFT_CASE(reduce_lastblock_f32)
{
    unsigned n = (1u << 16) + 3, grid = 64;
    float *in = bft_alloc(n * sizeof(float)), partial[64], want_partial[64], got_partial[64];
    float result = 0, result2 = 0;
    unsigned counter = 1;
    size_t csize = 0;
    bft_fill_f32(in, n, 0.0, 1.0, 14);
    CUdeviceptr din = bft_dup(in, n * sizeof(float)), dpart = bft_dalloc(sizeof partial);
    CUdeviceptr dres = bft_dalloc(sizeof(float));
    CUfunction f = bft_func("reduce", "reduce_lastblock_f32");
    CUdeviceptr dcount = bft_global("reduce", "retirement_count", &csize);
    EXPECT(csize == 4, "retirement_count size %zu", csize);
    BFT_LAUNCH(f, bft_d1(grid), bft_d1(256), 0, &din, &dpart, &dres, &n);
    bft_sync();
    bft_download(&result, dres, sizeof(float));
    bft_download(got_partial, dpart, sizeof partial);
    bft_download(&counter, dcount, 4);
    /* a second launch must see the counter reset by the first one */
    CHECK_CU(cuMemsetD8(dres, 0, 4));
    BFT_LAUNCH(f, bft_d1(grid), bft_d1(256), 0, &din, &dpart, &dres, &n);
    bft_sync();
    bft_download(&result2, dres, sizeof(float));
    partial[0] = cref_reduce_lastblock_f32_want(in, n, grid, want_partial);
    bft_cmp_f32("partial", got_partial, want_partial, grid, 0, 0);
    EXPECT(result == partial[0], "result %.9g, want %.9g", result, partial[0]);
    EXPECT(result2 == partial[0], "second launch result %.9g, want %.9g", result2, partial[0]);
    EXPECT(counter == 0, "retirement_count %u after the launch, want 0", counter);
}

/* ---- scans ------------------------------------------------------------------------------------ */

BFT_CASE(scan_hs_multiblock)
{
    unsigned n = (1u << 16) + 37, nb = bft_div_up(n, 256);
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    int32_t *gsums = bft_alloc(nb * 4), *wsums = bft_alloc(nb * 4);
    CUdeviceptr null_ptr = 0;
    bft_fill_i32(in, n, -100, 100, 21);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 4);
    CUdeviceptr dsums = bft_dalloc(nb * 4), doffs = bft_dalloc(nb * 4);
    BFT_LAUNCH(bft_func("scan", "scan_hs_incl_i32"), bft_d1(nb), bft_d1(256), 2 * 256 * 4, &din, &dout, &dsums, &n);
    BFT_LAUNCH(bft_func("scan", "scan_blelloch_excl_u32"), bft_d1(1), bft_d1(256), 0, &dsums, &doffs, &null_ptr, &nb);
    BFT_LAUNCH(bft_func("scan", "scan_add_offsets_i32"), bft_d1(nb), bft_d1(256), 0, &dout, &doffs, &n);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_download(gsums, dsums, nb * 4);
    cref_scan_hs_multiblock_want(in, want, wsums, n, nb);
    bft_cmp_i32("block_sums", gsums, wsums, nb);
    bft_cmp_i32("scan", got, want, n);
}

BFT_CASE(scan_blelloch_excl_u32)
{
    unsigned n = (1u << 16) + 5, nb = bft_div_up(n, 512);
    uint32_t *in = bft_alloc(n * 4), *got = bft_alloc(n * 4), *want = bft_alloc(n * 4);
    uint32_t *gsums = bft_alloc(nb * 4), *wsums = bft_alloc(nb * 4);
    cref_scan_blelloch_inputs(in, n);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 4), dsums = bft_dalloc(nb * 4);
    BFT_LAUNCH(bft_func("scan", "scan_blelloch_excl_u32"), bft_d1(nb), bft_d1(256), 0, &din, &dout, &dsums, &n);
    bft_sync();
    bft_download(got, dout, n * 4);
    bft_download(gsums, dsums, nb * 4);
    cref_scan_blelloch_want(in, want, wsums, n, nb);
    bft_cmp_u32("scan", got, want, n);
    bft_cmp_u32("block_sums", gsums, wsums, nb);
}

static void check_block_incl_scan(const char *what, const int32_t *in, const int32_t *got, const int32_t *gsums,
                                  unsigned n, unsigned bs)
{
    unsigned nb = bft_div_up(n, bs);
    int32_t *want = bft_alloc(n * 4), *wsums = bft_alloc(nb * 4);
    cref_block_incl_scan_want(in, want, wsums, n, bs);
    bft_cmp_i32(what, got, want, n);
    bft_cmp_i32("block_sums", gsums, wsums, nb);
}

BFT_CASE(scan_warp_shfl_incl_i32)
{
    static const unsigned sizes[2][2] = { { (1u << 16) + 77, 512 }, { 5000, 96 } };
    for (int k = 0; k < 2; k++) {
        unsigned n = sizes[k][0], bs = sizes[k][1], nb = bft_div_up(n, bs);
        int32_t *in = bft_alloc(n * 4), *got = bft_alloc(n * 4), *gsums = bft_alloc(nb * 4);
        bft_fill_i32(in, n, -50, 50, 23 + (uint64_t)k);
        CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 4), dsums = bft_dalloc(nb * 4);
        BFT_LAUNCH(bft_func("scan", "scan_warp_shfl_incl_i32"), bft_d1(nb), bft_d1(bs), 0, &din, &dout, &dsums, &n);
        bft_sync();
        bft_download(got, dout, n * 4);
        bft_download(gsums, dsums, nb * 4);
        check_block_incl_scan(k ? "scan(block 96)" : "scan(block 512)", in, got, gsums, n, bs);
    }
}

/* ---- histograms -------------------------------------------------------------------------------- */

BFT_CASE(hist256_shared)
{
    unsigned n = 1u << 18;
    unsigned char *data = bft_alloc(n);
    uint32_t got[256], want[256];
    cref_hist256_inputs(data, n);
    cref_hist256_want(data, n, want);
    CUdeviceptr dd = bft_dup(data, n), dbins = bft_dalloc(sizeof got);
    BFT_LAUNCH(bft_func("histogram", "hist256_shared"), bft_d1(64), bft_d1(256), 0, &dd, &n, &dbins);
    bft_sync();
    bft_download(got, dbins, sizeof got);
    bft_cmp_u32("bins", got, want, 256);
}

BFT_CASE(hist_global)
{
    unsigned n = 1u << 16, nbins = 37;
    uint32_t *vals = bft_alloc(n * 4), got[37], want[37];
    bft_fill_u32(vals, n, 32);
    cref_hist_global_want(vals, n, nbins, want);
    CUdeviceptr dv = bft_dup(vals, n * 4), dbins = bft_dalloc(sizeof got);
    BFT_LAUNCH(bft_func("histogram", "hist_global"), bft_d1(bft_div_up(n, 256)), bft_d1(256), 0, &dv, &n, &nbins, &dbins);
    bft_sync();
    bft_download(got, dbins, sizeof got);
    bft_cmp_u32("bins", got, want, nbins);
}

BFT_CASE(hist64_uchar4)
{
    unsigned n4 = 1u << 15, grid = 48, bs = 128;
    unsigned char *data = bft_alloc(n4 * 4);
    uint32_t got[64], want[64], gdist[48], wdist[48];
    cref_hist64_inputs(data, n4);
    cref_hist64_want(data, n4, grid, bs, want, wdist);
    CUdeviceptr dd = bft_dup(data, n4 * 4), dbins = bft_dalloc(sizeof got), ddist = bft_dalloc(sizeof gdist);
    BFT_LAUNCH(bft_func("histogram", "hist64_uchar4"), bft_d1(grid), bft_d1(bs), 0, &dd, &n4, &dbins, &ddist);
    bft_sync();
    bft_download(got, dbins, sizeof got);
    bft_download(gdist, ddist, sizeof gdist);
    bft_cmp_u32("bins", got, want, 64);
    bft_cmp_u32("block_distinct", gdist, wdist, grid);
}

/* ---- sorting ----------------------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_f32(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static void run_bitonic(unsigned nblocks, unsigned dir, uint64_t seed)
{
    unsigned n = nblocks * 1024;
    uint32_t *keys = bft_alloc(n * 4), *vals = bft_alloc(n * 4), *gk = bft_alloc(n * 4), *gv = bft_alloc(n * 4);
    uint32_t *sorted = bft_alloc(n * 4);
    unsigned char *seen = bft_alloc(1024);
    size_t bad_pairs = 0;
    bft_fill_u32(keys, n, seed);
    for (unsigned i = 0; i < n; i++) { keys[i] %= 5000; vals[i] = i; }
    CUdeviceptr dk = bft_dup(keys, n * 4), dv = bft_dup(vals, n * 4);
    BFT_LAUNCH(bft_func("sort", "bitonic_sort_kv"), bft_d1(nblocks), bft_d1(512), 0, &dk, &dv, &dir);
    bft_sync();
    bft_download(gk, dk, n * 4);
    bft_download(gv, dv, n * 4);
    memcpy(sorted, keys, n * 4);
    for (unsigned b = 0; b < nblocks; b++) {
        qsort(sorted + b * 1024, 1024, 4, cmp_u32);
        if (!dir)
            for (unsigned i = 0; i < 512; i++) {
                uint32_t t = sorted[b * 1024 + i];
                sorted[b * 1024 + i] = sorted[b * 1024 + 1023 - i];
                sorted[b * 1024 + 1023 - i] = t;
            }
        memset(seen, 0, 1024);
        for (unsigned i = b * 1024; i < (b + 1) * 1024; i++) {
            uint32_t v = gv[i];
            if (v < b * 1024 || v >= (b + 1) * 1024 || seen[v - b * 1024]++ || keys[v] != gk[i]) bad_pairs++;
        }
    }
    bft_cmp_u32(dir ? "keys(ascending)" : "keys(descending)", gk, sorted, n);
    EXPECT(bad_pairs == 0, "%zu values are not the permutation that goes with the keys", bad_pairs);
}

BFT_CASE(bitonic_sort_kv)
{
    run_bitonic(32, 1, 41);
    run_bitonic(4, 0, 42);
}

BFT_CASE(oddeven_sort_f32)
{
    unsigned nb = 64, n = nb * 64;
    float *d = bft_alloc(n * 4), *got = bft_alloc(n * 4);
    bft_fill_f32(d, n, -100.0, 100.0, 43);
    CUdeviceptr dd = bft_dup(d, n * 4);
    BFT_LAUNCH(bft_func("sort", "oddeven_sort_f32"), bft_d1(nb), bft_d1(64), 0, &dd);
    bft_sync();
    bft_download(got, dd, n * 4);
    for (unsigned b = 0; b < nb; b++) qsort(d + b * 64, 64, 4, cmp_f32);
    bft_cmp_f32("sorted", got, d, n, 0, 0);
}

/* ---- cooperative groups ------------------------------------------------------------------------- */

BFT_CASE(cg_tile_reduce)
{
    unsigned n = (1u << 16) + 9, nb = bft_div_up(n, 256);
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc(nb * 4), *want = bft_alloc(nb * 4);
    bft_fill_i32(in, n, -1000, 1000, 51);
    cref_cg_tile_reduce_want(in, want, n, nb);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(nb * 4);
    BFT_LAUNCH(bft_func("coop", "cg_tile_reduce"), bft_d1(nb), bft_d1(256), 0, &din, &dout, &n);
    bft_sync();
    bft_download(got, dout, nb * 4);
    bft_cmp_i32("block_sums", got, want, nb);
}

BFT_CASE(cg_tile16)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc(n * 32), *want = bft_alloc(n * 32);
    cref_cg_tile16_inputs(in, n);
    cref_cg_tile16_want(in, want, n, bs);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 32);
    BFT_LAUNCH(bft_func("coop", "cg_tile16"), bft_d1(nb), bft_d1(bs), 0, &din, &dout);
    bft_sync();
    bft_download(got, dout, n * 32);
    bft_cmp_i32("tile16 results (8 per thread)", got, want, n * 8);
}

BFT_CASE(cg_coalesced)
{
    unsigned nb = 64, bs = 128, n = nb * bs;
    int32_t *in = bft_alloc(n * 4), *got = bft_alloc(n * 12), *want = bft_alloc(n * 12);
    bft_fill_i32(in, n, -1000, 1000, 53);
    cref_cg_coalesced_want(in, want, n);
    CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(n * 12);
    BFT_LAUNCH(bft_func("coop", "cg_coalesced"), bft_d1(nb), bft_d1(bs), 0, &din, &dout);
    bft_sync();
    bft_download(got, dout, n * 12);
    bft_cmp_i32("size/rank/first", got, want, n * 3);
}

BFT_CASE(cg_tile_scan)
{
    unsigned nb = 64, bs = 256, n = nb * bs;
    int32_t *in = bft_alloc(n * 4), *gi = bft_alloc(n * 4), *ge = bft_alloc(n * 4);
    int32_t *wi = bft_alloc(n * 4), *we = bft_alloc(n * 4);
    bft_fill_i32(in, n, -100, 100, 54);
    cref_cg_tile_scan_want(in, wi, we, n);
    CUdeviceptr din = bft_dup(in, n * 4), di = bft_dalloc(n * 4), de = bft_dalloc(n * 4);
    BFT_LAUNCH(bft_func("coop", "cg_tile_scan"), bft_d1(nb), bft_d1(bs), 0, &din, &di, &de);
    bft_sync();
    bft_download(gi, di, n * 4);
    bft_download(ge, de, n * 4);
    bft_cmp_i32("inclusive", gi, wi, n);
    bft_cmp_i32("exclusive", ge, we, n);
}

/* ---- templates --------------------------------------------------------------------------------- */

BFT_CASE(tmpl_reduce)
{
    unsigned n = (1u << 16) + 11;
    /* int sum, block 256 */
    {
        unsigned nb = bft_div_up(n, 256);
        int32_t *in = bft_alloc(n * 4), *got = bft_alloc(nb * 4), *want = bft_alloc(nb * 4);
        bft_fill_i32(in, n, -100000, 100000, 61);
        cref_tmpl_sum_i32_want(in, want, n, nb);
        CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(nb * 4);
        BFT_LAUNCH(bft_func("templates", "tmpl_reduce_sum_i32"), bft_d1(nb), bft_d1(256), 0, &din, &dout, &n);
        bft_sync();
        bft_download(got, dout, nb * 4);
        bft_cmp_i32("sum_i32", got, want, nb);
    }
    /* float max, block 128 */
    {
        unsigned nb = bft_div_up(n, 128);
        float *in = bft_alloc(n * 4), *got = bft_alloc(nb * 4), *want = bft_alloc(nb * 4);
        bft_fill_f32(in, n, -1000.0, 1000.0, 62);
        cref_tmpl_max_f32_want(in, want, n, nb);
        CUdeviceptr din = bft_dup(in, n * 4), dout = bft_dalloc(nb * 4);
        BFT_LAUNCH(bft_func("templates", "tmpl_reduce_max_f32"), bft_d1(nb), bft_d1(128), 0, &din, &dout, &n);
        bft_sync();
        bft_download(got, dout, nb * 4);
        bft_cmp_f32("max_f32", got, want, nb, 0, 0);
    }
    /* double sum, block 64, tree order reproduced */
    {
        unsigned nb = bft_div_up(n, 64);
        double *in = bft_alloc(n * 8), *got = bft_alloc(nb * 8), *want = bft_alloc(nb * 8);
        bft_fill_f64(in, n, -1.0, 1.0, 63);
        cref_tmpl_sum_f64_want(in, want, n, nb);
        CUdeviceptr din = bft_dup(in, n * 8), dout = bft_dalloc(nb * 8);
        BFT_LAUNCH(bft_func("templates", "tmpl_reduce_sum_f64"), bft_d1(nb), bft_d1(64), 0, &din, &dout, &n);
        bft_sync();
        bft_download(got, dout, nb * 8);
        bft_cmp_f64("sum_f64", got, want, nb, 0, 0);
    }
}

BFT_CASE(tmpl_dot8_and_maps)
{
    unsigned rows = 1u << 14;
    uint32_t *a = bft_alloc(rows * 32), *b = bft_alloc(rows * 32), *got = bft_alloc(rows * 4), *want = bft_alloc(rows * 4);
    bft_fill_u32(a, rows * 8, 64);
    bft_fill_u32(b, rows * 8, 65);
    cref_tmpl_dot8_want(a, b, want, rows);
    CUdeviceptr da = bft_dup(a, rows * 32), db = bft_dup(b, rows * 32), dout = bft_dalloc(rows * 4);
    BFT_LAUNCH(bft_func("templates", "tmpl_dot8_u32"), bft_d1(bft_div_up(rows, 128)), bft_d1(128), 0, &da, &db, &dout, &rows);
    bft_sync();
    bft_download(got, dout, rows * 4);
    bft_cmp_u32("dot8", got, want, rows);

    {
        unsigned n = (1u << 16) + 3;
        float scale = 1000.0f;
        float *x = bft_alloc(n * 4);
        int16_t *gq = bft_alloc(n * 2), *wq = bft_alloc(n * 2);
        bft_fill_f32(x, n, -1.0, 1.0, 66);
        cref_tmpl_quantize_want(x, wq, n, scale);
        CUdeviceptr dx = bft_dup(x, n * 4), dq = bft_dalloc(n * 2);
        BFT_LAUNCH(bft_func("templates", "tmpl_map_quantize"), bft_d1(40), bft_d1(128), 0, &dx, &dq, &n, &scale);
        bft_sync();
        bft_download(gq, dq, n * 2);
        bft_cmp_int("quantize", gq, wq, n, 2, 1);
    }
    {
        unsigned n = 50000;
        int k = -77;
        int32_t *x = bft_alloc(n * 4);
        int64_t *gl = bft_alloc(n * 8), *wl = bft_alloc(n * 8);
        bft_fill_i32(x, n, -2000000000, 2000000000, 67);
        cref_tmpl_lambda_want(x, wl, n, k);
        CUdeviceptr dx = bft_dup(x, n * 4), dl = bft_dalloc(n * 8);
        BFT_LAUNCH(bft_func("templates", "tmpl_map_lambda"), bft_d1(64), bft_d1(96), 0, &dx, &dl, &n, &k);
        bft_sync();
        bft_download(gl, dl, n * 8);
        bft_cmp_i64("lambda", gl, wl, n);
    }
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
