/* The /proc/net/tcp and tcp6 parser (formats/procnet.c): sample text as the
 * kernel prints it on a little-endian host, byte order, malformed lines,
 * chunked input, address classes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "formats/procnet.h"

/* A real /proc/net/tcp excerpt (little-endian host): 0.0.0.0:11112 and
 * 127.0.0.1:104 listening, 192.168.1.10:4242 listening, one established
 * connection to 11112. */
static const char tcp4[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode                                                     \n"
    "   0: 00000000:2B68 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0     "
    "   0 1288 1 00000000c28e7ad8 100 0 0 10 0                      \n"
    "   1: 0100007F:0068 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000     "
    "   0 4242 1 0000000000000000 100 0 0 10 0                      \n"
    "   2: 0A01A8C0:1092 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0     "
    "   0 77 1 0000000000000000 100 0 0 10 0                      \n"
    "   3: 0A01A8C0:2B68 0B01A8C0:C350 01 00000000:00000000 02:000A7C2E 00000000     0     "
    "   0 99 2 0000000000000000 20 4 30 10 -1                     \n";

/* /proc/net/tcp6: ::, ::1, ::ffff:127.0.0.1, ::ffff:0.0.0.0, fe80::1 */
static const char tcp6[] =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:2B68 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 501 1 0000000000000000 100 0 0 10 "
    "0\n"
    "   1: 00000000000000000000000001000000:0AB2 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 502 1 0000000000000000 100 0 0 10 "
    "0\n"
    "   2: 0000000000000000FFFF00000100007F:1F6A 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 503 1 0000000000000000 100 0 0 10 "
    "0\n"
    "   3: 0000000000000000FFFF000000000000:0068 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 504 1 0000000000000000 100 0 0 10 "
    "0\n"
    "   4: 000080FE00000000000000000100000:0068 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 505 1 0000000000000000 100 0 0 10 "
    "0\n"
    "   5: 000080FE000000000000000001000000:0068 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 506 1 0000000000000000 100 0 0 10 "
    "0\n";

struct collect {
	struct mv_procnet_entry e[16];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int collect_cb(void *arg, const struct mv_procnet_entry *e)
{
	struct collect *c = arg;

	assert_true(c->n < 16);
	c->e[c->n++] = *e;
	return c->stop_after && c->n == c->stop_after ? 42 : 0;
}

static void test_procnet__ipv4_sample(void **state)
{
	static const uint8_t any[4] = {0, 0, 0, 0}, lo[4] = {127, 0, 0, 1},
	                     lan[4] = {192, 168, 1, 10}, peer[4] = {192, 168, 1, 11};
	struct collect c = {0};
	size_t bad = 0, used = 0;
	(void)state;

	assert_int_equal(
	    mv_procnet_parse(tcp4, strlen(tcp4), 1, 4, MV_PROCNET_LE, collect_cb, &c, &used, &bad),
	    0);
	assert_int_equal(used, strlen(tcp4));
	assert_int_equal(bad, 0);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.e[0].family, 4);
	assert_memory_equal(c.e[0].local, any, 4);
	assert_int_equal(c.e[0].local_port, 11112);
	assert_int_equal(c.e[0].state, MV_PROCNET_LISTEN);
	assert_int_equal(c.e[0].inode, 1288);
	assert_memory_equal(c.e[1].local, lo, 4);
	assert_int_equal(c.e[1].local_port, 104);
	assert_int_equal(c.e[1].uid, 1000);
	assert_memory_equal(c.e[2].local, lan, 4);
	assert_int_equal(c.e[2].local_port, 4242);
	assert_int_equal(c.e[3].state, MV_PROCNET_ESTABLISHED);
	assert_memory_equal(c.e[3].remote, peer, 4);
	assert_int_equal(c.e[3].remote_port, 50000);
	for (size_t i = 4; i < 16; i++)
		assert_int_equal(c.e[0].local[i], 0);
}

static void test_procnet__ipv6_sample(void **state)
{
	static const uint8_t zero[16] = {0};
	static const uint8_t lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t mlo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
	static const uint8_t many[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
	static const uint8_t ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct collect c = {0};
	size_t bad = 0;
	(void)state;

	assert_int_equal(
	    mv_procnet_parse(tcp6, strlen(tcp6), 1, 6, MV_PROCNET_LE, collect_cb, &c, NULL, &bad),
	    0);
	/* line 4 has a 31-digit address: malformed, skipped */
	assert_int_equal(bad, 1);
	assert_int_equal(c.n, 5);
	assert_memory_equal(c.e[0].local, zero, 16);
	assert_int_equal(c.e[0].local_port, 11112);
	assert_memory_equal(c.e[1].local, lo, 16);
	assert_int_equal(c.e[1].local_port, 2738);
	assert_memory_equal(c.e[2].local, mlo, 16);
	assert_int_equal(c.e[2].local_port, 8042);
	assert_memory_equal(c.e[3].local, many, 16);
	assert_memory_equal(c.e[4].local, ll, 16);
	assert_int_equal(c.e[4].inode, 506);

	assert_true(mv_procnet_is_any(6, c.e[0].local));
	assert_false(mv_procnet_is_loopback(6, c.e[0].local));
	assert_true(mv_procnet_is_loopback(6, c.e[1].local));
	assert_false(mv_procnet_is_any(6, c.e[1].local));
	assert_true(mv_procnet_is_loopback(6, c.e[2].local));
	assert_true(mv_procnet_is_any(6, c.e[3].local));
	assert_false(mv_procnet_is_loopback(6, c.e[4].local));
	assert_false(mv_procnet_is_any(6, c.e[4].local));
}

static void test_procnet__big_endian_order(void **state)
{
	static const char line[] = "0: 7F000001:0068 00000000:0000 0A 00000000:00000000 "
	                           "00:00000000 00000000 0 0 9";
	static const char line6[] = "0: 00000000000000000000FFFF7F000001:0068 "
	                            "00000000000000000000000000000000:0000 0A 00000000:00000000 "
	                            "00:00000000 00000000 0 0 9";
	static const uint8_t lo[4] = {127, 0, 0, 1};
	static const uint8_t mlo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
	struct mv_procnet_entry e;
	(void)state;

	assert_int_equal(mv_procnet_parse_line(line, strlen(line), 4, MV_PROCNET_BE, &e), 1);
	assert_memory_equal(e.local, lo, 4);
	assert_int_equal(e.local_port, 104);
	/* the same text read as little-endian is 1.0.0.127 */
	assert_int_equal(mv_procnet_parse_line(line, strlen(line), 4, MV_PROCNET_LE, &e), 1);
	assert_int_equal(e.local[0], 1);
	assert_int_equal(e.local[3], 127);
	assert_false(mv_procnet_is_loopback(4, e.local));
	assert_int_equal(mv_procnet_parse_line(line6, strlen(line6), 6, MV_PROCNET_BE, &e), 1);
	assert_memory_equal(e.local, mlo, 16);
}

static void test_procnet__header_and_blank(void **state)
{
	struct mv_procnet_entry e;
	(void)state;

	assert_int_equal(mv_procnet_parse_line(tcp4, strcspn(tcp4, "\n"), 4, MV_PROCNET_LE, &e), 0);
	assert_int_equal(mv_procnet_parse_line("", 0, 4, MV_PROCNET_LE, &e), 0);
	assert_int_equal(mv_procnet_parse_line("   \t ", 5, 4, MV_PROCNET_LE, &e), 0);
}

static void test_procnet__malformed_lines(void **state)
{
	static const char *const bad[] = {
	    /* truncated after the state */
	    "0: 00000000:2B68 00000000:0000 0A",
	    /* port with 3 digits */
	    "0: 00000000:2B6 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
	    /* non-hex address */
	    "0: 0000G000:2B68 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
	    /* state with 3 digits */
	    "0: 00000000:2B68 00000000:0000 0AA 00000000:00000000 00:00000000 00000000 0 0 1",
	    /* slot without colon */
	    "0 00000000:2B68 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
	    /* uid not decimal */
	    "0: 00000000:2B68 00000000:0000 0A 00000000:00000000 00:00000000 00000000 x 0 1",
	    /* uid above 32 bits */
	    "0: 00000000:2B68 00000000:0000 0A 00000000:00000000 00:00000000 00000000 4294967296 0 "
	    "1",
	    /* queue without colon */
	    "0: 00000000:2B68 00000000:0000 0A 0000000000000000 00:00000000 00000000 0 0 1",
	    /* an IPv6 address in the IPv4 file */
	    "0: 00000000000000000000000000000000:2B68 00000000000000000000000000000000:0000 0A "
	    "00000000:00000000 00:00000000 00000000 0 0 1",
	};
	struct mv_procnet_entry e;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0xAA, sizeof(e));
		assert_int_equal(
		    mv_procnet_parse_line(bad[i], strlen(bad[i]), 4, MV_PROCNET_LE, &e), MV_FMT_MALFORMED);
		assert_int_equal(e.family, 0); /* zeroed */
		assert_int_equal(e.local_port, 0);
	}
	/* a family other than 4 or 6 */
	assert_int_equal(mv_procnet_parse_line(bad[1], strlen(bad[1]), 5, MV_PROCNET_LE, &e), MV_FMT_MALFORMED);
}

