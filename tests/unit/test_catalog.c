/* The DICOM catalog: payload encoding (formats/catalog.c, FORMAT.md section
 * 12), writer and cursor (core/medical/catalog.c) over a real repository, and DICOM
 * inside ZIP, tar and ISO 9660 archives (core/medical/catalog_archive.c). Nothing
 * here depends on backup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/medical/catalog.h"
#include "core/repo/crypto.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/packer.h"
#include "core/repo/repo.h"
#include "formats/catalog.h"
#include "tests/unit/testutil.h"

#define WMAX (MV_CATALOG_BLOB_TARGET * 2u)

/* ---- helpers ------------------------------------------------------------ */

/* snprintf into an array, which must be large enough */
#define SET(dst, ...) assert_true((size_t)snprintf(dst, sizeof(dst), __VA_ARGS__) < sizeof(dst))

/* A header with every field set, distinct per seed. */
static void make_info(struct mv_dicom_info *d, unsigned seed)
{
	memset(d, 0, sizeof(*d));
	SET(d->patient_name, "PATIENT%u^Zoë", seed % 97);
	SET(d->patient_id, "PID-%u", seed % 97);
	SET(d->birth_date, "1953%04u", 101 + seed % 1100);
	SET(d->sex, "%c", seed % 2 ? 'F' : 'M');
	SET(d->study_uid, "1.2.826.0.1.3680043.2.1125.2.%u", seed / 10);
	SET(d->series_uid, "1.2.826.0.1.3680043.2.1125.3.%u", seed / 5);
	SET(d->sop_uid, "1.2.826.0.1.3680043.2.1125.1.%u", seed);
	SET(d->sop_class_uid, "1.2.840.10008.5.1.4.1.1.%u", 2 + seed % 3);
	SET(d->study_date, "2019%04u", 101 + seed % 1100);
	SET(d->study_time, "1015%02u.123", seed % 60);
	snprintf(d->modality, sizeof(d->modality), "%s", seed % 2 ? "MR" : "CT");
	SET(d->study_desc, "Genou droit %u", seed);
	SET(d->series_desc, "Axial T%u", seed % 3);
	SET(d->accession, "ACC%u", seed);
	SET(d->institution, "Clinique %u", seed % 7);
	SET(d->transfer_syntax, "1.2.840.10008.1.2.%u", seed % 2);
	d->pixel_offset = 1000u + seed;
	d->flags = seed % 4 ? 0 : MV_DICOM_F_TRUNCATED;
}

static void assert_info_equal(const struct mv_dicom_info *a, const struct mv_dicom_info *b)
{
	assert_string_equal(a->patient_name, b->patient_name);
	assert_string_equal(a->patient_id, b->patient_id);
	assert_string_equal(a->birth_date, b->birth_date);
	assert_string_equal(a->sex, b->sex);
	assert_string_equal(a->study_uid, b->study_uid);
	assert_string_equal(a->series_uid, b->series_uid);
	assert_string_equal(a->sop_uid, b->sop_uid);
	assert_string_equal(a->sop_class_uid, b->sop_class_uid);
	assert_string_equal(a->study_date, b->study_date);
	assert_string_equal(a->study_time, b->study_time);
	assert_string_equal(a->modality, b->modality);
	assert_string_equal(a->study_desc, b->study_desc);
	assert_string_equal(a->series_desc, b->series_desc);
	assert_string_equal(a->accession, b->accession);
	assert_string_equal(a->institution, b->institution);
	assert_string_equal(a->transfer_syntax, b->transfer_syntax);
	assert_true(a->pixel_offset == b->pixel_offset);
	assert_int_equal(a->flags, b->flags);
}

static void rec_of(struct mv_catalog_rec *rec, const char *path, const char *member, uint64_t size,
                   const struct mv_dicom_info *info)
{
	memset(rec, 0, sizeof(*rec));
	rec->path = (const uint8_t *)path;
	rec->path_len = strlen(path);
	rec->member = (const uint8_t *)member;
	rec->member_len = member ? strlen(member) : 0;
	rec->size = size;
	mv_catalog_rec_from_info(rec, info);
}

/* A payload of n entries "/srv/img/f%05u.dcm" (entry 1 an archive member). */
static void encode_sample(struct mv_wbuf *w, unsigned n)
{
	struct mv_dicom_info info;
	struct mv_catalog_rec rec;
	char path[64];

	mv_wbuf_init(w, WMAX);
	mv_catalog_encode_begin(w);
	for (unsigned i = 0; i < n; i++) {
		SET(path, "/srv/img/f%05u.dcm", i);
		make_info(&info, i);
		rec_of(&rec, path, i == 1 ? "DICOM/IM0001" : NULL, 4096u * i, &info);
		mv_catalog_encode_rec(w, &rec);
	}
	mv_catalog_encode_end(w, n);
	assert_false(w->failed);
}

/* In-memory store: keeps each payload, names it by its index. */
struct memstore {
	uint8_t *p[256];
	size_t len[256];
	unsigned n;
	int fail_at; /* >0: the fail_at-th store fails */
};

static int mem_store(void *arg, const uint8_t *payload, size_t len, uint8_t id[32],
                     struct mv_error *err)
{
	struct memstore *m = arg;
	if (m->fail_at && (int)m->n + 1 == m->fail_at)
		return mv_error_set(err, MV_ERR_IO, 0, "store failed");
	assert_true(m->n < 256);
	m->p[m->n] = malloc(len);
	assert_non_null(m->p[m->n]);
	memcpy(m->p[m->n], payload, len);
	m->len[m->n] = len;
	memset(id, 0, 32);
	id[0] = (uint8_t)m->n;
	m->n++;
	return 0;
}

