/* fatbin.c: the image decoder (see fatbin.h). Owns classifying an image (PTX text, fatbin,
 * fatbin wrapper, ELF cubin), walking fatbin containers and entries with bounds checks, zstd
 * decompression of entries, choosing the PTX arch for the device, and the errors that explain
 * why an image cannot run. The LZ4 block decoder lives in lz4.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "fatbin.h"

#define FB_HEADER_SIZE      16u
#define FB_ENTRY_MIN        64u
#define FB_ENTRY_MAX        4096u              /* entry header sizes seen: 64..128 */
#define FB_CONTAINER_MAX    ((uint64_t)1 << 32) /* a bigger container is not believed */
#define FB_PAYLOAD_MAX      ((uint64_t)1 << 30) /* nor a decompressed entry over 1 GiB */
#define FB_UNITS_MAX        4096                /* translation units behind one wrapper */
#define FB_WRAPPER_SIZE     (8 + 2 * sizeof(void *))
#define FB_UNKNOWN          SIZE_MAX            /* bytes available when size is unknown */

#define FB_KIND_PTX         1u
#define FB_KIND_ELF         2u
#define FB_KIND_LTO         8u                  /* LTO-IR: nvcc -dlto, code=lto_80 */
#define FB_FLAG_LZ4         0x2000ull
#define FB_FLAG_ZSTD        0x8000ull
#define FB_FLAG_ARCH_SPEC   0x100000ull         /* compute_90a: runs on sm_90 only */
#define FB_FLAG_FAMILY      0x200000ull         /* compute_100f: runs on sm_10x */

#define FB_ARCHS_MAX        16

typedef struct fb_entry {
    int index;               /* 0-based position in its container */
    size_t offset;           /* of the entry header, from the container start */
    unsigned kind, arch;
    uint64_t flags;
    const uint8_t *payload;
    uint64_t payload_size;   /* bytes after the header, padding included */
    uint64_t csize, dsize;   /* compressed / decompressed sizes (compressed entries) */
} fb_entry;

typedef struct fb_container {
    const uint8_t *base;     /* the fatbin header */
    const uint8_t *entries;
    size_t len;              /* bytes of entries */
} fb_container;

typedef struct fb_ctx {
    unsigned cc;             /* cc_major*10 + cc_minor */
    const uint8_t *image;
    size_t size;             /* FB_UNKNOWN when unknown */
    char *err;
    size_t errlen;
    char **ptx;              /* results */
    size_t *len;
    int count, cap;
    unsigned sass[FB_ARCHS_MAX], ptx_arch[FB_ARCHS_MAX], lto[FB_ARCHS_MAX];  /* arch*4 + variant */
    int nsass, nptx_arch, nlto;
    int sass_with_code;      /* a cubin that may hold kernels or globals */
    int units_without_fit;   /* containers whose PTX is all too new */
} fb_ctx;

/* ---- small helpers ------------------------------------------------------------------------ */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static const uint8_t *rdptr(const uint8_t *p) { const uint8_t *v; memcpy(&v, p, sizeof v); return v; }

