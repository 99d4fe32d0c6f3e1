/* Machine key files (`key add --machine FILE`, `--key-file FILE`,
 * MEDVAULT_KEY_FILE) and the origin recorded with a new key slot.
 *
 * A machine key file holds a random 256-bit key as text:
 *   # medvault machine key ... (comment lines start with '#')
 *   xxxxxxxx-xxxxxxxx-...      (64 hex digits, dashes and spaces ignored)
 * It must be a regular file of the user running medvault with no group or
 * other permission bit (mode 0600 or 0400); anything else is refused with
 * the chmod or chown to run (exit 1), before a byte of it is read. */
#ifndef MV_CLI_KEYFILE_H
#define MV_CLI_KEYFILE_H

#include <stdint.h>

#include "cli/commands.h"
#include "core/repo/keys.h"

/* --key-file, else MEDVAULT_KEY_FILE when set and non-empty, else NULL. */
const char *cli_key_file_path(const struct cli_ctx *ctx);

/* Reads the key of the machine key file path into key (MV_KEY_LEN bytes
 * of sodium memory, wiped on failure). Returns 0, or an exit code after
 * printing why (1: cannot be read, loose permissions, another owner, not a
 * machine key file). */
int cli_key_file_read(const char *path, uint8_t *key);

/* Creates the key file path (O_CREAT|O_EXCL, mode 0600, never following a
 * link, never overwriting) holding key as text (the recovery key format),
 * fsync'd with its folder. repo_id (NULL: none) names the repository in a
 * comment line first (a machine key file); without it the file holds the
 * key text alone (a recovery key file, readable as --password-file).
 * Returns 0, or an exit code after printing why (1; the file is removed
 * again). */
int cli_key_file_create(const char *path, const uint8_t key[MV_KEY_LEN], const uint8_t repo_id[32]);

/* fsyncs the folder holding path, so that the file's name is durable too.
 * Returns 0 or -1 (errno set). */
int cli_fsync_parent(const char *path);

/* --kdf-memory MiB (memory = 1) or --kdf-iterations N (memory = 0) of
 * command cmd (init, key) into kdf. Returns 0, or 2 after printing the
 * usage error. */
int cli_kdf_option(const char *cmd, int memory, const char *value, struct mv_kdf_params *kdf);
/* The engine takes the KDF parameters only as a pair: one given alone is
 * completed with the minimum of the other (nothing given stays zero). */
void cli_kdf_complete(struct mv_kdf_params *kdf);

/* The origin of a key slot made now by this process: time, host name and
 * the name of the effective user. */
struct cli_origin {
	char host[256];
	char user[256];
	struct mv_keyslot_origin o; /* points into host and user */
};
void cli_origin_fill(struct cli_origin *c);

#endif
