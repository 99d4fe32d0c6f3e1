/* The worker pool and the growth helper (core/util/pool.c, grow.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/grow.h"
#include "core/util/pool.h"

struct sum {
	pthread_mutex_t mu;
	uint64_t total;
	unsigned calls;
	unsigned fail_at; /* task number that fails (0: none) */
	unsigned max_worker;
	volatile sig_atomic_t *flag;
	unsigned set_flag_at;
	struct mv_pool *pool;
	unsigned ran_after_stop;
};

struct item {
	struct sum *s;
	unsigned n;
};

static int add_task(void *arg, unsigned worker, struct mv_error *err)
{
	struct item *it = arg;
	struct sum *s = it->s;
	unsigned n = it->n;
	free(it);
	if (mv_pool_stopped(s->pool)) {
		pthread_mutex_lock(&s->mu);
		s->ran_after_stop++;
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	pthread_mutex_lock(&s->mu);
	s->total += n;
	s->calls++;
	if (worker > s->max_worker)
		s->max_worker = worker;
	pthread_mutex_unlock(&s->mu);
	if (s->flag && n == s->set_flag_at) /* as a signal handler on this thread would */
		__atomic_store_n(s->flag, 1, __ATOMIC_RELAXED);
	if (n == s->fail_at)
		return mv_error_set(err, MV_ERR_IO, 0, "task %u failed", n);
	return 0;
}

static int run(struct sum *s, unsigned threads, unsigned ntasks, struct mv_error *err)
{
	pthread_mutex_init(&s->mu, NULL);
	int rc = mv_pool_start(threads, 3, s->flag, &s->pool, err);
	assert_int_equal(rc, 0);
	assert_int_equal(mv_pool_threads(s->pool), threads);
	for (unsigned i = 1; i <= ntasks && !rc; i++) {
		struct item *it = malloc(sizeof(*it));
		assert_non_null(it);
		*it = (struct item){s, i};
		rc = mv_pool_submit(s->pool, add_task, it, err);
		if (rc)
			free(it);
	}
	int rc2 = mv_pool_finish(s->pool, err);
	pthread_mutex_destroy(&s->mu);
	return rc ? rc : rc2;
}

static void test_pool_runs_every_task(void **state)
{
	(void)state;
	struct sum s = {0};
	struct mv_error err = {0};
	assert_int_equal(run(&s, 4, 1000, &err), 0);
	assert_int_equal(s.total, 1000ull * 1001 / 2);
	assert_int_equal(s.calls, 1000);
	assert_true(s.max_worker < 4);
}

static void test_pool_first_error_stops(void **state)
{
	(void)state;
	struct sum s = {.fail_at = 10};
	struct mv_error err = {0};
	assert_int_equal(run(&s, 2, 100000, &err), MV_ERR_IO);
	assert_int_equal(err.code, MV_ERR_IO);
	assert_string_equal(err.msg, "task 10 failed");
	/* submissions stopped soon after the failure (the queue holds 3) */
	assert_true(s.calls + s.ran_after_stop < 100);
}

static void test_pool_cancel_flag(void **state)
{
	(void)state;
	volatile sig_atomic_t flag = 0;
	struct sum s = {.flag = &flag, .set_flag_at = 50};
	struct mv_error err = {0};
	assert_int_equal(run(&s, 3, 100000, &err), MV_ERR_INTERRUPTED);
	assert_true(s.calls < 200);
}

static void test_pool_wait_idle(void **state)
{
	(void)state;
	struct sum s = {0};
	struct mv_error err = {0};
	pthread_mutex_init(&s.mu, NULL);
	assert_int_equal(mv_pool_start(2, 0, NULL, &s.pool, &err), 0);
	for (unsigned i = 1; i <= 50; i++) {
		struct item *it = malloc(sizeof(*it));
		*it = (struct item){&s, i};
		assert_int_equal(mv_pool_submit(s.pool, add_task, it, &err), 0);
	}
	assert_int_equal(mv_pool_wait_idle(s.pool, NULL), 1);
	assert_int_equal(s.calls, 50);
	mv_pool_cancel(s.pool, MV_ERR_NOSPC, "disk full");
	assert_int_equal(mv_pool_finish(s.pool, &err), MV_ERR_NOSPC);
	assert_string_equal(err.msg, "disk full");
	pthread_mutex_destroy(&s.mu);
}

static void test_grow(void **state)
{
	(void)state;
	int *a = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < 1000; i++) {
		assert_int_equal(mv_grow(a, cap, i + 1), 0);
		assert_true(cap >= i + 1);
		a[i] = (int)i;
	}
	assert_int_equal(a[999], 999);
	size_t before = cap;
	assert_int_equal(mv_grow(a, cap, SIZE_MAX / 2), MV_ERR_NOMEM);
	assert_int_equal(cap, before);
	assert_int_equal(a[999], 999);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pool_runs_every_task),
	    cmocka_unit_test(test_pool_first_error_stops),
	    cmocka_unit_test(test_pool_cancel_flag),
	    cmocka_unit_test(test_pool_wait_idle),
	    cmocka_unit_test(test_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
