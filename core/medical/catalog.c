/* The DICOM catalog: writer and cursor over catalog blobs (core/medical/catalog.h;
 * the payload encoding is formats/catalog.c, archives core/medical/catalog_archive.c). */
#include "core/medical/catalog.h"
#include "core/util/grow.h"

#include <stdlib.h>
#include <string.h>

#include "formats/catalog.h"

#define PATH_BUF 65536u /* str16 strings and their NUL */

int mv_catalog_path_cmp(const char *a, const char *b)
{
	return mv_catalog_path_cmpn((const uint8_t *)a, strlen(a), (const uint8_t *)b, strlen(b));
}

/* ---- writer ------------------------------------------------------------ */

struct mv_catalog_writer {
	mv_catalog_store_fn store;
	void *arg;
	struct mv_wbuf buf; /* the payload being filled */
	uint32_t count;     /* its entries */
	uint8_t (*ids)[32]; /* blobs stored so far */
	uint32_t nids;
	size_t capids;
	uint8_t *last; /* path of the last entry, for the order check */
	size_t last_len;
	int have_last;
	int state; /* 0, 1 finished, or a sticky negative error */
};

struct mv_catalog_writer *mv_catalog_writer_new(mv_catalog_store_fn store, void *arg)
{
	struct mv_catalog_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->last = malloc(PATH_BUF);
	if (!w->last) {
		free(w);
		return NULL;
	}
	w->store = store;
	w->arg = arg;
	mv_wbuf_init(&w->buf, MV_CATALOG_BLOB_TARGET + MV_CATALOG_ENTRY_MAX + 64);
	mv_catalog_encode_begin(&w->buf);
	if (w->buf.failed) {
		mv_catalog_writer_free(w);
		return NULL;
	}
	return w;
}

void mv_catalog_writer_free(struct mv_catalog_writer *w)
{
	if (!w)
		return;
	mv_wbuf_release(&w->buf);
	free(w->ids);
	free(w->last);
	free(w);
}

/* Stores the current payload and starts the next one. */
static int flush(struct mv_catalog_writer *w, struct mv_error *err)
{
	uint8_t id[32];
	int rc;

	if (w->count == 0)
		return 0;
	if (w->nids >= MV_SNAP_MAX_LIST)
		return mv_error_set(err, MV_ERR_LIMIT, 0, "the catalog needs more than %u blobs",
		                    MV_SNAP_MAX_LIST);
	if (mv_grow(w->ids, w->capids, (size_t)w->nids + 1))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	mv_catalog_encode_end(&w->buf, w->count);
	if (w->buf.failed)
		return mv_error_set(err, w->buf.failed, 0, "catalog: %s",
		                    mv_strerror(w->buf.failed));
	rc = w->store(w->arg, w->buf.data, w->buf.len, id, err);
	if (rc)
		return rc;
	memcpy(w->ids[w->nids++], id, 32);
	w->buf.len = 0;
	w->count = 0;
	mv_catalog_encode_begin(&w->buf);
	return 0;
}

/* Appends a record; raw (may be NULL) is its encoding, copied as is. */
static int writer_put(struct mv_catalog_writer *w, const struct mv_catalog_rec *rec,
                      const uint8_t *raw, size_t raw_len, struct mv_error *err)
{
	int rc;

	if (w->state)
		return w->state < 0
		           ? w->state
		           : mv_error_set(err, MV_ERR_USAGE, 0, "catalog already finished");
	if (w->have_last &&
	    mv_catalog_path_cmpn(w->last, w->last_len, rec->path, rec->path_len) > 0)
		return mv_error_set(
		    err, MV_ERR_USAGE, 0, "catalog entry '%.*s' is out of walk order",
		    (int)(rec->path_len > 512 ? 512 : rec->path_len), (const char *)rec->path);
	size_t len = raw ? raw_len : mv_catalog_rec_len(rec);
	if (w->count &&
	    (w->buf.len + len > MV_CATALOG_BLOB_TARGET || w->count >= MV_CATALOG_MAX_ENTRIES)) {
		/* the order check spans blobs: keep w->last */
		if ((rc = flush(w, err))) {
			w->state = rc;
			return rc;
		}
	}
	if (raw)
		mv_wbuf_put(&w->buf, raw, raw_len);
	else
		mv_catalog_encode_rec(&w->buf, rec);
	if (w->buf.failed) {
		w->state = w->buf.failed;
		return mv_error_set(err, w->state, 0, "catalog entry '%.*s': %s",
		                    (int)(rec->path_len > 512 ? 512 : rec->path_len),
		                    (const char *)rec->path, mv_strerror(w->state));
	}
	w->count++;
	memcpy(w->last, rec->path, rec->path_len);
	w->last_len = rec->path_len;
	w->have_last = 1;
	return 0;
}

