/* tar (pax) and zip writing through libarchive; see archive_write.h.
 *
 * Names are bytes. libarchive decides how to store a name from the
 * character set of the calling thread's locale (nl_langinfo(CODESET)):
 * the pax writer converts names from it to UTF-8 and, when that fails,
 * stores the raw bytes under hdrcharset=BINARY; the zip writer stores raw
 * bytes and sets the UTF-8 flag when the locale's character set is UTF-8.
 * So that the result depends on the name and not on the user's locale,
 * each header is written under a thread-local locale chosen here: C.UTF-8
 * for tar (a UTF-8 name passes through unchanged, libarchive normalises
 * only when reading; any other name falls back to BINARY, byte for byte),
 * and for zip C.UTF-8 when the name is valid non-ASCII UTF-8, the "C"
 * locale otherwise (no UTF-8 flag on bytes that are not UTF-8). */
#include "formats/archive_write.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct mv_archive_writer {
	struct archive *a;
	/* sealed: the encrypted zip that a's bytes go into, as its one
	 * member (NULL otherwise) */
	struct archive *outer;
	int outer_entry; /* the outer member's header is written */
	struct archive_entry *e;
	enum mv_archive_format format;
	int opened;
	int closed;
	int discard;   /* being freed unfinished: drop what libarchive flushes */
	int file_open; /* a file entry is open */
	uint64_t left; /* bytes the open file still expects */
	mv_archive_write_fn *write;
	void *arg;
	int saved_errno;
	locale_t utf8;  /* C.UTF-8, or (locale_t)0 when the system has none */
	locale_t plain; /* "C" */
	char msg[256];
};

static int fail(struct mv_archive_writer *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct mv_archive_writer *w, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Maps a libarchive failure to our codes, with its message. */
static int fail_archive(struct mv_archive_writer *w, const char *what)
{
	const char *s = archive_error_string(w->a);

	if (w->saved_errno)
		return fail(w, MV_ARCHIVE_ERR_WRITE, "%s: %s", what, strerror(w->saved_errno));
	if (archive_errno(w->a) == ENOMEM)
		return fail(w, MV_ARCHIVE_ERR_NOMEM, "%s: out of memory", what);
	return fail(w, MV_ARCHIVE_ERR, "%s: %s", what, s ? s : "unknown libarchive error");
}

static la_ssize_t on_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct mv_archive_writer *w = arg;

	if (w->discard)
		return (la_ssize_t)len;
	errno = 0;
	if (w->write(w->arg, buf, len) != 0) {
		w->saved_errno = errno ? errno : EIO;
		archive_set_error(a, w->saved_errno, "cannot write the archive");
		return -1;
	}
	return (la_ssize_t)len;
}

/* A sealed writer's tar bytes: the content of the outer zip's member. */
static la_ssize_t on_inner_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct mv_archive_writer *w = arg;
	const unsigned char *p = buf;
	size_t left = len;

	if (w->discard)
		return (la_ssize_t)len;
	while (left > 0) {
		la_ssize_t n = archive_write_data(w->outer, p, left);
		if (n <= 0) {
			const char *s = archive_error_string(w->outer);
			int e = w->saved_errno ? w->saved_errno : archive_errno(w->outer);
			archive_set_error(a, e > 0 ? e : EIO, "%s",
			                  s ? s : "cannot write the encrypted zip");
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return (la_ssize_t)len;
}

struct mv_archive_writer *mv_archive_writer_new(enum mv_archive_format format)
{
	struct mv_archive_writer *w;

	if (format != MV_ARCHIVE_TAR && format != MV_ARCHIVE_ZIP)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->format = format;
	w->a = archive_write_new();
	w->e = archive_entry_new();
	w->plain = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (!w->a || !w->e || !w->plain) {
		mv_archive_writer_free(w);
		return NULL;
	}
	/* optional: without C.UTF-8, names are still stored byte for byte */
	w->utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
	return w;
}

/* What both opens check first: not open yet, and a write function. */
static int open_usage(struct mv_archive_writer *w, mv_archive_write_fn *write)
{
	w->msg[0] = '\0';
	if (w->opened)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "the archive is open already");
	if (!write)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "no write function");
	return MV_ARCHIVE_OK;
}

