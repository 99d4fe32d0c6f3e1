#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/inventory_out.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/repo_open.h"
#include "core/medical/scan.h"
#include "core/repo/index.h"
#include "core/wipe/proof.h"

enum { O_VERIFY = 1 };

static const struct cli_opt_spec opts[] = {
    {"verify", 0, 0, O_VERIFY},
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--verify", "with -r: read back and authenticate the repository's copy of every file "
                 "found backed up (as 'medvault wipe' does before it removes anything)"},
    {NULL, NULL},
};

const struct cli_help cmd_scan_help = {
    "medvault scan [-r LOCATION [--verify]] [-v] [--json] PATH...",
    "inventory the DICOM data under paths, and which of it a repository holds",
    "Walks PATHs (symbolic links are not followed) and counts the DICOM data found:\n"
    "instances, distinct patients (by patient ID, else name and birth date), studies and\n"
    "series, bytes, by modality and by year of study, the range of study dates; ZIP, tar\n"
    "and ISO files (patient CDs) are read without extracting anything, and those holding\n"
    "DICOM or that cannot be read (corrupt, encrypted) are counted. Without a repository\n"
    "only the first bytes of each file are read (the header, never the pixel data): a\n"
    "drive is inventoried in a fraction of the time it takes to read it. No patient name\n"
    "is printed.\n"
    "\n"
    "With -r, every file is also read whole and its content compared with every file of\n"
    "every snapshot of the repository: each file is \"in snapshot ID\" (the newest one\n"
    "holding the same bytes) or \"not backed up\", with totals. Each file is read once, on\n"
    "all cores. \"Backed up\" then means only that a snapshot records the same content: it\n"
    "is looked up in the index, nothing of the repository is read, and a damaged copy\n"
    "would not be seen.\n"
    "\n"
    "With --verify, the data of every file found backed up is also read back from the\n"
    "repository, decrypted and authenticated (each blob once, pack by pack), as 'medvault\n"
    "wipe' does before it removes anything: a file whose copy is damaged or missing is\n"
    "\"damaged in repository\" (named on stderr with the reason), not backed up, and the\n"
    "exit code is 4. Run this before wiping a drive.\n"
    "\n"
    "-v prints one line per file: its class and its path. --json prints one object per\n"
    "line: with -r or -v one {\"message_type\":\"file\", \"path\", \"size\", \"dicom\",\n"
    "\"archive\", \"status\", \"snapshot\", \"verified\"} per file (status \"backed_up\",\n"
    "\"not_backed_up\", \"unreadable\" or, with --verify, \"damaged\" with a \"reason\"), then\n"
    "{\"message_type\":\"summary\", \"files\", \"bytes\", \"patients\", \"studies\", \"series\",\n"
    "\"instances\", \"date_range\", \"modalities\", \"by_modality\", \"by_year\",\n"
    "\"archives_with_dicom\", \"archives_unreadable\", and with -r \"backed_up\" (its\n"
    "\"verified\" false unless --verify), \"not_backed_up\" and, with --verify, \"damaged\"}.\n"
    "Exit code 4 when --verify found a damaged copy, else 3 when some files could not be\n"
    "read.",
    help_opts,
    "medvault scan /media/old-disk\n"
    "# which files the repository already holds (reads and hashes every byte)\n"
    "medvault scan -r /media/usb/backup /media/old-disk\n"
    "# the same, reading the repository's copies back: before a wipe\n"
    "medvault scan -r /media/usb/backup --verify /media/old-disk\n"
    "# the files a wipe would have to leave alone\n"
    "medvault scan -r /media/usb/backup -v /media/old-disk | grep '^not backed up'\n"
    "medvault scan --json /media/old-disk /home/dr/exports\n",
};

struct scan_out {
	struct cli_ctx *ctx;
	const struct mv_snapshot *snaps;
	size_t nsnaps;
	int with_repo;
	int verify;
	int per_file;
};

/* The JSON names of the archive kinds and statuses; null for the others. */
static const char *const archive_names[] = {
    [MV_SCAN_ARCHIVE_DICOM] = "dicom",
    [MV_SCAN_ARCHIVE_NO_DICOM] = "no_dicom",
    [MV_SCAN_ARCHIVE_UNREADABLE] = "unreadable",
};

static const char *const status_names[] = {
    [MV_SCAN_BACKED_UP] = "backed_up",
    [MV_SCAN_NOT_BACKED_UP] = "not_backed_up",
    [MV_SCAN_UNREADABLE] = "unreadable",
    [MV_SCAN_DAMAGED] = "damaged",
};

static const char *enum_name(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : NULL;
}
#define NAME_OF(names, v) enum_name(names, sizeof(names) / sizeof(*(names)), (unsigned)(v))

