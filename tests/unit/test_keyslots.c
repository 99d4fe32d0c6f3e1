/* Key slots as a service (core/repo/keyslots.c): a password slot added
 * opens the repository and is listed with its label; removed, it no longer
 * opens; the key list and check agree with keys/ at every step. */
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
#include "core/repo/keyslots.h"
#include "tests/unit/testutil.h"

#define PASSWORD TU_PASSWORD
#define SECOND   "Second-Staple-Lantern-42"

static int setup(void **state)
{
	assert_int_equal(mv_crypto_init(), 0);
	return tu_setup_repo(state);
}

/* Opens the repository with secret: the result of mv_repo_unlock; *out is
 * the handle (close it). */
static int open_with(const struct tu_fixture *f, const char *secret, struct mv_repo **out)
{
	struct mv_error err = {0};
	assert_int_equal(mv_repo_open(f->d.repo, out, &err), 0);
	return mv_repo_unlock(*out, (const uint8_t *)secret, strlen(secret), &err);
}

/* keys/ as listed, and what the key list and check say of it: every slot
 * listed, none missing, no error. Returns the number of slots. */
static size_t agree(struct mv_repo *r)
{
	struct mv_keyslot_info *s = NULL;
	struct mv_keylist kl = {0};
	struct mv_keycheck kc;
	struct mv_error err = {0};
	size_t n = 0;

	assert_int_equal(mv_keyslots_list(r, &s, &n, &err), 0);
	assert_int_equal(mv_keylist_load(r, &kl, NULL, NULL, &err), 1);
	assert_int_equal(kl.n, n);
	for (size_t i = 0; i < n; i++) {
		uint8_t id[32];
		assert_true(s[i].intact);
		assert_true(s[i].listed);
		assert_true(s[i].kind > 0);
		assert_string_equal(s[i].msg, "");
		assert_int_equal(mv_unhex(s[i].name, id, 32), 0);
		assert_non_null(mv_keylist_find(&kl, id));
		if (i)
			assert_true(strcmp(s[i - 1].name, s[i].name) < 0);
	}
	mv_keylist_release(&kl);
	free(s);
	assert_int_equal(mv_check_keys(r, NULL, &kc, &err), 0);
	assert_int_equal(kc.errors, 0);
	assert_int_equal(kc.slots, n);
	assert_int_equal(kc.list, 1);
	return n;
}

/* The entry of name in the listing (copied into *out): 1 when there. */
static int find_slot(struct mv_repo *r, const char *name, struct mv_keyslot_info *out)
{
	struct mv_keyslot_info *s = NULL;
	struct mv_error err = {0};
	size_t n = 0;
	int found = 0;
	assert_int_equal(mv_keyslots_list(r, &s, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s[i].name, name)) {
			*out = s[i];
			found = 1;
		}
	free(s);
	return found;
}

