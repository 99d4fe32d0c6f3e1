/* Unit tests of the FastCDC chunker (core/repo/chunker.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/repo/chunker.h"
#include "tests/unit/testutil.h"

#define MiB (1u << 20)

static const struct mv_chunker_params small = {2u << 10, 8u << 10, 64u << 10};
static const struct mv_chunker_params defaults = {MV_CHUNK_MIN_DEFAULT, MV_CHUNK_AVG_DEFAULT,
                                                  MV_CHUNK_MAX_DEFAULT};

static void fill_key(uint8_t key[MV_KEY_LEN], uint8_t v)
{
	for (size_t i = 0; i < MV_KEY_LEN; i++)
		key[i] = (uint8_t)(v + 31 * i);
}

struct cuts {
	size_t *len;
	size_t count;
	size_t cap;
};

static void cuts_push(struct cuts *c, size_t len)
{
	if (c->count == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->len = realloc(c->len, c->cap * sizeof(*c->len));
		assert_non_null(c->len);
	}
	c->len[c->count++] = len;
}

static void cuts_free(struct cuts *c)
{
	free(c->len);
	memset(c, 0, sizeof(*c));
}

/* Chunks a whole buffer presented at once (eof set). */
static struct cuts chunk_all(const struct mv_chunker *ch, const uint8_t *data, size_t n)
{
	struct cuts c = {0};
	size_t off = 0;

	while (off < n) {
		size_t len = mv_chunker_next(ch, data + off, n - off, 1);
		assert_true(len > 0);
		assert_true(len <= n - off);
		cuts_push(&c, len);
		off += len;
	}
	assert_int_equal(mv_chunker_next(ch, data + off, 0, 1), 0);
	return c;
}

static struct mv_chunker *new_chunker(uint8_t keyv, const struct mv_chunker_params *p)
{
	uint8_t key[MV_KEY_LEN];

	fill_key(key, keyv);
	struct mv_chunker *ch = mv_chunker_new(key, p);
	assert_non_null(ch);
	return ch;
}

static void test_chunker__rejects_bad_params(void **state)
{
	(void)state;
	uint8_t key[MV_KEY_LEN];
	struct mv_chunker_params p;

	fill_key(key, 1);
	p = (struct mv_chunker_params){63, 8192, 65536}; /* min < 64 */
	assert_null(mv_chunker_new(key, &p));
	p = (struct mv_chunker_params){2048, 8000, 65536}; /* avg not a power of two */
	assert_null(mv_chunker_new(key, &p));
	p = (struct mv_chunker_params){8192, 8192, 65536}; /* min == avg */
	assert_null(mv_chunker_new(key, &p));
	p = (struct mv_chunker_params){2048, 8192, 8192}; /* avg == max */
	assert_null(mv_chunker_new(key, &p));
	p = (struct mv_chunker_params){2048, 8192, (64u << 20) + 1}; /* max > 64 MiB */
	assert_null(mv_chunker_new(key, &p));
	assert_null(mv_chunker_new(key, NULL));
	p = (struct mv_chunker_params){64, 128, 64u << 20}; /* extremes are fine */
	struct mv_chunker *ch = mv_chunker_new(key, &p);
	assert_non_null(ch);
	mv_chunker_free(ch);
	mv_chunker_free(NULL);
}

static void test_chunker__small_inputs(void **state)
{
	(void)state;
	struct mv_chunker *ch = new_chunker(1, &small);
	uint8_t *data = tu_random_data(small.min + 10, 7);

	assert_int_equal(mv_chunker_next(ch, data, 0, 0), 0);
	assert_int_equal(mv_chunker_next(ch, data, 0, 1), 0);
	assert_int_equal(mv_chunker_next(ch, data, 1, 1), 1);
	assert_int_equal(mv_chunker_next(ch, data, 1, 0), 0);
	assert_int_equal(mv_chunker_next(ch, data, small.min, 0), 0);
	assert_int_equal(mv_chunker_next(ch, data, small.min, 1), small.min);
	/* min + 10 bytes of random data: a cut in 10 hashed bytes is very
	 * unlikely (2^-15 each); without eof the chunker must ask for more. */
	size_t r = mv_chunker_next(ch, data, small.min + 10, 0);
	assert_true(r == 0 || (r > small.min && r <= small.min + 10));
	assert_int_equal(mv_chunker_next(ch, data, small.min + 10, 1), r ? r : small.min + 10);
	free(data);
	mv_chunker_free(ch);
}

