/* Unit tests of the blob encoding (core/repo/blob.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <zstd.h>

#include "core/repo/blob.h"
#include "tests/unit/testutil.h"

struct fixture {
	struct mv_keys *keys;
	struct mv_blob_ctx *ctx;
};

static int setup(void **state)
{
	static struct fixture f;
	uint8_t master[MV_KEY_LEN];

	if (mv_crypto_init() != 0)
		return -1;
	randombytes_buf(master, sizeof(master));
	f.keys = mv_keys_derive(master);
	sodium_memzero(master, sizeof(master));
	f.ctx = mv_blob_ctx_new(3);
	if (!f.keys || !f.ctx)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mv_blob_ctx_free(f->ctx);
	mv_keys_free(f->keys);
	return 0;
}

/* Text that looks like a DICOM dump: compresses well. */
static uint8_t *text_data(size_t n)
{
	uint8_t *p = malloc(n);
	size_t off = 0;
	unsigned i = 0;

	assert_non_null(p);
	while (off < n) {
		char line[128];
		int len =
		    snprintf(line, sizeof(line),
		             "(0010,0010) PN [DUPONT^MARIE] # patient %u study %u series %u\n",
		             i % 97, i % 13, i);
		assert_true(len > 0);
		size_t l = (size_t)len < n - off ? (size_t)len : n - off;
		memcpy(p + off, line, l);
		off += l;
		i++;
	}
	return p;
}

/* Encodes, decodes, compares; returns the sealed length. */
static size_t round_trip(struct fixture *f, uint8_t type, int with_id, const uint8_t *data,
                         size_t n)
{
	struct mv_error err = {0};
	uint8_t id[MV_ID_LEN];
	const uint8_t *sealed, *out;
	size_t sealed_len, out_len;

	mv_blob_id(f->keys, data, n, id);
	assert_int_equal(mv_blob_encode(f->ctx, f->keys, type, with_id ? id : NULL, data, n,
	                                &sealed, &sealed_len, &err),
	                 0);
	/* Copy: the decode reuses the context. */
	uint8_t *copy = malloc(sealed_len);
	assert_non_null(copy);
	memcpy(copy, sealed, sealed_len);
	assert_int_equal(mv_blob_decode(f->ctx, f->keys, type, with_id ? id : NULL, copy,
	                                sealed_len, &out, &out_len, &err),
	                 0);
	assert_int_equal(out_len, n);
	if (n)
		assert_memory_equal(out, data, n);
	free(copy);
	return sealed_len;
}

static void test_blob__round_trip_text_is_compressed(void **state)
{
	struct fixture *f = *state;
	size_t sizes[] = {200, 4096, 100000, 1u << 20};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *data = text_data(sizes[i]);
		size_t sealed = round_trip(f, MV_T_DATA, 1, data, sizes[i]);
		assert_true(sealed < mv_sealed_size(sizes[i]));
		if (sizes[i] >= 4096)
			assert_true(sealed < sizes[i] / 2);
		free(data);
	}
}

static void test_blob__round_trip_random_is_stored(void **state)
{
	struct fixture *f = *state;
	size_t sizes[] = {0, 1, 2, 100, 4096, 65535, 65536, 1u << 20, (3u << 20) + 7};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *data = tu_random_data(sizes[i], (uint8_t)i);
		size_t sealed = round_trip(f, MV_T_DATA, 1, data, sizes[i]);
		assert_int_equal(sealed, mv_sealed_size(sizes[i]));
		free(data);
	}
}

static void test_blob__probe_decides_for_large_blobs(void **state)
{
	struct fixture *f = *state;
	size_t n = 1u << 20;

	/* Zeros with a random middle: the probe sample is incompressible, so the
	 * blob is stored even though it would compress. */
	uint8_t *data = calloc(n, 1);
	assert_non_null(data);
	randombytes_buf(data + n / 2 - (64u << 10), 128u << 10);
	assert_int_equal(round_trip(f, MV_T_DATA, 1, data, n), mv_sealed_size(n));

	/* Random with a compressible middle: the probe passes, but the whole
	 * blob does not save 3%, so it is stored. */
	free(data);
	n = 4u << 20;
	data = tu_random_data(n, 42);
	memset(data + n / 2 - (16u << 10), 'a', 32u << 10);
	assert_int_equal(round_trip(f, MV_T_DATA, 1, data, n), mv_sealed_size(n));

	/* Then zeros in the second half: compressed. */
	memset(data + n / 2 + (16u << 10), 0, n / 2 - (16u << 10));
	assert_true(round_trip(f, MV_T_DATA, 1, data, n) < mv_sealed_size(n / 2 + (64u << 10)));
	free(data);
}

