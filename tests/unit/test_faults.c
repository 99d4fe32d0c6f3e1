/* Operations against a failing store: backup, restore, check and dump run
 * on the in-memory backend (core/backend/mem.h) under the retry layer, with
 * one fault at the Nth backend call for every N the operation makes: EIO,
 * ENOSPC on a write, a short read, a transient error, flipped bytes on a
 * read or a write. Each must return the right error, never 0 with data
 * missing; and afterwards, faults off, check passes on the repository, or
 * reports exactly the damage a flipped write left. Also the number of
 * requests that loading the index and reading a pack header cost. */
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
#include "core/backend/retry.h"
#include "core/ops/dump.h"
#include "core/ops/ops.h"
#include "core/ops/repair.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"

#define PASSWORD "Correct-Horse-Battery-9"

static char dir[64], src[128];
static char recovery[MV_RECOVERY_TEXT_LEN + 1];
static struct mv_mem_store *base;     /* an empty repository */
static struct mv_mem_store *backed;   /* the same with one snapshot of src */
static struct mv_mem_store *lostidx;  /* backed without its index file */
static struct mv_mem_store *flipped;  /* backed with a flipped byte in its first data blob */
static struct mv_mem_store *salvaged; /* flipped after repair packs: that blob lost */
static uint8_t want_digest[32];       /* what dump gives for that snapshot */
static struct mv_mem_store *ctor_store;
static int verbose;

static const char *const files[] = {"a.bin", "b.txt", "dir/c.bin", "dir/d.txt"};
static const size_t sizes[] = {150000, 13, 40000, 0};
#define NFILES 4

static int mem_ctor(void *arg, const char *rest, struct mv_backend **out, struct mv_error *err)
{
	(void)arg;
	(void)rest;
	return mv_backend_mem_open(ctor_store, out, err);
}

static void write_src(const char *rel, size_t n, uint32_t seed)
{
	char path[256];
	uint8_t *p = malloc(n + 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 23);
	}
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
	free(p);
}

/* Opens the repository in store under a fast retry layer, unlocked with
 * the recovery key (no Argon2id per run), its index loaded (scan_orphans
 * < 0: not loaded, as the repairs load it themselves). */
static int open_repo(struct mv_mem_store *store, int scan_orphans, struct mv_repo **out,
                     struct mv_error *err)
{
	static const struct mv_retry_params fast = {.attempts = 4, .base_ns = 1000, .max_ns = 8000};
	struct mv_backend *m, *b;
	size_t damaged;
	*out = NULL;
	int rc = mv_backend_mem_open(store, &m, err);
	if (rc == 0)
		rc = mv_backend_retry_wrap(m, &fast, &b, err);
	if (rc == 0)
		rc = mv_repo_open_backend(b, out, err);
	if (rc == 0)
		rc = mv_repo_unlock(*out, (const uint8_t *)recovery, strlen(recovery), err);
	if (rc == 0 && scan_orphans >= 0)
		rc = mv_repo_load_index(*out, scan_orphans, &damaged, err);
	if (rc) {
		mv_repo_close(*out);
		*out = NULL;
	}
	return rc;
}

/* ---- a sink that hashes what dump hands over -------------------------- */

static int d_begin(void *arg, const char *path, const struct mv_node *n, struct mv_error *err)
{
	(void)err;
	crypto_generichash_update(arg, (const uint8_t *)path, strlen(path) + 1);
	crypto_generichash_update(arg, (const uint8_t *)&n->size, sizeof(n->size));
	return 0;
}

static int d_data(void *arg, const uint8_t *buf, size_t len, struct mv_error *err)
{
	(void)err;
	crypto_generichash_update(arg, buf, len);
	return 0;
}

static int d_end(void *arg, struct mv_error *err)
{
	(void)arg;
	(void)err;
	return 0;
}

static void quiet(void *arg, const char *path, const char *msg)
{
	(void)arg;
	if (verbose)
		fprintf(stderr, "  warn %s: %s\n", path ? path : "", msg);
}

static const struct mv_events events = {.warn = quiet};

