#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "cli/select.h"
#include "core/medical/find.h"
#include "core/util/grow.h"
#include "core/repo/index.h"

enum { O_MODALITY = 1, O_DATE };

/* the options of CLI_QUERY_OPTS, and their -uid spellings */
static const struct cli_opt_spec opts[] = {
    {"patient", 0, 1, CLI_Q_PATIENT},
    {"patient-id", 0, 1, CLI_Q_PATIENT_ID},
    {"study-uid", 0, 1, CLI_Q_STUDY},
    {"study", 0, 1, CLI_Q_STUDY},
    {"series-uid", 0, 1, CLI_Q_SERIES},
    {"series", 0, 1, CLI_Q_SERIES},
    {"modality", 0, 1, O_MODALITY},
    {"date", 0, 1, O_DATE},
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--patient NAME",
     "patient name containing NAME, ignoring case, accents and the ^ separators "
     "(\"dupont\", \"Dupont Marie\", \"DUPONT^MARIE\" and \"dupónt\" all find DUPONT^MARIE)"},
    {"--patient-id ID", "PatientID equal to ID"},
    {"--study-uid UID", "StudyInstanceUID equal to UID (also --study)"},
    {"--series-uid UID", "SeriesInstanceUID equal to UID (also --series)"},
    {"--modality MOD", "Modality equal to MOD, ignoring case (MR, CT, CR, US, ...)"},
    {"--date A..B", "StudyDate from A to B inclusive (YYYY-MM-DD; either end may be left out: "
                    "\"2019-01-01..\"); a single date, month (2019-03) or year (2019) also works"},
    {NULL, NULL},
};

const struct cli_help cmd_find_help = {
    "medvault find -r LOCATION [--patient NAME] [--patient-id ID] [--study-uid UID]\n"
    "              [--series-uid UID] [--modality MOD] [--date A..B] [--json]",
    "find DICOM images in the catalog of every snapshot",
    "Searches the DICOM catalog that each backup records (patient, study, series,\n"
    "modality, date of every DICOM file, also inside ZIP, tar and ISO files) in every\n"
    "snapshot, newest first, without reading any image data. At least one criterion is\n"
    "needed; an image must meet all of them. Each image (SOPInstanceUID) is listed once,\n"
    "from the newest snapshot where it matches; copies at several paths of one snapshot\n"
    "are each listed. A file inside an archive is shown as ARCHIVE[MEMBER].\n"
    "\n"
    "The table shows the snapshot, its date, the patient's name and id, the study date,\n"
    "modality and description, and the path. With --json, prints one array of objects:\n"
    "snapshot, snapshot_time, path, member (null outside archives), size, patient_name,\n"
    "patient_id, birth_date, sex, study_uid, series_uid, sop_uid, study_date, modality,\n"
    "study_description, series_description, accession, institution, and matched (the\n"
    "criteria that matched: patient, patient_id, study_uid, series_uid, modality,\n"
    "date). Finding nothing is not an error (exit 0); damaged catalogs are skipped with\n"
    "a warning and give exit code 4. Snapshots made before medvault kept a catalog are\n"
    "not searched.",
    help_opts,
    "medvault find -r /media/usb/backup --patient dupont\n"
    "# Mme Dupont's 2019 knee MRI\n"
    "medvault find -r /media/usb/backup --patient \"Dupont Marie\" --modality MR --date 2019\n"
    "medvault find -r /media/usb/backup --study-uid 1.2.826.0.1.3680043.2.1125.2.7 --json\n",
};

/* One line of the table, its cells escaped for the terminal. */
struct row {
	char snap[9];
	char time[CLI_FMT_LEN];
	char *cells[5]; /* patient name, patient id, study date, modality, description */
	char *path;     /* path, and [member] */
};

#define NCELLS     5
#define CELL_LIMIT 32 /* widest a cell is shown (path excepted) */

struct find_state {
	struct cli_ctx *ctx;
	struct cli_json j;
	struct row *rows;
	size_t n, cap;
	int oom;
};

