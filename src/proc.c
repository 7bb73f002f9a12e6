/*
 * proc - containers, their init and exec processes, and the lifecycle
 * state table; see proc.h.
 *
 * Mirrors pkg/process/{init,init_state,exec,exec_state}.go and the exit
 * handling of runtime/v2/runc/task/service.go.
 *
 * The order of exit work, which containerd relies on:
 *   reaped -> (held while its start is still running, so TaskStart or
 *   TaskExecStarted is queued first) -> stopped -> kill the rest of the
 *   container if it has no pid namespace of its own -> output drained ->
 *   (an init waits for its running execs' exits) -> TaskOOM if one is
 *   pending -> TaskExit -> waiters answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "layout.h"
#include "bounds.h"
#include "cgroup.h"
#include "io.h"
#include "json.h"
#include "log.h"
#include "mount.h"
#include "oom.h"
#include "pool.h"
#include "proc.h"
#include "reactor.h"
#include "reaper.h"
#include "runc.h"
#include "scratch.h"
#include "task.h"

/* Delete waits this long for output copies, like the Go shim. */
#define DRAIN_WAIT_MS	2000u
/* After an exit, output has this long to drain before TaskExit goes. */
#define EXIT_DRAIN_MS	2000u

enum pst {
	ST_CREATING, ST_CREATED, ST_STARTING, ST_RUNNING, ST_PAUSING,
	ST_PAUSED, ST_RESUMING, ST_STOPPED, ST_DELETING, ST_MAX,
	ST_SAME = 0xff
};

enum pev {
	EV_START, EV_DELETE, EV_PAUSE, EV_RESUME, EV_UPDATE, EV_CHECKPOINT,
	EV_EXEC, EV_KILL, EV_RESIZE, EV_OK, EV_FAIL, EV_EXITED, EV_MAX
};

enum op {
	OP_NONE, OP_CREATE, OP_START, OP_RESTORE, OP_EXEC, OP_DELETE, OP_KILL,
	OP_PAUSE, OP_RESUME, OP_UPDATE, OP_CHECKPOINT, OP_PS, OP_KILLALL,
	OP_THAW
};

enum { PK_WAIT = 1, PK_OP };

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
/*
 * (The two tables are placed in .rodata explicitly: at this size the
 * medium code model would put them in a writable large-data section.)
 */
