/* The rollback record (core/repo/rollback.h): made on first use, silent on
 * a normal history, reports a recorded newest snapshot that is gone with
 * nothing as new, and a removed key slot that is back; a record that does
 * not open (damaged, or of another repository) is reported and replaced. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ops/ops.h"
#include "core/repo/rollback.h"
#include "tests/unit/testutil.h"

static void record_path(const struct tu_fixture *f, char path[256])
{
	snprintf(path, 256, "%s/state/medvault/rollback-x", f->d.dir);
}

static void check(struct tu_fixture *f, struct mv_rollback_report *rep)
{
	struct mv_error err = {0};
	char path[256];
	record_path(f, path);
	assert_int_equal(mv_rollback_check(f->r, path, rep, &err), 0);
}

/* A backup of one small file: its snapshot id and time. */
static void backup(struct tu_fixture *f, uint8_t id[32], int64_t *time_ns)
{
	char src[256], file[300];
	struct mv_error err = {0};
	size_t damaged;
	snprintf(src, sizeof(src), "%s/src", f->d.dir);
	mkdir(src, 0755);
	snprintf(file, sizeof(file), "%s/a.txt", src);
	FILE *fp = fopen(file, "w");
	assert_non_null(fp);
	fprintf(fp, "%ld\n", (long)random());
	fclose(fp);
	assert_int_equal(mv_repo_load_index(f->r, 1, &damaged, &err), 0);
	const char *paths[1] = {src};
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1};
	struct mv_backup_result br;
	assert_int_equal(mv_backup(f->r, &bo, NULL, &br, &err), 0);
	memcpy(id, br.snapshot_id, 32);
	*time_ns = br.snapshot_time_ns;
}

static void snapshot_file(const struct tu_fixture *f, const uint8_t id[32], char p[256])
{
	char hex[65];
	mv_hex(id, 32, hex);
	snprintf(p, 256, "%s/snapshots/%s", f->d.repo, hex);
}

static void test_rollback__snapshots(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_rollback_report rep;
	struct mv_error err = {0};
	uint8_t a[32], b[32], c[32];
	int64_t ta, tb, tc;
	char path[256], pa[256], pb[256], pc[256], keep[300];

	record_path(f, path);
	check(f, &rep); /* empty repository: a record of nothing */
	assert_false(rep.had_record || rep.snapshots_back || rep.slots_back);
	backup(f, a, &ta);
	backup(f, b, &tb);
	check(f, &rep); /* the first snapshot is recorded, then b (newer) */
	assert_true(rep.had_record);
	assert_false(rep.snapshots_back);
	check(f, &rep);
	assert_memory_equal(rep.recorded_id, b, 32);

	/* an old snapshot forgotten: silent */
	snapshot_file(f, a, pa);
	assert_int_equal(unlink(pa), 0);
	check(f, &rep);
	assert_false(rep.snapshots_back);

	/* c saved and noted, then gone with nothing as new: rolled back */
	backup(f, c, &tc);
	assert_int_equal(mv_rollback_note(f->r, path, tc, c, &err), 0);
	snapshot_file(f, c, pc);
	snprintf(keep, sizeof(keep), "%s/c", f->d.dir);
	assert_int_equal(rename(pc, keep), 0);
	check(f, &rep);
	assert_true(rep.snapshots_back);
	assert_memory_equal(rep.recorded_id, c, 32);
	assert_true(rep.have_newest);
	assert_memory_equal(rep.newest_id, b, 32);
	check(f, &rep); /* the record does not move back: said again */
	assert_true(rep.snapshots_back);
	/* an older snapshot noted does not move it back either */
	assert_int_equal(mv_rollback_note(f->r, path, tb, b, &err), 0);
	check(f, &rep);
	assert_true(rep.snapshots_back);

	/* every snapshot gone: rolled back too */
	snapshot_file(f, b, pb);
	assert_int_equal(unlink(pb), 0);
	check(f, &rep);
	assert_true(rep.snapshots_back);
	assert_false(rep.have_newest);

	/* c back: fine again */
	assert_int_equal(rename(keep, pc), 0);
	check(f, &rep);
	assert_false(rep.snapshots_back);
}

static void test_rollback__key_slots(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_rollback_report rep;
	char keys[256], name[256] = "", from[600], to[600];

	check(f, &rep);
	snprintf(keys, sizeof(keys), "%s/keys", f->d.repo);
	DIR *d = opendir(keys);
	assert_non_null(d);
	struct dirent *de;
	struct mv_unlock_info ui;
	mv_repo_unlock_info(f->r, &ui);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, ui.slot_name) != 0)
			snprintf(name, sizeof(name), "%s", de->d_name);
	closedir(d);
	assert_true(name[0]); /* the recovery slot */
	snprintf(from, sizeof(from), "%s/%s", keys, name);
	snprintf(to, sizeof(to), "%s/slot", f->d.dir);
	assert_int_equal(rename(from, to), 0);
	check(f, &rep); /* removed: silent */
	assert_int_equal(rep.slots_back, 0);
	assert_int_equal(rename(to, from), 0);
	check(f, &rep); /* back: a rollback, until removed again */
	assert_int_equal(rep.slots_back, 1);
	assert_string_equal(rep.first_slot, name);
	check(f, &rep);
	assert_int_equal(rep.slots_back, 1);
	assert_int_equal(rename(from, to), 0);
	check(f, &rep);
	assert_int_equal(rep.slots_back, 0);
	assert_int_equal(rename(to, from), 0);
}

static void test_rollback__damaged_record_replaced(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_rollback_report rep;
	char path[256];
	uint8_t a[32];
	int64_t ta;

	backup(f, a, &ta);
	check(f, &rep);
	record_path(f, path);
	FILE *fp = fopen(path, "r+");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 30, SEEK_SET), 0);
	assert_int_equal(fputc('x', fp) == EOF, 0);
	fclose(fp);
	check(f, &rep);
	assert_true(rep.damaged);
	assert_false(rep.had_record);
	check(f, &rep);
	assert_false(rep.damaged);
	assert_true(rep.had_record);
	assert_memory_equal(rep.recorded_id, a, 32);

	/* a record of another repository (another key and id) does not open */
	struct tu_repo_dir other;
	tu_repo_dir_make(&other, "mvrb", NULL);
	struct mv_repo *r2 = tu_repo_open(other.repo);
	struct mv_error err = {0};
	assert_int_equal(mv_rollback_check(r2, path, &rep, &err), 0);
	assert_true(rep.damaged);
	mv_repo_close(r2);
	tu_rm_rf(other.dir);
	check(f, &rep);
	assert_true(rep.damaged);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rollback__snapshots, tu_setup_repo_open,
	                                    tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_rollback__key_slots, tu_setup_repo_open,
	                                    tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_rollback__damaged_record_replaced,
	                                    tu_setup_repo_open, tu_teardown_repo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
