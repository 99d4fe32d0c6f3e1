/* Encoding of blobs and sealed objects: compression decision + seal, and the
 * reverse with decompression bound and id verification (FORMAT.md 2, 5).
 *
 * A context holds a zstd compression and decompression context and scratch
 * buffers; one per thread. */
#ifndef MV_BLOB_H
#define MV_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/crypto.h"
#include "core/util/err.h"

#define MV_BLOB_MAX_RAW (64u << 20) /* FORMAT.md section 11 */

struct mv_blob_ctx;

/* level: zstd level (3 by default). Returns NULL on out of memory. */
struct mv_blob_ctx *mv_blob_ctx_new(int level);
void mv_blob_ctx_free(struct mv_blob_ctx *c); /* accepts NULL */

/* Whether mv_blob_decode recomputes the blob id of what it decoded (on by
 * default). The id is bound into the AEAD's associated data either way, so
 * a blob cannot pass as another; recomputing also catches a writer that
 * sealed wrong bytes under an id. Restore turns it off for speed; check
 * keeps it. */
void mv_blob_ctx_verify_ids(struct mv_blob_ctx *c, int on);

/* Encodes and seals `data` as an object of `type`. id may be NULL (objects
 * named by their file hash). Compression is attempted with zstd unless a
 * quick probe shows the data incompressible (e.g. JPEG 2000 pixel data), and
 * kept only when it saves at least 3%. On success *out points into the
 * context's buffer, valid until the next call on c. Returns 0,
 * MV_ERR_NOMEM or MV_ERR_LIMIT (n > MV_BLOB_MAX_RAW). */
int mv_blob_encode(struct mv_blob_ctx *c, const struct mv_keys *k, uint8_t type, const uint8_t *id,
                   const void *data, size_t n, const uint8_t **out, size_t *out_len,
                   struct mv_error *err) MV_MUST_CHECK;

/* Opens, decodes (decompressing with a cap of MV_BLOB_MAX_RAW bytes) and,
 * when id is non-NULL and type is a blob type (DATA, TREE, CATALOG), checks
 * that the keyed blob id of the result equals id. *out points into the
 * context's buffer, valid until the next call on c. Returns 0,
 * MV_ERR_INTEGRITY or MV_ERR_NOMEM. */
int mv_blob_decode(struct mv_blob_ctx *c, const struct mv_keys *k, uint8_t type, const uint8_t *id,
                   const void *stored, size_t stored_len, const uint8_t **out, size_t *out_len,
                   struct mv_error *err) MV_MUST_CHECK;

#endif
