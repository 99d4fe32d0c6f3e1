/* The key list payload (formats/keylist.c, FORMAT.md 4.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/keylist.h"

static void id_of(uint8_t id[32], uint8_t first)
{
	memset(id, 0x11, 32);
	id[0] = first;
}

static void encode(const struct mv_keylist *kl, struct mv_wbuf *w)
{
	mv_wbuf_init(w, 1u << 20);
	assert_int_equal(mv_keylist_encode(kl, w), 0);
}

static void test_keylist__add_keeps_order_and_round_trips(void **state)
{
	struct mv_keylist kl = {0}, back;
	struct mv_wbuf w;
	uint8_t a[32], b[32], c[32];

	(void)state;
	id_of(a, 0x30);
	id_of(b, 0x10);
	id_of(c, 0x20);
	assert_int_equal(mv_keylist_add(&kl, a, 1, "password", 8), 0);
	assert_int_equal(mv_keylist_add(&kl, b, 2, "recovery", 8), 0);
	assert_int_equal(mv_keylist_add(&kl, c, 3, "", 0), 0);
	assert_int_equal(mv_keylist_add(&kl, c, 1, "again", 5),
	                 MV_FMT_MALFORMED); /* listed already */
	assert_int_equal(kl.n, 3);
	assert_int_equal(kl.e[0].id[0], 0x10);
	assert_int_equal(kl.e[1].id[0], 0x20);
	assert_int_equal(kl.e[2].id[0], 0x30);
	kl.generation = 7;
	encode(&kl, &w);
	/* version, generation, count, then the entries: 13 + 3 x (35 + 13) +
	 * labels (version 2: state, created, empty host and user after each
	 * label) */
	assert_int_equal(w.len, 13 + 3 * 48 + 16);
	assert_int_equal(w.data[0], 2);
	assert_int_equal(w.data[1], 7);
	assert_int_equal(w.data[9], 3);
	assert_int_equal(w.data[13], 0x10);   /* first id */
	assert_int_equal(w.data[13 + 32], 2); /* its kind */
	assert_int_equal(w.data[13 + 33], 8); /* str16 length */
	assert_memory_equal(w.data + 13 + 35, "recovery", 8);
	assert_int_equal(mv_keylist_decode(w.data, w.len, &back), 0);
	assert_int_equal(back.generation, 7);
	assert_int_equal(back.n, 3);
	for (uint32_t i = 0; i < 3; i++) {
		assert_memory_equal(back.e[i].id, kl.e[i].id, 32);
		assert_int_equal(back.e[i].kind, kl.e[i].kind);
		assert_string_equal(back.e[i].label, kl.e[i].label);
	}
	const struct mv_keylist_entry *f = mv_keylist_find(&back, a);
	assert_non_null(f);
	assert_string_equal(f->label, "password");
	assert_int_equal(mv_keylist_remove(&back, a), 0);
	assert_null(mv_keylist_find(&back, a));
	assert_int_equal(mv_keylist_remove(&back, a), MV_FMT_MALFORMED);
	assert_int_equal(back.n, 2);
	mv_keylist_release(&back);
	mv_keylist_release(&kl);
	mv_wbuf_release(&w);
}

static void test_keylist__decode_rejects_malformed(void **state)
{
	struct mv_keylist kl = {0}, back;
	struct mv_wbuf w;
	uint8_t a[32], b[32];

	(void)state;
	id_of(a, 1);
	id_of(b, 2);
	assert_int_equal(mv_keylist_add(&kl, a, 1, "password", 8), 0);
	assert_int_equal(mv_keylist_add(&kl, b, 2, "recovery", 8), 0);
	encode(&kl, &w);
	/* every truncation and trailing bytes */
	for (size_t n = 0; n < w.len; n++) {
		assert_int_equal(mv_keylist_decode(w.data, n, &back), MV_FMT_MALFORMED);
		mv_keylist_release(&back);
	}
	uint8_t *p = malloc(w.len + 1);
	assert_non_null(p);
	memcpy(p, w.data, w.len);
	p[w.len] = 0;
	assert_int_equal(mv_keylist_decode(p, w.len + 1, &back), MV_FMT_MALFORMED);
	mv_keylist_release(&back);
#define EXPECT_BAD(off, val)                                                                       \
	do {                                                                                       \
		memcpy(p, w.data, w.len);                                                          \
		p[off] = (val);                                                                    \
		assert_int_equal(mv_keylist_decode(p, w.len, &back), MV_FMT_MALFORMED);            \
		mv_keylist_release(&back);                                                         \
	} while (0)
	EXPECT_BAD(0, 3);        /* version */
	EXPECT_BAD(0, 0);        /* version */
	EXPECT_BAD(9, 0);        /* count 0 */
	EXPECT_BAD(9, 3);        /* count beyond the entries */
	EXPECT_BAD(12, 1);       /* count far too large */
	EXPECT_BAD(13 + 32, 0);  /* kind 0 */
	EXPECT_BAD(13 + 32, 4);  /* kind 4 */
	EXPECT_BAD(13 + 35, 0);  /* NUL in a label */
	EXPECT_BAD(13 + 56, 1);  /* second id equal to the first */
	EXPECT_BAD(13 + 56, 0);  /* second id below the first */
	EXPECT_BAD(13 + 43, 3);  /* state beyond "removing" */
	EXPECT_BAD(13 + 52, 65); /* host longer than 64 (and misplaced) */
	EXPECT_BAD(13 + 33, 65); /* label longer than 64 (and misplaced) */
#undef EXPECT_BAD
	/* a label of 65 bytes is refused on both sides */
	char big[80];
	memset(big, 'x', sizeof(big));
	assert_int_equal(mv_keylist_add(&kl, a, 1, big, 65), MV_FMT_MALFORMED);
	assert_int_equal(mv_keylist_add(&kl, a, 0, "x", 1), MV_FMT_MALFORMED);
	free(p);
	mv_keylist_release(&kl);
	mv_wbuf_release(&w);
}

