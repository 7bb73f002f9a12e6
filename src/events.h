/*
 * events - publishing task events to containerd.
 *
 * Owns: the ttrpc client connection to TTRPC_ADDRESS, the bounded event
 * queue (entries plus a byte ring holding each event's encoding), the one
 * Forward in flight, retries and reconnect backoff, and the flush at
 * shutdown.  Does not own: which events happen (task/proc decide).
 *
 * Mirrors runtime/v2/shim/publisher.go: one Forward at a time, in order,
 * each waiting for its reply; containerd processes concurrent requests in
 * parallel and could reorder pipelined ones.
 */
#ifndef NS_EVENTS_H
#define NS_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <pb.h>

void events_init(const char *address, const char *ns, uint32_t max_events,
    uint32_t max_bytes);
/*
 * Queue an event: topic ("/tasks/exit"), the bare type URL's message name
 * ("containerd.events.TaskExit") and the message.  0, or -ENOSPC when the
 * queue is full (the event is dropped, logged and counted), or -E2BIG
 * when it is larger than the whole ring.
 */
int events_publish(const char *topic, const char *type,
    const pb_msgdesc_t *fields, const void *msg);
/*
 * Queue an event whose varint field `pid_field` is filled in later: the
 * queue keeps its place, and nothing behind it is sent until it is
 * completed or cancelled.  Returns a ticket (> 0) or -errno.
 */
int64_t events_reserve(const char *topic, const char *type,
    const pb_msgdesc_t *fields, const void *msg, uint32_t pid_field);
void events_complete(int64_t ticket, uint32_t pid);
void events_cancel(int64_t ticket);
/* Events waiting to go out (including the one in flight). */
uint32_t events_pending(void);
uint64_t events_dropped(void);

#endif
