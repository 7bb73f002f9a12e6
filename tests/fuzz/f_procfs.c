/*
 * f_procfs - the readers of /proc/<pid>/cgroup and /proc/self/mountinfo
 * (src/cgroup.c): cgroup_parse_procfile, which finds a container's
 * cgroup for Stats and OOM; the mount table reader behind cgroup mode
 * detection and each v1 hierarchy's mount point and root (octal escapes,
 * optional fields, lines longer than the read buffer); and cgroup_join,
 * which reads the table again to move the shim into ShimCgroup.
 *
 * The cgroup root is a copy of the v1 fixture tree in the private tmpfs
 * dir: mount points under /sys/fs/cgroup in the fuzzed table are looked
 * up there, and every controller directory there has a "fuzz-cg" cgroup
 * for cgroup_join to write to (no such cgroup exists on the host, so a
 * table naming other mount points joins nothing real).
 *
 * Input: parts separated by "%%" lines: /proc/<pid>/cgroup, then
 * mountinfo.  The corpus: this host's files, the fixtures' v1, hybrid,
 * legacy and v2 tables, a nested cgroup namespace, escapes.
 *
 * Checks: a parsed cgroup has a path starting with '/' for every
 * controller it found; cgroup_dir gives NUL-terminated paths inside
 * their buffer; cgroup_join succeeds or says why.
 */
// SEAMS:
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#include "bounds.h"
#include "cgroup.h"
#include "scratch.h"

static char root[4096], mi[4096];
static char text[1 << 16];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *pristine = getenv("FUZZ_FIXTURES");
	char cmd[8192];

	(void)argc;
	(void)argv;
	fz_setup("procfs");
	if (pristine == NULL)
		pristine = "tests/fixtures/cgroup";
	snprintf(root, sizeof(root), "%s", fz_path("v1"));
	snprintf(mi, sizeof(mi), "%s", fz_path("mountinfo"));
	/* The fixture tree, and a joinable "fuzz-cg" in every hierarchy. */
	snprintf(cmd, sizeof(cmd), "cp -a '%s/v1' '%s' && for d in '%s'/* "
	    "'%s'; do mkdir -p \"$d/fuzz-cg\" && : >\"$d/fuzz-cg/cgroup.procs\";"
	    " done", pristine, root, root, root);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot set up %s\n", root);
		exit(1);
	}
	cgroup_set_host_paths(fz_path("none"), fz_path("none"));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	const uint8_t *pc, *mt;
	size_t pcl = 0, mtl = 0;
	struct cgroup_ref ref;
	char dir[NS_PATH_MAX], err[NS_PATH_MAX + 128];
	int e;

	if (!fz_part(&f, &pc, &pcl))
		pc = (const uint8_t *)"";
	if (!fz_part(&f, &mt, &mtl))
		mt = (const uint8_t *)"";
	if (pcl > sizeof(text))
		pcl = sizeof(text);
	memcpy(text, pc, pcl);
	if (fz_write(mi, mt, mtl) < 0)
		abort();
	scratch_reset();
	cgroup_init_at(root, mi);

	fz_guard(true);
	scratch_reset();
	e = cgroup_parse_procfile(text, pcl, &ref);
	if (e == 0) {
		FZ_CHECK(ref.cr_valid, "parsed but not valid");
		for (int c = 0; c < CGC_MAX; c++) {
			size_t l = strnlen(ref.cr_path[c], sizeof(ref.cr_path[c]));

			FZ_CHECK(l < sizeof(ref.cr_path[c]), "path %d unterminated",
			    c);
			FZ_CHECK(l == 0 || ref.cr_path[c][0] == '/',
			    "path %d is %s", c, ref.cr_path[c]);
			if (cgroup_dir(&ref, (enum cg_ctl)c, dir, sizeof(dir)) == 0)
				FZ_CHECK(strnlen(dir, sizeof(dir)) < sizeof(dir),
				    "dir");
		}
	} else {
		FZ_CHECK(!ref.cr_valid, "failed but valid");
	}
	scratch_reset();
	err[0] = '\0';
	e = cgroup_join("/fuzz-cg", 1, err, sizeof(err));
	FZ_CHECK(e == 0 || err[0] != '\0', "join failed without a message");
	fz_guard(false);
	return 0;
}
