/* The retention policy of forget (core/ops/forget.c), on snapshots with
 * forged times: a table of cases in the manner of restic's policy tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ops/backup.h"
#include "core/ops/forget.h"
#include "core/repo/lock.h"
#include "testutil.h"

#define MAXS 32
#define NOW  INT64_MAX /* no snapshot is in the future */

/* A forged snapshot: local time "YYYY-MM-DD HH:MM:SS" (in the TZ set by
 * the case), host, paths and tags "a,b" ("" for none). */
struct fake {
	const char *time, *host, *paths, *tags;
};

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int64_t local_ns(const char *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	assert_int_equal(sscanf(t, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
	                 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	time_t s = mktime(&tm);
	assert_true(s != (time_t)-1);
	return (int64_t)s * 1000000000LL;
}

static char **split_list(const char *s, uint32_t *n)
{
	char **out = calloc(16, sizeof(char *));
	assert_non_null(out);
	*n = 0;
	while (*s) {
		size_t len = strcspn(s, ",");
		out[*n] = strndup(s, len);
		assert_non_null(out[*n]);
		++*n;
		s += len + (s[len] == ',');
	}
	return out;
}

static void build(const struct fake *f, size_t n, struct mv_snapshot *s)
{
	for (size_t i = 0; i < n; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].id[0] = (uint8_t)i; /* ids in input order: ties break by it */
		s[i].time_ns = local_ns(f[i].time);
		s[i].host = strdup(f[i].host ? f[i].host : "pc");
		s[i].paths = split_list(f[i].paths ? f[i].paths : "/srv/imaging", &s[i].npaths);
		s[i].tags = split_list(f[i].tags ? f[i].tags : "", &s[i].ntags);
	}
}

/* Runs the policy; want: one character per snapshot, 'k' kept, '-' removed.
 * Returns the plan for more checks (the caller releases it). */
static void decide(const struct mv_snapshot *s, size_t n, const struct mv_forget_policy *p,
                   unsigned by, int64_t now, const char *want, struct mv_forget_plan *plan)
{
	struct mv_error err = {0};
	char got[MAXS + 1];

	assert_true(n <= MAXS);
	assert_int_equal(mv_forget_select(s, n, p, by, now, plan, &err), 0);
	assert_int_equal(plan->n, n);
	memset(got, '?', n);
	got[n] = '\0';
	for (size_t i = 0; i < n; i++)
		got[plan->d[i].snap] = plan->d[i].keep ? 'k' : '-';
	assert_string_equal(got, want);
	assert_int_equal(plan->nkeep + plan->nremove, n);
}

static void expect(const struct fake *f, size_t n, const struct mv_forget_policy *p, unsigned by,
                   int64_t now, const char *want, struct mv_forget_plan *plan,
                   struct mv_snapshot *s)
{
	assert_true(n <= MAXS);
	build(f, n, s);
	decide(s, n, p, by, now, want, plan);
}

static void check(const struct fake *f, size_t n, const struct mv_forget_policy *p, unsigned by,
                  const char *want)
{
	struct mv_snapshot s[MAXS];
	struct mv_forget_plan plan;
	expect(f, n, p, by, NOW, want, &plan, s);
	mv_forget_plan_release(&plan);
	for (size_t i = 0; i < n; i++)
		mv_snapshot_release(&s[i]);
}

/* The reasons text of the snapshot at input index i. */
static void reasons_of(const struct fake *f, size_t n, const struct mv_forget_policy *p, size_t i,
                       char *buf, size_t cap)
{
	struct mv_snapshot s[MAXS];
	struct mv_forget_plan plan;
	struct mv_error err = {0};

	build(f, n, s);
	assert_int_equal(mv_forget_select(s, n, p, MV_FORGET_BY_HOST, NOW, &plan, &err), 0);
	for (size_t k = 0; k < n; k++)
		if (plan.d[k].snap == i)
			mv_forget_reasons_str(p, &plan.d[k], buf, cap);
	mv_forget_plan_release(&plan);
	for (size_t k = 0; k < n; k++)
		mv_snapshot_release(&s[k]);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define BY   (MV_FORGET_BY_HOST | MV_FORGET_BY_PATHS)

/* Ten days, two snapshots on some; input oldest first. */
static const struct fake days[] = {
    {"2014-08-08 10:20:30", 0, 0, 0}, {"2014-08-10 10:20:30", 0, 0, 0},
    {"2014-08-10 22:00:00", 0, 0, 0}, {"2014-08-11 10:20:30", 0, 0, 0},
    {"2014-08-12 10:20:30", 0, 0, 0}, {"2014-08-12 11:20:30", 0, 0, 0},
    {"2014-08-13 10:20:30", 0, 0, 0}, {"2014-08-14 10:20:30", 0, 0, 0},
    {"2014-08-15 10:20:30", 0, 0, 0}, {"2014-08-15 10:25:00", 0, 0, 0},
};

static void test_forget__keep_last(void **state)
{
	(void)state;
	set_tz("UTC");
	struct mv_forget_policy p = {.keep = {[MV_FORGET_LAST] = 3}};
	check(days, N(days), &p, BY, "-------kkk");
	p.keep[MV_FORGET_LAST] = MV_FORGET_ALL;
	check(days, N(days), &p, BY, "kkkkkkkkkk");
	/* more than there are: every one, the oldest too */
	p.keep[MV_FORGET_LAST] = 50;
	check(days, N(days), &p, BY, "kkkkkkkkkk");
}

static void test_forget__keep_daily_newest_of_each_day(void **state)
{
	(void)state;
	set_tz("UTC");
	struct mv_forget_policy p = {.keep = {[MV_FORGET_DAILY] = 4}};
	/* days 15 (10:25), 14, 13, 12 (11:20) */
	check(days, N(days), &p, BY, "-----kkk-k");
	/* counts left at the oldest: the oldest is kept too (restic) */
	p.keep[MV_FORGET_DAILY] = 20;
	check(days, N(days), &p, BY, "k-kk-kkk-k");
	/* one month: its newest, and the oldest because counts are left */
	p = (struct mv_forget_policy){.keep = {[MV_FORGET_MONTHLY] = 5}};
	check(days, N(days), &p, BY, "k--------k");
	p.keep[MV_FORGET_MONTHLY] = 1;
	check(days, N(days), &p, BY, "---------k");
}

static void test_forget__keep_hourly(void **state)
{
	(void)state;
	set_tz("UTC");
	static const struct fake f[] = {
	    {"2014-08-15 08:05:00", 0, 0, 0}, {"2014-08-15 09:05:00", 0, 0, 0},
	    {"2014-08-15 09:55:00", 0, 0, 0}, {"2014-08-15 10:00:00", 0, 0, 0},
	    {"2014-08-15 10:59:59", 0, 0, 0},
	};
	struct mv_forget_policy p = {.keep = {[MV_FORGET_HOURLY] = 2}};
	check(f, N(f), &p, BY, "--k-k");
}

static void test_forget__keep_weekly_iso_weeks(void **state)
{
	(void)state;
	set_tz("UTC");
	/* 2014-12-28 is a Sunday of ISO week 2014-W52; Monday 2014-12-29 and
	 * 2015-01-02 are in 2015-W01 */
	static const struct fake f[] = {
	    {"2014-12-20 10:00:00", 0, 0, 0},
	    {"2014-12-28 10:00:00", 0, 0, 0},
	    {"2014-12-29 10:00:00", 0, 0, 0},
	    {"2015-01-02 10:00:00", 0, 0, 0},
	};
	struct mv_forget_policy p = {.keep = {[MV_FORGET_WEEKLY] = 2}};
	check(f, N(f), &p, BY, "-k-k");
}

static void test_forget__keep_monthly_and_yearly(void **state)
{
	(void)state;
	set_tz("UTC");
	static const struct fake f[] = {
	    {"2012-06-01 10:00:00", 0, 0, 0}, {"2013-01-31 10:00:00", 0, 0, 0},
	    {"2013-12-31 23:59:00", 0, 0, 0}, {"2014-01-01 00:01:00", 0, 0, 0},
	    {"2014-01-20 10:00:00", 0, 0, 0}, {"2014-02-01 10:00:00", 0, 0, 0},
	};
	struct mv_forget_policy p = {.keep = {[MV_FORGET_MONTHLY] = 2}};
	check(f, N(f), &p, BY, "----kk");
	p = (struct mv_forget_policy){.keep = {[MV_FORGET_YEARLY] = 2}};
	check(f, N(f), &p, BY, "--k--k");
	/* both: a snapshot kept by either rule */
	p.keep[MV_FORGET_MONTHLY] = 3;
	check(f, N(f), &p, BY, "--k-kk");
	/* yearly with counts left: the oldest is kept too */
	p = (struct mv_forget_policy){.keep = {[MV_FORGET_YEARLY] = 10}};
	check(f, N(f), &p, BY, "k-k--k");
}

static void test_forget__ties_keep_one(void **state)
{
	(void)state;
	set_tz("UTC");
	/* two snapshots at the same instant: one is the day's newest (the
	 * smaller id first), the other is removed */
	static const struct fake f[] = {
	    {"2014-08-10 10:00:00", 0, 0, 0},
	    {"2014-08-11 10:00:00", 0, 0, 0},
	    {"2014-08-11 10:00:00", 0, 0, 0},
	};
	struct mv_forget_policy p = {.keep = {[MV_FORGET_DAILY] = 1}};
	check(f, N(f), &p, BY, "-k-");
	p.keep[MV_FORGET_LAST] = 2;
	check(f, N(f), &p, BY, "-kk");
}

static void test_forget__time_zone_decides_the_day(void **state)
{
	(void)state;
	/* the same instants: 09 12:00, 10 22:30, 10 23:30, 11 00:30 in UTC */
	static const struct fake f[] = {
	    {"2024-03-09 12:00:00", 0, 0, 0},
	    {"2024-03-10 22:30:00", 0, 0, 0},
	    {"2024-03-10 23:30:00", 0, 0, 0},
	    {"2024-03-11 00:30:00", 0, 0, 0},
	};
	struct mv_forget_policy p = {.keep = {[MV_FORGET_DAILY] = 2}};
	struct mv_snapshot s[MAXS];
	struct mv_forget_plan plan;

	set_tz("UTC");
	check(f, N(f), &p, BY, "--kk");
	/* the same instants seen from Tokyo (UTC+9): 09 21:00, then three on
	 * the 11th; the day's newest and the 9th are kept */
	build(f, N(f), s);
	set_tz("JST-9");
	decide(s, N(f), &p, BY, NOW, "k--k", &plan);
	mv_forget_plan_release(&plan);
	for (size_t i = 0; i < N(f); i++)
		mv_snapshot_release(&s[i]);
	set_tz("UTC");
}

static void test_forget__keep_within_counts_from_newest(void **state)
{
	(void)state;
	set_tz("UTC");
	struct mv_forget_policy p = {0};
	assert_int_equal(mv_forget_duration_parse("2d", &p.within), 0);
	/* newest 2014-08-15 10:25: after 2014-08-13 10:25 (strictly) */
	check(days, N(days), &p, BY, "-------kkk");
	assert_int_equal(mv_forget_duration_parse("1m", &p.within), 0);
	check(days, N(days), &p, BY, "kkkkkkkkkk");
	assert_int_equal(mv_forget_duration_parse("5d3h", &p.within), 0);
	/* after 2014-08-10 07:25 */
	check(days, N(days), &p, BY, "-kkkkkkkkk");
}

static void test_forget__keep_within_daily(void **state)
{
	(void)state;
	set_tz("UTC");
	struct mv_forget_policy p = {0};
	assert_int_equal(mv_forget_duration_parse("3d", &p.within_kind[MV_FORGET_DAILY]), 0);
	/* within 3 days of 08-15 10:25: days 15, 14, 13, 12 (after 10:25) */
	check(days, N(days), &p, BY, "-----kkk-k");
	p.within_kind[MV_FORGET_DAILY] = (struct mv_forget_duration){0};
	assert_int_equal(mv_forget_duration_parse("1y", &p.within_kind[MV_FORGET_MONTHLY]), 0);
	check(days, N(days), &p, BY, "---------k");
}

static void test_forget__future_snapshots_not_the_newest(void **state)
{
	(void)state;
	set_tz("UTC");
	static const struct fake f[] = {
	    {"2014-08-01 10:00:00", 0, 0, 0},
	    {"2014-08-09 10:00:00", 0, 0, 0},
	    {"2014-08-10 10:00:00", 0, 0, 0},
	    {"2030-01-01 10:00:00", 0, 0, 0}, /* a clock set wrong */
	};
	struct mv_forget_policy p = {0};
	struct mv_snapshot s[MAXS];
	struct mv_forget_plan plan;

	assert_int_equal(mv_forget_duration_parse("2d", &p.within), 0);
	/* now = 2014-08-11: the newest is 08-10, not the 2030 one */
	expect(f, N(f), &p, BY, local_ns("2014-08-11 00:00:00"), "-kkk", &plan, s);
	mv_forget_plan_release(&plan);
	for (size_t i = 0; i < N(f); i++)
		mv_snapshot_release(&s[i]);
	/* now later than all: counted from 2030, only that one */
	check(f, N(f), &p, BY, "---k");
}

static void test_forget__keep_tag_lists(void **state)
{
	(void)state;
	set_tz("UTC");
	static const struct fake f[] = {
	    {"2014-08-01 10:00:00", 0, 0, "a"},     {"2014-08-02 10:00:00", 0, 0, "a,b"},
	    {"2014-08-03 10:00:00", 0, 0, "b,c,a"}, {"2014-08-04 10:00:00", 0, 0, "c"},
	    {"2014-08-05 10:00:00", 0, 0, ""},
	};
	const char *t1[] = {"a,b"};
	struct mv_forget_policy p = {.tags = t1, .ntags = 1};
	check(f, N(f), &p, BY, "-kk--");
	const char *t2[] = {"a,b", "c"};
	p = (struct mv_forget_policy){.tags = t2, .ntags = 2};
	check(f, N(f), &p, BY, "-kkk-");
	char why[256];
	reasons_of(f, N(f), &p, 2, why, sizeof(why));
	assert_string_equal(why, "has tags a,b");
	reasons_of(f, N(f), &p, 3, why, sizeof(why));
	assert_string_equal(why, "has tags c");
}

static void test_forget__groups(void **state)
{
	(void)state;
	set_tz("UTC");
	static const struct fake f[] = {
	    {"2014-08-01 10:00:00", "a", "/x", "n"}, {"2014-08-02 10:00:00", "b", "/x", "n"},
	    {"2014-08-03 10:00:00", "a", "/y", "n"}, {"2014-08-04 10:00:00", "a", "/x", "m"},
	    {"2014-08-05 10:00:00", "b", "/x", "n"}, {"2014-08-06 10:00:00", "a", "/y,/x", "n"},
	};
	struct mv_forget_policy p = {.keep = {[MV_FORGET_LAST] = 1}};
	/* host and paths: a /x (0, 3), b /x (1, 4), a /y (2), a /x,/y (5) */
	check(f, N(f), &p, BY, "--kkkk");
	check(f, N(f), &p, MV_FORGET_BY_HOST, "----kk");
	check(f, N(f), &p, MV_FORGET_BY_PATHS, "--k-kk");
	check(f, N(f), &p, MV_FORGET_BY_HOST | MV_FORGET_BY_PATHS | MV_FORGET_BY_TAGS, "k-kkkk");
	check(f, N(f), &p, 0, "-----k");

	struct mv_snapshot s[MAXS];
	struct mv_forget_plan plan;
	expect(f, N(f), &p, BY, NOW, "--kkkk", &plan, s);
	assert_int_equal(plan.ngroups, 4);
	/* decisions are by group, newest first inside each */
	for (size_t i = 1; i < plan.n; i++)
		if (plan.d[i].group == plan.d[i - 1].group)
			assert_true(s[plan.d[i].snap].time_ns <= s[plan.d[i - 1].snap].time_ns);
		else
			assert_int_equal(plan.d[i].group, plan.d[i - 1].group + 1);
	mv_forget_plan_release(&plan);
	for (size_t i = 0; i < N(f); i++)
		mv_snapshot_release(&s[i]);
}

static void test_forget__empty_policy_and_list(void **state)
{
	(void)state;
	set_tz("UTC");
	struct mv_forget_policy p = {0};
	char why[256];
	assert_true(mv_forget_policy_empty(&p));
	check(days, N(days), &p, BY, "kkkkkkkkkk");
	reasons_of(days, N(days), &p, 0, why, sizeof(why));
	assert_string_equal(why, "policy is empty");

	struct mv_forget_plan plan;
	struct mv_error err = {0};
	p.keep[MV_FORGET_DAILY] = 3;
	assert_false(mv_forget_policy_empty(&p));
	assert_int_equal(mv_forget_select(NULL, 0, &p, BY, NOW, &plan, &err), 0);
	assert_int_equal(plan.n, 0);
	assert_int_equal(plan.ngroups, 0);
	mv_forget_plan_release(&plan);
}

static void test_forget__reasons(void **state)
{
	(void)state;
	set_tz("UTC");
	struct mv_forget_policy p = {
	    .keep = {[MV_FORGET_LAST] = 1, [MV_FORGET_DAILY] = 2, [MV_FORGET_MONTHLY] = 1}};
	char why[256];
	assert_int_equal(mv_forget_duration_parse("1d", &p.within), 0);
	assert_int_equal(mv_forget_duration_parse("2d", &p.within_kind[MV_FORGET_DAILY]), 0);
	reasons_of(days, N(days), &p, 9, why, sizeof(why));
	assert_string_equal(why, "within 1d, last snapshot, daily snapshot, monthly snapshot, "
	                         "daily within 2d");
	reasons_of(days, N(days), &p, 7, why, sizeof(why));
	assert_string_equal(why, "daily snapshot, daily within 2d");
	/* truncated to the buffer, still a string */
	reasons_of(days, N(days), &p, 9, why, 12);
	assert_int_equal(strlen(why), 11);
}

static void test_forget__durations(void **state)
{
	(void)state;
	struct mv_forget_duration d;
	char buf[64];
	assert_int_equal(mv_forget_duration_parse("2y5m7d3h", &d), 0);
	assert_int_equal(d.years, 2);
	assert_int_equal(d.months, 5);
	assert_int_equal(d.days, 7);
	assert_int_equal(d.hours, 3);
	mv_forget_duration_str(&d, buf);
	assert_string_equal(buf, "2y5m7d3h");
	assert_int_equal(mv_forget_duration_parse("36h", &d), 0);
	mv_forget_duration_str(&d, buf);
	assert_string_equal(buf, "36h");
	assert_int_equal(mv_forget_duration_parse("3d1y", &d), 0); /* any order */
	assert_int_equal(d.years, 1);
	static const char *const bad[] = {"",     "y",         "5",   "5w",  "1d1d", "-1d",
	                                  "1.5d", "99999999d", "1d ", " 1d", "1D"};
	for (size_t i = 0; i < N(bad); i++)
		assert_int_equal(mv_forget_duration_parse(bad[i], &d), MV_ERR_USAGE);
}

/* ---- the loss report and the removal, on a real repository ------------- */

static void backup_at(struct mv_repo *r, const char *src, const char *when)
{
	const char *paths[1] = {src};
	struct mv_backup_opts bo = {
	    .paths = paths, .npaths = 1, .threads = 1, .has_time = 1, .time_ns = local_ns(when)};
	struct mv_backup_result br;
	struct mv_error err = {0};
	assert_int_equal(mv_backup(r, &bo, NULL, &br, &err), 0);
}

static void put(const char *src, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", src, name);
	tu_write_file(path, text, strlen(text), 0600);
}

static void test_forget__loss_and_removal(void **state)
{
	struct tu_repo_dir d;
	struct mv_repo *r;
	struct mv_snapshot *s;
	struct mv_forget_loss loss;
	struct mv_error err = {0};
	struct mv_lock *lock;
	char src[256];
	size_t n, damaged, done;

	(void)state;
	set_tz("UTC");
	tu_repo_dir_make(&d, "mvforget", NULL);
	snprintf(src, sizeof(src), "%s/src", d.dir);
	assert_int_equal(mkdir(src, 0700), 0);
	r = tu_repo_open(d.repo);
	assert_int_equal(mv_repo_load_index(r, 1, &damaged, &err), 0);
	/* 1: keep.txt, old.txt (2 versions in 1 and 2), gone.txt (only in 1) */
	put(src, "keep.txt", "kept everywhere");
	put(src, "old.txt", "first version");
	put(src, "gone.txt", "only in the first snapshot!");
	backup_at(r, src, "2026-01-01 10:00:00");
	put(src, "old.txt", "second version, longer");
	char gone[512];
	snprintf(gone, sizeof(gone), "%s/gone.txt", src);
	assert_int_equal(unlink(gone), 0);
	backup_at(r, src, "2026-01-02 10:00:00");
	put(src, "old.txt", "third");
	backup_at(r, src, "2026-01-03 10:00:00");
	assert_int_equal(mv_repo_snapshots(r, &s, &n, &damaged, &err), 0);
	assert_int_equal(n, 3);

	/* keep the newest: old.txt (2 older versions) and gone.txt are lost */
	assert_int_equal(mv_forget_loss(r, &s[2], 1, s, 2, 10, NULL, &loss, &err), 0);
	assert_int_equal(loss.files, 2);
	assert_int_equal(loss.contents, 3);
	assert_int_equal(loss.bytes, strlen("first version") + strlen("second version, longer") +
	                                 strlen("only in the first snapshot!"));
	assert_int_equal(loss.npaths, 2);
	assert_int_equal(loss.unreadable, 0);
	assert_int_equal(loss.removed_with_catalog, 0);
	mv_forget_loss_release(&loss);
	/* keep the oldest: only the two newer versions of old.txt */
	assert_int_equal(mv_forget_loss(r, s, 1, &s[1], 2, 0, NULL, &loss, &err), 0);
	assert_int_equal(loss.files, 1);
	assert_int_equal(loss.contents, 2);
	assert_int_equal(loss.npaths, 0); /* max_paths 0 */
	mv_forget_loss_release(&loss);
	/* nothing removed: nothing lost */
	assert_int_equal(mv_forget_loss(r, s, 3, NULL, 0, 10, NULL, &loss, &err), 0);
	assert_int_equal(loss.files + loss.contents + loss.bytes, 0);
	mv_forget_loss_release(&loss);

	/* removal needs the exclusive lock the caller holds */
	assert_int_equal(mv_forget_remove(r, s, 2, NULL, &done, &err), MV_ERR_USAGE);
	assert_int_equal(done, 0);
	assert_int_equal(mv_lock_acquire(r, 1, &lock, &err), 0);
	volatile sig_atomic_t cancel = 1;
	struct mv_events ev = {.cancel = &cancel};
	assert_int_equal(mv_forget_remove(r, s, 2, &ev, &done, &err), MV_ERR_INTERRUPTED);
	assert_int_equal(done, 0);
	assert_int_equal(mv_forget_remove(r, s, 2, NULL, &done, &err), 0);
	assert_int_equal(done, 2);
	mv_lock_release(lock);
	mv_snapshots_free(s, n);
	assert_int_equal(mv_repo_snapshots(r, &s, &n, &damaged, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].time_ns, local_ns("2026-01-03 10:00:00"));
	mv_snapshots_free(s, n);
	mv_repo_close(r);
	tu_rm_rf(d.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forget__keep_last),
	    cmocka_unit_test(test_forget__keep_daily_newest_of_each_day),
	    cmocka_unit_test(test_forget__keep_hourly),
	    cmocka_unit_test(test_forget__keep_weekly_iso_weeks),
	    cmocka_unit_test(test_forget__keep_monthly_and_yearly),
	    cmocka_unit_test(test_forget__ties_keep_one),
	    cmocka_unit_test(test_forget__time_zone_decides_the_day),
	    cmocka_unit_test(test_forget__keep_within_counts_from_newest),
	    cmocka_unit_test(test_forget__keep_within_daily),
	    cmocka_unit_test(test_forget__future_snapshots_not_the_newest),
	    cmocka_unit_test(test_forget__keep_tag_lists),
	    cmocka_unit_test(test_forget__groups),
	    cmocka_unit_test(test_forget__empty_policy_and_list),
	    cmocka_unit_test(test_forget__reasons),
	    cmocka_unit_test(test_forget__durations),
	    cmocka_unit_test(test_forget__loss_and_removal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
