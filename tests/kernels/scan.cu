// scan.cu: block-wide prefix sums: Hillis-Steele inclusive (double-buffered dynamic shared
// memory), Blelloch work-efficient exclusive (bank-conflict-free padding), warp __shfl_up_sync
// inclusive scan, and the offset-add pass of a multi-block scan.
// Host side: tests/emu/test_corpus_parallel.c.

// Inclusive; dynamic shared memory of 2*blockDim.x ints. block_sums may be NULL.
extern "C" __global__ void scan_hs_incl_i32(const int *in, int *out, int *block_sums, unsigned n)
{
    extern __shared__ int buf[];
    unsigned tid = threadIdx.x, gid = blockIdx.x * blockDim.x + tid;
    unsigned pout = 0, pin = 1;
    buf[tid] = gid < n ? in[gid] : 0;
    __syncthreads();
    for (unsigned off = 1; off < blockDim.x; off <<= 1) {
        pout = 1 - pout;
        pin = 1 - pout;
        int v = buf[pin * blockDim.x + tid];
        if (tid >= off) v += buf[pin * blockDim.x + tid - off];
        buf[pout * blockDim.x + tid] = v;
        __syncthreads();
    }
    int r = buf[pout * blockDim.x + tid];
    if (gid < n) out[gid] = r;
    if (block_sums && tid == blockDim.x - 1) block_sums[blockIdx.x] = r;
}

#define LOG_NUM_BANKS 5
#define CF_OFFSET(i) ((i) >> LOG_NUM_BANKS)

// Exclusive; blockDim.x == 256, 512 elements per block. block_sums may be NULL.
extern "C" __global__ void scan_blelloch_excl_u32(const unsigned *in, unsigned *out, unsigned *block_sums,
                                                  unsigned n)
{
    __shared__ unsigned temp[512 + 512 / 32];
    unsigned tid = threadIdx.x;
    unsigned base = blockIdx.x * 512;
    unsigned ai = tid, bi = tid + 256;
    unsigned pa = CF_OFFSET(ai), pb = CF_OFFSET(bi);
    temp[ai + pa] = base + ai < n ? in[base + ai] : 0;
    temp[bi + pb] = base + bi < n ? in[base + bi] : 0;
    unsigned offset = 1;
    for (unsigned d = 256; d > 0; d >>= 1) {
        __syncthreads();
        if (tid < d) {
            unsigned a = offset * (2 * tid + 1) - 1, b = offset * (2 * tid + 2) - 1;
            a += CF_OFFSET(a);
            b += CF_OFFSET(b);
            temp[b] += temp[a];
        }
        offset <<= 1;
    }
    if (tid == 0) {
        unsigned last = 511 + CF_OFFSET(511);
        if (block_sums) block_sums[blockIdx.x] = temp[last];
        temp[last] = 0;
    }
    for (unsigned d = 1; d < 512; d <<= 1) {
        offset >>= 1;
        __syncthreads();
        if (tid < d) {
            unsigned a = offset * (2 * tid + 1) - 1, b = offset * (2 * tid + 2) - 1;
            a += CF_OFFSET(a);
            b += CF_OFFSET(b);
            unsigned t = temp[a];
            temp[a] = temp[b];
            temp[b] += t;
        }
    }
    __syncthreads();
    if (base + ai < n) out[base + ai] = temp[ai + pa];
    if (base + bi < n) out[base + bi] = temp[bi + pb];
}

// Inclusive scan with __shfl_up_sync inside warps, then across the block's warp totals.
extern "C" __global__ void scan_warp_shfl_incl_i32(const int *in, int *out, int *block_sums, unsigned n)
{
    __shared__ int warp_tot[32];
    unsigned tid = threadIdx.x, gid = blockIdx.x * blockDim.x + tid;
    unsigned lane = tid & 31, warp = tid >> 5, nw = (blockDim.x + 31) >> 5;
    int v = gid < n ? in[gid] : 0;
    for (int off = 1; off < 32; off <<= 1) {
        int t = __shfl_up_sync(0xffffffffu, v, off);
        if ((int)lane >= off) v += t;
    }
    if (lane == 31) warp_tot[warp] = v;
    __syncthreads();
    if (warp == 0) {
        int w = lane < nw ? warp_tot[lane] : 0;
        for (int off = 1; off < 32; off <<= 1) {
            int t = __shfl_up_sync(0xffffffffu, w, off);
            if ((int)lane >= off) w += t;
        }
        if (lane < nw) warp_tot[lane] = w;
    }
    __syncthreads();
    if (warp > 0) v += warp_tot[warp - 1];
    if (gid < n) out[gid] = v;
    if (block_sums && tid == blockDim.x - 1) block_sums[blockIdx.x] = v;
}

// Adds offsets[blockIdx.x] to the block's elements (third pass of a multi-block scan).
extern "C" __global__ void scan_add_offsets_i32(int *data, const int *offsets, unsigned n)
{
    unsigned gid = blockIdx.x * blockDim.x + threadIdx.x;
    if (gid < n) data[gid] += offsets[blockIdx.x];
}
