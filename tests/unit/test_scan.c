/* Scan (core/medical/scan.c): the walk, header-only reads, archives, the order of
 * the per-file reports whatever the threads, and the file hasher against a
 * whole-buffer computation of FORMAT.md's content hash. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/medical/scan.h"
#include "core/repo/filechunk.h"
#include "tests/unit/testutil.h"
#include "core/repo/repo.h"

#define CT_CLASS "1.2.840.10008.5.1.4.1.1.2"
#define TS_EXPL  "1.2.840.10008.1.2.1"

/* ---- a DICOM file builder (explicit VR little endian) ------------------- */

struct inst {
	const char *pid, *name, *study, *series, *sop, *date, *mod;
};

/* A CT-like file: meta header, a few tags, pixel_bytes of pixel data. */
static void make_dicom(struct tu_buf *f, const struct inst *in, size_t pixel_bytes)
{
	struct tu_buf meta = {0}, ds = {0};
	uint8_t zero[128] = {0};

	tu_dcm_elem(&meta, 0x0002, 0x0001, "OB", "\0\1", 2);
	tu_dcm_str(&meta, 0x0002, 0x0002, "UI", CT_CLASS);
	tu_dcm_str(&meta, 0x0002, 0x0003, "UI", in->sop);
	tu_dcm_str(&meta, 0x0002, 0x0010, "UI", TS_EXPL);
	tu_dcm_str(&ds, 0x0008, 0x0016, "UI", CT_CLASS);
	tu_dcm_str(&ds, 0x0008, 0x0018, "UI", in->sop);
	tu_dcm_str(&ds, 0x0008, 0x0020, "DA", in->date);
	tu_dcm_str(&ds, 0x0008, 0x0060, "CS", in->mod);
	tu_dcm_str(&ds, 0x0010, 0x0010, "PN", in->name);
	tu_dcm_str(&ds, 0x0010, 0x0020, "LO", in->pid);
	tu_dcm_str(&ds, 0x0020, 0x000d, "UI", in->study);
	tu_dcm_str(&ds, 0x0020, 0x000e, "UI", in->series);
	uint8_t *pix = malloc(pixel_bytes);
	assert_non_null(pix);
	randombytes_buf(pix, pixel_bytes);
	tu_dcm_elem(&ds, 0x7fe0, 0x0010, "OW", pix, pixel_bytes);
	free(pix);

	memset(f, 0, sizeof(*f));
	tu_buf_put(f, zero, sizeof(zero));
	tu_buf_put(f, "DICM", 4);
	uint32_t gl = (uint32_t)meta.len;
	uint8_t glv[4] = {(uint8_t)gl, (uint8_t)(gl >> 8), (uint8_t)(gl >> 16),
	                  (uint8_t)(gl >> 24)};
	tu_dcm_elem(f, 0x0002, 0x0000, "UL", glv, 4);
	tu_buf_put(f, meta.p, meta.len);
	tu_buf_put(f, ds.p, ds.len);
	tu_buf_free(&meta);
	tu_buf_free(&ds);
}

static void write_file(const char *path, const void *p, size_t n)
{
	tu_write_file(path, p, n, 0644);
}

static void write_dicom(const char *path, const struct inst *in, size_t pixel_bytes)
{
	struct tu_buf f;
	make_dicom(&f, in, pixel_bytes);
	write_file(path, f.p, f.len);
	tu_buf_free(&f);
}

/* A ZIP holding the given DICOM instances and one text file. */
static void write_zip(const char *path, const struct inst *in, size_t n)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i <= n; i++) {
		struct tu_buf f = {0};
		char name[64];
		if (i < n) {
			make_dicom(&f, &in[i], 4096);
			snprintf(name, sizeof(name), "DICOM/IM%04zu", i);
		} else {
			tu_buf_put(&f, "readme", 6);
			snprintf(name, sizeof(name), "README.TXT");
		}
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)f.len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, f.p, f.len), (la_ssize_t)f.len);
		archive_entry_free(e);
		tu_buf_free(&f);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* ---- the scan -------------------------------------------------------------- */

