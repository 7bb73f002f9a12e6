/*
 * proc - the lifecycle state table, the container and process objects,
 * and the calls parked on them; see proc.h.
 *
 * Owns: the init and exec tables and proc_step, the one place p_state
 * changes; the pools of containers, processes and parked calls; finding
 * the process a request names; parking a call and answering Waits;
 * running a runc command for a process (proc_runc) and routing its
 * completion to the operation that asked (proc_runc_done); opening a
 * process's stdio (io); the queries (State, Wait, CloseIO, ResizePty and
 * the lookups of Connect, Stats and Pids); startup.
 *
 * The rest of the module shares proc_impl.h: proc_ctr.c (create, start,
 * restore and delete of a container, its bundle files), proc_exec.c
 * (exec processes), proc_exit.c (exits, in the order containerd relies
 * on, and what they publish), proc_ops.c (kill, pause, resume, update,
 * checkpoint, pids).
 *
 * May call: io, oom, runc, taskev, reactor, pool, cgroup, status, log,
 * ttrpc (replies); the reply functions task registered (proc_replies),
 * never task itself.
 *
 * Mirrors pkg/process/{init,init_state,exec,exec_state}.go and
 * runtime/v2/runc/task/service.go.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "bounds.h"
#include "io.h"
#include "log.h"
#include "oom.h"
#include "pool.h"
#include "proc.h"
#include "proc_impl.h"
#include "reactor.h"
#include "runc.h"

struct cell {
	uint8_t next;
	uint8_t code;
	const char *msg;
};

#define GO(s)	{ s, 0, NULL }
#define STAY	{ ST_SAME, 0, NULL }
#define ERR(m)	{ ST_SAME, GRPC_UNKNOWN, m }
#define NF(m)	{ ST_SAME, GRPC_NOT_FOUND, m }
#define FP(m)	{ ST_SAME, GRPC_FAILED_PRECONDITION, m }
#define BAD	{ ST_SAME, GRPC_INTERNAL, "invalid state transition" }

/*
 * The init process.  Rows: states; columns: what happens.  A cell with a
 * message refuses the event with the Go shim's code and text; otherwise
 * it names the next state.  runc's answer (OK/FAIL) moves the transitional
 * states on.  EXITED in CREATING/STARTING is held by proc_exited() before
 * it gets here.
 */
