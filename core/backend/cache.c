/* The cache layer (cache.h). */
#include "core/backend/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/util/grow.h"

#define CACHED_MAX (64u << 20) /* larger objects are not kept */

struct cache {
	struct mv_backend b;
	struct mv_backend *in;
	char *dir;
	atomic_uint_fast64_t hits;
};

static const char *const cached_dirs[MV_FT_COUNT] = {
    [MV_FT_KEY] = "keys",        [MV_FT_INDEX] = "index", [MV_FT_SNAPSHOT] = "snapshots",
    [MV_FT_KEYLIST] = "keylist", [MV_FT_WIPE] = "wipes",
};

/* The cache file of an object, or -1 when the object is not cached (type,
 * or a name that is not a 64-digit hash). */
static int cache_path(struct cache *c, enum mv_ftype t, const char *name, char *out, size_t cap)
{
	if ((unsigned)t >= MV_FT_COUNT || !cached_dirs[t] || strlen(name) != 64)
		return -1;
	for (size_t i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", name[i]))
			return -1;
	int n = snprintf(out, cap, "%s/%s/%s", c->dir, cached_dirs[t], name);
	return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static int matches_name(const uint8_t *p, size_t len, const char *name)
{
	uint8_t h[32];
	char hex[65];
	crypto_generichash(h, sizeof(h), p, len, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return strcmp(hex, name) == 0;
}

/* Reads a cached object whole when it is there and matches its name; a
 * copy that does not is removed. Returns the buffer or NULL. */
static uint8_t *read_cached(const char *path, const char *name, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > CACHED_MAX)
		goto bad;
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return NULL;
	}
	size_t done = 0;
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + done, (size_t)st.st_size - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto bad;
		done += (size_t)r;
	}
	if (!matches_name(buf, done, name))
		goto bad;
	close(fd);
	*len = done;
	return buf;
bad:
	close(fd);
	free(buf);
	unlink(path);
	return NULL;
}

/* Keeps a verified copy (best effort: a cache that cannot be written is
 * only slower). */
static void store_cached(const char *path, const uint8_t *p, size_t len)
{
	char tmp[PATH_MAX + 32];
	uint8_t rnd[8];
	char rhex[17];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(rhex, sizeof(rhex), rnd, sizeof(rnd));
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, rhex);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (close(fd) < 0 || done != len || rename(tmp, path) < 0)
		unlink(tmp);
}

static int c_put(struct mv_backend *b, enum mv_ftype t, const char *name, const void *data,
                 size_t len, int excl, struct mv_error *err)
{
	struct cache *c = (struct cache *)b;
	char path[PATH_MAX];
	int rc = c->in->ops->put(c->in, t, name, data, len, excl, err);
	if (rc == 0 && len <= CACHED_MAX && cache_path(c, t, name, path, sizeof(path)) == 0 &&
	    matches_name(data, len, name))
		store_cached(path, data, len);
	return rc;
}

static int c_get(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t off, void *buf,
                 size_t len, struct mv_error *err)
{
	struct cache *c = (struct cache *)b;
	char path[PATH_MAX];
	if (cache_path(c, t, name, path, sizeof(path)) < 0)
		return c->in->ops->get(c->in, t, name, off, buf, len, err);
	int rc = mv_backend_cancelled(b, err);
	if (rc)
		return rc;
	size_t have;
	uint8_t *p = read_cached(path, name, &have);
	if (p) {
		atomic_fetch_add(&c->hits, 1);
		if (off > have || len > have - off)
			rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "'%s' is truncated", name);
		else if (len)
			memcpy(buf, p + off, len);
		free(p);
		return rc;
	}
	rc = c->in->ops->get(c->in, t, name, off, buf, len, err);
	/* a read of the whole object (its hash is its name) is kept */
	if (rc == 0 && off == 0 && len <= CACHED_MAX && matches_name(buf, len, name))
		store_cached(path, buf, len);
	return rc;
}

static int c_size(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t *size,
                  struct mv_error *err)
{
	struct cache *c = (struct cache *)b;
	char path[PATH_MAX];
	struct stat st;
	/* verified by the get that follows */
	if (cache_path(c, t, name, path, sizeof(path)) == 0 && lstat(path, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size > 0) {
		int rc = mv_backend_cancelled(b, err);
		if (rc == 0)
			*size = (uint64_t)st.st_size;
		return rc;
	}
	return c->in->ops->size(c->in, t, name, size, err);
}

struct seen {
	int (*cb)(void *arg, const char *name, uint64_t size);
	void *arg;
	struct mv_backend_entry *e;
	size_t n, cap;
	int nomem;
};

static int see_entry(void *arg, const char *name, uint64_t size)
{
	struct seen *s = arg;
	if (!s->nomem && strlen(name) < sizeof(s->e->name)) {
		if (mv_grow(s->e, s->cap, s->n + 1)) {
			s->nomem = 1;
		} else {
			memcpy(s->e[s->n].name, name, strlen(name) + 1);
			s->e[s->n++].size = size;
		}
	}
	return s->cb(s->arg, name, size);
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mv_backend_entry *)a)->name,
	              ((const struct mv_backend_entry *)b)->name);
}

