// printf.cu: device printf from a few threads with known values (integers of several widths,
// hex, floats, strings, chars, width/precision flags). Host side: tests/emu/test_corpus_lang.c
// captures stdout around the launch and cuCtxSynchronize and compares the sorted lines.

extern "C" __global__ void printf_basic(int base)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t % 37 == 0)
        printf("thread %d: val=%d hex=%x f=%.3f s=%s c=%c ll=%lld\n", t, base + t, t * 255, t * 0.5, "str",
               'A' + t % 26, (long long)t << 33);
}

extern "C" __global__ void printf_formats(unsigned u, double d, const char *unused)
{
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        printf("plain line\n");
        printf("pct 100%% [%5d] [%-4d] [%05u] [%8.2f] [%e]\n", 42, 7, u, d, 1.5e-3);
        printf("u64=%llu x64=%llx neg=%d\n", 18446744073709551615ull, 0xdeadbeefcafeull, -12345);
    }
}
