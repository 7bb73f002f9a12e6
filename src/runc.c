/*
 * runc - see runc.h.
 *
 * A call completes when both halves are in: the child was reaped (reaper
 * hands us its status) and its captured output reached EOF (a runc that
 * forks a daemon may close the pipe late, or the reverse).  Completions
 * run from the sweep, after the reaper, so a callback may freely start
 * the next call.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "layout.h"
#include "bounds.h"
#include "json.h"
#include "log.h"
#include "reactor.h"
#include "runc.h"
#include "scratch.h"

#define RUNC_ARGBUF	(20u << 10)	/* a dozen paths of PATH_MAX */
#define RUNC_ARGC	128u		/* checkpoint's repeated --empty-ns */
/* A waiting call's program path and arguments. */
#define RUNC_PARKBUF	(RUNC_ARGBUF + NS_PATH_MAX)

struct rcall {
	pid_t rc_pid;
	int rc_status;
	bool rc_exited;
	bool rc_eof;
	bool rc_queued;		/* on the completion queue */
	bool rc_waiting;	/* behind an earlier call with its key */
	struct rfd rc_out;
	struct rtimer rc_timer;
	handle_t rc_owner;
	uint64_t rc_cookie;
	runc_done_fn *rc_fn;
	uint32_t rc_len;
	uint32_t rc_next;	/* completion queue link, index + 1 */
	char *rc_buf;
	char rc_name[32];	/* argv[1] or the program, for messages */
	/* What starting it takes, kept while it waits for its turn. */
	handle_t rc_serial;
	uint32_t rc_ticket;	/* order among waiting calls */
	int rc_fd[6];
	int rc_nfd;
	const char *const *rc_env;
	uint64_t rc_deadline;
	pid_t *rc_pid_out;
	uint32_t rc_argc;
	uint32_t rc_argused;	/* bytes of rc_args in use */
	char *rc_args;		/* path, then argv, NUL-separated */
};

/* argv is built in scratch: the child execs it before we return. */
struct rargv {
	char *path;
	char *argv[RUNC_ARGC];
	size_t used;
	char args[RUNC_ARGBUF];
};

static struct pool runc_pool;
static char *runc_outbufs;
static char *runc_argbufs;	/* RUNC_PARKBUF per call; waiting ones only */
static uint32_t runc_done_head, runc_done_tail;
static uint32_t runc_tickets;
static int runc_devnull = -1;

static void runc_event(handle_t h, uint32_t events);
static void runc_sweep(void);

NS_IDLE void
runc_init(uint32_t max_calls)
{
	pool_init(&runc_pool, "runc calls", K_RUNC, sizeof(struct rcall),
	    max_calls);
	runc_outbufs = region_reserve((size_t)NS_RUNC_OUT * max_calls);
	runc_argbufs = region_reserve((size_t)RUNC_PARKBUF * max_calls);
	reactor_handler(K_RUNC, runc_event);
	reactor_sweep(runc_sweep);
	runc_devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (runc_devnull < 0)
		fatal("open /dev/null");
}

/*
 * runc must not talk to systemd on the shim's behalf (go-runc): drop
 * NOTIFY_SOCKET from our own environment, in place, once at startup.
 * Children then get `environ` as it is.
 */
NS_IDLE void
runc_set_env(char **envp)
{
	char **w = envp;

	for (; envp && *envp; envp++)
		if (strncmp(*envp, "NOTIFY_SOCKET=", 14) != 0)
			*w++ = *envp;
	if (w)
		*w = NULL;
}

uint32_t
runc_inflight(void)
{
	return runc_pool.pl_used;
}

uint32_t
runc_limit(void)
{
	return runc_pool.pl_cap;
}

/*
 * 0 for an executable regular file, else -ENOENT, -EISDIR or -EACCES
 * (Go's LookPath passes over directories too).
 */
static int
exec_check(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
		return -EACCES;
	return 0;
}

int
runc_lookpath(const char *bin, char *dst, size_t cap)
{
	const char *path, *p, *e;

	if (strchr(bin, '/')) {
		if ((size_t)snprintf(dst, cap, "%s", bin) >= cap)
			return -ENAMETOOLONG;
		return exec_check(dst);
	}
	path = getenv("PATH");
	if (path == NULL || *path == '\0')
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
		    "/sbin:/bin";
	for (p = path; *p; p = *e ? e + 1 : e) {
		size_t n;

		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0 || n + strlen(bin) + 2 > cap)
			continue;
		memcpy(dst, p, n);
		dst[n] = '/';
		strcpy(dst + n + 1, bin);
		if (exec_check(dst) == 0)
			return 0;
	}
	return -ENOENT;
}

