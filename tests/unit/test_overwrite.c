/* The verified overwrite of a wipe (core/wipe/overwrite.c): files with
 * holes, patterns, passes, interruption, corruption caught by the read-back,
 * names replaced before removal, emptied folders, and a loop device. */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/err.h"
#include "core/wipe/overwrite.h"
#include "testutil.h"

#define MIB (1024u * 1024u)

static const char marker[] = "MEDVAULT-MARKER-"; /* 16 bytes, repeated */

/* n bytes of the marker repeated. */
static uint8_t *marked(size_t n)
{
	uint8_t *p = malloc(n);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)marker[i % 16];
	return p;
}

static void pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
}

/* The data extents of fd as "off+len;" text, for comparing maps. */
static void extent_map(int fd, char *out, size_t cap)
{
	off_t pos = 0, end = lseek(fd, 0, SEEK_END);
	size_t used = 0;
	out[0] = '\0';
	while (pos < end) {
		off_t d = lseek(fd, pos, SEEK_DATA);
		if (d < 0)
			break;
		off_t h = lseek(fd, d, SEEK_HOLE);
		assert_true(h > d);
		int n = snprintf(out + used, cap - used, "%lld+%lld;", (long long)d,
		                 (long long)(h - d));
		assert_true(n > 0 && (size_t)n < cap - used);
		used += (size_t)n;
		pos = h;
	}
}

static int contains_marker(const uint8_t *p, size_t n)
{
	return memmem(p, n, marker, 16) != NULL;
}

struct calls {
	uint64_t last_done, last_total;
	unsigned nprogress, nbegin;
	volatile sig_atomic_t cancel;
	unsigned cancel_after; /* cancel once this many passes are written; 0 never */
	uint64_t allocated;    /* what one pass writes (from begin) */
	const char *flip_path; /* before_verify: change this byte */
	off_t flip_at;
	off_t cut_to; /* before_verify: instead, truncate flip_path there */
};

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct calls *c = arg;
	assert_true(done >= c->last_done);
	assert_true(done <= total);
	c->last_done = done;
	c->last_total = total;
	c->nprogress++;
	/* by bytes, not by calls: calls also come every 100 ms mid-pass on a slow
	 * machine */
	if (c->cancel_after && done >= c->cancel_after * c->allocated)
		__atomic_store_n(&c->cancel, 1, __ATOMIC_RELAXED);
}

static int on_begin(void *arg, uint64_t allocated)
{
	struct calls *c = arg;
	c->allocated = allocated;
	assert_int_equal(c->nprogress, 0); /* before any write */
	c->nbegin++;
	return 0;
}

/* Changes one byte on the medium, between the last pass and the
 * read-back, through a descriptor of its own. */
static void on_before_verify(void *arg, int fd)
{
	struct calls *c = arg;
	(void)fd;
	if (!c->flip_path)
		return;
	int f = open(c->flip_path, O_RDWR);
	assert_true(f >= 0);
	uint8_t b;
	if (c->cut_to) {
		assert_int_equal(ftruncate(f, c->cut_to), 0);
	} else {
		assert_int_equal(pread(f, &b, 1, c->flip_at), 1);
		b ^= 0x5A;
		assert_int_equal(pwrite(f, &b, 1, c->flip_at), 1);
	}
	assert_int_equal(fsync(f), 0);
	close(f);
}

static struct mv_ow_opts opts_for(struct calls *c, unsigned passes, int pattern)
{
	struct mv_ow_opts o = {0};
	o.passes = passes;
	o.pattern = pattern;
	o.progress = on_progress;
	o.begin = on_begin;
	o.before_verify = on_before_verify;
	o.arg = c;
	o.cancel = &c->cancel;
	return o;
}

/* A new temporary folder into dir (64 bytes), and path (128 bytes) of a
 * file "f" in it. */
static void tmp_file_path(char *dir, char *path)
{
	tu_tmpdir(dir, 64, "ow");
	snprintf(path, 128, "%s/f", dir);
}

/* data (1 MiB) / hole (4 MiB) / data (1 MiB + 100) / hole to 12 MiB */
static int sparse_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	assert_true(fd >= 0);
	uint8_t *m = marked(MIB + 100);
	pwrite_all(fd, m, MIB, 0);
	pwrite_all(fd, m, MIB + 100, 5 * MIB);
	assert_int_equal(ftruncate(fd, 12 * MIB), 0);
	assert_int_equal(fsync(fd), 0);
	free(m);
	return fd;
}

