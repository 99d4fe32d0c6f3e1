#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "core/ops/prune.h"

enum { O_MAX_UNUSED = 1, O_MAX_REPACK, O_DRY_RUN };

static const struct cli_opt_spec opts[] = {
    {"max-unused", 0, 1, O_MAX_UNUSED},
    {"max-repack-size", 0, 1, O_MAX_REPACK},
    {"dry-run", 'n', 0, O_DRY_RUN},
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--max-unused N%|SIZE|unlimited",
     "unused data that may stay in partly used packs, as a share of the repository after "
     "the prune (default 5%), a size (500M, 2G) or unlimited (repack nothing)"},
    {"--max-repack-size SIZE", "repack at most this much of the packs (default: no limit)"},
    {"-n, --dry-run", "print what would be deleted and repacked; change nothing"},
    {NULL, NULL},
};

const struct cli_help cmd_prune_help = {
    "medvault prune -r LOCATION [--max-unused N%|SIZE|unlimited] [--max-repack-size SIZE] "
    "[--dry-run]",
    "remove data no snapshot uses",
    "Deletes the packs that no snapshot uses any more (after snapshots were removed, e.g.\n"
    "by forget) and repacks the packs that are partly used: their used blobs are copied,\n"
    "still encrypted and authenticated, into new packs, the packs with the largest unused\n"
    "share first, until the unused data left is within --max-unused. New packs and the new\n"
    "index are written and synced before any old index file or pack is deleted: prune can\n"
    "be interrupted (or killed) at any point and run again, and check passes meanwhile.\n"
    "\n"
    "prune refuses to delete anything when it finds damage it cannot see past (a snapshot,\n"
    "index file, tree or pack header that cannot be read, a blob a snapshot uses that no pack\n"
    "holds, a blob that fails authentication while being repacked): run check. It takes the\n"
    "exclusive lock (a dry run a shared one): a backup started meanwhile exits 11. The last\n"
    "line sums up what was freed. With -v or --dry-run each pack to delete or repack is named.\n"
    "\n"
    "With --json: one summary object {\"message_type\":\"summary\",\"dry_run\",\"packs_deleted\",\n"
    "\"packs_repacked\",\"packs_written\",\"bytes_freed\",...}.",
    help_opts,
    "medvault prune -r /media/usb/backup --dry-run\n"
    "medvault prune -r /media/usb/backup\n"
    "# the least work: delete unused packs only\n"
    "medvault prune -r /media/usb/backup --max-unused unlimited\n",
};

struct prune_args {
	struct mv_prune_opts o;
};

/* "500M", "2G", "1048576", "10KiB": 1024-based. */
static int parse_size(const char *v, uint64_t *out)
{
	char num[32];
	size_t n = strspn(v, "0123456789");
	uint64_t x, mul = 1;
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, v, n);
	num[n] = '\0';
	if (cli_parse_u64(num, 0, UINT64_MAX, &x) != 0)
		return -1;
	const char *s = v + n;
	if (*s) {
		const char *units = "kmgt";
		const char *u = strchr(units, s[0] | 0x20);
		if (!u)
			return -1;
		mul = (uint64_t)1 << (10 * (u - units + 1));
		s++;
		if (strcmp(s, "") != 0 && strcmp(s, "B") != 0 && strcmp(s, "iB") != 0)
			return -1;
	}
	if (x > UINT64_MAX / mul)
		return -1;
	*out = x * mul;
	return 0;
}

static int parse_max_unused(const char *v, struct mv_prune_opts *o)
{
	size_t len = strlen(v);
	if (strcmp(v, "unlimited") == 0) {
		o->unused_kind = MV_PRUNE_UNUSED_UNLIMITED;
		return 0;
	}
	if (len > 1 && v[len - 1] == '%') {
		char num[32], *end;
		if (len - 1 >= sizeof(num) || v[0] < '0' || v[0] > '9')
			return -1;
		memcpy(num, v, len - 1);
		num[len - 1] = '\0';
		double pct = strtod(num, &end);
		if (*end != '\0' || !(pct >= 0 && pct < 100))
			return -1;
		o->unused_kind = MV_PRUNE_UNUSED_PERCENT;
		o->max_unused_pct = pct;
		return 0;
	}
	o->unused_kind = MV_PRUNE_UNUSED_BYTES;
	return parse_size(v, &o->max_unused_bytes);
}

