/*
 * test_proc_table - every (state, event) cell of src/proc.c's lifecycle
 * tables, init and exec, against an expected table written here from
 * SHIM-PROTOCOL.md 3.3 and containerd's pkg/process/{init,exec}_state.go
 * and deleted_state.go: an allowed event names the next state, a refused
 * one the Go shim's gRPC code and exact message ("E" cells are code 2
 * Unknown; errdefs-wrapped ones end with their class text).
 *
 * The tables are static; src/proc.c exposes one cell under NS_UNIT_TEST:
 *
 *   int proc_table_cell(bool init, int state, int ev, int *next,
 *       int *code, const char **msg);
 *
 * 0: allowed, *next = the next state, or 0xff (ST_SAME) for "stays".
 * -1: refused, *code and *msg filled.
 *
 * The transitional states (CREATING, STARTING, PAUSING, RESUMING,
 * DELETING) are nanoshim's: Go holds a mutex while runc runs, so a call
 * arriving meanwhile waits and then sees the stable state.  Their rows
 * below answer as the state the process is leaving would (or, for
 * DELETING, as deleted), and OK/FAIL move them on; OK/FAIL in a stable
 * state (no runc call in flight) is a broken invariant: Internal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proc.h"
#include "status.h"

#include "unit_known_bug.h"

int proc_table_cell(bool init, int state, int ev, int *next, int *code,
    const char **msg);

/* Same order as enum pst / enum pev in src/proc_impl.h. */
enum {
	CREATING, CREATED, STARTING, RUNNING, PAUSING, PAUSED, RESUMING,
	STOPPED, DELETING, NSTATES
};
enum {
	START, DELETE, PAUSE, RESUME, UPDATE, CHECKPOINT, EXEC, KILL, RESIZE,
	OK, FAIL, EXITED, NEVENTS
};

static const char *const state_names[NSTATES] = {
	"CREATING", "CREATED", "STARTING", "RUNNING", "PAUSING", "PAUSED",
	"RESUMING", "STOPPED", "DELETING",
};
static const char *const ev_names[NEVENTS] = {
	"START", "DELETE", "PAUSE", "RESUME", "UPDATE", "CHECKPOINT", "EXEC",
	"KILL", "RESIZE", "OK", "FAIL", "EXITED",
};

struct want {
	bool set;		/* false: a cell not stated here */
	bool known_bug;		/* checked by test_known_bug_cells only */
	int next;		/* allowed: next state, SAME: stays */
	int code;		/* refused: gRPC code */
	const char *msg;
};

#define SAME	(-1)
#define ST_SAME_VALUE	0xff	/* enum pst ST_SAME */
#define GO(s)	{ true, false, s, 0, NULL }
#define STAY	{ true, false, SAME, 0, NULL }
#define E(m)	{ true, false, 0, GRPC_UNKNOWN, m }
#define NF(m)	{ true, false, 0, GRPC_NOT_FOUND, m }
#define FP(m)	{ true, false, 0, GRPC_FAILED_PRECONDITION, m }
#define BAD	{ true, false, 0, GRPC_INTERNAL, "invalid state transition" }
/* A NotFound cell src/proc.c does not match yet. */
#define NF_KB(m)	{ true, true, 0, GRPC_NOT_FOUND, m }

#define NOT_CREATED	NF("container not created: not found")

