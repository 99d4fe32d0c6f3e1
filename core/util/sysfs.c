#include "core/util/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util/err.h"
#include "core/util/fdio.h"

ssize_t mv_sysfs_read(int dirfd, const char *rel, char *buf, size_t cap)
{
	ssize_t n;
	int fd, e;

	if (cap == 0) {
		errno = EINVAL;
		return -1;
	}
	buf[0] = '\0';
	fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	n = mv_read_upto(fd, buf, cap - 1);
	e = errno;
	close(fd);
	if (n < 0) {
		buf[0] = '\0';
		errno = e;
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t' ||
	                 buf[n - 1] == '\r' || buf[n - 1] == '\0'))
		n--;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 || c > 0x7e)
			buf[i] = '?';
	}
	return n;
}

int mv_sysfs_read_u64(int dirfd, const char *rel, unsigned long long *out)
{
	char buf[32], *end;

	if (mv_sysfs_read(dirfd, rel, buf, sizeof(buf)) <= 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	errno = 0;
	*out = strtoull(buf, &end, 10);
	return errno || *end ? -1 : 0;
}

int mv_mountinfo_each(int (*fn)(void *arg, const struct mv_mountinfo *e), void *arg,
                      struct mv_error *err)
{
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f) {
		int e = errno;
		return mv_error_set(err, MV_ERR_IO, e, "cannot open '/proc/self/mountinfo'");
	}
	errno = 0;
	while (getline(&line, &cap, f) >= 0) {
		struct mv_mountinfo m;
		if (mv_mountinfo_parse_line(line, &m) == 1 && (rc = fn(arg, &m)) != 0)
			break;
		errno = 0;
	}
	if (rc == 0 && ferror(f)) {
		int e = errno ? errno : EIO;
		rc = mv_error_set(err, e == ENOMEM ? MV_ERR_NOMEM : MV_ERR_IO, e,
		                  "cannot read '/proc/self/mountinfo'");
	}
	free(line);
	fclose(f);
	return rc;
}
