#include "core/repo/filechunk.h"

#include "core/repo/repo.h"
#include "core/util/grow.h"
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

/* ---- the file hasher ---------------------------------------------------- */

struct mv_file_hasher {
	const struct mv_repo *r;
	struct mv_file_chunker fc; /* cuts exactly as backup does */
	uint8_t (*ids)[32];
	size_t nids, idcap;
	volatile sig_atomic_t *cancel;
	void (*on_head)(void *arg, const uint8_t *p, size_t n);
	void *arg;
};

struct mv_file_hasher *mv_file_hasher_new(const struct mv_repo *r)
{
	struct mv_file_hasher *h;

	if (!mv_repo_keys(r) || !mv_repo_chunker(r))
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->r = r;
	if (mv_file_chunker_init(&h->fc, mv_repo_chunker(r), mv_repo_config(r)->chunk_max, 0) !=
	    0) {
		free(h);
		return NULL;
	}
	return h;
}

void mv_file_hasher_free(struct mv_file_hasher *h)
{
	if (!h)
		return;
	mv_file_chunker_release(&h->fc);
	free(h->ids);
	free(h);
}

static int hash_chunk(void *arg, const uint8_t *p, size_t n)
{
	struct mv_file_hasher *h = arg;
	if (h->cancel && *h->cancel)
		return MV_ERR_INTERRUPTED;
	if (h->nids >= MV_NODE_MAX_CHUNKS)
		return MV_ERR_LIMIT;
	if (mv_grow(h->ids, h->idcap, h->nids + 1))
		return MV_ERR_NOMEM;
	mv_blob_id(mv_repo_keys(h->r), p, n, h->ids[h->nids++]);
	return 0;
}

static void hash_head(void *arg, const uint8_t *p, size_t n, const struct mv_file_facts *facts)
{
	struct mv_file_hasher *h = arg;
	(void)facts;
	if (h->on_head)
		h->on_head(h->arg, p, n);
}

int mv_file_hasher_run(struct mv_file_hasher *h, int fd, uint64_t size, uint8_t content[32],
                       uint64_t *size_read, const struct mv_dicom_info **info,
                       void (*on_head)(void *arg, const uint8_t *p, size_t n), void *arg,
                       volatile sig_atomic_t *cancel, struct mv_error *err)
{
	struct mv_file_facts facts;
	*size_read = 0;
	*info = NULL;
	h->nids = 0;
	h->cancel = cancel;
	h->on_head = on_head;
	h->arg = arg;
	int rc = mv_file_chunks(&h->fc, fd, size, hash_chunk, hash_head, h, &facts);
	switch (rc) {
	case 0:
		break;
	case MV_ERR_IO:
		return mv_error_set(err, MV_ERR_IO, facts.read_errno, "cannot read");
	case MV_ERR_LIMIT:
		return mv_error_set(err, rc, 0, "file has too many chunks");
	case MV_ERR_INTERRUPTED:
		return mv_error_set(err, rc, 0, "interrupted");
	default:
		return mv_error_set(err, rc, 0, "out of memory");
	}
	if (facts.dicom)
		*info = &h->fc.info;
	mv_content_hash(mv_repo_keys(h->r), facts.size, (const uint8_t(*)[32])h->ids, h->nids,
	                content);
	*size_read = facts.size;
	return 0;
}
