/* One worker pool for every operation: a fixed set of threads taking tasks
 * from a bounded queue, the first failure or a cancellation stopping the
 * rest. Once stopped, tasks still queued are still handed to their function
 * (so that it can free what its argument owns): a task checks
 * mv_pool_stopped first and returns at once; its result is then ignored.
 *
 * A task gets the index of the worker running it (0 .. threads-1), so that
 * the caller can keep per-thread state (a blob context, a buffer) in an
 * array it owns. Tasks report problems that do not stop the operation on
 * their own; a task's non-zero return is fatal to the pool. */
#ifndef MV_POOL_H
#define MV_POOL_H

#include <signal.h>
#include <stddef.h>
#include <time.h>

#include "core/util/err.h"

struct mv_pool;

typedef int (*mv_task_fn)(void *arg, unsigned worker, struct mv_error *err);

/* The number of workers an operation uses by default: the online CPUs,
 * at least 1, at most max. */
unsigned mv_pool_default_threads(unsigned max);

/* Starts `threads` workers (at least 1) with room for `queue` waiting tasks
 * (0: twice the workers). `cancel`, when not NULL, is polled (a signal
 * handler sets it): once set, the pool stops with MV_ERR_INTERRUPTED.
 * Returns 0, MV_ERR_NOMEM, or MV_ERR_IO when no thread could be started
 * (fewer than asked, but at least one, is not an error). */
int mv_pool_start(unsigned threads, size_t queue, volatile sig_atomic_t *cancel,
                  struct mv_pool **out, struct mv_error *err) MV_MUST_CHECK;

/* The number of workers actually running. */
unsigned mv_pool_threads(const struct mv_pool *p);

/* Queues fn(arg), waiting while the queue is full. Returns 0, or the error
 * that stopped the pool (the task is then not queued; err gets the
 * pool's first error). */
int mv_pool_submit(struct mv_pool *p, mv_task_fn fn, void *arg, struct mv_error *err) MV_MUST_CHECK;

/* Non-zero once the pool is stopping (a task failed, mv_pool_cancel, or the
 * cancel flag): long tasks poll it and return early. */
int mv_pool_stopped(struct mv_pool *p);

/* Stops the pool with code (MV_ERR_INTERRUPTED when 0) and message, unless
 * it has already failed: queued tasks are dropped. */
void mv_pool_cancel(struct mv_pool *p, int code, const char *msg);

/* Waits until the queue is empty and no task runs, or until the deadline
 * (CLOCK_REALTIME; NULL waits without end). Returns 1 when idle, 0 at the
 * deadline. The caller reports progress between calls. */
int mv_pool_wait_idle(struct mv_pool *p, const struct timespec *deadline);

/* Waits until the pool is idle, calling report(arg) about every
 * interval_ns from the calling thread and once more when idle (so that even
 * work too quick for the first interval shows its final progress). */
void mv_pool_wait_reporting(struct mv_pool *p, long interval_ns, void (*report)(void *arg),
                            void *arg);

/* Waits for every queued task, stops and joins the workers and frees the
 * pool (accepts NULL). Returns 0 or the pool's first error (into err). */
int mv_pool_finish(struct mv_pool *p, struct mv_error *err);

#endif
