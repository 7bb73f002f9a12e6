/*
 * io_copy - the bytes between a process's stdio and the container.
 *
 * Owns: the copy of each stream (splice between pipes, a buffer
 * otherwise), epoll interest, streaming, EOF passed on, CloseIO, and
 * draining the output before an exit is published (the drained callback).
 *
 * A stream copies src -> dst: stdin FIFO -> container stdin (pipe or pty
 * master), container stdout/stderr (pipe or master) -> FIFO, file or
 * logger pipe.  Between two pipes the kernel moves the bytes (splice);
 * otherwise a 4 KiB buffer in the stream.  Interest follows state: read
 * the source while the destination takes data, otherwise wait for the
 * destination to become writable.  A source at EOF closes the
 * destination, so the reader at the other end sees EOF too.
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
 *
 * A file:// log is opened O_APPEND, as containerd's shim opens it (two
 * streams and any other writer append, none overwrites), and the kernel
 * refuses to splice into an O_APPEND file.  Such a stream copies through
 * its 4 KiB buffer while slow; streaming, each read takes up to
 * IO_FILEBUF (a whole big pipe in a few reads) into io_filebuf, one
 * buffer for the shim: the write into a regular file completes before
 * any other stream runs.  Its pages are given back when streaming ends.
 *
 * May call: the rest of io (io_impl.h), reactor (interest, the streaming
 * timer); the owner's drained callback.
 *
 * Mirrors pkg/process/io.go (copyPipes) and runtime/v2/runc/platform.go
 * (CopyConsole).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "io.h"
#include "io_impl.h"
#include "pool.h"
#include "reactor.h"

#define IO_SPLICE	(64u << 10)
#define IO_PIPE_SMALL	(64u << 10)	/* the kernel's default pipe size */
#define IO_PIPE_BIG	(1u << 20)	/* while streaming (pipe-max-size) */
#define IO_WINDOW_MS	50u
#define IO_STREAM_ENTER	(256u << 10)	/* in one window: 5 MB/s or more */
#define IO_STREAM_STAY	(64u << 10)	/* per tick */
#define IO_TICK_MS	1u		/* first tick; then 1 to 8 ms */
#define IO_TICK_MAX_MS	8u

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

/* Leaving streaming: the shared file buffer's pages go back. */
static void
stream_stop(struct stream *s)
{
	if (s->s_streaming && s->s_nosplice)
		region_release(io_filebuf, IO_FILEBUF);
	s->s_streaming = false;
	s->s_win_bytes = 0;
}

/* The source ended: close the destination so its reader sees EOF. */
static void
stream_finish(struct io *io, struct stream *s)
{
	s->s_done = true;
	stream_stop(s);
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

/*
 * Streaming needs ends the timer can drive: pipes or FIFOs on both sides
 * (splice), or a pipe into a regular file; not a pty master (its HUP and
 * EIO follow the process, see top).
 */
static bool
stream_can_stream(const struct stream *s)
{
	if (s->s_src_master || s->s_dst_master)
		return false;
	return !s->s_nosplice || s->s_dst_file;
}

/* Wait for whoever blocks: bytes waiting means the reader (never a file). */
static void
stream_block(struct io *io, struct stream *s)
{
	int avail;

	if (!s->s_dst_file && ioctl(src_fd(io, s), FIONREAD, &avail) == 0 &&
	    avail > 0)
		stream_want(io, s, false, true);
	else
		stream_want(io, s, true, false);
}

/*
 * A streaming tick found the source short or empty.  A busy tick goes
 * on, and so does a quiet one until the ticks are as far apart as they
 * get (the writer may only have been off the CPU for a moment): true.
 * Otherwise streaming ends and readiness drives the stream again: false.
 */
static bool
stream_stays(struct io *io, struct stream *s, size_t moved)
{
	if (moved >= IO_STREAM_STAY || io->i_tick_ms < IO_TICK_MAX_MS) {
		s->s_win_bytes = (uint32_t)moved;
		return true;
	}
	stream_stop(s);
	stream_block(io, s);
	return false;
}

/*
 * Streaming into an O_APPEND file (see top): one read of up to
 * IO_FILEBUF, written whole.  Returns what read returned; a file that
 * takes no more (ENOSPC, EIO) loses the rest, as the 4 KiB path does.
 */
static ssize_t
file_burst(struct io *io, struct stream *s)
{
	ssize_t n = read(src_fd(io, s), io_filebuf, IO_FILEBUF), w;
	size_t off = 0;

	while (n > 0 && off < (size_t)n) {
		w = write(dst_fd(io, s), io_filebuf + off, (size_t)n - off);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else {
			s->s_eof = true;
			break;
		}
	}
	return n;
}

/* Count bytes moved; a fast stream starts streaming (see top). */
static void
stream_rate(struct io *io, struct stream *s, size_t moved)
{
	uint32_t now = (uint32_t)now_ms();

	if (!stream_can_stream(s))
		return;
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
void
stream_pump(struct io *io, struct stream *s)
{
	unsigned budget = 32;
	size_t moved = 0;
	bool shorted = false;	/* a pipe gave less than the buffer */
	ssize_t n;

	if (s->s_done || s->s_kind == SK_NONE || !io->i_started)
		return;
	while (budget-- > 0) {
		/* Buffered bytes first. */
		if (s->s_pos < s->s_len) {
			n = write(dst_fd(io, s), s->s_buf + s->s_pos,
			    s->s_len - s->s_pos);
			if (n > 0) {
				s->s_pos += (uint16_t)n;
				moved += (size_t)n;
				if (s->s_pos < s->s_len)
					continue;
				s->s_pos = s->s_len = 0;
				/*
				 * As with a short splice: the pipe is most
				 * likely empty, and readiness says if not.
				 */
				if (shorted)
					break;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				stream_want(io, s, false, true);
				goto out;
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
		/*
		 * Splice between pipes; or, streaming into an O_APPEND file
		 * (the only unspliced stream that streams), a big read and
		 * its write.  Either gives n as splice would.
		 */
		if ((!s->s_nosplice && !s->s_src_master && !s->s_dst_master) ||
		    s->s_streaming) {
			bool burst = s->s_nosplice;
			size_t ask = burst ? IO_FILEBUF :
			    s->s_streaming ? IO_PIPE_BIG : IO_SPLICE;

			n = burst ? file_burst(io, s) :
			    splice(src_fd(io, s), NULL, dst_fd(io, s), NULL,
			    ask, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				moved += (size_t)n;
				if ((size_t)n == ask || s->s_eof)
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
			} else if (!burst && (errno == EINVAL || errno == ENOSYS)) {
				s->s_nosplice = true;
				continue;
			} else if (errno != EAGAIN) {
				s->s_eof = true;	/* EPIPE and the like */
				continue;
			}
			/* Streaming, short or EAGAIN; or EAGAIN. */
			if (s->s_streaming) {
				if (stream_stays(io, s, moved))
					return;
			} else {
				stream_block(io, s);
			}
			goto out;
		}
		if (s->s_buf == NULL)
			s->s_buf = io_bufs[handle_index(pool_handle(&io_pool,
			    io))][s - io->i_s];
		n = read(src_fd(io, s), s->s_buf, IO_BUF);
		if (n > 0) {
			s->s_pos = 0;
			s->s_len = (uint16_t)n;
			/* A pty master is read until EIO (see top). */
			shorted = (size_t)n < IO_BUF && !s->s_src_master;
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
			goto out;
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
void
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
