/*
 * main - the shim binary's three faces: `start`, `delete`, and serving.
 *
 * Owns: argv (Go flag syntax, as containerd passes it), the start and
 * delete actions, and the serving daemon's startup order.  Does not own
 * anything after the loop starts.
 *
 * Mirrors runtime/v2/shim/shim.go (run, serve), shim_unix.go, util.go
 * (SocketAddress, AnonDialer, WriteAddress) and
 * runtime/v2/runc/manager (StartShim, Stop) (spec 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pb_encode.h>

#include "layout.h"
#include "alloc.h"
#include "bounds.h"
#include "cgroup.h"
#include "conf.h"
#include "events.h"
#include "info.h"
#include "io.h"
#include "json.h"
#include "log.h"
#include "mount.h"
#include "pbs.h"
#include "proc.h"
#include "reactor.h"
#include "reaper.h"
#include "runc.h"
#include "scratch.h"
#include "sha256.h"
#include "task.h"
#include "ttrpc.h"

#include "containerd/runc/v1/oci.pb.h"
#include "containerd/task/v2/shim.pb.h"
#include "google/protobuf/any.pb.h"

#ifndef NS_VERSION
#define NS_VERSION "0.1.0"
#endif
#ifndef NS_REVISION
#define NS_REVISION "unknown"
#endif

#define SOCKET_DIR	"/run/containerd/s"
/* Linux 5.14 core scheduling; musl's headers predate it. */
#ifndef PR_SCHED_CORE
#define PR_SCHED_CORE		62
#define PR_SCHED_CORE_CREATE	1
#endif
#define SHUTDOWN_FLUSH_MS 5000u

static struct {
	const char *ns, *id, *address, *publish, *bundle, *socket;
	bool debug, version, info;
	const char *action;
	char *limits[32];	/* -limit-NAME flags as given */
	unsigned nlimits;
} opt = { .publish = "containerd" };

static char **main_argv;
static char sock_path[108];		/* unlinked at shutdown */
static struct stat sock_st;		/* that file, when we began serving */
static uint64_t shutdown_at;
static bool shutdown_signalled;

/* stdio is left out of the binary: formatted writes to an fd. */
static void __attribute__((format(printf, 2, 3)))
fdprint(int fd, const char *fmt, ...)
{
	NS_COLD static char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (n > 0 && write(fd, buf, (size_t)n) < 0)
		return;
}

static void __attribute__((noreturn))
usage(const char *why)
{
	fdprint(2, "%s\nusage: %s [-namespace NS] [-id ID] [-address "
	    "ADDR] [-publish-binary BIN] [-bundle DIR] [-socket PATH] "
	    "[-debug] [-v] [-info] [-limit-NAME N] [start|delete]\n", why,
	    main_argv[0]);
	exit(2);
}

/* Go's flag package: -f v, --f v, -f=v; booleans take no value. */
NS_IDLE static void
parse_flags(int argc, char **argv)
{
	static const struct {
		const char *name;
		const char **dst;
	} strs[] = {
		{ "namespace", &opt.ns }, { "id", &opt.id },
		{ "address", &opt.address }, { "publish-binary", &opt.publish },
		{ "bundle", &opt.bundle }, { "socket", &opt.socket },
	};
	NS_COLD static char why[256];
	int i;

	for (i = 1; i < argc; i++) {
		char *a = argv[i], *eq, *val;
		size_t k;

		if (a[0] != '-' || a[1] == '\0') {
			opt.action = a;
			return;
		}
		if (strcmp(a, "--") == 0) {
			opt.action = i + 1 < argc ? argv[i + 1] : NULL;
			return;
		}
		a += a[1] == '-' ? 2 : 1;
		eq = strchr(a, '=');
		if (eq)
			*eq = '\0';
		if (strcmp(a, "debug") == 0 || strcmp(a, "v") == 0 ||
		    strcmp(a, "info") == 0) {
			bool v = eq == NULL || strcmp(eq + 1, "true") == 0 ||
			    strcmp(eq + 1, "1") == 0;

			*(a[0] == 'd' ? &opt.debug : a[0] == 'i' ? &opt.info :
			    &opt.version) = v;
			continue;
		}
		for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			if (strcmp(a, strs[k].name) == 0)
				break;
		if (k == sizeof(strs) / sizeof(strs[0]) && !conf_known(a)) {
			snprintf(why, sizeof(why), "flag provided but not "
			    "defined: -%s", a);
			usage(why);
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			snprintf(why, sizeof(why), "flag needs an argument: "
			    "-%s", a);
			usage(why);
		}
		if (k < sizeof(strs) / sizeof(strs[0])) {
			*strs[k].dst = val;
			continue;
		}
		conf_flag(a, val);
		/* start hands the limits on to the daemon it spawns. */
		if (opt.nlimits + 2 <= sizeof(opt.limits) / sizeof(opt.limits[0])) {
			opt.limits[opt.nlimits++] = argv[i - (eq ? 0 : 1)];
			if (!eq)
				opt.limits[opt.nlimits++] = val;
			else
				*eq = '=';
		}
	}
}

