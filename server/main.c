/* main.c: `bitfusiond`: the command line, the configuration (bitfusiond.yaml plus flags), then the
 * backend line, the TLS context and the accept loop (listen.c). `bitfusiond pki ...` is cmd_pki.c. */
#include "server.h"
#include "log.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BF_VERSION
#define BF_VERSION "0.0.0"
#endif

static const char USAGE[] =
    "usage: bitfusiond [--config FILE] [--listen ADDR:PORT] [--backend auto|nvidia|emu] [--log-level LEVEL]\n"
    "       bitfusiond pki init DIR [--server-name NAME]...\n"
    "       bitfusiond pki client NAME --pki DIR --out OUTDIR [--server HOST:PORT]... [--days N]\n"
    "       bitfusiond version\n"
    "Serves GPUs (or the software GPU) to 'bitfusion run' clients over TLS 1.3 with client certificates.\n"
    "Default configuration: " BF_DEFAULT_SERVER_CONFIG "; default port 56001.\n";

typedef struct flags {
    const char *config, *listen, *backend, *log_level;
} flags;

static int parse_flags(int argc, char **argv, flags *f)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"listen", required_argument, 0, 'l'},
        {"backend", required_argument, 0, 'b'}, {"log-level", required_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},          {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+c:l:b:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': f->config = optarg; break;
        case 'l': f->listen = optarg; break;
        case 'b': f->backend = optarg; break;
        case 'v': f->log_level = optarg; break;
        case 'h': fputs(USAGE, stdout); exit(0);
        case 'V': printf("bitfusiond %s\n", BF_VERSION); exit(0);
        default:
            fprintf(stderr, "bitfusiond: %s '%s'; run 'bitfusiond --help'\n",
                    optopt ? "option needs a value or is unknown:" : "unknown option",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bitfusiond: unexpected argument '%s'; run 'bitfusiond --help'\n", argv[optind]);
        return -1;
    }
    return 0;
}

static int load_config(const flags *f, bf_server_config *cfg)
{
    char err[1024];
    bf_server_config_defaults(cfg);
    const char *path = f->config ? f->config : BF_DEFAULT_SERVER_CONFIG;
    if (!f->config && access(path, F_OK) != 0) {
        fprintf(stderr, "bitfusiond: no configuration: %s does not exist; make one with 'bitfusiond pki init "
                "/etc/bitfusion' (or pass --config FILE)\n", path);
        return -1;
    }
    if (bf_server_config_load(cfg, path, err, sizeof err) != 0) {
        fprintf(stderr, "bitfusiond: %s\n", err);
        return -1;
    }
    if (f->listen)
        snprintf(cfg->listen, sizeof cfg->listen, "%s", f->listen);
    if (f->backend)
        snprintf(cfg->backend, sizeof cfg->backend, "%s", f->backend);
    if (f->log_level)
        snprintf(cfg->log_level, sizeof cfg->log_level, "%s", f->log_level);
    if (strcmp(cfg->backend, "auto") && strcmp(cfg->backend, "nvidia") && strcmp(cfg->backend, "emu")) {
        fprintf(stderr, "bitfusiond: --backend must be auto, nvidia or emu, not '%s'\n", cfg->backend);
        return -1;
    }
    if (bfd_log_level_parse(cfg->log_level) < 0) {
        fprintf(stderr, "bitfusiond: --log-level must be error, warn, info or debug, not '%s'\n", cfg->log_level);
        return -1;
    }
    if (!cfg->ca[0] || !cfg->cert[0] || !cfg->key[0]) {
        fprintf(stderr, "bitfusiond: %s: tls: ca, cert and key are all required; 'bitfusiond pki init DIR' "
                "writes a configuration with them\n", path);
        return -1;
    }
    return 0;
}

/* The software GPU's size, passed to the workers' emu library through its environment; and which
 * GPUs this server offers (the probe and every worker see only those). */
static void export_emu(const bf_server_config *cfg)
{
    char v[32];
    if (cfg->devices[0])
        setenv("CUDA_VISIBLE_DEVICES", cfg->devices, 1);
    if (cfg->emu_devices)
        snprintf(v, sizeof v, "%d", cfg->emu_devices), setenv("BITFUSION_EMU_DEVICES", v, 1);
    if (cfg->emu_memory_mb)
        snprintf(v, sizeof v, "%d", cfg->emu_memory_mb), setenv("BITFUSION_EMU_MEMORY_MB", v, 1);
    if (cfg->emu_sms)
        snprintf(v, sizeof v, "%d", cfg->emu_sms), setenv("BITFUSION_EMU_SMS", v, 1);
    if (cfg->emu_cc[0])
        setenv("BITFUSION_EMU_CC", cfg->emu_cc, 1);
}

static int serve(int argc, char **argv)
{
    flags f = {0};
    static bf_server_config cfg;
    char err[1024], emu_lib[PATH_MAX];
    if (parse_flags(argc, argv, &f) != 0 || load_config(&f, &cfg) != 0)
        return 2;
    bfd_log_set_level(bfd_log_level_parse(cfg.log_level));
    export_emu(&cfg);
    bf_tls_files files = {cfg.ca, cfg.cert, cfg.key};
    bf_tls_server *tls = bf_tls_server_new(&files, err, sizeof err);
    if (!tls) {
        LOG_E("TLS: %s (configured in %s)", err, cfg.path);
        return 1;
    }
    const char *backend = bf_backend_resolve(cfg.backend, emu_lib, sizeof emu_lib);
    if (!backend)
        return 1;
    bf_worker_ctx w = {.tls = tls, .backend = backend, .emu_lib = emu_lib,
                       .handshake_timeout_ms = cfg.handshake_timeout_ms};
    int rc = bf_serve(&cfg, &w);
    bf_tls_server_free(tls);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "pki"))
        return bf_cmd_pki(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "version")) {
        printf("bitfusiond %s\n", BF_VERSION);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "help")) {
        fputs(USAGE, stdout);
        return 0;
    }
    return serve(argc, argv);
}
