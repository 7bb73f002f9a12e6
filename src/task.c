/*
 * task - the Task service; see task.h.
 *
 * Mirrors runtime/v2/runc/task/service.go: decode, validate, hand plain
 * values to proc, encode what comes back.  Every request is decoded into
 * one static union and every reply built in static storage: nothing here
 * lives past the call except what proc copied into its slots.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pb_encode.h>

#include "layout.h"
#include "bounds.h"
#include "cgroup.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "mount.h"
#include "pbs.h"
#include "proc.h"
#include "scratch.h"
#include "status.h"
#include "task.h"
#include "ttrpc.h"

#include "containerd/events/task.pb.h"
#include "containerd/runc/v1/oci.pb.h"
#include "containerd/task/v2/shim.pb.h"
#include "containerd/types/mount.pb.h"

/*
 * musl defines stdin, stdout and stderr as macros; the Task messages have
 * fields of those names, and this file never uses the stdio streams.
 */
#undef stdin
#undef stdout
#undef stderr

#define TASK_MOUNT_OPTS	256	/* options of one mount */

static union {
	containerd_task_v2_CreateTaskRequest create;
	containerd_task_v2_StartRequest start;
	containerd_task_v2_DeleteRequest del;
	containerd_task_v2_ExecProcessRequest exec;
	containerd_task_v2_ResizePtyRequest resize;
	containerd_task_v2_StateRequest state;
	containerd_task_v2_KillRequest kill;
	containerd_task_v2_CloseIORequest closeio;
	containerd_task_v2_PidsRequest pids;
	containerd_task_v2_CheckpointTaskRequest checkpoint;
	containerd_task_v2_UpdateTaskRequest update;
	containerd_task_v2_WaitRequest wait;
	containerd_task_v2_StatsRequest stats;
	containerd_task_v2_ConnectRequest connect;
	containerd_task_v2_ShutdownRequest shutdown;
	containerd_task_v2_PauseRequest pause;
} task_req;

/* Pids' reply is the one too big for the stack. */
static union {
	containerd_task_v2_PidsResponse pids;
} task_rsp;

static struct status task_st;
static const char *task_ns;
static bool task_shutdown;
static char task_id[NS_ID_MAX + 1], task_eid[NS_ID_MAX + 1];

/* Replies with a message, for calls answered now or parked in proc. */
static void task_reply_pid(struct ttrpc_ref ref, uint32_t pid);
static void task_reply_wait(struct ttrpc_ref ref, const struct proc_exit *ex);
static void task_reply_delete(struct ttrpc_ref ref, uint32_t pid,
    const struct proc_exit *ex);
static void task_reply_pids(struct ttrpc_ref ref, const char *id,
    const char *json, size_t len);

bool
task_shutdown_requested(void)
{
	return task_shutdown;
}

/* --- validation ------------------------------------------------------------ */

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/*
 * containerd's identifier rule (pkg/identifiers): 1-76 characters,
 * [A-Za-z0-9]+ joined by single '.', '_' or '-'.  So no '/', no "..".
 */
static int
valid_id(const char *what, const struct pbs *s, char **out,
    struct status *st)
{
	uint32_t i;

	if (s->len == 0)
		return status_set(st, GRPC_INVALID_ARGUMENT,
		    "%s must not be empty: invalid argument", what);
	if (s->len > NS_ID_MAX)
		return status_set(st, GRPC_INVALID_ARGUMENT, "%s %.*s...: "
		    "identifier is longer than %u characters: invalid "
		    "argument", what, 20, (const char *)s->p, NS_ID_MAX);
	for (i = 0; i < s->len; i++) {
		char c = (char)s->p[i];

		if (is_alnum(c))
			continue;
		if ((c == '.' || c == '_' || c == '-') && i > 0 &&
		    i + 1 < s->len && is_alnum((char)s->p[i - 1]))
			continue;
		return status_set(st, GRPC_INVALID_ARGUMENT, "%s %.*s: "
		    "identifier must match [A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*"
		    ": invalid argument", what, (int)s->len,
		    (const char *)s->p);
	}
	*out = scratch_copy(s->p, s->len);
	return 0;
}

