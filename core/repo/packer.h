/* Packer: collects sealed blobs into packs of about the target size, writes
 * each pack (blobs, sealed header, header length) and records the blobs in
 * the repository's index; at the end writes index files naming every pack it
 * wrote (and the orphan packs the repository adopted). Thread-safe: several
 * workers may add at once; full packs are stored by the packer's own
 * writers (two at once), never by the worker that filled them. */
#ifndef MV_PACKER_H
#define MV_PACKER_H

#include <pthread.h>

#include "core/repo/repo.h"

struct mv_packer;

/* The packer takes the index's lock around its updates while the index is
 * shared (mv_repo_index_share, core/repo/index.h). */
struct mv_packer *mv_packer_new(struct mv_repo *r);
void mv_packer_free(struct mv_packer *p); /* accepts NULL; unwritten blobs are dropped */

/* Adds a sealed blob whose id was already registered (pending) in the index.
 * A full pack goes to a writer of the packer (this call waits only when
 * every writer is still storing a pack). Returns 0 or the first
 * error of the packer (which is then unusable). */
int mv_packer_add(struct mv_packer *p, uint8_t type, const uint8_t id[32], const uint8_t *sealed,
                  size_t len, size_t raw_len, struct mv_error *err) MV_MUST_CHECK;

/* Writes the pack being filled, if any, and waits until every pack is
 * stored. Returns 0 or the first error. */
int mv_packer_flush(struct mv_packer *p, struct mv_error *err) MV_MUST_CHECK;

/* Writes index files for all packs written so far and the orphan packs
 * (mv_repo_orphans). */
int mv_packer_write_index(struct mv_packer *p, struct mv_error *err) MV_MUST_CHECK;

/* Counters. */
uint64_t mv_packer_packs(const struct mv_packer *p);
uint64_t mv_packer_bytes(const struct mv_packer *p);

#endif
