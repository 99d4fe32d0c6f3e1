/* Unit tests of the command-line option parser (cli/options.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/options.h"

enum { O_EXCLUDE = 1, O_FORCE, O_LONG };

static const struct cli_opt_spec local_opts[] = {
    {"exclude", 'e', 1, O_EXCLUDE},
    {"force", 0, 0, O_FORCE},
    {"long", 'l', 0, O_LONG},
    {NULL, 0, 0, 0},
};

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Runs the command parser over argv (argv[0] = command name) and records
 * what it returns as "id=value" / "arg=value" / "error" tokens. */
static void run_cmd(int argc, char **argv, struct cli_globals *g, int args_only, char *out,
                    size_t cap)
{
	struct cli_opt_iter it;
	int c;

	out[0] = '\0';
	cli_opt_init(&it, argc, argv, 1, local_opts, cli_global_opts, args_only);
	while ((c = cli_cmd_next(&it, g)) != CLI_OPT_DONE) {
		size_t n = strlen(out);
		if (c == CLI_OPT_ERROR) {
			snprintf(out + n, cap - n, "error(%s)", it.err);
			return;
		}
		if (c == CLI_OPT_ARG)
			snprintf(out + n, cap - n, "arg=%s;", it.value);
		else
			snprintf(out + n, cap - n, "%d=%s;", c, it.value ? it.value : "-");
	}
}

