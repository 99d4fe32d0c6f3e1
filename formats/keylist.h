/* The key list (FORMAT.md section 4.1): the payload of the sealed object
 * that names every key slot of a repository. */
#ifndef MV_FMT_KEYLIST_H
#define MV_FMT_KEYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/fmt_err.h"

#define MV_KEYLIST_VERSION    2    /* written; version 1 (no origin, no state) is read too */
#define MV_KEYLIST_MAX        1024 /* slots */
#define MV_KEYLIST_LABEL_MAX  64   /* bytes */
#define MV_KEYLIST_ORIGIN_MAX 64   /* bytes of host and of user */

/* The state of an entry (on disk, fixed): a slot change in progress, so
 * that an interrupted `key add` or `key remove` leaves a list that says
 * so (FORMAT.md 4.1). */
enum { MV_KEYLIST_ACTIVE = 0, MV_KEYLIST_ADDING = 1, MV_KEYLIST_REMOVING = 2 };

struct mv_keylist_entry {
	uint8_t id[32]; /* the slot's file name: BLAKE2b-256 of its bytes */
	uint8_t kind;   /* 1 password, 2 recovery, 3 machine */
	uint8_t label_len;
	char label[MV_KEYLIST_LABEL_MAX + 1]; /* NUL-terminated copy */
	/* version 2 (zero and "" in a version 1 list): */
	uint8_t state;                        /* MV_KEYLIST_* */
	int64_t created;                      /* Unix seconds when the slot was made; 0 unknown */
	char host[MV_KEYLIST_ORIGIN_MAX + 1]; /* host and user that made it, "" unknown */
	char user[MV_KEYLIST_ORIGIN_MAX + 1];
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

/* Adds a copy of x (every field, host and user NUL-terminated), keeping
 * ids in order. Returns as mv_keylist_add. */
int mv_keylist_add_entry(struct mv_keylist *kl, const struct mv_keylist_entry *x);

/* The entry of id, writable, or NULL. */
struct mv_keylist_entry *mv_keylist_find_mut(struct mv_keylist *kl, const uint8_t id[32]);

/* Removes a slot; returns 0, or MV_FMT_MALFORMED when it is not listed. */
int mv_keylist_remove(struct mv_keylist *kl, const uint8_t id[32]);

/* The entry of id, or NULL. */
const struct mv_keylist_entry *mv_keylist_find(const struct mv_keylist *kl, const uint8_t id[32]);

void mv_keylist_release(struct mv_keylist *kl); /* frees e; kl may be reused */

#endif
