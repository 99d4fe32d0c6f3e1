/* restore-size by a post-order walk that remembers each tree's totals;
 * raw-data from the used-blob query and the index; repository totals from
 * the listings. */
#include <stdlib.h>
#include <string.h>

#include "core/ops/stats.h"
#include "core/repo/index.h"
#include "core/repo/query.h"
#include "core/util/grow.h"
#include "core/util/keymap.h"

#define STATS_MAX_DEPTH 512

struct sizer {
	struct mv_repo *r;
	const struct mv_events *ev;
	struct mv_keymap *seen; /* tree id -> index in sums */
	struct mv_stats_restore *sums;
	size_t nsums, cap;
	struct mv_error *err;
};

static void add_to(struct mv_stats_restore *to, const struct mv_stats_restore *s)
{
	to->files += s->files;
	to->dirs += s->dirs;
	to->others += s->others;
	to->bytes += s->bytes;
}

/* The totals of everything below tree id into *out. */
static int tree_size(struct sizer *z, const uint8_t id[32], int depth, struct mv_stats_restore *out)
{
	struct mv_tree_cursor c;
	const struct mv_node *n;
	struct mv_stats_restore sum = {0};
	uint32_t at;
	int rc;

	if (mv_keymap_get(z->seen, id, &at)) {
		*out = z->sums[at];
		return 0;
	}
	if (depth > STATS_MAX_DEPTH)
		return mv_error_set(z->err, MV_ERR_LIMIT, 0, "tree nesting too deep");
	if (z->ev && z->ev->cancel && *z->ev->cancel)
		return mv_error_set(z->err, MV_ERR_INTERRUPTED, 0, "interrupted");
	memset(&c, 0, sizeof(c));
	if ((rc = mv_tree_cursor_open(z->r, NULL, id, &c, z->err)))
		return rc;
	while ((rc = mv_tree_cursor_next(&c, &n, z->err)) == 1) {
		if (n->kind == MV_NODE_FILE) {
			sum.files++;
			sum.bytes += n->size;
		} else if (n->kind == MV_NODE_DIR) {
			struct mv_stats_restore sub;
			uint8_t subtree[32];
			sum.dirs++;
			memcpy(subtree, n->subtree, 32);
			/* n stays valid: the cursor is not moved meanwhile */
			if ((rc = tree_size(z, subtree, depth + 1, &sub)))
				break;
			add_to(&sum, &sub);
		} else {
			sum.others++;
		}
	}
	mv_tree_cursor_close(&c);
	if (rc)
		return rc;
	if (z->nsums >= UINT32_MAX || mv_grow(z->sums, z->cap, z->nsums + 1) ||
	    mv_keymap_put(z->seen, id, (uint32_t)z->nsums, NULL) < 0)
		return mv_error_set(z->err, MV_ERR_NOMEM, 0, "out of memory");
	z->sums[z->nsums++] = sum;
	*out = sum;
	return 0;
}

int mv_stats_restore_size(struct mv_repo *r, const struct mv_snapshot *snaps, size_t n,
                          const struct mv_events *ev, struct mv_stats_restore *out,
                          struct mv_error *err)
{
	struct sizer z = {.r = r, .ev = ev, .err = err};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!(z.seen = mv_keymap_new(32)))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	for (size_t i = 0; i < n && !rc; i++) {
		struct mv_stats_restore s = {0};
		if (!(rc = tree_size(&z, snaps[i].tree, 0, &s)))
			add_to(out, &s);
	}
	mv_keymap_free(z.seen);
	free(z.sums);
	return rc;
}

int mv_stats_raw_data(struct mv_repo *r, const struct mv_snapshot *snaps, size_t n,
                      struct mv_stats_raw *out, struct mv_error *err)
{
	struct mv_index *used = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mv_query_used_blobs(r, snaps, n, NULL, &used, err)))
		return rc;
	for (size_t i = 0; i < mv_index_count(used); i++) {
		const struct mv_blob_loc *u = mv_index_at(used, i);
		struct mv_blob_loc loc;
		if (!mv_repo_index_lookup(r, u->id, &loc) || loc.pack == MV_PACK_NONE ||
		    mv_repo_index_pack_missing(r, loc.pack)) {
			out->missing++;
			continue;
		}
		out->blobs++;
		out->data_blobs += loc.type == MV_T_DATA;
		out->tree_blobs += loc.type == MV_T_TREE;
		out->catalog_blobs += loc.type == MV_T_CATALOG;
		out->raw_bytes += loc.raw_length;
		if (loc.type == MV_T_DATA)
			out->data_raw_bytes += loc.raw_length;
		out->stored_bytes += loc.length;
	}
	mv_index_free(used);
	return 0;
}

static int count_files(struct mv_repo *r, enum mv_ftype t, uint64_t *n, uint64_t *bytes,
                       struct mv_error *err)
{
	struct mv_backend_entry *e = NULL;
	size_t count = 0;
	int rc = mv_backend_list_all(mv_repo_backend(r), t, &e, &count, err);
	if (rc)
		return rc;
	*n = count;
	if (bytes)
		for (size_t i = 0; i < count; i++)
			*bytes += e[i].size;
	free(e);
	return 0;
}

int mv_stats_repository(struct mv_repo *r, struct mv_stats_repo *out, struct mv_error *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = count_files(r, MV_FT_PACK, &out->packs, &out->pack_bytes, err)) ||
	    (rc = count_files(r, MV_FT_INDEX, &out->index_files, NULL, err)) ||
	    (rc = count_files(r, MV_FT_SNAPSHOT, &out->snapshot_files, NULL, err)))
		return rc;
	size_t n = mv_repo_index_count(r);
	for (size_t i = 0; i < n; i++) {
		struct mv_blob_loc loc;
		mv_repo_index_at(r, i, &loc);
		if (loc.pack == MV_PACK_NONE)
			continue;
		out->blobs++;
		out->stored_bytes += loc.length;
	}
	return 0;
}
