/*
 * oom - noticing that the kernel OOM-killed inside a container's cgroup.
 *
 * Owns: cgroup v1's eventfd registered through cgroup.event_control on
 * memory.oom_control, cgroup v2's inotify watch on memory.events (an OOM
 * is oom_kill going up), both fds in the loop, and telling the owner.
 * Does not own: publishing TaskOOM (the callback does).
 *
 * Mirrors pkg/oom/v1/v1.go and pkg/oom/v2/v2.go (spec 8).
 */
#ifndef NS_OOM_H
#define NS_OOM_H

#include <stdbool.h>

#include "cgroup.h"
#include "pool.h"

/* Called once per OOM kill seen, with the owner given to oom_watch. */
typedef void oom_fn(handle_t owner);

void oom_init(uint32_t max_watches, oom_fn *fn);
/*
 * Start watching ref's memory cgroup for owner.  0 and the watch handle,
 * or -errno (no memory controller: the caller only logs it).
 */
int oom_watch(handle_t owner, const struct cgroup_ref *ref, handle_t *out);
/* Look now (without waiting for the loop) and report a pending OOM. */
void oom_poll(handle_t watch);
void oom_unwatch(handle_t watch);

#endif
