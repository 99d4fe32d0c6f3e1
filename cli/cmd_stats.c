#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "cli/select.h"
#include "core/ops/stats.h"

enum { O_MODE = 1 };

static const struct cli_opt_spec opts[] = {
    {"mode", 0, 1, O_MODE},
    CLI_SNAPSHOT_OPTS,
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--mode MODE", "restore-size (the default): files and bytes a restore of each snapshot "
                    "would write; raw-data: the distinct blobs the snapshots use and the "
                    "bytes they take in the repository"},
    CLI_SNAPSHOT_HELP,
    {NULL, NULL},
};

const struct cli_help cmd_stats_help = {
    "medvault stats -r LOCATION [SNAPSHOT...] [--mode restore-size|raw-data] [--json]",
    "show sizes of snapshots and of the repository",
    "Counts the snapshots given (all by default). In restore-size mode: the files,\n"
    "folders and bytes that restoring each of them would write, summed over the\n"
    "snapshots (a file held by two snapshots counts twice, as restic counts). In\n"
    "raw-data mode: the distinct blobs they use, their plaintext and stored\n"
    "(compressed, padded, encrypted) bytes, the compression ratio, and the\n"
    "deduplication ratio (restore size over the distinct file data). Both end with\n"
    "the repository's totals: packs and their bytes, index files, snapshots, blobs.\n"
    "With --json, one object with the same numbers.",
    help_opts,
    "medvault stats -r /media/usb/backup\n"
    "medvault stats -r /media/usb/backup --mode raw-data latest\n",
};

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void print_json(int raw, size_t nsnaps, const struct mv_stats_restore *rs,
                       const struct mv_stats_raw *rd, const struct mv_stats_repo *rp)
{
	struct cli_json j;
	cli_json_init(&j, stdout);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "mode", raw ? "raw-data" : "restore-size");
	cli_json_u64(&j, "snapshots_count", nsnaps);
	cli_json_u64(&j, "total_file_count", rs->files);
	cli_json_u64(&j, "total_dir_count", rs->dirs);
	cli_json_u64(&j, "total_other_count", rs->others);
	cli_json_u64(&j, "restore_size", rs->bytes);
	if (raw) {
		cli_json_u64(&j, "total_blob_count", rd->blobs);
		cli_json_u64(&j, "data_blob_count", rd->data_blobs);
		cli_json_u64(&j, "tree_blob_count", rd->tree_blobs);
		cli_json_u64(&j, "catalog_blob_count", rd->catalog_blobs);
		cli_json_u64(&j, "missing_blob_count", rd->missing);
		cli_json_u64(&j, "total_uncompressed_size", rd->raw_bytes);
		cli_json_u64(&j, "data_uncompressed_size", rd->data_raw_bytes);
		cli_json_u64(&j, "total_size", rd->stored_bytes);
		cli_json_double(&j, "compression_ratio", ratio(rd->raw_bytes, rd->stored_bytes));
		cli_json_double(&j, "deduplication_ratio", ratio(rs->bytes, rd->data_raw_bytes));
	} else {
		cli_json_u64(&j, "total_size", rs->bytes);
	}
	cli_json_begin_object(&j, "repository");
	cli_json_u64(&j, "packs", rp->packs);
	cli_json_u64(&j, "pack_bytes", rp->pack_bytes);
	cli_json_u64(&j, "index_files", rp->index_files);
	cli_json_u64(&j, "snapshots", rp->snapshot_files);
	cli_json_u64(&j, "blobs", rp->blobs);
	cli_json_u64(&j, "blob_bytes", rp->stored_bytes);
	cli_json_end_object(&j);
	cli_json_end_object(&j);
}

