/* launch.c: kernel launches and occupancy. A launch is validated like CUDA does (dimensions,
 * shared memory, register-limited block size, cooperative co-residency), its parameters are
 * packed with the interpreter's layout (kernelParams or the `extra` buffer) and an operation is
 * queued that runs the grid with ptx_launch_grid; a fault becomes the context's sticky error.
 * Occupancy uses sm_80 (A100) per-SM limits. Owns cuLaunchKernel(Ex), cuLaunchCooperativeKernel,
 * their _ptsz variants and cuOccupancy*. */
#include "emu.h"
#include "ptx.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMEM_GRANULE 128
#define REG_GRANULE  256

typedef struct launch_cfg {
    unsigned grid[3], block[3];
    unsigned smem;
    CUstream stream;
    int cooperative;
} launch_cfg;

typedef struct launch_job {
    emu_function *f;
    ptx_launch l;
    unsigned char *params;
    const char *name;
} launch_job;

/* ---- occupancy model ---------------------------------------------------------------------- */
/* Largest block a function takes: its .maxntid/.reqntid, else 1024. (Registers do not limit it:
 * the interpreter has no register file, see emu_func_regs.) */
int emu_func_max_threads(const ptx_func_info *info)
{
    int limit = EMU_MAX_THREADS_PER_BLOCK;
    if (info->maxntid[0]) {
        long n = (long)info->maxntid[0] * (info->maxntid[1] ? info->maxntid[1] : 1) *
                 (info->maxntid[2] ? info->maxntid[2] : 1);
        if (n < limit)
            limit = (int)n;
    }
    return limit;
}

/* Registers per thread reported (attributes, occupancy): the interpreter's estimate counts PTX
 * virtual registers, far more than a register allocator would use, so it is capped at what lets
 * the function's largest block fit in 64K registers, as ptxas guarantees. */
int emu_func_regs(const ptx_func_info *info)
{
    int cap = EMU_REGS_PER_BLOCK / emu_func_max_threads(info);
    cap = cap >= 255 ? 255 : cap / 8 * 8;
    int regs = info->num_regs > 0 ? info->num_regs : 16;
    return regs < cap ? regs : cap;
}

static size_t round_up(size_t v, size_t g) { return (v + g - 1) / g * g; }

/* Blocks of `block` threads using `dyn` bytes of dynamic shared memory that fit on one SM. */
static int blocks_per_sm(const ptx_func_info *info, int block, size_t dyn)
{
    if (block <= 0 || block > emu_func_max_threads(info))
        return 0;
    if (info->static_smem + dyn > EMU_SMEM_PER_BLOCK_OPTIN)
        return 0;
    int warps = (block + 31) / 32;
    int limit = EMU_MAX_BLOCKS_PER_SM;
    int by_threads = (EMU_MAX_THREADS_PER_SM / 32) / warps;
    if (by_threads < limit)
        limit = by_threads;
    int regs_per_warp = (int)round_up((size_t)emu_func_regs(info) * 32, REG_GRANULE);
    int by_regs = (EMU_REGS_PER_SM / regs_per_warp) / warps;
    if (by_regs < limit)
        limit = by_regs;
    size_t smem = round_up(info->static_smem + dyn + EMU_SMEM_RESERVED_PER_BLOCK, SMEM_GRANULE);
    int by_smem = (int)(EMU_SMEM_PER_SM / smem);
    return by_smem < limit ? by_smem : limit;
}

/* ---- parameters --------------------------------------------------------------------------- */
static CUresult params_from_extra(void **extra, size_t need, unsigned char *buf)
{
    const void *ptr = NULL;
    size_t size = 0;
    int have_size = 0;
    for (int i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
        if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) {
            ptr = extra[i + 1];
        } else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE) {
            if (!extra[i + 1])
                return CUDA_ERROR_INVALID_VALUE;
            size = *(const size_t *)extra[i + 1];
            have_size = 1;
        } else {
            return CUDA_ERROR_INVALID_VALUE;
        }
    }
    if (need == 0)
        return CUDA_SUCCESS;
    if (!ptr || !have_size || size < need)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(buf, ptr, need);
    return CUDA_SUCCESS;
}