/* Hashes what dump gives for the snapshot name ("latest", an id). */
static int dump_digest(struct mv_repo *r, const char *name, uint8_t out[32], struct mv_error *err)
{
	struct mv_snapshot s;
	struct mv_dump_result res;
	crypto_generichash_state st;
	int rc = mv_repo_find_snapshot(r, name, &s, err);
	if (rc)
		return rc;
	crypto_generichash_init(&st, NULL, 0, 32);
	struct mv_dump_sink sink = {d_begin, d_data, d_end, &st};
	rc = mv_dump(r, &s, NULL, &sink, &events, &res, err);
	crypto_generichash_final(&st, out, 32);
	mv_snapshot_release(&s);
	return rc;
}

/* ---- the operations, each with what proves a 0 complete ---------------- */

struct op {
	const char *name;
	struct mv_mem_store *start; /* copied for each run */
	int scan_orphans;
	/* runs the operation; *complete says whether its result, on 0, is
	 * whole (checked with the faults off) */
	int (*run)(struct mv_repo *r, struct mv_mem_store *s, int *complete, struct mv_error *err);
};

static struct mv_mem_fault armed; /* the fault of the run under way */
static uint64_t armed_calls;      /* calls its filter matched in the run */

static void arm(struct mv_mem_store *s)
{
	mv_mem_calls_reset(s);
	mv_mem_fault_set(s, &armed);
}

static void disarm(struct mv_mem_store *s)
{
	armed_calls = 0;
	for (int o = 0; o < MV_MEM_NOPS; o++)
		if (armed.op < 0 || armed.op == o)
			armed_calls += mv_mem_calls(s, (enum mv_mem_op)o);
	mv_mem_fault_clear(s);
}

static int run_backup(struct mv_repo *r, struct mv_mem_store *s, int *complete,
                      struct mv_error *err)
{
	const char *paths[1] = {src};
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1, .threads = 2};
	struct mv_backup_result br;
	int rc = mv_backup(r, &bo, &events, &br, err);
	disarm(s);
	if (rc == 0) {
		/* the snapshot it made, read back as a new process would, is
		 * the source */
		struct mv_repo *r2;
		uint8_t d[32];
		char id[65];
		struct mv_error e = {0};
		sodium_bin2hex(id, sizeof(id), br.snapshot_id, 32);
		*complete = open_repo(s, 0, &r2, &e) == 0 && dump_digest(r2, id, d, &e) == 0 &&
		            memcmp(d, want_digest, 32) == 0;
		mv_repo_close(r2);
	}
	return rc;
}

static int same_as_source(const char *target)
{
	for (size_t i = 0; i < NFILES; i++) {
		char a[512], b[512], cmd[1100];
		snprintf(a, sizeof(a), "%s/%s", src, files[i]);
		snprintf(b, sizeof(b), "%s%s/%s", target, src, files[i]);
		snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
		if (system(cmd) != 0)
			return 0;
	}
	return 1;
}

/* The operations get the fault armed once the repository is open. */
static int restore_armed(struct mv_repo *r, struct mv_mem_store *s, int *complete,
                         struct mv_error *err)
{
	char target[128], cmd[160];
	struct mv_snapshot snap;
	struct mv_restore_result res;
	snprintf(target, sizeof(target), "%s/target", dir);
	struct mv_restore_opts ro = {.target = target, .threads = 2};
	int rc = mv_repo_find_snapshot(r, "latest", &snap, err);
	assert_int_equal(rc, 0);
	arm(s);
	rc = mv_restore(r, &snap, &ro, &events, &res, err);
	disarm(s);
	mv_snapshot_release(&snap);
	if (rc == 0)
		*complete = same_as_source(target);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", target);
	assert_int_equal(system(cmd), 0);
	return rc;
}

static int check_armed(struct mv_repo *r, struct mv_mem_store *s, int *complete,
                       struct mv_error *err)
{
	struct mv_check_opts co = {.read_data = 1};
	struct mv_check_result res;
	arm(s);
	int rc = mv_check(r, &co, &events, &res, err);
	uint64_t hits = mv_mem_fault_hits(s);
	disarm(s);
	/* a clean answer is whole only when no read went wrong */
	*complete = armed.kind == MV_MEM_FAULT_TRANSIENT || hits == 0;
	return rc;
}

