#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/inventory_out.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "core/ops/forget.h"

enum {
	O_KEEP = 1, /* O_KEEP + kind: --keep-last ... --keep-yearly */
	O_WITHIN = O_KEEP + MV_FORGET_NKINDS,
	O_WITHIN_KIND, /* O_WITHIN_KIND + kind: --keep-within-hourly ... */
	O_KEEP_TAG = O_WITHIN_KIND + MV_FORGET_NKINDS,
	O_GROUP_BY,
	O_DRY_RUN,
	O_LIST_PATIENTS,
};

// clang-format off
static const struct cli_opt_spec opts[] = {
	{"keep-last", 'l', 1, O_KEEP + MV_FORGET_LAST},
	{"keep-hourly", 'H', 1, O_KEEP + MV_FORGET_HOURLY},
	{"keep-daily", 'd', 1, O_KEEP + MV_FORGET_DAILY},
	{"keep-weekly", 'w', 1, O_KEEP + MV_FORGET_WEEKLY},
	{"keep-monthly", 'm', 1, O_KEEP + MV_FORGET_MONTHLY},
	{"keep-yearly", 'y', 1, O_KEEP + MV_FORGET_YEARLY},
	{"keep-within", 0, 1, O_WITHIN},
	{"keep-within-hourly", 0, 1, O_WITHIN_KIND + MV_FORGET_HOURLY},
	{"keep-within-daily", 0, 1, O_WITHIN_KIND + MV_FORGET_DAILY},
	{"keep-within-weekly", 0, 1, O_WITHIN_KIND + MV_FORGET_WEEKLY},
	{"keep-within-monthly", 0, 1, O_WITHIN_KIND + MV_FORGET_MONTHLY},
	{"keep-within-yearly", 0, 1, O_WITHIN_KIND + MV_FORGET_YEARLY},
	{"keep-tag", 0, 1, O_KEEP_TAG},
	{"group-by", 'g', 1, O_GROUP_BY},
	{"dry-run", 'n', 0, O_DRY_RUN},
	{"list-patients", 0, 0, O_LIST_PATIENTS},
	{NULL, 0, 0, 0},
};
// clang-format on

static const struct cli_help_opt help_opts[] = {
    {"-l, --keep-last N", "keep the N newest snapshots ('unlimited' or -1: all)"},
    {"-H, --keep-hourly N", "keep the newest snapshot of each of the N newest hours that have one"},
    {"-d, --keep-daily N", "the same per day"},
    {"-w, --keep-weekly N", "the same per ISO week (Monday to Sunday)"},
    {"-m, --keep-monthly N", "the same per month"},
    {"-y, --keep-yearly N", "the same per year"},
    {"--keep-within DURATION",
     "keep every snapshot less than DURATION older than the newest one (e.g. 2y5m7d3h: years, "
     "months, days, hours)"},
    {"--keep-within-hourly DURATION",
     "keep the newest snapshot of each hour within DURATION of the newest one; likewise "
     "--keep-within-daily, -weekly, -monthly and -yearly"},
    {"--keep-tag TAG[,TAG...]",
     "keep every snapshot that has all these tags (repeatable: any of the lists)"},
    {"-g, --group-by host,paths,tags",
     "apply the policy to each group of snapshots with the same host, paths and tags (default "
     "host,paths; '' for one group)"},
    {"-n, --dry-run", "say what would be kept, removed and lost, and remove nothing"},
    {"--list-patients",
     "name the patients (name, patient ID, birth date) that would be in no remaining snapshot"},
    {"SNAPSHOT", "instead of a policy: the snapshots to remove (ids, unique prefixes, latest)"},
    {NULL, NULL},
};

