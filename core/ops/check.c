/* check: structure (index files, pack headers against the index, snapshots,
 * trees, every referenced blob indexed), and with read_data every pack's
 * hash and every blob's authentication and id. Damage is reported as the
 * snapshots and files it affects. */
#include "core/ops/check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/util/clock.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"

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
	pthread_mutex_t mu;
	size_t next;
	uint32_t *todo;
	size_t ntodo;
	int fatal;
	struct mv_error ferr;
	uint64_t io_errors; /* problems that were read errors, not damage */
	uint64_t done_packs;
	uint64_t done_bytes; /* of the packs read */
	int running;         /* read workers still running */
	pthread_cond_t cv;   /* a read worker ended */
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

/* read-data: whole pack read, hash checked, every blob decoded */
struct blob_list {
	struct mv_index_entry *e;
	size_t n, cap;
};

static int collect_entry(void *arg, const struct mv_index_entry *e)
{
	struct blob_list *b = arg;
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		struct mv_index_entry *ne = realloc(b->e, nc * sizeof(*ne));
		if (!ne)
			return MV_ERR_NOMEM;
		b->e = ne;
		b->cap = nc;
	}
	b->e[b->n++] = *e;
	return 0;
}

/* The largest pack a writer makes: the target plus one blob over it, the
 * header and its length. */
static size_t max_pack(const struct mv_repo *r)
{
	return (size_t)mv_repo_config(r)->pack_target + mv_sealed_size(MV_BLOB_MAX_RAW) +
	       MV_PACKHDR_MAX + 4;
}

