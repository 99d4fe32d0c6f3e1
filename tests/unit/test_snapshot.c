/* Snapshot and lock payloads (formats/snapshot.c, FORMAT.md 8, 10, 11). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "formats/snapshot.h"

#define WMAX (64u << 20)

/* ---- helpers ---------------------------------------------------------- */

static char *xstr(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	assert_non_null(d);
	memcpy(d, s, n + 1);
	return d;
}

static char **xlist(const char *const *items, uint32_t n)
{
	char **l = calloc(n, sizeof(*l));
	assert_non_null(l);
	for (uint32_t i = 0; i < n; i++)
		l[i] = xstr(items[i]);
	return l;
}

static const char *const paths[] = {"/srv/imaging", "/home/dr/\xff\xfe patients \xe9", "/"};
static const char *const tags[] = {"nightly", "cabinet-2"};

static void build_full(struct mv_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->time_ns = 1718000000123456789LL;
	s->host = xstr("cabinet-radiologie");
	s->user = xstr("root");
	s->paths = xlist(paths, 3);
	s->npaths = 3;
	s->tags = xlist(tags, 2);
	s->ntags = 2;
	memset(s->tree, 0x7e, 32);
	s->has_parent = 1;
	memset(s->parent, 0x9a, 32);
	s->summary.files_new = 1;
	s->summary.files_changed = 2;
	s->summary.files_unmodified = 3;
	s->summary.dirs = 4;
	s->summary.data_blobs = 5;
	s->summary.tree_blobs = 6;
	s->summary.bytes_added = 7;
	s->summary.bytes_processed = 8;
	s->summary.total_files = 9;
	s->summary.total_bytes = 0xffffffffffffffffull;
	s->errors = calloc(2, sizeof(*s->errors));
	assert_non_null(s->errors);
	s->errors[0].path = xstr("/srv/imaging/locked.dcm");
	s->errors[0].msg = xstr("permission denied");
	s->errors[1].path = xstr("/srv/imaging/\x80gone");
	s->errors[1].msg = xstr("");
	s->nerrors = 2;
}

static void encode(const struct mv_snapshot *s, struct mv_wbuf *w)
{
	mv_wbuf_init(w, WMAX);
	mv_snapshot_encode(s, w);
	assert_false(w->failed);
}

static void assert_released(const struct mv_snapshot *s)
{
	struct mv_snapshot zero;
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(s, &zero, sizeof(zero));
}

static void assert_snap_equal(const struct mv_snapshot *a, const struct mv_snapshot *b)
{
	assert_true(a->time_ns == b->time_ns);
	assert_string_equal(a->host, b->host);
	assert_string_equal(a->user, b->user);
	assert_int_equal(a->npaths, b->npaths);
	for (uint32_t i = 0; i < a->npaths; i++)
		assert_string_equal(a->paths[i], b->paths[i]);
	assert_int_equal(a->ntags, b->ntags);
	for (uint32_t i = 0; i < a->ntags; i++)
		assert_string_equal(a->tags[i], b->tags[i]);
	assert_memory_equal(a->tree, b->tree, 32);
	assert_int_equal(a->has_parent, b->has_parent);
	if (a->has_parent)
		assert_memory_equal(a->parent, b->parent, 32);
	assert_memory_equal(&a->summary, &b->summary, sizeof(a->summary));
	assert_int_equal(a->nerrors, b->nerrors);
	for (uint32_t i = 0; i < a->nerrors; i++) {
		assert_string_equal(a->errors[i].path, b->errors[i].path);
		assert_string_equal(a->errors[i].msg, b->errors[i].msg);
	}
}

static int decode_buf(struct mv_wbuf *w)
{
	struct mv_snapshot s;
	assert_false(w->failed);
	int rc = mv_snapshot_decode(w->data, w->len, &s);
	if (rc)
		assert_released(&s);
	mv_snapshot_release(&s);
	mv_wbuf_release(w);
	return rc;
}

static size_t find(const struct mv_wbuf *w, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= w->len; i++)
		if (memcmp(w->data + i, needle, n) == 0)
			return i;
	fail_msg("'%s' not in encoding", needle);
	return 0;
}

/* A snapshot payload with `decl` declared and `have` present empty strings
 * (or error pairs) in paths, tags and errors. */
