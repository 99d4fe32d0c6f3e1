/* Catalog blob payloads (FORMAT.md sections 11 and 12). */
#include "formats/catalog.h"

#include <stddef.h>
#include <string.h>

/* Where each field lives in struct mv_dicom_info, and its array size. */
struct field_loc {
	size_t off, size;
};

#define LOC(m)                                                                                     \
	{                                                                                          \
		offsetof(struct mv_dicom_info, m), sizeof(((struct mv_dicom_info *)0)->m)          \
	}

static const struct field_loc field_locs[MV_CAT_NFIELDS] = {
    LOC(patient_name), LOC(patient_id), LOC(birth_date),  LOC(sex),
    LOC(study_uid),    LOC(series_uid), LOC(sop_uid),     LOC(sop_class_uid),
    LOC(study_date),   LOC(study_time), LOC(modality),    LOC(study_desc),
    LOC(series_desc),  LOC(accession),  LOC(institution), LOC(transfer_syntax),
};

/* The limits documented in FORMAT.md section 12 are these sizes less one;
 * MV_CATALOG_ENTRY_MAX counts their sum. */
_Static_assert(sizeof(((struct mv_dicom_info *)0)->patient_name) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->patient_id) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->birth_date) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->sex) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->study_uid) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->series_uid) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->sop_uid) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->sop_class_uid) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->study_date) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->study_time) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->modality) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->study_desc) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->series_desc) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->accession) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->institution) - 1 +
                       sizeof(((struct mv_dicom_info *)0)->transfer_syntax) - 1 ==
                   1592,
               "catalog field limits changed: update FORMAT.md section 12");

/* header: version u8 + count u32 */
#define HDR_LEN 5u
/* smallest entry: 1-byte path, empty member, size, flags, empty fields,
 * pixel offset */
#define ENTRY_MIN (2u + 1u + 2u + 8u + 4u + 2u * MV_CAT_NFIELDS + 8u)

size_t mv_catalog_field_max(unsigned f)
{
	return f < MV_CAT_NFIELDS ? field_locs[f].size - 1 : 0;
}

/* A byte's rank in walk order: the end of a path first, then the separator,
 * then every other byte in its order. */
static inline unsigned rank(const uint8_t *p, size_t len, size_t i)
{
	if (i >= len)
		return 0;
	return p[i] == '/' ? 1u : (unsigned)p[i] + 2u;
}

int mv_catalog_path_cmpn(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t m = alen < blen ? alen : blen, i = 0;

	/* skip the common prefix at memcmp speed */
	while (i < m) {
		size_t chunk = m - i < 64 ? m - i : 64;
		if (memcmp(a + i, b + i, chunk) != 0) {
			while (a[i] == b[i])
				i++;
			break;
		}
		i += chunk;
	}
	unsigned ra = rank(a, alen, i), rb = rank(b, blen, i);
	return ra < rb ? -1 : ra > rb ? 1 : 0;
}

void mv_catalog_rec_from_info(struct mv_catalog_rec *rec, const struct mv_dicom_info *info)
{
	const char *base = (const char *)info;

	for (unsigned f = 0; f < MV_CAT_NFIELDS; f++) {
		const char *s = base + field_locs[f].off;
		rec->field[f] = (const uint8_t *)s;
		rec->field_len[f] = strnlen(s, field_locs[f].size - 1);
	}
	rec->flags = info->flags & MV_CATALOG_KNOWN_FLAGS;
	rec->pixel_offset = info->pixel_offset;
}

void mv_catalog_rec_to_info(const struct mv_catalog_rec *rec, struct mv_dicom_info *info)
{
	char *base = (char *)info;

	/* field by field: clearing the whole struct would cost more than the
	 * copies for the short strings of a typical entry */
	for (unsigned f = 0; f < MV_CAT_NFIELDS; f++) {
		size_t n = rec->field_len[f];
		char *d = base + field_locs[f].off;
		if (n > field_locs[f].size - 1)
			n = field_locs[f].size - 1;
		if (n)
			memcpy(d, rec->field[f], n);
		d[n] = '\0';
	}
	info->pixel_offset = rec->pixel_offset;
	info->pixel_length = 0;
	info->has_pixel_data = rec->pixel_offset != 0;
	info->encapsulated = 0;
	info->rows = info->columns = info->bits_allocated = info->bits_stored = 0;
	info->pixel_representation = 0;
	info->flags = rec->flags;
}

size_t mv_catalog_rec_len(const struct mv_catalog_rec *rec)
{
	size_t n = 2 + rec->path_len + 2 + rec->member_len + 8 + 4 + 8;
	for (unsigned f = 0; f < MV_CAT_NFIELDS; f++)
		n += 2 + rec->field_len[f];
	return n;
}

static int str_ok(const uint8_t *p, size_t len, size_t min, size_t max)
{
	return len >= min && len <= max && (len == 0 || (p && !memchr(p, '\0', len)));
}

static int rec_valid(const struct mv_catalog_rec *rec)
{
	if (!str_ok(rec->path, rec->path_len, 1, 65535) ||
	    !str_ok(rec->member, rec->member_len, 0, 65535) ||
	    (rec->flags & ~(uint32_t)MV_CATALOG_KNOWN_FLAGS))
		return 0;
	for (unsigned f = 0; f < MV_CAT_NFIELDS; f++)
		if (!str_ok(rec->field[f], rec->field_len[f], 0, field_locs[f].size - 1))
			return 0;
	return 1;
}

