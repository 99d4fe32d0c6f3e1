/* DICOM text values to UTF-8 (internal to formats/dicom.c). */
#ifndef MV_FMT_DICOM_CHARSET_H
#define MV_FMT_DICOM_CHARSET_H

#include <stddef.h>
#include <stdint.h>

enum mv_dicom_charset {
	MV_DICOM_CS_ASCII = 0,  /* default repertoire (absent, empty or ISO_IR 6) */
	MV_DICOM_CS_LATIN1 = 1, /* ISO_IR 100 */
	MV_DICOM_CS_UTF8 = 2,   /* ISO_IR 192 */
	MV_DICOM_CS_OTHER = 3,  /* anything else, including multi-valued */
};

/* Classifies a raw Specific Character Set (0008,0005) value. */
enum mv_dicom_charset mv_dicom_charset_of(const uint8_t *v, size_t len);

/* Converts a raw value to NUL-terminated UTF-8 in out[cap] (cap >= 1):
 * leading and trailing spaces and NULs are dropped; control characters,
 * DEL, and bytes the charset cannot convert (all non-ASCII bytes for
 * MV_DICOM_CS_OTHER, invalid UTF-8, Latin-1 0x80..0x9F, any non-ASCII byte
 * under the default repertoire) are written as "\xNN". Output stops at the
 * last whole character or escape that fits. Returns 1 when a byte could not
 * be converted (escaped for that reason), else 0. */
int mv_dicom_to_utf8(const uint8_t *v, size_t len, enum mv_dicom_charset cs, char *out, size_t cap);

#endif
