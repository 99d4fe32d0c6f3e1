/* Locks (core/repo/lock.c): a lock whose file can no longer be rewritten is
 * marked lost after the loss delay, and a backup then stops before writing
 * its snapshot; a lock that refreshes stays held and moves to a new file. */
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

#include "core/repo/lock.h"
#include "core/ops/ops.h"
#include "tests/unit/testutil.h"

static int setup(void **state)
{
	struct mv_error err = {0};
	size_t damaged;
	tu_setup_repo_open(state);
	struct tu_fixture *f = *state;
	assert_int_equal(mv_repo_load_index(f->r, 1, &damaged, &err), 0);
	return 0;
}

/* The names in REPO/locks (there is one lock file per holder). */
static int lock_files(const struct tu_fixture *f, char name[256])
{
	char p[256];
	int n = 0;
	snprintf(p, sizeof(p), "%s/locks", f->d.repo);
	DIR *d = opendir(p);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(name, 256, "%s", de->d_name);
			n++;
		}
	closedir(d);
	return n;
}

static void test_lock__refresh_rewrites_the_file(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_lock *l;
	struct mv_error err = {0};
	char first[256], now[256];
	assert_int_equal(mv_lock_acquire(f->r, 0, &l, &err), 0);
	assert_ptr_equal(mv_repo_lock(f->r), l);
	assert_int_equal(lock_files(f, first), 1);
	mv_lock_set_timing(l, 1, 3);
	sleep(4);
	assert_int_equal(lock_files(f, now), 1);
	assert_string_not_equal(first, now); /* a new file, the old one removed */
	assert_int_equal(mv_lock_check(l, &err), 0);
	mv_lock_release(l);
	assert_null(mv_repo_lock(f->r));
	assert_int_equal(lock_files(f, now), 0);
}

static void test_lock__lost_when_it_cannot_be_refreshed(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_lock *l;
	struct mv_error err = {0};
	char p[256], q[256], cmd[600];
	assert_int_equal(mv_lock_acquire(f->r, 0, &l, &err), 0);
	/* locks/ replaced by a plain file: every rewrite fails (also as root) */
	snprintf(p, sizeof(p), "%s/locks", f->d.repo);
	snprintf(q, sizeof(q), "%s/locks.away", f->d.repo);
	assert_int_equal(rename(p, q), 0);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fclose(fp);
	mv_lock_set_timing(l, 1, 2);
	assert_int_equal(mv_lock_check(l, &err), 0); /* not yet */
	sleep(5);
	assert_int_equal(mv_lock_check(l, &err), MV_ERR_LOCKED);
	assert_non_null(strstr(err.msg, "could not be refreshed"));

	/* a backup holding a lost lock writes no snapshot */
	char src[256], file[300];
	snprintf(src, sizeof(src), "%s/src", f->d.dir);
	assert_int_equal(mkdir(src, 0755), 0);
	snprintf(file, sizeof(file), "%s/a.txt", src);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fputs("hello\n", fp);
	fclose(fp);
	const char *paths[1] = {src};
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1};
	struct mv_backup_result br;
	memset(&err, 0, sizeof(err));
	assert_int_equal(mv_backup(f->r, &bo, NULL, &br, &err), MV_ERR_LOCKED);
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s/snapshots')\"", f->d.repo);
	assert_int_equal(system(cmd), 0);

	unlink(p);
	assert_int_equal(rename(q, p), 0);
	mv_lock_release(l);
}

/* A refresher that does not get to write (stuck in a slow write, here
 * simply not due for an hour) does not keep the lock looking held. */
static void test_lock__lost_when_refresher_is_stuck(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_lock *l;
	struct mv_error err = {0};
	assert_int_equal(mv_lock_acquire(f->r, 0, &l, &err), 0);
	/* lost after 12 s: acquiring took over 5 s on a loaded machine under
	 * the sanitizers, and the age counts from before the write */
	mv_lock_set_timing(l, 3600, 12);
	assert_int_equal(mv_lock_check(l, &err), 0);
	sleep(13);
	assert_int_equal(mv_lock_check(l, &err), MV_ERR_LOCKED);
	mv_lock_release(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lock__refresh_rewrites_the_file, setup,
	                                    tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_lock__lost_when_it_cannot_be_refreshed, setup,
	                                    tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_lock__lost_when_refresher_is_stuck, setup,
	                                    tu_teardown_repo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
