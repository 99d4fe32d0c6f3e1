/* prune on the in-memory backend: the plan, the run, what it refuses, and
 * one fault at every backend call it makes (EIO, ENOSPC, a short read, a
 * transient error, flipped bytes read or written): each run returns 0 or
 * the error of the fault, and afterwards, faults off, check --read-data
 * passes, the kept snapshots read back unchanged and a second prune
 * finishes the work. */
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

#include <sodium.h>

#include "core/backend/mem.h"
#include "core/ops/ops.h"
#include "core/ops/prune.h"
#include "tests/unit/testutil.h"

#define PASSWORD "Correct-Horse-Battery-9"

static char dir[64], src[128];
static char recovery[MV_RECOVERY_TEXT_LEN + 1];
static struct mv_mem_store *ctor_store;
static struct mv_mem_store *forgot; /* five snapshots, the 2nd and 4th forgotten */
static char kept[3][65];            /* snapshots 1, 3, 5 */
static uint8_t kept_digest[3][32];
static char pack4[65]; /* the pack of backup 4: d, e (e used by snapshot 5) */
static int verbose;

static int mem_ctor(void *arg, const char *rest, struct mv_backend **out, struct mv_error *err)
{
	(void)arg;
	(void)rest;
	return mv_backend_mem_open(ctor_store, out, err);
}

static void write_src(const char *rel, size_t n, uint8_t seed)
{
	char path[256];
	uint8_t *p = tu_random_data(n, seed);
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	tu_write_file(path, p, n, 0644);
	free(p);
}

static void remove_src(const char *rel)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	assert_int_equal(unlink(path), 0);
}

static int open_repo(struct mv_mem_store *store, int load, struct mv_repo **out,
                     struct mv_error *err)
{
	return tu_mem_open(store, recovery, load, 1, out, err);
}

static void quiet(void *arg, const char *path, const char *msg)
{
	(void)arg;
	if (verbose)
		fprintf(stderr, "  %s: %s\n", path ? path : "", msg);
}

static const struct mv_events events = {.warn = quiet};

/* check --read-data is clean and the kept snapshots read back unchanged. */
static void assert_whole(struct mv_mem_store *s, const char *what)
{
	struct mv_repo *r;
	struct mv_error e = {0};
	struct mv_check_opts co = {.read_data = 1};
	struct mv_check_result res;
	if (open_repo(s, 0, &r, &e))
		fail_msg("%s: cannot open: %s", what, e.msg);
	int rc = mv_check(r, &co, &events, &res, &e);
	if (rc)
		fail_msg("%s: check gave %d (%s)", what, rc, e.msg);
	for (int i = 0; i < 3; i++) {
		uint8_t d[32];
		if (tu_dump_digest(r, kept[i], d, &e) || memcmp(d, kept_digest[i], 32) != 0)
			fail_msg("%s: snapshot %.8s reads back differently (%s)", what, kept[i],
			         e.msg);
	}
	mv_repo_close(r);
}

static int run_prune(struct mv_mem_store *s, const struct mv_prune_opts *o,
                     const struct mv_events *ev, const struct mv_mem_fault *f,
                     struct mv_prune_result *res, struct mv_error *err)
{
	struct mv_repo *r;
	assert_int_equal(open_repo(s, 0, &r, err), 0);
	mv_mem_calls_reset(s);
	if (f)
		mv_mem_fault_set(s, f);
	int rc = mv_prune(r, o, ev ? ev : &events, res, err);
	mv_mem_fault_clear(s);
	mv_repo_close(r);
	return rc;
}

static const struct mv_prune_opts all = {.unused_kind = MV_PRUNE_UNUSED_PERCENT};

/* ---- the plan and the run ------------------------------------------------ */

struct notes {
	unsigned deletes, repacks;
};

static void count_note(void *arg, const char *path, const char *msg)
{
	struct notes *n = arg;
	(void)path;
	n->deletes += strncmp(msg, "to delete", 9) == 0;
	n->repacks += strncmp(msg, "to repack", 9) == 0;
}

