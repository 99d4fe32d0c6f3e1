/* repair snapshots (core/ops/repair.h): each snapshot's trees are walked
 * once (mv_walk_tree) and rebuilt bottom-up, one directory per level of
 * the path in memory; a directory whose contents are all readable keeps
 * its tree, and a tree found intact is not walked again for a later
 * snapshot. New trees and catalog blobs go through the packer; their index
 * is written before the first new snapshot, and the originals go (with
 * --forget) only after every new snapshot is written. */
#include "core/ops/repair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/medical/catalog.h"
#include "core/ops/repair_util.h"
#include "core/repo/index.h"
#include "core/repo/lock.h"
#include "core/repo/memindex.h"
#include "core/repo/packer.h"
#include "core/repo/query.h"
#include "core/repo/reindex.h"
#include "core/repo/walker.h"
#include "core/util/grow.h"
#include "core/util/keymap.h"

#define REPAIRED_TAG "repaired"
/* Parts of a large directory close at MV_TREE_PART_NODES nodes or once a
 * bound on their encoding reaches this (FORMAT.md section 9.2). */
#define PART_BYTES (8u << 20)

/* A directory being rebuilt. */
struct rdir {
	struct mv_tree t;    /* the nodes kept, in name order */
	struct mv_node self; /* its node in the parent (a copy; unused for the root) */
	uint8_t old[32];     /* its tree as stored */
	int dirty;           /* something below it is lost */
	int keep;            /* its tree is known intact: kept as it is */
};

/* A repaired snapshot waiting for its trees' index. */
struct pending {
	uint8_t orig[32];
	struct mv_wbuf payload;
	uint64_t files, dirs;
};

struct rs {
	struct mv_repo *r;
	const struct mv_repair_opts *o;
	const struct mv_events *ev;
	struct mv_repair_result *res;
	struct mv_packer *pk;
	struct mv_keymap *clean; /* trees found intact */
	struct rdir *dirs;
	size_t ndirs, capdirs;
	struct mv_error *err;
	struct mv_blob_ctx *ctx; /* to read a damaged tree once more */
	char where[32];          /* "snapshot 1234abcd" */
	/* the snapshot being walked: its losses, paths in walk order */
	uint64_t files, bytes, lostdirs;
	int part_lost;
	char **lost;
	size_t nlost, caplost;
};

static void rdir_release(struct rdir *d)
{
	mv_tree_release(&d->t);
	mv_node_release(&d->self);
}

static int nomem(struct rs *s)
{
	return mv_error_set(s->err, MV_ERR_NOMEM, 0, "out of memory");
}

/* Stores a blob unless a copy in a pack that exists (or written by this
 * run) serves. */
static int store_blob(struct rs *s, uint8_t type, const uint8_t *data, size_t len, uint8_t id[32],
                      struct mv_error *err)
{
	struct mv_blob_loc l = {.pack = MV_PACK_NONE, .type = type, .raw_length = (uint32_t)len};
	const uint8_t *sealed;
	size_t slen;
	mv_blob_id(mv_repo_keys(s->r), data, len, id);
	memcpy(l.id, id, 32);
	int rc = mv_repo_index_add(s->r, &l);
	if (rc < 0)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc == 1) {
		struct mv_blob_loc now;
		(void)mv_repo_index_lookup(s->r, id, &now);
		if (now.pack == MV_PACK_NONE || !mv_repo_index_pack_missing(s->r, now.pack))
			return 0;
		if ((rc = mv_repo_index_update(s->r, &l)))
			return mv_error_set(err, rc, 0, "cannot update the index");
	}
	rc = mv_blob_encode(mv_repo_blob_ctx(s->r), mv_repo_keys(s->r), type, id, data, len,
	                    &sealed, &slen, err);
	return rc ? rc : mv_packer_add(s->pk, type, id, sealed, slen, len, err);
}

/* Encodes and stores the nodes t[from, from + n) as a version 1 tree. */
static int store_part(struct rs *s, const struct mv_tree *t, size_t from, size_t n, uint8_t id[32])
{
	struct mv_tree view = {.nodes = t->nodes + from, .count = n, .cap = n};
	struct mv_wbuf w;
	mv_wbuf_init(&w, MV_BLOB_MAX_RAW);
	mv_tree_encode(&view, &w);
	int rc = w.failed ? mv_error_set(s->err, w.failed, 0, "cannot encode a tree: %s",
	                                 mv_strerror(w.failed))
	                  : store_blob(s, MV_T_TREE, w.data, w.len, id, s->err);
	mv_wbuf_release(&w);
	return rc;
}

