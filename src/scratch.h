/*
 * scratch - room for short-lived strings and buffers, packed.
 *
 * Owns: one static arena handed out by bumping a pointer, emptied by the
 * reactor before every callback (event, timer, sweep hook).  Whatever a
 * callback builds there (paths, a file's contents, a formatted message)
 * is valid until the callback returns; anything kept longer is copied
 * into its owner's slot.  Strings sit next to each other, so a callback
 * that builds ten paths touches one page, not ten buffers' worth; after a
 * callback that needed a lot, the pages past the first few are given back.
 *
 * Running out is a sizing bug (every use is bounded by inputs that are
 * checked where they come in): a log line goes to fd 2 and the shim
 * aborts.
 *
 * May call: no other module.  scratch is the bottom layer: log formats
 * its lines here, so scratch writes its one message itself and hands its
 * pages back to the kernel itself (not through pool).
 */
#ifndef NS_SCRATCH_H
#define NS_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>

/* The reactor's call: everything handed out so far is dead. */
void scratch_reset(void);
/*
 * The reactor's call before it sleeps with nothing to do: give every page
 * back.  False if no callback used scratch since the last rest.
 */
bool scratch_rest(void);
/* Whether a callback used scratch since the last rest. */
bool scratch_rest_due(void);
/* n bytes, 8-aligned, not zeroed. */
void *scratch_alloc(size_t n);
/* Give back the end of the last allocation: it now ends at p + used. */
void scratch_trim(void *p, size_t used);
/* A formatted string of exactly its length. */
char *scratch_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* A NUL-terminated copy of n bytes. */
char *scratch_copy(const void *p, size_t n);
/* Give back everything allocated since mark (for loops and the log). */
size_t scratch_mark(void);
void scratch_back(size_t mark);
/* The most one callback ever used (the limits' evidence, on SIGUSR1). */
size_t scratch_peak(void);

#endif
