/*
 * proc - containers and their processes: the init and its execs.
 *
 * Owns: the container and process objects, the lifecycle state table
 * (rows: states, columns: events), exit status and time, waiters, the
 * order of exit-related work (hold an exit until its start event is out,
 * drain output, kill the rest when the init dies without a pid namespace,
 * hold the init's exit until its execs are reaped), and which runc command
 * each call needs.  Does not own: protobuf (task converts at the edge),
 * fds of stdio (io), runc argv (runc).
 *
 * Mirrors pkg/process/init.go, init_state.go, exec.go, exec_state.go and
 * runtime/v2/runc/task/service.go (spec 3.3-3.4, 7).
 *
 * Calls that answer later take a ttrpc_ref and return PROC_PARKED; the
 * reply is sent when runc is done, through the reply functions task
 * registered at startup (proc_replies: proc is below task and never
 * includes it).  All others return 0, or -1 with st filled.  Events go
 * out through taskev, below proc.
 */
#ifndef NS_PROC_H
#define NS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "pool.h"
#include "status.h"
#include "ttrpc.h"

#define PROC_PARKED 1

/* Status as containerd.v1.types.Status numbers it. */
enum proc_status {
	PS_UNKNOWN = 0,
	PS_CREATED = 1,
	PS_RUNNING = 2,
	PS_STOPPED = 3,
	PS_PAUSED = 4,
	PS_PAUSING = 5,
};

/* An exit: status and time; "never" is Go's zero time. */
struct proc_exit {
	uint32_t pe_status;
	int64_t pe_sec;
	int32_t pe_nsec;
};
#define PROC_ZERO_SEC (-62135596800LL)

struct proc_create {
	const char *pc_id, *pc_bundle;
	const char *pc_stdin, *pc_stdout, *pc_stderr;
	bool pc_terminal;
	const char *pc_checkpoint, *pc_parent_checkpoint;
	/* containerd.runc.v1.Options */
	const char *pc_bin, *pc_root, *pc_criu, *pc_criu_work;
	bool pc_systemd, pc_no_pivot, pc_no_new_keyring;
	uint32_t pc_io_uid, pc_io_gid;
	bool pc_mounted;		/* task mounted the rootfs */
	int64_t pc_event;		/* TaskCreate's reserved queue ticket */
	int64_t pc_timeout_ms;
};

struct proc_exec {
	const char *px_id, *px_exec_id;
	const char *px_stdin, *px_stdout, *px_stderr;
	bool px_terminal;
	const uint8_t *px_spec;		/* OCI Process JSON */
	uint32_t px_spec_len;
};

struct proc_state {
	const char *ps_id;		/* exec id, or container id */
	const char *ps_bundle;
	uint32_t ps_pid;
	enum proc_status ps_status;
	const char *ps_stdin, *ps_stdout, *ps_stderr;
	bool ps_terminal;
	struct proc_exit ps_exit;
};

struct proc_checkpoint {
	const char *pk_id, *pk_path;
	bool pk_exit, pk_open_tcp, pk_ext_unix, pk_terminal, pk_file_locks;
	const char *pk_empty_ns[16];
	unsigned pk_nempty_ns;
	/* image_path is not used: the request's path is (as the Go shim). */
	const char *pk_cgroups_mode, *pk_work_path;
};

/*
 * The replies to parked calls that carry a message, encoded by task (the
 * protobuf edge).  task registers them before the loop runs, the way
 * reactor handlers are registered: proc answers through them and so
 * calls only downward.  An empty reply or an error proc sends through
 * ttrpc itself.
 */
struct proc_replies {
	/* CreateTaskResponse / StartResponse: {pid} */
	void (*pr_pid)(struct ttrpc_ref ref, uint32_t pid);
	void (*pr_wait)(struct ttrpc_ref ref, const struct proc_exit *ex);
	void (*pr_delete)(struct ttrpc_ref ref, uint32_t pid,
	    const struct proc_exit *ex);
	/* Pids: runc ps output (a JSON array of pids) for container id. */
	void (*pr_pids)(struct ttrpc_ref ref, const char *id,
	    const char *json, size_t len);
};
void proc_replies(const struct proc_replies *r);

void proc_init(uint32_t max_ctrs, uint32_t max_procs, uint32_t max_parked,
    const char *ns);
/*
 * The deadline of the request being served (ms, 0: none), set by task
 * around each call: a runc command a parked call starts is killed when it
 * passes, as the Go shim's exec.CommandContext does.
 */
void proc_call_timeout(int64_t ms);

int proc_create(const struct proc_create *pc, struct ttrpc_ref ref,
    struct status *st);
int proc_start(const char *id, const char *exec_id, struct ttrpc_ref ref,
    int64_t timeout_ms, struct status *st);
int proc_delete(const char *id, const char *exec_id, struct ttrpc_ref ref,
    struct status *st);
int proc_exec(const struct proc_exec *px, struct status *st);
int proc_kill(const char *id, const char *exec_id, uint32_t sig, bool all,
    struct ttrpc_ref ref, struct status *st);
int proc_pause(const char *id, bool resume, struct ttrpc_ref ref,
    struct status *st);
int proc_update(const char *id, const uint8_t *res, uint32_t len,
    struct ttrpc_ref ref, struct status *st);
int proc_checkpoint(const struct proc_checkpoint *pk, struct ttrpc_ref ref,
    struct status *st);
int proc_pids(const char *id, struct ttrpc_ref ref, struct status *st);
int proc_state(const char *id, const char *exec_id, struct proc_state *out,
    struct status *st);
int proc_wait(const char *id, const char *exec_id, struct ttrpc_ref ref,
    struct proc_exit *now, struct status *st);
int proc_close_io(const char *id, const char *exec_id, struct status *st);
int proc_resize(const char *id, const char *exec_id, uint32_t w, uint32_t h,
    struct status *st);
/* The init pid for Connect (0 if unknown id) and for Stats. */
uint32_t proc_init_pid(const char *id);
/* Is the id in use, by a live container or one being created? */
bool proc_id_taken(const char *id);
/* Is the container known (for Stats' lookup error)? */
bool proc_known(const char *id);
/* The container's cgroup, or NULL when none was found (Stats). */
const struct cgroup_ref *proc_cgroup(const char *id);
/* The exec id owning pid in container id, or NULL. */
const char *proc_exec_of_pid(const char *id, uint32_t pid);
/* Containers registered (Shutdown is a no-op while > 0). */
uint32_t proc_count(void);
/* A connection closed: forget its waiters. */
void proc_conn_closed(handle_t conn);
/* A reaped pid: true if it was one of our processes (reaper route). */
bool proc_reaped(pid_t pid, int status, const struct timespec *when);

#endif
