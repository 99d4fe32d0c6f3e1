/* Directory listing in batches (core/util/dirlist.c): the names of a directory in
 * strictly increasing bytewise order whatever the batch size, the number of
 * passes over the directory, and what changes between passes do. */
#define _XOPEN_SOURCE 700 /* mkdtemp, openat, unlinkat */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/dirlist.h"

#define NFILES 3000

/* ---- helpers ---------------------------------------------------------- */

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/mv_test_dirlist_XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* Removes the test directory: its files and empty subdirectories (a few
 * rounds, in case removing entries while reading made readdir skip one). */
static int teardown(void **state)
{
	struct fixture *f = *state;
	for (int round = 0; round < 4; round++) {
		DIR *d = opendir(f->dir);
		struct dirent *de;
		if (!d)
			break;
		int fd = dirfd(d);
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (unlinkat(fd, de->d_name, 0) && (errno == EISDIR || errno == EPERM))
				unlinkat(fd, de->d_name, AT_REMOVEDIR);
		}
		closedir(d);
		if (rmdir(f->dir) == 0)
			break;
	}
	int rc = access(f->dir, F_OK) == 0 ? -1 : 0;
	free(f);
	return rc;
}

/* Creates an empty file; returns 0, or -1 when the name exists already. */
static int make_file(const char *dir, const char *name)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return -1;
		fail_msg("cannot create '%s': %s", path, strerror(errno));
	}
	assert_int_equal(close(fd), 0);
	return 0;
}

static void remove_file(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(unlink(path), 0);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct list {
	char **v;
	size_t n, cap;
};

static void list_add(struct list *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	l->v[l->n] = strdup(s);
	assert_non_null(l->v[l->n]);
	l->n++;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* The names readdir gives ("." and ".." left out), sorted with strcmp. */
static void readdir_sorted(const char *dir, struct list *l)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	assert_non_null(d);
	memset(l, 0, sizeof(*l));
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			assert_int_equal(errno, 0);
			break;
		}
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			list_add(l, de->d_name);
	}
	closedir(d);
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), str_cmp);
}

static size_t ceil_div(size_t a, size_t b)
{
	return (a + b - 1) / b;
}

/* Returns the next name from it (asserting success and the order), or NULL
 * at the end. */
static const char *next_name(struct mv_dir_iter *it, const char *prev)
{
	const char *name = NULL;
	int e = -1;
	int rc = mv_dir_next(it, &name, &e);
	if (rc != 0 && rc != 1)
		fail_msg("mv_dir_next returned %d (errno %d)", rc, e);
	assert_int_equal(e, 0);
	if (rc == 0)
		return NULL;
	assert_non_null(name);
	assert_string_not_equal(name, ".");
	assert_string_not_equal(name, "..");
	assert_true(name[0] != '\0');
	if (prev && strcmp(prev, name) >= 0)
		fail_msg("names out of order: after '%s' came '%s'", prev, name);
	return name;
}

/* Lists dir with the given batch into out, checking the order and the pass
 * count after every name: the k-th name (from 0) comes from pass
 * k / batch + 1, since every pass but the last returns exactly batch
 * names. */
static void list_iter(const char *dir, size_t batch, struct list *out, unsigned *passes)
{
	struct mv_dir_iter *it = NULL;
	int e = -1;
	const char *name;
	char prev[256] = "";

	memset(out, 0, sizeof(*out));
	assert_int_equal(mv_dir_open(dir, batch, &it, &e), 0);
	assert_non_null(it);
	assert_int_equal(e, 0);
	assert_int_equal(mv_dir_passes(it), 1); /* the first pass is made by open */
	while ((name = next_name(it, out->n ? prev : NULL)) != NULL) {
		if (mv_dir_passes(it) != out->n / batch + 1)
			fail_msg("batch %zu: name %zu came from pass %u", batch, out->n,
			         mv_dir_passes(it));
		assert_true(strlen(name) < sizeof(prev));
		memcpy(prev, name, strlen(name) + 1);
		list_add(out, name);
	}
	*passes = mv_dir_passes(it);
	/* The end is sticky and reads nothing more. */
	assert_null(next_name(it, NULL));
	assert_null(next_name(it, NULL));
	assert_int_equal(mv_dir_passes(it), *passes);
	mv_dir_close(it);
}

