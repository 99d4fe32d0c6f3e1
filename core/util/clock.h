/* Deadlines for pthread_cond_timedwait (which counts on CLOCK_REALTIME). */
#ifndef MV_CLOCK_H
#define MV_CLOCK_H

#include <time.h>

/* Sets *ts to now plus ns nanoseconds (0 <= ns < 1 s). */
static inline void mv_deadline_in(struct timespec *ts, long ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += ns;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

#endif
