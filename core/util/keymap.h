/* A set of fixed-length keys with a u32 value each: open addressing, for
 * keys that are hash outputs (content hashes, blob ids, hashed DICOM UIDs). */
#ifndef MV_KEYMAP_H
#define MV_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/err.h"

/* Keys must be uniformly distributed (hash outputs): their first 8 bytes
 * pick the slot. */
struct mv_keymap;

/* key_len: 8..64 bytes. NULL when out of memory or key_len is out of range. */
struct mv_keymap *mv_keymap_new(size_t key_len);
/* Adds key with val unless present. Returns 0 when added, 1 when it was
 * present (*old, when non-NULL, gets its value; the value is unchanged),
 * MV_ERR_NOMEM (the map is unchanged). */
int mv_keymap_put(struct mv_keymap *m, const uint8_t *key, uint32_t val,
                  uint32_t *old) MV_MUST_CHECK;
/* 1 and *val (may be NULL) when present, 0 when absent. */
int mv_keymap_get(const struct mv_keymap *m, const uint8_t *key, uint32_t *val);
/* Sets the value of a key that is present (nothing when absent). */
void mv_keymap_set(struct mv_keymap *m, const uint8_t *key, uint32_t val);
size_t mv_keymap_count(const struct mv_keymap *m);
void mv_keymap_free(struct mv_keymap *m); /* accepts NULL */

#endif
