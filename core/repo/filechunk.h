/* Cutting a file into chunks exactly as backup stores it: content-defined
 * cuts (the repository's chunker) plus a forced cut where a DICOM file's
 * pixel data begins, so that two exports of the same images with other
 * headers share their pixel data. Backup stores the chunks; scan hashes them
 * to compare with the repository: both must cut identically. */
#ifndef MV_FILECHUNK_H
#define MV_FILECHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/chunker.h"
#include "core/util/err.h"
#include "formats/dicom.h"

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

#endif
