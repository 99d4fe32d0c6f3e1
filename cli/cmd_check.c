#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "core/repo/keylist.h"
#include "core/ops/check.h"

enum { O_READ_DATA = 1, O_SUBSET };

static const struct cli_opt_spec opts[] = {
    {"read-data", 0, 0, O_READ_DATA},
    {"read-data-subset", 0, 1, O_SUBSET},
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--read-data", "also read, decrypt and verify every blob of every pack"},
    {"--read-data-subset N%|n/m",
     "read only a part: N percent of the packs, or the n-th of m groups (1/7 on Mondays, "
     "2/7 on Tuesdays, ...)"},
    {NULL, NULL},
};

const struct cli_help cmd_check_help = {
    "medvault check -r LOCATION [--read-data | --read-data-subset N%|n/m]",
    "verify the repository",
    "Checks the repository's structure: every key slot's bytes against the key list (the\n"
    "recovery slot's too, whatever secret opened it), every snapshot's trees and blobs are\n"
    "in the index, every index entry is in a pack, every pack header is valid. It says which\n"
    "key slot opened the repository. With --read-data, also\n"
    "reads and authenticates all the data. Each problem is printed with the snapshots and\n"
    "files it affects (a folder that cannot be read counts as the files it held); the last\n"
    "line says \"no errors were found\" or \"N errors found\". Packs that no index names (an\n"
    "interrupted backup, a lost index file) are named: their blobs are read from their headers.\n"
    "Exit code 4 when anything is damaged. Takes an exclusive lock (no backup meanwhile).\n"
    "\n"
    "Every command compares the repository with what this machine saw there before (the\n"
    "newest snapshot, the key slots removed); when it has gone back in time (an older copy\n"
    "put in its place, its newest snapshots deleted, a removed key slot back) it warns, and\n"
    "check exits 4 even when the data itself is intact.\n"
    "\n"
    "With --json: one line per problem {\"message_type\":\"error\",\"item\",\"message\"}, then\n"
    "a summary object {\"message_type\":\"summary\",\"num_errors\",...,\"rolled_back\"}.",
    help_opts,
    "medvault check -r /media/usb/backup\n"
    "medvault check -r /media/usb/backup --read-data\n"
    "# a tenth of the data each night: all of it every ten nights or so\n"
    "medvault check -r /media/usb/backup --read-data-subset 10%\n",
};

/* "12.5%" or "2/7" */
static int parse_subset(const char *v, struct mv_check_opts *o)
{
	const char *slash = strchr(v, '/');
	size_t len = strlen(v);
	uint64_t n, m;

	if (len > 1 && v[len - 1] == '%') {
		char num[32], *end;
		double pct;
		if (len - 1 >= sizeof(num) || v[0] < '0' || v[0] > '9')
			return -1;
		memcpy(num, v, len - 1);
		num[len - 1] = '\0';
		pct = strtod(num, &end);
		if (*end != '\0' || !(pct > 0 && pct <= 100))
			return -1;
		o->subset_pct = pct;
		return 0;
	}
	if (slash && slash != v && slash - v < 16) {
		char num[16];
		memcpy(num, v, (size_t)(slash - v));
		num[slash - v] = '\0';
		if (cli_parse_u64(num, 1, UINT32_MAX, &n) != 0 ||
		    cli_parse_u64(slash + 1, 1, UINT32_MAX, &m) != 0 || n > m)
			return -1;
		o->subset_n = (uint32_t)n;
		o->subset_m = (uint32_t)m;
		return 0;
	}
	return -1;
}

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct mv_check_opts *o)
{
	struct cli_opt_iter it;
	int c, subset = 0;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		switch (c) {
		case O_READ_DATA:
			o->read_data = 1;
			break;
		case O_SUBSET:
			if (parse_subset(it.value, o) != 0)
				return cli_usage_error("check",
				                       "--read-data-subset takes N%% (0 < N "
				                       "<= 100) or n/m (1 <= n <= m)");
			subset = 1;
			break;
		case CLI_OPT_ARG:
			return cli_usage_error("check", "unexpected argument '%s'", it.value);
		default:
			return cli_usage_error("check", "%s", it.err);
		}
	}
	if (o->read_data && subset)
		return cli_usage_error("check", "--read-data and --read-data-subset exclude "
		                                "each other");
	if (subset)
		o->read_data = 1;
	return 0;
}

static void on_warn(struct cli_events *e, const char *path, const char *msg)
{
	if (!e->ctx->g.json) {
		cli_term_put(stdout, path, strlen(path));
		fputs(": ", stdout);
		cli_term_put(stdout, msg, strlen(msg));
		putchar('\n');
		return;
	}
	cli_json_error_item(stdout, path, msg);
}

static const char *slot_kind_name(int kind)
{
	return kind == MV_SLOT_RECOVERY  ? "recovery"
	       : kind == MV_SLOT_MACHINE ? "machine"
	                                 : "password";
}

