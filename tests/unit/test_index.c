/* Pack header and index payloads (formats/index.c, FORMAT.md 6, 7, 11). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "formats/index.h"

#define WMAX (64u << 20)

/* ---- helpers ---------------------------------------------------------- */

struct collect {
	struct mv_index_entry e[64];
	uint8_t pack[64][32];
	size_t n;
	size_t stop_at; /* return stop_rc when n reaches this (0: never) */
	int stop_rc;
};

static int collect_hdr(void *arg, const struct mv_index_entry *e)
{
	struct collect *c = arg;
	assert_true(c->n < 64);
	c->e[c->n++] = *e;
	return c->stop_at && c->n == c->stop_at ? c->stop_rc : 0;
}

static int collect_idx(void *arg, const uint8_t pack_id[32], const struct mv_index_entry *e)
{
	struct collect *c = arg;
	assert_true(c->n < 64);
	memcpy(c->pack[c->n], pack_id, 32);
	c->e[c->n++] = *e;
	return c->stop_at && c->n == c->stop_at ? c->stop_rc : 0;
}

static struct mv_index_entry entry(uint8_t type, uint8_t idb, uint32_t off, uint32_t len,
                                   uint32_t raw)
{
	struct mv_index_entry e;
	e.type = type;
	memset(e.id, idb, 32);
	e.offset = off;
	e.length = len;
	e.raw_length = raw;
	return e;
}

static void assert_entry_equal(const struct mv_index_entry *a, const struct mv_index_entry *b)
{
	assert_int_equal(a->type, b->type);
	assert_memory_equal(a->id, b->id, 32);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->length, b->length);
	assert_int_equal(a->raw_length, b->raw_length);
}

/* Writes an entry without any validation. */
static void raw_entry(struct mv_wbuf *w, uint8_t type, uint32_t off, uint32_t len, uint32_t raw)
{
	uint8_t id[32];
	memset(id, type, 32);
	mv_wbuf_u8(w, type);
	mv_wbuf_put(w, id, 32);
	mv_wbuf_u32(w, off);
	mv_wbuf_u32(w, len);
	mv_wbuf_u32(w, raw);
}

static int hdr_decode(struct mv_wbuf *w, uint64_t data_len)
{
	struct collect c = {0};
	assert_false(w->failed);
	int rc = mv_packhdr_decode(w->data, w->len, data_len, collect_hdr, &c);
	if (rc == MV_FMT_MALFORMED)
		assert_int_equal(c.n, 0); /* malformed input never reaches cb */
	return rc;
}

static int hdr_one(uint8_t type, uint32_t off, uint32_t len, uint32_t raw, uint64_t data_len)
{
	struct mv_wbuf w;
	mv_wbuf_init(&w, WMAX);
	mv_wbuf_u32(&w, 1);
	raw_entry(&w, type, off, len, raw);
	int rc = hdr_decode(&w, data_len);
	mv_wbuf_release(&w);
	return rc;
}

static int hdr_two(uint32_t off1, uint32_t len1, uint32_t off2, uint32_t len2)
{
	struct mv_wbuf w;
	mv_wbuf_init(&w, WMAX);
	mv_wbuf_u32(&w, 2);
	raw_entry(&w, 1, off1, len1, 10);
	raw_entry(&w, 2, off2, len2, 10);
	int rc = hdr_decode(&w, UINT64_MAX);
	mv_wbuf_release(&w);
	return rc;
}

static const struct mv_index_entry sample[] = {
    {1, {0x11}, 0, 45, 0},             /* smallest frame, empty blob */
    {2, {0x22}, 45, 1000, 5000},       /* back to back */
    {3, {0x33}, 2000, 300, 64u << 20}, /* after a gap, raw at the limit */
    {1, {0x44}, 2300, 0xffff, 123456},
};
#define NSAMPLE    (sizeof(sample) / sizeof(sample[0]))
#define SAMPLE_END (2300u + 0xffffu)

/* ---- pack header ------------------------------------------------------- */

