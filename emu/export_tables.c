/* export_tables.c: the registry of the CUDA runtime's private driver tables (see export_tables.h):
 * UUID -> table lookup for cuGetExportTable, the clean refusal (CUDA_ERROR_NOT_SUPPORTED and one
 * log line naming the UUID) of tables not served, the logging stubs that fill the slots whose
 * meaning is unknown (a call logs the table and slot once and gets CUDA_ERROR_NOT_SUPPORTED,
 * never a jump through NULL), and the small tables:
 *   tools TLS        {42d85a81-23f6-cb47-8298-f6e78a3aecdc}  size header only
 *   tools hooks      {a094798c-2e74-2e74-93f2-0800200c0a66}  slots 2 and 6 hand out buffers
 *   context checks   {263e8860-7cd2-6143-92f6-bbd5006dfa7e}  slot 2 context_check, slot 3 check_fn3
 *   ctx create       {0ca50b8c-1004-929a-89a7-d0df10e77286}  slot 1 cuCtxCreate_v2
 *   heap access      {195bcbf4-d67d-024a-acc5-1d29cea631ae}  slots 1, 2: not supported
 *   device extended  {b10541e1-f7c7-c74a-9f64-f223be99f1e2}  slot 5 not supported, slot 13 -> 0
 * The cudart interface, context-local storage and integrity tables live in their own files. */
#include "export_tables.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

const bf_export_ops *bf_export_driver;

void bf_export_init(const bf_export_ops *ops)
{
    bf_export_driver = ops;
}

