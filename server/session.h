/* session.h: what a bitfusiond worker does with an accepted, authenticated connection
 * (owner: server/session.c; the daemon in server/main.c and server/listen.c calls it). */
#ifndef BF_SESSION_H
#define BF_SESSION_H
#include <stddef.h>
#include "bf_conn.h"

/* Runs one client session to its end: the versioned handshake, dlopen of the backend ("emu":
 * emu_lib_path; "nvidia": the system's libcuda.so.1; "auto": nvidia when it loads and sees a GPU,
 * else emu), the dispatch loop (each client thread's calls run in order on a server thread of their
 * own), the worker's stdout (kernel printf) forwarded as Output frames, host functions run on the
 * client. Redirects fd 1 of the process to a pipe for the session's lifetime. Returns the number of
 * calls served (>= 0) or -1 when the session could not start; endreason gets one line saying why
 * it ended ("client closed the connection", "protocol version mismatch: ...", ...). Does not close
 * c. Meant to run in a worker process that exits afterwards (the driver frees what the session
 * created when the process ends). */
long bf_session_run(bf_conn *c, const char *backend, const char *emu_lib_path, char *endreason,
                    size_t len);
/* Called (when set) once the handshake succeeded: control = 1 for a control connection, lease =
 * the lease a CUDA session runs in ("" without one). worker.c logs with it. */
extern void (*bf_session_started)(int control, const char *lease);
/* The client's address, for the daemon's records (worker.c, before bf_session_run). */
void bf_session_set_peer(const char *addr);
#endif
