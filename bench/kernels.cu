// bench/kernels.cu: kernels for bench_emu.c. `mix` runs a loop of the integer and f32 work real
// kernels do (multiply-add, compare, select, shifts); `saxpy` is memory-bound; `empty` does nothing.
extern "C" __global__ void mix(float *out, int iters)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    float x = (float)(i & 255) * 0.001f, y = 1.0f;
    unsigned h = i * 2654435761u;
    for (int k = 0; k < iters; k++) {
        x = fmaf(x, 0.999f, 0.001f);
        h ^= h << 13; h ^= h >> 17; h ^= h << 5;
        y = (h & 1) ? y + x : y - x;
    }
    out[i] = x + y + (float)(h & 7);
}

extern "C" __global__ void saxpy(float a, const float *x, float *y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}

extern "C" __global__ void empty(void) {}
