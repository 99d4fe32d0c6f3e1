/* The backend layers and the registry (core/backend/): the retry layer
 * retries transient errors only, gives up as an I/O error, honours
 * cancellation; the cache layer serves metadata from its directory,
 * verifies it and follows the listing; the registry picks transports by
 * scheme; the in-memory backend's faults do what they say. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/backend/backend.h"
#include "core/backend/cache.h"
#include "core/backend/mem.h"
#include "core/backend/retry.h"

static void make_obj(uint8_t *p, size_t len, uint32_t seed, char name[65])
{
	uint8_t h[32];
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 17u + seed);
	crypto_generichash(h, sizeof(h), p, len, NULL, 0);
	sodium_bin2hex(name, 65, h, sizeof(h));
}

static const struct mv_retry_params fast = {.attempts = 4, .base_ns = 1000, .max_ns = 8000};

static void test_retry__transient_errors_are_retried(void **state)
{
	(void)state;
	struct mv_mem_store *s = mv_mem_store_new();
	struct mv_backend *m, *b;
	struct mv_error e = {0};
	uint8_t p[100], q[100];
	char name[65];
	assert_int_equal(mv_backend_mem_open(s, &m, &e), 0);
	assert_int_equal(mv_backend_retry_wrap(m, &fast, &b, &e), 0);
	make_obj(p, sizeof(p), 1, name);
	assert_int_equal(b->ops->put(b, MV_FT_PACK, name, p, sizeof(p), 0, &e), 0);

	/* two transient failures, then success: within 4 attempts */
	struct mv_mem_fault f = {MV_MEM_FAULT_TRANSIENT, MV_MEM_GET, -1, 1, 2, 0};
	mv_mem_fault_set(s, &f);
	mv_mem_calls_reset(s);
	assert_int_equal(b->ops->get(b, MV_FT_PACK, name, 0, q, sizeof(q), &e), 0);
	assert_memory_equal(p, q, sizeof(p));
	assert_int_equal(mv_mem_calls(s, MV_MEM_GET), 3);
	assert_int_equal(mv_backend_retry_count(b), 2);

	/* always transient: gives up after 4 attempts, as an I/O error */
	f.count = 0;
	mv_mem_fault_set(s, &f);
	mv_mem_calls_reset(s);
	assert_int_equal(b->ops->get(b, MV_FT_PACK, name, 0, q, sizeof(q), &e), MV_ERR_IO);
	assert_int_equal(e.code, MV_ERR_IO);
	assert_non_null(strstr(e.msg, "gave up after 4 attempt"));
	assert_int_equal(mv_mem_calls(s, MV_MEM_GET), 4);

	/* permanent errors and missing objects are not retried */
	static const enum mv_mem_fault_kind perm[] = {MV_MEM_FAULT_EIO, MV_MEM_FAULT_NOSPC,
	                                              MV_MEM_FAULT_SHORT};
	static const int want[] = {MV_ERR_IO, MV_ERR_NOSPC, MV_ERR_INTEGRITY};
	for (size_t i = 0; i < 3; i++) {
		struct mv_mem_fault pf = {perm[i], MV_MEM_GET, -1, 1, 0, 0};
		mv_mem_fault_set(s, &pf);
		mv_mem_calls_reset(s);
		assert_int_equal(b->ops->get(b, MV_FT_PACK, name, 0, q, sizeof(q), &e), want[i]);
		assert_int_equal(mv_mem_calls(s, MV_MEM_GET), 1);
	}
	mv_mem_fault_clear(s);
	mv_mem_calls_reset(s);
	assert_int_equal(b->ops->get(b, MV_FT_PACK, "00", 0, q, 1, &e), MV_ERR_NOTFOUND);
	assert_int_equal(mv_mem_calls(s, MV_MEM_GET), 1);
	mv_backend_close(b);
	mv_mem_store_free(s);
}

static int count_entries(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	++*(int *)arg;
	return 0;
}

static void test_retry__listing_is_retried_only_before_entries(void **state)
{
	(void)state;
	struct mv_mem_store *s = mv_mem_store_new();
	struct mv_backend *m, *b;
	struct mv_error e = {0};
	uint8_t p[10];
	char name[65];
	int n = 0;
	assert_int_equal(mv_backend_mem_open(s, &m, &e), 0);
	assert_int_equal(mv_backend_retry_wrap(m, &fast, &b, &e), 0);
	make_obj(p, sizeof(p), 2, name);
	assert_int_equal(b->ops->put(b, MV_FT_INDEX, name, p, sizeof(p), 0, &e), 0);
	struct mv_mem_fault f = {MV_MEM_FAULT_TRANSIENT, MV_MEM_LIST, -1, 1, 1, 0};
	mv_mem_fault_set(s, &f);
	assert_int_equal(b->ops->list(b, MV_FT_INDEX, count_entries, &n, &e), 0);
	assert_int_equal(n, 1); /* delivered once */
	mv_backend_close(b);
	mv_mem_store_free(s);
}

