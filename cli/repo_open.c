#include "cli/repo_open.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/keyfile.h"
#include "cli/password.h"
#include "core/repo/index.h"
#include "core/repo/rollback.h"
#include "core/repo/snapfind.h"

const char *cli_repo_location(const struct cli_ctx *ctx)
{
	const char *env;

	if (ctx->g.repo)
		return ctx->g.repo;
	env = getenv("MEDVAULT_REPOSITORY");
	return env && *env ? env : NULL;
}

/* The record's path for r; 0, or -1 (no state folder: nothing is kept). */
static int rollback_path(struct mv_repo *r, char path[4096])
{
	char hex[65], name[96];
	mv_hex(mv_repo_config(r)->repo_id, 32, hex);
	snprintf(name, sizeof(name), "rollback-%s", hex);
	return cli_state_path(name, path, 4096);
}

static void rollback_warn(struct cli_ctx *ctx, const char *what, const char *msg,
                          const struct mv_rollback_report *rep)
{
	char t[CLI_FMT_LEN];
	if (!ctx->g.json) {
		cli_warning("%s", msg);
		return;
	}
	struct cli_json j;
	cli_json_begin_message(&j, stderr, "warning");
	cli_json_str(&j, "code", what);
	cli_json_str(&j, "message", msg);
	if (rep && rep->snapshots_back) {
		cli_json_hex(&j, "recorded_snapshot", rep->recorded_id, 32);
		cli_json_str(&j, "recorded_time", cli_fmt_time_rfc3339(rep->recorded_time_ns, t));
		if (rep->have_newest) {
			cli_json_hex(&j, "newest_snapshot", rep->newest_id, 32);
			cli_json_str(&j, "newest_time",
			             cli_fmt_time_rfc3339(rep->newest_time_ns, t));
		}
	}
	if (rep && rep->slots_back) {
		cli_json_str(&j, "key_slot_back", rep->first_slot);
		cli_json_u64(&j, "key_slots_back", rep->slots_back);
	}
	cli_json_end_object(&j);
}

static void rollback_check(struct cli_ctx *ctx, struct mv_repo *r)
{
	struct mv_rollback_report rep;
	struct mv_error err = {0};
	char path[4096], msg[4800], t1[CLI_FMT_LEN], t2[CLI_FMT_LEN];

	if (rollback_path(r, path) != 0) {
		if (!ctx->g.quiet)
			rollback_warn(
			    ctx, "rollback_record",
			    "no place for the rollback record (no home folder): set "
			    "XDG_STATE_HOME; a rollback of the repository would go unnoticed",
			    NULL);
		return;
	}
	if (mv_rollback_check(r, path, &rep, &err) != 0) {
		if (!ctx->g.quiet) {
			snprintf(
			    msg, sizeof(msg),
			    "cannot keep the rollback record: %s; a rollback of the repository "
			    "would go unnoticed",
			    err.msg);
			rollback_warn(ctx, "rollback_record", msg, NULL);
		}
		return;
	}
	if (rep.damaged) {
		snprintf(
		    msg, sizeof(msg),
		    "the rollback record '%s' does not open (%s): damaged, or written without "
		    "the repository's key; a new one was made from what the repository holds now",
		    path, rep.why);
		rollback_warn(ctx, "rollback_record", msg, NULL);
	}
	if (rep.snapshots_back) {
		char id[9];
		mv_hex(rep.recorded_id, 4, id);
		snprintf(
		    msg, sizeof(msg),
		    "the repository has gone back in time (rolled back): snapshot %s of %s, the "
		    "newest this machine saw, is gone and no snapshot is as new (the newest is "
		    "%s); an older copy of the repository may have been put in its place, or its "
		    "newest snapshots deleted",
		    id, cli_fmt_time_local(rep.recorded_time_ns, t1),
		    rep.have_newest ? cli_fmt_time_local(rep.newest_time_ns, t2) : "none");
		rollback_warn(ctx, "rollback", msg, &rep);
		ctx->rolled_back = 1;
	}
	if (rep.slots_back) {
		snprintf(msg, sizeof(msg),
		         "the repository has gone back in time (rolled back): key slot %.16s%s, "
		         "removed earlier, is back; its password opens the repository again",
		         rep.first_slot, rep.slots_back > 1 ? " and others" : "");
		rollback_warn(ctx, "rollback", msg, &rep);
		ctx->rolled_back = 1;
	}
}

void cli_rollback_note(struct cli_ctx *ctx, struct mv_repo *r, int64_t time_ns,
                       const uint8_t id[32])
{
	struct mv_error err = {0};
	char path[4096];
	if (rollback_path(r, path) != 0)
		return; /* said when the repository was opened */
	if (mv_rollback_note(r, path, time_ns, id, &err) != 0 && !ctx->g.quiet)
		cli_warning("cannot keep the rollback record: %s", err.msg);
}

