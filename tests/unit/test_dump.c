/* Dump (core/ops/dump.c) and the archive writer (formats/archive_write.c): a
 * real repository made from a small tree, dumped to a recording sink and to
 * tar and zip archives in memory that libarchive's reader reads back;
 * damaged blobs left out or zero-filled; filter and sub-path selection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ops/ops.h"
#include "core/ops/dump.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/walker.h"
#include "formats/archive_write.h"
#include "tests/unit/testutil.h"

#define PASSWORD TU_PASSWORD
#define BIG_SIZE 300000u

/* ---- the fixture: a tree, a repository, one snapshot -------------------- */

static char dir[64];
static char src[128];
static struct mv_repo *repo;
static struct mv_snapshot snap;

static const char *const names[] = {
    "a.txt", "big.bin", "dir1/nested.dcm", "lat-\xe9\xff.txt", "utf8-\xc3\xa9.txt", "zero.bin",
};
#define NFILES (sizeof(names) / sizeof(names[0]))

static void path_of(char *out, size_t cap, const char *rel)
{
	int n = snprintf(out, cap, "%s/%s", src, rel);
	assert_true(n > 0 && (size_t)n < cap);
}

static void write_file(const char *rel, const void *p, size_t n, mode_t mode, int64_t mtime_ns)
{
	char path[512];
	struct timespec ts[2];

	path_of(path, sizeof(path), rel);
	tu_write_file(path, p, n, mode);
	ts[0].tv_sec = mtime_ns / 1000000000LL;
	ts[0].tv_nsec = mtime_ns % 1000000000LL;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* The whole content of a source file (malloc'd). */
static uint8_t *slurp(const char *rel, size_t *len)
{
	char path[512];

	path_of(path, sizeof(path), rel);
	return tu_read_file(path, len);
}

static int setup(void **state)
{
	struct mv_init_opts io = {.chunk = {4096, 16384, 65536}}; /* several chunks per file */
	char recovery[MV_RECOVERY_TEXT_LEN + 1], path[512], rdir[256];
	const char *paths[1];
	struct mv_backup_opts bo = {.paths = paths, .npaths = 1, .threads = 2};
	struct mv_backup_result br;
	struct mv_error err = {0};
	uint8_t *big;
	size_t damaged = 0;
	uint32_t x = 12345;

	(void)state;
	assert_int_equal(mv_crypto_init(), 0);
	tu_tmpdir(dir, sizeof(dir), "mvdump");
	snprintf(src, sizeof(src), "%s/src", dir);
	assert_int_equal(mkdir(src, 0755), 0);
	path_of(path, sizeof(path), "dir1");
	assert_int_equal(mkdir(path, 0755), 0);
	path_of(path, sizeof(path), "empty");
	assert_int_equal(mkdir(path, 0750), 0);

	write_file("a.txt", "hello\n", 6, 0640, 1600000000123456789LL);
	big = malloc(BIG_SIZE);
	assert_non_null(big);
	for (size_t i = 0; i < BIG_SIZE; i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (uint8_t)(x >> 23);
	}
	write_file("big.bin", big, BIG_SIZE, 0644, 1500000000000000001LL);
	free(big);
	write_file("dir1/nested.dcm", "DICM-ish", 8, 0600, 1650000000999999999LL);
	write_file("lat-\xe9\xff.txt", "latin-1 name", 12, 0644, 1600000000000000000LL);
	write_file("utf8-\xc3\xa9.txt", "utf-8 name", 10, 0755, 1600000000500000000LL);
	write_file("zero.bin", "", 0, 0444, 1600000000000000007LL);
	path_of(path, sizeof(path), "link");
	assert_int_equal(symlink("a.txt", path), 0);
	path_of(path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0644), 0);

	snprintf(rdir, sizeof(rdir), "%s/repo", dir);
	assert_int_equal(
	    mv_repo_init(rdir, (const uint8_t *)PASSWORD, strlen(PASSWORD), &io, recovery, &err),
	    0);
	repo = tu_repo_open(rdir);
	assert_int_equal(mv_repo_load_index(repo, 1, &damaged, &err), 0);
	paths[0] = src;
	assert_int_equal(mv_backup(repo, &bo, NULL, &br, &err), 0);
	/* read the repository back as a fresh process would */
	mv_repo_close(repo);
	repo = tu_repo_open(rdir);
	assert_int_equal(mv_repo_load_index(repo, 0, &damaged, &err), 0);
	assert_int_equal(mv_repo_find_snapshot(repo, "latest", &snap, &err), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mv_snapshot_release(&snap);
	mv_repo_close(repo);
	tu_rm_rf(dir);
	return 0;
}

/* ---- a sink that records everything ----------------------------------- */

struct entry {
	char *path;
	uint8_t kind;
	uint32_t mode;
	int64_t mtime_ns;
	uint64_t size;
	char target[256];
	uint8_t *data;
	size_t len;
	int ended;
};

struct rec {
	struct entry e[64];
	size_t n;
	int skip_fifo;
	int fail_data; /* data() fails with MV_ERR_IO */
	char warned[512];
	int warnings;
};

static int rec_begin(void *arg, const char *path, const struct mv_node *n, struct mv_error *err)
{
	struct rec *r = arg;
	struct entry *e;

	(void)err;
	if (r->skip_fifo && n->kind == MV_NODE_FIFO)
		return MV_DUMP_SKIP;
	assert_true(r->n < 64);
	assert_true(r->n == 0 || r->e[r->n - 1].ended); /* the previous one was ended */
	e = &r->e[r->n++];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	assert_non_null(e->path);
	e->kind = n->kind;
	e->mode = n->mode;
	e->mtime_ns = n->mtime_ns;
	e->size = n->size;
	if (n->kind == MV_NODE_SYMLINK)
		memcpy(e->target, n->target, n->target_len < 255 ? n->target_len : 255);
	return 0;
}

static int rec_data(void *arg, const uint8_t *buf, size_t len, struct mv_error *err)
{
	struct rec *r = arg;
	struct entry *e = &r->e[r->n - 1];

	if (r->fail_data)
		return mv_error_set(err, MV_ERR_IO, 5, "disk on fire");
	assert_false(e->ended);
	assert_true(e->len + len <= e->size);
	e->data = realloc(e->data, e->len + len + 1);
	assert_non_null(e->data);
	memcpy(e->data + e->len, buf, len);
	e->len += len;
	return 0;
}

static int rec_end(void *arg, struct mv_error *err)
{
	struct rec *r = arg;

	(void)err;
	r->e[r->n - 1].ended = 1;
	return 0;
}

static void rec_warn(void *arg, const char *path, const char *msg)
{
	struct rec *r = arg;

	r->warnings++;
	snprintf(r->warned, sizeof(r->warned), "%s|%s", path, msg);
}

static void rec_free(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->e[i].path);
		free(r->e[i].data);
	}
	r->n = 0;
}

