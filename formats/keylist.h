/* The key list (FORMAT.md section 4.1): the payload of the sealed object
 * that names every key slot of a repository. */
#ifndef MV_FMT_KEYLIST_H
#define MV_FMT_KEYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/fmt_err.h"

#define MV_KEYLIST_VERSION   1
#define MV_KEYLIST_MAX       1024 /* slots */
#define MV_KEYLIST_LABEL_MAX 64   /* bytes */

struct mv_keylist_entry {
	uint8_t id[32]; /* the slot's file name: BLAKE2b-256 of its bytes */
	uint8_t kind;   /* 1 password, 2 recovery, 3 machine */
	uint8_t label_len;
	char label[MV_KEYLIST_LABEL_MAX + 1]; /* NUL-terminated copy */
};

struct mv_keylist {
	uint64_t generation;
	uint32_t n;
	struct mv_keylist_entry *e; /* malloc'd, ids strictly increasing */
};

/* Encodes kl into w. Returns 0, or MV_FMT_MALFORMED when kl breaks a rule of the format
 * (no entry, too many, ids not strictly increasing, bad kind or label). */
int mv_keylist_encode(const struct mv_keylist *kl, struct mv_wbuf *w);

/* Decodes a payload into kl (released by the caller with
 * mv_keylist_release, also after an error). Returns 0, MV_FMT_MALFORMED or MV_FMT_NOMEM (out
 * of memory). */
int mv_keylist_decode(const uint8_t *p, size_t len, struct mv_keylist *kl);

/* Adds a slot, keeping ids in order. Returns 0, MV_FMT_MALFORMED when the id is listed
 * already, the list is full, the kind or the label is invalid, MV_FMT_NOMEM out of
 * memory. */
int mv_keylist_add(struct mv_keylist *kl, const uint8_t id[32], uint8_t kind, const char *label,
                   size_t label_len);

/* Removes a slot; returns 0, or MV_FMT_MALFORMED when it is not listed. */
int mv_keylist_remove(struct mv_keylist *kl, const uint8_t id[32]);

/* The entry of id, or NULL. */
const struct mv_keylist_entry *mv_keylist_find(const struct mv_keylist *kl, const uint8_t id[32]);

void mv_keylist_release(struct mv_keylist *kl); /* frees e; kl may be reused */

#endif
