/*
 * f_mount - rootfs mount option handling (src/mount.c): the option table
 * (flags set and cleared, propagation, bind + ro remount), the data
 * string built from the other options, its one-page limit, and long
 * overlay lowerdir lists made relative to their common parent.
 *
 * mount(2), umount2(2), chdir and fchdir are wrapped at the link: the
 * calls are recorded here, nothing is mounted and the cwd never changes.
 *
 * Input: parts separated by "%%" lines: the mount type, the source, the
 * target (2.x's Mount.target), then one option per part.  The corpus: the
 * mounts containerd sent in the suite (overlay from the snapshotter, bind
 * mounts) and long overlay lists like those of images with many layers.
 *
 * Checks: no mount(2) gets more than one page of data; the data is the
 * non-flag options in order, joined by commas, except that an overlay's
 * lowerdirs may be shortened: then the mount runs from the directory it
 * chdir'd to, and that directory joined with each shortened lowerdir
 * gives back the original one; a bind mount with "ro" ends with a
 * read-only bind remount (as containerd's mount_linux.go); after a chdir
 * there is always an fchdir back.
 */
// SEAMS:
// LDFLAGS: -Wl,--wrap=mount -Wl,--wrap=umount2 -Wl,--wrap=chdir -Wl,--wrap=fchdir
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fuzz.h"

#include "bounds.h"
#include "mount.h"
#include "scratch.h"

#define MAXOPTS	256
#define DATAMAX	(64u << 10)

int __wrap_mount(const char *src, const char *tgt, const char *type,
    unsigned long flags, const void *data);
int __wrap_umount2(const char *tgt, int flags);
int __wrap_chdir(const char *path);
int __wrap_fchdir(int fd);

static struct {
	unsigned long flags;
	size_t datalen;
	char data[DATAMAX];
	char type[64];
} calls[4];
static unsigned ncalls;
static char chdir_to[NS_PATH_MAX];
static unsigned nchdir, nfchdir;
static int fail_at = -1;

