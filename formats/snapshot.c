/* Snapshot and lock payloads (FORMAT.md sections 8, 10 and 11). */
#include "formats/snapshot.h"

#include <stdlib.h>
#include <string.h>

#define SNAP_VERSION   1u
#define LOCK_VERSION   2u /* 1 is still read (and written without a boot id) */
#define STR16_MAX      0xffffu
#define SUMMARY_FIELDS 10

void mv_snapshot_release(struct mv_snapshot *s)
{
	if (!s)
		return;
	free(s->host);
	free(s->user);
	for (uint32_t i = 0; s->paths && i < s->npaths; i++)
		free(s->paths[i]);
	free(s->paths);
	for (uint32_t i = 0; s->tags && i < s->ntags; i++)
		free(s->tags[i]);
	free(s->tags);
	for (uint32_t i = 0; s->errors && i < s->nerrors; i++) {
		free(s->errors[i].path);
		free(s->errors[i].msg);
	}
	free(s->errors);
	free(s->catalog);
	memset(s, 0, sizeof(*s));
}

static void summary_fields(const struct mv_snapshot_summary *m, uint64_t v[SUMMARY_FIELDS])
{
	v[0] = m->files_new;
	v[1] = m->files_changed;
	v[2] = m->files_unmodified;
	v[3] = m->dirs;
	v[4] = m->data_blobs;
	v[5] = m->tree_blobs;
	v[6] = m->bytes_added;
	v[7] = m->bytes_processed;
	v[8] = m->total_files;
	v[9] = m->total_bytes;
}

/* A NULL string is written as an empty one. */
static void put_str(struct mv_wbuf *w, const char *str)
{
	size_t n = str ? strlen(str) : 0;
	if (n > STR16_MAX) {
		mv_wbuf_fail(w, MV_FMT_LIMIT);
		return;
	}
	mv_wbuf_str16(w, str ? str : "", n);
}

static void put_list(struct mv_wbuf *w, char *const *list, uint32_t n)
{
	if (n > MV_SNAP_MAX_LIST || (n && !list)) {
		mv_wbuf_fail(w, n > MV_SNAP_MAX_LIST ? MV_FMT_LIMIT : MV_FMT_MALFORMED);
		return;
	}
	mv_wbuf_u32(w, n);
	for (uint32_t i = 0; i < n && !w->failed; i++)
		put_str(w, list[i]);
}

void mv_snapshot_encode(const struct mv_snapshot *s, struct mv_wbuf *w)
{
	uint64_t sum[SUMMARY_FIELDS];

	mv_wbuf_u8(w, SNAP_VERSION);
	mv_wbuf_i64(w, s->time_ns);
	put_str(w, s->host);
	put_str(w, s->user);
	put_list(w, s->paths, s->npaths);
	put_list(w, s->tags, s->ntags);
	mv_wbuf_put(w, s->tree, 32);
	mv_wbuf_u8(w, s->has_parent ? 1 : 0);
	if (s->has_parent)
		mv_wbuf_put(w, s->parent, 32);
	summary_fields(&s->summary, sum);
	for (int i = 0; i < SUMMARY_FIELDS; i++)
		mv_wbuf_u64(w, sum[i]);
	if (s->nerrors > MV_SNAP_MAX_LIST || (s->nerrors && !s->errors)) {
		mv_wbuf_fail(w, s->nerrors > MV_SNAP_MAX_LIST ? MV_FMT_LIMIT : MV_FMT_MALFORMED);
		return;
	}
	mv_wbuf_u32(w, s->nerrors);
	for (uint32_t i = 0; i < s->nerrors && !w->failed; i++) {
		put_str(w, s->errors[i].path);
		put_str(w, s->errors[i].msg);
	}
	/* optional trailing section: written only when there is a catalog */
	if (s->ncatalog) {
		if (s->ncatalog > MV_SNAP_MAX_LIST || !s->catalog) {
			mv_wbuf_fail(w, s->ncatalog > MV_SNAP_MAX_LIST ? MV_FMT_LIMIT
			                                               : MV_FMT_MALFORMED);
			return;
		}
		mv_wbuf_u32(w, s->ncatalog);
		mv_wbuf_put(w, s->catalog, (size_t)s->ncatalog * 32);
	}
}

