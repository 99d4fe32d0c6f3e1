/* What forget would lose (forget.h): the files, patients and studies that
 * the removed snapshots hold and no kept snapshot does; and the removal of
 * snapshot files. */
#include "core/ops/forget.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/medical/catalog.h"
#include "core/repo/lock.h"
#include "core/repo/walker.h"
#include "core/util/grow.h"
#include "core/util/keymap.h"

#define MAX_DEPTH 512

struct loss {
	struct mv_repo *r;
	const struct mv_events *ev;
	struct mv_forget_loss *out;
	struct mv_keymap *kept;       /* contents of kept snapshots */
	struct mv_keymap *kept_trees; /* trees of kept snapshots (all they hold is kept) */
	struct mv_keymap *seen_trees; /* trees of removed snapshots read */
	struct mv_keymap *lost;       /* contents only in removed snapshots */
	struct mv_keymap *lost_paths; /* BLAKE2b of the paths of their files */
	struct mv_keymap *kept_pat, *kept_study, *lost_study;
	size_t max_paths, cap_paths;
	int removed; /* walking removed snapshots */
	struct mv_error *err;
};

static void warn(struct loss *l, const char *msg)
{
	l->out->unreadable++;
	if (l->ev && l->ev->warn)
		l->ev->warn(l->ev->arg, "repository", msg);
}

static int nomem(struct loss *l)
{
	return mv_error_set(l->err, MV_ERR_NOMEM, 0, "out of memory");
}

static int enter(struct loss *l, const struct mv_walk_item *it)
{
	char hex[65], msg[128];
	int rc;

	if (l->ev && l->ev->cancel && *l->ev->cancel)
		return mv_error_set(l->err, MV_ERR_INTERRUPTED, 0, "interrupted");
	if (l->removed && mv_keymap_get(l->kept_trees, it->tree, NULL))
		return MV_WALK_SKIP;
	rc = mv_keymap_put(l->removed ? l->seen_trees : l->kept_trees, it->tree, 0, NULL);
	if (rc < 0)
		return nomem(l);
	if (rc == 1)
		return MV_WALK_SKIP;
	if (it->depth > MAX_DEPTH) {
		mv_hex(it->tree, 32, hex);
		snprintf(msg, sizeof(msg), "tree %.16s nested too deep; not read", hex);
		warn(l, msg);
		return MV_WALK_SKIP;
	}
	return MV_WALK_CONTINUE;
}

/* A file of a removed snapshot: counted when its content is kept nowhere. */
static int removed_file(struct loss *l, const struct mv_walk_item *it)
{
	const struct mv_node *n = it->node;
	uint8_t pk[32];
	int rc;

	if (mv_keymap_get(l->kept, n->content, NULL))
		return 0;
	rc = mv_keymap_put(l->lost, n->content, 0, NULL);
	if (rc < 0)
		return nomem(l);
	if (rc == 0) {
		l->out->contents++;
		l->out->bytes += n->size;
	}
	crypto_generichash(pk, sizeof(pk), (const unsigned char *)it->path, it->path_len, NULL, 0);
	rc = mv_keymap_put(l->lost_paths, pk, 0, NULL);
	if (rc < 0)
		return nomem(l);
	if (rc == 1)
		return 0;
	l->out->files++;
	if (l->out->npaths >= l->max_paths)
		return 0;
	if (mv_grow(l->out->paths, l->cap_paths, l->out->npaths + 1))
		return nomem(l);
	if (!(l->out->paths[l->out->npaths] = strdup(it->path)))
		return nomem(l);
	l->out->npaths++;
	return 0;
}

static int walk_event(void *arg, const struct mv_walk_item *it)
{
	struct loss *l = arg;
	const struct mv_node *n = it->node;
	char hex[65], msg[700];

	switch (it->event) {
	case MV_WALK_ENTER:
		return enter(l, it);
	case MV_WALK_ERROR:
		mv_hex(it->tree, 32, hex);
		snprintf(msg, sizeof(msg), "cannot read tree %.16s of a %s snapshot: %s", hex,
		         l->removed ? "removed" : "kept",
		         it->err->msg[0] ? it->err->msg : mv_strerror(it->rc));
		warn(l, msg);
		return MV_WALK_CONTINUE;
	case MV_WALK_NODE:
		if (n->kind != MV_NODE_FILE || (n->flags & MV_NODE_F_UNREADABLE))
			return MV_WALK_CONTINUE;
		if (l->removed)
			return removed_file(l, it);
		return mv_keymap_put(l->kept, n->content, 0, NULL) < 0 ? nomem(l)
		                                                       : MV_WALK_CONTINUE;
	default:
		return MV_WALK_CONTINUE;
	}
}

/* One catalog entry of a kept (record its patient and study) or removed
 * snapshot (count what no kept one names). */