/* Drops the cached copies of objects the listing lacks or lists with
 * another size. */
static void refresh(struct cache *c, enum mv_ftype t, struct seen *s)
{
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s/%s", c->dir, cached_dirs[t]);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	if (s->n) /* s->e is NULL when the listing was empty */
		qsort(s->e, s->n, sizeof(*s->e), entry_cmp);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		if (de->d_name[0] == '.' || nl >= sizeof(((struct mv_backend_entry *)0)->name))
			continue;
		struct mv_backend_entry key;
		struct stat st;
		memcpy(key.name, de->d_name, nl + 1);
		const struct mv_backend_entry *hit =
		    s->n ? bsearch(&key, s->e, s->n, sizeof(*s->e), entry_cmp) : NULL;
		if (hit && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (uint64_t)st.st_size == hit->size)
			continue;
		(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static int c_list(struct mv_backend *b, enum mv_ftype t,
                  int (*cb)(void *arg, const char *name, uint64_t size), void *arg,
                  struct mv_error *err)
{
	struct cache *c = (struct cache *)b;
	if ((unsigned)t >= MV_FT_COUNT || !cached_dirs[t])
		return c->in->ops->list(c->in, t, cb, arg, err);
	struct seen s = {.cb = cb, .arg = arg};
	int rc = c->in->ops->list(c->in, t, see_entry, &s, err);
	if (rc == 0 && !s.nomem)
		refresh(c, t, &s);
	free(s.e);
	return rc;
}

static int c_remove(struct mv_backend *b, enum mv_ftype t, const char *name, struct mv_error *err)
{
	struct cache *c = (struct cache *)b;
	char path[PATH_MAX];
	int rc = c->in->ops->remove(c->in, t, name, err);
	if (rc == 0 && cache_path(c, t, name, path, sizeof(path)) == 0)
		(void)unlink(path);
	return rc;
}

static int c_create(struct mv_backend *b, struct mv_error *err)
{
	struct cache *c = (struct cache *)b;
	return c->in->ops->create(c->in, err);
}

static void c_close(struct mv_backend *b)
{
	struct cache *c = (struct cache *)b;
	mv_backend_close(c->in);
	free(c->dir);
	free(c);
}

static const struct mv_backend_ops cache_ops = {
    .put = c_put,
    .get = c_get,
    .size = c_size,
    .list = c_list,
    .remove = c_remove,
    .create = c_create,
    .close = c_close,
};

static int make_dir(const char *path)
{
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int mv_backend_cache_wrap(struct mv_backend *inner, const char *dir, struct mv_backend **out,
                          struct mv_error *err)
{
	char path[PATH_MAX];
	*out = NULL;
	struct cache *c = calloc(1, sizeof(*c));
	if (!c || !(c->dir = strdup(dir))) {
		free(c);
		mv_backend_close(inner);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	c->in = inner;
	c->b.ops = &cache_ops;
	c->b.location = inner->location;
	c->b.props = inner->props;
	c->b.cancel = inner->cancel;
	c->b.under = inner;
	atomic_init(&c->hits, 0);
	char *slash = strrchr(c->dir, '/');
	if (slash && slash != c->dir) {
		*slash = '\0';
		(void)make_dir(c->dir);
		*slash = '/';
	}
	int rc = make_dir(c->dir) ? -1 : 0;
	for (size_t t = 0; rc == 0 && t < MV_FT_COUNT; t++) {
		if (!cached_dirs[t])
			continue;
		int n = snprintf(path, sizeof(path), "%s/%s", c->dir, cached_dirs[t]);
		if (n < 0 || (size_t)n >= sizeof(path) || make_dir(path))
			rc = -1;
	}
	if (rc) {
		rc = mv_error_set(err, MV_ERR_IO, errno, "cannot make the cache directory '%s'",
		                  dir);
		c_close(&c->b);
		return rc;
	}
	*out = &c->b;
	return 0;
}

uint64_t mv_backend_cache_hits(const struct mv_backend *b)
{
	struct cache *c = (struct cache *)(uintptr_t)b;
	return b->ops == &cache_ops ? atomic_load(&c->hits) : 0;
}
