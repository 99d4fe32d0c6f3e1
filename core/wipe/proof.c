/* The proof before destruction (proof.h): a map content hash -> (size, data
 * blobs, path) built by one walk, then the blobs that the contents to prove
 * list, each read once, pack by pack, on the worker pool. */
#include "core/wipe/proof.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/repo/filechunk.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/packread.h"
#include "core/repo/walker.h"
#include "core/util/grow.h"
#include "core/util/keymap.h"
#include "core/util/pool.h"

#define MAX_DEPTH 512
#define PACK_GONE "missing: its pack is not in the repository"

/* One distinct content: its blobs are ids[first .. first + n). */
struct entry {
	uint64_t size;
	size_t first;
	size_t path; /* offset in paths */
	uint32_t n;
	uint32_t snap;
};

struct mv_proof {
	struct mv_repo *r;
	struct mv_snapshot *owned; /* mv_proof_load_all's */
	const struct mv_snapshot *snaps;
	size_t nsnaps;
	struct mv_keymap *contents; /* content -> entry number */
	struct mv_keymap *trees;    /* trees read (or tried) */
	struct entry *e;
	size_t ne, ecap;
	uint8_t (*ids)[32];
	size_t nids, idcap;
	char *paths;
	size_t plen, pcap;
	size_t unreadable;
	struct mv_file_hasher *hasher[MV_PROOF_SLOTS]; /* made when first used */
};

/* ---- loading -------------------------------------------------------------- */

struct load {
	struct mv_proof *p;
	const struct mv_events *ev;
	uint32_t snap;
	struct mv_error *err;
};

static void warn(const struct mv_events *ev, const char *path, const char *msg)
{
	if (ev && ev->warn)
		ev->warn(ev->arg, path, msg);
}

static int nomem(struct mv_error *err)
{
	return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
}

static int load_enter(struct load *l, const struct mv_walk_item *it)
{
	char hex[65], msg[128];
	if (l->ev && l->ev->cancel && *l->ev->cancel)
		return mv_error_set(l->err, MV_ERR_INTERRUPTED, 0, "interrupted");
	int rc = mv_keymap_put(l->p->trees, it->tree, 0, NULL);
	if (rc < 0)
		return nomem(l->err);
	if (rc == 1)
		return MV_WALK_SKIP; /* read for this or a newer snapshot */
	if (it->depth > MAX_DEPTH) {
		mv_hex(it->tree, 32, hex);
		snprintf(msg, sizeof(msg), "tree %.16s nested too deep; not read", hex);
		warn(l->ev, "repository", msg);
		l->p->unreadable++;
		return MV_WALK_SKIP;
	}
	return MV_WALK_CONTINUE;
}

static int load_file(struct load *l, const struct mv_walk_item *it)
{
	struct mv_proof *p = l->p;
	const struct mv_node *n = it->node;
	size_t nids, plen;
	uint8_t h[32];
	if (p->ne >= UINT32_MAX)
		return mv_error_set(l->err, MV_ERR_LIMIT, 0, "too many distinct files");
	/* the content hash is over the size and the blob ids: a node whose
	 * blobs are not those it claims proves nothing */
	mv_content_hash(mv_repo_keys(p->r), n->size, (const uint8_t(*)[32])n->chunks, n->nchunks,
	                h);
	if (memcmp(h, n->content, 32) != 0) {
		warn(l->ev, it->path, "its content hash does not match its blobs: not a proof");
		return MV_WALK_CONTINUE;
	}
	int rc = mv_keymap_put(p->contents, n->content, (uint32_t)p->ne, NULL);
	if (rc < 0)
		return nomem(l->err);
	if (rc == 1)
		return MV_WALK_CONTINUE; /* a newer snapshot, or another path, has it */
	if (mv_size_add(p->nids, n->nchunks, &nids) ||
	    mv_size_add(p->plen, it->path_len + 1, &plen))
		return mv_error_set(l->err, MV_ERR_LIMIT, 0, "too many blobs");
	if (mv_grow(p->e, p->ecap, p->ne + 1) || mv_grow(p->ids, p->idcap, nids) ||
	    mv_grow(p->paths, p->pcap, plen))
		return nomem(l->err); /* the keymap's entry is never read */
	p->e[p->ne++] = (struct entry){
	    .size = n->size, .first = p->nids, .path = p->plen, .n = n->nchunks, .snap = l->snap};
	memcpy(p->ids + p->nids, n->chunks, (size_t)n->nchunks * 32);
	p->nids = nids;
	memcpy(p->paths + p->plen, it->path, it->path_len + 1);
	p->plen = plen;
	return MV_WALK_CONTINUE;
}

