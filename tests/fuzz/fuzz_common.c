/*
 * fuzz_common - see fuzz.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sanitizer/allocator_interface.h>
#include <sanitizer/common_interface_defs.h>

#include "fuzz.h"
#include "log.h"

static volatile bool fz_guarded;
static char fz_tmp[PATH_MAX];
static pid_t fz_owner;

static void
fz_malloc_hook(const volatile void *p, size_t n)
{
	static const char m[] = "\nnanoshim fuzz: heap allocation while the "
	    "no-heap guard is on (the shim allocates nothing once its loop "
	    "runs)\n";

	(void)p;
	(void)n;
	if (!fz_guarded)
		return;
	fz_guarded = false;
	if (write(2, m, sizeof(m) - 1) < 0)
		abort();
	__sanitizer_print_stack_trace();
	abort();
}

void
fz_guard(bool on)
{
	fz_guarded = on;
}

static int
fz_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	remove(p);
	return 0;
}

static void
fz_cleanup(void)
{
	if (fz_tmp[0] && getpid() == fz_owner)
		nftw(fz_tmp, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
fz_setup(const char *name)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	int fd;

	if (getenv("TMPDIR") && *getenv("TMPDIR"))
		base = getenv("TMPDIR");
	snprintf(fz_tmp, sizeof(fz_tmp), "%s/nanoshim-fuzz-%s.XXXXXX", base,
	    name);
	if (mkdtemp(fz_tmp) == NULL) {
		perror(fz_tmp);
		exit(1);
	}
	fz_owner = getpid();
	atexit(fz_cleanup);
	/* Every log line is formatted, none is kept. */
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	log_init(getenv("FUZZ_LOG") ? 2 : fd, LOG_DEBUG, "fuzz=1");
	__sanitizer_install_malloc_and_free_hooks(fz_malloc_hook, NULL);
}

const char *
fz_dir(void)
{
	return fz_tmp;
}

const char *
fz_path(const char *name)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", fz_tmp, name);
	return b;
}

int
fz_write(const char *path, const void *p, size_t len)
{
	const char *c = p;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	close(fd);
	return 0;
}

void
fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	char m[1024];
	va_list ap;

	fz_guarded = false;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nnanoshim fuzz: %s:%d: check failed: %s: %s\n",
	    file, line, cond, m);
	__sanitizer_print_stack_trace();
	abort();
}

bool
fz_part(struct fz *f, const uint8_t **p, size_t *len)
{
	size_t i;

	if (f->n == 0)
		return false;
	*p = f->p;
	/* A separator is "%%" alone on its line (or the input's start). */
	for (i = 0; i + 2 <= f->n; i++) {
		if ((i == 0 || f->p[i - 1] == '\n') && f->p[i] == '%' &&
		    f->p[i + 1] == '%' && (i + 2 == f->n || f->p[i + 2] == '\n')) {
			*len = i > 0 ? i - 1 : 0;	/* without its newline */
			i += i + 2 < f->n ? 3 : 2;
			f->p += i;
			f->n -= i;
			return true;
		}
	}
	*len = f->n;
	f->p += f->n;
	f->n = 0;
	return true;
}

bool
fz_part_str(struct fz *f, char *buf, size_t cap, size_t *len)
{
	const uint8_t *p;
	size_t n;

	if (!fz_part(f, &p, &n)) {
		buf[0] = '\0';
		if (len)
			*len = 0;
		return false;
	}
	if (n > cap - 1)
		n = cap - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (len)
		*len = n;
	return true;
}
