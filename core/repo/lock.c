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

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void this_host(char host[256])
{
	if (gethostname(host, 256) < 0)
		snprintf(host, 256, "unknown");
	host[255] = '\0';
}

/* /proc/sys/kernel/random/boot_id as 16 bytes; all zero when unknown. */
static void this_boot_id(uint8_t id[16])
{
	char text[64];
	size_t n = 0;
	memset(id, 0, 16);
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	uint8_t got[16];
	for (const char *c = text; *c && *c != '\n' && n < 32; c++) {
		int v = *c >= '0' && *c <= '9'   ? *c - '0'
		        : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10
		        : *c >= 'A' && *c <= 'F' ? *c - 'A' + 10
		                                 : -1;
		if (*c == '-')
			continue;
		if (v < 0)
			return;
		if (n % 2 == 0)
			got[n / 2] = (uint8_t)(v << 4);
		else
			got[n / 2] |= (uint8_t)v;
		n++;
	}
	if (n == 32)
		memcpy(id, got, 16);
}

/* Field 22 of /proc/<pid>/stat (the start time in clock ticks since boot);
 * 0 when unknown. */
static uint64_t start_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the command name may hold anything */
	if (!p)
		return 0;
	/* after ")" come field 3 (state) .. field 22 */
	for (int field = 2; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	char *end;
	unsigned long long v = strtoull(p + 1, &end, 10);
	return end != p + 1 && (*end == ' ' || *end == '\0') ? (uint64_t)v : 0;
}

/* What this process knows of itself, to judge others' locks. */
struct me {
	char host[256];
	uint8_t boot_id[16];
};

static void me_init(struct me *m)
{
	this_host(m->host);
	this_boot_id(m->boot_id);
}

static int known(const uint8_t id[16])
{
	static const uint8_t none[16];
	return memcmp(id, none, sizeof(none)) != 0;
}

static int is_stale(const struct mv_lock_info *l, const struct me *m)
{
	int64_t age = realtime_ns() - l->time_ns;
	if (age > (int64_t)MV_LOCK_STALE_SECONDS * 1000000000LL)
		return 1;
	if (strcmp(m->host, l->host) != 0)
		return 0;
	if (known(l->boot_id) && known(m->boot_id))
		if (memcmp(l->boot_id, m->boot_id, sizeof(m->boot_id)) != 0)
			return 1; /* written before this machine's last boot */
	if (l->pid == 0 || l->pid > (uint32_t)INT32_MAX)
		return 0; /* kill(0 or -n) would not ask about one process */
	if (kill((pid_t)l->pid, 0) < 0 && errno == ESRCH)
		return 1;
	if (l->start_ticks && known(l->boot_id) && known(m->boot_id)) {
		uint64_t now = start_ticks((pid_t)l->pid);
		if (now && now != l->start_ticks)
			return 1; /* that pid is another process now */
	}
	return 0;
}

enum { REMOVE_NONE, REMOVE_THIS_HOST, REMOVE_ALL };

