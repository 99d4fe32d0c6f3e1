/* The index service: where each blob of a repository lies. Operations ask
 * it through these functions only, never through the index itself, so that
 * a disk-backed index can replace the in-memory one (core/repo/memindex.c)
 * without touching them. Locations are returned as copies.
 *
 * While shared (mv_repo_index_share), every call takes the index's own lock,
 * so that readers and the packer may run while a backup adds; otherwise
 * the caller serialises access. */
#ifndef MV_REPO_INDEX_H
#define MV_REPO_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/memindex.h"
#include "core/repo/repo.h"
#include "core/util/err.h"

/* Keeps only the blobs whose type t has bit (1 << t) set when the index is
 * loaded next (mv_repo_load_index); 0 keeps all. find needs catalog blobs
 * only, ls and scan trees only: less memory and time. Call before loading. */
void mv_repo_index_filter(struct mv_repo *r, uint32_t types);

/* Turns the index's lock on (mv_repo_index_share) for as long as several
 * threads use the index at once, and off again (mv_repo_index_unshare: no
 * other thread may use it then). Returns 0 or MV_ERR_NOMEM. */
int mv_repo_index_share(struct mv_repo *r, struct mv_error *err) MV_MUST_CHECK;
void mv_repo_index_unshare(struct mv_repo *r); /* accepts an index not shared */

/* Copies the location of blob id into *out: 1 when present, 0 when not. */
int mv_repo_index_lookup(struct mv_repo *r, const uint8_t id[32], struct mv_blob_loc *out);
/* Adds a blob location: 0 when added, 1 when the id was present already
 * (nothing changes), MV_ERR_NOMEM. */
int mv_repo_index_add(struct mv_repo *r, const struct mv_blob_loc *loc) MV_MUST_CHECK;
/* Replaces the location of a present blob (e.g. back to pending). 0 or an
 * error. */
int mv_repo_index_update(struct mv_repo *r, const struct mv_blob_loc *loc) MV_MUST_CHECK;

/* Counts: blobs and packs. */
size_t mv_repo_index_count(struct mv_repo *r);
size_t mv_repo_index_npacks(struct mv_repo *r);
/* The i-th blob (0 <= i < count) in a stable order, copied into *out. */
void mv_repo_index_at(struct mv_repo *r, size_t i, struct mv_blob_loc *out);
/* The id of pack number pack_no (< npacks), copied into out. */
void mv_repo_index_pack_id(struct mv_repo *r, uint32_t pack_no, uint8_t out[32]);
/* The same as 64 hex digits. */
void mv_repo_index_pack_name(struct mv_repo *r, uint32_t pack_no, char out[65]);
/* A pack's number, or MV_PACK_NONE when the index names no such pack. */
uint32_t mv_repo_index_find_pack(struct mv_repo *r, const uint8_t id[32]);
/* Whether an index file names pack_no but the repository lacks it. */
int mv_repo_index_pack_missing(struct mv_repo *r, uint32_t pack_no);

/* Orphan packs: found by mv_repo_load_index although no index file names
 * them; the next index written names them. mv_repo_orphan gives the i-th
 * (i < mv_repo_orphans) pack number and the number of its blobs;
 * mv_repo_orphans_forget drops the list once an index names them. */
size_t mv_repo_orphans(struct mv_repo *r);
void mv_repo_orphan(struct mv_repo *r, size_t i, uint32_t *pack_no, uint32_t *blobs);
void mv_repo_orphans_forget(struct mv_repo *r);

/* Listed packs that no index file names and whose header could not be
 * read by mv_repo_load_index (damaged, or a read error): what they hold is
 * unknown (check reports them). mv_repo_unknown_pack gives the i-th pack
 * number (i < mv_repo_unknown_packs). */
size_t mv_repo_unknown_packs(struct mv_repo *r);
uint32_t mv_repo_unknown_pack(struct mv_repo *r, size_t i);

#endif