/* The short id of snapshot k into id ("?" when out of range). */
static const char *snap_hex(const struct scan_out *o, long k, char id[9])
{
	if (k < 0 || (size_t)k >= o->nsnaps)
		return "?";
	mv_hex(o->snaps[k].id, 4, id);
	return id;
}

static void file_json(const struct scan_out *o, const struct mv_scan_file *f)
{
	struct cli_json j;
	char id[9];

	cli_json_init(&j, stdout);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "message_type", "file");
	cli_json_str(&j, "path", f->path);
	cli_json_u64(&j, "size", f->size);
	cli_json_bool(&j, "dicom", f->dicom);
	cli_json_str(&j, "archive", NAME_OF(archive_names, f->archive));
	if (f->archive != MV_SCAN_NOT_ARCHIVE)
		cli_json_u64(&j, "members", f->members);
	cli_json_str(&j, "status", NAME_OF(status_names, f->status));
	if ((f->status == MV_SCAN_BACKED_UP || f->status == MV_SCAN_DAMAGED) &&
	    (size_t)f->snapshot < o->nsnaps) {
		cli_json_hex(&j, "snapshot", o->snaps[f->snapshot].id, 32);
		mv_hex(o->snaps[f->snapshot].id, 4, id);
		cli_json_str(&j, "snapshot_short_id", id);
	}
	if (f->status == MV_SCAN_BACKED_UP) /* read back, or only looked up */
		cli_json_bool(&j, "verified", o->verify);
	if (f->status == MV_SCAN_DAMAGED)
		cli_json_str(&j, "reason", f->what);
	cli_json_end_object(&j);
}

static void file_text(const struct scan_out *o, const struct mv_scan_file *f)
{
	char label[64], id[9];

	if (f->status == MV_SCAN_UNREADABLE) {
		snprintf(label, sizeof(label), "unreadable");
	} else if (f->status == MV_SCAN_DAMAGED) {
		snprintf(label, sizeof(label), "damaged in repository");
	} else if (o->with_repo) {
		if (f->status == MV_SCAN_BACKED_UP && (size_t)f->snapshot < o->nsnaps) {
			mv_hex(o->snaps[f->snapshot].id, 4, id);
			snprintf(label, sizeof(label), "in snapshot %s", id);
		} else {
			snprintf(label, sizeof(label), "not backed up");
		}
	} else if (f->dicom) {
		snprintf(label, sizeof(label), "DICOM");
	} else if (f->archive == MV_SCAN_ARCHIVE_DICOM) {
		snprintf(label, sizeof(label), "archive, %llu DICOM",
		         (unsigned long long)f->members);
	} else if (f->archive == MV_SCAN_ARCHIVE_NO_DICOM) {
		snprintf(label, sizeof(label), "archive, no DICOM");
	} else if (f->archive == MV_SCAN_ARCHIVE_UNREADABLE) {
		snprintf(label, sizeof(label), "archive, unreadable");
	} else {
		snprintf(label, sizeof(label), "other");
	}
	printf("%-20s  ", label);
	cli_term_put(stdout, f->path, strlen(f->path));
	putchar('\n');
}

static void on_file(void *arg, const struct mv_scan_file *f)
{
	struct scan_out *o = arg;

	char id[9];

	if (f->status == MV_SCAN_DAMAGED) {
		cli_progress_clear_line();
		cli_warning("'%s': NOT safely backed up: the repository's copy (snapshot %.8s) "
		            "fails: %s",
		            f->path, snap_hex(o, f->snapshot, id), f->what);
	}
	if (!o->per_file)
		return;
	cli_progress_clear_line();
	if (o->ctx->g.json)
		file_json(o, f);
	else
		file_text(o, f);
}

static void on_warn(struct cli_events *e, const char *path, const char *msg)
{
	if (e->ctx->g.quiet && e->ctx->g.json)
		return;
	cli_warning("'%s': %s", path, msg);
}

