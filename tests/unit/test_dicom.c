/* DICOM header reader (formats/dicom.c): files built in memory in every
 * transfer syntax, character sets, sequences, and hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/dicom.h"

#define TS_IMPLICIT "1.2.840.10008.1.2"
#define TS_EXPLICIT "1.2.840.10008.1.2.1"
#define TS_BIG      "1.2.840.10008.1.2.2"
#define TS_DEFLATED "1.2.840.10008.1.2.1.99"
#define TS_JPEG     "1.2.840.10008.1.2.4.50"
#define CT_CLASS    "1.2.840.10008.5.1.4.1.1.2"
#define SOP_UID     "1.2.826.0.1.3680043.2.1125.1.42"
#define STUDY_UID   "1.2.826.0.1.3680043.2.1125.2.7"
#define SERIES_UID  "1.2.826.0.1.3680043.2.1125.3.9"
/* a string literal and its length (without the terminating NUL) */
#define LIT(s) s, sizeof(s) - 1

/* ---- a small DICOM writer ----------------------------------------------- */

struct b {
	uint8_t *p;
	size_t len, cap;
	int implicit, big;
};

static void b_init(struct b *b, int implicit, int big)
{
	memset(b, 0, sizeof(*b));
	b->implicit = implicit;
	b->big = big;
}

static void b_free(struct b *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static void b_bytes(struct b *b, const void *v, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, v, n);
	b->len += n;
}

static void b_u16(struct b *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	if (b->big) {
		x[0] = (uint8_t)(v >> 8);
		x[1] = (uint8_t)v;
	}
	b_bytes(b, x, 2);
}

static void b_u32(struct b *b, uint32_t v)
{
	if (b->big) {
		b_u16(b, (uint16_t)(v >> 16));
		b_u16(b, (uint16_t)v);
	} else {
		b_u16(b, (uint16_t)v);
		b_u16(b, (uint16_t)(v >> 16));
	}
}

static int long_vr(const char *vr)
{
	return strstr("OBODOFOLOVOWSQSVUCUNURUTUV", vr) != NULL &&
	       (strstr("OBODOFOLOVOWSQSVUCUNURUTUV", vr) - "OBODOFOLOVOWSQSVUCUNURUTUV") % 2 == 0;
}

/* An element header with any length (also undefined or past the end). */
static void b_hdr(struct b *b, uint16_t g, uint16_t e, const char *vr, uint32_t len)
{
	b_u16(b, g);
	b_u16(b, e);
	if (b->implicit || g == 0xfffe) {
		b_u32(b, len);
	} else if (long_vr(vr)) {
		b_bytes(b, vr, 2);
		b_u16(b, 0);
		b_u32(b, len);
	} else {
		b_bytes(b, vr, 2);
		b_u16(b, (uint16_t)len);
	}
}

/* An element with its value, padded to even length (NUL for UI and binary,
 * else space). */
static void b_elem(struct b *b, uint16_t g, uint16_t e, const char *vr, const void *v, size_t n)
{
	int pad = n % 2;
	b_hdr(b, g, e, vr, (uint32_t)(n + (size_t)pad));
	b_bytes(b, v, n);
	if (pad) {
		int nul = !strcmp(vr, "UI") || vr[0] == 'O' || !strcmp(vr, "UN");
		b_bytes(b, nul ? "" : " ", 1);
	}
}

static void b_str(struct b *b, uint16_t g, uint16_t e, const char *vr, const char *s)
{
	b_elem(b, g, e, vr, s, strlen(s));
}

static void b_us(struct b *b, uint16_t g, uint16_t e, uint16_t v)
{
	b_hdr(b, g, e, "US", 2);
	b_u16(b, v);
}

static void b_item(struct b *b, uint32_t len)
{
	b_hdr(b, 0xfffe, 0xe000, NULL, len);
}

static void b_item_end(struct b *b)
{
	b_hdr(b, 0xfffe, 0xe00d, NULL, 0);
}

static void b_seq_end(struct b *b)
{
	b_hdr(b, 0xfffe, 0xe0dd, NULL, 0);
}

/* The file meta group, preceded by the preamble when preamble is set. */
static void b_meta(struct b *f, const char *ts, const char *sop_class, int preamble)
{
	struct b m;
	b_init(&m, 0, 0);
	b_elem(&m, 0x0002, 0x0001, "OB", "\0\1", 2);
	b_str(&m, 0x0002, 0x0002, "UI", sop_class);
	b_str(&m, 0x0002, 0x0003, "UI", SOP_UID);
	b_str(&m, 0x0002, 0x0010, "UI", ts);
	b_str(&m, 0x0002, 0x0012, "UI", "1.2.3.4.5");
	if (preamble) {
		uint8_t pre[128];
		memset(pre, 0, sizeof(pre));
		b_bytes(f, pre, sizeof(pre));
		b_bytes(f, "DICM", 4);
	}
	f->implicit = f->big = 0;
	b_hdr(f, 0x0002, 0x0000, "UL", 4);
	b_u32(f, (uint32_t)m.len);
	b_bytes(f, m.p, m.len);
	b_free(&m);
}

/* Sequences in every form: undefined length with undefined and defined
 * items, nested defined and undefined sequences, both delimiters; each item
 * holds a PatientName that must not be taken for the patient's. */
