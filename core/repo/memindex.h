/* The in-memory index: blob id -> (pack, offset, lengths). About 70 bytes per
 * distinct blob. Not thread-safe: callers serialise access. */
#ifndef MV_INDEX_H
#define MV_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/err.h"
#include "formats/index.h"

#define MV_PACK_NONE UINT32_MAX

struct mv_blob_loc {
	uint8_t id[32];
	uint32_t pack; /* pack number (mv_index_pack_id), MV_PACK_NONE while pending */
	uint32_t offset;
	uint32_t length;
	uint32_t raw_length;
	uint8_t type;
};

struct mv_index;

struct mv_index *mv_index_new(void);
void mv_index_free(struct mv_index *x); /* accepts NULL */

/* Registers a pack id (or finds it); *pack_no gets its number. id may be
 * NULL for a pack still being written (set later with mv_index_set_pack_id).
 * Returns 0 or MV_ERR_NOMEM. */
int mv_index_add_pack(struct mv_index *x, const uint8_t *id, uint32_t *pack_no) MV_MUST_CHECK;
int mv_index_set_pack_id(struct mv_index *x, uint32_t pack_no, const uint8_t id[32]) MV_MUST_CHECK;
/* Finds a pack by id: its number or MV_PACK_NONE. */
uint32_t mv_index_find_pack(const struct mv_index *x, const uint8_t id[32]);
const uint8_t *mv_index_pack_id(const struct mv_index *x, uint32_t pack_no);
size_t mv_index_npacks(const struct mv_index *x);
/* A pack that an index file names but the repository does not hold (found
 * missing when the index was loaded): backup stores its blobs again, and the
 * index prefers a copy of a blob in a pack that exists. */
void mv_index_set_pack_missing(struct mv_index *x, uint32_t pack_no);
int mv_index_pack_missing(const struct mv_index *x, uint32_t pack_no);

/* Makes room for n blobs at once (a hint: loading avoids repeated growth).
 * Returns 0 or MV_ERR_NOMEM. */
int mv_index_reserve(struct mv_index *x, size_t n) MV_MUST_CHECK;

/* Adds a blob location. If the id is already present, nothing changes and
 * 1 is returned (0 when added). MV_ERR_NOMEM on failure. */
int mv_index_add(struct mv_index *x, const struct mv_blob_loc *loc) MV_MUST_CHECK;
/* Updates the location of a present blob (pending -> stored). */
int mv_index_update(struct mv_index *x, const struct mv_blob_loc *loc) MV_MUST_CHECK;
/* Looks up a blob; the pointer is valid until the next add. */
const struct mv_blob_loc *mv_index_lookup(const struct mv_index *x, const uint8_t id[32]);
size_t mv_index_count(const struct mv_index *x);
/* The i-th blob in insertion order (0 <= i < count). */
const struct mv_blob_loc *mv_index_at(const struct mv_index *x, size_t i);

#endif