static void assert_lists_equal(const struct list *a, const struct list *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			fail_msg("name %zu: '%s' != '%s'", i, a->v[i], b->v[i]);
}

/* ---- tests ------------------------------------------------------------- */

static void test_dirlist__empty_directory(void **state)
{
	struct fixture *f = *state;
	struct mv_dir_iter *it = NULL;
	const char *name = NULL;
	int e = -1;

	assert_int_equal(mv_dir_open(f->dir, 10, &it, &e), 0);
	assert_int_equal(e, 0);
	assert_int_equal(mv_dir_next(it, &name, &e), 0);
	assert_int_equal(e, 0);
	assert_int_equal(mv_dir_passes(it), 1);
	assert_int_equal(mv_dir_next(it, &name, &e), 0);
	assert_int_equal(mv_dir_passes(it), 1);
	mv_dir_close(it);
	mv_dir_close(NULL);

	/* Also with the default batch, and with batch 1. */
	struct list l;
	unsigned passes;
	list_iter(f->dir, MV_DIR_BATCH, &l, &passes);
	assert_int_equal(l.n, 0);
	assert_int_equal(passes, 1);
	list_iter(f->dir, 1, &l, &passes);
	assert_int_equal(l.n, 0);
	assert_int_equal(passes, 1);
}

/* Deterministic pseudo-random bytes (a 64-bit LCG). */
static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

/* A name of 1..255 bytes: letters, digits, punctuation, control bytes and
 * bytes >= 0x80, never '/' or NUL, never "." or "..". */
static void random_name(uint64_t *s, char *out)
{
	static const char plain[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._- ~";
	uint32_t r = rnd(s);
	size_t len = r % 97 == 0 ? 255 - r % 3 : 1 + r % 12;
	for (size_t i = 0; i < len; i++) {
		uint32_t c = rnd(s);
		uint8_t b;
		if (c % 4 == 0)
			b = (uint8_t)(0x80 + (c >> 8) % 128); /* 0x80..0xff */
		else if (c % 29 == 0)
			b = (uint8_t)(1 + (c >> 8) % 31); /* control bytes */
		else
			b = (uint8_t)plain[(c >> 8) % (sizeof(plain) - 1)];
		out[i] = (char)b;
	}
	out[len] = '\0';
	if (!strcmp(out, ".") || !strcmp(out, ".."))
		out[0] = 'x';
}

/* Fills dir with exactly NFILES entries (one of them a directory): prefix
 * chains ("p", "pp", ...; "q", "q\x80", ...), 255-byte names, dot names
 * other than "." and "..", and pseudo-random names. The generated names go
 * into gen. */
static void fill_dir(const char *dir, struct list *gen)
{
	char name[256];
	uint64_t s = 0x5eed;

	memset(gen, 0, sizeof(*gen));
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/subdir", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	list_add(gen, "subdir");
	for (size_t len = 1; len <= 40; len++) {
		memset(name, 'p', len);
		name[len] = '\0';
		assert_int_equal(make_file(dir, name), 0);
		list_add(gen, name);
		name[0] = 'q';
		memset(name + 1, 0x80 + (int)len, len - 1);
		if (make_file(dir, name) == 0)
			list_add(gen, name);
	}
	static const char *fixed[] = {"...",   ".a",   ".",        "a",    "a\xff", "a\x80",
	                              "a\x7f", "\xff", "\xff\xff", "\x80", "\x01"};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (!strcmp(fixed[i], "."))
			continue;
		if (make_file(dir, fixed[i]) == 0)
			list_add(gen, fixed[i]);
	}
	memset(name, 'z', 255);
	name[255] = '\0';
	assert_int_equal(make_file(dir, name), 0);
	list_add(gen, name);
	name[254] = '\xff';
	assert_int_equal(make_file(dir, name), 0);
	list_add(gen, name);
	while (gen->n < NFILES) {
		random_name(&s, name);
		if (make_file(dir, name) == 0)
			list_add(gen, name);
	}
	qsort(gen->v, gen->n, sizeof(*gen->v), str_cmp);
}

