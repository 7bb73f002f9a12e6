/*
 * io - a process's stdio; see io.h.
 *
 * Mirrors pkg/process/io.go (createIO, copyPipes, NewBinaryIO),
 * io_util.go and runtime/v2/runc/platform.go (CopyConsole).
 *
 * A stream copies src -> dst: stdin FIFO -> container stdin (pipe or pty
 * master), container stdout/stderr (pipe or master) -> FIFO, file or
 * logger pipe.  Between two pipes the kernel moves the bytes (splice);
 * otherwise a 4 KiB buffer in the stream.  Interest follows state: read
 * the source while the destination takes data, otherwise wait for the
 * destination to become writable.  A source at EOF closes the
 * destination, so the reader at the other end sees EOF too.
 *
 * FIFOs never block the loop: an output FIFO is opened for reading by us
 * first (kept: a vanished client then never causes EPIPE, only back
 * pressure), then for writing.  For stdin we open the reader, and after
 * runc has run our own writer, which keeps the container's stdin open
 * until CloseIO, as the Go shim does.
 *
 * The pty master reports HUP whenever no slave is open; that is not EOF
 * while the process lives, so the master leaves the epoll set until the
 * process exits (no spinning), then is drained until EIO.
 *
 * Streaming.  A pipe wakes its epoll reader at every write, so a
 * container writing fast in small pieces (4 KiB from busybox, 8 KiB from
 * glibc's stdio) costs a wakeup, a context switch and a splice per piece,
 * and its writer and reader are woken as often.  A stream that moves more
 * than IO_STREAM_ENTER bytes within IO_WINDOW_MS switches to streaming:
 * its pipes grow to IO_PIPE_BIG, it leaves the epoll set, and a timer
 * polls it, each tick moving up to a whole pipe with one splice; the
 * ticks come 1 to 8 ms apart, further when they find little.  A tick
 * that moves less than IO_STREAM_STAY when they are 8 ms apart ends
 * streaming: the pipes shrink back to the kernel's default (given back as
 * soon as what they hold fits) and readiness drives the stream again.
 * An idle stream has no timer and costs no wakeup.  Outside streaming a
 * splice that moved less than asked for ends the pump (the source is most
 * likely empty; level-triggered interest says otherwise), so a line of
 * output costs one wakeup and one splice.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "layout.h"
#include "bounds.h"
#include "io.h"
#include "log.h"
#include "reactor.h"
#include "runc.h"
#include "scratch.h"

#define IO_BUF		4096u
#define IO_SPLICE	(64u << 10)
#define IO_PIPE_SMALL	(64u << 10)	/* the kernel's default pipe size */
#define IO_PIPE_BIG	(1u << 20)	/* while streaming (pipe-max-size) */
#define IO_WINDOW_MS	50u
#define IO_STREAM_ENTER	(256u << 10)	/* in one window: 5 MB/s or more */
#define IO_STREAM_STAY	(64u << 10)	/* per tick */
#define IO_TICK_MS	1u		/* first tick; then 1 to 8 ms */
#define IO_TICK_MAX_MS	8u
#define IO_LOGGER_KILL_MS 12000u
#define IO_LOGGER_ARGS	32

enum { IO_NULL, IO_PIPES, IO_BINARY, IO_TTY };
enum { SK_NONE, SK_IN, SK_OUT };
/* Roles of the fds of one io, packed into the low 3 bits of a handle. */
enum { R_SRC0, R_DST0, R_SRC1, R_DST1, R_SRC2, R_DST2, R_MASTER, R_MISC };

struct stream {
	uint8_t s_kind;
	bool s_eof;		/* source at EOF */
	bool s_done;		/* destination closed */
	bool s_nosplice;
	bool s_dst_file;	/* regular file: never in epoll */
	bool s_dst_master;	/* writes go to the pty master */
	bool s_src_master;
	bool s_streaming;	/* timer-driven, big pipes (see top) */
	bool s_big;		/* a pipe may still be big: shrink it */
	uint32_t s_win_at;	/* start of the rate window (ms) */
	uint32_t s_win_bytes;	/* bytes moved since */
	struct rfd s_src;
	struct rfd s_dst;
	int s_keep;		/* FIFO end kept by us (see top), 0 = none */
	uint16_t s_pos, s_len;
	uint8_t *s_buf;		/* its buffer in io_bufs, when not splicing */
};

struct io {
	handle_t i_owner;
	uint8_t i_mode;
	bool i_started, i_draining, i_drained_sent, i_hup, i_closing;
	int i_child[3];		/* the container's ends, 0 = none */
	struct rfd i_master;
	struct rfd i_ready;	/* logger readiness pipe */
	int i_console;		/* console socket (listening) */
	pid_t i_logger;
	int i_log_w[2];		/* logger pipes' write ends we keep */
	/* Streaming tick (see top); the logger's kill once i_closing. */
	struct rtimer i_timer;
	uint8_t i_tick_ms;	/* the streaming tick's interval */
	struct stream i_s[3];
	char i_sockdir[128];
	char i_sock[160];
};