/* (The two tables: NS_RODATA, layout.h.) */
static const struct cell init_table[ST_MAX][EV_MAX]
    NS_RODATA("proc_tables") = {
	[ST_CREATING] = {
		[EV_START] = NF("container not created: not found"),
		[EV_DELETE] = NF("container not created: not found"),
		[EV_PAUSE] = NF("container not created: not found"),
		[EV_RESUME] = NF("container not created: not found"),
		[EV_UPDATE] = NF("container not created: not found"),
		[EV_CHECKPOINT] = NF("container not created: not found"),
		[EV_EXEC] = NF("container not created: not found"),
		[EV_KILL] = NF("container not created: not found"),
		[EV_RESIZE] = NF("container not created: not found"),
		[EV_OK] = GO(ST_CREATED),
		[EV_FAIL] = STAY,
		[EV_EXITED] = STAY,
	},
	[ST_CREATED] = {
		[EV_START] = GO(ST_STARTING),
		[EV_DELETE] = GO(ST_DELETING),
		[EV_PAUSE] = ERR("cannot pause task in created state"),
		[EV_RESUME] = ERR("cannot resume task in created state"),
		[EV_UPDATE] = STAY,
		[EV_CHECKPOINT] =
		    ERR("cannot checkpoint a task in created state"),
		[EV_EXEC] = STAY,
		[EV_KILL] = STAY,
		[EV_RESIZE] = STAY,
		[EV_OK] = BAD,
		[EV_FAIL] = BAD,
		[EV_EXITED] = GO(ST_STOPPED),
	},
	[ST_STARTING] = {
		[EV_START] = ERR("cannot start a running process"),
		[EV_DELETE] = ERR("cannot delete a running process"),
		[EV_PAUSE] = ERR("cannot pause task in created state"),
		[EV_RESUME] = ERR("cannot resume task in created state"),
		[EV_UPDATE] = STAY,
		[EV_CHECKPOINT] =
		    ERR("cannot checkpoint a task in created state"),
		[EV_EXEC] = STAY,
		[EV_KILL] = STAY,
		[EV_RESIZE] = STAY,
		[EV_OK] = GO(ST_RUNNING),
		[EV_FAIL] = GO(ST_CREATED),
		[EV_EXITED] = STAY,
	},
	[ST_RUNNING] = {
		[EV_START] = ERR("cannot start a running process"),
		[EV_DELETE] = ERR("cannot delete a running process"),
		[EV_PAUSE] = GO(ST_PAUSING),
		[EV_RESUME] = ERR("cannot resume a running process"),
		[EV_UPDATE] = STAY,
		[EV_CHECKPOINT] = STAY,
		[EV_EXEC] = STAY,
		[EV_KILL] = STAY,
		[EV_RESIZE] = STAY,
		[EV_OK] = BAD,
		[EV_FAIL] = BAD,
		[EV_EXITED] = GO(ST_STOPPED),
	},
	[ST_PAUSING] = {
		[EV_START] = ERR("cannot start a paused process"),
		[EV_DELETE] = ERR("cannot delete a paused process"),
		[EV_PAUSE] = ERR("cannot pause a paused container"),
		[EV_RESUME] = ERR("cannot resume a running process"),
		[EV_UPDATE] = STAY,
		[EV_CHECKPOINT] = STAY,
		[EV_EXEC] = ERR("cannot exec in a paused state"),
		[EV_KILL] = STAY,
		[EV_RESIZE] = STAY,
		[EV_OK] = GO(ST_PAUSED),
		[EV_FAIL] = GO(ST_RUNNING),
		[EV_EXITED] = GO(ST_STOPPED),
	},
	[ST_PAUSED] = {
		[EV_START] = ERR("cannot start a paused process"),
		[EV_DELETE] = ERR("cannot delete a paused process"),
		[EV_PAUSE] = ERR("cannot pause a paused container"),
		[EV_RESUME] = GO(ST_RESUMING),
		[EV_UPDATE] = STAY,
		[EV_CHECKPOINT] = STAY,
		[EV_EXEC] = ERR("cannot exec in a paused state"),
		[EV_KILL] = STAY,
		[EV_RESIZE] = STAY,
		[EV_OK] = BAD,
		[EV_FAIL] = BAD,
		[EV_EXITED] = GO(ST_STOPPED),
	},
	[ST_RESUMING] = {
		[EV_START] = ERR("cannot start a paused process"),
		[EV_DELETE] = ERR("cannot delete a paused process"),
		[EV_PAUSE] = ERR("cannot pause a paused container"),
		[EV_RESUME] = ERR("cannot resume a running process"),
		[EV_UPDATE] = STAY,
		[EV_CHECKPOINT] = STAY,
		[EV_EXEC] = ERR("cannot exec in a paused state"),
		[EV_KILL] = STAY,
		[EV_RESIZE] = STAY,
		[EV_OK] = GO(ST_RUNNING),
		[EV_FAIL] = GO(ST_PAUSED),
		[EV_EXITED] = GO(ST_STOPPED),
	},
	[ST_STOPPED] = {
		[EV_START] = ERR("cannot start a stopped process"),
		[EV_DELETE] = GO(ST_DELETING),
		[EV_PAUSE] = ERR("cannot pause a stopped container"),
		[EV_RESUME] = ERR("cannot resume a stopped container"),
		[EV_UPDATE] = ERR("cannot update a stopped container"),
		[EV_CHECKPOINT] = ERR("cannot checkpoint a stopped container"),
		[EV_EXEC] = ERR("cannot exec in a stopped state"),
		[EV_KILL] = NF("process already finished: not found"),
		[EV_RESIZE] = STAY,
		[EV_OK] = STAY,
		[EV_FAIL] = STAY,
		[EV_EXITED] = STAY,
	},
	[ST_DELETING] = {
		[EV_START] = ERR("cannot start a deleted process"),
		[EV_DELETE] = NF("cannot delete a deleted process: not found"),
		[EV_PAUSE] = ERR("cannot pause a deleted process"),
		[EV_RESUME] = ERR("cannot resume a deleted process"),
		[EV_UPDATE] = ERR("cannot update a deleted process"),
		[EV_CHECKPOINT] = ERR("cannot checkpoint a deleted process"),
		[EV_EXEC] = ERR("cannot exec in a deleted state"),
		[EV_KILL] = NF("cannot kill a deleted process: not found"),
		[EV_RESIZE] = ERR("cannot resize a deleted process"),
		[EV_OK] = STAY,
		[EV_FAIL] = STAY,	/* back to p_prev, by proc_step */
		[EV_EXITED] = STAY,
	},
};

