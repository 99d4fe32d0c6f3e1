/* check: structure (index files, pack headers against the index, snapshots,
 * trees, every referenced blob indexed), and with read_data every pack's
 * hash and every blob's authentication and id. Damage is reported as the
 * snapshots and files it affects. */
#include "core/ops/check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/packread.h"
#include "core/repo/walker.h"
#include "core/util/grow.h"
#include "core/util/pool.h"

struct pack_info {
	char name[65];
	uint64_t size;
	int listed;  /* exists in data/ */
	int damaged; /* header or data damaged */
};

struct ck {
	struct mv_repo *r;
	const struct mv_check_opts *o;
	const struct mv_events *ev;
	struct mv_check_result *res;
	struct pack_info *packs; /* by index pack number */
	size_t npacks;
	struct mv_index *bad;  /* damaged or missing blobs */
	struct mv_index *seen; /* trees already checked */
	struct mv_error *err;  /* the structure walk's */
	pthread_mutex_t mu;
	uint32_t *todo;
	size_t ntodo;
	struct mv_pool *pool;   /* read workers */
	struct reader *readers; /* by worker */
	uint64_t io_errors;     /* problems that were read errors, not damage */
	uint64_t done_packs;
	uint64_t done_bytes; /* of the packs read */
	size_t *first;       /* blobs of pack p: order[first[p] .. first[p+1]) */
	uint32_t *order;     /* blob numbers grouped by pack */
};

/* Groups the index's blobs by pack (counting sort). */
static int group_by_pack(struct ck *c)
{
	size_t nb = mv_repo_index_count(c->r);
	struct mv_blob_loc l;
	c->first = calloc(c->npacks + 2, sizeof(*c->first));
	c->order = malloc((nb ? nb : 1) * sizeof(*c->order));
	if (!c->first || !c->order)
		return MV_ERR_NOMEM;
	for (size_t i = 0; i < nb; i++) {
		mv_repo_index_at(c->r, i, &l);
		if (l.pack < c->npacks)
			c->first[l.pack + 2]++;
	}
	for (size_t p = 2; p < c->npacks + 2; p++)
		c->first[p] += c->first[p - 1];
	for (size_t i = 0; i < nb; i++) {
		mv_repo_index_at(c->r, i, &l);
		if (l.pack < c->npacks)
			c->order[c->first[l.pack + 1]++] = (uint32_t)i;
	}
	return 0;
}

static void problem(struct ck *c, const char *what, const char *msg)
{
	c->res->errors++;
	if (c->ev && c->ev->warn)
		c->ev->warn(c->ev->arg, what, msg);
}

/* A problem that the error code rc caused: a read error (MV_ERR_IO) is
 * counted apart, as it is not damage. */
static void problem_rc(struct ck *c, const char *what, const char *msg, int rc)
{
	if (rc == MV_ERR_IO)
		c->io_errors++;
	problem(c, what, msg);
}

static int mark_bad(struct ck *c, const uint8_t id[32])
{
	struct mv_blob_loc l = {.pack = MV_PACK_NONE};
	memcpy(l.id, id, 32);
	int rc = mv_index_add(c->bad, &l);
	return rc < 0 ? rc : 0;
}

static int list_pack(void *arg, const char *name, uint64_t size)
{
	struct ck *c = arg;
	uint8_t id[32];
	if (strlen(name) != 64 || mv_unhex(name, id, 32))
		return 0;
	uint32_t pn = mv_repo_index_find_pack(c->r, id);
	if (pn == MV_PACK_NONE)
		return 0; /* stored after the index was loaded */
	c->packs[pn].listed = 1;
	c->packs[pn].size = size;
	return 0;
}

/* Compares a pack's header with the index. */
struct hdr_cmp {
	struct ck *c;
	uint32_t pack;
	size_t matched;
	int mismatch;
};