static CUresult fb_fail(fb_ctx *c, CUresult code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static CUresult fb_fail(fb_ctx *c, CUresult code, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Compares the magic byte by byte so that a short NUL-terminated PTX string is never overread
 * (every magic byte is non-zero). */
static int has_magic(const uint8_t *p, size_t avail, uint32_t magic)
{
    for (int i = 0; i < 4; i++)
        if ((size_t)i >= avail || p[i] != ((magic >> (8 * i)) & 0xff))
            return 0;
    return 1;
}

/* Bytes available at p: bounded by the image when its size is known, else trusted. For a
 * pointer outside a known image returns 0. */
static size_t avail_at(const fb_ctx *c, const uint8_t *p)
{
    if (c->size == FB_UNKNOWN)
        return FB_UNKNOWN;
    uintptr_t lo = (uintptr_t)c->image, hi = lo + c->size, v = (uintptr_t)p;
    return v >= lo && v < hi ? hi - v : 0;
}

static unsigned variant_rank(uint64_t flags)
{
    return flags & FB_FLAG_ARCH_SPEC ? 0 : flags & FB_FLAG_FAMILY ? 1 : 2;
}

static const char *variant_suffix(unsigned rank) { return rank == 0 ? "a" : rank == 1 ? "f" : ""; }

/* Can PTX for arch (with its variant flags) run on a device of compute capability cc? */
static int ptx_fits(unsigned arch, uint64_t flags, unsigned cc)
{
    if (flags & FB_FLAG_ARCH_SPEC)
        return arch == cc;
    if (flags & FB_FLAG_FAMILY)
        return arch <= cc && arch / 10 == cc / 10;
    return arch <= cc;
}

static void note_arch(unsigned *list, int *n, unsigned key)
{
    for (int i = 0; i < *n; i++)
        if (list[i] == key)
            return;
    if (*n < FB_ARCHS_MAX)
        list[(*n)++] = key;
}

/* Display order: by arch, then sm_90 before sm_90f before sm_90a. */
static int arch_after(unsigned a, unsigned b)
{
    return a / 4 != b / 4 ? a / 4 > b / 4 : a % 4 < b % 4;
}

/* "sm_75, sm_90a" from arch*4+variant keys. */
static void format_archs(const unsigned *keys, int n, char *buf, size_t buflen)
{
    unsigned sorted[FB_ARCHS_MAX];
    memcpy(sorted, keys, n * sizeof *keys);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && arch_after(sorted[j - 1], sorted[j]); j--) {
            unsigned t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t;
        }
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < n && at < buflen; i++)
        at += snprintf(buf + at, buflen - at, "%ssm_%u%s", i ? ", " : "", sorted[i] / 4,
                       variant_suffix(sorted[i] % 4));
}

static CUresult push_result(fb_ctx *c, char *text, size_t len)
{
    if (c->count == c->cap) {
        int cap = c->cap ? c->cap * 2 : 4;
        char **p = realloc(c->ptx, cap * sizeof *p);
        if (p) c->ptx = p;
        size_t *l = p ? realloc(c->len, cap * sizeof *l) : NULL;
        if (l) c->len = l;
        if (!p || !l) {
            free(text);
            return fb_fail(c, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory collecting PTX");
        }
        c->cap = cap;
    }
    c->ptx[c->count] = text;
    c->len[c->count++] = len;
    return CUDA_SUCCESS;
}

/* ---- decompression --------------------------------------------------------------------- */

static CUresult zstd_grow(fb_ctx *c, uint8_t **buf, size_t *cap, size_t limit)
{
    size_t ncap = *cap > limit / 2 ? limit : *cap * 2;
    uint8_t *n = realloc(*buf, ncap + 1);
    if (!n)
        return fb_fail(c, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory decompressing a fatbin entry");
    *buf = n;
    *cap = ncap;
    return CUDA_SUCCESS;
}

/* Streams the frame(s) into a buffer that grows with the output actually produced, so a lying
 * decompressed size cannot make us allocate more than the data expands to (plus one byte that
 * detects overlong output). */
static CUresult zstd_run(fb_ctx *c, ZSTD_DStream *ds, const fb_entry *e, uint8_t **buf, size_t *got)
{
    size_t limit = (size_t)e->dsize + 1, cap = limit < 65536 ? limit : 65536;
    ZSTD_inBuffer in = { e->payload, (size_t)e->csize, 0 };
    CUresult rc;
    if (!(*buf = malloc(cap + 1)))
        return fb_fail(c, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory decompressing a fatbin entry");
    for (*got = 0;;) {
        if (*got == limit)
            return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                           "fatbin entry %d: zstd data decompresses to more than the %llu bytes its header says",
                           e->index, (unsigned long long)e->dsize);
        if (*got == cap && (rc = zstd_grow(c, buf, &cap, limit)) != CUDA_SUCCESS)
            return rc;
        ZSTD_outBuffer out = { *buf, cap, *got };
        size_t before_in = in.pos, r = ZSTD_decompressStream(ds, &out, &in);
        int moved = out.pos != *got || in.pos != before_in;
        *got = out.pos;
        if (ZSTD_isError(r))
            return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "fatbin entry %d: corrupt zstd data: %s",
                           e->index, ZSTD_getErrorName(r));
        if (r == 0 && in.pos == in.size)
            return CUDA_SUCCESS;
        if (!moved && out.pos < out.size)
            return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                           "fatbin entry %d: zstd data ends inside a frame (truncated)", e->index);
    }
}

