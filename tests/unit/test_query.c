/* The tree walker (core/repo/walker.h) and the queries built on it
 * (core/repo/query.h), on a small repository made here: events in name
 * order, leaving directories, skipping, a subpath start, the limits, and a
 * damaged tree reaching the callback as an error event. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ops/ops.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/query.h"
#include "core/repo/walker.h"

#define PASSWORD "Correct-Horse-Battery-9"

static char dir[64];
static char src[128];
static struct mv_repo *repo;
static struct mv_snapshot *snaps; /* oldest first */
static size_t nsnaps;

static void write_file(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static void make_dir(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void backup(void)
{
	const char *paths[1] = {src};
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1, .threads = 1};
	struct mv_backup_result br;
	struct mv_error err = {0};
	assert_int_equal(mv_backup(repo, &bo, NULL, &br, &err), 0);
}

static void open_repo(void)
{
	char rdir[256];
	struct mv_error err = {0};
	size_t damaged = 0;
	snprintf(rdir, sizeof(rdir), "%s/repo", dir);
	assert_int_equal(mv_repo_open(rdir, &repo, &err), 0);
	assert_int_equal(mv_repo_unlock(repo, (const uint8_t *)PASSWORD, strlen(PASSWORD), &err),
	                 0);
	assert_int_equal(mv_repo_load_index(repo, 1, &damaged, &err), 0);
}

/* src: a.txt, b/c.txt, b/d/e.txt, b/d/same.txt (as a.txt), z/ (empty);
 * two snapshots, the second with b/c.txt changed. */
static int setup(void **state)
{
	struct mv_init_opts io = {.chunk = {4096, 16384, 65536}};
	char recovery[MV_RECOVERY_TEXT_LEN + 1], rdir[256];
	struct mv_error err = {0};

	(void)state;
	assert_int_equal(mv_crypto_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/mvquery.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/src", dir);
	assert_int_equal(mkdir(src, 0755), 0);
	make_dir("b");
	make_dir("b/d");
	make_dir("z");
	write_file("a.txt", "alpha\n");
	write_file("b/c.txt", "charlie\n");
	write_file("b/d/e.txt", "echo\n");
	write_file("b/d/same.txt", "alpha\n");
	snprintf(rdir, sizeof(rdir), "%s/repo", dir);
	assert_int_equal(
	    mv_repo_init(rdir, (const uint8_t *)PASSWORD, strlen(PASSWORD), &io, recovery, &err),
	    0);
	open_repo();
	backup();
	write_file("b/c.txt", "charlie, changed\n");
	backup();
	mv_repo_close(repo);
	open_repo(); /* as a fresh process reads it */
	assert_int_equal(mv_repo_snapshots(repo, &snaps, &nsnaps, NULL, &err), 0);
	assert_int_equal(nsnaps, 2);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	mv_snapshots_free(snaps, nsnaps);
	mv_repo_close(repo);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* ---- a recorder of events --------------------------------------------- */

struct rec {
	char log[4096];     /* "N:/a.txt L:/b E0:/b/d ..." paths relative to src */
	const char *skip;   /* NODE of this path returns MV_WALK_SKIP */
	const char *stop;   /* NODE of this path stops the walk with 7 */
	uint8_t d_tree[32]; /* the tree of b/d */
	int enters;
};

static const char *rel(const char *path)
{
	size_t l = strlen(src);
	return strncmp(path, src, l) == 0 ? path + l : path;
}

static int record(void *arg, const struct mv_walk_item *it)
{
	struct rec *r = arg;
	char one[600];
	const char *p = rel(it->path);
	switch (it->event) {
	case MV_WALK_ENTER:
		r->enters++;
		return MV_WALK_CONTINUE;
	case MV_WALK_NODE:
		snprintf(one, sizeof(one), "%s:%s ", it->start ? "S" : "N", p);
		if (it->node->kind == MV_NODE_DIR && strcmp(p, "/b/d") == 0)
			memcpy(r->d_tree, it->node->subtree, 32);
		break;
	case MV_WALK_LEAVE:
		assert_non_null(it->node);
		assert_int_equal(it->node->kind, MV_NODE_DIR);
		snprintf(one, sizeof(one), "L:%s ", p);
		break;
	case MV_WALK_ERROR:
		assert_non_null(it->err);
		snprintf(one, sizeof(one), "E%d:%s ", (int)it->error, p);
		break;
	default:
		return MV_WALK_CONTINUE;
	}
	size_t have = strlen(r->log), add = strlen(one);
	assert_true(have + add < sizeof(r->log));
	memcpy(r->log + have, one, add + 1);
	if (it->event == MV_WALK_NODE && r->skip && strcmp(p, r->skip) == 0)
		return MV_WALK_SKIP;
	if (it->event == MV_WALK_NODE && r->stop && strcmp(p, r->stop) == 0)
		return 7;
	return MV_WALK_CONTINUE;
}

/* ---- the walker ------------------------------------------------------- */

static void walk_log(const struct mv_walk_opts *o, struct rec *r, int want_rc)
{
	struct mv_error err = {0};
	assert_int_equal(mv_walk_tree(repo, snaps[1].tree, o, record, r, &err), want_rc);
}

static void test_query__walk_names_in_order_leave_after_contents(void **state)
{
	struct mv_walk_opts o = {.subpath = src};
	struct rec r = {0};
	(void)state;
	walk_log(&o, &r, 0);
	assert_string_equal(r.log, "S: N:/a.txt N:/b N:/b/c.txt N:/b/d N:/b/d/e.txt "
	                           "N:/b/d/same.txt L:/b/d L:/b N:/z L:/z L: ");
}

static void test_query__walk_skip_and_stop(void **state)
{
	struct mv_walk_opts o = {.subpath = src};
	struct rec r = {.skip = "/b"};
	(void)state;
	walk_log(&o, &r, 0);
	/* a skipped folder: neither its contents nor a LEAVE */
	assert_string_equal(r.log, "S: N:/a.txt N:/b N:/z L:/z L: ");
	struct rec s = {.stop = "/b/c.txt"};
	walk_log(&o, &s, 7);
	assert_string_equal(s.log, "S: N:/a.txt N:/b N:/b/c.txt ");
}

static void test_query__walk_subpath_file_dir_and_absent(void **state)
{
	char sub[300];
	struct mv_error err = {0};
	(void)state;
	snprintf(sub, sizeof(sub), "%s//b/d/", src);
	struct mv_walk_opts o = {.subpath = sub};
	struct rec r = {0};
	walk_log(&o, &r, 0);
	assert_string_equal(r.log, "S:/b/d N:/b/d/e.txt N:/b/d/same.txt L:/b/d ");

	snprintf(sub, sizeof(sub), "%s/b/c.txt", src);
	struct rec f = {0};
	walk_log(&o, &f, 0);
	assert_string_equal(f.log, "S:/b/c.txt ");

	snprintf(sub, sizeof(sub), "%s/b/c.txt/x", src);
	struct rec g = {0};
	assert_int_equal(mv_walk_tree(repo, snaps[1].tree, &o, record, &g, &err), MV_ERR_NOTFOUND);
	assert_int_equal(err.saved_errno, ENOENT);
	assert_string_equal(g.log, "");
	snprintf(sub, sizeof(sub), "%s/nothere", src);
	assert_int_equal(mv_walk_tree(repo, snaps[1].tree, &o, record, &g, &err), MV_ERR_NOTFOUND);
	assert_non_null(strstr(err.msg, "is not in the snapshot"));
}

static void test_query__walk_depth_and_path_limits(void **state)
{
	struct mv_walk_opts o = {.subpath = src};
	struct rec r = {0};
	struct mv_error err = {0};
	int below = 0; /* depth of src's own tree */
	(void)state;
	for (const char *p = src; *p; p++)
		below += *p == '/';
	/* b/d's tree is src's depth + 2: one level less is allowed */
	o.max_depth = below + 1;
	walk_log(&o, &r, 0);
	assert_string_equal(r.log, "S: N:/a.txt N:/b N:/b/c.txt N:/b/d E2:/b/d L:/b/d L:/b N:/z "
	                           "L:/z L: ");
	struct mv_walk_opts p = {.path_max = strlen(src) + strlen("/b/d/e.txt")};
	struct rec s = {0};
	assert_int_equal(mv_walk_tree(repo, snaps[1].tree, &p, record, &s, &err), 0);
	assert_non_null(strstr(s.log, "E3:/b/d "));    /* e.txt: one byte too long */
	assert_null(strstr(s.log, "N:/b/d/e.txt "));   /* not visited */
	assert_non_null(strstr(s.log, "N:/b/c.txt ")); /* as long as e.txt's name: fits */
}

/* ---- damage ----------------------------------------------------------- */

/* Flips one byte in the middle of blob id in its pack (twice: repaired). */
static void flip(const uint8_t id[32])
{
	struct mv_blob_loc l, *loc = &l;
	char hex[65], path[512];
	uint8_t b;
	assert_true(mv_repo_index_lookup(repo, id, loc));
	mv_repo_index_pack_name(repo, loc->pack, hex);
	snprintf(path, sizeof(path), "%s/repo/data/%.2s/%s", dir, hex, hex);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)loc->offset + loc->length / 2), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)loc->offset + loc->length / 2), 1);
	close(fd);
}

