/* config.h: the configuration files (proto/config.c): the server's bitfusiond.yaml, the client's
 * client.yaml and servers.conf (Bitfusion's format), and where the client finds them
 * ($BITFUSION_CONFIG_DIR, then ~/.bitfusion/, then /etc/bitfusion/; first found wins).
 * Every function that fails writes one line to err: "FILE:LINE: problem" for a malformed file,
 * or what is missing and how to make it. Relative paths in a file resolve against its directory. */
#ifndef BF_CONFIG_H
#define BF_CONFIG_H
#include <limits.h>
#include <stddef.h>

#define BF_DEFAULT_PORT 56001
#define BF_MAX_SERVERS 64
#define BF_DEFAULT_SERVER_CONFIG "/etc/bitfusion/bitfusiond.yaml"
#define BF_PATH_MAX 4096

typedef struct bf_server_config {
    char path[BF_PATH_MAX];       /* the file read ("" when none) */
    char listen[256];             /* "HOST:PORT", "[V6]:PORT", "*:PORT" (all addresses) */
    char backend[16];             /* auto | nvidia | emu */
    char log_level[16];           /* error | warn | info | debug */
    char ca[BF_PATH_MAX], cert[BF_PATH_MAX], key[BF_PATH_MAX];
    int emu_devices;              /* software GPU: 0 = its default */
    int emu_memory_mb;
    int emu_sms;
    char emu_cc[16];              /* "" = default */
    int handshake_timeout_ms;     /* TLS handshake limit per connection */
    int shutdown_grace_s;         /* SIGTERM: how long sessions may finish */
    int max_sessions;             /* concurrent workers; 0 = unlimited */
    char metrics[256];            /* metrics address (accepted, not served yet) */
    int lease_idle_limit_s;       /* a lease with no CUDA session this long ends; 0 = no limit */
    char devices[256];            /* which GPUs: "" all, else "0,2" (becomes CUDA_VISIBLE_DEVICES) */
} bf_server_config;

typedef struct bf_server_addr {
    char host[256];
    int port;
} bf_server_addr;

typedef struct bf_client_config {
    char dir[BF_PATH_MAX];        /* the configuration directory used */
    char ca[BF_PATH_MAX], cert[BF_PATH_MAX], key[BF_PATH_MAX];
    int timeout_ms;               /* connect/handshake and "server gone" limit */
    char log_level[16];
    int nservers;
    bf_server_addr servers[BF_MAX_SERVERS];
} bf_client_config;

void bf_server_config_defaults(bf_server_config *c);
/* Reads path over the defaults already in c. */
int bf_server_config_load(bf_server_config *c, const char *path, char *err, size_t errlen);
/* The same from memory (name is used in messages, dir for relative paths). */
int bf_server_config_parse(bf_server_config *c, const char *name, const char *dir,
                           const void *buf, size_t len, char *err, size_t errlen);

/* The client configuration directory (first found wins). */
int bf_client_config_find_dir(char *dir, size_t len, char *err, size_t errlen);
/* Loads client.yaml (optional: defaults to tls/ca.crt, tls/client.crt, tls/client.key, timeout
 * 30 s) and servers.conf (required) from dir. */
int bf_client_config_load_dir(bf_client_config *out, const char *dir, char *err, size_t errlen);
/* find_dir + load_dir. */
int bf_client_config_load(bf_client_config *out, char *err, size_t errlen);
/* Checks that the TLS files named by the client config can be read; the message says how to get
 * a bundle when they cannot. */
int bf_client_config_check_files(const bf_client_config *c, char *err, size_t errlen);
int bf_client_yaml_parse(bf_client_config *c, const char *name, const char *dir,
                         const void *buf, size_t len, char *err, size_t errlen);
int bf_servers_conf_parse(bf_client_config *c, const char *name, const void *buf, size_t len,
                          char *err, size_t errlen);

/* write(2) until all n bytes are written (EINTR retried). 0 / -1. */
int bf_write_all(int fd, const void *buf, size_t n);
/* Control characters (from files, servers, other clients) become '?': one printable line. */
void bf_one_line(char *s);
/* "host", "host:port", "[v6]:port", "v6" → host and port (default_port when absent). 0 or -1. */
int bf_parse_hostport(const char *s, int default_port, char *host, size_t hostlen, int *port);
/* A listen address: "HOST:PORT", "[V6]:PORT", "*:PORT" or ":PORT" (host "" = every address);
 * port 0 = any free port. */
int bf_parse_listen(const char *spec, char *host, size_t hostlen, int *port);
#endif
