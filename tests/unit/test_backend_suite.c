/* The backend conformance suite: one set of tests of the contract in
 * core/backend/backend.h that every backend must pass, run on each stack
 * below (local through the registry, in-memory, retry over an in-memory
 * backend with transient faults, cache over an in-memory backend). A new
 * transport (sftp, s3) adds one entry to `stacks`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/backend/backend.h"
#include "core/backend/cache.h"
#include "core/backend/mem.h"
#include "core/backend/retry.h"

struct stack {
	const char *name;
	int (*open)(struct stack *s, struct mv_backend **out);
	int local; /* what props.local must say */
	char dir[64];
	struct mv_mem_store *store;
};

struct fix {
	struct stack *s;
	struct mv_backend *b;
};

static int open_local(struct stack *s, struct mv_backend **out)
{
	char loc[128];
	struct mv_error e = {0};
	snprintf(loc, sizeof(loc), "local:%s/repo", s->dir);
	return mv_backend_open(loc, out, &e);
}

static int open_mem(struct stack *s, struct mv_backend **out)
{
	struct mv_error e = {0};
	return mv_backend_mem_open(s->store, out, &e);
}

/* every third call fails with a transient error: the retry layer hides it
 * (with 16 threads sharing the count, one call may meet several in a row) */
static int open_retry(struct stack *s, struct mv_backend **out)
{
	struct mv_error e = {0};
	struct mv_backend *m;
	struct mv_retry_params p = {.attempts = 20, .base_ns = 1000, .max_ns = 10000};
	struct mv_mem_fault f = {.kind = MV_MEM_FAULT_TRANSIENT,
	                         .op = -1,
	                         .type = -1,
	                         .nth = 1,
	                         .count = 1,
	                         .period = 2};
	mv_mem_fault_set(s->store, &f);
	int rc = mv_backend_mem_open(s->store, &m, &e);
	return rc ? rc : mv_backend_retry_wrap(m, &p, out, &e);
}

static int open_cache(struct stack *s, struct mv_backend **out)
{
	char cdir[128];
	struct mv_error e = {0};
	struct mv_backend *m;
	snprintf(cdir, sizeof(cdir), "%s/cache", s->dir);
	int rc = mv_backend_mem_open(s->store, &m, &e);
	return rc ? rc : mv_backend_cache_wrap(m, cdir, out, &e);
}

static struct stack stacks[] = {
    {.name = "local", .open = open_local, .local = 1},
    {.name = "mem", .open = open_mem},
    {.name = "retry(mem, transient faults)", .open = open_retry},
    {.name = "cache(mem)", .open = open_cache},
};

static int setup(void **state)
{
	struct stack *s = *state;
	struct fix *f = calloc(1, sizeof(*f));
	struct mv_error e = {0};
	assert_non_null(f);
	f->s = s;
	snprintf(s->dir, sizeof(s->dir), "/tmp/mvbesuite.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	s->store = mv_mem_store_new();
	assert_non_null(s->store);
	assert_int_equal(s->open(s, &f->b), 0);
	assert_int_equal(f->b->ops->create(f->b, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	struct stack *s = f->s;
	char cmd[128];
	mv_backend_close(f->b);
	mv_mem_store_free(s->store);
	s->store = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	assert_int_equal(system(cmd), 0);
	*state = s;
	free(f);
	return 0;
}

/* An object named by the hash of its bytes, as the repository names them. */
static void make_obj(uint8_t *p, size_t len, uint32_t seed, char name[65])
{
	uint8_t h[32];
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131u + seed * 7919u) >> 3);
	crypto_generichash(h, sizeof(h), p, len, NULL, 0);
	sodium_bin2hex(name, 65, h, sizeof(h));
}

static void put_ok(struct mv_backend *b, enum mv_ftype t, const char *name, const void *p,
                   size_t len)
{
	struct mv_error e = {0};
	int rc = b->ops->put(b, t, name, p, len, 0, &e);
	if (rc)
		fail_msg("put '%s': %d %s", name, rc, e.msg);
}

static void test_backend__create_refuses_an_existing_config(void **state)
{
	struct fix *f = *state;
	struct mv_error e = {0};
	put_ok(f->b, MV_FT_CONFIG, "config", "cfg", 3);
	assert_int_equal(f->b->ops->create(f->b, &e), MV_ERR_EXISTS);
	uint8_t buf[3];
	assert_int_equal(f->b->ops->get(f->b, MV_FT_CONFIG, "config", 0, buf, 3, &e), 0);
	assert_memory_equal(buf, "cfg", 3);
}

static void test_backend__get_ranges(void **state)
{
	struct fix *f = *state;
	struct mv_error e = {0};
	enum { LEN = 100000 };
	uint8_t *p = malloc(LEN), *q = malloc(LEN);
	char name[65];
	uint64_t size;
	assert_non_null(p);
	assert_non_null(q);
	make_obj(p, LEN, 1, name);
	put_ok(f->b, MV_FT_PACK, name, p, LEN);
	assert_int_equal(f->b->ops->size(f->b, MV_FT_PACK, name, &size, &e), 0);
	assert_int_equal(size, LEN);
	static const size_t cuts[][2] = {{0, LEN}, {0, 1},       {LEN - 1, 1}, {4096, 50000},
	                                 {LEN, 0}, {12345, 678}, {LEN - 4, 4}, {0, 0}};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		memset(q, 0xee, LEN);
		assert_int_equal(
		    f->b->ops->get(f->b, MV_FT_PACK, name, cuts[i][0], q, cuts[i][1], &e), 0);
		assert_memory_equal(q, p + cuts[i][0], cuts[i][1]);
	}
	/* beyond the end: a short object is an integrity error */
	assert_int_equal(f->b->ops->get(f->b, MV_FT_PACK, name, LEN - 10, q, 20, &e),
	                 MV_ERR_INTEGRITY);
	assert_int_equal(f->b->ops->get(f->b, MV_FT_PACK, name, LEN + 1, q, 1, &e),
	                 MV_ERR_INTEGRITY);
	free(p);
	free(q);
}