static const struct entry *rec_find(const struct rec *r, const char *rel)
{
	char path[512];

	path_of(path, sizeof(path), rel);
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->e[i].path, path) == 0)
			return &r->e[i];
	return NULL;
}

static int dump_rec(struct rec *r, const struct mv_dump_opts *o, struct mv_dump_result *res,
                    struct mv_error *err)
{
	struct mv_dump_sink sink = {rec_begin, rec_data, rec_end, r};
	struct mv_events ev = {.warn = rec_warn, .arg = r};

	return mv_dump(repo, &snap, o, &sink, &ev, res, err);
}

static void assert_same_as_source(const struct entry *e, const char *rel)
{
	char path[512];
	struct stat st;
	uint8_t *want;
	size_t wlen;

	assert_non_null(e);
	path_of(path, sizeof(path), rel);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(e->kind, MV_NODE_FILE);
	assert_true(e->ended);
	want = slurp(rel, &wlen);
	assert_int_equal(e->len, wlen);
	assert_int_equal(e->size, wlen);
	if (wlen)
		assert_memory_equal(e->data, want, wlen);
	free(want);
	assert_int_equal(e->mode & 07777, st.st_mode & 07777);
	assert_int_equal(e->mtime_ns,
	                 (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
}

/* ---- dump to a recording sink ------------------------------------------- */

static void test_dump__every_entry_in_order_with_exact_content(void **state)
{
	struct mv_dump_result res;
	struct mv_error err = {0};
	struct rec r = {0};

	(void)state;
	assert_int_equal(dump_rec(&r, NULL, &res, &err), 0);
	for (size_t i = 0; i < NFILES; i++)
		assert_same_as_source(rec_find(&r, names[i]), names[i]);
	assert_string_equal(rec_find(&r, "link")->target, "a.txt");
	assert_int_equal(rec_find(&r, "link")->kind, MV_NODE_SYMLINK);
	assert_int_equal(rec_find(&r, "fifo")->kind, MV_NODE_FIFO);
	assert_int_equal(rec_find(&r, "empty")->kind, MV_NODE_DIR);
	assert_int_equal(rec_find(&r, "empty")->mode & 07777, 0750);
	/* every directory comes before what it holds */
	for (size_t i = 0; i < r.n; i++) {
		char parent[512];
		const char *slash = strrchr(r.e[i].path, '/');
		size_t pl = (size_t)(slash - r.e[i].path);
		assert_true(pl < sizeof(parent));
		memcpy(parent, r.e[i].path, pl);
		parent[pl] = '\0';
		if (pl == 0)
			continue;
		int found = 0;
		for (size_t j = 0; j < i; j++)
			found |= strcmp(r.e[j].path, parent) == 0 && r.e[j].kind == MV_NODE_DIR;
		assert_true(found);
	}
	assert_int_equal(res.files, NFILES);
	assert_int_equal(res.links, 1);
	assert_int_equal(res.others, 1);
	assert_int_equal(res.damaged, 0);
	assert_int_equal(res.bytes, 6 + BIG_SIZE + 8 + 12 + 10);
	assert_int_equal(r.warnings, 0);
	rec_free(&r);
}

static int only_nested(void *arg, const char *path, const struct mv_node *n)
{
	int *calls = arg;

	(*calls)++;
	assert_int_not_equal(n->kind, MV_NODE_DIR); /* directories never reach the filter */
	return strstr(path, "/dir1/nested.dcm") != NULL;
}

static void test_dump__filter_keeps_selected_files_and_their_folders(void **state)
{
	struct mv_dump_opts o = {.filter = only_nested};
	struct mv_dump_result res;
	struct mv_error err = {0};
	struct rec r = {0};
	char path[512];
	int calls = 0;

	(void)state;
	o.filter_arg = &calls;
	assert_int_equal(dump_rec(&r, &o, &res, &err), 0);
	assert_int_equal(calls, NFILES + 2); /* every non-directory: files, link, fifo */
	assert_same_as_source(rec_find(&r, "dir1/nested.dcm"), "dir1/nested.dcm");
	assert_non_null(rec_find(&r, "dir1"));
	assert_null(rec_find(&r, "empty")); /* no folder without a selected file */
	assert_null(rec_find(&r, "a.txt"));
	/* the entries: the folders from the snapshot root down, then the file */
	assert_string_equal(r.e[r.n - 1].path, rec_find(&r, "dir1/nested.dcm")->path);
	for (size_t i = 0; i + 1 < r.n; i++) {
		assert_int_equal(r.e[i].kind, MV_NODE_DIR);
		snprintf(path, sizeof(path), "%s/", r.e[i].path);
		assert_true(strncmp(r.e[r.n - 1].path, path, strlen(path)) == 0);
	}
	assert_int_equal(res.files, 1);
	assert_int_equal(res.dirs, r.n - 1);
	rec_free(&r);
}

static void test_dump__subpath_folder_file_and_missing(void **state)
{
	struct mv_dump_opts o = {0};
	struct mv_dump_result res;
	struct mv_error err = {0};
	struct rec r = {0};
	char sub[512];

	(void)state;
	/* a folder: its own entry first, then its contents (doubled slashes
	 * are fine) */
	snprintf(sub, sizeof(sub), "%s//dir1/", src);
	o.subpath = sub;
	assert_int_equal(dump_rec(&r, &o, &res, &err), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.e[0].kind, MV_NODE_DIR);
	assert_ptr_equal(&r.e[0], rec_find(&r, "dir1"));
	assert_same_as_source(&r.e[1], "dir1/nested.dcm");
	rec_free(&r);

	/* a file */
	path_of(sub, sizeof(sub), "a.txt");
	assert_int_equal(dump_rec(&r, &o, &res, &err), 0);
	assert_int_equal(r.n, 1);
	assert_same_as_source(&r.e[0], "a.txt");
	rec_free(&r);

	/* not there, or below a file */
	path_of(sub, sizeof(sub), "nope");
	assert_int_equal(dump_rec(&r, &o, &res, &err), MV_ERR_NOTFOUND);
	assert_non_null(strstr(err.msg, "not in the snapshot"));
	path_of(sub, sizeof(sub), "a.txt/x");
	assert_int_equal(dump_rec(&r, &o, &res, &err), MV_ERR_NOTFOUND);
	assert_int_equal(r.n, 0);
}

/* ---- damage ----------------------------------------------------------- */

struct chunks {
	uint8_t ids[64][32];
	uint32_t n;
};

static int find_big(void *arg, const char *path, const struct mv_node *n)
{
	struct chunks *c = arg;
	size_t pl = strlen(path);

	if (n->kind == MV_NODE_FILE && pl > 8 && strcmp(path + pl - 8, "/big.bin") == 0) {
		assert_true(n->nchunks >= 3 && n->nchunks <= 64);
		memcpy(c->ids, n->chunks, (size_t)n->nchunks * 32);
		c->n = n->nchunks;
	}
	return 0;
}

/* Flips one byte in the middle of a stored blob; returns the blob's raw
 * offset in big.bin and size through *off and *len. */
static void flip_blob(const struct chunks *c, uint32_t which, uint64_t *off, size_t *len)
{
	struct mv_blob_loc l, *loc = &l;
	char hex[65], path[512];
	uint8_t b;
	int fd;

	*off = 0;
	for (uint32_t i = 0; i <= which; i++) {
		assert_true(mv_repo_index_lookup(repo, c->ids[i], loc));
		if (i < which)
			*off += loc->raw_length;
	}
	*len = loc->raw_length;
	mv_repo_index_pack_name(repo, loc->pack, hex);
	snprintf(path, sizeof(path), "%s/repo/data/%.2s/%s", dir, hex, hex);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)loc->offset + loc->length / 2), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)loc->offset + loc->length / 2), 1);
	close(fd);
}

