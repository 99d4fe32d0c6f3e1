/* Unit tests of the progress line's text (cli/progress.c): the totals, the
 * percentage and the time left appear once a total is known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/progress.h"

#define MIB (1024ull * 1024)

static void test_progress__no_total_no_percent_no_eta(void **state)
{
	struct mv_progress p = {.files_done = 120, .bytes_done = 40 * MIB};
	char line[256];
	(void)state;

	cli_progress_format(line, sizeof(line), &p, 10);
	assert_string_equal(line, "[0:10] 120 files  40.000 MiB  4.000 MiB/s");
}

static void test_progress__total_gives_percent_and_eta(void **state)
{
	struct mv_progress p = {.files_done = 120,
	                        .files_total = 300,
	                        .bytes_done = 40 * MIB,
	                        .bytes_total = 100 * MIB};
	char line[256];
	(void)state;

	/* 4 MiB/s so far, 60 MiB left: 15 s */
	cli_progress_format(line, sizeof(line), &p, 10);
	assert_string_equal(line, "[0:10] 40.00%  120 / 300 files  40.000 MiB / 100.000 MiB  "
	                          "ETA 0:15  4.000 MiB/s");
}

static void test_progress__eta_waits_for_a_rate(void **state)
{
	struct mv_progress p = {
	    .files_done = 1, .files_total = 300, .bytes_done = MIB, .bytes_total = 100 * MIB};
	char line[256];
	(void)state;

	cli_progress_format(line, sizeof(line), &p, 0.2);
	assert_string_equal(line, "[0:00] 1.00%  1 / 300 files  1.000 MiB / 100.000 MiB");
}

static void test_progress__hours_and_done_past_total(void **state)
{
	struct mv_progress p = {.files_done = 10,
	                        .files_total = 1000,
	                        .bytes_done = 1 * MIB,
	                        .bytes_total = 10000 * MIB};
	struct mv_progress over = {
	    .files_done = 12, .files_total = 10, .bytes_done = 30 * MIB, .bytes_total = 20 * MIB};
	char line[256];
	(void)state;

	/* 1 MiB in 1 s, 9999 MiB left: 2:46:39 */
	cli_progress_format(line, sizeof(line), &p, 1);
	assert_non_null(strstr(line, "0.01%  10 / 1000 files"));
	assert_non_null(strstr(line, "ETA 2:46:39"));
	/* files grew during the backup: 100 %, no time left */
	cli_progress_format(line, sizeof(line), &over, 3);
	assert_string_equal(line, "[0:03] 100.00%  12 / 10 files  30.000 MiB / 20.000 MiB  "
	                          "10.000 MiB/s");
}

static void test_progress__reused_bytes_take_no_time(void **state)
{
	/* 80 MiB done in 10 s, 60 of them reused from the parent: 2 MiB/s
	 * read, 20 MiB left: 10 s */
	struct mv_progress p = {.files_done = 80,
	                        .files_total = 100,
	                        .bytes_done = 80 * MIB,
	                        .bytes_total = 100 * MIB,
	                        .bytes_reused = 60 * MIB};
	struct mv_progress all = {.files_done = 50,
	                          .files_total = 100,
	                          .bytes_done = 50 * MIB,
	                          .bytes_total = 100 * MIB,
	                          .bytes_reused = 50 * MIB};
	char line[256];
	(void)state;

	cli_progress_format(line, sizeof(line), &p, 10);
	assert_string_equal(line, "[0:10] 80.00%  80 / 100 files  80.000 MiB / 100.000 MiB  "
	                          "ETA 0:10  2.000 MiB/s");
	/* nothing read yet: no rate, no time left */
	cli_progress_format(line, sizeof(line), &all, 10);
	assert_string_equal(line, "[0:10] 50.00%  50 / 100 files  50.000 MiB / 100.000 MiB");
}

static void test_progress__empty_files_percent_by_count(void **state)
{
	struct mv_progress p = {.files_done = 25, .files_total = 100};
	char line[256];
	(void)state;

	cli_progress_format(line, sizeof(line), &p, 2);
	assert_string_equal(line, "[0:02] 25.00%  25 / 100 files  0 B");
}

static void test_progress__cut_to_the_buffer(void **state)
{
	struct mv_progress p = {.files_done = 120,
	                        .files_total = 300,
	                        .bytes_done = 40 * MIB,
	                        .bytes_total = 100 * MIB};
	char line[256], small[20];
	(void)state;

	size_t full = cli_progress_format(line, sizeof(line), &p, 10);
	memset(small, 'x', sizeof(small));
	size_t n = cli_progress_format(small, sizeof(small), &p, 10);
	assert_int_equal(n, sizeof(small) - 1);
	assert_int_equal(strlen(small), n);
	assert_memory_equal(small, line, n);
	assert_true(full > n);
	assert_int_equal(cli_progress_format(small, 1, &p, 10), 0);
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_progress__no_total_no_percent_no_eta),
	    cmocka_unit_test(test_progress__total_gives_percent_and_eta),
	    cmocka_unit_test(test_progress__eta_waits_for_a_rate),
	    cmocka_unit_test(test_progress__hours_and_done_past_total),
	    cmocka_unit_test(test_progress__reused_bytes_take_no_time),
	    cmocka_unit_test(test_progress__empty_files_percent_by_count),
	    cmocka_unit_test(test_progress__cut_to_the_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
