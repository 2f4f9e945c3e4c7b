/* test_lease_parse.c: the lease client's pure parts (owner: proto/; lease_client.h): filter parsing
 * and matching against hand-built inventories, reservation files (parse, errors, write + read),
 * BITFUSION_LEASE values, the pool's -l list, lease requests that fail before any server answers,
 * and bitfusiond.yaml's lease_idle_limit. No server is needed. */
#include "bft.h"
#include "lease_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1ull << 20)

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* ---- filters: parsing ---------------------------------------------------------------------------- */
static bf_filter parse_ok(const char *expr)
{
    bf_filter f;
    char err[512] = "";
    int rc = bf_filter_parse(expr, &f, err, sizeof err);
    EXPECT(rc == 0, "'%s' -> %s", expr, err);
    return f;
}

/* Parsing fails with a message that contains `part`. */
static void parse_bad(const char *expr, const char *part)
{
    bf_filter f;
    char err[512] = "";
    EXPECT(bf_filter_parse(expr, &f, err, sizeof err) == -1, "'%s' was accepted", expr);
    EXPECT(strstr(err, part) != NULL, "'%s': message '%s' lacks '%s'", expr, err, part);
    EXPECT(!strchr(err, '\n'), "'%s': message is not one line", expr);
}

BFT_CASE(filter_each_operator)
{
    static const struct { const char *expr; bf_filter_op op; } cases[] = {
        {"device.phy-memory=16000", BF_OP_EQ},  {"device.phy-memory==16000", BF_OP_EQ},
        {"device.phy-memory!=16000", BF_OP_NE}, {"device.phy-memory<16000", BF_OP_LT},
        {"device.phy-memory<=16000", BF_OP_LE}, {"device.phy-memory>16000", BF_OP_GT},
        {"device.phy-memory>=16000", BF_OP_GE}, {"  device.phy-memory >=  16000  ", BF_OP_GE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bf_filter f = parse_ok(cases[i].expr);
        EXPECT(f.op == cases[i].op, "'%s': op %d", cases[i].expr, (int)f.op);
        EXPECT(!strcmp(f.key, "device.phy-memory"), "'%s': key '%s'", cases[i].expr, f.key);
        EXPECT(!strcmp(f.value, "16000"), "'%s': value '%s'", cases[i].expr, f.value);
    }
}

BFT_CASE(filter_each_key)
{
    static const char *keys[] = {"server.addr", "server.hostname", "server.cuda-version",
                                 "server.driver-version", "device.id", "device.name", "device.phy-memory"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char expr[128];
        snprintf(expr, sizeof expr, "%s = 12", keys[i]);
        bf_filter f = parse_ok(expr);
        EXPECT(!strcmp(f.key, keys[i]), "key '%s' for '%s'", f.key, expr);
    }
}

BFT_CASE(filter_values)
{
    bf_filter f = parse_ok("device.name == NVIDIA H200");
    EXPECT(!strcmp(f.value, "NVIDIA H200"), "'%s'", f.value);
    f = parse_ok("device.name=\"NVIDIA H200 \"");
    EXPECT(!strcmp(f.value, "NVIDIA H200 "), "'%s'", f.value);
    f = parse_ok("device.name != 'a=b'");
    EXPECT(!strcmp(f.value, "a=b") && f.op == BF_OP_NE, "'%s'", f.value);
    f = parse_ok("device.name=\"\"");
    EXPECT(!strcmp(f.value, ""), "'%s'", f.value);
    f = parse_ok("server.cuda-version>=12.4");
    EXPECT(!strcmp(f.value, "12.4"), "'%s'", f.value);
    f = parse_ok("server.addr==[::1]:56001");
    EXPECT(!strcmp(f.value, "[::1]:56001"), "'%s'", f.value);
}

BFT_CASE(filter_errors)
{
    char longv[400];
    memset(longv, 'x', sizeof longv);
    memcpy(longv, "device.name=", 12);
    longv[sizeof longv - 1] = 0;
    parse_bad("", "empty filter");
    parse_bad("   ", "empty filter");
    parse_bad(NULL, "empty filter");
    parse_bad("gpu.count=1", "unknown filter key 'gpu.count'");
    parse_bad("gpu.count=1", "device.phy-memory");            /* the known keys are listed */
    parse_bad("=5", "does not start with a key");
    parse_bad("device.name", "no operator");
    parse_bad("device.name ~ x", "no operator");
    parse_bad("device.name ~ x", "!=");                        /* the operators are listed */
    parse_bad("device.name =", "no value");
    parse_bad("device.name = \"abc", "closing \" is missing");
    parse_bad("device.name = 'abc\"", "closing ' is missing");
    parse_bad("device.name < abc", "need a number or version");
    parse_bad("device.phy-memory >= 16 GB", "need a number or version");
    parse_bad("server.cuda-version > 12.", "need a number or version");
    parse_bad(longv, "longer than 255");
    parse_bad("device.name = a\tb", "control character");
    parse_bad("device.phy-memoryxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=1", "unknown filter key 'device.phy-memoryxxx");
}

/* ---- filters: matching --------------------------------------------------------------------------- */
typedef struct fixture {
    Bitfusion__Inventory inv;
    Bitfusion__Gpu g[2];
    Bitfusion__Gpu *gp[2];
} fixture;

static void fixture_init(fixture *x)
{
    Bitfusion__Inventory inv = BITFUSION__INVENTORY__INIT;
    Bitfusion__Gpu g = BITFUSION__GPU__INIT;
    x->inv = inv;
    x->inv.hostname = "gpu1";
    x->inv.cuda_version = "13.0";
    x->inv.driver_version = "580.65.06";
    x->g[0] = g;
    x->g[0].index = 0;
    x->g[0].name = "NVIDIA H200";
    x->g[0].uuid = "GPU-11111111-2222-3333-4444-555555555555";
    x->g[0].pci_bus_id = "00000000:01:00.0";
    x->g[0].total = 143771ull * MIB;
    x->g[1] = g;
    x->g[1].index = 1;
    x->g[1].name = "Software GPU";
    x->g[1].total = 16384ull * MIB;
    x->gp[0] = &x->g[0];
    x->gp[1] = &x->g[1];
    x->inv.n_gpus = 2;
    x->inv.gpus = x->gp;
}

static int server_ok(const char *expr, const char *addr, const Bitfusion__Inventory *inv)
{
    bf_filter f = parse_ok(expr);
    return bf_filter_server_ok(&f, 1, addr, inv);
}

static int gpu_ok(const char *expr, const Bitfusion__Gpu *g)
{
    bf_filter f = parse_ok(expr);
    return bf_filter_gpu_ok(&f, 1, g);
}

BFT_CASE(filter_server_addr)
{
    fixture x;
    fixture_init(&x);
    const char *a = "10.0.0.5:56001";
    EXPECT(server_ok("server.addr=10.0.0.5:56001", a, &x.inv));
    EXPECT(server_ok("server.addr=10.0.0.5", a, &x.inv));
    EXPECT(!server_ok("server.addr=10.0.0.6", a, &x.inv));
    EXPECT(!server_ok("server.addr=10.0.0.5:56002", a, &x.inv));
    EXPECT(!server_ok("server.addr!=10.0.0.5", a, &x.inv));
    EXPECT(!server_ok("server.addr!=10.0.0.5:56001", a, &x.inv));
    EXPECT(server_ok("server.addr!=10.0.0.6", a, &x.inv));
    EXPECT(server_ok("server.addr=GPU-A", "gpu-a:56001", &x.inv));
    EXPECT(server_ok("server.addr=::1", "[::1]:56001", &x.inv));
    EXPECT(server_ok("server.addr=[::1]:56001", "[::1]:56001", &x.inv));
    EXPECT(server_ok("server.addr=10.0.0.5", a, NULL), "needs no inventory");
}

BFT_CASE(filter_server_inventory_keys)
{
    fixture x;
    fixture_init(&x);
    const char *a = "gpu1:56001";
    EXPECT(server_ok("server.hostname=gpu1", a, &x.inv));
    EXPECT(server_ok("server.hostname=GPU1", a, &x.inv), "host names ignore case");
    EXPECT(server_ok("server.hostname!=gpu2", a, &x.inv));
    EXPECT(!server_ok("server.hostname=gpu2", a, &x.inv));
    EXPECT(server_ok("server.cuda-version=13", a, &x.inv), "13.0 = 13");
    EXPECT(server_ok("server.cuda-version>=12.4", a, &x.inv));
    EXPECT(server_ok("server.cuda-version>12.10", a, &x.inv));
    EXPECT(!server_ok("server.cuda-version<13", a, &x.inv));
    EXPECT(server_ok("server.cuda-version<=13.0.0", a, &x.inv));
    EXPECT(server_ok("server.driver-version>=580.65", a, &x.inv));
    EXPECT(server_ok("server.driver-version>580.9", a, &x.inv), "versions compare by component");
    EXPECT(!server_ok("server.driver-version<575", a, &x.inv));
    EXPECT(!server_ok("server.hostname=gpu1", a, NULL), "no inventory: no match");
    x.inv.cuda_version = "";
    EXPECT(!server_ok("server.cuda-version>=12", a, &x.inv), "an ordering on a non-number is false");
    EXPECT(server_ok("server.cuda-version!=12", a, &x.inv));
    x.inv.cuda_version = "unknown";
    EXPECT(!server_ok("server.cuda-version<99", a, &x.inv));
}

BFT_CASE(filter_gpu_keys)
{
    fixture x;
    fixture_init(&x);
    EXPECT(gpu_ok("device.id=0", &x.g[0]));
    EXPECT(!gpu_ok("device.id=0", &x.g[1]));
    EXPECT(gpu_ok("device.id>0", &x.g[1]));
    EXPECT(!gpu_ok("device.id!=0", &x.g[0]));
    EXPECT(gpu_ok("device.id=GPU-11111111-2222-3333-4444-555555555555", &x.g[0]), "by UUID");
    EXPECT(gpu_ok("device.id=00000000:01:00.0", &x.g[0]), "by PCI bus id");
    EXPECT(!gpu_ok("device.id!=00000000:01:00.0", &x.g[0]));
    EXPECT(gpu_ok("device.name=NVIDIA H200", &x.g[0]));
    EXPECT(gpu_ok("device.name == 'nvidia h200'", &x.g[0]), "names ignore case");
    EXPECT(!gpu_ok("device.name=NVIDIA H200", &x.g[1]));
    EXPECT(gpu_ok("device.name!=NVIDIA H200", &x.g[1]));
    EXPECT(gpu_ok("device.phy-memory=16384", &x.g[1]), "MiB");
    EXPECT(gpu_ok("device.phy-memory>=16000", &x.g[1]));
    EXPECT(!gpu_ok("device.phy-memory>16384", &x.g[1]));
    EXPECT(gpu_ok("device.phy-memory>100000", &x.g[0]));
    EXPECT(gpu_ok("device.phy-memory<16385", &x.g[1]));
    EXPECT(!gpu_ok("device.phy-memory<=16383", &x.g[1]));
}

BFT_CASE(filter_lists_split_by_scope)
{
    fixture x;
    fixture_init(&x);
    bf_filter f[3] = {parse_ok("server.hostname=gpu1"), parse_ok("device.phy-memory>=20000"),
                      parse_ok("device.name!=foo")};
    EXPECT(bf_filter_server_ok(f, 3, "gpu1:56001", &x.inv), "device filters do not judge servers");
    EXPECT(bf_filter_gpu_ok(f, 3, &x.g[0]), "server filters do not judge GPUs");
    EXPECT(!bf_filter_gpu_ok(f, 3, &x.g[1]), "every filter must hold");
    EXPECT(bf_filter_server_ok(NULL, 0, "x:1", NULL) && bf_filter_gpu_ok(NULL, 0, &x.g[1]), "none: all pass");
    f[0] = parse_ok("server.hostname=gpu2");
    EXPECT(!bf_filter_server_ok(f, 3, "gpu1:56001", &x.inv));
}

/* ---- reservation files --------------------------------------------------------------------------- */
static const char GOOD[] = "# bitfusion reservation: release with 'bitfusion release_gpus -f adaptor.conf'\n"
                           "server: 127.0.0.1:56001\n"
                           "lease: 0123456789abcdef0123456789abcdef\n"
                           "num_gpus: 2\n"
                           "partition_mib: 8192\n"
                           "keeper_pid: 12345\n";

static int res_parse(const char *text, bf_reservation *r, char *err, size_t errlen)
{
    return bf_reservation_parse("r.conf", text, strlen(text), r, err, errlen);
}

/* Parsing `text` fails with exactly "r.conf:LINE: ..." containing `part` (line 0: no line). */
static void res_bad(const char *text, int line, const char *part)
{
    bf_reservation r;
    char err[512] = "", want[32];
    EXPECT(res_parse(text, &r, err, sizeof err) == -1, "accepted:\n%s", text);
    if (line)
        snprintf(want, sizeof want, "r.conf:%d: ", line);
    else
        snprintf(want, sizeof want, "r.conf: ");
    EXPECT(!strncmp(err, want, strlen(want)), "message '%s' does not start with '%s'", err, want);
    EXPECT(strstr(err, part) != NULL, "message '%s' lacks '%s'", err, part);
    EXPECT(!strchr(err, '\n'), "message is not one line: %s", err);
}

BFT_CASE(reservation_good)
{
    bf_reservation r;
    char err[512] = "";
    REQUIRE(res_parse(GOOD, &r, err, sizeof err) == 0, "%s", err);
    EXPECT(!strcmp(r.server, "127.0.0.1:56001"), "%s", r.server);
    EXPECT(!strcmp(r.lease, "0123456789abcdef0123456789abcdef"), "%s", r.lease);
    EXPECT(r.num_gpus == 2 && r.partition_mib == 8192 && r.keeper_pid == 12345);
    REQUIRE(res_parse("server: \"[::1]:7\"\nlease: ABCDEF\nnum_gpus: 1\npartition_mib: 1\n", &r, err,
                      sizeof err) == 0, "%s", err);
    EXPECT(!strcmp(r.server, "[::1]:7") && r.keeper_pid == 0, "keeper_pid is optional");
}

BFT_CASE(reservation_missing_keys)
{
    static const char *keys[] = {"server", "lease", "num_gpus", "partition_mib"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char text[512] = "", part[64];
        const char *line = strchr(GOOD, '\n') + 1; /* skip the comment */
        while (*line) {
            const char *end = strchr(line, '\n') + 1;
            if (strncmp(line, keys[i], strlen(keys[i])) || line[strlen(keys[i])] != ':')
                strncat(text, line, (size_t)(end - line));
            line = end;
        }
        snprintf(part, sizeof part, "'%s' is missing", keys[i]);
        res_bad(text, 1, part);
    }
    res_bad("", 0, "'server' is missing");
}

BFT_CASE(reservation_bad_values)
{
    res_bad("server: 127.0.0.1\nlease: ab\nnum_gpus: 1\npartition_mib: 1\n", 1, "server must be HOST:PORT");
    res_bad("server: [a, b]\n", 1, "server must be a single value");
    res_bad("server: h:1\nlease: xyz!\n", 2, "lease must be the lease id");
    res_bad("server: h:1\nlease: \"\"\n", 2, "lease must be the lease id");
    res_bad("server: h:1\nlease: ab\nnum_gpus: two\n", 3, "num_gpus must be a whole number from 1 to 16");
    res_bad("num_gpus: 0\n", 1, "num_gpus must be");
    res_bad("num_gpus: 17\n", 1, "num_gpus must be");
    res_bad("num_gpus: {a: 1}\n", 1, "not '(a list or mapping)'");
    res_bad("partition_mib: -5\n", 1, "partition_mib must be a whole number");
    res_bad("partition_mib: 0\n", 1, "partition_mib must be");
    res_bad("partition_mib: 99999999999999999999999\n", 1, "partition_mib must be");
    res_bad("partition_mib: 12abc\n", 1, "partition_mib must be");
    res_bad("keeper_pid: 0\n", 1, "keeper_pid must be");
    res_bad("\n\nfoo: 1\n", 3, "unknown key 'foo' (known: server, lease, num_gpus, partition_mib, keeper_pid)");
}

BFT_CASE(reservation_garbage)
{
    res_bad("just words", 1, "must be a mapping");
    res_bad("- a\n- b\n", 1, "must be a mapping");
    res_bad("server: h:1\n  lease: [\n", 2, "not valid YAML");
    res_bad("a: b: c\n", 1, "not valid YAML");
    res_bad("\x01\x02\x03", 1, "not valid YAML");
    res_bad("[1, 2]: x\n", 1, "keys in the file must be plain words");
}

static int same(const bf_reservation *a, const bf_reservation *b)
{
    return !strcmp(a->server, b->server) && !strcmp(a->lease, b->lease) && a->num_gpus == b->num_gpus &&
           a->partition_mib == b->partition_mib && a->keeper_pid == b->keeper_pid;
}

static char *tmp_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/bf-lease-test.XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    return dir;
}

