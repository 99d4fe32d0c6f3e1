/* Local filesystem backend: REPO/{config,keys,data/xx,index,snapshots,locks}.
 * Writes go to a temporary name, are fsync'd, renamed, and the directory is
 * fsync'd (docs/FORMAT.md section 1). */
#include "core/backend/backend.h"
#include "core/util/fdio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

struct local {
	struct mv_backend b;
};

static const char *const type_dirs[] = {
    [MV_FT_CONFIG] = "",         [MV_FT_KEY] = "keys",           [MV_FT_PACK] = "data",
    [MV_FT_INDEX] = "index",     [MV_FT_SNAPSHOT] = "snapshots", [MV_FT_LOCK] = "locks",
    [MV_FT_KEYLIST] = "keylist", [MV_FT_WIPE] = "wipes",
};

static int valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 128 || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/')
			return 0;
	return 1;
}

/* Directory holding objects of type t named name. */
static int dir_path(struct mv_backend *b, enum mv_ftype t, const char *name, char *out, size_t cap)
{
	int n;
	if (t == MV_FT_CONFIG)
		n = snprintf(out, cap, "%s", b->location);
	else if (t == MV_FT_PACK)
		n = snprintf(out, cap, "%s/data/%.2s", b->location, name);
	else
		n = snprintf(out, cap, "%s/%s", b->location, type_dirs[t]);
	return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static int obj_path(struct mv_backend *b, enum mv_ftype t, const char *name, char *out, size_t cap,
                    struct mv_error *err)
{
	char dir[PATH_MAX];
	if (t == MV_FT_CONFIG)
		name = "config";
	else if (!valid_name(name) || (t == MV_FT_PACK && strlen(name) < 2))
		return mv_error_set(err, MV_ERR_USAGE, 0, "invalid object name '%s'", name);
	if (dir_path(b, t, name, dir, sizeof(dir)) < 0)
		return mv_error_set(err, MV_ERR_USAGE, 0, "path too long");
	int n = snprintf(out, cap, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= cap)
		return mv_error_set(err, MV_ERR_USAGE, 0, "path too long");
	return 0;
}

/* Makes dir (mode 0700) and, up to levels-1, its missing parents; each new
 * directory is made durable by an fsync of its parent. */
static int make_dir(const char *dir, int levels)
{
	char parent[PATH_MAX];
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		goto made;
	if (errno != ENOENT || levels <= 1)
		return -1;
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -1;
	*slash = '\0';
	if (make_dir(parent, levels - 1) < 0)
		return -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
made:
	snprintf(parent, sizeof(parent), "%s", dir);
	char *s = strrchr(parent, '/');
	if (s && s != parent) {
		*s = '\0';
		(void)mv_fsync_dir(parent);
	}
	return 0;
}

/* The contract's error classes (backend.h): a full disk keeps its own
 * code, a busy resource or a timeout may pass, the rest is permanent. */
static int io_error(struct mv_error *err, int e, const char *what, const char *path)
{
	int code = MV_ERR_IO;
	if (e == ENOSPC || e == EDQUOT)
		code = MV_ERR_NOSPC;
	else if (e == EAGAIN || e == ETIMEDOUT)
		code = MV_ERR_TRANSIENT;
	return mv_error_set(err, code, e, "cannot %s '%s'", what, path);
}

static int local_put(struct mv_backend *b, enum mv_ftype t, const char *name, const void *data,
                     size_t len, int excl, struct mv_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	int rc = mv_backend_cancelled(b, err);
	if (rc == 0)
		rc = obj_path(b, t, name, path, sizeof(path), err);
	if (rc)
		return rc;
	if (dir_path(b, t, name, dir, sizeof(dir)) < 0)
		return mv_error_set(err, MV_ERR_USAGE, 0, "path too long");
	if (excl && access(path, F_OK) == 0)
		return mv_error_set(err, MV_ERR_EXISTS, 0, "'%s' exists already", path);

	uint8_t rnd[8];
	char rhex[17];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(rhex, sizeof(rhex), rnd, sizeof(rnd));
	int n = snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, rhex);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return mv_error_set(err, MV_ERR_USAGE, 0, "path too long");

	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && t != MV_FT_CONFIG) {
		/* data/xx is made on first use; a type directory may be
		 * missing too (not every copy tool keeps empty directories) */
		if (make_dir(dir, t == MV_FT_PACK ? 2 : 1) < 0)
			return io_error(err, errno, "create directory", dir);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return io_error(err, errno, "create", tmp);
	if (mv_write_all(fd, data, len) < 0) {
		rc = io_error(err, errno, "write", tmp);
		goto fail;
	}
	if (fsync(fd) < 0) {
		rc = io_error(err, errno, "fsync", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = io_error(err, errno, "close", tmp);
		goto fail;
	}
	fd = -1;
	if (excl) {
		/* link() fails if the name exists: no silent replacement. */
		if (link(tmp, path) < 0) {
			int e = errno;
			rc = e == EEXIST
			         ? mv_error_set(err, MV_ERR_EXISTS, 0, "'%s' exists already", path)
			         : io_error(err, e, "link", path);
			goto fail;
		}
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		rc = io_error(err, errno, "rename", path);
		goto fail;
	}
	if (mv_fsync_dir(dir) < 0)
		return io_error(err, errno, "fsync directory", dir);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* What a file that is not a regular one is, for messages. */
static const char *file_kind(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISFIFO(m))
		return "a fifo";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/* Every repository file is a regular file written by medvault: anything
 * else in its place (a fifo that would block every read, a symbolic link
 * to a file elsewhere, a device) is damage or tampering, never followed
 * nor read (docs/SECURITY.md). */
static int not_regular(struct mv_error *err, const char *path, mode_t m)
{
	return mv_error_set(err, MV_ERR_INTEGRITY, 0,
	                    "'%s' is %s, not a regular file: the repository is damaged or was "
	                    "tampered with",
	                    path, file_kind(m));
}

/* Opens a repository file for reading without following a symbolic link
 * and without blocking on a fifo, and refuses anything but a regular
 * file. Returns the descriptor (>= 0) or a negative error code. */
static int open_regular(const char *path, struct mv_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return mv_error_set(err, MV_ERR_NOTFOUND, 0, "'%s' does not exist", path);
		/* ELOOP: a symbolic link; ENXIO: a socket */
		if ((e == ELOOP || e == ENXIO) && lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
			return not_regular(err, path, st.st_mode);
		return io_error(err, e, "open", path);
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return io_error(err, e, "stat", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return not_regular(err, path, st.st_mode);
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		return io_error(err, e, "open", path);
	}
	return fd;
}

static int local_get(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t off,
                     void *buf, size_t len, struct mv_error *err)
{
	char path[PATH_MAX];
	int rc = mv_backend_cancelled(b, err);
	if (rc == 0)
		rc = obj_path(b, t, name, path, sizeof(path), err);
	if (rc)
		return rc;
	int fd = open_regular(path, err);
	if (fd < 0)
		return fd;
	uint8_t *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, p + done, len - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = io_error(err, errno, "read", path);
			break;
		}
		if (r == 0) {
			rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "'%s' is truncated", path);
			break;
		}
		done += (size_t)r;
	}
	close(fd);
	return rc;
}

