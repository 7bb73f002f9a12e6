/*
 * reaper - the shim as child subreaper: collect every exit, route it.
 *
 * Owns: PR_SET_CHILD_SUBREAPER, the "reap needed" flag (set by SIGCHLD or
 * a readable pidfd), the waitpid(-1, WNOHANG) loop, and the table of exits
 * nobody claimed yet.  Does not own: what an exit means.
 *
 * Mirrors runtime/v2/shim/reaper (Reap, the exit subscribers) and the
 * "exit before pid known" handling of runtime/v2/runc/task/service.go.
 */
#ifndef NS_REAPER_H
#define NS_REAPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Routes are tried in the order added; the first that returns true wins. */
typedef bool reaper_route_fn(pid_t pid, int status,
    const struct timespec *when);

void reaper_init(void);
void reaper_route(reaper_route_fn *fn);
/* Something exited (a pidfd became readable): reap at the next sweep. */
void reaper_kick(void);
/*
 * While a create/exec start is in flight, exits nobody claims are kept,
 * since the pid they belong to may not be known yet.
 */
void reaper_hold(void);
void reaper_release(void);
/* Take a kept exit of pid; true and its status/time if there was one. */
bool reaper_claim(pid_t pid, int *status, struct timespec *when);
/* Exit status as containerd wants it: 128 + signal for a signal death. */
int reaper_status(int wstatus);

#endif
