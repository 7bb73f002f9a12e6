/*
 * test_mount - src/mount.c.
 *
 * Refusals (loop, fuse, a target escaping the rootfs, options too long)
 * return before mount(2) and run everywhere.  Real mounts run only as
 * root, and only inside a private mount namespace of this process
 * (unshare(CLONE_NEWNS), "/" made rprivate), so nothing leaks to the host
 * even if a test fails half way; they are skipped otherwise.  Results are
 * checked in /proc/self/mountinfo.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "mount.h"
#include "scratch.h"

#include "unit_known_bug.h"
#include "unit_tmp.h"

static bool can_mount;

/*
 * mount_one builds its strings in scratch, which the reactor empties
 * before every callback; each call here stands for one callback.
 */
static int
mnt(const char *rootfs, const char *type, const char *source,
    const char *target, const char *const *opts, unsigned nopts, char *e,
    size_t elen)
{
	scratch_reset();
	return mount_one(rootfs, type, source, target, opts, nopts, e, elen);
}
static char err[2048];

struct minfo {
	char opts[512];		/* per-mount options (field 6) */
	char optional[256];	/* optional fields (shared:N ...) */
	char fstype[64];
	char source[256];
	char super[8192];	/* super options */
	int count;		/* how many mounts are stacked there */
};

