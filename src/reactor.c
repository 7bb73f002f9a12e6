/*
 * reactor - see reactor.h.  Shaped after redis' ae.c: a tiny loop API, the
 * epoll backend kept to three calls, timers that cost nothing when unused.
 *
 * Stale events: an fd closed by an earlier handler in the same batch may
 * already be reused for a new object.  Its old epoll_event still carries
 * the old handle; the owning module resolves handles through its pool, the
 * generation no longer matches, and the event is dropped there.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "bounds.h"
#include "log.h"
#include "pool.h"
#include "reactor.h"
#include "scratch.h"

static int reactor_epfd = -1;
static struct rfd reactor_sigfd;
static reactor_fn *reactor_fns[K_MAX];
static reactor_hook *reactor_hooks[16];
static unsigned reactor_nhooks;
static struct {
	int rs_signo;
	reactor_hook *rs_fn;
} reactor_sigfns[8];
static unsigned reactor_nsigfns;
static sigset_t reactor_sigs;
static bool reactor_live;
static int reactor_code;
static reactor_hook *reactor_rests[4];
static unsigned reactor_nrests;
static bool reactor_busy;	/* since the last rest (see reactor_rest) */

static struct rtimer **reactor_heap;	/* 1-based min-heap on rt_at */
static uint32_t reactor_nheap, reactor_heapcap;

NS_IDLE uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

NS_IDLE static void
reactor_signal(handle_t h, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)h;
	(void)events;
	/* Signals coalesce; each handler is idempotent ("reap needed"). */
	while (read(reactor_sigfd.rf_fd, &si, sizeof(si)) == sizeof(si)) {
		for (unsigned i = 0; i < reactor_nsigfns; i++)
			if (reactor_sigfns[i].rs_signo == (int)si.ssi_signo)
				reactor_sigfns[i].rs_fn();
	}
}

NS_IDLE void
reactor_init(uint32_t max_timers)
{
	reactor_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (reactor_epfd < 0)
		fatal("epoll_create1");
	reactor_heapcap = max_timers;
	sigemptyset(&reactor_sigs);
	reactor_fns[K_SIGNAL] = reactor_signal;
}

NS_IDLE void
reactor_handler(uint8_t kind, reactor_fn *fn)
{
	reactor_fns[kind] = fn;
}

NS_IDLE void
reactor_sweep(reactor_hook *fn)
{
	if (reactor_nhooks < sizeof(reactor_hooks) / sizeof(reactor_hooks[0]))
		reactor_hooks[reactor_nhooks++] = fn;
}

NS_IDLE void
reactor_on_rest(reactor_hook *fn)
{
	if (reactor_nrests < sizeof(reactor_rests) / sizeof(reactor_rests[0]))
		reactor_rests[reactor_nrests++] = fn;
}

