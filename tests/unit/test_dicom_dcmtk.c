/* DICOM reader (formats/dicom.c) against dcmtk: run by
 * tests/e2e/t_dicom_dcmtk.sh with MEDVAULT_DCMTK_DIR set to a directory of
 * files made by dcmtk plus expected.txt, one line per file, written from
 * dcmdump's output:
 *   file|PatientName|PatientID|StudyInstanceUID|Modality|TransferSyntaxUID|PixelDataLength|flags
 * (PixelDataLength empty when there is none; flags "-" or a comma list of
 * no_preamble, no_meta, dicomdir, charset, truncated, malformed, deflated,
 * limit). Skipped when MEDVAULT_DCMTK_DIR is not set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/dicom.h"

#define NFIELDS 8

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		fail_msg("cannot open '%s'", path);
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			p = realloc(p, cap);
			assert_non_null(p);
		}
		size_t got = fread(p + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	assert_int_equal(ferror(f), 0);
	fclose(f);
	*len = n;
	return p;
}

static unsigned flag_bits(const char *s)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
	    {"no_preamble", MV_DICOM_F_NO_PREAMBLE}, {"no_meta", MV_DICOM_F_NO_META},
	    {"dicomdir", MV_DICOM_F_DICOMDIR},       {"charset", MV_DICOM_F_CHARSET_UNSUPPORTED},
	    {"truncated", MV_DICOM_F_TRUNCATED},     {"malformed", MV_DICOM_F_MALFORMED},
	    {"deflated", MV_DICOM_F_DEFLATED},       {"limit", MV_DICOM_F_LIMIT},
	};
	unsigned bits = 0;

	if (!strcmp(s, "-"))
		return 0;
	while (*s) {
		size_t n = strcspn(s, ",");
		size_t k;
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strlen(names[k].name) == n && !strncmp(names[k].name, s, n))
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			fail_msg("unknown flag in '%s'", s);
		bits |= names[k].bit;
		s += n;
		if (*s == ',')
			s++;
	}
	return bits;
}

/* Reads path as a caller would: a 512-byte prefix, then what need_more
 * asks for; the result must equal the whole file's. */
static void parse_file(const char *path, struct mv_dicom_info *info, size_t *file_len,
                       uint8_t **data)
{
	struct mv_dicom_info whole;
	size_t len, need = 0;
	uint8_t *p = read_all(path, &len);

	assert_int_equal(mv_dicom_parse(p, len, len, &whole, &need), 1);
	assert_int_equal(need, 0);
	size_t prefix = len < 512 ? len : 512;
	for (int round = 0;; round++) {
		assert_true(round < 32);
		assert_int_equal(mv_dicom_parse(p, prefix, len, info, &need), 1);
		if (!need)
			break;
		assert_true(need > prefix && need <= len);
		prefix = need;
	}
	assert_memory_equal(info, &whole, sizeof(whole));
	*info = whole;
	*file_len = len;
	*data = p;
}

static void check_line(const char *dir, char *line)
{
	char *f[NFIELDS];
	char path[4096];
	struct mv_dicom_info i;
	size_t len;
	uint8_t *data;

	for (int k = 0; k < NFIELDS; k++) {
		f[k] = line;
		line = strchr(line, '|');
		if (k < NFIELDS - 1 && !line)
			fail_msg("short line in expected.txt: '%s'", f[0]);
		if (line)
			*line++ = '\0';
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, f[0]) >= sizeof(path))
		fail_msg("path too long: '%s'", f[0]);
	parse_file(path, &i, &len, &data);
	print_message("%s: name '%s' id '%s' modality '%s' ts '%s' pixels %llu+%llu flags %#x\n",
	              f[0], i.patient_name, i.patient_id, i.modality, i.transfer_syntax,
	              (unsigned long long)i.pixel_offset, (unsigned long long)i.pixel_length,
	              i.flags);
	assert_string_equal(i.patient_name, f[1]);
	assert_string_equal(i.patient_id, f[2]);
	assert_string_equal(i.study_uid, f[3]);
	assert_string_equal(i.modality, f[4]);
	assert_string_equal(i.transfer_syntax, f[5]);
	assert_int_equal(i.flags, flag_bits(f[7]));
	if (!f[6][0]) {
		assert_int_equal(i.has_pixel_data, 0);
	} else {
		assert_int_equal(i.has_pixel_data, 1);
		assert_int_equal(i.pixel_length, strtoull(f[6], NULL, 10));
		assert_int_equal(i.encapsulated, i.pixel_length == 0xffffffffu);
		if (i.flags & MV_DICOM_F_DEFLATED) {
			assert_int_equal(i.pixel_offset, 0);
		} else if (i.encapsulated) { /* the first fragment item */
			assert_true(i.pixel_offset + 4 <= len);
			assert_memory_equal(data + i.pixel_offset, "\xfe\xff\x00\xe0", 4);
		} else if (!(i.flags & MV_DICOM_F_TRUNCATED)) {
			/* dcmtk writes the pixel data last */
			assert_int_equal(i.pixel_offset + i.pixel_length, len);
		} else {
			assert_true(i.pixel_offset + i.pixel_length > len);
		}
	}
	free(data);
}

static void test_dicom_dcmtk__tags_match_dcmdump(void **state)
{
	const char *dir = getenv("MEDVAULT_DCMTK_DIR");
	char path[4096], line[8192];
	int files = 0;

	(void)state;
	if (!dir || !*dir) {
		print_message("MEDVAULT_DCMTK_DIR not set (tests/e2e/t_dicom_dcmtk.sh sets it)\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/expected.txt", dir);
	FILE *e = fopen(path, "r");
	if (!e)
		fail_msg("cannot open '%s'", path);
	while (fgets(line, sizeof(line), e)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		check_line(dir, line);
		files++;
	}
	fclose(e);
	assert_true(files > 0);
	print_message("checked %d files\n", files);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dicom_dcmtk__tags_match_dcmdump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
