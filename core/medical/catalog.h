/* The DICOM catalog: one entry per DICOM instance of a snapshot (also for
 * DICOM inside ZIP, tar and ISO 9660 files), stored encrypted as catalog
 * blobs (type 3, FORMAT.md section 12) whose ids the snapshot lists.
 *
 * Entries are written in the backup's walk order: depth first, names in
 * bytewise order within a directory (mv_catalog_path_cmp), and for an
 * archive its members in archive order after it. That order lets the next
 * backup copy the entries of unchanged files from its parent's catalog with
 * a forward-only cursor, holding one catalog blob in memory at a time. */
#ifndef MV_CATALOG_H
#define MV_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"
#include "formats/dicom.h"

/* Catalog blobs are closed at about this size. */
#define MV_CATALOG_BLOB_TARGET (4u << 20)

struct mv_catalog_entry {
	const char *path;   /* path inside the snapshot, "/srv/imaging/a.dcm" */
	const char *member; /* path inside an archive, or NULL */
	uint64_t size;      /* bytes of the file or member */
	const struct mv_dicom_info *info;
};

/* Compares two snapshot paths in walk order (component by component,
 * bytewise): <0, 0, >0. */
int mv_catalog_path_cmp(const char *a, const char *b);

/* Writer: encodes entries into catalog blob payloads and hands each full
 * payload to store (which seals it as a blob of type MV_T_CATALOG, adds it
 * to a pack and returns its id). Memory: one payload. */
struct mv_catalog_writer;
typedef int (*mv_catalog_store_fn)(void *arg, const uint8_t *payload, size_t len, uint8_t id[32],
                                   struct mv_error *err);
struct mv_catalog_writer *mv_catalog_writer_new(mv_catalog_store_fn store, void *arg);
/* Returns 0; MV_ERR_LIMIT when the path or member is longer than 65535
 * bytes (not written, the writer goes on); MV_ERR_USAGE for an entry out of
 * walk order or without a path; or the store's error (which then sticks). */
int mv_catalog_writer_add(struct mv_catalog_writer *w, const struct mv_catalog_entry *e,
                          struct mv_error *err) MV_MUST_CHECK;
/* Stores the last payload; *ids (malloc'd) and *n get the ids of every
 * blob written, in order (none: NULL and 0). */
int mv_catalog_writer_finish(struct mv_catalog_writer *w, uint8_t (**ids)[32], uint32_t *n,
                             struct mv_error *err) MV_MUST_CHECK;
void mv_catalog_writer_free(struct mv_catalog_writer *w); /* accepts NULL */

/* Cursor over a snapshot's catalog in stored order (ctx: the caller's blob
 * context, or NULL for one of the cursor's own, which skips recomputing
 * blob ids as restore does: the AEAD binds each blob's id). */
struct mv_catalog_cursor;
int mv_catalog_cursor_open(struct mv_repo *r, struct mv_blob_ctx *ctx, const struct mv_snapshot *s,
                           struct mv_catalog_cursor **out, struct mv_error *err) MV_MUST_CHECK;
/* Next entry (valid until the next call), 0 at the end, or an error. */
int mv_catalog_cursor_next(struct mv_catalog_cursor *c, struct mv_catalog_entry *e,
                           struct mv_error *err);
/* Copies to w every entry whose path equals path, skipping entries that
 * sort before it; entries after it stay for later calls. Paths must be
 * given in increasing walk order. */
int mv_catalog_cursor_copy(struct mv_catalog_cursor *c, const char *path,
                           struct mv_catalog_writer *w, struct mv_error *err) MV_MUST_CHECK;
void mv_catalog_cursor_free(struct mv_catalog_cursor *c); /* accepts NULL */

/* For searches over many entries (core/medical/find.c): the next entry as a record
 * of formats/catalog.h pointing into the cursor's payload (valid until the
 * next call), without copying anything; mv_catalog_cursor_entry then makes
 * an entry of it (valid until the next call of either). Returns 1, 0 at the
 * end, or an error. */
struct mv_catalog_rec;
int mv_catalog_cursor_next_rec(struct mv_catalog_cursor *c, struct mv_catalog_rec *rec,
                               struct mv_error *err);
void mv_catalog_cursor_entry(struct mv_catalog_cursor *c, const struct mv_catalog_rec *rec,
                             struct mv_catalog_entry *e);

/* Reads an archive file (ZIP, tar, ISO 9660, possibly compressed) through
 * libarchive, without writing anything to disk, and adds an entry for each
 * member that is DICOM (only the first bytes of each member are parsed).
 * Returns 1 when fd held an archive that could be read, 0 when it is not an
 * archive, or a negative error for out of memory; an archive that is
 * corrupt or encrypted returns 0 and sets *unreadable. (Then the entries of
 * the members read before the damage stay in w, and err, when not NULL,
 * says why: "archive '...' is encrypted".) The caller's file offset is left
 * as it was (reads use pread). */
int mv_catalog_add_archive(int fd, const char *snap_path, struct mv_catalog_writer *w,
                           int *unreadable, struct mv_error *err);

#endif
