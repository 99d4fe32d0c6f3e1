/* The cache layer: keeps the metadata objects of a remote repository (key
 * slots, key lists, index files, snapshots) in a local directory, as they
 * are stored (encrypted), so that opening a repository again reads them
 * from the disk. Every such object is named by the hash of its bytes
 * (docs/FORMAT.md): a cached copy is verified against its name on each use
 * and dropped when it does not match; a listing of a type drops the
 * copies of objects the repository no longer lists (or lists with another
 * size). Packs, locks and config pass through. Not stacked on a local
 * backend, where it would only cost. */
#ifndef MV_CACHE_H
#define MV_CACHE_H

#include <stdint.h>

#include "core/backend/backend.h"

/* Wraps inner (owned from then on, closed with the layer, also when this
 * fails) with a cache in dir (made, mode 0700, with its parent, when
 * missing). Returns 0, MV_ERR_IO (dir cannot be made) or MV_ERR_NOMEM. */
int mv_backend_cache_wrap(struct mv_backend *inner, const char *dir, struct mv_backend **out,
                          struct mv_error *err) MV_MUST_CHECK;

/* Reads served from the cache, since the layer was made (for tests). */
uint64_t mv_backend_cache_hits(const struct mv_backend *b);

#endif
