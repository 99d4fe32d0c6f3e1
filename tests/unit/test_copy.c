/* core/ops/copy.c and the chunker key sealed in config (FORMAT.md 3.1):
 * a repository made with another one's chunker key cuts alike and says so,
 * one without does not; the key survives a reopen; a config with the bit is
 * decoded, one with an unknown incompatible bit is "newer"; a copy into the
 * same repository is refused before anything is written. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "core/ops/backup.h"
#include "core/ops/copy.h"
#include "core/ops/restore.h"
#include "core/repo/walker.h"
#include "core/repo/repo.h"
#include "formats/config.h"
#include "formats/fmt_err.h"
#include "tests/unit/testutil.h"

static void make_with_key(struct tu_repo_dir *t, const char *prefix, const uint8_t *key,
                          const struct mv_config_fields *like)
{
	struct mv_init_opts io = {0};
	struct mv_error err = {0};
	char rec[MV_RECOVERY_TEXT_LEN + 1];

	io.chunker_key = key;
	io.chunk.min = like->chunk_min;
	io.chunk.avg = like->chunk_avg;
	io.chunk.max = like->chunk_max;
	tu_tmpdir(t->dir, sizeof(t->dir), prefix);
	snprintf(t->repo, sizeof(t->repo), "%s/repo", t->dir);
	assert_int_equal(mv_repo_init(t->repo, (const uint8_t *)TU_PASSWORD, strlen(TU_PASSWORD),
	                              &io, rec, &err),
	                 0);
}

static void test_copy__shared_chunker_key(void **state)
{
	(void)state;
	struct tu_repo_dir a, b, c;
	uint8_t key[32];

	tu_repo_dir_make(&a, "cpa", NULL);
	struct mv_repo *ra = tu_repo_open(a.repo);
	memcpy(key, mv_repo_keys(ra)->chunker, 32);
	make_with_key(&b, "cpb", key, mv_repo_config(ra));
	tu_repo_dir_make(&c, "cpc", NULL);
	struct mv_repo *rb = tu_repo_open(b.repo);
	struct mv_repo *rc = tu_repo_open(c.repo);

	/* b cuts as a, with its own other keys; c has its own chunker */
	assert_true(mv_repo_config(rb)->incompat & MV_CONFIG_INCOMPAT_CHUNKER_KEY);
	assert_false(mv_repo_config(rc)->incompat & MV_CONFIG_INCOMPAT_CHUNKER_KEY);
	assert_memory_equal(mv_repo_keys(rb)->chunker, key, 32);
	assert_memory_not_equal(mv_repo_keys(rb)->blob_id, mv_repo_keys(ra)->blob_id, 32);
	assert_memory_not_equal(mv_repo_keys(rb)->enc, mv_repo_keys(ra)->enc, 32);
	assert_int_equal(mv_copy_same_chunker(ra, rb), 1);
	assert_int_equal(mv_copy_same_chunker(rb, ra), 1);
	assert_int_equal(mv_copy_same_chunker(ra, rc), 0);

	/* the same cut points: a's and b's chunkers agree on random data */
	uint8_t *data = tu_random_data(4u << 20, 9);
	size_t na = mv_chunker_next(mv_repo_chunker(ra), data, 4u << 20, 1);
	size_t nb = mv_chunker_next(mv_repo_chunker(rb), data, 4u << 20, 1);
	size_t nc = mv_chunker_next(mv_repo_chunker(rc), data, 4u << 20, 1);
	assert_int_equal(na, nb);
	assert_int_not_equal(na, nc);
	free(data);

	/* into itself: refused before anything is read or written */
	struct mv_copy_result res;
	struct mv_error err = {0};
	assert_int_equal(mv_copy(ra, ra, NULL, 0, NULL, NULL, NULL, &res, &err), MV_ERR_USAGE);
	assert_non_null(strstr(err.msg, "same repository"));

	mv_repo_close(ra);
	mv_repo_close(rb);
	mv_repo_close(rc);
	tu_rm_rf(a.dir);
	tu_rm_rf(b.dir);
	tu_rm_rf(c.dir);
}

static void test_copy__config_bit(void **state)
{
	(void)state;
	struct mv_config_fields c = {.version = 1, .chunk_min = 1, .chunk_avg = 2, .chunk_max = 3},
	                        d;
	struct mv_wbuf w;
	uint8_t buf[MV_CONFIG_MAX];

	snprintf(c.chunker, sizeof(c.chunker), "fastcdc-gear-v1");
	snprintf(c.encoding, sizeof(c.encoding), "mvblob1");
	c.incompat = MV_CONFIG_INCOMPAT_CHUNKER_KEY;
	for (size_t i = 0; i < MV_CONFIG_SEALED_KEY_LEN; i++)
		c.chunker_key_sealed[i] = (uint8_t)i;
	mv_wbuf_init(&w, MV_CONFIG_MAX);
	mv_config_encode(&c, &w);
	assert_int_equal(w.failed, 0);
	memcpy(buf, w.data, w.len);
	memset(buf + w.len, 0, MV_CONFIG_MAC_LEN);
	assert_int_equal(mv_config_decode(buf, w.len + MV_CONFIG_MAC_LEN, 1, &d), 0);
	assert_memory_equal(d.chunker_key_sealed, c.chunker_key_sealed, MV_CONFIG_SEALED_KEY_LEN);
	/* the key cut short: malformed */
	memmove(buf + w.len - 1, buf + w.len, MV_CONFIG_MAC_LEN);
	assert_int_equal(mv_config_decode(buf, w.len - 1 + MV_CONFIG_MAC_LEN, 1, &d),
	                 MV_FMT_MALFORMED);
	/* an incompatible bit this version does not know: a newer format */
	c.incompat = 2;
	w.len = 0;
	mv_config_encode(&c, &w);
	memcpy(buf, w.data, w.len);
	memset(buf + w.len, 0, MV_CONFIG_MAC_LEN);
	assert_int_equal(mv_config_decode(buf, w.len + MV_CONFIG_MAC_LEN, 1, &d), MV_FMT_VERSION);
	mv_wbuf_release(&w);
}

