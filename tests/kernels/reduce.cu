// reduce.cu: block and grid reductions: shared-memory tree, warp shuffles (down and xor
// butterfly), and the threadfence "last block finishes" pattern with a __device__ counter.
// Host side: tests/emu/test_corpus_parallel.c.

// Shared-memory tree; blockDim.x must be 256; each block reduces 2*256 inputs.
extern "C" __global__ void reduce_smem_f32(const float *in, float *block_sums, unsigned n)
{
    __shared__ float s[256];
    unsigned tid = threadIdx.x;
    unsigned i = blockIdx.x * blockDim.x * 2 + tid;
    float v = 0.0f;
    if (i < n) v = in[i];
    if (i + blockDim.x < n) v += in[i + blockDim.x];
    s[tid] = v;
    __syncthreads();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (tid < stride) s[tid] += s[tid + stride];
        __syncthreads();
    }
    if (tid == 0) block_sums[blockIdx.x] = s[0];
}

// Warp shuffle-down tree inside each warp, then warp 0 reduces the warp sums.
extern "C" __global__ void reduce_shfl_down_f32(const float *in, float *block_sums, unsigned n)
{
    __shared__ float warp_sums[32];
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    float v = i < n ? in[i] : 0.0f;
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, off);
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        unsigned nw = (blockDim.x + 31) >> 5;
        v = lane < nw ? warp_sums[lane] : 0.0f;
        for (int off = 16; off > 0; off >>= 1)
            v += __shfl_down_sync(0xffffffffu, v, off);
        if (lane == 0) block_sums[blockIdx.x] = v;
    }
}

// Butterfly (xor) reduction: every lane ends with its warp's sum; lane 0 adds it to *total.
extern "C" __global__ void reduce_shfl_xor_i32(const int *in, int *lane_sums, int *total, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = i < n ? in[i] : 0;
    for (int m = 16; m > 0; m >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, m);
    if (i < n) lane_sums[i] = v;
    if ((threadIdx.x & 31) == 0) atomicAdd(total, v);
}

// threadFenceReduction: grid-stride partial sums, tree per block, the last block to retire
// (atomicInc ticket after __threadfence) sums the partials in block order. blockDim.x == 256.
__device__ unsigned int retirement_count = 0;

extern "C" __global__ void reduce_lastblock_f32(const float *in, float *partial, float *result, unsigned n)
{
    __shared__ float s[256];
    __shared__ bool am_last;
    unsigned tid = threadIdx.x;
    float v = 0.0f;
    for (unsigned i = blockIdx.x * blockDim.x + tid; i < n; i += gridDim.x * blockDim.x)
        v += in[i];
    s[tid] = v;
    __syncthreads();
    for (unsigned stride = 128; stride > 0; stride >>= 1) {
        if (tid < stride) s[tid] += s[tid + stride];
        __syncthreads();
    }
    if (tid == 0) {
        partial[blockIdx.x] = s[0];
        __threadfence();
        unsigned ticket = atomicInc(&retirement_count, gridDim.x);
        am_last = (ticket == gridDim.x - 1);
    }
    __syncthreads();
    if (am_last) {
        volatile float *vp = partial;
        float t = 0.0f;
        for (unsigned b = tid; b < gridDim.x; b += blockDim.x)
            t += vp[b];
        s[tid] = t;
        __syncthreads();
        for (unsigned stride = 128; stride > 0; stride >>= 1) {
            if (tid < stride) s[tid] += s[tid + stride];
            __syncthreads();
        }
        if (tid == 0) {
            *result = s[0];
            retirement_count = 0;
        }
    }
}
