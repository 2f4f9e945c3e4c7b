/* log.c: bitfusiond's log lines (see log.h). Each line is written with one write(2) so that the
 * parent's and the workers' lines never mix. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_level = BFD_LOG_INFO;
static const char *const NAMES[] = {"error", "warn", "info", "debug"};
static const int SYSLOG_PRIO[] = {3, 4, 6, 7};

int bfd_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, NAMES[i]))
            return i;
    return -1;
}

void bfd_log_set_level(int level)
{
    g_level = level;
}

void bfd_log(int level, const char *fmt, ...)
{
    if (level > g_level)
        return;
    char line[2048];
    int n;
    if (getenv("JOURNAL_STREAM")) {
        n = snprintf(line, sizeof line, "<%d>", SYSLOG_PRIO[level]);
    } else {
        char ts[32];
        time_t t = time(NULL);
        struct tm tm;
        strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
        n = snprintf(line, sizeof line, "%s bitfusiond[%d] %s: ", ts, (int)getpid(), NAMES[level]);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    for (size_t i = 0; i < len; i++) /* one event, one line */
        if (line[i] == '\n')
            line[i] = ' ';
    line[len++] = '\n';
    ssize_t k = write(2, line, len);
    (void)k;
}
