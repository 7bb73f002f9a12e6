/*
 * cgroup - see cgroup.h.
 *
 * Owns: the mode, the v1 mount table, the huge page sizes (all found once
 * at startup), and the readers that turn a container's cgroup files into
 * the Metrics message of Stats.  Does not own: when Stats is asked or how
 * the reply is encoded (task), OOM notification (oom).
 *
 * Mirrors containerd/cgroups as the 1.6 Go shim uses it
 * (runtime/v2/runc/task/service.go Stats): utils.go (Mode, /proc/<pid>/cgroup,
 * mountinfo, hugePageSizes), paths.go (existingPath), the v1 Stat readers
 * pids.go cpu.go cpuacct.go memory.go blkio.go hugetlb.go rdma.go, and
 * v2/manager.go Stat with the helpers of v2/utils.go.
 *
 * Where the Go readers stop at the first unreadable file of a controller
 * (and Stats(IgnoreNotExist) then keeps what was filled so far), we read
 * every file on its own: a missing or unparsable file leaves its fields
 * zero and never fails Stats.  Which sub-messages are present follows Go
 * (v1: cpu always; memory and its four entries when the memory cgroup is
 * there; v2: pids, cpu, memory, io and rdma always, memory_events when
 * memory.events had a line).
 *
 * Nothing here allocates.  Files are read with openat + read into static
 * buffers; directories are listed with getdents64, at startup only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "layout.h"
#include "cgroup.h"
#include "cgroups/v1/metrics.pb.h"
#include "cgroups/v2/metrics.pb.h"
#include "log.h"
#include "scratch.h"
#include "pbs.h"

/* linux/magic.h; not every libc ships the kernel headers. */
#define CG_CGROUP2_MAGIC	0x63677270u

#define CG_SYSROOT	"/sys/fs/cgroup"
#define CG_MNT_MAX	255u		/* a mount point or mount root */
/*
 * One cgroup file.  The largest we read: cpuacct.usage_percpu, up to 21
 * bytes per possible CPU (1024 CPUs: 22 KiB), and v2 memory.stat (~2 KiB).
 * A file that does not fit is cut after its last complete field.
 */
#define CG_FILE_MAX	(64u << 10)
/* rdma.current/rdma.max stay around: entries point at device names. */
#define CG_RDMA_MAX	(4u << 10)
/* Huge page sizes: the bound of Metrics.hugetlb (proto/cgroups options). */
#define CG_HUGE_MAX	8u
/* Block devices named from /proc/partitions (DISK_NAME_LEN is 32). */
#define CG_PARTS_MAX	256u
#define CG_DEVNAME_MAX	40u
/* Distinct blkio op names outside the usual six, per Stats call. */
#define CG_OPS_MAX	16u
#define CG_OPNAME_MAX	16u
/* USER_HZ: cpuacct.stat counts in it; Go hardcodes 100 (ticks.go). */
#define CG_USER_HZ	100u

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const cg_names[CGC_MAX] = {
	[CGC_CPU] = "cpu",
	[CGC_CPUACCT] = "cpuacct",
	[CGC_MEMORY] = "memory",
	[CGC_PIDS] = "pids",
	[CGC_BLKIO] = "blkio",
	[CGC_HUGETLB] = "hugetlb",
	[CGC_CPUSET] = "cpuset",
	[CGC_RDMA] = "rdma",
};

struct cg_mount {
	bool m_ok;
	const char *m_dir;		/* where the hierarchy is */
	const char *m_root;		/* which cgroup is mounted there */
};

struct cg_part {
	uint32_t p_major;
	uint32_t p_minor;
	char p_name[CG_DEVNAME_MAX];	/* "/dev/vda" */
};

static enum cg_mode cg_mode_now = CG_UNAVAILABLE;
static char cg_root[CG_MNT_MAX] = CG_SYSROOT;
static struct cg_mount cg_v1[CGC_MAX];
/*
 * The mount points and roots of cg_v1, packed: a host's take a few dozen
 * bytes each and share a page with the small variables.  Longer ones go
 * to the full-size store, which then costs a page of its own.
 */
#define CG_MSTR_SMALL	512u
static char cg_mstr[CG_MSTR_SMALL];
static char cg_mstr_big[2 * CGC_MAX * CG_MNT_MAX];
static size_t cg_mstr_used, cg_mstr_big_used;

NS_IDLE static const char *
cg_mstr_put(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (cg_mstr_used + n <= sizeof(cg_mstr)) {
		p = cg_mstr + cg_mstr_used;
		cg_mstr_used += n;
	} else {
		/* 2 x CGC_MAX strings of at most CG_MNT_MAX bytes: it fits. */
		p = cg_mstr_big + cg_mstr_big_used;
		cg_mstr_big_used += n;
	}
	memcpy(p, s, n);
	return p;
}
static char cg_v2dir[CG_MNT_MAX];
static char cg_huge[CG_HUGE_MAX][16];	/* "2MB", sorted as Go lists */
static uint32_t cg_nhuge;
static const char *cg_hugepages_dir = "/sys/kernel/mm/hugepages";
static const char *cg_partitions = "/proc/partitions";
static const char *cg_mountinfo_path = "/proc/self/mountinfo";

/*
 * Where files are read: a scratch buffer taken at each entry point, so a
 * Stats call costs no pages of its own (scratch.h).
 */
static char *cg_buf;
static char cg_rdma_cur[CG_RDMA_MAX];
static char cg_rdma_lim[CG_RDMA_MAX];
static struct cg_part cg_parts[CG_PARTS_MAX];
static uint32_t cg_nparts;
static char cg_ops[CG_OPS_MAX][CG_OPNAME_MAX];
static uint32_t cg_nops;
static char cg_subtree[4096];
static char *cg_path;		/* scratch too */

/*
 * Every entry point takes its read buffers from scratch and gives them
 * back on return (nothing it returns points into them).
 */
NS_IDLE static void
cg_scratch(void)
{
	cg_buf = scratch_alloc(CG_FILE_MAX);
	cg_path = scratch_alloc(NS_PATH_MAX);
}
static bool cg_truncated;	/* the last cg_read did not see EOF */

static io_containerd_cgroups_v1_Metrics cg_m1;
static io_containerd_cgroups_v2_Metrics cg_m2;

/* --- small parsers ----------------------------------------------------- */

static bool
cg_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/* Digits only, no sign: strconv.ParseUint(s, 10, 64). */
static bool
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
static void
cg_trim(const char **s, size_t *n)
{
	while (*n > 0 && cg_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && cg_space((*s)[*n - 1]))
		(*n)--;
}

NS_IDLE static bool
cg_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/*
 * Split the next whitespace-separated field (strings.Fields) off
 * [*p, end).  Returns false when none is left.
 */
NS_IDLE static bool
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
static bool
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
static ssize_t
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
NS_RARE static int
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
NS_RARE static int
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

/* "key value" lines: where each known key's value goes. */
struct cg_key {
	const char *k_name;
	size_t k_off;
};

/*
 * Parse a flat-keyed file (parseKV) into the uint64 fields of base named
 * by keys.  Lines without exactly two fields are skipped; a value that is
 * not a number leaves its field alone.  Returns the number of well-formed
 * lines (v2 only reports memory_events when there was one), or -errno.
 */