/* An exec process: created, starting, running, stopped, deleting. */
static const struct cell exec_table[ST_MAX][EV_MAX]
    NS_RODATA("proc_tables") = {
	[ST_CREATED] = {
		[EV_START] = GO(ST_STARTING),
		[EV_DELETE] = GO(ST_DELETING),
		[EV_KILL] = FP("process not created: failed precondition"),
		[EV_RESIZE] = STAY,
		[EV_OK] = BAD,
		[EV_FAIL] = BAD,
		[EV_EXITED] = STAY,
	},
	[ST_STARTING] = {
		[EV_START] = ERR("cannot start a running process"),
		[EV_DELETE] = ERR("cannot delete a running process"),
		[EV_KILL] = FP("process not created: failed precondition"),
		[EV_RESIZE] = STAY,
		[EV_OK] = GO(ST_RUNNING),
		[EV_FAIL] = GO(ST_CREATED),
		[EV_EXITED] = STAY,
	},
	[ST_RUNNING] = {
		[EV_START] = ERR("cannot start a running process"),
		[EV_DELETE] = ERR("cannot delete a running process"),
		[EV_KILL] = STAY,
		[EV_RESIZE] = STAY,
		[EV_OK] = BAD,
		[EV_FAIL] = BAD,
		[EV_EXITED] = GO(ST_STOPPED),
	},
	[ST_STOPPED] = {
		[EV_START] = ERR("cannot start a stopped process"),
		[EV_DELETE] = GO(ST_DELETING),
		[EV_KILL] = NF("process already finished: not found"),
		[EV_RESIZE] = ERR("cannot resize a stopped container"),
		[EV_OK] = STAY,
		[EV_FAIL] = STAY,
		[EV_EXITED] = STAY,
	},
	[ST_DELETING] = {
		[EV_START] = ERR("cannot start a deleted process"),
		[EV_DELETE] = NF("cannot delete a deleted process: not found"),
		[EV_KILL] = NF("cannot kill a deleted process: not found"),
		[EV_RESIZE] = ERR("cannot resize a deleted process"),
		[EV_OK] = STAY,
		[EV_FAIL] = STAY,
		[EV_EXITED] = STAY,
	},
};

struct pool ctr_pool, proc_pool, parked_pool;
/* The status a completion answers with (one at a time: no nesting). */
struct status proc_st;
const char *proc_ns;
struct proc_replies proc_rp;

static void proc_runc_done(handle_t owner, uint64_t cookie, int status,
    const char *out, size_t len);

/* --- small helpers ------------------------------------------------------ */

const char *
str_put(char *area, size_t cap, uint32_t *used, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d;

	if (*used + n > cap)
		return NULL;
	d = area + *used;
	memcpy(d, s, n);
	*used += (uint32_t)n;
	return d;
}

struct ctr *
ctr_of(const struct proc *p)
{
	return pool_get(&ctr_pool, p->p_ctr);
}

struct proc *
init_of(const struct ctr *c)
{
	return pool_get(&proc_pool, c->c_init);
}

const char *
proc_id(const struct proc *p)
{
	return p->p_init ? ctr_of(p)->c_id : p->p_eid;
}

struct ctr *
ctr_find(const char *id, bool creating_too)
{
	uint32_t i = 0;
	struct ctr *c;

	while ((c = pool_iter(&ctr_pool, &i)) != NULL) {
		struct proc *p = init_of(c);

		if (strcmp(c->c_id, id) != 0)
			continue;
		if (!creating_too && p && p->p_state == ST_CREATING)
			continue;
		return c;
	}
	return NULL;
}

struct proc *
exec_find(const struct ctr *c, const char *eid)
{
	handle_t h = c->c_execs;
	struct proc *p;

	while ((p = pool_get(&proc_pool, h)) != NULL) {
		if (strcmp(p->p_eid, eid) == 0)
			return p;
		h = p->p_next;
	}
	return NULL;
}

