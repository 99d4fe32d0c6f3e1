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
#include "core/ops/restore.h"

enum {
	O_TARGET = 1,
	O_INCLUDE,
	O_EXCLUDE,
	O_OVERWRITE,
	O_DEVICES,
	O_SETUID,
};

static const struct cli_opt_spec opts[] = {
    {"target", 't', 1, O_TARGET},
    {"include", 'i', 1, O_INCLUDE},
    {"exclude", 'e', 1, O_EXCLUDE},
    {"overwrite", 0, 1, O_OVERWRITE},
    {"devices", 0, 0, O_DEVICES},
    {"setuid", 0, 0, O_SETUID},
    CLI_QUERY_OPTS,
    CLI_SNAPSHOT_OPTS,
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"-i, --include PATTERN",
     "restore only paths or names matching PATTERN (shell wildcards; repeatable)"},
    {"-e, --exclude PATTERN", "do not restore paths or names matching PATTERN (repeatable)"},
    {"-t, --target DIR", "restore into DIR (required; created with its parents if missing)"},
    {"--overwrite WHEN",
     "files that exist in DIR and differ from the snapshot: never replace them (default: "
     "they are named and the exit code is 1), always replace, or replace if-changed (size or "
     "modification time differs)"},
    {"--devices", "also make device nodes (as root); by default they are only named"},
    {"--setuid", "keep set-user-id and set-group-id bits of files (dropped by default)"},
    {"--patient NAME",
     "restore only the DICOM files of patients whose name contains NAME, ignoring case, "
     "accents and the ^ separators (as 'medvault find --patient')"},
    {"--patient-id ID", "restore only the DICOM files whose PatientID is ID"},
    {"--study UID", "restore only the DICOM files of study UID (StudyInstanceUID)"},
    {"--series UID", "restore only the DICOM files of series UID (SeriesInstanceUID)"},
    CLI_SNAPSHOT_HELP,
    {NULL, NULL},
};

const struct cli_help cmd_restore_help = {
    "medvault restore -r LOCATION SNAPSHOT[:SUBPATH] --target DIR [options]",
    "restore files from a snapshot",
    "Restores SNAPSHOT (an id, a unique prefix of one, or \"latest\") into DIR, or only\n"
    "SUBPATH of it. Every byte is authenticated and every file's content is verified.\n"
    "\n"
    "Each file is written under a temporary name (.medvault-*.part) in its folder and\n"
    "takes its real name only when complete: if the restore is interrupted, run the\n"
    "same command again and it completes the restore, keeping the files already\n"
    "restored. The exit code is 0 only when every selected file in DIR equals the\n"
    "snapshot. An existing file is compared by content (never by size and time alone);\n"
    "one that differs, or that appears while the restore runs, is never replaced\n"
    "unless --overwrite says so: it is named and the exit code is 1.\n"
    "\n"
    "When data in the repository is damaged, only the files using it fail: each is\n"
    "named on stderr as \"damaged: 'PATH'\" and not written, everything else is\n"
    "restored, and the exit code is 4. When DIR's disk is full or read-only, the\n"
    "restore stops with exit code 1, naming the cause, and removes its temporary files.\n"
    "Files that could not be read when backed up are named and not restored (exit code\n"
    "3 when nothing else went wrong). Another restore into the same DIR at the same\n"
    "time is refused (exit code 11). Folders and files are made through folder handles,\n"
    "never following a link, so a local user cannot redirect a restore run as root.\n"
    "\n"
    "--patient, --patient-id, --study and --series choose files through the snapshot's\n"
    "DICOM catalog (all given criteria must match; see 'medvault find'): a file is\n"
    "restored when one of its DICOM images matches, and a ZIP, tar or ISO file holding a\n"
    "matching image is restored whole. When nothing matches, nothing is restored and the\n"
    "exit code is 1.\n"
    "\n"
    "With --json: one line per problem {\"message_type\":\"error\",\"item\",\"message\"},\n"
    "then a summary object {\"message_type\":\"summary\", \"files_restored\", ...}.",
    help_opts,
    "medvault restore -r /media/usb/backup latest --target /srv/restored\n"
    "# only one folder of the snapshot\n"
    "medvault restore -r /media/usb/backup latest:/srv/imaging/2019 --target /tmp/2019\n"
    "medvault restore -r /media/usb/backup 1a2b3c4d --target /srv/restored --include 'DUPONT*'\n"
    "# one patient's images, found by name in the DICOM catalog\n"
    "medvault restore -r /media/usb/backup latest --patient \"DUPONT^MARIE\" --target /tmp/dupont\n"
    "medvault restore -r /media/usb/backup latest --study 1.2.826.0.1.3680043.2.1125.2.7 "
    "--target /tmp/study\n",
};

