/* dlopen.c: when the client library is preloaded, a program (or a framework such as cudart) that
 * dlopen()s the driver by any "libcuda.so*" name or path gets the client library itself, never a
 * local driver (owner: shim/). Every other dlopen passes through. */
#include "rpc.h"
#include <dlfcn.h>
#include <string.h>

static int is_libcuda(const char *name)
{
    if (!name) return 0;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    return strncmp(base, "libcuda.so", 10) == 0;
}

static void *self_handle(int flags)
{
    Dl_info info;
    if (!dladdr((void *)is_libcuda, &info) || !info.dli_fname) return NULL;
    void *(*real)(const char *, int) = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    return real ? real(info.dli_fname, flags) : NULL;
}

BF_API void *dlopen(const char *name, int flags)
{
    static void *(*real)(const char *, int);
    if (is_libcuda(name)) {
        void *h = self_handle(flags);
        if (h) return h;
    }
    if (!real) real = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    return real ? real(name, flags) : NULL;
}
