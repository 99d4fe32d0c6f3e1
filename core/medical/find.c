/* Searching the DICOM catalog (core/medical/find.h). */
#include "core/medical/find.h"
#include "core/util/grow.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "formats/catalog.h"

#define NAME_MAX_LEN 255u  /* mv_dicom_info.patient_name less its NUL */
#define FOLD_CAP     4096u /* folded patient name: NFD + case folding grow it */
#define KEY_CAP      (2u * 65536u + 2u)

/* ---- folding ------------------------------------------------------------ */

static int ascii_space(unsigned c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == '^' || c == '=';
}

/* Appends len bytes to out for a folded string: separators become one
 * space, never leading (the trailing one is never written because spaces
 * are emitted only before the next character). */
struct fold_out {
	char *p;
	size_t len, cap;
	int space; /* a separator is pending */
	int full;
};

static void emit(struct fold_out *o, const void *s, size_t n)
{
	if (o->space && o->len) {
		if (o->len + 1 >= o->cap) {
			o->full = 1;
			return;
		}
		o->p[o->len++] = ' ';
	}
	o->space = 0;
	if (o->len + n >= o->cap) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void fold_ascii(const uint8_t *s, size_t n, struct fold_out *o)
{
	for (size_t i = 0; i < n && !o->full; i++) {
		unsigned c = s[i];
		if (ascii_space(c)) {
			o->space = 1;
			continue;
		}
		char l = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
		emit(o, &l, 1);
	}
}

/* Unicode path: case folding with NFD normalisation, then combining marks
 * dropped. scratch (scap bytes) avoids an allocation for short names.
 * Returns 0, or -1 when the bytes are not UTF-8 (or out of memory). */
static int fold_unicode(const uint8_t *s, size_t n, struct fold_out *o, uint8_t *scratch,
                        size_t scap)
{
	size_t flen = scap;
	uint8_t *f = u8_casefold(s, n, NULL, UNINORM_NFD, scratch, &flen);
	if (!f)
		return -1;
	for (size_t i = 0; i < flen && !o->full;) {
		ucs4_t uc;
		int k = u8_mbtouc(&uc, f + i, flen - i);
		if (k <= 0)
			break;
		if (uc < 0x80 && ascii_space(uc))
			o->space = 1;
		else if (uc_is_property_white_space(uc))
			o->space = 1;
		else if (!uc_is_general_category(uc, UC_CATEGORY_M))
			emit(o, f + i, (size_t)k);
		i += (size_t)k;
	}
	if (f != scratch)
		free(f);
	return 0;
}

/* Folds s into out; returns the length or -1 when out is too small. */
static long fold(const uint8_t *s, size_t n, char *out, size_t cap, uint8_t *scratch, size_t scap)
{
	struct fold_out o = {out, 0, cap, 0, 0};
	size_t i = 0;

	if (cap == 0)
		return -1;
	while (i < n && s[i] < 0x80)
		i++;
	if (i == n || u8_check(s + i, n - i) != NULL ||
	    fold_unicode(s, n, &o, scratch, scap) != 0) {
		/* ASCII, or not UTF-8: bytes beyond ASCII are kept as they are */
		o.len = 0;
		o.space = 0;
		o.full = 0;
		fold_ascii(s, n, &o);
	}
	if (o.full)
		return -1;
	out[o.len] = '\0';
	return (long)o.len;
}

long mv_find_fold(const char *s, size_t len, char *out, size_t cap)
{
	uint8_t scratch[1024];
	return fold((const uint8_t *)s, len, out, cap, scratch, sizeof(scratch));
}

/* ---- dates --------------------------------------------------------------- */

/* Parses YYYY, YYYY-MM, YYYY-MM-DD, YYYYMM or YYYYMMDD (n bytes) into out
 * as YYYYMMDD, padding the start (to = 0) or the end (to = 1) of the year
 * or month. Returns 0 or -1. */
static int parse_date(const char *s, size_t n, int to, char out[9])
{
	/* the accepted shapes: D = digit */
	static const char *const shapes[] = {"DDDD", "DDDDDD", "DDDDDDDD", "DDDD-DD", "DDDD-DD-DD"};
	char d[9] = "00000000";
	size_t k = 0, i;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const char *p = shapes[i];
		size_t j = 0;
		if (strlen(p) != n)
			continue;
		while (j < n && (p[j] == 'D' ? s[j] >= '0' && s[j] <= '9' : s[j] == p[j]))
			j++;
		if (j == n)
			break;
	}
	if (i == sizeof(shapes) / sizeof(shapes[0]))
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] != '-')
			d[k++] = s[i];
	if (k == 4) {
		memcpy(d + 4, to ? "12" : "01", 2);
		k = 6;
	}
	if (k == 6)
		memcpy(d + 6, to ? "31" : "01", 2);
	d[8] = '\0';
	int month = (d[4] - '0') * 10 + (d[5] - '0');
	int day = (d[6] - '0') * 10 + (d[7] - '0');
	if (month < 1 || month > 12 || day < 1 || day > 31)
		return -1;
	memcpy(out, d, 9);
	return 0;
}

