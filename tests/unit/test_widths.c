/*
 * test_widths - what must not shrink on a 32-bit build (armhf; issue 14).
 * Run on every architecture the Makefile builds for: natively and, with
 * ARCH=arm64 or ARCH=armhf, under qemu-user.
 *
 * - The types the shim stores times, offsets and handles in are 64-bit
 *   everywhere (musl has a 64-bit time_t on armhf too: an exit time past
 *   2038 survives).
 * - src/fmt.c (the release build's snprintf) reads each length modifier
 *   with the width the ABI passes it: %zu of a 32-bit size_t is 32 bits.
 *   Checked against the C library's own vsnprintf, call by call.
 * - Every numeric field of the messages with counters, pids and times
 *   (Stats' v1 and v2 Metrics, exits, waits, state, pids) round-trips
 *   through our encoder and decoder with values that need more than 32
 *   bits wherever the field is 64-bit: every field is found by walking
 *   nanopb's descriptors, so a new field is covered without a new line.
 */
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <time.h>

#include <cmocka.h>

#include <pb_common.h>

#include "fmt.h"
#include "pbs.h"
#include "pool.h"
#include "cgroups/v1/metrics.pb.h"
#include "cgroups/v2/metrics.pb.h"
#include "containerd/events/task.pb.h"
#include "containerd/task/v2/shim.pb.h"
#include "containerd/types/task/task.pb.h"
#include "google/protobuf/timestamp.pb.h"

static void
test_types(void **state)
{
	struct timespec ts;
	struct epoll_event ev;
	google_protobuf_Timestamp pts;

	(void)state;
	print_message("sizes: long %zu, size_t %zu, void * %zu, time_t %zu, "
	    "off_t %zu\n", sizeof(long), sizeof(size_t), sizeof(void *),
	    sizeof(time_t), sizeof(off_t));
	assert_int_equal(sizeof(time_t), 8);
	assert_int_equal(sizeof(ts.tv_sec), 8);
	assert_int_equal(sizeof(off_t), 8);
	assert_int_equal(sizeof(handle_t), 8);
	/* The reactor packs a whole handle into an epoll event. */
	assert_int_equal(sizeof(ev.data.u64), sizeof(handle_t));
	assert_int_equal(sizeof(pts.seconds), 8);
	assert_int_equal(sizeof(size_t), sizeof(void *));
}

static char got[256], want[256];

static void ours(const char *f, ...) __attribute__((format(printf, 1, 2)));

static void
ours(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	fmt_vsnprintf(got, sizeof(got), f, ap);
	va_end(ap);
}

/* fmt_vsnprintf and libc agree; an int after each argument shows a
 * misread width (the arguments after it shift). */
#define SAME(...) do {							\
	ours(__VA_ARGS__);						\
	snprintf(want, sizeof(want), __VA_ARGS__);			\
	assert_string_equal(got, want);					\
} while (0)

static void
test_fmt_widths(void **state)
{
	int x;

	(void)state;
	SAME("%zu|%d", (size_t)SIZE_MAX, 7);
	SAME("%zu|%zu|%d", (size_t)1, (size_t)2, 7);
	SAME("%zd|%d", (ssize_t)-5, 7);
	SAME("%zx|%s", (size_t)0xabcdef, "end");
	SAME("%td|%d", (ptrdiff_t)-9, 7);
	SAME("%jd|%ju|%d", (intmax_t)INT64_MIN, (uintmax_t)UINT64_MAX, 7);
	SAME("%lld|%llu|%llx|%d", -9000000000LL, ULLONG_MAX,
	    0x123456789abcdefULL, 7);
	SAME("%ld|%lu|%lx|%d", LONG_MIN, ULONG_MAX, ULONG_MAX, 7);
	SAME("%" PRId64 "|%" PRIu64 "|%" PRIx64 "|%d", INT64_MIN, UINT64_MAX,
	    (uint64_t)1 << 40, 7);
	SAME("%hhd|%hhu|%hd|%hu|%d", -3, 255, -300, 65535, 7);
	SAME("%d|%u|%x|%X|%o|%i", INT_MIN, UINT_MAX, 0xdeadbeefu, 0xbeefu,
	    0777, -1);
	SAME("%-8zu|%08llx|%.3d|%*d|%-*s|", (size_t)42, 0xabcULL, 5, 6, -12,
	    4, "ab");
	SAME("%s %.2s %c %%|%zu", "str", "xyz", 'q', (size_t)3);
	SAME("%p|%d", (void *)&x, 7);
}

/*
 * Fill every static numeric field of a message (recursively) with the
 * next value: 64-bit fields get values above 2^32 with both halves
 * non-zero, narrower ones small values.  Repeated fields get two
 * elements, optional submessages their has_ flag.  Strings and bytes
 * (struct pbs callbacks) and oneofs stay unset.
 */
