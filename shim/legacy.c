/* legacy.c: the older exported names of remoted entry points (owner: shim/). The driver still
 * exports the names that cuda.h's #defines now send to a newer version (cuStreamDestroy for
 * cuStreamDestroy_v2, ...); older runtimes and programs link or look them up (cuGetProcAddress
 * by an older version: scripts/gen_stubs.py's table names these very symbols, so it hands out
 * these forwarders). Each one here has the same parameter types and the same meaning as the
 * version it forwards to. Names whose parameters differ stay NOT_SUPPORTED stubs
 * (scripts/gen_stubs.py): cuDeviceTotalMem (unsigned int *bytes), cuMemPrefetchAsync(_ptsz) and
 * cuMemAdvise (a CUdevice where the remoted versions take a CUmemLocation). The CUDA 12.8 batch
 * copies (with failIdx) are memcpy_batch.c's. */
#include "rpc.h"

CUresult bf_shim_primary_reset(CUdevice dev);   /* export.c: storage destructors, then the reset */

#undef cuDeviceGetUuid
#undef cuDevicePrimaryCtxRelease
#undef cuDevicePrimaryCtxReset
#undef cuDevicePrimaryCtxSetFlags
#undef cuCtxCreate
#undef cuCtxDestroy
#undef cuCtxPushCurrent
#undef cuCtxPopCurrent
#undef cuStreamDestroy
#undef cuEventDestroy
#undef cuEventElapsedTime
#undef cuMemHostRegister
#undef cuLinkCreate
#undef cuLinkAddData
#undef cuLinkAddFile

#define FORWARD(name, params, args, target)                                                             \
    BF_API CUresult CUDAAPI name params;                                                                \
    BF_API CUresult CUDAAPI name params { return target args; }

/* devices (cuDeviceGetUuid before 11.4: the same answer as _v2, as the driver gives for a device
 * that is not a MIG instance) */
FORWARD(cuDeviceGetUuid, (CUuuid *uuid, CUdevice dev), (uuid, dev), cuDeviceGetUuid_v2)
/* primary contexts (pre-11.0; the runtime asks for cuDevicePrimaryCtxRelease by that name at exit) */
FORWARD(cuDevicePrimaryCtxRelease, (CUdevice dev), (dev), cuDevicePrimaryCtxRelease_v2)
FORWARD(cuDevicePrimaryCtxReset, (CUdevice dev), (dev), bf_shim_primary_reset)
FORWARD(cuDevicePrimaryCtxSetFlags, (CUdevice dev, unsigned int flags), (dev, flags), cuDevicePrimaryCtxSetFlags_v2)
/* contexts: cuCtxCreate and _v2 (flags, device) are the v4 entry point without creation
 * parameters (cuCtxCreate_v3 is remoted itself) */
FORWARD(cuCtxCreate, (CUcontext *pctx, unsigned int flags, CUdevice dev), (pctx, NULL, flags, dev), cuCtxCreate_v4)
FORWARD(cuCtxCreate_v2, (CUcontext *pctx, unsigned int flags, CUdevice dev), (pctx, NULL, flags, dev), cuCtxCreate_v4)
FORWARD(cuCtxDestroy, (CUcontext ctx), (ctx), cuCtxDestroy_v2)
FORWARD(cuCtxPushCurrent, (CUcontext ctx), (ctx), cuCtxPushCurrent_v2)
FORWARD(cuCtxPopCurrent, (CUcontext *pctx), (pctx), cuCtxPopCurrent_v2)
/* streams and events (cuEventElapsedTime before 12.8: the CUDA 12 runtime asks for it) */
FORWARD(cuStreamDestroy, (CUstream hStream), (hStream), cuStreamDestroy_v2)
FORWARD(cuEventDestroy, (CUevent hEvent), (hEvent), cuEventDestroy_v2)
FORWARD(cuEventElapsedTime, (float *ms, CUevent start, CUevent end), (ms, start, end), cuEventElapsedTime_v2)
/* host memory (pre-4.0) */
FORWARD(cuMemHostRegister, (void *p, size_t bytesize, unsigned int flags), (p, bytesize, flags), cuMemHostRegister_v2)
/* the linker (pre-6.5) */
FORWARD(cuLinkCreate, (unsigned int n, CUjit_option *o, void **v, CUlinkState *out), (n, o, v, out), cuLinkCreate_v2)
FORWARD(cuLinkAddData,
        (CUlinkState st, CUjitInputType type, void *data, size_t size, const char *name, unsigned int n,
         CUjit_option *o, void **v),
        (st, type, data, size, name, n, o, v), cuLinkAddData_v2)
FORWARD(cuLinkAddFile,
        (CUlinkState st, CUjitInputType type, const char *path, unsigned int n, CUjit_option *o, void **v),
        (st, type, path, n, o, v), cuLinkAddFile_v2)
