/* corpus_ref_lang.c: inputs and references of the language-feature corpus cases (calls.cu,
 * recursion.cu, fnptr.cu, dynsmem.cu, sync.cu, constmem.cu), shared by tests/emu/test_corpus_lang.c
 * and tests/rt/rt_corpus_lang.cu (corpus_ref.h says how). */
#include "corpus_ref.h"
#include <math.h>
#include <string.h>

/* ---- calls and recursion ----------------------------------------------------------------------- */

void cref_calls_noinline_want(const int32_t *in, const float coef[8], float *wfo, int32_t *wio, double *wd, int64_t *wl,
                              unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        int v = in[i];
        float x = (float)(v % 100) * 0.01f, r = 0.0f;
        for (int k = 7; k >= 0; --k) r = fmaf(r, x, coef[k]);
        wfo[i] = r + x * 0.5f;
        wio[2 * i] = v * 3 - 7 + v / 10;
        wio[2 * i + 1] = v % 10;
        wd[i] = (double)v * 1.25;
        {
            int a = v, b = v + 1, c = v - 2, d = v * 3, e = v >> 1, f = v & 7, g = -v, h = 42;
            int64_t ii = (int64_t)((uint64_t)(int64_t)v << 20);
            double j = (double)x * 10.0;
            unsigned char l = (unsigned char)v;
            wl[i] = a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * ii + (int64_t)(j * 2.0) +
                    (int64_t)x + 11 * (int64_t)l;
        }
    }
}

static int cref_fib(int n) { return n < 2 ? n : cref_fib(n - 1) + cref_fib(n - 2); }

void cref_fib_want(int32_t *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) want[i] = cref_fib((int)(i % 13));
}

static uint32_t cref_depth_sum(int d, int32_t seed)
{
    uint32_t buf[8], r;
    for (int k = 0; k < 8; ++k) buf[k] = (uint32_t)seed * (uint32_t)k + (uint32_t)d;
    r = buf[((uint32_t)seed + (uint32_t)d) & 7];
    if (d > 0) r += cref_depth_sum(d - 1, seed ^ (int32_t)r);
    return r;
}

void cref_recurse_local_want(const int32_t *seeds, int32_t *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) want[i] = (int32_t)cref_depth_sum((int)(i % 9), seeds[i]);
}

/* ---- indirect calls ---------------------------------------------------------------------------- */

static int32_t cref_op(int k, int32_t a, int32_t b)
{
    switch (k & 3) {
    case 0: return (int32_t)((uint32_t)a + (uint32_t)b);
    case 1: return (int32_t)((uint32_t)a - (uint32_t)b);
    case 2: return (int32_t)((uint32_t)a * (uint32_t)b);
    default: return a ^ b;
    }
}

void cref_fnptr_table_want(const int32_t *a, const int32_t *b, const int32_t *sel, int32_t *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) want[i] = cref_op(sel[i], a[i], b[i]);
}

void cref_fnptr_local_want(const int32_t *a, const int32_t *b, const int32_t *sel, int32_t *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        int k = (sel[i] & 2) ? 3 : ((sel[i] & 1) ? 1 : 2);
        want[i] = (int32_t)((uint32_t)cref_op(k, a[i], b[i]) + (uint32_t)cref_op(k, b[i], 3));
    }
}

void cref_virtual_dispatch_want(const float *dims, const int32_t *kind, float *wa, int32_t *ws, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        float d = dims[i];
        switch (kind[i] % 3) {
        case 0: wa[i] = d * 2.0f; ws[i] = 4; break;
        case 1: wa[i] = 0.5f * d * 4.0f; ws[i] = 3; break;
        default: wa[i] = 3.0f * d * d; ws[i] = 0; break;
        }
    }
}

/* ---- dynamic shared memory ----------------------------------------------------------------------- */

void cref_dynsmem_reverse_want(const int32_t *in, int32_t *want, unsigned nb, unsigned bs)
{
    for (unsigned b = 0; b < nb; b++)
        for (unsigned t = 0; t < bs; t++) want[b * bs + t] = in[b * bs + bs - 1 - t];
}

void cref_dynsmem_partition_want(const float *fin, const int32_t *iin, float *wf, int32_t *wi, unsigned nb, int nf, int ni)
{
    for (unsigned b = 0; b < nb; b++) {
        for (int k = 0; k < nf; k++) wf[b * nf + k] = fin[b * nf + nf - 1 - k] * 2.0f;
        for (int k = 0; k < ni; k++) wi[b * ni + k] = iin[b * ni + (k + 1) % ni] + (k & 63) * 3;
    }
}