static void
print_version(void)
{
	const char *b = strrchr(main_argv[0], '/');

	fdprint(1, "%s:\n  Version:  %s\n  Revision: %s\n  Runtime:  C "
	    "(single-threaded epoll reactor)\n\n", b ? b + 1 : main_argv[0],
	    NS_VERSION, NS_REVISION);
}

/* Read a whole small file into buf (NUL-terminated); length or -errno. */
NS_IDLE static ssize_t
read_file(const char *path, char *buf, size_t cap)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)got < cap - 1 &&
	    (n = read(fd, buf + got, cap - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

/* Go's path.Clean for absolute-ish paths: no //, no ., .. resolved. */
static void
path_clean(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	const char *p = in;
	bool abs = *in == '/';

	if (abs && cap > 1)
		out[n++] = '/';
	while (*p) {
		const char *e;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		len = e ? (size_t)(e - p) : strlen(p);
		if (len == 1 && p[0] == '.') {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (n > (abs ? 1u : 0u) && out[n - 1] != '/')
				n--;
			if (n > (abs ? 1u : 0u))
				n--;
		} else if (n + len + 2 < cap) {
			if (n > 0 && out[n - 1] != '/')
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
	}
	if (n == 0 && cap > 1)
		out[n++] = '.';
	out[n] = '\0';
}

/*
 * The shim socket: /run/containerd/s/ + sha256 of the cleaned
 * "<address>/<namespace>/<group key>" (runtime/v2/shim/util_unix.go).
 */
static void
socket_path(const char *key, char *dst, size_t cap)
{
	static char joined[3 * NS_PATH_MAX], clean[3 * NS_PATH_MAX];
	char hex[65];

	snprintf(joined, sizeof(joined), "%s/%s/%s", opt.address, opt.ns, key);
	path_clean(joined, clean, sizeof(clean));
	sha256_hex(clean, strlen(clean), hex);
	snprintf(dst, cap, "%s/%s", SOCKET_DIR, hex);
}

/* The grouping key: the sandbox a container belongs to, else its id. */
static const char *
group_key(void)
{
	static char key[NS_PATH_MAX];
	static const char *const names[] = {
		"io.containerd.runc.v2.group", "io.kubernetes.cri.sandbox-id",
	};
	struct stat st;
	const char *base, *end, *ann, *v;
	void *m;
	size_t i;
	int fd;

	fd = open("config.json", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return opt.id;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return opt.id;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return opt.id;
	base = m;
	end = base + st.st_size;
	ann = json_get(base, end, "annotations", NULL);
	for (i = 0; ann && i < sizeof(names) / sizeof(names[0]); i++) {
		v = json_get(ann, end, names[i], NULL);
		if (v && json_str(v, end, key, sizeof(key)) == 0 && key[0]) {
			munmap(m, (size_t)st.st_size);
			return key;
		}
	}
	munmap(m, (size_t)st.st_size);
	return opt.id;
}

static int
sock_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	e = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (e < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int
sock_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, c;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		if (e != -EADDRINUSE)
			return e;
		/* Someone serves it (a group's shim) or a stale file. */
		c = sock_connect(path);
		if (c >= 0) {
			close(c);
			return -EADDRINUSE;
		}
		unlink(path);
		return sock_listen(path);
	}
	chmod(path, 0600);
	if (listen(fd, SOMAXCONN) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void
write_address(const char *addr)
{
	int fd = open(".address", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644);

	if (fd < 0)
		fatal("write address");
	if (write(fd, addr, strlen(addr)) != (ssize_t)strlen(addr))
		fatal("write address");
	close(fd);
	if (rename(".address", "address") < 0)
		fatal("rename address");
}

/*
 * Is the Any's type containerd.runc.v1.Options ("type.googleapis.com/"
 * prefixed by containerd 2.x)?  Other runtimes' options are not ours.
 */
static bool
runc_options_url(const struct pbs *url)
{
	static const char name[] = "containerd.runc.v1.Options";
	size_t n = sizeof(name) - 1;

	return url->len >= n && memcmp(url->p + url->len - n, name, n) == 0 &&
	    (url->len == n || url->p[url->len - n - 1] == '/');
}

/* The daemon's oom_score_adj is containerd's plus one (spec 1.2, 9). */
static void
adjust_oom_score(pid_t pid)
{
	char path[64], buf[32];
	long v;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)getppid());
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return;
	v = strtol(buf, NULL, 10) + 1;
	if (v > 1000)
		v = 1000;
	if (v < -1000)
		v = -1000;
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	snprintf(buf, sizeof(buf), "%ld", v);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, buf, strlen(buf)) < 0 && errno != EACCES)
		log_warn("set oom_score_adj");
	close(fd);
}

static void __attribute__((noreturn))
action_start(void)
{
	static char addr[NS_PATH_MAX + 16], in[65536];
	NS_COLD static containerd_runc_v1_Options o;
	NS_COLD static google_protobuf_Any any;
	static char cg[NS_PATH_MAX];
	static char self[NS_PATH_MAX];
	static char err[NS_PATH_MAX + 128];
	char *argv[10 + 32];
	int fd, devnull, argc = 0;
	ssize_t sl;
	unsigned li;
	ssize_t n, got = 0;
	pid_t pid;

	if (opt.id == NULL || opt.address == NULL)
		fatalx("start needs -id and -address");
	socket_path(group_key(), sock_path, sizeof(sock_path));
	snprintf(addr, sizeof(addr), "unix://%s", sock_path);
	if (mkdir("/run/containerd", 0711) < 0 && errno != EEXIST)
		fatal("mkdir /run/containerd");
	if (mkdir(SOCKET_DIR, 0700) < 0 && errno != EEXIST)
		fatal("mkdir %s", SOCKET_DIR);
	fd = sock_listen(sock_path);
	if (fd == -EADDRINUSE) {
		/* A live shim serves this group: use it. */
		write_address(addr);
		fdprint(1, "%s", addr);
		exit(0);
	}
	if (fd < 0) {
		errno = -fd;
		fatal("listen on %s", sock_path);
	}
	write_address(addr);
	if (getenv("SCHED_CORE") && *getenv("SCHED_CORE") &&
	    prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0, 2, 0) < 0)
		log_warn("enable sched core");

	argv[argc++] = main_argv[0];
	argv[argc++] = "-namespace";
	argv[argc++] = (char *)opt.ns;
	argv[argc++] = "-id";
	argv[argc++] = (char *)opt.id;
	argv[argc++] = "-address";
	argv[argc++] = (char *)opt.address;
	if (opt.debug)
		argv[argc++] = "-debug";
	for (li = 0; li < opt.nlimits; li++)
		argv[argc++] = opt.limits[li];
	argv[argc] = NULL;
	/* Our own path, so the daemon is named like us (not "exe"). */
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		fatal("readlink /proc/self/exe");
	self[sl] = '\0';
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid == 0) {
		/* The daemon: own process group, fd 3 the socket. */
		setpgid(0, 0);
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (fd != 3) {
			dup2(fd, 3);
		} else {
			fcntl(3, F_SETFD, 0);
		}
		/* Nothing else of whoever ran `start` reaches the daemon. */
		syscall(SYS_close_range, 4u, ~0u, 0);
		execv(self, argv);
		_exit(127);
	}
	close(fd);
	/* The options Any on stdin decides the shim's cgroup. */
	while ((size_t)got < sizeof(in) &&
	    (n = read(0, in + got, sizeof(in) - (size_t)got)) > 0)
		got += n;
	if (got > 0 && pbs_decode(google_protobuf_Any_fields, &any, in,
	    (size_t)got, NULL) == 0 && runc_options_url(&any.type_url) &&
	    pbs_decode(containerd_runc_v1_Options_fields, &o, any.value.p,
	    any.value.len, NULL) == 0 && o.shim_cgroup.len > 0 &&
	    pbs_copy(&o.shim_cgroup, cg, sizeof(cg)) == 0) {
		/* Spec 1.2 step 8; failing it fails start, daemon and all. */
		cgroup_init();
		if (cgroup_join(cg, pid, err, sizeof(err)) < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			unlink(sock_path);
			fatalx("%s", err);
		}
	}
	adjust_oom_score(pid);
	fdprint(1, "%s", addr);
	exit(0);
}