struct seen {
	char paths[32][512];
	enum mv_scan_archive archive[32];
	int dicom[32];
	uint64_t members[32];
	size_t n;
};

static void on_file(void *arg, const struct mv_scan_file *f)
{
	struct seen *s = arg;
	assert_true(s->n < 32);
	snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", f->path);
	s->dicom[s->n] = f->dicom;
	s->archive[s->n] = f->archive;
	s->members[s->n] = f->members;
	assert_int_equal(f->status, MV_SCAN_UNKNOWN);
	assert_null(f->content);
	s->n++;
}

static const struct inst I1 = {"P1",          "DUPONT^MARIE", "1.2.3.1", "1.2.3.1.1",
                               "1.2.3.1.1.1", "20190105",     "CT"};
static const struct inst I2 = {"P1",          "DUPONT^MARIE", "1.2.3.1", "1.2.3.1.1",
                               "1.2.3.1.1.2", "20190105",     "CT"};
static const struct inst I3 = {"P2",          "MARTIN^PAUL", "1.2.3.2", "1.2.3.2.1",
                               "1.2.3.2.1.1", "20200301",    "MR"};
/* inside the ZIP: a new patient, and a copy of I3 */
static const struct inst Z[2] = {
    {"P3", "ROUX^ANNE", "1.2.3.3", "1.2.3.3.1", "1.2.3.3.1.1", "20210606", "DX"},
    {"P2", "MARTIN^PAUL", "1.2.3.2", "1.2.3.2.1", "1.2.3.2.1.1", "20200301", "MR"},
};

