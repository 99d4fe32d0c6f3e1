#include "formats/buf.h"

#include <stdlib.h>
#include <string.h>

int mv_fmt_grow_array(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap < 16 ? 16 : *cap;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return MV_FMT_NOMEM;
		n *= 2;
	}
	if (size && n > SIZE_MAX / size)
		return MV_FMT_NOMEM;
	void *q = realloc(*p, n * size);
	if (!q)
		return MV_FMT_NOMEM;
	*p = q;
	*cap = n;
	return 0;
}

void mv_wbuf_init(struct mv_wbuf *w, size_t max)
{
	w->data = NULL;
	w->len = 0;
	w->cap = 0;
	w->max = max;
	w->failed = 0;
}

void mv_wbuf_release(struct mv_wbuf *w)
{
	free(w->data);
	mv_wbuf_init(w, w->max);
}

uint8_t *mv_wbuf_reserve(struct mv_wbuf *w, size_t n)
{
	if (w->failed)
		return NULL;
	if (n > w->max || w->len > w->max - n) {
		w->failed = MV_FMT_LIMIT;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t ncap = w->cap ? w->cap : 256;
		while (ncap < w->len + n)
			ncap = ncap > w->max / 2 ? w->max : ncap * 2;
		uint8_t *nd = realloc(w->data, ncap);
		if (!nd) {
			w->failed = MV_FMT_NOMEM;
			return NULL;
		}
		w->data = nd;
		w->cap = ncap;
	}
	uint8_t *p = w->data + w->len;
	w->len += n;
	return p;
}

void mv_wbuf_put(struct mv_wbuf *w, const void *p, size_t n)
{
	uint8_t *d = mv_wbuf_reserve(w, n);
	if (d && n)
		memcpy(d, p, n);
}

void mv_wbuf_u8(struct mv_wbuf *w, uint8_t v)
{
	mv_wbuf_put(w, &v, 1);
}

void mv_wbuf_u16(struct mv_wbuf *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	mv_wbuf_put(w, b, 2);
}

void mv_wbuf_u32(struct mv_wbuf *w, uint32_t v)
{
	uint8_t b[4];
	mv_put_u32(b, v);
	mv_wbuf_put(w, b, 4);
}

void mv_wbuf_u64(struct mv_wbuf *w, uint64_t v)
{
	uint8_t b[8];
	mv_put_u64(b, v);
	mv_wbuf_put(w, b, 8);
}

void mv_wbuf_i64(struct mv_wbuf *w, int64_t v)
{
	mv_wbuf_u64(w, (uint64_t)v);
}

void mv_wbuf_str16(struct mv_wbuf *w, const void *p, size_t n)
{
	if (n > 0xffff) {
		mv_wbuf_fail(w, MV_FMT_LIMIT);
		return;
	}
	mv_wbuf_u16(w, (uint16_t)n);
	mv_wbuf_put(w, p, n);
}

void mv_rbuf_init(struct mv_rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->failed = 0;
}

const uint8_t *mv_rbuf_get(struct mv_rbuf *r, size_t n)
{
	if (r->failed || n > r->len - r->pos) {
		r->failed = 1;
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}

uint8_t mv_rbuf_u8(struct mv_rbuf *r)
{
	const uint8_t *p = mv_rbuf_get(r, 1);
	return p ? p[0] : 0;
}

uint16_t mv_rbuf_u16(struct mv_rbuf *r)
{
	const uint8_t *p = mv_rbuf_get(r, 2);
	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t mv_rbuf_u32(struct mv_rbuf *r)
{
	const uint8_t *p = mv_rbuf_get(r, 4);
	return p ? mv_get_u32(p) : 0;
}

uint64_t mv_rbuf_u64(struct mv_rbuf *r)
{
	const uint8_t *p = mv_rbuf_get(r, 8);
	return p ? mv_get_u64(p) : 0;
}

int64_t mv_rbuf_i64(struct mv_rbuf *r)
{
	return (int64_t)mv_rbuf_u64(r);
}

const uint8_t *mv_rbuf_str16(struct mv_rbuf *r, size_t *len)
{
	size_t n = mv_rbuf_u16(r);
	const uint8_t *p = mv_rbuf_get(r, n);
	*len = p ? n : 0;
	return p;
}
