/*
 * syscalls - does this machine (or this qemu-user) do what the shim asks
 * of the kernel?  One line per system call, made the way src/ makes it,
 * with the effect checked where an emulator could answer 0 and do
 * nothing:
 *
 *     <name>: ok
 *     <name>: FAIL <what happened>
 *
 * tests/cross/smoke.sh builds it for arm64 and runs it natively and
 * under each qemu-user, to name what an emulator cannot do.  Exit status
 * 0 (the list is the result), 2 on bad usage.
 *
 *   syscalls              every check
 *   syscalls --reexec-ok  (internal) the re-executed child: exit 0
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SCHED_CORE
#define PR_SCHED_CORE		62
#define PR_SCHED_CORE_CREATE	1
#endif

static char why[256];

/* Report one check: ok when r >= 0, else FAIL with why (or errno's). */
static void
report(const char *name, int r, int err)
{
	if (r >= 0)
		printf("%s: ok\n", name);
	else
		printf("%s: FAIL %s\n", name, why[0] ? why : strerror(err));
	why[0] = '\0';
	fflush(stdout);
}

static int
failf(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(why, sizeof(why), f, ap);
	va_end(ap);
	return -1;
}

#define CHECK(name, expr) do {						\
	int r_;								\
	errno = 0;							\
	r_ = (expr);							\
	report(name, r_, errno);					\
} while (0)

/* The orphan of an exited child comes back to us (runc's init does). */
static int
subreaper(void)
{
	int one = -1, st;
	pid_t c, g = -1;
	int p[2];

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -1;
	if (prctl(PR_GET_CHILD_SUBREAPER, &one) < 0)
		return -1;
	if (one != 1)
		return failf("PR_GET_CHILD_SUBREAPER says %d", one);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	c = fork();
	if (c == 0) {
		g = fork();
		if (g == 0) {
			usleep(100000);
			_exit(42);
		}
		if (write(p[1], &g, sizeof(g)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (c < 0 || read(p[0], &g, sizeof(g)) != sizeof(g))
		return -1;
	close(p[0]);
	waitpid(c, &st, 0);
	if (waitpid(g, &st, 0) != g)
		return failf("orphan %d not reaped by us: %s", (int)g,
		    strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
		return failf("orphan's status %#x", st);
	return 0;
}

/* SIGCHLD through a signalfd, and a pidfd that polls readable at exit. */
static int
sigchld_fds(void)
{
	struct signalfd_siginfo si;
	struct epoll_event ev = { .events = EPOLLIN }, out[2];
	sigset_t m;
	int sfd, pfd, ep, n, st;
	pid_t c;

	sigemptyset(&m);
	sigaddset(&m, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &m, NULL) < 0)
		return -1;
	sfd = signalfd(-1, &m, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return failf("signalfd: %s", strerror(errno));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return failf("epoll_create1: %s", strerror(errno));
	c = fork();
	if (c == 0) {
		usleep(50000);
		_exit(3);
	}
	pfd = (int)syscall(SYS_pidfd_open, c, 0);
	if (pfd < 0)
		return failf("pidfd_open: %s", strerror(errno));
	ev.data.u64 = 0x100000001ull;	/* a whole handle, as the reactor */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev) < 0)
		return failf("epoll_ctl pidfd: %s", strerror(errno));
	ev.data.u64 = 0x200000002ull;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		return failf("epoll_ctl signalfd: %s", strerror(errno));
	n = epoll_wait(ep, out, 2, 5000);
	if (n <= 0)
		return failf("epoll_wait: %d (%s)", n, strerror(errno));
	if (out[0].data.u64 != 0x100000001ull &&
	    out[0].data.u64 != 0x200000002ull)
		return failf("epoll data %#llx",
		    (unsigned long long)out[0].data.u64);
	usleep(20000);
	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return failf("read signalfd: %s", strerror(errno));
	if (si.ssi_signo != SIGCHLD || (pid_t)si.ssi_pid != c)
		return failf("signalfd: signo %u pid %u", si.ssi_signo,
		    si.ssi_pid);
	if (waitpid(c, &st, WNOHANG) != c || WEXITSTATUS(st) != 3)
		return failf("waitpid after the signal");
	close(pfd);
	close(sfd);
	close(ep);
	sigprocmask(SIG_UNBLOCK, &m, NULL);
	return 0;
}

static int
event_fds(void)
{
	uint64_t v = 7;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), ifd, w;

	if (efd < 0)
		return failf("eventfd: %s", strerror(errno));
	if (write(efd, &v, 8) != 8 || read(efd, &v, 8) != 8 || v != 7)
		return failf("eventfd counter");
	close(efd);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0)
		return failf("inotify_init1: %s", strerror(errno));
	w = inotify_add_watch(ifd, "/proc/self", IN_MODIFY);
	if (w < 0)
		return failf("inotify_add_watch: %s", strerror(errno));
	close(ifd);
	return 0;
}

