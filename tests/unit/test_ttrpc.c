/*
 * test_ttrpc - the real ttrpc server (src/ttrpc.c) in this process: a
 * listening unix socket in a temp dir, the real reactor, a fake service
 * "test.Svc", and client sockets that write raw bytes.  The loop is
 * pumped with reactor_once() until the replies are there; replies are
 * decoded here by hand (frame header, Response, google.rpc.Status), so
 * the test does not trust the code under test to read its own output.
 *
 * The server is started once with max_conns = 2 (ttrpc_init can run only
 * once per process), so no test holds more than two served connections,
 * and every test ends with all its connections gone (teardown checks).
 *
 * Spec: SHIM-PROTOCOL.md section 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bounds.h"
#include "log.h"
#include "pbs.h"
#include "reactor.h"
#include "status.h"
#include "ttrpc.h"
#include "ttrpc.pb.h"

#include "unit_known_bug.h"
#include "unit_tmp.h"

#define SVC		"test.Svc"
#define MAX_CONNS	2
#define MIB4		(4u << 20)

/* --- the fake service --------------------------------------------------- */

struct seen {
	handle_t s_conn;
	uint32_t s_sid;
	char s_method[64];
	uint32_t s_len;
	uint64_t s_hash;
	int64_t s_timeout;
};

static struct seen calls[64];
static unsigned ncalls;
static struct ttrpc_ref parked[16];
static unsigned nparked;
static handle_t closed_conns[16];
static unsigned nclosed;
static int listen_fd = -1;
static char sock_path[PATH_MAX];

static uint64_t
fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int
reply_kv(struct ttrpc_ref ref, const char *key, const void *v, size_t n)
{
	ttrpc_KeyValue kv;

	memset(&kv, 0, sizeof(kv));
	pbs_setstr(&kv.key, key);
	pbs_set(&kv.value, v, n);
	return ttrpc_reply(ref, ttrpc_KeyValue_fields, &kv);
}

static bool
svc(const struct ttrpc_call *call)
{
	struct seen *s = &calls[ncalls % 64];
	const char *m = call->tc_method;

	ncalls++;
	s->s_conn = call->tc_ref.r_conn;
	s->s_sid = call->tc_ref.r_sid;
	snprintf(s->s_method, sizeof(s->s_method), "%s", m);
	s->s_len = call->tc_len;
	s->s_hash = fnv(call->tc_payload, call->tc_len);
	s->s_timeout = call->tc_timeout_ns;
	if (strcmp(m, "Echo") == 0) {
		reply_kv(call->tc_ref, "echo", call->tc_payload, call->tc_len);
	} else if (strcmp(m, "Sum") == 0) {
		char v[64];

		snprintf(v, sizeof(v), "%u:%016llx", call->tc_len,
		    (unsigned long long)s->s_hash);
		assert_int_equal(reply_kv(call->tc_ref, "sum", v, strlen(v)),
		    0);
	} else if (strcmp(m, "Empty") == 0) {
		assert_int_equal(ttrpc_reply(call->tc_ref, NULL, NULL), 0);
	} else if (strcmp(m, "Fail") == 0) {
		assert_int_equal(ttrpc_reply_status(call->tc_ref,
		    GRPC_FAILED_PRECONDITION, "nope: failed precondition"), 0);
	} else if (strcmp(m, "Park") == 0) {
		assert_true(nparked < 16);
		parked[nparked++] = call->tc_ref;
	} else {
		return false;
	}
	return true;
}

static bool
svc_other(const struct ttrpc_call *call)
{
	ncalls++;
	reply_kv(call->tc_ref, "other", call->tc_method,
	    strlen(call->tc_method));
	return true;
}

static void
on_close(handle_t conn)
{
	if (nclosed < 16)
		closed_conns[nclosed] = conn;
	nclosed++;
}

/* --- the loop ----------------------------------------------------------- */

static void
pump(void)
{
	int i;

	for (i = 0; i < 4; i++)
		reactor_once(0);
}

/* Pump until cond holds (at most ms); the final value of cond. */
#define PUMP_UNTIL(cond, ms) ({						\
	uint64_t until_ = now_ms() + (ms);				\
	while (!(cond) && now_ms() < until_)				\
		reactor_once(5);					\
	(cond);								\
})

/* --- clients ------------------------------------------------------------ */

#define RBUF	(256u << 10)

struct cli {
	int fd;
	bool eof;
	size_t len;
	uint8_t buf[RBUF];
};

static struct cli clis[6];

struct reply {
	uint32_t sid;
	uint8_t type, flags;
	uint32_t len;		/* frame data length */
	bool has_status;
	int code;
	char msg[1024];
	bool has_payload;
	const uint8_t *payload;
	size_t plen;
	/* the payload as a KeyValue (our service's replies) */
	char key[32];
	const uint8_t *val;
	size_t vlen;
};

static struct reply rep;

static struct cli *
cli_open(void)
{
	struct sockaddr_un sa;
	struct cli *c = NULL;
	size_t i;

	for (i = 0; i < sizeof(clis) / sizeof(clis[0]); i++)
		if (clis[i].fd <= 0) {
			c = &clis[i];
			break;
		}
	assert_non_null(c);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(c->fd > 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)),
	    0);
	c->eof = false;
	c->len = 0;
	return c;
}

/* Open a client and wait until the server has accepted it. */
static struct cli *
cli_accepted(void)
{
	uint32_t before = ttrpc_conns();
	struct cli *c = cli_open();

	assert_true(PUMP_UNTIL(ttrpc_conns() == before + 1, 2000));
	return c;
}

static void
cli_close(struct cli *c)
{
	if (c->fd > 0)
		close(c->fd);
	c->fd = -1;
}

/* Read what is there; false at EOF. */
static bool
cli_fill(struct cli *c)
{
	for (;;) {
		ssize_t n;

		if (c->len == RBUF)
			return true;
		n = recv(c->fd, c->buf + c->len, RBUF - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			c->eof = true;
			return false;
		}
		if (errno == EINTR)
			continue;
		assert_true(errno == EAGAIN || errno == ECONNRESET);
		if (errno == ECONNRESET)
			c->eof = true;
		return !c->eof;
	}
}

