/* session_partition.h: a CUDA session's memory partition (server/session_partition.c). */
#ifndef BF_SESSION_PARTITION_H
#define BF_SESSION_PARTITION_H
#include <stddef.h>
#include <stdint.h>
#include "bitfusion.pb-c.h"

/* The lease the parent attached this session to (its HelloReply): sets CUDA_VISIBLE_DEVICES to the
 * lease's GPUs (call before the backend is loaded) and turns the wrappers on. 0 / -1. */
int bf_partition_setup(const Bitfusion__HelloReply *h);
/* Resolves the backend's own entry points behind the wrappers (after dlopen). */
void bf_partition_attach_backend(void *lib);
/* The session is over (its threads stopped): what it held goes back to the lease now, before the
 * client is told (the process's exit frees the memory itself a moment later). */
void bf_partition_end(void);
/* dlsym for the session: the wrapper when the partition is on and wraps `name`. */
void *bf_partition_sym(void *lib, const char *name);
/* The partition of device dev (limit, and used by every process of the lease): 1; 0 when this
 * session has no lease; -1 when dev is not a device of the lease. */
int bf_partition_view(int dev, uint64_t *limit, uint64_t *used);
/* The lease's sessions: (client pid, bytes held on dev) pairs into pairs[0 .. 2*max); how many. */
size_t bf_partition_processes(int dev, uint64_t *pairs, size_t max);
/* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (session_nvml.c; also the daemon's inventory). */
void bf_format_uuid(const unsigned char b[16], char *out, size_t len);
#endif
