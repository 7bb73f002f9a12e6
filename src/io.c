/*
 * io - a process's stdio: opening it, starting and closing it; see io.h.
 *
 * Owns: the pool of stdio sets and the sub-handles that name one fd of a
 * set (io_sub), the stdio strings (fifo paths, file://, binary:// and
 * their URIs, null IO), opening FIFOs and files without blocking, the
 * pipes handed to runc, logging binaries (started, ready, stopped,
 * reaped), the console socket and the pty master it brings, the window
 * size, and the reactor's entry (io_event), which hands a stream's
 * events to the copy.
 *
 * FIFOs never block the loop: an output FIFO is opened for reading by us
 * first (kept: a vanished client then never causes EPIPE, only back
 * pressure), then for writing.  For stdin we open the reader, and after
 * runc has run our own writer, which keeps the container's stdin open
 * until CloseIO, as the Go shim does.
 *
 * The rest of the module shares io_impl.h: io_copy.c (the bytes between
 * the two sides: splice or a buffer, interest, streaming, EOF, CloseIO,
 * draining).
 *
 * May call: the rest of io (io_impl.h), reactor, pool, runc (spawning a
 * logging binary, the fd values of runc's child), log, scratch; the
 * owner's callbacks (io_init), never proc itself.
 *
 * Mirrors pkg/process/io.go (createIO, NewBinaryIO) and io_util.go.
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
#include "io_impl.h"
#include "log.h"
#include "reactor.h"
#include "runc.h"
#include "scratch.h"

#define IO_LOGGER_KILL_MS 12000u
#define IO_LOGGER_ARGS	32

struct pool io_pool;
/*
 * Copy buffers, one set per io slot, apart from the slots: only terminals
 * and non-pipe ends use them, so a running shim's io slots stay small
 * (they share the hot page, pool.h) and the buffers cost nothing until a
 * terminal needs them, and nothing again once it is closed.
 */
uint8_t (*io_bufs)[3][IO_BUF];
/* Shared by every io: a file write completes before the next stream runs. */
uint8_t *io_filebuf;
static io_ready_fn *io_ready_cb;
io_drained_fn *io_drained_cb;

static void io_event(handle_t h, uint32_t events);

NS_IDLE void
io_init(uint32_t max, io_ready_fn *ready, io_drained_fn *drained)
{
	pool_init(&io_pool, "stdio sets", K_IO, sizeof(struct io), max);
	io_bufs = region_reserve(sizeof(*io_bufs) * max);
	io_filebuf = region_reserve(IO_FILEBUF);
	reactor_handler(K_IO, io_event);
	io_ready_cb = ready;
	io_drained_cb = drained;
}

handle_t
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

void
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

/* --- starting and closing ----------------------------------------------- */

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
