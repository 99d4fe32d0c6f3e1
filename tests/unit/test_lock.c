/* Locks (core/repo/lock.c): a lock whose file can no longer be rewritten is
 * marked lost after the loss delay, and a backup then stops before writing
 * its snapshot; a lock that refreshes stays held and moves to a new file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/repo/lock.h"
#include "core/ops/ops.h"
#include "core/repo/crypto.h"
#include "formats/buf.h"
#include "formats/snapshot.h"
#include <sys/wait.h>
#include <time.h>
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

static void unlink_lock(const struct tu_fixture *f, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/locks/%s", f->d.repo, name);
	assert_int_equal(unlink(p), 0);
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
	time_t t0 = time(NULL);
	assert_int_equal(mv_lock_acquire(f->r, 0, &l, &err), 0);
	/* lost 6 s after the time acquiring took: the age counts from before
	 * the write, and acquiring took over 12 s under ThreadSanitizer on a
	 * loaded machine */
	int lost = (int)(time(NULL) - t0) + 6;
	mv_lock_set_timing(l, 3600, lost);
	assert_int_equal(mv_lock_check(l, &err), 0);
	sleep((unsigned)lost + 1);
	assert_int_equal(mv_lock_check(l, &err), MV_ERR_LOCKED);
	mv_lock_release(l);
}

/* ---- stale, foreign and damaged locks --------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A lock as a holder described by l would write it; its name in name. */
static void plant_lock(struct tu_fixture *f, const struct mv_lock_info *l, char name[65])
{
	struct mv_wbuf w;
	struct mv_error err = {0};
	uint8_t id[32];
	mv_wbuf_init(&w, 4096);
	mv_lock_encode(l, &w);
	assert_false(w.failed);
	assert_int_equal(mv_repo_save_object(f->r, MV_FT_LOCK, MV_T_LOCK, w.data, w.len, id, &err),
	                 0);
	mv_wbuf_release(&w);
	mv_hex(id, 32, name);
}

static int lock_exists(const struct tu_fixture *f, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/locks/%s", f->d.repo, name);
	return access(p, F_OK) == 0;
}

static void boot_id(uint8_t id[16])
{
	char t[64];
	FILE *fp = fopen("/proc/sys/kernel/random/boot_id", "r");
	assert_non_null(fp);
	assert_non_null(fgets(t, sizeof(t), fp));
	fclose(fp);
	size_t n = 0;
	for (const char *c = t; *c && n < 32; c++) {
		unsigned v;
		if (*c == '-' || sscanf((char[]){*c, 0}, "%1x", &v) != 1)
			continue;
		id[n / 2] = (uint8_t)(n % 2 ? id[n / 2] | v : v << 4);
		n++;
	}
	assert_int_equal(n, 32);
}

/* An exclusive lock of this host by a live process (our parent), current. */
static void live_here(struct mv_lock_info *l)
{
	memset(l, 0, sizeof(*l));
	l->time_ns = now_ns();
	l->pid = (uint32_t)getppid();
	l->exclusive = 1;
	assert_int_equal(gethostname(l->host, sizeof(l->host) - 1), 0);
	boot_id(l->boot_id);
}

static uint32_t dead_pid(void)
{
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0)
		_exit(0);
	assert_int_equal(waitpid(p, NULL, 0), p);
	return (uint32_t)p;
}

/* Which locks of this host are stale and removed by the next acquirer. */
static void test_lock__stale_locks_of_this_host_are_removed(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_lock_info l;
	struct mv_lock *got;
	struct mv_error err = {0};
	char dead[65], reboot[65], reused[65], old[65], live[65], v1[65];

	live_here(&l);
	l.pid = dead_pid();
	plant_lock(f, &l, dead);
	live_here(&l);
	l.boot_id[0] ^= 1; /* a boot before this one; the pid runs (our parent) */
	plant_lock(f, &l, reboot);
	live_here(&l);
	l.pid = (uint32_t)getpid();
	l.start_ticks = 1; /* our pid, but not our start time */
	plant_lock(f, &l, reused);
	live_here(&l);
	l.time_ns -= (int64_t)(MV_LOCK_STALE_SECONDS + 60) * 1000000000LL;
	plant_lock(f, &l, old);
	assert_int_equal(mv_lock_acquire(f->r, 1, &got, &err), 0);
	mv_lock_release(got);
	assert_false(lock_exists(f, dead));
	assert_false(lock_exists(f, reboot));
	assert_false(lock_exists(f, reused));
	assert_false(lock_exists(f, old));

	/* a live holder on this host blocks; a version 1 lock (no boot id)
	 * too: old lock files still read */
	live_here(&l);
	plant_lock(f, &l, live);
	assert_int_equal(mv_lock_acquire(f->r, 0, &got, &err), MV_ERR_LOCKED);
	assert_non_null(strstr(err.msg, "exclusively"));
	unlink_lock(f, live);
	live_here(&l);
	memset(l.boot_id, 0, sizeof(l.boot_id));
	plant_lock(f, &l, v1);
	assert_int_equal(mv_lock_acquire(f->r, 0, &got, &err), MV_ERR_LOCKED);
	assert_true(lock_exists(f, v1));
	unlink_lock(f, v1);
	assert_int_equal(mv_lock_acquire(f->r, 0, &got, &err), 0);
	mv_lock_release(got);
}