static int count_node(void *arg, const char *path, const struct mv_node *n)
{
	(void)path;
	(void)n;
	++*(int *)arg;
	return 0;
}

static void test_query__walk_damaged_tree_is_an_error_event(void **state)
{
	int nodes = 0;
	struct mv_walk_opts o = {.subpath = src};
	struct rec r = {0}, d = {0};
	struct mv_error err = {0};
	(void)state;
	walk_log(&o, &r, 0);
	flip(r.d_tree);
	walk_log(&o, &d, 0);
	/* b/d's contents are hidden, the walk goes on after it */
	assert_string_equal(d.log, "S: N:/a.txt N:/b N:/b/c.txt N:/b/d E0:/b/d L:/b/d L:/b N:/z "
	                           "L:/z L: ");
	/* the simple walk stops with the tree's error */
	assert_int_equal(mv_walk(repo, snaps[1].tree, count_node, &nodes, &err), MV_ERR_INTEGRITY);
	assert_true(nodes > 0);
	flip(r.d_tree);
}

/* ---- queries ---------------------------------------------------------- */

static void test_query__content_set_newest_snapshot_per_content(void **state)
{
	struct mv_content_set *cs;
	struct mv_error err = {0};
	uint8_t h[32];
	(void)state;
	assert_int_equal(mv_content_set_load(repo, NULL, &cs, &err), 0);
	/* alpha (twice), charlie, charlie changed, echo */
	assert_int_equal(mv_content_set_count(cs), 4);
	size_t n;
	mv_content_set_snapshots(cs, &n);
	assert_int_equal(n, 2);
	memset(h, 0, sizeof(h));
	assert_int_equal(mv_content_set_find(cs, h), -1);
	mv_content_set_free(cs);
}

