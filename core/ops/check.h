/* Check: verifies a repository's structure and, on request, its data
 * (core/ops/check.c). */
#ifndef MV_CHECK_H
#define MV_CHECK_H

#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/events.h"

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
