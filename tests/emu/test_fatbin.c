/* test_fatbin.c: tests for the image decoder (emu/fatbin.c, emu/lz4.c), compiled in directly.
 * Self-contained: prints one line per failed check and exits non-zero on failure. Reads the
 * fixtures the Makefile builds with nvcc into $(B)/tests/fixtures (FATBIN_FIXTURES overrides the
 * directory) and pulls the fatbin wrappers out of nvcc-built executables with libelf. Besides
 * decoding, it pins down the facts the decoder relies on (which nvcc option sets which entry
 * flag) so a future nvcc that changes them fails here first. */
#include "../../emu/fatbin.c"
#include "../../emu/lz4.c"
#include <ctype.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <unistd.h>

static int failures, checks;
#define CHECK(cond, ...) do {                                                             \
        checks++;                                                                          \
        if (!(cond)) {                                                                     \
            failures++;                                                                    \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                         \
            printf(__VA_ARGS__);                                                           \
            printf("\n");                                                                  \
        }                                                                                  \
    } while (0)

/* ---- fixtures ------------------------------------------------------------------------------ */

static char fixture_dir[PATH_MAX + 32];

static void find_fixtures(void)
{
    const char *env = getenv("FATBIN_FIXTURES");
    if (env) {
        snprintf(fixture_dir, sizeof fixture_dir, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    snprintf(fixture_dir, sizeof fixture_dir, "%s/../fixtures", exe);
}

/* The file in an exactly-sized buffer (so that ASan sees any overread); extra NUL when text. */
static uint8_t *load(const char *name, size_t *size, int text)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s", fixture_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        CHECK(0, "cannot open fixture %s (build it with `make tests`)", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)n + (text ? 1 : 0) + (n == 0));
    size_t got = fread(b, 1, (size_t)n, f);
    fclose(f);
    CHECK(got == (size_t)n, "short read of %s", path);
    if (text)
        b[n] = 0;
    *size = (size_t)n;
    return b;
}

static uint8_t *dup_exact(const void *p, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    memcpy(b, p, n);
    return b;
}

/* ---- results ------------------------------------------------------------------------------- */

typedef struct res {
    CUresult rc;
    char *ptx;
    size_t len;
    char err[512];
} res;

static res get(const void *img, size_t size, int cc)
{
    res r;
    r.rc = emu_image_get_ptx(img, size, cc / 10, cc % 10, &r.ptx, &r.len, r.err, sizeof r.err);
    if (r.rc == CUDA_SUCCESS && strlen(r.ptx) != r.len) {
        CHECK(0, "returned length %zu but the text is %zu bytes", r.len, strlen(r.ptx));
    }
    if (r.rc != CUDA_SUCCESS)
        CHECK(r.ptx == NULL && r.err[0] && !strchr(r.err, '\n'), "failure must set a one-line error");
    return r;
}

static void res_free(res *r) { free(r->ptx); r->ptx = NULL; }

static res get_file(const char *name, int cc)
{
    size_t n;
    uint8_t *b = load(name, &n, 0);
    res r = { CUDA_ERROR_FILE_NOT_FOUND, NULL, 0, "fixture missing" };
    if (b)
        r = get(b, n, cc);
    free(b);
    return r;
}

/* PTX equality up to what fatbinary normalises: comments and whitespace. */
static const char *next_token(const char *p, size_t *len)
{
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        break;
    }
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]) && !(p[n] == '/' && p[n + 1] == '/'))
        n++;
    *len = n;
    return p;
}

static int ptx_same(const char *a, const char *b)
{
    for (;;) {
        size_t la, lb;
        a = next_token(a, &la);
        b = next_token(b, &lb);
        if (la != lb || memcmp(a, b, la) != 0)
            return 0;
        if (la == 0)
            return 1;
        a += la;
        b += lb;
    }
}

/* The operand of ".target" is exactly t. */
static int target_is(const char *ptx, const char *t)
{
    const char *p = ptx ? strstr(ptx, ".target ") : NULL;
    size_t n = strlen(t);
    return p && strncmp(p + 8, t, n) == 0 && (isspace((unsigned char)p[8 + n]) || p[8 + n] == ',');
}

/* ---- fatbin fields, for checking the facts ---------------------------------------------- */

typedef struct entry_info {
    size_t off;              /* of the entry header in the file */
    unsigned kind, hsize, arch;
    uint64_t psize, flags, dsize;
    uint32_t csize;
} entry_info;

static int entries(const uint8_t *fb, size_t n, entry_info *out, int max)
{
    int count = 0;
    size_t off = rd16(fb + 6), end = off + rd64(fb + 8);
    while (off + 64 <= end && end <= n && count < max) {
        entry_info *e = &out[count++];
        *e = (entry_info){ off, rd16(fb + off), rd32(fb + off + 4), rd32(fb + off + 28),
                           rd64(fb + off + 8), rd64(fb + off + 40), rd64(fb + off + 56),
                           rd32(fb + off + 16) };
        off += e->hsize + e->psize;
    }
    return count;
}

static entry_info *find_kind(entry_info *e, int n, unsigned kind)
{
    for (int i = 0; i < n; i++)
        if (e[i].kind == kind)
            return &e[i];
    return NULL;
}

/* ---- tests: PTX text ---------------------------------------------------------------------- */

