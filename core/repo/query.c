/* Index and snapshot queries (query.h), each a walk of the snapshots' trees
 * (core/repo/walker.h) or a pass over the index. */
#include "core/repo/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops/ops.h"
#include "core/repo/walker.h"
#include "core/util/grow.h"
#include "core/util/keymap.h"
#include "core/repo/repo_impl.h"

#define MAX_DEPTH 512

/* ---- content hashes ------------------------------------------------------ */

struct mv_content_set {
	struct mv_snapshot *snaps;
	size_t nsnaps;
	struct mv_keymap *contents; /* content hash -> newest snapshot index */
	struct mv_keymap *trees;    /* tree ids read */
};

struct cs_load {
	const struct mv_events *ev;
	struct mv_content_set *cs;
	uint32_t snap;
	struct mv_error *err;
};

static void warn(const struct mv_events *ev, const char *path, const char *msg)
{
	if (ev && ev->warn)
		ev->warn(ev->arg, path, msg);
}

/* Each tree once: one read for this or a newer snapshot is enough. */
static int cs_enter(struct cs_load *l, const struct mv_walk_item *it)
{
	char hex[65], msg[700];
	if (l->ev && l->ev->cancel && *l->ev->cancel)
		return mv_error_set(l->err, MV_ERR_INTERRUPTED, 0, "interrupted");
	int rc = mv_keymap_put(l->cs->trees, it->tree, 0, NULL);
	if (rc < 0)
		return mv_error_set(l->err, rc, 0, "out of memory");
	if (rc == 1)
		return MV_WALK_SKIP;
	if (it->depth > MAX_DEPTH) {
		mv_hex(it->tree, 32, hex);
		snprintf(msg, sizeof(msg), "tree %.16s nested too deep; not read", hex);
		warn(l->ev, "repository", msg);
		return MV_WALK_SKIP;
	}
	return MV_WALK_CONTINUE;
}

static int cs_event(void *arg, const struct mv_walk_item *it)
{
	struct cs_load *l = arg;
	const struct mv_node *n = it->node;
	char hex[65], msg[700];
	switch (it->event) {
	case MV_WALK_ENTER:
		return cs_enter(l, it);
	case MV_WALK_ERROR: /* a damaged part: the rest of the directory is read */
		mv_hex(it->tree, 32, hex);
		snprintf(msg, sizeof(msg), "cannot read tree %.16s: %s", hex,
		         it->err->msg[0] ? it->err->msg : mv_strerror(it->rc));
		warn(l->ev, "repository", msg);
		return MV_WALK_CONTINUE;
	case MV_WALK_NODE:
		if (n->kind == MV_NODE_FILE && !(n->flags & MV_NODE_F_UNREADABLE) &&
		    mv_keymap_put(l->cs->contents, n->content, l->snap, NULL) < 0)
			return mv_error_set(l->err, MV_ERR_NOMEM, 0, "out of memory");
		return MV_WALK_CONTINUE;
	default:
		return MV_WALK_CONTINUE;
	}
}

int mv_content_set_load(struct mv_repo *r, const struct mv_events *ev, struct mv_content_set **out,
                        struct mv_error *err)
{
	struct mv_content_set *cs = calloc(1, sizeof(*cs));
	struct mv_walk_opts wo = {.enter = 1};
	int rc;

	*out = NULL;
	if (!cs)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	cs->contents = mv_keymap_new(32);
	cs->trees = mv_keymap_new(32);
	if (!cs->contents || !cs->trees) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto fail;
	}
	rc = mv_repo_snapshots(r, &cs->snaps, &cs->nsnaps, NULL, err);
	if (rc)
		goto fail;
	if (cs->nsnaps > UINT32_MAX) {
		rc = mv_error_set(err, MV_ERR_LIMIT, 0, "too many snapshots");
		goto fail;
	}
	struct cs_load l = {.ev = ev, .cs = cs, .err = err};
	for (size_t i = cs->nsnaps; i-- > 0;) {
		l.snap = (uint32_t)i;
		rc = mv_walk_tree(r, cs->snaps[i].tree, &wo, cs_event, &l, err);
		if (rc)
			goto fail;
	}
	*out = cs;
	return 0;
fail:
	mv_content_set_free(cs);
	return rc;
}

const struct mv_snapshot *mv_content_set_snapshots(const struct mv_content_set *s, size_t *n)
{
	*n = s->nsnaps;
	return s->snaps;
}

long mv_content_set_find(const struct mv_content_set *s, const uint8_t content[32])
{
	uint32_t v;
	return mv_keymap_get(s->contents, content, &v) ? (long)v : -1;
}

size_t mv_content_set_count(const struct mv_content_set *s)
{
	return mv_keymap_count(s->contents);
}

void mv_content_set_free(struct mv_content_set *s)
{
	if (!s)
		return;
	mv_snapshots_free(s->snaps, s->nsnaps);
	mv_keymap_free(s->contents);
	mv_keymap_free(s->trees);
	free(s);
}

/* ---- used blobs ----------------------------------------------------------- */

struct used {
	struct mv_index *set;
	struct mv_keymap *trees; /* read (or tried) already */
	size_t *unreadable;
	struct mv_error *err;
};

