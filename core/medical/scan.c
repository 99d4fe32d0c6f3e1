/* Scan: walk -> (worker threads) open, read the header or hash the whole
 * file, read archives -> (calling thread, in walk order) inventory,
 * classification, on_file.
 *
 * The calling thread walks the paths and hands each regular file to a
 * window of job slots, each slot a task of the worker pool; the calling
 * thread takes the results out in the order of submission, so the report
 * and the counts do not depend on thread timing. Memory: the window (a few jobs per thread), the
 * read buffers, the inventory's hash tables. */
#include "core/medical/scan.h"

#include "core/util/dirlist.h"
#include "core/repo/filechunk.h"
#include "core/util/grow.h"
#include "core/util/pool.h"
#include "formats/archmagic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/medical/catalog.h"
#include "core/wipe/proof.h"
#include "formats/catalog.h"

#define MAX_DEPTH   512
#define PROGRESS_NS 200000000LL

static int cancelled(const struct mv_events *ev)
{
	return ev && ev->cancel && *ev->cancel;
}

static void warn(const struct mv_events *ev, const char *path, const char *msg)
{
	if (ev && ev->warn)
		ev->warn(ev->arg, path, msg);
}

/* ---- jobs ------------------------------------------------------------------- */

enum { J_FREE, J_PENDING, J_RUNNING, J_DONE };

/* A catalog payload holding an archive's DICOM members. */
struct payload {
	uint8_t *p;
	size_t n;
	struct payload *next;
};

struct sjob {
	struct scan *s;
	char *path;
	uint64_t size;
	int state;
	/* results */
	int fatal; /* MV_ERR_NOMEM, MV_ERR_INTERRUPTED: the scan stops */
	struct mv_error ferr;
	int unreadable_errno;
	const char *what; /* set when unreadable */
	int dicom;
	int maybe_archive;
	struct mv_dicom_info info;
	enum mv_scan_archive archive;
	uint64_t members;
	struct payload *payloads, **tail;
	int hashed;
	uint8_t content[32];
};

/* A thread's read buffer (no repository) or hasher. */
struct runner {
	uint8_t *buf;
	struct mv_file_hasher *h;
};

/* With a proof: a file held until the blobs are verified. */
struct kept {
	struct mv_scan_file f; /* f.path, f.content, f.what point into the fields below */
	char *path;
	uint8_t content[32];
	char *reason; /* DAMAGED */
};

struct scan {
	const struct mv_scan_opts *o;
	struct mv_inventory *inv;
	const struct mv_events *ev;
	struct mv_scan_result *res;

	pthread_mutex_t mu;     /* the slots' states */
	pthread_cond_t cv_done; /* a job is done */
	struct sjob *slots;
	size_t window;
	uint64_t submit_seq, emit_seq;
	struct mv_pool *pool;
	struct runner *runners; /* one per worker */
	unsigned nrunners;

