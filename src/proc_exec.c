/*
 * proc_exec - exec processes: added, started, failed.
 *
 * Owns: taking an exec's slot and writing its OCI process spec (with
 * "terminal" set from the request), the runc exec command line and what
 * its completion does, and the TaskExecAdded/TaskExecStarted moments.
 * An exec's exit and delete go the ways of every process (proc_exit.c,
 * proc_ctr.c).
 *
 * May call: the rest of proc (proc_impl.h), io, reaper, runc, json,
 * scratch; taskev (events) and the registered replies (proc_rp).
 *
 * Mirrors pkg/process/exec.go and exec_state.go.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bounds.h"
#include "io.h"
#include "json.h"
#include "pool.h"
#include "proc.h"
#include "proc_impl.h"
#include "reaper.h"
#include "runc.h"
#include "scratch.h"
#include "taskev.h"

/* --- Start -------------------------------------------------------------- */

int
exec_start(struct proc *p, struct ttrpc_ref ref, int64_t timeout_ms,
    struct status *st)
{
	struct ctr *c = ctr_of(p);
	struct proc *init = init_of(c);
	struct parked *pk;
	int r;

	if (proc_step(p, EV_START, st) < 0)
		return -1;
	/* 1.6.36+: no exec once the init is gone (its pid may be reused). */
	if (init == NULL || init->p_exited) {
		proc_step(p, EV_FAIL, NULL);
		return status_set(st, GRPC_FAILED_PRECONDITION, "container %s "
		    "init process is not running: failed precondition",
		    c->c_id);
	}
	pk = parked_take(PK_OP, OP_EXEC, ref, p, st);
	if (pk == NULL) {
		proc_step(p, EV_FAIL, NULL);
		return -1;
	}
	pk->pk_timeout_ms = timeout_ms;
	r = proc_io_open(p, pk, st);
	if (r < 0) {
		proc_step(p, EV_FAIL, NULL);
		parked_give(pk);
		return -1;
	}
	if (r == 0)
		exec_spawn(p, pk);
	return PROC_PARKED;
}

static void
exec_failed(struct proc *p, struct parked *pk, const struct status *st)
{
	struct proc_exit z;

	/* Go closes the wait channel: waiters see status 0, zero time. */
	proc_step(p, EV_FAIL, NULL);
	p->p_start_failed = true;
	exit_zero(&z);
	proc_release_waiters(p, &z);
	if (p->p_io) {
		io_close(p->p_io);
		p->p_io = HANDLE_NONE;
	}
	proc_reply_error(pk->pk_ref, st);
	parked_give(pk);
}

void
exec_spawn(struct proc *p, struct parked *pk)
{
	struct ctr *c = ctr_of(p);
	char *pidfile;
	const char *args[12];
	struct status *st = &proc_st;
	int fds[3], n = 0;

	pidfile = scratch_printf("%s/%s.pid", c->c_bundle,
	    p->p_eid);
	args[n++] = "exec";
	args[n++] = "--process";
	args[n++] = p->p_spec;
	if (io_console_path(p->p_io)) {
		args[n++] = "--console-socket";
		args[n++] = io_console_path(p->p_io);
	}
	args[n++] = "--detach";
	args[n++] = "--pid-file";
	args[n++] = pidfile;
	args[n++] = c->c_id;
	args[n] = NULL;
	io_child_fds(p->p_io, fds);
	reaper_hold();
	if (proc_runc(p, pk, 0, args, fds, pk->pk_timeout_ms, st) < 0) {
		reaper_release();
		exec_failed(p, pk, st);
	}
}

void
exec_done(struct proc *p, struct parked *pk, int status, const char *out,
    size_t len)
{
	struct ctr *c = ctr_of(p);
	char *path, *msg = scratch_alloc(512);
	struct status *st = &proc_st;
	pid_t pid = 0;
	int e;

	if (status != 0) {
		reaper_release();
		runc_error_text(st->st_msg, sizeof(st->st_msg),
		    "OCI runtime exec failed", c->c_ro.ro_log, c->c_ro.ro_bin, status, out,
		    len);
		st->st_code = GRPC_UNKNOWN;
		exec_failed(p, pk, st);
		return;
	}
	path = scratch_printf("%s/%s.pid", c->c_bundle, p->p_eid);
	e = read_pidfile(path, &pid);
	if (e < 0)
		snprintf(msg, 512, "failed to retrieve OCI runtime "
		    "exec pid: %s", strerror(-e));
	else
		e = io_start(p->p_io, msg, 512);
	if (e < 0) {
		reaper_release();
		if (pid > 0)
			kill(pid, SIGKILL);
		status_set(st, GRPC_UNKNOWN, "%s", msg);
		exec_failed(p, pk, st);
		return;
	}
	proc_set_pid(p, pid);
	reaper_release();
	proc_step(p, EV_OK, NULL);
	taskev_exec_started(c->c_id, p->p_eid, (uint32_t)pid);
	proc_rp.pr_pid(pk->pk_ref, (uint32_t)pid);
	parked_give(pk);
	if (p->p_held) {
		p->p_held = false;
		proc_exited(p, p->p_held_status, &p->p_held_when);
	}
}

/* --- Exec --------------------------------------------------------------- */