static void test_ptx_text(void)
{
    size_t n;
    uint8_t *ref = load("k.ptx", &n, 1);
    if (!ref)
        return;
    res r = get(ref, 0, 80);
    CHECK(r.rc == CUDA_SUCCESS && r.len == n && memcmp(r.ptx, ref, n) == 0, "passthrough: %s", r.err);
    res_free(&r);
    uint8_t *exact = dup_exact(ref, n);          /* no NUL: the size bounds it */
    r = get(exact, n, 80);
    CHECK(r.rc == CUDA_SUCCESS && r.len == n && memcmp(r.ptx, ref, n) == 0, "sized, no NUL: %s", r.err);
    res_free(&r);
    r = get(ref, n + 1, 80);
    CHECK(r.rc == CUDA_SUCCESS && r.len == n, "sized with NUL: %s", r.err);
    res_free(&r);
    free(exact);
    free(ref);

    static const struct { const char *text; CUresult rc; } cases[] = {
        { "", CUDA_ERROR_INVALID_IMAGE },
        { "a", CUDA_SUCCESS },                       /* too short for any magic: text */
        { "\x01garbage", CUDA_ERROR_INVALID_IMAGE },
        { "ok\x7f", CUDA_ERROR_INVALID_IMAGE },
        { "// caf\xc3\xa9\n.version 7.0\n", CUDA_SUCCESS },
        { "// bad \xc3(\n", CUDA_ERROR_INVALID_IMAGE },
        { "P\xed", CUDA_ERROR_INVALID_IMAGE },       /* a fatbin cut inside its magic */
        { "\xb1\x43", CUDA_ERROR_INVALID_IMAGE },    /* a wrapper cut inside its magic */
        { "\x7f" "EL", CUDA_ERROR_INVALID_IMAGE },   /* an ELF cut inside its magic */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = strlen(cases[i].text);
        uint8_t *b = dup_exact(cases[i].text, len + 1);
        r = get(b, 0, 80);
        CHECK(r.rc == cases[i].rc, "text case %zu: rc %d (%s)", i, r.rc, r.err);
        res_free(&r);
        if (len) {
            uint8_t *s = dup_exact(cases[i].text, len);
            r = get(s, len, 80);
            CHECK(r.rc == cases[i].rc, "sized text case %zu: rc %d (%s)", i, r.rc, r.err);
            res_free(&r);
            free(s);
        }
        free(b);
    }
    r = get("\x01", 0, 80);
    CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, "not PTX text"), "%s", r.err);
}

/* ---- tests: nvcc compression modes ------------------------------------------------------ */

typedef struct mode_fact {
    const char *fixture;
    uint64_t ptx_compress, elf_compress;   /* 0, FB_FLAG_LZ4 or FB_FLAG_ZSTD */
} mode_fact;

static void check_mode_flags(const mode_fact *m)
{
    size_t n;
    entry_info e[8];
    uint8_t *b = load(m->fixture, &n, 0);
    if (!b)
        return;
    int ne = entries(b, n, e, 8);
    entry_info *ptx = find_kind(e, ne, FB_KIND_PTX), *elf = find_kind(e, ne, FB_KIND_ELF);
    uint64_t mask = FB_FLAG_LZ4 | FB_FLAG_ZSTD;
    CHECK(ptx && (ptx->flags & mask) == m->ptx_compress, "%s: PTX entry flags 0x%llx", m->fixture,
          ptx ? (unsigned long long)ptx->flags : 0ull);
    CHECK(elf && (elf->flags & mask) == m->elf_compress, "%s: ELF entry flags 0x%llx", m->fixture,
          elf ? (unsigned long long)elf->flags : 0ull);
    if (ptx && m->ptx_compress) {
        CHECK(ptx->csize <= ptx->psize && ptx->psize == ((ptx->csize + 7) & ~7ull),
              "%s: payload is the compressed size padded to 8", m->fixture);
    }
    if (m->ptx_compress == FB_FLAG_ZSTD && ptx)
        CHECK(rd32(b + ptx->off + ptx->hsize) == 0xFD2FB528u, "%s: zstd frame magic", m->fixture);
    free(b);
}

static void test_compression_modes(void)
{
    /* nvcc 13: default == balance == zstd for PTX only; size and -compress-all also compress the
     * ELF; speed is LZ4 (the nvcc 11/12 scheme); none stores both raw. */
    static const mode_fact facts[] = {
        { "k.none.fatbin", 0, 0 },
        { "k.default.fatbin", FB_FLAG_ZSTD, 0 },
        { "k.balance.fatbin", FB_FLAG_ZSTD, 0 },
        { "k.size.fatbin", FB_FLAG_ZSTD, FB_FLAG_ZSTD },
        { "k.all.fatbin", FB_FLAG_ZSTD, FB_FLAG_ZSTD },
        { "k.speed.fatbin", FB_FLAG_LZ4, 0 },
        { "k.speed_all.fatbin", FB_FLAG_LZ4, FB_FLAG_LZ4 },
        { "k.debug.fatbin", FB_FLAG_ZSTD, FB_FLAG_ZSTD },
    };
    size_t n;
    uint8_t *ref = load("k.ptx", &n, 1);
    res none = get_file("k.none.fatbin", 80);
    CHECK(none.rc == CUDA_SUCCESS, "none: %s", none.err);
    if (ref && none.rc == CUDA_SUCCESS)
        CHECK(ptx_same(none.ptx, (char *)ref), "k.none.fatbin's PTX differs from nvcc -ptx");
    for (size_t i = 0; i < sizeof facts / sizeof *facts; i++) {
        check_mode_flags(&facts[i]);
        res r = get_file(facts[i].fixture, 80);
        CHECK(r.rc == CUDA_SUCCESS, "%s: %s", facts[i].fixture, r.err);
        if (r.rc == CUDA_SUCCESS && strcmp(facts[i].fixture, "k.debug.fatbin") != 0) {
            CHECK(none.rc == CUDA_SUCCESS && r.len == none.len && memcmp(r.ptx, none.ptx, r.len) == 0,
                  "%s decodes to other bytes than k.none.fatbin", facts[i].fixture);
            CHECK(ref && ptx_same(r.ptx, (char *)ref), "%s: PTX differs from nvcc -ptx", facts[i].fixture);
        }
        if (r.rc == CUDA_SUCCESS)
            CHECK(strstr(r.ptx, ".entry fatbin_axpy(") && strstr(r.ptx, "fatbin_counter"),
                  "%s: kernel or global missing", facts[i].fixture);
        res_free(&r);
    }
    res_free(&none);
    free(ref);
}

