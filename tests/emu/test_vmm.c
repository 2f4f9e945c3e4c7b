/* test_vmm.c: virtual memory management of the software GPU (emu/vmm.c): granularity, physical
 * allocations charged like cuMemAlloc (cuMemGetInfo, OUT_OF_MEMORY), reservations that never
 * overlap normal allocations, mappings (offsets, one allocation at two addresses, adjacent
 * mappings used as one range) that kernels, copies and memsets reach once access is set, faults
 * on reserved-but-unmapped memory and on mappings without access, handle reference counts
 * (memory stays while mapped after cuMemRelease; cuMemRetainAllocationHandle), and argument
 * checks. Cases run on the shared test framework (tests/common/bft.h), each in its own forked
 * child, with a 64 MiB device (BITFUSION_EMU_MEMORY_MB, set by main). The kernel is PTX text. */
#include "bft.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB ((size_t)1 << 20)
#define GRAN (2 * MIB)

/* fill(p, n, v): p[i] = v + i for i < n, one thread per element. */
static const char *k_ptx =
    ".version 7.0\n.target sm_80\n.address_size 64\n"
    ".visible .entry fill(.param .u64 p, .param .u32 n, .param .u32 v)\n{\n"
    "  .reg .u32 %r<7>;\n  .reg .u64 %rd<4>;\n  .reg .pred %p1;\n"
    "  ld.param.u64 %rd1, [p];\n  ld.param.u32 %r1, [n];\n  ld.param.u32 %r2, [v];\n"
    "  mov.u32 %r3, %tid.x;\n  mov.u32 %r4, %ctaid.x;\n  mov.u32 %r5, %ntid.x;\n"
    "  mad.lo.u32 %r3, %r4, %r5, %r3;\n  setp.ge.u32 %p1, %r3, %r1;\n  @%p1 bra DONE;\n"
    "  add.u32 %r6, %r2, %r3;\n"
    "  cvta.to.global.u64 %rd1, %rd1;\n  mul.wide.u32 %rd2, %r3, 4;\n  add.u64 %rd3, %rd1, %rd2;\n"
    "  st.global.u32 [%rd3], %r6;\nDONE:\n  ret;\n}\n";

/* ---- helpers -------------------------------------------------------------------------------- */

static CUmemAllocationProp dev_prop(int dev)
{
    CUmemAllocationProp p;
    memset(&p, 0, sizeof p);
    p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    p.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    p.location.id = dev;
    return p;
}

static CUmemGenericAllocationHandle create(size_t size)
{
    CUmemAllocationProp p = dev_prop(bft_device());
    CUmemGenericAllocationHandle h = 0;
    CHECK_CU(cuMemCreate(&h, size, &p, 0));
    return h;
}

static CUresult set_access(CUdeviceptr p, size_t size, CUmemAccess_flags flags)
{
    CUmemAccessDesc d;
    memset(&d, 0, sizeof d);
    d.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    d.location.id = bft_device();
    d.flags = flags;
    return cuMemSetAccess(p, size, &d, 1);
}

/* Reserves size bytes, maps a new allocation of the same size there and makes it accessible. */
static CUdeviceptr map_new(size_t size, CUmemGenericAllocationHandle *h)
{
    CUdeviceptr va = 0;
    CHECK_CU(cuMemAddressReserve(&va, size, 0, 0, 0));
    *h = create(size);
    CHECK_CU(cuMemMap(va, size, 0, *h, 0));
    CHECK_CU(set_access(va, size, CU_MEM_ACCESS_FLAGS_PROT_READWRITE));
    return va;
}

static CUfunction fill_fn(void)
{
    CUmodule m;
    CUfunction f;
    CHECK_CU(cuModuleLoadData(&m, k_ptx));
    CHECK_CU(cuModuleGetFunction(&f, m, "fill"));
    return f;
}

static CUresult fill(CUfunction f, CUdeviceptr p, unsigned n, unsigned v)
{
    void *args[] = { &p, &n, &v };
    return cuLaunchKernel(f, (n + 127) / 128, 1, 1, 128, 1, 1, 0, NULL, args, NULL);
}

/* Number of i < n with p[i] != v + i. */
static unsigned count_bad(const unsigned *p, unsigned n, unsigned v)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < n; i++)
        bad += p[i] != v + i;
    return bad;
}

/* ---- cases ---------------------------------------------------------------------------------- */

