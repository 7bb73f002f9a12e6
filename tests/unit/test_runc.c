/*
 * test_runc - src/runc.c: runc's last error from log.json, the error
 * text the Go shim would send, PATH lookup, and real calls: a shell script
 * in a temp dir stands in for runc, records its argv, environment and
 * state, and exits as told.  The real reactor and reaper run the children
 * (reaper_init makes this process a subreaper with a signalfd for
 * SIGCHLD), and the test pumps the loop until the completion fires.
 *
 * Spec: SHIM-PROTOCOL.md section 5.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bounds.h"
#include "log.h"
#include "reactor.h"
#include "reaper.h"
#include "runc.h"
#include "scratch.h"

#include "unit_known_bug.h"
#include "unit_tmp.h"

extern char **environ;

#define OWNER	handle_make(K_PROC, 5, 3)

/* The fake runc: argv, env and signal state to files, then as told by
 * the "mode" file: an exit code, or one of the keywords below. */
static const char script_text[] =
    "#!/bin/sh\n"
    "d=${0%/*}\n"
    /* First, with builtins only: the shell's own signal state as exec
     * left it (dash blocks signals around the forks it makes later). */
    "while read -r k v; do case $k in SigBlk:|SigIgn:) "
    "printf '%s\\t%s\\n' \"$k\" \"$v\";; esac; "
    "done < /proc/self/status > \"$d/sig\"\n"
    ": > \"$d/argv\"\n"
    "for a in \"$@\"; do printf '%s\\n' \"$a\" >> \"$d/argv\"; done\n"
    "env > \"$d/env\"\n"
    "if [ -e /proc/$$/fd/50 ]; then echo leaked > \"$d/fd\"; "
    "else echo clean > \"$d/fd\"; fi\n"
    "mode=$(cat \"$d/mode\" 2>/dev/null)\n"
    "case \"$mode\" in\n"
    "hang) exec sleep 30 ;;\n"
    "big) head -c 200000 /dev/zero | tr '\\0' x; exit 0 ;;\n"
    "fd3) printf 'to fd3' >&3; exit 0 ;;\n"
    "eof-first) exec >&- 2>&-; sleep 0.2; exit 5 ;;\n"
    "exit-first) (sleep 0.3; echo late) & exit 6 ;;\n"
    "stdin) cat; exit 0 ;;\n"
    "slow) for a; do last=$a; done; echo \"start $last\" >> \"$d/order\"; "
    "sleep 0.3; echo \"end $last\" >> \"$d/order\"; exit 0 ;;\n"
    "esac\n"
    "printf 'out-line\\n'\n"
    "printf 'err-line\\n' >&2\n"
    "exit \"${mode:-0}\"\n";

static char script[PATH_MAX];

struct done {
	bool d_fired;
	int d_calls;
	handle_t d_owner;
	int d_status;
	size_t d_len;
	char d_out[NS_RUNC_OUT + 16];
};

static struct done dones[4];

static void
on_done(handle_t owner, uint64_t cookie, int status, const char *out,
    size_t len)
{
	struct done *d;

	assert_true(cookie < 4);
	d = &dones[cookie];
	d->d_fired = true;
	d->d_calls++;
	d->d_owner = owner;
	d->d_status = status;
	d->d_len = len;
	assert_true(len < sizeof(d->d_out));
	memcpy(d->d_out, out, len);
	d->d_out[len] = '\0';
	/* The output is NUL-terminated for the callback. */
	assert_int_equal(out[len], '\0');
}

static void
set_mode(const char *m)
{
	assert_int_equal(unit_write_file(unit_path("mode"), m, strlen(m),
	    0644), 0);
}

static void
wait_done(int i, unsigned ms)
{
	uint64_t until = now_ms() + ms;

	while (!dones[i].d_fired) {
		if (now_ms() > until)
			fail_msg("call %d did not complete in %u ms", i, ms);
		reactor_once(10);
	}
}

static const char *
read_rec(const char *name)
{
	static char buf[8][8192];
	static unsigned k;
	char *b = buf[k++ % 8];

	assert_true(unit_read_file(unit_path(name), b, 8192) >= 0);
	return b;
}