static void test_big(void)
{
    static const char *const files[] = { "big.none.fatbin", "big.default.fatbin", "big.speed.fatbin" };
    static const uint64_t flag[] = { 0, FB_FLAG_ZSTD, FB_FLAG_LZ4 };
    size_t n;
    uint8_t *ref = load("big.ptx", &n, 1);
    for (int i = 0; i < 3; i++) {
        size_t fn;
        entry_info e[2];
        uint8_t *b = load(files[i], &fn, 0);
        if (!b)
            continue;
        int ne = entries(b, fn, e, 2);
        CHECK(ne == 1 && e[0].kind == FB_KIND_PTX && (e[0].flags & (FB_FLAG_LZ4 | FB_FLAG_ZSTD)) == flag[i],
              "%s: one PTX entry with compression flag 0x%llx", files[i], (unsigned long long)flag[i]);
        res r = get(b, fn, 80);
        CHECK(r.rc == CUDA_SUCCESS && ref && ptx_same(r.ptx, (char *)ref) && r.len > 300000,
              "%s: %s", files[i], r.err);
        res_free(&r);
        r = get(b, 0, 80);                      /* size unknown: the headers bound everything */
        CHECK(r.rc == CUDA_SUCCESS, "%s with size 0: %s", files[i], r.err);
        res_free(&r);
        free(b);
    }
    free(ref);
}

/* ---- tests: SASS and arch selection --------------------------------------------------- */

static void test_sass_only(void)
{
    static const char *const files[] = { "k.sm80.fatbin", "k.sm80.cubin" };
    for (int i = 0; i < 2; i++) {
        res r = get_file(files[i], 80);
        CHECK(r.rc == CUDA_ERROR_NO_BINARY_FOR_GPU && strstr(r.err, "SASS for sm_80 only") &&
              strstr(r.err, "code=compute_80"), "%s: rc %d: %s", files[i], r.rc, r.err);
        res_free(&r);
    }
    res r = get_file("k.lto80.fatbin", 80);
    CHECK(r.rc == CUDA_ERROR_NO_BINARY_FOR_GPU && strstr(r.err, "LTO-IR for sm_80 only"), "lto: %s", r.err);
    res_free(&r);
    size_t n;
    uint8_t *b = load("k.sm80.cubin", &n, 0);
    if (b) {
        r = get(b, 0, 86);
        CHECK(r.rc == CUDA_ERROR_NO_BINARY_FOR_GPU && strstr(r.err, "sm_80"), "cubin, size 0: %s", r.err);
        res_free(&r);
        r = get(b, 40, 80);
        CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE, "cubin cut to 40 bytes: %s", r.err);
        res_free(&r);
    }
    free(b);
}

typedef struct arch_case {
    const char *fixture;
    int cc;
    CUresult rc;
    const char *want;        /* the chosen .target, or the exact error */
} arch_case;

static void test_arch_selection(void)
{
    static const arch_case cases[] = {
        { "k.75_90.fatbin", 80, CUDA_SUCCESS, "sm_75" },
        { "k.75_90.fatbin", 89, CUDA_SUCCESS, "sm_75" },
        { "k.75_90.fatbin", 90, CUDA_SUCCESS, "sm_90" },
        { "k.75_90.fatbin", 120, CUDA_SUCCESS, "sm_90" },
        { "k.75_90.fatbin", 70, CUDA_ERROR_NO_BINARY_FOR_GPU, "PTX for sm_75, sm_90 only, device is sm_70" },
        { "k.90.fatbin", 80, CUDA_ERROR_NO_BINARY_FOR_GPU, "PTX for sm_90 only, device is sm_80" },
        { "k.90.fatbin", 90, CUDA_SUCCESS, "sm_90" },
        { "k.90a.fatbin", 90, CUDA_SUCCESS, "sm_90a" },
        { "k.90a.fatbin", 100, CUDA_ERROR_NO_BINARY_FOR_GPU, "PTX for sm_90a only, device is sm_100" },
        { "k.90_90a.fatbin", 90, CUDA_SUCCESS, "sm_90" },
        { "k.90_90a.fatbin", 86, CUDA_ERROR_NO_BINARY_FOR_GPU, "PTX for sm_90, sm_90a only, device is sm_86" },
        { "k.100f.fatbin", 100, CUDA_SUCCESS, "sm_100f" },
        { "k.100f.fatbin", 103, CUDA_SUCCESS, "sm_100f" },
        { "k.100f.fatbin", 120, CUDA_ERROR_NO_BINARY_FOR_GPU, "PTX for sm_100f only, device is sm_120" },
        { "k.100f.fatbin", 90, CUDA_ERROR_NO_BINARY_FOR_GPU, "PTX for sm_100f only, device is sm_90" },
        { "k.default.fatbin", 75, CUDA_SUCCESS, "sm_75" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const arch_case *c = &cases[i];
        res r = get_file(c->fixture, c->cc);
        if (c->rc == CUDA_SUCCESS)
            CHECK(r.rc == CUDA_SUCCESS && target_is(r.ptx, c->want), "%s on %d: rc %d (%s), want .target %s",
                  c->fixture, c->cc, r.rc, r.err, c->want);
        else
            CHECK(r.rc == c->rc && strcmp(r.err, c->want) == 0, "%s on %d: rc %d, \"%s\", want \"%s\"",
                  c->fixture, c->cc, r.rc, r.err, c->want);
        res_free(&r);
    }
    /* the arch-specific and family flags, as nvcc 13 writes them */
    static const struct { const char *f; uint64_t bits; } variants[] = {
        { "k.90.fatbin", 0 }, { "k.90a.fatbin", FB_FLAG_ARCH_SPEC }, { "k.100f.fatbin", FB_FLAG_FAMILY },
    };
    for (int i = 0; i < 3; i++) {
        size_t n;
        entry_info e[2];
        uint8_t *b = load(variants[i].f, &n, 0);
        if (!b)
            continue;
        CHECK(entries(b, n, e, 2) == 1 && (e[0].flags & (FB_FLAG_ARCH_SPEC | FB_FLAG_FAMILY)) == variants[i].bits,
              "%s: variant flags 0x%llx", variants[i].f, (unsigned long long)e[0].flags);
        free(b);
    }
}

/* ---- tests: damaged images ------------------------------------------------------------------ */

static void test_truncation(void)
{
    static const char *const files[] = { "k.none.fatbin", "k.default.fatbin", "k.speed.fatbin",
                                         "k.size.fatbin", "k.debug.fatbin", "multi.fatbin",
                                         "k.sm80.cubin" };
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        size_t n;
        uint8_t *b = load(files[f], &n, 0);
        if (!b)
            continue;
        int bad = 0;
        for (size_t cut = 1; cut < n; cut++) {
            uint8_t *t = dup_exact(b, cut);
            res r = get(t, cut, 80);
            /* a cubin is only read through its header: cut after it, it is still "SASS only";
             * a fatbin cut to its first byte ("P") is a valid one-character text */
            if (r.rc != CUDA_ERROR_INVALID_IMAGE && !(f == 6 && cut >= 64 && r.rc == CUDA_ERROR_NO_BINARY_FOR_GPU) &&
                !(cut == 1 && r.rc == CUDA_SUCCESS))
                bad++;
            res_free(&r);
            free(t);
        }
        CHECK(bad == 0, "%s: %d truncations were not rejected as INVALID_IMAGE", files[f], bad);
        free(b);
    }
}

