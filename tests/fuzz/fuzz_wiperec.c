/* libFuzzer target: the wipe record payload (formats/wiperec.c).
 *
 * The format is canonical: a decoded payload must re-encode to exactly the
 * same bytes. A failed decode must be MV_FMT_MALFORMED, MV_FMT_VERSION or
 * MV_FMT_NOMEM. Any mismatch abort()s. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/wiperec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_wiperec rec;
	struct mv_wbuf w;

	int rc = mv_wiperec_decode(data, size, &rec);
	if (rc) {
		if (rc != MV_FMT_MALFORMED && rc != MV_FMT_VERSION && rc != MV_FMT_NOMEM)
			abort();
		mv_wiperec_release(&rec);
		return 0;
	}
	mv_wbuf_init(&w, MV_WIPEREC_MAX);
	if (mv_wiperec_encode(&rec, &w) != 0 || w.len != size || memcmp(w.data, data, size))
		abort();
	mv_wbuf_release(&w);
	mv_wiperec_release(&rec);
	return 0;
}
