/* The proof before destruction (core/wipe/proof.h) on the in-memory
 * backend (core/backend/mem.h): a file backed up is proven wherever it sat,
 * a changed file is refused, a flipped byte in a pack fails exactly the
 * files whose blob it hit, a missing pack or an unreadable tree refuses
 * what it holds, and each blob is read once, one request per pack. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/backend/mem.h"
#include "core/ops/ops.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/walker.h"
#include "core/wipe/proof.h"
#include "tests/unit/testutil.h"

static char dir[64], src[128];
static char recovery[TU_RECOVERY_LEN];
static struct mv_mem_store *backed; /* one snapshot of src */
static struct mv_mem_store *ctor_store;

/* a.bin and b.bin span several chunks; d/moved.bin holds b.bin's bytes at
 * another path; c.txt and c2.txt are one small chunk, the same; d/only.txt
 * is only there. */
static const char *const files[] = {"a.bin",  "b.bin",       "c.txt",
                                    "c2.txt", "d/moved.bin", "d/only.txt"};
#define NFILES 6
enum { A, B, C, C2, MOVED, ONLY };

static int mem_ctor(void *arg, const char *rest, struct mv_backend **out, struct mv_error *err)
{
	(void)arg;
	(void)rest;
	return mv_backend_mem_open(ctor_store, out, err);
}

static void write_src(const char *rel, const void *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	tu_write_file(path, p, n, 0644);
}

static struct mv_repo *open_repo(struct mv_mem_store *s)
{
	struct mv_backend *m;
	struct mv_repo *r;
	struct mv_error e = {0};
	size_t damaged;
	assert_int_equal(mv_backend_mem_open(s, &m, &e), 0);
	assert_int_equal(mv_repo_open_backend(m, &r, &e), 0);
	assert_int_equal(mv_repo_unlock(r, (const uint8_t *)recovery, strlen(recovery), &e), 0);
	assert_int_equal(mv_repo_load_index(r, 0, &damaged, &e), 0);
	return r;
}

struct warns {
	int n;
	char last[512];
};

static void on_warn(void *arg, const char *path, const char *msg)
{
	struct warns *w = arg;
	w->n++;
	snprintf(w->last, sizeof(w->last), "%s: %s", path, msg);
}

/* The repository in a store, open, with the proof of its latest snapshot;
 * the warnings of the load in w. */
struct latest {
	struct mv_repo *r;
	struct mv_snapshot snap;
	struct mv_proof *p;
	struct warns w;
};

static void open_latest(struct mv_mem_store *s, struct latest *l)
{
	struct mv_events ev = {.warn = on_warn, .arg = &l->w};
	struct mv_error e = {0};
	memset(l, 0, sizeof(*l));
	l->r = open_repo(s);
	assert_int_equal(mv_repo_find_snapshot(l->r, "latest", &l->snap, &e), 0);
	assert_int_equal(mv_proof_load(l->r, &l->snap, &ev, &l->p, &e), 0);
}

static void close_latest(struct latest *l)
{
	mv_proof_free(l->p);
	mv_snapshot_release(&l->snap);
	mv_repo_close(l->r);
}

/* The content hash of src/rel, as the wipe computes it. */
static void hash(struct mv_proof *p, const char *rel, uint8_t out[32])
{
	char path[256];
	struct stat st;
	struct mv_error e = {0};
	uint64_t got;
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(mv_proof_hash_file(p, 0, fd, (uint64_t)st.st_size, out, &got, NULL, &e),
	                 0);
	assert_int_equal(got, (uint64_t)st.st_size);
	close(fd);
}

