"""tests/python/test_cuda_bindings.py: a Python program on the CUDA driver API through
cuda.bindings.driver (PyPI cuda-bindings 13.x), run by tests/python/run_python.sh on the software
GPU directly and through `bitfusion run` against a local bitfusiond.

It compiles CUDA C kernels to PTX with NVRTC (cuda.bindings.nvrtc; cuda-pathfinder finds the CUDA
toolkit's libnvrtc.so.13 through the system search path or CUDA_HOME, or the nvidia-cuda-nvrtc
wheel when that is installed), then: cuInit, device name and attributes, a created context,
cuMemAlloc, copies both ways, cuModuleLoadData of the PTX, cuModuleGetFunction, cuLaunchKernel
with typed parameters, and checks the results against numpy. More cases: memset and
device-to-device copies, module globals, streams with events and asynchronous copies from pinned
memory, error names, a bad image, and an out-of-bounds kernel that must give
CUDA_ERROR_ILLEGAL_ADDRESS at synchronisation (in its own process: the error is sticky).

Which libcuda.so.1 it talks to is whatever the dynamic loader gives cuda.bindings: the software
GPU with LD_LIBRARY_PATH=build/lib/bitfusion/emu, the client library under `bitfusion run`.
"""
import ctypes
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cuda.bindings import driver as cu
from cuda.bindings import nvrtc

KERNELS = r"""
__device__ int counter;
__device__ float scale = 2.0f;

extern "C" __global__ void saxpy(float a, const float *x, float *y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}

extern "C" __global__ void scale_add(double *out, const double *in, long long n, double b)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        out[i] = in[i] * scale + b;
}

extern "C" __global__ void block_sum(const int *in, int *out, unsigned n)
{
    extern __shared__ int sh[];
    unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    sh[t] = i < n ? in[i] : 0;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) sh[t] += sh[t + s];
        __syncthreads();
    }
    if (t == 0) { out[blockIdx.x] = sh[0]; atomicAdd(&counter, 1); }
}

extern "C" __global__ void out_of_bounds(int *p, long long off)
{
    p[off + threadIdx.x] = 42;
}
"""

TIMEOUT = 60  # seconds for the out-of-bounds child process


def check(result):
    """cuda-bindings returns (status, values...): raise on an error, return the values."""
    if not isinstance(result, tuple):
        result = (result,)
    status, rest = result[0], result[1:]
    if isinstance(status, nvrtc.nvrtcResult):
        if status != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise RuntimeError(f"NVRTC error {status.name}")
    elif status != cu.CUresult.CUDA_SUCCESS:
        _, name = cu.cuGetErrorName(status)
        raise RuntimeError(f"CUDA error {name.decode() if name else int(status)}")
    if not rest:
        return None
    return rest[0] if len(rest) == 1 else rest


def compile_ptx(source, arch, name="kernels.cu"):
    prog = check(nvrtc.nvrtcCreateProgram(source.encode(), name.encode(), 0, [], []))
    opts = [f"--gpu-architecture=compute_{arch}".encode(), b"-default-device"]
    try:
        (status,) = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
        if status != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            size = check(nvrtc.nvrtcGetProgramLogSize(prog))
            log = b" " * size
            check(nvrtc.nvrtcGetProgramLog(prog, log))
            raise RuntimeError(f"NVRTC compile failed ({status.name}): {log.decode(errors='replace')}")
        size = check(nvrtc.nvrtcGetPTXSize(prog))
        ptx = b" " * size
        check(nvrtc.nvrtcGetPTX(prog, ptx))
        return ptx  # NUL-terminated, as cuModuleLoadData wants it
    finally:
        check(nvrtc.nvrtcDestroyProgram(prog))


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def device():
    check(cu.cuInit(0))
    return check(cu.cuDeviceGet(0))


@pytest.fixture(scope="module")
def arch(device):
    major = check(cu.cuDeviceGetAttribute(
        cu.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device))
    minor = check(cu.cuDeviceGetAttribute(
        cu.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device))
    return f"{major}{minor}"


@pytest.fixture(scope="module")
def ptx(arch):
    return compile_ptx(KERNELS, arch)


@pytest.fixture(scope="module")
def context(device):
    ctx = check(cu.cuCtxCreate(None, 0, device))
    yield ctx
    check(cu.cuCtxDestroy(ctx))


@pytest.fixture(scope="module")
def module(context, ptx):
    mod = check(cu.cuModuleLoadData(ptx))
    yield mod
    check(cu.cuModuleUnload(mod))


class DeviceBuffer:
    def __init__(self, nbytes):
        self.nbytes = nbytes
        self.ptr = check(cu.cuMemAlloc(nbytes))

    def free(self):
        if self.ptr is not None:
            check(cu.cuMemFree(self.ptr))
            self.ptr = None


@pytest.fixture
def buffers(context):
    made = []

    def alloc(nbytes):
        b = DeviceBuffer(nbytes)
        made.append(b)
        return b

    yield alloc
    for b in made:
        b.free()