/* A bound on a node's encoding (FORMAT.md section 9). */
static size_t node_bound(const struct mv_node *n)
{
	return 64u + n->name_len + n->target_len + 32u * ((size_t)n->nchunks + 2);
}

/* Stores a directory: one version 1 tree, or parts and their list. */
static int store_dir(struct rs *s, const struct mv_tree *t, uint8_t id[32])
{
	uint8_t(*parts)[32] = NULL;
	size_t nparts = 0, cap = 0, from = 0, bytes = 0;
	int rc = 0;
	for (size_t i = 0; i <= t->count && !rc; i++) {
		int full = i - from >= MV_TREE_PART_NODES || bytes >= PART_BYTES;
		if (i < t->count && !full) {
			bytes += node_bound(&t->nodes[i]);
			continue;
		}
		if (i == t->count && !nparts) /* it fits in one */
			return store_part(s, t, 0, t->count, id);
		if (nparts >= MV_TREE_MAX_PARTS || mv_grow(parts, cap, nparts + 1)) {
			rc = mv_error_set(s->err, MV_ERR_LIMIT, 0, "directory too large");
			break;
		}
		rc = store_part(s, t, from, i - from, parts[nparts++]);
		from = i;
		bytes = i < t->count ? node_bound(&t->nodes[i]) : 0;
	}
	if (!rc && nparts == 1) {
		memcpy(id, parts[0], 32);
	} else if (!rc) {
		struct mv_tree_parts tp = {
		    .nodes = t->count, .count = (uint32_t)nparts, .ids = parts};
		struct mv_wbuf w;
		mv_wbuf_init(&w, MV_BLOB_MAX_RAW);
		mv_tree_parts_encode(&tp, &w);
		rc = w.failed ? mv_error_set(s->err, w.failed, 0, "cannot encode a tree")
		              : store_blob(s, MV_T_TREE, w.data, w.len, id, s->err);
		mv_wbuf_release(&w);
	}
	free(parts);
	return rc;
}

/* The tree of a directory left: *changed when it differs from its old one
 * (id then holds the new tree; in a dry run the old one). */
static int finish_dir(struct rs *s, struct rdir *d, uint8_t id[32], int *changed)
{
	memcpy(id, d->old, 32);
	*changed = d->dirty && !d->keep;
	if (!*changed) {
		if (!d->keep && mv_keymap_put(s->clean, d->old, 0, NULL) < 0)
			return nomem(s);
		return 0;
	}
	return s->o->dry_run ? 0 : store_dir(s, &d->t, id);
}

static int push_dir(struct rs *s, const struct mv_node *n)
{
	if (mv_grow(s->dirs, s->capdirs, s->ndirs + 1))
		return nomem(s);
	struct rdir *d = &s->dirs[s->ndirs];
	memset(d, 0, sizeof(*d));
	mv_tree_init(&d->t);
	if (n) {
		if (mv_node_copy(&d->self, n))
			return nomem(s);
		memcpy(d->old, n->subtree, 32);
	}
	s->ndirs++;
	return 0;
}

static int add_node(struct rs *s, struct rdir *d, struct mv_node *n)
{
	if (mv_tree_add(&d->t, n)) {
		mv_node_release(n);
		return mv_error_set(s->err, MV_ERR_LIMIT, 0, "directory too large");
	}
	return 0;
}

/* Remembers a lost path for the catalog and names it. */
static int lost(struct rs *s, const char *path, const char *what)
{
	char *p = strdup(path);
	if (!p || mv_grow(s->lost, s->caplost, s->nlost + 1)) {
		free(p);
		return nomem(s);
	}
	s->lost[s->nlost++] = p;
	mv_repair_say(s->ev, 1, s->where, "%s: %s", what, path[0] ? path : "/");
	return 0;
}

/* Whether every data blob of a file is indexed in a pack that exists. */
static int file_intact(struct rs *s, const struct mv_node *n)
{
	for (uint32_t k = 0; k < n->nchunks; k++) {
		struct mv_blob_loc l;
		if (!mv_repo_index_lookup(s->r, n->chunks[k], &l) || l.type != MV_T_DATA ||
		    l.pack == MV_PACK_NONE || mv_repo_index_pack_missing(s->r, l.pack))
			return 0;
	}
	return 1;
}