static int count_kinds(const struct mv_index *set, uint8_t type)
{
	int n = 0;
	for (size_t i = 0; i < mv_index_count(set); i++)
		n += mv_index_at(set, i)->type == type;
	return n;
}

static void test_query__used_blobs_and_pack_usage(void **state)
{
	struct mv_index *all, *old;
	struct mv_pack_usage *u;
	struct mv_error err = {0};
	size_t np, unreadable = 9;
	(void)state;
	assert_int_equal(mv_query_used_blobs(repo, snaps, nsnaps, &unreadable, &all, &err), 0);
	assert_int_equal(unreadable, 0);
	/* the whole repository is used: every indexed blob is in the set */
	assert_int_equal(mv_index_count(all), mv_repo_index_count(repo));
	for (size_t i = 0; i < mv_repo_index_count(repo); i++) {
		struct mv_blob_loc l;
		mv_repo_index_at(repo, i, &l);
		const struct mv_blob_loc *s = mv_index_lookup(all, l.id);
		assert_non_null(s);
		assert_int_equal(s->type, l.type);
		assert_int_equal(s->pack, MV_PACK_NONE);
	}
	/* 4 contents of one chunk each */
	assert_int_equal(count_kinds(all, MV_T_DATA), 4);

	/* the first snapshot alone: "charlie, changed" and the trees above it
	 * (b, src and its parents) are not used */
	assert_int_equal(mv_query_used_blobs(repo, snaps, 1, NULL, &old, &err), 0);
	assert_int_equal(count_kinds(old, MV_T_DATA), 3);
	assert_int_equal(mv_query_pack_usage(repo, old, &u, &np, &err), 0);
	assert_int_equal(np, mv_repo_index_npacks(repo));
	uint64_t blobs = 0, used = 0, bytes = 0, used_bytes = 0;
	for (size_t p = 0; p < np; p++) {
		struct mv_blob_loc *b;
		size_t nb;
		assert_int_equal(u[p].pack, p);
		assert_true(u[p].used_blobs <= u[p].blobs && u[p].used_bytes <= u[p].bytes);
		blobs += u[p].blobs;
		used += u[p].used_blobs;
		bytes += u[p].bytes;
		used_bytes += u[p].used_bytes;
		assert_int_equal(mv_query_pack_blobs(repo, (uint32_t)p, &b, &nb, &err), 0);
		assert_int_equal(nb, u[p].blobs);
		for (size_t i = 1; i < nb; i++)
			assert_true(b[i - 1].offset < b[i].offset);
		for (size_t i = 0; i < nb; i++)
			assert_int_equal(b[i].pack, p);
		free(b);
	}
	assert_int_equal(blobs, mv_repo_index_count(repo));
	assert_int_equal(used, mv_index_count(old));
	assert_true(used < blobs && used_bytes < bytes);
	free(u);
	struct mv_blob_loc *none;
	size_t nn;
	assert_int_equal(mv_query_pack_blobs(repo, (uint32_t)np, &none, &nn, &err),
	                 MV_ERR_NOTFOUND);
	assert_null(none);
	mv_index_free(old);
	mv_index_free(all);
}

