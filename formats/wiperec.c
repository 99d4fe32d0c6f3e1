/* The wipe record (FORMAT.md section 14). */
#include "formats/wiperec.h"

#include <stdlib.h>
#include <string.h>

static int zero32(const uint8_t *p)
{
	uint8_t acc = 0;
	for (int i = 0; i < 32; i++)
		acc |= p[i];
	return acc == 0;
}

static int item_ok(const struct mv_wiperec_item *it)
{
	if (it->status < 1 || it->status > 4 || (it->flags & ~3u) || it->path_len == 0 ||
	    it->path_len > 65535 || it->reason_len > 65535)
		return 0;
	if (!(it->flags & MV_WIPEREC_HAS_CONTENT) && !zero32(it->content))
		return 0;
	if (!(it->flags & MV_WIPEREC_HAS_SNAPSHOT) && !zero32(it->snapshot))
		return 0;
	return 1;
}

int mv_wiperec_encode(const struct mv_wiperec *rec, struct mv_wbuf *w)
{
	if (rec->mode < 1 || rec->mode > 3 || (rec->flags & ~MV_WIPEREC_HAS_SNAPSHOT) ||
	    (!(rec->flags & MV_WIPEREC_HAS_SNAPSHOT) && !zero32(rec->snapshot)))
		return MV_FMT_MALFORMED;
	if (rec->cert_len > UINT32_MAX)
		return MV_FMT_LIMIT;
	mv_wbuf_u8(w, MV_WIPEREC_VERSION);
	mv_wbuf_u8(w, rec->mode);
	mv_wbuf_i64(w, rec->start);
	mv_wbuf_i64(w, rec->end);
	mv_wbuf_str16(w, rec->host, rec->host_len);
	mv_wbuf_str16(w, rec->operator_name, rec->operator_len);
	mv_wbuf_u8(w, rec->flags);
	mv_wbuf_put(w, rec->snapshot, 32);
	mv_wbuf_u32(w, rec->n);
	for (uint32_t i = 0; i < rec->n && !w->failed; i++) {
		const struct mv_wiperec_item *it = &rec->items[i];
		if (!item_ok(it))
			return it->path_len > 65535 || it->reason_len > 65535 ? MV_FMT_LIMIT
			                                                      : MV_FMT_MALFORMED;
		mv_wbuf_u8(w, it->status);
		mv_wbuf_u8(w, it->flags);
		mv_wbuf_u64(w, it->size);
		mv_wbuf_put(w, it->content, 32);
		mv_wbuf_put(w, it->snapshot, 32);
		mv_wbuf_str16(w, it->path, it->path_len);
		mv_wbuf_str16(w, it->reason, it->reason_len);
	}
	mv_wbuf_u32(w, (uint32_t)rec->cert_len);
	mv_wbuf_put(w, rec->cert, rec->cert_len);
	return w->failed;
}

/* Smallest encoded item: status, flags, size, two ids, two empty str16. */
#define ITEM_MIN (1 + 1 + 8 + 32 + 32 + 2 + 2)

int mv_wiperec_decode(const uint8_t *p, size_t len, struct mv_wiperec *rec)
{
	struct mv_rbuf r;
	memset(rec, 0, sizeof(*rec));
	if (len > MV_WIPEREC_MAX)
		return MV_FMT_MALFORMED;
	mv_rbuf_init(&r, p, len);
	uint8_t version = mv_rbuf_u8(&r);
	if (r.failed)
		return MV_FMT_MALFORMED;
	if (version != MV_WIPEREC_VERSION)
		return version > MV_WIPEREC_VERSION ? MV_FMT_VERSION : MV_FMT_MALFORMED;
	rec->mode = mv_rbuf_u8(&r);
	rec->start = mv_rbuf_i64(&r);
	rec->end = mv_rbuf_i64(&r);
	rec->host = mv_rbuf_str16(&r, &rec->host_len);
	rec->operator_name = mv_rbuf_str16(&r, &rec->operator_len);
	rec->flags = mv_rbuf_u8(&r);
	const uint8_t *snap = mv_rbuf_get(&r, 32);
	rec->n = mv_rbuf_u32(&r);
	if (r.failed || rec->mode < 1 || rec->mode > 3 || (rec->flags & ~MV_WIPEREC_HAS_SNAPSHOT))
		return MV_FMT_MALFORMED;
	memcpy(rec->snapshot, snap, 32);
	if (!(rec->flags & MV_WIPEREC_HAS_SNAPSHOT) && !zero32(rec->snapshot))
		return MV_FMT_MALFORMED;
	if (rec->n > mv_rbuf_left(&r) / ITEM_MIN)
		return MV_FMT_MALFORMED;
	if (rec->n) {
		rec->items = calloc(rec->n, sizeof(*rec->items));
		if (!rec->items)
			return MV_FMT_NOMEM;
	}
	for (uint32_t i = 0; i < rec->n; i++) {
		struct mv_wiperec_item *it = &rec->items[i];
		it->status = mv_rbuf_u8(&r);
		it->flags = mv_rbuf_u8(&r);
		it->size = mv_rbuf_u64(&r);
		const uint8_t *c = mv_rbuf_get(&r, 32);
		const uint8_t *s = mv_rbuf_get(&r, 32);
		it->path = mv_rbuf_str16(&r, &it->path_len);
		it->reason = mv_rbuf_str16(&r, &it->reason_len);
		if (r.failed)
			return MV_FMT_MALFORMED;
		memcpy(it->content, c, 32);
		memcpy(it->snapshot, s, 32);
		if (!item_ok(it))
			return MV_FMT_MALFORMED;
	}
	uint32_t cl = mv_rbuf_u32(&r);
	rec->cert = mv_rbuf_get(&r, cl);
	rec->cert_len = cl;
	if (r.failed || mv_rbuf_left(&r) != 0)
		return MV_FMT_MALFORMED;
	return 0;
}

void mv_wiperec_release(struct mv_wiperec *rec)
{
	free(rec->items);
	rec->items = NULL;
	rec->n = 0;
}
