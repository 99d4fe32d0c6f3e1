#define _GNU_SOURCE /* O_DIRECT */
#include "core/wipe/overwrite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util/beneath.h"
#include "core/util/grow.h"

/* Bytes written or read per call: large enough that the rate is the
 * device's (see the measures in the commit that set it). */
#define OW_BLOCK (4u << 20)
/* O_DIRECT wants offsets, lengths and buffers aligned to the logical block
 * size; 4096 covers every device we meet, other chunks go buffered. */
#define OW_ALIGN       4096u
#define OW_PROGRESS_NS 100000000LL /* at most ten progress calls a second */

struct extent {
	uint64_t off, len;
};

struct ow {
	int fd;
	const struct mv_ow_opts *o;
	struct mv_ow_result *res;
	struct mv_error *err;
	struct extent *ext; /* data extents: what each pass writes */
	size_t next, cap;
	uint8_t *buf, *want;                          /* OW_BLOCK bytes each, OW_ALIGN-aligned */
	uint8_t key[crypto_stream_chacha20_KEYBYTES]; /* this pass's stream */
	unsigned passes;
	int flags0; /* status flags on entry, put back on return */
	int direct; /* O_DIRECT is set on fd now */
	int is_dev;
	uint64_t done, total;
	int64_t last_ns;
};

static int cancelled(const struct ow *w)
{
	return w->o->cancel && __atomic_load_n(w->o->cancel, __ATOMIC_RELAXED);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void progress(struct ow *w, uint64_t n, int force)
{
	w->done += n;
	if (!w->o->progress)
		return;
	int64_t t = now_ns();
	if (!force && t - w->last_ns < OW_PROGRESS_NS)
		return;
	w->last_ns = t;
	w->o->progress(w->o->arg, w->done, w->total);
}

/* What the pass under way writes at [off, off + len). */
static void fill(const struct ow *w, uint8_t *p, uint64_t off, size_t len)
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];

	if (w->o->pattern != MV_OW_RANDOM) {
		memset(p, w->o->pattern == MV_OW_ONE ? 0xFF : 0x00, len);
		return;
	}
	/* the key stream from byte off: 64-byte ChaCha20 blocks counted from
	 * the start of the file or device */
	uint64_t ic = off / 64;
	size_t skip = (size_t)(off % 64);
	if (skip) {
		uint8_t blk[64] = {0};
		size_t n = 64 - skip < len ? 64 - skip : len;
		crypto_stream_chacha20_xor_ic(blk, blk, sizeof(blk), nonce, ic, w->key);
		memcpy(p, blk + skip, n);
		p += n;
		len -= n;
		ic++;
	}
	if (len) {
		memset(p, 0, len);
		crypto_stream_chacha20_xor_ic(p, p, len, nonce, ic, w->key);
	}
}

static int set_direct(struct ow *w, int on)
{
	if (on == w->direct)
		return 0;
	int fl = on ? (w->flags0 | O_DIRECT) : (w->flags0 & ~O_DIRECT);
	if (fcntl(w->fd, F_SETFL, fl) < 0)
		return -1;
	w->direct = on;
	return 0;
}

static int aligned(uint64_t off, size_t len)
{
	return off % OW_ALIGN == 0 && len % OW_ALIGN == 0;
}

/* Writes w->buf[0..len) at off: with O_DIRECT when it is on and the chunk
 * aligned, else buffered. A device or file system that refuses O_DIRECT
 * writes (EINVAL) turns it off for good. */
static int write_at(struct ow *w, uint64_t off, size_t len, int *use_direct)
{
	size_t have = 0;

	if (set_direct(w, *use_direct && aligned(off, len)) < 0)
		*use_direct = 0;
	while (have < len) {
		ssize_t n = pwrite(w->fd, w->buf + have, len - have, (off_t)(off + have));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && w->direct) {
			*use_direct = 0;
			if (set_direct(w, 0) < 0)
				goto fail;
			continue;
		}
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			goto fail;
		}
		have += (size_t)n;
	}
	return 0;
fail:;
	int e = errno;
	return mv_error_set(w->err, e == ENOSPC ? MV_ERR_NOSPC : MV_ERR_IO, e,
	                    "cannot write at offset %" PRIu64, off + have);
}

/* Puts what was written on the medium and out of the page cache, so that
 * the read-back sees the medium. */
