/* repair index and repair packs (core/ops/repair.h). */
#include "core/ops/repair.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops/repair_util.h"
#include "core/repo/index.h"
#include "core/repo/lock.h"
#include "core/repo/memindex.h"
#include "core/repo/packer.h"
#include "core/repo/packread.h"
#include "core/repo/query.h"
#include "core/repo/reindex.h"
#include "core/util/grow.h"

void mv_repair_point(const struct mv_repair_opts *o, const char *name)
{
	if (o->point)
		o->point(o->point_arg, name);
}

void mv_repair_say(const struct mv_events *ev, int warn, const char *path, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	void (*fn)(void *, const char *, const char *) = !ev ? NULL : warn ? ev->warn : ev->note;
	if (fn)
		fn(ev->arg, path, msg);
}

/* Damage (a file that is not what it should be, or is gone) as opposed to a
 * failure to read, which stops a repair before it changes anything. */
int mv_repair_is_damage(int rc)
{
	return rc == MV_ERR_INTEGRITY || rc == MV_ERR_NOTFOUND;
}

int mv_repair_load_index(struct mv_repo *r, const struct mv_events *ev, size_t *bad,
                         struct mv_error *err)
{
	size_t damaged = 0;
	struct mv_error e = {0};
	int rc = mv_repo_load_index(r, 1, &damaged, &e);
	if (bad)
		*bad = damaged;
	if (rc) {
		if (err)
			*err = e;
		return rc;
	}
	if (damaged)
		mv_repair_say(ev, 1, "index", "%zu index file(s) cannot be read (%s)", damaged,
		              e.msg);
	return 0;
}

/* The packs the repository holds (names of 64 hex digits), with sizes. */
static int list_packs(struct mv_repo *r, struct mv_backend_entry **out, size_t *n,
                      struct mv_error *err)
{
	size_t k = 0;
	int rc = mv_backend_list_all(mv_repo_backend(r), MV_FT_PACK, out, n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < *n; i++) {
		uint8_t id[32];
		if (strlen((*out)[i].name) == 64 && !mv_unhex((*out)[i].name, id, 32))
			(*out)[k++] = (*out)[i];
	}
	*n = k;
	return 0;
}

/* ---- repair index ---------------------------------------------------------- */

struct ipack {
	uint8_t id[32];
	struct mv_index_entry *e;
	size_t n, cap;
};

static int collect_entry(void *arg, const struct mv_index_entry *e)
{
	struct ipack *p = arg;
	if (mv_grow(p->e, p->cap, p->n + 1))
		return MV_ERR_NOMEM;
	p->e[p->n++] = *e;
	return 0;
}

/* The entries the loaded index gives pack number pn (old index files). */
static int entries_from_index(struct mv_repo *r, uint32_t pn, struct ipack *p, struct mv_error *err)
{
	struct mv_blob_loc *locs = NULL;
	size_t n = 0;
	p->n = 0;
	if (pn == MV_PACK_NONE)
		return 0;
	int rc = mv_query_pack_blobs(r, pn, &locs, &n, err);
	for (size_t i = 0; i < n && !rc; i++) {
		struct mv_index_entry e = {.type = locs[i].type,
		                           .offset = locs[i].offset,
		                           .length = locs[i].length,
		                           .raw_length = locs[i].raw_length};
		memcpy(e.id, locs[i].id, 32);
		if (collect_entry(p, &e))
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	free(locs);
	return rc == MV_ERR_NOTFOUND ? 0 : rc;
}

/* Reads one pack's header into p; a damaged header keeps the old index's
 * entries for the pack. */
static int index_pack(struct mv_repo *r, const struct mv_backend_entry *be, struct ipack *p,
                      const struct mv_events *ev, struct mv_repair_result *res,
                      struct mv_error *err)
{
	struct mv_error e = {0};
	mv_unhex(be->name, p->id, 32);
	int rc = mv_repo_read_pack_header(r, be->name, be->size, collect_entry, p, &e);
	if (rc == MV_ERR_NOMEM)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc && !mv_repair_is_damage(rc)) {
		if (err)
			*err = e;
		return mv_error_prefix(err, rc, "nothing was changed");
	}
	if (!rc)
		return 0;
	res->damaged_headers++;
	if ((rc = entries_from_index(r, mv_repo_index_find_pack(r, p->id), p, err)))
		return rc;
	if (p->n)
		mv_repair_say(ev, 1, be->name,
		              "%s; the new index keeps the %zu blobs the old index placed in it "
		              "(run 'medvault repair packs %s')",
		              e.msg, p->n, be->name);
	else
		mv_repair_say(ev, 1, be->name,
		              "%s, and no index names its blobs: they cannot be read (the pack "
		              "is left in place)",
		              e.msg);
	return 0;
}