const struct cli_help cmd_forget_help = {
    "medvault forget -r LOCATION [policy] [--group-by host,paths,tags] [--dry-run] [--json]\n"
    "       medvault forget -r LOCATION [--dry-run] SNAPSHOT...",
    "remove snapshots by a retention policy",
    "Decides which snapshots to keep by a retention policy, as restic does: the last N, the\n"
    "newest of each of the last N hours, days, ISO weeks, months and years that have one, every\n"
    "snapshot within a duration of the newest, those with some tags. A snapshot is kept when any\n"
    "rule keeps it; when a rule has counts left at the oldest snapshot, the oldest is kept too.\n"
    "The policy applies to each group of snapshots with the same host and paths (--group-by).\n"
    "Hours, days, weeks, months and years are those of local time (set TZ to choose). Lists\n"
    "each group's kept snapshots with the reasons, and those it removes.\n"
    "\n"
    "Before anything is removed, it reports what would exist in no remaining snapshot: the files\n"
    "whose contents only removed snapshots hold (count, bytes, their paths), and, from the DICOM\n"
    "catalogs, the patients and studies no kept snapshot names. Deleting patient data before its\n"
    "retention period ends may break the law: read that report, with --dry-run first.\n"
    "\n"
    "A policy that would remove every snapshot is refused (exit code 2) and nothing is removed.\n"
    "Removing deletes the snapshot files only, under the exclusive lock; the data they alone\n"
    "used stays in the repository until 'medvault prune'. With --json, one object: the groups\n"
    "(keep and remove lists with reasons), the loss report and the number removed.",
    help_opts,
    "# what a 20-year retention would keep and lose, without removing anything\n"
    "medvault forget -r /media/usb/backup --keep-daily 7 --keep-weekly 5 --keep-monthly 12 "
    "--keep-yearly 20 --dry-run\n"
    "medvault forget -r /media/usb/backup --keep-daily 7 --keep-weekly 5 --keep-monthly 12 "
    "--keep-yearly 20\n"
    "medvault forget -r /media/usb/backup --keep-within 1y --keep-tag legal-hold --json\n"
    "medvault forget -r /media/usb/backup 1a2b3c4d\n",
};

/* Paths of files in no remaining snapshot: collected, and shown. */
#define LOSS_PATHS       1000
#define LOSS_PATHS_HUMAN 20

struct forget_args {
	struct mv_forget_policy p;
	unsigned group_by;
	int dry_run, list_patients;
	const char **tags;
	const char **ids;
	size_t nids;
};

static int parse_count(const char *v, long *out)
{
	uint64_t n;
	if (strcmp(v, "unlimited") == 0 || strcmp(v, "-1") == 0) {
		*out = MV_FORGET_ALL;
		return 0;
	}
	if (cli_parse_u64(v, 0, INT_MAX, &n) != 0)
		return -1;
	*out = (long)n;
	return 0;
}

static int parse_group_by(const char *v, unsigned *out)
{
	*out = 0;
	while (*v) {
		size_t len = strcspn(v, ",");
		if (len == 4 && strncmp(v, "host", 4) == 0)
			*out |= MV_FORGET_BY_HOST;
		else if ((len == 5 && strncmp(v, "paths", 5) == 0) ||
		         (len == 4 && strncmp(v, "path", 4) == 0))
			*out |= MV_FORGET_BY_PATHS;
		else if ((len == 4 && strncmp(v, "tags", 4) == 0) ||
		         (len == 3 && strncmp(v, "tag", 3) == 0))
			*out |= MV_FORGET_BY_TAGS;
		else if (len)
			return -1;
		v += len + (v[len] == ',');
	}
	return 0;
}