/* Send everything, pumping the server while the socket is full. */
static void
cli_send(struct cli *c, const void *p, size_t len)
{
	const uint8_t *s = p;
	uint64_t until = now_ms() + 20000;

	while (len > 0) {
		ssize_t n = send(c->fd, s, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			s += n;
			len -= (size_t)n;
			continue;
		}
		assert_true(n < 0 && (errno == EAGAIN || errno == EINTR));
		/* Keep our side readable so the server can write. */
		cli_fill(c);
		assert_true(now_ms() < until);
		reactor_once(1);
	}
}

static uint64_t
varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	unsigned sh = 0;

	while (*p < end && sh < 64) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80))
			return v;
		sh += 7;
	}
	fail_msg("bad varint");
	return 0;
}

/* A length-delimited field's bytes. */
static const uint8_t *
ldelim(const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t *s;

	*n = (size_t)varint(p, end);
	assert_true(*n <= (size_t)(end - *p));
	s = *p;
	*p += *n;
	return s;
}

static void
decode_status(const uint8_t *p, const uint8_t *end)
{
	while (p < end) {
		uint64_t tag = varint(&p, end);
		const uint8_t *s;
		size_t n;

		if (tag == 0x08) {
			rep.code = (int)varint(&p, end);
		} else if (tag == 0x12) {
			s = ldelim(&p, end, &n);
			assert_true(n < sizeof(rep.msg));
			memcpy(rep.msg, s, n);
			rep.msg[n] = '\0';
		} else {
			fail_msg("Status: unexpected tag %#llx",
			    (unsigned long long)tag);
		}
	}
}

static void
decode_kv(const uint8_t *p, const uint8_t *end)
{
	while (p < end) {
		uint64_t tag = varint(&p, end);
		const uint8_t *s;
		size_t n;

		s = ldelim(&p, end, &n);
		if (tag == 0x0a) {
			assert_true(n < sizeof(rep.key));
			memcpy(rep.key, s, n);
			rep.key[n] = '\0';
		} else if (tag == 0x12) {
			rep.val = s;
			rep.vlen = n;
		} else {
			fail_msg("KeyValue: unexpected tag %#llx",
			    (unsigned long long)tag);
		}
	}
}

/* Decode one frame at c->buf into rep, then drop it from the buffer. */
static void
take_frame(struct cli *c)
{
	static uint8_t body[RBUF];
	const uint8_t *p, *end;
	uint32_t len = (uint32_t)c->buf[0] << 24 | (uint32_t)c->buf[1] << 16 |
	    (uint32_t)c->buf[2] << 8 | c->buf[3];

	memset(&rep, 0, sizeof(rep));
	rep.len = len;
	rep.sid = (uint32_t)c->buf[4] << 24 | (uint32_t)c->buf[5] << 16 |
	    (uint32_t)c->buf[6] << 8 | c->buf[7];
	rep.type = c->buf[8];
	rep.flags = c->buf[9];
	memcpy(body, c->buf + 10, len);
	memmove(c->buf, c->buf + 10 + len, c->len - 10 - len);
	c->len -= 10 + len;
	p = body;
	end = body + len;
	while (p < end) {
		uint64_t tag = varint(&p, end);
		const uint8_t *s;
		size_t n;

		s = ldelim(&p, end, &n);
		if (tag == 0x0a) {
			rep.has_status = true;
			decode_status(s, s + n);
		} else if (tag == 0x12) {
			rep.has_payload = true;
			rep.payload = s;
			rep.plen = n;
			decode_kv(s, s + n);
		} else {
			fail_msg("Response: unexpected tag %#llx",
			    (unsigned long long)tag);
		}
	}
}

static bool
have_frame(const struct cli *c)
{
	uint32_t len;

	if (c->len < 10)
		return false;
	len = (uint32_t)c->buf[0] << 24 | (uint32_t)c->buf[1] << 16 |
	    (uint32_t)c->buf[2] << 8 | c->buf[3];
	assert_true(len + 10u <= RBUF);
	return c->len >= 10 + len;
}

/* The next reply on c (pumping the loop for up to 3 s); fails if none. */
static void
cli_recv(struct cli *c)
{
	uint64_t until = now_ms() + 3000;

	while (!have_frame(c)) {
		if (!cli_fill(c) && !have_frame(c))
			fail_msg("connection closed while waiting for a reply");
		if (have_frame(c))
			break;
		if (now_ms() > until)
			fail_msg("no reply within 3 s (%zu bytes buffered)",
			    c->len);
		reactor_once(5);
	}
	take_frame(c);
	assert_int_equal(rep.type, TTRPC_RESPONSE);
	assert_int_equal(rep.flags, 0);
}

/* Nothing (more) arrives on c while the loop runs a little. */
static void
cli_quiet(struct cli *c)
{
	int i;

	for (i = 0; i < 10; i++) {
		reactor_once(1);
		cli_fill(c);
	}
	assert_false(c->eof);
	assert_int_equal(c->len, 0);
}

/* The server closes c without a reply. */
static void
cli_expect_eof(struct cli *c)
{
	uint64_t until = now_ms() + 3000;

	while (cli_fill(c)) {
		assert_int_equal(c->len, 0);
		assert_true(now_ms() < until);
		reactor_once(5);
	}
	assert_int_equal(c->len, 0);
}

/* --- requests ----------------------------------------------------------- */

static size_t
put_field(uint8_t *p, uint8_t tag, const void *s, size_t n)
{
	size_t k = 0;

	p[k++] = tag;
	k += pbs_varint(p + k, n);
	if (n)
		memcpy(p + k, s, n);
	return k + n;
}

static void
put_hdr(uint8_t *p, uint32_t len, uint32_t sid, uint8_t type, uint8_t fl)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[4] = (uint8_t)(sid >> 24);
	p[5] = (uint8_t)(sid >> 16);
	p[6] = (uint8_t)(sid >> 8);
	p[7] = (uint8_t)sid;
	p[8] = type;
	p[9] = fl;
}

