/*
 * f_uri - the stdio URI parser (src/io.c io_uri_split): what follows
 * "binary:" or "file:" in a process's stdout, split as the Go shim's
 * net/url does: fragment dropped, "//authority" skipped, the path
 * unescaped (%XX only, '+' kept), the query made into the logging
 * binary's argv (key, first value; "" for a key without '='; pieces with
 * ';' or a bad escape left out; '+' a space).
 *
 * Input: the URI after "binary:" (byte 0 bit 0: after "file:", no argv).
 * The corpus: the URIs the suite's log tests use (ctr --log-uri), plus
 * escapes, duplicate keys, empty values, fragments and authorities.
 *
 * Checks: the path and every argument lie inside the buffer and hold no
 * '%' escape left undone unless the input escaped a '%' ("%25"); argv
 * comes in pairs, at most the limit, with no key twice; a path with a bad
 * escape or a control character is refused.
 */
// SEAMS:
#include <string.h>

#include "fuzz.h"

#include "io.h"

#define MAXARGS	32

static char buf[1 << 16], orig[1 << 16];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_setup("uri");
	return 0;
}

static bool
inside(const char *p)
{
	return p >= buf && p + strlen(p) < buf + sizeof(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	bool file = fz_u8(&f) & 1;
	char *path = NULL, *argv[MAXARGS];
	size_t n = f.n < sizeof(buf) - 1 ? f.n : sizeof(buf) - 1;
	int argc;

	memcpy(buf, f.p, n);
	buf[n] = '\0';
	memcpy(orig, buf, n + 1);
	fz_guard(true);
	argc = io_uri_split(buf, &path, argv, file ? 0 : MAXARGS);
	if (argc >= 0) {
		FZ_CHECK(path != NULL && inside(path), "path outside the buffer");
		FZ_CHECK(argc % 2 == 0 && argc <= (file ? 0 : MAXARGS),
		    "argc %d", argc);
		for (int i = 0; i < argc; i++)
			FZ_CHECK(argv[i] != NULL && inside(argv[i]),
			    "argv[%d] outside the buffer", i);
		for (int i = 0; i < argc; i += 2)
			for (int j = i + 2; j < argc; j += 2)
				FZ_CHECK(strcmp(argv[i], argv[j]) != 0,
				    "key %s twice", argv[i]);
		for (const char *c = orig; *c && *c != '?' && *c != '#'; c++)
			FZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f,
			    "control character accepted");
		/* No escape is left half done: the path has no '%' unless
		 * the input wrote one as %25. */
		if (strchr(path, '%'))
			FZ_CHECK(strstr(orig, "%25") != NULL, "'%%' left in %s",
			    path);
	}
	fz_guard(false);
	return 0;
}