static void json_match(struct cli_json *j, const struct mv_find_match *m)
{
	const struct mv_dicom_info *d = m->entry->info;
	char t[CLI_FMT_LEN];

	cli_json_begin_object(j, NULL);
	cli_json_hex(j, "snapshot", m->snapshot->id, 32);
	cli_json_str(j, "snapshot_time", cli_fmt_time_rfc3339(m->snapshot->time_ns, t));
	cli_json_str(j, "path", m->entry->path);
	cli_json_str(j, "member", m->entry->member);
	cli_json_u64(j, "size", m->entry->size);
	cli_json_str(j, "patient_name", d->patient_name);
	cli_json_str(j, "patient_id", d->patient_id);
	cli_json_str(j, "birth_date", d->birth_date);
	cli_json_str(j, "sex", d->sex);
	cli_json_str(j, "study_uid", d->study_uid);
	cli_json_str(j, "series_uid", d->series_uid);
	cli_json_str(j, "sop_uid", d->sop_uid);
	cli_json_str(j, "study_date", d->study_date);
	cli_json_str(j, "modality", d->modality);
	cli_json_str(j, "study_description", d->study_desc);
	cli_json_str(j, "series_description", d->series_desc);
	cli_json_str(j, "accession", d->accession);
	cli_json_str(j, "institution", d->institution);
	cli_json_begin_array(j, "matched");
	for (unsigned b = 0; b < MV_FIND_NCRIT; b++)
		if (m->matched & (1u << b))
			cli_json_str(j, NULL, mv_find_criterion_name(1u << b));
	cli_json_end_array(j);
	cli_json_end_object(j);
}

/* "20190315" -> "2019-03-15"; other values as they are. */
static void fmt_date(const char *da, char out[CLI_FMT_LEN])
{
	size_t n = strlen(da);
	int digits = n == 8;
	for (size_t i = 0; digits && i < 8; i++)
		digits = da[i] >= '0' && da[i] <= '9';
	if (digits)
		snprintf(out, CLI_FMT_LEN, "%.4s-%.2s-%.2s", da, da + 4, da + 6);
	else
		snprintf(out, CLI_FMT_LEN, "%s", da);
}

/* An escaped cell, cut to CELL_LIMIT code points, the last one "…". */
static char *cell(const char *s)
{
	char *e = cli_term_dup(s, strlen(s));
	size_t w = 0;

	if (!e || cli_term_width(e) <= CELL_LIMIT)
		return e;
	for (char *p = e; *p; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && ++w == CELL_LIMIT) {
			size_t keep = (size_t)(p - e);
			char *cut = malloc(keep + 4);
			if (cut) {
				memcpy(cut, e, keep);
				memcpy(cut + keep, "\xe2\x80\xa6", 4); /* U+2026 and the NUL */
			}
			free(e);
			return cut;
		}
	}
	return e;
}

static int add_row(struct find_state *st, const struct mv_find_match *m)
{
	const struct mv_dicom_info *d = m->entry->info;
	char date[CLI_FMT_LEN];
	struct row *r;

	if (mv_grow(st->rows, st->cap, st->n + 1))
		return -1;
	r = &st->rows[st->n];
	memset(r, 0, sizeof(*r));
	st->n++;
	mv_hex(m->snapshot->id, 4, r->snap);
	cli_fmt_time_local(m->snapshot->time_ns, r->time);
	r->time[16] = '\0'; /* to the minute */
	fmt_date(d->study_date, date);
	r->cells[0] = cell(d->patient_name);
	r->cells[1] = cell(d->patient_id);
	r->cells[2] = cell(date);
	r->cells[3] = cell(d->modality);
	r->cells[4] = cell(d->study_desc);
	r->path = cli_term_dup(m->entry->path, strlen(m->entry->path));
	if (r->path && m->entry->member) {
		char *mem = cli_term_dup(m->entry->member, strlen(m->entry->member));
		size_t pl = strlen(r->path), ml = mem ? strlen(mem) : 0;
		char *both = mem ? malloc(pl + ml + 3) : NULL;
		if (both)
			snprintf(both, pl + ml + 3, "%s[%s]", r->path, mem);
		free(mem);
		free(r->path);
		r->path = both;
	}
	for (int i = 0; i < NCELLS; i++)
		if (!r->cells[i])
			return -1;
	return r->path ? 0 : -1;
}

static int on_match(void *arg, const struct mv_find_match *m)
{
	struct find_state *st = arg;

	if (st->ctx->g.json) {
		json_match(&st->j, m);
		return 0;
	}
	if (add_row(st, m) != 0) {
		st->oom = 1;
		return MV_ERR_NOMEM;
	}
	return 0;
}

static void pad(size_t width, size_t used)
{
	for (; used < width; used++)
		putchar(' ');
}

static void print_table(const struct find_state *st)
{
	static const char *const head[NCELLS] = {"Patient", "Patient ID", "Study date", "Mod",
	                                         "Description"};
	size_t w[NCELLS], total = 8 + 2 + 16 + 2;

	for (int c = 0; c < NCELLS; c++) {
		w[c] = strlen(head[c]);
		for (size_t i = 0; i < st->n; i++)
			if (cli_term_width(st->rows[i].cells[c]) > w[c])
				w[c] = cli_term_width(st->rows[i].cells[c]);
		total += w[c] + 2;
	}
	printf("%-8s  %-16s  ", "Snapshot", "Date");
	for (int c = 0; c < NCELLS; c++) {
		printf("%s", head[c]);
		pad(w[c] + 2, strlen(head[c]));
	}
	printf("Path\n");
	for (size_t i = 0; i < total + 4; i++)
		putchar('-');
	putchar('\n');
	for (size_t i = 0; i < st->n; i++) {
		const struct row *r = &st->rows[i];
		printf("%-8s  %-16s  ", r->snap, r->time);
		for (int c = 0; c < NCELLS; c++) {
			fputs(r->cells[c], stdout);
			pad(w[c] + 2, cli_term_width(r->cells[c]));
		}
		printf("%s\n", r->path);
	}
}