static struct runc_opts opts;
static char logpath[PATH_MAX];

static struct runc_req
mkreq(const char *const *args, uint64_t cookie)
{
	struct runc_req rq;

	/* runc_call builds argv in scratch, which the reactor empties
	 * before every callback; each call here stands for one. */
	scratch_reset();
	memset(&rq, 0, sizeof(rq));
	rq.rq_opts = &opts;
	rq.rq_args = args;
	rq.rq_fd[0] = RUNC_NULL;
	rq.rq_fd[1] = RUNC_CAPTURE;
	rq.rq_fd[2] = RUNC_CAPTURE;
	rq.rq_nfd = 3;
	rq.rq_owner = OWNER;
	rq.rq_cookie = cookie;
	rq.rq_done = on_done;
	memset(&dones[cookie], 0, sizeof(dones[cookie]));
	return rq;
}

static int
group_setup(void **state)
{
	(void)state;
	log_init(2, LOG_OFF, NULL);
	if (unit_tmp_make("runc") < 0)
		return -1;
	snprintf(script, sizeof(script), "%s/fake-runc", unit_tmp);
	if (unit_write_file(script, script_text, sizeof(script_text) - 1,
	    0755) < 0)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/log.json", unit_tmp);
	setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
	setenv("NANOSHIM_TEST_VAR", "kept", 1);
	runc_set_env(environ);
	reactor_init(NS_TIMERS_MAX);
	reaper_init();
	reaper_route(runc_reaped);
	runc_init(2);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unit_tmp_remove();
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	memset(&opts, 0, sizeof(opts));
	opts.ro_bin = script;
	opts.ro_root = "/run/containerd/runc/default";
	opts.ro_log = logpath;
	opts.ro_criu = "";
	unlink(unit_path("mode"));
	unlink(logpath);
	return 0;
}

static int
teardown(void **state)
{
	uint64_t until = now_ms() + 5000;

	(void)state;
	while (runc_inflight() > 0 && now_ms() < until)
		reactor_once(10);
	return runc_inflight() == 0 ? 0 : -1;
}

/* --- real calls --------------------------------------------------------- */

static void
test_argv_globals(void **state)
{
	static const char *const args[] = { "start", "ctr-1", NULL };
	struct runc_req rq = mkreq(args, 0);
	char err[256], want[1024];
	pid_t pid = 0;

	(void)state;
	rq.rq_pid_out = &pid;
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	assert_true(pid > 0);
	assert_int_equal(runc_inflight(), 1);
	assert_int_equal(runc_limit(), 2);
	wait_done(0, 5000);
	snprintf(want, sizeof(want), "--root\n/run/containerd/runc/default\n"
	    "--log\n%s\n--log-format\njson\nstart\nctr-1\n", logpath);
	assert_string_equal(read_rec("argv"), want);
	assert_int_equal(dones[0].d_status, 0);
	assert_int_equal(dones[0].d_owner, OWNER);
	assert_string_equal(dones[0].d_out, "out-line\nerr-line\n");
	assert_int_equal(dones[0].d_calls, 1);
	assert_int_equal(runc_inflight(), 0);
	/* It fires once. */
	reactor_once(20);
	assert_int_equal(dones[0].d_calls, 1);
}

static void
test_argv_criu_systemd(void **state)
{
	static const char *const args[] = { "kill", "--all", "ctr 1", "",
	    "9", NULL };
	struct runc_req rq = mkreq(args, 1);
	char err[256], want[1024];

	(void)state;
	opts.ro_criu = "/usr/local/sbin/criu";
	opts.ro_systemd = true;
	opts.ro_root = "/run/r";
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(1, 5000);
	snprintf(want, sizeof(want), "--root\n/run/r\n--log\n%s\n"
	    "--log-format\njson\n--criu\n/usr/local/sbin/criu\n"
	    "--systemd-cgroup\nkill\n--all\nctr 1\n\n9\n", logpath);
	assert_string_equal(read_rec("argv"), want);
	/* A NULL criu is the same as "". */
	opts.ro_criu = NULL;
	opts.ro_systemd = false;
	rq = mkreq(args, 1);
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(1, 5000);
	snprintf(want, sizeof(want), "--root\n/run/r\n--log\n%s\n"
	    "--log-format\njson\nkill\n--all\nctr 1\n\n9\n", logpath);
	assert_string_equal(read_rec("argv"), want);
}