void cref_dynsmem_large_want(int32_t *want, unsigned nb, int words)
{
    for (unsigned b = 0; b < nb; b++) {
        uint32_t s = 0;
        for (int k = 0; k < words; k++) s += (uint32_t)(k ^ (int)b);
        want[b] = (int32_t)s;
    }
}

/* ---- sync.cu -------------------------------------------------------------------------------------- */

void cref_sync_predicates_inputs(int32_t *in, unsigned nb, unsigned bs)
{
    cref_fill_i32(in, (size_t)nb * bs, -5, 5, 451);
    for (unsigned b = 0; b < nb; b++)
        for (unsigned t = 0; t < bs; t++) {
            int32_t *v = &in[b * bs + t];
            if (b % 4 == 0 && *v == 0) *v = 1;
            if (b % 5 == 0 && t == (b * 7) % bs) *v = 12345;
        }
}

void cref_sync_predicates_want(const int32_t *in, int32_t *want, unsigned nb, unsigned bs)
{
    for (unsigned b = 0; b < nb; b++) {
        int c = 0, a = 1, o = 0;
        for (unsigned t = 0; t < bs; t++) {
            int32_t v = in[b * bs + t];
            c += v > 0;
            a &= v != 0;
            o |= v == 12345;
        }
        want[3 * b] = c; want[3 * b + 1] = a; want[3 * b + 2] = o;
    }
}

void cref_local_array_dyn_want(const int32_t *idx, int32_t *want, float *wf, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        int arr[40], j = idx[i];
        for (int k = 0; k < 40; ++k) arr[k] = k * k + (int)i;
        arr[(j >> 12) % 40] += 1000;
        want[i] = arr[j % 40] + arr[(j >> 8) % 40];
        wf[i] = (float)(j & 7) * 0.25f + (float)((j & 7) * 5 - (int)(i & 3));
    }
}

void cref_switch_dense_inputs(int32_t *in, unsigned n)
{
    cref_fill_i32(in, n, -100000, 100000, 471);
    in[0] = 3; in[1] = 100; in[2] = 1000; in[3] = 40000; in[4] = 0x10000 + 3; in[5] = -65536 + 100;
}

void cref_switch_dense_want(const int32_t *in, int32_t *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        int32_t v = in[i], r;
        uint32_t u = (uint32_t)v;
        switch (v % 12) {
        case 0: r = (int32_t)(u * 3u); break;
        case 1: r = v + 100; break;
        case 2: r = v ^ 0x5a5a; break;
        case 3: r = -v; break;
        case 4: r = (int32_t)(u << 3); break;
        case 5: r = v >> 2; break;
        case 6: r = (int32_t)(u * u); break;
        case 7: r = 7; break;
        case 8: r = v - 8000; break;
        case 9: r = v | 0x100; break;
        case 10: r = v & 0xff; break;
        case 11: r = v / 3; break;
        default: r = -1; break;
        }
        switch (v & 0xffff) {
        case 3: want[2 * i + 1] = 1; break;
        case 100: want[2 * i + 1] = 2; break;
        case 1000: want[2 * i + 1] = 3; break;
        case 40000: want[2 * i + 1] = 4; break;
        default: want[2 * i + 1] = 0; break;
        }
        want[2 * i] = r;
    }
}

void cref_collatz_want(const int32_t *in, uint32_t *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t x = (uint32_t)in[i];
        uint32_t steps = 0, odd = 0;
        while (x != 1) {
            if (steps >= 400) break;
            ++steps;
            if ((x & 1) == 0) { x >>= 1; continue; }
            ++odd;
            x = 3 * x + 1;
        }
        want[2 * i] = steps;
        want[2 * i + 1] = odd;
    }
}

/* ---- constant memory ----------------------------------------------------------------------------- */

void cref_const_memory_want(const float *x, const float coeffs[64], const int32_t lut[256], const uint32_t *in, float *wf,
                            int32_t *wi, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        float r = 0.0f;
        for (int k = 7; k >= 0; --k) r = fmaf(r, x[i], coeffs[k]);
        wf[i] = r + coeffs[8 + (i / 256) % 56];
        wi[i] = lut[in[i] & 255] * 3 - 7;
    }
}
