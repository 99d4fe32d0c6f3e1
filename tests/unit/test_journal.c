/* The wipe journal (core/wipe/journal.c): what begins and never ends is
 * pending for the next run; the records are sealed; damage is named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/repo/crypto.h"
#include "core/wipe/journal.h"
#include "testutil.h"

struct fix {
	char dir[256], path[300];
	struct mv_keys *k;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	uint8_t master[32];
	assert_int_equal(mv_crypto_init(), 0);
	memset(master, 7, sizeof(master));
	tu_tmpdir(f->dir, sizeof(f->dir), "journal");
	snprintf(f->path, sizeof(f->path), "%s/state/medvault/wipe.journal", f->dir);
	f->k = mv_keys_derive(master);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	tu_rm_rf(f->dir);
	mv_keys_free(f->k);
	free(f);
	return 0;
}

static struct mv_journal_entry entry(uint64_t ino, char *path)
{
	struct mv_journal_entry e = {
	    .dev = 1, .ino = ino, .size = 100 + ino, .time = 1700000000, .path = path};
	memset(e.content, (int)ino, 32);
	return e;
}

static void test_journal__pending_is_begun_and_not_ended(void **state)
{
	struct fix *f = *state;
	struct mv_error err = {0};
	struct mv_journal *j;
	size_t n;
	char a[] = "/old/DUPONT^JEAN/1.dcm", b[] = "/old/DUPONT^JEAN/2.dcm";

	assert_int_equal(mv_journal_open(f->path, f->k, &j, &err), 0);
	assert_null(mv_journal_pending(j, &n));
	assert_int_equal(n, 0);
	struct mv_journal_entry ea = entry(10, a), eb = entry(11, b);
	assert_int_equal(mv_journal_append(j, MV_JOURNAL_BEGINS, &ea, &err), 0);
	assert_int_equal(mv_journal_append(j, MV_JOURNAL_ENDS, &ea, &err), 0);
	assert_int_equal(mv_journal_append(j, MV_JOURNAL_BEGINS, &eb, &err), 0);
	mv_journal_close(j); /* as if killed here */

	assert_int_equal(mv_journal_open(f->path, f->k, &j, &err), 0);
	const struct mv_journal_entry *p = mv_journal_pending(j, &n);
	assert_int_equal(n, 1);
	assert_string_equal(p[0].path, b);
	assert_int_equal(p[0].ino, 11);
	assert_int_equal(p[0].size, 111);
	assert_memory_equal(p[0].content, eb.content, 32);
	/* patient names never reach the file in clear */
	size_t len;
	uint8_t *raw = tu_read_file(f->path, &len);
	for (size_t i = 0; i + 6 <= len; i++)
		assert_false(memcmp(raw + i, "DUPONT", 6) == 0);
	free(raw);
	assert_int_equal(mv_journal_reset(j, &err), 0);
	mv_journal_close(j);
	assert_int_equal(mv_journal_open(f->path, f->k, &j, &err), 0);
	mv_journal_pending(j, &n);
	assert_int_equal(n, 0);
	mv_journal_close(j);
}

static void test_journal__damage_and_torn_tail(void **state)
{
	struct fix *f = *state;
	struct mv_error err = {0};
	struct mv_journal *j;
	size_t n, len;
	char a[] = "/old/a.dcm";
	struct mv_journal_entry ea = entry(3, a);

	assert_int_equal(mv_journal_open(f->path, f->k, &j, &err), 0);
	assert_int_equal(mv_journal_append(j, MV_JOURNAL_BEGINS, &ea, &err), 0);
	mv_journal_close(j);
	uint8_t *raw = tu_read_file(f->path, &len);
	/* a record cut short at the end (a crash while appending) is ignored */
	uint8_t *longer = malloc(len + 10);
	memcpy(longer, raw, len);
	memcpy(longer + len, raw, 10);
	tu_write_file(f->path, longer, len + 10, 0600);
	assert_int_equal(mv_journal_open(f->path, f->k, &j, &err), 0);
	mv_journal_pending(j, &n);
	assert_int_equal(n, 1);
	mv_journal_close(j);
	/* a flipped byte is damage, named */
	raw[len / 2] ^= 1;
	tu_write_file(f->path, raw, len, 0600);
	assert_int_equal(mv_journal_open(f->path, f->k, &j, &err), MV_ERR_INTEGRITY);
	assert_non_null(strstr(err.msg, "damaged"));
	/* another repository's key does not open it either */
	raw[len / 2] ^= 1;
	tu_write_file(f->path, raw, len, 0600);
	uint8_t other[32];
	memset(other, 8, sizeof(other));
	struct mv_keys *k2 = mv_keys_derive(other);
	assert_int_equal(mv_journal_open(f->path, k2, &j, &err), MV_ERR_INTEGRITY);
	mv_keys_free(k2);
	free(raw);
	free(longer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_journal__pending_is_begun_and_not_ended, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_journal__damage_and_torn_tail, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
