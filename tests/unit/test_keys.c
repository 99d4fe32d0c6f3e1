/* Unit tests of core/repo/keys.c: key slots, recovery key text, password rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/repo/keys.h"
#include "formats/buf.h"

static const char PW[] = "Tr0ub4dor&3xx-correct";

static int setup(void **state)
{
	(void)state;
	return mv_crypto_init() == 0 ? 0 : -1;
}

/* Opens slot (len bytes) with the test password PW. */
static int open_pw(const uint8_t *slot, size_t len, uint8_t key[MV_KEY_LEN], struct mv_error *err)
{
	return mv_keyslot_open(slot, len, (const uint8_t *)PW, strlen(PW), key, err);
}

static void make_password_slot(const uint8_t master[MV_KEY_LEN], uint8_t slot[MV_KEYSLOT_LEN])
{
	struct mv_error err = {0};

	assert_int_equal(mv_keyslot_create(MV_SLOT_PASSWORD, NULL, (const uint8_t *)PW, strlen(PW),
	                                   master, slot, &err),
	                 0);
}

static void test_keys__password_slot_roundtrip(void **state)
{
	uint8_t master[MV_KEY_LEN], got[MV_KEY_LEN], slot[MV_KEYSLOT_LEN], slot2[MV_KEYSLOT_LEN];
	uint8_t kek[MV_KEY_LEN], manual[MV_KEY_LEN];
	struct mv_error err = {0};

	(void)state;
	randombytes_buf(master, sizeof(master));
	make_password_slot(master, slot);
	/* Layout of FORMAT.md section 4. */
	assert_memory_equal(slot, "MVKEYSL1", 8);
	assert_int_equal(slot[8], MV_SLOT_PASSWORD);
	assert_int_equal(slot[9], MV_KDF_ARGON2ID);
	assert_int_equal(slot[10], 0);
	assert_int_equal(slot[11], 0);
	assert_int_equal(mv_get_u32(slot + 12), 3);
	assert_int_equal(mv_get_u64(slot + 16), 64ull << 20);
	assert_int_equal(mv_keyslot_kind(slot, sizeof(slot), &err), MV_SLOT_PASSWORD);
	assert_int_equal(open_pw(slot, sizeof(slot), got, &err), 0);
	assert_memory_equal(got, master, MV_KEY_LEN);
	/* An independent reading of the slot with libsodium gives the same key. */
	assert_int_equal(crypto_pwhash(kek, 32, PW, strlen(PW), slot + 24, 3, 64u << 20,
	                               crypto_pwhash_ALG_ARGON2ID13),
	                 0);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(manual, NULL, NULL, slot + 64,
	                                                            48, slot, 40, slot + 40, kek),
	                 0);
	assert_memory_equal(manual, master, MV_KEY_LEN);
	/* Fresh salt and nonce for each slot. */
	make_password_slot(master, slot2);
	assert_memory_not_equal(slot + 24, slot2 + 24, 16);
	assert_memory_not_equal(slot + 40, slot2 + 40, 24);
}

static void test_keys__wrong_password(void **state)
{
	uint8_t master[MV_KEY_LEN], got[MV_KEY_LEN], slot[MV_KEYSLOT_LEN];
	struct mv_error err = {0};
	static const char *wrong[] = {"Tr0ub4dor&3xx-correcT", "", "Tr0ub4dor&3xx-correct "};

	(void)state;
	randombytes_buf(master, sizeof(master));
	make_password_slot(master, slot);
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		memset(got, 0x55, sizeof(got));
		assert_int_equal(mv_keyslot_open(slot, sizeof(slot), (const uint8_t *)wrong[i],
		                                 strlen(wrong[i]), got, &err),
		                 MV_ERR_PASSWORD);
		assert_int_equal(err.code, MV_ERR_PASSWORD);
		assert_true(sodium_is_zero(got, sizeof(got)));
	}
	/* A 32-byte "password" against a password slot is simply wrong. */
	uint8_t k32[32];
	randombytes_buf(k32, sizeof(k32));
	assert_int_equal(mv_keyslot_open(slot, sizeof(slot), k32, 32, got, &err), MV_ERR_PASSWORD);
}