static int sync_out(struct ow *w)
{
	if (fdatasync(w->fd) < 0)
		return mv_error_set(w->err, MV_ERR_IO, errno, "cannot sync");
	if (w->is_dev && ioctl(w->fd, BLKFLSBUF, 0) < 0 && errno != ENOTTY && errno != EACCES)
		return mv_error_set(w->err, MV_ERR_IO, errno, "cannot flush the device buffers");
	(void)posix_fadvise(w->fd, 0, 0, POSIX_FADV_DONTNEED);
	return 0;
}

static int interrupted(struct ow *w, uint64_t off, const char *what)
{
	w->res->stopped_at = off;
	return mv_error_set(w->err, MV_ERR_INTERRUPTED, 0,
	                    "interrupted during the %s at offset %" PRIu64, what, off);
}

/* The bytes of the block at off, before end. */
static size_t chunk_len(uint64_t off, uint64_t end)
{
	return (size_t)(end - off < OW_BLOCK ? end - off : OW_BLOCK);
}

static int one_pass(struct ow *w, int *use_direct)
{
	if (w->o->pattern == MV_OW_RANDOM)
		randombytes_buf(w->key, sizeof(w->key));
	else
		fill(w, w->buf, 0, OW_BLOCK);
	for (size_t i = 0; i < w->next; i++) {
		const struct extent *x = &w->ext[i];
		for (uint64_t off = x->off; off < x->off + x->len;) {
			size_t len = chunk_len(off, x->off + x->len);
			if (cancelled(w)) {
				(void)fdatasync(w->fd); /* what was written counts */
				return interrupted(w, off, "overwrite");
			}
			if (w->o->pattern == MV_OW_RANDOM)
				fill(w, w->buf, off, len);
			int rc = write_at(w, off, len, use_direct);
			if (rc)
				return rc;
			w->res->bytes_overwritten += len;
			if (*use_direct && aligned(off, len))
				w->res->direct = 1;
			progress(w, len, 0);
			off += len;
		}
	}
	int rc = sync_out(w);
	if (rc)
		return rc;
	w->res->passes_done++;
	progress(w, 0, 1); /* each pass ends with a call */
	return 0;
}

/* Reads [off, off + len) into w->buf: all of it, or an error. */
static int read_at(struct ow *w, uint64_t off, size_t len, int *use_direct)
{
	/* O_DIRECT reads whole blocks: past the end of the file they come
	 * short, which is fine as long as len bytes come */
	size_t up = (len + OW_ALIGN - 1) / OW_ALIGN * OW_ALIGN;
	int d = *use_direct && off % OW_ALIGN == 0 && up <= OW_BLOCK;
	size_t want = d ? up : len;
	if (set_direct(w, d) < 0) {
		*use_direct = 0;
		want = len;
	}
	size_t have = 0;
	while (have < len) {
		ssize_t n = pread(w->fd, w->buf + have, want - have, (off_t)(off + have));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && w->direct) {
			/* the page cache was dropped after the sync */
			*use_direct = 0;
			want = len;
			if (set_direct(w, 0) < 0)
				return mv_error_set(w->err, MV_ERR_IO, errno, "cannot read back");
			continue;
		}
		if (n < 0)
			return mv_error_set(w->err, MV_ERR_IO, errno,
			                    "cannot read back at offset %" PRIu64, off + have);
		have += (size_t)n;
		if (n == 0 || (w->direct && have % OW_ALIGN))
			break; /* the end of the file */
	}
	if (have < len)
		return mv_error_set(w->err, MV_ERR_INTEGRITY, 0,
		                    "read back came short at offset %" PRIu64 " (%" PRIu64
		                    " bytes expected)",
		                    off + have, (uint64_t)(len - have));
	return 0;
}

static void *alloc_block(void)
{
	void *p = NULL;
	return posix_memalign(&p, OW_ALIGN, OW_BLOCK) == 0 ? p : NULL;
}

/* A block of the read-back. */
struct rblk {
	uint64_t off;
	size_t len;
	uint8_t serial; /* set by a worker: to be read without O_DIRECT, after */
};

/* A read-back worker: checks blocks first, first + step, ... With two, two
 * reads are in flight (one synchronous O_DIRECT read at a time leaves the
 * device idle between them: about 0.6x of cat with its readahead) and the
 * expected bytes are made on two cores. */
