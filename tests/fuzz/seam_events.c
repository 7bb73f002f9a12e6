/*
 * seam_events - src/events.c with its statics in reach, for f_events.
 *
 * The events client keeps one connection and a retry state across calls;
 * a fuzz input must start from the same place every time, so this seam
 * puts the client back into the state of a fresh shim and hands it an
 * already connected socket (one end of a socketpair), instead of
 * connecting to TTRPC_ADDRESS.
 */
#include "../../src/events.c"

void fz_events_reset(int fd);
int fz_events_state(void);
uint32_t fz_events_ilen(void);
void fz_events_timeout(void);

void
fz_events_reset(int fd)
{
	if (rfd_open(&cl_rfd))
		cl_disconnect();
	rtimer_cancel(&cl_timer);
	while (ev_count > 0)
		ev_pop();
	cl_backoff = 0;
	cl_warned = false;
	cl_kicked = false;
	cl_state = CL_IDLE;
	cl_sid = 1;
	cl_sent_sid = 0;
	cl_ilen = 0;
	if (fd >= 0)
		rfd_init(&cl_rfd, fd, cl_handle);
}

int
fz_events_state(void)
{
	return (int)cl_state;
}

uint32_t
fz_events_ilen(void)
{
	return cl_ilen;
}

/* The client's timer fires now (reply deadline, backoff, connect). */
void
fz_events_timeout(void)
{
	if (rtimer_armed(&cl_timer)) {
		rtimer_cancel(&cl_timer);
		cl_event(cl_handle, REACTOR_TIMEOUT);
	}
}