/* The process a request names, or NULL with the Go shim's NotFound. */
struct proc *
proc_lookup(const char *id, const char *eid, struct status *st)
{
	struct ctr *c = ctr_find(id, false);
	struct proc *p;

	if (c == NULL) {
		status_set(st, GRPC_NOT_FOUND,
		    "container not created: not found");
		return NULL;
	}
	if (eid == NULL || *eid == '\0')
		return init_of(c);
	p = exec_find(c, eid);
	if (p == NULL)
		status_set(st, GRPC_NOT_FOUND,
		    "process does not exist %s: not found", eid);
	return p;
}

/*
 * The one place p_state changes.  Refused events fill st with the cell's
 * status; FAIL out of DELETING goes back to where the delete began.
 */
/*
 * A cell left out of a table is all zeros: "go to ST_CREATING", which no
 * event ever does.  It reads as this one instead.
 */
static const struct cell cell_bad = BAD;

static const struct cell *
table_cell(bool init, unsigned state, unsigned ev)
{
	const struct cell *c = init ? &init_table[state][ev] :
	    &exec_table[state][ev];

	return c->msg == NULL && c->next == ST_CREATING ? &cell_bad : c;
}

int
proc_step(struct proc *p, enum pev ev, struct status *st)
{
	const struct cell *c = table_cell(p->p_init, p->p_state, ev);

	if (c->msg) {
		if (st)
			status_set(st, c->code, "%s", c->msg);
		if (c->code == GRPC_INTERNAL)
			log_error("%s %s: event %d in state %d", proc_id(p),
			    c->msg, ev, p->p_state);
		return -1;
	}
	if (p->p_state == ST_DELETING && ev == EV_FAIL) {
		p->p_state = p->p_prev;
		return 0;
	}
	if (c->next != ST_SAME) {
		p->p_prev = p->p_state;
		p->p_state = c->next;
	}
	return 0;
}

static enum proc_status
proc_status_of(const struct proc *p)
{
	const struct proc *q = p;

	/* An exec shows its init's pause state (exec_state.go Status). */
	if (!p->p_init && p->p_state == ST_RUNNING) {
		q = init_of(ctr_of(p));
		if (q == NULL)
			q = p;
	}
	switch (q->p_state) {
	case ST_CREATING:
	case ST_CREATED:
	case ST_STARTING:
		return PS_CREATED;
	case ST_RUNNING:
		return PS_RUNNING;
	case ST_PAUSING:
		return PS_PAUSING;
	case ST_PAUSED:
	case ST_RESUMING:
		return p->p_state == ST_RUNNING || p->p_init ? PS_PAUSED :
		    PS_RUNNING;
	default:
		return PS_STOPPED;
	}
}

static int64_t proc_timeout_ms;	/* of the request being served */

void
proc_call_timeout(int64_t ms)
{
	proc_timeout_ms = ms;
}

struct parked *
parked_take(uint8_t kind, uint8_t op, struct ttrpc_ref ref, struct proc *p,
    struct status *st)
{
	handle_t h = pool_take(&parked_pool);
	struct parked *pk = pool_get(&parked_pool, h);

	if (pk == NULL) {
		status_set(st, GRPC_RESOURCE_EXHAUSTED, "too many requests in "
		    "flight (limit %u, NANOSHIM_PARKED)", parked_pool.pl_cap);
		return NULL;
	}
	pk->pk_kind = kind;
	pk->pk_op = op;
	pk->pk_ref = ref;
	pk->pk_proc = p ? pool_handle(&proc_pool, p) : HANDLE_NONE;
	pk->pk_timeout_ms = proc_timeout_ms;
	return pk;
}

void
parked_give(struct parked *pk)
{
	pool_give(&parked_pool, pool_handle(&parked_pool, pk));
}

static uint32_t
parked_idx(const struct parked *pk)
{
	return handle_index(pool_handle(&parked_pool, pk)) + 1;
}

static struct parked *
parked_at(uint32_t idx1)
{
	return pool_slot(&parked_pool, idx1 - 1);
}

/*
 * Answer a parked call whose process was deleted before its work was
 * done (an exec still starting when its container went), and free it.
 */
static void
parked_gone(struct parked *pk)
{
	struct status st;

	status_set(&st, GRPC_NOT_FOUND, "process was deleted before the "
	    "call completed: not found");
	proc_reply_error(pk->pk_ref, &st);
	parked_give(pk);
}

/* Start a runc command for p; the parked op (or NULL) gets the result. */
int
proc_runc(struct proc *p, struct parked *pk, uint8_t ff_op,
    const char *const *args, const int fds[3], int64_t timeout_ms,
    struct status *st)
{
	struct ctr *c = ctr_of(p);
	struct runc_req rq;
	char err[512];
	uint8_t op;
	int e;

