#include "cli/select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/exitcode.h"
#include "cli/output.h"
#include "cli/repo_open.h"

int cli_query_option(int key, const char *value, struct mv_find_query *q)
{
	switch (key) {
	case CLI_Q_PATIENT:
		q->patient = value;
		return 1;
	case CLI_Q_PATIENT_ID:
		q->patient_id = value;
		return 1;
	case CLI_Q_STUDY:
		q->study_uid = value;
		return 1;
	case CLI_Q_SERIES:
		q->series_uid = value;
		return 1;
	}
	return 0;
}

int cli_snapshot_option(struct cli_ctx *ctx, int key, const char *value)
{
	struct cli_snapshot_filter *f = &ctx->snapf;

	switch (key) {
	case CLI_S_HOST:
		if (f->nhosts < CLI_SNAPSHOT_FILTER_MAX)
			f->hosts[f->nhosts++] = value;
		else
			f->too_many = 1;
		return 1;
	case CLI_S_PATH:
		if (f->npaths < CLI_SNAPSHOT_FILTER_MAX)
			f->paths[f->npaths++] = value;
		else
			f->too_many = 1;
		return 1;
	}
	return 0;
}

int cli_query_given(const struct mv_find_query *q)
{
	return q->patient || q->patient_id || q->study_uid || q->series_uid;
}

static void describe_add(char *buf, size_t cap, size_t *n, const char *label, const char *v)
{
	if (!v || *n >= cap)
		return;
	int k = snprintf(buf + *n, cap - *n, "%s%s %s", *n ? ", " : "", label, v);
	if (k > 0)
		*n += (size_t)k;
}

/* "patient 'x', study y" for messages. */
static void describe(const struct mv_find_query *q, char *buf, size_t cap)
{
	size_t n = 0;
	char quoted[300];

	buf[0] = '\0';
	if (q->patient) {
		snprintf(quoted, sizeof(quoted), "'%.256s'", q->patient);
		describe_add(buf, cap, &n, "patient", quoted);
	}
	describe_add(buf, cap, &n, "patient id", q->patient_id);
	describe_add(buf, cap, &n, "study", q->study_uid);
	describe_add(buf, cap, &n, "series", q->series_uid);
}

/* The snapshots where a selection matches (newest first), for the message
 * of a selection that matches nothing in the snapshot named. */
#define HINT_MAX 4
struct hint {
	struct {
		uint8_t id[32];
		int64_t time_ns;
		char where[200]; /* "host h, /path, /path" */
		uint64_t images;
	} at[HINT_MAX];
	size_t n;      /* in at[] */
	size_t others; /* snapshots beyond HINT_MAX */
	int seen;      /* last is set */
	int listed;    /* last is at[n - 1] */
	uint8_t last[32];
};

/* mv_find reports a snapshot's matches one after another, newest snapshot
 * first. */
static int hint_match(void *arg, const struct mv_find_match *m)
{
	struct hint *h = arg;
	const struct mv_snapshot *s = m->snapshot;

	if (h->seen && memcmp(h->last, s->id, 32) == 0) {
		if (h->listed)
			h->at[h->n - 1].images++;
		return 0;
	}
	memcpy(h->last, s->id, 32);
	h->seen = 1;
	h->listed = h->n < HINT_MAX;
	if (!h->listed) {
		h->others++;
		return 0;
	}
	memcpy(h->at[h->n].id, s->id, 32);
	h->at[h->n].time_ns = s->time_ns;
	h->at[h->n].images = 1;
	char *o = h->at[h->n].where;
	size_t w, cap = sizeof(h->at[h->n].where);
	int k = snprintf(o, cap, "host %s", s->host ? s->host : "");
	w = k > 0 ? (size_t)k : 0;
	for (uint32_t i = 0; i < s->npaths && w < cap; i++) {
		k = snprintf(o + w, cap - w, ", %s", s->paths[i]);
		w += k > 0 ? (size_t)k : 0;
	}
	h->n++;
	return 0;
}

/* After "no DICOM file of snapshot X matches": the snapshots whose
 * catalogs match (searched as `find` does), each with the command to run. */