static int catalog_entry(struct loss *l, const struct mv_catalog_entry *e)
{
	uint8_t pk[MV_INV_KEY_LEN], sk[MV_INV_KEY_LEN];
	int hp, hs, rc = 0;

	if (e->info->flags & MV_DICOM_F_DICOMDIR)
		return 0;
	hp = mv_inventory_patient_key(e->info, pk);
	hs = mv_inventory_study_key(e->info, sk);
	if (!l->removed) {
		if (hp && mv_keymap_put(l->kept_pat, pk, 0, NULL) < 0)
			return nomem(l);
		if (hs && mv_keymap_put(l->kept_study, sk, 0, NULL) < 0)
			return nomem(l);
		return 0;
	}
	if (hs && !mv_keymap_get(l->kept_study, sk, NULL)) {
		rc = mv_keymap_put(l->lost_study, sk, 0, NULL);
		if (rc < 0)
			return nomem(l);
		l->out->studies += rc == 0;
	}
	if (hp && !mv_keymap_get(l->kept_pat, pk, NULL))
		return mv_inventory_add(l->out->patients, e->info, e->size, e->member != NULL,
		                        l->err);
	return 0;
}

static int read_catalog(struct loss *l, const struct mv_snapshot *s)
{
	struct mv_catalog_cursor *c = NULL;
	struct mv_catalog_entry e;
	char id[9], msg[700];
	int rc;

	rc = mv_catalog_cursor_open(l->r, NULL, s, &c, l->err);
	while (rc == 0 && (rc = mv_catalog_cursor_next(c, &e, l->err)) == 1) {
		if (l->ev && l->ev->cancel && *l->ev->cancel)
			rc = mv_error_set(l->err, MV_ERR_INTERRUPTED, 0, "interrupted");
		else
			rc = catalog_entry(l, &e);
	}
	mv_catalog_cursor_free(c);
	if (rc >= 0 || rc == MV_ERR_NOMEM || rc == MV_ERR_INTERRUPTED)
		return rc > 0 ? 0 : rc;
	/* a damaged catalog: the others still count */
	mv_hex(s->id, 4, id);
	snprintf(msg, sizeof(msg), "cannot read the DICOM catalog of %s snapshot %s: %s",
	         l->removed ? "removed" : "kept", id, l->err->msg);
	mv_error_clear(l->err);
	warn(l, msg);
	return 0;
}

static int read_all(struct loss *l, const struct mv_snapshot *s, size_t n)
{
	struct mv_walk_opts wo = {.enter = 1};
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		rc = mv_walk_tree(l->r, s[i].tree, &wo, walk_event, l, l->err);
		if (rc)
			break;
		if (s[i].ncatalog == 0) {
			if (!l->removed)
				l->out->kept_without_catalog++;
			continue;
		}
		if (l->removed)
			l->out->removed_with_catalog++;
		rc = read_catalog(l, &s[i]);
	}
	return rc;
}

int mv_forget_loss(struct mv_repo *r, const struct mv_snapshot *kept, size_t nkept,
                   const struct mv_snapshot *removed, size_t nremoved, size_t max_paths,
                   const struct mv_events *ev, struct mv_forget_loss *out, struct mv_error *err)
{
	struct loss l = {.r = r, .ev = ev, .out = out, .max_paths = max_paths, .err = err};
	int rc;

	memset(out, 0, sizeof(*out));
	l.kept = mv_keymap_new(32);
	l.kept_trees = mv_keymap_new(32);
	l.seen_trees = mv_keymap_new(32);
	l.lost = mv_keymap_new(32);
	l.lost_paths = mv_keymap_new(32);
	l.kept_pat = mv_keymap_new(MV_INV_KEY_LEN);
	l.kept_study = mv_keymap_new(MV_INV_KEY_LEN);
	l.lost_study = mv_keymap_new(MV_INV_KEY_LEN);
	out->patients = mv_inventory_new(MV_INV_KEEP_PATIENTS);
	if (!l.kept || !l.kept_trees || !l.seen_trees || !l.lost || !l.lost_paths || !l.kept_pat ||
	    !l.kept_study || !l.lost_study || !out->patients) {
		rc = nomem(&l);
		goto out;
	}
	rc = read_all(&l, kept, nkept);
	if (!rc) {
		l.removed = 1;
		rc = read_all(&l, removed, nremoved);
	}
out:
	mv_keymap_free(l.kept);
	mv_keymap_free(l.kept_trees);
	mv_keymap_free(l.seen_trees);
	mv_keymap_free(l.lost);
	mv_keymap_free(l.lost_paths);
	mv_keymap_free(l.kept_pat);
	mv_keymap_free(l.kept_study);
	mv_keymap_free(l.lost_study);
	if (rc)
		mv_forget_loss_release(out);
	return rc;
}

void mv_forget_loss_release(struct mv_forget_loss *l)
{
	for (size_t i = 0; i < l->npaths; i++)
		free(l->paths[i]);
	free(l->paths);
	mv_inventory_free(l->patients);
	memset(l, 0, sizeof(*l));
}

int mv_forget_remove(struct mv_repo *r, const struct mv_snapshot *s, size_t n,
                     const struct mv_events *ev, size_t *done, struct mv_error *err)
{
	struct mv_backend *be = mv_repo_backend(r);
	char name[65];
	int rc;

	*done = 0;
	for (size_t i = 0; i < n; i++) {
		if (ev && ev->cancel && *ev->cancel)
			return mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
		if (!mv_repo_lock(r))
			return mv_error_set(err, MV_ERR_USAGE, 0,
			                    "snapshots are removed under the exclusive lock only");
		if ((rc = mv_lock_check(mv_repo_lock(r), err)) != 0)
			return rc;
		mv_hex(s[i].id, 32, name);
		if ((rc = be->ops->remove(be, MV_FT_SNAPSHOT, name, err)) != 0)
			return rc;
		++*done;
	}
	return 0;
}