int
__wrap_mount(const char *src, const char *tgt, const char *type,
    unsigned long flags, const void *data)
{
	size_t n = data ? strlen(data) : 0;

	FZ_CHECK(src != NULL && tgt != NULL && type != NULL, "NULL argument");
	(void)strlen(src);
	(void)strlen(tgt);
	FZ_CHECK(n < 4096, "mount data of %zu bytes (one page is the limit)",
	    n);
	if (ncalls < 4) {
		calls[ncalls].flags = flags;
		calls[ncalls].datalen = n;
		memcpy(calls[ncalls].data, data ? data : "", n + 1);
		snprintf(calls[ncalls].type, sizeof(calls[0].type), "%s", type);
	}
	if ((int)ncalls++ == fail_at) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
__wrap_umount2(const char *tgt, int flags)
{
	(void)tgt;
	(void)flags;
	errno = EINVAL;
	return -1;
}

int
__wrap_chdir(const char *path)
{
	nchdir++;
	snprintf(chdir_to, sizeof(chdir_to), "%s", path);
	return 0;
}

int
__wrap_fchdir(int fd)
{
	(void)fd;
	nfchdir++;
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_setup("mount");
	return 0;
}

static char parts[3][NS_PATH_MAX + 1];
static char optbuf[MAXOPTS][4 * NS_PATH_MAX];
static const char *opts[MAXOPTS];
static char expect[DATAMAX * 2];

static bool
is_flag(const char *o)
{
	static const char *const flags[] = {
		"async", "atime", "bind", "defaults", "dev", "diratime",
		"dirsync", "exec", "mand", "noatime", "nodev", "nodiratime",
		"noexec", "nomand", "norelatime", "nostrictatime", "nosuid",
		"rbind", "relatime", "remount", "ro", "rw", "strictatime",
		"suid", "sync", "shared", "rshared", "private", "rprivate",
		"slave", "rslave", "unbindable", "runbindable",
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(o, flags[i]) == 0)
			return true;
	return false;
}

/* The original lowerdirs come back from the chdir'd dir + the short ones. */
static void
check_overlay(const char *data, const char *orig, const char *dir)
{
	const char *lo = strstr(data, "lowerdir="), *olo = strstr(orig,
	    "lowerdir=");
	size_t dl = strlen(dir);

	if (getenv("FUZZ_LOG"))
		fprintf(stderr, "chdir %s\ndata %s\norig %s\n", dir, data, orig);
	FZ_CHECK(lo && olo, "lowerdir lost");
	lo += 9;
	olo += 9;
	for (;;) {
		size_t a = strcspn(lo, ":,"), b = strcspn(olo, ":,");

		FZ_CHECK(dl + a == b && memcmp(olo, dir, dl) == 0 &&
		    memcmp(olo + dl, lo, a) == 0, "lowerdir %.*s is not %s + "
		    "%.*s", (int)b, olo, dir, (int)a, lo);
		lo += a;
		olo += b;
		FZ_CHECK((*lo == ':') == (*olo == ':'), "lowerdir count");
		if (*lo != ':')
			break;
		lo++;
		olo++;
	}
	FZ_CHECK(strcmp(lo, olo) == 0, "text after lowerdir changed");
	FZ_CHECK(strncmp(data, orig, (size_t)(strstr(orig, "lowerdir=") -
	    orig)) == 0, "text before lowerdir changed");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	unsigned nopts = 0, i;
	size_t en = 0;
	char err[768];
	bool bind = false, ro = false, too_long = false;
	int e;

	fail_at = size > 0 && (data[size - 1] & 0x80) ? (int)(data[0] & 3) : -1;
	for (i = 0; i < 3; i++)
		fz_part_str(&f, parts[i], sizeof(parts[i]), NULL);
	/* What task.c lets through: no NUL bytes, at most 16 KiB each. */
	while (nopts < MAXOPTS &&
	    fz_part_str(&f, optbuf[nopts], sizeof(optbuf[0]), NULL))
		opts[nopts] = optbuf[nopts], nopts++;
	expect[0] = '\0';
	for (i = 0; i < nopts; i++) {
		size_t l = strlen(opts[i]);

		if (strcmp(opts[i], "bind") == 0 || strcmp(opts[i], "rbind") == 0)
			bind = true;
		if (strcmp(opts[i], "ro") == 0)
			ro = true;
		if (strcmp(opts[i], "rw") == 0)
			ro = false;
		if (is_flag(opts[i]) || strcmp(opts[i], "loop") == 0)
			continue;
		if (en + l + 2 > DATAMAX)
			too_long = true;
		if (too_long)
			continue;
		if (en)
			expect[en++] = ',';
		memcpy(expect + en, opts[i], l + 1);
		en += l;
	}
	ncalls = nchdir = nfchdir = 0;
	chdir_to[0] = '\0';
	fz_guard(true);
	scratch_reset();
	e = mount_one("/run/nanoshim-fuzz/rootfs", parts[0], parts[1],
	    parts[2], opts, nopts, err, sizeof(err));
	FZ_CHECK(nchdir == nfchdir, "%u chdir, %u fchdir back", nchdir,
	    nfchdir);
	FZ_CHECK(e == 0 || strlen(err) > 0, "error %d without a message", e);
	if (e == 0 && ncalls > 0 && !(calls[0].flags & MS_REMOUNT) &&
	    calls[0].type[0] && strcmp(calls[0].type, parts[0]) == 0) {
		if (nchdir == 0)
			FZ_CHECK(strcmp(calls[0].data, expect) == 0,
			    "data '%.200s' is not the options '%.200s'",
			    calls[0].data, expect);
		else
			check_overlay(calls[0].data, expect, chdir_to);
	}
	/* Last comes the read-only remount (the only call for "remount"). */
	if (e == 0 && bind && ro)
		FZ_CHECK(ncalls >= 1 && ncalls <= 4 &&
		    (calls[ncalls - 1].flags & MS_REMOUNT) &&
		    (calls[ncalls - 1].flags & MS_RDONLY) &&
		    (calls[ncalls - 1].flags & MS_BIND),
		    "bind ro without a read-only remount");
	FZ_CHECK(mount_unmount_all("/run/nanoshim-fuzz/rootfs") == 0,
	    "unmount");
	fz_guard(false);
	return 0;
}