/* Verifies every file of src against the latest snapshot of store. */
static void verify_all(struct mv_mem_store *store, unsigned flags, struct mv_proof_result *res,
                       struct warns *w)
{
	struct latest l;
	uint8_t contents[NFILES][32];
	struct mv_error e = {0};
	open_latest(store, &l);
	for (size_t i = 0; i < NFILES; i++)
		hash(l.p, files[i], contents[i]);
	assert_int_equal(
	    mv_proof_verify(l.p, (const uint8_t(*)[32])contents, NFILES, flags, 2, res, NULL, &e),
	    0);
	*w = l.w;
	close_latest(&l);
}

/* Where the single blob of c.txt lies: its pack's name and offset. */
static void c_blob(struct mv_repo *r, char pack[65], uint32_t *offset, uint32_t *length)
{
	char path[256];
	size_t n;
	uint8_t id[32];
	struct mv_blob_loc l;
	snprintf(path, sizeof(path), "%s/c.txt", src);
	uint8_t *data = tu_read_file(path, &n);
	mv_blob_id(mv_repo_keys(r), data, n, id);
	free(data);
	assert_true(mv_repo_index_lookup(r, id, &l));
	mv_repo_index_pack_name(r, l.pack, pack);
	*offset = l.offset;
	*length = l.length;
}

/* ---- the cases ------------------------------------------------------------ */

static void test_proof__unchanged_ok(void **state)
{
	struct mv_proof_result res[NFILES];
	struct warns w = {0};
	(void)state;
	verify_all(backed, 0, res, &w);
	for (size_t i = 0; i < NFILES; i++) {
		assert_int_equal(res[i].status, MV_PROOF_OK);
		assert_int_equal(res[i].snap, 0);
		assert_string_equal(res[i].reason, "");
	}
	assert_int_equal(w.n, 0);
}

/* Found by content: moved.bin's bytes sat at b.bin's path (or the other
 * way round); the proof names a path where they sat. */
static void test_proof__found_by_content(void **state)
{
	struct latest l;
	uint8_t c[32];
	const char *where;
	uint64_t size;
	size_t k;
	(void)state;
	open_latest(backed, &l);
	hash(l.p, "d/moved.bin", c);
	assert_int_equal(mv_proof_find(l.p, c, &k, &size, &where), 1);
	assert_int_equal(k, 0);
	assert_int_equal(size, 40000);
	assert_non_null(strstr(where, "b.bin"));
	assert_int_equal(mv_proof_count(l.p), 4); /* a, b = moved, c = c2, only */
	close_latest(&l);
}

static void test_proof__changed_refused(void **state)
{
	struct latest l;
	struct mv_proof_result res;
	struct mv_error e = {0};
	char path[256], want[64], sid[9];
	size_t n;
	uint8_t c[32];
	(void)state;
	open_latest(backed, &l);
	/* a.bin with one byte changed, beside the source */
	snprintf(path, sizeof(path), "%s/a.bin", src);
	uint8_t *data = tu_read_file(path, &n);
	data[n / 2] ^= 1;
	snprintf(path, sizeof(path), "%s/changed.bin", dir);
	tu_write_file(path, data, n, 0600);
	free(data);
	int fd = open(path, O_RDONLY);
	uint64_t got;
	assert_true(fd >= 0);
	assert_int_equal(mv_proof_hash_file(l.p, 1, fd, n, c, &got, NULL, &e), 0);
	close(fd);
	assert_int_equal(mv_proof_verify(l.p, (const uint8_t(*)[32])c, 1, 0, 0, &res, NULL, &e), 0);
	assert_int_equal(res.status, MV_PROOF_ABSENT);
	mv_hex(l.snap.id, 4, sid);
	snprintf(want, sizeof(want), "not in snapshot %s", sid);
	assert_string_equal(res.reason, want);
	close_latest(&l);
}

/* One flipped byte in c.txt's blob: c.txt and c2.txt refused as damaged,
 * the others proven; looking the blobs up in the index only does not see
 * it. */