struct restore_args {
	struct mv_restore_opts o;
	const char **includes, **excludes;
	const char *snapshot;       /* SNAPSHOT[:SUBPATH] as given */
	struct mv_find_query query; /* DICOM catalog selection; all NULL: none */
};

static int parse_overwrite(const char *v, enum mv_overwrite *out)
{
	if (strcmp(v, "never") == 0)
		*out = MV_OVERWRITE_NEVER;
	else if (strcmp(v, "always") == 0)
		*out = MV_OVERWRITE_ALWAYS;
	else if (strcmp(v, "if-changed") == 0)
		*out = MV_OVERWRITE_IF_CHANGED;
	else
		return -1;
	return 0;
}

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct restore_args *a)
{
	struct cli_opt_iter it;
	int c;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (cli_query_option(c, it.value, &a->query) ||
		    cli_snapshot_option(ctx, c, it.value))
			continue;
		switch (c) {
		case O_TARGET:
			a->o.target = it.value;
			break;
		case O_INCLUDE:
			a->includes[a->o.nincludes++] = it.value;
			break;
		case O_EXCLUDE:
			a->excludes[a->o.nexcludes++] = it.value;
			break;
		case O_DEVICES:
			a->o.devices = 1;
			break;
		case O_SETUID:
			a->o.setuid = 1;
			break;
		case O_OVERWRITE:
			if (parse_overwrite(it.value, &a->o.overwrite) != 0)
				return cli_usage_error("restore",
				                       "--overwrite takes never, always or "
				                       "if-changed");
			break;
		case CLI_OPT_ARG:
			if (a->snapshot)
				return cli_usage_error("restore", "too many arguments");
			a->snapshot = it.value;
			break;
		default:
			return cli_usage_error("restore", "%s", it.err);
		}
	}
	if (ctx->g.help)
		return 0;
	if (!a->snapshot)
		return cli_usage_error("restore",
		                       "which snapshot? give an id, a prefix or 'latest'");
	if (!a->o.target || !*a->o.target)
		return cli_usage_error("restore", "where to? give --target DIR");
	if (cli_query_given(&a->query)) {
		int rc = cli_query_check("restore", &a->query);
		if (rc != 0)
			return rc;
	}
	a->o.includes = a->includes;
	a->o.excludes = a->excludes;
	a->o.threads = ctx->g.threads;
	return 0;
}

/* Appends "label value" to buf (cap bytes, *n used), after ", " when not
 * the first. */

static void on_warn(struct cli_events *e, const char *path, const char *msg)
{
	/* the engine also warns about metadata it could not set; damaged
	 * content is the warning whose message starts with "damaged" */
	cli_warn_item(path, msg);
	if (e->ctx->g.json)
		cli_json_error_item(stdout, path, msg);
}