/* 12-bit samples stored in 16-bit little-endian words, like uncompressed
 * CT pixel data: a smooth field plus noise in the low bits. */
static uint8_t *pixel_data(size_t n)
{
	uint8_t *p = malloc(n);
	uint32_t x = 12345;
	assert_non_null(p);
	for (size_t i = 0; i + 1 < n; i += 2) {
		x = x * 1103515245u + 12345u;
		uint32_t v = (uint32_t)(1024 + (i / 2 % 512) * 4 + (x >> 16) % 64) & 0x0fff;
		p[i] = (uint8_t)v;
		p[i + 1] = (uint8_t)(v >> 8);
	}
	if (n & 1)
		p[n - 1] = 0x5a;
	return p;
}

/* The encoding byte of a sealed frame. */
static uint8_t sealed_encoding(struct fixture *f, const uint8_t *id, const uint8_t *s, size_t len)
{
	struct mv_error err = {0};
	uint8_t *work = malloc(len);
	const uint8_t *payload;
	size_t plen;
	uint8_t enc = 0xff;
	assert_non_null(work);
	assert_int_equal(
	    mv_unseal(f->keys, MV_T_DATA, id, s, len, work, &enc, &payload, &plen, &err), 0);
	free(work);
	return enc;
}

static void test_blob__pixel_data_is_shuffled(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = {1u << 20, (1u << 20) + 1, 200001};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		uint8_t *data = pixel_data(n);
		uint8_t id[MV_ID_LEN];
		const uint8_t *sealed;
		size_t slen;
		struct mv_error err = {0};
		mv_blob_id(f->keys, data, n, id);
		assert_int_equal(
		    mv_blob_encode(f->ctx, f->keys, MV_T_DATA, id, data, n, &sealed, &slen, &err),
		    0);
		/* smooth 12-bit samples: shuffled deltas compress best */
		assert_int_equal(sealed_encoding(f, id, sealed, slen), MV_ENC_ZSTD_DELTA16);
		/* smaller than plain zstd of the same bytes */
		size_t plain = ZSTD_compressBound(n);
		uint8_t *z = malloc(plain);
		assert_non_null(z);
		plain = ZSTD_compress(z, plain, data, n, 3);
		assert_true(slen < mv_sealed_size(plain));
		free(z);
		/* and it round-trips byte for byte, odd lengths included */
		assert_true(round_trip(f, MV_T_DATA, 1, data, n) > 0);
		free(data);
	}
}

/* 16-bit samples whose low bytes are noise and whose high bytes change
 * slowly: shuffling puts the high bytes in long runs; differences of the
 * noise would only spread it into the high bytes. */
static void test_blob__noisy_samples_are_shuffled(void **state)
{
	struct fixture *f = *state;
	size_t n = (1u << 20) + 1;
	uint8_t *data = malloc(n);
	uint32_t x = 99;
	assert_non_null(data);
	for (size_t i = 0; i + 1 < n; i += 2) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 16);
		data[i + 1] = (uint8_t)((i / 65536) & 0x0f);
	}
	data[n - 1] = 7;
	uint8_t id[MV_ID_LEN];
	const uint8_t *sealed;
	size_t slen;
	struct mv_error err = {0};
	mv_blob_id(f->keys, data, n, id);
	assert_int_equal(
	    mv_blob_encode(f->ctx, f->keys, MV_T_DATA, id, data, n, &sealed, &slen, &err), 0);
	assert_int_equal(sealed_encoding(f, id, sealed, slen), MV_ENC_ZSTD_SHUF2);
	assert_true(round_trip(f, MV_T_DATA, 1, data, n) > 0);
	free(data);
}

static void test_blob__max_size_and_limit(void **state)
{
	struct fixture *f = *state;
	struct mv_error err = {0};
	const uint8_t *sealed;
	size_t sealed_len;
	uint8_t *data = calloc((size_t)MV_BLOB_MAX_RAW + 1, 1);

	assert_non_null(data);
	data[12345] = 1;
	/* Exactly the limit: compressed (zeros) and decompressed at the cap. */
	assert_true(round_trip(f, MV_T_DATA, 1, data, MV_BLOB_MAX_RAW) < (1u << 20));
	assert_int_equal(mv_blob_encode(f->ctx, f->keys, MV_T_DATA, NULL, data,
	                                (size_t)MV_BLOB_MAX_RAW + 1, &sealed, &sealed_len, &err),
	                 MV_ERR_LIMIT);
	assert_null(sealed);
	assert_int_equal(sealed_len, 0);
	free(data);
}

