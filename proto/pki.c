/* pki.c: `bitfusiond pki init` and `bitfusiond pki client` (see pki.h): a cluster CA, the server's
 * certificate and client bundles, with the OpenSSL C API. Keys are EC P-256, signatures SHA-256,
 * serials 128 random bits; private keys are written 0600 and never overwritten. */
#include "pki.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define DAY (24L * 3600)
#define CA_DAYS 3650
#define SERVER_DAYS 1825
#define DEFAULT_PORT 56001
#define PATHLEN 4200

static int setf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int setf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "OpenSSL error";
}

/* ---- files ------------------------------------------------------------------------------------ */
static int mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
    char tmp[PATHLEN];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(tmp, mode) != 0 && errno != EEXIST)
                return setf(err, errlen, "cannot create directory %s: %s", tmp, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

/* Opens path for writing; refuses to replace an existing file when exclusive. */
static FILE *open_out(const char *path, mode_t mode, int exclusive, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), mode);
    if (fd < 0) {
        if (errno == EEXIST)
            setf(err, errlen, "%s already exists; remove it or choose another directory", path);
        else
            setf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    fchmod(fd, mode);
    FILE *f = fdopen(fd, "w");
    if (!f)
        close(fd);
    return f;
}

static int close_out(FILE *f, int ok, const char *path, char *err, size_t errlen)
{
    if (fclose(f) != 0 || !ok)
        return setf(err, errlen, "cannot write %s: %s", path, ok ? strerror(errno) : ossl_reason());
    return 0;
}

static int write_key(const char *path, EVP_PKEY *k, char *err, size_t errlen)
{
    FILE *f = open_out(path, 0600, 1, err, errlen);
    if (!f)
        return -1;
    int ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
    return close_out(f, ok, path, err, errlen);
}

static int write_cert(const char *path, X509 *x, int exclusive, char *err, size_t errlen)
{
    FILE *f = open_out(path, 0644, exclusive, err, errlen);
    if (!f)
        return -1;
    int ok = PEM_write_X509(f, x) == 1;
    return close_out(f, ok, path, err, errlen);
}

static int write_text(const char *path, const char *text, char *err, size_t errlen)
{
    FILE *f = open_out(path, 0644, 0, err, errlen);
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return close_out(f, ok, path, err, errlen) ? -1 : 0;
}

static X509 *read_cert(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (!x)
        setf(err, errlen, "cannot read certificate %s: %s; is --pki the directory 'bitfusiond pki init' made?",
             path, f ? ossl_reason() : strerror(errno));
    if (f)
        fclose(f);
    return x;
}

static EVP_PKEY *read_key(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (!k)
        setf(err, errlen, "cannot read key %s: %s; is --pki the directory 'bitfusiond pki init' made?",
             path, f ? ossl_reason() : strerror(errno));
    if (f)
        fclose(f);
    return k;
}

/* ---- certificates ------------------------------------------------------------------------------- */
static EVP_PKEY *gen_key(char *err, size_t errlen)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        setf(err, errlen, "cannot make an EC P-256 key: %s", ossl_reason());
    return k;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!e)
        return -1;
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

static int set_serial(X509 *x)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    b[0] &= 0x7f; /* positive */
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

typedef struct cert_spec {
    const char *cn;
    EVP_PKEY *key;           /* subject's key */
    X509 *issuer;            /* NULL: self-signed */
    EVP_PKEY *issuer_key;
    long not_before;         /* seconds from now */
    long not_after;
    const char *exts[6][2];  /* {nid name, value}, NULL-terminated */
} cert_spec;

