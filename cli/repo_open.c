#include "cli/repo_open.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/exitcode.h"
#include "cli/output.h"
#include "cli/password.h"
#include "core/repo/index.h"
#include "core/repo/snapfind.h"

const char *cli_repo_location(const struct cli_ctx *ctx)
{
	const char *env;

	if (ctx->g.repo)
		return ctx->g.repo;
	env = getenv("MEDVAULT_REPOSITORY");
	return env && *env ? env : NULL;
}

static int unlock(struct cli_ctx *ctx, const char *loc, struct mv_repo *r,
                  struct cli_secret *secret, struct mv_repo **out);

int cli_repo_open(struct cli_ctx *ctx, const char *cmd, struct mv_repo **out)
{
	struct mv_error err = {0};
	struct cli_secret secret = {NULL, 0};
	struct mv_repo *r = NULL;
	const char *loc = cli_repo_location(ctx);
	int rc;

	*out = NULL;
	if (!loc)
		return cli_usage_error(cmd, "no repository given: use -r LOCATION or set "
		                            "MEDVAULT_REPOSITORY");
	rc = mv_repo_open(loc, &r, &err);
	if (rc != 0)
		return cli_fail(rc, &err);
	rc = cli_password_read(&ctx->g, CLI_PASSWORD_OPEN, ctx->cancel, &secret);
	if (rc != 0) {
		mv_repo_close(r);
		return rc;
	}
	return unlock(ctx, loc, r, &secret, out);
}

/* Unlocks r with secret (wiped here) and reports how; closes r on
 * failure. */
static int unlock(struct cli_ctx *ctx, const char *loc, struct mv_repo *r,
                  struct cli_secret *secret, struct mv_repo **out)
{
	struct mv_error err = {0};
	int rc = mv_repo_unlock(r, secret->p, secret->len, &err);
	cli_secret_free(secret);
	struct mv_unlock_info ui;
	mv_repo_unlock_info(r, &ui);
	if (ui.slots_skipped > 0) /* shown even with -q: a slot may be planted */
		cli_warning("%s%s", ui.skip_msg,
		            ui.slots_skipped > 1 ? " (and other key slots; run 'medvault check')"
		                                 : "");
	if (rc != 0) {
		rc = cli_fail(rc, &err);
		goto fail;
	}
	if (ui.slot_kind == MV_SLOT_RECOVERY && !ctx->g.quiet)
		cli_warning("repository opened with the recovery key; keep that key offline");
	if (ctx->g.verbose && !ctx->g.json)
		fprintf(stderr, "repository %s opened\n", loc);
	*out = r;
	return 0;
fail:
	mv_repo_close(r);
	return rc;
}

int cli_repo_open_other(struct cli_ctx *ctx, const char *loc, const char *file, const char *env,
                        const char *prompt, const char *hint, struct mv_repo **out)
{
	struct mv_error err = {0};
	struct cli_secret secret = {NULL, 0};
	struct mv_repo *r = NULL;
	int rc;

	*out = NULL;
	rc = mv_repo_open(loc, &r, &err);
	if (rc != 0)
		return cli_fail(rc, &err);
	rc = cli_password_read_other(file, env, prompt, hint, CLI_PASSWORD_OPEN, ctx->cancel,
	                             &secret);
	if (rc != 0) {
		mv_repo_close(r);
		return rc;
	}
	return unlock(ctx, loc, r, &secret, out);
}

int cli_repo_lock(struct mv_repo *r, int exclusive, struct mv_lock **out)
{
	struct mv_error err = {0};
	int rc = mv_lock_acquire(r, exclusive, out, &err);

	if (rc == MV_ERR_NOSPC ||
	    (rc == MV_ERR_IO && (err.saved_errno == EROFS || err.saved_errno == EACCES)))
		mv_error_prefix(&err, rc,
		                "the repository cannot be written to, nothing was changed");
	return rc == 0 ? 0 : cli_fail(rc, &err);
}

