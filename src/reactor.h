/*
 * reactor - the one epoll loop.
 *
 * Owns: the epoll fd, the signalfd, timers, dispatch of ready fds to the
 * module that owns their handle kind, and the end-of-iteration sweep.
 * Does not own: protocols or processes.
 *
 * Every fd of the shim is registered with a handle (pool.h) whose kind
 * selects the handler.  Handlers record work; the sweep hooks run after
 * each batch in registration order (reap, then state machines, then
 * flushing), so work caused by several events is done once.
 */
#ifndef NS_REACTOR_H
#define NS_REACTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "pool.h"

/* Handle kinds: one per kind of fd or timer owner. */
enum {
	K_NONE,
	K_SIGNAL,
	K_LISTEN,
	K_CONN,
	K_EVENTS,
	K_RUNC,
	K_PROC,
	K_CTR,
	K_IO,
	K_OOM,
	K_PARKED,
	K_MAX
};

/* Passed as events to a handler when its timer fires. */
#define REACTOR_TIMEOUT 0x80000000u

typedef void reactor_fn(handle_t h, uint32_t events);
typedef void reactor_hook(void);

/* An fd in the loop, with the interest mask last given to the kernel. */
struct rfd {
	int rf_fd;
	uint32_t rf_mask;
	bool rf_added;
	handle_t rf_h;
};

/* A timer kept inside its owner's object; position in the heap + 1. */
struct rtimer {
	uint64_t rt_at;
	uint32_t rt_pos;
	handle_t rt_h;
};

void reactor_init(uint32_t max_timers);
void reactor_handler(uint8_t kind, reactor_fn *fn);
/* Sweep hooks run in the order they are added, after every batch. */
void reactor_sweep(reactor_hook *fn);
void reactor_on_signal(int signo, reactor_hook *fn);
/*
 * Rest hooks run when the loop is about to sleep with no timer armed,
 * after work other than copying stdio: give back pages that work touched.
 */
void reactor_on_rest(reactor_hook *fn);
/* One batch: wait up to timeout_ms (-1: no limit), dispatch, sweep. */
void reactor_once(int timeout_ms);
/* Run until reactor_stop(); returns the code given there. */
int reactor_run(void);
void reactor_stop(int code);
bool reactor_running(void);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t now_ms(void);

/* Bind fd to handle h; no interest yet.  The rfd owns fd from now on. */
void rfd_init(struct rfd *r, int fd, handle_t h);
/* Set the interest mask (EPOLLIN/EPOLLOUT); 0 takes the fd out of epoll. */
int rfd_want(struct rfd *r, uint32_t mask);
/* Take the fd out of epoll and close it; the rfd becomes empty (-1). */
void rfd_close(struct rfd *r);
/*
 * Objects start zeroed, so fd 0 means "none": in the daemon 0 and 1 are
 * /dev/null and 2 the log, so no fd of ours is ever below 3.
 */
static inline bool
rfd_open(const struct rfd *r)
{
	return r->rf_fd > 0;
}

/* Arm (or re-arm) t to fire at `at` ms for handle h. */
void rtimer_set(struct rtimer *t, handle_t h, uint64_t at);
void rtimer_cancel(struct rtimer *t);
static inline bool
rtimer_armed(const struct rtimer *t)
{
	return t->rt_pos != 0;
}

#endif
