#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/inventory_out.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/repo_open.h"
#include "cli/select.h"
#include "core/medical/impact.h"
#include "core/medical/scan.h"
#include "core/repo/index.h"

enum { O_PATH = 1, O_LIST_PATIENTS };

// clang-format off
static const struct cli_opt_spec opts[] = {
	{"path", 0, 1, O_PATH},
	{"list-patients", 0, 0, O_LIST_PATIENTS},
	/* --path is taken (a path inside the snapshot): --snapshot-path */
	{"host", 0, 1, CLI_S_HOST}, {"snapshot-path", 0, 1, CLI_S_PATH},
	{NULL, 0, 0, 0},
};
// clang-format on

static const struct cli_help_opt help_opts[] = {
    {"--path PATH", "with a snapshot: count only what lies at or below PATH inside it"},
    {"--list-patients",
     "also list each patient: name, patient ID, birth date, sex, studies, instances"},
    {"SNAPSHOT latest",
     "the newest snapshot (narrowed by --host and --snapshot-path); when a snapshot file is "
     "damaged (it may have been newer), the newest intact one is used, the damaged files are "
     "named and the exit code is 4"},
    {"--host HOST", "with 'latest': the newest snapshot of HOST (repeatable: of any of them)"},
    {"--snapshot-path PATH", "with 'latest': the newest snapshot whose backed-up paths include "
                             "PATH (repeatable: all of them; --path of restore and ls)"},
    {NULL, NULL},
};

const struct cli_help cmd_impact_help = {
    "medvault impact -r LOCATION SNAPSHOT [--path PATH] [--list-patients]\n"
    "       medvault impact PATH... [--list-patients]",
    "what a lost or exposed copy held, for a breach notification (GDPR art. 33)",
    "Reports what a personal data breach notification (GDPR art. 33) asks about a lost,\n"
    "stolen or exposed copy of imaging data: the categories of personal data, the\n"
    "approximate number of persons (distinct patients, by patient ID, else name and birth\n"
    "date) and of records (instances, series, studies), the period covered (study dates),\n"
    "the modalities and institutions, and whether the copy was encrypted.\n"
    "\n"
    "With a repository, SNAPSHOT (an id, a unique prefix, or \"latest\") is assessed from\n"
    "its DICOM catalog, without reading the files; --path limits it to what lay at or\n"
    "below a path, e.g. the folder that was copied to the lost disk. A repository copy is\n"
    "encrypted (XChaCha20-Poly1305 with the repository key). Without a repository, PATHs\n"
    "are scanned now (the headers only): a drive that was found, or a copy of what was\n"
    "lost; such a copy is not encrypted by medvault, and the report says whether it lies\n"
    "on an encrypted volume (dm-crypt/LUKS). When MEDVAULT_REPOSITORY is set but -r is not\n"
    "given, an argument naming an existing file or directory is scanned as a path.\n"
    "\n"
    "Patient names are never printed unless --list-patients is given. --json prints one\n"
    "object with the integer fields patients, studies, series, instances, files, bytes,\n"
    "date_range {first, last}, modalities, institutions, encrypted (true for a snapshot,\n"
    "or for paths all on dm-crypt volumes), encryption (\"repository\", \"volume\" or\n"
    "\"none\"), categories, by_modality, by_year, and patient_list with --list-patients.\n"
    "Exit code 3 when some files of PATHs could not be read.",
    help_opts,
    "medvault impact -r /media/usb/backup latest\n"
    "# the folder that was on the stolen laptop, as backed up last night\n"
    "medvault impact -r /media/usb/backup latest --path /home/dr/exports\n"
    "# a drive found in a drawer, never backed up\n"
    "medvault impact /media/found-disk\n"
    "medvault impact --json /media/found-disk > impact.json\n",
};

struct impact_args {
	const char **args;
	size_t nargs;
	const char *path;
	int list_patients;
};

