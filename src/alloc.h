/*
 * alloc - the shim's malloc: a guard, not an allocator.
 *
 * Owns: malloc and friends for the whole program (libc's own calls
 * included).  Before alloc_seal() they carve from a small static arena;
 * after it, every call is a broken promise ("no heap after startup"): it is
 * logged and counted, and with NANOSHIM_STRICT_ALLOC=1 in the environment
 * the shim aborts, which is how the test suite proves the promise holds.
 * Builds with sanitizers define NS_NO_ALLOC_GUARD and use libc's malloc;
 * under AddressSanitizer the guard watches it through ASan's hook.
 */
#ifndef NS_ALLOC_H
#define NS_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

/* From now on any allocation is a violation. */
void alloc_seal(bool strict);
/* Allocations seen after alloc_seal(). */
uint64_t alloc_violations(void);
/*
 * Just before the daemon's _exit: in the sanitizer build, LeakSanitizer's
 * check (which _exit skips); nothing otherwise.
 */
void alloc_exit_check(void);

#endif
