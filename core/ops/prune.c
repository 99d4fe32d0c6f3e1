/* prune (core/ops/prune.h): plan from the index and the blobs the snapshots
 * use, repack through the packer, then the index, then deletions. */
#include "core/ops/prune.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/repo/index.h"
#include "core/repo/lock.h"
#include "core/repo/memindex.h"
#include "core/repo/packer.h"
#include "core/repo/packread.h"
#include "core/repo/query.h"
#include "core/repo/reindex.h"
#include "core/util/grow.h"
#include "core/util/pool.h"

enum { KEEP, DELETE, REPACK, FORGET };

/* One pack of the index. Bytes are stored blob lengths, of the blobs the
 * index places in the pack (mv_query_pack_usage). */
struct pack {
	uint64_t size;   /* from the listing */
	uint64_t end;    /* end of the last blob placed in it */
	uint64_t used;   /* bytes of the blobs the snapshots use */
	uint64_t unused; /* bytes of the others */
	uint64_t nused;  /* blobs the snapshots use */
	uint64_t nblobs; /* blobs placed in it */
	uint8_t action;
	uint8_t listed;
};

struct prune;

/* One pack to repack: its used blobs are want[from .. from + n). */
struct job {
	struct prune *p;
	uint32_t pack;
	size_t from, n;
};

struct prune {
	struct mv_repo *r;
	const struct mv_prune_opts *o;
	const struct mv_events *ev;
	struct mv_prune_result *res;
	struct mv_index *used; /* the blobs the snapshots use */
	struct pack *packs;    /* by pack number */
	size_t npacks;         /* before the repack adds new ones */
	size_t *first;         /* blobs of pack p: order[first[p] .. first[p+1]) */
	uint32_t *order;       /* blob numbers of the index grouped by pack */
	char (*old_index)[65]; /* the index files before the prune */
	size_t nold_index;
	/* the repack */
	struct mv_packer *packer;
	struct mv_pack_want *want;
	uint8_t (*ids)[32]; /* want[i].id points to ids[i] */
	struct job *jobs;
	size_t njobs;
	struct mv_pool *pool;
	struct mv_pack_reader **readers; /* by worker */
	unsigned nreaders;
	pthread_mutex_t mu; /* guards the counters below */
	uint64_t done_packs, done_bytes, copied;
};

/* A refusal: damage found before anything was deleted. */
__attribute__((format(printf, 3, 4))) static int refuse(struct mv_error *err, int code,
                                                        const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code != MV_ERR_IO && code != MV_ERR_NOMEM && code != MV_ERR_INTERRUPTED)
		code = MV_ERR_INTEGRITY;
	return mv_error_set(err, code, 0, "%s; nothing was deleted (run 'medvault check')", msg);
}

