/* The rollback record (FORMAT.md section 15). */
#include "core/repo/rollback.h"
#include "core/repo/repo_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/repo/crypto.h"
#include "core/util/fdio.h"
#include "core/util/grow.h"
#include "formats/buf.h"

#define RECORD_VERSION 1
#define RECORD_MAX     (1u << 20) /* 2 x 4096 slot names and the rest, sealed */

struct record {
	int64_t time_ns;
	uint8_t id[32];
	uint8_t (*seen)[32];
	size_t nseen, seen_cap;
	uint8_t (*gone)[32];
	size_t ngone, gone_cap;
};

static void record_free(struct record *c)
{
	free(c->seen);
	free(c->gone);
	memset(c, 0, sizeof(*c));
}

static int io_fail(struct mv_error *err, const char *what, const char *path)
{
	int e = errno;
	return mv_error_set(err, e == ENOSPC ? MV_ERR_NOSPC : MV_ERR_IO, e,
	                    "cannot %s the rollback record '%s'", what, path);
}

static int nonzero(const uint8_t id[32])
{
	static const uint8_t zero[32];
	return memcmp(id, zero, 32) != 0;
}

/* Decodes a payload; 0 or -1 (malformed). */
static int decode(const uint8_t *p, size_t len, struct record *c)
{
	struct mv_rbuf b;
	mv_rbuf_init(&b, p, len);
	uint8_t v = mv_rbuf_u8(&b);
	c->time_ns = mv_rbuf_i64(&b);
	const uint8_t *id = mv_rbuf_get(&b, 32);
	if (b.failed || v != RECORD_VERSION)
		return -1;
	memcpy(c->id, id, 32);
	for (int list = 0; list < 2; list++) {
		uint32_t n = mv_rbuf_u32(&b);
		if (b.failed || n > MV_ROLLBACK_MAX_SLOTS || (size_t)n * 32 > mv_rbuf_left(&b))
			return -1;
		const uint8_t *names = mv_rbuf_get(&b, (size_t)n * 32);
		uint8_t(*arr)[32] = malloc(n ? (size_t)n * 32 : 1);
		if (!arr)
			return -1;
		if (n)
			memcpy(arr, names, (size_t)n * 32);
		if (list == 0) {
			c->seen = arr;
			c->nseen = c->seen_cap = n;
		} else {
			c->gone = arr;
			c->ngone = c->gone_cap = n;
		}
	}
	return mv_rbuf_left(&b) == 0 ? 0 : -1;
}

/* Reads the record: 0 with *found = 0 when there is none, 1 when it was
 * read; MV_ERR_INTEGRITY (why in err) when it does not open. */
static int record_read(const struct mv_repo *r, const char *path, struct record *c, int *found,
                       struct mv_error *err)
{
	struct stat st;
	uint8_t *buf = NULL, *work = NULL;
	int rc = 0;

	*found = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0
		       : errno == ELOOP
		           ? mv_error_set(err, MV_ERR_INTEGRITY, 0, "it is a symbolic link")
		           : io_fail(err, "read", path);
	if (fstat(fd, &st) != 0) {
		rc = io_fail(err, "read", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < MV_SEAL_OVERHEAD || st.st_size > RECORD_MAX) {
		rc =
		    mv_error_set(err, MV_ERR_INTEGRITY, 0, "not a regular file of a possible size");
		goto out;
	}
	size_t size = (size_t)st.st_size;
	buf = malloc(size);
	work = malloc(size);
	if (!buf || !work) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	if (mv_read_upto(fd, buf, size) != (ssize_t)size) {
		rc = io_fail(err, "read", path);
		goto out;
	}
	uint8_t enc;
	const uint8_t *payload;
	size_t plen;
	struct mv_error e = {0};
	if (mv_unseal(r->keys, MV_T_ROLLBACK, r->cfg.repo_id, buf, size, work, &enc, &payload,
	              &plen, &e) != 0 ||
	    enc != MV_ENC_STORED) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "%s",
		                  e.msg[0] ? e.msg : "unknown encoding");
		goto out;
	}
	if (decode(payload, plen, c) != 0) {
		record_free(c);
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "its contents are malformed");
		goto out;
	}
	*found = 1;
out:
	close(fd);
	free(buf);
	free(work);
	return rc;
}

