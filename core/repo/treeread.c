/* Reading trees: whole (mv_repo_load_tree) or one part at a time (the
 * cursor), for version 1 and split (version 2) trees, FORMAT.md section 9. */
#include "core/repo/repo.h"
#include "core/repo/repo_impl.h"

#include <stdint.h>
#include <string.h>

static int malformed(const uint8_t id[32], struct mv_error *err)
{
	char hex[65];
	mv_hex(id, 32, hex);
	return mv_error_set(err, MV_ERR_INTEGRITY, 0, "tree %.16s is malformed", hex);
}

/* Reads the tree blob id: a version 1 payload into t, or, when parts is not
 * NULL, a version 2 one into parts (a part must be version 1). */
static int read_tree_blob(struct mv_repo *r, struct mv_blob_ctx *ctx, const uint8_t id[32],
                          struct mv_tree *t, struct mv_tree_parts *parts, struct mv_error *err)
{
	const uint8_t *p;
	size_t n;
	mv_tree_init(t);
	int rc = mv_repo_read_blob(r, ctx, MV_T_TREE, id, &p, &n, err);
	if (rc)
		return rc;
	if (parts && mv_tree_payload_version(p, n) == 2)
		rc = mv_tree_parts_decode(p, n, parts);
	else
		rc = mv_tree_decode(p, n, t);
	if (rc == MV_FMT_MALFORMED)
		return malformed(id, err);
	return rc ? mv_error_set(err, rc, 0, "%s", mv_strerror(rc)) : 0;
}

/* Replaces the part in memory by the next one: not empty, its names after
 * the previous part's, the node count as the part list says. A part that
 * fails is skipped: the next call goes on with the one after it. */
static int load_part(struct mv_tree_cursor *c, struct mv_error *err)
{
	const uint8_t *pid = c->parts.ids[c->next_part++];
	mv_tree_release(&c->cur);
	c->pos = 0;
	int rc = read_tree_blob(c->r, c->ctx, pid, &c->cur, NULL, err);
	if (rc) {
		c->skipped = 1;
		return rc;
	}
	struct mv_node prev = {.name = c->last, .name_len = c->last_len};
	if (c->cur.count == 0 || (c->last_len && mv_node_name_cmp(&prev, &c->cur.nodes[0]) >= 0) ||
	    c->cur.count > c->parts.nodes - c->nodes)
		goto bad;
	c->nodes += c->cur.count;
	if (c->next_part == c->parts.count && !c->skipped && c->nodes != c->parts.nodes)
		goto bad;
	const struct mv_node *last = &c->cur.nodes[c->cur.count - 1];
	memcpy(c->last, last->name, last->name_len);
	c->last_len = last->name_len;
	return 0;
bad:
	mv_tree_release(&c->cur);
	c->skipped = 1;
	return malformed(c->id, err);
}

int mv_tree_cursor_open(struct mv_repo *r, struct mv_blob_ctx *ctx, const uint8_t id[32],
                        struct mv_tree_cursor *c, struct mv_error *err)
{
	memset(c, 0, sizeof(*c));
	c->r = r;
	c->ctx = ctx ? ctx : r->ctx;
	memcpy(c->id, id, 32);
	int rc = read_tree_blob(r, c->ctx, id, &c->cur, &c->parts, err);
	if (rc)
		mv_tree_cursor_close(c);
	return rc;
}

/* Makes c->pos point at a node, loading parts as needed; 1, 0 at the end,
 * or an error. */
static int fill(struct mv_tree_cursor *c, struct mv_error *err)
{
	while (c->pos == c->cur.count) {
		if (c->next_part == c->parts.count)
			return 0;
		int rc = load_part(c, err);
		if (rc)
			return rc;
	}
	return 1;
}

int mv_tree_cursor_next(struct mv_tree_cursor *c, const struct mv_node **n, struct mv_error *err)
{
	int rc = fill(c, err);
	if (rc == 1)
		*n = &c->cur.nodes[c->pos++];
	return rc;
}

int mv_tree_cursor_find(struct mv_tree_cursor *c, const uint8_t *name, size_t len,
                        const struct mv_node **n, struct mv_error *err)
{
	struct mv_node key = {.name = (uint8_t *)(uintptr_t)name, .name_len = (uint16_t)len};
	int rc;
	if (len > 255)
		return 0;
	while ((rc = fill(c, err)) == 1) {
		int cmp = mv_node_name_cmp(&c->cur.nodes[c->pos], &key);
		if (cmp > 0)
			return 0;
		if (cmp == 0) {
			*n = &c->cur.nodes[c->pos];
			return 1;
		}
		c->pos++;
	}
	return rc;
}

void mv_tree_cursor_close(struct mv_tree_cursor *c)
{
	mv_tree_release(&c->cur);
	mv_tree_parts_release(&c->parts);
	c->pos = 0;
	c->next_part = 0;
}

int mv_repo_load_tree(struct mv_repo *r, struct mv_blob_ctx *ctx, const uint8_t id[32],
                      struct mv_tree *t, struct mv_error *err)
{
	struct mv_tree_cursor c;
	int rc = mv_tree_cursor_open(r, ctx, id, &c, err);
	mv_tree_init(t);
	if (rc)
		return rc;
	if (!c.parts.count) {
		*t = c.cur; /* version 1: the tree itself */
		mv_tree_init(&c.cur);
	}
	while ((rc = fill(&c, err)) == 1) {
		/* a split tree: the part's nodes move to t */
		for (; c.pos < c.cur.count; c.pos++) {
			rc = mv_tree_add(t, &c.cur.nodes[c.pos]);
			if (rc) {
				/* the nodes already moved belong to t alone */
				memset(c.cur.nodes, 0, c.pos * sizeof(*c.cur.nodes));
				rc = mv_error_set(err, rc, 0, "%s", mv_strerror(rc));
				goto out;
			}
		}
		c.cur.count = 0; /* t owns them now */
		c.pos = 0;
	}
out:
	if (rc)
		mv_tree_release(t);
	mv_tree_cursor_close(&c);
	return rc;
}