static struct pool io_pool;
/*
 * Copy buffers, one set per io slot, apart from the slots: only terminals
 * and non-pipe ends use them, so a running shim's io slots stay small
 * (they share the hot page, pool.h) and the buffers cost nothing until a
 * terminal needs them, and nothing again once it is closed.
 */
static uint8_t (*io_bufs)[3][IO_BUF];
static io_ready_fn *io_ready_cb;
static io_drained_fn *io_drained_cb;

static void io_event(handle_t h, uint32_t events);
static void stream_pump(struct io *io, struct stream *s);

NS_IDLE void
io_init(uint32_t max, io_ready_fn *ready, io_drained_fn *drained)
{
	pool_init(&io_pool, "stdio sets", K_IO, sizeof(struct io), max);
	io_bufs = region_reserve(sizeof(*io_bufs) * max);
	reactor_handler(K_IO, io_event);
	io_ready_cb = ready;
	io_drained_cb = drained;
}

static handle_t
io_sub(const struct io *io, unsigned role)
{
	handle_t h = pool_handle(&io_pool, io);

	return handle_make(K_IO, (uint32_t)(h >> 32),
	    handle_index(h) * 8 + role);
}

static struct io *
io_from_sub(handle_t h, unsigned *role)
{
	*role = handle_index(h) & 7;
	return pool_get(&io_pool, handle_make(K_IO, (uint32_t)(h >> 32),
	    handle_index(h) / 8));
}

static void
close_fd(int *fd)
{
	if (*fd > 0)
		close(*fd);
	*fd = 0;
}

/*
 * Undo %XX escapes in place, as Go's url.PathUnescape (plus: false) or
 * url.QueryUnescape (plus: true, '+' is a space).  -EINVAL for a '%' not
 * followed by two hex digits, or an escape that makes a NUL byte (which
 * could not reach exec or open anyway).
 */
static int
uri_unescape(char *s, bool plus)
{
	static const char hex[] = "0123456789abcdef0123456789ABCDEF";
	char *d = s;

	for (; *s; s++) {
		if (*s == '%') {
			const char *h1 = s[1] ? strchr(hex, s[1]) : NULL;
			const char *h2 = h1 && s[2] ? strchr(hex, s[2]) : NULL;
			int v;

			if (h1 == NULL || h2 == NULL)
				return -EINVAL;
			v = (int)((h1 - hex) % 16) * 16 + (int)((h2 - hex) % 16);
			if (v == 0)
				return -EINVAL;
			*d++ = (char)v;
			s += 2;
			continue;
		}
		*d++ = plus && *s == '+' ? ' ' : *s;
	}
	*d = '\0';
	return 0;
}

/*
 * Split the part of a binary:// or file:// URI after "scheme:" (in place)
 * the way the Go shim sees it through net/url: control characters are
 * refused; the fragment is dropped; "//authority" is skipped (Go keeps
 * only Path); the path is unescaped; the query becomes key/value argv
 * pairs, as Go's `for k, vs := range uri.Query() { k, vs[0] }`: the first
 * value of each key, "" for a key without '=', pieces with ';' or a bad
 * escape left out.  Returns the number of argv entries (path not
 * counted), or -EINVAL for a bad escape or character in the path.
 */
int
io_uri_split(char *s, char **path, char **argv, int max)
{
	char *q, *h, *p;
	int argc = 0;

	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	if ((h = strchr(s, '#')) != NULL)
		*h = '\0';
	if ((q = strchr(s, '?')) != NULL)
		*q++ = '\0';
	if (strncmp(s, "//", 2) == 0) {
		s += 2;
		p = strchr(s, '/');
		s = p ? p : s + strlen(s);
	}
	if (uri_unescape(s, false) < 0)
		return -EINVAL;
	*path = s;
	while (q && *q && argc + 2 <= max) {
		char *amp = strchr(q, '&'), *k = q, *v;
		bool dup = false;

		if (amp)
			*amp = '\0';
		q = amp ? amp + 1 : NULL;
		if (*k == '\0' || strchr(k, ';'))
			continue;
		v = strchr(k, '=');
		if (v)
			*v++ = '\0';
		else
			v = k + strlen(k);
		if (uri_unescape(k, true) < 0 || uri_unescape(v, true) < 0)
			continue;
		for (int i = 0; i < argc && !dup; i += 2)
			dup = strcmp(argv[i], k) == 0;
		if (dup)
			continue;
		argv[argc++] = k;
		argv[argc++] = v;
	}
	return argc;
}

/* --- opening -------------------------------------------------------------- */

/*
 * An output destination: a FIFO (ours reader first, then writer), a
 * regular file, or nothing.  Sets s->s_dst and s->s_keep.
 */
