#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "core/ops/repair.h"
#include "core/repo/crypto.h"

enum { O_DRY_RUN = 1, O_FORGET };

static const struct cli_opt_spec opts[] = {
    {"dry-run", 'n', 0, O_DRY_RUN},
    {"forget", 0, 0, O_FORGET},
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"-n, --dry-run", "read and report what would be done; write and delete nothing"},
    {"--forget", "snapshots: remove each damaged snapshot once its repaired copy is written"},
    {NULL, NULL},
};

const struct cli_help cmd_repair_help = {
    "medvault repair index|snapshots|packs -r LOCATION [--dry-run] [--forget] [PACKID...]",
    "rebuild the index, salvage damaged packs, mend damaged snapshots",
    "Mends a repository after a loss (a deleted or damaged file), in this order:\n"
    "\n"
    "repair index: reads the header of every pack, writes index files naming every blob\n"
    "they hold, then removes the old index files. A lost or damaged index file is cured\n"
    "this way. Packs whose header cannot be read are named (run repair packs for them);\n"
    "index entries of packs that are gone are dropped, named.\n"
    "\n"
    "repair packs [PACKID...]: reads each named pack (none named: every pack, whole,\n"
    "which takes as long as check --read-data), authenticates every blob, stores the\n"
    "intact ones of a damaged pack in new packs and indexes them, then deletes the\n"
    "damaged pack. Blobs that cannot be read are named: run repair snapshots next.\n"
    "\n"
    "repair snapshots: writes a new snapshot (same time, host, paths and tags, the tag\n"
    "\"repaired\", the original as parent) for each snapshot whose trees refer to data that\n"
    "is lost: a file with lost data is dropped, a folder that cannot be read becomes\n"
    "empty, each named; the DICOM catalog keeps the entries of the files kept (or is\n"
    "dropped, said so). With --forget the damaged originals are removed, so that check\n"
    "passes again. A later backup of the intact originals stores the lost files again.\n"
    "\n"
    "Each writes new data and index files before it deletes anything: interrupted, it is\n"
    "simply run again. Takes an exclusive lock. Exit code 0 when the repair is done, 4 when\n"
    "damage remains that it cannot mend (a pack header that cannot be read, a damaged pack\n"
    "of which nothing names the blobs), named.",
    help_opts,
    "medvault check -r /media/usb/backup --read-data\n"
    "medvault repair index -r /media/usb/backup\n"
    "medvault repair packs -r /media/usb/backup --dry-run\n"
    "medvault repair snapshots -r /media/usb/backup --forget\n",
};

enum what { R_INDEX, R_SNAPSHOTS, R_PACKS };

struct args {
	enum what what;
	struct mv_repair_opts o;
	uint8_t (*packs)[32];
	size_t npacks;
};

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct args *a)
{
	struct cli_opt_iter it;
	const char *sub = NULL;
	int c;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		switch (c) {
		case O_DRY_RUN:
			a->o.dry_run = 1;
			break;
		case O_FORGET:
			a->o.forget = 1;
			break;
		case CLI_OPT_ARG:
			if (!sub) {
				sub = it.value;
				break;
			}
			if (strlen(it.value) != 64 || mv_unhex(it.value, a->packs[a->npacks], 32))
				return cli_usage_error(
				    "repair", "'%s' is not a pack id (64 hex digits)", it.value);
			a->npacks++;
			break;
		default:
			return cli_usage_error("repair", "%s", it.err);
		}
	}
	if (ctx->g.help)
		return 0;
	if (!sub)
		return cli_usage_error("repair", "say what to repair: index, snapshots or packs");
	if (!strcmp(sub, "index"))
		a->what = R_INDEX;
	else if (!strcmp(sub, "snapshots"))
		a->what = R_SNAPSHOTS;
	else if (!strcmp(sub, "packs"))
		a->what = R_PACKS;
	else
		return cli_usage_error("repair", "unknown repair '%s' (index, snapshots or packs)",
		                       sub);
	if (a->npacks && a->what != R_PACKS)
		return cli_usage_error("repair", "only 'repair packs' takes pack ids");
	if (a->o.forget && a->what != R_SNAPSHOTS)
		return cli_usage_error("repair", "--forget goes with 'repair snapshots' only");
	a->o.packs = (const uint8_t(*)[32])a->packs;
	a->o.npacks = a->npacks;
	return 0;
}

static void put_item(struct cli_ctx *ctx, const char *type, const char *path, const char *msg)
{
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", type);
		cli_json_str(&j, "item", path);
		cli_json_str(&j, "message", msg);
		cli_json_end_object(&j);
		return;
	}
	cli_term_put(stdout, path, strlen(path));
	fputs(": ", stdout);
	cli_term_put(stdout, msg, strlen(msg));
	putchar('\n');
}

static void on_warn(struct cli_events *e, const char *path, const char *msg)
{
	put_item(e->ctx, "error", path, msg);
}

/* What was done, on stdout (not a warning). */
static void on_note(void *arg, const char *path, const char *msg)
{
	struct cli_events *e = arg;
	if (e->ctx->g.quiet)
		return;
	pthread_mutex_lock(&e->lock);
	cli_progress_clear_line();
	put_item(e->ctx, "note", path ? path : "", msg ? msg : "");
	pthread_mutex_unlock(&e->lock);
}

