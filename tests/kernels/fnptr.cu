// fnptr.cu: indirect calls: a __device__ table of function pointers (function addresses in a
// global initializer), a function pointer chosen at run time in a local variable, and C++ virtual
// dispatch on objects built in device code. Kept apart from calls.cu so that a loader without
// indirect-call support fails only these cases. Host side: tests/emu/test_corpus_lang.c.

typedef int (*binop)(int, int);
__device__ __noinline__ int op_add(int a, int b) { return a + b; }
__device__ __noinline__ int op_sub(int a, int b) { return a - b; }
__device__ __noinline__ int op_mul(int a, int b) { return a * b; }
__device__ __noinline__ int op_xor(int a, int b) { return a ^ b; }

__device__ binop g_ops[4] = { op_add, op_sub, op_mul, op_xor };

extern "C" __global__ void fnptr_table(const int *a, const int *b, const int *sel, int *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = g_ops[sel[i] & 3](a[i], b[i]);
}

extern "C" __global__ void fnptr_local(const int *a, const int *b, const int *sel, int *out, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    binop f = (sel[i] & 1) ? op_sub : op_mul;
    if (sel[i] & 2) f = op_xor;
    out[i] = f(a[i], b[i]) + f(b[i], 3);
}

struct Shape {
    __device__ virtual float area() const = 0;
    __device__ virtual int sides() const { return 0; }
};
struct Rect : Shape {
    float w, h;
    __device__ Rect(float w_, float h_) : w(w_), h(h_) {}
    __device__ float area() const override { return w * h; }
    __device__ int sides() const override { return 4; }
};
struct Tri : Shape {
    float b, h;
    __device__ Tri(float b_, float h_) : b(b_), h(h_) {}
    __device__ float area() const override { return 0.5f * b * h; }
    __device__ int sides() const override { return 3; }
};
struct Circle : Shape {
    float r;
    __device__ Circle(float r_) : r(r_) {}
    __device__ float area() const override { return 3.0f * r * r; }
};

extern "C" __global__ void virtual_dispatch(const float *dims, const int *kind, float *area, int *sides, unsigned n)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    Rect rc(dims[i], 2.0f);
    Tri tr(dims[i], 4.0f);
    Circle ci(dims[i]);
    const Shape *s;
    switch (kind[i] % 3) {
    case 0: s = &rc; break;
    case 1: s = &tr; break;
    default: s = &ci; break;
    }
    area[i] = s->area();
    sides[i] = s->sides();
}