static void b_sequences(struct b *d)
{
	struct b in, it;

	b_hdr(d, 0x0008, 0x1140, "SQ", 0xffffffffu); /* undefined-length sequence */
	b_item(d, 0xffffffffu);                      /* undefined-length item */
	b_str(d, 0x0010, 0x0010, "PN", "WRONG^UNDEFINED");
	b_init(&in, d->implicit, d->big); /* nested defined-length sequence */
	b_init(&it, d->implicit, d->big);
	b_str(&it, 0x0010, 0x0010, "PN", "WRONG^NESTED");
	b_item(&in, (uint32_t)it.len);
	b_bytes(&in, it.p, it.len);
	b_hdr(d, 0x0008, 0x1150, "SQ", (uint32_t)in.len);
	b_bytes(d, in.p, in.len);
	b_hdr(d, 0x0040, 0xa730, "SQ", 0xffffffffu); /* nested undefined, defined item */
	b_item(d, (uint32_t)it.len);
	b_bytes(d, it.p, it.len);
	b_seq_end(d);
	b_item_end(d);
	b_item(d, (uint32_t)it.len); /* second item: defined length */
	b_bytes(d, it.p, it.len);
	b_seq_end(d);
	b_free(&in);
	b_free(&it);

	b_init(&in, d->implicit, d->big); /* defined-length sequence of undefined items */
	b_item(&in, 0xffffffffu);
	b_str(&in, 0x0010, 0x0010, "PN", "WRONG^DEFINED");
	b_item_end(&in);
	b_hdr(d, 0x0008, 0x1155, "SQ", (uint32_t)in.len);
	b_bytes(d, in.p, in.len);
	b_free(&in);
}

struct ds {
	const char *charset; /* NULL: absent */
	const void *name;    /* NULL: "DUPONT^MARIE" */
	size_t name_len;
	int encapsulated;       /* pixel data of undefined length (fragments) */
	size_t private_len;     /* >0: a private OB element of that size before the name */
	uint32_t private_claim; /* >0: its header claims that length instead */
	size_t pixel_offset;    /* out: offset of the pixel value in the data set */
	size_t pixel_length;    /* out */
};

