/*
 * taskev - the task event catalogue: what proc publishes to containerd.
 *
 * Owns: the encoding of each task event (TaskStart, TaskExit,
 * TaskDelete, TaskExecAdded, TaskExecStarted, TaskPaused, TaskResumed,
 * TaskOOM) from plain C values, and completing or cancelling the
 * TaskCreate that task reserved in the queue (task builds that one: it
 * carries the request's rootfs mounts, which only task holds).  Does not
 * own: when an event happens or in what order (proc decides), the queue
 * and sending (events).
 *
 * May call: events, pbs.  One of the few modules that include gen/
 * (containerd/events/task.pb.h), as ttrpc, task and events do: protobuf
 * stays at the edges, and this is the edge proc publishes through, so
 * proc itself never sees a protobuf type.
 *
 * Mirrors the events the Go shim publishes in runtime/v2/runc/task/
 * service.go and pkg/process (topics and type names: spec 6).
 */
#ifndef NS_TASKEV_H
#define NS_TASKEV_H

#include <stdint.h>

/* TaskCreate, reserved by task (ticket > 0): its pid is now known. */
void taskev_create_done(int64_t ticket, uint32_t pid);
/* TaskCreate never happened (runc create failed). */
void taskev_create_cancel(int64_t ticket);
void taskev_start(const char *cid, uint32_t pid);
/* id is the exec id, or the container id for the init. */
void taskev_exit(const char *cid, const char *id, uint32_t pid,
    uint32_t status, int64_t sec, int32_t nsec);
void taskev_delete(const char *cid, uint32_t pid, uint32_t status,
    int64_t sec, int32_t nsec);
void taskev_exec_added(const char *cid, const char *eid);
void taskev_exec_started(const char *cid, const char *eid, uint32_t pid);
void taskev_paused(const char *cid);
void taskev_resumed(const char *cid);
void taskev_oom(const char *cid);

#endif