static void test_prune__dry_run_changes_nothing(void **state)
{
	(void)state;
	struct mv_mem_store *s = mv_mem_store_copy(forgot);
	struct mv_prune_opts o = all;
	struct mv_prune_result res;
	struct mv_error e = {0};
	struct notes n = {0};
	struct mv_events ev = {.warn = quiet, .note = count_note, .arg = &n};
	o.dry_run = 1;
	assert_int_equal(run_prune(s, &o, &ev, NULL, &res, &e), 0);
	assert_int_equal(mv_mem_calls(s, MV_MEM_PUT), 0);
	assert_int_equal(mv_mem_calls(s, MV_MEM_REMOVE), 0);
	assert_int_equal(res.snapshots, 3);
	assert_true(res.delete_packs >= 1);
	assert_true(res.repack_packs >= 1);
	assert_int_equal(n.deletes, res.delete_packs);
	assert_int_equal(n.repacks, res.repack_packs);
	assert_int_equal(res.deleted_packs, 0);
	assert_true(res.freed_bytes > 0);
	mv_mem_store_free(s);
}

static void test_prune__run(void **state)
{
	(void)state;
	struct mv_mem_store *s = mv_mem_store_copy(forgot);
	struct mv_prune_result res;
	struct mv_error e = {0};
	size_t packs = mv_mem_count(s, MV_FT_PACK);
	assert_int_equal(run_prune(s, &all, NULL, NULL, &res, &e), 0);
	assert_int_equal(res.deleted_packs, res.delete_packs + res.repack_packs);
	assert_true(res.new_packs >= 1);
	assert_int_equal(mv_mem_count(s, MV_FT_PACK), packs - res.deleted_packs + res.new_packs);
	assert_int_equal(res.delete_failures, 0);
	assert_whole(s, "after prune");
	/* everything left is used */
	assert_int_equal(run_prune(s, &all, NULL, NULL, &res, &e), 0);
	assert_true(res.nothing_to_do);
	assert_int_equal(res.unused_bytes, 0);
	mv_mem_store_free(s);
}

/* --max-unused unlimited deletes the unused packs and repacks nothing; a
 * repack limit below every pack repacks nothing either. */
static void test_prune__limits(void **state)
{
	(void)state;
	struct mv_mem_store *s = mv_mem_store_copy(forgot);
	struct mv_prune_opts o = all;
	struct mv_prune_result res;
	struct mv_error e = {0};
	o.max_repack_bytes = 1;
	o.dry_run = 1;
	assert_int_equal(run_prune(s, &o, NULL, NULL, &res, &e), 0);
	assert_int_equal(res.repack_packs, 0);
	assert_true(res.delete_packs >= 1);
	o = all;
	o.unused_kind = MV_PRUNE_UNUSED_UNLIMITED;
	assert_int_equal(run_prune(s, &o, NULL, NULL, &res, &e), 0);
	assert_int_equal(res.repack_packs, 0);
	assert_int_equal(res.new_packs, 0);
	assert_true(res.deleted_packs >= 1);
	assert_whole(s, "after prune --max-unused unlimited");
	mv_mem_store_free(s);
}

/* Flipped bytes in a pack being repacked: refused, nothing deleted. */
static void test_prune__damaged_pack_refused(void **state)
{
	(void)state;
	struct mv_mem_store *s = mv_mem_store_copy(forgot);
	struct mv_prune_result res;
	struct mv_error e = {0};
	size_t packs = mv_mem_count(s, MV_FT_PACK), index = mv_mem_count(s, MV_FT_INDEX);
	/* a byte in every 4 KiB: e's blobs, which snapshot 5 uses, are hit */
	for (uint64_t off = 30; mv_mem_flip(s, MV_FT_PACK, pack4, off) == 0; off += 4096)
		;
	assert_int_equal(run_prune(s, &all, NULL, NULL, &res, &e), MV_ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "run 'medvault check'"));
	assert_int_equal(mv_mem_count(s, MV_FT_INDEX), index);
	/* the old packs are all there; copies made before the damage was met
	 * may be there too */
	assert_true(mv_mem_count(s, MV_FT_PACK) >= packs);
	mv_mem_store_free(s);
}

/* A blob a kept snapshot uses is in no pack (its pack was lost), the trees
 * are readable: refused before anything is written. */
