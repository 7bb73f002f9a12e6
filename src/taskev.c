/*
 * taskev - the task event catalogue; see taskev.h.
 *
 * Each event is built on the stack from plain values and handed to
 * events' queue, which encodes it at once: nothing here outlives the
 * call.
 */
#include <string.h>

#include "layout.h"
#include "events.h"
#include "pbs.h"
#include "taskev.h"

#include "containerd/events/task.pb.h"

void
taskev_create_done(int64_t ticket, uint32_t pid)
{
	if (ticket > 0)
		events_complete(ticket, pid);
}

void
taskev_create_cancel(int64_t ticket)
{
	if (ticket > 0)
		events_cancel(ticket);
}

void
taskev_start(const char *cid, uint32_t pid)
{
	containerd_events_TaskStart e;

	memset(&e, 0, sizeof(e));
	pbs_setstr(&e.container_id, cid);
	e.pid = pid;
	events_publish("/tasks/start", "containerd.events.TaskStart",
	    containerd_events_TaskStart_fields, &e);
}

void
taskev_exit(const char *cid, const char *id, uint32_t pid,
    uint32_t status, int64_t sec, int32_t nsec)
{
	containerd_events_TaskExit e;

	memset(&e, 0, sizeof(e));
	pbs_setstr(&e.container_id, cid);
	pbs_setstr(&e.id, id);
	e.pid = pid;
	e.exit_status = status;
	e.has_exited_at = true;
	e.exited_at.seconds = sec;
	e.exited_at.nanos = nsec;
	events_publish("/tasks/exit", "containerd.events.TaskExit",
	    containerd_events_TaskExit_fields, &e);
}

void
taskev_delete(const char *cid, uint32_t pid, uint32_t status,
    int64_t sec, int32_t nsec)
{
	containerd_events_TaskDelete e;

	memset(&e, 0, sizeof(e));
	pbs_setstr(&e.container_id, cid);
	e.pid = pid;
	e.exit_status = status;
	e.has_exited_at = true;
	e.exited_at.seconds = sec;
	e.exited_at.nanos = nsec;
	events_publish("/tasks/delete", "containerd.events.TaskDelete",
	    containerd_events_TaskDelete_fields, &e);
}

void
taskev_exec_added(const char *cid, const char *eid)
{
	containerd_events_TaskExecAdded e;

	memset(&e, 0, sizeof(e));
	pbs_setstr(&e.container_id, cid);
	pbs_setstr(&e.exec_id, eid);
	events_publish("/tasks/exec-added", "containerd.events.TaskExecAdded",
	    containerd_events_TaskExecAdded_fields, &e);
}

void
taskev_exec_started(const char *cid, const char *eid, uint32_t pid)
{
	containerd_events_TaskExecStarted e;

	memset(&e, 0, sizeof(e));
	pbs_setstr(&e.container_id, cid);
	pbs_setstr(&e.exec_id, eid);
	e.pid = pid;
	events_publish("/tasks/exec-started",
	    "containerd.events.TaskExecStarted",
	    containerd_events_TaskExecStarted_fields, &e);
}

static void
ev_cid(const char *topic, const char *type, const pb_msgdesc_t *fields,
    const char *cid)
{
	containerd_events_TaskPaused e;

	/* TaskPaused, TaskResumed and TaskOOM are all {1: container_id}. */
	memset(&e, 0, sizeof(e));
	pbs_setstr(&e.container_id, cid);
	events_publish(topic, type, fields, &e);
}

NS_RARE void
taskev_paused(const char *cid)
{
	ev_cid("/tasks/paused", "containerd.events.TaskPaused",
	    containerd_events_TaskPaused_fields, cid);
}

NS_RARE void
taskev_resumed(const char *cid)
{
	ev_cid("/tasks/resumed", "containerd.events.TaskResumed",
	    containerd_events_TaskResumed_fields, cid);
}

void
taskev_oom(const char *cid)
{
	ev_cid("/tasks/oom", "containerd.events.TaskOOM",
	    containerd_events_TaskOOM_fields, cid);
}
