/*
 * oom - see oom.h.
 *
 * Owns: one watch per container init, each with one fd in the loop: on
 * cgroup v1 (legacy and hybrid hosts) an eventfd registered through the
 * memory cgroup's cgroup.event_control for memory.oom_control, on cgroup
 * v2 an inotify instance on memory.events and cgroup.events.  Does not
 * own: what an OOM means for the container (the callback decides, and
 * publishes TaskOOM), or where the cgroup is (cgroup).
 *
 * Mirrors pkg/oom/v1/v1.go (with cgroups memory.go memoryEvent and
 * cgroup.go State) and pkg/oom/v2/v2.go (with cgroups v2/manager.go
 * MemoryEventFD, waitForEvents, isCgroupEmpty); spec 8.
 *
 * Limit: the pool holds max_watches watches (oom_init), one per
 * container; main sizes it like the container pool.  A full pool makes
 * oom_watch fail with -ENOSPC, which the caller logs: that container runs
 * without OOM events, nothing else breaks.  Each watch holds one fd.  On
 * v2 that fd is an inotify instance, and the kernel caps those per user
 * (fs.inotify.max_user_instances, often 128): past it oom_watch fails
 * with -EMFILE, as the Go shim's watcher would.
 *
 * Ordering: the owner calls oom_poll just before it publishes an init's
 * exit.  By then the kernel has already counted the kill (the OOM killer
 * signals the eventfd and bumps memory.events before the victim dies),
 * so TaskOOM is published before that container's TaskExit even when the
 * loop has not seen the fd become readable yet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "layout.h"
#include "cgroup.h"
#include "log.h"
#include "oom.h"
#include "scratch.h"
#include "reactor.h"

/* A cgroup directory: a mount point plus a cgroup_ref path (512 each). */
#define OOM_DIR_MAX	512u	/* a mount point (255) + a cgroup path (256) */
/* memory.events is six short lines; inotify records are 16 bytes. */
#define OOM_BUF		4096u

struct oomw {
	struct rfd ow_fd;	/* eventfd (v1) or inotify instance (v2) */
	handle_t ow_owner;
	bool ow_v2;
	uint64_t ow_last;	/* v2: the last oom_kill count seen */
	char ow_dir[OOM_DIR_MAX];	/* memory cgroup (v1), cgroup (v2) */
};

static struct pool oom_pool;
static oom_fn *oom_cb;
/* Scratch buffers, taken at each entry point (scratch.h). */
static char *oom_path;
static char *oom_buf;

static void
oom_scratch(void)
{
	oom_path = scratch_alloc(OOM_DIR_MAX + 64);
	oom_buf = scratch_alloc(OOM_BUF);
}

static void oom_event(handle_t h, uint32_t events);

NS_IDLE void
oom_init(uint32_t max_watches, oom_fn *fn)
{
	pool_init(&oom_pool, "oom watches", K_OOM, sizeof(struct oomw),
	    max_watches);
	oom_cb = fn;
	reactor_handler(K_OOM, oom_event);
}

/* dir/name into oom_path; -ENAMETOOLONG if it does not fit. */
static int
oom_join(const char *dir, const char *name)
{
	int n = snprintf(oom_path, (OOM_DIR_MAX + 64), "%s/%s", dir, name);

	return n < 0 || (size_t)n >= (OOM_DIR_MAX + 64) ? -ENAMETOOLONG : 0;
}

/*
 * v1: an eventfd the kernel signals on every OOM in the memory cgroup
 * (memory.go memoryEvent).  "<efd> <fd of memory.oom_control> " goes to
 * cgroup.event_control; the trailing space is the empty argument Go
 * writes.  Returns the eventfd or -errno.
 */
static int
oom_arm_v1(const char *dir)
{
	char line[64];
	int efd, ofd, cfd, n, e;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return -errno;
	if ((e = oom_join(dir, "memory.oom_control")) < 0)
		goto out_close_efd;
	ofd = open(oom_path, O_RDONLY | O_CLOEXEC);
	if (ofd < 0) {
		e = -errno;
		goto out_close_efd;
	}
	if ((e = oom_join(dir, "cgroup.event_control")) < 0)
		goto out_close_ofd;
	cfd = open(oom_path, O_WRONLY | O_CLOEXEC);
	if (cfd < 0) {
		e = -errno;
		goto out_close_ofd;
	}
	n = snprintf(line, sizeof(line), "%d %d ", efd, ofd);
	do {
		e = write(cfd, line, (size_t)n) == n ? 0 : -errno;
	} while (e == -EINTR);
	close(cfd);
	if (e < 0)
		goto out_close_ofd;
	/* The kernel keeps its own reference to memory.oom_control. */
	close(ofd);
	return efd;

out_close_ofd:
	close(ofd);
out_close_efd:
	close(efd);
	return e;
}

/*
 * v2: IN_MODIFY on memory.events (an OOM kill bumps oom_kill) and on
 * cgroup.events (populated goes to 0 when the cgroup empties), like
 * v2/manager.go MemoryEventFD.  Returns the inotify fd or -errno.
 */
static int
oom_arm_v2(const char *dir)
{
	static const char *const files[] = { "memory.events",
		"cgroup.events" };
	int ifd, e;
	size_t i;

	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0)
		return -errno;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((e = oom_join(dir, files[i])) < 0)
			goto out_close_ifd;
		if (inotify_add_watch(ifd, oom_path, IN_MODIFY) < 0) {
			e = -errno;
			goto out_close_ifd;
		}
	}
	return ifd;

out_close_ifd:
	close(ifd);
	return e;
}

