/* Unit tests of core/repo/crypto.c: sub-keys, ids, Padme and the sealed frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/repo/crypto.h"
#include "formats/buf.h"

struct fixture {
	struct mv_keys *k;
	struct mv_keys *k2;
};

static int setup(void **state)
{
	static struct fixture f;
	uint8_t master[MV_KEY_LEN];

	if (mv_crypto_init() != 0)
		return -1;
	for (size_t i = 0; i < sizeof(master); i++)
		master[i] = (uint8_t)i;
	f.k = mv_keys_derive(master);
	master[0] ^= 1;
	f.k2 = mv_keys_derive(master);
	if (!f.k || !f.k2)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mv_keys_free(f->k);
	mv_keys_free(f->k2);
	return 0;
}

/* The formula of FORMAT.md section 2, written independently (bit loops). */
static uint64_t ref_padme(uint64_t x)
{
	if (x < 2)
		return x;
	unsigned e = 63 - (unsigned)__builtin_clzll(x);
	unsigned s = 32 - (unsigned)__builtin_clz(e); /* floor(log2 e) + 1 */
	uint64_t mask = (1ull << (e - s)) - 1;
	return (x + mask) & ~mask;
}

static void test_crypto__init_twice(void **state)
{
	(void)state;
	assert_int_equal(mv_crypto_init(), 0);
	assert_int_equal(mv_crypto_init(), 0);
}

static void test_crypto__subkeys_match_spec(void **state)
{
	struct fixture *f = *state;
	uint8_t master[MV_KEY_LEN], sub[MV_KEY_LEN];
	const uint8_t *fields[6] = {f->k->enc,    f->k->blob_id, f->k->chunker,
	                            f->k->config, f->k->content, f->k->sign};

	for (size_t i = 0; i < sizeof(master); i++)
		master[i] = (uint8_t)i;
	for (int n = 1; n <= 6; n++) {
		assert_int_equal(
		    crypto_kdf_derive_from_key(sub, 32, (uint64_t)n, "mvault01", master), 0);
		assert_memory_equal(sub, fields[n - 1], MV_KEY_LEN);
	}
	/* All six differ from each other and from the master key. */
	for (int i = 0; i < 6; i++) {
		assert_memory_not_equal(fields[i], master, MV_KEY_LEN);
		for (int j = i + 1; j < 6; j++)
			assert_memory_not_equal(fields[i], fields[j], MV_KEY_LEN);
	}
	mv_keys_free(NULL);
}

static void test_crypto__padme_known_values(void **state)
{
	static const struct {
		size_t x, want;
	} cases[] = {
	    {0, 0},
	    {1, 1},
	    {2, 2},
	    {3, 3},
	    {7, 7},
	    {8, 8},
	    {9, 10},
	    {15, 16},
	    {16, 16},
	    {17, 18},
	    {31, 32},
	    {33, 36},
	    {100, 104},
	    {1000, 1024},
	    {1025, 1088},
	    {65537, 67584},
	    {1000000, 1015808},
	    {(1u << 20) + 5, 1081344},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(mv_padme(cases[i].x), cases[i].want);
		assert_int_equal(ref_padme(cases[i].x), cases[i].want);
	}
	assert_int_equal(mv_padme(SIZE_MAX), 0); /* overflow */
}

static void test_crypto__padme_bound_and_formula(void **state)
{
	(void)state;
	for (size_t x = 0; x < 300000; x++) {
		size_t p = mv_padme(x);
		assert_int_equal(p, ref_padme(x));
		assert_true(p >= x);
		/* At most 12% overhead (plus rounding for tiny x). */
		assert_true((double)p <= (double)x * 1.12 + 1);
		assert_int_equal(mv_padme(p), p); /* padded sizes are fixed points */
	}
	for (size_t x = 1; x < ((size_t)1 << 40); x = x * 3 + 7) {
		size_t p = mv_padme(x);
		assert_int_equal(p, ref_padme(x));
		assert_true(p >= x && (double)p <= (double)x * 1.12 + 1);
	}
}