/* Encodes data as type/id and returns a malloc'd copy of the sealed frame. */
static uint8_t *seal_copy(struct fixture *f, uint8_t type, const uint8_t *id, const uint8_t *data,
                          size_t n, size_t *len)
{
	struct mv_error err = {0};
	const uint8_t *sealed;

	assert_int_equal(mv_blob_encode(f->ctx, f->keys, type, id, data, n, &sealed, len, &err), 0);
	uint8_t *copy = malloc(*len);
	assert_non_null(copy);
	memcpy(copy, sealed, *len);
	return copy;
}

static int decode_rc(struct fixture *f, uint8_t type, const uint8_t *id, const uint8_t *s,
                     size_t len, struct mv_error *err)
{
	const uint8_t *out = (const uint8_t *)"x";
	size_t out_len = 99;

	mv_error_clear(err);
	int rc = mv_blob_decode(f->ctx, f->keys, type, id, s, len, &out, &out_len, err);
	if (rc) {
		assert_null(out);
		assert_int_equal(out_len, 0);
		assert_int_equal(err->code, rc);
		assert_true(err->msg[0] != '\0');
	}
	return rc;
}

static void test_blob__tamper_detected(void **state)
{
	struct fixture *f = *state;
	struct mv_error err;
	uint8_t id[MV_ID_LEN];
	size_t n = 50000, len;

	for (int kind = 0; kind < 2; kind++) {
		uint8_t *data = kind ? tu_random_data(n, 9) : text_data(n);
		mv_blob_id(f->keys, data, n, id);
		uint8_t *s = seal_copy(f, MV_T_DATA, id, data, n, &len);
		size_t where[] = {0, 23, 24, 30, len / 2, len - 17, len - 16, len - 1};

		assert_int_equal(decode_rc(f, MV_T_DATA, id, s, len, &err), 0);
		for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
			s[where[i]] ^= 0x01;
			assert_int_equal(decode_rc(f, MV_T_DATA, id, s, len, &err),
			                 MV_ERR_INTEGRITY);
			s[where[i]] ^= 0x01;
		}
		/* Truncated, extended, too short. */
		assert_int_equal(decode_rc(f, MV_T_DATA, id, s, len - 1, &err), MV_ERR_INTEGRITY);
		assert_int_equal(decode_rc(f, MV_T_DATA, id, s, 44, &err), MV_ERR_INTEGRITY);
		assert_int_equal(decode_rc(f, MV_T_DATA, id, s, 0, &err), MV_ERR_INTEGRITY);
		/* Wrong type (associated data). */
		assert_int_equal(decode_rc(f, MV_T_TREE, id, s, len, &err), MV_ERR_INTEGRITY);
		/* Still fine when untouched. */
		assert_int_equal(decode_rc(f, MV_T_DATA, id, s, len, &err), 0);
		free(s);
		free(data);
	}
}

static void test_blob__wrong_id_rejected(void **state)
{
	struct fixture *f = *state;
	struct mv_error err;
	uint8_t id[MV_ID_LEN], other[MV_ID_LEN];
	size_t n = 10000, len;
	uint8_t *data = text_data(n);

	mv_blob_id(f->keys, data, n, id);
	memcpy(other, id, sizeof(other));
	other[31] ^= 0x80;

	/* Asking for another id: the associated data differs, the tag fails. */
	uint8_t *s = seal_copy(f, MV_T_DATA, id, data, n, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, other, s, len, &err), MV_ERR_INTEGRITY);
	free(s);

	/* A frame sealed under an id that is not the hash of its content (a
	 * buggy or malicious writer holding the key): authentic, yet refused. */
	for (uint8_t t = MV_T_DATA; t <= MV_T_CATALOG; t++) {
		s = seal_copy(f, t, other, data, n, &len);
		assert_int_equal(decode_rc(f, t, other, s, len, &err), MV_ERR_INTEGRITY);
		assert_non_null(strstr(err.msg, "blob id mismatch"));
		free(s);
	}

	/* Object types are named by their file hash, not by a blob id: no check. */
	s = seal_copy(f, MV_T_INDEX, other, data, n, &len);
	assert_int_equal(decode_rc(f, MV_T_INDEX, other, s, len, &err), 0);
	free(s);
	free(data);
}

