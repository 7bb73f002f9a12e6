/*
 * test_uri - src/io.c io_uri_split: a process's binary:// and file://
 * stdout as the Go shim reads it through net/url (url.Parse, then Path and
 * Query(); pkg/process/io.go NewBinaryIO and the "file" case).  Expected
 * values follow Go 1.19's net/url.
 *
 * Found while writing tests/fuzz f_uri, reading the old parser against
 * those rules (the fuzzer's checks now hold it to them): '+' in a path
 * became a space, "%zz" and "%-1" were decoded (strtol), "%00" cut the path short,
 * a query key without '=' gave no value (so the logger's key/value pairs
 * shifted: Go passes "" for it), duplicate keys were all passed (Go: the
 * first value once), and the fragment and "//host" stayed in the path.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "io.h"

static char buf[4096];
static char *path, *argv[32];

static int
split(const char *after_scheme, int max)
{
	snprintf(buf, sizeof(buf), "%s", after_scheme);
	path = NULL;
	return io_uri_split(buf, &path, argv, max);
}

static void
test_binary(void **state)
{
	(void)state;
	assert_int_equal(split("///usr/bin/logger?dir=/var/log&ready=1", 32),
	    4);
	assert_string_equal(path, "/usr/bin/logger");
	assert_string_equal(argv[0], "dir");
	assert_string_equal(argv[1], "/var/log");
	assert_string_equal(argv[2], "ready");
	assert_string_equal(argv[3], "1");
	/* Path escapes: %XX only; '+' is a plus in a path. */
	assert_int_equal(split("///opt/my%20c++%2Blog", 32), 0);
	assert_string_equal(path, "/opt/my c+++log");
	/* Query: '+' is a space, %XX decoded; key without '=' gets "". */
	assert_int_equal(split("///l?a+b=c%3Dd&verbose&x=", 32), 6);
	assert_string_equal(argv[0], "a b");
	assert_string_equal(argv[1], "c=d");
	assert_string_equal(argv[2], "verbose");
	assert_string_equal(argv[3], "");
	assert_string_equal(argv[4], "x");
	assert_string_equal(argv[5], "");
	/* First value of a key, once; ';' pieces and bad escapes dropped. */
	assert_int_equal(split("///l?a=1&b=2&a=3&c=1;2&d=%zz&&e", 32), 6);
	assert_string_equal(argv[0], "a");
	assert_string_equal(argv[1], "1");
	assert_string_equal(argv[2], "b");
	assert_string_equal(argv[4], "e");
	/* Fragment gone; authority skipped. */
	assert_int_equal(split("//host:1/bin/l#frag?x=1", 32), 0);
	assert_string_equal(path, "/bin/l");
	/* At most max entries, whole pairs. */
	assert_int_equal(split("///l?a=1&b=2&c=3", 4), 4);
}

static void
test_refused(void **state)
{
	(void)state;
	assert_int_equal(split("///bin/l%zz", 32), -EINVAL);
	assert_int_equal(split("///bin/l%4", 32), -EINVAL);
	assert_int_equal(split("///bin/l%-1", 32), -EINVAL);
	assert_int_equal(split("///bin/sh%00x", 32), -EINVAL);
	assert_int_equal(split("///bin/l\x01", 32), -EINVAL);
	assert_int_equal(split("///bin/l?x=\x7f", 32), -EINVAL);
}

static void
test_file(void **state)
{
	(void)state;
	assert_int_equal(split("///var/log/c%2Fd.log?x=1#y", 0), 0);
	assert_string_equal(path, "/var/log/c/d.log");
	assert_int_equal(split("relative/x", 0), 0);
	assert_string_equal(path, "relative/x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
