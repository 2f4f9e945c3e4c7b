/* session_partition.h: a CUDA session's memory partition (server/session_partition.c). */
#ifndef BF_SESSION_PARTITION_H
#define BF_SESSION_PARTITION_H
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
#endif
