#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "core/ops/sourcecheck.h"

const struct cli_help cmd_snapshots_help = {
    "medvault snapshots -r LOCATION [--json]",
    "list snapshots",
    "Lists the snapshots, oldest first: short id, local time, host, tags, paths and the\n"
    "total size of the files they hold. With --json, prints an array of objects as restic\n"
    "does: id, short_id, time (RFC 3339), host, username, paths, tags, tree, parent (when\n"
    "there is one), summary, and errors (files that could not be read, when any).\n"
    "Below a snapshot's row, the table says how many files could not be read and\n"
    "repeats backup's warnings about its sources (empty, or far fewer files than before).\n"
    "Damaged snapshot files are skipped with a warning and give exit code 4.",
    NULL,
    "medvault snapshots -r /media/usb/backup\n"
    "medvault snapshots -r /media/usb/backup --json\n",
};

static void json_summary(struct cli_json *j, const struct mv_snapshot_summary *s)
{
	cli_json_begin_object(j, "summary");
	cli_json_summary_counts(j, s);
	cli_json_u64(j, "bytes_processed", s->bytes_processed);
	cli_json_u64(j, "total_files_processed", s->total_files);
	cli_json_u64(j, "total_bytes_processed", s->total_bytes);
	cli_json_end_object(j);
}

static void json_list(struct cli_json *j, const char *key, char *const *items, uint32_t n)
{
	cli_json_begin_array(j, key);
	for (uint32_t i = 0; i < n; i++)
		cli_json_str(j, NULL, items[i]);
	cli_json_end_array(j);
}

static void print_json(const struct mv_snapshot *s, size_t n)
{
	char t[CLI_FMT_LEN], id[65];
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_begin_array(&j, NULL);
	for (size_t i = 0; i < n; i++) {
		cli_json_begin_object(&j, NULL);
		cli_json_hex(&j, "id", s[i].id, 32);
		mv_hex(s[i].id, 4, id);
		cli_json_str(&j, "short_id", id);
		cli_json_str(&j, "time", cli_fmt_time_rfc3339(s[i].time_ns, t));
		cli_json_str(&j, "host", s[i].host ? s[i].host : "");
		cli_json_str(&j, "username", s[i].user ? s[i].user : "");
		json_list(&j, "paths", s[i].paths, s[i].npaths);
		json_list(&j, "tags", s[i].tags, s[i].ntags);
		cli_json_hex(&j, "tree", s[i].tree, 32);
		if (s[i].has_parent)
			cli_json_hex(&j, "parent", s[i].parent, 32);
		json_summary(&j, &s[i].summary);
		if (s[i].nerrors > 0) {
			cli_json_begin_array(&j, "errors");
			for (uint32_t e = 0; e < s[i].nerrors; e++) {
				cli_json_begin_object(&j, NULL);
				cli_json_str(&j, "path", s[i].errors[e].path);
				cli_json_str(&j, "message", s[i].errors[e].msg);
				cli_json_end_object(&j);
			}
			cli_json_end_array(&j);
		}
		cli_json_end_object(&j);
	}
	cli_json_end_array(&j);
}

/* The table's cells, escaped for the terminal. */
struct row {
	char id[9];
	char time[CLI_FMT_LEN];
	char *host;
	char *tags;
	char size[CLI_FMT_LEN];
};

static char *join_tags(const struct mv_snapshot *s)
{
	size_t len = 1;
	char *out, *p;

	for (uint32_t i = 0; i < s->ntags; i++)
		len += strlen(s->tags[i]) + 1;
	p = out = malloc(len);
	if (!out)
		return NULL;
	*p = '\0';
	for (uint32_t i = 0; i < s->ntags; i++) {
		size_t n = strlen(s->tags[i]);
		if (i > 0)
			*p++ = ',';
		memcpy(p, s->tags[i], n);
		p += n;
		*p = '\0';
	}
	p = cli_term_dup(out, strlen(out));
	free(out);
	return p;
}

static void pad(size_t width, size_t used)
{
	for (; used < width; used++)
		putchar(' ');
}

static void print_rule(size_t n)
{
	for (size_t i = 0; i < n; i++)
		putchar('-');
	putchar('\n');
}

/* Under a snapshot's row: the warnings of backup's check of its sources,
 * and how many files could not be read. */
