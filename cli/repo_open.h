/* Helpers shared by the commands that work on a repository: open and
 * unlock it, take its lock, load its index, route engine events to the
 * progress line and stderr. Each prints its own error and returns an exit
 * code (0 on success). */
#ifndef MV_CLI_REPO_OPEN_H
#define MV_CLI_REPO_OPEN_H

#include <pthread.h>
#include <stdint.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "core/repo/lock.h"
#include "core/util/events.h"
#include "core/repo/repo.h"

/* mv_repo_open on -r or MEDVAULT_REPOSITORY (exit 2 when neither is
 * given, 10 when there is no repository there), reads the secret (see
 * cli/password.h) and mv_repo_unlock (12 on a wrong password). The secret
 * is wiped before returning. */
int cli_repo_open(struct cli_ctx *ctx, const char *cmd, struct mv_repo **out);

/* Wipes and frees what cli_repo_open kept in ctx (the secret, for a second
 * open in the same run). */
void cli_ctx_release(struct cli_ctx *ctx);

/* The rollback record (core/repo/rollback.h): cli_repo_open compares the
 * repository with it and warns (also with -q; with --json as an object on
 * stderr) and sets ctx->rolled_back when the repository has gone back in
 * time. cli_rollback_note moves the record to a snapshot saved or listed as
 * the newest. A record that cannot be kept is a warning, never an error. */
void cli_rollback_note(struct cli_ctx *ctx, struct mv_repo *r, int64_t time_ns,
                       const uint8_t id[32]);
/* After forget removed snapshots on purpose: mv_rollback_forgotten. */
void cli_rollback_forgotten(struct cli_ctx *ctx, struct mv_repo *r,
                            const struct mv_snapshot *removed, size_t nremoved,
                            const struct mv_snapshot *kept, size_t nkept);

/* Opens and unlocks a second repository (copy's source) at loc: its secret
 * from `file` (as --password-file), else the environment variable `env`,
 * else asked once on the terminal after `prompt` (hint: what to use without
 * one). Returns 0 or an exit code, as cli_repo_open. */
int cli_repo_open_other(struct cli_ctx *ctx, const char *loc, const char *file, const char *env,
                        const char *prompt, const char *hint, struct mv_repo **out);

/* The location from -r or MEDVAULT_REPOSITORY; NULL when neither is set. */
const char *cli_repo_location(const struct cli_ctx *ctx);

/* mv_lock_acquire (11 when someone else holds a conflicting lock). */
int cli_repo_lock(struct mv_repo *r, int exclusive, struct mv_lock **out);

/* The lock of a command that only reads (restore, dump, check, ls, find, impact, scan): none with
 * --no-lock; when the lock file cannot be written (a read-only or full
 * repository), a warning and no lock (*out = NULL). A conflicting lock
 * still gives 11. */
int cli_repo_lock_reader(struct cli_ctx *ctx, struct mv_repo *r, int exclusive,
                         struct mv_lock **out);

/* Finds the snapshot `name` ("latest" narrowed by ctx->snapf: --host,
 * --path). Damaged snapshot files passed over for "latest" are named in a
 * warning and set ctx->damaged (exit 4 at the end); a damaged snapshot
 * named by its id fails with 4. Returns 0 or an exit code (the message
 * printed); the caller releases snap. */
int cli_find_snapshot(struct cli_ctx *ctx, struct mv_repo *r, const char *name,
                      struct mv_snapshot *snap);

/* The snapshots named (each through cli_find_snapshot), or every intact
 * snapshot of r, oldest first, when n is 0 (damaged snapshot files are
 * counted in a warning and set ctx->damaged). *out is malloc'd: free it
 * with mv_snapshots_free(*out, *nout), also after a failure. Returns 0 or
 * an exit code (the message printed). */
int cli_snapshots_pick(struct cli_ctx *ctx, struct mv_repo *r, const char *const *names, size_t n,
                       struct mv_snapshot **out, size_t *nout);
/* Opens the repository (cli_repo_open), takes a shared lock
 * (cli_repo_lock_reader) and loads the index of the blob types `types` only
 * (a mask for mv_repo_index_filter; 0 loads all). Returns 0 or an exit code
 * (the message printed); the caller releases lock and r on every path. */
int cli_repo_open_reader(struct cli_ctx *ctx, const char *cmd, uint32_t types, struct mv_repo **r,
                         struct mv_lock **lock);

/* Opens the repository, takes a shared lock (cli_repo_lock_reader), loads
 * the whole index and finds the snapshot `name` (cli_find_snapshot; restore
 * and dump). Returns 0 or an exit code (the message printed); the caller
 * releases lock, r and snap on every path. */
int cli_open_snapshot(struct cli_ctx *ctx, const char *cmd, const char *name, struct mv_repo **r,
                      struct mv_lock **lock, struct mv_snapshot *snap);

/* mv_repo_load_index; damaged index files are reported as a warning and
 * counted in *damaged (may be NULL). */
int cli_repo_load_index(struct cli_ctx *ctx, struct mv_repo *r, int scan_orphans, size_t *damaged);

/* A path inside a snapshot as the engine names them: "srv//imaging/" ->
 * "/srv/imaging"; "/" -> "" (the whole snapshot). malloc'd; NULL when out
 * of memory. */
char *cli_snapshot_path(const char *p);

/* Engine events of one operation: a progress line and a warn callback. */
struct cli_events {
	struct mv_events ev; /* pass &e->ev to the engine; e must not move */
	struct cli_progress progress;
	struct cli_ctx *ctx;
	uint64_t warnings;
	void (*on_warn)(struct cli_events *e, const char *path, const char *msg);
	void *arg;            /* for the command's warn function */
	pthread_mutex_t lock; /* warnings may come from worker threads */
};

/* warn(e, path, msg) is called for each engine warning, serialised, after
 * the progress line was cleared; e->warnings counts them. The progress
 * line is shown unless -q, --json or stderr is not a terminal. Release
 * with cli_events_done (clears the progress line). */
void cli_events_init(struct cli_events *e, struct cli_ctx *ctx,
                     void (*warn)(struct cli_events *e, const char *path, const char *msg),
                     void *arg);
void cli_events_done(struct cli_events *e);

#endif
