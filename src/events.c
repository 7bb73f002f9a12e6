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
 * is back).  A Forward containerd does not answer within 5 s is not sent
 * again (containerd would handle it twice): the shim waits on the same
 * connection.  An error reply is retried after 1 s, 2 s, ... like the Go
 * publisher, and the event dropped after 5 tries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "layout.h"
#include "bounds.h"
#include "events.h"
#include "log.h"
#include "pbs.h"
#include "reactor.h"
#include "status.h"
#include "ttrpc.h"
#include "ttrpc.pb.h"

#define EV_SERVICE	"containerd.services.events.ttrpc.v1.Events"
#define EV_TIMEOUT_MS	5000u
#define EV_TRIES	5u
#define EV_BACKOFF_MAX	2000u
/* containerd's reply to Forward is an empty Response or a short status. */
#define EV_RECV		1000u
/* Everything of a Forward frame before the event bytes, and after. */
#define EV_HEAD		512u
#define EV_TAIL		256u

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

/*
 * The queue starts over at entry 0 whenever it drains, so its first
 * entries are the ones in use nearly all the time: they live in the hot
 * area (pool.h), the rest, for bursts and an absent containerd, apart.
 */
#define EV_QHOT		8
static struct ev *ev_qhot, *ev_q;
static uint32_t ev_cap, ev_count;
static uint64_t ev_head;		/* absolute index of the oldest */
static uint8_t *ev_ring;
static uint32_t ev_rcap, ev_rstart, ev_rend;
static uint32_t ev_rhwm;		/* the ring's bytes used since a rest */
static uint64_t ev_drops;

static char ev_addr[sizeof(((struct sockaddr_un *)0)->sun_path)];
static const char *ev_ns;
static enum cl_state cl_state;
static struct rfd cl_rfd;
static struct rtimer cl_timer;
static uint32_t cl_backoff;
static uint32_t cl_sid = 1, cl_sent_sid;
/*
 * A Forward goes out as three pieces: the frame header and every field up
 * to the event's bytes (built in cl_head), the event's bytes straight
 * from the ring, and the request's trailing fields (cl_tail).  No copy of
 * the event is made.  The three buffers sit just ahead of the ring, in
 * its reservation: in use only while events flow, and given back with
 * the ring's pages when it drains (events_rest).
 */
#define EV_BUFS		(EV_HEAD + EV_TAIL + EV_RECV)
static uint8_t *cl_head, *cl_tail, *cl_in;
static struct iovec cl_iov[3];
static uint32_t cl_ilen;
static bool cl_warned;
static bool cl_kicked;
static bool cl_slow;	/* the Forward in flight outlived its timeout */

static const handle_t cl_handle = ((handle_t)K_EVENTS << 56) | (1ull << 32);

static void cl_event(handle_t h, uint32_t events);
static void cl_kick(void);
static void events_sweep(void);
static void events_rest(void);

NS_IDLE void
events_init(const char *address, const char *ns, uint32_t max_events,
    uint32_t max_bytes)
{
	if (strncmp(address, "unix://", 7) == 0)
		address += 7;
	snprintf(ev_addr, sizeof(ev_addr), "%s", address);
	ev_ns = ns;
	ev_cap = max_events;
	ev_rcap = max_bytes;
	ev_qhot = region_reserve_hot(sizeof(*ev_q) *
	    (max_events < EV_QHOT ? max_events : EV_QHOT));
	if (max_events > EV_QHOT)
		ev_q = region_reserve(sizeof(*ev_q) * (max_events - EV_QHOT));
	cl_head = region_reserve(EV_BUFS + (size_t)max_bytes);
	cl_tail = cl_head + EV_HEAD;
	cl_in = cl_tail + EV_TAIL;
	ev_ring = cl_in + EV_RECV;
	rfd_init(&cl_rfd, -1, cl_handle);
	reactor_handler(K_EVENTS, cl_event);
	reactor_sweep(events_sweep);
	reactor_on_rest(events_rest);
}

/* The loop rests: a drained ring gives its pages back (reactor.h). */
static void
events_rest(void)
{
	size_t n;

	if (ev_count > 0 || ev_rhwm == 0 || cl_ilen > 0)
		return;
	/* Whole pages of the reservation only (it may share its last). */
	n = ((size_t)EV_BUFS + ev_rhwm + 4095) & ~(size_t)4095;
	region_release(cl_head, n < EV_BUFS + (size_t)ev_rcap ? n :
	    EV_BUFS + (size_t)ev_rcap);
	ev_rhwm = 0;
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
	uint32_t i = (uint32_t)(abs % ev_cap);

	return i < EV_QHOT ? &ev_qhot[i] : &ev_q[i - EV_QHOT];
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
	if (ev_rend > ev_rhwm)
		ev_rhwm = ev_rend;
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
	if (ev_count > 0) {
		ev_rstart = ev_at(ev_head)->e_off;
		return;
	}
	/*
	 * Empty: start over at the front of the entry table and the ring, so
	 * the queue keeps using the same (already resident) memory.  No ticket
	 * is outstanding, since reserved entries count as queued.
	 */
	ev_rstart = ev_rend = 0;
	ev_head = 0;
}

static void
cl_disconnect(void)
{
	cl_slow = false;
	rfd_close(&cl_rfd);
	rfd_init(&cl_rfd, -1, cl_handle);
	memset(cl_iov, 0, sizeof(cl_iov));
	cl_ilen = 0;
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

/* Protobuf pieces, written backwards-free: tag, then varint. */
static size_t
pb_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v > 0x7f) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Tag + length of a length-delimited field (wire type 2). */
static size_t
pb_lenfield(uint8_t *p, unsigned field, size_t len)
{
	p[0] = (uint8_t)(field << 3 | 2);
	return 1 + pbs_varint(p + 1, len);
}

