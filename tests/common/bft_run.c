/* bft_run.c: the case registry and runner of the test helper library (see bft.h): fork per case,
 * per-case timeout, PASS/FAIL/SKIP lines and the final `cases:` line read by tests/run.sh. */
#include "bft.h"
#include "bft_internal.h"
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BFT_EXIT_FAIL 1
#define BFT_EXIT_SKIP 77

typedef struct bft_case { const char *name; bft_case_fn fn; } bft_case;

static bft_case *g_cases;
static size_t g_ncases, g_capcases;
static int g_forking = 1;

/* State of the running case. */
static jmp_buf g_jmp;
static int g_in_case;
static int g_failures;
static int g_skipped;
static int g_no_cleanup;

void bft_register(const char *name, bft_case_fn fn)
{
    if (g_ncases == g_capcases) {
        g_capcases = g_capcases ? g_capcases * 2 : 64;
        g_cases = realloc(g_cases, g_capcases * sizeof *g_cases);
        if (!g_cases) { perror("bft_register"); exit(2); }
    }
    g_cases[g_ncases].name = name;
    g_cases[g_ncases].fn = fn;
    g_ncases++;
}

double bft_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int bft_forking(void) { return g_forking; }
int bft_failed(void) { return g_failures != 0; }
void bft_no_cleanup(void) { g_no_cleanup = 1; }

void bft_failf(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    const char *base = strrchr(file, '/');
    printf("    %s:%d: ", base ? base + 1 : file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    g_failures++;
}

void bft_fatalf(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    const char *base = strrchr(file, '/');
    printf("    %s:%d: ", base ? base + 1 : file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    g_failures++;
    if (g_in_case) longjmp(g_jmp, 1);
    exit(BFT_EXIT_FAIL);
}

void bft_cond_failf(const char *file, int line, int fatal, const char *cond, const char *fmt, ...)
{
    va_list ap;
    const char *base = strrchr(file, '/');
    printf("    %s:%d: %s %s:", base ? base + 1 : file, line, fatal ? "required" : "expected", cond);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    g_failures++;
    if (!fatal) return;
    if (g_in_case) longjmp(g_jmp, 1);
    exit(BFT_EXIT_FAIL);
}

void bft_skip(const char *fmt, ...)
{
    va_list ap;
    printf("    skip: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    g_skipped = 1;
    if (g_in_case) longjmp(g_jmp, 1);
    exit(BFT_EXIT_SKIP);
}

/* Runs one case in this process; returns 0 pass, BFT_EXIT_FAIL or BFT_EXIT_SKIP. */
static int run_here(const bft_case *c)
{
    g_failures = 0;
    g_skipped = 0;
    g_no_cleanup = 0;
    g_in_case = 1;
    if (setjmp(g_jmp) == 0)
        c->fn();
    g_in_case = 0;
    if (!(g_forking && g_no_cleanup))
        bft_case_cleanup();
    if (g_failures) return BFT_EXIT_FAIL;
    if (g_skipped) return BFT_EXIT_SKIP;
    return 0;
}

static int run_forked(const bft_case *c, char *why, size_t whylen)
{
    pid_t pid, w;
    int st = 0;
    unsigned timeout = 60;
    const char *t = getenv("BFT_CASE_TIMEOUT");
    if (t && atoi(t) > 0) timeout = (unsigned)atoi(t);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        return BFT_EXIT_FAIL;
    }
    if (pid == 0) {
        int r;
        signal(SIGALRM, SIG_DFL);
        alarm(timeout);
        r = run_here(c);
        fflush(stdout);
        fflush(stderr);
        if (g_no_cleanup) _exit(r);
        exit(r);
    }
    do {
        w = waitpid(pid, &st, 0);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        snprintf(why, whylen, "waitpid: %s", strerror(errno));
        return BFT_EXIT_FAIL;
    }
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        if (sig == SIGALRM)
            snprintf(why, whylen, "timed out after %u s", timeout);
        else
            snprintf(why, whylen, "killed by signal %d (%s)", sig, strsignal(sig));
        return BFT_EXIT_FAIL;
    }
    if (WIFEXITED(st)) {
        int code = WEXITSTATUS(st);
        if (code == 0 || code == BFT_EXIT_SKIP) return code;
        if (code != BFT_EXIT_FAIL) snprintf(why, whylen, "exit status %d", code);
        return BFT_EXIT_FAIL;
    }
    snprintf(why, whylen, "unknown wait status %d", st);
    return BFT_EXIT_FAIL;
}

static int matches(const char *name, int argc, char **argv)
{
    int any = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue;
        any = 1;
        if (strstr(name, argv[i])) return 1;
    }
    return !any;
}

int bft_main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    const char *nf = getenv("BFT_NOFORK");
    if (nf && *nf && strcmp(nf, "0") != 0) g_forking = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-l") == 0) {
            for (size_t k = 0; k < g_ncases; k++) printf("%s\n", g_cases[k].name);
            return 0;
        }
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: %s [-l] [name-substring...]\n"
                   "env: BF_TEST_KERNELS=dir (fatbins), BFT_NOFORK=1, BFT_CASE_TIMEOUT=s\n", argv[0]);
            return 0;
        }
    }
    for (size_t k = 0; k < g_ncases; k++) {
        const bft_case *c = &g_cases[k];
        char why[160] = "";
        double t0;
        int r;
        if (!matches(c->name, argc, argv)) continue;
        t0 = bft_now();
        r = g_forking ? run_forked(c, why, sizeof why) : run_here(c);
        if (r == 0) {
            passed++;
            printf("PASS  %-40s (%.2f s)\n", c->name, bft_now() - t0);
        } else if (r == BFT_EXIT_SKIP) {
            skipped++;
            printf("SKIP  %s\n", c->name);
        } else {
            failed++;
            printf("FAIL  %-40s (%.2f s)%s%s\n", c->name, bft_now() - t0, why[0] ? " " : "", why);
        }
        fflush(stdout);
    }
    printf("cases: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    fflush(stdout);
    return failed ? 1 : 0;
}
