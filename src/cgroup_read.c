/*
 * cgroup_read - reading cgroup files: the buffers, readers and parsers
 * every part of cgroup uses.
 *
 * Owns: the read buffers (taken from scratch at each entry point), the
 * parsers of numbers, fields and lines (as Go's strconv and strings
 * read them), reading one file whole, a number file, a "max" file and a
 * flat-keyed file into a message's fields, and the rdma files both v1 and
 * v2 report.
 *
 * May call: cgroup's entry points (cgroup_dir), scratch.
 *
 * Mirrors containerd/cgroups utils.go (readUint, parseUint, parseKV) and
 * rdma.go (toRdmaEntry).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "bounds.h"
#include "cgroup.h"
#include "cgroup_impl.h"
#include "scratch.h"

/* rdma.current/rdma.max stay around: entries point at device names. */
#define CG_RDMA_MAX	(4u << 10)

/*
 * Where files are read: a scratch buffer taken at each entry point, so a
 * Stats call costs no pages of its own (scratch.h).
 */
char *cg_buf;
char cg_rdma_cur[CG_RDMA_MAX];
char cg_rdma_lim[CG_RDMA_MAX];
char *cg_path;		/* scratch too */

/*
 * Every entry point takes its read buffers from scratch and gives them
 * back on return (nothing it returns points into them).
 */
NS_IDLE void
cg_scratch(void)
{
	cg_buf = scratch_alloc(CG_FILE_MAX);
	cg_path = scratch_alloc(NS_PATH_MAX);
}
bool cg_truncated;	/* the last cg_read did not see EOF */

/* --- small parsers ----------------------------------------------------- */

static bool
cg_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/* Digits only, no sign: strconv.ParseUint(s, 10, 64). */
bool
cg_parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return false;
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

