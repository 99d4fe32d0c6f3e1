/* Storage backends behind one small interface that fits an object store:
 * put a whole immutable object, get a byte range, list, delete.
 *
 * The contract every backend keeps (tests/unit/test_backend_suite.c checks
 * it on each one):
 *
 * Threads. put, get, size and remove may be called from many threads at
 *   once on the same backend (restore calls get from up to 64 threads, the
 *   packer has several puts in flight); list and create from one thread at
 *   a time. close is called once, when no other call runs.
 *
 * Listing. list calls cb for each object of a type with its size as the
 *   listing saw it: callers take sizes from the listing and do not ask
 *   size() again. cb must NOT call the backend (a remote listing is a
 *   stream that holds a connection): collect first (mv_backend_list_all),
 *   then read. An entry that is not a regular object is listed with size 0
 *   and refused, naming it, by get and size.
 *
 * Errors. Each call returns 0 or one class of error:
 *   - MV_ERR_NOTFOUND: the object does not exist (get, size);
 *   - MV_ERR_TRANSIENT: a retry may help (EAGAIN, a timeout, a 5xx or a
 *     dropped connection); only these are retried (core/backend/retry.c);
 *   - permanent: MV_ERR_IO (EIO, EACCES, ...), MV_ERR_NOSPC (ENOSPC,
 *     EDQUOT), MV_ERR_EXISTS (exclusive put), MV_ERR_USAGE (a bad name);
 *   - MV_ERR_INTEGRITY: the store answered, but with the wrong bytes: a
 *     short object, something that is not a regular object;
 *   - MV_ERR_INTERRUPTED: the cancel flag was set (below);
 *   - MV_ERR_NOMEM.
 *   err gets a message naming the object, and the errno when there is one.
 *
 * Cancellation. b->cancel (mv_backend_set_cancel), when not NULL, is
 *   polled before each call and while waiting (retries, slow transfers):
 *   once set, calls return MV_ERR_INTERRUPTED.
 *
 * Properties. b->props says how many requests the backend serves at once
 *   with profit, how many uploads it can have in flight, and whether it is
 *   on this machine (no cache layer, requests cost little). */
#ifndef MV_BACKEND_H
#define MV_BACKEND_H

#include <signal.h>
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
	MV_FT_WIPE,    /* wipe records (FORMAT.md 14); made on first use too */
};
#define MV_FT_COUNT 8

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
	/* Calls cb for each object name of type t (not CONFIG) with its size;
	 * cb non-zero stops and is returned. Temporary names are skipped. cb
	 * must not call the backend. */
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

struct mv_backend_props {
	unsigned connections; /* get/size/remove calls served at once with profit */
	unsigned uploads;     /* puts that may be in flight at once */
	int local;            /* on this machine: no cache layer */
};

struct mv_backend {
	const struct mv_backend_ops *ops;
	char *location;
	struct mv_backend_props props;
	volatile sig_atomic_t *cancel; /* polled; NULL: never cancelled */
	struct mv_backend *under;      /* the backend a layer wraps, or NULL */
};

/* Options of mv_backend_open_opts. */
struct mv_backend_open_opts {
	/* A directory for the cache layer (made when missing); NULL: none.
	 * Never stacked on a local backend. */
	const char *cache_dir;
	/* 0: the retry layer's defaults (core/backend/retry.h). */
	unsigned retry_attempts;
};

/* Opens the stack for a location through the registry (registry.c): the
 * transport its scheme names ("/path", "relative/path" or "local:/path":
 * the local disk; "sftp:" and "s3:" are refused as not supported yet;
 * schemes registered with mv_backend_register), under a retry layer, under
 * a cache layer when opts->cache_dir is set and the transport is not
 * local. Does not check that a repository exists. Returns 0, MV_ERR_USAGE
 * (unsupported scheme, empty location) or MV_ERR_NOMEM. opts may be NULL. */
int mv_backend_open_opts(const char *location, const struct mv_backend_open_opts *opts,
                         struct mv_backend **out, struct mv_error *err) MV_MUST_CHECK;
int mv_backend_open(const char *location, struct mv_backend **out,
                    struct mv_error *err) MV_MUST_CHECK;
void mv_backend_close(struct mv_backend *b); /* accepts NULL */

/* A transport's constructor: `rest` is the location after "scheme:". */
typedef int (*mv_backend_ctor)(void *arg, const char *rest, struct mv_backend **out,
                               struct mv_error *err);

/* Registers a scheme ("mem", without the colon) for mv_backend_open; a
 * second registration of the same scheme replaces the first. For tests and
 * programs embedding the engine; the built-in schemes cannot be replaced.
 * Returns 0, MV_ERR_USAGE (bad or built-in scheme) or MV_ERR_LIMIT (table
 * full). */
int mv_backend_register(const char *scheme, mv_backend_ctor ctor, void *arg) MV_MUST_CHECK;
void mv_backend_unregister(const char *scheme);

/* Sets the cancel flag of b and of every layer under it. */
void mv_backend_set_cancel(struct mv_backend *b, volatile sig_atomic_t *cancel);

/* MV_ERR_INTERRUPTED (with a message) when b's cancel flag is set, else 0. */
int mv_backend_cancelled(const struct mv_backend *b, struct mv_error *err);

/* Error classes of the contract above. */
static inline int mv_backend_err_transient(int code)
{
	return code == MV_ERR_TRANSIENT;
}

/* Reads a whole object into a malloc'd buffer, refusing objects larger than
 * max (MV_ERR_LIMIT). Costs a size() and a get(). */
int mv_backend_get_all(struct mv_backend *b, enum mv_ftype t, const char *name, size_t max,
                       uint8_t **out, size_t *out_len, struct mv_error *err) MV_MUST_CHECK;

/* The same for an object whose size a listing gave: one get(). A size of 0
 * (what a listing gives for an entry that is not a regular object) falls
 * back to mv_backend_get_all, which names what it is. */
int mv_backend_get_sized(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t size,
                         size_t max, uint8_t **out, size_t *out_len,
                         struct mv_error *err) MV_MUST_CHECK;

/* One listed object. */
struct mv_backend_entry {
	char name[129];
	uint64_t size;
};

/* Lists every object of type t into a malloc'd array (free() it), so that
 * the caller may then call the backend for each. Names longer than 128
 * bytes are left out (no backend makes them). */
int mv_backend_list_all(struct mv_backend *b, enum mv_ftype t, struct mv_backend_entry **out,
                        size_t *n, struct mv_error *err) MV_MUST_CHECK;

/* Calls cb for every object of type t after the listing is complete (cb may
 * call the backend). cb non-zero stops and is returned. */
int mv_backend_list_then(struct mv_backend *b, enum mv_ftype t,
                         int (*cb)(void *arg, const char *name, uint64_t size), void *arg,
                         struct mv_error *err) MV_MUST_CHECK;

/* The local filesystem backend. */
int mv_backend_local_open(const char *path, struct mv_backend **out,
                          struct mv_error *err) MV_MUST_CHECK;

#endif
