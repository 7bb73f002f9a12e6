/*
 * runc - running runc (and other helper programs) as children the loop
 * reaps, never waits for.
 *
 * Owns: argv in fixed buffers, the pool of calls in flight, capturing a
 * child's combined stdout/stderr, reading runc's last error from log.json,
 * deadlines, and completion callbacks.  Does not own: what a result means
 * (proc decides) or when a process is a container process (reaper routes).
 *
 * Mirrors go-runc's runc.go (argument order, global flags) and
 * runtime/v2/runc's command building (spec 5).
 */
#ifndef NS_RUNC_H
#define NS_RUNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "pool.h"

/* Child fd values: what fd i of the child is made of. */
#define RUNC_NULL	(-1)	/* /dev/null */
#define RUNC_CAPTURE	(-2)	/* a pipe the shim reads into the call */
#define RUNC_NONE	(-3)	/* closed */

/* Per-container runc settings (containerd.runc.v1.Options). */
struct runc_opts {
	const char *ro_bin;	/* binary_name, "" means runc */
	const char *ro_root;	/* <root>/<namespace> */
	const char *ro_log;	/* <bundle>/log.json */
	const char *ro_criu;	/* criu_path or "" */
	bool ro_systemd;
};

/*
 * Called from the sweep once the child was reaped and its captured output
 * reached EOF.  status is the exit code (128+signal when killed), or a
 * negative errno when it could not run (then out holds the reason).
 */
typedef void runc_done_fn(handle_t owner, uint64_t cookie, int status,
    const char *out, size_t len);

struct runc_req {
	const struct runc_opts *rq_opts;  /* NULL: args[0] is the program */
	const char *const *rq_args;	/* NULL-terminated, after globals */
	int rq_fd[6];			/* child fds 0..rq_nfd-1 */
	int rq_nfd;
	const char *const *rq_env;	/* NULL: the shim's environment */
	handle_t rq_owner;
	uint64_t rq_cookie;
	runc_done_fn *rq_done;
	uint64_t rq_deadline;		/* now_ms() value; 0 none: SIGKILL */
	pid_t *rq_pid_out;		/* where to store the child's pid */
	/*
	 * Calls with the same key (not HANDLE_NONE) run one at a time, in the
	 * order they were made: the next one starts after the previous one's
	 * completion returned.  runc keeps one state and one log per
	 * container, and the Go shim holds the container's lock for a whole
	 * runc call: a delete must not run while a kill --all has the cgroup
	 * frozen, nor be answered while a kill is still in flight.
	 */
	handle_t rq_serial;
};

void runc_init(uint32_t max_calls);
/*
 * Start a child, or queue it behind the calls with the same rq_serial.
 * 0 on success; -ENOSPC when the pool is full, -ENOENT when the binary is
 * not found (err says so), -E2BIG for arguments past the buffer, or a
 * fork/pipe errno.  A queued call that cannot start when its turn comes
 * completes with status -errno and the reason as its output.  The fds in
 * rq_fd must stay open until the call completes.
 */
int runc_call(const struct runc_req *rq, char *err, size_t errlen);
/* Offer a reaped child; true if it was one of ours. */
bool runc_reaped(pid_t pid, int status, const struct timespec *when);
/* Calls in flight and the limit, for messages. */
uint32_t runc_inflight(void);
uint32_t runc_limit(void);

/*
 * The message runc left: the last "error" line of log (runc appends across
 * calls).  Empty string if none.  Reads only the file's tail.
 */
void runc_last_error(const char *log, char *dst, size_t cap);
/*
 * Compose "<prefix>: <runc's error>" the way the Go shim does: from
 * log.json when it has an error, else from the exit status and output.
 */
void runc_error_text(char *dst, size_t cap, const char *prefix,
    const char *log, const char *bin, int status, const char *out,
    size_t len);

/*
 * Fork and exec path with child fds 0..nfd-1 made of fds[] (RUNC_NULL,
 * RUNC_NONE allowed), a clean signal state and PDEATHSIG.  The pid, or -1.
 * For long-lived helpers (logging binaries) that are not runc calls.
 */
pid_t runc_spawn(const char *path, char *const argv[],
    const char *const *envp, const int *fds, int nfd);

/* Startup: remember the environment runc children get. */
void runc_set_env(char **envp);
/* Find an executable on PATH; 0 and the path in dst, or -ENOENT. */
int runc_lookpath(const char *bin, char *dst, size_t cap);

#endif
