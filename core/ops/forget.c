/* The retention policy (forget.h): a pure function from a list of
 * snapshots and a policy to keep or remove, with reasons. */
#include "core/ops/forget.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS           1000000000LL
#define DURATION_MAX 1000000

static const char *const kind_name[MV_FORGET_NKINDS] = {"last",   "hourly",  "daily",
                                                        "weekly", "monthly", "yearly"};

/* ---- durations ------------------------------------------------------------ */

int mv_forget_duration_parse(const char *s, struct mv_forget_duration *d)
{
	int seen[4] = {0, 0, 0, 0};
	int *field[4] = {&d->years, &d->months, &d->days, &d->hours};
	static const char units[] = "ymdh";

	memset(d, 0, sizeof(*d));
	if (!s || !*s)
		return MV_ERR_USAGE;
	while (*s) {
		long v = 0;
		if (*s < '0' || *s > '9')
			return MV_ERR_USAGE;
		for (; *s >= '0' && *s <= '9'; s++) {
			v = v * 10 + (*s - '0');
			if (v > DURATION_MAX)
				return MV_ERR_USAGE;
		}
		const char *u = *s ? strchr(units, *s) : NULL;
		if (!u || seen[u - units])
			return MV_ERR_USAGE;
		seen[u - units] = 1;
		*field[u - units] = (int)v;
		s++;
	}
	return 0;
}

void mv_forget_duration_str(const struct mv_forget_duration *d, char buf[64])
{
	int n = 0;
	buf[0] = '\0';
	if (d->years)
		n += snprintf(buf + n, (size_t)(64 - n), "%dy", d->years);
	if (d->months)
		n += snprintf(buf + n, (size_t)(64 - n), "%dm", d->months);
	if (d->days)
		n += snprintf(buf + n, (size_t)(64 - n), "%dd", d->days);
	if (d->hours || n == 0)
		snprintf(buf + n, (size_t)(64 - n), "%dh", d->hours);
}

static int duration_zero(const struct mv_forget_duration *d)
{
	return !d->years && !d->months && !d->days && !d->hours;
}

int mv_forget_policy_empty(const struct mv_forget_policy *p)
{
	if (p->ntags || !duration_zero(&p->within))
		return 0;
	for (int k = 0; k < MV_FORGET_NKINDS; k++)
		if (p->keep[k] || (k != MV_FORGET_LAST && !duration_zero(&p->within_kind[k])))
			return 0;
	return 1;
}

/* ---- local time ----------------------------------------------------------- */

static time_t seconds_of(int64_t ns)
{
	int64_t s = ns / NS;
	if (ns % NS < 0)
		s--; /* floor */
	return (time_t)s;
}

/* The bucket of time t for kind k (nr: the snapshot's place, for LAST):
 * YYYYMMDDHH, YYYYMMDD, ISO YYYYWW, YYYYMM, YYYY. */
static long long bucket_of(int kind, int64_t t, size_t nr)
{
	time_t sec = seconds_of(t);
	struct tm tm;
	char w[16];

	if (kind == MV_FORGET_LAST)
		return (long long)nr;
	if (!localtime_r(&sec, &tm))
		return -2 - (long long)nr; /* out of range: a bucket of its own */
	long long y = (long long)tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
	switch (kind) {
	case MV_FORGET_HOURLY:
		return ((y * 100 + m) * 100 + d) * 100 + tm.tm_hour;
	case MV_FORGET_DAILY:
		return (y * 100 + m) * 100 + d;
	case MV_FORGET_WEEKLY:
		if (strftime(w, sizeof(w), "%G%V", &tm) == 0)
			return -2 - (long long)nr;
		return strtoll(w, NULL, 10);
	case MV_FORGET_MONTHLY:
		return y * 100 + m;
	default:
		return y;
	}
}

/* t minus d, calendar parts in local time (restic: AddDate, then hours);
 * INT64_MIN when out of range (everything is then within). */
static int64_t minus(int64_t t, const struct mv_forget_duration *d)
{
	time_t sec = seconds_of(t);
	int64_t frac = t - (int64_t)sec * NS;
	struct tm tm;

	if (!localtime_r(&sec, &tm))
		return INT64_MIN;
	tm.tm_year -= d->years;
	tm.tm_mon -= d->months;
	tm.tm_mday -= d->days;
	tm.tm_isdst = -1;
	time_t r = mktime(&tm);
	if (r == (time_t)-1)
		return INT64_MIN;
	int64_t s = (int64_t)r - (int64_t)d->hours * 3600;
	if (s <= INT64_MIN / NS + 1)
		return INT64_MIN;
	return s * NS + frac;
}

