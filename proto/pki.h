/* pki.h: the cluster's certificates (proto/pki.c): a CA, the server's certificate and key, and
 * client bundles, made with the OpenSSL C API (EC P-256 keys, SHA-256 signatures). */
#ifndef BF_PKI_H
#define BF_PKI_H
#include <stddef.h>

/* Makes DIR/ca.{crt,key}, DIR/server.{crt,key} (SANs: names, the hostname, localhost, 127.0.0.1,
 * ::1) and DIR/bitfusiond.yaml. Refuses to overwrite an existing CA. 0 or -1 with one line in err. */
int bf_pki_init(const char *dir, const char *const *names, int nnames, char *err, size_t errlen);

/* Makes a client bundle in outdir: client.yaml, servers.conf (servers, or the server
 * certificate's first name on port 56001 when nservers is 0), tls/ca.crt, tls/client.crt,
 * tls/client.key (0600). The certificate (CN=name) is valid for `days` days from now; a negative
 * value makes one that expired -days days ago (for tests). */
int bf_pki_client(const char *name, const char *pkidir, const char *outdir,
                  const char *const *servers, int nservers, int days, char *err, size_t errlen);
#endif