static int
open_out(struct stream *s, const char *path, char *msg, size_t cap)
{
	struct stat st = { 0 };
	int rd, wr;

	if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
		rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (rd < 0)
			goto fail;
		wr = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (wr < 0) {
			close(rd);
			goto fail;
		}
		s->s_keep = rd;
		rfd_init(&s->s_dst, wr, HANDLE_NONE);
		return 0;
	}
	wr = open(path, O_WRONLY | O_CLOEXEC);
	if (wr < 0)
		goto fail;
	s->s_dst_file = !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode) &&
	    !S_ISCHR(st.st_mode);
	rfd_init(&s->s_dst, wr, HANDLE_NONE);
	return 0;
fail:
	snprintf(msg, cap, "open %s: %s", path, strerror(errno));
	return -errno;
}

static int
mkdir_p(char *path, mode_t mode)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

/* file://: stdout and stderr both append to one file. */
static int
open_file_uri(struct io *io, const char *uri, char *msg, size_t cap)
{
	char *buf = scratch_printf("%s", uri + 5), *path, *argv[2];
	int fd;

	if (io_uri_split(buf, &path, argv, 0) < 0) {
		snprintf(msg, cap, "invalid file:// URI %s", uri);
		return -EINVAL;
	}
	if (path[0] != '/') {
		snprintf(msg, cap, "file:// path %s is not absolute", path);
		return -EINVAL;
	}
	if (mkdir_p(path, 0755) < 0) {
		snprintf(msg, cap, "mkdir for %s: %s", path, strerror(errno));
		return -errno;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(msg, cap, "open %s: %s", path, strerror(errno));
		return -errno;
	}
	rfd_init(&io->i_s[1].s_dst, fd, HANDLE_NONE);
	io->i_s[1].s_dst_file = true;
	io->i_s[1].s_kind = SK_OUT;
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		snprintf(msg, cap, "dup: %s", strerror(errno));
		return -errno;
	}
	rfd_init(&io->i_s[2].s_dst, fd, HANDLE_NONE);
	io->i_s[2].s_dst_file = true;
	io->i_s[2].s_kind = SK_OUT;
	return 0;
}

/*
 * binary://path?k=v: start the logging binary with fd 3 = stdout pipe,
 * fd 4 = stderr pipe, fd 5 = readiness pipe, and only CONTAINER_ID and
 * CONTAINER_NAMESPACE in its environment (spec 6.4).
 */
NS_RARE static int
open_binary(struct io *io, const struct io_spec *sp, const char *uri,
    char *msg, size_t cap)
{
	char *buf = scratch_printf("%s", uri + 7);
	char *argv[IO_LOGGER_ARGS + 2];
	const char *envp[3];
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rdy[2] = { -1, -1 };
	int fds[6], argc, e;

	argc = io_uri_split(buf, &argv[0], argv + 1, IO_LOGGER_ARGS);
	if (argc < 0) {
		snprintf(msg, cap, "invalid binary:// URI %s", uri);
		return -EINVAL;
	}
	buf = argv[0];
	argv[argc + 1] = NULL;
	if (access(buf, X_OK) < 0) {
		snprintf(msg, cap, "failed to start binary process: %s: %s",
		    buf, strerror(errno));
		return -errno;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(rdy, O_CLOEXEC) < 0) {
		e = -errno;
		snprintf(msg, cap, "pipe: %s", strerror(errno));
		goto out_close;
	}
	envp[0] = scratch_printf("CONTAINER_ID=%s", sp->is_id);
	envp[1] = scratch_printf("CONTAINER_NAMESPACE=%s", sp->is_ns);
	envp[2] = NULL;
	fds[0] = fds[1] = fds[2] = RUNC_NULL;
	fds[3] = out[0];
	fds[4] = err[0];
	fds[5] = rdy[1];
	io->i_logger = runc_spawn(buf, argv, envp, fds, 6);
	if (io->i_logger < 0) {
		e = -errno;
		snprintf(msg, cap, "failed to start binary process: %s",
		    strerror(errno));
		io->i_logger = 0;
		goto out_close;
	}
	close(out[0]);
	close(err[0]);
	close(rdy[1]);
	io->i_log_w[0] = out[1];
	io->i_log_w[1] = err[1];
	fcntl(rdy[0], F_SETFL, O_NONBLOCK);
	rfd_init(&io->i_ready, rdy[0], io_sub(io, R_MISC));
	rfd_want(&io->i_ready, EPOLLIN);
	return 1;

out_close:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
		if (rdy[i] >= 0)
			close(rdy[i]);
	}
	return e;
}

