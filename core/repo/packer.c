#include "core/repo/packer.h"

#include <stdlib.h>
#include <string.h>

#include "core/repo/memindex.h"
#include "core/repo/reindex.h"
#include "core/util/grow.h"
#include "core/util/pool.h"
#include "core/repo/repo_impl.h"

struct open_pack {
	struct mv_packer *p;
	struct mv_wbuf data;
	struct mv_index_entry *entries;
	size_t n, cap;
	uint32_t pack_no;
};

struct done_pack {
	uint8_t id[32];
	struct mv_index_entry *entries;
	size_t n;
};

/* Full packs being stored at once, each by a writer of the packer's pool:
 * the uploads in flight, as many as the backend takes (props.uploads), at
 * most MAX_UPLOADS. Each holds a pack in memory: with the pack being
 * filled, at most MAX_UPLOADS + 1 packs are, however much slower the
 * storage is than the workers. Two are enough for a local disk (one
 * pack's fsync overlaps the other's write) and keep a backup's peak
 * memory where it was with one writer and one pack waiting. */
#define MAX_UPLOADS 2

struct mv_packer {
	struct mv_repo *r;
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv_room, cv_idle;
	struct open_pack *cur;
	size_t inflight; /* full packs handed to the writers, not yet stored */
	int flushing;    /* a writer is writing index files */
	struct mv_pool *writers;
	unsigned uploads;                     /* writers */
	struct mv_blob_ctx *ctx[MAX_UPLOADS]; /* by writer */
	struct done_pack *done;
	size_t ndone, capdone;
	size_t nflushed;          /* done[0..nflushed) are named by index files */
	size_t unflushed_entries; /* entries of done[nflushed..ndone) */
	uint64_t packs, bytes;
	int failed;
	struct mv_error ferr;
};

static void open_pack_free(struct open_pack *op);
static int write_pack(struct mv_packer *p, struct mv_blob_ctx *ctx, struct open_pack *op,
                      struct mv_error *err);

static int flush_index(struct mv_packer *p, struct mv_blob_ctx *ctx, struct mv_error *err);

/* A writer seals the header, hashes and stores a full pack (write, fsync,
 * rename) so that the workers never wait for the storage, and writes an
 * index file each time enough packs are stored: the entries are then
 * freed, and a crash loses no more than that to the next backup's pack
 * scan. Errors stop the packer (p->failed); the pool never fails. */
static int write_task(void *arg, unsigned worker, struct mv_error *unused)
{
	struct open_pack *op = arg;
	struct mv_packer *p = op->p;
	(void)unused;
	pthread_mutex_lock(&p->mu);
	int failed = p->failed;
	pthread_mutex_unlock(&p->mu);
	struct mv_error e = {0};
	int rc = 0;
	if (!failed && !p->ctx[worker] && !(p->ctx[worker] = mv_blob_ctx_new(3)))
		rc = mv_error_set(&e, MV_ERR_NOMEM, 0, "out of memory");
	if (!failed && !rc)
		rc = write_pack(p, p->ctx[worker], op, &e);
	open_pack_free(op);
	int flush = 0;
	pthread_mutex_lock(&p->mu);
	if (!failed && !rc && !p->flushing && p->unflushed_entries >= MV_INDEX_ENTRIES_PER_FILE)
		flush = p->flushing = 1;
	pthread_mutex_unlock(&p->mu);
	if (flush)
		rc = flush_index(p, p->ctx[worker], &e);
	pthread_mutex_lock(&p->mu);
	if (flush)
		p->flushing = 0;
	if (rc && !p->failed) {
		p->failed = rc;
		p->ferr = e;
	}
	p->inflight--;
	pthread_cond_broadcast(&p->cv_idle);
	pthread_cond_broadcast(&p->cv_room);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

struct mv_packer *mv_packer_new(struct mv_repo *r)
{
	struct mv_packer *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->r = r;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_room, NULL);
	pthread_cond_init(&p->cv_idle, NULL);
	/* the queue holds every pack in flight: submitting never waits */
	p->uploads = r->be->props.uploads ? r->be->props.uploads : 1;
	if (p->uploads > MAX_UPLOADS)
		p->uploads = MAX_UPLOADS;
	if (mv_pool_start(p->uploads, p->uploads, NULL, &p->writers, NULL)) {
		mv_packer_free(p);
		return NULL;
	}
	return p;
}