static int on_node(struct rs *s, const struct mv_walk_item *it)
{
	struct rdir *top = &s->dirs[s->ndirs - 1];
	struct mv_node c;
	if (s->ev && s->ev->cancel && *s->ev->cancel)
		return mv_error_set(s->err, MV_ERR_INTERRUPTED, 0, "interrupted");
	if (it->node->kind == MV_NODE_DIR)
		return push_dir(s, it->node);
	if (it->node->kind == MV_NODE_FILE && !file_intact(s, it->node)) {
		top->dirty = 1;
		s->files++;
		s->bytes += it->node->size;
		return lost(s, it->path, "file dropped, its data is lost");
	}
	if (mv_node_copy(&c, it->node))
		return nomem(s);
	return add_node(s, top, &c);
}

static int on_leave(struct rs *s)
{
	struct rdir d = s->dirs[--s->ndirs];
	struct rdir *parent = &s->dirs[s->ndirs - 1];
	int changed, rc = finish_dir(s, &d, d.self.subtree, &changed);
	mv_tree_release(&d.t);
	if (rc) {
		mv_node_release(&d.self);
		return rc;
	}
	parent->dirty |= changed;
	return add_node(s, parent, &d.self);
}

static int on_error(struct rs *s, const struct mv_walk_item *it)
{
	struct rdir *top = &s->dirs[s->ndirs - 1];
	if (!mv_repair_is_damage(it->rc)) { /* a read error, not damage */
		if (s->err)
			*s->err = *it->err;
		return mv_error_prefix(s->err, it->rc, "nothing was changed");
	}
	/* read once more: a disk that reads differently each time is not
	 * damage to act on */
	struct mv_tree t;
	struct mv_error e = {0};
	char hex[65];
	int rc = mv_repo_load_tree(s->r, s->ctx, it->tree, &t, &e);
	mv_hex(it->tree, 32, hex);
	if (!rc) {
		mv_tree_release(&t);
		return mv_error_set(s->err, MV_ERR_IO, 0,
		                    "tree %s reads differently each time (an unreliable disk or "
		                    "connection?): nothing was changed",
		                    hex);
	}
	if (!mv_repair_is_damage(rc)) {
		if (s->err)
			*s->err = e;
		return mv_error_prefix(s->err, rc, "nothing was changed");
	}
	top->dirty = 1;
	s->lostdirs++;
	if (it->error == MV_WALK_E_PART) {
		s->part_lost = 1;
		mv_repair_say(s->ev, 1, s->where, "part of a directory's contents lost (%s): %s",
		              it->err->msg, it->path[0] ? it->path : "/");
		return MV_WALK_CONTINUE;
	}
	return lost(s, it->path, "directory emptied, its contents cannot be read");
}

static int on_event(void *arg, const struct mv_walk_item *it)
{
	struct rs *s = arg;
	switch (it->event) {
	case MV_WALK_ENTER:
		if (!mv_keymap_get(s->clean, it->tree, NULL))
			return MV_WALK_CONTINUE;
		s->dirs[s->ndirs - 1].keep = 1;
		return MV_WALK_SKIP;
	case MV_WALK_NODE:
		return on_node(s, it);
	case MV_WALK_LEAVE:
		return on_leave(s);
	case MV_WALK_ERROR:
		return on_error(s, it);
	default:
		return MV_WALK_CONTINUE;
	}
}

static void forget_losses(struct rs *s)
{
	for (size_t i = 0; i < s->nlost; i++)
		free(s->lost[i]);
	s->nlost = 0;
	s->files = s->bytes = s->lostdirs = 0;
	s->part_lost = 0;
}

/* Walks a snapshot's trees: *changed when something is lost, root the new
 * root tree. */
static int rebuild(struct rs *s, const struct mv_snapshot *snap, uint8_t root[32], int *changed)
{
	struct mv_walk_opts wo = {.enter = 1};
	int rc = push_dir(s, NULL);
	if (rc)
		return rc;
	memcpy(s->dirs[0].old, snap->tree, 32);
	rc = mv_walk_tree(s->r, snap->tree, &wo, on_event, s, s->err);
	if (!rc)
		rc = finish_dir(s, &s->dirs[0], root, changed);
	while (s->ndirs)
		rdir_release(&s->dirs[--s->ndirs]);
	return rc;
}

