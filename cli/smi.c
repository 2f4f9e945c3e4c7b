/* smi.c: `bitfusion smi [-l HOST[:PORT],...]`: an nvidia-smi-like view of the whole pool: a table
 * of every GPU (server, index, name, memory used / total, memory in partitions) and a table of the
 * processes (per lease and GPU: its sessions' client pids, memory used, who holds it). "Used" is
 * the sum of the partitions' use. Servers that could not be asked follow, one line each. Exit
 * status 1 when no server answered. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char SMI_HELP[] =
    "usage: bitfusion smi [-l HOST[:PORT],...]\n"
    "Shows every GPU of the pool like nvidia-smi: server, GPU index, name, memory used / total (used:\n"
    "what the partitions' programs hold), memory given to partitions; then the processes: per lease\n"
    "and GPU, the client pids of its sessions, the memory they use and who holds the lease.\n"
    "Exits 1 when no server answered.\n"
    "  -l, --server_list LIST    ask these servers (HOST[:PORT],...) instead of servers.conf's\n"
    "  -h, --help                this text\n";

/* ---- a bordered table ------------------------------------------------------------------------- */
#define COLS 6
#define CELL 192
typedef struct table {
    int ncols;
    const char *head[COLS];
    int right[COLS];                   /* right-aligned column */
    int nrows, cap;
    char (*rows)[COLS][CELL];
} table;

static char *cell(table *t, int row, int col)
{
    return t->rows[row][col];
}

static int add_row(table *t)
{
    if (t->nrows == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        void *p = realloc(t->rows, (size_t)cap * sizeof *t->rows);
        if (!p)
            return -1;
        t->rows = p;
        t->cap = cap;
    }
    memset(t->rows[t->nrows], 0, sizeof *t->rows);
    return t->nrows++;
}

static void rule(const table *t, const int *w, char c)
{
    putchar('+');
    for (int j = 0; j < t->ncols; j++) {
        for (int k = 0; k < w[j] + 2; k++)
            putchar(c);
        putchar('+');
    }
    putchar('\n');
}

static void line(const table *t, const int *w, const char *const *cells)
{
    putchar('|');
    for (int j = 0; j < t->ncols; j++) {
        if (t->right[j])
            printf(" %*s |", w[j], cells[j]);
        else
            printf(" %-*s |", w[j], cells[j]);
    }
    putchar('\n');
}

static void print_table(const table *t, const char *title, const char *empty)
{
    int w[COLS] = {0};
    for (int j = 0; j < t->ncols; j++) {
        w[j] = (int)strlen(t->head[j]);
        for (int i = 0; i < t->nrows; i++)
            if ((int)strlen(t->rows[i][j]) > w[j])
                w[j] = (int)strlen(t->rows[i][j]);
    }
    int inner = -3;
    for (int j = 0; j < t->ncols; j++)
        inner += w[j] + 3;
    rule(t, w, '-');
    if (title)
        printf("| %-*s |\n", inner, title);
    line(t, w, t->head);
    rule(t, w, '=');
    for (int i = 0; i < t->nrows; i++) {
        const char *cells[COLS];
        for (int j = 0; j < t->ncols; j++)
            cells[j] = t->rows[i][j];
        line(t, w, cells);
    }
    if (!t->nrows && empty)
        printf("| %-*s |\n", inner, empty);
    rule(t, w, '-');
}

int smi_main(int argc, char **argv)
{
    static bf_client_config cfg;
    static bf_pool pool;
    const char *list = NULL;

    if (cli_parse("smi", SMI_HELP, argc, argv, cli_server_list_opt, &list, CLI_NO_CMD, NULL) != 0)
        return 2;
    if (cli_query_pool(&cfg, list, &pool) != 0)
        return 1;

    table gpus = {.ncols = 6, .head = {"Server", "GPU", "Name", "Memory-Usage", "Partitioned", "Partitions"},
                  .right = {0, 1, 0, 1, 1, 1}};
    table procs = {.ncols = 6, .head = {"Server", "GPU", "Lease", "PIDs", "Used", "Holder"},
                   .right = {0, 1, 0, 0, 1, 0}};
    for (int i = 0; i < pool.n; i++) {
        const bf_pool_server *s = &pool.s[i];
        if (!s->inv)
            continue;
        for (size_t g = 0; g < s->inv->n_gpus; g++) {
            const Bitfusion__Gpu *gpu = s->inv->gpus[g];
            uint64_t used = 0, parted = 0;
            for (size_t k = 0; k < gpu->n_partitions; k++) {
                const Bitfusion__Partition *p = gpu->partitions[k];
                used += p->used;
                parted += p->bytes;
                int r = add_row(&procs);
                if (r < 0)
                    break;
                snprintf(cell(&procs, r, 0), CELL, "%s", s->addr);
                snprintf(cell(&procs, r, 1), CELL, "%u", gpu->index);
                snprintf(cell(&procs, r, 2), CELL, "%.8s", p->lease);
                char *pids = cell(&procs, r, 3);
                size_t n = 0;
                for (size_t q = 0; q < p->n_pids && n < CELL - 16; q++)
                    n += (size_t)snprintf(pids + n, CELL - n, "%s%d", q ? "," : "", p->pids[q]);
                if (!p->n_pids)
                    snprintf(pids, CELL, "-");
                snprintf(cell(&procs, r, 4), CELL, "%lluMiB", (unsigned long long)cli_mib(p->used));
                const char *owner = p->owner && *p->owner ? p->owner : NULL;
                const char *holder = p->holder && *p->holder ? p->holder : NULL;
                if (owner && holder)
                    snprintf(cell(&procs, r, 5), CELL, "%s (%s)", owner, holder);
                else
                    snprintf(cell(&procs, r, 5), CELL, "%s", owner ? owner : holder ? holder : "-");
            }
            int r = add_row(&gpus);
            if (r < 0)
                break;
            snprintf(cell(&gpus, r, 0), CELL, "%s", s->addr);
            snprintf(cell(&gpus, r, 1), CELL, "%u", gpu->index);
            snprintf(cell(&gpus, r, 2), CELL, "%s", gpu->name);
            snprintf(cell(&gpus, r, 3), CELL, "%lluMiB / %lluMiB", (unsigned long long)cli_mib(used),
                     (unsigned long long)cli_mib(gpu->total));
            snprintf(cell(&gpus, r, 4), CELL, "%lluMiB", (unsigned long long)cli_mib(parted));
            snprintf(cell(&gpus, r, 5), CELL, "%zu", gpu->n_partitions);
        }
    }

    char when[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm);
    printf("%s    bitfusion smi %s\n", when, BF_VERSION);
    print_table(&gpus, NULL, "No GPUs");
    putchar('\n');
    print_table(&procs, "Processes:", "No running processes found");
    for (int i = 0; i < pool.n; i++)
        if (!pool.s[i].inv)
            printf("%s: unreachable: %s\n", pool.s[i].addr, *pool.s[i].error ? pool.s[i].error : "no answer");
    fflush(stdout);
    free(gpus.rows);
    free(procs.rows);
    int rc = cli_pool_answered(&pool);
    bf_pool_free(&pool);
    return rc;
}