static void test_keys__tampered_slot_never_opens(void **state)
{
	uint8_t master[MV_KEY_LEN], got[MV_KEY_LEN], slot[MV_KEYSLOT_LEN];
	struct mv_error err = {0};

	(void)state;
	randombytes_buf(master, sizeof(master));
	make_password_slot(master, slot);
	/* Every header byte (fails fast, before Argon2), then a sample of
	 * salt, nonce, ciphertext and tag positions (each costs one Argon2 run
	 * at 64 MiB; every byte is covered in the fast recovery-slot test). */
	static const size_t argon2_positions[] = {24, 31, 39, 40, 52, 63, 64, 80, 95, 96, 111};
	size_t positions[12 + sizeof(argon2_positions) / sizeof(argon2_positions[0])];
	size_t np = 0;
	for (size_t i = 0; i < 12; i++)
		positions[np++] = i;
	for (size_t i = 0; i < sizeof(argon2_positions) / sizeof(argon2_positions[0]); i++)
		positions[np++] = argon2_positions[i];
	for (size_t j = 0; j < np; j++) {
		size_t i = positions[j];
		slot[i] ^= 0x01;
		memset(got, 0x55, sizeof(got));
		int rc = open_pw(slot, sizeof(slot), got, &err);
		if (rc != MV_ERR_PASSWORD && rc != MV_ERR_INTEGRITY)
			fail_msg("byte %zu flipped: rc=%d", i, rc);
		if (i < 12)
			assert_int_equal(rc, MV_ERR_INTEGRITY);
		else
			assert_int_equal(rc, MV_ERR_PASSWORD);
		assert_true(sodium_is_zero(got, sizeof(got)));
		slot[i] ^= 0x01;
	}
	/* t and m lowered below the minimum: refused before Argon2. */
	slot[12] ^= 0x01; /* t = 3 -> 2 */
	assert_int_equal(open_pw(slot, sizeof(slot), got, &err), MV_ERR_INTEGRITY);
	slot[12] ^= 0x01;
	slot[19] ^= 0x04; /* m = 64 MiB -> 0 */
	assert_int_equal(open_pw(slot, sizeof(slot), got, &err), MV_ERR_INTEGRITY);
	slot[19] ^= 0x04;
	/* Header fields inside the AD: t=3 -> t=4 is still valid, must fail. */
	mv_put_u32(slot + 12, 4);
	assert_int_equal(open_pw(slot, sizeof(slot), got, &err), MV_ERR_PASSWORD);
	mv_put_u32(slot + 12, 3);
	/* Kind changed from password to recovery: rejected as malformed. */
	slot[8] = MV_SLOT_RECOVERY;
	assert_int_equal(mv_keyslot_kind(slot, sizeof(slot), &err), MV_ERR_INTEGRITY);
	slot[8] = MV_SLOT_PASSWORD;
	/* Still fine after restoring. */
	assert_int_equal(open_pw(slot, sizeof(slot), got, &err), 0);
	assert_memory_equal(got, master, MV_KEY_LEN);
	/* Wrong lengths. */
	assert_int_equal(open_pw(slot, sizeof(slot) - 1, got, &err), MV_ERR_INTEGRITY);
	assert_int_equal(mv_keyslot_kind(slot, 0, &err), MV_ERR_INTEGRITY);
	assert_int_equal(mv_keyslot_kind(slot, sizeof(slot) + 1, &err), MV_ERR_INTEGRITY);
}

