/*
 * cgroup - where cgroups are; see cgroup.h.
 *
 * Owns: the mode and the v1 mount table, the huge page sizes (all found
 * once at startup), a process's cgroup from /proc/<pid>/cgroup, joining a
 * cgroup (ShimCgroup), enabling v2 controllers, and cgroup.h's entry
 * points, Stats' among them (cgroup_metrics picks v1 or v2 by mode).
 * Does not own: when Stats is asked or how the reply is encoded (task),
 * OOM notification (oom).
 *
 * The module is four files sharing cgroup_impl.h: this one,
 * cgroup_read.c (the file readers and parsers), cgroup_v1.c and
 * cgroup_v2.c (the Metrics of each).
 *
 * May call: the rest of cgroup (cgroup_impl.h), scratch, log.
 *
 * Mirrors containerd/cgroups as the 1.6 Go shim uses it
 * (runtime/v2/runc/task/service.go Stats): utils.go (Mode,
 * /proc/<pid>/cgroup, mountinfo, hugePageSizes), paths.go (existingPath),
 * v2/manager.go (ToggleControllers).
 *
 * Nothing here allocates.  Files are read with openat + read into static
 * buffers; directories are listed with getdents64, at startup only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "layout.h"
#include "cgroup.h"
#include "cgroup_impl.h"
#include "cgroups/v1/metrics.pb.h"
#include "cgroups/v2/metrics.pb.h"
#include "log.h"
#include "scratch.h"

/* linux/magic.h; not every libc ships the kernel headers. */
#define CG_CGROUP2_MAGIC	0x63677270u

#define CG_SYSROOT	"/sys/fs/cgroup"
#define CG_MNT_MAX	255u		/* a mount point or mount root */

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
char cg_huge[CG_HUGE_MAX][16];	/* "2MB", sorted as Go lists */
uint32_t cg_nhuge;
static const char *cg_hugepages_dir = "/sys/kernel/mm/hugepages";
const char *cg_partitions = "/proc/partitions";
static const char *cg_mountinfo_path = "/proc/self/mountinfo";
static char cg_subtree[4096];
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