static void free_rows(struct find_state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		for (int c = 0; c < NCELLS; c++)
			free(st->rows[i].cells[c]);
		free(st->rows[i].path);
	}
	free(st->rows);
}

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct mv_find_query *q)
{
	struct cli_opt_iter it;
	int c;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (cli_query_option(c, it.value, q))
			continue;
		switch (c) {
		case O_MODALITY:
			q->modality = it.value;
			break;
		case O_DATE:
			q->dates = it.value;
			break;
		case CLI_OPT_ARG:
			return cli_usage_error("find", "unexpected argument '%s'", it.value);
		default:
			return cli_usage_error("find", "%s", it.err);
		}
	}
	if (ctx->g.help)
		return 0;
	if (!q->patient && !q->patient_id && !q->study_uid && !q->series_uid && !q->modality &&
	    !q->dates)
		return cli_usage_error("find", "what to look for? give --patient, --patient-id, "
		                               "--study-uid, --series-uid, --modality or --date");
	return 0;
}

static void print_footer(const struct cli_ctx *ctx, const struct mv_find_stats *fs)
{
	if (ctx->g.quiet)
		return;
	if (fs->matches == 0)
		printf("no DICOM image matches (%llu catalog entr%s in %llu snapshot%s searched)\n",
		       (unsigned long long)fs->entries, fs->entries == 1 ? "y" : "ies",
		       (unsigned long long)fs->snapshots, fs->snapshots == 1 ? "" : "s");
	else
		printf("%llu image%s found (%llu catalog entr%s in %llu snapshot%s searched)\n",
		       (unsigned long long)fs->matches, fs->matches == 1 ? "" : "s",
		       (unsigned long long)fs->entries, fs->entries == 1 ? "y" : "ies",
		       (unsigned long long)fs->snapshots, fs->snapshots == 1 ? "" : "s");
}

int cmd_find(int argc, char **argv, struct cli_ctx *ctx)
{
	struct mv_find_query q;
	struct mv_find_stats fs;
	struct mv_error err = {0};
	struct find_state st;
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	int rc;

	memset(&q, 0, sizeof(q));
	memset(&st, 0, sizeof(st));
	memset(&fs, 0, sizeof(fs));
	rc = parse(argc, argv, ctx, &q);
	if (rc != 0)
		return rc;
	if (ctx->g.help)
		return cli_help_command("find");
	st.ctx = ctx;
	rc = cli_query_check("find", &q);
	if (rc != 0)
		return rc;

	rc = cli_repo_open_reader(ctx, "find", 1u << MV_T_CATALOG, &r, &lock);
	if (rc != 0)
		goto out;
	if (ctx->g.json) {
		cli_json_init(&st.j, stdout);
		cli_json_begin_array(&st.j, NULL);
	}
	mv_error_clear(&err);
	rc = mv_find(r, &q, on_match, &st, &fs, &err);
	if (ctx->g.json)
		cli_json_end_array(&st.j);
	if (rc != 0) {
		rc = st.oom ? cli_fail(MV_ERR_NOMEM, NULL) : cli_fail(rc, &err);
		goto out;
	}
	if (!ctx->g.json) {
		if (st.n)
			print_table(&st);
		print_footer(ctx, &fs);
	}
	if (fs.without_catalog && !ctx->g.quiet)
		cli_report(
		    "note: ",
		    "%llu snapshot%s no DICOM catalog and %s not searched (no DICOM file, or "
		    "made by an older medvault)",
		    (unsigned long long)fs.without_catalog,
		    fs.without_catalog == 1 ? " has" : "s have",
		    fs.without_catalog == 1 ? "was" : "were");
	if (fs.damaged) {
		cli_warning("%llu snapshot%s or catalog%s could not be read and %s skipped (%s); "
		            "run 'medvault check'",
		            (unsigned long long)fs.damaged, fs.damaged == 1 ? "" : "s",
		            fs.damaged == 1 ? "" : "s", fs.damaged == 1 ? "was" : "were",
		            err.msg[0] ? err.msg : "damaged");
		rc = CLI_EXIT_INTEGRITY;
	}
out:
	free_rows(&st);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}
