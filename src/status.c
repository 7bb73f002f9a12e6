/*
 * status - see status.h.  The errno table mirrors how containerd's errdefs
 * and ttrpc's fallback classify errors (spec 2.4).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

static const struct {
	int e;
	int code;
} status_table[] = {
	{ ENOENT, GRPC_NOT_FOUND },
	{ ESRCH, GRPC_NOT_FOUND },
	{ EEXIST, GRPC_ALREADY_EXISTS },
	{ ENOSPC, GRPC_RESOURCE_EXHAUSTED },
	{ EMFILE, GRPC_RESOURCE_EXHAUSTED },
	{ ENFILE, GRPC_RESOURCE_EXHAUSTED },
	{ ENOMEM, GRPC_RESOURCE_EXHAUSTED },
	{ EINVAL, GRPC_INVALID_ARGUMENT },
	{ ENAMETOOLONG, GRPC_INVALID_ARGUMENT },
	{ E2BIG, GRPC_INVALID_ARGUMENT },
	{ EPERM, GRPC_PERMISSION_DENIED },
	{ EACCES, GRPC_PERMISSION_DENIED },
	{ ENOSYS, GRPC_UNIMPLEMENTED },
	{ EOPNOTSUPP, GRPC_UNIMPLEMENTED },
	{ EBUSY, GRPC_FAILED_PRECONDITION },
	{ ETIMEDOUT, GRPC_DEADLINE_EXCEEDED },
	{ ECANCELED, GRPC_CANCELED },
};

int
status_code_of(int neg_errno)
{
	size_t i;

	for (i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
		if (status_table[i].e == -neg_errno)
			return status_table[i].code;
	return GRPC_UNKNOWN;
}

int
status_set(struct status *st, int code, const char *fmt, ...)
{
	va_list ap;

	st->st_code = code;
	va_start(ap, fmt);
	vsnprintf(st->st_msg, sizeof(st->st_msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
status_errno(struct status *st, int neg_errno, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	st->st_code = status_code_of(neg_errno);
	va_start(ap, fmt);
	vsnprintf(st->st_msg, sizeof(st->st_msg), fmt, ap);
	va_end(ap);
	n = strlen(st->st_msg);
	snprintf(st->st_msg + n, sizeof(st->st_msg) - n, ": %s",
	    strerror(-neg_errno));
	return -1;
}