static void summary_json(const struct scan_out *o, const char *const *paths, size_t npaths,
                         const struct mv_scan_result *res, const struct mv_inv_report *r)
{
	struct cli_json j;
	char id[9], t[CLI_FMT_LEN];

	cli_json_init(&j, stdout);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "message_type", "summary");
	cli_json_begin_array(&j, "paths");
	for (size_t i = 0; i < npaths; i++)
		cli_json_str(&j, NULL, paths[i]);
	cli_json_end_array(&j);
	cli_json_begin_object(&j, "scanned");
	cli_json_u64(&j, "files", res->files);
	cli_json_u64(&j, "bytes", res->bytes);
	cli_json_u64(&j, "dirs", res->dirs);
	cli_json_u64(&j, "specials", res->specials);
	cli_json_u64(&j, "unreadable", res->unreadable);
	cli_json_u64(&j, "dicom_files", res->dicom_files);
	cli_json_u64(&j, "archives", res->archives);
	cli_json_end_object(&j);
	cli_inv_json(&j, r);
	if (o->with_repo) {
		cli_json_begin_object(&j, "backed_up");
		cli_json_u64(&j, "files", res->backed_files);
		cli_json_u64(&j, "bytes", res->backed_bytes);
		/* false: looked up in the index only, nothing read back */
		cli_json_bool(&j, "verified", o->verify);
		cli_json_begin_array(&j, "snapshots");
		for (size_t i = o->nsnaps; i-- > 0;) {
			if (i >= res->nsnap || !res->snap_files[i])
				continue;
			cli_json_begin_object(&j, NULL);
			cli_json_hex(&j, "id", o->snaps[i].id, 32);
			mv_hex(o->snaps[i].id, 4, id);
			cli_json_str(&j, "short_id", id);
			cli_json_str(&j, "time", cli_fmt_time_rfc3339(o->snaps[i].time_ns, t));
			cli_json_u64(&j, "files", res->snap_files[i]);
			cli_json_u64(&j, "bytes", res->snap_bytes[i]);
			cli_json_end_object(&j);
		}
		cli_json_end_array(&j);
		cli_json_end_object(&j);
		cli_json_begin_object(&j, "not_backed_up");
		cli_json_u64(&j, "files", res->unbacked_files);
		cli_json_u64(&j, "bytes", res->unbacked_bytes);
		cli_json_end_object(&j);
		if (o->verify) {
			cli_json_begin_object(&j, "damaged");
			cli_json_u64(&j, "files", res->damaged_files);
			cli_json_u64(&j, "bytes", res->damaged_bytes);
			cli_json_end_object(&j);
		}
	}
	cli_json_double(&j, "seconds", res->seconds);
	cli_json_end_object(&j);
}

static void summary_text(const struct scan_out *o, const struct mv_scan_result *res,
                         const struct mv_inv_report *r)
{
	char a[CLI_FMT_LEN], t[CLI_FMT_LEN], id[9];

	printf("Scanned %llu file%s, %s in %s (%llu director%s)\n", (unsigned long long)res->files,
	       res->files == 1 ? "" : "s", cli_fmt_bytes(res->bytes, a),
	       cli_fmt_duration(res->seconds, t), (unsigned long long)res->dirs,
	       res->dirs == 1 ? "y" : "ies");
	if (r->files == 0) {
		printf("\nNo DICOM data found.\n");
	} else {
		printf("\nDICOM data:\n");
		printf("  patients    %llu\n", (unsigned long long)r->patients);
		printf("  studies     %llu\n", (unsigned long long)r->studies);
		printf("  series      %llu\n", (unsigned long long)r->series);
		printf("  instances   %llu in %llu files (%s)", (unsigned long long)r->instances,
		       (unsigned long long)r->files, cli_fmt_bytes(r->bytes, a));
		if (r->members)
			printf(", %llu of them inside archives", (unsigned long long)r->members);
		putchar('\n');
		if (r->first_date[0])
			printf("  dates       %s to %s\n", r->first_date, r->last_date);
		fputs("  modalities  ", stdout);
		cli_inv_print_modalities(stdout, r);
		putchar('\n');
		cli_put_count("  ", r->unidentified, " files name no patient");
		cli_put_count("  ", r->flagged,
		              " files have damaged or truncated headers (counted as read)");
		putchar('\n');
		cli_inv_print_tables(stdout, r);
	}
	if (r->archives_dicom || r->archives_unreadable || r->dicomdirs)
		putchar('\n');
	cli_put_count("Archives holding DICOM: ", r->archives_dicom, "");
	cli_put_count(
	    "Archives that could not be read (corrupt or encrypted): ", r->archives_unreadable, "");
	cli_put_count("DICOMDIR files (media directories): ", r->dicomdirs, "");
	cli_put_count("\nFiles or directories that could not be read: ", res->unreadable, "");
	if (!o->with_repo)
		return;
	printf("\nCompared with the repository (%zu snapshot%s):\n", o->nsnaps,
	       o->nsnaps == 1 ? "" : "s");
	printf("  backed up:      %llu files, %s (%s)\n", (unsigned long long)res->backed_files,
	       cli_fmt_bytes(res->backed_bytes, a),
	       o->verify ? "read back and authenticated"
	                 : "looked up in the index, not read; use --verify to read it back");
	for (size_t i = o->nsnaps; i-- > 0;) {
		if (i >= res->nsnap || !res->snap_files[i])
			continue;
		mv_hex(o->snaps[i].id, 4, id);
		printf("    newest in snapshot %s (%s): %llu files, %s\n", id,
		       cli_fmt_time_local(o->snaps[i].time_ns, t),
		       (unsigned long long)res->snap_files[i],
		       cli_fmt_bytes(res->snap_bytes[i], a));
	}
	printf("  not backed up:  %llu files, %s\n", (unsigned long long)res->unbacked_files,
	       cli_fmt_bytes(res->unbacked_bytes, a));
	if (o->verify)
		printf("  damaged in repository: %llu files, %s%s\n",
		       (unsigned long long)res->damaged_files, cli_fmt_bytes(res->damaged_bytes, a),
		       res->damaged_files
		           ? " (NOT safely backed up: named above; see 'medvault check "
		             "--read-data')"
		           : "");
	if (res->unbacked_files)
		printf("  (list them with: medvault scan -r LOCATION -v PATH | grep '^not backed "
		       "up')\n");
}

