/* Cryptographic primitives of the repository: sub-key derivation, keyed ids,
 * Padme padding and the sealed frame (docs/FORMAT.md section 2). */
#include "core/repo/crypto.h"

#include <string.h>

#include <sodium.h>

#include "formats/buf.h"

#define MV_KDF_CONTEXT "mvault01"
#define MV_AD_MAGIC    "MVB1"
#define MV_AD_LEN      (4 + 1 + MV_ID_LEN) /* 37 */

/* Sub-key numbers of FORMAT.md section 2. Fixed forever. */
enum {
	MV_SUBKEY_ENC = 1,
	MV_SUBKEY_BLOB_ID = 2,
	MV_SUBKEY_CHUNKER = 3,
	MV_SUBKEY_CONFIG = 4,
	MV_SUBKEY_CONTENT = 5,
	MV_SUBKEY_SIGN = 6,
};

int mv_crypto_init(void)
{
	/* 0: initialised now, 1: already initialised, -1: failure. */
	return sodium_init() < 0 ? MV_ERR_NOMEM : 0;
}

struct mv_keys *mv_keys_derive(const uint8_t master[MV_KEY_LEN])
{
	static const struct {
		size_t off;
		uint64_t n;
	} subkeys[] = {
	    {offsetof(struct mv_keys, enc), MV_SUBKEY_ENC},
	    {offsetof(struct mv_keys, blob_id), MV_SUBKEY_BLOB_ID},
	    {offsetof(struct mv_keys, chunker), MV_SUBKEY_CHUNKER},
	    {offsetof(struct mv_keys, config), MV_SUBKEY_CONFIG},
	    {offsetof(struct mv_keys, content), MV_SUBKEY_CONTENT},
	    {offsetof(struct mv_keys, sign), MV_SUBKEY_SIGN},
	};
	struct mv_keys *k = sodium_malloc(sizeof(*k));

	if (!k)
		return NULL;
	for (size_t i = 0; i < sizeof(subkeys) / sizeof(subkeys[0]); i++) {
		uint8_t *sub = (uint8_t *)k + subkeys[i].off;
		if (crypto_kdf_derive_from_key(sub, MV_KEY_LEN, subkeys[i].n, MV_KDF_CONTEXT,
		                               master) != 0) {
			mv_keys_free(k);
			return NULL;
		}
	}
	return k;
}

void mv_keys_free(struct mv_keys *k)
{
	/* sodium_free wipes the region before unmapping it. */
	if (k)
		sodium_free(k);
}

void mv_blob_id(const struct mv_keys *k, const void *data, size_t n, uint8_t out[MV_ID_LEN])
{
	crypto_generichash(out, MV_ID_LEN, data, n, k->blob_id, MV_KEY_LEN);
}

void mv_content_hash(const struct mv_keys *k, uint64_t size, const uint8_t (*ids)[MV_ID_LEN],
                     size_t nids, uint8_t out[MV_ID_LEN])
{
	crypto_generichash_state st;
	uint8_t le[8];

	mv_put_u64(le, size);
	crypto_generichash_init(&st, k->content, MV_KEY_LEN, MV_ID_LEN);
	crypto_generichash_update(&st, le, sizeof(le));
	for (size_t i = 0; i < nids; i++)
		crypto_generichash_update(&st, ids[i], MV_ID_LEN);
	crypto_generichash_final(&st, out, MV_ID_LEN);
	sodium_memzero(&st, sizeof(st));
}

void mv_file_hash(const void *data, size_t n, uint8_t out[MV_ID_LEN])
{
	crypto_generichash(out, MV_ID_LEN, data, n, NULL, 0);
}

/* floor(log2 x) for x >= 1. */
static unsigned ilog2(size_t x)
{
	unsigned r = 0;

	while (x >>= 1)
		r++;
	return r;
}

size_t mv_padme(size_t x)
{
	if (x < 2)
		return x;
	unsigned e = ilog2(x);
	unsigned s = ilog2(e) + 1;
	size_t mask = ((size_t)1 << (e - s)) - 1;
	size_t r;

	if (mv_size_add(x, mask, &r) != 0)
		return 0;
	return r & ~mask;
}