/* The chunk count of the file node named `name` in a snapshot. */
struct count_arg {
	const char *name;
	uint32_t chunks;
};

static int count_chunks(void *arg, const char *path, const struct mv_node *n)
{
	struct count_arg *a = arg;
	const char *slash = strrchr(path, '/');
	if (n->kind == MV_NODE_FILE && slash && strcmp(slash + 1, a->name) == 0)
		a->chunks = n->nchunks;
	return 0;
}

static uint32_t chunks_of(struct mv_repo *r, const struct mv_snapshot *s, const char *name)
{
	struct count_arg a = {name, 0};
	struct mv_error err = {0};
	assert_int_equal(mv_walk(r, s->tree, count_chunks, &a, &err), 0);
	return a.chunks;
}

/* Small chunks in the source, the default sizes in the destination: files
 * are cut again, the copy restores byte for byte, a second copy skips. */
static void test_copy__other_chunk_sizes(void **state)
{
	(void)state;
	struct tu_repo_dir a, b;
	struct mv_init_opts io = {.chunk = {4096, 16384, 65536}};
	struct mv_error err = {0};
	char rec[MV_RECOVERY_TEXT_LEN + 1], src[128], path[640], out[160];
	size_t damaged = 0, n = 0;

	tu_tmpdir(a.dir, sizeof(a.dir), "cpsa");
	snprintf(a.repo, sizeof(a.repo), "%s/repo", a.dir);
	assert_int_equal(
	    mv_repo_init(a.repo, (const uint8_t *)TU_PASSWORD, strlen(TU_PASSWORD), &io, rec, &err),
	    0);
	tu_repo_dir_make(&b, "cpsb", NULL);
	snprintf(src, sizeof(src), "%s/src", a.dir);
	assert_int_equal(mkdir(src, 0700), 0);
	uint8_t *data = tu_random_data(300000, 3);
	snprintf(path, sizeof(path), "%s/big.bin", src);
	tu_write_file(path, data, 300000, 0600);
	snprintf(path, sizeof(path), "%s/empty", src);
	tu_write_file(path, "", 0, 0600);

	struct mv_repo *ra = tu_repo_open(a.repo);
	const char *paths[1] = {src};
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1, .threads = 1};
	struct mv_backup_result br;
	assert_int_equal(mv_backup(ra, &bo, NULL, &br, &err), 0);
	mv_repo_close(ra);

	ra = tu_repo_open(a.repo);
	struct mv_repo *rb = tu_repo_open(b.repo);
	assert_int_equal(mv_repo_load_index(ra, 0, &damaged, &err), 0);
	assert_int_equal(mv_repo_load_index(rb, 1, &damaged, &err), 0);
	struct mv_snapshot *snaps = NULL;
	assert_int_equal(mv_repo_snapshots(ra, &snaps, &n, &damaged, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(mv_copy_same_chunker(ra, rb), 0);
	struct mv_copy_result res;
	assert_int_equal(mv_copy(ra, rb, snaps, n, NULL, NULL, NULL, &res, &err), 0);
	assert_int_equal(res.copied, 1);
	assert_true(res.rechunked);
	/* again: skipped */
	assert_int_equal(mv_copy(ra, rb, snaps, n, NULL, NULL, NULL, &res, &err), 0);
	assert_int_equal(res.copied, 0);
	assert_int_equal(res.skipped, 1);
	mv_repo_close(rb);

	/* the destination, as a new process reads it */
	rb = tu_repo_open(b.repo);
	assert_int_equal(mv_repo_load_index(rb, 0, &damaged, &err), 0);
	struct mv_snapshot *bs = NULL;
	size_t nb = 0;
	assert_int_equal(mv_repo_snapshots(rb, &bs, &nb, &damaged, &err), 0);
	assert_int_equal(nb, 1);
	assert_true(chunks_of(ra, &snaps[0], "big.bin") > 1);  /* 16 KiB chunks */
	assert_int_equal(chunks_of(rb, &bs[0], "big.bin"), 1); /* under 512 KiB: one */
	uint8_t orig[32];
	mv_copy_original(&bs[0], orig);
	assert_memory_equal(orig, snaps[0].id, 32);

	snprintf(out, sizeof(out), "%s/out", a.dir);
	struct mv_restore_opts ro = {.target = out, .threads = 1};
	struct mv_restore_result rr;
	assert_int_equal(mv_restore(rb, &bs[0], &ro, NULL, &rr, &err), 0);
	snprintf(path, sizeof(path), "%s%s/big.bin", out, src);
	size_t len = 0;
	uint8_t *back = tu_read_file(path, &len);
	assert_int_equal(len, 300000);
	assert_memory_equal(back, data, 300000);
	free(back);
	free(data);
	mv_snapshots_free(snaps, n);
	mv_snapshots_free(bs, nb);
	mv_repo_close(ra);
	mv_repo_close(rb);
	tu_rm_rf(a.dir);
	tu_rm_rf(b.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_copy__shared_chunker_key),
	    cmocka_unit_test(test_copy__config_bit),
	    cmocka_unit_test(test_copy__other_chunk_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
