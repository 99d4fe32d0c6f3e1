#include "core/ops/ops.h"

#include <stdlib.h>
#include <string.h>

#define WALK_MAX_DEPTH 512

static int walk(struct mv_repo *r, const uint8_t id[32], char *path, size_t plen, size_t cap,
                int depth, int (*cb)(void *, const char *, const struct mv_node *), void *arg,
                struct mv_error *err)
{
	struct mv_tree_cursor c;
	const struct mv_node *n;
	if (depth > WALK_MAX_DEPTH)
		return mv_error_set(err, MV_ERR_LIMIT, 0, "tree nesting too deep at '%s'", path);
	int rc = mv_tree_cursor_open(r, NULL, id, &c, err);
	if (rc)
		return rc;
	while ((rc = mv_tree_cursor_next(&c, &n, err)) == 1) {
		if (plen + 1 + n->name_len + 1 > cap) {
			rc = mv_error_set(err, MV_ERR_LIMIT, 0, "path too long below '%s'", path);
			break;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, n->name, n->name_len);
		path[plen + 1 + n->name_len] = '\0';
		rc = cb(arg, path, n);
		if (!rc && n->kind == MV_NODE_DIR)
			rc = walk(r, n->subtree, path, plen + 1 + n->name_len, cap, depth + 1, cb,
			          arg, err);
		path[plen] = '\0';
		if (rc)
			break;
	}
	mv_tree_cursor_close(&c);
	return rc;
}

int mv_walk(struct mv_repo *r, const uint8_t tree[32],
            int (*cb)(void *arg, const char *path, const struct mv_node *n), void *arg,
            struct mv_error *err)
{
	size_t cap = 65536;
	char *path = malloc(cap);
	if (!path)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	path[0] = '\0';
	int rc = walk(r, tree, path, 0, cap, 0, cb, arg, err);
	free(path);
	return rc;
}
