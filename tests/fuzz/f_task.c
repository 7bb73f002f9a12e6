/*
 * f_task - every request decoder of the Task service, reached through its
 * dispatch (src/task.c) under both service names, v2 and v3: the 17
 * methods, unknown method names, and the Pids reply's JSON reader.
 *
 * task.c is the real one.  What it calls is replaced at the link: proc
 * (the fake below answers each call as the input says: done, failed with
 * a status, or parked and answered later, as proc does, through the reply
 * functions task registers with proc_replies, or ttrpc for an empty
 * reply or an error), the ttrpc replies (--wrap: each reply is encoded here and
 * counted), mount_one/mount_unmount_all (no mount(2)) and mkdir (--wrap:
 * nothing is created on the host).  events is the real queue; the sweep
 * that drains it runs after every input.  Stats reads the cgroup fixture
 * tree (tests/fixtures/cgroup).
 *
 * Input: records [method][outcome][length, 2 bytes][payload].  method %
 * 20: 0-16 the Task methods (bit 7: the v3 service name), 17 a method
 * named by the payload, 18 sets the JSON the fake `runc ps` prints for
 * Pids, 19 answers the parked calls so far.  outcome % 3: done, failed
 * (status code outcome / 4 % 17), parked.  The corpus holds the requests
 * the integration suite sent (captured with the NS_FRAME_DUMP build).
 *
 * Checks: every call the dispatch accepts is answered exactly once (at
 * once, or when its parked call completes); replies encode within the
 * 64 KiB reply limit; an error status has a code in 1..16 and a message;
 * unknown names are refused (no answer: ttrpc says UNIMPLEMENTED).
 */
// SEAMS:
// LDFLAGS: -Wl,--wrap=ttrpc_reply -Wl,--wrap=ttrpc_reply_status -Wl,--wrap=ttrpc_service -Wl,--wrap=ttrpc_on_close -Wl,--wrap=mkdir
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <pb_encode.h>

#include "fuzz.h"

#include "bounds.h"
#include "cgroup.h"
#include "events.h"
#include "mount.h"
#include "pbs.h"
#include "proc.h"
#include "reactor.h"
#include "scratch.h"
#include "status.h"
#include "task.h"
#include "taskev.h"
#include "ttrpc.h"

#define NCALLS	256
#define NPARK	64

static ttrpc_service_fn *svc_v2, *svc_v3;
static unsigned answers[NCALLS];	/* per stream id / 2 */
static uint8_t outcome;
static const uint8_t *ps_json;
static size_t ps_len;
static struct cgroup_ref fx_cg;
static uint8_t encbuf[NS_REPLY_MAX + 1];
/* What task_init registers: the replies proc answers parked calls with. */
static struct proc_replies fk_rp;

enum park_kind { PK_EMPTY, PK_PID, PK_WAIT, PK_DELETE, PK_PIDS, PK_ERROR };

static struct {
	struct ttrpc_ref ref;
	enum park_kind kind;
	int64_t ticket;
} parked[NPARK];
static unsigned nparked;

/* --- ttrpc, wrapped -------------------------------------------------------- */

void __wrap_ttrpc_service(const char *name, ttrpc_service_fn *fn);
void __wrap_ttrpc_on_close(ttrpc_close_fn *fn);
int __wrap_ttrpc_reply(struct ttrpc_ref ref, const pb_msgdesc_t *fields,
    const void *msg);
int __wrap_ttrpc_reply_status(struct ttrpc_ref ref, int code,
    const char *msg);
int __wrap_mkdir(const char *path, mode_t mode);
int __real_mkdir(const char *path, mode_t mode);

void
__wrap_ttrpc_service(const char *name, ttrpc_service_fn *fn)
{
	if (strcmp(name, "containerd.task.v2.Task") == 0)
		svc_v2 = fn;
	else if (strcmp(name, "containerd.task.v3.Task") == 0)
		svc_v3 = fn;
}

void
__wrap_ttrpc_on_close(ttrpc_close_fn *fn)
{
	(void)fn;
}

static void
answered(struct ttrpc_ref ref)
{
	FZ_CHECK(ref.r_sid < 2 * NCALLS, "reply to unknown stream %u",
	    ref.r_sid);
	answers[ref.r_sid / 2]++;
	FZ_CHECK(answers[ref.r_sid / 2] == 1, "stream %u answered %u times",
	    ref.r_sid, answers[ref.r_sid / 2]);
}

