/* Backup's check that its sources hold what they held before: an empty
 * source, or far fewer files than in the previous snapshot of the same host
 * and paths, is what an unmounted share or a disk that did not mount looks
 * like, and must not pass as a good backup.
 *
 * The rules (documented in README.md and `backup --help`):
 * - a source that holds no regular file is suspect unless --allow-empty;
 *   when its previous snapshot held files there, --allow-shrink allows it
 *   too;
 * - otherwise, when the previous snapshot of the same host and paths held
 *   at least MV_SHRINK_MIN_FILES files and the sources now hold fewer than
 *   half as many (all paths together: the snapshot records no count per
 *   path), the backup is suspect unless --allow-shrink.
 * "The previous snapshot" is the latest of the same host and paths that
 * this check did not flag, so that a second night of an unmounted disk
 * warns again. The snapshot is still written; each finding is a warning,
 * recorded among the snapshot's errors, and the backup returns
 * MV_ERR_PARTIAL (exit 3). */
#ifndef MV_SOURCECHECK_H
#define MV_SOURCECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "core/ops/ops.h"

#define MV_SHRINK_MIN_FILES 100

/* Applies the rules above to paths[0..n) (the snapshot's paths, sorted as
 * it records them) which hold files[0..n) regular files now, total being
 * their sum, against prev: the latest snapshot of this host and paths that
 * this check did not flag (mv_source_flagged), or NULL when none; ignored
 * unless its host and paths equal host and paths. Calls warn(arg, path,
 * msg) for each finding; a non-zero return of warn is returned. Only for a
 * source that is empty now, and only with several paths, is the previous
 * snapshot's tree read (to count that source's files there). Returns the
 * number of findings (0 when all is well) or a negative code. */
int mv_source_check(struct mv_repo *r, const struct mv_backup_opts *o, const char *host,
                    char *const *paths, size_t n, const uint64_t *files, uint64_t total,
                    const struct mv_snapshot *prev,
                    int (*warn)(void *arg, const char *path, const char *msg),
                    void *arg) MV_MUST_CHECK;

/* Whether s holds a finding of mv_source_check among its errors (its
 * messages end with one of the two advices below). Such a snapshot is
 * never the reference of a later check: two nights of an unmounted disk
 * warn twice. */
#define MV_SOURCE_ADVICE_EMPTY  "use --allow-empty if this is intended"
#define MV_SOURCE_ADVICE_SHRINK "use --allow-shrink if this is intended"
int mv_source_flagged(const struct mv_snapshot *s);
/* Whether one error message of a snapshot is such a finding. */
int mv_source_finding(const char *msg);

/* "3,832": n with a comma every three digits; returns buf (at least 32
 * bytes). */
const char *mv_fmt_count(uint64_t n, char buf[32]);

#endif