/* Patches a field of the first entry of `kind` in a copy of the fixture and decodes it. */
static res patched(const char *fixture, unsigned kind, size_t field, int width, uint64_t value, int cc)
{
    size_t n;
    entry_info e[8];
    res r = { CUDA_ERROR_FILE_NOT_FOUND, NULL, 0, "fixture missing" };
    uint8_t *b = load(fixture, &n, 0);
    if (!b)
        return r;
    entry_info *en = find_kind(e, entries(b, n, e, 8), kind);
    if (en) {
        for (int i = 0; i < width; i++)
            b[en->off + field + i] = (uint8_t)(value >> (8 * i));
        r = get(b, n, cc);
    }
    free(b);
    return r;
}

static uint64_t field_of(const char *fixture, unsigned kind, size_t field, int width)
{
    size_t n;
    entry_info e[8];
    uint64_t v = 0;
    uint8_t *b = load(fixture, &n, 0);
    if (!b)
        return 0;
    entry_info *en = find_kind(e, entries(b, n, e, 8), kind);
    for (int i = 0; en && i < width; i++)
        v |= (uint64_t)b[en->off + field + i] << (8 * i);
    free(b);
    return v;
}

typedef struct patch_case {
    const char *fixture;
    size_t field;            /* offset in the entry header */
    int width;
    int64_t delta;           /* added to the field, or the value itself when absolute */
    int absolute;
    const char *msg;         /* expected in the error */
} patch_case;

static void test_corruption(void)
{
    static const patch_case cases[] = {
        { "k.default.fatbin", 56, 8, 1, 0, "decompresses to 2133 bytes" },
        { "k.default.fatbin", 56, 8, -1, 0, "decompresses to 2133 bytes, its header says 2132" },
        { "k.default.fatbin", 56, 8, -100, 0, "more than the 2033 bytes" },
        { "k.default.fatbin", 16, 4, -10, 0, "zstd" },
        { "k.default.fatbin", 80, 4, 0x12345678, 1, "corrupt zstd data" },     /* frame magic */
        { "k.default.fatbin", 56, 8, (int64_t)1 << 40, 1, "absurd" },
        { "k.default.fatbin", 16, 4, 0, 1, "compressed size 0" },
        { "k.default.fatbin", 16, 4, 4096, 1, "does not fit" },
        { "k.default.fatbin", 40, 8, 0xa011, 1, "both LZ4 and zstd" },
        { "k.speed.fatbin", 56, 8, 1, 0, "LZ4 data ends" },
        { "k.speed.fatbin", 56, 8, -1, 0, "LZ4" },
        { "k.speed.fatbin", 16, 4, -5, 0, "LZ4" },
        { "k.speed.fatbin", 56, 8, 1000000, 1, "impossible" },
        { "k.default.fatbin", 4, 4, 63, 1, "bad header size" },
        { "k.default.fatbin", 4, 4, 1 << 20, 1, "bad header size" },
        { "k.default.fatbin", 8, 8, 1 << 20, 1, "overruns" },
        { "k.default.fatbin", 28, 4, 0x12345678, 1, "absurd arch" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const patch_case *c = &cases[i];
        uint64_t v = c->absolute ? (uint64_t)c->delta
                                 : field_of(c->fixture, FB_KIND_PTX, c->field, c->width) + (uint64_t)c->delta;
        res r = patched(c->fixture, FB_KIND_PTX, c->field, c->width, v, 80);
        CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, c->msg), "patch %zu (%s +%zu): rc %d: %s",
              i, c->fixture, c->field, r.rc, r.err);
        res_free(&r);
    }
    /* random damage inside compressed payloads: rejected or decoded, never a crash */
    static const char *const files[] = { "k.default.fatbin", "k.speed.fatbin", "k.speed_all.fatbin",
                                         "k.size.fatbin" };
    uint32_t seed = 12345;
    for (int f = 0; f < 4; f++) {
        size_t n;
        entry_info e[4];
        uint8_t *b = load(files[f], &n, 0);
        if (!b)
            continue;
        int ne = entries(b, n, e, 4), odd = 0;
        for (int iter = 0; iter < 400; iter++) {
            uint8_t *t = dup_exact(b, n);
            entry_info *en = &e[iter % ne];
            size_t span = en->csize ? en->csize : en->psize;
            for (int k = 0; k < 1 + iter % 3; k++) {
                seed = seed * 1103515245u + 12345u;
                t[en->off + en->hsize + (seed >> 8) % span] ^= (uint8_t)(1 + (seed >> 24) % 255);
            }
            res r = get(t, n, 80);
            odd += r.rc != CUDA_SUCCESS && r.rc != CUDA_ERROR_INVALID_IMAGE &&
                   r.rc != CUDA_ERROR_NO_BINARY_FOR_GPU;
            res_free(&r);
            free(t);
        }
        CHECK(odd == 0, "%s: %d damaged payloads gave an unexpected result", files[f], odd);
        free(b);
    }
}

/* ---- synthetic fatbins ---------------------------------------------------------------------- */

typedef struct syn_entry {
    unsigned kind, arch;
    uint64_t flags;
    const void *payload;
    size_t len;
    uint64_t csize, dsize;
    int nopad;               /* payload size exactly len (not padded to 8) */
} syn_entry;

