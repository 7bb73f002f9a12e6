/*
 * fuzz.h - what every libFuzzer target of tests/fuzz shares.
 *
 * A target is one f_<name>.c with LLVMFuzzerInitialize (fz_setup first)
 * and LLVMFuzzerTestOneInput.  It is built with clang, ASan and UBSan
 * (Makefile flavour "fuzz") against the shim's own sources; lines
 * "// SEAMS: seam_x.c" and "// LDFLAGS: ..." in the target's source name
 * the extra sources and link flags it needs (the Makefile reads them).
 *
 * The no-heap guard: the shim allocates nothing once its loop runs, so
 * the code a target drives must not either.  Between fz_guard(true) and
 * fz_guard(false) any malloc (the shim's, or libc's on its behalf) prints
 * its stack and aborts, which libFuzzer reports as a crash.
 *
 * Inputs: binary targets read them with fz_u8/fz_u32/fz_take; text
 * targets cut them into parts at lines holding only "%%" (fz_part), so a
 * corpus file is readable and writable by hand.
 */
#ifndef NS_FUZZ_H
#define NS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Once: logs to /dev/null at debug level, guard hooks, a private tmpdir. */
void fz_setup(const char *name);
/* The no-heap guard on or off. */
void fz_guard(bool on);
/* The private directory (tmpfs when /dev/shm exists), removed at exit. */
const char *fz_dir(void);
/* fz_dir()/name in a rotating set of static buffers. */
const char *fz_path(const char *name);
/* Write (create or truncate) a file; 0 or -1.  Unguarded syscalls only. */
int fz_write(const char *path, const void *p, size_t len);
/* A check that must hold: report and abort (a finding) when it does not. */
#define FZ_CHECK(cond, ...) do {					\
	if (!(cond))							\
		fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);	\
} while (0)
void fz_fail(const char *file, int line, const char *cond,
    const char *fmt, ...) __attribute__((noreturn, format(printf, 4, 5)));

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t
fz_u8(struct fz *f)
{
	if (f->n == 0)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint32_t
fz_u32(struct fz *f)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | fz_u8(f);
	return v;
}

/* Up to max bytes; how many were taken. */
static inline size_t
fz_take(struct fz *f, size_t max, const uint8_t **out)
{
	size_t k = f->n < max ? f->n : max;

	*out = f->p;
	f->p += k;
	f->n -= k;
	return k;
}

/*
 * The next part: the bytes up to a line "%%" (which is skipped) or the
 * end.  False when nothing is left.
 */
bool fz_part(struct fz *f, const uint8_t **p, size_t *len);
/* A part as a NUL-terminated string in buf (cut at cap - 1, NULs kept). */
bool fz_part_str(struct fz *f, char *buf, size_t cap, size_t *len);

/* A small deterministic generator (split points, choices). */
static inline uint32_t
fz_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

#endif
