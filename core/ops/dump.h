/* Dump: a snapshot, or a file or folder inside one, streamed entry by entry
 * to a caller-supplied sink (cli/cmd_dump.c writes a tar or zip archive
 * with formats/archive_write.h; core knows nothing of archive formats).
 *
 * Entries come depth first in name order, each directory before what it
 * holds, with paths as they are inside the snapshot ("/srv/imaging/a.dcm").
 * Every file's content is verified before or while it is handed over: its
 * chunk list against the recorded content hash, every chunk present in the
 * index with the expected size, every blob authenticated (AEAD bound to its
 * id) and its id recomputed. A damaged file:
 *   - up to opts.buffer_max bytes (the default covers nearly all DICOM
 *     files), or damage seen before any byte is read (content hash, missing
 *     blob, sizes): the file is read whole and checked first, and left out
 *     of the stream entirely; the sink never sees it.
 *   - larger files are streamed chunk by chunk, since an entry's header
 *     (with its size) goes out before its data and cannot be taken back: a
 *     chunk that fails is replaced by as many zero bytes, so the archive
 *     stays well-formed, and the file is reported.
 * Either way the file is reported through ev->warn with a message starting
 * "damaged", counted, and mv_dump returns MV_ERR_INTEGRITY after everything
 * else was dumped (MV_ERR_IO when every such file was a read error of the
 * repository, not damage). */
#ifndef MV_DUMP_H
#define MV_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/events.h"
#include "core/repo/repo.h"

/* Files up to this size are verified whole before they are handed over. */
#define MV_DUMP_BUFFER_DEFAULT (64u << 20)

/* begin_entry's answer for an entry the sink cannot store (a fifo in a zip
 * archive): no data and no end_entry follow; reported through ev->note. */
#define MV_DUMP_SKIP 1

struct mv_dump_sink {
	/* An entry: path inside the snapshot, node with kind, mode, owner,
	 * mtime, size and symlink target. Returns 0, MV_DUMP_SKIP, or a
	 * negative MV_ERR_* (with err set) that ends the dump. */
	int (*begin_entry)(void *arg, const char *path, const struct mv_node *n,
	                   struct mv_error *err);
	/* The next len bytes of the file begun last; n->size bytes in all,
	 * possibly in several calls (none for an empty file). buf is valid
	 * during the call only. Returns 0 or a negative MV_ERR_*. */
	int (*data)(void *arg, const uint8_t *buf, size_t len, struct mv_error *err);
	/* Ends the entry begun last (every kind). Returns 0 or a negative
	 * MV_ERR_*. */
	int (*end_entry)(void *arg, struct mv_error *err);
	void *arg;
};

struct mv_dump_opts {
	/* The file or directory to dump ("/srv/imaging/2019"); NULL or "" for
	 * the whole snapshot. A directory is dumped with its own entry first;
	 * the whole snapshot has no entry for its root. */
	const char *subpath;
	/* When set, a non-directory is dumped only if filter returns non-zero
	 * for its path inside the snapshot (to dump one patient's or one
	 * study's files, chosen through the DICOM catalog). Directories are
	 * then dumped only on the way to something dumped, so the stream holds
	 * no empty folders of unselected data. Without a filter every
	 * directory is dumped, empty ones included. */
	int (*filter)(void *arg, const char *path, const struct mv_node *n);
	void *filter_arg;
	/* Bytes up to which a file is verified whole before it is handed over
	 * (memory used is at most this much); 0 = MV_DUMP_BUFFER_DEFAULT. */
	size_t buffer_max;
};

struct mv_dump_result {
	uint64_t files, dirs, links, others; /* entries handed over */
	uint64_t bytes;                      /* file content bytes handed over */
	uint64_t skipped;                    /* entries the sink could not store */
	uint64_t damaged;                    /* damaged files (left out or zero-filled) */
	int finished;                        /* the walk ended: all but the damaged dumped */
	uint64_t zero_filled;                /* of which streamed with zeros in place */
	double seconds;
};

/* Dumps snapshot s (r unlocked, its index loaded) to the sink. Progress
 * (bytes_total unknown) and cancellation through ev (may be NULL). Returns
 * 0; MV_ERR_INTEGRITY (or MV_ERR_IO, see above) when damaged files were
 * reported and everything else was dumped (res->finished set); MV_ERR_NOTFOUND when subpath is not
 * in the snapshot; or the error that stopped it (a sink error, MV_ERR_NOMEM, MV_ERR_INTERRUPTED,
 * MV_ERR_LIMIT for trees nested too deep). */
int mv_dump(struct mv_repo *r, const struct mv_snapshot *s, const struct mv_dump_opts *o,
            const struct mv_dump_sink *sink, const struct mv_events *ev, struct mv_dump_result *res,
            struct mv_error *err) MV_MUST_CHECK;

#endif