static CUresult zstd_decode(fb_ctx *c, const fb_entry *e, uint8_t **out, size_t *outlen)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return fb_fail(c, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory creating a zstd stream");
    ZSTD_initDStream(ds);
    uint8_t *buf = NULL;
    size_t got = 0;
    CUresult rc = zstd_run(c, ds, e, &buf, &got);
    ZSTD_freeDStream(ds);
    if (rc == CUDA_SUCCESS && got != e->dsize)
        rc = fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                     "fatbin entry %d: zstd data decompresses to %zu bytes, its header says %llu",
                     e->index, got, (unsigned long long)e->dsize);
    if (rc != CUDA_SUCCESS) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = got;
    return CUDA_SUCCESS;
}

static CUresult lz4_decode(fb_ctx *c, const fb_entry *e, uint8_t **out, size_t *outlen)
{
    char why[160];
    /* Each input byte yields at most 255 output bytes: anything more is a lie. */
    if (e->dsize > e->csize * 255 + 32)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                       "fatbin entry %d: decompressed size %llu is impossible for %llu bytes of LZ4 data",
                       e->index, (unsigned long long)e->dsize, (unsigned long long)e->csize);
    uint8_t *buf = malloc((size_t)e->dsize + 1);
    if (!buf)
        return fb_fail(c, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory decompressing a fatbin entry");
    if (emu_lz4_decompress_block(e->payload, (size_t)e->csize, buf, (size_t)e->dsize, why,
                                 sizeof why) < 0) {
        free(buf);
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "fatbin entry %d: corrupt LZ4 data: %s",
                       e->index, why);
    }
    *out = buf;
    *outlen = (size_t)e->dsize;
    return CUDA_SUCCESS;
}

/* A malloc'd copy of the entry's contents (one spare byte for a NUL). */
static CUresult entry_decode(fb_ctx *c, const fb_entry *e, uint8_t **out, size_t *outlen)
{
    if (e->flags & (FB_FLAG_LZ4 | FB_FLAG_ZSTD)) {
        if (e->dsize > FB_PAYLOAD_MAX)
            return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                           "fatbin entry %d: decompressed size %llu is absurd", e->index,
                           (unsigned long long)e->dsize);
        return e->flags & FB_FLAG_ZSTD ? zstd_decode(c, e, out, outlen) : lz4_decode(c, e, out, outlen);
    }
    uint8_t *buf = malloc((size_t)e->payload_size + 1);
    if (!buf)
        return fb_fail(c, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory copying a fatbin entry");
    memcpy(buf, e->payload, (size_t)e->payload_size);
    *out = buf;
    *outlen = (size_t)e->payload_size;
    return CUDA_SUCCESS;
}

/* ---- ELF cubins ----------------------------------------------------------------------------- */

/* The SASS arch of an ELF cubin header (64 bytes): ABI version 8 (CUDA 13) keeps it in bits
 * 8..15 of e_flags, older ABIs in bits 0..7. */
static unsigned elf_sm(const uint8_t *h)
{
    uint32_t flags = rd32(h + 48);
    return h[8] >= 8 ? (flags >> 8) & 0xff : flags & 0xff;
}

/* Section names that mean the cubin holds kernels, functions or globals. */
static int elf_name_has_code(const uint8_t *name, size_t max)
{
    static const char *const prefixes[] = { ".text.", ".nv.global", ".nv.constant" };
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t n = strlen(prefixes[i]);
        if (n <= max && memcmp(name, prefixes[i], n) == 0)
            return 1;
    }
    return 0;
}

