/*
 * test_conf - src/conf.c: limits from the environment and flags.  A bad
 * value stops the program (fatalx, exit status 1 before the loop runs);
 * _exit is wrapped here to come back to the test instead.
 *
 * Found by tests/fuzz f_cmdline: strtoul took "-1" (wrapped to the
 * maximum), " 5" and "+5"; a limit is now digits only.
 */
// LDFLAGS: -Wl,--wrap=_exit
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "bounds.h"
#include "conf.h"
#include "log.h"
#include "scratch.h"

void __wrap__exit(int code);

static jmp_buf back;
static int exited;

void
__wrap__exit(int code)
{
	exited = code;
	longjmp(back, 1);
}

/* NANOSHIM_CONNS=v: the value conf_load took, or -1 if it refused it. */
static long
load_conns(const char *v)
{
	setenv("NANOSHIM_CONNS", v, 1);
	exited = 0;
	scratch_reset();
	if (setjmp(back) != 0) {
		unsetenv("NANOSHIM_CONNS");
		return -1;
	}
	conf_load();
	unsetenv("NANOSHIM_CONNS");
	return conf.cf_conns;
}

static long
flag_conns(const char *v)
{
	exited = 0;
	scratch_reset();
	if (setjmp(back) != 0)
		return -1;
	conf_load();
	assert_true(conf_flag("limit-conns", v));
	return conf.cf_conns;
}

/* fatalx writes its message to fd 2: keep the test's output clean. */
static void
quiet(void)
{
	int fd = open("/dev/null", O_WRONLY);

	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
}

static void
test_env_values(void **state)
{
	(void)state;
	quiet();
	log_init(-1, LOG_OFF, NULL);
	assert_int_equal(load_conns("5"), 5);
	assert_int_equal(load_conns("007"), 7);
	assert_int_equal(load_conns("99999"), NS_CONNS_MAX);
	assert_int_equal(load_conns("99999999999999999999999"), NS_CONNS_MAX);
	/* An empty variable is no setting. */
	assert_int_equal(load_conns(""), NS_CONNS_DEFAULT);
	assert_int_equal(load_conns("-1"), -1);
	assert_int_equal(exited, 1);
	assert_int_equal(load_conns("0"), -1);
	assert_int_equal(load_conns(" 5"), -1);
	assert_int_equal(load_conns("+5"), -1);
	assert_int_equal(load_conns("5 "), -1);
	assert_int_equal(load_conns("0x10"), -1);
	assert_int_equal(load_conns("abc"), -1);
}

static void
test_flag_values(void **state)
{
	(void)state;
	log_init(-1, LOG_OFF, NULL);
	assert_int_equal(flag_conns("3"), 3);
	assert_int_equal(flag_conns("-5"), -1);
	assert_int_equal(flag_conns("\t3"), -1);
	assert_int_equal(flag_conns(""), -1);
	assert_false(conf_flag("limit-bogus", "1"));
	assert_true(conf_known("limit-event-bytes"));
	assert_false(conf_known("limits-conns"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_values),
		cmocka_unit_test(test_flag_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
