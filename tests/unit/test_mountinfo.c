/* The /proc/self/mountinfo line parser (formats/mountinfo.c): real lines,
 * optional fields, escapes, malformed lines, option lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "formats/mountinfo.h"

static void test_mountinfo__real_line(void **state)
{
	(void)state;
	char line[] = "26 1 254:0 / / rw,relatime shared:1 master:2 - ext4 /dev/vda "
	              "rw,discard,data=journal\n";
	struct mv_mountinfo m;

	assert_int_equal(mv_mountinfo_parse_line(line, &m), 1);
	assert_int_equal(m.mount_id, 26);
	assert_int_equal(m.parent_id, 1);
	assert_int_equal(m.major, 254);
	assert_int_equal(m.minor, 0);
	assert_string_equal(m.root, "/");
	assert_string_equal(m.mount_point, "/");
	assert_string_equal(m.mount_opts, "rw,relatime");
	assert_string_equal(m.fstype, "ext4");
	assert_string_equal(m.source, "/dev/vda");
	assert_string_equal(m.super_opts, "rw,discard,data=journal");
	assert_true(mv_mountinfo_has_opt(m.super_opts, "data=journal"));
	assert_true(mv_mountinfo_has_opt(m.super_opts, "rw"));
	assert_false(mv_mountinfo_has_opt(m.super_opts, "data=journal2"));
	assert_false(mv_mountinfo_has_opt(m.super_opts, "data"));
	assert_false(mv_mountinfo_has_opt(m.mount_opts, "discard"));
}

static void test_mountinfo__no_optional_fields_and_escapes(void **state)
{
	(void)state;
	char line[] = "40 26 0:37 /sub\\040dir /media/my\\040disk\\011x rw - fuse.sshfs "
	              "user@host:/a\\134b rw,user_id=0";
	struct mv_mountinfo m;

	assert_int_equal(mv_mountinfo_parse_line(line, &m), 1);
	assert_int_equal(m.major, 0);
	assert_int_equal(m.minor, 37);
	assert_string_equal(m.root, "/sub dir");
	assert_string_equal(m.mount_point, "/media/my disk\tx");
	assert_string_equal(m.fstype, "fuse.sshfs");
	assert_string_equal(m.source, "user@host:/a\\b");
	assert_string_equal(m.super_opts, "rw,user_id=0");
}

static void test_mountinfo__blank_and_malformed(void **state)
{
	(void)state;
	struct mv_mountinfo m;
	char blank[] = "  \n", none[] = "";
	char no_dash[] = "26 1 254:0 / / rw shared:1 ext4 /dev/vda rw";
	char short_tail[] = "26 1 254:0 / / rw - ext4 /dev/vda";
	char bad_dev[] = "26 1 254-0 / / rw - ext4 /dev/vda rw";
	char bad_id[] = "2x 1 254:0 / / rw - ext4 /dev/vda rw";
	char huge[] = "99999999999999999999999 1 254:0 / / rw - ext4 /dev/vda rw";
	char few[] = "26 1 254:0 /";

	assert_int_equal(mv_mountinfo_parse_line(blank, &m), 0);
	assert_int_equal(mv_mountinfo_parse_line(none, &m), 0);
	assert_int_equal(mv_mountinfo_parse_line(NULL, &m), 0);
	assert_int_equal(mv_mountinfo_parse_line(no_dash, &m), MV_FMT_MALFORMED);
	assert_int_equal(mv_mountinfo_parse_line(short_tail, &m), MV_FMT_MALFORMED);
	assert_int_equal(mv_mountinfo_parse_line(bad_dev, &m), MV_FMT_MALFORMED);
	assert_int_equal(mv_mountinfo_parse_line(bad_id, &m), MV_FMT_MALFORMED);
	assert_int_equal(mv_mountinfo_parse_line(huge, &m), MV_FMT_MALFORMED);
	assert_int_equal(mv_mountinfo_parse_line(few, &m), MV_FMT_MALFORMED);
	assert_null(m.source);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mountinfo__real_line),
	    cmocka_unit_test(test_mountinfo__no_optional_fields_and_escapes),
	    cmocka_unit_test(test_mountinfo__blank_and_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
