/* Key slots as a service (FORMAT.md section 4, the key list 4.1): open a
 * repository by trying each slot, list, add and remove slots with the sealed
 * key list kept in step, for `medvault key list|add|remove|passwd`. Writers
 * (add, remove) need an unlocked repository and the caller's exclusive
 * lock. */
#ifndef MV_KEYSLOTS_H
#define MV_KEYSLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/backend/backend.h"
#include "core/repo/keys.h"
#include "core/repo/repo.h"
#include "core/util/err.h"
#include "formats/keylist.h"

/* Tries the slots in keys/ with secret (a password, or recovery key text),
 * recovery slots first when the text reads as a recovery key, cheapest
 * Argon2id work first, within the repository's work budget; a slot beyond
 * the caps is never run. On success master gets the master key and r
 * records the slot (mv_repo_unlock_info). Returns 0, MV_ERR_PASSWORD (none
 * opens), MV_ERR_LIMIT (the work cap stopped the search first), the error of
 * a slot that could not be read (it might have been the one), MV_ERR_NOMEM.
 * mv_repo_unlock calls it. */
int mv_keyslots_open(struct mv_repo *r, const uint8_t *secret, size_t len,
                     uint8_t master[MV_KEY_LEN], struct mv_error *err) MV_MUST_CHECK;

/* The same with a machine key (the 32 bytes of a key file made by `key add
 * --machine`), tried on the machine slots only (KDF 2: no Argon2id). */
int mv_keyslots_open_machine(struct mv_repo *r, const uint8_t key[MV_KEY_LEN],
                             uint8_t master[MV_KEY_LEN], struct mv_error *err) MV_MUST_CHECK;

/* One file of keys/. */
struct mv_keyslot_info {
	char name[65]; /* its file name: BLAKE2b-256 of its bytes, in hex */
	int intact;    /* its bytes match its name */
	int kind;      /* MV_SLOT_*, or an error code (malformed, beyond the caps) */
	int io;        /* it could not be read */
	char msg[300]; /* what is wrong with it, "" when nothing */
	uint64_t work; /* Argon2id MiB x passes an open spends on it (0: BLAKE2b) */
	/* filled by mv_keyslots_list only: */
	int listed;                           /* the key list names it */
	char label[MV_KEYLIST_LABEL_MAX + 1]; /* its label there, "" when unlisted */
	int opened;                           /* the slot that opened r */
	int state;                            /* MV_KEYLIST_* in the list */
	int64_t created;                      /* from the list: 0 unknown */
	char host[MV_KEYLIST_ORIGIN_MAX + 1]; /* from the list: "" unknown */
	char user[MV_KEYLIST_ORIGIN_MAX + 1];
};

/* Reads every slot of keys/ and verifies its bytes against its name and
 * its structure (*out malloc'd, *n entries, in listing order). Returns 0,
 * MV_ERR_NOMEM or the listing's error. */
int mv_keyslots_read(struct mv_repo *r, struct mv_keyslot_info **out, size_t *n,
                     struct mv_error *err) MV_MUST_CHECK;

/* The same, sorted by name, with each slot's work, its label in the key list
 * and which slot opened r. Needs an unlocked repository. Returns 0 or an
 * error (an unreadable key list is no error: no slot is then listed). */
int mv_keyslots_list(struct mv_repo *r, struct mv_keyslot_info **out, size_t *n,
                     struct mv_error *err) MV_MUST_CHECK;

/* A key slot to add: kind MV_SLOT_*, its secret (a password; 32 random
 * bytes for recovery and machine slots), Argon2id params for a password
 * (NULL: the minimum), label (NULL: the kind's default) and origin (NULL:
 * unknown). */
struct mv_keyslot_new {
	uint8_t kind;
	const uint8_t *secret;
	size_t len;
	const struct mv_kdf_params *kdf;
	const char *label;
	const struct mv_keyslot_origin *origin;
};

/* Adds a slot wrapping the master key of the unlocked r: a key list naming
 * it as being added, then the slot, then a list naming it as active (an
 * interruption leaves a list that says what was under way; the next
 * change, mv_keyslots_settle, finishes it). name_out (may be NULL) gets the
 * slot's name. Returns 0, MV_ERR_USAGE (not unlocked, a label the key list
 * refuses, params beyond the caps, a bad secret), MV_ERR_INTEGRITY (no key
 * list can be read), MV_ERR_NOMEM or a backend error; on an error no new
 * slot stays (as far as the backend lets it be removed). */
int mv_keyslots_add(struct mv_repo *r, const struct mv_keyslot_new *nk, char name_out[65],
                    struct mv_error *err) MV_MUST_CHECK;

/* mv_keyslots_add of a password slot (origin unknown). */
int mv_keyslots_add_password(struct mv_repo *r, const uint8_t *password, size_t len,
                             const struct mv_kdf_params *kdf, const char *label, char name_out[65],
                             struct mv_error *err) MV_MUST_CHECK;

/* mv_keyslots_remove may remove the slot that opened r (`key passwd`,
 * `key remove --force`). */
#define MV_KEYSLOTS_FORCE 1u

/* Removes slot name (64 hex digits): a key list naming it as being
 * removed, then its file, then a list without it. A slot the list does not
 * name (planted) is removed too. Never the last active listed slot whose
 * file exists. Returns 0, MV_ERR_USAGE (not a slot name, the last slot, or
 * the slot that opened r without MV_KEYSLOTS_FORCE), MV_ERR_NOTFOUND (no
 * such slot), MV_ERR_INTEGRITY (no key list can be read), or a backend
 * error. */
int mv_keyslots_remove(struct mv_repo *r, const char *name, unsigned flags,
                       struct mv_error *err) MV_MUST_CHECK;

/* Finishes the key changes that an interruption left in the key list (a
 * slot being added or removed), as every change above does first. Needs
 * an unlocked repository and the caller's exclusive lock. Returns 0 or an
 * error. */
int mv_keyslots_settle(struct mv_repo *r, struct mv_error *err) MV_MUST_CHECK;

/* Writes a slot under its name (the hash of its bytes, into name). For
 * init, which has no repository handle yet. */
int mv_keyslot_put(struct mv_backend *be, const uint8_t slot[MV_KEYSLOT_LEN], char name[65],
                   struct mv_error *err) MV_MUST_CHECK;

#endif
