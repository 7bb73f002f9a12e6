/*
 * test_cgroup - unit tests for src/cgroup.c: mode detection, the v1 mount
 * table, /proc/<pid>/cgroup parsing, and every Metrics field (v1 and v2)
 * against the fixture trees of tests/fixtures/cgroup (see its README for
 * which files were captured on a real host and which were synthesized).
 *
 * Runs from tests/unit (the Makefile) or from the top directory.  Build by
 * hand from the top directory:
 *
 * gcc -std=c11 -D_GNU_SOURCE -DPB_BUFFER_ONLY -DNS_NO_ALLOC_GUARD -Wall \
 *   -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
 *   -Wvla -Wframe-larger-than=4096 -Isrc -Igen -Ibuild/nanopb \
 *   -o build/test_cgroup tests/unit/test_cgroup.c src/cgroup.c src/pbs.c \
 *   src/log.c gen/cgroups/v1/metrics.pb.c gen/cgroups/v2/metrics.pb.c \
 *   build/nanopb/pb_*.c -lcmocka && build/test_cgroup
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"
#include "scratch.h"
#include "cgroups/v1/metrics.pb.h"
#include "cgroups/v2/metrics.pb.h"
#include "log.h"
#include "pbs.h"

#include "alloc_count.h"

#define MAXU64	UINT64_MAX
/* v1 "unlimited": PAGE_COUNTER_MAX * 4096 on x86-64 */
#define V1_UNLIMITED	9223372036854771712ull

static char fix[PATH_MAX];	/* absolute tests/fixtures/cgroup */
static char tmpdir[PATH_MAX];
static struct cgroup_ref ref;	/* 4 KiB: kept off the stack */
static char pathbuf[PATH_MAX];

static const char *
fx(const char *rel)
{
	static char bufs[8][PATH_MAX];
	static int i;
	char *b = bufs[i++ % 8];

	assert_true(snprintf(b, PATH_MAX, "%s/%s", fix, rel) < PATH_MAX);
	return b;
}

static const char *
tmp(const char *rel)
{
	static char bufs[8][PATH_MAX];
	static int i;
	char *b = bufs[i++ % 8];

	assert_true(snprintf(b, PATH_MAX, "%s/%s", tmpdir, rel) < PATH_MAX);
	return b;
}

static void
put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static const char *
slurp(const char *path)
{
	static char b[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, b, sizeof(b) - 1);
	assert_true(n >= 0);
	b[n] = '\0';
	close(fd);
	return b;
}

static void
mkdirs(const char *path)
{
	static char b[PATH_MAX];
	char *p;

	snprintf(b, sizeof(b), "%s", path);
	for (p = b + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(b, 0755);
		*p = '/';
	}
	mkdir(b, 0755);
}

