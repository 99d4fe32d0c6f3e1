/* The medium probe (core/wipe/medium.c) on real filesystems: a file in /tmp
 * (whatever it is), loop-mounted ext4 (plain, data=journal, a chattr +j
 * file) and btrfs images (copy-on-write, a reflinked copy), and device
 * probes of loop devices, mounted (refused, naming the mount, also through a
 * partition) and not. The loop tests need root, mount, losetup, mkfs.ext4
 * (and mkfs.btrfs, sfdisk, chattr): skipped without them; CI runs as root.
 * Mounts and loop devices are undone by the teardown, also when a test
 * fails. */
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/util/err.h"
#include "core/wipe/medium.h"
#include "testutil.h"

#define IMG_MB 200

/* A temporary directory holding an image file, its mount point and, when
 * attached with losetup, its loop device. */
struct img {
	char dir[64];
	char path[1024];
	char mnt[128];
	char loopdev[64];
	char loopdev2[64]; /* a loop device over loopdev */
	char part_mnt[128];
	int mounted, part_mounted;
};

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int have(const char *tool)
{
	return run("command -v %s >/dev/null 2>&1", tool) == 0;
}

/* Skips the test unless root with the tools. */
static void need(const char *tool)
{
	if (geteuid() != 0 || !have("mount") || !have("losetup") || !have(tool)) {
		print_message("skipped: needs root and %s\n", tool);
		skip();
	}
}

static int setup_img(void **state)
{
	struct img *im = calloc(1, sizeof(*im));

	assert_non_null(im);
	tu_tmpdir(im->dir, sizeof(im->dir), "mv-medium");
	snprintf(im->path, sizeof(im->path), "%s/disk.img", im->dir);
	snprintf(im->mnt, sizeof(im->mnt), "%s/mnt", im->dir);
	snprintf(im->part_mnt, sizeof(im->part_mnt), "%s/part", im->dir);
	assert_int_equal(mkdir(im->mnt, 0700), 0);
	assert_int_equal(mkdir(im->part_mnt, 0700), 0);
	*state = im;
	return 0;
}

static int teardown_img(void **state)
{
	struct img *im = *state;

	if (im->part_mounted)
		run("umount '%s' 2>/dev/null || umount -l '%s'", im->part_mnt, im->part_mnt);
	if (im->mounted)
		run("umount '%s' 2>/dev/null || umount -l '%s'", im->mnt, im->mnt);
	if (im->loopdev2[0])
		run("losetup -d '%s'", im->loopdev2);
	if (im->loopdev[0])
		run("losetup -d '%s'", im->loopdev);
	tu_rm_rf(im->dir);
	free(im);
	return 0;
}

/* Makes the image with mkfs (a command taking the image's path as its last
 * argument) and mounts it with -o loop[,opts]. */
static void make_mounted(struct img *im, const char *mkfs, const char *opts)
{
	assert_int_equal(run("truncate -s %dM '%s'", IMG_MB, im->path), 0);
	assert_int_equal(run("%s '%s' >/dev/null 2>&1", mkfs, im->path), 0);
	assert_int_equal(run("mount -o loop%s%s '%s' '%s'", opts ? "," : "", opts ? opts : "",
	                     im->path, im->mnt),
	                 0);
	im->mounted = 1;
}

/* Writes a file of n random bytes below the mount, synced; its path into
 * out. */
static void make_file(const struct img *im, const char *name, size_t n, char *out, size_t cap)
{
	uint8_t *data = tu_random_data(n, 7);

	snprintf(out, cap, "%s/%s", im->mnt, name);
	tu_write_file(out, data, n, 0600);
	free(data);
	assert_int_equal(run("sync '%s'", out), 0);
}

static void probe(const char *path, struct mv_wipe_medium *m)
{
	struct mv_error err = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(mv_medium_probe_file(fd, m, &err), 0);
	close(fd);
}

