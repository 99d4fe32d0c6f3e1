/* Two snapshots compared: both trees walked together by name (a merge of
 * two sorted cursors), identical subtrees skipped by id; what lies below an
 * added or removed directory is listed through the one walker. */
#include <stdlib.h>
#include <string.h>

#include "core/medical/catalog.h"
#include "core/medical/inventory.h"
#include "core/ops/diff.h"
#include "core/repo/walker.h"
#include "core/util/grow.h"
#include "core/util/keymap.h"

#define DIFF_MAX_DEPTH 512

struct diff {
	struct mv_repo *r;
	const struct mv_events *ev;
	mv_diff_fn fn;
	void *arg;
	struct mv_diff_totals *t;
	struct mv_error *err;
	char *path; /* the directory being compared, then a name */
	size_t cap;
	/* listing a whole subtree: its path and what it is */
	size_t base_len;
	enum mv_diff_kind kind;
};

static int cancelled(const struct diff *d)
{
	if (d->ev && d->ev->cancel && *d->ev->cancel)
		return mv_error_set(d->err, MV_ERR_INTERRUPTED, 0, "interrupted");
	return 0;
}

static void count(struct mv_diff_counts *c, const struct mv_node *n)
{
	if (n->kind == MV_NODE_FILE) {
		c->files++;
		c->bytes += n->size;
	} else if (n->kind == MV_NODE_DIR) {
		c->dirs++;
	} else {
		c->others++;
	}
}

/* Sets d->path to its first `len` bytes, then "/" name. */
static int set_path(struct diff *d, size_t len, const char *name, size_t nlen)
{
	size_t need;
	if (mv_size_add(len, nlen, &need) || mv_size_add(need, 2, &need) ||
	    mv_grow(d->path, d->cap, need))
		return mv_error_set(d->err, MV_ERR_NOMEM, 0, "out of memory");
	d->path[len] = '/';
	memcpy(d->path + len + 1, name, nlen);
	d->path[len + 1 + nlen] = '\0';
	return 0;
}

static int report(struct diff *d, enum mv_diff_kind kind, const struct mv_node *n,
                  const struct mv_node *old, unsigned what)
{
	struct mv_diff_item it = {kind, d->path, n, old, what};
	count(kind == MV_DIFF_ADDED     ? &d->t->added
	      : kind == MV_DIFF_REMOVED ? &d->t->removed
	                                : &d->t->changed,
	      n);
	int rc = d->fn(d->arg, &it);
	return rc ? rc : cancelled(d);
}

/* The walker's callback over an added or removed directory's contents. */
static int on_subtree(void *arg, const struct mv_walk_item *it)
{
	struct diff *d = arg;
	if (it->event == MV_WALK_ERROR) {
		*d->err = *it->err;
		return it->rc < 0 ? it->rc : MV_ERR_INTEGRITY;
	}
	if (it->event != MV_WALK_NODE)
		return MV_WALK_CONTINUE;
	int rc = set_path(d, d->base_len, it->path + 1, it->path_len - 1);
	if (rc)
		return rc;
	return report(d, d->kind, it->node, NULL, 0);
}

/* Reports n (at d->path, of length len) as added or removed, and all below
 * it. */
static int whole(struct diff *d, enum mv_diff_kind kind, const struct mv_node *n, size_t len)
{
	int rc = report(d, kind, n, NULL, 0);
	if (rc || n->kind != MV_NODE_DIR)
		return rc;
	struct mv_walk_opts wo = {.max_depth = DIFF_MAX_DEPTH, .path_max = 65536};
	d->base_len = len;
	d->kind = kind;
	rc = mv_walk_tree(d->r, n->subtree, &wo, on_subtree, d, d->err);
	d->path[len] = '\0';
	return rc;
}

