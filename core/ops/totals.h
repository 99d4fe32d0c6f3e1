/* The totals of a backup's sources, counted ahead of it: a thread walks the
 * paths (lstat only, never reading a file, no names kept beyond the batch
 * of one directory per level, core/util/dirlist.h) and counts the regular files
 * and their bytes, so that progress can show a percentage and a time left
 * (restic does the same). Only started when progress is displayed. */
#ifndef MV_TOTALS_H
#define MV_TOTALS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/err.h"

struct mv_totals;

/* Whether name (an entry's name) or path (its full path) matches one of the
 * fnmatch patterns: the rule of backup's --exclude, shared by both walks. */
int mv_excluded(const char *const *pats, size_t npats, const char *name, const char *path);

/* Starts counting below paths[0..n) (absolute, none inside another),
 * leaving out what excludes match. The arrays must outlive the counter;
 * cancel (may be NULL) stops it like mv_totals_stop. Returns 0,
 * MV_ERR_NOMEM or MV_ERR_IO (no thread). */
int mv_totals_start(char *const *paths, size_t n, const char *const *excludes, size_t nexcludes,
                    volatile sig_atomic_t *cancel, struct mv_totals **out) MV_MUST_CHECK;
/* Sets *files and *bytes and returns 1 once the walk is complete; returns
 * 0 (both set to 0) while it runs, after it was stopped or when it failed
 * (entries it could not read are left out, as the backup reports them).
 * Thread-safe; t may be NULL. */
int mv_totals_get(struct mv_totals *t, uint64_t *files, uint64_t *bytes);
/* Stops the walk, waits for its thread and frees t (accepts NULL). */
void mv_totals_stop(struct mv_totals *t);

#endif
