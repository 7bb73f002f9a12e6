/*
 * alloc_count.h - count heap allocations in a unit test binary.
 *
 * Include once, in the test's main file.  glibc lets a program replace
 * malloc, and its own internals (opendir, fopen, qsort, getline) then
 * call ours, so COUNT_BEGIN/COUNT_END around a call prove that it, and
 * whatever libc does for it, allocated nothing: what the shim promises
 * for every function that runs inside its loop.  Inactive (the macros do
 * nothing) under ASan, which owns malloc, with another libc, or when
 * src/alloc.c provides the guard itself (built without
 * NS_NO_ALLOC_GUARD).
 */
#ifndef NS_ALLOC_COUNT_H
#define NS_ALLOC_COUNT_H

#include <stddef.h>
#include <stdlib.h>	/* defines __GLIBC__ */

#if defined(NS_NO_ALLOC_GUARD) && !defined(__SANITIZE_ADDRESS__) && \
    defined(__GLIBC__)
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);

static int alloc_counting;
static int alloc_count;

void *
malloc(size_t n)
{
	alloc_count += alloc_counting;
	return __libc_malloc(n);
}

void *
calloc(size_t a, size_t b)
{
	alloc_count += alloc_counting;
	return __libc_calloc(a, b);
}

void *
realloc(void *p, size_t n)
{
	alloc_count += alloc_counting;
	return __libc_realloc(p, n);
}

#define COUNT_BEGIN()	do {						\
	alloc_count = 0;						\
	alloc_counting = 1;						\
} while (0)
#define COUNT_END()	do {						\
	alloc_counting = 0;						\
	assert_int_equal(alloc_count, 0);				\
} while (0)
#else
#define COUNT_BEGIN()	do { } while (0)
#define COUNT_END()	do { } while (0)
#endif

#endif