/* What was assessed and how it was protected. */
struct source {
	int snapshot_mode;
	const struct mv_snapshot *snap;
	char *subpath; /* snapshot mode: NULL or "" for the whole snapshot (owned) */
	int found;     /* subpath: some entry lies at or below it */
	const char *const *paths;
	size_t npaths;
	int encrypted;      /* by medvault, or the volume */
	int volume_crypt;   /* paths: all on dm-crypt */
	int volume_unknown; /* paths: some device could not be determined */
	char device[512];   /* the volume of the first path */
	struct mv_scan_result scan;
};

static void on_warn(struct cli_events *e, const char *path, const char *msg)
{
	(void)e;
	cli_warning("'%s': %s", path, msg);
}

static const char *encryption_text(const struct source *s)
{
	if (s->snapshot_mode)
		return "repository";
	if (s->volume_crypt)
		return "volume";
	return "none";
}

/* The categories of personal data the headers hold: where struct
 * mv_inv_report counts the files holding each, how JSON and text name them;
 * identity first (NIDENTITY of them), then care. */
enum { NIDENTITY = 4, NCATEGORIES = 8 };
static const struct {
	size_t offset; /* of the count in struct mv_inv_report */
	const char *json, *text;
} categories[NCATEGORIES] = {
    {offsetof(struct mv_inv_report, with_name), "patient_names", "names"},
    {offsetof(struct mv_inv_report, with_patient_id), "patient_ids", "patient IDs"},
    {offsetof(struct mv_inv_report, with_birth_date), "birth_dates", "birth dates"},
    {offsetof(struct mv_inv_report, with_sex), "sex", "sex"},
    {offsetof(struct mv_inv_report, with_study_date), "study_dates", "examination dates"},
    {offsetof(struct mv_inv_report, with_description), "study_descriptions", "descriptions"},
    {offsetof(struct mv_inv_report, with_accession), "accession_numbers", "accession numbers"},
    {offsetof(struct mv_inv_report, with_institution), "institutions", "institutions"},
};

static uint64_t category_files(const struct mv_inv_report *r, size_t i)
{
	return *(const uint64_t *)(const void *)((const char *)r + categories[i].offset);
}

static void print_json(const struct source *s, const struct mv_inv_report *r, int list)
{
	struct cli_json j;
	char t[CLI_FMT_LEN];

	cli_json_init(&j, stdout);
	cli_json_begin_object(&j, NULL);
	cli_json_begin_object(&j, "source");
	if (s->snapshot_mode) {
		cli_json_str(&j, "type", "snapshot");
		cli_json_hex(&j, "snapshot", s->snap->id, 32);
		cli_json_str(&j, "time", cli_fmt_time_rfc3339(s->snap->time_ns, t));
		cli_json_str(&j, "host", s->snap->host ? s->snap->host : "");
		cli_json_str(&j, "path", s->subpath && s->subpath[0] ? s->subpath : NULL);
		cli_json_bool(&j, "has_catalog", s->snap->ncatalog > 0);
	} else {
		cli_json_str(&j, "type", "paths");
		cli_json_begin_array(&j, "paths");
		for (size_t i = 0; i < s->npaths; i++)
			cli_json_str(&j, NULL, s->paths[i]);
		cli_json_end_array(&j);
		cli_json_u64(&j, "files_scanned", s->scan.files);
		cli_json_u64(&j, "unreadable", s->scan.unreadable);
	}
	cli_json_end_object(&j);
	cli_json_bool(&j, "encrypted", s->encrypted);
	cli_json_str(&j, "encryption", encryption_text(s));
	if (s->snapshot_mode)
		cli_json_str(&j, "cipher", "XChaCha20-Poly1305");
	else if (s->device[0])
		cli_json_str(&j, "device", s->device);
	cli_json_begin_array(&j, "categories");
	if (r->files)
		cli_json_str(&j, NULL, "medical_images");
	for (size_t i = 0; i < NCATEGORIES; i++)
		if (category_files(r, i))
			cli_json_str(&j, NULL, categories[i].json);
	cli_json_end_array(&j);
	cli_inv_json(&j, r);
	if (list)
		cli_inv_json_patients(&j, r);
	cli_json_end_object(&j);
}

