/*
 * mount - see mount.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "mount.h"
#include "scratch.h"

#define MOUNT_DATA	4096u	/* mount(2) copies one page of data */
/* Options as they come, before overlay lowerdirs are made relative. */
#define MOUNT_OPTS_MAX	(64u << 10)

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flags[] = {
	{ "async", true, MS_SYNCHRONOUS },
	{ "atime", true, MS_NOATIME },
	{ "bind", false, MS_BIND },
	{ "defaults", false, 0 },
	{ "dev", true, MS_NODEV },
	{ "diratime", true, MS_NODIRATIME },
	{ "dirsync", false, MS_DIRSYNC },
	{ "exec", true, MS_NOEXEC },
	{ "mand", false, MS_MANDLOCK },
	{ "noatime", false, MS_NOATIME },
	{ "nodev", false, MS_NODEV },
	{ "nodiratime", false, MS_NODIRATIME },
	{ "noexec", false, MS_NOEXEC },
	{ "nomand", true, MS_MANDLOCK },
	{ "norelatime", true, MS_RELATIME },
	{ "nostrictatime", true, MS_STRICTATIME },
	{ "nosuid", false, MS_NOSUID },
	{ "rbind", false, MS_BIND | MS_REC },
	{ "relatime", false, MS_RELATIME },
	{ "remount", false, MS_REMOUNT },
	{ "ro", false, MS_RDONLY },
	{ "rw", true, MS_RDONLY },
	{ "strictatime", false, MS_STRICTATIME },
	{ "suid", true, MS_NOSUID },
	{ "sync", false, MS_SYNCHRONOUS },
	{ "shared", false, MS_SHARED },
	{ "rshared", false, MS_SHARED | MS_REC },
	{ "private", false, MS_PRIVATE },
	{ "rprivate", false, MS_PRIVATE | MS_REC },
	{ "slave", false, MS_SLAVE },
	{ "rslave", false, MS_SLAVE | MS_REC },
	{ "unbindable", false, MS_UNBINDABLE },
	{ "runbindable", false, MS_UNBINDABLE | MS_REC },
};

/* Append s (and a comma before it unless first) to data. */
static int
data_add(char *data, size_t *n, const char *s, size_t len)
{
	if (*n + len + 2 > MOUNT_OPTS_MAX)
		return -E2BIG;
	if (*n > 0)
		data[(*n)++] = ',';
	memcpy(data + *n, s, len);
	*n += len;
	data[*n] = '\0';
	return 0;
}

/*
 * Rewrite "lowerdir=/a/x/1:/a/x/2" as relative to the parent of the
 * lowerdirs' longest common prefix; the mount is then made from there.
 * Returns the length of that parent (with its trailing /), 0 if nothing
 * could be shortened.
 */
static size_t
overlay_compact(char *data, size_t *n, char *common, size_t cap)
{
	char *lo = strstr(data, "lowerdir="), *p, *end, *q;
	char *tmp = scratch_alloc(MOUNT_OPTS_MAX);
	size_t plen = 0, k = 0;
	bool first = true;

	if (lo == NULL || (lo != data && lo[-1] != ','))
		return 0;
	lo += 9;
	end = strchr(lo, ',');
	if (end == NULL)
		end = data + *n;
	/*
	 * An empty last layer ("a:b:") would be dropped by the rebuild below,
	 * turning a list the kernel refuses into one it takes: leave it.
	 */
	if (end > lo && end[-1] == ':')
		return 0;
	/* Longest common prefix of the ':'-separated dirs. */
	for (p = lo; p < end; p = q + 1) {
		size_t i = 0;

		q = memchr(p, ':', (size_t)(end - p));
		if (q == NULL)
			q = end;
		if (first) {
			plen = (size_t)(q - p);
			memcpy(common, p, plen < cap ? plen : cap - 1);
			first = false;
		} else {
			while (i < plen && p + i < q && p[i] == common[i])
				i++;
			plen = i;
		}
		if (q == end)
			break;
	}
	/*
	 * path.Dir of the common prefix, as containerd takes it: up to and
	 * including its last '/' (".../snapshots/1" of ".../snapshots/12/fs"
	 * and ".../snapshots/13/fs" gives ".../snapshots/").
	 */
	while (plen > 0 && common[plen - 1] != '/')
		plen--;
	if (plen <= 1 || plen >= cap)
		return 0;
	common[plen] = '\0';
	/* Rebuild: text before, relative dirs, text after. */
	memcpy(tmp, data, (size_t)(lo - data));
	k = (size_t)(lo - data);
	for (p = lo; p < end; p = q + 1) {
		q = memchr(p, ':', (size_t)(end - p));
		if (q == NULL)
			q = end;
		if ((size_t)(q - p) < plen || memcmp(p, common, plen) != 0)
			return 0;
		if (p != lo)
			tmp[k++] = ':';
		memcpy(tmp + k, p + plen, (size_t)(q - p) - plen);
		k += (size_t)(q - p) - plen;
		if (q == end)
			break;
	}
	memcpy(tmp + k, end, (size_t)(data + *n - end));
	k += (size_t)(data + *n - end);
	memcpy(data, tmp, k);
	data[k] = '\0';
	*n = k;
	return plen;
}