static void print_human(int raw, size_t nsnaps, const struct mv_stats_restore *rs,
                        const struct mv_stats_raw *rd, const struct mv_stats_repo *rp)
{
	char a[CLI_FMT_LEN], b[CLI_FMT_LEN];

	printf("Stats in %s mode:\n", raw ? "raw-data" : "restore-size");
	printf("  Snapshots processed:  %zu\n", nsnaps);
	if (!raw) {
		printf("     Total file count:  %llu\n", (unsigned long long)rs->files);
		printf("          Directories:  %llu\n", (unsigned long long)rs->dirs);
		if (rs->others)
			printf("         Other nodes:  %llu\n", (unsigned long long)rs->others);
		printf("           Total size:  %s\n", cli_fmt_bytes(rs->bytes, a));
	} else {
		printf("     Total blob count:  %llu (data %llu, tree %llu, catalog %llu)\n",
		       (unsigned long long)rd->blobs, (unsigned long long)rd->data_blobs,
		       (unsigned long long)rd->tree_blobs, (unsigned long long)rd->catalog_blobs);
		printf("   Uncompressed size:  %s\n", cli_fmt_bytes(rd->raw_bytes, a));
		printf("           Total size:  %s (stored)\n", cli_fmt_bytes(rd->stored_bytes, a));
		printf("    Compression ratio:  %.2fx\n", ratio(rd->raw_bytes, rd->stored_bytes));
		printf("  Deduplication ratio:  %.2fx (restore size %s over distinct data %s)\n",
		       ratio(rs->bytes, rd->data_raw_bytes), cli_fmt_bytes(rs->bytes, a),
		       cli_fmt_bytes(rd->data_raw_bytes, b));
		if (rd->missing)
			printf("   Missing from index:  %llu blobs (run check)\n",
			       (unsigned long long)rd->missing);
	}
	printf("Repository: %llu packs (%s), %llu index files, %llu snapshots, %llu blobs\n",
	       (unsigned long long)rp->packs, cli_fmt_bytes(rp->pack_bytes, b),
	       (unsigned long long)rp->index_files, (unsigned long long)rp->snapshot_files,
	       (unsigned long long)rp->blobs);
}

static int run(struct cli_ctx *ctx, int raw, const char **names, size_t n)
{
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	struct mv_snapshot *snaps = NULL;
	size_t nsnaps = 0;
	struct mv_error err = {0};
	struct mv_events ev = {.cancel = ctx->cancel};
	struct mv_stats_restore rs = {0};
	struct mv_stats_raw rd = {0};
	struct mv_stats_repo rp = {0};
	int rc;

	rc = cli_repo_open_reader(ctx, "stats", 0, &r, &lock);
	if (rc == 0)
		rc = cli_snapshots_pick(ctx, r, names, n, &snaps, &nsnaps);
	if (rc != 0)
		goto out;
	rc = mv_stats_restore_size(r, snaps, nsnaps, &ev, &rs, &err);
	if (!rc && raw)
		rc = mv_stats_raw_data(r, snaps, nsnaps, &rd, &err);
	if (!rc)
		rc = mv_stats_repository(r, &rp, &err);
	if (rc) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	if (ctx->g.json)
		print_json(raw, nsnaps, &rs, &rd, &rp);
	else
		print_human(raw, nsnaps, &rs, &rd, &rp);
	rc = ctx->damaged || rd.missing ? CLI_EXIT_INTEGRITY : CLI_EXIT_OK;
out:
	mv_snapshots_free(snaps, nsnaps);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

int cmd_stats(int argc, char **argv, struct cli_ctx *ctx)
{
	struct cli_opt_iter it;
	const char **names = calloc((size_t)argc + 1, sizeof(*names));
	size_t n = 0;
	int c, raw = 0, rc;

	if (!names) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (cli_snapshot_option(ctx, c, it.value)) {
			continue;
		} else if (c == O_MODE) {
			if (strcmp(it.value, "raw-data") == 0) {
				raw = 1;
			} else if (strcmp(it.value, "restore-size") == 0) {
				raw = 0;
			} else {
				free(names);
				return cli_usage_error("stats",
				                       "unknown mode '%s' (restore-size, raw-data)",
				                       it.value);
			}
		} else if (c == CLI_OPT_ARG) {
			names[n++] = it.value;
		} else {
			free(names);
			return cli_usage_error("stats", "%s", it.err);
		}
	}
	if (ctx->g.help) {
		free(names);
		return cli_help_command("stats");
	}
	rc = run(ctx, raw, names, n);
	free(names);
	return rc;
}