static void test_query__damaged_tree_fails_or_is_counted(void **state)
{
	struct mv_walk_opts o = {.subpath = src};
	struct mv_index *set;
	struct mv_content_set *cs;
	struct mv_error err = {0};
	struct rec r = {0};
	size_t unreadable = 0;
	(void)state;
	walk_log(&o, &r, 0);
	flip(r.d_tree);
	/* a command that deletes must not go on */
	assert_int_equal(mv_query_used_blobs(repo, snaps, nsnaps, NULL, &set, &err),
	                 MV_ERR_INTEGRITY);
	assert_null(set);
	/* counted: the tree itself is still referred to, e.txt's blob is hidden */
	assert_int_equal(mv_query_used_blobs(repo, snaps, nsnaps, &unreadable, &set, &err), 0);
	assert_int_equal(unreadable, 1); /* shared by both snapshots: read once */
	assert_non_null(mv_index_lookup(set, r.d_tree));
	assert_int_equal(count_kinds(set, MV_T_DATA), 3);
	mv_index_free(set);
	/* the content set reports it and goes on */
	assert_int_equal(mv_content_set_load(repo, NULL, &cs, &err), 0);
	assert_int_equal(mv_content_set_count(cs), 3); /* echo is hidden */
	mv_content_set_free(cs);
	flip(r.d_tree);
}

/* ---- split trees ------------------------------------------------------ */

#define MANY 8300 /* over MV_TREE_PART_NODES: the folder is stored in parts */

struct parts {
	char big[256];
	uint8_t ids[8][32];
	uint32_t count;
	size_t nodes;
	int part_errors;
	char last[16];
	int ordered;
};