static void put(uint8_t *p, uint64_t v, int width)
{
    for (int i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *syn_fatbin(const syn_entry *e, int n, size_t extra, size_t *size)
{
    size_t total = 16 + extra;
    for (int i = 0; i < n; i++)
        total += 64 + (e[i].nopad ? e[i].len : (e[i].len + 7) & ~(size_t)7);
    uint8_t *b = calloc(1, total), *p = b + 16;
    put(b, EMU_FATBIN_MAGIC, 4);
    put(b + 4, 1, 2);
    put(b + 6, 16, 2);
    put(b + 8, total - 16, 8);
    for (int i = 0; i < n; i++) {
        size_t psize = e[i].nopad ? e[i].len : (e[i].len + 7) & ~(size_t)7;
        put(p, e[i].kind, 2);
        put(p + 2, 0x101, 2);
        put(p + 4, 64, 4);
        put(p + 8, psize, 8);
        put(p + 16, e[i].csize, 4);
        put(p + 28, e[i].arch, 4);
        put(p + 40, e[i].flags | 0x11, 8);
        put(p + 56, e[i].dsize, 8);
        memcpy(p + 64, e[i].payload, e[i].len);
        p += 64 + psize;
    }
    *size = total;
    return b;
}

static res syn_get(const syn_entry *e, int n, size_t extra, int cc)
{
    size_t size;
    uint8_t *b = syn_fatbin(e, n, extra, &size);
    res r = get(b, size, cc);
    free(b);
    return r;
}

static const char small_ptx[] = ".version 7.0\n.target sm_75\n.address_size 64\n";

static void test_synthetic(void)
{
    char padded[64] = { 0 }, nul_inside[64] = { 0 };
    memcpy(padded, small_ptx, sizeof small_ptx - 1);
    memcpy(nul_inside, small_ptx, sizeof small_ptx - 1);
    nul_inside[12] = 0;
    syn_entry e = { FB_KIND_PTX, 75, 0, padded, sizeof padded, 0, 0, 0 };
    res r = syn_get(&e, 1, 0, 80);
    CHECK(r.rc == CUDA_SUCCESS && r.len == sizeof small_ptx - 1 && strcmp(r.ptx, small_ptx) == 0,
          "trailing NULs are stripped: %s", r.err);
    res_free(&r);
    e.len = sizeof small_ptx - 1;                 /* no NUL at all, payload not padded */
    e.nopad = 1;
    r = syn_get(&e, 1, 0, 80);
    CHECK(r.rc == CUDA_SUCCESS && strcmp(r.ptx, small_ptx) == 0, "PTX without NUL: %s", r.err);
    res_free(&r);
    e = (syn_entry){ FB_KIND_PTX, 75, 0, nul_inside, sizeof nul_inside, 0, 0, 0 };
    r = syn_get(&e, 1, 0, 80);
    CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, "NUL byte at offset 12"), "%s", r.err);
    res_free(&r);
    e = (syn_entry){ FB_KIND_PTX, 75, 0, padded, 0, 0, 0, 0 };
    r = syn_get(&e, 1, 0, 80);
    CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, "empty"), "%s", r.err);
    res_free(&r);
    r = syn_get(NULL, 0, 0, 80);
    CHECK(r.rc == CUDA_ERROR_NO_BINARY_FOR_GPU && strstr(r.err, "no PTX and no SASS"), "%s", r.err);
    res_free(&r);
    e = (syn_entry){ 0x40, 75, 0, padded, sizeof padded, 0, 0, 0 };
    r = syn_get(&e, 1, 0, 80);
    CHECK(r.rc == CUDA_ERROR_NO_BINARY_FOR_GPU, "unknown kinds only: %s", r.err);
    res_free(&r);
    e = (syn_entry){ FB_KIND_PTX, 75, 0, padded, sizeof padded, 0, 0, 0 };
    r = syn_get(&e, 1, 10, 80);                   /* 10 bytes too few for another entry */
    CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, "truncated"), "%s", r.err);
    res_free(&r);
    syn_entry two[2] = { { FB_KIND_PTX, 75, 0, padded, sizeof padded, 0, 0, 0 },
                         { FB_KIND_PTX, 75, 0, padded, sizeof padded, 0, 0, 0 } };
    r = syn_get(two, 2, 0, 80);
    CHECK(r.rc == CUDA_ERROR_NOT_SUPPORTED && strstr(r.err, "emu_image_get_all_ptx"), "%s", r.err);
    res_free(&r);
}

/* Container header damage on a copy of k.default.fatbin. */
static void test_container_header(void)
{
    size_t n;
    uint8_t *b = load("k.default.fatbin", &n, 0);
    if (!b)
        return;
    static const struct { size_t at; int width; uint64_t value; const char *msg; } cases[] = {
        { 0, 4, 0xBA55ED51u, "not PTX text" },
        { 4, 2, 2, "version 2" },
        { 6, 2, 8, "bad fatbin header size" },
        { 6, 2, 5000, "bad fatbin header size" },
        { 8, 8, 1ull << 40, "absurd" },
        { 8, 8, 100000, "truncated" },
        { 8, 8, 100, "overruns" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t *t = dup_exact(b, n);
        put(t + cases[i].at, cases[i].value, cases[i].width);
        res r = get(t, n, 80);
        CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, cases[i].msg), "header case %zu: %s", i, r.err);
        res_free(&r);
        free(t);
    }
    res r = get(b, 0, 80);                        /* size unknown */
    CHECK(r.rc == CUDA_SUCCESS, "size 0: %s", r.err);
    res_free(&r);
    r = get(NULL, 0, 80);
    CHECK(r.rc == CUDA_ERROR_INVALID_VALUE, "NULL image: %s", r.err);
    res_free(&r);
    r = get(b, n, 0);
    CHECK(r.rc == CUDA_ERROR_INVALID_VALUE, "cc 0.0: %s", r.err);
    res_free(&r);
    free(b);
}

/* ---- tests: wrappers ---------------------------------------------------------------------- */

typedef struct wrapper {
    uint32_t magic, version;
    const void *data;
    const void *units;
} wrapper;