/* What a case of one sparse file holds. */
struct fx {
	char dir[64], path[128];
	struct calls c;
	struct mv_ow_result r;
	struct mv_error e;
	int fd;
};

static void fx_sparse(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	tmp_file_path(f->dir, f->path);
	f->fd = sparse_file(f->path);
}

static void test_overwrite__sparse_keeps_holes(void **state)
{
	char before[256], after[256];
	struct fx f;
	(void)state;

	fx_sparse(&f);
	extent_map(f.fd, before, sizeof(before));
	struct mv_ow_opts o = opts_for(&f.c, 1, MV_OW_RANDOM);
	assert_int_equal(mv_overwrite_file(f.fd, &o, &f.r, &f.e), 0);
	extent_map(f.fd, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(f.r.size, 12 * MIB);
	assert_int_equal(f.r.passes_done, 1);
	assert_int_equal(f.r.bytes_overwritten, f.r.allocated);
	assert_int_equal(f.r.bytes_verified, f.r.allocated);
	assert_true(f.r.allocated >= 2 * MIB + 100 &&
	            f.r.allocated < 12 * MIB); /* holes not written */
	assert_int_equal(f.c.nbegin, 1);
	assert_int_equal(f.c.last_done, f.c.last_total);
	assert_int_equal(f.c.last_total, 2 * f.r.allocated);
	/* the flags the caller had are back */
	assert_int_equal(fcntl(f.fd, F_GETFL) & O_DIRECT, 0);
	close(f.fd);

	size_t n;
	uint8_t *p = tu_read_file(f.path, &n);
	assert_int_equal(n, 12 * MIB);
	assert_false(contains_marker(p, n));
	for (size_t i = MIB; i < 5 * MIB; i++) /* the hole reads zero */
		assert_int_equal(p[i], 0);
	free(p);
	tu_rm_rf(f.dir);
}

static void check_pattern(int pattern, uint8_t byte)
{
	char dir[64], path[128];
	struct calls c = {0};
	struct mv_ow_result r;
	struct mv_error e = {0};
	size_t size = 3 * MIB + 123; /* a tail that O_DIRECT cannot write */

	tmp_file_path(dir, path);
	uint8_t *m = marked(size);
	tu_write_file(path, m, size, 0600);
	free(m);
	int fd = open(path, O_RDWR | O_NOFOLLOW);
	assert_true(fd >= 0);
	struct mv_ow_opts o = opts_for(&c, 1, pattern);
	assert_int_equal(mv_overwrite_file(fd, &o, &r, &e), 0);
	assert_int_equal(r.bytes_verified, size);
	close(fd);
	size_t n;
	uint8_t *p = tu_read_file(path, &n);
	assert_int_equal(n, size); /* never extended */
	for (size_t i = 0; i < n; i++)
		if (p[i] != byte)
			fail_msg("byte %zu is %02x", i, p[i]);
	free(p);
	tu_rm_rf(dir);
}

static void test_overwrite__zero_and_one(void **state)
{
	(void)state;
	check_pattern(MV_OW_ZERO, 0x00);
	check_pattern(MV_OW_ONE, 0xFF);
}

static void test_overwrite__three_passes(void **state)
{
	struct fx f;
	(void)state;

	fx_sparse(&f);
	struct mv_ow_opts o = opts_for(&f.c, 3, MV_OW_RANDOM);
	assert_int_equal(mv_overwrite_file(f.fd, &o, &f.r, &f.e), 0);
	assert_int_equal(f.r.passes_done, 3);
	assert_int_equal(f.r.bytes_overwritten, 3 * f.r.allocated);
	assert_int_equal(f.r.bytes_verified, f.r.allocated);
	assert_int_equal(f.c.last_total, 4 * f.r.allocated);
	assert_int_equal(f.c.last_done, f.c.last_total);
	assert_true(f.c.nprogress >= 4); /* each pass and the read-back end with a call */
	close(f.fd);
	tu_rm_rf(f.dir);
}

static void test_overwrite__interrupted(void **state)
{
	struct fx f;
	(void)state;

	fx_sparse(&f);
	/* the call that ends pass 1 sets the flag: pass 2 stops at once */
	f.c.cancel_after = 1;
	struct mv_ow_opts o = opts_for(&f.c, 2, MV_OW_ZERO);
	assert_int_equal(mv_overwrite_file(f.fd, &o, &f.r, &f.e), MV_ERR_INTERRUPTED);
	assert_int_equal(f.e.code, MV_ERR_INTERRUPTED);
	assert_int_equal(f.r.passes_done, 1);
	assert_int_equal(f.r.bytes_overwritten, f.r.allocated);
	assert_int_equal(f.r.stopped_at, 0); /* the first extent */
	assert_int_equal(f.r.bytes_verified, 0);
	close(f.fd);
	/* pass 1 is on the file: no marker left */
	size_t n;
	uint8_t *p = tu_read_file(f.path, &n);
	assert_false(contains_marker(p, n));
	free(p);

	/* interrupted before any write: nothing changed */
	f.fd = sparse_file(f.path);
	struct calls c2 = {0};
	c2.cancel = 1;
	o = opts_for(&c2, 1, MV_OW_ZERO);
	assert_int_equal(mv_overwrite_file(f.fd, &o, &f.r, &f.e), MV_ERR_INTERRUPTED);
	assert_int_equal(f.r.passes_done, 0);
	assert_int_equal(f.r.bytes_overwritten, 0);
	close(f.fd);
	p = tu_read_file(f.path, &n);
	assert_true(contains_marker(p, MIB));
	free(p);
	tu_rm_rf(f.dir);
}

static void test_overwrite__corruption_caught(void **state)
{
	char dir[64], path[128];
	struct mv_ow_result r;
	struct mv_error e = {0};
	(void)state;

	tmp_file_path(dir, path);
	int pats[] = {MV_OW_RANDOM, MV_OW_ZERO};
	for (size_t i = 0; i < 2; i++) {
		struct calls c = {0};
		int fd = sparse_file(path);
		c.flip_path = path;
		c.flip_at = 5 * MIB + 77;
		struct mv_ow_opts o = opts_for(&c, 1, pats[i]);
		assert_int_equal(mv_overwrite_file(fd, &o, &r, &e), MV_ERR_INTEGRITY);
		assert_non_null(strstr(e.msg, "offset 5242957"));
		assert_int_equal(r.bytes_verified, MIB); /* the first extent was right */
		close(fd);
	}
	/* the file came shorter than what was written */
	struct calls c = {0};
	int fd = sparse_file(path);
	c.flip_path = path;
	c.cut_to = 5 * MIB + 4096 + 10;
	struct mv_ow_opts o = opts_for(&c, 1, MV_OW_ONE);
	assert_int_equal(mv_overwrite_file(fd, &o, &r, &e), MV_ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "came short at offset 5246986"));
	close(fd);
	tu_rm_rf(dir);
}

