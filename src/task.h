/*
 * task - the containerd.task.v2.Task (and v3) service.
 *
 * Owns: the method table, decoding requests and validating them (ids,
 * paths), mounting the rootfs, mapping results to replies and statuses,
 * and building every protobuf reply.  Does not own: process state or
 * system calls on processes (proc), the task events (proc publishes them
 * through taskev).  proc answers the calls it parked through the reply
 * functions task registers at startup (proc_replies), with plain C
 * values, never protobuf types: task calls proc, never the other way.
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

#endif
