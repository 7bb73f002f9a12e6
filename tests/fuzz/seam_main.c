/*
 * seam_main - src/main.c with its statics in reach, for f_cmdline and
 * f_json: flag parsing, the group key read from config.json, Go's
 * path.Clean and the socket name.  main() itself is renamed: libFuzzer
 * brings its own.
 */
#define main nanoshim_main
int nanoshim_main(int argc, char **argv);
#include "../../src/main.c"
#undef main

void fz_main_reset(void);
void fz_parse_flags(int argc, char **argv);
const char *fz_group_key(const char *id);
void fz_path_clean(const char *in, char *out, size_t cap);
void fz_socket_path(const char *address, const char *ns, const char *key,
    char *dst, size_t cap);
const char *fz_opt(const char *name);
bool fz_opt_debug(void);
unsigned fz_opt_nlimits(void);
const char *fz_opt_limit(unsigned i);

void
fz_main_reset(void)
{
	memset(&opt, 0, sizeof(opt));
	opt.publish = "containerd";
	main_argv = (char *[]){ "containerd-shim-nanoshim-v2", NULL };
}

void
fz_parse_flags(int argc, char **argv)
{
	parse_flags(argc, argv);
}

const char *
fz_group_key(const char *id)
{
	opt.id = id;
	return group_key();
}

void
fz_path_clean(const char *in, char *out, size_t cap)
{
	path_clean(in, out, cap);
}

void
fz_socket_path(const char *address, const char *ns, const char *key,
    char *dst, size_t cap)
{
	opt.address = address;
	opt.ns = ns;
	socket_path(key, dst, cap);
}

const char *
fz_opt(const char *name)
{
	if (strcmp(name, "namespace") == 0)
		return opt.ns;
	if (strcmp(name, "id") == 0)
		return opt.id;
	if (strcmp(name, "address") == 0)
		return opt.address;
	if (strcmp(name, "publish-binary") == 0)
		return opt.publish;
	if (strcmp(name, "bundle") == 0)
		return opt.bundle;
	if (strcmp(name, "socket") == 0)
		return opt.socket;
	if (strcmp(name, "action") == 0)
		return opt.action;
	return NULL;
}

bool
fz_opt_debug(void)
{
	return opt.debug;
}

unsigned
fz_opt_nlimits(void)
{
	return opt.nlimits;
}

const char *
fz_opt_limit(unsigned i)
{
	return i < opt.nlimits ? opt.limits[i] : NULL;
}