/* "<label>a, b, c\n": the text names of categories from..to-1 found; nothing
 * when none is. */
static void print_categories(const char *label, const struct mv_inv_report *r, size_t from,
                             size_t to)
{
	int n = 0;

	for (size_t i = from; i < to; i++) {
		if (!category_files(r, i))
			continue;
		fputs(n++ ? ", " : label, stdout);
		fputs(categories[i].text, stdout);
	}
	if (n)
		putchar('\n');
}

static void print_source(const struct source *s)
{
	char t[CLI_FMT_LEN], id[9];

	if (s->snapshot_mode) {
		mv_hex(s->snap->id, 4, id);
		printf("Copy assessed:       snapshot %s of host ", id);
		cli_term_put(stdout, s->snap->host, strlen(s->snap->host));
		printf(", %s", cli_fmt_time_local(s->snap->time_ns, t));
		putchar('\n');
		if (s->subpath && s->subpath[0]) {
			fputs("                     only what lay at or below ", stdout);
			cli_term_put(stdout, s->subpath, strlen(s->subpath));
			fputs(s->found ? "\n" : " (no DICOM file there)\n", stdout);
		}
		printf(
		    "Encrypted:           yes: a medvault repository, XChaCha20-Poly1305 "
		    "authenticated\n"
		    "                     encryption with the repository key; without the key "
		    "or its\n"
		    "                     password the data are unintelligible (art. 34(3)(a))\n");
		return;
	}
	fputs("Copy assessed:       ", stdout);
	for (size_t i = 0; i < s->npaths; i++) {
		if (i)
			fputs(", ", stdout);
		cli_term_put(stdout, s->paths[i], strlen(s->paths[i]));
	}
	printf(" (scanned now)\n");
	if (s->volume_crypt) {
		fputs("Encrypted:           not by medvault, but on an encrypted volume "
		      "(dm-crypt/LUKS",
		      stdout);
		if (s->device[0]) {
			fputs(": ", stdout);
			cli_term_put(stdout, s->device, strlen(s->device));
		}
		fputs(")\n", stdout);
	} else {
		fputs("Encrypted:           no: not encrypted by medvault", stdout);
		if (!s->volume_unknown)
			fputs(", and not on an encrypted volume", stdout);
		putchar('\n');
	}
}

#define INSTITUTIONS_SHOWN 20

/* One per line, at most INSTITUTIONS_SHOWN (--json has them all). */
static void print_institutions(const struct mv_inv_report *r)
{
	size_t n = r->ninstitutions < INSTITUTIONS_SHOWN ? r->ninstitutions : INSTITUTIONS_SHOWN;

	fputs("Institutions:        ", stdout);
	if (!r->ninstitutions)
		fputs("(none named)\n", stdout);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs("                     ", stdout);
		cli_term_put(stdout, r->institutions[i], strlen(r->institutions[i]));
		putchar('\n');
	}
	if (n < r->ninstitutions || r->institutions_truncated)
		printf("                     ... and more (see --json)\n");
}