static void test_index__packhdr_round_trip(void **state)
{
	(void)state;
	struct mv_wbuf w, w2;
	struct collect c = {0};

	mv_wbuf_init(&w, WMAX);
	mv_packhdr_encode(sample, NSAMPLE, &w);
	assert_false(w.failed);
	assert_int_equal(w.len, 4 + NSAMPLE * MV_INDEX_ENTRY_LEN);
	assert_int_equal(mv_packhdr_decode(w.data, w.len, SAMPLE_END, collect_hdr, &c), 0);
	assert_int_equal(c.n, NSAMPLE);
	for (size_t i = 0; i < NSAMPLE; i++)
		assert_entry_equal(&c.e[i], &sample[i]);
	mv_wbuf_init(&w2, WMAX);
	mv_packhdr_encode(c.e, c.n, &w2);
	assert_false(w2.failed);
	assert_int_equal(w2.len, w.len);
	assert_memory_equal(w2.data, w.data, w.len);
	/* cb may be NULL: validate only. */
	assert_int_equal(mv_packhdr_decode(w.data, w.len, SAMPLE_END, NULL, NULL), 0);
	mv_wbuf_release(&w);
	mv_wbuf_release(&w2);
}

static void test_index__packhdr_golden_bytes(void **state)
{
	(void)state;
	struct mv_index_entry e = entry(2, 0xab, 0x01020304, 0x0000002d, 0x03000c0d);
	uint8_t expect[4 + 45];
	struct mv_wbuf w;

	memcpy(expect, "\x01\x00\x00\x00\x02", 5);
	memset(expect + 5, 0xab, 32);
	memcpy(expect + 37, "\x04\x03\x02\x01\x2d\x00\x00\x00\x0d\x0c\x00\x03", 12);
	mv_wbuf_init(&w, WMAX);
	mv_packhdr_encode(&e, 1, &w);
	assert_int_equal(w.len, sizeof(expect));
	assert_memory_equal(w.data, expect, sizeof(expect));
	mv_wbuf_release(&w);
}

