/* The in-memory backend (mem.h). */
#include "core/backend/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/grow.h"

struct mem_obj {
	enum mv_ftype type;
	char name[129];
	uint8_t *data;
	size_t len;
};

struct mv_mem_store {
	pthread_mutex_t mu;
	struct mem_obj *o;
	size_t n, cap;
	uint64_t calls[MV_MEM_NOPS];
	struct mv_mem_fault fault;
	uint64_t matched, hits;
	int flipped; /* a put stored damaged bytes: */
	enum mv_ftype flip_type;
	char flip_name[129];
};

struct mem {
	struct mv_backend b;
	struct mv_mem_store *s;
};

struct mv_mem_store *mv_mem_store_new(void)
{
	struct mv_mem_store *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->mu, NULL)) {
		free(s);
		return NULL;
	}
	return s;
}

void mv_mem_store_free(struct mv_mem_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->o[i].data);
	free(s->o);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void mv_mem_fault_set(struct mv_mem_store *s, const struct mv_mem_fault *f)
{
	pthread_mutex_lock(&s->mu);
	s->fault = *f;
	s->matched = 0;
	s->hits = 0;
	if (f->kind != MV_MEM_FAULT_NONE) /* kept past mv_mem_fault_clear */
		s->flipped = 0;
	pthread_mutex_unlock(&s->mu);
}

void mv_mem_fault_clear(struct mv_mem_store *s)
{
	struct mv_mem_fault none = {.kind = MV_MEM_FAULT_NONE};
	mv_mem_fault_set(s, &none);
}

uint64_t mv_mem_fault_hits(struct mv_mem_store *s)
{
	pthread_mutex_lock(&s->mu);
	uint64_t h = s->hits;
	pthread_mutex_unlock(&s->mu);
	return h;
}

uint64_t mv_mem_calls(struct mv_mem_store *s, enum mv_mem_op op)
{
	pthread_mutex_lock(&s->mu);
	uint64_t c = s->calls[op];
	pthread_mutex_unlock(&s->mu);
	return c;
}

uint64_t mv_mem_calls_total(struct mv_mem_store *s)
{
	uint64_t t = 0;
	for (int i = 0; i < MV_MEM_NOPS; i++)
		t += mv_mem_calls(s, (enum mv_mem_op)i);
	return t;
}

void mv_mem_calls_reset(struct mv_mem_store *s)
{
	pthread_mutex_lock(&s->mu);
	memset(s->calls, 0, sizeof(s->calls));
	pthread_mutex_unlock(&s->mu);
}

/* Counts a call and says which fault it meets. Called with s->mu held. */
static enum mv_mem_fault_kind count_call(struct mv_mem_store *s, enum mv_mem_op op, int type)
{
	const struct mv_mem_fault *f = &s->fault;
	s->calls[op]++;
	if (f->kind == MV_MEM_FAULT_NONE || (f->op >= 0 && f->op != (int)op) ||
	    (f->type >= 0 && f->type != type))
		return MV_MEM_FAULT_NONE;
	uint64_t m = ++s->matched;
	if (f->period && m > f->nth)
		m = f->nth + (m - f->nth) % f->period;
	if (m < f->nth || (f->count && m >= f->nth + f->count))
		return MV_MEM_FAULT_NONE;
	s->hits++;
	return f->kind;
}

/* The error a failing fault gives; 0 for those that change bytes. */
static int fault_error(enum mv_mem_fault_kind k, const char *what, const char *name,
                       struct mv_error *err)
{
	switch (k) {
	case MV_MEM_FAULT_EIO:
	case MV_MEM_FAULT_SHORT:
		return mv_error_set(err, MV_ERR_IO, EIO, "cannot %s '%s'", what, name);
	case MV_MEM_FAULT_NOSPC:
		return mv_error_set(err, MV_ERR_NOSPC, ENOSPC, "cannot %s '%s'", what, name);
	case MV_MEM_FAULT_TRANSIENT:
		return mv_error_set(err, MV_ERR_TRANSIENT, EAGAIN, "cannot %s '%s'", what, name);
	default:
		return 0;
	}
}

