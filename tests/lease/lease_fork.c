/* lease_fork.c: forked processes share their parent's lease (tests/lease/run_lease.sh, case 7).
 * Every process forks before it calls cuInit (as CUDA requires), so each child is a CUDA session of
 * its own in the lease that BITFUSION_LEASE names.
 *   lease_fork split   two children each allocate 60% of the partition while both hold what they
 *                      got: exactly one must get CUDA_SUCCESS and the other CUDA_ERROR_OUT_OF_MEMORY
 *                      (the parent never calls CUDA)
 *   lease_fork share   the parent allocates 40%, then a child allocates 40% while the parent holds
 *                      its share: both succeed, and cuMemGetInfo in each shows used (total - free)
 *                      equal to both allocations together
 * Prints one line per step; exits 0 when the expectation held, 1 when not, 2 on a setup error. Every
 * wait for another process ends after 30 s. */
#include <cuda.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 30000

static const char *errname(CUresult r)
{
    const char *s = NULL;
    if (cuGetErrorName(r, &s) != CUDA_SUCCESS || !s)
        return "(unknown CUresult)";
    return s;
}

#define MUST(call)                                                                                 \
    do {                                                                                           \
        CUresult r_ = (call);                                                                      \
        if (r_ != CUDA_SUCCESS) {                                                                  \
            printf("lease_fork[%d]: %s failed: %s\n", (int)getpid(), #call, errname(r_));          \
            fflush(stdout);                                                                        \
            _exit(2);                                                                              \
        }                                                                                          \
    } while (0)

/* Reads one byte within WAIT_MS; -1 on timeout, 0 on EOF, 1 when a byte came. */
static int read_byte(int fd, char *c)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, WAIT_MS);
    while (r < 0 && errno == EINTR);
    if (r <= 0)
        return -1;
    ssize_t n;
    do
        n = read(fd, c, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 1 : n == 0 ? 0 : -1;
}

static void write_byte(int fd, char c)
{
    if (write(fd, &c, 1) != 1)
        _exit(2);
}

/* cuInit, primary context of device 0; *total from cuMemGetInfo. */
static void cuda_up(size_t *total)
{
    CUdevice d;
    CUcontext ctx;
    size_t fr;
    MUST(cuInit(0));
    MUST(cuDeviceGet(&d, 0));
    MUST(cuDevicePrimaryCtxRetain(&ctx, d));
    MUST(cuCtxSetCurrent(ctx));
    MUST(cuMemGetInfo(&fr, total));
}

static size_t pct_of(size_t total, unsigned p)
{
    return (total / 100 * p) & ~(((size_t)1 << 20) - 1);
}

/* Reaps pid within WAIT_MS (killing it after); its exit status, or -1. */
static int reap(pid_t pid)
{
    for (int i = 0; i < WAIT_MS / 10; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0)
            return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static int split(void)
{
    int up[2], down[2];
    pid_t kids[2];
    if (pipe(up) || pipe(down))
        return 2;
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] < 0)
            return 2;
        if (kids[k] == 0) {
            close(up[0]);
            close(down[1]);
            size_t total;
            cuda_up(&total);
            size_t want = pct_of(total, 60);
            CUdeviceptr p;
            CUresult r = cuMemAlloc(&p, want);
            printf("child %d (pid %d): cuMemAlloc %zu of %zu -> %s\n", k, (int)getpid(), want, total, errname(r));
            fflush(stdout);
            char code = r == CUDA_SUCCESS ? 0 : r == CUDA_ERROR_OUT_OF_MEMORY ? 3 : 4;
            write_byte(up[1], code);
            char c;
            read_byte(down[0], &c); /* EOF: the parent saw both answers; hold until then */
            _exit(code);
        }
    }
    close(up[1]);
    close(down[0]);
    int ok = 0, oom = 0, other = 0, answers = 0;
    for (int k = 0; k < 2; k++) {
        char c;
        if (read_byte(up[0], &c) != 1)
            break;
        answers++;
        if (c == 0)
            ok++;
        else if (c == 3)
            oom++;
        else
            other++;
    }
    close(down[1]);
    for (int k = 0; k < 2; k++)
        reap(kids[k]);
    printf("split: %d answers: %d CUDA_SUCCESS, %d CUDA_ERROR_OUT_OF_MEMORY, %d other\n", answers, ok, oom, other);
    if (answers == 2 && ok == 1 && oom == 1) {
        printf("lease_fork: split ok\n");
        return 0;
    }
    printf("lease_fork: FAIL split: expected one CUDA_SUCCESS and one CUDA_ERROR_OUT_OF_MEMORY\n");
    return 1;
}

static int check_used(const char *who, size_t want_used)
{
    size_t fr, tot;
    MUST(cuMemGetInfo(&fr, &tot));
    printf("%s (pid %d): cuMemGetInfo free=%zu total=%zu used=%zu expected used=%zu\n", who, (int)getpid(), fr, tot,
           tot - fr, want_used);
    fflush(stdout);
    return tot - fr == want_used ? 0 : 1;
}

static int share(void)
{
    int p2c[2], c2p[2];
    if (pipe(p2c) || pipe(c2p))
        return 2;
    pid_t kid = fork();
    if (kid < 0)
        return 2;
    if (kid == 0) {
        close(p2c[1]);
        close(c2p[0]);
        char c;
        if (read_byte(p2c[0], &c) != 1) /* the parent holds its 40% */
            _exit(2);
        size_t total;
        cuda_up(&total);
        size_t want = pct_of(total, 40);
        CUdeviceptr p;
        CUresult r = cuMemAlloc(&p, want);
        printf("child (pid %d): cuMemAlloc %zu of %zu -> %s\n", (int)getpid(), want, total, errname(r));
        fflush(stdout);
        int bad = r != CUDA_SUCCESS ? 3 : check_used("child", 2 * want) ? 1 : 0;
        write_byte(c2p[1], (char)bad);
        read_byte(p2c[0], &c); /* hold until the parent has looked */
        _exit(bad);
    }
    close(p2c[0]);
    close(c2p[1]);
    size_t total;
    cuda_up(&total);
    size_t want = pct_of(total, 40);
    CUdeviceptr p;
    CUresult r = cuMemAlloc(&p, want);
    printf("parent (pid %d): cuMemAlloc %zu of %zu -> %s\n", (int)getpid(), want, total, errname(r));
    fflush(stdout);
    if (r != CUDA_SUCCESS) {
        kill(kid, SIGKILL);
        reap(kid);
        printf("lease_fork: FAIL share: the parent's allocation failed\n");
        return 1;
    }
    write_byte(p2c[1], 'a');
    char c;
    int got = read_byte(c2p[0], &c);
    int bad_parent = got == 1 && c != 3 ? check_used("parent", 2 * want) : 0;
    close(p2c[1]);
    int st = reap(kid);
    if (got != 1) {
        printf("lease_fork: FAIL share: the child did not answer (exit status %d)\n", st);
        return 1;
    }
    if (c == 3) {
        printf("lease_fork: FAIL share: the child's allocation failed while the parent held 40%%\n");
        return 1;
    }
    if (c != 0 || bad_parent) {
        printf("lease_fork: FAIL share: used does not include the other process's allocation (child %s, parent %s)\n",
               c ? "wrong" : "right", bad_parent ? "wrong" : "right");
        return 1;
    }
    printf("lease_fork: share ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && !strcmp(argv[1], "split"))
        return split();
    if (argc == 2 && !strcmp(argv[1], "share"))
        return share();
    fprintf(stderr, "usage: lease_fork split|share\n");
    return 2;
}