static void
test_exit_status(void **state)
{
	static const char *const args[] = { "delete", "x", NULL };
	static const int codes[] = { 1, 3, 127, 255 };
	struct runc_req rq;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char m[8];

		snprintf(m, sizeof(m), "%d", codes[i]);
		set_mode(m);
		rq = mkreq(args, 0);
		assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
		wait_done(0, 5000);
		assert_int_equal(dones[0].d_status, codes[i]);
		assert_string_equal(dones[0].d_out, "out-line\nerr-line\n");
	}
}

/* runc gets the shim's environment minus NOTIFY_SOCKET, a clean signal
 * state, and none of the shim's fds beyond the ones asked for. */
static void
test_child_environment(void **state)
{
	static const char *const args[] = { "state", "x", NULL };
	struct runc_req rq = mkreq(args, 0);
	char err[256];
	const char *env, *sig, *ign;
	int leak;

	(void)state;
	/* Dispositions and a mask the child must not inherit. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	/* An inheritable fd that must not reach the child. */
	leak = dup2(2, 50);
	assert_int_equal(leak, 50);
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(0, 5000);
	close(50);
	env = read_rec("env");
	assert_null(strstr(env, "NOTIFY_SOCKET"));
	assert_non_null(strstr(env, "NANOSHIM_TEST_VAR=kept\n"));
	assert_non_null(strstr(env, "PATH="));
	signal(SIGPIPE, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	sig = read_rec("sig");
	/* Nothing blocked (the shim blocks SIGCHLD for its signalfd). */
	assert_non_null(strstr(sig, "SigBlk:\t0000000000000000\n"));
	/* Nothing of 1..31 ignored (glibc's 32 and 33 are out of reach of
	 * signal(2) and keep what our own parent gave us). */
	ign = strstr(sig, "SigIgn:\t");
	assert_non_null(ign);
	assert_int_equal(strtoull(ign + 8, NULL, 16) & 0x7fffffffULL, 0);
	assert_string_equal(read_rec("fd"), "clean\n");
}

/* A request's own environment replaces the shim's. */
static void
test_request_env(void **state)
{
	static const char *const args[] = { "x", NULL };
	static const char *const env[] = { "ONLY=this", "PATH=/usr/bin:/bin",
	    NULL };
	struct runc_req rq = mkreq(args, 0);
	char err[256];

	(void)state;
	rq.rq_env = env;
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(0, 5000);
	assert_non_null(strstr(read_rec("env"), "ONLY=this\n"));
	assert_null(strstr(read_rec("env"), "NANOSHIM_TEST_VAR"));
}

/* Without opts, args[0] is the program and there are no globals. */
static void
test_plain_program(void **state)
{
	static const char *const args[] = { "/bin/sh", "-c",
	    "printf '%s|%s|' \"$0\" \"$1\"; exit 4", "zero", "one", NULL };
	struct runc_req rq = mkreq(args, 2);
	char err[256];

	(void)state;
	rq.rq_opts = NULL;
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(2, 5000);
	assert_int_equal(dones[2].d_status, 4);
	assert_string_equal(dones[2].d_out, "zero|one|");
}

/* Extra child fds are placed where asked; /dev/null and none work. */
static void
test_child_fds(void **state)
{
	static const char *const args[] = { "exec", "x", NULL };
	struct runc_req rq = mkreq(args, 0);
	char err[256], buf[64];
	int p[2];
	ssize_t n;

	(void)state;
	set_mode("fd3");
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	rq.rq_fd[3] = p[1];
	rq.rq_nfd = 4;
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	close(p[1]);
	wait_done(0, 5000);
	n = read(p[0], buf, sizeof(buf));
	close(p[0]);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "to fd3", 6);
	/* stdin from a pipe of ours. */
	set_mode("stdin");
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	rq = mkreq(args, 0);
	rq.rq_fd[0] = p[0];
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	close(p[0]);
	assert_int_equal(write(p[1], "{\"cpu\":1}", 9), 9);
	close(p[1]);
	wait_done(0, 5000);
	assert_string_equal(dones[0].d_out, "{\"cpu\":1}");
	/* No capture at all: completes on the exit alone, empty output. */
	set_mode("0");
	rq = mkreq(args, 0);
	rq.rq_fd[1] = RUNC_NULL;
	rq.rq_fd[2] = RUNC_NONE;
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(0, 5000);
	assert_int_equal(dones[0].d_status, 0);
	assert_int_equal(dones[0].d_len, 0);
}