int mv_archive_writer_open(struct mv_archive_writer *w, const char *passphrase,
                           mv_archive_write_fn *write, void *arg)
{
	int r = open_usage(w, write);

	if (r != MV_ARCHIVE_OK)
		return r;
	if (passphrase && w->format != MV_ARCHIVE_ZIP)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "only zip archives can be encrypted");
	if (passphrase && !*passphrase)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "empty passphrase");
	w->write = write;
	w->arg = arg;
	r = w->format == MV_ARCHIVE_TAR ? archive_write_set_format_pax(w->a)
	                                : archive_write_set_format_zip(w->a);
	if (r != ARCHIVE_OK)
		return fail_archive(w, "cannot set the archive format");
	if (passphrase) {
		if (archive_write_set_options(w->a, "zip:encryption=aes256") != ARCHIVE_OK) {
			const char *s = archive_error_string(w->a);
			return fail(w, MV_ARCHIVE_ERR_CRYPTO,
			            "AES-256 zip encryption is not available: %s",
			            s ? s : "libarchive was built without it");
		}
		if (archive_write_set_passphrase(w->a, passphrase) != ARCHIVE_OK)
			return fail_archive(w, "cannot set the passphrase");
	}
	if (archive_write_open2(w->a, w, NULL, on_write, NULL, NULL) != ARCHIVE_OK)
		return fail_archive(w, "cannot start the archive");
	w->opened = 1;
	return MV_ARCHIVE_OK;
}

/* Starts the outer encrypted zip of a sealed writer and its one member. */
static int open_outer(struct mv_archive_writer *w, const char *passphrase, const char *member,
                      int64_t mtime_s)
{
	struct archive_entry *e;
	int r;

	w->outer = archive_write_new();
	if (!w->outer)
		return fail(w, MV_ARCHIVE_ERR_NOMEM, "out of memory");
	if (archive_write_set_format_zip(w->outer) != ARCHIVE_OK)
		return fail(w, MV_ARCHIVE_ERR, "cannot set the zip format");
	if (archive_write_set_options(w->outer, "zip:encryption=aes256") != ARCHIVE_OK) {
		const char *s = archive_error_string(w->outer);
		return fail(w, MV_ARCHIVE_ERR_CRYPTO, "AES-256 zip encryption is not available: %s",
		            s ? s : "libarchive was built without it");
	}
	if (archive_write_set_passphrase(w->outer, passphrase) != ARCHIVE_OK)
		return fail(w, MV_ARCHIVE_ERR, "cannot set the passphrase");
	/* no padding after the central directory (7-Zip warns about it) */
	if (archive_write_set_bytes_in_last_block(w->outer, 1) != ARCHIVE_OK)
		return fail(w, MV_ARCHIVE_ERR, "cannot set the zip block size");
	if (archive_write_open2(w->outer, w, NULL, on_write, NULL, NULL) != ARCHIVE_OK) {
		const char *s = archive_error_string(w->outer);
		if (w->saved_errno)
			return fail(w, MV_ARCHIVE_ERR_WRITE, "cannot start the archive: %s",
			            strerror(w->saved_errno));
		return fail(w, MV_ARCHIVE_ERR, "cannot start the archive: %s", s ? s : "");
	}
	e = archive_entry_new();
	if (!e)
		return fail(w, MV_ARCHIVE_ERR_NOMEM, "out of memory");
	archive_entry_copy_pathname(e, member);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_mtime(e, (time_t)mtime_s, 0);
	/* no size: libarchive streams the member with a data descriptor and
	 * Zip64 sizes, so no byte of the tar is held back */
	archive_entry_unset_size(e);
	r = archive_write_header(w->outer, e);
	archive_entry_free(e);
	if (r < ARCHIVE_WARN) {
		const char *s = archive_error_string(w->outer);
		if (w->saved_errno)
			return fail(w, MV_ARCHIVE_ERR_WRITE, "cannot write the zip header: %s",
			            strerror(w->saved_errno));
		return fail(w, MV_ARCHIVE_ERR, "cannot write the zip header: %s", s ? s : "");
	}
	w->outer_entry = 1;
	return MV_ARCHIVE_OK;
}

