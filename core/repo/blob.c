/* Blob encoding "mvblob1": compression decision + seal, and the reverse with
 * a bounded decompression and id verification (docs/FORMAT.md 2, 5, 11). */
#include "core/repo/blob.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <zstd.h>
#include <zstd_errors.h>

/* Data of at least PROBE_MIN bytes is first probed: a PROBE_SAMPLE-byte
 * sample from its middle is compressed at PROBE_LEVEL as is, with its bytes
 * shuffled, and as shuffled zigzag deltas of 16-bit samples (uncompressed
 * DICOM pixel data compresses better and faster with its high and low
 * bytes apart, and better still as differences between neighbours); the
 * best transform is used, and if none saves 3% the data is stored. */
#define PROBE_MIN    (64u << 10)
#define PROBE_SAMPLE (16u << 10)
#define PROBE_LEVEL  1
/* Shuffled 16-bit samples compress at level 1 within about 1.5% of level 3,
 * three to four times faster. */
#define SHUFFLE_LEVEL 1
/* Compressed output is kept only when it is at most KEEP_PCT % of the input. */
#define KEEP_PCT 97u

/* A growable scratch buffer. Contents may be plaintext: wiped before the
 * memory is given back. */
struct scratch {
	uint8_t *p;
	size_t cap;
};

struct mv_blob_ctx {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	int level;
	struct scratch comp;   /* encode: compressed payload */
	struct scratch sealed; /* encode: sealed frame (the output) */
	struct scratch work;   /* decode: opened frame */
	struct scratch raw;    /* decode: decompressed payload (the output) */
	struct scratch shuf;   /* shuffled input or output */
	int verify_ids;        /* recompute blob ids on decode */
};

/* Byte shuffle of width 2: the even-indexed bytes, then the odd-indexed
 * ones (FORMAT.md section 2, encoding 2). */
static void shuffle2(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t h = (n + 1) / 2;
	for (size_t i = 0; i < n / 2; i++) {
		out[i] = in[2 * i];
		out[h + i] = in[2 * i + 1];
	}
	if (n & 1)
		out[h - 1] = in[n - 1];
}

/* Encoding 3: 16-bit little-endian samples replaced by the zigzag-coded
 * difference from the previous sample (the first from 0), then shuffled
 * like shuffle2; an odd last byte is kept as is (FORMAT.md section 2). */
static void delta16(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t h = (n + 1) / 2;
	uint16_t prev = 0;
	for (size_t i = 0; i < n / 2; i++) {
		uint16_t v = (uint16_t)(in[2 * i] | in[2 * i + 1] << 8);
		uint16_t d = (uint16_t)(v - prev);
		uint16_t z = (uint16_t)((uint16_t)(d << 1) ^ (uint16_t) - (d >> 15));
		prev = v;
		out[i] = (uint8_t)z;
		out[h + i] = (uint8_t)(z >> 8);
	}
	if (n & 1)
		out[h - 1] = in[n - 1];
}

static void undelta16(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t h = (n + 1) / 2, w = n / 2, i = 0;
	uint16_t prev = 0;
#if defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* 8 samples at a time: interleave, zigzag-decode, prefix-sum within the
	 * vector, add the running total (restore spends its time here) */
	__m128i carry = _mm_setzero_si128();
	const __m128i one = _mm_set1_epi16(1);
	for (; i + 8 <= w; i += 8) {
		__m128i lo = _mm_loadl_epi64((const __m128i *)(const void *)(in + i));
		__m128i hi = _mm_loadl_epi64((const __m128i *)(const void *)(in + h + i));
		__m128i z = _mm_unpacklo_epi8(lo, hi);
		__m128i neg = _mm_sub_epi16(_mm_setzero_si128(), _mm_and_si128(z, one));
		__m128i d = _mm_xor_si128(_mm_srli_epi16(z, 1), neg);
		d = _mm_add_epi16(d, _mm_slli_si128(d, 2));
		d = _mm_add_epi16(d, _mm_slli_si128(d, 4));
		d = _mm_add_epi16(d, _mm_slli_si128(d, 8));
		d = _mm_add_epi16(d, carry);
		_mm_storeu_si128((__m128i *)(void *)(out + 2 * i), d);
		__m128i top = _mm_shufflehi_epi16(d, 0xff);
		carry = _mm_unpackhi_epi64(top, top);
	}
	prev = (uint16_t)_mm_extract_epi16(carry, 0);
#endif
	for (; i < w; i++) {
		uint16_t z = (uint16_t)(in[i] | in[h + i] << 8);
		uint16_t d = (uint16_t)((z >> 1) ^ (uint16_t) - (z & 1));
		prev = (uint16_t)(prev + d);
		out[2 * i] = (uint8_t)prev;
		out[2 * i + 1] = (uint8_t)(prev >> 8);
	}
	if (n & 1)
		out[n - 1] = in[h - 1];
}