static int local_size(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t *size,
                      struct mv_error *err)
{
	char path[PATH_MAX];
	struct stat st;
	int rc = obj_path(b, t, name, path, sizeof(path), err);
	if (rc)
		return rc;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return mv_error_set(err, MV_ERR_NOTFOUND, 0, "'%s' does not exist", path);
		return io_error(err, errno, "stat", path);
	}
	if (!S_ISREG(st.st_mode))
		return not_regular(err, path, st.st_mode);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int list_dir(const char *dir, int (*cb)(void *, const char *, uint64_t), void *arg,
                    struct mv_error *err)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return io_error(err, errno, "open directory", dir);
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* removed meanwhile */
		/* an entry that is not a regular file is listed with size 0 and
		 * never opened: get and size refuse it, naming it */
		rc = cb(arg, de->d_name, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

static int local_list(struct mv_backend *b, enum mv_ftype t,
                      int (*cb)(void *arg, const char *name, uint64_t size), void *arg,
                      struct mv_error *err)
{
	char dir[PATH_MAX];
	int rc = mv_backend_cancelled(b, err);
	if (rc)
		return rc;
	int n = snprintf(dir, sizeof(dir), "%s/%s", b->location, type_dirs[t]);
	if (t == MV_FT_CONFIG || n < 0 || (size_t)n >= sizeof(dir))
		return mv_error_set(err, MV_ERR_USAGE, 0, "cannot list this type");
	if (t != MV_FT_PACK)
		return list_dir(dir, cb, arg, err);
	for (int i = 0; i < 256; i++) {
		char sub[PATH_MAX];
		n = snprintf(sub, sizeof(sub), "%s/%02x", dir, i);
		if (n < 0 || (size_t)n >= sizeof(sub))
			return mv_error_set(err, MV_ERR_USAGE, 0, "path too long");
		rc = list_dir(sub, cb, arg, err);
		if (rc == 0)
			rc = mv_backend_cancelled(b, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int local_remove(struct mv_backend *b, enum mv_ftype t, const char *name,
                        struct mv_error *err)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int rc = obj_path(b, t, name, path, sizeof(path), err);
	if (rc)
		return rc;
	if (unlink(path) < 0 && errno != ENOENT)
		return io_error(err, errno, "remove", path);
	if (dir_path(b, t, name, dir, sizeof(dir)) == 0)
		(void)mv_fsync_dir(dir);
	return 0;
}

static int local_create(struct mv_backend *b, struct mv_error *err)
{
	char path[PATH_MAX];
	if (make_dir(b->location, 1) < 0)
		return io_error(err, errno, "create directory", b->location);
	int n = snprintf(path, sizeof(path), "%s/config", b->location);
	if (n < 0 || (size_t)n >= sizeof(path))
		return mv_error_set(err, MV_ERR_USAGE, 0, "path too long");
	if (access(path, F_OK) == 0)
		return mv_error_set(err, MV_ERR_EXISTS, 0, "a repository exists already at '%s'",
		                    b->location);
	for (size_t t = MV_FT_KEY; t <= MV_FT_LOCK; t++) {
		n = snprintf(path, sizeof(path), "%s/%s", b->location, type_dirs[t]);
		if (n < 0 || (size_t)n >= sizeof(path))
			return mv_error_set(err, MV_ERR_USAGE, 0, "path too long");
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return io_error(err, errno, "create directory", path);
	}
	if (mv_fsync_dir(b->location) < 0)
		return io_error(err, errno, "fsync directory", b->location);
	return 0;
}

static void local_close(struct mv_backend *b)
{
	free(b->location);
	free(b);
}

static const struct mv_backend_ops local_ops = {
    .put = local_put,
    .get = local_get,
    .size = local_size,
    .list = local_list,
    .remove = local_remove,
    .create = local_create,
    .close = local_close,
};

int mv_backend_local_open(const char *path, struct mv_backend **out, struct mv_error *err)
{
	*out = NULL;
	struct local *l = calloc(1, sizeof(*l));
	if (!l)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	l->b.location = strndup(path, n);
	if (!l->b.location) {
		free(l);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	l->b.ops = &local_ops;
	/* a disk serves parallel reads well (restore's 64 threads); the
	 * packer's uploads are fsync-bound */
	l->b.props = (struct mv_backend_props){.connections = 64, .uploads = 4, .local = 1};
	*out = &l->b;
	return 0;
}
