/*
 * proc_exit - exits, and the order of what follows one.
 *
 * Owns: a process's pid and pidfd (and an exit the reaper saw before the
 * pid was known), the reaper's route into proc, the drain timer, and the
 * order of exit work, which containerd relies on:
 *   reaped -> (held while its start is still running, so TaskStart or
 *   TaskExecStarted is queued first) -> stopped -> kill the rest of the
 *   container if it has no pid namespace of its own -> output drained ->
 *   (an init waits for its running execs' exits) -> TaskOOM if one is
 *   pending -> TaskExit -> waiters answered.
 * Also TaskOOM, when oom reports one.
 *
 * May call: the rest of proc (proc_impl.h), io, oom, reaper, reactor,
 * pool, log; taskev (events).
 *
 * Mirrors the exit handling of runtime/v2/runc/task/service.go
 * (processExits, checkProcesses, handleProcessExit).
 */
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "oom.h"
#include "pool.h"
#include "proc.h"
#include "proc_impl.h"
#include "reactor.h"
#include "reaper.h"
#include "taskev.h"

/* Delete waits this long for output copies, like the Go shim. */
#define DRAIN_WAIT_MS	2000u
/* After an exit, output has this long to drain before TaskExit goes. */
#define EXIT_DRAIN_MS	2000u

static void
pidfd_event(handle_t h, uint32_t events)
{
	(void)h;
	(void)events;
	/* The exit itself comes from waitpid; this only says "look now". */
	reaper_kick();
}

/* Record the pid, watch it, and take an exit that came before. */
void
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

void
proc_pidfd_close(struct proc *p)
{
	rfd_close(&p->p_pidfd);
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

void
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

void
proc_publish(struct proc *p)
{
	struct ctr *c = ctr_of(p);

	if (p->p_init && c->c_oom)
		oom_poll(c->c_oom);
	p->p_published = true;
	taskev_exit(c->c_id, proc_id(p), (uint32_t)p->p_pid,
	    p->p_exit.pe_status, p->p_exit.pe_sec, p->p_exit.pe_nsec);
	proc_release_waiters(p, &p->p_exit);
}

void
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

void
proc_io_drained(handle_t owner)
{
	struct proc *p = pool_get(&proc_pool, owner);

	if (p == NULL || p->p_drained)
		return;
	rtimer_cancel(&p->p_timer);
	p->p_drained = true;
	proc_try_publish(p);
}

void
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

void
proc_oom(handle_t owner)
{
	struct ctr *c = pool_get(&ctr_pool, owner);

	if (c)
		taskev_oom(c->c_id);
}