static void test_wrapper(void)
{
    size_t n;
    uint8_t *fb = load("k.default.fatbin", &n, 0);
    if (!fb)
        return;
    wrapper w = { EMU_FATBIN_WRAPPER_MAGIC, 1, fb, NULL };
    res direct = get(fb, n, 80), r = get(&w, 0, 80);
    CHECK(r.rc == CUDA_SUCCESS && direct.rc == CUDA_SUCCESS && strcmp(r.ptx, direct.ptx) == 0,
          "wrapper v1: %s", r.err);
    res_free(&r);
    r = get(&w, sizeof w, 80);
    CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, "outside"), "sized wrapper, data elsewhere: %s", r.err);
    res_free(&r);
    r = get(&w, 10, 80);
    CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, "truncated"), "%s", r.err);
    res_free(&r);
    /* wrapper and fatbin in one buffer of known size */
    uint8_t *buf = malloc(sizeof w + n);
    wrapper inner = { EMU_FATBIN_WRAPPER_MAGIC, 1, buf + sizeof w, NULL };
    memcpy(buf, &inner, sizeof inner);
    memcpy(buf + sizeof w, fb, n);
    r = get(buf, sizeof w + n, 80);
    CHECK(r.rc == CUDA_SUCCESS && direct.rc == CUDA_SUCCESS && strcmp(r.ptx, direct.ptx) == 0, "%s", r.err);
    res_free(&r);
    r = get(buf, sizeof w + n - 1, 80);
    CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, "truncated"), "%s", r.err);
    res_free(&r);
    free(buf);
    w.data = NULL;
    r = get(&w, 0, 80);
    CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, "NULL"), "%s", r.err);
    res_free(&r);
    w = (wrapper){ EMU_FATBIN_WRAPPER_MAGIC, 3, fb, NULL };
    r = get(&w, 0, 80);
    CHECK(r.rc == CUDA_ERROR_INVALID_IMAGE && strstr(r.err, "version 3"), "%s", r.err);
    res_free(&r);
    res_free(&direct);
    free(fb);
}

/* A version 2 wrapper in one sized buffer: [wrapper | SASS fatbin | multi fatbin | unit array]. */
static void test_wrapper_units(void)
{
    size_t nm, ns;
    uint8_t *multi = load("multi.fatbin", &nm, 0), *sass = load("k.sm80.fatbin", &ns, 0);
    if (!multi || !sass) {
        free(multi);
        free(sass);
        return;
    }
    size_t head = sizeof(wrapper) + ns + nm, total = head + 3 * sizeof(void *);
    uint8_t *buf = calloc(1, total);
    uint8_t *fsass = buf + sizeof(wrapper), *fmulti = fsass + ns;
    memcpy(fsass, sass, ns);
    memcpy(fmulti, multi, nm);
    wrapper w = { EMU_FATBIN_WRAPPER_MAGIC, 2, fsass, buf + head };
    const void *units[3] = { fmulti, fmulti, NULL };
    memcpy(buf, &w, sizeof w);
    memcpy(buf + head, units, sizeof units);
    char **all, err[256];
    size_t *lens;
    int count;
    CUresult rc = emu_image_get_all_ptx(buf, total, 8, 0, &all, &lens, &count, err, sizeof err);
    CHECK(rc == CUDA_SUCCESS && count == 4, "v2 wrapper, two units of two PTX each: rc %d count %d %s",
          rc, count, err);
    if (rc == CUDA_SUCCESS)
        emu_image_free_all_ptx(all, lens, count);
    /* without its terminator the array runs into the end of the buffer */
    rc = emu_image_get_all_ptx(buf, total - sizeof(void *), 8, 0, &all, &lens, &count, err, sizeof err);
    CHECK(rc == CUDA_ERROR_INVALID_IMAGE && strstr(err, "runs past"), "unit array past the end: %s", err);
    /* a unit that is not a fatbin */
    units[1] = sass + 0;                         /* outside the buffer */
    memcpy(buf + head, units, sizeof units);
    rc = emu_image_get_all_ptx(buf, total, 8, 0, &all, &lens, &count, err, sizeof err);
    CHECK(rc == CUDA_ERROR_INVALID_IMAGE && strstr(err, "outside"), "unit outside the image: %s", err);
    units[1] = buf;                              /* the wrapper itself */
    memcpy(buf + head, units, sizeof units);
    rc = emu_image_get_all_ptx(buf, total, 8, 0, &all, &lens, &count, err, sizeof err);
    CHECK(rc == CUDA_ERROR_INVALID_IMAGE && strstr(err, "magic"), "unit that is no fatbin: %s", err);
    free(buf);
    free(multi);
    free(sass);
}

static void test_multi(void)
{
    size_t n;
    uint8_t *b = load("multi.fatbin", &n, 0);
    if (!b)
        return;
    char **all, err[256];
    size_t *lens;
    int count;
    CUresult rc = emu_image_get_all_ptx(b, n, 8, 0, &all, &lens, &count, err, sizeof err);
    CHECK(rc == CUDA_SUCCESS && count == 2, "multi: rc %d count %d %s", rc, count, err);
    if (rc == CUDA_SUCCESS && count == 2) {
        CHECK(strstr(all[0], "fatbin_rdc_ka") && strstr(all[1], "fatbin_rdc_kb") &&
              strlen(all[0]) == lens[0] && strlen(all[1]) == lens[1], "multi: unit order or lengths");
    }
    if (rc == CUDA_SUCCESS)
        emu_image_free_all_ptx(all, lens, count);
    res r = get(b, n, 80);
    CHECK(r.rc == CUDA_ERROR_NOT_SUPPORTED, "multi via get_ptx: rc %d %s", r.rc, r.err);
    res_free(&r);
    free(b);
}

/* ---- tests: executables (libelf) ----------------------------------------------------------- */

typedef struct exe_image {
    Elf *elf;
    int fd;
    struct { GElf_Shdr sh; Elf_Data *d; const char *name; } sec[64];
    int nsec;
} exe_image;