static X509 *make_cert(const cert_spec *s, char *err, size_t errlen)
{
    X509 *x = X509_new();
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    int ok = x && X509_set_version(x, 2) && set_serial(x) == 0 &&
             X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"bitfusion", -1, -1, 0) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn, -1, -1, 0) &&
             X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer) : name) &&
             X509_gmtime_adj(X509_getm_notBefore(x), s->not_before) &&
             X509_gmtime_adj(X509_getm_notAfter(x), s->not_after) && X509_set_pubkey(x, s->key);
    for (int i = 0; ok && i < 6 && s->exts[i][0]; i++)
        ok = add_ext(x, s->issuer, OBJ_sn2nid(s->exts[i][0]), s->exts[i][1]) == 0;
    if (ok)
        ok = X509_sign(x, s->issuer_key ? s->issuer_key : s->key, EVP_sha256()) > 0;
    if (!ok) {
        setf(err, errlen, "cannot make the certificate for %s: %s", s->cn, ossl_reason());
        X509_free(x);
        return NULL;
    }
    return x;
}

/* ---- pki init ------------------------------------------------------------------------------------- */
static int valid_name(const char *n)
{
    unsigned char tmp[16];
    if (inet_pton(AF_INET, n, tmp) == 1 || inet_pton(AF_INET6, n, tmp) == 1)
        return 1;
    if (!*n || strlen(n) > 253)
        return 0;
    for (const char *p = n; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '*')
            return 0;
    return 1;
}

static void add_san(char *sans, size_t len, const char *n)
{
    unsigned char tmp[16];
    int ip = inet_pton(AF_INET, n, tmp) == 1 || inet_pton(AF_INET6, n, tmp) == 1;
    char item[300];
    snprintf(item, sizeof item, "%s:%s", ip ? "IP" : "DNS", n);
    /* skip duplicates */
    for (const char *p = sans; (p = strstr(p, item)); p += strlen(item))
        if ((p == sans || p[-1] == ',') && (p[strlen(item)] == ',' || !p[strlen(item)]))
            return;
    size_t k = strlen(sans);
    snprintf(sans + k, len - k, "%s%s", k ? "," : "", item);
}

static int build_sans(const char *const *names, int n, char *sans, size_t len, char *err, size_t errlen)
{
    char host[256] = "";
    sans[0] = 0;
    for (int i = 0; i < n; i++) {
        if (!valid_name(names[i]))
            return setf(err, errlen, "--server-name '%s' is neither a DNS name nor an IP address", names[i]);
        add_san(sans, len, names[i]);
    }
    if (gethostname(host, sizeof host - 1) == 0 && valid_name(host))
        add_san(sans, len, host);
    add_san(sans, len, "localhost");
    add_san(sans, len, "127.0.0.1");
    add_san(sans, len, "::1");
    return 0;
}

static const char SERVER_YAML[] =
    "# bitfusiond configuration, written by 'bitfusiond pki init'.\n"
    "# Relative paths are relative to this file's directory.\n"
    "listen: \"*:56001\"          # ADDRESS:PORT; \"*\" = every IPv4 and IPv6 address\n"
    "backend: auto              # auto | nvidia | emu (the software GPU)\n"
    "log_level: info            # error | warn | info | debug\n"
    "tls:\n"
    "  ca: ca.crt\n"
    "  cert: server.crt\n"
    "  key: server.key\n"
    "# lease_idle_limit: 0      # seconds a lease may go without any CUDA session; 0 = no limit\n"
    "# devices: all             # or the GPUs to offer, e.g. [0, 2]\n"
    "# emu:                     # size of the software GPU (backend emu, or auto without a GPU)\n"
    "#   devices: 1\n"
    "#   memory_mb: 4096\n"
    "#   sms: 8\n";