/* Names the packs an index places blobs in that the repository lacks:
 * the new index drops their entries. */
static int report_missing(struct mv_repo *r, const struct mv_events *ev,
                          struct mv_repair_result *res, struct mv_error *err)
{
	for (uint32_t pn = 0; pn < mv_repo_index_npacks(r); pn++) {
		struct mv_blob_loc *locs = NULL;
		size_t n = 0;
		char name[65];
		if (!mv_repo_index_pack_missing(r, pn))
			continue;
		int rc = mv_query_pack_blobs(r, pn, &locs, &n, err);
		free(locs);
		if (rc && rc != MV_ERR_NOTFOUND)
			return rc;
		if (!n)
			continue;
		mv_repo_index_pack_name(r, pn, name);
		res->missing_packs++;
		res->entries_dropped += n;
		mv_repair_say(
		    ev, 1, name,
		    "pack is missing: the %zu index entries that place blobs in it are "
		    "dropped (run 'medvault repair snapshots' for the files that used them)",
		    n);
	}
	return 0;
}

int mv_repair_index(struct mv_repo *r, const struct mv_repair_opts *o, const struct mv_events *ev,
                    struct mv_repair_result *res, struct mv_error *err)
{
	struct mv_backend *be = mv_repo_backend(r);
	struct mv_backend_entry *packs = NULL;
	char(*old)[65] = NULL;
	size_t np = 0, nold = 0, nip = 0, written = 0;
	struct ipack *ip = NULL;
	struct mv_index_pack *list = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = mv_repair_load_index(r, ev, NULL, err)))
		return rc;
	/* the old index files: listed before any new one is written */
	if ((rc = mv_repo_list_names(r, MV_FT_INDEX, &old, &nold, err)))
		goto out;
	if ((rc = list_packs(r, &packs, &np, err)))
		goto out;
	ip = calloc(np ? np : 1, sizeof(*ip));
	list = calloc(np ? np : 1, sizeof(*list));
	if (!ip || !list) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	res->packs = np;
	for (size_t i = 0; i < np; i++) {
		if (ev && ev->cancel && *ev->cancel) {
			rc = mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
			goto out;
		}
		struct ipack *p = &ip[nip];
		if ((rc = index_pack(r, &packs[i], p, ev, res, err)))
			goto out;
		res->blobs += p->n;
		if (p->n)
			nip++;
	}
	if ((rc = report_missing(r, ev, res, err)))
		goto out;
	if (o->dry_run)
		goto out;
	for (size_t i = 0; i < nip; i++) {
		memcpy(list[i].id, ip[i].id, 32);
		list[i].entries = ip[i].e;
		list[i].count = ip[i].n;
	}
	if ((rc = mv_lock_check(mv_repo_lock(r), err)))
		goto out;
	rc = mv_repo_write_index_files(r, mv_repo_blob_ctx(r), list, nip, &written, err);
	res->index_written = written;
	if (rc)
		goto out;
	mv_repair_point(o, "index-written");
	/* every blob is named by the new files: the old ones go */
	for (size_t i = 0; i < nold; i++) {
		if ((rc = be->ops->remove(be, MV_FT_INDEX, old[i], err)))
			goto out;
		res->index_removed++;
		mv_repair_point(o, "index-removing");
	}
out:
	if (!rc && res->damaged_headers)
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                  "%llu pack(s) have a header that cannot be read (named above)",
		                  (unsigned long long)res->damaged_headers);
	for (size_t i = 0; ip && i < np; i++)
		free(ip[i].e);
	free(ip);
	free(list);
	free(packs);
	free(old);
	return rc;
}

/* ---- repair packs ---------------------------------------------------------- */

