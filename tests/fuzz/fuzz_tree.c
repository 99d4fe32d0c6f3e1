/* libFuzzer target: tree payloads (formats/tree.c).
 *
 * Decodes the input; a decoded tree must re-encode to exactly the input (the
 * format is canonical: fixed fields, sorted names, no trailing bytes), that
 * encoding must decode again, and every node must be found by name. Any
 * mismatch abort()s. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_tree t, t2;
	struct mv_wbuf w, w2;

	int rc = mv_tree_decode(data, size, &t);
	if (rc) {
		if (rc != -1 && rc != -2)
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