static void mem_release(struct memstore *m)
{
	for (unsigned i = 0; i < m->n; i++)
		free(m->p[i]);
	memset(m, 0, sizeof(*m));
}

/* Decodes every stored payload in order into a flat list of records. */
struct decoded {
	struct mv_catalog_rec rec[4096];
	size_t n;
};

static void decode_all(const struct memstore *m, struct decoded *d)
{
	d->n = 0;
	for (unsigned i = 0; i < m->n; i++) {
		struct mv_catalog_iter it;
		struct mv_catalog_rec rec;
		int rc;
		assert_int_equal(mv_catalog_iter_init(&it, m->p[i], m->len[i]), 0);
		while ((rc = mv_catalog_iter_next(&it, &rec)) == 1) {
			assert_true(d->n < 4096);
			d->rec[d->n++] = rec;
		}
		assert_int_equal(rc, 0);
	}
}

static int rec_path_is(const struct mv_catalog_rec *r, const char *path)
{
	return r->path_len == strlen(path) && memcmp(r->path, path, r->path_len) == 0;
}

static int rec_member_is(const struct mv_catalog_rec *r, const char *m)
{
	if (!m)
		return r->member == NULL && r->member_len == 0;
	return r->member_len == strlen(m) && memcmp(r->member, m, r->member_len) == 0;
}

/* ---- a real repository ---------------------------------------------------- */

/* ---- DICOM files and archives -------------------------------------------- */