/* A console socket for runc's --console-socket (spec 6.5). */
NS_RARE static int
open_console(struct io *io, char *msg, size_t cap)
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	struct sockaddr_un sa;
	unsigned r = 0;
	int fd, i;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	for (i = 0; i < 16; i++) {
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) < 0)
			r = (unsigned)now_ms() * 2654435761u + (unsigned)i;
		snprintf(io->i_sockdir, sizeof(io->i_sockdir), "%s/pty%u",
		    base, r);
		if (mkdir(io->i_sockdir, 0700) == 0)
			break;
		if (errno != EEXIST) {
			snprintf(msg, cap, "mkdir %s: %s", io->i_sockdir,
			    strerror(errno));
			return -errno;
		}
	}
	snprintf(io->i_sock, sizeof(io->i_sock), "%s/pty.sock", io->i_sockdir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(io->i_sock) >= sizeof(sa.sun_path)) {
		close(fd);
		errno = ENAMETOOLONG;
		goto fail;
	}
	memcpy(sa.sun_path, io->i_sock, strlen(io->i_sock));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4) < 0) {
		close(fd);
		goto fail;
	}
	io->i_console = fd;
	return 0;
fail:
	snprintf(msg, cap, "failed to create runc console socket: %s",
	    strerror(errno));
	rmdir(io->i_sockdir);
	io->i_sockdir[0] = '\0';
	io->i_sock[0] = '\0';
	return -errno;
}

static void
console_unlink(struct io *io)
{
	close_fd(&io->i_console);
	if (io->i_sock[0])
		unlink(io->i_sock);
	if (io->i_sockdir[0])
		rmdir(io->i_sockdir);
	io->i_sock[0] = io->i_sockdir[0] = '\0';
}

static void io_free(struct io *io);