/* The fields of any probe agree with each other. */
static void consistent(const struct mv_wipe_medium *m)
{
	assert_non_null(memchr(m->kind, '\0', sizeof(m->kind)));
	assert_non_null(memchr(m->notes, '\0', sizeof(m->notes)));
	assert_true(m->kind[0] != '\0');
	if (m->unreliable) {
		/* each finding names the remedy */
		const char *r = mv_medium_remedy(0);
		size_t n = strlen(m->notes), rl = strlen(r);
		assert_true(n > rl);
		assert_string_equal(m->notes + n - rl, r);
	} else {
		assert_null(strstr(m->notes, "remedy:"));
	}
}

/* phrase is not a finding of the probed file's own filesystem: it may only
 * come from the image file's chain ("image file: ..."), since /tmp may be on
 * anything. */
static void not_own(const char *notes, const char *phrase)
{
	for (const char *p = strstr(notes, phrase); p; p = strstr(p + 1, phrase)) {
		const char *start = p;
		while (start > notes &&
		       !(start[-1] == ' ' && start - 1 > notes && start[-2] == ';'))
			start--;
		if (strncmp(start, "image file: ", 12) != 0)
			fail_msg("'%s' is a finding of the file itself: %s", phrase, notes);
	}
}

static void test_medium__tmp_file(void **state)
{
	(void)state;
	char dir[64], path[128];
	struct mv_wipe_medium m;
	struct stat st;

	tu_tmpdir(dir, sizeof(dir), "mv-medium");
	snprintf(path, sizeof(path), "%s/f", dir);
	tu_write_file(path, "plain", 5, 0600);
	probe(path, &m);
	print_message("/tmp: fs %s, device %s, kind %s, unreliable %d: %s\n", m.fs_type, m.device,
	              m.kind, m.unreliable, m.notes);
	assert_true(m.fs_type[0] != '\0');
	consistent(&m);
	assert_int_equal(stat(path, &st), 0);
	if (major(st.st_dev) != 0) {
		/* a disk below: named, with its size */
		assert_true(m.device[0] != '\0');
		assert_true(m.size > 0);
	}
	/* the folder too */
	probe(dir, &m);
	assert_true(m.fs_type[0] != '\0');
	consistent(&m);
	tu_rm_rf(dir);
}

static void test_medium__not_a_file(void **state)
{
	(void)state;
	struct mv_wipe_medium m;
	struct mv_error err = {0};
	int p[2];
	char dir[64], path[128];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(mv_medium_probe_file(p[0], &m, &err), MV_ERR_USAGE);
	assert_int_equal(mv_medium_probe_device(p[0], &m, &err), MV_ERR_USAGE);
	close(p[0]);
	close(p[1]);
	/* a regular file is not a device */
	tu_tmpdir(dir, sizeof(dir), "mv-medium");
	snprintf(path, sizeof(path), "%s/f", dir);
	tu_write_file(path, "x", 1, 0600);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(mv_medium_probe_device(fd, &m, &err), MV_ERR_USAGE);
	assert_string_equal(err.msg, "not a block device");
	close(fd);
	tu_rm_rf(dir);
}

static void test_medium__ext4_loop(void **state)
{
	struct img *im = *state;
	struct mv_wipe_medium m, host;
	char file[256], want[1200];

	need("mkfs.ext4");
	make_mounted(im, "mkfs.ext4 -q -F", NULL);
	make_file(im, "plain.dcm", 100000, file, sizeof(file));
	probe(file, &m);
	print_message("ext4 image: %s\n", m.notes);
	consistent(&m);
	assert_string_equal(m.fs_type, "ext4");
	assert_string_equal(m.kind, "file-backed loop device");
	assert_true(strncmp(m.device, "loop", 4) == 0);
	assert_int_equal(m.size, (uint64_t)IMG_MB << 20);
	snprintf(want, sizeof(want), "the overwrite reaches the image file '%s'", im->path);
	assert_non_null(strstr(m.notes, want));
	/* the chain: the image's own filesystem and device, as probed alone;
	 * nothing of ext4 itself is unreliable */
	probe(im->path, &host);
	snprintf(want, sizeof(want), "image file on %s, device %s (%s)", host.fs_type,
	         host.device[0] ? host.device : "?", host.kind);
	assert_non_null(strstr(m.notes, want));
	assert_int_equal(m.unreliable, host.unreliable);
	not_own(m.notes, "data=journal");
	not_own(m.notes, "copy-on-write filesystem");
	not_own(m.notes, "shared with a snapshot");
	not_own(m.notes, "data journalling on");

	/* chattr +j: this one file journals its data */
	if (!have("chattr") || run("chattr +j '%s' 2>/dev/null", file) != 0) {
		/* setting +j needs CAP_SYS_RESOURCE, which a container may lack */
		print_message("not tested: chattr +j refused here\n");
	} else {
		probe(file, &m);
		consistent(&m);
		assert_true(m.unreliable);
		assert_non_null(strstr(m.notes, "this file has data journalling on"));
	}
}

