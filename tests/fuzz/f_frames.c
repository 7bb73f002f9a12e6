/*
 * f_frames - the ttrpc frame reader (src/ttrpc.c) fed byte streams cut at
 * arbitrary points: partial headers, pipelined frames, oversize lengths,
 * bad stream ids, message types and flags, frames large enough to need
 * the shared 4 MiB buffer, two connections contending for it.
 *
 * The real server runs in this process: the real reactor, a listening
 * socket in the private dir, and a stand-in Task service answering the
 * real method names (Wait parks its call; the others reply at once with
 * replies up to and past the 64 KiB reply limit, or fail).  Clients are
 * plain sockets writing the input.
 *
 * Input: byte 0 bit 0 = use two connections; bytes 1-4 seed the chunk
 * sizes and the choice of connection per chunk; the rest is the stream.
 * The corpus holds the frames the integration suite sent (captured with
 * the NS_FRAME_DUMP build, `make fuzz-capture`), each as a one-frame
 * stream, plus hand-made pipelines and broken ones.
 *
 * Checks: every byte the server writes back is a sequence of whole
 * response frames (type 2, flags 0, within the reply limit) that decode
 * as ttrpc Responses carrying a status or a payload, not both; parked
 * calls answered after their connection closed are dropped; when the
 * clients close, every connection is torn down (none leaks) and the next
 * input starts from a clean server.
 */
// SEAMS:
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"

#include "bounds.h"
#include "pbs.h"
#include "reactor.h"
#include "status.h"
#include "ttrpc.h"
#include "ttrpc.pb.h"
#include "containerd/task/v2/shim.pb.h"

#define NCLI	2
#define RBUF	(NS_CONN_OUTBUF * 2)

struct cli {
	int fd;
	size_t len;
	uint8_t buf[RBUF];
};

static struct cli clis[NCLI];
static struct sockaddr_un sa;
static struct ttrpc_ref parked[64];
static unsigned nparked;
static char msgbuf[4097];
static uint8_t big[NS_REPLY_MAX + 64];
static unsigned replies;

static bool
svc(const struct ttrpc_call *call)
{
	const char *m = call->tc_method;
	size_t n;

	if (strcmp(m, "Wait") == 0) {
		if (nparked < 64)
			parked[nparked++] = call->tc_ref;
		else
			ttrpc_reply(call->tc_ref, NULL, NULL);
	} else if (strcmp(m, "Create") == 0 || strcmp(m, "Start") == 0) {
		containerd_task_v2_CreateTaskResponse r = { call->tc_len };

		ttrpc_reply(call->tc_ref,
		    containerd_task_v2_CreateTaskResponse_fields, &r);
	} else if (strcmp(m, "Pids") == 0 || strcmp(m, "Stats") == 0) {
		/* A reply as large as the request: past the reply limit too. */
		ttrpc_KeyValue kv;

		memset(&kv, 0, sizeof(kv));
		n = call->tc_len < sizeof(big) ? call->tc_len : sizeof(big);
		if (n)
			memcpy(big, call->tc_payload, n);
		pbs_setstr(&kv.key, "k");
		pbs_set(&kv.value, big, n);
		ttrpc_reply(call->tc_ref, ttrpc_KeyValue_fields, &kv);
	} else if (strcmp(m, "Kill") == 0 || strcmp(m, "Exec") == 0) {
		/* An error whose message is the request's bytes. */
		n = call->tc_len < 4096 ? call->tc_len : 4096;
		if (n)
			memcpy(msgbuf, call->tc_payload, n);
		msgbuf[n] = '\0';
		ttrpc_reply_status(call->tc_ref, GRPC_FAILED_PRECONDITION,
		    msgbuf);
	} else if (strcmp(m, "State") == 0 || strcmp(m, "Delete") == 0 ||
	    strcmp(m, "Connect") == 0 || strcmp(m, "Shutdown") == 0 ||
	    strcmp(m, "Pause") == 0 || strcmp(m, "Resume") == 0 ||
	    strcmp(m, "CloseIO") == 0 || strcmp(m, "ResizePty") == 0 ||
	    strcmp(m, "Update") == 0 || strcmp(m, "Checkpoint") == 0) {
		ttrpc_reply(call->tc_ref, NULL, NULL);
	} else {
		return false;
	}
	return true;
}

