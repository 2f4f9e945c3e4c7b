/* ptx.h: the PTX interpreter's interface to the rest of the software GPU.
 * A module is parsed once (ptx_module_parse) into a pre-decoded form; kernels are then run
 * grid by grid (ptx_launch_grid). The interpreter owns parsing, decoding, execution and the
 * host thread pool that runs blocks; the driver layer owns memory, modules' device storage,
 * streams and errors. */
#ifndef BF_EMU_PTX_H
#define BF_EMU_PTX_H
#include <stddef.h>
#include <stdint.h>
#include <cuda.h>

typedef struct ptx_module ptx_module;
typedef struct ptx_func ptx_func;

enum ptx_space { PTX_SPACE_GLOBAL = 1, PTX_SPACE_CONST = 2 };

typedef struct ptx_global_info {
    const char *name;
    int space;               /* PTX_SPACE_GLOBAL or PTX_SPACE_CONST */
    size_t size;             /* bytes (0 for an .extern declaration) */
    size_t align;
    const void *init;        /* size bytes of initial value, or NULL (zero) */
} ptx_global_info;

typedef struct ptx_func_info {
    const char *name;
    int is_entry;
    size_t static_smem;      /* bytes of .shared declared by the function and its callees */
    size_t local_bytes;      /* .local bytes per thread (depot, frames of callees) */
    size_t param_bytes;      /* size of the packed kernel parameter buffer */
    int nparams;
    int num_regs;            /* an estimate of registers per thread, for attributes */
    unsigned maxntid[3];     /* .maxntid / .reqntid, zeros when absent */
    int reqntid;             /* 1 when maxntid came from .reqntid */
    unsigned minnctapersm;
} ptx_func_info;

/* Parse PTX text (need not be NUL-terminated; len bytes). On failure returns NULL and writes a
 * one-line message naming the line and the problem (for an unsupported instruction: its name). */
ptx_module *ptx_module_parse(const char *text, size_t len, char *err, size_t errlen);
void ptx_module_free(ptx_module *m);

/* Module-scope .global/.const variables. The driver allocates device memory for each (and copies
 * init), then binds the device address before any launch. */
int ptx_module_global_count(const ptx_module *m);
void ptx_module_global_info(const ptx_module *m, int i, ptx_global_info *out);
void ptx_module_bind_global(ptx_module *m, int i, uint64_t devaddr);
int ptx_module_find_global(const ptx_module *m, const char *name); /* index or -1 */

/* Functions. Only .entry functions can be launched. */
int ptx_module_func_count(const ptx_module *m);
ptx_func *ptx_module_func(ptx_module *m, int i);
ptx_func *ptx_module_find_func(ptx_module *m, const char *name);  /* NULL when absent */
void ptx_func_get_info(const ptx_func *f, ptx_func_info *out);
/* Offset and size of kernel parameter i in the packed buffer (CUDA's cuFuncGetParamInfo). */
int ptx_func_param(const ptx_func *f, int i, size_t *offset, size_t *size);

/* A fault raised by a kernel: code is the CUresult the context becomes sticky with. */
typedef struct ptx_fault {
    CUresult code;           /* CUDA_SUCCESS when none */
    char msg[256];           /* one line: what failed, where (block, thread) */
} ptx_fault;

/* Memory the device may touch outside the module: the driver answers whether [addr, addr+len)
 * lies inside one live device-accessible allocation; on success it sets *lo and *hi to that
 * allocation's bounds so the interpreter can cache them. Must be thread-safe. */
typedef int (*ptx_mem_lookup_fn)(uint64_t addr, uint64_t len, uint64_t *lo, uint64_t *hi);
void ptx_set_mem_lookup(ptx_mem_lookup_fn fn);

typedef struct ptx_launch {
    unsigned grid[3];
    unsigned block[3];
    unsigned dyn_smem;       /* dynamic shared memory bytes */
    const void *params;      /* packed parameter buffer, info.param_bytes long */
    int cooperative;         /* all blocks co-resident (grid-wide sync allowed) */
} ptx_launch;

/* Runs the whole grid and returns when every block has finished (or a fault stopped it).
 * Blocks run in parallel on the interpreter's host thread pool. Returns CUDA_SUCCESS, or the
 * fault's code with *fault filled in. Launch-configuration errors are returned without running. */
CUresult ptx_launch_grid(ptx_func *f, const ptx_launch *l, ptx_fault *fault);

/* Number of host threads that run blocks (BITFUSION_EMU_THREADS, default: online CPUs). */
int ptx_pool_threads(void);
#endif
