/*
 * test_pbs - unit tests for src/pbs.c: zero-copy decoding of strings,
 * bytes and repeated fields of the generated (gen/) messages, the arena,
 * and encoding from slices.
 *
 * Owns: nothing but its fixtures.  Messages are hand-encoded here with a
 * tiny writer, independently of nanopb's encoder, so a bug in pbs_put
 * cannot hide a bug in pbs_take.
 *
 * Build and run (from the top directory, after tools/fetch-nanopb.sh):
 *
 * gcc -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
 *   -Wmissing-prototypes -Wvla -Wframe-larger-than=4096 -DPB_BUFFER_ONLY \
 *   -Isrc -Igen -Ibuild/nanopb -o build/test_pbs tests/unit/test_pbs.c \
 *   src/pbs.c build/nanopb/pb_common.c build/nanopb/pb_encode.c \
 *   build/nanopb/pb_decode.c gen/google/protobuf/any.pb.c \
 *   gen/google/protobuf/timestamp.pb.c gen/google/rpc/status.pb.c \
 *   gen/ttrpc.pb.c gen/containerd/types/mount.pb.c \
 *   gen/containerd/types/task/task.pb.c gen/containerd/task/v2/shim.pb.c \
 *   gen/containerd/events/task.pb.c gen/containerd/runc/v1/oci.pb.c \
 *   -lcmocka && build/test_pbs
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "pbs.h"
#include "ttrpc.pb.h"
#include "containerd/events/task.pb.h"
#include "containerd/runc/v1/oci.pb.h"
#include "containerd/task/v2/shim.pb.h"

/* ---- a minimal protobuf writer for fixtures ---- */

struct wbuf {
	uint8_t *b;
	size_t n;
	size_t cap;
};

static void
w_raw(struct wbuf *w, const void *p, size_t len)
{
	assert_true(w->n + len <= w->cap);
	if (len > 0)
		memcpy(w->b + w->n, p, len);
	w->n += len;
}

static void
w_varint(struct wbuf *w, uint64_t v)
{
	uint8_t c;

	do {
		c = v & 0x7f;
		v >>= 7;
		if (v != 0)
			c |= 0x80;
		w_raw(w, &c, 1);
	} while (v != 0);
}

static void
w_tag(struct wbuf *w, uint32_t field, uint32_t wt)
{
	w_varint(w, (uint64_t)field << 3 | wt);
}

static void
w_bytes(struct wbuf *w, uint32_t field, const void *p, size_t len)
{
	w_tag(w, field, 2);
	w_varint(w, len);
	w_raw(w, p, len);
}

static void
w_str(struct wbuf *w, uint32_t field, const char *s)
{
	w_bytes(w, field, s, strlen(s));
}

static void
w_uint(struct wbuf *w, uint32_t field, uint64_t v)
{
	w_tag(w, field, 0);
	w_varint(w, v);
}

/* True when the slice points into [buf, buf + len). */
static bool
inside(const struct pbs *s, const uint8_t *buf, size_t len)
{
	uintptr_t a = (uintptr_t)s->p, lo = (uintptr_t)buf;

	return s->n == 1 && a >= lo && a + s->len <= lo + len;
}

static bool
slice_is(const struct pbs *s, const char *str)
{
	return s->n == 1 && pbs_eq(s, str);
}

/* Large fixtures live here, not on the stack. */
static uint8_t big[4 << 20];
static uint8_t small[4096];
static uint8_t out[4096];
static union {
	containerd_task_v2_CreateTaskRequest create;
	containerd_task_v2_ExecProcessRequest exec;
	containerd_task_v2_UpdateTaskRequest upd;
	containerd_task_v2_KillRequest kill;
	containerd_task_v2_DeleteResponse del;
	containerd_events_TaskExit exit;
	containerd_types_Mount mount;
	containerd_runc_v1_Options opts;
	ttrpc_Request req;
	ttrpc_Response resp;
	ttrpc_KeyValue kv;
	google_protobuf_Any any;
} m, m2;

