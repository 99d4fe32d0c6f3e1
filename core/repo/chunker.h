/* Content-defined chunker (FastCDC with normalized chunking; gear table
 * derived from the repository's chunker key). Deterministic for a given key
 * and parameters. */
#ifndef MV_CHUNKER_H
#define MV_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/crypto.h"

struct mv_chunker_params {
	uint32_t min;
	uint32_t avg; /* power of two */
	uint32_t max;
};

#define MV_CHUNK_MIN_DEFAULT (512u << 10)
#define MV_CHUNK_AVG_DEFAULT (1u << 20)
#define MV_CHUNK_MAX_DEFAULT (8u << 20)

struct mv_chunker;

/* Returns NULL on out of memory or invalid parameters (min < 64, avg not a
 * power of two, not min < avg < max, max > 64 MiB). */
struct mv_chunker *mv_chunker_new(const uint8_t key[MV_KEY_LEN], const struct mv_chunker_params *p);
void mv_chunker_free(struct mv_chunker *c); /* accepts NULL */

/* buf holds the bytes from the start of the next chunk; n of them are
 * available, eof says whether more follow. Returns the length of the next
 * chunk (1..min(n, max)), or 0 when n < max and !eof and no cut point was
 * found yet (the caller must supply more bytes), or 0 when n == 0. */
size_t mv_chunker_next(const struct mv_chunker *c, const uint8_t *buf, size_t n, int eof);

#endif
