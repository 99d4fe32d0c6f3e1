/* Tree payloads (formats/tree.c, FORMAT.md section 9). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "formats/tree.h"

#define WMAX (64u << 20)

/* ---- helpers ---------------------------------------------------------- */

static uint8_t *xdup(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	assert_non_null(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

/* A node with every common field set to a value derived from seed. */
static struct mv_node make_node(uint8_t kind, const void *name, size_t name_len, uint32_t seed)
{
	struct mv_node n;
	memset(&n, 0, sizeof(n));
	n.kind = kind;
	n.name = xdup(name, name_len);
	n.name_len = (uint16_t)name_len;
	n.mode = 0100644u + seed;
	n.uid = 1000u + seed;
	n.gid = 2000u + seed;
	n.mtime_ns = (int64_t)1700000000123456789LL + seed;
	n.ctime_ns = -(int64_t)seed - 1; /* negative times must survive */
	n.inode = 0x0102030405060708ull + seed;
	n.rdev = 0x1122334455667788ull + seed;
	n.size = 0xfedcba9876543210ull - seed;
	return n;
}

static void set_chunks(struct mv_node *n, uint32_t count, uint8_t base)
{
	n->nchunks = count;
	n->chunks = count ? malloc((size_t)count * 32) : NULL;
	for (uint32_t i = 0; i < count; i++)
		memset(n->chunks[i], base + (int)i, 32);
	memset(n->content, 0xc0 + base, 32);
}

static void add(struct mv_tree *t, struct mv_node n)
{
	assert_int_equal(mv_tree_add(t, &n), 0);
}

static void assert_node_equal(const struct mv_node *a, const struct mv_node *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->name_len, b->name_len);
	assert_memory_equal(a->name, b->name, a->name_len);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_true(a->mtime_ns == b->mtime_ns);
	assert_true(a->ctime_ns == b->ctime_ns);
	assert_true(a->inode == b->inode);
	assert_true(a->rdev == b->rdev);
	assert_true(a->size == b->size);
	if (a->kind == MV_NODE_FILE) {
		assert_int_equal(a->nchunks, b->nchunks);
		if (a->nchunks)
			assert_memory_equal(a->chunks, b->chunks, (size_t)a->nchunks * 32);
		assert_memory_equal(a->content, b->content, 32);
	}
	if (a->kind == MV_NODE_DIR)
		assert_memory_equal(a->subtree, b->subtree, 32);
	if (a->kind == MV_NODE_SYMLINK) {
		assert_int_equal(a->target_len, b->target_len);
		assert_memory_equal(a->target, b->target, a->target_len);
	}
}

/* A tree holding every kind, both flags, non-UTF-8 and maximal names, the
 * longest symlink target, and files with and without chunks. */
static void build_full_tree(struct mv_tree *t)
{
	struct mv_node n;
	uint8_t longname[255];
	memset(longname, 'z', sizeof(longname));

	mv_tree_init(t);
	n = make_node(MV_NODE_FILE, "scan.dcm", 8, 1);
	n.flags = MV_NODE_F_CHANGED;
	set_chunks(&n, 3, 0x10);
	add(t, n);
	n = make_node(MV_NODE_FILE, "empty", 5, 2);
	n.flags = MV_NODE_F_UNREADABLE | MV_NODE_F_CHANGED;
	set_chunks(&n, 0, 0x20);
	add(t, n);
	n = make_node(MV_NODE_DIR, "\xc3\xa9tudes", 7, 3); /* UTF-8 "études" */
	memset(n.subtree, 0x5d, 32);
	add(t, n);
	n = make_node(MV_NODE_SYMLINK, "link", 4, 4);
	{
		uint8_t target[4095];
		memset(target, 't', sizeof(target));
		target[0] = '/';
		n.target = xdup(target, sizeof(target));
		n.target_len = sizeof(target);
	}
	add(t, n);
	n = make_node(MV_NODE_FIFO, "fifo", 4, 5);
	add(t, n);
	n = make_node(MV_NODE_CHR, "tty\x01", 4, 6);
	add(t, n);
	n = make_node(MV_NODE_BLK, "\xff\xfe\x80 latin1 caf\xe9", 15, 7); /* not UTF-8 */
	add(t, n);
	n = make_node(MV_NODE_SOCK, "sock", 4, 8);
	add(t, n);
	n = make_node(MV_NODE_FIFO, longname, sizeof(longname), 9);
	add(t, n);
	n = make_node(MV_NODE_FIFO, "...", 3, 10); /* only "." and ".." are banned */
	add(t, n);
	n = make_node(MV_NODE_FIFO, ".a", 2, 11);
	add(t, n);
	assert_int_equal(mv_tree_sort(t), 0);
}

static void encode_tree(const struct mv_tree *t, struct mv_wbuf *w)
{
	mv_wbuf_init(w, WMAX);
	mv_tree_encode(t, w);
	assert_false(w->failed);
}

static void assert_empty(const struct mv_tree *t)
{
	assert_null(t->nodes);
	assert_int_equal(t->count, 0);
	assert_int_equal(t->cap, 0);
}

/* Raw writers that do not validate, to build malformed payloads. */
static void raw_head(struct mv_wbuf *w, uint8_t version, uint32_t count)
{
	mv_wbuf_init(w, WMAX);
	mv_wbuf_u8(w, version);
	mv_wbuf_u32(w, count);
}

static void raw_node(struct mv_wbuf *w, uint8_t kind, uint8_t flags, const void *name,
                     size_t name_len)
{
	mv_wbuf_u8(w, kind);
	mv_wbuf_u8(w, flags);
	mv_wbuf_str16(w, name, name_len);
	mv_wbuf_u32(w, 0644);
	mv_wbuf_u32(w, 1);
	mv_wbuf_u32(w, 2);
	mv_wbuf_i64(w, 3);
	mv_wbuf_i64(w, 4);
	mv_wbuf_u64(w, 5);
	mv_wbuf_u64(w, 6);
	mv_wbuf_u64(w, 7);
}

static int decode_raw(struct mv_wbuf *w)
{
	struct mv_tree t;
	assert_false(w->failed);
	int rc = mv_tree_decode(w->data, w->len, &t);
	if (rc)
		assert_empty(&t);
	mv_tree_release(&t);
	mv_wbuf_release(w);
	return rc;
}

/* ---- round trips ------------------------------------------------------ */

static void test_tree__round_trip_every_kind(void **state)
{
	(void)state;
	struct mv_tree t, d;
	struct mv_wbuf w, w2;

	build_full_tree(&t);
	encode_tree(&t, &w);
	assert_int_equal(mv_tree_decode(w.data, w.len, &d), 0);
	assert_int_equal(d.count, t.count);
	for (size_t i = 0; i < t.count; i++)
		assert_node_equal(&t.nodes[i], &d.nodes[i]);
	/* Re-encoding gives the same bytes (the format is canonical). */
	encode_tree(&d, &w2);
	assert_int_equal(w.len, w2.len);
	assert_memory_equal(w.data, w2.data, w.len);

	mv_wbuf_release(&w);
	mv_wbuf_release(&w2);
	mv_tree_release(&t);
	mv_tree_release(&d);
	assert_empty(&t);
}

/* The exact bytes of FORMAT.md section 9, written out by hand. */
static void test_tree__golden_bytes(void **state)
{
	(void)state;
	static const uint8_t expect[] = {
	    0x01,                   /* version */
	    0x02, 0x00, 0x00, 0x00, /* 2 nodes */
	    /* node "a": directory */
	    0x02, 0x00, 0x01, 0x00, 'a', 0xed, 0x41, 0x00, 0x00, /* mode 040755 */
	    0xe8, 0x03, 0x00, 0x00, 0xe9, 0x03, 0x00, 0x00,      /* uid 1000, gid 1001 */
	    0x01, 0, 0, 0, 0, 0, 0, 0,                           /* mtime 1 */
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,      /* ctime -1 */
	    0x07, 0, 0, 0, 0, 0, 0, 0,                           /* inode 7 */
	    0, 0, 0, 0, 0, 0, 0, 0,                              /* rdev */
	    0x10, 0, 0, 0, 0, 0, 0, 0,                           /* size 16 */
	    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,      /* subtree id */
	    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,      /* ... */
	    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,      /* ... */
	    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,      /* ... */
	    /* node "b": symlink -> "x" */
	    0x03, 0x00, 0x01, 0x00, 'b', 0xff, 0xa1, 0x00, 0x00, /* mode 0120777 */
	    0, 0, 0, 0, 0, 0, 0, 0,                              /* uid, gid */
	    0, 0, 0, 0, 0, 0, 0, 0,                              /* mtime */
	    0, 0, 0, 0, 0, 0, 0, 0,                              /* ctime */
	    0, 0, 0, 0, 0, 0, 0, 0,                              /* inode */
	    0, 0, 0, 0, 0, 0, 0, 0,                              /* rdev */
	    0, 0, 0, 0, 0, 0, 0, 0,                              /* size */
	    0x01, 0x00, 'x'};                                    /* target */
	struct mv_tree t;
	struct mv_wbuf w;
	struct mv_node n;

	mv_tree_init(&t);
	memset(&n, 0, sizeof(n));
	n.kind = MV_NODE_SYMLINK;
	n.name = xdup("b", 1);
	n.name_len = 1;
	n.mode = 0120777;
	n.target = xdup("x", 1);
	n.target_len = 1;
	add(&t, n);
	memset(&n, 0, sizeof(n));
	n.kind = MV_NODE_DIR;
	n.name = xdup("a", 1);
	n.name_len = 1;
	n.mode = 040755;
	n.uid = 1000;
	n.gid = 1001;
	n.mtime_ns = 1;
	n.ctime_ns = -1;
	n.inode = 7;
	n.size = 16;
	memset(n.subtree, 0xaa, 32);
	add(&t, n);
	assert_int_equal(mv_tree_sort(&t), 0);
	encode_tree(&t, &w);
	assert_int_equal(w.len, sizeof(expect));
	assert_memory_equal(w.data, expect, sizeof(expect));
	mv_wbuf_release(&w);
	mv_tree_release(&t);
}

static void test_tree__empty_tree(void **state)
{
	(void)state;
	static const uint8_t expect[] = {1, 0, 0, 0, 0};
	struct mv_tree t, d;
	struct mv_wbuf w;

	mv_tree_init(&t);
	encode_tree(&t, &w);
	assert_int_equal(w.len, sizeof(expect));
	assert_memory_equal(w.data, expect, sizeof(expect));
	assert_int_equal(mv_tree_decode(w.data, w.len, &d), 0);
	assert_int_equal(d.count, 0);
	assert_null(mv_tree_find(&d, (const uint8_t *)"a", 1));
	mv_tree_release(&d);
	mv_wbuf_release(&w);
	assert_int_equal(mv_tree_decode(NULL, 0, &d), MV_FMT_MALFORMED);
	assert_empty(&d);
}

/* ---- hostile input ----------------------------------------------------- */

static void test_tree__truncation_at_every_offset(void **state)
{
	(void)state;
	struct mv_tree t, d;
	struct mv_wbuf w;

	build_full_tree(&t);
	encode_tree(&t, &w);
	for (size_t cut = 0; cut < w.len; cut++) {
		/* A copy of exactly cut bytes so ASan sees any over-read. */
		uint8_t *p = xdup(w.data, cut);
		int rc = mv_tree_decode(p, cut, &d);
		if (rc != MV_FMT_MALFORMED)
			fail_msg("prefix of %zu/%zu bytes decoded with %d", cut, w.len, rc);
		assert_empty(&d);
		free(p);
	}
	mv_wbuf_release(&w);
	mv_tree_release(&t);
}

static void test_tree__trailing_garbage_rejected(void **state)
{
	(void)state;
	struct mv_tree t, d;
	struct mv_wbuf w;

	build_full_tree(&t);
	encode_tree(&t, &w);
	mv_wbuf_u8(&w, 0);
	assert_int_equal(mv_tree_decode(w.data, w.len, &d), MV_FMT_MALFORMED);
	assert_empty(&d);
	mv_wbuf_release(&w);
	mv_tree_release(&t);

	mv_tree_init(&t);
	encode_tree(&t, &w);
	mv_wbuf_u32(&w, 0);
	assert_int_equal(mv_tree_decode(w.data, w.len, &d), MV_FMT_MALFORMED);
	mv_wbuf_release(&w);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifndef UNDER_ASAN
/* Runs mv_tree_decode with the address space capped at its current size plus
 * 256 MiB: a decoder that allocated for the declared count before checking it
 * against the input would get NULL and return MV_FMT_NOMEM instead of
 * MV_FMT_MALFORMED. */
static int decode_capped(const uint8_t *p, size_t len, struct mv_tree *t)
{
	struct rlimit old, lim;
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu", &pages), 1);
	fclose(f);
	assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)pages * 4096u + (256u << 20);
	if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < lim.rlim_cur)
		lim.rlim_cur = old.rlim_cur;
	assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
	int rc = mv_tree_decode(p, len, t);
	assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
	return rc;
}
#endif

