/* prune: removes the data no snapshot uses (core/ops/prune.c).
 *
 * Packs whose blobs no snapshot uses are deleted; packs partly used are
 * repacked (their used blobs copied, still sealed, into new packs) while
 * the unused share of the repository is above the allowed one. Crash-safe
 * in this order: new packs stored and synced, then index files naming every
 * kept blob, then the old index files deleted, then the old packs; a kill
 * at any point leaves a repository that check passes, and a second run
 * finishes the work. Nothing is deleted unless every snapshot, index file
 * and tree could be read and every blob a snapshot uses is in a pack that
 * exists: a repository with damage is refused (run check). */
#ifndef MV_PRUNE_H
#define MV_PRUNE_H

#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/events.h"

enum mv_prune_unused {
	MV_PRUNE_UNUSED_PERCENT,   /* max_unused_pct of the used bytes' share */
	MV_PRUNE_UNUSED_BYTES,     /* max_unused_bytes */
	MV_PRUNE_UNUSED_UNLIMITED, /* repack nothing: only delete unused packs */
};

struct mv_prune_opts {
	/* How much unused data may stay in partly used packs: the repository
	 * is repacked until what stays is at most this much (restic's
	 * --max-unused). The percentage is of the whole repository after the
	 * prune (0 <= pct < 100). */
	enum mv_prune_unused unused_kind;
	double max_unused_pct;
	uint64_t max_unused_bytes;
	/* At most this many bytes of packs are repacked (0: no limit). */
	uint64_t max_repack_bytes;
	int dry_run; /* plan and report, change nothing */
	/* Tests: called at named points of the run, in this order:
	 * "after-packs" (new packs stored, no new index), "after-index" (new
	 * index written, old index files all still there), "during-index-delete"
	 * (after the first old index file is deleted), "during-delete" (after
	 * the first old pack is deleted). May be NULL. */
	void (*at_point)(void *arg, const char *point);
	void *at_arg;
};

struct mv_prune_result {
	uint64_t snapshots;
	uint64_t packs, bytes;                    /* in the repository before */
	uint64_t blobs, used_blobs;               /* indexed; used by the snapshots */
	uint64_t used_bytes, unused_bytes;        /* stored bytes of used / unused blobs */
	uint64_t delete_packs, delete_bytes;      /* packs no snapshot uses */
	uint64_t repack_packs, repack_bytes;      /* partly used packs rewritten */
	uint64_t repack_blobs, repack_blob_bytes; /* used blobs copied from them */
	uint64_t missing_packs; /* named by an index, absent, holding nothing used: forgotten */
	uint64_t new_packs, new_bytes; /* written by the repack */
	uint64_t old_index_files, new_index_files;
	uint64_t deleted_packs, deleted_bytes; /* actually deleted (0 in a dry run) */
	uint64_t delete_failures; /* old packs that could not be deleted (kept: harmless) */
	uint64_t freed_bytes;     /* planned: deleted and repacked packs minus the new ones */
	uint64_t remaining_bytes, remaining_unused; /* planned, after the prune */
	int nothing_to_do;
};

/* Prunes r, which must be unlocked and hold the exclusive lock (a shared
 * one is enough for a dry run), and whose index is not loaded yet (prune
 * loads it, reading the headers of the packs no index names). Each pack
 * planned is named through ev->note ("delete ...", "repack ..."), progress
 * through ev->progress (packs repacked), cancellation through ev->cancel.
 *
 * Returns 0; MV_ERR_INTEGRITY when damage was found (a damaged snapshot,
 * index file, pack header or tree, a blob a snapshot uses that no pack
 * holds, a blob that fails authentication while being repacked): nothing
 * was deleted then and err says to run check; MV_ERR_IO when the
 * repository could not be read or written; MV_ERR_LOCKED when the lock was
 * lost; MV_ERR_INTERRUPTED; MV_ERR_NOMEM. */
int mv_prune(struct mv_repo *r, const struct mv_prune_opts *o, const struct mv_events *ev,
             struct mv_prune_result *res, struct mv_error *err) MV_MUST_CHECK;

#endif
