/* The wipe journal (FORMAT.md section 14.1). */
#include "core/wipe/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/fdio.h"
#include "core/util/grow.h"
#include "formats/buf.h"

#define RECORD_MAX (1u << 17) /* a sealed record: path up to 65535 bytes and the rest */
#define FILE_MAX   (256u << 20)

struct mv_journal {
	int fd;
	const struct mv_keys *k;
	char *path;
	struct mv_journal_entry *pending;
	size_t npending, cap;
};

static int io_fail(struct mv_error *err, const char *what, const char *path)
{
	int e = errno;
	return mv_error_set(err, e == ENOSPC ? MV_ERR_NOSPC : MV_ERR_IO, e, "cannot %s '%s'", what,
	                    path);
}

static int same_file(const struct mv_journal_entry *a, const struct mv_journal_entry *b)
{
	return a->dev == b->dev && a->ino == b->ino && strcmp(a->path, b->path) == 0;
}

/* Applies one decoded record to the pending list. */
static int apply(struct mv_journal *j, int kind, struct mv_journal_entry *e)
{
	for (size_t i = 0; i < j->npending; i++) {
		if (!same_file(&j->pending[i], e))
			continue;
		/* a file begun twice (a re-run) stays pending once; an end clears it */
		free(e->path);
		if (kind == MV_JOURNAL_ENDS) {
			free(j->pending[i].path);
			j->pending[i] = j->pending[--j->npending];
		}
		return 0;
	}
	if (kind == MV_JOURNAL_ENDS) {
		free(e->path);
		return 0;
	}
	if (mv_grow(j->pending, j->cap, j->npending + 1) != 0) {
		free(e->path);
		return MV_ERR_NOMEM;
	}
	j->pending[j->npending++] = *e;
	return 0;
}

static int decode(const uint8_t *p, size_t len, int *kind, struct mv_journal_entry *e)
{
	struct mv_rbuf r;
	size_t plen;
	mv_rbuf_init(&r, p, len);
	*kind = mv_rbuf_u8(&r);
	e->dev = mv_rbuf_u64(&r);
	e->ino = mv_rbuf_u64(&r);
	e->size = mv_rbuf_u64(&r);
	const uint8_t *c = mv_rbuf_get(&r, 32);
	const uint8_t *s = mv_rbuf_get(&r, 32);
	e->time = mv_rbuf_i64(&r);
	const uint8_t *path = mv_rbuf_str16(&r, &plen);
	if (r.failed || mv_rbuf_left(&r) != 0 || plen == 0 || memchr(path, 0, plen) ||
	    (*kind != MV_JOURNAL_BEGINS && *kind != MV_JOURNAL_ENDS))
		return MV_ERR_INTEGRITY;
	memcpy(e->content, c, 32);
	memcpy(e->snapshot, s, 32);
	e->path = malloc(plen + 1);
	if (!e->path)
		return MV_ERR_NOMEM;
	memcpy(e->path, path, plen);
	e->path[plen] = '\0';
	return 0;
}

static int load(struct mv_journal *j, struct mv_error *err)
{
	struct stat st;
	uint8_t *buf = NULL, *work = NULL;
	int rc = 0;

	if (fstat(j->fd, &st) != 0)
		return io_fail(err, "read", j->path);
	if (!S_ISREG(st.st_mode) || st.st_size > FILE_MAX)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "wipe journal '%s' is not a regular file of at most 256 MiB",
		                    j->path);
	size_t size = (size_t)st.st_size;
	if (size == 0)
		return 0;
	buf = malloc(size);
	work = malloc(RECORD_MAX);
	if (!buf || !work) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	ssize_t got = pread(j->fd, buf, size, 0);
	if (got != (ssize_t)size) {
		rc = got < 0 ? io_fail(err, "read", j->path)
		             : mv_error_set(err, MV_ERR_IO, 0, "'%s' changed while read", j->path);
		goto out;
	}
	for (size_t off = 0; off + 4 <= size;) {
		uint32_t n = mv_get_u32(buf + off);
		if (n > size - off - 4)
			break; /* cut short by a crash while appending: ignored */
		uint8_t enc;
		const uint8_t *payload;
		size_t plen;
		int kind;
		struct mv_journal_entry e;
		if (n > RECORD_MAX || n < MV_SEAL_OVERHEAD ||
		    mv_unseal(j->k, MV_T_WIPE_JOURNAL, NULL, buf + off + 4, n, work, &enc, &payload,
		              &plen, err) != 0 ||
		    enc != MV_ENC_STORED || decode(payload, plen, &kind, &e) != 0) {
			rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
			                  "wipe journal '%s' is damaged at byte %zu (or belongs to "
			                  "another repository); it is left as it is",
			                  j->path, off);
			goto out;
		}
		rc = apply(j, kind, &e);
		if (rc != 0) {
			mv_error_set(err, rc, 0, "out of memory");
			goto out;
		}
		off += 4 + (size_t)n;
	}
