/* libFuzzer target: catalog blob payloads (formats/catalog.c, FORMAT.md
 * section 12) and the name folding of searches (core/medical/find.c).
 *
 * Decodes the input. When it is valid, every entry must re-encode to exactly
 * its bytes and the whole payload to exactly the input (the format is
 * canonical), also through struct mv_dicom_info (as the cursor hands entries
 * out); every patient name is folded as find does and matched against a
 * query. When it is not valid, the iterator must say so and stay failed. Any
 * mismatch abort()s. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/medical/find.h"
#include "formats/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mv_dicom_info info;
	static char folded[4096];
	struct mv_catalog_iter it;
	struct mv_catalog_rec rec, again;
	struct mv_wbuf w;
	struct mv_find_matcher *m = NULL;
	struct mv_find_query q = {.patient = "dupónt^marie", .dates = "2019.."};
	uint32_t count;
	int rc;

	int valid = mv_catalog_check(data, size, &count) == 0;
	if (mv_catalog_iter_init(&it, data, size) != 0) {
		if (valid)
			abort();
		return 0;
	}
	if (mv_find_matcher_new(&q, &m, NULL) != 0)
		abort();
	mv_wbuf_init(&w, size + 1);
	mv_catalog_encode_begin(&w);
	while ((rc = mv_catalog_iter_next(&it, &rec)) == 1) {
		size_t before = w.len;
		if (rec.raw_len != mv_catalog_rec_len(&rec))
			abort();
		mv_catalog_encode_rec(&w, &rec);
		if (w.failed || w.len - before != rec.raw_len ||
		    memcmp(w.data + before, rec.raw, rec.raw_len))
			abort();
		/* through the header struct and back: the same bytes */
		mv_catalog_rec_to_info(&rec, &info);
		again = rec;
		mv_catalog_rec_from_info(&again, &info);
		if (mv_catalog_rec_len(&again) != rec.raw_len)
			abort();
		for (unsigned f = 0; f < MV_CAT_NFIELDS; f++)
			if (again.field_len[f] != rec.field_len[f] ||
			    memcmp(again.field[f], rec.field[f], rec.field_len[f]))
				abort();
		if (mv_find_fold(info.patient_name, strlen(info.patient_name), folded,
		                 sizeof(folded)) < 0)
			abort();
		if (mv_find_matcher_match_rec(m, &rec) != mv_find_matcher_match(m, &info))
			abort();
	}
	if (rc == 0) {
		if (!valid)
			abort();
		mv_catalog_encode_end(&w, count);
		if (w.failed || w.len != size || memcmp(w.data, data, size))
			abort();
	} else if (valid || mv_catalog_iter_next(&it, &rec) != MV_FMT_MALFORMED) {
		abort();
	}
	mv_wbuf_release(&w);
	mv_find_matcher_free(m);
	return 0;
}
