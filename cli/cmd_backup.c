#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "core/repo/keylist.h"
#include "core/ops/backup.h"

enum {
	O_EXCLUDE = 1,
	O_TAG,
	O_HOST,
	O_PARENT,
	O_FORCE,
	O_PLAIN_CHUNKING,
	O_ALLOW_EMPTY,
	O_ALLOW_SHRINK,
	O_TIME
};

// clang-format off
static const struct cli_opt_spec opts[] = {
	{"exclude", 'e', 1, O_EXCLUDE},
	{"tag", 0, 1, O_TAG},
	{"host", 'H', 1, O_HOST},
	{"parent", 0, 1, O_PARENT},
	{"force", 0, 0, O_FORCE},
	{"plain-chunking", 0, 0, O_PLAIN_CHUNKING},
	{"allow-empty", 0, 0, O_ALLOW_EMPTY},
	{"allow-shrink", 0, 0, O_ALLOW_SHRINK},
	{"time", 0, 1, O_TIME},
	{NULL, 0, 0, 0},
};
// clang-format on

static const struct cli_help_opt help_opts[] = {
    {"-e, --exclude PATTERN",
     "skip files whose name or full path matches PATTERN (shell wildcards; repeatable)"},
    {"--tag TAG", "add TAG to the snapshot (repeatable)"},
    {"-H, --host HOST", "record HOST instead of this machine's name"},
    {"--parent SNAPSHOT", "compare with SNAPSHOT instead of the latest one of this host and paths"},
    {"--force", "read every file, even those unchanged since the parent snapshot, and read back "
                "every blob the repository already holds that the snapshot uses: damaged ones "
                "are stored again"},
    {"--plain-chunking",
     "do not start a chunk at the pixel data of DICOM files (for measurements: costs "
     "deduplication between exports of the same images)"},
    {"--allow-empty", "a PATH that holds no file is intended: no warning, exit code 0"},
    {"--allow-shrink", "far fewer files than in the previous snapshot (or none in a PATH that "
                       "held some) are intended: no warning, exit code 0"},
    {"--time TIME", "record TIME (local, 'YYYY-MM-DD HH:MM:SS') as the snapshot's time instead of "
                    "now, as restic's --time: for files copied back from an older medium"},
    {NULL, NULL},
};

const struct cli_help cmd_backup_help = {
    "medvault backup -r LOCATION [options] PATH...",
    "back up files and directories",
    "Saves PATHs into the repository as a new snapshot: contents deduplicated, compressed and\n"
    "encrypted. Files unchanged since the parent snapshot (same size, times and inode) are not\n"
    "read again. Files that cannot be read are reported, skipped and listed in the snapshot;\n"
    "the backup then ends with exit code 3.\n"
    "\n"
    "An unmounted disk or share looks like an empty folder: a PATH that holds no file, or\n"
    "PATHs that hold fewer than half the files of the previous snapshot of the same host and\n"
    "paths (when it held at least 100), give a warning that says what was expected and\n"
    "what was found, and exit code 3, unless --allow-empty or --allow-shrink says that this\n"
    "is intended. The snapshot is still saved, the warning listed among its errors; the\n"
    "next backup compares with the previous snapshot without such a warning, so a disk\n"
    "missing two nights running is reported twice.\n"
    "\n"
    "On a terminal, a progress line shows the files and bytes done, and once a second walk\n"
    "of the PATHs (metadata only, made alongside) has counted them, the total, the\n"
    "percentage and the time left. Not with -q or --json, nor when stderr is not a terminal.\n"
    "\n"
    "Prints a summary; with --json one object {\"message_type\":\"summary\", \"files_new\", ...,\n"
    "\"snapshot_id\", \"unreadable\", \"suspect_sources\"}. Takes a shared lock: backups\n"
    "may run side by side, never during a check.",
    help_opts,
    "medvault backup -r /media/usb/backup /srv/imaging\n"
    "# nightly, from cron: quiet unless something is wrong\n"
    "medvault backup -q -r /media/usb/backup --password-file /root/.medvault-pw --tag nightly "
    "/srv/imaging\n"
    "medvault backup -r /media/usb/backup --exclude '*.tmp' /srv/imaging /home/dr/exports\n",
};

struct backup_args {
	struct mv_backup_opts o;
	const char **paths, **excludes, **tags;
};

/* "YYYY-MM-DD HH:MM:SS" in local time; -1 when not such a time. */
static int parse_time(const char *v, int64_t *ns)
{
	struct tm tm, in;
	char end;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(v, "%4d-%2d-%2d %2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &end) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	in = tm;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 || tm.tm_year != in.tm_year || tm.tm_mon != in.tm_mon ||
	    tm.tm_mday != in.tm_mday || tm.tm_min != in.tm_min || tm.tm_sec != in.tm_sec)
		return -1; /* no such day or minute (hours may move at a DST change) */
	*ns = (int64_t)t * 1000000000LL;
	return 0;
}

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct backup_args *a)
{
	struct cli_opt_iter it;
	int c;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		switch (c) {
		case O_EXCLUDE:
			a->excludes[a->o.nexcludes++] = it.value;
			break;
		case O_TAG:
			a->tags[a->o.ntags++] = it.value;
			break;
		case O_HOST:
			a->o.host = it.value;
			break;
		case O_PARENT:
			a->o.parent = it.value;
			break;
		case O_FORCE:
			a->o.force = 1;
			break;
		case O_PLAIN_CHUNKING:
			a->o.plain_chunking = 1;
			break;
		case O_ALLOW_EMPTY:
			a->o.allow_empty = 1;
			break;
		case O_ALLOW_SHRINK:
			a->o.allow_shrink = 1;
			break;
		case O_TIME:
			if (parse_time(it.value, &a->o.time_ns) != 0)
				return cli_usage_error(
				    "backup", "'%s': --time takes 'YYYY-MM-DD HH:MM:SS'", it.value);
			a->o.has_time = 1;
			break;
		case CLI_OPT_ARG:
			a->paths[a->o.npaths++] = it.value;
			break;
		default:
			return cli_usage_error("backup", "%s", it.err);
		}
	}
	if (ctx->g.help)
		return 0;
	if (a->o.npaths == 0)
		return cli_usage_error("backup", "nothing to back up: give one or more PATHs");
	a->o.paths = a->paths;
	a->o.excludes = a->excludes;
	a->o.tags = a->tags;
	a->o.threads = ctx->g.threads;
	return 0;
}