static CUresult params_pack(const emu_function *f, const ptx_func_info *info, void **kernelParams, void **extra,
                            unsigned char **out)
{
    if (kernelParams && extra)
        return CUDA_ERROR_INVALID_VALUE;
    unsigned char *buf = calloc(1, info->param_bytes ? info->param_bytes : 1);
    if (!buf)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult rc = CUDA_SUCCESS;
    if (extra) {
        rc = params_from_extra(extra, info->param_bytes, buf);
    } else if (info->nparams > 0 && !kernelParams) {
        rc = CUDA_ERROR_INVALID_VALUE;
    } else {
        for (int i = 0; i < info->nparams && rc == CUDA_SUCCESS; i++) {
            size_t off, size;
            if (ptx_func_param(f->pf, i, &off, &size) != 0 || !kernelParams[i] || off + size > info->param_bytes)
                rc = CUDA_ERROR_INVALID_VALUE;
            else
                memcpy(buf + off, kernelParams[i], size);
        }
    }
    if (rc != CUDA_SUCCESS) {
        free(buf);
        return rc;
    }
    *out = buf;
    return CUDA_SUCCESS;
}

/* ---- validation --------------------------------------------------------------------------- */
static CUresult validate_dims(const launch_cfg *c)
{
    for (int i = 0; i < 3; i++)
        if (c->grid[i] == 0 || c->block[i] == 0)
            return CUDA_ERROR_INVALID_VALUE;
    if (c->block[0] > 1024 || c->block[1] > 1024 || c->block[2] > 64)
        return CUDA_ERROR_INVALID_VALUE;
    if ((unsigned long long)c->block[0] * c->block[1] * c->block[2] > EMU_MAX_THREADS_PER_BLOCK)
        return CUDA_ERROR_INVALID_VALUE;
    if (c->grid[0] > INT_MAX || c->grid[1] > 65535 || c->grid[2] > 65535)
        return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

static CUresult validate_launch(emu_ctx *ctx, const emu_function *f, const ptx_func_info *info, const launch_cfg *c)
{
    CUresult rc = validate_dims(c);
    if (rc != CUDA_SUCCESS)
        return rc;
    int threads = (int)(c->block[0] * c->block[1] * c->block[2]);
    if (info->reqntid) {
        for (int i = 0; i < 3; i++)
            if (c->block[i] != (info->maxntid[i] ? info->maxntid[i] : 1))
                return CUDA_ERROR_INVALID_VALUE;
    }
    if (threads > emu_func_max_threads(info))
        return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
    if (c->smem > (unsigned)f->max_dyn_smem || info->static_smem + c->smem > EMU_SMEM_PER_BLOCK_OPTIN)
        return CUDA_ERROR_INVALID_VALUE;
    if (c->cooperative) {
        unsigned long long blocks = (unsigned long long)c->grid[0] * c->grid[1] * c->grid[2];
        unsigned long long fit = (unsigned long long)blocks_per_sm(info, threads, c->smem) * ctx->dev->sm_count;
        if (blocks > fit)
            return CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE;
    }
    return CUDA_SUCCESS;
}

/* ---- the queued operation ----------------------------------------------------------------- */
static CUresult launch_run(emu_ctx *ctx, void *arg)
{
    launch_job *j = arg;
    ptx_fault fault;
    memset(&fault, 0, sizeof fault);
    emu_busy_begin(ctx->dev->ordinal);
    CUresult rc = ptx_launch_grid(j->f->pf, &j->l, &fault);
    emu_busy_end(ctx->dev->ordinal);
    if (rc == CUDA_SUCCESS)
        return rc;
    char msg[sizeof fault.msg + 160];
    if (fault.msg[0] && strstr(fault.msg, j->name))
        snprintf(msg, sizeof msg, "%s", fault.msg);
    else
        snprintf(msg, sizeof msg, "kernel %s: %s", j->name, fault.msg[0] ? fault.msg : "launch failed");
    if (emu_error_is_sticky(rc))
        emu_ctx_set_sticky(ctx, rc, msg);
    else
        emu_log("%s", msg);
    return rc;
}

static void launch_free(void *arg)
{
    launch_job *j = arg;
    free(j->params);
    free(j);
}

static CUresult launch(CUfunction h, const launch_cfg *c, void **kernelParams, void **extra)
{
    emu_ctx *ctx;
    CUresult rc = emu_ctx_enter(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    emu_function *f;
    if (!h || (rc = emu_function_resolve(ctx, h, &f)) != CUDA_SUCCESS)
        return h ? rc : CUDA_ERROR_INVALID_HANDLE;
    ptx_func_info info;
    ptx_func_get_info(f->pf, &info);
    rc = validate_launch(ctx, f, &info, c);
    emu_stream *s = NULL;
    if (rc == CUDA_SUCCESS)
        rc = emu_stream_resolve(ctx, c->stream, &s);
    launch_job *j = NULL;
    if (rc == CUDA_SUCCESS && !(j = calloc(1, sizeof *j)))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc == CUDA_SUCCESS)
        rc = params_pack(f, &info, kernelParams, extra, &j->params);
    if (rc != CUDA_SUCCESS) {
        free(j);
        return rc;
    }
    j->f = f;
    j->name = info.name;
    memcpy(j->l.grid, c->grid, sizeof j->l.grid);
    memcpy(j->l.block, c->block, sizeof j->l.block);
    j->l.dyn_smem = c->smem;
    j->l.params = j->params;
    j->l.cooperative = c->cooperative;
    return emu_stream_enqueue(s, launch_run, j, launch_free);
}

static launch_cfg make_cfg(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                           unsigned smem, CUstream stream, int cooperative)
{
    launch_cfg c = { { gx, gy, gz }, { bx, by, bz }, smem, stream, cooperative };
    return c;
}

/* ---- cuLaunchKernelEx attributes ----------------------------------------------------------- */
typedef struct ex_events {
    CUevent ev[4];
    int n;
} ex_events;

static CUresult apply_attribute(const CUlaunchAttribute *a, launch_cfg *c, ex_events *events)
{
    switch (a->id) {
    case CU_LAUNCH_ATTRIBUTE_IGNORE:
        return CUDA_SUCCESS;
    case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
        c->cooperative = a->value.cooperative != 0;
        return CUDA_SUCCESS;
    case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION:
        if ((unsigned long long)a->value.clusterDim.x * a->value.clusterDim.y * a->value.clusterDim.z > 1) {
            emu_log("cuLaunchKernelEx: thread block clusters are not supported by the software GPU");
            return CUDA_ERROR_NOT_SUPPORTED;
        }
        return CUDA_SUCCESS;
    case CU_LAUNCH_ATTRIBUTE_LAUNCH_COMPLETION_EVENT:
        if (events->n < 4)
            events->ev[events->n++] = a->value.launchCompletionEvent.event;
        return CUDA_SUCCESS;
    case CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_EVENT:   /* triggers no earlier than completion */
        if (events->n < 4)
            events->ev[events->n++] = a->value.programmaticEvent.event;
        return CUDA_SUCCESS;
    case CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW:
    case CU_LAUNCH_ATTRIBUTE_SYNCHRONIZATION_POLICY:
    case CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
    case CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION:
    case CU_LAUNCH_ATTRIBUTE_PRIORITY:
    case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN_MAP:
    case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN:
    case CU_LAUNCH_ATTRIBUTE_PREFERRED_CLUSTER_DIMENSION:
    case CU_LAUNCH_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
    case CU_LAUNCH_ATTRIBUTE_NVLINK_UTIL_CENTRIC_SCHEDULING:
        return CUDA_SUCCESS;   /* hints with no effect on an interpreter */
    default:
        return CUDA_ERROR_INVALID_VALUE;   /* unknown, or graph-node only */
    }
}

static CUresult launch_ex(const CUlaunchConfig *config, CUfunction f, void **kernelParams, void **extra, int ptsz)
{
    if (!config)
        return emu_initialized() ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_NOT_INITIALIZED;
    if (config->numAttrs && !config->attrs)
        return CUDA_ERROR_INVALID_VALUE;
    CUstream stream = ptsz ? emu_stream_ptsz(config->hStream) : config->hStream;
    launch_cfg c = make_cfg(config->gridDimX, config->gridDimY, config->gridDimZ, config->blockDimX,
                            config->blockDimY, config->blockDimZ, config->sharedMemBytes, stream, 0);
    ex_events events = { { NULL }, 0 };
    for (unsigned i = 0; i < config->numAttrs; i++) {
        CUresult rc = apply_attribute(&config->attrs[i], &c, &events);
        if (rc != CUDA_SUCCESS)
            return rc;
    }
    CUresult rc = launch(f, &c, kernelParams, extra);
    for (int i = 0; rc == CUDA_SUCCESS && i < events.n; i++)
        rc = cuEventRecord(events.ev[i], stream);
    return rc;
}

/* ---- launch entry points ------------------------------------------------------------------ */
EMU_API CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                                unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
                                unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra)
{
    launch_cfg c = make_cfg(gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes,
                            hStream, 0);
    return launch(f, &c, kernelParams, extra);
}

