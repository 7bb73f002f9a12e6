/*
 * events - see events.h.
 *
 * States: IDLE (nothing to send or waiting for a reserved entry), CONNECT
 * (non-blocking connect under way), SEND (frame partly written), RECV
 * (waiting for the reply), BACKOFF (timer).  Only the head entry is ever
 * in flight.
 *
 * A connection failure keeps the event and reconnects with a growing
 * delay (containerd restarting is normal; its events must arrive once it
 * is back).  An error reply is retried after 1 s, 2 s, ... like the Go
 * publisher, and the event dropped after 5 tries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "bounds.h"
#include "events.h"
#include "log.h"
#include "pbs.h"
#include "reactor.h"
#include "status.h"
#include "ttrpc.h"
#include "ttrpc.pb.h"
#include "containerd/services/events/ttrpc/v1/events.pb.h"

#define EV_SERVICE	"containerd.services.events.ttrpc.v1.Events"
#define EV_TIMEOUT_MS	5000u
#define EV_TRIES	5u
#define EV_BACKOFF_MAX	2000u
#define EV_RECV		(64u << 10)
/* Room around an event for the Envelope, Request and frame header. */
#define EV_OVERHEAD	1024u

enum ev_state { EV_READY = 1, EV_PENDING, EV_DEAD };
enum cl_state { CL_IDLE, CL_CONNECT, CL_SEND, CL_RECV, CL_BACKOFF };

struct ev {
	uint32_t e_off, e_len;
	uint32_t e_pidpos;	/* offset of the 5-byte pid varint, or ~0 */
	uint8_t e_state;
	uint8_t e_tries;
	const char *e_topic;
	const char *e_type;
	int64_t e_sec;
	int32_t e_nsec;
};

static struct ev *ev_q;
static uint32_t ev_cap, ev_count;
static uint64_t ev_head;		/* absolute index of the oldest */
static uint8_t *ev_ring;
static uint32_t ev_rcap, ev_rstart, ev_rend;
static uint64_t ev_drops;

static char ev_addr[sizeof(((struct sockaddr_un *)0)->sun_path)];
static const char *ev_ns;
static enum cl_state cl_state;
static struct rfd cl_rfd;
static struct rtimer cl_timer;
static uint32_t cl_backoff;
static uint32_t cl_sid = 1, cl_sent_sid;
static uint8_t *cl_out, *cl_payload, *cl_in;
static uint32_t cl_olen, cl_opos, cl_ilen;
static bool cl_warned;
static bool cl_kicked;

static const handle_t cl_handle = ((handle_t)K_EVENTS << 56) | (1ull << 32);

static void cl_event(handle_t h, uint32_t events);
static void cl_kick(void);
static void events_sweep(void);

void
events_init(const char *address, const char *ns, uint32_t max_events,
    uint32_t max_bytes)
{
	if (strncmp(address, "unix://", 7) == 0)
		address += 7;
	snprintf(ev_addr, sizeof(ev_addr), "%s", address);
	ev_ns = ns;
	ev_cap = max_events;
	ev_rcap = max_bytes;
	ev_q = region_reserve(sizeof(*ev_q) * max_events);
	ev_ring = region_reserve(max_bytes);
	cl_out = region_reserve(max_bytes + EV_OVERHEAD);
	cl_payload = region_reserve(max_bytes + EV_OVERHEAD);
	cl_in = region_reserve(EV_RECV);
	rfd_init(&cl_rfd, -1, cl_handle);
	reactor_handler(K_EVENTS, cl_event);
	reactor_sweep(events_sweep);
}

uint32_t
events_pending(void)
{
	return ev_count;
}

uint64_t
events_dropped(void)
{
	return ev_drops;
}

static struct ev *
ev_at(uint64_t abs)
{
	return &ev_q[abs % ev_cap];
}

/* Contiguous room for len bytes in the ring, or -1. */
static int64_t
ring_alloc(uint32_t len)
{
	if (ev_count == 0)
		ev_rstart = ev_rend = 0;
	if (ev_rend >= ev_rstart) {
		if (ev_rcap - ev_rend >= len)
			return ev_rend;
		if (ev_rstart > len)
			return 0;
		return -1;
	}
	if (ev_rstart - ev_rend > len)
		return ev_rend;
	return -1;
}

