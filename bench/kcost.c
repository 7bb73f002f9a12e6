/*
 * kcost - what the kernel charges to a memory cgroup for each kind of
 * object a shim holds (bench/density.sh prints it next to the per-shim
 * totals).
 *
 * usage: kcost CGROUP_DIR [K [OTHER_DIR]]
 *   CGROUP_DIR: an empty cgroup v1 memory directory of our own; we move
 *   ourselves into it.  OTHER_DIR: a second one; children forked here
 *   that move there at once and exec sleep show what stays charged to
 *   the parent's cgroup (as a container's first process, forked by runc
 *   in the shim's cgroup, joins the container's and execs).  Each object kind is created K times (default
 *   2000, processes K/4) and the change of memory.usage_in_bytes and
 *   memory.kmem.usage_in_bytes is divided by the count.  The kernel
 *   charges in per-CPU batches (up to 64 pages per CPU ahead of use), so
 *   each figure is within 2*64*4096*CPUs/K bytes; K=2000 on 2 CPUs: 0.5 KiB.
 * Output: one line per kind, "kind bytes_total bytes_kmem".
 *
 * Not part of the shim.  Built by bench/density.sh with the host's cc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char cg[512];
static const char *other;
static int K = 2000;

static long long
readnum(const char *file)
{
	char p[600], b[64];
	int fd, n;

	snprintf(p, sizeof(p), "%s/%s", cg, file);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	b[n] = 0;
	return atoll(b);
}

struct snap {
	long long mem, kmem;
};

static struct snap
snap(void)
{
	struct snap s;

	s.mem = readnum("memory.usage_in_bytes");
	s.kmem = readnum("memory.kmem.usage_in_bytes");
	return s;
}

static void
report(const char *kind, struct snap a, int n)
{
	struct snap b = snap();

	printf("%-28s %8lld %8lld\n", kind, (b.mem - a.mem) / n,
	    b.kmem >= 0 && a.kmem >= 0 ? (b.kmem - a.kmem) / n : -1);
	fflush(stdout);
}

static int *fds;
static int nfds;

/* Close what the last kind made; let deferred frees (RCU) finish. */
static void
closeall(void)
{
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	nfds = 0;
	usleep(300000);
}

static void
keep(int fd)
{
	if (fd < 0) {
		perror("kcost: create");
		exit(1);
	}
	fds[nfds++] = fd;
}

/* The children of the process kinds: pause until killed. */
static pid_t kids[4096];
static int nkids;

static void
killkids(void)
{
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < nkids; i++)
		waitpid(kids[i], NULL, 0);
	nkids = 0;
}