static int valid_name(enum mv_ftype t, const char *name, struct mv_error *err)
{
	size_t n = strlen(name);
	if (t == MV_FT_CONFIG)
		return 0;
	if (n == 0 || n > 128 || name[0] == '.' || strchr(name, '/'))
		return mv_error_set(err, MV_ERR_USAGE, 0, "invalid object name '%s'", name);
	return 0;
}

static struct mem_obj *find(struct mv_mem_store *s, enum mv_ftype t, const char *name)
{
	if (t == MV_FT_CONFIG)
		name = "config";
	for (size_t i = 0; i < s->n; i++)
		if (s->o[i].type == t && !strcmp(s->o[i].name, name))
			return &s->o[i];
	return NULL;
}

/* What every call checks first: the cancel flag and the name. */
static int begin(struct mv_backend *b, enum mv_ftype t, const char *name, struct mv_error *err)
{
	int rc = mv_backend_cancelled(b, err);
	return rc ? rc : valid_name(t, name, err);
}

static int mem_put(struct mv_backend *b, enum mv_ftype t, const char *name, const void *data,
                   size_t len, int excl, struct mv_error *err)
{
	struct mv_mem_store *s = ((struct mem *)b)->s;
	int rc = begin(b, t, name, err);
	if (rc)
		return rc;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	memcpy(copy, data, len);
	pthread_mutex_lock(&s->mu);
	enum mv_mem_fault_kind k = count_call(s, MV_MEM_PUT, (int)t);
	struct mem_obj *o = find(s, t, name);
	rc = fault_error(k, "write", name, err);
	if (rc == 0 && o && excl)
		rc = mv_error_set(err, MV_ERR_EXISTS, 0, "'%s' exists already", name);
	if (rc == 0 && !o) {
		rc = mv_grow(s->o, s->cap, s->n + 1);
		if (rc == 0) {
			o = &s->o[s->n++];
			o->type = t;
			snprintf(o->name, sizeof(o->name), "%s",
			         t == MV_FT_CONFIG ? "config" : name);
			o->data = NULL;
		} else {
			mv_error_set(err, rc, 0, "out of memory");
		}
	}
	if (rc == 0) {
		if (k == MV_MEM_FAULT_FLIP && len) {
			copy[len / 2] ^= 0x40;
			s->flipped = 1;
			s->flip_type = t;
			memcpy(s->flip_name, o->name, sizeof(s->flip_name));
		}
		free(o->data);
		o->data = copy;
		o->len = len;
		copy = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	free(copy);
	return rc;
}

static int mem_get(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t off, void *buf,
                   size_t len, struct mv_error *err)
{
	struct mv_mem_store *s = ((struct mem *)b)->s;
	int rc = begin(b, t, name, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	enum mv_mem_fault_kind k = count_call(s, MV_MEM_GET, (int)t);
	struct mem_obj *o = find(s, t, name);
	if (k == MV_MEM_FAULT_SHORT)
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "'%s' is truncated", name);
	else
		rc = fault_error(k, "read", name, err);
	if (rc == 0 && !o)
		rc = mv_error_set(err, MV_ERR_NOTFOUND, 0, "'%s' does not exist", name);
	if (rc == 0 && (off > o->len || len > o->len - off))
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "'%s' is truncated", name);
	if (rc == 0 && len) {
		memcpy(buf, o->data + off, len);
		if (k == MV_MEM_FAULT_FLIP) /* the last byte: always one the caller uses */
			((uint8_t *)buf)[len - 1] ^= 0x40;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int mem_size(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t *size,
                    struct mv_error *err)
{
	struct mv_mem_store *s = ((struct mem *)b)->s;
	int rc = begin(b, t, name, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	struct mem_obj *o = find(s, t, name);
	rc = fault_error(count_call(s, MV_MEM_SIZE, (int)t), "stat", name, err);
	if (rc == 0 && !o)
		rc = mv_error_set(err, MV_ERR_NOTFOUND, 0, "'%s' does not exist", name);
	if (rc == 0)
		*size = o->len;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The listing is copied under the lock and delivered without it. */
static int mem_list(struct mv_backend *b, enum mv_ftype t,
                    int (*cb)(void *arg, const char *name, uint64_t size), void *arg,
                    struct mv_error *err)
{
	struct mv_mem_store *s = ((struct mem *)b)->s;
	struct mv_backend_entry *e = NULL;
	size_t n = 0, cap = 0;
	int rc = mv_backend_cancelled(b, err);
	if (rc == 0 && t == MV_FT_CONFIG)
		rc = mv_error_set(err, MV_ERR_USAGE, 0, "cannot list this type");
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	rc = fault_error(count_call(s, MV_MEM_LIST, (int)t), "list", "mem:", err);
	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		if (s->o[i].type != t)
			continue;
		if (mv_grow(e, cap, n + 1)) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			break;
		}
		memcpy(e[n].name, s->o[i].name, sizeof(e[n].name));
		e[n++].size = s->o[i].len;
	}
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = cb(arg, e[i].name, e[i].size);
	free(e);
	return rc;
}

static int mem_remove(struct mv_backend *b, enum mv_ftype t, const char *name, struct mv_error *err)
{
	struct mv_mem_store *s = ((struct mem *)b)->s;
	int rc = begin(b, t, name, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	rc = fault_error(count_call(s, MV_MEM_REMOVE, (int)t), "remove", name, err);
	struct mem_obj *o = rc ? NULL : find(s, t, name);
	if (o) {
		free(o->data);
		*o = s->o[--s->n];
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int mem_create(struct mv_backend *b, struct mv_error *err)
{
	struct mv_mem_store *s = ((struct mem *)b)->s;
	int rc = mv_backend_cancelled(b, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	rc = fault_error(count_call(s, MV_MEM_CREATE, -1), "create", "mem:", err);
	if (rc == 0 && find(s, MV_FT_CONFIG, "config"))
		rc = mv_error_set(err, MV_ERR_EXISTS, 0, "a repository exists already at 'mem:'");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void mem_close(struct mv_backend *b)
{
	free(b->location);
	free(b);
}

static const struct mv_backend_ops mem_ops = {
    .put = mem_put,
    .get = mem_get,
    .size = mem_size,
    .list = mem_list,
    .remove = mem_remove,
    .create = mem_create,
    .close = mem_close,
};

int mv_backend_mem_open(struct mv_mem_store *s, struct mv_backend **out, struct mv_error *err)
{
	*out = NULL;
	struct mem *m = calloc(1, sizeof(*m));
	if (!m || !(m->b.location = strdup("mem:"))) {
		free(m);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	m->s = s;
	m->b.ops = &mem_ops;
	m->b.props = (struct mv_backend_props){.connections = 8, .uploads = 4, .local = 0};
	*out = &m->b;
	return 0;
}

int mv_mem_flip(struct mv_mem_store *s, enum mv_ftype t, const char *name, uint64_t off)
{
	int rc = MV_ERR_NOTFOUND;
	pthread_mutex_lock(&s->mu);
	struct mem_obj *o = find(s, t, name);
	if (o && off < o->len) {
		o->data[off] ^= 0x40;
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

size_t mv_mem_count(struct mv_mem_store *s, enum mv_ftype t)
{
	size_t n = 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++)
		n += s->o[i].type == t;
	pthread_mutex_unlock(&s->mu);
	return n;
}

struct mv_mem_store *mv_mem_store_copy(struct mv_mem_store *s)
{
	struct mv_mem_store *c = mv_mem_store_new();
	if (!c)
		return NULL;
	pthread_mutex_lock(&s->mu);
	int ok = mv_grow(c->o, c->cap, s->n) == 0;
	for (size_t i = 0; ok && i < s->n; i++) {
		struct mem_obj *o = &c->o[c->n];
		*o = s->o[i];
		o->data = malloc(o->len ? o->len : 1);
		if (!o->data)
			ok = 0;
		else {
			memcpy(o->data, s->o[i].data, o->len);
			c->n++;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (!ok) {
		mv_mem_store_free(c);
		return NULL;
	}
	return c;
}

int mv_mem_flipped(struct mv_mem_store *s, enum mv_ftype *t, char name[129])
{
	pthread_mutex_lock(&s->mu);
	int f = s->flipped;
	if (f) {
		*t = s->flip_type;
		memcpy(name, s->flip_name, 129);
	}
	pthread_mutex_unlock(&s->mu);
	return f;
}