/* 0 when the 64-bit ELF in p[0..n) provably holds no kernels and no globals (nvlink's empty
 * output); 1 otherwise, including whenever anything about it is unexpected. */
static int elf_has_code(const uint8_t *p, size_t n)
{
    if (n < 64 || !has_magic(p, n, 0x464c457fu) || p[4] != 2)
        return 1;
    uint64_t shoff = rd64(p + 0x28);
    unsigned shentsize = rd16(p + 0x3a), shnum = rd16(p + 0x3c), shstrndx = rd16(p + 0x3e);
    if (shentsize < 64 || shnum == 0 || shstrndx >= shnum || shoff > n ||
        (uint64_t)shnum * shentsize > n - shoff)
        return 1;
    const uint8_t *sh = p + shoff, *str = sh + (size_t)shstrndx * shentsize;
    uint64_t stroff = rd64(str + 0x18), strsize = rd64(str + 0x20);
    if (stroff > n || strsize > n - stroff)
        return 1;
    for (unsigned i = 0; i < shnum; i++) {
        uint32_t name = rd32(sh + (size_t)i * shentsize);
        if (name >= strsize || elf_name_has_code(p + stroff + name, (size_t)(strsize - name)))
            return 1;
    }
    return 0;
}

/* Extent of an ELF whose size is unknown: up to the end of its section header table. */
static size_t elf_extent(const uint8_t *p)
{
    uint64_t end = rd64(p + 0x28) + (uint64_t)rd16(p + 0x3c) * rd16(p + 0x3a);
    return end > FB_PAYLOAD_MAX ? 0 : (size_t)end;
}

/* ---- fatbin containers --------------------------------------------------------------------- */

static CUresult container_open(fb_ctx *c, const uint8_t *p, size_t avail, fb_container *ct)
{
    if (avail < FB_HEADER_SIZE)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "fatbin truncated: %zu bytes, its header needs %u",
                       avail, FB_HEADER_SIZE);
    if (rd32(p) != EMU_FATBIN_MAGIC)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "bad fatbin magic 0x%08x (expected 0x%08x)",
                       rd32(p), EMU_FATBIN_MAGIC);
    unsigned version = rd16(p + 4), hsize = rd16(p + 6);
    uint64_t fatsize = rd64(p + 8);
    if (version != 1)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "unsupported fatbin version %u (expected 1)", version);
    if (hsize < FB_HEADER_SIZE || hsize > FB_ENTRY_MAX)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "bad fatbin header size %u", hsize);
    if (fatsize > FB_CONTAINER_MAX)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "absurd fatbin size %llu", (unsigned long long)fatsize);
    if (avail != FB_UNKNOWN && (hsize > avail || fatsize > avail - hsize))
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                       "fatbin truncated: header says %llu bytes, only %zu available",
                       (unsigned long long)(hsize + fatsize), avail);
    ct->base = p;
    ct->entries = p + hsize;
    ct->len = (size_t)fatsize;
    return CUDA_SUCCESS;
}

static CUresult entry_check_sizes(fb_ctx *c, fb_entry *e)
{
    int lz4 = (e->flags & FB_FLAG_LZ4) != 0, zstd = (e->flags & FB_FLAG_ZSTD) != 0;
    if (lz4 && zstd)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                       "fatbin entry %d at offset 0x%zx is flagged both LZ4 and zstd", e->index, e->offset);
    if (e->arch > 0xffff && (e->kind == FB_KIND_PTX || e->kind == FB_KIND_ELF || e->kind == FB_KIND_LTO))
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "fatbin entry %d at offset 0x%zx: absurd arch %u",
                       e->index, e->offset, e->arch);
    if ((lz4 || zstd) && (e->csize == 0 || e->csize > e->payload_size))
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                       "fatbin entry %d at offset 0x%zx: compressed size %llu does not fit its %llu-byte payload",
                       e->index, e->offset, (unsigned long long)e->csize,
                       (unsigned long long)e->payload_size);
    return CUDA_SUCCESS;
}