BFT_CASE(reservation_write_read)
{
    char *dir = tmp_dir(), path[128], err[512] = "";
    bf_reservation w = {.num_gpus = 3, .partition_mib = 40960, .keeper_pid = 4242}, r;
    snprintf(w.server, sizeof w.server, "gpu-7.example:56001");
    snprintf(w.lease, sizeof w.lease, "00112233445566778899aabbccddeeff");
    snprintf(path, sizeof path, "%s/adaptor.conf", dir);
    REQUIRE(bf_reservation_write(path, &w, err, sizeof err) == 0, "%s", err);
    REQUIRE(bf_reservation_read(path, &r, err, sizeof err) == 0, "%s", err);
    EXPECT(same(&w, &r), "round trip changed the reservation");
    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    EXPECT((st.st_mode & 0777) == 0600, "mode %o", st.st_mode & 0777);
    size_t len;
    char *text = bft_read_file(path, &len);
    REQUIRE(text != NULL);
    char first[256];
    snprintf(first, sizeof first, "# bitfusion reservation: release with 'bitfusion release_gpus -f %s'\n", path);
    EXPECT(!strncmp(text, first, strlen(first)), "first line: %.*s", (int)strcspn(text, "\n"), text);
    EXPECT(strstr(text, "\nserver: gpu-7.example:56001\n") && strstr(text, "\nkeeper_pid: 4242\n"), "%s", text);

    /* overwritten in place; an IPv6 address and no keeper */
    snprintf(w.server, sizeof w.server, "[::1]:56001");
    w.keeper_pid = 0;
    REQUIRE(bf_reservation_write(path, &w, err, sizeof err) == 0, "%s", err);
    REQUIRE(bf_reservation_read(path, &r, err, sizeof err) == 0, "%s", err);
    EXPECT(same(&w, &r), "IPv6 round trip changed the reservation (%s)", r.server);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    EXPECT(system(cmd) == 0, "temporary files left in %s", dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    EXPECT(system(cmd) == 0);
}

BFT_CASE(reservation_file_errors)
{
    bf_reservation r = {.num_gpus = 1, .partition_mib = 1}, got;
    char err[512] = "";
    snprintf(r.server, sizeof r.server, "h:1");
    snprintf(r.lease, sizeof r.lease, "ab");
    EXPECT(bf_reservation_write("/nonexistent-dir/adaptor.conf", &r, err, sizeof err) == -1);
    EXPECT(strstr(err, "cannot write /nonexistent-dir/adaptor.conf") && strstr(err, "-f FILE"), "%s", err);
    EXPECT(bf_reservation_read("/nonexistent-dir/adaptor.conf", &got, err, sizeof err) == -1);
    EXPECT(strstr(err, "cannot read /nonexistent-dir/adaptor.conf") && !strchr(err, '\n'), "%s", err);
}

/* ---- BITFUSION_LEASE ------------------------------------------------------------------------------ */
BFT_CASE(lease_env_round_trip)
{
    bf_lease l = {.port = 56001};
    char s[512], id[64], host[256];
    int port = 0;
    snprintf(l.id, sizeof l.id, "0123456789abcdef0123456789abcdef");
    snprintf(l.host, sizeof l.host, "10.0.0.5");
    bf_lease_env_format(&l, s, sizeof s);
    EXPECT(!strcmp(s, "0123456789abcdef0123456789abcdef@10.0.0.5:56001"), "%s", s);
    REQUIRE(bf_lease_env_parse(s, id, sizeof id, host, sizeof host, &port) == 0);
    EXPECT(!strcmp(id, l.id) && !strcmp(host, "10.0.0.5") && port == 56001);
    snprintf(l.host, sizeof l.host, "fe80::1");
    l.port = 7;
    bf_lease_env_format(&l, s, sizeof s);
    EXPECT(!strcmp(s, "0123456789abcdef0123456789abcdef@[fe80::1]:7"), "%s", s);
    REQUIRE(bf_lease_env_parse(s, id, sizeof id, host, sizeof host, &port) == 0);
    EXPECT(!strcmp(host, "fe80::1") && port == 7);
    REQUIRE(bf_lease_env_parse("AB@gpu-host:9", id, sizeof id, host, sizeof host, &port) == 0);
    EXPECT(!strcmp(id, "AB") && !strcmp(host, "gpu-host") && port == 9);
}

BFT_CASE(lease_env_errors)
{
    static const char *bad[] = {NULL, "", "abc", "@h:1", "xyz@h:1", "ab@", "ab@h", "ab@h:", "ab@h:0",
                                "ab@h:65536", "ab@h:1x", "ab@::1:5", "ab@[::1]", "ab@[::1:5", "a b@h:1",
                                "ab@h h:1"};
    char id[64], host[256];
    int port;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT(bf_lease_env_parse(bad[i], id, sizeof id, host, sizeof host, &port) == -1, "'%s' accepted",
               bad[i] ? bad[i] : "(null)");
    char longid[80];
    memset(longid, 'a', 70);
    snprintf(longid + 70, sizeof longid - 70, "@h:1");
    EXPECT(bf_lease_env_parse(longid, id, sizeof id, host, sizeof host, &port) == -1, "an over-long id");
    EXPECT(bf_lease_env_parse("ab@h:1", id, 2, host, sizeof host, &port) == -1, "id buffer too small");
}

/* ---- the pool's list, and requests no server can answer ------------------------------------------- */
static void no_tls_config(bf_client_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->ca, sizeof c->ca, "/nonexistent/ca.crt");
    snprintf(c->cert, sizeof c->cert, "/nonexistent/client.crt");
    snprintf(c->key, sizeof c->key, "/nonexistent/client.key");
    snprintf(c->dir, sizeof c->dir, "/nonexistent");
    c->timeout_ms = 2000;
}