void bf_export_format_uuid(const CUuuid *id, char *out, unsigned long n)
{
    const unsigned char *b = (const unsigned char *)id->bytes;
    snprintf(out, n, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

/* ---- the small tables ---------------------------------------------------------------------- */
/* Tools runtime callback hooks: two buffers the runtime's tools support writes into. */
static uint64_t g_hook_buf1[1024];
static uint64_t g_hook_buf2[16];

static void hooks_buffer1(void **ptr, size_t *size)
{
    if (ptr) *ptr = g_hook_buf1;
    if (size) *size = 1024;
}

static void hooks_buffer2(void **ptr, size_t *size)
{
    if (ptr) *ptr = g_hook_buf2;
    if (size) *size = 14;
}

/* Context checks: slot 2 reports a context as not wrapped (0) and leaves result2 alone. */
static CUresult context_check(CUcontext ctx, uint32_t *result1, const void **result2)
{
    (void)ctx; (void)result2;
    if (result1)
        *result1 = 0;
    return CUDA_SUCCESS;
}

static uint32_t check_fn3(void) { return 0; }

static CUresult ctx_create_bypass(CUcontext *pctx, unsigned flags, CUdevice dev)
{
    return bf_export_driver->ctx_create(pctx, flags, dev);
}

static CUresult heap_alloc(const void **record, size_t a2, size_t a3)
{
    (void)record; (void)a2; (void)a3;
    BF_EXPORT_LOG("export table heap access: heap_alloc is not supported");
    return CUDA_ERROR_NOT_SUPPORTED;
}

static CUresult heap_free(const void *record, size_t *a2)
{
    (void)record; (void)a2;
    return CUDA_ERROR_NOT_SUPPORTED;
}

static CUresult device_get_attribute_ext(CUdevice dev, unsigned attr, int unknown, size_t *result)
{
    (void)unknown; (void)result;
    BF_EXPORT_DEBUG("export table device extended: attribute %u of device %d not supported", attr, dev);
    return CUDA_ERROR_NOT_SUPPORTED;
}

static CUresult device_get_something(unsigned char *result, CUdevice dev)
{
    (void)dev;
    if (!result)
        return CUDA_ERROR_INVALID_VALUE;
    *result = 0;
    return CUDA_SUCCESS;
}

static void *g_tools_tls[4] = { BF_EXPORT_SIZE_OF(4) };
static void *g_tools_hooks[7] = {
    [0] = BF_EXPORT_SIZE_OF(7), [2] = (void *)hooks_buffer1, [6] = (void *)hooks_buffer2,
};
static void *g_ctx_checks[4] = {
    [0] = BF_EXPORT_SIZE_OF(4), [2] = (void *)context_check, [3] = (void *)check_fn3,
};
static void *g_ctx_create[2] = { BF_EXPORT_SIZE_OF(2), (void *)ctx_create_bypass };
static void *g_heap[3] = { BF_EXPORT_SIZE_OF(3), (void *)heap_alloc, (void *)heap_free };
/* Asked for by cudart 13.4 and later; a refusal breaks its initialisation. Served as its size
 * header (95 slots) with logging stubs: no slot has been seen called. */
static void *g_cudart13[95] = { BF_EXPORT_SIZE_OF(95) };
static void *g_device_ext[26] = {
    [0] = BF_EXPORT_SIZE_OF(26), [5] = (void *)device_get_attribute_ext,
    [13] = (void *)device_get_something,
};

/* ---- the registry -------------------------------------------------------------------------- */
typedef struct table_def {
    const char *name;
    unsigned char uuid[16];
    void **slots;
    const int *len;
    int sized;               /* slot 0 holds the size (else slot 0 is a function) */
} table_def;

static const int len2 = 2, len3 = 3, len4 = 4, len7 = 7, len26 = 26, len95 = 95;

#define U(...) { __VA_ARGS__ }
static const table_def g_tables[] = {
    { "cudart interface", U(0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9),
      bf_export_cudart_interface, &bf_export_cudart_interface_len, 1 },
    { "tools TLS", U(0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47, 0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec, 0xdc),
      g_tools_tls, &len4, 1 },
    { "tools runtime hooks", U(0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74, 0x93, 0xf2, 0x08, 0x00, 0x20, 0x0c, 0x0a, 0x66),
      g_tools_hooks, &len7, 1 },
    { "context-local storage", U(0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21, 0xdf, 0x11, 0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95, 0x93),
      bf_export_cls_table, &bf_export_cls_table_len, 0 },
    { "context checks", U(0x26, 0x3e, 0x88, 0x60, 0x7c, 0xd2, 0x61, 0x43, 0x92, 0xf6, 0xbb, 0xd5, 0x00, 0x6d, 0xfa, 0x7e),
      g_ctx_checks, &len4, 1 },
    { "integrity check", U(0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b, 0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2),
      bf_export_integrity_table, &bf_export_integrity_table_len, 1 },
    { "context create", U(0x0c, 0xa5, 0x0b, 0x8c, 0x10, 0x04, 0x92, 0x9a, 0x89, 0xa7, 0xd0, 0xdf, 0x10, 0xe7, 0x72, 0x86),
      g_ctx_create, &len2, 1 },
    { "heap access", U(0x19, 0x5b, 0xcb, 0xf4, 0xd6, 0x7d, 0x02, 0x4a, 0xac, 0xc5, 0x1d, 0x29, 0xce, 0xa6, 0x31, 0xae),
      g_heap, &len3, 1 },
    { "device extended", U(0xb1, 0x05, 0x41, 0xe1, 0xf7, 0xc7, 0xc7, 0x4a, 0x9f, 0x64, 0xf2, 0x23, 0xbe, 0x99, 0xf1, 0xe2),
      g_device_ext, &len26, 1 },
    { "cudart 13.4", U(0x21, 0x31, 0x8c, 0x60, 0x97, 0x14, 0x32, 0x48, 0x8c, 0xa6, 0x41, 0xff, 0x73, 0x24, 0xc8, 0xf2),
      g_cudart13, &len95, 1 },
};
#undef U
#define NTABLES ((int)(sizeof g_tables / sizeof g_tables[0]))

/* ---- logging stubs for slots of unknown meaning ---------------------------------------------- */
#define MAX_STUBS 200
static unsigned char g_stub_table[MAX_STUBS], g_stub_slot[MAX_STUBS];
static int g_nstubs;
static volatile int g_stub_logged[MAX_STUBS];

static CUresult stub_hit(int k)
{
    if (k < g_nstubs && !__atomic_exchange_n(&g_stub_logged[k], 1, __ATOMIC_RELAXED))
        BF_EXPORT_LOG("export table %s: slot %d called; not implemented (CUDA_ERROR_NOT_SUPPORTED)",
                      g_tables[g_stub_table[k]].name, g_stub_slot[k]);
    return CUDA_ERROR_NOT_SUPPORTED;
}

#define STUB(k) static CUresult stub_##k(void) { return stub_hit(k); }
#define STUB10(d) STUB(d##0) STUB(d##1) STUB(d##2) STUB(d##3) STUB(d##4) \
                  STUB(d##5) STUB(d##6) STUB(d##7) STUB(d##8) STUB(d##9)
STUB(0) STUB(1) STUB(2) STUB(3) STUB(4) STUB(5) STUB(6) STUB(7) STUB(8) STUB(9)
STUB10(1) STUB10(2) STUB10(3) STUB10(4) STUB10(5) STUB10(6) STUB10(7) STUB10(8) STUB10(9)
STUB10(10) STUB10(11) STUB10(12) STUB10(13) STUB10(14) STUB10(15) STUB10(16) STUB10(17)
STUB10(18) STUB10(19)
#define REF10(d) stub_##d##0, stub_##d##1, stub_##d##2, stub_##d##3, stub_##d##4, \
                 stub_##d##5, stub_##d##6, stub_##d##7, stub_##d##8, stub_##d##9
static CUresult (*const g_stubs[MAX_STUBS])(void) = {
    stub_0, stub_1, stub_2, stub_3, stub_4, stub_5, stub_6, stub_7, stub_8, stub_9,
    REF10(1), REF10(2), REF10(3), REF10(4), REF10(5), REF10(6), REF10(7), REF10(8), REF10(9),
    REF10(10), REF10(11), REF10(12), REF10(13), REF10(14), REF10(15), REF10(16), REF10(17),
    REF10(18), REF10(19),
};

static void fill_stubs(void)
{
    for (int t = 0; t < NTABLES; t++) {
        const table_def *d = &g_tables[t];
        for (int s = d->sized ? 1 : 0; s < *d->len; s++) {
            if (d->slots[s] || g_nstubs >= MAX_STUBS)
                continue;
            g_stub_table[g_nstubs] = (unsigned char)t;
            g_stub_slot[g_nstubs] = (unsigned char)s;
            d->slots[s] = (void *)g_stubs[g_nstubs++];
        }
    }
}

/* ---- lookup -------------------------------------------------------------------------------- */
#define MAX_LOGGED 64
static unsigned char g_refused[MAX_LOGGED][16];
static int g_nrefused;
static pthread_mutex_t g_refused_lock = PTHREAD_MUTEX_INITIALIZER;

static int first_refusal(const CUuuid *id)
{
    int first = 1;
    pthread_mutex_lock(&g_refused_lock);
    for (int i = 0; i < g_nrefused && first; i++)
        first = memcmp(g_refused[i], id->bytes, 16) != 0;
    if (first && g_nrefused < MAX_LOGGED)
        memcpy(g_refused[g_nrefused++], id->bytes, 16);
    pthread_mutex_unlock(&g_refused_lock);
    return first;
}

/* Tables the runtime asks for and works without: refused quietly (debug log only). */
static const struct { const char *name; unsigned char uuid[16]; } g_refused_known[] = {
    /* asked for before cuInit by cudart 12 and 13; refusing it changes nothing */
    { "pre-init query", { 0xf8, 0xcf, 0xf9, 0x51, 0x21, 0x46, 0x8b, 0x4e, 0xb9, 0xe2, 0xfb, 0x46, 0x9e, 0x7c, 0x0d, 0xd9 } },
};

static const char *known_refused(const CUuuid *id)
{
    for (size_t i = 0; i < sizeof g_refused_known / sizeof g_refused_known[0]; i++)
        if (memcmp(g_refused_known[i].uuid, id->bytes, 16) == 0)
            return g_refused_known[i].name;
    return NULL;
}

CUresult bf_export_get_table(const void **table, const CUuuid *id)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (!table || !id)
        return CUDA_ERROR_INVALID_VALUE;
    *table = NULL;
    pthread_once(&once, fill_stubs);
    char text[40];
    bf_export_format_uuid(id, text, sizeof text);
    for (int t = 0; t < NTABLES; t++) {
        if (memcmp(g_tables[t].uuid, id->bytes, 16) == 0) {
            *table = g_tables[t].slots;
            BF_EXPORT_DEBUG("cuGetExportTable: %s (%s)", text, g_tables[t].name);
            return CUDA_SUCCESS;
        }
    }
    if (!first_refusal(id))
        return CUDA_ERROR_NOT_SUPPORTED;
    if (known_refused(id))
        BF_EXPORT_DEBUG("cuGetExportTable: export table %s (%s) is not provided", text, known_refused(id));
    else
        BF_EXPORT_LOG("cuGetExportTable: export table %s is not provided", text);
    return CUDA_ERROR_NOT_SUPPORTED;
}