	int have_skip;
	dev_t skip_dev;
	ino_t skip_ino;
	struct kept *kept; /* with a proof: every file, in walk order */
	size_t nkept, keptcap;
	struct mv_progress prog;
	int64_t last_progress;
	char path[PATH_MAX + 256];
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void job_clear(struct sjob *j)
{
	free(j->path);
	for (struct payload *p = j->payloads, *next; p; p = next) {
		next = p->next;
		free(p->p);
		free(p);
	}
	memset(j, 0, sizeof(*j));
}

static int runner_init(struct runner *rn, const struct mv_scan_opts *o)
{
	memset(rn, 0, sizeof(*rn));
	if (o->r) {
		rn->h = mv_file_hasher_new(o->r);
		return rn->h ? 0 : MV_ERR_NOMEM;
	}
	rn->buf = malloc(MV_SCAN_HEAD_MAX);
	return rn->buf ? 0 : MV_ERR_NOMEM;
}

static void runner_release(struct runner *rn)
{
	free(rn->buf);
	mv_file_hasher_free(rn->h);
	memset(rn, 0, sizeof(*rn));
}

/* Parses the header in p[0..n) of a file of j->size bytes. Returns
 * need_more (0 when nothing more would help). */
static size_t parse_head(struct sjob *j, const uint8_t *p, size_t n)
{
	size_t more = 0;
	int rc = mv_dicom_parse(p, n, j->size, &j->info, &more);
	if (rc == MV_ERR_NOMEM) {
		j->fatal = mv_error_set(&j->ferr, rc, 0, "out of memory");
		return 0;
	}
	j->dicom = rc == 1;
	j->maybe_archive = !j->dicom && (mv_archive_magic(p, n) != MV_ARCH_NONE);
	return more;
}

/* The first bytes of a file being hashed: is it an archive? */
static void on_head(void *arg, const uint8_t *p, size_t n)
{
	struct sjob *j = arg;
	j->maybe_archive = (mv_archive_magic(p, n) != MV_ARCH_NONE);
}

static void set_unreadable(struct sjob *j, const char *what, int e)
{
	j->what = what;
	j->unreadable_errno = e;
}

/* pread until n bytes or the end of the file; returns bytes read or -1. */
static ssize_t pread_full(int fd, uint8_t *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Reads the first 64 KiB (up to 1 MiB when the header needs it), never the
 * pixel data: without read-ahead, only those pages are read. */
static void head_job(struct runner *rn, struct sjob *j, int fd)
{
	size_t want = j->size < MV_SCAN_HEAD ? (size_t)j->size : MV_SCAN_HEAD;
	if (want == 0)
		return;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	ssize_t got = pread_full(fd, rn->buf, want, 0);
	if (got < 0) {
		set_unreadable(j, "cannot read", errno);
		return;
	}
	size_t more = parse_head(j, rn->buf, (size_t)got);
	if (j->fatal || more <= (size_t)got || (size_t)got < want)
		return;
	if (more > MV_SCAN_HEAD_MAX)
		more = MV_SCAN_HEAD_MAX;
	if (more > j->size)
		more = (size_t)j->size;
	if (more <= (size_t)got)
		return;
	ssize_t got2 = pread_full(fd, rn->buf + got, more - (size_t)got, (uint64_t)got);
	if (got2 < 0) {
		set_unreadable(j, "cannot read", errno);
		return;
	}
	(void)parse_head(j, rn->buf, (size_t)got + (size_t)got2);
}

static void hash_job(struct scan *s, struct runner *rn, struct sjob *j, int fd)
{
	const struct mv_dicom_info *info;
	struct mv_error e = {0};
	uint64_t size;
	int rc = mv_file_hasher_run(rn->h, fd, j->size, j->content, &size, &info, on_head, j,
	                            s->ev ? s->ev->cancel : NULL, &e);
	if (rc == MV_ERR_IO) {
		set_unreadable(j, "cannot read", e.saved_errno);
		return;
	}
	if (rc == MV_ERR_LIMIT) {
		set_unreadable(j, "too large to compare (more chunks than a snapshot records)", 0);
		return;
	}
	if (rc) {
		j->fatal = rc;
		j->ferr = e;
		return;
	}
	if (info) {
		j->dicom = 1;
		j->info = *info;
		j->maybe_archive = 0;
	}
	j->size = size;
	j->hashed = 1;
}

/* Keeps a catalog payload of an archive's members for the calling thread. */
static int keep_payload(void *arg, const uint8_t *payload, size_t len, uint8_t id[32],
                        struct mv_error *err)
{
	struct sjob *j = arg;
	uint32_t count;
	struct payload *p;

	memset(id, 0, 32);
	if (mv_catalog_check(payload, len, &count) != 0)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "catalog payload malformed");
	p = calloc(1, sizeof(*p));
	if (!p || !(p->p = malloc(len ? len : 1))) {
		free(p);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	memcpy(p->p, payload, len);
	p->n = len;
	if (!j->tail)
		j->tail = &j->payloads;
	*j->tail = p;
	j->tail = &p->next;
	j->members += count;
	return 0;
}

static void archive_job(struct sjob *j, int fd)
{
	struct mv_error e = {0};
	struct mv_catalog_writer *w;
	uint8_t(*ids)[32] = NULL;
	uint32_t nids = 0;
	int unreadable = 0, rc;

	if (lseek(fd, 0, SEEK_SET) < 0) {
		j->archive = MV_SCAN_ARCHIVE_UNREADABLE;
		return;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	w = mv_catalog_writer_new(keep_payload, j);
	if (!w) {
		j->fatal = mv_error_set(&j->ferr, MV_ERR_NOMEM, 0, "out of memory");
		return;
	}
	rc = mv_catalog_add_archive(fd, j->path, w, &unreadable, &e);
	if (rc >= 0 && mv_catalog_writer_finish(w, &ids, &nids, &e) != 0)
		rc = e.code ? e.code : MV_ERR_IO;
	free(ids);
	mv_catalog_writer_free(w);
	if (rc == MV_ERR_NOMEM || (rc < 0 && e.code == MV_ERR_NOMEM)) {
		if (!e.code)
			mv_error_set(&e, MV_ERR_NOMEM, 0, "out of memory");
		j->fatal = MV_ERR_NOMEM;
		j->ferr = e;
		return;
	}
	if (rc < 0 || unreadable)
		j->archive = MV_SCAN_ARCHIVE_UNREADABLE;
	else if (rc == 1)
		j->archive = j->members ? MV_SCAN_ARCHIVE_DICOM : MV_SCAN_ARCHIVE_NO_DICOM;
}

static void run_job(struct scan *s, struct runner *rn, struct sjob *j)
{
	struct stat st;
	int fd = open(j->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		set_unreadable(j, "cannot open", errno);
		return;
	}
	if (fstat(fd, &st) < 0) {
		set_unreadable(j, "cannot stat", errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_unreadable(j, "not a regular file any more", 0);
		goto out;
	}
	j->size = (uint64_t)st.st_size;
	if (s->o->r)
		hash_job(s, rn, j, fd);
	else
		head_job(rn, j, fd);
	if (!j->what && !j->fatal && j->maybe_archive)
		archive_job(j, fd);
out:
	close(fd);
}

/* ---- the window --------------------------------------------------------------- */

/* A task of the pool: runs one job (a job dropped after an interruption
 * or a failure is marked interrupted; its result is not used). */
static int scan_task(void *arg, unsigned worker, struct mv_error *err)
{
	struct sjob *j = arg;
	struct scan *s = j->s;
	(void)err;
	if (mv_pool_stopped(s->pool))
		j->fatal = mv_error_set(&j->ferr, MV_ERR_INTERRUPTED, 0, "interrupted");
	else
		run_job(s, &s->runners[worker], j);
	pthread_mutex_lock(&s->mu);
	j->state = J_DONE;
	pthread_cond_broadcast(&s->cv_done);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void progress(struct scan *s, const char *path, int force)
{
	if (!s->ev || !s->ev->progress)
		return;
	int64_t t = now_ns();
	if (!force && t - s->last_progress < PROGRESS_NS)
		return;
	s->last_progress = t;
	s->prog.current = path;
	s->ev->progress(s->ev->arg, &s->prog);
}

static int add_members(struct scan *s, struct sjob *j, struct mv_error *err)
{
	struct mv_dicom_info info;
	struct mv_catalog_iter it;
	struct mv_catalog_rec rec;
	int rc;

	for (struct payload *p = j->payloads; p; p = p->next) {
		if (mv_catalog_iter_init(&it, p->p, p->n) != 0)
			continue; /* checked when kept */
		while (mv_catalog_iter_next(&it, &rec) == 1) {
			mv_catalog_rec_to_info(&rec, &info);
			if ((rc = mv_inventory_add(s->inv, &info, rec.size, 1, err)) != 0)
				return rc;
		}
	}
	return 0;
}

/* The newest snapshot holding content (an index in the content set's or
 * the proof's snapshots), or -1. */
static long find_snapshot(const struct scan *s, const uint8_t content[32])
{
	size_t k;
	if (s->o->proof)
		return mv_proof_find(s->o->proof, content, &k, NULL, NULL) ? (long)k : -1;
	return mv_content_set_find(s->o->have, content);
}

/* Counts a file compared with the repository. */
static void count_file(struct mv_scan_result *res, const struct mv_scan_file *f)
{
	switch (f->status) {
	case MV_SCAN_BACKED_UP:
		res->backed_files++;
		res->backed_bytes += f->size;
		res->snap_files[f->snapshot]++;
		res->snap_bytes[f->snapshot] += f->size;
		break;
	case MV_SCAN_NOT_BACKED_UP:
		res->unbacked_files++;
		res->unbacked_bytes += f->size;
		break;
	case MV_SCAN_DAMAGED:
		res->damaged_files++;
		res->damaged_bytes += f->size;
		break;
	default:
		break;
	}
}

/* Holds a file until the proof is verified (its path taken from j). */
static int keep(struct scan *s, struct sjob *j, const struct mv_scan_file *f, struct mv_error *err)
{
	if (mv_grow(s->kept, s->keptcap, s->nkept + 1))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	struct kept *k = &s->kept[s->nkept++];
	memset(k, 0, sizeof(*k));
	k->f = *f;
	k->f.info = NULL;
	k->path = j->path;
	j->path = NULL;
	if (f->content)
		memcpy(k->content, f->content, 32);
	return 0;
}

static void free_kept(struct scan *s)
{
	for (size_t i = 0; i < s->nkept; i++) {
		free(s->kept[i].path);
		free(s->kept[i].reason);
	}
	free(s->kept);
	s->kept = NULL;
	s->nkept = s->keptcap = 0;
}

/* Verifies the blobs of the files held as backed up (each blob read once),
 * then counts every file and hands it to on_file, in walk order. */
static int verify_kept(struct scan *s, struct mv_error *err)
{
	uint8_t(*contents)[32] = NULL;
	struct mv_proof_result *res = NULL;
	size_t *which = NULL, n = 0;
	int rc = 0;

	for (size_t i = 0; i < s->nkept; i++)
		n += s->kept[i].f.status == MV_SCAN_BACKED_UP;
	if (n) {
		contents = malloc(n * sizeof(*contents));
		which = malloc(n * sizeof(*which));
		res = calloc(n, sizeof(*res));
		if (!contents || !which || !res) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0, m = 0; i < s->nkept; i++)
		if (s->kept[i].f.status == MV_SCAN_BACKED_UP) {
			memcpy(contents[m], s->kept[i].content, 32);
			which[m++] = i;
		}
	unsigned nt = s->o->threads > 0 ? (unsigned)s->o->threads : 0;
	if (n && (rc = mv_proof_verify(s->o->proof, (const uint8_t(*)[32])contents, n, 0,
	                               nt > 16 ? 16 : nt, res, s->ev, err)) != 0)
		goto out;
	for (size_t m = 0; m < n; m++) {
		struct kept *k = &s->kept[which[m]];
		if (res[m].status == MV_PROOF_OK)
			continue;
		if (!(k->reason = strdup(res[m].reason))) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			goto out;
		}
		k->f.status = MV_SCAN_DAMAGED;
	}
	for (size_t i = 0; i < s->nkept; i++) {
		struct kept *k = &s->kept[i];
		k->f.path = k->path;
		if (k->f.content)
			k->f.content = k->content;
		if (k->reason)
			k->f.what = k->reason;
		count_file(s->res, &k->f);
		if (s->o->on_file)
			s->o->on_file(s->o->arg, &k->f);
	}
out:
	free(contents);
	free(which);
	free(res);
	return rc;
}

/* Takes one finished job's results: counts, classification, on_file. */
static int emit(struct scan *s, struct sjob *j, struct mv_error *err)
{
	struct mv_scan_result *res = s->res;
	struct mv_scan_file f = {
	    .path = j->path,
	    .size = j->size,
	    .status = MV_SCAN_UNKNOWN,
	    .snapshot = -1,
	};
	char msg[256], ebuf[128];
	int rc;

	if (j->fatal) {
		if (err)
			*err = j->ferr;
		return j->fatal;
	}
	res->files++;
	res->bytes += j->size;
	s->prog.files_done++;
	s->prog.bytes_done += j->size;
	if (j->what) {
		f.status = MV_SCAN_UNREADABLE;
		f.errno_value = j->unreadable_errno;
		f.what = j->what;
		res->unreadable++;
		if (j->unreadable_errno)
			snprintf(msg, sizeof(msg), "%s: %s", j->what,
			         mv_errno_str(j->unreadable_errno, ebuf, sizeof(ebuf)));
		else
			snprintf(msg, sizeof(msg), "%s", j->what);
		warn(s->ev, j->path, msg);
	} else {
		if (j->dicom) {
			f.dicom = 1;
			f.info = &j->info;
			res->dicom_files++;
			if ((rc = mv_inventory_add(s->inv, &j->info, j->size, 0, err)) != 0)
				return rc;
		}
		f.archive = j->archive;
		f.members = j->members;
		if (j->archive != MV_SCAN_NOT_ARCHIVE) {
			res->archives++;
			if ((rc = add_members(s, j, err)) != 0)
				return rc;
			mv_inventory_add_archive(s->inv, j->archive == MV_SCAN_ARCHIVE_DICOM,
			                         j->archive == MV_SCAN_ARCHIVE_UNREADABLE);
		}
		if (s->o->r && j->hashed) {
			long k = find_snapshot(s, j->content);
			f.content = j->content;
			f.status = k >= 0 && (size_t)k < res->nsnap ? MV_SCAN_BACKED_UP
			                                            : MV_SCAN_NOT_BACKED_UP;
			f.snapshot = f.status == MV_SCAN_BACKED_UP ? k : -1;
		}
	}
	if (s->o->proof) {
		progress(s, j->path, 0);
		return keep(s, j, &f, err);
	}
	count_file(res, &f);
	if (s->o->on_file)
		s->o->on_file(s->o->arg, &f);
	progress(s, j->path, 0);
	return 0;
}

/* Emits the finished jobs at the head of the window. Called with s->mu
 * held; returns with it held. */
static int drain(struct scan *s, struct mv_error *err)
{
	while (s->emit_seq < s->submit_seq) {
		struct sjob *j = &s->slots[s->emit_seq % s->window];
		if (j->state != J_DONE)
			break;
		pthread_mutex_unlock(&s->mu);
		int rc = emit(s, j, err);
		job_clear(j);
		pthread_mutex_lock(&s->mu);
		s->emit_seq++;
		if (rc)
			return rc;
	}
	return 0;
}

static int submit(struct scan *s, const char *path, uint64_t size, struct mv_error *err)
{
	size_t len = strlen(path);
	char *p = malloc(len + 1);
	int rc = 0;

	if (!p)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	memcpy(p, path, len + 1);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if ((rc = drain(s, err)) != 0)
			break;
		if (s->submit_seq - s->emit_seq < s->window)
			break;
		pthread_cond_wait(&s->cv_done, &s->mu);
	}
	if (rc) {
		pthread_mutex_unlock(&s->mu);
		free(p);
		return rc;
	}
	struct sjob *j = &s->slots[s->submit_seq % s->window];
	memset(j, 0, sizeof(*j));
	j->s = s;
	j->path = p;
	j->size = size;
	j->state = J_PENDING;
	s->submit_seq++;
	pthread_mutex_unlock(&s->mu);
	/* the pool's queue holds the whole window: this does not wait */
	if ((rc = mv_pool_submit(s->pool, scan_task, j, err)) != 0) {
		pthread_mutex_lock(&s->mu);
		j->fatal = rc;
		j->state = J_DONE;
		pthread_mutex_unlock(&s->mu);
	}
	return rc;
}

/* Waits for and emits every job submitted. */
static int finish(struct scan *s, struct mv_error *err)
{
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	while (s->emit_seq < s->submit_seq) {
		if ((rc = drain(s, err)) != 0)
			break;
		if (s->emit_seq < s->submit_seq)
			pthread_cond_wait(&s->cv_done, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- the walk ---------------------------------------------------------------- */

static int scan_entry(struct scan *s, size_t plen, int depth, struct mv_error *err);

static int dir_error(struct scan *s, const char *what, int e)
{
	char msg[256], ebuf[128];
	snprintf(msg, sizeof(msg), "%s: %s", what, mv_errno_str(e, ebuf, sizeof(ebuf)));
	s->res->unreadable++;
	warn(s->ev, s->path, msg);
	return 0;
}

static int walk_dir(struct scan *s, size_t plen, int depth, struct mv_error *err)
{
	struct mv_dir_iter *it = NULL;
	const char *name;
	int rc, e;

	if (depth > MAX_DEPTH) {
		s->res->unreadable++;
		warn(s->ev, s->path, "directory nesting too deep; not descended");
		return 0;
	}
	rc = mv_dir_open(s->path, MV_DIR_BATCH, &it, &e);
	if (rc == MV_ERR_IO)
		return dir_error(s, "cannot open directory", e);
	if (rc)
		return mv_error_set(err, rc, 0, "out of memory");
	/* "/" has no trailing component: its children are "/name" */
	size_t base = (plen == 1 && s->path[0] == '/') ? 0 : plen;
	while ((rc = mv_dir_next(it, &name, &e)) == 1) {
		size_t l = strlen(name);
		if (base + 1 + l >= sizeof(s->path)) {
			s->res->unreadable++;
			warn(s->ev, s->path, "path too long; entry skipped");
			continue;
		}
		s->path[base] = '/';
		memcpy(s->path + base + 1, name, l + 1);
		rc = scan_entry(s, base + 1 + l, depth + 1, err);
		s->path[plen] = '\0';
		if (rc)
			goto out;
		if (cancelled(s->ev)) {
			rc = mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
			goto out;
		}
	}
	if (rc == MV_ERR_IO)
		rc = dir_error(s, "cannot read directory", e);
	else if (rc)
		rc = mv_error_set(err, rc, 0, "out of memory");
out:
	s->path[plen] = '\0';
	mv_dir_close(it);
	return rc;
}

static int scan_entry(struct scan *s, size_t plen, int depth, struct mv_error *err)
{
	struct stat st;

	if (lstat(s->path, &st) < 0) {
		if (errno == ENOENT)
			return 0; /* vanished since readdir */
		return dir_error(s, "cannot stat", errno);
	}
	if (S_ISDIR(st.st_mode)) {
		if (s->have_skip && st.st_dev == s->skip_dev && st.st_ino == s->skip_ino) {
			if (s->ev && s->ev->note)
				s->ev->note(s->ev->arg, s->path,
				            "the repository itself: not scanned");
			return 0;
		}
		s->res->dirs++;
		return walk_dir(s, plen, depth, err);
	}
	if (S_ISREG(st.st_mode))
		return submit(s, s->path, (uint64_t)st.st_size, err);
	if (depth == 0 && S_ISLNK(st.st_mode))
		warn(s->ev, s->path, "a symbolic link: not followed (give the path it points to)");
	s->res->specials++;
	return 0;
}

/* ---- mv_scan ------------------------------------------------------------------- */

/* Stops the pool (the jobs still queued are dropped when the scan failed)
 * and frees the workers' runners. */
static void stop_workers(struct scan *s, int failed)
{
	if (s->pool && failed)
		mv_pool_cancel(s->pool, failed, NULL);
	(void)mv_pool_finish(s->pool, NULL);
	s->pool = NULL;
	for (unsigned i = 0; i < s->nrunners; i++)
		runner_release(&s->runners[i]);
	free(s->runners);
	s->runners = NULL;
	s->nrunners = 0;
}

/* Copies a path argument into s->path without trailing slashes ("/"
 * stays). Returns its length, or 0 when it does not fit. */
static size_t set_root(struct scan *s, const char *p)
{
	size_t l = strlen(p);
	while (l > 1 && p[l - 1] == '/')
		l--;
	if (l == 0 || l >= sizeof(s->path))
		return 0;
	memcpy(s->path, p, l);
	s->path[l] = '\0';
	return l;
}

void mv_scan_result_release(struct mv_scan_result *res)
{
	if (!res)
		return;
	free(res->snap_files);
	free(res->snap_bytes);
	res->snap_files = NULL;
	res->snap_bytes = NULL;
	res->nsnap = 0;
}

static int scan_start(struct scan *s, struct mv_error *err)
{
	const struct mv_scan_opts *o = s->o;
	unsigned nt = o->threads > 0 ? (unsigned)o->threads : mv_pool_default_threads(64);
	struct stat st;
	int rc;

	if (nt > 64)
		nt = 64;
	if (o->r) {
		if ((!o->have && !o->proof) || !mv_repo_keys(o->r) || !mv_repo_chunker(o->r))
			return mv_error_set(err, MV_ERR_USAGE, 0, "repository is not unlocked");
		if (o->proof)
			mv_proof_snapshots(o->proof, &s->res->nsnap);
		else
			mv_content_set_snapshots(o->have, &s->res->nsnap);
		s->res->snap_files = calloc(s->res->nsnap ? s->res->nsnap : 1, sizeof(uint64_t));
		s->res->snap_bytes = calloc(s->res->nsnap ? s->res->nsnap : 1, sizeof(uint64_t));
		if (!s->res->snap_files || !s->res->snap_bytes)
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	for (size_t i = 0; i < o->npaths; i++) {
		if (!set_root(s, o->paths[i]))
			return mv_error_set(err, MV_ERR_USAGE, 0, "path too long: '%s'",
			                    o->paths[i]);
		if (lstat(s->path, &st) < 0)
			return mv_error_set(err, MV_ERR_USAGE, errno, "cannot scan '%s'",
			                    o->paths[i]);
	}
	if (o->skip_dir && stat(o->skip_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		s->have_skip = 1;
		s->skip_dev = st.st_dev;
		s->skip_ino = st.st_ino;
	}
	s->window = (size_t)nt * 4 + 4;
	s->slots = calloc(s->window, sizeof(*s->slots));
	if (!s->slots)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	if ((rc = mv_pool_start(nt, s->window, s->ev ? s->ev->cancel : NULL, &s->pool, err)) != 0)
		return rc;
	unsigned n = mv_pool_threads(s->pool);
	if (!(s->runners = calloc(n, sizeof(*s->runners))))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	for (; s->nrunners < n; s->nrunners++)
		if (runner_init(&s->runners[s->nrunners], o) != 0)
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	return 0;
}

int mv_scan(const struct mv_scan_opts *o, struct mv_inventory *inv, const struct mv_events *ev,
            struct mv_scan_result *res, struct mv_error *err)
{
	struct scan *s = calloc(1, sizeof(*s));
	int64_t t0 = now_ns();
	int rc;

	memset(res, 0, sizeof(*res));
	if (!s)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	s->o = o;
	s->inv = inv;
	s->ev = ev;
	s->res = res;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_done, NULL);
	rc = scan_start(s, err);
	for (size_t i = 0; !rc && i < o->npaths; i++) {
		size_t l = set_root(s, o->paths[i]);
		rc = scan_entry(s, l, 0, err);
		if (!rc && cancelled(ev))
			rc = mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
	}
	if (!rc)
		rc = finish(s, err);
	stop_workers(s, rc);
	progress(s, NULL, 1);
	if (!rc && o->proof)
		rc = verify_kept(s, err);
	free_kept(s);
	for (size_t i = 0; s->slots && i < s->window; i++)
		job_clear(&s->slots[i]);
	free(s->slots);
	pthread_cond_destroy(&s->cv_done);
	pthread_mutex_destroy(&s->mu);
	free(s);
	res->seconds = (double)(now_ns() - t0) / 1e9;
	return rc;
}