static int dump_armed(struct mv_repo *r, struct mv_mem_store *s, int *complete,
                      struct mv_error *err)
{
	uint8_t d[32];
	struct mv_snapshot snap;
	int rc = mv_repo_find_snapshot(r, "latest", &snap, err);
	assert_int_equal(rc, 0);
	crypto_generichash_state st;
	struct mv_dump_result res;
	crypto_generichash_init(&st, NULL, 0, 32);
	struct mv_dump_sink sink = {d_begin, d_data, d_end, &st};
	arm(s);
	rc = mv_dump(r, &snap, NULL, &sink, &events, &res, err);
	disarm(s);
	crypto_generichash_final(&st, d, 32);
	mv_snapshot_release(&snap);
	if (rc == 0)
		*complete = memcmp(d, want_digest, 32) == 0;
	return rc;
}

static int backup_armed(struct mv_repo *r, struct mv_mem_store *s, int *complete,
                        struct mv_error *err)
{
	arm(s);
	return run_backup(r, s, complete, err);
}

/* A repair whose result, on 0, is whole when check then passes and, for
 * the index, no pack is left unindexed and the snapshot dumps as before. */
static int repair_armed(struct mv_repo *r, struct mv_mem_store *s, int *complete,
                        struct mv_error *err, int what)
{
	struct mv_repair_opts o = {.forget = 1};
	struct mv_repair_result res;
	arm(s);
	int rc = what == 0   ? mv_repair_index(r, &o, &events, &res, err)
	         : what == 1 ? mv_repair_packs(r, &o, &events, &res, err)
	                     : mv_repair_snapshots(r, &o, &events, &res, err);
	disarm(s);
	if (rc == 0) {
		struct mv_repo *r2;
		struct mv_error e = {0};
		struct mv_check_opts co = {.read_data = 1};
		struct mv_check_result cr;
		uint8_t d[32];
		*complete = open_repo(s, 0, &r2, &e) == 0 && mv_check(r2, &co, NULL, &cr, &e) == 0;
		if (*complete && what == 0)
			*complete = mv_repo_orphans(r2) == 0 &&
			            dump_digest(r2, "latest", d, &e) == 0 &&
			            !memcmp(d, want_digest, 32);
		if (*complete && what == 2)
			*complete = mv_mem_count(s, MV_FT_SNAPSHOT) == 1;
		mv_repo_close(r2);
	}
	return rc;
}

static int repair_index_armed(struct mv_repo *r, struct mv_mem_store *s, int *complete,
                              struct mv_error *err)
{
	return repair_armed(r, s, complete, err, 0);
}

/* repair packs leaves one data blob lost: whole when repair snapshots then
 * drops that one file and check passes. */
static int repair_packs_armed(struct mv_repo *r, struct mv_mem_store *s, int *complete,
                              struct mv_error *err)
{
	struct mv_repair_opts o = {.forget = 1};
	struct mv_repair_result res;
	arm(s);
	int rc = mv_repair_packs(r, &o, &events, &res, err);
	disarm(s);
	if (rc == 0) {
		struct mv_repo *r2 = NULL, *r3 = NULL;
		struct mv_error e = {0};
		struct mv_check_opts co = {.read_data = 1};
		struct mv_check_result cr;
		*complete = open_repo(s, -1, &r2, &e) == 0 &&
		            mv_repair_snapshots(r2, &o, NULL, &res, &e) == 0 &&
		            res.files_lost == 1 && open_repo(s, 0, &r3, &e) == 0 &&
		            mv_check(r3, &co, NULL, &cr, &e) == 0;
		mv_repo_close(r2);
		mv_repo_close(r3);
	}
	return rc;
}

static int repair_snapshots_armed(struct mv_repo *r, struct mv_mem_store *s, int *complete,
                                  struct mv_error *err)
{
	return repair_armed(r, s, complete, err, 2);
}

/* ---- the fault plan ---------------------------------------------------- */

struct kind {
	const char *name;
	enum mv_mem_fault_kind kind;
	int op; /* the calls it hits */
};