static void test_tree__huge_counts_rejected_before_allocating(void **state)
{
	(void)state;
	struct mv_wbuf w;

	/* 4 billion nodes declared, one real node given. */
	raw_head(&w, 1, 0xffffffffu);
	raw_node(&w, MV_NODE_FIFO, 0, "a", 1);
	assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);

	/* One more than the limit, input short. */
	raw_head(&w, 1, MV_TREE_MAX_NODES + 1);
	raw_node(&w, MV_NODE_FIFO, 0, "a", 1);
	assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);

	/* A file node declaring 4 billion chunks, and the limit + 1. */
	raw_head(&w, 1, 1);
	raw_node(&w, MV_NODE_FILE, 0, "f", 1);
	mv_wbuf_u32(&w, 0xffffffffu);
	mv_wbuf_put(&w, (const uint8_t[64]){0}, 64);
	assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);
	raw_head(&w, 1, 1);
	raw_node(&w, MV_NODE_FILE, 0, "f", 1);
	mv_wbuf_u32(&w, MV_NODE_MAX_CHUNKS + 1);
	mv_wbuf_put(&w, (const uint8_t[64]){0}, 64);
	assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);
}

/* Under ASan an allocation failure aborts instead of returning NULL, so this
 * check runs in the plain build only. */
