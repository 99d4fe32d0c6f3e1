/* Snapshots copied between repositories: every tree read whole from the
 * source, rewritten bottom-up with the destination's ids (a tree shared by
 * several snapshots is rewritten once per run), file data re-hashed and
 * re-sealed chunk by chunk when both chunkers cut alike, else streamed
 * through the destination's file chunker (a thread feeds the decoded
 * chunks into a socket pair that mv_file_chunks reads, so that the cut is
 * exactly backup's, DICOM pixel data rule included). */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/medical/catalog.h"
#include "core/ops/copy.h"
#include "core/repo/filechunk.h"
#include "core/repo/index.h"
#include "core/repo/packer.h"
#include "core/util/grow.h"
#include "core/util/keymap.h"

#define COPY_MAX_DEPTH 512
/* a part of a split tree is closed at this bound of its encoding */
#define COPY_PART_BYTES (8u << 20)

struct cp {
	struct mv_repo *src, *dst;
	struct mv_blob_ctx *sctx, *dctx; /* the repositories' own contexts */
	struct mv_packer *packer;
	const struct mv_events *ev;
	struct mv_copy_result *res;
	struct mv_error *err;
	int same_chunker;
	struct mv_file_chunker fc;
	struct mv_keymap *trees; /* source tree id -> index in dst_trees */
	uint8_t (*dst_trees)[32];
	size_t ntrees, cap;
	/* the chunk ids of the file being cut again */
	uint8_t (*ids)[32];
	size_t nids, capids;
	int chunk_rc;
};

static int cancelled(const struct cp *c)
{
	if (c->ev && c->ev->cancel && *c->ev->cancel)
		return mv_error_set(c->err, MV_ERR_INTERRUPTED, 0, "interrupted");
	return 0;
}

int mv_copy_same_chunker(const struct mv_repo *src, const struct mv_repo *dst)
{
	const struct mv_config_fields *a = mv_repo_config(src), *b = mv_repo_config(dst);
	const struct mv_keys *ka = mv_repo_keys(src), *kb = mv_repo_keys(dst);
	return ka && kb && strcmp(a->chunker, b->chunker) == 0 && a->chunk_min == b->chunk_min &&
	       a->chunk_avg == b->chunk_avg && a->chunk_max == b->chunk_max &&
	       sodium_memcmp(ka->chunker, kb->chunker, MV_KEY_LEN) == 0;
}

/* 1 and *id when tag is "original=<64 hex>". */
static int original_tag(const char *tag, uint8_t id[32])
{
	size_t n = strlen(MV_COPY_ORIGINAL_TAG);
	return strncmp(tag, MV_COPY_ORIGINAL_TAG, n) == 0 && strlen(tag + n) == 64 &&
	       mv_unhex(tag + n, id, 32) == 0;
}

void mv_copy_original(const struct mv_snapshot *s, uint8_t out[32])
{
	for (uint32_t i = 0; i < s->ntags; i++)
		if (original_tag(s->tags[i], out))
			return;
	memcpy(out, s->id, 32);
}

/* Stores a blob in dst unless a copy that serves is there; id gets its
 * destination id. */
static int put_blob(struct cp *c, uint8_t type, const uint8_t *data, size_t len, uint8_t id[32])
{
	const uint8_t *sealed;
	size_t slen;
	struct mv_blob_loc loc;
	int rc, present;

	mv_blob_id(mv_repo_keys(c->dst), data, len, id);
	present = mv_repo_index_lookup(c->dst, id, &loc);
	if (present && (loc.pack == MV_PACK_NONE || !mv_repo_index_pack_missing(c->dst, loc.pack)))
		return 0;
	memset(&loc, 0, sizeof(loc));
	memcpy(loc.id, id, 32);
	loc.pack = MV_PACK_NONE;
	loc.type = type;
	loc.raw_length = (uint32_t)len;
	rc = present ? mv_repo_index_update(c->dst, &loc) : mv_repo_index_add(c->dst, &loc);
	if (rc < 0)
		return mv_error_set(c->err, rc, 0, "out of memory");
	if ((rc = mv_blob_encode(c->dctx, mv_repo_keys(c->dst), type, id, data, len, &sealed, &slen,
	                         c->err)))
		return rc;
	if ((rc = mv_packer_add(c->packer, type, id, sealed, slen, len, c->err)))
		return rc;
	c->res->blobs_added++;
	c->res->bytes_added += slen;
	return 0;
}

