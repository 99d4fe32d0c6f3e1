#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "cli/select.h"
#include "core/ops/copy.h"

enum { O_FROM_REPO = 1, O_FROM_PASSWORD_FILE };

static const struct cli_opt_spec opts[] = {
    {"from-repo", 0, 1, O_FROM_REPO},
    {"from-password-file", 0, 1, O_FROM_PASSWORD_FILE},
    CLI_SNAPSHOT_OPTS,
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--from-repo LOCATION", "the repository to copy from (required)"},
    {"--from-password-file FILE",
     "the source repository's password (or MEDVAULT_FROM_PASSWORD_FILE, or "
     "MEDVAULT_FROM_PASSWORD; else it is asked for)"},
    CLI_SNAPSHOT_HELP,
    {NULL, NULL},
};

const struct cli_help cmd_copy_help = {
    "medvault copy --from-repo SOURCE -r DESTINATION [SNAPSHOT...]",
    "copy snapshots to another repository",
    "Copies the snapshots given (all by default) from SOURCE into DESTINATION, a\n"
    "repository with its own keys (a second copy for 3-2-1): every blob is read and\n"
    "authenticated, named and encrypted again with the destination's keys; files are\n"
    "cut again by the destination's chunker unless it was made with 'init\n"
    "--copy-chunker-params-from SOURCE'. A copied snapshot keeps its time, host,\n"
    "paths, tags and DICOM catalog, and gets a tag original=ID naming the snapshot it\n"
    "copies, so that a second run skips the snapshots already there. Data and index\n"
    "are written before each snapshot: an interrupted copy is resumed by running it\n"
    "again. Copying a repository into itself is refused.",
    help_opts,
    "medvault copy --from-repo /media/usb/backup -r /media/usb2/backup\n"
    "medvault copy --from-repo /media/usb/backup -r /media/usb2/backup latest\n",
};

struct copy_out {
	struct cli_ctx *ctx;
};

static void on_snap(void *arg, const struct mv_snapshot *s, int skipped)
{
	struct copy_out *o = arg;
	char id[9], t[CLI_FMT_LEN];

	if (o->ctx->g.json) {
		struct cli_json j;
		cli_json_begin_message(&j, stdout, skipped ? "skipped" : "copying");
		cli_json_hex(&j, "snapshot", s->id, 32);
		cli_json_end_object(&j);
		return;
	}
	if (o->ctx->g.quiet)
		return;
	mv_hex(s->id, 4, id);
	printf("%s snapshot %s of %s", skipped ? "skipped" : "copying", id,
	       cli_fmt_time_local(s->time_ns, t));
	if (skipped)
		printf(": already in the destination");
	putchar('\n');
	fflush(stdout);
}

static int run(struct cli_ctx *ctx, const char *from, const char *from_pw, const char **names,
               size_t n)
{
	struct mv_repo *src = NULL, *dst = NULL;
	struct mv_lock *slock = NULL, *dlock = NULL;
	struct mv_snapshot *snaps = NULL;
	size_t nsnaps = 0;
	struct mv_error err = {0};
	struct mv_events ev = {.cancel = ctx->cancel};
	struct mv_copy_result res;
	struct copy_out o = {ctx};
	char sz[CLI_FMT_LEN];
	int rc;

	if (!from_pw) {
		const char *env = getenv("MEDVAULT_FROM_PASSWORD_FILE");
		from_pw = env && *env ? env : NULL;
	}
	rc = cli_repo_open(ctx, "copy", &dst);
	if (rc == 0)
		rc = cli_repo_open_other(ctx, from, from_pw, "MEDVAULT_FROM_PASSWORD",
		                         "password of the source repository: ",
		                         "use --from-password-file or MEDVAULT_FROM_PASSWORD_FILE",
		                         &src);
	if (rc != 0)
		goto out;
	if (memcmp(mv_repo_config(src)->repo_id, mv_repo_config(dst)->repo_id, 32) == 0) {
		cli_error("'%s' and the destination are the same repository: nothing copied", from);
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	if ((rc = cli_repo_lock_reader(ctx, src, 0, &slock)) ||
	    (rc = cli_repo_lock(dst, 0, &dlock)) || (rc = cli_repo_load_index(ctx, src, 0, NULL)) ||
	    (rc = cli_repo_load_index(ctx, dst, 1, NULL)) ||
	    (rc = cli_snapshots_pick(ctx, src, names, n, &snaps, &nsnaps)))
		goto out;
	if (!mv_copy_same_chunker(src, dst) && ctx->g.verbose && !ctx->g.json)
		fprintf(stderr, "the chunkers differ: files are cut again\n");
	rc = mv_copy(src, dst, snaps, nsnaps, &ev, on_snap, &o, &res, &err);
	if (rc) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_begin_message(&j, stdout, "summary");
		cli_json_u64(&j, "snapshots_copied", res.copied);
		cli_json_u64(&j, "snapshots_skipped", res.skipped);
		cli_json_bool(&j, "rechunked", res.rechunked);
		cli_json_u64(&j, "blobs_added", res.blobs_added);
		cli_json_u64(&j, "bytes_added", res.bytes_added);
		cli_json_end_object(&j);
	} else if (!ctx->g.quiet) {
		printf("%llu snapshot%s copied, %llu already there; %llu blobs (%s) added\n",
		       (unsigned long long)res.copied, res.copied == 1 ? "" : "s",
		       (unsigned long long)res.skipped, (unsigned long long)res.blobs_added,
		       cli_fmt_bytes(res.bytes_added, sz));
	}
	rc = ctx->damaged ? CLI_EXIT_INTEGRITY : CLI_EXIT_OK;
out:
	mv_snapshots_free(snaps, nsnaps);
	mv_lock_release(slock);
	mv_lock_release(dlock);
	mv_repo_close(src);
	mv_repo_close(dst);
	return rc;
}

int cmd_copy(int argc, char **argv, struct cli_ctx *ctx)
{
	struct cli_opt_iter it;
	const char **names = calloc((size_t)argc + 1, sizeof(*names));
	const char *from = NULL, *from_pw = NULL;
	size_t n = 0;
	int c, rc = -1;

	if (!names) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while (rc < 0 && (c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (cli_snapshot_option(ctx, c, it.value))
			continue;
		if (c == O_FROM_REPO)
			from = it.value;
		else if (c == O_FROM_PASSWORD_FILE)
			from_pw = it.value;
		else if (c == CLI_OPT_ARG)
			names[n++] = it.value;
		else
			rc = cli_usage_error("copy", "%s", it.err);
	}
	if (rc < 0 && ctx->g.help)
		rc = cli_help_command("copy");
	if (rc < 0 && !from)
		rc = cli_usage_error("copy", "which repository to copy from? give --from-repo");
	if (rc < 0)
		rc = run(ctx, from, from_pw, names, n);
	free(names);
	return rc;
}