static int parse_dates(const char *s, char from[9], char to[9], struct mv_error *err)
{
	const char *dots = strstr(s, "..");
	size_t alen = dots ? (size_t)(dots - s) : strlen(s);
	const char *b = dots ? dots + 2 : s;
	size_t blen = strlen(b);

	from[0] = to[0] = '\0';
	if ((alen && parse_date(s, alen, 0, from)) || (blen && parse_date(b, blen, 1, to)) ||
	    (!alen && !blen))
		return mv_error_set(
		    err, MV_ERR_USAGE, 0,
		    "bad date range '%.64s': use YYYY-MM-DD..YYYY-MM-DD (either end "
		    "may be left out)",
		    s);
	if (from[0] && to[0] && strcmp(from, to) > 0)
		return mv_error_set(err, MV_ERR_USAGE, 0, "date range '%.64s' is empty", s);
	return 0;
}

/* A DA value (n bytes) as YYYYMMDD (also the old YYYY.MM.DD form); -1
 * otherwise. */
static int study_date(const uint8_t *v, size_t n, char out[9])
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] >= '0' && v[i] <= '9') {
			if (k == 8)
				return -1;
			out[k++] = (char)v[i];
		} else if (v[i] != '.' && v[i] != '-') {
			return -1;
		}
	}
	if (k != 8)
		return -1;
	out[8] = '\0';
	return 0;
}

/* ---- matcher ------------------------------------------------------------- */

/* A string criterion: bytes and length. */
struct crit_str {
	char *s;
	size_t n;
};

struct mv_find_matcher {
	unsigned crit;
	char *patient; /* folded */
	size_t patient_len;
	struct crit_str patient_id, study_uid, series_uid, modality;
	char date_from[9], date_to[9]; /* "" = open */
	/* the last patient name examined and whether it matched */
	uint8_t last[NAME_MAX_LEN];
	size_t last_len;
	int have_last, last_match;
	char folded[FOLD_CAP];
	uint8_t scratch[FOLD_CAP];
};

void mv_find_matcher_free(struct mv_find_matcher *m)
{
	if (!m)
		return;
	free(m->patient);
	free(m->patient_id.s);
	free(m->study_uid.s);
	free(m->series_uid.s);
	free(m->modality.s);
	free(m);
}

static int dup_opt(const char *s, struct crit_str *out)
{
	out->s = NULL;
	out->n = 0;
	if (!s)
		return 0;
	out->s = strdup(s);
	out->n = strlen(s);
	return out->s ? 0 : -1;
}

int mv_find_matcher_new(const struct mv_find_query *q, struct mv_find_matcher **out,
                        struct mv_error *err)
{
	struct mv_find_matcher *m = calloc(1, sizeof(*m));
	int rc = MV_ERR_NOMEM;

