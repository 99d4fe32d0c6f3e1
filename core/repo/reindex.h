/* Dropping index entries that locate damaged copies of blobs, once intact
 * copies are stored and indexed elsewhere (backup --force). */
#ifndef MV_REINDEX_H
#define MV_REINDEX_H

#include "core/repo/memindex.h"
#include "core/repo/repo.h"

/* drop holds blob ids whose location's pack (a pack number of the index) holds
 * a damaged copy. Every index file that places one of them in that pack is
 * written anew without those entries, then removed: a reader that lists the
 * index files in between sees both files (any copy serves) and never
 * neither, and a pack that no index names is read from its header anyway.
 * *dropped counts the entries dropped. Returns 0 or an error (the old index
 * files that were not yet replaced stay). */
int mv_repo_drop_index_entries(struct mv_repo *r, const struct mv_index *drop, size_t *dropped,
                               struct mv_error *err) MV_MUST_CHECK;

/* Index files hold about this many entries at most (a pack is never split
 * between two files). */
#define MV_INDEX_ENTRIES_PER_FILE 400000

/* Writes index files naming the packs of list[0..n) (each pack's entries
 * sorted by offset), each file under MV_INDEX_ENTRIES_PER_FILE entries but
 * at least one pack, with the calling thread's blob context ctx. Each file
 * is synced before this returns (mv_repo_save_object); *written (may be
 * NULL) counts the files. Returns 0 or an error (the files written so far
 * stay). */
int mv_repo_write_index_files(struct mv_repo *r, struct mv_blob_ctx *ctx,
                              const struct mv_index_pack *list, size_t n, size_t *written,
                              struct mv_error *err) MV_MUST_CHECK;

#endif