static void print_text(const struct source *s, const struct mv_inv_report *r, int list)
{
	char a[CLI_FMT_LEN];

	printf("Personal data breach assessment (GDPR art. 33)\n\n");
	print_source(s);
	if (r->files == 0) {
		printf("\nNo DICOM data found: no medical images or patient headers to report.\n");
		if (s->snapshot_mode && s->snap->ncatalog == 0)
			printf(
			    "(this snapshot has no DICOM catalog: it holds no DICOM file, or was "
			    "made by a\nversion of medvault without catalogs)\n");
		return;
	}
	printf("Data subjects:       patients\n");
	printf("Persons concerned:   about %llu patient%s", (unsigned long long)r->patients,
	       r->patients == 1 ? "" : "s");
	if (r->unidentified)
		printf(" (and %llu files naming no patient)", (unsigned long long)r->unidentified);
	putchar('\n');
	printf("Records concerned:   %llu images (DICOM instances) in %llu series and %llu "
	       "studies;\n"
	       "                     %llu files, %s\n",
	       (unsigned long long)r->instances, (unsigned long long)r->series,
	       (unsigned long long)r->studies, (unsigned long long)r->files,
	       cli_fmt_bytes(r->bytes, a));
	printf("Categories of data:  health data: medical images (");
	cli_inv_print_modalities(stdout, r);
	printf(")\n");
	print_categories("                     identity: ", r, 0, NIDENTITY);
	print_categories("                     care: ", r, NIDENTITY, NCATEGORIES);
	if (r->first_date[0])
		printf("Period:              %s to %s (study dates)\n", r->first_date,
		       r->last_date);
	fputs("Modalities:          ", stdout);
	cli_inv_print_modalities(stdout, r);
	putchar('\n');
	print_institutions(r);
	cli_put_count("Archives with DICOM: ", r->archives_dicom,
	              " (ZIP, tar or ISO files; counted above)");
	cli_put_count("Unreadable archives: ", r->archives_unreadable,
	              " (corrupt or encrypted: their content is not counted)");
	cli_put_count("Unreadable files:    ", s->snapshot_mode ? 0 : s->scan.unreadable,
	              " (not counted)");
	printf("\n");
	cli_inv_print_tables(stdout, r);
	if (list) {
		printf("\nPatients (personal health data: do not send this list unencrypted):\n");
		cli_inv_print_patients(stdout, r);
	} else {
		printf("\nPatient names are not shown; add --list-patients to list them.\n");
	}
}

/* --path as the engine names paths inside a snapshot; a relative path is
 * taken from the current directory (snapshots record absolute paths). */