/* Makes and mounts an ext4 image that journals file data (mkfs and opts as
 * make_mounted's): a file and the folder are flagged. */
static void assert_journalled(struct img *im, const char *mkfs, const char *opts)
{
	struct mv_wipe_medium m;
	char file[256];

	make_mounted(im, mkfs, opts);
	make_file(im, "journalled.dcm", 5000, file, sizeof(file));
	probe(file, &m);
	consistent(&m);
	assert_string_equal(m.fs_type, "ext4");
	assert_true(m.unreliable);
	assert_non_null(strstr(m.notes, "ext4 mounted with data=journal"));
	probe(im->mnt, &m);
	assert_non_null(strstr(m.notes, "ext4 mounted with data=journal"));
}

static void test_medium__ext4_data_journal(void **state)
{
	need("mkfs.ext4");
	assert_journalled(*state, "mkfs.ext4 -q -F", "data=journal");
}

/* data=journal as the superblock's default (tune2fs -o journal_data):
 * mountinfo does not show it, /proc/fs/ext4/DEV/options does. */
static void test_medium__ext4_default_journal(void **state)
{
	need("mkfs.ext4");
	need("tune2fs");
	assert_journalled(
	    *state, "f() { mkfs.ext4 -q -F \"$1\" && tune2fs -o journal_data \"$1\"; }; f", NULL);
}

static void test_medium__btrfs(void **state)
{
	struct img *im = *state;
	struct mv_wipe_medium m;
	char a[256], b[256];

	need("mkfs.btrfs");
	make_mounted(im, "mkfs.btrfs -q -f", NULL);
	make_file(im, "a.dcm", 1 << 20, a, sizeof(a));
	probe(a, &m);
	print_message("btrfs image: %s\n", m.notes);
	consistent(&m);
	assert_string_equal(m.fs_type, "btrfs");
	assert_true(m.unreliable);
	assert_non_null(strstr(m.notes, "btrfs: copy-on-write filesystem"));
	/* the anonymous device of btrfs is followed to the loop device */
	assert_string_equal(m.kind, "file-backed loop device");
	assert_non_null(strstr(m.notes, im->path));
	not_own(m.notes, "shared with a snapshot or a reflinked copy");

	/* a reflinked copy: both share their extents */
	if (run("cp --reflink=always '%s' '%s/b.dcm'", a, im->mnt) != 0) {
		print_message("skipped: cp --reflink=always failed\n");
		skip();
	}
	snprintf(b, sizeof(b), "%s/b.dcm", im->mnt);
	probe(b, &m);
	consistent(&m);
	assert_non_null(strstr(m.notes, "shared with a snapshot or a reflinked copy"));
	probe(a, &m);
	assert_non_null(strstr(m.notes, "shared with a snapshot or a reflinked copy"));
}

/* btrfs mounted with compression: compressed extents are encoded. */
static void test_medium__btrfs_compressed(void **state)
{
	struct img *im = *state;
	struct mv_wipe_medium m;
	char file[256];
	static uint8_t text[1 << 20];

	need("mkfs.btrfs");
	make_mounted(im, "mkfs.btrfs -q -f", "compress-force=zlib");
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t) "PATIENT^NAME "[i % 13];
	snprintf(file, sizeof(file), "%s/report.txt", im->mnt);
	tu_write_file(file, text, sizeof(text), 0600);
	probe(file, &m);
	consistent(&m);
	assert_true(m.unreliable);
	assert_non_null(strstr(m.notes, "extents encoded (compressed) by the filesystem"));
}

