/* The per-pack batch read (core/repo/packread.h). */
#include "core/repo/packread.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/repo/memindex.h"
#include "core/util/grow.h"
#include "core/repo/repo_impl.h"

/* Wanted blobs closer than this are read with one get(): reading the bytes
 * between them costs less than another request. */
#define MERGE_GAP (1u << 20)
/* A range grows no further than this (unless one blob is larger). */
#define RANGE_MAX (32u << 20)

struct mv_pack_reader {
	struct mv_blob_ctx *ctx;
	uint8_t *buf;
	size_t cap;
	const uint8_t *stored; /* the blob being handed over, as read */
};

struct mv_pack_reader *mv_pack_reader_new(int verify_ids)
{
	struct mv_pack_reader *pr = calloc(1, sizeof(*pr));
	if (!pr)
		return NULL;
	pr->ctx = mv_blob_ctx_new(3);
	if (!pr->ctx) {
		free(pr);
		return NULL;
	}
	mv_blob_ctx_verify_ids(pr->ctx, verify_ids);
	return pr;
}

void mv_pack_reader_free(struct mv_pack_reader *pr)
{
	if (!pr)
		return;
	mv_blob_ctx_free(pr->ctx);
	free(pr->buf);
	free(pr);
}

/* The largest pack a writer makes: the target plus one blob over it, the
 * header and its length. */
static uint64_t max_pack(const struct mv_repo *r)
{
	return (uint64_t)r->cfg.pack_target + mv_sealed_size(MV_BLOB_MAX_RAW) + MV_PACKHDR_MAX + 4;
}

/* Reads [lo, hi) of the pack into the reader's buffer. */
static int read_range(struct mv_pack_reader *pr, struct mv_repo *r, const char *name, uint64_t lo,
                      uint64_t hi, struct mv_error *err)
{
	size_t len = (size_t)(hi - lo);
	if (mv_grow(pr->buf, pr->cap, len ? len : 1))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	return r->be->ops->get(r->be, MV_FT_PACK, name, lo, pr->buf, len, err);
}

/* The rc a blob gets when the read that should have held it failed. */
static int unread_rc(int read_rc)
{
	if (read_rc == MV_ERR_NOTFOUND)
		return MV_ERR_NOTFOUND;
	if (read_rc == MV_ERR_INTEGRITY || read_rc == MV_ERR_LIMIT)
		return MV_ERR_INTEGRITY;
	return MV_ERR_IO;
}

/* Decodes w[a..b), read as buf = the pack's bytes [lo, hi), and hands each
 * to cb; when the read failed (read_rc), hands them over unread. */
static int hand_over(struct mv_pack_reader *pr, struct mv_repo *r, int read_rc,
                     const struct mv_error *read_e, uint64_t lo, uint64_t hi,
                     const struct mv_pack_want *w, size_t a, size_t b, unsigned flags,
                     mv_pack_blob_fn cb, void *arg, struct mv_pack_status *st)
{
	const uint8_t *buf = pr->buf;
	for (size_t i = a; i < b; i++) {
		struct mv_error e = {0};
		const uint8_t *plain = NULL;
		size_t plen = 0;
		int rc;
		uint64_t end = (uint64_t)w[i].offset + w[i].length;
		if (read_rc) {
			rc = unread_rc(read_rc);
			e = *read_e;
			e.code = rc;
		} else if (w[i].offset < lo || end > hi) {
			rc = mv_error_set(&e, MV_ERR_INTEGRITY, 0,
			                  "blob at %u (%u bytes) lies beyond the pack's end",
			                  w[i].offset, w[i].length);
		} else {
			rc = mv_blob_decode(pr->ctx, r->keys, w[i].type, w[i].id,
			                    buf + (w[i].offset - lo), w[i].length, &plain, &plen,
			                    &e);
			if (rc == MV_ERR_NOMEM)
				return rc;
			if (!rc && (flags & MV_PACKREAD_RAWLEN) && plen != w[i].raw_length)
				rc = mv_error_set(&e, MV_ERR_INTEGRITY, 0,
				                  "blob decoded to %zu bytes, the index says %u",
				                  plen, w[i].raw_length);
		}
		if (rc) {
			st->damaged++;
			plain = NULL;
			plen = 0;
		}
		pr->stored = rc ? NULL : buf + (w[i].offset - lo);
		int crc = cb(arg, i, rc, plain, plen, &e);
		pr->stored = NULL;
		if (crc)
			return crc;
	}
	return 0;
}

/* Notes a failed read in st (the first one is kept). */
static void note_read_error(struct mv_pack_status *st, int rc, const struct mv_error *e)
{
	if (st->read_rc)
		return;
	st->read_rc = rc;
	st->read_err = *e;
	st->read_err.code = rc;
}

/* Matching a pack's header entries against the wanted blobs. */
struct tiles {
	const struct mv_pack_want *w;
	size_t n, k;
};

static int same_tile(void *arg, const struct mv_index_entry *e)
{
	struct tiles *t = arg;
	const struct mv_pack_want *x = &t->w[t->k];
	if (t->k == t->n || e->offset != x->offset || e->length != x->length ||
	    e->type != x->type || e->raw_length != x->raw_length || memcmp(e->id, x->id, 32) != 0)
		return MV_FMT_MALFORMED;
	t->k++;
	return 0;
}

