/* The index service over the in-memory index (core/repo/index.h). */
#include "core/repo/index.h"

#include <stdlib.h>
#include <string.h>

#include "core/repo/repo_impl.h"

void mv_repo_index_filter(struct mv_repo *r, uint32_t types)
{
	r->index_types = types;
}

int mv_repo_index_share(struct mv_repo *r, struct mv_error *err)
{
	if (r->index_mu)
		return 0;
	if (pthread_mutex_init(&r->index_lock, NULL))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "cannot make the index lock");
	r->index_mu = &r->index_lock;
	return 0;
}

void mv_repo_index_unshare(struct mv_repo *r)
{
	if (!r->index_mu)
		return;
	r->index_mu = NULL;
	pthread_mutex_destroy(&r->index_lock);
}

int mv_repo_index_lookup(struct mv_repo *r, const uint8_t id[32], struct mv_blob_loc *out)
{
	mv_repo_index_lock(r);
	const struct mv_blob_loc *l = mv_index_lookup(r->index, id);
	if (l)
		*out = *l;
	mv_repo_index_unlock(r);
	return l != NULL;
}

int mv_repo_index_add(struct mv_repo *r, const struct mv_blob_loc *loc)
{
	mv_repo_index_lock(r);
	int rc = mv_index_add(r->index, loc);
	mv_repo_index_unlock(r);
	return rc;
}

int mv_repo_index_update(struct mv_repo *r, const struct mv_blob_loc *loc)
{
	mv_repo_index_lock(r);
	int rc = mv_index_update(r->index, loc);
	mv_repo_index_unlock(r);
	return rc;
}

size_t mv_repo_index_count(struct mv_repo *r)
{
	mv_repo_index_lock(r);
	size_t n = mv_index_count(r->index);
	mv_repo_index_unlock(r);
	return n;
}

size_t mv_repo_index_npacks(struct mv_repo *r)
{
	mv_repo_index_lock(r);
	size_t n = mv_index_npacks(r->index);
	mv_repo_index_unlock(r);
	return n;
}

void mv_repo_index_at(struct mv_repo *r, size_t i, struct mv_blob_loc *out)
{
	mv_repo_index_lock(r);
	*out = *mv_index_at(r->index, i);
	mv_repo_index_unlock(r);
}

void mv_repo_index_pack_id(struct mv_repo *r, uint32_t pack_no, uint8_t out[32])
{
	mv_repo_index_lock(r);
	memcpy(out, mv_index_pack_id(r->index, pack_no), 32);
	mv_repo_index_unlock(r);
}

void mv_repo_index_pack_name(struct mv_repo *r, uint32_t pack_no, char out[65])
{
	uint8_t id[32];
	mv_repo_index_pack_id(r, pack_no, id);
	mv_hex(id, 32, out);
}

uint32_t mv_repo_index_find_pack(struct mv_repo *r, const uint8_t id[32])
{
	mv_repo_index_lock(r);
	uint32_t pn = mv_index_find_pack(r->index, id);
	mv_repo_index_unlock(r);
	return pn;
}

int mv_repo_index_pack_missing(struct mv_repo *r, uint32_t pack_no)
{
	mv_repo_index_lock(r);
	int m = mv_index_pack_missing(r->index, pack_no);
	mv_repo_index_unlock(r);
	return m;
}

size_t mv_repo_orphans(struct mv_repo *r)
{
	return r->norphans;
}

void mv_repo_orphan(struct mv_repo *r, size_t i, uint32_t *pack_no, uint32_t *blobs)
{
	*pack_no = r->orphans[i];
	*blobs = r->orphan_blobs[i];
}

void mv_repo_orphans_forget(struct mv_repo *r)
{
	free(r->orphans);
	free(r->orphan_blobs);
	r->orphans = NULL;
	r->orphan_blobs = NULL;
	r->norphans = 0;
}

size_t mv_repo_unknown_packs(struct mv_repo *r)
{
	return r->nunknown;
}

uint32_t mv_repo_unknown_pack(struct mv_repo *r, size_t i)
{
	return r->unknown[i];
}