void cli_rollback_forgotten(struct cli_ctx *ctx, struct mv_repo *r,
                            const struct mv_snapshot *removed, size_t nremoved,
                            const struct mv_snapshot *kept, size_t nkept)
{
	struct mv_error err = {0};
	char path[4096];
	if (nremoved == 0 || rollback_path(r, path) != 0)
		return;
	if (mv_rollback_forgotten(r, path, removed, nremoved, kept, nkept, &err) != 0 &&
	    !ctx->g.quiet)
		cli_warning("cannot keep the rollback record: %s", err.msg);
}

/* --retry-lock: says once that the command waits, and why. */
static void lock_waiting(void *arg, const char *msg)
{
	const struct cli_ctx *ctx = arg;
	if (!ctx->g.quiet && !ctx->g.json)
		cli_warning("%s", msg);
}

static int opened(struct cli_ctx *ctx, const char *loc, struct mv_repo *r, int rc,
                  const struct mv_error *err, struct mv_repo **out);

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
	const char *key_file = cli_key_file_path(ctx);
	if (key_file) {
		if (ctx->g.password_file || ctx->g.password_command) {
			rc = cli_usage_error(cmd, "--key-file (or MEDVAULT_KEY_FILE) and "
			                          "--password-file or --password-command exclude "
			                          "each other");
			goto fail;
		}
		uint8_t *key = sodium_malloc(MV_KEY_LEN);
		if (!key) {
			cli_error("out of memory");
			rc = CLI_EXIT_FATAL;
			goto fail;
		}
		rc = cli_key_file_read(key_file, key);
		if (rc == 0)
			rc = mv_repo_unlock_machine(r, key, &err);
		sodium_free(key);
		if (rc > 0)
			goto fail; /* an exit code: printed */
	} else {
		if (!ctx->open_secret) {
			rc = cli_password_read(&ctx->g, CLI_PASSWORD_OPEN, ctx->cancel, &secret);
			if (rc != 0)
				goto fail;
			ctx->open_secret = secret.p; /* kept: cli_ctx_release */
			ctx->open_secret_len = secret.len;
		}
		rc = mv_repo_unlock(r, ctx->open_secret, ctx->open_secret_len, &err);
	}
	return opened(ctx, loc, r, rc, &err, out);
fail:
	mv_repo_close(r);
	return rc;
}

/* After an unlock that returned rc: the warnings about how it opened, the
 * lock's retry, the rollback check; closes r on failure. */
static int opened(struct cli_ctx *ctx, const char *loc, struct mv_repo *r, int rc,
                  const struct mv_error *err, struct mv_repo **out)
{
	struct mv_unlock_info ui;
	mv_repo_unlock_info(r, &ui);
	if (ui.slots_skipped > 0) /* shown even with -q: a slot may be planted */
		cli_warning("%s%s", ui.skip_msg,
		            ui.slots_skipped > 1 ? " (and other key slots; run 'medvault check')"
		                                 : "");
	if (rc != 0) {
		rc = cli_fail(rc, err);
		goto fail;
	}
	if (ui.slot_kind == MV_SLOT_RECOVERY && !ctx->g.quiet)
		cli_warning("repository opened with the recovery key; keep that key offline. Lost "
		            "the password? Give the repository a new one with 'medvault key passwd "
		            "-r %s'",
		            loc);
	if (ctx->g.verbose && !ctx->g.json)
		fprintf(stderr, "repository %s opened\n", loc);
	mv_lock_set_retry(r, ctx->g.retry_lock_ms * 1000000LL, ctx->cancel, lock_waiting, ctx);
	rollback_check(ctx, r);
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
	if (!file && env && getenv(env))
		rc = cli_password_read_other(NULL, env, prompt, hint, ctx->cancel, &secret);
	else /* a file, or asked once on the terminal */
		rc = cli_secret_read_once(file, prompt, hint, ctx->cancel, &secret);
	if (rc != 0) {
		mv_repo_close(r);
		return rc;
	}
	rc = mv_repo_unlock(r, secret.p, secret.len, &err);
	cli_secret_free(&secret);
	return opened(ctx, loc, r, rc, &err, out);
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

void cli_ctx_release(struct cli_ctx *ctx)
{
	struct cli_secret kept = {ctx->open_secret, ctx->open_secret_len};
	cli_secret_free(&kept);
	ctx->open_secret = NULL;
	ctx->open_secret_len = 0;
}