static void hint_elsewhere(struct cli_ctx *ctx, struct mv_repo *r, const struct mv_find_query *q)
{
	struct hint h;
	struct mv_find_stats fs;
	struct mv_error err = {0};
	char id[9], t[CLI_FMT_LEN];
	const char *cmd = ctx->cmd ? ctx->cmd : "restore";

	memset(&h, 0, sizeof(h));
	memset(&fs, 0, sizeof(fs));
	if (mv_find(r, q, hint_match, &h, &fs, &err) != 0)
		return; /* only a hint */
	if (h.n == 0 && fs.damaged)
		cli_report("note: ",
		           "no other snapshot matches either, but %llu damaged snapshot%s or "
		           "catalog%s could not be searched",
		           (unsigned long long)fs.damaged, fs.damaged == 1 ? "" : "s",
		           fs.damaged == 1 ? "" : "s");
	else if (h.n == 0)
		cli_report("note: ", "no other snapshot matches either ('medvault find' searches "
		                     "them all)");
	if (h.n == 0)
		return;
	for (size_t i = 0; i < h.n; i++) {
		mv_hex(h.at[i].id, 4, id);
		cli_error("it matches in snapshot %s (%s, %s; %llu image%s): medvault %s %s ...",
		          id, cli_fmt_time_local(h.at[i].time_ns, t), h.at[i].where,
		          (unsigned long long)h.at[i].images, h.at[i].images == 1 ? "" : "s", cmd,
		          id);
	}
	if (h.others)
		cli_error("and in %zu older snapshot%s ('medvault find' lists them)", h.others,
		          h.others == 1 ? "" : "s");
}

int cli_select_files(struct cli_ctx *ctx, struct mv_repo *r, const struct mv_snapshot *s,
                     const struct mv_find_query *q, const char *verb, struct cli_selection *sel)
{
	struct mv_error err = {0};
	char id[9];

	mv_hex(s->id, 4, id);
	if (s->ncatalog == 0) {
		cli_error("snapshot %s has no DICOM catalog (it holds no DICOM file, or an older "
		          "medvault made it): no file matches; %s",
		          id, verb);
		hint_elsewhere(ctx, r, q);
		return CLI_EXIT_FATAL;
	}
	int rc = mv_catalog_select_paths(r, s, q, &sel->paths, &sel->n, &err);
	if (rc != 0)
		return cli_fail(rc, &err);
	if (sel->n == 0) {
		char what[1024];
		describe(q, what, sizeof(what));
		cli_error("no DICOM file of snapshot %s matches %s; %s", id, what, verb);
		hint_elsewhere(ctx, r, q);
		return CLI_EXIT_FATAL;
	}
	if (!ctx->g.quiet && !ctx->g.json)
		cli_report("", "%zu file%s chosen through the DICOM catalog", sel->n,
		           sel->n == 1 ? "" : "s");
	return 0;
}

int cli_selection_has(void *arg, const char *path, const struct mv_node *n)
{
	const struct cli_selection *sel = arg;

	(void)n;
	return mv_catalog_paths_has(sel->paths, sel->n, path);
}

void cli_selection_release(struct cli_selection *sel)
{
	mv_catalog_paths_free(sel->paths, sel->n);
	sel->paths = NULL;
	sel->n = 0;
}

int cli_snapshot_target_open(struct cli_ctx *ctx, const char *cmd, const char *arg,
                             const char *path, const struct mv_find_query *q, const char *verb,
                             struct cli_snapshot_target *t)
{
	char *colon;
	int rc;

	memset(t, 0, sizeof(*t));
	t->name = strdup(arg);
	if (!t->name) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	colon = strchr(t->name, ':');
	if (colon && !path) {
		*colon = '\0';
		path = colon + 1;
	}
	if (path) {
		t->sub = cli_snapshot_path(path);
		if (!t->sub) {
			cli_error("out of memory");
			return CLI_EXIT_FATAL;
		}
	}
	rc = cli_open_snapshot(ctx, cmd, t->name, &t->r, &t->lock, &t->snap);
	if (rc == 0 && cli_query_given(q))
		rc = cli_select_files(ctx, t->r, &t->snap, q, verb, &t->sel);
	return rc;
}

void cli_snapshot_target_release(struct cli_snapshot_target *t)
{
	cli_selection_release(&t->sel);
	mv_snapshot_release(&t->snap);
	mv_lock_release(t->lock);
	mv_repo_close(t->r);
	free(t->sub);
	free(t->name);
}

int cli_query_check(const char *cmd, const struct mv_find_query *q)
{
	struct mv_find_matcher *m = NULL;
	struct mv_error err = {0};
	int rc = mv_find_matcher_new(q, &m, &err);

	mv_find_matcher_free(m);
	if (rc == 0)
		return 0;
	return rc == MV_ERR_USAGE ? cli_usage_error(cmd, "%s", err.msg) : cli_fail(rc, &err);
}