int
io_open(const struct io_spec *sp, handle_t owner, handle_t *out, char *msg,
    size_t cap)
{
	handle_t h = pool_take(&io_pool);
	struct io *io = pool_get(&io_pool, h);
	const char *so = sp->is_stdout ? sp->is_stdout : "";
	int e = 0, p[2], i;

	if (io == NULL) {
		snprintf(msg, cap, "too many stdio sets (limit %u, "
		    "NANOSHIM_PROCESSES)", io_pool.pl_cap);
		return -ENOSPC;
	}
	io->i_owner = owner;
	*out = h;
	if (!*sp->is_stdin && !*so && !*sp->is_stderr) {
		io->i_mode = IO_NULL;
		return 0;
	}
	if (strncmp(so, "binary://", 9) == 0) {
		io->i_mode = sp->is_terminal ? IO_TTY : IO_BINARY;
		e = open_binary(io, sp, so, msg, cap);
		if (e < 0)
			goto fail;
		if (sp->is_terminal) {
			rfd_init(&io->i_s[1].s_dst, io->i_log_w[0], HANDLE_NONE);
			io->i_log_w[0] = 0;
			io->i_s[1].s_kind = SK_OUT;
		}
	} else if (strncmp(so, "file://", 7) == 0) {
		io->i_mode = sp->is_terminal ? IO_TTY : IO_PIPES;
		e = open_file_uri(io, so, msg, cap);
		if (e < 0)
			goto fail;
		if (sp->is_terminal) {
			/* A terminal has no stderr. */
			rfd_close(&io->i_s[2].s_dst);
			io->i_s[2].s_kind = SK_NONE;
		}
	} else if (strstr(so, "://") && strncmp(so, "fifo://", 7) != 0) {
		snprintf(msg, cap, "unknown STDIO scheme %.*s",
		    (int)(strstr(so, "://") - so), so);
		e = -EINVAL;
		goto fail;
	} else {
		io->i_mode = sp->is_terminal ? IO_TTY : IO_PIPES;
		if (strncmp(so, "fifo://", 7) == 0)
			so += 7;
		/* The Go shim needs both outputs; an empty one fails too. */
		if (*so == '\0' || (!sp->is_terminal && !*sp->is_stderr)) {
			snprintf(msg, cap, "open : no such file or directory");
			e = -ENOENT;
			goto fail;
		}
		e = open_out(&io->i_s[1], so, msg, cap);
		if (e < 0)
			goto fail;
		io->i_s[1].s_kind = SK_OUT;
		if (!sp->is_terminal) {
			e = open_out(&io->i_s[2], sp->is_stderr, msg, cap);
			if (e < 0)
				goto fail;
			io->i_s[2].s_kind = SK_OUT;
		}
	}
	/* stdin: our reader now; our writer after runc ran. */
	if (*sp->is_stdin && io->i_mode != IO_BINARY) {
		i = open(sp->is_stdin, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (i < 0) {
			e = -errno;
			snprintf(msg, cap, "open %s: %s", sp->is_stdin,
			    strerror(errno));
			goto fail;
		}
		rfd_init(&io->i_s[0].s_src, i, HANDLE_NONE);
		io->i_s[0].s_kind = SK_IN;
	}
	if (io->i_mode == IO_TTY) {
		e = open_console(io, msg, cap);
		if (e < 0)
			goto fail;
	} else if (io->i_mode == IO_PIPES) {
		/* One pipe per stream; the container gets one end of each. */
		for (i = 0; i < 3; i++) {
			struct stream *s = &io->i_s[i];

			if (s->s_kind == SK_NONE)
				continue;
			if (pipe2(p, O_CLOEXEC) < 0) {
				e = -errno;
				snprintf(msg, cap, "pipe: %s", strerror(errno));
				goto fail;
			}
			if (i == 0) {
				io->i_child[0] = p[0];
				fcntl(p[1], F_SETFL, O_NONBLOCK);
				rfd_init(&s->s_dst, p[1], HANDLE_NONE);
			} else {
				io->i_child[i] = p[1];
				fcntl(p[0], F_SETFL, O_NONBLOCK);
				rfd_init(&s->s_src, p[0], HANDLE_NONE);
			}
			if ((sp->is_uid || sp->is_gid) &&
			    fchown(io->i_child[i], sp->is_uid, sp->is_gid) < 0)
				log_warn("chown stdio pipe");
		}
	}
	return e;	/* 1 while a logging binary gets ready */

fail:
	io_free(io);
	*out = HANDLE_NONE;
	return e;
}

void
io_child_fds(handle_t h, int fd[3])
{
	struct io *io = pool_get(&io_pool, h);
	int i;

	fd[0] = RUNC_NULL;
	fd[1] = fd[2] = RUNC_NULL;
	if (io == NULL)
		return;
	switch (io->i_mode) {
	case IO_TTY:
		/* runc's own output is only its errors: capture them. */
		fd[1] = fd[2] = RUNC_CAPTURE;
		break;
	case IO_BINARY:
		fd[1] = io->i_log_w[0];
		fd[2] = io->i_log_w[1];
		break;
	case IO_PIPES:
		for (i = 0; i < 3; i++)
			if (io->i_child[i] > 0)
				fd[i] = io->i_child[i];
		break;
	default:
		break;
	}
}

const char *
io_console_path(handle_t h)
{
	struct io *io = pool_get(&io_pool, h);

	return io && io->i_sock[0] ? io->i_sock : NULL;
}

/* --- copying ------------------------------------------------------------ */

static void
stream_want(struct io *io, struct stream *s, bool in, bool out)
{
	if (rfd_open(&s->s_src) && !s->s_src_master)
		rfd_want(&s->s_src, in ? EPOLLIN : 0);
	if (rfd_open(&s->s_dst) && !s->s_dst_file && !s->s_dst_master)
		rfd_want(&s->s_dst, out ? EPOLLOUT : 0);
	if (rfd_open(&io->i_master) && !io->i_hup) {
		uint32_t m = 0;

		if (io->i_s[1].s_src_master && !io->i_s[1].s_done &&
		    !io->i_s[1].s_eof && io->i_s[1].s_len == 0)
			m |= EPOLLIN;
		if (io->i_s[0].s_dst_master && io->i_s[0].s_len > 0)
			m |= EPOLLOUT;
		/*
		 * A master always reports HUP once the slave closes; while
		 * nothing else is wanted it stays out of the set.
		 */
		rfd_want(&io->i_master, m);
	}
}

static void
io_check_drained(struct io *io)
{
	if (!io->i_draining || io->i_drained_sent)
		return;
	if ((io->i_s[1].s_kind == SK_OUT && !io->i_s[1].s_done) ||
	    (io->i_s[2].s_kind == SK_OUT && !io->i_s[2].s_done))
		return;
	io->i_drained_sent = true;
	io_drained_cb(io->i_owner);
}

/* The source ended: close the destination so its reader sees EOF. */
static void
stream_finish(struct io *io, struct stream *s)
{
	s->s_done = true;
	s->s_streaming = false;
	if (s->s_src_master)
		s->s_src.rf_fd = -1;	/* owned by i_master */
	else
		rfd_close(&s->s_src);
	if (s->s_dst_master)
		s->s_dst.rf_fd = -1;
	else
		rfd_close(&s->s_dst);
	close_fd(&s->s_keep);
	if (s == &io->i_s[0] && io->i_mode == IO_TTY &&
	    rfd_open(&io->i_master)) {
		/* Go's console copy hangs the terminal up on stdin EOF. */
		struct stream *o = &io->i_s[1];

		if (o->s_src_master && !o->s_done)
			stream_pump(io, o);
		if (o->s_src_master && !o->s_done) {
			o->s_eof = true;
			stream_pump(io, o);
		}
		rfd_close(&io->i_master);
	}
	io_check_drained(io);
}

static int
src_fd(struct io *io, struct stream *s)
{
	return s->s_src_master ? io->i_master.rf_fd : s->s_src.rf_fd;
}

static int
dst_fd(struct io *io, struct stream *s)
{
	return s->s_dst_master ? io->i_master.rf_fd : s->s_dst.rf_fd;
}

/*
 * Resize the pipes of a splice stream (either end may be a FIFO, the
 * other our pipe; a regular file takes no size).  Shrinking fails with
 * EBUSY while a pipe holds more than the new size: s_big stays set and a
 * later pump tries again.
 */
static void
stream_pipes(struct io *io, struct stream *s, bool big)
{
	int sz = big ? (int)IO_PIPE_BIG : (int)IO_PIPE_SMALL;
	bool ok = true;

	if (fcntl(src_fd(io, s), F_SETPIPE_SZ, sz) < 0 && errno == EBUSY)
		ok = false;
	if (!s->s_dst_file &&
	    fcntl(dst_fd(io, s), F_SETPIPE_SZ, sz) < 0 && errno == EBUSY)
		ok = false;
	s->s_big = big || !ok;
}

static void
io_tick(struct io *io, unsigned ms)
{
	if (!rtimer_armed(&io->i_timer))
		rtimer_set(&io->i_timer, io_sub(io, R_MISC), now_ms() + ms);
}

/* Count bytes moved; a fast stream starts streaming (see top). */
static void
stream_rate(struct io *io, struct stream *s, size_t moved)
{
	uint32_t now = (uint32_t)now_ms();

	if (now - s->s_win_at > IO_WINDOW_MS) {
		s->s_win_at = now;
		s->s_win_bytes = 0;
	}
	s->s_win_bytes += (uint32_t)(moved < IO_STREAM_ENTER ?
	    moved : IO_STREAM_ENTER);
	if (s->s_win_bytes < IO_STREAM_ENTER)
		return;
	s->s_streaming = true;
	s->s_win_bytes = 0;
	stream_pipes(io, s, true);
	stream_want(io, s, false, false);
	if (!rtimer_armed(&io->i_timer))
		io->i_tick_ms = IO_TICK_MS;
	io_tick(io, io->i_tick_ms);
}

/* Move as much as possible now; then set interest for what blocks. */
static void
stream_pump(struct io *io, struct stream *s)
{
	unsigned budget = 32;
	size_t moved = 0;
	ssize_t n;
	int avail;

	if (s->s_done || s->s_kind == SK_NONE || !io->i_started)
		return;
	while (budget-- > 0) {
		/* Buffered bytes first. */
		if (s->s_pos < s->s_len) {
			n = write(dst_fd(io, s), s->s_buf + s->s_pos,
			    s->s_len - s->s_pos);
			if (n > 0) {
				s->s_pos += (uint16_t)n;
				if (s->s_pos == s->s_len)
					s->s_pos = s->s_len = 0;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				stream_want(io, s, false, true);
				return;
			}
			/* The reader is gone for good: drop the rest. */
			s->s_pos = s->s_len = 0;
			s->s_eof = true;
		}
		if (s->s_eof) {
			stream_finish(io, s);
			return;
		}
		if (!rfd_open(&s->s_src) && !s->s_src_master) {
			s->s_eof = true;
			continue;
		}
		if (!s->s_nosplice && !s->s_src_master && !s->s_dst_master) {
			size_t ask = s->s_streaming ? IO_PIPE_BIG : IO_SPLICE;

			n = splice(src_fd(io, s), NULL, dst_fd(io, s), NULL,
			    ask, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				moved += (size_t)n;
				if ((size_t)n == ask)
					continue;
				/*
				 * Short: the source is most likely empty
				 * (or the destination full).  Level-triggered
				 * interest calls us back if there is more.
				 */
				if (!s->s_streaming)
					break;
			} else if (n == 0) {
				s->s_eof = true;
				continue;
			} else if (errno == EINTR) {
				continue;
			} else if (errno == EINVAL || errno == ENOSYS) {
				s->s_nosplice = true;
				continue;
			} else if (errno != EAGAIN) {
				s->s_eof = true;	/* EPIPE and the like */
				continue;
			}
			/*
			 * Streaming: short or EAGAIN.  A busy tick goes on,
			 * and so does a quiet one until the ticks are as far
			 * apart as they get (the writer may only have been
			 * off the CPU for a moment).
			 */
			if (s->s_streaming && (moved >= IO_STREAM_STAY ||
			    io->i_tick_ms < IO_TICK_MAX_MS)) {
				s->s_win_bytes = (uint32_t)moved;
				return;
			}
			s->s_streaming = false;
			s->s_win_bytes = 0;
			/* Who blocks: bytes waiting means the reader. */
			if (ioctl(src_fd(io, s), FIONREAD, &avail) == 0 &&
			    avail > 0)
				stream_want(io, s, false, true);
			else
				stream_want(io, s, true, false);
			goto out;
		}
		if (s->s_buf == NULL)
			s->s_buf = io_bufs[handle_index(pool_handle(&io_pool,
			    io))][s - io->i_s];
		n = read(src_fd(io, s), s->s_buf, IO_BUF);
		if (n > 0) {
			s->s_pos = 0;
			s->s_len = (uint16_t)n;
			continue;
		}
		if (n == 0) {
			s->s_eof = true;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			stream_want(io, s, true, false);
			return;
		}
		if (errno == EIO && s->s_src_master) {
			/*
			 * No slave open.  The kernel hands out what the slave
			 * wrote before it says EIO, so after the exit EIO is
			 * the true end; before it, only a pause (HUP).
			 */
			if (io->i_draining) {
				s->s_eof = true;
				continue;
			}
			io->i_hup = true;
			rfd_want(&io->i_master, 0);
			return;
		}
		s->s_eof = true;
	}
	if (s->s_streaming) {
		s->s_win_bytes = (uint32_t)moved;
		return;		/* the next tick */
	}
	/* Short splice, or budget used up: readiness brings us back. */
	stream_want(io, s, s->s_pos == s->s_len, s->s_pos < s->s_len);
out:
	if (s->s_big)
		stream_pipes(io, s, false);
	if (moved > 0)
		stream_rate(io, s, moved);
}

/*
 * A streaming tick: pump every streaming stream, come back if any still
 * is.  The interval aims at a quarter to a half of a big pipe per tick:
 * longer when ticks move little (fewer wakeups), shorter when they move
 * much (neither side waits for a full or an empty pipe).
 */
static void
io_stream_tick(struct io *io)
{
	size_t most = 0;
	bool again = false;
	int i;

	for (i = 0; i < 3; i++) {
		struct stream *s = &io->i_s[i];

		if (!s->s_streaming)
			continue;
		s->s_win_bytes = 0;
		stream_pump(io, s);
		if (s->s_streaming && !s->s_done) {
			again = true;
			if (s->s_win_bytes > most)
				most = s->s_win_bytes;
		}
	}
	if (!again)
		return;
	if (most < IO_PIPE_BIG / 4 && io->i_tick_ms < IO_TICK_MAX_MS)
		io->i_tick_ms *= 2;
	else if (most > IO_PIPE_BIG / 2 && io->i_tick_ms > 1)
		io->i_tick_ms /= 2;
	io_tick(io, io->i_tick_ms);
}

/* Receive the pty master runc sends over the console socket. */
NS_RARE static int
console_receive(struct io *io, char *msg, size_t cap)
{
	char *name = scratch_alloc(4096);
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { name, 4096 };
	struct msghdr mh;
	struct cmsghdr *cm;
	int c, fd = -1;

	c = accept4(io->i_console, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		snprintf(msg, cap, "failed to retrieve console master: "
		    "accept: %s", strerror(errno));
		return -errno;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	if (recvmsg(c, &mh, MSG_CMSG_CLOEXEC) >= 0) {
		cm = CMSG_FIRSTHDR(&mh);
		if (cm && cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	}
	close(c);
	console_unlink(io);
	if (fd < 0) {
		snprintf(msg, cap, "failed to retrieve console master: no fd "
		    "received");
		return -EPROTO;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	rfd_init(&io->i_master, fd, io_sub(io, R_MASTER));
	return 0;
}

int
io_start(handle_t h, char *msg, size_t cap)
{
	struct io *io = pool_get(&io_pool, h);
	struct stream *s;
	int i, e, fd;

	if (io == NULL)
		return 0;
	for (i = 0; i < 3; i++)
		close_fd(&io->i_child[i]);
	if (io->i_mode == IO_BINARY) {
		/* The container writes straight into the logger's pipes. */
		io->i_started = true;
		return 0;
	}
	if (io->i_mode == IO_TTY) {
		e = console_receive(io, msg, cap);
		if (e < 0)
			return e;
		if (io->i_s[0].s_kind == SK_IN)
			io->i_s[0].s_dst_master = true;
		if (io->i_s[1].s_kind == SK_OUT)
			io->i_s[1].s_src_master = true;
		io->i_s[2].s_kind = SK_NONE;
	}
	/*
	 * Our stdin writer: the container sees EOF only after CloseIO.
	 * Reopening our reader's /proc fd for writing opens the same FIFO.
	 */
	s = &io->i_s[0];
	if (s->s_kind == SK_IN) {
		char p[64];

		snprintf(p, sizeof(p), "/proc/self/fd/%d", s->s_src.rf_fd);
		fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			s->s_keep = fd;
	}
	io->i_started = true;
	for (i = 0; i < 3; i++) {
		s = &io->i_s[i];
		if (s->s_kind == SK_NONE)
			continue;
		if (rfd_open(&s->s_src))
			s->s_src.rf_h = io_sub(io, (unsigned)(2 * i));
		if (rfd_open(&s->s_dst))
			s->s_dst.rf_h = io_sub(io, (unsigned)(2 * i + 1));
		stream_pump(io, s);
	}
	return 0;
}

void
io_drain(handle_t h)
{
	struct io *io = pool_get(&io_pool, h);

	if (io == NULL)
		return;
	io->i_draining = true;
	if (io->i_mode == IO_TTY && rfd_open(&io->i_master)) {
		/* Back in the set: read the rest until EIO says it is all. */
		io->i_hup = false;
		stream_pump(io, &io->i_s[1]);
	}
	io_check_drained(io);
}

void
io_close_stdin(handle_t h)
{
	struct io *io = pool_get(&io_pool, h);
	struct stream *s;

	if (io == NULL)
		return;
	s = &io->i_s[0];
	close_fd(&s->s_keep);
	/* Without a client writer the FIFO now reads EOF at once. */
	if (s->s_kind == SK_IN && !s->s_done)
		stream_pump(io, s);
}

NS_RARE int
io_resize(handle_t h, uint32_t width, uint32_t height)
{
	struct io *io = pool_get(&io_pool, h);
	struct winsize ws;

	if (io == NULL || !rfd_open(&io->i_master))
		return 0;
	memset(&ws, 0, sizeof(ws));
	ws.ws_col = (unsigned short)width;
	ws.ws_row = (unsigned short)height;
	if (ioctl(io->i_master.rf_fd, TIOCSWINSZ, &ws) < 0)
		return -errno;
	return 0;
}

static void
io_free(struct io *io)
{
	bool bufs = false;
	int i;

	rtimer_cancel(&io->i_timer);
	for (i = 0; i < 3; i++) {
		struct stream *s = &io->i_s[i];

		bufs |= s->s_buf != NULL;
		if (s->s_src_master)
			s->s_src.rf_fd = -1;
		if (s->s_dst_master)
			s->s_dst.rf_fd = -1;
		rfd_close(&s->s_src);
		rfd_close(&s->s_dst);
		close_fd(&s->s_keep);
		close_fd(&io->i_child[i]);
	}
	rfd_close(&io->i_master);
	rfd_close(&io->i_ready);
	close_fd(&io->i_log_w[0]);
	close_fd(&io->i_log_w[1]);
	console_unlink(io);
	if (bufs)
		region_release(io_bufs[handle_index(pool_handle(&io_pool,
		    io))], sizeof(*io_bufs));
	pool_give(&io_pool, pool_handle(&io_pool, io));
}

void
io_close(handle_t h)
{
	struct io *io = pool_get(&io_pool, h);

	if (io == NULL)
		return;
	if (io->i_logger > 0) {
		/*
		 * The logger keeps the slot until it is reaped: closing its
		 * pipes is the polite stop, SIGTERM the firm one, SIGKILL
		 * after 12 s the last (spec 6.4).
		 */
		int i;

		for (i = 0; i < 3; i++) {
			struct stream *s = &io->i_s[i];

			if (s->s_src_master)
				s->s_src.rf_fd = -1;
			if (s->s_dst_master)
				s->s_dst.rf_fd = -1;
			rfd_close(&s->s_src);
			rfd_close(&s->s_dst);
			close_fd(&s->s_keep);
			s->s_kind = SK_NONE;
		}
		rfd_close(&io->i_master);
		rfd_close(&io->i_ready);
		close_fd(&io->i_log_w[0]);
		close_fd(&io->i_log_w[1]);
		console_unlink(io);
		io->i_closing = true;
		kill(io->i_logger, SIGTERM);
		rtimer_set(&io->i_timer, io_sub(io, R_MISC),
		    now_ms() + IO_LOGGER_KILL_MS);
		return;
	}
	io_free(io);
}

bool
io_reaped(pid_t pid, int status, const struct timespec *when)
{
	uint32_t i = 0;
	struct io *io;

	(void)when;
	while ((io = pool_iter(&io_pool, &i)) != NULL) {
		if (io->i_logger != pid)
			continue;
		log_debug("logging binary %d exited %d", (int)pid, status);
		io->i_logger = 0;
		/* Died before saying ready?  The ready pipe then reads EOF. */
		if (io->i_closing)
			io_free(io);
		return true;
	}
	return false;
}

static void
io_event(handle_t h, uint32_t events)
{
	unsigned role;
	struct io *io = io_from_sub(h, &role);
	char b;

	if (io == NULL)
		return;
	switch (role) {
	case R_MISC:
		if (events == REACTOR_TIMEOUT && !io->i_closing) {
			io_stream_tick(io);
			return;
		}
		if (events == REACTOR_TIMEOUT) {
			if (io->i_logger > 0) {
				log_warnx("logging binary %d did not exit: "
				    "killing", (int)io->i_logger);
				kill(io->i_logger, SIGKILL);
			}
			return;
		}
		/* A byte or EOF: either way the logger is as ready as it gets. */
		if (read(io->i_ready.rf_fd, &b, 1) < 0 && errno == EAGAIN)
			return;
		rfd_close(&io->i_ready);
		io_ready_cb(io->i_owner, 0, NULL);
		return;
	case R_MASTER:
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			stream_pump(io, &io->i_s[1]);
		if (events & EPOLLOUT)
			stream_pump(io, &io->i_s[0]);
		return;
	default:
		stream_pump(io, &io->i_s[role / 2]);
		return;
	}
}
