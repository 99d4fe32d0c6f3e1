/* Pack header and index payloads (FORMAT.md sections 6, 7 and 11).
 *
 * Decoders make two passes: the first validates the whole payload without
 * calling anyone, the second hands the entries to the callback. So a
 * malformed payload never reaches the callback at all, and a caller never has
 * to undo half an index. Nothing here allocates. */
#include "formats/index.h"

#include <string.h>

/* Smallest per-pack record of an index payload: id + u32 blob count. */
#define INDEX_PACK_MIN_LEN 36u

static void read_entry(struct mv_rbuf *r, struct mv_index_entry *e)
{
	e->type = mv_rbuf_u8(r);
	const uint8_t *id = mv_rbuf_get(r, 32);
	if (id)
		memcpy(e->id, id, 32);
	else
		memset(e->id, 0, 32);
	e->offset = mv_rbuf_u32(r);
	e->length = mv_rbuf_u32(r);
	e->raw_length = mv_rbuf_u32(r);
}

/* Checks one entry against the previous one's end (*end) and, when
 * check_data is set, against data_len. Updates *end. Returns 0 or MV_FMT_MALFORMED. */
static int check_entry(const struct mv_index_entry *e, uint64_t *end, int check_data,
                       uint64_t data_len)
{
	if (e->type < MV_INDEX_TYPE_MIN || e->type > MV_INDEX_TYPE_MAX)
		return MV_FMT_MALFORMED;
	if (e->length < MV_SEALED_MIN_LEN || e->raw_length > MV_INDEX_MAX_RAW)
		return MV_FMT_MALFORMED;
	if ((uint64_t)e->offset < *end)
		return MV_FMT_MALFORMED;
	uint64_t stop = (uint64_t)e->offset + e->length; /* cannot overflow */
	if (check_data && stop > data_len)
		return MV_FMT_MALFORMED;
	*end = stop;
	return 0;
}

/* Validates `count` entries at the reader's position (advancing it). */
static int check_entries(struct mv_rbuf *r, uint32_t count, int check_data, uint64_t data_len)
{
	if (count > mv_rbuf_left(r) / MV_INDEX_ENTRY_LEN)
		return MV_FMT_MALFORMED;
	uint64_t end = 0;
	for (uint32_t i = 0; i < count; i++) {
		struct mv_index_entry e;
		read_entry(r, &e);
		if (r->failed || check_entry(&e, &end, check_data, data_len))
			return MV_FMT_MALFORMED;
	}
	return 0;
}

static int encode_entries_ok(const struct mv_index_entry *e, size_t n)
{
	uint64_t end = 0;
	for (size_t i = 0; i < n; i++)
		if (check_entry(&e[i], &end, 0, 0))
			return 0;
	return 1;
}

static void write_entry(struct mv_wbuf *w, const struct mv_index_entry *e)
{
	uint8_t *d = mv_wbuf_reserve(w, MV_INDEX_ENTRY_LEN);
	if (!d)
		return;
	d[0] = e->type;
	memcpy(d + 1, e->id, 32);
	mv_put_u32(d + 33, e->offset);
	mv_put_u32(d + 37, e->length);
	mv_put_u32(d + 41, e->raw_length);
}

void mv_packhdr_encode(const struct mv_index_entry *e, size_t n, struct mv_wbuf *w)
{
	if (n > (MV_PACKHDR_MAX - 4) / MV_INDEX_ENTRY_LEN) {
		mv_wbuf_fail(w, MV_FMT_LIMIT);
		return;
	}
	if ((n && !e) || !encode_entries_ok(e, n)) {
		mv_wbuf_fail(w, MV_FMT_MALFORMED);
		return;
	}
	mv_wbuf_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		write_entry(w, &e[i]);
}

int mv_packhdr_decode(const uint8_t *p, size_t len, uint64_t data_len,
                      int (*cb)(void *arg, const struct mv_index_entry *e), void *arg)
{
	struct mv_rbuf r;

	if (len > MV_PACKHDR_MAX || (len && !p))
		return MV_FMT_MALFORMED;
	mv_rbuf_init(&r, p, len);
	uint32_t count = mv_rbuf_u32(&r);
	if (r.failed || check_entries(&r, count, 1, data_len) || mv_rbuf_left(&r) != 0)
		return MV_FMT_MALFORMED;

	mv_rbuf_init(&r, p, len);
	(void)mv_rbuf_u32(&r);
	for (uint32_t i = 0; i < count; i++) {
		struct mv_index_entry e;
		read_entry(&r, &e);
		int rc = cb ? cb(arg, &e) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

void mv_index_encode(const struct mv_index_pack *packs, size_t npacks, struct mv_wbuf *w)
{
	if (npacks > UINT32_MAX || (npacks && !packs)) {
		mv_wbuf_fail(w, npacks > UINT32_MAX ? MV_FMT_LIMIT : MV_FMT_MALFORMED);
		return;
	}
	for (size_t i = 0; i < npacks; i++) {
		if (packs[i].count > UINT32_MAX) {
			mv_wbuf_fail(w, MV_FMT_LIMIT);
			return;
		}
		if ((packs[i].count && !packs[i].entries) ||
		    !encode_entries_ok(packs[i].entries, packs[i].count)) {
			mv_wbuf_fail(w, MV_FMT_MALFORMED);
			return;
		}
	}
	mv_wbuf_u32(w, (uint32_t)npacks);
	for (size_t i = 0; i < npacks; i++) {
		mv_wbuf_put(w, packs[i].id, 32);
		mv_wbuf_u32(w, (uint32_t)packs[i].count);
		for (size_t j = 0; j < packs[i].count; j++)
			write_entry(w, &packs[i].entries[j]);
	}
}

int mv_index_decode(const uint8_t *p, size_t len,
                    int (*cb)(void *arg, const uint8_t pack_id[32], const struct mv_index_entry *e),
                    void *arg)
{
	struct mv_rbuf r;

	if (len && !p)
		return MV_FMT_MALFORMED;
	mv_rbuf_init(&r, p, len);
	uint32_t npacks = mv_rbuf_u32(&r);
	if (r.failed || npacks > mv_rbuf_left(&r) / INDEX_PACK_MIN_LEN)
		return MV_FMT_MALFORMED;
	for (uint32_t i = 0; i < npacks; i++) {
		(void)mv_rbuf_get(&r, 32);
		uint32_t count = mv_rbuf_u32(&r);
		if (r.failed || check_entries(&r, count, 0, 0))
			return MV_FMT_MALFORMED;
	}
	if (mv_rbuf_left(&r) != 0)
		return MV_FMT_MALFORMED;

	mv_rbuf_init(&r, p, len);
	(void)mv_rbuf_u32(&r);
	for (uint32_t i = 0; i < npacks; i++) {
		const uint8_t *id = mv_rbuf_get(&r, 32);
		uint32_t count = mv_rbuf_u32(&r);
		for (uint32_t j = 0; j < count; j++) {
			struct mv_index_entry e;
			read_entry(&r, &e);
			if (r.failed || !id)
				return MV_FMT_MALFORMED; /* unreachable: validated above */
			int rc = cb ? cb(arg, id, &e) : 0;
			if (rc)
				return rc;
		}
	}
	return 0;
}
