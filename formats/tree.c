/* Tree blob payloads (FORMAT.md sections 9 and 11). */
#include "formats/tree.h"

#include <stdlib.h>
#include <string.h>

#define TREE_VERSION       1u
#define TREE_SPLIT_VERSION 2u
#define NAME_MAX_LEN       255u
#define TARGET_MAX_LEN     4095u
#define KNOWN_FLAGS        (MV_NODE_F_CHANGED | MV_NODE_F_UNREADABLE)
/* Smallest encoded node (fifo, device, socket with a 1-byte name): kind,
 * flags, str16 name, mode, uid, gid, mtime, ctime, inode, rdev, size. */
#define NODE_MIN_LEN (1u + 1u + 2u + 1u + 4u * 3u + 8u * 5u)

void mv_tree_init(struct mv_tree *t)
{
	t->nodes = NULL;
	t->count = 0;
	t->cap = 0;
}

void mv_node_release(struct mv_node *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->chunks);
	free(n->target);
	n->name = NULL;
	n->name_len = 0;
	n->chunks = NULL;
	n->nchunks = 0;
	n->target = NULL;
	n->target_len = 0;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

int mv_node_copy(struct mv_node *dst, const struct mv_node *src)
{
	*dst = *src;
	dst->name = dup_bytes(src->name, src->name_len);
	dst->chunks = src->nchunks
	                  ? (uint8_t(*)[32])dup_bytes(src->chunks[0], (size_t)src->nchunks * 32)
	                  : NULL;
	dst->target = src->target_len ? dup_bytes(src->target, src->target_len) : NULL;
	if (!dst->name || (src->nchunks && !dst->chunks) || (src->target_len && !dst->target)) {
		mv_node_release(dst);
		return MV_FMT_NOMEM;
	}
	return 0;
}

void mv_tree_release(struct mv_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++)
		mv_node_release(&t->nodes[i]);
	free(t->nodes);
	mv_tree_init(t);
}

int mv_tree_add(struct mv_tree *t, struct mv_node *n)
{
	if (t->count >= MV_TREE_SPLIT_MAX_NODES)
		return MV_FMT_LIMIT;
	/* doubling from 16 reaches MV_TREE_SPLIT_MAX_NODES (a power of two) */
	if (mv_fmt_grow(t->nodes, t->cap, t->count + 1))
		return MV_FMT_NOMEM;
	t->nodes[t->count++] = *n;
	return 0;
}