static int hdr_entry(void *arg, const struct mv_index_entry *e)
{
	struct hdr_cmp *h = arg;
	struct mv_blob_loc l;
	if (mv_repo_index_lookup(h->c->r, e->id, &l) && l.pack == h->pack) {
		if (l.offset != e->offset || l.length != e->length || l.type != e->type ||
		    l.raw_length != e->raw_length)
			h->mismatch = 1;
		else
			h->matched++;
	}
	return 0;
}

static int check_packs(struct ck *c, struct mv_error *err)
{
	struct mv_repo *r = c->r;
	for (size_t p = 0; p < c->npacks; p++) {
		struct pack_info *pi = &c->packs[p];
		mv_repo_index_pack_name(r, (uint32_t)p, pi->name);
		if (!pi->listed && c->first[p + 1] == c->first[p]) {
			/* e.g. a later backup stored every blob it held again */
			if (c->ev && c->ev->warn)
				c->ev->warn(c->ev->arg, pi->name,
				            "pack is missing, but every blob an index places in it "
				            "has a copy in another pack (no file is affected)");
			continue;
		}
		if (!pi->listed) {
			pi->damaged = 1;
			problem(c, pi->name, "pack is missing");
			continue;
		}
		struct hdr_cmp h = {c, (uint32_t)p, 0, 0};
		struct mv_error e = {0};
		int rc = mv_repo_read_pack_header(r, pi->name, pi->size, hdr_entry, &h, &e);
		if (rc == MV_ERR_NOMEM)
			return mv_error_set(err, rc, 0, "out of memory");
		if (rc) {
			pi->damaged = 1;
			problem_rc(c, pi->name, e.msg, rc);
		} else if (h.mismatch || h.matched != c->first[p + 1] - c->first[p]) {
			pi->damaged = 1;
			problem(c, pi->name, "pack header does not match the index");
		}
	}
	/* every blob of a damaged pack is suspect */
	for (size_t i = 0; i < mv_repo_index_count(r); i++) {
		struct mv_blob_loc l;
		mv_repo_index_at(r, i, &l);
		if (l.pack < c->npacks && c->packs[l.pack].damaged && mark_bad(c, l.id))
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	return 0;
}

/* read-data: whole pack read, hash checked, every blob decoded. Each read
 * worker keeps a pack reader and the list of blobs of the pack it reads. */
struct reader {
	struct mv_pack_reader *pr;
	struct mv_pack_want *w;
	size_t cap;
	uint8_t (*ids)[32]; /* the ids w[i].id points to */
	size_t idcap;
};

struct read_task {
	struct ck *c;
	uint32_t pack;
};

/* The callback's view of the pack being read. */
struct reader_blob {
	struct ck *c;
	const struct mv_pack_want *w;
};

static int blob_read(void *arg, size_t i, int rc, const uint8_t *plain, size_t len,
                     const struct mv_error *e)
{
	struct reader_blob *rb = arg;
	(void)plain;
	(void)len;
	(void)e;
	if (!rc)
		return 0;
	pthread_mutex_lock(&rb->c->mu);
	int mrc = mark_bad(rb->c, rb->w[i].id);
	pthread_mutex_unlock(&rb->c->mu);
	return mrc;
}

static int read_pack(void *arg, unsigned worker, struct mv_error *err)
{
	struct read_task *t = arg;
	struct ck *c = t->c;
	uint32_t p = t->pack;
	struct reader *rd = &c->readers[worker];
	if (mv_pool_stopped(c->pool))
		return 0;
	if (!rd->pr && !(rd->pr = mv_pack_reader_new(1)))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	/* the blobs the index places in this pack */
	size_t n = c->first[p + 1] - c->first[p];
	if (mv_grow(rd->w, rd->cap, n) || mv_grow(rd->ids, rd->idcap, n))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct mv_blob_loc l;
		mv_repo_index_at(c->r, c->order[c->first[p] + i], &l);
		memcpy(rd->ids[i], l.id, 32);
		rd->w[i] = (struct mv_pack_want){.id = rd->ids[i],
		                                 .type = l.type,
		                                 .offset = l.offset,
		                                 .length = l.length,
		                                 .raw_length = l.raw_length};
	}
	struct pack_info *pi = &c->packs[p];
	struct mv_pack_status st;
	struct reader_blob rb = {c, rd->w};
	uint8_t pid[32];
	mv_repo_index_pack_id(c->r, p, pid);
	int rc = mv_pack_read(rd->pr, c->r, pid, pi->size, rd->w, n,
	                      MV_PACKREAD_WHOLE | MV_PACKREAD_RAWLEN, blob_read, &rb, &st, err);
	if (rc)
		return rc;
	char msg[600];
	rc = st.read_rc;
	if (rc) {
		snprintf(msg, sizeof(msg), "%s", st.read_err.msg);
	} else if (!st.hash_ok) {
		rc = MV_ERR_INTEGRITY;
		snprintf(msg, sizeof(msg), "pack content does not match its name");
	}
	size_t nbad = st.damaged;
	pthread_mutex_lock(&c->mu);
	c->done_packs++;
	c->done_bytes += pi->size;
	if (rc == MV_ERR_INTEGRITY && !st.read_rc && !nbad) {
		/* e.g. a damaged copy that backup --force stored again */
		char m2[800];
		snprintf(m2, sizeof(m2),
		         "%s, but the %zu blobs the index places in it are intact (no file "
		         "is affected; the damaged bytes stay until the pack is rewritten)",
		         msg, n);
		problem(c, pi->name, m2);
	} else if (rc || nbad) {
		char m2[700];
		snprintf(m2, sizeof(m2), "%s%s%zu of %zu blobs damaged", rc ? msg : "",
		         rc ? "; " : "", nbad, n);
		problem_rc(c, pi->name, m2, rc);
	}
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* Progress of the read, from the calling thread about every 200 ms until
 * the workers are idle, and once more then (so that even a read too quick
 * for the first interval shows its line, complete). */
struct read_prog {
	struct ck *c;
	struct mv_progress p;
};

static void report_read(void *arg)
{
	struct read_prog *rp = arg;
	pthread_mutex_lock(&rp->c->mu);
	rp->p.files_done = rp->c->done_packs;
	rp->p.bytes_done = rp->c->done_bytes;
	pthread_mutex_unlock(&rp->c->mu);
	if (rp->c->ev && rp->c->ev->progress)
		rp->c->ev->progress(rp->c->ev->arg, &rp->p);
}

static void read_progress(struct ck *c, uint64_t bytes_total)
{
	struct read_prog rp = {
	    c, {.files_total = c->ntodo, .bytes_total = bytes_total, .unit = "packs"}};
	mv_pool_wait_reporting(c->pool, 200000000L, report_read, &rp);
}

static int read_data(struct ck *c, struct mv_error *err)
{
	c->todo = malloc((c->npacks ? c->npacks : 1) * sizeof(*c->todo));
	if (!c->todo)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	for (size_t p = 0; p < c->npacks; p++) {
		if (!c->packs[p].listed)
			continue;
		if (c->o->subset_m && p % c->o->subset_m != (c->o->subset_n - 1) % c->o->subset_m)
			continue;
		c->todo[c->ntodo++] = (uint32_t)p;
	}
	if (c->o->subset_pct > 0 && c->o->subset_pct < 100) {
		/* a different random sample each run */
		for (size_t i = c->ntodo; i-- > 1;) {
			size_t j = randombytes_uniform((uint32_t)(i + 1));
			uint32_t t = c->todo[i];
			c->todo[i] = c->todo[j];
			c->todo[j] = t;
		}
		size_t keep = (size_t)((double)c->ntodo * c->o->subset_pct / 100.0 + 0.999999);
		if (keep < c->ntodo)
			c->ntodo = keep;
	}
	uint64_t bytes_total = 0;
	for (size_t i = 0; i < c->ntodo; i++)
		bytes_total += c->packs[c->todo[i]].size;
	struct read_task *tasks = malloc((c->ntodo ? c->ntodo : 1) * sizeof(*tasks));
	unsigned nt = mv_pool_default_threads(16);
	c->readers = calloc(nt, sizeof(*c->readers));
	if (!tasks || !c->readers) {
		free(tasks);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	/* every pack queued at once: the calling thread reports progress */
	int rc = mv_pool_start(nt, c->ntodo, NULL, &c->pool, err);
	for (size_t i = 0; i < c->ntodo && !rc; i++) {
		tasks[i] = (struct read_task){c, c->todo[i]};
		rc = mv_pool_submit(c->pool, read_pack, &tasks[i], err);
	}
	if (c->pool && !rc)
		read_progress(c, bytes_total);
	int frc = mv_pool_finish(c->pool, rc ? NULL : err);
	c->pool = NULL;
	for (unsigned i = 0; i < nt; i++) {
		mv_pack_reader_free(c->readers[i].pr);
		free(c->readers[i].w);
		free(c->readers[i].ids);
	}
	free(c->readers);
	c->readers = NULL;
	free(tasks);
	if (rc || frc)
		return rc ? rc : frc;
	c->res->packs_read = c->done_packs;
	return 0;
}

static int nomem(struct ck *c)
{
	return mv_error_set(c->err, MV_ERR_NOMEM, 0, "out of memory");
}

/* Each tree once (trees are counted here); a blob reported with its pack is
 * not read. */
static int structure_enter(struct ck *c, const struct mv_walk_item *it)
{
	char hex[65];
	struct mv_blob_loc seen = {.pack = MV_PACK_NONE};
	memcpy(seen.id, it->tree, 32);
	int rc = mv_index_add(c->seen, &seen);
	if (rc < 0)
		return nomem(c);
	if (rc == 1)
		return MV_WALK_SKIP;
	c->res->trees++;
	if (it->depth > 512) {
		mv_hex(it->tree, 32, hex);
		problem(c, hex, "tree nesting too deep");
		return MV_WALK_SKIP;
	}
	return mv_index_lookup(c->bad, it->tree) ? MV_WALK_SKIP : MV_WALK_CONTINUE;
}

/* Every blob a file refers to is an indexed data blob. */
static int structure_node(struct ck *c, const struct mv_node *n)
{
	for (uint32_t k = 0; k < n->nchunks; k++) {
		struct mv_blob_loc l;
		if (mv_repo_index_lookup(c->r, n->chunks[k], &l) && l.type == MV_T_DATA &&
		    l.pack != MV_PACK_NONE)
			continue;
		if (mv_index_lookup(c->bad, n->chunks[k]))
			continue;
		char chex[65];
		mv_hex(n->chunks[k], 32, chex);
		problem(c, chex, "data blob referenced by a tree is not in the index");
		if (mark_bad(c, n->chunks[k]))
			return nomem(c);
	}
	return MV_WALK_CONTINUE;
}

/* Structure: every tree readable, every referenced blob indexed. */
static int structure_event(void *arg, const struct mv_walk_item *it)
{
	struct ck *c = arg;
	char hex[65];
	switch (it->event) {
	case MV_WALK_ENTER:
		return structure_enter(c, it);
	case MV_WALK_NODE:
		return it->node->kind == MV_NODE_DIR ? MV_WALK_CONTINUE
		                                     : structure_node(c, it->node);
	case MV_WALK_ERROR:
		mv_hex(it->tree, 32, hex);
		problem_rc(c, hex, it->err->msg, it->rc);
		/* a damaged part: the other parts are checked */
		if (it->error == MV_WALK_E_TREE && mark_bad(c, it->tree))
			return nomem(c);
		return MV_WALK_CONTINUE;
	default:
		return MV_WALK_CONTINUE;
	}
}

/* Names the files and directories of one snapshot that damage affects. */
struct affect {
	struct ck *c;
	const struct mv_snapshot *s;
	uint64_t files;   /* damaged files reached */
	uint64_t reached; /* regular files reached */
	uint64_t lost;    /* directories or parts that cannot be read */
};

static void report_affected(struct affect *a, const char *path, const char *what, int file)
{
	char where[128], sid[65];
	mv_hex(a->s->id, 32, sid);
	snprintf(where, sizeof(where), "snapshot %.8s", sid);
	char msg[65536 + 64];
	snprintf(msg, sizeof(msg), "%s: %s", what, path[0] ? path : "/");
	if (a->c->ev && a->c->ev->warn)
		a->c->ev->warn(a->c->ev->arg, where, msg);
	if (file)
		a->files++;
	else
		a->lost++;
}

static int affected_event(void *arg, const struct mv_walk_item *it)
{
	struct affect *a = arg;
	const struct mv_node *n = it->node;
	switch (it->event) {
	case MV_WALK_ENTER:
		if (it->depth > 512)
			return MV_WALK_SKIP;
		if (!mv_index_lookup(a->c->bad, it->tree))
			return MV_WALK_CONTINUE;
		report_affected(a, it->path, "directory contents lost", 0);
		return MV_WALK_SKIP;
	case MV_WALK_ERROR:
		if (it->error == MV_WALK_E_TREE)
			report_affected(a, it->path, "directory contents lost", 0);
		else if (it->error == MV_WALK_E_PART)
			report_affected(a, it->path, "part of the directory's contents lost", 0);
		return MV_WALK_CONTINUE; /* E_PATH: the node is left out */
	case MV_WALK_NODE:
		if (n->kind == MV_NODE_DIR)
			return MV_WALK_CONTINUE;
		if (n->kind == MV_NODE_FILE)
			a->reached++;
		for (uint32_t k = 0; k < n->nchunks; k++) {
			if (mv_index_lookup(a->c->bad, n->chunks[k])) {
				report_affected(a, it->path, "damaged file", 1);
				break;
			}
		}
		return MV_WALK_CONTINUE;
	default:
		return MV_WALK_CONTINUE;
	}
}

/* Packs that no index names: readers found their blobs in their headers. */
static void report_unindexed(struct ck *c)
{
	char name[65], msg[256];
	for (size_t i = 0; i < mv_repo_orphans(c->r) && c->ev && c->ev->warn; i++) {
		uint32_t pn, blobs;
		mv_repo_orphan(c->r, i, &pn, &blobs);
		mv_repo_index_pack_name(c->r, pn, name);
		snprintf(msg, sizeof(msg),
		         "pack is in no index; its %u blob%s read from its header (run "
		         "backup or 'medvault repair index' to write an index for it)",
		         blobs, blobs == 1 ? " was" : "s were");
		c->ev->warn(c->ev->arg, name, msg);
	}
}

/* The files held by the directories that could not be read: the snapshot's
 * summary counts its regular files, the walk counted those it reached. When
 * the summary cannot tell (it counts fewer than were reached), each lost
 * directory counts as one file and the total is a lower bound. */
static uint64_t lost_files(struct affect *a, int *at_least)
{
	char sid[65], msg[160];
	uint64_t total = a->s->summary.total_files, n;
	if (!a->lost)
		return 0;
	if (total >= a->reached) {
		n = total - a->reached;
		snprintf(msg, sizeof(msg),
		         "%llu of its %llu files are in directories that cannot be read",
		         (unsigned long long)n, (unsigned long long)total);
	} else {
		n = a->lost;
		*at_least = 1;
		snprintf(msg, sizeof(msg),
		         "at least %llu files are in directories that cannot be read",
		         (unsigned long long)n);
	}
	mv_hex(a->s->id, 32, sid);
	char where[32];
	snprintf(where, sizeof(where), "snapshot %.8s", sid);
	if (a->c->ev && a->c->ev->warn)
		a->c->ev->warn(a->c->ev->arg, where, msg);
	return n;
}

int mv_check(struct mv_repo *r, const struct mv_check_opts *o, const struct mv_events *ev,
             struct mv_check_result *res, struct mv_error *err)
{
	struct ck c = {.r = r, .o = o, .ev = ev, .res = res};
	struct mv_snapshot *snaps = NULL;
	size_t nsnaps = 0, damaged = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	pthread_mutex_init(&c.mu, NULL);
	c.bad = mv_index_new();
	c.seen = mv_index_new();
	if (!c.bad || !c.seen) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	/* index files */
	struct mv_error e = {0};
	rc = mv_repo_load_index(r, 0, &damaged, &e);
	if (rc) {
		if (err)
			*err = e;
		goto out;
	}
	if (damaged) /* a read error of the listing or of index files is not damage */
		problem_rc(&c, "index", e.msg, e.code);
	report_unindexed(&c);
	c.npacks = mv_repo_index_npacks(r);
	res->packs = c.npacks;
	res->blobs = mv_repo_index_count(r);
	c.packs = calloc(c.npacks ? c.npacks : 1, sizeof(*c.packs));
	if (!c.packs || group_by_pack(&c)) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	rc = mv_repo_backend(r)->ops->list(mv_repo_backend(r), MV_FT_PACK, list_pack, &c, err);
	if (rc)
		goto out;
	rc = check_packs(&c, err);
	if (rc)
		goto out;
	if (o->read_data || o->subset_m || o->subset_pct > 0) {
		rc = read_data(&c, err);
		if (rc)
			goto out;
	}
	/* snapshots and trees */
	mv_error_clear(&e);
	rc = mv_repo_snapshots(r, &snaps, &nsnaps, &damaged, &e);
	if (rc) {
		if (err)
			*err = e;
		goto out;
	}
	if (damaged)
		problem_rc(&c, "snapshots", e.msg, e.code);
	res->snapshots = nsnaps;
	struct mv_walk_opts wo = {.enter = 1};
	c.err = err;
	for (size_t i = 0; i < nsnaps; i++) {
		rc = mv_walk_tree(r, snaps[i].tree, &wo, structure_event, &c, err);
		if (rc)
			goto out;
	}
	/* name what the damage affects */
	if (mv_index_count(c.bad)) {
		struct mv_walk_opts ao = {.enter = 1, .path_max = 65535};
		for (size_t i = 0; i < nsnaps; i++) {
			struct affect a = {.c = &c, .s = &snaps[i]};
			rc = mv_walk_tree(r, snaps[i].tree, &ao, affected_event, &a, err);
			if (rc)
				goto out;
			if (a.files || a.lost) {
				res->damaged_snapshots++;
				res->damaged_files +=
				    a.files + lost_files(&a, &res->damaged_files_at_least);
			}
		}
	}
	rc = res->errors ? mv_error_set(err, MV_ERR_INTEGRITY, 0, "%llu errors found",
	                                (unsigned long long)res->errors)
	                 : 0;
	if (res->errors && c.io_errors == res->errors) /* no damage found, nothing read */
		rc = mv_error_set(err, MV_ERR_IO, 0,
		                  "%llu repository file(s) could not be read (input/output errors, "
		                  "named above); no damage was found in what could be read",
		                  (unsigned long long)c.io_errors);
out:
	mv_snapshots_free(snaps, nsnaps);
	mv_index_free(c.bad);
	mv_index_free(c.seen);
	free(c.packs);
	free(c.todo);
	free(c.first);
	free(c.order);
	pthread_mutex_destroy(&c.mu);
	return rc;
}