static void test_keylist__encode_refuses_invalid(void **state)
{
	struct mv_keylist kl = {0};
	struct mv_wbuf w;
	uint8_t a[32];

	(void)state;
	mv_wbuf_init(&w, 1u << 20);
	assert_int_equal(mv_keylist_encode(&kl, &w), MV_FMT_MALFORMED); /* empty */
	id_of(a, 5);
	assert_int_equal(mv_keylist_add(&kl, a, 1, "p", 1), 0);
	struct mv_keylist_entry two[2];
	two[0] = kl.e[0];
	two[1] = kl.e[0]; /* duplicate id */
	struct mv_keylist dup = {1, 2, two};
	assert_int_equal(mv_keylist_encode(&dup, &w), MV_FMT_MALFORMED);
	/* the list is capped at MV_KEYLIST_MAX slots */
	for (uint32_t i = 1; i < MV_KEYLIST_MAX; i++) {
		uint8_t id[32] = {0};
		id[0] = (uint8_t)(i >> 8);
		id[1] = (uint8_t)i;
		id[31] = 0xff;
		assert_int_equal(mv_keylist_add(&kl, id, 1, "", 0), 0);
	}
	assert_int_equal(kl.n, MV_KEYLIST_MAX);
	uint8_t more[32];
	memset(more, 0xee, sizeof(more));
	assert_int_equal(mv_keylist_add(&kl, more, 1, "", 0), MV_FMT_MALFORMED);
	mv_wbuf_release(&w);
	mv_keylist_release(&kl);
}

/* Version 1 lists (made before key list version 2) still read: no state,
 * no origin; version 2 keeps both. */
static void test_keylist__reads_version_1_keeps_origin(void **state)
{
	static const uint8_t v1[] = {1,    5,    0,    0,    0,    0,    0,    0,    0,
	                             1,    0,    0,    0, /* version 1, generation 5, 1 entry */
	                             0x42, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	                             0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	                             0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	                             0x11, 0x11, 0x11, 0x11, 0x11, 2,    8,    0,    'r',
	                             'e',  'c',  'o',  'v',  'e',  'r',  'y'};
	struct mv_keylist kl, back;
	struct mv_wbuf w;

	(void)state;
	assert_int_equal(mv_keylist_decode(v1, sizeof(v1), &kl), 0);
	assert_int_equal(kl.generation, 5);
	assert_int_equal(kl.n, 1);
	assert_int_equal(kl.e[0].kind, 2);
	assert_string_equal(kl.e[0].label, "recovery");
	assert_int_equal(kl.e[0].state, MV_KEYLIST_ACTIVE);
	assert_int_equal(kl.e[0].created, 0);
	assert_string_equal(kl.e[0].host, "");
	/* rewritten as version 2 with an origin and a state */
	kl.e[0].created = 1765000000;
	kl.e[0].state = MV_KEYLIST_REMOVING;
	memcpy(kl.e[0].host, "nas", 4);
	memcpy(kl.e[0].user, "root", 5);
	encode(&kl, &w);
	assert_int_equal(mv_keylist_decode(w.data, w.len, &back), 0);
	assert_int_equal(back.e[0].created, 1765000000);
	assert_int_equal(back.e[0].state, MV_KEYLIST_REMOVING);
	assert_string_equal(back.e[0].host, "nas");
	assert_string_equal(back.e[0].user, "root");
	/* a control character in a host name is refused on both sides */
	back.e[0].host[1] = '\n';
	mv_wbuf_release(&w);
	mv_wbuf_init(&w, 1u << 20);
	assert_int_equal(mv_keylist_encode(&back, &w), MV_FMT_MALFORMED);
	mv_keylist_release(&back);
	mv_keylist_release(&kl);
	mv_wbuf_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keylist__reads_version_1_keeps_origin),
	    cmocka_unit_test(test_keylist__add_keeps_order_and_round_trips),
	    cmocka_unit_test(test_keylist__decode_rejects_malformed),
	    cmocka_unit_test(test_keylist__encode_refuses_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