static int write_ca_and_server(const char *dir, const char *sans, char *err, size_t errlen)
{
    char p[PATHLEN];
    int rc = -1;
    X509 *ca = NULL, *srv = NULL;
    EVP_PKEY *cakey = gen_key(err, errlen), *skey = cakey ? gen_key(err, errlen) : NULL;
    if (!skey)
        goto out;
    char ca_cn[64];
    unsigned char id[4];
    RAND_bytes(id, sizeof id);
    snprintf(ca_cn, sizeof ca_cn, "bitfusion cluster CA %02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
    cert_spec cs = {.cn = ca_cn, .key = cakey, .not_before = -DAY, .not_after = CA_DAYS * DAY,
                    .exts = {{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
                             {"keyUsage", "critical,keyCertSign,cRLSign"},
                             {"subjectKeyIdentifier", "hash"}}};
    if (!(ca = make_cert(&cs, err, errlen)))
        goto out;
    cert_spec ss = {.cn = "bitfusiond", .key = skey, .issuer = ca, .issuer_key = cakey, .not_before = -DAY,
                    .not_after = SERVER_DAYS * DAY,
                    .exts = {{"basicConstraints", "critical,CA:FALSE"},
                             {"keyUsage", "critical,digitalSignature"},
                             {"extendedKeyUsage", "serverAuth"},
                             {"subjectKeyIdentifier", "hash"},
                             {"authorityKeyIdentifier", "keyid:always"},
                             {"subjectAltName", sans}}};
    if (!(srv = make_cert(&ss, err, errlen)))
        goto out;
    snprintf(p, sizeof p, "%s/ca.key", dir);
    if (write_key(p, cakey, err, errlen))
        goto out;
    snprintf(p, sizeof p, "%s/ca.crt", dir);
    if (write_cert(p, ca, 0, err, errlen))
        goto out;
    snprintf(p, sizeof p, "%s/server.key", dir);
    if (write_key(p, skey, err, errlen))
        goto out;
    snprintf(p, sizeof p, "%s/server.crt", dir);
    if (write_cert(p, srv, 0, err, errlen))
        goto out;
    rc = 0;
out:
    X509_free(ca);
    X509_free(srv);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(skey);
    return rc;
}

int bf_pki_init(const char *dir, const char *const *names, int nnames, char *err, size_t errlen)
{
    char sans[4096], p[PATHLEN];
    if (build_sans(names, nnames, sans, sizeof sans, err, errlen) != 0)
        return -1;
    if (mkdir_p(dir, 0755, err, errlen) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/ca.key", dir);
    if (access(p, F_OK) == 0)
        return setf(err, errlen, "%s already exists: this directory already has a CA; use it, or choose "
                    "another directory", p);
    if (write_ca_and_server(dir, sans, err, errlen) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/bitfusiond.yaml", dir);
    return write_text(p, SERVER_YAML, err, errlen);
}

/* ---- pki client ------------------------------------------------------------------------------------ */
static int valid_cn(const char *n)
{
    if (!*n || strlen(n) > 64)
        return 0;
    for (const char *p = n; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._@-", *p))
            return 0;
    return 1;
}

/* The server certificate's first subjectAltName, for a bundle made without --server. */
static void default_server(X509 *srv, char *out, size_t len)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(srv, NID_subject_alt_name, NULL, NULL);
    snprintf(out, len, "localhost:%d", DEFAULT_PORT);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS) {
            snprintf(out, len, "%.*s:%d", ASN1_STRING_length(g->d.dNSName),
                     (const char *)ASN1_STRING_get0_data(g->d.dNSName), DEFAULT_PORT);
            break;
        }
    }
    GENERAL_NAMES_free(gens);
}

static int write_servers_conf(const char *outdir, X509 *srv, const char *const *servers, int n,
                              char *err, size_t errlen)
{
    char text[8192] = "# servers this client may use (Bitfusion format); written by 'bitfusiond pki client'\n"
                      "servers:\n", dflt[300], p[PATHLEN];
    if (n == 0) {
        default_server(srv, dflt, sizeof dflt);
        fprintf(stderr, "bitfusiond: no --server given; servers.conf lists %s\n", dflt);
    }
    for (int i = 0; i < (n ? n : 1); i++) {
        const char *s = n ? servers[i] : dflt;
        const char *q = s[0] == '[' ? "\"" : ""; /* an IPv6 literal must be quoted in YAML */
        size_t k = strlen(text);
        snprintf(text + k, sizeof text - k, "  - addresses: [%s%s%s%s]\n", q, s,
                 strrchr(s, ':') && (s[0] != '[' || strstr(s, "]:")) ? "" : ":56001", q);
    }
    snprintf(p, sizeof p, "%s/servers.conf", outdir);
    return write_text(p, text, err, errlen);
}

static const char CLIENT_YAML[] =
    "# bitfusion client configuration, written by 'bitfusiond pki client'.\n"
    "# Relative paths are relative to this file's directory.\n"
    "tls:\n"
    "  ca: tls/ca.crt\n"
    "  cert: tls/client.crt\n"
    "  key: tls/client.key\n"
    "timeout: 30                # seconds: connecting, and how long a silent server is waited for\n";

static int write_bundle(const char *name, const char *outdir, X509 *ca, EVP_PKEY *cakey, X509 *srv,
                        const char *const *servers, int nservers, int days, char *err, size_t errlen)
{
    char p[PATHLEN];
    int rc = -1;
    X509 *x = NULL;
    EVP_PKEY *k = gen_key(err, errlen);
    long after = (long)days * DAY, before = days < 0 ? after - DAY : -3600;
    cert_spec cs = {.cn = name, .key = k, .issuer = ca, .issuer_key = cakey, .not_before = before,
                    .not_after = after,
                    .exts = {{"basicConstraints", "critical,CA:FALSE"},
                             {"keyUsage", "critical,digitalSignature"},
                             {"extendedKeyUsage", "clientAuth"},
                             {"subjectKeyIdentifier", "hash"},
                             {"authorityKeyIdentifier", "keyid:always"}}};
    if (!k || !(x = make_cert(&cs, err, errlen)))
        goto out;
    snprintf(p, sizeof p, "%s/tls", outdir);
    if (mkdir_p(p, 0755, err, errlen))
        goto out;
    snprintf(p, sizeof p, "%s/tls/client.key", outdir);
    if (write_key(p, k, err, errlen))
        goto out;
    snprintf(p, sizeof p, "%s/tls/client.crt", outdir);
    if (write_cert(p, x, 0, err, errlen))
        goto out;
    snprintf(p, sizeof p, "%s/tls/ca.crt", outdir);
    if (write_cert(p, ca, 0, err, errlen))
        goto out;
    snprintf(p, sizeof p, "%s/client.yaml", outdir);
    if (write_text(p, CLIENT_YAML, err, errlen))
        goto out;
    rc = write_servers_conf(outdir, srv, servers, nservers, err, errlen);
out:
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

int bf_pki_client(const char *name, const char *pkidir, const char *outdir, const char *const *servers,
                  int nservers, int days, char *err, size_t errlen)
{
    char p[PATHLEN];
    if (!valid_cn(name))
        return setf(err, errlen, "client name '%s' must be 1-64 letters, digits or . _ @ -", name);
    if (days == 0 || days > 36500)
        return setf(err, errlen, "--days must be from 1 to 36500, not %d", days);
    snprintf(p, sizeof p, "%s/tls/client.key", outdir);
    if (access(p, F_OK) == 0)
        return setf(err, errlen, "%s already exists; remove it or choose another --out", p);
    snprintf(p, sizeof p, "%s/ca.crt", pkidir);
    X509 *ca = read_cert(p, err, errlen), *srv = NULL;
    snprintf(p, sizeof p, "%s/ca.key", pkidir);
    EVP_PKEY *cakey = ca ? read_key(p, err, errlen) : NULL;
    snprintf(p, sizeof p, "%s/server.crt", pkidir);
    if (cakey)
        srv = read_cert(p, err, errlen);
    int rc = srv ? write_bundle(name, outdir, ca, cakey, srv, servers, nservers, days, err, errlen) : -1;
    X509_free(ca);
    X509_free(srv);
    EVP_PKEY_free(cakey);
    return rc;
}
