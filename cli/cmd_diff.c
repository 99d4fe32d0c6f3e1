#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "cli/select.h"
#include "core/ops/diff.h"
#include "core/repo/index.h"

static const struct cli_opt_spec opts[] = {
    CLI_SNAPSHOT_OPTS,
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    CLI_SNAPSHOT_HELP,
    {NULL, NULL},
};

const struct cli_help cmd_diff_help = {
    "medvault diff -r LOCATION SNAPSHOT1 SNAPSHOT2 [--json]",
    "show what changed between two snapshots",
    "Lists the files and directories that SNAPSHOT2 added (+), that it no longer holds\n"
    "(-), and that changed (M: content, or metadata only: mode, owner, modification\n"
    "time), walking both snapshots together (unchanged folders are not read). Every\n"
    "removed file is listed, also those below a removed folder. A summary line counts\n"
    "them; when both snapshots have a DICOM catalog, it also counts the patients and\n"
    "studies that were added and removed. With --json, one object per line:\n"
    "{\"message_type\":\"change\",\"path\",\"modifier\",\"type\",\"size\"} and at the end\n"
    "{\"message_type\":\"statistics\", ...}.",
    help_opts,
    "medvault diff -r /media/usb/backup 1a2b3c4d latest\n"
    "medvault diff -r /media/usb/backup 1a2b3c4d 5e6f7a8b --json\n",
};

struct diff_out {
	int json;
	uint64_t lines;
};

static const char *kind_name(uint8_t kind)
{
	static const char *const names[] = {"unknown", "file",    "dir", "symlink",
	                                    "fifo",    "chardev", "dev", "socket"};
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

static int on_change(void *arg, const struct mv_diff_item *it)
{
	struct diff_out *o = arg;
	char mod[3] = {(char)it->kind, '\0', '\0'};

	if (it->kind == MV_DIFF_CHANGED && !(it->what & MV_DIFF_CONTENT))
		mod[0] = 'U'; /* metadata only, as restic marks it */
	o->lines++;
	if (o->json) {
		struct cli_json j;
		cli_json_begin_message(&j, stdout, "change");
		cli_json_name(&j, "path", it->path, strlen(it->path));
		cli_json_str(&j, "modifier", mod);
		cli_json_str(&j, "type", kind_name(it->node->kind));
		cli_json_u64(&j, "size", it->node->size);
		if (it->old) {
			cli_json_u64(&j, "old_size", it->old->size);
			cli_json_bool(&j, "content", (it->what & MV_DIFF_CONTENT) != 0);
			cli_json_bool(&j, "metadata", (it->what & MV_DIFF_METADATA) != 0);
		}
		cli_json_end_object(&j);
	} else {
		printf("%-4s ", mod);
		cli_term_put(stdout, it->path, strlen(it->path));
		if (it->node->kind == MV_NODE_DIR)
			putchar('/');
		putchar('\n');
	}
	return ferror(stdout) ? MV_ERR_IO : 0;
}

static void json_counts(struct cli_json *j, const char *key, const struct mv_diff_counts *c)
{
	cli_json_begin_object(j, key);
	cli_json_u64(j, "files", c->files);
	cli_json_u64(j, "dirs", c->dirs);
	cli_json_u64(j, "others", c->others);
	cli_json_u64(j, "bytes", c->bytes);
	cli_json_end_object(j);
}

static void print_totals(const struct diff_out *o, const struct mv_diff_totals *t,
                         const struct mv_snapshot *a, const struct mv_snapshot *b)
{
	char ba[CLI_FMT_LEN], br[CLI_FMT_LEN];

	if (o->json) {
		struct cli_json j;
		cli_json_begin_message(&j, stdout, "statistics");
		cli_json_hex(&j, "source_snapshot", a->id, 32);
		cli_json_hex(&j, "target_snapshot", b->id, 32);
		json_counts(&j, "added", &t->added);
		json_counts(&j, "removed", &t->removed);
		json_counts(&j, "changed", &t->changed);
		if (t->catalogs) {
			cli_json_begin_object(&j, "dicom");
			cli_json_u64(&j, "patients_added", t->patients_added);
			cli_json_u64(&j, "patients_removed", t->patients_removed);
			cli_json_u64(&j, "studies_added", t->studies_added);
			cli_json_u64(&j, "studies_removed", t->studies_removed);
			cli_json_end_object(&j);
		}
		cli_json_end_object(&j);
		return;
	}
	if (o->lines)
		putchar('\n');
	printf("Files: %llu new, %llu removed, %llu changed\n", (unsigned long long)t->added.files,
	       (unsigned long long)t->removed.files, (unsigned long long)t->changed.files);
	printf("Dirs:  %llu new, %llu removed\n", (unsigned long long)t->added.dirs,
	       (unsigned long long)t->removed.dirs);
	if (t->added.others || t->removed.others || t->changed.others)
		printf("Other: %llu new, %llu removed, %llu changed\n",
		       (unsigned long long)t->added.others, (unsigned long long)t->removed.others,
		       (unsigned long long)t->changed.others);
	printf("Added: %s, removed: %s\n", cli_fmt_bytes(t->added.bytes, ba),
	       cli_fmt_bytes(t->removed.bytes, br));
	if (t->catalogs)
		printf(
		    "DICOM: %llu patients added, %llu removed; %llu studies added, %llu "
		    "removed\n",
		    (unsigned long long)t->patients_added, (unsigned long long)t->patients_removed,
		    (unsigned long long)t->studies_added, (unsigned long long)t->studies_removed);
}

static int run(struct cli_ctx *ctx, const char *n1, const char *n2)
{
	struct mv_snapshot a, b;
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	struct mv_error err = {0};
	struct mv_diff_totals t;
	struct diff_out o = {.json = ctx->g.json};
	struct mv_events ev = {.cancel = ctx->cancel};
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	rc = cli_repo_open_reader(ctx, "diff", (1u << MV_T_TREE) | (1u << MV_T_CATALOG), &r, &lock);
	if (rc == 0)
		rc = cli_find_snapshot(ctx, r, n1, &a);
	if (rc == 0)
		rc = cli_find_snapshot(ctx, r, n2, &b);
	if (rc != 0)
		goto out;
	rc = mv_diff(r, &a, &b, &ev, on_change, &o, &t, &err);
	if (rc == MV_ERR_IO && !err.msg[0]) {
		rc = CLI_EXIT_FATAL; /* main reports the write error */
		goto out;
	}
	if (rc) {
		cli_error("the diff is incomplete: %s", err.msg[0] ? err.msg : mv_strerror(rc));
		rc = cli_exit_code(rc);
		goto out;
	}
	print_totals(&o, &t, &a, &b);
	rc = ctx->damaged ? CLI_EXIT_INTEGRITY : CLI_EXIT_OK;
out:
	mv_snapshot_release(&a);
	mv_snapshot_release(&b);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

int cmd_diff(int argc, char **argv, struct cli_ctx *ctx)
{
	struct cli_opt_iter it;
	const char *args[2] = {NULL, NULL};
	int c, nargs = 0;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (cli_snapshot_option(ctx, c, it.value))
			continue;
		if (c != CLI_OPT_ARG)
			return cli_usage_error("diff", "%s", it.err);
		if (nargs == 2)
			return cli_usage_error("diff", "too many arguments");
		args[nargs++] = it.value;
	}
	if (ctx->g.help)
		return cli_help_command("diff");
	if (nargs != 2)
		return cli_usage_error("diff", "give two snapshots: the older, then the newer");
	return run(ctx, args[0], args[1]);
}
