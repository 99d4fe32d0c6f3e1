/* Unit tests of the man page and completion generator (cli/helpgen.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/helpgen.h"

/* A command with subcommands, as 'key' and 'repair' are. */
static const struct cli_help key_help = {
    "medvault key list|add|remove ID|passwd|test --recovery|passphrase -r LOCATION [options]",
    "keys", "Keys.", NULL, "medvault key list\n"};

/* The program's table lives in main.c: a table of real commands here. */
const struct cli_command cli_commands[] = {
    {"key", cmd_help, CLI_CMD_REPO, &key_help},
    {"backup", cmd_backup, CLI_CMD_REPO, &cmd_backup_help},
    {"dump", cmd_dump, CLI_CMD_REPO, &cmd_dump_help},
    {"help", cmd_help, 0, &cmd_help_help},
    {NULL, NULL, 0, NULL},
};

/* Records "name=value;" for each option name of a help entry. */
static void record(const char *name, size_t len, const char *value, size_t vlen, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%.*s=%.*s;", (int)len, name, (int)vlen, value);
}

static void names(const char *flags, char *out)
{
	out[0] = '\0';
	cli_help_flag_names(flags, record, out);
}

static void test_helpgen__flag_names(void **state)
{
	char out[256];

	(void)state;
	names("-e, --exclude PATTERN", out);
	assert_string_equal(out, "-e=PATTERN;--exclude=PATTERN;");
	names("--force", out);
	assert_string_equal(out, "--force=;");
	names("-l, --long", out);
	assert_string_equal(out, "-l=;--long=;");
	names("--format tar|zip", out);
	assert_string_equal(out, "--format=tar|zip;");
	names("--read-data-subset N%|n/m", out);
	assert_string_equal(out, "--read-data-subset=N%|n/m;");
	names("--max-unused=LIMIT", out);
	assert_string_equal(out, "--max-unused=LIMIT;");
	/* not an option: nothing */
	names("PATTERN", out);
	assert_string_equal(out, "");
}

/* Writes the generator's output to memory. */
static char *generate(void (*gen)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	gen(f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_helpgen__every_command_is_in_both(void **state)
{
	char *man = generate(cli_help_man), *comp = generate(cli_help_bash_completion);
	char want[128];

	(void)state;
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		snprintf(want, sizeof(want), "\n.SS %s\n", c->name);
		assert_non_null(strstr(man, want));
		snprintf(want, sizeof(want), "_medvault_opts['%s']=", c->name);
		assert_non_null(strstr(comp, want));
	}
	/* the value of an option with choices: its words; the commands for help */
	assert_non_null(strstr(comp, "_medvault_kind['help ']='words:key backup dump help'\n"));
	assert_non_null(strstr(comp, "_medvault_kind['dump --format']='words:tar zip'\n"));
	/* the subcommands: the lowercase words before the options */
	assert_non_null(strstr(
	    comp, "_medvault_kind['key ']='words:list add remove passwd test passphrase'\n"));
	/* roff: dashes are minus signs, no text line starts with a period */
	assert_non_null(strstr(man, "\\-\\-repo"));
	free(man);
	free(comp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_helpgen__flag_names),
	    cmocka_unit_test(test_helpgen__every_command_is_in_both),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