static int store_catalog(void *arg, const uint8_t *payload, size_t len, uint8_t id[32],
                         struct mv_error *err)
{
	return store_blob(arg, MV_T_CATALOG, payload, len, id, err);
}

/* Whether path is dir or below it. */
static int covers(const char *dir, const char *path)
{
	size_t n = strlen(dir);
	return !strncmp(dir, path, n) && (path[n] == '\0' || path[n] == '/');
}

/* The original's catalog without the entries of lost files, in *ids; 1
 * when it cannot be kept (named; it was read twice), 0, or a fatal error. */
static int filter_catalog(struct rs *s, const struct mv_snapshot *snap, uint8_t (**ids)[32],
                          uint32_t *n, int last)
{
	struct mv_catalog_cursor *c = NULL;
	struct mv_catalog_writer *w = NULL;
	struct mv_catalog_entry e;
	struct mv_error ce = {0};
	size_t j = 0;
	int rc;
	*ids = NULL;
	*n = 0;
	if (!snap->ncatalog)
		return 0;
	if (s->part_lost) {
		mv_error_set(&ce, MV_ERR_INTEGRITY, 0,
		             "part of a directory is lost and the files it held are unknown");
		goto drop;
	}
	if (!(w = mv_catalog_writer_new(store_catalog, s)))
		return nomem(s);
	if ((rc = mv_catalog_cursor_open(s->r, NULL, snap, &c, &ce)))
		goto failed;
	while ((rc = mv_catalog_cursor_next(c, &e, &ce)) == 1) {
		while (j < s->nlost && mv_catalog_path_cmp(s->lost[j], e.path) < 0 &&
		       !covers(s->lost[j], e.path))
			j++;
		if (j < s->nlost && covers(s->lost[j], e.path))
			continue;
		if ((rc = mv_catalog_writer_add(w, &e, &ce)) && rc != MV_ERR_LIMIT)
			break;
		rc = 1;
	}
	if (!rc)
		rc = mv_catalog_writer_finish(w, ids, n, &ce);
failed:
	mv_catalog_cursor_free(c);
	mv_catalog_writer_free(w);
	if (!rc)
		return 0;
	if (!mv_repair_is_damage(rc)) {
		if (s->err)
			*s->err = ce;
		return rc;
	}
	free(*ids);
	*ids = NULL;
	*n = 0;
	if (!last)
		return 2; /* read it once more */
drop:
	s->res->catalogs_dropped++;
	mv_repair_say(s->ev, 1, s->where,
	              "the DICOM catalog cannot be kept (%s): the repaired snapshot has none "
	              "('medvault scan' rebuilds what find needs from the files)",
	              ce.msg);
	return 1;
}

static int has_tag(const struct mv_snapshot *s, const char *tag)
{
	for (uint32_t i = 0; i < s->ntags; i++)
		if (!strcmp(s->tags[i], tag))
			return 1;
	return 0;
}

/* Encodes the repaired snapshot of snap into p. */
static int new_snapshot(struct rs *s, const struct mv_snapshot *snap, const uint8_t root[32],
                        struct pending *p)
{
	struct mv_snapshot n = *snap;
	char **tags = calloc((size_t)snap->ntags + 1, sizeof(*tags));
	uint8_t(*cat)[32] = NULL;
	uint32_t ncat = 0;
	int rc = 0;
	if (!tags)
		return nomem(s);
	if (!s->o->dry_run && (rc = filter_catalog(s, snap, &cat, &ncat, 0)) == 2)
		rc = filter_catalog(s, snap, &cat, &ncat, 1);
	if (rc < 0)
		goto out;
	if (snap->ntags)
		memcpy(tags, snap->tags, snap->ntags * sizeof(*tags));
	n.tags = tags;
	if (!has_tag(snap, REPAIRED_TAG))
		n.tags[n.ntags++] = REPAIRED_TAG;
	memcpy(n.tree, root, 32);
	n.has_parent = 1;
	memcpy(n.parent, snap->id, 32);
	n.catalog = cat;
	n.ncatalog = ncat;
	n.summary.total_files -=
	    s->files < n.summary.total_files ? s->files : n.summary.total_files;
	n.summary.total_bytes -=
	    s->bytes < n.summary.total_bytes ? s->bytes : n.summary.total_bytes;
	memcpy(p->orig, snap->id, 32);
	p->files = s->files;
	p->dirs = s->lostdirs;
	mv_wbuf_init(&p->payload, 64u << 20);
	mv_snapshot_encode(&n, &p->payload);
	rc = p->payload.failed
	         ? mv_error_set(s->err, p->payload.failed, 0, "cannot encode the repaired snapshot")
	         : 0;
out:
	free(tags);
	free(cat);
	return rc;
}

