/* The repository handle's fields: private to core/repo. No file outside
 * core/repo includes this header (scripts/check-opaque enforces it). */
#ifndef MV_REPO_IMPL_H
#define MV_REPO_IMPL_H

#include <pthread.h>
#include <signal.h>

#include "core/repo/repo.h"

struct mv_repo {
	struct mv_backend *be;
	struct mv_config_fields cfg;
	uint8_t cfg_raw[MV_CONFIG_MAX]; /* the config file's bytes, for its MAC */
	size_t cfg_len;
	struct mv_keys *keys; /* NULL until unlocked */
	uint8_t *master;      /* the master key (sodium memory) once unlocked: for new key slots */
	struct mv_index *index;
	struct mv_chunker *chunker;
	int slot_kind;          /* kind of the slot that opened it */
	char slot_name[65];     /* its file name in keys/ */
	int slots_skipped;      /* slots not tried: beyond the Argon2id caps, or the work cap */
	char skip_msg[512];     /* why the first of them was skipped, naming it */
	uint64_t unlock_budget; /* Argon2id work one unlock may spend (MV_UNLOCK_MAX_WORK) */
	/* config claims a newer version or an unknown incompatible feature:
	 * mv_repo_unlock tells a newer repository (MAC valid) from a damaged
	 * config; the fields after the header are not decoded */
	int cfg_newer;
	/* When non-zero, mv_repo_load_index keeps only the blobs whose type t
	 * has bit (1 << t) set: find needs catalog blobs only, ls and scan
	 * trees only (less memory and time on large repositories). */
	uint32_t index_types;
	/* Set (to &index_lock) while the index is shared between threads
	 * (mv_repo_index_share): every use of the index takes it. */
	pthread_mutex_t *index_mu;
	pthread_mutex_t index_lock;
	struct mv_blob_ctx *ctx; /* for the calling thread's object reads */
	/* packs found by mv_repo_load_index that no index names (their blobs
	 * read from their headers, orphan_blobs[i] of them); the next index
	 * written must name them */
	uint32_t *orphans;
	uint32_t *orphan_blobs;
	size_t norphans;
	struct mv_lock *lock; /* the lock held (core/repo/lock.c), or NULL */
	/* mv_lock_set_retry: how long to wait for a conflicting lock */
	int64_t lock_retry_ns;
	volatile sig_atomic_t *lock_cancel;
	void (*lock_waiting)(void *arg, const char *msg);
	void *lock_waiting_arg;
};

/* Take and drop the index's lock while it is shared (core/repo/index.h). */
static inline void mv_repo_index_lock(struct mv_repo *r)
{
	if (r->index_mu)
		pthread_mutex_lock(r->index_mu);
}

static inline void mv_repo_index_unlock(struct mv_repo *r)
{
	if (r->index_mu)
		pthread_mutex_unlock(r->index_mu);
}

#endif