static void
on_close(handle_t conn)
{
	(void)conn;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int lfd;

	(void)argc;
	(void)argv;
	fz_setup("frames");
	reactor_init(64);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fz_path("s.sock"));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 16) < 0) {
		perror("listen");
		exit(1);
	}
	ttrpc_init(lfd, NCLI);
	ttrpc_service("containerd.task.v2.Task", svc);
	ttrpc_service("containerd.task.v3.Task", svc);
	ttrpc_on_close(on_close);
	for (int i = 0; i < NCLI; i++)
		clis[i].fd = -1;
	return 0;
}

/* Cut whole frames off the front of what client c received; check them. */
static void
check_replies(struct cli *c)
{
	size_t off = 0;

	while (c->len - off >= NS_FRAME_HDR) {
		uint32_t len, sid;
		uint8_t type, flags;
		ttrpc_Response rsp;

		ttrpc_hdr_get(c->buf + off, &len, &sid, &type, &flags);
		FZ_CHECK(type == TTRPC_RESPONSE && flags == 0,
		    "reply frame type %u flags %u", type, flags);
		FZ_CHECK(len <= NS_REPLY_MAX + 64, "reply of %u bytes", len);
		if (c->len - off < NS_FRAME_HDR + len)
			break;
		pbs_reset();
		FZ_CHECK(pbs_decode(ttrpc_Response_fields, &rsp,
		    c->buf + off + NS_FRAME_HDR, len, NULL) == 0,
		    "reply on stream %u does not decode", sid);
		FZ_CHECK(!(rsp.has_status && rsp.payload.n),
		    "reply with both a status and a payload");
		FZ_CHECK(!rsp.has_status || rsp.status.code != 0,
		    "error reply with code 0");
		replies++;
		off += NS_FRAME_HDR + len;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static void
drain(struct cli *c)
{
	ssize_t n;

	if (c->fd < 0)
		return;
	while (c->len < RBUF &&
	    (n = recv(c->fd, c->buf + c->len, RBUF - c->len, MSG_DONTWAIT)) > 0) {
		c->len += (size_t)n;
		check_replies(c);
	}
}

static void
pump(int ncli)
{
	reactor_once(0);
	for (int i = 0; i < ncli; i++)
		drain(&clis[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t mode = fz_u8(&f);
	uint32_t seed = fz_u32(&f) | 1;
	int ncli = (mode & 1) ? 2 : 1, i, idle = 0;

	nparked = 0;
	for (i = 0; i < ncli; i++) {
		clis[i].len = 0;
		clis[i].fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (clis[i].fd < 0 || connect(clis[i].fd,
		    (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("connect");
			abort();
		}
	}
	fz_guard(true);
	pump(ncli);
	while (f.n > 0 && idle < 64) {
		uint32_t r = fz_rand(&seed);
		/* Mostly small cuts (headers split anywhere), some large. */
		size_t want = r & 0x100 ? 1 + (r >> 12) % 65536 :
		    1 + (r >> 12) % 17;
		struct cli *c = &clis[ncli == 2 ? (r >> 9) & 1 : 0];
		const uint8_t *p;
		size_t k = fz_take(&f, want, &p);
		ssize_t w = send(c->fd, p, k, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0)
			w = 0;
		/* What the socket did not take goes back to the input. */
		f.p -= k - (size_t)w;
		f.n += k - (size_t)w;
		idle = w > 0 ? 0 : idle + 1;
		pump(ncli);
	}
	/* Parked calls: half answered now, half after their connection. */
	for (unsigned j = 0; j < nparked / 2; j++)
		ttrpc_reply(parked[j], NULL, NULL);
	pump(ncli);
	for (i = 0; i < ncli; i++) {
		shutdown(clis[i].fd, SHUT_WR);
	}
	for (int k = 0; k < 200 && ttrpc_conns() > 0; k++)
		pump(ncli);
	for (unsigned j = nparked / 2; j < nparked; j++)
		FZ_CHECK(!ttrpc_ref_live(parked[j]) ||
		    ttrpc_reply(parked[j], NULL, NULL) == 0,
		    "a parked call could not be answered");
	for (int k = 0; k < 200 && ttrpc_conns() > 0; k++)
		pump(ncli);
	fz_guard(false);
	for (i = 0; i < ncli; i++) {
		close(clis[i].fd);
		clis[i].fd = -1;
	}
	FZ_CHECK(ttrpc_conns() == 0, "%u connections left after the clients "
	    "closed", ttrpc_conns());
	return 0;
}