/* A data set with every tag the reader extracts, in d's syntax. */
static void b_dataset(struct b *d, struct ds *o)
{
	static const uint8_t pixels[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

	if (o->charset)
		b_str(d, 0x0008, 0x0005, "CS", o->charset);
	b_str(d, 0x0008, 0x0016, "UI", CT_CLASS);
	b_str(d, 0x0008, 0x0018, "UI", SOP_UID);
	b_str(d, 0x0008, 0x0020, "DA", "20190315");
	b_str(d, 0x0008, 0x0030, "TM", "101530.123");
	b_str(d, 0x0008, 0x0050, "SH", "ACC123");
	b_str(d, 0x0008, 0x0060, "CS", "CT");
	b_str(d, 0x0008, 0x0080, "LO", "CHU de Nantes");
	b_str(d, 0x0008, 0x1030, "LO", "Thorax");
	b_str(d, 0x0008, 0x103e, "LO", "Axial 1mm");
	b_sequences(d);
	if (o->private_len || o->private_claim) {
		b_str(d, 0x0009, 0x0010, "LO", "MEDVAULT TEST");
		b_hdr(d, 0x0009, 0x1010, "OB",
		      o->private_claim ? o->private_claim : (uint32_t)o->private_len);
		for (size_t i = 0; i < o->private_len; i += 4096) {
			uint8_t z[4096];
			memset(z, 0x5a, sizeof(z));
			b_bytes(d, z, o->private_len - i < 4096 ? o->private_len - i : 4096);
		}
	}
	if (o->name)
		b_elem(d, 0x0010, 0x0010, "PN", o->name, o->name_len);
	else
		b_str(d, 0x0010, 0x0010, "PN", "DUPONT^MARIE");
	b_str(d, 0x0010, 0x0020, "LO", "PAT-0042");
	b_str(d, 0x0010, 0x0030, "DA", "19530412");
	b_str(d, 0x0010, 0x0040, "CS", "F");
	b_str(d, 0x0020, 0x000d, "UI", STUDY_UID);
	b_str(d, 0x0020, 0x000e, "UI", SERIES_UID);
	b_us(d, 0x0028, 0x0010, 4);
	b_us(d, 0x0028, 0x0011, 4);
	b_us(d, 0x0028, 0x0100, 16);
	b_us(d, 0x0028, 0x0101, 12);
	b_us(d, 0x0028, 0x0103, 1);
	if (o->encapsulated) {
		b_hdr(d, 0x7fe0, 0x0010, "OB", 0xffffffffu);
		o->pixel_offset = d->len;
		o->pixel_length = 0xffffffffu;
		b_item(d, 0);
		b_item(d, 8);
		b_bytes(d, "\xff\xd8\xff\xe0\0\0\xff\xd9", 8);
		b_seq_end(d);
	} else {
		b_hdr(d, 0x7fe0, 0x0010, "OW", sizeof(pixels));
		o->pixel_offset = d->len;
		o->pixel_length = sizeof(pixels);
		b_bytes(d, pixels, sizeof(pixels));
	}
}

/* Raw deflate of p[0..n). */
static void deflate_into(struct b *out, const uint8_t *p, size_t n)
{
	z_stream z;
	uint8_t tmp[65536];
	int zr;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	do {
		z.next_out = tmp;
		z.avail_out = sizeof(tmp);
		zr = deflate(&z, Z_FINISH);
		assert_true(zr == Z_OK || zr == Z_STREAM_END);
		b_bytes(out, tmp, sizeof(tmp) - z.avail_out);
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
}

/* A whole file in transfer syntax ts; o->pixel_offset becomes a file offset
 * (data set offset for deflated files). */
static void b_file(struct b *f, const char *ts, struct ds *o)
{
	struct b d;
	int implicit = !strcmp(ts, TS_IMPLICIT), big = !strcmp(ts, TS_BIG);

	b_init(f, 0, 0);
	b_meta(f, ts, CT_CLASS, 1);
	b_init(&d, implicit, big);
	b_dataset(&d, o);
	if (!strcmp(ts, TS_DEFLATED)) {
		deflate_into(f, d.p, d.len);
	} else {
		o->pixel_offset += f->len;
		b_bytes(f, d.p, d.len);
	}
	b_free(&d);
}

static int parse(const uint8_t *p, size_t len, uint64_t size, struct mv_dicom_info *info,
                 size_t *need)
{
	/* an exact-size copy, so that the sanitizers see any overread */
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, p, len);
	int rc = mv_dicom_parse(copy, len, size, info, need);
	free(copy);
	return rc;
}

static int valid_utf8(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	while (*p) {
		size_t n = *p < 0x80             ? 1
		           : (*p & 0xe0) == 0xc0 ? 2
		           : (*p & 0xf0) == 0xe0 ? 3
		           : (*p & 0xf8) == 0xf0 ? 4
		                                 : 0;
		if (!n)
			return 0;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

/* What must hold for any input. */
static void check_sane(int rc, const struct mv_dicom_info *i)
{
	const char *strs[] = {i->patient_name, i->patient_id, i->birth_date,  i->sex,
	                      i->study_uid,    i->series_uid, i->sop_uid,     i->sop_class_uid,
	                      i->study_date,   i->study_time, i->modality,    i->study_desc,
	                      i->series_desc,  i->accession,  i->institution, i->transfer_syntax};
	const size_t sizes[] = {sizeof(i->patient_name), sizeof(i->patient_id),
	                        sizeof(i->birth_date),   sizeof(i->sex),
	                        sizeof(i->study_uid),    sizeof(i->series_uid),
	                        sizeof(i->sop_uid),      sizeof(i->sop_class_uid),
	                        sizeof(i->study_date),   sizeof(i->study_time),
	                        sizeof(i->modality),     sizeof(i->study_desc),
	                        sizeof(i->series_desc),  sizeof(i->accession),
	                        sizeof(i->institution),  sizeof(i->transfer_syntax)};
	assert_true(rc == 0 || rc == 1);
	for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
		assert_true(strnlen(strs[k], sizes[k]) < sizes[k]);
		assert_true(valid_utf8(strs[k]));
	}
	assert_true((i->flags & ~0xffu) == 0);
	if (rc == 0)
		assert_int_equal(i->flags, 0);
}

static void check_standard(const struct mv_dicom_info *i, const char *ts)
{
	assert_string_equal(i->patient_name, "DUPONT^MARIE");
	assert_string_equal(i->patient_id, "PAT-0042");
	assert_string_equal(i->birth_date, "19530412");
	assert_string_equal(i->sex, "F");
	assert_string_equal(i->study_uid, STUDY_UID);
	assert_string_equal(i->series_uid, SERIES_UID);
	assert_string_equal(i->sop_uid, SOP_UID);
	assert_string_equal(i->sop_class_uid, CT_CLASS);
	assert_string_equal(i->study_date, "20190315");
	assert_string_equal(i->study_time, "101530.123");
	assert_string_equal(i->modality, "CT");
	assert_string_equal(i->study_desc, "Thorax");
	assert_string_equal(i->series_desc, "Axial 1mm");
	assert_string_equal(i->accession, "ACC123");
	assert_string_equal(i->institution, "CHU de Nantes");
	assert_string_equal(i->transfer_syntax, ts);
	assert_int_equal(i->rows, 4);
	assert_int_equal(i->columns, 4);
	assert_int_equal(i->bits_allocated, 16);
	assert_int_equal(i->bits_stored, 12);
	assert_int_equal(i->pixel_representation, 1);
	assert_int_equal(i->has_pixel_data, 1);
}

static const char *const all_ts[] = {TS_EXPLICIT, TS_IMPLICIT, TS_BIG, TS_DEFLATED};

/* ---- tests -------------------------------------------------------------- */

static void test_dicom__every_transfer_syntax(void **state)
{
	(void)state;
	for (size_t t = 0; t < 4; t++) {
		struct ds o = {0};
		struct b f;
		struct mv_dicom_info i;
		size_t need = 99;
		int deflated = !strcmp(all_ts[t], TS_DEFLATED);

		b_file(&f, all_ts[t], &o);
		assert_int_equal(parse(f.p, f.len, f.len, &i, &need), 1);
		check_standard(&i, all_ts[t]);
		assert_int_equal(need, 0);
		assert_int_equal(i.flags, deflated ? MV_DICOM_F_DEFLATED : 0);
		assert_int_equal(i.pixel_offset, deflated ? 0 : o.pixel_offset);
		assert_int_equal(i.pixel_length, 32);
		assert_int_equal(i.encapsulated, 0);
		if (!deflated) /* the pixel value is where the reader says */
			assert_int_equal(f.p[i.pixel_offset], 1);
		b_free(&f);
	}
}

static void test_dicom__encapsulated_pixel_data(void **state)
{
	struct ds o = {.encapsulated = 1};
	struct b f;
	struct mv_dicom_info i;

	(void)state;
	b_file(&f, TS_JPEG, &o);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	check_standard(&i, TS_JPEG);
	assert_int_equal(i.flags, 0);
	assert_int_equal(i.encapsulated, 1);
	assert_int_equal(i.pixel_length, 0xffffffffu);
	assert_int_equal(i.pixel_offset, o.pixel_offset);
	assert_memory_equal(f.p + i.pixel_offset, "\xfe\xff\x00\xe0", 4); /* first item */
	b_free(&f);
}

static void one_name(const char *ts, const char *charset, const void *name, size_t len,
                     const char *want, unsigned want_flags)
{
	struct ds o = {.charset = charset, .name = name, .name_len = len};
	struct b f;
	struct mv_dicom_info i;

	b_file(&f, ts, &o);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	check_sane(1, &i);
	assert_string_equal(i.patient_name, want);
	assert_int_equal(i.flags & ~(unsigned)MV_DICOM_F_DEFLATED, want_flags);
	assert_string_equal(i.patient_id, "PAT-0042");
	b_free(&f);
}

static void test_dicom__latin1_and_utf8_names(void **state)
{
	(void)state;
	for (size_t t = 0; t < 4; t++) {
		one_name(all_ts[t], "ISO_IR 100", LIT("M\xfcller^Zo\xeb"), "Müller^Zoë", 0);
		one_name(all_ts[t], "ISO_IR 192", LIT("Müller^Zoë"), "Müller^Zoë", 0);
		one_name(all_ts[t], "ISO_IR 192", LIT("Ελληνικά^日本"), "Ελληνικά^日本", 0);
		one_name(all_ts[t], "ISO_IR 6", LIT("DUPONT^MARIE"), "DUPONT^MARIE", 0);
	}
	/* padding: trailing spaces and NULs, leading spaces */
	one_name(TS_EXPLICIT, "ISO_IR 100 ", LIT("  Ren\xe9^A  \0\0"), "René^A", 0);
}

static void test_dicom__bad_charsets_escaped_and_flagged(void **state)
{
	(void)state;
	/* invalid UTF-8 (a lone continuation byte, an overlong form, a surrogate) */
	one_name(TS_EXPLICIT, "ISO_IR 192",
	         LIT("A\x80"
	             "B\xc0\xaf"
	             "X\xed\xa0\x80"),
	         "A\\x80B\\xc0\\xafX\\xed\\xa0\\x80", MV_DICOM_F_CHARSET_UNSUPPORTED);
	/* a UTF-8 sequence cut at the end of the value */
	one_name(TS_EXPLICIT, "ISO_IR 192", LIT("Zo\xc3"), "Zo\\xc3",
	         MV_DICOM_F_CHARSET_UNSUPPORTED);
	/* unsupported charsets: Cyrillic, ISO 2022 multi-valued, unknown */
	one_name(TS_EXPLICIT, "ISO_IR 144", LIT("\xb8\xd2\xd0\xdd\xde\xd2"),
	         "\\xb8\\xd2\\xd0\\xdd\\xde\\xd2", MV_DICOM_F_CHARSET_UNSUPPORTED);
	one_name(TS_IMPLICIT, "\\ISO 2022 IR 100", LIT("M\xfcller"), "M\\xfcller",
	         MV_DICOM_F_CHARSET_UNSUPPORTED);
	one_name(TS_EXPLICIT, "KLINGON", LIT("KAHLESS"), "KAHLESS", MV_DICOM_F_CHARSET_UNSUPPORTED);
	/* default repertoire with non-ASCII bytes; control characters */
	one_name(TS_EXPLICIT, NULL, LIT("M\xfcller"), "M\\xfcller", MV_DICOM_F_CHARSET_UNSUPPORTED);
	one_name(TS_EXPLICIT, NULL, LIT("A\x1b[2JB\x7f"), "A\\x1b[2JB\\x7f", 0);
	/* Latin-1 C1 range is not ISO-IR 100 */
	one_name(TS_EXPLICIT, "ISO_IR 100", LIT("A\x85"), "A\\x85", MV_DICOM_F_CHARSET_UNSUPPORTED);
	/* embedded NUL */
	one_name(TS_EXPLICIT, NULL, LIT("AB\0CD"), "AB\\x00CD", 0);
}

static void test_dicom__long_values_truncated_at_character_boundary(void **state)
{
	uint8_t name[1001];
	struct mv_dicom_info i;
	struct b f;

	(void)state;
	for (size_t off = 0; off < 3; off++) {
		/* "é" (2 bytes) repeated, shifted so that the cut falls in a character */
		memset(name, 'A', off);
		for (size_t k = off; k + 2 <= sizeof(name); k += 2) {
			name[k] = 0xc3;
			name[k + 1] = 0xa9;
		}
		size_t n = off + (sizeof(name) - off) / 2 * 2;
		struct ds o = {.charset = "ISO_IR 192", .name = name, .name_len = n};
		b_file(&f, TS_EXPLICIT, &o);
		assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
		check_sane(1, &i);
		size_t got = strlen(i.patient_name);
		assert_true(got >= sizeof(i.patient_name) - 3 && got < sizeof(i.patient_name));
		assert_memory_equal(i.patient_name, name, got);
		assert_string_equal(i.patient_id, "PAT-0042");
		b_free(&f);
	}
	/* escapes are never cut either */
	memset(name, 0xff, sizeof(name));
	struct ds o = {.name = name, .name_len = 300};
	b_file(&f, TS_EXPLICIT, &o);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_int_equal(strlen(i.patient_name), 252); /* 63 escapes of 4 bytes */
	assert_int_equal(i.flags, MV_DICOM_F_CHARSET_UNSUPPORTED);
	b_free(&f);
}

static void test_dicom__sequences_skipped_top_level_read(void **state)
{
	struct mv_dicom_info i;
	struct b f, d;

	(void)state;
	/* (b_dataset always holds sequences in every form; the name inside
	 * them is never taken, as every_transfer_syntax checks.) An UN element
	 * of undefined length holds implicit VR items even in explicit VR. */
	b_init(&f, 0, 0);
	b_meta(&f, TS_EXPLICIT, CT_CLASS, 1);
	b_init(&d, 0, 0);
	b_str(&d, 0x0008, 0x0060, "CS", "MR");
	b_hdr(&d, 0x0009, 0x1001, "UN", 0xffffffffu);
	d.implicit = 1;
	b_item(&d, 0xffffffffu);
	b_str(&d, 0x0010, 0x0010, "PN", "WRONG^UN");
	b_hdr(&d, 0x0010, 0x1002, NULL, 0xffffffffu); /* implicit nested sequence */
	b_item(&d, 0xffffffffu);
	b_item_end(&d);
	b_seq_end(&d);
	b_item_end(&d);
	b_seq_end(&d);
	d.implicit = 0;
	b_str(&d, 0x0010, 0x0010, "PN", "RIGHT^NAME");
	b_bytes(&f, d.p, d.len);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_string_equal(i.modality, "MR");
	assert_string_equal(i.patient_name, "RIGHT^NAME");
	assert_int_equal(i.flags, 0);
	assert_int_equal(i.has_pixel_data, 0);
	b_free(&d);
	b_free(&f);
}

/* n nested undefined-length sequences, then a name at top level. */
static void nested(struct b *f, int n, int explicit_lengths)
{
	struct b d;
	b_init(f, 0, 0);
	b_meta(f, TS_EXPLICIT, CT_CLASS, 1);
	b_init(&d, 0, 0);
	b_str(&d, 0x0008, 0x0060, "CS", "US");
	if (explicit_lengths) {
		struct b in;
		b_init(&in, 0, 0);
		b_str(&in, 0x0010, 0x0010, "PN", "WRONG^DEEP");
		for (int k = 0; k < n; k++) {
			struct b w;
			b_init(&w, 0, 0);
			b_item(&w, (uint32_t)in.len);
			b_bytes(&w, in.p, in.len);
			b_free(&in);
			b_init(&in, 0, 0);
			b_hdr(&in, 0x0040, 0xa730, "SQ", (uint32_t)w.len);
			b_bytes(&in, w.p, w.len);
			b_free(&w);
		}
		b_bytes(&d, in.p, in.len);
		b_free(&in);
	} else {
		for (int k = 0; k < n; k++) {
			b_hdr(&d, 0x0040, 0xa730, "SQ", 0xffffffffu);
			b_item(&d, 0xffffffffu);
		}
		b_str(&d, 0x0010, 0x0010, "PN", "WRONG^DEEP");
		for (int k = 0; k < n; k++) {
			b_item_end(&d);
			b_seq_end(&d);
		}
	}
	b_str(&d, 0x0010, 0x0010, "PN", "RIGHT^NAME");
	b_bytes(f, d.p, d.len);
	b_free(&d);
}

static void test_dicom__nesting_depth_limit(void **state)
{
	struct mv_dicom_info i;
	struct b f;

	(void)state;
	nested(&f, MV_DICOM_MAX_DEPTH, 0);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_string_equal(i.patient_name, "RIGHT^NAME");
	assert_int_equal(i.flags, 0);
	b_free(&f);

	nested(&f, MV_DICOM_MAX_DEPTH + 1, 0);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_string_equal(i.modality, "US"); /* read before the limit */
	assert_string_equal(i.patient_name, "");
	assert_int_equal(i.flags, MV_DICOM_F_LIMIT);
	b_free(&f);

	nested(&f, 100000, 0); /* no recursion, no stack growth */
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_int_equal(i.flags, MV_DICOM_F_LIMIT);
	b_free(&f);

	nested(&f, 500, 1); /* defined lengths are skipped whole */
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_string_equal(i.patient_name, "RIGHT^NAME");
	assert_int_equal(i.flags, 0);
	b_free(&f);
}

static void test_dicom__truncated_at_every_offset(void **state)
{
	(void)state;
	for (size_t t = 0; t < 5; t++) {
		struct ds o = {.charset = "ISO_IR 100", .encapsulated = t == 4};
		struct b f;
		struct mv_dicom_info i, full;
		const char *ts = t == 4 ? TS_JPEG : all_ts[t];
		int deflated = !strcmp(ts, TS_DEFLATED);

		b_file(&f, ts, &o);
		assert_int_equal(parse(f.p, f.len, f.len, &full, NULL), 1);
		/* the header ends where the pixel value starts; for deflated
		 * files, anywhere in the stream */
		size_t hdr_end = deflated ? f.len : o.pixel_offset;
		for (size_t cut = 0; cut <= f.len; cut++) {
			size_t need = 7;
			/* the whole file is this long */
			int rc = parse(f.p, cut, cut, &i, &need);
			check_sane(rc, &i);
			assert_int_equal(need, 0);
			if (cut >= MV_DICOM_PREFIX_LEN)
				assert_int_equal(rc, 1);
			if (i.has_pixel_data && !deflated) {
				assert_int_equal(i.pixel_offset, o.pixel_offset);
				if (i.pixel_length != 0xffffffffu &&
				    i.pixel_offset + i.pixel_length > cut)
					assert_true(i.flags & MV_DICOM_F_TRUNCATED);
			}
			if (cut < hdr_end && !deflated)
				assert_int_equal(i.has_pixel_data, 0);
			if (cut == f.len)
				assert_memory_equal(&i, &full, sizeof(i));

			/* the file is longer than the prefix: more is asked for */
			rc = parse(f.p, cut, f.len, &i, &need);
			check_sane(rc, &i);
			assert_false(i.flags & MV_DICOM_F_TRUNCATED);
			if (need) {
				assert_true(need > cut && need <= f.len);
				assert_int_equal(i.has_pixel_data, 0);
			} else {
				assert_true(cut >= hdr_end || deflated);
				assert_memory_equal(&i, &full, sizeof(i));
			}
			if (!deflated && cut < hdr_end)
				assert_true(need > cut);
		}
		b_free(&f);
	}
}

/* A caller reading a small prefix first, then what need_more asks for,
 * gets the same result as from the whole file. */
static void test_dicom__need_more_protocol(void **state)
{
	(void)state;
	for (size_t t = 0; t < 4; t++) {
		for (size_t big = 0; big < 2; big++) {
			struct ds o = {.private_len = big ? 300000 : 0};
			struct b f;
			struct mv_dicom_info i, full;
			size_t len = 16, need, rounds = 0;

			b_file(&f, all_ts[t], &o);
			assert_int_equal(parse(f.p, f.len, f.len, &full, NULL), 1);
			check_standard(&full, all_ts[t]);
			for (;;) {
				int rc = parse(f.p, len, f.len, &i, &need);
				assert_true(rc == 0 || rc == 1);
				rounds++;
				if (!need)
					break;
				assert_true(need > len && need <= f.len);
				len = need;
			}
			assert_memory_equal(&i, &full, sizeof(i));
			assert_true(rounds < 16);
			b_free(&f);
		}
	}
}

/* The first occurrence of s[0..n) in p[0..len) (must exist). */
static const uint8_t *find(const uint8_t *p, size_t len, const void *s, size_t n)
{
	for (size_t k = 0; k + n <= len; k++)
		if (!memcmp(p + k, s, n))
			return p + k;
	fail_msg("pattern not found");
	return NULL;
}

static void test_dicom__huge_lengths(void **state)
{
	struct mv_dicom_info i;
	size_t need;
	struct b f;

	(void)state;
	/* a private element claiming 4 GiB - 16 in a small file */
	struct ds o = {.private_claim = 0xfffffff0u, .private_len = 64};
	b_file(&f, TS_EXPLICIT, &o);
	assert_int_equal(parse(f.p, f.len, f.len, &i, &need), 1);
	assert_int_equal(need, 0);
	assert_string_equal(i.modality, "CT");
	assert_string_equal(i.patient_name, "");
	assert_int_equal(i.flags, MV_DICOM_F_TRUNCATED);
	assert_int_equal(i.has_pixel_data, 0);
	/* the same in a file said to be 8 GiB: the reader asks to skip it */
	assert_int_equal(parse(f.p, f.len, 8ull << 30, &i, &need), 1);
	assert_int_equal(i.flags, 0);
	const uint8_t *h = find(f.p, f.len, "\x09\x00\x10\x10OB\0\0\xf0\xff\xff\xff", 12);
	if (sizeof(size_t) > 4) /* exactly past the element */
		assert_int_equal(need, (uint64_t)(h - f.p) + 12 + 0xfffffff0u);
	b_free(&f);

	/* a name claiming 0xfffffffe bytes, in implicit VR */
	struct b d;
	b_init(&f, 0, 0);
	b_meta(&f, TS_IMPLICIT, CT_CLASS, 1);
	b_init(&d, 1, 0);
	b_str(&d, 0x0008, 0x0060, "CS", "MR");
	b_hdr(&d, 0x0010, 0x0010, "PN", 0xfffffffeu);
	b_bytes(&d, "DUPONT", 6);
	b_bytes(&f, d.p, d.len);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_string_equal(i.modality, "MR");
	assert_string_equal(i.patient_name, "");
	assert_int_equal(i.flags, MV_DICOM_F_TRUNCATED);
	b_free(&d);
	b_free(&f);

	/* pixel data longer than the file */
	b_init(&f, 0, 0);
	b_meta(&f, TS_EXPLICIT, CT_CLASS, 1);
	b_str(&f, 0x0008, 0x0060, "CS", "MR");
	b_hdr(&f, 0x7fe0, 0x0010, "OW", 0xfffffff0u);
	b_bytes(&f, "\0\0\0\0", 4);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_int_equal(i.has_pixel_data, 1);
	assert_int_equal(i.pixel_offset, f.len - 4);
	assert_int_equal(i.pixel_length, 0xfffffff0u);
	assert_int_equal(i.flags, MV_DICOM_F_TRUNCATED);
	b_free(&f);
}

/* Feeds p[0..n) to a raw deflate stream writing into f. */
static void zfeed(z_stream *z, struct b *f, const void *p, size_t n, int flush)
{
	uint8_t tmp[65536];
	int zr;

	z->next_in = (Bytef *)(uintptr_t)p;
	z->avail_in = (uInt)n;
	do {
		z->next_out = tmp;
		z->avail_out = sizeof(tmp);
		zr = deflate(z, flush);
		assert_true(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR);
		b_bytes(f, tmp, sizeof(tmp) - z->avail_out);
	} while (z->avail_in || z->avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
}

/* A deflated data set whose 64 MiB private element compresses to ~64 KiB:
 * the reader stops at its inflate cap. */
static void test_dicom__deflate_bomb(void **state)
{
	static uint8_t zeros[1 << 20];
	struct mv_dicom_info i;
	struct b f, d;
	z_stream z;

	(void)state;
	b_init(&f, 0, 0);
	b_meta(&f, TS_DEFLATED, CT_CLASS, 1);
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	b_init(&d, 0, 0);
	b_str(&d, 0x0008, 0x0060, "CS", "CT");
	b_hdr(&d, 0x0009, 0x1010, "OB", 64u << 20);
	zfeed(&z, &f, d.p, d.len, Z_NO_FLUSH);
	for (int k = 0; k < 64; k++)
		zfeed(&z, &f, zeros, sizeof(zeros), Z_NO_FLUSH);
	b_free(&d);
	b_init(&d, 0, 0);
	b_str(&d, 0x0010, 0x0010, "PN", "BOMB^AFTER");
	zfeed(&z, &f, d.p, d.len, Z_FINISH);
	deflateEnd(&z);
	assert_true(f.len < (1u << 20));
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_string_equal(i.modality, "CT");
	assert_string_equal(i.patient_name, "");
	assert_int_equal(i.flags, MV_DICOM_F_DEFLATED | MV_DICOM_F_LIMIT);

	/* broken deflate data: garbage after the meta header */
	b_free(&f);
	b_init(&f, 0, 0);
	b_meta(&f, TS_DEFLATED, CT_CLASS, 1);
	b_bytes(&f, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_true(i.flags & MV_DICOM_F_MALFORMED);
	assert_true(i.flags & MV_DICOM_F_DEFLATED);
	b_free(&d);
	b_free(&f);
}

static void test_dicom__without_preamble_or_meta(void **state)
{
	struct mv_dicom_info i;
	struct b f, d;
	struct ds o = {0};

	(void)state;
	/* meta group without preamble */
	b_init(&f, 0, 0);
	b_meta(&f, TS_EXPLICIT, CT_CLASS, 0);
	b_init(&d, 0, 0);
	b_dataset(&d, &o);
	b_bytes(&f, d.p, d.len);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	check_standard(&i, TS_EXPLICIT);
	assert_int_equal(i.flags, MV_DICOM_F_NO_PREAMBLE);
	assert_int_equal(i.pixel_offset, f.len - 32);
	b_free(&d);
	b_free(&f);

	/* bare data sets (ACR-NEMA style) in implicit and explicit VR LE */
	for (int implicit = 0; implicit < 2; implicit++) {
		memset(&o, 0, sizeof(o));
		b_init(&d, implicit, 0);
		b_dataset(&d, &o);
		assert_int_equal(parse(d.p, d.len, d.len, &i, NULL), 1);
		check_standard(&i, implicit ? TS_IMPLICIT : TS_EXPLICIT);
		assert_int_equal(i.flags, MV_DICOM_F_NO_PREAMBLE | MV_DICOM_F_NO_META);
		assert_int_equal(i.pixel_offset, o.pixel_offset);
		b_free(&d);
	}
}

static void test_dicom__not_dicom(void **state)
{
	struct mv_dicom_info i;
	uint8_t junk[4096];
	size_t need;

	(void)state;
	assert_int_equal(parse(NULL, 0, 0, &i, &need), 0);
	assert_int_equal(need, 0);
	assert_int_equal(mv_dicom_parse(NULL, 0, 0, &i, NULL), 0);
	const char *text = "PatientName=DUPONT^MARIE\nknee MRI 2019\n";
	assert_int_equal(parse((const uint8_t *)text, strlen(text), strlen(text), &i, &need), 0);
	assert_int_equal(need, 0);
	for (size_t k = 0; k < sizeof(junk); k++)
		junk[k] = (uint8_t)(k * 7 + 3);
	assert_int_equal(parse(junk, sizeof(junk), sizeof(junk), &i, NULL), 0);
	memcpy(junk + 64, "DICM", 4); /* at the wrong place */
	assert_int_equal(parse(junk, sizeof(junk), sizeof(junk), &i, NULL), 0);
	/* a group 0008 element with an implausible length */
	memcpy(junk, "\x08\x00\x05\x00\x00\x10\x00\x00", 8);
	assert_int_equal(parse(junk, sizeof(junk), sizeof(junk), &i, NULL), 0);
	/* too short to tell: ask for the preamble */
	memset(junk, 0, sizeof(junk));
	assert_int_equal(parse(junk, 100, 1000, &i, &need), 0);
	assert_int_equal(need, 200);
	memcpy(junk + 128, "DICM", 4);
	assert_int_equal(parse(junk, 132, 1000, &i, &need), 1); /* DICOM, more wanted */
	assert_true(need > 132);
	assert_int_equal(parse(junk, 132, 132, &i, &need), 1);
	assert_int_equal(i.flags, MV_DICOM_F_TRUNCATED);
}

static void test_dicom__dicomdir(void **state)
{
	struct mv_dicom_info i;
	struct b f, d;

	(void)state;
	b_init(&f, 0, 0);
	b_meta(&f, TS_EXPLICIT, "1.2.840.10008.1.3.10", 1);
	b_init(&d, 0, 0);
	b_str(&d, 0x0004, 0x1130, "CS", "PATIENT CD");
	b_hdr(&d, 0x0004, 0x1220, "SQ", 0xffffffffu); /* directory records */
	b_item(&d, 0xffffffffu);
	b_str(&d, 0x0004, 0x1430, "CS", "PATIENT");
	b_str(&d, 0x0010, 0x0010, "PN", "RECORD^ONE");
	b_item_end(&d);
	b_seq_end(&d);
	b_bytes(&f, d.p, d.len);
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_int_equal(i.flags, MV_DICOM_F_DICOMDIR);
	assert_string_equal(i.sop_class_uid, "1.2.840.10008.1.3.10");
	assert_string_equal(i.patient_name, "");
	assert_int_equal(i.has_pixel_data, 0);
	b_free(&d);
	b_free(&f);
}

static void test_dicom__malformed_structures(void **state)
{
	struct mv_dicom_info i;

	(void)state;
	for (int k = 0; k < 6; k++) {
		struct b f;
		b_init(&f, 0, 0);
		b_meta(&f, TS_EXPLICIT, CT_CLASS, 1);
		b_str(&f, 0x0008, 0x0060, "CS", "MR");
		switch (k) {
		case 0: /* item at top level */
			b_item(&f, 0);
			break;
		case 1: /* element directly in a sequence */
			b_hdr(&f, 0x0008, 0x1140, "SQ", 0xffffffffu);
			b_str(&f, 0x0010, 0x0020, "LO", "X");
			break;
		case 2: /* sequence delimiter closing an item */
			b_hdr(&f, 0x0008, 0x1140, "SQ", 0xffffffffu);
			b_item(&f, 0xffffffffu);
			b_seq_end(&f);
			break;
		case 3: /* unknown VR */
			b_bytes(&f, "\x10\x00\x10\x00zz\x02\x00" "AB", 10);
			break;
		case 4: /* undefined length on a string VR */
			b_hdr(&f, 0x0010, 0x0010, "UT", 0xffffffffu);
			break;
		case 5: /* unknown FFFE tag */
			b_hdr(&f, 0xfffe, 0x1234, NULL, 0);
			break;
		}
		b_str(&f, 0x0010, 0x0010, "PN", "AFTER^BREAK");
		assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
		assert_string_equal(i.modality, "MR");
		assert_string_equal(i.patient_name, "");
		assert_int_equal(i.flags, MV_DICOM_F_MALFORMED);
		b_free(&f);
	}
	/* stray delimiters at top level are skipped, flagged */
	struct b f;
	b_init(&f, 0, 0);
	b_meta(&f, TS_EXPLICIT, CT_CLASS, 1);
	b_item_end(&f);
	b_seq_end(&f);
	b_str(&f, 0x0010, 0x0010, "PN", "AFTER^STRAY");
	assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
	assert_string_equal(i.patient_name, "AFTER^STRAY");
	assert_int_equal(i.flags, MV_DICOM_F_MALFORMED);
	b_free(&f);

	/* data set in explicit VR announced as implicit, and the reverse */
	for (int k = 0; k < 2; k++) {
		struct ds o = {0};
		struct b d;
		b_init(&f, 0, 0);
		b_meta(&f, k ? TS_EXPLICIT : TS_IMPLICIT, CT_CLASS, 1);
		b_init(&d, k, 0);
		b_dataset(&d, &o);
		b_bytes(&f, d.p, d.len);
		assert_int_equal(parse(f.p, f.len, f.len, &i, NULL), 1);
		assert_string_equal(i.patient_name, "DUPONT^MARIE");
		assert_int_equal(i.flags, 0);
		b_free(&d);
		b_free(&f);
	}
}

/* Random byte changes in valid files: no crash, sane output (the
 * sanitizer build checks memory; the fuzz target goes further). */
static void test_dicom__random_mutations(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (size_t t = 0; t < 4; t++) {
		struct ds o = {.charset = "ISO_IR 192"};
		struct b f;
		b_file(&f, all_ts[t], &o);
		uint8_t *m = malloc(f.len);
		assert_non_null(m);
		for (int round = 0; round < 3000; round++) {
			memcpy(m, f.p, f.len);
			for (int k = 0; k < 1 + round % 4; k++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				size_t at = 128 + (size_t)(x % (f.len - 128));
				m[at] = (uint8_t)(x >> 32) & 1 ? (uint8_t)(x >> 40) : 0xff;
			}
			struct mv_dicom_info i;
			size_t cut = round % 2 ? f.len : 132 + (size_t)(x >> 20) % (f.len - 132);
			int rc = parse(m, cut, f.len, &i, NULL);
			check_sane(rc, &i);
		}
		free(m);
		b_free(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dicom__every_transfer_syntax),
	    cmocka_unit_test(test_dicom__encapsulated_pixel_data),
	    cmocka_unit_test(test_dicom__latin1_and_utf8_names),
	    cmocka_unit_test(test_dicom__bad_charsets_escaped_and_flagged),
	    cmocka_unit_test(test_dicom__long_values_truncated_at_character_boundary),
	    cmocka_unit_test(test_dicom__sequences_skipped_top_level_read),
	    cmocka_unit_test(test_dicom__nesting_depth_limit),
	    cmocka_unit_test(test_dicom__truncated_at_every_offset),
	    cmocka_unit_test(test_dicom__need_more_protocol),
	    cmocka_unit_test(test_dicom__huge_lengths),
	    cmocka_unit_test(test_dicom__deflate_bomb),
	    cmocka_unit_test(test_dicom__without_preamble_or_meta),
	    cmocka_unit_test(test_dicom__not_dicom),
	    cmocka_unit_test(test_dicom__dicomdir),
	    cmocka_unit_test(test_dicom__malformed_structures),
	    cmocka_unit_test(test_dicom__random_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