static void *read_worker(void *arg)
{
	struct ck *c = arg;
	struct mv_blob_ctx *ctx = mv_blob_ctx_new(3);
	for (;;) {
		pthread_mutex_lock(&c->mu);
		if (c->next >= c->ntodo || c->fatal || !ctx) {
			if (!ctx && !c->fatal) {
				c->fatal = MV_ERR_NOMEM;
				mv_error_set(&c->ferr, MV_ERR_NOMEM, 0, "out of memory");
			}
			pthread_mutex_unlock(&c->mu);
			break;
		}
		uint32_t p = c->todo[c->next++];
		pthread_mutex_unlock(&c->mu);

		struct pack_info *pi = &c->packs[p];
		uint8_t *buf = NULL;
		size_t len;
		uint8_t h[32];
		struct mv_error e = {0};
		struct blob_list bl = {0};
		char msg[600];
		int rc = mv_backend_get_all(mv_repo_backend(c->r), MV_FT_PACK, pi->name,
		                            max_pack(c->r), &buf, &len, &e);
		if (rc == 0) {
			uint8_t want[32];
			mv_file_hash(buf, len, h);
			mv_repo_index_pack_id(c->r, p, want);
			if (memcmp(h, want, 32)) {
				rc = MV_ERR_INTEGRITY;
				snprintf(msg, sizeof(msg), "pack content does not match its name");
			}
		} else {
			snprintf(msg, sizeof(msg), "%s", e.msg);
		}
		/* decode the blobs the index places in this pack */
		for (size_t i = c->first[p]; i < c->first[p + 1]; i++) {
			struct mv_blob_loc l;
			mv_repo_index_at(c->r, c->order[i], &l);
			struct mv_index_entry ie = {.type = l.type,
			                            .offset = l.offset,
			                            .length = l.length,
			                            .raw_length = l.raw_length};
			memcpy(ie.id, l.id, 32);
			if (collect_entry(&bl, &ie)) {
				pthread_mutex_lock(&c->mu);
				c->fatal = MV_ERR_NOMEM;
				pthread_mutex_unlock(&c->mu);
				break;
			}
		}
		size_t nbad = 0;
		for (size_t i = 0; i < bl.n; i++) {
			const struct mv_index_entry *ie = &bl.e[i];
			const uint8_t *out;
			size_t olen;
			int brc = MV_ERR_INTEGRITY;
			if (buf && (uint64_t)ie->offset + ie->length <= len)
				brc = mv_blob_decode(ctx, mv_repo_keys(c->r), ie->type, ie->id,
				                     buf + ie->offset, ie->length, &out, &olen, &e);
			if (brc == 0 && olen != ie->raw_length)
				brc = MV_ERR_INTEGRITY;
			if (brc) {
				nbad++;
				pthread_mutex_lock(&c->mu);
				if (mark_bad(c, ie->id))
					c->fatal = MV_ERR_NOMEM;
				pthread_mutex_unlock(&c->mu);
			}
		}
		pthread_mutex_lock(&c->mu);
		c->done_packs++;
		c->done_bytes += pi->size;
		if (rc == MV_ERR_INTEGRITY && buf && !nbad) {
			/* e.g. a damaged copy that backup --force stored again */
			char m2[800];
			snprintf(m2, sizeof(m2),
			         "%s, but the %zu blobs the index places in it are intact (no file "
			         "is affected; the damaged bytes stay until the pack is rewritten)",
			         msg, bl.n);
			problem(c, pi->name, m2);
		} else if (rc || nbad) {
			char m2[700];
			snprintf(m2, sizeof(m2), "%s%s%zu of %zu blobs damaged", rc ? msg : "",
			         rc ? "; " : "", nbad, bl.n);
			problem_rc(c, pi->name, m2, rc);
		}
		pthread_mutex_unlock(&c->mu);
		free(bl.e);
		free(buf);
	}
	mv_blob_ctx_free(ctx);
	pthread_mutex_lock(&c->mu);
	c->running--;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Progress of the read workers, from the calling thread about every 200 ms
 * until they have all ended, and once more then (so that even a read too
 * quick for the first interval shows its line, complete). */
static void read_progress(struct ck *c, uint64_t bytes_total)
{
	struct mv_progress p = {
	    .files_total = c->ntodo, .bytes_total = bytes_total, .unit = "packs"};
	pthread_mutex_lock(&c->mu);
	for (;;) {
		int last = c->running == 0;
		p.files_done = c->done_packs;
		p.bytes_done = c->done_bytes;
		pthread_mutex_unlock(&c->mu);
		if (c->ev && c->ev->progress)
			c->ev->progress(c->ev->arg, &p);
		pthread_mutex_lock(&c->mu);
		if (last)
			break;
		struct timespec ts;
		mv_deadline_in(&ts, 200000000L); /* a progress report every 200 ms */
		if (c->running > 0)
			pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	pthread_mutex_unlock(&c->mu);
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
	int nt = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nt < 1)
		nt = 1;
	if (nt > 16)
		nt = 16;
	uint64_t bytes_total = 0;
	for (size_t i = 0; i < c->ntodo; i++)
		bytes_total += c->packs[c->todo[i]].size;
	pthread_t th[16];
	int started = 0;
	c->running = nt;
	for (; started < nt; started++)
		if (pthread_create(&th[started], NULL, read_worker, c) != 0)
			break;
	pthread_mutex_lock(&c->mu);
	c->running -= nt - started;
	pthread_mutex_unlock(&c->mu);
	if (!started) {
		c->running = 1;
		read_worker(c);
	} else {
		read_progress(c, bytes_total);
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	c->res->packs_read = c->done_packs;
	if (c->fatal) {
		if (err)
			*err = c->ferr;
		return c->fatal;
	}
	return 0;
}

/* Structure: every tree readable, every referenced blob indexed. */
static int check_tree(struct ck *c, const uint8_t id[32], int depth, struct mv_error *err)
{
	char hex[65];
	struct mv_blob_loc seen = {.pack = MV_PACK_NONE};
	memcpy(seen.id, id, 32);
	int rc = mv_index_add(c->seen, &seen);
	if (rc < 0)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc == 1)
		return 0;
	c->res->trees++;
	mv_hex(id, 32, hex);
	if (depth > 512) {
		problem(c, hex, "tree nesting too deep");
		return 0;
	}
	if (mv_index_lookup(c->bad, id))
		return 0; /* reported with its pack */
	struct mv_tree_cursor tc;
	const struct mv_node *n;
	struct mv_error e = {0};
	rc = mv_tree_cursor_open(c->r, NULL, id, &tc, &e);
	if (rc == MV_ERR_NOMEM)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc) {
		problem_rc(c, hex, e.msg, rc);
		return mark_bad(c, id) ? mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory") : 0;
	}
	while (!rc) {
		int got = mv_tree_cursor_next(&tc, &n, &e);
		if (got == 0)
			break;
		if (got == MV_ERR_NOMEM) {
			rc = mv_error_set(err, got, 0, "out of memory");
			break;
		}
		if (got < 0) { /* a damaged part: the other parts are checked */
			problem_rc(c, hex, e.msg, got);
			continue;
		}
		if (n->kind == MV_NODE_DIR) {
			rc = check_tree(c, n->subtree, depth + 1, err);
			continue;
		}
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
			if (mark_bad(c, n->chunks[k])) {
				rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
				break;
			}
		}
	}
	mv_tree_cursor_close(&tc);
	return rc;
}