/* An image file whose path is long: the notes name it several times and
 * must stay within their field, cut, still ending with the remedy. */
static void test_medium__long_image_path(void **state)
{
	struct img *im = *state;
	struct mv_wipe_medium m;
	char dir[1024], file[256], name[201];

	need("mkfs.ext4");
	memset(name, 'd', 200);
	name[200] = '\0';
	snprintf(dir, sizeof(dir), "%s/%s", im->dir, name);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(im->path, sizeof(im->path), "%s/%s/%s.img", im->dir, name, name);
	make_mounted(im, "mkfs.ext4 -q -F", "data=journal");
	make_file(im, "f", 4096, file, sizeof(file));
	probe(file, &m);
	print_message("long path: %zu bytes of notes\n", strlen(m.notes));
	assert_non_null(memchr(m.notes, '\0', sizeof(m.notes)));
	assert_true(m.unreliable);
	consistent(&m);
	assert_non_null(strstr(m.notes, "ext4 mounted with data=journal"));
	assert_string_equal(m.kind, "file-backed loop device");
}

/* Attaches file to a free loop device (partitions scanned), named into dev. */
static void attach_to(const char *file, char *dev, size_t cap)
{
	char cmd[256];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "losetup -f -P --show '%s'", file);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(dev, (int)cap, f))
		dev[0] = '\0';
	pclose(f);
	dev[strcspn(dev, "\n")] = '\0';
	assert_true(strncmp(dev, "/dev/loop", 9) == 0);
}

static void attach(struct img *im)
{
	attach_to(im->path, im->loopdev, sizeof(im->loopdev));
}

static int probe_dev(const char *dev, struct mv_wipe_medium *m, struct mv_error *err)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	int rc;

	assert_true(fd >= 0);
	rc = mv_medium_probe_device(fd, m, err);
	close(fd);
	return rc;
}

static void test_medium__device_mounted(void **state)
{
	struct img *im = *state;
	struct mv_wipe_medium m;
	struct mv_error err = {0};

	need("mkfs.ext4");
	assert_int_equal(run("truncate -s 64M '%s'", im->path), 0);
	attach(im);
	assert_int_equal(run("mkfs.ext4 -q -F '%s' >/dev/null 2>&1", im->loopdev), 0);
	assert_int_equal(run("mount '%s' '%s'", im->loopdev, im->mnt), 0);
	im->mounted = 1;

	assert_int_equal(probe_dev(im->loopdev, &m, &err), MV_ERR_USAGE);
	print_message("mounted: %s\n", err.msg);
	assert_non_null(strstr(err.msg, im->mnt));
	assert_non_null(strstr(err.msg, "is mounted on"));
	/* the facts are there all the same */
	assert_string_equal(m.kind, "file-backed loop device");
	assert_int_equal(m.size, 64u << 20);
	assert_string_equal(m.hidden_area, "none (loop device)");
	assert_string_equal(m.device, im->loopdev + 5);

	assert_int_equal(run("umount '%s'", im->mnt), 0);
	im->mounted = 0;
	memset(&err, 0, sizeof(err));
	assert_int_equal(probe_dev(im->loopdev, &m, &err), 0);
	assert_int_equal(m.size, 64u << 20);
	assert_string_equal(m.kind, "file-backed loop device");
	assert_non_null(strstr(m.notes, im->path));
	assert_null(strstr(m.notes, "remedy: overwrite the whole device"));
	if (m.unreliable)
		assert_non_null(strstr(m.notes, mv_medium_remedy(1)));

	/* a loop device over that one: followed down to the image */
	char want[160];
	attach_to(im->loopdev, im->loopdev2, sizeof(im->loopdev2));
	assert_int_equal(probe_dev(im->loopdev2, &m, &err), 0);
	snprintf(want, sizeof(want), "backed by the block device %s (file-backed loop device)",
	         im->loopdev + 5);
	assert_non_null(strstr(m.notes, want));
	assert_non_null(strstr(m.notes, im->path));
	assert_int_equal(m.size, 64u << 20);
}

