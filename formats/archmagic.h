/* Recognising archive files by their first bytes: what
 * mv_catalog_add_archive (libarchive) can read. */
#ifndef MV_FMT_ARCHMAGIC_H
#define MV_FMT_ARCHMAGIC_H

#include <stddef.h>
#include <stdint.h>

enum mv_archive_kind {
	MV_ARCH_NONE = 0,
	MV_ARCH_ARCHIVE = 1, /* ZIP, 7z, tar, ISO 9660 */
	MV_ARCH_COMPRESSED =
	    2, /* gzip, bzip2, xz, zstd, lz4, compress, lzma (maybe a tar inside) */
};

/* Offset of the "CD001" of an ISO 9660 image's first volume descriptor. */
#define MV_ISO_MAGIC_AT 32769u

/* Looks at the first n bytes of a file: tar needs 512 of them, ISO 9660
 * MV_ISO_MAGIC_AT + 5 (with fewer, an ISO image is not recognised). */
enum mv_archive_kind mv_archive_magic(const uint8_t *p, size_t n);

#endif