static void test_dirlist__sorted_in_every_batch_size(void **state)
{
	struct fixture *f = *state;
	struct list gen, want, got;
	static const size_t batches[] = {13, 64, 1000, 2999, 3000, 3001, MV_DIR_BATCH};
	size_t high = 0;

	fill_dir(f->dir, &gen);
	readdir_sorted(f->dir, &want);
	assert_int_equal(want.n, NFILES);
	assert_lists_equal(&want, &gen); /* the file system kept every byte */
	for (size_t i = 0; i < want.n; i++)
		for (const char *p = want.v[i]; *p; p++)
			high += (unsigned char)*p >= 0x80;
	assert_true(high > 1000);

	for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		unsigned passes;
		list_iter(f->dir, batches[i], &got, &passes);
		assert_lists_equal(&got, &want);
		/* A pass that kept batch names out of more candidates is
		 * followed by another; one that kept them all (also exactly
		 * batch of them) is the last: ceil(n / batch) passes. */
		if (passes != ceil_div(NFILES, batches[i]))
			fail_msg("batch %zu: %u passes", batches[i], passes);
		if (batches[i] >= NFILES)
			assert_int_equal(passes, 1);
		list_free(&got);
	}
	list_free(&gen);
	list_free(&want);
}

/* Exactly batch names, and batch + 1: the boundary of the extra pass. */
static void test_dirlist__pass_count_at_batch_multiples(void **state)
{
	struct fixture *f = *state;
	char name[16];
	struct list got;
	unsigned passes;

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "n%02d", i);
		assert_int_equal(make_file(f->dir, name), 0);
	}
	static const struct {
		size_t batch;
		unsigned passes;
	} cases[] = {{1, 20}, {2, 10}, {3, 7}, {4, 5}, {5, 4}, {10, 2}, {19, 2}, {20, 1}, {21, 1}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		list_iter(f->dir, cases[i].batch, &got, &passes);
		assert_int_equal(got.n, 20);
		assert_string_equal(got.v[0], "n00");
		assert_string_equal(got.v[19], "n19");
		if (passes != cases[i].passes)
			fail_msg("batch %zu: %u passes", cases[i].batch, passes);
		list_free(&got);
	}

	/* Batch 0 is taken as 1 (not documented in dirlist.h): one name per
	 * pass. */
	struct mv_dir_iter *it = NULL;
	int e;
	char prev[16] = "";
	assert_int_equal(mv_dir_open(f->dir, 0, &it, &e), 0);
	for (int i = 0; i < 20; i++) {
		const char *nm = next_name(it, i ? prev : NULL);
		assert_non_null(nm);
		snprintf(name, sizeof(name), "n%02d", i);
		assert_string_equal(nm, name);
		snprintf(prev, sizeof(prev), "%s", nm);
		assert_int_equal(mv_dir_passes(it), (unsigned)i + 1);
	}
	assert_null(next_name(it, NULL));
	assert_int_equal(mv_dir_passes(it), 20);
	mv_dir_close(it);
}

/* Open descriptors of this process. */
static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* No descriptor is held between calls: a walk below the directory (one
 * iterator per level) cannot run out of descriptors. */
static void test_dirlist__no_descriptor_held(void **state)
{
	struct fixture *f = *state;
	struct mv_dir_iter *it;
	const char *name;
	char nm[8];
	int e, before = open_fds();
	for (int i = 0; i < 30; i++) {
		snprintf(nm, sizeof(nm), "f%02d", i);
		assert_int_equal(make_file(f->dir, nm), 0);
	}
	assert_int_equal(mv_dir_open(f->dir, 10, &it, &e), 0);
	assert_int_equal(open_fds(), before);
	for (int i = 0; i < 30; i++) {
		assert_int_equal(mv_dir_next(it, &name, &e), 1);
		assert_int_equal(open_fds(), before);
	}
	assert_int_equal(mv_dir_next(it, &name, &e), 0);
	assert_int_equal(mv_dir_passes(it), 3);
	mv_dir_close(it);
	assert_int_equal(open_fds(), before);
}