static void defaults(struct prune_args *a)
{
	a->o.unused_kind = MV_PRUNE_UNUSED_PERCENT;
	a->o.max_unused_pct = 5;
}

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct prune_args *a)
{
	struct cli_opt_iter it;
	int c;

	defaults(a);
	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		switch (c) {
		case O_MAX_UNUSED:
			if (parse_max_unused(it.value, &a->o) != 0)
				return cli_usage_error(
				    "prune", "--max-unused takes N%% (0 <= N < 100), a size "
				             "(500M, 2G) or unlimited");
			break;
		case O_MAX_REPACK:
			if (parse_size(it.value, &a->o.max_repack_bytes) != 0 ||
			    a->o.max_repack_bytes == 0)
				return cli_usage_error("prune",
				                       "--max-repack-size takes a size above "
				                       "0 (500M, 2G)");
			break;
		case O_DRY_RUN:
			a->o.dry_run = 1;
			break;
		case CLI_OPT_ARG:
			return cli_usage_error("prune", "unexpected argument '%s'", it.value);
		default:
			return cli_usage_error("prune", "%s", it.err);
		}
	}
	return 0;
}

/* MEDVAULT_TEST_PRUNE_ABORT=POINT: the tests' kill -9 at a named point of
 * the run (mv_prune_opts.at_point); stop:POINT stops the process there
 * instead (SIGSTOP), for a test to act while prune holds its lock. */
static void test_abort(void *arg, const char *point)
{
	const char *want = arg;
	int stop = strncmp(want, "stop:", 5) == 0;
	if (strcmp(want + (stop ? 5 : 0), point) != 0)
		return;
	fflush(NULL);
	kill(getpid(), stop ? SIGSTOP : SIGKILL);
}

static void on_warn(struct cli_events *e, const char *path, const char *msg)
{
	if (e->ctx->g.json) {
		cli_json_error_item(stdout, path, msg);
		return;
	}
	cli_warning("pack %s: %s", path, msg);
}

/* The plan, pack by pack: with -v, or in a dry run. */
static void on_note(void *arg, const char *path, const char *msg)
{
	struct cli_events *e = arg;
	const int *dry = e->arg;
	if (e->ctx->g.json || e->ctx->g.quiet || !(*dry || e->ctx->g.verbose))
		return;
	pthread_mutex_lock(&e->lock);
	cli_progress_clear_line();
	printf("pack %s: ", path);
	cli_term_put(stdout, msg, strlen(msg));
	putchar('\n');
	pthread_mutex_unlock(&e->lock);
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_json(const struct mv_prune_opts *o, const struct mv_prune_result *s)
{
	struct cli_json j;
	cli_json_init(&j, stdout);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "message_type", "summary");
	cli_json_bool(&j, "dry_run", o->dry_run);
	cli_json_u64(&j, "snapshots", s->snapshots);
	cli_json_u64(&j, "packs", s->packs);
	cli_json_u64(&j, "bytes", s->bytes);
	cli_json_u64(&j, "blobs", s->blobs);
	cli_json_u64(&j, "blobs_used", s->used_blobs);
	cli_json_u64(&j, "bytes_used", s->used_bytes);
	cli_json_u64(&j, "bytes_unused", s->unused_bytes);
	cli_json_u64(&j, "packs_to_delete", s->delete_packs);
	cli_json_u64(&j, "bytes_to_delete", s->delete_bytes);
	cli_json_u64(&j, "packs_to_repack", s->repack_packs);
	cli_json_u64(&j, "bytes_to_repack", s->repack_bytes);
	cli_json_u64(&j, "blobs_to_copy", s->repack_blobs);
	cli_json_u64(&j, "bytes_to_copy", s->repack_blob_bytes);
	cli_json_u64(&j, "missing_packs_forgotten", s->missing_packs);
	cli_json_u64(&j, "packs_deleted", s->deleted_packs);
	cli_json_u64(&j, "packs_repacked", o->dry_run ? 0 : s->repack_packs);
	cli_json_u64(&j, "packs_written", s->new_packs);
	cli_json_u64(&j, "bytes_written", s->new_bytes);
	cli_json_u64(&j, "packs_not_deleted", s->delete_failures);
	cli_json_u64(&j, "bytes_freed", s->freed_bytes);
	cli_json_u64(&j, "bytes_remaining", s->remaining_bytes);
	cli_json_u64(&j, "bytes_remaining_unused", s->remaining_unused);
	cli_json_end_object(&j);
}

