/* rpc.h: the client library's call machinery (owner: shim/conn.c). Generated stubs
 * ($(B)/gen/bf_client_calls.c) and the hand-written calls in shim/ marshal their parameters into a
 * bf_call and bf_invoke it: a sync call waits for its Reply (other threads' calls may be in flight
 * meanwhile: nothing is held across the round trip); an async call is sent without waiting and
 * its failure is returned by the next sync call. One connection per process, made at cuInit. */
#ifndef BF_SHIM_RPC_H
#define BF_SHIM_RPC_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cuda.h>
#include "wire.h"

#define BF_API __attribute__((visibility("default")))
#define BF_MAXA 96
#define BF_MAXB 8

typedef struct bf_call {
    uint32_t fn;
    int async;
    uint64_t a[BF_MAXA];
    size_t na;
    ProtobufCBinaryData b[BF_MAXB];
    size_t nb;
    int overflow;                   /* too many arguments: a bug, refused locally */
    int have_reply;                 /* a Reply arrived (sync calls) */
    Bitfusion__Frame *rf;
    size_t ra, rb;                  /* read cursors into the reply */
    /* async calls whose reply carries data (DtoH async): the receiver copies b[0] here */
    void *sink;
    size_t sink_len;
} bf_call;

static inline uint64_t bf_val(const void *p, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, p, n < 8 ? n : 8);
    return v;
}

void bf_call_init(bf_call *c, uint32_t fn, int async);
void bf_put(bf_call *c, uint64_t v);
void bf_put_bytes(bf_call *c, const void *p, size_t n);
void bf_put_str(bf_call *c, const char *s);       /* presence flag + bytes with the NUL */
CUresult bf_invoke(bf_call *c);
uint64_t bf_get(bf_call *c);                      /* next reply scalar, 0 when none */
size_t bf_get_bytes(bf_call *c, void *dst, size_t max);   /* copies min(len, max); returns len */
const void *bf_get_bytes_ref(bf_call *c, size_t *len);
void bf_call_done(bf_call *c);

int bf_connected(void);
CUresult bf_not_connected_result(void);
/* Handles the server gave out (so an async call with a handle never seen is sent sync, and its
 * error is returned at once as CUDA would). */
void bf_token_learn(uint64_t t);
void bf_token_forget(uint64_t t);
int bf_token_known(uint64_t t);
/* May an async call use handle t without waiting? (known, last seen valid on this thread in its
 * current context); a sync call that succeeded with it calls bf_token_learn again. */
int bf_token_async_ok(uint64_t t);
/* This thread's current context may have changed (create, push, pop, set, destroy, reset). */
void bf_ctx_changed(void);
/* A context was destroyed or reset (by any thread): no handle is used async before it is seen valid
 * again. */
void bf_ctx_destroyed(void);
/* Connection (conn.c). */
CUresult bf_connect_once(void);
/* "host:port" (or "unix:PATH") of the session's server, "" before cuInit. */
const char *bf_session_server(void);
/* The session is about to end on purpose (the lease is released at exit): losing the connection
 * from now on is not reported. */
void bf_conn_quiet(void);
/* cuInit and nvmlInit: connect once, then the backend's own cuInit (init.c). */
CUresult bf_session_init(void);
void bf_send_hostfn_done(uint64_t token);
/* hostfn.c: a HostFn frame arrived (the receiver thread hands it over). */
void bf_hostfn_arrived(uint64_t token, int status);
/* When the longest-running host function of this process started (CLOCK_MONOTONIC seconds), 0
 * when none runs. */
double bf_hostfn_oldest_start(void);
/* Calls made by this thread from now on belong to host function `token`: the server runs them on
 * the stream thread that host function holds (Call.thread = BF_HOSTFN_TID | token). */
#define BF_HOSTFN_TID ((uint64_t)1 << 63)
void bf_set_thread_for_hostfn(uint64_t token);
/* Device memory the client knows of (memtrack.c): is [p, p+n) inside one live allocation? */
void bf_mem_add(CUdeviceptr base, size_t size);
void bf_mem_forget(CUdeviceptr base);
void bf_mem_forget_range(CUdeviceptr p, size_t n);   /* every range overlapping [p, p+n) */
void bf_mem_forget_all(void);
void bf_memtrack_atfork(int phase);       /* BF_FORK_*: fork.c */
int bf_mem_in(CUdeviceptr p, size_t n);
int bf_mem_in2d(CUdeviceptr p, size_t pitch, size_t width, size_t height);
int bf_mem_is_base(CUdeviceptr p);
/* memcpy.c: the memory types the server sees at two pointers (0: none of its memory, so the
 * client's), and whether [p, p+n) is mapped in this process. */
CUresult bf_mem_classify(CUdeviceptr a, CUdeviceptr b, unsigned *ta, unsigned *tb);
int bf_host_mapped(uintptr_t p, size_t n);
/* fork(2) (fork.c): pthread_atfork handlers, registered at the first cuInit/nvmlInit, call each
 * module's hook: PREPARE locks what the module locks (fork.c calls them in lock order), PARENT
 * unlocks, CHILD resets what belongs to the parent's session, then unlocks. */
enum { BF_FORK_PREPARE, BF_FORK_PARENT, BF_FORK_CHILD };
void bf_fork_register(void);
void bf_conn_atfork(int phase);
void bf_hostfn_atfork(int phase);
void bf_hostmem_atfork(int phase);
void bf_init_atfork(int phase);
void bf_nvml_atfork(int phase);
/* Errors (errors.c): "CUDA_ERROR_..." or NULL. */
const char *bf_error_name(CUresult r);
void bf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