static void test_dirlist__missing_path(void **state)
{
	struct fixture *f = *state;
	struct mv_dir_iter *it = (struct mv_dir_iter *)&it; /* must be reset */
	char path[128];
	int e = 0;

	snprintf(path, sizeof(path), "%s/absent", f->dir);
	assert_int_equal(mv_dir_open(path, 10, &it, &e), MV_ERR_IO);
	assert_int_equal(e, ENOENT);
	assert_null(it);

	/* A file is not a directory. */
	assert_int_equal(make_file(f->dir, "file"), 0);
	snprintf(path, sizeof(path), "%s/file", f->dir);
	e = 0;
	assert_int_equal(mv_dir_open(path, 10, &it, &e), MV_ERR_IO);
	assert_int_equal(e, ENOTDIR);
	assert_null(it);
}

static void make_f_names(const char *dir, int n)
{
	char name[16];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		assert_int_equal(make_file(dir, name), 0);
	}
}

/* Reads the first 10 names (batch 10) of f00..f34 and checks them. */
static struct mv_dir_iter *open_read_first_batch(const char *dir, char *last)
{
	struct mv_dir_iter *it = NULL;
	int e;
	const char *name = NULL;
	char want[16];

	assert_int_equal(mv_dir_open(dir, 10, &it, &e), 0);
	for (int i = 0; i < 10; i++) {
		name = next_name(it, NULL);
		assert_non_null(name);
		snprintf(want, sizeof(want), "f%02d", i);
		assert_string_equal(name, want);
	}
	assert_int_equal(mv_dir_passes(it), 1);
	snprintf(last, 16, "%s", name);
	return it;
}

static void test_dirlist__file_deleted_between_passes(void **state)
{
	struct fixture *f = *state;
	char last[16], want[16];
	const char *name;

	make_f_names(f->dir, 35);
	struct mv_dir_iter *it = open_read_first_batch(f->dir, last);
	assert_string_equal(last, "f09");
	remove_file(f->dir, "f20"); /* in a later batch */
	remove_file(f->dir, "f03"); /* returned already: changes nothing */

	int i = 10;
	while ((name = next_name(it, last)) != NULL) {
		if (i == 20)
			i++;
		snprintf(want, sizeof(want), "f%02d", i);
		assert_string_equal(name, want);
		snprintf(last, sizeof(last), "%s", name);
		i++;
	}
	assert_int_equal(i, 35); /* f10..f34 but f20: nothing else lost */
	/* 24 names after f09: passes of 10, 10 and 4 after the first one. */
	assert_int_equal(mv_dir_passes(it), 4);
	mv_dir_close(it);
}

static void test_dirlist__file_created_between_passes(void **state)
{
	struct fixture *f = *state;
	char last[16];
	struct list got = {0};
	const char *name;

	make_f_names(f->dir, 35);
	struct mv_dir_iter *it = open_read_first_batch(f->dir, last);
	assert_string_equal(last, "f09");
	assert_int_equal(make_file(f->dir, "f095"), 0); /* after "f09": returned */
	assert_int_equal(make_file(f->dir, "f05x"), 0); /* before it: not */
	assert_int_equal(make_file(f->dir, "zz"), 0);   /* after everything */
	while ((name = next_name(it, got.n ? got.v[got.n - 1] : last)) != NULL)
		list_add(&got, name);
	assert_int_equal(got.n, 27);
	assert_string_equal(got.v[0], "f095");
	for (size_t i = 1; i < 26; i++) {
		char want[16];
		snprintf(want, sizeof(want), "f%02zu", i + 9);
		assert_string_equal(got.v[i], want);
	}
	assert_string_equal(got.v[26], "zz");
	/* 27 names after f09: passes of 10, 10 and 7 after the first one. */
	assert_int_equal(mv_dir_passes(it), 4);
	mv_dir_close(it);
	list_free(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dirlist__empty_directory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dirlist__sorted_in_every_batch_size, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_dirlist__pass_count_at_batch_multiples, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_dirlist__missing_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dirlist__no_descriptor_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dirlist__file_deleted_between_passes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_dirlist__file_created_between_passes, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