static void print_summary(const struct cli_ctx *ctx, const struct mv_snapshot *s,
                          const struct mv_restore_result *res)
{
	char b[CLI_FMT_LEN], t[CLI_FMT_LEN];
	struct cli_json j;

	if (ctx->g.json) {
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "summary");
		cli_json_hex(&j, "snapshot_id", s->id, 32);
		cli_json_u64(&j, "files_restored", res->files);
		cli_json_u64(&j, "dirs_restored", res->dirs);
		cli_json_u64(&j, "bytes_restored", res->bytes);
		cli_json_u64(&j, "files_unchanged", res->unchanged);
		cli_json_u64(&j, "files_conflicting", res->conflicts);
		cli_json_u64(&j, "files_failed", res->failed);
		cli_json_u64(&j, "files_damaged", res->damaged);
		cli_json_u64(&j, "files_unreadable_at_backup", res->unreadable);
		cli_json_u64(&j, "devices_not_restored", res->not_restored);
		cli_json_double(&j, "seconds_elapsed", res->seconds);
		cli_json_end_object(&j);
		return;
	}
	if (!ctx->g.quiet)
		printf("restored %llu files, %llu directories, %s in %s\n",
		       (unsigned long long)res->files, (unsigned long long)res->dirs,
		       cli_fmt_bytes(res->bytes, b), cli_fmt_duration(res->seconds, t));
	if (res->unchanged > 0 && !ctx->g.quiet)
		printf("%llu file%s already in the target and equal to the snapshot\n",
		       (unsigned long long)res->unchanged, res->unchanged == 1 ? " was" : "s were");
	if (res->unreadable > 0)
		cli_warning("%llu file%s not readable when backed up and could not be restored "
		            "(named above)",
		            (unsigned long long)res->unreadable,
		            res->unreadable == 1 ? " was" : "s were");
	if (res->conflicts > 0)
		cli_error(
		    "%llu existing file%s differ%s from the snapshot and %s left as %s (named "
		    "above; use --overwrite always to replace)",
		    (unsigned long long)res->conflicts, res->conflicts == 1 ? "" : "s",
		    res->conflicts == 1 ? "s" : "", res->conflicts == 1 ? "was" : "were",
		    res->conflicts == 1 ? "it was" : "they were");
	if (res->failed > 0)
		cli_error("%llu file%s could not be written into the target (named above)",
		          (unsigned long long)res->failed, res->failed == 1 ? "" : "s");
	if (res->damaged > 0)
		cli_error("%llu file%s damaged in the repository and could not be restored "
		          "intact (named above)",
		          (unsigned long long)res->damaged, res->damaged == 1 ? " is" : "s are");
}

static int run(struct cli_ctx *ctx, struct restore_args *a)
{
	struct mv_restore_result res;
	struct mv_error err = {0};
	struct cli_events ev;
	struct cli_snapshot_target t;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = cli_snapshot_target_open(ctx, "restore", a->snapshot, NULL, &a->query,
	                              "nothing restored", &t);
	if (rc != 0)
		goto out;
	a->o.subpath = t.sub && t.sub[0] ? t.sub : NULL;
	if (cli_query_given(&a->query)) {
		a->o.filter = cli_selection_has;
		a->o.filter_arg = &t.sel;
	}
	cli_events_init(&ev, ctx, on_warn, NULL);
	rc = mv_restore(t.r, &t.snap, &a->o, &ev.ev, &res, &err);
	cli_events_done(&ev);
	if (rc != 0 && rc != MV_ERR_INTEGRITY && rc != MV_ERR_PARTIAL) {
		/* a fatal error: the restore stopped (its temporary files removed) */
		int stopped = rc == MV_ERR_INTERRUPTED ||
		              ((rc == MV_ERR_NOSPC || rc == MV_ERR_IO) && res.files > 0);
		rc = cli_fail(rc, &err);
		if (stopped && !ctx->g.quiet)
			cli_report("note: ",
			           "%llu files were restored before it stopped%s; run the same "
			           "command again to complete the restore",
			           (unsigned long long)res.files,
			           rc == CLI_EXIT_INTERRUPTED ? "" : " (once the cause is fixed)");
		goto out;
	}
	print_summary(ctx, &t.snap, &res);
	/* files not restored for a reason outside the repository: exit 1;
	 * files the snapshot holds no content for (unreadable at backup):
	 * exit 3, as the backup that made it */
	if (rc == MV_ERR_PARTIAL)
		rc = CLI_EXIT_FATAL;
	else if (rc == 0 && res.unreadable > 0)
		rc = CLI_EXIT_PARTIAL;
	else
		rc = cli_exit_code(rc);
out:
	cli_snapshot_target_release(&t);
	return rc;
}

int cmd_restore(int argc, char **argv, struct cli_ctx *ctx)
{
	struct restore_args a;
	size_t n = (size_t)argc;
	int rc;

	memset(&a, 0, sizeof(a));
	a.o.overwrite = MV_OVERWRITE_NEVER;
	a.includes = calloc(n, sizeof(*a.includes));
	a.excludes = calloc(n, sizeof(*a.excludes));
	if (!a.includes || !a.excludes) {
		cli_error("out of memory");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	rc = parse(argc, argv, ctx, &a);
	if (rc == 0)
		rc = ctx->g.help ? cli_help_command("restore") : run(ctx, &a);
out:
	free(a.includes);
	free(a.excludes);
	return rc;
}