	*out = NULL;
	if (!m)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	if (dup_opt(q->patient_id, &m->patient_id) || dup_opt(q->study_uid, &m->study_uid) ||
	    dup_opt(q->series_uid, &m->series_uid) || dup_opt(q->modality, &m->modality))
		goto fail;
	if (q->patient) {
		size_t n = strlen(q->patient), cap;
		if (mv_size_mul(n, 8, &cap) || mv_size_add(cap, 64, &cap))
			goto fail;
		m->patient = malloc(cap);
		uint8_t *scratch = malloc(cap);
		long len = m->patient && scratch
		               ? fold((const uint8_t *)q->patient, n, m->patient, cap, scratch, cap)
		               : -1;
		free(scratch);
		if (len < 0)
			goto fail;
		if (len == 0) {
			rc = mv_error_set(err, MV_ERR_USAGE, 0,
			                  "the patient name '%.64s' has nothing to search for",
			                  q->patient);
			goto out;
		}
		m->patient_len = (size_t)len;
		m->crit |= MV_FIND_PATIENT;
	}
	if (q->dates) {
		if ((rc = parse_dates(q->dates, m->date_from, m->date_to, err)))
			goto out;
		m->crit |= MV_FIND_DATE;
	}
	m->crit |=
	    (m->patient_id.s ? MV_FIND_PATIENT_ID : 0) | (m->study_uid.s ? MV_FIND_STUDY_UID : 0) |
	    (m->series_uid.s ? MV_FIND_SERIES_UID : 0) | (m->modality.s ? MV_FIND_MODALITY : 0);
	if (!m->crit) {
		rc = mv_error_set(err, MV_ERR_USAGE, 0, "no search criterion given");
		goto out;
	}
	*out = m;
	return 0;
fail:
	rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
out:
	mv_find_matcher_free(m);
	return rc;
}

unsigned mv_find_matcher_criteria(const struct mv_find_matcher *m)
{
	return m->crit;
}

static int patient_match(struct mv_find_matcher *m, const uint8_t *name, size_t n)
{
	if (n > NAME_MAX_LEN)
		n = NAME_MAX_LEN;
	if (m->have_last && m->last_len == n && memcmp(m->last, name, n) == 0)
		return m->last_match;
	long len = fold(name, n, m->folded, sizeof(m->folded), m->scratch, sizeof(m->scratch));
	int hit = len >= (long)m->patient_len && strstr(m->folded, m->patient) != NULL;
	memcpy(m->last, name, n);
	m->last_len = n;
	m->have_last = 1;
	m->last_match = hit;
	return hit;
}

static int str_is(const struct crit_str *c, const uint8_t *v, size_t n)
{
	return c->n == n && memcmp(c->s, v, n) == 0;
}

static int str_is_nocase(const struct crit_str *c, const uint8_t *v, size_t n)
{
	if (c->n != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned a = (unsigned char)c->s[i], b = v[i];
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return 0;
	}
	return 1;
}

/* Whether field f of r passes criterion c (compared ignoring ASCII case
 * when nocase): always when c is not given. */
static int field_is(const struct crit_str *c, const struct mv_catalog_rec *r, int f, int nocase)
{
	if (!c->s)
		return 1;
	if (nocase)
		return str_is_nocase(c, r->field[f], r->field_len[f]);
	return str_is(c, r->field[f], r->field_len[f]);
}

unsigned mv_find_matcher_match_rec(struct mv_find_matcher *m, const struct mv_catalog_rec *r)
{
	char d[9];

	if (!field_is(&m->patient_id, r, MV_CAT_PATIENT_ID, 0) ||
	    !field_is(&m->study_uid, r, MV_CAT_STUDY_UID, 0) ||
	    !field_is(&m->series_uid, r, MV_CAT_SERIES_UID, 0) ||
	    !field_is(&m->modality, r, MV_CAT_MODALITY, 1))
		return 0;
	if (m->crit & MV_FIND_DATE) {
		if (study_date(r->field[MV_CAT_STUDY_DATE], r->field_len[MV_CAT_STUDY_DATE], d) !=
		        0 ||
		    (m->date_from[0] && strcmp(d, m->date_from) < 0) ||
		    (m->date_to[0] && strcmp(d, m->date_to) > 0))
			return 0;
	}
	if (m->patient &&
	    !patient_match(m, r->field[MV_CAT_PATIENT_NAME], r->field_len[MV_CAT_PATIENT_NAME]))
		return 0;
	return m->crit;
}

unsigned mv_find_matcher_match(struct mv_find_matcher *m, const struct mv_dicom_info *info)
{
	struct mv_catalog_rec r;
	mv_catalog_rec_from_info(&r, info);
	return mv_find_matcher_match_rec(m, &r);
}

const char *mv_find_criterion_name(unsigned bit)
{
	switch (bit) {
	case MV_FIND_PATIENT:
		return "patient";
	case MV_FIND_PATIENT_ID:
		return "patient_id";
	case MV_FIND_STUDY_UID:
		return "study_uid";
	case MV_FIND_SERIES_UID:
		return "series_uid";
	case MV_FIND_MODALITY:
		return "modality";
	case MV_FIND_DATE:
		return "date";
	default:
		return NULL;
	}
}