static void test_keyslots__add_open_remove(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_repo *r = NULL, *r2 = NULL;
	struct mv_error err = {0};
	struct mv_unlock_info ui;
	struct mv_keyslot_info si;
	char name[65], first[65];

	assert_int_equal(open_with(f, PASSWORD, &r), 0);
	assert_int_equal(agree(r), 2); /* the password and the recovery slot */
	mv_repo_unlock_info(r, &ui);
	snprintf(first, sizeof(first), "%s", ui.slot_name);
	assert_int_equal(find_slot(r, first, &si), 1);
	assert_true(si.opened);
	assert_int_equal(si.kind, MV_SLOT_PASSWORD);
	assert_string_equal(si.label, "password");
	assert_int_equal(si.work, 3 * 64); /* the minimum: t=3, 64 MiB */

	/* add: the new slot is listed with its label and opens */
	assert_int_equal(mv_keyslots_add_password(r, (const uint8_t *)SECOND, strlen(SECOND), NULL,
	                                          "radiology desk", name, &err),
	                 0);
	assert_int_equal(strlen(name), 64);
	assert_int_equal(agree(r), 3);
	assert_int_equal(find_slot(r, name, &si), 1);
	assert_int_equal(si.kind, MV_SLOT_PASSWORD);
	assert_string_equal(si.label, "radiology desk");
	assert_false(si.opened);
	assert_int_equal(open_with(f, SECOND, &r2), 0);
	mv_repo_unlock_info(r2, &ui);
	assert_string_equal(ui.slot_name, name);
	assert_int_equal(ui.slot_kind, MV_SLOT_PASSWORD);
	/* the slot that opened a handle cannot be removed through it */
	assert_int_equal(mv_keyslots_remove(r2, name, 0, &err), MV_ERR_USAGE);
	assert_int_equal(agree(r2), 3);
	mv_repo_close(r2);

	/* remove: gone from keys/ and the list, and it no longer opens */
	assert_int_equal(mv_keyslots_remove(r, name, 0, &err), 0);
	assert_int_equal(agree(r), 2);
	assert_int_equal(find_slot(r, name, &si), 0);
	assert_int_equal(open_with(f, SECOND, &r2), MV_ERR_PASSWORD);
	mv_repo_close(r2);
	assert_int_equal(mv_keyslots_remove(r, name, 0, &err), MV_ERR_NOTFOUND);
	assert_int_equal(mv_keyslots_remove(r, "not-a-slot", 0, &err), MV_ERR_USAGE);
	mv_repo_close(r);

	/* the first password and the recovery key still open */
	assert_int_equal(open_with(f, PASSWORD, &r), 0);
	mv_repo_close(r);
	assert_int_equal(open_with(f, f->recovery, &r), 0);
	mv_repo_unlock_info(r, &ui);
	assert_int_equal(ui.slot_kind, MV_SLOT_RECOVERY);
	/* opened with the recovery key, the first password's slot may go */
	assert_int_equal(mv_keyslots_remove(r, first, 0, &err), 0);
	assert_int_equal(agree(r), 1);
	mv_repo_close(r);
	assert_int_equal(open_with(f, PASSWORD, &r), MV_ERR_PASSWORD);
	mv_repo_close(r);
}