/* Encode a Request body at p; its length. */
static size_t
req_body(uint8_t *p, const char *svcname, const char *method,
    const void *payload, size_t plen, int64_t timeout)
{
	size_t k = 0;

	k += put_field(p + k, 0x0a, svcname, strlen(svcname));
	k += put_field(p + k, 0x12, method, strlen(method));
	if (plen)
		k += put_field(p + k, 0x1a, payload, plen);
	if (timeout) {
		p[k++] = 0x20;
		k += pbs_varint(p + k, (uint64_t)timeout);
	}
	return k;
}

/* A whole request frame at dst; its length. */
static size_t
req(uint8_t *dst, uint32_t sid, const char *method, const void *payload,
    size_t plen)
{
	size_t n = req_body(dst + 10, SVC, method, payload, plen, 0);

	put_hdr(dst, (uint32_t)n, sid, TTRPC_REQUEST, 0);
	return n + 10;
}

static void
send_req(struct cli *c, uint32_t sid, const char *method, const char *pl)
{
	static uint8_t f[4096];
	size_t n = req(f, sid, method, pl, strlen(pl));

	cli_send(c, f, n);
}

static void
expect_echo(uint32_t sid, const char *pl)
{
	assert_int_equal(rep.sid, sid);
	assert_false(rep.has_status);
	assert_string_equal(rep.key, "echo");
	assert_int_equal(rep.vlen, strlen(pl));
	if (rep.vlen)
		assert_memory_equal(rep.val, pl, rep.vlen);
}

static void
expect_status(uint32_t sid, int code, const char *msg)
{
	assert_int_equal(rep.sid, sid);
	assert_true(rep.has_status);
	assert_false(rep.has_payload);
	assert_int_equal(rep.code, code);
	if (msg)
		assert_string_equal(rep.msg, msg);
}

static void
expect_sum(uint32_t sid, const uint8_t *p, size_t n)
{
	char want[64];

	snprintf(want, sizeof(want), "%zu:%016llx", n,
	    (unsigned long long)fnv(p, n));
	assert_int_equal(rep.sid, sid);
	assert_false(rep.has_status);
	assert_string_equal(rep.key, "sum");
	assert_int_equal(rep.vlen, strlen(want));
	assert_memory_equal(rep.val, want, rep.vlen);
}

static void
echo_roundtrip(struct cli *c, uint32_t sid, const char *pl)
{
	send_req(c, sid, "Echo", pl);
	cli_recv(c);
	expect_echo(sid, pl);
}

static void
fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* --- setup -------------------------------------------------------------- */

static int
group_setup(void **state)
{
	struct sockaddr_un sa;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	log_init(2, LOG_OFF, NULL);
	if (unit_tmp_make("ttrpc") < 0)
		return -1;
	chmod(unit_tmp, 0755);
	snprintf(sock_path, sizeof(sock_path), "%s/s", unit_tmp);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 64) < 0)
		return -1;
	chmod(sock_path, 0777);
	reactor_init(NS_TIMERS_MAX);
	ttrpc_init(listen_fd, MAX_CONNS);
	ttrpc_service(SVC, svc);
	ttrpc_service("test.Other", svc_other);
	ttrpc_on_close(on_close);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unit_tmp_remove();
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	ncalls = 0;
	nparked = 0;
	nclosed = 0;
	return 0;
}

/* Every test leaves no connection behind. */
static int
teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(clis) / sizeof(clis[0]); i++)
		cli_close(&clis[i]);
	if (!PUMP_UNTIL(ttrpc_conns() == 0, 3000)) {
		print_error("%u connections still open\n", ttrpc_conns());
		return -1;
	}
	return 0;
}

/* --- tests -------------------------------------------------------------- */

static void
test_hdr_helpers(void **state)
{
	uint8_t h[10];
	uint32_t len, sid;
	uint8_t type, fl;

	(void)state;
	ttrpc_hdr_put(h, 0x00400000, 0x80000001u, TTRPC_DATA, 0x05);
	assert_memory_equal(h, "\x00\x40\x00\x00\x80\x00\x00\x01\x03\x05",
	    10);
	ttrpc_hdr_get(h, &len, &sid, &type, &fl);
	assert_int_equal(len, 0x00400000);
	assert_int_equal(sid, 0x80000001u);
	assert_int_equal(type, TTRPC_DATA);
	assert_int_equal(fl, 5);
	ttrpc_hdr_get(h, &len, &sid, &type, NULL);
	assert_int_equal(sid, 0x80000001u);
}

static void
test_basic_replies(void **state)
{
	struct cli *c;

	(void)state;
	c = cli_accepted();
	echo_roundtrip(c, 1, "hello");
	assert_int_equal(ncalls, 1);
	assert_string_equal(calls[0].s_method, "Echo");
	assert_int_equal(calls[0].s_sid, 1);
	assert_int_equal(calls[0].s_timeout, 0);
	/* An empty result is a zero-length Response (spec 2.2). */
	send_req(c, 3, "Empty", "");
	cli_recv(c);
	assert_int_equal(rep.sid, 3);
	assert_int_equal(rep.len, 0);
	/* An error carries only the status. */
	send_req(c, 5, "Fail", "x");
	cli_recv(c);
	expect_status(5, GRPC_FAILED_PRECONDITION,
	    "nope: failed precondition");
	/* An empty payload reaches the handler as length 0. */
	echo_roundtrip(c, 7, "");
	assert_int_equal(calls[3].s_len, 0);
	/* The second service gets its own calls. */
	{
		static uint8_t f[256];
		size_t n = req_body(f + 10, "test.Other", "Whatever", "", 0,
		    0);

		put_hdr(f, (uint32_t)n, 9, TTRPC_REQUEST, 0);
		cli_send(c, f, n + 10);
		cli_recv(c);
		assert_int_equal(rep.sid, 9);
		assert_string_equal(rep.key, "other");
		assert_memory_equal(rep.val, "Whatever", 8);
	}
	cli_quiet(c);
}

