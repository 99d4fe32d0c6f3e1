/* The proof before destruction (issue 10): before a file is wiped, its
 * keyed content hash computed now must equal the content hash of a file of
 * the named snapshot (found by content, wherever the file sat when backed
 * up), every data blob of that snapshot file must be in the index and, by
 * default, read back from the repository and authenticated (decrypted, its
 * keyed id recomputed). A file that fails any of this is refused with the
 * reason.
 *
 * Also used by `scan -r --verify` over every snapshot (a file's newest
 * snapshot holding it). Memory: about 80 bytes per distinct content, 32 per
 * data blob a content lists, and the paths. */
#ifndef MV_WIPE_PROOF_H
#define MV_WIPE_PROOF_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/err.h"
#include "core/util/events.h"

struct mv_proof;

/* Walks the trees of snapshot snap (core/repo/walker.h) and records every
 * regular file's content hash with its size, its data blobs in order and a
 * path where it sat. A tree (or part of one) that cannot be read is
 * reported through ev->warn (path "repository") and counted
 * (mv_proof_unreadable_trees): the files it holds are absent from the proof,
 * so refused. The index must be loaded (data blobs included, for
 * mv_proof_verify); r must be unlocked (else MV_ERR_USAGE). A file whose
 * content hash does not match its size and blobs is left out and reported.
 * ev may be NULL. Returns 0, MV_ERR_INTERRUPTED (ev->cancel), MV_ERR_NOMEM,
 * MV_ERR_LIMIT, MV_ERR_USAGE; *out is set only on 0 and is
 * freed with mv_proof_free. r must outlive the proof. */
int mv_proof_load(struct mv_repo *r, const struct mv_snapshot *snap, const struct mv_events *ev,
                  struct mv_proof **out, struct mv_error *err) MV_MUST_CHECK;

/* The same over every snapshot of r (scan --verify): a content belongs to
 * the newest snapshot that holds it; a tree shared by several snapshots is
 * read once. The snapshots are those of mv_repo_snapshots (oldest first),
 * kept in the proof: mv_proof_snapshots. */
int mv_proof_load_all(struct mv_repo *r, const struct mv_events *ev, struct mv_proof **out,
                      struct mv_error *err) MV_MUST_CHECK;

/* The snapshots the proof was loaded from: one for mv_proof_load (the
 * caller's, not copied: valid while it is), all for mv_proof_load_all. */
const struct mv_snapshot *mv_proof_snapshots(const struct mv_proof *p, size_t *n);

/* Distinct contents recorded, and trees (or parts) that could not be read. */
size_t mv_proof_count(const struct mv_proof *p);
size_t mv_proof_unreadable_trees(const struct mv_proof *p);

/* Whether the snapshots hold content: 1 and, when not NULL, the index of
 * the (newest) snapshot holding it in mv_proof_snapshots, its size and a
 * path where it sat (NUL-terminated, valid as long as p); 0 when absent. */
int mv_proof_find(const struct mv_proof *p, const uint8_t content[32], size_t *snap, uint64_t *size,
                  const char **path);

/* Hashers a proof keeps: mv_proof_hash_file's slot is below this. */
#define MV_PROOF_SLOTS 16

/* The keyed content hash of fd, read from offset 0 to its end, exactly as
 * backup and scan compute it (mv_file_hasher, core/repo/filechunk.h); size
 * is the file's size as stat'ed. *size_read gets the bytes read (may
 * differ from size when the file changes). slot (below MV_PROOF_SLOTS)
 * names the proof's hasher to use: calls with different slots may run at
 * once on different threads (a pool's worker index), calls with the same
 * slot may not. Returns 0, MV_ERR_IO (err->saved_errno), MV_ERR_NOMEM,
 * MV_ERR_LIMIT (more chunks than a snapshot records), MV_ERR_INTERRUPTED
 * (*cancel, may be NULL), MV_ERR_USAGE (slot out of range). */
int mv_proof_hash_file(struct mv_proof *p, unsigned slot, int fd, uint64_t size,
                       uint8_t content[32], uint64_t *size_read, volatile sig_atomic_t *cancel,
                       struct mv_error *err) MV_MUST_CHECK;

/* A content's verdict. */
enum mv_proof_status {
	MV_PROOF_OK = 0,  /* proven: the file may be wiped */
	MV_PROOF_ABSENT,  /* no file of the snapshot has this content */
	MV_PROOF_MISSING, /* a blob is not in the index, or its pack is gone */
	MV_PROOF_DAMAGED, /* a blob failed authentication or its id check */
	MV_PROOF_UNREAD,  /* a blob could not be read (I/O error): not proven */
};

struct mv_proof_result {
	enum mv_proof_status status;
	size_t snap; /* the snapshot holding it (not ABSENT): index in mv_proof_snapshots */
	/* "not in snapshot 1a2b3c4d", "blob 5e6f7a8b missing from the index",
	 * "blob 5e6f7a8b damaged: <what>", "blob 5e6f7a8b could not be read:
	 * <what>"; "" when OK */
	char reason[256];
};

/* Only look the blobs up in the index: read nothing (faster, and proves
 * only that the index names them). */
#define MV_PROOF_INDEX_ONLY 1u

/* Verifies the n contents (a content may be given more than once): each is
 * in the proof's snapshots, every blob it lists is in the index and, unless
 * MV_PROOF_INDEX_ONLY, read back and authenticated. Each distinct blob is
 * read once, in pack order, the blobs of a pack with one batch read
 * (core/repo/packread.h), on the worker pool (threads: 0 = one per CPU, at
 * most 16). A damaged blob fails every content that lists it; the others
 * pass. results[i] gets contents[i]'s verdict. Progress through
 * ev->progress (unit "packs"), cancellation through ev->cancel. Returns 0
 * (whatever the verdicts), MV_ERR_NOMEM, MV_ERR_INTERRUPTED. */
int mv_proof_verify(struct mv_proof *p, const uint8_t (*contents)[32], size_t n, unsigned flags,
                    unsigned threads, struct mv_proof_result *results, const struct mv_events *ev,
                    struct mv_error *err) MV_MUST_CHECK;

void mv_proof_free(struct mv_proof *p); /* accepts NULL */

#endif