static void test_keys__header_validation(void **state)
{
	uint8_t master[MV_KEY_LEN], slot[MV_KEYSLOT_LEN], bad[MV_KEYSLOT_LEN];
	struct mv_error err = {0};

	(void)state;
	randombytes_buf(master, sizeof(master));
	make_password_slot(master, slot);
#define EXPECT_BAD(mutation)                                                                       \
	do {                                                                                       \
		memcpy(bad, slot, sizeof(bad));                                                    \
		mutation;                                                                          \
		assert_int_equal(mv_keyslot_kind(bad, sizeof(bad), &err), MV_ERR_INTEGRITY);       \
	} while (0)
	EXPECT_BAD(bad[0] = 'X');
	EXPECT_BAD(bad[7] = '2');
	EXPECT_BAD(bad[8] = 0);
	EXPECT_BAD(bad[8] = 4);
	EXPECT_BAD(bad[9] = 0);
	EXPECT_BAD(bad[9] = 3);
	EXPECT_BAD(bad[9] = MV_KDF_BLAKE2B); /* fast kdf for a password */
	EXPECT_BAD(bad[10] = 1);
	EXPECT_BAD(bad[11] = 0x80);
	EXPECT_BAD(mv_put_u32(bad + 12, 2)); /* t below minimum */
	EXPECT_BAD(mv_put_u32(bad + 12, 0));
	EXPECT_BAD(mv_put_u64(bad + 16, (64ull << 20) - 1)); /* m below 64 MiB */
	EXPECT_BAD(mv_put_u64(bad + 16, 0));
#undef EXPECT_BAD
	assert_non_null(strstr(err.msg, "argon2id"));
	/* Below the minimum is also refused by open (before any Argon2 run). */
	memcpy(bad, slot, sizeof(bad));
	mv_put_u32(bad + 12, 1);
	uint8_t got[MV_KEY_LEN];
	assert_int_equal(open_pw(bad, sizeof(bad), got, &err), MV_ERR_INTEGRITY);
	/* The caps exactly are accepted by the header check. */
	memcpy(bad, slot, sizeof(bad));
	mv_put_u64(bad + 16, MV_ARGON2_MAX_MEM);
	mv_put_u32(bad + 12, MV_ARGON2_MAX_OPS);
	assert_int_equal(mv_keyslot_kind(bad, sizeof(bad), &err), MV_SLOT_PASSWORD);
	assert_int_equal(mv_keyslot_work(bad), MV_ARGON2_MAX_OPS * (MV_ARGON2_MAX_MEM >> 20));
}

/* A slot beyond the caps is MV_ERR_LIMIT, for kind and open alike, and open
 * returns at once without running Argon2id (2^32-1 passes would never end). */
static void test_keys__caps_refuse_without_running(void **state)
{
	uint8_t master[MV_KEY_LEN], slot[MV_KEYSLOT_LEN], bad[MV_KEYSLOT_LEN], got[MV_KEY_LEN];
	struct mv_error err = {0};
	static const struct {
		uint32_t t;
		uint64_t m;
	} over[] = {
	    {MV_ARGON2_MAX_OPS + 1, 64ull << 20},
	    {UINT32_MAX, 64ull << 20},
	    {3, MV_ARGON2_MAX_MEM + 1},
	    {3, 4ull << 30},
	    {3, UINT64_MAX},
	    {UINT32_MAX, 4ull << 30},
	};

	(void)state;
	randombytes_buf(master, sizeof(master));
	make_password_slot(master, slot);
	assert_int_equal(mv_keyslot_work(slot), 3 * 64);
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		memcpy(bad, slot, sizeof(bad));
		mv_put_u32(bad + 12, over[i].t);
		mv_put_u64(bad + 16, over[i].m);
		assert_int_equal(mv_keyslot_kind(bad, sizeof(bad), &err), MV_ERR_LIMIT);
		assert_non_null(strstr(err.msg, "caps"));
		assert_int_equal(open_pw(bad, sizeof(bad), got, &err), MV_ERR_LIMIT);
		assert_true(sodium_is_zero(got, sizeof(got)));
	}
	/* below the minimum stays a malformed slot, not a capped one */
	memcpy(bad, slot, sizeof(bad));
	mv_put_u32(bad + 12, 2);
	mv_put_u64(bad + 16, 4ull << 30);
	assert_int_equal(mv_keyslot_kind(bad, sizeof(bad), &err), MV_ERR_INTEGRITY);
	/* the BLAKE2b slots cost no Argon2id work */
	uint8_t secret[MV_KEY_LEN] = {7};
	assert_int_equal(
	    mv_keyslot_create(MV_SLOT_RECOVERY, NULL, secret, sizeof(secret), master, slot, &err),
	    0);
	assert_int_equal(mv_keyslot_work(slot), 0);
	/* the budget of one open holds two slots at the caps */
	assert_true(MV_UNLOCK_MAX_WORK >= 2 * MV_ARGON2_MAX_OPS * (MV_ARGON2_MAX_MEM >> 20));
}