static int parse_value(struct forget_args *a, int c, const char *v)
{
	if (c >= O_KEEP && c < O_KEEP + MV_FORGET_NKINDS) {
		if (parse_count(v, &a->p.keep[c - O_KEEP]) != 0)
			return cli_usage_error("forget", "'%s': a count is a number or 'unlimited'",
			                       v);
	} else if (c == O_WITHIN || (c > O_WITHIN_KIND && c < O_WITHIN_KIND + MV_FORGET_NKINDS)) {
		struct mv_forget_duration *d =
		    c == O_WITHIN ? &a->p.within : &a->p.within_kind[c - O_WITHIN_KIND];
		if (mv_forget_duration_parse(v, d) != 0)
			return cli_usage_error("forget",
			                       "'%s': a duration is like 2y5m7d3h (years, months, "
			                       "days, hours)",
			                       v);
	} else if (c == O_KEEP_TAG) {
		if (!*v || strspn(v, ",") == strlen(v))
			return cli_usage_error("forget", "--keep-tag needs a tag");
		a->tags[a->p.ntags++] = v;
	} else if (c == O_GROUP_BY) {
		if (parse_group_by(v, &a->group_by) != 0)
			return cli_usage_error("forget",
			                       "'%s': --group-by takes host, paths and tags, "
			                       "comma-separated",
			                       v);
	}
	return 0;
}

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct forget_args *a)
{
	struct cli_opt_iter it;
	int c, rc;

	a->group_by = MV_FORGET_BY_HOST | MV_FORGET_BY_PATHS;
	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		switch (c) {
		case O_DRY_RUN:
			a->dry_run = 1;
			break;
		case O_LIST_PATIENTS:
			a->list_patients = 1;
			break;
		case CLI_OPT_ARG:
			a->ids[a->nids++] = it.value;
			break;
		case CLI_OPT_ERROR:
			return cli_usage_error("forget", "%s", it.err);
		default:
			if ((rc = parse_value(a, c, it.value)) != 0)
				return rc;
		}
	}
	if (ctx->g.help)
		return 0;
	a->p.tags = a->tags;
	if (a->nids && !mv_forget_policy_empty(&a->p))
		return cli_usage_error("forget", "give either a policy (--keep-*) or snapshots, "
		                                 "not both");
	if (!a->nids && mv_forget_policy_empty(&a->p))
		return cli_usage_error("forget", "no policy given: use --keep-last, --keep-daily, "
		                                 "..., --keep-within or --keep-tag, or name the "
		                                 "snapshots to remove");
	return 0;
}

/* ---- choosing ------------------------------------------------------------- */

static void on_warn(struct cli_events *e, const char *path, const char *msg)
{
	(void)e;
	cli_warning("'%s': %s", path, msg);
}

/* The plan for explicit snapshots: those named are removed (a group of
 * its own), the others kept. */
static int plan_ids(struct cli_ctx *ctx, struct mv_repo *r, const struct forget_args *a,
                    const struct mv_snapshot *s, size_t n, struct mv_forget_plan *plan)
{
	struct mv_snapshot one;
	int rc;

	memset(plan, 0, sizeof(*plan));
	plan->d = calloc(n ? n : 1, sizeof(*plan->d));
	if (!plan->d) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	plan->n = n;
	plan->ngroups = 1;
	for (size_t i = 0; i < n; i++)
		plan->d[i] = (struct mv_forget_decision){.snap = i, .keep = 1};
	for (size_t k = 0; k < a->nids; k++) {
		if ((rc = cli_find_snapshot(ctx, r, a->ids[k], &one)) != 0)
			return rc;
		for (size_t i = 0; i < n; i++)
			if (memcmp(s[i].id, one.id, 32) == 0)
				plan->d[i].keep = 0;
		mv_snapshot_release(&one);
	}
	for (size_t i = 0; i < n; i++)
		plan->d[i].keep ? plan->nkeep++ : plan->nremove++;
	return 0;
}

/* Shallow copies of the kept and removed snapshots (the strings stay s's). */
static int split(const struct mv_snapshot *s, const struct mv_forget_plan *plan,
                 struct mv_snapshot **kept, struct mv_snapshot **removed)
{
	size_t nk = 0, nr = 0;

