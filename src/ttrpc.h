/*
 * ttrpc - the shim's server side of containerd's ttrpc protocol.
 *
 * Owns: the listening socket, connection slots, the 10-byte frame header,
 * the Request/Response envelope, the one shared 4 MiB buffer for large
 * frames, output buffering and back-pressure, and the single teardown path
 * of a connection.  Does not own: what a method means (task does).
 *
 * Mirrors github.com/containerd/ttrpc server.go and channel.go (spec 2).
 */
#ifndef NS_TTRPC_H
#define NS_TTRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pb.h>

#include "pool.h"

#define TTRPC_REQUEST	1
#define TTRPC_RESPONSE	2
#define TTRPC_DATA	3

/* Where a reply goes: a connection (by handle) and a stream. */
struct ttrpc_ref {
	handle_t r_conn;
	uint32_t r_sid;
};

/* One decoded request, valid only during the handler call. */
struct ttrpc_call {
	struct ttrpc_ref tc_ref;
	const char *tc_method;		/* NUL-terminated copy */
	const uint8_t *tc_payload;	/* a slice of the frame */
	uint32_t tc_len;
	int64_t tc_timeout_ns;		/* 0: none */
};

/*
 * A service handler answers every call it accepts, now or later (keeping
 * its ttrpc_ref), through ttrpc_reply*.  Returning false means "no such
 * method" (the server answers UNIMPLEMENTED).
 */
typedef bool ttrpc_service_fn(const struct ttrpc_call *call);
typedef void ttrpc_close_fn(handle_t conn);

/* Sizes from conf; listen_fd is the socket (already listening). */
void ttrpc_init(int listen_fd, uint32_t max_conns);
void ttrpc_service(const char *name, ttrpc_service_fn *fn);
/* Called with each connection's handle as it goes away. */
void ttrpc_on_close(ttrpc_close_fn *fn);
/* Stop accepting and close the listener (shutdown). */
void ttrpc_stop_listening(void);
uint32_t ttrpc_conns(void);

/*
 * Answer with msg encoded by fields (NULL msg: an empty reply).  A stale
 * ref (connection gone) is ignored.  0, or -errno if it could not be sent.
 */
int ttrpc_reply(struct ttrpc_ref ref, const pb_msgdesc_t *fields,
    const void *msg);
/* Answer with an error status. */
int ttrpc_reply_status(struct ttrpc_ref ref, int code, const char *msg);
bool ttrpc_ref_live(struct ttrpc_ref ref);

/* Frame header helpers, shared with the events client. */
void ttrpc_hdr_put(uint8_t h[10], uint32_t len, uint32_t sid, uint8_t type,
    uint8_t flags);
void ttrpc_hdr_get(const uint8_t h[10], uint32_t *len, uint32_t *sid,
    uint8_t *type, uint8_t *flags);

#endif