static void test_tree__counts_within_limits_checked_against_input(void **state)
{
	(void)state;
#ifdef UNDER_ASAN
	skip();
#else
	struct mv_wbuf w;
	struct mv_tree d;
	/* Counts within the limits (4M nodes = ~700 MB of structs, 16M chunks =
	 * 512 MiB) but far beyond the input: must fail as malformed without
	 * trying to allocate. */
	raw_head(&w, 1, MV_TREE_MAX_NODES);
	raw_node(&w, MV_NODE_FIFO, 0, "a", 1);
	assert_int_equal(decode_capped(w.data, w.len, &d), MV_FMT_MALFORMED);
	assert_empty(&d);
	mv_wbuf_release(&w);

	raw_head(&w, 1, 1);
	raw_node(&w, MV_NODE_FILE, 0, "f", 1);
	mv_wbuf_u32(&w, MV_NODE_MAX_CHUNKS);
	mv_wbuf_put(&w, (const uint8_t[64]){0}, 64);
	assert_int_equal(decode_capped(w.data, w.len, &d), MV_FMT_MALFORMED);
	assert_empty(&d);
	mv_wbuf_release(&w);
#endif
}

static void test_tree__bad_version_kind_flags_rejected(void **state)
{
	(void)state;
	struct mv_wbuf w;
	static const uint8_t bad_kinds[] = {0, 8, 9, 16, 255};
	static const uint8_t bad_flags[] = {4, 8, 0x80, 0xff};

	for (unsigned v = 0; v < 256; v++) {
		raw_head(&w, (uint8_t)v, 1);
		raw_node(&w, MV_NODE_FIFO, 0, "a", 1);
		assert_int_equal(decode_raw(&w), v == 1 ? 0 : MV_FMT_MALFORMED);
	}
	for (size_t i = 0; i < sizeof(bad_kinds); i++) {
		raw_head(&w, 1, 1);
		raw_node(&w, bad_kinds[i], 0, "a", 1);
		mv_wbuf_put(&w, (const uint8_t[36]){0}, 36); /* room for any extra */
		assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);
	}
	for (size_t i = 0; i < sizeof(bad_flags); i++) {
		raw_head(&w, 1, 1);
		raw_node(&w, MV_NODE_FIFO, bad_flags[i], "a", 1);
		assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);
	}
	for (uint8_t f = 0; f < 4; f++) {
		raw_head(&w, 1, 1);
		raw_node(&w, MV_NODE_SOCK, f, "a", 1);
		assert_int_equal(decode_raw(&w), 0);
	}
}