static void test_dump__damaged_file_left_out_or_zero_filled(void **state)
{
	struct mv_dump_opts o = {0};
	struct mv_dump_result res;
	struct mv_error err = {0};
	struct chunks c = {0};
	struct rec r = {0};
	const struct entry *e;
	uint64_t off;
	size_t len, wlen;
	uint8_t *want;

	(void)state;
	assert_int_equal(mv_walk(repo, snap.tree, find_big, &c, &err), 0);
	assert_true(c.n >= 3);
	flip_blob(&c, 1, &off, &len);

	/* verified whole first: left out, everything else intact */
	assert_int_equal(dump_rec(&r, &o, &res, &err), MV_ERR_INTEGRITY);
	assert_null(rec_find(&r, "big.bin"));
	assert_same_as_source(rec_find(&r, "a.txt"), "a.txt");
	assert_same_as_source(rec_find(&r, "zero.bin"), "zero.bin");
	assert_int_equal(res.damaged, 1);
	assert_int_equal(res.zero_filled, 0);
	assert_int_equal(res.files, NFILES - 1);
	assert_int_equal(r.warnings, 1);
	assert_non_null(strstr(r.warned, "/big.bin|damaged"));
	rec_free(&r);

	/* streamed (over buffer_max): the damaged chunk is zeros, the rest exact */
	o.buffer_max = 1000;
	r.warnings = 0;
	assert_int_equal(dump_rec(&r, &o, &res, &err), MV_ERR_INTEGRITY);
	e = rec_find(&r, "big.bin");
	assert_non_null(e);
	assert_true(e->ended);
	want = slurp("big.bin", &wlen);
	assert_int_equal(e->len, wlen);
	assert_memory_equal(e->data, want, (size_t)off);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(e->data[off + i], 0);
	assert_memory_equal(e->data + off + len, want + off + len, wlen - off - len);
	free(want);
	assert_int_equal(res.damaged, 1);
	assert_int_equal(res.zero_filled, 1);
	assert_int_equal(res.files, NFILES);
	assert_non_null(strstr(r.warned, "zeros"));
	rec_free(&r);

	flip_blob(&c, 1, &off, &len); /* repaired */
	assert_int_equal(dump_rec(&r, &o, &res, &err), 0);
	assert_same_as_source(rec_find(&r, "big.bin"), "big.bin");
	rec_free(&r);
}