static uint64_t wide_seq;
static unsigned wide_n64, wide_n32;

static void
put_scalar(void *p, size_t size)
{
	uint64_t k = ++wide_seq;
	uint64_t v64 = (k << 32) | 0x80000000u | k;
	uint32_t v32 = (uint32_t)k;
	uint8_t v8 = 1;

	switch (size) {
	case 8:
		memcpy(p, &v64, 8);
		wide_n64++;
		break;
	case 4:
		memcpy(p, &v32, 4);
		wide_n32++;
		break;
	case 1:
		memcpy(p, &v8, 1);	/* bool */
		break;
	default:
		fail_msg("numeric field of %zu bytes", size);
	}
}

static void
fill(const pb_msgdesc_t *desc, void *msg)
{
	pb_field_iter_t it;
	pb_size_t i, count;

	if (!pb_field_iter_begin(&it, desc, msg))
		return;
	do {
		unsigned ht = PB_HTYPE(it.type);

		if (PB_ATYPE(it.type) != PB_ATYPE_STATIC ||
		    ht == PB_HTYPE_ONEOF)
			continue;
		count = 1;
		if (ht == PB_HTYPE_REPEATED) {
			count = it.array_size < 2 ? it.array_size : 2;
			/* A fixed-count array has no count field. */
			if (it.pSize != &it.array_size)
				*(pb_size_t *)it.pSize = count;
		} else if (it.pSize != NULL) {
			*(bool *)it.pSize = true;
		}
		for (i = 0; i < count; i++) {
			char *p = (char *)it.pData + (size_t)i * it.data_size;

			if (PB_LTYPE_IS_SUBMSG(it.type))
				fill(it.submsg_desc, p);
			else
				put_scalar(p, it.data_size);
		}
	} while (pb_field_iter_next(&it));
}

static uint8_t wire[64 << 10];
static union {
	io_containerd_cgroups_v1_Metrics v1;
	io_containerd_cgroups_v2_Metrics v2;
	containerd_task_v2_PidsResponse pids;
	uint8_t any[1];
} wide_in, wide_out;

/* Encode a filled message, decode it again: the same bytes come back. */
static void
round_trip(const char *name, const pb_msgdesc_t *desc, size_t size,
    unsigned min64)
{
	const char *err = NULL;
	size_t len = 0, i;

	assert_true(size <= sizeof(wide_in));
	memset(&wide_in, 0, sizeof(wide_in));
	/* Zero, not a pattern: the decoder need not touch padding. */
	memset(&wide_out, 0, sizeof(wide_out));
	wide_n64 = wide_n32 = 0;
	fill(desc, &wide_in);
	if (pbs_encode(desc, &wide_in, wire, sizeof(wire), &len, &err) != 0)
		fail_msg("%s: encode: %s", name, err ? err : "?");
	pbs_reset();
	if (pbs_decode(desc, &wide_out, wire, len, &err) != 0)
		fail_msg("%s: decode: %s", name, err ? err : "?");
	for (i = 0; i < size; i++)
		if (((uint8_t *)&wide_in)[i] != ((uint8_t *)&wide_out)[i])
			fail_msg("%s: byte %zu of %zu differs after the round "
			    "trip (%#x, was %#x)", name, i, size,
			    ((uint8_t *)&wide_out)[i], ((uint8_t *)&wide_in)[i]);
	print_message("%s: %u 64-bit and %u 32-bit fields, %zu bytes on "
	    "the wire\n", name, wide_n64, wide_n32, len);
	assert_true(wide_n64 >= min64);
}

#define ROUND_TRIP(type, min64) \
	round_trip(#type, type##_fields, sizeof(type), min64)

static void
test_stats_counters(void **state)
{
	(void)state;
	/* Every counter of cgroup v1 and v2 is a uint64. */
	ROUND_TRIP(io_containerd_cgroups_v1_Metrics, 100);
	ROUND_TRIP(io_containerd_cgroups_v2_Metrics, 50);
}

static void
test_times_and_pids(void **state)
{
	(void)state;
	/* exited_at.seconds past 2038; pids and exit statuses stay 32-bit. */
	ROUND_TRIP(containerd_events_TaskExit, 1);
	ROUND_TRIP(containerd_events_TaskDelete, 1);
	ROUND_TRIP(containerd_task_v2_WaitResponse, 1);
	ROUND_TRIP(containerd_task_v2_StateResponse, 1);
	ROUND_TRIP(containerd_task_v2_DeleteResponse, 1);
	ROUND_TRIP(containerd_task_v2_PidsResponse, 0);
	ROUND_TRIP(containerd_v1_types_ProcessInfo, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_fmt_widths),
		cmocka_unit_test(test_stats_counters),
		cmocka_unit_test(test_times_and_pids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
