/* list_gpus.c: `bitfusion list_gpus [-l HOST[:PORT],...]`: every server of the pool, its GPUs and
 * the partitions on them. The format is stable (scripts and tests read it):
 *   SERVER ADDR (HOSTNAME, BACKEND, CUDA X.Y, driver V): N GPUs
 *     GPU I: NAME, TOTAL MiB, FREE MiB free, K partitions
 *       partition SIZE MiB (used USED MiB) lease PREFIX: OWNER (HOLDER), S sessions
 *   SERVER ADDR: unreachable: REASON
 * FREE is the memory in no partition. Exit status 1 when no server answered. */
#include "cli.h"

#include <stdio.h>

const char LIST_GPUS_HELP[] =
    "usage: bitfusion list_gpus [-l HOST[:PORT],...]\n"
    "Lists the servers of the pool, their GPUs (index, name, memory, memory in no partition) and the\n"
    "partitions on each GPU (size, memory used, lease, who holds it, sessions). A server that cannot\n"
    "be asked gets one line with the reason. Exits 1 when no server answered.\n"
    "  -l, --server_list LIST    ask these servers (HOST[:PORT],...) instead of servers.conf's\n"
    "  -h, --help                this text\n";

static void print_holder(const Bitfusion__Partition *p)
{
    const char *owner = p->owner && *p->owner ? p->owner : NULL, *holder = p->holder && *p->holder ? p->holder : NULL;
    if (owner && holder)
        printf("%s (%s)", owner, holder);
    else
        printf("%s", owner ? owner : holder ? holder : "-");
}

int list_gpus_main(int argc, char **argv)
{
    static bf_client_config cfg;
    static bf_pool pool;
    const char *list = NULL;

    if (cli_parse("list_gpus", LIST_GPUS_HELP, argc, argv, cli_server_list_opt, &list, CLI_NO_CMD, NULL) != 0)
        return 2;
    if (cli_query_pool(&cfg, list, &pool) != 0)
        return 1;
    for (int i = 0; i < pool.n; i++) {
        const bf_pool_server *s = &pool.s[i];
        const Bitfusion__Inventory *inv = s->inv;
        if (!inv) {
            printf("SERVER %s: unreachable: %s\n", s->addr, *s->error ? s->error : "no answer");
            continue;
        }
        printf("SERVER %s (%s, %s, CUDA %s, driver %s): %zu %s\n", s->addr, inv->hostname, inv->backend,
               inv->cuda_version, inv->driver_version, inv->n_gpus, cli_plural((long)inv->n_gpus, "GPU", "GPUs"));
        for (size_t g = 0; g < inv->n_gpus; g++) {
            const Bitfusion__Gpu *gpu = inv->gpus[g];
            printf("  GPU %u: %s, %llu MiB, %llu MiB free, %zu %s\n", gpu->index, gpu->name,
                   (unsigned long long)cli_mib(gpu->total), (unsigned long long)cli_mib(gpu->free),
                   gpu->n_partitions, cli_plural((long)gpu->n_partitions, "partition", "partitions"));
            for (size_t k = 0; k < gpu->n_partitions; k++) {
                const Bitfusion__Partition *p = gpu->partitions[k];
                printf("    partition %llu MiB (used %llu MiB) lease %.8s: ", (unsigned long long)cli_mib(p->bytes),
                       (unsigned long long)cli_mib(p->used), p->lease);
                print_holder(p);
                printf(", %u %s\n", p->sessions, cli_plural(p->sessions, "session", "sessions"));
            }
        }
    }
    fflush(stdout);
    int rc = cli_pool_answered(&pool);
    bf_pool_free(&pool);
    return rc;
}