static void open_pack_free(struct open_pack *op)
{
	if (!op)
		return;
	mv_wbuf_release(&op->data);
	free(op->entries);
	free(op);
}

void mv_packer_free(struct mv_packer *p)
{
	if (!p)
		return;
	if (p->writers) {
		pthread_mutex_lock(&p->mu);
		p->failed = p->failed ? p->failed : MV_ERR_INTERRUPTED; /* drop queued packs */
		pthread_mutex_unlock(&p->mu);
		(void)mv_pool_finish(p->writers, NULL);
	}
	for (size_t i = 0; i < MAX_UPLOADS; i++)
		mv_blob_ctx_free(p->ctx[i]);
	pthread_cond_destroy(&p->cv_room);
	pthread_cond_destroy(&p->cv_idle);
	open_pack_free(p->cur);
	for (size_t i = 0; i < p->ndone; i++)
		free(p->done[i].entries);
	free(p->done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Seals the header, writes the pack, sets its id in the index. Called
 * without p->mu held; op is owned by the caller. */
static int write_pack(struct mv_packer *p, struct mv_blob_ctx *ctx, struct open_pack *op,
                      struct mv_error *err)
{
	struct mv_wbuf hdr;
	const uint8_t *sealed;
	size_t slen;
	uint8_t id[32];
	char name[65];
	int rc;

	mv_wbuf_init(&hdr, MV_PACKHDR_MAX);
	mv_packhdr_encode(op->entries, op->n, &hdr);
	if (hdr.failed) {
		rc = mv_error_set(err, hdr.failed, 0, "cannot encode pack header: %s",
		                  mv_strerror(hdr.failed));
		goto out;
	}
	rc = mv_blob_encode(ctx, p->r->keys, MV_T_PACKHDR, NULL, hdr.data, hdr.len, &sealed, &slen,
	                    err);
	if (rc)
		goto out;
	mv_wbuf_put(&op->data, sealed, slen);
	mv_wbuf_u32(&op->data, (uint32_t)slen);
	if (op->data.failed) {
		rc =
		    mv_error_set(err, op->data.failed, 0, "pack: %s", mv_strerror(op->data.failed));
		goto out;
	}
	mv_file_hash(op->data.data, op->data.len, id);
	mv_hex(id, 32, name);
	rc = p->r->be->ops->put(p->r->be, MV_FT_PACK, name, op->data.data, op->data.len, 0, err);
	if (rc)
		goto out;

	mv_repo_index_lock(p->r);
	rc = mv_index_set_pack_id(p->r->index, op->pack_no, id);
	mv_repo_index_unlock(p->r);
	if (rc) {
		rc = mv_error_set(err, rc, 0, "cannot record pack in the index");
		goto out;
	}
	pthread_mutex_lock(&p->mu);
	if (mv_grow(p->done, p->capdone, p->ndone + 1)) {
		pthread_mutex_unlock(&p->mu);
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	memcpy(p->done[p->ndone].id, id, 32);
	p->done[p->ndone].entries = op->entries;
	p->done[p->ndone].n = op->n;
	p->ndone++;
	p->unflushed_entries += op->n;
	op->entries = NULL;
	p->packs++;
	p->bytes += op->data.len;
	pthread_mutex_unlock(&p->mu);
out:
	mv_wbuf_release(&hdr);
	return rc;
}

static int failed_error(struct mv_packer *p, struct mv_error *err)
{
	if (err)
		*err = p->ferr;
	return p->failed;
}

/* Hands a full pack to a writer, waiting for room. Called with p->mu. */
static void enqueue_pack(struct mv_packer *p, struct open_pack *op)
{
	while (p->inflight >= p->uploads && !p->failed)
		pthread_cond_wait(&p->cv_room, &p->mu);
	if (p->failed) {
		open_pack_free(op);
		return;
	}
	op->p = p;
	p->inflight++;
	struct mv_error e = {0};
	if (mv_pool_submit(p->writers, write_task, op, &e)) { /* the pool never fails */
		p->inflight--;
		p->failed = e.code ? e.code : MV_ERR_INTERRUPTED;
		p->ferr = e;
		open_pack_free(op);
	}
}

int mv_packer_add(struct mv_packer *p, uint8_t type, const uint8_t id[32], const uint8_t *sealed,
                  size_t len, size_t raw_len, struct mv_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (p->failed) {
		rc = failed_error(p, err);
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	if (!p->cur) {
		struct open_pack *op = calloc(1, sizeof(*op));
		if (!op)
			goto nomem;
		mv_wbuf_init(&op->data, (size_t)p->r->cfg.pack_target + (80u << 20));
		mv_repo_index_lock(p->r);
		rc = mv_index_add_pack(p->r->index, NULL, &op->pack_no);
		mv_repo_index_unlock(p->r);
		if (rc) {
			free(op);
			goto nomem;
		}
		p->cur = op;
	}
	struct open_pack *op = p->cur;
	if (mv_grow(op->entries, op->cap, op->n + 1))
		goto nomem;
	struct mv_index_entry *e = &op->entries[op->n];
	e->type = type;
	memcpy(e->id, id, 32);
	e->offset = (uint32_t)op->data.len;
	e->length = (uint32_t)len;
	e->raw_length = (uint32_t)raw_len;
	mv_wbuf_put(&op->data, sealed, len);
	if (op->data.failed)
		goto nomem;
	op->n++;

	struct mv_blob_loc loc = {.pack = op->pack_no,
	                          .offset = e->offset,
	                          .length = e->length,
	                          .raw_length = e->raw_length,
	                          .type = type};
	memcpy(loc.id, id, 32);
	mv_repo_index_lock(p->r);
	rc = mv_index_update(p->r->index, &loc);
	mv_repo_index_unlock(p->r);
	if (rc) {
		p->failed = rc;
		mv_error_set(&p->ferr, rc, 0, "blob was not registered in the index");
		rc = failed_error(p, err);
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	if (op->data.len >= p->r->cfg.pack_target) {
		p->cur = NULL;
		enqueue_pack(p, op);
	}
	pthread_mutex_unlock(&p->mu);
	return 0;
nomem:
	if (!p->failed) {
		p->failed = MV_ERR_NOMEM;
		mv_error_set(&p->ferr, MV_ERR_NOMEM, 0, "out of memory");
	}
	rc = failed_error(p, err);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int mv_packer_flush(struct mv_packer *p, struct mv_error *err)
{
	pthread_mutex_lock(&p->mu);
	if (p->cur && !p->failed) {
		struct open_pack *op = p->cur;
		p->cur = NULL;
		enqueue_pack(p, op);
	}
	while (p->inflight && !p->failed)
		pthread_cond_wait(&p->cv_idle, &p->mu);
	int rc = p->failed ? failed_error(p, err) : 0;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Orphan packs: their entries come from the index. */
static int collect_orphans(struct mv_packer *p, struct done_pack **out, size_t *nout)
{
	struct mv_repo *r = p->r;
	struct done_pack *d = NULL;
	size_t n = r->norphans;
	*out = NULL;
	*nout = 0;
	if (!n)
		return 0;
	d = calloc(n, sizeof(*d));
	size_t *cap = calloc(n, sizeof(*cap));
	uint32_t *slot = malloc(mv_index_npacks(r->index) * sizeof(*slot));
	if (!d || !cap || !slot)
		goto nomem;
	for (size_t i = 0; i < mv_index_npacks(r->index); i++)
		slot[i] = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		slot[r->orphans[i]] = (uint32_t)i;
		memcpy(d[i].id, mv_index_pack_id(r->index, r->orphans[i]), 32);
	}
	for (size_t i = 0; i < mv_index_count(r->index); i++) {
		const struct mv_blob_loc *l = mv_index_at(r->index, i);
		if (l->pack == MV_PACK_NONE || slot[l->pack] == UINT32_MAX)
			continue;
		struct done_pack *dp = &d[slot[l->pack]];
		size_t *c = &cap[slot[l->pack]];
		if (mv_grow(dp->entries, *c, dp->n + 1))
			goto nomem;
		struct mv_index_entry *e = &dp->entries[dp->n++];
		e->type = l->type;
		memcpy(e->id, l->id, 32);
		e->offset = l->offset;
		e->length = l->length;
		e->raw_length = l->raw_length;
	}
	free(cap);
	free(slot);
	*out = d;
	*nout = n;
	return 0;
nomem:
	for (size_t i = 0; d && i < n; i++)
		free(d[i].entries);
	free(d);
	free(cap);
	free(slot);
	return MV_ERR_NOMEM;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct mv_index_entry *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Index files for done[nflushed..ndone) (packs already stored), then their
 * entries are freed. One writer at a time (p->flushing); others append to
 * done meanwhile, and the final write runs after flush. */
static int flush_index(struct mv_packer *p, struct mv_blob_ctx *ctx, struct mv_error *err)
{
	pthread_mutex_lock(&p->mu);
	size_t from = p->nflushed, to = p->ndone;
	struct mv_index_pack *list = from == to ? NULL : calloc(to - from, sizeof(*list));
	for (size_t i = from; list && i < to; i++) {
		memcpy(list[i - from].id, p->done[i].id, 32);
		list[i - from].entries = p->done[i].entries;
		list[i - from].count = p->done[i].n;
	}
	pthread_mutex_unlock(&p->mu);
	if (from == to)
		return 0;
	if (!list)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	int rc = mv_repo_write_index_files(p->r, ctx, list, to - from, NULL, err);
	free(list);
	if (rc)
		return rc;
	pthread_mutex_lock(&p->mu);
	for (size_t i = from; i < to; i++) {
		p->unflushed_entries -= p->done[i].n;
		free(p->done[i].entries);
		p->done[i].entries = NULL;
		p->done[i].n = 0;
	}
	p->nflushed = to;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int mv_packer_write_index(struct mv_packer *p, struct mv_error *err)
{
	struct done_pack *orph = NULL;
	size_t norph = 0;
	struct mv_index_pack *list = NULL;
	int rc = collect_orphans(p, &orph, &norph);
	if (rc)
		return mv_error_set(err, rc, 0, "out of memory");
	for (size_t i = 0; i < norph; i++)
		if (orph[i].n)
			qsort(orph[i].entries, orph[i].n, sizeof(*orph[i].entries), entry_cmp);
	size_t nd = p->ndone - p->nflushed, total = nd + norph;
	list = calloc(total ? total : 1, sizeof(*list));
	if (!list) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < total; i++) {
		const struct done_pack *d = i < nd ? &p->done[p->nflushed + i] : &orph[i - nd];
		memcpy(list[i].id, d->id, 32);
		list[i].entries = d->entries;
		list[i].count = d->n;
	}
	rc = mv_repo_write_index_files(p->r, p->r->ctx, list, total, NULL, err);
out:
	free(list);
	for (size_t k = 0; k < norph; k++)
		free(orph[k].entries);
	free(orph);
	return rc;
}

uint64_t mv_packer_packs(const struct mv_packer *p)
{
	return p->packs;
}

uint64_t mv_packer_bytes(const struct mv_packer *p)
{
	return p->bytes;
}
