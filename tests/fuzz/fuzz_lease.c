/* fuzz_lease.c: libFuzzer target for the lease client's parsers (proto/config.c reservation files,
 * proto/filter.c, BITFUSION_LEASE in proto/lease_client.c). The first byte picks the parser, the
 * rest is its input. A reservation file must parse into values in range or fail with one line
 * naming the file; a filter must parse into a known key and a bounded value (then it is matched
 * against a fixed inventory) or fail with one line; a lease value that parses must format back
 * to a value that parses the same. `make fuzz-lease-run`. */
#include "lease_client.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void one_line_or_abort(const char *err, const char *prefix)
{
    if (!err[0] || strchr(err, '\n') || strncmp(err, prefix, strlen(prefix)) != 0)
        abort();
}

static void fuzz_reservation(const uint8_t *buf, size_t len)
{
    bf_reservation r;
    char err[1024] = "", host[256];
    int port;
    if (bf_reservation_parse("r.conf", buf, len, &r, err, sizeof err) != 0) {
        one_line_or_abort(err, "r.conf");
        return;
    }
    if (r.num_gpus < 1 || r.num_gpus > BF_LEASE_MAX_GPUS || r.partition_mib < 1 || r.keeper_pid < 0 ||
        !r.lease[0] || bf_parse_hostport(r.server, 0, host, sizeof host, &port) != 0 || port < 1)
        abort();
}

static void match_fixed(const bf_filter *f)
{
    Bitfusion__Inventory inv = BITFUSION__INVENTORY__INIT;
    Bitfusion__Gpu g = BITFUSION__GPU__INIT, *gp = &g;
    inv.hostname = "gpu1";
    inv.cuda_version = "13.0";
    inv.driver_version = "580.65.06";
    g.name = "NVIDIA H200";
    g.uuid = "GPU-11111111-2222-3333-4444-555555555555";
    g.total = 143771ull << 20;
    inv.n_gpus = 1;
    inv.gpus = &gp;
    (void)bf_filter_server_ok(f, 1, "10.0.0.5:56001", &inv);
    (void)bf_filter_server_ok(f, 1, "[::1]:56001", NULL);
    (void)bf_filter_gpu_ok(f, 1, &g);
}

static void fuzz_filter(const uint8_t *buf, size_t len)
{
    char *expr = malloc(len + 1), err[1024] = "";
    bf_filter f;
    memcpy(expr, buf, len);
    expr[len] = 0;
    if (bf_filter_parse(expr, &f, err, sizeof err) != 0) {
        one_line_or_abort(err, "");
    } else {
        if (strncmp(f.key, "server.", 7) && strncmp(f.key, "device.", 7))
            abort();
        if (strlen(f.value) >= sizeof f.value || (unsigned)f.op > BF_OP_GE)
            abort();
        match_fixed(&f);
    }
    free(expr);
}

static void fuzz_env(const uint8_t *buf, size_t len)
{
    char *s = malloc(len + 1), id[64], host[256], again[600], id2[64], host2[256];
    int port, port2;
    memcpy(s, buf, len);
    s[len] = 0;
    if (bf_lease_env_parse(s, id, sizeof id, host, sizeof host, &port) == 0) {
        bf_lease l = {.port = port};
        memcpy(l.id, id, sizeof id);
        memcpy(l.host, host, sizeof host);
        bf_lease_env_format(&l, again, sizeof again);
        if (bf_lease_env_parse(again, id2, sizeof id2, host2, sizeof host2, &port2) != 0 || strcmp(id, id2) ||
            strcmp(host, host2) || port != port2)
            abort();
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: fuzz_reservation(data + 1, size - 1); break;
    case 1: fuzz_filter(data + 1, size - 1); break;
    default: fuzz_env(data + 1, size - 1); break;
    }
    return 0;
}
