#include "core/util/fdio.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>

ssize_t mv_read_upto(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t have = 0;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (have < len) {
		ssize_t n = read(fd, p + have, len - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		have += (size_t)n;
	}
	return (ssize_t)have;
}
