/*
 * io_impl.h - the inside of io, shared by its files and no one else.
 *
 * io is one module in two files (io.c, io_copy.c); this header is what
 * they share: the kinds of stdio set and of stream, the roles an io's
 * sub-handles carry, struct stream and struct io, the pool, the copy
 * buffers and the drained callback, and the functions one file calls in
 * the other.  Only io*.c include it (tools/layers.py checks that); every
 * other module sees io.h.
 */
#ifndef NS_IO_IMPL_H
#define NS_IO_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "io.h"
#include "pool.h"
#include "reactor.h"

/* A stream's copy buffer (io_bufs), for what cannot splice. */
#define IO_BUF		4096u
/*
 * The one buffer for fast streams into an O_APPEND file (io_copy.c),
 * touched only while such a stream is streaming.
 */
#define IO_FILEBUF	(256u << 10)

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
	bool s_streaming;	/* timer-driven, big pipes (io_copy.c) */
	bool s_big;		/* a pipe may still be big: shrink it */
	uint32_t s_win_at;	/* start of the rate window (ms) */
	uint32_t s_win_bytes;	/* bytes moved since */
	struct rfd s_src;
	struct rfd s_dst;
	int s_keep;		/* FIFO end kept by us (io.c), 0 = none */
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
	/* Streaming tick (io_copy.c); the logger's kill once i_closing. */
	struct rtimer i_timer;
	uint8_t i_tick_ms;	/* the streaming tick's interval */
	struct stream i_s[3];
	char i_sockdir[128];
	char i_sock[160];
};

/* io.c: the pool, the copy buffers (one set per slot, see there), and
 * the owner's drained callback. */
extern struct pool io_pool;
extern uint8_t (*io_bufs)[3][IO_BUF];
extern uint8_t *io_filebuf;
extern io_drained_fn *io_drained_cb;

/* io.c: an io's sub-handle for one role; closing an fd we may hold (> 0). */
handle_t io_sub(const struct io *io, unsigned role);
void close_fd(int *fd);

/* io_copy.c: what readiness or io_start moves; a streaming tick. */
void stream_pump(struct io *io, struct stream *s);
void io_stream_tick(struct io *io);

#endif
