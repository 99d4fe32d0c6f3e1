/* Writing tar (POSIX pax) and zip archives through libarchive, entry by
 * entry, to a caller-supplied write function (never a file descriptor: the
 * caller decides where the bytes go, tests keep them in memory).
 *
 * Entries are described by tree nodes (formats/tree.h): kind, permission
 * bits, owner ids, modification time with nanoseconds, size, symlink
 * target, device number. Names and link targets are bytes and are stored
 * byte for byte, also when they are not UTF-8:
 *   - tar: the pax format (not "restricted pax", which drops the
 *     nanoseconds of mtimes unless an entry needs an extended header for
 *     another reason). A name that is valid UTF-8 is stored as such; any
 *     other name gets hdrcharset=BINARY, which tar readers extract as the
 *     same bytes. No hard links: every file is stored whole.
 *   - zip: mtimes to the second (DOS time plus the "UT" extended
 *     timestamp), unix permissions and owner ids. A non-ASCII name that is
 *     valid UTF-8 gets the UTF-8 flag (bit 11); other names are stored as
 *     raw bytes without it. Fifos, device nodes and sockets cannot be
 *     stored (MV_ARCHIVE_SKIPPED). Optionally encrypted with WinZip AES-256
 *     (compression method 99, PBKDF2-SHA1 key derivation done by
 *     libarchive): pick a strong passphrase, the derivation is cheap.
 *
 * The writer is for one thread. */
#ifndef MV_FMT_ARCHIVE_WRITE_H
#define MV_FMT_ARCHIVE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/tree.h"

enum mv_archive_format {
	MV_ARCHIVE_TAR = 1,
	MV_ARCHIVE_ZIP = 2,
};

/* Results of the functions below. */
enum {
	MV_ARCHIVE_OK = 0,
	MV_ARCHIVE_SKIPPED = 1,     /* the format cannot store this kind of entry */
	MV_ARCHIVE_ERR = -1,        /* failed; mv_archive_writer_error says why */
	MV_ARCHIVE_ERR_WRITE = -2,  /* the write function failed (errno saved) */
	MV_ARCHIVE_ERR_NOMEM = -3,  /* out of memory */
	MV_ARCHIVE_ERR_CRYPTO = -4, /* encryption asked for and not available */
	MV_ARCHIVE_ERR_USAGE = -5,  /* bad argument: encryption with tar, ... */
};

/* Writes all len bytes somewhere. Returns 0, or -1 with errno set (a
 * function that cannot write should set ENOSPC rather than return 0). */
typedef int mv_archive_write_fn(void *arg, const void *buf, size_t len);

struct mv_archive_writer;

/* A writer for `format`. NULL when out of memory or format is unknown. */
struct mv_archive_writer *mv_archive_writer_new(enum mv_archive_format format)
    __attribute__((warn_unused_result));

/* Starts the archive. passphrase: NULL for a plain archive, else a
 * NUL-terminated passphrase for zip AES-256 encryption (tar cannot be
 * encrypted: MV_ARCHIVE_ERR_USAGE). libarchive keeps its own copy of it
 * until mv_archive_writer_free; the caller may wipe its copy once this
 * returns. Returns MV_ARCHIVE_OK or an error. */
int mv_archive_writer_open(struct mv_archive_writer *w, const char *passphrase,
                           mv_archive_write_fn *write, void *arg)
    __attribute__((warn_unused_result));

/* The name of the one member of a sealed archive (below). */
#define MV_ARCHIVE_SEALED_MEMBER "medvault-export.tar"

/* Starts a sealed archive: w (made for MV_ARCHIVE_TAR) writes a tar whose
 * bytes go, as they come, into the single member `member` (a neutral name
 * such as MV_ARCHIVE_SEALED_MEMBER) of a zip encrypted with WinZip AES-256
 * under passphrase. Entry names, sizes, times, owners and link targets are
 * all inside the encrypted tar; what the zip shows without the passphrase
 * is member's name, mode 0600, mtime_s (seconds since the epoch) and the
 * total compressed and uncompressed sizes. The member is streamed (zip data
 * descriptor, Zip64 sizes): memory stays bounded, nothing is written in
 * clear anywhere. The entry functions below then describe the tar's
 * entries; mv_archive_writer_close finishes both. Returns MV_ARCHIVE_OK or
 * an error (MV_ARCHIVE_ERR_USAGE for a zip writer, an empty passphrase or
 * member name). */
int mv_archive_writer_open_sealed(struct mv_archive_writer *w, const char *passphrase,
                                  const char *member, int64_t mtime_s, mv_archive_write_fn *write,
                                  void *arg) __attribute__((warn_unused_result));

/* Begins an entry. path: its name, '/'-separated bytes without NUL;
 * leading '/' are removed (as tar does), so "/srv/a.dcm" is stored as
 * "srv/a.dcm"; an empty result is refused. For a file, exactly n->size
 * bytes must follow through mv_archive_entry_data. Returns MV_ARCHIVE_OK,
 * MV_ARCHIVE_SKIPPED (nothing written: do not call _data or _end), or an
 * error. */
int mv_archive_entry_begin(struct mv_archive_writer *w, const char *path, const struct mv_node *n)
    __attribute__((warn_unused_result));

/* Appends len bytes of the current file's content. Writing more than the
 * size given to _begin is an error. */
int mv_archive_entry_data(struct mv_archive_writer *w, const void *buf, size_t len)
    __attribute__((warn_unused_result));

/* Ends the current entry. A file whose data fell short of its size is an
 * error (the archive would be unreadable after it). */
int mv_archive_entry_end(struct mv_archive_writer *w) __attribute__((warn_unused_result));

/* Writes the end of the archive (tar's two zero records, zip's central
 * directory) and flushes everything through the write function. */
int mv_archive_writer_close(struct mv_archive_writer *w) __attribute__((warn_unused_result));

/* The message of the last error ("" when none); valid until the next call
 * on w. */
const char *mv_archive_writer_error(const struct mv_archive_writer *w);
/* The errno of the last MV_ARCHIVE_ERR_WRITE (0 when none). */
int mv_archive_writer_errno(const struct mv_archive_writer *w);

/* Frees the writer (without finishing the archive); accepts NULL. */
void mv_archive_writer_free(struct mv_archive_writer *w);

#endif
