// rt_basic.cu: the CUDA runtime on the software GPU: device queries, memory, <<<>>> launches of
// plain, templated and dynamic-shared-memory kernels, __constant__/__device__ symbols, function
// attributes, occupancy, memory info, and cudaGetLastError/cudaPeekAtLastError semantics for a
// launch-configuration error (not sticky).
#include "rt_check.h"
#include <cstring>
#include <vector>

__constant__ float c_scale;
__device__ int d_counter;

__global__ void saxpy(int n, float a, const float *x, float *y)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] = a * x[i] + y[i] * c_scale;
}

template <typename T> __global__ void fill(T *p, int n, T v)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        p[i] = v + (T)i;
}

__global__ void block_sum(const int *in, int *out, int n)
{
    extern __shared__ int s[];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    s[threadIdx.x] = i < n ? in[i] : 0;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if (threadIdx.x < w)
            s[threadIdx.x] += s[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        out[blockIdx.x] = s[0];
        atomicAdd(&d_counter, 1);
    }
}

static void device_queries()
{
    int n = 0, dev = -1, drv = 0, rtv = 0, v = 0;
    RT_REQUIRE(cudaGetDeviceCount(&n));
    RT_EXPECT(n >= 1);
    RT_CHECK(cudaSetDevice(0));
    RT_CHECK(cudaGetDevice(&dev));
    RT_EXPECT(dev == 0);
    RT_CHECK(cudaDriverGetVersion(&drv));
    RT_CHECK(cudaRuntimeGetVersion(&rtv));
    RT_EXPECT(drv >= 12000 && rtv >= 12000);
    RT_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, 0));
    RT_EXPECT(v > 0);
    RT_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxThreadsPerBlock, 0));
    RT_EXPECT(v == 1024);
    RT_EXPECT_ERR(cudaSetDevice(n + 5), cudaErrorInvalidDevice);
    RT_EXPECT_ERR(cudaGetLastError(), cudaErrorInvalidDevice);
    RT_CHECK(cudaGetLastError());
#ifndef RT12
    cudaDeviceProp p;
    std::memset(&p, 0, sizeof p);
    RT_CHECK(cudaGetDeviceProperties(&p, 0));
    RT_EXPECT(p.name[0] != 0);
    RT_EXPECT(p.totalGlobalMem > 0 && p.multiProcessorCount == v || p.multiProcessorCount > 0);
    RT_EXPECT(p.maxThreadsPerBlock == 1024 && p.warpSize == 32);
    RT_EXPECT(p.major >= 7);
#endif
    size_t free_b = 0, total_b = 0;
    RT_CHECK(cudaMemGetInfo(&free_b, &total_b));
    RT_EXPECT(total_b > 0 && free_b <= total_b);
}

