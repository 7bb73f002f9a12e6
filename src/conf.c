/*
 * conf - see conf.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "bounds.h"
#include "conf.h"
#include "log.h"

struct conf conf;

/* Values clamped to their maximum, told once the log is there. */
static const char *conf_clamped[8];
static unsigned conf_nclamped;

static const struct {
	const char *flag, *env;
	uint32_t *val;
	uint32_t def, max;
} conf_table[] = {
	{ "conns", "NANOSHIM_CONNS", &conf.cf_conns, NS_CONNS_DEFAULT,
	    NS_CONNS_MAX },
	{ "parked", "NANOSHIM_PARKED", &conf.cf_parked, NS_PARKED_DEFAULT,
	    NS_PARKED_MAX },
	{ "containers", "NANOSHIM_CONTAINERS", &conf.cf_ctrs,
	    NS_CTRS_DEFAULT, NS_CTRS_MAX },
	{ "processes", "NANOSHIM_PROCESSES", &conf.cf_procs,
	    NS_PROCS_DEFAULT, NS_PROCS_MAX },
	{ "runc-calls", "NANOSHIM_RUNC_CALLS", &conf.cf_runc,
	    NS_RUNC_DEFAULT, NS_RUNC_MAX },
	{ "events", "NANOSHIM_EVENTS", &conf.cf_events, NS_EVENTS_DEFAULT,
	    NS_EVENTS_MAX },
	{ "event-bytes", "NANOSHIM_EVENT_BYTES", &conf.cf_evbytes,
	    NS_EVBYTES_DEFAULT, NS_EVBYTES_MAX },
};

#define CONF_N (sizeof(conf_table) / sizeof(conf_table[0]))

NS_IDLE static void
conf_set(size_t i, const char *value, const char *from)
{
	char *end;
	unsigned long v = strtoul(value, &end, 10);

	/*
	 * Digits only: strtoul also takes blanks, a sign and "-1" (which
	 * would wrap to the maximum).
	 */
	if (value[strspn(value, "0123456789")] != '\0' || *value == '\0' ||
	    *end != '\0' || v == 0)
		fatalx("%s: %s=%s is not a positive number", from,
		    conf_table[i].flag, value);
	if (v > conf_table[i].max) {
		if (conf_nclamped < 8)
			conf_clamped[conf_nclamped++] = conf_table[i].env;
		v = conf_table[i].max;
	}
	*conf_table[i].val = (uint32_t)v;
}

NS_IDLE void
conf_load(void)
{
	size_t i;

	for (i = 0; i < CONF_N; i++) {
		const char *e = getenv(conf_table[i].env);

		*conf_table[i].val = conf_table[i].def;
		if (e && *e)
			conf_set(i, e, conf_table[i].env);
	}
}

NS_IDLE bool
conf_known(const char *name)
{
	size_t i;

	if (strncmp(name, "limit-", 6) != 0)
		return false;
	for (i = 0; i < CONF_N; i++)
		if (strcmp(name + 6, conf_table[i].flag) == 0)
			return true;
	return false;
}

void
conf_report(void)
{
	unsigned i;

	for (i = 0; i < conf_nclamped; i++)
		log_warnx("%s is above its maximum: using the maximum",
		    conf_clamped[i]);
}

bool
conf_flag(const char *name, const char *value)
{
	size_t i;

	if (strncmp(name, "limit-", 6) != 0)
		return false;
	for (i = 0; i < CONF_N; i++) {
		if (strcmp(name + 6, conf_table[i].flag) == 0) {
			conf_set(i, value, "flag");
			return true;
		}
	}
	return false;
}

NS_IDLE void
conf_describe(char *dst, size_t cap)
{
	size_t i, n = 0;

	dst[0] = '\0';
	for (i = 0; i < CONF_N && n < cap; i++)
		n += (size_t)snprintf(dst + n, cap - n, "%s%s=%u",
		    i ? " " : "", conf_table[i].flag, *conf_table[i].val);
}