static int
setup(void **state)
{
	(void)state;
	pbs_reset();
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	return 0;
}

/* ---- decoding ---- */

static const char *const mount_opts[3][3] = {
	{ "lowerdir=/a:/b", "upperdir=/u", "workdir=/w" },
	{ "rbind", "ro", "" },
	{ "size=64m", "mode=1777", "nosuid" },
};

/*
 * CreateTaskRequest with three Mounts of three options each, fields
 * interleaved with the repeated ones, and an Any holding runc Options.
 */
static size_t
make_create(uint8_t *buf, size_t cap)
{
	struct wbuf w = { buf, 0, cap };
	uint8_t mb[256], ob[256], ab[256];
	struct wbuf mw, ow = { ob, 0, sizeof(ob) }, aw = { ab, 0, sizeof(ab) };
	int i;

	w_str(&w, 1, "ctr1");
	for (i = 0; i < 3; i++) {
		mw = (struct wbuf){ mb, 0, sizeof(mb) };
		w_str(&mw, 1, i == 1 ? "bind" : "overlay");
		/* Options interleaved with source and target. */
		w_str(&mw, 4, mount_opts[i][0]);
		w_str(&mw, 2, "src");
		w_str(&mw, 4, mount_opts[i][1]);
		w_str(&mw, 3, "/tgt");
		w_str(&mw, 4, mount_opts[i][2]);
		w_bytes(&w, 3, mb, mw.n);
		if (i == 0)
			w_str(&w, 2, "/run/bundle");
	}
	w_uint(&w, 4, 1);
	w_str(&w, 5, "/fifo/in");
	w_str(&w, 6, "/fifo/out");
	w_bytes(&w, 7, "", 0);		/* present but empty */
	w_str(&ow, 6, "/usr/local/sbin/runc");
	w_str(&ow, 7, "/run/containerd/runc");
	w_uint(&ow, 9, 1);
	w_str(&aw, 1, "containerd.runc.v1.Options");
	w_bytes(&aw, 2, ob, ow.n);
	w_bytes(&w, 10, ab, aw.n);
	return w.n;
}

static void
test_decode_create(void **state)
{
	containerd_task_v2_CreateTaskRequest *c = &m.create;
	containerd_types_Mount *mt = &m2.mount;
	containerd_runc_v1_Options o;
	struct pbs_iter it = { 0 }, oit;
	const uint8_t *p, *q;
	uint32_t len, qlen;
	const char *err = NULL;
	size_t n;
	int i, j;

	(void)state;
	n = make_create(small, sizeof(small));
	/* Stale junk must not survive: pbs_decode clears the struct. */
	memset(c, 0xa5, sizeof(*c));
	assert_int_equal(pbs_decode(containerd_task_v2_CreateTaskRequest_fields,
	    c, small, n, &err), 0);
	assert_true(slice_is(&c->id, "ctr1"));
	assert_true(inside(&c->id, small, n));
	assert_true(slice_is(&c->bundle, "/run/bundle"));
	assert_true(c->terminal);
	assert_true(slice_is(&c->stdin, "/fifo/in"));
	assert_true(slice_is(&c->stdout, "/fifo/out"));
	/* Empty on the wire: present, zero length, still inside the frame. */
	assert_int_equal(c->stderr.n, 1);
	assert_int_equal(c->stderr.len, 0);
	assert_true(inside(&c->stderr, small, n));
	assert_int_equal(c->checkpoint.n, 0);
	assert_int_equal(c->parent_checkpoint.n, 0);
	assert_int_equal(c->rootfs.n, 3);
	assert_int_equal(pbs_arena_used(), 3);

	for (i = 0; pbs_next(&c->rootfs, &it, &p, &len); i++) {
		assert_true(p >= small && p + len <= small + n);
		assert_int_equal(pbs_decode(containerd_types_Mount_fields, mt,
		    p, len, &err), 0);
		assert_true(slice_is(&mt->type, i == 1 ? "bind" : "overlay"));
		assert_true(slice_is(&mt->source, "src"));
		assert_true(slice_is(&mt->target, "/tgt"));
		assert_int_equal(mt->options.n, 3);
		oit = (struct pbs_iter){ 0 };
		for (j = 0; pbs_next(&mt->options, &oit, &q, &qlen); j++) {
			assert_true(q >= p && q + qlen <= p + len);
			assert_int_equal(qlen, strlen(mount_opts[i][j]));
			assert_memory_equal(q, mount_opts[i][j], qlen);
		}
		assert_int_equal(j, 3);
	}
	assert_int_equal(i, 3);
	/* Three rootfs entries, then three options per mount. */
	assert_int_equal(pbs_arena_used(), 3 + 3 * 3);

	/* The Any is an inline struct whose own fields are slices. */
	assert_true(c->has_options);
	assert_true(slice_is(&c->options.type_url,
	    "containerd.runc.v1.Options"));
	assert_true(inside(&c->options.value, small, n));
	assert_int_equal(pbs_decode(containerd_runc_v1_Options_fields, &o,
	    c->options.value.p, c->options.value.len, &err), 0);
	assert_true(slice_is(&o.binary_name, "/usr/local/sbin/runc"));
	assert_true(inside(&o.binary_name, small, n));
	assert_true(slice_is(&o.root, "/run/containerd/runc"));
	assert_true(o.systemd_cgroup);
	assert_false(o.no_pivot_root);
	assert_int_equal(o.shim_cgroup.n, 0);
}

