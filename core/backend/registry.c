/* Choosing a backend from a location's scheme, and stacking the layers
 * (backend.h: transport under retry under cache). */
#include "core/backend/backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend/cache.h"
#include "core/backend/retry.h"

#define SCHEME_MAX 16
#define EXTRA_MAX  8

struct scheme {
	char name[SCHEME_MAX + 1];
	mv_backend_ctor ctor;
	void *arg;
};

static int local_ctor(void *arg, const char *rest, struct mv_backend **out, struct mv_error *err)
{
	(void)arg;
	if (!rest[0])
		return mv_error_set(err, MV_ERR_USAGE, 0, "empty repository location");
	return mv_backend_local_open(rest, out, err);
}

static const struct scheme builtin[] = {
    {"local", local_ctor, NULL},
    {"sftp", NULL, NULL}, /* not supported yet */
    {"s3", NULL, NULL},
};

/* Schemes registered by tests or an embedding program: the one table the
 * engine keeps, guarded by its lock. */
static pthread_mutex_t extra_mu = PTHREAD_MUTEX_INITIALIZER;
static struct scheme extra[EXTRA_MAX];

/* The scheme of location ("sftp" of "sftp:host/x") into out, or 0 when it
 * has none: then it is a path. */
static int scheme_of(const char *location, char out[SCHEME_MAX + 1])
{
	size_t n = 0;
	while (location[n] && location[n] != ':' && location[n] != '/' && n <= SCHEME_MAX)
		n++;
	if (n == 0 || n > SCHEME_MAX || location[n] != ':')
		return 0;
	memcpy(out, location, n);
	out[n] = '\0';
	return 1;
}

static int valid_scheme(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SCHEME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (!strcmp(builtin[i].name, s))
			return 0;
	return 1;
}

int mv_backend_register(const char *scheme, mv_backend_ctor ctor, void *arg)
{
	if (!valid_scheme(scheme) || !ctor)
		return MV_ERR_USAGE;
	int rc = MV_ERR_LIMIT;
	pthread_mutex_lock(&extra_mu);
	struct scheme *free_slot = NULL;
	for (size_t i = 0; i < EXTRA_MAX; i++) {
		if (!strcmp(extra[i].name, scheme)) {
			free_slot = &extra[i];
			break;
		}
		if (!extra[i].name[0] && !free_slot)
			free_slot = &extra[i];
	}
	if (free_slot) {
		snprintf(free_slot->name, sizeof(free_slot->name), "%s", scheme);
		free_slot->ctor = ctor;
		free_slot->arg = arg;
		rc = 0;
	}
	pthread_mutex_unlock(&extra_mu);
	return rc;
}

void mv_backend_unregister(const char *scheme)
{
	pthread_mutex_lock(&extra_mu);
	for (size_t i = 0; i < EXTRA_MAX; i++)
		if (!strcmp(extra[i].name, scheme))
			memset(&extra[i], 0, sizeof(extra[i]));
	pthread_mutex_unlock(&extra_mu);
}

/* Finds the transport for location; *rest is what follows the scheme. A
 * location without a known scheme is a local path (a folder may be named
 * "x:y"). */
static struct scheme lookup(const char *location, const char **rest)
{
	char name[SCHEME_MAX + 1];
	struct scheme found = {"local", local_ctor, NULL};
	*rest = location;
	if (!scheme_of(location, name))
		return found;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (!strcmp(builtin[i].name, name)) {
			found = builtin[i];
			goto hit;
		}
	pthread_mutex_lock(&extra_mu);
	for (size_t i = 0; i < EXTRA_MAX; i++)
		if (extra[i].name[0] && !strcmp(extra[i].name, name)) {
			found = extra[i];
			pthread_mutex_unlock(&extra_mu);
			goto hit;
		}
	pthread_mutex_unlock(&extra_mu);
	return found;
hit:
	*rest = location + strlen(name) + 1;
	return found;
}

int mv_backend_open_opts(const char *location, const struct mv_backend_open_opts *opts,
                         struct mv_backend **out, struct mv_error *err)
{
	struct mv_backend *t = NULL;
	const char *rest;
	*out = NULL;
	if (!location[0])
		return mv_error_set(err, MV_ERR_USAGE, 0, "empty repository location");
	struct scheme s = lookup(location, &rest);
	if (!s.ctor)
		return mv_error_set(err, MV_ERR_USAGE, 0,
		                    "'%s': sftp and s3 repositories are not supported yet",
		                    location);
	int rc = s.ctor(s.arg, rest, &t, err);
	if (rc)
		return rc;
	int local = t->props.local;
	struct mv_retry_params rp = {.attempts = opts ? opts->retry_attempts : 0};
	rc = mv_backend_retry_wrap(t, &rp, &t, err);
	if (rc == 0 && !local && opts && opts->cache_dir)
		rc = mv_backend_cache_wrap(t, opts->cache_dir, &t, err);
	if (rc == 0)
		*out = t;
	return rc;
}

int mv_backend_open(const char *location, struct mv_backend **out, struct mv_error *err)
{
	return mv_backend_open_opts(location, NULL, out, err);
}
