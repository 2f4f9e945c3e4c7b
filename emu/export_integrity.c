/* export_integrity.c: the integrity-check table {d4082055-bde6-704b-8d34-ba123c66e1f2}. The
 * static CUDA runtime calls slot 1 as fn(unsigned version, uint64 unix_seconds, uint64 out[2])
 * and compares out with the value it computes itself; a wrong value makes every runtime call
 * fail with cudaErrorSoftwareValidityNotEstablished (103).
 *
 * The value (as documented by ZLUDA's dark_api) is HMAC-MD2 (RFC 1319 MD2, RFC 2104 HMAC with a
 * 16-byte block) under a fixed 16-byte key of the message
 *   u32 driver version (cuDriverGetVersion), u32 version, u32 getpid(), u32 (pthread_self()),
 *   void *cudart-interface table, void *integrity table, void *integrity table slot 1,
 *   u64 unix_seconds,
 * followed, for every device, by its UUID (16 bytes) and i32 PCI domain, bus and device ids.
 * Versions ending in 0 or 1 (version % 10) get fixed answers instead. Owns only this table. */
#include "export_tables.h"
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* ---- MD2 (RFC 1319) --------------------------------------------------------------------- */
/* The permutation of 0..255 built from the digits of pi (RFC 1319, section 3.2). */
static const uint8_t md2_s[256] = {
    41, 46, 67, 201, 162, 216, 124, 1, 61, 54, 84, 161, 236, 240, 6, 19,
    98, 167, 5, 243, 192, 199, 115, 140, 152, 147, 43, 217, 188, 76, 130, 202,
    30, 155, 87, 60, 253, 212, 224, 22, 103, 66, 111, 24, 138, 23, 229, 18,
    190, 78, 196, 214, 218, 158, 222, 73, 160, 251, 245, 142, 187, 47, 238, 122,
    169, 104, 121, 145, 21, 178, 7, 63, 148, 194, 16, 137, 11, 34, 95, 33,
    128, 127, 93, 154, 90, 144, 50, 39, 53, 62, 204, 231, 191, 247, 151, 3,
    255, 25, 48, 179, 72, 165, 181, 209, 215, 94, 146, 42, 172, 86, 170, 198,
    79, 184, 56, 210, 150, 164, 125, 182, 118, 252, 107, 226, 156, 116, 4, 241,
    69, 157, 112, 89, 100, 113, 135, 32, 134, 91, 207, 101, 230, 45, 168, 2,
    27, 96, 37, 173, 174, 176, 185, 246, 28, 70, 97, 105, 52, 64, 126, 15,
    85, 71, 163, 35, 221, 81, 175, 58, 195, 92, 249, 206, 186, 197, 234, 38,
    44, 83, 13, 110, 133, 40, 132, 9, 211, 223, 205, 244, 65, 129, 77, 82,
    106, 220, 55, 200, 108, 193, 171, 250, 36, 225, 123, 8, 12, 189, 177, 74,
    120, 136, 149, 139, 227, 99, 232, 109, 233, 203, 213, 254, 59, 0, 29, 57,
    242, 239, 183, 14, 102, 88, 208, 228, 166, 119, 114, 248, 235, 117, 75, 10,
    49, 68, 80, 180, 143, 237, 31, 26, 219, 153, 141, 51, 159, 17, 131, 20,
};

typedef struct md2 {
    uint8_t x[48];           /* state (0..15), block (16..31), state ^ block (32..47) */
    uint8_t sum[16];         /* running checksum */
    uint8_t n;               /* bytes in the current block */
    uint8_t last;            /* last checksum byte */
} md2;

static void md2_compress(md2 *m)
{
    uint8_t t = 0;
    for (int round = 0; round < 18; round++) {
        for (int k = 0; k < 48; k++)
            t = m->x[k] ^= md2_s[t];
        t = (uint8_t)(t + round);
    }
}

static void md2_byte(md2 *m, uint8_t b)
{
    m->x[16 + m->n] = b;
    m->x[32 + m->n] = m->x[m->n] ^ b;
    m->last = m->sum[m->n] ^= md2_s[b ^ m->last];
    m->n = (m->n + 1) & 15;
    if (m->n == 0)
        md2_compress(m);
}

static void md2_update(md2 *m, const void *data, size_t len, uint8_t xor_mask)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        md2_byte(m, p[i] ^ xor_mask);
}

static void md2_final(md2 *m, uint8_t digest[16])
{
    uint8_t pad = (uint8_t)(16 - m->n);
    for (int i = 0; i < pad; i++)
        md2_byte(m, pad);
    uint8_t sum[16];
    memcpy(sum, m->sum, 16);
    md2_update(m, sum, 16, 0);
    memcpy(digest, m->x, 16);
}

