/*
 * f_cmdline - the command line and the NANOSHIM_* limits: Go-style flag
 * parsing (src/main.c parse_flags: -f v, --f v, -f=v, booleans, the
 * action word, -limit-NAME N), the limits from the environment and flags
 * (src/conf.c), and what `start` derives from its flags: Go's path.Clean
 * of "<address>/<namespace>/<group key>" and the socket name.
 *
 * This is startup code: it may allocate (the no-heap guard is off) and it
 * may refuse bad input by exiting (usage: exit 2, a bad number: exit 1),
 * which the harness catches (exit is wrapped at the link and jumps back).
 *
 * Input: parts separated by "%%" lines: the first holds environment
 * lines NAME=value (only NANOSHIM_* names are set), each further part is
 * one argv word.  The corpus: containerd's start, delete and daemon
 * command lines from the suite, every -limit flag, bad numbers.
 *
 * Checks: after a parse that did not exit, every limit is within
 * [1, its maximum] and was given as a plain decimal number; a limit
 * passed on is handed to the daemon word for word; path.Clean's result
 * is clean (no "//", no "." or ".." element, no trailing '/') and
 * cleaning it again changes nothing; the socket is
 * /run/containerd/s/<64 hex digits>.
 */
// SEAMS: seam_main.c
// LDFLAGS: -Wl,--wrap=exit -Wl,--wrap=_exit
#include <fcntl.h>
#include <setjmp.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

#include "bounds.h"
#include "conf.h"
#include "scratch.h"

void fz_main_reset(void);
void fz_parse_flags(int argc, char **argv);
void fz_path_clean(const char *in, char *out, size_t cap);
void fz_socket_path(const char *address, const char *ns, const char *key,
    char *dst, size_t cap);
const char *fz_opt(const char *name);
unsigned fz_opt_nlimits(void);
const char *fz_opt_limit(unsigned i);

void __wrap_exit(int code) __attribute__((noreturn));
void __real_exit(int code) __attribute__((noreturn));
void __wrap__exit(int code) __attribute__((noreturn));
void __real__exit(int code) __attribute__((noreturn));

static jmp_buf exit_jump;
static bool catching;
static int exit_code, saved_stderr = -1, null_fd = -1;

/* usage() and fatalx() write to fd 2: kept quiet unless FUZZ_LOG is set. */
static void
quiet(bool on)
{
	if (getenv("FUZZ_LOG"))
		return;
	if (on) {
		saved_stderr = dup(2);
		dup2(null_fd, 2);
	} else if (saved_stderr >= 0) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

static void __attribute__((noreturn))
caught(int code)
{
	catching = false;
	exit_code = code;
	longjmp(exit_jump, 1);
}

void
__wrap_exit(int code)
{
	if (catching)
		caught(code);
	__real_exit(code);
}

void
__wrap__exit(int code)
{
	if (catching)
		caught(code);
	__real__exit(code);
}

static const char *const envs[] = {
	"NANOSHIM_CONNS", "NANOSHIM_PARKED", "NANOSHIM_CONTAINERS",
	"NANOSHIM_PROCESSES", "NANOSHIM_RUNC_CALLS", "NANOSHIM_EVENTS",
	"NANOSHIM_EVENT_BYTES",
};

#define NENV	(sizeof(envs) / sizeof(envs[0]))
static char envbuf[NENV][4200];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_setup("cmdline");
	for (size_t i = 0; i < NENV; i++) {
		snprintf(envbuf[i], sizeof(envbuf[i]), "%s=", envs[i]);
		putenv(envbuf[i]);
	}
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	return 0;
}