static void test_proof__flipped_byte(void **state)
{
	struct mv_mem_store *s = mv_mem_store_copy(backed);
	struct mv_proof_result res[NFILES];
	struct warns w = {0};
	char pack[65];
	uint32_t off, len;
	(void)state;
	assert_non_null(s);
	struct mv_repo *r = open_repo(s);
	c_blob(r, pack, &off, &len);
	mv_repo_close(r);
	assert_int_equal(mv_mem_flip(s, MV_FT_PACK, pack, off + len / 2), 0);

	verify_all(s, 0, res, &w);
	for (size_t i = 0; i < NFILES; i++) {
		if (i == C || i == C2) {
			assert_int_equal(res[i].status, MV_PROOF_DAMAGED);
			assert_non_null(strstr(res[i].reason, " damaged: "));
			assert_int_equal(strncmp(res[i].reason, "blob ", 5), 0);
		} else {
			assert_int_equal(res[i].status, MV_PROOF_OK);
		}
	}
	verify_all(s, MV_PROOF_INDEX_ONLY, res, &w);
	for (size_t i = 0; i < NFILES; i++)
		assert_int_equal(res[i].status, MV_PROOF_OK);
	mv_mem_store_free(s);
}

/* The pack goes missing after the proof was loaded (its trees were read):
 * every file with a blob in it is refused, the read naming the pack
 * missing. (Here trees and data share the one pack: when it is missing
 * before the proof is loaded, every file is absent from the snapshot.) */
static void test_proof__missing_pack(void **state)
{
	struct mv_mem_store *s = mv_mem_store_copy(backed);
	struct mv_proof_result res[NFILES];
	uint8_t contents[NFILES][32];
	struct mv_error e = {0};
	struct latest l;
	struct warns w;
	char pack[65];
	uint32_t off, len;
	(void)state;
	assert_non_null(s);
	open_latest(s, &l);
	for (size_t i = 0; i < NFILES; i++)
		hash(l.p, files[i], contents[i]);
	c_blob(l.r, pack, &off, &len);
	struct mv_backend *be = mv_repo_backend(l.r);
	assert_int_equal(be->ops->remove(be, MV_FT_PACK, pack, &e), 0);
	assert_int_equal(
	    mv_proof_verify(l.p, (const uint8_t(*)[32])contents, NFILES, 0, 2, res, NULL, &e), 0);
	for (size_t i = 0; i < NFILES; i++) {
		assert_int_equal(res[i].status, MV_PROOF_MISSING);
		assert_non_null(
		    strstr(res[i].reason, " missing: its pack is not in the repository"));
	}
	close_latest(&l);

	/* missing when the repository is opened: nothing is proven */
	verify_all(s, 0, res, &w);
	for (size_t i = 0; i < NFILES; i++)
		assert_int_equal(res[i].status, MV_PROOF_ABSENT);
	assert_non_null(strstr(w.last, "is missing"));
	mv_mem_store_free(s);
}

/* The tree of d/ cannot be read: its files are absent from the proof (so
 * refused), and the proof says so. */
static int find_d(void *arg, const char *path, const struct mv_node *n)
{
	if (n->kind == MV_NODE_DIR && strcmp(path + strlen(path) - 2, "/d") == 0)
		memcpy(arg, n->subtree, 32);
	return 0;
}

static void test_proof__unreadable_tree(void **state)
{
	struct mv_mem_store *s = mv_mem_store_copy(backed);
	struct mv_proof_result res[NFILES];
	struct mv_snapshot snap;
	struct mv_error e = {0};
	struct mv_blob_loc loc;
	struct warns w = {0};
	uint8_t tree[32] = {0};
	char pack[65];
	(void)state;
	assert_non_null(s);
	struct mv_repo *r = open_repo(s);
	assert_int_equal(mv_repo_find_snapshot(r, "latest", &snap, &e), 0);
	assert_int_equal(mv_walk(r, snap.tree, find_d, tree, &e), 0);
	mv_snapshot_release(&snap);
	assert_true(mv_repo_index_lookup(r, tree, &loc));
	mv_repo_index_pack_name(r, loc.pack, pack);
	mv_repo_close(r);
	assert_int_equal(mv_mem_flip(s, MV_FT_PACK, pack, loc.offset + loc.length / 2), 0);

	verify_all(s, 0, res, &w);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, "cannot read tree"));
	/* moved.bin's bytes are also b.bin's, which sat outside d/ */
	for (size_t i = 0; i < NFILES; i++)
		assert_int_equal(res[i].status, i == ONLY ? MV_PROOF_ABSENT : MV_PROOF_OK);

	struct latest lt;
	open_latest(s, &lt);
	assert_int_equal(mv_proof_unreadable_trees(lt.p), 1);
	close_latest(&lt);
	mv_mem_store_free(s);
}

