/* fuzz_fatbin.c: libFuzzer target for the image decoder (emu/fatbin.c, emu/lz4.c). Feeds the
 * input as an image of known size to emu_image_get_ptx (device 8.0) and emu_image_get_all_ptx
 * (device 9.0). Build and run with `make fuzz-fatbin-run`. */
#include <stdint.h>
#include <stdlib.h>
#include "fatbin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], *ptx, **all;
    size_t len, *lens;
    int count;
    if (size == 0)               /* size 0 means "unknown": the decoder would trust the headers */
        return 0;
    if (emu_image_get_ptx(data, size, 8, 0, &ptx, &len, err, sizeof err) == CUDA_SUCCESS)
        free(ptx);
    if (emu_image_get_all_ptx(data, size, 9, 0, &all, &lens, &count, err, sizeof err) == CUDA_SUCCESS)
        emu_image_free_all_ptx(all, lens, count);
    return 0;
}