static void test_chunker__deterministic(void **state)
{
	(void)state;
	size_t n = 8 * MiB;
	uint8_t *data = tu_random_data(n, 1);
	struct mv_chunker *a = new_chunker(5, &small);
	struct mv_chunker *b = new_chunker(5, &small);
	struct cuts ca = chunk_all(a, data, n);
	struct cuts cb = chunk_all(b, data, n);

	assert_true(ca.count > 100);
	assert_int_equal(ca.count, cb.count);
	assert_memory_equal(ca.len, cb.len, ca.count * sizeof(*ca.len));
	cuts_free(&ca);
	cuts_free(&cb);
	mv_chunker_free(a);
	mv_chunker_free(b);
	free(data);
}

static void test_chunker__key_changes_cuts(void **state)
{
	(void)state;
	size_t n = 8 * MiB;
	uint8_t *data = tu_random_data(n, 2);
	struct mv_chunker *a = new_chunker(5, &small);
	struct mv_chunker *b = new_chunker(6, &small);
	struct cuts ca = chunk_all(a, data, n);
	struct cuts cb = chunk_all(b, data, n);

	/* Count cut offsets the two keys share. */
	size_t i = 0, j = 0, oa = 0, ob = 0, shared = 0;
	while (i < ca.count && j < cb.count) {
		size_t na = oa + ca.len[i], nb = ob + cb.len[j];
		if (na == nb)
			shared++;
		if (na <= nb) {
			oa = na;
			i++;
		}
		if (nb <= na) {
			ob = nb;
			j++;
		}
	}
	/* Only the final cut (end of data) and rare coincidences. */
	assert_true(shared < ca.count / 10);
	cuts_free(&ca);
	cuts_free(&cb);
	mv_chunker_free(a);
	mv_chunker_free(b);
	free(data);
}

static void check_bounds(const struct cuts *c, const struct mv_chunker_params *p, size_t total)
{
	size_t sum = 0;

	for (size_t i = 0; i < c->count; i++) {
		if (i + 1 < c->count)
			assert_true(c->len[i] >= p->min);
		assert_true(c->len[i] >= 1);
		assert_true(c->len[i] <= p->max);
		sum += c->len[i];
	}
	assert_int_equal(sum, total);
}

static void test_chunker__bounds_and_average_small(void **state)
{
	(void)state;
	size_t n = 64 * MiB;
	uint8_t *data = tu_random_data(n, 3);
	struct mv_chunker *ch = new_chunker(9, &small);
	struct cuts c = chunk_all(ch, data, n);

	check_bounds(&c, &small, n);
	double mean = (double)n / (double)c.count;
	assert_true(mean >= 0.7 * small.avg);
	assert_true(mean <= 1.3 * small.avg);
	/* Random data: cuts are content-defined, not forced at max. */
	size_t at_max = 0;
	for (size_t i = 0; i < c.count; i++)
		at_max += c.len[i] == small.max;
	assert_true(at_max < c.count / 100);
	cuts_free(&c);
	mv_chunker_free(ch);
	free(data);
}

static void test_chunker__bounds_and_average_defaults(void **state)
{
	(void)state;
	size_t n = 32 * MiB;
	uint8_t *data = tu_random_data(n, 4);
	struct mv_chunker *ch = new_chunker(10, &defaults);
	struct cuts c = chunk_all(ch, data, n);

	check_bounds(&c, &defaults, n);
	double mean = (double)n / (double)c.count;
	assert_true(mean >= 0.7 * defaults.avg);
	assert_true(mean <= 1.3 * defaults.avg);
	cuts_free(&c);
	mv_chunker_free(ch);
	free(data);
}

static void test_chunker__zeros_cut_at_max(void **state)
{
	(void)state;
	const struct mv_chunker_params *ps[] = {&small, &defaults};

	for (size_t k = 0; k < 2; k++) {
		const struct mv_chunker_params *p = ps[k];
		size_t n = 3 * (size_t)p->max + 12345;
		uint8_t *data = calloc(n, 1);
		assert_non_null(data);
		struct mv_chunker *ch = new_chunker(11, p);
		struct cuts c = chunk_all(ch, data, n);

		assert_int_equal(c.count, 4);
		for (size_t i = 0; i < 3; i++)
			assert_int_equal(c.len[i], p->max);
		assert_int_equal(c.len[3], 12345);
		/* With more data to come, a full max-sized buffer still cuts. */
		assert_int_equal(mv_chunker_next(ch, data, p->max, 0), p->max);
		assert_int_equal(mv_chunker_next(ch, data, p->max - 1, 0), 0);
		cuts_free(&c);
		mv_chunker_free(ch);
		free(data);
	}
}

/* Feeds the stream in pieces of pseudo-random sizes, as a reader would, and
 * checks that the cuts equal those of the whole buffer at once. */
