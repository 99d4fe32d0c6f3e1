/* The check state file: the local record of clean `medvault check` runs
 * that `audit` reads (core/medical/audit.h). */
#include "core/medical/audit.h"
#include "core/util/fdio.h"
#include "core/repo/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* "<64 hex> <time> <0|1>\n" with room to spare (put_line writes < 64 + 32) */
#define LINE_MAX_LEN (64 + 32)

int mv_checkstate_parse_line(const char *line, size_t len, uint8_t repo_id[32], int64_t *when,
                             int *read_data)
{
	size_t i;
	int64_t t = 0;

	if (len < 64 + 1 + 1 + 1 + 1 || line[64] != ' ')
		return 0;
	if (mv_unhex(line, repo_id, 32) != 0)
		return 0;
	for (i = 65; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		if (i - 65 >= 18)
			return 0; /* beyond any plausible time */
		t = t * 10 + (line[i] - '0');
	}
	if (i == 65 || i + 2 != len || line[i] != ' ' || (line[i + 1] != '0' && line[i + 1] != '1'))
		return 0;
	*when = t;
	*read_data = line[i + 1] == '1';
	return 1;
}

/* Reads the whole state file (at most MV_CHECKSTATE_MAX bytes) into a
 * malloc'd buffer; a missing file reads as empty (*buf NULL). */
static int read_state(const char *path, char **buf, size_t *len, struct mv_error *err)
{
	char ebuf[128], *p = NULL;
	size_t have = 0;
	int fd, rc = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return mv_error_set(err, MV_ERR_IO, errno, "cannot open '%s': %s", path,
		                    mv_errno_str(errno, ebuf, sizeof(ebuf)));
	}
	p = malloc(MV_CHECKSTATE_MAX + 1);
	if (!p) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	ssize_t n = mv_read_upto(fd, p, MV_CHECKSTATE_MAX + 1);
	if (n < 0) {
		rc = mv_error_set(err, MV_ERR_IO, errno, "cannot read '%s': %s", path,
		                  mv_errno_str(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	have = (size_t)n;
	if (have > MV_CHECKSTATE_MAX) {
		rc = mv_error_set(err, MV_ERR_LIMIT, 0, "'%s' is larger than %u bytes", path,
		                  MV_CHECKSTATE_MAX);
		goto out;
	}
	*buf = p;
	*len = have;
	p = NULL;
out:
	free(p);
	close(fd);
	return rc;
}

/* Calls cb for each well-formed line. */
static void each_line(const char *buf, size_t len,
                      void (*cb)(void *arg, const uint8_t id[32], int64_t when, int rd), void *arg)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		uint8_t id[32];
		int64_t when;
		int rd;
		if (mv_checkstate_parse_line(buf + pos, end - pos, id, &when, &rd))
			cb(arg, id, when, rd);
		pos = end + 1;
	}
}

struct lookup {
	const uint8_t *id;
	int64_t last, last_rd;
};

static void lookup_cb(void *arg, const uint8_t id[32], int64_t when, int rd)
{
	struct lookup *l = arg;

	if (memcmp(id, l->id, 32) != 0)
		return;
	if (when > l->last)
		l->last = when;
	if (rd && when > l->last_rd)
		l->last_rd = when;
}

int mv_checkstate_lookup(const char *path, const uint8_t repo_id[32], int64_t *last,
                         int64_t *last_read_data, struct mv_error *err)
{
	struct lookup l = {repo_id, -1, -1};
	char *buf;
	size_t len;
	int rc;

	*last = *last_read_data = -1;
	rc = read_state(path, &buf, &len, err);
	if (rc != 0)
		return rc;
	if (buf)
		each_line(buf, len, lookup_cb, &l);
	free(buf);
	*last = l.last;
	*last_read_data = l.last_rd;
	return 0;
}

/* ---- writing ------------------------------------------------------------ */

struct rewrite {
	const uint8_t *id;
	int rd;
	char *out;
	size_t len;
};

static void put_line(struct rewrite *w, const uint8_t id[32], int64_t when, int rd)
{
	static const char hex[] = "0123456789abcdef";
	char *o = w->out + w->len, tail[32];

	for (size_t i = 0; i < 32; i++) {
		*o++ = hex[id[i] >> 4];
		*o++ = hex[id[i] & 15];
	}
	int n = snprintf(tail, sizeof(tail), " %lld %d\n", (long long)(when < 0 ? 0 : when),
	                 rd ? 1 : 0);

	memcpy(o, tail, (size_t)n); /* n < 32: the buffer has room (see the caller) */
	w->len += 64 + (size_t)n;
}

static void rewrite_cb(void *arg, const uint8_t id[32], int64_t when, int rd)
{
	struct rewrite *w = arg;

	if (memcmp(id, w->id, 32) == 0 && rd == w->rd)
		return; /* replaced by the new line */
	put_line(w, id, when, rd);
}

int mv_checkstate_record(const char *path, const uint8_t repo_id[32], int64_t when, int read_data,
                         struct mv_error *err)
{
	struct rewrite w = {repo_id, read_data ? 1 : 0, NULL, 0};
	char ebuf[128], *dir = NULL, *tmp = NULL, *old = NULL, *slash;
	size_t oldlen = 0, n;
	int dfd = -1, fd = -1, rc;

	dir = strdup(path);
	if (!dir || mv_size_add(strlen(path), 16, &n) != 0 || !(tmp = malloc(n))) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	tmp[0] = '\0'; /* no temporary file yet */
	slash = strrchr(dir, '/');
	if (!slash || slash == dir || slash[1] == '\0') {
		rc = mv_error_set(err, MV_ERR_USAGE, 0, "'%s' is not an absolute file path", path);
		goto out;
	}
	rc = mv_make_parents(dir, err);
	if (rc != 0)
		goto out;
	*slash = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || flock(dfd, LOCK_EX) != 0) {
		rc = mv_error_set(err, MV_ERR_IO, errno, "cannot open directory '%s': %s", dir,
		                  mv_errno_str(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	rc = read_state(path, &old, &oldlen, err);
	if (rc != 0)
		goto out;
	/* rewritten lines are never longer than the originals they come from */
	w.out = malloc(oldlen + LINE_MAX_LEN + 1);
	if (!w.out) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	if (old)
		each_line(old, oldlen, rewrite_cb, &w);
	put_line(&w, repo_id, when, read_data);
	snprintf(tmp, n, "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = mv_error_set(err, MV_ERR_IO, errno, "cannot create '%s': %s", tmp,
		                  mv_errno_str(errno, ebuf, sizeof(ebuf)));
		tmp[0] = '\0';
		goto out;
	}
	if (mv_write_all(fd, w.out, w.len) != 0 || fsync(fd) != 0) {
		rc = mv_error_set(err, errno == ENOSPC ? MV_ERR_NOSPC : MV_ERR_IO, errno,
		                  "cannot write '%s': %s", tmp,
		                  mv_errno_str(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		fd = -1;
		rc = mv_error_set(err, MV_ERR_IO, errno, "cannot write '%s': %s", path,
		                  mv_errno_str(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	fd = -1;
	tmp[0] = '\0';
	(void)fsync(dfd);
out:
	if (fd >= 0)
		close(fd);
	if (tmp && tmp[0])
		unlink(tmp);
	if (dfd >= 0)
		close(dfd); /* releases the lock */
	free(w.out);
	free(old);
	free(tmp);
	free(dir);
	return rc;
}