/* Whether the whole pack in pr->buf is covered by authentication tags that
 * the read checks: its sealed header opens, and lists exactly the wanted
 * blobs, which tile the bytes before it (the header decoder checks the
 * tiling, FORMAT.md section 6). Then every byte of the pack is either the
 * header's length (checked by the header opening) or under the AEAD tag of
 * the header or of a wanted blob, whose associated data binds its type and
 * id: damage anywhere fails a tag, and hashing the pack against its name
 * would find nothing more. */
static int tiled_as_wanted(struct mv_pack_reader *pr, struct mv_repo *r, uint64_t size,
                           const struct mv_pack_want *w, size_t n)
{
	struct tiles t = {w, n, 0};
	const uint8_t *plain;
	size_t plen;
	if (size < 4 + MV_SEAL_OVERHEAD)
		return 0;
	uint32_t hlen = mv_get_u32(pr->buf + size - 4);
	if (hlen < MV_SEAL_OVERHEAD || hlen > MV_PACKHDR_MAX || hlen > size - 4)
		return 0;
	uint64_t data_len = size - 4 - hlen;
	if (mv_blob_decode(pr->ctx, r->keys, MV_T_PACKHDR, NULL, pr->buf + data_len, hlen, &plain,
	                   &plen, NULL))
		return 0;
	if (mv_packhdr_decode(plain, plen, data_len, same_tile, &t) || t.k != n)
		return 0;
	/* the decoder checked order and bounds; tiling means no gap at all */
	uint64_t next = 0;
	for (size_t i = 0; i < n; i++) {
		if (w[i].offset != next)
			return 0;
		next += w[i].length;
	}
	return next == data_len;
}

static int read_whole(struct mv_pack_reader *pr, struct mv_repo *r, const uint8_t pack_id[32],
                      const char *name, uint64_t size, const struct mv_pack_want *w, size_t n,
                      unsigned flags, mv_pack_blob_fn cb, void *arg, struct mv_pack_status *st,
                      struct mv_error *err)
{
	struct mv_error e = {0};
	int rc;
	if (size > max_pack(r))
		rc = mv_error_set(&e, MV_ERR_LIMIT, 0, "'%s' is too large (%llu bytes)", name,
		                  (unsigned long long)size);
	else
		rc = read_range(pr, r, name, 0, size, &e);
	if (rc == MV_ERR_NOMEM)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc)
		note_read_error(st, rc, &e);
	/* hashing the pack is needed only where tags do not cover it all */
	int tiled = !rc && tiled_as_wanted(pr, r, size, w, n);
	int hrc = hand_over(pr, r, rc, &e, 0, size, w, 0, n, flags, cb, arg, st);
	if (hrc == MV_ERR_NOMEM)
		return mv_error_set(err, hrc, 0, "out of memory");
	if (!rc && (!tiled || st->damaged)) {
		/* hand_over decodes into the reader's context, not its buffer:
		 * the pack's bytes are still there */
		uint8_t h[32];
		mv_file_hash(pr->buf, (size_t)size, h);
		st->hash_ok = sodium_memcmp(h, pack_id, 32) == 0;
	} else if (!rc) {
		st->hash_ok = 1;
	}
	return hrc;
}

int mv_pack_read(struct mv_pack_reader *pr, struct mv_repo *r, const uint8_t pack_id[32],
                 uint64_t size, const struct mv_pack_want *w, size_t n, unsigned flags,
                 mv_pack_blob_fn cb, void *arg, struct mv_pack_status *st, struct mv_error *err)
{
	char name[65];
	memset(st, 0, sizeof(*st));
	mv_hex(pack_id, 32, name);
	if (flags & MV_PACKREAD_WHOLE)
		return read_whole(pr, r, pack_id, name, size, w, n, flags, cb, arg, st, err);
	for (size_t a = 0; a < n;) {
		uint64_t lo = w[a].offset, hi = (uint64_t)w[a].offset + w[a].length;
		size_t b = a + 1;
		while (b < n) {
			uint64_t end = (uint64_t)w[b].offset + w[b].length;
			if (w[b].offset < lo || w[b].offset > hi + MERGE_GAP ||
			    (end > hi && end - lo > RANGE_MAX))
				break;
			if (end > hi)
				hi = end;
			b++;
		}
		struct mv_error e = {0};
		int rc = read_range(pr, r, name, lo, hi, &e);
		if (rc == MV_ERR_NOMEM)
			return mv_error_set(err, rc, 0, "out of memory");
		if (rc)
			note_read_error(st, rc, &e);
		rc = hand_over(pr, r, rc, &e, lo, hi, w, a, b, flags, cb, arg, st);
		if (rc == MV_ERR_NOMEM)
			return mv_error_set(err, rc, 0, "out of memory");
		if (rc)
			return rc;
		a = b;
	}
	return 0;
}

const uint8_t *mv_pack_reader_stored(const struct mv_pack_reader *pr)
{
	return pr->stored;
}