/* The repository location as a local directory to leave out of the scan. */
static const char *local_repo_dir(struct cli_ctx *ctx)
{
	const char *loc = cli_repo_location(ctx);
	if (!loc || !strncmp(loc, "sftp:", 5) || !strncmp(loc, "s3:", 3))
		return NULL;
	return loc;
}

static int run(struct cli_ctx *ctx, const char *const *paths, size_t npaths, int verify)
{
	struct scan_out out = {.ctx = ctx, .verify = verify};
	struct mv_scan_opts o = {.paths = paths, .npaths = npaths, .threads = ctx->g.threads};
	struct mv_scan_result res;
	struct mv_error err = {0};
	struct mv_inventory *inv = NULL;
	struct mv_content_set *cs = NULL;
	struct mv_proof *proof = NULL;
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	const struct mv_inv_report *rep;
	struct cli_events ev;
	int events = 0, rc;

	memset(&res, 0, sizeof(res));
	inv = mv_inventory_new(0);
	if (!inv) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	if (cli_repo_location(ctx)) {
		uint32_t types = (1u << MV_T_TREE) | (verify ? 1u << MV_T_DATA : 0);
		rc = cli_repo_open_reader(ctx, "scan", types, &r, &lock);
		if (rc != 0)
			goto out;
	}
	cli_events_init(&ev, ctx, on_warn, NULL);
	events = 1;
	if (r) {
		if (verify)
			rc = mv_proof_load_all(r, &ev.ev, &proof, &err);
		else
			rc = mv_content_set_load(r, &ev.ev, &cs, &err);
		if (rc != 0) {
			cli_progress_clear_line();
			rc = cli_fail(rc, &err);
			goto out;
		}
		out.with_repo = 1;
		out.snaps = verify ? mv_proof_snapshots(proof, &out.nsnaps)
		                   : mv_content_set_snapshots(cs, &out.nsnaps);
		o.r = r;
		o.have = cs;
		o.proof = proof;
		o.skip_dir = local_repo_dir(ctx);
	}
	out.per_file = ctx->g.verbose || (ctx->g.json && out.with_repo);
	o.on_file = on_file;
	o.arg = &out;
	rc = mv_scan(&o, inv, &ev.ev, &res, &err);
	cli_events_done(&ev);
	events = 0;
	if (rc != 0) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	rep = mv_inventory_report(inv);
	if (!rep) {
		cli_error("out of memory");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	if (ctx->g.json)
		summary_json(&out, paths, npaths, &res, rep);
	else if (!ctx->g.quiet)
		summary_text(&out, &res, rep);
	rc = res.damaged_files ? CLI_EXIT_INTEGRITY
	     : res.unreadable  ? CLI_EXIT_PARTIAL
	                       : CLI_EXIT_OK;
out:
	if (events)
		cli_events_done(&ev);
	mv_scan_result_release(&res);
	mv_content_set_free(cs);
	mv_proof_free(proof);
	mv_inventory_free(inv);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

int cmd_scan(int argc, char **argv, struct cli_ctx *ctx)
{
	struct cli_opt_iter it;
	const char **paths = calloc((size_t)argc, sizeof(*paths));
	size_t npaths = 0;
	int c, rc, verify = 0;

	if (!paths) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (c == O_VERIFY) {
			verify = 1;
			continue;
		}
		if (c != CLI_OPT_ARG) {
			free(paths);
			return cli_usage_error("scan", "%s", it.err);
		}
		paths[npaths++] = it.value;
	}
	if (ctx->g.help)
		rc = cli_help_command("scan");
	else if (npaths == 0)
		rc = cli_usage_error("scan", "what should be scanned? give one or more PATHs");
	else if (verify && !cli_repo_location(ctx))
		rc = cli_usage_error("scan", "--verify reads a repository back: give it with -r");
	else
		rc = run(ctx, paths, npaths, verify);
	free(paths);
	return rc;
}
