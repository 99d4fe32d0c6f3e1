/* Where the repository password (or recovery key text) comes from, first
 * match wins:
 *   1. --password-file FILE      (refused if group- or world-readable)
 *   2. --password-command CMD    (run with /bin/sh -c, its stdout is read)
 *   3. MEDVAULT_PASSWORD_FILE    (as 1)
 *   4. MEDVAULT_PASSWORD         (the value; wiped from the environment)
 *   5. a prompt on /dev/tty without echo
 * Giving both options 1 and 2 is a usage error. Without any source and
 * without a terminal: "no password source", exit 1. (A machine key file,
 * --key-file or MEDVAULT_KEY_FILE, comes before all of these: cli/keyfile.h
 * and cli_repo_open.)
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

/* Reads a secret that is asked once (the recovery key of `key test`): from
 * `file` when non-NULL (as --password-file), else from /dev/tty without
 * echo after `prompt`; without a terminal prints "no key source: <hint>".
 * Returns 0, or an exit code after printing the reason. */
int cli_secret_read_once(const char *file, const char *prompt, const char *hint,
                         volatile sig_atomic_t *cancel, struct cli_secret *out);

/* Checks a new password against CNIL's 2022 threshold for a password used
 * alone (core/repo/passphrase.h). When it is too weak, prints which rule it
 * misses, a generated passphrase (on a terminal only: never into a log)
 * and how to go on regardless (`force_flag`, e.g. "--insecure-password"),
 * and returns 1 (exit code: fatal); 0 when strong enough. `what` names the
 * password ("password", "archive password"). */
int cli_password_check_new(const struct cli_secret *pw, const char *what, const char *force_flag);

/* Wipes and frees the secret; accepts an empty one. */
void cli_secret_free(struct cli_secret *s);

/* Reads a password that is not the repository's (the passphrase of an
 * encrypted archive), first match wins: `file` when non-NULL (refused if
 * group- or world-readable), the environment variable `env` when set (wiped
 * and removed from the environment), else asked twice without echo on
 * /dev/tty with `prompt`, then "enter it again: ". Without a terminal,
 * prints "no password source: <hint>". Returns 0, or an exit code after
 * printing the reason, as cli_password_read. */
int cli_password_read_other(const char *file, const char *env, const char *prompt, const char *hint,
                            volatile sig_atomic_t *cancel, struct cli_secret *out);

#endif
