#define _GNU_SOURCE /* O_PATH, openat2, renameat2 */
#include "core/util/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_by_components(int dirfd, const char *rel, int flags, mode_t mode)
{
	int cur = dirfd;
	const char *p = rel;

	for (;;) {
		size_t l = strcspn(p, "/");
		char name[256];
		if (l == 0 || l >= sizeof(name)) {
			if (cur != dirfd)
				close(cur);
			errno = l == 0 ? EINVAL : ENAMETOOLONG;
			return -1;
		}
		memcpy(name, p, l);
		name[l] = '\0';
		int last = p[l] == '\0';
		int fd = (strcmp(name, "..") == 0 || strcmp(name, ".") == 0) ? (errno = EXDEV, -1)
		         : last ? openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, mode)
		                : openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		if (cur != dirfd)
			close(cur);
		if (fd < 0) {
			errno = e;
			return -1;
		}
		if (last)
			return fd;
		cur = fd;
		p += l + 1;
	}
}

int mv_open_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
	if (!rel[0])
		return openat(dirfd, ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
#ifdef SYS_openat2
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(flags | O_NOFOLLOW | O_CLOEXEC);
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	/* an old kernel, or a path too long for one call: go component by
	 * component, which is as strict */
	if (errno != ENOSYS && errno != ENAMETOOLONG && errno != E2BIG && errno != EPERM)
		return -1;
#endif
	return open_by_components(dirfd, rel, flags, mode);
}

int mv_rename_noreplace(int dfd, const char *from, const char *to)
{
	if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* a file system without RENAME_NOREPLACE: a link fails the same way */
	if (linkat(dfd, from, dfd, to, 0) == 0) {
		unlinkat(dfd, from, 0);
		return 0;
	}
	if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
	/* nor hard links (folders; some FUSE or FAT file systems): look, then
	 * rename; the window between the two is this file system's limit */
	struct stat st;
	if (fstatat(dfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(dfd, from, dfd, to);
}