EMU_API CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
                                     unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
                                     unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
                                     void **kernelParams, void **extra)
{
    launch_cfg c = make_cfg(gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes,
                            emu_stream_ptsz(hStream), 0);
    return launch(f, &c, kernelParams, extra);
}

EMU_API CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
                                           unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
                                           unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
                                           void **kernelParams)
{
    launch_cfg c = make_cfg(gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes,
                            hStream, 1);
    return launch(f, &c, kernelParams, NULL);
}

EMU_API CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
                                                unsigned int gridDimZ, unsigned int blockDimX,
                                                unsigned int blockDimY, unsigned int blockDimZ,
                                                unsigned int sharedMemBytes, CUstream hStream, void **kernelParams)
{
    launch_cfg c = make_cfg(gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes,
                            emu_stream_ptsz(hStream), 1);
    return launch(f, &c, kernelParams, NULL);
}

EMU_API CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f, void **kernelParams, void **extra)
{
    return launch_ex(config, f, kernelParams, extra, 0);
}

EMU_API CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *config, CUfunction f, void **kernelParams,
                                       void **extra)
{
    return launch_ex(config, f, kernelParams, extra, 1);
}

/* ---- occupancy ---------------------------------------------------------------------------- */
static CUresult occupancy_function(CUfunction h, emu_ctx **ctx, emu_function **f, ptx_func_info *info)
{
    CUresult rc = emu_ctx_enter(ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = emu_function_resolve(*ctx, h, f);
    if (rc == CUDA_SUCCESS)
        ptx_func_get_info((*f)->pf, info);
    return rc;
}

static int valid_occupancy_flags(unsigned flags)
{
    return flags == CU_OCCUPANCY_DEFAULT || flags == CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE;
}

EMU_API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *numBlocks, CUfunction func, int blockSize,
                                                                      size_t dynamicSMemSize, unsigned int flags)
{
    emu_ctx *ctx;
    emu_function *f;
    ptx_func_info info;
    CUresult rc = occupancy_function(func, &ctx, &f, &info);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!numBlocks || blockSize <= 0 || !valid_occupancy_flags(flags))
        return CUDA_ERROR_INVALID_VALUE;
    *numBlocks = blocks_per_sm(&info, blockSize, dynamicSMemSize);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks, CUfunction func, int blockSize,
                                                             size_t dynamicSMemSize)
{
    return cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(numBlocks, func, blockSize, dynamicSMemSize,
                                                                CU_OCCUPANCY_DEFAULT);
}

