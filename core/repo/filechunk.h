/* Cutting a file into chunks exactly as backup stores it: content-defined
 * cuts (the repository's chunker) plus a forced cut where a DICOM file's
 * pixel data begins, so that two exports of the same images with other
 * headers share their pixel data. Backup stores the chunks; scan hashes them
 * to compare with the repository: both must cut identically. */
#ifndef MV_FILECHUNK_H
#define MV_FILECHUNK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/repo/chunker.h"
#include "core/util/err.h"
#include "formats/dicom.h"

struct mv_repo;

struct mv_file_chunker {
	const struct mv_chunker *chunker;
	size_t chunk_max;
	int plain; /* no cut at DICOM pixel data */
	uint8_t *buf;
	size_t cap;                /* 2 * chunk_max */
	struct mv_dicom_info info; /* header of the last file, when dicom */
};

/* What reading told about a file. */
struct mv_file_facts {
	uint64_t size;  /* bytes read */
	int dicom;      /* fc->info holds its header */
	int archive;    /* starts like an archive (formats/archmagic.h) */
	int read_errno; /* read() failed with this */
};

/* Returns 0 or MV_ERR_NOMEM. Release with mv_file_chunker_release. */
int mv_file_chunker_init(struct mv_file_chunker *fc, const struct mv_chunker *c, size_t chunk_max,
                         int plain) MV_MUST_CHECK;
void mv_file_chunker_release(struct mv_file_chunker *fc);

/* Reads fd (a regular file of about `size` bytes, from its current offset)
 * and calls chunk(arg, p, n) for each chunk in order; head(arg, p, n, facts)
 * (may be NULL) sees the first bytes once, after the DICOM header was parsed.
 * Returns 0, MV_ERR_IO (facts->read_errno says why), MV_ERR_NOMEM, or the
 * first non-zero value a callback returned. */
int mv_file_chunks(struct mv_file_chunker *fc, int fd, uint64_t size,
                   int (*chunk)(void *arg, const uint8_t *p, size_t n),
                   void (*head)(void *arg, const uint8_t *p, size_t n,
                                const struct mv_file_facts *facts),
                   void *arg, struct mv_file_facts *facts);

/* Content hashes of files as backup records them: the file read whole
 * through the repository's chunker, with a forced chunk boundary where the
 * pixel data of a DICOM file begins (as core/ops/backup.c cuts by default; a
 * snapshot made with --plain-chunking records other hashes for DICOM
 * files), keyed chunk ids, then the content hash of FORMAT.md section 2.
 * Shared by scan, restore (comparing existing files) and the wipe's proof
 * (core/wipe/proof.h). One hasher per thread; it holds a read buffer of 2 * chunk_max bytes, as
 * backup does. */
struct mv_file_hasher;
/* NULL when out of memory. r must stay open and unlocked. */
struct mv_file_hasher *mv_file_hasher_new(const struct mv_repo *r);
void mv_file_hasher_free(struct mv_file_hasher *h); /* accepts NULL */
/* Reads fd from offset 0 to the end; size is the file's size as stat'ed
 * (the DICOM parser's hint, as in backup). *info is set to the file's DICOM
 * header (inside h, valid until the next run) or NULL when it is not
 * DICOM. on_head (may be NULL) is called once, before any chunk is cut,
 * with the first bytes read: min(file size, 2 * chunk_max). *size_read
 * gets the bytes read. Returns 0, MV_ERR_IO (a read failed:
 * err->saved_errno), MV_ERR_NOMEM, MV_ERR_LIMIT (more chunks than a tree
 * records) or MV_ERR_INTERRUPTED (*cancel, which may be NULL, was set). */
int mv_file_hasher_run(struct mv_file_hasher *h, int fd, uint64_t size, uint8_t content[32],
                       uint64_t *size_read, const struct mv_dicom_info **info,
                       void (*on_head)(void *arg, const uint8_t *p, size_t n), void *arg,
                       volatile sig_atomic_t *cancel, struct mv_error *err) MV_MUST_CHECK;

#endif