static const struct kind kinds[] = {
    {"eio", MV_MEM_FAULT_EIO, -1},
    {"enospc on write", MV_MEM_FAULT_NOSPC, MV_MEM_PUT},
    {"short read", MV_MEM_FAULT_SHORT, MV_MEM_GET},
    {"transient", MV_MEM_FAULT_TRANSIENT, -1},
    {"flipped read", MV_MEM_FAULT_FLIP, MV_MEM_GET},
    {"flipped write", MV_MEM_FAULT_FLIP, MV_MEM_PUT},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* Whether rc is an answer the fault may give: the error of its class. A
 * failed read is an I/O error, never damage. */
static int right_error(const struct op *op, const struct kind *k, int rc)
{
	switch (k->kind) {
	case MV_MEM_FAULT_EIO:
		/* a read error is never called damage; restore counts a
		 * directory it could not read as not restored (MV_ERR_PARTIAL) */
		return rc == MV_ERR_IO || (rc == MV_ERR_PARTIAL && op->run == restore_armed);
	case MV_MEM_FAULT_NOSPC:
		return rc == MV_ERR_NOSPC;
	case MV_MEM_FAULT_SHORT:
	case MV_MEM_FAULT_FLIP:
		/* a repair reads damage twice before it acts: a read that
		 * does not agree with the first is an I/O error */
		return rc == MV_ERR_INTEGRITY || (op->scan_orphans < 0 && rc == MV_ERR_IO);
	default:
		return 0;
	}
}

/* Runs op once on a copy of its start with fault f armed once the
 * repository is open; the copy goes to *store (free it). */
static int run_once(const struct op *op, const struct mv_mem_fault *f, struct mv_mem_store **store,
                    int *complete, struct mv_error *err)
{
	struct mv_mem_store *s = mv_mem_store_copy(op->start);
	struct mv_repo *r;
	assert_non_null(s);
	assert_int_equal(open_repo(s, op->scan_orphans, &r, err), 0);
	armed = *f;
	*complete = 0;
	int rc = op->run(r, s, complete, err);
	mv_repo_close(r);
	*store = s;
	return rc;
}

/* Calls matching k's filter that op makes without faults. */
static uint64_t calls_of(const struct op *op, const struct kind *k)
{
	struct mv_mem_store *s;
	struct mv_error e = {0};
	int complete;
	/* a fault that never fires counts the calls */
	struct mv_mem_fault never = {MV_MEM_FAULT_EIO, k->op, -1, UINT64_MAX, 1, 0};
	assert_int_equal(run_once(op, &never, &s, &complete, &e), 0);
	assert_true(complete);
	mv_mem_store_free(s);
	return armed_calls;
}

/* A repair that failed on a damaged repository, run again with the faults
 * off, completes. */
static void rerun_repair(const struct op *op, const struct kind *k, uint64_t nth,
                         struct mv_mem_store *s)
{
	struct mv_repo *r;
	struct mv_error e = {0};
	int complete = 0;
	if (open_repo(s, -1, &r, &e))
		fail_msg("%s, %s at call %llu: cannot open afterwards: %s", op->name, k->name,
		         (unsigned long long)nth, e.msg);
	armed = (struct mv_mem_fault){MV_MEM_FAULT_NONE, -1, -1, 0, 0, 0};
	int rc = op->run(r, s, &complete, &e);
	mv_repo_close(r);
	if (rc || !complete)
		fail_msg("%s, %s at call %llu: run again, it gave %d (%s)%s", op->name, k->name,
		         (unsigned long long)nth, rc, e.msg, complete ? "" : ", incomplete");
}

/* After the run, faults off: check passes, or finds exactly the object a
 * flipped write damaged; a repair of a damaged repository that failed
 * completes when run again. */
static void check_after(const struct op *op, const struct kind *k, uint64_t nth,
                        struct mv_mem_store *s, int run_rc)
{
	struct mv_repo *r;
	struct mv_error e = {0};
	struct mv_check_opts co = {.read_data = 1};
	struct mv_check_result res;
	enum mv_ftype ft;
	char name[129];
	int damage = mv_mem_flipped(s, &ft, name) && ft != MV_FT_LOCK;
	uint64_t size;
	struct mv_backend *m;
	if (damage) { /* still there? */
		assert_int_equal(mv_backend_mem_open(s, &m, &e), 0);
		damage = m->ops->size(m, ft, name, &size, &e) == 0;
		mv_backend_close(m);
	}
	if ((op->start == flipped || op->start == salvaged) && !damage) {
		if (run_rc)
			rerun_repair(op, k, nth, s);
		else if (k->kind == MV_MEM_FAULT_FLIP && k->op == MV_MEM_PUT)
			return; /* the flip hit what was deleted since */
	}
	int rc = open_repo(s, 0, &r, &e);
	if (rc == MV_ERR_INTEGRITY && damage)
		return;
	if (rc)
		fail_msg("%s, %s at call %llu: cannot open afterwards: %s", op->name, k->name,
		         (unsigned long long)nth, e.msg);
	rc = mv_check(r, &co, &events, &res, &e);
	mv_repo_close(r);
	if (damage ? rc != MV_ERR_INTEGRITY || res.errors == 0 : rc != 0)
		fail_msg("%s, %s at call %llu: check afterwards gave %d (%s), expected %s",
		         op->name, k->name, (unsigned long long)nth, rc, e.msg,
		         damage ? "damage" : "clean");
}

static void run_plan(const struct op *op)
{
	unsigned runs = 0;
	for (size_t ki = 0; ki < NKINDS; ki++) {
		const struct kind *k = &kinds[ki];
		uint64_t total = calls_of(op, k);
		for (uint64_t nth = 1; nth <= total; nth++) {
			struct mv_mem_store *s;
			struct mv_error e = {0};
			int complete;
			struct mv_mem_fault f = {k->kind, k->op, -1, nth, 1, 0};
			int rc = run_once(op, &f, &s, &complete, &e);
			if (verbose)
				fprintf(stderr, "%s, %s at %llu/%llu: %d %s\n", op->name, k->name,
				        (unsigned long long)nth, (unsigned long long)total, rc,
				        rc ? e.msg : "");
			/* a flipped write goes unnoticed until read: check finds it */
			int flip_write = k->kind == MV_MEM_FAULT_FLIP && k->op == MV_MEM_PUT;
			if (rc == 0 && !complete && !flip_write)
				fail_msg("%s, %s at call %llu: returned 0 with data missing",
				         op->name, k->name, (unsigned long long)nth);
			/* a transient error is retried away */
			int must_pass = k->kind == MV_MEM_FAULT_TRANSIENT || flip_write;
			if (must_pass && rc != 0)
				fail_msg("%s, %s at call %llu: %d (%s)", op->name, k->name,
				         (unsigned long long)nth, rc, e.msg);
			if (rc != 0 && !right_error(op, k, rc))
				fail_msg("%s, %s at call %llu: wrong error %d (%s)", op->name,
				         k->name, (unsigned long long)nth, rc, e.msg);
			check_after(op, k, nth, s, rc);
			mv_mem_store_free(s);
			runs++;
		}
	}
	assert_true(runs > 10);
}

/* Each operation from a repository with one snapshot; backup also from
 * an empty one (its first backup). */
static struct op ops[] = {
    {"backup", NULL, 1, backup_armed},
    {"first backup", NULL, 1, backup_armed},
    {"restore", NULL, 0, restore_armed},
    {"check", NULL, 0, check_armed},
    {"dump", NULL, 0, dump_armed},
    {"repair index", NULL, -1, repair_index_armed},
    {"repair packs", NULL, -1, repair_packs_armed},
    {"repair snapshots", NULL, -1, repair_snapshots_armed},
};

static void test_faults__op(void **state)
{
	struct op *op = *state;
	op->start = op == &ops[1]   ? base
	            : op == &ops[5] ? lostidx
	            : op == &ops[6] ? flipped
	            : op == &ops[7] ? salvaged
	                            : backed;
	run_plan(op);
}

/* ---- requests ---------------------------------------------------------- */

/* Loading the index: the pack and index listings, then one get per index
 * file (the listing gave the sizes); the snapshots likewise. */
static void test_requests__index_load(void **state)
{
	(void)state;
	struct mv_mem_store *s = mv_mem_store_copy(base);
	struct mv_repo *r;
	struct mv_error e = {0};
	int complete;
	size_t damaged;
	assert_non_null(s);
	for (uint32_t i = 0; i < 3; i++) { /* one index file per backup */
		write_src("b.txt", 13 + i, 77 + i);
		assert_int_equal(open_repo(s, 1, &r, &e), 0);
		armed = (struct mv_mem_fault){MV_MEM_FAULT_NONE, -1, -1, 0, 0, 0};
		assert_int_equal(backup_armed(r, s, &complete, &e), 0);
		mv_repo_close(r);
	}
	write_src("b.txt", 13, 2);
	size_t nindex = mv_mem_count(s, MV_FT_INDEX);
	assert_true(nindex >= 3);
	struct mv_backend *m;
	assert_int_equal(mv_backend_mem_open(s, &m, &e), 0);
	assert_int_equal(mv_repo_open_backend(m, &r, &e), 0);
	assert_int_equal(mv_repo_unlock(r, (const uint8_t *)recovery, strlen(recovery), &e), 0);
	mv_mem_calls_reset(s);
	assert_int_equal(mv_repo_load_index(r, 0, &damaged, &e), 0);
	assert_int_equal(mv_mem_calls(s, MV_MEM_LIST), 2);
	assert_int_equal(mv_mem_calls(s, MV_MEM_SIZE), 0);
	assert_int_equal(mv_mem_calls(s, MV_MEM_GET), nindex);

	/* the snapshots: one listing, one get each */
	struct mv_snapshot *snaps;
	size_t nsnaps;
	mv_mem_calls_reset(s);
	assert_int_equal(mv_repo_snapshots(r, &snaps, &nsnaps, &damaged, &e), 0);
	assert_int_equal(nsnaps, mv_mem_count(s, MV_FT_SNAPSHOT));
	assert_true(nsnaps >= 3);
	assert_int_equal(mv_mem_calls(s, MV_MEM_LIST), 1);
	assert_int_equal(mv_mem_calls(s, MV_MEM_SIZE), 0);
	assert_int_equal(mv_mem_calls(s, MV_MEM_GET), nsnaps);
	mv_snapshots_free(snaps, nsnaps);
	mv_repo_close(r);
	mv_mem_store_free(s);
}

struct hdr_count {
	size_t n;
};

static int count_hdr(void *arg, const struct mv_index_entry *e)
{
	(void)e;
	((struct hdr_count *)arg)->n++;
	return 0;
}

struct pack_list {
	char name[65];
	uint64_t size;
};

static int first_pack(void *arg, const char *name, uint64_t size)
{
	struct pack_list *p = arg;
	if (size > p->size) { /* the largest */
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->size = size;
	}
	return 0;
}

/* A pack header is one get; a header over 64 KiB (3,000 blobs) two. */
static void test_requests__pack_header(void **state)
{
	(void)state;
	struct mv_repo *r;
	struct mv_error e = {0};
	struct pack_list pl = {"", 0};
	struct hdr_count hc = {0};
	assert_int_equal(open_repo(backed, 0, &r, &e), 0);
	assert_int_equal(
	    mv_repo_backend(r)->ops->list(mv_repo_backend(r), MV_FT_PACK, first_pack, &pl, &e), 0);
	mv_mem_calls_reset(backed);
	assert_int_equal(mv_repo_read_pack_header(r, pl.name, pl.size, count_hdr, &hc, &e), 0);
	assert_true(hc.n > 0);
	assert_int_equal(mv_mem_calls(backed, MV_MEM_GET), 1);
	assert_int_equal(mv_mem_calls_total(backed), 1);
	mv_repo_close(r);

	/* many small files: one pack with a large header */
	char many[160], path[200];
	struct mv_mem_store *s = mv_mem_store_copy(base);
	snprintf(many, sizeof(many), "%s/many", dir);
	assert_int_equal(mkdir(many, 0755), 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "%s/%04d", many, i);
		FILE *fp = fopen(path, "w");
		assert_non_null(fp);
		fprintf(fp, "file %d of many\n", i);
		fclose(fp);
	}
	const char *paths[1] = {many};
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1, .threads = 2};
	struct mv_backup_result br;
	assert_int_equal(open_repo(s, 1, &r, &e), 0);
	assert_int_equal(mv_backup(r, &bo, NULL, &br, &e), 0);
	pl = (struct pack_list){"", 0};
	hc.n = 0;
	assert_int_equal(
	    mv_repo_backend(r)->ops->list(mv_repo_backend(r), MV_FT_PACK, first_pack, &pl, &e), 0);
	mv_mem_calls_reset(s);
	assert_int_equal(mv_repo_read_pack_header(r, pl.name, pl.size, count_hdr, &hc, &e), 0);
	assert_true(hc.n >= 3000);
	assert_int_equal(mv_mem_calls(s, MV_MEM_GET), 2);
	mv_repo_close(r);
	mv_mem_store_free(s);
}

