/* test_export_tables.c: the export-table component (emu/export_*.c) on its own, over a mock driver
 * (owner: emu/export_*.c). Compiled together with the component's sources (emu/rt_tests.mk), so
 * the internal entry points are reachable: the UUID lookup and its refusals, the size headers, the
 * logging stubs of unknown slots, context-local storage with its destructors, the cudart
 * interface's module loads, MD2 against RFC 1319's vectors and the integrity table against the
 * hash function. The CUDA runtime programs in tests/rt/ cover the tables end to end. */
#include "bft.h"
#include "export_tables.h"
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdint.h>
#include <string.h>

/* ---- mock driver --------------------------------------------------------------------------- */
static CUcontext g_current = (CUcontext)0x1000;
static int g_loads;
static const void *g_last_image;

static CUresult m_version(int *v) { *v = 13000; return CUDA_SUCCESS; }
static CUresult m_count(int *n) { *n = 2; return CUDA_SUCCESS; }
static CUresult m_uuid(CUuuid *u, CUdevice d) { memset(u->bytes, 0x40 + d, 16); return CUDA_SUCCESS; }
static CUresult m_attr(int *v, CUdevice_attribute a, CUdevice d) { *v = (int)a * 10 + d; return CUDA_SUCCESS; }
static CUresult m_current(CUcontext *c) { *c = g_current; return CUDA_SUCCESS; }
static CUresult m_retain(CUcontext *c, CUdevice d) { *c = (CUcontext)(uintptr_t)(0x2000 + d); return CUDA_SUCCESS; }
static CUresult m_release(CUdevice d) { (void)d; return CUDA_SUCCESS; }
static CUresult m_create(CUcontext *c, unsigned f, CUdevice d) { (void)f; *c = (CUcontext)(uintptr_t)(0x3000 + d); return CUDA_SUCCESS; }
static CUresult m_load(CUmodule *m, const void *image) { g_loads++; g_last_image = image; *m = (CUmodule)0x4000; return CUDA_SUCCESS; }

static const bf_export_ops g_ops = {
    .driver_get_version = m_version, .device_get_count = m_count, .device_get_uuid = m_uuid,
    .device_get_attribute = m_attr, .ctx_get_current = m_current, .primary_ctx_retain = m_retain,
    .primary_ctx_release = m_release, .ctx_create = m_create, .module_load_data = m_load,
};

static void *const *table(const char *text)
{
    CUuuid id;
    for (int i = 0, k = 0; text[k] && i < 16; k++) {
        if (text[k] == '-')
            continue;
        unsigned v;
        sscanf(text + k, "%2x", &v);
        id.bytes[i++] = (char)v;
        k++;
    }
    const void *t = NULL;
    bf_export_init(&g_ops);
    CUresult rc = bf_export_get_table(&t, &id);
    return rc == CUDA_SUCCESS ? (void *const *)t : NULL;
}

#define CUDART    "6bd5fb6c-5bf4-e74a-8987-d93912fd9df9"
#define CLS       "c693336e-1121-df11-a8c3-68f355d89593"
#define INTEGRITY "d4082055-bde6-704b-8d34-ba123c66e1f2"

