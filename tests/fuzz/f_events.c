/*
 * f_events - the events client (src/events.c) reading containerd's
 * replies to Forward: whole and split frames, replies on other streams,
 * late and duplicate replies, error statuses, garbage, oversized
 * lengths, the connection closing half way.
 *
 * The real client, driven by the real reactor, talks to this harness
 * through a socketpair (seam_events.c hands it one end and resets its
 * state before each input).  Two events are queued; the harness reads
 * the Forward the client sends and answers with the input.
 *
 * Input: byte 0 bit 0 = close the harness's end after the input, bit 1 =
 * let the client's timer fire between some chunks (the reply deadline,
 * the retry backoff: the client then reconnects, and the harness, which
 * also listens at TTRPC_ADDRESS, takes the new connection); bytes 1-4
 * seed the chunk sizes; the rest is what "containerd" writes back.  The
 * first Forward is stream 1, the next 3 (a fresh client), so a corpus
 * reply can name the right stream.
 *
 * Checks: every Forward the client writes is a well-formed ttrpc request
 * (service containerd.services.events.ttrpc.v1.Events, method Forward,
 * a 5 s timeout, the namespace metadata) whose ForwardRequest decodes to
 * the event that was queued, with its topic, namespace and type URL;
 * stream ids are odd and increase; an event leaves the queue only on an
 * OK reply to its own stream or after its last retry; the reply buffer
 * never holds more than its size.
 */
// SEAMS: seam_events.c
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"

#include "bounds.h"
#include "events.h"
#include "pbs.h"
#include "reactor.h"
#include "ttrpc.h"
#include "ttrpc.pb.h"
#include "containerd/events/task.pb.h"
#include "containerd/services/events/ttrpc/v1/events.pb.h"

void fz_events_reset(int fd);
int fz_events_state(void);
uint32_t fz_events_ilen(void);
void fz_events_timeout(void);

static int lfd = -1;	/* "containerd" at TTRPC_ADDRESS, for reconnects */

static uint8_t rbuf[1 << 16];
static size_t rlen;
static uint32_t last_sid;
static unsigned forwards;

static void
check_forward(const uint8_t *body, uint32_t len)
{
	ttrpc_Request req;
	containerd_services_events_ttrpc_v1_ForwardRequest fw;
	containerd_events_TaskExit ex;
	ttrpc_KeyValue kv;
	struct pbs_iter it = { 0 };
	const uint8_t *p;
	uint32_t n;
	bool ns = false;

	pbs_reset();
	FZ_CHECK(pbs_decode(ttrpc_Request_fields, &req, body, len, NULL) == 0,
	    "Forward request does not decode");
	FZ_CHECK(pbs_eq(&req.service,
	    "containerd.services.events.ttrpc.v1.Events") &&
	    pbs_eq(&req.method, "Forward"), "service/method");
	FZ_CHECK(req.timeout_nano == 5000000000LL, "timeout %lld",
	    (long long)req.timeout_nano);
	while (pbs_next(&req.metadata, &it, &p, &n)) {
		FZ_CHECK(pbs_decode(ttrpc_KeyValue_fields, &kv, p, n, NULL) == 0,
		    "metadata");
		ns |= pbs_eq(&kv.key, "containerd-namespace-ttrpc") &&
		    pbs_eq(&kv.value, "fuzz-ns");
	}
	FZ_CHECK(ns, "no namespace metadata");
	FZ_CHECK(pbs_decode(containerd_services_events_ttrpc_v1_ForwardRequest_fields,
	    &fw, req.payload.p, req.payload.len, NULL) == 0 &&
	    fw.has_envelope, "ForwardRequest");
	FZ_CHECK(pbs_eq(&fw.envelope.namespace, "fuzz-ns") &&
	    pbs_eq(&fw.envelope.topic, "/tasks/exit") &&
	    fw.envelope.has_timestamp && fw.envelope.timestamp.seconds > 0 &&
	    fw.envelope.has_event &&
	    pbs_eq(&fw.envelope.event.type_url, "containerd.events.TaskExit"),
	    "envelope");
	FZ_CHECK(pbs_decode(containerd_events_TaskExit_fields, &ex,
	    fw.envelope.event.value.p, fw.envelope.event.value.len, NULL) == 0 &&
	    pbs_eq(&ex.container_id, "c1") && ex.pid == 4242 &&
	    ex.exit_status == 137, "TaskExit");
}

