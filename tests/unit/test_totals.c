/* The counting walk of backup's progress (core/ops/totals.c) and the numbers of
 * the check of the sources (core/ops/sourcecheck.c). */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ops/sourcecheck.h"
#include "core/ops/totals.h"
#include "tests/unit/testutil.h"

static void write_file(const char *path, size_t size)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc('x', f);
	fclose(f);
}

/* Polls t until its walk is complete (10 s at most). */
static int wait_done(struct mv_totals *t, uint64_t *files, uint64_t *bytes)
{
	struct timespec ms = {0, 1000000};
	for (int i = 0; i < 10000; i++) {
		if (mv_totals_get(t, files, bytes))
			return 1;
		nanosleep(&ms, NULL);
	}
	return 0;
}

static void test_totals__counts_regular_files_and_bytes(void **state)
{
	char dir[64], p[256], q[256];
	uint64_t files = 1, bytes = 1;
	struct mv_totals *t;
	(void)state;

	tu_tmpdir(dir, sizeof(dir), "mv_test_totals");
	snprintf(p, sizeof(p), "%s/a", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/a/b", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(p, sizeof(p), "%s/a/b/f%d", dir, i);
		write_file(p, (size_t)i);
	}
	snprintf(p, sizeof(p), "%s/a/skip.tmp", dir);
	write_file(p, 1000);
	snprintf(p, sizeof(p), "%s/top", dir);
	write_file(p, 7);
	snprintf(q, sizeof(q), "%s/a/link", dir);
	assert_int_equal(symlink(p, q), 0); /* not followed, not a file */
	snprintf(p, sizeof(p), "%s/a/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0); /* never opened */

	char a[128], top[128];
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(top, sizeof(top), "%s/top", dir);
	char *paths[] = {a, top};
	const char *excl[] = {"*.tmp"};

	/* 0..39 bytes: 780, plus the file given as a path: 7 */
	assert_int_equal(mv_totals_start(paths, 2, excl, 1, NULL, &t), 0);
	assert_true(wait_done(t, &files, &bytes));
	assert_int_equal(files, 41);
	assert_int_equal(bytes, 787);
	mv_totals_stop(t);

	/* without the exclusion */
	assert_int_equal(mv_totals_start(paths, 1, NULL, 0, NULL, &t), 0);
	assert_true(wait_done(t, &files, &bytes));
	assert_int_equal(files, 41);
	assert_int_equal(bytes, 1780);
	mv_totals_stop(t);

	/* cancelled: never complete, and stops */
	volatile sig_atomic_t cancel = 1;
	struct timespec pause = {0, 50000000};
	assert_int_equal(mv_totals_start(paths, 2, NULL, 0, &cancel, &t), 0);
	nanosleep(&pause, NULL);
	assert_int_equal(mv_totals_get(t, &files, &bytes), 0);
	assert_int_equal(files, 0);
	mv_totals_stop(t);

	/* a missing path counts nothing */
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/none", dir);
	char *mp[] = {missing};
	assert_int_equal(mv_totals_start(mp, 1, NULL, 0, NULL, &t), 0);
	assert_true(wait_done(t, &files, &bytes));
	assert_int_equal(files, 0);
	assert_int_equal(bytes, 0);
	mv_totals_stop(t);

	assert_int_equal(mv_totals_get(NULL, &files, &bytes), 0);
	mv_totals_stop(NULL);

	tu_rm_rf(dir);
}

static void test_totals__excluded_rule(void **state)
{
	const char *pats[] = {"*.tmp", "/srv/imaging/cache"};
	(void)state;

	assert_true(mv_excluded(pats, 2, "x.tmp", "/srv/imaging/x.tmp"));
	assert_true(mv_excluded(pats, 2, "cache", "/srv/imaging/cache"));
	assert_false(mv_excluded(pats, 2, "cache", "/srv/other/cache"));
	assert_false(mv_excluded(pats, 2, "x.dcm", "/srv/imaging/x.dcm"));
	assert_false(mv_excluded(NULL, 0, "x.tmp", "/x.tmp"));
}

static void test_totals__counts_have_thousands_separators(void **state)
{
	char b[32];
	(void)state;

	assert_string_equal(mv_fmt_count(0, b), "0");
	assert_string_equal(mv_fmt_count(999, b), "999");
	assert_string_equal(mv_fmt_count(3832, b), "3,832");
	assert_string_equal(mv_fmt_count(1000000, b), "1,000,000");
	assert_string_equal(mv_fmt_count(UINT64_MAX, b), "18,446,744,073,709,551,615");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_totals__counts_regular_files_and_bytes),
	    cmocka_unit_test(test_totals__excluded_rule),
	    cmocka_unit_test(test_totals__counts_have_thousands_separators),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