static const struct cell init_table[ST_MAX][EV_MAX]
    __attribute__((section(".rodata.proc_tables"))) = {
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
    __attribute__((section(".rodata.proc_tables"))) = {
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

struct ctr {
	char c_id[NS_ID_MAX + 1];
	handle_t c_init;
	handle_t c_execs;		/* first exec process */
	uint32_t c_nexecs;
	struct runc_opts c_ro;
	const char *c_bundle, *c_criu_work, *c_checkpoint, *c_parent_cp;
	bool c_no_pivot, c_no_new_keyring, c_restore;
	bool c_shared_pidns;		/* no private pid namespace */
	bool c_mounted;
	uint32_t c_io_uid, c_io_gid;
	int64_t c_create_ev;
	handle_t c_oom;
	uint32_t c_seq;			/* names of temp files */
	uint32_t c_strlen;
	struct cgroup_ref c_cg;
	char c_str[NS_CTR_STR];
	/* The criu work dir of a checkpoint under way (last: rarely touched). */
	char c_ckpt_work[NS_PATH_MAX];
};

struct proc {
	handle_t p_ctr;
	handle_t p_next;		/* next exec of the container */
	bool p_init;
	uint8_t p_state, p_prev;
	pid_t p_pid;
	struct rfd p_pidfd;
	struct proc_exit p_exit;
	bool p_exited;			/* p_exit holds the real exit */
	bool p_held;			/* reaped while its start ran */
	int p_held_status;
	struct timespec p_held_when;
	bool p_drained;
	bool p_published;		/* TaskExit queued, waiters answered */
	uint8_t p_cleanups;		/* kill --all / thaw still running */
	bool p_start_failed;		/* exec start failed: Wait returns */
	bool p_terminal;
	handle_t p_io;
	handle_t p_pending;		/* the parked op waiting on io/drain */
	uint32_t p_waiters;		/* parked Waits, index + 1 */
	struct rtimer p_timer;
	const char *p_stdin, *p_stdout, *p_stderr, *p_spec;
	char p_eid[NS_ID_MAX + 1];
	uint32_t p_strlen;
	char p_str[NS_PROC_STR];
};

struct parked {
	uint8_t pk_kind;
	uint8_t pk_op;
	struct ttrpc_ref pk_ref;
	handle_t pk_proc;
	uint32_t pk_next;		/* waiter list link, index + 1 */
	uint32_t pk_seq;
	int64_t pk_timeout_ms;
};

static struct pool ctr_pool, proc_pool, parked_pool;
/* The status a completion answers with (one at a time: no nesting). */
static struct status proc_st;
static const char *proc_ns;

static void proc_runc_done(handle_t owner, uint64_t cookie, int status,
    const char *out, size_t len);
static void proc_exited(struct proc *p, int status,
    const struct timespec *when);
static void proc_try_publish(struct proc *p);
static void proc_finish_delete(struct proc *p, struct parked *pk);
static void proc_start_runc(struct proc *p, struct parked *pk);
static void exec_spawn(struct proc *p, struct parked *pk);

/* --- small helpers ------------------------------------------------------ */

static const char *
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

static struct ctr *
ctr_of(const struct proc *p)
{
	return pool_get(&ctr_pool, p->p_ctr);
}

static struct proc *
init_of(const struct ctr *c)
{
	return pool_get(&proc_pool, c->c_init);
}

static const char *
proc_id(const struct proc *p)
{
	return p->p_init ? ctr_of(p)->c_id : p->p_eid;
}

static struct ctr *
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

static struct proc *
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
static struct proc *
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

static int
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

static struct parked *
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

static void
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
	task_reply_error(pk->pk_ref, &st);
	parked_give(pk);
}

/* Start a runc command for p; the parked op (or NULL) gets the result. */
static int
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

static int
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

static void
pidfd_event(handle_t h, uint32_t events)
{
	(void)h;
	(void)events;
	/* The exit itself comes from waitpid; this only says "look now". */
	reaper_kick();
}

/* Record the pid, watch it, and take an exit that came before. */
static void
proc_set_pid(struct proc *p, pid_t pid)
{
	struct timespec when;
	int status, fd;

	p->p_pid = pid;
	if (p->p_init) {
		fd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (fd >= 0) {
			fcntl(fd, F_SETFD, FD_CLOEXEC);
			rfd_init(&p->p_pidfd, fd, pool_handle(&proc_pool, p));
			rfd_want(&p->p_pidfd, EPOLLIN);
		}
	}
	if (reaper_claim(pid, &status, &when)) {
		p->p_held = true;
		p->p_held_status = status;
		p->p_held_when = when;
	}
}

static void
proc_pidfd_close(struct proc *p)
{
	rfd_close(&p->p_pidfd);
}

static void
exit_zero(struct proc_exit *ex)
{
	ex->pe_status = 0;
	ex->pe_sec = PROC_ZERO_SEC;
	ex->pe_nsec = 0;
}

/* Answer every parked Wait of p with its exit. */
static void
proc_release_waiters(struct proc *p, const struct proc_exit *ex)
{
	while (p->p_waiters) {
		struct parked *pk = parked_at(p->p_waiters);

		p->p_waiters = pk->pk_next;
		task_reply_wait(pk->pk_ref, ex);
		parked_give(pk);
	}
}

static void
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

static void
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

/* --- options.json, config.json ------------------------------------------ */

static void
write_file(const char *dir, const char *name, const char *data, size_t len,
    mode_t mode)
{
	char *path;
	int fd;

	path = scratch_printf("%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		log_warn("write %s", path);
		return;
	}
	if (write(fd, data, len) != (ssize_t)len)
		log_warn("write %s", path);
	close(fd);
}

/*
 * options.json is the JSON of containerd.runc.v1.Options with proto field
 * names, empty fields left out; `delete` (maybe another shim build) reads
 * it back to find runc's root and binary.
 */
static void
write_options(const struct proc_create *pc)
{
	const struct {
		const char *k, *v;
	} strs[] = {
		{ "binary_name", pc->pc_bin }, { "root", pc->pc_root },
		{ "criu_path", pc->pc_criu }, { "criu_work_path",
		    pc->pc_criu_work },
	};
	/*
	 * The worst case, so no string is ever cut: the flags and numbers
	 * fit in OPT_FIXED; a string takes its key, a colon, a comma, two
	 * quotes, and 6 bytes per byte at most (a control byte is \u00XX).
	 */
	enum { OPT_FIXED = 256, OPT_KEY = 24 };
	size_t cap = OPT_FIXED, n = 0, i;
	char *buf;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strs[i].v != NULL)
			cap += OPT_KEY + 6 * strlen(strs[i].v) + 3;
	buf = scratch_alloc(cap);

	buf[n++] = '{';
#define OPT_SEP() do { if (n > 1) buf[n++] = ','; } while (0)
	if (pc->pc_no_pivot) {
		OPT_SEP();
		n += (size_t)sprintf(buf + n, "\"no_pivot_root\":true");
	}
	if (pc->pc_no_new_keyring) {
		OPT_SEP();
		n += (size_t)sprintf(buf + n, "\"no_new_keyring\":true");
	}
	if (pc->pc_io_uid) {
		OPT_SEP();
		n += (size_t)sprintf(buf + n, "\"io_uid\":%u", pc->pc_io_uid);
	}
	if (pc->pc_io_gid) {
		OPT_SEP();
		n += (size_t)sprintf(buf + n, "\"io_gid\":%u", pc->pc_io_gid);
	}
	if (pc->pc_systemd) {
		OPT_SEP();
		n += (size_t)sprintf(buf + n, "\"systemd_cgroup\":true");
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strs[i].v == NULL || *strs[i].v == '\0')
			continue;
		OPT_SEP();
		n += (size_t)sprintf(buf + n, "\"%s\":", strs[i].k);
		n += json_quote(buf + n, cap - 1 - n, strs[i].v);
	}
#undef OPT_SEP
	buf[n++] = '}';
	write_file(pc->pc_bundle, "options.json", buf, n, 0600);
	write_file(pc->pc_bundle, "runtime", pc->pc_bin ? pc->pc_bin : "",
	    pc->pc_bin ? strlen(pc->pc_bin) : 0, 0600);
}

/*
 * Does the spec give the container a pid namespace of its own?  Without
 * one, the kernel does not kill the rest when the init dies, so the shim
 * must (shouldKillAllOnExit).  Unreadable config counts as "no".
 */
static bool
has_private_pidns(const char *bundle)
{
	char *path;
	const char *base, *end, *linux, *nss, *it = NULL, *el;
	struct stat st;
	bool priv = false;
	void *m;
	int fd;

	path = scratch_printf("%s/config.json", bundle);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return false;
	}
	/* A file mapping, not heap: gone again before we return. */
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return false;
	base = m;
	end = base + st.st_size;
	linux = json_get(base, end, "linux", NULL);
	nss = linux ? json_get(linux, end, "namespaces", NULL) : NULL;
	while (nss && (el = json_next(nss, end, &it)) != NULL) {
		const char *t = json_get(el, end, "type", NULL);
		const char *pth = json_get(el, end, "path", NULL);

		if (t && json_str_eq(t, end, "pid") &&
		    (pth == NULL || json_str_eq(pth, end, "")))
			priv = true;
	}
	munmap(m, (size_t)st.st_size);
	return priv;
}

/* --- Create ------------------------------------------------------------- */

static int
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

int
proc_create(const struct proc_create *pc, struct ttrpc_ref ref,
    struct status *st)
{
	handle_t ch, ph;
	struct ctr *c;
	struct proc *p;
	struct parked *pk;
	char *root;
	int r;

