/* The per-pack batch read (blob I/O service): given a pack and the blobs
 * wanted from it, sorted by offset, reads the ranges that hold them with few
 * backend get() calls, authenticates and decodes each blob and hands it to a
 * callback. A read that fails (the repository could not be read: MV_ERR_IO)
 * is kept apart from damage (a blob fails authentication or its id check, or
 * the pack is missing or shorter than the index says).
 *
 * A reader holds a blob context and a read buffer reused from pack to pack;
 * one per thread. Used by restore's pack workers and check --read-data. */
#ifndef MV_PACKREAD_H
#define MV_PACKREAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/err.h"

/* One blob wanted from a pack. */
struct mv_pack_want {
	const uint8_t *id; /* 32 bytes: bound into the AEAD, and checked when verifying ids */
	uint8_t type;
	uint32_t offset;     /* in the pack */
	uint32_t length;     /* stored (sealed) length */
	uint32_t raw_length; /* checked with MV_PACKREAD_RAWLEN */
};

/* Read the whole pack (its size given) and verify all of it: when the wanted
 * blobs are exactly those its header lists, the header's and the blobs'
 * tags cover every byte; otherwise (or when a blob is damaged) its hash is
 * compared with its name. */
#define MV_PACKREAD_WHOLE 1u
/* A decoded blob whose length is not raw_length is damaged. */
#define MV_PACKREAD_RAWLEN 2u

/* What a read found. */
struct mv_pack_status {
	int read_rc;              /* the first failed read: 0, MV_ERR_IO, NOTFOUND, INTEGRITY */
	struct mv_error read_err; /* its message */
	int hash_ok;              /* MV_PACKREAD_WHOLE: the content is the one named */
	size_t damaged;           /* blobs handed over with a non-zero rc */
};

/* A blob: rc 0 (plain[0..len) valid until the callback returns), the
 * read's error for a blob that could not be read (MV_ERR_IO: not damage;
 * MV_ERR_NOTFOUND or MV_ERR_INTEGRITY: the pack is missing or short), or
 * MV_ERR_INTEGRITY when it failed to decode (e says why). i is its index in
 * the wanted array. A non-zero return stops the read and is returned. */
typedef int (*mv_pack_blob_fn)(void *arg, size_t i, int rc, const uint8_t *plain, size_t len,
                               const struct mv_error *e);

struct mv_pack_reader;

/* verify_ids: recompute each blob's keyed id (mv_blob_ctx_verify_ids).
 * Returns NULL on out of memory. */
struct mv_pack_reader *mv_pack_reader_new(int verify_ids);
void mv_pack_reader_free(struct mv_pack_reader *pr); /* accepts NULL */

/* Reads the n blobs w (sorted by offset; a blob wanted twice is decoded
 * twice, so callers pass each once) from pack `pack_id` of r, whose size is `size` (needed with
 * MV_PACKREAD_WHOLE, else ignored), calling cb for each, in order. Returns
 * 0 once every blob was handed over (st says what the reads found), or
 * MV_ERR_NOMEM, or cb's non-zero return. */
int mv_pack_read(struct mv_pack_reader *pr, struct mv_repo *r, const uint8_t pack_id[32],
                 uint64_t size, const struct mv_pack_want *w, size_t n, unsigned flags,
                 mv_pack_blob_fn cb, void *arg, struct mv_pack_status *st,
                 struct mv_error *err) MV_MUST_CHECK;

/* Inside the callback of mv_pack_read, for a blob handed over with rc 0:
 * its stored (sealed) bytes as read from the pack, w[i].length of them,
 * authenticated by the decoding (prune copies them into new packs without
 * sealing them again). NULL outside a callback or for a blob not read. */
const uint8_t *mv_pack_reader_stored(const struct mv_pack_reader *pr);

#endif