/*
 * An id used only to look something up: anything that is not a valid
 * identifier cannot name a container we have, so it is simply not found.
 */
static void
lookup_id(const struct pbs *s, char *dst)
{
	if (s->len == 0 || s->len > NS_ID_MAX ||
	    memchr(s->p, '\0', s->len)) {
		/* "\x01" never matches a stored identifier. */
		strcpy(dst, s->len ? "\x01" : "");
		return;
	}
	memcpy(dst, s->p, s->len);
	dst[s->len] = '\0';
}

/* A string field as a C string in scratch, at most cap - 1 bytes. */
static int
copy_str(const char *what, const struct pbs *s, size_t cap, char **out,
    struct status *st)
{
	if (s->len >= cap)
		return status_set(st, GRPC_INVALID_ARGUMENT, "%s is longer "
		    "than %zu bytes: invalid argument", what, cap - 1);
	if (s->len && memchr(s->p, '\0', s->len))
		return status_set(st, GRPC_INVALID_ARGUMENT, "%s holds a NUL "
		    "byte: invalid argument", what);
	*out = scratch_copy(s->p, s->len);
	return 0;
}

/* An absolute path without ".." components (bundle, checkpoint dirs). */
static int
copy_path(const char *what, const struct pbs *s, size_t cap,
    bool may_be_empty, char **out, struct status *st)
{
	const char *p;
	char *dst;

	if (copy_str(what, s, cap, out, st) < 0)
		return -1;
	dst = *out;
	if (*dst == '\0' && may_be_empty)
		return 0;
	if (*dst != '/')
		return status_set(st, GRPC_INVALID_ARGUMENT, "%s %s is not an "
		    "absolute path: invalid argument", what, dst);
	for (p = dst; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == dst || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return status_set(st, GRPC_INVALID_ARGUMENT, "%s %s "
			    "contains \"..\": invalid argument", what, dst);
	return 0;
}

/* Does an Any's type URL name msg ("x" or "type.googleapis.com/x")? */
static bool
any_is(const struct pbs *url, const char *msg)
{
	size_t n = strlen(msg);
	const uint8_t *p = url->p;
	uint32_t len = url->len;
	const uint8_t *slash = len ? memchr(p, '/', len) : NULL;

	while (slash) {
		len -= (uint32_t)(slash + 1 - p);
		p = slash + 1;
		slash = memchr(p, '/', len);
	}
	return len == n && memcmp(p, msg, n) == 0;
}

static void
reply_status(struct ttrpc_ref ref, const struct status *st)
{
	ttrpc_reply_status(ref, st->st_code, st->st_msg);
}

static bool
decode(const struct ttrpc_call *call, const pb_msgdesc_t *fields, void *dst)
{
	const char *err = NULL;
	char m[256];
	int e;

	e = pbs_decode(fields, dst, call->tc_payload, call->tc_len, &err);
	if (e == 0)
		return true;
	snprintf(m, sizeof(m), "ttrpc: error unmarshalling payload: %s", err);
	ttrpc_reply_status(call->tc_ref, e == -ENOSPC ?
	    GRPC_RESOURCE_EXHAUSTED : GRPC_INVALID_ARGUMENT, m);
	return false;
}

static int64_t
timeout_ms(const struct ttrpc_call *call)
{
	return call->tc_timeout_ns > 0 ? call->tc_timeout_ns / 1000000 + 1 : 0;
}

/* A proc result: error now, parked (answer later), or done. */
static void
finish(struct ttrpc_ref ref, int r)
{
	/* Parked: proc answers later. */
	if (r < 0)
		reply_status(ref, &task_st);
	else if (r != PROC_PARKED)
		ttrpc_reply(ref, NULL, NULL);
}

static void
ts_set(google_protobuf_Timestamp *ts, const struct proc_exit *ex)
{
	ts->seconds = ex->pe_sec;
	ts->nanos = ex->pe_nsec;
}

/* --- Create ---------------------------------------------------------------- */

/* Decode the runc options Any, if it is one. */
static int
create_options(const containerd_task_v2_CreateTaskRequest *r,
    containerd_runc_v1_Options *o, struct status *st)
{
	const char *err = NULL;

	memset(o, 0, sizeof(*o));
	if (!r->has_options || r->options.value.len == 0)
		return 0;
	if (!any_is(&r->options.type_url, "containerd.runc.v1.Options")) {
		log_warnx("create: ignoring options of type %.*s",
		    (int)r->options.type_url.len,
		    (const char *)r->options.type_url.p);
		return 0;
	}
	if (pbs_decode(containerd_runc_v1_Options_fields, o,
	    r->options.value.p, r->options.value.len, &err) < 0)
		return status_set(st, GRPC_INVALID_ARGUMENT, "decode runc "
		    "options: %s", err);
	return 0;
}

/* Mount every rootfs entry onto <bundle>/rootfs; undo all on failure. */
static int
create_mounts(const containerd_task_v2_CreateTaskRequest *r,
    const char *bundle, bool *mounted, struct status *st)
{
	const char **optv = scratch_alloc(TASK_MOUNT_OPTS * sizeof(*optv));
	char *rootfs, *type, *src, *tgt, *err = scratch_alloc(768);
	containerd_types_Mount m;
	struct pbs_iter it = { 0 }, oit;
	const uint8_t *p;
	uint32_t len;

	*mounted = false;
	if (r->rootfs.n == 0)
		return 0;
	rootfs = scratch_printf("%s/rootfs", bundle);
	if (mkdir(rootfs, 0711) < 0 && errno != EEXIST)
		return status_errno(st, -errno, "mkdir %s", rootfs);
	while (pbs_next(&r->rootfs, &it, &p, &len)) {
		size_t mark = scratch_mark();
		const uint8_t *op;
		uint32_t olen, n = 0;
		const char *derr;

		if (pbs_decode(containerd_types_Mount_fields, &m, p, len,
		    &derr) < 0) {
			status_set(st, GRPC_INVALID_ARGUMENT, "decode mount: %s",
			    derr);
			goto undo;
		}
		if (copy_str("mount type", &m.type, 256, &type, st) ||
		    copy_str("mount source", &m.source, NS_PATH_MAX, &src,
		    st) ||
		    copy_str("mount target", &m.target, NS_PATH_MAX, &tgt, st))
			goto undo;
		memset(&oit, 0, sizeof(oit));
		while (pbs_next(&m.options, &oit, &op, &olen)) {
			if (n == TASK_MOUNT_OPTS || olen >= 4 * NS_PATH_MAX ||
			    memchr(op, '\0', olen)) {
				status_set(st, GRPC_INVALID_ARGUMENT, "mount "
				    "options of %s: more than %u, or one over "
				    "%u bytes", src, TASK_MOUNT_OPTS,
				    4 * NS_PATH_MAX);
				goto undo;
			}
			optv[n++] = scratch_copy(op, olen);
		}
		if (mount_one(rootfs, type, src, tgt, optv, n, err, 768) < 0) {
			status_set(st, GRPC_UNKNOWN, "%s", err);
			goto undo;
		}
		*mounted = true;
		scratch_back(mark);
	}
	return 0;
undo:
	mount_unmount_all(rootfs);
	*mounted = false;
	return -1;
}

static void
task_create(const struct ttrpc_call *call)
{
	char *id, *bundle, *sin, *sout, *serr, *cp, *pcp, *bin, *root, *criu,
	    *criuw;
	static containerd_runc_v1_Options o;
	static containerd_events_TaskCreate ev;
	containerd_task_v2_CreateTaskRequest *r = &task_req.create;
	struct status *st = &task_st;
	struct proc_create pc;
	bool mounted = false;
	int64_t ticket;

	if (!decode(call, containerd_task_v2_CreateTaskRequest_fields, r))
		return;
	if (valid_id("container id", &r->id, &id, st) < 0 ||
	    copy_path("bundle", &r->bundle, NS_PATH_MAX, false, &bundle,
	    st) < 0 ||
	    copy_str("stdin", &r->stdin, NS_PATH_MAX, &sin, st) < 0 ||
	    copy_str("stdout", &r->stdout, NS_PATH_MAX, &sout, st) < 0 ||
	    copy_str("stderr", &r->stderr, NS_PATH_MAX, &serr, st) < 0 ||
	    copy_path("checkpoint", &r->checkpoint, NS_PATH_MAX, true, &cp,
	    st) < 0 ||
	    copy_path("parent checkpoint", &r->parent_checkpoint,
	    NS_PATH_MAX, true, &pcp, st) < 0 ||
	    create_options(r, &o, st) < 0 ||
	    copy_str("binary_name", &o.binary_name, NS_PATH_MAX, &bin, st) ||
	    copy_path("root", &o.root, NS_PATH_MAX, true, &root, st) ||
	    copy_str("criu_path", &o.criu_path, NS_PATH_MAX, &criu, st) ||
	    copy_path("criu_work_path", &o.criu_work_path, NS_PATH_MAX, true,
	    &criuw, st)) {
		reply_status(call->tc_ref, st);
		return;
	}
	if (proc_id_taken(id)) {
		status_set(st, GRPC_ALREADY_EXISTS, "container %s: already "
		    "exists", id);
		reply_status(call->tc_ref, st);
		return;
	}
	if (create_mounts(r, bundle, &mounted, st) < 0) {
		reply_status(call->tc_ref, st);
		return;
	}
	/*
	 * TaskCreate keeps its place in the queue now, while the mounts are
	 * still in the frame; the pid is filled in once runc has made it.
	 */
	memset(&ev, 0, sizeof(ev));
	pbs_setstr(&ev.container_id, id);
	pbs_setstr(&ev.bundle, bundle);
	ev.rootfs = r->rootfs;
	ev.has_io = true;
	pbs_setstr(&ev.io.stdin, sin);
	pbs_setstr(&ev.io.stdout, sout);
	pbs_setstr(&ev.io.stderr, serr);
	ev.io.terminal = r->terminal;
	pbs_setstr(&ev.checkpoint, cp);
	ticket = events_reserve("/tasks/create", "containerd.events.TaskCreate",
	    containerd_events_TaskCreate_fields, &ev,
	    containerd_events_TaskCreate_pid_tag);

	memset(&pc, 0, sizeof(pc));
	pc.pc_id = id;
	pc.pc_bundle = bundle;
	pc.pc_stdin = sin;
	pc.pc_stdout = sout;
	pc.pc_stderr = serr;
	pc.pc_terminal = r->terminal;
	pc.pc_checkpoint = cp;
	pc.pc_parent_checkpoint = pcp;
	pc.pc_bin = bin;
	pc.pc_root = root;
	pc.pc_criu = criu;
	pc.pc_criu_work = criuw;
	pc.pc_systemd = o.systemd_cgroup;
	pc.pc_no_pivot = o.no_pivot_root;
	pc.pc_no_new_keyring = o.no_new_keyring;
	pc.pc_io_uid = o.io_uid;
	pc.pc_io_gid = o.io_gid;
	pc.pc_mounted = mounted;
	pc.pc_event = ticket > 0 ? ticket : 0;
	pc.pc_timeout_ms = timeout_ms(call);
	if (proc_create(&pc, call->tc_ref, st) < 0) {
		if (ticket > 0)
			events_cancel(ticket);
		if (mounted)
			mount_unmount_all(scratch_printf("%s/rootfs", bundle));
		reply_status(call->tc_ref, st);
		return;
	}
	/* proc_create parked the call: it answers when runc is done. */
}

/* --- the simple ones ------------------------------------------------------- */

static void
task_start(const struct ttrpc_call *call)
{
	containerd_task_v2_StartRequest *r = &task_req.start;

	if (!decode(call, containerd_task_v2_StartRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	lookup_id(&r->exec_id, task_eid);
	finish(call->tc_ref, proc_start(task_id, task_eid, call->tc_ref,
	    timeout_ms(call), &task_st));
}

static void
task_delete(const struct ttrpc_call *call)
{
	containerd_task_v2_DeleteRequest *r = &task_req.del;

	if (!decode(call, containerd_task_v2_DeleteRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	lookup_id(&r->exec_id, task_eid);
	finish(call->tc_ref, proc_delete(task_id, task_eid, call->tc_ref,
	    &task_st));
}

static void
task_exec(const struct ttrpc_call *call)
{
	char *sin, *sout, *serr, *eid;
	containerd_task_v2_ExecProcessRequest *r = &task_req.exec;
	struct status *st = &task_st;
	struct proc_exec px;

	if (!decode(call, containerd_task_v2_ExecProcessRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	if (valid_id("exec id", &r->exec_id, &eid, st) < 0 ||
	    copy_str("stdin", &r->stdin, NS_PATH_MAX, &sin, st) < 0 ||
	    copy_str("stdout", &r->stdout, NS_PATH_MAX, &sout, st) < 0 ||
	    copy_str("stderr", &r->stderr, NS_PATH_MAX, &serr, st) < 0) {
		reply_status(call->tc_ref, st);
		return;
	}
	memset(&px, 0, sizeof(px));
	px.px_id = task_id;
	px.px_exec_id = eid;
	px.px_stdin = sin;
	px.px_stdout = sout;
	px.px_stderr = serr;
	px.px_terminal = r->terminal;
	px.px_spec = r->spec.value.p;
	px.px_spec_len = r->spec.value.len;
	finish(call->tc_ref, proc_exec(&px, st));
}

NS_RARE static void
task_resize(const struct ttrpc_call *call)
{
	containerd_task_v2_ResizePtyRequest *r = &task_req.resize;

	if (!decode(call, containerd_task_v2_ResizePtyRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	lookup_id(&r->exec_id, task_eid);
	finish(call->tc_ref, proc_resize(task_id, task_eid, r->width,
	    r->height, &task_st));
}

static void
task_state(const struct ttrpc_call *call)
{
	containerd_task_v2_StateRequest *r = &task_req.state;
	containerd_task_v2_StateResponse rsp, *o = &rsp;
	struct proc_state ps;

	if (!decode(call, containerd_task_v2_StateRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	lookup_id(&r->exec_id, task_eid);
	if (proc_state(task_id, task_eid, &ps, &task_st) < 0) {
		reply_status(call->tc_ref, &task_st);
		return;
	}
	memset(o, 0, sizeof(*o));
	pbs_setstr(&o->id, ps.ps_id);
	pbs_setstr(&o->bundle, ps.ps_bundle);
	o->pid = ps.ps_pid;
	o->status = (containerd_v1_types_Status)ps.ps_status;
	pbs_setstr(&o->stdin, ps.ps_stdin);
	pbs_setstr(&o->stdout, ps.ps_stdout);
	pbs_setstr(&o->stderr, ps.ps_stderr);
	o->terminal = ps.ps_terminal;
	o->exit_status = ps.ps_exit.pe_status;
	o->has_exited_at = true;
	ts_set(&o->exited_at, &ps.ps_exit);
	ttrpc_reply(call->tc_ref, containerd_task_v2_StateResponse_fields, o);
}

static void
task_kill(const struct ttrpc_call *call)
{
	containerd_task_v2_KillRequest *r = &task_req.kill;

	if (!decode(call, containerd_task_v2_KillRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	lookup_id(&r->exec_id, task_eid);
	finish(call->tc_ref, proc_kill(task_id, task_eid, r->signal, r->all,
	    call->tc_ref, &task_st));
}

static void
task_closeio(const struct ttrpc_call *call)
{
	containerd_task_v2_CloseIORequest *r = &task_req.closeio;

	if (!decode(call, containerd_task_v2_CloseIORequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	lookup_id(&r->exec_id, task_eid);
	finish(call->tc_ref, proc_close_io(task_id, task_eid, &task_st));
}

NS_RARE static void
task_pids(const struct ttrpc_call *call)
{
	containerd_task_v2_PidsRequest *r = &task_req.pids;

	if (!decode(call, containerd_task_v2_PidsRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	finish(call->tc_ref, proc_pids(task_id, call->tc_ref, &task_st));
}

NS_RARE static void
task_pause(const struct ttrpc_call *call)
{
	containerd_task_v2_PauseRequest *r = &task_req.pause;

	if (!decode(call, containerd_task_v2_PauseRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	finish(call->tc_ref, proc_pause(task_id, false, call->tc_ref,
	    &task_st));
}

NS_RARE static void
task_resume(const struct ttrpc_call *call)
{
	containerd_task_v2_PauseRequest *r = &task_req.pause;

	/* ResumeRequest has the same single field. */
	if (!decode(call, containerd_task_v2_ResumeRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	finish(call->tc_ref, proc_pause(task_id, true, call->tc_ref,
	    &task_st));
}

NS_RARE static void
task_update(const struct ttrpc_call *call)
{
	containerd_task_v2_UpdateTaskRequest *r = &task_req.update;

	if (!decode(call, containerd_task_v2_UpdateTaskRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	if (!r->has_resources || r->resources.value.len == 0) {
		/* What json.Unmarshal says of an empty value in Go. */
		ttrpc_reply_status(call->tc_ref, GRPC_UNKNOWN,
		    "unexpected end of JSON input");
		return;
	}
	finish(call->tc_ref, proc_update(task_id, r->resources.value.p,
	    r->resources.value.len, call->tc_ref, &task_st));
}

NS_RARE static void
task_checkpoint(const struct ttrpc_call *call)
{
	char *path, *mode, *work;
	static containerd_runc_v1_CheckpointOptions o;
	containerd_task_v2_CheckpointTaskRequest *r = &task_req.checkpoint;
	struct status *st = &task_st;
	struct proc_checkpoint pk;
	struct pbs_iter it = { 0 };
	const uint8_t *p;
	uint32_t len;
	const char *err;

	if (!decode(call, containerd_task_v2_CheckpointTaskRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	memset(&o, 0, sizeof(o));
	memset(&pk, 0, sizeof(pk));
	if (r->has_options && r->options.value.len &&
	    any_is(&r->options.type_url, "containerd.runc.v1.CheckpointOptions")
	    && pbs_decode(containerd_runc_v1_CheckpointOptions_fields, &o,
	    r->options.value.p, r->options.value.len, &err) < 0) {
		status_set(st, GRPC_INVALID_ARGUMENT, "decode checkpoint "
		    "options: %s", err);
		goto fail;
	}
	if (copy_path("checkpoint path", &r->path, NS_PATH_MAX, true, &path,
	    st) < 0 ||
	    copy_str("cgroups mode", &o.cgroups_mode, 64, &mode, st) < 0 ||
	    copy_path("work path", &o.work_path, NS_PATH_MAX, true, &work,
	    st) < 0)
		goto fail;
	while (pbs_next(&o.empty_namespaces, &it, &p, &len)) {
		if (pk.pk_nempty_ns == 16 || len >= 64 ||
		    memchr(p, '\0', len)) {
			status_set(st, GRPC_INVALID_ARGUMENT, "too many or too "
			    "long empty namespaces (16 of 63 bytes)");
			goto fail;
		}
		pk.pk_empty_ns[pk.pk_nempty_ns++] = scratch_copy(p, len);
	}
	pk.pk_id = task_id;
	pk.pk_path = path;
	pk.pk_exit = o.exit;
	pk.pk_open_tcp = o.open_tcp;
	pk.pk_ext_unix = o.external_unix_sockets;
	pk.pk_terminal = o.terminal;
	pk.pk_file_locks = o.file_locks;
	pk.pk_cgroups_mode = mode;
	pk.pk_work_path = work;
	finish(call->tc_ref, proc_checkpoint(&pk, call->tc_ref, st));
	return;
fail:
	reply_status(call->tc_ref, st);
}

static void
task_wait(const struct ttrpc_call *call)
{
	containerd_task_v2_WaitRequest *r = &task_req.wait;
	struct proc_exit ex;
	int e;

	if (!decode(call, containerd_task_v2_WaitRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	lookup_id(&r->exec_id, task_eid);
	e = proc_wait(task_id, task_eid, call->tc_ref, &ex, &task_st);
	if (e == 0)
		task_reply_wait(call->tc_ref, &ex);
	else
		finish(call->tc_ref, e);
}

NS_RARE static void
task_stats(const struct ttrpc_call *call)
{
	uint8_t *buf = scratch_alloc(NS_REPLY_MAX);
	containerd_task_v2_StatsRequest *r = &task_req.stats;
	containerd_task_v2_StatsResponse rsp, *o = &rsp;
	const struct cgroup_ref *cg;
	const pb_msgdesc_t *fields;
	const void *msg;
	const char *url, *err;
	size_t len;
	int e;

	if (!decode(call, containerd_task_v2_StatsRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	if (!proc_known(task_id)) {
		ttrpc_reply_status(call->tc_ref, GRPC_NOT_FOUND,
		    "container not created: not found");
		return;
	}
	cg = proc_cgroup(task_id);
	e = cg ? cgroup_metrics(cg, &fields, &msg, &url) : -ENOENT;
	if (e < 0) {
		ttrpc_reply_status(call->tc_ref, GRPC_NOT_FOUND,
		    "cgroup does not exist: not found");
		return;
	}
	if (pbs_encode(fields, msg, buf, NS_REPLY_MAX, &len, &err) < 0) {
		ttrpc_reply_status(call->tc_ref, GRPC_INTERNAL, err);
		return;
	}
	scratch_trim(buf, len);
	memset(o, 0, sizeof(*o));
	o->has_stats = true;
	pbs_setstr(&o->stats.type_url, url);
	pbs_set(&o->stats.value, buf, len);
	ttrpc_reply(call->tc_ref, containerd_task_v2_StatsResponse_fields, o);
}

static void
task_connect(const struct ttrpc_call *call)
{
	containerd_task_v2_ConnectRequest *r = &task_req.connect;
	containerd_task_v2_ConnectResponse rsp, *o = &rsp;

	if (!decode(call, containerd_task_v2_ConnectRequest_fields, r))
		return;
	lookup_id(&r->id, task_id);
	memset(o, 0, sizeof(*o));
	o->shim_pid = (uint32_t)getpid();
	o->task_pid = proc_init_pid(task_id);
	ttrpc_reply(call->tc_ref, containerd_task_v2_ConnectResponse_fields, o);
}

static void
task_shutdown_call(const struct ttrpc_call *call)
{
	containerd_task_v2_ShutdownRequest *r = &task_req.shutdown;

	if (!decode(call, containerd_task_v2_ShutdownRequest_fields, r))
		return;
	ttrpc_reply(call->tc_ref, NULL, NULL);
	/* A no-op while any container is registered (spec 3.4). */
	if (proc_count() == 0)
		task_shutdown = true;
}

static const struct {
	const char *name;
	void (*fn)(const struct ttrpc_call *);
} task_methods[] = {
	{ "State", task_state },
	{ "Create", task_create },
	{ "Start", task_start },
	{ "Delete", task_delete },
	{ "Pids", task_pids },
	{ "Pause", task_pause },
	{ "Resume", task_resume },
	{ "Checkpoint", task_checkpoint },
	{ "Kill", task_kill },
	{ "Exec", task_exec },
	{ "ResizePty", task_resize },
	{ "CloseIO", task_closeio },
	{ "Update", task_update },
	{ "Wait", task_wait },
	{ "Stats", task_stats },
	{ "Connect", task_connect },
	{ "Shutdown", task_shutdown_call },
};

static bool
task_dispatch(const struct ttrpc_call *call)
{
	size_t i;

	for (i = 0; i < sizeof(task_methods) / sizeof(task_methods[0]); i++) {
		if (strcmp(call->tc_method, task_methods[i].name) == 0) {
			proc_call_timeout(timeout_ms(call));
			task_methods[i].fn(call);
			proc_call_timeout(0);
			return true;
		}
	}
	return false;
}

/* What proc answers parked calls with (it is below task: proc.h). */
static const struct proc_replies task_replies = {
	.pr_pid = task_reply_pid,
	.pr_wait = task_reply_wait,
	.pr_delete = task_reply_delete,
	.pr_pids = task_reply_pids,
};

NS_IDLE void
task_init(const char *ns)
{
	task_ns = ns;
	/* v3 (containerd 2.x) has the same methods and messages. */
	ttrpc_service("containerd.task.v2.Task", task_dispatch);
	ttrpc_service("containerd.task.v3.Task", task_dispatch);
	ttrpc_on_close(proc_conn_closed);
	proc_replies(&task_replies);
}

/* --- replies for parked calls ------------------------------------------------ */

static void
task_reply_pid(struct ttrpc_ref ref, uint32_t pid)
{
	containerd_task_v2_CreateTaskResponse o = { pid };

	/* CreateTaskResponse and StartResponse are both {1: pid}. */
	ttrpc_reply(ref, containerd_task_v2_CreateTaskResponse_fields, &o);
}

static void
task_reply_wait(struct ttrpc_ref ref, const struct proc_exit *ex)
{
	containerd_task_v2_WaitResponse o;

	memset(&o, 0, sizeof(o));
	o.exit_status = ex->pe_status;
	o.has_exited_at = true;
	ts_set(&o.exited_at, ex);
	ttrpc_reply(ref, containerd_task_v2_WaitResponse_fields, &o);
}

static void
task_reply_delete(struct ttrpc_ref ref, uint32_t pid,
    const struct proc_exit *ex)
{
	containerd_task_v2_DeleteResponse o;

	memset(&o, 0, sizeof(o));
	o.pid = pid;
	o.exit_status = ex->pe_status;
	o.has_exited_at = true;
	ts_set(&o.exited_at, ex);
	ttrpc_reply(ref, containerd_task_v2_DeleteResponse_fields, &o);
}

NS_RARE static void
task_reply_pids(struct ttrpc_ref ref, const char *id, const char *json,
    size_t len)
{
	containerd_task_v2_PidsResponse *o = &task_rsp.pids;
	const size_t max = sizeof(o->processes) / sizeof(o->processes[0]);
	const char *end = json + len, *it = NULL, *v;
	containerd_runc_v1_ProcessDetails d;
	long long pid;
	size_t n;

	memset(o, 0, offsetof(containerd_task_v2_PidsResponse, processes));
	while ((v = json_next(json, end, &it)) != NULL) {
		containerd_v1_types_ProcessInfo *pi;
		const char *eid;

		if (json_int(v, end, &pid) < 0 || pid <= 0)
			continue;
		if (o->processes_count == max) {
			ttrpc_reply_status(ref, GRPC_RESOURCE_EXHAUSTED,
			    "more processes than a Pids reply holds (1024)");
			return;
		}
		pi = &o->processes[o->processes_count];
		memset(pi, 0, sizeof(*pi));
		pi->pid = (uint32_t)pid;
		eid = proc_exec_of_pid(id, (uint32_t)pid);
		if (eid) {
			uint8_t *det = scratch_alloc(NS_ID_MAX + 8);

			memset(&d, 0, sizeof(d));
			pbs_setstr(&d.exec_id, eid);
			if (pbs_encode(containerd_runc_v1_ProcessDetails_fields,
			    &d, det, NS_ID_MAX + 8, &n, NULL) == 0) {
				scratch_trim(det, n);
				pi->has_info = true;
				pbs_setstr(&pi->info.type_url,
				    "containerd.runc.v1.ProcessDetails");
				pbs_set(&pi->info.value, det, n);
			}
		}
		o->processes_count++;
	}
	ttrpc_reply(ref, containerd_task_v2_PidsResponse_fields, o);
}
