/* The operations: backup, restore, check, ls. They report through callbacks
 * and never print. */
#ifndef MV_OPS_H
#define MV_OPS_H

#include <signal.h>
#include <stdint.h>

#include "core/repo/repo.h"

/* Progress: a snapshot of counters, delivered about every 200 ms from the
 * calling thread. */
struct mv_progress {
	uint64_t files_done;
	uint64_t files_total; /* 0 when unknown */
	uint64_t bytes_done;
	uint64_t bytes_total; /* 0 when unknown */
	const char *current;  /* path being worked on, may be NULL */
	const char *unit;     /* what files_done counts: NULL = "files" ("packs") */
	/* of bytes_done, those done without reading (backup: unchanged files
	 * reused from the parent); the rate and the time left leave them out */
	uint64_t bytes_reused;
};

struct mv_events {
	void (*progress)(void *arg, const struct mv_progress *p);
	/* A problem with one item that does not stop the operation. Restore's
	 * messages about files it could not restore intact start with
	 * "damaged". */
	void (*warn)(void *arg, const char *path, const char *msg);
	/* Information that is not a problem (may be NULL). */
	void (*note)(void *arg, const char *path, const char *msg);
	void *arg;
	/* Set by a signal handler to cancel; checked often. May be NULL. */
	volatile sig_atomic_t *cancel;
};

struct mv_backup_opts {
	const char *const *paths; /* absolute or relative; made absolute */
	size_t npaths;
	const char *const *excludes; /* fnmatch patterns on the name or the full path */
	size_t nexcludes;
	const char *const *tags;
	size_t ntags;
	const char *host;   /* NULL = gethostname */
	const char *parent; /* NULL = latest with same host and paths */
	int force;          /* read every file even if unchanged */
	int plain_chunking; /* no chunk boundary at DICOM pixel data */
	int threads;        /* 0 = number of cores */
	/* The sources may hold no file (allow_empty) or far fewer files than
	 * in the previous snapshot (allow_shrink): see core/ops/sourcecheck.h. */
	int allow_empty, allow_shrink;
	/* Count the sources' files and bytes in a thread of their own, so that
	 * progress reports files_total and bytes_total once known (costs a
	 * second walk: only when progress is displayed). */
	int count_totals;
};

struct mv_backup_result {
	uint8_t snapshot_id[32];
	struct mv_snapshot_summary summary;
	uint64_t unreadable; /* files that could not be read */
	/* sources found empty or far smaller than in the previous snapshot
	 * (warned about and listed among the snapshot's errors) */
	uint32_t suspect_sources;
	double seconds;
};

/* Returns 0, MV_ERR_PARTIAL (snapshot written, some files unreadable or
 * some sources suspect, core/ops/sourcecheck.h), or an error (no snapshot
 * written). */
int mv_backup(struct mv_repo *r, const struct mv_backup_opts *o, const struct mv_events *ev,
              struct mv_backup_result *res, struct mv_error *err) MV_MUST_CHECK;

enum mv_overwrite { MV_OVERWRITE_NEVER, MV_OVERWRITE_ALWAYS, MV_OVERWRITE_IF_CHANGED };

struct mv_restore_opts {
	const char *target;
	const char *subpath; /* restore only below this path inside the snapshot; NULL = all */
	const char *const *includes; /* fnmatch on the path inside the snapshot (or a name) */
	size_t nincludes;
	const char *const *excludes;
	size_t nexcludes;
	enum mv_overwrite overwrite;
	int threads;
	/* When set, a non-directory is restored only if filter returns
	 * non-zero for its path inside the snapshot (after includes/excludes);
	 * used to restore one patient's or one study's files. */
	int (*filter)(void *arg, const char *path, const struct mv_node *n);
	void *filter_arg;
	int devices; /* make device nodes (root only); else noted and left out */
	int setuid;  /* keep set-user-id and set-group-id bits of files */
};

struct mv_restore_result {
	uint64_t files;        /* written and given their names (hard links too) */
	uint64_t dirs;         /* folders made or used */
	uint64_t bytes;        /* of the files written and given their names */
	uint64_t unchanged;    /* already in the target, equal to the snapshot */
	uint64_t conflicts;    /* something else stands at the name: left, named */
	uint64_t failed;       /* could not be written into the target: named */
	uint64_t damaged;      /* repository data missing or failing verification */
	uint64_t unreadable;   /* not readable when backed up: nothing to restore */
	uint64_t not_restored; /* device nodes without opts->devices */
	double seconds;
};

/* Restores a snapshot into o->target (made with its parents when missing)
 * through directory handles, never following a link below the target. Each
 * file is written under a temporary name in its folder and renamed when
 * complete, so an interrupted restore leaves no partial file under a real
 * name, and running the same restore again completes it: files already
 * equal to the snapshot (same size and modification time, or same content)
 * are kept. Returns 0 only when every selected file is in the target equal
 * to the snapshot; MV_ERR_INTEGRITY when repository data was damaged (the
 * files named through ev->warn with a message starting "damaged", not
 * written; the rest restored); MV_ERR_PARTIAL when files could not be
 * written or something else stands at their names (named, the rest
 * restored); a fatal
 * error of the target (MV_ERR_NOSPC, MV_ERR_IO: read-only, I/O error) or
 * MV_ERR_INTERRUPTED stops the restore and removes its temporary files. */
int mv_restore(struct mv_repo *r, const struct mv_snapshot *s, const struct mv_restore_opts *o,
               const struct mv_events *ev, struct mv_restore_result *res,
               struct mv_error *err) MV_MUST_CHECK;

struct mv_check_opts {
	int read_data;
	/* subset: read packs whose index i satisfies i % subset_m == subset_n-1
	 * (n/m), or a percentage when subset_pct > 0. */
	uint32_t subset_n, subset_m;
	double subset_pct;
};

struct mv_check_result {
	uint64_t packs, packs_read, blobs, snapshots, trees;
	uint64_t errors;            /* problems found */
	uint64_t damaged_snapshots; /* snapshots affected */
	uint64_t damaged_files;     /* files affected, those in unreadable directories included */
	int damaged_files_at_least; /* damaged_files is a lower bound */
};

/* Problems are reported through ev->warn (path = the affected object or
 * "snapshot ID: path"). Returns 0 when clean, MV_ERR_INTEGRITY when anything
 * was found, MV_ERR_IO when every problem was a read error (no damage seen),
 * or a fatal error. */
int mv_check(struct mv_repo *r, const struct mv_check_opts *o, const struct mv_events *ev,
             struct mv_check_result *res, struct mv_error *err) MV_MUST_CHECK;

#endif
