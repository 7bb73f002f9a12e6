/*
 * test_json - src/json.c, the scanner for config.json, log.json, runc ps
 * output and exec specs.
 *
 * Every input is copied so that it ends exactly where an unreadable page
 * begins (end == the guard page): a read past `end` faults, so the
 * truncation tests prove each function stops at end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "json.h"

#include "unit_known_bug.h"

static char *guard_end;		/* first byte of the PROT_NONE page */
static size_t guard_room;	/* readable bytes before it */

static int
setup(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t room = 256u * (size_t)pg;	/* deep-nesting inputs */
	char *p;

	(void)state;
	p = mmap(NULL, room + (size_t)pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + room, (size_t)pg, PROT_NONE) < 0)
		return -1;
	guard_end = p + room;
	guard_room = room;
	return 0;
}

/* Place len bytes of s right before the guard page; returns the start. */
static const char *
at_end(const char *s, size_t len)
{
	assert_true(len <= guard_room);
	memcpy(guard_end - len, s, len);
	return guard_end - len;
}

static const char *
put(const char *s)
{
	return at_end(s, strlen(s));
}

#define END	((const char *)guard_end)

static void
test_ws(void **state)
{
	const char *p;

	(void)state;
	p = put(" \t\r\n x");
	assert_ptr_equal(json_ws(p, END), END - 1);
	p = put(" \n ");
	assert_ptr_equal(json_ws(p, END), END);
	assert_ptr_equal(json_ws(END, END), END);
}