static int use(struct used *u, const uint8_t id[32], uint8_t type)
{
	struct mv_blob_loc l = {.pack = MV_PACK_NONE, .type = type};
	memcpy(l.id, id, 32);
	int rc = mv_index_add(u->set, &l);
	if (rc == MV_ERR_LIMIT)
		return mv_error_set(u->err, rc, 0, "too many blobs");
	return rc < 0 ? mv_error_set(u->err, rc, 0, "out of memory") : 0;
}

static int used_event(void *arg, const struct mv_walk_item *it)
{
	struct used *u = arg;
	int rc = 0;
	switch (it->event) {
	case MV_WALK_ENTER:
		rc = mv_keymap_put(u->trees, it->tree, 0, NULL);
		if (rc < 0)
			return mv_error_set(u->err, rc, 0, "out of memory");
		if (rc == 1)
			return MV_WALK_SKIP;
		return use(u, it->tree, MV_T_TREE);
	case MV_WALK_OPENED:
		for (uint32_t i = 0; i < it->parts->count && !rc; i++)
			rc = use(u, it->parts->ids[i], MV_T_TREE);
		return rc;
	case MV_WALK_NODE:
		for (uint32_t k = 0; k < it->node->nchunks && !rc; k++)
			rc = use(u, it->node->chunks[k], MV_T_DATA);
		return rc;
	case MV_WALK_ERROR:
		if (!u->unreadable) {
			if (u->err)
				*u->err = *it->err;
			return it->rc;
		}
		++*u->unreadable;
		return MV_WALK_CONTINUE;
	default:
		return MV_WALK_CONTINUE;
	}
}

int mv_query_used_blobs(struct mv_repo *r, const struct mv_snapshot *snaps, size_t n,
                        size_t *unreadable, struct mv_index **out, struct mv_error *err)
{
	struct mv_walk_opts wo = {.enter = 1, .opened = 1};
	struct used u = {.unreadable = unreadable, .err = err};
	int rc = 0;

	*out = NULL;
	if (unreadable)
		*unreadable = 0;
	u.set = mv_index_new();
	u.trees = mv_keymap_new(32);
	if (!u.set || !u.trees) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		for (uint32_t k = 0; k < snaps[i].ncatalog && !rc; k++)
			rc = use(&u, snaps[i].catalog[k], MV_T_CATALOG);
		if (!rc)
			rc = mv_walk_tree(r, snaps[i].tree, &wo, used_event, &u, err);
	}
	if (!rc) {
		*out = u.set;
		u.set = NULL;
	}
out:
	mv_index_free(u.set);
	mv_keymap_free(u.trees);
	return rc;
}

/* ---- packs ---------------------------------------------------------------- */

int mv_query_pack_usage(struct mv_repo *r, const struct mv_index *used, struct mv_pack_usage **out,
                        size_t *n, struct mv_error *err)
{
	size_t np = mv_index_npacks(r->index), nb = mv_index_count(r->index);
	struct mv_pack_usage *u = NULL;

	*out = NULL;
	*n = 0;
	if (np && !(u = calloc(np, sizeof(*u))))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	for (size_t p = 0; p < np; p++)
		u[p].pack = (uint32_t)p;
	for (size_t i = 0; i < nb; i++) {
		const struct mv_blob_loc *l = mv_index_at(r->index, i);
		if (l->pack >= np)
			continue; /* not stored yet */
		struct mv_pack_usage *pu = &u[l->pack];
		pu->blobs++;
		pu->bytes += l->length;
		if (used && mv_index_lookup(used, l->id)) {
			pu->used_blobs++;
			pu->used_bytes += l->length;
		}
	}
	*out = u;
	*n = np;
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct mv_blob_loc *x = a, *y = b;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

int mv_query_pack_blobs(struct mv_repo *r, uint32_t pack, struct mv_blob_loc **out, size_t *n,
                        struct mv_error *err)
{
	size_t nb = mv_index_count(r->index), cap = 0;

	*out = NULL;
	*n = 0;
	if (pack >= mv_index_npacks(r->index))
		return mv_error_set(err, MV_ERR_NOTFOUND, 0, "no pack number %u in the index",
		                    (unsigned)pack);
	for (size_t i = 0; i < nb; i++) {
		const struct mv_blob_loc *l = mv_index_at(r->index, i);
		if (l->pack != pack)
			continue;
		if (mv_grow(*out, cap, *n + 1)) {
			free(*out);
			*out = NULL;
			*n = 0;
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		}
		(*out)[(*n)++] = *l;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), by_offset);
	return 0;
}

int mv_query_group_by_pack(struct mv_repo *r, size_t npacks, size_t **first, uint32_t **order,
                           struct mv_error *err)
{
	size_t nb = mv_index_count(r->index);
	size_t *f = calloc(npacks + 2, sizeof(*f));
	uint32_t *o = malloc((nb ? nb : 1) * sizeof(*o));
	*first = f;
	*order = o;
	if (!f || !o)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	for (size_t i = 0; i < nb; i++) {
		const struct mv_blob_loc *l = mv_index_at(r->index, i);
		if (l->pack < npacks)
			f[l->pack + 2]++;
	}
	for (size_t p = 2; p < npacks + 2; p++)
		f[p] += f[p - 1];
	for (size_t i = 0; i < nb; i++) {
		const struct mv_blob_loc *l = mv_index_at(r->index, i);
		if (l->pack < npacks)
			o[f[l->pack + 1]++] = (uint32_t)i;
	}
	return 0;
}