/* Each blob is read once, the blobs of a pack with one request. */
static void test_proof__reads_once(void **state)
{
	struct latest l;
	struct mv_proof_result res[2 * NFILES];
	uint8_t contents[2 * NFILES][32];
	struct mv_error e = {0};
	(void)state;
	open_latest(backed, &l);
	for (size_t i = 0; i < NFILES; i++) {
		hash(l.p, files[i], contents[i]);
		memcpy(contents[NFILES + i], contents[i], 32);
	}
	mv_mem_calls_reset(backed);
	assert_int_equal(
	    mv_proof_verify(l.p, (const uint8_t(*)[32])contents, 2 * NFILES, 0, 2, res, NULL, &e),
	    0);
	assert_int_equal(mv_mem_calls(backed, MV_MEM_GET), 1); /* the data is in one pack */
	for (size_t i = 0; i < 2 * NFILES; i++)
		assert_int_equal(res[i].status, MV_PROOF_OK);
	close_latest(&l);
}

/* ---- fixture ------------------------------------------------------------ */

static int group_setup(void **state)
{
	struct mv_init_opts io = {.chunk = {4096, 16384, 65536}};
	struct mv_error e = {0};
	char path[256];
	(void)state;
	assert_int_equal(mv_crypto_init(), 0);
	tu_tmpdir(dir, sizeof(dir), "mvproof");
	snprintf(src, sizeof(src), "%s/src", dir);
	assert_int_equal(mkdir(src, 0755), 0);
	snprintf(path, sizeof(path), "%s/d", src);
	assert_int_equal(mkdir(path, 0755), 0);
	uint8_t *a = tu_random_data(150000, 1), *b = tu_random_data(40000, 2);
	write_src(files[A], a, 150000);
	write_src(files[B], b, 40000);
	write_src(files[MOVED], b, 40000);
	write_src(files[C], "thirteen byte", 13);
	write_src(files[C2], "thirteen byte", 13);
	write_src(files[ONLY], "only in d", 9);
	free(a);
	free(b);

	backed = mv_mem_store_new();
	assert_non_null(backed);
	ctor_store = backed;
	assert_int_equal(mv_backend_register("mem", mem_ctor, NULL), 0);
	assert_int_equal(mv_repo_init("mem:proof", (const uint8_t *)TU_PASSWORD,
	                              strlen(TU_PASSWORD), &io, recovery, &e),
	                 0);
	mv_backend_unregister("mem");
	struct mv_repo *r = open_repo(backed);
	const char *paths[1] = {src};
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1, .threads = 2};
	struct mv_backup_result br;
	assert_int_equal(mv_backup(r, &bo, NULL, &br, &e), 0);
	mv_repo_close(r);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	mv_mem_store_free(backed);
	tu_rm_rf(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_proof__unchanged_ok),
	    cmocka_unit_test(test_proof__found_by_content),
	    cmocka_unit_test(test_proof__changed_refused),
	    cmocka_unit_test(test_proof__flipped_byte),
	    cmocka_unit_test(test_proof__missing_pack),
	    cmocka_unit_test(test_proof__unreadable_tree),
	    cmocka_unit_test(test_proof__reads_once),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