	if (ctr_find(pc->pc_id, true))
		return status_set(st, GRPC_ALREADY_EXISTS,
		    "container %s: already exists", pc->pc_id);
	ch = pool_take(&ctr_pool);
	c = pool_get(&ctr_pool, ch);
	if (c == NULL)
		return status_set(st, GRPC_RESOURCE_EXHAUSTED, "too many "
		    "containers (limit %u, NANOSHIM_CONTAINERS)",
		    ctr_pool.pl_cap);
	ph = pool_take(&proc_pool);
	p = pool_get(&proc_pool, ph);
	if (p == NULL) {
		pool_give(&ctr_pool, ch);
		return status_set(st, GRPC_RESOURCE_EXHAUSTED, "too many "
		    "processes (limit %u, NANOSHIM_PROCESSES)",
		    proc_pool.pl_cap);
	}
	p->p_init = true;
	p->p_ctr = ch;
	p->p_state = ST_CREATING;
	exit_zero(&p->p_exit);
	c->c_init = ph;
	c->c_create_ev = pc->pc_event;
	pk = parked_take(PK_OP, OP_CREATE, ref, p, st);
	if (pk == NULL)
		goto out_free;
	snprintf(c->c_id, sizeof(c->c_id), "%s", pc->pc_id);
	root = scratch_printf("%s/%s", pc->pc_root && *pc->pc_root ?
	    pc->pc_root : "/run/containerd/runc", proc_ns);
	c->c_bundle = str_put(c->c_str, sizeof(c->c_str), &c->c_strlen,
	    pc->pc_bundle);
	c->c_ro.ro_bin = str_put(c->c_str, sizeof(c->c_str), &c->c_strlen,
	    pc->pc_bin ? pc->pc_bin : "");
	c->c_ro.ro_root = str_put(c->c_str, sizeof(c->c_str), &c->c_strlen,
	    root);
	c->c_ro.ro_criu = str_put(c->c_str, sizeof(c->c_str), &c->c_strlen,
	    pc->pc_criu ? pc->pc_criu : "");
	c->c_criu_work = str_put(c->c_str, sizeof(c->c_str), &c->c_strlen,
	    pc->pc_criu_work ? pc->pc_criu_work : "");
	root = scratch_printf("%s/log.json", pc->pc_bundle);
	c->c_ro.ro_log = str_put(c->c_str, sizeof(c->c_str), &c->c_strlen,
	    root);
	c->c_checkpoint = str_put(c->c_str, sizeof(c->c_str), &c->c_strlen,
	    pc->pc_checkpoint ? pc->pc_checkpoint : "");
	c->c_parent_cp = str_put(c->c_str, sizeof(c->c_str), &c->c_strlen,
	    pc->pc_parent_checkpoint ? pc->pc_parent_checkpoint : "");
	p->p_stdin = str_put(p->p_str, sizeof(p->p_str), &p->p_strlen,
	    pc->pc_stdin);
	p->p_stdout = str_put(p->p_str, sizeof(p->p_str), &p->p_strlen,
	    pc->pc_stdout);
	p->p_stderr = str_put(p->p_str, sizeof(p->p_str), &p->p_strlen,
	    pc->pc_stderr);
	if (!c->c_bundle || !c->c_ro.ro_bin || !c->c_ro.ro_root ||
	    !c->c_ro.ro_criu || !c->c_criu_work || !c->c_ro.ro_log ||
	    !c->c_checkpoint || !c->c_parent_cp || !p->p_stdin ||
	    !p->p_stdout || !p->p_stderr) {
		status_set(st, GRPC_INVALID_ARGUMENT, "paths of container %s "
		    "are longer than the %u bytes kept per container",
		    pc->pc_id, NS_CTR_STR);
		goto out_parked;
	}
	c->c_ro.ro_systemd = pc->pc_systemd;
	c->c_no_pivot = pc->pc_no_pivot;
	c->c_no_new_keyring = pc->pc_no_new_keyring;
	c->c_io_uid = pc->pc_io_uid;
	c->c_io_gid = pc->pc_io_gid;
	c->c_mounted = pc->pc_mounted;
	c->c_restore = *c->c_checkpoint != '\0';
	c->c_shared_pidns = !has_private_pidns(c->c_bundle);
	p->p_terminal = pc->pc_terminal;
	write_options(pc);

	r = proc_io_open(p, pk, st);
	if (r < 0)
		goto out_parked;
	if (r == 1)
		return PROC_PARKED;	/* proc_io_ready continues */
	proc_start_runc(p, pk);
	return PROC_PARKED;

out_parked:
	parked_give(pk);
out_free:
	pool_give(&proc_pool, ph);
	pool_give(&ctr_pool, ch);
	return -1;
}

/* Undo a create that failed after proc_create returned. */
static void
create_failed(struct proc *p, struct parked *pk, const struct status *st)
{
	struct ctr *c = ctr_of(p);
	char *rootfs;

	task_reply_error(pk->pk_ref, st);
	parked_give(pk);
	task_ev_create_cancel(c->c_create_ev);
	if (c->c_mounted) {
		rootfs = scratch_printf("%s/rootfs", c->c_bundle);
		mount_unmount_all(rootfs);
	}
	ctr_free(c);
}

/* Spawn runc create (or, for a restore, only finish: Start restores). */
static void
proc_start_runc(struct proc *p, struct parked *pk)
{
	struct ctr *c = ctr_of(p);
	char *pidfile;
	const char *args[16];
	struct status *st = &proc_st;
	int fds[3], n = 0;

	if (c->c_restore) {
		/* Create with a checkpoint runs nothing; Start restores. */
		proc_step(p, EV_OK, NULL);
		task_ev_create_done(c->c_create_ev, 0);
		task_reply_pid(pk->pk_ref, 0);
		parked_give(pk);
		return;
	}
	pidfile = scratch_printf("%s/init.pid", c->c_bundle);
	args[n++] = "create";
	args[n++] = "--bundle";
	args[n++] = c->c_bundle;
	args[n++] = "--pid-file";
	args[n++] = pidfile;
	if (io_console_path(p->p_io)) {
		args[n++] = "--console-socket";
		args[n++] = io_console_path(p->p_io);
	}
	if (c->c_no_pivot)
		args[n++] = "--no-pivot";
	if (c->c_no_new_keyring)
		args[n++] = "--no-new-keyring";
	args[n++] = c->c_id;
	args[n] = NULL;
	io_child_fds(p->p_io, fds);
	reaper_hold();
	if (proc_runc(p, pk, 0, args, fds, pk->pk_timeout_ms, st) < 0) {
		reaper_release();
		create_failed(p, pk, st);
	}
}

