/* The worker pool (core/util/pool.h). */
#include "core/util/pool.h"

#include "core/util/clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct task {
	mv_task_fn fn;
	void *arg;
};

struct worker {
	struct mv_pool *p;
	unsigned idx;
	pthread_t th;
};

struct mv_pool {
	pthread_mutex_t mu;
	pthread_cond_t work;  /* a task was queued, or quit */
	pthread_cond_t space; /* the queue has room */
	pthread_cond_t idle;  /* the queue is empty and nothing runs */
	struct task *q;
	size_t cap, head, count;
	unsigned running; /* tasks being run */
	int quit;         /* mv_pool_finish: workers leave when the queue is empty */
	int failed;       /* the first error, 0 while none */
	struct mv_error ferr;
	volatile sig_atomic_t *cancel;
	struct worker *w;
	unsigned nthreads;
};

unsigned mv_pool_default_threads(unsigned max)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (max && (unsigned long)n > max)
		n = (long)max;
	return (unsigned)n;
}

/* With p->mu held. */
static void fail_locked(struct mv_pool *p, int code, const struct mv_error *e, const char *msg)
{
	if (p->failed)
		return;
	p->failed = code ? code : MV_ERR_INTERRUPTED;
	if (e && e->code) {
		p->ferr = *e;
	} else {
		mv_error_set(&p->ferr, p->failed, 0, "%s",
		             msg ? msg
		                 : (p->failed == MV_ERR_INTERRUPTED ? "interrupted"
		                                                    : mv_strerror(p->failed)));
	}
	p->ferr.code = p->failed;
	pthread_cond_broadcast(&p->space);
}

/* With p->mu held: notices the cancel flag (set by a signal handler, which
 * may run on any thread: read atomically). */
static int stopped_locked(struct mv_pool *p)
{
	if (!p->failed && p->cancel && __atomic_load_n(p->cancel, __ATOMIC_RELAXED))
		fail_locked(p, MV_ERR_INTERRUPTED, NULL, "interrupted");
	return p->failed;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct mv_pool *p = w->p;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->count && !p->quit)
			pthread_cond_wait(&p->work, &p->mu);
		if (!p->count)
			break;
		struct task t = p->q[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		p->running++;
		pthread_cond_signal(&p->space);
		pthread_mutex_unlock(&p->mu);

		struct mv_error e = {0};
		int rc = t.fn(t.arg, w->idx, &e);

		pthread_mutex_lock(&p->mu);
		p->running--;
		if (rc && !stopped_locked(p))
			fail_locked(p, rc, &e, NULL);
		if (!p->count && !p->running)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int mv_pool_start(unsigned threads, size_t queue, volatile sig_atomic_t *cancel,
                  struct mv_pool **out, struct mv_error *err)
{
	*out = NULL;
	if (!threads)
		threads = 1;
	if (!queue)
		queue = 2 * (size_t)threads;
	struct mv_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	p->q = calloc(queue, sizeof(*p->q));
	p->w = calloc(threads, sizeof(*p->w));
	if (!p->q || !p->w) {
		free(p->q);
		free(p->w);
		free(p);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	p->cap = queue;
	p->cancel = cancel;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->space, NULL);
	pthread_cond_init(&p->idle, NULL);
	int e = 0;
	for (unsigned i = 0; i < threads; i++) {
		p->w[i].p = p;
		p->w[i].idx = i;
		if ((e = pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i])) != 0)
			break;
		p->nthreads++;
	}
	if (!p->nthreads) {
		(void)mv_pool_finish(p, NULL);
		return mv_error_set(err, MV_ERR_IO, e, "cannot start a thread");
	}
	*out = p;
	return 0;
}

unsigned mv_pool_threads(const struct mv_pool *p)
{
	return p->nthreads;
}

int mv_pool_submit(struct mv_pool *p, mv_task_fn fn, void *arg, struct mv_error *err)
{
	pthread_mutex_lock(&p->mu);
	while (p->count == p->cap && !stopped_locked(p))
		pthread_cond_wait(&p->space, &p->mu);
	int rc = p->failed;
	if (rc) {
		if (err)
			*err = p->ferr;
	} else {
		p->q[(p->head + p->count) % p->cap] = (struct task){fn, arg};
		p->count++;
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int mv_pool_stopped(struct mv_pool *p)
{
	pthread_mutex_lock(&p->mu);
	int rc = stopped_locked(p);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void mv_pool_cancel(struct mv_pool *p, int code, const char *msg)
{
	pthread_mutex_lock(&p->mu);
	fail_locked(p, code, NULL, msg);
	pthread_mutex_unlock(&p->mu);
}

int mv_pool_wait_idle(struct mv_pool *p, const struct timespec *deadline)
{
	int done, rc = 0;
	pthread_mutex_lock(&p->mu);
	while (!(done = !p->count && !p->running) && rc == 0) {
		(void)stopped_locked(p);
		if (deadline)
			rc = pthread_cond_timedwait(&p->idle, &p->mu, deadline);
		else
			pthread_cond_wait(&p->idle, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return done;
}

void mv_pool_wait_reporting(struct mv_pool *p, long interval_ns, void (*report)(void *arg),
                            void *arg)
{
	for (int last = 0;;) {
		report(arg);
		if (last)
			break;
		struct timespec ts;
		mv_deadline_in(&ts, interval_ns);
		last = mv_pool_wait_idle(p, &ts);
	}
}

int mv_pool_finish(struct mv_pool *p, struct mv_error *err)
{
	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->w[i].th, NULL);
	int rc = p->failed;
	if (rc && err)
		*err = p->ferr;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->space);
	pthread_cond_destroy(&p->idle);
	free(p->q);
	free(p->w);
	free(p);
	return rc;
}
