/* The snapshot-tree walker (walker.h): iterative, one open tree cursor per
 * directory on the way down (one part of each in memory), so that depth
 * costs heap, not stack. */
#include "core/repo/walker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/grow.h"

#define WALK_MAX_DEPTH 512
#define WALK_PATH_MAX  65536

/* A directory being read. */
struct frame {
	struct mv_tree_cursor c;
	const struct mv_node *dir; /* its node, NULL for the root */
	size_t plen;               /* length of its path */
	int depth;                 /* of its tree */
	int start;                 /* the node opts.subpath names */
};

struct walk {
	struct mv_repo *r;
	const struct mv_walk_opts *o;
	mv_walk_fn fn;
	void *arg;
	struct mv_error *err;
	char *path;
	size_t pathcap;
	struct frame *frames;
	size_t nframes, framecap;
};

/* Makes the path buffer hold len bytes and a NUL. */
static int path_room(struct walk *w, size_t len)
{
	size_t need;
	if (mv_size_add(len, 1, &need) || mv_grow(w->path, w->pathcap, need))
		return mv_error_set(w->err, MV_ERR_NOMEM, 0, "out of memory");
	return 0;
}

static int emit(struct walk *w, struct mv_walk_item *it, size_t plen)
{
	w->path[plen] = '\0';
	it->path = w->path;
	it->path_len = plen;
	return w->fn(w->arg, it);
}

/* An error event; e holds the message. */
static int emit_error(struct walk *w, enum mv_walk_error what, int rc, const struct mv_error *e,
                      const uint8_t *tree, int depth, const struct mv_node *n, size_t plen)
{
	struct mv_walk_item it = {.event = MV_WALK_ERROR,
	                          .error = what,
	                          .rc = rc,
	                          .err = e,
	                          .tree = tree,
	                          .depth = depth,
	                          .node = n};
	return emit(w, &it, plen);
}

static int emit_leave(struct walk *w, const struct mv_node *dir, const uint8_t *tree, int depth,
                      int start, size_t plen)
{
	struct mv_walk_item it = {
	    .event = MV_WALK_LEAVE, .node = dir, .tree = tree, .depth = depth, .start = start};
	return emit(w, &it, plen);
}

/* Starts reading directory dir's tree id (path w->path[0, plen)): pushes a
 * frame, or, when the tree is skipped or cannot be read, emits LEAVE at
 * once (a directory node only). Returns 0 or what stops the walk. */
static int descend(struct walk *w, const uint8_t id[32], const struct mv_node *dir, size_t plen,
                   int depth, int start)
{
	struct mv_error e = {0};
	int rc;
	if (w->o->enter) {
		struct mv_walk_item it = {.event = MV_WALK_ENTER, .tree = id, .depth = depth};
		rc = emit(w, &it, plen);
		if (rc != MV_WALK_CONTINUE && rc != MV_WALK_SKIP)
			return rc;
		if (rc == MV_WALK_SKIP)
			goto done;
	}
	if (w->o->max_depth && depth > w->o->max_depth) {
		w->path[plen] = '\0';
		mv_error_set(&e, MV_ERR_LIMIT, 0, "tree nesting too deep at '%s'", w->path);
		rc = emit_error(w, MV_WALK_E_DEPTH, MV_ERR_LIMIT, &e, id, depth, NULL, plen);
		if (rc != MV_WALK_CONTINUE && rc != MV_WALK_SKIP)
			return rc;
		goto done;
	}
	if (mv_grow(w->frames, w->framecap, w->nframes + 1))
		return mv_error_set(w->err, MV_ERR_NOMEM, 0, "out of memory");
	struct frame *f = &w->frames[w->nframes];
	rc = mv_tree_cursor_open(w->r, w->o->ctx, id, &f->c, &e);
	if (rc == MV_ERR_NOMEM)
		return mv_error_set(w->err, rc, 0, "out of memory");
	if (rc) {
		rc = emit_error(w, MV_WALK_E_TREE, rc, &e, id, depth, NULL, plen);
		if (rc != MV_WALK_CONTINUE && rc != MV_WALK_SKIP)
			return rc;
		goto done;
	}
	f->dir = dir;
	f->plen = plen;
	f->depth = depth;
	f->start = start;
	w->nframes++;
	if (w->o->opened) {
		struct mv_walk_item it = {
		    .event = MV_WALK_OPENED, .tree = id, .depth = depth, .parts = &f->c.parts};
		rc = emit(w, &it, plen);
		if (rc != MV_WALK_CONTINUE && rc != MV_WALK_SKIP)
			return rc;
	}
	return 0;
done:
	return dir ? emit_leave(w, dir, id, depth, start, plen) : 0;
}

/* A node of the top frame's directory. */
static int visit(struct walk *w, const struct mv_node *n)
{
	struct frame *f = &w->frames[w->nframes - 1];
	size_t plen = f->plen, nlen = plen + 1 + n->name_len;
	int depth = f->depth, rc;
	if (w->o->path_max && nlen + 1 > w->o->path_max) {
		struct mv_error e = {0};
		w->path[plen] = '\0';
		mv_error_set(&e, MV_ERR_LIMIT, 0, "path too long below '%s'", w->path);
		rc = emit_error(w, MV_WALK_E_PATH, MV_ERR_LIMIT, &e, f->c.id, depth, n, plen);
		return rc == MV_WALK_SKIP ? 0 : rc;
	}
	if ((rc = path_room(w, nlen)))
		return rc;
	w->path[plen] = '/';
	memcpy(w->path + plen + 1, n->name, n->name_len);
	struct mv_walk_item it = {
	    .event = MV_WALK_NODE, .node = n, .tree = f->c.id, .depth = depth};
	rc = emit(w, &it, nlen);
	if (rc == MV_WALK_CONTINUE && n->kind == MV_NODE_DIR)
		return descend(w, n->subtree, n, nlen, depth + 1, 0);
	return rc == MV_WALK_SKIP ? 0 : rc;
}