static void test_tree__name_rules(void **state)
{
	(void)state;
	struct mv_wbuf w;
	uint8_t big[256];
	memset(big, 'n', sizeof(big));
	static const struct {
		const char *s;
		size_t n;
		int rc;
	} cases[] = {
	    {"", 0, MV_FMT_MALFORMED},
	    {".", 1, MV_FMT_MALFORMED},
	    {"..", 2, MV_FMT_MALFORMED},
	    {"a/b", 3, MV_FMT_MALFORMED},
	    {"/", 1, MV_FMT_MALFORMED},
	    {"a\0b", 3, MV_FMT_MALFORMED},
	    {"\0", 1, MV_FMT_MALFORMED},
	    {"...", 3, 0},
	    {".a", 2, 0},
	    {"a.", 2, 0},
	    {"\xff", 1, 0},
	    {"\x01", 1, 0},
	    {"a b", 3, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		raw_head(&w, 1, 1);
		raw_node(&w, MV_NODE_FIFO, 0, cases[i].s, cases[i].n);
		if (decode_raw(&w) != cases[i].rc)
			fail_msg("name case %zu", i);
	}
	raw_head(&w, 1, 1);
	raw_node(&w, MV_NODE_FIFO, 0, big, 255);
	assert_int_equal(decode_raw(&w), 0);
	raw_head(&w, 1, 1);
	raw_node(&w, MV_NODE_FIFO, 0, big, 256);
	assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);
}

static void test_tree__symlink_target_rules(void **state)
{
	(void)state;
	struct mv_wbuf w;
	uint8_t *big = calloc(1, 4096);
	assert_non_null(big);
	memset(big, 'x', 4096);

	raw_head(&w, 1, 1);
	raw_node(&w, MV_NODE_SYMLINK, 0, "l", 1);
	mv_wbuf_str16(&w, "", 0);
	assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);
	raw_head(&w, 1, 1);
	raw_node(&w, MV_NODE_SYMLINK, 0, "l", 1);
	mv_wbuf_str16(&w, big, 4096);
	assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);
	raw_head(&w, 1, 1);
	raw_node(&w, MV_NODE_SYMLINK, 0, "l", 1);
	mv_wbuf_str16(&w, big, 4095);
	assert_int_equal(decode_raw(&w), 0);
	raw_head(&w, 1, 1);
	raw_node(&w, MV_NODE_SYMLINK, 0, "l", 1);
	mv_wbuf_str16(&w, "ab\0c", 4);
	assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);
	free(big);
}