/* ---- instances seen: an open-addressing set of 128-bit keyed hashes ----- */

struct slot {
	uint64_t h[2]; /* both zero: empty */
	uint32_t snap; /* index of the snapshot that holds it */
};

struct seen {
	struct slot *slots;
	size_t cap, count; /* cap: a power of two */
	uint8_t key[crypto_shorthash_siphashx24_KEYBYTES];
	uint8_t *buf; /* the hashed key's bytes */
};

static int seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->cap = 1u << 16;
	s->slots = calloc(s->cap, sizeof(*s->slots));
	s->buf = malloc(KEY_CAP);
	randombytes_buf(s->key, sizeof(s->key));
	return s->slots && s->buf ? 0 : -1;
}

static void seen_release(struct seen *s)
{
	free(s->slots);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

static struct slot *seen_find(struct slot *slots, size_t cap, const uint64_t h[2])
{
	size_t i = (size_t)h[0] & (cap - 1);
	while (slots[i].h[0] || slots[i].h[1]) {
		if (slots[i].h[0] == h[0] && slots[i].h[1] == h[1])
			return &slots[i];
		i = (i + 1) & (cap - 1);
	}
	return &slots[i];
}

static int seen_grow(struct seen *s)
{
	size_t ncap = s->cap * 2;
	struct slot *n = calloc(ncap, sizeof(*n));
	if (!n)
		return -1;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i].h[0] || s->slots[i].h[1])
			*seen_find(n, ncap, s->slots[i].h) = s->slots[i];
	free(s->slots);
	s->slots = n;
	s->cap = ncap;
	return 0;
}

/* The instance's key: its SOPInstanceUID, or without one its path and
 * member. */
static void instance_hash(struct seen *s, const struct mv_catalog_rec *r, uint64_t h[2])
{
	size_t n;
	uint8_t out[16];
	size_t ul = r->field_len[MV_CAT_SOP_UID];

	if (ul) {
		s->buf[0] = 'U';
		memcpy(s->buf + 1, r->field[MV_CAT_SOP_UID], ul);
		n = 1 + ul;
	} else {
		s->buf[0] = 'P';
		memcpy(s->buf + 1, r->path, r->path_len);
		s->buf[1 + r->path_len] = '\0';
		if (r->member_len)
			memcpy(s->buf + 2 + r->path_len, r->member, r->member_len);
		n = 2 + r->path_len + r->member_len;
	}
	crypto_shorthash_siphashx24(out, s->buf, n, s->key);
	memcpy(h, out, 16);
	if (!h[0] && !h[1])
		h[0] = 1;
}

/* Returns 1 when the entry is to be skipped (the instance was reported from
 * a newer snapshot), 0 otherwise (recorded when insert), -1 out of memory. */
static int seen_check(struct seen *s, const struct mv_catalog_rec *r, uint32_t snap, int insert)
{
	uint64_t h[2];

	instance_hash(s, r, h);
	struct slot *sl = seen_find(s->slots, s->cap, h);
	if (sl->h[0] || sl->h[1])
		return sl->snap != snap;
	if (!insert)
		return 0;
	sl->h[0] = h[0];
	sl->h[1] = h[1];
	sl->snap = snap;
	if (++s->count * 2 > s->cap && seen_grow(s) != 0)
		return -1;
	return 0;
}

/* ---- find ------------------------------------------------------------------ */

/* Searches one snapshot's catalog. Returns 0, the callback's value, or an
 * error (MV_ERR_INTEGRITY and MV_ERR_NOTFOUND: damaged catalog). */
static int find_in(struct mv_repo *r, const struct mv_snapshot *s, uint32_t idx,
                   struct mv_find_matcher *m, struct seen *seen, int dedup, int insert,
                   mv_find_cb cb, void *arg, struct mv_find_stats *st, struct mv_error *err)
{
	struct mv_catalog_cursor *c = NULL;
	struct mv_catalog_rec rec;
	struct mv_catalog_entry e;
	int rc = mv_catalog_cursor_open(r, NULL, s, &c, err);

	while (rc == 0 && (rc = mv_catalog_cursor_next_rec(c, &rec, err)) == 1) {
		rc = 0;
		st->entries++;
		unsigned bits = mv_find_matcher_match_rec(m, &rec);
		if (!bits)
			continue;
		/* only matches are de-duplicated: most entries never get hashed */
		if (dedup) {
			int skip = seen_check(seen, &rec, idx, insert);
			if (skip < 0) {
				rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
				break;
			}
			if (skip)
				continue;
		}
		mv_catalog_cursor_entry(c, &rec, &e);
		struct mv_find_match fm = {s, &e, bits};
		st->matches++;
		rc = cb(arg, &fm);
		if (rc)
			break;
	}
	mv_catalog_cursor_free(c);
	return rc;
}