static void test_backend__metadata_types_round_trip(void **state)
{
	struct fix *f = *state;
	struct mv_error e = {0};
	static const enum mv_ftype types[] = {MV_FT_KEY,  MV_FT_INDEX,   MV_FT_SNAPSHOT,
	                                      MV_FT_LOCK, MV_FT_KEYLIST, MV_FT_WIPE};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint8_t p[300], *q;
		size_t qlen;
		char name[65];
		make_obj(p, sizeof(p), (uint32_t)i + 10, name);
		put_ok(f->b, types[i], name, p, sizeof(p));
		assert_int_equal(mv_backend_get_all(f->b, types[i], name, 1000, &q, &qlen, &e), 0);
		assert_int_equal(qlen, sizeof(p));
		assert_memory_equal(q, p, sizeof(p));
		free(q);
		/* twice: a cache serves the second read */
		assert_int_equal(
		    mv_backend_get_sized(f->b, types[i], name, sizeof(p), 1000, &q, &qlen, &e), 0);
		assert_memory_equal(q, p, sizeof(p));
		free(q);
		assert_int_equal(mv_backend_get_all(f->b, types[i], name, 100, &q, &qlen, &e),
		                 MV_ERR_LIMIT);
	}
}

static void test_backend__exclusive_put(void **state)
{
	struct fix *f = *state;
	struct mv_error e = {0};
	uint8_t p[64];
	char name[65];
	make_obj(p, sizeof(p), 3, name);
	assert_int_equal(f->b->ops->put(f->b, MV_FT_LOCK, name, p, sizeof(p), 1, &e), 0);
	assert_int_equal(f->b->ops->put(f->b, MV_FT_LOCK, name, p, sizeof(p), 1, &e),
	                 MV_ERR_EXISTS);
	/* a plain put of the same object (a retried upload) is no error */
	assert_int_equal(f->b->ops->put(f->b, MV_FT_LOCK, name, p, sizeof(p), 0, &e), 0);
	assert_int_equal(f->b->ops->put(f->b, MV_FT_CONFIG, "config", p, 8, 1, &e), 0);
	assert_int_equal(f->b->ops->put(f->b, MV_FT_CONFIG, "config", p, 8, 1, &e), MV_ERR_EXISTS);
}

