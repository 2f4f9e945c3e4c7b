/* backend.c: which backend bitfusiond's workers use, said in the daemon's first log line. The
 * NVIDIA driver is probed in a short-lived child so the daemon never loads CUDA itself. */
#include "server.h"
#include "log.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_TIMEOUT_MS 30000

/* <dir of /proc/self/exe>/../lib/bitfusion/emu/libcuda.so.1 */
static int emu_path(char *out, size_t len)
{
    char exe[PATH_MAX - 64], tmp[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    snprintf(tmp, sizeof tmp, "%s/../lib/bitfusion/emu/libcuda.so.1", exe);
    if (!realpath(tmp, out)) {
        snprintf(out, len, "%s", tmp);
        return -1;
    }
    return 0;
}

typedef int (*fn_init)(unsigned);
typedef int (*fn_count)(int *);
typedef int (*fn_dev)(int *, int);
typedef int (*fn_name)(char *, int, int);

/* In the probe child: writes "nvidia N NAME" or "none REASON" to fd. */
static void probe_child(int fd)
{
    char msg[512];
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    fn_init init = h ? (fn_init)dlsym(h, "cuInit") : NULL;
    fn_count count = h ? (fn_count)dlsym(h, "cuDeviceGetCount") : NULL;
    fn_dev get = h ? (fn_dev)dlsym(h, "cuDeviceGet") : NULL;
    fn_name name = h ? (fn_name)dlsym(h, "cuDeviceGetName") : NULL;
    Dl_info info;
    int n = 0, dev = 0, rc;
    char gpu[256] = "?";
    if (!h)
        snprintf(msg, sizeof msg, "none %s", dlerror());
    else if (!init || !count)
        snprintf(msg, sizeof msg, "none libcuda.so.1 lacks cuInit");
    else if (dladdr((void *)init, &info) && info.dli_fname && strstr(info.dli_fname, "/lib/bitfusion/"))
        snprintf(msg, sizeof msg, "none libcuda.so.1 on the library path is bitfusion's own (%s)", info.dli_fname);
    else if ((rc = init(0)) != 0)
        snprintf(msg, sizeof msg, "none cuInit failed with CUDA error %d", rc);
    else if ((rc = count(&n)) != 0 || n <= 0)
        snprintf(msg, sizeof msg, "none the NVIDIA driver sees no GPU");
    else {
        if (get && name && get(&dev, 0) == 0)
            name(gpu, sizeof gpu, dev);
        snprintf(msg, sizeof msg, "nvidia %d %s", n, gpu);
    }
    ssize_t k = write(fd, msg, strlen(msg));
    (void)k;
    _exit(0);
}

/* Runs the probe; out gets the child's line ("none ..." when it failed or hung). */
static void probe(char *out, size_t len)
{
    int p[2];
    snprintf(out, len, "none the probe did not answer");
    if (pipe(p) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        probe_child(p[1]);
    }
    close(p[1]);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    size_t got = 0;
    while (pid > 0 && got < len - 1 && poll(&pf, 1, PROBE_TIMEOUT_MS) > 0) {
        ssize_t k = read(p[0], out + got, len - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    out[got] = 0;
    if (!got)
        snprintf(out, len, "none the NVIDIA driver probe did not answer within %d s", PROBE_TIMEOUT_MS / 1000);
    close(p[0]);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

static const char *use_emu(const char *emu_lib, int found, const char *why)
{
    if (!found) {
        LOG_E("backend emu: the software GPU library %s is missing; build it with 'make' or reinstall "
              "bitfusion", emu_lib);
        return NULL;
    }
    LOG_I("backend: emu (software GPU%s%s)", why ? "; " : "", why ? why : "");
    return "emu";
}

const char *bf_backend_resolve(const char *requested, char *emu_lib, size_t len)
{
    int found = emu_path(emu_lib, len) == 0 && access(emu_lib, R_OK) == 0;
    if (!strcmp(requested, "emu"))
        return use_emu(emu_lib, found, NULL);
    char line[512], why[600];
    probe(line, sizeof line);
    int n = 0, off = 0;
    if (sscanf(line, "nvidia %d %n", &n, &off) == 1 && n > 0) {
        LOG_I("backend: nvidia (%d GPU%s: %s)", n, n == 1 ? "" : "s", line + off);
        return "nvidia";
    }
    const char *reason = strncmp(line, "none ", 5) ? line : line + 5;
    if (!strcmp(requested, "nvidia")) {
        LOG_E("backend nvidia: %s; install the NVIDIA driver or use --backend emu", reason);
        return NULL;
    }
    snprintf(why, sizeof why, "auto: no NVIDIA GPU: %s", reason);
    return use_emu(emu_lib, found, why);
}