static int run(struct walk *w)
{
	while (w->nframes) {
		struct frame *f = &w->frames[w->nframes - 1];
		const struct mv_node *n;
		struct mv_error e = {0};
		int rc = mv_tree_cursor_next(&f->c, &n, &e);
		if (rc == 1) {
			rc = visit(w, n);
		} else if (rc == 0) {
			struct frame done = *f;
			w->nframes--;
			mv_tree_cursor_close(&done.c);
			if (done.dir)
				rc = emit_leave(w, done.dir, done.c.id, done.depth, done.start,
				                done.plen);
		} else if (rc == MV_ERR_NOMEM) {
			return mv_error_set(w->err, rc, 0, "out of memory");
		} else {
			rc =
			    emit_error(w, MV_WALK_E_PART, rc, &e, f->c.id, f->depth, NULL, f->plen);
			rc = rc == MV_WALK_SKIP ? 0 : rc;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Finds opts.subpath below the root, leaving the cursor of the tree that
 * holds it open in *c (*n points into it) and its normalised path in
 * w->path; *depth gets that tree's depth. *n is NULL for the root. */
static int find_start(struct walk *w, const uint8_t root[32], struct mv_tree_cursor *c,
                      const struct mv_node **n, size_t *plen, int *depth)
{
	const char *sub = w->o->subpath ? w->o->subpath : "", *p = sub;
	uint8_t cur[32];
	int rc;
	memcpy(cur, root, 32);
	*n = NULL;
	*plen = 0;
	*depth = -1;
	for (;;) {
		p += strspn(p, "/");
		if (!*p)
			return 0;
		size_t l = strcspn(p, "/"), nlen = *plen + 1 + l;
		if (*n && (*n)->kind != MV_NODE_DIR)
			goto absent;
		if (*n)
			memcpy(cur, (*n)->subtree, 32);
		if (w->o->path_max && nlen + 1 > w->o->path_max)
			goto absent;
		if ((rc = path_room(w, nlen)))
			return rc;
		w->path[*plen] = '/';
		memcpy(w->path + *plen + 1, p, l);
		w->path[nlen] = '\0';
		*plen = nlen;
		mv_tree_cursor_close(c);
		*n = NULL;
		(*depth)++;
		if ((rc = mv_tree_cursor_open(w->r, w->o->ctx, cur, c, w->err)))
			return rc;
		rc = mv_tree_cursor_find(c, (const uint8_t *)p, l, n, w->err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			goto absent;
		p += l;
	}
absent:
	return mv_error_set(w->err, MV_ERR_NOTFOUND, ENOENT, "'%s' is not in the snapshot", sub);
}

int mv_walk_tree(struct mv_repo *r, const uint8_t tree[32], const struct mv_walk_opts *o,
                 mv_walk_fn fn, void *arg, struct mv_error *err)
{
	static const struct mv_walk_opts defaults = {0};
	struct walk w = {.r = r, .o = o ? o : &defaults, .fn = fn, .arg = arg, .err = err};
	struct mv_tree_cursor top;
	const struct mv_node *n;
	size_t plen;
	int depth, rc;
	memset(&top, 0, sizeof(top));
	if ((rc = path_room(&w, 255)))
		return rc;
	w.path[0] = '\0';
	rc = find_start(&w, tree, &top, &n, &plen, &depth);
	if (rc)
		goto out;
	if (!n) {
		rc = descend(&w, tree, NULL, 0, 0, 0);
	} else {
		struct mv_walk_item it = {
		    .event = MV_WALK_NODE, .node = n, .depth = depth, .start = 1};
		it.tree = top.id;
		rc = emit(&w, &it, plen);
		if (rc == MV_WALK_CONTINUE && n->kind == MV_NODE_DIR)
			rc = descend(&w, n->subtree, n, plen, depth + 1, 1);
		else if (rc == MV_WALK_SKIP)
			rc = 0;
	}
	if (!rc)
		rc = run(&w);
out:
	for (size_t i = 0; i < w.nframes; i++)
		mv_tree_cursor_close(&w.frames[i].c);
	mv_tree_cursor_close(&top);
	free(w.frames);
	free(w.path);
	return rc;
}

/* ---- the simple walk ------------------------------------------------------- */

struct simple {
	int (*cb)(void *arg, const char *path, const struct mv_node *n);
	void *arg;
	struct mv_error *err;
	int rc; /* what cb returned to stop */
};

static int simple_fn(void *arg, const struct mv_walk_item *it)
{
	struct simple *s = arg;
	if (it->event == MV_WALK_ERROR) {
		if (s->err)
			*s->err = *it->err;
		return it->rc;
	}
	if (it->event != MV_WALK_NODE)
		return MV_WALK_CONTINUE;
	s->rc = s->cb(s->arg, it->path, it->node);
	return s->rc ? MV_WALK_STOP : MV_WALK_CONTINUE;
}

int mv_walk(struct mv_repo *r, const uint8_t tree[32],
            int (*cb)(void *arg, const char *path, const struct mv_node *n), void *arg,
            struct mv_error *err)
{
	struct mv_walk_opts o = {.max_depth = WALK_MAX_DEPTH, .path_max = WALK_PATH_MAX};
	struct simple s = {.cb = cb, .arg = arg, .err = err};
	int rc = mv_walk_tree(r, tree, &o, simple_fn, &s, err);
	return s.rc ? s.rc : rc;
}