/* Reads a str16 into a malloc'd NUL-terminated copy. Returns 0,
 * MV_FMT_MALFORMED (truncated, or the string holds a NUL byte) or
 * MV_FMT_NOMEM. */
static int get_str(struct mv_rbuf *r, char **out)
{
	size_t n;
	const uint8_t *p = mv_rbuf_str16(r, &n);

	*out = NULL;
	if (!p || (n && memchr(p, '\0', n)))
		return MV_FMT_MALFORMED;
	char *d = malloc(n + 1);
	if (!d)
		return MV_FMT_NOMEM;
	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	*out = d;
	return 0;
}

/* Reads a list count and checks it against the limit and against what the
 * input can hold (min_item bytes per item) before anything is allocated. */
static int get_count(struct mv_rbuf *r, size_t min_item, uint32_t *out)
{
	uint32_t n = mv_rbuf_u32(r);
	if (r->failed || n > MV_SNAP_MAX_LIST || n > mv_rbuf_left(r) / min_item)
		return MV_FMT_MALFORMED;
	*out = n;
	return 0;
}

/* Reads a counted list of strings. *count tracks the strings owned so far,
 * so that a release after a failure frees exactly those. */
static int get_list(struct mv_rbuf *r, char ***list, uint32_t *count)
{
	uint32_t n;

	if (get_count(r, 2, &n))
		return MV_FMT_MALFORMED;
	if (!n)
		return 0;
	*list = calloc(n, sizeof(**list));
	if (!*list)
		return MV_FMT_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		int rc = get_str(r, &(*list)[i]);
		if (rc)
			return rc;
		*count = i + 1;
	}
	return 0;
}

static int get_errors(struct mv_rbuf *r, struct mv_snapshot *s)
{
	uint32_t n;

	if (get_count(r, 4, &n))
		return MV_FMT_MALFORMED;
	if (!n)
		return 0;
	s->errors = calloc(n, sizeof(*s->errors));
	if (!s->errors)
		return MV_FMT_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		/* Count the entry first: release frees its NULL or set members. */
		s->nerrors = i + 1;
		int rc = get_str(r, &s->errors[i].path);
		if (!rc)
			rc = get_str(r, &s->errors[i].msg);
		if (rc)
			return rc;
	}
	return 0;
}

