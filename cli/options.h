/* The command-line option parser and the global options.
 *
 * A small getopt-like iterator that knows two tables: the command's own
 * options and the global ones, so that global options may stand before or
 * after the command name (as in restic). Accepted forms: `--name value`,
 * `--name=value`, `-x value`, `-xvalue`, `-x=value`, clusters of flags
 * (`-qv`), `--` (everything after it is an argument) and `-` (an argument).
 * Long names must match exactly (no abbreviations).
 *
 * Nothing here prints, exits or reads the environment: errors are returned
 * with a message in the iterator, so the parser can be unit tested. */
#ifndef MV_CLI_OPTIONS_H
#define MV_CLI_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

struct cli_opt_spec {
	const char *name; /* long name without the dashes, or NULL */
	char short_name;  /* 0 if none */
	unsigned char has_arg;
	int id; /* > 0, returned by cli_opt_next */
};
/* Tables end with an entry {NULL, 0, 0, 0}. */

/* Results of cli_opt_next besides option ids. */
enum { CLI_OPT_DONE = 0, CLI_OPT_ARG = -1, CLI_OPT_ERROR = -2 };

struct cli_opt_iter {
	int argc;
	char **argv;
	int i;               /* next argv element */
	const char *cluster; /* rest of a cluster of short options */
	int args_only;       /* "--" was seen */
	const struct cli_opt_spec *tables[2];
	const char *value; /* the option's value, or the argument */
	char err[256];     /* message after CLI_OPT_ERROR */
};

/* Starts iterating over argv[start..argc-1]. local and global may be NULL;
 * an option in both tables resolves to local. args_only: treat everything
 * as arguments (a "--" was seen earlier). */
void cli_opt_init(struct cli_opt_iter *it, int argc, char **argv, int start,
                  const struct cli_opt_spec *local, const struct cli_opt_spec *global,
                  int args_only);

/* Returns the next option's id (it->value = its value, or NULL for a flag),
 * CLI_OPT_ARG (it->value = the argument), CLI_OPT_DONE at the end, or
 * CLI_OPT_ERROR (it->err: unknown option, missing value, value given to a
 * flag). */
int cli_opt_next(struct cli_opt_iter *it);

/* The global options. */
struct cli_globals {
	const char *repo;
	const char *password_file;
	const char *password_command;
	const char *key_file; /* --key-file: a machine key file (cli/keyfile.h) */
	int json;
	int quiet;
	int verbose;
	int help;
	int threads;           /* 0 = engine default (all cores) */
	int no_lock;           /* --no-lock: reading commands take no lock */
	int64_t retry_lock_ms; /* --retry-lock DURATION: wait for a lock (0: no waiting) */
	int args_only;         /* "--" came before the command name */
};

enum {
	CLI_G_REPO = 1000,
	CLI_G_PASSWORD_FILE,
	CLI_G_PASSWORD_COMMAND,
	CLI_G_JSON,
	CLI_G_QUIET,
	CLI_G_VERBOSE,
	CLI_G_HELP,
	CLI_G_THREADS,
	CLI_G_NO_LOCK,
	CLI_G_RETRY_LOCK,
	CLI_G_KEY_FILE,
};

#define CLI_MAX_THREADS 256

extern const struct cli_opt_spec cli_global_opts[];

/* Applies global option `id` with its value to g. Returns 1 when id is a
 * global option and was applied, 0 when id is not a global option, -1 for
 * a bad value (message in err). */
int cli_globals_apply(struct cli_globals *g, int id, const char *value, char *err, size_t errlen);

/* Parses the global options in front of the command name, argv[1..]. Returns
 * the index of the command name in argv, argc when there is none, or -1 for
 * an error (message in err). Sets g->args_only when "--" came first. */
int cli_parse_leading(int argc, char **argv, struct cli_globals *g, char *err, size_t errlen);

/* Like cli_opt_next, but applies global options to g and returns only the
 * command's own options, arguments, DONE or ERROR. */
int cli_cmd_next(struct cli_opt_iter *it, struct cli_globals *g);

/* A duration: a whole number followed by s, m, h or d ("30s", "5m", "2h";
 * a bare number is seconds), at most 7 days. *ms gets milliseconds.
 * Returns 0 or -1. */
int cli_parse_duration(const char *s, int64_t *ms);

/* Strict decimal parsing: digits only, no sign, no spaces, min <= v <= max.
 * Returns 0 or -1. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
