/* Pack headers and index files (FORMAT.md sections 6 and 7): payload
 * encodings only (sealing is done by core/blob). */
#ifndef MV_FMT_INDEX_H
#define MV_FMT_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/fmt_err.h"

#define MV_INDEX_ENTRY_LEN 45
#define MV_PACKHDR_MAX     (16u << 20)
/* Entry rules every reader enforces (FORMAT.md sections 6, 11): blob types
 * only (1 data, 2 tree, 3 catalog); a stored length of at least the smallest
 * sealed frame (24 nonce + 5 frame header + 16 tag); raw length at most
 * 64 MiB. */
#define MV_INDEX_TYPE_MIN 1u
#define MV_INDEX_TYPE_MAX 3u
#define MV_SEALED_MIN_LEN 45u
#define MV_INDEX_MAX_RAW  (64u << 20)

struct mv_index_entry {
	uint8_t type;
	uint8_t id[32];
	uint32_t offset;
	uint32_t length;     /* stored (sealed) length */
	uint32_t raw_length; /* plaintext length */
};

/* Pack header payload: u32 count + entries. Entries breaking the rules the
 * decoder checks (except data_len), or more than fit in MV_PACKHDR_MAX, set
 * w->failed: a writer never produces a header no reader accepts. */
void mv_packhdr_encode(const struct mv_index_entry *e, size_t n, struct mv_wbuf *w);

/* Decodes a pack header payload, calling cb for each entry in order. Checks
 * that entries are increasing, non-overlapping and end at or before
 * data_len (the offset where the sealed header starts), the entry rules
 * above, and that no byte follows the last entry. The whole payload is
 * validated before the first cb call: malformed input never reaches cb.
 * cb returning non-zero stops decoding and that value is returned; cb may
 * be NULL (validate only). Returns 0, the cb's value, or MV_FMT_MALFORMED
 * (including len > MV_PACKHDR_MAX). Allocates nothing. The cb's value is
 * passed through unchanged (a cb may return MV_FMT_MALFORMED itself for an
 * entry it finds malformed, or any code of core/util/err.h). */
int mv_packhdr_decode(const uint8_t *p, size_t len, uint64_t data_len,
                      int (*cb)(void *arg, const struct mv_index_entry *e), void *arg);

/* Index payload: u32 pack count, per pack: 32 id, u32 count, entries. */
struct mv_index_pack {
	uint8_t id[32];
	const struct mv_index_entry *entries;
	size_t count;
};
/* Sets w->failed when a pack's entries break the rules (as for headers). */
void mv_index_encode(const struct mv_index_pack *packs, size_t npacks, struct mv_wbuf *w);

/* Decodes an index payload calling cb(arg, pack_id, entry) for each blob.
 * Each pack's entries follow the pack header rules (ordering, types,
 * lengths; data_len is unknown here and not checked); trailing bytes are
 * malformed. Validated whole before the first cb call, as above; cb may be
 * NULL. Returns 0, the cb's non-zero value, or MV_FMT_MALFORMED. */
int mv_index_decode(const uint8_t *p, size_t len,
                    int (*cb)(void *arg, const uint8_t pack_id[32], const struct mv_index_entry *e),
                    void *arg);

#endif
