/* libFuzzer target: pack header and index payloads (formats/index.c).
 *
 * Input byte 0 selects the decoder (bit 0: 0 index, 1 pack header). For a
 * pack header, bytes 1..8 are data_len (u64 LE) and the rest the payload; for
 * an index, the rest is the payload. The entries the callback sees are
 * re-encoded: a pack header must re-encode to exactly its input; an index
 * must re-encode to a payload that decodes to the same callback sequence, and
 * to exactly its input when its packs are all visible (non-empty, adjacent
 * ones distinguishable). The decoder must not call back at all on malformed
 * input. Any mismatch abort()s. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	struct mv_index_entry *e;
	uint8_t (*pack)[32];
	size_t n, cap;
};

static int seen_add(struct seen *s, const uint8_t *pack, const struct mv_index_entry *e)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		struct mv_index_entry *ne = realloc(s->e, ncap * sizeof(*ne));
		if (!ne)
			abort();
		s->e = ne;
		uint8_t(*np)[32] = realloc(s->pack, ncap * 32);
		if (!np)
			abort();
		s->pack = np;
		s->cap = ncap;
	}
	s->e[s->n] = *e;
	memset(s->pack[s->n], 0, 32);
	if (pack)
		memcpy(s->pack[s->n], pack, 32);
	s->n++;
	return 0;
}

static int on_hdr(void *arg, const struct mv_index_entry *e)
{
	return seen_add(arg, NULL, e);
}

static int on_idx(void *arg, const uint8_t pack_id[32], const struct mv_index_entry *e)
{
	return seen_add(arg, pack_id, e);
}

static void seen_free(struct seen *s)
{
	free(s->e);
	free(s->pack);
}

static int entry_eq(const struct mv_index_entry *a, const struct mv_index_entry *b)
{
	return a->type == b->type && !memcmp(a->id, b->id, 32) && a->offset == b->offset &&
	       a->length == b->length && a->raw_length == b->raw_length;
}

static void same_seen(const struct seen *a, const struct seen *b)
{
	if (a->n != b->n)
		abort();
	for (size_t i = 0; i < a->n; i++)
		if (!entry_eq(&a->e[i], &b->e[i]) || memcmp(a->pack[i], b->pack[i], 32))
			abort();
}

static void fuzz_packhdr(const uint8_t *p, size_t n)
{
	struct seen s = {0}, s2 = {0};
	struct mv_wbuf w;

	if (n < 8)
		return;
	uint64_t data_len = mv_get_u64(p);
	p += 8;
	n -= 8;
	int rc = mv_packhdr_decode(p, n, data_len, on_hdr, &s);
	if (rc) {
		if (rc != MV_FMT_MALFORMED || s.n)
			abort();
		seen_free(&s);
		return;
	}
	mv_wbuf_init(&w, n + 1);
	mv_packhdr_encode(s.e, s.n, &w);
	if (w.failed || w.len != n || memcmp(w.data, p, n))
		abort();
	if (mv_packhdr_decode(w.data, w.len, data_len, on_hdr, &s2))
		abort();
	same_seen(&s, &s2);
	mv_wbuf_release(&w);
	seen_free(&s);
	seen_free(&s2);
}

static void fuzz_index(const uint8_t *p, size_t n)
{
	struct seen s = {0}, s2 = {0};
	struct mv_wbuf w;
	struct mv_index_pack *packs = NULL;
	size_t npacks = 0;

	int rc = mv_index_decode(p, n, on_idx, &s);
	if (rc) {
		if (rc != MV_FMT_MALFORMED || s.n)
			abort();
		seen_free(&s);
		return;
	}
	/* Split the sequence into packs where the id changes or the ordering
	 * starts over (two adjacent packs with one id). */
	packs = calloc(s.n ? s.n : 1, sizeof(*packs));
	if (!packs)
		abort();
	uint64_t end = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (!npacks || memcmp(s.pack[i], packs[npacks - 1].id, 32) || s.e[i].offset < end) {
			memcpy(packs[npacks].id, s.pack[i], 32);
			packs[npacks].entries = &s.e[i];
			npacks++;
		}
		packs[npacks - 1].count++;
		end = (uint64_t)s.e[i].offset + s.e[i].length;
	}
	mv_wbuf_init(&w, n + 1);
	mv_index_encode(packs, npacks, &w);
	if (w.failed)
		abort();
	if (npacks == mv_get_u32(p) && (w.len != n || memcmp(w.data, p, n)))
		abort();
	if (mv_index_decode(w.data, w.len, on_idx, &s2))
		abort();
	same_seen(&s, &s2);
	mv_wbuf_release(&w);
	free(packs);
	seen_free(&s);
	seen_free(&s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_packhdr(data + 1, size - 1);
	else
		fuzz_index(data + 1, size - 1);
	return 0;
}
