/*
 * proc_ops - what is done to a running container: kill, pause, resume,
 * update, checkpoint, pids.
 *
 * Owns: each operation's runc command line and what its completion
 * answers (with the Go shim's codes and texts), the resources file of
 * an update, and criu's work directory of a checkpoint.
 *
 * May call: the rest of proc (proc_impl.h), runc, scratch; taskev
 * (events) and the registered replies (proc_rp).
 *
 * Mirrors pkg/process/init.go (Kill, Pause, Resume, Update, Checkpoint)
 * and runtime/v2/runc/task/service.go (Pids).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pool.h"
#include "proc.h"
#include "proc_impl.h"
#include "runc.h"
#include "scratch.h"
#include "taskev.h"

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

void
kill_done(struct proc *p, struct parked *pk, int status, const char *out,
    size_t len)
{
	struct ctr *c = ctr_of(p);
	char *msg = scratch_alloc(1024);
	struct status *st = &proc_st;

	if (status == 0) {
		proc_reply_empty(pk->pk_ref);
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
	proc_reply_error(pk->pk_ref, st);
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

void
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
		proc_reply_error(pk->pk_ref, st);
		parked_give(pk);
		return;
	}
	if (p->p_state == ST_PAUSING || p->p_state == ST_RESUMING) {
		proc_step(p, EV_OK, NULL);
		if (resume)
			taskev_resumed(c->c_id);
		else
			taskev_paused(c->c_id);
	}
	proc_reply_empty(pk->pk_ref);
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

void
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
		proc_reply_empty(pk->pk_ref);
	} else {
		runc_error_text(st->st_msg, sizeof(st->st_msg),
		    "OCI runtime update failed", c->c_ro.ro_log, c->c_ro.ro_bin, status, out,
		    len);
		st->st_code = GRPC_UNKNOWN;
		proc_reply_error(pk->pk_ref, st);
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

void
checkpoint_done(struct proc *p, struct parked *pk, int status,
    const char *out, size_t len)
{
	struct ctr *c = ctr_of(p);
	char *work, *from, *to;
	struct status *st = &proc_st;
	size_t k = 0;

	work = c->c_ckpt_work;
	if (status == 0) {
		proc_reply_empty(pk->pk_ref);
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
		proc_reply_error(pk->pk_ref, st);
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

void
ps_done(struct proc *p, struct parked *pk, int status, const char *out,
    size_t len)
{
	struct ctr *c = ctr_of(p);
	struct status *st = &proc_st;

	if (status == 0) {
		proc_rp.pr_pids(pk->pk_ref, c->c_id, out, len);
	} else {
		runc_error_text(st->st_msg, sizeof(st->st_msg),
		    "failed to get pids", c->c_ro.ro_log, c->c_ro.ro_bin, status, out, len);
		st->st_code = GRPC_UNKNOWN;
		proc_reply_error(pk->pk_ref, st);
	}
	parked_give(pk);
}
