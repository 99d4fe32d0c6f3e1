/* Reading a repository whose files are authentic but malformed (core/repo/repo.c,
 * issue 8 item 14): such a file can only be written with the key, so these
 * tests write it through the engine. A malformed index or snapshot payload
 * is damage, reported as an integrity error naming the file, never as "out
 * of memory", and the commands exit 4 (cli/exitcode.h) with "damaged" or
 * "malformed" wording. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/repo_open.h"
#include "cli/exitcode.h"
#include "core/backend/backend.h"
#include "core/repo/crypto.h"
#include "core/ops/ops.h"
#include "core/repo/repo.h"
#include "formats/fmt_err.h"
#include "formats/index.h"
#include "formats/snapshot.h"
#include "tests/unit/testutil.h"

#define PASSWORD TU_PASSWORD

/* cmd_help.c refers to the command table of main.c (not in the library). */
const struct cli_command cli_commands[] = {
    {"check", cmd_check, CLI_CMD_REPO, &cmd_check_help},
    {"snapshots", cmd_snapshots, CLI_CMD_REPO, &cmd_snapshots_help},
    {NULL, NULL, 0, NULL},
};

struct fixture {
	struct tu_repo_dir d;
	char out[160]; /* stdout and stderr of a command */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char st[128];
	assert_non_null(f);
	tu_repo_dir_make(&f->d, "mvrepo", NULL);
	snprintf(f->out, sizeof(f->out), "%s/out", f->d.dir);
	/* check's records stay here */
	unsetenv("MEDVAULT_PASSWORD_FILE");
	unsetenv("MEDVAULT_REPOSITORY");
	snprintf(st, sizeof(st), "%s/state", f->d.dir);
	setenv("XDG_STATE_HOME", st, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tu_rm_rf(f->d.dir);
	free(f);
	return 0;
}

static struct mv_repo *open_repo(const struct fixture *f)
{
	return tu_repo_open(f->d.repo);
}

/* Seals payload as an object of type `type` into the repository: authentic,
 * whatever its content. */
static void save(const struct fixture *f, enum mv_ftype ft, uint8_t type, const void *p, size_t n)
{
	struct mv_error err = {0};
	struct mv_repo *r = open_repo(f);
	assert_int_equal(mv_repo_save_object(r, ft, type, p, n, NULL, &err), 0);
	mv_repo_close(r);
}

/* A correct index payload (one pack, one blob) cut short: it declares one
 * pack and holds only part of it. */
static const uint8_t bad_index[] = {1, 0, 0, 0, 0xaa, 0xbb, 0xcc};
/* A snapshot payload with an unknown version byte. */
static const uint8_t bad_snapshot[] = {9, 0, 0, 0, 0, 0, 0, 0, 0};

/* Runs a command in this process; its stdout and stderr go to f->out.
 * Returns its exit code. */
static int run(const struct fixture *f, cli_cmd_fn *fn, const char *name)
{
	char cmd[32], repo[128], opt[] = "-r";
	snprintf(cmd, sizeof(cmd), "%s", name);
	snprintf(repo, sizeof(repo), "%s", f->d.repo);
	char *argv[] = {cmd, opt, repo, NULL};
	volatile sig_atomic_t cancel = 0;
	struct cli_ctx ctx = {.cancel = &cancel};
	/* read (and removed from the environment) by each command */
	setenv("MEDVAULT_PASSWORD", PASSWORD, 1);
	fflush(stdout);
	fflush(stderr);
	int o = dup(1), e = dup(2);
	int fd = open(f->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(o >= 0 && e >= 0 && fd >= 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	int rc = fn(3, argv, &ctx);
	cli_ctx_release(&ctx);
	fflush(stdout);
	fflush(stderr);
	dup2(o, 1);
	dup2(e, 2);
	close(o);
	close(e);
	return rc;
}

/* The output of the last run, NUL-terminated (static buffer). */
static const char *output(const struct fixture *f)
{
	static char buf[8192];
	FILE *fp = fopen(f->out, "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void test_repo__decoders_tell_malformed_from_out_of_memory(void **state)
{
	struct mv_snapshot s;
	struct mv_tree t;
	struct mv_tree_parts tp;
	struct mv_config_fields c;
	struct mv_lock_info l;
	(void)state;

	/* the codes formats/ returns are core's codes of the same meaning */
	assert_int_equal(MV_FMT_MALFORMED, MV_ERR_INTEGRITY);
	assert_int_equal(MV_FMT_NOMEM, MV_ERR_NOMEM);
	assert_int_equal(MV_FMT_LIMIT, MV_ERR_LIMIT);
	assert_int_equal(MV_FMT_VERSION, MV_ERR_VERSION);
	assert_int_not_equal(MV_FMT_MALFORMED, MV_FMT_NOMEM);

	/* every decoder: malformed input is MV_FMT_MALFORMED, which a command
	 * turns into exit 4 (before, -1: MV_ERR_NOMEM, exit 1) */
	int rc[] = {
	    mv_index_decode(bad_index, sizeof(bad_index), NULL, NULL),
	    mv_packhdr_decode(bad_index, sizeof(bad_index), 1000, NULL, NULL),
	    mv_snapshot_decode(bad_snapshot, sizeof(bad_snapshot), &s),
	    mv_lock_decode(bad_snapshot, sizeof(bad_snapshot), &l),
	    mv_tree_decode(bad_snapshot, sizeof(bad_snapshot), &t),
	    mv_tree_parts_decode(bad_snapshot, sizeof(bad_snapshot), &tp),
	    mv_config_decode(bad_snapshot, sizeof(bad_snapshot), 1, &c),
	};
	for (size_t i = 0; i < sizeof(rc) / sizeof(rc[0]); i++) {
		if (rc[i] != MV_FMT_MALFORMED)
			fail_msg("decoder %zu returned %d", i, rc[i]);
		assert_int_equal(cli_exit_code(rc[i]), CLI_EXIT_INTEGRITY);
	}
	/* a newer config is not damage */
	uint8_t cfg[MV_CONFIG_MAX];
	struct mv_wbuf w;
	struct mv_config_fields nc = {.version = 2, .chunk_min = 1, .chunk_avg = 2, .chunk_max = 3};
	snprintf(nc.chunker, sizeof(nc.chunker), "x");
	snprintf(nc.encoding, sizeof(nc.encoding), "y");
	mv_wbuf_init(&w, MV_CONFIG_MAX);
	mv_config_encode(&nc, &w);
	assert_false(w.failed);
	memcpy(cfg, w.data, w.len);
	memset(cfg + w.len, 0, MV_CONFIG_MAC_LEN);
	assert_int_equal(mv_config_decode(cfg, w.len + MV_CONFIG_MAC_LEN, 1, &c), MV_FMT_VERSION);
	assert_int_equal(mv_config_decode(cfg, w.len + MV_CONFIG_MAC_LEN, 2, &c), 0);
	mv_wbuf_release(&w);
}

static void test_repo__tree_add_limit_is_not_out_of_memory(void **state)
{
	struct mv_tree t;
	struct mv_node n = {.kind = MV_NODE_FIFO};
	(void)state;
	mv_tree_init(&t);
	/* a tree at the limit (faked: no nodes are looked at) */
	t.count = MV_TREE_SPLIT_MAX_NODES;
	assert_int_equal(mv_tree_add(&t, &n), MV_FMT_LIMIT);
	t.count = 0;
	assert_int_equal(mv_tree_add(&t, &n), 0);
	mv_tree_release(&t);
}

static void test_repo__encoders_say_why_they_failed(void **state)
{
	struct mv_wbuf w;
	struct mv_lock_info l;
	uint8_t big[8] = {0};
	(void)state;

	/* the cap of the buffer: a limit, not out of memory */
	mv_wbuf_init(&w, 4);
	mv_wbuf_put(&w, big, sizeof(big));
	assert_int_equal(w.failed, MV_FMT_LIMIT);
	mv_wbuf_put(&w, big, 1); /* sticky: the first reason stays */
	assert_int_equal(w.failed, MV_FMT_LIMIT);
	mv_wbuf_release(&w);

	/* what the format cannot represent */
	memset(&l, 'x', sizeof(l));
	mv_wbuf_init(&w, 4096);
	mv_lock_encode(&l, &w); /* host without NUL */
	assert_int_equal(w.failed, MV_FMT_MALFORMED);
	mv_wbuf_release(&w);

	struct mv_index_entry e = {.type = 99, .length = 45};
	mv_wbuf_init(&w, MV_PACKHDR_MAX);
	mv_packhdr_encode(&e, 1, &w);
	assert_int_equal(w.failed, MV_FMT_MALFORMED);
	mv_wbuf_release(&w);

	struct mv_snapshot s = {.npaths = MV_SNAP_MAX_LIST + 1};
	char *one = "p";
	s.paths = &one;
	mv_wbuf_init(&w, 1u << 20);
	mv_snapshot_encode(&s, &w);
	assert_int_equal(w.failed, MV_FMT_LIMIT);
	mv_wbuf_release(&w);
}

/* Runs command `name`, which must exit 4 naming a malformed file and not
 * say "out of memory"; returns its output. */
static const char *run_malformed(const struct fixture *f, cli_cmd_fn *fn, const char *name)
{
	assert_int_equal(run(f, fn, name), CLI_EXIT_INTEGRITY);
	const char *out = output(f);
	assert_non_null(strstr(out, "is malformed"));
	assert_null(strstr(out, "out of memory"));
	return out;
}

static void test_repo__malformed_index_is_damage_not_out_of_memory(void **state)
{
	struct fixture *f = *state;
	struct mv_error err = {0};
	size_t damaged = 99;

	save(f, MV_FT_INDEX, MV_T_INDEX, bad_index, sizeof(bad_index));
	struct mv_repo *r = open_repo(f);
	/* the load goes on past the damaged file, and says what it is */
	assert_int_equal(mv_repo_load_index(r, 1, &damaged, &err), 0);
	assert_int_equal(damaged, 1);
	assert_int_equal(err.code, MV_ERR_INTEGRITY);
	assert_non_null(strstr(err.msg, "malformed"));
	assert_null(strstr(err.msg, "out of memory"));
	mv_repo_close(r);

	/* check: exit 4, the damaged index named, no "out of memory" */
	assert_non_null(strstr(run_malformed(f, cmd_check, "check"), "error"));
}

static void test_repo__malformed_snapshot_is_damage(void **state)
{
	struct fixture *f = *state;
	struct mv_error err = {0};
	struct mv_snapshot *s = NULL;
	size_t n = 99, damaged = 99;

	save(f, MV_FT_SNAPSHOT, MV_T_SNAPSHOT, bad_snapshot, sizeof(bad_snapshot));
	struct mv_repo *r = open_repo(f);
	assert_int_equal(mv_repo_snapshots(r, &s, &n, &damaged, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(damaged, 1);
	assert_int_equal(err.code, MV_ERR_INTEGRITY);
	assert_non_null(strstr(err.msg, "malformed"));
	mv_snapshots_free(s, n);
	mv_repo_close(r);

	/* snapshots: exit 4, the file named as damaged */
	assert_non_null(strstr(run_malformed(f, cmd_snapshots, "snapshots"), "damaged"));
	assert_int_equal(run(f, cmd_check, "check"), CLI_EXIT_INTEGRITY);
	assert_null(strstr(output(f), "out of memory"));
}

/* A backend whose pack reads fail with an I/O error (a failing disk). */
static const struct mv_backend_ops *real_ops;

static int eio_get(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t off, void *buf,
                   size_t len, struct mv_error *err)
{
	if (t == MV_FT_PACK)
		return mv_error_set(err, MV_ERR_IO, 5, "cannot read '%s'", name);
	return real_ops->get(b, t, name, off, buf, len, err);
}

static int eio_size(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t *size,
                    struct mv_error *err)
{
	if (t == MV_FT_PACK)
		return mv_error_set(err, MV_ERR_IO, 5, "cannot stat '%s'", name);
	return real_ops->size(b, t, name, size, err);
}

static void test_repo__read_errors_are_not_damage(void **state)
{
	struct fixture *f = *state;
	struct mv_error err = {0};
	struct mv_backup_result br;
	struct mv_check_result cr;
	struct mv_check_opts co = {0};
	char src[128], file[160];
	size_t damaged;

	snprintf(src, sizeof(src), "%s/src", f->d.dir);
	snprintf(file, sizeof(file), "%s/a.txt", src);
	assert_int_equal(mkdir(src, 0700), 0);
	FILE *fp = fopen(file, "w");
	assert_non_null(fp);
	fputs("patient data\n", fp);
	fclose(fp);
	const char *paths[] = {src};
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1, .host = "h"};
	struct mv_repo *r = open_repo(f);
	assert_int_equal(mv_repo_load_index(r, 1, &damaged, &err), 0);
	assert_int_equal(mv_backup(r, &bo, NULL, &br, &err), 0);
	mv_repo_close(r);

	/* intact, but every pack read fails: check says so, exit 1, not 4 */
	r = open_repo(f);
	struct mv_backend *be = mv_repo_backend(r);
	struct mv_backend_ops ops = *be->ops;
	real_ops = be->ops;
	ops.get = eio_get;
	ops.size = eio_size;
	be->ops = &ops;
	for (int read_data = 0; read_data <= 1; read_data++) {
		co.read_data = read_data;
		mv_error_clear(&err);
		int rc = mv_check(r, &co, NULL, &cr, &err);
		assert_int_equal(rc, MV_ERR_IO);
		assert_int_equal(cli_exit_code(rc), CLI_EXIT_FATAL);
		assert_true(cr.errors > 0);
		assert_non_null(strstr(err.msg, "could not be read"));
	}
	be->ops = real_ops;
	/* the same repository read normally is clean */
	assert_int_equal(mv_check(r, &co, NULL, &cr, &err), 0);
	mv_repo_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_repo__decoders_tell_malformed_from_out_of_memory),
	    cmocka_unit_test(test_repo__tree_add_limit_is_not_out_of_memory),
	    cmocka_unit_test(test_repo__encoders_say_why_they_failed),
	    cmocka_unit_test_setup_teardown(test_repo__malformed_index_is_damage_not_out_of_memory,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_repo__malformed_snapshot_is_damage, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_repo__read_errors_are_not_damage, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
