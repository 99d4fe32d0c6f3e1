/* Storage backends behind one small interface that fits an object store:
 * put a whole immutable object, get a byte range, list, delete. */
#ifndef MV_BACKEND_H
#define MV_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/err.h"

enum mv_ftype {
	MV_FT_CONFIG,
	MV_FT_KEY,
	MV_FT_PACK,
	MV_FT_INDEX,
	MV_FT_SNAPSHOT,
	MV_FT_LOCK,
	MV_FT_KEYLIST, /* made on first use; older repositories have none */
};

struct mv_backend;

struct mv_backend_ops {
	/* Stores an object atomically (all or nothing, durable on return).
	 * MV_ERR_EXISTS if `excl` and it exists. */
	int (*put)(struct mv_backend *b, enum mv_ftype t, const char *name, const void *data,
	           size_t len, int excl, struct mv_error *err);
	/* Reads len bytes at off into buf (exact; short object is
	 * MV_ERR_INTEGRITY; missing is MV_ERR_NOTFOUND). */
	int (*get)(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t off, void *buf,
	           size_t len, struct mv_error *err);
	/* Size of an object, MV_ERR_NOTFOUND if missing. */
	int (*size)(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t *size,
	            struct mv_error *err);
	/* Calls cb for each object name of type t (not CONFIG); cb non-zero stops
	 * and is returned. Temporary names are skipped. */
	int (*list)(struct mv_backend *b, enum mv_ftype t,
	            int (*cb)(void *arg, const char *name, uint64_t size), void *arg,
	            struct mv_error *err);
	/* Deletes; a missing object is not an error. */
	int (*remove)(struct mv_backend *b, enum mv_ftype t, const char *name,
	              struct mv_error *err);
	/* Creates the repository's directories; MV_ERR_EXISTS if a config exists. */
	int (*create)(struct mv_backend *b, struct mv_error *err);
	void (*close)(struct mv_backend *b);
};

struct mv_backend {
	const struct mv_backend_ops *ops;
	char *location;
};

/* Opens the backend for a location (a path for now). Does not check that a
 * repository exists. Returns 0, MV_ERR_USAGE (unsupported scheme) or NOMEM. */
int mv_backend_open(const char *location, struct mv_backend **out,
                    struct mv_error *err) MV_MUST_CHECK;
void mv_backend_close(struct mv_backend *b); /* accepts NULL */

/* Reads a whole object into a malloc'd buffer, refusing objects larger than
 * max (MV_ERR_LIMIT). */
int mv_backend_get_all(struct mv_backend *b, enum mv_ftype t, const char *name, size_t max,
                       uint8_t **out, size_t *out_len, struct mv_error *err) MV_MUST_CHECK;

/* The local filesystem backend. */
int mv_backend_local_open(const char *path, struct mv_backend **out,
                          struct mv_error *err) MV_MUST_CHECK;

#endif
