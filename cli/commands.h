/* The commands of the medvault program: the table in main.c, one
 * cmd_<name>.c per command, each with its help text as one const struct
 * (the source of `--help` and, later, of the man page). */
#ifndef MV_CLI_COMMANDS_H
#define MV_CLI_COMMANDS_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/options.h"

/* --host and --path of the commands that name a snapshot: which snapshots
 * "latest" may be (cli/select.h). */
#define CLI_SNAPSHOT_FILTER_MAX 32
struct cli_snapshot_filter {
	const char *hosts[CLI_SNAPSHOT_FILTER_MAX];
	const char *paths[CLI_SNAPSHOT_FILTER_MAX]; /* as given */
	size_t nhosts, npaths;
	int too_many; /* more than CLI_SNAPSHOT_FILTER_MAX of one of them */
};

/* What every command gets: the global options and the cancel flag that the
 * SIGINT/SIGTERM handler sets (passed to the engine as mv_events.cancel). */
struct cli_ctx {
	struct cli_globals g;
	volatile sig_atomic_t *cancel;
	const char *cmd;                  /* the command's name */
	struct cli_snapshot_filter snapf; /* --host, --path */
	/* Set when damaged repository data was passed over (a damaged snapshot
	 * file while resolving "latest"): a command that would exit 0 exits 4. */
	int damaged;
	/* Set when the repository has gone back in time (cli/repo_open.h,
	 * SECURITY.md 1.4): check then exits 4. */
	int rolled_back;
	/* The secret that opened the repository (sodium_malloc'd, NULL until
	 * then), kept for a second open in the same run (forget --prune): the
	 * environment variable it came from is removed once read. Wiped and
	 * freed at exit (cli/main.c). */
	uint8_t *open_secret;
	size_t open_secret_len;
};

struct cli_help_opt {
	const char *flags; /* "-e, --exclude PATTERN" */
	const char *text;  /* one sentence */
};

struct cli_help {
	const char *usage;                  /* "medvault backup [options] PATH..." */
	const char *summary;                /* one line, lowercase, for `medvault help` */
	const char *description;            /* paragraphs separated by blank lines */
	const struct cli_help_opt *options; /* ends with {NULL, NULL}; may be NULL */
	const char *examples;               /* lines of commands, "# comment" lines allowed */
};

/* argv[0] is the command name; the options after it (global ones included)
 * are parsed by the command. Returns an exit code (cli/exitcode.h). */
typedef int cli_cmd_fn(int argc, char **argv, struct cli_ctx *ctx);

enum {
	CLI_CMD_REPO = 1, /* works on a repository: -r and the password sources apply */
};

struct cli_command {
	const char *name;
	cli_cmd_fn *fn;
	unsigned flags;
	const struct cli_help *help; /* help->summary is the table's summary */
};

/* The table (main.c), ending with a NULL name. */
extern const struct cli_command cli_commands[];
/* NULL when there is no such command (cmd_help.c). */
const struct cli_command *cli_command_find(const char *name);

/* cmd_help.c: help texts. cli_help_command prints a command's help to
 * stdout and returns 0 (for `COMMAND --help`). */
void cli_help_general(FILE *f);
void cli_help_print(FILE *f, const struct cli_command *c);
int cli_help_command(const char *name);

/* The start of a command that takes no option of its own and no argument
 * (snapshots, unlock, version): parses the global options and prints the
 * command's help when asked. Returns 1 when the command is done then, *rc
 * its exit code (a usage error printed, or 0 after the help); 0 when it
 * should run. */
int cli_bare_command(int argc, char **argv, struct cli_ctx *ctx, const char *name, int *rc);

#define CLI_COMMAND(n)                                                                             \
	int cmd_##n(int argc, char **argv, struct cli_ctx *ctx);                                   \
	extern const struct cli_help cmd_##n##_help

CLI_COMMAND(init);
CLI_COMMAND(backup);
CLI_COMMAND(snapshots);
CLI_COMMAND(ls);
CLI_COMMAND(restore);
CLI_COMMAND(find);
CLI_COMMAND(dump);
CLI_COMMAND(check);
CLI_COMMAND(unlock);
CLI_COMMAND(version);
CLI_COMMAND(help);
CLI_COMMAND(audit);
CLI_COMMAND(scan);
CLI_COMMAND(impact);
CLI_COMMAND(wipe);
CLI_COMMAND(forget);
CLI_COMMAND(key);
CLI_COMMAND(repair);
CLI_COMMAND(diff);
CLI_COMMAND(stats);
CLI_COMMAND(copy);

/* cmd_prune.c: `forget --prune`, once forget has released the repository:
 * a prune with its default options. Returns an exit code. */
int cli_prune_after_forget(struct cli_ctx *ctx);
CLI_COMMAND(prune);

/* cmd_audit.c: the local record of clean checks that `audit` reads
 * (core/medical/audit.h, "The check state file"). cli_check_state_path writes the
 * state file's path: $XDG_STATE_HOME/medvault/checks when XDG_STATE_HOME
 * is absolute, else /var/lib/medvault/checks for root, else
 * ~/.local/state/medvault/checks; returns 0 or -1 (no home directory).
 * cli_check_state_record records a clean check of the repository (a
 * warning on stderr when it cannot). */
int cli_check_state_path(char *buf, size_t cap);
/* The same for another state file of medvault (the wipe journal). */
int cli_state_path(const char *name, char *buf, size_t cap);
void cli_check_state_record(const struct cli_ctx *ctx, const uint8_t repo_id[32], int read_data);

#endif
