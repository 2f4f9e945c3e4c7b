/* lease.h: bitfusiond's lease bookkeeping, in the parent process (owner: server/lease.c;
 * docs/leasing-design.md). listen.c calls these around each worker's life and for every message a
 * worker sends. */
#ifndef BF_LEASE_H
#define BF_LEASE_H
#include <poll.h>
#include <sys/types.h>
#include "config.h"

/* Probes the GPUs (inventory.c) and maps the shared accounting table. -1 (logged) on failure. */
int bf_leases_init(const bf_server_config *cfg, const char *backend, const char *emu_lib);
/* Before fork: a worker slot and its socket pair. The slot (>= 0), or -1 when every slot is taken
 * (the connection is refused). *child_fd is the worker's end. */
int bf_lease_worker_new(int *child_fd);
/* After fork, in the parent: the worker's pid (or pid < 0: the fork failed and the slot is freed). */
void bf_lease_worker_forked(int slot, int child_fd, pid_t pid);
/* In the child, first thing: keeps only its own end of the socket pair. */
void bf_lease_worker_child(int slot, int child_fd);
/* A worker process ended (reaped): its sessions and holds detach, its memory is returned. */
void bf_lease_worker_ended(pid_t pid);
/* The parent's poll set: one fd per worker. Fills p (at most max) and returns how many. */
int bf_lease_pollfds(struct pollfd *p, int max);
/* Handles readable worker fds among p[0..n). */
void bf_lease_handle(const struct pollfd *p, int n);
/* Milliseconds until the next timer (lease idle limits, unheld leases), -1 when none; and running
 * the timers that are due. */
int bf_lease_next_timer_ms(void);
void bf_lease_run_timers(void);

/* listen.c: kills a worker now (SIGKILL), waits for it and runs bf_lease_worker_ended. */
void bf_serve_kill_worker(pid_t pid);
#endif