size_t mv_sealed_size(size_t n)
{
	size_t framed, padded, total;

	if (n > UINT32_MAX || mv_size_add(n, MV_FRAME_HDR, &framed) != 0)
		return 0;
	padded = mv_padme(framed);
	if (padded == 0 || mv_size_add(padded, MV_SEAL_OVERHEAD, &total) != 0)
		return 0;
	if (padded > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
		return 0;
	return total;
}

static void make_ad(uint8_t ad[MV_AD_LEN], uint8_t type, const uint8_t *id)
{
	memcpy(ad, MV_AD_MAGIC, 4);
	ad[4] = type;
	if (id)
		memcpy(ad + 5, id, MV_ID_LEN);
	else
		memset(ad + 5, 0, MV_ID_LEN);
}

size_t mv_seal(const struct mv_keys *k, uint8_t type, const uint8_t *id, uint8_t encoding,
               const void *payload, size_t n, uint8_t *out)
{
	uint8_t ad[MV_AD_LEN];
	size_t total = mv_sealed_size(n);

	if (total == 0 || encoding > MV_ENC_ZSTD_DELTA16)
		return 0;
	size_t padded = total - MV_SEAL_OVERHEAD;
	uint8_t *frame = out + MV_NONCE_LEN;

	/* Build the padded frame in place: payload first (memmove, so a caller
	 * may have placed it at out + 29 already), then header and padding. */
	if (n > 0 && (const uint8_t *)payload != frame + MV_FRAME_HDR)
		memmove(frame + MV_FRAME_HDR, payload, n);
	frame[0] = encoding;
	mv_put_u32(frame + 1, (uint32_t)n);
	memset(frame + MV_FRAME_HDR + n, 0, padded - MV_FRAME_HDR - n);

	randombytes_buf(out, MV_NONCE_LEN);
	make_ad(ad, type, id);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
	    frame, frame + padded, NULL, frame, padded, ad, sizeof(ad), NULL, out, k->enc);
	return total;
}

int mv_unseal(const struct mv_keys *k, uint8_t type, const uint8_t *id, const uint8_t *in,
              size_t in_len, uint8_t *work, uint8_t *encoding, const uint8_t **payload,
              size_t *payload_len, struct mv_error *err)
{
	uint8_t ad[MV_AD_LEN];
	size_t padded, len;

	*encoding = 0;
	*payload = NULL;
	*payload_len = 0;
	if (in_len < MV_SEAL_OVERHEAD + MV_FRAME_HDR)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "sealed object too short (%zu bytes)",
		                    in_len);
	padded = in_len - MV_SEAL_OVERHEAD;
	make_ad(ad, type, id);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(work, NULL, in + MV_NONCE_LEN,
	                                                        padded, in + in_len - MV_TAG_LEN,
	                                                        ad, sizeof(ad), in, k->enc) != 0)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "sealed object of type %u failed authentication "
		                    "(damaged, tampered with, or not this repository's)",
		                    (unsigned)type);
	if (work[0] > MV_ENC_ZSTD_DELTA16)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "sealed object has unknown encoding %u", (unsigned)work[0]);
	len = mv_get_u32(work + 1);
	if (len > padded - MV_FRAME_HDR)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "sealed object payload length %zu does not fit in %zu bytes",
		                    len, padded - MV_FRAME_HDR);
	if (mv_padme(MV_FRAME_HDR + len) != padded)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "sealed object padded length %zu is not padme(%zu)", padded,
		                    MV_FRAME_HDR + len);
	if (!sodium_is_zero(work + MV_FRAME_HDR + len, padded - MV_FRAME_HDR - len))
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "sealed object padding is not zero");
	*encoding = work[0];
	*payload = work + MV_FRAME_HDR;
	*payload_len = len;
	return 0;
}

void mv_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int mv_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mv_unhex(const char *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* A NUL is not a hex digit, so a short string stops here and
		 * nothing past it is read. */
		int hi = mv_hex_digit(in[2 * i]);
		if (hi < 0)
			return -1;
		int lo = mv_hex_digit(in[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
