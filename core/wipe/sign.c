/* The wipe certificate file and its Ed25519 signature (sign.h,
 * docs/CERTIFICATE.md). */
#include "core/wipe/sign.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/repo/crypto.h"

#define HEAD   "{\n  \"certificate\": "
#define SEP    ",\n"
#define SIG_A  "  \"signature\": {\"algorithm\": \"Ed25519\", \"public_key\": \""
#define SIG_B  "\", \"fingerprint\": \""
#define SIG_C  "\", \"value\": \""
#define SIG_D  "\"}\n}\n"
#define LIT(s) (sizeof(s) - 1)

/* Offsets inside the tail (the signature line and the closing "}\n"). */
#define OFF_PK  LIT(SIG_A)
#define OFF_B   (OFF_PK + 2 * MV_SIGN_PK_LEN)
#define OFF_FPR (OFF_B + LIT(SIG_B))
#define OFF_C   (OFF_FPR + MV_CERT_FPR_LEN)
#define OFF_SIG (OFF_C + LIT(SIG_C))
#define OFF_D   (OFF_SIG + 2 * MV_SIGN_SIG_LEN)

_Static_assert(OFF_D + LIT(SIG_D) == MV_CERT_TAIL_LEN, "certificate tail layout");

/* The smallest file: HEAD "{}" SEP tail. */
#define MIN_FILE (LIT(HEAD) + 2 + LIT(SEP) + MV_CERT_TAIL_LEN)

void mv_cert_fingerprint(const uint8_t pk[MV_SIGN_PK_LEN], char out[MV_CERT_FPR_LEN + 1])
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint8_t h[32];
	size_t o = 0;

	crypto_generichash(h, sizeof(h), pk, MV_SIGN_PK_LEN, NULL, 0);
	memcpy(out, "MV", 2);
	o = 2;
	/* 20 bytes = 160 bits = 32 base32 digits, 5 bytes per 8 digits */
	for (size_t g = 0; g < 4; g++) {
		uint64_t v = 0;
		for (size_t i = 0; i < 5; i++)
			v = (v << 8) | h[g * 5 + i];
		for (size_t d = 0; d < 8; d++) {
			if (d % 4 == 0)
				out[o++] = '-';
			out[o++] = b32[(v >> (35 - 5 * d)) & 31];
		}
	}
	out[o] = '\0';
}

/* The signed message: MV_CERT_DOMAIN || body[0..n). */
static int signed_message(const uint8_t *body, size_t n, uint8_t **msg, size_t *msg_len,
                          struct mv_error *err)
{
	size_t len;

	*msg = NULL;
	if (mv_size_add(LIT(MV_CERT_DOMAIN), n, &len) != 0 || !(*msg = malloc(len ? len : 1)))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory for the certificate");
	memcpy(*msg, MV_CERT_DOMAIN, LIT(MV_CERT_DOMAIN));
	memcpy(*msg + LIT(MV_CERT_DOMAIN), body, n);
	*msg_len = len;
	return 0;
}

int mv_cert_sign(const uint8_t *cert, size_t cert_len, const uint8_t pk[MV_SIGN_PK_LEN],
                 const uint8_t *sk, uint8_t **out, size_t *out_len, struct mv_error *err)
{
	uint8_t check[MV_SIGN_PK_LEN], sig[MV_SIGN_SIG_LEN];
	uint8_t *file = NULL, *msg = NULL;
	size_t body, total, msg_len = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (cert_len < 2 || cert[0] != '{' || cert[cert_len - 1] != '}')
		return mv_error_set(err, MV_ERR_USAGE, 0, "the certificate is not a JSON object");
	crypto_sign_ed25519_sk_to_pk(check, sk);
	if (sodium_memcmp(check, pk, MV_SIGN_PK_LEN) != 0)
		return mv_error_set(err, MV_ERR_USAGE, 0,
		                    "the signing key does not match its public key");
	if (mv_size_add(LIT(HEAD) + LIT(SEP), cert_len, &body) != 0 ||
	    mv_size_add(body, MV_CERT_TAIL_LEN, &total) != 0 || total > MV_CERT_MAX)
		return mv_error_set(err, MV_ERR_LIMIT, 0,
		                    "the certificate would exceed %zu MiB (too many files listed)",
		                    MV_CERT_MAX >> 20);
	file = malloc(total);
	if (!file)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory for the certificate");
	memcpy(file, HEAD, LIT(HEAD));
	memcpy(file + LIT(HEAD), cert, cert_len);
	memcpy(file + LIT(HEAD) + cert_len, SEP, LIT(SEP));

	rc = signed_message(file, body, &msg, &msg_len, err);
	if (rc < 0)
		goto out;
	crypto_sign_ed25519_detached(sig, NULL, msg, msg_len, sk);

	uint8_t *t = file + body;
	char hex[2 * MV_SIGN_SIG_LEN + 1];
	char fpr[MV_CERT_FPR_LEN + 1];
	memcpy(t, SIG_A, LIT(SIG_A));
	mv_hex(pk, MV_SIGN_PK_LEN, hex);
	memcpy(t + OFF_PK, hex, 2 * MV_SIGN_PK_LEN);
	memcpy(t + OFF_B, SIG_B, LIT(SIG_B));
	mv_cert_fingerprint(pk, fpr);
	memcpy(t + OFF_FPR, fpr, MV_CERT_FPR_LEN);
	memcpy(t + OFF_C, SIG_C, LIT(SIG_C));
	mv_hex(sig, MV_SIGN_SIG_LEN, hex);
	memcpy(t + OFF_SIG, hex, 2 * MV_SIGN_SIG_LEN);
	memcpy(t + OFF_D, SIG_D, LIT(SIG_D));
	*out = file;
	*out_len = total;
	file = NULL;
	rc = 0;
out:
	free(msg);
	free(file);
	return rc;
}

