/* corpus_ref_warp.c: inputs and references of the warp-level and atomic corpus cases (warp.cu,
 * atomics.cu, atomics_cas16.cu), shared by tests/emu/test_corpus_warp.c and
 * tests/rt/rt_corpus_warp.cu (corpus_ref.h says how). References are computed per warp; atomics are
 * checked through order-independent results (sums, extrema, permutations of returned old values). */
#include "corpus_ref.h"
#include <limits.h>
#include <math.h>
#include <string.h>

#define CREF_FULL 0xffffffffu

/* ---- votes and match --------------------------------------------------------------------------- */

void cref_warp_vote_inputs(uint32_t *in, unsigned n)
{
    cref_fill_u32(in, n, 301);
    for (unsigned w = 0; w < n / 32; w++) {
        for (unsigned l = 0; l < 32; l++) {
            uint32_t *v = &in[w * 32 + l];
            if (w % 3 == 0) *v |= 2;                       /* all lanes: __all_sync true */
            if ((*v & 0xff) == 0) *v |= 0x10;              /* no accidental zero bytes ... */
        }
        if (w % 4 == 1) in[w * 32 + w % 32] &= ~0xffu;     /* ... except one lane in some warps */
        if (w % 3 == 1) in[w * 32 + 5] &= ~2u;             /* these warps certainly fail __all */
    }
}

void cref_warp_vote_want(const uint32_t *in, uint32_t *want, unsigned n)
{
    for (unsigned w = 0; w < n / 32; w++) {
        uint32_t ballot = 0, all = 1, any = 0;
        for (unsigned l = 0; l < 32; l++) {
            uint32_t v = in[w * 32 + l];
            if (v & 1) ballot |= 1u << l;
            if (!(v & 2)) all = 0;
            if ((v & 0xff) == 0) any = 1;
        }
        for (unsigned l = 0; l < 32; l++) {
            uint32_t *o = want + 4 * (w * 32 + l);
            o[0] = ballot; o[1] = all; o[2] = any; o[3] = CREF_FULL;
        }
    }
}

void cref_warp_match_inputs(uint32_t *in, unsigned n)
{
    cref_rng r = cref_rng_seed(302);
    for (unsigned i = 0; i < n; i++) {
        unsigned w = i / 32;
        in[i] = (w % 2 == 0) ? 5000 + cref_rand32(&r) % 1000 : cref_rand32(&r) % 100000;
    }
}

void cref_warp_match_want(const uint32_t *in, uint32_t *want, unsigned n)
{
    for (unsigned w = 0; w < n / 32; w++) {
        const uint32_t *v = in + w * 32;
        int same = 1;
        for (unsigned l = 1; l < 32; l++)
            if (v[l] / 1000 != v[0] / 1000) same = 0;
        for (unsigned l = 0; l < 32; l++) {
            uint32_t m_any = 0, m_any64 = 0;
            for (unsigned k = 0; k < 32; k++) {
                if (v[k] % 4 == v[l] % 4) m_any |= 1u << k;
                if (v[k] % 3 == v[l] % 3 && (k & 1) == (l & 1)) m_any64 |= 1u << k;
            }
            uint32_t *o = want + 4 * (w * 32 + l);
            o[0] = m_any;
            o[1] = same ? CREF_FULL : 0;
            o[2] = (uint32_t)same;
            o[3] = m_any64;
        }
    }
}

/* ---- shuffles ----------------------------------------------------------------------------------- */

void cref_warp_divergent_want(const int32_t *in, int32_t *want, unsigned n)
{
    for (unsigned w = 0; w < n / 32; w++) {
        const int32_t *v = in + w * 32;
        int32_t sum = 0, mx = INT_MIN;
        uint32_t odd = 0;
        for (unsigned l = 0; l < 16; l++) sum += v[l];
        for (unsigned l = 16; l < 32; l++) mx = v[l] > mx ? v[l] : mx;
        for (unsigned l = 0; l < 32; l++)
            if (v[l] & 1) odd |= 1u << l;
        for (unsigned l = 0; l < 32; l++) {
            int32_t *o = want + 4 * (w * 32 + l);
            o[0] = l < 16 ? sum : mx;
            o[1] = (int32_t)(l < 16 ? 0x0000ffffu : 0xffff0000u);
            o[2] = (v[l] & 1) ? v[__builtin_ctz(odd)] : -1;
            o[3] = (v[l] & 1) ? (int32_t)odd : 0;
        }
    }
}

void cref_warp_shfl_width_want(const int32_t *in, int32_t *want, double *wd, int64_t *wl, unsigned n)
{
    for (unsigned w = 0; w < n / 32; w++) {
        const int32_t *v = in + w * 32;
        for (unsigned l = 0; l < 32; l++) {
            unsigned i = w * 32 + l;
            int32_t *o = want + 4 * i;
            o[0] = v[(l & ~7u) + 3];
            o[1] = (l % 16) >= 2 ? v[l - 2] : v[l];
            o[2] = v[l ^ 5];
            o[3] = v[(l + 7) & 31];
            wd[i] = (double)v[l + 1 < 32 ? l + 1 : l] * 1.5;
            wl[i] = (int64_t)(((uint64_t)(int64_t)v[l ^ 16] << 32) | (l ^ 16));
        }
    }
}