/* One pack's blobs as read: the intact ones' plaintext, kept until the
 * pack is known to be damaged. */
struct salvage {
	struct mv_blob_loc *locs; /* the blobs the index places in the pack */
	size_t n;
	uint8_t **plain; /* by blob: NULL when lost */
	size_t *len;
	size_t lost;
	const struct mv_events *ev;
	const char *pack;
};

static void salvage_release(struct salvage *s)
{
	for (size_t i = 0; s->plain && i < s->n; i++)
		free(s->plain[i]);
	free(s->plain);
	free(s->len);
	free(s->locs);
	memset(s, 0, sizeof(*s));
}

static int salvage_blob(void *arg, size_t i, int rc, const uint8_t *plain, size_t len,
                        const struct mv_error *e)
{
	struct salvage *s = arg;
	if (rc == MV_ERR_IO)
		return 0; /* the read's status says so: nothing is changed */
	if (rc) {
		char hex[65];
		mv_hex(s->locs[i].id, 32, hex);
		s->lost++;
		mv_repair_say(s->ev, 1, s->pack, "blob %s cannot be read (%s): lost", hex,
		              e ? e->msg : "damaged");
		return 0;
	}
	s->plain[i] = malloc(len ? len : 1);
	if (!s->plain[i])
		return MV_ERR_NOMEM;
	memcpy(s->plain[i], plain, len);
	s->len[i] = len;
	return 0;
}

/* Reads pack `be` whole: *damaged says whether anything in it is damaged. */
static int read_pack(struct mv_repo *r, struct mv_pack_reader *pr, uint32_t pn,
                     const struct mv_backend_entry *be, struct salvage *s, int *damaged,
                     struct mv_error *err)
{
	struct mv_pack_want *w = NULL;
	struct mv_pack_status st;
	uint8_t id[32];
	int rc = mv_query_pack_blobs(r, pn, &s->locs, &s->n, err);
	if (rc)
		return rc;
	s->plain = calloc(s->n ? s->n : 1, sizeof(*s->plain));
	s->len = calloc(s->n ? s->n : 1, sizeof(*s->len));
	w = calloc(s->n ? s->n : 1, sizeof(*w));
	if (!s->plain || !s->len || !w) {
		free(w);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	for (size_t i = 0; i < s->n; i++)
		w[i] = (struct mv_pack_want){.id = s->locs[i].id,
		                             .type = s->locs[i].type,
		                             .offset = s->locs[i].offset,
		                             .length = s->locs[i].length,
		                             .raw_length = s->locs[i].raw_length};
	mv_unhex(be->name, id, 32);
	rc = mv_pack_read(pr, r, id, be->size, w, s->n, MV_PACKREAD_WHOLE | MV_PACKREAD_RAWLEN,
	                  salvage_blob, s, &st, err);
	free(w);
	if (rc == MV_ERR_NOMEM)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc)
		return rc;
	if (st.read_rc && !mv_repair_is_damage(st.read_rc)) {
		if (err)
			*err = st.read_err;
		return mv_error_prefix(err, st.read_rc, "nothing was changed");
	}
	*damaged = st.read_rc || !st.hash_ok || st.damaged;
	return 0;
}

/* Stores the intact blobs of a damaged pack in new packs, unless another
 * pack has a copy. */
static int salvage_store(struct mv_repo *r, struct mv_packer *pk, uint32_t pn,
                         const struct salvage *s, struct mv_repair_result *res,
                         struct mv_error *err)
{
	for (size_t i = 0; i < s->n; i++) {
		struct mv_blob_loc l;
		const uint8_t *sealed;
		size_t slen;
		if (!s->plain[i])
			continue;
		if (!mv_repo_index_lookup(r, s->locs[i].id, &l))
			continue;
		if (l.pack != pn && l.pack != MV_PACK_NONE &&
		    !mv_repo_index_pack_missing(r, l.pack))
			continue; /* a copy elsewhere serves */
		l.pack = MV_PACK_NONE;
		int rc = mv_repo_index_update(r, &l);
		if (!rc)
			rc = mv_blob_encode(mv_repo_blob_ctx(r), mv_repo_keys(r), l.type, l.id,
			                    s->plain[i], s->len[i], &sealed, &slen, err);
		if (!rc)
			rc = mv_packer_add(pk, l.type, l.id, sealed, slen, s->len[i], err);
		if (rc)
			return mv_error_prefix(err, rc, "cannot store a salvaged blob");
		res->blobs_salvaged++;
	}
	return 0;
}