/* The snapshots a "repaired" one names as its parent (repaired by an
 * earlier run, perhaps interrupted before it removed the original). */
static int repaired_before(const struct mv_snapshot *all, size_t n, struct mv_keymap *m)
{
	for (size_t i = 0; i < n; i++)
		if (all[i].has_parent && has_tag(&all[i], REPAIRED_TAG) &&
		    mv_keymap_put(m, all[i].parent, 0, NULL) < 0)
			return MV_ERR_NOMEM;
	return 0;
}

/* Drops the index entries of packs the repository lacks: nothing refers
 * to them once the snapshots are repaired, and a pack that comes back is
 * read from its header. */
static int drop_missing(struct rs *s)
{
	struct mv_index *drop = mv_index_new();
	size_t dropped = 0;
	int rc = drop ? 0 : nomem(s);
	for (uint32_t pn = 0; !rc && pn < mv_repo_index_npacks(s->r); pn++) {
		struct mv_blob_loc *locs = NULL;
		size_t n = 0;
		if (!mv_repo_index_pack_missing(s->r, pn))
			continue;
		rc = mv_query_pack_blobs(s->r, pn, &locs, &n, s->err);
		rc = rc == MV_ERR_NOTFOUND ? 0 : rc;
		for (size_t i = 0; i < n && !rc; i++)
			if (mv_index_add(drop, &locs[i]) < 0)
				rc = nomem(s);
		free(locs);
	}
	if (!rc && mv_index_count(drop))
		rc = mv_repo_drop_index_entries(s->r, drop, &dropped, s->err);
	s->res->entries_dropped = dropped;
	mv_index_free(drop);
	return rc;
}

/* Writes the repaired snapshots, then (--forget) removes the originals. */
static int commit(struct rs *s, struct pending *p, size_t np, const uint8_t (*forget)[32],
                  size_t nforget)
{
	struct mv_backend *be = mv_repo_backend(s->r);
	char hex[65], nhex[65];
	int rc;
	for (size_t i = 0; i < np; i++) {
		uint8_t id[32];
		if ((rc = mv_lock_check(mv_repo_lock(s->r), s->err)))
			return rc;
		rc = mv_repo_save_object(s->r, MV_FT_SNAPSHOT, MV_T_SNAPSHOT, p[i].payload.data,
		                         p[i].payload.len, id, s->err);
		if (rc)
			return rc;
		mv_hex(p[i].orig, 32, hex);
		mv_hex(id, 32, nhex);
		snprintf(s->where, sizeof(s->where), "snapshot %.8s", hex);
		mv_repair_say(s->ev, 0, s->where,
		              "repaired as snapshot %.8s: %llu file(s) dropped, %llu "
		              "directory(ies) emptied",
		              nhex, (unsigned long long)p[i].files, (unsigned long long)p[i].dirs);
		mv_repair_point(s->o, "snapshot-written");
	}
	for (size_t i = 0; i < nforget; i++) {
		if ((rc = mv_lock_check(mv_repo_lock(s->r), s->err)))
			return rc;
		mv_hex(forget[i], 32, hex);
		if ((rc = be->ops->remove(be, MV_FT_SNAPSHOT, hex, s->err)))
			return rc;
		s->res->snapshots_removed++;
		snprintf(s->where, sizeof(s->where), "snapshot %.8s", hex);
		mv_repair_say(s->ev, 0, s->where, "removed (--forget)");
		mv_repair_point(s->o, "snapshot-removed");
	}
	return 0;
}