static void test_crypto__sealed_size(void **state)
{
	(void)state;
	assert_int_equal(mv_sealed_size(0), 24 + 5 + 16);
	assert_int_equal(mv_sealed_size(100), 24 + mv_padme(105) + 16);
	assert_int_equal(mv_sealed_size(1u << 20), 24 + mv_padme((1u << 20) + 5) + 16);
	assert_int_equal(mv_sealed_size(UINT32_MAX), 24 + mv_padme((size_t)UINT32_MAX + 5) + 16);
	assert_int_equal(mv_sealed_size((size_t)UINT32_MAX + 1), 0);
	assert_int_equal(mv_sealed_size(SIZE_MAX), 0);
	assert_int_equal(mv_sealed_size(SIZE_MAX - 3), 0);
}

static void roundtrip(const struct mv_keys *k, size_t n, uint8_t enc)
{
	uint8_t *pt = malloc(n ? n : 1);
	size_t sz = mv_sealed_size(n);
	uint8_t *sealed = malloc(sz);
	uint8_t *sealed2 = malloc(sz);
	uint8_t *work = malloc(sz - MV_SEAL_OVERHEAD);
	uint8_t id[MV_ID_LEN];
	const uint8_t *payload;
	size_t plen;
	uint8_t got_enc;
	struct mv_error err = {0};

	assert_non_null(pt);
	assert_non_null(sealed);
	assert_non_null(sealed2);
	assert_non_null(work);
	randombytes_buf(pt, n);
	mv_blob_id(k, pt, n, id);
	assert_int_equal(mv_seal(k, MV_T_DATA, id, enc, pt, n, sealed), sz);
	assert_int_equal(
	    mv_unseal(k, MV_T_DATA, id, sealed, sz, work, &got_enc, &payload, &plen, &err), 0);
	assert_int_equal(got_enc, enc);
	assert_int_equal(plen, n);
	assert_ptr_equal(payload, work + MV_FRAME_HDR);
	if (n)
		assert_memory_equal(payload, pt, n);
	/* Fresh random nonce: sealing twice gives different bytes. */
	assert_int_equal(mv_seal(k, MV_T_DATA, id, enc, pt, n, sealed2), sz);
	assert_memory_not_equal(sealed, sealed2, MV_NONCE_LEN);
	assert_memory_not_equal(sealed + MV_NONCE_LEN, sealed2 + MV_NONCE_LEN, sz - MV_NONCE_LEN);
	/* The padded frame inside is exactly FORMAT.md's: decrypt by hand. */
	uint8_t ad[37];
	memcpy(ad, "MVB1", 4);
	ad[4] = MV_T_DATA;
	memcpy(ad + 5, id, 32);
	memset(work, 0xAA, sz - MV_SEAL_OVERHEAD);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(work, NULL, NULL, sealed + 24,
	                                                            sz - 24, ad, sizeof(ad), sealed,
	                                                            k->enc),
	                 0);
	assert_int_equal(work[0], enc);
	assert_int_equal(mv_get_u32(work + 1), n);
	if (n)
		assert_memory_equal(work + 5, pt, n);
	assert_int_equal(sz - MV_SEAL_OVERHEAD, mv_padme(5 + n));
	for (size_t i = 5 + n; i < sz - MV_SEAL_OVERHEAD; i++)
		assert_int_equal(work[i], 0);
	free(pt);
	free(sealed);
	free(sealed2);
	free(work);
}

static void test_crypto__seal_roundtrip_sizes(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = {0, 1, 2, 100, 4095, 65536, 1u << 20};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		roundtrip(f->k, sizes[i], MV_ENC_STORED);
		roundtrip(f->k, sizes[i], MV_ENC_ZSTD);
	}
}