EMU_API CUresult cuOccupancyMaxPotentialBlockSizeWithFlags(int *minGridSize, int *blockSize, CUfunction func,
                                                           CUoccupancyB2DSize blockSizeToDynamicSMemSize,
                                                           size_t dynamicSMemSize, int blockSizeLimit,
                                                           unsigned int flags)
{
    emu_ctx *ctx;
    emu_function *f;
    ptx_func_info info;
    CUresult rc = occupancy_function(func, &ctx, &f, &info);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!minGridSize || !blockSize || blockSizeLimit < 0 || !valid_occupancy_flags(flags))
        return CUDA_ERROR_INVALID_VALUE;
    int max = emu_func_max_threads(&info);
    if (blockSizeLimit > 0 && blockSizeLimit < max)
        max = blockSizeLimit;
    int best_size = 0, best_blocks = 0;
    long best_threads = 0;
    for (int bs = max >= 32 ? max / 32 * 32 : max; bs > 0; bs -= bs > 32 ? 32 : bs) {
        size_t smem = blockSizeToDynamicSMemSize ? blockSizeToDynamicSMemSize(bs) : dynamicSMemSize;
        int blocks = blocks_per_sm(&info, bs, smem);
        if ((long)blocks * bs > best_threads) {
            best_threads = (long)blocks * bs;
            best_size = bs;
            best_blocks = blocks;
        }
        if (best_threads >= EMU_MAX_THREADS_PER_SM)
            break;
    }
    *blockSize = best_size;
    *minGridSize = best_blocks * ctx->dev->sm_count;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuOccupancyMaxPotentialBlockSize(int *minGridSize, int *blockSize, CUfunction func,
                                                  CUoccupancyB2DSize blockSizeToDynamicSMemSize,
                                                  size_t dynamicSMemSize, int blockSizeLimit)
{
    return cuOccupancyMaxPotentialBlockSizeWithFlags(minGridSize, blockSize, func, blockSizeToDynamicSMemSize,
                                                     dynamicSMemSize, blockSizeLimit, CU_OCCUPANCY_DEFAULT);
}