def to_device(alloc, arr):
    b = alloc(arr.nbytes)
    check(cu.cuMemcpyHtoD(b.ptr, arr.ctypes.data, arr.nbytes))
    return b


def from_device(buf, dtype, count):
    out = np.empty(count, dtype=dtype)
    check(cu.cuMemcpyDtoH(out.ctypes.data, buf.ptr, out.nbytes))
    return out


# ---- cases --------------------------------------------------------------------------------------

def test_driver_version_and_devices(device):
    version = check(cu.cuDriverGetVersion())
    assert version >= 13000, f"driver version {version} is older than CUDA 13.0"
    assert check(cu.cuDeviceGetCount()) >= 1


def test_device_name_and_attributes(device, arch):
    name = check(cu.cuDeviceGetName(256, device)).split(b"\0")[0].decode()
    assert name.strip(), "empty device name"
    attr = cu.CUdevice_attribute
    get = lambda a: check(cu.cuDeviceGetAttribute(a, device))
    assert get(attr.CU_DEVICE_ATTRIBUTE_WARP_SIZE) == 32
    assert get(attr.CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK) >= 1024
    assert get(attr.CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X) >= 1024
    assert get(attr.CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X) >= 65535
    assert get(attr.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT) >= 1
    assert get(attr.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK) >= 48 * 1024
    assert int(arch) >= 75, f"compute capability {arch} is below what NVRTC 13 targets"
    assert check(cu.cuDeviceTotalMem(device)) > 0


def test_context(context, device):
    assert int(check(cu.cuCtxGetCurrent())) == int(context)
    assert int(check(cu.cuCtxGetDevice())) == int(device)
    free, total = check(cu.cuMemGetInfo())
    assert 0 < free <= total


def test_nvrtc_ptx(ptx, arch):
    text = ptx.rstrip(b"\0").decode()
    assert f".target sm_{arch}" in text
    for k in ("saxpy", "scale_add", "block_sum", "out_of_bounds"):
        assert f".entry {k}(" in text


