/*
 * proc_ctr - a container's own life: create, start, restore, delete.
 *
 * Owns: taking the container and init slots, the runc create / start /
 * restore / delete command lines and what their completions do, the
 * bundle files the shim writes and reads (options.json, runtime,
 * init.pid, config.json's pid namespace), unmounting the rootfs at
 * delete, and the TaskCreate/TaskStart/TaskDelete moments.
 *
 * May call: the rest of proc (proc_impl.h), io, oom, cgroup, reaper,
 * runc, mount, json, scratch, log; taskev (events) and the registered
 * replies (proc_rp).
 *
 * Mirrors pkg/process/init.go (Create, Start, Delete, Restore) and
 * init_state.go.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "cgroup.h"
#include "io.h"
#include "json.h"
#include "log.h"
#include "mount.h"
#include "oom.h"
#include "pool.h"
#include "proc.h"
#include "proc_impl.h"
#include "reaper.h"
#include "runc.h"
#include "scratch.h"
#include "taskev.h"

static void proc_finish_delete(struct proc *p, struct parked *pk);

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
void
create_failed(struct proc *p, struct parked *pk, const struct status *st)
{
	struct ctr *c = ctr_of(p);
	char *rootfs;

	proc_reply_error(pk->pk_ref, st);
	parked_give(pk);
	taskev_create_cancel(c->c_create_ev);
	if (c->c_mounted) {
		rootfs = scratch_printf("%s/rootfs", c->c_bundle);
		mount_unmount_all(rootfs);
	}
	ctr_free(c);
}

/* Spawn runc create (or, for a restore, only finish: Start restores). */
void
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
		taskev_create_done(c->c_create_ev, 0);
		proc_rp.pr_pid(pk->pk_ref, 0);
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

void
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
	taskev_create_done(c->c_create_ev, (uint32_t)pid);
	proc_rp.pr_pid(pk->pk_ref, (uint32_t)pid);
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
	taskev_start(c->c_id, (uint32_t)p->p_pid);
}

void
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
		proc_reply_error(pk->pk_ref, st);
		parked_give(pk);
	} else {
		proc_step(p, EV_OK, NULL);
		init_started(p);
		proc_rp.pr_pid(pk->pk_ref, (uint32_t)p->p_pid);
		parked_give(pk);
	}
	if (p->p_held) {
		p->p_held = false;
		proc_exited(p, p->p_held_status, &p->p_held_when);
	}
}

void
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
		proc_reply_error(pk->pk_ref, st);
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
		proc_reply_error(pk->pk_ref, st);
		parked_give(pk);
		return;
	}
	proc_set_pid(p, pid);
	reaper_release();
	cgroup_locate(pid, &c->c_cg);
	c->c_restore = false;
	proc_step(p, EV_OK, NULL);
	init_started(p);
	proc_rp.pr_pid(pk->pk_ref, (uint32_t)pid);
	parked_give(pk);
	if (p->p_held) {
		p->p_held = false;
		proc_exited(p, p->p_held_status, &p->p_held_when);
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

void
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
		proc_reply_error(pk->pk_ref, st);
		parked_give(pk);
	}
}

void
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
			proc_reply_error(pk->pk_ref, st);
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
		taskev_delete(c->c_id, (uint32_t)p->p_pid, ex.pe_status,
		    ex.pe_sec, ex.pe_nsec);
		proc_rp.pr_delete(pk->pk_ref, (uint32_t)p->p_pid, &ex);
		parked_give(pk);
		ctr_free(c);
		return;
	}
	if (p->p_exited && !p->p_published)
		proc_publish(p);
	ex = p->p_exit;
	proc_rp.pr_delete(pk->pk_ref, (uint32_t)p->p_pid, &ex);
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