static unsigned changes(const struct mv_node *a, const struct mv_node *b)
{
	unsigned what = 0;
	if (a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
	    (a->kind != MV_NODE_DIR && a->mtime_ns != b->mtime_ns))
		what |= MV_DIFF_METADATA;
	switch (a->kind) {
	case MV_NODE_FILE:
		if (a->size != b->size || memcmp(a->content, b->content, 32) != 0 ||
		    ((a->flags ^ b->flags) & MV_NODE_F_UNREADABLE))
			what |= MV_DIFF_CONTENT;
		break;
	case MV_NODE_SYMLINK:
		if (a->target_len != b->target_len ||
		    (a->target_len && memcmp(a->target, b->target, a->target_len) != 0))
			what |= MV_DIFF_CONTENT;
		break;
	case MV_NODE_CHR:
	case MV_NODE_BLK:
		if (a->rdev != b->rdev)
			what |= MV_DIFF_CONTENT;
		break;
	default:
		break;
	}
	return what;
}

static int dir(struct diff *d, const uint8_t ta[32], const uint8_t tb[32], size_t len, int depth);

/* Both sides hold a node of this name (d->path, of length len). */
static int both(struct diff *d, const struct mv_node *a, const struct mv_node *b, size_t len,
                int depth)
{
	int rc;
	if (a->kind != b->kind) {
		if ((rc = whole(d, MV_DIFF_REMOVED, a, len)))
			return rc;
		return whole(d, MV_DIFF_ADDED, b, len);
	}
	unsigned what = changes(a, b);
	if (what && (rc = report(d, MV_DIFF_CHANGED, b, a, what)))
		return rc;
	if (a->kind != MV_NODE_DIR || memcmp(a->subtree, b->subtree, 32) == 0)
		return 0;
	return dir(d, a->subtree, b->subtree, len, depth + 1);
}

static int dir(struct diff *d, const uint8_t ta[32], const uint8_t tb[32], size_t len, int depth)
{
	struct mv_tree_cursor ca, cb;
	const struct mv_node *a = NULL, *b = NULL;
	int rc, ha, hb;

	if (depth > DIFF_MAX_DEPTH)
		return mv_error_set(d->err, MV_ERR_LIMIT, 0, "tree nesting too deep at '%s'",
		                    len ? d->path : "/");
	memset(&ca, 0, sizeof(ca));
	memset(&cb, 0, sizeof(cb));
	if ((rc = mv_tree_cursor_open(d->r, NULL, ta, &ca, d->err)))
		return rc;
	if ((rc = mv_tree_cursor_open(d->r, NULL, tb, &cb, d->err))) {
		mv_tree_cursor_close(&ca);
		return rc;
	}
	ha = mv_tree_cursor_next(&ca, &a, d->err);
	hb = ha < 0 ? 0 : mv_tree_cursor_next(&cb, &b, d->err);
	while (ha == 1 || hb == 1) {
		int cmp = ha != 1 ? 1 : hb != 1 ? -1 : mv_node_name_cmp(a, b);
		const struct mv_node *n = cmp <= 0 ? a : b;
		if ((rc = set_path(d, len, (const char *)n->name, n->name_len)))
			break;
		size_t sub = len + 1 + n->name_len;
		if (cmp < 0)
			rc = whole(d, MV_DIFF_REMOVED, a, sub);
		else if (cmp > 0)
			rc = whole(d, MV_DIFF_ADDED, b, sub);
		else
			rc = both(d, a, b, sub, depth);
		if (rc)
			break;
		if (cmp <= 0 && (ha = mv_tree_cursor_next(&ca, &a, d->err)) < 0)
			break;
		if (cmp >= 0 && (hb = mv_tree_cursor_next(&cb, &b, d->err)) < 0)
			break;
	}
	if (!rc && (ha < 0 || hb < 0))
		rc = ha < 0 ? ha : hb;
	mv_tree_cursor_close(&ca);
	mv_tree_cursor_close(&cb);
	return rc;
}

/* ---- catalogs -------------------------------------------------------- */