/*
 * Write the exec's OCI Process JSON with "terminal" set from the request
 * (the Go shim overwrites it the same way), without parsing the rest.
 */
static int
write_spec(const char *path, const uint8_t *spec, uint32_t len, bool tty,
    char *msg, size_t cap)
{
	const char *b = (const char *)spec, *end = b + len, *v, *ve, *key;
	const char *val = tty ? "true" : "false";
	struct iovec iov[4];
	int fd, n = 0;
	ssize_t w;
	size_t total = 0, done = 0;

	v = json_get(b, end, "terminal", &key);
	if (v) {
		ve = json_skip(v, end);
		if (ve == NULL)
			goto bad;
		iov[n++] = (struct iovec){ (void *)b, (size_t)(v - b) };
		iov[n++] = (struct iovec){ (void *)val, strlen(val) };
		iov[n++] = (struct iovec){ (void *)ve, (size_t)(end - ve) };
	} else {
		const char *o = json_ws(b, end), *rest;

		if (o >= end || *o != '{' || json_skip(o, end) == NULL)
			goto bad;
		rest = json_ws(o + 1, end);
		iov[n++] = (struct iovec){ (void *)b, (size_t)(o + 1 - b) };
		iov[n++] = (struct iovec){ tty ? "\"terminal\":true" :
		    "\"terminal\":false", tty ? 15u : 16u };
		if (rest < end && *rest != '}')
			iov[n++] = (struct iovec){ ",", 1 };
		iov[n++] = (struct iovec){ (void *)(o + 1),
		    (size_t)(end - o - 1) };
	}
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(msg, cap, "create %s: %s", path, strerror(errno));
		return -errno;
	}
	while (done < total) {
		w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(msg, cap, "write %s: %s", path,
			    strerror(errno));
			close(fd);
			unlink(path);
			return -EIO;
		}
		done += (size_t)w;
		/* Partial write: drop what went out and go on. */
		while (n > 0 && (size_t)w >= iov[0].iov_len) {
			w -= (ssize_t)iov[0].iov_len;
			memmove(iov, iov + 1, sizeof(iov[0]) * (size_t)--n);
		}
		if (n > 0) {
			iov[0].iov_base = (char *)iov[0].iov_base + w;
			iov[0].iov_len -= (size_t)w;
		}
	}
	close(fd);
	return 0;
bad:
	snprintf(msg, cap, "exec process spec is not a JSON object");
	return -EINVAL;
}

int
proc_exec(const struct proc_exec *px, struct status *st)
{
	struct ctr *c = ctr_find(px->px_id, false);
	struct proc *init, *p;
	char *path, *msg = scratch_alloc(512);
	handle_t h;

	if (c == NULL)
		return status_set(st, GRPC_NOT_FOUND,
		    "container not created: not found");
	init = init_of(c);
	if (c->c_restore)
		return status_set(st, GRPC_UNKNOWN,
		    "cannot exec in a created state");
	if (proc_step(init, EV_EXEC, st) < 0)
		return -1;
	if (exec_find(c, px->px_exec_id))
		return status_set(st, GRPC_ALREADY_EXISTS,
		    "id %s: already exists", px->px_exec_id);
	h = pool_take(&proc_pool);
	p = pool_get(&proc_pool, h);
	if (p == NULL)
		return status_set(st, GRPC_RESOURCE_EXHAUSTED, "too many "
		    "processes (limit %u, NANOSHIM_PROCESSES)",
		    proc_pool.pl_cap);
	p->p_ctr = pool_handle(&ctr_pool, c);
	p->p_state = ST_CREATED;
	p->p_terminal = px->px_terminal;
	exit_zero(&p->p_exit);
	snprintf(p->p_eid, sizeof(p->p_eid), "%s", px->px_exec_id);
	path = scratch_printf("%s/.nanoshim-exec-%s.json", c->c_bundle,
	    px->px_exec_id);
	p->p_stdin = str_put(p->p_str, sizeof(p->p_str), &p->p_strlen,
	    px->px_stdin);
	p->p_stdout = str_put(p->p_str, sizeof(p->p_str), &p->p_strlen,
	    px->px_stdout);
	p->p_stderr = str_put(p->p_str, sizeof(p->p_str), &p->p_strlen,
	    px->px_stderr);
	p->p_spec = str_put(p->p_str, sizeof(p->p_str), &p->p_strlen, path);
	if (!p->p_stdin || !p->p_stdout || !p->p_stderr || !p->p_spec) {
		p->p_spec = NULL;
		pool_give(&proc_pool, h);
		return status_set(st, GRPC_INVALID_ARGUMENT, "stdio paths of "
		    "exec %s are longer than the %u bytes kept per process",
		    px->px_exec_id, NS_PROC_STR);
	}
	if (write_spec(p->p_spec, px->px_spec, px->px_spec_len,
	    px->px_terminal, msg, 512) < 0) {
		p->p_spec = NULL;
		pool_give(&proc_pool, h);
		return status_set(st, GRPC_INVALID_ARGUMENT, "%s", msg);
	}
	p->p_next = c->c_execs;
	c->c_execs = h;
	c->c_nexecs++;
	taskev_exec_added(c->c_id, p->p_eid);
	return 0;
}