BFT_CASE(pool_list)
{
    static bf_pool p;
    bf_client_config cfg;
    char err[512] = "";
    no_tls_config(&cfg);
    REQUIRE(bf_pool_query(&p, &cfg, " 127.0.0.1:1 ,[::1]:2,gpu3", err, sizeof err) == 0, "%s", err);
    REQUIRE(p.n == 3);
    EXPECT(!strcmp(p.s[0].addr, "127.0.0.1:1") && p.s[0].port == 1 && !strcmp(p.s[0].host, "127.0.0.1"));
    EXPECT(!strcmp(p.s[1].addr, "[::1]:2") && !strcmp(p.s[1].host, "::1"), "%s", p.s[1].addr);
    EXPECT(!strcmp(p.s[2].addr, "gpu3:56001") && p.s[2].port == BF_DEFAULT_PORT, "%s", p.s[2].addr);
    for (int i = 0; i < 3; i++) {
        EXPECT(!p.s[i].inv, "server %d answered", i);
        EXPECT(strstr(p.s[i].error, p.s[i].host) && strstr(p.s[i].error, "/nonexistent/ca.crt"),
               "error names neither the server nor the problem: %s", p.s[i].error);
    }
    bf_pool_free(&p);
    EXPECT(bf_pool_query(&p, &cfg, "a:1,,b", err, sizeof err) == -1, "an empty entry");
    EXPECT(strstr(err, "'' is not HOST[:PORT]"), "%s", err);
    EXPECT(bf_pool_query(&p, &cfg, "a:99999", err, sizeof err) == -1);
    EXPECT(strstr(err, "'a:99999' is not HOST[:PORT]"), "%s", err);
    EXPECT(p.n == 0);
    cfg.nservers = 2;
    snprintf(cfg.servers[0].host, sizeof cfg.servers[0].host, "a");
    cfg.servers[0].port = 5;
    snprintf(cfg.servers[1].host, sizeof cfg.servers[1].host, "b");
    cfg.servers[1].port = 6;
    REQUIRE(bf_pool_query(&p, &cfg, NULL, err, sizeof err) == 0, "%s", err);
    EXPECT(p.n == 2 && !strcmp(p.s[1].addr, "b:6"));
    bf_pool_free(&p);
}