out:
	free(buf);
	free(work);
	return rc;
}

int mv_journal_open(const char *path, const struct mv_keys *k, struct mv_journal **out,
                    struct mv_error *err)
{
	struct mv_journal *j = calloc(1, sizeof(*j));
	int rc;

	*out = NULL;
	if (!j || !(j->path = strdup(path))) {
		free(j);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	j->k = k;
	j->fd = -1;
	rc = mv_make_parents(j->path, err);
	if (rc == 0) {
		j->fd = open(
		    path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		if (j->fd < 0)
			rc = io_fail(err, "open", path);
		else if (flock(j->fd, LOCK_EX | LOCK_NB) != 0)
			rc = errno == EWOULDBLOCK
			         ? mv_error_set(
			               err, MV_ERR_LOCKED, 0,
			               "another wipe with this repository is running on this "
			               "machine (its journal '%s' is locked)",
			               path)
			         : io_fail(err, "lock", path);
	}
	if (rc == 0)
		rc = load(j, err);
	if (rc != 0) {
		mv_journal_close(j);
		return rc;
	}
	*out = j;
	return 0;
}

const struct mv_journal_entry *mv_journal_pending(const struct mv_journal *j, size_t *n)
{
	*n = j->npending;
	return j->pending;
}

int mv_journal_append(struct mv_journal *j, int kind, const struct mv_journal_entry *e,
                      struct mv_error *err)
{
	struct mv_wbuf w;
	size_t plen = strlen(e->path);
	int rc;

	if (plen == 0 || plen > 65535)
		return mv_error_set(err, MV_ERR_LIMIT, 0, "path too long for the wipe journal");
	mv_wbuf_init(&w, RECORD_MAX);
	/* room for the length and the nonce before the payload: sealed in place */
	mv_wbuf_reserve(&w, 4 + MV_NONCE_LEN + MV_FRAME_HDR);
	mv_wbuf_u8(&w, (uint8_t)kind);
	mv_wbuf_u64(&w, e->dev);
	mv_wbuf_u64(&w, e->ino);
	mv_wbuf_u64(&w, e->size);
	mv_wbuf_put(&w, e->content, 32);
	mv_wbuf_put(&w, e->snapshot, 32);
	mv_wbuf_i64(&w, e->time);
	mv_wbuf_str16(&w, e->path, plen);
	size_t n = w.len - (4 + MV_NONCE_LEN + MV_FRAME_HDR);
	size_t sealed = mv_sealed_size(n);
	if (!w.failed && sealed > n + MV_NONCE_LEN + MV_FRAME_HDR)
		mv_wbuf_reserve(&w, sealed - n - MV_NONCE_LEN - MV_FRAME_HDR);
	if (w.failed) {
		rc = w.failed;
		mv_wbuf_release(&w);
		return mv_error_set(err, rc, 0, "cannot encode a wipe journal record");
	}
	sealed = mv_seal(j->k, MV_T_WIPE_JOURNAL, NULL, MV_ENC_STORED,
	                 w.data + 4 + MV_NONCE_LEN + MV_FRAME_HDR, n, w.data + 4);
	mv_put_u32(w.data, (uint32_t)sealed);
	rc = 0;
	if (mv_write_all(j->fd, w.data, 4 + sealed) != 0 ||
	    (kind == MV_JOURNAL_BEGINS && fdatasync(j->fd) != 0))
		rc = io_fail(err, "write", j->path);
	mv_wbuf_release(&w);
	return rc;
}

int mv_journal_reset(struct mv_journal *j, struct mv_error *err)
{
	if (ftruncate(j->fd, 0) != 0 || fsync(j->fd) != 0)
		return io_fail(err, "empty", j->path);
	return 0;
}

void mv_journal_close(struct mv_journal *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->npending; i++)
		free(j->pending[i].path);
	free(j->pending);
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}
