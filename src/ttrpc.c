/*
 * ttrpc - see ttrpc.h.
 *
 * Reading: a connection reads into a scratch buffer and cuts frames out
 * of it; only the bytes of a frame that is not complete yet are copied
 * into the connection's own 16 KiB buffer, which is therefore untouched
 * (and costs no memory) while requests arrive whole, as they do.  A frame too big for that buffer borrows the single shared
 * 4 MiB buffer; while another connection holds it, this one stops reading
 * until it is handed over (a queue of waiters).  After a large frame the
 * pages it touched are given back (madvise), so one 4 MiB exec spec does
 * not leave 4 MiB resident.  A frame over 4 MiB is read and thrown away,
 * then answered RESOURCE_EXHAUSTED on its stream; the connection lives on.
 *
 * Writing: replies are encoded in scratch and written at once; only what
 * the socket does not take is kept in the connection's output buffer
 * until EPOLLOUT.  A request is only taken off the input once the output buffer
 * has room for the largest reply, which is the back-pressure on a client
 * that sends but does not read.
 *
 * Teardown: handlers only mark a connection dead (the reason is kept);
 * the close itself happens at the end of its event or in the sweep, so no
 * caller ever holds a pointer to a freed slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "layout.h"
#include "bounds.h"
#include "log.h"
#include "pbs.h"
#include "reactor.h"
#include "scratch.h"
#include "status.h"
#include "ttrpc.h"
#include "ttrpc.pb.h"

/*
 * While another connection waits for the buffer, a large frame must come
 * in at BIG_MIN_BYTES per BIG_STALL_MS at least, or it loses the buffer
 * (a local client writes 4 MiB in milliseconds; one that stops or
 * trickles is stuck or hostile).
 */
#define BIG_STALL_MS	1000u
#define BIG_MIN_BYTES	(64u << 10)

enum conn_state {
	C_BUF,		/* frames come through c_in */
	C_BIG,		/* a large frame's body goes into the big buffer */
	C_DRAIN,	/* an oversized frame's body is thrown away */
};

struct conn {
	struct rfd c_rfd;
	enum conn_state c_state;
	const char *c_dead;	/* why it is closing, or NULL */
	bool c_reject;		/* over the limit: refuse every request */
	bool c_wait_big;	/* queued for the big buffer */
	bool c_big_ready;	/* a complete large frame awaits output room */
	uint32_t c_next_big;	/* big-buffer queue link, index + 1 */
	uint32_t c_ipos, c_ilen;	/* unparsed bytes in c_in */
	uint32_t c_len, c_sid, c_got;	/* the frame being read */
	uint8_t c_type;
	uint32_t c_opos, c_olen;	/* unsent bytes in c_out */
	uint32_t c_big_seen;	/* c_got at the last stall check */
	struct rtimer c_timer;	/* stall check while holding the big buffer */
	uint8_t *c_in;		/* partial frames kept between reads */
	uint8_t *c_ibuf;	/* where unparsed bytes are: c_in or scratch */
	uint8_t *c_out;		/* reply bytes the socket did not take */
};

struct service {
	const char *sv_name;
	ttrpc_service_fn *sv_fn;
};

static struct pool conn_pool;
static uint32_t conn_limit;
static uint32_t conn_served;	/* connections being served (not refused) */
static uint8_t *conn_inbufs, *conn_outbufs;
static uint8_t *ttrpc_big;
static handle_t ttrpc_big_owner;
static uint32_t big_head, big_tail;	/* connections waiting, index + 1 */
static struct rfd ttrpc_listen;
static struct service ttrpc_services[4];
static unsigned ttrpc_nservices;
static ttrpc_close_fn *ttrpc_closers[4];
static unsigned ttrpc_nclosers;
static unsigned ttrpc_ndead;
static int ttrpc_spare_fd = -1;
static rlim_t ttrpc_fdmax;

static void conn_event(handle_t h, uint32_t events);
static void listen_event(handle_t h, uint32_t events);
static void ttrpc_sweep(void);
static void conn_pump(struct conn *c);