/* ---- fixture ----------------------------------------------------------- */

static int remove_all(void *arg, const char *name, uint64_t size)
{
	struct mv_backend *m = arg;
	struct mv_error e = {0};
	(void)size;
	return m->ops->remove(m, MV_FT_INDEX, name, &e);
}

/* The damaged repositories the repairs start from. */
static void make_damaged(void)
{
	struct mv_backend *m;
	struct mv_repo *r;
	struct mv_error e = {0};
	struct pack_list pl = {"", 0};
	struct mv_repair_opts o = {0};
	struct mv_repair_result res;
	lostidx = mv_mem_store_copy(backed);
	flipped = mv_mem_store_copy(backed);
	assert_non_null(lostidx);
	assert_non_null(flipped);
	assert_int_equal(mv_backend_mem_open(lostidx, &m, &e), 0);
	assert_int_equal(m->ops->list(m, MV_FT_INDEX, remove_all, m, &e), 0);
	assert_int_equal(m->ops->list(m, MV_FT_PACK, first_pack, &pl, &e), 0);
	mv_backend_close(m);
	assert_int_equal(mv_mem_count(lostidx, MV_FT_INDEX), 0);
	/* offset 100: inside the first blob, data of one file (trees come last) */
	assert_int_equal(mv_mem_flip(flipped, MV_FT_PACK, pl.name, 100), 0);
	salvaged = mv_mem_store_copy(flipped);
	assert_non_null(salvaged);
	assert_int_equal(open_repo(salvaged, -1, &r, &e), 0);
	assert_int_equal(mv_repair_packs(r, &o, NULL, &res, &e), 0);
	assert_int_equal(res.blobs_lost, 1);
	mv_repo_close(r);
}