/* Reads a source blob (authenticated, its id checked) and stores it. */
static int copy_blob(struct cp *c, uint8_t type, const uint8_t src_id[32], uint8_t dst_id[32])
{
	const uint8_t *data;
	size_t len;
	int rc = mv_repo_read_blob(c->src, c->sctx, type, src_id, &data, &len, c->err);
	if (rc)
		return rc;
	return put_blob(c, type, data, len, dst_id);
}

/* ---- files cut again ------------------------------------------------- */

struct feeder {
	struct cp *c;
	const struct mv_node *n;
	int fd;
	int rc;
	struct mv_error err;
};

/* The feeding thread: the file's chunks, decoded, into the socket. */
static void *feed(void *arg)
{
	struct feeder *f = arg;
	struct mv_blob_ctx *ctx = mv_blob_ctx_new(3);
	if (!ctx) {
		f->rc = mv_error_set(&f->err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < f->n->nchunks && !f->rc; i++) {
		const uint8_t *data;
		size_t len;
		f->rc = mv_repo_read_blob(f->c->src, ctx, MV_T_DATA, f->n->chunks[i], &data, &len,
		                          &f->err);
		while (!f->rc && len > 0) {
			ssize_t w = send(f->fd, data, len, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				/* the reader stopped: its error is the one reported */
				f->rc =
				    mv_error_set(&f->err, MV_ERR_IO, errno, "feeding the chunker");
				break;
			}
			data += w;
			len -= (size_t)w;
		}
	}
out:
	mv_blob_ctx_free(ctx);
	close(f->fd);
	return NULL;
}

static int on_chunk(void *arg, const uint8_t *p, size_t n)
{
	struct cp *c = arg;
	if (c->nids >= MV_NODE_MAX_CHUNKS || mv_grow(c->ids, c->capids, c->nids + 1))
		return c->chunk_rc = mv_error_set(c->err, MV_ERR_LIMIT, 0, "too many chunks");
	int rc = put_blob(c, MV_T_DATA, p, n, c->ids[c->nids]);
	if (rc)
		return c->chunk_rc = rc;
	c->nids++;
	return cancelled(c);
}

/* The ids of node n's content cut by the destination's chunker into c->ids. */
static int rechunk(struct cp *c, const struct mv_node *n, const char *name)
{
	int sv[2];
	pthread_t th;
	struct feeder f = {.c = c, .n = n};
	struct mv_file_facts facts;

	c->nids = 0;
	c->chunk_rc = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return mv_error_set(c->err, MV_ERR_IO, errno, "socketpair");
	f.fd = sv[1];
	if (pthread_create(&th, NULL, feed, &f) != 0) {
		close(sv[0]);
		close(sv[1]);
		return mv_error_set(c->err, MV_ERR_NOMEM, 0, "cannot start a thread");
	}
	int rc = mv_file_chunks(&c->fc, sv[0], n->size, on_chunk, NULL, c, &facts);
	close(sv[0]); /* a feeder still sending gets an error and ends */
	pthread_join(th, NULL);
	if (c->chunk_rc) {
		rc = c->chunk_rc; /* storing failed (err set); the feeder only saw it stop */
	} else if (f.rc) {        /* the source is damaged, or could not be read */
		*c->err = f.err;
		rc = f.rc;
	} else if (rc == MV_ERR_IO) {
		rc = mv_error_set(c->err, MV_ERR_IO, facts.read_errno, "reading '%s'", name);
	} else if (rc == MV_ERR_NOMEM) {
		rc = mv_error_set(c->err, rc, 0, "out of memory");
	}
	if (!rc && facts.size != n->size)
		rc = mv_error_set(c->err, MV_ERR_INTEGRITY, 0,
		                  "'%s': its chunks hold %llu bytes, its size is %llu", name,
		                  (unsigned long long)facts.size, (unsigned long long)n->size);
	return rc;
}

/* Rewrites file node n with the destination's chunk ids and content hash. */
static int copy_file(struct cp *c, struct mv_node *n)
{
	char name[256];
	int rc;

	if (n->nchunks == 0 && (n->flags & MV_NODE_F_UNREADABLE))
		return 0; /* no content was read: nothing to name */
	memcpy(name, n->name, n->name_len);
	name[n->name_len] = '\0';
	/* what was read of an unreadable file need not add up to its size:
	 * its chunks are kept as they are */
	if (c->same_chunker || (n->flags & MV_NODE_F_UNREADABLE)) {
		for (uint32_t i = 0; i < n->nchunks; i++)
			if ((rc = copy_blob(c, MV_T_DATA, n->chunks[i], n->chunks[i])) ||
			    (rc = cancelled(c)))
				return rc;
	} else {
		if ((rc = rechunk(c, n, name)))
			return rc;
		uint8_t(*ids)[32] = NULL;
		if (c->nids && !(ids = malloc(c->nids * 32)))
			return mv_error_set(c->err, MV_ERR_NOMEM, 0, "out of memory");
		if (c->nids)
			memcpy(ids, c->ids, c->nids * 32);
		free(n->chunks);
		n->chunks = ids;
		n->nchunks = (uint32_t)c->nids;
	}
	mv_content_hash(mv_repo_keys(c->dst), n->size, (const uint8_t(*)[32])n->chunks, n->nchunks,
	                n->content);
	return 0;
}

/* ---- trees ------------------------------------------------------------ */

static size_t node_bound(const struct mv_node *n)
{
	return 128 + n->name_len + n->target_len + (size_t)n->nchunks * 32;
}

/* Encodes nodes [0, count) of t as one tree blob and stores it. */
static int store_nodes(struct cp *c, struct mv_node *nodes, size_t count, uint8_t id[32])
{
	struct mv_tree part = {.nodes = nodes, .count = count, .cap = count};
	struct mv_wbuf w;
	int rc;

	mv_wbuf_init(&w, MV_BLOB_MAX_RAW);
	mv_tree_encode(&part, &w);
	if (w.failed)
		rc = mv_error_set(c->err, MV_ERR_LIMIT, 0, "a tree cannot be encoded");
	else
		rc = put_blob(c, MV_T_TREE, w.data, w.len, id);
	mv_wbuf_release(&w);
	return rc;
}

/* Stores the rewritten directory: one tree, or parts and their list
 * (FORMAT.md 9.2) when it is large. */
static int store_dir(struct cp *c, struct mv_tree *t, uint8_t id[32])
{
	struct mv_tree_parts tp = {0};
	size_t start = 0, bound = 0, cap = 0;
	struct mv_wbuf w;
	int rc = 0;

	for (size_t i = 0; i < t->count; i++)
		bound += node_bound(&t->nodes[i]);
	if (t->count <= MV_TREE_PART_NODES && bound <= COPY_PART_BYTES)
		return store_nodes(c, t->nodes, t->count, id);
	tp.nodes = t->count;
	bound = 0;
	for (size_t i = 0; i <= t->count && !rc; i++) {
		int close_part =
		    i == t->count ||
		    (i > start && (i - start >= MV_TREE_PART_NODES ||
		                   bound + node_bound(&t->nodes[i]) > COPY_PART_BYTES));
		if (close_part) {
			if (tp.count >= MV_TREE_MAX_PARTS || mv_grow(tp.ids, cap, tp.count + 1))
				rc = mv_error_set(c->err, MV_ERR_LIMIT, 0,
				                  "a directory is too large");
			else
				rc =
				    store_nodes(c, t->nodes + start, i - start, tp.ids[tp.count++]);
			start = i;
			bound = 0;
		}
		if (i < t->count)
			bound += node_bound(&t->nodes[i]);
	}
	if (!rc && tp.count == 1) { /* cannot happen with the bounds above */
		memcpy(id, tp.ids[0], 32);
	} else if (!rc) {
		mv_wbuf_init(&w, MV_BLOB_MAX_RAW);
		mv_tree_parts_encode(&tp, &w);
		rc = w.failed ? mv_error_set(c->err, MV_ERR_LIMIT, 0, "a tree cannot be encoded")
		              : put_blob(c, MV_T_TREE, w.data, w.len, id);
		mv_wbuf_release(&w);
	}
	free(tp.ids);
	return rc;
}

/* The destination id of source tree src_id, rewritten (once per run). */
static int copy_tree(struct cp *c, const uint8_t id[32], int depth, uint8_t out[32])
{
	struct mv_tree t;
	uint8_t src_id[32]; /* id and out may be the same bytes (a node's subtree) */
	uint32_t at;
	int rc;

	memcpy(src_id, id, 32);
	if (mv_keymap_get(c->trees, src_id, &at)) {
		memcpy(out, c->dst_trees[at], 32);
		return 0;
	}
	if (depth > COPY_MAX_DEPTH)
		return mv_error_set(c->err, MV_ERR_LIMIT, 0, "tree nesting too deep");
	if ((rc = cancelled(c)))
		return rc;
	mv_tree_init(&t);
	if ((rc = mv_repo_load_tree(c->src, c->sctx, src_id, &t, c->err)))
		return rc;
	for (size_t i = 0; i < t.count && !rc; i++) {
		struct mv_node *n = &t.nodes[i];
		if (n->kind == MV_NODE_FILE)
			rc = copy_file(c, n);
		else if (n->kind == MV_NODE_DIR)
			rc = copy_tree(c, n->subtree, depth + 1, n->subtree);
	}
	if (!rc)
		rc = store_dir(c, &t, out);
	mv_tree_release(&t);
	if (rc)
		return rc;
	if (c->ntrees >= UINT32_MAX || mv_grow(c->dst_trees, c->cap, c->ntrees + 1) ||
	    mv_keymap_put(c->trees, src_id, (uint32_t)c->ntrees, NULL) < 0)
		return mv_error_set(c->err, MV_ERR_NOMEM, 0, "out of memory");
	memcpy(c->dst_trees[c->ntrees++], out, 32);
	return 0;
}

/* ---- snapshots -------------------------------------------------------- */

/* The snapshot as the destination stores it; *snap borrows s's strings
 * except tags and catalog (owned: free them). */
static int copy_snapshot(struct cp *c, const struct mv_snapshot *s, uint8_t dst_id[32])
{
	struct mv_snapshot d = *s;
	struct mv_wbuf w;
	uint8_t orig[32];
	char tag[sizeof(MV_COPY_ORIGINAL_TAG) + 64];
	int rc, has_orig = 0;

	for (uint32_t i = 0; i < s->ntags; i++)
		has_orig |= original_tag(s->tags[i], orig);
	d.tags = NULL;
	d.catalog = NULL;
	d.has_parent = 0; /* the parent is a source snapshot */
	memset(d.parent, 0, 32);
	if ((rc = copy_tree(c, s->tree, 0, d.tree)))
		return rc;
	if (s->ncatalog && !(d.catalog = calloc(s->ncatalog, 32)))
		return mv_error_set(c->err, MV_ERR_NOMEM, 0, "out of memory");
	for (uint32_t i = 0; i < s->ncatalog && !rc; i++)
		rc = copy_blob(c, MV_T_CATALOG, s->catalog[i], d.catalog[i]);
	if (!rc && !(d.tags = calloc((size_t)s->ntags + 1, sizeof(*d.tags))))
		rc = mv_error_set(c->err, MV_ERR_NOMEM, 0, "out of memory");
	if (rc)
		goto out;
	if (s->ntags)
		memcpy(d.tags, s->tags, s->ntags * sizeof(*d.tags));
	if (!has_orig) {
		memcpy(tag, MV_COPY_ORIGINAL_TAG, sizeof(MV_COPY_ORIGINAL_TAG) - 1);
		mv_hex(s->id, 32, tag + sizeof(MV_COPY_ORIGINAL_TAG) - 1);
		d.tags[d.ntags++] = tag;
	}
	/* commit order: packs, the index naming them, then the snapshot */
	if ((rc = mv_packer_flush(c->packer, c->err)) ||
	    (rc = mv_packer_write_index(c->packer, c->err)))
		goto out;
	mv_repo_orphans_forget(c->dst);
	if ((rc = cancelled(c)))
		goto out;
	mv_wbuf_init(&w, 64u << 20);
	mv_snapshot_encode(&d, &w);
	if (w.failed)
		rc = mv_error_set(c->err, MV_ERR_LIMIT, 0, "the snapshot cannot be encoded");
	else
		rc = mv_repo_save_object(c->dst, MV_FT_SNAPSHOT, MV_T_SNAPSHOT, w.data, w.len,
		                         dst_id, c->err);
	mv_wbuf_release(&w);
out:
	free(d.tags);
	free(d.catalog);
	return rc;
}

/* The originals of the destination's snapshots (and their own ids). */
static int dst_originals(struct cp *c, struct mv_keymap *m)
{
	struct mv_snapshot *s = NULL;
	size_t n = 0, damaged = 0;
	uint8_t id[32];
	int rc = mv_repo_snapshots(c->dst, &s, &n, &damaged, c->err);
	for (size_t i = 0; i < n && !rc; i++) {
		mv_copy_original(&s[i], id);
		if (mv_keymap_put(m, id, 0, NULL) < 0 || mv_keymap_put(m, s[i].id, 0, NULL) < 0)
			rc = mv_error_set(c->err, MV_ERR_NOMEM, 0, "out of memory");
	}
	mv_snapshots_free(s, n);
	return rc;
}

int mv_copy(struct mv_repo *src, struct mv_repo *dst, const struct mv_snapshot *snaps, size_t n,
            const struct mv_events *ev, mv_copy_snap_fn on_snap, void *arg,
            struct mv_copy_result *res, struct mv_error *err)
{
	struct cp c = {.src = src, .dst = dst, .ev = ev, .res = res, .err = err};
	struct mv_keymap *present = NULL;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (memcmp(mv_repo_config(src)->repo_id, mv_repo_config(dst)->repo_id, 32) == 0)
		return mv_error_set(err, MV_ERR_USAGE, 0,
		                    "source and destination are the same repository");
	c.sctx = mv_repo_blob_ctx(src);
	c.dctx = mv_repo_blob_ctx(dst);
	c.same_chunker = mv_copy_same_chunker(src, dst);
	res->rechunked = !c.same_chunker;
	c.trees = mv_keymap_new(32);
	present = mv_keymap_new(32);
	if (!c.trees || !present ||
	    mv_file_chunker_init(&c.fc, mv_repo_chunker(dst), mv_repo_config(dst)->chunk_max, 0)) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	if ((rc = dst_originals(&c, present)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t orig[32], id[32];
		mv_copy_original(&snaps[i], orig);
		if (mv_keymap_get(present, orig, NULL) ||
		    mv_keymap_get(present, snaps[i].id, NULL)) {
			res->skipped++;
			if (on_snap)
				on_snap(arg, &snaps[i], 1);
			continue;
		}
		if (on_snap)
			on_snap(arg, &snaps[i], 0);
		/* a packer per snapshot: its index names the packs written since */
		if (!(c.packer = mv_packer_new(dst))) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			break;
		}
		rc = copy_snapshot(&c, &snaps[i], id);
		mv_packer_free(c.packer);
		c.packer = NULL;
		if (rc)
			break;
		res->copied++;
		if (mv_keymap_put(present, orig, 0, NULL) < 0)
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
out:
	mv_file_chunker_release(&c.fc);
	mv_keymap_free(c.trees);
	mv_keymap_free(present);
	free(c.dst_trees);
	free(c.ids);
	return rc;
}