	memset(&rq, 0, sizeof(rq));
	rq.rq_opts = &c->c_ro;
	rq.rq_args = args;
	rq.rq_nfd = 3;
	rq.rq_fd[0] = fds ? fds[0] : RUNC_NULL;
	rq.rq_fd[1] = fds ? fds[1] : RUNC_CAPTURE;
	rq.rq_fd[2] = fds ? fds[2] : RUNC_CAPTURE;
	rq.rq_owner = pool_handle(&proc_pool, p);
	rq.rq_cookie = pk ? pool_handle(&parked_pool, pk) :
	    ((1ull << 63) | ff_op);
	rq.rq_done = proc_runc_done;
	/* A parked call's runc dies with the caller's deadline. */
	if (timeout_ms <= 0 && pk)
		timeout_ms = pk->pk_timeout_ms;
	rq.rq_deadline = timeout_ms > 0 ? now_ms() + (uint64_t)timeout_ms : 0;
	/*
	 * One runc call at a time per container, as the Go shim holds the
	 * init's lock across each (Start, Kill, Delete, Pause, Resume,
	 * Update, Checkpoint, and the kill --all / thaw after an exit).  exec
	 * and ps take no lock there, and take none here.
	 */
	op = pk ? pk->pk_op : ff_op;
	rq.rq_serial = op == OP_EXEC || op == OP_PS ? HANDLE_NONE : p->p_ctr;
	e = runc_call(&rq, err, sizeof(err));
	if (e < 0) {
		if (st)
			status_set(st, e == -ENOSPC ? GRPC_RESOURCE_EXHAUSTED :
			    GRPC_UNKNOWN, "%s", err);
		else
			log_warnx("%s: %s", c->c_id, err);
		return -1;
	}
	return 0;
}

int
read_pidfile(const char *path, pid_t *out)
{
	char buf[32];
	ssize_t n;
	long v;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	if (v <= 0)
		return -EINVAL;
	*out = (pid_t)v;
	return 0;
}

void
exit_zero(struct proc_exit *ex)
{
	ex->pe_status = 0;
	ex->pe_sec = PROC_ZERO_SEC;
	ex->pe_nsec = 0;
}

/* Answer every parked Wait of p with its exit. */
void
proc_release_waiters(struct proc *p, const struct proc_exit *ex)
{
	while (p->p_waiters) {
		struct parked *pk = parked_at(p->p_waiters);

		p->p_waiters = pk->pk_next;
		proc_rp.pr_wait(pk->pk_ref, ex);
		parked_give(pk);
	}
}

void
proc_free(struct proc *p)
{
	struct proc_exit z;
	struct parked *pk;

	exit_zero(&z);
	proc_release_waiters(p, &z);
	if ((pk = pool_get(&parked_pool, p->p_pending)) != NULL)
		parked_gone(pk);
	rtimer_cancel(&p->p_timer);
	proc_pidfd_close(p);
	if (p->p_io) {
		io_close(p->p_io);
		p->p_io = HANDLE_NONE;
	}
	if (p->p_spec)
		unlink(p->p_spec);
	pool_give(&proc_pool, pool_handle(&proc_pool, p));
}

void
ctr_free(struct ctr *c)
{
	struct proc *p;

	while ((p = pool_get(&proc_pool, c->c_execs)) != NULL) {
		c->c_execs = p->p_next;
		proc_free(p);
	}
	if ((p = init_of(c)) != NULL)
		proc_free(p);
	if (c->c_oom)
		oom_unwatch(c->c_oom);
	pool_give(&ctr_pool, pool_handle(&ctr_pool, c));
}

int
proc_io_open(struct proc *p, struct parked *pk, struct status *st)
{
	struct ctr *c = ctr_of(p);
	struct io_spec sp;
	char msg[512];
	int r;

	memset(&sp, 0, sizeof(sp));
	sp.is_stdin = p->p_stdin;
	sp.is_stdout = p->p_stdout;
	sp.is_stderr = p->p_stderr;
	sp.is_terminal = p->p_terminal;
	sp.is_uid = c->c_io_uid;
	sp.is_gid = c->c_io_gid;
	sp.is_id = c->c_id;
	sp.is_ns = proc_ns;
	r = io_open(&sp, pool_handle(&proc_pool, p), &p->p_io, msg, 512);
	if (r < 0)
		return status_set(st, status_code_of(r), "%s", msg);
	if (r == 1)
		p->p_pending = pool_handle(&parked_pool, pk);
	return r;
}