static void test_blob__null_id_for_objects(void **state)
{
	struct fixture *f = *state;
	struct mv_error err;
	uint8_t zero[MV_ID_LEN] = {0};
	const uint8_t types[] = {MV_T_PACKHDR, MV_T_INDEX, MV_T_SNAPSHOT, MV_T_LOCK, MV_T_DATA};
	size_t n = 30000, len;
	uint8_t *data = text_data(n);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		round_trip(f, types[i], 0, data, n);
		/* NULL id means an all-zero id in the associated data (object
		 * types only: for a blob type a non-NULL id is also checked
		 * against the content). */
		uint8_t *s = seal_copy(f, types[i], NULL, data, n, &len);
		assert_int_equal(decode_rc(f, types[i], NULL, s, len, &err), 0);
		if (types[i] != MV_T_DATA)
			assert_int_equal(decode_rc(f, types[i], zero, s, len, &err), 0);
		free(s);
	}
	free(data);
}

/* Seals a hand-made payload with the given encoding (bypassing the encoder). */
static uint8_t *seal_raw(struct fixture *f, uint8_t type, uint8_t enc, const void *payload,
                         size_t n, size_t *len)
{
	*len = mv_sealed_size(n);
	assert_true(*len > 0);
	uint8_t *s = malloc(*len);
	assert_non_null(s);
	assert_int_equal(mv_seal(f->keys, type, NULL, enc, payload, n, s), *len);
	return s;
}

/* A zstd frame header with single-segment and an 8-byte content size,
 * followed by one last raw block holding `raw` bytes of 'A'. */
static size_t crafted_frame(uint8_t *out, uint64_t content_size, uint32_t raw)
{
	size_t o = 0;

	out[o++] = 0x28;
	out[o++] = 0xb5;
	out[o++] = 0x2f;
	out[o++] = 0xfd;
	out[o++] = 0xe0; /* FCS_Field_Size flag 3 (8 bytes), Single_Segment */
	for (int i = 0; i < 8; i++)
		out[o++] = (uint8_t)(content_size >> (8 * i));
	uint32_t bh = 1u | (0u << 1) | (raw << 3); /* last, raw, size */
	out[o++] = (uint8_t)bh;
	out[o++] = (uint8_t)(bh >> 8);
	out[o++] = (uint8_t)(bh >> 16);
	memset(out + o, 'A', raw);
	return o + raw;
}

static void test_blob__hostile_zstd_rejected(void **state)
{
	struct fixture *f = *state;
	struct mv_error err;
	uint8_t frame[256];
	size_t flen, len;
	uint8_t *s;

	/* Sanity: the crafted frame format decodes when honest. */
	flen = crafted_frame(frame, 10, 10);
	s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, frame, flen, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), 0);
	free(s);

	/* Declares 1 TiB: refused before allocating (an allocation of that size
	 * would have failed with MV_ERR_NOMEM instead). */
	flen = crafted_frame(frame, 1ull << 40, 0);
	s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, frame, flen, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), MV_ERR_INTEGRITY);
	assert_non_null(strstr(err.msg, "limit"));
	free(s);

	/* One byte over the limit. */
	flen = crafted_frame(frame, (uint64_t)MV_BLOB_MAX_RAW + 1, 0);
	s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, frame, flen, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), MV_ERR_INTEGRITY);
	assert_non_null(strstr(err.msg, "limit"));
	free(s);

	/* Declares more than it holds, and less. */
	flen = crafted_frame(frame, 20, 10);
	s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, frame, flen, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), MV_ERR_INTEGRITY);
	free(s);
	flen = crafted_frame(frame, 5, 10);
	s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, frame, flen, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), MV_ERR_INTEGRITY);
	free(s);

	/* Two frames back to back. */
	flen = crafted_frame(frame, 10, 10);
	flen += crafted_frame(frame + flen, 10, 10);
	s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, frame, flen, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), MV_ERR_INTEGRITY);
	free(s);

	/* Truncated frame, and bytes that are not zstd at all. */
	flen = crafted_frame(frame, 10, 10);
	s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, frame, flen - 1, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), MV_ERR_INTEGRITY);
	free(s);
	s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, "hello, world", 12, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), MV_ERR_INTEGRITY);
	free(s);
	s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, "", 0, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), MV_ERR_INTEGRITY);
	free(s);
}

