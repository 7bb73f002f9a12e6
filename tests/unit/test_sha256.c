/*
 * test_sha256 - src/sha256.c against the FIPS 180-2 example vectors, the
 * shim socket name of spec 1.2, and every padding boundary (one or two
 * final blocks).  The input sits right before an unreadable page, so a
 * read past len faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "sha256.h"

static uint8_t *guard_end;	/* first byte of the PROT_NONE page */

static int
setup(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *p;

	(void)state;
	p = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + pg, (size_t)pg, PROT_NONE) < 0)
		return -1;
	guard_end = p + pg;
	return 0;
}

/* Hash s from a copy that ends exactly at the guard page. */
static void
check(const void *s, size_t len, const char *want)
{
	char hex[65];
	uint8_t *at = guard_end - len;

	memcpy(at, s, len);
	memset(hex, 'Z', sizeof(hex));
	sha256_hex(at, len, hex);
	assert_int_equal(hex[64], '\0');
	assert_string_equal(hex, want);
}

static void
test_fips_vectors(void **state)
{
	(void)state;
	check("", 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check("abc", 3,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* 448 bits: the padding needs a second block. */
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void
test_million_a(void **state)
{
	static char a[1000000];
	char hex[65];

	(void)state;
	memset(a, 'a', sizeof(a));
	sha256_hex(a, sizeof(a), hex);
	assert_string_equal(hex,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* spec 1.2: the socket is named after sha256(address/ns/id). */
static void
test_socket_vector(void **state)
{
	static const char s[] = "/run/containerd/containerd.sock/default/"
	    "mycontainer";

	(void)state;
	check(s, sizeof(s) - 1,
	    "3272bea47699920557fd8e0ecc9b0fbad8bbcd98de96f30b484690cc72ca67be");
}

/* Lengths around 55/56 and 64 bytes decide between one and two final
 * blocks; reference values from an independent implementation. */
static void
test_padding_boundaries(void **state)
{
	static const struct {
		size_t n;
		const char *want;
	} v[] = {
		{ 55, "e7313d333c272e639f790978283f9eb3"
		    "92e843d0f29b7016828bb1daa4aac70b" },
		{ 56, "4324d65f3c103567f5589c710bc08f85"
		    "23f929a9272e3af36fc968e52abc6c27" },
		{ 57, "35df609437dcfea3279283ab79fd554e"
		    "2bf78f8f7ae2de532d8ee300b09e8f73" },
		{ 63, "81c80242132f230c3bd41b3e63bbcff1"
		    "6107339549214a99614ff26664625055" },
		{ 64, "39e3d7b6b5d075d37d053ad89b24b41b"
		    "ef4f3c29760c84447cab3f3be1882241" },
		{ 65, "aacca6ff74fdbb296d165a45cecfa04e"
		    "5127bc008770fbbdd48006f2d2fae95e" },
		{ 119, "9ce7368e4daf32341631b492e80359dc"
		    "9f594b48453cd0dd5bf0b19279cc177e" },
		{ 120, "7836b787757e95e58b3ca5aec90b1b00"
		    "4e8deba1e50e9675af9cabf1a13a04b5" },
		{ 127, "a8d23e75d936f303d248888d9b165ee5"
		    "43f4cbafcad3c9dd2a79bd84faa11d07" },
		{ 128, "d2742f1f4ac6bb7ca2b239ee18402ba8"
		    "b3f9f8e652d2a72973c2b9ba11c08cf6" },
		{ 129, "307f8fc2c1622b92762e818d39a185d4"
		    "d667ad49a4b07ceae1f4afa008a93ec4" },
	};
	uint8_t b[129];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		check(b, v[i].n, v[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_socket_vector),
		cmocka_unit_test(test_padding_boundaries),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
