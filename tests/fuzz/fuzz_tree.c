/* libFuzzer target: tree payloads (formats/tree.c).
 *
 * Decodes the input; a decoded tree must re-encode to exactly the input (the
 * format is canonical: fixed fields, sorted names, no trailing bytes), that
 * encoding must decode again, and every node must be found by name. Any
 * mismatch abort()s.
 *
 * An input whose first byte is 2 is a split tree (payload version 2): it goes
 * through mv_tree_parts_decode, which must leave the part list empty on
 * failure; a decoded list must be within the limits, re-encode to exactly
 * the input and decode again to the same list, and mv_tree_decode must
 * reject it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parts_empty(const struct mv_tree_parts *tp)
{
	return !tp->ids && !tp->count && !tp->nodes;
}

static int fuzz_parts(const uint8_t *data, size_t size)
{
	struct mv_tree_parts tp, tp2;
	struct mv_tree t;
	struct mv_wbuf w;

	if (mv_tree_payload_version(data, size) != 2)
		abort();
	int rc = mv_tree_parts_decode(data, size, &tp);
	if (rc) {
		if ((rc != MV_FMT_MALFORMED && rc != MV_FMT_NOMEM) || !parts_empty(&tp))
			abort();
		return 0;
	}
	if (tp.count < 2 || tp.count > MV_TREE_MAX_PARTS || tp.nodes < tp.count ||
	    tp.nodes > MV_TREE_SPLIT_MAX_NODES || !tp.ids || size != 13u + (size_t)tp.count * 32u)
		abort();
	if (mv_tree_decode(data, size, &t) != MV_FMT_MALFORMED || t.nodes || t.count || t.cap)
		abort();

	mv_wbuf_init(&w, size + 1);
	mv_tree_parts_encode(&tp, &w);
	if (w.failed || w.len != size || memcmp(w.data, data, size))
		abort();
	if (mv_tree_parts_decode(w.data, w.len, &tp2) || tp2.nodes != tp.nodes ||
	    tp2.count != tp.count || memcmp(tp2.ids, tp.ids, (size_t)tp.count * 32u))
		abort();

	mv_wbuf_release(&w);
	mv_tree_parts_release(&tp);
	mv_tree_parts_release(&tp2);
	if (!parts_empty(&tp))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_tree t, t2;
	struct mv_wbuf w, w2;

	if (size && data[0] == 2)
		return fuzz_parts(data, size);

	int rc = mv_tree_decode(data, size, &t);
	if (rc) {
		if (rc != MV_FMT_MALFORMED && rc != MV_FMT_NOMEM)
			abort();
		if (t.nodes || t.count || t.cap) /* must be left empty */
			abort();
		return 0;
	}
	mv_wbuf_init(&w, size + 1);
	mv_tree_encode(&t, &w);
	if (w.failed || w.len != size || (size && memcmp(w.data, data, size)))
		abort();
	for (size_t i = 0; i < t.count; i++)
		if (mv_tree_find(&t, t.nodes[i].name, t.nodes[i].name_len) != &t.nodes[i])
			abort();
	if (mv_tree_sort(&t)) /* already sorted, no duplicates */
		abort();

	if (mv_tree_decode(w.data, w.len, &t2) || t2.count != t.count)
		abort();
	mv_wbuf_init(&w2, size + 1);
	mv_tree_encode(&t2, &w2);
	if (w2.failed || w2.len != w.len || (w.len && memcmp(w2.data, w.data, w.len)))
		abort();

	mv_wbuf_release(&w);
	mv_wbuf_release(&w2);
	mv_tree_release(&t);
	mv_tree_release(&t2);
	return 0;
}