/* Reads the entry at *off of ct and advances *off past its payload. */
static CUresult entry_read(fb_ctx *c, const fb_container *ct, size_t *off, int index, fb_entry *e)
{
    size_t left = ct->len - *off, at = (size_t)(ct->entries - ct->base) + *off;
    const uint8_t *h = ct->entries + *off;
    if (left < FB_ENTRY_MIN)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                       "fatbin entry %d at offset 0x%zx truncated: %zu bytes left, a header needs %u",
                       index, at, left, FB_ENTRY_MIN);
    uint32_t hsize = rd32(h + 4);
    uint64_t psize = rd64(h + 8);
    if (hsize < FB_ENTRY_MIN || hsize > FB_ENTRY_MAX || hsize > left)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "fatbin entry %d at offset 0x%zx: bad header size %u",
                       index, at, hsize);
    if (psize > left - hsize)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                       "fatbin entry %d at offset 0x%zx: payload of %llu bytes overruns the fatbin (%zu left)",
                       index, at, (unsigned long long)psize, left - hsize);
    *e = (fb_entry){ .index = index, .offset = at, .kind = rd16(h), .arch = rd32(h + 28),
                     .flags = rd64(h + 40), .payload = h + hsize, .payload_size = psize,
                     .csize = rd32(h + 16), .dsize = rd64(h + 56) };
    *off += hsize + (size_t)psize;
    return entry_check_sizes(c, e);
}

typedef CUresult (*entry_fn)(fb_ctx *c, const fb_entry *e, void *arg);

/* Calls fn for every entry; validates every header on the way. */
static CUresult for_each_entry(fb_ctx *c, const fb_container *ct, entry_fn fn, void *arg)
{
    size_t off = 0;
    for (int i = 0; off < ct->len; i++) {
        fb_entry e;
        CUresult rc = entry_read(c, ct, &off, i, &e);
        if (rc == CUDA_SUCCESS && fn)
            rc = fn(c, &e, arg);
        if (rc != CUDA_SUCCESS)
            return rc;
    }
    return CUDA_SUCCESS;
}

typedef struct scan_result {
    int nptx;                /* PTX entries */
    int best;                /* best arch*4+variant that fits, -1 when none */
} scan_result;

static CUresult scan_entry(fb_ctx *c, const fb_entry *e, void *arg)
{
    scan_result *s = arg;
    unsigned key = e->arch * 4 + variant_rank(e->flags);
    if (e->kind == FB_KIND_ELF)
        note_arch(c->sass, &c->nsass, key);
    if (e->kind == FB_KIND_LTO)
        note_arch(c->lto, &c->nlto, key);
    if (e->kind != FB_KIND_PTX)
        return CUDA_SUCCESS;
    s->nptx++;
    note_arch(c->ptx_arch, &c->nptx_arch, key);
    if (ptx_fits(e->arch, e->flags, c->cc) && (int)key > s->best)
        s->best = (int)key;
    return CUDA_SUCCESS;
}

/* Turns decoded PTX bytes into a NUL-terminated string: trailing NUL padding goes, an embedded
 * NUL followed by more text is an error. */
static CUresult ptx_finish(fb_ctx *c, const fb_entry *e, uint8_t *buf, size_t n)
{
    while (n > 0 && buf[n - 1] == 0)
        n--;
    const uint8_t *nul = memchr(buf, 0, n);
    size_t at = nul ? (size_t)(nul - buf) : 0;
    if (nul || n == 0) {
        free(buf);
        return nul ? fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                             "fatbin entry %d: PTX text has a NUL byte at offset %zu", e->index, at)
                   : fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "fatbin entry %d: PTX text is empty", e->index);
    }
    buf[n] = 0;
    return push_result(c, (char *)buf, n);
}

