/*
 * alloc - see alloc.h.  Replacing malloc in a static musl binary is
 * supported as long as the whole family is provided, which is done here.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "alloc.h"

/* glibc and musl declare these only under some feature macros. */
void *memalign(size_t align, size_t n);
void *pvalloc(size_t n);
size_t malloc_usable_size(void *p);

#ifndef NS_NO_ALLOC_GUARD

#define ALLOC_ARENA	(64u << 10)
#define ALLOC_ALIGN	16u

static _Alignas(16) unsigned char alloc_arena[ALLOC_ARENA];
static size_t alloc_used;
static int alloc_state;		/* 0 startup, 1 sealed, 2 sealed strict */
static uint64_t alloc_bad;

NS_IDLE void
alloc_seal(bool strict)
{
	alloc_state = strict ? 2 : 1;
}

uint64_t
alloc_violations(void)
{
	return alloc_bad;
}

/*
 * Report without allocating: a fixed message straight to fd 2 (the log
 * FIFO), since the logger itself may be what called us.
 */
static void
alloc_report(const char *fn)
{
	static const char pre[] = "level=error msg=\"allocation after startup: ";
	static const char post[] = "\"\n";

	alloc_bad++;
	if (write(2, pre, sizeof(pre) - 1) < 0 ||
	    write(2, fn, strlen(fn)) < 0 || write(2, post, 2) < 0)
		alloc_bad++;
	if (alloc_state == 2)
		abort();
}

/* Each block is preceded by its size, for realloc. */
static void *
alloc_take(const char *fn, size_t n, size_t align)
{
	size_t at;

	if (alloc_state != 0)
		alloc_report(fn);
	if (align < ALLOC_ALIGN)
		align = ALLOC_ALIGN;
	at = (alloc_used + ALLOC_ALIGN + align - 1) & ~(align - 1);
	if (n > ALLOC_ARENA || at > ALLOC_ARENA - n) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(alloc_arena + at - sizeof(size_t), &n, sizeof(size_t));
	alloc_used = at + n;
	return alloc_arena + at;
}

void *
malloc(size_t n)
{
	return alloc_take("malloc", n ? n : 1, 0);
}

void *
calloc(size_t a, size_t b)
{
	void *p;

	if (b != 0 && a > (size_t)-1 / b) {
		errno = ENOMEM;
		return NULL;
	}
	/* The arena is never reused, so it is still zero. */
	p = alloc_take("calloc", a * b != 0 ? a * b : 1, 0);
	return p;
}

void *
realloc(void *old, size_t n)
{
	void *p = alloc_take("realloc", n ? n : 1, 0);

	if (p && old) {
		size_t have;

		memcpy(&have, (unsigned char *)old - sizeof(size_t),
		    sizeof(size_t));
		memcpy(p, old, have < n ? have : n);
	}
	return p;
}

void
free(void *p)
{
	(void)p;
}

void *
aligned_alloc(size_t align, size_t n)
{
	return alloc_take("aligned_alloc", n ? n : 1, align);
}

void *
memalign(size_t align, size_t n)
{
	return alloc_take("memalign", n ? n : 1, align);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	void *p = alloc_take("posix_memalign", n ? n : 1, align);

	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void *
valloc(size_t n)
{
	return alloc_take("valloc", n ? n : 1, 4096);
}

void *
pvalloc(size_t n)
{
	return alloc_take("pvalloc", (n + 4095) & ~(size_t)4095, 4096);
}

size_t
malloc_usable_size(void *p)
{
	size_t n = 0;

	if (p)
		memcpy(&n, (unsigned char *)p - sizeof(size_t), sizeof(n));
	return n;
}

void
alloc_exit_check(void)
{
}

#elif defined(__SANITIZE_ADDRESS__)

/*
 * The sanitizer build: libc's malloc (AddressSanitizer's, really) does
 * the work, and the guard watches it through ASan's allocation hook, so
 * NANOSHIM_STRICT_ALLOC=1 means the same thing under the sanitizers.
 */
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>

int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));

static int alloc_state;
static uint64_t alloc_bad;

static void
alloc_hook(const volatile void *p, size_t n)
{
	static const char m[] = "level=error msg=\"allocation after startup "
	    "(sanitizer build)\"\n";

	(void)p;
	(void)n;
	if (alloc_state == 0)
		return;
	alloc_bad++;
	if (write(2, m, sizeof(m) - 1) < 0)
		alloc_bad++;
	if (alloc_state == 2) {
		__sanitizer_print_stack_trace();
		abort();
	}
}

NS_IDLE void
alloc_seal(bool strict)
{
	if (alloc_state == 0)
		__sanitizer_install_malloc_and_free_hooks(alloc_hook, NULL);
	alloc_state = strict ? 2 : 1;
}

uint64_t
alloc_violations(void)
{
	return alloc_bad;
}

/* The daemon leaves with _exit, which skips LeakSanitizer's own check. */
void
alloc_exit_check(void)
{
	__lsan_do_leak_check();
}

#else

NS_IDLE void
alloc_seal(bool strict)
{
	(void)strict;
}

uint64_t
alloc_violations(void)
{
	return 0;
}

void
alloc_exit_check(void)
{
}

#endif