def test_saxpy(module, buffers):
    n = 100_000
    rng = np.random.default_rng(1)
    x = rng.standard_normal(n, dtype=np.float32)
    y = rng.standard_normal(n, dtype=np.float32)
    a = np.float32(2.5)
    dx, dy = to_device(buffers, x), to_device(buffers, y)
    fn = check(cu.cuModuleGetFunction(module, b"saxpy"))
    params = ((a, dx.ptr, dy.ptr, n), (ctypes.c_float, None, None, ctypes.c_int))
    threads = 256
    check(cu.cuLaunchKernel(fn, (n + threads - 1) // threads, 1, 1, threads, 1, 1, 0, 0, params, 0))
    check(cu.cuCtxSynchronize())
    np.testing.assert_allclose(from_device(dy, np.float32, n), a * x + y, rtol=1e-6, atol=1e-6)


def test_launch_with_pointer_array_and_globals(module, buffers):
    """The other kernelParams form (an array of pointers to the values), f64 and a __device__
    global read by the kernel and set through cuModuleGetGlobal."""
    n = 5000
    src = np.linspace(-1.0, 1.0, n)
    din, dout = to_device(buffers, src), buffers(src.nbytes)
    gptr, gsize = check(cu.cuModuleGetGlobal(module, b"scale"))
    assert gsize == 4
    three = np.array([3.0], dtype=np.float32)
    check(cu.cuMemcpyHtoD(gptr, three.ctypes.data, 4))
    vals = [np.array([int(dout.ptr)], dtype=np.uint64), np.array([int(din.ptr)], dtype=np.uint64),
            np.array([n], dtype=np.int64), np.array([0.5], dtype=np.float64)]
    argv = np.array([v.ctypes.data for v in vals], dtype=np.uint64)
    fn = check(cu.cuModuleGetFunction(module, b"scale_add"))
    check(cu.cuLaunchKernel(fn, 4, 1, 1, 128, 1, 1, 0, 0, argv.ctypes.data, 0))
    check(cu.cuCtxSynchronize())
    np.testing.assert_allclose(from_device(dout, np.float64, n), src * 3.0 + 0.5, rtol=1e-12)


def test_memset_and_device_copy(context, buffers):
    n = 4096
    a, b = buffers(n * 4), buffers(n * 4)
    check(cu.cuMemsetD32(a.ptr, 0xDEADBEEF, n))
    check(cu.cuMemcpyDtoD(b.ptr, a.ptr, n * 4))
    check(cu.cuMemsetD8(b.ptr, 0x11, 8))
    got = from_device(b, np.uint32, n)
    assert (got[:2] == 0x11111111).all()
    assert (got[2:] == 0xDEADBEEF).all()


def test_streams_events_async(module, buffers):
    """Pinned host memory, asynchronous copies and a dynamic-shared-memory launch on a
    non-blocking stream, events around them, and an atomic counter in a module global."""
    n, threads = 1 << 16, 256
    blocks = n // threads
    stream = check(cu.cuStreamCreate(cu.CUstream_flags.CU_STREAM_NON_BLOCKING))
    start = check(cu.cuEventCreate(cu.CUevent_flags.CU_EVENT_DEFAULT))
    stop = check(cu.cuEventCreate(cu.CUevent_flags.CU_EVENT_DEFAULT))
    hin_p = check(cu.cuMemAllocHost(n * 4))
    hout_p = check(cu.cuMemAllocHost(blocks * 4))
    try:
        hin = np.ctypeslib.as_array((ctypes.c_int32 * n).from_address(int(hin_p)))
        hout = np.ctypeslib.as_array((ctypes.c_int32 * blocks).from_address(int(hout_p)))
        hin[:] = np.arange(n, dtype=np.int32) % 1000 - 500
        hout[:] = -1
        din, dout = buffers(n * 4), buffers(blocks * 4)
        cptr, _ = check(cu.cuModuleGetGlobal(module, b"counter"))
        check(cu.cuMemsetD32Async(cptr, 0, 1, stream))
        check(cu.cuEventRecord(start, stream))
        check(cu.cuMemcpyHtoDAsync(din.ptr, hin_p, n * 4, stream))
        fn = check(cu.cuModuleGetFunction(module, b"block_sum"))
        params = ((din.ptr, dout.ptr, n), (None, None, ctypes.c_uint))
        check(cu.cuLaunchKernel(fn, blocks, 1, 1, threads, 1, 1, threads * 4, stream, params, 0))
        check(cu.cuMemcpyDtoHAsync(hout_p, dout.ptr, blocks * 4, stream))
        check(cu.cuEventRecord(stop, stream))
        check(cu.cuStreamSynchronize(stream))
        check(cu.cuEventSynchronize(stop))
        (status,) = cu.cuEventQuery(stop)
        assert status == cu.CUresult.CUDA_SUCCESS
        assert check(cu.cuEventElapsedTime(start, stop)) >= 0.0
        (status,) = cu.cuStreamQuery(stream)
        assert status == cu.CUresult.CUDA_SUCCESS
        expect = hin.reshape(blocks, threads).sum(axis=1, dtype=np.int64)
        np.testing.assert_array_equal(hout, expect)
        count = np.zeros(1, dtype=np.int32)
        check(cu.cuMemcpyDtoH(count.ctypes.data, cptr, 4))
        assert count[0] == blocks
    finally:
        check(cu.cuMemFreeHost(hin_p))
        check(cu.cuMemFreeHost(hout_p))
        check(cu.cuEventDestroy(start))
        check(cu.cuEventDestroy(stop))
        check(cu.cuStreamDestroy(stream))


def test_error_names_and_bad_image(context):
    name = check(cu.cuGetErrorName(cu.CUresult.CUDA_ERROR_ILLEGAL_ADDRESS))
    assert name == b"CUDA_ERROR_ILLEGAL_ADDRESS"
    text = check(cu.cuGetErrorString(cu.CUresult.CUDA_ERROR_INVALID_VALUE))
    assert text
    (status, _) = cu.cuModuleLoadData(b"this is not a CUDA image\0")
    assert status in (cu.CUresult.CUDA_ERROR_INVALID_PTX, cu.CUresult.CUDA_ERROR_INVALID_IMAGE), status
    (status, _) = cu.cuMemAlloc(0)
    assert status == cu.CUresult.CUDA_ERROR_INVALID_VALUE, status


OOB_CHILD = textwrap.dedent("""
    import ctypes, sys
    sys.path.insert(0, {here!r})
    from test_cuda_bindings import check, compile_ptx, KERNELS, cu
    check(cu.cuInit(0))
    dev = check(cu.cuDeviceGet(0))
    ctx = check(cu.cuCtxCreate(None, 0, dev))
    mod = check(cu.cuModuleLoadData(compile_ptx(KERNELS, {arch!r})))
    fn = check(cu.cuModuleGetFunction(mod, b"out_of_bounds"))
    buf = check(cu.cuMemAlloc(1024))
    params = ((buf, 1 << 28), (None, ctypes.c_longlong))
    launch = cu.cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, 0, params, 0)[0]
    sync = cu.cuCtxSynchronize()[0]
    again = cu.cuMemAlloc(16)[0]
    print("launch", launch.name, "sync", sync.name, "after", again.name, flush=True)
""")


def test_out_of_bounds_kernel_gives_illegal_address(arch):
    here = os.path.dirname(os.path.abspath(__file__))
    code = OOB_CHILD.format(here=here, arch=arch)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"child exited {proc.returncode}: {out.strip()[-2000:]}"
    line = [l for l in proc.stdout.splitlines() if l.startswith("launch ")]
    assert line, f"child printed no result: {out.strip()[-2000:]}"
    words = line[-1].split()
    # the launch is asynchronous: it may already see the error, and at the latest the
    # synchronisation must; the error is sticky, so later calls in the context fail too
    assert words[1] in ("CUDA_SUCCESS", "CUDA_ERROR_ILLEGAL_ADDRESS"), line[-1]
    assert words[3] == "CUDA_ERROR_ILLEGAL_ADDRESS", line[-1]
    assert words[5] == "CUDA_ERROR_ILLEGAL_ADDRESS", line[-1]
