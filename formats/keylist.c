#include "formats/keylist.h"

#include <stdlib.h>
#include <string.h>

static int label_ok(uint8_t kind, const char *label, size_t len)
{
	if (kind < 1 || kind > 3 || len > MV_KEYLIST_LABEL_MAX)
		return 0;
	return len == 0 || memchr(label, '\0', len) == NULL;
}

/* host or user: up to 64 bytes without NUL or control characters */
static int origin_ok(const char *s)
{
	size_t n = strnlen(s, MV_KEYLIST_ORIGIN_MAX + 1);
	if (n > MV_KEYLIST_ORIGIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int entry_ok(const struct mv_keylist_entry *x)
{
	return label_ok(x->kind, x->label, x->label_len) && x->state <= MV_KEYLIST_REMOVING &&
	       origin_ok(x->host) && origin_ok(x->user);
}

int mv_keylist_encode(const struct mv_keylist *kl, struct mv_wbuf *w)
{
	if (kl->n == 0 || kl->n > MV_KEYLIST_MAX)
		return MV_FMT_MALFORMED;
	for (uint32_t i = 0; i < kl->n; i++) {
		const struct mv_keylist_entry *x = &kl->e[i];
		if (!entry_ok(x))
			return MV_FMT_MALFORMED;
		if (i > 0 && memcmp(kl->e[i - 1].id, x->id, 32) >= 0)
			return MV_FMT_MALFORMED;
	}
	mv_wbuf_u8(w, MV_KEYLIST_VERSION);
	mv_wbuf_u64(w, kl->generation);
	mv_wbuf_u32(w, kl->n);
	for (uint32_t i = 0; i < kl->n; i++) {
		const struct mv_keylist_entry *x = &kl->e[i];
		mv_wbuf_put(w, x->id, 32);
		mv_wbuf_u8(w, x->kind);
		mv_wbuf_str16(w, x->label, x->label_len);
		mv_wbuf_u8(w, x->state);
		mv_wbuf_i64(w, x->created);
		mv_wbuf_str16(w, x->host, strlen(x->host));
		mv_wbuf_str16(w, x->user, strlen(x->user));
	}
	return w->failed ? -1 : 0;
}

/* A str16 of at most MV_KEYLIST_ORIGIN_MAX bytes into out (NUL-terminated).
 * Returns 0 or -1. */
static int read_origin(struct mv_rbuf *r, char out[MV_KEYLIST_ORIGIN_MAX + 1])
{
	size_t n = 0;
	const uint8_t *p = mv_rbuf_str16(r, &n);
	if (!p || r->failed || n > MV_KEYLIST_ORIGIN_MAX || memchr(p, '\0', n))
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return origin_ok(out) ? 0 : -1;
}

int mv_keylist_decode(const uint8_t *p, size_t len, struct mv_keylist *kl)
{
	struct mv_rbuf r;

	memset(kl, 0, sizeof(*kl));
	mv_rbuf_init(&r, p, len);
	uint8_t version = mv_rbuf_u8(&r);
	uint64_t gen = mv_rbuf_u64(&r);
	uint32_t n = mv_rbuf_u32(&r);
	if (r.failed || version < 1 || version > MV_KEYLIST_VERSION || n == 0 || n > MV_KEYLIST_MAX)
		return MV_FMT_MALFORMED;
	/* each entry takes at least 35 bytes (48 in version 2): no allocation
	 * beyond the input */
	if (mv_rbuf_left(&r) / (version == 1 ? 35 : 48) < n)
		return MV_FMT_MALFORMED;
	kl->e = calloc(n, sizeof(*kl->e));
	if (!kl->e)
		return MV_FMT_NOMEM;
	kl->generation = gen;
	for (uint32_t i = 0; i < n; i++) {
		struct mv_keylist_entry *x = &kl->e[i];
		const uint8_t *id = mv_rbuf_get(&r, 32);
		uint8_t kind = mv_rbuf_u8(&r);
		size_t ll = 0;
		const uint8_t *label = mv_rbuf_str16(&r, &ll);
		if (!id || !label || r.failed || !label_ok(kind, (const char *)label, ll))
			return MV_FMT_MALFORMED;
		if (i > 0 && memcmp(kl->e[i - 1].id, id, 32) >= 0)
			return MV_FMT_MALFORMED;
		memcpy(x->id, id, 32);
		x->kind = kind;
		x->label_len = (uint8_t)ll;
		memcpy(x->label, label, ll);
		x->label[ll] = '\0';
		if (version >= 2) {
			x->state = mv_rbuf_u8(&r);
			x->created = mv_rbuf_i64(&r);
			if (r.failed || x->state > MV_KEYLIST_REMOVING ||
			    read_origin(&r, x->host) || read_origin(&r, x->user))
				return MV_FMT_MALFORMED;
		}
		kl->n = i + 1;
	}
	if (mv_rbuf_left(&r) != 0)
		return MV_FMT_MALFORMED;
	return 0;
}

/* Index of the first entry whose id is >= id. */
static uint32_t lower_bound(const struct mv_keylist *kl, const uint8_t id[32])
{
	uint32_t lo = 0, hi = kl->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (memcmp(kl->e[mid].id, id, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct mv_keylist_entry *mv_keylist_find(const struct mv_keylist *kl, const uint8_t id[32])
{
	uint32_t i = lower_bound(kl, id);
	return i < kl->n && memcmp(kl->e[i].id, id, 32) == 0 ? &kl->e[i] : NULL;
}

struct mv_keylist_entry *mv_keylist_find_mut(struct mv_keylist *kl, const uint8_t id[32])
{
	uint32_t i = lower_bound(kl, id);
	return i < kl->n && memcmp(kl->e[i].id, id, 32) == 0 ? &kl->e[i] : NULL;
}

int mv_keylist_add_entry(struct mv_keylist *kl, const struct mv_keylist_entry *x)
{
	if (!entry_ok(x) || kl->n >= MV_KEYLIST_MAX || mv_keylist_find(kl, x->id))
		return MV_FMT_MALFORMED;
	struct mv_keylist_entry *ne = realloc(kl->e, (kl->n + 1) * sizeof(*ne));
	if (!ne)
		return MV_FMT_NOMEM;
	kl->e = ne;
	uint32_t at = lower_bound(kl, x->id);
	memmove(&kl->e[at + 1], &kl->e[at], (kl->n - at) * sizeof(*ne));
	kl->e[at] = *x;
	kl->n++;
	return 0;
}

int mv_keylist_add(struct mv_keylist *kl, const uint8_t id[32], uint8_t kind, const char *label,
                   size_t label_len)
{
	struct mv_keylist_entry x;

	if (label_len > MV_KEYLIST_LABEL_MAX)
		return MV_FMT_MALFORMED;
	memset(&x, 0, sizeof(x));
	memcpy(x.id, id, 32);
	x.kind = kind;
	x.label_len = (uint8_t)label_len;
	if (label_len)
		memcpy(x.label, label, label_len);
	return mv_keylist_add_entry(kl, &x);
}

int mv_keylist_remove(struct mv_keylist *kl, const uint8_t id[32])
{
	uint32_t i = lower_bound(kl, id);
	if (i >= kl->n || memcmp(kl->e[i].id, id, 32) != 0)
		return MV_FMT_MALFORMED;
	memmove(&kl->e[i], &kl->e[i + 1], (kl->n - i - 1) * sizeof(*kl->e));
	kl->n--;
	return 0;
}

void mv_keylist_release(struct mv_keylist *kl)
{
	free(kl->e);
	kl->e = NULL;
	kl->n = 0;
}