	*kept = calloc(plan->nkeep ? plan->nkeep : 1, sizeof(**kept));
	*removed = calloc(plan->nremove ? plan->nremove : 1, sizeof(**removed));
	if (!*kept || !*removed)
		return -1;
	for (size_t i = 0; i < plan->n; i++) {
		const struct mv_forget_decision *d = &plan->d[i];
		if (d->keep)
			(*kept)[nk++] = s[d->snap];
		else
			(*removed)[nr++] = s[d->snap];
	}
	return 0;
}

/* ---- printing ------------------------------------------------------------- */

static void put_list(char *const *items, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		cli_term_put(stdout, items[i], strlen(items[i]));
	}
}

static void print_group_head(const struct mv_snapshot *s, unsigned by)
{
	const char *host = s->host ? s->host : "";
	printf("snapshots for (");
	if (by & MV_FORGET_BY_HOST) {
		printf("host [");
		cli_term_put(stdout, host, strlen(host));
		printf("]%s", by & (MV_FORGET_BY_PATHS | MV_FORGET_BY_TAGS) ? ", " : "");
	}
	if (by & MV_FORGET_BY_PATHS) {
		printf("paths [");
		put_list(s->paths, s->npaths);
		printf("]%s", by & MV_FORGET_BY_TAGS ? ", " : "");
	}
	if (by & MV_FORGET_BY_TAGS) {
		printf("tags [");
		put_list(s->tags, s->ntags);
		printf("]");
	}
	printf("%s):\n", by ? "" : "all");
}

static void print_rows(const struct forget_args *a, const struct mv_snapshot *s,
                       const struct mv_forget_decision *d, size_t n, int keep)
{
	char id[9], t[CLI_FMT_LEN], why[512];
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += d[i].keep == keep;
	if (!count)
		return;
	printf("%s %zu snapshot%s:\n", keep ? "keep" : "remove", count, count == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		const struct mv_snapshot *x = &s[d[i].snap];
		if (d[i].keep != keep)
			continue;
		mv_hex(x->id, 4, id);
		printf("  %-8s  %-19s  ", id, cli_fmt_time_local(x->time_ns, t));
		cli_term_put(stdout, x->host ? x->host : "", strlen(x->host ? x->host : ""));
		if (x->ntags) {
			printf("  [");
			put_list(x->tags, x->ntags);
			printf("]");
		}
		if (keep) {
			mv_forget_reasons_str(&a->p, &d[i], why, sizeof(why));
			printf("  ");
			cli_term_put(stdout, why, strlen(why));
		}
		putchar('\n');
	}
}

static void print_plan(const struct forget_args *a, const struct mv_snapshot *s,
                       const struct mv_forget_plan *plan)
{
	for (size_t g = 0; g < plan->n;) {
		size_t end = g;
		while (end < plan->n && plan->d[end].group == plan->d[g].group)
			end++;
		if (a->nids == 0)
			print_group_head(&s[plan->d[g].snap], a->group_by);
		print_rows(a, s, plan->d + g, end - g, 1);
		print_rows(a, s, plan->d + g, end - g, 0);
		putchar('\n');
		g = end;
	}
}

/* Shown even with -q when something would be lost: that is never routine.
 * pr: the report of l->patients. */
