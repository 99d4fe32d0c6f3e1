#define _GNU_SOURCE /* O_PATH, openat2, renameat2 */
#include "core/util/beneath.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
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

/* May the symbolic link lk found in folder dfd be followed on the way to
 * the target? Only when no other user can change it: in a folder owned by
 * root or by us that others cannot write, or in a sticky folder of root or
 * ours (/tmp) when the link is root's or ours (only they can replace it
 * there). A link planted by someone else must not send a root restore
 * elsewhere. */
static int may_follow(int dfd, const struct stat *lk)
{
	struct stat st;
	uid_t me = geteuid();
	if (fstat(dfd, &st) < 0 || (st.st_uid != 0 && st.st_uid != me))
		return 0;
	if (!(st.st_mode & (S_IWGRP | S_IWOTH)))
		return 1;
	return (st.st_mode & S_ISVTX) && (lk->st_uid == 0 || lk->st_uid == me);
}

int mv_open_trusted_dir(const char *target, int create, struct mv_error *err)
{
	char *path = strdup(target), name[256];
	int cur = -1, links = 0, rc;
	size_t pos = 0;
	if (!path)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	cur = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0) {
		rc = mv_error_set(err, MV_ERR_IO, errno, "cannot open '%s'", target);
		goto out;
	}
	while (path[pos]) {
		const char *p = path + pos;
		size_t l = strcspn(p, "/");
		size_t next = pos + l + (p[l] == '/');
		if (l == 0 || (l == 1 && p[0] == '.')) {
			pos = next;
			continue;
		}
		if (l >= sizeof(name)) {
			rc = mv_error_set(err, MV_ERR_USAGE, ENAMETOOLONG, "cannot use '%s'",
			                  target);
			goto out;
		}
		memcpy(name, p, l);
		name[l] = '\0';
		if (create && mkdirat(cur, name, 0700) < 0 && errno != EEXIST) {
			int e = errno;
			rc = mv_error_set(err, e == ENOSPC ? MV_ERR_NOSPC : MV_ERR_IO, e,
			                  "cannot create '%s'", target);
			goto out;
		}
		int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
			char lt[PATH_MAX];
			ssize_t n = readlinkat(fd, "", lt, sizeof(lt) - 1);
			close(fd);
			if (!may_follow(cur, &st)) {
				rc = mv_error_set(
				    err, MV_ERR_USAGE, 0,
				    "'%s' goes through a symbolic link ('%s') that another "
				    "user can change: give the real path",
				    target, name);
				goto out;
			}
			if (n <= 0 || ++links > 40) {
				rc = mv_error_set(err, MV_ERR_IO, n <= 0 ? errno : ELOOP,
				                  "cannot open '%s'", target);
				goto out;
			}
			/* go on with the link's text, then what followed it */
			lt[n] = '\0';
			size_t rest = strlen(path + next);
			char *np = malloc((size_t)n + 1 + rest + 1);
			if (!np) {
				rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
				goto out;
			}
			memcpy(np, lt, (size_t)n);
			np[n] = '/';
			memcpy(np + n + 1, path + next, rest + 1);
			free(path);
			path = np;
			pos = 0;
			if (lt[0] == '/') {
				close(cur);
				if ((cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
					rc = mv_error_set(err, MV_ERR_IO, errno, "cannot open '%s'",
					                  target);
					goto out;
				}
			}
			continue;
		}
		if (fd >= 0 && !S_ISDIR(st.st_mode)) {
			close(fd);
			fd = -1;
			errno = ENOTDIR;
		}
		if (fd < 0) {
			rc = mv_error_set(err, MV_ERR_IO, errno, "cannot open '%s'", target);
			goto out;
		}
		close(cur);
		cur = fd;
		pos = next;
	}
	rc = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rc < 0)
		rc = mv_error_set(err, MV_ERR_IO, errno, "cannot open '%s'", target);
out:
	if (cur >= 0)
		close(cur);
	free(path);
	return rc;
}
