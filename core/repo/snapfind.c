/* Resolving a snapshot name (core/repo/snapfind.h). */
#include "core/repo/snapfind.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mv_snapshot_filter_match(const struct mv_snapshot_filter *f, const struct mv_snapshot *s)
{
	size_t i, j;

	if (!f)
		return 1;
	if (f->nhosts) {
		for (i = 0; i < f->nhosts; i++)
			if (s->host && strcmp(s->host, f->hosts[i]) == 0)
				break;
		if (i == f->nhosts)
			return 0;
	}
	for (i = 0; i < f->npaths; i++) {
		for (j = 0; j < s->npaths; j++)
			if (s->paths[j] && strcmp(s->paths[j], f->paths[i]) == 0)
				break;
		if (j == s->npaths)
			return 0;
	}
	return 1;
}

void mv_snapshot_damage_release(struct mv_snapshot_damage *d)
{
	if (!d)
		return;
	free(d->names);
	memset(d, 0, sizeof(*d));
}

static int damage_add(struct mv_snapshot_damage *d, const char *name, const struct mv_error *e)
{
	if (!d)
		return 0;
	char(*nn)[65] = realloc(d->names, (d->n + 1) * sizeof(*nn));
	if (!nn)
		return MV_ERR_NOMEM;
	d->names = nn;
	memcpy(d->names[d->n], name, 65);
	if (d->n++ == 0)
		d->first = *e;
	return 0;
}

/* Reads and decodes the snapshot file `name` into *s. Returns 0, MV_ERR_NOMEM,
 * or another error (the file is damaged or unreadable; why in e). */
static int load_one(struct mv_repo *r, const char *name, struct mv_snapshot *s, struct mv_error *e)
{
	uint8_t *p;
	size_t len;
	int rc = mv_repo_load_object(r, MV_FT_SNAPSHOT, MV_T_SNAPSHOT, name, &p, &len, e);

	if (rc)
		return rc;
	rc = mv_snapshot_decode(p, len, s);
	free(p);
	if (rc == MV_FMT_NOMEM)
		return mv_error_set(e, MV_ERR_NOMEM, 0, "out of memory");
	if (rc)
		return mv_error_set(e, MV_ERR_INTEGRITY, 0, "snapshot '%s' is malformed", name);
	if (mv_unhex(name, s->id, 32)) {
		mv_snapshot_release(s);
		return mv_error_set(e, MV_ERR_INTEGRITY, 0, "'%s' is not a valid snapshot name",
		                    name);
	}
	return 0;
}

/* Newer: later time, then the larger id (the order of mv_repo_snapshots). */
static int newer(const struct mv_snapshot *a, const struct mv_snapshot *b)
{
	if (a->time_ns != b->time_ns)
		return a->time_ns > b->time_ns;
	return memcmp(a->id, b->id, 32) > 0;
}

static int resolve_latest(struct mv_repo *r, char (*names)[65], size_t n,
                          const struct mv_snapshot_filter *f, struct mv_snapshot *out,
                          struct mv_snapshot_damage *d, struct mv_error *err)
{
	size_t bad = 0, seen = 0;
	int have = 0, rc;

	for (size_t i = 0; i < n; i++) {
		struct mv_snapshot s;
		struct mv_error e = {0};

		memset(&s, 0, sizeof(s));
		rc = load_one(r, names[i], &s, &e);
		if (rc == MV_ERR_NOMEM)
			goto nomem;
		if (rc == MV_ERR_NOTFOUND) /* removed since the listing */
			continue;
		if (rc) {
			bad++;
			if (damage_add(d, names[i], &e))
				goto nomem;
			continue;
		}
		seen++;
		if (mv_snapshot_filter_match(f, &s) && (!have || newer(&s, out))) {
			if (have)
				mv_snapshot_release(out);
			*out = s;
			have = 1;
		} else {
			mv_snapshot_release(&s);
		}
	}
	if (have)
		return 0;
	if (bad)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "no intact snapshot%s: %zu snapshot file%s damaged",
		                    seen ? " matches" : "", bad, bad == 1 ? " is" : "s are");
	if (seen)
		return mv_error_set(err, MV_ERR_NOTFOUND, 0,
		                    "no snapshot matches the given host and paths");
	return mv_error_set(err, MV_ERR_NOTFOUND, 0, "the repository has no snapshot yet");
