/* module_internal.h: private interface between module.c (modules, functions, libraries, kernels,
 * JIT options) and link.c (the linker and its output format). Other emu files use emu.h. */
#ifndef BF_EMU_MODULE_INTERNAL_H
#define BF_EMU_MODULE_INTERNAL_H
#include "emu.h"

/* ---- PTX parts of an image (module.c) ----------------------------------------------------- */
typedef struct ptx_parts {
    int n;
    char **text;
    size_t *len;
    int from_fatbin;         /* arrays came from emu_image_get_all_ptx */
} ptx_parts;

void emu_parts_free(ptx_parts *p);
/* Appends a NUL-terminated copy of text[0, len); -1 when out of memory. */
int emu_parts_append(ptx_parts *p, const char *text, size_t len);
/* The PTX texts of an image: the linker's output or anything fatbin.c understands. */
CUresult emu_parts_from_image(const void *image, size_t size, const emu_device *dev, ptx_parts *out,
                              char *err, size_t errlen);
/* PTX holding nothing but comments and .version/.target/.address_size: a valid empty module. */
int emu_ptx_is_empty(const char *t, size_t len);
/* Reads a whole file (NUL-terminated); logs "api: cannot read path" on failure. */
CUresult emu_read_file(const char *api, const char *path, char **data, size_t *size);

/* ---- JIT options: log buffers and wall time (module.c) ------------------------------------ */
typedef struct jit_opts {
    char *info, *error;
    size_t info_size, error_size;
    void **info_size_slot, **error_size_slot, **walltime_slot;
} jit_opts;

CUresult emu_jit_opts_parse(unsigned n, CUjit_option *opts, void **vals, jit_opts *j);
/* Fills the caller's log buffers (NULL j: nothing to do). */
void emu_jit_report(jit_opts *j, const char *info, const char *error);

/* Entry-point prologue for a handle argument: CUDA_ERROR_NOT_INITIALIZED before cuInit, then
 * CUDA_ERROR_INVALID_HANDLE unless the handle is live and of the right kind. */
CUresult emu_arg_check(const void *h, int kind);

/* ---- the linker's output format (link.c) -------------------------------------------------- */
/* Does image (at least 16 bytes readable, unless size says otherwise) start with the magic? */
int emu_link_blob_is(const void *image);
/* Splits a linked image into its PTX texts; size 0: unknown, the headers are trusted within sane
 * limits. */
CUresult emu_link_blob_parse(const char *b, size_t size, ptx_parts *out, char *err, size_t errlen);
#endif