/* Append one argument. */
static int
rc_push(struct rargv *av, uint32_t *argc, const char *s)
{
	size_t n = strlen(s) + 1;

	if (*argc + 1 >= RUNC_ARGC || av->used + n > RUNC_ARGBUF)
		return -E2BIG;
	memcpy(av->args + av->used, s, n);
	av->argv[(*argc)++] = av->args + av->used;
	av->used += n;
	return 0;
}

static int
rc_build(struct rcall *rc, struct rargv *av, const struct runc_req *rq,
    char *err, size_t errlen)
{
	const struct runc_opts *o = rq->rq_opts;
	uint32_t argc = 0;
	const char *const *a;
	const char *bin;
	int rc_err = 0;

	av->path = scratch_alloc(NS_PATH_MAX);
	av->used = 0;
	bin = o ? (o->ro_bin && *o->ro_bin ? o->ro_bin : "runc") :
	    rq->rq_args[0];
	if (runc_lookpath(bin, av->path, NS_PATH_MAX) < 0) {
		snprintf(err, errlen,
		    strchr(bin, '/') ? "exec: \"%s\": no such file or "
		    "directory" : "exec: \"%s\": executable file not found "
		    "in $PATH", bin);
		return -ENOENT;
	}
	snprintf(rc->rc_name, sizeof(rc->rc_name), "%s %s",
	    strrchr(bin, '/') ? strrchr(bin, '/') + 1 : bin,
	    o && rq->rq_args[0] ? rq->rq_args[0] : "");
	rc_err |= rc_push(av, &argc, bin);
	if (o) {
		rc_err |= rc_push(av, &argc, "--root");
		rc_err |= rc_push(av, &argc, o->ro_root);
		rc_err |= rc_push(av, &argc, "--log");
		rc_err |= rc_push(av, &argc, o->ro_log);
		rc_err |= rc_push(av, &argc, "--log-format");
		rc_err |= rc_push(av, &argc, "json");
		if (o->ro_criu && *o->ro_criu) {
			rc_err |= rc_push(av, &argc, "--criu");
			rc_err |= rc_push(av, &argc, o->ro_criu);
		}
		if (o->ro_systemd)
			rc_err |= rc_push(av, &argc, "--systemd-cgroup");
		a = rq->rq_args;
	} else {
		a = rq->rq_args + 1;
	}
	for (; *a; a++)
		rc_err |= rc_push(av, &argc, *a);
	av->argv[argc] = NULL;
	if (rc_err) {
		snprintf(err, errlen, "%s: arguments too long", bin);
		return -E2BIG;
	}
	return 0;
}