/* run_cmd, then checks what it recorded. */
static void expect_cmd(int argc, char **argv, struct cli_globals *g, int args_only,
                       const char *want)
{
	char out[512];

	run_cmd(argc, argv, g, args_only, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_cli_options__leading_globals_find_the_command(void **state)
{
	char *argv[] = {"medvault", "-r", "/repo", "--json", "-q", "backup", "/src"};
	struct cli_globals g = {0};
	char err[256];
	(void)state;

	assert_int_equal(cli_parse_leading(ARGC(argv), argv, &g, err, sizeof(err)), 5);
	assert_string_equal(g.repo, "/repo");
	assert_int_equal(g.json, 1);
	assert_int_equal(g.quiet, 1);
	assert_int_equal(g.args_only, 0);
}

static void test_cli_options__no_command(void **state)
{
	char *argv[] = {"medvault", "-v", "--help"};
	struct cli_globals g = {0};
	char err[256];
	(void)state;

	assert_int_equal(cli_parse_leading(ARGC(argv), argv, &g, err, sizeof(err)), ARGC(argv));
	assert_int_equal(g.help, 1);
	assert_int_equal(g.verbose, 1);
}

static void test_cli_options__globals_after_the_command(void **state)
{
	char *argv[] = {"backup",  "/src",      "-r",    "/repo",
	                "--quiet", "--exclude", "*.tmp", "--password-file",
	                "/pw",     "/more",     "--json"};
	struct cli_globals g = {0};
	(void)state;

	expect_cmd(ARGC(argv), argv, &g, 0, "arg=/src;1=*.tmp;arg=/more;");
	assert_string_equal(g.repo, "/repo");
	assert_string_equal(g.password_file, "/pw");
	assert_int_equal(g.quiet, 1);
	assert_int_equal(g.json, 1);
}

static void test_cli_options__equals_forms(void **state)
{
	char *argv[] = {"backup", "--repo=/r=1", "--exclude=a=b", "--exclude=", "-r=/r2", "x"};
	struct cli_globals g = {0};
	(void)state;

	expect_cmd(ARGC(argv), argv, &g, 0, "1=a=b;1=;arg=x;");
	assert_string_equal(g.repo, "/r2"); /* the last one wins */
}

static void test_cli_options__short_forms_and_clusters(void **state)
{
	char *argv[] = {"ls", "-rREPO", "-lq", "-qe", "PAT", "-v", "-v", "-", "snap"};
	struct cli_globals g = {0};
	(void)state;

	expect_cmd(ARGC(argv), argv, &g, 0, "3=-;1=PAT;arg=-;arg=snap;");
	assert_string_equal(g.repo, "REPO");
	assert_int_equal(g.quiet, 1);
	assert_int_equal(g.verbose, 2);
}

static void test_cli_options__unknown_options_are_errors(void **state)
{
	char *a1[] = {"backup", "/src", "--bogus", "--force"};
	char *a2[] = {"backup", "-lZ"};
	char *a3[] = {"backup", "--excl", "x"}; /* no abbreviations */
	char *a4[] = {"medvault", "--nope", "backup"};
	struct cli_globals g = {0};
	char err[256];
	(void)state;

	expect_cmd(ARGC(a1), a1, &g, 0, "arg=/src;error(unknown option '--bogus')");
	expect_cmd(ARGC(a2), a2, &g, 0, "3=-;error(unknown option '-Z')");
	expect_cmd(ARGC(a3), a3, &g, 0, "error(unknown option '--excl')");
	assert_int_equal(cli_parse_leading(ARGC(a4), a4, &g, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown option '--nope'");
}

static void test_cli_options__local_options_unknown_before_the_command(void **state)
{
	/* a command's option in front of the command name is not known yet */
	char *argv[] = {"medvault", "--exclude", "x", "backup"};
	struct cli_globals g = {0};
	char err[256];
	(void)state;

	assert_int_equal(cli_parse_leading(ARGC(argv), argv, &g, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown option '--exclude'");
}

static void test_cli_options__missing_and_unexpected_values(void **state)
{
	char *a1[] = {"backup", "--exclude"};
	char *a2[] = {"backup", "-r"};
	char *a3[] = {"backup", "--json=yes"};
	char *a4[] = {"backup", "--force=1"};
	struct cli_globals g = {0};
	(void)state;

	expect_cmd(ARGC(a1), a1, &g, 0, "error(option '--exclude' needs a value)");
	expect_cmd(ARGC(a2), a2, &g, 0, "error(option '-r' needs a value)");
	expect_cmd(ARGC(a3), a3, &g, 0, "error(option '--json' does not take a value)");
	expect_cmd(ARGC(a4), a4, &g, 0, "error(option '--force' does not take a value)");
	assert_int_equal(g.json, 0);
}

static void test_cli_options__value_may_look_like_an_option(void **state)
{
	/* as getopt: a required value is taken as is */
	char *argv[] = {"backup", "--exclude", "--force", "-e", "-x"};
	struct cli_globals g = {0};
	(void)state;

	expect_cmd(ARGC(argv), argv, &g, 0, "1=--force;1=-x;");
}

static void test_cli_options__double_dash_ends_options(void **state)
{
	char *argv[] = {"backup", "-q", "--", "-r", "--json", "--", "-"};
	struct cli_globals g = {0};
	(void)state;

	expect_cmd(ARGC(argv), argv, &g, 0, "arg=-r;arg=--json;arg=--;arg=-;");
	assert_int_equal(g.quiet, 1);
	assert_null(g.repo);
	assert_int_equal(g.json, 0);
}

static void test_cli_options__double_dash_before_the_command(void **state)
{
	char *argv[] = {"medvault", "-q", "--", "backup", "--json", "-r"};
	struct cli_globals g = {0};
	char err[256];
	int i;
	(void)state;

	i = cli_parse_leading(ARGC(argv), argv, &g, err, sizeof(err));
	assert_int_equal(i, 3);
	assert_int_equal(g.args_only, 1);
	expect_cmd(ARGC(argv) - i, argv + i, &g, g.args_only, "arg=--json;arg=-r;");
	assert_int_equal(g.json, 0);
}

static void test_cli_options__threads_value_checked(void **state)
{
	char *a1[] = {"backup", "--threads", "4"};
	char *a2[] = {"backup", "--threads=-1"};
	char *a3[] = {"backup", "--threads", "100000"};
	struct cli_globals g = {0};
	(void)state;

	expect_cmd(ARGC(a1), a1, &g, 0, "");
	assert_int_equal(g.threads, 4);
	expect_cmd(ARGC(a2), a2, &g, 0, "error(option '--threads' needs a number from 0 to 256)");
	expect_cmd(ARGC(a3), a3, &g, 0, "error(option '--threads' needs a number from 0 to 256)");
	assert_int_equal(g.threads, 4);
}

static void test_cli_options__empty_repo_refused(void **state)
{
	char *argv[] = {"snapshots", "--repo="};
	struct cli_globals g = {0};
	(void)state;

	expect_cmd(ARGC(argv), argv, &g, 0, "error(option '--repo' needs a non-empty value)");
	assert_null(g.repo);
}

static void test_cli_options__parse_u64_is_strict(void **state)
{
	uint64_t v = 7;
	(void)state;

	assert_int_equal(cli_parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cli_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(cli_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -1);
	assert_int_equal(cli_parse_u64("", 0, 10, &v), -1);
	assert_int_equal(cli_parse_u64("+1", 0, 10, &v), -1);
	assert_int_equal(cli_parse_u64(" 1", 0, 10, &v), -1);
	assert_int_equal(cli_parse_u64("1x", 0, 10, &v), -1);
	assert_int_equal(cli_parse_u64("11", 0, 10, &v), -1);
	assert_int_equal(cli_parse_u64("2", 3, 10, &v), -1);
	assert_int_equal(v, 7); /* untouched on failure */
}

static void test_cli_options__duration(void **state)
{
	(void)state;
	int64_t ms = 7;
	assert_int_equal(cli_parse_duration("30s", &ms), 0);
	assert_true(ms == 30000);
	assert_int_equal(cli_parse_duration("5m", &ms), 0);
	assert_true(ms == 300000);
	assert_int_equal(cli_parse_duration("2h", &ms), 0);
	assert_true(ms == 7200000);
	assert_int_equal(cli_parse_duration("7d", &ms), 0);
	assert_true(ms == 7LL * 86400000);
	assert_int_equal(cli_parse_duration("45", &ms), 0);
	assert_true(ms == 45000);
	assert_int_equal(cli_parse_duration("0s", &ms), 0);
	assert_true(ms == 0);
	ms = 7;
	const char *bad[] = {"",
	                     "s",
	                     "m",
	                     "5ms",
	                     "1h30m",
	                     "8d",
	                     "604801",
	                     "-5s",
	                     "5 s",
	                     "5x",
	                     "99999999999999999999999h",
	                     NULL};
	for (size_t i = 0; bad[i]; i++)
		assert_int_equal(cli_parse_duration(bad[i], &ms), -1);
	assert_true(ms == 7); /* untouched on failure */
	assert_int_equal(cli_parse_duration(NULL, &ms), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cli_options__leading_globals_find_the_command),
	    cmocka_unit_test(test_cli_options__no_command),
	    cmocka_unit_test(test_cli_options__globals_after_the_command),
	    cmocka_unit_test(test_cli_options__equals_forms),
	    cmocka_unit_test(test_cli_options__short_forms_and_clusters),
	    cmocka_unit_test(test_cli_options__unknown_options_are_errors),
	    cmocka_unit_test(test_cli_options__local_options_unknown_before_the_command),
	    cmocka_unit_test(test_cli_options__missing_and_unexpected_values),
	    cmocka_unit_test(test_cli_options__value_may_look_like_an_option),
	    cmocka_unit_test(test_cli_options__double_dash_ends_options),
	    cmocka_unit_test(test_cli_options__double_dash_before_the_command),
	    cmocka_unit_test(test_cli_options__threads_value_checked),
	    cmocka_unit_test(test_cli_options__empty_repo_refused),
	    cmocka_unit_test(test_cli_options__parse_u64_is_strict),
	    cmocka_unit_test(test_cli_options__duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