static void test_procnet__overlong_line(void **state)
{
	static const char good[] = "0: 00000000:2B68 00000000:0000 0A 00000000:00000000 "
	                           "00:00000000 00000000 0 0 1";
	size_t n = MV_PROCNET_LINE_MAX + 100;
	char *line = malloc(n);
	struct mv_procnet_entry e;
	(void)state;

	assert_non_null(line);
	memset(line, ' ', n);
	memcpy(line, good, strlen(good));
	/* a valid line followed by spaces: valid up to the limit, refused past it */
	assert_int_equal(mv_procnet_parse_line(line, MV_PROCNET_LINE_MAX, 4, MV_PROCNET_LE, &e), 1);
	assert_int_equal(mv_procnet_parse_line(line, MV_PROCNET_LINE_MAX + 1, 4, MV_PROCNET_LE, &e),
	                 MV_FMT_MALFORMED);
	free(line);
}

static void test_procnet__chunks_and_stop(void **state)
{
	struct collect c = {0};
	size_t used = 0, bad = 0, cut;
	(void)state;

	/* cut in the middle of the third line: two complete lines parsed */
	cut = (size_t)(strstr(tcp4, "   2:") - tcp4) + 10;
	assert_int_equal(
	    mv_procnet_parse(tcp4, cut, 0, 4, MV_PROCNET_LE, collect_cb, &c, &used, &bad), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(used, (size_t)(strstr(tcp4, "   2:") - tcp4));
	/* the rest, from where it stopped */
	assert_int_equal(mv_procnet_parse(tcp4 + used, strlen(tcp4) - used, 1, 4, MV_PROCNET_LE,
	                                  collect_cb, &c, &used, &bad),
	                 0);
	assert_int_equal(c.n, 4);
	assert_int_equal(bad, 0);
	/* the callback stops the parse and its value is returned */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(
	    mv_procnet_parse(tcp4, strlen(tcp4), 1, 4, MV_PROCNET_LE, collect_cb, &c, NULL, NULL),
	    42);
	assert_int_equal(c.n, 2);
	/* final text without a newline is a line */
	memset(&c, 0, sizeof(c));
	assert_int_equal(mv_procnet_parse(tcp4, strlen(tcp4) - 1, 1, 4, MV_PROCNET_LE, collect_cb,
	                                  &c, &used, NULL),
	                 0);
	assert_int_equal(c.n, 4);
	assert_int_equal(used, strlen(tcp4) - 1);
}

static void test_procnet__ipv4_classes(void **state)
{
	static const uint8_t any[16] = {0}, lo[16] = {127, 0, 0, 1}, lo2[16] = {127, 1, 2, 3},
	                     lan[16] = {10, 0, 0, 1};
	(void)state;

	assert_true(mv_procnet_is_any(4, any));
	assert_false(mv_procnet_is_loopback(4, any));
	assert_true(mv_procnet_is_loopback(4, lo));
	assert_true(mv_procnet_is_loopback(4, lo2));
	assert_false(mv_procnet_is_any(4, lo));
	assert_false(mv_procnet_is_loopback(4, lan));
	assert_false(mv_procnet_is_any(4, lan));
}

static void test_procnet__addr_str(void **state)
{
	static const uint8_t lo[16] = {127, 0, 0, 1};
	static const uint8_t any6[16] = {0};
	static const uint8_t mlan[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2};
	static const uint8_t full[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	char s[MV_PROCNET_ADDR_STRLEN];
	(void)state;

	mv_procnet_addr_str(4, lo, 104, s);
	assert_string_equal(s, "127.0.0.1:104");
	mv_procnet_addr_str(6, any6, 11112, s);
	assert_string_equal(s, "[::]:11112");
	mv_procnet_addr_str(6, mlan, 4242, s);
	assert_string_equal(s, "[::ffff:10.0.0.2]:4242");
	mv_procnet_addr_str(6, full, 65535, s);
	assert_string_equal(s, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_procnet__ipv4_sample),
	    cmocka_unit_test(test_procnet__ipv6_sample),
	    cmocka_unit_test(test_procnet__big_endian_order),
	    cmocka_unit_test(test_procnet__header_and_blank),
	    cmocka_unit_test(test_procnet__malformed_lines),
	    cmocka_unit_test(test_procnet__overlong_line),
	    cmocka_unit_test(test_procnet__chunks_and_stop),
	    cmocka_unit_test(test_procnet__ipv4_classes),
	    cmocka_unit_test(test_procnet__addr_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