int
mount_one(const char *rootfs, const char *type, const char *source,
    const char *target, const char *const *opts, unsigned nopts, char *err,
    size_t errlen)
{
	char *data = scratch_alloc(MOUNT_OPTS_MAX);
	const unsigned long ptypes = MS_SHARED | MS_PRIVATE | MS_SLAVE |
	    MS_UNBINDABLE;
	char *where, *common = scratch_alloc(NS_PATH_MAX);
	unsigned long flags = 0;
	size_t n = 0, c = 0;
	unsigned i, j;
	int cwd = -1, rc = 0;

	data[0] = '\0';
	if (target && *target) {
		while (*target == '/')
			target++;
		if (strstr(target, "..")) {
			snprintf(err, errlen, "mount target %s escapes rootfs",
			    target);
			return -EINVAL;
		}
	}
	where = scratch_printf("%s%s%s", rootfs, target && *target ? "/" : "",
	    target ? target : "");
	if (strlen(where) >= NS_PATH_MAX) {
		snprintf(err, errlen, "mount target too long");
		return -ENAMETOOLONG;
	}
	if (strncmp(type, "fuse.", 5) == 0 || strncmp(type, "fuse3.", 6) == 0) {
		snprintf(err, errlen, "mount type %s needs a mount helper, "
		    "which nanoshim does not run", type);
		return -EOPNOTSUPP;
	}
	for (i = 0; i < nopts; i++) {
		for (j = 0; j < sizeof(mount_flags) / sizeof(mount_flags[0]);
		    j++)
			if (strcmp(opts[i], mount_flags[j].name) == 0)
				break;
		if (j < sizeof(mount_flags) / sizeof(mount_flags[0])) {
			if (mount_flags[j].clear)
				flags &= ~mount_flags[j].flag;
			else
				flags |= mount_flags[j].flag;
		} else if (strcmp(opts[i], "loop") == 0) {
			snprintf(err, errlen, "loop mounts are not supported "
			    "by nanoshim");
			return -EOPNOTSUPP;
		} else if (data_add(data, &n, opts[i], strlen(opts[i])) < 0) {
			snprintf(err, errlen, "mount options too long");
			return -E2BIG;
		}
	}
	if (strcmp(type, "overlay") == 0 && n >= MOUNT_DATA - 512)
		c = overlay_compact(data, &n, common, NS_PATH_MAX);
	if (n >= MOUNT_DATA) {
		snprintf(err, errlen, "mount options is too long");
		return -E2BIG;
	}
	if (c > 0) {
		/* Single-threaded: changing cwd for one call is safe. */
		cwd = open(".", O_PATH | O_CLOEXEC);
		if (cwd < 0 || chdir(common) < 0) {
			rc = -errno;
			snprintf(err, errlen, "chdir %s: %s", common,
			    strerror(errno));
			goto out;
		}
	}
	if (!(flags & MS_REMOUNT) || n > 0) {
		if (mount(source, where, type, flags & ~ptypes,
		    n ? data : NULL) < 0) {
			rc = -errno;
			snprintf(err, errlen, "failed to mount rootfs "
			    "component: mount source: \"%s\", target: \"%s\", "
			    "fstype: %s, flags: %lu, data: \"%.200s\", err: %s",
			    source, where, type, flags & ~ptypes, data,
			    strerror(errno));
			goto out;
		}
	}
	if ((flags & ptypes) &&
	    mount("", where, "", flags & (ptypes | MS_REC | MS_SILENT),
	    NULL) < 0) {
		rc = -errno;
		snprintf(err, errlen, "failed to set propagation on %s: %s",
		    where, strerror(errno));
		goto out;
	}
	if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
	    mount("", where, "", flags | MS_REMOUNT, NULL) < 0) {
		rc = -errno;
		snprintf(err, errlen, "failed to remount %s read-only: %s",
		    where, strerror(errno));
	}
out:
	if (cwd >= 0) {
		if (fchdir(cwd) < 0)
			log_warn("fchdir back");
		close(cwd);
	}
	return rc;
}

int
mount_unmount_all(const char *target)
{
	unsigned i;

	/* Stacked mounts come off one at a time. */
	for (i = 0; i < 64; i++) {
		if (umount2(target, 0) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			return 0;
		if (errno == EBUSY && umount2(target, MNT_DETACH) == 0)
			continue;
		return -errno;
	}
	return -EBUSY;
}