static int exe_open(exe_image *x, const char *name)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s", fixture_dir, name);
    memset(x, 0, sizeof *x);
    elf_version(EV_CURRENT);
    x->fd = open(path, O_RDONLY);
    x->elf = x->fd >= 0 ? elf_begin(x->fd, ELF_C_READ, NULL) : NULL;
    size_t shstrndx;
    if (!x->elf || elf_getshdrstrndx(x->elf, &shstrndx) != 0) {
        CHECK(0, "cannot read ELF %s", path);
        return -1;
    }
    for (Elf_Scn *s = NULL; (s = elf_nextscn(x->elf, s)) && x->nsec < 64;) {
        gelf_getshdr(s, &x->sec[x->nsec].sh);
        x->sec[x->nsec].name = elf_strptr(x->elf, shstrndx, x->sec[x->nsec].sh.sh_name);
        x->sec[x->nsec].d = elf_getdata(s, NULL);
        x->nsec++;
    }
    return 0;
}

static void exe_close(exe_image *x)
{
    if (x->elf)
        elf_end(x->elf);
    if (x->fd >= 0)
        close(x->fd);
}

static Elf_Data *exe_section(exe_image *x, const char *name)
{
    for (int i = 0; i < x->nsec; i++)
        if (x->sec[i].name && strcmp(x->sec[i].name, name) == 0)
            return x->sec[i].d;
    return NULL;
}

/* The loaded bytes behind a virtual address in a PROGBITS section, or NULL. */
static const uint8_t *exe_at(exe_image *x, uint64_t va)
{
    for (int i = 0; i < x->nsec; i++) {
        GElf_Shdr *sh = &x->sec[i].sh;
        if (sh->sh_type == SHT_PROGBITS && x->sec[i].d && va >= sh->sh_addr &&
            va < sh->sh_addr + sh->sh_size)
            return (const uint8_t *)x->sec[i].d->d_buf + (va - sh->sh_addr);
    }
    return NULL;
}

/* Rebuilds the wrappers in .nvFatBinSegment with pointers into our copy of the sections (the
 * unit arrays of version 2 wrappers live in .bss, filled at run time: left NULL). */
static int exe_wrappers(exe_image *x, wrapper *out, int max)
{
    Elf_Data *seg = exe_section(x, ".nvFatBinSegment");
    int n = 0;
    CHECK(seg && seg->d_size % 24 == 0, ".nvFatBinSegment missing or odd-sized");
    for (size_t off = 0; seg && off + 24 <= seg->d_size && n < max; off += 24) {
        const uint8_t *w = (const uint8_t *)seg->d_buf + off;
        out[n] = (wrapper){ rd32(w), rd32(w + 4), exe_at(x, rd64(w + 8)), NULL };
        CHECK(out[n].magic == EMU_FATBIN_WRAPPER_MAGIC && out[n].data, "wrapper %d: magic 0x%x", n, out[n].magic);
        n++;
    }
    return n;
}

static void test_executable(void)
{
    exe_image x;
    wrapper w[8];
    if (exe_open(&x, "exe") < 0) {
        exe_close(&x);
        return;
    }
    CHECK(exe_section(&x, ".nv_fatbin") != NULL, "exe has no .nv_fatbin");
    int n = exe_wrappers(&x, w, 8), kernel = 0;
    for (int i = 0; i < n; i++) {
        res r = get(&w[i], 0, 80);
        CHECK(r.rc == CUDA_SUCCESS, "exe wrapper %d (version %u): %s", i, w[i].version, r.err);
        if (r.rc == CUDA_SUCCESS && strstr(r.ptx, ".entry fatbin_exe_kernel("))
            kernel++;
        if (r.rc == CUDA_SUCCESS && w[i].version == 2)     /* nvlink's output, empty without -rdc */
            CHECK(strstr(r.ptx, "empty module") != NULL, "exe: the nvlink cubin is not empty");
        res_free(&r);
    }
    CHECK(kernel == 1, "exe: %d wrappers hold the kernel's PTX", kernel);
    exe_close(&x);
}

static void test_rdc_executable(void)
{
    exe_image x;
    wrapper w[8];
    if (exe_open(&x, "rdc") < 0) {
        exe_close(&x);
        return;
    }
    int n = exe_wrappers(&x, w, 8), v2 = -1, nunits = 0;
    const void *units[8];
    for (int i = 0; i < n; i++) {
        if (w[i].version == 2) {
            v2 = i;
            continue;
        }
        units[nunits++] = w[i].data;
        res r = get(&w[i], 0, 80);
        CHECK(r.rc == CUDA_SUCCESS && strstr(r.ptx, "fatbin_rdc_k"), "rdc unit %d: %s", i, r.err);
        res_free(&r);
    }
    CHECK(v2 >= 0 && nunits == 2, "rdc: %d wrappers, want one version 2 and two units", n);
    if (v2 >= 0) {
        res r = get(&w[v2], 0, 80);           /* linked SASS only, units not registered yet */
        CHECK(r.rc == CUDA_ERROR_NO_BINARY_FOR_GPU && strstr(r.err, "SASS for sm_75"), "%s", r.err);
        res_free(&r);
        units[nunits] = NULL;
        w[v2].units = units;
        char **all, err[256];
        size_t *lens;
        int count;
        CUresult rc = emu_image_get_all_ptx(&w[v2], 0, 8, 0, &all, &lens, &count, err, sizeof err);
        CHECK(rc == CUDA_SUCCESS && count == 2, "rdc v2 wrapper with units: rc %d count %d %s", rc, count, err);
        if (rc == CUDA_SUCCESS) {
            int a = 0, b = 0;
            for (int i = 0; i < count; i++) {
                a += strstr(all[i], ".entry fatbin_rdc_ka(") != NULL;
                b += strstr(all[i], ".entry fatbin_rdc_kb(") != NULL;
            }
            CHECK(a == 1 && b == 1, "rdc: both units' kernels");
            emu_image_free_all_ptx(all, lens, count);
        }
        r = get(&w[v2], 0, 80);
        CHECK(r.rc == CUDA_ERROR_NOT_SUPPORTED, "rdc v2 via get_ptx: %s", r.err);
        res_free(&r);
    }
    exe_close(&x);
}

/* ---- tests: the LZ4 decoder ------------------------------------------------------------ */

static size_t lz4_put_len(uint8_t *o, size_t n)
{
    size_t k = 0;
    for (; n >= 255; n -= 255)
        o[k++] = 255;
    o[k++] = (uint8_t)n;
    return k;
}

