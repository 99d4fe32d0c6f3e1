/* DICOM inside archives (ZIP, tar, ISO 9660, 7z, possibly compressed) for
 * the catalog: mv_catalog_add_archive (core/medical/catalog.h).
 *
 * libarchive reads the file through callbacks on pread, so the caller's file
 * offset is left alone and nothing is ever written to disk. Of each member
 * only the first MEMBER_HEAD bytes are read (up to MEMBER_MAX when the DICOM
 * header is longer); the rest is skipped, which for ZIP and ISO 9660 is a
 * seek, not a decompression. */
#include "core/medical/catalog.h"
#include "formats/archmagic.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BLOCK  (128u << 10) /* bytes per read callback */
#define MEMBER_PEEK 4096u        /* first look: DICOM or not */
#define MEMBER_HEAD (64u << 10)  /* first bytes of a member parsed */
#define MEMBER_MAX  (1u << 20)   /* most bytes of a member parsed */
#define MAX_MEMBERS 1000000u     /* members examined per archive */

struct src {
	int fd;
	uint64_t size;
	uint64_t off;
	uint8_t *block;
};

static la_ssize_t src_read(struct archive *a, void *data, const void **buf)
{
	struct src *s = data;
	ssize_t n;

	*buf = s->block;
	if (s->off >= s->size)
		return 0;
	do
		n = pread(s->fd, s->block, READ_BLOCK, (off_t)s->off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read error");
		return -1;
	}
	s->off += (uint64_t)n;
	return n;
}

static la_int64_t src_skip(struct archive *a, void *data, la_int64_t request)
{
	struct src *s = data;
	uint64_t left = s->size > s->off ? s->size - s->off : 0;
	uint64_t n = request > 0 ? (uint64_t)request : 0;

	(void)a;
	if (n > left)
		n = left;
	s->off += n;
	return (la_int64_t)n;
}

static la_int64_t src_seek(struct archive *a, void *data, la_int64_t offset, int whence)
{
	struct src *s = data;
	int64_t base;

	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)s->off;
		break;
	case SEEK_END:
		base = (int64_t)s->size;
		break;
	default:
		archive_set_error(a, EINVAL, "bad seek");
		return ARCHIVE_FATAL;
	}
	if ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0) {
		archive_set_error(a, EINVAL, "seek out of range");
		return ARCHIVE_FATAL;
	}
	s->off = (uint64_t)(base + offset);
	return (la_int64_t)s->off;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Looks at the magic numbers, so that ordinary files cost two small reads. */
static enum mv_archive_kind sniff(int fd, uint64_t size)
{
	uint8_t b[512];
	size_t n = size < sizeof(b) ? (size_t)size : sizeof(b);

	if (n < 4 || read_at(fd, b, n, 0) != 0)
		return MV_ARCH_NONE;
	enum mv_archive_kind k = mv_archive_magic(b, n);
	if (k != MV_ARCH_NONE)
		return k;
	if (size >= MV_ISO_MAGIC_AT + 5 && read_at(fd, b, 5, MV_ISO_MAGIC_AT) == 0 &&
	    memcmp(b, "CD001", 5) == 0)
		return MV_ARCH_ARCHIVE;
	return MV_ARCH_NONE;
}

struct reader {
	struct archive *a;
	struct mv_catalog_writer *w;
	const char *snap_path;
	uint8_t *buf; /* a member's first bytes */
	size_t cap;
	int unreadable;
	const char *why; /* first reason for unreadable */
	struct mv_dicom_info info;
};

static void set_unreadable(struct reader *rd, const char *why)
{
	if (!rd->unreadable)
		rd->why = why;
	rd->unreadable = 1;
}

/* Reads the member's data until buf holds want bytes or the member ends.
 * Returns 0, or libarchive's negative status when the data cannot be read. */
static int fill(struct reader *rd, size_t *got, size_t want)
{
	while (*got < want) {
		la_ssize_t r = archive_read_data(rd->a, rd->buf + *got, want - *got);
		if (r == 0)
			break;
		if (r < 0)
			return (int)r;
		*got += (size_t)r;
	}
	return 0;
}

/* The member's remaining bytes, read and counted (when its header has no
 * size). Returns 0 or libarchive's negative status. */
static int count_rest(struct reader *rd, uint64_t *size)
{
	for (;;) {
		la_ssize_t r = archive_read_data(rd->a, rd->buf, rd->cap);
		if (r == 0)
			return 0;
		if (r < 0)
			return (int)r;
		*size += (uint64_t)r;
	}
}

/* One regular member: catalogued when DICOM. Returns 0, an error (out of
 * memory, writer), or 1 when the archive cannot be read any further. */