/* The test hook: MEDVAULT_TEST_CRASH_AT=NAME kills the process as it
 * passes the commit point NAME (the end-to-end tests of an interrupted
 * repair). */
static void crash_point(void *arg, const char *name)
{
	const char *at = arg;
	if (at && !strcmp(at, name)) {
		fflush(stdout);
		raise(SIGKILL);
	}
}

static void summary(struct cli_ctx *ctx, const struct args *a, const struct mv_repair_result *r)
{
	const char *would = a->o.dry_run ? "would be " : "";
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "summary");
		cli_json_bool(&j, "dry_run", a->o.dry_run);
		cli_json_u64(&j, "packs", r->packs);
		cli_json_u64(&j, "blobs", r->blobs);
		cli_json_u64(&j, "damaged_headers", r->damaged_headers);
		cli_json_u64(&j, "missing_packs", r->missing_packs);
		cli_json_u64(&j, "index_files_written", r->index_written);
		cli_json_u64(&j, "index_files_removed", r->index_removed);
		cli_json_u64(&j, "index_entries_dropped", r->entries_dropped);
		cli_json_u64(&j, "packs_damaged", r->packs_damaged);
		cli_json_u64(&j, "packs_removed", r->packs_removed);
		cli_json_u64(&j, "blobs_salvaged", r->blobs_salvaged);
		cli_json_u64(&j, "blobs_lost", r->blobs_lost);
		cli_json_u64(&j, "snapshots", r->snapshots);
		cli_json_u64(&j, "snapshots_repaired", r->snapshots_repaired);
		cli_json_u64(&j, "snapshots_removed", r->snapshots_removed);
		cli_json_u64(&j, "files_lost", r->files_lost);
		cli_json_u64(&j, "dirs_lost", r->dirs_lost);
		cli_json_u64(&j, "catalogs_dropped", r->catalogs_dropped);
		cli_json_end_object(&j);
		return;
	}
	switch (a->what) {
	case R_INDEX:
		printf("read %llu pack headers (%llu damaged), %llu blobs; %llu pack(s) missing\n",
		       (unsigned long long)r->packs, (unsigned long long)r->damaged_headers,
		       (unsigned long long)r->blobs, (unsigned long long)r->missing_packs);
		if (a->o.dry_run)
			printf("dry run: the index would be rewritten from the pack headers\n");
		else
			printf("wrote %llu index file(s), removed %llu old one(s)\n",
			       (unsigned long long)r->index_written,
			       (unsigned long long)r->index_removed);
		break;
	case R_PACKS:
		printf("%llu damaged pack(s) of %llu: %llu blob(s) %ssalvaged, %llu lost; %llu "
		       "pack(s) removed\n",
		       (unsigned long long)r->packs_damaged, (unsigned long long)r->packs,
		       (unsigned long long)r->blobs_salvaged, would,
		       (unsigned long long)r->blobs_lost, (unsigned long long)r->packs_removed);
		if (r->blobs_lost)
			printf("the files that used the lost blobs: run 'medvault repair "
			       "snapshots'\n");
		break;
	case R_SNAPSHOTS:
		printf("%llu of %llu snapshot(s) %srepaired: %llu file(s) dropped, %llu "
		       "directory(ies) emptied; %llu original(s) removed\n",
		       (unsigned long long)r->snapshots_repaired, (unsigned long long)r->snapshots,
		       would, (unsigned long long)r->files_lost, (unsigned long long)r->dirs_lost,
		       (unsigned long long)r->snapshots_removed);
		if (r->snapshots_repaired && !a->o.forget)
			printf("the damaged originals are kept (check still reports them): "
			       "'--forget' removes them\n");
		if (r->files_lost)
			printf("to store the lost files again: back up the intact originals\n");
		break;
	}
}

static int run(struct cli_ctx *ctx, struct args *a)
{
	struct mv_repair_result res;
	struct mv_error err = {0};
	struct cli_events ev;
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = cli_repo_open(ctx, "repair", &r);
	if (rc == 0)
		rc = cli_repo_lock(r, 1, &lock);
	if (rc != 0)
		goto out;
	cli_events_init(&ev, ctx, on_warn, NULL);
	ev.ev.note = on_note;
	a->o.point = crash_point;
	a->o.point_arg = getenv("MEDVAULT_TEST_CRASH_AT");
	if (a->what == R_INDEX)
		rc = mv_repair_index(r, &a->o, &ev.ev, &res, &err);
	else if (a->what == R_PACKS)
		rc = mv_repair_packs(r, &a->o, &ev.ev, &res, &err);
	else
		rc = mv_repair_snapshots(r, &a->o, &ev.ev, &res, &err);
	cli_events_done(&ev);
	if (rc != 0 && rc != MV_ERR_INTEGRITY) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	summary(ctx, a, &res);
	if (rc != 0) /* done, but damage remains that this repair cannot mend */
		rc = cli_fail(rc, &err);
out:
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

int cmd_repair(int argc, char **argv, struct cli_ctx *ctx)
{
	struct args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.packs = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*a.packs));
	if (!a.packs) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	rc = parse(argc, argv, ctx, &a);
	if (rc == 0 && ctx->g.help)
		rc = cli_help_command("repair");
	else if (rc == 0)
		rc = run(ctx, &a);
	free(a.packs);
	return rc;
}