/* Names the files and directories of one snapshot that damage affects. */
struct affect {
	struct ck *c;
	const struct mv_snapshot *s;
	char path[65536];
	uint64_t files;   /* damaged files reached */
	uint64_t reached; /* regular files reached */
	uint64_t lost;    /* directories or parts that cannot be read */
};

static void report_affected(struct affect *a, const char *what, int file)
{
	char where[128], sid[65];
	mv_hex(a->s->id, 32, sid);
	snprintf(where, sizeof(where), "snapshot %.8s", sid);
	char msg[65536 + 64];
	snprintf(msg, sizeof(msg), "%s: %s", what, a->path[0] ? a->path : "/");
	if (a->c->ev && a->c->ev->warn)
		a->c->ev->warn(a->c->ev->arg, where, msg);
	if (file)
		a->files++;
	else
		a->lost++;
}

static int affected(struct affect *a, const uint8_t id[32], size_t plen, int depth)
{
	struct mv_tree_cursor tc;
	const struct mv_node *n;
	struct mv_error e = {0};
	int got;
	if (depth > 512)
		return 0;
	if (mv_index_lookup(a->c->bad, id) || mv_tree_cursor_open(a->c->r, NULL, id, &tc, &e)) {
		report_affected(a, "directory contents lost", 0);
		return 0;
	}
	while ((got = mv_tree_cursor_next(&tc, &n, &e)) != 0) {
		if (got < 0) {
			report_affected(a, "part of the directory's contents lost", 0);
			continue;
		}
		if (plen + 2 + n->name_len >= sizeof(a->path))
			continue;
		a->path[plen] = '/';
		memcpy(a->path + plen + 1, n->name, n->name_len);
		a->path[plen + 1 + n->name_len] = '\0';
		if (n->kind == MV_NODE_DIR) {
			affected(a, n->subtree, plen + 1 + n->name_len, depth + 1);
		} else {
			if (n->kind == MV_NODE_FILE)
				a->reached++;
			for (uint32_t k = 0; k < n->nchunks; k++) {
				if (mv_index_lookup(a->c->bad, n->chunks[k])) {
					report_affected(a, "damaged file", 1);
					break;
				}
			}
		}
		a->path[plen] = '\0';
	}
	mv_tree_cursor_close(&tc);
	return 0;
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
		         "backup or a future 'repair index' to write an index for it)",
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
	pthread_cond_init(&c.cv, NULL);
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
	if (damaged)
		problem(&c, "index", e.msg);
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
		problem(&c, "snapshots", e.msg);
	res->snapshots = nsnaps;
	for (size_t i = 0; i < nsnaps; i++) {
		rc = check_tree(&c, snaps[i].tree, 0, err);
		if (rc)
			goto out;
	}
	/* name what the damage affects */
	if (mv_index_count(c.bad)) {
		struct affect *a = malloc(sizeof(*a));
		if (!a) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nsnaps; i++) {
			a->c = &c;
			a->s = &snaps[i];
			a->path[0] = '\0';
			a->files = a->reached = a->lost = 0;
			affected(a, snaps[i].tree, 0, 0);
			if (a->files || a->lost) {
				res->damaged_snapshots++;
				res->damaged_files +=
				    a->files + lost_files(a, &res->damaged_files_at_least);
			}
		}
		free(a);
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
	pthread_cond_destroy(&c.cv);
	pthread_mutex_destroy(&c.mu);
	return rc;
}