/* containerd/cgroups parseUint: as above, but a negative number is 0. */
static bool
cg_parse_uint(const char *s, size_t n, uint64_t *v)
{
	size_t i;

	if (n > 1 && s[0] == '-') {
		/* Any run of digits, in int64 range or not. */
		for (i = 1; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
		*v = 0;
		return true;
	}
	return cg_parse_u64(s, n, v);
}

/* Trim ASCII space on both sides (strings.TrimSpace). */
void
cg_trim(const char **s, size_t *n)
{
	while (*n > 0 && cg_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && cg_space((*s)[*n - 1]))
		(*n)--;
}

NS_IDLE bool
cg_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/*
 * Split the next whitespace-separated field (strings.Fields) off
 * [*p, end).  Returns false when none is left.
 */
NS_IDLE bool
cg_field(const char **p, const char *end, const char **f, size_t *n)
{
	const char *s = *p;

	while (s < end && cg_space(*s))
		s++;
	if (s == end) {
		*p = s;
		return false;
	}
	*f = s;
	while (s < end && !cg_space(*s))
		s++;
	*n = (size_t)(s - *f);
	*p = s;
	return true;
}

/* The next line of [*p, end) without its '\n'; false at the end. */
bool
cg_line(const char **p, const char *end, const char **l, size_t *n)
{
	const char *s = *p, *nl;

	if (s >= end)
		return false;
	nl = memchr(s, '\n', (size_t)(end - s));
	*l = s;
	*n = nl ? (size_t)(nl - s) : (size_t)(end - s);
	*p = nl ? nl + 1 : end;
	return true;
}

/* --- reading files ----------------------------------------------------- */

/*
 * Read name (relative to dfd) into buf, NUL-terminated.  Returns the
 * length or -errno.  A file larger than the buffer is cut after its last
 * whitespace, so no parser sees half a number.  A cgroup file can fail at
 * read time with ENODEV once its cgroup is removed: that counts as gone.
 */
ssize_t
cg_read(int dfd, const char *name, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd, e = 0;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (len < cap - 1) {
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno == ENODEV ? ENOENT : errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (e != 0)
		return -e;
	cg_truncated = len == cap - 1;
	if (cg_truncated) {
		while (len > 0 && !cg_space(buf[len - 1]))
			len--;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

/* One number file (readUint).  -errno, or -EINVAL when not a number. */
NS_RARE int
cg_read_uint(int dfd, const char *name, uint64_t *v)
{
	ssize_t n = cg_read(dfd, name, cg_buf, CG_FILE_MAX);
	const char *s = cg_buf;
	size_t len;

	if (n < 0)
		return (int)n;
	len = (size_t)n;
	cg_trim(&s, &len);
	return cg_parse_uint(s, len, v) ? 0 : -EINVAL;
}

/*
 * A number file that may say "max" (v2 getStatFileContentUint64, and
 * getPidValue): "max" gives maxv.  Other text gives 0, as in Go.
 */
NS_RARE int
cg_read_max(int dfd, const char *name, uint64_t maxv, uint64_t *v)
{
	ssize_t n = cg_read(dfd, name, cg_buf, CG_FILE_MAX);
	const char *s = cg_buf;
	size_t len;

	if (n < 0)
		return (int)n;
	len = (size_t)n;
	cg_trim(&s, &len);
	if (cg_eq(s, len, "max"))
		*v = maxv;
	else if (!cg_parse_uint(s, len, v))
		*v = 0;
	return 0;
}

/*
 * Parse a flat-keyed file (parseKV) into the uint64 fields of base named
 * by keys.  Lines without exactly two fields are skipped; a value that is
 * not a number leaves its field alone.  Returns the number of well-formed
 * lines (v2 only reports memory_events when there was one), or -errno.
 */
NS_RARE int
cg_read_kv(int dfd, const char *name, const struct cg_key *keys,
    size_t nkeys, void *base)
{
	ssize_t n = cg_read(dfd, name, cg_buf, CG_FILE_MAX);
	const char *p = cg_buf, *end, *l, *k, *v, *lp, *x;
	size_t ln, kn, vn, xn, i;
	uint64_t val;
	int lines = 0;

	if (n < 0)
		return (int)n;
	end = cg_buf + n;
	while (cg_line(&p, end, &l, &ln)) {
		lp = l;
		if (!cg_field(&lp, l + ln, &k, &kn) ||
		    !cg_field(&lp, l + ln, &v, &vn) ||
		    cg_field(&lp, l + ln, &x, &xn))
			continue;
		lines++;
		if (!cg_parse_uint(v, vn, &val))
			continue;
		for (i = 0; i < nkeys; i++) {
			if (cg_eq(k, kn, keys[i].k_name)) {
				memcpy((char *)base + keys[i].k_off, &val,
				    sizeof(val));
				break;
			}
		}
	}
	return lines;
}

/* Open dir of ref's controller ctl as an O_PATH fd, or -errno. */
NS_RARE int
cg_open(const struct cgroup_ref *ref, enum cg_ctl ctl)
{
	int e, fd;

	e = cgroup_dir(ref, ctl, cg_path, NS_PATH_MAX);
	if (e < 0)
		return e;
	fd = open(cg_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

NS_RARE static void
cg_rdma_kv(const char *s, size_t n, struct cg_rdma *r)
{
	const char *eq = memchr(s, '=', n), *v;
	size_t kl, vl;
	uint64_t x;

	if (eq == NULL || memchr(eq + 1, '=', n - (size_t)(eq + 1 - s)))
		return;
	kl = (size_t)(eq - s);
	v = eq + 1;
	vl = n - kl - 1;
	if (cg_eq(v, vl, "max"))
		x = UINT32_MAX;
	else if (!cg_parse_uint(v, vl, &x) || x > UINT32_MAX)
		return;
	if (cg_eq(s, kl, "hca_handle"))
		r->r_handles = (uint32_t)x;
	else if (cg_eq(s, kl, "hca_object"))
		r->r_objects = (uint32_t)x;
}

/* toRdmaEntry: the lines of exactly three fields, up to cap of them. */
NS_RARE size_t
cg_rdma_parse(const char *buf, ssize_t n, struct cg_rdma *out, size_t cap)
{
	const char *p = buf, *end = buf + (n > 0 ? n : 0), *l, *lp, *f[4];
	size_t ln, fl[4], nf, k = 0;

	while (k < cap && cg_line(&p, end, &l, &ln)) {
		lp = l;
		for (nf = 0; nf < 4; nf++)
			if (!cg_field(&lp, l + ln, &f[nf], &fl[nf]))
				break;
		if (nf != 3)
			continue;
		memset(&out[k], 0, sizeof(out[k]));
		out[k].r_dev = f[0];
		out[k].r_devlen = fl[0];
		cg_rdma_kv(f[1], fl[1], &out[k]);
		cg_rdma_kv(f[2], fl[2], &out[k]);
		k++;
	}
	return k;
}

/*
 * The two rdma files into their own buffers (entries point at device
 * names in them).  Returns 0 when both were read, or -errno.
 */
NS_RARE int
cg_rdma_read(int dfd, ssize_t *nc, ssize_t *nl)
{
	*nc = cg_read(dfd, "rdma.current", cg_rdma_cur, sizeof(cg_rdma_cur));
	*nl = cg_read(dfd, "rdma.max", cg_rdma_lim, sizeof(cg_rdma_lim));
	return *nc < 0 ? (int)*nc : *nl < 0 ? (int)*nl : 0;
}