int mv_catalog_writer_add(struct mv_catalog_writer *w, const struct mv_catalog_entry *e,
                          struct mv_error *err)
{
	static const struct mv_dicom_info empty;
	struct mv_catalog_rec rec;

	memset(&rec, 0, sizeof(rec));
	if (!e->path || !e->path[0])
		return mv_error_set(err, MV_ERR_USAGE, 0, "catalog entry without a path");
	rec.path = (const uint8_t *)e->path;
	rec.path_len = strlen(e->path);
	rec.member = (const uint8_t *)e->member;
	rec.member_len = e->member ? strlen(e->member) : 0;
	if (rec.path_len > 65535 || rec.member_len > 65535)
		return mv_error_set(err, MV_ERR_LIMIT, 0, "path too long for the catalog: '%.256s'",
		                    e->path);
	rec.size = e->size;
	mv_catalog_rec_from_info(&rec, e->info ? e->info : &empty);
	return writer_put(w, &rec, NULL, 0, err);
}

int mv_catalog_writer_finish(struct mv_catalog_writer *w, uint8_t (**ids)[32], uint32_t *n,
                             struct mv_error *err)
{
	int rc;

	*ids = NULL;
	*n = 0;
	if (w->state)
		return w->state < 0
		           ? w->state
		           : mv_error_set(err, MV_ERR_USAGE, 0, "catalog already finished");
	if ((rc = flush(w, err))) {
		w->state = rc;
		return rc;
	}
	w->state = 1;
	if (w->nids) {
		*ids = w->ids;
		*n = w->nids;
		w->ids = NULL;
		w->nids = w->capids = 0;
	}
	return 0;
}

/* ---- cursor ------------------------------------------------------------ */

struct mv_catalog_cursor {
	struct mv_repo *r;
	struct mv_blob_ctx *ctx;
	struct mv_blob_ctx *own; /* ctx when the caller gave none */
	uint8_t (*ids)[32];
	uint32_t nids, next; /* next blob to load */
	uint8_t *payload;    /* copy of the current blob's payload */
	size_t cap;
	struct mv_catalog_iter it;
	int loaded;  /* it iterates payload */
	int pending; /* rec was decoded but not consumed */
	struct mv_catalog_rec rec;
	uint8_t *prev; /* last path of the previous blob: order across blobs */
	size_t prev_len;
	int have_prev;
	char *path, *member; /* the current entry's strings, NUL-terminated */
	struct mv_dicom_info info;
};

int mv_catalog_cursor_open(struct mv_repo *r, struct mv_blob_ctx *ctx, const struct mv_snapshot *s,
                           struct mv_catalog_cursor **out, struct mv_error *err)
{
	struct mv_catalog_cursor *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	c->r = r;
	if (!ctx) {
		/* a context of its own, without recomputing blob ids: the AEAD
		 * binds each blob's id already, and hashing every catalog byte
		 * again would cost more than the rest of a search */
		c->own = ctx = mv_blob_ctx_new(3);
		if (!ctx) {
			free(c);
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		}
		mv_blob_ctx_verify_ids(ctx, 0);
	}
	c->ctx = ctx;
	c->prev = malloc(PATH_BUF);
	c->path = malloc(PATH_BUF);
	c->member = malloc(PATH_BUF);
	if (s->ncatalog)
		c->ids = malloc((size_t)s->ncatalog * 32);
	if (!c->prev || !c->path || !c->member || (s->ncatalog && !c->ids)) {
		mv_catalog_cursor_free(c);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	if (s->ncatalog)
		memcpy(c->ids, s->catalog, (size_t)s->ncatalog * 32);
	c->nids = s->ncatalog;
	*out = c;
	return 0;
}

void mv_catalog_cursor_free(struct mv_catalog_cursor *c)
{
	if (!c)
		return;
	mv_blob_ctx_free(c->own);
	free(c->ids);
	free(c->payload);
	free(c->prev);
	free(c->path);
	free(c->member);
	free(c);
}

/* Starts iterating a blob's payload p (which stays valid until the next
 * blob is loaded). */
static int start_blob(struct mv_catalog_cursor *c, const uint8_t *p, size_t n, const uint8_t *id,
                      struct mv_error *err)
{
	char hex[65];

