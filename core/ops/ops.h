/* The operations: backup, restore, check (each in its own header) and the
 * walk of a snapshot's tree. They report through callbacks
 * (core/util/events.h) and never print. */
#ifndef MV_OPS_H
#define MV_OPS_H

#include <stdint.h>

#include "core/ops/backup.h"
#include "core/ops/check.h"
#include "core/ops/restore.h"
#include "core/repo/repo.h"
#include "core/util/events.h"

/* Walks a snapshot's tree depth first in name order, calling cb with the
 * path inside the snapshot ("/srv/imaging/a.dcm") and the node. cb returning
 * non-zero stops the walk and is returned. */
int mv_walk(struct mv_repo *r, const uint8_t tree[32],
            int (*cb)(void *arg, const char *path, const struct mv_node *n), void *arg,
            struct mv_error *err) MV_MUST_CHECK;

#endif