static size_t
pb_strfield(uint8_t *p, unsigned field, const char *s)
{
	size_t n = strlen(s), k = pb_lenfield(p, field, n);

	memcpy(p + k, s, n);
	return k + n;
}

/*
 * Build the Forward for e: Request{service 1, method 2, payload 3 =
 * ForwardRequest{envelope 1 = Envelope{timestamp 1, namespace 2, topic 3,
 * event 4 = Any{type_url 1, value 2 = <ring bytes>}}}, timeout_nano 4,
 * metadata 5 = KeyValue{"containerd-namespace-ttrpc", ns}}.  The lengths
 * nest, so they are computed inside out first.
 */
static bool
cl_encode(struct ev *e)
{
	static const char svc[] = EV_SERVICE, key[] = "containerd-namespace-ttrpc";
	size_t nsl = strlen(ev_ns), topl = strlen(e->e_topic);
	size_t urll = strlen(e->e_type), vl = e->e_len;
	size_t tsl, anyl, envl, fwdl, kvl, reql, h = NS_FRAME_HDR, t = 0;
	uint64_t timeout = (uint64_t)EV_TIMEOUT_MS * 1000000;

	if (nsl > 128 || topl > 64 || urll > 128)
		return false;
	tsl = (e->e_sec ? 1 + pb_varint_len((uint64_t)e->e_sec) : 0) +
	    (e->e_nsec ? 1 + pb_varint_len((uint64_t)e->e_nsec) : 0);
	anyl = 1 + pb_varint_len(urll) + urll + 1 + pb_varint_len(vl) + vl;
	envl = 1 + pb_varint_len(tsl) + tsl + 1 + pb_varint_len(nsl) + nsl +
	    1 + pb_varint_len(topl) + topl + 1 + pb_varint_len(anyl) + anyl;
	fwdl = 1 + pb_varint_len(envl) + envl;
	kvl = 1 + 1 + sizeof(key) - 1 + 1 + pb_varint_len(nsl) + nsl;
	reql = 1 + 1 + sizeof(svc) - 1 + 1 + 1 + 7 + 1 + pb_varint_len(fwdl) +
	    fwdl + 1 + pb_varint_len(timeout) + 1 + pb_varint_len(kvl) + kvl;

	h += pb_strfield(cl_head + h, 1, svc);
	h += pb_strfield(cl_head + h, 2, "Forward");
	h += pb_lenfield(cl_head + h, 3, fwdl);
	h += pb_lenfield(cl_head + h, 1, envl);
	h += pb_lenfield(cl_head + h, 1, tsl);
	if (e->e_sec) {
		cl_head[h++] = 0x08;
		h += pbs_varint(cl_head + h, (uint64_t)e->e_sec);
	}
	if (e->e_nsec) {
		cl_head[h++] = 0x10;
		h += pbs_varint(cl_head + h, (uint64_t)e->e_nsec);
	}
	h += pb_strfield(cl_head + h, 2, ev_ns);
	h += pb_strfield(cl_head + h, 3, e->e_topic);
	h += pb_lenfield(cl_head + h, 4, anyl);
	h += pb_strfield(cl_head + h, 1, e->e_type);
	h += pb_lenfield(cl_head + h, 2, vl);

	cl_tail[t++] = 0x20;
	t += pbs_varint(cl_tail + t, timeout);
	t += pb_lenfield(cl_tail + t, 5, kvl);
	t += pb_strfield(cl_tail + t, 1, key);
	t += pb_strfield(cl_tail + t, 2, ev_ns);

	if (h - NS_FRAME_HDR + vl + t != reql)
		return false;
	cl_sent_sid = cl_sid;
	cl_sid += 2;
	ttrpc_hdr_put(cl_head, (uint32_t)reql, cl_sent_sid, TTRPC_REQUEST, 0);
	cl_iov[0] = (struct iovec){ cl_head, h };
	cl_iov[1] = (struct iovec){ ev_ring + e->e_off, vl };
	cl_iov[2] = (struct iovec){ cl_tail, t };
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

NS_IDLE static void
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
	if (cl_slow)
		log_info("events: %s answered again", ev_addr);
	cl_slow = false;
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
	struct msghdr mh;
	unsigned first = 0;

	for (;;) {
		ssize_t n;

		while (first < 3 && cl_iov[first].iov_len == 0)
			first++;
		if (first == 3)
			break;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = cl_iov + first;
		mh.msg_iovlen = 3 - first;
		n = sendmsg(cl_rfd.rf_fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			cl_lost("write to", n < 0 ? errno : EPIPE);
			return;
		}
		/* Drop what went out from the front of the pieces. */
		for (unsigned i = first; i < 3 && n > 0; i++) {
			size_t k = (size_t)n < cl_iov[i].iov_len ? (size_t)n :
			    cl_iov[i].iov_len;

			cl_iov[i].iov_base = (uint8_t *)cl_iov[i].iov_base + k;
			cl_iov[i].iov_len -= k;
			n -= (ssize_t)k;
		}
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
			/*
			 * containerd is slow or stopped, not gone (a closed
			 * connection reads as EOF): the Forward stays pending
			 * where it is and is answered once containerd gets to
			 * it.  Sent again on a new connection it would arrive
			 * twice, as containerd still handles the first one.
			 */
			if (!cl_slow)
				log_warnx("events: no answer from %s for %u s "
				    "(%s); still waiting", ev_addr,
				    EV_TIMEOUT_MS / 1000,
				    ev_at(ev_head)->e_topic);
			cl_slow = true;
			rtimer_set(&cl_timer, cl_handle, now_ms() +
			    EV_TIMEOUT_MS);
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