static void print_loss(const struct forget_args *a, const struct mv_forget_loss *l,
                       const struct mv_inv_report *pr, int verbose, int quiet, int removed)
{
	const char *verb = removed ? "are" : "would be";
	const char *where = "in no remaining snapshot";
	char b[CLI_FMT_LEN];

	if (l->files == 0 && !quiet)
		printf("Every file of the removed snapshots is in a remaining snapshot.\n");
	else if (l->files) {
		printf("%llu file%s (%llu version%s, %s) %s %s:\n", (unsigned long long)l->files,
		       l->files == 1 ? "" : "s", (unsigned long long)l->contents,
		       l->contents == 1 ? "" : "s", cli_fmt_bytes(l->bytes, b), verb, where);
		size_t show = verbose
		                  ? l->npaths
		                  : (l->npaths < LOSS_PATHS_HUMAN ? l->npaths : LOSS_PATHS_HUMAN);
		for (size_t i = 0; i < show; i++) {
			printf("  ");
			cli_term_put(stdout, l->paths[i], strlen(l->paths[i]));
			putchar('\n');
		}
		if (l->files > show)
			printf("  ... and %llu more%s\n", (unsigned long long)(l->files - show),
			       l->npaths > show ? " (-v or --json lists them)" : "");
	}
	if (l->removed_with_catalog == 0)
		return;
	if (pr->patients == 0 && l->studies == 0) {
		if (!quiet)
			printf("DICOM: every patient and study of the removed snapshots is in "
			       "a remaining snapshot.\n");
	} else {
		printf("DICOM: %llu patient%s and %llu stud%s %s %s.\n",
		       (unsigned long long)pr->patients, pr->patients == 1 ? "" : "s",
		       (unsigned long long)l->studies, l->studies == 1 ? "y" : "ies", verb, where);
		if (a->list_patients && pr->npatient_list)
			cli_inv_print_patients(stdout, pr);
		else if (pr->patients)
			printf("Patient names are not shown; add --list-patients to list them.\n");
	}
	if (l->kept_without_catalog && !quiet)
		printf("(%zu kept snapshot%s no DICOM catalog: DICOM files %s may hold are not "
		       "counted as remaining)\n",
		       l->kept_without_catalog, l->kept_without_catalog == 1 ? " has" : "s have",
		       l->kept_without_catalog == 1 ? "it" : "they");
}

static void json_snap(struct cli_json *j, const struct forget_args *a, const struct mv_snapshot *s,
                      const struct mv_forget_decision *d)
{
	char t[CLI_FMT_LEN], id[9], why[512];

	cli_json_begin_object(j, NULL);
	cli_json_hex(j, "id", s->id, 32);
	mv_hex(s->id, 4, id);
	cli_json_str(j, "short_id", id);
	cli_json_str(j, "time", cli_fmt_time_rfc3339(s->time_ns, t));
	cli_json_str(j, "host", s->host ? s->host : "");
	cli_json_begin_array(j, "paths");
	for (uint32_t i = 0; i < s->npaths; i++)
		cli_json_name(j, NULL, s->paths[i], strlen(s->paths[i]));
	cli_json_end_array(j);
	cli_json_begin_array(j, "tags");
	for (uint32_t i = 0; i < s->ntags; i++)
		cli_json_str(j, NULL, s->tags[i]);
	cli_json_end_array(j);
	if (d->keep) {
		/* one string per reason: split the text at its commas */
		mv_forget_reasons_str(&a->p, d, why, sizeof(why));
		cli_json_begin_array(j, "reasons");
		for (char *p = why; *p;) {
			size_t len = strcspn(p, ",");
			cli_json_strn(j, NULL, p, len);
			p += len;
			p += strspn(p, ", ");
		}
		cli_json_end_array(j);
	}
	cli_json_end_object(j);
}

/* What the group's snapshots share (the fields of --group-by). */
static void json_group_key(struct cli_json *j, const struct mv_snapshot *s, unsigned by)
{
	cli_json_begin_object(j, "group_key");
	if (by & MV_FORGET_BY_HOST)
		cli_json_str(j, "hostname", s->host ? s->host : "");
	if (by & MV_FORGET_BY_PATHS) {
		cli_json_begin_array(j, "paths");
		for (uint32_t i = 0; i < s->npaths; i++)
			cli_json_name(j, NULL, s->paths[i], strlen(s->paths[i]));
		cli_json_end_array(j);
	}
	if (by & MV_FORGET_BY_TAGS) {
		cli_json_begin_array(j, "tags");
		for (uint32_t i = 0; i < s->ntags; i++)
			cli_json_str(j, NULL, s->tags[i]);
		cli_json_end_array(j);
	}
	cli_json_end_object(j);
}