static void test_crypto__seal_in_place_payload(void **state)
{
	struct fixture *f = *state;
	size_t n = 1000, sz = mv_sealed_size(n);
	uint8_t *buf = malloc(sz), *work = malloc(sz), *pt = malloc(n);
	const uint8_t *payload;
	size_t plen;
	uint8_t enc;

	assert_non_null(buf);
	assert_non_null(work);
	assert_non_null(pt);
	randombytes_buf(pt, n);
	memcpy(buf + MV_NONCE_LEN + MV_FRAME_HDR, pt, n);
	assert_int_equal(mv_seal(f->k, MV_T_TREE, NULL, MV_ENC_STORED,
	                         buf + MV_NONCE_LEN + MV_FRAME_HDR, n, buf),
	                 sz);
	assert_int_equal(
	    mv_unseal(f->k, MV_T_TREE, NULL, buf, sz, work, &enc, &payload, &plen, NULL), 0);
	assert_int_equal(plen, n);
	assert_memory_equal(payload, pt, n);
	/* Payload overlapping the start of out (moved by memmove). */
	memcpy(buf, pt, n);
	assert_int_equal(mv_seal(f->k, MV_T_TREE, NULL, MV_ENC_STORED, buf, n, buf), sz);
	assert_int_equal(
	    mv_unseal(f->k, MV_T_TREE, NULL, buf, sz, work, &enc, &payload, &plen, NULL), 0);
	assert_memory_equal(payload, pt, n);
	free(buf);
	free(work);
	free(pt);
}

static void test_crypto__seal_rejects_bad_args(void **state)
{
	struct fixture *f = *state;
	uint8_t out[64];

	assert_int_equal(mv_seal(f->k, MV_T_DATA, NULL, 4, "x", 1, out), 0);
}

/* Fills pt (n bytes) at random and seals it as `type` (stored), under its
 * blob id (written to id) or, when id is NULL, under none. *sealed and *work
 * (for mv_unseal) are new buffers with `extra` spare bytes. Returns the
 * sealed size. */
static size_t seal_random(const struct mv_keys *k, uint8_t type, uint8_t *id, uint8_t *pt, size_t n,
                          size_t extra, uint8_t **sealed, uint8_t **work)
{
	size_t sz = mv_sealed_size(n);

	*sealed = malloc(sz + extra);
	*work = malloc(sz + extra);
	assert_non_null(*sealed);
	assert_non_null(*work);
	randombytes_buf(pt, n);
	if (id)
		mv_blob_id(k, pt, n, id);
	assert_int_equal(mv_seal(k, type, id, MV_ENC_STORED, pt, n, *sealed), sz);
	return sz;
}

