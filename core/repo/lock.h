/* Repository locks (FORMAT.md section 10). */
#ifndef MV_LOCK_H
#define MV_LOCK_H

#include <signal.h>

#include "core/repo/repo.h"

struct mv_lock;

#define MV_LOCK_STALE_SECONDS   (30 * 60)
#define MV_LOCK_REFRESH_SECONDS (5 * 60)
/* A holder whose lock file could not be rewritten for this long stops
 * writing: others will soon take the lock for stale. */
#define MV_LOCK_LOST_SECONDS (MV_LOCK_STALE_SECONDS - MV_LOCK_REFRESH_SECONDS)

/* Takes a shared (exclusive = 0) or exclusive lock. Fails with MV_ERR_LOCKED
 * (message names holder host, pid and age) when a conflicting non-stale lock
 * exists. The lock is refreshed by a background thread until released;
 * mv_repo_lock(r) returns it meanwhile. */
int mv_lock_acquire(struct mv_repo *r, int exclusive, struct mv_lock **out,
                    struct mv_error *err) MV_MUST_CHECK;
/* For commands that only read (restore, dump, check, ls, find, impact,
 * scan): as mv_lock_acquire, but when the lock file cannot be written
 * because the repository cannot be written to (a read-only file system, no
 * space left, no permission), returns 0 with *out = NULL and the reason in
 * err->msg, so that the caller can go on without a lock. A conflicting lock
 * still fails (MV_ERR_LOCKED). */
int mv_lock_acquire_reader(struct mv_repo *r, int exclusive, struct mv_lock **out,
                           struct mv_error *err) MV_MUST_CHECK;
/* Releases and frees; accepts NULL. */
void mv_lock_release(struct mv_lock *l);

/* 0 while the lock holds (or l is NULL); MV_ERR_LOCKED once its refreshes
 * have failed for MV_LOCK_LOST_SECONDS. Writers call it before each
 * commit point (a snapshot). */
int mv_lock_check(struct mv_lock *l, struct mv_error *err) MV_MUST_CHECK;

/* Tests: shorter refresh and loss delays, in seconds. */
void mv_lock_set_timing(struct mv_lock *l, int refresh_s, int lost_s);

/* How long mv_lock_acquire(_reader) waits for a conflicting lock to go
 * (--retry-lock): it tries again after 1 s, then after doubling delays up to
 * 30 s, until wait_ns has passed (0: no waiting, the default). A set
 * *cancel stops the wait (MV_ERR_INTERRUPTED); cancel may be NULL. When it
 * starts to wait, waiting (may be NULL) gets a message saying who holds the
 * lock and for how long it waits. */
void mv_lock_set_retry(struct mv_repo *r, int64_t wait_ns, volatile sig_atomic_t *cancel,
                       void (*waiting)(void *arg, const char *msg), void *arg);

/* What mv_lock_remove_stale found. */
struct mv_lock_cleanup {
	size_t removed; /* stale locks removed */
	size_t damaged; /* lock files that cannot be read or authenticated: left */
	char damaged_name[65];
	char damaged_why[240];
};

/* Removes the stale locks of every host (FORMAT.md section 10) and counts,
 * without removing them, the damaged lock files. */
int mv_lock_remove_stale(struct mv_repo *r, struct mv_lock_cleanup *out,
                         struct mv_error *err) MV_MUST_CHECK;

#endif