static void json_groups(struct cli_json *j, const struct forget_args *a,
                        const struct mv_snapshot *s, const struct mv_forget_plan *plan)
{
	cli_json_begin_array(j, "groups");
	for (size_t g = 0; g < plan->n;) {
		size_t end = g;
		while (end < plan->n && plan->d[end].group == plan->d[g].group)
			end++;
		cli_json_begin_object(j, NULL);
		if (a->nids == 0)
			json_group_key(j, &s[plan->d[g].snap], a->group_by);
		for (int keep = 1; keep >= 0; keep--) {
			cli_json_begin_array(j, keep ? "keep" : "remove");
			for (size_t i = g; i < end; i++)
				if (plan->d[i].keep == keep)
					json_snap(j, a, &s[plan->d[i].snap], &plan->d[i]);
			cli_json_end_array(j);
		}
		cli_json_end_object(j);
		g = end;
	}
	cli_json_end_array(j);
}

/* pr: the report of l->patients, NULL when nothing is removed. */
static void json_loss(struct cli_json *j, const struct forget_args *a,
                      const struct mv_forget_loss *l, const struct mv_inv_report *pr)
{

	cli_json_begin_object(j, "not_in_remaining_snapshots");
	cli_json_u64(j, "files", l->files);
	cli_json_u64(j, "contents", l->contents);
	cli_json_u64(j, "bytes", l->bytes);
	cli_json_begin_array(j, "paths");
	for (size_t i = 0; i < l->npaths; i++)
		cli_json_name(j, NULL, l->paths[i], strlen(l->paths[i]));
	cli_json_end_array(j);
	cli_json_bool(j, "paths_truncated", l->files > l->npaths);
	cli_json_u64(j, "patients", pr ? pr->patients : 0);
	cli_json_u64(j, "studies", l->studies);
	cli_json_u64(j, "removed_with_catalog", l->removed_with_catalog);
	cli_json_u64(j, "kept_without_catalog", l->kept_without_catalog);
	cli_json_u64(j, "unreadable", l->unreadable);
	if (a->list_patients && pr)
		cli_inv_json_patients(j, pr);
	cli_json_end_object(j);
}

/* ---- the command ---------------------------------------------------------- */

struct run_state {
	struct mv_repo *r;
	struct mv_lock *lock;
	struct mv_snapshot *s, *kept, *removed;
	size_t n;
	struct mv_forget_plan plan;
	struct mv_forget_loss loss;
};

