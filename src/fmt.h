/*
 * fmt - the shim's printf formatting, small.
 *
 * Owns: fmt_vsnprintf, which knows the conversions the shim uses (%s %c
 * %d %i %u %x %X %o %p %%, with '-' and '0' flags, width and precision,
 * '*', and hh h l ll z j t lengths) and nothing else — no floating point.
 * The release build (NS_OWN_PRINTF) also makes it libc's snprintf,
 * vsnprintf and sprintf, so musl's full printf (about 11 KB of code the
 * shim would carry in every process) is not linked.
 */
#ifndef NS_FMT_H
#define NS_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* C99 vsnprintf semantics: the length it wanted; dst always terminated. */
int fmt_vsnprintf(char *dst, size_t cap, const char *fmt, va_list ap);

#endif
