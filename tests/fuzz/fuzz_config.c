/* fuzz_config.c: libFuzzer target for the configuration parsers (proto/config.c): the first byte
 * picks bitfusiond.yaml, client.yaml or servers.conf, the rest is the file. Every input must end
 * in success or one error line naming the file and never crash or leak. `make fuzz-config-run`. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_line(const char *err, int rc)
{
    if (rc == 0)
        return;
    if (!err[0] || strchr(err, '\n') || strncmp(err, "f.yaml", 6) != 0)
        abort(); /* a failure must be one line that names the file */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bf_server_config sc;
    static bf_client_config cc;
    char err[1024] = "";
    if (size < 1)
        return 0;
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    int rc;
    switch (data[0] % 3) {
    case 0:
        bf_server_config_defaults(&sc);
        rc = bf_server_config_parse(&sc, "f.yaml", "/d", buf, len, err, sizeof err);
        break;
    case 1:
        memset(&cc, 0, sizeof cc);
        rc = bf_client_yaml_parse(&cc, "f.yaml", "/d", buf, len, err, sizeof err);
        break;
    default:
        memset(&cc, 0, sizeof cc);
        rc = bf_servers_conf_parse(&cc, "f.yaml", buf, len, err, sizeof err);
        if (rc == 0 && (cc.nservers < 1 || cc.nservers > BF_MAX_SERVERS))
            abort();
        break;
    }
    check_line(err, rc);
    return 0;
}
