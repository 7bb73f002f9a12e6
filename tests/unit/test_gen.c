/*
 * test_gen - checks that gen/ (nanopb output) follows the conventions of
 * proto/<file>.options, by walking every generated message descriptor.
 *
 * Owns: the rules, stated once: every string/bytes field is a struct pbs
 * served by pbs_field_cb; no field is a pointer; a repeated field is a
 * pbs list unless its message is encode-only (metrics, PidsResponse);
 * singular submessages are inline with a has_ flag; no struct reaches
 * nanopb's 64 KiB limit.  Catches an .options edit (or a generator
 * upgrade) that silently turns a field into a fixed char array or the
 * default pb_callback_t.
 *
 * Build and run (from the top directory, after tools/fetch-nanopb.sh):
 *
 * gcc -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
 *   -Wmissing-prototypes -Wvla -Wframe-larger-than=4096 -DPB_BUFFER_ONLY \
 *   -Isrc -Igen -Ibuild/nanopb -o build/test_gen tests/unit/test_gen.c \
 *   src/pbs.c build/nanopb/pb_common.c build/nanopb/pb_encode.c \
 *   build/nanopb/pb_decode.c $(find gen -name '*.pb.c' | LC_ALL=C sort) \
 *   -lcmocka && build/test_gen
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <pb_common.h>

#include "pbs.h"
#include "cgroups/v1/metrics.pb.h"
#include "cgroups/v2/metrics.pb.h"
#include "containerd/events/task.pb.h"
#include "containerd/runc/v1/oci.pb.h"
#include "containerd/services/events/ttrpc/v1/events.pb.h"
#include "containerd/task/v2/shim.pb.h"
#include "containerd/types/mount.pb.h"
#include "containerd/types/task/task.pb.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/rpc/status.pb.h"
#include "ttrpc.pb.h"

/*
 * Every generated message; E marks the encode-only ones allowed fixed
 * arrays.  A new message in proto/ belongs here.
 */
#define MESSAGES(M, E) \
	M(containerd_events_TaskCheckpointed) \
	M(containerd_events_TaskCreate) \
	M(containerd_events_TaskDelete) \
	M(containerd_events_TaskExecAdded) \
	M(containerd_events_TaskExecStarted) \
	M(containerd_events_TaskExit) \
	M(containerd_events_TaskIO) \
	M(containerd_events_TaskOOM) \
	M(containerd_events_TaskPaused) \
	M(containerd_events_TaskResumed) \
	M(containerd_events_TaskStart) \
	M(containerd_runc_v1_CheckpointOptions) \
	M(containerd_runc_v1_Options) \
	M(containerd_runc_v1_ProcessDetails) \
	M(containerd_services_events_ttrpc_v1_Envelope) \
	M(containerd_services_events_ttrpc_v1_ForwardRequest) \
	M(containerd_task_v2_CheckpointTaskRequest) \
	M(containerd_task_v2_CloseIORequest) \
	M(containerd_task_v2_ConnectRequest) \
	M(containerd_task_v2_ConnectResponse) \
	M(containerd_task_v2_CreateTaskRequest) \
	M(containerd_task_v2_CreateTaskResponse) \
	M(containerd_task_v2_DeleteRequest) \
	M(containerd_task_v2_DeleteResponse) \
	M(containerd_task_v2_ExecProcessRequest) \
	M(containerd_task_v2_ExecProcessResponse) \
	M(containerd_task_v2_KillRequest) \
	M(containerd_task_v2_PauseRequest) \
	M(containerd_task_v2_PidsRequest) \
	E(containerd_task_v2_PidsResponse) \
	M(containerd_task_v2_ResizePtyRequest) \
	M(containerd_task_v2_ResumeRequest) \
	M(containerd_task_v2_ShutdownRequest) \
	M(containerd_task_v2_StartRequest) \
	M(containerd_task_v2_StartResponse) \
	M(containerd_task_v2_StateRequest) \
	M(containerd_task_v2_StateResponse) \
	M(containerd_task_v2_StatsRequest) \
	M(containerd_task_v2_StatsResponse) \
	M(containerd_task_v2_UpdateTaskRequest) \
	M(containerd_task_v2_UpdateTaskRequest_AnnotationsEntry) \
	M(containerd_task_v2_WaitRequest) \
	M(containerd_task_v2_WaitResponse) \
	M(containerd_types_Mount) \
	M(containerd_v1_types_Process) \
	M(containerd_v1_types_ProcessInfo) \
	M(google_protobuf_Any) \
	M(google_protobuf_Empty) \
	M(google_protobuf_Timestamp) \
	M(google_rpc_Status) \
	E(io_containerd_cgroups_v1_BlkIOEntry) \
	E(io_containerd_cgroups_v1_BlkIOStat) \
	E(io_containerd_cgroups_v1_CPUStat) \
	E(io_containerd_cgroups_v1_CPUUsage) \
	E(io_containerd_cgroups_v1_CgroupStats) \
	E(io_containerd_cgroups_v1_HugetlbStat) \
	E(io_containerd_cgroups_v1_MemoryEntry) \
	E(io_containerd_cgroups_v1_MemoryOomControl) \
	E(io_containerd_cgroups_v1_MemoryStat) \
	E(io_containerd_cgroups_v1_Metrics) \
	E(io_containerd_cgroups_v1_NetworkStat) \
	E(io_containerd_cgroups_v1_PidsStat) \
	E(io_containerd_cgroups_v1_RdmaEntry) \
	E(io_containerd_cgroups_v1_RdmaStat) \
	E(io_containerd_cgroups_v1_Throttle) \
	E(io_containerd_cgroups_v2_CPUStat) \
	E(io_containerd_cgroups_v2_HugeTlbStat) \
	E(io_containerd_cgroups_v2_IOEntry) \
	E(io_containerd_cgroups_v2_IOStat) \
	E(io_containerd_cgroups_v2_MemoryEvents) \
	E(io_containerd_cgroups_v2_MemoryStat) \
	E(io_containerd_cgroups_v2_Metrics) \
	E(io_containerd_cgroups_v2_PidsStat) \
	E(io_containerd_cgroups_v2_RdmaEntry) \
	E(io_containerd_cgroups_v2_RdmaStat) \
	M(ttrpc_KeyValue) \
	M(ttrpc_Request) \
	M(ttrpc_Response) \
	M(ttrpc_StringList)

