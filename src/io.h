/*
 * io - a process's stdio: containerd's FIFOs, files and logging binaries
 * on one side, the container's pipes or pty master on the other, and the
 * bytes between them.
 *
 * Owns: parsing the stdio strings (fifo paths, file://, binary://, null
 * IO), the pipes handed to runc, opening FIFOs without blocking, the copy
 * of each stream (splice between pipes, a bounded buffer otherwise), back
 * pressure, EOF propagation, CloseIO, draining before an exit is
 * published, logging binaries and their readiness, and the terminal's
 * console socket, pty master and window size.  Does not own: process
 * state (proc calls in and is called back).
 *
 * Mirrors pkg/process/io.go, io_util.go and runtime/v2/runc/platform.go.
 */
#ifndef NS_IO_H
#define NS_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pool.h"

struct io_spec {
	const char *is_stdin, *is_stdout, *is_stderr;
	bool is_terminal;
	uint32_t is_uid, is_gid;	/* owner of the container's pipe ends */
	const char *is_id;		/* for binary:// loggers' environment */
	const char *is_ns;
};

/*
 * Callbacks into the owner (a proc handle): the logger is ready (or not:
 * err < 0), and the output was drained after the process exited.
 */
typedef void io_ready_fn(handle_t owner, int err, const char *msg);
typedef void io_drained_fn(handle_t owner);

void io_init(uint32_t max, io_ready_fn *ready, io_drained_fn *drained);
/*
 * Split what follows "binary:" or "file:" in a stdio URI, in place, as
 * the Go shim's net/url does: *path the unescaped path, argv the query as
 * key/value pairs (first value of each key; "" for a key without '=').
 * The number of argv entries (at most max), or -EINVAL for a malformed
 * URI (control character, bad %-escape or an escaped NUL in the path).
 */
int io_uri_split(char *s, char **path, char **argv, int max);
/* Offer a reaped pid (logging binaries); true if it was one. */
bool io_reaped(pid_t pid, int status, const struct timespec *when);

/*
 * Set up stdio for a process about to be created or exec'd.  Returns the
 * io handle in *out.  0: ready now; 1: waiting for a logging binary (the
 * ready callback follows); -errno with msg filled on failure (nothing is
 * left behind).
 */
int io_open(const struct io_spec *sp, handle_t owner, handle_t *out,
    char *msg, size_t cap);
/* The fds runc's child gets as 0, 1, 2 (RUNC_NULL/RUNC_CAPTURE values). */
void io_child_fds(handle_t io, int fd[3]);
/* The console socket path for --console-socket, or NULL. */
const char *io_console_path(handle_t io);
/*
 * runc create/exec succeeded: close the container's ends, receive the pty
 * master, open the stdin writer, start copying.  -errno and msg on error.
 */
int io_start(handle_t io, char *msg, size_t cap);
/* The process exited: call the drained callback once output is all out. */
void io_drain(handle_t io);
/* CloseIO: drop our stdin writer, so EOF reaches the container. */
void io_close_stdin(handle_t io);
/* ResizePty; 0 without a console. */
int io_resize(handle_t io, uint32_t width, uint32_t height);
/* Delete: wait up to 2 s for the copies (done by proc), close it all. */
void io_close(handle_t io);

#endif