static void saxpy_and_symbols()
{
    const int n = 100000;
    std::vector<float> x(n), y(n), out(n);
    for (int i = 0; i < n; i++) {
        x[i] = (float)i;
        y[i] = 1.0f;
    }
    float *dx, *dy;
    RT_REQUIRE(cudaMalloc(&dx, n * sizeof(float)));
    RT_REQUIRE(cudaMalloc(&dy, n * sizeof(float)));
    RT_CHECK(cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    RT_CHECK(cudaMemcpy(dy, y.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    float scale = 3.0f, back = 0;
    RT_CHECK(cudaMemcpyToSymbol(c_scale, &scale, sizeof scale));
    RT_CHECK(cudaMemcpyFromSymbol(&back, c_scale, sizeof back));
    RT_EXPECT(back == 3.0f);
    saxpy<<<(n + 255) / 256, 256>>>(n, 2.0f, dx, dy);
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaDeviceSynchronize());
    RT_CHECK(cudaMemcpy(out.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad += out[i] != 2.0f * i + 3.0f;
    RT_EXPECT(bad == 0);
    RT_CHECK(cudaFree(dx));
    RT_CHECK(cudaFree(dy));
}

static void templates_and_memset()
{
    const int n = 5000;
    int *di;
    double *dd;
    RT_REQUIRE(cudaMalloc(&di, n * sizeof(int)));
    RT_REQUIRE(cudaMalloc(&dd, n * sizeof(double)));
    RT_CHECK(cudaMemset(di, 0xff, n * sizeof(int)));
    std::vector<int> hi(n);
    RT_CHECK(cudaMemcpy(hi.data(), di, n * sizeof(int), cudaMemcpyDeviceToHost));
    RT_EXPECT(hi[0] == -1 && hi[n - 1] == -1);
    fill<int><<<7, 128>>>(di, n, 5);
    fill<double><<<3, 64>>>(dd, n, 0.5);
    RT_CHECK(cudaDeviceSynchronize());
    std::vector<double> hd(n);
    RT_CHECK(cudaMemcpy(hi.data(), di, n * sizeof(int), cudaMemcpyDeviceToHost));
    RT_CHECK(cudaMemcpy(hd.data(), dd, n * sizeof(double), cudaMemcpyDeviceToHost));
    RT_EXPECT(hi[0] == 5 && hi[n - 1] == 5 + n - 1);
    RT_EXPECT(hd[10] == 10.5 && hd[n - 1] == 0.5 + n - 1);
    RT_CHECK(cudaFree(di));
    RT_CHECK(cudaFree(dd));
}

static void dynamic_shared_and_globals()
{
    const int n = 1 << 16, threads = 256, blocks = n / threads;
    std::vector<int> h(n);
    long long want = 0;
    for (int i = 0; i < n; i++) {
        h[i] = i % 17;
        want += h[i];
    }
    int *din, *dout, zero = 0, count = 0;
    RT_REQUIRE(cudaMalloc(&din, n * sizeof(int)));
    RT_REQUIRE(cudaMalloc(&dout, blocks * sizeof(int)));
    RT_CHECK(cudaMemcpy(din, h.data(), n * sizeof(int), cudaMemcpyHostToDevice));
    RT_CHECK(cudaMemcpyToSymbol(d_counter, &zero, sizeof zero));
    block_sum<<<blocks, threads, threads * sizeof(int)>>>(din, dout, n);
    RT_CHECK(cudaDeviceSynchronize());
    std::vector<int> partial(blocks);
    RT_CHECK(cudaMemcpy(partial.data(), dout, blocks * sizeof(int), cudaMemcpyDeviceToHost));
    long long got = 0;
    for (int b = 0; b < blocks; b++)
        got += partial[b];
    RT_EXPECT(got == want);
    RT_CHECK(cudaMemcpyFromSymbol(&count, d_counter, sizeof count));
    RT_EXPECT(count == blocks);
    int *addr = nullptr;
    RT_CHECK(cudaGetSymbolAddress((void **)&addr, d_counter));
    RT_EXPECT(addr != nullptr);
    RT_CHECK(cudaFree(din));
    RT_CHECK(cudaFree(dout));
}

static void attributes_and_occupancy()
{
    cudaFuncAttributes a;
    std::memset(&a, 0, sizeof a);
    RT_CHECK(cudaFuncGetAttributes(&a, saxpy));
    RT_EXPECT(a.maxThreadsPerBlock > 0 && a.maxThreadsPerBlock <= 1024);
    RT_EXPECT(a.numRegs > 0);
    RT_CHECK(cudaFuncGetAttributes(&a, block_sum));
    RT_EXPECT(a.maxThreadsPerBlock > 0);
    int blocks = 0, min_grid = 0, block = 0;
    RT_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, saxpy, 256, 0));
    RT_EXPECT(blocks >= 1 && blocks <= 32);
    RT_CHECK(cudaOccupancyMaxPotentialBlockSize(&min_grid, &block, saxpy, 0, 0));
    RT_EXPECT(block >= 32 && block <= 1024 && min_grid >= 1);
    RT_CHECK(cudaFuncSetAttribute(block_sum, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
    RT_CHECK(cudaFuncGetAttributes(&a, block_sum));
    RT_EXPECT(a.maxDynamicSharedSizeBytes == 64 * 1024);
}

static void launch_errors_are_not_sticky()
{
    int *d;
    RT_REQUIRE(cudaMalloc(&d, 1024 * sizeof(int)));
    // Too many threads per block. cudart 12 checks the configuration itself and reports
    // cudaErrorInvalidConfiguration; cudart 13 passes the driver's code through unchanged
    // (cuLaunchKernel: CUDA_ERROR_INVALID_VALUE). Either way the error is reported once.
    fill<int><<<1, 2048>>>(d, 1024, 1);
    cudaError_t e = cudaPeekAtLastError();
    RT_EXPECT(e == cudaErrorInvalidConfiguration || e == cudaErrorInvalidValue);
    RT_EXPECT_ERR(cudaGetLastError(), e);
    RT_CHECK(cudaGetLastError());
    fill<int><<<1, 256, 1 << 30>>>(d, 1024, 1);   // too much dynamic shared memory
    RT_EXPECT(cudaGetLastError() != cudaSuccess);
    fill<int><<<4, 256>>>(d, 1024, 1);
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaDeviceSynchronize());
    int h = 0;
    RT_CHECK(cudaMemcpy(&h, d + 1000, sizeof h, cudaMemcpyDeviceToHost));
    RT_EXPECT(h == 1001);
    RT_EXPECT_ERR(cudaFree((void *)0x1234), cudaErrorInvalidValue);
    RT_EXPECT_ERR(cudaGetLastError(), cudaErrorInvalidValue);
    RT_CHECK(cudaFree(d));
}

int main()
{
    device_queries();
    saxpy_and_symbols();
    templates_and_memset();
    dynamic_shared_and_globals();
    attributes_and_occupancy();
    launch_errors_are_not_sticky();
    return rt_finish("rt_basic");
}