/* A 4 MiB ExecProcessRequest: spec.value is a slice, never a copy. */
static void
test_decode_big_spec(void **state)
{
	containerd_task_v2_ExecProcessRequest *e = &m.exec;
	struct wbuf w = { big, 0, sizeof(big) };
	uint8_t hdr[64];
	struct wbuf aw = { hdr, 0, sizeof(hdr) };
	const char *url = "types.containerd.io/opencontainers/runtime-spec/1/"
	    "Process";
	const char *err = NULL;
	size_t vlen, any_len, vstart;

	(void)state;
	w_str(&w, 1, "ctr1");
	w_str(&w, 2, "exec1");
	/* Leave room for the headers so the frame stays within 4 MiB. */
	vlen = sizeof(big) - 64 - strlen(url);
	w_str(&aw, 1, url);
	w_tag(&aw, 2, 2);
	w_varint(&aw, vlen);
	any_len = aw.n + vlen;
	w_tag(&w, 7, 2);
	w_varint(&w, any_len);
	w_raw(&w, hdr, aw.n);
	vstart = w.n;
	memset(big + w.n, '{', vlen);
	w.n += vlen;
	assert_true(w.n <= sizeof(big));

	assert_int_equal(pbs_decode(
	    containerd_task_v2_ExecProcessRequest_fields, e, big, w.n, &err),
	    0);
	assert_true(slice_is(&e->exec_id, "exec1"));
	assert_true(e->has_spec);
	assert_true(slice_is(&e->spec.type_url, url));
	assert_ptr_equal(e->spec.value.p, big + vstart);
	assert_int_equal(e->spec.value.len, vlen);
	assert_true(sizeof(*e) < 512);
}

/* A singular field seen twice keeps the last value (protobuf merge). */
static void
test_decode_last_wins(void **state)
{
	struct wbuf w = { small, 0, sizeof(small) };
	const char *err = NULL;

	(void)state;
	w_str(&w, 1, "first");
	w_str(&w, 4, "opt");
	w_str(&w, 1, "second");
	assert_int_equal(pbs_decode(containerd_types_Mount_fields, &m.mount,
	    small, w.n, &err), 0);
	assert_true(slice_is(&m.mount.type, "second"));
	assert_int_equal(m.mount.options.n, 1);
}