int cli_repo_load_index(struct cli_ctx *ctx, struct mv_repo *r, int scan_orphans, size_t *damaged)
{
	struct mv_error err = {0};
	size_t bad = 0;
	int rc = mv_repo_load_index(r, scan_orphans, &bad, &err);

	if (damaged)
		*damaged = bad;
	if (rc != 0)
		return cli_fail(rc, &err);
	if (bad > 0 && !ctx->g.quiet)
		cli_warning("%zu index file%s damaged (%s); run 'medvault check'", bad,
		            bad == 1 ? " is" : "s are", err.msg[0] ? err.msg : "integrity error");
	return 0;
}

int cli_repo_lock_reader(struct cli_ctx *ctx, struct mv_repo *r, int exclusive,
                         struct mv_lock **out)
{
	struct mv_error err = {0};

	*out = NULL;
	if (ctx->g.no_lock)
		return 0;
	int rc = mv_lock_acquire_reader(r, exclusive, out, &err);
	if (rc != 0)
		return cli_fail(rc, &err);
	if (!*out)
		cli_warning("going on without a lock: the repository cannot be written to (%s); "
		            "nothing may write to it meanwhile (--no-lock skips this attempt)",
		            err.msg[0] ? err.msg : "read-only");
	return 0;
}

static void warn_damaged(struct cli_ctx *ctx, const struct mv_snapshot_damage *d)
{
	const char *loc = cli_repo_location(ctx);

	for (size_t i = 0; i < d->n; i++)
		cli_warning("damaged snapshot file '%s/snapshots/%s'%s%s", loc ? loc : ".",
		            d->names[i], i == 0 ? ": " : "", i == 0 ? d->first.msg : "");
}

int cli_find_snapshot(struct cli_ctx *ctx, struct mv_repo *r, const char *name,
                      struct mv_snapshot *snap)
{
	struct cli_snapshot_filter *sf = &ctx->snapf;
	struct mv_snapshot_damage d;
	struct mv_error err = {0};
	char *paths[CLI_SNAPSHOT_FILTER_MAX];
	size_t np = 0;
	int rc;

	memset(snap, 0, sizeof(*snap));
	memset(&d, 0, sizeof(d));
	if (sf->too_many)
		return cli_usage_error(ctx->cmd, "at most %d --host and %d --path",
		                       CLI_SNAPSHOT_FILTER_MAX, CLI_SNAPSHOT_FILTER_MAX);
	for (; np < sf->npaths; np++) {
		paths[np] = mv_abs_path(sf->paths[np]);
		if (!paths[np]) {
			cli_error("out of memory, or the current directory is unknown");
			rc = CLI_EXIT_FATAL;
			goto out;
		}
	}
	struct mv_snapshot_filter f = {sf->hosts, sf->nhosts, (const char *const *)paths, np};
	rc = mv_snapshot_resolve(r, name, &f, snap, &d, &err);
	if (rc == 0 && d.n > 0) {
		char id[9], t[CLI_FMT_LEN];
		warn_damaged(ctx, &d);
		mv_hex(snap->id, 4, id);
		cli_warning("%zu snapshot file%s damaged and one may be newer than what 'latest' "
		            "found: snapshot %s of %s is used; run 'medvault check' (exit code 4)",
		            d.n, d.n == 1 ? " is" : "s are", id,
		            cli_fmt_time_local(snap->time_ns, t));
		ctx->damaged = 1;
	} else if (rc != 0 && strcmp(name, "latest") != 0 && d.n == 1) {
		const char *loc = cli_repo_location(ctx);
		cli_error(
		    "snapshot %.8s is damaged: its file '%s/snapshots/%s' cannot be used (%s); "
		    "run 'medvault check'",
		    d.names[0], loc ? loc : ".", d.names[0], d.first.msg);
		rc = cli_exit_code(rc);
	} else if (rc != 0) {
		warn_damaged(ctx, &d);
		if (rc == MV_ERR_NOTFOUND && (sf->nhosts || np))
			rc = mv_error_set(&err, rc, 0, "no snapshot matches %s%s%s%s%s",
			                  sf->nhosts ? "host '" : "",
			                  sf->nhosts ? sf->hosts[0] : "", sf->nhosts ? "'" : "",
			                  np ? (sf->nhosts ? " and path " : "path ") : "",
			                  np ? paths[0] : "");
		rc = cli_fail(rc, &err);
	}
out:
	for (size_t i = 0; i < np; i++)
		free(paths[i]);
	mv_snapshot_damage_release(&d);
	return rc;
}

