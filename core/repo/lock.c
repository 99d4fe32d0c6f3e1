/* Locks: an encrypted file in locks/ per holder, refreshed every 5 minutes
 * by a background thread (FORMAT.md section 10). */
#include "core/repo/lock.h"
#include "core/repo/repo_impl.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct mv_lock {
	struct mv_repo *r;
	struct mv_lock_info info;
	char name[65];
	pthread_t th;
	int running;
	int stop;
	int refresh_s, lost_s; /* MV_LOCK_REFRESH_SECONDS, MV_LOCK_LOST_SECONDS */
	int64_t last_ok_ns;    /* last time the lock file was written */
	int lost;              /* not rewritten for lost_s: others may call it stale */
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void this_host(char host[256])
{
	if (gethostname(host, 256) < 0)
		snprintf(host, 256, "unknown");
	host[255] = '\0';
}

static int is_stale(const struct mv_lock_info *l)
{
	char host[256];
	int64_t age = realtime_ns() - l->time_ns;
	if (age > (int64_t)MV_LOCK_STALE_SECONDS * 1000000000LL)
		return 1;
	this_host(host);
	if (!strcmp(host, l->host) && kill((pid_t)l->pid, 0) < 0 && errno == ESRCH)
		return 1;
	return 0;
}

struct scan {
	struct mv_repo *r;
	const char *self; /* our own lock name, skipped */
	int exclusive;    /* what we want */
	int remove_stale;
	size_t removed;
	int conflict;
	struct mv_lock_info holder;
	struct mv_error *err;
};

static int scan_lock(void *arg, const char *name, uint64_t size)
{
	struct scan *s = arg;
	uint8_t *p;
	size_t len;
	struct mv_lock_info l;
	struct mv_error e = {0};
	(void)size;
	if (s->self && !strcmp(name, s->self))
		return 0;
	if (mv_repo_load_object(s->r, MV_FT_LOCK, MV_T_LOCK, name, &p, &len, &e))
		return 0; /* unreadable: removed or damaged; not ours to judge */
	int rc = mv_lock_decode(p, len, &l);
	free(p);
	if (rc)
		return 0;
	if (is_stale(&l)) {
		if (s->remove_stale && s->r->be->ops->remove(s->r->be, MV_FT_LOCK, name, &e) == 0)
			s->removed++;
		return 0;
	}
	if (s->exclusive || l.exclusive) {
		s->conflict = 1;
		s->holder = l;
	}
	return 0;
}

static int write_lock(struct mv_lock *l, struct mv_error *err)
{
	struct mv_wbuf w;
	uint8_t id[32];
	mv_wbuf_init(&w, 4096);
	l->info.time_ns = realtime_ns();
	mv_lock_encode(&l->info, &w);
	int rc =
	    w.failed
	        ? mv_error_set(err, w.failed, 0, "cannot encode lock: %s", mv_strerror(w.failed))
	        : mv_repo_save_object(l->r, MV_FT_LOCK, MV_T_LOCK, w.data, w.len, id, err);
	mv_wbuf_release(&w);
	if (rc == 0)
		mv_hex(id, 32, l->name);
	return rc;
}

static int locked_error(struct scan *s, struct mv_error *err)
{
	int64_t age = (realtime_ns() - s->holder.time_ns) / 1000000000LL;
	return mv_error_set(
	    err, MV_ERR_LOCKED, 0,
	    "repository is locked %s by pid %u on host '%s' (refreshed %lld s ago); "
	    "if that process is gone, wait for the lock to become stale or run "
	    "'medvault unlock'",
	    s->holder.exclusive ? "exclusively" : "", s->holder.pid, s->holder.host,
	    (long long)age);
}

/* The refresher uses its own blob context: the repository's one belongs to
 * the caller's thread. A failed rewrite is retried sooner; when the lock has
 * not been rewritten for lost_s seconds it is marked lost (mv_lock_check). */
static void *refresher(void *arg)
{
	struct mv_lock *l = arg;
	int failing = 0;
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += failing && l->refresh_s > 30 ? 30 : l->refresh_s;
		pthread_cond_timedwait(&l->cv, &l->mu, &dl);
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->mu);
		failing = 1;
		struct mv_wbuf w;
		uint8_t id[32];
		const uint8_t *sealed;
		size_t slen;
		struct mv_error e = {0};
		char old[65], name[65];
		struct mv_blob_ctx *ctx = mv_blob_ctx_new(3);
		mv_wbuf_init(&w, 4096);
		l->info.time_ns = realtime_ns();
		mv_lock_encode(&l->info, &w);
		if (ctx && !w.failed &&
		    mv_blob_encode(ctx, l->r->keys, MV_T_LOCK, NULL, w.data, w.len, &sealed, &slen,
		                   &e) == 0) {
			mv_file_hash(sealed, slen, id);
			mv_hex(id, 32, name);
			if (l->r->be->ops->put(l->r->be, MV_FT_LOCK, name, sealed, slen, 0, &e) ==
			    0) {
				memcpy(old, l->name, sizeof(old));
				pthread_mutex_lock(&l->mu);
				memcpy(l->name, name, sizeof(name));
				l->last_ok_ns = l->info.time_ns;
				pthread_mutex_unlock(&l->mu);
				(void)l->r->be->ops->remove(l->r->be, MV_FT_LOCK, old, &e);
				failing = 0;
			}
		}
		mv_wbuf_release(&w);
		mv_blob_ctx_free(ctx);
		pthread_mutex_lock(&l->mu);
		if (realtime_ns() - l->last_ok_ns > (int64_t)l->lost_s * 1000000000LL)
			l->lost = 1;
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* Whether a failed lock write says the repository cannot be written to
 * (rather than a fault of the data or of the medium). */
