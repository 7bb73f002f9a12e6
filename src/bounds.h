/*
 * bounds.h - every compile-time limit of the shim, each with its reason.
 *
 * Pools are sized once at startup (conf.c) from the defaults below,
 * overridable by flags or NANOSHIM_* environment variables, but never past
 * the hard maximum.  The storage is reserved with one mmap per pool before
 * the loop starts; pages the shim never touches cost no memory.
 */
#ifndef NS_BOUNDS_H
#define NS_BOUNDS_H

/* ttrpc caps a message at 4 MiB (ttrpc/channel.go messageLengthMax). */
#define NS_FRAME_MAX		(4u << 20)
#define NS_FRAME_HDR		10u

/*
 * A connection reads frames up to this size into its own buffer; a larger
 * frame borrows the one shared 4 MiB buffer.  containerd's requests are a
 * few hundred bytes; an exec spec with a large environment is a few KiB.
 */
#define NS_CONN_INBUF		(16u << 10)

/*
 * The largest reply we encode.  The biggest are Pids (about 8 bytes per
 * pid, ~130 with exec details) and Stats (per-cpu usage, blkio entries).
 * A connection's output buffer holds one such reply plus room for parked
 * replies (Wait answers, ~40 bytes each) that complete together.
 */
#define NS_REPLY_MAX		(64u << 10)
#define NS_CONN_OUTBUF		(NS_REPLY_MAX + (16u << 10))

/* Connections: one per task of a group, plus ctr shim and reconnects. */
#define NS_CONNS_DEFAULT	32u
#define NS_CONNS_MAX		1024u

/*
 * Requests parked for later (Wait, and calls waiting on a runc child):
 * about two per process containerd watches.
 */
#define NS_PARKED_DEFAULT	256u
#define NS_PARKED_MAX		16384u

/* Containers one shim serves: a Kubernetes pod groups its containers. */
#define NS_CTRS_DEFAULT		64u
#define NS_CTRS_MAX		4096u

/* Processes: each container's init plus its execs. */
#define NS_PROCS_DEFAULT	256u
#define NS_PROCS_MAX		16384u

/*
 * runc (and logger) calls in flight at once, running or waiting for the
 * call before them on the same container (runc.h rq_serial).  A pod's
 * shim can have a Kill, the kill --all after an exit and a Delete queued
 * per container, plus exec probes: 64 leaves room for a busy pod.  Each
 * call's output and argv buffers are reserved, touched only when used.
 */
#define NS_RUNC_DEFAULT		64u
#define NS_RUNC_MAX		256u
/* Output captured from one runc call: `runc ps` prints ~7 bytes a pid. */
#define NS_RUNC_OUT		(64u << 10)

/* Events: the Go shim queues 128; the byte ring holds their encodings. */
#define NS_EVENTS_DEFAULT	128u
#define NS_EVENTS_MAX		65536u
#define NS_EVBYTES_DEFAULT	(256u << 10)
#define NS_EVBYTES_MAX		(64u << 20)

/* Exits seen before their pid was recorded (exec that dies at once). */
#define NS_UNCLAIMED		256u

/* containerd's identifier rule: at most 76 characters. */
#define NS_ID_MAX		76u

/* Paths we keep: PATH_MAX. */
#define NS_PATH_MAX		4096u

/*
 * Packed strings of a process (stdin, stdout, stderr, and an exec's spec
 * file name) and of a container (bundle, runc binary, root, criu paths).
 */
#define NS_PROC_STR		(3u * NS_PATH_MAX)
#define NS_CTR_STR		(4u * NS_PATH_MAX)

/* Keep this many fds free for reaping, logging and replying (EMFILE). */
#define NS_FD_RESERVE		32u

/* Events per epoll_wait and pieces of work per wakeup. */
#define NS_EPOLL_BATCH		64u

/*
 * Stack below the loop's frame given back at rest (reactor.c): more than
 * the deepest handler (frames are at most 4 KiB, -Wframe-larger-than).
 */
#define NS_STACK_REST		(64u << 10)

/* Timers: a few per process/connection/runc call at most. */
#define NS_TIMERS_MAX		(NS_PROCS_MAX + NS_RUNC_MAX + NS_CONNS_MAX)

#endif
