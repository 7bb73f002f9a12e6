/*
 * proc_impl.h - the inside of proc, shared by its files and no one else.
 *
 * proc is one module in five files (proc.c, proc_ctr.c, proc_exec.c,
 * proc_exit.c, proc_ops.c); this header is what they share: the states,
 * events and operations of the lifecycle, the container, process and
 * parked-call objects and their pools, and the functions one file calls
 * in another.  Only proc*.c include it (tools/layers.py checks that);
 * every other module sees proc.h.
 */
#ifndef NS_PROC_IMPL_H
#define NS_PROC_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "bounds.h"
#include "cgroup.h"
#include "pool.h"
#include "proc.h"
#include "reactor.h"
#include "runc.h"
#include "status.h"
#include "ttrpc.h"

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

/* proc.c: the pools, and the status a completion answers with. */
extern struct pool ctr_pool, proc_pool, parked_pool;
extern struct status proc_st;
extern const char *proc_ns;

/*
 * proc.c: answering a parked call.  Replies with a message go through
 * what task registered (proc_replies); an empty one or an error needs no
 * encoding and goes straight to ttrpc.
 */
extern struct proc_replies proc_rp;

static inline void
proc_reply_empty(struct ttrpc_ref ref)
{
	ttrpc_reply(ref, NULL, NULL);
}

static inline void
proc_reply_error(struct ttrpc_ref ref, const struct status *st)
{
	ttrpc_reply_status(ref, st->st_code, st->st_msg);
}

/* proc.c: objects, lookups, the state table, parked calls, runc. */
const char *str_put(char *area, size_t cap, uint32_t *used, const char *s);
struct ctr *ctr_of(const struct proc *p);
struct proc *init_of(const struct ctr *c);
const char *proc_id(const struct proc *p);
struct ctr *ctr_find(const char *id, bool creating_too);
struct proc *exec_find(const struct ctr *c, const char *eid);
struct proc *proc_lookup(const char *id, const char *eid, struct status *st);
int proc_step(struct proc *p, enum pev ev, struct status *st);
struct parked *parked_take(uint8_t kind, uint8_t op, struct ttrpc_ref ref,
    struct proc *p, struct status *st);
void parked_give(struct parked *pk);
int proc_runc(struct proc *p, struct parked *pk, uint8_t ff_op,
    const char *const *args, const int fds[3], int64_t timeout_ms,
    struct status *st);
int read_pidfile(const char *path, pid_t *out);
void exit_zero(struct proc_exit *ex);
void proc_release_waiters(struct proc *p, const struct proc_exit *ex);
void proc_free(struct proc *p);
void ctr_free(struct ctr *c);
int proc_io_open(struct proc *p, struct parked *pk, struct status *st);
void proc_io_ready(handle_t owner, int err, const char *msg);

/*
 * proc_ctr.c.  Each *_done is the completion of the runc call a parked op
 * made (proc_runc_done routes it): runc's exit status and its output.
 */
void create_failed(struct proc *p, struct parked *pk,
    const struct status *st);
void proc_start_runc(struct proc *p, struct parked *pk);
void create_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len);
void start_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len);
void restore_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len);
void delete_go(struct proc *p, struct parked *pk);
void delete_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len);

/* proc_exec.c */
int exec_start(struct proc *p, struct ttrpc_ref ref, int64_t timeout_ms,
    struct status *st);
void exec_spawn(struct proc *p, struct parked *pk);
void exec_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len);

/* proc_exit.c */
void proc_set_pid(struct proc *p, pid_t pid);
void proc_pidfd_close(struct proc *p);
void proc_exited(struct proc *p, int status, const struct timespec *when);
void proc_publish(struct proc *p);
void proc_try_publish(struct proc *p);
void proc_io_drained(handle_t owner);
void proc_event(handle_t h, uint32_t events);
void proc_oom(handle_t owner);

/* proc_ops.c */
void kill_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len);
void pause_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len);
void update_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len);
void checkpoint_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len);
void ps_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len);

#endif
