/* log.h: bitfusiond's log (server/log.c): one line per event on stderr; under systemd (journald)
 * a priority prefix instead of a timestamp. */
#ifndef BF_SERVER_LOG_H
#define BF_SERVER_LOG_H

enum { BFD_LOG_ERROR, BFD_LOG_WARN, BFD_LOG_INFO, BFD_LOG_DEBUG };

/* "error" | "warn" | "info" | "debug"; -1 when unknown. */
int bfd_log_level_parse(const char *s);
void bfd_log_set_level(int level);
void bfd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_E(...) bfd_log(BFD_LOG_ERROR, __VA_ARGS__)
#define LOG_W(...) bfd_log(BFD_LOG_WARN, __VA_ARGS__)
#define LOG_I(...) bfd_log(BFD_LOG_INFO, __VA_ARGS__)
#define LOG_D(...) bfd_log(BFD_LOG_DEBUG, __VA_ARGS__)
#endif