static void test_tree__unsorted_and_duplicate_names_rejected(void **state)
{
	(void)state;
	struct mv_wbuf w;
	static const struct {
		const char *a, *b;
		int rc;
	} cases[] = {
	    {"a", "b", 0},
	    {"b", "a", MV_FMT_MALFORMED},
	    {"a", "a", MV_FMT_MALFORMED},
	    {"a", "ab", 0},
	    {"ab", "a", MV_FMT_MALFORMED},
	    {"B", "a", 0},
	    {"a", "B", MV_FMT_MALFORMED},
	    {"z", "\x80", 0},
	    {"\x80", "z", MV_FMT_MALFORMED},
	    {"\x7f", "\x80", 0},
	    {"ab", "ab", MV_FMT_MALFORMED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		raw_head(&w, 1, 2);
		raw_node(&w, MV_NODE_FIFO, 0, cases[i].a, strlen(cases[i].a));
		raw_node(&w, MV_NODE_FIFO, 0, cases[i].b, strlen(cases[i].b));
		if (decode_raw(&w) != cases[i].rc)
			fail_msg("order case %zu (%s, %s)", i, cases[i].a, cases[i].b);
	}
	/* Out of order in the middle of a longer list. */
	raw_head(&w, 1, 4);
	raw_node(&w, MV_NODE_FIFO, 0, "a", 1);
	raw_node(&w, MV_NODE_FIFO, 0, "c", 1);
	raw_node(&w, MV_NODE_FIFO, 0, "b", 1);
	raw_node(&w, MV_NODE_FIFO, 0, "d", 1);
	assert_int_equal(decode_raw(&w), MV_FMT_MALFORMED);
}

/* ---- in-memory operations ------------------------------------------------ */

static void test_tree__sort_find_and_duplicates(void **state)
{
	(void)state;
	struct mv_tree t;
	static const char *names[] = {"m", "b", "ab", "a", "\xff", "zz", "z", "A", "a0"};
	static const char *sorted[] = {"A", "a", "a0", "ab", "b", "m", "z", "zz", "\xff"};
	const size_t n = sizeof(names) / sizeof(names[0]);

	mv_tree_init(&t);
	for (size_t i = 0; i < n; i++)
		add(&t, make_node(MV_NODE_FIFO, names[i], strlen(names[i]), (uint32_t)i));
	assert_int_equal(mv_tree_sort(&t), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(t.nodes[i].name_len, strlen(sorted[i]));
		assert_memory_equal(t.nodes[i].name, sorted[i], strlen(sorted[i]));
		const struct mv_node *f =
		    mv_tree_find(&t, (const uint8_t *)sorted[i], strlen(sorted[i]));
		assert_ptr_equal(f, &t.nodes[i]);
	}
	assert_null(mv_tree_find(&t, (const uint8_t *)"aa", 2));
	assert_null(mv_tree_find(&t, (const uint8_t *)"zzz", 3));
	assert_null(mv_tree_find(&t, (const uint8_t *)"", 0));
	assert_null(mv_tree_find(&t, (const uint8_t *)"0", 1));

	/* A duplicate makes sort fail, and encode refuses the tree. */
	add(&t, make_node(MV_NODE_SOCK, "m", 1, 99));
	assert_int_equal(mv_tree_sort(&t), MV_FMT_MALFORMED);
	struct mv_wbuf w;
	mv_wbuf_init(&w, WMAX);
	mv_tree_encode(&t, &w);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	mv_tree_release(&t);
}

static void test_tree__add_grows(void **state)
{
	(void)state;
	struct mv_tree t;
	char name[16];

	mv_tree_init(&t);
	for (uint32_t i = 0; i < 5000; i++) {
		int len = snprintf(name, sizeof(name), "n%05u", (unsigned)(4999 - i));
		add(&t, make_node(MV_NODE_FIFO, name, (size_t)len, i));
		assert_true(t.cap >= t.count);
		assert_true(t.cap <= 2 * t.count + 16);
	}
	assert_int_equal(t.count, 5000);
	assert_int_equal(mv_tree_sort(&t), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		int len = snprintf(name, sizeof(name), "n%05u", (unsigned)i);
		const struct mv_node *f = mv_tree_find(&t, (const uint8_t *)name, (size_t)len);
		assert_non_null(f);
		assert_int_equal(f->uid, 1000u + (4999 - i));
	}
	mv_tree_release(&t);
	assert_empty(&t);
	mv_tree_release(NULL);
	mv_node_release(NULL);
}

static void test_tree__encode_refuses_invalid(void **state)
{
	(void)state;
	struct mv_tree t;
	struct mv_wbuf w;
	struct mv_node *n;

	/* Unsorted: encode must refuse rather than write an unreadable tree. */
	mv_tree_init(&t);
	add(&t, make_node(MV_NODE_FIFO, "b", 1, 0));
	add(&t, make_node(MV_NODE_FIFO, "a", 1, 0));
	mv_wbuf_init(&w, WMAX);
	mv_tree_encode(&t, &w);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	assert_int_equal(mv_tree_sort(&t), 0);
	encode_tree(&t, &w);
	mv_wbuf_release(&w);

	n = &t.nodes[0];
	n->kind = 8;
	mv_wbuf_init(&w, WMAX);
	mv_tree_encode(&t, &w);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	n->kind = MV_NODE_FIFO;
	n->flags = 4;
	mv_wbuf_init(&w, WMAX);
	mv_tree_encode(&t, &w);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	n->flags = 0;
	n->kind = MV_NODE_SYMLINK; /* no target */
	mv_wbuf_init(&w, WMAX);
	mv_tree_encode(&t, &w);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	n->kind = MV_NODE_FIFO;
	n->name[0] = '/';
	mv_wbuf_init(&w, WMAX);
	mv_tree_encode(&t, &w);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	mv_tree_release(&t);
}

/* ---- split trees (payload version 2) ------------------------------------- */

/* A part list of count distinct ids (byte j of id i is i * 7 + j + seed). */
static void make_parts(struct mv_tree_parts *tp, uint64_t nodes, uint32_t count, uint8_t seed)
{
	tp->nodes = nodes;
	tp->count = count;
	tp->ids = malloc((size_t)(count ? count : 1) * 32);
	assert_non_null(tp->ids);
	for (uint32_t i = 0; i < count; i++)
		for (unsigned j = 0; j < 32; j++)
			tp->ids[i][j] = (uint8_t)(i * 7u + j + seed + (i >> 8));
}

static void assert_parts_empty(const struct mv_tree_parts *tp)
{
	assert_null(tp->ids);
	assert_int_equal(tp->count, 0);
	assert_true(tp->nodes == 0);
}

/* Writes a version 2 payload without validation: head, then ids bytes. */
static void raw_parts(struct mv_wbuf *w, uint8_t version, uint64_t nodes, uint32_t count,
                      size_t id_bytes)
{
	mv_wbuf_init(w, WMAX);
	mv_wbuf_u8(w, version);
	mv_wbuf_u64(w, nodes);
	mv_wbuf_u32(w, count);
	uint8_t *p = mv_wbuf_reserve(w, id_bytes);
	assert_true(id_bytes == 0 || p != NULL);
	for (size_t i = 0; i < id_bytes; i++)
		p[i] = (uint8_t)(i * 13u + 1u);
	assert_false(w->failed);
}

/* Decodes w's bytes from an exact-size copy (so ASan sees any over-read). */
static int decode_parts_raw(struct mv_wbuf *w)
{
	struct mv_tree_parts tp;
	uint8_t *p = xdup(w->data, w->len);
	memset(&tp, 0xa5, sizeof(tp)); /* the callee must initialise it */
	int rc = mv_tree_parts_decode(p, w->len, &tp);
	if (rc)
		assert_parts_empty(&tp);
	mv_tree_parts_release(&tp);
	assert_parts_empty(&tp);
	free(p);
	mv_wbuf_release(w);
	return rc;
}

static void encode_parts_ok(const struct mv_tree_parts *tp, struct mv_wbuf *w)
{
	mv_wbuf_init(w, WMAX);
	mv_tree_parts_encode(tp, w);
	assert_false(w->failed);
	assert_int_equal(w->len, 13u + (size_t)tp->count * 32u);
}

/* Encodes, decodes, compares and re-encodes tp. */
static void parts_round_trip(const struct mv_tree_parts *tp)
{
	struct mv_wbuf w, w2;
	struct mv_tree_parts d;

	encode_parts_ok(tp, &w);
	assert_int_equal(w.data[0], 2);
	assert_true(mv_get_u64(w.data + 1) == tp->nodes);
	assert_int_equal(mv_get_u32(w.data + 9), tp->count);
	assert_memory_equal(w.data + 13, tp->ids, (size_t)tp->count * 32u);
	assert_int_equal(mv_tree_payload_version(w.data, w.len), 2);

	memset(&d, 0x5a, sizeof(d));
	assert_int_equal(mv_tree_parts_decode(w.data, w.len, &d), 0);
	assert_true(d.nodes == tp->nodes);
	assert_int_equal(d.count, tp->count);
	assert_non_null(d.ids);
	assert_ptr_not_equal(d.ids, tp->ids);
	assert_memory_equal(d.ids, tp->ids, (size_t)tp->count * 32u);

	encode_parts_ok(&d, &w2);
	assert_int_equal(w2.len, w.len);
	assert_memory_equal(w2.data, w.data, w.len);

	mv_tree_parts_release(&d);
	assert_parts_empty(&d);
	mv_wbuf_release(&w);
	mv_wbuf_release(&w2);
}

static void test_tree__split_round_trip(void **state)
{
	(void)state;
	struct mv_tree_parts tp;

	/* A typical list: 3 parts, the last one short. */
	make_parts(&tp, 2u * MV_TREE_PART_NODES + 17u, 3, 0x40);
	parts_round_trip(&tp);
	mv_tree_parts_release(&tp);
	assert_parts_empty(&tp);

	/* The bounds: fewest parts and nodes, most parts, most nodes. */
	make_parts(&tp, 2, 2, 0);
	parts_round_trip(&tp);
	mv_tree_parts_release(&tp);
	make_parts(&tp, MV_TREE_MAX_PARTS, MV_TREE_MAX_PARTS, 1);
	parts_round_trip(&tp);
	mv_tree_parts_release(&tp);
	make_parts(&tp, MV_TREE_SPLIT_MAX_NODES, MV_TREE_MAX_PARTS, 2);
	parts_round_trip(&tp);
	mv_tree_parts_release(&tp);
	make_parts(&tp, MV_TREE_SPLIT_MAX_NODES, 2, 3);
	parts_round_trip(&tp);
	mv_tree_parts_release(&tp);

	/* The exact layout, written out by hand: u8 version 2, u64 node count,
	 * u32 part count, the ids; all little-endian. */
	static const uint8_t expect[] = {
	    0x02,                                           /* version */
	    0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, /* 0x01020304 nodes */
	    0x02, 0x00, 0x00, 0x00,                         /* 2 parts */
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, /* part 0 */
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, /* ... */
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, /* ... */
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, /* ... */
	    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, /* part 1 */
	    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, /* ... */
	    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, /* ... */
	    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0xff, /* ... */
	};
	struct mv_wbuf w;
	uint8_t ids[2][32];
	memset(ids[0], 0x11, 32);
	for (unsigned j = 0; j < 32; j++)
		ids[1][j] = (uint8_t)j;
	ids[1][31] = 0xff;
	tp.nodes = 0x01020304u;
	tp.count = 2;
	tp.ids = ids;
	encode_parts_ok(&tp, &w);
	assert_int_equal(w.len, sizeof(expect));
	assert_memory_equal(w.data, expect, sizeof(expect));
	mv_wbuf_release(&w);

	struct mv_tree_parts d;
	assert_int_equal(mv_tree_parts_decode(expect, sizeof(expect), &d), 0);
	assert_true(d.nodes == 0x01020304u);
	assert_int_equal(d.count, 2);
	assert_memory_equal(d.ids, ids, sizeof(ids));
	mv_tree_parts_release(&d);
	mv_tree_parts_release(&d); /* twice is fine */
	mv_tree_parts_release(NULL);
}

static void test_tree__split_limits(void **state)
{
	(void)state;
	static const struct {
		uint64_t nodes;
		uint32_t count;
	} bad[] = {
	    {0, 0},
	    {5, 0},
	    {1, 1},
	    {MV_TREE_PART_NODES, 1},
	    {MV_TREE_MAX_PARTS + 1, MV_TREE_MAX_PARTS + 1},
	    {MV_TREE_SPLIT_MAX_NODES, MV_TREE_MAX_PARTS + 1},
	    {0xffffffffu, 0xffffffffu},
	    {1, 2}, /* fewer nodes than parts */
	    {0, 2}, /* ... */
	    {2, 3}, /* ... */
	    {MV_TREE_MAX_PARTS - 1, MV_TREE_MAX_PARTS},
	    {MV_TREE_SPLIT_MAX_NODES + 1ull, 2}, /* more than the limit */
	    {MV_TREE_SPLIT_MAX_NODES + 1ull, MV_TREE_MAX_PARTS},
	    {(1ull << 32) + 5u, 3}, /* only the low 32 bits are within limits */
	    {UINT64_MAX, 2},
	    {1ull << 63, 2},
	};
	struct mv_tree_parts tp;
	struct mv_wbuf w;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* ids for up to MV_TREE_MAX_PARTS + 1 parts, so a bad encoder
		 * would not read out of bounds before the check */
		uint32_t n = bad[i].count <= MV_TREE_MAX_PARTS + 1 ? bad[i].count : 1;
		make_parts(&tp, bad[i].nodes, n, (uint8_t)i);
		tp.count = bad[i].count;
		mv_wbuf_init(&w, WMAX);
		mv_tree_parts_encode(&tp, &w);
		if (!w.failed || w.len != 0)
			fail_msg("encode accepted case %zu", i);
		mv_wbuf_release(&w);
		mv_tree_parts_release(&tp);

		raw_parts(&w, 2, bad[i].nodes, bad[i].count, (size_t)n * 32u);
		if (decode_parts_raw(&w) != MV_FMT_MALFORMED)
			fail_msg("decode accepted case %zu", i);
	}
	/* The same payloads one step inside the limits decode. */
	raw_parts(&w, 2, 2, 2, 64);
	assert_int_equal(decode_parts_raw(&w), 0);
	raw_parts(&w, 2, MV_TREE_SPLIT_MAX_NODES, 2, 64);
	assert_int_equal(decode_parts_raw(&w), 0);
	raw_parts(&w, 2, MV_TREE_MAX_PARTS, MV_TREE_MAX_PARTS, (size_t)MV_TREE_MAX_PARTS * 32u);
	assert_int_equal(decode_parts_raw(&w), 0);

	/* Part count against the input: one id short, one id too many, and a
	 * huge count with little input. */
	raw_parts(&w, 2, 10, 3, 64);
	assert_int_equal(decode_parts_raw(&w), MV_FMT_MALFORMED);
	raw_parts(&w, 2, 10, 3, 128);
	assert_int_equal(decode_parts_raw(&w), MV_FMT_MALFORMED);
	raw_parts(&w, 2, 10, 3, 96);
	assert_int_equal(decode_parts_raw(&w), 0);
	raw_parts(&w, 2, MV_TREE_SPLIT_MAX_NODES, MV_TREE_MAX_PARTS, 64);
	assert_int_equal(decode_parts_raw(&w), MV_FMT_MALFORMED);

	/* Truncation at every offset, and a trailing byte. */
	make_parts(&tp, 3u * MV_TREE_PART_NODES, 3, 0x77);
	encode_parts_ok(&tp, &w);
	for (size_t cut = 0; cut < w.len; cut++) {
		struct mv_tree_parts d;
		uint8_t *p = xdup(w.data, cut);
		memset(&d, 0xa5, sizeof(d));
		int rc = mv_tree_parts_decode(p, cut, &d);
		if (rc != MV_FMT_MALFORMED)
			fail_msg("prefix of %zu/%zu bytes decoded with %d", cut, w.len, rc);
		assert_parts_empty(&d);
		free(p);
	}
	for (unsigned v = 0; v < 256; v++) {
		struct mv_tree_parts d;
		uint8_t *p = xdup(w.data, w.len);
		p[0] = (uint8_t)v;
		int rc = mv_tree_parts_decode(p, w.len, &d);
		assert_int_equal(rc, v == 2 ? 0 : MV_FMT_MALFORMED);
		if (rc)
			assert_parts_empty(&d);
		mv_tree_parts_release(&d);
		free(p);
	}
	mv_wbuf_u8(&w, 0);
	{
		struct mv_tree_parts d;
		assert_int_equal(mv_tree_parts_decode(w.data, w.len, &d), MV_FMT_MALFORMED);
		assert_parts_empty(&d);
	}
	mv_wbuf_release(&w);

	/* mv_tree_decode rejects a version 2 payload... */
	encode_parts_ok(&tp, &w);
	{
		struct mv_tree d;
		assert_int_equal(mv_tree_decode(w.data, w.len, &d), MV_FMT_MALFORMED);
		assert_empty(&d);
	}
	mv_wbuf_release(&w);
	mv_tree_parts_release(&tp);

	/* ... and mv_tree_parts_decode a version 1 one, empty or not (a v1
	 * tree of 13 + k * 32 bytes included, so that the length alone does
	 * not give it away). */
	struct mv_tree t;
	struct mv_tree_parts d;
	build_full_tree(&t);
	encode_tree(&t, &w);
	assert_int_equal(mv_tree_parts_decode(w.data, w.len, &d), MV_FMT_MALFORMED);
	assert_parts_empty(&d);
	mv_wbuf_release(&w);
	mv_tree_release(&t);
	mv_tree_init(&t);
	encode_tree(&t, &w);
	assert_int_equal(mv_tree_parts_decode(w.data, w.len, &d), MV_FMT_MALFORMED);
	assert_parts_empty(&d);
	mv_wbuf_release(&w);
	/* version 1 bytes laid out like a valid part list */
	raw_parts(&w, 1, 10, 2, 64);
	assert_int_equal(decode_parts_raw(&w), MV_FMT_MALFORMED);
	assert_int_equal(mv_tree_parts_decode(NULL, 0, &d), MV_FMT_MALFORMED);
	assert_parts_empty(&d);
}