int mv_archive_writer_open_sealed(struct mv_archive_writer *w, const char *passphrase,
                                  const char *member, int64_t mtime_s, mv_archive_write_fn *write,
                                  void *arg)
{
	int r = open_usage(w, write);

	if (r != MV_ARCHIVE_OK)
		return r;
	if (w->format != MV_ARCHIVE_TAR)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "only a tar archive can be sealed in a zip");
	if (!passphrase || !*passphrase)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "empty passphrase");
	if (!member || !*member || member[0] == '/')
		return fail(w, MV_ARCHIVE_ERR_USAGE, "bad member name");
	w->write = write;
	w->arg = arg;
	r = open_outer(w, passphrase, member, mtime_s);
	if (r != MV_ARCHIVE_OK)
		return r;
	if (archive_write_set_format_pax(w->a) != ARCHIVE_OK)
		return fail_archive(w, "cannot set the archive format");
	if (archive_write_open2(w->a, w, NULL, on_inner_write, NULL, NULL) != ARCHIVE_OK)
		return fail_archive(w, "cannot start the archive");
	w->opened = 1;
	return MV_ARCHIVE_OK;
}

/* 1 when s holds a byte >= 0x80 and is valid UTF-8 throughout (no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static int non_ascii_utf8(const unsigned char *s)
{
	int non_ascii = 0;

	while (*s) {
		unsigned c = *s, len;
		uint32_t cp, min;
		if (c < 0x80) {
			s++;
			continue;
		}
		non_ascii = 1;
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		for (unsigned i = 1; i < len; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0; /* also stops at the NUL */
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += len;
	}
	return non_ascii;
}

/* The libarchive file type of a node kind for this format; 0 when the
 * format cannot store it. */
static unsigned filetype(const struct mv_archive_writer *w, uint8_t kind)
{
	switch (kind) {
	case MV_NODE_FILE:
		return AE_IFREG;
	case MV_NODE_DIR:
		return AE_IFDIR;
	case MV_NODE_SYMLINK:
		return AE_IFLNK;
	case MV_NODE_FIFO:
		return w->format == MV_ARCHIVE_TAR ? AE_IFIFO : 0;
	case MV_NODE_CHR:
		return w->format == MV_ARCHIVE_TAR ? AE_IFCHR : 0;
	case MV_NODE_BLK:
		return w->format == MV_ARCHIVE_TAR ? AE_IFBLK : 0;
	default:
		return 0; /* sockets: neither format has them */
	}
}

int mv_archive_entry_begin(struct mv_archive_writer *w, const char *path, const struct mv_node *n)
{
	char target[4096];
	locale_t loc, old = (locale_t)0;
	int64_t sec, nsec;
	unsigned type;
	int r;

	w->msg[0] = '\0';
	if (!w->opened || w->closed)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "the archive is not open");
	if (w->file_open)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "the previous entry was not ended");
	while (*path == '/')
		path++;
	if (!*path)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "empty entry name");
	type = filetype(w, n->kind);
	if (type == 0)
		return MV_ARCHIVE_SKIPPED;
	if (n->kind == MV_NODE_SYMLINK &&
	    (!n->target || n->target_len == 0 || n->target_len >= sizeof(target) ||
	     memchr(n->target, '\0', n->target_len)))
		return fail(w, MV_ARCHIVE_ERR_USAGE, "bad symbolic link target");

	archive_entry_clear(w->e);
	archive_entry_copy_pathname(w->e, path);
	archive_entry_set_filetype(w->e, type);
	archive_entry_set_perm(w->e, (mode_t)(n->mode & 07777));
	archive_entry_set_uid(w->e, (la_int64_t)n->uid);
	archive_entry_set_gid(w->e, (la_int64_t)n->gid);
	sec = n->mtime_ns / 1000000000LL;
	nsec = n->mtime_ns % 1000000000LL;
	if (nsec < 0) {
		sec--;
		nsec += 1000000000LL;
	}
	archive_entry_set_mtime(w->e, (time_t)sec, (long)nsec);
	if (n->kind == MV_NODE_FILE) {
		if (n->size > (uint64_t)INT64_MAX)
			return fail(w, MV_ARCHIVE_ERR_USAGE, "file too large");
		archive_entry_set_size(w->e, (la_int64_t)n->size);
	} else {
		archive_entry_set_size(w->e, 0);
	}
	if (n->kind == MV_NODE_SYMLINK) {
		memcpy(target, n->target, n->target_len);
		target[n->target_len] = '\0';
		archive_entry_copy_symlink(w->e, target);
	}
	if (n->kind == MV_NODE_CHR || n->kind == MV_NODE_BLK)
		archive_entry_set_rdev(w->e, (dev_t)n->rdev);

	if (w->format == MV_ARCHIVE_TAR)
		loc = w->utf8;
	else
		loc = w->utf8 && non_ascii_utf8((const unsigned char *)path) ? w->utf8 : w->plain;
	if (loc)
		old = uselocale(loc);
	r = archive_write_header(w->a, w->e);
	if (loc)
		uselocale(old);
	if (r < ARCHIVE_WARN) /* a WARN is a name stored as binary */
		return fail_archive(w, "cannot write an entry header");
	if (n->kind == MV_NODE_FILE) {
		w->file_open = 1;
		w->left = n->size;
	}
	return MV_ARCHIVE_OK;
}

