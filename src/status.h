/*
 * status - a gRPC status in a fixed buffer: what a failed call answers.
 *
 * Owns: the code numbers (google.golang.org/grpc/codes, which containerd's
 * errdefs map to and from), the errno -> code table, and formatting.
 * Messages follow containerd's convention of ending with the class text
 * (": not found") so errdefs on the other side recognises them.
 */
#ifndef NS_STATUS_H
#define NS_STATUS_H

enum grpc_code {
	GRPC_OK = 0,
	GRPC_CANCELED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

#define STATUS_MSG 1024

struct status {
	int st_code;
	char st_msg[STATUS_MSG];
};

/* Fill st; always returns -1 so callers can `return status_set(...)`. */
int status_set(struct status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The gRPC code for a -errno value (ENOENT -> NOT_FOUND, ...). */
int status_code_of(int neg_errno);
/* status_set with the code from status_code_of(err) and ": strerror". */
int status_errno(struct status *st, int neg_errno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
