/*
 * f_cgroup - the cgroup v1 and v2 file parsers behind Stats
 * (src/cgroup.c: memory.stat, cpu.stat, cpuacct.*, pids.*, blkio.*,
 * io.stat, hugetlb.*, rdma.*, memory.events, /proc/partitions, huge page
 * directory names) and the v2 OOM watcher's reading of memory.events and
 * cgroup.events (src/oom.c).
 *
 * The cgroup fixture tree (tests/fixtures/cgroup: files captured from a
 * real v1 host, synthesized v2 ones) is copied to the private tmpfs dir
 * once; each input overwrites some of its files, Stats is read through
 * cgroup_metrics exactly as the Stats call does, and the files are put
 * back.
 *
 * Input: parts separated by "%%" lines.  The first part names the layout:
 * "v1" (the hybrid host, hugetlb mounted) or "v2" (a unified host).  Each
 * further part is a file: its first line the name, the rest its content.
 * v1 names are "<controller>/<file>" (memory/memory.stat), v2 names the
 * file of the container's cgroup (io.stat); "partitions" is the block
 * device table and "hugepages/<dir>" adds a huge page size directory.
 *
 * Checks: Stats succeeds for the container's cgroup and its Metrics
 * encode within the 64 KiB reply limit; the OOM check reads the events
 * files without trouble.
 */
// SEAMS:
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#include "bounds.h"
#include "cgroup.h"
#include "oom.h"
#include "pbs.h"
#include "pool.h"
#include "reactor.h"
#include "scratch.h"

#define MAXFILES 32

static char fx[4096];		/* the working copy */
static const char *pristine;	/* the repository's fixtures */
static char procv1[4096], procv2[4096];
static size_t procv1_len, procv2_len;
static uint8_t enc[NS_REPLY_MAX];
static unsigned ooms;
static struct {
	char rel[256];
	bool dir;
} touched[MAXFILES];
static unsigned ntouched;
static int inited_as = -1;	/* the layout cgroup_init_at last read */
static bool huge_prev, huge_now;	/* an input added huge page sizes */

static void
on_oom(handle_t owner)
{
	(void)owner;
	ooms++;
}

static size_t
read_whole(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char cmd[8192], p[4096];

	(void)argc;
	(void)argv;
	fz_setup("cgroup");
	pristine = getenv("FUZZ_FIXTURES");
	if (pristine == NULL)
		pristine = "tests/fixtures/cgroup";
	snprintf(fx, sizeof(fx), "%s", fz_path("fx"));
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", pristine, fx);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot copy %s\n", pristine);
		exit(1);
	}
	snprintf(p, sizeof(p), "%s/v1-proc-cgroup-hugetlb", fx);
	procv1_len = read_whole(p, procv1, sizeof(procv1));
	snprintf(p, sizeof(p), "%s/v2-proc-cgroup", fx);
	procv2_len = read_whole(p, procv2, sizeof(procv2));
	reactor_init(64);
	oom_init(4, on_oom);
	return 0;
}

/* A name we may write: letters, digits, '.', '_', '-', one '/'. */
static bool
name_ok(const char *n, bool v1)
{
	unsigned slash = 0;

	if (*n == '\0' || *n == '.' || strstr(n, ".."))
		return false;
	for (const char *c = n; *c; c++) {
		if (*c == '/') {
			slash++;
			continue;
		}
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
		    *c == '-'))
			return false;
	}
	if (strncmp(n, "hugepages/", 10) == 0)
		return slash == 1 && n[10];
	return v1 ? slash == 1 && n[strlen(n) - 1] != '/' : slash == 0;
}

/* Where a name goes, relative to fx. */
static void
rel_of(const char *name, bool v1, char *rel, size_t cap)
{
	if (strcmp(name, "partitions") == 0 ||
	    strncmp(name, "hugepages/", 10) == 0)
		snprintf(rel, cap, "%s", name);
	else if (v1)
		snprintf(rel, cap, "v1/%.*s/nanoshim-fixture%s",
		    (int)(strchr(name, '/') - name), name, strchr(name, '/'));
	else
		snprintf(rel, cap, "v2/default/ctr1/%s", name);
}