static int
group_setup(void **state)
{
	static const char *const cands[] = { "../fixtures/cgroup",
		"tests/fixtures/cgroup" };
	size_t i;

	(void)state;
	log_init(2, LOG_ERROR, "");	/* expected "cannot read" warnings */
	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (realpath(cands[i], fix) != NULL)
			break;
	if (i == sizeof(cands) / sizeof(cands[0]))
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cgroup.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	static char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Fixture host paths (huge page sizes 1GB and 2MB, vda = 254:0). */
static void
init_v1(const char *mountinfo)
{
	cgroup_set_host_paths(fx("hugepages"), fx("partitions"));
	cgroup_init_at(fx("v1"), fx(mountinfo));
}

static void
init_v2(const char *root)
{
	cgroup_set_host_paths(fx("hugepages"), fx("partitions"));
	cgroup_init_at(root, fx("v2-mountinfo"));
}

static void
parse(const char *text)
{
	assert_int_equal(cgroup_parse_procfile(text, strlen(text), &ref), 0);
}

static const io_containerd_cgroups_v1_Metrics *
metrics_v1(void)
{
	const pb_msgdesc_t *fields;
	const void *msg;
	const char *url;

	COUNT_BEGIN();
	assert_int_equal(cgroup_metrics(&ref, &fields, &msg, &url), 0);
	COUNT_END();
	assert_ptr_equal(fields, io_containerd_cgroups_v1_Metrics_fields);
	assert_string_equal(url, "io.containerd.cgroups.v1.Metrics");
	return msg;
}

static const io_containerd_cgroups_v2_Metrics *
metrics_v2(void)
{
	const pb_msgdesc_t *fields;
	const void *msg;
	const char *url;

	COUNT_BEGIN();
	assert_int_equal(cgroup_metrics(&ref, &fields, &msg, &url), 0);
	COUNT_END();
	assert_ptr_equal(fields, io_containerd_cgroups_v2_Metrics_fields);
	assert_string_equal(url, "io.containerd.cgroups.v2.Metrics");
	return msg;
}

static void
assert_pbs(const struct pbs *s, const char *want)
{
	assert_true(pbs_eq(s, want));
}

/* ---- mode detection ---------------------------------------------------- */

static void
test_mode_fixtures(void **state)
{
	scratch_reset();
	(void)state;
	init_v1("v1-mountinfo");
	assert_int_equal(cgroup_mode(), CG_HYBRID);
	init_v1("v1-mountinfo-legacy");
	assert_int_equal(cgroup_mode(), CG_LEGACY);
	init_v2(fx("v2"));
	assert_int_equal(cgroup_mode(), CG_UNIFIED);
	/* Go: statfs(/sys/fs/cgroup) fails -> Unavailable. */
	cgroup_init_at(fx("no-such-root"), fx("v1-mountinfo"));
	assert_int_equal(cgroup_mode(), CG_UNAVAILABLE);
	/* No cgroup mounts at all but the directory exists: Legacy, as Go. */
	put(tmp("empty-mountinfo"), "");
	cgroup_init_at(fx("v1"), tmp("empty-mountinfo"));
	assert_int_equal(cgroup_mode(), CG_LEGACY);
	/* An unreadable table is only logged. */
	cgroup_init_at(fx("v1"), tmp("no-such-mountinfo"));
	assert_int_equal(cgroup_mode(), CG_LEGACY);
	parse("0::/x\n4:memory:/x\n");
	assert_int_equal(cgroup_dir(&ref, CGC_MEMORY, pathbuf,
	    sizeof(pathbuf)), -ENOENT);
}

static void
test_mode_host(void **state)
{
	scratch_reset();
	struct statfs st;
	enum cg_mode want;

	(void)state;
	cgroup_set_host_paths(NULL, NULL);
	cgroup_init();
	if (statfs("/sys/fs/cgroup", &st) < 0)
		want = CG_UNAVAILABLE;
	else if (st.f_type == 0x63677270)
		want = CG_UNIFIED;
	else if (statfs("/sys/fs/cgroup/unified", &st) == 0 &&
	    st.f_type == 0x63677270)
		want = CG_HYBRID;
	else
		want = CG_LEGACY;
	assert_int_equal(cgroup_mode(), want);
	if (want == CG_UNAVAILABLE)
		return;
	/* Our own cgroup is found, and it is a directory. */
	COUNT_BEGIN();
	assert_int_equal(cgroup_locate(getpid(), &ref), 0);
	COUNT_END();
	assert_true(ref.cr_valid);
	if (cgroup_dir(&ref, want == CG_UNIFIED ? 0 : CGC_MEMORY, pathbuf,
	    sizeof(pathbuf)) == 0) {
		struct stat sb;

		assert_int_equal(stat(pathbuf, &sb), 0);
		assert_true(S_ISDIR(sb.st_mode));
	}
	assert_int_equal(cgroup_locate(999999999, &ref), -ENOENT);
	assert_false(ref.cr_valid);
}

/* ---- mount table and /proc/<pid>/cgroup --------------------------------- */

static void
test_procfile_hybrid(void **state)
{
	scratch_reset();
	const char *text;

	(void)state;
	init_v1("v1-mountinfo");
	text = slurp(fx("v1-proc-cgroup"));	/* captured */
	parse(text);
	assert_true(ref.cr_valid);
	assert_string_equal(ref.cr_path[CGC_MEMORY], "/nanoshim-fixture");
	assert_string_equal(ref.cr_path[CGC_CPU], "/nanoshim-fixture");
	assert_string_equal(ref.cr_path[CGC_CPUACCT], "/nanoshim-fixture");
	assert_string_equal(ref.cr_path[CGC_PIDS], "/nanoshim-fixture");
	assert_string_equal(ref.cr_path[CGC_BLKIO], "/nanoshim-fixture");
	assert_string_equal(ref.cr_path[CGC_CPUSET], "/");
	assert_string_equal(ref.cr_path[CGC_HUGETLB], "");
	assert_string_equal(ref.cr_path[CGC_RDMA], "");

	assert_int_equal(cgroup_dir(&ref, CGC_MEMORY, pathbuf,
	    sizeof(pathbuf)), 0);
	assert_string_equal(pathbuf, fx("v1/memory/nanoshim-fixture"));
	assert_int_equal(cgroup_dir(&ref, CGC_CPUACCT, pathbuf,
	    sizeof(pathbuf)), 0);
	assert_string_equal(pathbuf, fx("v1/cpuacct/nanoshim-fixture"));
	/* The root cgroup is the mount point itself. */
	assert_int_equal(cgroup_dir(&ref, CGC_CPUSET, pathbuf,
	    sizeof(pathbuf)), 0);
	assert_string_equal(pathbuf, fx("v1/cpuset"));
	/* Not in the file / not mounted / bad index. */
	assert_int_equal(cgroup_dir(&ref, CGC_HUGETLB, pathbuf,
	    sizeof(pathbuf)), -ENOENT);
	assert_int_equal(cgroup_dir(&ref, CGC_RDMA, pathbuf,
	    sizeof(pathbuf)), -ENOENT);
	assert_int_equal(cgroup_dir(&ref, CGC_MAX, pathbuf,
	    sizeof(pathbuf)), -ENOENT);
	assert_int_equal(cgroup_dir(&ref, CGC_MEMORY, pathbuf, 8),
	    -ENAMETOOLONG);
	/* Listed in the file but its hierarchy is not mounted. */
	parse("10:hugetlb:/x\n4:memory:/x\n");
	assert_string_equal(ref.cr_path[CGC_HUGETLB], "/x");
	assert_int_equal(cgroup_dir(&ref, CGC_HUGETLB, pathbuf,
	    sizeof(pathbuf)), -ENOENT);
}

static void
test_procfile_v1_forms(void **state)
{
	scratch_reset();
	(void)state;
	init_v1("v1-mountinfo-legacy");
	/* Joined controllers, name=systemd, a ':' inside the path. */
	parse("12:name=systemd:/system.slice/a\n"
	    "3:cpu,cpuacct:/kubepods/pod1/c:1\n"
	    "4:memory:/kubepods/pod1/c:1");	/* no final newline */
	assert_string_equal(ref.cr_path[CGC_CPU], "/kubepods/pod1/c:1");
	assert_string_equal(ref.cr_path[CGC_CPUACCT], "/kubepods/pod1/c:1");
	assert_string_equal(ref.cr_path[CGC_MEMORY], "/kubepods/pod1/c:1");
	assert_string_equal(ref.cr_path[CGC_PIDS], "");
	/* Empty lines are fine; a line without two colons is not. */
	parse("\n4:memory:/a\n\n");
	assert_string_equal(ref.cr_path[CGC_MEMORY], "/a");
	assert_int_equal(cgroup_parse_procfile("4:memory\n", 9, &ref),
	    -EINVAL);
	assert_false(ref.cr_valid);
	/* Only lines we do not know: nothing found. */
	assert_int_equal(cgroup_parse_procfile("1:name=systemd:/\n0::/\n",
	    22, &ref), -ENOENT);
	assert_false(ref.cr_valid);
	assert_int_equal(cgroup_parse_procfile("", 0, &ref), -ENOENT);
	/* len bounds the text: what follows is not read. */
	assert_int_equal(cgroup_parse_procfile("4:memory:/ab", 11, &ref), 0);
	assert_string_equal(ref.cr_path[CGC_MEMORY], "/a");
	/* A relative path is refused. */
	assert_int_equal(cgroup_parse_procfile("4:memory:a\n", 11, &ref),
	    -EINVAL);
}

static void
test_procfile_too_long(void **state)
{
	scratch_reset();
	static char text[1200];
	size_t n;

	(void)state;
	init_v1("v1-mountinfo-legacy");
	n = (size_t)snprintf(text, sizeof(text), "4:memory:/");
	memset(text + n, 'a', sizeof(ref.cr_path[0]));
	n += sizeof(ref.cr_path[0]);
	assert_int_equal(cgroup_parse_procfile(text, n, &ref),
	    -ENAMETOOLONG);
	assert_int_equal(cgroup_parse_procfile(text, n - 2, &ref), 0);
}

/*
 * A nested cgroup namespace mounts a sub-tree: the mount root (4th field)
 * is cut from /proc/<pid>/cgroup paths (paths.go existingPath).  Mount
 * points use mountinfo's octal escapes.
 */
static void
test_mountinfo_nested(void **state)
{
	scratch_reset();
	(void)state;
	mkdirs(tmp("nested/root/mem\\040ory"));
	put(tmp("nested/mountinfo"),
	    "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
	    "30 1 0:26 / /sys/fs/cgroup rw shared:4 - tmpfs tmpfs rw\n"
	    "35 30 0:32 /docker/abc /sys/fs/cgroup/mem\\134040ory rw,nosuid "
	    "shared:1 master:2 - cgroup cgroup rw,memory\n"
	    "36 30 0:33 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup "
	    "rw,pids\n"
	    "37 30 0:33 / /elsewhere/pids rw - cgroup cgroup rw,pids\n"
	    "38 30 0:34 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup "
	    "rw,cpu,cpuacct\n"
	    "garbage line\n");
	cgroup_set_host_paths(fx("hugepages"), fx("partitions"));
	cgroup_init_at(tmp("nested/root"), tmp("nested/mountinfo"));
	assert_int_equal(cgroup_mode(), CG_LEGACY);
	parse("4:memory:/docker/abc/ctr\n8:pids:/docker/abc\n"
	    "2:cpu,cpuacct:/docker/abcd/x\n");
	assert_string_equal(ref.cr_path[CGC_MEMORY], "/ctr");
	assert_string_equal(ref.cr_path[CGC_PIDS], "/");
	assert_string_equal(ref.cr_path[CGC_CPU], "/docker/abcd/x");
	assert_int_equal(cgroup_dir(&ref, CGC_MEMORY, pathbuf,
	    sizeof(pathbuf)), 0);
	assert_string_equal(pathbuf, tmp("nested/root/mem\\040ory/ctr"));
	/* The first mount of a hierarchy wins. */
	assert_int_equal(cgroup_dir(&ref, CGC_PIDS, pathbuf,
	    sizeof(pathbuf)), 0);
	assert_string_equal(pathbuf, tmp("nested/root/pids"));
	assert_int_equal(cgroup_dir(&ref, CGC_CPUACCT, pathbuf,
	    sizeof(pathbuf)), 0);
	assert_string_equal(pathbuf,
	    tmp("nested/root/cpu,cpuacct/docker/abcd/x"));
}

/* A mount table longer than the read buffer, with a line longer too. */
static void
test_mountinfo_long(void **state)
{
	scratch_reset();
	static char big[300 << 10];
	size_t n = 0;
	int i;

	(void)state;
	for (i = 0; i < 2000; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		    "%d 1 0:%d / /run/k8s/pods/%08d/volumes rw - tmpfs tmpfs "
		    "rw\n", 100 + i, 100 + i, i);
	n += (size_t)snprintf(big + n, sizeof(big) - n,
	    "99 1 0:99 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids");
	memset(big + n, 'x', 70000);	/* still the pids line: too long */
	n += 70000;
	n += (size_t)snprintf(big + n, sizeof(big) - n, ",x\n"
	    "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory"
	    "\n41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw");
	put(tmp("long-mountinfo"), big);
	cgroup_init_at(fx("v1"), tmp("long-mountinfo"));
	assert_int_equal(cgroup_mode(), CG_HYBRID);
	parse("8:pids:/nanoshim-fixture\n4:memory:/nanoshim-fixture\n");
	assert_int_equal(cgroup_dir(&ref, CGC_MEMORY, pathbuf,
	    sizeof(pathbuf)), 0);
	assert_string_equal(pathbuf, fx("v1/memory/nanoshim-fixture"));
	assert_int_equal(cgroup_dir(&ref, CGC_PIDS, pathbuf,
	    sizeof(pathbuf)), -ENOENT);
}

static void
test_procfile_v2(void **state)
{
	scratch_reset();
	(void)state;
	init_v2(fx("v2"));
	parse(slurp(fx("v2-proc-cgroup")));
	assert_string_equal(ref.cr_path[0], "/default/ctr1");
	assert_int_equal(cgroup_dir(&ref, 0, pathbuf, sizeof(pathbuf)), 0);
	assert_string_equal(pathbuf, fx("v2/default/ctr1"));
	/* v2 uses the one path whatever the controller. */
	assert_int_equal(cgroup_dir(&ref, CGC_MEMORY, pathbuf,
	    sizeof(pathbuf)), 0);
	assert_string_equal(pathbuf, fx("v2/default/ctr1"));
	/* A v1-style file on a unified host has no "0::" line. */
	assert_int_equal(cgroup_parse_procfile("4:memory:/a\n", 12, &ref),
	    -ENOENT);
	/* "1::/x" is not the unified line either. */
	assert_int_equal(cgroup_parse_procfile("1::/x\n", 6, &ref), -ENOENT);
	parse("0::/\n");
	assert_int_equal(cgroup_dir(&ref, 0, pathbuf, sizeof(pathbuf)), 0);
	assert_string_equal(pathbuf, fx("v2"));
}

/* ---- v1 Metrics --------------------------------------------------------- */

/* The captured cgroup, every field we fill. */
static void
test_v1_captured(void **state)
{
	scratch_reset();
	const io_containerd_cgroups_v1_Metrics *m;
	const io_containerd_cgroups_v1_MemoryStat *ms;
	const io_containerd_cgroups_v1_BlkIOStat *b;
	static const char *const ops[] = { "Read", "Write", "Sync", "Async",
		"Discard", "Total" };
	static const uint64_t serviced[] = { 106, 68, 174, 0, 0, 174 };
	static const uint64_t bytes[] = { 8634368, 4206592, 12840960, 0, 0,
		12840960 };
	int i;

	(void)state;
	init_v1("v1-mountinfo-hugetlb");
	parse(slurp(fx("v1-proc-cgroup-hugetlb")));
	m = metrics_v1();

	assert_true(m->has_pids);
	assert_int_equal(m->pids.current, 4);
	assert_int_equal(m->pids.limit, 100);

	assert_true(m->has_cpu);
	assert_true(m->cpu.has_usage);
	assert_int_equal(m->cpu.usage.total, 835147314);
	assert_int_equal(m->cpu.usage.user, 77ull * 10000000);
	assert_int_equal(m->cpu.usage.kernel, 6ull * 10000000);
	assert_int_equal(m->cpu.usage.per_cpu_count, 2);
	assert_int_equal(m->cpu.usage.per_cpu[0], 63542264);
	assert_int_equal(m->cpu.usage.per_cpu[1], 771605050);
	assert_true(m->cpu.has_throttling);
	assert_int_equal(m->cpu.throttling.periods, 19);
	assert_int_equal(m->cpu.throttling.throttled_periods, 16);
	assert_int_equal(m->cpu.throttling.throttled_time, 997183456);

	assert_true(m->has_memory);
	ms = &m->memory;
	assert_int_equal(ms->cache, 4444160);
	assert_int_equal(ms->rss, 30392320);
	assert_int_equal(ms->rss_huge, 0);
	assert_int_equal(ms->mapped_file, 69632);
	assert_int_equal(ms->dirty, 0);
	assert_int_equal(ms->writeback, 0);
	assert_int_equal(ms->pg_pg_in, 7992);
	assert_int_equal(ms->pg_pg_out, 231);
	assert_int_equal(ms->pg_fault, 8021);
	assert_int_equal(ms->pg_maj_fault, 2);
	assert_int_equal(ms->inactive_anon, 30384128);
	assert_int_equal(ms->active_anon, 8192);
	assert_int_equal(ms->inactive_file, 4317184);
	assert_int_equal(ms->active_file, 126976);
	assert_int_equal(ms->unevictable, 0);
	assert_int_equal(ms->hierarchical_memory_limit, 268435456);
	assert_int_equal(ms->hierarchical_swap_limit, V1_UNLIMITED);
	assert_int_equal(ms->total_cache, 4444160);
	assert_int_equal(ms->total_rss, 30392320);
	assert_int_equal(ms->total_rss_huge, 0);
	assert_int_equal(ms->total_mapped_file, 69632);
	assert_int_equal(ms->total_dirty, 0);
	assert_int_equal(ms->total_writeback, 0);
	assert_int_equal(ms->total_pg_pg_in, 7992);
	assert_int_equal(ms->total_pg_pg_out, 231);
	assert_int_equal(ms->total_pg_fault, 8021);
	assert_int_equal(ms->total_pg_maj_fault, 2);
	assert_int_equal(ms->total_inactive_anon, 30384128);
	assert_int_equal(ms->total_active_anon, 8192);
	assert_int_equal(ms->total_inactive_file, 4317184);
	assert_int_equal(ms->total_active_file, 126976);
	assert_int_equal(ms->total_unevictable, 0);
	assert_true(ms->has_usage);
	assert_int_equal(ms->usage.usage, 35471360);
	assert_int_equal(ms->usage.max, 35860480);
	assert_int_equal(ms->usage.failcnt, 0);
	assert_int_equal(ms->usage.limit, 268435456);
	assert_true(ms->has_swap);
	assert_int_equal(ms->swap.usage, 35471360);
	assert_int_equal(ms->swap.max, 35860480);
	assert_int_equal(ms->swap.failcnt, 0);
	assert_int_equal(ms->swap.limit, V1_UNLIMITED);
	assert_true(ms->has_kernel);
	assert_int_equal(ms->kernel.usage, 278528);
	assert_int_equal(ms->kernel.max, 561152);
	assert_int_equal(ms->kernel.failcnt, 0);
	assert_int_equal(ms->kernel.limit, V1_UNLIMITED);
	assert_true(ms->has_kernel_tcp);
	assert_int_equal(ms->kernel_tcp.usage, 0);
	assert_int_equal(ms->kernel_tcp.max, 0);
	assert_int_equal(ms->kernel_tcp.failcnt, 0);
	assert_int_equal(ms->kernel_tcp.limit, V1_UNLIMITED);
	assert_true(m->has_memory_oom_control);
	assert_int_equal(m->memory_oom_control.oom_kill_disable, 0);
	assert_int_equal(m->memory_oom_control.under_oom, 0);
	assert_int_equal(m->memory_oom_control.oom_kill, 0);

	/* This kernel has no *_recursive CFQ files: Go's throttle fallback. */
	assert_true(m->has_blkio);
	b = &m->blkio;
	assert_int_equal(b->io_serviced_recursive_count, 6);
	assert_int_equal(b->io_service_bytes_recursive_count, 6);
	for (i = 0; i < 6; i++) {
		assert_pbs(&b->io_serviced_recursive[i].op, ops[i]);
		assert_pbs(&b->io_serviced_recursive[i].device, "/dev/vda");
		assert_int_equal(b->io_serviced_recursive[i].major, 254);
		assert_int_equal(b->io_serviced_recursive[i].minor, 0);
		assert_int_equal(b->io_serviced_recursive[i].value,
		    serviced[i]);
		assert_pbs(&b->io_service_bytes_recursive[i].op, ops[i]);
		assert_int_equal(b->io_service_bytes_recursive[i].value,
		    bytes[i]);
	}
	assert_int_equal(b->io_queued_recursive_count, 0);
	assert_int_equal(b->io_service_time_recursive_count, 0);
	assert_int_equal(b->io_wait_time_recursive_count, 0);
	assert_int_equal(b->io_merged_recursive_count, 0);
	assert_int_equal(b->io_time_recursive_count, 0);
	assert_int_equal(b->sectors_recursive_count, 0);

	/* hugetlb (synthesized): Go's order is the directory's, 1GB first. */
	assert_int_equal(m->hugetlb_count, 2);
	assert_pbs(&m->hugetlb[0].pagesize, "1GB");
	assert_int_equal(m->hugetlb[0].usage, 0);
	assert_int_equal(m->hugetlb[0].max, 1073741824);
	assert_int_equal(m->hugetlb[0].failcnt, 2);
	assert_pbs(&m->hugetlb[1].pagesize, "2MB");
	assert_int_equal(m->hugetlb[1].usage, 4194304);
	assert_int_equal(m->hugetlb[1].max, 6291456);
	assert_int_equal(m->hugetlb[1].failcnt, 1);

	/* Never filled by containerd's cgroups library. */
	assert_false(m->has_rdma);
	assert_int_equal(m->network_count, 0);
	assert_false(m->has_cgroup_stats);
}

/* Every memory.stat key to its own field (synthesized, distinct values). */
static void
test_v1_memory_keys(void **state)
{
	scratch_reset();
	const io_containerd_cgroups_v1_MemoryStat *ms;
	const io_containerd_cgroups_v1_Metrics *m;

	(void)state;
	init_v1("v1-mountinfo");
	parse("4:memory:/distinct\n");
	m = metrics_v1();
	ms = &m->memory;
	/* key on line n of the file has the value n * 1001 */
#define L(n)	((uint64_t)(n) * 1001)
	assert_int_equal(ms->cache, L(1));
	assert_int_equal(ms->rss, L(2));
	assert_int_equal(ms->rss_huge, L(3));
	assert_int_equal(ms->mapped_file, L(5));
	assert_int_equal(ms->dirty, L(6));
	assert_int_equal(ms->writeback, L(7));
	assert_int_equal(ms->pg_pg_in, L(12));
	assert_int_equal(ms->pg_pg_out, L(13));
	assert_int_equal(ms->pg_fault, L(14));
	assert_int_equal(ms->pg_maj_fault, L(15));
	assert_int_equal(ms->inactive_anon, L(16));
	assert_int_equal(ms->active_anon, L(17));
	assert_int_equal(ms->inactive_file, L(18));
	assert_int_equal(ms->active_file, L(19));
	assert_int_equal(ms->unevictable, L(20));
	assert_int_equal(ms->hierarchical_memory_limit, L(21));
	assert_int_equal(ms->hierarchical_swap_limit, L(22));
	assert_int_equal(ms->total_cache, L(23));
	assert_int_equal(ms->total_rss, L(24));
	assert_int_equal(ms->total_rss_huge, L(25));
	assert_int_equal(ms->total_mapped_file, L(27));
	assert_int_equal(ms->total_dirty, L(28));
	assert_int_equal(ms->total_writeback, L(29));
	assert_int_equal(ms->total_pg_pg_in, L(34));
	assert_int_equal(ms->total_pg_pg_out, L(35));
	assert_int_equal(ms->total_pg_fault, L(36));
	assert_int_equal(ms->total_pg_maj_fault, L(37));
	assert_int_equal(ms->total_inactive_anon, L(38));
	assert_int_equal(ms->total_active_anon, L(39));
	assert_int_equal(ms->total_inactive_file, L(40));
	assert_int_equal(ms->total_active_file, L(41));
	assert_int_equal(ms->total_unevictable, L(42));
#undef L
	/* memory.<x> file k (usage, max_usage, failcnt, limit) holds 11*k. */
	assert_int_equal(ms->usage.usage, 11);
	assert_int_equal(ms->usage.max, 22);
	assert_int_equal(ms->usage.failcnt, 33);
	assert_int_equal(ms->usage.limit, 44);
	assert_int_equal(ms->swap.usage, 55);
	assert_int_equal(ms->swap.max, 66);
	assert_int_equal(ms->swap.failcnt, 77);
	assert_int_equal(ms->swap.limit, 88);
	assert_int_equal(ms->kernel.usage, 99);
	assert_int_equal(ms->kernel.max, 110);
	assert_int_equal(ms->kernel.failcnt, 121);
	assert_int_equal(ms->kernel.limit, 132);
	assert_int_equal(ms->kernel_tcp.usage, 143);
	assert_int_equal(ms->kernel_tcp.max, 154);
	assert_int_equal(ms->kernel_tcp.failcnt, 165);
	assert_int_equal(ms->kernel_tcp.limit, 176);
	assert_int_equal(m->memory_oom_control.oom_kill_disable, 1);
	assert_int_equal(m->memory_oom_control.under_oom, 1);
	assert_int_equal(m->memory_oom_control.oom_kill, 3);
	/* Only memory in the file: the others are absent, cpu is not. */
	assert_false(m->has_pids);
	assert_false(m->has_blkio);
	assert_int_equal(m->hugetlb_count, 0);
	assert_true(m->has_cpu);
	assert_int_equal(m->cpu.usage.total, 0);
}

/*
 * Edge cgroup: memory without swap accounting (no memory.memsw.*),
 * pids.max "max", empty cpuacct files, no cpu directory, blkio with only
 * "Total 0", and no hugetlb hierarchy.
 */
static void
test_v1_edge(void **state)
{
	scratch_reset();
	const io_containerd_cgroups_v1_Metrics *m;

	(void)state;
	init_v1("v1-mountinfo");
	parse("8:pids:/edge\n7:blkio:/edge\n4:memory:/edge\n"
	    "2:cpuacct:/edge\n1:cpu:/edge\n");
	m = metrics_v1();
	assert_true(m->has_pids);
	assert_int_equal(m->pids.current, 1);
	assert_int_equal(m->pids.limit, 0);	/* v1: "max" is 0 */
	assert_true(m->has_cpu);
	assert_int_equal(m->cpu.usage.total, 0);
	assert_int_equal(m->cpu.usage.user, 0);
	assert_int_equal(m->cpu.usage.per_cpu_count, 0);
	assert_int_equal(m->cpu.throttling.periods, 0);
	assert_true(m->has_memory);
	assert_int_equal(m->memory.usage.usage, 35471360);
	assert_int_equal(m->memory.rss, 30392320);
	assert_true(m->memory.has_swap);
	assert_int_equal(m->memory.swap.usage, 0);
	assert_int_equal(m->memory.swap.limit, 0);
	/* Go stops at the missing memsw; we still read kmem. */
	assert_int_equal(m->memory.kernel.usage, 278528);
	assert_true(m->has_blkio);
	assert_int_equal(m->blkio.io_serviced_recursive_count, 0);
	assert_int_equal(m->blkio.io_service_bytes_recursive_count, 0);
	assert_int_equal(m->hugetlb_count, 0);
}

/* A CFQ-era kernel (synthesized): the eight *_recursive files. */
static void
test_v1_blkio_recursive(void **state)
{
	scratch_reset();
	const io_containerd_cgroups_v1_BlkIOStat *b;
	const io_containerd_cgroups_v1_Metrics *m;

	(void)state;
	init_v1("v1-mountinfo");
	parse("7:blkio:/cfq\n");
	m = metrics_v1();
	b = &m->blkio;
	assert_int_equal(b->io_service_bytes_recursive_count, 10);
	assert_int_equal(b->io_serviced_recursive_count, 10);
	assert_int_equal(b->io_queued_recursive_count, 10);
	assert_int_equal(b->io_service_time_recursive_count, 10);
	assert_int_equal(b->io_wait_time_recursive_count, 10);
	assert_int_equal(b->io_merged_recursive_count, 10);
	assert_int_equal(b->io_time_recursive_count, 2);
	assert_int_equal(b->sectors_recursive_count, 2);
	/* "8:0 Read 45056": sda is not in the fixture's partitions. */
	assert_pbs(&b->io_service_bytes_recursive[0].op, "Read");
	assert_pbs(&b->io_service_bytes_recursive[0].device, "");
	assert_int_equal(b->io_service_bytes_recursive[0].major, 8);
	assert_int_equal(b->io_service_bytes_recursive[0].minor, 0);
	assert_int_equal(b->io_service_bytes_recursive[0].value, 4096 * 11);
	assert_pbs(&b->io_service_bytes_recursive[9].op, "Total");
	assert_pbs(&b->io_service_bytes_recursive[9].device, "/dev/vda");
	assert_int_equal(b->io_service_bytes_recursive[9].value, 4096 * 16);
	assert_int_equal(b->io_wait_time_recursive[1].value, 7 * 5);
	assert_int_equal(b->io_merged_recursive[3].value, 3);
	assert_pbs(&b->io_merged_recursive[3].op, "Async");
	/* "maj:min value" lines have no op. */
	assert_pbs(&b->sectors_recursive[0].op, "");
	assert_int_equal(b->sectors_recursive[0].value, 3456);
	assert_int_equal(b->sectors_recursive[1].major, 254);
	assert_int_equal(b->sectors_recursive[1].value, 78);
	assert_int_equal(b->io_time_recursive[0].value, 120);
	assert_pbs(&b->io_time_recursive[1].device, "/dev/vda");
}

/* Bounds: more CPUs and blkio lines than the arrays hold; odd ops. */
static void
test_v1_bounds(void **state)
{
	scratch_reset();
	static char big[64 << 10];
	const io_containerd_cgroups_v1_Metrics *m;
	size_t n = 0;
	int i;

	(void)state;
	mkdirs(tmp("b1/cpuacct/x"));
	mkdirs(tmp("b1/blkio/x"));
	put(tmp("b1/mountinfo"),
	    "1 0 0:1 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
	    "2 0 0:2 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n");
	for (i = 0; i < 1100; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%d ", i + 1);
	put(tmp("b1/cpuacct/x/cpuacct.usage_percpu"), big);
	put(tmp("b1/cpuacct/x/cpuacct.stat"), "user -5\nsystem 12\n");
	put(tmp("b1/cpuacct/x/cpuacct.usage"), "  123\n");
	n = 0;
	for (i = 0; i < 120; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		    "%d:%d Read %d\n", 8, i, i);
	put(tmp("b1/blkio/x/blkio.throttle.io_serviced"), big);
	put(tmp("b1/blkio/x/blkio.throttle.io_service_bytes"),
	    "8:0 Frobnicate 1\n8:1 Frobnicate 2\n8:2 Read\n"
	    "8:x Read 5\nbogus\n8:3 Write 7\nTotal 10\n");
	cgroup_set_host_paths(fx("hugepages"), fx("partitions"));
	cgroup_init_at(tmp("b1"), tmp("b1/mountinfo"));
	parse("1:cpuacct:/x\n2:blkio:/x\n");
	m = metrics_v1();
	assert_int_equal(m->cpu.usage.per_cpu_count, 1024);
	assert_int_equal(m->cpu.usage.per_cpu[1023], 1024);
	/* parseUint: a negative number reads as 0. */
	assert_int_equal(m->cpu.usage.user, 0);
	assert_int_equal(m->cpu.usage.kernel, 12ull * 10000000);
	assert_int_equal(m->cpu.usage.total, 123);
	assert_int_equal(m->blkio.io_serviced_recursive_count, 96);
	assert_int_equal(m->blkio.io_serviced_recursive[95].minor, 95);
	assert_int_equal(m->blkio.io_service_bytes_recursive_count, 3);
	assert_pbs(&m->blkio.io_service_bytes_recursive[0].op, "Frobnicate");
	assert_ptr_equal(m->blkio.io_service_bytes_recursive[0].op.p,
	    m->blkio.io_service_bytes_recursive[1].op.p);
	/* "8:2 Read" is maj, min, value "Read": not a number, skipped. */
	assert_pbs(&m->blkio.io_service_bytes_recursive[2].op, "Write");
	assert_int_equal(m->blkio.io_service_bytes_recursive[2].value, 7);
}

static void
test_v1_gone(void **state)
{
	scratch_reset();
	const pb_msgdesc_t *fields;
	const void *msg;
	const char *url;

	(void)state;
	init_v1("v1-mountinfo");
	parse("4:memory:/no-such\n8:pids:/no-such\n");
	assert_int_equal(cgroup_metrics(&ref, &fields, &msg, &url), -ENOENT);
	memset(&ref, 0, sizeof(ref));
	assert_int_equal(cgroup_metrics(&ref, &fields, &msg, &url), -ENOENT);
	cgroup_init_at(fx("no-such-root"), fx("v1-mountinfo"));
	assert_int_equal(cgroup_metrics(&ref, &fields, &msg, &url), -ENOENT);
}

/* ---- v2 Metrics --------------------------------------------------------- */

static void
test_v2_full(void **state)
{
	scratch_reset();
	const io_containerd_cgroups_v2_Metrics *m;
	const io_containerd_cgroups_v2_MemoryStat *ms;

	(void)state;
	init_v2(fx("v2"));
	parse("0::/default/ctr1\n");
	m = metrics_v2();

	assert_true(m->has_pids);
	assert_int_equal(m->pids.current, 7);
	assert_int_equal(m->pids.limit, MAXU64);	/* v2: "max" */

	assert_true(m->has_cpu);
	assert_int_equal(m->cpu.usage_usec, 2814563);
	assert_int_equal(m->cpu.user_usec, 2011893);
	assert_int_equal(m->cpu.system_usec, 802670);
	assert_int_equal(m->cpu.nr_periods, 411);
	assert_int_equal(m->cpu.nr_throttled, 37);
	assert_int_equal(m->cpu.throttled_usec, 1538291);

	assert_true(m->has_memory);
	ms = &m->memory;
	/* key on line n of memory.stat has the value n * 4097 */
#define K(n)	((uint64_t)(n) * 4097)
	assert_int_equal(ms->anon, K(1));
	assert_int_equal(ms->file, K(2));
	assert_int_equal(ms->kernel_stack, K(4));
	assert_int_equal(ms->sock, K(8));
	assert_int_equal(ms->shmem, K(10));
	assert_int_equal(ms->file_mapped, K(13));
	assert_int_equal(ms->file_dirty, K(14));
	assert_int_equal(ms->file_writeback, K(15));
	assert_int_equal(ms->anon_thp, K(17));
	assert_int_equal(ms->inactive_anon, K(20));
	assert_int_equal(ms->active_anon, K(21));
	assert_int_equal(ms->inactive_file, K(22));
	assert_int_equal(ms->active_file, K(23));
	assert_int_equal(ms->unevictable, K(24));
	assert_int_equal(ms->slab_reclaimable, K(25));
	assert_int_equal(ms->slab_unreclaimable, K(26));
	assert_int_equal(ms->slab, K(27));
	/* 5.9+ split these into _anon/_file; Go maps only the old names. */
	assert_int_equal(ms->workingset_refault, 0);
	assert_int_equal(ms->workingset_activate, 0);
	assert_int_equal(ms->workingset_nodereclaim, K(34));
	assert_int_equal(ms->pgscan, K(35));
	assert_int_equal(ms->pgsteal, K(36));
	assert_int_equal(ms->pgfault, K(43));
	assert_int_equal(ms->pgmajfault, K(44));
	assert_int_equal(ms->pgrefill, K(45));
	assert_int_equal(ms->pgactivate, K(46));
	assert_int_equal(ms->pgdeactivate, K(47));
	assert_int_equal(ms->pglazyfree, K(48));
	assert_int_equal(ms->pglazyfreed, K(49));
	assert_int_equal(ms->thp_fault_alloc, K(53));
	assert_int_equal(ms->thp_collapse_alloc, K(54));
#undef K
	assert_int_equal(ms->usage, 52428800);
	assert_int_equal(ms->usage_limit, MAXU64);
	assert_int_equal(ms->swap_usage, 1048576);
	assert_int_equal(ms->swap_limit, MAXU64);
	/* cgroups v3 (containerd 2.x): peaks and pressure. */
	assert_int_equal(ms->max_usage, 73400320);
	assert_int_equal(ms->swap_max_usage, MAXU64);
	assert_true(m->cpu.has_psi);
	assert_true(m->cpu.psi.has_some);
	assert_true(m->cpu.psi.some.avg10 == 1.50);
	assert_true(m->cpu.psi.some.avg60 == 0.33);
	assert_true(m->cpu.psi.some.avg300 == 0.07);
	assert_int_equal(m->cpu.psi.some.total, 1234567);
	assert_true(m->cpu.psi.has_full);
	assert_true(m->cpu.psi.full.avg10 == 0.99);
	assert_int_equal(m->cpu.psi.full.total, 765432);
	assert_true(ms->has_psi);
	assert_true(ms->psi.some.avg10 == 12.34);
	assert_true(ms->psi.some.avg60 == 5.0);
	assert_true(ms->psi.some.avg300 == 100.0);
	assert_int_equal(ms->psi.some.total, 42);
	assert_true(ms->psi.has_full);
	assert_int_equal(ms->psi.full.total, 7);
	assert_true(m->io.has_psi);
	assert_true(m->io.psi.has_some);
	assert_false(m->io.psi.has_full);
	assert_int_equal(m->io.psi.some.total, 99);

	assert_true(m->has_memory_events);
	assert_int_equal(m->memory_events.low, 0);
	assert_int_equal(m->memory_events.high, 5);
	assert_int_equal(m->memory_events.max, 12);
	assert_int_equal(m->memory_events.oom, 3);
	assert_int_equal(m->memory_events.oom_kill, 2);

	assert_true(m->has_io);
	assert_int_equal(m->io.usage_count, 2);
	assert_int_equal(m->io.usage[0].major, 8);
	assert_int_equal(m->io.usage[0].minor, 16);
	assert_int_equal(m->io.usage[0].rbytes, 1459200);
	assert_int_equal(m->io.usage[0].wbytes, 314773504);
	assert_int_equal(m->io.usage[0].rios, 192);
	assert_int_equal(m->io.usage[0].wios, 353);
	assert_int_equal(m->io.usage[1].major, 253);
	assert_int_equal(m->io.usage[1].minor, 0);
	assert_int_equal(m->io.usage[1].rbytes, 4096);
	assert_int_equal(m->io.usage[1].wbytes, 8192);
	assert_int_equal(m->io.usage[1].rios, 1);
	assert_int_equal(m->io.usage[1].wios, 2);

	assert_int_equal(m->hugetlb_count, 2);
	assert_pbs(&m->hugetlb[0].pagesize, "1GB");
	assert_int_equal(m->hugetlb[0].current, 0);
	assert_int_equal(m->hugetlb[0].max, 1073741824);
	assert_pbs(&m->hugetlb[1].pagesize, "2MB");
	assert_int_equal(m->hugetlb[1].current, 2097152);
	assert_int_equal(m->hugetlb[1].max, MAXU64);

	assert_true(m->has_rdma);
	assert_int_equal(m->rdma.current_count, 2);
	assert_pbs(&m->rdma.current[0].device, "mlx5_0");
	assert_int_equal(m->rdma.current[0].hca_handles, 2);
	assert_int_equal(m->rdma.current[0].hca_objects, 2000);
	assert_pbs(&m->rdma.current[1].device, "mlx5_1");
	assert_int_equal(m->rdma.current[1].hca_handles, 0);
	assert_int_equal(m->rdma.limit_count, 2);
	assert_pbs(&m->rdma.limit[0].device, "mlx5_0");
	assert_int_equal(m->rdma.limit[0].hca_handles, UINT32_MAX);
	assert_int_equal(m->rdma.limit[0].hca_objects, UINT32_MAX);
	assert_int_equal(m->rdma.limit[1].hca_handles, 10);
	assert_int_equal(m->rdma.limit[1].hca_objects, 100);
}

/*
 * Edge cgroup: no "cpu" in cgroup.controllers (cpu.stat is there but Go
 * does not read it), numeric memory.max and pids.max, no swap files, no
 * memory.events, empty io.stat, no hugetlb or rdma files; memory.stat
 * with the pre-5.9 workingset names.
 */
static void
test_v2_edge(void **state)
{
	scratch_reset();
	const io_containerd_cgroups_v2_Metrics *m;

	(void)state;
	init_v2(fx("v2"));
	parse("0::/default/edge\n");
	m = metrics_v2();
	assert_true(m->has_cpu);
	assert_int_equal(m->cpu.usage_usec, 0);
	assert_int_equal(m->cpu.user_usec, 0);
	assert_true(m->has_memory);
	assert_int_equal(m->memory.anon, 4096);
	assert_int_equal(m->memory.file, 8192);
	assert_int_equal(m->memory.pgfault, 17);
	assert_int_equal(m->memory.workingset_refault, 5);
	assert_int_equal(m->memory.workingset_activate, 6);
	assert_int_equal(m->memory.usage, 12288);
	assert_int_equal(m->memory.usage_limit, 536870912);
	assert_int_equal(m->memory.swap_usage, 0);
	assert_int_equal(m->memory.swap_limit, 0);
	assert_int_equal(m->memory.max_usage, 0);
	/* No pressure files, and an io.pressure that does not parse. */
	assert_false(m->cpu.has_psi);
	assert_false(m->memory.has_psi);
	assert_false(m->io.has_psi);
	assert_false(m->has_memory_events);
	assert_int_equal(m->pids.current, 1);
	assert_int_equal(m->pids.limit, 64);
	assert_true(m->has_io);
	assert_int_equal(m->io.usage_count, 0);
	assert_int_equal(m->hugetlb_count, 0);
	assert_true(m->has_rdma);
	assert_int_equal(m->rdma.current_count, 0);
	assert_int_equal(m->rdma.limit_count, 0);
}

/* Files captured from the hybrid host's unified mount. */
static void
test_v2_captured(void **state)
{
	scratch_reset();
	const io_containerd_cgroups_v2_Metrics *m;

	(void)state;
	init_v2(fx("v1/unified"));
	parse("0::/nanoshim-fixture\n");
	m = metrics_v2();
	/* Only hugetlb is enabled there; cpu.stat is not read. */
	assert_int_equal(m->cpu.usage_usec, 0);
	assert_int_equal(m->pids.current, 0);
	assert_int_equal(m->memory.usage, 0);
	assert_false(m->has_memory_events);
	assert_int_equal(m->io.usage_count, 0);
	/* This kernel prints the hugetlb limit in bytes, not "max". */
	assert_int_equal(m->hugetlb_count, 2);
	assert_pbs(&m->hugetlb[0].pagesize, "1GB");
	assert_int_equal(m->hugetlb[0].current, 0);
	assert_int_equal(m->hugetlb[0].max, V1_UNLIMITED);
	assert_pbs(&m->hugetlb[1].pagesize, "2MB");
	assert_int_equal(m->hugetlb[1].max, V1_UNLIMITED);
}

/* io.stat oddities, page size names, and a cgroup that is gone. */
static void
test_v2_parsing(void **state)
{
	scratch_reset();
	const io_containerd_cgroups_v2_Metrics *m;
	const pb_msgdesc_t *fields;
	const void *msg;
	const char *url;

	(void)state;
	mkdirs(tmp("v2p/c"));
	mkdirs(tmp("v2p/hp/hugepages-64kB"));
	mkdirs(tmp("v2p/hp/hugepages-32768kB"));
	mkdirs(tmp("v2p/hp/hugepages-1048576kB"));
	mkdirs(tmp("v2p/hp/not-a-size"));
	put(tmp("v2p/c/cgroup.controllers"), "memory io\n");
	put(tmp("v2p/c/io.stat"),
	    "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n"
	    "8:1\n"
	    "8:2 rbytes=x wbytes=7 rios==3 wios=-1\n"
	    "bad line\n"
	    "8:3  rbytes=9\n"
	    "8:4:5 rbytes=1\n"
	    "x:1 rbytes=1\n"
	    "9:9 rbytes=99\n");
	put(tmp("v2p/c/memory.current"), "-1\n");
	put(tmp("v2p/c/memory.max"), "lots\n");
	put(tmp("v2p/c/pids.current"), "");
	put(tmp("v2p/c/hugetlb.64KB.current"), "65536\n");
	put(tmp("v2p/c/hugetlb.32MB.max"), "garbage\n");
	put(tmp("v2p/c/hugetlb.1GB.max"), "max\n");
	put(tmp("v2p/c/memory.events"), "oom_kill 4\n");
	cgroup_set_host_paths(tmp("v2p/hp"), fx("partitions"));
	cgroup_init_at(tmp("v2p"), fx("v2-mountinfo"));
	parse("0::/c\n");
	m = metrics_v2();
	/*
	 * "8:1" alone has no second part, "8:4:5" is not maj:min (both
	 * skipped); "x:1" makes Go stop reading, so 9:9 is never seen.
	 */
	assert_int_equal(m->io.usage_count, 3);
	assert_int_equal(m->io.usage[0].wios, 4);
	assert_int_equal(m->io.usage[1].minor, 2);
	assert_int_equal(m->io.usage[1].rbytes, 0);
	assert_int_equal(m->io.usage[1].wbytes, 7);
	assert_int_equal(m->io.usage[1].rios, 0);
	assert_int_equal(m->io.usage[1].wios, 0);
	assert_int_equal(m->io.usage[2].minor, 3);
	assert_int_equal(m->io.usage[2].rbytes, 9);
	assert_int_equal(m->memory.usage, 0);		/* negative: 0 */
	assert_int_equal(m->memory.usage_limit, 0);	/* not a number */
	assert_int_equal(m->pids.current, 0);
	assert_true(m->has_memory_events);
	assert_int_equal(m->memory_events.oom_kill, 4);
	/* Sizes sorted by directory name, as Go's ReadDir. */
	assert_int_equal(m->hugetlb_count, 2);
	assert_pbs(&m->hugetlb[0].pagesize, "1GB");
	assert_int_equal(m->hugetlb[0].max, MAXU64);
	assert_pbs(&m->hugetlb[1].pagesize, "64KB");
	assert_int_equal(m->hugetlb[1].current, 65536);

	parse("0::/gone\n");
	assert_int_equal(cgroup_metrics(&ref, &fields, &msg, &url), -ENOENT);
	/* A directory without cgroup.controllers is not a cgroup. */
	mkdirs(tmp("v2p/notcg"));
	parse("0::/notcg\n");
	assert_int_equal(cgroup_metrics(&ref, &fields, &msg, &url), -ENOENT);
}

/* ---- enabling controllers ----------------------------------------------- */

static void
test_enable_controllers(void **state)
{
	scratch_reset();
	const char *want = "+cpuset +cpu +io +memory +hugetlb +pids +rdma "
	    "+misc";

	(void)state;
	mkdirs(tmp("en/kubepods/pod1/ctr"));
	put(tmp("en/cgroup.controllers"), slurp(fx("v2/cgroup.controllers")));
	put(tmp("en/cgroup.subtree_control"), "");
	put(tmp("en/kubepods/cgroup.subtree_control"), "");
	/* pod1 has none: the write fails and is ignored. */
	put(tmp("en/kubepods/pod1/ctr/cgroup.subtree_control"), "");
	init_v2(tmp("en"));
	parse("0::/kubepods/pod1/ctr\n");
	COUNT_BEGIN();
	cgroup_enable_controllers(&ref);
	COUNT_END();
	assert_string_equal(slurp(tmp("en/cgroup.subtree_control")), want);
	assert_string_equal(slurp(tmp("en/kubepods/cgroup.subtree_control")),
	    want);
	assert_int_equal(access(tmp("en/kubepods/pod1/cgroup.subtree_control"),
	    F_OK), -1);
	/* Not the container's own cgroup. */
	assert_string_equal(
	    slurp(tmp("en/kubepods/pod1/ctr/cgroup.subtree_control")), "");

	/* The root cgroup itself has no ancestors. */
	put(tmp("en/cgroup.subtree_control"), "");
	parse("0::/\n");
	cgroup_enable_controllers(&ref);
	assert_string_equal(slurp(tmp("en/cgroup.subtree_control")), "");

	/* v1: nothing to do. */
	init_v1("v1-mountinfo");
	parse("4:memory:/x\n");
	cgroup_enable_controllers(&ref);
	assert_string_equal(slurp(tmp("en/cgroup.subtree_control")), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_fixtures),
		cmocka_unit_test(test_mode_host),
		cmocka_unit_test(test_procfile_hybrid),
		cmocka_unit_test(test_procfile_v1_forms),
		cmocka_unit_test(test_procfile_too_long),
		cmocka_unit_test(test_mountinfo_nested),
		cmocka_unit_test(test_mountinfo_long),
		cmocka_unit_test(test_procfile_v2),
		cmocka_unit_test(test_v1_captured),
		cmocka_unit_test(test_v1_memory_keys),
		cmocka_unit_test(test_v1_edge),
		cmocka_unit_test(test_v1_blkio_recursive),
		cmocka_unit_test(test_v1_bounds),
		cmocka_unit_test(test_v1_gone),
		cmocka_unit_test(test_v2_full),
		cmocka_unit_test(test_v2_edge),
		cmocka_unit_test(test_v2_captured),
		cmocka_unit_test(test_v2_parsing),
		cmocka_unit_test(test_enable_controllers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
