/*
 * test_status - src/status.c: the -errno -> gRPC code table (spec 2.4,
 * STYLE "Errors") and the formatting of status_set / status_errno.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "status.h"

static void
test_code_table(void **state)
{
	static const struct {
		int e;
		int code;
	} v[] = {
		{ ENOENT, GRPC_NOT_FOUND },
		{ ESRCH, GRPC_NOT_FOUND },
		{ EEXIST, GRPC_ALREADY_EXISTS },
		{ ENOSPC, GRPC_RESOURCE_EXHAUSTED },
		{ EMFILE, GRPC_RESOURCE_EXHAUSTED },
		{ ENFILE, GRPC_RESOURCE_EXHAUSTED },
		{ ENOMEM, GRPC_RESOURCE_EXHAUSTED },
		{ EINVAL, GRPC_INVALID_ARGUMENT },
		{ ENAMETOOLONG, GRPC_INVALID_ARGUMENT },
		{ E2BIG, GRPC_INVALID_ARGUMENT },
		{ EPERM, GRPC_PERMISSION_DENIED },
		{ EACCES, GRPC_PERMISSION_DENIED },
		{ ENOSYS, GRPC_UNIMPLEMENTED },
		{ EOPNOTSUPP, GRPC_UNIMPLEMENTED },
		{ EBUSY, GRPC_FAILED_PRECONDITION },
		{ ETIMEDOUT, GRPC_DEADLINE_EXCEEDED },
		{ ECANCELED, GRPC_CANCELED },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int got = status_code_of(-v[i].e);

		if (got != v[i].code)
			fail_msg("-%s: code %d, want %d", strerror(v[i].e),
			    got, v[i].code);
	}
	/* The numbers themselves are the wire contract (spec 2.4). */
	assert_int_equal(GRPC_NOT_FOUND, 5);
	assert_int_equal(GRPC_ALREADY_EXISTS, 6);
	assert_int_equal(GRPC_RESOURCE_EXHAUSTED, 8);
	assert_int_equal(GRPC_INVALID_ARGUMENT, 3);
	assert_int_equal(GRPC_UNIMPLEMENTED, 12);
	assert_int_equal(GRPC_UNKNOWN, 2);
	assert_int_equal(GRPC_FAILED_PRECONDITION, 9);
	assert_int_equal(GRPC_UNAUTHENTICATED, 16);
}

static void
test_code_unknown(void **state)
{
	static const int other[] = { EIO, EAGAIN, EPIPE, EBADF, ECHILD,
	    EXDEV, ENOTDIR, 4095, 0, INT_MIN + 1 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		assert_int_equal(status_code_of(-other[i]), GRPC_UNKNOWN);
	/* The contract is a negative errno: +ENOENT is not a known value. */
	assert_int_equal(status_code_of(ENOENT), GRPC_UNKNOWN);
}

static void
test_status_set(void **state)
{
	static struct status st;

	(void)state;
	memset(&st, 0x55, sizeof(st));
	assert_int_equal(status_set(&st, GRPC_NOT_FOUND,
	    "container %s not created: not found", "abc"), -1);
	assert_int_equal(st.st_code, 5);
	assert_string_equal(st.st_msg, "container abc not created: not found");
	/* A % in an argument is data, not a format. */
	status_set(&st, GRPC_UNKNOWN, "%s", "100%s done");
	assert_string_equal(st.st_msg, "100%s done");
}

static void
test_status_set_truncates(void **state)
{
	static struct status st;
	static char big[3 * STATUS_MSG];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	memset(&st, 0x55, sizeof(st));
	status_set(&st, GRPC_INTERNAL, "%s", big);
	assert_int_equal(st.st_code, GRPC_INTERNAL);
	assert_int_equal(strlen(st.st_msg), STATUS_MSG - 1);
}

static void
test_status_errno(void **state)
{
	static struct status st;
	char want[64];

	(void)state;
	assert_int_equal(status_errno(&st, -ENOENT, "open %s", "/run/x"), -1);
	assert_int_equal(st.st_code, GRPC_NOT_FOUND);
	assert_string_equal(st.st_msg,
	    "open /run/x: No such file or directory");

	status_errno(&st, -EEXIST, "create");
	assert_int_equal(st.st_code, GRPC_ALREADY_EXISTS);
	assert_string_equal(st.st_msg, "create: File exists");

	status_errno(&st, -ENOSPC, "take a slot");
	assert_int_equal(st.st_code, GRPC_RESOURCE_EXHAUSTED);
	assert_string_equal(st.st_msg, "take a slot: No space left on device");

	status_errno(&st, -EIO, "read %d bytes", 12);
	assert_int_equal(st.st_code, GRPC_UNKNOWN);
	/* The text is the C library's: glibc and musl word EIO differently. */
	snprintf(want, sizeof(want), "read 12 bytes: %s", strerror(EIO));
	assert_string_equal(st.st_msg, want);
}

/* A message that already fills the buffer keeps its NUL; no overflow. */
static void
test_status_errno_truncates(void **state)
{
	static struct status st[2];
	static char big[2 * STATUS_MSG];

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	memset(st, 0x55, sizeof(st));
	status_errno(&st[0], -EINVAL, "%s", big);
	assert_int_equal(st[0].st_code, GRPC_INVALID_ARGUMENT);
	assert_int_equal(strlen(st[0].st_msg), STATUS_MSG - 1);
	/* The next struct is untouched. */
	assert_int_equal((unsigned char)((char *)&st[1])[0], 0x55);

	memset(big, 'y', STATUS_MSG - 5);
	big[STATUS_MSG - 5] = '\0';
	status_errno(&st[0], -EINVAL, "%s", big);
	assert_int_equal(strlen(st[0].st_msg), STATUS_MSG - 1);
	assert_memory_equal(st[0].st_msg + STATUS_MSG - 5, ": In", 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_table),
		cmocka_unit_test(test_code_unknown),
		cmocka_unit_test(test_status_set),
		cmocka_unit_test(test_status_set_truncates),
		cmocka_unit_test(test_status_errno),
		cmocka_unit_test(test_status_errno_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
