/* Index and snapshot queries, built on the tree walker (core/repo/query.c):
 * the content hashes the snapshots hold (scan), the blobs they use, and how
 * much of each pack is used (the coming prune and wipe). The index must be
 * loaded, with the blob types a query reads (trees at least). */
#ifndef MV_QUERY_H
#define MV_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/memindex.h"
#include "core/repo/repo.h"

struct mv_events;

/* ---- content hashes ------------------------------------------------------ */

/* The content hashes of every file of every snapshot, each with the newest
 * snapshot that holds it. Memory: about 60 bytes per distinct content and
 * per distinct tree. */
struct mv_content_set;

/* Walks every snapshot's trees once (a tree shared by several snapshots,
 * e.g. an unchanged directory, is read once), newest snapshot first. A tree
 * that cannot be read is reported through ev->warn (path "repository") and
 * skipped: its files then count as not backed up. ev may be NULL. Returns 0,
 * MV_ERR_INTERRUPTED (ev->cancel), or a fatal error. */
int mv_content_set_load(struct mv_repo *r, const struct mv_events *ev, struct mv_content_set **out,
                        struct mv_error *err) MV_MUST_CHECK;
/* The snapshots, oldest first (as mv_repo_snapshots lists them). */
const struct mv_snapshot *mv_content_set_snapshots(const struct mv_content_set *s, size_t *n);
/* Index (in the list above) of the newest snapshot holding a file with
 * this content hash, or -1. */
long mv_content_set_find(const struct mv_content_set *s, const uint8_t content[32]);
/* Number of distinct contents. */
size_t mv_content_set_count(const struct mv_content_set *s);
void mv_content_set_free(struct mv_content_set *s); /* accepts NULL */

/* ---- used blobs ----------------------------------------------------------- */

/* The blobs the n snapshots refer to: every tree (a split tree: its part
 * list and every part), every data blob a file lists, every catalog blob;
 * each shared tree is read once. Referred to is not stored: a blob missing
 * from the index is in the set too. *out: a new set (free with
 * mv_index_free) whose entries have id and type set and pack MV_PACK_NONE.
 *
 * A tree or part that cannot be read hides what it refers to: with
 * unreadable NULL the query fails with its error (what a command that
 * deletes must do); otherwise they are counted in *unreadable and the set
 * lacks what they hold. Returns 0, MV_ERR_NOMEM, MV_ERR_LIMIT, or the
 * error of a tree. */
int mv_query_used_blobs(struct mv_repo *r, const struct mv_snapshot *snaps, size_t n,
                        size_t *unreadable, struct mv_index **out,
                        struct mv_error *err) MV_MUST_CHECK;

/* ---- packs ---------------------------------------------------------------- */

/* How much of a pack the index places in it is used. Bytes are stored
 * (sealed) blob lengths, without the pack header. A blob stored in several
 * packs counts in the one the index chose. */
struct mv_pack_usage {
	uint32_t pack; /* pack number in the index (mv_index_pack_id) */
	uint64_t blobs, bytes;
	uint64_t used_blobs, used_bytes;
};

/* One entry per pack of the index, by pack number (*n = number of packs;
 * *out malloc'd, NULL when there are none). used: from
 * mv_query_used_blobs. Returns 0 or MV_ERR_NOMEM. */
int mv_query_pack_usage(struct mv_repo *r, const struct mv_index *used, struct mv_pack_usage **out,
                        size_t *n, struct mv_error *err) MV_MUST_CHECK;

/* The blobs the index places in pack number `pack`, by offset (*out
 * malloc'd, NULL when none). Returns 0, MV_ERR_NOTFOUND (no such pack
 * number), MV_ERR_NOMEM. */
int mv_query_pack_blobs(struct mv_repo *r, uint32_t pack, struct mv_blob_loc **out, size_t *n,
                        struct mv_error *err) MV_MUST_CHECK;

/* The blobs of the index grouped by pack (a counting sort): the blob
 * numbers (for mv_index_at) of pack p are (*order)[(*first)[p] ..
 * (*first)[p + 1]), for p < npacks (at most the index's packs); blobs of
 * other packs and pending ones are left out. *first (npacks + 2 entries)
 * and *order are malloc'd (free both, also on failure). Returns 0 or
 * MV_ERR_NOMEM. */
int mv_query_group_by_pack(struct mv_repo *r, size_t npacks, size_t **first, uint32_t **order,
                           struct mv_error *err) MV_MUST_CHECK;

#endif