NS_IDLE void
reactor_on_signal(int signo, reactor_hook *fn)
{
	unsigned i;
	int fd;

	for (i = 0; i < reactor_nsigfns; i++)
		if (reactor_sigfns[i].rs_signo == signo)
			break;
	if (i == sizeof(reactor_sigfns) / sizeof(reactor_sigfns[0]))
		fatalx("too many signal handlers");
	if (i == reactor_nsigfns)
		reactor_nsigfns++;
	reactor_sigfns[i].rs_signo = signo;
	reactor_sigfns[i].rs_fn = fn;
	sigaddset(&reactor_sigs, signo);
	if (sigprocmask(SIG_BLOCK, &reactor_sigs, NULL) < 0)
		fatal("sigprocmask");
	fd = signalfd(rfd_open(&reactor_sigfd) ? reactor_sigfd.rf_fd : -1,
	    &reactor_sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		fatal("signalfd");
	if (!rfd_open(&reactor_sigfd)) {
		rfd_init(&reactor_sigfd, fd, handle_make(K_SIGNAL, 1, 0));
		if (rfd_want(&reactor_sigfd, EPOLLIN) < 0)
			fatal("epoll_ctl signalfd");
	}
}

NS_IDLE void
rfd_init(struct rfd *r, int fd, handle_t h)
{
	r->rf_fd = fd;
	r->rf_mask = 0;
	r->rf_added = false;
	r->rf_h = h;
}

NS_IDLE int
rfd_want(struct rfd *r, uint32_t mask)
{
	struct epoll_event ev;
	int op;

	if (!rfd_open(r))
		return -EBADF;
	if (r->rf_added && mask == r->rf_mask)
		return 0;
	if (mask == 0) {
		/*
		 * Leaving the fd in with no interest would still report
		 * EPOLLHUP/EPOLLERR (a FIFO or pty with no peer) and spin.
		 */
		if (r->rf_added)
			epoll_ctl(reactor_epfd, EPOLL_CTL_DEL, r->rf_fd, NULL);
		r->rf_added = false;
		r->rf_mask = 0;
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = mask;
	ev.data.u64 = r->rf_h;
	op = r->rf_added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(reactor_epfd, op, r->rf_fd, &ev) < 0)
		return -errno;
	r->rf_added = true;
	r->rf_mask = mask;
	return 0;
}

NS_IDLE void
rfd_close(struct rfd *r)
{
	if (!rfd_open(r))
		return;
	if (r->rf_added)
		epoll_ctl(reactor_epfd, EPOLL_CTL_DEL, r->rf_fd, NULL);
	close(r->rf_fd);
	r->rf_fd = -1;
	r->rf_added = false;
	r->rf_mask = 0;
}

NS_IDLE static void
heap_swap(uint32_t a, uint32_t b)
{
	struct rtimer *t = reactor_heap[a];

	reactor_heap[a] = reactor_heap[b];
	reactor_heap[b] = t;
	reactor_heap[a]->rt_pos = a;
	reactor_heap[b]->rt_pos = b;
}

NS_IDLE static void
heap_up(uint32_t i)
{
	while (i > 1 && reactor_heap[i / 2]->rt_at > reactor_heap[i]->rt_at) {
		heap_swap(i, i / 2);
		i /= 2;
	}
}

NS_IDLE static void
heap_down(uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i, m = i;

		if (l <= reactor_nheap &&
		    reactor_heap[l]->rt_at < reactor_heap[m]->rt_at)
			m = l;
		if (l + 1 <= reactor_nheap &&
		    reactor_heap[l + 1]->rt_at < reactor_heap[m]->rt_at)
			m = l + 1;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

NS_IDLE void
rtimer_cancel(struct rtimer *t)
{
	uint32_t i = t->rt_pos;

	if (i == 0)
		return;
	t->rt_pos = 0;
	if (i != reactor_nheap) {
		reactor_heap[i] = reactor_heap[reactor_nheap];
		reactor_heap[i]->rt_pos = i;
		reactor_nheap--;
		heap_down(i);
		heap_up(i);
	} else {
		reactor_nheap--;
	}
}

/*
 * The heap is reserved after every module has reserved its own storage
 * (when the loop starts, or at the first timer of startup), so its head,
 * which every armed timer touches, lands in the hot area next to the
 * pools' first slots (pool.h).
 */
NS_IDLE static void
heap_reserve(void)
{
	if (reactor_heap == NULL)
		reactor_heap = region_reserve_hot(sizeof(*reactor_heap) *
		    (reactor_heapcap + 1));
}

NS_IDLE void
rtimer_set(struct rtimer *t, handle_t h, uint64_t at)
{
	rtimer_cancel(t);
	heap_reserve();
	/*
	 * Every timer lives inside a pooled object and each object has a
	 * fixed number of them, so the heap, sized from the pools, is never
	 * short; running out means a broken invariant.
	 */
	if (reactor_nheap >= reactor_heapcap) {
		log_error("timer heap full (%u)", reactor_heapcap);
		abort();
	}
	t->rt_at = at;
	t->rt_h = h;
	reactor_heap[++reactor_nheap] = t;
	t->rt_pos = reactor_nheap;
	heap_up(t->rt_pos);
}

NS_IDLE static void
reactor_fire_timers(void)
{
	uint64_t now = now_ms();
	unsigned budget = 256;

	while (reactor_nheap > 0 && reactor_heap[1]->rt_at <= now &&
	    budget-- > 0) {
		struct rtimer *t = reactor_heap[1];
		handle_t h = t->rt_h;

		rtimer_cancel(t);
		scratch_reset();
		if (handle_kind(h) != K_IO)
			reactor_busy = true;
		if (reactor_fns[handle_kind(h)])
			reactor_fns[handle_kind(h)](h, REACTOR_TIMEOUT);
	}
}

NS_IDLE static int
reactor_timeout(void)
{
	uint64_t now, at;

	if (reactor_nheap == 0)
		return -1;
	now = now_ms();
	at = reactor_heap[1]->rt_at;
	if (at <= now)
		return 0;
	return at - now > 60000 ? 60000 : (int)(at - now);
}

/*
 * Before sleeping with no timer armed, after work other than copying
 * stdio: the modules' rest hooks give back what that work touched, the
 * scratch arena goes back, and so do the stack pages below the loop's
 * own frames (requests, runc completions and exits run deeper than the
 * loop; their pages would otherwise stay resident for good).  A shim at
 * rest then holds only what it keeps.  Copying stdio runs shallow and
 * touches no scratch, so a container printing a line now and then costs
 * no extra call.
 */
/*
 * The stack pages below this call go back.  A frame of its own, never
 * inlined: measured from a local of a bigger frame (reactor_once's, with
 * the epoll batch in it) a fixed margin could reach below that frame's
 * bottom, and madvise would zero the page holding its own return address
 * (2 stack alignments in 256 crashed the release shim at its first rest).
 * Here the local sits in a frame of a few words, so STACK_MARGIN bytes
 * below it hold this frame, madvise's, and whatever the C library (or a
 * sanitizer's wrapper) runs under it before the call enters the kernel.
 */
#define STACK_MARGIN	1024u

NS_IDLE __attribute__((noinline)) static void
stack_rest(void)
{
	volatile char here = 0;
	uintptr_t below = ((uintptr_t)&here - STACK_MARGIN) &
	    ~(uintptr_t)4095;

	/* Unmapped parts of the range (below the stack) are skipped. */
	madvise((void *)(below - NS_STACK_REST), NS_STACK_REST,
	    MADV_DONTNEED);
	(void)here;
}

NS_IDLE static void
reactor_rest(void)
{
	unsigned i;

	for (i = 0; i < reactor_nrests; i++)
		reactor_rests[i]();
	scratch_rest();
	stack_rest();
	reactor_busy = false;
}

NS_IDLE bool
reactor_running(void)
{
	return reactor_live;
}

NS_IDLE void
reactor_stop(int code)
{
	reactor_live = false;
	reactor_code = code;
}

/* One batch: wait (at most timeout_ms, -1 forever), dispatch, sweep. */
NS_IDLE void
reactor_once(int timeout_ms)
{
	struct epoll_event evs[NS_EPOLL_BATCH];
	unsigned i;
	int n, t = reactor_timeout();

	if (timeout_ms >= 0 && (t < 0 || t > timeout_ms))
		t = timeout_ms;
	if (t < 0 && reactor_busy)
		reactor_rest();
	n = epoll_wait(reactor_epfd, evs, NS_EPOLL_BATCH, t);
	if (n < 0 && errno != EINTR) {
		log_warn("epoll_wait");
		n = 0;
	}
	for (i = 0; i < (unsigned)(n > 0 ? n : 0); i++) {
		handle_t h = evs[i].data.u64;
		uint8_t k = handle_kind(h);

		scratch_reset();
		if (k != K_IO)
			reactor_busy = true;
		if (k < K_MAX && reactor_fns[k])
			reactor_fns[k](h, evs[i].events);
	}
	reactor_fire_timers();
	for (i = 0; i < reactor_nhooks; i++) {
		scratch_reset();
		reactor_hooks[i]();
	}
	scratch_reset();
	if (scratch_rest_due())
		reactor_busy = true;
}

NS_IDLE int
reactor_run(void)
{
	heap_reserve();
	layout_fence();
	reactor_live = true;
	/* Startup ran deeper than the loop will and used scratch. */
	reactor_busy = true;
	/* From here on the shim must not die: see main.c. */
	while (reactor_live)
		reactor_once(-1);
	return reactor_code;
}