/* ttrpc Request metadata and a Response status with details. */
static void
test_decode_ttrpc(void **state)
{
	struct wbuf w = { small, 0, sizeof(small) };
	uint8_t kb[64], sb[256], db[64];
	struct wbuf kw, sw = { sb, 0, sizeof(sb) }, dw = { db, 0, sizeof(db) };
	struct pbs_iter it = { 0 };
	const uint8_t *p;
	uint32_t len;
	const char *err = NULL;
	int i;

	(void)state;
	w_str(&w, 1, "containerd.task.v2.Task");
	for (i = 0; i < 2; i++) {
		kw = (struct wbuf){ kb, 0, sizeof(kb) };
		w_str(&kw, 1, "containerd-namespace-ttrpc");
		w_str(&kw, 2, i == 0 ? "default" : "k8s.io");
		w_bytes(&w, 5, kb, kw.n);
	}
	w_str(&w, 2, "State");
	w_bytes(&w, 3, "\x0a\x01x", 3);
	w_uint(&w, 4, 5000000000ULL);
	assert_int_equal(pbs_decode(ttrpc_Request_fields, &m.req, small, w.n,
	    &err), 0);
	assert_true(slice_is(&m.req.service, "containerd.task.v2.Task"));
	assert_true(slice_is(&m.req.method, "State"));
	assert_int_equal(m.req.payload.len, 3);
	assert_int_equal(m.req.timeout_nano, 5000000000LL);
	assert_int_equal(m.req.metadata.n, 2);
	for (i = 0; pbs_next(&m.req.metadata, &it, &p, &len); i++) {
		assert_int_equal(pbs_decode(ttrpc_KeyValue_fields, &m2.kv, p,
		    len, &err), 0);
		assert_true(slice_is(&m2.kv.key, "containerd-namespace-ttrpc"));
		assert_true(slice_is(&m2.kv.value, i == 0 ? "default" :
		    "k8s.io"));
	}
	assert_int_equal(i, 2);

	w = (struct wbuf){ small, 0, sizeof(small) };
	w_str(&dw, 1, "x.Detail");
	w_uint(&sw, 1, 5);
	w_str(&sw, 2, "container not created: not found");
	w_bytes(&sw, 3, db, dw.n);
	w_bytes(&w, 1, sb, sw.n);
	assert_int_equal(pbs_decode(ttrpc_Response_fields, &m.resp, small, w.n,
	    &err), 0);
	assert_true(m.resp.has_status);
	assert_int_equal(m.resp.status.code, 5);
	assert_true(slice_is(&m.resp.status.message,
	    "container not created: not found"));
	assert_int_equal(m.resp.status.details.n, 1);
	assert_int_equal(m.resp.payload.n, 0);

	/* An empty Response (zero-length frame) decodes to nothing set. */
	assert_int_equal(pbs_decode(ttrpc_Response_fields, &m.resp, NULL, 0,
	    &err), 0);
	assert_false(m.resp.has_status);
	assert_int_equal(m.resp.payload.n, 0);
}

/* ---- failure ---- */

static void
expect_bad(const pb_msgdesc_t *type, const void *buf, size_t len)
{
	const char *err = NULL;
	uint32_t used = pbs_arena_used();

	assert_int_equal(pbs_decode(type, &m, buf, len, &err), -EBADMSG);
	assert_non_null(err);
	/* A failed decode gives its arena entries back. */
	assert_int_equal(pbs_arena_used(), used);
}

