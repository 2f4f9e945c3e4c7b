/* fork.c: what fork(2) does to the client library (owner: shim/). A child forked after cuInit
 * must be able to use CUDA on its own: it has none of the parent's threads (no receiver, no
 * keepalive, no host functions running), so every lock is taken before the fork (in one order,
 * the order the library nests them: the connection lock, the lease and call state, then the
 * leaf locks) and released on both sides after it; in the child, the parent's connection and lease
 * hold are abandoned without a byte sent, and the session's handles, pending calls and host
 * function registrations are forgotten. The child's next cuInit (or NVML call) connects again, to
 * the same lease (BITFUSION_LEASE is in its environment). */
#include "rpc.h"
#include "lease.h"
#include <pthread.h>

static void prepare(void)
{
    bf_conn_atfork(BF_FORK_PREPARE);       /* connection lock, then call state */
    bf_hostfn_atfork(BF_FORK_PREPARE);     /* taken under the call state lock (wait_reply) */
    bf_hostmem_atfork(BF_FORK_PREPARE);
    bf_nvml_atfork(BF_FORK_PREPARE);
    bf_init_atfork(BF_FORK_PREPARE);
    bf_memtrack_atfork(BF_FORK_PREPARE);
}

static void after(int phase)
{
    bf_memtrack_atfork(phase);
    bf_init_atfork(phase);
    bf_nvml_atfork(phase);
    bf_hostmem_atfork(phase);
    bf_hostfn_atfork(phase);
    bf_conn_atfork(phase);
}

static void parent(void) { after(BF_FORK_PARENT); }

static void child(void)
{
    bf_lease_atfork_child();
    after(BF_FORK_CHILD);
    bf_mem_forget_all();                   /* the parent's device memory is not the child's */
}

static void register_once(void)
{
    if (pthread_atfork(prepare, parent, child) != 0)
        bf_log("cannot register the fork handlers; a child process that forks after cuInit cannot use "
               "CUDA (exec a new program instead)");
}

void bf_fork_register(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
}