int
oom_watch(handle_t owner, const struct cgroup_ref *ref, handle_t *out)
{
	enum cg_mode mode = cgroup_mode();
	struct oomw *w;
	handle_t h;
	int fd, e;

	*out = HANDLE_NONE;
	if (mode == CG_UNAVAILABLE)
		return -ENOENT;
	oom_scratch();
	h = pool_take(&oom_pool);
	if (h == HANDLE_NONE) {
		log_warnx("%s: limit of %u reached", oom_pool.pl_name,
		    oom_pool.pl_cap);
		return -ENOSPC;
	}
	w = pool_get(&oom_pool, h);
	w->ow_owner = owner;
	w->ow_v2 = mode == CG_UNIFIED;
	e = cgroup_dir(ref, w->ow_v2 ? 0 : CGC_MEMORY, w->ow_dir,
	    sizeof(w->ow_dir));
	if (e < 0)
		goto out_give;
	fd = w->ow_v2 ? oom_arm_v2(w->ow_dir) : oom_arm_v1(w->ow_dir);
	if (fd < 0) {
		e = fd;
		goto out_give;
	}
	rfd_init(&w->ow_fd, fd, h);
	e = rfd_want(&w->ow_fd, EPOLLIN);
	if (e < 0)
		goto out_close;
	*out = h;
	return 0;

out_close:
	rfd_close(&w->ow_fd);
out_give:
	pool_give(&oom_pool, h);
	return e;
}

void
oom_unwatch(handle_t watch)
{
	struct oomw *w = pool_get(&oom_pool, watch);

	if (w == NULL)
		return;
	oom_scratch();
	rfd_close(&w->ow_fd);
	pool_give(&oom_pool, watch);
}

/*
 * v1: take the eventfd's count.  The eventfd also fires when the cgroup
 * is removed; then the directory is gone and the watch ends quietly
 * (v1.go: State() == Deleted).  Otherwise one callback per wake-up, as
 * v1.go publishes one TaskOOM per epoll event.
 */
static void
oom_check_v1(struct oomw *w, handle_t h)
{
	handle_t owner = w->ow_owner;
	uint64_t cnt;
	ssize_t n;

	do {
		n = read(w->ow_fd.rf_fd, &cnt, sizeof(cnt));
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n != (ssize_t)sizeof(cnt)) {
		log_warn("oom: read eventfd of %s", w->ow_dir);
		oom_unwatch(h);
		return;
	}
	if (access(w->ow_dir, F_OK) < 0 && errno == ENOENT) {
		oom_unwatch(h);
		return;
	}
	oom_cb(owner);
}

/* The value of "key N" in the flat-keyed text buf; false if absent. */
static bool
oom_kv(const char *buf, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	const char *p = buf;
	char *end;

	while (*p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			*v = strtoull(p + kl + 1, &end, 10);
			return end != p + kl + 1;
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return false;
}

/* Read dir/name into oom_buf (NUL-terminated); 0 or -errno. */
static int
oom_read(const char *dir, const char *name)
{
	size_t len = 0;
	ssize_t n;
	int fd, e;

	if ((e = oom_join(dir, name)) < 0)
		return e;
	fd = open(oom_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < OOM_BUF - 1) {
		n = read(fd, oom_buf + len, OOM_BUF - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = -errno;
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	oom_buf[len] = '\0';
	return 0;
}

/*
 * v2: re-read memory.events (after draining inotify, when called from
 * the loop).  oom_kill above the last value seen is one callback, however
 * much it went up (v2.go); the count starts at 0, so a kill that happened
 * before the watch is reported at the first look.  The watch ends when
 * memory.events is gone or cgroup.events no longer says "populated 1"
 * (isCgroupEmpty: an unreadable file counts as empty).
 */
static void
oom_check_v2(struct oomw *w, handle_t h, bool drain)
{
	handle_t owner = w->ow_owner;
	uint64_t kills = 0, pop = 0;
	bool fire, stop;
	size_t got = 0;
	ssize_t n;
	int e;

	if (drain) {
		while ((n = read(w->ow_fd.rf_fd, oom_buf, OOM_BUF)) > 0)
			got += (size_t)n;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			log_warn("oom: read inotify of %s", w->ow_dir);
			oom_unwatch(h);
			return;
		}
		if (got < sizeof(struct inotify_event))
			return;
	}
	e = oom_read(w->ow_dir, "memory.events");
	if (e < 0) {
		/* A removed cgroup may say ENODEV instead of ENOENT. */
		if (oom_join(w->ow_dir, "memory.events") == 0 &&
		    access(oom_path, F_OK) == 0)
			log_warnx("oom: read %s: %s", oom_path, strerror(-e));
		oom_unwatch(h);
		return;
	}
	oom_kv(oom_buf, "oom_kill", &kills);
	fire = kills > w->ow_last;
	if (kills > 0)
		w->ow_last = kills;
	stop = oom_read(w->ow_dir, "cgroup.events") < 0 ||
	    !oom_kv(oom_buf, "populated", &pop) || pop == 0;
	/* The watch is done with before the callback may touch it. */
	if (stop)
		oom_unwatch(h);
	if (fire)
		oom_cb(owner);
}

static void
oom_event(handle_t h, uint32_t events)
{
	struct oomw *w = pool_get(&oom_pool, h);

	if (w == NULL || (events & REACTOR_TIMEOUT))
		return;
	oom_scratch();
	if (w->ow_v2)
		oom_check_v2(w, h, true);
	else
		oom_check_v1(w, h);
}

void
oom_poll(handle_t watch)
{
	struct oomw *w = pool_get(&oom_pool, watch);

	if (w == NULL)
		return;
	/* An entry point like the others: oom_path and oom_buf are scratch. */
	oom_scratch();
	if (w->ow_v2)
		oom_check_v2(w, watch, false);
	else
		oom_check_v1(w, watch);
}
