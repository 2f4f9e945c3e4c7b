// rt_streams.cu: asynchronous work through the CUDA runtime on the software GPU: streams (blocking
// and non-blocking), pinned host memory with cudaMemcpyAsync, events (timing, queries, cross-stream
// waits), cudaLaunchHostFunc ordering, stream-ordered allocation (cudaMallocAsync/cudaFreeAsync),
// and several host threads sharing the device.
#include "rt_check.h"
#include <atomic>
#include <thread>
#include <vector>

__global__ void add_one(int *p, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        p[i] += 1;
}

__global__ void spin_then_set(int *p, int v, int iters)
{
    volatile int x = 0;
    for (int i = 0; i < iters; i++)
        x = x + 1;
    if (threadIdx.x == 0 && blockIdx.x == 0)
        *p = v + (x - iters);
}

static void pinned_async_copies()
{
    const int n = 1 << 18;
    int *h, *d;
    RT_REQUIRE(cudaMallocHost(&h, n * sizeof(int)));
    RT_REQUIRE(cudaMalloc(&d, n * sizeof(int)));
    for (int i = 0; i < n; i++)
        h[i] = i;
    cudaStream_t s;
    RT_REQUIRE(cudaStreamCreate(&s));
    RT_CHECK(cudaMemcpyAsync(d, h, n * sizeof(int), cudaMemcpyHostToDevice, s));
    for (int k = 0; k < 3; k++)
        add_one<<<(n + 255) / 256, 256, 0, s>>>(d, n);
    RT_CHECK(cudaMemcpyAsync(h, d, n * sizeof(int), cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(h[0] == 3 && h[n - 1] == n + 2);
    RT_CHECK(cudaStreamQuery(s));
    RT_CHECK(cudaStreamDestroy(s));
    RT_CHECK(cudaFreeHost(h));
    RT_CHECK(cudaFree(d));
}

static void events_and_cross_stream_waits()
{
    int *d, h = 0;
    RT_REQUIRE(cudaMalloc(&d, sizeof(int)));
    RT_CHECK(cudaMemset(d, 0, sizeof(int)));
    cudaStream_t a, b;
    RT_REQUIRE(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking));
    RT_REQUIRE(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking));
    cudaEvent_t start, stop, done;
    RT_REQUIRE(cudaEventCreate(&start));
    RT_REQUIRE(cudaEventCreate(&stop));
    RT_REQUIRE(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    RT_CHECK(cudaEventRecord(start, a));
    spin_then_set<<<1, 32, 0, a>>>(d, 41, 20000);
    RT_CHECK(cudaEventRecord(done, a));
    RT_CHECK(cudaEventRecord(stop, a));
    RT_CHECK(cudaStreamWaitEvent(b, done, 0));
    add_one<<<1, 1, 0, b>>>(d, 1);   // must see 41, giving 42
    RT_CHECK(cudaStreamSynchronize(b));
    RT_CHECK(cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost));
    RT_EXPECT(h == 42);
    RT_CHECK(cudaEventSynchronize(stop));
    RT_CHECK(cudaEventQuery(stop));
    float ms = -1;
    RT_CHECK(cudaEventElapsedTime(&ms, start, stop));
    RT_EXPECT(ms >= 0);
    RT_EXPECT_ERR(cudaEventElapsedTime(&ms, start, done), cudaErrorInvalidResourceHandle);
    RT_EXPECT_ERR(cudaGetLastError(), cudaErrorInvalidResourceHandle);   // any call's error, once
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaEventDestroy(start));
    RT_CHECK(cudaEventDestroy(stop));
    RT_CHECK(cudaEventDestroy(done));
    RT_CHECK(cudaStreamDestroy(a));
    RT_CHECK(cudaStreamDestroy(b));
    RT_CHECK(cudaFree(d));
}

