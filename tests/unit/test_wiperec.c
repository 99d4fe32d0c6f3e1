/* The wipe record codec (formats/wiperec.c): round trip, and what a
 * decoder must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/wiperec.h"

static void sample(struct mv_wiperec *rec, struct mv_wiperec_item it[2])
{
	memset(rec, 0, sizeof(*rec));
	memset(it, 0, 2 * sizeof(*it));
	rec->mode = 1;
	rec->start = 1700000000;
	rec->end = 1700000100;
	rec->host = (const uint8_t *)"cabinet";
	rec->host_len = 7;
	rec->operator_name = (const uint8_t *)"Cabinet IT";
	rec->operator_len = 10;
	rec->flags = MV_WIPEREC_HAS_SNAPSHOT;
	memset(rec->snapshot, 0xab, 32);
	it[0].status = 1;
	it[0].flags = MV_WIPEREC_HAS_CONTENT | MV_WIPEREC_HAS_SNAPSHOT;
	it[0].size = 12345;
	memset(it[0].content, 1, 32);
	memset(it[0].snapshot, 0xab, 32);
	it[0].path = (const uint8_t *)"/media/old/DUPONT^JEAN/1.dcm";
	it[0].path_len = strlen((const char *)it[0].path);
	it[1].status = 2;
	it[1].path = (const uint8_t *)"/media/old/x.dcm";
	it[1].path_len = strlen((const char *)it[1].path);
	it[1].reason = (const uint8_t *)"changed since the backup";
	it[1].reason_len = strlen((const char *)it[1].reason);
	rec->n = 2;
	rec->items = it;
	rec->cert = (const uint8_t *)"{}\n";
	rec->cert_len = 3;
}

static void test_wiperec__round_trip(void **state)
{
	(void)state;
	struct mv_wiperec rec, back;
	struct mv_wiperec_item it[2];
	struct mv_wbuf w;
	sample(&rec, it);
	mv_wbuf_init(&w, MV_WIPEREC_MAX);
	assert_int_equal(mv_wiperec_encode(&rec, &w), 0);
	assert_int_equal(mv_wiperec_decode(w.data, w.len, &back), 0);
	assert_int_equal(back.n, 2);
	assert_int_equal(back.start, rec.start);
	assert_memory_equal(back.snapshot, rec.snapshot, 32);
	assert_int_equal(back.items[0].size, 12345);
	assert_memory_equal(back.items[0].path, it[0].path, it[0].path_len);
	assert_memory_equal(back.items[1].reason, it[1].reason, it[1].reason_len);
	assert_int_equal(back.cert_len, 3);
	mv_wiperec_release(&back);

	/* every truncation and a trailing byte are refused */
	for (size_t n = 0; n < w.len; n++) {
		assert_int_equal(mv_wiperec_decode(w.data, n, &back), MV_FMT_MALFORMED);
		mv_wiperec_release(&back);
	}
	uint8_t *longer = malloc(w.len + 1);
	assert_non_null(longer);
	memcpy(longer, w.data, w.len);
	longer[w.len] = 0;
	assert_int_equal(mv_wiperec_decode(longer, w.len + 1, &back), MV_FMT_MALFORMED);
	mv_wiperec_release(&back);
	/* a newer version is named as such */
	longer[0] = 2;
	assert_int_equal(mv_wiperec_decode(longer, w.len, &back), MV_FMT_VERSION);
	mv_wiperec_release(&back);
	free(longer);
	mv_wbuf_release(&w);
}

static void test_wiperec__encoder_refuses_what_it_cannot_represent(void **state)
{
	(void)state;
	struct mv_wiperec rec;
	struct mv_wiperec_item it[2];
	struct mv_wbuf w;
	sample(&rec, it);
	it[1].status = 9;
	mv_wbuf_init(&w, MV_WIPEREC_MAX);
	assert_int_equal(mv_wiperec_encode(&rec, &w), MV_FMT_MALFORMED);
	mv_wbuf_release(&w);
	sample(&rec, it);
	it[0].path_len = 0;
	mv_wbuf_init(&w, MV_WIPEREC_MAX);
	assert_int_equal(mv_wiperec_encode(&rec, &w), MV_FMT_MALFORMED);
	mv_wbuf_release(&w);
	sample(&rec, it);
	it[1].content[0] = 1; /* content without its flag */
	mv_wbuf_init(&w, MV_WIPEREC_MAX);
	assert_int_equal(mv_wiperec_encode(&rec, &w), MV_FMT_MALFORMED);
	mv_wbuf_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wiperec__round_trip),
	    cmocka_unit_test(test_wiperec__encoder_refuses_what_it_cannot_represent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