int
__wrap_ttrpc_reply(struct ttrpc_ref ref, const pb_msgdesc_t *fields,
    const void *msg)
{
	pb_ostream_t os;

	answered(ref);
	if (msg == NULL)
		return 0;
	os = pb_ostream_from_buffer(encbuf, sizeof(encbuf));
	FZ_CHECK(pb_encode(&os, fields, msg), "reply does not encode: %s",
	    PB_GET_ERROR(&os));
	FZ_CHECK(os.bytes_written <= NS_REPLY_MAX, "reply of %zu bytes",
	    os.bytes_written);
	return 0;
}

int
__wrap_ttrpc_reply_status(struct ttrpc_ref ref, int code, const char *msg)
{
	answered(ref);
	FZ_CHECK(code > 0 && code <= 16, "status code %d", code);
	FZ_CHECK(msg != NULL && strnlen(msg, 4097) > 0 &&
	    strnlen(msg, 4097) <= 4096, "status message");
	return 0;
}

int
__wrap_mkdir(const char *path, mode_t mode)
{
	size_t n = strlen(path);

	/* task.c's mkdir of <bundle>/rootfs: never on the host. */
	if (n >= 7 && strcmp(path + n - 7, "/rootfs") == 0)
		return 0;
	return __real_mkdir(path, mode);
}

/* --- mount, replaced ------------------------------------------------------- */

int
mount_one(const char *rootfs, const char *type, const char *source,
    const char *target, const char *const *opts, unsigned nopts, char *err,
    size_t errlen)
{
	size_t n = strlen(rootfs) + strlen(type) + strlen(source) +
	    strlen(target);

	for (unsigned i = 0; i < nopts; i++)
		n += strlen(opts[i]);
	if ((outcome & 0x30) == 0x30) {
		snprintf(err, errlen, "mount failed (%zu bytes)", n);
		return -EINVAL;
	}
	return 0;
}

int
mount_unmount_all(const char *target)
{
	(void)strlen(target);
	return 0;
}

/* --- proc, faked ------------------------------------------------------------ */

/* The input's verdict for this call: 0, -1 with st set, or PROC_PARKED. */
static int
verdict(struct ttrpc_ref ref, enum park_kind kind, bool can_park,
    struct status *st)
{
	switch (outcome % 3) {
	case 1:
		return status_set(st, 1 + (outcome / 4) % 16,
		    "fake failure %u: failed precondition", outcome);
	case 2:
		if (!can_park || nparked == NPARK)
			return 0;
		parked[nparked].ref = ref;
		parked[nparked].kind = kind;
		parked[nparked++].ticket = 0;
		return PROC_PARKED;
	default:
		return 0;
	}
}

static void
strs(const char *s, ...)
{
	(void)s;
}

int
proc_create(const struct proc_create *pc, struct ttrpc_ref ref,
    struct status *st)
{
	int r;

	/* Everything handed over is a C string. */
	strs(pc->pc_id, strlen(pc->pc_bundle), strlen(pc->pc_stdin),
	    strlen(pc->pc_stdout), strlen(pc->pc_stderr),
	    strlen(pc->pc_checkpoint), strlen(pc->pc_parent_checkpoint),
	    strlen(pc->pc_bin), strlen(pc->pc_root), strlen(pc->pc_criu),
	    strlen(pc->pc_criu_work));
	FZ_CHECK(strlen(pc->pc_id) > 0 && strlen(pc->pc_id) <= NS_ID_MAX,
	    "container id of %zu bytes", strlen(pc->pc_id));
	FZ_CHECK(pc->pc_bundle[0] == '/', "bundle %s", pc->pc_bundle);
	/* Create always parks: runc answers later. */
	if (outcome % 3 == 1)
		return verdict(ref, PK_PID, true, st);
	if (nparked == NPARK)
		return status_set(st, GRPC_RESOURCE_EXHAUSTED, "full");
	parked[nparked].ref = ref;
	parked[nparked].kind = (outcome & 4) ? PK_ERROR : PK_PID;
	parked[nparked++].ticket = pc->pc_event;
	r = PROC_PARKED;
	return r;
}

int
proc_start(const char *id, const char *exec_id, struct ttrpc_ref ref,
    int64_t timeout_ms, struct status *st)
{
	(void)timeout_ms;
	strs(id, strlen(id), strlen(exec_id));
	return verdict(ref, PK_PID, true, st);
}

int
proc_delete(const char *id, const char *exec_id, struct ttrpc_ref ref,
    struct status *st)
{
	strs(id, strlen(id), strlen(exec_id));
	return verdict(ref, PK_DELETE, true, st);
}

int
proc_exec(const struct proc_exec *px, struct status *st)
{
	struct ttrpc_ref none = { 0, 0 };

	strs(px->px_id, strlen(px->px_id), strlen(px->px_exec_id),
	    strlen(px->px_stdin), strlen(px->px_stdout), strlen(px->px_stderr));
	if (px->px_spec_len)
		strs(NULL, px->px_spec[px->px_spec_len - 1]);
	return verdict(none, PK_EMPTY, false, st);
}