static void print_errors(const struct mv_snapshot *s)
{
	uint32_t unreadable = 0;

	for (uint32_t e = 0; e < s->nerrors; e++) {
		const char *path = s->errors[e].path ? s->errors[e].path : "";
		const char *msg = s->errors[e].msg ? s->errors[e].msg : "";
		if (!mv_source_finding(msg)) {
			unreadable++;
			continue;
		}
		printf("%10swarning: '", "");
		cli_term_put(stdout, path, strlen(path));
		printf("': ");
		cli_term_put(stdout, msg, strlen(msg));
		putchar('\n');
	}
	if (unreadable)
		printf("%10s%u file%s could not be read (--json lists %s)\n", "", unreadable,
		       unreadable == 1 ? "" : "s", unreadable == 1 ? "it" : "them");
}

static void print_rows(const struct mv_snapshot *s, const struct row *rows, size_t n, size_t wh,
                       size_t wt)
{
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		printf("%-8s  %-19s  %s", r->id, r->time, r->host);
		pad(wh + 2, cli_term_width(r->host));
		printf("%s", r->tags);
		pad(wt + 2, cli_term_width(r->tags));
		printf("%12s  ", r->size);
		for (uint32_t p = 0; p < s[i].npaths; p++) {
			if (p > 0) {
				putchar('\n');
				pad(8 + 2 + 19 + 2 + wh + 2 + wt + 2 + 12 + 2, 0);
			}
			cli_term_put(stdout, s[i].paths[p], strlen(s[i].paths[p]));
		}
		putchar('\n');
		print_errors(&s[i]);
	}
}

/* Fills the cells and widens *wh and *wt (host and tags columns) to fit.
 * Returns 0 or -1 when out of memory. */
static int fill_rows(const struct mv_snapshot *s, struct row *rows, size_t n, size_t *wh,
                     size_t *wt)
{
	for (size_t i = 0; i < n; i++) {
		const char *host = s[i].host ? s[i].host : "";
		mv_hex(s[i].id, 4, rows[i].id);
		cli_fmt_time_local(s[i].time_ns, rows[i].time);
		cli_fmt_bytes(s[i].summary.total_bytes, rows[i].size);
		rows[i].host = cli_term_dup(host, strlen(host));
		rows[i].tags = join_tags(&s[i]);
		if (!rows[i].host || !rows[i].tags)
			return -1;
		if (cli_term_width(rows[i].host) > *wh)
			*wh = cli_term_width(rows[i].host);
		if (cli_term_width(rows[i].tags) > *wt)
			*wt = cli_term_width(rows[i].tags);
	}
	return 0;
}

static int print_table(const struct mv_snapshot *s, size_t n)
{
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	size_t wh = 4, wt = 4, i;
	int rc = CLI_EXIT_FATAL;

	if (!rows || fill_rows(s, rows, n, &wh, &wt) != 0) {
		cli_error("out of memory");
		goto out;
	}
	printf("%-8s  %-19s  %s", "ID", "Time", "Host");
	pad(wh + 2, 4);
	printf("Tags");
	pad(wt + 2, 4);
	printf("%12s  Paths\n", "Size");
	print_rule(8 + 2 + 19 + 2 + wh + 2 + wt + 2 + 12 + 2 + 5);
	print_rows(s, rows, n, wh, wt);
	print_rule(8 + 2 + 19 + 2 + wh + 2 + wt + 2 + 12 + 2 + 5);
	printf("%zu snapshot%s\n", n, n == 1 ? "" : "s");
	rc = CLI_EXIT_OK;
out:
	for (i = 0; rows && i < n; i++) {
		free(rows[i].host);
		free(rows[i].tags);
	}
	free(rows);
	return rc;
}

int cmd_snapshots(int argc, char **argv, struct cli_ctx *ctx)
{
	struct mv_error err = {0};
	struct mv_repo *r = NULL;
	struct mv_snapshot *s = NULL;
	size_t n = 0, damaged = 0;
	int rc;

	if (cli_bare_command(argc, argv, ctx, "snapshots", &rc))
		return rc;
	rc = cli_repo_open(ctx, "snapshots", &r);
	if (rc != 0)
		return rc;
	rc = mv_repo_snapshots(r, &s, &n, &damaged, &err);
	if (rc != 0) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	if (n > 0) /* sorted oldest first */
		cli_rollback_note(ctx, r, s[n - 1].time_ns, s[n - 1].id);
	if (ctx->g.json)
		print_json(s, n);
	else
		rc = print_table(s, n);
	if (damaged > 0) {
		cli_warning("%zu snapshot file%s damaged and not listed (%s); run 'medvault check'",
		            damaged, damaged == 1 ? " is" : "s are",
		            err.msg[0] ? err.msg : "integrity error");
		if (rc == 0)
			rc = CLI_EXIT_INTEGRITY;
	}
out:
	mv_snapshots_free(s, n);
	mv_repo_close(r);
	return rc;
}