static int unwritable(int rc, const struct mv_error *e)
{
	if (rc == MV_ERR_NOSPC)
		return 1;
	return rc == MV_ERR_IO &&
	       (e->saved_errno == EROFS || e->saved_errno == EACCES || e->saved_errno == EPERM ||
	        e->saved_errno == ENOSPC || e->saved_errno == EDQUOT);
}

static int acquire(struct mv_repo *r, int exclusive, int reader, struct mv_lock **out,
                   struct mv_error *err)
{
	*out = NULL;
	struct scan s = {.r = r, .exclusive = exclusive, .err = err};
	int rc = mv_backend_list_then(r->be, MV_FT_LOCK, scan_lock, &s, err);
	if (rc)
		return rc;
	if (s.conflict)
		return locked_error(&s, err);
	struct mv_lock *l = calloc(1, sizeof(*l));
	if (!l)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	l->r = r;
	l->info.pid = (uint32_t)getpid();
	l->info.exclusive = exclusive ? 1 : 0;
	l->refresh_s = MV_LOCK_REFRESH_SECONDS;
	l->lost_s = MV_LOCK_LOST_SECONDS;
	this_host(l->info.host);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	rc = write_lock(l, err);
	if (rc && reader && unwritable(rc, err))
		rc = 0; /* *out stays NULL; err says why */
	if (rc || !l->name[0])
		goto fail;
	/* Someone may have locked between our scan and our write: look again. */
	s.self = l->name;
	s.conflict = 0;
	rc = mv_backend_list_then(r->be, MV_FT_LOCK, scan_lock, &s, err);
	if (!rc && s.conflict)
		rc = locked_error(&s, err);
	if (rc) {
		(void)r->be->ops->remove(r->be, MV_FT_LOCK, l->name, NULL);
		goto fail;
	}
	l->last_ok_ns = l->info.time_ns;
	if (pthread_create(&l->th, NULL, refresher, l) == 0)
		l->running = 1;
	r->lock = l;
	*out = l;
	return 0;
fail:
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
	return rc;
}

int mv_lock_acquire(struct mv_repo *r, int exclusive, struct mv_lock **out, struct mv_error *err)
{
	return acquire(r, exclusive, 0, out, err);
}

int mv_lock_acquire_reader(struct mv_repo *r, int exclusive, struct mv_lock **out,
                           struct mv_error *err)
{
	if (err)
		mv_error_clear(err);
	return acquire(r, exclusive, 1, out, err);
}

void mv_lock_release(struct mv_lock *l)
{
	if (!l)
		return;
	if (l->running) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->th, NULL);
	}
	(void)l->r->be->ops->remove(l->r->be, MV_FT_LOCK, l->name, NULL);
	if (l->r->lock == l)
		l->r->lock = NULL;
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int mv_lock_check(struct mv_lock *l, struct mv_error *err)
{
	if (!l)
		return 0;
	pthread_mutex_lock(&l->mu);
	int64_t age = (realtime_ns() - l->last_ok_ns) / 1000000000LL;
	/* worked out here too: a refresher stuck in a write (or never
	 * started) cannot mark the lock lost itself */
	int lost = l->lost || age > l->lost_s;
	pthread_mutex_unlock(&l->mu);
	if (!lost)
		return 0;
	return mv_error_set(err, MV_ERR_LOCKED, 0,
	                    "the repository lock could not be refreshed for %lld s (is the "
	                    "repository still writable?); stopping, since another process may "
	                    "now take it for stale",
	                    (long long)age);
}

void mv_lock_set_timing(struct mv_lock *l, int refresh_s, int lost_s)
{
	pthread_mutex_lock(&l->mu);
	l->refresh_s = refresh_s;
	l->lost_s = lost_s;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

int mv_lock_remove_stale(struct mv_repo *r, size_t *removed, struct mv_error *err)
{
	struct scan s = {.r = r, .remove_stale = 1, .err = err};
	int rc = mv_backend_list_then(r->be, MV_FT_LOCK, scan_lock, &s, err);
	*removed = s.removed;
	return rc;
}