static int on_parts(void *arg, const struct mv_walk_item *it)
{
	struct parts *p = arg;
	switch (it->event) {
	case MV_WALK_OPENED:
		if (strcmp(it->path, p->big) == 0) {
			assert_true(it->parts->count <= 8);
			p->count = it->parts->count;
			memcpy(p->ids, it->parts->ids, (size_t)p->count * 32);
		}
		break;
	case MV_WALK_NODE:
		if (strncmp(it->path, p->big, strlen(p->big)) != 0 || it->node->name_len != 6)
			break;
		p->nodes++;
		if (memcmp(it->node->name, p->last, 6) <= 0)
			p->ordered = 0;
		memcpy(p->last, it->node->name, 6);
		break;
	case MV_WALK_ERROR:
		assert_int_equal(it->error, MV_WALK_E_PART);
		assert_string_equal(it->path, p->big);
		p->part_errors++;
		break;
	default:
		break;
	}
	return MV_WALK_CONTINUE;
}

static void test_query__split_tree_parts_are_used_and_skipped_when_damaged(void **state)
{
	const char *paths[1];
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1, .threads = 1};
	struct mv_backup_result br;
	struct mv_error err = {0};
	struct mv_snapshot *all;
	struct mv_index *set;
	size_t n;
	char path[300];
	(void)state;

	struct parts p = {.ordered = 1};
	snprintf(p.big, sizeof(p.big), "%s/big", dir);
	assert_int_equal(mkdir(p.big, 0755), 0);
	for (int i = 0; i < MANY; i++) {
		snprintf(path, sizeof(path), "%s/f%05d", p.big, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	paths[0] = p.big;
	assert_int_equal(mv_backup(repo, &bo, NULL, &br, &err), 0);
	mv_repo_close(repo);
	open_repo();
	assert_int_equal(mv_repo_snapshots(repo, &all, &n, NULL, &err), 0);
	const struct mv_snapshot *snap = NULL;
	for (size_t i = 0; i < n; i++)
		if (all[i].npaths == 1 && strcmp(all[i].paths[0], p.big) == 0)
			snap = &all[i];
	assert_non_null(snap);

	struct mv_walk_opts o = {.opened = 1};
	assert_int_equal(mv_walk_tree(repo, snap->tree, &o, on_parts, &p, &err), 0);
	assert_true(p.count >= 2);
	assert_int_equal(p.nodes, MANY);
	assert_true(p.ordered);
	assert_int_equal(mv_query_used_blobs(repo, snap, 1, NULL, &set, &err), 0);
	for (uint32_t i = 0; i < p.count; i++) {
		const struct mv_blob_loc *l = mv_index_lookup(set, p.ids[i]);
		assert_non_null(l);
		assert_int_equal(l->type, MV_T_TREE);
	}
	mv_index_free(set);

	/* a damaged part hides its entries only */
	flip(p.ids[0]);
	struct parts d = {.ordered = 1};
	memcpy(d.big, p.big, sizeof(d.big));
	assert_int_equal(mv_walk_tree(repo, snap->tree, &o, on_parts, &d, &err), 0);
	assert_int_equal(d.part_errors, 1);
	assert_true(d.nodes > 0 && d.nodes < MANY);
	assert_true(d.ordered);
	flip(p.ids[0]);
	mv_snapshots_free(all, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query__walk_names_in_order_leave_after_contents),
	    cmocka_unit_test(test_query__walk_skip_and_stop),
	    cmocka_unit_test(test_query__walk_subpath_file_dir_and_absent),
	    cmocka_unit_test(test_query__walk_depth_and_path_limits),
	    cmocka_unit_test(test_query__walk_damaged_tree_is_an_error_event),
	    cmocka_unit_test(test_query__content_set_newest_snapshot_per_content),
	    cmocka_unit_test(test_query__used_blobs_and_pack_usage),
	    cmocka_unit_test(test_query__damaged_tree_fails_or_is_counted),
	    cmocka_unit_test(test_query__split_tree_parts_are_used_and_skipped_when_damaged),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
