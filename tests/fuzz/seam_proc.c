/*
 * seam_proc - proc's files with their statics in reach, for f_json: the
 * exec spec rewrite (write_spec, src/proc_exec.c), the pid namespace
 * probe of config.json (has_private_pidns) and the options.json writer
 * (write_options), both src/proc_ctr.c.
 */
#include "../../src/proc_ctr.c"
#include "../../src/proc_exec.c"

int fz_write_spec(const char *path, const uint8_t *spec, uint32_t len,
    bool tty, char *msg, size_t cap);
bool fz_private_pidns(const char *bundle);
void fz_write_options(const struct proc_create *pc);

int
fz_write_spec(const char *path, const uint8_t *spec, uint32_t len, bool tty,
    char *msg, size_t cap)
{
	return write_spec(path, spec, len, tty, msg, cap);
}

bool
fz_private_pidns(const char *bundle)
{
	return has_private_pidns(bundle);
}

void
fz_write_options(const struct proc_create *pc)
{
	write_options(pc);
}