static void print_human(const struct cli_ctx *ctx, const struct mv_prune_opts *o,
                        const struct mv_prune_result *s)
{
	char a[CLI_FMT_LEN], b[CLI_FMT_LEN], c[CLI_FMT_LEN];
	if (!ctx->g.quiet) {
		printf("repository: %llu snapshots, %llu packs, %s; snapshots use %llu of %llu "
		       "blobs (%s), %s unused\n",
		       (unsigned long long)s->snapshots, (unsigned long long)s->packs,
		       cli_fmt_bytes(s->bytes, a), (unsigned long long)s->used_blobs,
		       (unsigned long long)s->blobs, cli_fmt_bytes(s->used_bytes, b),
		       cli_fmt_bytes(s->unused_bytes, c));
		if (s->delete_packs)
			printf("%s %llu unused pack%s (%s)\n",
			       o->dry_run ? "would delete" : "delete",
			       (unsigned long long)s->delete_packs, s->delete_packs == 1 ? "" : "s",
			       cli_fmt_bytes(s->delete_bytes, a));
		if (s->repack_packs)
			printf("%s %llu partly used pack%s (%s), copying %llu blobs (%s)\n",
			       o->dry_run ? "would repack" : "repack",
			       (unsigned long long)s->repack_packs, s->repack_packs == 1 ? "" : "s",
			       cli_fmt_bytes(s->repack_bytes, a),
			       (unsigned long long)s->repack_blobs,
			       cli_fmt_bytes(s->repack_blob_bytes, b));
		if (s->missing_packs)
			printf("%s %llu missing pack%s that no snapshot needs from the index\n",
			       o->dry_run ? "would remove" : "remove",
			       (unsigned long long)s->missing_packs,
			       s->missing_packs == 1 ? "" : "s");
	}
	if (s->nothing_to_do) {
		printf("prune: nothing to do; %s unused (%.1f%%) stays within --max-unused\n",
		       cli_fmt_bytes(s->remaining_unused, a),
		       share(s->remaining_unused, s->remaining_bytes));
		return;
	}
	if (o->dry_run) {
		printf("prune (dry run, nothing changed): would free %s; the repository would hold "
		       "%s (%.1f%% unused)\n",
		       cli_fmt_bytes(s->freed_bytes, a), cli_fmt_bytes(s->remaining_bytes, b),
		       share(s->remaining_unused, s->remaining_bytes));
		return;
	}
	printf("prune: deleted %llu pack%s, wrote %llu, freed %s; the repository holds %s "
	       "(%.1f%% unused)\n",
	       (unsigned long long)s->deleted_packs, s->deleted_packs == 1 ? "" : "s",
	       (unsigned long long)s->new_packs, cli_fmt_bytes(s->freed_bytes, a),
	       cli_fmt_bytes(s->remaining_bytes, b),
	       share(s->remaining_unused, s->remaining_bytes));
}

static int run(struct cli_ctx *ctx, struct prune_args *a)
{
	struct mv_prune_result res;
	struct mv_error err = {0};
	struct cli_events ev;
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	int rc;

	memset(&res, 0, sizeof(res));
	const char *abort_at = getenv("MEDVAULT_TEST_PRUNE_ABORT");
	if (abort_at && *abort_at) {
		a->o.at_point = test_abort;
		a->o.at_arg = (void *)(uintptr_t)abort_at;
	}
	rc = cli_repo_open(ctx, "prune", &r);
	if (rc == 0)
		rc = a->o.dry_run ? cli_repo_lock_reader(ctx, r, 0, &lock)
		                  : cli_repo_lock(r, 1, &lock);
	if (rc != 0)
		goto out;
	cli_events_init(&ev, ctx, on_warn, &a->o.dry_run);
	ev.ev.note = on_note;
	rc = mv_prune(r, &a->o, &ev.ev, &res, &err);
	cli_events_done(&ev);
	if (rc != 0) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	if (ctx->g.json)
		print_json(&a->o, &res);
	else
		print_human(ctx, &a->o, &res);
	if (res.delete_failures)
		cli_warning("%llu old pack%s could not be deleted (named above; no index names "
		            "them: the next prune deletes them)",
		            (unsigned long long)res.delete_failures,
		            res.delete_failures == 1 ? "" : "s");
out:
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

int cmd_prune(int argc, char **argv, struct cli_ctx *ctx)
{
	struct prune_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse(argc, argv, ctx, &a);
	if (rc != 0)
		return rc;
	if (ctx->g.help)
		return cli_help_command("prune");
	return run(ctx, &a);
}

int cli_prune_after_forget(struct cli_ctx *ctx)
{
	struct prune_args a;
	memset(&a, 0, sizeof(a));
	defaults(&a);
	return run(ctx, &a);
}
