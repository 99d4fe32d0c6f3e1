/* The key list (docs/FORMAT.md section 4.1): a sealed object naming every
 * key slot of the repository, so that check verifies every slot's bytes
 * (the recovery slot's too) with whatever secret opened the repository. */
#ifndef MV_KEYLIST_H
#define MV_KEYLIST_H

#include <stdint.h>

#include "core/util/err.h"
#include "core/util/events.h"
#include "core/repo/repo.h"
#include "formats/keylist.h"

/* Compatible feature bit of config: made with a key list (FORMAT.md 3). */
#define MV_COMPAT_KEYLIST 1u

/* Fills the version 2 fields of x from o (may be NULL: unknown), host and
 * user cut to MV_KEYLIST_ORIGIN_MAX bytes, control characters replaced by
 * '?'. */
void mv_keylist_entry_origin(struct mv_keylist_entry *x, const struct mv_keyslot_origin *o);

/* The label init and the upgrade give a slot of kind `kind`. */
const char *mv_keylist_default_label(uint8_t kind);

/* Loads the current key list: the readable keylist/ object of highest
 * generation. Returns 1 with *kl filled (release it), 0 when there is none
 * readable; *objects counts keylist/'s objects and *damaged those that could
 * not be read (both may be NULL). Needs an unlocked repository. */
int mv_keylist_load(struct mv_repo *r, struct mv_keylist *kl, size_t *objects, size_t *damaged,
                    struct mv_error *err) MV_MUST_CHECK;

/* Writes kl as the repository's key list with generation kl->generation+1
 * (kl->generation is that of the list it replaces, 0 for the first; updated
 * on success), then deletes every key list that existed before. What key
 * add/remove call after changing keys/: write the slot first, then the
 * list; remove a slot after the list that no longer names it. */
int mv_keylist_save(struct mv_repo *r, struct mv_keylist *kl, struct mv_error *err) MV_MUST_CHECK;

/* The first key list, for init (no repository to open yet): names the
 * slots ids[i] of kinds[i] with their default labels and origin o (may be
 * NULL), sealed with keys.
 * name_out gets the object's name (for removal when init fails). */
int mv_keylist_write_first(struct mv_backend *be, struct mv_keys *keys, const char (*ids)[65],
                           const uint8_t *kinds, size_t n, const struct mv_keyslot_origin *o,
                           char name_out[65], struct mv_error *err) MV_MUST_CHECK;

/* For repositories made before the key list: when keylist/ holds nothing
 * and config does not say the repository was made with one, writes a list
 * of the slots in keys/ whose bytes match their names and whose structure is
 * valid. Returns 1 when it wrote one, 0 when nothing was needed, or an
 * error. Writers call it (backup). */
int mv_keylist_upgrade(struct mv_repo *r, struct mv_error *err) MV_MUST_CHECK;

struct mv_keycheck {
	uint64_t slots;   /* files in keys/ */
	uint64_t errors;  /* problems reported through ev->warn */
	int list;         /* 1: a key list was read; 0: none */
	int list_claimed; /* config says the repository was made with one */
	uint64_t stale;   /* readable lists older than the current one */
	uint64_t pending; /* listed slots of an interrupted key add or remove */
	/* the slot that opened the repository: its kind and its label in the
	 * list ("" when unlisted or without a list) */
	int opened_kind;
	char opened_label[MV_KEYLIST_LABEL_MAX + 1];
};

/* Verifies keys/ against the key list: every slot's bytes against its name,
 * its structure (and the Argon2id caps), every listed slot present, every
 * slot listed, kinds as listed, the key list readable. Each problem goes to
 * ev->warn with the item "keys/<name>" or "keylist/<name>" and is counted
 * in res->errors. Returns 0 or a fatal error (out of memory, I/O on the
 * listing). */
int mv_check_keys(struct mv_repo *r, const struct mv_events *ev, struct mv_keycheck *res,
                  struct mv_error *err) MV_MUST_CHECK;

#endif