struct msg {
	const char *name;
	const pb_msgdesc_t *desc;
	size_t size;
	bool encode_only;
};

#define ENTRY(t, e)	{ #t, &t##_msg, sizeof(t), e },
#define DECODED(t)	ENTRY(t, false)
#define ENCODED(t)	ENTRY(t, true)

static const struct msg msgs[] = { MESSAGES(DECODED, ENCODED) };

/* nanopb's limit without PB_FIELD_32BIT; checked at compile time too. */
#define SIZE_CHECK(t)	_Static_assert(sizeof(t) < 65536, #t " >= 64 KiB");
MESSAGES(SIZE_CHECK, SIZE_CHECK)

/* A zeroed stand-in: the iterator only computes member addresses. */
static max_align_t scratch[65536 / sizeof(max_align_t)];

static int fails;

static void
violation(const struct msg *m, pb_size_t tag, const char *why)
{
	print_error("%s field %u: %s\n", m->name, (unsigned)tag, why);
	fails++;
}

static void
check_msg(const struct msg *m)
{
	pb_field_iter_t it;
	pb_type_t at, ht, lt;

	if (!pb_field_iter_begin(&it, m->desc, scratch))
		return;		/* no fields (Empty) */
	do {
		at = PB_ATYPE(it.type);
		ht = PB_HTYPE(it.type);
		lt = PB_LTYPE(it.type);
		if (at == PB_ATYPE_POINTER)
			violation(m, it.tag, "pointer field (needs malloc)");
		if ((lt == PB_LTYPE_STRING || lt == PB_LTYPE_BYTES ||
		    lt == PB_LTYPE_FIXED_LENGTH_BYTES) &&
		    at != PB_ATYPE_CALLBACK)
			violation(m, it.tag, "string/bytes not a pbs slice");
		if (at == PB_ATYPE_CALLBACK &&
		    m->desc->field_callback != pbs_field_cb)
			violation(m, it.tag, "callback is not pbs_field_cb");
		if (at == PB_ATYPE_CALLBACK &&
		    it.data_size != sizeof(struct pbs))
			violation(m, it.tag, "callback type is not struct pbs");
		if (ht == PB_HTYPE_REPEATED && at == PB_ATYPE_STATIC &&
		    !m->encode_only)
			violation(m, it.tag, "fixed array, decoded message");
		if (PB_LTYPE_IS_SUBMSG(it.type) && ht != PB_HTYPE_REPEATED &&
		    (at != PB_ATYPE_STATIC || it.pSize == NULL))
			violation(m, it.tag, "submessage not inline with has_");
	} while (pb_field_iter_next(&it));
}

static void
test_conventions(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		assert_true(msgs[i].size <= sizeof(scratch));
		check_msg(&msgs[i]);
	}
	assert_int_equal(fails, 0);
}

/* The generated header for a message without callbacks keeps NULL. */
static void
test_callback_only_where_needed(void **state)
{
	(void)state;
	assert_null(containerd_task_v2_DeleteResponse_msg.field_callback);
	assert_null(google_protobuf_Timestamp_msg.field_callback);
	assert_ptr_equal(
	    containerd_task_v2_CreateTaskRequest_msg.field_callback,
	    pbs_field_cb);
}

/* Bounds promised in proto/<file>.options. */
static void
test_bounds(void **state)
{
	(void)state;
	assert_int_equal(pb_arraysize(containerd_task_v2_PidsResponse,
	    processes), 1024);
	assert_int_equal(pb_arraysize(io_containerd_cgroups_v1_CPUUsage,
	    per_cpu), 1024);
	assert_int_equal(pb_arraysize(io_containerd_cgroups_v1_BlkIOStat,
	    io_service_bytes_recursive), 96);
	assert_int_equal(pb_arraysize(io_containerd_cgroups_v1_BlkIOStat,
	    sectors_recursive), 16);
	assert_int_equal(pb_arraysize(io_containerd_cgroups_v2_IOStat, usage),
	    128);
	printf("sizeof: PidsResponse %zu, v1 Metrics %zu, v2 Metrics %zu, "
	    "CreateTaskRequest %zu\n", sizeof(containerd_task_v2_PidsResponse),
	    sizeof(io_containerd_cgroups_v1_Metrics),
	    sizeof(io_containerd_cgroups_v2_Metrics),
	    sizeof(containerd_task_v2_CreateTaskRequest));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conventions),
		cmocka_unit_test(test_callback_only_where_needed),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
