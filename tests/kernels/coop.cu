// coop.cu: cooperative groups: thread_block, tiled_partition<32> and <16>, cg::reduce with
// plus/greater, tile shuffles and votes, meta_group_rank, coalesced_threads() in a divergent
// branch, and cg::inclusive_scan / exclusive_scan on a tile. Host side: tests/emu/test_corpus_parallel.c.
#include <cooperative_groups.h>
#include <cooperative_groups/reduce.h>
#include <cooperative_groups/scan.h>
namespace cg = cooperative_groups;

// Block sum via tile reductions; blockDim.x a multiple of 32, at most 1024.
extern "C" __global__ void cg_tile_reduce(const int *in, int *block_sums, unsigned n)
{
    cg::thread_block block = cg::this_thread_block();
    cg::thread_block_tile<32> tile = cg::tiled_partition<32>(block);
    __shared__ int warp_sums[32];
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = i < n ? in[i] : 0;
    int s = cg::reduce(tile, v, cg::plus<int>());
    if (tile.thread_rank() == 0) warp_sums[tile.meta_group_rank()] = s;
    block.sync();
    if (tile.meta_group_rank() == 0) {
        int w = tile.thread_rank() < tile.meta_group_size() ? warp_sums[tile.thread_rank()] : 0;
        w = cg::reduce(tile, w, cg::plus<int>());
        if (tile.thread_rank() == 0) block_sums[blockIdx.x] = w;
    }
}

// Per 16-thread tile: max (cg::greater), shfl_down/shfl_xor/shfl, any/all/ballot.
extern "C" __global__ void cg_tile16(const int *in, int *out)
{
    cg::thread_block block = cg::this_thread_block();
    cg::thread_block_tile<16> t16 = cg::tiled_partition<16>(block);
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = in[i];
    int mx = cg::reduce(t16, v, cg::greater<int>());
    int dn = t16.shfl_down(v, 3);
    int xr = t16.shfl_xor(v, 9);
    int bc = t16.shfl(v, 15);
    int any = t16.any(v > 900);
    int all = t16.all(v > -900);
    unsigned bal = t16.ballot(v & 1);
    out[8 * i + 0] = mx;
    out[8 * i + 1] = dn;
    out[8 * i + 2] = xr;
    out[8 * i + 3] = bc;
    out[8 * i + 4] = any ? 1 : 0;
    out[8 * i + 5] = all ? 1 : 0;
    out[8 * i + 6] = (int)bal;
    out[8 * i + 7] = (int)(t16.meta_group_rank() * 100 + t16.thread_rank());
}

// Threads with odd values form a coalesced group: its size, the caller's rank in it, and a
// broadcast of the first member's value.
extern "C" __global__ void cg_coalesced(const int *in, int *out)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = in[i];
    int sz = -1, rk = -1, first = -1;
    if (v & 1) {
        cg::coalesced_group g = cg::coalesced_threads();
        sz = (int)g.size();
        rk = (int)g.thread_rank();
        first = g.shfl(v, 0);
    }
    out[3 * i + 0] = sz;
    out[3 * i + 1] = rk;
    out[3 * i + 2] = first;
}

extern "C" __global__ void cg_tile_scan(const int *in, int *incl, int *excl)
{
    cg::thread_block block = cg::this_thread_block();
    cg::thread_block_tile<32> tile = cg::tiled_partition<32>(block);
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = in[i];
    incl[i] = cg::inclusive_scan(tile, v);
    excl[i] = cg::exclusive_scan(tile, v, cg::plus<int>());
}
