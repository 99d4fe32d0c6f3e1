/* The retry layer (retry.h). */
#include "core/backend/retry.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

struct retry {
	struct mv_backend b;
	struct mv_backend *in;
	struct mv_retry_params p;
	atomic_uint_fast64_t retried;
};

/* Sleeps ns in slices, polling the cancel flag. */
static int wait_ns(struct retry *r, uint64_t ns, struct mv_error *err)
{
	const uint64_t slice = 50 * 1000000ull;
	while (ns > 0) {
		int rc = mv_backend_cancelled(&r->b, err);
		if (rc)
			return rc;
		uint64_t d = ns < slice ? ns : slice;
		struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		ns -= d;
	}
	return mv_backend_cancelled(&r->b, err);
}

/* A transient error left over: an I/O error for the caller. */
static int give_up(struct mv_error *err, const char *what, unsigned attempt)
{
	mv_error_prefix(err, MV_ERR_IO, "%s after %u attempt(s)", what, attempt);
	if (err)
		err->code = MV_ERR_IO;
	return MV_ERR_IO;
}

/* Decides after a failed attempt (1-based) whether to try again, waiting
 * first. Returns 0 to retry, else the final code (err set). */
static int again(struct retry *r, int rc, unsigned attempt, uint64_t *waited, struct mv_error *err)
{
	if (!mv_backend_err_transient(rc))
		return rc;
	if (attempt >= r->p.attempts || *waited >= r->p.total_ns)
		return give_up(err, "gave up", attempt);
	/* full jitter: uniform in [0, min(max, base * 2^(attempt-1))] */
	uint64_t ceil = r->p.base_ns;
	for (unsigned i = 1; i < attempt && ceil < r->p.max_ns; i++)
		ceil *= 2;
	if (ceil > r->p.max_ns)
		ceil = r->p.max_ns;
	uint64_t rnd;
	randombytes_buf(&rnd, sizeof(rnd));
	uint64_t d = ceil ? rnd % (ceil + 1) : 0;
	if (d > r->p.total_ns - *waited)
		d = r->p.total_ns - *waited;
	*waited += d;
	atomic_fetch_add(&r->retried, 1);
	return wait_ns(r, d, err);
}

#define RETRY(r, call)                                                                             \
	do {                                                                                       \
		uint64_t waited_ = 0;                                                              \
		for (unsigned a_ = 1;; a_++) {                                                     \
			int rc_ = mv_backend_cancelled(&(r)->b, err);                              \
			if (rc_ == 0)                                                              \
				rc_ = (call);                                                      \
			if (rc_ == 0)                                                              \
				return 0;                                                          \
			rc_ = again((r), rc_, a_, &waited_, err);                                  \
			if (rc_)                                                                   \
				return rc_;                                                        \
		}                                                                                  \
	} while (0)

static int r_put(struct mv_backend *b, enum mv_ftype t, const char *name, const void *data,
                 size_t len, int excl, struct mv_error *err)
{
	struct retry *r = (struct retry *)b;
	RETRY(r, r->in->ops->put(r->in, t, name, data, len, excl, err));
}

static int r_get(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t off, void *buf,
                 size_t len, struct mv_error *err)
{
	struct retry *r = (struct retry *)b;
	RETRY(r, r->in->ops->get(r->in, t, name, off, buf, len, err));
}

static int r_size(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t *size,
                  struct mv_error *err)
{
	struct retry *r = (struct retry *)b;
	RETRY(r, r->in->ops->size(r->in, t, name, size, err));
}

struct list_pass {
	int (*cb)(void *arg, const char *name, uint64_t size);
	void *arg;
	int delivered;
};

static int pass_entry(void *arg, const char *name, uint64_t size)
{
	struct list_pass *p = arg;
	p->delivered = 1;
	return p->cb(p->arg, name, size);
}

static int r_list(struct mv_backend *b, enum mv_ftype t,
                  int (*cb)(void *arg, const char *name, uint64_t size), void *arg,
                  struct mv_error *err)
{
	struct retry *r = (struct retry *)b;
	struct list_pass p = {cb, arg, 0};
	uint64_t waited = 0;
	for (unsigned a = 1;; a++) {
		int rc = mv_backend_cancelled(b, err);
		if (rc == 0)
			rc = r->in->ops->list(r->in, t, pass_entry, &p, err);
		if (rc == 0)
			return 0;
		if (p.delivered && mv_backend_err_transient(rc)) /* entries would repeat */
			return give_up(err, "listing broke off", a);
		rc = again(r, rc, a, &waited, err);
		if (rc)
			return rc;
	}
}

static int r_remove(struct mv_backend *b, enum mv_ftype t, const char *name, struct mv_error *err)
{
	struct retry *r = (struct retry *)b;
	RETRY(r, r->in->ops->remove(r->in, t, name, err));
}

static int r_create(struct mv_backend *b, struct mv_error *err)
{
	struct retry *r = (struct retry *)b;
	RETRY(r, r->in->ops->create(r->in, err));
}

static void r_close(struct mv_backend *b)
{
	struct retry *r = (struct retry *)b;
	mv_backend_close(r->in);
	free(r);
}

static const struct mv_backend_ops retry_ops = {
    .put = r_put,
    .get = r_get,
    .size = r_size,
    .list = r_list,
    .remove = r_remove,
    .create = r_create,
    .close = r_close,
};

int mv_backend_retry_wrap(struct mv_backend *inner, const struct mv_retry_params *p,
                          struct mv_backend **out, struct mv_error *err)
{
	*out = NULL;
	struct retry *r = calloc(1, sizeof(*r));
	if (!r) {
		mv_backend_close(inner);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	r->in = inner;
	if (p)
		r->p = *p;
	if (!r->p.attempts)
		r->p.attempts = 6;
	if (!r->p.base_ns)
		r->p.base_ns = 250 * 1000000ull;
	if (!r->p.max_ns)
		r->p.max_ns = 16 * 1000000000ull;
	if (!r->p.total_ns)
		r->p.total_ns = 60 * 1000000000ull;
	atomic_init(&r->retried, 0);
	r->b.ops = &retry_ops;
	r->b.location = inner->location;
	r->b.props = inner->props;
	r->b.cancel = inner->cancel;
	r->b.under = inner;
	*out = &r->b;
	return 0;
}

uint64_t mv_backend_retry_count(const struct mv_backend *b)
{
	struct retry *r = (struct retry *)(uintptr_t)b;
	return b->ops == &retry_ops ? atomic_load(&r->retried) : 0;
}
