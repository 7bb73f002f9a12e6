/*
 * info - the `-info` action: what the shim is, for containerd 2.x.
 *
 * Owns: reading the runtime options from stdin, asking the OCI runtime
 * for its features document and printing a containerd.types.RuntimeInfo.
 * Does not own: argv (main) or running runc for containers (runc).
 *
 * Mirrors cmd/containerd-shim-runc-v2/manager (Info, features) and
 * pkg/shim/shim.go (runInfo) of containerd 2.x (spec 1.1).
 */
#ifndef NS_INFO_H
#define NS_INFO_H

/*
 * Read an options Any (or nothing) on stdin, write the encoded RuntimeInfo
 * on stdout and exit 0; on failure write "<runtime>: <reason>" on stderr
 * and exit 1, as the Go shim does.  Runs before anything else is set up.
 */
void info_run(const char *version, const char *revision)
    __attribute__((noreturn));

#endif
