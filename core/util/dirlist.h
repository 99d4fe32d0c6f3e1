/* The entries of a directory in walk order (bytewise by name), as backup,
 * scan and the catalog's cursor expect them, in memory bounded by a batch
 * size whatever the number of entries. */
#ifndef MV_DIRLIST_H
#define MV_DIRLIST_H

#include <stddef.h>

#include "core/util/err.h"

/* Names held at once by default (about 64 bytes each), and at most. */
#define MV_DIR_BATCH     65536
#define MV_DIR_BATCH_MAX (1u << 24)

struct mv_dir_iter;

/* Opens path for reading its names ("." and ".." left out) in increasing
 * bytewise order, batch names at a time: a directory of more than batch
 * entries is read again for each further batch (each pass keeps the batch
 * smallest names after the last one returned), so memory never depends on
 * the number of entries. The directory is open during a pass only (the
 * first pass is made here), so a walk below it holds no descriptor for it.
 * An entry created during the walk may be missed, as
 * with any walk. batch is taken within 1..MV_DIR_BATCH_MAX. Returns 0,
 * MV_ERR_IO (*err_no says why) or MV_ERR_NOMEM. */
int mv_dir_open(const char *path, size_t batch, struct mv_dir_iter **it, int *err_no) MV_MUST_CHECK;
/* Sets *name to the next name (valid until the next call). Returns 1, 0 at
 * the end, MV_ERR_IO (a read error, never a silently short list; *err_no
 * says why) or MV_ERR_NOMEM; after an error, every later call returns it
 * again. */
int mv_dir_next(struct mv_dir_iter *it, const char **name, int *err_no) MV_MUST_CHECK;
/* Passes over the directory so far (1 for a directory within one batch). */
unsigned mv_dir_passes(const struct mv_dir_iter *it);
void mv_dir_close(struct mv_dir_iter *it); /* accepts NULL */

#endif
