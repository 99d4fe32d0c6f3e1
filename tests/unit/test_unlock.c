/* Opening a repository among planted key slots (core/repo/repo.c
 * mv_repo_unlock), and the key list (core/repo/keylist.c): slots beyond the
 * Argon2id caps are never run, slots are tried cheapest first within a work
 * budget, and check names slots that are damaged, missing or unlisted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/repo/keylist.h"
#include "core/ops/ops.h"
#include "formats/buf.h"
#include "tests/unit/testutil.h"

#define PASSWORD TU_PASSWORD
#define WRONG    "Wrong-Horse-Battery-9"

static int setup(void **state)
{
	assert_int_equal(mv_crypto_init(), 0);
	return tu_setup_repo(state);
}

/* A well-formed password slot with these Argon2id parameters and a random
 * box (it opens with nothing), written to keys/ under its hash. */
static void plant(const struct tu_fixture *f, uint32_t t, uint64_t m, char name[65])
{
	uint8_t slot[MV_KEYSLOT_LEN], h[32];
	char path[256];

	memcpy(slot, "MVKEYSL1", 8);
	slot[8] = MV_SLOT_PASSWORD;
	slot[9] = MV_KDF_ARGON2ID;
	slot[10] = slot[11] = 0;
	mv_put_u32(slot + 12, t);
	mv_put_u64(slot + 16, m);
	randombytes_buf(slot + 24, sizeof(slot) - 24);
	mv_file_hash(slot, sizeof(slot), h);
	mv_hex(h, 32, name);
	snprintf(path, sizeof(path), "%s/keys/%s", f->d.repo, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(slot, 1, sizeof(slot), fp), sizeof(slot));
	assert_int_equal(fclose(fp), 0);
}

/* How r was opened (valid until the next call). */
static const struct mv_unlock_info *info(const struct mv_repo *r)
{
	static struct mv_unlock_info ui;
	mv_repo_unlock_info(r, &ui);
	return &ui;
}

static int try_open(const struct tu_fixture *f, const char *secret, uint64_t budget,
                    struct mv_repo **out, struct mv_error *err)
{
	assert_int_equal(mv_repo_open(f->d.repo, out, err), 0);
	if (budget)
		mv_repo_set_unlock_budget(*out, budget);
	return mv_repo_unlock(*out, (const uint8_t *)secret, strlen(secret), err);
}

static void test_unlock__slot_beyond_caps_skipped_not_run(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_repo *r = NULL;
	struct mv_error err = {0};
	char huge[65];

	/* 2^32-1 passes: would never end if it ran */
	plant(f, UINT32_MAX, 4ull << 30, huge);
	assert_int_equal(try_open(f, PASSWORD, 0, &r, &err), 0);
	assert_int_equal(info(r)->slot_kind, MV_SLOT_PASSWORD);
	assert_int_equal(info(r)->slots_skipped, 1);
	assert_non_null(strstr(info(r)->skip_msg, "caps"));
	char prefix[17];
	memcpy(prefix, huge, 16);
	prefix[16] = '\0';
	assert_non_null(strstr(info(r)->skip_msg, prefix));
	mv_repo_close(r);
	assert_int_equal(try_open(f, WRONG, 0, &r, &err), MV_ERR_PASSWORD);
	assert_int_equal(info(r)->slots_skipped, 1);
	mv_repo_close(r);
	/* the recovery key opens too, and names its slot */
	assert_int_equal(try_open(f, f->recovery, 0, &r, &err), 0);
	assert_int_equal(info(r)->slot_kind, MV_SLOT_RECOVERY);
	assert_int_equal(strlen(info(r)->slot_name), 64);
	mv_repo_close(r);
}

static void test_unlock__cheapest_first_within_budget(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_repo *r = NULL;
	struct mv_error err = {0};
	char n1[65], n2[65], n3[65];

	/* three planted slots dearer than the real one (4 x 64 MiB vs 3 x 64) */
	plant(f, 4, 64ull << 20, n1);
	plant(f, 4, 64ull << 20, n2);
	plant(f, 4, 64ull << 20, n3);
	/* a budget for the real slot and one planted one: the real one is
	 * tried first, so the password opens */
	assert_int_equal(try_open(f, PASSWORD, 3 * 64 + 4 * 64, &r, &err), 0);
	assert_int_equal(info(r)->slot_kind, MV_SLOT_PASSWORD);
	mv_repo_close(r);
	/* a wrong password: the budget stops the search, said as such */
	assert_int_equal(try_open(f, WRONG, 3 * 64 + 4 * 64, &r, &err), MV_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "work"));
	assert_int_equal(info(r)->slots_skipped, 2);
	mv_repo_close(r);
	/* with the default budget every slot is tried: a wrong password */
	assert_int_equal(try_open(f, WRONG, 0, &r, &err), MV_ERR_PASSWORD);
	assert_int_equal(info(r)->slots_skipped, 0);
	mv_repo_close(r);
}

static void warn_count(void *arg, const char *path, const char *msg)
{
	(void)path;
	(void)msg;
	(*(int *)arg)++;
}

static void test_unlock__keylist_written_and_checked(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_repo *r = NULL;
	struct mv_error err = {0};
	struct mv_keylist kl;
	struct mv_keycheck kc;
	int warnings = 0;
	struct mv_events ev = {.warn = warn_count, .arg = &warnings};
	size_t objects = 9, damaged = 9;
	char planted[65];

	assert_int_equal(try_open(f, PASSWORD, 0, &r, &err), 0);
	assert_true(mv_repo_config(r)->compat & MV_COMPAT_KEYLIST);
	assert_int_equal(mv_keylist_load(r, &kl, &objects, &damaged, &err), 1);
	assert_int_equal(objects, 1);
	assert_int_equal(damaged, 0);
	assert_int_equal(kl.generation, 1);
	assert_int_equal(kl.n, 2);
	uint8_t id[32];
	assert_int_equal(mv_unhex(info(r)->slot_name, id, 32), 0);
	const struct mv_keylist_entry *e = mv_keylist_find(&kl, id);
	assert_non_null(e);
	assert_string_equal(e->label, "password");
	/* nothing to upgrade in a repository made with a list */
	assert_int_equal(mv_keylist_upgrade(r, &err), 0);
	assert_int_equal(mv_check_keys(r, &ev, &kc, &err), 0);
	assert_int_equal(kc.errors, 0);
	assert_int_equal(kc.slots, 2);
	assert_string_equal(kc.opened_label, "password");
	/* a rewrite replaces the list (key add/remove) */
	assert_int_equal(mv_keylist_save(r, &kl, &err), 0);
	assert_int_equal(kl.generation, 2);
	mv_keylist_release(&kl);
	assert_int_equal(mv_keylist_load(r, &kl, &objects, &damaged, &err), 1);
	assert_int_equal(objects, 1);
	assert_int_equal(kl.generation, 2);
	mv_keylist_release(&kl);
	/* a planted slot is one error */
	plant(f, 3, 64ull << 20, planted);
	assert_int_equal(mv_check_keys(r, &ev, &kc, &err), 0);
	assert_int_equal(kc.errors, 1);
	assert_int_equal(warnings, 1);
	mv_repo_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unlock__slot_beyond_caps_skipped_not_run, setup,
	                                    tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_unlock__cheapest_first_within_budget, setup,
	                                    tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_unlock__keylist_written_and_checked, setup,
	                                    tu_teardown_repo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