static void test_prune__missing_blob_refused(void **state)
{
	(void)state;
	struct mv_mem_store *s = mv_mem_store_copy(forgot);
	struct mv_prune_result res;
	struct mv_error e = {0};
	struct mv_backend *m;
	assert_int_equal(mv_backend_mem_open(s, &m, &e), 0);
	assert_int_equal(m->ops->remove(m, MV_FT_PACK, pack4, &e), 0);
	mv_backend_close(m);
	assert_int_equal(run_prune(s, &all, NULL, NULL, &res, &e), MV_ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "in no pack"));
	assert_int_equal(mv_mem_calls(s, MV_MEM_PUT), 0);
	assert_int_equal(mv_mem_calls(s, MV_MEM_REMOVE), 0);
	mv_mem_store_free(s);
}

/* ---- faults ---------------------------------------------------------------- */

struct kind {
	const char *name;
	enum mv_mem_fault_kind kind;
	int op;
	int want; /* the error it may give besides 0 (0: it must pass) */
};

static const struct kind kinds[] = {
    {"eio", MV_MEM_FAULT_EIO, -1, MV_ERR_IO},
    {"enospc on write", MV_MEM_FAULT_NOSPC, MV_MEM_PUT, MV_ERR_NOSPC},
    {"short read", MV_MEM_FAULT_SHORT, MV_MEM_GET, MV_ERR_INTEGRITY},
    {"transient", MV_MEM_FAULT_TRANSIENT, -1, 0},
    {"flipped read", MV_MEM_FAULT_FLIP, MV_MEM_GET, MV_ERR_INTEGRITY},
    /* prune reads back what it wrote: a damaged copy stops it */
    {"flipped write", MV_MEM_FAULT_FLIP, MV_MEM_PUT, MV_ERR_INTEGRITY},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static void test_prune__faults(void **state)
{
	(void)state;
	unsigned runs = 0;
	for (size_t ki = 0; ki < NKINDS; ki++) {
		const struct kind *k = &kinds[ki];
		/* the calls the filter matches in a run without faults */
		struct mv_mem_store *s = mv_mem_store_copy(forgot);
		struct mv_prune_result res;
		struct mv_error e = {0};
		assert_int_equal(run_prune(s, &all, NULL, NULL, &res, &e), 0);
		uint64_t total = 0;
		for (int op = 0; op < MV_MEM_NOPS; op++)
			if (k->op < 0 || k->op == op)
				total += mv_mem_calls(s, (enum mv_mem_op)op);
		mv_mem_store_free(s);
		for (uint64_t nth = 1; nth <= total; nth++) {
			char what[128];
			struct mv_mem_fault f = {k->kind, k->op, -1, nth, 1, 0};
			s = mv_mem_store_copy(forgot);
			assert_non_null(s);
			mv_error_clear(&e);
			int rc = run_prune(s, &all, NULL, &f, &res, &e);
			if (verbose)
				fprintf(stderr, "%s at %llu/%llu: %d %s\n", k->name,
				        (unsigned long long)nth, (unsigned long long)total, rc,
				        rc ? e.msg : "");
			if (rc != 0 && rc != k->want)
				fail_msg("%s at call %llu: %d (%s)", k->name,
				         (unsigned long long)nth, rc, e.msg);
			snprintf(what, sizeof(what), "%s at call %llu", k->name,
			         (unsigned long long)nth);
			assert_whole(s, what);
			/* the next prune finishes the work */
			if (run_prune(s, &all, NULL, NULL, &res, &e))
				fail_msg("%s: the prune after it failed: %s", what, e.msg);
			assert_whole(s, what);
			assert_int_equal(run_prune(s, &all, NULL, NULL, &res, &e), 0);
			if (!res.nothing_to_do)
				fail_msg("%s: a third prune still had work", what);
			mv_mem_store_free(s);
			runs++;
		}
	}
	assert_true(runs > 20);
}

/* ---- setup ------------------------------------------------------------------ */

static void backup(struct mv_mem_store *s, char id[65])
{
	struct mv_repo *r;
	struct mv_error e = {0};
	const char *paths[1] = {src};
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1, .threads = 2};
	struct mv_backup_result br;
	assert_int_equal(open_repo(s, 1, &r, &e), 0);
	assert_int_equal(mv_backup(r, &bo, NULL, &br, &e), 0);
	mv_repo_close(r);
	mv_hex(br.snapshot_id, 32, id);
}