/* Decodes exactly 2*n lowercase hex digits (the only form a signer
 * writes: another spelling of the same bytes is a changed file). */
static int lower_hex(const uint8_t *in, uint8_t *bytes, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++)
		if (!((in[i] >= '0' && in[i] <= '9') || (in[i] >= 'a' && in[i] <= 'f')))
			return -1;
	return mv_unhex((const char *)in, bytes, n);
}

int mv_cert_verify(const uint8_t *file, size_t len, const uint8_t *expected_pk,
                   struct mv_cert_verified *out, struct mv_error *err)
{
	uint8_t sig[MV_SIGN_SIG_LEN];
	uint8_t *msg = NULL;
	size_t body, msg_len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > MV_CERT_MAX)
		return mv_error_set(
		    err, MV_ERR_INTEGRITY, 0,
		    "certificate has %zu bytes, more than the %zu MiB a certificate "
		    "may have",
		    len, MV_CERT_MAX >> 20);
	if (len < MIN_FILE)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "certificate is truncated (%zu bytes, at least %zu expected)",
		                    len, (size_t)MIN_FILE);
	body = len - MV_CERT_TAIL_LEN;
	const uint8_t *t = file + body;
	if (memcmp(file, HEAD, LIT(HEAD)) != 0 || memcmp(t - LIT(SEP), SEP, LIT(SEP)) != 0 ||
	    file[LIT(HEAD)] != '{' || t[-(ptrdiff_t)LIT(SEP) - 1] != '}')
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "certificate is not in the certificate file layout");
	if (memcmp(t, SIG_A, LIT(SIG_A)) != 0 || memcmp(t + OFF_B, SIG_B, LIT(SIG_B)) != 0 ||
	    memcmp(t + OFF_C, SIG_C, LIT(SIG_C)) != 0 || memcmp(t + OFF_D, SIG_D, LIT(SIG_D)) != 0)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "certificate signature line is missing, changed or followed by "
		                    "other bytes");
	if (lower_hex(t + OFF_PK, out->pk, MV_SIGN_PK_LEN) != 0 ||
	    lower_hex(t + OFF_SIG, sig, MV_SIGN_SIG_LEN) != 0)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "certificate public key or signature is not lowercase hex");
	mv_cert_fingerprint(out->pk, out->fingerprint);
	if (memcmp(t + OFF_FPR, out->fingerprint, MV_CERT_FPR_LEN) != 0)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "certificate fingerprint does not belong to its public key");

	rc = signed_message(file, body, &msg, &msg_len, err);
	if (rc < 0)
		return rc;
	if (crypto_sign_ed25519_verify_detached(sig, msg, msg_len, out->pk) != 0) {
		rc = mv_error_set(
		    err, MV_ERR_INTEGRITY, 0,
		    "certificate signature does not match its content: the certificate "
		    "was changed or damaged after it was signed");
		goto out;
	}
	if (expected_pk && sodium_memcmp(expected_pk, out->pk, MV_SIGN_PK_LEN) != 0) {
		char want[MV_CERT_FPR_LEN + 1];
		mv_cert_fingerprint(expected_pk, want);
		rc = mv_error_set(
		    err, MV_ERR_INTEGRITY, 0,
		    "certificate was signed by key %s, not by this repository's key %s",
		    out->fingerprint, want);
		goto out;
	}
	out->cert = file + LIT(HEAD);
	out->cert_len = body - LIT(HEAD) - LIT(SEP);
	rc = 0;
out:
	free(msg);
	return rc;
}