static void unshuffle2(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t h = (n + 1) / 2;
	for (size_t i = 0; i < n / 2; i++) {
		out[2 * i] = in[i];
		out[2 * i + 1] = in[h + i];
	}
	if (n & 1)
		out[n - 1] = in[h - 1];
}

static void scratch_release(struct scratch *s)
{
	if (s->p) {
		sodium_memzero(s->p, s->cap);
		free(s->p);
	}
	s->p = NULL;
	s->cap = 0;
}

/* Makes s hold at least need bytes (need <= limit). Grows geometrically up to
 * limit; the old contents are not kept. Returns 0 or MV_ERR_NOMEM. */
static int scratch_reserve(struct scratch *s, size_t need, size_t limit)
{
	size_t ncap;

	if (need == 0)
		need = 1;
	if (need <= s->cap)
		return 0;
	if (need > limit)
		return MV_ERR_LIMIT;
	ncap = s->cap > limit / 2 ? limit : s->cap * 2;
	if (ncap < need)
		ncap = need;
	scratch_release(s);
	s->p = malloc(ncap);
	if (!s->p)
		return MV_ERR_NOMEM;
	s->cap = ncap;
	return 0;
}

static size_t max_sealed(void)
{
	return mv_sealed_size(MV_BLOB_MAX_RAW);
}

struct mv_blob_ctx *mv_blob_ctx_new(int level)
{
	struct mv_blob_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (level == 0)
		level = ZSTD_CLEVEL_DEFAULT;
	if (level < ZSTD_minCLevel())
		level = ZSTD_minCLevel();
	if (level > ZSTD_maxCLevel())
		level = ZSTD_maxCLevel();
	c->level = level;
	c->verify_ids = 1;
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	if (!c->cctx || !c->dctx) {
		mv_blob_ctx_free(c);
		return NULL;
	}
	return c;
}

void mv_blob_ctx_free(struct mv_blob_ctx *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	scratch_release(&c->comp);
	scratch_release(&c->sealed);
	scratch_release(&c->work);
	scratch_release(&c->raw);
	scratch_release(&c->shuf);
	free(c);
}

void mv_blob_ctx_verify_ids(struct mv_blob_ctx *c, int on)
{
	c->verify_ids = on;
}

static int is_blob_type(uint8_t type)
{
	return type == MV_T_DATA || type == MV_T_TREE || type == MV_T_CATALOG;
}

/* Largest compressed size worth keeping for n input bytes. n is at most
 * MV_BLOB_MAX_RAW, so the product fits in 64 bits. */
static size_t keep_limit(size_t n)
{
	return (size_t)((uint64_t)n * KEEP_PCT / 100u);
}

/* Compresses src into c->comp with at most cap output bytes. Returns the
 * compressed size, or 0 when the output does not fit in cap (not worth
 * keeping) or zstd fails; *rc is MV_ERR_NOMEM when zstd ran out of memory,
 * else 0. */
static size_t compress_capped(struct mv_blob_ctx *c, const void *src, size_t n, size_t cap,
                              int level, int *rc)
{
	size_t r = ZSTD_compressCCtx(c->cctx, c->comp.p, cap, src, n, level);

	*rc = 0;
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
			*rc = MV_ERR_NOMEM;
		return 0;
	}
	return r;
}

/* Decides the encoding. On return *enc, *payload and *plen describe what to
 * seal (data itself or c->comp). Returns 0 or MV_ERR_NOMEM. */
