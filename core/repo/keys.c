/* Key slots wrapping the master key (docs/FORMAT.md section 4), recovery key
 * text. */
#include "core/repo/keys.h"

#include <string.h>

#include <sodium.h>

#include "formats/buf.h"

#define SLOT_MAGIC     "MVKEYSL1"
#define SLOT_OFF_KIND  8
#define SLOT_OFF_KDF   9
#define SLOT_OFF_ZERO  10
#define SLOT_OFF_OPS   12
#define SLOT_OFF_MEM   16
#define SLOT_OFF_SALT  24
#define SLOT_OFF_NONCE 40
#define SLOT_OFF_BOX   64
#define SLOT_SALT_LEN  16
#define SLOT_AD_LEN    40 /* bytes 0..39 are associated data */
#define SLOT_BOX_LEN   (MV_KEY_LEN + MV_TAG_LEN)

_Static_assert(SLOT_OFF_BOX + SLOT_BOX_LEN == MV_KEYSLOT_LEN, "key slot layout");
_Static_assert(SLOT_OFF_NONCE + MV_NONCE_LEN == SLOT_OFF_BOX, "key slot layout");

/* Checks Argon2 parameters against the minimum of FORMAT.md. */
static int argon2_params_min_ok(uint64_t ops, uint64_t mem)
{
	return ops >= MV_ARGON2_MIN_OPS && mem >= MV_ARGON2_MIN_MEM;
}

/* Checks Argon2 parameters against the caps of keys.h (and libsodium's). */
static int argon2_params_cap_ok(uint64_t ops, uint64_t mem)
{
	return ops <= MV_ARGON2_MAX_OPS && ops <= crypto_pwhash_OPSLIMIT_MAX &&
	       mem <= MV_ARGON2_MAX_MEM && mem <= SIZE_MAX && mem <= crypto_pwhash_MEMLIMIT_MAX;
}

/* Derives the key-encryption key of a slot whose header (bytes 0..39) is
 * already valid. Returns 0, MV_ERR_NOMEM (Argon2 could not allocate). */