/* The top mount at path in /proc/self/mountinfo; false if none. */
static bool
mountinfo(const char *path, struct minfo *mi)
{
	static char buf[1 << 20];
	char *line, *save = NULL;

	memset(mi, 0, sizeof(*mi));
	assert_true(unit_read_file("/proc/self/mountinfo", buf,
	    sizeof(buf)) > 0);
	for (line = strtok_r(buf, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		char *f[64], *s2 = NULL, *p;
		int n = 0, i, dash = -1;

		for (p = strtok_r(line, " ", &s2); p && n < 64;
		    p = strtok_r(NULL, " ", &s2))
			f[n++] = p;
		if (n < 10 || strcmp(f[4], path) != 0)
			continue;
		for (i = 6; i < n; i++)
			if (strcmp(f[i], "-") == 0) {
				dash = i;
				break;
			}
		assert_true(dash > 0 && dash + 3 < n + 1);
		mi->count++;
		snprintf(mi->opts, sizeof(mi->opts), "%s", f[5]);
		mi->optional[0] = '\0';
		for (i = 6; i < dash; i++) {
			strncat(mi->optional, f[i], sizeof(mi->optional) -
			    strlen(mi->optional) - 2);
			strcat(mi->optional, " ");
		}
		snprintf(mi->fstype, sizeof(mi->fstype), "%s", f[dash + 1]);
		snprintf(mi->source, sizeof(mi->source), "%s", f[dash + 2]);
		snprintf(mi->super, sizeof(mi->super), "%s",
		    dash + 3 < n ? f[dash + 3] : "");
	}
	return mi->count > 0;
}

/* Is opt one of the comma-separated options in list? */
static bool
has_opt(const char *list, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = list;

	while (p && *p) {
		if (strncmp(p, opt, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

static const char *
mkdir_tmp(const char *name)
{
	const char *p = unit_path(name);

	if (mkdir(p, 0755) < 0)
		assert_int_equal(errno, EEXIST);
	return p;
}

static int
group_setup(void **state)
{
	(void)state;
	log_init(2, LOG_OFF, NULL);
	if (unit_tmp_make("mount") < 0)
		return -1;
	can_mount = geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	if (can_mount) {
		/* Our own tmpfs under the temp dir: works on any host fs,
		 * including an overlay root (overlay lowers on tmpfs). */
		can_mount = mount("none", unit_tmp, "tmpfs", 0, "size=64m") ==
		    0;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (can_mount)
		umount2(unit_tmp, MNT_DETACH);
	unit_tmp_remove();
	return 0;
}

#define NEED_MOUNT()	do {						\
	if (!can_mount) {						\
		print_message("not root, or no mount namespace\n");	\
		skip();							\
	}								\
} while (0)

/* --- refusals (no mount(2) is reached) ---------------------------------- */

static void
test_loop_refused(void **state)
{
	static const char *const o[] = { "ro", "loop" };

	(void)state;
	assert_int_equal(mnt(unit_tmp, "ext4", "/tmp/image.img", "",
	    o, 2, err, sizeof(err)), -EOPNOTSUPP);
	assert_string_equal(err, "loop mounts are not supported by nanoshim");
}

static void
test_fuse_refused(void **state)
{
	static const char *const o[] = { "ro" };

	(void)state;
	assert_int_equal(mnt(unit_tmp, "fuse.sshfs", "u@h:/x", "", o,
	    1, err, sizeof(err)), -EOPNOTSUPP);
	assert_string_equal(err, "mount type fuse.sshfs needs a mount helper, "
	    "which nanoshim does not run");
	assert_int_equal(mnt(unit_tmp, "fuse3.s3fs", "b", NULL, o, 0,
	    err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "fuse3.s3fs"));
}

static void
test_target_escape_refused(void **state)
{
	static const char *const bad[] = { "..", "../etc", "a/../../etc",
	    "/../x", "//..", "a/.." };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (mnt(unit_tmp, "tmpfs", "none", bad[i], NULL, 0, err,
		    sizeof(err)) != -EINVAL)
			fail_msg("target %s not refused", bad[i]);
		assert_non_null(strstr(err, "escapes rootfs"));
	}
	mnt(unit_tmp, "tmpfs", "none", "/../etc", NULL, 0, err,
	    sizeof(err));
	assert_string_equal(err, "mount target ../etc escapes rootfs");
}

static void
test_options_too_long(void **state)
{
	static char opt[100];
	static const char *o[700];
	int i;

	(void)state;
	memset(opt, 'o', sizeof(opt) - 1);
	opt[0] = 'x';
	opt[1] = '=';
	for (i = 0; i < 700; i++)
		o[i] = opt;
	/* Past one page of mount data. */
	assert_int_equal(mnt(unit_tmp, "tmpfs", "none", "", o, 50, err,
	    sizeof(err)), -E2BIG);
	assert_string_equal(err, "mount options is too long");
	/* Past what is collected at all (64 KiB). */
	assert_int_equal(mnt(unit_tmp, "tmpfs", "none", "", o, 700, err,
	    sizeof(err)), -E2BIG);
	assert_string_equal(err, "mount options too long");
}

static void
test_target_too_long(void **state)
{
	static char t[PATH_MAX + 10];

	(void)state;
	memset(t, 'a', sizeof(t) - 1);
	assert_int_equal(mnt(unit_tmp, "tmpfs", "none", t, NULL, 0, err,
	    sizeof(err)), -ENAMETOOLONG);
}

/* --- real mounts (root) ------------------------------------------------- */

static void
test_tmpfs_options(void **state)
{
	static const char *const o[] = { "size=1m", "ro", "nosuid" };
	static struct minfo mi;
	const char *d;

	(void)state;
	NEED_MOUNT();
	d = mkdir_tmp("t1");
	assert_int_equal(mnt(d, "tmpfs", "nanoshim-t1", "", o, 3, err,
	    sizeof(err)), 0);
	assert_true(mountinfo(d, &mi));
	assert_string_equal(mi.fstype, "tmpfs");
	assert_string_equal(mi.source, "nanoshim-t1");
	assert_true(has_opt(mi.opts, "ro"));
	assert_true(has_opt(mi.opts, "nosuid"));
	assert_false(has_opt(mi.opts, "nodev"));
	assert_true(has_opt(mi.super, "size=1024k"));
	assert_int_equal(mount_unmount_all(d), 0);
	assert_false(mountinfo(d, &mi));
}

/* Later options win: "rw" clears "ro", "suid" clears "nosuid". */
static void
test_flag_clearing(void **state)
{
	static const char *const o[] = { "ro", "nosuid", "nodev", "rw",
	    "suid", "noexec", "defaults", "mode=0700" };
	static struct minfo mi;
	const char *d;
	struct stat st;

	(void)state;
	NEED_MOUNT();
	d = mkdir_tmp("t2");
	assert_int_equal(mnt(d, "tmpfs", "none", NULL, o, 8, err,
	    sizeof(err)), 0);
	assert_true(mountinfo(d, &mi));
	assert_true(has_opt(mi.opts, "rw"));
	assert_false(has_opt(mi.opts, "nosuid"));
	assert_true(has_opt(mi.opts, "nodev"));
	assert_true(has_opt(mi.opts, "noexec"));
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(mount_unmount_all(d), 0);
}

/* containerd 2.x: the target is relative to the rootfs. */
static void
test_target_under_rootfs(void **state)
{
	static struct minfo mi;
	const char *root;
	static char where[PATH_MAX];

	(void)state;
	NEED_MOUNT();
	root = mkdir_tmp("r3");
	mkdir_tmp("r3/sub");
	mkdir_tmp("r3/sub/dir");
	snprintf(where, sizeof(where), "%s/sub/dir", root);
	assert_int_equal(mnt(root, "tmpfs", "none", "/sub/dir", NULL, 0,
	    err, sizeof(err)), 0);
	assert_true(mountinfo(where, &mi));
	assert_false(mountinfo(root, &mi));
	assert_int_equal(mount_unmount_all(where), 0);
}

/* A read-only bind needs a second, remount call. */
static void
test_bind_readonly(void **state)
{
	static const char *const o[] = { "rbind", "ro" };
	static struct minfo mi;
	const char *src, *dst;
	static char f[PATH_MAX];

	(void)state;
	NEED_MOUNT();
	src = mkdir_tmp("src4");
	dst = mkdir_tmp("dst4");
	snprintf(f, sizeof(f), "%s/hello", src);
	assert_int_equal(unit_write_file(f, "hi", 2, 0644), 0);
	assert_int_equal(mnt(dst, "none", src, "", o, 2, err,
	    sizeof(err)), 0);
	assert_true(mountinfo(dst, &mi));
	assert_true(has_opt(mi.opts, "ro"));
	snprintf(f, sizeof(f), "%s/hello", dst);
	assert_int_equal(access(f, F_OK), 0);
	snprintf(f, sizeof(f), "%s/new", dst);
	assert_true(unit_write_file(f, "x", 1, 0644) < 0);
	assert_int_equal(errno, EROFS);
	assert_int_equal(mount_unmount_all(dst), 0);
	assert_false(mountinfo(dst, &mi));
}

/* Propagation flags are applied by a call of their own. */
static void
test_propagation(void **state)
{
	static const char *const shared[] = { "bind", "shared" };
	static const char *const priv[] = { "bind", "rprivate" };
	static struct minfo mi;
	const char *src, *dst;

	(void)state;
	NEED_MOUNT();
	src = mkdir_tmp("src5");
	dst = mkdir_tmp("dst5");
	assert_int_equal(mnt(dst, "none", src, "", shared, 2, err,
	    sizeof(err)), 0);
	assert_true(mountinfo(dst, &mi));
	assert_non_null(strstr(mi.optional, "shared:"));
	assert_int_equal(mount_unmount_all(dst), 0);
	assert_int_equal(mnt(dst, "none", src, "", priv, 2, err,
	    sizeof(err)), 0);
	assert_true(mountinfo(dst, &mi));
	assert_null(strstr(mi.optional, "shared:"));
	assert_int_equal(mount_unmount_all(dst), 0);
}

static void
test_unmount_all(void **state)
{
	static struct minfo mi;
	const char *d;
	int i;

	(void)state;
	NEED_MOUNT();
	d = mkdir_tmp("t6");
	for (i = 0; i < 3; i++)
		assert_int_equal(mnt(d, "tmpfs", "none", "", NULL, 0,
		    err, sizeof(err)), 0);
	assert_true(mountinfo(d, &mi));
	assert_int_equal(mi.count, 3);
	assert_int_equal(mount_unmount_all(d), 0);
	assert_false(mountinfo(d, &mi));
	/* Nothing mounted, or no such path: done, not an error. */
	assert_int_equal(mount_unmount_all(d), 0);
	assert_int_equal(mount_unmount_all(unit_path("no-such-dir")), 0);
}

static void
test_mount_error_text(void **state)
{
	static const char *const o[] = { "nosuid", "size=1m" };
	static char want[PATH_MAX + 256];
	const char *d;

	(void)state;
	NEED_MOUNT();
	d = mkdir_tmp("t7");
	assert_int_equal(mnt(d, "nanoshimfs", "src7", "", o, 2, err,
	    sizeof(err)), -ENODEV);
	snprintf(want, sizeof(want), "failed to mount rootfs component: "
	    "mount source: \"src7\", target: \"%s\", fstype: nanoshimfs, "
	    "flags: %lu, data: \"size=1m\", err: %s", d,
	    (unsigned long)MS_NOSUID, strerror(ENODEV));
	assert_string_equal(err, want);
}

/*
 * Overlay with more lowerdirs than fit one page of mount data: the list
 * is made relative to a common parent and mounted from there (containerd
 * compactLowerdirOption).  Every layer must be visible and the cwd back.
 */
static int
make_layers(const char *base, int n, char *opt, size_t cap)
{
	static char p[PATH_MAX];
	size_t k;
	int i;

	k = (size_t)snprintf(opt, cap, "lowerdir=");
	mkdir(base, 0755);
	snprintf(p, sizeof(p), "%s/snapshots", base);
	mkdir(p, 0755);
	for (i = n; i >= 1; i--) {
		snprintf(p, sizeof(p), "%s/snapshots/%d", base, i);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/snapshots/%d/fs", base, i);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/snapshots/%d/fs/layer-%d", base, i,
		    i);
		if (unit_write_file(p, "x", 1, 0644) < 0)
			return -1;
		k += (size_t)snprintf(opt + k, cap - k, "%s%s/snapshots/%d/fs",
		    i == n ? "" : ":", base, i);
		if (k >= cap)
			return -1;
	}
	return 0;
}

static void
check_overlay(const char *base, const char *dst, int n)
{
	static char opt[32768];
	const char *o[1] = { opt };
	static char cwd0[PATH_MAX], cwd1[PATH_MAX], p[PATH_MAX];
	static struct minfo mi;
	int i, rc;

	assert_int_equal(make_layers(base, n, opt, sizeof(opt)), 0);
	assert_true(strlen(opt) > 4096);
	assert_non_null(getcwd(cwd0, sizeof(cwd0)));
	rc = mnt(dst, "overlay", "overlay", "", o, 1, err, sizeof(err));
	if (rc == -ENODEV) {
		print_message("no overlayfs: skipped\n");
		skip();
	}
	if (rc != 0)
		fail_msg("mount_one: %d: %s", rc, err);
	assert_non_null(getcwd(cwd1, sizeof(cwd1)));
	assert_string_equal(cwd0, cwd1);
	assert_true(mountinfo(dst, &mi));
	assert_string_equal(mi.fstype, "overlay");
	for (i = 1; i <= n; i++) {
		snprintf(p, sizeof(p), "%s/layer-%d", dst, i);
		if (access(p, F_OK) != 0)
			fail_msg("layer %d not visible", i);
	}
	assert_int_equal(mount_unmount_all(dst), 0);
}

static void
test_overlay_long_lowerdir(void **state)
{
	(void)state;
	NEED_MOUNT();
	check_overlay(unit_path("ovl8"), mkdir_tmp("m8"), 100);
}

/*
 * containerd takes path.Dir of the lowerdirs' longest common prefix
 * (".../snapshots/1" -> ".../snapshots/") and mounts "12/fs:13/fs".  A
 * list that fits one page that way must mount: 300 layers are 2.1 KB
 * for containerd, 5.1 KB as "snapshots/12/fs".
 */
static void
test_overlay_compact_like_containerd(void **state)
{
	(void)state;
	NEED_MOUNT();
	check_overlay(unit_path("o9"), mkdir_tmp("m9"), 300);
}

/*
 * containerd collects the options without a limit and only then
 * compacts; 200 layers under a long snapshotter root are ~19 KB before
 * and ~3.4 KB after (even as "snapshots/12/fs").
 */
static void
test_overlay_long_root(void **state)
{
	static char base[PATH_MAX];

	(void)state;
	NEED_MOUNT();
	snprintf(base, sizeof(base), "%s/io.containerd.snapshotter.v1."
	    "overlayfs.padding.padding", unit_tmp);
	check_overlay(base, mkdir_tmp("m10"), 200);
}

/*
 * A long list ending with an empty layer ("...:") is not shortened (that
 * dropped the empty layer and mounted what the kernel would refuse); it
 * is then too long for one page.  Found by tests/fuzz f_mount.
 */
static void
test_overlay_trailing_colon(void **state)
{
	static char opt[32768];
	const char *o[1] = { opt };
	const char *d;

	(void)state;
	NEED_MOUNT();
	assert_int_equal(make_layers(unit_path("o11"), 100, opt,
	    sizeof(opt) - 2), 0);
	strcat(opt, ":");
	d = mkdir_tmp("m11");
	assert_int_equal(mnt(d, "overlay", "overlay", "", o, 1, err,
	    sizeof(err)), -E2BIG);
	assert_int_equal(mount_unmount_all(d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_refused),
		cmocka_unit_test(test_fuse_refused),
		cmocka_unit_test(test_target_escape_refused),
		cmocka_unit_test(test_options_too_long),
		cmocka_unit_test(test_target_too_long),
		cmocka_unit_test(test_tmpfs_options),
		cmocka_unit_test(test_flag_clearing),
		cmocka_unit_test(test_target_under_rootfs),
		cmocka_unit_test(test_bind_readonly),
		cmocka_unit_test(test_propagation),
		cmocka_unit_test(test_unmount_all),
		cmocka_unit_test(test_mount_error_text),
		cmocka_unit_test(test_overlay_long_lowerdir),
		cmocka_unit_test(test_overlay_compact_like_containerd),
		cmocka_unit_test(test_overlay_long_root),
		cmocka_unit_test(test_overlay_trailing_colon),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
