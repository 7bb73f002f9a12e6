/*
 * reaper - see reaper.h.  Like catatonit's reaping loop: one SIGCHLD may
 * stand for many exits, so keep calling waitpid until it has nothing.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "layout.h"
#include "bounds.h"
#include "log.h"
#include "reactor.h"
#include "reaper.h"

struct unclaimed {
	pid_t u_pid;
	int u_status;
	struct timespec u_when;
};

static bool reaper_needed;
static reaper_route_fn *reaper_routes[8];
static unsigned reaper_nroutes;
static unsigned reaper_holds;
static struct unclaimed reaper_kept[NS_UNCLAIMED];
static unsigned reaper_nkept, reaper_next;

NS_IDLE static void
reaper_sigchld(void)
{
	reaper_needed = true;
}

NS_IDLE void
reaper_kick(void)
{
	reaper_needed = true;
}

int
reaper_status(int ws)
{
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	return 255;
}

static void
reaper_keep(pid_t pid, int status, const struct timespec *when)
{
	struct unclaimed *u = &reaper_kept[reaper_next];

	/* A full table overwrites the oldest exit; log what is lost. */
	if (reaper_nkept == NS_UNCLAIMED)
		log_warnx("unclaimed exit table full (%u): dropping pid %d",
		    NS_UNCLAIMED, (int)u->u_pid);
	else
		reaper_nkept++;
	u->u_pid = pid;
	u->u_status = status;
	u->u_when = *when;
	reaper_next = (reaper_next + 1) % NS_UNCLAIMED;
}

bool
reaper_claim(pid_t pid, int *status, struct timespec *when)
{
	unsigned i;

	for (i = 0; i < NS_UNCLAIMED && reaper_nkept > 0; i++) {
		struct unclaimed *u = &reaper_kept[i];

		if (u->u_pid != pid || pid <= 0)
			continue;
		*status = u->u_status;
		*when = u->u_when;
		u->u_pid = 0;
		reaper_nkept--;
		return true;
	}
	return false;
}

void
reaper_hold(void)
{
	reaper_holds++;
}

void
reaper_release(void)
{
	unsigned i;

	/* Clear only what was used: the table's pages stay untouched. */
	if (reaper_holds > 0 && --reaper_holds == 0 && reaper_nkept > 0) {
		for (i = 0; i < NS_UNCLAIMED; i++)
			reaper_kept[i].u_pid = 0;
		reaper_nkept = 0;
		reaper_next = 0;
	}
}

NS_IDLE void
reaper_route(reaper_route_fn *fn)
{
	if (reaper_nroutes < sizeof(reaper_routes) / sizeof(reaper_routes[0]))
		reaper_routes[reaper_nroutes++] = fn;
}

NS_IDLE static void
reaper_sweep(void)
{
	struct timespec when;
	unsigned i;
	pid_t pid;
	int ws;

	if (!reaper_needed)
		return;
	reaper_needed = false;
	for (;;) {
		pid = waitpid(-1, &ws, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		clock_gettime(CLOCK_REALTIME, &when);
		for (i = 0; i < reaper_nroutes; i++)
			if (reaper_routes[i](pid, reaper_status(ws), &when))
				break;
		if (i == reaper_nroutes) {
			if (reaper_holds > 0)
				reaper_keep(pid, reaper_status(ws), &when);
			else
				log_debug("reaped unknown pid %d", (int)pid);
		}
	}
}

NS_IDLE void
reaper_init(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fatal("set child subreaper");
	reactor_on_signal(SIGCHLD, reaper_sigchld);
	reactor_sweep(reaper_sweep);
	/* Children that died before the signalfd existed. */
	reaper_needed = true;
}
