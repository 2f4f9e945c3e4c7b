/* lease_shm.h: the memory accounting every process of bitfusiond shares (owner: server/lease.c
 * maps it before the first fork; server/session_partition.c charges it). Per lease slot and GPU of
 * the lease: the partition's limit and what all its sessions use; per worker slot: its lease and
 * what it holds, so the parent can take a dead worker's memory back. docs/leasing-design.md. */
#ifndef BF_LEASE_SHM_H
#define BF_LEASE_SHM_H
#include <stdint.h>

#define BF_SHM_MAX_GPUS    64
#define BF_SHM_MAX_LEASES  256
#define BF_SHM_MAX_WORKERS 1024
#define BF_LEASE_MAX_DEV   16

typedef struct bf_shm_lease {
    uint32_t ndev;
    uint32_t gpu[BF_LEASE_MAX_DEV];          /* server GPU index of each device of the lease */
    uint64_t limit[BF_LEASE_MAX_DEV];        /* partition bytes */
    uint64_t used[BF_LEASE_MAX_DEV];         /* atomic: bytes charged by every session */
} bf_shm_lease;

typedef struct bf_shm_worker {
    int32_t lease;                           /* lease slot of a CUDA session, -1 otherwise */
    int32_t client_pid;
    uint64_t held[BF_LEASE_MAX_DEV];         /* atomic: bytes this worker charged */
} bf_shm_worker;

typedef struct bf_shm_gpu {
    uint64_t total;
    uint64_t ctx_reserve;                    /* bytes one context takes (charged once per session) */
} bf_shm_gpu;

typedef struct bf_shm {
    uint32_t ngpus;
    bf_shm_gpu gpu[BF_SHM_MAX_GPUS];
    bf_shm_lease lease[BF_SHM_MAX_LEASES];
    bf_shm_worker worker[BF_SHM_MAX_WORKERS];
} bf_shm;

/* The table (NULL in processes without a parent daemon, e.g. the test server). */
extern bf_shm *bf_shm_table;
/* This worker's slot (-1 outside a worker). */
extern int bf_shm_worker_slot;
#endif