BFT_CASE(not_initialized)
{
    CUmemAllocationProp p = dev_prop(0);
    size_t g;
    CUmemGenericAllocationHandle h;
    CUdeviceptr va;
    EXPECT_CU(cuMemGetAllocationGranularity(&g, &p, CU_MEM_ALLOC_GRANULARITY_MINIMUM), CUDA_ERROR_NOT_INITIALIZED);
    EXPECT_CU(cuMemCreate(&h, GRAN, &p, 0), CUDA_ERROR_NOT_INITIALIZED);
    EXPECT_CU(cuMemAddressReserve(&va, GRAN, 0, 0, 0), CUDA_ERROR_NOT_INITIALIZED);
}

BFT_CASE(granularity)
{
    bft_cuda_init();
    int vmm = 0;
    CHECK_CU(cuDeviceGetAttribute(&vmm, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, bft_device()));
    EXPECT(vmm == 1, "VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED %d", vmm);
    CUmemAllocationProp p = dev_prop(bft_device());
    size_t min = 0, rec = 0;
    CHECK_CU(cuMemGetAllocationGranularity(&min, &p, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
    CHECK_CU(cuMemGetAllocationGranularity(&rec, &p, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED));
    EXPECT(min == GRAN && rec == GRAN, "minimum %zu recommended %zu", min, rec);
    EXPECT_CU(cuMemGetAllocationGranularity(&min, &p, (CUmemAllocationGranularity_flags)7), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemGetAllocationGranularity(NULL, &p, CU_MEM_ALLOC_GRANULARITY_MINIMUM), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemGetAllocationGranularity(&min, NULL, CU_MEM_ALLOC_GRANULARITY_MINIMUM), CUDA_ERROR_INVALID_VALUE);
    CUmemAllocationProp bad = p;
    bad.type = CU_MEM_ALLOCATION_TYPE_INVALID;
    EXPECT_CU(cuMemGetAllocationGranularity(&min, &bad, CU_MEM_ALLOC_GRANULARITY_MINIMUM), CUDA_ERROR_INVALID_VALUE);
    bad = p;
    bad.location.id = 99;
    EXPECT_CU(cuMemGetAllocationGranularity(&min, &bad, CU_MEM_ALLOC_GRANULARITY_MINIMUM), CUDA_ERROR_INVALID_DEVICE);
}

BFT_CASE(create_is_charged)
{
    bft_cuda_init();
    size_t base = bft_free_mem();
    CUmemGenericAllocationHandle h = create(4 * MIB);
    EXPECT(bft_free_mem() == base - 4 * MIB, "free after cuMemCreate: %zu (was %zu)", bft_free_mem(), base);
    CUmemAllocationProp got;
    memset(&got, 0xff, sizeof got);
    CHECK_CU(cuMemGetAllocationPropertiesFromHandle(&got, h));
    EXPECT(got.type == CU_MEM_ALLOCATION_TYPE_PINNED && got.location.type == CU_MEM_LOCATION_TYPE_DEVICE &&
               got.location.id == bft_device() && got.requestedHandleTypes == CU_MEM_HANDLE_TYPE_NONE,
           "properties type %d location %d/%d", (int)got.type, (int)got.location.type, got.location.id);
    CHECK_CU(cuMemRelease(h));
    EXPECT(bft_free_mem() == base, "free after cuMemRelease: %zu (was %zu)", bft_free_mem(), base);
    EXPECT_CU(cuMemRelease(h), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemGetAllocationPropertiesFromHandle(&got, h), CUDA_ERROR_INVALID_VALUE);
}

BFT_CASE(create_arguments)
{
    bft_cuda_init();
    CUmemAllocationProp p = dev_prop(bft_device());
    CUmemGenericAllocationHandle h;
    size_t base = bft_free_mem();
    EXPECT_CU(cuMemCreate(&h, GRAN + 4096, &p, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemCreate(&h, 0, &p, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemCreate(&h, GRAN, &p, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemCreate(NULL, GRAN, &p, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemCreate(&h, GRAN, NULL, 0), CUDA_ERROR_INVALID_VALUE);
    CUmemAllocationProp bad = p;
    bad.location.id = 42;
    EXPECT_CU(cuMemCreate(&h, GRAN, &bad, 0), CUDA_ERROR_INVALID_DEVICE);
    bad = p;
    bad.type = CU_MEM_ALLOCATION_TYPE_MANAGED;
    EXPECT_CU(cuMemCreate(&h, GRAN, &bad, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(bft_free_mem() == base, "refused calls charge nothing: %zu vs %zu", bft_free_mem(), base);
    EXPECT_CU(cuMemRelease(0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemRelease(0x1234), CUDA_ERROR_INVALID_VALUE);
}

BFT_CASE(create_out_of_memory)
{
    bft_cuda_init();
    size_t base = bft_free_mem();
    size_t most = base / GRAN * GRAN;
    REQUIRE(most >= 4 * GRAN, "free %zu", base);
    CUmemAllocationProp p = dev_prop(bft_device());
    CUmemGenericAllocationHandle h, h2;
    EXPECT_CU(cuMemCreate(&h, most + GRAN, &p, 0), CUDA_ERROR_OUT_OF_MEMORY);
    EXPECT_CU(cuMemCreate(&h, (size_t)1 << 40, &p, 0), CUDA_ERROR_OUT_OF_MEMORY);
    EXPECT(bft_free_mem() == base, "free after refused creates: %zu vs %zu", bft_free_mem(), base);
    CHECK_CU(cuMemCreate(&h, most - GRAN, &p, 0));
    CHECK_CU(cuMemCreate(&h2, GRAN, &p, 0));
    EXPECT(bft_free_mem() == base - most, "free %zu, expected %zu", bft_free_mem(), base - most);
    CUmemGenericAllocationHandle h3;
    EXPECT_CU(cuMemCreate(&h3, GRAN, &p, 0), CUDA_ERROR_OUT_OF_MEMORY);
    CUdeviceptr d;
    if (base - most < 256)
        EXPECT_CU(cuMemAlloc(&d, 256), CUDA_ERROR_OUT_OF_MEMORY);
    CHECK_CU(cuMemRelease(h2));
    CHECK_CU(cuMemCreate(&h3, GRAN, &p, 0));
    CHECK_CU(cuMemRelease(h3));
    CHECK_CU(cuMemRelease(h));
    EXPECT(bft_free_mem() == base, "free restored: %zu vs %zu", bft_free_mem(), base);
}

BFT_CASE(kernel_writes_mapped_range)
{
    bft_cuda_init();
    enum { N = 8192 };
    CUmemGenericAllocationHandle h;
    CUdeviceptr va = map_new(4 * MIB, &h);
    unsigned long long fl = 0;
    CUmemLocation loc = { CU_MEM_LOCATION_TYPE_DEVICE, bft_device() };
    CHECK_CU(cuMemGetAccess(&fl, &loc, va + 12345));
    EXPECT(fl == CU_MEM_ACCESS_FLAGS_PROT_READWRITE, "access flags %llu", fl);
    CUfunction f = fill_fn();
    CUdeviceptr tail = va + 4 * MIB - N * 4;
    CHECK_CU(fill(f, va, N, 100));
    CHECK_CU(fill(f, tail, N, 5000));
    static unsigned got[N];
    CHECK_CU(cuMemcpyDtoH(got, va, sizeof got));
    EXPECT(count_bad(got, N, 100) == 0, "start of the mapping");
    CHECK_CU(cuMemcpyDtoH(got, tail, sizeof got));
    EXPECT(count_bad(got, N, 5000) == 0, "end of the mapping");
    /* copies and memsets in, device-to-device copies within */
    static unsigned in[N];
    for (unsigned i = 0; i < N; i++)
        in[i] = 7 + i;
    CHECK_CU(cuMemcpyHtoD(va + MIB, in, sizeof in));
    CHECK_CU(cuMemcpyDtoD(va + 2 * MIB, va + MIB, sizeof in));
    CHECK_CU(cuMemcpyDtoH(got, va + 2 * MIB, sizeof got));
    EXPECT(count_bad(got, N, 7) == 0, "HtoD then DtoD");
    CHECK_CU(cuMemsetD32(va + MIB, 0xabcdef01u, N));
    CHECK_CU(cuMemcpyDtoH(got, va + MIB, sizeof got));
    unsigned bad = 0;
    for (unsigned i = 0; i < N; i++)
        bad += got[i] != 0xabcdef01u;
    EXPECT(bad == 0, "memset: %u wrong", bad);
    CUdeviceptr rb = 0;
    size_t rs = 0;
    CHECK_CU(cuMemGetAddressRange(&rb, &rs, va + 777));
    EXPECT(rb == va && rs == 4 * MIB, "address range 0x%llx + %zu", (unsigned long long)rb, rs);
    CHECK_CU(cuMemUnmap(va, 4 * MIB));
    CHECK_CU(cuMemRelease(h));
    CHECK_CU(cuMemAddressFree(va, 4 * MIB));
}

BFT_CASE(one_allocation_two_addresses)
{
    bft_cuda_init();
    enum { N = 1024 };
    size_t base = bft_free_mem();
    CUdeviceptr a = 0, b = 0, c = 0;
    CHECK_CU(cuMemAddressReserve(&a, 4 * MIB, 0, 0, 0));
    CHECK_CU(cuMemAddressReserve(&b, 4 * MIB, 0, 0, 0));
    CHECK_CU(cuMemAddressReserve(&c, 2 * MIB, 0, 0, 0));
    CUmemGenericAllocationHandle h = create(4 * MIB);
    CHECK_CU(cuMemMap(a, 4 * MIB, 0, h, 0));
    CHECK_CU(cuMemMap(b, 4 * MIB, 0, h, 0));
    CHECK_CU(cuMemMap(c, 2 * MIB, 2 * MIB, h, 0));   /* the second half only */
    CHECK_CU(set_access(a, 4 * MIB, CU_MEM_ACCESS_FLAGS_PROT_READWRITE));
    CHECK_CU(set_access(b, 4 * MIB, CU_MEM_ACCESS_FLAGS_PROT_READWRITE));
    CHECK_CU(set_access(c, 2 * MIB, CU_MEM_ACCESS_FLAGS_PROT_READWRITE));
    EXPECT(bft_free_mem() == base - 4 * MIB, "three mappings charge one allocation: %zu vs %zu", bft_free_mem(),
           base - 4 * MIB);
    CUfunction f = fill_fn();
    CHECK_CU(fill(f, a + 3 * MIB, N, 42));
    static unsigned got[N];
    CHECK_CU(cuMemcpyDtoH(got, b + 3 * MIB, sizeof got));
    EXPECT(count_bad(got, N, 42) == 0, "written through one address, read through another");
    CHECK_CU(cuMemcpyDtoH(got, c + MIB, sizeof got));
    EXPECT(count_bad(got, N, 42) == 0, "read through the mapping at an offset");
    CUmemGenericAllocationHandle r = 0;
    CHECK_CU(cuMemRetainAllocationHandle(&r, (void *)(uintptr_t)(c + 12345)));
    EXPECT(r == h, "retained handle 0x%llx, created 0x%llx", (unsigned long long)r, (unsigned long long)h);
    CHECK_CU(cuMemRelease(r));
    CHECK_CU(cuMemUnmap(a, 4 * MIB));
    CHECK_CU(cuMemUnmap(b, 4 * MIB));
    CHECK_CU(cuMemUnmap(c, 2 * MIB));
    CHECK_CU(cuMemRelease(h));
    EXPECT(bft_free_mem() == base, "free restored: %zu vs %zu", bft_free_mem(), base);
    CHECK_CU(cuMemAddressFree(a, 4 * MIB));
    CHECK_CU(cuMemAddressFree(b, 4 * MIB));
    CHECK_CU(cuMemAddressFree(c, 2 * MIB));
}

BFT_CASE(release_while_mapped)
{
    bft_cuda_init();
    enum { N = 2048 };
    size_t base = bft_free_mem();
    CUmemGenericAllocationHandle h;
    CUdeviceptr va = map_new(4 * MIB, &h);
    CUdeviceptr va2 = 0;
    CHECK_CU(cuMemAddressReserve(&va2, 4 * MIB, 0, 0, 0));
    CHECK_CU(cuMemMap(va2, 4 * MIB, 0, h, 0));
    CHECK_CU(set_access(va2, 4 * MIB, CU_MEM_ACCESS_FLAGS_PROT_READWRITE));
    CUfunction f = fill_fn();
    CHECK_CU(fill(f, va, N, 9));
    CHECK_CU(cuMemRelease(h));
    EXPECT(bft_free_mem() == base - 4 * MIB, "released but mapped: still charged (%zu vs %zu)", bft_free_mem(),
           base - 4 * MIB);
    CUmemAllocationProp p;
    EXPECT_CU(cuMemGetAllocationPropertiesFromHandle(&p, h), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemMap(va2, 4 * MIB, 0, h, 0), CUDA_ERROR_INVALID_VALUE);   /* the handle is gone */
    static unsigned got[N];
    CHECK_CU(cuMemcpyDtoH(got, va2, sizeof got));
    EXPECT(count_bad(got, N, 9) == 0, "memory kept after release");
    CHECK_CU(cuMemUnmap(va, 4 * MIB));
    EXPECT(bft_free_mem() == base - 4 * MIB, "still mapped once: still charged");
    CHECK_CU(cuMemcpyDtoH(got, va2, sizeof got));
    EXPECT(count_bad(got, N, 9) == 0, "memory kept while mapped");
    CHECK_CU(cuMemUnmap(va2, 4 * MIB));
    EXPECT(bft_free_mem() == base, "freed with the last mapping: %zu vs %zu", bft_free_mem(), base);
    CHECK_CU(cuMemAddressFree(va, 4 * MIB));
    CHECK_CU(cuMemAddressFree(va2, 4 * MIB));
}

BFT_CASE(copies_need_mapping_and_access)
{
    bft_cuda_init();
    static unsigned buf[1024];
    CUdeviceptr va = 0;
    CHECK_CU(cuMemAddressReserve(&va, 4 * MIB, 0, 0, 0));
    EXPECT_CU(cuMemcpyHtoD(va, buf, sizeof buf), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpyDtoH(buf, va, sizeof buf), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemcpy(va, (CUdeviceptr)(uintptr_t)buf, sizeof buf), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemsetD8(va, 1, 16), CUDA_ERROR_INVALID_VALUE);
    CUmemGenericAllocationHandle h = create(2 * MIB);
    CHECK_CU(cuMemMap(va, 2 * MIB, 0, h, 0));
    EXPECT_CU(cuMemcpyHtoD(va, buf, sizeof buf), CUDA_ERROR_INVALID_VALUE);   /* no access yet */
    unsigned long long fl = 99;
    CUmemLocation loc = { CU_MEM_LOCATION_TYPE_DEVICE, bft_device() };
    CHECK_CU(cuMemGetAccess(&fl, &loc, va));
    EXPECT(fl == CU_MEM_ACCESS_FLAGS_PROT_NONE, "access before cuMemSetAccess %llu", fl);
    CHECK_CU(set_access(va, 2 * MIB, CU_MEM_ACCESS_FLAGS_PROT_READWRITE));
    CHECK_CU(cuMemcpyHtoD(va, buf, sizeof buf));
    EXPECT_CU(cuMemcpyHtoD(va + 2 * MIB - 16, buf, 32), CUDA_ERROR_INVALID_VALUE);   /* past the mapping */
    CHECK_CU(set_access(va, 2 * MIB, CU_MEM_ACCESS_FLAGS_PROT_NONE));
    EXPECT_CU(cuMemcpyHtoD(va, buf, sizeof buf), CUDA_ERROR_INVALID_VALUE);   /* access revoked */
    CHECK_CU(cuMemUnmap(va, 2 * MIB));
    EXPECT_CU(cuMemcpyHtoD(va, buf, sizeof buf), CUDA_ERROR_INVALID_VALUE);   /* unmapped again */
    EXPECT_CU(cuMemGetAccess(&fl, &loc, va), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemRelease(h));
    CHECK_CU(cuMemAddressFree(va, 4 * MIB));
}

/* Each fault is sticky: the case ends with the context unusable. */
BFT_CASE(kernel_on_reserved_memory_faults)
{
    bft_cuda_init();
    CUfunction f = fill_fn();
    CUdeviceptr va = 0;
    CHECK_CU(cuMemAddressReserve(&va, 4 * MIB, 0, 0, 0));
    CHECK_CU(fill(f, va, 64, 1));
    EXPECT_CU(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    bft_no_cleanup();
}

BFT_CASE(kernel_without_access_faults)
{
    bft_cuda_init();
    CUfunction f = fill_fn();
    CUdeviceptr va = 0;
    CHECK_CU(cuMemAddressReserve(&va, 2 * MIB, 0, 0, 0));
    CUmemGenericAllocationHandle h = create(2 * MIB);
    CHECK_CU(cuMemMap(va, 2 * MIB, 0, h, 0));
    CHECK_CU(fill(f, va, 64, 1));
    EXPECT_CU(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    bft_no_cleanup();
}

BFT_CASE(kernel_after_unmap_faults)
{
    bft_cuda_init();
    CUfunction f = fill_fn();
    CUmemGenericAllocationHandle h;
    CUdeviceptr va = map_new(2 * MIB, &h);
    CHECK_CU(fill(f, va, 64, 1));
    CHECK_CU(cuCtxSynchronize());
    CHECK_CU(cuMemUnmap(va, 2 * MIB));
    CHECK_CU(fill(f, va, 64, 1));
    EXPECT_CU(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
    bft_no_cleanup();
}

BFT_CASE(reservations)
{
    bft_cuda_init();
    CUdeviceptr d = 0, a = 0, b = 0, c = 0;
    CHECK_CU(cuMemAlloc(&d, 3 * MIB));
    CHECK_CU(cuMemAddressReserve(&a, 6 * MIB, 0, 0, 0));
    CHECK_CU(cuMemAddressReserve(&b, 4096, 0, 0, 0));               /* page-sized reservations are fine */
    CHECK_CU(cuMemAddressReserve(&c, 2 * MIB, 64 * MIB, 0, 0));
    EXPECT(a % GRAN == 0 && b % GRAN == 0, "reservations aligned to the granularity");
    EXPECT(c % (64 * MIB) == 0, "alignment 64 MiB: 0x%llx", (unsigned long long)c);
    EXPECT(a + 6 * MIB <= b || b + 4096 <= a, "disjoint reservations");
    EXPECT(d + 3 * MIB <= a || a + 6 * MIB <= d, "reservation apart from cuMemAlloc memory");
    CUdeviceptr rb;
    size_t rs;
    EXPECT_CU(cuMemGetAddressRange(&rb, &rs, a), CUDA_ERROR_NOT_FOUND);   /* reserved is not allocated */
    CHECK_CU(cuMemAddressFree(c, 2 * MIB));
    CUdeviceptr again = 0;
    CHECK_CU(cuMemAddressReserve(&again, 2 * MIB, 0, c, 0));
    EXPECT(again == c, "a free hint is honoured: 0x%llx vs 0x%llx", (unsigned long long)again, (unsigned long long)c);
    CUdeviceptr taken = 0;
    CHECK_CU(cuMemAddressReserve(&taken, 2 * MIB, 0, a, 0));
    EXPECT(taken != a, "a taken hint is not");
    EXPECT_CU(cuMemAddressFree(a, 4 * MIB), CUDA_ERROR_INVALID_VALUE);      /* wrong size */
    EXPECT_CU(cuMemAddressFree(a + GRAN, 4 * MIB), CUDA_ERROR_INVALID_VALUE);
    CUdeviceptr x;
    EXPECT_CU(cuMemAddressReserve(&x, 0, 0, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAddressReserve(&x, 1000, 0, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAddressReserve(&x, GRAN, 3 * MIB, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemAddressReserve(NULL, GRAN, 0, 0, 0), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemAddressFree(a, 6 * MIB));
    CHECK_CU(cuMemAddressFree(b, 4096));
    CHECK_CU(cuMemAddressFree(again, 2 * MIB));
    CHECK_CU(cuMemAddressFree(taken, 2 * MIB));
    EXPECT_CU(cuMemAddressFree(a, 6 * MIB), CUDA_ERROR_INVALID_VALUE);      /* twice */
    CHECK_CU(cuMemFree(d));
}

BFT_CASE(map_arguments)
{
    bft_cuda_init();
    CUdeviceptr va = 0, d = 0;
    CHECK_CU(cuMemAddressReserve(&va, 8 * MIB, 0, 0, 0));
    CHECK_CU(cuMemAlloc(&d, 4 * MIB));
    CUmemGenericAllocationHandle h = create(4 * MIB);
    EXPECT_CU(cuMemMap(va + 4096, GRAN, 0, h, 0), CUDA_ERROR_INVALID_VALUE);       /* unaligned address */
    EXPECT_CU(cuMemMap(va, GRAN + 4096, 0, h, 0), CUDA_ERROR_INVALID_VALUE);       /* unaligned size */
    EXPECT_CU(cuMemMap(va, GRAN, 4096, h, 0), CUDA_ERROR_INVALID_VALUE);           /* unaligned offset */
    EXPECT_CU(cuMemMap(va, 4 * MIB, GRAN, h, 0), CUDA_ERROR_INVALID_VALUE);        /* past the allocation */
    EXPECT_CU(cuMemMap(va, 0, 0, h, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemMap(va, GRAN, 0, h, 1), CUDA_ERROR_INVALID_VALUE);              /* flags */
    EXPECT_CU(cuMemMap(va, GRAN, 0, h + 1000, 0), CUDA_ERROR_INVALID_VALUE);       /* unknown handle */
    EXPECT_CU(cuMemMap(va + 6 * MIB, 4 * MIB, 0, h, 0), CUDA_ERROR_INVALID_VALUE); /* past the reservation */
    EXPECT_CU(cuMemMap(d / GRAN * GRAN + GRAN, GRAN, 0, h, 0), CUDA_ERROR_INVALID_VALUE);   /* not reserved */
    CHECK_CU(cuMemMap(va, 4 * MIB, 0, h, 0));
    EXPECT_CU(cuMemMap(va + GRAN, 4 * MIB, 0, h, 0), CUDA_ERROR_INVALID_VALUE);    /* overlaps a mapping */
    EXPECT_CU(cuMemAddressFree(va, 8 * MIB), CUDA_ERROR_INVALID_VALUE);            /* still mapped */
    EXPECT_CU(cuMemUnmap(va, GRAN), CUDA_ERROR_INVALID_VALUE);                     /* part of a mapping */
    EXPECT_CU(cuMemUnmap(va + 4 * MIB, GRAN), CUDA_ERROR_INVALID_VALUE);           /* nothing mapped */
    EXPECT_CU(set_access(va, GRAN, CU_MEM_ACCESS_FLAGS_PROT_READWRITE), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(set_access(va, 8 * MIB, CU_MEM_ACCESS_FLAGS_PROT_READWRITE), CUDA_ERROR_INVALID_VALUE);
    CUmemAccessDesc desc = { { CU_MEM_LOCATION_TYPE_DEVICE, 77 }, CU_MEM_ACCESS_FLAGS_PROT_READWRITE };
    EXPECT_CU(cuMemSetAccess(va, 4 * MIB, &desc, 1), CUDA_ERROR_INVALID_DEVICE);
    desc.location.id = bft_device();
    EXPECT_CU(cuMemSetAccess(va, 4 * MIB, &desc, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CU(cuMemSetAccess(va, 4 * MIB, NULL, 1), CUDA_ERROR_INVALID_VALUE);
    desc.flags = (CUmemAccess_flags)5;
    EXPECT_CU(cuMemSetAccess(va, 4 * MIB, &desc, 1), CUDA_ERROR_INVALID_VALUE);
    CHECK_CU(cuMemUnmap(va, 4 * MIB));
    CHECK_CU(cuMemRelease(h));
    CHECK_CU(cuMemAddressFree(va, 8 * MIB));
    CHECK_CU(cuMemFree(d));
}

/* Two allocations mapped back to back form one range: access is set and copies run across the
 * seam, and one cuMemUnmap takes both. */
BFT_CASE(adjacent_mappings)
{
    bft_cuda_init();
    enum { N = 4096 };
    size_t base = bft_free_mem();
    CUdeviceptr va = 0;
    CHECK_CU(cuMemAddressReserve(&va, 4 * MIB, 0, 0, 0));
    CUmemGenericAllocationHandle h1 = create(GRAN), h2 = create(GRAN);
    CHECK_CU(cuMemMap(va, GRAN, 0, h1, 0));
    CHECK_CU(cuMemMap(va + GRAN, GRAN, 0, h2, 0));
    CHECK_CU(set_access(va, 4 * MIB, CU_MEM_ACCESS_FLAGS_PROT_READWRITE));
    CHECK_CU(cuMemRelease(h1));
    CHECK_CU(cuMemRelease(h2));
    CUdeviceptr seam = va + GRAN - N * 2;
    CUfunction f = fill_fn();
    CHECK_CU(fill(f, seam, N, 300));
    static unsigned got[N];
    CHECK_CU(cuMemcpyDtoH(got, seam, sizeof got));
    EXPECT(count_bad(got, N, 300) == 0, "a kernel and a copy across the seam");
    CHECK_CU(cuMemUnmap(va, 4 * MIB));
    EXPECT(bft_free_mem() == base, "both freed: %zu vs %zu", bft_free_mem(), base);
    CHECK_CU(cuMemAddressFree(va, 4 * MIB));
}

int main(int argc, char **argv)
{
    /* process-wide configuration: the parent never initialises CUDA, each forked case does */
    setenv("BITFUSION_EMU_MEMORY_MB", "64", 1);
    return bft_main(argc, argv);
}