static int record_write(const struct mv_repo *r, const char *path, const struct record *c,
                        struct mv_error *err)
{
	struct mv_wbuf w;
	char tmp[4200];
	int rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return mv_error_set(err, MV_ERR_IO, ENAMETOOLONG, "state path too long");
	mv_wbuf_init(&w, RECORD_MAX);
	mv_wbuf_reserve(&w, MV_NONCE_LEN + MV_FRAME_HDR); /* sealed in place */
	mv_wbuf_u8(&w, RECORD_VERSION);
	mv_wbuf_i64(&w, c->time_ns);
	mv_wbuf_put(&w, c->id, 32);
	mv_wbuf_u32(&w, (uint32_t)c->nseen);
	mv_wbuf_put(&w, c->seen, c->nseen * 32);
	mv_wbuf_u32(&w, (uint32_t)c->ngone);
	mv_wbuf_put(&w, c->gone, c->ngone * 32);
	size_t n = w.len - (MV_NONCE_LEN + MV_FRAME_HDR);
	size_t sealed = mv_sealed_size(n);
	if (!w.failed && sealed > n + MV_NONCE_LEN + MV_FRAME_HDR)
		mv_wbuf_reserve(&w, sealed - n - MV_NONCE_LEN - MV_FRAME_HDR);
	if (w.failed || sealed == 0) {
		mv_wbuf_release(&w);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "cannot encode the rollback record");
	}
	sealed = mv_seal(r->keys, MV_T_ROLLBACK, r->cfg.repo_id, MV_ENC_STORED,
	                 w.data + MV_NONCE_LEN + MV_FRAME_HDR, n, w.data);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || mv_write_all(fd, w.data, sealed) != 0 || fsync(fd) != 0)
		rc = io_fail(err, "write", tmp);
	if (fd >= 0)
		close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = io_fail(err, "replace", path);
	if (rc != 0)
		(void)unlink(tmp);
	mv_wbuf_release(&w);
	return rc;
}

/* Opens and flocks path.lock (making the folders): the fd, or -1 with err. */
static int record_lock(const char *path, struct mv_error *err)
{
	char lp[4200];
	if (snprintf(lp, sizeof(lp), "%s.lock", path) >= (int)sizeof(lp)) {
		mv_error_set(err, MV_ERR_IO, ENAMETOOLONG, "state path too long");
		return -1;
	}
	if (mv_make_parents(lp, err) != 0)
		return -1;
	int fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		io_fail(err, "lock", lp);
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			io_fail(err, "lock", lp);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Reads the record under its lock; a record that does not open is reported
 * in rep (may be NULL) and replaced by an empty one. */
static int open_record(struct mv_repo *r, const char *path, struct record *c, int *fd,
                       struct mv_rollback_report *rep, struct mv_error *err)
{
	struct mv_error e = {0};
	int found = 0;
	memset(c, 0, sizeof(*c));
	*fd = record_lock(path, err);
	if (*fd < 0)
		return err && err->code ? err->code : MV_ERR_IO;
	int rc = record_read(r, path, c, &found, &e);
	if (rc == MV_ERR_INTEGRITY) {
		if (rep) {
			rep->damaged = 1;
			snprintf(rep->why, sizeof(rep->why), "%.290s", e.msg);
		}
		return 0;
	}
	if (rc != 0) {
		if (err)
			*err = e;
		close(*fd);
		return rc;
	}
	if (rep)
		rep->had_record = found;
	return 0;
}

static int find_name(uint8_t (*arr)[32], size_t n, const uint8_t id[32])
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(arr[i], id, 32))
			return 1;
	return 0;
}

static int add_name(uint8_t (**arr)[32], size_t *n, size_t *cap, const uint8_t id[32])
{
	if (mv_grow(*arr, *cap, *n + 1) != 0)
		return MV_ERR_NOMEM;
	memcpy((*arr)[*n], id, 32);
	(*n)++;
	return 0;
}

/* The key slots: a removed one back is counted in rep; seen ones now gone
 * move to the removed list; new ones join the seen list. *changed is set
 * when the lists changed. */
