/*
 * test_oom - unit tests for src/oom.c, on real fds in the real reactor.
 *
 * v1: the eventfd registration is written into a fixture directory's
 * cgroup.event_control (a plain file), which tells the test the eventfd
 * number; the test then signals it as the kernel would.  When running as
 * root on a host with a v1 memory hierarchy, one more test makes a real
 * memory cgroup, OOM-kills a child in it and removes it.
 * v2: a real inotify watch on copies of the fixture's memory.events and
 * cgroup.events in a temp directory, which the test rewrites.
 *
 * Build by hand from the top directory:
 *
 * gcc -std=c11 -D_GNU_SOURCE -DPB_BUFFER_ONLY -DNS_NO_ALLOC_GUARD -Wall \
 *   -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
 *   -Wvla -Wframe-larger-than=4096 -Isrc -Igen -Ibuild/nanopb \
 *   -o build/test_oom tests/unit/test_oom.c src/oom.c src/cgroup*.c \
 *   src/reactor.c src/pool.c src/pbs.c src/log.c \
 *   gen/cgroups/v1/metrics.pb.c gen/cgroups/v2/metrics.pb.c \
 *   build/nanopb/pb_*.c -lcmocka && build/test_oom
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"
#include "scratch.h"
#include "log.h"
#include "oom.h"
#include "reactor.h"

#include "alloc_count.h"

#define OWNER_A		handle_make(K_CTR, 1, 7)
#define OWNER_B		handle_make(K_CTR, 3, 9)
#define WATCHES		2

static char fix[PATH_MAX];
static char tmpdir[PATH_MAX];
static struct cgroup_ref ref;
static int calls;
static handle_t last_owner;
static struct rtimer stop_timer;

static void
on_oom(handle_t owner)
{
	calls++;
	last_owner = owner;
}

/* The loop's own timer ends reactor_run after a while. */
static void
on_stop(handle_t h, uint32_t events)
{
	(void)h;
	(void)events;
	reactor_stop(0);
}

/* Every OOM check in the loop runs here: it must not allocate. */
static void
run_loop(unsigned ms)
{
	rtimer_set(&stop_timer, handle_make(K_PARKED, 1, 0), now_ms() + ms);
	COUNT_BEGIN();
	reactor_run();
	COUNT_END();
}

static void
poll_now(handle_t h)
{
	COUNT_BEGIN();
	oom_poll(h);
	COUNT_END();
}