int mv_find(struct mv_repo *r, const struct mv_find_query *q, mv_find_cb cb, void *arg,
            struct mv_find_stats *st, struct mv_error *err)
{
	struct mv_find_stats dummy;
	struct mv_find_matcher *m = NULL;
	struct mv_snapshot *snaps = NULL;
	struct seen seen;
	size_t n = 0, damaged = 0, with = 0, left;
	int rc;

	memset(&seen, 0, sizeof(seen));
	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if ((rc = mv_find_matcher_new(q, &m, err)))
		return rc;
	if ((rc = mv_repo_snapshots(r, &snaps, &n, &damaged, err)))
		goto out;
	st->damaged = damaged;
	for (size_t i = 0; i < n; i++)
		with += snaps[i].ncatalog > 0;
	st->without_catalog = n - with;
	if (with > 1 && seen_init(&seen) != 0) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	left = with;
	for (size_t i = n; i-- > 0 && rc == 0;) {
		if (!snaps[i].ncatalog)
			continue;
		left--;
		st->snapshots++;
		/* the oldest snapshot searched need not record what it holds */
		rc = find_in(r, &snaps[i], (uint32_t)i, m, &seen, with > 1, left > 0, cb, arg, st,
		             err);
		if (rc == MV_ERR_INTEGRITY || rc == MV_ERR_NOTFOUND) {
			char hex[65];
			mv_hex(snaps[i].id, 4, hex);
			mv_error_prefix(err, rc, "snapshot %s", hex);
			st->damaged++;
			rc = 0;
		}
	}
out:
	seen_release(&seen);
	mv_snapshots_free(snaps, n);
	mv_find_matcher_free(m);
	return rc;
}

/* ---- paths of a snapshot ---------------------------------------------------- */

void mv_catalog_paths_free(char **paths, size_t n)
{
	for (size_t i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mv_catalog_paths_has(char *const *paths, size_t n, const char *path)
{
	return n && bsearch(&path, paths, n, sizeof(*paths), str_cmp) != NULL;
}

int mv_catalog_select_paths(struct mv_repo *r, const struct mv_snapshot *s,
                            const struct mv_find_query *q, char ***paths, size_t *n,
                            struct mv_error *err)
{
	struct mv_find_matcher *m = NULL;
	struct mv_catalog_cursor *c = NULL;
	struct mv_catalog_rec rec;
	char **v = NULL;
	size_t count = 0, cap = 0;
	int rc;

	*paths = NULL;
	*n = 0;
	if ((rc = mv_find_matcher_new(q, &m, err)))
		return rc;
	if ((rc = mv_catalog_cursor_open(r, NULL, s, &c, err)))
		goto out;
	while ((rc = mv_catalog_cursor_next_rec(c, &rec, err)) == 1) {
		rc = 0;
		if (!mv_find_matcher_match_rec(m, &rec))
			continue;
		/* entries of one file (archive members) are consecutive */
		if (count && strlen(v[count - 1]) == rec.path_len &&
		    memcmp(v[count - 1], rec.path, rec.path_len) == 0)
			continue;
		if (mv_grow(v, cap, count + 1)) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			goto out;
		}
		if (!(v[count] = malloc(rec.path_len + 1))) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			goto out;
		}
		memcpy(v[count], rec.path, rec.path_len);
		v[count][rec.path_len] = '\0';
		count++;
	}
	if (rc)
		goto out;
	if (count > 1) {
		qsort(v, count, sizeof(*v), str_cmp);
		size_t k = 1;
		for (size_t i = 1; i < count; i++) {
			if (strcmp(v[k - 1], v[i]) == 0)
				free(v[i]);
			else
				v[k++] = v[i];
		}
		count = k;
	}
	*paths = v;
	*n = count;
	v = NULL;
	count = 0;
out:
	mv_catalog_paths_free(v, count);
	mv_catalog_cursor_free(c);
	mv_find_matcher_free(m);
	return rc;
}