static bf_lease_want want_one(const char *list)
{
    bf_lease_want w = {.num_gpus = 1, .bytes = 8192 * MIB, .server_list = list, .prog = "test"};
    return w;
}

BFT_CASE(acquire_bad_requests)
{
    bf_client_config cfg;
    bf_lease l;
    char err[512] = "";
    no_tls_config(&cfg);
    bf_lease_want w = want_one("h:1");
    w.num_gpus = 0;
    EXPECT(bf_lease_acquire(&cfg, &w, &l, err, sizeof err) == -1 && strstr(err, "a lease has 1 to 16"), "%s", err);
    w.num_gpus = 17;
    EXPECT(bf_lease_acquire(&cfg, &w, &l, err, sizeof err) == -1 && strstr(err, "a lease has 1 to 16"), "%s", err);
    w = want_one("h:1");
    w.fraction = 1.5;
    w.bytes = 0;
    EXPECT(bf_lease_acquire(&cfg, &w, &l, err, sizeof err) == -1 && strstr(err, "not a fraction"), "%s", err);
    w.fraction = 0.5;
    w.bytes = MIB;
    EXPECT(bf_lease_acquire(&cfg, &w, &l, err, sizeof err) == -1 && strstr(err, "not both"), "%s", err);
    w = want_one("h:1,");
    EXPECT(bf_lease_acquire(&cfg, &w, &l, err, sizeof err) == -1 && strstr(err, "server list"), "%s", err);
    w = want_one(NULL);
    EXPECT(bf_lease_acquire(&cfg, &w, &l, err, sizeof err) == -1 && strstr(err, "no GPU servers to ask"),
           "%s", err);
}