static void test_index__packhdr_empty(void **state)
{
	(void)state;
	static const uint8_t zero[4] = {0};
	struct mv_wbuf w;
	struct collect c = {0};

	mv_wbuf_init(&w, WMAX);
	mv_packhdr_encode(NULL, 0, &w);
	assert_false(w.failed);
	assert_int_equal(w.len, 4);
	assert_memory_equal(w.data, zero, 4);
	assert_int_equal(mv_packhdr_decode(w.data, w.len, 0, collect_hdr, &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(mv_packhdr_decode(NULL, 0, 0, collect_hdr, &c), MV_FMT_MALFORMED);
	mv_wbuf_release(&w);
}

static void test_index__packhdr_data_len_bound(void **state)
{
	(void)state;
	struct mv_wbuf w;

	mv_wbuf_init(&w, WMAX);
	mv_packhdr_encode(sample, NSAMPLE, &w);
	assert_int_equal(hdr_decode(&w, SAMPLE_END), 0);
	assert_int_equal(hdr_decode(&w, SAMPLE_END + 1000), 0);
	assert_int_equal(hdr_decode(&w, SAMPLE_END - 1), MV_FMT_MALFORMED);
	assert_int_equal(hdr_decode(&w, 0), MV_FMT_MALFORMED);
	mv_wbuf_release(&w);
	/* offset + length past 4 GiB neither wraps nor fits a smaller pack. */
	assert_int_equal(hdr_one(1, 0xffffff00u, 0x200, 1, 0xffffffffu), MV_FMT_MALFORMED);
	assert_int_equal(hdr_one(1, 0xffffff00u, 0x200, 1, 0x100000100ull), 0);
}

static void test_index__packhdr_truncation_at_every_offset(void **state)
{
	(void)state;
	struct mv_wbuf w;
	struct collect c = {0};

	mv_wbuf_init(&w, WMAX);
	mv_packhdr_encode(sample, NSAMPLE, &w);
	for (size_t cut = 0; cut < w.len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		assert_non_null(p);
		memcpy(p, w.data, cut);
		if (mv_packhdr_decode(p, cut, UINT64_MAX, collect_hdr, &c) != MV_FMT_MALFORMED)
			fail_msg("prefix of %zu bytes accepted", cut);
		assert_int_equal(c.n, 0);
		free(p);
	}
	mv_wbuf_release(&w);
}

static void test_index__packhdr_trailing_garbage_rejected(void **state)
{
	(void)state;
	struct mv_wbuf w;

	mv_wbuf_init(&w, WMAX);
	mv_packhdr_encode(sample, NSAMPLE, &w);
	mv_wbuf_u8(&w, 0);
	assert_int_equal(hdr_decode(&w, UINT64_MAX), MV_FMT_MALFORMED);
	mv_wbuf_release(&w);
	/* A count one lower than the entries present leaves 45 trailing bytes. */
	mv_wbuf_init(&w, WMAX);
	mv_packhdr_encode(sample, NSAMPLE, &w);
	w.data[0] = NSAMPLE - 1;
	assert_int_equal(hdr_decode(&w, UINT64_MAX), MV_FMT_MALFORMED);
	w.data[0] = NSAMPLE + 1;
	assert_int_equal(hdr_decode(&w, UINT64_MAX), MV_FMT_MALFORMED);
	mv_wbuf_release(&w);
}

static void test_index__packhdr_huge_count_rejected(void **state)
{
	(void)state;
	struct mv_wbuf w;
	static const uint32_t counts[] = {0xffffffffu, 0x80000000u, 0x05b05b06u, 2};

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		mv_wbuf_init(&w, WMAX);
		mv_wbuf_u32(&w, counts[i]);
		raw_entry(&w, 1, 0, 45, 1);
		assert_int_equal(hdr_decode(&w, UINT64_MAX), MV_FMT_MALFORMED);
		mv_wbuf_release(&w);
	}
}

static void test_index__packhdr_size_cap(void **state)
{
	(void)state;
	struct mv_wbuf w;
	/* The most entries that fit in MV_PACKHDR_MAX bytes, then one more. */
	const uint32_t fit = (MV_PACKHDR_MAX - 4) / MV_INDEX_ENTRY_LEN;

	for (uint32_t n = fit; n <= fit + 1; n++) {
		mv_wbuf_init(&w, WMAX);
		mv_wbuf_u32(&w, n);
		for (uint32_t i = 0; i < n; i++)
			raw_entry(&w, 1, i * 45u, 45, 1);
		assert_false(w.failed);
		assert_int_equal(mv_packhdr_decode(w.data, w.len, UINT64_MAX, NULL, NULL),
		                 n == fit ? 0 : MV_FMT_MALFORMED);
		mv_wbuf_release(&w);
	}
}

static void test_index__packhdr_entry_rules(void **state)
{
	(void)state;
	static const uint8_t bad_types[] = {0, 4, 16, 17, 18, 19, 255};

	for (uint8_t t = 1; t <= 3; t++)
		assert_int_equal(hdr_one(t, 0, 45, 1, UINT64_MAX), 0);
	for (size_t i = 0; i < sizeof(bad_types); i++)
		assert_int_equal(hdr_one(bad_types[i], 0, 45, 1, UINT64_MAX), MV_FMT_MALFORMED);
	/* Stored length: at least a sealed frame (24 + 5 + 16). */
	assert_int_equal(hdr_one(1, 0, 44, 0, UINT64_MAX), MV_FMT_MALFORMED);
	assert_int_equal(hdr_one(1, 0, 0, 0, UINT64_MAX), MV_FMT_MALFORMED);
	assert_int_equal(hdr_one(1, 0, 45, 0, UINT64_MAX), 0);
	/* Raw length: at most 64 MiB. */
	assert_int_equal(hdr_one(1, 0, 45, 64u << 20, UINT64_MAX), 0);
	assert_int_equal(hdr_one(1, 0, 45, (64u << 20) + 1, UINT64_MAX), MV_FMT_MALFORMED);
	assert_int_equal(hdr_one(1, 0, 45, 0xffffffffu, UINT64_MAX), MV_FMT_MALFORMED);
	/* Ordering: increasing, non-overlapping; gaps allowed. */
	assert_int_equal(hdr_two(0, 100, 100, 45), 0);
	assert_int_equal(hdr_two(0, 100, 500, 45), 0);
	assert_int_equal(hdr_two(0, 100, 99, 45), MV_FMT_MALFORMED);
	assert_int_equal(hdr_two(0, 100, 0, 100), MV_FMT_MALFORMED);
	assert_int_equal(hdr_two(200, 45, 100, 45), MV_FMT_MALFORMED);
	assert_int_equal(hdr_two(0xffffffc0u, 0x40, 0xffffffffu, 45), MV_FMT_MALFORMED);
}

static void test_index__packhdr_callback_stops(void **state)
{
	(void)state;
	struct mv_wbuf w;
	struct collect c = {0};

	c.stop_at = 2;
	c.stop_rc = 7;
	mv_wbuf_init(&w, WMAX);
	mv_packhdr_encode(sample, NSAMPLE, &w);
	assert_int_equal(mv_packhdr_decode(w.data, w.len, SAMPLE_END, collect_hdr, &c), 7);
	assert_int_equal(c.n, 2);
	mv_wbuf_release(&w);
}

static void test_index__packhdr_encode_refuses_invalid(void **state)
{
	(void)state;
	struct mv_index_entry e[2] = {entry(1, 1, 0, 100, 1), entry(1, 2, 50, 100, 1)};
	struct mv_wbuf w;

	mv_wbuf_init(&w, WMAX);
	mv_packhdr_encode(e, 2, &w); /* overlap */
	assert_true(w.failed);
	mv_wbuf_release(&w);
	e[1] = entry(16, 2, 100, 100, 1);
	mv_packhdr_encode(e, 2, &w); /* not a blob type */
	assert_true(w.failed);
	mv_wbuf_release(&w);
	e[1] = entry(1, 2, 100, 40, 1);
	mv_packhdr_encode(e, 2, &w); /* shorter than a frame */
	assert_true(w.failed);
	mv_wbuf_release(&w);
	e[1] = entry(1, 2, 100, 45, 1);
	mv_packhdr_encode(e, 2, &w);
	assert_false(w.failed);
	mv_wbuf_release(&w);
}

/* ---- index ------------------------------------------------------------- */

static const struct mv_index_entry pack_b[] = {
    {2, {0x55}, 0, 45, 7},
    {1, {0x66}, 45, 0xfffff000u, 64u << 20}, /* end past 4 GiB: no data_len check */
};

static void make_index(struct mv_wbuf *w)
{
	struct mv_index_pack packs[3];
	memset(packs, 0, sizeof(packs));
	memset(packs[0].id, 0xa0, 32);
	packs[0].entries = sample;
	packs[0].count = NSAMPLE;
	memset(packs[1].id, 0xb0, 32); /* a pack without blobs */
	memset(packs[2].id, 0xc0, 32);
	packs[2].entries = pack_b; /* offsets start over per pack */
	packs[2].count = 2;
	mv_wbuf_init(w, WMAX);
	mv_index_encode(packs, 3, w);
	assert_false(w->failed);
}

static int idx_decode(struct mv_wbuf *w)
{
	struct collect c = {0};
	assert_false(w->failed);
	int rc = mv_index_decode(w->data, w->len, collect_idx, &c);
	if (rc == MV_FMT_MALFORMED)
		assert_int_equal(c.n, 0);
	mv_wbuf_release(w);
	return rc;
}

static void test_index__index_round_trip(void **state)
{
	(void)state;
	struct mv_wbuf w, w2;
	struct collect c = {0};

	make_index(&w);
	assert_int_equal(w.len, 4 + 3 * 36 + (NSAMPLE + 2) * MV_INDEX_ENTRY_LEN);
	assert_int_equal(mv_index_decode(w.data, w.len, collect_idx, &c), 0);
	assert_int_equal(c.n, NSAMPLE + 2);
	for (size_t i = 0; i < NSAMPLE; i++) {
		uint8_t id[32];
		memset(id, 0xa0, 32);
		assert_memory_equal(c.pack[i], id, 32);
		assert_entry_equal(&c.e[i], &sample[i]);
	}
	for (size_t i = 0; i < 2; i++) {
		uint8_t id[32];
		memset(id, 0xc0, 32);
		assert_memory_equal(c.pack[NSAMPLE + i], id, 32);
		assert_entry_equal(&c.e[NSAMPLE + i], &pack_b[i]);
	}
	/* Rebuild the packs from what the callback saw (the empty pack is
	 * invisible to it, so compare the two visible packs' bytes). */
	struct mv_index_pack packs[3];
	memset(packs, 0, sizeof(packs));
	memset(packs[0].id, 0xa0, 32);
	packs[0].entries = c.e;
	packs[0].count = NSAMPLE;
	memset(packs[1].id, 0xb0, 32);
	memcpy(packs[2].id, c.pack[NSAMPLE], 32);
	packs[2].entries = c.e + NSAMPLE;
	packs[2].count = 2;
	mv_wbuf_init(&w2, WMAX);
	mv_index_encode(packs, 3, &w2);
	assert_int_equal(w2.len, w.len);
	assert_memory_equal(w2.data, w.data, w.len);
	assert_int_equal(mv_index_decode(w.data, w.len, NULL, NULL), 0);
	mv_wbuf_release(&w);
	mv_wbuf_release(&w2);
}

static void test_index__index_golden_bytes(void **state)
{
	(void)state;
	struct mv_index_entry e = entry(1, 0x0e, 9, 45, 3);
	struct mv_index_pack pk;
	uint8_t expect[4 + 36 + 45];
	struct mv_wbuf w;

	memset(&pk, 0, sizeof(pk));
	memset(pk.id, 0x9c, 32);
	pk.entries = &e;
	pk.count = 1;
	memcpy(expect, "\x01\x00\x00\x00", 4);
	memset(expect + 4, 0x9c, 32);
	memcpy(expect + 36, "\x01\x00\x00\x00\x01", 5);
	memset(expect + 41, 0x0e, 32);
	memcpy(expect + 73, "\x09\x00\x00\x00\x2d\x00\x00\x00\x03\x00\x00\x00", 12);
	mv_wbuf_init(&w, WMAX);
	mv_index_encode(&pk, 1, &w);
	assert_int_equal(w.len, sizeof(expect));
	assert_memory_equal(w.data, expect, sizeof(expect));
	mv_wbuf_release(&w);
}

static void test_index__index_empty(void **state)
{
	(void)state;
	struct mv_wbuf w;

	mv_wbuf_init(&w, WMAX);
	mv_index_encode(NULL, 0, &w);
	assert_int_equal(w.len, 4);
	assert_int_equal(idx_decode(&w), 0);
	assert_int_equal(mv_index_decode(NULL, 0, collect_idx, NULL), MV_FMT_MALFORMED);
}

static void test_index__index_truncation_at_every_offset(void **state)
{
	(void)state;
	struct mv_wbuf w;
	struct collect c = {0};

	make_index(&w);
	for (size_t cut = 0; cut < w.len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		assert_non_null(p);
		memcpy(p, w.data, cut);
		if (mv_index_decode(p, cut, collect_idx, &c) != MV_FMT_MALFORMED)
			fail_msg("prefix of %zu bytes accepted", cut);
		assert_int_equal(c.n, 0);
		free(p);
	}
	mv_wbuf_release(&w);
}

static void test_index__index_trailing_garbage_rejected(void **state)
{
	(void)state;
	struct mv_wbuf w;

	make_index(&w);
	mv_wbuf_u8(&w, 0);
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);
	make_index(&w);
	mv_wbuf_put(&w, (const uint8_t[36]){0}, 36); /* looks like an empty pack */
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);
}

