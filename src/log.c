/*
 * log - formatting and writing log lines; see log.h.
 *
 * Mirrors the logrus TextFormatter setup of
 * runtime/v2/shim/shim.go (setLogger): time="…" level=… msg="…" fields.
 * Uses only vsnprintf into static buffers (no allocation) and gmtime_r.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "log.h"
#include "scratch.h"

static int log_fd = 2;
static enum log_level log_min = LOG_INFO;
static const char *log_fields = "";
static uint64_t log_drops;

static const char *const log_names[] = {
	[LOG_DEBUG] = "debug",
	[LOG_INFO] = "info",
	[LOG_WARN] = "warning",
	[LOG_ERROR] = "error",
};

NS_IDLE void
log_init(int fd, enum log_level min, const char *fields)
{
	log_fd = fd;
	log_min = min;
	log_fields = fields ? fields : "";
}

uint64_t
log_dropped(void)
{
	return log_drops;
}

/*
 * Civil UTC date of a Unix time, by counting 400-year eras of 146097 days
 * from 0000-03-01.  Used instead of gmtime_r, which in glibc may load time
 * zone data (and allocate) on first use.
 */
NS_IDLE static void
log_civil(int64_t t, struct tm *tm)
{
	int64_t days = t / 86400, rem = t % 86400, era, doe, yoe, doy, mp;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	tm->tm_hour = (int)(rem / 3600);
	tm->tm_min = (int)(rem / 60 % 60);
	tm->tm_sec = (int)(rem % 60);
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	tm->tm_year = (int)(yoe + era * 400 + (tm->tm_mon < 2)) - 1900;
}

/* Append src to dst[*n..cap) with " and \ escaped and controls as \n etc. */
NS_IDLE static void
log_escape(char *dst, size_t *n, size_t cap, const char *src)
{
	size_t i = *n;

	for (; *src != '\0' && i + 2 < cap; src++) {
		char c = *src;

		if (c == '"' || c == '\\') {
			dst[i++] = '\\';
			dst[i++] = c;
		} else if (c == '\n') {
			dst[i++] = '\\';
			dst[i++] = 'n';
		} else if ((unsigned char)c < 0x20) {
			dst[i++] = ' ';
		} else {
			dst[i++] = c;
		}
	}
	*n = i;
}

#define LOG_MSG		1024
#define LOG_LINE	2304

NS_IDLE static void
log_emit(enum log_level lvl, int err, const char *fmt, va_list ap)
{
	size_t mark;
	char *msg, *line;
	struct timespec ts;
	struct tm tm;
	size_t n;
	int k;

	if (lvl < log_min || log_fd < 0)
		return;
	mark = scratch_mark();
	msg = scratch_alloc(LOG_MSG);
	line = scratch_alloc(LOG_LINE);
	vsnprintf(msg, LOG_MSG, fmt, ap);
	if (err != 0) {
		size_t m = strlen(msg);

		snprintf(msg + m, LOG_MSG - m, ": %s", strerror(err));
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	log_civil(ts.tv_sec, &tm);
	k = snprintf(line, LOG_LINE,
	    "time=\"%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ\" level=%s msg=\"",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec, log_names[lvl]);
	n = (size_t)k;
	log_escape(line, &n, LOG_LINE - 256, msg);
	k = snprintf(line + n, LOG_LINE - n, "\"%s%s\n",
	    *log_fields ? " " : "", log_fields);
	n += (size_t)k < LOG_LINE - n ? (size_t)k : LOG_LINE - n - 1;
	if (write(log_fd, line, n) != (ssize_t)n)
		log_drops++;
	scratch_back(mark);
}

#define LOG_FN(name, lvl, witherr)				\
	NS_IDLE void						\
	name(const char *fmt, ...)				\
	{							\
		int e = errno;					\
		va_list ap;					\
								\
		va_start(ap, fmt);				\
		log_emit(lvl, (witherr) ? e : 0, fmt, ap);	\
		va_end(ap);					\
		errno = e;					\
	}

LOG_FN(log_debug, LOG_DEBUG, 0)
LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_warn, LOG_WARN, 1)
LOG_FN(log_warnx, LOG_WARN, 0)
LOG_FN(log_error, LOG_ERROR, 0)

static void __attribute__((noreturn))
log_fatal(int err, const char *fmt, va_list ap)
{
	char *msg = scratch_alloc(LOG_MSG);
	size_t m;

	/* The containerd convention for a failing shim binary. */
	m = (size_t)snprintf(msg, LOG_MSG, "io.containerd.nanoshim.v2: ");
	vsnprintf(msg + m, LOG_MSG - m, fmt, ap);
	m = strlen(msg);
	if (err != 0)
		snprintf(msg + m, LOG_MSG - m, ": %s", strerror(err));
	m = strlen(msg);
	if (write(2, msg, m) < 0)
		_exit(1);
	_exit(1);
}

void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	log_fatal(e, fmt, ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fatal(0, fmt, ap);
}