static int64_t
ev_push(const char *topic, const char *type, const pb_msgdesc_t *fields,
    const void *msg, uint32_t pid_field, bool pending)
{
	size_t len = 0, extra = pending ? 6 : 0;
	struct timespec ts;
	pb_ostream_t os;
	struct ev *e;
	int64_t off;

	if (!pb_get_encoded_size(&len, fields, msg))
		return -EINVAL;
	if (len + extra > ev_rcap) {
		ev_drops++;
		log_error("event %s of %zu bytes is larger than the event "
		    "buffer (%u bytes, NANOSHIM_EVENT_BYTES): dropped", topic,
		    len + extra, ev_rcap);
		return -E2BIG;
	}
	off = ev_count < ev_cap ? ring_alloc((uint32_t)(len + extra)) : -1;
	if (off < 0) {
		ev_drops++;
		log_error("event queue full (%u events, %u bytes; "
		    "NANOSHIM_EVENTS, NANOSHIM_EVENT_BYTES): dropped %s, "
		    "%llu dropped so far", ev_cap, ev_rcap, topic,
		    (unsigned long long)ev_drops);
		return -ENOSPC;
	}
	os = pb_ostream_from_buffer(ev_ring + off, len);
	if (!pb_encode(&os, fields, msg))
		return -EINVAL;
	e = ev_at(ev_head + ev_count);
	memset(e, 0, sizeof(*e));
	e->e_off = (uint32_t)off;
	e->e_len = (uint32_t)(len + extra);
	e->e_pidpos = ~0u;
	if (pending) {
		uint8_t *p = ev_ring + off + len;

		/* Field tag, then a 5-byte varint patched by events_complete. */
		p[0] = (uint8_t)(pid_field << 3);
		memcpy(p + 1, "\x80\x80\x80\x80\x00", 5);
		e->e_pidpos = (uint32_t)len + 1;
	}
	e->e_state = pending ? EV_PENDING : EV_READY;
	e->e_topic = topic;
	e->e_type = type;
	clock_gettime(CLOCK_REALTIME, &ts);
	e->e_sec = ts.tv_sec;
	e->e_nsec = (int32_t)ts.tv_nsec;
	ev_rend = (uint32_t)off + e->e_len;
	ev_count++;
	cl_kick();
	return (int64_t)(ev_head + ev_count);
}

int
events_publish(const char *topic, const char *type,
    const pb_msgdesc_t *fields, const void *msg)
{
	int64_t t = ev_push(topic, type, fields, msg, 0, false);

	return t < 0 ? (int)t : 0;
}

int64_t
events_reserve(const char *topic, const char *type,
    const pb_msgdesc_t *fields, const void *msg, uint32_t pid_field)
{
	return ev_push(topic, type, fields, msg, pid_field, true);
}

static struct ev *
ev_ticket(int64_t ticket)
{
	uint64_t abs;

	if (ticket <= 0)
		return NULL;
	abs = (uint64_t)ticket - 1;
	if (abs < ev_head || abs >= ev_head + ev_count)
		return NULL;
	return ev_at(abs);
}

void
events_complete(int64_t ticket, uint32_t pid)
{
	struct ev *e = ev_ticket(ticket);
	uint8_t *p;
	int i;

	if (e == NULL || e->e_state != EV_PENDING)
		return;
	p = ev_ring + e->e_off + e->e_pidpos;
	/* A varint in exactly 5 bytes: legal, if not the shortest form. */
	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(((pid >> (7 * i)) & 0x7f) | 0x80);
	p[4] = (uint8_t)(pid >> 28);
	e->e_state = EV_READY;
	cl_kick();
}

void
events_cancel(int64_t ticket)
{
	struct ev *e = ev_ticket(ticket);

	if (e && e->e_state == EV_PENDING) {
		e->e_state = EV_DEAD;
		cl_kick();
	}
}

static void
ev_pop(void)
{
	ev_head++;
	ev_count--;
	if (ev_count > 0)
		ev_rstart = ev_at(ev_head)->e_off;
	else
		ev_rstart = ev_rend = 0;
}

static void
cl_disconnect(void)
{
	rfd_close(&cl_rfd);
	rfd_init(&cl_rfd, -1, cl_handle);
	cl_olen = cl_opos = cl_ilen = 0;
}

static void
cl_backoff_for(uint32_t ms)
{
	cl_state = CL_BACKOFF;
	rtimer_set(&cl_timer, cl_handle, now_ms() + ms);
}

/* The connection broke or could not be made: keep the event, retry. */
static void
cl_lost(const char *why, int err)
{
	if (!cl_warned)
		log_warnx("events: %s %s: %s; retrying", why, ev_addr,
		    strerror(err));
	cl_warned = true;
	cl_disconnect();
	cl_backoff = cl_backoff ? cl_backoff * 2 : 100;
	if (cl_backoff > EV_BACKOFF_MAX)
		cl_backoff = EV_BACKOFF_MAX;
	cl_backoff_for(cl_backoff);
}

