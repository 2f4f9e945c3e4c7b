/* test_api_stream.c: the stream engine: in-order execution per stream, the legacy default
 * stream's implicit synchronisation with blocking streams (and not with non-blocking ones),
 * cuStreamWaitEvent, queries, callbacks and host functions (order, status, API calls from them),
 * events (query, synchronize, elapsed time and its error rules), stream properties, destroy with
 * pending work, concurrency, and invalid handles. Host functions that sleep make the orderings
 * observable. Self-contained: prints one line per failed check, exits non-zero on failure. */
#include <cuda.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_check.h"

/* ---- an execution log written by host functions ------------------------------------------- */
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_log[4096];

typedef struct step {
    const char *tag;
    int sleep_ms;
} step;

static void log_step(void *p)
{
    step *s = p;
    if (s->sleep_ms)
        usleep((useconds_t)s->sleep_ms * 1000);
    pthread_mutex_lock(&g_log_lock);
    strncat(g_log, s->tag, sizeof g_log - strlen(g_log) - 1);
    strncat(g_log, " ", sizeof g_log - strlen(g_log) - 1);
    pthread_mutex_unlock(&g_log_lock);
}

static void log_reset(void) { g_log[0] = 0; }

/* Position of tag in the log, -1 when absent. */
static int pos(const char *tag)
{
    char key[64];
    snprintf(key, sizeof key, "%s ", tag);
    const char *p = strstr(g_log, key);
    return p ? (int)(p - g_log) : -1;
}

#define BEFORE(a, b) CHECK(pos(a) >= 0 && pos(b) >= 0 && pos(a) < pos(b))

/* A gate a host function blocks on until the test opens it. */
static pthread_mutex_t g_gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_gate_cv = PTHREAD_COND_INITIALIZER;
static int g_gate_open;

static void gate_wait(void *unused)
{
    pthread_mutex_lock(&g_gate_lock);
    while (!g_gate_open)
        pthread_cond_wait(&g_gate_cv, &g_gate_lock);
    pthread_mutex_unlock(&g_gate_lock);
}

static void gate_set(int open)
{
    pthread_mutex_lock(&g_gate_lock);
    g_gate_open = open;
    pthread_cond_broadcast(&g_gate_cv);
    pthread_mutex_unlock(&g_gate_lock);
}

static CUcontext g_ctx;

static void case_setup(void) { api_check_ctx_create(&g_ctx); }

static void case_in_order(void)
{
    CUstream s;
    static step steps[5] = { { "a", 20 }, { "b", 0 }, { "c", 10 }, { "d", 0 }, { "e", 0 } };
    log_reset();
    CHECK_RC(cuStreamCreate(&s, 0), CUDA_SUCCESS);
    for (int i = 0; i < 5; i++)
        CHECK_RC(cuLaunchHostFunc(s, log_step, &steps[i]), CUDA_SUCCESS);
    CHECK_RC(cuStreamSynchronize(s), CUDA_SUCCESS);
    CHECK(!strcmp(g_log, "a b c d e "));
    CHECK_RC(cuStreamDestroy(s), CUDA_SUCCESS);
}

/* Legacy stream work waits for earlier blocking-stream work and the other way round; a
 * non-blocking stream is exempt. */