/* A call completes only when both the exit and EOF are in. */
static void
test_exit_and_eof_order(void **state)
{
	static const char *const args[] = { "create", "x", NULL };
	struct runc_req rq = mkreq(args, 0);
	char err[256];
	uint64_t t0;

	(void)state;
	set_mode("eof-first");
	t0 = now_ms();
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(0, 5000);
	assert_true(now_ms() - t0 >= 150);
	assert_int_equal(dones[0].d_status, 5);
	assert_int_equal(dones[0].d_len, 0);

	/* A grandchild keeps the pipe open after runc exits (a daemon). */
	set_mode("exit-first");
	rq = mkreq(args, 0);
	t0 = now_ms();
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(0, 5000);
	assert_true(now_ms() - t0 >= 250);
	assert_int_equal(dones[0].d_status, 6);
	assert_string_equal(dones[0].d_out, "late\n");
}

/* Output past the buffer is cut, not a reason to hang or fail. */
static void
test_big_output(void **state)
{
	static const char *const args[] = { "ps", "--format", "json", "x",
	    NULL };
	struct runc_req rq = mkreq(args, 0);
	char err[256];
	size_t i;

	(void)state;
	set_mode("big");
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(0, 5000);
	assert_int_equal(dones[0].d_status, 0);
	assert_int_equal(dones[0].d_len, NS_RUNC_OUT - 1);
	for (i = 0; i < dones[0].d_len; i++)
		assert_int_equal(dones[0].d_out[i], 'x');
}