/* Read what the client sent; check each whole request frame. */
static void
read_requests(int fd)
{
	ssize_t n;
	size_t off = 0;

	while (rlen < sizeof(rbuf) &&
	    (n = recv(fd, rbuf + rlen, sizeof(rbuf) - rlen, MSG_DONTWAIT)) > 0)
		rlen += (size_t)n;
	while (rlen - off >= NS_FRAME_HDR) {
		uint32_t len, sid;
		uint8_t type, flags;

		ttrpc_hdr_get(rbuf + off, &len, &sid, &type, &flags);
		FZ_CHECK(type == TTRPC_REQUEST && flags == 0, "request type %u",
		    type);
		FZ_CHECK(len < sizeof(rbuf) - NS_FRAME_HDR, "request of %u", len);
		if (rlen - off < NS_FRAME_HDR + len)
			break;
		FZ_CHECK(sid % 2 == 1 && sid > last_sid, "stream %u after %u", sid,
		    last_sid);
		last_sid = sid;
		check_forward(rbuf + off + NS_FRAME_HDR, len);
		forwards++;
		off += NS_FRAME_HDR + len;
	}
	memmove(rbuf, rbuf + off, rlen - off);
	rlen -= off;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct sockaddr_un sa;

	fz_setup("events");
	reactor_init(64);
	/* The seam hands over the first connection; reconnects come here. */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
	    fz_path("containerd.sock.ttrpc"));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 8) < 0)
		abort();
	events_init(sa.sun_path, "fuzz-ns", 8, 4096);
	return 0;
}

static void
publish(void)
{
	containerd_events_TaskExit e;

	memset(&e, 0, sizeof(e));
	pbs_setstr(&e.container_id, "c1");
	pbs_setstr(&e.id, "c1");
	e.pid = 4242;
	e.exit_status = 137;
	e.has_exited_at = true;
	e.exited_at.seconds = 1700000000;
	FZ_CHECK(events_publish("/tasks/exit", "containerd.events.TaskExit",
	    containerd_events_TaskExit_fields, &e) == 0, "publish");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t mode = fz_u8(&f);
	uint32_t seed = fz_u32(&f) | 1;
	int sv[2], idle = 0, nfd;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) < 0)
		abort();
	rlen = 0;
	last_sid = 0;
	forwards = 0;
	fz_events_reset(sv[0]);
	fz_guard(true);
	publish();
	publish();
	reactor_once(0);	/* the sweep starts the first Forward */
	reactor_once(0);	/* EPOLLOUT: it goes out */
	read_requests(sv[1]);
	FZ_CHECK(forwards == 1, "%u Forwards before any reply", forwards);
	while (f.n > 0 && idle < 16) {
		uint32_t r = fz_rand(&seed);
		const uint8_t *p;
		size_t k = fz_take(&f, 1 + (r >> 8) % (r & 1 ? 2048 : 11), &p);
		ssize_t w = send(sv[1], p, k, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0)
			w = 0;
		f.p -= k - (size_t)w;
		f.n += k - (size_t)w;
		idle = w > 0 ? 0 : idle + 1;
		if ((mode & 2) && (r & 0x600) == 0x600)
			fz_events_timeout();
		reactor_once(0);
		reactor_once(0);
		/* A reconnect: the client gave up the old connection. */
		if ((nfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC)) >= 0) {
			close(sv[1]);
			sv[1] = nfd;
			rlen = 0;
			reactor_once(0);
			reactor_once(0);
		}
		read_requests(sv[1]);
		FZ_CHECK(fz_events_ilen() <= 1000, "reply buffer holds %u",
		    fz_events_ilen());
		FZ_CHECK(events_pending() <= 2, "%u events queued",
		    events_pending());
	}
	if (mode & 1) {
		close(sv[1]);
		sv[1] = -1;
		reactor_once(0);
		reactor_once(0);
	}
	/* Both gone only if both were acknowledged: two Forwards went out. */
	FZ_CHECK(events_pending() > 0 || forwards >= 2,
	    "events left the queue unacknowledged (%u Forwards)", forwards);
	fz_guard(false);
	fz_events_reset(-1);
	if (sv[1] >= 0)
		close(sv[1]);
	while ((nfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(nfd);
	return 0;
}
