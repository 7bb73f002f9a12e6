/*
 * log - lines for containerd's log: the bundle's `log` FIFO on fd 2.
 *
 * Owns: formatting (logrus text form, which containerd shows as is),
 * non-blocking writes, the count of dropped lines.  Does not own: where
 * fd 2 points (main sets it up).
 *
 * A line that cannot be written at once (FIFO full, containerd away) is
 * dropped and counted; the shim never blocks on its log.
 */
#ifndef NS_LOG_H
#define NS_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/* fd to write to, the lowest level shown, and fields added to each line. */
void log_init(int fd, enum log_level min, const char *fields);
uint64_t log_dropped(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Startup only: print to fd 2 and exit(1).  fatal appends strerror. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