static void
test_skip_values(void **state)
{
	static const struct {
		const char *s;
		size_t len;	/* bytes of s that are the value */
	} v[] = {
		{ "\"str\"", 5 },
		{ "\"a\\\"b\\\\\"", 8 },
		{ "\"\"", 2 },
		{ "123", 3 },
		{ "-1.5e3,", 6 },
		{ "true]", 4 },
		{ "null}", 4 },
		{ "{}", 2 },
		{ "[ ]", 3 },
		{ "{ \"a\" : [1, 2, {\"b\": \"c\"}], \"d\": null } tail", 39 },
		{ "[[], {}, \"]\", \"}\"]", 18 },
		{ "  42  ", 4 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *p = put(v[i].s);

		if (json_skip(p, END) != p + v[i].len)
			fail_msg("json_skip(%s) did not end at %zu", v[i].s,
			    v[i].len);
	}
}

static void
test_skip_malformed(void **state)
{
	static const char *const bad[] = {
		"", "   ", "{", "[", "[1,", "{\"a\"", "{\"a\":", "{\"a\":}",
		"{\"a\" 1}", "[1 2]", "\"abc", "\"abc\\", "\"abc\\\"",
		"{\"a\":1,}", "[1,]", "[,]", "{,}", "]", "}", ",",
		"{1:2}", "{\"a\":1 \"b\":2}", "[}", "{]",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (json_skip(put(bad[i]), END) != NULL)
			fail_msg("json_skip accepted \"%s\"", bad[i]);
}

/* Every proper prefix of a container value is malformed. */
static void
test_skip_truncated(void **state)
{
	static const char doc[] = "{\"ociVersion\":\"1.0.2\",\"process\":"
	    "{\"terminal\":false,\"args\":[\"sh\",\"-c\",\"echo \\\"hi\\\" "
	    "\\u00e9\"],\"env\":[]},\"linux\":{\"namespaces\":[{\"type\":"
	    "\"pid\"},{\"type\":\"mount\",\"path\":\"/x\"}]},\"n\":-12.5e1}";
	size_t k;

	(void)state;
	assert_ptr_equal(json_skip(put(doc), END), END);
	for (k = 0; k < sizeof(doc) - 1; k++)
		if (json_skip(at_end(doc, k), END) != NULL)
			fail_msg("prefix of %zu bytes accepted", k);
}

static const char *
nested(size_t depth)
{
	static char buf[300000];
	size_t i;

	assert_true(2 * depth <= sizeof(buf));
	for (i = 0; i < depth; i++) {
		buf[i] = '[';
		buf[2 * depth - 1 - i] = ']';
	}
	return at_end(buf, 2 * depth);
}

static void
test_deep_nesting(void **state)
{
	const char *p;

	(void)state;
	p = nested(64);
	assert_ptr_equal(json_skip(p, END), END);
	/* Refused, not followed down (the stack is bounded). */
	assert_null(json_skip(nested(1000), END));
	assert_null(json_skip(nested(100000), END));
}

/* json_get skips the other values, so deep nesting there is refused too. */
static void
test_deep_nesting_get(void **state)
{
	static char doc[300000];
	size_t n = 0, i, depth = 100000;

	(void)state;
	n += (size_t)sprintf(doc, "{\"a\":");
	for (i = 0; i < depth; i++)
		doc[n++] = '[';
	for (i = 0; i < depth; i++)
		doc[n++] = ']';
	n += (size_t)sprintf(doc + n, ",\"b\":1}");
	assert_null(json_get(at_end(doc, n), END, "b", NULL));
}

static void
test_get(void **state)
{
	const char *p, *v, *k = NULL;

	(void)state;
	p = put(" { \"x\" : {\"k\":1}, \"kk\":\"\\\"k\\\":3\", \"k\" :\t2 }");
	v = json_get(p, END, "k", &k);
	assert_non_null(v);
	assert_int_equal(*v, '2');
	assert_non_null(k);
	assert_memory_equal(k, "\"k\" :", 5);
	v = json_get(p, END, "kk", NULL);
	assert_non_null(v);
	assert_memory_equal(v, "\"\\\"k\\\":3\"", 9);
	v = json_get(p, END, "x", NULL);
	assert_non_null(v);
	assert_int_equal(*v, '{');
	assert_null(json_get(p, END, "", NULL));
	assert_null(json_get(p, END, "missing", NULL));
	assert_null(json_get(p, END, "K", NULL));
	/* The first of a repeated key. */
	p = put("{\"a\":1,\"a\":2}");
	assert_int_equal(*json_get(p, END, "a", NULL), '1');
	/* Not an object. */
	assert_null(json_get(put("[\"k\",1]"), END, "k", NULL));
	assert_null(json_get(put("\"k\""), END, "k", NULL));
	assert_null(json_get(put(""), END, "k", NULL));
	assert_null(json_get(put("{}"), END, "k", NULL));
}

/* A value found in a cut document may itself be cut: json_str refuses. */
static void
test_get_truncated(void **state)
{
	static const char doc[] = "{\"level\":\"error\",\"msg\":\"container "
	    "\\\"x\\\" failed\",\"time\":\"2024\"}";
	char out[128];
	size_t k;

	(void)state;
	for (k = 0; k <= sizeof(doc) - 1; k++) {
		const char *p = at_end(doc, k), *v;

		v = json_get(p, END, "msg", NULL);
		if (v == NULL)
			continue;
		assert_true(v >= p && v <= END);
		if (json_str(v, END, out, sizeof(out)) == 0)
			assert_string_equal(out, "container \"x\" failed");
		v = json_get(p, END, "time", NULL);
		if (v && json_str(v, END, out, sizeof(out)) == 0)
			assert_string_equal(out, "2024");
		json_str_eq(v ? v : p, END, "2024");
	}
}

static void
check_str(const char *in, const char *want)
{
	char out[64];
	int rc;

	memset(out, 'Z', sizeof(out));
	rc = json_str(put(in), END, out, sizeof(out));
	if (rc != 0)
		fail_msg("json_str(%s) = %d", in, rc);
	assert_string_equal(out, want);
}

static void
test_str_escapes(void **state)
{
	(void)state;
	check_str("\"plain\"", "plain");
	check_str("\"\"", "");
	check_str("\"a\\nb\\tc\\rd\\be\\ff\"", "a\nb\tc\rd\be\ff");
	check_str("\"q\\\"b\\\\s\\/\"", "q\"b\\s/");
	check_str("\"\\u0041\\u00e9\\u20ac\"", "A\xc3\xa9\xe2\x82\xac");
	check_str("\"\\u00E9\"", "\xc3\xa9");
	check_str("\"\\u001f\"", "\x1f");
	/* A surrogate pair is one code point: U+1F600. */
	check_str("\"x\\ud83d\\ude00y\"", "x\xf0\x9f\x98\x80y");
	check_str("\"\\uD834\\uDD1E\"", "\xf0\x9d\x84\x9e");
	/* Raw UTF-8 passes through. */
	check_str("\"\xc3\xa9t\xc3\xa9\"", "\xc3\xa9t\xc3\xa9");
	/* Only the value: what follows it is not read. */
	check_str("\"ab\",\"cd\"", "ab");
}

static void
test_str_truncates(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(json_str(put("\"abcdefghij\""), END, out, 4), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(out[4], 'Z');
	/* A code point that does not fit whole is left out, not cut. */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(json_str(put("\"ab\\u20ac\""), END, out, 5), 0);
	assert_string_equal(out, "ab");
	assert_int_equal(json_str(put("\"ab\\u20ac\""), END, out, 6), 0);
	assert_string_equal(out, "ab\xe2\x82\xac");
	assert_int_equal(json_str(put("\"x\""), END, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(json_str(put("\"x\""), END, out, 0), -EINVAL);
}

/* Truncation keeps a prefix: nothing after a code point that was left
 * out may follow it. */
static void
test_str_truncates_prefix(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(json_str(put("\"ab\\u20acc\""), END, out, 5), 0);
	assert_string_equal(out, "ab");
}

static void
test_str_malformed(void **state)
{
	static const char *const bad[] = {
		"", "x", "12", "{\"a\":1}", "\"", "\"abc", "\"abc\\",
		"\"abc\\\"", "\"\\u12", "\"\\u12\"", "\"\\uZZZZ\"",
		"\"\\u004", "\"\\ud83d\\ude0", "\"\\ud83d\\u",
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (json_str(put(bad[i]), END, out, sizeof(out)) != -EINVAL)
			fail_msg("json_str accepted <%s>", bad[i]);
}

/* Every cut of an escape-heavy string is refused and stays in bounds. */
static void
test_str_truncated(void **state)
{
	static const char s[] = "\"a\\n\\u00e9\\ud83d\\ude00\\\"z\"";
	char out[32];
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(s) - 1; k++)
		assert_int_equal(json_str(at_end(s, k), END, out, sizeof(out)),
		    -EINVAL);
	assert_int_equal(json_str(put(s), END, out, sizeof(out)), 0);
	assert_string_equal(out, "a\n\xc3\xa9\xf0\x9f\x98\x80\"z");
}

/*
 * Go's encoding/json turns an unpaired surrogate into U+FFFD; the shim
 * must not produce invalid UTF-8 (proto3 strings are checked by
 * google.golang.org/protobuf on the containerd side).
 */
static void
test_str_lone_surrogate(void **state)
{
	(void)state;
	check_str("\"\\ud800\"", "\xef\xbf\xbd");
	check_str("\"\\ud800x\"", "\xef\xbf\xbdx");
	check_str("\"\\udc00\"", "\xef\xbf\xbd");
}

static void
test_str_eq(void **state)
{
	(void)state;
	assert_true(json_str_eq(put("\"error\""), END, "error"));
	assert_true(json_str_eq(put("\"\""), END, ""));
	assert_false(json_str_eq(put("\"errors\""), END, "error"));
	assert_false(json_str_eq(put("\"erro\""), END, "error"));
	assert_false(json_str_eq(put("error"), END, "error"));
	/* Cut before the closing quote: never reads past end. */
	assert_false(json_str_eq(put("\"error"), END, "error"));
	assert_false(json_str_eq(put("\"err"), END, "error"));
	assert_false(json_str_eq(put(""), END, "error"));
}

static void
test_next(void **state)
{
	const char *p, *it = NULL, *e;
	int n = 0;

	(void)state;
	p = put(" [ 1 , \"two\", {\"a\":[3, 4]}, null,[] ] ");
	static const char *const first[] = { "1", "\"two\"", "{", "null",
	    "[]" };
	while ((e = json_next(p, END, &it)) != NULL) {
		assert_true(n < 5);
		assert_memory_equal(e, first[n], strlen(first[n]));
		n++;
	}
	assert_int_equal(n, 5);

	it = NULL;
	assert_null(json_next(put("[]"), END, &it));
	it = NULL;
	assert_null(json_next(put("[ ]"), END, &it));
	it = NULL;
	assert_null(json_next(put("{\"a\":1}"), END, &it));
	it = NULL;
	assert_null(json_next(put(""), END, &it));

	/* Malformed after the first element: the walk ends there. */
	it = NULL;
	p = put("[1 2]");
	assert_non_null(json_next(p, END, &it));
	assert_null(json_next(p, END, &it));
}

/* A comma must be followed by a value, not by "]" or another comma. */
static void
test_next_empty_element(void **state)
{
	const char *p, *it = NULL;

	(void)state;
	p = put("[1,,2]");
	assert_non_null(json_next(p, END, &it));
	assert_null(json_next(p, END, &it));
	it = NULL;
	p = put("[1,]");
	assert_non_null(json_next(p, END, &it));
	assert_null(json_next(p, END, &it));
}

static void
test_next_truncated(void **state)
{
	static const char arr[] = "[101, 202, \"x,y\", [3, [4]], 505]";
	size_t k;

	(void)state;
	for (k = 0; k <= sizeof(arr) - 1; k++) {
		const char *p = at_end(arr, k), *it = NULL, *e;
		int n = 0;

		while ((e = json_next(p, END, &it)) != NULL) {
			assert_true(e >= p && e < END);
			assert_true(++n <= 5);
		}
	}
}

/* The pid array of `runc ps --format json`. */
static void
test_next_pids(void **state)
{
	const char *p, *it = NULL, *e;
	static const long long want[] = { 1, 23, 4567 };
	long long v;
	int n = 0;

	(void)state;
	p = put("[1,23,4567]\n");
	while ((e = json_next(p, END, &it)) != NULL) {
		assert_int_equal(json_int(e, END, &v), 0);
		assert_int_equal(v, want[n]);
		n++;
	}
	assert_int_equal(n, 3);
}

static void
test_int(void **state)
{
	long long v = 0;

	(void)state;
	assert_int_equal(json_int(put("0"), END, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(json_int(put("42,"), END, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(json_int(put("-17]"), END, &v), 0);
	assert_int_equal(v, -17);
	assert_int_equal(json_int(put("4194304"), END, &v), 0);
	assert_int_equal(v, 4194304);
	assert_int_equal(json_int(put("922337203685477579"), END, &v), 0);
	assert_int_equal(v, 922337203685477579LL);
	assert_int_equal(json_int(put("99999999999999999999"), END, &v),
	    -ERANGE);
	assert_int_equal(json_int(put("abc"), END, &v), -EINVAL);
	assert_int_equal(json_int(put("-"), END, &v), -EINVAL);
	assert_int_equal(json_int(put("\"12\""), END, &v), -EINVAL);
	assert_int_equal(json_int(put(""), END, &v), -EINVAL);
	assert_int_equal(json_int(put("-x"), END, &v), -EINVAL);
}

static void
test_int_exact(void **state)
{
	long long v = 0;

	(void)state;
	assert_int_equal(json_int(put("9223372036854775807"), END, &v), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(json_int(put("-9223372036854775808"), END, &v), 0);
	assert_int_equal(v, INT64_MIN);
	assert_int_equal(json_int(put("1.5"), END, &v), -EINVAL);
	assert_int_equal(json_int(put("2e3"), END, &v), -EINVAL);
}

static void
test_quote(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(json_quote(out, sizeof(out), "abc"), 5);
	assert_string_equal(out, "\"abc\"");
	assert_int_equal(json_quote(out, sizeof(out), ""), 2);
	assert_string_equal(out, "\"\"");
	json_quote(out, sizeof(out), "a\"b\\c\nd\x01");
	assert_string_equal(out, "\"a\\\"b\\\\c\\u000ad\\u0001\"");
	/* Does not fit: 0, never past cap. */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(json_quote(out, 2, ""), 0);
	assert_int_equal(json_quote(out, 8, "abcdefghijkl"), 0);
	assert_int_equal(out[8], 'Z');
}

/* Every byte value survives quote -> json_str. */
static void
test_quote_roundtrip(void **state)
{
	static char in[256], q[256 * 6 + 3], back[512];
	size_t n, i;
	const char *p;

	(void)state;
	for (i = 0; i < 255; i++)
		in[i] = (char)(i + 1);
	in[255] = '\0';
	n = json_quote(q, sizeof(q), in);
	assert_true(n > 0);
	assert_int_equal(strlen(q), n);
	p = at_end(q, n);
	assert_ptr_equal(json_skip(p, END), END);
	assert_int_equal(json_str(p, END, back, sizeof(back)), 0);
	assert_string_equal(back, in);
	/* And as a value found by json_get. */
	static char doc[sizeof(q) + 16];
	snprintf(doc, sizeof(doc), "{\"k\":%s}", q);
	p = json_get(put(doc), END, "k", NULL);
	assert_non_null(p);
	assert_int_equal(json_str(p, END, back, sizeof(back)), 0);
	assert_string_equal(back, in);
}

/* "The length written, or 0 if it does not fit": a string that fits
 * exactly must be written. */
static void
test_quote_exact_fit(void **state)
{
	char out[10];

	(void)state;
	/* "abcdefg" quoted is 9 bytes plus the NUL. */
	assert_int_equal(json_quote(out, sizeof(out), "abcdefg"), 9);
	assert_string_equal(out, "\"abcdefg\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ws),
		cmocka_unit_test(test_skip_values),
		cmocka_unit_test(test_skip_malformed),
		cmocka_unit_test(test_skip_truncated),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_deep_nesting_get),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_get_truncated),
		cmocka_unit_test(test_str_escapes),
		cmocka_unit_test(test_str_truncates),
		cmocka_unit_test(test_str_truncates_prefix),
		cmocka_unit_test(test_str_malformed),
		cmocka_unit_test(test_str_truncated),
		cmocka_unit_test(test_str_lone_surrogate),
		cmocka_unit_test(test_str_eq),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_next_empty_element),
		cmocka_unit_test(test_next_truncated),
		cmocka_unit_test(test_next_pids),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_int_exact),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_quote_roundtrip),
		cmocka_unit_test(test_quote_exact_fit),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