	if (mv_catalog_iter_init(&c->it, p, n)) {
		mv_hex(id, 32, hex);
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "catalog blob %.16s is malformed",
		                    hex);
	}
	if (c->have_prev) {
		c->it.prev_path = c->prev;
		c->it.prev_len = c->prev_len;
	}
	c->loaded = 1;
	return 0;
}

static int load_blob(struct mv_catalog_cursor *c, struct mv_error *err)
{
	const uint8_t *p;
	size_t n;
	const uint8_t *id = c->ids[c->next];

	int rc = mv_repo_read_blob(c->r, c->ctx, MV_T_CATALOG, id, &p, &n, err);
	if (rc)
		return rc;
	if (c->own) {
		/* nobody else uses the context: its buffer stays ours until the
		 * next blob */
		c->next++;
		return start_blob(c, p, n, id, err);
	}
	if (n > c->cap) {
		uint8_t *np = realloc(c->payload, n);
		if (!np)
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		c->payload = np;
		c->cap = n;
	}
	if (n)
		memcpy(c->payload, p, n);
	c->next++;
	return start_blob(c, c->payload, n, id, err);
}

/* Makes c->rec the next record. Returns 1, 0 at the end, or an error. */
static int peek(struct mv_catalog_cursor *c, struct mv_error *err)
{
	char hex[65];
	int rc;

	if (c->pending)
		return 1;
	for (;;) {
		if (!c->loaded) {
			if (c->next >= c->nids)
				return 0;
			if ((rc = load_blob(c, err)))
				return rc;
		}
		rc = mv_catalog_iter_next(&c->it, &c->rec);
		if (rc == 1) {
			c->pending = 1;
			return 1;
		}
		if (rc < 0) {
			mv_hex(c->ids[c->next - 1], 32, hex);
			return mv_error_set(err, MV_ERR_INTEGRITY, 0,
			                    "catalog blob %.16s is malformed", hex);
		}
		/* end of this blob: remember its last path for the next one */
		if (c->it.prev_path && c->it.prev_path != c->prev) {
			memcpy(c->prev, c->it.prev_path, c->it.prev_len);
			c->prev_len = c->it.prev_len;
			c->have_prev = 1;
		}
		c->loaded = 0;
	}
}

int mv_catalog_cursor_next_rec(struct mv_catalog_cursor *c, struct mv_catalog_rec *rec,
                               struct mv_error *err)
{
	int rc = peek(c, err);
	if (rc <= 0)
		return rc;
	c->pending = 0;
	*rec = c->rec;
	return 1;
}

void mv_catalog_cursor_entry(struct mv_catalog_cursor *c, const struct mv_catalog_rec *rec,
                             struct mv_catalog_entry *e)
{
	memcpy(c->path, rec->path, rec->path_len);
	c->path[rec->path_len] = '\0';
	if (rec->member_len) {
		memcpy(c->member, rec->member, rec->member_len);
		c->member[rec->member_len] = '\0';
	}
	mv_catalog_rec_to_info(rec, &c->info);
	e->path = c->path;
	e->member = rec->member_len ? c->member : NULL;
	e->size = rec->size;
	e->info = &c->info;
}

int mv_catalog_cursor_next(struct mv_catalog_cursor *c, struct mv_catalog_entry *e,
                           struct mv_error *err)
{
	struct mv_catalog_rec rec;
	int rc = mv_catalog_cursor_next_rec(c, &rec, err);
	if (rc == 1)
		mv_catalog_cursor_entry(c, &rec, e);
	return rc;
}

int mv_catalog_cursor_copy(struct mv_catalog_cursor *c, const char *path,
                           struct mv_catalog_writer *w, struct mv_error *err)
{
	size_t len = strlen(path);
	int rc;

	while ((rc = peek(c, err)) == 1) {
		int cmp =
		    mv_catalog_path_cmpn(c->rec.path, c->rec.path_len, (const uint8_t *)path, len);
		if (cmp > 0)
			return 0;
		c->pending = 0;
		if (cmp == 0 && (rc = writer_put(w, &c->rec, c->rec.raw, c->rec.raw_len, err)))
			return rc;
	}
	return rc;
}
