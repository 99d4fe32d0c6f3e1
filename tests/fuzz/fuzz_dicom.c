/* libFuzzer target: DICOM header reader (formats/dicom.c).
 *
 * Parses the input as a whole file, then as the prefix of a file twice as
 * long, then every prefix a caller following need_more would read. Checks
 * what must hold for any input: return value 0 or 1 (no allocation fails
 * here), NUL-terminated valid UTF-8 strings, known flags only, need_more
 * beyond the prefix and within the file, pixel data offsets inside the
 * buffer, the same answer for the same bytes, and for a complete file the
 * same answer as the need_more protocol reaches. Any violation abort()s. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n >= cap)
		abort();
	for (size_t i = 0; i < n;) {
		uint8_t c = (uint8_t)s[i];
		size_t k = c < 0x80             ? 1
		           : (c & 0xe0) == 0xc0 ? 2
		           : (c & 0xf0) == 0xe0 ? 3
		           : (c & 0xf8) == 0xf0 ? 4
		                                : 0;
		if (!k || c < 0x20 || c == 0x7f || i + k > n)
			abort();
		for (size_t j = 1; j < k; j++)
			if (((uint8_t)s[i + j] & 0xc0) != 0x80)
				abort();
		i += k;
	}
}

#define CHECK_STR(f) check_str(info->f, sizeof(info->f))

static void check(int rc, const struct mv_dicom_info *info, size_t len, uint64_t file_size,
                  size_t need)
{
	if (rc != 0 && rc != 1)
		abort();
	CHECK_STR(patient_name);
	CHECK_STR(patient_id);
	CHECK_STR(birth_date);
	CHECK_STR(sex);
	CHECK_STR(study_uid);
	CHECK_STR(series_uid);
	CHECK_STR(sop_uid);
	CHECK_STR(sop_class_uid);
	CHECK_STR(study_date);
	CHECK_STR(study_time);
	CHECK_STR(modality);
	CHECK_STR(study_desc);
	CHECK_STR(series_desc);
	CHECK_STR(accession);
	CHECK_STR(institution);
	CHECK_STR(transfer_syntax);
	if (info->flags & ~0xffu)
		abort();
	if (rc == 0 && (info->flags || info->has_pixel_data || info->patient_name[0]))
		abort();
	if (need && (need <= len || need > file_size))
		abort();
	if (need && info->has_pixel_data)
		abort();
	if (len >= file_size && need)
		abort();
	if (info->has_pixel_data) {
		if (info->flags & MV_DICOM_F_DEFLATED) {
			if (info->pixel_offset)
				abort();
		} else if (info->pixel_offset < 8 || info->pixel_offset > len) {
			abort();
		}
	} else if (info->pixel_offset || info->pixel_length) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_dicom_info a, b;
	size_t need, need2;

	/* the whole file */
	int rc = mv_dicom_parse(data, size, size, &a, &need);
	check(rc, &a, size, size, need);
	int rc2 = mv_dicom_parse(data, size, size, &b, &need2);
	if (rc2 != rc || need2 != need || memcmp(&a, &b, sizeof(a)))
		abort();

	/* the first bytes of a longer file */
	rc2 = mv_dicom_parse(data, size, (uint64_t)size * 2 + 1, &b, &need2);
	check(rc2, &b, size, (uint64_t)size * 2 + 1, need2);

	/* a caller reading 16 bytes, then what need_more says */
	size_t len = size < 16 ? size : 16;
	for (int round = 0;; round++) {
		rc2 = mv_dicom_parse(data, len, size, &b, &need2);
		check(rc2, &b, len, size, need2);
		if (!need2)
			break;
		if (round > 64) /* need_more at least doubles: 64 rounds is far too many */
			abort();
		len = need2;
	}
	/* having stopped early, the caller knows as much as from the whole
	 * file (truncation is only flagged when the file really ends) */
	if (rc2 != rc)
		abort();
	if (len == size && memcmp(&a, &b, sizeof(a)))
		abort();
	if (len < size && (a.flags & ~(unsigned)MV_DICOM_F_TRUNCATED) !=
	                      (b.flags & ~(unsigned)MV_DICOM_F_TRUNCATED))
		abort();
	return 0;
}