/* Seals 300 bytes, flips every byte in turn and expects MV_ERR_INTEGRITY. */
static void test_crypto__tamper_every_byte(void **state)
{
	struct fixture *f = *state;
	uint8_t pt[300], id[MV_ID_LEN], *sealed, *work;
	const uint8_t *payload;
	size_t plen;
	uint8_t enc;
	struct mv_error err = {0};
	size_t sz = seal_random(f->k, MV_T_DATA, id, pt, sizeof(pt), 0, &sealed, &work);

	/* Every position: nonce (0..23), ciphertext, tag (last 16). */
	for (size_t i = 0; i < sz; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			sealed[i] ^= (uint8_t)(1u << bit);
			err.code = 0;
			assert_int_equal(mv_unseal(f->k, MV_T_DATA, id, sealed, sz, work, &enc,
			                           &payload, &plen, &err),
			                 MV_ERR_INTEGRITY);
			assert_int_equal(err.code, MV_ERR_INTEGRITY);
			assert_null(payload);
			assert_int_equal(plen, 0);
			sealed[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_non_null(strstr(err.msg, "authentication"));
	/* Untouched it still opens. */
	assert_int_equal(
	    mv_unseal(f->k, MV_T_DATA, id, sealed, sz, work, &enc, &payload, &plen, &err), 0);
	free(sealed);
	free(work);
}

static void test_crypto__ad_binds_type_id_and_key(void **state)
{
	struct fixture *f = *state;
	uint8_t pt[50], id[MV_ID_LEN], other[MV_ID_LEN], zero[MV_ID_LEN] = {0}, *sealed, *work;
	const uint8_t *payload;
	size_t plen;
	uint8_t enc;
	size_t sz = seal_random(f->k, MV_T_DATA, id, pt, sizeof(pt), 0, &sealed, &work);

	memcpy(other, id, sizeof(id));
	other[31] ^= 1;
	/* another type, another id, no id, another key: each fails */
	const struct {
		const struct mv_keys *k;
		uint8_t type;
		const uint8_t *id;
	} wrong[] = {
	    {f->k, MV_T_TREE, id},
	    {f->k, MV_T_DATA, other},
	    {f->k, MV_T_DATA, NULL},
	    {f->k2, MV_T_DATA, id},
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		assert_int_equal(mv_unseal(wrong[i].k, wrong[i].type, wrong[i].id, sealed, sz, work,
		                           &enc, &payload, &plen, NULL),
		                 MV_ERR_INTEGRITY);
	assert_int_equal(
	    mv_unseal(f->k, MV_T_DATA, id, sealed, sz, work, &enc, &payload, &plen, NULL), 0);
	/* NULL id and an all-zero id are the same associated data. */
	assert_int_equal(mv_seal(f->k, MV_T_SNAPSHOT, NULL, MV_ENC_STORED, pt, sizeof(pt), sealed),
	                 sz);
	assert_int_equal(
	    mv_unseal(f->k, MV_T_SNAPSHOT, zero, sealed, sz, work, &enc, &payload, &plen, NULL), 0);
	assert_int_equal(
	    mv_unseal(f->k, MV_T_INDEX, NULL, sealed, sz, work, &enc, &payload, &plen, NULL),
	    MV_ERR_INTEGRITY);
	free(sealed);
	free(work);
}

static void test_crypto__truncated_and_extended(void **state)
{
	struct fixture *f = *state;
	uint8_t pt[200], *sealed, *work;
	const uint8_t *payload;
	size_t plen;
	uint8_t enc;
	struct mv_error err = {0};
	size_t sz = seal_random(f->k, MV_T_INDEX, NULL, pt, sizeof(pt), 16, &sealed, &work);

	for (size_t len = 0; len < sz; len++)
		assert_int_equal(mv_unseal(f->k, MV_T_INDEX, NULL, sealed, len, work, &enc,
		                           &payload, &plen, &err),
		                 MV_ERR_INTEGRITY);
	mv_error_clear(&err);
	assert_int_equal(
	    mv_unseal(f->k, MV_T_INDEX, NULL, sealed, 44, work, &enc, &payload, &plen, &err),
	    MV_ERR_INTEGRITY);
	assert_non_null(strstr(err.msg, "too short"));
	memset(sealed + sz, 0, 16);
	assert_int_equal(
	    mv_unseal(f->k, MV_T_INDEX, NULL, sealed, sz + 16, work, &enc, &payload, &plen, NULL),
	    MV_ERR_INTEGRITY);
	free(sealed);
	free(work);
}

/* Encrypts a hand-made padded frame with valid tag, to reach the checks
 * behind the tag. */
static size_t seal_raw(const struct mv_keys *k, const uint8_t *frame, size_t flen, uint8_t *out)
{
	uint8_t ad[37] = {'M', 'V', 'B', '1', MV_T_DATA};
	unsigned long long clen;

	randombytes_buf(out, 24);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(
	                     out + 24, &clen, frame, flen, ad, sizeof(ad), NULL, out, k->enc),
	                 0);
	return 24 + (size_t)clen;
}

static void expect_frame_error(const struct mv_keys *k, const uint8_t *frame, size_t flen,
                               const char *what)
{
	uint8_t sealed[512], work[512];
	const uint8_t *payload;
	size_t plen;
	uint8_t enc;
	struct mv_error err = {0};
	size_t sz = seal_raw(k, frame, flen, sealed);

	assert_int_equal(
	    mv_unseal(k, MV_T_DATA, NULL, sealed, sz, work, &enc, &payload, &plen, &err),
	    MV_ERR_INTEGRITY);
	assert_null(payload);
	if (!strstr(err.msg, what))
		fail_msg("expected '%s' in '%s'", what, err.msg);
}

static void test_crypto__frame_checks_after_tag(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[256];
	size_t L = 10, P = mv_padme(5 + L); /* 16 */
	uint8_t sealed[512], work[512];
	const uint8_t *payload;
	size_t plen;
	uint8_t enc;

	/* A valid hand-made frame opens (so the helper is right). */
	memset(frame, 0, sizeof(frame));
	frame[0] = MV_ENC_ZSTD;
	mv_put_u32(frame + 1, (uint32_t)L);
	memset(frame + 5, 'x', L);
	size_t sz = seal_raw(f->k, frame, P, sealed);
	assert_int_equal(
	    mv_unseal(f->k, MV_T_DATA, NULL, sealed, sz, work, &enc, &payload, &plen, NULL), 0);
	assert_int_equal(plen, L);
	assert_int_equal(enc, MV_ENC_ZSTD);

	frame[0] = 4; /* unknown encoding */
	expect_frame_error(f->k, frame, P, "encoding");
	frame[0] = 0xff;
	expect_frame_error(f->k, frame, P, "encoding");
	frame[0] = MV_ENC_STORED;

	mv_put_u32(frame + 1, 12); /* 5+12 = 17 > 16: does not fit */
	expect_frame_error(f->k, frame, P, "does not fit");
	mv_put_u32(frame + 1, UINT32_MAX);
	expect_frame_error(f->k, frame, P, "does not fit");

	mv_put_u32(frame + 1, 3); /* padme(8) = 8 != 16 */
	expect_frame_error(f->k, frame, P, "padme");
	mv_put_u32(frame + 1, (uint32_t)L);

	frame[P - 1] = 1; /* non-zero padding */
	expect_frame_error(f->k, frame, P, "padding");
	frame[P - 1] = 0;

	/* Frame of a length that is not padme(5+L) at all (unpadded 17). */
	mv_put_u32(frame + 1, 12);
	expect_frame_error(f->k, frame, 17, "padme");
}

static void test_crypto__blob_id_keyed(void **state)
{
	struct fixture *f = *state;
	const char *msg = "patient DUPONT^MARIE knee MRI";
	uint8_t a[MV_ID_LEN], b[MV_ID_LEN], c[MV_ID_LEN], d[MV_ID_LEN], want[MV_ID_LEN];

	mv_blob_id(f->k, msg, strlen(msg), a);
	mv_blob_id(f->k, msg, strlen(msg), b);
	mv_blob_id(f->k2, msg, strlen(msg), c);
	mv_file_hash(msg, strlen(msg), d);
	assert_memory_equal(a, b, MV_ID_LEN);
	assert_memory_not_equal(a, c, MV_ID_LEN);
	assert_memory_not_equal(a, d, MV_ID_LEN);
	crypto_generichash(want, 32, (const uint8_t *)msg, strlen(msg), f->k->blob_id, 32);
	assert_memory_equal(a, want, MV_ID_LEN);
	/* One changed byte changes the id. */
	mv_blob_id(f->k, msg, strlen(msg) - 1, b);
	assert_memory_not_equal(a, b, MV_ID_LEN);
	mv_blob_id(f->k, NULL, 0, b);
	crypto_generichash(want, 32, NULL, 0, f->k->blob_id, 32);
	assert_memory_equal(b, want, MV_ID_LEN);
}

static void test_crypto__file_hash_unkeyed_blake2b(void **state)
{
	/* BLAKE2b-256("abc"), from the BLAKE2 reference test vectors. */
	static const char want_hex[] =
	    "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319";
	uint8_t h[MV_ID_LEN];
	char hex[2 * MV_ID_LEN + 1];

	(void)state;
	mv_file_hash("abc", 3, h);
	mv_hex(h, sizeof(h), hex);
	assert_string_equal(hex, want_hex);
}

static void test_crypto__content_hash(void **state)
{
	struct fixture *f = *state;
	uint8_t ids[3][MV_ID_LEN], swapped[3][MV_ID_LEN];
	uint8_t h1[MV_ID_LEN], h2[MV_ID_LEN], want[MV_ID_LEN];
	uint8_t msg[8 + 3 * 32];

	for (int i = 0; i < 3; i++)
		randombytes_buf(ids[i], MV_ID_LEN);
	mv_content_hash(f->k, 12345, (const uint8_t(*)[MV_ID_LEN])ids, 3, h1);
	/* Equal to the one-shot keyed hash of u64le size || ids. */
	mv_put_u64(msg, 12345);
	memcpy(msg + 8, ids, sizeof(ids));
	crypto_generichash(want, 32, msg, sizeof(msg), f->k->content, 32);
	assert_memory_equal(h1, want, MV_ID_LEN);
	/* Deterministic. */
	mv_content_hash(f->k, 12345, (const uint8_t(*)[MV_ID_LEN])ids, 3, h2);
	assert_memory_equal(h1, h2, MV_ID_LEN);
	/* Size matters. */
	mv_content_hash(f->k, 12346, (const uint8_t(*)[MV_ID_LEN])ids, 3, h2);
	assert_memory_not_equal(h1, h2, MV_ID_LEN);
	/* Order matters. */
	memcpy(swapped[0], ids[1], 32);
	memcpy(swapped[1], ids[0], 32);
	memcpy(swapped[2], ids[2], 32);
	mv_content_hash(f->k, 12345, (const uint8_t(*)[MV_ID_LEN])swapped, 3, h2);
	assert_memory_not_equal(h1, h2, MV_ID_LEN);
	/* Count matters. */
	mv_content_hash(f->k, 12345, (const uint8_t(*)[MV_ID_LEN])ids, 2, h2);
	assert_memory_not_equal(h1, h2, MV_ID_LEN);
	/* Key matters. */
	mv_content_hash(f->k2, 12345, (const uint8_t(*)[MV_ID_LEN])ids, 3, h2);
	assert_memory_not_equal(h1, h2, MV_ID_LEN);
	/* Empty file: hash of the size alone. */
	mv_content_hash(f->k, 0, NULL, 0, h2);
	mv_put_u64(msg, 0);
	crypto_generichash(want, 32, msg, 8, f->k->content, 32);
	assert_memory_equal(h2, want, MV_ID_LEN);
}

static void test_crypto__hex(void **state)
{
	uint8_t in[4] = {0x00, 0xab, 0x7f, 0xff}, out[4];
	char hex[9];

	(void)state;
	mv_hex(in, 4, hex);
	assert_string_equal(hex, "00ab7fff");
	assert_int_equal(mv_unhex("00ab7fff", out, 4), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(mv_unhex("00AB7FFF", out, 4), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(mv_unhex("00aB7fFf", out, 4), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(mv_unhex("00ab7ff", out, 4), -1); /* short */
	assert_int_equal(mv_unhex("", out, 4), -1);
	assert_int_equal(mv_unhex("00ab7ffg", out, 4), -1); /* bad char */
	assert_int_equal(mv_unhex("0xab7fff", out, 4), -1);
	assert_int_equal(mv_unhex(" 0ab7fff", out, 4), -1);
	assert_int_equal(mv_unhex("00ab-fff", out, 4), -1);
	assert_int_equal(mv_unhex("", out, 0), 0);
	mv_hex(in, 0, hex);
	assert_string_equal(hex, "");
	/* All 256 byte values round trip. */
	uint8_t all[256], back[256];
	char allhex[513];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	mv_hex(all, 256, allhex);
	assert_int_equal(strlen(allhex), 512);
	assert_int_equal(mv_unhex(allhex, back, 256), 0);
	assert_memory_equal(all, back, 256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crypto__init_twice),
	    cmocka_unit_test(test_crypto__subkeys_match_spec),
	    cmocka_unit_test(test_crypto__padme_known_values),
	    cmocka_unit_test(test_crypto__padme_bound_and_formula),
	    cmocka_unit_test(test_crypto__sealed_size),
	    cmocka_unit_test(test_crypto__seal_roundtrip_sizes),
	    cmocka_unit_test(test_crypto__seal_in_place_payload),
	    cmocka_unit_test(test_crypto__seal_rejects_bad_args),
	    cmocka_unit_test(test_crypto__tamper_every_byte),
	    cmocka_unit_test(test_crypto__ad_binds_type_id_and_key),
	    cmocka_unit_test(test_crypto__truncated_and_extended),
	    cmocka_unit_test(test_crypto__frame_checks_after_tag),
	    cmocka_unit_test(test_crypto__blob_id_keyed),
	    cmocka_unit_test(test_crypto__file_hash_unkeyed_blake2b),
	    cmocka_unit_test(test_crypto__content_hash),
	    cmocka_unit_test(test_crypto__hex),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