static void make_tree(char *root)
{
	char p[600];

	tu_tmpdir(root, 64, "mvscan");
	snprintf(p, sizeof(p), "%s/a", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/b", root);
	assert_int_equal(mkdir(p, 0700), 0);
	/* pixel data well past the 64 KiB read */
	snprintf(p, sizeof(p), "%s/a/1.dcm", root);
	write_dicom(p, &I1, 300000);
	snprintf(p, sizeof(p), "%s/a/2.dcm", root);
	write_dicom(p, &I2, 300000);
	snprintf(p, sizeof(p), "%s/b/3.dcm", root);
	write_dicom(p, &I3, 1000);
	snprintf(p, sizeof(p), "%s/b/copy-of-1.dcm", root);
	write_dicom(p, &I1, 2000);
	snprintf(p, sizeof(p), "%s/notes.txt", root);
	write_file(p, "not dicom\n", 10);
	snprintf(p, sizeof(p), "%s/empty", root);
	write_file(p, "", 0);
	snprintf(p, sizeof(p), "%s/cd.zip", root);
	write_zip(p, Z, 2);
	snprintf(p, sizeof(p), "%s/broken.zip", root);
	write_file(p, "PK\3\4 this is no zip at all, only its first bytes", 49);
	snprintf(p, sizeof(p), "%s/link.dcm", root);
	assert_int_equal(symlink("a/1.dcm", p), 0);
}

static void scan_tree(const char *root, int threads)
{
	struct seen seen;
	struct mv_scan_result res;
	struct mv_error err = {0};
	struct mv_inventory *inv = mv_inventory_new(0);
	const char *paths[1] = {root};
	struct mv_scan_opts o = {
	    .paths = paths, .npaths = 1, .threads = threads, .on_file = on_file, .arg = &seen};
	char want[600];

	memset(&seen, 0, sizeof(seen));
	assert_non_null(inv);
	assert_int_equal(mv_scan(&o, inv, NULL, &res, &err), 0);
	assert_int_equal(res.files, 8);
	assert_int_equal(res.dirs, 3);
	assert_int_equal(res.specials, 1); /* the symbolic link, not followed */
	assert_int_equal(res.unreadable, 0);
	assert_int_equal(res.dicom_files, 4);
	assert_int_equal(res.archives, 2);

	/* walk order, names bytewise, whatever the threads */
	static const char *const order[] = {"a/1.dcm",    "a/2.dcm", "b/3.dcm", "b/copy-of-1.dcm",
	                                    "broken.zip", "cd.zip",  "empty",   "notes.txt"};
	assert_int_equal(seen.n, 8);
	for (size_t i = 0; i < 8; i++) {
		snprintf(want, sizeof(want), "%s/%s", root, order[i]);
		assert_string_equal(seen.paths[i], want);
	}
	assert_true(seen.dicom[0] && seen.dicom[1] && seen.dicom[2] && seen.dicom[3]);
	assert_false(seen.dicom[4] || seen.dicom[5] || seen.dicom[6] || seen.dicom[7]);
	assert_int_equal(seen.archive[4], MV_SCAN_ARCHIVE_UNREADABLE);
	assert_int_equal(seen.archive[5], MV_SCAN_ARCHIVE_DICOM);
	assert_int_equal(seen.members[5], 2);
	assert_int_equal(seen.archive[7], MV_SCAN_NOT_ARCHIVE);

	const struct mv_inv_report *r = mv_inventory_report(inv);
	assert_non_null(r);
	assert_int_equal(r->files, 6); /* four files, two members */
	assert_int_equal(r->members, 2);
	assert_int_equal(r->patients, 3); /* P1, P2, P3 */
	assert_int_equal(r->studies, 3);
	assert_int_equal(r->series, 3);
	assert_int_equal(r->instances, 4); /* copies of I1 and I3 count once */
	assert_int_equal(r->archives_dicom, 1);
	assert_int_equal(r->archives_unreadable, 1);
	assert_string_equal(r->first_date, "2019-01-05");
	assert_string_equal(r->last_date, "2021-06-06");
	assert_int_equal(r->nmodalities, 3);
	mv_scan_result_release(&res);
	mv_inventory_free(inv);
}

static void test_scan__inventory_walk_order_archives(void **state)
{
	(void)state;
	char root[64];
	make_tree(root);
	scan_tree(root, 1);
	scan_tree(root, 4);
	/* a path that does not exist is a usage error */
	struct mv_scan_result res;
	struct mv_error err = {0};
	struct mv_inventory *inv = mv_inventory_new(0);
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/nope", root);
	const char *paths[1] = {missing};
	struct mv_scan_opts o = {.paths = paths, .npaths = 1};
	assert_int_equal(mv_scan(&o, inv, NULL, &res, &err), MV_ERR_USAGE);
	mv_scan_result_release(&res);
	mv_inventory_free(inv);
	/* a single file as the path */
	snprintf(missing, sizeof(missing), "%s/b/3.dcm", root);
	inv = mv_inventory_new(0);
	assert_int_equal(mv_scan(&o, inv, NULL, &res, &err), 0);
	assert_int_equal(res.files, 1);
	assert_int_equal(res.dicom_files, 1);
	mv_scan_result_release(&res);
	mv_inventory_free(inv);
	tu_rm_rf(root);
}

/* ---- the file hasher --------------------------------------------------------- */

struct head {
	size_t n;
	int calls;
};

static void count_head(void *arg, const uint8_t *p, size_t n)
{
	struct head *h = arg;
	(void)p;
	h->n = n;
	h->calls++;
}

/* The content hash of buf by the definition: chunks cut on the whole
 * buffer, a boundary forced at cut (0: none) and even lengths after it,
 * their keyed ids, then the content hash. */
static void reference_hash(const struct mv_repo *r, const uint8_t *buf, size_t len, size_t cut,
                           uint8_t out[32])
{
	uint8_t(*ids)[32] = malloc((len / 64 + 2) * 32);
	size_t n = 0, off = 0;
	assert_non_null(ids);
	while (off < len) {
		size_t avail = len - off;
		if (cut > off && cut - off <= avail)
			avail = cut - off;
		size_t c = mv_chunker_next(mv_repo_chunker(r), buf + off, avail, 1);
		assert_true(c > 0);
		/* inside the pixel data, chunks keep 16-bit samples whole */
		if (cut && off >= cut && (c & 1) && c > 1 && c < avail)
			c--;
		mv_blob_id(mv_repo_keys(r), buf + off, c, ids[n++]);
		off += c;
	}
	mv_content_hash(mv_repo_keys(r), len, (const uint8_t(*)[32])ids, n, out);
	free(ids);
}

/* Hashes buf[0..len) written to a file; cut: where the DICOM pixel data
 * begins (0: not DICOM). */
static void hash_one(const struct mv_repo *r, uint8_t *buf, size_t len, size_t cut)
{
	char path[64];
	uint8_t want[32], got[32];
	uint64_t size;
	struct head head = {0};
	struct mv_error err = {0};
	const struct mv_dicom_info *info = NULL;
	struct mv_file_hasher *h = mv_file_hasher_new(r);

	assert_non_null(h);
	snprintf(path, sizeof(path), "/tmp/mvscan-hash-%ld", (long)getpid());
	write_file(path, buf, len);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(
	    mv_file_hasher_run(h, fd, len, got, &size, &info, count_head, &head, NULL, &err), 0);
	close(fd);
	unlink(path);
	assert_int_equal(size, len);
	assert_int_equal(head.calls, 1);
	size_t chunk_max = mv_repo_config(r)->chunk_max;
	assert_int_equal(head.n, len < 2 * chunk_max ? len : 2 * chunk_max);
	if (cut) {
		assert_non_null(info);
		assert_int_equal(info->pixel_offset, cut);
	} else {
		assert_null(info);
	}
	reference_hash(r, buf, len, cut, want);
	assert_memory_equal(got, want, 32);
	if (cut) {
		/* the boundary matters: without it, another hash */
		reference_hash(r, buf, len, 0, want);
		assert_memory_not_equal(got, want, 32);
	}
	/* a different byte, a different hash */
	if (len) {
		buf[len - 1] ^= 1;
		reference_hash(r, buf, len, cut, want);
		assert_memory_not_equal(got, want, 32);
		buf[len - 1] ^= 1;
	}
	mv_file_hasher_free(h);
}

static void test_scan__hasher_matches_definition(void **state)
{
	(void)state;
	struct mv_repo *r;
	/* small chunks, so that files span many chunks and the read buffer
	 * (128 KiB) is refilled many times */
	struct mv_init_opts io = {.chunk = {.min = 4096, .avg = 16384, .max = 65536}};
	static const size_t sizes[] = {0, 1, 65536, 3 * 1024 * 1024 + 123};
	char dir[64], loc[96], rec[MV_RECOVERY_TEXT_LEN + 1];
	struct mv_error err = {0};

	snprintf(dir, sizeof(dir), "/tmp/mvscan-hasher.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(loc, sizeof(loc), "%s/repo", dir);
	assert_int_equal(mv_repo_init(loc, (const uint8_t *)"pw", 2, &io, rec, &err), 0);
	assert_int_equal(mv_repo_open(loc, &r, &err), 0);
	assert_int_equal(mv_repo_unlock(r, (const uint8_t *)"pw", 2, &err), 0);
	assert_int_equal(mv_repo_config(r)->chunk_max, 65536);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *buf = malloc(sizes[i] ? sizes[i] : 1);
		assert_non_null(buf);
		randombytes_buf(buf, sizes[i]);
		hash_one(r, buf, sizes[i], 0);
		free(buf);
	}
	/* DICOM: a boundary where the pixel data begins */
	struct tu_buf f;
	make_dicom(&f, &I1, 2 * 1024 * 1024 + 1);
	size_t cut = f.len - (2 * 1024 * 1024 + 2);
	hash_one(r, f.p, f.len, cut);
	tu_buf_free(&f);
	mv_repo_close(r);
	tu_rm_rf(dir);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan__inventory_walk_order_archives),
	    cmocka_unit_test(test_scan__hasher_matches_definition),
	};
	return cmocka_run_group_tests(tests, 0, NULL);
}