int cli_repo_open_reader(struct cli_ctx *ctx, const char *cmd, uint32_t types, struct mv_repo **r,
                         struct mv_lock **lock)
{
	int rc = cli_repo_open(ctx, cmd, r);
	if (rc == 0)
		rc = cli_repo_lock_reader(ctx, *r, 0, lock);
	if (rc == 0) {
		mv_repo_index_filter(*r, types);
		rc = cli_repo_load_index(ctx, *r, 0, NULL);
	}
	return rc;
}

int cli_open_snapshot(struct cli_ctx *ctx, const char *cmd, const char *name, struct mv_repo **r,
                      struct mv_lock **lock, struct mv_snapshot *snap)
{
	int rc = cli_repo_open_reader(ctx, cmd, 0, r, lock);
	if (rc != 0)
		return rc;
	return cli_find_snapshot(ctx, *r, name, snap);
}

static void events_warn(void *arg, const char *path, const char *msg)
{
	struct cli_events *e = arg;

	pthread_mutex_lock(&e->lock);
	e->warnings++;
	cli_progress_clear_line();
	e->on_warn(e, path ? path : "", msg ? msg : "");
	pthread_mutex_unlock(&e->lock);
}

static void events_note(void *arg, const char *path, const char *msg)
{
	struct cli_events *e = arg;

	if (e->ctx->g.quiet || e->ctx->g.json)
		return;
	pthread_mutex_lock(&e->lock);
	cli_progress_clear_line();
	cli_warning("'%s': %s", path ? path : "", msg ? msg : "");
	pthread_mutex_unlock(&e->lock);
}

static void events_progress(void *arg, const struct mv_progress *p)
{
	struct cli_events *e = arg;

	pthread_mutex_lock(&e->lock);
	cli_progress_update(&e->progress, p);
	pthread_mutex_unlock(&e->lock);
}

void cli_events_init(struct cli_events *e, struct cli_ctx *ctx,
                     void (*warn)(struct cli_events *e, const char *path, const char *msg),
                     void *arg)
{
	e->ctx = ctx;
	e->warnings = 0;
	e->on_warn = warn;
	e->arg = arg;
	pthread_mutex_init(&e->lock, NULL);
	cli_progress_init(&e->progress, !ctx->g.quiet && !ctx->g.json);
	e->ev.progress = events_progress;
	e->ev.warn = events_warn;
	e->ev.note = events_note;
	e->ev.arg = e;
	e->ev.cancel = ctx->cancel;
}

void cli_events_done(struct cli_events *e)
{
	cli_progress_done(&e->progress);
	pthread_mutex_destroy(&e->lock);
}

char *cli_snapshot_path(const char *p)
{
	char *out = malloc(strlen(p) + 2), *o = out;

	if (!out)
		return NULL;
	while (*p) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		*o++ = '/';
		while (*p && *p != '/')
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

int cli_snapshots_pick(struct cli_ctx *ctx, struct mv_repo *r, const char *const *names, size_t n,
                       struct mv_snapshot **out, size_t *nout)
{
	struct mv_error err = {0};
	size_t damaged = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if (n == 0) {
		rc = mv_repo_snapshots(r, out, nout, &damaged, &err);
		if (rc)
			return cli_fail(rc, &err);
		if (damaged) {
			cli_warning("%zu damaged snapshot file%s left out (run 'medvault check')",
			            damaged, damaged == 1 ? "" : "s");
			ctx->damaged = 1;
		}
		return 0;
	}
	if (!(*out = calloc(n, sizeof(**out)))) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	for (; *nout < n; (*nout)++)
		if ((rc = cli_find_snapshot(ctx, r, names[*nout], &(*out)[*nout])))
			return rc;
	return 0;
}