static pid_t
run_wait(char *const argv[])
{
	static char path[NS_PATH_MAX];
	int st, devnull;
	pid_t pid;

	if (runc_lookpath(argv[0], path, sizeof(path)) < 0) {
		fdprint(2, "exec: \"%s\": executable file not found in "
		    "$PATH\n", argv[0]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(2, 1);
		execv(path, argv);
		fdprint(2, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return reaper_status(st);
}

/*
 * `delete`: the daemon is gone (or its connection is).  Clean up what it
 * would have, and tell containerd how the init ended (spec 1.4).
 */
static void __attribute__((noreturn))
action_delete(void)
{
	static char cwd[NS_PATH_MAX], dir[NS_PATH_MAX], buf[NS_PATH_MAX],
	    bin[NS_PATH_MAX], root[NS_PATH_MAX], rootns[NS_PATH_MAX],
	    logp[NS_PATH_MAX], opts[16384];
	containerd_task_v2_DeleteResponse rsp;
	uint8_t out[64];
	struct timespec now;
	pb_ostream_t os;
	const char *v, *slash;
	ssize_t n;
	char *argv[16];
	int argc = 0, st;

	if (opt.id == NULL)
		fatalx("delete needs -id");
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		fatal("getcwd");
	slash = strrchr(cwd, '/');
	snprintf(dir, sizeof(dir), "%.*s/%s", (int)(slash ? slash - cwd : 0),
	    cwd, opt.id);
	snprintf(buf, sizeof(buf), "%s/runtime", dir);
	if (read_file(buf, bin, sizeof(bin)) <= 0)
		strcpy(bin, "runc");
	snprintf(buf, sizeof(buf), "%s/options.json", dir);
	n = read_file(buf, opts, sizeof(opts));
	root[0] = '\0';
	if (n > 0 && (v = json_get(opts, opts + n, "root", NULL)) != NULL)
		json_str(v, opts + n, root, sizeof(root));
	snprintf(rootns, sizeof(rootns), "%s/%s", root[0] ? root :
	    "/run/containerd/runc", opt.ns);
	snprintf(logp, sizeof(logp), "%s/log.json", dir);
	argv[argc++] = bin;
	argv[argc++] = "--root";
	argv[argc++] = rootns;
	argv[argc++] = "--log";
	argv[argc++] = logp;
	argv[argc++] = "--log-format";
	argv[argc++] = "json";
	argv[argc++] = "delete";
	argv[argc++] = "--force";
	argv[argc++] = (char *)opt.id;
	argv[argc] = NULL;
	st = run_wait(argv);
	if (st != 0)
		fdprint(2, "failed to remove runc container: %s exited "
		    "%d\n", bin, st);
	snprintf(buf, sizeof(buf), "%s/rootfs", dir);
	if (mount_unmount_all(buf) < 0)
		fdprint(2, "failed to cleanup rootfs mount: %s\n",
		    strerror(errno));
	memset(&rsp, 0, sizeof(rsp));
	snprintf(buf, sizeof(buf), "%s/init.pid", dir);
	n = read_file(buf, bin, 32);
	if (n > 0)
		rsp.pid = (uint32_t)strtoul(bin, NULL, 10);
	else
		fdprint(2, "failed to read init pid file\n");
	clock_gettime(CLOCK_REALTIME, &now);
	rsp.exit_status = 128 + SIGKILL;
	rsp.has_exited_at = true;
	rsp.exited_at.seconds = now.tv_sec;
	rsp.exited_at.nanos = (int32_t)now.tv_nsec;
	os = pb_ostream_from_buffer(out, sizeof(out));
	if (!pb_encode(&os, containerd_task_v2_DeleteResponse_fields, &rsp))
		fatalx("encode delete response");
	if (write(1, out, os.bytes_written) != (ssize_t)os.bytes_written)
		fatal("write delete response");
	exit(0);
}

static void
on_term(void)
{
	shutdown_signalled = true;
}

static void
on_usr1(void)
{
	char lim[256];

	conf_describe(lim, sizeof(lim));
	log_info("state: containers=%u connections=%u runc=%u events=%u "
	    "dropped_events=%llu dropped_log_lines=%llu allocations=%llu "
	    "scratch_peak=%zu limits: %s", proc_count(), ttrpc_conns(),
	    runc_inflight(), events_pending(),
	    (unsigned long long)events_dropped(),
	    (unsigned long long)log_dropped(),
	    (unsigned long long)alloc_violations(), scratch_peak(), lim);
}

/*
 * sock_note remembers which file our socket is; sock_release removes
 * that file, once, and only if it is still ours.  A shim started for the
 * same id while we shut down (`ctr run --rm X` twice in a row) finds the
 * path unserved, removes it and binds its own socket there: unlinking
 * by name at our exit would take the new shim's socket away, leaving it
 * running with no way in ("no such file or directory" at its start).
 */
NS_IDLE static void
sock_note(void)
{
	if (sock_path[0] && stat(sock_path, &sock_st) < 0)
		sock_path[0] = '\0';
}

static void
sock_release(void)
{
	struct stat st;

	if (sock_path[0] && stat(sock_path, &st) == 0 &&
	    st.st_dev == sock_st.st_dev && st.st_ino == sock_st.st_ino)
		unlink(sock_path);
	sock_path[0] = '\0';
}

/*
 * Shutdown (the Shutdown call with no containers, or SIGTERM/SIGINT):
 * stop taking connections and free the socket's path at once (so a shim
 * started next for this id binds its own), give queued events up to 5 s,
 * then leave.
 */
NS_IDLE static void
shutdown_sweep(void)
{
	if (shutdown_at == 0) {
		if (!shutdown_signalled && !task_shutdown_requested())
			return;
		log_info("shutting down");
		ttrpc_stop_listening();
		sock_release();
		shutdown_at = now_ms() + SHUTDOWN_FLUSH_MS;
	}
	if (events_pending() == 0 || now_ms() >= shutdown_at) {
		if (events_pending())
			log_warnx("exiting with %u events not delivered",
			    events_pending());
		reactor_stop(0);
	}
}

NS_IDLE static int
serve_socket(void)
{
	int type = 0, fd;
	socklen_t len = sizeof(type);

	if (opt.socket) {
		fd = sock_listen(opt.socket);
		if (fd < 0) {
			errno = -fd;
			fatal("listen on %s", opt.socket);
		}
		snprintf(sock_path, sizeof(sock_path), "%s", opt.socket);
		return fd;
	}
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_STREAM)
		fatalx("no socket on fd 3 and no -socket given");
	return 3;
}

NS_IDLE static void __attribute__((noreturn))
serve(void)
{
	static char fields[256];
	char lim[256], *addr = scratch_alloc(NS_PATH_MAX);
	const char *ttrpc_addr = getenv("TTRPC_ADDRESS");
	struct rlimit rl;
	bool strict;
	int fd, lfd;

	signal(SIGPIPE, SIG_IGN);
	/*
	 * Use every fd the hard limit allows; the reserve is kept below it.
	 * (prlimit, not setrlimit: musl's setrlimit drags in its thread
	 * synchronisation code.)
	 */
	if (prlimit(0, RLIMIT_NOFILE, NULL, &rl) == 0 &&
	    rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		prlimit(0, RLIMIT_NOFILE, &rl, NULL);
	}
	lfd = serve_socket();
	fd = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		fatalx("fifo error: stat log: no such file or directory");
	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
		fcntl(2, F_SETFL, O_WRONLY | O_NONBLOCK);
	}
	snprintf(fields, sizeof(fields), "namespace=%s runtime=%s",
	    opt.ns, "io.containerd.nanoshim.v2");
	log_init(2, opt.debug ? LOG_DEBUG : LOG_INFO, fields);
	if (!opt.socket && read_file("address", addr, NS_PATH_MAX) > 0 &&
	    strncmp(addr, "unix://", 7) == 0)
		snprintf(sock_path, sizeof(sock_path), "%s", addr + 7);
	sock_note();

	reactor_init(conf.cf_procs * 2 + conf.cf_runc + conf.cf_conns +
	    conf.cf_ctrs + 16);
	reaper_init();
	runc_set_env(environ);
	runc_init(conf.cf_runc);
	cgroup_init();
	ttrpc_init(lfd, conf.cf_conns);
	events_init(ttrpc_addr ? ttrpc_addr : "", opt.ns, conf.cf_events,
	    conf.cf_evbytes);
	proc_init(conf.cf_ctrs, conf.cf_procs, conf.cf_parked, opt.ns);
	task_init(opt.ns);
	reaper_route(runc_reaped);
	reaper_route(io_reaped);
	reaper_route(proc_reaped);
	reactor_on_signal(SIGTERM, on_term);
	reactor_on_signal(SIGINT, on_term);
	reactor_on_signal(SIGUSR1, on_usr1);
	reactor_sweep(shutdown_sweep);
	conf_describe(lim, sizeof(lim));
	log_info("nanoshim %s serving, pid %d, limits: %s", NS_VERSION,
	    (int)getpid(), lim);
	conf_report();

	/*
	 * From here on the shim must not die and must not allocate: every
	 * pool is sized, every buffer reserved.  A full pool is answered,
	 * never fatal; a broken invariant is logged, then abort().
	 */
	strict = getenv("NANOSHIM_STRICT_ALLOC") &&
	    strcmp(getenv("NANOSHIM_STRICT_ALLOC"), "1") == 0;
	if (strict)
		log_info("allocation guard: strict (any allocation aborts)");
	alloc_seal(strict);
	/* What startup read (mount tables...) need not stay resident. */
	scratch_reset();
	reactor_run();

	sock_release();
	log_info("exiting");
	alloc_exit_check();
	_exit(0);
}

NS_IDLE int
main(int argc, char **argv)
{
	main_argv = argv;
	/*
	 * Limits: defaults, the environment, then flags.  Bad values stop
	 * every action here, so `start` reports them where containerd sees
	 * them instead of leaving a daemon that dies and a dead socket.
	 */
	conf_load();
	parse_flags(argc, argv);
	if (opt.version) {
		print_version();
		return 0;
	}
	if (opt.info)
		info_run(NS_VERSION, NS_REVISION);
	if (opt.ns == NULL || *opt.ns == '\0')
		fatalx("shim namespace cannot be empty");
	log_init(2, LOG_OFF, NULL);
	if (opt.action && strcmp(opt.action, "start") == 0)
		action_start();
	if (opt.action && strcmp(opt.action, "delete") == 0)
		action_delete();
	serve();
}