/* timeout_nano and metadata travel; unknown metadata is ignored. */
static void
test_timeout_and_metadata(void **state)
{
	static uint8_t f[512], kv[64];
	struct cli *c;
	size_t n, k;

	(void)state;
	c = cli_accepted();
	n = req_body(f + 10, SVC, "Echo", "pl", 2, 5000000000LL);
	k = put_field(kv, 0x0a, "containerd-namespace-ttrpc", 26);
	k += put_field(kv + k, 0x12, "default", 7);
	n += put_field(f + 10 + n, 0x2a, kv, k);
	k = put_field(kv, 0x0a, "traceparent", 11);
	k += put_field(kv + k, 0x12, "00-abc", 6);
	n += put_field(f + 10 + n, 0x2a, kv, k);
	put_hdr(f, (uint32_t)n, 1, TTRPC_REQUEST, 0);
	cli_send(c, f, n + 10);
	cli_recv(c);
	expect_echo(1, "pl");
	assert_int_equal(calls[0].s_timeout, 5000000000LL);
}

/* A frame split at every byte offset gives exactly one correct reply. */
static void
test_split_every_offset(void **state)
{
	static uint8_t f[256];
	static const char pl[] = "split me anywhere, please";
	struct cli *c;
	size_t n, k;
	uint32_t sid = 1;

	(void)state;
	c = cli_accepted();
	for (k = 1; k < 200; k++) {
		n = req(f, sid, "Echo", pl, sizeof(pl) - 1);
		if (k >= n)
			break;
		cli_send(c, f, k);
		pump();
		cli_quiet(c);
		assert_int_equal(ncalls, sid / 2);
		cli_send(c, f + k, n - k);
		cli_recv(c);
		expect_echo(sid, pl);
		assert_int_equal(ncalls, sid / 2 + 1);
		sid += 2;
	}
	assert_true(k > 40);
	/* One byte per write. */
	n = req(f, sid, "Echo", pl, sizeof(pl) - 1);
	for (k = 0; k < n; k++) {
		cli_send(c, f + k, 1);
		reactor_once(0);
	}
	cli_recv(c);
	expect_echo(sid, pl);
	cli_quiet(c);
}

/*
 * Frames around the size of a connection's own buffer (16 KiB with the
 * header) and just past it (the shared big buffer), split in the header,
 * around the buffer edge, and at a stride.
 */
static void
test_split_large(void **state)
{
	static uint8_t f[NS_CONN_INBUF + 4096], pl[NS_CONN_INBUF + 4096];
	static const uint32_t bodies[] = { NS_CONN_INBUF - 10,
	    NS_CONN_INBUF - 9, NS_CONN_INBUF + 1000 };
	struct cli *c;
	uint32_t sid = 1;
	size_t b;

	(void)state;
	c = cli_accepted();
	for (b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
		/* Sum's body: 10 + 5 + 1 + varint(plen) + plen bytes. */
		size_t plen = bodies[b] - 18, n, k;

		if (plen >= 16384)
			plen--;

		fill_pattern(pl, plen, (uint32_t)b);
		n = req(f, 1, "Sum", pl, plen);
		assert_int_equal(n, bodies[b] + 10);
		for (k = 1; k < n; k += k < 40 ? 1 : k > n - 40 ? 1 :
		    k > NS_CONN_INBUF - 40 && k < NS_CONN_INBUF + 40 ? 1 :
		    997) {
			n = req(f, sid, "Sum", pl, plen);
			cli_send(c, f, k);
			pump();
			assert_int_equal(c->len, 0);
			cli_send(c, f + k, n - k);
			cli_recv(c);
			expect_sum(sid, pl, plen);
			sid += 2;
		}
	}
	cli_quiet(c);
}

/* Several requests in one write: every one answered, in order. */
static void
test_pipelined_one_write(void **state)
{
	static uint8_t f[4096];
	struct cli *c;
	size_t n = 0;

	(void)state;
	c = cli_accepted();
	n += req(f + n, 1, "Echo", "one", 3);
	n += req(f + n, 3, "Empty", "", 0);
	n += req(f + n, 5, "Fail", "", 0);
	n += req(f + n, 7, "Echo", "four", 4);
	n += req(f + n, 9, "Nope", "", 0);
	/* ... and half of the next one. */
	n += req(f + n, 11, "Echo", "six", 3);
	cli_send(c, f, n - 7);
	cli_recv(c);
	expect_echo(1, "one");
	cli_recv(c);
	assert_int_equal(rep.sid, 3);
	assert_int_equal(rep.len, 0);
	cli_recv(c);
	expect_status(5, GRPC_FAILED_PRECONDITION, NULL);
	cli_recv(c);
	expect_echo(7, "four");
	cli_recv(c);
	expect_status(9, GRPC_UNIMPLEMENTED, "method Nope");
	cli_quiet(c);
	cli_send(c, f + n - 7, 7);
	cli_recv(c);
	expect_echo(11, "six");
	assert_int_equal(ncalls, 6);
}

/* Parked requests answered later, out of order; others go on meanwhile. */
static void
test_parked_out_of_order(void **state)
{
	static uint8_t f[1024];
	struct cli *c;
	size_t n = 0;

	(void)state;
	c = cli_accepted();
	n += req(f + n, 1, "Park", "", 0);
	n += req(f + n, 3, "Park", "", 0);
	n += req(f + n, 5, "Echo", "not blocked", 11);
	cli_send(c, f, n);
	cli_recv(c);
	expect_echo(5, "not blocked");
	assert_int_equal(nparked, 2);
	assert_int_equal(parked[0].r_sid, 1);
	assert_int_equal(parked[1].r_sid, 3);
	assert_true(ttrpc_ref_live(parked[0]));
	cli_quiet(c);
	assert_int_equal(reply_kv(parked[1], "echo", "three", 5), 0);
	cli_recv(c);
	expect_echo(3, "three");
	cli_quiet(c);
	assert_int_equal(ttrpc_reply_status(parked[0], GRPC_NOT_FOUND,
	    "gone: not found"), 0);
	cli_recv(c);
	expect_status(1, GRPC_NOT_FOUND, "gone: not found");
	cli_quiet(c);
}

