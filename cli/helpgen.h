/* The man page and the bash completion, generated from the help texts.
 *
 * Both are built from the command table (cli_commands) and each command's
 * struct cli_help, the same text as --help, so that a new command or option
 * appears in them without another edit. CMake runs the hidden
 * `medvault help --man` and `medvault help --bash-completion` at build time
 * (build/medvault.1, build/medvault.bash). */
#ifndef MV_CLI_HELPGEN_H
#define MV_CLI_HELPGEN_H

#include <stdio.h>

#include "cli/commands.h"

/* cmd_help.c: the global options of `medvault help` (ending with
 * {NULL, NULL}) and the text that follows them (exit codes). */
const struct cli_help_opt *cli_help_global_options(void);
const char *cli_help_global_text(void);

/* Writes medvault(1) in roff (man(7) macros): every command of the table,
 * its usage, description, options and examples. */
void cli_help_man(FILE *f);

/* Writes a bash completion script for medvault: the commands, the global
 * options, each command's options (from its help), the words of choices
 * such as "--format tar|zip" and of subcommands ("key list|add|..."), and
 * file names where an option's value or an argument is a path. */
void cli_help_bash_completion(FILE *f);

/* The option names in one help entry's flags ("-e, --exclude PATTERN" ->
 * "-e", "--exclude"): calls fn for each with the value's name ("PATTERN",
 * or "" for a flag). Exposed for the unit test. */
void cli_help_flag_names(const char *flags,
                         void (*fn)(const char *name, size_t len, const char *value, size_t vlen,
                                    void *arg),
                         void *arg);

#endif
