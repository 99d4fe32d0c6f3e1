/* Reading a descriptor whole (core/util/fdio.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/util/fdio.h"

static void test_fdio__read_upto(void **state)
{
	char buf[16];
	int fd[2];

	(void)state;
	assert_int_equal(pipe(fd), 0);
	assert_int_equal(write(fd[1], "abc", 3), 3);
	assert_int_equal(write(fd[1], "de", 2), 2);
	/* stops at len, leaving the rest */
	assert_int_equal(mv_read_upto(fd[0], buf, 2), 2);
	assert_memory_equal(buf, "ab", 2);
	/* reads on to the end of the file: fewer bytes than asked */
	close(fd[1]);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(mv_read_upto(fd[0], buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "cde", 3);
	assert_int_equal(mv_read_upto(fd[0], buf, sizeof(buf)), 0);
	close(fd[0]);
	/* a read error */
	errno = 0;
	assert_int_equal(mv_read_upto(fd[0], buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fdio__read_upto),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
