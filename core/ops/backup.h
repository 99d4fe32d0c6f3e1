/* Backup: stores files and folders as a new snapshot (core/ops/backup.c). */
#ifndef MV_BACKUP_H
#define MV_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/events.h"

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
	/* The snapshot's time instead of now (restic's --time: a backup of
	 * files as they were at that time, or tests with forged times). */
	int has_time;
	int64_t time_ns;
};

struct mv_backup_result {
	uint8_t snapshot_id[32];
	int64_t snapshot_time_ns; /* the saved snapshot's time */
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

#endif