/* The names of the packs in s, one a line. */
static char *pack_names(struct mv_mem_store *s)
{
	struct mv_backend *m;
	struct mv_error e = {0};
	struct mv_backend_entry *ents;
	size_t n;
	assert_int_equal(mv_backend_mem_open(s, &m, &e), 0);
	assert_int_equal(mv_backend_list_all(m, MV_FT_PACK, &ents, &n, &e), 0);
	mv_backend_close(m);
	char *out = calloc(n * 66 + 1, 1);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		memcpy(out + i * 65, ents[i].name, 64);
		out[i * 65 + 64] = '\n';
	}
	free(ents);
	return out;
}

/* The pack that backup made (in after, not in before). */
static void new_pack(const char *before, const char *after, char out[65])
{
	out[0] = '\0';
	for (const char *p = after; *p; p += 65) {
		char name[65];
		memcpy(name, p, 64);
		name[64] = '\0';
		if (!strstr(before, name)) {
			memcpy(out, name, 65);
			return;
		}
	}
}

static void remove_snapshot(struct mv_mem_store *s, const char *id)
{
	struct mv_backend *m;
	struct mv_error e = {0};
	assert_int_equal(mv_backend_mem_open(s, &m, &e), 0);
	assert_int_equal(m->ops->remove(m, MV_FT_SNAPSHOT, id, &e), 0);
	mv_backend_close(m);
}

static int group_setup(void **state)
{
	struct mv_init_opts io = {.chunk = {4096, 16384, 65536}};
	struct mv_repo *r;
	struct mv_error e = {0};
	char ids[5][65];
	(void)state;
	verbose = getenv("MV_FAULTS_VERBOSE") != NULL;
	assert_int_equal(mv_crypto_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/mvprune.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/src", dir);
	assert_int_equal(mkdir(src, 0755), 0);

	forgot = mv_mem_store_new();
	assert_non_null(forgot);
	ctor_store = forgot;
	assert_int_equal(mv_backend_register("mem", mem_ctor, NULL), 0);
	assert_int_equal(mv_repo_init("mem:prune", (const uint8_t *)PASSWORD, strlen(PASSWORD), &io,
	                              recovery, &e),
	                 0);
	mv_backend_unregister("mem");

	/* 1: a, b; 2: a changed, c; 3: a changed, no c; 4: d, e; 5: no d */
	write_src("a.bin", 150000, 1);
	write_src("b.txt", 13, 2);
	backup(forgot, ids[0]);
	write_src("a.bin", 150000, 3);
	write_src("c.bin", 100000, 4);
	backup(forgot, ids[1]);
	write_src("a.bin", 150000, 5);
	remove_src("c.bin");
	backup(forgot, ids[2]);
	write_src("d.bin", 80000, 6);
	write_src("e.bin", 80000, 7);
	char *before = pack_names(forgot);
	backup(forgot, ids[3]);
	char *after = pack_names(forgot);
	new_pack(before, after, pack4);
	assert_int_equal(strlen(pack4), 64);
	free(before);
	free(after);
	remove_src("d.bin");
	backup(forgot, ids[4]);

	assert_int_equal(open_repo(forgot, 1, &r, &e), 0);
	for (int i = 0; i < 3; i++) {
		memcpy(kept[i], ids[2 * i], 65);
		assert_int_equal(tu_dump_digest(r, kept[i], kept_digest[i], &e), 0);
	}
	mv_repo_close(r);
	remove_snapshot(forgot, ids[1]);
	remove_snapshot(forgot, ids[3]);
	assert_whole(forgot, "before prune");
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];
	(void)state;
	mv_mem_store_free(forgot);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prune__dry_run_changes_nothing),
	    cmocka_unit_test(test_prune__run),
	    cmocka_unit_test(test_prune__limits),
	    cmocka_unit_test(test_prune__damaged_pack_refused),
	    cmocka_unit_test(test_prune__missing_blob_refused),
	    cmocka_unit_test(test_prune__faults),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