static void test_keys__create_rejects_weak_params(void **state)
{
	uint8_t master[MV_KEY_LEN], slot[MV_KEYSLOT_LEN];
	struct mv_error err = {0};
	struct mv_kdf_params p;
	uint8_t secret[32] = {1};

	(void)state;
	randombytes_buf(master, sizeof(master));
	p = (struct mv_kdf_params){2, 64ull << 20};
	assert_int_equal(mv_keyslot_create(MV_SLOT_PASSWORD, &p, (const uint8_t *)PW, strlen(PW),
	                                   master, slot, &err),
	                 MV_ERR_USAGE);
	assert_true(sodium_is_zero(slot, sizeof(slot)));
	p = (struct mv_kdf_params){3, 32ull << 20};
	assert_int_equal(mv_keyslot_create(MV_SLOT_PASSWORD, &p, (const uint8_t *)PW, strlen(PW),
	                                   master, slot, &err),
	                 MV_ERR_USAGE);
	p = (struct mv_kdf_params){3, 8ull << 30};
	assert_int_equal(mv_keyslot_create(MV_SLOT_PASSWORD, &p, (const uint8_t *)PW, strlen(PW),
	                                   master, slot, &err),
	                 MV_ERR_USAGE);
	/* beyond the caps that readers enforce: init must not make such a slot */
	p = (struct mv_kdf_params){3, MV_ARGON2_MAX_MEM + (1u << 20)};
	assert_int_equal(mv_keyslot_create(MV_SLOT_PASSWORD, &p, (const uint8_t *)PW, strlen(PW),
	                                   master, slot, &err),
	                 MV_ERR_USAGE);
	p = (struct mv_kdf_params){MV_ARGON2_MAX_OPS + 1, 64ull << 20};
	assert_int_equal(mv_keyslot_create(MV_SLOT_PASSWORD, &p, (const uint8_t *)PW, strlen(PW),
	                                   master, slot, &err),
	                 MV_ERR_USAGE);
	/* Recovery and machine slots need exactly 32 bytes. */
	assert_int_equal(mv_keyslot_create(MV_SLOT_RECOVERY, NULL, secret, 31, master, slot, &err),
	                 MV_ERR_USAGE);
	assert_int_equal(mv_keyslot_create(MV_SLOT_MACHINE, NULL, NULL, 32, master, slot, &err),
	                 MV_ERR_USAGE);
	assert_int_equal(mv_keyslot_create(0, NULL, secret, 32, master, slot, &err), MV_ERR_USAGE);
	assert_int_equal(mv_keyslot_create(4, NULL, secret, 32, master, slot, &err), MV_ERR_USAGE);
}

static void test_keys__stronger_params_roundtrip(void **state)
{
	uint8_t master[MV_KEY_LEN], got[MV_KEY_LEN], slot[MV_KEYSLOT_LEN];
	struct mv_error err = {0};
	struct mv_kdf_params p = {4, 65ull << 20};

	(void)state;
	randombytes_buf(master, sizeof(master));
	assert_int_equal(mv_keyslot_create(MV_SLOT_PASSWORD, &p, (const uint8_t *)PW, strlen(PW),
	                                   master, slot, &err),
	                 0);
	assert_int_equal(mv_get_u32(slot + 12), 4);
	assert_int_equal(mv_get_u64(slot + 16), 65ull << 20);
	assert_int_equal(open_pw(slot, sizeof(slot), got, &err), 0);
	assert_memory_equal(got, master, MV_KEY_LEN);
}

