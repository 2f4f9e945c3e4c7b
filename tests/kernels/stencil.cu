// stencil.cu: stencils over 1D (shared halo, weights in __constant__), 2D (16x16 blocks, shared
// tile with halo) and 3D (3D blocks and grid), plus a 3D index-map kernel that records every
// special register. Edges are clamped. Host side: tests/emu/test_corpus_linalg.c.
#define R 3
__constant__ float c_w1d[2 * R + 1];

__device__ __forceinline__ int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Dynamic shared memory: (blockDim.x + 2R) floats.
extern "C" __global__ void stencil1d_f32(const float *in, float *out, int n)
{
    extern __shared__ float s[];
    int g = blockIdx.x * blockDim.x + threadIdx.x;
    int l = threadIdx.x + R;
    s[l] = in[clampi(g, 0, n - 1)];
    if (threadIdx.x < R) {
        s[l - R] = in[clampi(g - R, 0, n - 1)];
        s[l + blockDim.x] = in[clampi(g + (int)blockDim.x, 0, n - 1)];
    }
    __syncthreads();
    if (g < n) {
        float acc = 0.0f;
        for (int j = -R; j <= R; ++j)
            acc += c_w1d[j + R] * s[l + j];
        out[g] = acc;
    }
}

#define BX 16
#define BY 16
__device__ __forceinline__ float ld2(const float *in, int x, int y, int w, int h)
{
    return in[clampi(y, 0, h - 1) * w + clampi(x, 0, w - 1)];
}

extern "C" __global__ void stencil2d_f32(const float *in, float *out, int w, int h, float c0, float c1)
{
    __shared__ float t[BY + 2][BX + 2];
    int x = blockIdx.x * BX + threadIdx.x, y = blockIdx.y * BY + threadIdx.y;
    int lx = threadIdx.x + 1, ly = threadIdx.y + 1;
    t[ly][lx] = ld2(in, x, y, w, h);
    if (threadIdx.x == 0) t[ly][0] = ld2(in, x - 1, y, w, h);
    if (threadIdx.x == BX - 1) t[ly][BX + 1] = ld2(in, x + 1, y, w, h);
    if (threadIdx.y == 0) t[0][lx] = ld2(in, x, y - 1, w, h);
    if (threadIdx.y == BY - 1) t[BY + 1][lx] = ld2(in, x, y + 1, w, h);
    __syncthreads();
    if (x < w && y < h) {
        float nb = t[ly][lx - 1] + t[ly][lx + 1] + t[ly - 1][lx] + t[ly + 1][lx];
        out[y * w + x] = c0 * t[ly][lx] + c1 * nb;
    }
}

// 7-point stencil, one thread per point, no shared memory.
extern "C" __global__ void stencil3d_f32(const float *in, float *out, int nx, int ny, int nz)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    int z = blockIdx.z * blockDim.z + threadIdx.z;
    if (x >= nx || y >= ny || z >= nz) return;
    size_t i = ((size_t)z * ny + y) * nx + x;
    size_t sy = nx, sz = (size_t)nx * ny;
    float c = in[i];
    float sum = 0.0f;
    sum += x > 0 ? in[i - 1] : c;
    sum += x < nx - 1 ? in[i + 1] : c;
    sum += y > 0 ? in[i - sy] : c;
    sum += y < ny - 1 ? in[i + sy] : c;
    sum += z > 0 ? in[i - sz] : c;
    sum += z < nz - 1 ? in[i + sz] : c;
    out[i] = 0.4f * c + 0.1f * sum;
}

// out[linear id] = packed (ctaid, tid) and a check of ntid/nctaid; linear id over the 3D grid.
extern "C" __global__ void grid_ids_3d(unsigned *out, unsigned *dims)
{
    unsigned bid = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    unsigned tid = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    unsigned nthreads = blockDim.x * blockDim.y * blockDim.z;
    unsigned gid = bid * nthreads + tid;
    out[2 * gid] = (blockIdx.x << 24) | (blockIdx.y << 16) | (blockIdx.z << 8) | (threadIdx.z);
    out[2 * gid + 1] = (threadIdx.x << 16) | threadIdx.y;
    if (gid == 0) {
        dims[0] = gridDim.x; dims[1] = gridDim.y; dims[2] = gridDim.z;
        dims[3] = blockDim.x; dims[4] = blockDim.y; dims[5] = blockDim.z;
        dims[6] = warpSize;
    }
}