static int compare_slots(struct mv_repo *r, struct record *c, struct mv_rollback_report *rep,
                         int *changed, struct mv_error *err)
{
	char(*names)[65] = NULL;
	size_t n = 0;
	int rc = mv_repo_list_names(r, MV_FT_KEY, &names, &n, err);
	if (rc != 0)
		return rc;
	uint8_t(*now)[32] = malloc(n ? n * 32 : 1);
	if (!now) {
		free(names);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	size_t nnow = 0;
	for (size_t i = 0; i < n; i++)
		if (mv_unhex(names[i], now[nnow], 32) == 0)
			nnow++;
	for (size_t i = 0; i < nnow && rc == 0; i++) {
		if (find_name(c->gone, c->ngone, now[i])) {
			if (rep->slots_back++ == 0)
				mv_hex(now[i], 32, rep->first_slot);
		} else if (!find_name(c->seen, c->nseen, now[i]) &&
		           c->nseen < MV_ROLLBACK_MAX_SLOTS) {
			rc = add_name(&c->seen, &c->nseen, &c->seen_cap, now[i]);
			*changed = 1;
		}
	}
	for (size_t i = 0; i < c->nseen && rc == 0;) {
		if (find_name(now, nnow, c->seen[i])) {
			i++;
			continue;
		}
		if (c->ngone == MV_ROLLBACK_MAX_SLOTS) { /* drop the oldest removed one */
			memmove(c->gone[0], c->gone[1], (c->ngone - 1) * 32);
			c->ngone--;
		}
		rc = add_name(&c->gone, &c->ngone, &c->gone_cap, c->seen[i]);
		memmove(c->seen[i], c->seen[i + 1], (c->nseen - i - 1) * 32);
		c->nseen--;
		*changed = 1;
	}
	free(now);
	free(names);
	return rc ? mv_error_set(err, rc, 0, "out of memory") : 0;
}

/* The newest intact snapshot into rep (have_newest 0 when there is none). */
static int newest_snapshot(struct mv_repo *r, struct mv_rollback_report *rep, struct mv_error *err)
{
	struct mv_snapshot *s = NULL;
	size_t n = 0, damaged = 0;
	int rc = mv_repo_snapshots(r, &s, &n, &damaged, err);
	if (rc != 0)
		return rc;
	if (err)
		mv_error_clear(err); /* damaged files are reported by the commands */
	if (n > 0) {                 /* sorted oldest first */
		rep->have_newest = 1;
		rep->newest_time_ns = s[n - 1].time_ns;
		memcpy(rep->newest_id, s[n - 1].id, 32);
	}
	mv_snapshots_free(s, n);
	return 0;
}

int mv_rollback_check(struct mv_repo *r, const char *path, struct mv_rollback_report *rep,
                      struct mv_error *err)
{
	struct record c;
	int fd, changed = 0;

	memset(rep, 0, sizeof(*rep));
	int rc = open_record(r, path, &c, &fd, rep, err);
	if (rc != 0)
		return rc;
	if (rep->had_record && nonzero(c.id)) {
		char name[65];
		uint64_t size;
		rep->recorded_time_ns = c.time_ns;
		memcpy(rep->recorded_id, c.id, 32);
		mv_hex(c.id, 32, name);
		rc = r->be->ops->size(r->be, MV_FT_SNAPSHOT, name, &size, err);
		if (rc == MV_ERR_NOTFOUND) {
			if (err)
				mv_error_clear(err);
			rc = newest_snapshot(r, rep, err);
			if (rc == 0 && (!rep->have_newest || rep->newest_time_ns < c.time_ns))
				rep->snapshots_back = 1;
		}
	} else {
		/* no record yet, or none of a snapshot: start from what is there */
		rc = newest_snapshot(r, rep, err);
		changed = !rep->had_record;
	}
	if (rc == 0 && rep->have_newest && !rep->snapshots_back &&
	    (!nonzero(c.id) || rep->newest_time_ns > c.time_ns)) {
		c.time_ns = rep->newest_time_ns;
		memcpy(c.id, rep->newest_id, 32);
		changed = 1;
	}
	if (rc == 0)
		rc = compare_slots(r, &c, rep, &changed, err);
	if (rc == 0 && changed)
		rc = record_write(r, path, &c, err);
	record_free(&c);
	close(fd);
	return rc;
}

int mv_rollback_note(struct mv_repo *r, const char *path, int64_t time_ns, const uint8_t id[32],
                     struct mv_error *err)
{
	struct record c;
	int fd;
	int rc = open_record(r, path, &c, &fd, NULL, err);
	if (rc != 0)
		return rc;
	if (!nonzero(c.id) || time_ns > c.time_ns) {
		c.time_ns = time_ns;
		memcpy(c.id, id, 32);
		rc = record_write(r, path, &c, err);
	}
	record_free(&c);
	close(fd);
	return rc;
}