static CUresult take_entry(fb_ctx *c, const fb_entry *e, void *arg)
{
    int best = *(int *)arg;
    if (e->kind != FB_KIND_PTX || (int)(e->arch * 4 + variant_rank(e->flags)) != best)
        return CUDA_SUCCESS;
    uint8_t *buf;
    size_t n;
    CUresult rc = entry_decode(c, e, &buf, &n);
    return rc == CUDA_SUCCESS ? ptx_finish(c, e, buf, n) : rc;
}

static CUresult elf_entry_empty(fb_ctx *c, const fb_entry *e, void *arg)
{
    (void)arg;
    if (e->kind != FB_KIND_ELF || c->sass_with_code)
        return CUDA_SUCCESS;
    uint8_t *buf;
    size_t n;
    CUresult rc = entry_decode(c, e, &buf, &n);
    if (rc != CUDA_SUCCESS)
        return rc;
    c->sass_with_code = elf_has_code(buf, n);
    free(buf);
    return CUDA_SUCCESS;
}

/* Collects the PTX of the best arch from one fatbin (one translation unit, or several linked). */
static CUresult container_collect(fb_ctx *c, const uint8_t *p, size_t avail)
{
    fb_container ct = { 0 };
    scan_result s = { 0, -1 };
    CUresult rc = container_open(c, p, avail, &ct);
    if (rc == CUDA_SUCCESS)
        rc = for_each_entry(c, &ct, scan_entry, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (s.nptx > 0 && s.best < 0)
        c->units_without_fit++;
    if (s.best >= 0)
        return for_each_entry(c, &ct, take_entry, &s.best);
    return s.nptx == 0 ? for_each_entry(c, &ct, elf_entry_empty, NULL) : CUDA_SUCCESS;
}

/* ---- image kinds ---------------------------------------------------------------------------- */

/* Length of the UTF-8 sequence at p[0..n), or 0 when it is not valid text (control characters
 * other than whitespace, DEL, bad or truncated sequences). Overlong forms are not worth policing. */
static size_t text_char(const uint8_t *p, size_t n)
{
    uint8_t b = p[0];
    if (b < 0x80)
        return (b >= 0x20 && b != 0x7f) || (b >= '\t' && b <= '\r') ? 1 : 0;
    size_t len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

static CUresult collect_ptx_text(fb_ctx *c, const uint8_t *p)
{
    size_t n = c->size == FB_UNKNOWN ? strlen((const char *)p) : strnlen((const char *)p, c->size);
    if (n == 0)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "image is empty");
    for (size_t i = 0, k; i < n; i += k)
        if ((k = text_char(p + i, n - i)) == 0)
            return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                           "image is not PTX text, a fatbin, a fatbin wrapper or an ELF cubin "
                           "(byte 0x%02x at offset %zu)", p[i], i);
    char *t = malloc(n + 1);
    if (!t)
        return fb_fail(c, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory copying PTX text");
    memcpy(t, p, n);
    t[n] = 0;
    return push_result(c, t, n);
}

static CUresult collect_cubin(fb_ctx *c, const uint8_t *p)
{
    size_t n = c->size;
    if (n != FB_UNKNOWN && n < 64)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "ELF image truncated: %zu bytes, its header needs 64", n);
    /* a CUDA cubin is a 64-bit little-endian ELF for machine EM_CUDA (190) */
    if (p[4] != 2 || p[5] != 1 || rd16(p + 18) != 190)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "ELF image is not a CUDA cubin (class %u, data %u, machine %u)",
                       p[4], p[5], rd16(p + 18));
    if (n == FB_UNKNOWN)
        n = elf_extent(p);
    note_arch(c->sass, &c->nsass, elf_sm(p) * 4 + 2);
    c->sass_with_code = elf_has_code(p, n);
    return CUDA_SUCCESS;
}

/* A pointer read from a wrapper: with a known size it must point inside the image. */
static CUresult wrapper_target(fb_ctx *c, const uint8_t *slot, const char *what, const uint8_t **out,
                               size_t *avail)
{
    const uint8_t *t = rdptr(slot);
    if (!t)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "fatbin wrapper's %s pointer is NULL", what);
    *avail = avail_at(c, t);
    if (*avail == 0)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                       "fatbin wrapper's %s pointer lies outside the %zu-byte image", what, c->size);
    *out = t;
    return CUDA_SUCCESS;
}