static void test_blob__unknown_content_size_rejected(void **state)
{
	struct fixture *f = *state;
	struct mv_error err;
	size_t n = 20000, len;
	uint8_t *data = text_data(n);
	size_t cap = ZSTD_compressBound(n);
	uint8_t *z = malloc(cap);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();

	assert_non_null(z);
	assert_non_null(cctx);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
	size_t zlen = ZSTD_compress2(cctx, z, cap, data, n);
	assert_false(ZSTD_isError(zlen));
	assert_int_equal(ZSTD_getFrameContentSize(z, zlen), ZSTD_CONTENTSIZE_UNKNOWN);
	uint8_t *s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, z, zlen, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), MV_ERR_INTEGRITY);
	free(s);

	/* The same frame with its content size is accepted. */
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	zlen = ZSTD_compress2(cctx, z, cap, data, n);
	assert_false(ZSTD_isError(zlen));
	s = seal_raw(f, MV_T_DATA, MV_ENC_ZSTD, z, zlen, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), 0);
	free(s);

	ZSTD_freeCCtx(cctx);
	free(z);
	free(data);
}

static void test_blob__stored_over_limit_rejected(void **state)
{
	struct fixture *f = *state;
	struct mv_error err;
	size_t n = (size_t)MV_BLOB_MAX_RAW + 1, len;
	uint8_t *data = calloc(n, 1);

	assert_non_null(data);
	/* padme puts 64 MiB + 1 in the same padded size as 64 MiB, so only the
	 * payload length check can refuse it. */
	assert_int_equal(mv_sealed_size(n), mv_sealed_size(MV_BLOB_MAX_RAW));
	uint8_t *s = seal_raw(f, MV_T_DATA, MV_ENC_STORED, data, n, &len);
	assert_int_equal(decode_rc(f, MV_T_DATA, NULL, s, len, &err), MV_ERR_INTEGRITY);
	free(s);
	free(data);

	/* A sealed object larger than any blob can be is refused unread. */
	uint8_t small[64] = {0};
	size_t huge = mv_sealed_size(MV_BLOB_MAX_RAW) + 1;
	assert_int_equal(mv_blob_decode(f->ctx, f->keys, MV_T_DATA, NULL, small, huge,
	                                &(const uint8_t *){NULL}, &(size_t){0}, &err),
	                 MV_ERR_INTEGRITY);
}

static void test_blob__context_reuse(void **state)
{
	struct fixture *f = *state;
	size_t sizes[] = {3u << 20, 10, 500000, 0, 1u << 20, 70000};

	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			uint8_t *d = (i + (size_t)round) % 2 ? tu_random_data(sizes[i], (uint8_t)i)
			                                     : text_data(sizes[i] ? sizes[i] : 1);
			round_trip(f, (i % 2) ? MV_T_TREE : MV_T_DATA, 1, d, sizes[i]);
			free(d);
		}
	}
	/* Other levels work and produce the same plaintext. */
	int levels[] = {-5, 0, 1, 19, 1000};
	uint8_t *d = text_data(200000);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		struct fixture g = {f->keys, mv_blob_ctx_new(levels[i])};
		assert_non_null(g.ctx);
		assert_true(round_trip(&g, MV_T_DATA, 1, d, 200000) < 100000);
		mv_blob_ctx_free(g.ctx);
	}
	free(d);
	mv_blob_ctx_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blob__round_trip_text_is_compressed),
	    cmocka_unit_test(test_blob__round_trip_random_is_stored),
	    cmocka_unit_test(test_blob__probe_decides_for_large_blobs),
	    cmocka_unit_test(test_blob__pixel_data_is_shuffled),
	    cmocka_unit_test(test_blob__noisy_samples_are_shuffled),
	    cmocka_unit_test(test_blob__max_size_and_limit),
	    cmocka_unit_test(test_blob__tamper_detected),
	    cmocka_unit_test(test_blob__wrong_id_rejected),
	    cmocka_unit_test(test_blob__null_id_for_objects),
	    cmocka_unit_test(test_blob__hostile_zstd_rejected),
	    cmocka_unit_test(test_blob__unknown_content_size_rejected),
	    cmocka_unit_test(test_blob__stored_over_limit_rejected),
	    cmocka_unit_test(test_blob__context_reuse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
