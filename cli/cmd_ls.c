#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "cli/select.h"
#include "core/repo/walker.h"
#include "core/repo/index.h"
#include "core/ops/ops.h"

enum { O_LONG = 1 };

static const struct cli_opt_spec opts[] = {
    {"long", 'l', 0, O_LONG},
    CLI_SNAPSHOT_OPTS,
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"-l, --long", "long format: mode, owner, group, size, modification time"},
    CLI_SNAPSHOT_HELP,
    {NULL, NULL},
};

const struct cli_help cmd_ls_help = {
    "medvault ls -r LOCATION [-l] SNAPSHOT [PATH]",
    "list the files in a snapshot",
    "Lists every file and directory of SNAPSHOT (an id, a unique prefix of one, or\n"
    "\"latest\"), or only PATH and what lies below it. Paths are shown as they were\n"
    "backed up (/srv/imaging/...); control characters and bytes that are not UTF-8 are\n"
    "shown as \\xNN. With --json, prints one object per line: {\"struct_type\":\"node\",\n"
    "\"name\", \"type\", \"path\", \"size\", \"mode\", \"mtime\", \"uid\", \"gid\"}.",
    help_opts,
    "medvault ls -r /media/usb/backup latest\n"
    "medvault ls -r /media/usb/backup -l 1a2b3c4d /srv/imaging/2019\n",
};

/* What the walk's callback returns to stop (neither 0 nor MV_WALK_SKIP). */
enum { WALK_OUTPUT = 2, WALK_INTERRUPTED = 3 };

struct ls_state {
	const struct cli_ctx *ctx;
	int long_format;
	struct mv_error *err; /* of a tree that cannot be read */
};

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case MV_NODE_FILE:
		return "file";
	case MV_NODE_DIR:
		return "dir";
	case MV_NODE_SYMLINK:
		return "symlink";
	case MV_NODE_FIFO:
		return "fifo";
	case MV_NODE_CHR:
		return "chardev";
	case MV_NODE_BLK:
		return "dev";
	case MV_NODE_SOCK:
		return "socket";
	default:
		return "unknown";
	}
}

/* "drwxr-xr-x" */
static void mode_string(const struct mv_node *n, char out[11])
{
	static const char kinds[] = "?-dlpcbs";
	static const char rwx[] = "rwxrwxrwx";
	uint32_t m = n->mode;

	out[0] = n->kind < sizeof(kinds) - 1 ? kinds[n->kind] : '?';
	for (int i = 0; i < 9; i++)
		out[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		out[3] = out[3] == 'x' ? 's' : 'S';
	if (m & S_ISGID)
		out[6] = out[6] == 'x' ? 's' : 'S';
	if (m & S_ISVTX)
		out[9] = out[9] == 'x' ? 't' : 'T';
	out[10] = '\0';
}

static void print_json(const char *path, const struct mv_node *n)
{
	char t[CLI_FMT_LEN];
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "struct_type", "node");
	cli_json_strn(&j, "name", (const char *)n->name, n->name_len);
	cli_json_str(&j, "type", kind_name(n->kind));
	cli_json_str(&j, "path", path);
	cli_json_u64(&j, "size", n->size);
	cli_json_u64(&j, "mode", n->mode);
	cli_json_str(&j, "mtime", cli_fmt_time_rfc3339(n->mtime_ns, t));
	cli_json_u64(&j, "uid", n->uid);
	cli_json_u64(&j, "gid", n->gid);
	cli_json_end_object(&j);
}

static void print_long(const char *path, const struct mv_node *n)
{
	char mode[11], t[CLI_FMT_LEN];

	mode_string(n, mode);
	printf("%s %6lu %6lu %12llu %s ", mode, (unsigned long)n->uid, (unsigned long)n->gid,
	       (unsigned long long)n->size, cli_fmt_time_local(n->mtime_ns, t));
	cli_term_put(stdout, path, strlen(path));
	if (n->kind == MV_NODE_SYMLINK && n->target) {
		fputs(" -> ", stdout);
		cli_term_put(stdout, (const char *)n->target, n->target_len);
	}
	putchar('\n');
}

/* PATH itself (when given) and everything below it, depth first. */
static int on_event(void *arg, const struct mv_walk_item *it)
{
	struct ls_state *st = arg;
	const struct mv_node *n = it->node;

	if (it->event == MV_WALK_ERROR) {
		*st->err = *it->err;
		return it->rc;
	}
	if (it->event != MV_WALK_NODE)
		return MV_WALK_CONTINUE;
	if (st->ctx->cancel && *st->ctx->cancel)
		return WALK_INTERRUPTED;
	if (st->ctx->g.json)
		print_json(it->path, n);
	else if (st->long_format)
		print_long(it->path, n);
	else {
		cli_term_put(stdout, it->path, it->path_len);
		putchar('\n');
	}
	return ferror(stdout) ? WALK_OUTPUT : MV_WALK_CONTINUE;
}

static int list(struct cli_ctx *ctx, struct ls_state *st, const char *name, const char *path)
{
	struct mv_error err = {0};
	struct mv_snapshot snap;
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	char *prefix = NULL;
	int rc;

	memset(&snap, 0, sizeof(snap));
	rc = cli_repo_open_reader(ctx, "ls", 1u << MV_T_TREE, &r, &lock);
	if (rc != 0)
		goto out;
	rc = cli_find_snapshot(ctx, r, name, &snap);
	if (rc != 0)
		goto out;
	if (path) {
		prefix = cli_snapshot_path(path);
		if (!prefix) {
			cli_error("out of memory");
			rc = CLI_EXIT_FATAL;
			goto out;
		}
	}
	/* only the trees on the way to PATH and below it are read */
	struct mv_walk_opts wo = {.max_depth = 512, .path_max = 65536, .subpath = prefix};
	st->err = &err;
	rc = mv_walk_tree(r, snap.tree, &wo, on_event, st, &err);
	if (rc == MV_ERR_NOTFOUND && err.saved_errno == ENOENT) {
		cli_error("'%s' is not in the snapshot", path);
		rc = CLI_EXIT_FATAL;
	} else if (rc < 0)
		rc = cli_fail(rc, &err);
	else if (rc == WALK_INTERRUPTED)
		rc = cli_fail(MV_ERR_INTERRUPTED, NULL);
	else if (rc == WALK_OUTPUT)
		rc = CLI_EXIT_FATAL; /* main reports the write error */
	else
		rc = CLI_EXIT_OK;
out:
	free(prefix);
	mv_snapshot_release(&snap);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

int cmd_ls(int argc, char **argv, struct cli_ctx *ctx)
{
	struct ls_state st;
	struct cli_opt_iter it;
	const char *args[2] = {NULL, NULL};
	int c, nargs = 0;

	memset(&st, 0, sizeof(st));
	st.ctx = ctx;
	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (cli_snapshot_option(ctx, c, it.value)) {
			continue;
		} else if (c == O_LONG) {
			st.long_format = 1;
		} else if (c == CLI_OPT_ARG) {
			if (nargs == 2)
				return cli_usage_error("ls", "too many arguments");
			args[nargs++] = it.value;
		} else {
			return cli_usage_error("ls", "%s", it.err);
		}
	}
	if (ctx->g.help)
		return cli_help_command("ls");
	if (nargs == 0)
		return cli_usage_error("ls", "which snapshot? give an id, a prefix or 'latest'");
	return list(ctx, &st, args[0], args[1]);
}