static void case_legacy_semantics(void)
{
    CUstream blocking, nonblocking;
    CHECK_RC(cuStreamCreate(&blocking, CU_STREAM_DEFAULT), CUDA_SUCCESS);
    CHECK_RC(cuStreamCreate(&nonblocking, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
    static step b1 = { "B1", 150 }, l1 = { "L1", 0 }, l2 = { "L2", 150 }, b2 = { "B2", 0 };
    static step n1 = { "N1", 500 }, l3 = { "L3", 0 }, x1 = { "X1", 0 };
    log_reset();
    CHECK_RC(cuLaunchHostFunc(blocking, log_step, &b1), CUDA_SUCCESS);
    CHECK_RC(cuLaunchHostFunc(NULL, log_step, &l1), CUDA_SUCCESS);          /* waits for B1 */
    CHECK_RC(cuLaunchHostFunc(CU_STREAM_LEGACY, log_step, &l2), CUDA_SUCCESS);
    CHECK_RC(cuLaunchHostFunc(blocking, log_step, &b2), CUDA_SUCCESS);      /* waits for L2 */
    CHECK_RC(cuCtxSynchronize(), CUDA_SUCCESS);
    BEFORE("B1", "L1");
    BEFORE("L2", "B2");
    log_reset();
    CHECK_RC(cuLaunchHostFunc(nonblocking, log_step, &n1), CUDA_SUCCESS);
    CHECK_RC(cuLaunchHostFunc(NULL, log_step, &l3), CUDA_SUCCESS);          /* does not wait for N1 */
    CHECK_RC(cuLaunchHostFunc(nonblocking, log_step, &x1), CUDA_SUCCESS);
    CHECK_RC(cuStreamSynchronize(NULL), CUDA_SUCCESS);
    CHECK(pos("L3") >= 0 && pos("N1") < 0);   /* the legacy sync did not wait for N1 either */
    CHECK_RC(cuStreamSynchronize(nonblocking), CUDA_SUCCESS);
    BEFORE("L3", "N1");
    BEFORE("N1", "X1");
    /* synchronizing the legacy stream waits for earlier blocking-stream work */
    static step b3 = { "B3", 150 };
    log_reset();
    CHECK_RC(cuLaunchHostFunc(blocking, log_step, &b3), CUDA_SUCCESS);
    CHECK_RC(cuStreamSynchronize(NULL), CUDA_SUCCESS);
    CHECK(pos("B3") >= 0);
    CHECK_RC(cuStreamDestroy(blocking), CUDA_SUCCESS);
    CHECK_RC(cuStreamDestroy(nonblocking), CUDA_SUCCESS);
}

static void case_wait_event(void)
{
    CUstream x, y;
    CUevent e;
    CHECK_RC(cuStreamCreate(&x, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
    CHECK_RC(cuStreamCreate(&y, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
    CHECK_RC(cuEventCreate(&e, CU_EVENT_DISABLE_TIMING), CUDA_SUCCESS);
    static step x1 = { "X1", 150 }, x2 = { "X2", 500 }, y1 = { "Y1", 0 };
    log_reset();
    CHECK_RC(cuLaunchHostFunc(x, log_step, &x1), CUDA_SUCCESS);
    CHECK_RC(cuEventRecord(e, x), CUDA_SUCCESS);
    CHECK_RC(cuLaunchHostFunc(x, log_step, &x2), CUDA_SUCCESS);
    CHECK_RC(cuStreamWaitEvent(y, e, 0), CUDA_SUCCESS);
    CHECK_RC(cuLaunchHostFunc(y, log_step, &y1), CUDA_SUCCESS);
    CHECK_RC(cuStreamSynchronize(y), CUDA_SUCCESS);
    CHECK(pos("X1") >= 0 && pos("Y1") > pos("X1"));
    CHECK(pos("X2") < 0);                 /* Y waited for the record, not for later work */
    CHECK_RC(cuStreamSynchronize(x), CUDA_SUCCESS);
    CHECK_RC(cuStreamWaitEvent(y, e, 7), CUDA_ERROR_INVALID_VALUE);
    CUevent never;
    CHECK_RC(cuEventCreate(&never, 0), CUDA_SUCCESS);
    CHECK_RC(cuStreamWaitEvent(y, never, 0), CUDA_SUCCESS);   /* never recorded: no-op */
    CHECK_RC(cuStreamSynchronize(y), CUDA_SUCCESS);
    CHECK_RC(cuEventDestroy(never), CUDA_SUCCESS);
    CHECK_RC(cuEventDestroy(e), CUDA_SUCCESS);
    CHECK_RC(cuStreamDestroy(x), CUDA_SUCCESS);
    CHECK_RC(cuStreamDestroy(y), CUDA_SUCCESS);
}

static void case_query(void)
{
    CUstream s;
    CHECK_RC(cuStreamCreate(&s, 0), CUDA_SUCCESS);
    CHECK_RC(cuStreamQuery(s), CUDA_SUCCESS);
    gate_set(0);
    CHECK_RC(cuLaunchHostFunc(s, gate_wait, NULL), CUDA_SUCCESS);
    CHECK_RC(cuStreamQuery(s), CUDA_ERROR_NOT_READY);
    CHECK_RC(cuStreamQuery(NULL), CUDA_ERROR_NOT_READY);   /* legacy: blocking work pending */
    gate_set(1);
    CHECK_RC(cuStreamSynchronize(s), CUDA_SUCCESS);
    CHECK_RC(cuStreamQuery(s), CUDA_SUCCESS);
    CHECK_RC(cuStreamQuery(NULL), CUDA_SUCCESS);
    CHECK_RC(cuStreamDestroy(s), CUDA_SUCCESS);
}

static void case_events(void)
{
    CUstream s;
    CUevent a, b, nt;
    float ms = -1;
    CHECK_RC(cuStreamCreate(&s, 0), CUDA_SUCCESS);
    CHECK_RC(cuEventCreate(&a, CU_EVENT_DEFAULT), CUDA_SUCCESS);
    CHECK_RC(cuEventCreate(&b, CU_EVENT_BLOCKING_SYNC), CUDA_SUCCESS);
    CHECK_RC(cuEventCreate(&nt, CU_EVENT_DISABLE_TIMING), CUDA_SUCCESS);
    /* never recorded */
    CHECK_RC(cuEventQuery(a), CUDA_SUCCESS);
    CHECK_RC(cuEventSynchronize(a), CUDA_SUCCESS);
    CHECK_RC(cuEventElapsedTime(&ms, a, b), CUDA_ERROR_INVALID_HANDLE);
    /* recorded around 100 ms of work, the end held back by a gate */
    static step work = { "work", 100 };
    gate_set(0);
    CHECK_RC(cuEventRecord(a, s), CUDA_SUCCESS);
    CHECK_RC(cuLaunchHostFunc(s, log_step, &work), CUDA_SUCCESS);
    CHECK_RC(cuLaunchHostFunc(s, gate_wait, NULL), CUDA_SUCCESS);
    CHECK_RC(cuEventRecord(b, s), CUDA_SUCCESS);
    CHECK_RC(cuEventRecord(nt, s), CUDA_SUCCESS);
    CHECK_RC(cuEventQuery(b), CUDA_ERROR_NOT_READY);
    CHECK_RC(cuEventElapsedTime(&ms, a, b), CUDA_ERROR_NOT_READY);
    gate_set(1);
    CHECK_RC(cuEventSynchronize(b), CUDA_SUCCESS);
    CHECK_RC(cuEventQuery(b), CUDA_SUCCESS);
    CHECK_RC(cuEventElapsedTime(&ms, a, b), CUDA_SUCCESS);
    CHECK(ms >= 90.0f && ms < 5000.0f);
    CHECK_RC(cuEventElapsedTime_v2(&ms, a, b), CUDA_SUCCESS);
    CHECK_RC(cuEventSynchronize(nt), CUDA_SUCCESS);
    CHECK_RC(cuEventElapsedTime(&ms, a, nt), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuEventElapsedTime(NULL, a, b), CUDA_ERROR_INVALID_VALUE);
    /* records on the legacy stream and with flags */
    CHECK_RC(cuEventRecord(a, NULL), CUDA_SUCCESS);
    CHECK_RC(cuEventRecordWithFlags(b, NULL, CU_EVENT_RECORD_DEFAULT), CUDA_SUCCESS);
    CHECK_RC(cuEventRecordWithFlags(b, NULL, 0x80), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuEventSynchronize(b), CUDA_SUCCESS);
    CHECK_RC(cuEventElapsedTime(&ms, a, b), CUDA_SUCCESS);
    CHECK(ms >= 0.0f);
    CUevent bad;
    CHECK_RC(cuEventCreate(&bad, 0x40), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuEventCreate(&bad, CU_EVENT_INTERPROCESS), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuEventDestroy(a), CUDA_SUCCESS);
    CHECK_RC(cuEventDestroy(b), CUDA_SUCCESS);
    CHECK_RC(cuEventDestroy(nt), CUDA_SUCCESS);
    CHECK_RC(cuEventQuery(a), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuEventDestroy(a), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuEventRecord(a, s), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuStreamDestroy(s), CUDA_SUCCESS);
}

/* ---- callbacks and host functions --------------------------------------------------------- */
typedef struct cb_record {
    CUstream stream;
    CUresult status;
    int calls;
} cb_record;

static void CUDA_CB callback(CUstream h, CUresult status, void *p)
{
    cb_record *r = p;
    r->stream = h;
    r->status = status;
    r->calls++;
}

typedef struct api_from_host {
    CUstream own, other;
    CUresult sync_own, query_other, launch_other;
} api_from_host;

static step g_nested = { "nested", 0 };
static void call_api(void *p)
{
    api_from_host *a = p;
    a->sync_own = cuStreamSynchronize(a->own);          /* would wait for itself */
    a->query_other = cuStreamQuery(a->other);
    a->launch_other = cuLaunchHostFunc(a->other, log_step, &g_nested);
}

static void case_callbacks(void)
{
    CUstream s, t;
    CHECK_RC(cuStreamCreate(&s, 0), CUDA_SUCCESS);
    CHECK_RC(cuStreamCreate(&t, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
    cb_record r = { NULL, (CUresult)-1, 0 };
    CHECK_RC(cuStreamAddCallback(s, callback, &r, 0), CUDA_SUCCESS);
    CHECK_RC(cuStreamSynchronize(s), CUDA_SUCCESS);
    CHECK(r.calls == 1 && r.status == CUDA_SUCCESS && r.stream == s);
    CHECK_RC(cuStreamAddCallback(s, callback, &r, 1), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuStreamAddCallback(s, NULL, &r, 0), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuLaunchHostFunc(s, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
    api_from_host a = { s, t, (CUresult)-1, (CUresult)-1, (CUresult)-1 };
    log_reset();
    CHECK_RC(cuLaunchHostFunc(s, call_api, &a), CUDA_SUCCESS);
    CHECK_RC(cuStreamSynchronize(s), CUDA_SUCCESS);
    CHECK_RC(cuStreamSynchronize(t), CUDA_SUCCESS);
    CHECK(a.sync_own == CUDA_ERROR_NOT_PERMITTED);
    CHECK(a.query_other == CUDA_SUCCESS);
    CHECK(a.launch_other == CUDA_SUCCESS);
    CHECK(pos("nested") >= 0);
    CHECK_RC(cuStreamDestroy(s), CUDA_SUCCESS);
    CHECK_RC(cuStreamDestroy(t), CUDA_SUCCESS);
}

static void case_properties(void)
{
    CUstream s, n;
    int prio = 99;
    unsigned flags = 99;
    CUcontext c = NULL;
    CUdevice d = -1;
    unsigned long long id1 = 0, id2 = 0;
    CHECK_RC(cuStreamCreateWithPriority(&s, 0, -100), CUDA_SUCCESS);
    CHECK_RC(cuStreamCreateWithPriority(&n, CU_STREAM_NON_BLOCKING, 5), CUDA_SUCCESS);
    CHECK_RC(cuStreamGetPriority(s, &prio), CUDA_SUCCESS);
    CHECK(prio == -5);
    CHECK_RC(cuStreamGetPriority(n, &prio), CUDA_SUCCESS);
    CHECK(prio == 0);
    CHECK_RC(cuStreamGetFlags(n, &flags), CUDA_SUCCESS);
    CHECK(flags == CU_STREAM_NON_BLOCKING);
    CHECK_RC(cuStreamGetFlags(NULL, &flags), CUDA_SUCCESS);
    CHECK(flags == 0);
    CHECK_RC(cuStreamGetCtx(s, &c), CUDA_SUCCESS);
    CHECK(c == g_ctx);
    CHECK_RC(cuStreamGetCtx(NULL, &c), CUDA_SUCCESS);
    CHECK(c == g_ctx);
    CHECK_RC(cuStreamGetDevice(s, &d), CUDA_SUCCESS);
    CHECK(d == 0);
    CHECK_RC(cuStreamGetId(s, &id1), CUDA_SUCCESS);
    CHECK_RC(cuStreamGetId(n, &id2), CUDA_SUCCESS);
    CHECK(id1 != id2);
    CUstreamCaptureStatus cs = CU_STREAM_CAPTURE_STATUS_ACTIVE;
    CHECK_RC(cuStreamIsCapturing(s, &cs), CUDA_SUCCESS);
    CHECK(cs == CU_STREAM_CAPTURE_STATUS_NONE);
    CUstreamAttrValue v;
    memset(&v, 0, sizeof v);
    CHECK_RC(cuStreamGetAttribute(s, CU_STREAM_ATTRIBUTE_PRIORITY, &v), CUDA_SUCCESS);
    CHECK(v.priority == -5);
    v.syncPolicy = CU_SYNC_POLICY_YIELD;
    CHECK_RC(cuStreamSetAttribute(s, CU_STREAM_ATTRIBUTE_SYNCHRONIZATION_POLICY, &v), CUDA_SUCCESS);
    memset(&v, 0, sizeof v);
    CHECK_RC(cuStreamGetAttribute(s, CU_STREAM_ATTRIBUTE_SYNCHRONIZATION_POLICY, &v), CUDA_SUCCESS);
    CHECK(v.syncPolicy == CU_SYNC_POLICY_YIELD);
    CHECK_RC(cuStreamCreate(&s, 2), CUDA_ERROR_INVALID_VALUE);
    CHECK_RC(cuStreamDestroy(n), CUDA_SUCCESS);
    CHECK_RC(cuStreamGetCtx(NULL, &c), CUDA_SUCCESS);
}

static void case_invalid_handles(void)
{
    CUstream s;
    CHECK_RC(cuStreamCreate(&s, 0), CUDA_SUCCESS);
    CHECK_RC(cuStreamDestroy(s), CUDA_SUCCESS);
    CHECK_RC(cuStreamSynchronize(s), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuStreamQuery(s), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuStreamDestroy(s), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuLaunchHostFunc(s, log_step, NULL), CUDA_ERROR_INVALID_HANDLE);
    unsigned char *junk = malloc(256);
    memset(junk, 0xa5, 256);
    CHECK_RC(cuStreamSynchronize((CUstream)junk), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuEventQuery((CUevent)junk), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuEventRecord((CUevent)junk, NULL), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuStreamWaitEvent(NULL, (CUevent)junk, 0), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuStreamDestroy(NULL), CUDA_ERROR_INVALID_HANDLE);
    free(junk);
    /* an event of another context on this context's stream */
    CUcontext other;
    CUevent e;
    CHECK_RC(cuCtxCreate(&other, NULL, 0, 0), CUDA_SUCCESS);
    CHECK_RC(cuEventCreate(&e, 0), CUDA_SUCCESS);
    CHECK_RC(cuCtxPopCurrent(NULL), CUDA_SUCCESS);
    CHECK_RC(cuEventRecord(e, NULL), CUDA_ERROR_INVALID_HANDLE);
    CHECK_RC(cuEventDestroy(e), CUDA_SUCCESS);
    CHECK_RC(cuCtxDestroy(other), CUDA_SUCCESS);
}

static volatile int g_done_flag;
static void set_done(void *unused)
{
    usleep(100 * 1000);
    g_done_flag = 1;
}

static void case_destroy_pending(void)
{
    CUstream s;
    g_done_flag = 0;
    CHECK_RC(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
    CHECK_RC(cuLaunchHostFunc(s, set_done, NULL), CUDA_SUCCESS);
    CHECK_RC(cuStreamDestroy(s), CUDA_SUCCESS);    /* returns at once; the work still runs */
    CHECK(g_done_flag == 0);
    CHECK_RC(cuCtxSynchronize(), CUDA_SUCCESS);
    CHECK(g_done_flag == 1);
}

/* ---- many threads and streams at once ----------------------------------------------------- */
static pthread_mutex_t g_count_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_count;
static void bump(void *unused)
{
    pthread_mutex_lock(&g_count_lock);
    g_count++;
    pthread_mutex_unlock(&g_count_lock);
}

static void *stress_thread(void *p)
{
    CUstream s;
    cuCtxSetCurrent(g_ctx);
    unsigned flags = ((uintptr_t)p & 1) ? CU_STREAM_NON_BLOCKING : 0;
    if (cuStreamCreate(&s, flags) != CUDA_SUCCESS)
        return (void *)1;
    CUevent e;
    cuEventCreate(&e, CU_EVENT_DISABLE_TIMING);
    for (int i = 0; i < 300; i++) {
        if (cuLaunchHostFunc(i % 3 ? s : NULL, bump, NULL) != CUDA_SUCCESS)
            return (void *)1;
        if (i % 50 == 0) {
            cuEventRecord(e, s);
            cuStreamWaitEvent(NULL, e, 0);
        }
    }
    cuStreamSynchronize(s);
    cuEventDestroy(e);
    cuStreamDestroy(s);
    return NULL;
}

static void case_concurrency(void)
{
    pthread_t th[6];
    g_count = 0;
    for (uintptr_t i = 0; i < 6; i++)
        pthread_create(&th[i], NULL, stress_thread, (void *)i);
    for (int i = 0; i < 6; i++) {
        void *r;
        pthread_join(th[i], &r);
        CHECK(r == NULL);
    }
    CHECK_RC(cuCtxSynchronize(), CUDA_SUCCESS);
    CHECK(g_count == 6 * 300);
}

static void case_teardown(void)
{
    CHECK_RC(cuCtxDestroy(g_ctx), CUDA_SUCCESS);
    CHECK_RC(cuStreamSynchronize(NULL), CUDA_ERROR_INVALID_CONTEXT);
}

int main(void)
{
    alarm(120);
    static const api_check_case cases[] = {
        { "setup", case_setup },
        { "in_order", case_in_order },
        { "legacy_semantics", case_legacy_semantics },
        { "wait_event", case_wait_event },
        { "query", case_query },
        { "events", case_events },
        { "callbacks", case_callbacks },
        { "properties", case_properties },
        { "invalid_handles", case_invalid_handles },
        { "destroy_pending", case_destroy_pending },
        { "concurrency", case_concurrency },
        { "teardown", case_teardown },
    };
    return API_CHECK_RUN(cases, 0);
}