static void test_index__index_huge_counts_rejected(void **state)
{
	(void)state;
	struct mv_wbuf w;
	uint8_t id[32] = {0};

	mv_wbuf_init(&w, WMAX);
	mv_wbuf_u32(&w, 0xffffffffu);
	mv_wbuf_put(&w, id, 32);
	mv_wbuf_u32(&w, 0);
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);

	mv_wbuf_init(&w, WMAX);
	mv_wbuf_u32(&w, 1);
	mv_wbuf_put(&w, id, 32);
	mv_wbuf_u32(&w, 0xffffffffu);
	raw_entry(&w, 1, 0, 45, 1);
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);

	mv_wbuf_init(&w, WMAX);
	mv_wbuf_u32(&w, 2); /* two packs declared, one present */
	mv_wbuf_put(&w, id, 32);
	mv_wbuf_u32(&w, 1);
	raw_entry(&w, 1, 0, 45, 1);
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);
}

static void idx_one_pack(struct mv_wbuf *w, uint32_t n)
{
	uint8_t id[32];
	memset(id, 0x77, 32);
	mv_wbuf_init(w, WMAX);
	mv_wbuf_u32(w, 1);
	mv_wbuf_put(w, id, 32);
	mv_wbuf_u32(w, n);
}

static void test_index__index_entry_rules(void **state)
{
	(void)state;
	struct mv_wbuf w;

	idx_one_pack(&w, 1);
	raw_entry(&w, 0, 0, 45, 1);
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);
	idx_one_pack(&w, 1);
	raw_entry(&w, 4, 0, 45, 1);
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);
	idx_one_pack(&w, 1);
	raw_entry(&w, 3, 0, 44, 1);
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);
	idx_one_pack(&w, 1);
	raw_entry(&w, 3, 0, 45, (64u << 20) + 1);
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);
	idx_one_pack(&w, 2); /* overlap */
	raw_entry(&w, 1, 0, 100, 1);
	raw_entry(&w, 1, 99, 100, 1);
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);
	idx_one_pack(&w, 2); /* decreasing */
	raw_entry(&w, 1, 1000, 100, 1);
	raw_entry(&w, 1, 0, 100, 1);
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);
	idx_one_pack(&w, 2); /* adjacent is fine */
	raw_entry(&w, 1, 0, 100, 1);
	raw_entry(&w, 2, 100, 100, 1);
	assert_int_equal(idx_decode(&w), 0);

	/* A malformed entry in the last pack keeps every cb from running. */
	struct mv_index_pack packs[2];
	memset(packs, 0, sizeof(packs));
	packs[0].entries = sample;
	packs[0].count = NSAMPLE;
	packs[1].entries = pack_b;
	packs[1].count = 2;
	mv_wbuf_init(&w, WMAX);
	mv_index_encode(packs, 2, &w);
	assert_false(w.failed);
	w.data[w.len - 45] = 9; /* last entry's type */
	assert_int_equal(idx_decode(&w), MV_FMT_MALFORMED);

	/* The encoder refuses the same. */
	struct mv_index_entry bad[2] = {entry(1, 1, 0, 100, 1), entry(1, 2, 0, 100, 1)};
	packs[1].entries = bad;
	mv_wbuf_init(&w, WMAX);
	mv_index_encode(packs, 2, &w);
	assert_true(w.failed);
	mv_wbuf_release(&w);
}