/* io says the logging binary is ready (or failed) for p's pending op. */
void
proc_io_ready(handle_t owner, int err, const char *msg)
{
	struct proc *p = pool_get(&proc_pool, owner);
	struct parked *pk;
	struct status *st = &proc_st;

	if (p == NULL)
		return;
	pk = pool_get(&parked_pool, p->p_pending);
	p->p_pending = HANDLE_NONE;
	if (pk == NULL)
		return;
	if (err < 0) {
		status_set(st, GRPC_UNKNOWN, "%s", msg);
		if (p->p_init) {
			create_failed(p, pk, st);
		} else {
			proc_step(p, EV_FAIL, NULL);
			proc_reply_error(pk->pk_ref, st);
			parked_give(pk);
		}
		return;
	}
	if (p->p_init)
		proc_start_runc(p, pk);
	else
		exec_spawn(p, pk);
}

/* Where every runc child of a process reports back. */
static void
proc_runc_done(handle_t owner, uint64_t cookie, int status, const char *out,
    size_t len)
{
	struct proc *p = pool_get(&proc_pool, owner);
	struct parked *pk;

	if (cookie >> 63) {
		if (p == NULL)
			return;
		if (status != 0)
			log_debug("%s: %s exited %d: %.*s", proc_id(p),
			    (cookie & 0xff) == OP_KILLALL ? "kill --all" :
			    "resume", status, (int)len, out);
		if ((cookie & 0xff) != OP_KILLALL && (cookie & 0xff) != OP_THAW)
			return;
		if (p->p_cleanups > 0 && --p->p_cleanups == 0)
			proc_try_publish(p);
		return;
	}
	pk = pool_get(&parked_pool, cookie);
	if (pk == NULL)
		return;
	if (p == NULL) {
		/* Its process went away meanwhile: still, every call gets an answer. */
		parked_gone(pk);
		return;
	}
	switch (pk->pk_op) {
	case OP_CREATE:
		create_done(p, pk, status, out, len);
		break;
	case OP_START:
		start_done(p, pk, status, out, len);
		break;
	case OP_RESTORE:
		restore_done(p, pk, status, out, len);
		break;
	case OP_EXEC:
		exec_done(p, pk, status, out, len);
		break;
	case OP_DELETE:
		delete_done(p, pk, status, out, len);
		break;
	case OP_KILL:
		kill_done(p, pk, status, out, len);
		break;
	case OP_PAUSE:
	case OP_RESUME:
		pause_done(p, pk, status, out, len);
		break;
	case OP_UPDATE:
		update_done(p, pk, status, out, len);
		break;
	case OP_CHECKPOINT:
		checkpoint_done(p, pk, status, out, len);
		break;
	case OP_PS:
		ps_done(p, pk, status, out, len);
		break;
	default:
		parked_give(pk);
		break;
	}
}

/* --- queries ------------------------------------------------------------ */

int
proc_state(const char *id, const char *exec_id, struct proc_state *out,
    struct status *st)
{
	struct proc *p = proc_lookup(id, exec_id, st);

	if (p == NULL)
		return -1;
	out->ps_id = proc_id(p);
	out->ps_bundle = ctr_of(p)->c_bundle;
	out->ps_pid = p->p_pid > 0 ? (uint32_t)p->p_pid : 0;
	out->ps_status = proc_status_of(p);
	out->ps_stdin = p->p_stdin;
	out->ps_stdout = p->p_stdout;
	out->ps_stderr = p->p_stderr;
	out->ps_terminal = p->p_terminal;
	out->ps_exit = p->p_exit;
	return 0;
}

int
proc_wait(const char *id, const char *exec_id, struct ttrpc_ref ref,
    struct proc_exit *now, struct status *st)
{
	struct proc *p = proc_lookup(id, exec_id, st);
	struct parked *pk;

	if (p == NULL)
		return -1;
	if (p->p_published) {
		*now = p->p_exit;
		return 0;
	}
	if (p->p_start_failed) {
		exit_zero(now);
		return 0;
	}
	pk = parked_take(PK_WAIT, OP_NONE, ref, p, st);
	if (pk == NULL)
		return -1;
	pk->pk_next = p->p_waiters;
	p->p_waiters = parked_idx(pk);
	return PROC_PARKED;
}