NS_RARE static int
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
NS_RARE static int
cg_open(const struct cgroup_ref *ref, enum cg_ctl ctl)
{
	int e, fd;

	e = cgroup_dir(ref, ctl, cg_path, NS_PATH_MAX);
	if (e < 0)
		return e;
	fd = open(cg_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* --- startup: mode, mounts, huge page sizes ---------------------------- */

/* Undo mountinfo's octal escapes (\040 for space) into dst. */
NS_IDLE static int
cg_unescape(const char *s, size_t n, char *dst, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < n &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 +
			    (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

/*
 * Where a mount point of the table is for us: cg_root stands in for
 * /sys/fs/cgroup (the same thing unless cgroup_init_at moved it).
 */
NS_IDLE static int
cg_map_mount(const char *mnt, char *dst, size_t cap)
{
	size_t sl = strlen(CG_SYSROOT);
	int n;

	if (strncmp(mnt, CG_SYSROOT, sl) == 0 &&
	    (mnt[sl] == '\0' || mnt[sl] == '/'))
		n = snprintf(dst, cap, "%s%s", cg_root, mnt + sl);
	else
		n = snprintf(dst, cap, "%s", mnt);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* What the mount table said about cgroup2 mounts. */
struct cg_seen {
	bool s_v2root;		/* cgroup2 on /sys/fs/cgroup */
	bool s_v2unified;	/* cgroup2 on /sys/fs/cgroup/unified */
	/* When set: every v1 hierarchy's mount point, named ones too. */
	char (*s_v1dirs)[CG_MNT_MAX];
	unsigned s_nv1, s_v1cap;
};

/*
 * One line of mountinfo:
 * "id parent maj:min root mountpoint opts [optional...] - fs source super"
 */
NS_IDLE static void
cg_mountinfo_line(const char *l, size_t n, struct cg_seen *seen)
{
	const char *p = l, *end = l + n, *f[5], *fs, *src, *sup, *x;
	size_t fl[5], fsl, srcl, supl, xl, i;
	char mnt[CG_MNT_MAX], root[CG_MNT_MAX], dir[CG_MNT_MAX];

	for (i = 0; i < 5; i++)
		if (!cg_field(&p, end, &f[i], &fl[i]))
			return;
	/* Optional fields ("shared:4") until "-", then fs, source, options. */
	do {
		if (!cg_field(&p, end, &x, &xl))
			return;
	} while (!cg_eq(x, xl, "-"));
	if (!cg_field(&p, end, &fs, &fsl) ||
	    !cg_field(&p, end, &src, &srcl) ||
	    !cg_field(&p, end, &sup, &supl))
		return;
	if (cg_unescape(f[3], fl[3], root, sizeof(root)) < 0 ||
	    cg_unescape(f[4], fl[4], mnt, sizeof(mnt)) < 0 ||
	    cg_map_mount(mnt, dir, sizeof(dir)) < 0)
		return;
	if (cg_eq(fs, fsl, "cgroup2")) {
		if (strcmp(mnt, CG_SYSROOT) == 0)
			seen->s_v2root = true;
		else if (strcmp(mnt, CG_SYSROOT "/unified") == 0)
			seen->s_v2unified = true;
		return;
	}
	if (!cg_eq(fs, fsl, "cgroup"))
		return;
	if (seen->s_v1dirs && seen->s_nv1 < seen->s_v1cap) {
		for (i = 0; i < seen->s_nv1; i++)
			if (strcmp(seen->s_v1dirs[i], dir) == 0)
				break;
		if (i == seen->s_nv1)
			memcpy(seen->s_v1dirs[seen->s_nv1++], dir, sizeof(dir));
	}
	/* Super options: "rw,cpu,cpuacct" or "rw,name=systemd". */
	for (p = sup, end = sup + supl; p < end;) {
		const char *o = p, *c = memchr(p, ',', (size_t)(end - p));
		size_t ol = c ? (size_t)(c - o) : (size_t)(end - o);

		p = c ? c + 1 : end;
		for (i = 0; i < CGC_MAX; i++) {
			if (!cg_eq(o, ol, cg_names[i]) || cg_v1[i].m_ok)
				continue;
			/* The first mount wins (getCgroupDestination). */
			cg_v1[i].m_ok = true;
			cg_v1[i].m_dir = cg_mstr_put(dir);
			cg_v1[i].m_root = cg_mstr_put(root);
		}
	}
}

/*
 * Read the mount table a chunk at a time (a node with many pods has a
 * long one), handing each complete line to cg_mountinfo_line.  Lines
 * longer than the buffer are skipped.
 */
NS_IDLE static int
cg_read_mountinfo(const char *path, struct cg_seen *seen)
{
	size_t have = 0, skip = 0;
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		char *p, *nl;

		n = read(fd, cg_buf + have, CG_FILE_MAX - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		p = cg_buf;
		while ((nl = memchr(p, '\n', have - (size_t)(p - cg_buf)))) {
			if (!skip)
				cg_mountinfo_line(p, (size_t)(nl - p), seen);
			skip = 0;
			p = nl + 1;
		}
		have -= (size_t)(p - cg_buf);
		memmove(cg_buf, p, have);
		if (have == CG_FILE_MAX) {
			have = 0;
			skip = 1;
		}
	}
	e = n < 0 ? -errno : 0;
	if (have > 0 && !skip)
		cg_mountinfo_line(cg_buf, have, seen);
	close(fd);
	return e;
}

/*
 * "hugepages-2048kB" -> "2MB", as Go's hugePageSizes does with
 * units.RAMInBytes and units.CustomSize("%g%s", size, 1024, B..PB).
 */
NS_IDLE static int
cg_huge_name(const char *dname, char *dst, size_t cap)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB",
		"PB" };
	const char *s = strchr(dname, '-'), *u;
	uint64_t num, mul = 1;
	uint64_t v;
	unsigned i;
	int n;

	if (s == NULL)
		return -EINVAL;
	for (u = ++s; *u >= '0' && *u <= '9'; u++)
		;
	if (!cg_parse_u64(s, (size_t)(u - s), &num))
		return -EINVAL;
	switch (*u >= 'A' && *u <= 'Z' ? *u - 'A' + 'a' : *u) {
	case 'k':
		mul = 1ull << 10;
		break;
	case 'm':
		mul = 1ull << 20;
		break;
	case 'g':
		mul = 1ull << 30;
		break;
	case 't':
		mul = 1ull << 40;
		break;
	case 'p':
		mul = 1ull << 50;
		break;
	case 'b':
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	/*
	 * Go prints the size with %g; page sizes are powers of two, so whole
	 * numbers suffice and no floating point is needed (fmt.c has none).
	 */
	v = num * mul;
	for (i = 0; v >= 1024 && v % 1024 == 0 &&
	    i + 1 < sizeof(units) / sizeof(units[0]); i++)
		v /= 1024;
	n = snprintf(dst, cap, "%llu%s", (unsigned long long)v, units[i]);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

struct cg_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* List the huge page sizes once (Go: ReadDir, so sorted by name). */
NS_IDLE static void
cg_read_hugepages(void)
{
	char (*names)[64] = scratch_alloc(sizeof(*names) * CG_HUGE_MAX);
	char *dents = scratch_alloc(4096);
	uint32_t n = 0, i, j;
	long got;
	int fd;

	cg_nhuge = 0;
	fd = open(cg_hugepages_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	while ((got = syscall(SYS_getdents64, fd, dents, 4096)) > 0) {
		for (long off = 0; off < got;) {
			struct cg_dirent64 *d = (void *)(dents + off);

			off += d->d_reclen;
			if (strncmp(d->d_name, "hugepages-", 10) != 0 ||
			    n == CG_HUGE_MAX ||
			    strlen(d->d_name) >= sizeof(names[0]))
				continue;
			strcpy(names[n++], d->d_name);
		}
	}
	close(fd);
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char t[sizeof(names[0])];

			memcpy(t, names[j], sizeof(t));
			memcpy(names[j], names[j - 1], sizeof(t));
			memcpy(names[j - 1], t, sizeof(t));
		}
	}
	for (i = 0; i < n; i++)
		if (cg_huge_name(names[i], cg_huge[cg_nhuge],
		    sizeof(cg_huge[0])) == 0)
			cg_nhuge++;
}

NS_IDLE static bool
cg_is_cgroup2(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 &&
	    (uint32_t)st.f_type == CG_CGROUP2_MAGIC;
}

/*
 * by_table: also believe the mount table about cgroup2 mounts.  A test's
 * fixture directory can never be a cgroup2 mount, so cgroup_init_at
 * takes the mode from its table; cgroup_init asks statfs, as Go does.
 */
NS_IDLE static void
cg_setup(const char *root, const char *mountinfo, bool by_table)
{
	struct cg_seen seen = { false, false, NULL, 0, 0 };
	struct statfs st;
	char uni[CG_MNT_MAX];
	int n;

	memset(cg_v1, 0, sizeof(cg_v1));
	cg_mstr_used = cg_mstr_big_used = 0;
	cg_v2dir[0] = '\0';
	cg_mountinfo_path = mountinfo;
	n = snprintf(cg_root, sizeof(cg_root), "%s", root);
	if (n < 0 || (size_t)n >= sizeof(cg_root))
		fatalx("cgroup root too long: %s", root);
	n = snprintf(uni, sizeof(uni), "%s/unified", cg_root);
	if (n < 0 || (size_t)n >= sizeof(uni))
		fatalx("cgroup root too long: %s", root);
	if (cg_read_mountinfo(mountinfo, &seen) < 0)
		log_warn("cgroup: read %s", mountinfo);
	cg_read_hugepages();

	if (statfs(cg_root, &st) < 0) {
		cg_mode_now = CG_UNAVAILABLE;
	} else if (cg_is_cgroup2(cg_root) || (by_table && seen.s_v2root)) {
		cg_mode_now = CG_UNIFIED;
		memcpy(cg_v2dir, cg_root, sizeof(cg_v2dir));
	} else if (cg_is_cgroup2(uni) || (by_table && seen.s_v2unified)) {
		cg_mode_now = CG_HYBRID;
		memcpy(cg_v2dir, uni, sizeof(cg_v2dir));
	} else {
		cg_mode_now = CG_LEGACY;
	}
}

NS_IDLE void
cgroup_init(void)
{
	size_t mark = scratch_mark();

	cg_scratch();
	cg_setup(CG_SYSROOT, "/proc/self/mountinfo", false);
	scratch_back(mark);
}

void
cgroup_init_at(const char *root, const char *mountinfo)
{
	size_t mark = scratch_mark();

	cg_scratch();
	cg_setup(root, mountinfo, true);
	scratch_back(mark);
}

void
cgroup_set_host_paths(const char *hugepages, const char *partitions)
{
	cg_hugepages_dir = hugepages ? hugepages : "/sys/kernel/mm/hugepages";
	cg_partitions = partitions ? partitions : "/proc/partitions";
}

/* Write pid into dir/path/cgroup.procs; 0 or -errno. */
static int
cg_add_proc(const char *dir, const char *path, const char *pid)
{
	char *procs = scratch_printf("%s/%s/cgroup.procs", dir, path);
	ssize_t w;
	int fd, e = 0;

	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w = write(fd, pid, strlen(pid));
	if (w < 0)
		e = -errno;
	close(fd);
	return e;
}

static bool
cg_dir_exists(const char *dir, const char *path)
{
	struct stat st;

	return lstat(scratch_printf("%s/%s", dir, path), &st) == 0;
}

int
cgroup_join(const char *path, pid_t pid, char *err, size_t cap)
{
	size_t mark = scratch_mark();
	struct cg_seen seen = { false, false, NULL, 0, 32 };
	char num[24];
	unsigned i, active = 0;
	int e = 0;

	snprintf(num, sizeof(num), "%d", (int)pid);
	if (cg_mode_now == CG_UNIFIED) {
		e = cg_add_proc(cg_v2dir, path, num);
		if (e < 0)
			snprintf(err, cap, "failed to join cgroup %s: write "
			    "%s/%s/cgroup.procs: %s", path, cg_v2dir,
			    path + strspn(path, "/"), strerror(-e));
		goto out;
	}
	/*
	 * cgroup v1 (hybrid too, as containerd's cgroups.Mode() != Unified):
	 * every hierarchy where the cgroup exists, the named ones included;
	 * where it does not, that hierarchy is left out (cgroups' Load).
	 */
	cg_scratch();
	seen.s_v1dirs = scratch_alloc(sizeof(*seen.s_v1dirs) * seen.s_v1cap);
	e = cg_read_mountinfo(cg_mountinfo_path, &seen);
	if (e < 0) {
		snprintf(err, cap, "failed to load cgroup %s: %s", path,
		    strerror(-e));
		goto out;
	}
	for (i = 0; i < seen.s_nv1; i++) {
		if (!cg_dir_exists(seen.s_v1dirs[i], path))
			continue;
		active++;
		e = cg_add_proc(seen.s_v1dirs[i], path, num);
		if (e < 0) {
			snprintf(err, cap, "failed to join cgroup %s: write "
			    "%s/%s/cgroup.procs: %s", path, seen.s_v1dirs[i],
			    path + strspn(path, "/"), strerror(-e));
			goto out;
		}
	}
	if (active == 0) {
		snprintf(err, cap, "failed to load cgroup %s: cgroup deleted",
		    path);
		e = -ENOENT;
	}
out:
	scratch_back(mark);
	return e;
}

NS_IDLE enum cg_mode
cgroup_mode(void)
{
	return cg_mode_now;
}

/* --- /proc/<pid>/cgroup ------------------------------------------------ */

/*
 * Store path p, made relative to the cgroup mounted at the hierarchy's
 * mount point (paths.go existingPath: a nested cgroup namespace mounts a
 * sub-tree).  A path outside the mounted sub-tree is kept as it is.
 */
static int
cg_store(char *dst, size_t cap, const char *p, size_t n, const char *root)
{
	size_t rl = strlen(root);

	if (n == 0 || p[0] != '/')
		return -EINVAL;
	if (rl > 1 && n >= rl && memcmp(p, root, rl) == 0) {
		if (n == rl) {
			p = "/";
			n = 1;
		} else if (p[rl] == '/') {
			p += rl;
			n -= rl;
		}
	}
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

int
cgroup_parse_procfile(const char *text, size_t len, struct cgroup_ref *ref)
{
	const char *p = text, *end = text + len, *l;
	size_t ln;
	bool found = false;
	int e;

	memset(ref, 0, sizeof(*ref));
	if (cg_mode_now == CG_UNAVAILABLE)
		return -ENOENT;
	while (cg_line(&p, end, &l, &ln)) {
		const char *c1, *c2, *ctls, *path, *q, *qe;
		size_t cl, pl, i;

		if (ln == 0)
			continue;
		c1 = memchr(l, ':', ln);
		c2 = c1 ? memchr(c1 + 1, ':', ln - (size_t)(c1 + 1 - l)) : NULL;
		if (c2 == NULL)
			return -EINVAL;	/* "invalid cgroup entry" */
		ctls = c1 + 1;
		cl = (size_t)(c2 - ctls);
		path = c2 + 1;
		pl = ln - (size_t)(path - l);
		if (cg_mode_now == CG_UNIFIED) {
			/* v2 parseCgroupFromReader: the "0::<path>" line. */
			if (cl != 0 || c1 - l != 1 || l[0] != '0')
				continue;
			e = cg_store(ref->cr_path[0], sizeof(ref->cr_path[0]),
			    path, pl, "/");
			if (e < 0)
				return e;
			found = true;
			break;
		}
		/* v1: "4:memory:/x", "1:cpu,cpuacct:/x", "9:name=systemd:/". */
		for (q = ctls, qe = ctls + cl; q < qe;) {
			const char *o = q, *c;
			size_t ol;

			c = memchr(q, ',', (size_t)(qe - q));
			ol = c ? (size_t)(c - o) : (size_t)(qe - o);
			q = c ? c + 1 : qe;
			for (i = 0; i < CGC_MAX; i++) {
				if (!cg_eq(o, ol, cg_names[i]))
					continue;
				e = cg_store(ref->cr_path[i],
				    sizeof(ref->cr_path[i]), path, pl,
				    cg_v1[i].m_ok ? cg_v1[i].m_root : "/");
				if (e < 0)
					return e;
				found = true;
			}
		}
	}
	if (!found) {
		memset(ref, 0, sizeof(*ref));
		return -ENOENT;
	}
	ref->cr_valid = true;
	return 0;
}

static int
cgroup_locate_in(pid_t pid, struct cgroup_ref *ref)
{
	char path[64];
	ssize_t n;

	memset(ref, 0, sizeof(*ref));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	n = cg_read(AT_FDCWD, path, cg_buf, CG_FILE_MAX);
	if (n < 0)
		return (int)n;
	if (cg_truncated)
		return -E2BIG;
	return cgroup_parse_procfile(cg_buf, (size_t)n, ref);
}

int
cgroup_dir(const struct cgroup_ref *ref, enum cg_ctl ctl, char *dst,
    size_t cap)
{
	const char *base, *rel;
	int n;

	if (!ref->cr_valid || (unsigned)ctl >= CGC_MAX)
		return -ENOENT;
	if (cg_mode_now == CG_UNIFIED) {
		base = cg_v2dir;
		rel = ref->cr_path[0];
	} else if (cg_mode_now == CG_LEGACY || cg_mode_now == CG_HYBRID) {
		if (!cg_v1[ctl].m_ok)
			return -ENOENT;
		base = cg_v1[ctl].m_dir;
		rel = ref->cr_path[ctl];
	} else {
		return -ENOENT;
	}
	if (rel[0] == '\0')
		return -ENOENT;
	if (strcmp(rel, "/") == 0)
		rel = "";
	n = snprintf(dst, cap, "%s%s", base, rel);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* --- v1 readers ---------------------------------------------------------- */

#define M1(f)	offsetof(io_containerd_cgroups_v1_MemoryStat, f)
static const struct cg_key cg_v1_memstat[] = {
	{ "cache", M1(cache) },
	{ "rss", M1(rss) },
	{ "rss_huge", M1(rss_huge) },
	{ "mapped_file", M1(mapped_file) },
	{ "dirty", M1(dirty) },
	{ "writeback", M1(writeback) },
	{ "pgpgin", M1(pg_pg_in) },
	{ "pgpgout", M1(pg_pg_out) },
	{ "pgfault", M1(pg_fault) },
	{ "pgmajfault", M1(pg_maj_fault) },
	{ "inactive_anon", M1(inactive_anon) },
	{ "active_anon", M1(active_anon) },
	{ "inactive_file", M1(inactive_file) },
	{ "active_file", M1(active_file) },
	{ "unevictable", M1(unevictable) },
	{ "hierarchical_memory_limit", M1(hierarchical_memory_limit) },
	{ "hierarchical_memsw_limit", M1(hierarchical_swap_limit) },
	{ "total_cache", M1(total_cache) },
	{ "total_rss", M1(total_rss) },
	{ "total_rss_huge", M1(total_rss_huge) },
	{ "total_mapped_file", M1(total_mapped_file) },
	{ "total_dirty", M1(total_dirty) },
	{ "total_writeback", M1(total_writeback) },
	{ "total_pgpgin", M1(total_pg_pg_in) },
	{ "total_pgpgout", M1(total_pg_pg_out) },
	{ "total_pgfault", M1(total_pg_fault) },
	{ "total_pgmajfault", M1(total_pg_maj_fault) },
	{ "total_inactive_anon", M1(total_inactive_anon) },
	{ "total_active_anon", M1(total_active_anon) },
	{ "total_inactive_file", M1(total_inactive_file) },
	{ "total_active_file", M1(total_active_file) },
	{ "total_unevictable", M1(total_unevictable) },
};
#undef M1

#define OC(f)	offsetof(io_containerd_cgroups_v1_MemoryOomControl, f)
static const struct cg_key cg_v1_oomctl[] = {
	{ "oom_kill_disable", OC(oom_kill_disable) },
	{ "under_oom", OC(under_oom) },
	{ "oom_kill", OC(oom_kill) },
};
#undef OC

#define TH(f)	offsetof(io_containerd_cgroups_v1_Throttle, f)
static const struct cg_key cg_v1_cpustat[] = {
	{ "nr_periods", TH(periods) },
	{ "nr_throttled", TH(throttled_periods) },
	{ "throttled_time", TH(throttled_time) },
};
#undef TH

struct cg_ticks {
	uint64_t t_user;
	uint64_t t_system;
};

static const struct cg_key cg_v1_ticks[] = {
	{ "user", offsetof(struct cg_ticks, t_user) },
	{ "system", offsetof(struct cg_ticks, t_system) },
};

/* pids.go: both files or nothing; "max" is 0 on v1. */
NS_RARE static void
cg_v1_pids(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	uint64_t cur, max;

	if (cg_read_uint(dfd, "pids.current", &cur) < 0 ||
	    cg_read_max(dfd, "pids.max", 0, &max) < 0)
		return;
	m->has_pids = true;
	m->pids.current = cur;
	m->pids.limit = max;
}

/* cpu.go: throttling from cpu.stat. */
NS_RARE static void
cg_v1_cpu(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	cg_read_kv(dfd, "cpu.stat", cg_v1_cpustat, NELEM(cg_v1_cpustat),
	    &m->cpu.throttling);
}

/* cpuacct.go: usage total, per CPU, and user/system in USER_HZ ticks. */
NS_RARE static void
cg_v1_cpuacct(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	io_containerd_cgroups_v1_CPUUsage *u = &m->cpu.usage;
	struct cg_ticks t = { 0, 0 };
	const char *p, *end, *f;
	uint64_t v;
	size_t fl;
	ssize_t n;

	if (cg_read_kv(dfd, "cpuacct.stat", cg_v1_ticks,
	    NELEM(cg_v1_ticks), &t) >= 0) {
		/* Go: ticks * 1e9 / 100; the same for every value it fits. */
		u->user = t.t_user * (1000000000u / CG_USER_HZ);
		u->kernel = t.t_system * (1000000000u / CG_USER_HZ);
	}
	if (cg_read_uint(dfd, "cpuacct.usage", &v) == 0)
		u->total = v;
	n = cg_read(dfd, "cpuacct.usage_percpu", cg_buf, CG_FILE_MAX);
	if (n < 0)
		return;
	/* One value per possible CPU; past the array's bound they drop. */
	p = cg_buf;
	end = cg_buf + n;
	while (cg_field(&p, end, &f, &fl) && u->per_cpu_count <
	    NELEM(u->per_cpu)) {
		if (!cg_parse_u64(f, fl, &v))
			break;
		u->per_cpu[u->per_cpu_count++] = v;
	}
}

/* memory.go Stat. */
NS_RARE static void
cg_v1_memory(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	io_containerd_cgroups_v1_MemoryStat *ms = &m->memory;
	static const char *const files[] = { "usage_in_bytes",
		"max_usage_in_bytes", "failcnt", "limit_in_bytes" };
	struct {
		const char *pre;
		io_containerd_cgroups_v1_MemoryEntry *e;
	} ents[] = {
		{ "memory.", &ms->usage },
		{ "memory.memsw.", &ms->swap },
		{ "memory.kmem.", &ms->kernel },
		{ "memory.kmem.tcp.", &ms->kernel_tcp },
	};
	char name[64];
	size_t i, j;

	m->has_memory = true;
	ms->has_usage = ms->has_swap = ms->has_kernel = ms->has_kernel_tcp =
	    true;
	cg_read_kv(dfd, "memory.stat", cg_v1_memstat, NELEM(cg_v1_memstat),
	    ms);
	if (cg_read_kv(dfd, "memory.oom_control", cg_v1_oomctl,
	    NELEM(cg_v1_oomctl), &m->memory_oom_control) >= 0)
		m->has_memory_oom_control = true;
	/* Without swap accounting memory.memsw.* are absent: zeros. */
	for (i = 0; i < NELEM(ents); i++) {
		uint64_t *dst[] = { &ents[i].e->usage, &ents[i].e->max,
			&ents[i].e->failcnt, &ents[i].e->limit };

		for (j = 0; j < NELEM(files); j++) {
			snprintf(name, sizeof(name), "%s%s", ents[i].pre,
			    files[j]);
			cg_read_uint(dfd, name, dst[j]);
		}
	}
}

/* /proc/partitions -> "/dev/<name>" by major:minor (blkio.go getDevices). */
NS_RARE static void
cg_read_partitions(void)
{
	const char *p, *end, *l, *lp, *f[4];
	size_t ln, fl[4], i;
	uint64_t maj, min;
	ssize_t n;
	int line = 0;

	cg_nparts = 0;
	n = cg_read(AT_FDCWD, cg_partitions, cg_buf, CG_FILE_MAX);
	if (n < 0)
		return;
	p = cg_buf;
	end = cg_buf + n;
	while (cg_line(&p, end, &l, &ln) && cg_nparts < CG_PARTS_MAX) {
		if (line++ < 2)
			continue;	/* header and blank line */
		lp = l;
		for (i = 0; i < 4; i++)
			if (!cg_field(&lp, l + ln, &f[i], &fl[i]))
				break;
		if (i < 4 || !cg_parse_u64(f[0], fl[0], &maj) ||
		    !cg_parse_u64(f[1], fl[1], &min) || maj > UINT32_MAX ||
		    min > UINT32_MAX || fl[3] + 6 > CG_DEVNAME_MAX)
			continue;
		for (i = 0; i < cg_nparts; i++)
			if (cg_parts[i].p_major == maj &&
			    cg_parts[i].p_minor == min)
				break;
		if (i < cg_nparts)
			continue;
		cg_parts[cg_nparts].p_major = (uint32_t)maj;
		cg_parts[cg_nparts].p_minor = (uint32_t)min;
		memcpy(cg_parts[cg_nparts].p_name, "/dev/", 5);
		memcpy(cg_parts[cg_nparts].p_name + 5, f[3], fl[3]);
		cg_parts[cg_nparts].p_name[5 + fl[3]] = '\0';
		cg_nparts++;
	}
}

NS_RARE static const char *
cg_devname(uint64_t maj, uint64_t min)
{
	uint32_t i;

	for (i = 0; i < cg_nparts; i++)
		if (cg_parts[i].p_major == maj && cg_parts[i].p_minor == min)
			return cg_parts[i].p_name;
	return "";
}

/* Op names live past the read buffer: the usual ones are constants. */
NS_RARE static const char *
cg_opname(const char *s, size_t n)
{
	static const char *const known[] = { "Read", "Write", "Sync",
		"Async", "Discard", "Total" };
	uint32_t i;

	for (i = 0; i < NELEM(known); i++)
		if (cg_eq(s, n, known[i]))
			return known[i];
	for (i = 0; i < cg_nops; i++)
		if (cg_eq(s, n, cg_ops[i]))
			return cg_ops[i];
	if (cg_nops == CG_OPS_MAX || n >= CG_OPNAME_MAX)
		return "";
	memcpy(cg_ops[cg_nops], s, n);
	cg_ops[cg_nops][n] = '\0';
	return cg_ops[cg_nops++];
}

/*
 * blkio.<name>: "maj:min op value" or "maj:min value" lines, split at
 * spaces and colons (readEntry); the closing "Total N" is skipped.
 */
NS_RARE static void
cg_v1_blkio_file(int dfd, const char *name,
    io_containerd_cgroups_v1_BlkIOEntry *arr, pb_size_t *count, size_t cap)
{
	const char *p, *end, *l;
	char file[64];
	size_t ln;
	ssize_t n;

	snprintf(file, sizeof(file), "blkio.%s", name);
	n = cg_read(dfd, file, cg_buf, CG_FILE_MAX);
	if (n < 0)
		return;
	p = cg_buf;
	end = cg_buf + n;
	while (cg_line(&p, end, &l, &ln) && *count < cap) {
		const char *f[5], *q = l, *qe = l + ln;
		size_t fl[5], nf = 0;
		uint64_t maj, min, v;
		io_containerd_cgroups_v1_BlkIOEntry *e;

		while (nf < 5 && q < qe) {
			while (q < qe && (*q == ' ' || *q == ':'))
				q++;
			if (q == qe)
				break;
			f[nf] = q;
			while (q < qe && *q != ' ' && *q != ':')
				q++;
			fl[nf] = (size_t)(q - f[nf]);
			nf++;
		}
		if (nf < 3 || nf > 4)
			continue;
		if (!cg_parse_u64(f[0], fl[0], &maj) ||
		    !cg_parse_u64(f[1], fl[1], &min) ||
		    !cg_parse_u64(f[nf - 1], fl[nf - 1], &v))
			continue;
		e = &arr[(*count)++];
		e->major = maj;
		e->minor = min;
		e->value = v;
		if (nf == 4)
			pbs_setstr(&e->op, cg_opname(f[2], fl[2]));
		pbs_setstr(&e->device, cg_devname(maj, min));
	}
}

#define BLK(list)	b->list, &b->list##_count, NELEM(b->list)

/* blkio.go Stat: the CFQ-era *_recursive files, else throttle.*. */
NS_RARE static void
cg_v1_blkio(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	io_containerd_cgroups_v1_BlkIOStat *b = &m->blkio;
	struct stat st;

	m->has_blkio = true;
	cg_nops = 0;
	cg_read_partitions();
	if (fstatat(dfd, "blkio.io_serviced_recursive", &st,
	    AT_SYMLINK_NOFOLLOW) == 0) {
		cg_v1_blkio_file(dfd, "sectors_recursive",
		    BLK(sectors_recursive));
		cg_v1_blkio_file(dfd, "io_service_bytes_recursive",
		    BLK(io_service_bytes_recursive));
		cg_v1_blkio_file(dfd, "io_serviced_recursive",
		    BLK(io_serviced_recursive));
		cg_v1_blkio_file(dfd, "io_queued_recursive",
		    BLK(io_queued_recursive));
		cg_v1_blkio_file(dfd, "io_service_time_recursive",
		    BLK(io_service_time_recursive));
		cg_v1_blkio_file(dfd, "io_wait_time_recursive",
		    BLK(io_wait_time_recursive));
		cg_v1_blkio_file(dfd, "io_merged_recursive",
		    BLK(io_merged_recursive));
		cg_v1_blkio_file(dfd, "time_recursive", BLK(io_time_recursive));
	}
	if (b->sectors_recursive_count + b->io_service_bytes_recursive_count +
	    b->io_serviced_recursive_count + b->io_queued_recursive_count +
	    b->io_service_time_recursive_count +
	    b->io_wait_time_recursive_count + b->io_merged_recursive_count +
	    b->io_time_recursive_count > 0)
		return;
	/* Go reads the non-recursive throttle files here. */
	cg_v1_blkio_file(dfd, "throttle.io_serviced",
	    BLK(io_serviced_recursive));
	cg_v1_blkio_file(dfd, "throttle.io_service_bytes",
	    BLK(io_service_bytes_recursive));
}

#undef BLK

/* hugetlb.go: one entry per page size, in the order Go lists them. */
NS_RARE static void
cg_v1_hugetlb(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	char name[64];
	uint32_t i;

	for (i = 0; i < cg_nhuge && m->hugetlb_count < NELEM(m->hugetlb);
	    i++) {
		io_containerd_cgroups_v1_HugetlbStat *h =
		    &m->hugetlb[m->hugetlb_count];

		snprintf(name, sizeof(name), "hugetlb.%s.usage_in_bytes",
		    cg_huge[i]);
		if (cg_read_uint(dfd, name, &h->usage) < 0)
			continue;
		snprintf(name, sizeof(name), "hugetlb.%s.max_usage_in_bytes",
		    cg_huge[i]);
		cg_read_uint(dfd, name, &h->max);
		snprintf(name, sizeof(name), "hugetlb.%s.failcnt", cg_huge[i]);
		cg_read_uint(dfd, name, &h->failcnt);
		pbs_setstr(&h->pagesize, cg_huge[i]);
		m->hugetlb_count++;
	}
}

/* One rdma line: "mlx5_0 hca_handle=2 hca_object=2000" (toRdmaEntry). */
struct cg_rdma {
	const char *r_dev;
	size_t r_devlen;
	uint32_t r_handles;
	uint32_t r_objects;
};

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
NS_RARE static size_t
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

NS_RARE static size_t
cg_count_lines(const char *s, size_t n)
{
	size_t c = 1;

	while (n-- > 0)
		if (*s++ == '\n')
			c++;
	return c;
}

/*
 * The two rdma files into their own buffers (entries point at device
 * names in them).  Returns 0 when both were read, or -errno.
 */
NS_RARE static int
cg_rdma_read(int dfd, ssize_t *nc, ssize_t *nl)
{
	*nc = cg_read(dfd, "rdma.current", cg_rdma_cur, sizeof(cg_rdma_cur));
	*nl = cg_read(dfd, "rdma.max", cg_rdma_lim, sizeof(cg_rdma_lim));
	return *nc < 0 ? (int)*nc : *nl < 0 ? (int)*nl : 0;
}

/* v1 and v2 RdmaEntry are the same shape but not the same type. */
#define CG_RDMA_FILL(arr, count, buf, n) do {				\
	struct cg_rdma r_[NELEM(arr)];					\
	size_t k_ = cg_rdma_parse((buf), (n), r_, NELEM(arr)), i_;	\
									\
	for (i_ = 0; i_ < k_; i_++) {					\
		pbs_set(&(arr)[i_].device, r_[i_].r_dev,		\
		    r_[i_].r_devlen);					\
		(arr)[i_].hca_handles = r_[i_].r_handles;		\
		(arr)[i_].hca_objects = r_[i_].r_objects;		\
	}								\
	(count) = (pb_size_t)k_;					\
} while (0)

/* rdma.go: both files, with as many lines each, or nothing. */
NS_RARE static void
cg_v1_rdma(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	io_containerd_cgroups_v1_RdmaStat *rs = &m->rdma;
	ssize_t nc, nl;

	if (cg_rdma_read(dfd, &nc, &nl) < 0 ||
	    cg_count_lines(cg_rdma_cur, (size_t)nc) !=
	    cg_count_lines(cg_rdma_lim, (size_t)nl))
		return;
	m->has_rdma = true;
	CG_RDMA_FILL(rs->current, rs->current_count, cg_rdma_cur, nc);
	CG_RDMA_FILL(rs->limit, rs->limit_count, cg_rdma_lim, nl);
}

NS_RARE static int
cg_metrics_v1(const struct cgroup_ref *ref)
{
	static const struct {
		enum cg_ctl ctl;
		void (*fn)(int, io_containerd_cgroups_v1_Metrics *);
	} staters[] = {
		{ CGC_HUGETLB, cg_v1_hugetlb },
		{ CGC_PIDS, cg_v1_pids },
		{ CGC_CPU, cg_v1_cpu },
		{ CGC_CPUACCT, cg_v1_cpuacct },
		{ CGC_MEMORY, cg_v1_memory },
		{ CGC_BLKIO, cg_v1_blkio },
		{ CGC_RDMA, cg_v1_rdma },
	};
	io_containerd_cgroups_v1_Metrics *m = &cg_m1;
	unsigned found = 0;
	size_t i;
	int dfd;

	memset(m, 0, sizeof(*m));
	/* cgroup.go Stat: the cpu message is always there. */
	m->has_cpu = m->cpu.has_usage = m->cpu.has_throttling = true;
	for (i = 0; i < NELEM(staters); i++) {
		dfd = cg_open(ref, staters[i].ctl);
		if (dfd < 0)
			continue;
		found++;
		staters[i].fn(dfd, m);
		close(dfd);
	}
	return found > 0 ? 0 : -ENOENT;
}

/* --- v2 ------------------------------------------------------------------ */

#define C2(f)	offsetof(io_containerd_cgroups_v2_CPUStat, f)
static const struct cg_key cg_v2_cpustat[] = {
	{ "usage_usec", C2(usage_usec) },
	{ "user_usec", C2(user_usec) },
	{ "system_usec", C2(system_usec) },
	{ "nr_periods", C2(nr_periods) },
	{ "nr_throttled", C2(nr_throttled) },
	{ "throttled_usec", C2(throttled_usec) },
};
#undef C2

/* The keys manager.go maps; others (kernel, zswap, ...) are dropped. */
#define M2(f)	offsetof(io_containerd_cgroups_v2_MemoryStat, f)
static const struct cg_key cg_v2_memstat[] = {
	{ "anon", M2(anon) },
	{ "file", M2(file) },
	{ "kernel_stack", M2(kernel_stack) },
	{ "slab", M2(slab) },
	{ "sock", M2(sock) },
	{ "shmem", M2(shmem) },
	{ "file_mapped", M2(file_mapped) },
	{ "file_dirty", M2(file_dirty) },
	{ "file_writeback", M2(file_writeback) },
	{ "anon_thp", M2(anon_thp) },
	{ "inactive_anon", M2(inactive_anon) },
	{ "active_anon", M2(active_anon) },
	{ "inactive_file", M2(inactive_file) },
	{ "active_file", M2(active_file) },
	{ "unevictable", M2(unevictable) },
	{ "slab_reclaimable", M2(slab_reclaimable) },
	{ "slab_unreclaimable", M2(slab_unreclaimable) },
	{ "pgfault", M2(pgfault) },
	{ "pgmajfault", M2(pgmajfault) },
	{ "workingset_refault", M2(workingset_refault) },
	{ "workingset_activate", M2(workingset_activate) },
	{ "workingset_nodereclaim", M2(workingset_nodereclaim) },
	{ "pgrefill", M2(pgrefill) },
	{ "pgscan", M2(pgscan) },
	{ "pgsteal", M2(pgsteal) },
	{ "pgactivate", M2(pgactivate) },
	{ "pgdeactivate", M2(pgdeactivate) },
	{ "pglazyfree", M2(pglazyfree) },
	{ "pglazyfreed", M2(pglazyfreed) },
	{ "thp_fault_alloc", M2(thp_fault_alloc) },
	{ "thp_collapse_alloc", M2(thp_collapse_alloc) },
};
#undef M2

#define EV(f)	offsetof(io_containerd_cgroups_v2_MemoryEvents, f)
static const struct cg_key cg_v2_events[] = {
	{ "low", EV(low) },
	{ "high", EV(high) },
	{ "max", EV(max) },
	{ "oom", EV(oom) },
	{ "oom_kill", EV(oom_kill) },
};
#undef EV

/* Is word w one of the space-separated words of list? */
NS_RARE static bool
cg_has_word(const char *list, size_t n, const char *w)
{
	const char *p = list, *end = list + n, *f;
	size_t fl;

	while (cg_field(&p, end, &f, &fl))
		if (cg_eq(f, fl, w))
			return true;
	return false;
}

/*
 * A decimal "123.45" as the nearest double, without strtod: the kernel
 * prints PSI averages with two decimals, and digits/10^k is one correctly
 * rounded division of exact values, so this is what Go's ParseFloat gives.
 * False for anything else (signs, exponents, more than 15 digits).
 */
static bool
cg_parse_decimal(const char *s, size_t n, double *v)
{
	uint64_t digits = 0, scale = 1;
	size_t i, nd = 0;
	bool dot = false;

	for (i = 0; i < n; i++) {
		if (s[i] == '.' && !dot) {
			dot = true;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || ++nd > 15)
			return false;
		digits = digits * 10 + (uint64_t)(s[i] - '0');
		if (dot)
			scale *= 10;
	}
	if (nd == 0)
		return false;
	*v = (double)digits / (double)scale;
	return true;
}

/*
 * cgroups v3 getStatPSIFromFile: <controller>.pressure holds a "some" and
 * (but for cpu on older kernels) a "full" line of avg10= avg60= avg300=
 * total=.  Without the file (no PSI in the kernel: EOPNOTSUPP) or with a
 * value that does not parse, the field stays unset, as in Go.
 */
static void
cg_v2_psi(int dfd, const char *name, bool *has,
    io_containerd_cgroups_v2_PSIStats *ps)
{
	ssize_t n = cg_read(dfd, name, cg_buf, CG_FILE_MAX);
	const char *p = cg_buf, *end, *l, *f, *eq;
	size_t ln, fl;

	if (n < 0)
		return;
	end = cg_buf + n;
	memset(ps, 0, sizeof(*ps));
	while (cg_line(&p, end, &l, &ln)) {
		const char *le = l + ln;
		io_containerd_cgroups_v2_PSIData *d;

		if (!cg_field(&l, le, &f, &fl))
			continue;
		if (cg_eq(f, fl, "some")) {
			ps->has_some = true;
			d = &ps->some;
		} else if (cg_eq(f, fl, "full")) {
			ps->has_full = true;
			d = &ps->full;
		} else {
			continue;
		}
		while (cg_field(&l, le, &f, &fl)) {
			bool ok = true;

			eq = memchr(f, '=', fl);
			if (eq == NULL)
				return;
			fl -= (size_t)(eq + 1 - f);
			if (eq - f == 5 && memcmp(f, "avg10", 5) == 0)
				ok = cg_parse_decimal(eq + 1, fl, &d->avg10);
			else if (eq - f == 5 && memcmp(f, "avg60", 5) == 0)
				ok = cg_parse_decimal(eq + 1, fl, &d->avg60);
			else if (eq - f == 6 && memcmp(f, "avg300", 6) == 0)
				ok = cg_parse_decimal(eq + 1, fl, &d->avg300);
			else if (eq - f == 5 && memcmp(f, "total", 5) == 0)
				ok = cg_parse_u64(eq + 1, fl, &d->total);
			if (!ok)
				return;
		}
	}
	*has = true;
}

/* v2/utils.go readIoStats: "maj:min rbytes=.. wbytes=.. rios=.. wios=..". */
NS_RARE static void
cg_v2_io(int dfd, io_containerd_cgroups_v2_Metrics *m)
{
	const char *p, *end, *l;
	size_t ln;
	ssize_t n;

	n = cg_read(dfd, "io.stat", cg_buf, CG_FILE_MAX);
	if (n < 0)
		return;
	p = cg_buf;
	end = cg_buf + n;
	while (cg_line(&p, end, &l, &ln) &&
	    m->io.usage_count < NELEM(m->io.usage)) {
		const char *q = l, *qe = l + ln, *sp, *colon, *kv;
		io_containerd_cgroups_v2_IOEntry *e;
		uint64_t maj, min, v;

		/* Go splits at single spaces; a line needs two parts. */
		sp = memchr(q, ' ', ln);
		if (sp == NULL)
			continue;
		colon = memchr(q, ':', (size_t)(sp - q));
		if (colon == NULL || memchr(colon + 1, ':', (size_t)(sp -
		    colon - 1)))
			continue;
		if (!cg_parse_u64(q, (size_t)(colon - q), &maj) ||
		    !cg_parse_u64(colon + 1, (size_t)(sp - colon - 1), &min))
			return;	/* Go gives up on the whole file */
		e = &m->io.usage[m->io.usage_count++];
		e->major = maj;
		e->minor = min;
		for (q = sp + 1; q < qe; q = kv < qe ? kv + 1 : qe) {
			const char *eq;
			size_t kl;

			kv = memchr(q, ' ', (size_t)(qe - q));
			if (kv == NULL)
				kv = qe;
			eq = memchr(q, '=', (size_t)(kv - q));
			if (eq == NULL || memchr(eq + 1, '=', (size_t)(kv -
			    eq - 1)) ||
			    !cg_parse_u64(eq + 1, (size_t)(kv - eq - 1), &v))
				continue;
			kl = (size_t)(eq - q);
			if (cg_eq(q, kl, "rbytes"))
				e->rbytes = v;
			else if (cg_eq(q, kl, "wbytes"))
				e->wbytes = v;
			else if (cg_eq(q, kl, "rios"))
				e->rios = v;
			else if (cg_eq(q, kl, "wios"))
				e->wios = v;
		}
	}
}

/* v2/utils.go readHugeTlbStats, over the page sizes found at startup. */
NS_RARE static void
cg_v2_hugetlb(int dfd, io_containerd_cgroups_v2_Metrics *m)
{
	static const char *const sfx[] = { "current", "max" };
	char name[64];
	uint32_t i, j;

	for (i = 0; i < cg_nhuge && m->hugetlb_count < NELEM(m->hugetlb);
	    i++) {
		io_containerd_cgroups_v2_HugeTlbStat *h =
		    &m->hugetlb[m->hugetlb_count];
		uint64_t *dst[] = { &h->current, &h->max };
		bool any = false;

		for (j = 0; j < NELEM(sfx); j++) {
			const char *s = cg_buf;
			ssize_t n;
			size_t len;

			snprintf(name, sizeof(name), "hugetlb.%s.%s",
			    cg_huge[i], sfx[j]);
			n = cg_read(dfd, name, cg_buf, CG_FILE_MAX);
			if (n < 0)
				continue;
			len = (size_t)n;
			cg_trim(&s, &len);
			if (cg_eq(s, len, "max"))
				*dst[j] = UINT64_MAX;
			else if (!cg_parse_u64(s, len, dst[j]))
				continue;
			any = true;
		}
		if (!any)
			continue;
		pbs_setstr(&h->pagesize, cg_huge[i]);
		m->hugetlb_count++;
	}
}

NS_RARE static int
cg_metrics_v2(const struct cgroup_ref *ref)
{
	io_containerd_cgroups_v2_Metrics *m = &cg_m2;
	io_containerd_cgroups_v2_RdmaStat *rs = &m->rdma;
	NS_COLD static char ctls[1024];
	ssize_t nctl, nc, nl;
	int dfd;

	memset(m, 0, sizeof(*m));
	dfd = cg_open(ref, 0);
	if (dfd < 0)
		return dfd;
	/* manager.go Stat fails when cgroup.controllers cannot be read. */
	nctl = cg_read(dfd, "cgroup.controllers", ctls, sizeof(ctls));
	if (nctl < 0) {
		close(dfd);
		return (int)nctl;
	}
	m->has_pids = m->has_cpu = m->has_memory = m->has_io = m->has_rdma =
	    true;
	/* Only for enabled controllers: cpu.stat exists without "cpu". */
	if (cg_has_word(ctls, (size_t)nctl, "cpu"))
		cg_read_kv(dfd, "cpu.stat", cg_v2_cpustat,
		    NELEM(cg_v2_cpustat), &m->cpu);
	if (cg_has_word(ctls, (size_t)nctl, "memory"))
		cg_read_kv(dfd, "memory.stat", cg_v2_memstat,
		    NELEM(cg_v2_memstat), &m->memory);
	cg_read_max(dfd, "pids.current", UINT64_MAX, &m->pids.current);
	cg_read_max(dfd, "pids.max", UINT64_MAX, &m->pids.limit);
	cg_read_max(dfd, "memory.current", UINT64_MAX, &m->memory.usage);
	cg_read_max(dfd, "memory.max", UINT64_MAX, &m->memory.usage_limit);
	cg_read_max(dfd, "memory.swap.current", UINT64_MAX,
	    &m->memory.swap_usage);
	cg_read_max(dfd, "memory.swap.max", UINT64_MAX,
	    &m->memory.swap_limit);
	/* What cgroups v3 (containerd 2.x) added: peaks and pressure. */
	cg_read_max(dfd, "memory.peak", UINT64_MAX, &m->memory.max_usage);
	cg_read_max(dfd, "memory.swap.peak", UINT64_MAX,
	    &m->memory.swap_max_usage);
	cg_v2_psi(dfd, "cpu.pressure", &m->cpu.has_psi, &m->cpu.psi);
	cg_v2_psi(dfd, "memory.pressure", &m->memory.has_psi,
	    &m->memory.psi);
	if (cg_read_kv(dfd, "memory.events", cg_v2_events,
	    NELEM(cg_v2_events), &m->memory_events) > 0)
		m->has_memory_events = true;
	cg_v2_io(dfd, m);
	cg_v2_psi(dfd, "io.pressure", &m->io.has_psi, &m->io.psi);
	/* rdmaStats: each file on its own. */
	cg_rdma_read(dfd, &nc, &nl);
	CG_RDMA_FILL(rs->current, rs->current_count, cg_rdma_cur, nc);
	CG_RDMA_FILL(rs->limit, rs->limit_count, cg_rdma_lim, nl);
	cg_v2_hugetlb(dfd, m);
	close(dfd);
	return 0;
}

NS_RARE static int
cgroup_metrics_in(const struct cgroup_ref *ref, const pb_msgdesc_t **fields,
    const void **msg, const char **type_url)
{
	int e;

	if (!ref->cr_valid)
		return -ENOENT;
	switch (cg_mode_now) {
	case CG_UNIFIED:
		e = cg_metrics_v2(ref);
		if (e < 0)
			return e;
		*fields = io_containerd_cgroups_v2_Metrics_fields;
		*msg = &cg_m2;
		*type_url = "io.containerd.cgroups.v2.Metrics";
		return 0;
	case CG_LEGACY:
	case CG_HYBRID:
		e = cg_metrics_v1(ref);
		if (e < 0)
			return e;
		*fields = io_containerd_cgroups_v1_Metrics_fields;
		*msg = &cg_m1;
		*type_url = "io.containerd.cgroups.v1.Metrics";
		return 0;
	default:
		return -ENOENT;
	}
}

/* --- v2 controllers ---------------------------------------------------- */

static void
cg_write_subtree(const char *dir, const char *data, size_t len)
{
	int fd, n;

	n = snprintf(cg_path, NS_PATH_MAX, "%s/cgroup.subtree_control",
	    dir);
	if (n < 0 || (size_t)n >= NS_PATH_MAX)
		return;
	fd = open(cg_path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	/* Errors are ignored: rootless parents give EPERM (v2 manager.go). */
	if (write(fd, data, len) < 0)
		log_debug("cgroup: write %s: %s", cg_path, strerror(errno));
	close(fd);
}

static void
cgroup_enable_controllers_in(const struct cgroup_ref *ref)
{
	char *dir;
	const char *p, *end, *f;
	size_t len = 0, fl, base;
	ssize_t n;
	int fd;

	dir = scratch_alloc(NS_PATH_MAX);

	if (cg_mode_now != CG_UNIFIED || !ref->cr_valid)
		return;
	fd = open(cg_v2dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = cg_read(fd, "cgroup.controllers", cg_buf, CG_FILE_MAX);
	close(fd);
	if (n <= 0)
		return;
	/* "+cpu +memory ..." from the root's cgroup.controllers. */
	for (p = cg_buf, end = cg_buf + n; cg_field(&p, end, &f, &fl);) {
		if (len + fl + 2 >= sizeof(cg_subtree))
			break;
		if (len > 0)
			cg_subtree[len++] = ' ';
		cg_subtree[len++] = '+';
		memcpy(cg_subtree + len, f, fl);
		len += fl;
	}
	if (len == 0)
		return;
	if (cgroup_dir(ref, 0, dir, NS_PATH_MAX) < 0)
		return;
	/* Every ancestor from the root down, not the cgroup itself. */
	base = strlen(cg_v2dir);
	for (size_t i = base; dir[i] != '\0'; i++) {
		if (i != base && dir[i] != '/')
			continue;
		if (i == base) {
			cg_write_subtree(cg_v2dir, cg_subtree, len);
			continue;
		}
		dir[i] = '\0';
		cg_write_subtree(dir, cg_subtree, len);
		dir[i] = '/';
	}
}

int
cgroup_locate(pid_t pid, struct cgroup_ref *ref)
{
	size_t mark = scratch_mark();
	int e;

	cg_scratch();
	e = cgroup_locate_in(pid, ref);
	scratch_back(mark);
	return e;
}

NS_RARE int
cgroup_metrics(const struct cgroup_ref *ref, const pb_msgdesc_t **fields,
    const void **msg, const char **type_url)
{
	size_t mark = scratch_mark();
	int e;

	cg_scratch();
	e = cgroup_metrics_in(ref, fields, msg, type_url);
	scratch_back(mark);
	return e;
}

void
cgroup_enable_controllers(const struct cgroup_ref *ref)
{
	size_t mark = scratch_mark();

	cg_scratch();
	cgroup_enable_controllers_in(ref);
	scratch_back(mark);
}