/* Version 2 (nvlink output): a NULL-terminated array of the translation units' fatbins. */
static CUresult collect_units(fb_ctx *c, const uint8_t *slot)
{
    const uint8_t *array, *fb;
    size_t avail, fbavail;
    if (!rdptr(slot))
        return CUDA_SUCCESS;
    CUresult rc = wrapper_target(c, slot, "unit array", &array, &avail);
    for (int i = 0; rc == CUDA_SUCCESS; i++) {
        const uint8_t *s = array + (size_t)i * sizeof(void *);
        if (i == FB_UNITS_MAX)
            return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                           "fatbin wrapper's unit array has more than %d entries", FB_UNITS_MAX);
        if (avail != FB_UNKNOWN && avail / sizeof(void *) <= (size_t)i)
            return fb_fail(c, CUDA_ERROR_INVALID_IMAGE,
                           "fatbin wrapper's unit array runs past the end of the image");
        if (!rdptr(s))
            return CUDA_SUCCESS;
        rc = wrapper_target(c, s, "unit", &fb, &fbavail);
        if (rc == CUDA_SUCCESS)
            rc = container_collect(c, fb, fbavail);
    }
    return rc;
}

static CUresult collect_wrapper(fb_ctx *c, const uint8_t *p)
{
    const uint8_t *fb;
    size_t avail;
    if (c->size != FB_UNKNOWN && c->size < FB_WRAPPER_SIZE)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "fatbin wrapper truncated: %zu bytes of %zu",
                       c->size, (size_t)FB_WRAPPER_SIZE);
    uint32_t version = rd32(p + 4);
    if (version != 1 && version != 2)
        return fb_fail(c, CUDA_ERROR_INVALID_IMAGE, "unsupported fatbin wrapper version %u (expected 1 or 2)",
                       version);
    CUresult rc = wrapper_target(c, p + 8, "data", &fb, &avail);
    if (rc == CUDA_SUCCESS)
        rc = container_collect(c, fb, avail);
    if (rc == CUDA_SUCCESS && version == 2)
        rc = collect_units(c, p + 8 + sizeof(void *));
    return rc;
}

/* ---- the outcome ------------------------------------------------------------------------------ */

static CUresult empty_module(fb_ctx *c)
{
    unsigned target = c->cc;
    for (int i = 0; i < c->nsass; i++)
        if (c->sass[i] / 4 < target)
            target = c->sass[i] / 4;
    char *t = malloc(160);
    if (!t)
        return fb_fail(c, CUDA_ERROR_OUT_OF_MEMORY, "out of host memory");
    int n = snprintf(t, 160, "// empty module: the image's cubins hold no kernels or globals\n"
                             ".version 9.0\n.target sm_%u\n.address_size 64\n", target);
    return push_result(c, t, (size_t)n);
}

/* After every container was read: explain why nothing fits, or accept the PTX found. */
static CUresult finish(fb_ctx *c)
{
    char archs[256];
    if (c->units_without_fit > 0) {
        format_archs(c->ptx_arch, c->nptx_arch, archs, sizeof archs);
        return fb_fail(c, CUDA_ERROR_NO_BINARY_FOR_GPU, "PTX for %s only, device is sm_%u", archs, c->cc);
    }
    if (c->count > 0)
        return CUDA_SUCCESS;
    if (c->nsass == 0 && c->nlto > 0) {
        format_archs(c->lto, c->nlto, archs, sizeof archs);
        return fb_fail(c, CUDA_ERROR_NO_BINARY_FOR_GPU,
                       "image has LTO-IR for %s only; the software GPU needs PTX: build with "
                       "-gencode arch=compute_%u,code=compute_%u (not code=lto_XX) or the default nvcc options",
                       archs, c->cc, c->cc);
    }
    if (c->nsass == 0)
        return fb_fail(c, CUDA_ERROR_NO_BINARY_FOR_GPU, "image holds no PTX and no SASS entries");
    if (!c->sass_with_code)
        return empty_module(c);
    format_archs(c->sass, c->nsass, archs, sizeof archs);
    return fb_fail(c, CUDA_ERROR_NO_BINARY_FOR_GPU,
                   "image has SASS for %s only; the software GPU needs PTX: build with "
                   "-gencode arch=compute_%u,code=compute_%u or the default nvcc options",
                   archs, c->cc, c->cc);
}

