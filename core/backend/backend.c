/* Helpers every caller of a backend shares: whole-object reads, listings
 * collected before the caller reads, cancellation. */
#include "core/backend/backend.h"

#include <stdlib.h>
#include <string.h>

#include "core/util/grow.h"

void mv_backend_close(struct mv_backend *b)
{
	if (b)
		b->ops->close(b);
}

void mv_backend_set_cancel(struct mv_backend *b, volatile sig_atomic_t *cancel)
{
	for (; b; b = b->under)
		b->cancel = cancel;
}

int mv_backend_cancelled(const struct mv_backend *b, struct mv_error *err)
{
	if (b->cancel && *b->cancel)
		return mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
	return 0;
}

/* Reads the first size bytes of an object, refusing more than max. */
static int read_whole(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t size,
                      size_t max, uint8_t **out, size_t *out_len, struct mv_error *err)
{
	if (size > max)
		return mv_error_set(err, MV_ERR_LIMIT, 0, "'%s' is too large (%llu bytes)", name,
		                    (unsigned long long)size);
	uint8_t *buf = malloc(size ? (size_t)size : 1);
	if (!buf)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	int rc = b->ops->get(b, t, name, 0, buf, (size_t)size, err);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = (size_t)size;
	return 0;
}

int mv_backend_get_all(struct mv_backend *b, enum mv_ftype t, const char *name, size_t max,
                       uint8_t **out, size_t *out_len, struct mv_error *err)
{
	*out = NULL;
	*out_len = 0;
	uint64_t size;
	int rc = b->ops->size(b, t, name, &size, err);
	if (rc)
		return rc;
	return read_whole(b, t, name, size, max, out, out_len, err);
}

int mv_backend_get_sized(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t size,
                         size_t max, uint8_t **out, size_t *out_len, struct mv_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (size == 0) /* maybe not a regular object: size() names it */
		return mv_backend_get_all(b, t, name, max, out, out_len, err);
	return read_whole(b, t, name, size, max, out, out_len, err);
}

struct collect {
	struct mv_backend_entry *e;
	size_t n, cap;
};

static int collect_entry(void *arg, const char *name, uint64_t size)
{
	struct collect *c = arg;
	size_t len = strlen(name);
	if (len >= sizeof(c->e->name))
		return 0;
	if (mv_grow(c->e, c->cap, c->n + 1))
		return MV_ERR_NOMEM;
	memcpy(c->e[c->n].name, name, len + 1);
	c->e[c->n++].size = size;
	return 0;
}

int mv_backend_list_all(struct mv_backend *b, enum mv_ftype t, struct mv_backend_entry **out,
                        size_t *n, struct mv_error *err)
{
	struct collect c = {0};
	*out = NULL;
	*n = 0;
	int rc = b->ops->list(b, t, collect_entry, &c, err);
	if (rc == MV_ERR_NOMEM)
		rc = mv_error_set(err, rc, 0, "out of memory");
	if (rc) {
		free(c.e);
		return rc;
	}
	*out = c.e;
	*n = c.n;
	return 0;
}

int mv_backend_list_then(struct mv_backend *b, enum mv_ftype t,
                         int (*cb)(void *arg, const char *name, uint64_t size), void *arg,
                         struct mv_error *err)
{
	struct mv_backend_entry *e;
	size_t n;
	int rc = mv_backend_list_all(b, t, &e, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = cb(arg, e[i].name, e[i].size);
	free(e);
	return rc;
}