void mv_catalog_encode_begin(struct mv_wbuf *w)
{
	mv_wbuf_u8(w, MV_CATALOG_VERSION);
	mv_wbuf_u32(w, 0);
}

void mv_catalog_encode_rec(struct mv_wbuf *w, const struct mv_catalog_rec *rec)
{
	if (!rec_valid(rec)) {
		mv_wbuf_fail(w, MV_FMT_MALFORMED);
		return;
	}
	uint8_t *p = mv_wbuf_reserve(w, mv_catalog_rec_len(rec));
	if (!p)
		return;
	struct mv_wbuf v = {p, 0, mv_catalog_rec_len(rec), mv_catalog_rec_len(rec), 0};
	mv_wbuf_str16(&v, rec->path, rec->path_len);
	mv_wbuf_str16(&v, rec->member, rec->member_len);
	mv_wbuf_u64(&v, rec->size);
	mv_wbuf_u32(&v, rec->flags);
	for (unsigned f = 0; f < MV_CAT_NFIELDS; f++)
		mv_wbuf_str16(&v, rec->field[f], rec->field_len[f]);
	mv_wbuf_u64(&v, rec->pixel_offset);
	if (v.failed || v.len != v.max)
		mv_wbuf_fail(w, v.failed ? v.failed : MV_FMT_MALFORMED);
}

void mv_catalog_encode_end(struct mv_wbuf *w, uint32_t count)
{
	if (w->failed)
		return;
	if (count > MV_CATALOG_MAX_ENTRIES || w->len < HDR_LEN) {
		w->failed = count > MV_CATALOG_MAX_ENTRIES ? MV_FMT_LIMIT : MV_FMT_MALFORMED;
		return;
	}
	mv_put_u32(w->data + 1, count);
}

int mv_catalog_iter_init(struct mv_catalog_iter *it, const uint8_t *p, size_t len)
{
	memset(it, 0, sizeof(*it));
	if (len && !p) {
		it->r.failed = 1;
		return MV_FMT_MALFORMED;
	}
	mv_rbuf_init(&it->r, p, len);
	uint8_t version = mv_rbuf_u8(&it->r);
	uint32_t count = mv_rbuf_u32(&it->r);
	if (it->r.failed || version != MV_CATALOG_VERSION || count > MV_CATALOG_MAX_ENTRIES ||
	    count > mv_rbuf_left(&it->r) / ENTRY_MIN) {
		it->r.failed = 1;
		return MV_FMT_MALFORMED;
	}
	it->count = count;
	return 0;
}

/* Reads a str16 of min..max bytes without NUL. */
static const uint8_t *get_str(struct mv_rbuf *r, size_t min, size_t max, size_t *len)
{
	const uint8_t *p = mv_rbuf_str16(r, len);
	if (!p || !str_ok(p, *len, min, max)) {
		r->failed = 1;
		return NULL;
	}
	return p;
}

int mv_catalog_iter_next(struct mv_catalog_iter *it, struct mv_catalog_rec *rec)
{
	struct mv_rbuf *r = &it->r;

	if (r->failed)
		return MV_FMT_MALFORMED;
	if (it->done == it->count) {
		if (mv_rbuf_left(r) != 0) {
			r->failed = 1;
			return MV_FMT_MALFORMED;
		}
		return 0;
	}
	rec->raw = r->p + r->pos;
	rec->path = get_str(r, 1, 65535, &rec->path_len);
	rec->member = get_str(r, 0, 65535, &rec->member_len);
	rec->size = mv_rbuf_u64(r);
	rec->flags = mv_rbuf_u32(r);
	for (unsigned f = 0; f < MV_CAT_NFIELDS && !r->failed; f++)
		rec->field[f] = get_str(r, 0, field_locs[f].size - 1, &rec->field_len[f]);
	rec->pixel_offset = mv_rbuf_u64(r);
	if (r->failed || (rec->flags & ~(uint32_t)MV_CATALOG_KNOWN_FLAGS))
		goto bad;
	if (it->prev_path &&
	    mv_catalog_path_cmpn(it->prev_path, it->prev_len, rec->path, rec->path_len) > 0)
		goto bad;
	if (rec->member_len == 0)
		rec->member = NULL;
	rec->raw_len = (size_t)(r->p + r->pos - rec->raw);
	it->prev_path = rec->path;
	it->prev_len = rec->path_len;
	it->done++;
	return 1;
bad:
	r->failed = 1;
	return MV_FMT_MALFORMED;
}

int mv_catalog_check(const uint8_t *p, size_t len, uint32_t *count)
{
	struct mv_catalog_iter it;
	struct mv_catalog_rec rec;
	int rc;

	*count = 0;
	if (mv_catalog_iter_init(&it, p, len))
		return MV_FMT_MALFORMED;
	while ((rc = mv_catalog_iter_next(&it, &rec)) == 1)
		;
	if (rc < 0)
		return MV_FMT_MALFORMED;
	*count = it.count;
	return 0;
}