void bf_export_md2(const void *data, unsigned long len, unsigned char out[16])
{
    md2 m;
    memset(&m, 0, sizeof m);
    md2_update(&m, data, len, 0);
    md2_final(&m, out);
}

/* ---- the hash ------------------------------------------------------------------------------ */
static const uint8_t hmac_key[16] = {
    0x14, 0x6a, 0xdd, 0xae, 0x53, 0xa9, 0xa7, 0x52, 0xaa, 0x08, 0x41, 0x36, 0x0b, 0xf5, 0x5a, 0x9f,
};

struct hash_header {         /* 40 bytes, no padding on LP64 */
    uint32_t driver_version, version, pid, tid;
    const void *cudart_table, *integrity_table, *fn_address;
    uint64_t unix_seconds;
};

struct hash_device {         /* 28 bytes */
    uint8_t uuid[16];
    int32_t pci_domain, pci_bus, pci_device;
};

void bf_export_integrity_hash(unsigned version, unsigned long long unix_seconds,
                              unsigned driver_version, unsigned pid, unsigned tid,
                              const void *integrity_table, const void *cudart_table,
                              const void *fn_address, const bf_export_device_hash *devs,
                              int ndevs, unsigned long long out[2])
{
    if (version % 10 == 0 || version % 10 == 1) {
        out[0] = version % 10 == 0 ? 0x3341181C03CB675Cull : 0x1841181C03CB675Cull;
        out[1] = 0x8ED383AA1F4CD1E8ull;
        return;
    }
    md2 m;
    memset(&m, 0, sizeof m);
    md2_update(&m, hmac_key, 16, 0x36);
    struct hash_header h = { driver_version, version, pid, tid, cudart_table, integrity_table,
                             fn_address, unix_seconds };
    md2_update(&m, &h, sizeof h, 0);
    for (int i = 0; i < ndevs; i++) {
        struct hash_device d;
        memcpy(d.uuid, devs[i].uuid, 16);
        d.pci_domain = devs[i].pci_domain;
        d.pci_bus = devs[i].pci_bus;
        d.pci_device = devs[i].pci_device;
        md2_update(&m, &d, sizeof d, 0);
    }
    uint8_t inner[16];
    md2_final(&m, inner);
    memset(&m, 0, sizeof m);
    md2_update(&m, hmac_key, 16, 0x5c);
    md2_update(&m, inner, 16, 0);
    uint8_t digest[16];
    md2_final(&m, digest);
    memcpy(out, digest, 16);
}

/* ---- the table ----------------------------------------------------------------------------- */
static int device_hash_info(int dev, bf_export_device_hash *d)
{
    const bf_export_ops *ops = bf_export_driver;
    CUuuid u;
    memset(d, 0, sizeof *d);
    if (ops->device_get_uuid(&u, dev) != CUDA_SUCCESS ||
        ops->device_get_attribute(&d->pci_domain, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, dev) != CUDA_SUCCESS ||
        ops->device_get_attribute(&d->pci_bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, dev) != CUDA_SUCCESS ||
        ops->device_get_attribute(&d->pci_device, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, dev) != CUDA_SUCCESS)
        return -1;
    memcpy(d->uuid, u.bytes, 16);
    return 0;
}

#define MAX_HASH_DEVICES 64

static CUresult integrity_check(unsigned version, unsigned long long unix_seconds,
                                unsigned long long *out)
{
    const bf_export_ops *ops = bf_export_driver;
    if (!out || !ops)
        return CUDA_ERROR_INVALID_VALUE;
    int driver_version = 0, n = 0;
    if (ops->driver_get_version(&driver_version) != CUDA_SUCCESS)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (ops->device_get_count(&n) != CUDA_SUCCESS)
        n = 0;
    if (n > MAX_HASH_DEVICES)
        n = MAX_HASH_DEVICES;
    bf_export_device_hash devs[MAX_HASH_DEVICES];
    for (int i = 0; i < n; i++)
        if (device_hash_info(i, &devs[i]) != 0)
            return CUDA_ERROR_INVALID_DEVICE;
    bf_export_integrity_hash(version, unix_seconds, (unsigned)driver_version, (unsigned)getpid(),
                             (unsigned)(uintptr_t)pthread_self(), bf_export_integrity_table,
                             bf_export_cudart_interface, bf_export_integrity_table[1], devs, n, out);
    BF_EXPORT_DEBUG("export table integrity check: version %u, %d device(s)", version, n);
    return CUDA_SUCCESS;
}

void *bf_export_integrity_table[] = {
    BF_EXPORT_SIZE_OF(3),
    (void *)integrity_check,
    NULL,
};
const int bf_export_integrity_table_len = 3;