static bool
cl_encode(struct ev *e)
{
	containerd_services_events_ttrpc_v1_ForwardRequest fwd;
	ttrpc_Request req;
	ttrpc_KeyValue kv;
	uint8_t kvbuf[256];
	size_t plen, rlen;
	pb_ostream_t os;

	memset(&fwd, 0, sizeof(fwd));
	memset(&req, 0, sizeof(req));
	memset(&kv, 0, sizeof(kv));
	fwd.has_envelope = true;
	fwd.envelope.has_timestamp = true;
	fwd.envelope.timestamp.seconds = e->e_sec;
	fwd.envelope.timestamp.nanos = e->e_nsec;
	pbs_setstr(&fwd.envelope.namespace, ev_ns);
	pbs_setstr(&fwd.envelope.topic, e->e_topic);
	fwd.envelope.has_event = true;
	pbs_setstr(&fwd.envelope.event.type_url, e->e_type);
	pbs_set(&fwd.envelope.event.value, ev_ring + e->e_off, e->e_len);
	os = pb_ostream_from_buffer(cl_payload, ev_rcap + EV_OVERHEAD);
	if (!pb_encode(&os, containerd_services_events_ttrpc_v1_ForwardRequest_fields, &fwd))
		return false;
	plen = os.bytes_written;

	pbs_reset();
	pbs_setstr(&kv.key, "containerd-namespace-ttrpc");
	pbs_setstr(&kv.value, ev_ns);
	os = pb_ostream_from_buffer(kvbuf, sizeof(kvbuf));
	if (!pb_encode(&os, ttrpc_KeyValue_fields, &kv))
		return false;
	pbs_setstr(&req.service, EV_SERVICE);
	pbs_setstr(&req.method, "Forward");
	pbs_set(&req.payload, cl_payload, plen);
	req.timeout_nano = (int64_t)EV_TIMEOUT_MS * 1000000;
	if (pbs_add(&req.metadata, kvbuf, os.bytes_written) < 0)
		return false;
	os = pb_ostream_from_buffer(cl_out + NS_FRAME_HDR,
	    ev_rcap + EV_OVERHEAD - NS_FRAME_HDR);
	if (!pb_encode(&os, ttrpc_Request_fields, &req))
		return false;
	rlen = os.bytes_written;
	cl_sent_sid = cl_sid;
	cl_sid += 2;
	ttrpc_hdr_put(cl_out, (uint32_t)rlen, cl_sent_sid, TTRPC_REQUEST, 0);
	cl_olen = (uint32_t)(NS_FRAME_HDR + rlen);
	cl_opos = 0;
	return true;
}

static void
cl_connect(void)
{
	struct sockaddr_un sa;
	int fd;

	if (ev_addr[0] == '\0') {
		/* No TTRPC_ADDRESS: nothing to publish to; keep quiet. */
		while (ev_count > 0)
			ev_pop();
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cl_lost("socket", errno);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, ev_addr, strlen(ev_addr));
	rfd_init(&cl_rfd, fd, cl_handle);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS && errno != EAGAIN) {
		cl_lost("connect", errno);
		return;
	}
	cl_state = CL_CONNECT;
	rfd_want(&cl_rfd, EPOLLOUT);
	rtimer_set(&cl_timer, cl_handle, now_ms() + EV_TIMEOUT_MS);
}

/* Start sending the head event if there is one ready. */
static void
cl_next(void)
{
	struct ev *e;

	while (ev_count > 0 && ev_at(ev_head)->e_state == EV_DEAD)
		ev_pop();
	if (ev_count == 0 || ev_at(ev_head)->e_state != EV_READY) {
		cl_state = CL_IDLE;
		if (rfd_open(&cl_rfd))
			rfd_want(&cl_rfd, EPOLLIN);
		return;
	}
	if (!rfd_open(&cl_rfd)) {
		cl_connect();
		return;
	}
	e = ev_at(ev_head);
	if (!cl_encode(e)) {
		log_error("events: cannot encode %s: dropped", e->e_topic);
		ev_drops++;
		ev_pop();
		cl_next();
		return;
	}
	cl_state = CL_SEND;
	cl_ilen = 0;
	rtimer_set(&cl_timer, cl_handle, now_ms() + EV_TIMEOUT_MS);
	rfd_want(&cl_rfd, EPOLLOUT | EPOLLIN);
}

/*
 * Sending starts from the sweep, never from inside a request handler: the
 * encoder reuses the pbs arena that the handler's request still lives in.
 */
static void
cl_kick(void)
{
	cl_kicked = true;
}

static void
events_sweep(void)
{
	if (cl_kicked && cl_state == CL_IDLE) {
		cl_kicked = false;
		cl_next();
	}
}