nomem:
	if (have)
		mv_snapshot_release(out);
	return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
}

static int resolve_prefix(struct mv_repo *r, const char *name, char (*names)[65], size_t n,
                          struct mv_snapshot *out, struct mv_snapshot_damage *d,
                          struct mv_error *err)
{
	size_t nl = strlen(name), found = SIZE_MAX;
	struct mv_error e = {0};

	for (size_t i = 0; i < n; i++) {
		if (strncmp(names[i], name, nl) != 0)
			continue;
		if (found != SIZE_MAX)
			return mv_error_set(err, MV_ERR_AMBIGUOUS, 0,
			                    "'%s' matches several snapshots", name);
		found = i;
	}
	if (found == SIZE_MAX)
		return mv_error_set(err, MV_ERR_NOTFOUND, 0, "no snapshot '%s'", name);
	int rc = load_one(r, names[found], out, &e);
	if (rc == 0 || rc == MV_ERR_NOMEM)
		return rc == 0 ? 0 : mv_error_set(err, rc, 0, "out of memory");
	if (rc == MV_ERR_NOTFOUND) /* removed since the listing */
		return mv_error_set(err, rc, 0, "no snapshot '%s'", name);
	if (damage_add(d, names[found], &e))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	return mv_error_set(err, rc, e.saved_errno, "snapshot %.8s %s: %s", names[found],
	                    rc == MV_ERR_INTEGRITY ? "is damaged" : "cannot be read", e.msg);
}

int mv_snapshot_resolve(struct mv_repo *r, const char *name, const struct mv_snapshot_filter *f,
                        struct mv_snapshot *out, struct mv_snapshot_damage *d, struct mv_error *err)
{
	char(*names)[65] = NULL;
	size_t n = 0, nl = strlen(name);
	int rc;

	memset(out, 0, sizeof(*out));
	if (d)
		memset(d, 0, sizeof(*d));
	int latest = strcmp(name, "latest") == 0;
	if (!latest) {
		if (nl == 0 || nl > 64 || strspn(name, "0123456789abcdef") != nl)
			return mv_error_set(err, MV_ERR_NOTFOUND, 0, "no snapshot '%s'", name);
	}
	rc = mv_repo_list_names(r, MV_FT_SNAPSHOT, &names, &n, err);
	if (rc)
		return rc;
	if (latest)
		rc = resolve_latest(r, names, n, f, out, d, err);
	else
		rc = resolve_prefix(r, name, names, n, out, d, err);
	free(names);
	return rc;
}

/* Normalises p into an absolute path without ".", ".." or repeated '/'
 * (lexically, like restic). Returns a malloc'd string or NULL. */
char *mv_abs_path(const char *p)
{
	char cwd[PATH_MAX];
	size_t cap = strlen(p) + PATH_MAX + 2;
	char *src = malloc(cap), *out = malloc(cap);
	if (!src || !out)
		goto fail;
	if (p[0] == '/')
		snprintf(src, cap, "%s", p);
	else if (getcwd(cwd, sizeof(cwd)))
		snprintf(src, cap, "%s/%s", cwd, p);
	else
		goto fail;
	size_t o = 0;
	const char *s = src;
	while (*s) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		size_t l = (size_t)(e - s);
		if (l == 0 || (l == 1 && s[0] == '.')) {
		} else if (l == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, s, l);
			o += l;
		}
		s = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(src);
	return out;
fail:
	free(src);
	free(out);
	return NULL;
}
