/* Restore: writes a snapshot's files into a folder (core/ops/restore.c). */
#ifndef MV_RESTORE_H
#define MV_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/events.h"

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

#endif