static const struct want init_want[NSTATES][NEVENTS] = {
	/* Not visible until runc create returns: as if it did not exist. */
	[CREATING] = {
		NOT_CREATED, NOT_CREATED, NOT_CREATED, NOT_CREATED,
		NOT_CREATED, NOT_CREATED, NOT_CREATED, NOT_CREATED,
		NOT_CREATED,
		[OK] = GO(CREATED), [FAIL] = STAY, [EXITED] = STAY,
	},
	[CREATED] = {
		[START] = GO(STARTING),
		[DELETE] = GO(DELETING),
		[PAUSE] = E("cannot pause task in created state"),
		[RESUME] = E("cannot resume task in created state"),
		[UPDATE] = STAY,
		[CHECKPOINT] = E("cannot checkpoint a task in created state"),
		[EXEC] = STAY,
		[KILL] = STAY,
		[RESIZE] = STAY,
		[OK] = BAD, [FAIL] = BAD,
		[EXITED] = GO(STOPPED),
	},
	/* runc start in flight. */
	[STARTING] = {
		[START] = E("cannot start a running process"),
		[DELETE] = E("cannot delete a running process"),
		[PAUSE] = E("cannot pause task in created state"),
		[RESUME] = E("cannot resume task in created state"),
		[UPDATE] = STAY,
		[CHECKPOINT] = E("cannot checkpoint a task in created state"),
		[EXEC] = STAY,
		[KILL] = STAY,
		[RESIZE] = STAY,
		[OK] = GO(RUNNING), [FAIL] = GO(CREATED),
		[EXITED] = STAY,	/* held until the start is answered */
	},
	[RUNNING] = {
		[START] = E("cannot start a running process"),
		[DELETE] = E("cannot delete a running process"),
		[PAUSE] = GO(PAUSING),
		[RESUME] = E("cannot resume a running process"),
		[UPDATE] = STAY,
		[CHECKPOINT] = STAY,
		[EXEC] = STAY,
		[KILL] = STAY,
		[RESIZE] = STAY,
		[OK] = BAD, [FAIL] = BAD,
		[EXITED] = GO(STOPPED),
	},
	/* runc pause in flight: status "pausing". */
	[PAUSING] = {
		[START] = E("cannot start a paused process"),
		[DELETE] = E("cannot delete a paused process"),
		[PAUSE] = E("cannot pause a paused container"),
		[RESUME] = E("cannot resume a running process"),
		[UPDATE] = STAY,
		[CHECKPOINT] = STAY,
		[EXEC] = E("cannot exec in a paused state"),
		[KILL] = STAY,
		[RESIZE] = STAY,
		[OK] = GO(PAUSED), [FAIL] = GO(RUNNING),
		[EXITED] = GO(STOPPED),
	},
	[PAUSED] = {
		[START] = E("cannot start a paused process"),
		[DELETE] = E("cannot delete a paused process"),
		[PAUSE] = E("cannot pause a paused container"),
		[RESUME] = GO(RESUMING),
		[UPDATE] = STAY,
		[CHECKPOINT] = STAY,
		[EXEC] = E("cannot exec in a paused state"),
		[KILL] = STAY,
		[RESIZE] = STAY,
		[OK] = BAD, [FAIL] = BAD,
		[EXITED] = GO(STOPPED),
	},
	/* runc resume in flight. */
	[RESUMING] = {
		[START] = E("cannot start a paused process"),
		[DELETE] = E("cannot delete a paused process"),
		[PAUSE] = E("cannot pause a paused container"),
		[RESUME] = E("cannot resume a running process"),
		[UPDATE] = STAY,
		[CHECKPOINT] = STAY,
		[EXEC] = E("cannot exec in a paused state"),
		[KILL] = STAY,
		[RESIZE] = STAY,
		[OK] = GO(RUNNING), [FAIL] = GO(PAUSED),
		[EXITED] = GO(STOPPED),
	},
	[STOPPED] = {
		[START] = E("cannot start a stopped process"),
		[DELETE] = GO(DELETING),
		[PAUSE] = E("cannot pause a stopped container"),
		[RESUME] = E("cannot resume a stopped container"),
		[UPDATE] = E("cannot update a stopped container"),
		[CHECKPOINT] = E("cannot checkpoint a stopped container"),
		[EXEC] = E("cannot exec in a stopped state"),
		/* Go runs runc kill; checkKillError makes it this. */
		[KILL] = NF("process already finished: not found"),
		[RESIZE] = STAY,
		/* A pause/resume answer after the exit changes nothing. */
		[OK] = STAY, [FAIL] = STAY,
		[EXITED] = STAY,
	},
	/* runc delete in flight: answers as deleted (deleted_state.go). */
	[DELETING] = {
		[START] = E("cannot start a deleted process"),
		[DELETE] = NF("cannot delete a deleted process: not found"),
		[PAUSE] = E("cannot pause a deleted process"),
		[RESUME] = E("cannot resume a deleted process"),
		[UPDATE] = E("cannot update a deleted process"),
		[CHECKPOINT] = E("cannot checkpoint a deleted process"),
		[EXEC] = E("cannot exec in a deleted state"),
		[KILL] = NF("cannot kill a deleted process: not found"),
		[RESIZE] = E("cannot resize a deleted process"),
		/* FAIL goes back to where the delete began (proc_step), which
		 * the table cell shows as "stay". */
		[OK] = STAY, [FAIL] = STAY,
		[EXITED] = STAY,
	},
};