struct listing {
	char names[64][65];
	uint64_t sizes[64];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int note(void *arg, const char *name, uint64_t size)
{
	struct listing *l = arg;
	if (l->n == 64)
		return -100;
	snprintf(l->names[l->n], 65, "%s", name);
	l->sizes[l->n++] = size;
	return l->stop_after && l->n == l->stop_after ? 42 : 0;
}

static void test_backend__list_gives_names_and_sizes(void **state)
{
	struct fix *f = *state;
	struct mv_error e = {0};
	char names[40][65];
	uint8_t p[2000];
	for (uint32_t i = 0; i < 40; i++) {
		enum mv_ftype t = i < 30 ? MV_FT_INDEX : MV_FT_PACK;
		make_obj(p, 10 + i * 37, i, names[i]);
		put_ok(f->b, t, names[i], p, 10 + i * 37);
	}
	struct listing l = {0};
	assert_int_equal(f->b->ops->list(f->b, MV_FT_INDEX, note, &l, &e), 0);
	assert_int_equal(l.n, 30);
	for (uint32_t i = 0; i < 30; i++) {
		size_t k = 0;
		while (k < l.n && strcmp(l.names[k], names[i]))
			k++;
		assert_true(k < l.n);
		assert_int_equal(l.sizes[k], 10 + i * 37);
	}
	memset(&l, 0, sizeof(l));
	assert_int_equal(f->b->ops->list(f->b, MV_FT_PACK, note, &l, &e), 0);
	assert_int_equal(l.n, 10);
	memset(&l, 0, sizeof(l));
	assert_int_equal(f->b->ops->list(f->b, MV_FT_SNAPSHOT, note, &l, &e), 0);
	assert_int_equal(l.n, 0);
	/* a callback's non-zero answer stops the listing and is returned */
	memset(&l, 0, sizeof(l));
	l.stop_after = 5;
	assert_int_equal(f->b->ops->list(f->b, MV_FT_INDEX, note, &l, &e), 42);
	assert_int_equal(l.n, 5);
	/* collected, with sizes */
	struct mv_backend_entry *all;
	size_t n;
	assert_int_equal(mv_backend_list_all(f->b, MV_FT_PACK, &all, &n, &e), 0);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++) {
		uint64_t size;
		assert_int_equal(f->b->ops->size(f->b, MV_FT_PACK, all[i].name, &size, &e), 0);
		assert_int_equal(size, all[i].size);
	}
	free(all);
}

static void test_backend__remove(void **state)
{
	struct fix *f = *state;
	struct mv_error e = {0};
	uint8_t p[100], q[100];
	char name[65];
	uint64_t size;
	make_obj(p, sizeof(p), 5, name);
	put_ok(f->b, MV_FT_SNAPSHOT, name, p, sizeof(p));
	assert_int_equal(f->b->ops->get(f->b, MV_FT_SNAPSHOT, name, 0, q, sizeof(q), &e), 0);
	assert_int_equal(f->b->ops->remove(f->b, MV_FT_SNAPSHOT, name, &e), 0);
	assert_int_equal(f->b->ops->size(f->b, MV_FT_SNAPSHOT, name, &size, &e), MV_ERR_NOTFOUND);
	assert_int_equal(f->b->ops->get(f->b, MV_FT_SNAPSHOT, name, 0, q, 1, &e), MV_ERR_NOTFOUND);
	struct listing l = {0};
	assert_int_equal(f->b->ops->list(f->b, MV_FT_SNAPSHOT, note, &l, &e), 0);
	assert_int_equal(l.n, 0);
	/* a missing object is not an error */
	assert_int_equal(f->b->ops->remove(f->b, MV_FT_SNAPSHOT, name, &e), 0);
}

static void test_backend__missing_objects(void **state)
{
	struct fix *f = *state;
	struct mv_error e = {0};
	uint8_t q[4];
	uint64_t size;
	char name[65];
	make_obj(q, sizeof(q), 6, name);
	assert_int_equal(f->b->ops->get(f->b, MV_FT_PACK, name, 0, q, 4, &e), MV_ERR_NOTFOUND);
	assert_int_equal(f->b->ops->get(f->b, MV_FT_INDEX, name, 0, q, 4, &e), MV_ERR_NOTFOUND);
	assert_int_equal(f->b->ops->size(f->b, MV_FT_KEY, name, &size, &e), MV_ERR_NOTFOUND);
	assert_int_equal(f->b->ops->size(f->b, MV_FT_CONFIG, "config", &size, &e), MV_ERR_NOTFOUND);
	assert_non_null(strstr(e.msg, "config"));
}

static void test_backend__bad_names_are_refused(void **state)
{
	struct fix *f = *state;
	struct mv_error e = {0};
	static const char *const bad[] = {"", "../config", "a/b", ".tmp-x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(f->b->ops->put(f->b, MV_FT_INDEX, bad[i], "x", 1, 0, &e),
		                 MV_ERR_USAGE);
}

#define OBJS    8
#define THREADS 16

struct conc {
	struct mv_backend *b;
	uint8_t *data[OBJS];
	char names[OBJS][65];
	size_t len;
	unsigned seed;
	int failures;
};

struct worker {
	struct conc *c;
	unsigned id;
	int failures;
};

static void *get_many(void *arg)
{
	struct worker *w = arg;
	struct conc *c = w->c;
	uint8_t buf[4096];
	unsigned seed = w->id * 2654435761u;
	for (int i = 0; i < 200; i++) {
		struct mv_error e = {0};
		seed = seed * 1103515245u + 12345u;
		unsigned k = (seed >> 8) % OBJS;
		size_t off = (seed >> 4) % (c->len - sizeof(buf));
		size_t len = 1 + (seed >> 16) % sizeof(buf);
		if (c->b->ops->get(c->b, MV_FT_PACK, c->names[k], off, buf, len, &e) ||
		    memcmp(buf, c->data[k] + off, len))
			w->failures++;
	}
	return NULL;
}