static void test_keys__recovery_and_machine_slots(void **state)
{
	uint8_t master[MV_KEY_LEN], got[MV_KEY_LEN], slot[MV_KEYSLOT_LEN];
	uint8_t secret[MV_KEY_LEN], other[MV_KEY_LEN], kek[MV_KEY_LEN];
	struct mv_error err = {0};
	static const uint8_t kinds[] = {MV_SLOT_RECOVERY, MV_SLOT_MACHINE};

	(void)state;
	randombytes_buf(master, sizeof(master));
	randombytes_buf(secret, sizeof(secret));
	memcpy(other, secret, sizeof(other));
	other[0] ^= 0x80;
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(
		    mv_keyslot_create(kinds[i], NULL, secret, sizeof(secret), master, slot, &err),
		    0);
		assert_int_equal(slot[8], kinds[i]);
		assert_int_equal(slot[9], MV_KDF_BLAKE2B);
		assert_true(sodium_is_zero(slot + 10, 14)); /* zero, t = 0, m = 0 */
		assert_int_equal(mv_keyslot_kind(slot, sizeof(slot), &err), kinds[i]);
		assert_int_equal(
		    mv_keyslot_open(slot, sizeof(slot), secret, sizeof(secret), got, &err), 0);
		assert_memory_equal(got, master, MV_KEY_LEN);
		/* Independent check: KEK = BLAKE2b-256(key = secret, msg = salt). */
		crypto_generichash(kek, 32, slot + 24, 16, secret, 32);
		assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
		                     got, NULL, NULL, slot + 64, 48, slot, 40, slot + 40, kek),
		                 0);
		assert_memory_equal(got, master, MV_KEY_LEN);
		assert_int_equal(
		    mv_keyslot_open(slot, sizeof(slot), other, sizeof(other), got, &err),
		    MV_ERR_PASSWORD);
		assert_true(sodium_is_zero(got, sizeof(got)));
		/* A password (any other length) does not open it. */
		assert_int_equal(open_pw(slot, sizeof(slot), got, &err), MV_ERR_PASSWORD);
		/* Argon2 parameters on a blake2b slot are malformed. */
		slot[12] = 3;
		assert_int_equal(mv_keyslot_kind(slot, sizeof(slot), &err), MV_ERR_INTEGRITY);
		slot[12] = 0;
		/* Tampered bytes: never a success. */
		for (size_t b = 0; b < MV_KEYSLOT_LEN; b++) {
			slot[b] ^= 0x10;
			int rc =
			    mv_keyslot_open(slot, sizeof(slot), secret, sizeof(secret), got, &err);
			if (rc != MV_ERR_PASSWORD && rc != MV_ERR_INTEGRITY)
				fail_msg("byte %zu flipped: rc=%d", b, rc);
			slot[b] ^= 0x10;
		}
		/* Password kind with the recovery kdf is malformed. */
		slot[8] = MV_SLOT_PASSWORD;
		assert_int_equal(mv_keyslot_kind(slot, sizeof(slot), &err), MV_ERR_INTEGRITY);
	}
}

