/* What the repairs share (core/ops/repair.c, core/ops/repair_snap.c). */
#ifndef MV_REPAIR_UTIL_H
#define MV_REPAIR_UTIL_H

#include "core/ops/repair.h"

/* Calls o->point with name (a commit point just passed). */
void mv_repair_point(const struct mv_repair_opts *o, const char *name);
/* ev->warn (warn set) or ev->note with a formatted message. */
void mv_repair_say(const struct mv_events *ev, int warn, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Whether rc is damage (MV_ERR_INTEGRITY, MV_ERR_NOTFOUND), not a failure
 * to read that must stop a repair before it changes anything. */
int mv_repair_is_damage(int rc);
/* Loads the whole index, adopting unindexed packs (the listing must
 * succeed); unreadable index files are named through ev->warn and counted
 * in *bad (may be NULL). */
int mv_repair_load_index(struct mv_repo *r, const struct mv_events *ev, size_t *bad,
                         struct mv_error *err) MV_MUST_CHECK;

#endif