/* Replies at the varint boundaries of the Response length, and the cap. */
static void
test_reply_sizes(void **state)
{
	static uint8_t f[NS_REPLY_MAX + 16384];
	static char pl[NS_REPLY_MAX + 16384];
	/* payload sizes giving a KeyValue of 127, 128, 16383, 16384, the
	 * largest reply (65536) and one byte more. */
	static const size_t sizes[] = { 1, 119, 120, 16374, 16375, 65526,
	    65527, 70000 };
	struct cli *c;
	uint32_t sid = 1;
	size_t i;

	(void)state;
	c = cli_accepted();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t p = sizes[i], n;
		size_t inner = 6 + 1 + (p < 128 ? 1 : p < 16384 ? 2 : 3) + p;

		memset(pl, 'a' + (int)i, p);
		pl[p] = '\0';
		n = req(f, sid, "Echo", pl, p);
		cli_send(c, f, n);
		cli_recv(c);
		if (inner <= NS_REPLY_MAX) {
			expect_echo(sid, pl);
			assert_int_equal(rep.plen, inner);
		} else {
			char m[128];

			snprintf(m, sizeof(m), "reply of %zu bytes exceeds the "
			    "limit of %u bytes", inner, NS_REPLY_MAX);
			expect_status(sid, GRPC_RESOURCE_EXHAUSTED, m);
		}
		sid += 2;
	}
	echo_roundtrip(c, sid, "still fine");
}

/* Over 4 MiB: drained, RESOURCE_EXHAUSTED on its stream, then served. */
static void
test_oversized(void **state)
{
	static uint8_t junk[1u << 20];
	struct cli *c;
	uint8_t h[10];
	uint32_t left = MIB4 + 1;

	(void)state;
	c = cli_accepted();
	/* The junk is a valid-looking request, so only draining skips it. */
	memset(junk, 0, sizeof(junk));
	req(junk, 99, "Echo", "in the junk", 11);
	put_hdr(h, MIB4 + 1, 7, TTRPC_REQUEST, 0);
	cli_send(c, h, 10);
	while (left > 0) {
		uint32_t k = left < sizeof(junk) ? left : sizeof(junk);

		cli_send(c, junk, k);
		left -= k;
	}
	cli_recv(c);
	expect_status(7, GRPC_RESOURCE_EXHAUSTED,
	    "message length 4194305 exceed maximum message size of 4194304");
	echo_roundtrip(c, 9, "after the big one");
	assert_int_equal(ncalls, 1);
	/* The header alone, then the body in the same write as a request. */
	put_hdr(h, 0xffffffffu, 11, TTRPC_REQUEST, 0);
	cli_send(c, h, 10);
	cli_recv(c);
	expect_status(11, GRPC_RESOURCE_EXHAUSTED,
	    "message length 4294967295 exceed maximum message size of "
	    "4194304");
	cli_quiet(c);
}

/* Exactly 4 MiB is allowed and served whole (the shared big buffer). */
static void
test_frame_exactly_4mib(void **state)
{
	static uint8_t f[MIB4 + 64], pl[MIB4];
	struct cli *c;
	/* body: 10 (service) + 5 (method) + 1 + 4 (tag, length) + plen */
	size_t plen = MIB4 - 20, n;

	(void)state;
	c = cli_accepted();
	fill_pattern(pl, plen, 7);
	n = req(f, 1, "Sum", pl, plen);
	assert_int_equal(n, MIB4 + 10);
	cli_send(c, f, n);
	cli_recv(c);
	expect_sum(1, pl, plen);
	assert_int_equal(calls[0].s_len, plen);
	/* And again on the same connection, then a small one. */
	fill_pattern(pl, plen, 8);
	n = req(f, 3, "Sum", pl, plen);
	cli_send(c, f, n);
	cli_recv(c);
	expect_sum(3, pl, plen);
	echo_roundtrip(c, 5, "small");
}

/*
 * Send two frames at once, in chunks, never blocking on either socket
 * (one of the connections may wait for the big buffer while the other
 * one's frame is still coming), pumping in between.
 */
static void
send_two(struct cli *a, const uint8_t *fa, size_t na, struct cli *b,
    const uint8_t *fb, size_t nb, size_t chunk)
{
	struct {
		struct cli *c;
		const uint8_t *f;
		size_t n, i;
	} s[2] = { { a, fa, na, 0 }, { b, fb, nb, 0 } };
	uint64_t until = now_ms() + 20000;
	int j;

	while (s[0].i < s[0].n || s[1].i < s[1].n) {
		for (j = 0; j < 2; j++) {
			size_t k = s[j].n - s[j].i;
			ssize_t w;

			if (k == 0)
				continue;
			w = send(s[j].c->fd, s[j].f + s[j].i,
			    k < chunk ? k : chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0)
				s[j].i += (size_t)w;
			else
				assert_int_equal(errno, EAGAIN);
		}
		assert_true(now_ms() < until);
		reactor_once(0);
	}
}

/* Two connections with large frames at once: both served, whole. */
static void
test_two_large_at_once(void **state)
{
	static uint8_t fa[(1u << 20) + 64], fb[(3u << 19) + 64];
	static uint8_t pa[1u << 20], pb[3u << 19];
	struct cli *a, *b;
	size_t na, nb;

	(void)state;
	a = cli_accepted();
	b = cli_accepted();
	fill_pattern(pa, sizeof(pa), 1);
	fill_pattern(pb, sizeof(pb), 2);
	na = req(fa, 1, "Sum", pa, sizeof(pa));
	nb = req(fb, 1, "Sum", pb, sizeof(pb));
	send_two(a, fa, na, b, fb, nb, 8192);
	cli_recv(a);
	expect_sum(1, pa, sizeof(pa));
	cli_recv(b);
	expect_sum(1, pb, sizeof(pb));
	/* Again, with b first and a small request queued behind each. */
	na = req(fa, 3, "Sum", pa, sizeof(pa));
	na += req(fa + na, 5, "Echo", "a", 1);
	nb = req(fb, 3, "Sum", pb, sizeof(pb));
	nb += req(fb + nb, 5, "Echo", "b", 1);
	send_two(b, fb, nb, a, fa, na, 65536);
	cli_recv(b);
	expect_sum(3, pb, sizeof(pb));
	cli_recv(b);
	expect_echo(5, "b");
	cli_recv(a);
	expect_sum(3, pa, sizeof(pa));
	cli_recv(a);
	expect_echo(5, "a");
}