static void raw_snap(struct mv_wbuf *w, const uint32_t decl[3], const uint32_t have[3])
{
	mv_wbuf_init(w, WMAX);
	mv_wbuf_u8(w, 1);
	mv_wbuf_i64(w, 0);
	mv_wbuf_str16(w, "h", 1);
	mv_wbuf_str16(w, "u", 1);
	for (int l = 0; l < 2; l++) {
		mv_wbuf_u32(w, decl[l]);
		for (uint32_t i = 0; i < have[l]; i++)
			mv_wbuf_str16(w, "", 0);
	}
	mv_wbuf_put(w, (const uint8_t[32]){0}, 32);
	mv_wbuf_u8(w, 0);
	mv_wbuf_put(w, (const uint8_t[80]){0}, 80);
	mv_wbuf_u32(w, decl[2]);
	for (uint32_t i = 0; i < have[2]; i++) {
		mv_wbuf_str16(w, "", 0);
		mv_wbuf_str16(w, "", 0);
	}
}

/* ---- snapshots --------------------------------------------------------- */

static void test_snapshot__round_trip_every_field(void **state)
{
	(void)state;
	struct mv_snapshot s, d;
	struct mv_wbuf w, w2;

	build_full(&s);
	encode(&s, &w);
	memset(&d, 0xee, sizeof(d)); /* decode must not read its output */
	assert_int_equal(mv_snapshot_decode(w.data, w.len, &d), 0);
	assert_snap_equal(&s, &d);
	uint8_t zero[32] = {0};
	assert_memory_equal(d.id, zero, 32); /* not encoded */
	encode(&d, &w2);
	assert_int_equal(w2.len, w.len);
	assert_memory_equal(w2.data, w.data, w.len);
	mv_wbuf_release(&w);
	mv_wbuf_release(&w2);
	mv_snapshot_release(&s);
	mv_snapshot_release(&d);
	assert_released(&s);
	mv_snapshot_release(NULL);
}

static void test_snapshot__round_trip_minimal(void **state)
{
	(void)state;
	struct mv_snapshot s, d;
	struct mv_wbuf w;

	/* No parent, empty lists, empty (and NULL) strings, negative time. */
	memset(&s, 0, sizeof(s));
	s.time_ns = -5;
	s.user = xstr("");
	memset(s.parent, 0x55, 32); /* ignored without has_parent */
	encode(&s, &w);
	assert_int_equal(w.len, 1 + 8 + 2 + 2 + 4 + 4 + 32 + 1 + 80 + 4);
	assert_int_equal(mv_snapshot_decode(w.data, w.len, &d), 0);
	assert_string_equal(d.host, "");
	assert_string_equal(d.user, "");
	assert_null(d.paths);
	assert_null(d.tags);
	assert_null(d.errors);
	assert_int_equal(d.has_parent, 0);
	uint8_t zero[32] = {0};
	assert_memory_equal(d.parent, zero, 32);
	assert_true(d.time_ns == -5);
	mv_snapshot_release(&d);
	mv_snapshot_release(&s);
	mv_wbuf_release(&w);
}

static void test_snapshot__golden_bytes(void **state)
{
	(void)state;
	struct mv_snapshot s;
	struct mv_wbuf w;
	uint8_t expect[200];
	size_t n = 0;

	memset(&s, 0, sizeof(s));
	s.time_ns = 0x0102030405060708LL;
	s.host = xstr("h");
	s.user = xstr("u");
	s.paths = xlist((const char *const[]){"/p"}, 1);
	s.npaths = 1;
	memset(s.tree, 0x11, 32);
	s.has_parent = 1;
	memset(s.parent, 0x22, 32);
	s.summary.files_new = 3;
	s.summary.total_bytes = 0x100;
	s.errors = calloc(1, sizeof(*s.errors));
	s.errors[0].path = xstr("/x");
	s.errors[0].msg = xstr("e");
	s.nerrors = 1;

#define PUT(str) (memcpy(expect + n, str, sizeof(str) - 1), n += sizeof(str) - 1)
	PUT("\x01");
	PUT("\x08\x07\x06\x05\x04\x03\x02\x01");
	PUT("\x01\x00h\x01\x00u");
	PUT("\x01\x00\x00\x00\x02\x00/p");
	PUT("\x00\x00\x00\x00");
	memset(expect + n, 0x11, 32), n += 32;
	PUT("\x01");
	memset(expect + n, 0x22, 32), n += 32;
	memset(expect + n, 0, 80);
	expect[n] = 3;
	expect[n + 73] = 1;
	n += 80;
	PUT("\x01\x00\x00\x00\x02\x00/x\x01\x00"
	    "e");
#undef PUT
	encode(&s, &w);
	assert_int_equal(w.len, n);
	assert_memory_equal(w.data, expect, n);
	mv_wbuf_release(&w);
	mv_snapshot_release(&s);
}