struct rbw {
	struct ow *w;
	struct rblk *b;
	size_t nb, first, step;
	uint8_t *buf, *want;
	int *stop;          /* shared, atomic */
	uint64_t *verified; /* shared, atomic: bytes checked */
	size_t fail_k;      /* the block that failed (SIZE_MAX: none) */
	int fail_rc;        /* MV_ERR_INTEGRITY, MV_ERR_IO, MV_ERR_INTERRUPTED */
	int fail_errno;
	uint64_t fail_at;    /* offset */
	uint64_t fail_short; /* bytes missing at fail_at, for a short read */
};

static void rbw_fail(struct rbw *v, size_t k, int rc, int e, uint64_t at, uint64_t missing)
{
	v->fail_k = k;
	v->fail_rc = rc;
	v->fail_errno = e;
	v->fail_at = at;
	v->fail_short = missing;
	__atomic_store_n(v->stop, 1, __ATOMIC_RELAXED);
}

static void *rbw_run(void *arg)
{
	struct rbw *v = arg;
	struct ow *w = v->w;
	for (size_t k = v->first; k < v->nb; k += v->step) {
		struct rblk *b = &v->b[k];
		if (__atomic_load_n(v->stop, __ATOMIC_RELAXED))
			break;
		if (cancelled(w)) {
			rbw_fail(v, k, MV_ERR_INTERRUPTED, 0, b->off, 0);
			break;
		}
		size_t up = (b->len + OW_ALIGN - 1) / OW_ALIGN * OW_ALIGN, have = 0;
		if (b->off % OW_ALIGN != 0 || up > OW_BLOCK) {
			b->serial = 1;
			continue;
		}
		while (have < b->len) {
			ssize_t n = pread(w->fd, v->buf + have, up - have, (off_t)(b->off + have));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || have % OW_ALIGN || (size_t)n % OW_ALIGN) {
				if (n < 0 && errno != EINVAL) {
					rbw_fail(v, k, MV_ERR_IO, errno, b->off + have, 0);
					return NULL;
				}
				if (n > 0)
					have += (size_t)n;
				break; /* EINVAL, the end of the file, or a short block */
			}
			have += (size_t)n;
		}
		if (have < b->len && !(have > 0 && have % OW_ALIGN)) {
			/* EINVAL or an aligned short read: the serial pass decides */
			b->serial = 1;
			continue;
		}
		if (have < b->len) {
			rbw_fail(v, k, MV_ERR_INTEGRITY, 0, b->off + have, b->len - have);
			return NULL;
		}
		if (w->o->pattern == MV_OW_RANDOM)
			fill(w, v->want, b->off, b->len);
		if (memcmp(v->buf, v->want, b->len) != 0) {
			size_t d = 0;
			while (v->buf[d] == v->want[d])
				d++;
			rbw_fail(v, k, MV_ERR_INTEGRITY, 0, b->off + d, 0);
			return NULL;
		}
		__atomic_add_fetch(v->verified, b->len, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* The blocks of the ranges r[0..n) (*out malloc'd). */
static int rb_blocks(const struct extent *r, size_t n, struct rblk **out, size_t *nb)
{
	size_t cap = 0;
	*out = NULL;
	*nb = 0;
	for (size_t i = 0; i < n; i++)
		for (uint64_t off = r[i].off; off < r[i].off + r[i].len;) {
			size_t len = chunk_len(off, r[i].off + r[i].len);
			if (mv_grow(*out, cap, *nb + 1) != 0)
				return -1;
			(*out)[(*nb)++] = (struct rblk){off, len, 0};
			off += len;
		}
	return 0;
}

/* Reads back the ranges r[0..n) and compares them with the last pass: two
 * workers on the blocks O_DIRECT can read, then the others one by one. */
static int verify(struct ow *w, const struct extent *r, size_t n)
{
	int use_direct = 1, rc = 0, stop = 0;
	uint64_t verified = 0, reported = 0;
	struct rblk *b;
	size_t nb;
	struct rbw v[2];
	pthread_t th;
	int threaded = 0;

	if (rb_blocks(r, n, &b, &nb) != 0) {
		free(b);
		return mv_error_set(w->err, MV_ERR_NOMEM, 0, "out of memory");
	}
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 2; i++)
		v[i] = (struct rbw){.w = w,
		                    .b = b,
		                    .nb = nb,
		                    .first = (size_t)i,
		                    .step = 1,
		                    .stop = &stop,
		                    .verified = &verified,
		                    .fail_k = SIZE_MAX};
	v[0].buf = w->buf;
	v[0].want = w->want;
	if (w->o->pattern != MV_OW_RANDOM)
		fill(w, w->want, 0, OW_BLOCK);
	if (set_direct(w, 1) == 0) {
		if (nb > 1 && (v[1].buf = alloc_block()) && (v[1].want = alloc_block())) {
			if (w->o->pattern != MV_OW_RANDOM)
				memcpy(v[1].want, w->want, OW_BLOCK);
			v[0].step = v[1].step = 2;
			threaded = pthread_create(&th, NULL, rbw_run, &v[1]) == 0;
			if (!threaded)
				v[0].step = 1;
		}
		/* this thread's share, reporting progress as blocks are checked */
		for (size_t k = 0; k < nb; k += v[0].step) {
			struct rbw one = v[0];
			one.first = k;
			one.nb = k + 1 < nb ? k + 1 : nb;
			rbw_run(&one);
			if (one.fail_k != SIZE_MAX) {
				v[0] = one;
				v[0].nb = nb;
				break;
			}
			uint64_t now = __atomic_load_n(&verified, __ATOMIC_RELAXED);
			progress(w, now - reported, 0);
			reported = now;
			if (__atomic_load_n(&stop, __ATOMIC_RELAXED))
				break;
		}
		if (threaded)
			pthread_join(th, NULL);
	} else {
		for (size_t k = 0; k < nb; k++)
			b[k].serial = 1;
	}
	/* the first failure, by offset */
	const struct rbw *f = v[1].fail_k < v[0].fail_k ? &v[1] : &v[0];
	if (f->fail_k != SIZE_MAX) {
		if (f->fail_rc == MV_ERR_INTERRUPTED)
			rc = interrupted(w, f->fail_at, "read-back");
		else if (f->fail_rc == MV_ERR_IO)
			rc = mv_error_set(w->err, MV_ERR_IO, f->fail_errno,
			                  "cannot read back at offset %" PRIu64, f->fail_at);
		else if (f->fail_short)
			rc = mv_error_set(w->err, MV_ERR_INTEGRITY, 0,
			                  "read back came short at offset %" PRIu64 " (%" PRIu64
			                  " bytes expected)",
			                  f->fail_at, f->fail_short);
		else
			rc = mv_error_set(
			    w->err, MV_ERR_INTEGRITY, 0,
			    "read back differs from what was written at offset %" PRIu64,
			    f->fail_at);
	}
	w->res->bytes_verified += verified;
	progress(w, verified - reported, 0);
	/* what O_DIRECT could not read, one block at a time */
	for (size_t k = 0; rc == 0 && k < nb; k++) {
		if (!b[k].serial)
			continue;
		if (cancelled(w)) {
			rc = interrupted(w, b[k].off, "read-back");
			break;
		}
		if ((rc = read_at(w, b[k].off, b[k].len, &use_direct)) != 0)
			break;
		if (w->o->pattern == MV_OW_RANDOM)
			fill(w, w->want, b[k].off, b[k].len);
		if (memcmp(w->buf, w->want, b[k].len) != 0) {
			size_t d = 0;
			while (w->buf[d] == w->want[d])
				d++;
			rc = mv_error_set(
			    w->err, MV_ERR_INTEGRITY, 0,
			    "read back differs from what was written at offset %" PRIu64,
			    b[k].off + d);
			break;
		}
		w->res->bytes_verified += b[k].len;
		progress(w, b[k].len, 0);
	}
	free(v[1].buf);
	free(v[1].want);
	free(b);
	return rc;
}

static uint64_t ranges_bytes(const struct extent *r, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += r[i].len;
	return s;
}

/* The passes then the read-back of r[0..nr). */
static int run(struct ow *w, const struct extent *r, size_t nr)
{
	int rc = 0, use_direct = 1;

	w->res->allocated = ranges_bytes(w->ext, w->next);
	w->total = w->res->allocated * w->passes + ranges_bytes(r, nr);
	if (w->o->begin && (rc = w->o->begin(w->o->arg, w->res->allocated)) != 0)
		return rc;
	w->last_ns = now_ns();
	int64_t t0 = w->last_ns;
	for (unsigned p = 0; p < w->passes && rc == 0; p++)
		rc = one_pass(w, &use_direct);
	int64_t t1 = now_ns();
	w->res->write_ns += (uint64_t)(t1 - t0);
	if (rc != 0)
		return rc;
	if (w->o->before_verify)
		w->o->before_verify(w->o->arg, w->fd);
	rc = verify(w, r, nr);
	w->res->verify_ns += (uint64_t)(now_ns() - t1);
	if (rc != 0)
		return rc;
	progress(w, 0, 1);
	return 0;
}

/* Checks the options, allocates the buffers, notes the flags. */
static int setup(struct ow *w, int fd, const struct mv_ow_opts *o, struct mv_ow_result *res,
                 struct mv_error *err)
{
	memset(w, 0, sizeof(*w));
	w->flags0 = -1;
	w->fd = fd;
	w->o = o;
	w->res = res;
	w->err = err;
	if (!res)
		return mv_error_set(err, MV_ERR_USAGE, 0, "no result given");
	memset(res, 0, sizeof(*res));
	if (!o || o->passes > MV_OW_MAX_PASSES || o->pattern < MV_OW_RANDOM ||
	    o->pattern > MV_OW_ONE)
		return mv_error_set(err, MV_ERR_USAGE, 0, "invalid overwrite options");
	w->passes = o->passes ? o->passes : 1;
	if (sodium_init() < 0)
		return mv_error_set(err, MV_ERR_IO, 0, "cannot initialise libsodium");
	if ((w->flags0 = fcntl(fd, F_GETFL)) < 0)
		return mv_error_set(err, MV_ERR_IO, errno, "cannot read the descriptor flags");
	if ((w->flags0 & O_ACCMODE) != O_RDWR)
		return mv_error_set(err, MV_ERR_USAGE, 0,
		                    "descriptor not open for reading and writing");
	w->direct = (w->flags0 & O_DIRECT) != 0;
	if (!(w->buf = alloc_block()) || !(w->want = alloc_block()))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	return 0;
}

static void teardown(struct ow *w)
{
	if (w->flags0 >= 0)
		(void)fcntl(w->fd, F_SETFL, w->flags0);
	free(w->buf);
	free(w->want);
	free(w->ext);
	sodium_memzero(w->key, sizeof(w->key));
}

static int add_range(struct extent **r, size_t *n, size_t *cap, uint64_t off, uint64_t len,
                     struct mv_error *err)
{
	if (mv_grow(*r, *cap, *n + 1))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	(*r)[(*n)++] = (struct extent){off, len};
	return 0;
}

/* The data extents of the first size bytes of the file. */
static int map_extents(struct ow *w, uint64_t size)
{
	uint64_t pos = 0;

	while (pos < size) {
		off_t d = lseek(w->fd, (off_t)pos, SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			break;
		if (d < 0)
			return mv_error_set(w->err, MV_ERR_IO, errno,
			                    "cannot find the data extents");
		if ((uint64_t)d >= size)
			break;
		off_t h = lseek(w->fd, d, SEEK_HOLE);
		if (h < 0)
			return mv_error_set(w->err, MV_ERR_IO, errno,
			                    "cannot find the data extents");
		uint64_t end = (uint64_t)h < size ? (uint64_t)h : size;
		if (end <= (uint64_t)d)
			break;
		int rc =
		    add_range(&w->ext, &w->next, &w->cap, (uint64_t)d, end - (uint64_t)d, w->err);
		if (rc)
			return rc;
		pos = end;
	}
	return 0;
}

int mv_overwrite_file(int fd, const struct mv_ow_opts *opts, struct mv_ow_result *result,
                      struct mv_error *err)
{
	struct ow w;
	struct stat st;
	int rc = setup(&w, fd, opts, result, err);

	if (rc)
		goto out;
	if (fstat(fd, &st) < 0) {
		rc = mv_error_set(err, MV_ERR_IO, errno, "cannot stat");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = mv_error_set(err, MV_ERR_USAGE, 0, "not a regular file");
		goto out;
	}
	result->size = (uint64_t)st.st_size;
	if ((rc = map_extents(&w, (uint64_t)st.st_size)) != 0)
		goto out;
	rc = run(&w, w.ext, w.next);
out:
	teardown(&w);
	return rc;
}

/* The blocks a sampled read-back compares: at least a tenth of the device,
 * OW_BLOCK each, spread evenly, the first and the last included. */
static int sample_ranges(uint64_t size, struct extent **r, size_t *n, struct mv_error *err)
{
	size_t cap = 0;
	uint64_t nblocks = (size + OW_BLOCK - 1) / OW_BLOCK;
	/* one more than a tenth: the last block may be short */
	uint64_t k = nblocks / 10 + 2;

	if (k > nblocks)
		k = nblocks;
	for (uint64_t i = 0; i < k; i++) {
		uint64_t b =
		    k == 1 ? 0 : (uint64_t)((unsigned __int128)i * (nblocks - 1) / (k - 1));
		uint64_t off = b * OW_BLOCK;
		uint64_t len = size - off < OW_BLOCK ? size - off : OW_BLOCK;
		int rc = add_range(r, n, &cap, off, len, err);
		if (rc)
			return rc;
	}
	return 0;
}

int mv_overwrite_device(int fd, uint64_t size, const struct mv_ow_opts *opts, int verify_mode,
                        struct mv_ow_result *result, struct mv_error *err)
{
	struct ow w;
	struct extent *sample = NULL;
	size_t nsample = 0;
	int rc = setup(&w, fd, opts, result, err);

	if (rc)
		goto out;
	if (size == 0 || size > INT64_MAX ||
	    (verify_mode != MV_OW_VERIFY_ALL && verify_mode != MV_OW_VERIFY_SAMPLE)) {
		rc = mv_error_set(err, MV_ERR_USAGE, 0, "invalid device overwrite arguments");
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = mv_error_set(err, MV_ERR_IO, errno, "cannot stat the device");
		goto out;
	}
	w.is_dev = S_ISBLK(st.st_mode);
	result->size = size;
	if ((rc = add_range(&w.ext, &w.next, &w.cap, 0, size, err)) != 0)
		goto out;
	if (verify_mode == MV_OW_VERIFY_SAMPLE &&
	    (rc = sample_ranges(size, &sample, &nsample, err)) != 0)
		goto out;
	rc = verify_mode == MV_OW_VERIFY_SAMPLE ? run(&w, sample, nsample) : run(&w, w.ext, w.next);
out:
	free(sample);
	teardown(&w);
	return rc;
}

static const char name_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
#define NAME_CHARS (sizeof(name_chars) - 1)
#define NAME_TRIES 200

/* Renames name to a random name of the same length, into tmp. Names of one
 * character are tried all (62 of them), from a random one; longer ones at
 * random, NAME_TRIES times. Never "." or ".." (no '.' among the characters),
 * never name itself. */
static int rename_random(int dirfd, const char *name, size_t len, char *tmp, struct mv_error *err)
{
	uint32_t first = randombytes_uniform(NAME_CHARS);

	for (unsigned t = 0; t < NAME_TRIES; t++) {
		if (len == 1) {
			if (t >= NAME_CHARS)
				break;
			tmp[0] = name_chars[(first + t) % NAME_CHARS];
		} else {
			for (size_t i = 0; i < len; i++)
				tmp[i] = name_chars[randombytes_uniform(NAME_CHARS)];
		}
		tmp[len] = '\0';
		if (memcmp(tmp, name, len) == 0)
			continue;
		if (mv_rename_noreplace(dirfd, name, tmp) == 0)
			return 0;
		if (errno != EEXIST && errno != ENOTEMPTY)
			return mv_error_set(err, MV_ERR_IO, errno, "cannot rename '%s'", name);
	}
	return mv_error_set(err, MV_ERR_EXISTS, 0,
	                    "no free name of %zu characters to rename '%s' to", len, name);
}

static int same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int mv_wipe_name(int dirfd, const char *name, int is_dir, int fd, struct mv_error *err)
{
	struct stat fst, st;
	char tmp[256];
	size_t len = name ? strlen(name) : 0;
	int nosync = (is_dir & MV_WIPE_NAME_NOSYNC) != 0;
	is_dir &= ~MV_WIPE_NAME_NOSYNC;

	if (len == 0 || len >= sizeof(tmp) || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || (is_dir == MV_WIPE_NAME_FILE && fd < 0) ||
	    is_dir < MV_WIPE_NAME_FILE || is_dir > MV_WIPE_NAME_LINK)
		return mv_error_set(err, MV_ERR_USAGE, 0, "invalid name to wipe");
	if (is_dir == MV_WIPE_NAME_FILE && fstat(fd, &fst) < 0)
		return mv_error_set(err, MV_ERR_IO, errno, "cannot stat '%s'", name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return mv_error_set(err, MV_ERR_IO, errno, "cannot stat '%s'", name);
	if (is_dir == MV_WIPE_NAME_LINK)
		fst = st; /* the link itself: checked again after the rename */
	if (is_dir == MV_WIPE_NAME_DIR    ? !S_ISDIR(st.st_mode)
	    : is_dir == MV_WIPE_NAME_LINK ? !S_ISLNK(st.st_mode)
	                                  : !same_inode(&st, &fst))
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "'%s' is not the %s being wiped",
		                    name,
		                    is_dir == MV_WIPE_NAME_DIR    ? "folder"
		                    : is_dir == MV_WIPE_NAME_LINK ? "symbolic link"
		                                                  : "file");
	int rc = rename_random(dirfd, name, len, tmp, err);
	if (rc)
		return rc;
	if (is_dir == MV_WIPE_NAME_LINK) {
		if (fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 || !same_inode(&st, &fst))
			return mv_error_set(err, MV_ERR_INTEGRITY, 0,
			                    "'%s' changed while being renamed (now '%s')", name,
			                    tmp);
		if (unlinkat(dirfd, tmp, 0) < 0)
			return mv_error_set(err, MV_ERR_IO, errno, "cannot remove '%s'", name);
	} else if (is_dir) {
		if (unlinkat(dirfd, tmp, AT_REMOVEDIR) < 0) {
			int e = errno;
			if (e != ENOTEMPTY && e != EEXIST)
				return mv_error_set(err, MV_ERR_IO, e, "cannot remove '%s'", name);
			/* something came in meanwhile: the folder stays, named */
			if (mv_rename_noreplace(dirfd, tmp, name) < 0)
				return mv_error_set(err, MV_ERR_EXISTS, errno,
				                    "'%s' is not empty (left as '%s')", name, tmp);
			return mv_error_set(err, MV_ERR_EXISTS, e, "'%s' is not empty", name);
		}
	} else {
		/* the random name is ours unless someone swapped it meanwhile */
		if (fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 || !same_inode(&st, &fst))
			return mv_error_set(err, MV_ERR_INTEGRITY, 0,
			                    "'%s' changed while being renamed (now '%s')", name,
			                    tmp);
		if (ftruncate(fd, 0) < 0 || (!nosync && fsync(fd) < 0))
			return mv_error_set(err, MV_ERR_IO, errno, "cannot truncate '%s'", name);
		if (unlinkat(dirfd, tmp, 0) < 0)
			return mv_error_set(err, MV_ERR_IO, errno, "cannot remove '%s'", name);
	}
	if (!nosync && fsync(dirfd) < 0)
		return mv_error_set(err, MV_ERR_IO, errno, "cannot sync the folder of '%s'", name);
	return 0;
}

/* 1 when the folder name in parentfd holds nothing, 0 when it holds
 * something, -1 with errno when it cannot be read. */
static int is_empty_dir(int parentfd, const char *name)
{
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	int empty = 1;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	int e = errno;
	closedir(d);
	if (empty && e) {
		errno = e;
		return -1;
	}
	return empty;
}

size_t mv_wipe_empty_dirs(struct mv_wipe_dir *dirs, size_t n)
{
	size_t removed = 0;

	for (size_t i = n; i-- > 0;) {
		struct mv_wipe_dir *d = &dirs[i];
		struct mv_error e = {0};
		d->removed = 0;
		d->reason[0] = '\0';
		int empty = is_empty_dir(d->parentfd, d->name);
		if (empty < 0) {
			char eb[128];
			snprintf(d->reason, sizeof(d->reason), "cannot read it: %s",
			         mv_errno_str(errno, eb, sizeof(eb)));
		} else if (!empty) {
			snprintf(d->reason, sizeof(d->reason), "not empty");
		} else if (mv_wipe_name(d->parentfd, d->name, 1, -1, &e) != 0) {
			size_t l = strnlen(e.msg, sizeof(d->reason) - 1);
			memcpy(d->reason, e.msg, l);
			d->reason[l] = '\0';
		} else {
			d->removed = 1;
			removed++;
		}
	}
	return removed;
}
