/* session_int.h: the worker's call dispatch, shared by server/session.c (sessions, threads,
 * handles, output), server/session_calls.c (the hand-written calls) and the generated
 * $(B)/gen/bf_server_calls.c. Arguments arrive in Call.a / Call.b in the order calls.spec gives. */
#ifndef BF_SESSION_INT_H
#define BF_SESSION_INT_H
#include <stddef.h>
#include <stdint.h>
#include <cuda.h>
#include "wire.h"

typedef struct bf_session bf_session;

#define BF_SV_MAXR 96
typedef struct bf_sargs {
    bf_session *ss;
    const Bitfusion__Call *c;
    size_t ia, ib;
    int bad;                        /* malformed arguments: the call fails with INVALID_VALUE */
    int flavour;                    /* 0 plain, 1 _ptds, 2 _ptsz */
    int no_reply;                   /* the handler replies (or arranges the reply) itself */
    int force_reply;                /* reply even for an async call that succeeded */
    uint64_t ra[BF_SV_MAXR];
    size_t nra;
    ProtobufCBinaryData rb[8];
    size_t nrb;
    void *tmp[8];                   /* freed after the reply is sent */
    size_t ntmp;
} bf_sargs;

typedef struct bf_sv_entry {
    uint32_t id;
    const char *name;
    const char *sym[3];             /* backend symbol per flavour, NULL when none */
    CUresult (*fn)(bf_sargs *s, void *fnp);
} bf_sv_entry;
extern const bf_sv_entry bf_sv_table[];

static inline uint64_t bf_val(const void *p, size_t n)
{
    uint64_t v = 0;
    __builtin_memcpy(&v, p, n < 8 ? n : 8);
    return v;
}

uint64_t bf_sa_u64(bf_sargs *s);
void bf_sa_val(bf_sargs *s, void *dst, size_t n);
const void *bf_sa_bytes(bf_sargs *s, size_t *len);
const char *bf_sa_str(bf_sargs *s);                 /* presence + bytes; NULL when absent */
void bf_sa_struct(bf_sargs *s, void *dst, size_t n); /* zero-filled, then the bytes sent */
void *bf_sa_outbuf(bf_sargs *s, size_t n);          /* zeroed scratch freed after the reply */
void bf_sr_u64(bf_sargs *s, uint64_t v);
void bf_sr_bytes(bf_sargs *s, const void *p, size_t n);   /* copied */
void bf_sr_bytes_owned(bf_sargs *s, void *p, size_t n);   /* malloc'd, freed after the reply */

/* Handles: server objects behind client tokens. Unknown tokens pass through as raw values (the
 * driver refuses them as it refuses any garbage handle); a destroyed object keeps its token
 * (bf_sh_drop does not forget it), so the driver sees its stale handle. */
void *bf_sh_get(bf_sargs *s, uint64_t token);
uint64_t bf_sh_put(bf_sargs *s, void *obj);
void bf_sh_drop(bf_sargs *s, uint64_t token);

/* The backend's symbol (NULL when it lacks it). */
void *bf_sv_sym(bf_sargs *s, const char *name);
/* The session's connection, for hand-written calls that send frames of their own. */
bf_wire *bf_sv_wire(bf_sargs *s);
/* Sends a Reply for the call now (hand-written async calls whose reply comes later). */
int bf_sv_send_reply(bf_session *ss, uint64_t id, CUresult r, ProtobufCBinaryData *b, size_t nb);
/* Host functions: runs on the backend's stream thread; sends HostFn and waits for HostFnDone. */
void bf_sv_hostfn_roundtrip(bf_session *ss, uint64_t token, int status);
/* The per-flavour symbol for a backend entry point, e.g. ("cuMemcpyHtoDAsync_v2", flavour). */
void *bf_sv_sym_flavour(bf_sargs *s, const char *base, int flavour);
#endif
