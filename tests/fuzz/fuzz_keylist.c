/* libFuzzer target: the key list payload (formats/keylist.c).
 *
 * The format is canonical: a decoded payload of the current version must
 * re-encode to exactly the same bytes (one of version 1 re-encodes as the
 * current version, which must then round-trip exactly). A failed decode must be MV_FMT_MALFORMED or MV_FMT_NOMEM. Any
 * mismatch abort()s. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/keylist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_keylist kl;
	struct mv_wbuf w;

	int rc = mv_keylist_decode(data, size, &kl);
	if (rc) {
		if (rc != MV_FMT_MALFORMED && rc != MV_FMT_NOMEM)
			abort();
		mv_keylist_release(&kl);
		return 0;
	}
	mv_wbuf_init(&w, 1u << 20);
	if (mv_keylist_encode(&kl, &w) != 0)
		abort();
	if (data[0] == MV_KEYLIST_VERSION) {
		if (w.len != size || memcmp(w.data, data, size))
			abort();
	} else {
		/* an older version is read, and written as the current one: that
		 * encoding must be canonical in turn */
		struct mv_keylist k2;
		struct mv_wbuf w2;
		if (mv_keylist_decode(w.data, w.len, &k2) != 0 || k2.n != kl.n)
			abort();
		mv_wbuf_init(&w2, 1u << 20);
		if (mv_keylist_encode(&k2, &w2) != 0 || w2.len != w.len ||
		    memcmp(w2.data, w.data, w.len))
			abort();
		mv_wbuf_release(&w2);
		mv_keylist_release(&k2);
	}
	for (uint32_t i = 0; i < kl.n; i++)
		if (!mv_keylist_find(&kl, kl.e[i].id) || strlen(kl.e[i].label) != kl.e[i].label_len)
			abort();
	mv_wbuf_release(&w);
	mv_keylist_release(&kl);
	return 0;
}