static char *snapshot_subpath(const char *p)
{
	char cwd[PATH_MAX], *abs, *out;
	size_t n;

	if (!p || p[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return cli_snapshot_path(p ? p : "");
	n = strlen(cwd) + strlen(p) + 2;
	if (!(abs = malloc(n)))
		return NULL;
	snprintf(abs, n, "%s/%s", cwd, p);
	out = cli_snapshot_path(abs);
	free(abs);
	return out;
}

static int assess_snapshot(struct cli_ctx *ctx, const struct impact_args *a,
                           struct mv_inventory *inv, struct source *s, struct mv_repo **rp,
                           struct mv_snapshot *snap)
{
	struct mv_error err = {0};
	struct mv_impact_result res;
	struct cli_events ev;
	struct mv_lock *lock = NULL;
	char *sub = NULL;
	int rc;

	if (a->nargs != 1)
		return cli_usage_error("impact", "%s",
		                       a->nargs
		                           ? "give one SNAPSHOT"
		                           : "which snapshot? give an id, a prefix or 'latest'");
	/* the lock is mv_repo_lock(*rp), released by run() */
	rc = cli_repo_open_reader(ctx, "impact", 1u << MV_T_CATALOG, rp, &lock);
	if (rc != 0)
		return rc;
	rc = cli_find_snapshot(ctx, *rp, a->args[0], snap);
	if (rc != 0)
		return rc;
	sub = snapshot_subpath(a->path);
	if (!sub) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	cli_events_init(&ev, ctx, on_warn, NULL);
	rc = mv_impact_snapshot(*rp, NULL, snap, sub, inv, &ev.ev, &res, &err);
	cli_events_done(&ev);
	if (rc != 0) {
		free(sub);
		return cli_fail(rc, &err);
	}
	s->snapshot_mode = 1;
	s->snap = snap;
	s->subpath = sub; /* freed by the caller */
	s->found = res.found;
	s->encrypted = 1;
	return 0;
}

static int assess_paths(struct cli_ctx *ctx, const struct impact_args *a, struct mv_inventory *inv,
                        struct source *s)
{
	struct mv_scan_opts o = {.paths = a->args, .npaths = a->nargs, .threads = ctx->g.threads};
	struct mv_error err = {0};
	struct cli_events ev;
	int rc;

	if (a->nargs == 0)
		return cli_usage_error("impact", "give one or more PATHs, or -r LOCATION SNAPSHOT");
	if (a->path)
		return cli_usage_error("impact", "--path needs a snapshot (-r LOCATION SNAPSHOT)");
	cli_events_init(&ev, ctx, on_warn, NULL);
	rc = mv_scan(&o, inv, &ev.ev, &s->scan, &err);
	cli_events_done(&ev);
	if (rc != 0)
		return cli_fail(rc, &err);
	s->paths = a->args;
	s->npaths = a->nargs;
	s->volume_crypt = 1;
	for (size_t i = 0; i < a->nargs; i++) {
		char dev[512];
		enum mv_volume_crypt v = mv_volume_encryption(a->args[i], dev, sizeof(dev));
		if (i == 0)
			snprintf(s->device, sizeof(s->device), "%s", dev);
		if (v != MV_VOLUME_DMCRYPT)
			s->volume_crypt = 0;
		if (v == MV_VOLUME_UNKNOWN)
			s->volume_unknown = 1;
	}
	s->encrypted = s->volume_crypt;
	return 0;
}

/* A snapshot with -r; with MEDVAULT_REPOSITORY only, unless the argument
 * names something on this machine. */
static int snapshot_mode(struct cli_ctx *ctx, const struct impact_args *a)
{
	struct stat st;

	if (ctx->g.repo)
		return 1;
	if (!cli_repo_location(ctx))
		return 0;
	return !(a->nargs >= 1 && lstat(a->args[0], &st) == 0);
}

static int run(struct cli_ctx *ctx, const struct impact_args *a)
{
	struct source s;
	struct mv_snapshot snap;
	struct mv_repo *r = NULL;
	struct mv_inventory *inv;
	const struct mv_inv_report *rep;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&snap, 0, sizeof(snap));
	inv = mv_inventory_new(a->list_patients ? MV_INV_KEEP_PATIENTS : 0);
	if (!inv) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	if (snapshot_mode(ctx, a))
		rc = assess_snapshot(ctx, a, inv, &s, &r, &snap);
	else
		rc = assess_paths(ctx, a, inv, &s);
	if (rc != 0)
		goto out;
	rep = mv_inventory_report(inv);
	if (!rep) {
		cli_error("out of memory");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	if (ctx->g.json)
		print_json(&s, rep, a->list_patients);
	else
		print_text(&s, rep, a->list_patients);
	rc = !s.snapshot_mode && s.scan.unreadable ? CLI_EXIT_PARTIAL : CLI_EXIT_OK;
out:
	free(s.subpath);
	mv_scan_result_release(&s.scan);
	mv_snapshot_release(&snap);
	mv_inventory_free(inv);
	mv_lock_release(r ? mv_repo_lock(r) : NULL);
	mv_repo_close(r);
	return rc;
}

int cmd_impact(int argc, char **argv, struct cli_ctx *ctx)
{
	struct impact_args a;
	struct cli_opt_iter it;
	int c, rc;

	memset(&a, 0, sizeof(a));
	a.args = calloc((size_t)argc, sizeof(*a.args));
	if (!a.args) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (cli_snapshot_option(ctx, c, it.value)) {
			continue;
		} else if (c == O_PATH) {
			a.path = it.value;
		} else if (c == O_LIST_PATIENTS) {
			a.list_patients = 1;
		} else if (c == CLI_OPT_ARG) {
			a.args[a.nargs++] = it.value;
		} else {
			free(a.args);
			return cli_usage_error("impact", "%s", it.err);
		}
	}
	rc = ctx->g.help ? cli_help_command("impact") : run(ctx, &a);
	free(a.args);
	return rc;
}