static void test_index__index_callback_stops(void **state)
{
	(void)state;
	struct mv_wbuf w;
	struct collect c = {0};

	c.stop_at = NSAMPLE + 1; /* first entry of the third pack */
	c.stop_rc = -9;
	make_index(&w);
	assert_int_equal(mv_index_decode(w.data, w.len, collect_idx, &c), -9);
	assert_int_equal(c.n, NSAMPLE + 1);
	mv_wbuf_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index__packhdr_round_trip),
	    cmocka_unit_test(test_index__packhdr_golden_bytes),
	    cmocka_unit_test(test_index__packhdr_empty),
	    cmocka_unit_test(test_index__packhdr_data_len_bound),
	    cmocka_unit_test(test_index__packhdr_truncation_at_every_offset),
	    cmocka_unit_test(test_index__packhdr_trailing_garbage_rejected),
	    cmocka_unit_test(test_index__packhdr_huge_count_rejected),
	    cmocka_unit_test(test_index__packhdr_size_cap),
	    cmocka_unit_test(test_index__packhdr_entry_rules),
	    cmocka_unit_test(test_index__packhdr_callback_stops),
	    cmocka_unit_test(test_index__packhdr_encode_refuses_invalid),
	    cmocka_unit_test(test_index__index_round_trip),
	    cmocka_unit_test(test_index__index_golden_bytes),
	    cmocka_unit_test(test_index__index_empty),
	    cmocka_unit_test(test_index__index_truncation_at_every_offset),
	    cmocka_unit_test(test_index__index_trailing_garbage_rejected),
	    cmocka_unit_test(test_index__index_huge_counts_rejected),
	    cmocka_unit_test(test_index__index_entry_rules),
	    cmocka_unit_test(test_index__index_callback_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