void
ttrpc_hdr_put(uint8_t h[10], uint32_t len, uint32_t sid, uint8_t type,
    uint8_t flags)
{
	h[0] = (uint8_t)(len >> 24);
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
	h[4] = (uint8_t)(sid >> 24);
	h[5] = (uint8_t)(sid >> 16);
	h[6] = (uint8_t)(sid >> 8);
	h[7] = (uint8_t)sid;
	h[8] = type;
	h[9] = flags;
}

void
ttrpc_hdr_get(const uint8_t h[10], uint32_t *len, uint32_t *sid,
    uint8_t *type, uint8_t *flags)
{
	*len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
	    (uint32_t)h[2] << 8 | h[3];
	*sid = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 |
	    (uint32_t)h[6] << 8 | h[7];
	*type = h[8];
	if (flags)
		*flags = h[9];
}

NS_IDLE void
ttrpc_init(int listen_fd, uint32_t max_conns)
{
	struct rlimit rl;

	conn_limit = max_conns;
	/* One slot more than the limit: it answers the refused client. */
	pool_init(&conn_pool, "connections", K_CONN, sizeof(struct conn),
	    max_conns + 1);
	conn_inbufs = region_reserve((size_t)NS_CONN_INBUF * (max_conns + 1));
	conn_outbufs = region_reserve((size_t)NS_CONN_OUTBUF *
	    (max_conns + 1));
	ttrpc_big = region_reserve(NS_FRAME_MAX);
	reactor_handler(K_CONN, conn_event);
	reactor_handler(K_LISTEN, listen_event);
	reactor_sweep(ttrpc_sweep);
	fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	rfd_init(&ttrpc_listen, listen_fd, handle_make(K_LISTEN, 1, 0));
	if (rfd_want(&ttrpc_listen, EPOLLIN) < 0)
		fatal("epoll_ctl listener");
	/* The fd reserve: accepts stop this far below RLIMIT_NOFILE. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		rl.rlim_cur = 1024;
	ttrpc_fdmax = rl.rlim_cur > NS_FD_RESERVE * 2 ?
	    rl.rlim_cur - NS_FD_RESERVE : rl.rlim_cur / 2;
	ttrpc_spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

NS_IDLE void
ttrpc_service(const char *name, ttrpc_service_fn *fn)
{
	if (ttrpc_nservices < sizeof(ttrpc_services) /
	    sizeof(ttrpc_services[0])) {
		ttrpc_services[ttrpc_nservices].sv_name = name;
		ttrpc_services[ttrpc_nservices++].sv_fn = fn;
	}
}

NS_IDLE void
ttrpc_on_close(ttrpc_close_fn *fn)
{
	if (ttrpc_nclosers < sizeof(ttrpc_closers) / sizeof(ttrpc_closers[0]))
		ttrpc_closers[ttrpc_nclosers++] = fn;
}

void
ttrpc_stop_listening(void)
{
	rfd_close(&ttrpc_listen);
}

uint32_t
ttrpc_conns(void)
{
	return conn_pool.pl_used;
}

bool
ttrpc_ref_live(struct ttrpc_ref ref)
{
	struct conn *c = pool_get(&conn_pool, ref.r_conn);

	return c != NULL && c->c_dead == NULL;
}

static struct conn *
conn_at(uint32_t idx1)
{
	return pool_slot(&conn_pool, idx1 - 1);
}

static void
conn_kill(struct conn *c, const char *why)
{
	if (c->c_dead == NULL) {
		c->c_dead = why;
		ttrpc_ndead++;
	}
}

/* Hand the big buffer to the next waiting connection, if any. */
static void
big_release(void)
{
	ttrpc_big_owner = HANDLE_NONE;
	while (big_head) {
		struct conn *c = conn_at(big_head);

		big_head = c->c_next_big;
		if (big_head == 0)
			big_tail = 0;
		c->c_wait_big = false;
		c->c_next_big = 0;
		if (c->c_dead)
			continue;
		conn_pump(c);
		if (ttrpc_big_owner != HANDLE_NONE)
			return;
	}
}

static void
big_wait(struct conn *c)
{
	uint32_t idx = handle_index(pool_handle(&conn_pool, c)) + 1;

	if (c->c_wait_big)
		return;
	c->c_wait_big = true;
	c->c_next_big = 0;
	if (big_tail)
		conn_at(big_tail)->c_next_big = idx;
	else
		big_head = idx;
	big_tail = idx;
}

static void
big_unqueue(struct conn *c)
{
	uint32_t idx = handle_index(pool_handle(&conn_pool, c)) + 1;
	uint32_t *link = &big_head, prev = 0;

	while (*link && *link != idx) {
		prev = *link;
		link = &conn_at(*link)->c_next_big;
	}
	if (*link == idx) {
		*link = c->c_next_big;
		if (big_tail == idx)
			big_tail = prev;
	}
	c->c_wait_big = false;
}

static void
conn_close(struct conn *c)
{
	handle_t h = pool_handle(&conn_pool, c);
	unsigned i;

	if (strcmp(c->c_dead, "closed by peer") == 0)
		log_debug("connection closed by peer");
	else
		log_info("closing connection: %s", c->c_dead);
	for (i = 0; i < ttrpc_nclosers; i++)
		ttrpc_closers[i](h);
	if (!c->c_reject)
		conn_served--;
	rfd_close(&c->c_rfd);
	rtimer_cancel(&c->c_timer);
	if (c->c_wait_big)
		big_unqueue(c);
	/* Touched buffer pages go back, so a closed connection costs 0. */
	region_release(c->c_in, NS_CONN_INBUF);
	region_release(c->c_out, NS_CONN_OUTBUF);
	pool_give(&conn_pool, h);
	if (ttrpc_big_owner == h) {
		region_release(ttrpc_big, NS_FRAME_MAX);
		big_release();
	}
}

static void
conn_flush(struct conn *c)
{
	while (c->c_opos < c->c_olen) {
		ssize_t n = send(c->c_rfd.rf_fd, c->c_out + c->c_opos,
		    c->c_olen - c->c_opos, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->c_opos += (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		conn_kill(c, "write failed");
		return;
	}
	c->c_opos = c->c_olen = 0;
}

/* Make room for need more bytes at the end of c_out; NULL if none. */
static uint8_t *
conn_room(struct conn *c, size_t need)
{
	conn_flush(c);
	if (c->c_opos > 0 && NS_CONN_OUTBUF - c->c_olen < need) {
		memmove(c->c_out, c->c_out + c->c_opos, c->c_olen - c->c_opos);
		c->c_olen -= c->c_opos;
		c->c_opos = 0;
	}
	if (NS_CONN_OUTBUF - c->c_olen < need)
		return NULL;
	return c->c_out + c->c_olen;
}

/*
 * Send len bytes at p (scratch): straight to the socket when nothing is
 * queued before them, the rest into c_out.  -ENOBUFS kills the connection.
 */
static int
conn_send(struct conn *c, const uint8_t *p, size_t len)
{
	uint8_t *room;
	ssize_t n;

	while (c->c_opos == c->c_olen && len > 0) {
		n = send(c->c_rfd.rf_fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		conn_kill(c, "write failed");
		return -EPIPE;
	}
	if (len == 0)
		return 0;
	room = conn_room(c, len);
	if (room == NULL) {
		conn_kill(c, "output buffer full (client not reading)");
		return -ENOBUFS;
	}
	memcpy(room, p, len);
	c->c_olen += (uint32_t)len;
	return 0;
}

static bool
conn_can_take(const struct conn *c)
{
	return NS_CONN_OUTBUF - (c->c_olen - c->c_opos) >=
	    NS_REPLY_MAX + NS_FRAME_HDR + 16;
}

static void
conn_update(struct conn *c)
{
	uint32_t want = 0;

	if (c->c_dead)
		return;
	if (!c->c_wait_big && !c->c_big_ready &&
	    (c->c_state != C_BUF || conn_can_take(c)))
		want |= EPOLLIN;
	if (c->c_opos < c->c_olen)
		want |= EPOLLOUT;
	if (rfd_want(&c->c_rfd, want) < 0)
		conn_kill(c, "epoll_ctl failed");
}

int
ttrpc_reply(struct ttrpc_ref ref, const pb_msgdesc_t *fields,
    const void *msg)
{
	struct conn *c = pool_get(&conn_pool, ref.r_conn);
	size_t inner = 0, total, mark;
	pb_ostream_t os;
	uint8_t *p;
	int e;

	if (c == NULL || c->c_dead)
		return -ENOTCONN;
	if (msg && !pb_get_encoded_size(&inner, fields, msg))
		return ttrpc_reply_status(ref, GRPC_INTERNAL,
		    "ttrpc: error marshalling reply");
	if (inner > NS_REPLY_MAX) {
		char m[128];

		snprintf(m, sizeof(m), "reply of %zu bytes exceeds the limit "
		    "of %u bytes", inner, NS_REPLY_MAX);
		return ttrpc_reply_status(ref, GRPC_RESOURCE_EXHAUSTED, m);
	}
	/* Response{payload = 2}; an empty payload is an empty Response. */
	total = inner ? 1 + (inner < 128 ? 1 : inner < 16384 ? 2 : 3) +
	    inner : 0;
	mark = scratch_mark();
	p = scratch_alloc(NS_FRAME_HDR + total);
	ttrpc_hdr_put(p, (uint32_t)total, ref.r_sid, TTRPC_RESPONSE, 0);
	if (inner) {
		size_t k = NS_FRAME_HDR;

		p[k++] = 0x12;
		k += pbs_varint(p + k, inner);
		os = pb_ostream_from_buffer(p + k, inner);
		if (!pb_encode(&os, fields, msg) || os.bytes_written != inner) {
			scratch_back(mark);
			return ttrpc_reply_status(ref, GRPC_INTERNAL,
			    "ttrpc: error marshalling reply");
		}
	}
	e = conn_send(c, p, NS_FRAME_HDR + total);
	scratch_back(mark);
	conn_update(c);
	return e;
}

int
ttrpc_reply_status(struct ttrpc_ref ref, int code, const char *msg)
{
	struct conn *c = pool_get(&conn_pool, ref.r_conn);
	ttrpc_Response rsp;
	size_t len = 0, mark;
	pb_ostream_t os;
	uint8_t *p;
	int e;

	if (c == NULL || c->c_dead)
		return -ENOTCONN;
	memset(&rsp, 0, sizeof(rsp));
	rsp.has_status = true;
	rsp.status.code = code;
	pbs_set(&rsp.status.message, msg, strnlen(msg, 4096));
	if (!pb_get_encoded_size(&len, ttrpc_Response_fields, &rsp))
		return -EINVAL;
	mark = scratch_mark();
	p = scratch_alloc(NS_FRAME_HDR + len);
	ttrpc_hdr_put(p, (uint32_t)len, ref.r_sid, TTRPC_RESPONSE, 0);
	os = pb_ostream_from_buffer(p + NS_FRAME_HDR, len);
	e = pb_encode(&os, ttrpc_Response_fields, &rsp) ?
	    conn_send(c, p, NS_FRAME_HDR + len) : -EINVAL;
	scratch_back(mark);
	conn_update(c);
	return e;
}

static void
conn_statusf(struct conn *c, uint32_t sid, int code, const char *fmt,
    const char *arg)
{
	struct ttrpc_ref ref = { pool_handle(&conn_pool, c), sid };
	char m[512];

	snprintf(m, sizeof(m), fmt, arg);
	ttrpc_reply_status(ref, code, m);
}

/* Copy a string slice into a small NUL-terminated buffer. */
static void
slice_name(const struct pbs *s, char *dst, size_t cap)
{
	size_t n = s->len < cap - 1 ? s->len : cap - 1;

	if (n)
		memcpy(dst, s->p, n);
	dst[n] = '\0';
	/* Names are printed back in errors; keep them printable. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

/*
 * The frame capture build (make fuzz-capture, tests/fuzz/frame_dump.c)
 * keeps every frame served as a fuzz corpus input; elsewhere it is nothing.
 */
#ifdef NS_FRAME_DUMP
void ttrpc_frame_dump(uint32_t sid, uint8_t type, const uint8_t *body,
    uint32_t len);
#else
#define ttrpc_frame_dump(sid, type, body, len) ((void)0)
#endif

/* One complete frame. */
static void
conn_frame(struct conn *c, uint32_t sid, uint8_t type, const uint8_t *body,
    uint32_t len)
{
	static ttrpc_Request req;
	char *service = scratch_alloc(256), *method = scratch_alloc(256);
	struct ttrpc_call call;
	const char *err = NULL;
	unsigned i;

	ttrpc_frame_dump(sid, type, body, len);
	if (type != TTRPC_REQUEST) {
		/* ttrpc 1.1 servers ignore anything but requests. */
		log_debug("ignoring ttrpc message type %u on stream %u",
		    type, sid);
		return;
	}
	if ((sid & 1) == 0) {
		conn_statusf(c, sid, GRPC_INVALID_ARGUMENT, "%s",
		    "StreamID must be odd for client initiated streams");
		return;
	}
	if (c->c_reject) {
		char m[128];

		snprintf(m, sizeof(m), "too many connections (limit %u, "
		    "NANOSHIM_CONNS)", conn_limit);
		conn_statusf(c, sid, GRPC_RESOURCE_EXHAUSTED, "%s", m);
		return;
	}
	pbs_reset();
	if (pbs_decode(ttrpc_Request_fields, &req, body, len, &err) < 0) {
		conn_statusf(c, sid, GRPC_INVALID_ARGUMENT,
		    "unmarshal request error: %s", err);
		return;
	}
	slice_name(&req.service, service, 256);
	slice_name(&req.method, method, 256);
	for (i = 0; i < ttrpc_nservices; i++)
		if (strcmp(ttrpc_services[i].sv_name, service) == 0)
			break;
	if (i == ttrpc_nservices) {
		conn_statusf(c, sid, GRPC_UNIMPLEMENTED, "service %s", service);
		return;
	}
	call.tc_ref.r_conn = pool_handle(&conn_pool, c);
	call.tc_ref.r_sid = sid;
	call.tc_method = method;
	call.tc_payload = req.payload.p;
	call.tc_len = req.payload.len;
	call.tc_timeout_ns = req.timeout_nano;
	if (!ttrpc_services[i].sv_fn(&call))
		conn_statusf(c, sid, GRPC_UNIMPLEMENTED, "method %s", method);
}

static void
conn_oversize(struct conn *c, uint32_t sid, uint32_t len)
{
	char m[128];

	snprintf(m, sizeof(m), "message length %u exceed maximum message "
	    "size of %u", len, NS_FRAME_MAX);
	log_warnx("stream %u: %s", sid, m);
	conn_statusf(c, sid, GRPC_RESOURCE_EXHAUSTED, "%s", m);
}

/* Cut complete frames out of c_in; stop when blocked. */
static void
conn_parse(struct conn *c)
{
	size_t mark;

	while (c->c_state == C_BUF && !c->c_dead &&
	    c->c_ilen - c->c_ipos >= NS_FRAME_HDR) {
		uint8_t *h = c->c_ibuf + c->c_ipos, type;
		uint32_t len, sid, have = c->c_ilen - c->c_ipos - NS_FRAME_HDR;

		ttrpc_hdr_get(h, &len, &sid, &type, NULL);
		if (len > NS_FRAME_MAX) {
			uint32_t eat = have < len ? have : len;

			c->c_ipos += NS_FRAME_HDR + eat;
			if (eat < len) {
				c->c_state = C_DRAIN;
				c->c_len = len - eat;
			}
			conn_oversize(c, sid, len);
			continue;
		}
		if (len + NS_FRAME_HDR <= NS_CONN_INBUF) {
			if (have < len)
				break;
			if (!conn_can_take(c))
				break;
			c->c_ipos += NS_FRAME_HDR + len;
			/*
			 * What a request's handler puts in scratch is dead
			 * once it returns: many requests in one read must
			 * not pile up there.
			 */
			mark = scratch_mark();
			conn_frame(c, sid, type, h + NS_FRAME_HDR, len);
			scratch_back(mark);
			continue;
		}
		/* A large frame: it needs the shared buffer. */
		if (ttrpc_big_owner != HANDLE_NONE) {
			big_wait(c);
			break;
		}
		ttrpc_big_owner = pool_handle(&conn_pool, c);
		c->c_big_seen = have;
		rtimer_set(&c->c_timer, ttrpc_big_owner, now_ms() + BIG_STALL_MS);
		c->c_state = C_BIG;
		c->c_len = len;
		c->c_sid = sid;
		c->c_type = type;
		c->c_got = have;
		memcpy(ttrpc_big, h + NS_FRAME_HDR, have);
		c->c_ipos = c->c_ilen;
	}
	if (c->c_ipos == c->c_ilen) {
		c->c_ipos = c->c_ilen = 0;
	} else if (c->c_ipos > 0 && c->c_ilen > NS_CONN_INBUF / 2) {
		memmove(c->c_ibuf, c->c_ibuf + c->c_ipos, c->c_ilen - c->c_ipos);
		c->c_ilen -= c->c_ipos;
		c->c_ipos = 0;
	}
}

/* The large frame is complete: serve it once there is output room. */
static void
conn_big_done(struct conn *c)
{
	if (!conn_can_take(c)) {
		c->c_big_ready = true;
		return;
	}
	c->c_big_ready = false;
	c->c_state = C_BUF;
	rtimer_cancel(&c->c_timer);
	conn_frame(c, c->c_sid, c->c_type, ttrpc_big, c->c_len);
	if (c->c_len > (256u << 10))
		region_release(ttrpc_big, c->c_len);
	big_release();
}

/* Make whatever progress is possible without reading. */
static void
conn_pump(struct conn *c)
{
	if (c->c_big_ready)
		conn_big_done(c);
	if (!c->c_big_ready)
		conn_parse(c);
	conn_update(c);
}

/* Unparsed bytes left in scratch move to the connection's own buffer. */
static void
conn_settle(struct conn *c)
{
	uint32_t left = c->c_ilen - c->c_ipos;

	if (c->c_ibuf == c->c_in)
		return;
	if (left)
		memcpy(c->c_in, c->c_ibuf + c->c_ipos, left);
	c->c_ilen = left;
	c->c_ipos = 0;
	c->c_ibuf = c->c_in;
}

static void
conn_read(struct conn *c)
{
	uint8_t *sink = NULL;
	unsigned budget = 16;
	ssize_t n;

	while (budget-- > 0 && !c->c_dead && !c->c_wait_big &&
	    !c->c_big_ready) {
		switch (c->c_state) {
		case C_BIG:
			n = read(c->c_rfd.rf_fd, ttrpc_big + c->c_got,
			    c->c_len - c->c_got);
			break;
		case C_DRAIN:
			if (sink == NULL)
				sink = scratch_alloc(4096);
			n = read(c->c_rfd.rf_fd, sink, c->c_len < 4096 ?
			    c->c_len : 4096);
			break;
		default:
			if (c->c_ilen == NS_CONN_INBUF || !conn_can_take(c))
				goto out;
			if (c->c_ilen == 0)
				c->c_ibuf = scratch_alloc(NS_CONN_INBUF);
			n = read(c->c_rfd.rf_fd, c->c_ibuf + c->c_ilen,
			    NS_CONN_INBUF - c->c_ilen);
			/* Keep scratch packed: what came in, nothing more. */
			if (n > 0 && c->c_ibuf != c->c_in)
				scratch_trim(c->c_ibuf, (size_t)n);
			break;
		}
		if (n == 0) {
			conn_kill(c, "closed by peer");
			goto out;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_kill(c, "read failed");
			goto out;
		}
		switch (c->c_state) {
		case C_BIG:
			c->c_got += (uint32_t)n;
			if (c->c_got == c->c_len)
				conn_big_done(c);
			break;
		case C_DRAIN:
			c->c_len -= (uint32_t)n;
			if (c->c_len == 0)
				c->c_state = C_BUF;
			break;
		default:
			c->c_ilen += (uint32_t)n;
			conn_parse(c);
			/* A partial frame waits in the connection's buffer. */
			conn_settle(c);
			break;
		}
	}out:
	conn_settle(c);
}

/*
 * The big buffer is one: a client that stops, or sends a byte now and
 * then, in the middle of a large frame must not keep everybody else's
 * large requests waiting.  While others wait, a holder that brought less
 * than BIG_MIN_BYTES in the last BIG_STALL_MS is cut off.
 */
static void
conn_stall_check(struct conn *c, handle_t h)
{
	if (c->c_state != C_BIG || ttrpc_big_owner != h)
		return;
	if (c->c_got - c->c_big_seen < BIG_MIN_BYTES && big_head != 0) {
		conn_kill(c, "too slow in the middle of a large frame while "
		    "others wait for the large-frame buffer");
		return;
	}
	c->c_big_seen = c->c_got;
	rtimer_set(&c->c_timer, h, now_ms() + BIG_STALL_MS);
}

static void
conn_event(handle_t h, uint32_t events)
{
	struct conn *c = pool_get(&conn_pool, h);

	if (c == NULL || c->c_dead)
		return;
	if (events == REACTOR_TIMEOUT) {
		conn_stall_check(c, h);
		if (c->c_dead) {
			ttrpc_ndead--;
			conn_close(c);
		}
		return;
	}
	if (events & EPOLLOUT) {
		conn_flush(c);
		conn_pump(c);
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(c);
	if (c->c_dead) {
		ttrpc_ndead--;
		conn_close(c);
		return;
	}
	conn_update(c);
}

static bool
peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	/* Same check as ttrpc's UnixSocketRequireSameUser. */
	return cr.uid == geteuid() && cr.gid == getegid();
}

static void
listen_event(handle_t h, uint32_t events)
{
	unsigned budget = 16;

	(void)h;
	(void)events;
	while (budget-- > 0 && rfd_open(&ttrpc_listen)) {
		int fd = accept4(ttrpc_listen.rf_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		handle_t ch;
		struct conn *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Take the one pending client and drop it. */
				close(ttrpc_spare_fd);
				fd = accept(ttrpc_listen.rf_fd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				ttrpc_spare_fd = open("/dev/null",
				    O_RDONLY | O_CLOEXEC);
				log_warnx("out of file descriptors: refused "
				    "a connection");
			} else if (errno != EAGAIN && errno != EINTR) {
				log_warn("accept");
			}
			return;
		}
		if (!peer_ok(fd)) {
			log_warnx("refused a connection from another user");
			close(fd);
			continue;
		}
		if ((rlim_t)fd >= ttrpc_fdmax) {
			log_warnx("fd %d is inside the reserve of %u fds: "
			    "refused a connection", fd, NS_FD_RESERVE);
			close(fd);
			continue;
		}
		ch = pool_take(&conn_pool);
		c = pool_get(&conn_pool, ch);
		if (c == NULL) {
			log_warnx("connection limit %u reached: refused",
			    conn_limit);
			close(fd);
			continue;
		}
		c->c_in = conn_inbufs + (size_t)handle_index(ch) *
		    NS_CONN_INBUF;
		c->c_out = conn_outbufs + (size_t)handle_index(ch) *
		    NS_CONN_OUTBUF;
		c->c_ibuf = c->c_in;
		c->c_reject = conn_served >= conn_limit;
		if (!c->c_reject)
			conn_served++;
		if (c->c_reject)
			log_warnx("connection limit %u reached: answering "
			    "RESOURCE_EXHAUSTED", conn_limit);
		rfd_init(&c->c_rfd, fd, ch);
		conn_update(c);
	}
}

NS_IDLE static void
ttrpc_sweep(void)
{
	uint32_t i = 0;
	struct conn *c;

	while (ttrpc_ndead > 0 && (c = pool_iter(&conn_pool, &i)) != NULL) {
		if (c->c_dead == NULL)
			continue;
		ttrpc_ndead--;
		conn_close(c);
	}
}
