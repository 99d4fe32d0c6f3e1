/* Sizes of snapshots and of the repository (`medvault stats`), as restic's
 * stats modes count them. Aggregates and never prints. */
#ifndef MV_STATS_H
#define MV_STATS_H
#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/events.h"

/* restore-size: what restoring each of the snapshots would write, summed
 * over them (a file held by two snapshots counts twice, as restic counts). */
struct mv_stats_restore {
	uint64_t files, dirs, others; /* others: symlinks, devices, fifos, sockets */
	uint64_t bytes;               /* sizes of the files */
};

/* raw-data: the distinct blobs the snapshots refer to, and what they take. */
struct mv_stats_raw {
	uint64_t blobs, data_blobs, tree_blobs, catalog_blobs;
	uint64_t raw_bytes;      /* plaintext lengths */
	uint64_t data_raw_bytes; /* of which data blobs: the files' distinct bytes */
	uint64_t stored_bytes;   /* sealed (compressed, padded, encrypted) lengths */
	uint64_t missing;        /* referred to but not in the index, or in a lost pack */
};

/* The repository as a whole. */
struct mv_stats_repo {
	uint64_t packs, pack_bytes; /* data/ files and their bytes */
	uint64_t index_files, snapshot_files;
	uint64_t blobs, stored_bytes; /* every blob the index places */
};

/* Walks the n snapshots' trees; a tree counted once is remembered (a tree
 * shared by many snapshots is read once). A tree that cannot be read fails
 * with its error. ev may be NULL (ev->cancel is polled). Returns 0,
 * MV_ERR_INTERRUPTED, MV_ERR_LIMIT (nesting over 512), MV_ERR_NOMEM or a
 * tree's error. The index must hold the trees. */
int mv_stats_restore_size(struct mv_repo *r, const struct mv_snapshot *snaps, size_t n,
                          const struct mv_events *ev, struct mv_stats_restore *out,
                          struct mv_error *err) MV_MUST_CHECK;

/* The blobs the n snapshots use (mv_query_used_blobs) with their lengths
 * from the whole index. Returns 0 or the query's error. */
int mv_stats_raw_data(struct mv_repo *r, const struct mv_snapshot *snaps, size_t n,
                      struct mv_stats_raw *out, struct mv_error *err) MV_MUST_CHECK;

/* Lists packs, index files and snapshots; counts the loaded index. */
int mv_stats_repository(struct mv_repo *r, struct mv_stats_repo *out,
                        struct mv_error *err) MV_MUST_CHECK;

#endif
