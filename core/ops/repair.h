/* Repair: rebuild the index from pack headers, salvage the readable blobs
 * of damaged packs, rewrite snapshots whose trees refer to lost data
 * (core/ops/repair.c; restic 0.16's `repair` commands are the model).
 *
 * Each writes its new data and index files (synced) before it deletes
 * anything, so that a crash at any point leaves a repository every reader
 * opens and that the same repair, run again, completes. The caller holds
 * the exclusive lock. What is lost is named through ev->warn (path: the
 * pack, blob or "snapshot ID"), what is done through ev->note. */
#ifndef MV_REPAIR_H
#define MV_REPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/events.h"

struct mv_repair_opts {
	int dry_run; /* read and report, write and delete nothing */
	int forget;  /* snapshots: remove each original once its repaired one is written */
	/* packs: the packs to repair; none: every pack, read whole, whose
	 * content is damaged */
	const uint8_t (*packs)[32];
	size_t npacks;
	/* Called with the name of each commit point as it is passed (a test
	 * kills the process there); may be NULL. */
	void (*point)(void *arg, const char *name);
	void *point_arg;
};

struct mv_repair_result {
	/* index */
	uint64_t packs;           /* packs listed */
	uint64_t blobs;           /* blobs the new index names */
	uint64_t damaged_headers; /* packs whose header cannot be read */
	uint64_t missing_packs;   /* packs an index named, not in the repository */
	uint64_t index_written;   /* new index files */
	uint64_t index_removed;   /* old index files removed */
	uint64_t entries_dropped; /* index entries of missing packs dropped */
	/* packs */
	uint64_t packs_damaged;  /* damaged packs found (or named and damaged) */
	uint64_t packs_removed;  /* damaged packs deleted after salvage */
	uint64_t packs_left;     /* damaged packs of which nothing is known: left in place */
	uint64_t blobs_salvaged; /* blobs stored again in new packs */
	uint64_t blobs_lost;     /* blobs that could not be read */
	/* snapshots */
	uint64_t snapshots;          /* snapshots read */
	uint64_t snapshots_repaired; /* new snapshots written (or that would be) */
	uint64_t snapshots_removed;  /* originals removed (--forget) */
	uint64_t files_lost;         /* files dropped from repaired snapshots */
	uint64_t dirs_lost;          /* directories (or parts) that became empty */
	uint64_t catalogs_dropped;   /* repaired snapshots whose catalog could not be kept */
};

/* Reads the header of every pack, writes index files naming every blob
 * they hold, then removes every index file that existed before. A pack
 * whose header cannot be read is named and keeps the entries the old index
 * gave it; entries of packs the repository lacks are dropped (named).
 * Returns 0, MV_ERR_INTEGRITY once the index is written when a pack header
 * could not be read (damage remains: repair packs), MV_ERR_IO (a read
 * failed: nothing was changed), or a fatal error. */
int mv_repair_index(struct mv_repo *r, const struct mv_repair_opts *o, const struct mv_events *ev,
                    struct mv_repair_result *res, struct mv_error *err) MV_MUST_CHECK;

/* For each pack of o->packs (or each pack whose content is damaged), reads
 * every blob the index or its header places in it, authenticates it,
 * stores the intact ones in new packs and indexes them, drops the pack's
 * entries from the index files, then deletes the pack. Blobs that cannot
 * be read are named (their files then need `repair snapshots`). Returns 0,
 * MV_ERR_INTEGRITY when a damaged pack had to be left in place (nothing
 * names its blobs), MV_ERR_NOTFOUND (a named pack does not exist),
 * MV_ERR_IO (a read failed: nothing was changed), or a fatal error. */
int mv_repair_packs(struct mv_repo *r, const struct mv_repair_opts *o, const struct mv_events *ev,
                    struct mv_repair_result *res, struct mv_error *err) MV_MUST_CHECK;

/* For each snapshot whose trees refer to a tree or data blob that is not
 * indexed, lies in a missing pack or cannot be read, writes a new snapshot
 * (same time, host, user, paths, tags plus "repaired", parent the
 * original) whose trees keep what is readable: a file with a lost blob is
 * dropped, a directory that cannot be read becomes empty, each named; the
 * catalog keeps the entries of the files kept (or is dropped, said so).
 * With o->forget the original is removed afterwards. Then the index
 * entries of missing packs are dropped. A snapshot that a "repaired" one
 * already names as its parent is not repaired twice. Returns 0 or a fatal
 * error (MV_ERR_IO when a tree could not be read for another reason than
 * damage: nothing is written then). */
int mv_repair_snapshots(struct mv_repo *r, const struct mv_repair_opts *o,
                        const struct mv_events *ev, struct mv_repair_result *res,
                        struct mv_error *err) MV_MUST_CHECK;

#endif