static void
create_done(struct proc *p, struct parked *pk, int status, const char *out,
    size_t len)
{
	struct ctr *c = ctr_of(p);
	char *path, *msg = scratch_alloc(512);
	struct status *st = &proc_st;
	pid_t pid = 0;
	int e;

	reaper_release();
	if (status != 0) {
		runc_error_text(st->st_msg, sizeof(st->st_msg),
		    "OCI runtime create failed", c->c_ro.ro_log, c->c_ro.ro_bin, status, out,
		    len);
		st->st_code = GRPC_UNKNOWN;
		create_failed(p, pk, st);
		return;
	}
	path = scratch_printf("%s/init.pid", c->c_bundle);
	e = read_pidfile(path, &pid);
	if (e == 0)
		e = io_start(p->p_io, msg, 512);
	else
		snprintf(msg, 512, "read init.pid: %s", strerror(-e));
	if (e < 0) {
		status_set(st, GRPC_UNKNOWN, "%s", msg);
		/* runc made a container: take it down again. */
		proc_runc(p, NULL, OP_KILLALL,
		    (const char *[]){ "delete", "--force", c->c_id, NULL },
		    NULL, 0, NULL);
		create_failed(p, pk, st);
		return;
	}
	/* The claim may find an exit that came first. */
	reaper_hold();
	proc_set_pid(p, pid);
	reaper_release();
	if (cgroup_locate(pid, &c->c_cg) < 0)
		log_debug("%s: no cgroup found for pid %d", c->c_id, (int)pid);
	proc_step(p, EV_OK, NULL);
	task_ev_create_done(c->c_create_ev, (uint32_t)pid);
	task_reply_pid(pk->pk_ref, (uint32_t)pid);
	parked_give(pk);
	if (p->p_held) {
		p->p_held = false;
		proc_exited(p, p->p_held_status, &p->p_held_when);
	}
}

/* io says the logging binary is ready (or failed) for p's pending op. */
static void
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
			task_reply_error(pk->pk_ref, st);
			parked_give(pk);
		}
		return;
	}
	if (p->p_init)
		proc_start_runc(p, pk);
	else
		exec_spawn(p, pk);
}

/* --- Start -------------------------------------------------------------- */

static int
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
	task_reply_error(pk->pk_ref, st);
	parked_give(pk);
}

static void
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

static void
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
	task_ev_exec_started(c->c_id, p->p_eid, (uint32_t)pid);
	task_reply_pid(pk->pk_ref, (uint32_t)pid);
	parked_give(pk);
	if (p->p_held) {
		p->p_held = false;
		proc_exited(p, p->p_held_status, &p->p_held_when);
	}
}

int
proc_start(const char *id, const char *exec_id, struct ttrpc_ref ref,
    int64_t timeout_ms, struct status *st)
{
	struct proc *p = proc_lookup(id, exec_id, st);
	char *pidfile, *work;
	const char *args[24];
	struct parked *pk;
	struct ctr *c;
	int fds[3], n = 0;

	if (p == NULL)
		return -1;
	if (!p->p_init)
		return exec_start(p, ref, timeout_ms, st);
	c = ctr_of(p);
	if (proc_step(p, EV_START, st) < 0)
		return -1;
	pk = parked_take(PK_OP, c->c_restore ? OP_RESTORE : OP_START, ref, p,
	    st);
	if (pk == NULL) {
		proc_step(p, EV_FAIL, NULL);
		return -1;
	}
	if (!c->c_restore) {
		args[n++] = "start";
		args[n++] = c->c_id;
		args[n] = NULL;
		if (proc_runc(p, pk, 0, args, NULL, timeout_ms, st) < 0)
			goto out_fail;
		return PROC_PARKED;
	}
	pidfile = scratch_printf("%s/init.pid", c->c_bundle);
	if (*c->c_criu_work)
		work = scratch_printf("%s", c->c_criu_work);
	else
		work = scratch_printf("%s/work", c->c_bundle);
	args[n++] = "restore";
	args[n++] = "--image-path";
	args[n++] = c->c_checkpoint;
	args[n++] = "--work-path";
	args[n++] = work;
	if (*c->c_parent_cp) {
		args[n++] = "--parent-path";
		args[n++] = c->c_parent_cp;
	}
	args[n++] = "--detach";
	args[n++] = "--pid-file";
	args[n++] = pidfile;
	if (io_console_path(p->p_io)) {
		args[n++] = "--console-socket";
		args[n++] = io_console_path(p->p_io);
	}
	if (c->c_no_pivot)
		args[n++] = "--no-pivot";
	args[n++] = "-no-subreaper";
	args[n++] = "--bundle";
	args[n++] = c->c_bundle;
	args[n++] = c->c_id;
	args[n] = NULL;
	io_child_fds(p->p_io, fds);
	reaper_hold();
	if (proc_runc(p, pk, 0, args, fds, timeout_ms, st) < 0) {
		reaper_release();
		goto out_fail;
	}
	return PROC_PARKED;

out_fail:
	proc_step(p, EV_FAIL, NULL);
	parked_give(pk);
	return -1;
}

/* The init runs: watch for OOM, tell containerd. */
static void
init_started(struct proc *p)
{
	struct ctr *c = ctr_of(p);
	int e;

	if (c->c_cg.cr_valid) {
		e = oom_watch(pool_handle(&ctr_pool, c), &c->c_cg, &c->c_oom);
		if (e < 0)
			log_debug("%s: no OOM watch: %s", c->c_id,
			    strerror(-e));
		cgroup_enable_controllers(&c->c_cg);
	}
	task_ev_start(c->c_id, (uint32_t)p->p_pid);
}