/* Opens and locks the repository, lists the snapshots and decides. */
static int decide(struct cli_ctx *ctx, const struct forget_args *a, struct run_state *st)
{
	struct mv_error err = {0};
	struct timespec now;
	size_t damaged = 0;
	int rc;

	rc = cli_repo_open(ctx, "forget", &st->r);
	if (rc == 0)
		rc = a->dry_run ? cli_repo_lock_reader(ctx, st->r, 0, &st->lock)
		                : cli_repo_lock(st->r, 1, &st->lock);
	if (rc == 0)
		rc = cli_repo_load_index(ctx, st->r, 0, NULL);
	if (rc != 0)
		return rc;
	rc = mv_repo_snapshots(st->r, &st->s, &st->n, &damaged, &err);
	if (rc != 0)
		return cli_fail(rc, &err);
	if (damaged > 0) {
		cli_warning("%zu snapshot file%s damaged (%s): not considered, neither kept nor "
		            "removed; run 'medvault check'",
		            damaged, damaged == 1 ? " is" : "s are",
		            err.msg[0] ? err.msg : "integrity error");
		ctx->damaged = 1;
	}
	if (a->nids)
		return plan_ids(ctx, st->r, a, st->s, st->n, &st->plan);
	clock_gettime(CLOCK_REALTIME, &now);
	rc = mv_forget_select(st->s, st->n, &a->p, a->group_by,
	                      (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec, &st->plan, &err);
	if (rc != 0)
		return cli_fail(rc, &err);
	if (st->n > 0 && st->plan.nkeep == 0) {
		cli_error("the policy would remove every snapshot (%zu); nothing was removed",
		          st->n);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int run(struct cli_ctx *ctx, const struct forget_args *a)
{
	struct run_state st;
	const struct mv_inv_report *pr = NULL;
	struct mv_error err = {0};
	struct cli_events ev;
	size_t done = 0;
	int rc, ev_on = 0;

	memset(&st, 0, sizeof(st));
	rc = decide(ctx, a, &st);
	if (rc != 0)
		goto out;
	if (split(st.s, &st.plan, &st.kept, &st.removed) != 0) {
		cli_error("out of memory");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	if (!ctx->g.json && !ctx->g.quiet)
		print_plan(a, st.s, &st.plan);
	cli_events_init(&ev, ctx, on_warn, NULL);
	ev_on = 1;
	if (st.plan.nremove > 0) {
		rc = mv_forget_loss(st.r, st.kept, st.plan.nkeep, st.removed, st.plan.nremove,
		                    LOSS_PATHS, &ev.ev, &st.loss, &err);
		if (rc != 0) {
			rc = cli_fail(rc, &err);
			goto out;
		}
		if (!(pr = mv_inventory_report(st.loss.patients))) {
			cli_error("out of memory: no report, nothing was removed");
			rc = CLI_EXIT_FATAL;
			goto out;
		}
		if (!ctx->g.json)
			print_loss(a, &st.loss, pr, ctx->g.verbose, ctx->g.quiet, !a->dry_run);
		if (st.loss.unreadable)
			cli_warning(
			    "%zu tree%s or catalog%s could not be read: the report above may "
			    "be incomplete; run 'medvault check'",
			    st.loss.unreadable, st.loss.unreadable == 1 ? "" : "s",
			    st.loss.unreadable == 1 ? "" : "s");
		fflush(stdout);
	}
	if (!a->dry_run && st.plan.nremove > 0) {
		rc = mv_forget_remove(st.r, st.removed, st.plan.nremove, &ev.ev, &done, &err);
		if (rc != 0) {
			cli_error("%zu of %zu snapshots removed, then: %s", done, st.plan.nremove,
			          err.msg[0] ? err.msg : mv_strerror(rc));
			rc = cli_exit_code(rc);
		}
	}
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "forget");
		cli_json_bool(&j, "dry_run", a->dry_run);
		json_groups(&j, a, st.s, &st.plan);
		json_loss(&j, a, &st.loss, pr);
		cli_json_u64(&j, "kept", st.plan.nkeep);
		cli_json_u64(&j, "removed", done);
		cli_json_end_object(&j);
	} else if (ctx->g.quiet)
		;
	else if (rc == 0 && a->dry_run)
		printf("would remove %zu of %zu snapshots (dry run: nothing was removed)\n",
		       st.plan.nremove, st.n);
	else if (rc == 0)
		printf("removed %zu of %zu snapshots%s\n", done, st.n,
		       done ? "; 'medvault prune' frees the space they alone used" : "");
out:
	if (ev_on)
		cli_events_done(&ev);
	mv_forget_loss_release(&st.loss);
	mv_forget_plan_release(&st.plan);
	free(st.kept);
	free(st.removed);
	mv_snapshots_free(st.s, st.n);
	mv_lock_release(st.lock);
	mv_repo_close(st.r);
	return rc;
}

int cmd_forget(int argc, char **argv, struct cli_ctx *ctx)
{
	struct forget_args a;
	size_t n = (size_t)argc;
	int rc;

	memset(&a, 0, sizeof(a));
	a.tags = calloc(n, sizeof(*a.tags));
	a.ids = calloc(n, sizeof(*a.ids));
	if (!a.tags || !a.ids) {
		cli_error("out of memory");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	rc = parse(argc, argv, ctx, &a);
	if (rc == 0)
		rc = ctx->g.help ? cli_help_command("forget") : run(ctx, &a);
out:
	free(a.tags);
	free(a.ids);
	return rc;
}