/* One snapshot: rebuilt, and queued when something was lost. */
static int repair_one(struct rs *s, const struct mv_snapshot *snap, struct pending *p, size_t *np,
                      uint8_t (*forget)[32], size_t *nforget)
{
	uint8_t root[32];
	int changed = 0;
	char hex[65];
	mv_hex(snap->id, 32, hex);
	snprintf(s->where, sizeof(s->where), "snapshot %.8s", hex);
	forget_losses(s);
	int rc = rebuild(s, snap, root, &changed);
	if (rc || !changed)
		return rc;
	s->res->snapshots_repaired++;
	s->res->files_lost += s->files;
	s->res->dirs_lost += s->lostdirs;
	if (s->o->dry_run) {
		mv_repair_say(
		    s->ev, 0, s->where,
		    "would be repaired: %llu file(s) dropped, %llu directory(ies) emptied",
		    (unsigned long long)s->files, (unsigned long long)s->lostdirs);
		return 0;
	}
	if ((rc = new_snapshot(s, snap, root, &p[*np])))
		return rc;
	(*np)++;
	if (s->o->forget)
		memcpy(forget[(*nforget)++], snap->id, 32);
	return 0;
}

int mv_repair_snapshots(struct mv_repo *r, const struct mv_repair_opts *o,
                        const struct mv_events *ev, struct mv_repair_result *res,
                        struct mv_error *err)
{
	struct rs s = {.r = r, .o = o, .ev = ev, .res = res, .err = err};
	struct mv_snapshot *snaps = NULL;
	struct pending *p = NULL;
	uint8_t(*forget)[32] = NULL;
	struct mv_keymap *done = NULL;
	size_t nsnaps = 0, damaged = 0, np = 0, nforget = 0;
	struct mv_error e = {0};
	int rc, shared = 0;

	memset(res, 0, sizeof(*res));
	if ((rc = mv_repair_load_index(r, ev, &damaged, err)))
		return rc;
	if (damaged) /* the blobs they name would be taken for lost */
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "%zu index file(s) cannot be read: run 'medvault repair index' "
		                    "first; nothing was changed",
		                    damaged);
	if ((rc = mv_repo_snapshots(r, &snaps, &nsnaps, &damaged, &e))) {
		if (err)
			*err = e;
		return rc;
	}
	size_t bad_snaps = damaged;
	if (damaged)
		mv_repair_say(ev, 1, "snapshots", "%zu snapshot file(s) cannot be read (%s)",
		              damaged, e.msg);
	res->snapshots = nsnaps;
	s.clean = mv_keymap_new(32);
	done = mv_keymap_new(32);
	p = calloc(nsnaps ? nsnaps : 1, sizeof(*p));
	forget = calloc(nsnaps ? nsnaps : 1, sizeof(*forget));
	s.pk = mv_packer_new(r);
	s.ctx = mv_blob_ctx_new(3);
	if (!s.ctx || !s.clean || !done || !p || !forget || !s.pk ||
	    repaired_before(snaps, nsnaps, done)) {
		rc = nomem(&s);
		goto out;
	}
	if ((rc = mv_repo_index_share(r, err)))
		goto out;
	shared = 1;
	for (size_t i = 0; i < nsnaps; i++) {
		if (mv_keymap_get(done, snaps[i].id, NULL)) {
			/* repaired by an earlier run: only --forget is left to do */
			if (o->forget && !o->dry_run)
				memcpy(forget[nforget++], snaps[i].id, 32);
			continue;
		}
		if ((rc = repair_one(&s, &snaps[i], p, &np, forget, &nforget)))
			goto out;
	}
	if (o->dry_run)
		goto out;
	/* the new trees and catalogs, and their index, before any snapshot */
	if (np &&
	    ((rc = mv_packer_flush(s.pk, err)) || (rc = mv_lock_check(mv_repo_lock(r), err)) ||
	     (rc = mv_packer_write_index(s.pk, err))))
		goto out;
	mv_repair_point(o, "trees-written");
	mv_repo_index_unshare(r);
	shared = 0;
	if ((rc = commit(&s, p, np, (const uint8_t(*)[32])forget, nforget)))
		goto out;
	rc = drop_missing(&s);
out:
	if (!rc && bad_snaps) /* nothing of them is left to repair: damage remains */
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                  "%zu snapshot file(s) cannot be read (named above): nothing in "
		                  "them can be repaired",
		                  bad_snaps);
	if (shared)
		mv_repo_index_unshare(r);
	forget_losses(&s);
	free(s.lost);
	free(s.dirs);
	mv_packer_free(s.pk);
	mv_blob_ctx_free(s.ctx);
	mv_keymap_free(s.clean);
	mv_keymap_free(done);
	for (size_t i = 0; p && i < nsnaps; i++)
		mv_wbuf_release(&p[i].payload);
	free(p);
	free(forget);
	mv_snapshots_free(snaps, nsnaps);
	return rc;
}