/* The holder of the big buffer goes away mid-frame: the waiter gets it. */
static void
test_large_owner_dies(void **state)
{
	static uint8_t fa[(1u << 20) + 64], fb[(1u << 20) + 64];
	static uint8_t pl[1u << 20];
	struct cli *a, *b;
	size_t na, nb;

	(void)state;
	a = cli_accepted();
	b = cli_accepted();
	fill_pattern(pl, sizeof(pl), 3);
	na = req(fa, 1, "Sum", pl, sizeof(pl));
	nb = req(fb, 1, "Sum", pl, sizeof(pl));
	cli_send(a, fa, na / 2);
	pump();
	cli_send(b, fb, 20000);		/* b now waits for the buffer */
	pump();
	cli_close(a);
	assert_true(PUMP_UNTIL(nclosed == 1, 2000));
	cli_send(b, fb + 20000, nb - 20000);
	cli_recv(b);
	expect_sum(1, pl, sizeof(pl));
	assert_int_equal(ncalls, 1);
}

/* A truncated frame, then close: nothing breaks, others are served. */
static void
test_truncated_then_close(void **state)
{
	static uint8_t f[(64u << 10) + 64], pl[64u << 10];
	struct cli *a, *b;
	uint8_t h[10];
	size_t n;

	(void)state;
	a = cli_accepted();
	b = cli_accepted();
	put_hdr(h, 100, 1, TTRPC_REQUEST, 0);
	cli_send(a, h, 10);
	cli_send(a, "0123456789012345678901234567890123456789", 40);
	pump();
	cli_close(a);
	assert_true(PUMP_UNTIL(nclosed == 1, 2000));
	echo_roundtrip(b, 1, "b lives");
	/* A header cut short. */
	a = cli_accepted();
	cli_send(a, h, 6);
	pump();
	cli_close(a);
	assert_true(PUMP_UNTIL(nclosed == 2, 2000));
	echo_roundtrip(b, 3, "b lives on");
	/* A large frame cut short (it held the big buffer). */
	a = cli_accepted();
	fill_pattern(pl, sizeof(pl), 4);
	n = req(f, 1, "Sum", pl, sizeof(pl));
	cli_send(a, f, n - 1000);
	pump();
	cli_close(a);
	assert_true(PUMP_UNTIL(nclosed == 3, 2000));
	n = req(f, 5, "Sum", pl, sizeof(pl));
	cli_send(b, f, n);
	cli_recv(b);
	expect_sum(5, pl, sizeof(pl));
	assert_int_equal(ncalls, 3);
}

/* Garbage in the Request envelope: InvalidArgument, connection lives. */
static void
test_garbage_request(void **state)
{
	static const struct {
		const char *b;
		size_t n;
	} bad[] = {
		{ "\xff\xff\xff\xff\xff", 5 },	/* bad varint tag */
		{ "\x0a\x10" "ab", 4 },		/* length past end */
		{ "\x0a\x05", 2 },			/* field cut short */
		{ "\x08\x01", 2 },			/* service as varint */
		{ "\x0b", 1 },			/* group wire type */
		{ "\x0a\x08" "test.Svc\x12", 11 },	/* tag, no length */
	};
	static uint8_t f[64];
	struct cli *c;
	uint32_t sid = 1;
	size_t i;

	(void)state;
	c = cli_accepted();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_hdr(f, (uint32_t)bad[i].n, sid, TTRPC_REQUEST, 0);
		memcpy(f + 10, bad[i].b, bad[i].n);
		cli_send(c, f, 10 + bad[i].n);
		cli_recv(c);
		expect_status(sid, GRPC_INVALID_ARGUMENT, NULL);
		if (strncmp(rep.msg, "unmarshal request error: ", 25) != 0 ||
		    strlen(rep.msg) <= 25)
			fail_msg("case %zu: \"%s\"", i, rep.msg);
		sid += 2;
	}
	assert_int_equal(ncalls, 0);
	echo_roundtrip(c, sid, "still here");
}

static void
test_unknown_service_method(void **state)
{
	static uint8_t f[512];
	static const char *const svcs[] = { "nope.Svc", "test.Sv",
	    "test.Svc2", "", "/test.Svc" };
	struct cli *c;
	uint32_t sid = 1;
	size_t i, n;
	char want[64];

	(void)state;
	c = cli_accepted();
	for (i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		n = req_body(f + 10, svcs[i], "Echo", "x", 1, 0);
		put_hdr(f, (uint32_t)n, sid, TTRPC_REQUEST, 0);
		cli_send(c, f, n + 10);
		cli_recv(c);
		snprintf(want, sizeof(want), "service %s", svcs[i]);
		expect_status(sid, GRPC_UNIMPLEMENTED, want);
		sid += 2;
	}
	assert_int_equal(ncalls, 0);
	send_req(c, sid, "Nope", "");
	cli_recv(c);
	expect_status(sid, GRPC_UNIMPLEMENTED, "method Nope");
	assert_int_equal(ncalls, 1);
	assert_string_equal(calls[0].s_method, "Nope");
	sid += 2;
	send_req(c, sid, "", "");
	cli_recv(c);
	expect_status(sid, GRPC_UNIMPLEMENTED, "method ");
	echo_roundtrip(c, sid + 2, "ok");
}

/*
 * Names are compared whole: a NUL inside does not cut them short.  Names
 * are echoed in errors with control bytes shown as '?'.
 */