static int exists_at(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void make_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	pwrite_all(fd, "x", 1, 0);
	close(fd);
}

static void test_overwrite__wipe_name(void **state)
{
	char dir[64];
	struct mv_error e = {0};
	const char *names[] = {"a", "ab", "DUPONT_Jean_1961"};
	(void)state;

	tu_tmpdir(dir, sizeof(dir), "ow");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	for (size_t i = 0; i < 3; i++) {
		make_file(dfd, names[i]);
		int fd = openat(dfd, names[i], O_RDWR | O_NOFOLLOW);
		assert_true(fd >= 0);
		assert_int_equal(mv_wipe_name(dfd, names[i], 0, fd, &e), 0);
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(st.st_size, 0);  /* truncated */
		assert_int_equal(st.st_nlink, 0); /* and gone */
		close(fd);
		assert_false(exists_at(dfd, names[i]));
	}
	assert_int_equal(count_entries(dir), 0);

	/* a symbolic link goes, what it points to stays */
	make_file(dfd, "target");
	assert_int_equal(symlinkat("target", dfd, "link"), 0);
	assert_int_equal(mv_wipe_name(dfd, "link", MV_WIPE_NAME_LINK, -1, &e), 0);
	assert_false(exists_at(dfd, "link"));
	assert_true(exists_at(dfd, "target"));
	/* and a file is not removed as if it were a link */
	assert_int_equal(mv_wipe_name(dfd, "target", MV_WIPE_NAME_LINK, -1, &e), MV_ERR_INTEGRITY);
	assert_int_equal(unlinkat(dfd, "target", 0), 0);

	/* a folder */
	assert_int_equal(mkdirat(dfd, "MARTIN", 0700), 0);
	assert_int_equal(mv_wipe_name(dfd, "MARTIN", 1, -1, &e), 0);
	assert_int_equal(count_entries(dir), 0);

	/* a folder that is not empty gets its name back */
	assert_int_equal(mkdirat(dfd, "KEEP", 0700), 0);
	int kfd = openat(dfd, "KEEP", O_RDONLY | O_DIRECTORY);
	make_file(kfd, "x");
	close(kfd);
	assert_int_equal(mv_wipe_name(dfd, "KEEP", 1, -1, &e), MV_ERR_EXISTS);
	assert_true(exists_at(dfd, "KEEP"));
	assert_int_equal(count_entries(dir), 1);

	/* the entry is not the file open at fd: untouched */
	make_file(dfd, "other");
	make_file(dfd, "mine");
	int fd = openat(dfd, "mine", O_RDWR);
	assert_int_equal(mv_wipe_name(dfd, "other", 0, fd, &e), MV_ERR_INTEGRITY);
	assert_true(exists_at(dfd, "other"));
	close(fd);
	assert_int_equal(mv_wipe_name(dfd, ".", 1, -1, &e), MV_ERR_USAGE);
	assert_int_equal(mv_wipe_name(dfd, "..", 1, -1, &e), MV_ERR_USAGE);
	assert_int_equal(mv_wipe_name(dfd, "a/b", 1, -1, &e), MV_ERR_USAGE);
	close(dfd);
	tu_rm_rf(dir);
}

