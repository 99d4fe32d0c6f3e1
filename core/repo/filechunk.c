#include "core/repo/filechunk.h"

#include "formats/archmagic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mv_file_chunker_init(struct mv_file_chunker *fc, const struct mv_chunker *c, size_t chunk_max,
                         int plain)
{
	memset(fc, 0, sizeof(*fc));
	if (mv_size_mul(chunk_max, 2, &fc->cap) || fc->cap == 0)
		return MV_ERR_USAGE;
	fc->buf = malloc(fc->cap);
	if (!fc->buf)
		return MV_ERR_NOMEM;
	fc->chunker = c;
	fc->chunk_max = chunk_max;
	fc->plain = plain;
	return 0;
}

void mv_file_chunker_release(struct mv_file_chunker *fc)
{
	free(fc->buf);
	fc->buf = NULL;
}

int mv_file_chunks(struct mv_file_chunker *fc, int fd, uint64_t size,
                   int (*chunk)(void *arg, const uint8_t *p, size_t n),
                   void (*head)(void *arg, const uint8_t *p, size_t n,
                                const struct mv_file_facts *facts),
                   void *arg, struct mv_file_facts *facts)
{
	size_t start = 0, end = 0;
	uint64_t base = 0;   /* file offset of buf[0] */
	uint64_t cut_at = 0; /* forced boundary: DICOM pixel data */
	int eof = 0, first = 1;

	memset(facts, 0, sizeof(*facts));
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		/* keep at least chunk_max bytes ahead of the cut point (the
		 * chunker then always finds a cut), unless the file ends first */
		if (!eof && end - start < fc->chunk_max) {
			if (start > 0) {
				memmove(fc->buf, fc->buf + start, end - start);
				base += start;
				end -= start;
				start = 0;
			}
			while (!eof && end < fc->cap) {
				ssize_t n = read(fd, fc->buf + end, fc->cap - end);
				if (n < 0) {
					if (errno == EINTR)
						continue;
					facts->read_errno = errno;
					return MV_ERR_IO;
				}
				if (n == 0)
					eof = 1;
				end += (size_t)n;
				facts->size += (uint64_t)n;
			}
			if (first) {
				size_t need;
				first = 0;
				facts->archive = mv_archive_magic(fc->buf, end) != MV_ARCH_NONE;
				int d = mv_dicom_parse(fc->buf, end, size, &fc->info, &need);
				if (d < 0)
					return MV_ERR_NOMEM;
				facts->dicom = d == 1;
				if (facts->dicom && !fc->plain && fc->info.pixel_offset > 0 &&
				    fc->info.pixel_offset < size)
					cut_at = fc->info.pixel_offset;
				if (head)
					head(arg, fc->buf, end, facts);
			}
		}
		if (start == end && eof)
			return 0;
		/* a forced boundary within reach ends the chunk there at the latest */
		uint64_t at = base + start;
		size_t avail = end - start;
		int stop = eof;
		if (cut_at > at && cut_at - at <= avail) {
			avail = (size_t)(cut_at - at);
			stop = 1;
		}
		size_t c = mv_chunker_next(fc->chunker, fc->buf + start, avail, stop);
		if (c == 0)
			continue; /* need more: the loop reads */
		/* inside pixel data (which starts at an even offset) chunks keep
		 * 16-bit samples whole, so that each blob can be delta-coded */
		if (cut_at && at >= cut_at && (c & 1) && c > 1 && c < avail)
			c--;
		int rc = chunk(arg, fc->buf + start, c);
		if (rc)
			return rc;
		start += c;
	}
}