static void
test_names_with_nul(void **state)
{
	static uint8_t f[512];
	struct cli *c;
	size_t n = 0;

	(void)state;
	c = cli_accepted();
	n += put_field(f + 10, 0x0a, "test.Svc\0x", 10);
	n += put_field(f + 10 + n, 0x12, "Echo", 4);
	put_hdr(f, (uint32_t)n, 1, TTRPC_REQUEST, 0);
	cli_send(c, f, n + 10);
	cli_recv(c);
	expect_status(1, GRPC_UNIMPLEMENTED, "service test.Svc?x");
	assert_int_equal(ncalls, 0);
	n = put_field(f + 10, 0x0a, SVC, strlen(SVC));
	n += put_field(f + 10 + n, 0x12, "Echo\0x\n", 7);
	put_hdr(f, (uint32_t)n, 3, TTRPC_REQUEST, 0);
	cli_send(c, f, n + 10);
	cli_recv(c);
	expect_status(3, GRPC_UNIMPLEMENTED, "method Echo?x?");
	assert_int_equal(ncalls, 1);
	assert_string_not_equal(calls[0].s_method, "Echo");
}

static void
test_even_stream_id(void **state)
{
	static uint8_t f[256];
	struct cli *c;
	size_t n;

	(void)state;
	c = cli_accepted();
	n = req(f, 2, "Echo", "x", 1);
	cli_send(c, f, n);
	cli_recv(c);
	expect_status(2, GRPC_INVALID_ARGUMENT,
	    "StreamID must be odd for client initiated streams");
	n = req(f, 0, "Echo", "x", 1);
	cli_send(c, f, n);
	cli_recv(c);
	expect_status(0, GRPC_INVALID_ARGUMENT,
	    "StreamID must be odd for client initiated streams");
	assert_int_equal(ncalls, 0);
	echo_roundtrip(c, 1, "odd is fine");
}

/* Only requests are served; responses and data frames are ignored. */
static void
test_other_message_types(void **state)
{
	static uint8_t f[(32u << 10) + 256], pl[32u << 10];
	struct cli *c;
	size_t n = 0;

	(void)state;
	c = cli_accepted();
	/* A well-formed Request body under a response header. */
	n = req(f, 1, "Echo", "x", 1);
	f[8] = TTRPC_RESPONSE;
	cli_send(c, f, n);
	/* And under a data header with the remote-closed flag. */
	n = req(f, 3, "Echo", "y", 1);
	f[8] = TTRPC_DATA;
	f[9] = 0x01;
	cli_send(c, f, n);
	pump();
	assert_int_equal(c->len, 0);
	/* A large one takes the big-buffer path and is ignored too. */
	fill_pattern(pl, sizeof(pl), 5);
	n = req(f, 5, "Sum", pl, sizeof(pl));
	f[8] = TTRPC_RESPONSE;
	cli_send(c, f, n);
	/* Unknown types (ttrpc might add some) too. */
	n = req(f, 7, "Echo", "z", 1);
	f[8] = 0x7f;
	cli_send(c, f, n);
	cli_quiet(c);
	assert_int_equal(ncalls, 0);
	echo_roundtrip(c, 9, "only this");
	assert_int_equal(ncalls, 1);
	cli_quiet(c);
}

/* With max_conns = 2, a third client is answered RESOURCE_EXHAUSTED. */
static void
test_conn_limit(void **state)
{
	struct cli *a, *b, *c, *d, *e;

	(void)state;
	a = cli_accepted();
	b = cli_accepted();
	c = cli_accepted();
	echo_roundtrip(a, 1, "a");
	echo_roundtrip(b, 1, "b");
	send_req(c, 1, "Echo", "c");
	cli_recv(c);
	expect_status(1, GRPC_RESOURCE_EXHAUSTED, NULL);
	if (strstr(rep.msg, "limit 2") == NULL)
		fail_msg("message does not name the limit: %s", rep.msg);
	send_req(c, 3, "Echo", "c");
	cli_recv(c);
	expect_status(3, GRPC_RESOURCE_EXHAUSTED, NULL);
	assert_int_equal(ncalls, 2);
	/* No slot left at all: closed without a word. */
	d = cli_open();
	cli_expect_eof(d);
	cli_close(d);
	/* The served ones are unaffected. */
	echo_roundtrip(a, 3, "a again");
	/* Room again once the refused one and a served one are gone. */
	cli_close(c);
	cli_close(a);
	assert_true(PUMP_UNTIL(ttrpc_conns() == 1, 2000));
	e = cli_accepted();
	echo_roundtrip(e, 1, "e");
	echo_roundtrip(b, 3, "b again");
}

/*
 * A refused client that stays connected must not count against the
 * limit: with one served connection closed, a new one is served.
 */
static void
test_conn_limit_refused_stays(void **state)
{
	struct cli *a, *b, *c, *e;

	(void)state;
	a = cli_accepted();
	b = cli_accepted();
	c = cli_accepted();
	send_req(c, 1, "Echo", "c");
	cli_recv(c);
	expect_status(1, GRPC_RESOURCE_EXHAUSTED, NULL);
	cli_close(a);
	assert_true(PUMP_UNTIL(ttrpc_conns() == 2, 2000));
	e = cli_accepted();
	echo_roundtrip(e, 1, "e");
	echo_roundtrip(b, 1, "b");
}

