/* Key slots: several secrets (password, recovery key, machine key) each wrap
 * the repository's master key (FORMAT.md section 4). */
#ifndef MV_KEYS_H
#define MV_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/crypto.h"
#include "core/util/err.h"

#define MV_KEYSLOT_LEN 112

/* On-disk slot kinds and KDFs (fixed forever). */
enum { MV_SLOT_PASSWORD = 1, MV_SLOT_RECOVERY = 2, MV_SLOT_MACHINE = 3 };
enum { MV_KDF_ARGON2ID = 1, MV_KDF_BLAKE2B = 2 };

/* RFC 9106 second recommended option: t=3, 64 MiB. Readers refuse less. */
#define MV_ARGON2_MIN_OPS 3u
#define MV_ARGON2_MIN_MEM (64ull << 20)
/* Caps (docs/SECURITY.md 2.2): init makes no slot beyond them, and readers
 * skip a slot that asks more without running Argon2id on it, so a planted
 * slot cannot hang or exhaust the machine that opens the repository. */
#define MV_ARGON2_MAX_OPS 8u
#define MV_ARGON2_MAX_MEM (2ull << 30)
/* The Argon2id work (MiB x passes) one open of a repository may spend over
 * all the slots it tries: twice the strongest slot init can make. */
#define MV_UNLOCK_MAX_WORK (2ull * MV_ARGON2_MAX_OPS * (MV_ARGON2_MAX_MEM >> 20))

/* Who made a key slot, for the key list (`medvault key list`): the
 * caller fills it (core reads no clock, host or user name of its own).
 * NULL strings are unknown. */
struct mv_keyslot_origin {
	int64_t created; /* Unix seconds, 0 unknown */
	const char *host;
	const char *user;
};

struct mv_kdf_params {
	uint32_t opslimit;
	uint64_t memlimit;
};

/* Creates a slot of `kind` wrapping master with secret. For MV_SLOT_PASSWORD
 * the KDF is Argon2id with params (NULL = minimum above); for recovery and
 * machine slots the secret must be 32 random bytes and KDF 2 is used.
 * Writes MV_KEYSLOT_LEN bytes to out. Returns 0, MV_ERR_USAGE (bad params or
 * secret length) or MV_ERR_NOMEM (Argon2 could not allocate). */
int mv_keyslot_create(uint8_t kind, const struct mv_kdf_params *params, const uint8_t *secret,
                      size_t secret_len, const uint8_t master[MV_KEY_LEN],
                      uint8_t out[MV_KEYSLOT_LEN], struct mv_error *err) MV_MUST_CHECK;

/* Reads the kind of a slot after validating its header; returns the kind
 * (1..3), MV_ERR_INTEGRITY (bad magic, length, kdf or params below the
 * minimum) or MV_ERR_LIMIT (Argon2id params beyond the caps above: the slot
 * must not be tried). */
int mv_keyslot_kind(const uint8_t *slot, size_t len, struct mv_error *err);

/* The Argon2id work a slot whose header is valid asks for, in MiB x passes
 * (0 for the BLAKE2b KDF): what an open spends on it. */
uint64_t mv_keyslot_work(const uint8_t slot[MV_KEYSLOT_LEN]);

/* Opens a slot. Returns 0 with master_out filled, MV_ERR_PASSWORD when the
 * secret does not open it, MV_ERR_INTEGRITY when the slot is malformed,
 * MV_ERR_LIMIT when it asks more than the caps (not run), MV_ERR_NOMEM when
 * Argon2 cannot allocate. master_out should be sodium
 * memory. */
int mv_keyslot_open(const uint8_t *slot, size_t len, const uint8_t *secret, size_t secret_len,
                    uint8_t master_out[MV_KEY_LEN], struct mv_error *err) MV_MUST_CHECK;

/* Recovery key text: 64 lowercase hex digits in 8 dash-separated groups of 8
 * (64 + 7 dashes = 71 characters, + NUL). */
#define MV_RECOVERY_TEXT_LEN 71
void mv_recovery_format(const uint8_t secret[MV_KEY_LEN], char out[MV_RECOVERY_TEXT_LEN + 1]);
/* Parses recovery key text, ignoring dashes, spaces and case. Returns 0 or
 * -1 when the text is not a recovery key. */
int mv_recovery_parse(const char *text, size_t len, uint8_t out[MV_KEY_LEN]);

#endif