/* Locks of another host: a current one blocks and stays, an old one is
 * passed over and only unlock (mv_lock_remove_stale) removes it. */
static void test_lock__other_hosts(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_lock_info l;
	struct mv_lock *got;
	struct mv_lock_cleanup c;
	struct mv_error err = {0};
	char young[65], old[65];

	live_here(&l);
	snprintf(l.host, sizeof(l.host), "not-%s", "this-host-at-all");
	l.pid = dead_pid(); /* its pid means nothing here */
	memset(l.boot_id, 7, sizeof(l.boot_id));
	plant_lock(f, &l, young);
	assert_int_equal(mv_lock_acquire(f->r, 0, &got, &err), MV_ERR_LOCKED);
	assert_non_null(strstr(err.msg, "not-this-host-at-all"));
	assert_true(lock_exists(f, young));
	unlink_lock(f, young);
	l.time_ns -= (int64_t)(MV_LOCK_STALE_SECONDS + 60) * 1000000000LL;
	plant_lock(f, &l, old);
	assert_int_equal(mv_lock_acquire(f->r, 1, &got, &err), 0);
	mv_lock_release(got);
	assert_true(lock_exists(f, old));
	assert_int_equal(mv_lock_remove_stale(f->r, &c, &err), 0);
	assert_int_equal(c.removed, 1);
	assert_int_equal(c.damaged, 0);
	assert_false(lock_exists(f, old));
}

/* A lock file that does not authenticate: a conflict of unknown holder for
 * shared and exclusive lockers alike; never removed, named by unlock. */
static void test_lock__damaged_lock_blocks_and_stays(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_lock_info l;
	struct mv_lock *got;
	struct mv_lock_cleanup c;
	struct mv_error err = {0};
	char name[65], p[512];

	live_here(&l);
	l.pid = dead_pid(); /* stale, were it readable */
	plant_lock(f, &l, name);
	snprintf(p, sizeof(p), "%s/locks/%s", f->d.repo, name);
	FILE *fp = fopen(p, "r+");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 40, SEEK_SET), 0);
	assert_int_equal(fputc('x', fp) == EOF, 0);
	fclose(fp);
	assert_int_equal(mv_lock_acquire(f->r, 0, &got, &err), MV_ERR_LOCKED);
	assert_non_null(strstr(err.msg, "damaged"));
	assert_non_null(strstr(err.msg, name));
	assert_int_equal(mv_lock_acquire_reader(f->r, 0, &got, &err), MV_ERR_LOCKED);
	assert_int_equal(mv_lock_remove_stale(f->r, &c, &err), 0);
	assert_int_equal(c.removed, 0);
	assert_int_equal(c.damaged, 1);
	assert_string_equal(c.damaged_name, name);
	assert_true(lock_exists(f, name));
	unlink_lock(f, name);
	assert_int_equal(mv_lock_acquire(f->r, 0, &got, &err), 0);
	mv_lock_release(got);
}

struct remover {
	struct tu_fixture *f;
	char name[65];
};

static void *remove_later(void *arg)
{
	struct remover *rm = arg;
	usleep(1500 * 1000);
	unlink_lock(rm->f, rm->name);
	return NULL;
}

/* mv_lock_set_retry: waits for a conflicting lock to go, up to its time. */
static void test_lock__retry_waits(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_lock_info l;
	struct mv_lock *got;
	struct mv_error err = {0};
	struct remover rm = {.f = f};
	pthread_t th;

	live_here(&l);
	plant_lock(f, &l, rm.name);
	mv_lock_set_retry(f->r, 1200000000LL, NULL, NULL, NULL);
	int64_t t0 = now_ns();
	assert_int_equal(mv_lock_acquire(f->r, 0, &got, &err), MV_ERR_LOCKED);
	assert_true(now_ns() - t0 >= 1200000000LL);
	mv_lock_set_retry(f->r, 20000000000LL, NULL, NULL, NULL);
	assert_int_equal(pthread_create(&th, NULL, remove_later, &rm), 0);
	t0 = now_ns();
	assert_int_equal(mv_lock_acquire(f->r, 1, &got, &err), 0);
	assert_true(now_ns() - t0 >= 1400000000LL);
	assert_true(now_ns() - t0 < 10000000000LL);
	pthread_join(th, NULL);
	mv_lock_release(got);

	/* a cancellation ends the wait */
	volatile sig_atomic_t cancel = 1;
	plant_lock(f, &l, rm.name);
	mv_lock_set_retry(f->r, 20000000000LL, &cancel, NULL, NULL);
	assert_int_equal(mv_lock_acquire(f->r, 0, &got, &err), MV_ERR_INTERRUPTED);
	unlink_lock(f, rm.name);
	mv_lock_set_retry(f->r, 0, NULL, NULL, NULL);
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
	    cmocka_unit_test_setup_teardown(test_lock__stale_locks_of_this_host_are_removed, setup,
	                                    tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_lock__other_hosts, setup, tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_lock__damaged_lock_blocks_and_stays, setup,
	                                    tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_lock__retry_waits, setup, tu_teardown_repo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
