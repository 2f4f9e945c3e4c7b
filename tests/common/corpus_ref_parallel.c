/* corpus_ref_parallel.c: inputs and references of the parallel-building-block corpus cases
 * (reduce.cu, scan.cu, histogram.cu, coop.cu, templates.cu), shared by
 * tests/emu/test_corpus_parallel.c and tests/rt/rt_corpus_parallel.cu (corpus_ref.h says how).
 * Float reductions reproduce the kernels' order of operations (trees simulated step by step). */
#include "corpus_ref.h"
#include <math.h>
#include <string.h>

/* ---- reductions ------------------------------------------------------------------------------ */

/* In-place simulation of `v += __shfl_down_sync(full, v, off)` for off = 16..1 over 32 lanes. */
static void cref_sim_shfl_down_sum(float v[32])
{
    for (int off = 16; off > 0; off >>= 1) {
        float t[32];
        for (int l = 0; l < 32; l++) t[l] = v[l] + (l + off < 32 ? v[l + off] : v[l]);
        memcpy(v, t, sizeof t);
    }
}

static void cref_sim_tree_f32(float *s, unsigned size)
{
    for (unsigned stride = size / 2; stride > 0; stride >>= 1)
        for (unsigned t = 0; t < stride; t++) s[t] += s[t + stride];
}

void cref_reduce_smem_f32_want(const float *in, float *want, unsigned n, unsigned grid)
{
    for (unsigned b = 0; b < grid; b++) {
        float s[256];
        for (unsigned t = 0; t < 256; t++) {
            unsigned i = b * 512 + t;
            float v = 0.0f;
            if (i < n) v = in[i];
            if (i + 256 < n) v += in[i + 256];
            s[t] = v;
        }
        cref_sim_tree_f32(s, 256);
        want[b] = s[0];
    }
}

void cref_reduce_shfl_down_f32_want(const float *in, float *want, unsigned n, unsigned grid)
{
    for (unsigned b = 0; b < grid; b++) {
        float ws[8], v[32];
        for (unsigned w = 0; w < 8; w++) {
            for (unsigned l = 0; l < 32; l++) {
                unsigned i = b * 256 + w * 32 + l;
                v[l] = i < n ? in[i] : 0.0f;
            }
            cref_sim_shfl_down_sum(v);
            ws[w] = v[0];
        }
        for (unsigned l = 0; l < 32; l++) v[l] = l < 8 ? ws[l] : 0.0f;
        cref_sim_shfl_down_sum(v);
        want[b] = v[0];
    }
}

int32_t cref_reduce_shfl_xor_i32_want(const int32_t *in, int32_t *want, unsigned n)
{
    int32_t want_total = 0;
    for (unsigned w = 0; w * 32 < n; w++) {
        int32_t s = 0;
        for (unsigned l = 0; l < 32 && w * 32 + l < n; l++) s += in[w * 32 + l];
        for (unsigned l = 0; l < 32 && w * 32 + l < n; l++) want[w * 32 + l] = s;
        want_total += s;
    }
    return want_total;
}

float cref_reduce_lastblock_f32_want(const float *in, unsigned n, unsigned grid, float *want_partial)
{
    for (unsigned b = 0; b < grid; b++) {
        float s[256];
        for (unsigned t = 0; t < 256; t++) {
            float v = 0.0f;
            for (unsigned i = b * 256 + t; i < n; i += grid * 256) v += in[i];
            s[t] = v;
        }
        cref_sim_tree_f32(s, 256);
        want_partial[b] = s[0];
    }
    {
        float s[256];
        for (unsigned t = 0; t < 256; t++) s[t] = t < grid ? 0.0f + want_partial[t] : 0.0f;
        cref_sim_tree_f32(s, 256);
        return s[0];
    }
}

/* ---- scans ------------------------------------------------------------------------------------ */

