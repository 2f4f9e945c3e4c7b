/* fuzz_ptx.c: libFuzzer target for the PTX parser and decoder (emu/ptx_parse.c, ptx_lex.c,
 * ptx_decode.c): any byte string must parse or fail with a message, never crash or leak. */
#include "ptx.h"
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    ptx_module *m = ptx_module_parse((const char *)data, size, err, sizeof err);
    if (m) {
        for (int i = 0; i < ptx_module_func_count(m); i++) {
            ptx_func_info info;
            ptx_func_get_info(ptx_module_func(m, i), &info);
        }
        ptx_module_free(m);
    }
    return 0;
}
