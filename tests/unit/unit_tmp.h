/*
 * unit_tmp.h - a private temporary directory for one test binary, and
 * small file helpers.  Include once, in the test's main file.
 */
#ifndef NS_UNIT_TMP_H
#define NS_UNIT_TMP_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char unit_tmp[PATH_MAX] __attribute__((unused));

/* mkdtemp under /tmp; the name says which test made it. */
static inline int
unit_tmp_make(const char *tag)
{
	snprintf(unit_tmp, sizeof(unit_tmp), "/tmp/nanoshim-%s.XXXXXX", tag);
	return mkdtemp(unit_tmp) ? 0 : -1;
}

static inline int
unit_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	remove(p);
	return 0;
}

static inline void
unit_tmp_remove(void)
{
	if (unit_tmp[0])
		nftw(unit_tmp, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unit_tmp[0] = '\0';
}

/* unit_tmp + "/" + name, in a rotating set of static buffers. */
static inline const char *
unit_path(const char *name)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", unit_tmp, name);
	return b;
}

/* Write len bytes to path (created or truncated) with mode; 0 or -1. */
static inline int
unit_write_file(const char *path, const void *p, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const char *s = p;

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		s += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Read up to cap - 1 bytes of path, NUL-terminated; length or -1. */
static inline ssize_t
unit_read_file(const char *path, char *dst, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -1;
	while (n + 1 < cap) {
		ssize_t k = read(fd, dst + n, cap - 1 - n);

		if (k < 0) {
			close(fd);
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	dst[n] = '\0';
	return (ssize_t)n;
}

#endif