/* ---- grouping ------------------------------------------------------------- */

struct ent {
	const struct mv_snapshot *s;
	size_t idx;
	const char **paths, **tags; /* sorted copies of the pointers */
	unsigned by;
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int list_cmp(const char **a, uint32_t na, const char **b, uint32_t nb)
{
	for (uint32_t i = 0; i < na && i < nb; i++) {
		int c = strcmp(a[i], b[i]);
		if (c)
			return c;
	}
	return (na > nb) - (na < nb);
}

static int group_cmp(const struct ent *x, const struct ent *y)
{
	int c = 0;
	if (x->by & MV_FORGET_BY_HOST)
		c = strcmp(x->s->host ? x->s->host : "", y->s->host ? y->s->host : "");
	if (!c && (x->by & MV_FORGET_BY_PATHS))
		c = list_cmp(x->paths, x->s->npaths, y->paths, y->s->npaths);
	if (!c && (x->by & MV_FORGET_BY_TAGS))
		c = list_cmp(x->tags, x->s->ntags, y->tags, y->s->ntags);
	return c;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = group_cmp(x, y);
	if (c)
		return c;
	if (x->s->time_ns != y->s->time_ns)
		return x->s->time_ns > y->s->time_ns ? -1 : 1; /* newest first */
	return memcmp(x->s->id, y->s->id, 32);
}

/* ---- the policy ----------------------------------------------------------- */

/* Whether s has every tag of the comma-separated list. */
static int has_tags(const struct mv_snapshot *s, const char *list)
{
	const char *p = list;
	while (*p) {
		size_t len = strcspn(p, ",");
		int found = len == 0;
		for (uint32_t i = 0; i < s->ntags && !found; i++)
			found = strlen(s->tags[i]) == len && memcmp(s->tags[i], p, len) == 0;
		if (!found)
			return 0;
		p += len;
		if (*p == ',')
			p++;
	}
	return 1;
}

/* Decides the group e[0..n) (newest first) into d[0..n). */
static void apply(const struct mv_forget_policy *p, const struct ent *e, size_t n, int64_t now_ns,
                  struct mv_forget_decision *d)
{
	long count[MV_FORGET_NKINDS];
	long long last[MV_FORGET_NKINDS], wlast[MV_FORGET_NKINDS];
	int64_t latest = INT64_MIN, within = INT64_MIN, wfrom[MV_FORGET_NKINDS];
	int have_latest = 0;
	int empty = mv_forget_policy_empty(p);