static void test_tree__payload_version(void **state)
{
	(void)state;
	struct mv_tree t;
	struct mv_tree_parts tp;
	struct mv_wbuf w;

	assert_int_equal(mv_tree_payload_version(NULL, 0), 0);
	assert_int_equal(mv_tree_payload_version((const uint8_t *)"\x01", 0), 0);

	mv_tree_init(&t);
	encode_tree(&t, &w);
	assert_int_equal(mv_tree_payload_version(w.data, w.len), 1);
	mv_wbuf_release(&w);
	build_full_tree(&t);
	encode_tree(&t, &w);
	assert_int_equal(mv_tree_payload_version(w.data, w.len), 1);
	mv_wbuf_release(&w);
	mv_tree_release(&t);

	make_parts(&tp, 100, 4, 9);
	encode_parts_ok(&tp, &w);
	assert_int_equal(mv_tree_payload_version(w.data, w.len), 2);
	mv_wbuf_release(&w);
	mv_tree_parts_release(&tp);

	/* Only the first byte counts; other versions are reported as they are
	 * (for the decoders to reject), a one-byte payload too. */
	for (unsigned v = 1; v < 256; v++) {
		uint8_t b[2] = {(uint8_t)v, 2};
		assert_int_equal(mv_tree_payload_version(b, 1), (int)v);
		assert_int_equal(mv_tree_payload_version(b, 2), (int)v);
	}
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void test_tree__node_name_cmp(void **state)
{
	(void)state;
	static const struct {
		const char *a, *b;
		int sign;
	} cases[] = {
	    {"a", "a", 0},        {"a", "ab", -1},     {"ab", "a", 1},          {"ab", "b", -1},
	    {"abc", "abd", -1},   {"B", "a", -1},      {"a", "\xff", -1},       {"\xff", "a", 1},
	    {"\x7f", "\x80", -1}, {"\x80", "\x7f", 1}, {"z", "\x80", -1},       {"a\xff", "ab", 1},
	    {"a", "a\x01", -1},   {"a\x01", "a", 1},   {"\xff\xff", "\xff", 1}, {"\xff", "\xff", 0},
	    {"abc", "abc", 0},    {"a.", "a", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mv_node a = make_node(MV_NODE_FIFO, cases[i].a, strlen(cases[i].a), 1);
		struct mv_node b = make_node(MV_NODE_SOCK, cases[i].b, strlen(cases[i].b), 2);
		if (sign(mv_node_name_cmp(&a, &b)) != cases[i].sign ||
		    sign(mv_node_name_cmp(&b, &a)) != -cases[i].sign)
			fail_msg("name case %zu (%s, %s)", i, cases[i].a, cases[i].b);
		mv_node_release(&a);
		mv_node_release(&b);
	}

	/* Names that are not NUL-terminated: only name_len bytes count. */
	struct mv_node a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.name = (uint8_t *)(uintptr_t) "abZ";
	a.name_len = 2;
	b.name = (uint8_t *)(uintptr_t) "abc";
	b.name_len = 2;
	assert_int_equal(mv_node_name_cmp(&a, &b), 0);
	b.name_len = 3;
	assert_true(mv_node_name_cmp(&a, &b) < 0);

	/* The order mv_tree_sort and the decoder use. */
	static const char *names[] = {"m", "\xff", "ab", "a", "\x80z", "zz", "z", "A", "a\xff"};
	struct mv_tree t;
	mv_tree_init(&t);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add(&t, make_node(MV_NODE_FIFO, names[i], strlen(names[i]), (uint32_t)i));
	assert_int_equal(mv_tree_sort(&t), 0);
	for (size_t i = 1; i < t.count; i++)
		assert_true(mv_node_name_cmp(&t.nodes[i - 1], &t.nodes[i]) < 0);
	assert_memory_equal(t.nodes[t.count - 1].name, "\xff", 1);
	mv_tree_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tree__round_trip_every_kind),
	    cmocka_unit_test(test_tree__golden_bytes),
	    cmocka_unit_test(test_tree__empty_tree),
	    cmocka_unit_test(test_tree__truncation_at_every_offset),
	    cmocka_unit_test(test_tree__trailing_garbage_rejected),
	    cmocka_unit_test(test_tree__huge_counts_rejected_before_allocating),
	    cmocka_unit_test(test_tree__counts_within_limits_checked_against_input),
	    cmocka_unit_test(test_tree__bad_version_kind_flags_rejected),
	    cmocka_unit_test(test_tree__name_rules),
	    cmocka_unit_test(test_tree__symlink_target_rules),
	    cmocka_unit_test(test_tree__unsorted_and_duplicate_names_rejected),
	    cmocka_unit_test(test_tree__sort_find_and_duplicates),
	    cmocka_unit_test(test_tree__add_grows),
	    cmocka_unit_test(test_tree__encode_refuses_invalid),
	    cmocka_unit_test(test_tree__split_round_trip),
	    cmocka_unit_test(test_tree__split_limits),
	    cmocka_unit_test(test_tree__payload_version),
	    cmocka_unit_test(test_tree__node_name_cmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