static void
start_done(struct proc *p, struct parked *pk, int status, const char *out,
    size_t len)
{
	struct ctr *c = ctr_of(p);
	struct status *st = &proc_st;

	if (status != 0) {
		runc_error_text(st->st_msg, sizeof(st->st_msg),
		    "OCI runtime start failed", c->c_ro.ro_log, c->c_ro.ro_bin, status, out,
		    len);
		st->st_code = GRPC_UNKNOWN;
		proc_step(p, EV_FAIL, NULL);
		task_reply_error(pk->pk_ref, st);
		parked_give(pk);
	} else {
		proc_step(p, EV_OK, NULL);
		init_started(p);
		task_reply_pid(pk->pk_ref, (uint32_t)p->p_pid);
		parked_give(pk);
	}
	if (p->p_held) {
		p->p_held = false;
		proc_exited(p, p->p_held_status, &p->p_held_when);
	}
}

static void
restore_done(struct proc *p, struct parked *pk, int status, const char *out,
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
		    "OCI runtime restore failed", c->c_ro.ro_log, c->c_ro.ro_bin, status, out,
		    len);
		st->st_code = GRPC_UNKNOWN;
		proc_step(p, EV_FAIL, NULL);
		task_reply_error(pk->pk_ref, st);
		parked_give(pk);
		return;
	}
	path = scratch_printf("%s/init.pid", c->c_bundle);
	e = read_pidfile(path, &pid);
	if (e == 0)
		e = io_start(p->p_io, msg, 512);
	else
		snprintf(msg, 512, "read init.pid: %s", strerror(-e));
	if (e < 0) {
		reaper_release();
		status_set(st, GRPC_UNKNOWN, "%s", msg);
		proc_step(p, EV_FAIL, NULL);
		task_reply_error(pk->pk_ref, st);
		parked_give(pk);
		return;
	}
	proc_set_pid(p, pid);
	reaper_release();
	cgroup_locate(pid, &c->c_cg);
	c->c_restore = false;
	proc_step(p, EV_OK, NULL);
	init_started(p);
	task_reply_pid(pk->pk_ref, (uint32_t)pid);
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
	task_ev_exec_added(c->c_id, p->p_eid);
	return 0;
}

/* --- exits -------------------------------------------------------------- */

bool
proc_reaped(pid_t pid, int status, const struct timespec *when)
{
	uint32_t i = 0;
	struct proc *p;

	while ((p = pool_iter(&proc_pool, &i)) != NULL) {
		if (p->p_pid != pid || p->p_exited || p->p_held)
			continue;
		if (p->p_state == ST_STARTING || p->p_state == ST_CREATING) {
			/* The start event must go out first. */
			p->p_held = true;
			p->p_held_status = status;
			p->p_held_when = *when;
			return true;
		}
		proc_exited(p, status, when);
		return true;
	}
	return false;
}

static void
proc_exited(struct proc *p, int status, const struct timespec *when)
{
	struct ctr *c = ctr_of(p);
	uint8_t was = p->p_state;

	p->p_exited = true;
	p->p_exit.pe_status = (uint32_t)status;
	p->p_exit.pe_sec = when->tv_sec;
	p->p_exit.pe_nsec = (int32_t)when->tv_nsec;
	proc_step(p, EV_EXITED, NULL);
	proc_pidfd_close(p);
	if (p->p_init) {
		/*
		 * Without a pid namespace the rest lives on: end it.  The exit
		 * is published once this is done (the Go shim's KillAll runs
		 * before SetExited), and the container's next runc call waits
		 * for it: a delete would find the cgroup frozen ("paused").
		 */
		if (c->c_shared_pidns &&
		    proc_runc(p, NULL, OP_KILLALL, (const char *[]){
		    "kill", "--all", c->c_id, "9", NULL }, NULL, 0,
		    NULL) == 0)
			p->p_cleanups++;
		/* A frozen cgroup would keep the rest stuck. */
		if ((was == ST_PAUSED || was == ST_PAUSING ||
		    was == ST_RESUMING) &&
		    proc_runc(p, NULL, OP_THAW, (const char *[]){
		    "resume", c->c_id, NULL }, NULL, 0, NULL) == 0)
			p->p_cleanups++;
	}
	if (p->p_io) {
		rtimer_set(&p->p_timer, pool_handle(&proc_pool, p),
		    now_ms() + EXIT_DRAIN_MS);
		io_drain(p->p_io);
	} else {
		p->p_drained = true;
		proc_try_publish(p);
	}
}

static bool
ctr_execs_running(const struct ctr *c)
{
	handle_t h = c->c_execs;
	struct proc *e;

	while ((e = pool_get(&proc_pool, h)) != NULL) {
		if ((e->p_state == ST_RUNNING || e->p_state == ST_STARTING) &&
		    !e->p_published)
			return true;
		if (e->p_exited && !e->p_published)
			return true;
		h = e->p_next;
	}
	return false;
}

static void
proc_publish(struct proc *p)
{
	struct ctr *c = ctr_of(p);

	if (p->p_init && c->c_oom)
		oom_poll(c->c_oom);
	p->p_published = true;
	task_ev_exit(c->c_id, proc_id(p), (uint32_t)p->p_pid, &p->p_exit);
	proc_release_waiters(p, &p->p_exit);
}

static void delete_go(struct proc *p, struct parked *pk);

static void
proc_try_publish(struct proc *p)
{
	struct ctr *c = ctr_of(p);
	struct parked *pk;
	struct proc *init;

	if (p->p_published || !p->p_exited || !p->p_drained ||
	    p->p_cleanups > 0)
		return;
	/* The init's exit follows those of the execs that were running. */
	if (p->p_init && ctr_execs_running(c))
		goto out;
	proc_publish(p);
	if (!p->p_init) {
		init = init_of(c);
		if (init && init->p_exited && !init->p_published)
			proc_try_publish(init);
	}
out:
	pk = pool_get(&parked_pool, p->p_pending);
	if (pk && pk->pk_op == OP_DELETE) {
		p->p_pending = HANDLE_NONE;
		delete_go(p, pk);
	}
}