static int derive_kek(const uint8_t *slot, const uint8_t *secret, size_t secret_len,
                      uint8_t kek[MV_KEY_LEN], struct mv_error *err)
{
	const uint8_t *salt = slot + SLOT_OFF_SALT;

	if (slot[SLOT_OFF_KDF] == MV_KDF_BLAKE2B) {
		/* Only ever called with secret_len == MV_KEY_LEN. */
		crypto_generichash(kek, MV_KEY_LEN, salt, SLOT_SALT_LEN, secret, MV_KEY_LEN);
		return 0;
	}
	uint32_t ops = mv_get_u32(slot + SLOT_OFF_OPS);
	uint64_t mem = mv_get_u64(slot + SLOT_OFF_MEM);
	if (crypto_pwhash(kek, MV_KEY_LEN, (const char *)secret, secret_len, salt, ops, (size_t)mem,
	                  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return mv_error_set(err, MV_ERR_NOMEM, 0,
		                    "argon2id could not allocate %llu MiB for the key slot",
		                    (unsigned long long)(mem >> 20));
	return 0;
}

int mv_keyslot_create(uint8_t kind, const struct mv_kdf_params *params, const uint8_t *secret,
                      size_t secret_len, const uint8_t master[MV_KEY_LEN],
                      uint8_t out[MV_KEYSLOT_LEN], struct mv_error *err)
{
	uint8_t *kek = NULL;
	uint8_t kdf;
	uint32_t ops = 0;
	uint64_t mem = 0;
	int rc;

	memset(out, 0, MV_KEYSLOT_LEN);
	if (kind == MV_SLOT_PASSWORD) {
		kdf = MV_KDF_ARGON2ID;
		ops = params ? params->opslimit : MV_ARGON2_MIN_OPS;
		mem = params ? params->memlimit : MV_ARGON2_MIN_MEM;
		if (!argon2_params_min_ok(ops, mem) || !argon2_params_cap_ok(ops, mem))
			return mv_error_set(err, MV_ERR_USAGE, 0,
			                    "argon2id parameters t=%u m=%llu MiB out of range "
			                    "(%u <= t <= %u, %llu MiB <= m <= %llu MiB)",
			                    ops, (unsigned long long)(mem >> 20), MV_ARGON2_MIN_OPS,
			                    MV_ARGON2_MAX_OPS, MV_ARGON2_MIN_MEM >> 20,
			                    MV_ARGON2_MAX_MEM >> 20);
		if (secret_len > crypto_pwhash_PASSWD_MAX || (!secret && secret_len > 0))
			return mv_error_set(err, MV_ERR_USAGE, 0, "invalid password");
	} else if (kind == MV_SLOT_RECOVERY || kind == MV_SLOT_MACHINE) {
		kdf = MV_KDF_BLAKE2B;
		if (!secret || secret_len != MV_KEY_LEN)
			return mv_error_set(
			    err, MV_ERR_USAGE, 0, "a %s key must be %d random bytes",
			    kind == MV_SLOT_RECOVERY ? "recovery" : "machine", MV_KEY_LEN);
	} else {
		return mv_error_set(err, MV_ERR_USAGE, 0, "unknown key slot kind %u",
		                    (unsigned)kind);
	}

	kek = sodium_malloc(MV_KEY_LEN);
	if (!kek) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "cannot allocate secure memory");
		goto out;
	}
	memcpy(out, SLOT_MAGIC, 8);
	out[SLOT_OFF_KIND] = kind;
	out[SLOT_OFF_KDF] = kdf;
	mv_put_u32(out + SLOT_OFF_OPS, ops);
	mv_put_u64(out + SLOT_OFF_MEM, mem);
	randombytes_buf(out + SLOT_OFF_SALT, SLOT_SALT_LEN);
	randombytes_buf(out + SLOT_OFF_NONCE, MV_NONCE_LEN);

	rc = derive_kek(out, secret, secret_len, kek, err);
	if (rc < 0)
		goto out;
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + SLOT_OFF_BOX, NULL, master, MV_KEY_LEN,
	                                           out, SLOT_AD_LEN, NULL, out + SLOT_OFF_NONCE,
	                                           kek);
	rc = 0;
out:
	if (rc < 0)
		memset(out, 0, MV_KEYSLOT_LEN);
	sodium_free(kek); /* wipes; accepts NULL */
	return rc;
}

int mv_keyslot_kind(const uint8_t *slot, size_t len, struct mv_error *err)
{
	if (len != MV_KEYSLOT_LEN)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "key slot has %zu bytes, expected %d",
		                    len, MV_KEYSLOT_LEN);
	if (memcmp(slot, SLOT_MAGIC, 8) != 0)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "key slot has a bad magic");
	uint8_t kind = slot[SLOT_OFF_KIND];
	uint8_t kdf = slot[SLOT_OFF_KDF];
	uint32_t ops = mv_get_u32(slot + SLOT_OFF_OPS);
	uint64_t mem = mv_get_u64(slot + SLOT_OFF_MEM);

	if (slot[SLOT_OFF_ZERO] != 0 || slot[SLOT_OFF_ZERO + 1] != 0)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "key slot reserved bytes not zero");
	if (kind != MV_SLOT_PASSWORD && kind != MV_SLOT_RECOVERY && kind != MV_SLOT_MACHINE)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "key slot has unknown kind %u",
		                    (unsigned)kind);
	/* Passwords always go through Argon2id; the fast KDF is only for
	 * 256-bit random secrets. */
	if (kind == MV_SLOT_PASSWORD ? kdf != MV_KDF_ARGON2ID : kdf != MV_KDF_BLAKE2B)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "key slot of kind %u has unexpected kdf %u", (unsigned)kind,
		                    (unsigned)kdf);
	if (kdf == MV_KDF_ARGON2ID && !argon2_params_min_ok(ops, mem))
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "key slot argon2id parameters t=%u m=%llu bytes are below "
		                    "the minimum (t >= %u, m >= %llu MiB)",
		                    ops, (unsigned long long)mem, MV_ARGON2_MIN_OPS,
		                    MV_ARGON2_MIN_MEM >> 20);
	if (kdf == MV_KDF_ARGON2ID && !argon2_params_cap_ok(ops, mem))
		return mv_error_set(err, MV_ERR_LIMIT, 0,
		                    "key slot asks argon2id t=%u passes over %llu MiB, beyond the "
		                    "caps (t <= %u, m <= %llu MiB): not tried",
		                    ops, (unsigned long long)(mem >> 20), MV_ARGON2_MAX_OPS,
		                    MV_ARGON2_MAX_MEM >> 20);
	if (kdf == MV_KDF_BLAKE2B && (ops != 0 || mem != 0))
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "key slot has argon2 parameters for a blake2b kdf");
	return kind;
}