BFT_CASE(acquire_unreachable)
{
    bf_client_config cfg;
    bf_lease l;
    char err[1024] = "";
    no_tls_config(&cfg);
    bf_lease_want w = want_one("127.0.0.1:1,127.0.0.1:2");
    bft_capture_begin(2);
    int rc = bf_lease_acquire(&cfg, &w, &l, err, sizeof err);
    char *said = bft_capture_end(2);
    EXPECT(rc == -1);
    EXPECT(starts(err, "cannot reach any GPU server (2 servers asked, 2 unreachable: "), "%s", err);
    EXPECT(strstr(err, "127.0.0.1") && !strstr(err, "waited"), "%s", err);
    EXPECT(!said[0], "printed '%s' without waiting", said);

    w.wait_s = 2; /* it waits, says so once, asks again every second, then gives up */
    double t0 = bft_now();
    bft_capture_begin(2);
    rc = bf_lease_acquire(&cfg, &w, &l, err, sizeof err);
    said = bft_capture_end(2);
    double took = bft_now() - t0;
    EXPECT(rc == -1 && strstr(err, "; waited 2 s"), "%s", err);
    EXPECT(took >= 1.9 && took < 6, "took %.1f s", took);
    EXPECT(starts(said, "test: waiting for 1 GPU with 8192 MiB free (2 servers asked, 2 unreachable: "), "%s", said);
    EXPECT(strstr(said, "; up to 2 s\n") && strchr(said, '\n') == said + strlen(said) - 1, "not one line: %s", said);
}