static void
proc_io_drained(handle_t owner)
{
	struct proc *p = pool_get(&proc_pool, owner);

	if (p == NULL || p->p_drained)
		return;
	rtimer_cancel(&p->p_timer);
	p->p_drained = true;
	proc_try_publish(p);
}

static void
proc_event(handle_t h, uint32_t events)
{
	struct proc *p = pool_get(&proc_pool, h);

	if (p == NULL)
		return;
	if (events != REACTOR_TIMEOUT) {
		pidfd_event(h, events);
		return;
	}
	if (p->p_exited && !p->p_drained) {
		log_info("%s: output not drained after %u ms; publishing exit",
		    proc_id(p), EXIT_DRAIN_MS);
		p->p_drained = true;
		proc_try_publish(p);
	}
}

/* --- Delete ------------------------------------------------------------- */

int
proc_delete(const char *id, const char *exec_id, struct ttrpc_ref ref,
    struct status *st)
{
	struct proc *p = proc_lookup(id, exec_id, st);
	struct parked *pk;

	if (p == NULL)
		return -1;
	if (proc_step(p, EV_DELETE, st) < 0)
		return -1;
	pk = parked_take(PK_OP, OP_DELETE, ref, p, st);
	if (pk == NULL) {
		proc_step(p, EV_FAIL, NULL);
		return -1;
	}
	/* Output first: wait (up to the drain timer) for the copies. */
	if (p->p_exited && !p->p_drained) {
		p->p_pending = pool_handle(&parked_pool, pk);
		return PROC_PARKED;
	}
	delete_go(p, pk);
	return PROC_PARKED;
}

static void
delete_go(struct proc *p, struct parked *pk)
{
	struct ctr *c = ctr_of(p);
	struct status *st = &proc_st;

	if (!p->p_init) {
		proc_finish_delete(p, pk);
		return;
	}
	if (proc_runc(p, pk, 0, (const char *[]){ "delete", c->c_id, NULL },
	    NULL, 0, st) < 0) {
		proc_step(p, EV_FAIL, NULL);
		task_reply_error(pk->pk_ref, st);
		parked_give(pk);
	}
}

static void
delete_done(struct proc *p, struct parked *pk, int status, const char *out,
    size_t len)
{
	struct ctr *c = ctr_of(p);
	struct status *st = &proc_st;

	if (status != 0) {
		runc_error_text(st->st_msg, sizeof(st->st_msg),
		    "failed to delete task", c->c_ro.ro_log, c->c_ro.ro_bin, status, out, len);
		/* Already gone is what we wanted. */
		if (strstr(st->st_msg, "does not exist") == NULL) {
			st->st_code = GRPC_UNKNOWN;
			proc_step(p, EV_FAIL, NULL);
			task_reply_error(pk->pk_ref, st);
			parked_give(pk);
			return;
		}
	}
	proc_finish_delete(p, pk);
}

static void
proc_finish_delete(struct proc *p, struct parked *pk)
{
	struct ctr *c = ctr_of(p);
	char *path;
	struct proc_exit ex;
	struct timespec now;
	handle_t *link;

	if (p->p_init) {
		struct proc *e;
		handle_t h;

		if (!p->p_exited && p->p_pid > 0) {
			/*
			 * A created container that never ran: runc delete
			 * killed its init.  Publish that now so TaskExit
			 * still comes before TaskDelete.
			 */
			clock_gettime(CLOCK_REALTIME, &now);
			p->p_exited = true;
			p->p_exit.pe_status = 128 + SIGKILL;
			p->p_exit.pe_sec = now.tv_sec;
			p->p_exit.pe_nsec = (int32_t)now.tv_nsec;
		}
		for (h = c->c_execs; (e = pool_get(&proc_pool, h)) != NULL;
		    h = e->p_next)
			if (e->p_exited && !e->p_published)
				proc_publish(e);
		if (p->p_exited && !p->p_published)
			proc_publish(p);
		path = scratch_printf("%s/rootfs", c->c_bundle);
		if (mount_unmount_all(path) < 0)
			log_warn("unmount %s", path);
		ex = p->p_exit;
		task_ev_delete(c->c_id, (uint32_t)p->p_pid, &ex);
		task_reply_delete(pk->pk_ref, (uint32_t)p->p_pid, &ex);
		parked_give(pk);
		ctr_free(c);
		return;
	}
	if (p->p_exited && !p->p_published)
		proc_publish(p);
	ex = p->p_exit;
	task_reply_delete(pk->pk_ref, (uint32_t)p->p_pid, &ex);
	parked_give(pk);
	path = scratch_printf("%s/%s.pid", c->c_bundle, p->p_eid);
	unlink(path);
	for (link = &c->c_execs; *link; ) {
		struct proc *e = pool_get(&proc_pool, *link);

		if (e == p) {
			*link = p->p_next;
			break;
		}
		link = &e->p_next;
	}
	c->c_nexecs--;
	proc_free(p);
	/* The init may have been waiting for this exec. */
	if ((p = init_of(c)) != NULL)
		proc_try_publish(p);
}

/* --- Kill, Pause, Resume, Update, Checkpoint, Pids ------------------------ */

static bool
has_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

int
proc_kill(const char *id, const char *exec_id, uint32_t sig, bool all,
    struct ttrpc_ref ref, struct status *st)
{
	struct proc *p = proc_lookup(id, exec_id, st);
	struct parked *pk;
	char signo[16];
	const char *args[8];
	int n = 0;