static int name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t m = alen < blen ? alen : blen;
	int c = m ? memcmp(a, b, m) : 0;
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int node_cmp(const void *x, const void *y)
{
	const struct mv_node *a = x, *b = y;
	return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

int mv_tree_sort(struct mv_tree *t)
{
	if (t->count < 2)
		return 0;
	qsort(t->nodes, t->count, sizeof(*t->nodes), node_cmp);
	for (size_t i = 1; i < t->count; i++)
		if (node_cmp(&t->nodes[i - 1], &t->nodes[i]) == 0)
			return MV_FMT_MALFORMED;
	return 0;
}

const struct mv_node *mv_tree_find(const struct mv_tree *t, const uint8_t *name, size_t len)
{
	size_t lo = 0, hi = t->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mv_node *n = &t->nodes[mid];
		int c = name_cmp(n->name, n->name_len, name, len);
		if (c == 0)
			return n;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int name_valid(const uint8_t *name, size_t len)
{
	if (len < 1 || len > NAME_MAX_LEN || !name)
		return 0;
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return 0;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return 0;
	return 1;
}

static int target_valid(const uint8_t *target, size_t len)
{
	return target && len >= 1 && len <= TARGET_MAX_LEN && !memchr(target, '\0', len);
}

/* The rules a node must satisfy, apart from its order in the tree. */
static int node_valid(const struct mv_node *n)
{
	if (n->kind < MV_NODE_FILE || n->kind > MV_NODE_SOCK || (n->flags & ~KNOWN_FLAGS))
		return 0;
	if (!name_valid(n->name, n->name_len))
		return 0;
	if (n->kind == MV_NODE_FILE &&
	    (n->nchunks > MV_NODE_MAX_CHUNKS || (n->nchunks && !n->chunks)))
		return 0;
	if (n->kind == MV_NODE_SYMLINK && !target_valid(n->target, n->target_len))
		return 0;
	return 1;
}

void mv_tree_encode(const struct mv_tree *t, struct mv_wbuf *w)
{
	if (t->count > MV_TREE_MAX_NODES) {
		mv_wbuf_fail(w, MV_FMT_LIMIT);
		return;
	}
	for (size_t i = 0; i < t->count; i++) {
		if (!node_valid(&t->nodes[i]) ||
		    (i && node_cmp(&t->nodes[i - 1], &t->nodes[i]) >= 0)) {
			mv_wbuf_fail(w, MV_FMT_MALFORMED);
			return;
		}
	}
	mv_wbuf_u8(w, TREE_VERSION);
	mv_wbuf_u32(w, (uint32_t)t->count);
	for (size_t i = 0; i < t->count && !w->failed; i++) {
		const struct mv_node *n = &t->nodes[i];
		mv_wbuf_u8(w, n->kind);
		mv_wbuf_u8(w, n->flags);
		mv_wbuf_str16(w, n->name, n->name_len);
		mv_wbuf_u32(w, n->mode);
		mv_wbuf_u32(w, n->uid);
		mv_wbuf_u32(w, n->gid);
		mv_wbuf_i64(w, n->mtime_ns);
		mv_wbuf_i64(w, n->ctime_ns);
		mv_wbuf_u64(w, n->inode);
		mv_wbuf_u64(w, n->rdev);
		mv_wbuf_u64(w, n->size);
		switch (n->kind) {
		case MV_NODE_FILE:
			mv_wbuf_u32(w, n->nchunks);
			if (n->nchunks)
				mv_wbuf_put(w, n->chunks, (size_t)n->nchunks * 32u);
			mv_wbuf_put(w, n->content, 32);
			break;
		case MV_NODE_DIR:
			mv_wbuf_put(w, n->subtree, 32);
			break;
		case MV_NODE_SYMLINK:
			mv_wbuf_str16(w, n->target, n->target_len);
			break;
		default:
			break;
		}
	}
}

/* Decodes one node into n (zeroed first). Returns 0, MV_FMT_MALFORMED or
 * MV_FMT_NOMEM; on failure n owns nothing. */
static int decode_node(struct mv_rbuf *r, struct mv_node *n)
{
	int rc = MV_FMT_MALFORMED;
	size_t name_len, target_len;

	memset(n, 0, sizeof(*n));
	n->kind = mv_rbuf_u8(r);
	n->flags = mv_rbuf_u8(r);
	const uint8_t *name = mv_rbuf_str16(r, &name_len);
	if (r->failed || n->kind < MV_NODE_FILE || n->kind > MV_NODE_SOCK ||
	    (n->flags & ~KNOWN_FLAGS) || !name_valid(name, name_len))
		goto fail;
	n->mode = mv_rbuf_u32(r);
	n->uid = mv_rbuf_u32(r);
	n->gid = mv_rbuf_u32(r);
	n->mtime_ns = mv_rbuf_i64(r);
	n->ctime_ns = mv_rbuf_i64(r);
	n->inode = mv_rbuf_u64(r);
	n->rdev = mv_rbuf_u64(r);
	n->size = mv_rbuf_u64(r);
	if (r->failed)
		goto fail;

	const uint8_t *p;
	switch (n->kind) {
	case MV_NODE_FILE: {
		uint32_t nchunks = mv_rbuf_u32(r);
		/* nchunks <= 2^24, so nchunks * 32 + 32 fits even a 32-bit size_t. */
		if (r->failed || nchunks > MV_NODE_MAX_CHUNKS ||
		    (size_t)nchunks * 32u + 32u > mv_rbuf_left(r))
			goto fail;
		p = mv_rbuf_get(r, (size_t)nchunks * 32u);
		if (!p)
			goto fail;
		if (nchunks) {
			n->chunks = malloc((size_t)nchunks * 32u);
			if (!n->chunks) {
				rc = MV_FMT_NOMEM;
				goto fail;
			}
			memcpy(n->chunks, p, (size_t)nchunks * 32u);
			n->nchunks = nchunks;
		}
		p = mv_rbuf_get(r, 32);
		if (!p)
			goto fail;
		memcpy(n->content, p, 32);
		break;
	}
	case MV_NODE_DIR:
		p = mv_rbuf_get(r, 32);
		if (!p)
			goto fail;
		memcpy(n->subtree, p, 32);
		break;
	case MV_NODE_SYMLINK:
		p = mv_rbuf_str16(r, &target_len);
		if (!p || !target_valid(p, target_len))
			goto fail;
		n->target = dup_bytes(p, target_len);
		if (!n->target) {
			rc = MV_FMT_NOMEM;
			goto fail;
		}
		n->target_len = (uint16_t)target_len;
		break;
	default:
		break;
	}

	n->name = dup_bytes(name, name_len);
	if (!n->name) {
		rc = MV_FMT_NOMEM;
		goto fail;
	}
	n->name_len = (uint16_t)name_len;
	return 0;

fail:
	mv_node_release(n);
	return rc;
}

int mv_tree_decode(const uint8_t *p, size_t len, struct mv_tree *t)
{
	int rc = MV_FMT_MALFORMED;
	struct mv_rbuf r;

	mv_tree_init(t);
	if (len && !p)
		return MV_FMT_MALFORMED;
	mv_rbuf_init(&r, p, len);
	uint8_t version = mv_rbuf_u8(&r);
	uint32_t count = mv_rbuf_u32(&r);
	if (r.failed || version != TREE_VERSION)
		goto fail;
	/* Both bounds before allocating: the limit, and what the input can hold. */
	if (count > MV_TREE_MAX_NODES || count > mv_rbuf_left(&r) / NODE_MIN_LEN)
		goto fail;
	if (count) {
		t->nodes = calloc(count, sizeof(*t->nodes));
		if (!t->nodes) {
			rc = MV_FMT_NOMEM;
			goto fail;
		}
		t->cap = count;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct mv_node *n = &t->nodes[i];
		rc = decode_node(&r, n);
		if (rc)
			goto fail;
		t->count++;
		if (i && node_cmp(&t->nodes[i - 1], n) >= 0) {
			rc = MV_FMT_MALFORMED;
			goto fail;
		}
	}
	if (mv_rbuf_left(&r) != 0) {
		rc = MV_FMT_MALFORMED;
		goto fail;
	}
	return 0;

fail:
	mv_tree_release(t);
	return rc;
}

int mv_node_name_cmp(const struct mv_node *a, const struct mv_node *b)
{
	return node_cmp(a, b);
}

int mv_tree_payload_version(const uint8_t *p, size_t len)
{
	return len && p ? p[0] : 0;
}

static int parts_valid(uint64_t nodes, uint32_t count)
{
	return count >= 2 && count <= MV_TREE_MAX_PARTS && nodes >= count &&
	       nodes <= MV_TREE_SPLIT_MAX_NODES;
}

void mv_tree_parts_encode(const struct mv_tree_parts *tp, struct mv_wbuf *w)
{
	if (!parts_valid(tp->nodes, tp->count) || !tp->ids) {
		mv_wbuf_fail(w, tp->count > MV_TREE_MAX_PARTS || tp->nodes > MV_TREE_SPLIT_MAX_NODES
		                    ? MV_FMT_LIMIT
		                    : MV_FMT_MALFORMED);
		return;
	}
	mv_wbuf_u8(w, TREE_SPLIT_VERSION);
	mv_wbuf_u64(w, tp->nodes);
	mv_wbuf_u32(w, tp->count);
	mv_wbuf_put(w, tp->ids, (size_t)tp->count * 32);
}

int mv_tree_parts_decode(const uint8_t *p, size_t len, struct mv_tree_parts *tp)
{
	struct mv_rbuf r;
	memset(tp, 0, sizeof(*tp));
	if (len && !p)
		return MV_FMT_MALFORMED;
	mv_rbuf_init(&r, p, len);
	uint8_t version = mv_rbuf_u8(&r);
	uint64_t nodes = mv_rbuf_u64(&r);
	uint32_t count = mv_rbuf_u32(&r);
	if (r.failed || version != TREE_SPLIT_VERSION || !parts_valid(nodes, count) ||
	    mv_rbuf_left(&r) != (size_t)count * 32)
		return MV_FMT_MALFORMED;
	tp->ids = malloc((size_t)count * 32);
	if (!tp->ids)
		return MV_FMT_NOMEM;
	memcpy(tp->ids, mv_rbuf_get(&r, (size_t)count * 32), (size_t)count * 32);
	tp->nodes = nodes;
	tp->count = count;
	return 0;
}

void mv_tree_parts_release(struct mv_tree_parts *tp)
{
	if (!tp)
		return;
	free(tp->ids);
	memset(tp, 0, sizeof(*tp));
}