/* ---- bitfusiond.yaml: lease_idle_limit ------------------------------------------------------------ */
static int server_yaml(const char *text, bf_server_config *c, char *err, size_t errlen)
{
    bf_server_config_defaults(c);
    return bf_server_config_parse(c, "b.yaml", "/d", text, strlen(text), err, errlen);
}

BFT_CASE(config_lease_idle_limit)
{
    bf_server_config c;
    char err[512] = "";
    REQUIRE(server_yaml("listen: \"*:1\"\n", &c, err, sizeof err) == 0, "%s", err);
    EXPECT(c.lease_idle_limit_s == 0, "default %d", c.lease_idle_limit_s);
    REQUIRE(server_yaml("lease_idle_limit: 3600\n", &c, err, sizeof err) == 0, "%s", err);
    EXPECT(c.lease_idle_limit_s == 3600);
    REQUIRE(server_yaml("lease_idle_limit: 604800\n", &c, err, sizeof err) == 0, "%s", err);
    EXPECT(c.lease_idle_limit_s == 604800);
    EXPECT(server_yaml("\nlease_idle_limit: 604801\n", &c, err, sizeof err) == -1);
    EXPECT(starts(err, "b.yaml:2: lease_idle_limit") && strstr(err, "from 0 to 604800"), "%s", err);
    EXPECT(server_yaml("lease_idle_limit: -1\n", &c, err, sizeof err) == -1);
    EXPECT(server_yaml("lease_idle_limit: 1h\n", &c, err, sizeof err) == -1);
    EXPECT(server_yaml("lease_idle: 1\n", &c, err, sizeof err) == -1);
    EXPECT(strstr(err, "unknown key 'lease_idle'") && strstr(err, "lease_idle_limit, devices)"), "%s", err);
}