BFT_CASE(lookup_and_refusal)
{
    const void *t = (const void *)1;
    CUuuid id;
    memset(&id, 0x5a, sizeof id);
    bf_export_init(&g_ops);
    EXPECT_CU(bf_export_get_table(NULL, &id), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(bf_export_get_table(&t, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(bf_export_get_table(&t, &id), CUDA_ERROR_NOT_SUPPORTED);
    EXPECT(t == NULL);
    EXPECT(table("f8cff951-2146-8b4e-b9e2-fb469e7c0dd9") == NULL);
    static const struct { const char *id; uintptr_t size; } sized[] = {
        { CUDART, 104 }, { "a094798c-2e74-2e74-93f2-0800200c0a66", 56 },
        { "42d85a81-23f6-cb47-8298-f6e78a3aecdc", 32 }, { "263e8860-7cd2-6143-92f6-bbd5006dfa7e", 32 },
        { INTEGRITY, 24 }, { "21318c60-9714-3248-8ca6-41ff7324c8f2", 760 },
        { "0ca50b8c-1004-929a-89a7-d0df10e77286", 16 }, { "195bcbf4-d67d-024a-acc5-1d29cea631ae", 24 },
        { "b10541e1-f7c7-c74a-9f64-f223be99f1e2", 208 },
    };
    for (size_t i = 0; i < sizeof sized / sizeof sized[0]; i++) {
        void *const *tb = table(sized[i].id);
        REQUIRE(tb != NULL, "%s", sized[i].id);
        EXPECT((uintptr_t)tb[0] == sized[i].size, "%s: size %lu", sized[i].id, (unsigned long)(uintptr_t)tb[0]);
        for (uintptr_t s = 1; s < sized[i].size / sizeof(void *); s++)
            EXPECT(tb[s] != NULL, "%s slot %lu is NULL", sized[i].id, (unsigned long)s);
    }
    void *const *cls = table(CLS);
    REQUIRE(cls != NULL);
    EXPECT(cls[0] != NULL && cls[1] != NULL && cls[2] != NULL);
}

BFT_CASE(unknown_slots_refuse)
{
    void *const *c = table(CUDART);
    REQUIRE(c != NULL);
    CUresult (*slot3)(void) = (CUresult (*)(void))c[3];
    EXPECT_CU(slot3(), CUDA_ERROR_NOT_SUPPORTED);
    EXPECT_CU(slot3(), CUDA_ERROR_NOT_SUPPORTED);
}

BFT_CASE(cudart_interface)
{
    void *const *c = table(CUDART);
    REQUIRE(c != NULL);
    struct { uint32_t magic, version; const void *data; void *unused; } wrapper = { 0x466243b1u, 1, "x", NULL };
    uint32_t header[4] = { 0xba55ed50u, 0, 0, 0 };
    CUmodule m = NULL;
    CUresult (*get_module)(CUmodule *, const void *) = (CUresult (*)(CUmodule *, const void *))c[1];
    CUresult (*ext1)(CUmodule *, const void *, void *, void *, unsigned) =
        (CUresult (*)(CUmodule *, const void *, void *, void *, unsigned))c[6];
    CUresult (*ext2)(const void *, CUmodule *, void *, void *, unsigned) =
        (CUresult (*)(const void *, CUmodule *, void *, void *, unsigned))c[8];
    CUresult (*primary)(CUcontext *, CUdevice) = (CUresult (*)(CUcontext *, CUdevice))c[2];
    g_loads = 0;
    EXPECT_CU(get_module(&m, &wrapper), CUDA_SUCCESS);
    EXPECT(m == (CUmodule)0x4000 && g_last_image == &wrapper);
    EXPECT_CU(ext1(&m, &wrapper, NULL, NULL, 0), CUDA_SUCCESS);
    EXPECT_CU(ext2(header, &m, NULL, NULL, 0), CUDA_SUCCESS);
    EXPECT(g_loads == 3 && g_last_image == header);
    EXPECT_CU(get_module(&m, header), CUDA_ERROR_INVALID_IMAGE);   /* not a wrapper */
    EXPECT_CU(get_module(NULL, &wrapper), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(ext2(NULL, &m, NULL, NULL, 0), CUDA_ERROR_INVALID_VALUE);
    CUcontext ctx = NULL;
    EXPECT_CU(primary(&ctx, 1), CUDA_SUCCESS);
    EXPECT(ctx == (CUcontext)0x2001);
    EXPECT_CU(primary(NULL, 0), CUDA_ERROR_INVALID_VALUE);
}

/* ---- context-local storage ----------------------------------------------------------------- */
typedef CUresult (*cls_put_fn)(CUcontext, void *, void *, void (*)(CUcontext, void *, void *));
typedef CUresult (*cls_del_fn)(CUcontext, void *);
typedef CUresult (*cls_get_fn)(void **, CUcontext, void *);
static int g_dtor_calls;
static void *g_dtor_value;
static cls_get_fn g_get;

static void dtor(CUcontext ctx, void *key, void *value)
{
    void *v = NULL;
    g_dtor_calls++;
    g_dtor_value = value;
    /* a destructor may call back into the table: its own entry is already gone */
    EXPECT_CU(g_get(&v, ctx, key), CUDA_ERROR_INVALID_HANDLE);
}

BFT_CASE(context_local_storage)
{
    void *const *t = table(CLS);
    REQUIRE(t != NULL);
    cls_put_fn put = (cls_put_fn)t[0];
    cls_del_fn del = (cls_del_fn)t[1];
    cls_get_fn get = g_get = (cls_get_fn)t[2];
    int k1, k2;
    void *v = NULL;
    CUcontext a = (CUcontext)0x1000, b = (CUcontext)0x5000;
    EXPECT_CU(get(&v, a, &k1), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CU(put(NULL, &k1, (void *)0x11, dtor), CUDA_SUCCESS);    /* NULL: the current context */
    EXPECT_CU(put(b, &k1, (void *)0x22, dtor), CUDA_SUCCESS);
    EXPECT_CU(put(a, &k2, (void *)0x33, NULL), CUDA_SUCCESS);
    EXPECT_CU(get(&v, a, &k1), CUDA_SUCCESS);
    EXPECT(v == (void *)0x11);
    EXPECT_CU(get(&v, NULL, &k2), CUDA_SUCCESS);
    EXPECT(v == (void *)0x33);
    EXPECT_CU(put(a, &k1, (void *)0x44, dtor), CUDA_SUCCESS);       /* replaces */
    EXPECT_CU(get(&v, a, &k1), CUDA_SUCCESS);
    EXPECT(v == (void *)0x44);
    EXPECT_CU(del(a, &k2), CUDA_SUCCESS);
    EXPECT_CU(del(a, &k2), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CU(get(NULL, a, &k1), CUDA_ERROR_INVALID_VALUE);
    g_dtor_calls = 0;
    bf_export_ctx_destroyed(a);
    EXPECT(g_dtor_calls == 1 && g_dtor_value == (void *)0x44);
    EXPECT_CU(get(&v, a, &k1), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CU(get(&v, b, &k1), CUDA_SUCCESS);                       /* other contexts untouched */
    EXPECT(v == (void *)0x22);
    bf_export_ctx_destroyed(a);
    EXPECT(g_dtor_calls == 1);
    bf_export_ctx_destroyed(b);
    EXPECT(g_dtor_calls == 2);
}

/* ---- integrity ----------------------------------------------------------------------------- */
static void hex(const unsigned char *d, char *out)
{
    for (int i = 0; i < 16; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

BFT_CASE(md2_rfc1319_vectors)
{
    static const struct { const char *in, *out; } v[] = {
        { "", "8350e5a3e24c153df2275c9f80692773" },
        { "a", "32ec01ec4a6dac72c0ab96fb34c0b5d1" },
        { "abc", "da853b0d3f88d99b30283a69e6ded6bb" },
        { "message digest", "ab4f496bfb2a530b219ff33031fe06b0" },
        { "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
          "d5976f79d83d3a0dc9806c3c66f3efd8" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        unsigned char d[16];
        char text[33];
        bf_export_md2(v[i].in, strlen(v[i].in), d);
        hex(d, text);
        EXPECT(strcmp(text, v[i].out) == 0, "MD2(\"%s\") = %s", v[i].in, text);
    }
}

BFT_CASE(integrity_table)
{
    void *const *it = table(INTEGRITY), *const *ct = table(CUDART);
    REQUIRE(it != NULL && ct != NULL);
    CUresult (*check)(unsigned, unsigned long long, unsigned long long *) =
        (CUresult (*)(unsigned, unsigned long long, unsigned long long *))it[1];
    unsigned long long got[2], want[2];
    EXPECT_CU(check(13000, 1, got), CUDA_SUCCESS);
    EXPECT(got[0] == 0x3341181C03CB675Cull && got[1] == 0x8ED383AA1F4CD1E8ull);
    EXPECT_CU(check(12091, 1, got), CUDA_SUCCESS);
    EXPECT(got[0] == 0x1841181C03CB675Cull && got[1] == 0x8ED383AA1F4CD1E8ull);
    EXPECT_CU(check(13002, 0x682b9cee, got), CUDA_SUCCESS);
    bf_export_device_hash devs[2];
    for (int d = 0; d < 2; d++) {
        memset(devs[d].uuid, 0x40 + d, 16);
        devs[d].pci_domain = CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID * 10 + d;
        devs[d].pci_bus = CU_DEVICE_ATTRIBUTE_PCI_BUS_ID * 10 + d;
        devs[d].pci_device = CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID * 10 + d;
    }
    bf_export_integrity_hash(13002, 0x682b9cee, 13000, (unsigned)getpid(), (unsigned)(uintptr_t)pthread_self(),
                             it, ct, it[1], devs, 2, want);
    EXPECT(got[0] == want[0] && got[1] == want[1]);
    /* every input counts */
    bf_export_integrity_hash(13002, 0x682b9cef, 13000, (unsigned)getpid(), (unsigned)(uintptr_t)pthread_self(),
                             it, ct, it[1], devs, 2, want);
    EXPECT(got[0] != want[0] || got[1] != want[1]);
    EXPECT_CU(check(13002, 1, NULL), CUDA_ERROR_INVALID_VALUE);
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
