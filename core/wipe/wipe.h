/* The file wipe (issue 10, SECURITY.md 6b): walks the paths given through
 * directory handles, proves each regular file against a snapshot
 * (core/wipe/proof.h), and overwrites, verifies and removes the proven ones
 * (core/wipe/overwrite.h), journalling each before its first byte is
 * overwritten (core/wipe/journal.h). Prints nothing: the items go into a
 * struct mv_wipe_report and, as they are decided, to on_item.
 *
 * Two walks: the first lists and hashes every file (each folder opened
 * below its parent's handle with O_NOFOLLOW, never a path looked up
 * again), then every needed blob is read back at once (batched per pack);
 * the second walks the same handles again and overwrites a file only when
 * it is still the inode hashed, with the same size, modification and
 * change times (a file written since it was hashed is refused). */
#ifndef MV_WIPE_WIPE_H
#define MV_WIPE_WIPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/err.h"
#include "core/util/events.h"
#include "core/wipe/journal.h"
#include "core/wipe/overwrite.h"
#include "core/wipe/proof.h"
#include "core/wipe/report.h"

/* Files (and refusals) one run may list: its certificate, at about 320
 * bytes an item, must stay under the 64 MiB a verifier reads. A larger
 * tree is refused before anything is touched (MV_ERR_LIMIT). */
#define MV_WIPE_MAX_ITEMS 150000u

struct mv_wipe_opts {
	struct mv_proof *proof;     /* NULL: --no-backup-check (nothing is proven) */
	int dry_run;                /* decide and report; change nothing */
	int include_hardlinked;     /* wipe files that have other names too */
	int accept_unreliable;      /* go on where the medium makes overwriting unreliable */
	unsigned threads;           /* for reading blobs back (0: one per CPU) */
	struct mv_ow_opts ow;       /* passes, pattern, cancel (progress and begin are set here) */
	struct mv_journal *journal; /* NULL only with dry_run */
	/* Called once, after the first walk and the proof and before anything
	 * is changed (not in a dry run), with the number of items the report
	 * may hold and an upper bound of their bytes in a certificate: the
	 * caller makes room for its evidence. A non-zero return (an MV_ERR_*
	 * code, err filled) stops the run with nothing touched. May be NULL. */
	int (*planned)(void *arg, size_t items, uint64_t cert_bytes, struct mv_error *err);
	/* Each item once decided (may be NULL): for the command's output. */
	void (*on_item)(void *arg, const struct mv_wipe_item *it, int dry_run);
	void *arg;
};

/* Wipes paths[0..n) (files, folders, symbolic links). Before anything is
 * read: a path that is "/", a mount point, a device or other special file,
 * or whose last component is "." or "..", is refused (MV_ERR_USAGE); the
 * medium of each path is probed (core/wipe/medium.h) into rep->medium and,
 * when overwriting is unreliable there and o->accept_unreliable is not
 * set, the run stops (MV_ERR_UNRELIABLE; a dry run goes on deciding and
 * then returns it). In both cases nothing is touched.
 * rep's header fields are the caller's; items are appended (release with
 * mv_wipe_report_release). Files that a journal names as begun and not
 * ended are listed as partially overwritten, and wiped again when they are
 * among the paths, still the same inode and size. Returns 0 (every file
 * wiped), MV_ERR_PARTIAL (some refused or failed, the others wiped),
 * MV_ERR_INTEGRITY (some refused because a blob is damaged or missing),
 * MV_ERR_INTERRUPTED (the file under way is listed as partial),
 * MV_ERR_LIMIT (more than MV_WIPE_MAX_ITEMS files: nothing touched), or a
 * fatal error (MV_ERR_NOMEM, MV_ERR_IO of a folder or of the journal). */
int mv_wipe_files(const struct mv_wipe_opts *o, const char *const *paths, size_t n,
                  const struct mv_events *ev, struct mv_wipe_report *rep,
                  struct mv_error *err) MV_MUST_CHECK;

/* Frees the items of rep (paths and reasons). */
void mv_wipe_report_release(struct mv_wipe_report *rep);

#endif