int
proc_close_io(const char *id, const char *exec_id, struct status *st)
{
	struct proc *p = proc_lookup(id, exec_id, st);

	if (p == NULL)
		return -1;
	if (p->p_io)
		io_close_stdin(p->p_io);
	return 0;
}

int
proc_resize(const char *id, const char *exec_id, uint32_t w, uint32_t h,
    struct status *st)
{
	struct proc *p = proc_lookup(id, exec_id, st);
	int e;

	if (p == NULL)
		return -1;
	if (proc_step(p, EV_RESIZE, st) < 0)
		return -1;
	if (p->p_io == HANDLE_NONE)
		return 0;
	e = io_resize(p->p_io, w, h);
	if (e < 0)
		return status_errno(st, e, "resize pty");
	return 0;
}

uint32_t
proc_init_pid(const char *id)
{
	struct ctr *c = ctr_find(id, false);
	struct proc *p = c ? init_of(c) : NULL;

	return p && p->p_pid > 0 ? (uint32_t)p->p_pid : 0;
}

bool
proc_id_taken(const char *id)
{
	return ctr_find(id, true) != NULL;
}

bool
proc_known(const char *id)
{
	return ctr_find(id, false) != NULL;
}

const struct cgroup_ref *
proc_cgroup(const char *id)
{
	struct ctr *c = ctr_find(id, false);

	return c && c->c_cg.cr_valid ? &c->c_cg : NULL;
}

const char *
proc_exec_of_pid(const char *id, uint32_t pid)
{
	struct ctr *c = ctr_find(id, false);
	struct proc *e;
	handle_t h;

	if (c == NULL)
		return NULL;
	for (h = c->c_execs; (e = pool_get(&proc_pool, h)) != NULL;
	    h = e->p_next)
		if (e->p_pid > 0 && (uint32_t)e->p_pid == pid)
			return e->p_eid;
	return NULL;
}

uint32_t
proc_count(void)
{
	return ctr_pool.pl_used;
}

void
proc_conn_closed(handle_t conn)
{
	uint32_t i = 0;
	struct parked *pk;

	while ((pk = pool_iter(&parked_pool, &i)) != NULL) {
		struct proc *p;
		uint32_t *link, idx;

		if (pk->pk_kind != PK_WAIT || pk->pk_ref.r_conn != conn)
			continue;
		p = pool_get(&proc_pool, pk->pk_proc);
		idx = parked_idx(pk);
		for (link = p ? &p->p_waiters : NULL; link && *link;
		    link = &parked_at(*link)->pk_next) {
			if (*link == idx) {
				*link = pk->pk_next;
				break;
			}
		}
		parked_give(pk);
	}
}

NS_IDLE void
proc_replies(const struct proc_replies *r)
{
	proc_rp = *r;
}

NS_IDLE void
proc_init(uint32_t max_ctrs, uint32_t max_procs, uint32_t max_parked,
    const char *ns)
{
	proc_ns = ns;
	pool_init(&ctr_pool, "containers", K_CTR, sizeof(struct ctr),
	    max_ctrs);
	pool_init(&proc_pool, "processes", K_PROC, sizeof(struct proc),
	    max_procs);
	pool_init(&parked_pool, "parked requests", K_PARKED,
	    sizeof(struct parked), max_parked);
	reactor_handler(K_PROC, proc_event);
	io_init(max_procs, proc_io_ready, proc_io_drained);
	oom_init(max_ctrs, proc_oom);
}

#ifdef NS_UNIT_TEST
/*
 * For tests/unit/test_proc_table.c: one cell of the state tables.  Returns
 * 0 for an allowed event (next: the state it leads to, ST_SAME = stays),
 * -1 for a refused one (code and msg: the reply).
 */
int proc_table_cell(bool init, int state, int ev, int *next, int *code,
    const char **msg);

int
proc_table_cell(bool init, int state, int ev, int *next, int *code,
    const char **msg)
{
	const struct cell *c;

	if (state < 0 || state >= ST_MAX || ev < 0 || ev >= EV_MAX)
		return -2;
	c = table_cell(init, (unsigned)state, (unsigned)ev);
	*next = c->next;
	*code = c->code;
	*msg = c->msg;
	return c->msg ? -1 : 0;
}
#endif
