/* Copying snapshots from one repository to another (`medvault copy`,
 * FORMAT.md section 16): every blob is read and authenticated in the
 * source, named by the destination's blob-id key and sealed with its
 * encryption key; files are cut again by the destination's chunker unless
 * both chunkers are the same (same key and sizes). Trees are rewritten with
 * the destination's ids, catalogs are copied, and each copied snapshot keeps
 * its time, host, user, paths, tags, summary and errors, plus a tag
 * "original=<id>" naming the snapshot it was first made as, so that a
 * second run skips it. Packs and index are written before each snapshot. */
#ifndef MV_COPY_H
#define MV_COPY_H
#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/events.h"

/* The tag prefix that names a copied snapshot's original. */
#define MV_COPY_ORIGINAL_TAG "original="

struct mv_copy_result {
	uint64_t copied, skipped; /* snapshots */
	int rechunked;            /* the chunkers differ: files were cut again */
	uint64_t blobs_added, bytes_added;
};

/* Called for each snapshot before it is copied, or when it is skipped
 * (already in the destination). May be NULL. */
typedef void (*mv_copy_snap_fn)(void *arg, const struct mv_snapshot *s, int skipped);

/* 1 when both repositories cut files the same way (chunker name, key and
 * sizes equal), else 0. Both must be unlocked. */
int mv_copy_same_chunker(const struct mv_repo *src, const struct mv_repo *dst);

/* The id of the snapshot s was first made as: the value of its original
 * tag (the first valid one), else its own id. */
void mv_copy_original(const struct mv_snapshot *s, uint8_t out[32]);

/* Copies the n snapshots of src into dst. Both unlocked, their indexes
 * loaded (dst with scan_orphans), dst locked for writing. Refuses with
 * MV_ERR_USAGE when both have the same repository id. A damaged source blob
 * fails with MV_ERR_INTEGRITY; nothing of a snapshot is committed before
 * its data and index are. Returns 0, MV_ERR_INTERRUPTED, or an error with
 * err set. */
int mv_copy(struct mv_repo *src, struct mv_repo *dst, const struct mv_snapshot *snaps, size_t n,
            const struct mv_events *ev, mv_copy_snap_fn on_snap, void *arg,
            struct mv_copy_result *res, struct mv_error *err) MV_MUST_CHECK;

#endif