static void test_snapshot__truncation_at_every_offset(void **state)
{
	(void)state;
	struct mv_snapshot s, d;
	struct mv_wbuf w;

	build_full(&s);
	encode(&s, &w);
	for (size_t cut = 0; cut < w.len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		assert_non_null(p);
		memcpy(p, w.data, cut);
		if (mv_snapshot_decode(p, cut, &d) != MV_FMT_MALFORMED)
			fail_msg("prefix of %zu/%zu bytes accepted", cut, w.len);
		assert_released(&d);
		free(p);
	}
	mv_wbuf_release(&w);
	mv_snapshot_release(&s);
}

static void test_snapshot__trailing_garbage_rejected(void **state)
{
	(void)state;
	struct mv_snapshot s;
	struct mv_wbuf w;

	build_full(&s);
	encode(&s, &w);
	mv_wbuf_u8(&w, 0);
	assert_int_equal(decode_buf(&w), MV_FMT_MALFORMED);
	mv_snapshot_release(&s);
}

static void test_snapshot__version_and_parent_flag(void **state)
{
	(void)state;
	struct mv_snapshot s;
	struct mv_wbuf w;

	build_full(&s);
	for (unsigned v = 0; v < 256; v++) {
		encode(&s, &w);
		w.data[0] = (uint8_t)v;
		assert_int_equal(decode_buf(&w), v == 1 ? 0 : MV_FMT_MALFORMED);
	}
	/* The parent flag sits right after the tree id (0x7e * 32). */
	encode(&s, &w);
	size_t at = find(&w, "\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e") + 32;
	assert_int_equal(w.data[at], 1);
	w.data[at] = 2;
	assert_int_equal(decode_buf(&w), MV_FMT_MALFORMED);
	mv_snapshot_release(&s);
}

static void test_snapshot__nul_in_strings_rejected(void **state)
{
	(void)state;
	struct mv_snapshot s;
	struct mv_wbuf w;
	static const char *const where[] = {
	    "cabinet", "root", "/srv/imaging", "nightly", "locked.dcm", "permission",
	};

	build_full(&s);
	encode(&s, &w);
	assert_int_equal(decode_buf(&w), 0);
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		encode(&s, &w);
		w.data[find(&w, where[i]) + 2] = '\0';
		if (decode_buf(&w) != MV_FMT_MALFORMED)
			fail_msg("NUL inside '%s' accepted", where[i]);
	}
	mv_snapshot_release(&s);
}

static void test_snapshot__list_limits(void **state)
{
	(void)state;
	struct mv_wbuf w;
	const uint32_t max = MV_SNAP_MAX_LIST;

	for (int l = 0; l < 3; l++) {
		uint32_t decl[3] = {0, 0, 0}, have[3] = {0, 0, 0};
		/* 4 billion declared, nothing present. */
		decl[l] = 0xffffffffu;
		raw_snap(&w, decl, have);
		assert_int_equal(decode_buf(&w), MV_FMT_MALFORMED);
		/* The limit is accepted, one more is refused even when present. */
		decl[l] = have[l] = max;
		raw_snap(&w, decl, have);
		assert_int_equal(decode_buf(&w), 0);
		decl[l] = have[l] = max + 1;
		raw_snap(&w, decl, have);
		assert_int_equal(decode_buf(&w), MV_FMT_MALFORMED);
		/* One more declared than present. */
		decl[l] = 3;
		have[l] = 2;
		raw_snap(&w, decl, have);
		assert_int_equal(decode_buf(&w), MV_FMT_MALFORMED);
	}
}