/*
 * An exec: created, starting (runc exec in flight), running, stopped,
 * deleting.  Pause/resume/update/checkpoint/exec are the init's events.
 */
static const struct want exec_want[NSTATES][NEVENTS] = {
	[CREATED] = {
		[START] = GO(STARTING),
		[DELETE] = GO(DELETING),
		/* exec.go kill: pid 0 */
		[KILL] = FP("process not created: failed precondition"),
		[RESIZE] = STAY,
		[OK] = BAD, [FAIL] = BAD,
		[EXITED] = STAY,	/* no process to exit */
	},
	[STARTING] = {
		[START] = E("cannot start a running process"),
		[DELETE] = E("cannot delete a running process"),
		[KILL] = FP("process not created: failed precondition"),
		[RESIZE] = STAY,
		[OK] = GO(RUNNING), [FAIL] = GO(CREATED),
		[EXITED] = STAY,	/* held until the start is answered */
	},
	[RUNNING] = {
		[START] = E("cannot start a running process"),
		[DELETE] = E("cannot delete a running process"),
		[KILL] = STAY,
		[RESIZE] = STAY,
		[OK] = BAD, [FAIL] = BAD,
		[EXITED] = GO(STOPPED),
	},
	[STOPPED] = {
		[START] = E("cannot start a stopped process"),
		[DELETE] = GO(DELETING),
		/* exec.go kill: exited is set */
		[KILL] = NF("process already finished: not found"),
		[RESIZE] = E("cannot resize a stopped container"),
		[OK] = STAY, [FAIL] = STAY,
		[EXITED] = STAY,
	},
	/* An exec's deleted state is deleted_state.go's, as for the init. */
	[DELETING] = {
		[START] = E("cannot start a deleted process"),
		[DELETE] = NF("cannot delete a deleted process: not found"),
		[KILL] = NF_KB("cannot kill a deleted process: not found"),
		[RESIZE] = E("cannot resize a deleted process"),
		[OK] = STAY, [FAIL] = STAY,
		[EXITED] = STAY,
	},
};

static bool exec_states[NSTATES] = {
	[CREATED] = true, [STARTING] = true, [RUNNING] = true,
	[STOPPED] = true, [DELETING] = true,
};
static bool exec_events[NEVENTS] = {
	[START] = true, [DELETE] = true, [KILL] = true, [RESIZE] = true,
	[OK] = true, [FAIL] = true, [EXITED] = true,
};

