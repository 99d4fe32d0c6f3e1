/* The differences between two snapshots (`medvault diff`): the files and
 * directories added, removed and changed, found by walking both trees
 * together (a subtree whose id is the same on both sides is not read), and,
 * from the snapshots' DICOM catalogs, the patients and studies added and
 * removed. It reports through a callback and never prints. */
#ifndef MV_DIFF_H
#define MV_DIFF_H
#include <stdint.h>

#include "core/repo/repo.h"
#include "core/util/events.h"

enum mv_diff_kind {
	MV_DIFF_ADDED = '+',   /* only in the second snapshot */
	MV_DIFF_REMOVED = '-', /* only in the first */
	MV_DIFF_CHANGED = 'M', /* in both, content or metadata differ */
};

/* What changed of a node present on both sides. */
enum {
	MV_DIFF_CONTENT = 1u << 0,  /* a file's bytes, a symlink's target, a device number */
	MV_DIFF_METADATA = 1u << 1, /* mode, owner, group or modification time */
};

struct mv_diff_item {
	enum mv_diff_kind kind;
	const char *path; /* "/srv/imaging/a.dcm", NUL-terminated, valid during the call */
	const struct mv_node *node; /* the second snapshot's node, the first's for REMOVED */
	const struct mv_node *old;  /* CHANGED: the first snapshot's node; else NULL */
	unsigned what;              /* CHANGED: MV_DIFF_* bits */
};

struct mv_diff_counts {
	uint64_t files, dirs, others; /* others: symlinks, devices, fifos, sockets */
	uint64_t bytes;               /* sizes of the files */
};

struct mv_diff_totals {
	struct mv_diff_counts added, removed, changed;
	/* from the catalogs, when both snapshots have one (catalogs set) */
	int catalogs;
	uint64_t patients_added, patients_removed, studies_added, studies_removed;
};

/* Called for every difference, in walk order (depth first, names in
 * bytewise order; a removed or added directory before its contents). A
 * non-zero return stops the walk and is returned by mv_diff. */
typedef int (*mv_diff_fn)(void *arg, const struct mv_diff_item *it);

/* Compares snapshot a (old) with b (new). The index must hold the trees
 * (and the catalog blobs). A tree that cannot be read fails the diff with
 * its error (what it hides could be a removed file). ev->cancel is polled
 * (ev may be NULL). Returns 0, what fn returned, MV_ERR_INTERRUPTED,
 * MV_ERR_LIMIT (nesting over 512), MV_ERR_NOMEM or a tree's error, with err
 * set for the errors. */
int mv_diff(struct mv_repo *r, const struct mv_snapshot *a, const struct mv_snapshot *b,
            const struct mv_events *ev, mv_diff_fn fn, void *arg, struct mv_diff_totals *out,
            struct mv_error *err) MV_MUST_CHECK;

#endif