struct keysets {
	struct mv_keymap *patients, *studies;
};

static void keysets_free(struct keysets *k)
{
	mv_keymap_free(k->patients);
	mv_keymap_free(k->studies);
}

static int keysets_new(struct keysets *k)
{
	k->patients = mv_keymap_new(MV_INV_KEY_LEN);
	k->studies = mv_keymap_new(MV_INV_KEY_LEN);
	return k->patients && k->studies ? 0 : MV_ERR_NOMEM;
}

/* Adds key to mine; when it is new there and absent from other (may be
 * NULL), counts it in *n. */
static int note_key(struct mv_keymap *mine, const struct mv_keymap *other, const uint8_t *key,
                    uint64_t *n)
{
	int rc = mv_keymap_put(mine, key, 0, NULL);
	if (rc < 0)
		return rc;
	if (rc == 0 && other && !mv_keymap_get(other, key, NULL))
		(*n)++;
	return 0;
}

/* Reads s's catalog into k, counting the patients and studies that other
 * (may be NULL) lacks. */
static int read_catalog(struct diff *d, const struct mv_snapshot *s, struct keysets *k,
                        const struct keysets *other, uint64_t *patients, uint64_t *studies)
{
	struct mv_catalog_cursor *c = NULL;
	struct mv_catalog_entry e;
	uint8_t key[MV_INV_KEY_LEN];
	int rc;

	if ((rc = keysets_new(k)))
		return mv_error_set(d->err, rc, 0, "out of memory");
	if ((rc = mv_catalog_cursor_open(d->r, NULL, s, &c, d->err)))
		return rc;
	while ((rc = mv_catalog_cursor_next(c, &e, d->err)) == 1) {
		if ((rc = cancelled(d)))
			break;
		if (mv_inventory_patient_key(e.info, key) &&
		    (rc = note_key(k->patients, other ? other->patients : NULL, key, patients)))
			break;
		if (mv_inventory_study_key(e.info, key) &&
		    (rc = note_key(k->studies, other ? other->studies : NULL, key, studies)))
			break;
	}
	mv_catalog_cursor_free(c);
	if (rc == MV_ERR_NOMEM)
		mv_error_set(d->err, rc, 0, "out of memory");
	return rc;
}

/* Patients and studies added (in b, not in a) and removed (in a, not in
 * b): a read once, b once while counting what is new, a again. */
static int catalogs(struct diff *d, const struct mv_snapshot *a, const struct mv_snapshot *b)
{
	struct keysets ka = {0}, kb = {0}, ka2 = {0};
	uint64_t unused = 0;
	int rc = read_catalog(d, a, &ka, NULL, &unused, &unused);
	if (!rc)
		rc = read_catalog(d, b, &kb, &ka, &d->t->patients_added, &d->t->studies_added);
	keysets_free(&ka);
	if (!rc)
		rc = read_catalog(d, a, &ka2, &kb, &d->t->patients_removed, &d->t->studies_removed);
	keysets_free(&kb);
	keysets_free(&ka2);
	if (!rc)
		d->t->catalogs = 1;
	return rc;
}

int mv_diff(struct mv_repo *r, const struct mv_snapshot *a, const struct mv_snapshot *b,
            const struct mv_events *ev, mv_diff_fn fn, void *arg, struct mv_diff_totals *out,
            struct mv_error *err)
{
	struct diff d = {.r = r, .ev = ev, .fn = fn, .arg = arg, .t = out, .err = err};
	int rc;

	memset(out, 0, sizeof(*out));
	if (mv_grow(d.path, d.cap, 1))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	d.path[0] = '\0';
	rc = memcmp(a->tree, b->tree, 32) == 0 ? 0 : dir(&d, a->tree, b->tree, 0, 0);
	if (!rc && a->ncatalog > 0 && b->ncatalog > 0)
		rc = catalogs(&d, a, b);
	free(d.path);
	return rc;
}