/* Compare one cell; a line describing the difference, or NULL. */
static const char *
check_cell(bool init, int s, int e, const struct want *w)
{
	static char why[512];
	int next = -100, code = -100, rc;
	const char *msg = NULL;
	int wnext = w->next == SAME ? s : w->next;

	rc = proc_table_cell(init, s, e, &next, &code, &msg);
	if (rc == 0 && next == ST_SAME_VALUE)
		next = s;
	if (w->msg == NULL) {
		if (rc != 0) {
			snprintf(why, sizeof(why), "refused (%d \"%s\"), want "
			    "-> %s", code, msg ? msg : "(null)",
			    state_names[wnext]);
			return why;
		}
		if (next != wnext) {
			snprintf(why, sizeof(why), "-> %d (%s), want -> %s",
			    next, next >= 0 && next < NSTATES ?
			    state_names[next] : "?", state_names[wnext]);
			return why;
		}
		return NULL;
	}
	if (rc == 0) {
		snprintf(why, sizeof(why), "allowed (-> %d), want %d \"%s\"",
		    next, w->code, w->msg);
		return why;
	}
	if (code != w->code || msg == NULL || strcmp(msg, w->msg) != 0) {
		snprintf(why, sizeof(why), "%d \"%s\", want %d \"%s\"", code,
		    msg ? msg : "(null)", w->code, w->msg);
		return why;
	}
	return NULL;
}

static int
check_table(bool init, const struct want (*want)[NEVENTS],
    const bool *states, const bool *events, bool known_bugs)
{
	int s, e, bad = 0;

	for (s = 0; s < NSTATES; s++) {
		if (states && !states[s])
			continue;
		for (e = 0; e < NEVENTS; e++) {
			const char *why;

			if (events && !events[e])
				continue;
			assert_true(want[s][e].set);
			if (want[s][e].known_bug != known_bugs)
				continue;
			why = check_cell(init, s, e, &want[s][e]);
			if (why) {
				print_error("%s %s x %s: %s\n", init ? "init" :
				    "exec", state_names[s], ev_names[e], why);
				bad++;
			}
		}
	}
	return bad;
}

static void
test_init_table(void **state)
{
	(void)state;
	assert_int_equal(check_table(true, init_want, NULL, NULL, false), 0);
}

static void
test_exec_table(void **state)
{
	(void)state;
	assert_int_equal(check_table(false, exec_want, exec_states,
	    exec_events, false), 0);
}

static void
test_known_bug_cells(void **state)
{
	(void)state;
	assert_int_equal(check_table(true, init_want, NULL, NULL, true) +
	    check_table(false, exec_want, exec_states, exec_events, true), 0);
}

/*
 * Cells an exec never meets (the init's events, the init's transitional
 * states) must refuse, not fall through to a zero cell, which reads as
 * "allowed, go to CREATING".
 */
static void
test_exec_unused_cells_refuse(void **state)
{
	static const struct want bad = BAD;
	int s, e, n = 0;

	(void)state;
	for (s = 0; s < NSTATES; s++)
		for (e = 0; e < NEVENTS; e++) {
			const char *why;

			if (exec_states[s] && exec_events[e])
				continue;
			why = check_cell(false, s, e, &bad);
			if (why) {
				print_error("exec %s x %s: %s\n",
				    state_names[s], ev_names[e], why);
				n++;
			}
		}
	assert_int_equal(n, 0);
}

/* Refusals carry a code that containerd's errdefs understand. */
static void
test_refusal_codes(void **state)
{
	int s, e, k;

	(void)state;
	for (k = 0; k < 2; k++)
		for (s = 0; s < NSTATES; s++)
			for (e = 0; e < NEVENTS; e++) {
				int next, code = 0;
				const char *msg = NULL;

				if (proc_table_cell(k == 0, s, e, &next, &code,
				    &msg) == 0)
					continue;
				assert_non_null(msg);
				assert_true(code == GRPC_UNKNOWN ||
				    code == GRPC_NOT_FOUND ||
				    code == GRPC_FAILED_PRECONDITION ||
				    code == GRPC_INTERNAL);
				if (code == GRPC_NOT_FOUND)
					assert_non_null(strstr(msg,
					    ": not found"));
				if (code == GRPC_FAILED_PRECONDITION)
					assert_non_null(strstr(msg,
					    ": failed precondition"));
			}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_table),
		cmocka_unit_test(test_exec_table),
		cmocka_unit_test(test_known_bug_cells),
		cmocka_unit_test(test_exec_unused_cells_refuse),
		cmocka_unit_test(test_refusal_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