int mv_archive_entry_data(struct mv_archive_writer *w, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	w->msg[0] = '\0';
	if (!w->file_open)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "no file entry is open");
	if ((uint64_t)len > w->left)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "more data than the file's size");
	while (len > 0) {
		size_t n = len < (1u << 30) ? len : (1u << 30);
		la_ssize_t r = archive_write_data(w->a, p, n);
		if (r < 0)
			return fail_archive(w, "cannot write file data");
		if (r == 0)
			return fail(w, MV_ARCHIVE_ERR, "libarchive accepted no data");
		p += r;
		len -= (size_t)r;
		w->left -= (uint64_t)r;
	}
	return MV_ARCHIVE_OK;
}

int mv_archive_entry_end(struct mv_archive_writer *w)
{
	w->msg[0] = '\0';
	if (w->file_open && w->left > 0)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "file entry ended %llu bytes short",
		            (unsigned long long)w->left);
	w->file_open = 0;
	if (archive_write_finish_entry(w->a) < ARCHIVE_WARN)
		return fail_archive(w, "cannot finish an entry");
	return MV_ARCHIVE_OK;
}

int mv_archive_writer_close(struct mv_archive_writer *w)
{
	w->msg[0] = '\0';
	if (!w->opened || w->closed)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "the archive is not open");
	if (w->file_open)
		return fail(w, MV_ARCHIVE_ERR_USAGE, "the last entry was not ended");
	w->closed = 1;
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return fail_archive(w, "cannot finish the archive");
	if (w->outer) {
		const char *s;
		if (archive_write_finish_entry(w->outer) == ARCHIVE_OK &&
		    archive_write_close(w->outer) == ARCHIVE_OK)
			return MV_ARCHIVE_OK;
		if (w->saved_errno)
			return fail(w, MV_ARCHIVE_ERR_WRITE, "cannot finish the zip: %s",
			            strerror(w->saved_errno));
		s = archive_error_string(w->outer);
		return fail(w, MV_ARCHIVE_ERR, "cannot finish the zip: %s", s ? s : "");
	}
	return MV_ARCHIVE_OK;
}

const char *mv_archive_writer_error(const struct mv_archive_writer *w)
{
	return w->msg;
}

int mv_archive_writer_errno(const struct mv_archive_writer *w)
{
	return w->saved_errno;
}

void mv_archive_writer_free(struct mv_archive_writer *w)
{
	if (!w)
		return;
	/* archive_write_free finishes an open archive: an unfinished one must
	 * not look complete, so what it flushes is dropped */
	w->discard = 1;
	if (w->a)
		archive_write_free(w->a); /* wipes its copy of the passphrase */
	if (w->outer)
		archive_write_free(w->outer);
	if (w->e)
		archive_entry_free(w->e);
	if (w->utf8)
		freelocale(w->utf8);
	if (w->plain)
		freelocale(w->plain);
	free(w);
}