	if (p == NULL)
		return -1;
	if (proc_step(p, EV_KILL, st) < 0)
		return -1;
	if (p->p_exited)
		return status_set(st, GRPC_NOT_FOUND,
		    "process already finished: not found");
	if (!p->p_init) {
		if (kill(p->p_pid, (int)sig) == 0)
			return 0;
		if (errno == ESRCH)
			return status_set(st, GRPC_NOT_FOUND,
			    "process already finished: not found");
		return status_set(st, GRPC_UNKNOWN, "exec kill error: %s",
		    strerror(errno));
	}
	pk = parked_take(PK_OP, OP_KILL, ref, p, st);
	if (pk == NULL)
		return -1;
	snprintf(signo, sizeof(signo), "%u", sig);
	args[n++] = "kill";
	if (all)
		args[n++] = "--all";
	args[n++] = ctr_of(p)->c_id;
	args[n++] = signo;
	args[n] = NULL;
	if (proc_runc(p, pk, 0, args, NULL, 0, st) < 0) {
		parked_give(pk);
		return -1;
	}
	return PROC_PARKED;
}

static void
kill_done(struct proc *p, struct parked *pk, int status, const char *out,
    size_t len)
{
	struct ctr *c = ctr_of(p);
	char *msg = scratch_alloc(1024);
	struct status *st = &proc_st;

	if (status == 0) {
		task_reply_empty(pk->pk_ref);
		parked_give(pk);
		return;
	}
	runc_error_text(msg, 1024, "runc", c->c_ro.ro_log, c->c_ro.ro_bin,
	    status, out,
	    len);
	if (has_ci(msg, "os: process already finished") ||
	    has_ci(msg, "container not running") ||
	    has_ci(msg, "no such process"))
		status_set(st, GRPC_NOT_FOUND,
		    "process already finished: not found");
	else if (has_ci(msg, "does not exist"))
		status_set(st, GRPC_NOT_FOUND, "no such container: not found");
	else
		status_set(st, GRPC_UNKNOWN, "unknown error after kill: %s",
		    msg + 6);
	task_reply_error(pk->pk_ref, st);
	parked_give(pk);
}

int
proc_pause(const char *id, bool resume, struct ttrpc_ref ref,
    struct status *st)
{
	struct proc *p = proc_lookup(id, NULL, st);
	struct parked *pk;

	if (p == NULL)
		return -1;
	if (proc_step(p, resume ? EV_RESUME : EV_PAUSE, st) < 0)
		return -1;
	pk = parked_take(PK_OP, resume ? OP_RESUME : OP_PAUSE, ref, p, st);
	if (pk == NULL) {
		proc_step(p, EV_FAIL, NULL);
		return -1;
	}
	if (proc_runc(p, pk, 0, (const char *[]){ resume ? "resume" : "pause",
	    ctr_of(p)->c_id, NULL }, NULL, 0, st) < 0) {
		proc_step(p, EV_FAIL, NULL);
		parked_give(pk);
		return -1;
	}
	return PROC_PARKED;
}

static void
pause_done(struct proc *p, struct parked *pk, int status, const char *out,
    size_t len)
{
	struct ctr *c = ctr_of(p);
	bool resume = pk->pk_op == OP_RESUME;
	struct status *st = &proc_st;

	if (status != 0) {
		runc_error_text(st->st_msg, sizeof(st->st_msg), resume ?
		    "OCI runtime resume failed" : "OCI runtime pause failed",
		    c->c_ro.ro_log, c->c_ro.ro_bin, status, out, len);
		st->st_code = GRPC_UNKNOWN;
		proc_step(p, EV_FAIL, NULL);
		task_reply_error(pk->pk_ref, st);
		parked_give(pk);
		return;
	}
	if (p->p_state == ST_PAUSING || p->p_state == ST_RESUMING) {
		proc_step(p, EV_OK, NULL);
		if (resume)
			task_ev_resumed(c->c_id);
		else
			task_ev_paused(c->c_id);
	}
	task_reply_empty(pk->pk_ref);
	parked_give(pk);
}

int
proc_update(const char *id, const uint8_t *res, uint32_t len,
    struct ttrpc_ref ref, struct status *st)
{
	struct proc *p = proc_lookup(id, NULL, st);
	char *path;
	struct parked *pk;
	struct ctr *c;
	int fd;

	if (p == NULL)
		return -1;
	if (proc_step(p, EV_UPDATE, st) < 0)
		return -1;
	c = ctr_of(p);
	pk = parked_take(PK_OP, OP_UPDATE, ref, p, st);
	if (pk == NULL)
		return -1;
	pk->pk_seq = ++c->c_seq;
	/* runc update reads the resources JSON from a file we name. */
	path = scratch_printf("%s/.nanoshim-update-%u.json",
	    c->c_bundle, pk->pk_seq);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, res, len) != (ssize_t)len) {
		status_errno(st, -errno, "write %s", path);
		if (fd >= 0)
			close(fd);
		unlink(path);
		parked_give(pk);
		return -1;
	}
	close(fd);
	if (proc_runc(p, pk, 0, (const char *[]){ "update", "--resources",
	    path, c->c_id, NULL }, NULL, 0, st) < 0) {
		unlink(path);
		parked_give(pk);
		return -1;
	}
	return PROC_PARKED;
}

static void
update_done(struct proc *p, struct parked *pk, int status, const char *out,
    size_t len)
{
	struct ctr *c = ctr_of(p);
	char *path;
	struct status *st = &proc_st;

	path = scratch_printf("%s/.nanoshim-update-%u.json",
	    c->c_bundle, pk->pk_seq);
	unlink(path);
	if (status == 0) {
		task_reply_empty(pk->pk_ref);
	} else {
		runc_error_text(st->st_msg, sizeof(st->st_msg),
		    "OCI runtime update failed", c->c_ro.ro_log, c->c_ro.ro_bin, status, out,
		    len);
		st->st_code = GRPC_UNKNOWN;
		task_reply_error(pk->pk_ref, st);
	}
	parked_give(pk);
}

/*
 * Remove a directory tree (criu's work dir) with getdents64, no opendir.
 * Each level lists into its own scratch buffer; after an entry is removed
 * the listing starts over (the offsets it had are no longer valid), until
 * a pass removes nothing.
 */