static void on_warn(struct cli_events *e, const char *path, const char *msg)
{
	(void)e;
	cli_warning("'%s': %s", path, msg);
}

static void print_json(const struct mv_backup_result *res)
{
	const struct mv_snapshot_summary *s = &res->summary;
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "message_type", "summary");
	cli_json_summary_counts(&j, s);
	cli_json_u64(&j, "total_files_processed", s->total_files);
	cli_json_u64(&j, "total_bytes_processed", s->total_bytes);
	cli_json_double(&j, "total_duration", res->seconds);
	cli_json_hex(&j, "snapshot_id", res->snapshot_id, 32);
	cli_json_u64(&j, "unreadable", res->unreadable);
	cli_json_u64(&j, "suspect_sources", res->suspect_sources);
	cli_json_end_object(&j);
}

static void print_human(const struct mv_backup_result *res)
{
	const struct mv_snapshot_summary *s = &res->summary;
	char a[CLI_FMT_LEN], b[CLI_FMT_LEN], t[CLI_FMT_LEN], id[65];

	printf("Files:  %llu new, %llu changed, %llu unmodified\n",
	       (unsigned long long)s->files_new, (unsigned long long)s->files_changed,
	       (unsigned long long)s->files_unmodified);
	printf("Dirs:   %llu\n", (unsigned long long)s->dirs);
	printf("Added to the repository: %s stored (%s read from new or changed files)\n\n",
	       cli_fmt_bytes(s->bytes_added, a), cli_fmt_bytes(s->bytes_processed, b));
	printf("processed %llu files, %s in %s\n", (unsigned long long)s->total_files,
	       cli_fmt_bytes(s->total_bytes, a), cli_fmt_duration(res->seconds, t));
	mv_hex(res->snapshot_id, 4, id);
	printf("snapshot %s saved\n", id);
}

static int run(struct cli_ctx *ctx, const struct backup_args *a)
{
	struct mv_backup_result res;
	struct mv_backup_opts o = a->o;
	struct mv_error err = {0};
	struct cli_events ev;
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = cli_repo_open(ctx, "backup", &r);
	if (rc == 0)
		rc = cli_repo_lock(r, 0, &lock);
	if (rc == 0)
		rc = cli_repo_load_index(ctx, r, 1, NULL);
	if (rc != 0)
		goto out;
	/* repositories made before the key list get one at their first write */
	if (mv_keylist_upgrade(r, &err) < 0) {
		cli_warning("cannot write the key list: %s", err.msg);
		mv_error_clear(&err);
	}
	cli_events_init(&ev, ctx, on_warn, NULL);
	/* the walk that counts the total costs a second pass over the
	 * metadata: only when someone watches the progress */
	o.count_totals = ev.progress.enabled;
	rc = mv_backup(r, &o, &ev.ev, &res, &err);
	cli_events_done(&ev);
	if (rc != 0 && rc != MV_ERR_PARTIAL) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	cli_rollback_note(ctx, r, res.snapshot_time_ns, res.snapshot_id);
	if (ctx->g.json)
		print_json(&res);
	else if (!ctx->g.quiet)
		print_human(&res);
	if (rc == MV_ERR_PARTIAL && res.unreadable)
		cli_warning("%llu file%s could not be read; the snapshot lists %s",
		            (unsigned long long)res.unreadable, res.unreadable == 1 ? "" : "s",
		            res.unreadable == 1 ? "it" : "them");
	if (rc == MV_ERR_PARTIAL && res.suspect_sources)
		cli_warning("the snapshot was saved, but its sources hold far fewer files than "
		            "expected (see above); the snapshot lists the warning");
	rc = cli_exit_code(rc);
out:
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

int cmd_backup(int argc, char **argv, struct cli_ctx *ctx)
{
	struct backup_args a;
	size_t n = (size_t)argc;
	int rc;

	memset(&a, 0, sizeof(a));
	a.paths = calloc(n, sizeof(*a.paths));
	a.excludes = calloc(n, sizeof(*a.excludes));
	a.tags = calloc(n, sizeof(*a.tags));
	if (!a.paths || !a.excludes || !a.tags) {
		cli_error("out of memory");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	rc = parse(argc, argv, ctx, &a);
	if (rc == 0)
		rc = ctx->g.help ? cli_help_command("backup") : run(ctx, &a);
out:
	free(a.paths);
	free(a.excludes);
	free(a.tags);
	return rc;
}