/* A damaged pack, once its blobs are salvaged: the ids its index entries
 * and header give, all to be dropped from the index files. */
struct doomed {
	struct mv_backend_entry be;
	uint32_t pack;
	struct mv_index *drop;
};

static int doom_entry(void *arg, const struct mv_index_entry *e)
{
	struct doomed *d = arg;
	struct mv_blob_loc l = {.pack = d->pack, .type = e->type};
	memcpy(l.id, e->id, 32);
	return mv_index_add(d->drop, &l) < 0 ? MV_ERR_NOMEM : 0;
}

static int doom(struct mv_repo *r, struct doomed *d, const struct salvage *s)
{
	struct mv_error e = {0};
	if (!(d->drop = mv_index_new()))
		return MV_ERR_NOMEM;
	for (size_t i = 0; i < s->n; i++) {
		struct mv_index_entry x = {.type = s->locs[i].type};
		memcpy(x.id, s->locs[i].id, 32);
		if (doom_entry(d, &x))
			return MV_ERR_NOMEM;
	}
	/* blobs with a copy elsewhere: only the header names them here */
	int rc = mv_repo_read_pack_header(r, d->be.name, d->be.size, doom_entry, d, &e);
	return rc == MV_ERR_NOMEM ? rc : 0;
}

/* Drops the doomed packs' entries from the index files, then deletes them. */
static int remove_packs(struct mv_repo *r, const struct mv_repair_opts *o, struct doomed *d,
                        size_t n, struct mv_repair_result *res, struct mv_error *err)
{
	struct mv_backend *be = mv_repo_backend(r);
	for (size_t i = 0; i < n; i++) {
		size_t dropped;
		int rc = mv_repo_drop_index_entries(r, d[i].drop, &dropped, err);
		if (!rc)
			mv_repair_point(o, "index-rewritten");
		if (!rc)
			rc = mv_lock_check(mv_repo_lock(r), err);
		if (!rc)
			rc = be->ops->remove(be, MV_FT_PACK, d[i].be.name, err);
		if (rc)
			return rc;
		res->packs_removed++;
	}
	return 0;
}

/* The pack named id in the listing, or NULL. */
static const struct mv_backend_entry *find_listed(const struct mv_backend_entry *p, size_t n,
                                                  const uint8_t id[32])
{
	char name[65];
	mv_hex(id, 32, name);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].name, name))
			return &p[i];
	return NULL;
}

/* One pack: read, and when damaged salvaged into pk and doomed. */
static int repair_pack(struct mv_repo *r, const struct mv_repair_opts *o,
                       const struct mv_events *ev, struct mv_pack_reader *pr, struct mv_packer *pk,
                       const struct mv_backend_entry *be, int named, struct doomed *d, size_t *nd,
                       struct mv_repair_result *res, struct mv_error *err)
{
	struct salvage s = {.ev = ev, .pack = be->name};
	uint8_t id[32];
	int damaged = 0, rc;
	mv_unhex(be->name, id, 32);
	uint32_t pn = mv_repo_index_find_pack(r, id);
	if (pn == MV_PACK_NONE) {
		/* listed, yet neither an index nor its header names a blob */
		res->packs_damaged++;
		res->packs_left++;
		mv_repair_say(ev, 1, be->name,
		              "neither an index nor the pack's header names its blobs: nothing "
		              "can be salvaged (the pack is left in place)");
		return 0;
	}
	/* read quietly, and a damaged pack once more, naming what is lost:
	 * a disk that reads differently each time is not damage to act on */
	s.ev = NULL;
	if ((rc = read_pack(r, pr, pn, be, &s, &damaged, err)))
		goto out;
	if (!damaged) {
		if (named)
			mv_repair_say(ev, 0, be->name, "pack is intact: nothing to repair");
		goto out;
	}
	size_t lost1 = s.lost;
	salvage_release(&s);
	s = (struct salvage){.ev = ev, .pack = be->name};
	if ((rc = read_pack(r, pr, pn, be, &s, &damaged, err)))
		goto out;
	if (!damaged || s.lost != lost1) {
		rc = mv_error_set(err, MV_ERR_IO, 0,
		                  "pack %s reads differently each time (an unreliable disk or "
		                  "connection?): nothing was changed",
		                  be->name);
		goto out;
	}
	res->packs_damaged++;
	res->blobs_lost += s.lost;
	size_t intact = 0;
	for (size_t i = 0; i < s.n; i++)
		intact += s.plain[i] != NULL;
	mv_repair_say(ev, 0, be->name, "%s %zu of its %zu blobs%s",
	              o->dry_run ? "would salvage" : "salvaging", intact, s.n,
	              s.lost ? "; the others are lost" : "");
	if (o->dry_run)
		goto out;
	if ((rc = salvage_store(r, pk, pn, &s, res, err)))
		goto out;
	d[*nd] = (struct doomed){.be = *be, .pack = pn};
	if ((rc = doom(r, &d[*nd], &s))) {
		mv_index_free(d[*nd].drop);
		rc = mv_error_set(err, rc, 0, "out of memory");
		goto out;
	}
	(*nd)++;
out:
	salvage_release(&s);
	return rc;
}

