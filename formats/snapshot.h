/* Snapshot and lock payloads (FORMAT.md sections 8 and 10). */
#ifndef MV_FMT_SNAPSHOT_H
#define MV_FMT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/fmt_err.h"

#define MV_SNAP_MAX_LIST 65536u

struct mv_snapshot_summary {
	uint64_t files_new;
	uint64_t files_changed;
	uint64_t files_unmodified;
	uint64_t dirs;
	uint64_t data_blobs;
	uint64_t tree_blobs;
	uint64_t bytes_added;
	uint64_t bytes_processed;
	uint64_t total_files;
	uint64_t total_bytes;
};

struct mv_snapshot_error {
	char *path; /* NUL-terminated copy (paths hold no NUL) */
	char *msg;
};

struct mv_snapshot {
	uint8_t id[32]; /* not encoded: the file name */
	int64_t time_ns;
	char *host;
	char *user;
	char **paths;
	uint32_t npaths;
	char **tags;
	uint32_t ntags;
	uint8_t tree[32];
	int has_parent;
	uint8_t parent[32];
	struct mv_snapshot_summary summary;
	struct mv_snapshot_error *errors;
	uint32_t nerrors;
	/* ids of the catalog blobs (type 3) listing the DICOM instances of this
	 * snapshot; an optional trailing section, absent when ncatalog is 0 */
	uint8_t (*catalog)[32];
	uint32_t ncatalog;
};

/* All strings owned (malloc); release frees them and zeroes the struct. */
void mv_snapshot_release(struct mv_snapshot *s);
/* Sets w->failed when a list holds more than MV_SNAP_MAX_LIST items or a
 * string is longer than 65535 bytes. NULL strings are written as empty. */
void mv_snapshot_encode(const struct mv_snapshot *s, struct mv_wbuf *w);
/* s is overwritten whole (id zeroed: the caller sets it from the file name
 * after decoding). Decoded strings are never NULL; empty lists are NULL.
 * Counts are checked against MV_SNAP_MAX_LIST and the remaining input
 * before allocating; trailing bytes and a parent flag other than 0/1 are
 * malformed. Returns 0, MV_FMT_MALFORMED (strings containing NUL are
 * malformed too) or MV_FMT_NOMEM. On failure s is released. */
int mv_snapshot_decode(const uint8_t *p, size_t len, struct mv_snapshot *s);

struct mv_lock_info {
	int64_t time_ns;
	uint32_t pid;
	char host[256];
	uint8_t exclusive;
	/* version 2 (FORMAT.md section 10); all zero in a version 1 lock */
	uint8_t boot_id[16];
	uint64_t start_ticks; /* the holder's start time, clock ticks since boot */
};
/* Writes version 2, or version 1 when boot_id is all zero. Sets w->failed
 * when host is not NUL-terminated within its 256 bytes. */
void mv_lock_encode(const struct mv_lock_info *l, struct mv_wbuf *w);
/* Checks version 1 or 2 (with a boot id not all zero), host < 256 bytes
 * without NUL, exclusive 0 or 1, no trailing bytes. Returns 0 or
 * MV_FMT_MALFORMED (l zeroed). */
int mv_lock_decode(const uint8_t *p, size_t len, struct mv_lock_info *l);

#endif