int mv_snapshot_decode(const uint8_t *p, size_t len, struct mv_snapshot *s)
{
	int rc = MV_FMT_MALFORMED;
	struct mv_rbuf r;
	uint64_t sum[SUMMARY_FIELDS];
	const uint8_t *b;

	memset(s, 0, sizeof(*s));
	if (len && !p)
		return MV_FMT_MALFORMED;
	mv_rbuf_init(&r, p, len);
	uint8_t version = mv_rbuf_u8(&r);
	s->time_ns = mv_rbuf_i64(&r);
	if (r.failed || version != SNAP_VERSION)
		goto fail;
	if ((rc = get_str(&r, &s->host)) || (rc = get_str(&r, &s->user)) ||
	    (rc = get_list(&r, &s->paths, &s->npaths)) || (rc = get_list(&r, &s->tags, &s->ntags)))
		goto fail;
	rc = MV_FMT_MALFORMED;
	b = mv_rbuf_get(&r, 32);
	if (!b)
		goto fail;
	memcpy(s->tree, b, 32);
	uint8_t has_parent = mv_rbuf_u8(&r);
	if (r.failed || has_parent > 1)
		goto fail;
	if (has_parent) {
		b = mv_rbuf_get(&r, 32);
		if (!b)
			goto fail;
		memcpy(s->parent, b, 32);
		s->has_parent = 1;
	}
	for (int i = 0; i < SUMMARY_FIELDS; i++)
		sum[i] = mv_rbuf_u64(&r);
	if (r.failed)
		goto fail;
	s->summary.files_new = sum[0];
	s->summary.files_changed = sum[1];
	s->summary.files_unmodified = sum[2];
	s->summary.dirs = sum[3];
	s->summary.data_blobs = sum[4];
	s->summary.tree_blobs = sum[5];
	s->summary.bytes_added = sum[6];
	s->summary.bytes_processed = sum[7];
	s->summary.total_files = sum[8];
	s->summary.total_bytes = sum[9];
	if ((rc = get_errors(&r, s)))
		goto fail;
	if (mv_rbuf_left(&r) != 0) {
		uint32_t n = mv_rbuf_u32(&r);
		const uint8_t *ids = mv_rbuf_get(&r, (size_t)n * 32);
		if (n == 0 || n > MV_SNAP_MAX_LIST || !ids) {
			rc = MV_FMT_MALFORMED;
			goto fail;
		}
		s->catalog = malloc((size_t)n * 32);
		if (!s->catalog) {
			rc = MV_FMT_NOMEM;
			goto fail;
		}
		memcpy(s->catalog, ids, (size_t)n * 32);
		s->ncatalog = n;
	}
	if (mv_rbuf_left(&r) != 0) {
		rc = MV_FMT_MALFORMED;
		goto fail;
	}
	return 0;

fail:
	mv_snapshot_release(s);
	return rc;
}

void mv_lock_encode(const struct mv_lock_info *l, struct mv_wbuf *w)
{
	const char *nul = memchr(l->host, '\0', sizeof(l->host));
	if (!nul) {
		mv_wbuf_fail(w, MV_FMT_MALFORMED);
		return;
	}
	size_t n = (size_t)(nul - l->host);
	static const uint8_t none[16];
	int v2 = memcmp(l->boot_id, none, sizeof(none)) != 0;
	mv_wbuf_u8(w, v2 ? LOCK_VERSION : 1);
	mv_wbuf_i64(w, l->time_ns);
	mv_wbuf_u32(w, l->pid);
	mv_wbuf_str16(w, l->host, n);
	mv_wbuf_u8(w, l->exclusive ? 1 : 0);
	if (v2) {
		mv_wbuf_put(w, l->boot_id, sizeof(l->boot_id));
		mv_wbuf_u64(w, l->start_ticks);
	}
}

int mv_lock_decode(const uint8_t *p, size_t len, struct mv_lock_info *l)
{
	struct mv_rbuf r;
	size_t n;

	memset(l, 0, sizeof(*l));
	if (len && !p)
		return MV_FMT_MALFORMED;
	mv_rbuf_init(&r, p, len);
	uint8_t version = mv_rbuf_u8(&r);
	int64_t time_ns = mv_rbuf_i64(&r);
	uint32_t pid = mv_rbuf_u32(&r);
	const uint8_t *host = mv_rbuf_str16(&r, &n);
	uint8_t exclusive = mv_rbuf_u8(&r);
	const uint8_t *boot = NULL;
	uint64_t start = 0;
	if (version == 2) {
		boot = mv_rbuf_get(&r, sizeof(l->boot_id));
		start = mv_rbuf_u64(&r);
	}
	if (r.failed || (version != 1 && version != 2) || n >= sizeof(l->host) ||
	    (n && memchr(host, '\0', n)) || exclusive > 1 || mv_rbuf_left(&r) != 0)
		return MV_FMT_MALFORMED;
	static const uint8_t none[16];
	if (boot && !memcmp(boot, none, sizeof(none)))
		return MV_FMT_MALFORMED; /* written as version 1: one encoding each */
	if (boot)
		memcpy(l->boot_id, boot, sizeof(l->boot_id));
	l->start_ticks = start;
	l->time_ns = time_ns;
	l->pid = pid;
	if (n)
		memcpy(l->host, host, n);
	l->host[n] = '\0';
	l->exclusive = exclusive;
	return 0;
}