static void *put_some(void *arg)
{
	struct worker *w = arg;
	uint8_t p[512];
	char name[65];
	for (unsigned i = 0; i < 10; i++) {
		struct mv_error e = {0};
		make_obj(p, sizeof(p), 1000 + w->id * 100 + i, name);
		if (w->c->b->ops->put(w->c->b, MV_FT_INDEX, name, p, sizeof(p), 0, &e))
			w->failures++;
	}
	return NULL;
}

static void run_threads(struct conc *c, void *(*fn)(void *))
{
	pthread_t t[THREADS];
	struct worker w[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = (struct worker){c, i, 0};
		assert_int_equal(pthread_create(&t[i], NULL, fn, &w[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		c->failures += w[i].failures;
	}
}

static void test_backend__concurrent_gets_and_puts(void **state)
{
	struct fix *f = *state;
	struct mv_error e = {0};
	struct conc c = {.b = f->b, .len = 64 << 10};
	for (unsigned k = 0; k < OBJS; k++) {
		c.data[k] = malloc(c.len);
		assert_non_null(c.data[k]);
		make_obj(c.data[k], c.len, 100 + k, c.names[k]);
		put_ok(f->b, MV_FT_PACK, c.names[k], c.data[k], c.len);
	}
	run_threads(&c, get_many);
	assert_int_equal(c.failures, 0);
	run_threads(&c, put_some);
	assert_int_equal(c.failures, 0);
	struct mv_backend_entry *all;
	size_t n;
	assert_int_equal(mv_backend_list_all(f->b, MV_FT_INDEX, &all, &n, &e), 0);
	assert_int_equal(n, THREADS * 10);
	free(all);
	for (unsigned k = 0; k < OBJS; k++)
		free(c.data[k]);
}

static void test_backend__cancelled_calls_stop(void **state)
{
	struct fix *f = *state;
	struct mv_error e = {0};
	volatile sig_atomic_t cancel = 0;
	uint8_t p[32], q[32];
	char name[65];
	make_obj(p, sizeof(p), 7, name);
	put_ok(f->b, MV_FT_PACK, name, p, sizeof(p));
	mv_backend_set_cancel(f->b, &cancel);
	assert_int_equal(f->b->ops->get(f->b, MV_FT_PACK, name, 0, q, sizeof(q), &e), 0);
	cancel = 1;
	assert_int_equal(f->b->ops->get(f->b, MV_FT_PACK, name, 0, q, sizeof(q), &e),
	                 MV_ERR_INTERRUPTED);
	assert_int_equal(f->b->ops->put(f->b, MV_FT_PACK, name, p, sizeof(p), 0, &e),
	                 MV_ERR_INTERRUPTED);
	struct listing l = {0};
	assert_int_equal(f->b->ops->list(f->b, MV_FT_PACK, note, &l, &e), MV_ERR_INTERRUPTED);
	mv_backend_set_cancel(f->b, NULL);
}

static void test_backend__properties(void **state)
{
	struct fix *f = *state;
	assert_true(f->b->props.connections >= 1);
	assert_true(f->b->props.uploads >= 1);
	assert_int_equal(f->b->props.local, f->s->local);
	assert_non_null(f->b->location);
}

/* Each test on each stack; the stack's name shows in the test's name. */
#define ON(fn, st)                                                                                 \
	{                                                                                          \
#fn, fn, setup, teardown, &stacks[st]                                              \
	}
#define ALL(st)                                                                                    \
	ON(test_backend__create_refuses_an_existing_config, st), ON(test_backend__get_ranges, st), \
	    ON(test_backend__metadata_types_round_trip, st), ON(test_backend__exclusive_put, st),  \
	    ON(test_backend__list_gives_names_and_sizes, st), ON(test_backend__remove, st),        \
	    ON(test_backend__missing_objects, st), ON(test_backend__bad_names_are_refused, st),    \
	    ON(test_backend__concurrent_gets_and_puts, st),                                        \
	    ON(test_backend__cancelled_calls_stop, st), ON(test_backend__properties, st)

int main(void)
{
	int failed = 0;
	if (sodium_init() < 0)
		return 1;
	for (size_t s = 0; s < sizeof(stacks) / sizeof(stacks[0]); s++) {
		const struct CMUnitTest tests[][11] = {{ALL(0)}, {ALL(1)}, {ALL(2)}, {ALL(3)}};
		print_message("backend stack: %s\n", stacks[s].name);
		failed += _cmocka_run_group_tests(stacks[s].name, tests[s], 11, NULL, NULL);
	}
	return failed;
}