/* The close hook, stale refs, and a reused slot. */
static void
test_close_hook_and_stale_refs(void **state)
{
	struct cli *a, *b;
	struct ttrpc_ref old, cur;

	(void)state;
	a = cli_accepted();
	send_req(a, 1, "Park", "");
	assert_true(PUMP_UNTIL(nparked == 1, 2000));
	old = parked[0];
	assert_true(ttrpc_ref_live(old));
	assert_int_equal(handle_kind(old.r_conn), K_CONN);
	cli_close(a);
	assert_true(PUMP_UNTIL(nclosed == 1, 2000));
	assert_int_equal(closed_conns[0], old.r_conn);
	assert_false(ttrpc_ref_live(old));
	assert_true(reply_kv(old, "echo", "late", 4) < 0);
	assert_true(ttrpc_reply_status(old, GRPC_UNKNOWN, "late") < 0);
	assert_true(ttrpc_reply(old, NULL, NULL) < 0);
	assert_int_equal(ttrpc_conns(), 0);

	/* The slot is reused; the old ref must not reach the new client. */
	b = cli_accepted();
	send_req(b, 1, "Park", "");
	assert_true(PUMP_UNTIL(nparked == 2, 2000));
	cur = parked[1];
	assert_int_equal(cur.r_sid, old.r_sid);
	assert_int_not_equal(cur.r_conn, old.r_conn);
	assert_false(ttrpc_ref_live(old));
	assert_true(reply_kv(old, "echo", "wrong", 5) < 0);
	cli_quiet(b);
	assert_int_equal(reply_kv(cur, "echo", "right", 5), 0);
	cli_recv(b);
	expect_echo(1, "right");
	/* No close hook for a live connection. */
	assert_int_equal(nclosed, 1);
}

/*
 * A client that writes many requests before reading any replies: the
 * server stops reading while its output is full, is not torn down, and
 * every request is answered, in order, once the client reads.
 */
static void
test_slow_reader(void **state)
{
	static uint8_t f[128];
	static char pl[128];
	struct cli *c;
	const uint32_t total = 4000;
	uint32_t sent = 0, got = 0;
	size_t n = 0, off = 0;
	bool blocked = false;
	uint64_t until = now_ms() + 20000;

	(void)state;
	c = cli_accepted();
	while (got < total) {
		/* Write until the socket refuses. */
		while (sent < total) {
			ssize_t k;

			if (off == n) {
				snprintf(pl, sizeof(pl), "request %u padded "
				    "to a decent length ..........", sent);
				n = req(f, 2 * sent + 1, "Echo", pl,
				    strlen(pl));
				off = 0;
			}
			k = send(c->fd, f + off, n - off,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (k < 0) {
				assert_int_equal(errno, EAGAIN);
				break;
			}
			off += (size_t)k;
			if (off == n)
				sent++;
			reactor_once(0);
		}
		if (sent < total)
			blocked = true;
		/* Then read a few replies. */
		reactor_once(1);
		cli_fill(c);
		while (have_frame(c) && got < total) {
			take_frame(c);
			snprintf(pl, sizeof(pl), "request %u padded to a "
			    "decent length ..........", got);
			expect_echo(2 * got + 1, pl);
			got++;
		}
		assert_false(c->eof);
		assert_true(now_ms() < until);
	}
	assert_true(blocked);
	assert_int_equal(ncalls, total);
	cli_quiet(c);
}

/*
 * Parked replies to a client that reads nothing: once the socket and the
 * connection's output buffer are full, the reply fails with -ENOBUFS,
 * the connection is torn down (close hook), later replies see it gone.
 */
static void
test_output_full_kills(void **state)
{
	static uint8_t f[2048];
	static char big[60000];
	struct cli *c;
	size_t n = 0;
	unsigned i, ok = 0;
	int rc = 0;
	handle_t h;

	(void)state;
	c = cli_accepted();
	for (i = 0; i < 16; i++)
		n += req(f + n, 2 * i + 1, "Park", "", 0);
	cli_send(c, f, n);
	assert_true(PUMP_UNTIL(nparked == 16, 2000));
	h = parked[0].r_conn;
	memset(big, 'b', sizeof(big));
	for (i = 0; i < 16; i++) {
		rc = reply_kv(parked[i], "echo", big, sizeof(big));
		if (rc < 0)
			break;
		ok++;
	}
	assert_int_equal(rc, -ENOBUFS);
	assert_true(ok >= 2);
	assert_false(ttrpc_ref_live(parked[15]));
	assert_true(reply_kv(parked[15], "echo", "x", 1) < 0);
	reactor_once(0);
	assert_int_equal(nclosed, 1);
	assert_int_equal(closed_conns[0], h);
	assert_int_equal(ttrpc_conns(), 0);
	/* The client gets whole frames, then EOF. */
	while (cli_fill(c) || have_frame(c)) {
		if (have_frame(c)) {
			take_frame(c);
			assert_int_equal(rep.vlen, sizeof(big));
			continue;
		}
		reactor_once(1);
	}
}

/* A peer of another uid is closed without a reply (spec 2.3). */
static void
test_peer_other_uid(void **state)
{
	pid_t pid;
	int st = 0;
	uint64_t until;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static uint8_t f[256];
		struct sockaddr_un sa;
		struct pollfd pfd;
		ssize_t n;
		int fd;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(11);
		n = (ssize_t)req(f, 1, "Echo", "x", 1);
		if (write(fd, f, (size_t)n) != n)
			_exit(0);	/* already closed: fine too */
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 3000) != 1)
			_exit(12);
		n = read(fd, f, sizeof(f));
		_exit(n <= 0 ? 0 : 13);
	}
	until = now_ms() + 5000;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		assert_true(now_ms() < until);
		reactor_once(5);
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(ncalls, 0);
	assert_int_equal(ttrpc_conns(), 0);
	/* Same uid and gid: served (every other test relies on it). */
	echo_roundtrip(cli_accepted(), 1, "me");
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_hdr_helpers),
		T(test_basic_replies),
		T(test_timeout_and_metadata),
		T(test_split_every_offset),
		T(test_split_large),
		T(test_pipelined_one_write),
		T(test_parked_out_of_order),
		T(test_reply_sizes),
		T(test_oversized),
		T(test_frame_exactly_4mib),
		T(test_two_large_at_once),
		T(test_large_owner_dies),
		T(test_truncated_then_close),
		T(test_garbage_request),
		T(test_unknown_service_method),
		T(test_names_with_nul),
		T(test_even_stream_id),
		T(test_other_message_types),
		T(test_conn_limit),
		T(test_conn_limit_refused_stays),
		T(test_close_hook_and_stale_refs),
		T(test_slow_reader),
		T(test_output_full_kills),
		T(test_peer_other_uid),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