/* Full pool: -ENOSPC naming the limit; the deadline kills hung calls. */
static void
test_pool_full_and_deadline(void **state)
{
	static const char *const args[] = { "start", "x", NULL };
	struct runc_req rq;
	char err[256];
	uint64_t t0 = now_ms();
	int i;

	(void)state;
	set_mode("hang");
	for (i = 0; i < 2; i++) {
		rq = mkreq(args, (uint64_t)i);
		rq.rq_deadline = t0 + 300;
		assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	}
	assert_int_equal(runc_inflight(), 2);
	rq = mkreq(args, 2);
	memset(err, 0, sizeof(err));
	assert_int_equal(runc_call(&rq, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "too many runc calls in flight (limit 2, "
	    "NANOSHIM_RUNC_CALLS)");
	assert_int_equal(runc_inflight(), 2);
	wait_done(0, 5000);
	wait_done(1, 5000);
	assert_true(now_ms() - t0 >= 300);
	assert_true(now_ms() - t0 < 5000);
	assert_int_equal(dones[0].d_status, 137);
	assert_int_equal(dones[1].d_status, 137);
	assert_false(dones[2].d_fired);
	assert_int_equal(runc_inflight(), 0);
	/* Room again. */
	set_mode("0");
	rq = mkreq(args, 2);
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(2, 5000);
	assert_int_equal(dones[2].d_status, 0);
}

/*
 * Calls with the same rq_serial run one after the other, in order: the
 * second starts only when the first has completed.  Without a key (or
 * with another) they run at once.
 */
static void
test_serial_calls(void **state)
{
	static const char *const a1[] = { "kill", "first", NULL };
	static const char *const a2[] = { "delete", "second", NULL };
	const handle_t key = handle_make(K_CTR, 3, 1);
	struct runc_req rq;
	const char *order, *nl;
	char err[256];

	(void)state;
	set_mode("slow");
	unlink(unit_path("order"));
	rq = mkreq(a1, 0);
	rq.rq_serial = key;
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	rq = mkreq(a2, 1);
	rq.rq_serial = key;
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	/* Both hold a slot; the second waits for its turn. */
	assert_int_equal(runc_inflight(), 2);
	wait_done(0, 5000);
	assert_false(dones[1].d_fired);
	wait_done(1, 5000);
	assert_int_equal(dones[0].d_status, 0);
	assert_int_equal(dones[1].d_status, 0);
	assert_string_equal(read_rec("order"),
	    "start first\nend first\nstart second\nend second\n");
	/* The waiting call ran with its own argv, kept while it waited. */
	assert_non_null(strstr(read_rec("argv"), "delete\nsecond\n"));

	/* No key: both run at once. */
	unlink(unit_path("order"));
	rq = mkreq(a1, 0);
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	rq = mkreq(a2, 1);
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(0, 5000);
	wait_done(1, 5000);
	order = read_rec("order");
	nl = strchr(order, '\n');
	assert_non_null(nl);
	assert_int_equal(strncmp(order, "start ", 6), 0);
	assert_int_equal(strncmp(nl + 1, "start ", 6), 0);
}

/* A deadline that is not reached does nothing. */
static void
test_deadline_not_reached(void **state)
{
	static const char *const args[] = { "start", "x", NULL };
	struct runc_req rq = mkreq(args, 0);
	char err[256];

	(void)state;
	set_mode("0");
	/* Far enough for a fork+exec under qemu-user on a busy host. */
	rq.rq_deadline = now_ms() + 1000;
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	wait_done(0, 5000);
	assert_int_equal(dones[0].d_status, 0);
	/* The timer went with the call: nothing fires later. */
	dones[0].d_calls = 0;
	while (now_ms() < rq.rq_deadline + 50)
		usleep(10 * 1000);
	reactor_once(10);
	reactor_once(10);
	assert_int_equal(dones[0].d_calls, 0);
}

static void
test_missing_binary(void **state)
{
	static const char *const args[] = { "start", "x", NULL };
	struct runc_req rq = mkreq(args, 0);
	char err[256];

	(void)state;
	opts.ro_bin = "/nonexistent/dir/runc";
	assert_int_equal(runc_call(&rq, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "exec: \"/nonexistent/dir/runc\": no such "
	    "file or directory");
	opts.ro_bin = "nanoshim-no-such-runc";
	assert_int_equal(runc_call(&rq, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "exec: \"nanoshim-no-such-runc\": "
	    "executable file not found in $PATH");
	assert_int_equal(runc_inflight(), 0);
	reactor_once(20);
	assert_false(dones[0].d_fired);
}

/* binary_name "" means "runc" from PATH. */
static void
test_default_binary_from_path(void **state)
{
	static const char *const args[] = { "start", "x", NULL };
	struct runc_req rq = mkreq(args, 0);
	static char path[PATH_MAX * 2];
	char err[256];
	const char *old = getenv("PATH");
	static char saved[PATH_MAX * 2];

	(void)state;
	snprintf(saved, sizeof(saved), "%s", old ? old : "");
	mkdir(unit_path("bin"), 0755);
	assert_int_equal(unit_write_file(unit_path("bin/runc"), script_text,
	    sizeof(script_text) - 1, 0755), 0);
	snprintf(path, sizeof(path), "%s:%s", unit_path("bin"), saved);
	setenv("PATH", path, 1);
	opts.ro_bin = "";
	assert_int_equal(unit_write_file(unit_path("bin/mode"), "7", 1, 0644),
	    0);
	assert_int_equal(runc_call(&rq, err, sizeof(err)), 0);
	setenv("PATH", saved, 1);
	wait_done(0, 5000);
	assert_int_equal(dones[0].d_status, 7);
}

static void
test_args_too_long(void **state)
{
	static char big[30000];
	static const char *args[] = { "exec", big, NULL };
	static const char *many[200];
	struct runc_req rq;
	char err[256];
	int i;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	rq = mkreq(args, 0);
	assert_int_equal(runc_call(&rq, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "arguments too long"));
	for (i = 0; i < 199; i++)
		many[i] = "--empty-ns";
	many[199] = NULL;
	rq = mkreq(many, 0);
	assert_int_equal(runc_call(&rq, err, sizeof(err)), -E2BIG);
	assert_int_equal(runc_inflight(), 0);
	reactor_once(20);
	assert_false(dones[0].d_fired);
}

/* --- log.json ----------------------------------------------------------- */

static void
write_log(const char *s)
{
	assert_int_equal(unit_write_file(logpath, s, strlen(s), 0644), 0);
}

static const char *
last_error(void)
{
	static char msg[1024];

	memset(msg, 'Z', sizeof(msg));
	runc_last_error(logpath, msg, sizeof(msg));
	return msg;
}

static void
test_last_error_basic(void **state)
{
	(void)state;
	write_log("{\"level\":\"info\",\"msg\":\"starting\",\"time\":\"t\"}\n"
	    "{\"level\":\"error\",\"msg\":\"first\",\"time\":\"t\"}\n"
	    "{\"level\":\"warning\",\"msg\":\"careful\",\"time\":\"t\"}\n"
	    "{\"level\":\"error\",\"msg\":\"exec failed: unable to start "
	    "container process: exec: \\\"/nonexistent\\\": stat "
	    "/nonexistent: no such file or directory\",\"time\":\"t\"}\n"
	    "{\"level\":\"info\",\"msg\":\"done\",\"time\":\"t\"}\n");
	assert_string_equal(last_error(), "exec failed: unable to start "
	    "container process: exec: \"/nonexistent\": stat /nonexistent: "
	    "no such file or directory");
	/* No trailing newline; keys in another order. */
	write_log("{\"msg\":\"a\",\"level\":\"error\"}\n"
	    "{\"time\":\"t\",\"msg\":\"b\",\"level\":\"error\"}");
	assert_string_equal(last_error(), "b");
	/* Lines that are not JSON, or error lines without msg, are passed
	 * over. */
	write_log("{\"level\":\"error\",\"msg\":\"real\"}\n"
	    "garbage line\n"
	    "{\"level\":\"error\"}\n"
	    "{\"level\":\"error\",\"msg\":12}\n"
	    "\n");
	assert_string_equal(last_error(), "real");
	/* "errors" or "Error" are other levels. */
	write_log("{\"level\":\"errors\",\"msg\":\"x\"}\n"
	    "{\"level\":\"fatal\",\"msg\":\"y\"}\n");
	assert_string_equal(last_error(), "");
}

static void
test_last_error_none(void **state)
{
	(void)state;
	write_log("{\"level\":\"info\",\"msg\":\"fine\"}\n");
	assert_string_equal(last_error(), "");
	write_log("");
	assert_string_equal(last_error(), "");
	unlink(logpath);
	assert_string_equal(last_error(), "");
}

/* Only the tail of a big file is read; its cut first line is skipped. */
static void
test_last_error_big_file(void **state)
{
	static char buf[64 << 10];
	size_t n = 0;
	int i;

	(void)state;
	/* An error line cut by the 16 KiB window. */
	n = (size_t)sprintf(buf, "{\"level\":\"error\",\"msg\":\"");
	memset(buf + n, 'E', 20000);
	n += 20000;
	n += (size_t)sprintf(buf + n, "\"}\n{\"level\":\"info\",\"msg\":"
	    "\"after\"}\n");
	write_log(buf);
	assert_string_equal(last_error(), "");

	/* An error at the start, then 20 KiB of info, then the last error. */
	n = (size_t)sprintf(buf, "{\"level\":\"error\",\"msg\":\"old\"}\n");
	for (i = 0; i < 300; i++)
		n += (size_t)sprintf(buf + n, "{\"level\":\"info\",\"msg\":"
		    "\"line %d of filler, filler, filler\"}\n", i);
	n += (size_t)sprintf(buf + n, "{\"level\":\"error\",\"msg\":"
	    "\"newest\"}\n");
	for (i = 0; i < 3; i++)
		n += (size_t)sprintf(buf + n, "{\"level\":\"info\",\"msg\":"
		    "\"x\"}\n");
	assert_true(n > 17000);
	write_log(buf);
	assert_string_equal(last_error(), "newest");

	/* The only error is beyond the window. */
	n = (size_t)sprintf(buf, "{\"level\":\"error\",\"msg\":\"old\"}\n");
	for (i = 0; i < 300; i++)
		n += (size_t)sprintf(buf + n, "{\"level\":\"info\",\"msg\":"
		    "\"line %d of filler, filler, filler\"}\n", i);
	write_log(buf);
	assert_string_equal(last_error(), "");
}

static void
test_last_error_truncates(void **state)
{
	char small[8];

	(void)state;
	write_log("{\"level\":\"error\",\"msg\":\"a long message\"}\n");
	runc_last_error(logpath, small, sizeof(small));
	/* Cut to fit, then trimmed like the whole message would be. */
	assert_string_equal(small, "a long");
}

/* Go's getLastRuntimeError trims the message (strings.TrimSpace). */
static void
test_last_error_trims(void **state)
{
	(void)state;
	write_log("{\"level\":\"error\",\"msg\":\"  boom \\n\"}\n");
	assert_string_equal(last_error(), "boom");
}

/* --- error text --------------------------------------------------------- */

static void
test_error_text(void **state)
{
	static const char reason[] = "exec: \"runc\": executable file not "
	    "found in $PATH";
	char dst[512];

	(void)state;
	/* From log.json when it has an error. */
	write_log("{\"level\":\"error\",\"msg\":\"container not running\"}\n");
	runc_error_text(dst, sizeof(dst), "OCI runtime start failed", logpath, "runc",
	    1, "ignored output\n", 15);
	assert_string_equal(dst, "OCI runtime start failed: container not "
	    "running");
	/* Else from the exit status and the output. */
	write_log("{\"level\":\"info\",\"msg\":\"nothing\"}\n");
	runc_error_text(dst, sizeof(dst), "OCI runtime create failed",
	    logpath, "runc", 1, "some output\n", 12);
	assert_string_equal(dst, "OCI runtime create failed: runc did not terminate "
	    "successfully: exit status 1: some output");
	unlink(logpath);
	runc_error_text(dst, sizeof(dst), "failed to delete task", logpath, "runc",
	    2, "", 0);
	assert_string_equal(dst, "failed to delete task: runc did not terminate "
	    "successfully: exit status 2: ");
	/* The output is given by length, not NUL. */
	runc_error_text(dst, sizeof(dst), "OCI runtime exec failed", logpath, "runc",
	    3, "abcdef", 3);
	assert_string_equal(dst, "OCI runtime exec failed: runc did not terminate "
	    "successfully: exit status 3: abc");
	/* A call that could not run: the reason is the output. */
	write_log("{\"level\":\"error\",\"msg\":\"stale\"}\n");
	runc_error_text(dst, sizeof(dst), "OCI runtime create failed",
	    logpath, "runc", -ENOENT, reason, strlen(reason));
	assert_string_equal(dst, "OCI runtime create failed: exec: \"runc\": "
	    "executable file not found in $PATH");
	/* dst is always terminated within cap. */
	memset(dst, 'Z', sizeof(dst));
	runc_error_text(dst, 16, "OCI runtime create failed", logpath, "runc", 1,
	    "", 0);
	assert_int_equal(strlen(dst), 15);
	assert_int_equal(dst[16], 'Z');
}

/*
 * The shim's reaper reports a signal death as 128 + signal, and go-runc
 * formats that as ExitError{Status} -> "exit status 137"; an exit code of
 * 255 is not a signal either.
 */
static void
test_error_text_high_status(void **state)
{
	char dst[512];

	(void)state;
	unlink(logpath);
	runc_error_text(dst, sizeof(dst), "OCI runtime start failed", logpath, "runc",
	    137, "out", 3);
	assert_string_equal(dst, "OCI runtime start failed: runc did not terminate "
	    "successfully: exit status 137: out");
	runc_error_text(dst, sizeof(dst), "OCI runtime start failed", logpath, "runc",
	    255, "out", 3);
	assert_string_equal(dst, "OCI runtime start failed: runc did not terminate "
	    "successfully: exit status 255: out");
}

/* --- lookpath ----------------------------------------------------------- */

static void
test_lookpath(void **state)
{
	static char dst[PATH_MAX], path[PATH_MAX * 2];
	static char saved[PATH_MAX * 2];
	const char *old = getenv("PATH");

	(void)state;
	snprintf(saved, sizeof(saved), "%s", old ? old : "");
	mkdir(unit_path("p1"), 0755);
	mkdir(unit_path("p2"), 0755);
	assert_int_equal(unit_write_file(unit_path("p1/tool"), "#!/bin/sh\n",
	    10, 0644), 0);	/* not executable: passed over */
	assert_int_equal(unit_write_file(unit_path("p2/tool"), "#!/bin/sh\n",
	    10, 0755), 0);
	assert_int_equal(unit_write_file(unit_path("p1/first"), "#!/bin/sh\n",
	    10, 0755), 0);
	assert_int_equal(unit_write_file(unit_path("p2/first"), "#!/bin/sh\n",
	    10, 0755), 0);

	/* An absolute (or relative with a slash) path is taken as is. */
	assert_int_equal(runc_lookpath(script, dst, sizeof(dst)), 0);
	assert_string_equal(dst, script);
	assert_int_equal(runc_lookpath("/nonexistent/runc", dst, sizeof(dst)),
	    -ENOENT);
	assert_int_equal(runc_lookpath(unit_path("p1/tool"), dst,
	    sizeof(dst)), -EACCES);
	assert_int_equal(runc_lookpath(script, dst, 8), -ENAMETOOLONG);

	snprintf(path, sizeof(path), "/nonexistent::%s:%s", unit_path("p1"),
	    unit_path("p2"));
	setenv("PATH", path, 1);
	assert_int_equal(runc_lookpath("tool", dst, sizeof(dst)), 0);
	assert_string_equal(dst, unit_path("p2/tool"));
	assert_int_equal(runc_lookpath("first", dst, sizeof(dst)), 0);
	assert_string_equal(dst, unit_path("p1/first"));
	assert_int_equal(runc_lookpath("nanoshim-nope", dst, sizeof(dst)),
	    -ENOENT);
	/* Too small a buffer for any candidate: not found, no overflow. */
	memset(dst, 'Z', sizeof(dst));
	assert_int_equal(runc_lookpath("tool", dst, 10), -ENOENT);
	assert_int_equal(dst[10], 'Z');
	setenv("PATH", saved, 1);
	/* The default PATH has sh. */
	unsetenv("PATH");
	assert_int_equal(runc_lookpath("sh", dst, sizeof(dst)), 0);
	assert_non_null(strstr(dst, "/sh"));
	setenv("PATH", saved, 1);
}

/* A directory is not an executable (Go's exec.LookPath skips it). */
static void
test_lookpath_directory(void **state)
{
	static char dst[PATH_MAX], path[PATH_MAX * 2];
	static char saved[PATH_MAX * 2];
	const char *old = getenv("PATH");
	int rc;

	(void)state;
	snprintf(saved, sizeof(saved), "%s", old ? old : "");
	mkdir(unit_path("p3"), 0755);
	mkdir(unit_path("p3/runc"), 0755);
	mkdir(unit_path("p4"), 0755);
	assert_int_equal(unit_write_file(unit_path("p4/runc"), "#!/bin/sh\n",
	    10, 0755), 0);
	snprintf(path, sizeof(path), "%s:%s", unit_path("p3"),
	    unit_path("p4"));
	setenv("PATH", path, 1);
	rc = runc_lookpath("runc", dst, sizeof(dst));
	setenv("PATH", saved, 1);
	assert_int_equal(rc, 0);
	assert_string_equal(dst, unit_path("p4/runc"));
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_argv_globals),
		T(test_argv_criu_systemd),
		T(test_exit_status),
		T(test_child_environment),
		T(test_request_env),
		T(test_plain_program),
		T(test_child_fds),
		T(test_exit_and_eof_order),
		T(test_big_output),
		T(test_pool_full_and_deadline),
		T(test_deadline_not_reached),
		T(test_serial_calls),
		T(test_missing_binary),
		T(test_default_binary_from_path),
		T(test_args_too_long),
		T(test_last_error_basic),
		T(test_last_error_none),
		T(test_last_error_big_file),
		T(test_last_error_truncates),
		T(test_last_error_trims),
		T(test_error_text),
		T(test_error_text_high_status),
		T(test_lookpath),
		T(test_lookpath_directory),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