static int choose_encoding(struct mv_blob_ctx *c, const uint8_t *data, size_t n, uint8_t *enc,
                           const uint8_t **payload, size_t *plen)
{
	size_t keep = keep_limit(n);
	size_t probe_keep = keep_limit(PROBE_SAMPLE);
	size_t clen;
	int rc;
	uint8_t chosen = MV_ENC_ZSTD;

	*enc = MV_ENC_STORED;
	*payload = data;
	*plen = n;
	if (keep == 0)
		return 0;
	rc = scratch_reserve(&c->comp, keep > probe_keep ? keep : probe_keep, MV_BLOB_MAX_RAW);
	if (rc)
		return rc;
	if (n >= PROBE_MIN) {
		const uint8_t *sample = data + ((n - PROBE_SAMPLE) / 2 & ~(size_t)1);
		uint8_t t[PROBE_SAMPLE];
		size_t best =
		    compress_capped(c, sample, PROBE_SAMPLE, probe_keep, PROBE_LEVEL, &rc);
		if (rc)
			return rc;
		static const uint8_t encs[] = {MV_ENC_ZSTD_SHUF2, MV_ENC_ZSTD_DELTA16};
		for (size_t i = 0; i < sizeof(encs); i++) {
			if (encs[i] == MV_ENC_ZSTD_SHUF2)
				shuffle2(sample, PROBE_SAMPLE, t);
			else
				delta16(sample, PROBE_SAMPLE, t);
			size_t z =
			    compress_capped(c, t, PROBE_SAMPLE, probe_keep, PROBE_LEVEL, &rc);
			if (rc)
				return rc;
			if (z && (!best || z < best)) {
				best = z;
				chosen = encs[i];
			}
		}
		if (best == 0)
			return 0; /* the sample saves < 3%: store */
	}
	const uint8_t *src = data;
	if (chosen != MV_ENC_ZSTD) {
		rc = scratch_reserve(&c->shuf, n, MV_BLOB_MAX_RAW);
		if (rc)
			return rc;
		if (chosen == MV_ENC_ZSTD_SHUF2)
			shuffle2(data, n, c->shuf.p);
		else
			delta16(data, n, c->shuf.p);
		src = c->shuf.p;
	}
	clen =
	    compress_capped(c, src, n, keep, chosen == MV_ENC_ZSTD ? c->level : SHUFFLE_LEVEL, &rc);
	if (rc)
		return rc;
	if (clen == 0)
		return 0; /* does not save 3%: store */
	*enc = chosen;
	*payload = c->comp.p;
	*plen = clen;
	return 0;
}

int mv_blob_encode(struct mv_blob_ctx *c, const struct mv_keys *k, uint8_t type, const uint8_t *id,
                   const void *data, size_t n, const uint8_t **out, size_t *out_len,
                   struct mv_error *err)
{
	const uint8_t *payload;
	size_t plen, need, written;
	uint8_t enc;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (n > MV_BLOB_MAX_RAW) {
		rc = mv_error_set(err, MV_ERR_LIMIT, 0, "blob of %zu bytes exceeds the limit of %u",
		                  n, MV_BLOB_MAX_RAW);
		goto out;
	}
	rc = choose_encoding(c, data, n, &enc, &payload, &plen);
	if (rc) {
		mv_error_set(err, rc, 0, "cannot compress a blob of %zu bytes", n);
		goto out;
	}
	need = mv_sealed_size(plen);
	rc = scratch_reserve(&c->sealed, need, max_sealed());
	if (need == 0 || rc) {
		rc = mv_error_set(err, rc ? rc : MV_ERR_LIMIT, 0,
		                  "cannot allocate %zu bytes to seal a blob", need);
		goto out;
	}
	written = mv_seal(k, type, id, enc, payload, plen, c->sealed.p);
	if (written != need) {
		rc = mv_error_set(err, MV_ERR_USAGE, 0, "cannot seal a blob of %zu bytes", plen);
		goto out;
	}
	*out = c->sealed.p;
	*out_len = written;
out:
	return rc;
}

/* Decompresses a zstd payload into c->raw: exactly one frame that declares
 * its content size, at most MV_BLOB_MAX_RAW, and produces exactly that. */