static int copy_error(struct mv_error *err, const struct mv_error *e, int rc)
{
	if (err) {
		*err = *e;
		err->code = rc;
	}
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void note(struct prune *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct prune *p, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	if (!p->ev || !p->ev->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->ev->note(p->ev->arg, path, msg);
}

static void at_point(struct prune *p, const char *point)
{
	if (p->o->at_point)
		p->o->at_point(p->o->at_arg, point);
}

static int cancelled(struct prune *p, struct mv_error *err)
{
	if (p->ev && p->ev->cancel && *p->ev->cancel)
		return mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
	return 0;
}

/* ---- what the snapshots use ----------------------------------------------- */

/* Every blob the snapshots use is placed in a pack that exists, with the
 * type the trees give it. */
static int check_used(struct prune *p, struct mv_error *err)
{
	size_t n = mv_index_count(p->used), missing = 0;
	char first[65] = "";
	for (size_t i = 0; i < n; i++) {
		const struct mv_blob_loc *u = mv_index_at(p->used, i);
		struct mv_blob_loc l;
		if (mv_repo_index_lookup(p->r, u->id, &l) && l.pack != MV_PACK_NONE &&
		    !mv_repo_index_pack_missing(p->r, l.pack) && l.type == u->type)
			continue;
		if (!missing++)
			mv_hex(u->id, 32, first);
	}
	if (missing)
		return refuse(err, MV_ERR_INTEGRITY,
		              "%zu blob%s that snapshots use %s in no pack of the repository "
		              "(the first: %.16s)",
		              missing, missing == 1 ? "" : "s", missing == 1 ? "is" : "are", first);
	return 0;
}

/* Loads the index (with the headers of the packs no index names), the
 * snapshots and the blobs they use; refuses any damage. */
static int load(struct prune *p, struct mv_error *err)
{
	struct mv_repo *r = p->r;
	struct mv_snapshot *snaps = NULL;
	size_t nsnaps = 0, damaged = 0;
	struct mv_error e = {0};
	int rc = mv_repo_list_names(r, MV_FT_INDEX, &p->old_index, &p->nold_index, err);
	if (rc)
		return rc;
	p->res->old_index_files = p->nold_index;
	qsort(p->old_index, p->nold_index, sizeof(*p->old_index), name_cmp);
	rc = mv_repo_load_index(r, 1, &damaged, &e);
	if (rc)
		return copy_error(err, &e, rc);
	if (damaged)
		return refuse(err, e.code, "%s", e.msg);
	if (mv_repo_unknown_packs(r)) {
		char name[65];
		size_t n = mv_repo_unknown_packs(r);
		mv_repo_index_pack_name(r, mv_repo_unknown_pack(r, 0), name);
		return refuse(err, MV_ERR_INTEGRITY,
		              "pack %s is in no index and its header cannot be read (%zu such "
		              "pack%s)",
		              name, n, n == 1 ? "" : "s");
	}
	mv_error_clear(&e);
	rc = mv_repo_snapshots(r, &snaps, &nsnaps, &damaged, &e);
	if (rc)
		return copy_error(err, &e, rc);
	p->res->snapshots = nsnaps;
	if (damaged) {
		mv_snapshots_free(snaps, nsnaps);
		return refuse(err, e.code, "%zu snapshot file%s cannot be read: %s", damaged,
		              damaged == 1 ? "" : "s", e.msg);
	}
	mv_error_clear(&e);
	rc = mv_query_used_blobs(r, snaps, nsnaps, NULL, &p->used, &e);
	mv_snapshots_free(snaps, nsnaps);
	if (rc == MV_ERR_NOMEM || rc == MV_ERR_INTERRUPTED)
		return copy_error(err, &e, rc);
	if (rc)
		return refuse(err, rc, "a tree of a snapshot cannot be read: %s", e.msg);
	return check_used(p, err);
}

/* ---- the plan ----------------------------------------------------------------- */

static int list_size(void *arg, const char *name, uint64_t size)
{
	struct prune *p = arg;
	uint8_t id[32];
	if (strlen(name) != 64 || mv_unhex(name, id, 32))
		return 0;
	uint32_t pn = mv_repo_index_find_pack(p->r, id);
	if (pn == MV_PACK_NONE || pn >= p->npacks)
		return 0;
	p->packs[pn].listed = 1;
	p->packs[pn].size = size;
	return 0;
}

/* Groups the index's blobs by pack and notes where the last blob of each
 * pack ends. */
static int group_by_pack(struct prune *p, struct mv_error *err)
{
	int rc = mv_query_group_by_pack(p->r, p->npacks, &p->first, &p->order, err);
	for (size_t pn = 0; pn < p->npacks && !rc; pn++) {
		for (size_t k = p->first[pn]; k < p->first[pn + 1]; k++) {
			struct mv_blob_loc l;
			mv_repo_index_at(p->r, p->order[k], &l);
			uint64_t end = (uint64_t)l.offset + l.length;
			if (end > p->packs[pn].end)
				p->packs[pn].end = end;
		}
	}
	return rc;
}

/* How much unused data may stay, given the bytes the snapshots use. */
static uint64_t max_unused_after(const struct mv_prune_opts *o, uint64_t used)
{
	switch (o->unused_kind) {
	case MV_PRUNE_UNUSED_BYTES:
		return o->max_unused_bytes;
	case MV_PRUNE_UNUSED_PERCENT: {
		/* unused <= pct% of (used + unused) */
		long double v =
		    (long double)used * o->max_unused_pct / (100.0L - o->max_unused_pct);
		return v >= (long double)UINT64_MAX ? UINT64_MAX : (uint64_t)v;
	}
	default:
		return UINT64_MAX;
	}
}

/* A pack that could be repacked. */
struct cand {
	uint32_t pack;
	uint64_t used, unused;
};

/* The largest unused share first (then by pack number: a stable plan). */
static int by_unused_share(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	long double sx = (long double)x->unused * (long double)(y->used + y->unused);
	long double sy = (long double)y->unused * (long double)(x->used + x->unused);
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return (x->pack > y->pack) - (x->pack < y->pack);
}

static int decide(struct prune *p, struct cand *cand, size_t *ncand, struct mv_error *err)
{
	struct mv_prune_result *res = p->res;
	char name[65];
	for (size_t pn = 0; pn < p->npacks; pn++) {
		struct pack *pk = &p->packs[pn];
		if (!pk->listed || mv_repo_index_pack_missing(p->r, (uint32_t)pn)) {
			if (pk->nused) { /* check_used found none: the listing changed */
				mv_repo_index_pack_name(p->r, (uint32_t)pn, name);
				return refuse(err, MV_ERR_INTEGRITY, "pack %s is missing", name);
			}
			pk->action = FORGET;
			res->missing_packs++;
			continue;
		}
		res->packs++;
		res->bytes += pk->size;
		if (pk->nused == 0) {
			pk->action = DELETE;
			res->delete_packs++;
			res->delete_bytes += pk->size;
			pk->unused = pk->size;
			res->unused_bytes += pk->unused;
			continue;
		}
		if (pk->end + 4 + MV_SEAL_OVERHEAD > pk->size) {
			mv_repo_index_pack_name(p->r, (uint32_t)pn, name);
			return refuse(err, MV_ERR_INTEGRITY,
			              "pack %s is shorter (%llu bytes) than its index says", name,
			              (unsigned long long)pk->size);
		}
		/* bytes of blobs the index places elsewhere (a copy stored
		 * again after damage, a duplicate left by a crash): the blobs
		 * tile the pack up to its header, whose size follows from its
		 * entries (a header with more entries only makes this larger) */
		uint64_t hdr = 4 + mv_sealed_size(4 + (size_t)MV_INDEX_ENTRY_LEN * pk->nblobs);
		if (pk->size > hdr + pk->used + pk->unused)
			pk->unused = pk->size - hdr - pk->used;
		res->used_bytes += pk->used;
		res->unused_bytes += pk->unused;
		pk->action = KEEP;
		if (pk->unused)
			cand[(*ncand)++] = (struct cand){(uint32_t)pn, pk->used, pk->unused};
	}
	return 0;
}

static int plan(struct prune *p, struct mv_error *err)
{
	struct mv_prune_result *res = p->res;
	struct mv_pack_usage *u = NULL;
	size_t nu = 0, ncand = 0;
	struct cand *cand = NULL;
	char name[65];
	int rc = mv_query_pack_usage(p->r, p->used, &u, &nu, err);
	if (rc)
		return rc;
	p->npacks = nu;
	p->packs = calloc(nu ? nu : 1, sizeof(*p->packs));
	cand = malloc((nu ? nu : 1) * sizeof(*cand));
	if (!p->packs || !cand) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	for (size_t pn = 0; pn < nu; pn++) {
		p->packs[pn].used = u[pn].used_bytes;
		p->packs[pn].unused = u[pn].bytes - u[pn].used_bytes;
		p->packs[pn].nused = u[pn].used_blobs;
		p->packs[pn].nblobs = u[pn].blobs;
		res->blobs += u[pn].blobs;
		res->used_blobs += u[pn].used_blobs;
	}
	rc = mv_repo_backend(p->r)->ops->list(mv_repo_backend(p->r), MV_FT_PACK, list_size, p, err);
	if (rc == 0)
		rc = group_by_pack(p, err);
	if (rc == 0)
		rc = decide(p, cand, &ncand, err);
	if (rc)
		goto out;
	qsort(cand, ncand, sizeof(*cand), by_unused_share);
	uint64_t limit = max_unused_after(p->o, res->used_bytes);
	uint64_t remaining = res->unused_bytes;
	for (size_t pn = 0; pn < p->npacks; pn++)
		if (p->packs[pn].action == DELETE)
			remaining -= p->packs[pn].unused;
	for (size_t i = 0; i < ncand; i++) {
		struct pack *pk = &p->packs[cand[i].pack];
		if (p->o->unused_kind == MV_PRUNE_UNUSED_UNLIMITED || remaining <= limit)
			break;
		if (p->o->max_repack_bytes && res->repack_bytes + pk->size > p->o->max_repack_bytes)
			continue; /* a smaller one may still fit */
		pk->action = REPACK;
		res->repack_packs++;
		res->repack_bytes += pk->size;
		res->repack_blobs += pk->nused;
		res->repack_blob_bytes += pk->used;
		remaining -= pk->unused;
	}
	res->remaining_unused = remaining;
	res->remaining_bytes =
	    res->bytes - res->delete_bytes - res->repack_bytes + res->repack_blob_bytes;
	res->freed_bytes = res->delete_bytes + res->repack_bytes - res->repack_blob_bytes;
	res->nothing_to_do = !res->delete_packs && !res->repack_packs && !res->missing_packs;
	for (size_t pn = 0; pn < p->npacks; pn++) {
		const struct pack *pk = &p->packs[pn];
		if (pk->action == KEEP)
			continue;
		mv_repo_index_pack_name(p->r, (uint32_t)pn, name);
		if (pk->action == DELETE)
			note(p, name, "to delete: no snapshot uses it (%llu bytes)",
			     (unsigned long long)pk->size);
		else if (pk->action == REPACK)
			note(p, name, "to repack: %llu of its %llu bytes are used (%llu blobs)",
			     (unsigned long long)pk->used,
			     (unsigned long long)(pk->used + pk->unused),
			     (unsigned long long)pk->nused);
		else
			note(p, name, "to forget: it is missing and no snapshot uses what it held");
	}
out:
	free(u);
	free(cand);
	return rc;
}

/* ---- the repack ------------------------------------------------------------ */

/* Reads back every pack the repack stored and compares it with its name
 * (the hash of the bytes written): the old packs go only once their copies
 * are known to be stored intact. A new pack stored damaged is removed again
 * (a copy that no snapshot needs) and the prune stops. */
static int verify_new_packs(struct prune *p, struct mv_error *err)
{
	struct mv_backend *be = mv_repo_backend(p->r);
	size_t total = mv_repo_index_npacks(p->r);
	size_t max = (size_t)mv_repo_config(p->r)->pack_target + mv_sealed_size(MV_BLOB_MAX_RAW) +
	             MV_PACKHDR_MAX + 4;
	for (size_t pn = p->npacks; pn < total; pn++) {
		char name[65];
		uint8_t id[32], h[32];
		uint8_t *buf = NULL;
		size_t len = 0;
		struct mv_error e = {0};
		mv_repo_index_pack_id(p->r, (uint32_t)pn, id);
		mv_hex(id, 32, name);
		int rc = mv_backend_get_all(be, MV_FT_PACK, name, max, &buf, &len, &e);
		if (rc == 0) {
			mv_file_hash(buf, len, h);
			if (memcmp(h, id, 32) != 0)
				rc = mv_error_set(&e, MV_ERR_INTEGRITY, 0, "its content differs");
		}
		free(buf);
		if (rc == MV_ERR_INTEGRITY || rc == MV_ERR_NOTFOUND || rc == MV_ERR_LIMIT) {
			struct mv_error re = {0};
			(void)be->ops->remove(be, MV_FT_PACK, name, &re);
			return refuse(err, MV_ERR_INTEGRITY,
			              "the new pack %s was not stored intact: %s", name, e.msg);
		}
		if (rc)
			return refuse(err, rc, "the new pack %s cannot be read back: %s", name,
			              e.msg);
	}
	return 0;
}

struct copy {
	struct prune *p;
	struct mv_pack_reader *pr;
	const struct mv_pack_want *w;
	uint32_t pack;
	struct mv_error *err;
};

static int copy_blob(void *arg, size_t i, int rc, const uint8_t *plain, size_t len,
                     const struct mv_error *e)
{
	struct copy *c = arg;
	const struct mv_pack_want *w = &c->w[i];
	(void)plain;
	(void)len;
	if (rc) {
		char pname[65], hex[65];
		mv_repo_index_pack_name(c->p->r, c->pack, pname);
		mv_hex(w->id, 32, hex);
		return refuse(c->err, rc, "pack %s, blob %.16s: %s", pname, hex, e->msg);
	}
	/* authenticated by the decoding: the sealed bytes are copied as
	 * they are (the id and type they are bound to do not change) */
	rc = mv_packer_add(c->p->packer, w->type, w->id, mv_pack_reader_stored(c->pr), w->length,
	                   w->raw_length, c->err);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->p->mu);
	c->p->copied++;
	c->p->done_bytes += w->length;
	pthread_mutex_unlock(&c->p->mu);
	return 0;
}

static int repack_task(void *arg, unsigned worker, struct mv_error *err)
{
	struct job *j = arg;
	struct prune *p = j->p;
	if (mv_pool_stopped(p->pool))
		return 0;
	if (!p->readers[worker] && !(p->readers[worker] = mv_pack_reader_new(0)))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	uint8_t pid[32];
	mv_repo_index_pack_id(p->r, j->pack, pid);
	struct copy c = {p, p->readers[worker], p->want + j->from, j->pack, err};
	struct mv_pack_status st;
	int rc = mv_pack_read(c.pr, p->r, pid, p->packs[j->pack].size, c.w, j->n,
	                      MV_PACKREAD_RAWLEN, copy_blob, &c, &st, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&p->mu);
	p->done_packs++;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static int want_by_offset(const void *a, const void *b)
{
	const struct mv_pack_want *x = a, *y = b;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

/* The used blobs of the packs to repack, grouped by pack, by offset. */
static int gather(struct prune *p, struct mv_error *err)
{
	size_t nw = (size_t)p->res->repack_blobs, k = 0;
	p->want = malloc((nw ? nw : 1) * sizeof(*p->want));
	p->ids = malloc((nw ? nw : 1) * sizeof(*p->ids));
	p->jobs = calloc(p->res->repack_packs ? p->res->repack_packs : 1, sizeof(*p->jobs));
	if (!p->want || !p->ids || !p->jobs)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	for (size_t pn = 0; pn < p->npacks; pn++) {
		if (p->packs[pn].action != REPACK)
			continue;
		struct job *j = &p->jobs[p->njobs++];
		*j = (struct job){p, (uint32_t)pn, k, 0};
		for (size_t b = p->first[pn]; b < p->first[pn + 1]; b++) {
			struct mv_blob_loc l;
			mv_repo_index_at(p->r, p->order[b], &l);
			if (!mv_index_lookup(p->used, l.id))
				continue;
			if (k == nw) /* the usage counted fewer: a bug */
				return mv_error_set(err, MV_ERR_INTEGRITY, 0,
				                    "prune: used blobs miscounted");
			memcpy(p->ids[k], l.id, 32);
			p->want[k] = (struct mv_pack_want){.id = p->ids[k],
			                                   .type = l.type,
			                                   .offset = l.offset,
			                                   .length = l.length,
			                                   .raw_length = l.raw_length};
			k++;
		}
		j->n = k - j->from;
		qsort(p->want + j->from, j->n, sizeof(*p->want), want_by_offset);
	}
	if (k != nw)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "prune: used blobs miscounted");
	return 0;
}

static void report_repack(void *arg)
{
	struct prune *p = arg;
	struct mv_progress pg = {
	    .files_total = p->njobs, .bytes_total = p->res->repack_blob_bytes, .unit = "packs"};
	pthread_mutex_lock(&p->mu);
	pg.files_done = p->done_packs;
	pg.bytes_done = p->done_bytes;
	pthread_mutex_unlock(&p->mu);
	if (p->ev && p->ev->progress)
		p->ev->progress(p->ev->arg, &pg);
}

/* Copies the used blobs of the packs to repack into new packs, several
 * packs read at once; returns once every new pack is stored. */
static int repack(struct prune *p, struct mv_error *err)
{
	int rc = gather(p, err);
	if (rc)
		return rc;
	if ((rc = mv_repo_index_share(p->r, err)))
		return rc;
	p->packer = mv_packer_new(p->r);
	p->nreaders = mv_pool_default_threads(8);
	p->readers = calloc(p->nreaders, sizeof(*p->readers));
	if (!p->packer || !p->readers)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	rc = mv_pool_start(p->nreaders, p->njobs, p->ev ? p->ev->cancel : NULL, &p->pool, err);
	for (size_t i = 0; i < p->njobs && !rc; i++)
		rc = mv_pool_submit(p->pool, repack_task, &p->jobs[i], err);
	if (p->pool && !rc)
		mv_pool_wait_reporting(p->pool, 200000000L, report_repack, p);
	int frc = mv_pool_finish(p->pool, rc ? NULL : err);
	p->pool = NULL;
	if (rc || frc)
		return rc ? rc : frc;
	if ((rc = mv_packer_flush(p->packer, err)))
		return rc;
	if (p->copied != p->res->repack_blobs)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "prune: %llu of %llu blobs copied",
		                    (unsigned long long)p->copied,
		                    (unsigned long long)p->res->repack_blobs);
	p->res->new_packs = mv_packer_packs(p->packer);
	p->res->new_bytes = mv_packer_bytes(p->packer);
	return verify_new_packs(p, err);
}

/* Reads back every index file the prune wrote (those not listed before):
 * the old ones go only once the new ones are known to be intact. A new one
 * stored damaged is removed again (the old ones still name everything). */
static int verify_new_index(struct prune *p, struct mv_error *err)
{
	struct mv_backend *be = mv_repo_backend(p->r);
	char(*names)[65] = NULL;
	size_t n = 0;
	int rc = mv_repo_list_names(p->r, MV_FT_INDEX, &names, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		if (bsearch(names[i], p->old_index, p->nold_index, sizeof(*p->old_index), name_cmp))
			continue;
		uint8_t *buf = NULL;
		size_t len = 0;
		struct mv_error e = {0};
		rc = mv_repo_load_object(p->r, MV_FT_INDEX, MV_T_INDEX, names[i], &buf, &len, &e);
		free(buf);
		if (rc == MV_ERR_INTEGRITY || rc == MV_ERR_NOTFOUND || rc == MV_ERR_LIMIT) {
			struct mv_error re = {0};
			(void)be->ops->remove(be, MV_FT_INDEX, names[i], &re);
			rc = refuse(err, MV_ERR_INTEGRITY,
			            "the new index file %s was not stored "
			            "intact: %s",
			            names[i], e.msg);
		} else if (rc) {
			rc = refuse(err, rc, "the new index file %s cannot be read back: %s",
			            names[i], e.msg);
		}
	}
	free(names);
	return rc;
}

/* ---- the new index --------------------------------------------------------- */

static int entry_by_offset(const void *a, const void *b)
{
	const struct mv_index_entry *x = a, *y = b;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

/* A batch of kept packs for one index file. */
struct batch {
	struct mv_index_entry *e;
	size_t n, cap;
	struct mv_index_pack *packs;
	size_t *from; /* packs[i]'s entries start at e[from[i]] */
	size_t np, capp, capf;
};

static int flush_batch(struct prune *p, struct batch *b, struct mv_error *err)
{
	for (size_t i = 0; i < b->np; i++)
		b->packs[i].entries = b->e + b->from[i];
	int rc =
	    mv_repo_write_index_files(p->r, mv_repo_blob_ctx(p->r), b->packs, b->np, NULL, err);
	b->n = b->np = 0;
	return rc;
}

/* Index files naming every blob placed in a kept pack (those the
 * snapshots use and the others). */
static int index_kept(struct prune *p, struct mv_error *err)
{
	struct batch b = {0};
	int rc = 0;
	for (size_t pn = 0; pn < p->npacks && !rc; pn++) {
		if (p->packs[pn].action != KEEP)
			continue;
		size_t n = p->first[pn + 1] - p->first[pn];
		if (mv_grow(b.e, b.cap, b.n + n) || mv_grow(b.packs, b.capp, b.np + 1) ||
		    mv_grow(b.from, b.capf, b.np + 1)) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			break;
		}
		struct mv_index_pack *ip = &b.packs[b.np];
		mv_repo_index_pack_id(p->r, (uint32_t)pn, ip->id);
		ip->count = n;
		b.from[b.np++] = b.n;
		for (size_t k = p->first[pn]; k < p->first[pn + 1]; k++) {
			struct mv_blob_loc l;
			mv_repo_index_at(p->r, p->order[k], &l);
			struct mv_index_entry *e = &b.e[b.n++];
			memcpy(e->id, l.id, 32);
			e->type = l.type;
			e->offset = l.offset;
			e->length = l.length;
			e->raw_length = l.raw_length;
		}
		qsort(b.e + b.n - n, n, sizeof(*b.e), entry_by_offset);
		if (b.n >= MV_INDEX_ENTRIES_PER_FILE)
			rc = flush_batch(p, &b, err);
	}
	if (!rc && b.np)
		rc = flush_batch(p, &b, err);
	free(b.e);
	free(b.packs);
	free(b.from);
	return rc;
}

/* ---- deletion ---------------------------------------------------------------- */

static int delete_old(struct prune *p, struct mv_error *err)
{
	struct mv_backend *be = mv_repo_backend(p->r);
	int rc;
	/* the old index files first: once they are gone no index names the
	 * old packs, so a crash from here on leaves only packs in no index,
	 * which every reader finds and the next prune deletes */
	for (size_t i = 0; i < p->nold_index; i++) {
		if ((rc = cancelled(p, err)))
			return rc;
		rc = be->ops->remove(be, MV_FT_INDEX, p->old_index[i], err);
		if (rc)
			return mv_error_prefix(err, rc,
			                       "cannot delete the old index file %s (no pack was "
			                       "deleted; run prune again)",
			                       p->old_index[i]);
		if (i == 0)
			at_point(p, "during-index-delete");
	}
	int first = 1;
	for (size_t pn = 0; pn < p->npacks; pn++) {
		const struct pack *pk = &p->packs[pn];
		if (pk->action != DELETE && pk->action != REPACK)
			continue;
		if ((rc = cancelled(p, err)))
			return rc;
		char name[65];
		struct mv_error e = {0};
		mv_repo_index_pack_name(p->r, (uint32_t)pn, name);
		if (be->ops->remove(be, MV_FT_PACK, name, &e)) {
			/* a pack left behind is in no index: harmless, the next
			 * prune deletes it */
			p->res->delete_failures++;
			if (p->ev && p->ev->warn)
				p->ev->warn(p->ev->arg, name, e.msg);
			continue;
		}
		p->res->deleted_packs++;
		p->res->deleted_bytes += pk->size;
		if (first)
			at_point(p, "during-delete");
		first = 0;
	}
	return 0;
}

static int execute(struct prune *p, struct mv_error *err)
{
	struct mv_lock *lock = mv_repo_lock(p->r);
	int rc = 0;
	if (p->res->repack_packs && (rc = repack(p, err)))
		return rc;
	at_point(p, "after-packs");
	if ((rc = cancelled(p, err)) || (rc = mv_lock_check(lock, err)))
		return rc;
	/* the new index: the new packs (the packer names them), then the kept
	 * ones; packs no index named are named now if kept, never if not */
	mv_repo_orphans_forget(p->r);
	if (p->packer && (rc = mv_packer_write_index(p->packer, err)))
		return rc;
	if ((rc = index_kept(p, err)) || (rc = verify_new_index(p, err)))
		return rc;
	at_point(p, "after-index");
	if ((rc = mv_lock_check(lock, err)))
		return rc;
	if ((rc = delete_old(p, err)))
		return rc;
	p->res->freed_bytes = p->res->deleted_bytes > p->res->new_bytes
	                          ? p->res->deleted_bytes - p->res->new_bytes
	                          : 0;
	p->res->remaining_bytes = p->res->bytes - p->res->deleted_bytes + p->res->new_bytes;
	return 0;
}

int mv_prune(struct mv_repo *r, const struct mv_prune_opts *o, const struct mv_events *ev,
             struct mv_prune_result *res, struct mv_error *err)
{
	struct prune p = {.r = r, .o = o, .ev = ev, .res = res};
	int rc;
	memset(res, 0, sizeof(*res));
	pthread_mutex_init(&p.mu, NULL);
	rc = load(&p, err);
	if (rc == 0)
		rc = plan(&p, err);
	if (rc == 0 && !o->dry_run && !res->nothing_to_do)
		rc = execute(&p, err);
	mv_packer_free(p.packer);
	for (unsigned i = 0; p.readers && i < p.nreaders; i++)
		mv_pack_reader_free(p.readers[i]);
	free(p.readers);
	mv_repo_index_unshare(r);
	mv_index_free(p.used);
	free(p.packs);
	free(p.first);
	free(p.order);
	free(p.old_index);
	free(p.want);
	free(p.ids);
	free(p.jobs);
	pthread_mutex_destroy(&p.mu);
	return rc;
}