static void test_snapshot__encode_refuses_invalid(void **state)
{
	(void)state;
	struct mv_snapshot s;
	struct mv_wbuf w;
	char *big = malloc(65537);
	assert_non_null(big);
	memset(big, 'x', 65536);
	big[65536] = '\0';

	build_full(&s);
	uint32_t n = s.npaths;
	s.npaths = MV_SNAP_MAX_LIST + 1;
	mv_wbuf_init(&w, WMAX);
	mv_snapshot_encode(&s, &w);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	s.npaths = n;

	char *old = s.user;
	s.user = big;
	mv_wbuf_init(&w, WMAX);
	mv_snapshot_encode(&s, &w);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	big[65535] = '\0'; /* 65535 bytes: the largest str16 */
	encode(&s, &w);
	assert_int_equal(decode_buf(&w), 0);
	s.user = old;
	free(big);
	mv_snapshot_release(&s);
}

/* ---- locks ------------------------------------------------------------- */

static void encode_lock(const struct mv_lock_info *l, struct mv_wbuf *w)
{
	mv_wbuf_init(w, WMAX);
	mv_lock_encode(l, w);
	assert_false(w->failed);
}

static int decode_lock_buf(struct mv_wbuf *w)
{
	struct mv_lock_info l;
	struct mv_lock_info zero;
	memset(&zero, 0, sizeof(zero));
	int rc = mv_lock_decode(w->data, w->len, &l);
	if (rc)
		assert_memory_equal(&l, &zero, sizeof(l));
	mv_wbuf_release(w);
	return rc;
}

static void test_snapshot__lock_round_trip_and_golden(void **state)
{
	(void)state;
	struct mv_lock_info l, d;
	struct mv_wbuf w, w2;
	static const uint8_t expect[] = {
	    0x01, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* time -8 */
	    0x39, 0x30, 0x00, 0x00,                               /* pid 12345 */
	    0x04, 0x00, 'n',  'a',  's',  '1',                    /* host */
	    0x01,                                                 /* exclusive */
	};

	memset(&l, 0, sizeof(l));
	l.time_ns = -8;
	l.pid = 12345;
	memcpy(l.host, "nas1", 5);
	l.exclusive = 1;
	encode_lock(&l, &w);
	assert_int_equal(w.len, sizeof(expect));
	assert_memory_equal(w.data, expect, sizeof(expect));
	memset(&d, 0xee, sizeof(d));
	assert_int_equal(mv_lock_decode(w.data, w.len, &d), 0);
	assert_true(d.time_ns == -8);
	assert_int_equal(d.pid, 12345);
	assert_string_equal(d.host, "nas1");
	assert_int_equal(d.exclusive, 1);
	encode_lock(&d, &w2);
	assert_memory_equal(w2.data, w.data, w.len);
	mv_wbuf_release(&w2);

	/* 255-byte host and empty host, shared lock. */
	memset(l.host, 'h', 255);
	l.host[255] = '\0';
	l.exclusive = 0;
	encode_lock(&l, &w2);
	assert_int_equal(mv_lock_decode(w2.data, w2.len, &d), 0);
	assert_int_equal(strlen(d.host), 255);
	assert_int_equal(d.exclusive, 0);
	mv_wbuf_release(&w2);
	l.host[0] = '\0';
	encode_lock(&l, &w2);
	assert_int_equal(mv_lock_decode(w2.data, w2.len, &d), 0);
	assert_string_equal(d.host, "");
	mv_wbuf_release(&w2);

	/* Truncation at every offset. */
	for (size_t cut = 0; cut < w.len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		assert_non_null(p);
		memcpy(p, w.data, cut);
		assert_int_equal(mv_lock_decode(p, cut, &d), MV_FMT_MALFORMED);
		free(p);
	}
	mv_wbuf_release(&w);
}

/* Version 2: boot id and start time after the version 1 fields; written
 * only when the boot id is known. */