struct scan {
	struct mv_repo *r;
	const char *self; /* our own lock name, skipped */
	int exclusive;    /* what we want */
	int remove;       /* REMOVE_*: which stale locks to remove */
	int conflict;
	struct mv_lock_info holder;
	/* conflict with a lock file that cannot be read (holder unknown) */
	char damaged_name[65];
	char damaged_why[240];
	struct mv_lock_cleanup found;
	struct me me;
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
	int rc = mv_repo_load_object(s->r, MV_FT_LOCK, MV_T_LOCK, name, &p, &len, &e);
	if (rc == MV_ERR_NOTFOUND)
		return 0; /* released meanwhile */
	if (rc == 0) {
		rc = mv_lock_decode(p, len, &l);
		free(p);
		if (rc)
			snprintf(e.msg, sizeof(e.msg), "its contents are malformed");
	}
	if (rc) {
		/* Never passed over: it may be the lock of a live exclusive
		 * holder, damaged on the medium. Never removed automatically. */
		if (s->found.damaged++ == 0) {
			snprintf(s->found.damaged_name, sizeof(s->found.damaged_name), "%.64s",
			         name);
			snprintf(s->found.damaged_why, sizeof(s->found.damaged_why), "%.230s",
			         e.msg[0] ? e.msg : "it cannot be read");
		}
		if (s->remove != REMOVE_ALL && !s->conflict && !s->damaged_name[0]) {
			snprintf(s->damaged_name, sizeof(s->damaged_name), "%.64s", name);
			memcpy(s->damaged_why, s->found.damaged_why, sizeof(s->damaged_why));
		}
		return 0;
	}
	if (is_stale(&l, &s->me)) {
		if ((s->remove == REMOVE_ALL ||
		     (s->remove == REMOVE_THIS_HOST && !strcmp(l.host, s->me.host))) &&
		    s->r->be->ops->remove(s->r->be, MV_FT_LOCK, name, &e) == 0)
			s->found.removed++;
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
	if (!s->conflict)
		return mv_error_set(
		    err, MV_ERR_LOCKED, 0,
		    "the repository may be locked: the lock file 'locks/%s' is damaged (%s), so "
		    "its holder is unknown; if you are sure no other medvault process uses the "
		    "repository, delete that file",
		    s->damaged_name, s->damaged_why);
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

static int acquire_once(struct mv_repo *r, int exclusive, int reader, struct mv_lock **out,
                        struct mv_error *err)
{
	*out = NULL;
	struct scan s = {.r = r, .exclusive = exclusive, .remove = REMOVE_THIS_HOST};
	me_init(&s.me);
	int rc = mv_backend_list_then(r->be, MV_FT_LOCK, scan_lock, &s, err);
	if (rc)
		return rc;
	if (s.conflict || s.damaged_name[0])
		return locked_error(&s, err);
	struct mv_lock *l = calloc(1, sizeof(*l));
	if (!l)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	l->r = r;
	l->info.pid = (uint32_t)getpid();
	l->info.exclusive = exclusive ? 1 : 0;
	memcpy(l->info.host, s.me.host, sizeof(l->info.host));
	memcpy(l->info.boot_id, s.me.boot_id, sizeof(l->info.boot_id));
	l->info.start_ticks = start_ticks(getpid());
	l->refresh_s = MV_LOCK_REFRESH_SECONDS;
	l->lost_s = MV_LOCK_LOST_SECONDS;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	rc = write_lock(l, err);
	if (rc && reader && unwritable(rc, err))
		rc = 0; /* *out stays NULL; err says why */
	if (rc || !l->name[0])
		goto fail;
	/* Someone may have locked between our scan and our write: look again. */
	s.self = l->name;
	s.remove = REMOVE_NONE;
	s.conflict = 0;
	s.damaged_name[0] = '\0';
	rc = mv_backend_list_then(r->be, MV_FT_LOCK, scan_lock, &s, err);
	if (!rc && (s.conflict || s.damaged_name[0]))
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

/* acquire_once, again while the lock is taken by someone else and the time
 * of mv_lock_set_retry lasts. */
static int acquire(struct mv_repo *r, int exclusive, int reader, struct mv_lock **out,
                   struct mv_error *err)
{
	int64_t deadline = monotonic_ns() + r->lock_retry_ns;
	int64_t delay = 1000000000LL;
	for (;;) {
		int rc = acquire_once(r, exclusive, reader, out, err);
		int64_t now = monotonic_ns();
		if (rc != MV_ERR_LOCKED || r->lock_retry_ns <= 0 || now >= deadline)
			return rc;
		if (delay == 1000000000LL && r->lock_waiting && err) {
			char msg[sizeof(err->msg) + 64];
			snprintf(msg, sizeof(msg), "%s; waiting for it up to %lld s", err->msg,
			         (long long)((deadline - now + 999999999LL) / 1000000000LL));
			r->lock_waiting(r->lock_waiting_arg, msg);
		}
		if (delay > deadline - now)
			delay = deadline - now;
		/* in steps of 100 ms, to notice a cancellation */
		for (int64_t slept = 0; slept < delay; slept += 100000000LL) {
			if (r->lock_cancel && *r->lock_cancel)
				return mv_error_set(err, MV_ERR_INTERRUPTED, 0,
				                    "interrupted while waiting for the lock");
			int64_t step = delay - slept < 100000000LL ? delay - slept : 100000000LL;
			struct timespec ts = {(time_t)(step / 1000000000LL),
			                      (long)(step % 1000000000LL)};
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
				if (r->lock_cancel && *r->lock_cancel)
					break;
			}
		}
		delay = delay * 2 > 30000000000LL ? 30000000000LL : delay * 2;
		if (err)
			mv_error_clear(err);
	}
}

void mv_lock_set_retry(struct mv_repo *r, int64_t wait_ns, volatile sig_atomic_t *cancel,
                       void (*waiting)(void *arg, const char *msg), void *arg)
{
	r->lock_retry_ns = wait_ns > 0 ? wait_ns : 0;
	r->lock_cancel = cancel;
	r->lock_waiting = waiting;
	r->lock_waiting_arg = arg;
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

int mv_lock_remove_stale(struct mv_repo *r, struct mv_lock_cleanup *out, struct mv_error *err)
{
	struct scan s = {.r = r, .remove = REMOVE_ALL};
	me_init(&s.me);
	int rc = mv_backend_list_then(r->be, MV_FT_LOCK, scan_lock, &s, err);
	*out = s.found;
	return rc;
}