static void
put_file(const char *name, const uint8_t *p, size_t n, bool v1)
{
	char rel[256], path[4600];

	if (ntouched == MAXFILES || !name_ok(name, v1))
		return;
	rel_of(name, v1, rel, sizeof(rel));
	snprintf(path, sizeof(path), "%s/%s", fx, rel);
	snprintf(touched[ntouched].rel, sizeof(touched[0].rel), "%s", rel);
	touched[ntouched].dir = strncmp(name, "hugepages/", 10) == 0;
	if (touched[ntouched].dir) {
		huge_now = true;
		if (mkdir(path, 0755) == 0)
			ntouched++;
		return;
	}
	ntouched++;
	if (fz_write(path, p, n) < 0) {
		/* A controller directory that does not exist: leave it. */
		ntouched--;
	}
}

/* Put every touched file back as the fixtures have it. */
static void
restore(void)
{
	static char buf[1 << 16];

	while (ntouched > 0) {
		char work[4600], orig[4600];
		int fd;
		ssize_t n;

		ntouched--;
		snprintf(work, sizeof(work), "%s/%s", fx, touched[ntouched].rel);
		if (touched[ntouched].dir) {
			rmdir(work);
			continue;
		}
		snprintf(orig, sizeof(orig), "%s/%s", pristine,
		    touched[ntouched].rel);
		fd = open(orig, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			unlink(work);
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		close(fd);
		fz_write(work, buf, n > 0 ? (size_t)n : 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	char mode[16], root[4600], mi[4600], hp[4600], parts[4600];
	const pb_msgdesc_t *fields;
	const void *msg;
	const char *url, *err;
	struct cgroup_ref ref;
	const uint8_t *p;
	size_t n, len;
	handle_t w;
	bool v1;
	int e;

	huge_now = false;
	fz_part_str(&f, mode, sizeof(mode), NULL);
	v1 = strcmp(mode, "v2") != 0;
	while (fz_part(&f, &p, &n)) {
		const uint8_t *nl = memchr(p, '\n', n);
		char name[128];
		size_t k = nl ? (size_t)(nl - p) : n;

		if (k >= sizeof(name))
			continue;
		memcpy(name, p, k);
		name[k] = '\0';
		put_file(name, nl ? nl + 1 : p + n, nl ? n - k - 1 : 0, v1);
	}
	snprintf(root, sizeof(root), "%s/%s", fx, v1 ? "v1" : "v2");
	snprintf(mi, sizeof(mi), "%s/%s", fx, v1 ? "v1-mountinfo-hugetlb" :
	    "v2-mountinfo");
	snprintf(hp, sizeof(hp), "%s/hugepages", fx);
	snprintf(parts, sizeof(parts), "%s/partitions", fx);
	/* Reading the mount table and huge page sizes again only when they
	 * differ from what the last init read: the same state either way. */
	if (inited_as != (int)v1 || huge_prev || huge_now) {
		cgroup_set_host_paths(hp, parts);
		cgroup_init_at(root, mi);
		inited_as = v1;
	}
	huge_prev = huge_now;
	FZ_CHECK(cgroup_parse_procfile(v1 ? procv1 : procv2, v1 ? procv1_len :
	    procv2_len, &ref) == 0, "fixture /proc/pid/cgroup");

	fz_guard(true);
	scratch_reset();
	e = cgroup_metrics(&ref, &fields, &msg, &url);
	FZ_CHECK(e == 0, "Stats of the fixture cgroup failed: %d", e);
	FZ_CHECK(strcmp(url, v1 ? "io.containerd.cgroups.v1.Metrics" :
	    "io.containerd.cgroups.v2.Metrics") == 0, "type URL %s", url);
	e = pbs_encode(fields, msg, enc, sizeof(enc), &len, &err);
	FZ_CHECK(e == 0, "Metrics do not encode in %zu bytes: %s",
	    sizeof(enc), err);
	if (!v1) {
		scratch_reset();
		if (oom_watch(1, &ref, &w) == 0) {
			scratch_reset();
			oom_poll(w);
			scratch_reset();
			oom_unwatch(w);
		}
	}
	fz_guard(false);
	restore();
	return 0;
}