void cref_scan_hs_multiblock_want(const int32_t *in, int32_t *want, int32_t *wsums, unsigned n, unsigned nb)
{
    uint32_t acc = 0;
    for (unsigned i = 0; i < n; i++) { acc += (uint32_t)in[i]; want[i] = (int32_t)acc; }
    for (unsigned b = 0; b < nb; b++) {
        uint32_t s = 0;
        for (unsigned i = b * 256; i < (b + 1) * 256 && i < n; i++) s += (uint32_t)in[i];
        wsums[b] = (int32_t)s;
    }
}

void cref_scan_blelloch_inputs(uint32_t *in, unsigned n)
{
    cref_fill_u32(in, n, 22);
    for (unsigned i = 0; i < n; i++) in[i] %= 1000;
}

void cref_scan_blelloch_want(const uint32_t *in, uint32_t *want, uint32_t *wsums, unsigned n, unsigned nb)
{
    for (unsigned b = 0; b < nb; b++) {
        uint32_t acc = 0;
        for (unsigned i = b * 512; i < (b + 1) * 512; i++) {
            if (i < n) want[i] = acc;
            acc += i < n ? in[i] : 0;
        }
        wsums[b] = acc;
    }
}

void cref_block_incl_scan_want(const int32_t *in, int32_t *want, int32_t *wsums, unsigned n, unsigned bs)
{
    unsigned nb = (n + bs - 1) / bs;
    for (unsigned b = 0; b < nb; b++) {
        uint32_t acc = 0;
        for (unsigned i = b * bs; i < (b + 1) * bs; i++) {
            acc += i < n ? (uint32_t)in[i] : 0;
            if (i < n) want[i] = (int32_t)acc;
        }
        wsums[b] = (int32_t)acc;
    }
}

/* ---- histograms -------------------------------------------------------------------------------- */

void cref_hist256_inputs(unsigned char *data, unsigned n)
{
    cref_rng r = cref_rng_seed(31);
    for (unsigned i = 0; i < n; i++) data[i] = (cref_rand32(&r) & 1) ? 7 : (unsigned char)cref_rand32(&r);
}

void cref_hist256_want(const unsigned char *data, unsigned n, uint32_t want[256])
{
    memset(want, 0, 256 * sizeof *want);
    for (unsigned i = 0; i < n; i++) want[data[i]]++;
}

void cref_hist_global_want(const uint32_t *vals, unsigned n, unsigned nbins, uint32_t *want)
{
    memset(want, 0, nbins * sizeof *want);
    for (unsigned i = 0; i < n; i++) want[vals[i] % nbins]++;
}

void cref_hist64_inputs(unsigned char *data, unsigned n4)
{
    cref_rng r = cref_rng_seed(33);
    for (unsigned i = 0; i < n4 * 4; i++) {
        uint32_t x = cref_rand32(&r);
        /* .x bytes use few distinct bins so the per-block distinct count is interesting */
        data[i] = (i % 4 == 0) ? (unsigned char)((x % 23) * 4 + (x >> 30)) : (unsigned char)x;
    }
}

void cref_hist64_want(const unsigned char *data, unsigned n4, unsigned grid, unsigned bs, uint32_t want[64], uint32_t *wdist)
{
    memset(want, 0, 64 * sizeof *want);
    for (unsigned i = 0; i < n4 * 4; i++) want[data[i] >> 2]++;
    for (unsigned b = 0; b < grid; b++) {
        int seen[64] = { 0 };
        unsigned d = 0;
        for (unsigned t = 0; t < bs; t++)
            for (unsigned i = b * bs + t; i < n4; i += grid * bs)
                if (!seen[data[4 * i] >> 2]++) d++;
        wdist[b] = d;
    }
}

/* ---- cooperative groups ------------------------------------------------------------------------- */

void cref_cg_tile_reduce_want(const int32_t *in, int32_t *want, unsigned n, unsigned nb)
{
    for (unsigned b = 0; b < nb; b++) {
        int32_t s = 0;
        for (unsigned i = b * 256; i < (b + 1) * 256 && i < n; i++) s += in[i];
        want[b] = s;
    }
}