/* bitfusiond.yaml: devices (which GPUs the server offers) */
BFT_CASE(config_devices)
{
    bf_server_config c;
    char err[512];
    REQUIRE(server_yaml("lease_idle_limit: 0\n", &c, err, sizeof err) == 0, "%s", err);
    EXPECT(c.devices[0] == 0, "default '%s'", c.devices);
    REQUIRE(server_yaml("devices: all\n", &c, err, sizeof err) == 0, "%s", err);
    EXPECT(c.devices[0] == 0, "'%s'", c.devices);
    REQUIRE(server_yaml("devices: [2, 0]\n", &c, err, sizeof err) == 0, "%s", err);
    EXPECT(!strcmp(c.devices, "2,0"), "'%s'", c.devices);
    EXPECT(server_yaml("\ndevices: some\n", &c, err, sizeof err) == -1);
    EXPECT(starts(err, "b.yaml:2: devices must be 'all' or a list"), "%s", err);
    EXPECT(server_yaml("devices: []\n", &c, err, sizeof err) == -1);
    EXPECT(server_yaml("devices: [0, x]\n", &c, err, sizeof err) == -1);
    EXPECT(strstr(err, "each device must be a whole number"), "%s", err);
}

int main(int argc, char **argv)
{
    return bft_main(argc, argv);
}
