/*
 * cgroup - where a container's cgroup is, and what it has used.
 *
 * Owns: cgroup mode detection (unified, hybrid, legacy — as containerd's
 * cgroups.Mode()), locating a process's cgroup from /proc/<pid>/cgroup,
 * fixed-buffer readers of cgroup files, and filling the Metrics messages
 * (io.containerd.cgroups.v1.Metrics on legacy/hybrid,
 * io.containerd.cgroups.v2.Metrics on unified) like the Go shim does
 * through containerd/cgroups.  No stdio, no opendir, no allocation: every
 * file is read with openat + read into a static buffer.
 */
#ifndef NS_CGROUP_H
#define NS_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <pb.h>

#include "bounds.h"

enum cg_mode { CG_UNAVAILABLE, CG_LEGACY, CG_HYBRID, CG_UNIFIED };

/*
 * A container's cgroup.  Unified: one path relative to the cgroup2 root.
 * Legacy/hybrid: the path of each v1 controller relative to its
 * hierarchy's mount point (runc usually uses the same path for all).
 */
enum cg_ctl {
	CGC_CPU, CGC_CPUACCT, CGC_MEMORY, CGC_PIDS, CGC_BLKIO, CGC_HUGETLB,
	CGC_CPUSET, CGC_RDMA, CGC_MAX
};

struct cgroup_ref {
	bool cr_valid;
	/*
	 * v1 per controller; v2 uses [0].  256 bytes each: kubepods and systemd
	 * slice paths stay well below; a longer one is refused (no cgroup).
	 */
	char cr_path[CGC_MAX][256];
};

/* Startup: detect the mode and find each v1 hierarchy's mount point. */
void cgroup_init(void);
/*
 * For tests: use root as /sys/fs/cgroup and mountinfo as the mount table
 * (mount points under /sys/fs/cgroup in it are taken under root).  A
 * fixture directory is never a cgroup2 mount, so here the mode also
 * believes the table's cgroup2 lines; cgroup_init asks statfs only.
 */
void cgroup_init_at(const char *root, const char *mountinfo);
/*
 * For tests, before cgroup_init_at: list huge page sizes in hugepages
 * (instead of /sys/kernel/mm/hugepages) and name block devices from the
 * file partitions (instead of /proc/partitions).  NULL: the host's.
 */
void cgroup_set_host_paths(const char *hugepages, const char *partitions);
enum cg_mode cgroup_mode(void);
/*
 * Move pid into the cgroup at path (the runc option ShimCgroup, relative
 * to each hierarchy's mount point), as the Go shim's start does: cgroup v2
 * (unified): that one cgroup; v1 and hybrid: every v1 hierarchy, named
 * ones included, in which the cgroup exists.  0, or -errno with the Go
 * shim's message in err ("failed to load cgroup X: cgroup deleted" when it
 * exists nowhere, "failed to join cgroup X: ..." when a write fails).
 */
int cgroup_join(const char *path, pid_t pid, char *err, size_t cap);

/*
 * Fill ref from /proc/<pid>/cgroup.  0, or -ENOENT (no such process, or
 * no line for a controller we know), -EINVAL (malformed line),
 * -ENAMETOOLONG (a path longer than cr_path), other -errno of the read.
 */
int cgroup_locate(pid_t pid, struct cgroup_ref *ref);
/* Same from a /proc/<pid>/cgroup file's text (for tests). */
int cgroup_parse_procfile(const char *text, size_t len,
    struct cgroup_ref *ref);
/*
 * The absolute directory of controller ctl of ref (v2: the one cgroup
 * dir).  0 or -ENOENT when that controller is not mounted.
 */
int cgroup_dir(const struct cgroup_ref *ref, enum cg_ctl ctl, char *dst,
    size_t cap);

/*
 * Read the container's usage.  On success *fields and *msg point at a static
 * Metrics message (v1 or v2 by mode) and *type_url names it
 * ("io.containerd.cgroups.v1.Metrics"); they stay valid until the next
 * call.  Missing or unreadable files leave their fields zero.  -ENOENT
 * when the cgroup itself is gone.
 */
int cgroup_metrics(const struct cgroup_ref *ref, const pb_msgdesc_t **fields,
    const void **msg, const char **type_url);

/*
 * cgroup v2: write "+<every controller>" to cgroup.subtree_control of each
 * ancestor of ref (best effort, as the Go shim does at init start).
 */
void cgroup_enable_controllers(const struct cgroup_ref *ref);

#endif