void cref_cg_tile16_inputs(int32_t *in, unsigned n)
{
    cref_fill_i32(in, n, -1000, 1000, 52);
    for (unsigned i = 0; i < n; i += 16)
        if ((i / 16) % 3 == 0) in[i + 5] = 950;    /* some tiles have any(v > 900) */
}

void cref_cg_tile16_want(const int32_t *in, int32_t *want, unsigned n, unsigned bs)
{
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
            int32_t *o = want + 8 * (t0 + r);
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
}

void cref_cg_coalesced_want(const int32_t *in, int32_t *want, unsigned n)
{
    for (unsigned w = 0; w < n / 32; w++) {
        uint32_t mask = 0;
        for (unsigned l = 0; l < 32; l++)
            if (in[w * 32 + l] & 1) mask |= 1u << l;
        int first = mask ? in[w * 32 + (unsigned)__builtin_ctz(mask)] : -1;
        for (unsigned l = 0; l < 32; l++) {
            int32_t *o = want + 3 * (w * 32 + l);
            if (mask >> l & 1) {
                o[0] = __builtin_popcount(mask);
                o[1] = __builtin_popcount(mask & ((1u << l) - 1u));
                o[2] = first;
            } else {
                o[0] = o[1] = o[2] = -1;
            }
        }
    }
}

void cref_cg_tile_scan_want(const int32_t *in, int32_t *wi, int32_t *we, unsigned n)
{
    for (unsigned w = 0; w < n / 32; w++) {
        int32_t acc = 0;
        for (unsigned l = 0; l < 32; l++) {
            we[w * 32 + l] = acc;
            acc += in[w * 32 + l];
            wi[w * 32 + l] = acc;
        }
    }
}

/* ---- templates --------------------------------------------------------------------------------- */

void cref_tmpl_sum_i32_want(const int32_t *in, int32_t *want, unsigned n, unsigned nb)
{
    for (unsigned b = 0; b < nb; b++) {
        uint32_t s = 0;
        for (unsigned i = b * 256; i < (b + 1) * 256 && i < n; i++) s += (uint32_t)in[i];
        want[b] = (int32_t)s;
    }
}

void cref_tmpl_max_f32_want(const float *in, float *want, unsigned n, unsigned nb)
{
    for (unsigned b = 0; b < nb; b++) {
        float m = -3.0e38f;
        for (unsigned i = b * 128; i < (b + 1) * 128 && i < n; i++) m = in[i] > m ? in[i] : m;
        want[b] = m;
    }
}

void cref_tmpl_sum_f64_want(const double *in, double *want, unsigned n, unsigned nb)
{
    for (unsigned b = 0; b < nb; b++) {   /* tree order reproduced */
        double s[64];
        for (unsigned t = 0; t < 64; t++) s[t] = b * 64 + t < n ? in[b * 64 + t] : 0.0;
        for (unsigned stride = 32; stride > 0; stride >>= 1)
            for (unsigned t = 0; t < stride; t++) s[t] += s[t + stride];
        want[b] = s[0];
    }
}

void cref_tmpl_dot8_want(const uint32_t *a, const uint32_t *b, uint32_t *want, unsigned rows)
{
    for (unsigned i = 0; i < rows; i++) {
        uint32_t acc = 0;
        for (unsigned k = 0; k < 8; k++) acc += a[8 * i + k] * b[8 * i + k];
        want[i] = acc;
    }
}

void cref_tmpl_quantize_want(const float *x, int16_t *wq, unsigned n, float scale)
{
    for (unsigned i = 0; i < n; i++) wq[i] = (int16_t)lrintf(x[i] * scale);
}

void cref_tmpl_lambda_want(const int32_t *x, int64_t *wl, unsigned n, int k)
{
    for (unsigned i = 0; i < n; i++) wl[i] = (int64_t)x[i] * k - 1;
}
