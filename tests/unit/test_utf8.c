/* UTF-8 decoding (formats/utf8.c), which the DICOM text conversion and the
 * terminal and JSON output all use: valid sequences of each length, and
 * every kind of invalid one refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "formats/utf8.h"

struct utf8_case {
	const char *bytes;
	size_t n;
	size_t len;  /* 0: invalid */
	uint32_t cp; /* when valid */
};

static void test_utf8__decode(void **state)
{
	static const struct utf8_case cases[] = {
	    {"A", 1, 1, 0x41},
	    {"\x7f", 1, 1, 0x7f},
	    {"\xc3\xa9x", 3, 2, 0xe9},
	    {"\xe2\x82\xac", 3, 3, 0x20ac},
	    {"\xf0\x9f\x98\x80", 4, 4, 0x1f600},
	    {"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
	    {"", 0, 0, 0},                 /* nothing */
	    {"\x80", 1, 0, 0},             /* a continuation byte first */
	    {"\xc0\xaf", 2, 0, 0},         /* overlong, 2 bytes */
	    {"\xe0\x80\xaf", 3, 0, 0},     /* overlong, 3 bytes */
	    {"\xe0\x9f\xbf", 3, 0, 0},     /* overlong: U+07FF in 3 bytes */
	    {"\xf0\x80\x80\xaf", 4, 0, 0}, /* overlong, 4 bytes */
	    {"\xed\xa0\x80", 3, 0, 0},     /* a surrogate */
	    {"\xf4\x90\x80\x80", 4, 0, 0}, /* above U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, 0, 0}, /* lead byte never valid */
	    {"\xe2\x82", 2, 0, 0},         /* cut short */
	    {"\xe2\x28\xa1", 3, 0, 0},     /* not a continuation */
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct utf8_case *c = &cases[i];
		uint32_t cp = 0xffffffffu;
		size_t len = mv_utf8_decode((const uint8_t *)c->bytes, c->n, &cp);
		if (len != c->len)
			fail_msg("case %zu: length %zu, expected %zu", i, len, c->len);
		if (len)
			assert_int_equal(cp, c->cp);
		assert_int_equal(mv_utf8_decode((const uint8_t *)c->bytes, c->n, NULL), c->len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8__decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