static int
watch(handle_t owner, handle_t *h)
{
	int e;

	COUNT_BEGIN();
	e = oom_watch(owner, &ref, h);
	COUNT_END();
	return e;
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

static const char *
fx(const char *rel)
{
	static char bufs[4][PATH_MAX];
	static int i;
	char *b = bufs[i++ % 4];

	assert_true(snprintf(b, PATH_MAX, "%s/%s", fix, rel) < PATH_MAX);
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
	static char b[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, b, sizeof(b) - 1);
	assert_true(n >= 0);
	b[n] = '\0';
	close(fd);
	return b;
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void
parse(const char *text)
{
	assert_int_equal(cgroup_parse_procfile(text, strlen(text), &ref), 0);
}

static int
group_setup(void **state)
{
	static const char *const cands[] = { "../fixtures/cgroup",
		"tests/fixtures/cgroup" };
	size_t i;

	(void)state;
	log_init(2, LOG_ERROR, "");
	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (realpath(cands[i], fix) != NULL)
			break;
	if (i == sizeof(cands) / sizeof(cands[0]))
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_oom.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	reactor_init(16);
	reactor_handler(K_PARKED, on_stop);
	oom_init(WATCHES, on_oom);
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

static int
reset(void **state)
{
	(void)state;
	calls = 0;
	last_owner = HANDLE_NONE;
	return 0;
}

/* A fake v1 memory hierarchy at tmp/v1: memory/<name> with the files. */
static void
fake_v1(const char *name)
{
	static char dir[PATH_MAX];

	mkdir(tmp("v1"), 0755);
	mkdir(tmp("v1/memory"), 0755);
	assert_true(snprintf(dir, sizeof(dir), "%s/v1/memory/%s", tmpdir,
	    name) < (int)sizeof(dir));
	mkdir(dir, 0755);
	put(tmp("v1/mountinfo"), "35 31 0:32 / /sys/fs/cgroup/memory "
	    "rw,relatime - cgroup cgroup rw,memory\n");
	cgroup_init_at(tmp("v1"), tmp("v1/mountinfo"));
	assert_int_equal(cgroup_mode(), CG_LEGACY);
}

/* The "<efd> <ofd> " line oom.c wrote; returns efd. */
static int
registered_efd(const char *name, int *ofd)
{
	static char path[PATH_MAX];
	int efd;

	assert_true(snprintf(path, sizeof(path),
	    "%s/v1/memory/%s/cgroup.event_control", tmpdir, name) <
	    (int)sizeof(path));
	assert_int_equal(sscanf(slurp(path), "%d %d ", &efd, ofd), 2);
	/* The trailing space of Go's "%d %d %s" with an empty argument. */
	assert_int_equal(slurp(path)[strlen(slurp(path)) - 1], ' ');
	return efd;
}

static void
test_v1_eventfd(void **state)
{
	scratch_reset();
	handle_t h;
	int efd, ofd, fds;

	(void)state;
	fake_v1("ctr");
	put(tmp("v1/memory/ctr/memory.oom_control"),
	    slurp(fx("v1/memory/nanoshim-fixture/memory.oom_control")));
	put(tmp("v1/memory/ctr/cgroup.event_control"), "");
	parse("4:memory:/ctr\n1:cpu:/ctr\n");
	fds = count_fds();
	assert_int_equal(watch(OWNER_A, &h), 0);
	assert_int_not_equal(h, HANDLE_NONE);
	efd = registered_efd("ctr", &ofd);
	/* Only the eventfd stays open; memory.oom_control was closed. */
	assert_int_equal(count_fds(), fds + 1);
	assert_true(fd_open(efd));
	assert_false(fd_open(ofd) && ofd != efd);

	/* Nothing signalled: neither the loop nor a poll reports. */
	poll_now(h);
	run_loop(30);
	assert_int_equal(calls, 0);

	/* The kernel signals: one callback per wake-up, whatever the count. */
	assert_int_equal(eventfd_write(efd, 3), 0);
	run_loop(50);
	assert_int_equal(calls, 1);
	assert_int_equal(last_owner, OWNER_A);
	run_loop(30);
	assert_int_equal(calls, 1);

	/* oom_poll sees it before the loop does, and takes it. */
	assert_int_equal(eventfd_write(efd, 1), 0);
	poll_now(h);
	assert_int_equal(calls, 2);
	run_loop(30);
	assert_int_equal(calls, 2);

	/* The cgroup goes away; the eventfd fires; the watch ends quietly. */
	unlink(tmp("v1/memory/ctr/memory.oom_control"));
	unlink(tmp("v1/memory/ctr/cgroup.event_control"));
	assert_int_equal(rmdir(tmp("v1/memory/ctr")), 0);
	assert_int_equal(eventfd_write(efd, 1), 0);
	run_loop(50);
	assert_int_equal(calls, 2);
	assert_int_equal(count_fds(), fds);
	/* The handle is stale now: both are no-ops. */
	poll_now(h);
	oom_unwatch(h);
	assert_int_equal(calls, 2);
}

static void
test_v1_unwatch(void **state)
{
	scratch_reset();
	handle_t h;
	int efd, ofd, fds;

	(void)state;
	fake_v1("ctr2");
	put(tmp("v1/memory/ctr2/memory.oom_control"), "oom_kill 0\n");
	put(tmp("v1/memory/ctr2/cgroup.event_control"), "");
	parse("4:memory:/ctr2\n");
	fds = count_fds();
	assert_int_equal(watch(OWNER_B, &h), 0);
	efd = registered_efd("ctr2", &ofd);
	oom_unwatch(h);
	assert_int_equal(count_fds(), fds);
	assert_false(fd_open(efd));
	oom_unwatch(h);
	poll_now(h);
	assert_int_equal(calls, 0);
}

static void
test_v1_errors(void **state)
{
	scratch_reset();
	handle_t h = 1;
	int fds;

	(void)state;
	fake_v1("bare");	/* no memory.oom_control, no event_control */
	fds = count_fds();
	parse("1:cpu:/bare\n");		/* no memory controller */
	assert_int_equal(watch(OWNER_A, &h), -ENOENT);
	assert_int_equal(h, HANDLE_NONE);
	parse("4:memory:/bare\n");
	assert_int_equal(watch(OWNER_A, &h), -ENOENT);
	put(tmp("v1/memory/bare/memory.oom_control"), "");
	assert_int_equal(watch(OWNER_A, &h), -ENOENT);
	assert_int_equal(count_fds(), fds);
	memset(&ref, 0, sizeof(ref));
	assert_int_equal(watch(OWNER_A, &h), -ENOENT);
	cgroup_init_at(tmp("no-such-root"), tmp("v1/mountinfo"));
	assert_int_equal(watch(OWNER_A, &h), -ENOENT);
	assert_int_equal(count_fds(), fds);
}

static void
test_pool_full(void **state)
{
	scratch_reset();
	handle_t h[WATCHES + 1];
	int i;

	(void)state;
	fake_v1("full");
	put(tmp("v1/memory/full/memory.oom_control"), "");
	parse("4:memory:/full\n");
	for (i = 0; i < WATCHES; i++) {
		put(tmp("v1/memory/full/cgroup.event_control"), "");
		assert_int_equal(watch(OWNER_A, &h[i]), 0);
	}
	assert_int_equal(watch(OWNER_A, &h[WATCHES]), -ENOSPC);
	assert_int_equal(h[WATCHES], HANDLE_NONE);
	/* A freed slot is usable again; the old handle stays dead. */
	oom_unwatch(h[0]);
	assert_int_equal(watch(OWNER_B, &h[WATCHES]), 0);
	assert_int_not_equal(h[WATCHES], h[0]);
	for (i = 1; i <= WATCHES; i++)
		oom_unwatch(h[i]);
}

/* ---- v2 ---------------------------------------------------------------- */

static void
events(unsigned low, unsigned high, unsigned oom, unsigned kills)
{
	static char b[256];

	snprintf(b, sizeof(b), "low %u\nhigh %u\nmax 0\noom %u\noom_kill %u\n"
	    "oom_group_kill 0\n", low, high, oom, kills);
	put(tmp("v2/ctr/memory.events"), b);
}

static void
fake_v2(void)
{
	mkdir(tmp("v2"), 0755);
	mkdir(tmp("v2/ctr"), 0755);
	/* Copies of the fixture: memory.events says oom_kill 2 already. */
	put(tmp("v2/ctr/memory.events"),
	    slurp(fx("v2/default/ctr1/memory.events")));
	put(tmp("v2/ctr/cgroup.events"),
	    slurp(fx("v2/default/ctr1/cgroup.events")));
	cgroup_init_at(tmp("v2"), fx("v2-mountinfo"));
	assert_int_equal(cgroup_mode(), CG_UNIFIED);
	parse("0::/ctr\n");
}

static void
test_v2_inotify(void **state)
{
	scratch_reset();
	handle_t h;
	int fds;

	(void)state;
	fake_v2();
	fds = count_fds();
	assert_int_equal(watch(OWNER_B, &h), 0);
	assert_int_equal(count_fds(), fds + 1);

	/*
	 * The count starts at 0 (v2.go), so kills from before the watch
	 * are reported at the first look: once for the two.
	 */
	poll_now(h);
	assert_int_equal(calls, 1);
	assert_int_equal(last_owner, OWNER_B);
	poll_now(h);
	assert_int_equal(calls, 1);

	/* Other counters move: no callback. */
	events(1, 6, 3, 2);
	run_loop(50);
	assert_int_equal(calls, 1);

	/* One more kill: one callback. */
	events(1, 6, 4, 3);
	run_loop(50);
	assert_int_equal(calls, 2);
	/* Two more at once: still one callback (once per increase seen). */
	events(1, 6, 6, 5);
	run_loop(50);
	assert_int_equal(calls, 3);

	/* cgroup.events changes but the cgroup is still populated. */
	put(tmp("v2/ctr/cgroup.events"), "populated 1\nfrozen 1\n");
	run_loop(50);
	assert_int_equal(calls, 3);
	assert_int_equal(count_fds(), fds + 1);

	/* oom_poll first, then the loop sees the same change: once. */
	events(1, 6, 7, 6);
	poll_now(h);
	assert_int_equal(calls, 4);
	run_loop(50);
	assert_int_equal(calls, 4);

	/* The cgroup empties: the watch ends, later changes are not seen. */
	put(tmp("v2/ctr/cgroup.events"), "populated 0\nfrozen 0\n");
	run_loop(50);
	assert_int_equal(calls, 4);
	assert_int_equal(count_fds(), fds);
	events(1, 6, 8, 7);
	run_loop(30);
	assert_int_equal(calls, 4);
	poll_now(h);
	oom_unwatch(h);
	assert_int_equal(calls, 4);
}

/*
 * oom_poll is an entry point of its own (proc calls it when an init
 * exits, in some other module's callback): it must take its buffers from
 * scratch itself, not write through pointers left from an earlier
 * callback into memory scratch has handed out again since.  (Found by
 * tests/fuzz f_cgroup: the path and memory.events went into the caller's
 * live scratch.)
 */
static void
test_v2_poll_own_scratch(void **state)
{
	handle_t h;
	char *mine;
	size_t i;

	(void)state;
	scratch_reset();
	fake_v2();
	assert_int_equal(watch(OWNER_A, &h), 0);
	/* A later callback: scratch starts over, the caller owns it now. */
	scratch_reset();
	mine = scratch_alloc(8192);
	memset(mine, 'A', 8192);
	poll_now(h);
	assert_int_equal(calls, 1);
	for (i = 0; i < 8192 && mine[i] == 'A'; i++)
		;
	assert_int_equal(i, 8192);
	oom_unwatch(h);
}

/* The last kill and the end come together: reported, then stopped. */
static void
test_v2_kill_then_empty(void **state)
{
	scratch_reset();
	handle_t h;
	int fds;

	(void)state;
	fake_v2();
	events(0, 0, 0, 0);
	fds = count_fds();
	assert_int_equal(watch(OWNER_A, &h), 0);
	events(0, 0, 1, 1);
	put(tmp("v2/ctr/cgroup.events"), "populated 0\nfrozen 0\n");
	run_loop(50);
	assert_int_equal(calls, 1);
	assert_int_equal(last_owner, OWNER_A);
	assert_int_equal(count_fds(), fds);
	oom_unwatch(h);
}

/* memory.events disappears (the cgroup was removed): the watch ends. */
static void
test_v2_removed(void **state)
{
	scratch_reset();
	handle_t h;
	int fds;

	(void)state;
	fake_v2();
	events(0, 0, 0, 0);
	fds = count_fds();
	assert_int_equal(watch(OWNER_A, &h), 0);
	/* Modify then unlink: the read after the event finds nothing. */
	events(0, 1, 0, 0);
	unlink(tmp("v2/ctr/memory.events"));
	run_loop(50);
	assert_int_equal(calls, 0);
	assert_int_equal(count_fds(), fds);
	oom_unwatch(h);
}

static void
test_v2_errors(void **state)
{
	scratch_reset();
	handle_t h;
	int fds;

	(void)state;
	fake_v2();
	fds = count_fds();
	unlink(tmp("v2/ctr/cgroup.events"));
	assert_int_equal(watch(OWNER_A, &h), -ENOENT);
	unlink(tmp("v2/ctr/memory.events"));
	assert_int_equal(watch(OWNER_A, &h), -ENOENT);
	assert_int_equal(count_fds(), fds);
}

/* ---- the real thing: cgroup v1 memory controller, root only ----------- */

static char real_cg[PATH_MAX];

static int
real_teardown(void **state)
{
	(void)state;
	if (real_cg[0] != '\0')
		rmdir(real_cg);
	real_cg[0] = '\0';
	return 0;
}

static void
write_file(const char *dir, const char *name, const char *val)
{
	static char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	put(p, val);
}

static void
test_v1_real_oom(void **state)
{
	scratch_reset();
	static char name[64], text[128];
	handle_t h;
	pid_t pid;
	int st, fds;

	(void)state;
	cgroup_set_host_paths(NULL, NULL);
	cgroup_init();
	if (geteuid() != 0 || (cgroup_mode() != CG_LEGACY &&
	    cgroup_mode() != CG_HYBRID) ||
	    access("/sys/fs/cgroup/memory/cgroup.event_control", W_OK) < 0)
		skip();
	snprintf(name, sizeof(name), "nanoshim-oomtest-%d", (int)getpid());
	snprintf(text, sizeof(text), "4:memory:/%s\n", name);
	parse(text);
	assert_int_equal(cgroup_dir(&ref, CGC_MEMORY, real_cg,
	    sizeof(real_cg)), 0);
	if (mkdir(real_cg, 0755) < 0)
		skip();
	write_file(real_cg, "memory.limit_in_bytes", "16777216");
	fds = count_fds();
	assert_int_equal(watch(OWNER_A, &h), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *p;
		size_t i, n = 256u << 20;

		write_file(real_cg, "cgroup.procs", "0");
		p = malloc(n);
		for (i = 0; p != NULL && i < n; i += 4096)
			p[i] = 1;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	/* The kill is counted before the exit can be seen. */
	poll_now(h);
	assert_int_equal(calls, 1);
	assert_int_equal(last_owner, OWNER_A);
	run_loop(50);
	assert_int_equal(calls, 1);

	/* rmdir signals the eventfd too: no callback, the watch ends. */
	assert_int_equal(rmdir(real_cg), 0);
	real_cg[0] = '\0';
	run_loop(200);
	assert_int_equal(calls, 1);
	assert_int_equal(count_fds(), fds);
	oom_unwatch(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_v1_eventfd, reset),
		cmocka_unit_test_setup(test_v1_unwatch, reset),
		cmocka_unit_test_setup(test_v1_errors, reset),
		cmocka_unit_test_setup(test_pool_full, reset),
		cmocka_unit_test_setup(test_v2_inotify, reset),
		cmocka_unit_test_setup(test_v2_kill_then_empty, reset),
		cmocka_unit_test_setup(test_v2_poll_own_scratch, reset),
		cmocka_unit_test_setup(test_v2_removed, reset),
		cmocka_unit_test_setup(test_v2_errors, reset),
		cmocka_unit_test_setup_teardown(test_v1_real_oom, reset,
		    real_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