static int
child_main(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

int
main(int argc, char **argv)
{
	struct rlimit rl = { 1 << 20, 1 << 20 };
	struct snap a;
	char p[600];
	int fd, i, ep, sv[2];

	if (argc < 2) {
		fprintf(stderr, "usage: kcost CGROUP_DIR [K]\n");
		return 2;
	}
	snprintf(cg, sizeof(cg), "%s", argv[1]);
	if (argc > 2)
		K = atoi(argv[2]);
	if (argc > 3)
		other = argv[3];
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		rl.rlim_cur = rl.rlim_max = 65536;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = calloc((size_t)K * 4 + 16, sizeof(int));
	snprintf(p, sizeof(p), "%s/cgroup.procs", cg);
	fd = open(p, O_WRONLY);
	if (fd < 0 || dprintf(fd, "%d\n", (int)getpid()) < 0) {
		perror("kcost: join cgroup");
		return 1;
	}
	close(fd);
	/* Warm-up: the fd table at its final size, slab caches in use. */
	for (i = 0; i < K * 4; i++)
		keep(eventfd(0, 0));
	closeall();

	a = snap();
	for (i = 0; i < K; i++) {
		int pp[2];

		if (pipe2(pp, O_CLOEXEC) < 0)
			exit(1);
		keep(pp[0]);
		keep(pp[1]);
	}
	report("pipe (64 KiB, empty)", a, K);
	closeall();

	a = snap();
	for (i = 0; i < K; i++) {
		int pp[2];

		if (pipe2(pp, O_CLOEXEC) < 0)
			exit(1);
		fcntl(pp[0], F_SETPIPE_SZ, 4096);
		keep(pp[0]);
		keep(pp[1]);
	}
	report("pipe (4 KiB, empty)", a, K);
	closeall();

	a = snap();
	for (i = 0; i < K / 4; i++) {
		int pp[2];

		if (pipe2(pp, O_CLOEXEC) < 0)
			exit(1);
		fcntl(pp[0], F_SETPIPE_SZ, 1 << 20);
		keep(pp[0]);
		keep(pp[1]);
	}
	report("pipe (1 MiB, empty)", a, K / 4);
	closeall();

	a = snap();
	for (i = 0; i < K; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			exit(1);
		keep(sv[0]);
		keep(sv[1]);
	}
	report("unix socketpair (stream)", a, K);
	closeall();

	a = snap();
	for (i = 0; i < K; i++)
		keep(epoll_create1(EPOLL_CLOEXEC));
	report("epoll instance", a, K);
	closeall();

	ep = epoll_create1(EPOLL_CLOEXEC);
	for (i = 0; i < K; i++)
		keep(eventfd(0, EFD_CLOEXEC));
	a = snap();
	for (i = 0; i < K; i++) {
		struct epoll_event ev = { .events = EPOLLIN };

		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}
	report("epoll item (fd in the set)", a, K);
	closeall();
	close(ep);

	a = snap();
	for (i = 0; i < K; i++)
		keep(eventfd(0, EFD_CLOEXEC));
	report("eventfd", a, K);
	closeall();

	{
		sigset_t ss;

		sigemptyset(&ss);
		sigaddset(&ss, SIGCHLD);
		a = snap();
		for (i = 0; i < K; i++)
			keep(signalfd(-1, &ss, SFD_CLOEXEC));
		report("signalfd", a, K);
		closeall();
	}

	a = snap();
	for (i = 0; i < K; i++)
		keep(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
	report("timerfd", a, K);
	closeall();

	a = snap();
	for (i = 0; i < K; i++)
		keep((int)syscall(SYS_pidfd_open, getpid(), 0));
	report("pidfd", a, K);
	closeall();

	/* fs.inotify.max_user_instances is 128 by default. */
	a = snap();
	for (i = 0; i < 64; i++) {
		fd = inotify_init1(IN_CLOEXEC);
		inotify_add_watch(fd, "/", IN_MODIFY);
		keep(fd);
	}
	report("inotify + one watch (64)", a, 64);
	closeall();

	a = snap();
	for (i = 0; i < K; i++)
		keep(open("/dev/null", O_RDONLY | O_CLOEXEC));
	report("open file (/dev/null)", a, K);
	closeall();

	/* Processes: a small child that only waits (fork of this one). */
	{
		int n = K / 4 < 4096 ? K / 4 : 4096;

		a = snap();
		for (i = 0; i < n; i++) {
			pid_t c = fork();

			if (c == 0)
				child_main(NULL);
			if (c < 0)
				exit(1);
			kids[nkids++] = c;
		}
		usleep(200000);
		report("process (fork, sleeping)", a, n);
		killkids();
		usleep(300000);

		/* A thread: clone with a 64 KiB stack we touch once. */
		a = snap();
		for (i = 0; i < n; i++) {
			char *stk = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			pid_t c;

			c = clone(child_main, stk + 65536,
			    CLONE_VM | CLONE_FS | CLONE_FILES | SIGCHLD, NULL);
			if (c < 0)
				exit(1);
			kids[nkids++] = c;
		}
		usleep(200000);
		report("task sharing our mm", a, n);
		killkids();
		usleep(300000);

		if (other) {
			snprintf(p, sizeof(p), "%s/cgroup.procs", other);
			a = snap();
			for (i = 0; i < n; i++) {
				pid_t c = fork();

				if (c == 0) {
					fd = open(p, O_WRONLY);
					if (fd < 0 || dprintf(fd, "0\n") < 0)
						_exit(1);
					close(fd);
					/* runc init execs the container's program. */
					execl("/bin/sleep", "sleep", "100000",
					    (char *)NULL);
					_exit(1);
				}
				if (c < 0)
					exit(1);
				kids[nkids++] = c;
			}
			usleep(500000);
			report("child moved out, exec'd (left here)", a, n);
			killkids();
		}
	}
	return 0;
}