static void test_keyslots__add_refused_leaves_nothing(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_repo *r = NULL;
	struct mv_error err = {0};
	char name[65], label[MV_KEYLIST_LABEL_MAX + 2];

	/* not unlocked */
	struct mv_error e2 = {0};
	assert_int_equal(mv_repo_open(f->d.repo, &r, &e2), 0);
	assert_int_equal(mv_keyslots_add_password(r, (const uint8_t *)SECOND, strlen(SECOND), NULL,
	                                          NULL, name, &err),
	                 MV_ERR_USAGE);
	mv_repo_close(r);
	/* a label the key list refuses: no slot is left behind */
	assert_int_equal(open_with(f, PASSWORD, &r), 0);
	memset(label, 'x', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	assert_int_equal(mv_keyslots_add_password(r, (const uint8_t *)SECOND, strlen(SECOND), NULL,
	                                          label, name, &err),
	                 MV_ERR_USAGE);
	assert_string_equal(name, "");
	assert_int_equal(agree(r), 2);
	mv_repo_close(r);
	assert_int_equal(open_with(f, SECOND, &r), MV_ERR_PASSWORD);
	mv_repo_close(r);
}

/* A machine slot opens with its 32-byte key only, through
 * mv_repo_unlock_machine; the list records its origin; --force removes the
 * slot in use; an interrupted add or remove is settled. */
static void test_keyslots__machine_origin_force_settle(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_repo *r = NULL, *r2 = NULL;
	struct mv_keyslot_info si;
	struct mv_unlock_info ui;
	struct mv_error err = {0};
	uint8_t key[MV_KEY_LEN], wrong[MV_KEY_LEN];
	char name[65];

	randombytes_buf(key, sizeof(key));
	memcpy(wrong, key, sizeof(key));
	wrong[0] ^= 1;
	assert_int_equal(open_with(f, PASSWORD, &r), 0);
	struct mv_keyslot_origin o = {1765000000, "pacs-01", "backup"};
	struct mv_keyslot_new nk = {MV_SLOT_MACHINE, key, sizeof(key), NULL, "nightly", &o};
	assert_int_equal(mv_keyslots_add(r, &nk, name, &err), 0);
	assert_int_equal(agree(r), 3);
	assert_int_equal(find_slot(r, name, &si), 1);
	assert_int_equal(si.kind, MV_SLOT_MACHINE);
	assert_int_equal(si.created, 1765000000);
	assert_string_equal(si.host, "pacs-01");
	assert_string_equal(si.user, "backup");
	assert_int_equal(si.state, MV_KEYLIST_ACTIVE);

	/* the key opens; a flipped bit does not; nor does the key as a password */
	assert_int_equal(mv_repo_open(f->d.repo, &r2, &err), 0);
	assert_int_equal(mv_repo_unlock_machine(r2, wrong, &err), MV_ERR_PASSWORD);
	assert_int_equal(mv_repo_unlock_machine(r2, key, &err), 0);
	mv_repo_unlock_info(r2, &ui);
	assert_int_equal(ui.slot_kind, MV_SLOT_MACHINE);
	assert_string_equal(ui.slot_name, name);
	/* the slot in use goes only with MV_KEYSLOTS_FORCE */
	assert_int_equal(mv_keyslots_remove(r2, name, 0, &err), MV_ERR_USAGE);
	assert_int_equal(mv_keyslots_remove(r2, name, MV_KEYSLOTS_FORCE, &err), 0);
	mv_repo_close(r2);
	assert_int_equal(agree(r), 2);
	assert_int_equal(mv_repo_open(f->d.repo, &r2, &err), 0);
	assert_int_equal(mv_repo_unlock_machine(r2, key, &err), MV_ERR_PASSWORD);
	mv_repo_close(r2);

	/* an add interrupted after its slot: the list says "adding", check
	 * counts it as pending (no error), settle makes it active */
	struct mv_keylist kl = {0};
	assert_int_equal(mv_keyslots_add(r, &nk, name, &err), 0);
	assert_int_equal(mv_keylist_load(r, &kl, NULL, NULL, &err), 1);
	uint8_t id[32];
	assert_int_equal(mv_unhex(name, id, 32), 0);
	mv_keylist_find_mut(&kl, id)->state = MV_KEYLIST_ADDING;
	assert_int_equal(mv_keylist_save(r, &kl, &err), 0);
	struct mv_keycheck kc;
	assert_int_equal(mv_check_keys(r, NULL, &kc, &err), 0);
	assert_int_equal(kc.errors, 0);
	assert_int_equal(kc.pending, 1);
	assert_int_equal(mv_keyslots_settle(r, &err), 0);
	assert_int_equal(find_slot(r, name, &si), 1);
	assert_int_equal(si.state, MV_KEYLIST_ACTIVE);
	/* a remove interrupted before the file went: settle finishes it */
	mv_keylist_release(&kl);
	assert_int_equal(mv_keylist_load(r, &kl, NULL, NULL, &err), 1);
	mv_keylist_find_mut(&kl, id)->state = MV_KEYLIST_REMOVING;
	assert_int_equal(mv_keylist_save(r, &kl, &err), 0);
	assert_int_equal(mv_check_keys(r, NULL, &kc, &err), 0);
	assert_int_equal(kc.errors, 0);
	assert_int_equal(kc.pending, 1);
	assert_int_equal(mv_keyslots_settle(r, &err), 0);
	assert_int_equal(find_slot(r, name, &si), 0);
	assert_int_equal(agree(r), 2);
	mv_keylist_release(&kl);
	mv_repo_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_keyslots__machine_origin_force_settle, setup,
	                                    tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_keyslots__add_open_remove, setup,
	                                    tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_keyslots__add_refused_leaves_nothing, setup,
	                                    tu_teardown_repo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
