/* libFuzzer target: snapshot and lock payloads (formats/snapshot.c).
 *
 * Input byte 0 selects the decoder (bit 0: 0 snapshot, 1 lock); the rest is
 * the payload. A decoded payload must re-encode to exactly the same bytes
 * (both formats are canonical), and that encoding must decode and re-encode
 * identically again. Any mismatch abort()s. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void same_bytes(const struct mv_wbuf *w, const uint8_t *p, size_t n)
{
	if (w->failed || w->len != n || (n && memcmp(w->data, p, n)))
		abort();
}

static void fuzz_snapshot(const uint8_t *p, size_t n)
{
	struct mv_snapshot s, s2;
	struct mv_wbuf w, w2;

	int rc = mv_snapshot_decode(p, n, &s);
	if (rc) {
		if ((rc != MV_FMT_MALFORMED && rc != MV_FMT_NOMEM) || !is_zero(&s, sizeof(s)))
			abort();
		return;
	}
	mv_wbuf_init(&w, n + 1);
	mv_snapshot_encode(&s, &w);
	same_bytes(&w, p, n);
	if (mv_snapshot_decode(w.data, w.len, &s2))
		abort();
	mv_wbuf_init(&w2, n + 1);
	mv_snapshot_encode(&s2, &w2);
	same_bytes(&w2, w.data, w.len);
	mv_wbuf_release(&w);
	mv_wbuf_release(&w2);
	mv_snapshot_release(&s);
	mv_snapshot_release(&s2);
}

static void fuzz_lock(const uint8_t *p, size_t n)
{
	struct mv_lock_info l, l2;
	struct mv_wbuf w, w2;

	if (mv_lock_decode(p, n, &l)) {
		if (!is_zero(&l, sizeof(l)))
			abort();
		return;
	}
	mv_wbuf_init(&w, n + 1);
	mv_lock_encode(&l, &w);
	same_bytes(&w, p, n);
	if (mv_lock_decode(w.data, w.len, &l2))
		abort();
	mv_wbuf_init(&w2, n + 1);
	mv_lock_encode(&l2, &w2);
	same_bytes(&w2, w.data, w.len);
	mv_wbuf_release(&w);
	mv_wbuf_release(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_lock(data + 1, size - 1);
	else
		fuzz_snapshot(data + 1, size - 1);
	return 0;
}
