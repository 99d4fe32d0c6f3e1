#include "core/ops/sourcecheck.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/repo/crypto.h"
#include "core/repo/walker.h"

const char *mv_fmt_count(uint64_t n, char buf[32])
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
	size_t o = 0;

	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !memcmp(s + a - b, suffix, b);
}

int mv_source_finding(const char *msg)
{
	return msg &&
	       (ends_with(msg, MV_SOURCE_ADVICE_EMPTY) || ends_with(msg, MV_SOURCE_ADVICE_SHRINK));
}

int mv_source_flagged(const struct mv_snapshot *s)
{
	for (uint32_t i = 0; i < s->nerrors; i++)
		if (mv_source_finding(s->errors[i].msg))
			return 1;
	return 0;
}

static int same_source(const struct mv_snapshot *s, const char *host, char *const *paths, size_t n)
{
	if (!s || !s->host || strcmp(s->host, host) || s->npaths != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->paths[i], paths[i]))
			return 0;
	return 1;
}

/* Counts the regular files; a tree that cannot be read stops the walk. */
static int count_file(void *arg, const struct mv_walk_item *it)
{
	if (it->event == MV_WALK_ERROR)
		return MV_WALK_STOP;
	if (it->event == MV_WALK_NODE && it->node->kind == MV_NODE_FILE)
		++*(uint64_t *)arg;
	return MV_WALK_CONTINUE;
}

/* The regular files below path ("/srv/imaging") in the tree root: returns
 * 1 and sets *count (0 when the path is absent), or 0 when the tree cannot
 * be read. */
static int count_below(struct mv_repo *r, const uint8_t root[32], const char *path, uint64_t *count)
{
	struct mv_error e = {0};
	struct mv_walk_opts o = {.max_depth = 512, .path_max = 65536, .subpath = path};

	*count = 0;
	if (!path[strspn(path, "/")])
		return 1;
	int rc = mv_walk_tree(r, root, &o, count_file, count, &e);
	if (rc == MV_ERR_NOTFOUND && e.saved_errno == ENOENT)
		return 1; /* absent, or below something that is not a folder */
	if (rc) {
		*count = 0;
		return 0;
	}
	return 1;
}

/* The warning for source i, which holds no file; "" when allowed. Sets
 * *had to the files it held in prev and *known to whether that is known. */
static void empty_msg(struct mv_repo *r, const struct mv_backup_opts *o,
                      const struct mv_snapshot *prev, char *const *paths, size_t n, size_t i,
                      uint64_t *had_out, int *known_out, char *msg, size_t cap)
{
	char id[65] = "", c[32];
	uint64_t had = 0;
	int known = 0;

	if (prev && n == 1)
		had = prev->summary.total_files, known = 1;
	else if (prev)
		known = count_below(r, prev->tree, paths[i], &had);
	*had_out = had;
	*known_out = known;
	msg[0] = '\0';
	if (o->allow_empty || (had > 0 && o->allow_shrink))
		return;
	if (prev)
		mv_hex(prev->id, 4, id);
	if (had > 0)
		snprintf(msg, cap,
		         "holds 0 files; its previous snapshot %s held %s: is the disk "
		         "mounted? " MV_SOURCE_ADVICE_SHRINK,
		         id, mv_fmt_count(had, c));
	else if (known)
		snprintf(msg, cap,
		         "holds 0 files, as in its previous snapshot %s: is the disk "
		         "mounted? " MV_SOURCE_ADVICE_EMPTY,
		         id);
	else
		snprintf(msg, cap, "holds 0 files: is the disk mounted? " MV_SOURCE_ADVICE_EMPTY);
}

/* "/a, /b, /c" within cap bytes ("..." when cut). */
static void join_paths(char *const *paths, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + o, cap - o, "%s%s", i ? ", " : "", paths[i]);
		if (w < 0 || (size_t)w >= cap - o) {
			memcpy(out + cap - 4, "...", 4);
			return;
		}
		o += (size_t)w;
	}
}

int mv_source_check(struct mv_repo *r, const struct mv_backup_opts *o, const char *host,
                    char *const *paths, size_t n, const uint64_t *files, uint64_t total,
                    const struct mv_snapshot *prev,
                    int (*warn)(void *arg, const char *path, const char *msg), void *arg)
{
	char msg[512], id[65], a[32], b[32], joined[1024];
	uint64_t ref, had;
	int found = 0, known, unknown = 0, rc;

	if (!same_source(prev, host, paths, n))
		prev = NULL;
	ref = prev ? prev->summary.total_files : 0;
	for (size_t i = 0; i < n; i++) {
		if (files[i] > 0)
			continue;
		empty_msg(r, o, prev, paths, n, i, &had, &known, msg, sizeof(msg));
		if (!msg[0]) { /* an empty source allowed: the others are compared */
			unknown |= !known;
			ref -= had < ref ? had : ref;
			continue;
		}
		if ((rc = warn(arg, paths[i], msg)))
			return rc;
		found++;
	}
	/* "fewer than half": 2 * total < previous (file counts are far below
	 * 2^63) */
	if (found || unknown || o->allow_shrink || !prev || ref < MV_SHRINK_MIN_FILES ||
	    2 * total >= ref)
		return found;
	mv_hex(prev->id, 4, id);
	mv_fmt_count(total, a);
	mv_fmt_count(ref, b);
	if (n == 1) {
		snprintf(msg, sizeof(msg),
		         "holds %s file%s; its previous snapshot %s held %s: is the "
		         "disk mounted? " MV_SOURCE_ADVICE_SHRINK,
		         a, total == 1 ? "" : "s", id, b);
		rc = warn(arg, paths[0], msg);
	} else {
		snprintf(msg, sizeof(msg),
		         "hold %s file%s together%s; their previous snapshot %s held "
		         "%s: is a disk not mounted? " MV_SOURCE_ADVICE_SHRINK,
		         a, total == 1 ? "" : "s",
		         ref < prev->summary.total_files ? " besides the empty ones" : "", id, b);
		join_paths(paths, n, joined, sizeof(joined));
		rc = warn(arg, joined, msg);
	}
	return rc ? rc : 1;
}
