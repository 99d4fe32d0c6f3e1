/* Catalog blob payloads (FORMAT.md section 12): the DICOM catalog's entries,
 * encoded and decoded in memory buffers.
 *
 * The decoder is an iterator that validates as it goes and never copies:
 * each record points into the payload. It checks every length against the
 * remaining input and the per-field limits, rejects NUL bytes in strings,
 * unknown flag bits, entries out of walk order and trailing bytes. */
#ifndef MV_FMT_CATALOG_H
#define MV_FMT_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/dicom.h"
#include "formats/fmt_err.h"

#define MV_CATALOG_VERSION     1u
#define MV_CATALOG_MAX_ENTRIES 1000000u /* entries per payload */
/* The largest encoded entry: two 65535-byte strings, the fields at their
 * limits and the fixed fields. */
#define MV_CATALOG_ENTRY_MAX (2u * (2u + 65535u) + 8u + 4u + 16u * 2u + 1592u + 8u)

/* The DICOM fields of an entry, in their on-disk order (fixed forever). */
enum mv_catalog_field {
	MV_CAT_PATIENT_NAME,
	MV_CAT_PATIENT_ID,
	MV_CAT_BIRTH_DATE,
	MV_CAT_SEX,
	MV_CAT_STUDY_UID,
	MV_CAT_SERIES_UID,
	MV_CAT_SOP_UID,
	MV_CAT_SOP_CLASS_UID,
	MV_CAT_STUDY_DATE,
	MV_CAT_STUDY_TIME,
	MV_CAT_MODALITY,
	MV_CAT_STUDY_DESC,
	MV_CAT_SERIES_DESC,
	MV_CAT_ACCESSION,
	MV_CAT_INSTITUTION,
	MV_CAT_TRANSFER_SYNTAX,
	MV_CAT_NFIELDS
};

/* Flag bits an entry may carry: the DICOM reader's MV_DICOM_F_* (bits 0-7);
 * others are rejected. */
#define MV_CATALOG_KNOWN_FLAGS 0xffu

/* One entry, its strings as (pointer, length) without NUL. */
struct mv_catalog_rec {
	const uint8_t *path; /* 1..65535 bytes */
	size_t path_len;
	const uint8_t *member; /* 0..65535 bytes; 0 = not an archive member */
	size_t member_len;
	uint64_t size;
	uint32_t flags;
	const uint8_t *field[MV_CAT_NFIELDS];
	size_t field_len[MV_CAT_NFIELDS]; /* at most mv_catalog_field_max(i) */
	uint64_t pixel_offset;
	/* decoder only: the entry's encoded bytes inside the payload */
	const uint8_t *raw;
	size_t raw_len;
};

/* The longest value of field f in bytes: the size of the matching array of
 * struct mv_dicom_info less its NUL (so that a decoded entry always fits);
 * 0 for f out of range. */
size_t mv_catalog_field_max(unsigned f);

/* Compares two snapshot paths in walk order: component by component,
 * bytewise, a component sorting before any longer one it is a prefix of
 * (so "/a/b" < "/a-b" < "/a0"). Returns <0, 0, >0. */
int mv_catalog_path_cmpn(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Fills rec's fields from a DICOM header (strings NUL-terminated in info,
 * cut at their limit). path and member are not touched. */
void mv_catalog_rec_from_info(struct mv_catalog_rec *rec, const struct mv_dicom_info *info);
/* Sets info's strings from rec's fields (each NUL-terminated, cut at its
 * limit; bytes after the NUL are left as they were), pixel_offset and flags;
 * the fields the catalog does not store are zeroed (has_pixel_data is set
 * when pixel_offset is not 0). */
void mv_catalog_rec_to_info(const struct mv_catalog_rec *rec, struct mv_dicom_info *info);

/* Bytes mv_catalog_encode_rec writes for rec. */
size_t mv_catalog_rec_len(const struct mv_catalog_rec *rec);
/* Payload header: version and a count that mv_catalog_encode_end patches
 * (so that entries can be appended one by one). */
void mv_catalog_encode_begin(struct mv_wbuf *w);
/* Appends one entry; sets w->failed (writing nothing) when the entry breaks
 * a rule the decoder checks (except the order of entries, which the caller
 * keeps). */
void mv_catalog_encode_rec(struct mv_wbuf *w, const struct mv_catalog_rec *rec);
/* Writes count into the header written by mv_catalog_encode_begin at the
 * start of w; sets w->failed when count exceeds MV_CATALOG_MAX_ENTRIES. */
void mv_catalog_encode_end(struct mv_wbuf *w, uint32_t count);

struct mv_catalog_iter {
	struct mv_rbuf r;
	uint32_t count; /* entries announced by the header */
	uint32_t done;  /* entries returned so far */
	const uint8_t *prev_path;
	size_t prev_len;
};

/* Starts decoding a payload: checks the version and that the count is
 * within MV_CATALOG_MAX_ENTRIES and what the input can hold. Returns 0 or
 * MV_FMT_MALFORMED. p must stay valid while the iterator is used. */
int mv_catalog_iter_init(struct mv_catalog_iter *it, const uint8_t *p, size_t len);
/* Decodes the next entry into rec. Returns 1, 0 at the end (after checking
 * that no bytes follow the last entry), or MV_FMT_MALFORMED (every later
 * call returns it too). */
int mv_catalog_iter_next(struct mv_catalog_iter *it, struct mv_catalog_rec *rec);

/* Decodes a whole payload, only to validate it; *count gets the number of
 * entries. Returns 0 or MV_FMT_MALFORMED. */
int mv_catalog_check(const uint8_t *p, size_t len, uint32_t *count);

#endif