static int load_event(void *arg, const struct mv_walk_item *it)
{
	struct load *l = arg;
	char hex[65], msg[700];
	switch (it->event) {
	case MV_WALK_ENTER:
		return load_enter(l, it);
	case MV_WALK_ERROR: /* its files are absent: refused */
		mv_hex(it->tree, 32, hex);
		snprintf(msg, sizeof(msg), "cannot read tree %.16s (below '%s'): %s", hex,
		         it->path[0] ? it->path : "/",
		         it->err->msg[0] ? it->err->msg : mv_strerror(it->rc));
		warn(l->ev, "repository", msg);
		l->p->unreadable++;
		return MV_WALK_CONTINUE;
	case MV_WALK_NODE:
		if (it->node->kind != MV_NODE_FILE || (it->node->flags & MV_NODE_F_UNREADABLE))
			return MV_WALK_CONTINUE;
		return load_file(l, it);
	default:
		return MV_WALK_CONTINUE;
	}
}

static int proof_new(struct mv_repo *r, struct mv_proof **out, struct mv_error *err)
{
	struct mv_proof *p;
	*out = NULL;
	if (!mv_repo_keys(r) || !mv_repo_chunker(r))
		return mv_error_set(err, MV_ERR_USAGE, 0, "repository is not unlocked");
	if (!(p = calloc(1, sizeof(*p))))
		return nomem(err);
	p->r = r;
	p->contents = mv_keymap_new(32);
	p->trees = mv_keymap_new(32);
	if (!p->contents || !p->trees) {
		mv_proof_free(p);
		return nomem(err);
	}
	*out = p;
	return 0;
}

/* Walks the snapshots newest (last) first. */
static int load_snaps(struct mv_proof *p, const struct mv_events *ev, struct mv_error *err)
{
	struct mv_walk_opts wo = {.enter = 1};
	struct load l = {.p = p, .ev = ev, .err = err};
	if (p->nsnaps > UINT32_MAX)
		return mv_error_set(err, MV_ERR_LIMIT, 0, "too many snapshots");
	for (size_t i = p->nsnaps; i-- > 0;) {
		l.snap = (uint32_t)i;
		int rc = mv_walk_tree(p->r, p->snaps[i].tree, &wo, load_event, &l, err);
		if (rc)
			return rc;
	}
	return 0;
}