uint64_t mv_keyslot_work(const uint8_t slot[MV_KEYSLOT_LEN])
{
	if (slot[SLOT_OFF_KDF] != MV_KDF_ARGON2ID)
		return 0;
	/* both factors are capped by mv_keyslot_kind; saturate anyway */
	uint64_t ops = mv_get_u32(slot + SLOT_OFF_OPS);
	uint64_t mib = mv_get_u64(slot + SLOT_OFF_MEM) >> 20;
	if (mib > UINT64_MAX / (ops ? ops : 1))
		return UINT64_MAX;
	return ops * mib;
}

int mv_keyslot_open(const uint8_t *slot, size_t len, const uint8_t *secret, size_t secret_len,
                    uint8_t master_out[MV_KEY_LEN], struct mv_error *err)
{
	uint8_t *kek = NULL;
	int rc;

	sodium_memzero(master_out, MV_KEY_LEN);
	rc = mv_keyslot_kind(slot, len, err);
	if (rc < 0)
		return rc;
	if (slot[SLOT_OFF_KDF] == MV_KDF_BLAKE2B && (!secret || secret_len != MV_KEY_LEN))
		return mv_error_set(err, MV_ERR_PASSWORD, 0,
		                    "this key slot needs a 32-byte key, not a password");
	if (slot[SLOT_OFF_KDF] == MV_KDF_ARGON2ID &&
	    (secret_len > crypto_pwhash_PASSWD_MAX || (!secret && secret_len > 0)))
		return mv_error_set(err, MV_ERR_PASSWORD, 0, "invalid password");

	kek = sodium_malloc(MV_KEY_LEN);
	if (!kek) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "cannot allocate secure memory");
		goto out;
	}
	rc = derive_kek(slot, secret, secret_len, kek, err);
	if (rc < 0)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(master_out, NULL, NULL, slot + SLOT_OFF_BOX,
	                                               SLOT_BOX_LEN, slot, SLOT_AD_LEN,
	                                               slot + SLOT_OFF_NONCE, kek) != 0) {
		rc = mv_error_set(err, MV_ERR_PASSWORD, 0,
		                  "wrong password or key (or the key slot is damaged)");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		sodium_memzero(master_out, MV_KEY_LEN);
	sodium_free(kek); /* wipes; accepts NULL */
	return rc;
}

void mv_recovery_format(const uint8_t secret[MV_KEY_LEN], char out[MV_RECOVERY_TEXT_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < MV_KEY_LEN; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = digits[secret[i] >> 4];
		out[o++] = digits[secret[i] & 15];
	}
	out[o] = '\0';
}

int mv_recovery_parse(const char *text, size_t len, uint8_t out[MV_KEY_LEN])
{
	size_t nd = 0;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == '-' || c == ' ')
			continue;
		int v = mv_hex_digit(c);
		if (v < 0 || nd >= 2 * MV_KEY_LEN)
			goto fail;
		if (nd % 2 == 0)
			out[nd / 2] = (uint8_t)(v << 4);
		else
			out[nd / 2] |= (uint8_t)v;
		nd++;
	}
	if (nd == 2 * MV_KEY_LEN)
		return 0;
fail:
	sodium_memzero(out, MV_KEY_LEN);
	return -1;
}