/* A Part 10 file of the given patient with `pixels` bytes of pixel data. */
static uint8_t *make_dicom(const char *patient, const char *sop, size_t pixels, size_t *len)
{
	struct tu_buf f = {0}, m = {0};
	uint8_t pre[128] = {0};

	tu_buf_u16le(&m, 0x0002), tu_buf_u16le(&m, 0x0001), tu_buf_put(&m, "OB\0\0", 4),
	    tu_buf_u32le(&m, 2);
	tu_buf_put(&m, "\0\1", 2);
	tu_dcm_str(&m, 0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.4");
	tu_dcm_str(&m, 0x0002, 0x0003, "UI", sop);
	tu_dcm_str(&m, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1");
	tu_buf_put(&f, pre, sizeof(pre));
	tu_buf_put(&f, "DICM", 4);
	tu_buf_u16le(&f, 0x0002), tu_buf_u16le(&f, 0x0000), tu_buf_put(&f, "UL", 2),
	    tu_buf_u16le(&f, 4);
	tu_buf_u32le(&f, (uint32_t)m.len);
	tu_buf_put(&f, m.p, m.len);
	tu_buf_free(&m);
	tu_dcm_str(&f, 0x0008, 0x0005, "CS", "ISO_IR 192");
	tu_dcm_str(&f, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4");
	tu_dcm_str(&f, 0x0008, 0x0018, "UI", sop);
	tu_dcm_str(&f, 0x0008, 0x0020, "DA", "20190315");
	tu_dcm_str(&f, 0x0008, 0x0060, "CS", "MR");
	tu_dcm_str(&f, 0x0010, 0x0010, "PN", patient);
	tu_dcm_str(&f, 0x0010, 0x0020, "LO", "PAT-7");
	tu_dcm_str(&f, 0x0020, 0x000d, "UI", "1.2.826.0.1.3680043.2.1125.2.7");
	tu_dcm_str(&f, 0x0020, 0x000e, "UI", "1.2.826.0.1.3680043.2.1125.3.7");
	tu_buf_u16le(&f, 0x7fe0), tu_buf_u16le(&f, 0x0010), tu_buf_put(&f, "OW\0\0", 4);
	tu_buf_u32le(&f, (uint32_t)pixels);
	for (size_t i = 0; i < pixels; i++) {
		uint8_t v = (uint8_t)(i * 7);
		tu_buf_put(&f, &v, 1);
	}
	*len = f.len;
	return f.p;
}

struct member {
	const char *name;
	const uint8_t *data; /* NULL: a directory */
	size_t len;
};

/* Writes an archive with libarchive (format/filter by name) to path.
 * Returns 0, or -1 when this libarchive cannot write it (the option). */
static int write_archive(const char *path, const char *format, const char *filter,
                         const char *passphrase, const struct member *m, size_t n)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_by_name(a, format), ARCHIVE_OK);
	if (filter)
		assert_int_equal(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
	if (passphrase) {
		if (archive_write_set_options(a, "zip:encryption=zipcrypt") != ARCHIVE_OK ||
		    archive_write_set_passphrase(a, passphrase) != ARCHIVE_OK) {
			archive_write_free(a);
			return -1;
		}
	}
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_mtime(e, 1700000000, 0);
		if (m[i].data) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_size(e, (la_int64_t)m[i].len);
		} else {
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (m[i].data)
			assert_int_equal(archive_write_data(a, m[i].data, m[i].len),
			                 (la_ssize_t)m[i].len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return 0;
}

/* Catalogues path as snapshot path "/cd/x"; returns add_archive's result. */
static int catalog_file(const char *path, struct memstore *ms, int *unreadable)
{
	struct mv_error err = {0};
	struct mv_catalog_writer *w = mv_catalog_writer_new(mem_store, ms);
	uint8_t(*ids)[32] = NULL;
	uint32_t nids = 0;
	int fd = open(path, O_RDONLY);

	assert_non_null(w);
	assert_true(fd >= 0);
	/* the caller's offset must not matter and must stay where it was */
	assert_int_equal(lseek(fd, 7, SEEK_SET), 7);
	int rc = mv_catalog_add_archive(fd, "/cd/x", w, unreadable, &err);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 7);
	close(fd);
	assert_int_equal(mv_catalog_writer_finish(w, &ids, &nids, &err), 0);
	assert_int_equal(nids, ms->n);
	free(ids);
	mv_catalog_writer_free(w);
	return rc;
}

struct dicoms {
	uint8_t *a, *b;
	size_t alen, blen;
};

static void make_dicoms(struct dicoms *d)
{
	d->a = make_dicom("Dupont^Marie", "1.2.3.100", 200000, &d->alen); /* longer than 64 KiB */
	d->b = make_dicom("Lefèvre^Inès", "1.2.3.101", 512, &d->blen);
}

static void check_two_members(const struct memstore *ms, const struct dicoms *d, const char *ma,
                              const char *mb)
{
	struct decoded *dec = malloc(sizeof(*dec));
	struct mv_dicom_info info;

	assert_non_null(dec);
	decode_all(ms, dec);
	assert_int_equal(dec->n, 2);
	assert_true(rec_path_is(&dec->rec[0], "/cd/x"));
	assert_true(rec_member_is(&dec->rec[0], ma));
	assert_true(dec->rec[0].size == d->alen);
	mv_catalog_rec_to_info(&dec->rec[0], &info);
	assert_string_equal(info.patient_name, "Dupont^Marie");
	assert_string_equal(info.sop_uid, "1.2.3.100");
	assert_string_equal(info.modality, "MR");
	assert_true(rec_member_is(&dec->rec[1], mb));
	assert_true(dec->rec[1].size == d->blen);
	mv_catalog_rec_to_info(&dec->rec[1], &info);
	assert_string_equal(info.patient_name, "Lefèvre^Inès");
	free(dec);
}

static char *tmp_path(char *buf, size_t cap, const char *name)
{
	static unsigned seq;
	snprintf(buf, cap, "/tmp/mvcat-%ld-%u-%s", (long)getpid(), seq++, name);
	return buf;
}

/* ---- format ----------------------------------------------------------------- */

/* The rule as FORMAT.md states it: component by component, bytewise, a
 * prefix first; fewer components first when all shared ones are equal. */
static int ref_cmp(const char *a, const char *b)
{
	for (;;) {
		size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
		size_t m = la < lb ? la : lb;
		int c = m ? memcmp(a, b, m) : 0;
		if (c)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
		a += la;
		b += lb;
		if (!*a || !*b)
			return *a ? 1 : *b ? -1 : 0;
		a++; /* past the '/' */
		b++;
	}
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void test_catalog__path_order(void **state)
{
	(void)state;
	assert_true(mv_catalog_path_cmp("/a/b", "/a-b") < 0);
	assert_true(mv_catalog_path_cmp("/a-b", "/a0") < 0);
	assert_true(mv_catalog_path_cmp("/a", "/a/b") < 0);
	assert_true(mv_catalog_path_cmp("/a/b", "/a") > 0);
	assert_true(mv_catalog_path_cmp("/a/b/c", "/a/ba") < 0);
	assert_true(mv_catalog_path_cmp("/srv/x.dcm", "/srv/x.dcm") == 0);
	assert_true(mv_catalog_path_cmp("/srv/\xe9", "/srv/z") > 0); /* bytewise, unsigned */
	assert_true(mv_catalog_path_cmp("", "/a") < 0);
	/* long common prefixes (the memcmp fast path) */
	char a[300], b[300];
	memset(a, 'x', sizeof(a));
	memset(b, 'x', sizeof(b));
	a[299] = b[299] = '\0';
	a[200] = '/';
	b[200] = '!';
	assert_true(mv_catalog_path_cmp(a, b) < 0);
	assert_true(mv_catalog_path_cmp(b, a) > 0);

	/* random short paths over a small alphabet: the same as the rule */
	static const char alpha[] = "ab/-0\xff";
	unsigned x = 12345;
	for (int i = 0; i < 200000; i++) {
		char p[2][12];
		for (int k = 0; k < 2; k++) {
			x = x * 1103515245u + 12345u;
			int len = 1 + (int)((x >> 16) % 10);
			p[k][0] = '/';
			for (int j = 1; j < len; j++) {
				x = x * 1103515245u + 12345u;
				p[k][j] = alpha[(x >> 16) % 6];
			}
			p[k][len] = '\0';
		}
		if (strstr(p[0], "//") || strstr(p[1], "//"))
			continue; /* paths are normalised */
		assert_int_equal(sign(mv_catalog_path_cmp(p[0], p[1])), sign(ref_cmp(p[0], p[1])));
	}
}

static void test_catalog__round_trip(void **state)
{
	struct mv_wbuf w, w2;
	struct mv_catalog_iter it;
	struct mv_catalog_rec rec;
	struct mv_dicom_info want, got;
	uint32_t count;
	char path[64];
	(void)state;

	encode_sample(&w, 5);
	assert_int_equal(w.data[0], MV_CATALOG_VERSION);
	assert_int_equal(mv_get_u32(w.data + 1), 5);
	assert_int_equal(mv_catalog_check(w.data, w.len, &count), 0);
	assert_int_equal(count, 5);

	mv_wbuf_init(&w2, WMAX);
	mv_catalog_encode_begin(&w2);
	assert_int_equal(mv_catalog_iter_init(&it, w.data, w.len), 0);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(mv_catalog_iter_next(&it, &rec), 1);
		SET(path, "/srv/img/f%05u.dcm", i);
		assert_true(rec_path_is(&rec, path));
		assert_true(rec_member_is(&rec, i == 1 ? "DICOM/IM0001" : NULL));
		assert_true(rec.size == 4096u * i);
		make_info(&want, i);
		memset(&got, 0x55, sizeof(got)); /* garbage must not leak through */
		mv_catalog_rec_to_info(&rec, &got);
		assert_info_equal(&want, &got);
		assert_true(rec.raw_len == mv_catalog_rec_len(&rec));
		mv_catalog_encode_rec(&w2, &rec);
	}
	assert_int_equal(mv_catalog_iter_next(&it, &rec), 0);
	mv_catalog_encode_end(&w2, 5);
	assert_false(w2.failed);
	assert_int_equal(w2.len, w.len);
	assert_memory_equal(w2.data, w.data, w.len); /* canonical */

	/* an empty payload */
	mv_wbuf_release(&w2);
	mv_catalog_encode_begin(&w2);
	mv_catalog_encode_end(&w2, 0);
	assert_int_equal(w2.len, 5);
	assert_int_equal(mv_catalog_check(w2.data, w2.len, &count), 0);
	assert_int_equal(count, 0);
	mv_wbuf_release(&w);
	mv_wbuf_release(&w2);
}

static void test_catalog__truncation_at_every_offset(void **state)
{
	struct mv_wbuf w;
	uint32_t count;
	(void)state;

	encode_sample(&w, 3);
	for (size_t n = 0; n < w.len; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
		assert_non_null(copy);
		memcpy(copy, w.data, n);
		assert_int_equal(mv_catalog_check(copy, n, &count), MV_FMT_MALFORMED);
		assert_int_equal(count, 0);
		free(copy);
	}
	assert_int_equal(mv_catalog_check(w.data, w.len, &count), 0);
	assert_int_equal(mv_catalog_check(NULL, 0, &count), MV_FMT_MALFORMED);
	mv_wbuf_release(&w);
}

/* Copies the sample payload and lets f change it. */
static int check_modified(void (*f)(struct mv_wbuf *w))
{
	struct mv_wbuf w;
	uint32_t count;
	encode_sample(&w, 3);
	f(&w);
	int rc = mv_catalog_check(w.data, w.len, &count);
	mv_wbuf_release(&w);
	return rc;
}

/* offset of entry 0's path bytes and of its patient name field */
#define E0_PATH 7u
static size_t e0_field(const struct mv_wbuf *w, unsigned field)
{
	const uint8_t *p = w->data + 5;
	size_t o = 0;
	o += 2 + (size_t)(p[o] | p[o + 1] << 8); /* path */
	o += 2 + (size_t)(p[o] | p[o + 1] << 8); /* member */
	o += 12;
	for (unsigned f = 0; f < field; f++)
		o += 2 + (size_t)(p[o] | p[o + 1] << 8);
	return 5 + o; /* the field's u16 length */
}

static void mod_version(struct mv_wbuf *w)
{
	w->data[0] = 2;
}
static void mod_count_high(struct mv_wbuf *w)
{
	mv_put_u32(w->data + 1, 4);
}
static void mod_count_low(struct mv_wbuf *w)
{
	mv_put_u32(w->data + 1, 2); /* leaves an entry as trailing bytes */
}
static void mod_count_limit(struct mv_wbuf *w)
{
	mv_put_u32(w->data + 1, MV_CATALOG_MAX_ENTRIES + 1);
}
static void mod_trailing(struct mv_wbuf *w)
{
	mv_wbuf_u8(w, 0);
}
static void mod_nul_path(struct mv_wbuf *w)
{
	w->data[E0_PATH + 3] = '\0';
}
static void mod_nul_field(struct mv_wbuf *w)
{
	w->data[e0_field(w, MV_CAT_PATIENT_NAME) + 2] = '\0';
}
static void mod_flags(struct mv_wbuf *w)
{
	size_t o = e0_field(w, 0) - 4; /* flags precede the fields */
	mv_put_u32(w->data + o, 1u << 8);
}
static void mod_order(struct mv_wbuf *w)
{
	/* entry 0 "/srv/img/f00000.dcm" becomes "/srv/img/f9..." > entry 1 */
	w->data[E0_PATH + 10] = '9';
}
static void mod_same_path(struct mv_wbuf *w)
{
	/* entry 0 gets entry 1's path: equal paths are allowed (members) */
	w->data[E0_PATH + 14] = '1';
}
static void mod_path_len(struct mv_wbuf *w)
{
	w->data[5] = 0xff;
	w->data[6] = 0xff; /* path longer than the payload */
}

static void test_catalog__rejects_malformed(void **state)
{
	(void)state;
	assert_int_equal(check_modified(mod_version), MV_FMT_MALFORMED);
	assert_int_equal(check_modified(mod_count_high), MV_FMT_MALFORMED);
	assert_int_equal(check_modified(mod_count_low), MV_FMT_MALFORMED);
	assert_int_equal(check_modified(mod_count_limit), MV_FMT_MALFORMED);
	assert_int_equal(check_modified(mod_trailing), MV_FMT_MALFORMED);
	assert_int_equal(check_modified(mod_nul_path), MV_FMT_MALFORMED);
	assert_int_equal(check_modified(mod_nul_field), MV_FMT_MALFORMED);
	assert_int_equal(check_modified(mod_flags), MV_FMT_MALFORMED);
	assert_int_equal(check_modified(mod_order), MV_FMT_MALFORMED);
	assert_int_equal(check_modified(mod_path_len), MV_FMT_MALFORMED);
	assert_int_equal(check_modified(mod_same_path), 0);
}

static void test_catalog__field_limits(void **state)
{
	struct mv_dicom_info info;
	struct mv_catalog_rec rec;
	struct mv_wbuf w;
	uint8_t big[300];
	uint32_t count;
	(void)state;

	assert_int_equal(mv_catalog_field_max(MV_CAT_PATIENT_NAME), 255);
	assert_int_equal(mv_catalog_field_max(MV_CAT_PATIENT_ID), 71);
	assert_int_equal(mv_catalog_field_max(MV_CAT_STUDY_TIME), 31);
	assert_int_equal(mv_catalog_field_max(MV_CAT_ACCESSION), 39);
	assert_int_equal(mv_catalog_field_max(MV_CAT_NFIELDS), 0);
	memset(big, 'A', sizeof(big));
	make_info(&info, 1);
	for (unsigned f = 0; f < MV_CAT_NFIELDS; f++) {
		size_t max = mv_catalog_field_max(f);
		/* at the limit: written and read back */
		rec_of(&rec, "/a", NULL, 1, &info);
		rec.field[f] = big;
		rec.field_len[f] = max;
		mv_wbuf_init(&w, WMAX);
		mv_catalog_encode_begin(&w);
		mv_catalog_encode_rec(&w, &rec);
		mv_catalog_encode_end(&w, 1);
		assert_false(w.failed);
		assert_int_equal(mv_catalog_check(w.data, w.len, &count), 0);
		/* one byte more: the encoder refuses, and so does the decoder */
		size_t at = 5 + 2 + 2 + 2 + 12;
		for (unsigned g = 0; g < f; g++)
			at += 2 + rec.field_len[g];
		uint8_t *p = malloc(w.len + 1);
		assert_non_null(p);
		memcpy(p, w.data, at + 2 + max);
		p[at] = (uint8_t)(max + 1);
		p[at + 1] = (uint8_t)((max + 1) >> 8);
		p[at + 2 + max] = 'A';
		memcpy(p + at + 2 + max + 1, w.data + at + 2 + max, w.len - at - 2 - max);
		assert_int_equal(mv_catalog_check(p, w.len + 1, &count), MV_FMT_MALFORMED);
		free(p);
		mv_wbuf_release(&w);
		rec.field_len[f] = max + 1;
		mv_catalog_encode_begin(&w);
		size_t before = w.len;
		mv_catalog_encode_rec(&w, &rec);
		assert_true(w.failed);
		assert_int_equal(w.len, before); /* nothing written */
		mv_wbuf_release(&w);
	}
	/* empty path, NUL in member, unknown flags: refused by the encoder */
	rec_of(&rec, "", NULL, 1, &info);
	mv_wbuf_init(&w, WMAX);
	mv_catalog_encode_rec(&w, &rec);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	rec_of(&rec, "/a", NULL, 1, &info);
	rec.member = (const uint8_t *)"a\0b";
	rec.member_len = 3;
	mv_catalog_encode_rec(&w, &rec);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	rec_of(&rec, "/a", NULL, 1, &info);
	rec.flags = 1u << 9;
	mv_catalog_encode_rec(&w, &rec);
	assert_true(w.failed);
	mv_wbuf_release(&w);
	/* the entry count limit */
	mv_catalog_encode_begin(&w);
	mv_catalog_encode_end(&w, MV_CATALOG_MAX_ENTRIES + 1);
	assert_true(w.failed);
	mv_wbuf_release(&w);
}

/* Many entries far apart in size: the writer closes payloads at the
 * target, in order, and the iterator reads them back. */
static void test_catalog__writer_splits_payloads(void **state)
{
	struct memstore ms = {0};
	struct mv_error err = {0};
	struct mv_dicom_info info;
	struct mv_catalog_entry e;
	uint8_t(*ids)[32];
	uint32_t nids;
	char path[64];
	const unsigned n = 12000;
	(void)state;

	struct mv_catalog_writer *w = mv_catalog_writer_new(mem_store, &ms);
	assert_non_null(w);
	for (unsigned i = 0; i < n; i++) {
		make_info(&info, i);
		memset(info.study_desc, 'd', 255); /* ~1 KiB per entry */
		info.study_desc[255] = '\0';
		memset(info.institution, 'i', 255);
		info.institution[255] = '\0';
		SET(path, "/srv/%05u.dcm", i);
		e = (struct mv_catalog_entry){path, NULL, i, &info};
		assert_int_equal(mv_catalog_writer_add(w, &e, &err), 0);
	}
	assert_int_equal(mv_catalog_writer_finish(w, &ids, &nids, &err), 0);
	assert_true(nids >= 3);
	assert_int_equal(nids, ms.n);
	uint32_t total = 0;
	for (unsigned b = 0; b < ms.n; b++) {
		uint32_t count;
		assert_true(ms.len[b] <= MV_CATALOG_BLOB_TARGET);
		if (b + 1 < ms.n) /* closed near the target */
			assert_true(ms.len[b] > MV_CATALOG_BLOB_TARGET - 4096);
		assert_int_equal(ids[b][0], b);
		assert_int_equal(mv_catalog_check(ms.p[b], ms.len[b], &count), 0);
		total += count;
	}
	assert_int_equal(total, n);
	/* finishing twice or adding afterwards is a usage error */
	assert_int_equal(mv_catalog_writer_add(w, &e, &err), MV_ERR_USAGE);
	free(ids);
	mv_catalog_writer_free(w);
	mem_release(&ms);
}

static void test_catalog__writer_checks(void **state)
{
	struct memstore ms = {0};
	struct mv_error err = {0};
	struct mv_dicom_info info;
	uint8_t(*ids)[32] = (void *)&ms;
	uint32_t nids = 7;
	(void)state;

	/* nothing added: no blob */
	struct mv_catalog_writer *w = mv_catalog_writer_new(mem_store, &ms);
	assert_non_null(w);
	assert_int_equal(mv_catalog_writer_finish(w, &ids, &nids, &err), 0);
	assert_null(ids);
	assert_int_equal(nids, 0);
	assert_int_equal(ms.n, 0);
	mv_catalog_writer_free(w);
	mv_catalog_writer_free(NULL);

	make_info(&info, 3);
	w = mv_catalog_writer_new(mem_store, &ms);
	struct mv_catalog_entry a = {"/srv/b/x.dcm", NULL, 1, &info};
	struct mv_catalog_entry b = {"/srv/a-b.dcm", "m1", 2, &info}; /* sorts before a */
	struct mv_catalog_entry c = {"/srv/b.zip", "m1", 3, &info};
	struct mv_catalog_entry c2 = {"/srv/b.zip", "m2", 4, NULL}; /* no header: empty fields */
	assert_int_equal(mv_catalog_writer_add(w, &a, &err), 0);
	assert_int_equal(mv_catalog_writer_add(w, &b, &err), MV_ERR_USAGE); /* out of order */
	assert_int_equal(mv_catalog_writer_add(w, &c, &err), 0);
	assert_int_equal(mv_catalog_writer_add(w, &c2, &err), 0);
	/* a path too long for a str16: refused, the writer goes on */
	char *lp = malloc(70000);
	assert_non_null(lp);
	memset(lp, 'x', 69999);
	lp[0] = '/';
	lp[69999] = '\0';
	struct mv_catalog_entry l = {lp, NULL, 5, &info};
	assert_int_equal(mv_catalog_writer_add(w, &l, &err), MV_ERR_LIMIT);
	struct mv_catalog_entry empty = {"", NULL, 5, &info};
	assert_int_equal(mv_catalog_writer_add(w, &empty, &err), MV_ERR_USAGE);
	free(lp);
	assert_int_equal(mv_catalog_writer_finish(w, &ids, &nids, &err), 0);
	assert_int_equal(nids, 1);
	free(ids);
	mv_catalog_writer_free(w);

	struct decoded *d = malloc(sizeof(*d));
	assert_non_null(d);
	decode_all(&ms, d);
	assert_int_equal(d->n, 3);
	assert_true(rec_path_is(&d->rec[0], "/srv/b/x.dcm"));
	assert_true(rec_member_is(&d->rec[1], "m1"));
	assert_true(rec_member_is(&d->rec[2], "m2"));
	assert_int_equal(d->rec[2].field_len[MV_CAT_PATIENT_NAME], 0);
	free(d);
	mem_release(&ms);

	/* a failing store is returned, and sticks */
	ms.fail_at = 1;
	w = mv_catalog_writer_new(mem_store, &ms);
	assert_int_equal(mv_catalog_writer_add(w, &a, &err), 0);
	assert_int_equal(mv_catalog_writer_finish(w, &ids, &nids, &err), MV_ERR_IO);
	assert_int_equal(mv_catalog_writer_add(w, &c, &err), MV_ERR_IO);
	mv_catalog_writer_free(w);
	mem_release(&ms);
}

/* ---- cursor over a repository --------------------------------------------- */

#define NCUR 9000u

static void cursor_path(char *buf, size_t cap, unsigned i)
{
	/* every 10th file is an archive with three members */
	snprintf(buf, cap, i % 10 == 5 ? "/srv/imaging/%05u.zip" : "/srv/imaging/%05u.dcm", i);
}

static void test_catalog__cursor_reads_and_copies(void **state)
{
	struct tu_trepo t;
	struct mv_error err = {0};
	struct mv_dicom_info info;
	struct mv_catalog_entry e;
	struct mv_snapshot s;
	uint8_t(*ids)[32];
	uint32_t nids;
	char path[64], member[32];
	unsigned expected = 0;
	(void)state;

	tu_trepo_open(&t, "mvcat");
	struct mv_catalog_writer *w = mv_catalog_writer_new(tu_trepo_store, &t);
	assert_non_null(w);
	for (unsigned i = 0; i < NCUR; i++) {
		cursor_path(path, sizeof(path), i);
		make_info(&info, i);
		memset(info.series_desc, 's', 255); /* several blobs */
		info.series_desc[255] = '\0';
		for (unsigned k = 0; k < (i % 10 == 5 ? 3u : 1u); k++) {
			SET(member, "DICOM/IM%u", k);
			e = (struct mv_catalog_entry){path, i % 10 == 5 ? member : NULL, i, &info};
			assert_int_equal(mv_catalog_writer_add(w, &e, &err), 0);
			expected++;
		}
	}
	assert_int_equal(mv_catalog_writer_finish(w, &ids, &nids, &err), 0);
	mv_catalog_writer_free(w);
	assert_true(nids >= 2);
	tu_trepo_commit(&t);

	memset(&s, 0, sizeof(s));
	s.catalog = ids;
	s.ncatalog = nids;

	/* every entry, in order */
	struct mv_catalog_cursor *c;
	assert_int_equal(mv_catalog_cursor_open(t.r, NULL, &s, &c, &err), 0);
	unsigned got = 0;
	for (unsigned i = 0; i < NCUR; i++) {
		struct mv_dicom_info want;
		make_info(&want, i);
		memset(want.series_desc, 's', 255);
		want.series_desc[255] = '\0';
		cursor_path(path, sizeof(path), i);
		for (unsigned k = 0; k < (i % 10 == 5 ? 3u : 1u); k++) {
			assert_int_equal(mv_catalog_cursor_next(c, &e, &err), 1);
			assert_string_equal(e.path, path);
			if (i % 10 == 5) {
				SET(member, "DICOM/IM%u", k);
				assert_string_equal(e.member, member);
			} else {
				assert_null(e.member);
			}
			assert_true(e.size == i);
			assert_info_equal(e.info, &want);
			got++;
		}
	}
	assert_int_equal(mv_catalog_cursor_next(c, &e, &err), 0);
	assert_int_equal(mv_catalog_cursor_next(c, &e, &err), 0);
	assert_int_equal(got, expected);
	mv_catalog_cursor_free(c);

	/* copy: every 7th path and every archive, plus paths that are not
	 * there; the copy holds exactly their entries, byte for byte */
	struct memstore ms = {0};
	struct mv_catalog_writer *w2 = mv_catalog_writer_new(mem_store, &ms);
	assert_int_equal(mv_catalog_cursor_open(t.r, mv_repo_blob_ctx(t.r), &s, &c, &err), 0);
	unsigned copied = 0;
	for (unsigned i = 0; i < NCUR; i++) {
		if (i % 7 && i % 10 != 5)
			continue;
		cursor_path(path, sizeof(path), i);
		assert_int_equal(mv_catalog_cursor_copy(c, path, w2, &err), 0);
		copied += i % 10 == 5 ? 3 : 1;
		SET(path, "/srv/imaging/%05u.absent", i);
		assert_int_equal(mv_catalog_cursor_copy(c, path, w2, &err), 0);
	}
	assert_int_equal(mv_catalog_cursor_copy(c, "/zzz", w2, &err), 0); /* past the end */
	assert_int_equal(mv_catalog_cursor_next(c, &e, &err), 0);
	mv_catalog_cursor_free(c);
	uint8_t(*ids2)[32];
	uint32_t nids2;
	assert_int_equal(mv_catalog_writer_finish(w2, &ids2, &nids2, &err), 0);
	mv_catalog_writer_free(w2);
	free(ids2);
	unsigned total = 0, k = 0;
	for (unsigned b = 0; b < ms.n; b++) {
		struct mv_catalog_iter it;
		struct mv_catalog_rec rec;
		assert_int_equal(mv_catalog_iter_init(&it, ms.p[b], ms.len[b]), 0);
		while (mv_catalog_iter_next(&it, &rec) == 1) {
			while (k % 7 && k % 10 != 5)
				k++;
			cursor_path(path, sizeof(path), k);
			assert_true(rec_path_is(&rec, path));
			assert_true(rec.size == k);
			total++;
			if (k % 10 != 5 || rec_member_is(&rec, "DICOM/IM2"))
				k++;
		}
	}
	assert_int_equal(total, copied);
	mem_release(&ms);

	/* a catalog blob the index does not know: an error, not a crash */
	uint8_t bogus[2][32];
	memcpy(bogus[0], ids[0], 32);
	memset(bogus[1], 0xab, 32);
	s.catalog = bogus;
	s.ncatalog = 2;
	assert_int_equal(mv_catalog_cursor_open(t.r, NULL, &s, &c, &err), 0);
	int rc;
	while ((rc = mv_catalog_cursor_next(c, &e, &err)) == 1)
		;
	assert_int_equal(rc, MV_ERR_NOTFOUND);
	mv_catalog_cursor_free(c);

	/* a snapshot without catalog: an empty cursor */
	s.catalog = NULL;
	s.ncatalog = 0;
	assert_int_equal(mv_catalog_cursor_open(t.r, NULL, &s, &c, &err), 0);
	assert_int_equal(mv_catalog_cursor_next(c, &e, &err), 0);
	mv_catalog_cursor_free(c);
	mv_catalog_cursor_free(NULL);
	free(ids);
	tu_trepo_close(&t);
}

/* ---- archives ----------------------------------------------------------------- */

/* Writes the members m as an archive (libarchive format and filter) named
 * name, catalogs it and checks it lists d's two files as ma and mb. */
static void check_archive(const struct dicoms *d, const char *name, const char *format,
                          const char *filter, const struct member *m, size_t n, const char *ma,
                          const char *mb)
{
	struct memstore ms = {0};
	char path[128];
	int unreadable = -1;

	tmp_path(path, sizeof(path), name);
	assert_int_equal(write_archive(path, format, filter, NULL, m, n), 0);
	assert_int_equal(catalog_file(path, &ms, &unreadable), 1);
	assert_int_equal(unreadable, 0);
	check_two_members(&ms, d, ma, mb);
	mem_release(&ms);
	unlink(path);
}

static void test_catalog__archive_zip(void **state)
{
	struct dicoms d;
	(void)state;

	make_dicoms(&d);
	const struct member m[] = {
	    {"DICOM", NULL, 0},
	    {"DICOM/IM0001", d.a, d.alen},
	    {"README.TXT", (const uint8_t *)"not dicom\n", 10},
	    {"DICOM/IM0002", d.b, d.blen},
	    {"empty", (const uint8_t *)"", 0},
	};
	check_archive(&d, "a.zip", "zip", NULL, m, 5, "DICOM/IM0001", "DICOM/IM0002");
	free(d.a);
	free(d.b);
}

static void test_catalog__archive_tar_gz_and_iso(void **state)
{
	struct dicoms d;
	(void)state;

	make_dicoms(&d);
	const struct member m[] = {
	    {"patient/a.dcm", d.a, d.alen},
	    {"patient/b.dcm", d.b, d.blen},
	};
	check_archive(&d, "a.tar.gz", "pax", "gzip", m, 2, "patient/a.dcm", "patient/b.dcm");
	check_archive(&d, "a.tar", "ustar", NULL, m, 2, "patient/a.dcm", "patient/b.dcm");
	const struct member iso[] = {
	    {"DICOM", NULL, 0},
	    {"DICOM/IM1", d.a, d.alen},
	    {"DICOM/IM2", d.b, d.blen},
	};
	check_archive(&d, "cd.iso", "iso9660", NULL, iso, 3, "DICOM/IM1", "DICOM/IM2");
	free(d.a);
	free(d.b);
}

static void write_file(const char *path, const void *p, size_t n)
{
	tu_write_file(path, p, n, 0644);
}

static void test_catalog__not_archives(void **state)
{
	struct dicoms d;
	struct memstore ms = {0};
	char path[128];
	int unreadable = -1;
	(void)state;

	make_dicoms(&d);
	tmp_path(path, sizeof(path), "plain.dcm");
	write_file(path, d.a, d.alen); /* a DICOM file is not an archive */
	assert_int_equal(catalog_file(path, &ms, &unreadable), 0);
	assert_int_equal(unreadable, 0);
	assert_int_equal(ms.n, 0);
	write_file(path, "hello, world\n", 13);
	assert_int_equal(catalog_file(path, &ms, &unreadable), 0);
	assert_int_equal(unreadable, 0);
	write_file(path, "", 0);
	assert_int_equal(catalog_file(path, &ms, &unreadable), 0);
	unlink(path);
	/* gzip of something that is no archive: not an archive either */
	const struct member m[] = {{"x", d.b, d.blen}};
	tmp_path(path, sizeof(path), "x.cpio.gz");
	assert_int_equal(write_archive(path, "cpio", "gzip", NULL, m, 1), 0);
	assert_int_equal(catalog_file(path, &ms, &unreadable), 0);
	assert_int_equal(unreadable, 0);
	assert_int_equal(ms.n, 0);
	unlink(path);
	free(d.a);
	free(d.b);
}

static void test_catalog__damaged_archives(void **state)
{
	struct dicoms d;
	struct memstore ms = {0};
	char path[128], cut[128];
	int unreadable = -1;
	(void)state;

	make_dicoms(&d);
	const struct member m[] = {
	    {"DICOM/IM0001", d.a, d.alen},
	    {"DICOM/IM0002", d.b, d.blen},
	};
	/* encrypted members: unreadable, nothing catalogued */
	tmp_path(path, sizeof(path), "enc.zip");
	if (write_archive(path, "zip", NULL, "s3cret-pass", m, 2) == 0) {
		assert_int_equal(catalog_file(path, &ms, &unreadable), 0);
		assert_int_equal(unreadable, 1);
		assert_int_equal(ms.n, 0);
		unlink(path);
	}

	/* a ZIP cut anywhere, or with bytes changed: never a crash; when it
	 * is reported readable, what it lists is right */
	tmp_path(path, sizeof(path), "ok.zip");
	assert_int_equal(write_archive(path, "zip", NULL, NULL, m, 2), 0);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t zip[1 << 20];
	size_t zlen = fread(zip, 1, sizeof(zip), f);
	fclose(f);
	assert_true(zlen > 1000);
	tmp_path(cut, sizeof(cut), "cut.zip");
	for (size_t n = 4; n < zlen; n += zlen / 37 + 1) {
		write_file(cut, zip, n);
		int rc = catalog_file(cut, &ms, &unreadable);
		assert_true(rc == 0 || rc == 1);
		if (rc == 0)
			assert_true(unreadable == 1 || ms.n == 0);
		mem_release(&ms);
	}
	for (size_t at = 0; at < zlen; at += zlen / 53 + 1) {
		uint8_t save = zip[at];
		zip[at] ^= 0x5a;
		write_file(cut, zip, zlen);
		int rc = catalog_file(cut, &ms, &unreadable);
		assert_true(rc == 0 || rc == 1);
		mem_release(&ms);
		zip[at] = save;
	}
	unlink(cut);
	unlink(path);
	free(d.a);
	free(d.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_catalog__path_order),
	    cmocka_unit_test(test_catalog__round_trip),
	    cmocka_unit_test(test_catalog__truncation_at_every_offset),
	    cmocka_unit_test(test_catalog__rejects_malformed),
	    cmocka_unit_test(test_catalog__field_limits),
	    cmocka_unit_test(test_catalog__writer_splits_payloads),
	    cmocka_unit_test(test_catalog__writer_checks),
	    cmocka_unit_test(test_catalog__cursor_reads_and_copies),
	    cmocka_unit_test(test_catalog__archive_zip),
	    cmocka_unit_test(test_catalog__archive_tar_gz_and_iso),
	    cmocka_unit_test(test_catalog__not_archives),
	    cmocka_unit_test(test_catalog__damaged_archives),
	};
	if (mv_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
