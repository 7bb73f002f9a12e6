/*
 * pause.c - the pod sandbox's process for the CRI tests: holds the pod's
 * namespaces open, reaps orphans when it is the pod's pid 1, and exits 0 on
 * SIGTERM or SIGINT (kubelet's "pause" image does the same job).
 *
 * Owns: nothing but itself.  Built static with musl-gcc into the test
 * image (tests/cri/mkimage.py); never part of the shim.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	/* Blocked before anything can arrive: a pid 1 has no default action
	 * for SIGTERM, so an unblocked, unhandled one would be lost. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return 1;
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			return 1;
		if (sig != SIGCHLD)
			return 0;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}