static int member(struct reader *rd, struct archive_entry *e, struct mv_error *err)
{
	const char *name = archive_entry_pathname(e);
	int has_size = archive_entry_size_is_set(e);
	uint64_t size = has_size && archive_entry_size(e) > 0 ? (uint64_t)archive_entry_size(e) : 0;
	size_t got = 0, need = 0;
	int rc, st;

	if (!name || !name[0])
		name = archive_entry_pathname_utf8(e);
	if (!name || !name[0] || strlen(name) > 65535)
		return 0;
	if (archive_entry_is_data_encrypted(e)) {
		set_unreadable(rd, "encrypted");
		return 0;
	}
	/* a first look decides whether the member is DICOM at all */
	if ((st = fill(rd, &got, MEMBER_PEEK)) != 0)
		goto unreadable;
	if (got == 0)
		return 0;
	uint64_t fsize = has_size ? size : UINT64_MAX;
	rc = mv_dicom_parse(rd->buf, got, fsize, &rd->info, &need);
	if (rc == 0 && need == 0)
		return 0;
	if (rc >= 0 && need > got && got == MEMBER_PEEK) {
		if ((st = fill(rd, &got, MEMBER_HEAD)) != 0)
			goto unreadable;
		rc = mv_dicom_parse(rd->buf, got, fsize, &rd->info, &need);
	}
	if (rc == 1 && need > got && got == MEMBER_HEAD) {
		if ((st = fill(rd, &got, need < MEMBER_MAX ? need : MEMBER_MAX)) != 0)
			goto unreadable;
		rc = mv_dicom_parse(rd->buf, got, fsize, &rd->info, NULL);
	}
	if (rc < 0)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc != 1)
		return 0;
	if (!has_size) {
		size = got;
		if ((st = count_rest(rd, &size)) != 0)
			goto unreadable;
	}
	struct mv_catalog_entry ce = {rd->snap_path, name, size, &rd->info};
	rc = mv_catalog_writer_add(rd->w, &ce, err);
	return rc == MV_ERR_LIMIT ? 0 : rc;

unreadable:
	set_unreadable(rd, archive_entry_is_encrypted(e) ||
	                           archive_read_has_encrypted_entries(rd->a) > 0
	                       ? "encrypted"
	                       : "damaged");
	return st == ARCHIVE_FATAL ? 1 : 0;
}

/* Returns 1 when the archive was recognised (rd->unreadable tells whether
 * all of it could be read), 0 when it is not an archive, or an error. */
static int walk(struct reader *rd, enum mv_archive_kind kind, struct mv_error *err)
{
	struct archive_entry *e;
	uint32_t headers = 0;

	for (;;) {
		int r = archive_read_next_header(rd->a, &e);
		if (r == ARCHIVE_EOF)
			return 1;
		if (r == ARCHIVE_FATAL) {
			/* nothing recognised in a compressed file: not an archive */
			if (headers == 0 && kind == MV_ARCH_COMPRESSED &&
			    archive_format(rd->a) == 0)
				return 0;
			set_unreadable(rd, "damaged");
			return 1;
		}
		if (++headers > MAX_MEMBERS) {
			set_unreadable(rd, "too large (more than 1,000,000 members)");
			return 1;
		}
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) { /* this header only */
			set_unreadable(rd, "damaged");
			continue;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		int rc = member(rd, e, err);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return 1;
	}
}

int mv_catalog_add_archive(int fd, const char *snap_path, struct mv_catalog_writer *w,
                           int *unreadable, struct mv_error *err)
{
	struct reader rd;
	struct src s;
	struct stat st;
	int rc;

	*unreadable = 0;
	memset(&rd, 0, sizeof(rd));
	memset(&s, 0, sizeof(s));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return 0;
	s.fd = fd;
	s.size = (uint64_t)st.st_size;
	enum mv_archive_kind kind = sniff(fd, s.size);
	if (kind == MV_ARCH_NONE)
		return 0;

	rd.w = w;
	rd.snap_path = snap_path;
	rd.cap = MEMBER_MAX;
	s.block = malloc(READ_BLOCK);
	rd.buf = malloc(rd.cap);
	rd.a = archive_read_new();
	if (!s.block || !rd.buf || !rd.a) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	/* in-process decompressors only (no external programs) */
	archive_read_support_filter_gzip(rd.a);
	archive_read_support_filter_bzip2(rd.a);
	archive_read_support_filter_xz(rd.a);
	archive_read_support_filter_lzma(rd.a);
	archive_read_support_filter_zstd(rd.a);
	archive_read_support_filter_lz4(rd.a);
	archive_read_support_filter_compress(rd.a);
	archive_read_support_format_zip(rd.a);
	archive_read_support_format_tar(rd.a);
	archive_read_support_format_iso9660(rd.a);
	archive_read_support_format_7zip(rd.a);
	archive_read_set_read_callback(rd.a, src_read);
	archive_read_set_skip_callback(rd.a, src_skip);
	archive_read_set_seek_callback(rd.a, src_seek);
	archive_read_set_callback_data(rd.a, &s);
	if (archive_read_open1(rd.a) != ARCHIVE_OK) {
		rc = kind == MV_ARCH_COMPRESSED ? 0 : 1;
		if (rc)
			set_unreadable(&rd, "damaged");
	} else {
		rc = walk(&rd, kind, err);
	}
	if (rc >= 0 && rd.unreadable) {
		*unreadable = 1;
		mv_error_set(err, MV_ERR_INTEGRITY, 0, "archive '%.256s' is %s", snap_path,
		             rd.why ? rd.why : "damaged");
		rc = 0;
	}
out:
	if (rd.a)
		archive_read_free(rd.a);
	free(rd.buf);
	free(s.block);
	return rc;
}
