/* Bounded little-endian byte writer and reader over memory buffers.
 *
 * The writer grows up to a cap and records its first failure in a sticky
 * code (formats/fmt_err.h): MV_FMT_NOMEM (allocation failed), MV_FMT_LIMIT
 * (the cap, or a length limit of the format, was reached), MV_FMT_MALFORMED
 * (an encoder was given something its format cannot represent); a caller
 * passes that code up as it is. The reader never reads past its end and
 * records an overrun in a sticky flag, returning zeros. Callers check
 * `failed` once at the end (or inside loops that depend on decoded counts). */
#ifndef MV_BUF_H
#define MV_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "formats/fmt_err.h"

struct mv_wbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len */
	int failed; /* 0, or the first failure's MV_FMT_* code (negative) */
};

/* Records a failure (the first one stays). */
static inline void mv_wbuf_fail(struct mv_wbuf *w, int code)
{
	if (!w->failed)
		w->failed = code;
}

void mv_wbuf_init(struct mv_wbuf *w, size_t max);
/* Frees the buffer and resets it (keeping max). */
void mv_wbuf_release(struct mv_wbuf *w);
/* Makes room for n more bytes; returns a pointer to them (len is advanced)
 * or NULL (and sets failed). */
uint8_t *mv_wbuf_reserve(struct mv_wbuf *w, size_t n);
void mv_wbuf_put(struct mv_wbuf *w, const void *p, size_t n);
void mv_wbuf_u8(struct mv_wbuf *w, uint8_t v);
void mv_wbuf_u16(struct mv_wbuf *w, uint16_t v);
void mv_wbuf_u32(struct mv_wbuf *w, uint32_t v);
void mv_wbuf_u64(struct mv_wbuf *w, uint64_t v);
void mv_wbuf_i64(struct mv_wbuf *w, int64_t v);
/* u16 length + bytes; fails (sticky) when n > 65535. */
void mv_wbuf_str16(struct mv_wbuf *w, const void *p, size_t n);

/* Makes *p (an array of *cap elements of `size` bytes) hold at least `need`
 * elements, doubling its capacity (at least 16). Returns 0, or MV_FMT_NOMEM
 * (allocation failed or the size overflows) with *p and *cap unchanged.
 * The one growth helper of the program: core/util/grow.h wraps it. */
int mv_fmt_grow_array(void **p, size_t *cap, size_t need, size_t size)
    __attribute__((warn_unused_result));

/* mv_fmt_grow(arr, cap, need): for a typed pointer arr and a size_t cap. */
#define mv_fmt_grow(arr, cap, need)                                                                \
	((need) <= (cap)                                                                           \
	     ? 0                                                                                   \
	     : mv_fmt_grow_array((void **)(void *)&(arr), &(cap), (need), sizeof(*(arr))))

struct mv_rbuf {
	const uint8_t *p;
	size_t len;
	size_t pos;
	int failed;
};

void mv_rbuf_init(struct mv_rbuf *r, const void *p, size_t len);
/* Returns a pointer to the next n bytes and advances, or NULL (sets failed). */
const uint8_t *mv_rbuf_get(struct mv_rbuf *r, size_t n);
uint8_t mv_rbuf_u8(struct mv_rbuf *r);
uint16_t mv_rbuf_u16(struct mv_rbuf *r);
uint32_t mv_rbuf_u32(struct mv_rbuf *r);
uint64_t mv_rbuf_u64(struct mv_rbuf *r);
int64_t mv_rbuf_i64(struct mv_rbuf *r);
/* Reads a str16: *len gets the length, returns pointer into the buffer or
 * NULL (failed set) when it does not fit. */
const uint8_t *mv_rbuf_str16(struct mv_rbuf *r, size_t *len);
static inline size_t mv_rbuf_left(const struct mv_rbuf *r)
{
	return r->len - r->pos;
}

/* Little-endian helpers for fixed layouts. */
static inline void mv_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t mv_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void mv_put_u64(uint8_t *p, uint64_t v)
{
	mv_put_u32(p, (uint32_t)v);
	mv_put_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t mv_get_u64(const uint8_t *p)
{
	return (uint64_t)mv_get_u32(p) | (uint64_t)mv_get_u32(p + 4) << 32;
}

#endif