void cref_warp_partial_block_want(const int32_t *in, uint32_t *want, unsigned nb, unsigned bs)
{
    for (unsigned b = 0; b < nb; b++)
        for (unsigned w = 0; w < 2; w++) {
            unsigned first = b * bs + w * 32, cnt = w ? 16 : 32;
            uint32_t m = w ? 0xffffu : CREF_FULL, bal = 0;
            for (unsigned l = 0; l < cnt; l++)
                if (in[first + l] & 1) bal |= 1u << l;
            for (unsigned l = 0; l < cnt; l++) {
                uint32_t *o = want + 3 * (first + l);
                o[0] = m; o[1] = bal; o[2] = (uint32_t)in[first];
            }
        }
}

/* ---- atomics ------------------------------------------------------------------------------------ */

const int32_t cref_atomics_ic[4] = { 0, 0, INT_MAX, INT_MIN };
const uint32_t cref_atomics_uc[10] = { UINT_MAX, 0, UINT_MAX, 0, 0, 0, 0, 0, 0, 0 };
const uint64_t cref_atomics_ull[6] = { 0, ULLONG_MAX, 0, ULLONG_MAX, 0, 0 };
const int64_t cref_atomics_ll[2] = { LLONG_MAX, LLONG_MIN };

static int cref_bad_atomic_value(uint32_t u)
{
    uint32_t a = u & 31, b = u % 29, c = u % 61;
    return a == 7 || a == 19 || a == 30 || b == 5 || b == 17 || c == 10 || c == 40;
}

void cref_atomics_int_inputs(int32_t *v, unsigned n)
{
    cref_rng r = cref_rng_seed(311);
    for (unsigned i = 0; i < n; i++) {
        uint32_t u = cref_rand32(&r);
        while (cref_bad_atomic_value(u)) u++;
        v[i] = (int32_t)u;
    }
}

void cref_atomics_int_want(const int32_t *v, unsigned n, int32_t wic[4], uint32_t wuc[10], uint64_t wull[6],
                           int64_t wll[2])
{
    memcpy(wic, cref_atomics_ic, sizeof cref_atomics_ic); memcpy(wuc, cref_atomics_uc, sizeof cref_atomics_uc);
    memcpy(wull, cref_atomics_ull, sizeof cref_atomics_ull); memcpy(wll, cref_atomics_ll, sizeof cref_atomics_ll);
    for (unsigned i = 0; i < n; i++) {
        int32_t x = v[i];
        uint32_t u = (uint32_t)x;
        wic[0] = (int32_t)((uint32_t)wic[0] + u);
        wic[1] = (int32_t)((uint32_t)wic[1] - u);
        if (x < wic[2]) wic[2] = x;
        if (x > wic[3]) wic[3] = x;
        if (u < wuc[0]) wuc[0] = u;
        if (u > wuc[1]) wuc[1] = u;
        wuc[2] &= ~(1u << (u % 29));
        wuc[3] |= 1u << (u & 31);
        wuc[4] ^= u;
        wuc[5] = wuc[5] >= 1000u ? 0 : wuc[5] + 1;
        wuc[6] = (wuc[6] == 0 || wuc[6] > 777u) ? 777u : wuc[6] - 1;
        wull[0] += (uint64_t)u * 12345ull;
        if ((uint64_t)u << 20 < wull[1]) wull[1] = (uint64_t)u << 20;
        if ((uint64_t)u << 20 > wull[2]) wull[2] = (uint64_t)u << 20;
        wull[3] &= ~(1ull << (u % 61));
        wull[4] |= 1ull << (u & 63);
        wull[5] ^= ((uint64_t)u << 17) | u;
        if ((int64_t)x * 100000 < wll[0]) wll[0] = (int64_t)x * 100000;
        if ((int64_t)x * 100000 > wll[1]) wll[1] = (int64_t)x * 100000;
    }
    wuc[8] = n;
}

void cref_atomics_float_want(const float *fv, unsigned n, float wf[2], double wd[4])
{
    wf[0] = -1e30f; wf[1] = 0.0f;
    wd[0] = wd[1] = wd[2] = wd[3] = 0;
    for (unsigned i = 0; i < n; i++) {
        double dx = (double)floorf(fv[i] * 4.0f) * 0.25;
        if (fv[i] > wf[0]) wf[0] = fv[i];
        wf[1] += floorf(fv[i]);
        wd[0] += dx; wd[1] += dx; wd[2] += 1.0; wd[3] += dx;
    }
}

void cref_atomics_shared_want(const int32_t *v, unsigned nb, unsigned bs, uint32_t *want, uint64_t *w64, float *wf)
{
    for (unsigned b = 0; b < nb; b++) {
        uint32_t sum = 0, inc = 0;
        int32_t mx = INT_MIN, mn = INT_MAX;
        uint64_t s64 = 0;
        float sf = 0.0f;
        for (unsigned t = 0; t < bs; t++) {
            int32_t x = v[b * bs + t];
            sum += (uint32_t)x;
            mx = x > mx ? x : mx;
            mn = x < mn ? x : mn;
            inc = inc >= 63 ? 0 : inc + 1;
            s64 += (uint64_t)(uint32_t)x << 8;
            sf += (float)(x & 15);
        }
        uint32_t *o = want + b * 8;
        o[0] = sum; o[1] = (uint32_t)mx; o[2] = (uint32_t)mn; o[3] = CREF_FULL; o[4] = 0; o[5] = bs; o[6] = inc; o[7] = 0;
        w64[b] = s64;
        wf[b] = sf;
    }
}

void cref_atomic_spinlock_want(unsigned nb, unsigned bs, uint32_t want[2])
{
    want[0] = nb * (bs / 32);
    want[1] = 0;
    for (unsigned b = 0; b < nb; b++) want[1] += b * (bs / 32);
}