static bool
decimal(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void
check_clean(const char *in)
{
	static char a[3 * NS_PATH_MAX], b[3 * NS_PATH_MAX];
	size_t n;

	fz_path_clean(in, a, sizeof(a));
	n = strlen(a);
	FZ_CHECK(n > 0 && n < sizeof(a), "clean of '%.100s' is empty", in);
	FZ_CHECK(strstr(a, "//") == NULL, "'//' in %s", a);
	FZ_CHECK(n == 1 || a[n - 1] != '/', "trailing '/' in %s", a);
	FZ_CHECK((a[0] == '/') == (in[0] == '/'), "absoluteness of %s", a);
	FZ_CHECK(strcmp(a, ".") == 0 || (strncmp(a, "./", 2) != 0 &&
	    strstr(a, "/./") == NULL && (n < 2 || strcmp(a + n - 2, "/.") != 0)),
	    "'.' element in %s", a);
	if (a[0] == '/')
		FZ_CHECK(strncmp(a, "/../", 4) != 0 && strcmp(a, "/..") != 0,
		    "'..' above the root in %s", a);
	fz_path_clean(a, b, sizeof(b));
	FZ_CHECK(strcmp(a, b) == 0, "clean is not idempotent: %s -> %s", a, b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char words[40][4096], env[8192], sock[256];
	static char *argv[42];
	struct fz f = { data, size };
	int argc = 1;
	char *line, *next;
	const char *v;

	fz_main_reset();
	/* A fatalx that jumped back here left its message in scratch. */
	scratch_reset();
	/*
	 * The variables live in static buffers put into the environment
	 * once (setenv would keep a copy of every value ever set); an empty
	 * value is no setting, as for the shim.
	 */
	for (size_t i = 0; i < NENV; i++)
		snprintf(envbuf[i], sizeof(envbuf[i]), "%s=", envs[i]);
	fz_part_str(&f, env, sizeof(env), NULL);
	for (line = env; line; line = next) {
		char *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		for (size_t i = 0; i < NENV; i++)
			if (strcmp(line, envs[i]) == 0)
				snprintf(envbuf[i], sizeof(envbuf[i]), "%s=%s",
				    envs[i], eq + 1);
	}
	argv[0] = "containerd-shim-nanoshim-v2";
	while (argc < 41 && fz_part_str(&f, words[argc - 1], sizeof(words[0]),
	    NULL)) {
		argv[argc] = words[argc - 1];
		argc++;
	}
	argv[argc] = NULL;

	catching = true;
	quiet(true);
	if (setjmp(exit_jump) != 0) {
		quiet(false);
		FZ_CHECK(exit_code == 1 || exit_code == 2, "exit %d", exit_code);
		return 0;
	}
	conf_load();
	fz_parse_flags(argc, argv);
	catching = false;
	quiet(false);

	for (size_t i = 0; i < NENV; i++)
		if ((v = getenv(envs[i])) != NULL && *v)
			FZ_CHECK(decimal(v), "%s=%s accepted", envs[i], v);
	/* "-limit-x=N", or "-limit-x" then "N": N as given, digits only. */
	for (unsigned i = 0; i < fz_opt_nlimits(); i++) {
		const char *l = fz_opt_limit(i), *eq = strchr(l, '=');

		if (eq == NULL && ++i < fz_opt_nlimits())
			v = fz_opt_limit(i);
		else
			v = eq ? eq + 1 : "";
		FZ_CHECK(decimal(v), "limit %s %s accepted", l, v);
	}
	FZ_CHECK(conf.cf_conns >= 1 && conf.cf_conns <= NS_CONNS_MAX &&
	    conf.cf_parked >= 1 && conf.cf_parked <= NS_PARKED_MAX &&
	    conf.cf_ctrs >= 1 && conf.cf_ctrs <= NS_CTRS_MAX &&
	    conf.cf_procs >= 1 && conf.cf_procs <= NS_PROCS_MAX &&
	    conf.cf_runc >= 1 && conf.cf_runc <= NS_RUNC_MAX &&
	    conf.cf_events >= 1 && conf.cf_events <= NS_EVENTS_MAX &&
	    conf.cf_evbytes >= 1 && conf.cf_evbytes <= NS_EVBYTES_MAX,
	    "a limit out of range");
	if (fz_opt("address") && fz_opt("namespace")) {
		const char *id = fz_opt("id") ? fz_opt("id") : "";
		static char joined[3 * NS_PATH_MAX];

		snprintf(joined, sizeof(joined), "%s/%s/%s", fz_opt("address"),
		    fz_opt("namespace"), id);
		check_clean(joined);
		fz_socket_path(fz_opt("address"), fz_opt("namespace"), id, sock,
		    sizeof(sock));
		FZ_CHECK(strncmp(sock, "/run/containerd/s/", 18) == 0 &&
		    strlen(sock) == 18 + 64 && strspn(sock + 18,
		    "0123456789abcdef") == 64, "socket %s", sock);
	}
	check_clean(argc > 1 ? argv[argc - 1] : "");
	return 0;
}