static void test_snapshot__lock_version_2(void **state)
{
	(void)state;
	struct mv_lock_info l, d;
	struct mv_wbuf w;

	memset(&l, 0, sizeof(l));
	l.time_ns = 5;
	l.pid = 7;
	memcpy(l.host, "nas1", 5);
	for (int i = 0; i < 16; i++)
		l.boot_id[i] = (uint8_t)(0xa0 + i);
	l.start_ticks = 0x0102030405060708ULL;
	encode_lock(&l, &w);
	assert_int_equal(w.len, 20 + 16 + 8);
	assert_int_equal(w.data[0], 2);
	assert_int_equal(w.data[20], 0xa0);
	assert_int_equal(w.data[36], 0x08); /* u64 little-endian */
	assert_int_equal(mv_lock_decode(w.data, w.len, &d), 0);
	assert_memory_equal(d.boot_id, l.boot_id, 16);
	assert_true(d.start_ticks == l.start_ticks);
	for (size_t cut = 0; cut < w.len; cut++)
		assert_int_equal(mv_lock_decode(w.data, cut, &d), MV_FMT_MALFORMED);
	w.data[0] = 1; /* version 1 has nothing after the exclusive flag */
	assert_int_equal(mv_lock_decode(w.data, w.len, &d), MV_FMT_MALFORMED);
	w.data[0] = 3;
	assert_int_equal(mv_lock_decode(w.data, w.len, &d), MV_FMT_MALFORMED);
	w.data[0] = 2;
	memset(w.data + 20, 0, 16); /* an unknown boot id is written as version 1 */
	assert_int_equal(mv_lock_decode(w.data, w.len, &d), MV_FMT_MALFORMED);
	w.data[20] = 1;
	assert_int_equal(mv_lock_decode(w.data, w.len, &d), 0);
	mv_wbuf_u8(&w, 0); /* trailing byte */
	assert_int_equal(decode_lock_buf(&w), MV_FMT_MALFORMED);
}

static void test_snapshot__lock_rejects_malformed(void **state)
{
	(void)state;
	struct mv_lock_info l;
	struct mv_wbuf w;
	uint8_t host[256];
	memset(host, 'h', sizeof(host));

	memset(&l, 0, sizeof(l));
	memcpy(l.host, "nas1", 5);
	for (unsigned v = 0; v < 256; v++) {
		encode_lock(&l, &w);
		w.data[0] = (uint8_t)v;
		assert_int_equal(decode_lock_buf(&w), v == 1 ? 0 : MV_FMT_MALFORMED);
	}
	for (unsigned x = 0; x < 256; x++) {
		encode_lock(&l, &w);
		w.data[w.len - 1] = (uint8_t)x;
		assert_int_equal(decode_lock_buf(&w), x <= 1 ? 0 : MV_FMT_MALFORMED);
	}
	encode_lock(&l, &w);
	mv_wbuf_u8(&w, 0); /* trailing byte */
	assert_int_equal(decode_lock_buf(&w), MV_FMT_MALFORMED);
	encode_lock(&l, &w);
	w.data[15] = '\0'; /* NUL inside the host */
	assert_int_equal(decode_lock_buf(&w), MV_FMT_MALFORMED);

	/* A 256-byte host cannot be represented. */
	mv_wbuf_init(&w, WMAX);
	mv_wbuf_u8(&w, 1);
	mv_wbuf_i64(&w, 0);
	mv_wbuf_u32(&w, 1);
	mv_wbuf_str16(&w, host, 256);
	mv_wbuf_u8(&w, 0);
	assert_int_equal(decode_lock_buf(&w), MV_FMT_MALFORMED);
	mv_wbuf_init(&w, WMAX);
	mv_wbuf_u8(&w, 1);
	mv_wbuf_i64(&w, 0);
	mv_wbuf_u32(&w, 1);
	mv_wbuf_str16(&w, host, 255);
	mv_wbuf_u8(&w, 0);
	assert_int_equal(decode_lock_buf(&w), 0);

	/* The encoder refuses a host array without a terminator. */
	memset(l.host, 'h', sizeof(l.host));
	mv_wbuf_init(&w, WMAX);
	mv_lock_encode(&l, &w);
	assert_true(w.failed);
	mv_wbuf_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_snapshot__round_trip_every_field),
	    cmocka_unit_test(test_snapshot__round_trip_minimal),
	    cmocka_unit_test(test_snapshot__golden_bytes),
	    cmocka_unit_test(test_snapshot__truncation_at_every_offset),
	    cmocka_unit_test(test_snapshot__trailing_garbage_rejected),
	    cmocka_unit_test(test_snapshot__version_and_parent_flag),
	    cmocka_unit_test(test_snapshot__nul_in_strings_rejected),
	    cmocka_unit_test(test_snapshot__list_limits),
	    cmocka_unit_test(test_snapshot__encode_refuses_invalid),
	    cmocka_unit_test(test_snapshot__lock_round_trip_and_golden),
	    cmocka_unit_test(test_snapshot__lock_version_2),
	    cmocka_unit_test(test_snapshot__lock_rejects_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
