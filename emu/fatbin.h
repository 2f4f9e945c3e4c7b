/* fatbin.h: the image decoder. Turns whatever a program hands to cuModuleLoadData /
 * cuModuleLoadFatBinary / cuLibraryLoadData (PTX text, a fatbin, a fatbin wrapper, an ELF cubin)
 * into the PTX text the interpreter runs. Owned by fatbin.c (containers, entries, arch selection,
 * zstd) and lz4.c (the LZ4 block decoder for entries nvcc compressed with --compress-mode=speed).
 *
 * Layouts (little-endian; established against nvcc 13.0 output, see tests/emu/test_fatbin.c):
 *   fatbin header, 16 bytes: u32 magic 0xBA55ED50, u16 version 1, u16 header size (16: offset of
 *     the first entry), u64 fat size (bytes of entries after the header).
 *   entry header, >= 64 bytes: u16 kind (1 PTX, 2 ELF), u16 0x0101, u32 header size (64, 72, 80,
 *     96, 112, 128: the payload follows it), u64 payload size (padded to 8; the next entry follows),
 *     u32 compressed size (0 when not compressed), u32 options offset, u16 minor, u16 major
 *     (PTX ISA 9.0 / ELF ABI 1.8), u32 arch (75, 90, 100, ...), u32 name offset, u32 name length,
 *     u64 flags, u64 0, u64 decompressed size.
 *   flags: 0x1 64-bit, 0x2 debug, 0x10 linux host, 0x2000 LZ4 block (compress-mode speed),
 *     0x8000 zstd frame (default/balance/size), 0x100000 arch-specific (compute_90a),
 *     0x200000 family-specific (compute_100f).
 *   wrapper (__fatBinC_Wrapper_t), 24 bytes: u32 magic 0x466243B1, u32 version (1; 2 for the
 *     nvlink output, whose second pointer is a NULL-terminated array of the translation units'
 *     fatbins), const void *data (the fatbin), void *filename_or_fatbins. */
#ifndef BF_EMU_FATBIN_H
#define BF_EMU_FATBIN_H
#include <stddef.h>
#include <stdint.h>
#include <cuda.h>

#define EMU_FATBIN_MAGIC         0xBA55ED50u
#define EMU_FATBIN_WRAPPER_MAGIC 0x466243B1u

/* Extracts the PTX the interpreter should run from an image. image: PTX text (NUL-terminated), a
 * fatbin (magic 0xBA55ED50), a fatbin wrapper struct (__fatBinC_Wrapper_t, magic 0x466243b1, whose
 * data pointer points to a fatbin), or an ELF cubin (SASS: no PTX). size: bytes available, or 0
 * when unknown (then the headers are trusted, but everything is still bound by the header sizes
 * and absurd values are rejected). When size is known, a wrapper's pointers must point inside
 * [image, image+size) (callers that know a size hold the whole image in one buffer).
 * Chooses the PTX entry with the highest virtual arch <= the device's cc (cc_major*10+cc_minor);
 * at equal arch a portable entry is preferred to a family (compute_100f) one, and that to an
 * arch-specific (compute_90a) one, which is only used when the arch equals the cc exactly.
 * Returns CUDA_SUCCESS and a malloc'd NUL-terminated copy in *ptx_out and *len_out (len
 * excludes the NUL); CUDA_ERROR_NO_BINARY_FOR_GPU when no PTX fits the device (SASS only, or all PTX newer);
 * CUDA_ERROR_INVALID_IMAGE for anything malformed, with err naming the problem in one line;
 * CUDA_ERROR_NOT_SUPPORTED when the image holds several translation units' PTX (use
 * emu_image_get_all_ptx). A SASS-only image whose cubins hold no kernels and no globals (the empty
 * nvlink output every nvcc 13 executable carries) yields a minimal empty PTX module.
 * Never reads outside the bounds the headers (and size, when known) allow. */
CUresult emu_image_get_ptx(const void *image, size_t size, int cc_major, int cc_minor,
                           char **ptx_out, size_t *len_out, char *err, size_t errlen);

/* As emu_image_get_ptx, but returns the PTX of every translation unit: every PTX entry of the
 * chosen arch in each fatbin (a fatbin may hold one entry per translation unit, and a version 2
 * wrapper points at one fatbin per unit). *ptx_out and *len_out are malloc'd arrays of *count
 * malloc'd strings / lengths; free them with emu_image_free_all_ptx. */
CUresult emu_image_get_all_ptx(const void *image, size_t size, int cc_major, int cc_minor,
                               char ***ptx_out, size_t **len_out, int *count, char *err, size_t errlen);
void emu_image_free_all_ptx(char **ptx, size_t *len, int count);

/* LZ4 block decoder (lz4.c). Decodes src[0..srclen) into exactly dstlen bytes of dst; once dst is
 * full only zero padding may follow (nvcc 13 writes none, but the entry's size fields leave room
 * for it). Returns 0, or -1 with err naming the problem. Reads and writes only inside the two
 * buffers. */
int emu_lz4_decompress_block(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen,
                             char *err, size_t errlen);
#endif
