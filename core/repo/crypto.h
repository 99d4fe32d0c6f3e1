/* Cryptographic primitives of the repository (libsodium only); see
 * docs/FORMAT.md section 2 and docs/SECURITY.md. */
#ifndef MV_CRYPTO_H
#define MV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/err.h"

#define MV_ID_LEN        32
#define MV_KEY_LEN       32
#define MV_NONCE_LEN     24
#define MV_TAG_LEN       16
#define MV_FRAME_HDR     5                           /* encoding u8 + length u32 */
#define MV_SEAL_OVERHEAD (MV_NONCE_LEN + MV_TAG_LEN) /* 40 */

/* On-disk object types (FORMAT.md section 2). Fixed forever. */
enum {
	MV_T_DATA = 1,
	MV_T_TREE = 2,
	MV_T_CATALOG = 3,
	MV_T_PACKHDR = 16,
	MV_T_INDEX = 17,
	MV_T_SNAPSHOT = 18,
	MV_T_LOCK = 19,
	MV_T_KEYLIST = 20,
	MV_T_WIPE = 21,         /* wipe record (FORMAT.md 14) */
	MV_T_WIPE_JOURNAL = 22, /* a record of the local wipe journal (FORMAT.md 14.1) */
	MV_T_ROLLBACK = 23,     /* the local rollback record (FORMAT.md 15) */
	MV_T_CHUNKER_KEY = 24,  /* the chunker key sealed in config (FORMAT.md 3.1) */
};

/* Frame encodings (FORMAT.md section 2). Fixed forever. */
enum {
	MV_ENC_STORED = 0,
	MV_ENC_ZSTD = 1,
	MV_ENC_ZSTD_SHUF2 = 2,   /* zstd of the bytes shuffled with width 2 */
	MV_ENC_ZSTD_DELTA16 = 3, /* zstd of shuffled zigzag deltas of 16-bit samples */
};

/* Sub-keys derived from the master key; lives in sodium_malloc'd memory
 * (guard pages, mlock'd, wiped on free). */
struct mv_keys {
	uint8_t enc[MV_KEY_LEN];
	uint8_t blob_id[MV_KEY_LEN];
	uint8_t chunker[MV_KEY_LEN];
	uint8_t config[MV_KEY_LEN];
	uint8_t content[MV_KEY_LEN];
	uint8_t sign[MV_KEY_LEN];
};

/* sodium_init(); returns 0 or MV_ERR_NOMEM-like failure (-1). Safe to call twice. */
int mv_crypto_init(void) MV_MUST_CHECK;

/* Derives all sub-keys from a 32-byte master key. Returns a sodium_malloc'd
 * struct (free with mv_keys_free) or NULL on out of memory. */
struct mv_keys *mv_keys_derive(const uint8_t master[MV_KEY_LEN]);
/* Wipes and frees; accepts NULL. */
void mv_keys_free(struct mv_keys *k);

/* Blob id: keyed BLAKE2b-256 of data with k->blob_id. */
void mv_blob_id(const struct mv_keys *k, const void *data, size_t n, uint8_t out[MV_ID_LEN]);

/* Whole-file content hash from the chunk ids (FORMAT.md section 2). */
void mv_content_hash(const struct mv_keys *k, uint64_t size, const uint8_t (*ids)[MV_ID_LEN],
                     size_t nids, uint8_t out[MV_ID_LEN]);

/* Unkeyed BLAKE2b-256, the name of files (packs, index, snapshots, keys). */
void mv_file_hash(const void *data, size_t n, uint8_t out[MV_ID_LEN]);

/* Padmé padding: the padded length for x (x <= padme(x) <= x * 1.12 + 1).
 * Returns 0 when the result would not fit in a size_t (x near SIZE_MAX). */
size_t mv_padme(size_t x);

/* Size of a sealed frame carrying a payload of n bytes after encoding:
 * 24 + padme(5 + n) + 16. Returns 0 on overflow or when n > UINT32_MAX
 * (the frame's length field is a u32). */
size_t mv_sealed_size(size_t n);

/* Seals `payload` (already encoded, e.g. zstd-compressed, per `encoding`)
 * into out, which must hold mv_sealed_size(n) bytes. `id` may be NULL (all
 * zero in the associated data). Fresh random nonce each call. Returns the
 * number of bytes written (never fails for valid arguments; 0 when
 * mv_sealed_size(n) is 0 or the encoding is unknown). The payload may
 * overlap out (it is moved with memmove); placing it at out + 29
 * (MV_NONCE_LEN + MV_FRAME_HDR) avoids the copy: the frame is built and
 * encrypted in place. */
size_t mv_seal(const struct mv_keys *k, uint8_t type, const uint8_t *id, uint8_t encoding,
               const void *payload, size_t n, uint8_t *out);

/* Opens a sealed frame. `work` must hold in_len - 40 bytes (may not alias
 * in). On success returns 0 and sets *encoding, *payload and *payload_len to
 * the payload inside `work`. MV_ERR_INTEGRITY (with a message) when the
 * frame is too short, the tag fails, the encoding is unknown, the length
 * does not fit or padding is not zero. */
int mv_unseal(const struct mv_keys *k, uint8_t type, const uint8_t *id, const uint8_t *in,
              size_t in_len, uint8_t *work, uint8_t *encoding, const uint8_t **payload,
              size_t *payload_len, struct mv_error *err) MV_MUST_CHECK;

/* Hex helpers. out must hold 2*n+1 bytes. */
void mv_hex(const uint8_t *in, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int mv_hex_digit(char c);

/* Parses exactly 2*n hex digits (either case); returns 0 or -1 on any other
 * character, including a NUL among the first 2*n. Reads the first 2*n
 * characters and nothing beyond: when the whole string must be the id, also
 * check its length (strlen(in) == 2*n). */
int mv_unhex(const char *in, uint8_t *out, size_t n);

#endif
