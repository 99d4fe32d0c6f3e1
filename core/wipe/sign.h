/* The wipe certificate file and its Ed25519 signature (docs/CERTIFICATE.md).
 *
 * A certificate file is one JSON object with two members, in this layout:
 *
 *   {\n
 *     "certificate": <the certificate object, '{' ... '}'>,\n
 *     "signature": {"algorithm": "Ed25519", "public_key": "<64 hex>",
 *                   "fingerprint": "<MV_CERT_FPR_LEN>", "value": "<128 hex>"}\n   (one line)
 *   }\n
 *
 * The signature line and the closing "}\n" have one fixed layout and length
 * (MV_CERT_TAIL_LEN bytes at the end of the file, lowercase hex). The
 * signed message is MV_CERT_DOMAIN followed by every byte of the file
 * before the signature line. The verifier parses the tail by position:
 * any other byte after it, or any change before it, fails. */
#ifndef MV_WIPE_SIGN_H
#define MV_WIPE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/err.h"

#define MV_SIGN_PK_LEN  32
#define MV_SIGN_SK_LEN  64 /* libsodium's Ed25519 secret key: seed || public key */
#define MV_SIGN_SIG_LEN 64

/* Largest certificate file a verifier reads (and a signer writes). */
#define MV_CERT_MAX ((size_t)64 << 20)

/* Prepended to the file's bytes in the signed message. */
#define MV_CERT_DOMAIN "medvault wipe certificate v1\n"

/* Fingerprint of a public key: "MV-" and the first 20 bytes of
 * BLAKE2b-256(public key) in RFC 4648 base32 (A-Z, 2-7, no padding), in 8
 * groups of 4 separated by '-': "MV-ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567". */
#define MV_CERT_FPR_LEN 42

/* The fixed length of the signature line and the closing "}\n". */
#define MV_CERT_TAIL_LEN 326

void mv_cert_fingerprint(const uint8_t pk[MV_SIGN_PK_LEN], char out[MV_CERT_FPR_LEN + 1]);

/* Builds the signed certificate file around cert (the certificate object's
 * bytes: starting with '{' and ending with '}'), with the secret key sk
 * (MV_SIGN_SK_LEN bytes, whose public half must be pk). On success *out
 * is a malloc'd buffer of *out_len bytes (the caller frees it). Returns 0,
 * MV_ERR_USAGE (cert not an object, sk not matching pk), MV_ERR_LIMIT (the
 * file would exceed MV_CERT_MAX) or MV_ERR_NOMEM. */
int mv_cert_sign(const uint8_t *cert, size_t cert_len, const uint8_t pk[MV_SIGN_PK_LEN],
                 const uint8_t *sk, uint8_t **out, size_t *out_len,
                 struct mv_error *err) MV_MUST_CHECK;

/* What a verified certificate holds: pointers into the verified file. */
struct mv_cert_verified {
	uint8_t pk[MV_SIGN_PK_LEN];
	char fingerprint[MV_CERT_FPR_LEN + 1];
	const uint8_t *cert; /* the certificate object's bytes, inside the file */
	size_t cert_len;
};

/* Verifies a certificate file (len bytes of file, hostile). With
 * expected_pk (the repository's key) the signer must also be that key.
 * Returns 0 with *out filled, or MV_ERR_INTEGRITY with a message naming
 * what failed (too large, truncated, layout, hex, fingerprint, signature,
 * a different signer), MV_ERR_NOMEM. When the layout was valid, out->pk
 * and out->fingerprint name the key the file claims also on failure (for
 * the message); out->cert is set only on success. */
int mv_cert_verify(const uint8_t *file, size_t len, const uint8_t *expected_pk,
                   struct mv_cert_verified *out, struct mv_error *err) MV_MUST_CHECK;

#endif
