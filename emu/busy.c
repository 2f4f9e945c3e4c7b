/* busy.c: how long each device has been busy running kernels in this process. Owns the per-device
 * busy clock (launch.c brackets every grid it runs with emu_busy_begin/emu_busy_end) and the
 * exported bfEmuDeviceBusyNs, which the server reads to answer NVML utilisation queries. A device
 * is busy while at least one grid runs on it; overlapping grids count once. */
#include "emu.h"
#include <time.h>

typedef struct busy_clock {
    pthread_mutex_t lock;
    int running;                  /* grids running now */
    unsigned long long since;     /* when running went from 0 to 1 (ns, monotonic) */
    unsigned long long total;     /* busy ns before `since` */
} busy_clock;

static busy_clock g_busy[EMU_MAX_DEVICES];
static pthread_once_t g_busy_once = PTHREAD_ONCE_INIT;

static void busy_init(void)
{
    for (int i = 0; i < EMU_MAX_DEVICES; i++)
        pthread_mutex_init(&g_busy[i].lock, NULL);
}

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static busy_clock *busy_of(int ordinal)
{
    if (ordinal < 0 || ordinal >= EMU_MAX_DEVICES)
        return NULL;
    pthread_once(&g_busy_once, busy_init);
    return &g_busy[ordinal];
}

void emu_busy_begin(int ordinal)
{
    busy_clock *b = busy_of(ordinal);
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    if (b->running++ == 0)
        b->since = now_ns();
    pthread_mutex_unlock(&b->lock);
}

void emu_busy_end(int ordinal)
{
    busy_clock *b = busy_of(ordinal);
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    if (b->running > 0 && --b->running == 0)
        b->total += now_ns() - b->since;
    pthread_mutex_unlock(&b->lock);
}

/* Cumulative nanoseconds during which at least one kernel was executing on the device with this
 * (visible) ordinal in this process; 0 for an ordinal that is no device. */
EMU_API unsigned long long bfEmuDeviceBusyNs(int ordinal)
{
    if (!emu_device_get(ordinal))
        return 0;
    busy_clock *b = busy_of(ordinal);
    pthread_mutex_lock(&b->lock);
    unsigned long long t = b->total;
    if (b->running > 0)
        t += now_ns() - b->since;
    pthread_mutex_unlock(&b->lock);
    return t;
}