/* The flag is set by a signal handler, as in the program. */
static volatile sig_atomic_t cancel_flag;

static void on_alarm(int sig)
{
	(void)sig;
	cancel_flag = 1;
}

static void test_retry__cancel_stops_the_wait(void **state)
{
	(void)state;
	struct mv_mem_store *s = mv_mem_store_new();
	struct mv_backend *m, *b;
	struct mv_error e = {0};
	uint8_t q[4];
	struct timespec t0, t1;
	/* backoffs of up to 20 s that the flag must cut short */
	struct mv_retry_params slow = {.attempts = 5, .base_ns = 20000000000ull};
	assert_int_equal(mv_backend_mem_open(s, &m, &e), 0);
	assert_int_equal(mv_backend_retry_wrap(m, &slow, &b, &e), 0);
	mv_backend_set_cancel(b, &cancel_flag);
	assert_ptr_equal(m->cancel, &cancel_flag);
	struct mv_mem_fault f = {MV_MEM_FAULT_TRANSIENT, -1, -1, 1, 0, 0};
	mv_mem_fault_set(s, &f);
	struct sigaction sa = {.sa_handler = on_alarm};
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	struct itimerval it = {.it_value = {0, 100000}};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(b->ops->get(b, MV_FT_PACK, "00", 0, q, 1, &e), MV_ERR_INTERRUPTED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	/* the call was made, then the wait was cut */
	assert_true(mv_mem_calls(s, MV_MEM_GET) >= 1);
	mv_backend_close(b);
	mv_mem_store_free(s);
}

struct cache_fix {
	char dir[64], cdir[128];
	struct mv_mem_store *s;
	struct mv_backend *b;
};

static void cache_open(struct cache_fix *c)
{
	struct mv_error e = {0};
	struct mv_backend *m;
	snprintf(c->dir, sizeof(c->dir), "/tmp/mvcache.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->cdir, sizeof(c->cdir), "%s/c/repo1", c->dir);
	c->s = mv_mem_store_new();
	assert_int_equal(mv_backend_mem_open(c->s, &m, &e), 0);
	assert_int_equal(mv_backend_cache_wrap(m, c->cdir, &c->b, &e), 0);
}

static void cache_close(struct cache_fix *c)
{
	char cmd[128];
	mv_backend_close(c->b);
	mv_mem_store_free(c->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
	assert_int_equal(system(cmd), 0);
}

static void test_cache__serves_metadata_from_disk(void **state)
{
	(void)state;
	struct cache_fix c;
	struct mv_error e = {0};
	uint8_t p[500], *q;
	size_t qlen;
	char name[65], pack[65], path[256];
	cache_open(&c);
	make_obj(p, sizeof(p), 3, name);
	make_obj(p, 300, 4, pack);
	assert_int_equal(c.b->ops->put(c.b, MV_FT_PACK, pack, p, 300, 0, &e), 0);
	make_obj(p, sizeof(p), 3, name);
	assert_int_equal(c.b->ops->put(c.b, MV_FT_INDEX, name, p, sizeof(p), 0, &e), 0);
	/* kept as stored, named as in the repository */
	snprintf(path, sizeof(path), "%s/index/%s", c.cdir, name);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(p));

	mv_mem_calls_reset(c.s);
	assert_int_equal(mv_backend_get_all(c.b, MV_FT_INDEX, name, 1000, &q, &qlen, &e), 0);
	assert_memory_equal(q, p, sizeof(p));
	free(q);
	assert_int_equal(mv_mem_calls_total(c.s), 0); /* no request */
	assert_int_equal(mv_backend_cache_hits(c.b), 1);
	/* packs pass through */
	assert_int_equal(mv_backend_get_all(c.b, MV_FT_PACK, pack, 1000, &q, &qlen, &e), 0);
	free(q);
	assert_int_equal(mv_mem_calls(c.s, MV_MEM_GET), 1);

	/* a damaged copy is dropped and read again from the repository */
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	fputc(p[0] ^ 1, fp);
	fclose(fp);
	mv_mem_calls_reset(c.s);
	assert_int_equal(
	    mv_backend_get_sized(c.b, MV_FT_INDEX, name, sizeof(p), 1000, &q, &qlen, &e), 0);
	assert_memory_equal(q, p, sizeof(p));
	free(q);
	assert_int_equal(mv_mem_calls(c.s, MV_MEM_GET), 1);
	assert_int_equal(stat(path, &st), 0); /* and kept again, intact */
	mv_mem_calls_reset(c.s);
	assert_int_equal(
	    mv_backend_get_sized(c.b, MV_FT_INDEX, name, sizeof(p), 1000, &q, &qlen, &e), 0);
	free(q);
	assert_int_equal(mv_mem_calls(c.s, MV_MEM_GET), 0);

	/* removed elsewhere: the next listing drops the copy */
	struct mv_backend *other;
	assert_int_equal(mv_backend_mem_open(c.s, &other, &e), 0);
	assert_int_equal(other->ops->remove(other, MV_FT_INDEX, name, &e), 0);
	mv_backend_close(other);
	int n = 0;
	assert_int_equal(c.b->ops->list(c.b, MV_FT_INDEX, count_entries, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(c.b->ops->get(c.b, MV_FT_INDEX, name, 0, p, 1, &e), MV_ERR_NOTFOUND);
	cache_close(&c);
}

static void test_cache__reads_fill_it(void **state)
{
	(void)state;
	struct cache_fix c;
	struct mv_error e = {0};
	struct mv_backend *other;
	uint8_t p[200], q[200];
	char name[65];
	cache_open(&c);
	make_obj(p, sizeof(p), 5, name);
	/* written by another client */
	assert_int_equal(mv_backend_mem_open(c.s, &other, &e), 0);
	assert_int_equal(other->ops->put(other, MV_FT_SNAPSHOT, name, p, sizeof(p), 0, &e), 0);
	mv_backend_close(other);
	/* a part is not kept (its hash is not the name), the whole is */
	assert_int_equal(c.b->ops->get(c.b, MV_FT_SNAPSHOT, name, 0, q, 10, &e), 0);
	assert_int_equal(mv_backend_cache_hits(c.b), 0);
	assert_int_equal(c.b->ops->get(c.b, MV_FT_SNAPSHOT, name, 0, q, sizeof(q), &e), 0);
	mv_mem_calls_reset(c.s);
	assert_int_equal(c.b->ops->get(c.b, MV_FT_SNAPSHOT, name, 50, q, 20, &e), 0);
	assert_memory_equal(q, p + 50, 20);
	assert_int_equal(mv_mem_calls_total(c.s), 0);
	assert_int_equal(mv_backend_cache_hits(c.b), 1);
	cache_close(&c);
}

static struct mv_mem_store *reg_store;

static int mem_ctor(void *arg, const char *rest, struct mv_backend **out, struct mv_error *err)
{
	assert_string_equal(rest, "unit");
	return mv_backend_mem_open(arg, out, err);
}

static void test_registry__schemes(void **state)
{
	(void)state;
	struct mv_backend *b;
	struct mv_error e = {0};
	assert_int_equal(mv_backend_open("sftp:host/x", &b, &e), MV_ERR_USAGE);
	assert_string_equal(e.msg, "'sftp:host/x': sftp and s3 repositories are not supported yet");
	assert_int_equal(mv_backend_open("s3:bucket", &b, &e), MV_ERR_USAGE);
	assert_int_equal(mv_backend_open("", &b, &e), MV_ERR_USAGE);
	assert_int_equal(mv_backend_open("local:", &b, &e), MV_ERR_USAGE);
	/* not registered yet: a folder named "mem:unit" */
	assert_int_equal(mv_backend_open("mem:unit", &b, &e), 0);
	assert_int_equal(b->props.local, 1);
	assert_string_equal(b->location, "mem:unit");
	mv_backend_close(b);

	reg_store = mv_mem_store_new();
	assert_int_equal(mv_backend_register("mem", mem_ctor, reg_store), 0);
	assert_int_equal(mv_backend_register("local", mem_ctor, reg_store), MV_ERR_USAGE);
	assert_int_equal(mv_backend_register("Bad:", mem_ctor, reg_store), MV_ERR_USAGE);
	assert_int_equal(mv_backend_open("mem:unit", &b, &e), 0);
	assert_int_equal(b->props.local, 0);
	assert_non_null(b->under); /* under the retry layer */
	assert_int_equal(b->ops->put(b, MV_FT_CONFIG, "config", "x", 1, 1, &e), 0);
	assert_int_equal(mv_mem_count(reg_store, MV_FT_CONFIG), 1);
	mv_backend_close(b);
	mv_backend_unregister("mem");
	mv_mem_store_free(reg_store);

	assert_int_equal(mv_backend_open("local:/tmp/x/", &b, &e), 0);
	assert_string_equal(b->location, "/tmp/x");
	assert_int_equal(b->props.local, 1);
	mv_backend_close(b);
}

static void test_mem__faults(void **state)
{
	(void)state;
	struct mv_mem_store *s = mv_mem_store_new();
	struct mv_backend *b;
	struct mv_error e = {0};
	uint8_t p[64], q[64];
	char name[65];
	uint64_t size;
	assert_int_equal(mv_backend_mem_open(s, &b, &e), 0);
	make_obj(p, sizeof(p), 6, name);

	/* the 2nd put fails with ENOSPC, nothing stored */
	struct mv_mem_fault f = {MV_MEM_FAULT_NOSPC, MV_MEM_PUT, -1, 2, 1, 0};
	mv_mem_fault_set(s, &f);
	assert_int_equal(b->ops->put(b, MV_FT_INDEX, name, p, sizeof(p), 0, &e), 0);
	assert_int_equal(b->ops->put(b, MV_FT_PACK, name, p, sizeof(p), 0, &e), MV_ERR_NOSPC);
	assert_int_equal(e.saved_errno, ENOSPC);
	assert_int_equal(b->ops->size(b, MV_FT_PACK, name, &size, &e), MV_ERR_NOTFOUND);
	assert_int_equal(b->ops->put(b, MV_FT_PACK, name, p, sizeof(p), 0, &e), 0);
	assert_int_equal(mv_mem_fault_hits(s), 1);

	/* every get of packs: EIO; indexes untouched */
	f = (struct mv_mem_fault){MV_MEM_FAULT_EIO, MV_MEM_GET, MV_FT_PACK, 1, 0, 0};
	mv_mem_fault_set(s, &f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(b->ops->get(b, MV_FT_PACK, name, 0, q, 8, &e), MV_ERR_IO);
	assert_int_equal(b->ops->get(b, MV_FT_INDEX, name, 0, q, 8, &e), 0);

	/* a short read; flipped bytes on read (the object stays intact) */
	f = (struct mv_mem_fault){MV_MEM_FAULT_SHORT, MV_MEM_GET, -1, 1, 1, 0};
	mv_mem_fault_set(s, &f);
	assert_int_equal(b->ops->get(b, MV_FT_INDEX, name, 0, q, 8, &e), MV_ERR_INTEGRITY);
	f.kind = MV_MEM_FAULT_FLIP;
	mv_mem_fault_set(s, &f);
	assert_int_equal(b->ops->get(b, MV_FT_INDEX, name, 0, q, sizeof(q), &e), 0);
	assert_memory_not_equal(q, p, sizeof(p));
	assert_int_equal(b->ops->get(b, MV_FT_INDEX, name, 0, q, sizeof(q), &e), 0);
	assert_memory_equal(q, p, sizeof(p));

	/* flipped bytes on write: lasting damage */
	f = (struct mv_mem_fault){MV_MEM_FAULT_FLIP, MV_MEM_PUT, -1, 1, 1, 0};
	mv_mem_fault_set(s, &f);
	assert_int_equal(b->ops->put(b, MV_FT_SNAPSHOT, name, p, sizeof(p), 0, &e), 0);
	mv_mem_fault_clear(s);
	assert_int_equal(b->ops->get(b, MV_FT_SNAPSHOT, name, 0, q, sizeof(q), &e), 0);
	assert_memory_not_equal(q, p, sizeof(p));

	/* transient */
	f = (struct mv_mem_fault){MV_MEM_FAULT_TRANSIENT, MV_MEM_LIST, -1, 1, 1, 0};
	mv_mem_fault_set(s, &f);
	int n = 0;
	assert_int_equal(b->ops->list(b, MV_FT_PACK, count_entries, &n, &e), MV_ERR_TRANSIENT);
	assert_int_equal(b->ops->list(b, MV_FT_PACK, count_entries, &n, &e), 0);
	assert_int_equal(n, 1);
	mv_backend_close(b);
	mv_mem_store_free(s);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry__transient_errors_are_retried),
	    cmocka_unit_test(test_retry__listing_is_retried_only_before_entries),
	    cmocka_unit_test(test_retry__cancel_stops_the_wait),
	    cmocka_unit_test(test_cache__serves_metadata_from_disk),
	    cmocka_unit_test(test_cache__reads_fill_it),
	    cmocka_unit_test(test_registry__schemes),
	    cmocka_unit_test(test_mem__faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
