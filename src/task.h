/*
 * task - the containerd.task.v2.Task (and v3) service.
 *
 * Owns: the method table, decoding requests and validating them (ids,
 * paths), mounting the rootfs, mapping results to replies and statuses,
 * and building every protobuf reply and event.  Does not own: process
 * state or system calls on processes (proc does those; it calls back here
 * with plain C values, never protobuf types).
 *
 * Mirrors runtime/v2/runc/task/service.go (spec 3).
 */
#ifndef NS_TASK_H
#define NS_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "proc.h"
#include "status.h"
#include "ttrpc.h"

void task_init(const char *ns);
/* Shutdown was asked for and may proceed (no containers left). */
bool task_shutdown_requested(void);

/* Replies for calls proc parked. */
void task_reply_empty(struct ttrpc_ref ref);
void task_reply_error(struct ttrpc_ref ref, const struct status *st);
void task_reply_pid(struct ttrpc_ref ref, uint32_t pid);
void task_reply_wait(struct ttrpc_ref ref, const struct proc_exit *ex);
void task_reply_delete(struct ttrpc_ref ref, uint32_t pid,
    const struct proc_exit *ex);
/* Pids: runc ps output (a JSON array of pids) for container id. */
void task_reply_pids(struct ttrpc_ref ref, const char *id, const char *json,
    size_t len);

/* Events, in the order proc decides. */
void task_ev_create_done(int64_t ticket, uint32_t pid);
void task_ev_create_cancel(int64_t ticket);
void task_ev_start(const char *cid, uint32_t pid);
void task_ev_exit(const char *cid, const char *id, uint32_t pid,
    const struct proc_exit *ex);
void task_ev_delete(const char *cid, uint32_t pid,
    const struct proc_exit *ex);
void task_ev_exec_added(const char *cid, const char *eid);
void task_ev_exec_started(const char *cid, const char *eid, uint32_t pid);
void task_ev_paused(const char *cid);
void task_ev_resumed(const char *cid);
void task_ev_oom(const char *cid);

#endif