static int group_setup(void **state)
{
	struct mv_init_opts io = {.chunk = {4096, 16384, 65536}};
	struct mv_repo *r;
	struct mv_error e = {0};
	char path[256];
	(void)state;
	verbose = getenv("MV_FAULTS_VERBOSE") != NULL;
	assert_int_equal(mv_crypto_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/mvfaults.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/src", dir);
	assert_int_equal(mkdir(src, 0755), 0);
	snprintf(path, sizeof(path), "%s/dir", src);
	assert_int_equal(mkdir(path, 0755), 0);
	for (size_t i = 0; i < NFILES; i++)
		write_src(files[i], sizes[i], (uint32_t)i + 1);

	base = mv_mem_store_new();
	assert_non_null(base);
	ctor_store = base;
	assert_int_equal(mv_backend_register("mem", mem_ctor, NULL), 0);
	assert_int_equal(mv_repo_init("mem:faults", (const uint8_t *)PASSWORD, strlen(PASSWORD),
	                              &io, recovery, &e),
	                 0);
	mv_backend_unregister("mem");

	backed = mv_mem_store_copy(base);
	assert_non_null(backed);
	assert_int_equal(open_repo(backed, 1, &r, &e), 0);
	const char *paths[1] = {src};
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1, .threads = 2};
	struct mv_backup_result br;
	assert_int_equal(mv_backup(r, &bo, NULL, &br, &e), 0);
	mv_repo_close(r);
	assert_int_equal(open_repo(backed, 0, &r, &e), 0);
	assert_int_equal(dump_digest(r, "latest", want_digest, &e), 0);
	mv_repo_close(r);
	make_damaged();
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];
	(void)state;
	mv_mem_store_free(lostidx);
	mv_mem_store_free(flipped);
	mv_mem_store_free(salvaged);
	mv_mem_store_free(base);
	mv_mem_store_free(backed);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_requests__index_load),
	    cmocka_unit_test(test_requests__pack_header),
	    {"test_faults__backup", test_faults__op, NULL, NULL, &ops[0]},
	    {"test_faults__first_backup", test_faults__op, NULL, NULL, &ops[1]},
	    {"test_faults__restore", test_faults__op, NULL, NULL, &ops[2]},
	    {"test_faults__check", test_faults__op, NULL, NULL, &ops[3]},
	    {"test_faults__dump", test_faults__op, NULL, NULL, &ops[4]},
	    {"test_faults__repair_index", test_faults__op, NULL, NULL, &ops[5]},
	    {"test_faults__repair_packs", test_faults__op, NULL, NULL, &ops[6]},
	    {"test_faults__repair_snapshots", test_faults__op, NULL, NULL, &ops[7]},
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
