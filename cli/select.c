#include "cli/select.h"

#include <stdio.h>
#include <stdlib.h>

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
		return CLI_EXIT_FATAL;
	}
	int rc = mv_catalog_select_paths(r, s, q, &sel->paths, &sel->n, &err);
	if (rc != 0)
		return cli_fail(rc, &err);
	if (sel->n == 0) {
		char what[1024];
		describe(q, what, sizeof(what));
		cli_error("no DICOM file of snapshot %s matches %s; %s", id, what, verb);
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
