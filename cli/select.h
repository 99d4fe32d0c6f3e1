/* Choosing a snapshot's files through its DICOM catalog (restore and dump
 * --patient / --patient-id / --study / --series). */
#ifndef MV_CLI_SELECT_H
#define MV_CLI_SELECT_H

#include <stddef.h>

#include "cli/commands.h"
#include "core/medical/find.h"
#include "core/repo/lock.h"
#include "core/repo/repo.h"

/* The files chosen: sorted paths inside the snapshot. */
struct cli_selection {
	char **paths;
	size_t n;
};

/* Option keys of --patient, --patient-id, --study and --series, shared by
 * the commands that choose files through the catalog (their own keys stay
 * below CLI_Q_FIRST). */
enum { CLI_Q_FIRST = 64, CLI_Q_PATIENT = CLI_Q_FIRST, CLI_Q_PATIENT_ID, CLI_Q_STUDY, CLI_Q_SERIES };
#define CLI_QUERY_OPTS                                                                             \
	{"patient", 0, 1, CLI_Q_PATIENT}, {"patient-id", 0, 1, CLI_Q_PATIENT_ID},                  \
	    {"study", 0, 1, CLI_Q_STUDY},                                                          \
	{                                                                                          \
		"series", 0, 1, CLI_Q_SERIES                                                       \
	}

/* Option keys of --host and --path, shared by the commands that take a
 * snapshot name (restore, dump, ls, impact): they narrow "latest" as
 * restic's do. Values go to ctx->snapf (cli_snapshot_option). */
enum { CLI_S_HOST = 80, CLI_S_PATH };
#define CLI_SNAPSHOT_OPTS                                                                          \
	{"host", 0, 1, CLI_S_HOST},                                                                \
	{                                                                                          \
		"path", 0, 1, CLI_S_PATH                                                           \
	}
/* Help entries: what "latest" is, and --host and --path. */
#define CLI_SNAPSHOT_HELP                                                                          \
	{"SNAPSHOT latest",                                                                        \
	 "the newest snapshot (narrowed by --host and --path); when a snapshot file is damaged "   \
	 "(it may have been newer), the newest intact one is used, the damaged files are named "   \
	 "and the exit code is 4"},                                                                \
	    {"--host HOST",                                                                        \
	     "with 'latest': the newest snapshot of HOST (repeatable: of any of them)"},           \
	{                                                                                          \
		"--path PATH", "with 'latest': the newest snapshot whose backed-up paths include " \
		               "PATH (repeatable: all of them)"                                    \
	}

/* Records --host or --path in ctx->snapf; returns 1 when key was one of
 * them, 0 otherwise. */
int cli_snapshot_option(struct cli_ctx *ctx, int key, const char *value);

/* Records the value of one of those options in q; returns 1 when key was
 * one of them, 0 otherwise. */
int cli_query_option(int key, const char *value, struct mv_find_query *q);

/* Whether the query names any catalog criterion. */
int cli_query_given(const struct mv_find_query *q);

/* Refuses a query that cannot match (before the password is asked for):
 * returns 0, or an exit code after printing why (a usage error of cmd). */
int cli_query_check(const char *cmd, const struct mv_find_query *q);

/* Fills sel with the files of snapshot s matching q. Returns 0, or an exit
 * code after printing why (1 when nothing matches: `verb` says what was not
 * done, e.g. "nothing restored"; the snapshots whose catalogs do match are
 * then named, with the command to run on them). */
int cli_select_files(struct cli_ctx *ctx, struct mv_repo *r, const struct mv_snapshot *s,
                     const struct mv_find_query *q, const char *verb, struct cli_selection *sel);

/* A restore/dump filter: arg is a struct cli_selection. */
int cli_selection_has(void *arg, const char *path, const struct mv_node *n);

void cli_selection_release(struct cli_selection *sel);

/* The snapshot restore and dump read: SNAPSHOT[:PATH] (dump also takes
 * SNAPSHOT PATH), opened, and the files its catalog query chooses. */
struct cli_snapshot_target {
	char *name;        /* the snapshot */
	char *sub;         /* the path inside it (cli_snapshot_path), or NULL */
	struct mv_repo *r; /* open, locked for reading, its index loaded */
	struct mv_lock *lock;
	struct mv_snapshot snap;
	struct cli_selection sel; /* filled when the query names a criterion */
};

/* Fills t (zeroed first): arg split at its first ':' unless path is given,
 * the repository and the snapshot opened (cli_open_snapshot) and, when q
 * names a criterion, its files selected (cli_select_files; verb says what
 * was not done when none match). Returns 0, or an exit code after printing
 * why; the caller calls cli_snapshot_target_release on every path. */
int cli_snapshot_target_open(struct cli_ctx *ctx, const char *cmd, const char *arg,
                             const char *path, const struct mv_find_query *q, const char *verb,
                             struct cli_snapshot_target *t);

void cli_snapshot_target_release(struct cli_snapshot_target *t);

#endif