static void test_keys__recovery_text_roundtrip(void **state)
{
	uint8_t secret[MV_KEY_LEN], back[MV_KEY_LEN];
	char text[MV_RECOVERY_TEXT_LEN + 1], mangled[200];

	(void)state;
	for (int round = 0; round < 50; round++) {
		randombytes_buf(secret, sizeof(secret));
		mv_recovery_format(secret, text);
		assert_int_equal(strlen(text), MV_RECOVERY_TEXT_LEN);
		for (int g = 0; g < 8; g++) {
			for (int c = 0; c < 8; c++) {
				char ch = text[g * 9 + c];
				assert_true((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));
			}
			if (g < 7)
				assert_int_equal(text[g * 9 + 8], '-');
		}
		assert_int_equal(mv_recovery_parse(text, strlen(text), back), 0);
		assert_memory_equal(back, secret, MV_KEY_LEN);
	}
	/* Known value. */
	for (int i = 0; i < 32; i++)
		secret[i] = (uint8_t)(0xa0 + i);
	mv_recovery_format(secret, text);
	assert_string_equal(text, "a0a1a2a3-a4a5a6a7-a8a9aaab-acadaeaf-"
	                          "b0b1b2b3-b4b5b6b7-b8b9babb-bcbdbebf");
	/* Upper case, spaces instead of dashes, no separators at all. */
	const char *ok[] = {
	    "A0A1A2A3-A4A5A6A7-A8A9AAAB-ACADAEAF-B0B1B2B3-B4B5B6B7-B8B9BABB-BCBDBEBF",
	    "a0a1a2a3 a4a5a6a7 a8a9aaab acadaeaf b0b1b2b3 b4b5b6b7 b8b9babb bcbdbebf",
	    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf",
	    "  a0a1-a2a3--a4a5a6a7 - a8a9aaab acadaeaf-b0b1b2b3-b4b5b6b7-b8b9babb-bcbdbebf-- ",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(back, 0, sizeof(back));
		assert_int_equal(mv_recovery_parse(ok[i], strlen(ok[i]), back), 0);
		assert_memory_equal(back, secret, MV_KEY_LEN);
	}
	/* Wrong length, bad characters. */
	const char *bad[] = {
	    "",
	    "a0a1a2a3-a4a5a6a7-a8a9aaab-acadaeaf-b0b1b2b3-b4b5b6b7-b8b9babb-bcbdbeb",
	    "a0a1a2a3-a4a5a6a7-a8a9aaab-acadaeaf-b0b1b2b3-b4b5b6b7-b8b9babb-bcbdbebf0",
	    "a0a1a2a3-a4a5a6a7-a8a9aaab-acadaeaf-b0b1b2b3-b4b5b6b7-b8b9babb-bcbdbebg",
	    "a0a1a2a3-a4a5a6a7-a8a9aaab-acadaeaf-b0b1b2b3-b4b5b6b7-b8b9babb-bcbdbebf\n",
	    "a0a1a2a3_a4a5a6a7-a8a9aaab-acadaeaf-b0b1b2b3-b4b5b6b7-b8b9babb-bcbdbebf",
	    "0xa0a1a2a3-a4a5a6a7-a8a9aaab-acadaeaf-b0b1b2b3-b4b5b6b7-b8b9babb-bcbdbe",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(back, 0x77, sizeof(back));
		if (mv_recovery_parse(bad[i], strlen(bad[i]), back) != -1)
			fail_msg("accepted bad recovery text %zu", i);
		assert_true(sodium_is_zero(back, sizeof(back)));
	}
	/* Explicit length: an embedded NUL is a bad character. */
	memcpy(mangled, text, sizeof(text));
	mangled[10] = '\0';
	assert_int_equal(mv_recovery_parse(mangled, strlen(text), back), -1);
	/* Only len bytes are read. */
	assert_int_equal(mv_recovery_parse(text, strlen(text) - 1, back), -1);
}

static void test_keys__recovery_text_opens_slot(void **state)
{
	uint8_t master[MV_KEY_LEN], secret[MV_KEY_LEN], parsed[MV_KEY_LEN], got[MV_KEY_LEN];
	uint8_t slot[MV_KEYSLOT_LEN];
	char text[MV_RECOVERY_TEXT_LEN + 1];
	struct mv_error err = {0};

	(void)state;
	randombytes_buf(master, sizeof(master));
	randombytes_buf(secret, sizeof(secret));
	assert_int_equal(mv_keyslot_create(MV_SLOT_RECOVERY, NULL, secret, 32, master, slot, &err),
	                 0);
	mv_recovery_format(secret, text);
	for (char *p = text; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(mv_recovery_parse(text, strlen(text), parsed), 0);
	assert_int_equal(mv_keyslot_open(slot, sizeof(slot), parsed, 32, got, &err), 0);
	assert_memory_equal(got, master, MV_KEY_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys__password_slot_roundtrip),
	    cmocka_unit_test(test_keys__wrong_password),
	    cmocka_unit_test(test_keys__tampered_slot_never_opens),
	    cmocka_unit_test(test_keys__header_validation),
	    cmocka_unit_test(test_keys__caps_refuse_without_running),
	    cmocka_unit_test(test_keys__create_rejects_weak_params),
	    cmocka_unit_test(test_keys__stronger_params_roundtrip),
	    cmocka_unit_test(test_keys__recovery_and_machine_slots),
	    cmocka_unit_test(test_keys__recovery_text_roundtrip),
	    cmocka_unit_test(test_keys__recovery_text_opens_slot),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