struct host_log {
    std::atomic<int> next{0};
    int order[4] = {-1, -1, -1, -1};
    int *mapped = nullptr;
    int seen = -1;
};

static void CUDART_CB host_step(void *arg)
{
    host_log *l = (host_log *)arg;
    int k = l->next.fetch_add(1);
    if (k < 4)
        l->order[k] = k;
    if (k == 1)
        l->seen = *l->mapped;   // the kernel before this host function has finished
}

static void host_functions()
{
    host_log l;
    int *h, *d;
    RT_REQUIRE(cudaMallocHost(&h, sizeof(int)));
    RT_REQUIRE(cudaMalloc(&d, sizeof(int)));
    *h = 0;
    l.mapped = h;
    cudaStream_t s;
    RT_REQUIRE(cudaStreamCreate(&s));
    RT_CHECK(cudaLaunchHostFunc(s, host_step, &l));
    spin_then_set<<<1, 32, 0, s>>>(d, 7, 5000);
    RT_CHECK(cudaMemcpyAsync(h, d, sizeof(int), cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaLaunchHostFunc(s, host_step, &l));
    RT_CHECK(cudaLaunchHostFunc(s, host_step, &l));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(l.next.load() == 3);
    RT_EXPECT(l.order[0] == 0 && l.order[1] == 1 && l.order[2] == 2);
    RT_EXPECT(l.seen == 7);
    RT_CHECK(cudaStreamDestroy(s));
    RT_CHECK(cudaFreeHost(h));
    RT_CHECK(cudaFree(d));
}

static void stream_ordered_allocation()
{
    cudaStream_t s;
    RT_REQUIRE(cudaStreamCreate(&s));
    int supported = 0;
    RT_CHECK(cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, 0));
    RT_EXPECT(supported == 1);
    const int n = 4096;
    std::vector<int> out(n);
    for (int round = 0; round < 3; round++) {
        int *d = nullptr;
        RT_CHECK(cudaMallocAsync(&d, n * sizeof(int), s));
        RT_CHECK(cudaMemsetAsync(d, 0, n * sizeof(int), s));
        add_one<<<n / 128, 128, 0, s>>>(d, n);
        add_one<<<n / 128, 128, 0, s>>>(d, n);
        RT_CHECK(cudaMemcpyAsync(out.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost, s));
        RT_CHECK(cudaFreeAsync(d, s));
        RT_CHECK(cudaStreamSynchronize(s));
        RT_EXPECT(out[0] == 2 && out[n - 1] == 2);
    }
    cudaMemPool_t pool;
    RT_CHECK(cudaDeviceGetDefaultMemPool(&pool, 0));
    RT_CHECK(cudaStreamDestroy(s));
}

static void many_host_threads()
{
    const int nthreads = 4, n = 10000;
    std::atomic<int> bad{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < nthreads; t++) {
        ts.emplace_back([&bad, t] {
            int *d;
            std::vector<int> h(n, t);
            if (cudaMalloc(&d, n * sizeof(int)) != cudaSuccess) {
                bad++;
                return;
            }
            cudaStream_t s;
            cudaStreamCreate(&s);
            cudaMemcpyAsync(d, h.data(), n * sizeof(int), cudaMemcpyHostToDevice, s);
            add_one<<<(n + 127) / 128, 128, 0, s>>>(d, n);
            cudaMemcpyAsync(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost, s);
            if (cudaStreamSynchronize(s) != cudaSuccess || h[0] != t + 1 || h[n - 1] != t + 1)
                bad++;
            cudaStreamDestroy(s);
            cudaFree(d);
        });
    }
    for (auto &t : ts)
        t.join();
    RT_EXPECT(bad.load() == 0);
    RT_CHECK(cudaDeviceSynchronize());
}

int main()
{
    pinned_async_copies();
    events_and_cross_stream_waits();
    host_functions();
    stream_ordered_allocation();
    many_host_threads();
    return rt_finish("rt_streams");
}