/* One-character names: the one free name is found; none free fails. */
static void test_overwrite__wipe_name_short(void **state)
{
	static const char chars[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	char dir[64];
	struct mv_error e = {0};
	(void)state;

	tu_tmpdir(dir, sizeof(dir), "ow");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	/* every name but "Q" taken; "a" is wiped */
	for (const char *p = chars; *p; p++) {
		char n[2] = {*p, 0};
		if (*p != 'Q')
			make_file(dfd, n);
	}
	int fd = openat(dfd, "a", O_RDWR);
	assert_int_equal(mv_wipe_name(dfd, "a", 0, fd, &e), 0);
	close(fd);
	assert_false(exists_at(dfd, "a"));
	assert_false(exists_at(dfd, "Q")); /* renamed to, then removed */
	assert_int_equal(count_entries(dir), 60);
	/* all 62 taken: no free name, nothing removed */
	make_file(dfd, "a");
	make_file(dfd, "Q");
	fd = openat(dfd, "b", O_RDWR);
	assert_int_equal(mv_wipe_name(dfd, "b", 0, fd, &e), MV_ERR_EXISTS);
	close(fd);
	assert_true(exists_at(dfd, "b"));
	assert_int_equal(count_entries(dir), 62);
	close(dfd);
	tu_rm_rf(dir);
}

static void test_overwrite__empty_dirs(void **state)
{
	char dir[64], p[192];
	(void)state;

	/* top/P1/S1 (empty), top/P1/S2/keep, top/P2 (empty), top/Q1/Q2/Q3 */
	tu_tmpdir(dir, sizeof(dir), "ow");
	const char *mk[] = {"P1", "P1/S1", "P1/S2", "P2", "Q1", "Q1/Q2", "Q1/Q2/Q3"};
	for (size_t i = 0; i < 7; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, mk[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	snprintf(p, sizeof(p), "%s/P1/S2/keep", dir);
	tu_write_file(p, "k", 1, 0600);
	int top = open(dir, O_RDONLY | O_DIRECTORY);
	int p1 = openat(top, "P1", O_RDONLY | O_DIRECTORY);
	int q1 = openat(top, "Q1", O_RDONLY | O_DIRECTORY);
	int q2 = openat(q1, "Q2", O_RDONLY | O_DIRECTORY);
	assert_true(top >= 0 && p1 >= 0 && q1 >= 0 && q2 >= 0);
	/* in walk order: parents first */
	struct mv_wipe_dir d[] = {
	    {top, "P1", 0, ""}, {p1, "S1", 0, ""}, {p1, "S2", 0, ""}, {top, "P2", 0, ""},
	    {top, "Q1", 0, ""}, {q1, "Q2", 0, ""}, {q2, "Q3", 0, ""},
	};
	assert_int_equal(mv_wipe_empty_dirs(d, 7), 5);
	int removed[] = {0, 1, 0, 1, 1, 1, 1};
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(d[i].removed, removed[i]);
	assert_string_equal(d[0].reason, "not empty");
	assert_string_equal(d[2].reason, "not empty");
	assert_int_equal(count_entries(dir), 1);
	snprintf(p, sizeof(p), "%s/P1", dir);
	assert_int_equal(count_entries(p), 1); /* S2 */
	close(q2);
	close(q1);
	close(p1);
	close(top);
	tu_rm_rf(dir);
}

/* A loop device over a file of markers; NULL path when not root or no
 * loop device. */
static int loop_setup(const char *backing, char *dev, size_t cap)
{
	if (geteuid() != 0)
		return -1;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", backing);
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	int ok = fgets(dev, (int)cap, f) != NULL;
	if (pclose(f) != 0 || !ok)
		return -1;
	dev[strcspn(dev, "\n")] = '\0';
	return 0;
}

static void loop_detach(const char *dev)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "losetup -d '%s'", dev);
	assert_int_equal(system(cmd), 0);
}

static void check_device(int verify, int flip)
{
	char dir[64], backing[128], dev[64];
	struct calls c = {0};
	struct mv_ow_result r;
	struct mv_error e = {0};
	size_t size = 64 * MIB;

	tu_tmpdir(dir, sizeof(dir), "ow");
	snprintf(backing, sizeof(backing), "%s/disk.img", dir);
	uint8_t *m = marked(size);
	tu_write_file(backing, m, size, 0600);
	free(m);
	if (loop_setup(backing, dev, sizeof(dev)) != 0) {
		tu_rm_rf(dir);
		skip();
	}
	int fd = open(dev, O_RDWR);
	assert_true(fd >= 0);
	if (flip) { /* in the last block: a sample must hold it */
		c.flip_path = dev;
		c.flip_at = (off_t)size - 1;
	}
	struct mv_ow_opts o = opts_for(&c, 1, MV_OW_RANDOM);
	int rc = mv_overwrite_device(fd, size, &o, verify, &r, &e);
	close(fd);
	loop_detach(dev);
	if (flip) {
		assert_int_equal(rc, MV_ERR_INTEGRITY);
		assert_non_null(strstr(e.msg, "offset 67108863"));
		tu_rm_rf(dir);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(r.bytes_overwritten, size);
	if (verify == MV_OW_VERIFY_ALL)
		assert_int_equal(r.bytes_verified, size);
	else
		assert_true(r.bytes_verified >= size / 10 && r.bytes_verified < size);
	size_t n;
	uint8_t *p = tu_read_file(backing, &n);
	assert_int_equal(n, size);
	assert_false(contains_marker(p, n));
	free(p);
	tu_rm_rf(dir);
}

static void test_overwrite__device_all(void **state)
{
	(void)state;
	check_device(MV_OW_VERIFY_ALL, 0);
}

static void test_overwrite__device_sample(void **state)
{
	(void)state;
	check_device(MV_OW_VERIFY_SAMPLE, 0);
}

static void test_overwrite__device_corruption_caught(void **state)
{
	(void)state;
	check_device(MV_OW_VERIFY_SAMPLE, 1);
}

static void test_overwrite__bad_options(void **state)
{
	struct mv_ow_result r;
	struct mv_error e = {0};
	struct mv_ow_opts o = {0};
	(void)state;

	o.passes = MV_OW_MAX_PASSES + 1;
	assert_int_equal(mv_overwrite_file(0, &o, &r, &e), MV_ERR_USAGE);
	o.passes = 1;
	o.pattern = 7;
	assert_int_equal(mv_overwrite_file(0, &o, &r, &e), MV_ERR_USAGE);
	/* read-only descriptor: refused, untouched */
	char dir[64], path[128];
	tmp_file_path(dir, path);
	tu_write_file(path, "abc", 3, 0600);
	int fd = open(path, O_RDONLY);
	o.pattern = MV_OW_ZERO;
	assert_int_equal(mv_overwrite_file(fd, &o, &r, &e), MV_ERR_USAGE);
	close(fd);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overwrite__sparse_keeps_holes),
	    cmocka_unit_test(test_overwrite__zero_and_one),
	    cmocka_unit_test(test_overwrite__three_passes),
	    cmocka_unit_test(test_overwrite__interrupted),
	    cmocka_unit_test(test_overwrite__corruption_caught),
	    cmocka_unit_test(test_overwrite__wipe_name),
	    cmocka_unit_test(test_overwrite__wipe_name_short),
	    cmocka_unit_test(test_overwrite__empty_dirs),
	    cmocka_unit_test(test_overwrite__device_all),
	    cmocka_unit_test(test_overwrite__device_sample),
	    cmocka_unit_test(test_overwrite__device_corruption_caught),
	    cmocka_unit_test(test_overwrite__bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