static void stream_and_compare(const struct mv_chunker *ch, const struct mv_chunker_params *p,
                               const uint8_t *data, size_t n, size_t max_piece, uint32_t rng)
{
	struct cuts whole = chunk_all(ch, data, n);
	struct cuts got = {0};
	size_t start = 0, avail = 0; /* window [start, start + avail) */

	for (;;) {
		int eof = start + avail == n;
		size_t len = mv_chunker_next(ch, data + start, avail, eof);
		if (len) {
			assert_true(len <= avail);
			cuts_push(&got, len);
			start += len;
			avail -= len;
			continue;
		}
		if (eof) {
			assert_int_equal(avail, 0);
			break;
		}
		/* The chunker may only ask for more below max bytes. */
		assert_true(avail < p->max);
		rng = rng * 1103515245u + 12345u;
		size_t piece = 1 + (rng >> 8) % max_piece;
		if (piece > n - start - avail)
			piece = n - start - avail;
		avail += piece;
	}
	assert_int_equal(got.count, whole.count);
	assert_memory_equal(got.len, whole.len, whole.count * sizeof(*whole.len));
	cuts_free(&got);
	cuts_free(&whole);
}

static void test_chunker__need_more_protocol(void **state)
{
	(void)state;
	size_t n = 2 * MiB + 777;
	uint8_t *data = tu_random_data(n, 5);
	struct mv_chunker *ch = new_chunker(12, &small);

	stream_and_compare(ch, &small, data, n, 4096, 1);
	stream_and_compare(ch, &small, data, n, 97, 2);
	stream_and_compare(ch, &small, data, n, 100000, 3);
	free(data);
	mv_chunker_free(ch);

	/* Zeros: every cut is forced at max, reached through small reads. */
	uint8_t *zeros = calloc(n, 1);
	assert_non_null(zeros);
	ch = new_chunker(12, &small);
	stream_and_compare(ch, &small, zeros, n, 5000, 4);
	free(zeros);
	mv_chunker_free(ch);
}

/* Fraction of chunks of `b` that start at or after `from` and also occur in
 * `a` (same bytes at an offset shifted by delta). */
static double shared_after(const struct cuts *a, const struct cuts *b, size_t from, long delta)
{
	size_t total = 0, shared = 0, i = 0, oa = 0, ob = 0;

	for (size_t j = 0; j < b->count; j++) {
		if (ob >= from) {
			total++;
			long want = (long)ob - delta;
			while (i < a->count && (long)oa < want) {
				oa += a->len[i];
				i++;
			}
			if (i < a->count && (long)oa == want && a->len[i] == b->len[j])
				shared++;
		}
		ob += b->len[j];
	}
	assert_true(total > 0);
	return (double)shared / (double)total;
}

static void test_chunker__boundaries_survive_insertion(void **state)
{
	(void)state;
	size_t n = 16 * MiB;
	uint8_t *data = tu_random_data(n, 6);
	struct mv_chunker *ch = new_chunker(13, &small);
	struct cuts orig = chunk_all(ch, data, n);

	/* Insert 7 bytes at offset 1000, then delete 5 bytes at 3 MiB. */
	size_t ins_at = 1000, ins = 7;
	uint8_t *mod = malloc(n + ins);
	assert_non_null(mod);
	memcpy(mod, data, ins_at);
	memcpy(mod + ins_at, "INSERT!", ins);
	memcpy(mod + ins_at + ins, data + ins_at, n - ins_at);
	struct cuts c1 = chunk_all(ch, mod, n + ins);
	/* The chunk holding the insertion (and maybe the next) changes. */
	assert_true(shared_after(&orig, &c1, ins_at + ins + 2 * small.max, (long)ins) >= 0.9);

	size_t del_at = 3 * MiB, del = 5;
	memcpy(mod, data, del_at);
	memcpy(mod + del_at, data + del_at + del, n - del_at - del);
	struct cuts c2 = chunk_all(ch, mod, n - del);
	assert_true(shared_after(&orig, &c2, del_at + 2 * small.max, -(long)del) >= 0.9);
	/* Chunks before the deletion point are untouched. */
	size_t off = 0, same_before = 0, before = 0;
	for (size_t i = 0; i < c2.count && off + c2.len[i] <= del_at; i++) {
		before++;
		same_before += c2.len[i] == orig.len[i];
		off += c2.len[i];
	}
	assert_true(before > 0);
	assert_int_equal(same_before, before);

	cuts_free(&orig);
	cuts_free(&c1);
	cuts_free(&c2);
	mv_chunker_free(ch);
	free(mod);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chunker__rejects_bad_params),
	    cmocka_unit_test(test_chunker__small_inputs),
	    cmocka_unit_test(test_chunker__deterministic),
	    cmocka_unit_test(test_chunker__key_changes_cuts),
	    cmocka_unit_test(test_chunker__bounds_and_average_small),
	    cmocka_unit_test(test_chunker__bounds_and_average_defaults),
	    cmocka_unit_test(test_chunker__zeros_cut_at_max),
	    cmocka_unit_test(test_chunker__need_more_protocol),
	    cmocka_unit_test(test_chunker__boundaries_survive_insertion),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