static void
test_garbage(void **state)
{
	static const uint8_t trunc_len[] = { 0x0a, 0x05, 'a', 'b' };
	static const uint8_t bad_wt[] = { 0x0f, 0x00 };
	static const uint8_t long_varint[] = { 0x20, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t trunc_tag[] = { 0x80 };
	/* Mount with a good option, then one truncated. */
	static const uint8_t trunc_rep[] = { 0x22, 0x01, 'a', 0x22, 0x09, 'b' };
	/* Field 1 (a string) sent as a varint, and as a fixed64. */
	static const uint8_t str_as_varint[] = { 0x08, 0x96, 0x01 };
	static const uint8_t str_as_fixed[] = { 0x09, 1, 2, 3, 4, 5, 6, 7, 8 };
	/* rootfs (a repeated message) sent as a fixed32. */
	static const uint8_t rep_as_fixed[] = { 0x1d, 1, 2, 3, 4 };
	const char *err = NULL;

	(void)state;
	expect_bad(containerd_types_Mount_fields, trunc_len, sizeof(trunc_len));
	expect_bad(containerd_types_Mount_fields, bad_wt, sizeof(bad_wt));
	expect_bad(containerd_task_v2_KillRequest_fields, long_varint,
	    sizeof(long_varint));
	expect_bad(containerd_types_Mount_fields, trunc_tag, sizeof(trunc_tag));
	expect_bad(containerd_types_Mount_fields, trunc_rep, sizeof(trunc_rep));
	expect_bad(containerd_types_Mount_fields, str_as_fixed,
	    sizeof(str_as_fixed));
	expect_bad(containerd_task_v2_CreateTaskRequest_fields, rep_as_fixed,
	    sizeof(rep_as_fixed));

	assert_int_equal(pbs_decode(containerd_types_Mount_fields, &m,
	    str_as_varint, sizeof(str_as_varint), &err), -EBADMSG);
	assert_string_equal(err,
	    "wrong wire type for a length-delimited field");
	assert_int_equal(pbs_decode(containerd_types_Mount_fields, &m, NULL, 3,
	    &err), -EINVAL);
}

/* Plain pb_decode must not produce slices of nanopb's stack copies. */
static void
test_plain_pb_decode_refused(void **state)
{
	static const uint8_t buf[] = { 0x0a, 0x01, 'a' };
	pb_istream_t is = pb_istream_from_buffer(buf, sizeof(buf));

	(void)state;
	assert_false(pb_decode(&is, containerd_types_Mount_fields, &m.mount));
	assert_string_equal(is.errmsg, "pbs: decode only through pbs_decode");
}

static uint32_t
xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Random bytes and bit-flipped valid frames: every outcome must be 0 or
 * -EBADMSG, every slice inside the input (ASan in `make check` watches
 * the rest).
 */
static void
test_fuzz(void **state)
{
	static uint8_t valid[4096], buf[4096];
	const pb_msgdesc_t *types[] = {
		containerd_task_v2_CreateTaskRequest_fields,
		ttrpc_Request_fields,
		ttrpc_Response_fields,
		containerd_types_Mount_fields,
		containerd_task_v2_UpdateTaskRequest_fields,
	};
	struct pbs_iter it;
	const uint8_t *p;
	uint32_t seed = 0x12345678, len;
	size_t vn, n, k;
	const char *err;
	int i, r;

	(void)state;
	vn = make_create(valid, sizeof(valid));
	for (i = 0; i < 200000; i++) {
		pbs_reset();
		if (i & 1) {
			memcpy(buf, valid, vn);
			n = vn;
			for (k = 0; k < 1 + xorshift(&seed) % 4; k++)
				buf[xorshift(&seed) % n] ^=
				    (uint8_t)(1u << (xorshift(&seed) % 8));
		} else {
			n = xorshift(&seed) % 64;
			for (k = 0; k < n; k++)
				buf[k] = (uint8_t)xorshift(&seed);
		}
		err = NULL;
		r = pbs_decode(types[i % 5], &m, buf, n, &err);
		assert_true(r == 0 || r == -EBADMSG);
		if (r != 0) {
			assert_non_null(err);
			continue;
		}
		if (types[i % 5] != containerd_task_v2_CreateTaskRequest_fields)
			continue;
		assert_true(m.create.id.n == 0 || inside(&m.create.id, buf, n));
		it = (struct pbs_iter){ 0 };
		while (pbs_next(&m.create.rootfs, &it, &p, &len))
			assert_true(p >= buf && p + len <= buf + n);
	}
}

/* 65537 empty options: one more than the arena holds. */
static void
test_arena_full(void **state)
{
	struct wbuf w = { big, 0, sizeof(big) };
	const char *err = NULL;
	uint32_t i;
	int r;

	(void)state;
	assert_int_equal(pbs_arena_size(), 65536);
	for (i = 0; i < pbs_arena_size() + 1; i++)
		w_bytes(&w, 4, "", 0);
	r = pbs_decode(containerd_types_Mount_fields, &m.mount, big, w.n,
	    &err);
	assert_int_equal(r, -ENOSPC);
	assert_string_equal(err, "pbs arena full (65536 elements)");
	assert_int_equal(pbs_arena_used(), 0);

	/* Exactly full is fine, and then pbs_add refuses. */
	w.n -= 2;
	assert_int_equal(pbs_decode(containerd_types_Mount_fields, &m.mount,
	    big, w.n, &err), 0);
	assert_int_equal(m.mount.options.n, 65536);
	assert_int_equal(pbs_arena_used(), 65536);
	assert_int_equal(pbs_add(&m2.mount.options, "x", 1), -ENOSPC);
	pbs_reset();
	assert_int_equal(pbs_add(&m2.mount.options, "x", 1), 0);
}

/* ---- encoding ---- */

static void
test_roundtrip_exit(void **state)
{
	containerd_events_TaskExit *x = &m.exit, *y = &m2.exit;
	/* Go's zero time: seconds -62135596800 as a 10-byte varint. */
	static const uint8_t zero_ts[] = { 0x2a, 0x0b, 0x08, 0x80, 0x92, 0xb8,
	    0xc3, 0x98, 0xfe, 0xff, 0xff, 0xff, 0x01 };
	const char *err = NULL;
	size_t n, sz;

	(void)state;
	pbs_setstr(&x->container_id, "b4");
	pbs_setstr(&x->id, "b4");
	x->pid = 16210;
	x->exit_status = 137;
	x->has_exited_at = true;
	x->exited_at.seconds = -62135596800LL;
	assert_int_equal(pbs_encode(containerd_events_TaskExit_fields, x, out,
	    sizeof(out), &n, &err), 0);
	assert_int_equal(pbs_encode(containerd_events_TaskExit_fields, x, NULL,
	    0, &sz, &err), 0);
	assert_int_equal(n, sz);
	assert_memory_equal(out, "\x0a\x02" "b4" "\x12\x02" "b4"
	    "\x18\xd2\x7e" "\x20\x89\x01", 14);
	assert_int_equal(n, 14 + sizeof(zero_ts));
	assert_memory_equal(out + 14, zero_ts, sizeof(zero_ts));

	assert_int_equal(pbs_decode(containerd_events_TaskExit_fields, y, out,
	    n, &err), 0);
	assert_true(slice_is(&y->container_id, "b4"));
	assert_true(slice_is(&y->id, "b4"));
	assert_int_equal(y->pid, 16210);
	assert_int_equal(y->exit_status, 137);
	assert_true(y->has_exited_at);
	assert_int_equal(y->exited_at.seconds, -62135596800LL);
	assert_int_equal(y->exited_at.nanos, 0);

	/* Too small a buffer. */
	assert_int_equal(pbs_encode(containerd_events_TaskExit_fields, x, out,
	    n - 1, &sz, &err), -EMSGSIZE);
}

/* The `delete` action's stdout (SHIM-PROTOCOL.md 1.4). */
static void
test_roundtrip_delete(void **state)
{
	containerd_task_v2_DeleteResponse *d = &m.del, *e = &m2.del;
	const char *err = NULL;
	size_t n;

	(void)state;
	d->pid = 14586;
	d->exit_status = 137;
	d->has_exited_at = true;
	d->exited_at.seconds = -62135596800LL;
	assert_int_equal(pbs_encode(containerd_task_v2_DeleteResponse_fields, d,
	    out, sizeof(out), &n, &err), 0);
	assert_memory_equal(out, "\x08\xfa\x71\x10\x89\x01\x1a\x0b\x08", 9);
	assert_int_equal(pbs_decode(containerd_task_v2_DeleteResponse_fields, e,
	    out, n, &err), 0);
	assert_int_equal(e->pid, 14586);
	assert_int_equal(e->exit_status, 137);
	assert_true(e->has_exited_at);
	assert_int_equal(e->exited_at.seconds, -62135596800LL);

	d->exited_at.seconds = 1700000000;
	d->exited_at.nanos = 123456789;
	assert_int_equal(pbs_encode(containerd_task_v2_DeleteResponse_fields, d,
	    out, sizeof(out), &n, &err), 0);
	assert_int_equal(pbs_decode(containerd_task_v2_DeleteResponse_fields, e,
	    out, n, &err), 0);
	assert_int_equal(e->exited_at.seconds, 1700000000);
	assert_int_equal(e->exited_at.nanos, 123456789);
}

static void
test_encode_repeated(void **state)
{
	containerd_types_Mount *mt = &m.mount;
	struct pbs_iter it = { 0 };
	const uint8_t *p;
	uint32_t len;
	const char *err = NULL;
	size_t n;
	int i;

	(void)state;
	pbs_setstr(&mt->type, "bind");
	assert_int_equal(pbs_add(&mt->options, "a", 1), 0);
	assert_int_equal(pbs_add(&mt->options, "", 0), 0);
	assert_int_equal(pbs_add(&mt->options, NULL, 0), 0);
	assert_int_equal(pbs_add(&mt->options, "bc", 2), 0);
	assert_int_equal(pbs_add(&mt->options, NULL, 1), -EINVAL);
	assert_int_equal(mt->options.n, 4);
	assert_int_equal(pbs_encode(containerd_types_Mount_fields, mt, out,
	    sizeof(out), &n, &err), 0);
	/* Empty elements are real elements; empty singulars are not sent. */
	assert_int_equal(n, 17);
	assert_memory_equal(out, "\x0a\x04" "bind" "\x22\x01" "a" "\x22\x00"
	    "\x22\x00" "\x22\x02" "bc", 17);

	for (i = 0; pbs_next(&mt->options, &it, &p, &len); i++)
		;
	assert_int_equal(i, 4);
	assert_false(pbs_next(&mt->options, &it, &p, &len));

	/* A Request with two metadata pairs, each an encoded KeyValue. */
	{
		uint8_t kv[2][64];
		size_t kn[2];

		pbs_setstr(&m2.kv.key, "containerd-namespace-ttrpc");
		pbs_setstr(&m2.kv.value, "default");
		assert_int_equal(pbs_encode(ttrpc_KeyValue_fields, &m2.kv,
		    kv[0], sizeof(kv[0]), &kn[0], &err), 0);
		pbs_setstr(&m2.kv.value, "other");
		assert_int_equal(pbs_encode(ttrpc_KeyValue_fields, &m2.kv,
		    kv[1], sizeof(kv[1]), &kn[1], &err), 0);
		memset(&m.req, 0, sizeof(m.req));
		pbs_setstr(&m.req.service, "s");
		pbs_setstr(&m.req.method, "m");
		assert_int_equal(pbs_add(&m.req.metadata, kv[0], kn[0]), 0);
		assert_int_equal(pbs_add(&m.req.metadata, kv[1], kn[1]), 0);
		assert_int_equal(pbs_encode(ttrpc_Request_fields, &m.req, out,
		    sizeof(out), &n, &err), 0);
		assert_int_equal(pbs_decode(ttrpc_Request_fields, &m2.req, out,
		    n, &err), 0);
		assert_int_equal(m2.req.metadata.n, 2);
		assert_true(slice_is(&m2.req.method, "m"));
	}
}

/* The encoding of a decoded CreateTaskRequest is the input, byte for byte. */
static void
test_reencode_create(void **state)
{
	static uint8_t in[4096];
	const char *err = NULL;
	size_t n, k;

	(void)state;
	n = make_create(in, sizeof(in));
	assert_int_equal(pbs_decode(containerd_task_v2_CreateTaskRequest_fields,
	    &m.create, in, n, &err), 0);
	assert_int_equal(pbs_encode(containerd_task_v2_CreateTaskRequest_fields,
	    &m.create, out, sizeof(out), &k, &err), 0);
	/*
	 * Differences by design: fields come out in tag order (bundle moves
	 * ahead of the rootfs entries) and the empty stderr is not sent.
	 */
	assert_int_equal(k, n - 2);
	assert_int_equal(pbs_decode(containerd_task_v2_CreateTaskRequest_fields,
	    &m2.create, out, k, &err), 0);
	assert_int_equal(m2.create.rootfs.n, 3);
	assert_true(slice_is(&m2.create.bundle, "/run/bundle"));
	assert_int_equal(m2.create.stderr.n, 0);
	assert_int_equal(m2.create.options.value.len,
	    m.create.options.value.len);
}

/* ---- helpers ---- */

static void
test_helpers(void **state)
{
	struct pbs s;
	char dst[8];

	(void)state;
	pbs_set(&s, "abc", 3);
	assert_int_equal(s.n, 1);
	assert_int_equal(pbs_copy(&s, dst, sizeof(dst)), 0);
	assert_string_equal(dst, "abc");
	assert_int_equal(pbs_copy(&s, dst, 3), -ENAMETOOLONG);
	assert_int_equal(pbs_copy(&s, dst, 4), 0);
	assert_true(pbs_eq(&s, "abc"));
	assert_false(pbs_eq(&s, "ab"));
	assert_false(pbs_eq(&s, "abcd"));
	pbs_set(&s, "a\0b", 3);
	assert_int_equal(pbs_copy(&s, dst, sizeof(dst)), -EINVAL);
	pbs_set(&s, "", 0);
	assert_int_equal(s.n, 0);
	assert_true(pbs_eq(&s, ""));
	assert_int_equal(pbs_copy(&s, dst, sizeof(dst)), 0);
	assert_string_equal(dst, "");
	pbs_setstr(&s, NULL);
	assert_int_equal(s.n, 0);
	assert_int_equal(pbs_copy(&s, dst, 0), -ENAMETOOLONG);
}

/* pbs_varint: protobuf's base-128 varint, shortest form, up to 10 bytes. */
static void
test_varint(void **state)
{
	static const struct {
		uint64_t v;
		size_t n;
		uint8_t b[10];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 1, 1, { 0x01 } },
		{ 127, 1, { 0x7f } },
		{ 128, 2, { 0x80, 0x01 } },
		{ 300, 2, { 0xac, 0x02 } },
		{ 4194304, 4, { 0x80, 0x80, 0x80, 0x02 } },
		{ UINT64_MAX, 10, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0xff, 0x01 } },
	};
	uint8_t buf[12];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(pbs_varint(buf, cases[i].v), cases[i].n);
		assert_memory_equal(buf, cases[i].b, cases[i].n);
		assert_int_equal(buf[cases[i].n], 0xee);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint),
		cmocka_unit_test_setup(test_decode_create, setup),
		cmocka_unit_test_setup(test_decode_big_spec, setup),
		cmocka_unit_test_setup(test_decode_last_wins, setup),
		cmocka_unit_test_setup(test_decode_ttrpc, setup),
		cmocka_unit_test_setup(test_garbage, setup),
		cmocka_unit_test_setup(test_plain_pb_decode_refused, setup),
		cmocka_unit_test_setup(test_fuzz, setup),
		cmocka_unit_test_setup(test_arena_full, setup),
		cmocka_unit_test_setup(test_roundtrip_exit, setup),
		cmocka_unit_test_setup(test_roundtrip_delete, setup),
		cmocka_unit_test_setup(test_encode_repeated, setup),
		cmocka_unit_test_setup(test_reencode_create, setup),
		cmocka_unit_test_setup(test_helpers, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