int mv_repair_packs(struct mv_repo *r, const struct mv_repair_opts *o, const struct mv_events *ev,
                    struct mv_repair_result *res, struct mv_error *err)
{
	struct mv_backend_entry *packs = NULL;
	struct mv_pack_reader *pr = NULL;
	struct mv_packer *pk = NULL;
	struct doomed *d = NULL;
	size_t np = 0, nd = 0;
	int rc, shared = 0;

	memset(res, 0, sizeof(*res));
	if ((rc = mv_repair_load_index(r, ev, NULL, err)))
		return rc;
	if ((rc = list_packs(r, &packs, &np, err)))
		goto out;
	res->packs = np;
	for (size_t i = 0; i < o->npacks; i++) {
		if (!find_listed(packs, np, o->packs[i])) {
			char name[65];
			mv_hex(o->packs[i], 32, name);
			rc = mv_error_set(err, MV_ERR_NOTFOUND, 0,
			                  "pack %s is not in the repository (a missing pack "
			                  "cannot be salvaged: run 'medvault repair snapshots')",
			                  name);
			goto out;
		}
	}
	pr = mv_pack_reader_new(1);
	d = calloc(np ? np : 1, sizeof(*d));
	pk = mv_packer_new(r);
	if (!pr || !d || !pk) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	/* the packer's writers update the index while this thread reads it */
	if ((rc = mv_repo_index_share(r, err)))
		goto out;
	shared = 1;
	size_t todo = o->npacks ? o->npacks : np;
	for (size_t i = 0; i < todo; i++) {
		if (ev && ev->cancel && *ev->cancel) {
			rc = mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
			goto out;
		}
		const struct mv_backend_entry *be =
		    o->npacks ? find_listed(packs, np, o->packs[i]) : &packs[i];
		int again = 0; /* a pack named twice is repaired once */
		for (size_t j = 0; o->npacks && j < i; j++)
			again |= !memcmp(o->packs[j], o->packs[i], 32);
		if (again)
			continue;
		if ((rc = repair_pack(r, o, ev, pr, pk, be, o->npacks != 0, d, &nd, res, err)))
			goto out;
	}
	if (o->dry_run || !nd)
		goto out;
	/* new packs and their index first, synced ... */
	if ((rc = mv_packer_flush(pk, err)) || (rc = mv_lock_check(mv_repo_lock(r), err)) ||
	    (rc = mv_packer_write_index(pk, err)))
		goto out;
	mv_repair_point(o, "packs-written");
	mv_repo_index_unshare(r);
	shared = 0;
	/* ... then the damaged packs go */
	rc = remove_packs(r, o, d, nd, res, err);
out:
	if (!rc && res->packs_left)
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                  "%llu damaged pack(s) left in place: nothing names their blobs",
		                  (unsigned long long)res->packs_left);
	if (shared)
		mv_repo_index_unshare(r);
	mv_packer_free(pk);
	mv_pack_reader_free(pr);
	for (size_t i = 0; i < nd; i++)
		mv_index_free(d[i].drop);
	free(d);
	free(packs);
	return rc;
}
