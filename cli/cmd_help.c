#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/helpgen.h"
#include "cli/output.h"

static const struct cli_help_opt global_options[] = {
    {"-r, --repo LOCATION", "the repository (or MEDVAULT_REPOSITORY): a path"},
    {"--password-file FILE",
     "read the password from FILE (or MEDVAULT_PASSWORD_FILE); the file must be yours and "
     "not readable by group or others"},
    {"--password-command CMD", "run CMD with /bin/sh and read the password from its output"},
    {"--key-file FILE", "open with a machine key file made by 'key add --machine' (or "
                        "MEDVAULT_KEY_FILE): no password; the file must be yours, mode 0600"},
    {"--json", "machine-readable output"},
    {"-q, --quiet", "print only errors and warnings"},
    {"-v, --verbose", "print more"},
    {"-h, --help", "show help (also: medvault help COMMAND)"},
    {"--no-lock", "reading commands (restore, dump, check, ls, find, impact, scan) take no lock: "
                  "for a repository "
                  "on a read-only medium; backup and other writing commands always lock"},
    {"--retry-lock DURATION", "when another process holds a conflicting lock, try again "
                              "(backing off up to 30 s) until DURATION (30s, 5m, 2h) has "
                              "passed, instead of exiting with 11 at once"},
    {NULL, NULL},
};

static const char global_text[] =
    "Global options may stand before or after the command. A machine key file (--key-file,\n"
    "MEDVAULT_KEY_FILE) comes first; without one or a password option, MEDVAULT_PASSWORD\n"
    "is used, else the password is asked on the terminal. The recovery key printed by\n"
    "'init' is accepted wherever a password is.\n"
    "\n"
    "Exit codes: 0 ok, 1 error, 2 usage error, 3 backup done but some files could not be\n"
    "read, 4 damaged data found, 10 no repository at that location, 11 repository locked,\n"
    "12 wrong password, 130 interrupted.\n";

static const char *const examples_help = "medvault help\n"
                                         "medvault help backup\n";

const struct cli_help cmd_help_help = {
    "medvault help [COMMAND]",
    "show the commands, or the help of one command",
    "Without COMMAND, lists the commands and the global options. With COMMAND, shows its\n"
    "options and examples (the same as 'medvault COMMAND --help').",
    NULL,
    examples_help,
};

#define HELP_WIDTH  80
#define HELP_INDENT 30

/* Writes text word-wrapped into the column from HELP_INDENT to HELP_WIDTH;
 * the first line continues where the cursor is (column col). */
static void print_wrapped(FILE *f, const char *text, size_t col)
{
	while (*text) {
		size_t room = HELP_WIDTH - col, n = strlen(text);
		if (n > room) {
			n = room;
			while (n > 0 && text[n] != ' ')
				n--;
			if (n == 0)
				n = strcspn(text, " ");
		}
		fprintf(f, "%.*s\n", (int)n, text);
		text += n;
		text += strspn(text, " ");
		if (*text)
			fprintf(f, "%*s", HELP_INDENT, "");
		col = HELP_INDENT;
	}
}

static void print_options(FILE *f, const struct cli_help_opt *o)
{
	for (; o && o->flags; o++) {
		if (strlen(o->flags) <= HELP_INDENT - 4)
			fprintf(f, "  %-*s  ", HELP_INDENT - 4, o->flags);
		else
			fprintf(f, "  %s\n%*s", o->flags, HELP_INDENT, "");
		print_wrapped(f, o->text, HELP_INDENT);
	}
}

static void print_indented(FILE *f, const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		fprintf(f, "  %.*s\n", (int)n, text);
		text += n + (nl != NULL);
	}
}

void cli_help_general(FILE *f)
{
	fprintf(f, "medvault %s: encrypted, deduplicated backups of medical imaging archives\n\n",
	        MEDVAULT_VERSION);
	fputs("Usage: medvault [global options] COMMAND [options] [arguments]\n\nCommands:\n", f);
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(f, "  %-12s%s\n", c->name, c->help->summary);
	fputs("\nGlobal options:\n", f);
	print_options(f, global_options);
	fprintf(f, "\n%s\nRun 'medvault help COMMAND' for the options and examples of a command.\n",
	        global_text);
}

void cli_help_print(FILE *f, const struct cli_command *c)
{
	const struct cli_help *h = c->help;

	fprintf(f, "medvault %s: %s\n\nUsage: %s\n\n%s\n", c->name, h->summary, h->usage,
	        h->description);
	if (h->options && h->options->flags) {
		fputs("\nOptions:\n", f);
		print_options(f, h->options);
	}
	if (c->flags & CLI_CMD_REPO)
		fputs(
		    "\nGlobal options: -r LOCATION, --password-file FILE, --password-command CMD,\n"
		    "--key-file FILE, --json, -q, -v, --no-lock, --retry-lock DURATION (see "
		    "'medvault\n"
		    "help').\n",
		    f);
	fputs("\nExamples:\n", f);
	print_indented(f, h->examples);
}

const struct cli_command *cli_command_find(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cli_help_command(const char *name)
{
	const struct cli_command *c = cli_command_find(name);

	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", name);
	cli_help_print(stdout, c);
	return CLI_EXIT_OK;
}

/* Hidden: what the build runs to write the man page and the completion
 * (cli/helpgen.h). */
enum { O_MAN = 1, O_BASH_COMPLETION };
static const struct cli_opt_spec gen_opts[] = {
    {"man", 0, 0, O_MAN},
    {"bash-completion", 0, 0, O_BASH_COMPLETION},
    {NULL, 0, 0, 0},
};

int cmd_help(int argc, char **argv, struct cli_ctx *ctx)
{
	struct cli_opt_iter it;
	const char *topic = NULL;
	int c, gen = 0;

	cli_opt_init(&it, argc, argv, 1, gen_opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (c == O_MAN || c == O_BASH_COMPLETION) {
			gen = c;
			continue;
		}
		if (c != CLI_OPT_ARG)
			return cli_usage_error("help", "%s", it.err);
		if (topic)
			return cli_usage_error("help", "too many arguments");
		topic = it.value;
	}
	if (gen && topic)
		return cli_usage_error("help", "--man and --bash-completion cover every command: "
		                               "no COMMAND");
	if (gen == O_MAN)
		cli_help_man(stdout);
	else if (gen == O_BASH_COMPLETION)
		cli_help_bash_completion(stdout);
	else if (topic)
		return cli_help_command(topic);
	else
		cli_help_general(stdout);
	return CLI_EXIT_OK;
}

int cli_bare_command(int argc, char **argv, struct cli_ctx *ctx, const char *name, int *rc)
{
	struct cli_opt_iter it;
	int c;

	cli_opt_init(&it, argc, argv, 1, NULL, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (c == CLI_OPT_ARG)
			*rc = cli_usage_error(name, "unexpected argument '%s'", it.value);
		else
			*rc = cli_usage_error(name, "%s", it.err);
		return 1;
	}
	if (!ctx->g.help)
		return 0;
	*rc = cli_help_command(name);
	return 1;
}

const struct cli_help_opt *cli_help_global_options(void)
{
	return global_options;
}

const char *cli_help_global_text(void)
{
	return global_text;
}
