#include "cli/repo_open.h"

#include <stdlib.h>
#include <string.h>

#include "cli/exitcode.h"
#include "cli/output.h"
#include "cli/password.h"

const char *cli_repo_location(const struct cli_ctx *ctx)
{
	const char *env;

	if (ctx->g.repo)
		return ctx->g.repo;
	env = getenv("MEDVAULT_REPOSITORY");
	return env && *env ? env : NULL;
}

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
	if (rc != 0)
		goto fail;
	rc = mv_repo_unlock(r, secret.p, secret.len, &err);
	cli_secret_free(&secret);
	if (r->slots_skipped > 0) /* shown even with -q: a slot may be planted */
		cli_warning("%s%s", r->skip_msg,
		            r->slots_skipped > 1 ? " (and other key slots; run 'medvault check')"
		                                 : "");
	if (rc != 0) {
		rc = cli_fail(rc, &err);
		goto fail;
	}
	if (r->slot_kind == MV_SLOT_RECOVERY && !ctx->g.quiet)
		cli_warning("repository opened with the recovery key; keep that key offline");
	if (ctx->g.verbose && !ctx->g.json)
		fprintf(stderr, "repository %s opened\n", loc);
	*out = r;
	return 0;
fail:
	mv_repo_close(r);
	return rc;
}

int cli_repo_lock(struct mv_repo *r, int exclusive, struct mv_lock **out)
{
	struct mv_error err = {0};
	int rc = mv_lock_acquire(r, exclusive, out, &err);

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

int cli_open_snapshot(struct cli_ctx *ctx, const char *cmd, const char *name, struct mv_repo **r,
                      struct mv_lock **lock, struct mv_snapshot *snap)
{
	struct mv_error err = {0};
	int rc = cli_repo_open(ctx, cmd, r);
	if (rc == 0)
		rc = cli_repo_lock(*r, 0, lock);
	if (rc == 0)
		rc = cli_repo_load_index(ctx, *r, 0, NULL);
	if (rc != 0)
		return rc;
	rc = mv_repo_find_snapshot(*r, name, snap, &err);
	return rc == 0 ? 0 : cli_fail(rc, &err);
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