int
proc_kill(const char *id, const char *exec_id, uint32_t sig, bool all,
    struct ttrpc_ref ref, struct status *st)
{
	(void)sig;
	(void)all;
	strs(id, strlen(id), strlen(exec_id));
	return verdict(ref, PK_EMPTY, true, st);
}

int
proc_pause(const char *id, bool resume, struct ttrpc_ref ref,
    struct status *st)
{
	(void)resume;
	strs(id, strlen(id));
	return verdict(ref, PK_EMPTY, true, st);
}

int
proc_update(const char *id, const uint8_t *res, uint32_t len,
    struct ttrpc_ref ref, struct status *st)
{
	strs(id, strlen(id), len ? res[len - 1] : 0);
	return verdict(ref, PK_EMPTY, true, st);
}

int
proc_checkpoint(const struct proc_checkpoint *pk, struct ttrpc_ref ref,
    struct status *st)
{
	strs(pk->pk_id, strlen(pk->pk_path), strlen(pk->pk_cgroups_mode),
	    strlen(pk->pk_work_path));
	for (unsigned i = 0; i < pk->pk_nempty_ns; i++)
		strs(NULL, strlen(pk->pk_empty_ns[i]));
	return verdict(ref, PK_ERROR, true, st);
}

int
proc_pids(const char *id, struct ttrpc_ref ref, struct status *st)
{
	int r = verdict(ref, PK_PIDS, true, st);

	if (r == 0)
		fk_rp.pr_pids(ref, id, (const char *)ps_json, ps_len);
	return r < 0 ? r : PROC_PARKED;
}

int
proc_state(const char *id, const char *exec_id, struct proc_state *out,
    struct status *st)
{
	struct ttrpc_ref none = { 0, 0 };
	int r = verdict(none, PK_EMPTY, false, st);

	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	out->ps_id = *exec_id ? exec_id : id;
	out->ps_bundle = "/run/containerd/io.containerd.runtime.v2.task/ns/x";
	out->ps_pid = outcome;
	out->ps_status = (enum proc_status)(outcome % 6);
	out->ps_stdin = out->ps_stdout = out->ps_stderr = id;
	out->ps_exit.pe_status = outcome;
	out->ps_exit.pe_sec = PROC_ZERO_SEC;
	return 0;
}

int
proc_wait(const char *id, const char *exec_id, struct ttrpc_ref ref,
    struct proc_exit *now, struct status *st)
{
	strs(id, strlen(id), strlen(exec_id));
	now->pe_status = 137;
	now->pe_sec = 1700000000;
	now->pe_nsec = 5;
	return verdict(ref, PK_WAIT, true, st);
}

int
proc_close_io(const char *id, const char *exec_id, struct status *st)
{
	struct ttrpc_ref none = { 0, 0 };

	strs(id, strlen(id), strlen(exec_id));
	return verdict(none, PK_EMPTY, false, st);
}

int
proc_resize(const char *id, const char *exec_id, uint32_t w, uint32_t h,
    struct status *st)
{
	struct ttrpc_ref none = { 0, 0 };

	(void)w;
	(void)h;
	strs(id, strlen(id), strlen(exec_id));
	return verdict(none, PK_EMPTY, false, st);
}

void
proc_call_timeout(int64_t ms)
{
	(void)ms;
}

uint32_t
proc_init_pid(const char *id)
{
	return (uint32_t)strlen(id);
}

bool
proc_id_taken(const char *id)
{
	return strcmp(id, "taken") == 0;
}

bool
proc_known(const char *id)
{
	return strlen(id) > 0 && (outcome & 8) == 0;
}

const struct cgroup_ref *
proc_cgroup(const char *id)
{
	(void)id;
	return (outcome & 16) ? NULL : &fx_cg;
}

const char *
proc_exec_of_pid(const char *id, uint32_t pid)
{
	(void)id;
	return pid % 2 == 0 ? "exec-0123456789-0123456789-0123456789-0123456789"
	    "-0123456789-0123" : NULL;
}

uint32_t
proc_count(void)
{
	return outcome & 1;
}

void
proc_conn_closed(handle_t conn)
{
	(void)conn;
}

void
proc_replies(const struct proc_replies *r)
{
	fk_rp = *r;
}

/* --- the harness ------------------------------------------------------------ */

static const char *const methods[17] = {
	"State", "Create", "Start", "Delete", "Pids", "Pause", "Resume",
	"Checkpoint", "Kill", "Exec", "ResizePty", "CloseIO", "Update", "Wait",
	"Stats", "Connect", "Shutdown",
};

