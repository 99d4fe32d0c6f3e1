/* The one snapshot-tree walker (core/repo/walker.c). Depth first, names in
 * order (the order trees store them), one callback for every event: a node,
 * leaving a directory, or the error that hid a subtree or part of one. The
 * callback decides: go on, skip this subtree, or stop (restic's
 * internal/walker is the model).
 *
 * Every directory whose NODE event returned MV_WALK_CONTINUE gets exactly
 * one LEAVE event after its contents, also when its tree could not be read
 * or the ENTER hook skipped it, unless the walk stops first. */
#ifndef MV_WALKER_H
#define MV_WALKER_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"

/* What the callback returns: MV_WALK_CONTINUE, MV_WALK_SKIP (NODE of a
 * directory: do not descend into it; ENTER: do not read the tree), or any
 * other value, which stops the walk and is what mv_walk_tree returns (an
 * error code the callback set in its own mv_error, or MV_WALK_STOP). */
enum { MV_WALK_CONTINUE = 0, MV_WALK_SKIP = 1, MV_WALK_STOP = 2 };

enum mv_walk_event {
	MV_WALK_ENTER,  /* a tree is about to be read (opts.enter only) */
	MV_WALK_OPENED, /* a tree was read: its parts are known (opts.opened only) */
	MV_WALK_NODE,   /* a node of the directory being read */
	MV_WALK_LEAVE,  /* after the contents of a directory (see above) */
	MV_WALK_ERROR,  /* something hid a subtree, part of one, or a node */
};

enum mv_walk_error {
	MV_WALK_E_TREE,  /* the directory's tree cannot be read: its contents are hidden */
	MV_WALK_E_PART,  /* a part of a split tree cannot be read: the entries it held are
	                  * hidden; the walk goes on with the next part */
	MV_WALK_E_DEPTH, /* the tree is nested deeper than opts.max_depth: not read */
	MV_WALK_E_PATH,  /* node's path would be opts.path_max bytes or more: not visited */
};

struct mv_walk_item {
	enum mv_walk_event event;
	/* The path inside the snapshot ("/srv/a.dcm"), NUL-terminated: of the
	 * node for NODE; of the directory for ENTER, OPENED, LEAVE and ERROR
	 * ("" for the snapshot's root). Valid during the call only. */
	const char *path;
	size_t path_len;
	/* NODE: the node; LEAVE: the directory left; E_PATH: the node not
	 * visited; NULL otherwise and for the root. Valid during the call, and
	 * a directory's node until its LEAVE event. */
	const struct mv_node *node;
	/* NODE: the tree holding the node; the others: the directory's tree. */
	const uint8_t *tree;
	/* Nesting of that tree: the snapshot's root tree is 0, whatever the
	 * starting subpath. */
	int depth;
	/* NODE, LEAVE: the node opts.subpath names (its contents are walked, it
	 * is not one of them). */
	int start;
	/* OPENED: the parts of a split tree (count 0: a version 1 tree). */
	const struct mv_tree_parts *parts;
	/* ERROR: what, the error code and its message. */
	enum mv_walk_error error;
	int rc;
	const struct mv_error *err;
};

typedef int (*mv_walk_fn)(void *arg, const struct mv_walk_item *it);

struct mv_walk_opts {
	/* The reading thread's blob context; NULL: the repository's. */
	struct mv_blob_ctx *ctx;
	/* Trees nested deeper than this (the root tree is 0) are not read and
	 * reported as E_DEPTH; 0: no limit. */
	int max_depth;
	/* Paths (with their NUL) longer than this are reported as E_PATH; 0: no
	 * limit (the path buffer grows as needed). */
	size_t path_max;
	/* Start at this node ("a/b", "/a//b/": empty components are ignored)
	 * instead of the root: NODE for it (start set), then, for a directory,
	 * its contents. NULL or "" (or only slashes): the root's contents. An
	 * absent path, or one below a node that is not a directory, fails with
	 * MV_ERR_NOTFOUND "'SUBPATH' is not in the snapshot" (saved_errno
	 * ENOENT); a tree on the way that cannot be read fails with its error. */
	const char *subpath;
	/* Deliver ENTER events (before each tree is read; MV_WALK_SKIP leaves
	 * it unread, e.g. a tree visited already) and OPENED events. */
	int enter, opened;
};

/* Walks the tree `tree` (a snapshot's root). o may be NULL (no limits, the
 * repository's blob context). Returns 0, what a callback returned to stop,
 * or an error of the walk itself (MV_ERR_NOMEM, and those of opts.subpath),
 * with err set. */
int mv_walk_tree(struct mv_repo *r, const uint8_t tree[32], const struct mv_walk_opts *o,
                 mv_walk_fn fn, void *arg, struct mv_error *err) MV_MUST_CHECK;

/* The simple walk (ls, sourcecheck): cb gets each node's path and node;
 * cb returning non-zero stops the walk and is returned. A tree that cannot
 * be read stops the walk with its error; trees nested more than 512 deep
 * fail with MV_ERR_LIMIT "tree nesting too deep at 'PATH'", paths of 64 KiB
 * with MV_ERR_LIMIT "path too long below 'PATH'". */
int mv_walk(struct mv_repo *r, const uint8_t tree[32],
            int (*cb)(void *arg, const char *path, const struct mv_node *n), void *arg,
            struct mv_error *err) MV_MUST_CHECK;

#endif
