/*
 * f_json - our JSON reader (src/json.c) through every consumer of it in
 * the shim, each fed the same input:
 *   - runc's log.json: the last error line (runc_last_error);
 *   - an exec's process spec: the "terminal" rewrite (write_spec);
 *   - config.json: the private pid namespace probe (has_private_pidns)
 *     and the grouping annotations `start` reads (group_key);
 *   - options.json: the runc root `delete` reads back;
 *   - `runc ps --format json` goes through f_task (the Pids reply);
 * and our JSON writing: json_quote must round-trip through json_str, and
 * options.json (write_options) must stay valid JSON whatever the strings.
 *
 * The shim parses no `runc state` or `runc features` output (it has no
 * `-info` action), so there is no consumer of those to fuzz.
 *
 * Input: byte 0 bit 0 = the exec asks for a terminal; the rest is the
 * document.  The corpus: real files from runc, containerd and the suite
 * (config.json of a bundle, log.json lines, exec specs from ctr) and
 * hand-made edge cases.
 *
 * Checks: a spec that is a valid JSON object comes out of the rewrite as
 * a valid object whose "terminal" is the requested value; the last error
 * is trimmed and fits its buffer; json_str(json_quote(s)) == s; the
 * options.json written for any root and binary name is valid JSON and
 * gives the same root back.
 */
// SEAMS: seam_proc.c seam_main.c
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#include "bounds.h"
#include "json.h"
#include "proc.h"
#include "runc.h"
#include "scratch.h"

int fz_write_spec(const char *path, const uint8_t *spec, uint32_t len,
    bool tty, char *msg, size_t cap);
bool fz_private_pidns(const char *bundle);
void fz_write_options(const struct proc_create *pc);
void fz_main_reset(void);
const char *fz_group_key(const char *id);

#define OUTMAX	(4u << 20)

static char *out;
static char str[NS_PATH_MAX], back[NS_PATH_MAX], quoted[6 * NS_PATH_MAX + 3];

static ssize_t
slurp(const char *path)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, out + got, OUTMAX - (size_t)got)) > 0)
		got += n;
	close(fd);
	return got;
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
check_spec(const uint8_t *d, size_t n, bool tty)
{
	const char *b = (const char *)d, *end = b + n, *o, *v;
	char msg[512];
	ssize_t got;
	int e;

	scratch_reset();
	e = fz_write_spec(fz_path("spec.json"), d, (uint32_t)n, tty, msg,
	    sizeof(msg));
	o = json_ws(b, end);
	/* Our skipper accepts the input as one object: so must runc. */
	if (o < end && *o == '{' && json_skip(o, end) != NULL &&
	    json_ws(json_skip(o, end), end) == end) {
		FZ_CHECK(e == 0, "a valid object refused: %s", msg);
		got = slurp(fz_path("spec.json"));
		FZ_CHECK(got > 0, "spec file empty");
		o = json_ws(out, out + got);
		FZ_CHECK(o < out + got && *o == '{' &&
		    json_skip(o, out + got) != NULL &&
		    json_ws(json_skip(o, out + got), out + got) == out + got,
		    "rewritten spec is not one JSON object: %.*s",
		    (int)(got < 300 ? got : 300), out);
		v = json_get(o, out + got, "terminal", NULL);
		FZ_CHECK(v != NULL && json_skip(v, out + got) - v ==
		    (tty ? 4 : 5) && memcmp(v, tty ? "true" : "false",
		    tty ? 4 : 5) == 0, "terminal is not %s in %.*s",
		    tty ? "true" : "false", (int)(got < 300 ? got : 300), out);
	}
	unlink(fz_path("spec.json"));
}

static void
check_log(void)
{
	char dst[1024];
	size_t l;

	scratch_reset();
	runc_last_error(fz_path("doc.json"), dst, sizeof(dst));
	l = strlen(dst);
	FZ_CHECK(l < sizeof(dst), "last error overflows");
	FZ_CHECK(l == 0 || (!is_ws(dst[0]) && !is_ws(dst[l - 1])),
	    "last error not trimmed: '%s'", dst);
}

/* json_str(json_quote(s)) == s for a C string s. */
static void
check_quote(const uint8_t *d, size_t n)
{
	const char *e = memchr(d, '\0', n);
	size_t k = e ? (size_t)(e - (const char *)d) : n, q;

	if (k >= sizeof(str))
		k = sizeof(str) - 1;
	memcpy(str, d, k);
	str[k] = '\0';
	q = json_quote(quoted, sizeof(quoted), str);
	FZ_CHECK(q > 0, "quote of %zu bytes did not fit %zu", k,
	    sizeof(quoted));
	FZ_CHECK(json_skip(quoted, quoted + q) == quoted + q,
	    "quoted string is not one JSON value");
	FZ_CHECK(json_str(quoted, quoted + q, back, sizeof(back)) == 0 &&
	    strcmp(back, str) == 0, "json_str(json_quote(s)) != s");
}

/* options.json for any root: valid, and the same root read back. */
static void
check_options(void)
{
	struct proc_create pc;
	const char *v, *end;
	char root[NS_PATH_MAX];
	ssize_t got;

	memset(&pc, 0, sizeof(pc));
	pc.pc_bundle = fz_dir();
	pc.pc_root = str;
	pc.pc_bin = str;
	pc.pc_criu = str;
	pc.pc_criu_work = str;
	pc.pc_no_pivot = true;
	pc.pc_io_uid = 7;
	scratch_reset();
	fz_write_options(&pc);
	got = slurp(fz_path("options.json"));
	FZ_CHECK(got > 1, "options.json not written");
	end = out + got;
	FZ_CHECK(json_skip(out, end) == end, "options.json is not valid "
	    "JSON: %.*s", (int)(got < 300 ? got : 300), out);
	/* What `delete` does with it. */
	v = json_get(out, end, "root", NULL);
	if (str[0]) {
		FZ_CHECK(v != NULL && json_str(v, end, root, sizeof(root)) == 0 &&
		    strcmp(root, str) == 0, "root does not read back");
	} else {
		FZ_CHECK(v == NULL, "empty root written");
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_setup("json");
	out = malloc(OUTMAX);
	/* group_key reads config.json from the cwd, as `start` does. */
	if (chdir(fz_dir()) < 0)
		abort();
	fz_main_reset();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	bool tty = fz_u8(&f) & 1;
	const char *key;

	if (fz_write(fz_path("doc.json"), f.p, f.n) < 0 ||
	    fz_write(fz_path("config.json"), f.p, f.n) < 0)
		abort();
	fz_guard(true);
	check_log();
	check_spec(f.p, f.n, tty);
	scratch_reset();
	(void)fz_private_pidns(fz_dir());
	scratch_reset();
	key = fz_group_key("fallback-id");
	FZ_CHECK(key != NULL && strlen(key) < NS_PATH_MAX, "group key");
	check_quote(f.p, f.n);
	check_options();
	fz_guard(false);
	return 0;
}