static size_t lz4_put_seq(uint8_t *o, const uint8_t *lit, size_t nlit, size_t off, size_t mlen)
{
    size_t k = 1;
    size_t m = mlen ? mlen - 4 : 0;
    o[0] = (uint8_t)((nlit < 15 ? nlit : 15) << 4 | (mlen ? (m < 15 ? m : 15) : 0));
    if (nlit >= 15)
        k += lz4_put_len(o + k, nlit - 15);
    memcpy(o + k, lit, nlit);
    k += nlit;
    if (!mlen)
        return k;
    o[k++] = (uint8_t)off;
    o[k++] = (uint8_t)(off >> 8);
    if (m >= 15)
        k += lz4_put_len(o + k, m - 15);
    return k;
}

/* A greedy, brute-force LZ4 block compressor: enough to produce every length encoding. */
static size_t mini_lz4(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t ip = 0, anchor = 0, op = 0;
    while (ip + 4 <= n) {
        size_t best = 0, boff = 0;
        for (size_t j = ip > 65535 ? ip - 65535 : 0; j < ip; j++) {
            size_t l = 0;
            while (ip + l < n && in[j + l] == in[ip + l])
                l++;
            if (l > best) {
                best = l;
                boff = ip - j;
            }
        }
        if (best < 4) {
            ip++;
            continue;
        }
        op += lz4_put_seq(out + op, in + anchor, ip - anchor, boff, best);
        ip += best;
        anchor = ip;
    }
    return op + lz4_put_seq(out + op, in + anchor, n - anchor, 0, 0);
}

static void lz4_roundtrip(const uint8_t *in, size_t n, const char *what)
{
    uint8_t *c = malloc(n * 2 + 64), *d = malloc(n ? n : 1);
    char err[160];
    size_t cn = mini_lz4(in, n, c);
    uint8_t *exact = dup_exact(c, cn);
    int rc = emu_lz4_decompress_block(exact, cn, d, n, err, sizeof err);
    CHECK(rc == 0 && memcmp(d, in, n) == 0, "LZ4 round trip of %s (%zu bytes): %s", what, n, rc ? err : "differs");
    if (n > 0) {
        rc = emu_lz4_decompress_block(exact, cn, d, n - 1, err, sizeof err);
        CHECK(rc < 0, "LZ4 %s into a buffer one byte short must fail", what);
    }
    free(exact);
    free(c);
    free(d);
}

static void test_lz4(void)
{
    uint8_t buf[5000];
    uint32_t s = 99;
    static const size_t literal_lengths[] = { 0, 1, 14, 15, 16, 269, 270, 271, 524, 525, 526, 1000 };
    for (size_t i = 0; i < sizeof literal_lengths / sizeof *literal_lengths; i++) {
        for (size_t k = 0; k < literal_lengths[i]; k++)
            buf[k] = (uint8_t)((s = s * 1103515245u + 12345u) >> 16);
        lz4_roundtrip(buf, literal_lengths[i], "random bytes");
    }
    static const size_t run_lengths[] = { 5, 18, 19, 20, 273, 274, 275, 276, 529, 530, 1000, 4999 };
    for (size_t i = 0; i < sizeof run_lengths / sizeof *run_lengths; i++) {
        memset(buf, 'a', run_lengths[i]);
        lz4_roundtrip(buf, run_lengths[i], "a run");
    }
    for (size_t k = 0; k < 3000; k++)
        buf[k] = (uint8_t)("period7"[k % 7]);
    lz4_roundtrip(buf, 3000, "a period-7 pattern");
    for (size_t k = 0; k < 4000; k++)
        buf[k] = k < 40 ? (uint8_t)((s = s * 1103515245u + 12345u) >> 16) : k < 240 ? buf[k % 40]
               : k < 600 ? (uint8_t)((s = s * 1103515245u + 12345u) >> 16) : 'b';
    lz4_roundtrip(buf, 4000, "a mixture");

    static const struct { const char *src; size_t n, out; int ok; const char *msg; } bad[] = {
        { "", 0, 0, 1, "" },
        { "\x00", 1, 0, 1, "" },
        { "\x10" "a\x00\x00\x00", 5, 1, 1, "" },              /* zero padding after the end */
        { "\x10" "a\x05", 3, 1, 0, "continues" },
        { "\x10" "a", 2, 5, 0, "ends after 1 of 5" },
        { "\x14" "a\x02\x00", 4, 20, 0, "refers 2 bytes back" },
        { "\x14" "a\x00\x00", 4, 20, 0, "refers 0 bytes back" },
        { "\xf0\x10", 2, 100, 0, "overruns the input" },
        { "\xf0", 1, 100, 0, "overruns the input" },
        { "\x30" "abc", 4, 2, 0, "overruns the 2-byte output" },
        { "\x1f" "a\x01\x00\xff\x10", 6, 100, 0, "overruns the 100-byte output" },
        { "\x1f" "a\x01\x00\xff", 5, 1000, 0, "truncated" },
        { "\x10" "a\x01", 3, 100, 0, "truncated" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t *src = dup_exact(bad[i].src, bad[i].n), *dst = malloc(bad[i].out + 1);
        char err[160] = "";
        int rc = emu_lz4_decompress_block(src, bad[i].n, dst, bad[i].out, err, sizeof err);
        CHECK(bad[i].ok ? rc == 0 : rc < 0 && strstr(err, bad[i].msg), "LZ4 case %zu: rc %d %s", i, rc, err);
        free(src);
        free(dst);
    }
}

static void test_with_fixtures(void)
{
    test_ptx_text();
    test_compression_modes();
    test_big();
    test_sass_only();
    test_arch_selection();
    test_truncation();
    test_corruption();
    test_container_header();
    test_wrapper();
    test_wrapper_units();
    test_multi();
    test_executable();
    test_rdc_executable();
}

static int have_fixtures(void)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/k.ptx", fixture_dir);
    if (access(path, R_OK) == 0)
        return 1;
    CHECK(0, "no fixtures in %s: build them with `make fatbin-fixtures` (needs nvcc)", fixture_dir);
    return 0;
}

int main(void)
{
    find_fixtures();
    test_synthetic();
    test_lz4();
    if (have_fixtures())
        test_with_fixtures();
    printf("test_fatbin: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