static void results_free(fb_ctx *c)
{
    for (int i = 0; i < c->count; i++)
        free(c->ptx[i]);
    free(c->ptx);
    free(c->len);
    c->ptx = NULL;
    c->len = NULL;
    c->count = c->cap = 0;
}

static CUresult collect(fb_ctx *c)
{
    const uint8_t *p = c->image;
    CUresult rc;
    if (!p)
        return fb_fail(c, CUDA_ERROR_INVALID_VALUE, "image is NULL");
    if (c->cc == 0 || c->cc > 0xffff)
        return fb_fail(c, CUDA_ERROR_INVALID_VALUE, "bad device compute capability %u", c->cc);
    if (has_magic(p, c->size, EMU_FATBIN_MAGIC))
        rc = container_collect(c, p, c->size);
    else if (has_magic(p, c->size, EMU_FATBIN_WRAPPER_MAGIC))
        rc = collect_wrapper(c, p);
    else if (has_magic(p, c->size, 0x464c457fu))
        rc = collect_cubin(c, p);
    else
        rc = collect_ptx_text(c, p);
    if (rc == CUDA_SUCCESS)
        rc = finish(c);
    if (rc != CUDA_SUCCESS)
        results_free(c);
    return rc;
}

static void ctx_init(fb_ctx *c, const void *image, size_t size, int cc_major, int cc_minor,
                     char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->image = image;
    c->size = size ? size : FB_UNKNOWN;
    c->cc = cc_major >= 0 && cc_minor >= 0 && cc_minor < 10 && cc_major < 1000
                ? (unsigned)(cc_major * 10 + cc_minor) : 0;
    c->err = err;
    c->errlen = errlen;
    if (err && errlen)
        err[0] = 0;
}

/* ---- API ---------------------------------------------------------------------------------- */

CUresult emu_image_get_all_ptx(const void *image, size_t size, int cc_major, int cc_minor,
                               char ***ptx_out, size_t **len_out, int *count, char *err, size_t errlen)
{
    fb_ctx c;
    ctx_init(&c, image, size, cc_major, cc_minor, err, errlen);
    *ptx_out = NULL;
    *len_out = NULL;
    *count = 0;
    CUresult rc = collect(&c);
    if (rc == CUDA_SUCCESS) {
        *ptx_out = c.ptx;
        *len_out = c.len;
        *count = c.count;
    }
    return rc;
}

CUresult emu_image_get_ptx(const void *image, size_t size, int cc_major, int cc_minor,
                           char **ptx_out, size_t *len_out, char *err, size_t errlen)
{
    fb_ctx c;
    ctx_init(&c, image, size, cc_major, cc_minor, err, errlen);
    *ptx_out = NULL;
    *len_out = 0;
    CUresult rc = collect(&c);
    if (rc == CUDA_SUCCESS && c.count > 1) {
        rc = fb_fail(&c, CUDA_ERROR_NOT_SUPPORTED,
                     "image holds PTX for %d translation units; load it with emu_image_get_all_ptx",
                     c.count);
        results_free(&c);
    }
    if (rc == CUDA_SUCCESS) {
        *ptx_out = c.ptx[0];
        *len_out = c.len[0];
        free(c.ptx);
        free(c.len);
    }
    return rc;
}

void emu_image_free_all_ptx(char **ptx, size_t *len, int count)
{
    for (int i = 0; ptx && i < count; i++)
        free(ptx[i]);
    free(ptx);
    free(len);
}