/* Pipe to pipe without copying, and FIONREAD (io_copy.c). */
static int
splice_pipes(void)
{
	int a[2], b[2], avail = 0;
	char c[4];
	ssize_t n;

	if (pipe2(a, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(b, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	if (write(a[1], "abc", 3) != 3)
		return -1;
	if (ioctl(a[0], FIONREAD, &avail) < 0 || avail != 3)
		return failf("FIONREAD: %d (%s)", avail, strerror(errno));
	n = splice(a[0], NULL, b[1], NULL, 3, SPLICE_F_NONBLOCK);
	if (n != 3)
		return failf("splice: %zd (%s)", n, strerror(errno));
	if (read(b[0], c, 3) != 3 || memcmp(c, "abc", 3) != 0)
		return failf("splice moved the wrong bytes");
	return 0;
}

/* A unix socket, accept4, and an fd passed over it (the console socket). */
static int
unix_fds(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char ctl[CMSG_SPACE(sizeof(int))], b = 'x';
	struct iovec iov = { &b, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	int l, c, s, sp[2], got;

	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "nanoshim-probe-%d",
	    (int)getpid());
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 4) < 0)
		return failf("listen: %s", strerror(errno));
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return failf("connect: %s", strerror(errno));
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (s < 0)
		return failf("accept4: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	memset(ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &s, sizeof(int));
	if (sendmsg(sp[0], &mh, MSG_NOSIGNAL) != 1)
		return failf("sendmsg SCM_RIGHTS: %s", strerror(errno));
	memset(ctl, 0, sizeof(ctl));
	mh.msg_controllen = sizeof(ctl);
	if (recvmsg(sp[1], &mh, MSG_CMSG_CLOEXEC) != 1)
		return failf("recvmsg: %s", strerror(errno));
	cm = CMSG_FIRSTHDR(&mh);
	if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
		return failf("no SCM_RIGHTS in recvmsg");
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	if (fcntl(got, F_GETFD) != FD_CLOEXEC)
		return failf("passed fd not close-on-exec");
	close(got);
	close(s);
	close(c);
	close(l);
	close(sp[0]);
	close(sp[1]);
	return 0;
}

static int
pty_winsize(void)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 111 }, back;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0)
		return failf("posix_openpt: %s", strerror(errno));
	if (ioctl(m, TIOCSWINSZ, &ws) < 0)
		return failf("TIOCSWINSZ: %s", strerror(errno));
	if (ioctl(m, TIOCGWINSZ, &back) < 0 || back.ws_row != 33 ||
	    back.ws_col != 111)
		return failf("TIOCGWINSZ: %u x %u", back.ws_col, back.ws_row);
	close(m);
	return 0;
}

/* The pools' reservation and their release (pool.c): pages read zero. */
static int
reserve_release(void)
{
	size_t len = 64u << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return failf("mmap 64 MiB NORESERVE: %s", strerror(errno));
	memset(p + (1u << 20), 0x5a, 1u << 16);
	if (madvise(p + (1u << 20), 1u << 16, MADV_DONTNEED) < 0)
		return failf("madvise: %s", strerror(errno));
	if (p[(1u << 20) + 100] != 0)
		return failf("MADV_DONTNEED answered 0 but kept the bytes");
	munmap(p, len);
	return 0;
}

/* Every signal back to default, raw, as runc.c does for a child. */
static int
sigaction_raw(void)
{
	int i;

	for (i = 1; i < 65; i++) {
		struct {
			void *handler;
			unsigned long flags;
			void *restorer;
			uint32_t mask[2];
		} dfl = { 0 };

		if (i == SIGKILL || i == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, i, &dfl, NULL, 8) < 0)
			return failf("signal %d: %s", i, strerror(errno));
	}
	return 0;
}

static int
fds_above(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || dup2(fd, 200) < 0)
		return -1;
	if (syscall(SYS_close_range, 100u, ~0u, 0) < 0)
		return failf("close_range: %s", strerror(errno));
	if (fcntl(200, F_GETFD) >= 0)
		return failf("close_range answered 0 but fd 200 is open");
	close(fd);
	return 0;
}

static int
dents(void)
{
	char buf[4096];
	int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return -1;
	n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? 0 : failf("getdents64: %ld (%s)", n, strerror(errno));
}

static int
limits_and_time(void)
{
	struct rlimit rl;
	struct timespec ts;
	char r[8];

	if (prlimit(0, RLIMIT_NOFILE, NULL, &rl) < 0)
		return failf("prlimit: %s", strerror(errno));
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || ts.tv_sec < 1600000000)
		return failf("clock_gettime: %lld", (long long)ts.tv_sec);
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		return failf("getrandom: %s", strerror(errno));
	return 0;
}

/* The daemon re-executes /proc/self/exe (main.c). */
static int
reexec(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int st;
	pid_t c;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	c = fork();
	if (c == 0) {
		execl(self, self, "--reexec-ok", (char *)NULL);
		_exit(100 + (errno & 0x3f));
	}
	if (c < 0 || waitpid(c, &st, 0) != c)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) >= 100)
		return failf("execv(%s): %s", self,
		    strerror(WEXITSTATUS(st) - 100));
	return failf("re-executed child: status %#x", st);
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--reexec-ok") == 0)
		return 0;
	if (argc != 1) {
		fprintf(stderr, "usage: %s\n", argv[0]);
		return 2;
	}
	CHECK("prctl PR_SET_CHILD_SUBREAPER", subreaper());
	CHECK("prctl PR_SET_PDEATHSIG", prctl(PR_SET_PDEATHSIG, SIGKILL));
	CHECK("prctl PR_SCHED_CORE", prctl(PR_SCHED_CORE,
	    PR_SCHED_CORE_CREATE, 0, 2, 0));
	CHECK("signalfd, pidfd_open, epoll", sigchld_fds());
	CHECK("eventfd, inotify", event_fds());
	CHECK("splice, FIONREAD", splice_pipes());
	CHECK("accept4, SCM_RIGHTS", unix_fds());
	CHECK("pty TIOCSWINSZ", pty_winsize());
	CHECK("mmap NORESERVE, madvise DONTNEED", reserve_release());
	CHECK("rt_sigaction 1-64 raw", sigaction_raw());
	CHECK("close_range", fds_above());
	CHECK("getdents64", dents());
	CHECK("prlimit, clock_gettime, getrandom", limits_and_time());
	CHECK("execv /proc/self/exe", reexec());
	return 0;
}