/* In the child: become exactly what exec expects, then exec. */
static void __attribute__((noreturn))
child_exec(const char *path, char *const argv[], const char *const *envp,
    const int *fds, int n, int capw)
{
	int tmp[6], i;
	sigset_t none;
	char msg[256];

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/*
	 * Every disposition back to default, through the system call: libc
	 * refuses signals 32-34 (its own), yet an ignored one inherited from
	 * whoever started containerd would otherwise reach the container.
	 */
	for (i = 1; i < 65; i++) {
		struct {
			void *handler;
			unsigned long flags;
			void *restorer;
			uint32_t mask[2];	/* 64 bits on armhf too */
		} dfl = { 0 };

		if (i != SIGKILL && i != SIGSTOP)
			syscall(SYS_rt_sigaction, i, &dfl, NULL, 8);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Move every source above the targets first so none is clobbered. */
	for (i = 0; i < n; i++) {
		int src = fds[i];

		if (src == RUNC_CAPTURE)
			src = capw;
		else if (src == RUNC_NULL)
			src = runc_devnull;
		tmp[i] = src == RUNC_NONE ? -1 :
		    fcntl(src, F_DUPFD_CLOEXEC, 64);
	}
	for (i = 0; i < n; i++) {
		if (tmp[i] < 0)
			close(i);
		else if (dup2(tmp[i], i) < 0)
			_exit(127);
	}
	syscall(SYS_close_range, (unsigned)n, ~0u, 0);
	execve(path, argv, envp ? (char *const *)envp : environ);
	i = snprintf(msg, sizeof(msg), "exec %s: %s\n", path, strerror(errno));
	if (write(2, msg, (size_t)i) < 0)
		_exit(127);
	_exit(127);
}

pid_t
runc_spawn(const char *path, char *const argv[], const char *const *envp,
    const int *fds, int nfd)
{
	pid_t pid = fork();

	if (pid == 0)
		child_exec(path, argv, envp, fds, nfd, -1);
	return pid;
}

/* Is a call with this key running or waiting (other than self)? */
static bool
rc_key_busy(handle_t key, const struct rcall *self)
{
	uint32_t i = 0;
	struct rcall *rc;

	while ((rc = pool_iter(&runc_pool, &i)) != NULL)
		if (rc != self && rc->rc_serial == key)
			return true;
	return false;
}

/*
 * Fork and exec the call; its fds, environment and deadline are in rc.
 * 0, or -errno with the reason in err.
 */
static int
rc_spawn(struct rcall *rc, const char *path, char *const argv[], char *err,
    size_t errlen)
{
	handle_t h = pool_handle(&runc_pool, rc);
	int cap[2] = { -1, -1 }, i, e;
	bool capture = false;
	pid_t pid;

	for (i = 0; i < rc->rc_nfd; i++)
		capture |= rc->rc_fd[i] == RUNC_CAPTURE;
	if (capture && pipe2(cap, O_CLOEXEC) < 0) {
		e = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return e;
	}
	pid = fork();
	if (pid < 0) {
		e = -errno;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		if (cap[0] >= 0) {
			close(cap[0]);
			close(cap[1]);
		}
		return e;
	}
	if (pid == 0)
		child_exec(path, argv, rc->rc_env, rc->rc_fd, rc->rc_nfd,
		    cap[1]);
	rc->rc_pid = pid;
	if (rc->rc_pid_out)
		*rc->rc_pid_out = pid;
	if (capture) {
		close(cap[1]);
		fcntl(cap[0], F_SETFL, O_NONBLOCK);
		rfd_init(&rc->rc_out, cap[0], h);
		rfd_want(&rc->rc_out, EPOLLIN);
	} else {
		rc->rc_eof = true;
	}
	if (rc->rc_deadline)
		rtimer_set(&rc->rc_timer, h, rc->rc_deadline);
	return 0;
}

/* Keep argv (built in scratch) in the call's own buffer while it waits. */
static void
rc_park(struct rcall *rc, const struct rargv *av)
{
	uint32_t i, used = 0;
	size_t n;

	rc->rc_args = runc_argbufs + (size_t)handle_index(
	    pool_handle(&runc_pool, rc)) * RUNC_PARKBUF;
	/* rc_build kept the path within NS_PATH_MAX, args RUNC_ARGBUF. */
	n = strlen(av->path) + 1;
	memcpy(rc->rc_args, av->path, n);
	used = (uint32_t)n;
	for (i = 0; av->argv[i]; i++) {
		n = strlen(av->argv[i]) + 1;
		memcpy(rc->rc_args + used, av->argv[i], n);
		used += (uint32_t)n;
	}
	rc->rc_argc = i;
	rc->rc_argused = used;
	rc->rc_waiting = true;
	rc->rc_ticket = ++runc_tickets;
}

/*
 * The earliest call waiting for key, if any, starts now.  One that cannot
 * start completes with the reason (it goes through the completion queue,
 * like every other result).
 */
static void rc_maybe_done(struct rcall *rc);

static void
rc_next_of(handle_t key)
{
	struct rcall *rc, *first = NULL;
	uint32_t i = 0, k;
	char **argv, *p;
	int e;

	while ((rc = pool_iter(&runc_pool, &i)) != NULL)
		if (rc->rc_waiting && rc->rc_serial == key &&
		    (first == NULL ||
		    (int32_t)(rc->rc_ticket - first->rc_ticket) < 0))
			first = rc;
	if (first == NULL)
		return;
	rc = first;
	rc->rc_waiting = false;
	argv = scratch_alloc(sizeof(*argv) * (rc->rc_argc + 1));
	p = rc->rc_args + strlen(rc->rc_args) + 1;
	for (k = 0; k < rc->rc_argc; k++) {
		argv[k] = p;
		p += strlen(p) + 1;
	}
	argv[k] = NULL;
	e = rc_spawn(rc, rc->rc_args, argv, rc->rc_buf, NS_RUNC_OUT);
	/* Its pages go back: each buffer starts on a page of its own. */
	region_release(rc->rc_args, (rc->rc_argused + 4095u) & ~4095u);
	log_debug("%s: its turn, pid %d", rc->rc_name, (int)rc->rc_pid);
	if (e < 0) {
		rc->rc_len = (uint32_t)strlen(rc->rc_buf);
		rc->rc_status = e;
		rc->rc_exited = rc->rc_eof = true;
		rc_maybe_done(rc);
	}
}

int
runc_call(const struct runc_req *rq, char *err, size_t errlen)
{
	handle_t h = pool_take(&runc_pool);
	struct rcall *rc = pool_get(&runc_pool, h);
	struct rargv *av;
	int i, e;

	if (rc == NULL) {
		snprintf(err, errlen, "too many runc calls in flight "
		    "(limit %u, NANOSHIM_RUNC_CALLS)", runc_pool.pl_cap);
		return -ENOSPC;
	}
	rc->rc_buf = runc_outbufs + (size_t)handle_index(h) * NS_RUNC_OUT;
	rc->rc_owner = rq->rq_owner;
	rc->rc_cookie = rq->rq_cookie;
	rc->rc_fn = rq->rq_done;
	rc->rc_serial = rq->rq_serial;
	rc->rc_nfd = rq->rq_nfd;
	for (i = 0; i < rq->rq_nfd; i++)
		rc->rc_fd[i] = rq->rq_fd[i];
	rc->rc_env = rq->rq_env;
	rc->rc_deadline = rq->rq_deadline;
	rc->rc_pid_out = rq->rq_pid_out;
	av = scratch_alloc(sizeof(*av));
	e = rc_build(rc, av, rq, err, errlen);
	if (e < 0)
		goto out_give;
	if (rq->rq_serial != HANDLE_NONE && rc_key_busy(rq->rq_serial, rc)) {
		rc_park(rc, av);
		log_debug("%s: waits for the call before it", rc->rc_name);
		return 0;
	}
	e = rc_spawn(rc, av->path, av->argv, err, errlen);
	if (e < 0)
		goto out_give;
	log_debug("%s: pid %d", rc->rc_name, (int)rc->rc_pid);
	return 0;

out_give:
	pool_give(&runc_pool, h);
	return e;
}

static void
rc_maybe_done(struct rcall *rc)
{
	uint32_t idx;

	if (!rc->rc_exited || !rc->rc_eof || rc->rc_queued)
		return;
	rc->rc_queued = true;
	idx = handle_index(pool_handle(&runc_pool, rc)) + 1;
	rc->rc_next = 0;
	if (runc_done_tail) {
		struct rcall *t = pool_slot(&runc_pool, runc_done_tail - 1);

		t->rc_next = idx;
	} else {
		runc_done_head = idx;
	}
	runc_done_tail = idx;
}

static void
rc_read(struct rcall *rc)
{
	char sink[512];
	unsigned budget = 64;
	ssize_t n;

	while (budget-- > 0) {
		if (rc->rc_len < NS_RUNC_OUT - 1)
			n = read(rc->rc_out.rf_fd, rc->rc_buf + rc->rc_len,
			    NS_RUNC_OUT - 1 - rc->rc_len);
		else
			n = read(rc->rc_out.rf_fd, sink, sizeof(sink));
		if (n > 0) {
			if (rc->rc_len < NS_RUNC_OUT - 1)
				rc->rc_len += (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		rfd_close(&rc->rc_out);
		rc->rc_eof = true;
		rc_maybe_done(rc);
		return;
	}
}

static void
runc_event(handle_t h, uint32_t events)
{
	struct rcall *rc = pool_get(&runc_pool, h);

	if (rc == NULL)
		return;
	if (events == REACTOR_TIMEOUT) {
		if (!rc->rc_exited) {
			log_warnx("runc call %s timed out; killing pid %d",
			    rc->rc_name, (int)rc->rc_pid);
			kill(rc->rc_pid, SIGKILL);
		}
		return;
	}
	rc_read(rc);
}

bool
runc_reaped(pid_t pid, int status, const struct timespec *when)
{
	uint32_t i = 0;
	struct rcall *rc;

	(void)when;
	while ((rc = pool_iter(&runc_pool, &i)) != NULL) {
		if (rc->rc_pid != pid || rc->rc_exited)
			continue;
		rc->rc_exited = true;
		rc->rc_status = status;
		rtimer_cancel(&rc->rc_timer);
		rc_maybe_done(rc);
		return true;
	}
	return false;
}

NS_IDLE static void
runc_sweep(void)
{
	while (runc_done_head) {
		uint32_t i = runc_done_head - 1;
		struct rcall *rc = pool_slot(&runc_pool, i);
		handle_t h = pool_handle(&runc_pool, rc);
		handle_t owner = rc->rc_owner;
		uint64_t cookie = rc->rc_cookie;
		runc_done_fn *fn = rc->rc_fn;
		int status = rc->rc_status;
		handle_t key;

		runc_done_head = rc->rc_next;
		if (runc_done_head == 0)
			runc_done_tail = 0;
		/* No output: do not even touch the buffer's page. */
		if (rc->rc_len > 0)
			rc->rc_buf[rc->rc_len] = '\0';
		log_debug("%s: pid %d done, status %d", rc->rc_name,
		    (int)rc->rc_pid, status);
		if (fn)
			fn(owner, cookie, status, rc->rc_len ? rc->rc_buf : "",
			    rc->rc_len);
		if (rc->rc_len > 4096)
			region_release(rc->rc_buf, rc->rc_len + 1);
		key = rc->rc_serial;
		pool_give(&runc_pool, h);
		/* After the callback: a call it made queues behind the rest. */
		if (key != HANDLE_NONE)
			rc_next_of(key);
	}
}

void
runc_last_error(const char *log, char *dst, size_t cap)
{
	size_t mark = scratch_mark();
	char *tail = scratch_alloc(16384);
	struct stat st;
	off_t off;
	ssize_t n;
	char *p, *line;
	int fd;

	dst[0] = '\0';
	fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) < 0) {
		close(fd);
		goto out;
	}
	off = st.st_size > 16383 ? st.st_size - 16383 : 0;
	n = pread(fd, tail, 16383, off);
	close(fd);
	if (n <= 0)
		goto out;
	tail[n] = '\0';
	/* Walk lines from the end; the first one may be cut, skip it. */
	p = tail + n;
	while (p > tail) {
		const char *v, *end;

		line = p;
		while (line > tail && line[-1] != '\n')
			line--;
		end = p;
		p = line > tail ? line - 1 : tail;
		if (line == tail && off > 0)
			break;
		v = json_get(line, end, "level", NULL);
		if (v == NULL || !json_str_eq(v, end, "error"))
			continue;
		v = json_get(line, end, "msg", NULL);
		if (v && json_str(v, end, dst, cap) == 0) {
			size_t l = strlen(dst), b = 0;

			/* strings.TrimSpace, as getLastRuntimeError does. */
			while (l > 0 && (dst[l - 1] == ' ' || dst[l - 1] == '\n' ||
			    dst[l - 1] == '\t' || dst[l - 1] == '\r'))
				dst[--l] = '\0';
			while (dst[b] == ' ' || dst[b] == '\n' || dst[b] == '\t' ||
			    dst[b] == '\r')
				b++;
			if (b)
				memmove(dst, dst + b, l - b + 1);
			goto out;
		}
	}
	dst[0] = '\0';
out:
	scratch_back(mark);
}

void
runc_error_text(char *dst, size_t cap, const char *prefix, const char *log,
    const char *bin, int status, const char *out, size_t len)
{
	char msg[1024];

	if (status < 0) {
		snprintf(dst, cap, "%s: %.*s", prefix, (int)len, out);
		return;
	}
	runc_last_error(log, msg, sizeof(msg));
	if (msg[0]) {
		snprintf(dst, cap, "%s: %s", prefix, msg);
		return;
	}
	/*
	 * go-runc: "<bin> did not terminate successfully: exit status N:
	 * <output>", N being the reaper's status (128 + signal when killed).
	 */
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		len--;
	snprintf(dst, cap, "%s: %s did not terminate successfully: exit status "
	    "%d: %.*s", prefix, bin && *bin ? bin : "runc", status, (int)len,
	    out);
}