EMU_API CUresult cuOccupancyAvailableDynamicSMemPerBlock(size_t *dynamicSmemSize, CUfunction func, int numBlocks,
                                                         int blockSize)
{
    emu_ctx *ctx;
    emu_function *f;
    ptx_func_info info;
    CUresult rc = occupancy_function(func, &ctx, &f, &info);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dynamicSmemSize || numBlocks <= 0 || blockSize <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    *dynamicSmemSize = 0;
    if (blocks_per_sm(&info, blockSize, 0) < numBlocks)
        return CUDA_SUCCESS;
    size_t per_block = (EMU_SMEM_PER_SM / (size_t)numBlocks) / SMEM_GRANULE * SMEM_GRANULE;
    size_t fixed = info.static_smem + EMU_SMEM_RESERVED_PER_BLOCK;
    size_t avail = per_block > fixed ? per_block - fixed : 0;
    if (avail > (size_t)f->max_dyn_smem)
        avail = (size_t)f->max_dyn_smem;
    *dynamicSmemSize = avail;
    return CUDA_SUCCESS;
}

static CUresult cluster_config(const CUlaunchConfig *config, unsigned *cluster)
{
    if (!config || (config->numAttrs && !config->attrs))
        return CUDA_ERROR_INVALID_VALUE;
    *cluster = 1;
    for (unsigned i = 0; i < config->numAttrs; i++)
        if (config->attrs[i].id == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION) {
            const CUlaunchAttributeValue *v = &config->attrs[i].value;
            *cluster = v->clusterDim.x * v->clusterDim.y * v->clusterDim.z;
        }
    return *cluster == 1 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CLUSTER_SIZE;
}

EMU_API CUresult cuOccupancyMaxPotentialClusterSize(int *clusterSize, CUfunction func, const CUlaunchConfig *config)
{
    emu_ctx *ctx;
    emu_function *f;
    ptx_func_info info;
    CUresult rc = occupancy_function(func, &ctx, &f, &info);
    if (rc != CUDA_SUCCESS)
        return rc;
    unsigned cluster;
    if (!clusterSize || !config)
        return CUDA_ERROR_INVALID_VALUE;
    rc = cluster_config(config, &cluster);
    if (rc == CUDA_SUCCESS)
        *clusterSize = 1;   /* no thread block clusters: a "cluster" is one block */
    return rc;
}

EMU_API CUresult cuOccupancyMaxActiveClusters(int *numClusters, CUfunction func, const CUlaunchConfig *config)
{
    emu_ctx *ctx;
    emu_function *f;
    ptx_func_info info;
    CUresult rc = occupancy_function(func, &ctx, &f, &info);
    if (rc != CUDA_SUCCESS)
        return rc;
    unsigned cluster;
    if (!numClusters || !config)
        return CUDA_ERROR_INVALID_VALUE;
    rc = cluster_config(config, &cluster);
    if (rc != CUDA_SUCCESS)
        return rc;
    int block = (int)(config->blockDimX * config->blockDimY * config->blockDimZ);
    *numClusters = blocks_per_sm(&info, block, config->sharedMemBytes) * ctx->dev->sm_count;
    return CUDA_SUCCESS;
}
