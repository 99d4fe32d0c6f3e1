/* DICOM Part 10 header reader for hostile input (issue 3, formats/dicom).
 *
 * Works on a memory buffer holding the first bytes of a file: it never reads
 * past the buffer, never recurses, allocates only when the data set is
 * deflated (zlib state plus at most MV_DICOM_INFLATE_MAX bytes of inflated
 * header), and never reads pixel data: it stops at the top-level pixel data
 * element and records where its value begins.
 *
 * Recognised: 128-byte preamble + "DICM", file meta group 0002 (explicit VR
 * little endian), data sets in implicit VR LE, explicit VR LE, explicit VR
 * BE and deflated explicit VR LE; defined and undefined lengths; sequences
 * and items with both delimiter forms (their contents are skipped, nesting
 * is tracked up to MV_DICOM_MAX_DEPTH sequences); files without preamble or
 * without meta header, detected from their first element. Only top-level
 * elements are extracted (a PatientName inside a sequence item is not the
 * patient's). */
#ifndef MV_FMT_DICOM_H
#define MV_FMT_DICOM_H

#include <stddef.h>
#include <stdint.h>

#include "formats/fmt_err.h"

/* Maximum nesting of undefined-length sequences followed. */
#define MV_DICOM_MAX_DEPTH 32
/* Maximum inflated bytes of a deflated data set examined (decompression
 * bombs stop here with MV_DICOM_F_LIMIT). */
#define MV_DICOM_INFLATE_MAX (4u << 20)
/* Length of the preamble plus "DICM". */
#define MV_DICOM_PREFIX_LEN 132u

/* Flags of struct mv_dicom_info (stable values: catalogs may store them). */
enum {
	MV_DICOM_F_NO_PREAMBLE = 1u << 0, /* no 128-byte preamble + "DICM" */
	MV_DICOM_F_NO_META = 1u << 1,     /* no file meta group: transfer syntax guessed */
	MV_DICOM_F_DICOMDIR = 1u << 2,    /* media directory (1.2.840.10008.1.3.10) */
	/* Specific Character Set not one of default, ISO_IR 100, ISO_IR 192, or
	 * bytes invalid in it: such bytes are kept as "\xNN" escapes. */
	MV_DICOM_F_CHARSET_UNSUPPORTED = 1u << 3,
	MV_DICOM_F_TRUNCATED = 1u << 4, /* the file ends inside the header or the pixel data */
	MV_DICOM_F_MALFORMED = 1u << 5, /* structure broken: parsing stopped there */
	MV_DICOM_F_DEFLATED = 1u << 6,  /* deflated data set: pixel_offset is 0 */
	MV_DICOM_F_LIMIT = 1u << 7,     /* stopped at a limit: nesting depth or inflate cap */
};

struct mv_dicom_info {
	/* UTF-8, NUL-terminated, leading and trailing padding (spaces, NUL)
	 * removed, truncated at a character boundary to fit; empty when
	 * absent. Control characters and bytes that cannot be converted are
	 * written as "\xNN". sop_uid and sop_class_uid fall back to the meta
	 * header's (0002,0003) and (0002,0002); transfer_syntax is the one
	 * guessed when there is no meta header. */
	char patient_name[256], patient_id[72], birth_date[20], sex[20];
	char study_uid[72], series_uid[72], sop_uid[72], sop_class_uid[72];
	char study_date[20], study_time[32], modality[20];
	char study_desc[256], series_desc[256], accession[40], institution[256];
	char transfer_syntax[72];
	/* Offset in the file of the first byte of the top-level pixel data
	 * element's value ((7FE0,0010), or float/double pixel data), 0 when
	 * there is none or the data set is deflated. */
	uint64_t pixel_offset;
	uint64_t pixel_length; /* its length; 0xFFFFFFFF when undefined (encapsulated) */
	int has_pixel_data;    /* the pixel data element was reached */
	int encapsulated;      /* compressed (encapsulated) pixel data */
	uint16_t rows, columns, bits_allocated, bits_stored, pixel_representation;
	unsigned flags; /* MV_DICOM_F_* */
};

/* Parses the DICOM header in buf[0..len), the first len bytes of a file of
 * file_size bytes (a file_size below len is taken as len).
 *
 * Returns 1 when the bytes are DICOM: *out is filled as far as readable and
 * out->flags tells what went wrong; 0 when they are not DICOM (out cleared);
 * MV_FMT_NOMEM when an allocation failed. Malformed bytes are not an
 * error: they set MV_DICOM_F_MALFORMED.
 *
 * need_more (may be NULL) is set to 0, or, when the header continues past
 * len and file_size says more bytes exist, to a larger prefix length (at
 * most file_size) with which the parse would get further; the caller may
 * call again with that prefix, or use the partial result. It may be as large
 * as the file when large elements precede the pixel data: callers cap it.
 * With a prefix shorter than MV_DICOM_PREFIX_LEN, 0 may be returned with
 * need_more set (cannot tell yet). */
int mv_dicom_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct mv_dicom_info *out,
                   size_t *need_more) __attribute__((warn_unused_result, nonnull(4)));

#endif