static void test_dump__sink_error_and_cancel_stop_the_dump(void **state)
{
	struct mv_dump_sink sink;
	struct mv_dump_result res;
	struct mv_error err = {0};
	struct rec r = {0};
	volatile sig_atomic_t cancel = 1;
	struct mv_events ev = {.cancel = &cancel};

	(void)state;
	r.fail_data = 1;
	assert_int_equal(dump_rec(&r, NULL, &res, &err), MV_ERR_IO);
	assert_int_equal(strncmp(err.msg, "disk on fire", 12), 0);
	rec_free(&r);

	r.fail_data = 0;
	sink = (struct mv_dump_sink){rec_begin, rec_data, rec_end, &r};
	assert_int_equal(mv_dump(repo, &snap, NULL, &sink, &ev, &res, &err), MV_ERR_INTERRUPTED);
	assert_int_equal(r.n, 0);
	rec_free(&r);
}

/* ---- archives --------------------------------------------------------- */

struct membuf {
	uint8_t *p;
	size_t len, cap;
};

static int mem_write(void *arg, const void *buf, size_t len)
{
	struct membuf *m = arg;

	if (m->len + len > m->cap) {
		size_t nc = (m->len + len) * 2;
		uint8_t *np = realloc(m->p, nc);
		assert_non_null(np);
		m->p = np;
		m->cap = nc;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

static int ar_begin(void *arg, const char *path, const struct mv_node *n, struct mv_error *err)
{
	int r = mv_archive_entry_begin(arg, path, n);
	if (r == MV_ARCHIVE_SKIPPED)
		return MV_DUMP_SKIP;
	return r ? mv_error_set(err, MV_ERR_IO, 0, "%s", mv_archive_writer_error(arg)) : 0;
}

static int ar_data(void *arg, const uint8_t *buf, size_t len, struct mv_error *err)
{
	int r = mv_archive_entry_data(arg, buf, len);
	return r ? mv_error_set(err, MV_ERR_IO, 0, "%s", mv_archive_writer_error(arg)) : 0;
}

static int ar_end(void *arg, struct mv_error *err)
{
	int r = mv_archive_entry_end(arg);
	return r ? mv_error_set(err, MV_ERR_IO, 0, "%s", mv_archive_writer_error(arg)) : 0;
}

static void make_archive(enum mv_archive_format f, const char *pass, struct membuf *m,
                         struct mv_dump_result *res)
{
	struct mv_archive_writer *w = mv_archive_writer_new(f);
	struct mv_dump_sink sink = {ar_begin, ar_data, ar_end, NULL};
	struct mv_error err = {0};

	assert_non_null(w);
	memset(m, 0, sizeof(*m));
	assert_int_equal(mv_archive_writer_open(w, pass, mem_write, m), MV_ARCHIVE_OK);
	sink.arg = w;
	assert_int_equal(mv_dump(repo, &snap, NULL, &sink, NULL, res, &err), 0);
	assert_int_equal(mv_archive_writer_close(w), MV_ARCHIVE_OK);
	mv_archive_writer_free(w);
}

/* "tmp/mvdump.X/src/<rel>" as stored in an archive */
static void stored_name(char *out, size_t cap, const char *rel)
{
	path_of(out, cap, rel);
	memmove(out, out + 1, strlen(out)); /* no leading '/' */
}

struct seen {
	int files, links, fifos, dirs, encrypted;
};

/* Reads the archive back with libarchive and checks every entry against
 * the source tree. mtime_exact: nanoseconds (tar) or seconds (zip). */
static void read_back(const struct membuf *m, const char *pass, int mtime_exact, struct seen *s)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	locale_t utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
	locale_t old = (locale_t)0;
	char want[512];
	int r;

	memset(s, 0, sizeof(*s));
	assert_non_null(a);
	if (utf8)
		old = uselocale(utf8);
	assert_int_equal(archive_read_support_format_all(a), ARCHIVE_OK);
	if (pass)
		assert_int_equal(archive_read_add_passphrase(a, pass), ARCHIVE_OK);
	assert_int_equal(archive_read_open_memory(a, m->p, m->len), ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		assert_non_null(name);
		assert_int_not_equal(name[0], '/');
		if (archive_entry_filetype(e) == AE_IFDIR) {
			s->dirs++;
			continue;
		}
		if (archive_entry_filetype(e) == AE_IFLNK) {
			stored_name(want, sizeof(want), "link");
			assert_string_equal(name, want);
			assert_string_equal(archive_entry_symlink(e), "a.txt");
			s->links++;
			continue;
		}
		if (archive_entry_filetype(e) == AE_IFIFO) {
			stored_name(want, sizeof(want), "fifo");
			assert_string_equal(name, want);
			s->fifos++;
			continue;
		}
		assert_int_equal(archive_entry_filetype(e), AE_IFREG);
		size_t k;
		for (k = 0; k < NFILES; k++) {
			stored_name(want, sizeof(want), names[k]);
			if (strcmp(name, want) == 0)
				break;
		}
		assert_true(k < NFILES); /* names byte for byte, latin-1 too */
		char path[512];
		struct stat st;
		size_t wlen;
		uint8_t *wdata = slurp(names[k], &wlen);
		uint8_t *got = malloc(wlen + 1);
		path_of(path, sizeof(path), names[k]);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(archive_entry_size(e), (la_int64_t)wlen);
		assert_int_equal(archive_entry_perm(e), st.st_mode & 07777);
		assert_int_equal(archive_entry_uid(e), st.st_uid);
		assert_int_equal(archive_entry_mtime(e), st.st_mtim.tv_sec);
		if (mtime_exact)
			assert_int_equal(archive_entry_mtime_nsec(e), st.st_mtim.tv_nsec);
		if (wlen) {
			assert_int_equal(archive_read_data(a, got, wlen + 1), (la_ssize_t)wlen);
			assert_memory_equal(got, wdata, wlen);
		}
		s->encrypted += archive_entry_is_data_encrypted(e) != 0;
		free(got);
		free(wdata);
		s->files++;
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(a);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
}

static void test_dump__tar_keeps_names_modes_and_nanoseconds(void **state)
{
	struct mv_dump_result res;
	struct membuf m;
	struct seen s;

	(void)state;
	make_archive(MV_ARCHIVE_TAR, NULL, &m, &res);
	assert_int_equal(m.len % 512, 0);
	read_back(&m, NULL, 1, &s);
	assert_int_equal(s.files, NFILES);
	assert_int_equal(s.links, 1);
	assert_int_equal(s.fifos, 1);
	assert_int_equal(s.dirs, res.dirs);
	assert_int_equal(res.skipped, 0);
	free(m.p);
}

/* The general purpose flags of the zip local header whose name is `name`. */
static int zip_flags_of(const struct membuf *m, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + 30 + nl <= m->len; i++) {
		const uint8_t *h = m->p + i;
		if (memcmp(h, "PK\x03\x04", 4) != 0)
			continue;
		if ((size_t)(h[26] | h[27] << 8) == nl && memcmp(h + 30, name, nl) == 0)
			return h[6] | h[7] << 8;
	}
	return -1;
}

static void test_dump__zip_plain_and_aes256(void **state)
{
	struct mv_dump_result res;
	struct membuf m;
	struct seen s;
	char name[512];
	int flags;

	(void)state;
	make_archive(MV_ARCHIVE_ZIP, NULL, &m, &res);
	assert_int_equal(res.skipped, 1); /* the fifo */
	read_back(&m, NULL, 0, &s);
	assert_int_equal(s.files, NFILES);
	assert_int_equal(s.links, 1);
	assert_int_equal(s.encrypted, 0);
	/* UTF-8 flag only on the name that is UTF-8 */
	stored_name(name, sizeof(name), "utf8-\xc3\xa9.txt");
	flags = zip_flags_of(&m, name);
	assert_true(flags >= 0 && (flags & 0x800));
	stored_name(name, sizeof(name), "lat-\xe9\xff.txt");
	flags = zip_flags_of(&m, name);
	assert_true(flags >= 0 && !(flags & 0x800));
	free(m.p);

	make_archive(MV_ARCHIVE_ZIP, "An0ther-Long-Passphrase!", &m, &res);
	for (size_t i = 0; i + 12 <= m.len; i++) /* no plaintext */
		assert_false(memcmp(m.p + i, "latin-1 name", 12) == 0);
	read_back(&m, "An0ther-Long-Passphrase!", 0, &s);
	assert_int_equal(s.files, NFILES);
	assert_int_equal(s.encrypted, NFILES - 1); /* all but the empty file */
	stored_name(name, sizeof(name), "a.txt");
	flags = zip_flags_of(&m, name);
	assert_true(flags >= 0 && (flags & 1)); /* encrypted */

	/* a wrong passphrase reads nothing */
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char buf[64];
	int data_read = 0, r;
	assert_int_equal(archive_read_support_format_zip(a), ARCHIVE_OK);
	assert_int_equal(archive_read_add_passphrase(a, "wrong-passphrase-123"), ARCHIVE_OK);
	assert_int_equal(archive_read_open_memory(a, m.p, m.len), ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0)
			data_read += archive_read_data(a, buf, sizeof(buf)) > 0;
	assert_int_equal(data_read, 0);
	archive_read_free(a);
	free(m.p);
}

/* A sealed archive: one AES-256 zip member, medvault-export.tar, whose tar
 * holds every entry; no name of the dump is in the zip's bytes. */
static void test_dump__sealed_zip_hides_names(void **state)
{
	static const char pass[] = "Sealed-Long-Passphrase-42";
	struct mv_archive_writer *w = mv_archive_writer_new(MV_ARCHIVE_TAR);
	struct mv_dump_sink sink = {ar_begin, ar_data, ar_end, NULL};
	struct mv_dump_result res;
	struct mv_error err = {0};
	struct membuf m = {0}, inner = {0};
	struct archive_entry *e;
	struct archive *a;
	struct seen s;
	char buf[65536];
	la_ssize_t n;

	(void)state;
	assert_non_null(w);
	assert_int_equal(mv_archive_writer_open_sealed(w, pass, MV_ARCHIVE_SEALED_MEMBER,
	                                               1700000000, mem_write, &m),
	                 MV_ARCHIVE_OK);
	sink.arg = w;
	assert_int_equal(mv_dump(repo, &snap, NULL, &sink, NULL, &res, &err), 0);
	assert_int_equal(mv_archive_writer_close(w), MV_ARCHIVE_OK);
	mv_archive_writer_free(w);
	assert_int_equal(res.skipped, 0); /* the fifo is in the tar */
	for (size_t k = 0; k < NFILES; k++) {
		size_t nl = strlen(names[k]);
		for (size_t i = 0; i + nl <= m.len; i++)
			assert_false(memcmp(m.p + i, names[k], nl) == 0);
	}
	for (size_t i = 0; i + 6 <= m.len; i++)
		assert_false(memcmp(m.p + i, "mvdump", 6) == 0); /* the folder's name */

	a = archive_read_new();
	assert_non_null(a);
	assert_int_equal(archive_read_support_format_zip(a), ARCHIVE_OK);
	assert_int_equal(archive_read_add_passphrase(a, pass), ARCHIVE_OK);
	assert_int_equal(archive_read_open_memory(a, m.p, m.len), ARCHIVE_OK);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(e), MV_ARCHIVE_SEALED_MEMBER);
	assert_int_equal(archive_entry_mtime(e), 1700000000);
	assert_true(archive_entry_is_data_encrypted(e));
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
		assert_int_equal(mem_write(&inner, buf, (size_t)n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_EOF);
	archive_read_free(a);
	read_back(&inner, NULL, 1, &s);
	assert_int_equal(s.files, NFILES);
	assert_int_equal(s.links, 1);
	assert_int_equal(s.fifos, 1);
	assert_int_equal(s.dirs, res.dirs);
	free(inner.p);
	free(m.p);
}

static void test_dump__archive_writer_refuses_misuse(void **state)
{
	struct mv_archive_writer *w;
	struct mv_node n = {.kind = MV_NODE_FILE, .mode = 0644, .size = 4};
	struct membuf m = {0};

	(void)state;
	w = mv_archive_writer_new(MV_ARCHIVE_TAR);
	assert_non_null(w);
	assert_int_equal(mv_archive_writer_open(w, "Some-Passphrase-123", mem_write, &m),
	                 MV_ARCHIVE_ERR_USAGE);
	mv_archive_writer_free(w);

	w = mv_archive_writer_new(MV_ARCHIVE_ZIP);
	assert_int_equal(mv_archive_writer_open(w, NULL, mem_write, &m), MV_ARCHIVE_OK);
	n.kind = MV_NODE_FIFO;
	assert_int_equal(mv_archive_entry_begin(w, "/x/fifo", &n), MV_ARCHIVE_SKIPPED);
	n.kind = MV_NODE_FILE;
	assert_int_equal(mv_archive_entry_begin(w, "///", &n), MV_ARCHIVE_ERR_USAGE);
	assert_int_equal(mv_archive_entry_begin(w, "/x/f", &n), MV_ARCHIVE_OK);
	assert_int_equal(mv_archive_entry_data(w, "abcde", 5), MV_ARCHIVE_ERR_USAGE);
	assert_int_equal(mv_archive_entry_data(w, "abc", 3), MV_ARCHIVE_OK);
	assert_int_equal(mv_archive_entry_end(w), MV_ARCHIVE_ERR_USAGE); /* 1 byte short */
	assert_non_null(strstr(mv_archive_writer_error(w), "short"));
	assert_int_equal(mv_archive_entry_data(w, "d", 1), MV_ARCHIVE_OK);
	assert_int_equal(mv_archive_entry_end(w), MV_ARCHIVE_OK);
	assert_int_equal(mv_archive_writer_close(w), MV_ARCHIVE_OK);
	mv_archive_writer_free(w);
	free(m.p);
	assert_null(mv_archive_writer_new((enum mv_archive_format)7));

	/* only a tar is sealed, with a passphrase and a relative member name */
	memset(&m, 0, sizeof(m));
	w = mv_archive_writer_new(MV_ARCHIVE_ZIP);
	assert_int_equal(
	    mv_archive_writer_open_sealed(w, "Some-Passphrase-123", "x.tar", 0, mem_write, &m),
	    MV_ARCHIVE_ERR_USAGE);
	mv_archive_writer_free(w);
	w = mv_archive_writer_new(MV_ARCHIVE_TAR);
	assert_int_equal(mv_archive_writer_open_sealed(w, "", "x.tar", 0, mem_write, &m),
	                 MV_ARCHIVE_ERR_USAGE);
	assert_int_equal(
	    mv_archive_writer_open_sealed(w, "Some-Passphrase-123", "/x.tar", 0, mem_write, &m),
	    MV_ARCHIVE_ERR_USAGE);
	mv_archive_writer_free(w);
	assert_null(m.p); /* nothing was written */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dump__every_entry_in_order_with_exact_content),
	    cmocka_unit_test(test_dump__filter_keeps_selected_files_and_their_folders),
	    cmocka_unit_test(test_dump__subpath_folder_file_and_missing),
	    cmocka_unit_test(test_dump__damaged_file_left_out_or_zero_filled),
	    cmocka_unit_test(test_dump__sink_error_and_cancel_stop_the_dump),
	    cmocka_unit_test(test_dump__tar_keeps_names_modes_and_nanoseconds),
	    cmocka_unit_test(test_dump__zip_plain_and_aes256),
	    cmocka_unit_test(test_dump__sealed_zip_hides_names),
	    cmocka_unit_test(test_dump__archive_writer_refuses_misuse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
