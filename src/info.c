/*
 * info - the `-info` action; see info.h.
 *
 * containerd 2.x runs `SHIM -info` to learn what a runtime is and what its
 * OCI runtime supports: `ctr plugins inspect-runtime`, CRI's probe for
 * user namespaces (a runtime whose features it cannot read gets none) and
 * task create when a spec asks for idmapped mounts.  The answer is one
 * encoded containerd.types.RuntimeInfo on stdout: our name and version,
 * the options we were given, and the OCI runtime's `features` document
 * (JSON) in an Any, as the Go shim sends it.
 *
 * Like `start` and `delete` this runs before the loop exists: it may block
 * (on the child it runs) and exits when done.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "layout.h"
#include "bounds.h"
#include "info.h"
#include "json.h"
#include "log.h"
#include "pbs.h"
#include "runc.h"

#include "containerd/runc/v1/oci.pb.h"
#include "containerd/types/introspection.pb.h"
#include "google/protobuf/any.pb.h"

/* The runtime type we implement; also the prefix of our failure texts. */
#define INFO_NAME	"io.containerd.nanoshim.v2"
#define OPTIONS_URL	"containerd.runc.v1.Options"
/* typeurl's name for runtime-spec's features.Features (JSON encoded). */
#define FEATURES_URL \
	"types.containerd.io/opencontainers/runtime-spec/1/features/Features"
/* Options on stdin: a few paths and flags; start reads at most as much. */
#define INFO_IN_MAX	(64 * 1024)
/* `runc features`: 4.7 KB from runc 1.1, about twice that from 1.2. */
#define FEATURES_MAX	(256 * 1024)

NS_COLD static uint8_t info_in[INFO_IN_MAX];
NS_COLD static char info_features[FEATURES_MAX];
NS_COLD static uint8_t info_out[FEATURES_MAX + 4096];

/* Read fd to its end into buf; the length, or -EFBIG past cap. */
static ssize_t
read_all(int fd, void *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, (char *)buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
		if (got == cap)
			return -EFBIG;
	}
}

/*
 * Run `<path> features` and keep its stdout in info_features; its length,
 * or -1 when it failed (exit status, too much output).  stderr is
 * dropped: a runtime without the command (Debian 12's crun 1.8.1, youki)
 * says so there, and the Go shim then leaves the features out too.
 */
static ssize_t
run_features(const char *path)
{
	int pfd[2], st, devnull;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(devnull, 2);
		execl(path, path, "features", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	n = read_all(pfd[0], info_features, sizeof(info_features));
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return n;
}

/*
 * Check that buf holds one JSON object and squeeze out the blanks between
 * tokens, in place: the Go shim decodes the document and encodes it again,
 * which gives the same bytes for a document runc wrote (runc uses the same
 * encoder, indented).  The new length, or -1 if it is not an object.
 */
static ssize_t
json_compact(char *buf, size_t n)
{
	const char *end = buf + n, *p = json_ws(buf, end), *q;
	size_t i, o = 0;
	bool str = false;

	if (p == end || *p != '{' || (q = json_skip(p, end)) == NULL ||
	    json_ws(q, end) != end)
		return -1;
	for (i = (size_t)(p - buf); i < (size_t)(q - buf); i++) {
		char c = buf[i];

		if (str) {
			buf[o++] = c;
			if (c == '\\' && i + 1 < n)
				buf[o++] = buf[++i];
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			buf[o++] = c;
			str = true;
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			buf[o++] = c;
		}
	}
	return (ssize_t)o;
}

void
info_run(const char *version, const char *revision)
{
	NS_COLD static containerd_types_RuntimeInfo info;
	NS_COLD static containerd_runc_v1_Options opts;
	NS_COLD static google_protobuf_Any in;
	static char bin[NS_PATH_MAX], path[NS_PATH_MAX];
	const char *err = NULL;
	ssize_t n, flen;
	size_t len;
	int e;

	log_init(2, LOG_OFF, NULL);
	memset(&info, 0, sizeof(info));
	pbs_setstr(&info.name, INFO_NAME);
	info.has_version = true;
	pbs_setstr(&info.version.version, version);
	pbs_setstr(&info.version.revision, revision);

	strcpy(bin, "runc");
	n = read_all(0, info_in, sizeof(info_in));
	if (n < 0)
		fatalx("failed to read config bytes from stdin: %s",
		    strerror((int)-n));
	/* Nothing on stdin: no options, the default runtime. */
	if (n > 0) {
		if (pbs_decode(google_protobuf_Any_fields, &in, info_in,
		    (size_t)n, &err) < 0)
			fatalx("failed to read runtime options "
			    "(*options.Options): %s", err);
		if (!pbs_eq(&in.type_url, OPTIONS_URL) &&
		    !pbs_eq(&in.type_url, "type.googleapis.com/" OPTIONS_URL)) {
			pbs_copy(&in.type_url, path, sizeof(path));
			fatalx("failed to read runtime options "
			    "(*options.Options): type with url %s: not %s",
			    path, OPTIONS_URL);
		}
		if (pbs_decode(containerd_runc_v1_Options_fields, &opts,
		    in.value.p, in.value.len, &err) < 0)
			fatalx("failed to read runtime options "
			    "(*options.Options): %s", err);
		if (opts.binary_name.len > 0 &&
		    pbs_copy(&opts.binary_name, bin, sizeof(bin)) < 0)
			fatalx("binary_name is too long or holds a NUL byte");
		/* Echoed under the name the Go shim gives it. */
		info.has_options = true;
		pbs_setstr(&info.options.type_url, OPTIONS_URL);
		pbs_set(&info.options.value, in.value.p, in.value.len);
	}

	e = runc_lookpath(bin, path, sizeof(path));
	if (e < 0)
		fatalx("failed to look up the path of \"%s\": exec: \"%s\": %s",
		    bin, bin, e == -ENOENT ? "executable file not found in "
		    "$PATH" : strerror(-e));
	flen = run_features(path);
	if (flen >= 0)
		flen = json_compact(info_features, (size_t)flen);
	if (flen > 0) {
		info.has_features = true;
		pbs_setstr(&info.features.type_url, FEATURES_URL);
		pbs_set(&info.features.value, info_features, (size_t)flen);
	}

	if (pbs_encode(containerd_types_RuntimeInfo_fields, &info, info_out,
	    sizeof(info_out), &len, &err) < 0)
		fatalx("encode RuntimeInfo: %s", err);
	for (size_t off = 0; off < len; off += (size_t)n) {
		n = write(1, info_out + off, len - off);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			fatal("write RuntimeInfo");
	}
	_exit(0);
}