/* The reply to the Forward in flight arrived. */
static void
cl_reply(const uint8_t *body, uint32_t len)
{
	ttrpc_Response rsp;
	struct ev *e = ev_at(ev_head);

	pbs_reset();
	rtimer_cancel(&cl_timer);
	if (pbs_decode(ttrpc_Response_fields, &rsp, body, len, NULL) == 0 &&
	    (!rsp.has_status || rsp.status.code == GRPC_OK)) {
		log_debug("event forwarded: %s", e->e_topic);
		cl_backoff = 0;
		cl_warned = false;
		ev_pop();
		cl_next();
		return;
	}
	if (++e->e_tries >= EV_TRIES) {
		ev_drops++;
		log_error("events: containerd refused %s %u times (%.*s): "
		    "dropped", e->e_topic, EV_TRIES,
		    (int)rsp.status.message.len,
		    (const char *)rsp.status.message.p);
		ev_pop();
		cl_next();
		return;
	}
	log_warnx("events: forward %s failed (%.*s); retry in %u s",
	    e->e_topic, (int)rsp.status.message.len,
	    (const char *)rsp.status.message.p, e->e_tries);
	rfd_want(&cl_rfd, EPOLLIN);
	cl_backoff_for(1000u * e->e_tries);
}

static void
cl_read(void)
{
	unsigned budget = 16;

	while (budget-- > 0 && rfd_open(&cl_rfd)) {
		uint32_t len, sid;
		uint8_t type;
		ssize_t n;

		n = read(cl_rfd.rf_fd, cl_in + cl_ilen, EV_RECV - cl_ilen);
		if (n == 0 && cl_state == CL_IDLE) {
			/* containerd went away between events: reconnect later. */
			cl_disconnect();
			return;
		}
		if (n == 0) {
			cl_lost("connection closed by", ECONNRESET);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				cl_lost("read from", errno);
			return;
		}
		cl_ilen += (uint32_t)n;
		while (cl_ilen >= NS_FRAME_HDR) {
			ttrpc_hdr_get(cl_in, &len, &sid, &type, NULL);
			if (len > EV_RECV - NS_FRAME_HDR) {
				cl_lost("oversized reply from", EPROTO);
				return;
			}
			if (cl_ilen < NS_FRAME_HDR + len)
				break;
			/* Late replies to an abandoned try are ignored. */
			if (type == TTRPC_RESPONSE && sid == cl_sent_sid &&
			    cl_state == CL_RECV)
				cl_reply(cl_in + NS_FRAME_HDR, len);
			/* The reply may have dropped the connection. */
			if (!rfd_open(&cl_rfd) || cl_ilen < NS_FRAME_HDR + len)
				return;
			memmove(cl_in, cl_in + NS_FRAME_HDR + len,
			    cl_ilen - NS_FRAME_HDR - len);
			cl_ilen -= NS_FRAME_HDR + len;
		}
	}
}

static void
cl_write(void)
{
	while (cl_opos < cl_olen) {
		ssize_t n = send(cl_rfd.rf_fd, cl_out + cl_opos,
		    cl_olen - cl_opos, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			cl_opos += (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		cl_lost("write to", errno);
		return;
	}
	if (cl_olen > (256u << 10)) {
		region_release(cl_out, cl_olen);
		region_release(cl_payload, cl_olen);
	}
	cl_state = CL_RECV;
	rfd_want(&cl_rfd, EPOLLIN);
}

static void
cl_event(handle_t h, uint32_t events)
{
	(void)h;
	if (events == REACTOR_TIMEOUT) {
		switch (cl_state) {
		case CL_BACKOFF:
			cl_state = CL_IDLE;
			cl_next();
			break;
		case CL_CONNECT:
			cl_lost("connect timed out to", ETIMEDOUT);
			break;
		case CL_SEND:
		case CL_RECV:
			/* Abandon this stream; reconnecting is the cure. */
			cl_lost("forward timed out to", ETIMEDOUT);
			break;
		default:
			break;
		}
		return;
	}
	if (!rfd_open(&cl_rfd))
		return;
	if (cl_state == CL_CONNECT) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(cl_rfd.rf_fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
			cl_lost("connect", err ? err : ECONNREFUSED);
			return;
		}
		rtimer_cancel(&cl_timer);
		log_debug("events: connected to %s", ev_addr);
		cl_next();
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		cl_read();
	if (rfd_open(&cl_rfd) && cl_state == CL_SEND && (events & EPOLLOUT))
		cl_write();
	if (rfd_open(&cl_rfd) && cl_state == CL_IDLE && (events & EPOLLHUP))
		cl_disconnect();
}
