/* FastCDC content-defined chunker ("fastcdc-gear-v1").
 *
 * Xia et al., "FastCDC: a Fast and Efficient Content-Defined Chunking
 * Approach for Data Deduplication" (USENIX ATC 2016) and "The Design of
 * Fast Content-Defined Chunking for Data Deduplication Based Storage
 * Systems" (IEEE TPDS 2020):
 *
 * - gear rolling hash h = (h << 1) + gear[byte] on 64-bit values, where the
 *   gear table is keyed (see derive_gear below);
 * - cut-point skipping: the first `min` bytes of a chunk are not hashed; the
 *   hash starts at zero at offset min;
 * - normalized chunking, level 2: from offset min up to offset avg a cut
 *   needs (h & mask_s) == 0 where mask_s has log2(avg) + 2 bits; from offset
 *   avg up to max a cut needs (h & mask_l) == 0 where mask_l has
 *   log2(avg) - 2 bits;
 * - a chunk that reaches max bytes without a cut is cut at max; at the end of
 *   the stream the rest is the last chunk.
 *
 * When byte i (0-based from the chunk start) satisfies the cut condition the
 * chunk is bytes [0, i], i.e. its length is i + 1, so a cut depends only on
 * the bytes of the chunk itself.
 *
 * Masks: the k one-bits of a mask are spread over bits 15..62 of the hash,
 * bit 62 - floor(j * 48 / k) for j = 0..k-1. Bit b of the gear hash depends on
 * the last b + 1 bytes, so every mask bit sees a window of at least 16 bytes
 * (most see far more). Bit 63 is never used so that the two-bytes-per-step
 * loop below (FastCDC 2020 "rolling two bytes") is exact.
 *
 * Gear table: the first 2048 bytes of the ChaCha20 keystream
 * (crypto_stream_chacha20, original 64-bit nonce variant) with key = the
 * repository's chunker sub-key and nonce = the 8 ASCII bytes "mvgear01",
 * read as 256 little-endian u64 values gear[0..255].
 */
#include "core/repo/chunker.h"

#include <sodium.h>
#include <string.h>

#define GEAR_NONCE "mvgear01"
#define MASK_SPAN  48u
#define MASK_TOP   62u

struct mv_chunker {
	uint64_t gear[256];
	uint64_t gear_ls[256]; /* gear[b] << 1 */
	uint64_t mask_s;
	uint64_t mask_l;
	uint64_t mask_s_ls; /* mask_s << 1 */
	uint64_t mask_l_ls; /* mask_l << 1 */
	uint64_t min;
	uint64_t avg;
	uint64_t max;
};

static unsigned log2_u32(uint32_t v)
{
	unsigned r = 0;
	while (v >>= 1)
		r++;
	return r;
}

/* k one-bits spread over bits MASK_TOP .. MASK_TOP - MASK_SPAN + 1. */
static uint64_t spread_mask(unsigned k)
{
	uint64_t m = 0;
	for (unsigned j = 0; j < k; j++)
		m |= (uint64_t)1 << (MASK_TOP - (j * MASK_SPAN) / k);
	return m;
}

static void derive_gear(struct mv_chunker *c, const uint8_t key[MV_KEY_LEN])
{
	uint8_t stream[256 * 8];
	uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];

	_Static_assert(sizeof(GEAR_NONCE) - 1 == sizeof(nonce), "gear nonce length");
	memcpy(nonce, GEAR_NONCE, sizeof(nonce));
	crypto_stream_chacha20(stream, sizeof(stream), nonce, key);
	for (size_t i = 0; i < 256; i++) {
		uint64_t v = 0;
		for (size_t b = 0; b < 8; b++)
			v |= (uint64_t)stream[i * 8 + b] << (8 * b);
		c->gear[i] = v;
		c->gear_ls[i] = v << 1;
	}
	sodium_memzero(stream, sizeof(stream));
}

struct mv_chunker *mv_chunker_new(const uint8_t key[MV_KEY_LEN], const struct mv_chunker_params *p)
{
	struct mv_chunker *c = NULL;

	if (!key || !p)
		return NULL;
	if (p->min < 64 || p->avg == 0 || (p->avg & (p->avg - 1)) != 0)
		return NULL;
	if (!(p->min < p->avg && p->avg < p->max) || p->max > (64u << 20))
		return NULL;
	if (sodium_init() < 0)
		return NULL;
	/* The gear table is equivalent to the chunker key: keep it in guarded,
	 * locked memory that sodium_free wipes. */
	c = sodium_malloc(sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));

	unsigned bits = log2_u32(p->avg); /* 7 .. 25 given the checks above */
	c->mask_s = spread_mask(bits + 2);
	c->mask_l = spread_mask(bits - 2);
	c->mask_s_ls = c->mask_s << 1;
	c->mask_l_ls = c->mask_l << 1;
	c->min = p->min;
	c->avg = p->avg;
	c->max = p->max;
	derive_gear(c, key);
	return c;
}

void mv_chunker_free(struct mv_chunker *c)
{
	if (c)
		sodium_free(c); /* wipes */
}

/* Scans bytes [i, end) with one mask. Returns the chunk length (cut after
 * byte j -> j + 1) or 0 when no byte in the range cuts; *hp carries the hash.
 * Two bytes per step: (h << 2) + gear_ls[a] is the hash after byte a shifted
 * left by one, which is zero under mask << 1 exactly when the hash after a is
 * zero under mask (mask has no bit 63); adding gear[b] then gives the hash
 * after byte b. */
static inline size_t scan(const struct mv_chunker *c, const uint8_t *buf, size_t i, size_t end,
                          uint64_t mask, uint64_t mask_ls, uint64_t *hp)
{
	uint64_t h = *hp;
	const uint64_t *gear = c->gear;
	const uint64_t *gear_ls = c->gear_ls;

	while (i + 2 <= end) {
		h = (h << 2) + gear_ls[buf[i]];
		if (!(h & mask_ls))
			return i + 1;
		h += gear[buf[i + 1]];
		if (!(h & mask))
			return i + 2;
		i += 2;
	}
	if (i < end) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & mask))
			return i + 1;
	}
	*hp = h;
	return 0;
}

size_t mv_chunker_next(const struct mv_chunker *c, const uint8_t *buf, size_t n, int eof)
{
	if (n == 0)
		return 0;
	if (n <= c->min)
		return eof ? n : 0;

	size_t end = n < c->max ? n : (size_t)c->max;
	size_t norm = end < c->avg ? end : (size_t)c->avg;
	uint64_t h = 0;
	size_t cut;

	cut = scan(c, buf, (size_t)c->min, norm, c->mask_s, c->mask_s_ls, &h);
	if (cut)
		return cut;
	if (norm < end) {
		cut = scan(c, buf, norm, end, c->mask_l, c->mask_l_ls, &h);
		if (cut)
			return cut;
	}
	if (end == c->max)
		return end;
	return eof ? n : 0;
}