	for (size_t i = 0; i < n; i++)
		if (e[i].s->time_ns < now_ns && (!have_latest || e[i].s->time_ns > latest)) {
			latest = e[i].s->time_ns;
			have_latest = 1;
		}
	if (have_latest)
		within = minus(latest, &p->within);
	for (int k = 0; k < MV_FORGET_NKINDS; k++) {
		count[k] = p->keep[k];
		last[k] = wlast[k] = -1;
		wfrom[k] = have_latest ? minus(latest, &p->within_kind[k]) : INT64_MIN;
	}
	for (size_t nr = 0; nr < n; nr++) {
		const struct mv_snapshot *s = e[nr].s;
		struct mv_forget_decision *o = &d[nr];
		o->snap = e[nr].idx;
		if (empty) {
			o->keep = 1;
			o->reasons = MV_FORGET_R_POLICY;
			continue;
		}
		for (size_t t = 0; t < p->ntags; t++)
			if (has_tags(s, p->tags[t])) {
				if (!(o->reasons & MV_FORGET_R_TAGS))
					o->tag = t;
				o->reasons |= MV_FORGET_R_TAGS;
			}
		if (!duration_zero(&p->within) && s->time_ns > within)
			o->reasons |= MV_FORGET_R_WITHIN;
		for (int k = 0; k < MV_FORGET_NKINDS; k++) {
			if (count[k] == 0 || count[k] < MV_FORGET_ALL)
				continue;
			long long v = bucket_of(k, s->time_ns, nr);
			/* the oldest is kept while counts are left: the longest
			 * history (restic's rule) */
			if (v != last[k] || nr == n - 1) {
				o->reasons |= MV_FORGET_R_KIND << k;
				last[k] = v;
				if (count[k] > 0)
					count[k]--;
			}
		}
		for (int k = MV_FORGET_HOURLY; k < MV_FORGET_NKINDS; k++) {
			if (duration_zero(&p->within_kind[k]) || s->time_ns <= wfrom[k])
				continue;
			long long v = bucket_of(k, s->time_ns, nr);
			if (v != wlast[k]) {
				o->reasons |= MV_FORGET_R_WKIND << k;
				wlast[k] = v;
			}
		}
		o->keep = o->reasons != 0;
	}
}

int mv_forget_select(const struct mv_snapshot *s, size_t n, const struct mv_forget_policy *p,
                     unsigned group_by, int64_t now_ns, struct mv_forget_plan *out,
                     struct mv_error *err)
{
	struct ent *e = NULL;
	const char **ptrs = NULL;
	size_t nptrs = 0, at = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (mv_size_add(nptrs, (size_t)s[i].npaths + s[i].ntags, &nptrs))
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	e = calloc(n ? n : 1, sizeof(*e));
	ptrs = calloc(nptrs ? nptrs : 1, sizeof(*ptrs));
	out->d = calloc(n ? n : 1, sizeof(*out->d));
	if (!e || !ptrs || !out->d) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		e[i] = (struct ent){.s = &s[i], .idx = i, .by = group_by};
		e[i].paths = ptrs + at;
		for (uint32_t k = 0; k < s[i].npaths; k++)
			ptrs[at++] = s[i].paths[k];
		e[i].tags = ptrs + at;
		for (uint32_t k = 0; k < s[i].ntags; k++)
			ptrs[at++] = s[i].tags[k];
		qsort(e[i].paths, s[i].npaths, sizeof(char *), str_cmp);
		qsort(e[i].tags, s[i].ntags, sizeof(char *), str_cmp);
	}
	qsort(e, n, sizeof(*e), ent_cmp);
	for (size_t g = 0; g < n;) {
		size_t end = g + 1;
		while (end < n && group_cmp(&e[g], &e[end]) == 0)
			end++;
		apply(p, e + g, end - g, now_ns, out->d + g);
		for (size_t i = g; i < end; i++)
			out->d[i].group = out->ngroups;
		out->ngroups++;
		g = end;
	}
	out->n = n;
	for (size_t i = 0; i < n; i++)
		out->d[i].keep ? out->nkeep++ : out->nremove++;
out:
	free(e);
	free(ptrs);
	if (rc)
		mv_forget_plan_release(out);
	return rc;
}

void mv_forget_plan_release(struct mv_forget_plan *plan)
{
	free(plan->d);
	memset(plan, 0, sizeof(*plan));
}

/* ---- reasons -------------------------------------------------------------- */

static void put(char *buf, size_t cap, size_t *at, const char *s)
{
	int n = snprintf(buf + *at, cap - *at, "%s%s", *at ? ", " : "", s);
	if (n > 0)
		*at = *at + (size_t)n < cap ? *at + (size_t)n : cap - 1;
}

void mv_forget_reasons_str(const struct mv_forget_policy *p, const struct mv_forget_decision *d,
                           char *buf, size_t cap)
{
	char dur[64], one[320];
	size_t at = 0;

	buf[0] = '\0';
	if (d->reasons & MV_FORGET_R_POLICY)
		put(buf, cap, &at, "policy is empty");
	if ((d->reasons & MV_FORGET_R_TAGS) && d->tag < p->ntags) {
		snprintf(one, sizeof(one), "has tags %s", p->tags[d->tag]);
		put(buf, cap, &at, one);
	}
	if (d->reasons & MV_FORGET_R_WITHIN) {
		mv_forget_duration_str(&p->within, dur);
		snprintf(one, sizeof(one), "within %s", dur);
		put(buf, cap, &at, one);
	}
	for (int k = 0; k < MV_FORGET_NKINDS; k++)
		if (d->reasons & (MV_FORGET_R_KIND << k)) {
			snprintf(one, sizeof(one), "%s snapshot", kind_name[k]);
			put(buf, cap, &at, one);
		}
	for (int k = MV_FORGET_HOURLY; k < MV_FORGET_NKINDS; k++)
		if (d->reasons & (MV_FORGET_R_WKIND << k)) {
			mv_forget_duration_str(&p->within_kind[k], dur);
			snprintf(one, sizeof(one), "%s within %s", kind_name[k], dur);
			put(buf, cap, &at, one);
		}
}
