/* Where the repository password (or recovery key text) comes from, first
 * match wins:
 *   1. --password-file FILE      (refused if group- or world-readable)
 *   2. --password-command CMD    (run with /bin/sh -c, its stdout is read)
 *   3. MEDVAULT_PASSWORD_FILE    (as 1)
 *   4. MEDVAULT_PASSWORD         (the value; wiped from the environment)
 *   5. a prompt on /dev/tty without echo
 * Giving both options 1 and 2 is a usage error. Without any source and
 * without a terminal: "no password source", exit 1.
 *
 * The secret lives in sodium_malloc'd memory (guard pages, locked, wiped
 * on free); one trailing newline ("\n" or "\r\n") is stripped. */
#ifndef MV_CLI_PASSWORD_H
#define MV_CLI_PASSWORD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/options.h"

#define CLI_PASSWORD_MAX 4096

struct cli_secret {
	uint8_t *p; /* sodium_malloc'd, NUL-terminated; NULL when empty */
	size_t len;
};

enum cli_password_use {
	CLI_PASSWORD_OPEN, /* open an existing repository */
	CLI_PASSWORD_NEW,  /* a new password: the prompt asks twice */
};

/* Reads the secret into *out. Returns 0, or an exit code after printing
 * the reason (1 fatal, 2 usage, 130 interrupted through *cancel). */
int cli_password_read(const struct cli_globals *g, enum cli_password_use use,
                      volatile sig_atomic_t *cancel, struct cli_secret *out);

/* Wipes and frees the secret; accepts an empty one. */
void cli_secret_free(struct cli_secret *s);

/* Reads a password that is not the repository's (the passphrase of an
 * encrypted archive, the source repository of copy), first match wins:
 * `file` when non-NULL (refused if group- or world-readable), the
 * environment variable `env` when set (wiped and removed from the
 * environment), else asked without echo on /dev/tty with `prompt` (for
 * CLI_PASSWORD_NEW a second time: "enter it again: "). Without a
 * terminal, prints "no password source: <hint>". Returns 0, or an exit code after
 * printing the reason, as cli_password_read. */
int cli_password_read_other(const char *file, const char *env, const char *prompt, const char *hint,
                            enum cli_password_use use, volatile sig_atomic_t *cancel,
                            struct cli_secret *out);

#endif
