/*
 * conf - pool sizes for this run: compiled defaults (bounds.h), then the
 * NANOSHIM_* environment (containerd passes its environment on to shims),
 * then flags; each clamped to [1, hard maximum].
 *
 * Owns: the table of limits, parsing and reporting them.  Does not own
 * the pools (each module sizes its own from these numbers).
 */
#ifndef NS_CONF_H
#define NS_CONF_H

#include <stdbool.h>
#include <stdint.h>

struct conf {
	uint32_t cf_conns;
	uint32_t cf_parked;
	uint32_t cf_ctrs;
	uint32_t cf_procs;
	uint32_t cf_runc;
	uint32_t cf_events;
	uint32_t cf_evbytes;
};

extern struct conf conf;

/* Defaults and environment. */
void conf_load(void);
/*
 * A "-limit-NAME N" style flag: true if name was one of ours (value
 * applied, clamped; bad numbers are fatal at startup).
 */
bool conf_flag(const char *name, const char *value);
/* Is name one of the -limit-NAME flags? */
bool conf_known(const char *name);
/* Log the limits that were clamped to their maximum (after log_init). */
void conf_report(void);
/* One line naming every limit, for the startup log. */
void conf_describe(char *dst, size_t cap);

#endif