static int decompress(struct mv_blob_ctx *c, const uint8_t *src, size_t n, const uint8_t **out,
                      size_t *out_len, struct mv_error *err)
{
	static const uint8_t magic[4] = {ZSTD_MAGICNUMBER & 0xff, (ZSTD_MAGICNUMBER >> 8) & 0xff,
	                                 (ZSTD_MAGICNUMBER >> 16) & 0xff,
	                                 (ZSTD_MAGICNUMBER >> 24) & 0xff};
	unsigned long long declared;
	size_t fsize, r;
	int rc;

	if (n < sizeof(magic) || memcmp(src, magic, sizeof(magic)) != 0)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "blob payload is not a zstd frame");
	declared = ZSTD_getFrameContentSize(src, n);
	if (declared == ZSTD_CONTENTSIZE_ERROR)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "blob zstd frame header is invalid");
	if (declared == ZSTD_CONTENTSIZE_UNKNOWN)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "blob zstd frame does not declare its content size");
	if (declared > MV_BLOB_MAX_RAW)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "blob zstd frame declares %llu bytes, over the %u byte limit",
		                    declared, MV_BLOB_MAX_RAW);
	fsize = ZSTD_findFrameCompressedSize(src, n);
	if (ZSTD_isError(fsize) || fsize != n)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "blob zstd payload is not exactly one frame");
	rc = scratch_reserve(&c->raw, (size_t)declared, MV_BLOB_MAX_RAW);
	if (rc)
		return mv_error_set(err, rc, 0, "cannot allocate %llu bytes to decompress a blob",
		                    declared);
	r = ZSTD_decompressDCtx(c->dctx, c->raw.p, (size_t)declared, src, n);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
			return mv_error_set(err, MV_ERR_NOMEM, 0,
			                    "out of memory decompressing a blob");
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "blob zstd frame is damaged: %s",
		                    ZSTD_getErrorName(r));
	}
	if (r != declared)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "blob zstd frame produced %zu bytes but declares %llu", r,
		                    declared);
	*out = c->raw.p;
	*out_len = r;
	return 0;
}

int mv_blob_decode(struct mv_blob_ctx *c, const struct mv_keys *k, uint8_t type, const uint8_t *id,
                   const void *stored, size_t stored_len, const uint8_t **out, size_t *out_len,
                   struct mv_error *err)
{
	const uint8_t *payload = NULL, *res = NULL;
	size_t plen = 0, rlen = 0;
	uint8_t enc = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (stored_len < MV_SEAL_OVERHEAD + MV_FRAME_HDR) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "sealed object too short (%zu bytes)",
		                  stored_len);
		goto out;
	}
	if (stored_len > max_sealed()) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                  "sealed object of %zu bytes exceeds the %zu byte limit",
		                  stored_len, max_sealed());
		goto out;
	}
	rc = scratch_reserve(&c->work, stored_len - MV_SEAL_OVERHEAD, max_sealed());
	if (rc) {
		mv_error_set(err, rc, 0, "cannot allocate %zu bytes to open a sealed object",
		             stored_len);
		goto out;
	}
	rc = mv_unseal(k, type, id, stored, stored_len, c->work.p, &enc, &payload, &plen, err);
	if (rc)
		goto out;
	if (enc != MV_ENC_STORED) {
		rc = decompress(c, payload, plen, &res, &rlen, err);
		if (rc)
			goto out;
		if (enc != MV_ENC_ZSTD) {
			rc = scratch_reserve(&c->shuf, rlen, MV_BLOB_MAX_RAW);
			if (rc) {
				mv_error_set(err, rc, 0, "out of memory");
				goto out;
			}
			if (enc == MV_ENC_ZSTD_SHUF2)
				unshuffle2(res, rlen, c->shuf.p);
			else
				undelta16(res, rlen, c->shuf.p);
			res = c->shuf.p;
		}
	} else {
		if (plen > MV_BLOB_MAX_RAW) {
			rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
			                  "stored payload of %zu bytes exceeds the %u byte limit",
			                  plen, MV_BLOB_MAX_RAW);
			goto out;
		}
		res = payload;
		rlen = plen;
	}
	if (id && is_blob_type(type) && c->verify_ids) {
		uint8_t got[MV_ID_LEN];
		mv_blob_id(k, res, rlen, got);
		if (sodium_memcmp(got, id, MV_ID_LEN) != 0) {
			char hex[2 * MV_ID_LEN + 1];
			mv_hex(id, MV_ID_LEN, hex);
			rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "blob id mismatch for '%s'",
			                  hex);
			goto out;
		}
	}
	*out = res;
	*out_len = rlen;
out:
	return rc;
}