int mv_proof_load(struct mv_repo *r, const struct mv_snapshot *snap, const struct mv_events *ev,
                  struct mv_proof **out, struct mv_error *err)
{
	struct mv_proof *p;
	int rc = proof_new(r, &p, err);
	if (rc)
		return rc;
	p->snaps = snap;
	p->nsnaps = 1;
	if ((rc = load_snaps(p, ev, err)) != 0) {
		mv_proof_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int mv_proof_load_all(struct mv_repo *r, const struct mv_events *ev, struct mv_proof **out,
                      struct mv_error *err)
{
	struct mv_proof *p;
	int rc = proof_new(r, &p, err);
	if (rc)
		return rc;
	rc = mv_repo_snapshots(r, &p->owned, &p->nsnaps, NULL, err);
	p->snaps = p->owned;
	if (!rc)
		rc = load_snaps(p, ev, err);
	if (rc) {
		mv_proof_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

const struct mv_snapshot *mv_proof_snapshots(const struct mv_proof *p, size_t *n)
{
	*n = p->nsnaps;
	return p->snaps;
}

size_t mv_proof_count(const struct mv_proof *p)
{
	return p->ne;
}

size_t mv_proof_unreadable_trees(const struct mv_proof *p)
{
	return p->unreadable;
}

static const struct entry *find(const struct mv_proof *p, const uint8_t content[32])
{
	uint32_t v;
	if (!mv_keymap_get(p->contents, content, &v) || v >= p->ne)
		return NULL;
	return &p->e[v];
}

int mv_proof_find(const struct mv_proof *p, const uint8_t content[32], size_t *snap, uint64_t *size,
                  const char **path)
{
	const struct entry *e = find(p, content);
	if (!e)
		return 0;
	if (snap)
		*snap = e->snap;
	if (size)
		*size = e->size;
	if (path)
		*path = p->paths + e->path;
	return 1;
}

int mv_proof_hash_file(struct mv_proof *p, unsigned slot, int fd, uint64_t size,
                       uint8_t content[32], uint64_t *size_read, volatile sig_atomic_t *cancel,
                       struct mv_error *err)
{
	const struct mv_dicom_info *info;
	*size_read = 0;
	if (slot >= MV_PROOF_SLOTS)
		return mv_error_set(err, MV_ERR_USAGE, 0, "hasher slot %u out of range", slot);
	if (!p->hasher[slot] && !(p->hasher[slot] = mv_file_hasher_new(p->r)))
		return nomem(err);
	return mv_file_hasher_run(p->hasher[slot], fd, size, content, size_read, &info, NULL, NULL,
	                          cancel, err);
}

void mv_proof_free(struct mv_proof *p)
{
	if (!p)
		return;
	mv_snapshots_free(p->owned, p->owned ? p->nsnaps : 0);
	mv_keymap_free(p->contents);
	mv_keymap_free(p->trees);
	for (size_t i = 0; i < MV_PROOF_SLOTS; i++)
		mv_file_hasher_free(p->hasher[i]);
	free(p->e);
	free(p->ids);
	free(p->paths);
	free(p);
}

/* ---- verifying ------------------------------------------------------------- */

/* What is known of a blob a content needs. */
enum { B_PENDING, B_OK, B_MISSING, B_DAMAGED, B_UNREAD };

struct need {
	const uint8_t *id; /* in p->ids */
	uint32_t pack, offset, length, raw_length;
	uint8_t state;
	uint32_t msg; /* not OK: index in v->msgs */
};

/* A pending need, where it lies. */
struct place {
	uint32_t pack, offset, k;
};

/* A read worker's state. */
struct reader {
	struct mv_pack_reader *pr;
	struct mv_pack_want *w;
	size_t wcap;
};

struct verify {
	struct mv_proof *p;
	struct mv_keymap *map; /* blob id -> need number */
	struct need *needs;
	size_t nneeds, needcap;
	struct place *order; /* pending needs by pack and offset */
	size_t norder;
	pthread_mutex_t mu; /* msgs and the counts below */
	char (*msgs)[200];
	size_t nmsgs, msgcap;
	uint64_t packs_done, bytes_done;
	struct mv_pool *pool;
	struct reader *readers;
};

struct task {
	struct verify *v;
	size_t a, b; /* order[a .. b): one pack's blobs */
};

/* Notes why need k is not OK (called with v->mu held, or before the
 * workers start). */
static int set_bad(struct verify *v, struct need *k, int state, const char *what,
                   const char *detail)
{
	if (mv_grow(v->msgs, v->msgcap, v->nmsgs + 1))
		return MV_ERR_NOMEM;
	/* cut to the room: "blob 1a2b3c4d damaged: " and the start of why */
	snprintf(v->msgs[v->nmsgs], sizeof(v->msgs[0]), "%.64s%.135s", what, detail);
	k->msg = (uint32_t)v->nmsgs++;
	k->state = (uint8_t)state;
	return 0;
}

/* The need for blob id, added when new: looked up in the index. */
static int add_need(struct verify *v, const uint8_t *id, unsigned flags, struct mv_error *err)
{
	struct mv_blob_loc l;
	if (v->nneeds >= UINT32_MAX)
		return mv_error_set(err, MV_ERR_LIMIT, 0, "too many blobs");
	int rc = mv_keymap_put(v->map, id, (uint32_t)v->nneeds, NULL);
	if (rc < 0)
		return nomem(err);
	if (rc == 1)
		return 0;
	if (mv_grow(v->needs, v->needcap, v->nneeds + 1))
		return nomem(err);
	struct need *k = &v->needs[v->nneeds++];
	*k = (struct need){.id = id, .state = B_PENDING};
	if (!mv_repo_index_lookup(v->p->r, id, &l) || l.type != MV_T_DATA || l.pack == MV_PACK_NONE)
		rc = set_bad(v, k, B_MISSING, "missing from the index", "");
	else if (mv_repo_index_pack_missing(v->p->r, l.pack))
		rc = set_bad(v, k, B_MISSING, PACK_GONE, "");
	else if (flags & MV_PROOF_INDEX_ONLY)
		k->state = B_OK;
	else
		*k = (struct need){.id = id,
		                   .pack = l.pack,
		                   .offset = l.offset,
		                   .length = l.length,
		                   .raw_length = l.raw_length,
		                   .state = B_PENDING};
	return rc ? nomem(err) : 0;
}

static int by_place(const void *a, const void *b)
{
	const struct place *x = a, *y = b;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

/* A blob of the pack being read: OK, or why not. */
static int got_blob(void *arg, size_t i, int rc, const uint8_t *plain, size_t len,
                    const struct mv_error *e)
{
	struct task *t = arg;
	struct verify *v = t->v;
	struct need *k = &v->needs[v->order[t->a + i].k];
	(void)plain;
	(void)len;
	if (!rc) {
		k->state = B_OK; /* each need belongs to one task */
		return 0;
	}
	const char *what = e && e->msg[0] ? e->msg : mv_strerror(rc);
	pthread_mutex_lock(&v->mu);
	int mrc;
	if (rc == MV_ERR_IO)
		mrc = set_bad(v, k, B_UNREAD, "could not be read: ", what);
	else if (rc == MV_ERR_NOTFOUND) /* the pack went away */
		mrc = set_bad(v, k, B_MISSING, PACK_GONE, "");
	else
		mrc = set_bad(v, k, B_DAMAGED, "damaged: ", what);
	pthread_mutex_unlock(&v->mu);
	return mrc;
}

static int read_task(void *arg, unsigned worker, struct mv_error *err)
{
	struct task *t = arg;
	struct verify *v = t->v;
	struct reader *rd = &v->readers[worker];
	size_t n = t->b - t->a;
	uint64_t bytes = 0;
	if (mv_pool_stopped(v->pool))
		return 0;
	if (!rd->pr && !(rd->pr = mv_pack_reader_new(1)))
		return nomem(err);
	if (mv_grow(rd->w, rd->wcap, n))
		return nomem(err);
	for (size_t i = 0; i < n; i++) {
		const struct need *k = &v->needs[v->order[t->a + i].k];
		rd->w[i] = (struct mv_pack_want){.id = k->id,
		                                 .type = MV_T_DATA,
		                                 .offset = k->offset,
		                                 .length = k->length,
		                                 .raw_length = k->raw_length};
		bytes += k->length;
	}
	uint8_t pid[32];
	struct mv_pack_status st;
	mv_repo_index_pack_id(v->p->r, v->order[t->a].pack, pid);
	int rc = mv_pack_read(rd->pr, v->p->r, pid, 0, rd->w, n, MV_PACKREAD_RAWLEN, got_blob, t,
	                      &st, err);
	if (rc)
		return rc == MV_ERR_NOMEM ? nomem(err) : rc;
	pthread_mutex_lock(&v->mu);
	v->packs_done++;
	v->bytes_done += bytes;
	pthread_mutex_unlock(&v->mu);
	return 0;
}

/* Progress (packs read), from the calling thread. */
struct read_prog {
	struct verify *v;
	const struct mv_events *ev;
	struct mv_progress p;
};

static void report_read(void *arg)
{
	struct read_prog *rp = arg;
	pthread_mutex_lock(&rp->v->mu);
	rp->p.files_done = rp->v->packs_done;
	rp->p.bytes_done = rp->v->bytes_done;
	pthread_mutex_unlock(&rp->v->mu);
	if (rp->ev && rp->ev->progress)
		rp->ev->progress(rp->ev->arg, &rp->p);
}

/* Reads the pending needs, pack by pack. */
static int read_needs(struct verify *v, unsigned threads, const struct mv_events *ev,
                      struct mv_error *err)
{
	struct task *tasks = NULL;
	size_t ntasks = 0, cap = 0;
	uint64_t bytes_total = 0;
	int rc = 0;

	if (!(v->order = malloc((v->nneeds ? v->nneeds : 1) * sizeof(*v->order))))
		return nomem(err);
	for (size_t i = 0; i < v->nneeds; i++)
		if (v->needs[i].state == B_PENDING) {
			v->order[v->norder++] =
			    (struct place){v->needs[i].pack, v->needs[i].offset, (uint32_t)i};
			bytes_total += v->needs[i].length;
		}
	if (!v->norder)
		return 0;
	qsort(v->order, v->norder, sizeof(*v->order), by_place);
	for (size_t a = 0, b; a < v->norder; a = b) {
		uint32_t pack = v->order[a].pack;
		for (b = a + 1; b < v->norder && v->order[b].pack == pack; b++)
			;
		if (mv_grow(tasks, cap, ntasks + 1)) {
			free(tasks);
			return nomem(err);
		}
		tasks[ntasks++] = (struct task){v, a, b};
	}
	unsigned nt = threads ? threads : mv_pool_default_threads(16);
	if (!(v->readers = calloc(nt, sizeof(*v->readers)))) {
		free(tasks);
		return nomem(err);
	}
	/* every pack queued at once: the calling thread reports progress */
	rc = mv_pool_start(nt, ntasks, ev ? ev->cancel : NULL, &v->pool, err);
	for (size_t i = 0; i < ntasks && !rc; i++)
		rc = mv_pool_submit(v->pool, read_task, &tasks[i], err);
	if (v->pool && !rc) {
		struct read_prog rp = {
		    v, ev, {.files_total = ntasks, .bytes_total = bytes_total, .unit = "packs"}};
		mv_pool_wait_reporting(v->pool, 200000000L, report_read, &rp);
	}
	int frc = mv_pool_finish(v->pool, rc ? NULL : err);
	v->pool = NULL;
	for (unsigned i = 0; i < nt; i++) {
		mv_pack_reader_free(v->readers[i].pr);
		free(v->readers[i].w);
	}
	free(v->readers);
	v->readers = NULL;
	free(tasks);
	return rc ? rc : frc;
}

/* The verdict of one content: its first blob that is not OK. */
static void verdict(struct verify *v, const uint8_t content[32], struct mv_proof_result *res)
{
	const struct mv_proof *p = v->p;
	const struct entry *e = find(p, content);
	char hex[65];
	memset(res, 0, sizeof(*res));
	if (!e) {
		res->status = MV_PROOF_ABSENT;
		if (p->nsnaps == 1) {
			mv_hex(p->snaps[0].id, 4, hex);
			snprintf(res->reason, sizeof(res->reason), "not in snapshot %s", hex);
		} else {
			snprintf(res->reason, sizeof(res->reason), "not in any snapshot");
		}
		return;
	}
	res->snap = e->snap;
	for (uint32_t i = 0; i < e->n; i++) {
		uint32_t k;
		if (!mv_keymap_get(v->map, p->ids[e->first + i], &k) || k >= v->nneeds)
			continue; /* cannot happen: every blob was added */
		const struct need *nd = &v->needs[k];
		if (nd->state == B_OK)
			continue;
		res->status = nd->state == B_MISSING   ? MV_PROOF_MISSING
		              : nd->state == B_DAMAGED ? MV_PROOF_DAMAGED
		                                       : MV_PROOF_UNREAD;
		mv_hex(nd->id, 4, hex);
		snprintf(res->reason, sizeof(res->reason), "blob %s %s", hex,
		         nd->state == B_PENDING ? "not read" : v->msgs[nd->msg]);
		if (nd->state == B_PENDING)
			res->status = MV_PROOF_UNREAD;
		return;
	}
	res->status = MV_PROOF_OK;
}

int mv_proof_verify(struct mv_proof *p, const uint8_t (*contents)[32], size_t n, unsigned flags,
                    unsigned threads, struct mv_proof_result *results, const struct mv_events *ev,
                    struct mv_error *err)
{
	struct verify v = {.p = p};
	int rc = 0;

	pthread_mutex_init(&v.mu, NULL);
	if (!(v.map = mv_keymap_new(32))) {
		rc = nomem(err);
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		const struct entry *e = find(p, contents[i]);
		for (uint32_t k = 0; e && k < e->n && !rc; k++)
			rc = add_need(&v, p->ids[e->first + k], flags, err);
	}
	if (!rc)
		rc = read_needs(&v, threads, ev, err);
	if (!rc && ev && ev->cancel && *ev->cancel)
		rc = mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
	for (size_t i = 0; i < n && !rc; i++)
		verdict(&v, contents[i], &results[i]);
out:
	mv_keymap_free(v.map);
	free(v.needs);
	free(v.order);
	free(v.msgs);
	pthread_mutex_destroy(&v.mu);
	return rc;
}