/* Which slot opened the repository, and what is known of the key list. */
static void print_keys(const struct cli_ctx *ctx, const struct mv_repo *r,
                       const struct mv_keycheck *k)
{
	if (ctx->g.json || ctx->g.quiet)
		return;
	struct mv_unlock_info ui;
	mv_repo_unlock_info(r, &ui);
	printf("repository opened with the %s key slot %.16s", slot_kind_name(k->opened_kind),
	       ui.slot_name);
	if (k->opened_label[0]) {
		fputs(" ('", stdout);
		cli_term_put(stdout, k->opened_label, strlen(k->opened_label));
		fputs("')", stdout);
	}
	putchar('\n');
	if (k->list)
		printf("checked %llu key slot%s against the key list\n",
		       (unsigned long long)k->slots, k->slots == 1 ? "" : "s");
	if (k->pending)
		printf("%llu key change%s interrupted (key add or remove): the next 'medvault key' "
		       "command finishes %s\n",
		       (unsigned long long)k->pending, k->pending == 1 ? " was" : "s were",
		       k->pending == 1 ? "it" : "them");
	else if (!k->list_claimed)
		printf("no key list yet (repository made by an older medvault): each key slot was "
		       "checked against its name only; the next backup writes the list\n");
	else
		printf("no readable key list: each key slot was checked against its name only\n");
}

static void print_summary(const struct cli_ctx *ctx, const struct mv_check_result *res,
                          const struct mv_repo *r, const struct mv_keycheck *k, uint64_t errors)
{
	struct cli_json j;

	if (ctx->g.json) {
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "summary");
		cli_json_u64(&j, "num_errors", errors);
		cli_json_u64(&j, "snapshots", res->snapshots);
		cli_json_u64(&j, "trees", res->trees);
		cli_json_u64(&j, "packs", res->packs);
		cli_json_u64(&j, "packs_read", res->packs_read);
		cli_json_u64(&j, "blobs", res->blobs);
		cli_json_u64(&j, "damaged_snapshots", res->damaged_snapshots);
		cli_json_u64(&j, "damaged_files", res->damaged_files);
		cli_json_bool(&j, "damaged_files_at_least", res->damaged_files_at_least);
		cli_json_u64(&j, "key_slots", k->slots);
		cli_json_bool(&j, "key_list", k->list != 0);
		struct mv_unlock_info ui;
		mv_repo_unlock_info(r, &ui);
		cli_json_str(&j, "opened_with_slot", ui.slot_name);
		cli_json_str(&j, "opened_with_kind", slot_kind_name(k->opened_kind));
		cli_json_str(&j, "opened_with_label", k->opened_label);
		cli_json_bool(&j, "rolled_back", ctx->rolled_back);
		cli_json_end_object(&j);
		return;
	}
	print_keys(ctx, r, k);
	if (!ctx->g.quiet)
		printf("checked %llu snapshots, %llu trees, %llu packs (%llu read), %llu blobs\n",
		       (unsigned long long)res->snapshots, (unsigned long long)res->trees,
		       (unsigned long long)res->packs, (unsigned long long)res->packs_read,
		       (unsigned long long)res->blobs);
	if (res->damaged_snapshots > 0 || res->damaged_files > 0)
		printf("damage affects %llu snapshot%s and %s%llu file%s\n",
		       (unsigned long long)res->damaged_snapshots,
		       res->damaged_snapshots == 1 ? "" : "s",
		       res->damaged_files_at_least ? "at least " : "",
		       (unsigned long long)res->damaged_files, res->damaged_files == 1 ? "" : "s");
	if (res->damaged_files > 0 && !ctx->g.quiet)
		printf("to repair: back up the intact originals with 'medvault backup --force'; it "
		       "stores lost and damaged data again\n");
	if (ctx->rolled_back)
		printf(
		    "the repository has gone back in time (rolled back): see the warning above\n");
	if (errors > 0)
		printf("%llu error%s found\n", (unsigned long long)errors, errors == 1 ? "" : "s");
	else if (!ctx->g.quiet)
		printf("no errors were found\n");
}

static int run(struct cli_ctx *ctx, const struct mv_check_opts *o)
{
	struct mv_check_result res;
	struct mv_keycheck keys;
	struct mv_error err = {0};
	struct cli_events ev;
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	uint64_t errors;
	int rc;

	memset(&res, 0, sizeof(res));
	memset(&keys, 0, sizeof(keys));
	rc = cli_repo_open(ctx, "check", &r);
	if (rc == 0)
		rc = cli_repo_lock_reader(ctx, r, 1, &lock);
	if (rc != 0)
		goto out;
	cli_events_init(&ev, ctx, on_warn, NULL);
	rc = mv_check_keys(r, &ev.ev, &keys, &err);
	if (rc == 0)
		rc = mv_check(r, o, &ev.ev, &res, &err);
	cli_events_done(&ev);
	if (rc != 0 && rc != MV_ERR_INTEGRITY) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	errors = res.errors + keys.errors;
	if (rc == MV_ERR_INTEGRITY && errors == 0)
		errors = 1; /* the engine found something it did not count */
	print_summary(ctx, &res, r, &keys, errors);
	/* a rollback is no damage of the data, but not a clean state either */
	rc = errors > 0 || ctx->rolled_back ? CLI_EXIT_INTEGRITY : CLI_EXIT_OK;
	if (rc == CLI_EXIT_OK) /* for `medvault audit`: read-data only when all was read */
		cli_check_state_record(ctx, mv_repo_config(r)->repo_id,
		                       o->read_data && o->subset_m == 0 && !(o->subset_pct > 0));
out:
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

int cmd_check(int argc, char **argv, struct cli_ctx *ctx)
{
	struct mv_check_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = parse(argc, argv, ctx, &o);
	if (rc != 0)
		return rc;
	if (ctx->g.help)
		return cli_help_command("check");
	return run(ctx, &o);
}
