/*
 * mount - the container's rootfs mounts.
 *
 * Owns: turning containerd.types.Mount options into mount(2) flags and
 * data (the option table of containerd's mount_linux.go), long overlay
 * lowerdir lists (mounted relative to their common parent, as containerd
 * does, so the data fits mount(2)'s one page), and unmounting everything
 * on a target.  Does not own: which mounts a container has (task).
 */
#ifndef NS_MOUNT_H
#define NS_MOUNT_H

#include <stddef.h>

/*
 * Mount source (of type, with opts) on rootfs, or on rootfs/target when
 * target is not empty (containerd 2.x).  0, or -errno with err filled.
 */
int mount_one(const char *rootfs, const char *type, const char *source,
    const char *target, const char *const *opts, unsigned nopts, char *err,
    size_t errlen);
/* Unmount target until nothing is mounted there.  0 or -errno. */
int mount_unmount_all(const char *target);

#endif