static void test_medium__device_partition_mounted(void **state)
{
	struct img *im = *state;
	struct mv_wipe_medium m;
	struct mv_error err = {0};
	char name[64], part[160], sys[160];
	struct stat st;

	need("sfdisk");
	need("mkfs.ext4");
	assert_int_equal(run("truncate -s 64M '%s'", im->path), 0);
	assert_int_equal(run("echo 'start=2048, size=40960' | sfdisk -q '%s' >/dev/null", im->path),
	                 0);
	attach(im);
	snprintf(name, sizeof(name), "%sp1", im->loopdev + 5);
	snprintf(part, sizeof(part), "/dev/%s", name);
	snprintf(sys, sizeof(sys), "/sys/class/block/%s/dev", name);
	if (stat(sys, &st) != 0)
		run("partx -a '%s' 2>/dev/null", im->loopdev); /* the scan of -P did not run */
	for (int i = 0; i < 50 && stat(part, &st) != 0; i++) {
		/* without udev (a container), make the node from what sysfs says */
		unsigned maj, min;
		FILE *f = fopen(sys, "r");
		if (f && fscanf(f, "%u:%u", &maj, &min) == 2) {
			snprintf(part, sizeof(part), "%s/%s", im->dir, name);
			assert_int_equal(mknod(part, S_IFBLK | 0600, makedev(maj, min)), 0);
		}
		if (f)
			fclose(f);
		if (stat(part, &st) != 0)
			usleep(100000);
	}
	if (stat(part, &st) != 0) {
		print_message("skipped: no partition device %s\n", name);
		skip();
	}
	assert_int_equal(run("mkfs.ext4 -q -F '%s' >/dev/null 2>&1", part), 0);
	assert_int_equal(run("mount '%s' '%s'", part, im->part_mnt), 0);
	im->part_mounted = 1;

	/* the whole device holds a mounted partition */
	assert_int_equal(probe_dev(im->loopdev, &m, &err), MV_ERR_USAGE);
	print_message("partition mounted: %s\n", err.msg);
	assert_non_null(strstr(err.msg, im->part_mnt));
	assert_non_null(strstr(err.msg, name));
	/* the partition itself, named as such */
	assert_int_equal(probe_dev(part, &m, &err), MV_ERR_USAGE);
	assert_string_equal(m.device, name);
	assert_int_equal(m.size, 40960u * 512);
	assert_non_null(strstr(m.notes, "is a partition of"));

	assert_int_equal(run("umount '%s'", im->part_mnt), 0);
	im->part_mounted = 0;
	assert_int_equal(probe_dev(im->loopdev, &m, &err), 0);
	assert_int_equal(m.size, 64u << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_medium__tmp_file),
	    cmocka_unit_test(test_medium__not_a_file),
	    cmocka_unit_test_setup_teardown(test_medium__ext4_loop, setup_img, teardown_img),
	    cmocka_unit_test_setup_teardown(test_medium__ext4_data_journal, setup_img,
	                                    teardown_img),
	    cmocka_unit_test_setup_teardown(test_medium__ext4_default_journal, setup_img,
	                                    teardown_img),
	    cmocka_unit_test_setup_teardown(test_medium__btrfs, setup_img, teardown_img),
	    cmocka_unit_test_setup_teardown(test_medium__btrfs_compressed, setup_img, teardown_img),
	    cmocka_unit_test_setup_teardown(test_medium__long_image_path, setup_img, teardown_img),
	    cmocka_unit_test_setup_teardown(test_medium__device_mounted, setup_img, teardown_img),
	    cmocka_unit_test_setup_teardown(test_medium__device_partition_mounted, setup_img,
	                                    teardown_img),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
