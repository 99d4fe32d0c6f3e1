#include "core/repo/reindex.h"
#include "core/util/grow.h"
#include "core/repo/repo_impl.h"

#include <stdlib.h>
#include <string.h>

/* One index file's entries, grouped by pack in file order, minus the
 * dropped ones. */
struct rewrite {
	struct mv_repo *r;
	const struct mv_index *drop;
	struct mv_index_pack *packs;
	size_t npacks, cappacks;
	struct mv_index_entry *entries; /* all packs' kept entries, in order */
	size_t nentries, capentries;
	size_t *first; /* packs[i]'s entries start at entries[first[i]] */
	size_t dropped;
};

static void rewrite_reset(struct rewrite *w)
{
	w->npacks = 0;
	w->nentries = 0;
	w->dropped = 0;
}

static void rewrite_release(struct rewrite *w)
{
	free(w->packs);
	free(w->entries);
	free(w->first);
}

static int dropped_entry(const struct rewrite *w, const uint8_t pack_id[32],
                         const struct mv_index_entry *e)
{
	const struct mv_blob_loc *l = mv_index_lookup(w->drop, e->id);
	if (!l)
		return 0;
	const uint8_t *pid = mv_index_pack_id(w->r->index, l->pack);
	return pid && !memcmp(pid, pack_id, 32);
}

static int keep_entry(void *arg, const uint8_t pack_id[32], const struct mv_index_entry *e)
{
	struct rewrite *w = arg;
	if (dropped_entry(w, pack_id, e)) {
		w->dropped++;
		return 0;
	}
	if (!w->npacks || memcmp(w->packs[w->npacks - 1].id, pack_id, 32)) {
		if (w->npacks == w->cappacks) { /* two arrays of one capacity */
			size_t c1 = w->cappacks, c2 = w->cappacks;
			if (mv_grow(w->packs, c1, w->npacks + 1) || mv_grow(w->first, c2, c1))
				return MV_ERR_NOMEM;
			w->cappacks = c1;
		}
		memcpy(w->packs[w->npacks].id, pack_id, 32);
		w->packs[w->npacks].count = 0;
		w->first[w->npacks] = w->nentries;
		w->npacks++;
	}
	if (mv_grow(w->entries, w->capentries, w->nentries + 1))
		return MV_ERR_NOMEM;
	w->entries[w->nentries++] = *e;
	w->packs[w->npacks - 1].count++;
	return 0;
}

/* Writes the kept entries of one index file as a new index file. */
static int write_kept(struct rewrite *w, struct mv_error *err)
{
	struct mv_wbuf b;
	int rc = 0;
	if (!w->npacks)
		return 0;
	for (size_t i = 0; i < w->npacks; i++)
		w->packs[i].entries = w->entries + w->first[i];
	mv_wbuf_init(&b, 64u << 20);
	mv_index_encode(w->packs, w->npacks, &b);
	if (b.failed)
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "cannot encode index");
	else
		rc = mv_repo_save_object(w->r, MV_FT_INDEX, MV_T_INDEX, b.data, b.len, NULL, err);
	mv_wbuf_release(&b);
	return rc;
}

int mv_repo_drop_index_entries(struct mv_repo *r, const struct mv_index *drop, size_t *dropped,
                               struct mv_error *err)
{
	char(*names)[65] = NULL;
	size_t n = 0;
	struct rewrite w = {.r = r, .drop = drop};
	*dropped = 0;
	if (!mv_index_count(drop))
		return 0;
	int rc = mv_repo_list_names(r, MV_FT_INDEX, &names, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		uint8_t *p;
		size_t len;
		struct mv_error e = {0};
		rewrite_reset(&w);
		rc = mv_repo_load_object(r, MV_FT_INDEX, MV_T_INDEX, names[i], &p, &len, &e);
		if (rc == MV_ERR_NOMEM) {
			mv_error_set(err, rc, 0, "out of memory");
			goto out;
		}
		if (rc) { /* a damaged index file: check reports it */
			rc = 0;
			continue;
		}
		rc = mv_index_decode(p, len, keep_entry, &w);
		free(p);
		if (rc == MV_ERR_NOMEM) {
			mv_error_set(err, rc, 0, "out of memory");
			goto out;
		}
		if (rc || !w.dropped) {
			rc = 0;
			continue;
		}
		/* the new file first: never a moment without either */
		if ((rc = write_kept(&w, err)))
			goto out;
		if ((rc = r->be->ops->remove(r->be, MV_FT_INDEX, names[i], err)))
			goto out;
		*dropped += w.dropped;
	}
out:
	rewrite_release(&w);
	free(names);
	return rc;
}

int mv_repo_write_index_files(struct mv_repo *r, struct mv_blob_ctx *ctx,
                              const struct mv_index_pack *list, size_t n, size_t *written,
                              struct mv_error *err)
{
	struct mv_wbuf w;
	int rc = 0;
	mv_wbuf_init(&w, 64u << 20);
	for (size_t i = 0; i < n;) {
		size_t j = i, entries = 0;
		while (j < n && (j == i || entries + list[j].count <= MV_INDEX_ENTRIES_PER_FILE))
			entries += list[j++].count;
		w.len = 0;
		mv_index_encode(list + i, j - i, &w);
		if (w.failed) {
			rc = mv_error_set(err, w.failed, 0, "cannot encode index: %s",
			                  mv_strerror(w.failed));
			break;
		}
		rc = mv_repo_save_object_ctx(r, ctx, MV_FT_INDEX, MV_T_INDEX, w.data, w.len, NULL,
		                             err);
		if (rc)
			break;
		if (written)
			(*written)++;
		i = j;
	}
	mv_wbuf_release(&w);
	return rc;
}
