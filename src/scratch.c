/*
 * scratch - see scratch.h.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layout.h"
#include "scratch.h"

/*
 * The largest single callback need is Create: a dozen paths of up to
 * PATH_MAX plus the mount options of one mount (16 KiB).  256 KiB leaves
 * a wide margin; untouched pages cost nothing.
 */
#define SCRATCH_SIZE	(256u << 10)
/* Pages kept after a big callback; the rest go back to the kernel. */
#define SCRATCH_KEEP	(4u << 10)

/*
 * Under AddressSanitizer (the sanitizer builds and the fuzzers) what is
 * not handed out is poisoned and each piece is followed by a redzone, so
 * a read or write past the end of a scratch buffer is reported like one
 * past a malloc'd block.  Otherwise these cost nothing.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SCRATCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCRATCH_ASAN 1
#endif
#endif
#ifdef SCRATCH_ASAN
#include <sanitizer/asan_interface.h>
#define SCRATCH_REDZONE	16u
#define scratch_poison(at, n)	ASAN_POISON_MEMORY_REGION(scratch_mem + (at), n)
#define scratch_unpoison(at, n)	\
	ASAN_UNPOISON_MEMORY_REGION(scratch_mem + (at), n)
#else
#define SCRATCH_REDZONE	0u
#define scratch_poison(at, n)	((void)(at), (void)(n))
#define scratch_unpoison(at, n)	((void)(at), (void)(n))
#endif

static _Alignas(4096) char scratch_mem[SCRATCH_SIZE];
static size_t scratch_top, scratch_hwm, scratch_max;
static size_t scratch_last, scratch_last_hwm;	/* for scratch_trim */
static bool scratch_armed;	/* ASan: the whole arena was poisoned once */
static size_t scratch_rest_hwm;	/* the most used since the last rest */

NS_IDLE /*
 * A broken invariant: say so without the logger (which formats in
 * scratch itself) and abort.
 */
static void __attribute__((noreturn))
scratch_exhausted(void)
{
	static const char m[] = "level=error msg=\"scratch arena exhausted "
	    "(256 KiB in one callback): a sizing bug\"\n";

	if (write(2, m, sizeof(m) - 1) < 0)
		abort();
	abort();
}

/*
 * The whole pages of [at, at + len) go back to the kernel (they read as
 * zero).  scratch does this itself, not through pool: it sits below every
 * other module, log included.  The arena is page aligned.
 */
NS_IDLE static void
scratch_give(size_t at, size_t len)
{
	size_t lo = (at + 4095u) & ~(size_t)4095u;
	size_t hi = (at + len) & ~(size_t)4095u;

	if (hi > lo)
		madvise(scratch_mem + lo, hi - lo, MADV_DONTNEED);
}

void
scratch_reset(void)
{
	if (scratch_hwm > scratch_max)
		scratch_max = scratch_hwm;
	if (scratch_hwm > scratch_rest_hwm)
		scratch_rest_hwm = scratch_hwm;
	if (scratch_hwm > SCRATCH_KEEP)
		scratch_give(SCRATCH_KEEP, scratch_hwm - SCRATCH_KEEP);
	scratch_poison(0, scratch_hwm);
	scratch_top = 0;
	scratch_hwm = 0;
}

/*
 * The loop is about to sleep with nothing to do: the page kept between
 * callbacks goes back too, so a shim at rest holds no scratch page.
 */
NS_IDLE bool
scratch_rest(void)
{
	size_t n = scratch_rest_hwm < SCRATCH_KEEP ? scratch_rest_hwm :
	    SCRATCH_KEEP;

	if (n == 0)
		return false;
	scratch_give(0, (n + 4095) & ~(size_t)4095);
	scratch_rest_hwm = 0;
	return true;
}

bool
scratch_rest_due(void)
{
	return scratch_rest_hwm > 0;
}

NS_IDLE void *
scratch_alloc(size_t n)
{
	size_t at = (scratch_top + SCRATCH_REDZONE + 7) & ~(size_t)7;
	void *p;

	if (n > SCRATCH_SIZE || at > SCRATCH_SIZE - n)
		scratch_exhausted();
	if (!scratch_armed) {
		scratch_armed = true;
		scratch_poison(0, SCRATCH_SIZE);
	}
	scratch_unpoison(at, n);
	p = scratch_mem + at;
	scratch_last = at;
	scratch_last_hwm = scratch_hwm;
	scratch_top = at + n;
	if (scratch_top > scratch_hwm)
		scratch_hwm = scratch_top;
	return p;
}

NS_IDLE void
scratch_trim(void *p, size_t used)
{
	size_t at = (size_t)((char *)p - scratch_mem);

	/* Only the latest allocation can shrink. */
	if (at != scratch_last || at + used > scratch_top)
		return;
	scratch_poison(at + used, scratch_top - at - used);
	scratch_top = at + used;
	scratch_hwm = scratch_last_hwm > scratch_top ? scratch_last_hwm :
	    scratch_top;
	if (scratch_hwm > scratch_max)
		scratch_max = scratch_hwm;
}

NS_IDLE char *
scratch_printf(const char *fmt, ...)
{
	size_t room = SCRATCH_SIZE - ((scratch_top + SCRATCH_REDZONE + 7) &
	    ~(size_t)7);
	va_list ap;
	char *p;
	int n;

	/* Format into all that is left, then keep only what it took. */
	p = scratch_alloc(room > 0 ? room : 1);
	va_start(ap, fmt);
	n = vsnprintf(p, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		scratch_exhausted();
	scratch_trim(p, (size_t)n + 1);
	return p;
}

NS_IDLE char *
scratch_copy(const void *src, size_t n)
{
	char *p = scratch_alloc(n + 1);

	if (n)
		memcpy(p, src, n);
	p[n] = '\0';
	return p;
}

NS_IDLE size_t
scratch_mark(void)
{
	return scratch_top;
}

NS_IDLE void
scratch_back(size_t mark)
{
	if (mark <= scratch_top) {
		scratch_poison(mark, scratch_top - mark);
		scratch_top = mark;
	}
}

NS_IDLE size_t
scratch_peak(void)
{
	return scratch_max;
}