static void
answer_parked(void)
{
	struct proc_exit ex = { 9, 1700000000, 1 };
	struct status st;

	for (unsigned i = 0; i < nparked; i++) {
		struct ttrpc_ref r = parked[i].ref;

		scratch_reset();
		switch (parked[i].kind) {
		case PK_PID:
			taskev_create_done(parked[i].ticket, 4242);
			fk_rp.pr_pid(r, 4242);
			break;
		case PK_WAIT:
			fk_rp.pr_wait(r, &ex);
			break;
		case PK_DELETE:
			fk_rp.pr_delete(r, 77, &ex);
			break;
		case PK_PIDS:
			fk_rp.pr_pids(r, "c", (const char *)ps_json, ps_len);
			break;
		case PK_ERROR:
			taskev_create_cancel(parked[i].ticket);
			status_set(&st, GRPC_UNKNOWN, "OCI runtime create failed: "
			    "runc did not terminate successfully: exit status "
			    "137: ");
			ttrpc_reply_status(r, st.st_code, st.st_msg);
			break;
		default:
			ttrpc_reply(r, NULL, NULL);
			break;
		}
	}
	nparked = 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *fx = getenv("FUZZ_FIXTURES");
	char root[4096], mi[4096], pc[4096], hp[4096], parts[4096];
	static char text[4096];
	FILE *f;
	size_t n;

	(void)argc;
	(void)argv;
	fz_setup("task");
	if (fx == NULL)
		fx = "tests/fixtures/cgroup";
	snprintf(root, sizeof(root), "%s/v1", fx);
	snprintf(mi, sizeof(mi), "%s/v1-mountinfo", fx);
	snprintf(pc, sizeof(pc), "%s/v1-proc-cgroup", fx);
	snprintf(hp, sizeof(hp), "%s/hugepages", fx);
	snprintf(parts, sizeof(parts), "%s/partitions", fx);
	reactor_init(64);
	cgroup_set_host_paths(hp, parts);
	cgroup_init_at(root, mi);
	f = fopen(pc, "r");
	if (f == NULL) {
		perror(pc);
		exit(1);
	}
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (cgroup_parse_procfile(text, n, &fx_cg) < 0) {
		fprintf(stderr, "fixture %s does not parse\n", pc);
		exit(1);
	}
	events_init("", "fuzz", 128, 256u << 10);
	task_init("fuzz");
	if (svc_v2 == NULL || svc_v3 == NULL) {
		fprintf(stderr, "task_init registered no v2/v3 service\n");
		exit(1);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	bool accepted[NCALLS];
	char name[256];
	unsigned ncalls = 0;

	memset(answers, 0, sizeof(answers));
	nparked = 0;
	/* runc's output buffer is never NULL, even when empty. */
	ps_json = (const uint8_t *)"";
	ps_len = 0;
	fz_guard(true);
	while (f.n >= 4 && ncalls < NCALLS) {
		uint8_t m = fz_u8(&f), what = m % 20;
		uint16_t len;
		const uint8_t *p;
		struct ttrpc_call call;
		size_t k;

		outcome = fz_u8(&f);
		len = (uint16_t)(fz_u8(&f) << 8);
		len |= fz_u8(&f);
		k = fz_take(&f, len, &p);
		if (what == 18) {
			ps_json = p;
			ps_len = k;
			continue;
		}
		if (what == 19) {
			answer_parked();
			continue;
		}
		if (what == 17) {
			k = k < sizeof(name) - 1 ? k : sizeof(name) - 1;
			memcpy(name, p, k);
			name[k] = '\0';
			call.tc_method = name;
			call.tc_payload = NULL;
			call.tc_len = 0;
		} else {
			call.tc_method = methods[what];
			call.tc_payload = k ? p : NULL;
			call.tc_len = (uint32_t)k;
		}
		call.tc_ref.r_conn = 1;
		call.tc_ref.r_sid = 2 * ncalls + 1;
		call.tc_timeout_ns = (int64_t)outcome * 1000000;
		/* As ttrpc and the reactor do around every request. */
		scratch_reset();
		pbs_reset();
		accepted[ncalls] = ((m & 0x80) ? svc_v3 : svc_v2)(&call);
		if (!accepted[ncalls])
			FZ_CHECK(what == 17, "%s refused", methods[what]);
		ncalls++;
	}
	answer_parked();
	/* The events queued go out (nowhere: no TTRPC_ADDRESS). */
	reactor_once(0);
	fz_guard(false);
	for (unsigned i = 0; i < ncalls; i++)
		FZ_CHECK(answers[i] == (accepted[i] ? 1u : 0u),
		    "call %u (stream %u) answered %u times", i, 2 * i + 1,
		    answers[i]);
	FZ_CHECK(events_pending() == 0, "%u events left queued",
	    events_pending());
	return 0;
}