static void
rmtree_at(int dfd, const char *name, int depth)
{
	size_t mark = scratch_mark();
	char *buf = scratch_alloc(4096);
	bool again = true;
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT || depth > 16)
		goto out;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd < 0)
		goto out;
	while (again) {
		long n, off = 0;

		again = false;
		lseek(fd, 0, SEEK_SET);
		n = syscall(SYS_getdents64, fd, buf, 4096);
		while (n > 0 && off < n) {
			struct dent {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (struct dent *)(buf + off);

			off += d->reclen;
			if (strcmp(d->name, ".") == 0 ||
			    strcmp(d->name, "..") == 0)
				continue;
			if (unlinkat(fd, d->name, 0) == 0) {
				again = true;	/* progress: list again */
				continue;
			}
			if (errno == EISDIR || errno == EPERM) {
				rmtree_at(fd, scratch_copy(d->name,
				    strlen(d->name)), depth + 1);
				again = true;
				break;		/* buf was reused below */
			}
		}
		if (n <= 0)
			break;
	}
	close(fd);
	unlinkat(dfd, name, AT_REMOVEDIR);
out:
	scratch_back(mark);
}

int
proc_checkpoint(const struct proc_checkpoint *pk_in, struct ttrpc_ref ref,
    struct status *st)
{
	struct proc *p = proc_lookup(pk_in->pk_id, NULL, st);
	char *work;
	const char *args[48];
	struct parked *pk;
	struct ctr *c;
	unsigned i;
	int n = 0;

	if (p == NULL)
		return -1;
	if (proc_step(p, EV_CHECKPOINT, st) < 0)
		return -1;
	c = ctr_of(p);
	pk = parked_take(PK_OP, OP_CHECKPOINT, ref, p, st);
	if (pk == NULL)
		return -1;
	if (pk_in->pk_work_path && *pk_in->pk_work_path) {
		work = scratch_printf("%s", pk_in->pk_work_path);
	} else {
		work = scratch_printf("%s/work/criu-work",
		    c->c_bundle);
		pk->pk_seq = 1;		/* ours: removed afterwards */
	}
	/* The completion needs it again (criu's dump.log is in there). */
	snprintf(c->c_ckpt_work, sizeof(c->c_ckpt_work), "%s", work);
	args[n++] = "checkpoint";
	/* The request's path, as the Go shim (image_path is not used). */
	args[n++] = "--image-path";
	args[n++] = pk_in->pk_path;
	args[n++] = "--work-path";
	args[n++] = work;
	if (pk_in->pk_open_tcp)
		args[n++] = "--tcp-established";
	if (pk_in->pk_ext_unix)
		args[n++] = "--ext-unix-sk";
	if (pk_in->pk_terminal)
		args[n++] = "--shell-job";
	if (pk_in->pk_file_locks)
		args[n++] = "--file-locks";
	if (pk_in->pk_cgroups_mode && *pk_in->pk_cgroups_mode) {
		args[n++] = "--manage-cgroups-mode";
		args[n++] = pk_in->pk_cgroups_mode;
	}
	for (i = 0; i < pk_in->pk_nempty_ns; i++) {
		args[n++] = "--empty-ns";
		args[n++] = pk_in->pk_empty_ns[i];
	}
	if (!pk_in->pk_exit)
		args[n++] = "--leave-running";
	args[n++] = c->c_id;
	args[n] = NULL;
	if (proc_runc(p, pk, 0, args, NULL, 0, st) < 0) {
		parked_give(pk);
		return -1;
	}
	return PROC_PARKED;
}

static void
copy_file(const char *from, const char *to)
{
	char *buf = scratch_alloc(16384);
	int in, out;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	while (out >= 0 && (n = read(in, buf, 16384)) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (out >= 0)
		close(out);
	close(in);
}

static void
checkpoint_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len)
{
	struct ctr *c = ctr_of(p);
	char *work, *from, *to;
	struct status *st = &proc_st;
	size_t k = 0;

	work = c->c_ckpt_work;
	if (status == 0) {
		task_reply_empty(pk->pk_ref);
	} else {
		from = scratch_printf("%.4000s/dump.log", work);
		to = scratch_printf("%.4000s/criu-dump.log",
		    c->c_bundle);
		copy_file(from, to);
		/* The first line of runc's output, as the Go shim shows. */
		while (k < len && out[k] != '\n')
			k++;
		status_set(st, GRPC_UNKNOWN, "%s did not terminate "
		    "successfully: exit status %d: %.*s path= %s",
		    *c->c_ro.ro_bin ? c->c_ro.ro_bin : "runc", status, (int)k,
		    out, to);
		task_reply_error(pk->pk_ref, st);
	}
	if (pk->pk_seq == 1)
		rmtree_at(AT_FDCWD, work, 0);
	parked_give(pk);
}

int
proc_pids(const char *id, struct ttrpc_ref ref, struct status *st)
{
	struct proc *p = proc_lookup(id, NULL, st);
	struct parked *pk;

	if (p == NULL)
		return -1;
	pk = parked_take(PK_OP, OP_PS, ref, p, st);
	if (pk == NULL)
		return -1;
	if (proc_runc(p, pk, 0, (const char *[]){ "ps", "--format", "json",
	    ctr_of(p)->c_id, NULL }, (const int[]){ RUNC_NULL, RUNC_CAPTURE,
	    RUNC_NULL }, 0, st) < 0) {
		parked_give(pk);
		return -1;
	}
	return PROC_PARKED;
}

static void
ps_done(struct proc *p, struct parked *pk, int status, const char *out,
    size_t len)
{
	struct ctr *c = ctr_of(p);
	struct status *st = &proc_st;

	if (status == 0) {
		task_reply_pids(pk->pk_ref, c->c_id, out, len);
	} else {
		runc_error_text(st->st_msg, sizeof(st->st_msg),
		    "failed to get pids", c->c_ro.ro_log, c->c_ro.ro_bin, status, out, len);
		st->st_code = GRPC_UNKNOWN;
		task_reply_error(pk->pk_ref, st);
	}
	parked_give(pk);
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

static void
proc_oom(handle_t owner)
{
	struct ctr *c = pool_get(&ctr_pool, owner);

	if (c)
		task_ev_oom(c->c_id);
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
