/* The file wipe: core/wipe/wipe.h. */
#define _GNU_SOURCE /* F_SETLEASE, statx */
#include "core/wipe/wipe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/repo/crypto.h"
#include "core/util/beneath.h"
#include "core/util/grow.h"
#include "core/util/keymap.h"
#include "core/util/pool.h"
#include "core/wipe/medium.h"

enum kind { K_FILE, K_LINK };

/* A file or link found by the first walk. */
struct wfile {
	size_t target;
	char *rel; /* below the target's root ("" for a target that is itself the file) */
	int kind;
	uint64_t dev, ino, size;
	struct timespec mtime, ctime;
	int wipe; /* decided: may be wiped */
	uint8_t content[32], snapshot[32];
	int has_content, has_snapshot;
};

struct target {
	const char *arg; /* as given, without trailing '/' */
	char *arg_copy;
	int parentfd; /* the folder holding it */
	char *base;   /* its name there */
	int rootfd;   /* a folder: its handle; else -1 */
	int kind;     /* S_IFDIR, S_IFREG, S_IFLNK */
	dev_t dev;
	uint64_t mnt; /* its mount id (0: unknown) */
	struct mv_wipe_medium medium;
};

/* A file the first walk hands to the pool to be hashed. */
struct htask {
	struct ctx *c;
	size_t fi; /* in c->f (which may move while the task runs: not read there) */
	uint64_t size;
	int fd;
	int rc;   /* of the hash; -1 while not run */
	int done; /* set (release) once rc and content are */
	uint64_t got;
	uint8_t content[32];
	struct mv_error e;
};

/* A verdict of the read-back on a file's content. */
struct rbres {
	size_t fi;
	struct mv_proof_result r;
};

/* The proof's read-back runs on a thread of its own, taking the contents
 * proven so far each time it is free, while the first walk goes on hashing:
 * the local files and the repository (on two disks, in the usual set-up of
 * an imaging server and its external disk) are read at once. */
struct readback {
	struct ctx *c;
	pthread_t th;
	pthread_mutex_t mu; /* everything below */
	pthread_cond_t cv;
	uint8_t (*pend)[32]; /* proven, to read back */
	size_t *pend_fi;
	size_t npend, cap_pend, cap_pend_fi;
	struct rbres *res;
	size_t nres, cap_res;
	int done; /* the walk is over: nothing more will come */
	int rc;
	struct mv_error err;
	uint64_t busy_ns; /* reading back */
};

struct ctx {
	const struct mv_wipe_opts *o;
	const struct mv_events *ev;
	struct mv_wipe_report *rep;
	struct mv_error *err;
	struct target *t;
	size_t nt;
	struct wfile *f;
	size_t nf, capf;
	size_t icap;                   /* of rep->items */
	struct readback *rb;           /* the proof's read-back, while the walk goes on */
	int integrity;                 /* a refusal for damaged or missing data */
	size_t open_begins;            /* files journalled as begun and not (yet) ended */
	struct mv_journal_entry *left; /* begun by this run and not ended: kept in the journal */
	size_t nleft, capleft;
	struct mv_keymap *entries; /* folder entries seen (overlapping paths count once) */
	struct mv_keymap *wiped;   /* inodes wiped (their other names are removed too) */
	struct mv_pool *pool;      /* the first walk's hashing */
	struct htask **ht;         /* in walk order */
	size_t nht, capht, hdone;  /* hdone: taken by hashed(), in order */
	int refused;
	/* progress */
	struct mv_progress pr;
	uint64_t file_base; /* bytes_done before the file under way */
	const char *current;
	/* the file under way (for the journal's begin record) */
	struct mv_journal_entry je;
};

static int cancelled(const struct ctx *c)
{
	return c->ev && c->ev->cancel && __atomic_load_n(c->ev->cancel, __ATOMIC_RELAXED);
}

static int nomem(struct ctx *c)
{
	return mv_error_set(c->err, MV_ERR_NOMEM, 0, "out of memory");
}

/* A uniformly distributed key for the keymaps: BLAKE2b-128 of a
 * (device, inode) pair and a name ("" for an inode alone). */
static void ukey(uint8_t out[16], uint64_t dev, uint64_t ino, const char *name)
{
	crypto_generichash_state st;
	uint64_t v[2] = {dev, ino};
	crypto_generichash_init(&st, NULL, 0, 16);
	crypto_generichash_update(&st, (const uint8_t *)v, sizeof(v));
	crypto_generichash_update(&st, (const uint8_t *)name, strlen(name));
	crypto_generichash_final(&st, out, 16);
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n;
	if (lb == 0)
		return strdup(a);
	if (la == 0)
		return strdup(b);
	if (mv_size_add(la, lb + 2, &n) != 0)
		return NULL;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s%s", a, (la && a[la - 1] == '/') ? "" : "/", b);
	return s;
}

/* Appends an item to the report (path and reason copied) and tells the
 * caller. */
static int add_item(struct ctx *c, const char *path, uint64_t size, const struct wfile *f,
                    int status, const char *reason)
{
	struct mv_wipe_report *rep = c->rep;
	if (mv_grow(rep->items, c->icap, rep->nitems + 1) != 0)
		return nomem(c);
	struct mv_wipe_item *it = &rep->items[rep->nitems];
	memset(it, 0, sizeof(*it));
	it->path = strdup(path);
	it->reason = reason ? strdup(reason) : NULL;
	if (!it->path || (reason && !it->reason)) {
		free(it->path);
		free(it->reason);
		return nomem(c);
	}
	it->size = size;
	it->status = status;
	if (f) {
		it->has_content = f->has_content;
		memcpy(it->content, f->content, 32);
		it->has_snapshot = f->has_snapshot;
		memcpy(it->snapshot, f->snapshot, 32);
	}
	rep->nitems++;
	if (status == MV_WIPE_REFUSED || status == MV_WIPE_FAILED)
		c->refused = 1;
	if (c->o->on_item)
		c->o->on_item(c->o->arg, it, c->o->dry_run);
	return 0;
}

static int add_item_rel(struct ctx *c, const struct target *t, const char *rel, uint64_t size,
                        const struct wfile *f, int status, const char *reason)
{
	char *p = join(t->arg, rel);
	if (!p)
		return nomem(c);
	int rc = add_item(c, p, size, f, status, reason);
	free(p);
	return rc;
}

/* ---- the walk ------------------------------------------------------------- */

typedef int visit_fn(struct ctx *c, size_t ti, int dirfd, const char *name, const char *rel,
                     const struct stat *st);
typedef int leave_fn(struct ctx *c, size_t ti, int parentfd, const char *name, const char *rel);

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the folder open at dirfd, sorted bytewise (*out malloc'd). */
static int list_names(struct ctx *c, int dirfd, const char *shown, char ***out, size_t *n)
{
	size_t cap = 0;
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	*out = NULL;
	*n = 0;
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return mv_error_set(c->err, MV_ERR_IO, e, "cannot read folder '%s'", shown);
	}
	rewinddir(d);
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				int e = errno;
				closedir(d);
				for (size_t i = 0; i < *n; i++)
					free((*out)[i]);
				free(*out);
				*out = NULL;
				return mv_error_set(c->err, MV_ERR_IO, e, "cannot read folder '%s'",
				                    shown);
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *s = strdup(de->d_name);
		if (!s || mv_grow(*out, cap, *n + 1) != 0) {
			free(s);
			closedir(d);
			return nomem(c);
		}
		(*out)[(*n)++] = s;
	}
	closedir(d);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), cmp_names);
	return 0;
}

/* The mount id of name in dirfd ("" : dirfd itself) into *id (0 when the
 * kernel does not tell); returns 1 when it is the root of a mount (a
 * mount point, a bind mount included), else 0. */
static int mount_of(int dirfd, const char *name, uint64_t *id)
{
	struct statx sx;
	*id = 0;
	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH), STATX_MNT_ID,
	          &sx) != 0)
		return 0;
	if (sx.stx_mask & STATX_MNT_ID)
		*id = sx.stx_mnt_id;
	return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* A folder of another mount than the path's (a bind mount of the same
 * filesystem has the same device number): not entered. */
static int other_mount(const struct target *t, int dirfd, const char *name)
{
	uint64_t id;
	int root = mount_of(dirfd, name, &id);
	return root || (t->mnt && id && id != t->mnt);
}

static int walk(struct ctx *c, size_t ti, int dirfd, const char *rel, visit_fn *visit,
                leave_fn *leave)
{
	char ebuf[128], **names;
	size_t n;
	const struct target *t = &c->t[ti];
	int rc = list_names(c, dirfd, rel[0] ? rel : t->arg, &names, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct stat st;
		char *sub = join(rel, names[i]);
		if (!sub) {
			rc = nomem(c);
			break;
		}
		if (cancelled(c)) {
			rc = MV_ERR_INTERRUPTED;
		} else if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT) /* gone meanwhile: nothing to wipe */
				rc = add_item_rel(c, t, sub, 0, NULL, MV_WIPE_REFUSED,
				                  mv_errno_str(errno, ebuf, sizeof(ebuf)));
		} else if (S_ISDIR(st.st_mode) && st.st_dev == t->dev &&
		           !other_mount(t, dirfd, names[i])) {
			int fd = openat(dirfd, names[i],
			                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat fst;
			if (fd < 0 || fstat(fd, &fst) != 0 || fst.st_ino != st.st_ino ||
			    fst.st_dev != st.st_dev) {
				rc =
				    add_item_rel(c, t, sub, 0, NULL, MV_WIPE_REFUSED,
				                 "folder replaced while the wipe ran: not entered");
			} else {
				rc = walk(c, ti, fd, sub, visit, leave);
				if (rc == 0 && leave)
					rc = leave(c, ti, dirfd, names[i], sub);
			}
			if (fd >= 0)
				close(fd);
		} else {
			rc = visit(c, ti, dirfd, names[i], sub, &st);
		}
		free(sub);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	/* the second walk removed names here without syncing each */
	if (rc == 0 && leave && fsync(dirfd) != 0)
		rc = mv_error_set(c->err, MV_ERR_IO, errno, "cannot sync the folder '%s'",
		                  rel[0] ? rel : t->arg);
	return rc;
}

/* ---- the first walk: list, hash ---------------------------------------------- */

static const char *special_name(mode_t m)
{
	return S_ISFIFO(m)   ? "a fifo"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISDIR(m)  ? "a mount point (another filesystem)"
	                     : "not a regular file";
}

static struct wfile *new_file(struct ctx *c, size_t ti, const char *rel, const struct stat *st,
                              int kind)
{
	if (mv_grow(c->f, c->capf, c->nf + 1) != 0)
		return NULL;
	struct wfile *f = &c->f[c->nf];
	memset(f, 0, sizeof(*f));
	if (!(f->rel = strdup(rel)))
		return NULL;
	c->nf++;
	f->target = ti;
	f->kind = kind;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = (uint64_t)st->st_size;
	f->mtime = st->st_mtim;
	f->ctime = st->st_ctim;
	return f;
}

static const struct mv_journal_entry *pending_of(const struct ctx *c, const struct stat *st)
{
	size_t n = 0;
	const struct mv_journal_entry *p =
	    c->o->journal ? mv_journal_pending(c->o->journal, &n) : NULL;
	for (size_t i = 0; i < n; i++)
		if (p[i].dev == (uint64_t)st->st_dev && p[i].ino == (uint64_t)st->st_ino &&
		    p[i].size == (uint64_t)st->st_size)
			return &p[i];
	return NULL;
}

static int hash_task(void *arg, unsigned worker, struct mv_error *err)
{
	struct htask *h = arg;
	struct ctx *c = h->c;
	if (!mv_pool_stopped(c->pool))
		h->rc = mv_proof_hash_file(c->o->proof, worker, h->fd, h->size, h->content, &h->got,
		                           c->ev->cancel, &h->e);
	close(h->fd);
	h->fd = -1;
	int rc = h->rc == MV_ERR_INTERRUPTED || h->rc == MV_ERR_NOMEM ? h->rc : 0;
	if (rc)
		*err = h->e;
	__atomic_store_n(&h->done, 1, __ATOMIC_RELEASE);
	return rc;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *readback_run(void *arg)
{
	struct readback *b = arg;
	struct ctx *c = b->c;
	struct mv_events ev = {.cancel = c->ev->cancel}; /* progress is the walk's */
	for (;;) {
		pthread_mutex_lock(&b->mu);
		while (b->npend == 0 && !b->done)
			pthread_cond_wait(&b->cv, &b->mu);
		uint8_t(*contents)[32] = b->pend;
		size_t *fi = b->pend_fi, n = b->npend;
		b->pend = NULL;
		b->pend_fi = NULL;
		b->npend = b->cap_pend = b->cap_pend_fi = 0;
		pthread_mutex_unlock(&b->mu);
		if (n == 0) { /* done (arrays left by a stopped walk: freed) */
			free(contents);
			free(fi);
			break;
		}
		struct mv_error e = {0};
		int64_t t0 = mono_ns();
		struct mv_proof_result *r = calloc(n, sizeof(*r));
		int rc = r ? mv_proof_verify(c->o->proof, (const uint8_t(*)[32])contents, n, 0,
		                             c->o->threads, r, &ev, &e)
		           : mv_error_set(&e, MV_ERR_NOMEM, 0, "out of memory");
		pthread_mutex_lock(&b->mu);
		b->busy_ns += (uint64_t)(mono_ns() - t0);
		if (rc == 0 && mv_grow(b->res, b->cap_res, b->nres + n) != 0)
			rc = mv_error_set(&e, MV_ERR_NOMEM, 0, "out of memory");
		for (size_t i = 0; rc == 0 && i < n; i++)
			b->res[b->nres++] = (struct rbres){fi[i], r[i]};
		if (rc) {
			b->rc = rc;
			b->err = e;
		}
		pthread_mutex_unlock(&b->mu);
		free(r);
		free(contents);
		free(fi);
		if (rc)
			break;
	}
	return NULL;
}

static int readback_start(struct ctx *c)
{
	struct readback *b = calloc(1, sizeof(*b));
	if (!b)
		return nomem(c);
	b->c = c;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	int e = pthread_create(&b->th, NULL, readback_run, b);
	if (e != 0) {
		pthread_mutex_destroy(&b->mu);
		pthread_cond_destroy(&b->cv);
		free(b);
		return mv_error_set(c->err, MV_ERR_IO, e, "cannot start a thread");
	}
	c->rb = b;
	return 0;
}

/* Hands a proven file's content to the read-back. */
static int readback_add(struct ctx *c, size_t fi, const uint8_t content[32])
{
	struct readback *b = c->rb;
	int rc = 0;
	pthread_mutex_lock(&b->mu);
	if (mv_grow(b->pend, b->cap_pend, b->npend + 1) != 0 ||
	    mv_grow(b->pend_fi, b->cap_pend_fi, b->npend + 1) != 0) {
		rc = nomem(c);
	} else {
		memcpy(b->pend[b->npend], content, 32);
		b->pend_fi[b->npend++] = fi;
		pthread_cond_signal(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	return rc;
}

/* Waits for the read-back of everything handed to it, then refuses the
 * files whose copies it could not prove. rc: the walk's, 0 when it went
 * well (else the thread is only stopped and waited for). */
static int readback_finish(struct ctx *c, int rc)
{
	struct readback *b = c->rb;
	if (!b)
		return rc;
	c->rb = NULL;
	pthread_mutex_lock(&b->mu);
	b->done = 1;
	if (rc != 0)
		b->npend = 0; /* nothing more to read back */
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->th, NULL);
	c->rep->readback_ns = b->busy_ns;
	if (rc == 0 && b->rc != 0) {
		*c->err = b->err;
		rc = b->rc;
	}
	for (size_t i = 0; rc == 0 && i < b->nres; i++) {
		struct wfile *f = &c->f[b->res[i].fi];
		const struct mv_proof_result *r = &b->res[i].r;
		if (r->status == MV_PROOF_OK)
			continue;
		f->wipe = 0;
		if (r->status == MV_PROOF_MISSING || r->status == MV_PROOF_DAMAGED)
			c->integrity = 1;
		rc = add_item_rel(c, &c->t[f->target], f->rel, f->size, f, MV_WIPE_REFUSED,
		                  r->reason);
	}
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b->pend);
	free(b->pend_fi);
	free(b->res);
	free(b);
	return rc;
}

static int take_hashed(struct ctx *c);

/* Opens a file the first walk found and hands it to the pool to be hashed
 * (hashed() takes the result once the walk is over). */
static int hash_file(struct ctx *c, const struct target *t, int dirfd, const char *name,
                     struct wfile *f)
{
	char ebuf[128], msg[600];
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_ino != (ino_t)f->ino ||
	    st.st_dev != (dev_t)f->dev) {
		snprintf(msg, sizeof(msg), "cannot be read: %s",
		         fd < 0 ? mv_errno_str(errno, ebuf, sizeof(ebuf)) : "replaced while read");
		if (fd >= 0)
			close(fd);
		return add_item_rel(c, t, f->rel, f->size, f, MV_WIPE_REFUSED, msg);
	}
	struct htask *h = calloc(1, sizeof(*h));
	if (!h || mv_grow(c->ht, c->capht, c->nht + 1) != 0) {
		free(h);
		close(fd);
		return nomem(c);
	}
	*h = (struct htask){.c = c, .fi = (size_t)(f - c->f), .size = f->size, .fd = fd, .rc = -1};
	c->ht[c->nht++] = h;
	int rc = mv_pool_submit(c->pool, hash_task, h, c->err);
	return rc ? rc : take_hashed(c);
}

/* A hashed file's verdict: proven by the snapshot (then wiped), or refused. */
static int hashed(struct ctx *c, const struct htask *h)
{
	char msg[600];
	struct wfile *f = &c->f[h->fi];
	const struct target *t = &c->t[f->target];
	if (h->rc != 0 || h->got != f->size) {
		snprintf(msg, sizeof(msg), "cannot be read: %s",
		         h->rc ? h->e.msg : "its size changed while it was read");
		return add_item_rel(c, t, f->rel, f->size, f, MV_WIPE_REFUSED, msg);
	}
	memcpy(f->content, h->content, 32);
	f->has_content = 1;
	size_t si;
	const struct mv_snapshot *snaps;
	size_t nsnaps;
	if (!mv_proof_find(c->o->proof, f->content, &si, NULL, NULL)) {
		snaps = mv_proof_snapshots(c->o->proof, &nsnaps);
		char hex[65];
		mv_hex(nsnaps ? snaps[0].id : f->content, 4, hex);
		if (mv_proof_unreadable_trees(c->o->proof) > 0) {
			c->integrity = 1; /* it may be in what could not be read */
			snprintf(msg, sizeof(msg),
			         "not found in snapshot %s, part of which cannot be read (damaged "
			         "repository: run 'medvault check')",
			         nsnaps ? hex : "?");
		} else {
			snprintf(msg, sizeof(msg),
			         "not in snapshot %s: changed since the backup, or never backed up",
			         nsnaps ? hex : "?");
		}
		return add_item_rel(c, t, f->rel, f->size, f, MV_WIPE_REFUSED, msg);
	}
	snaps = mv_proof_snapshots(c->o->proof, &nsnaps);
	if (si < nsnaps) {
		memcpy(f->snapshot, snaps[si].id, 32);
		f->has_snapshot = 1;
	}
	f->wipe = 1;
	return readback_add(c, h->fi, f->content);
}

/* Takes the hashed files' verdicts, in walk order, as far as they are done. */
static int take_hashed(struct ctx *c)
{
	int rc = 0;
	while (rc == 0 && c->hdone < c->nht &&
	       __atomic_load_n(&c->ht[c->hdone]->done, __ATOMIC_ACQUIRE)) {
		rc = c->pool && mv_pool_stopped(c->pool) ? 0 : hashed(c, c->ht[c->hdone]);
		free(c->ht[c->hdone]);
		c->ht[c->hdone++] = NULL;
	}
	return rc;
}

static int visit1(struct ctx *c, size_t ti, int dirfd, const char *name, const char *rel,
                  const struct stat *st)
{
	const struct target *t = &c->t[ti];
	char msg[200];
	struct stat dst;
	uint8_t key[16];

	/* an entry reached through two of the paths (one inside the other)
	 * counts once */
	if (fstat(dirfd, &dst) != 0)
		return mv_error_set(c->err, MV_ERR_IO, errno, "cannot stat a folder of '%s'",
		                    t->arg);
	ukey(key, (uint64_t)dst.st_dev, (uint64_t)dst.st_ino, name);
	int seen = mv_keymap_put(c->entries, key, 0, NULL);
	if (seen < 0)
		return nomem(c);
	if (seen == 1)
		return 0;

	if (S_ISLNK(st->st_mode)) {
		struct wfile *f = new_file(c, ti, rel, st, K_LINK);
		if (!f)
			return nomem(c);
		f->wipe = 1;
		return 0;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(msg, sizeof(msg), "%s: not wiped", special_name(st->st_mode));
		return add_item_rel(c, t, rel, 0, NULL, MV_WIPE_REFUSED, msg);
	}
	struct wfile *f = new_file(c, ti, rel, st, K_FILE);
	if (!f)
		return nomem(c);
	c->pr.files_total++;
	if (st->st_nlink > 1 && !c->o->include_hardlinked) {
		snprintf(msg, sizeof(msg),
		         "has %llu other name%s (hard links), through which its content stays "
		         "readable: not wiped (--include-hardlinked wipes it)",
		         (unsigned long long)st->st_nlink - 1, st->st_nlink == 2 ? "" : "s");
		return add_item_rel(c, t, rel, f->size, f, MV_WIPE_REFUSED, msg);
	}
	if (c->o->proof && pending_of(c, st))
		/* half overwritten: its bytes no longer prove anything, and nothing
		 * tells them from new data written in place since */
		return add_item_rel(
		    c, t, rel, f->size, f, MV_WIPE_REFUSED,
		    "partially overwritten by an interrupted wipe (named above): it no longer "
		    "matches the backup, so it is not wiped without proof; once you have checked "
		    "it is that file, remove it with 'medvault wipe --no-backup-check'");
	if (!c->o->proof) { /* --no-backup-check */
		f->wipe = 1;
		return 0;
	}
	c->current = rel;
	return hash_file(c, t, dirfd, name, f);
}

/* ---- the second walk: overwrite and remove ------------------------------------- */

static int cmp_wfile(const void *a, const void *b)
{
	const struct wfile *x = a, *y = b;
	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	return strcmp(x->rel, y->rel);
}

static struct wfile *find_file(struct ctx *c, size_t ti, const char *rel)
{
	struct wfile key = {.target = ti, .rel = (char *)(uintptr_t)rel};
	return bsearch(&key, c->f, c->nf, sizeof(*c->f), cmp_wfile);
}

static void on_ow_progress(void *arg, uint64_t done, uint64_t total)
{
	struct ctx *c = arg;
	(void)total;
	if (!c->ev || !c->ev->progress)
		return;
	c->pr.bytes_done = c->file_base + done;
	c->pr.current = c->current;
	c->ev->progress(c->ev->arg, &c->pr);
}

static int on_ow_begin(void *arg, uint64_t allocated)
{
	struct ctx *c = arg;
	(void)allocated;
	if (!c->o->journal)
		return 0;
	c->je.time = (int64_t)time(NULL);
	int rc = mv_journal_append(c->o->journal, MV_JOURNAL_BEGINS, &c->je, c->err);
	if (rc == 0)
		c->open_begins++;
	else
		c->je.time = 0; /* not begun */
	return rc;
}

static int same_state(const struct wfile *f, const struct stat *st)
{
	return (uint64_t)st->st_dev == f->dev && (uint64_t)st->st_ino == f->ino &&
	       (uint64_t)st->st_size == f->size && st->st_mtim.tv_sec == f->mtime.tv_sec &&
	       st->st_mtim.tv_nsec == f->mtime.tv_nsec && st->st_ctim.tv_sec == f->ctime.tv_sec &&
	       st->st_ctim.tv_nsec == f->ctime.tv_nsec;
}

static int wipe_link(struct ctx *c, const struct target *t, int dirfd, const char *name,
                     struct wfile *f)
{
	struct mv_error e = {0};
	if (mv_wipe_name(dirfd, name, MV_WIPE_NAME_LINK | MV_WIPE_NAME_NOSYNC, -1, &e) != 0)
		return add_item_rel(c, t, f->rel, 0, NULL, MV_WIPE_FAILED, e.msg);
	return add_item_rel(c, t, f->rel, 0, NULL, MV_WIPE_WIPED,
	                    "symbolic link: removed, what it points to was not touched");
}

/* The file under way began and did not end: the journal keeps it at the
 * end of the run. */
static void keep_left(struct ctx *c)
{
	if (mv_grow(c->left, c->capleft, c->nleft + 1) != 0)
		return;
	struct mv_journal_entry *e = &c->left[c->nleft];
	*e = c->je;
	if ((e->path = strdup(c->je.path)))
		c->nleft++;
}

static int wipe_file(struct ctx *c, const struct target *t, int dirfd, const char *name,
                     struct wfile *f)
{
	char ebuf[128], msg[1400];
	struct stat st;
	struct mv_error e = {0};
	int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0 || !same_state(f, &st)) {
		snprintf(msg, sizeof(msg), "%s",
		         fd < 0 ? mv_errno_str(errno, ebuf, sizeof(ebuf))
		                : "changed since it was proven (written, replaced or renamed): not "
		                  "wiped");
		if (fd >= 0)
			close(fd);
		return add_item_rel(c, t, f->rel, f->size, f, MV_WIPE_REFUSED, msg);
	}
	/* a write lease: granted only when no other process has the file open
	 * (a program writing to it, or holding it mapped, could change it after
	 * the proof without moving its times). While it is held, another
	 * program's open of the file waits until this file is done (at most the
	 * kernel's lease-break-time, 45 s by default), and one that opened it to
	 * write is seen below. Filesystems without leases, or a file of another
	 * owner without CAP_LEASE, go on with the checks of times. */
	int leased = fcntl(fd, F_SETLEASE, F_WRLCK) == 0;
	if (!leased && (errno == EAGAIN || errno == EBUSY)) {
		close(fd);
		return add_item_rel(c, t, f->rel, f->size, f, MV_WIPE_REFUSED,
		                    "open in another program (which may be writing to it): not "
		                    "wiped");
	}
	if (leased && (fstat(fd, &st) != 0 || !same_state(f, &st))) {
		close(fd);
		return add_item_rel(c, t, f->rel, f->size, f, MV_WIPE_REFUSED,
		                    "changed since it was proven: not wiped");
	}
	struct mv_wipe_medium m = t->medium;
	(void)mv_medium_add_file_facts(fd, &m, &e);
	if (m.unreliable && !t->medium.unreliable && !c->o->accept_unreliable) {
		close(fd);
		snprintf(msg, sizeof(msg), "overwriting it is unreliable: %s", m.notes);
		return add_item_rel(c, t, f->rel, f->size, f, MV_WIPE_REFUSED, msg);
	}
	char *full = join(t->arg, f->rel);
	if (!full) {
		close(fd);
		return nomem(c);
	}
	c->je =
	    (struct mv_journal_entry){.dev = f->dev, .ino = f->ino, .size = f->size, .path = full};
	memcpy(c->je.content, f->content, 32);
	memcpy(c->je.snapshot, f->snapshot, 32);
	c->current = full;
	struct mv_ow_opts ow = c->o->ow;
	ow.progress = on_ow_progress;
	ow.begin = on_ow_begin;
	ow.arg = c;
	ow.cancel = c->ev ? c->ev->cancel : NULL;
	struct mv_ow_result res;
	memset(&res, 0, sizeof(res));
	int rc = mv_overwrite_file(fd, &ow, &res, &e);
	c->rep->bytes_overwritten += res.bytes_overwritten;
	c->rep->bytes_verified += res.bytes_verified;
	c->rep->write_ns += res.write_ns;
	c->rep->verify_ns += res.verify_ns;
	c->file_base += (uint64_t)res.bytes_overwritten + res.bytes_verified;
	if (rc == 0) {
		/* still the file proven, and no one opened it meanwhile: else bytes
		 * written by others (an append) would go with it */
		int lt = leased ? fcntl(fd, F_GETLEASE) : F_WRLCK;
		/* F_RDLCK: someone opened it to read meanwhile (harmless); F_UNLCK:
		 * to write or truncate */
		if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != f->size ||
		    (lt != F_WRLCK && lt != F_RDLCK))
			rc = mv_error_set(
			    &e, MV_ERR_INTEGRITY, 0,
			    "another program opened it or changed its size while it was "
			    "overwritten: its proven content is overwritten, but the file "
			    "is left in place with what was written since");
		else
			rc = mv_wipe_name(dirfd, name, MV_WIPE_NAME_FILE | MV_WIPE_NAME_NOSYNC, fd,
			                  &e);
		if (rc != 0) {
			snprintf(msg, sizeof(msg), "overwritten and verified, but not removed: %s",
			         e.msg);
			rc = add_item(c, full, f->size, f, MV_WIPE_FAILED, msg);
		} else {
			if (c->o->journal &&
			    mv_journal_append(c->o->journal, MV_JOURNAL_ENDS, &c->je, &e) == 0)
				c->open_begins--;
			f->wipe = 2; /* ended */
			c->pr.files_done++;
			uint8_t key[16];
			ukey(key, f->dev, f->ino, "");
			if (mv_keymap_put(c->wiped, key, 0, NULL) < 0)
				rc = nomem(c);
			else
				rc = add_item(c, full, f->size, f, MV_WIPE_WIPED, NULL);
		}
	} else if (rc == MV_ERR_INTERRUPTED || res.bytes_overwritten > 0) {
		unsigned passes = ow.passes ? ow.passes : 1;
		if (res.passes_done == passes)
			snprintf(msg, sizeof(msg),
			         "%s during the read-back, after all %u pass%s were written: "
			         "overwritten, not verified, not removed",
			         rc == MV_ERR_INTERRUPTED ? "interrupted" : e.msg, passes,
			         passes == 1 ? "" : "es");
		else
			snprintf(msg, sizeof(msg),
			         "%s after %llu of %llu bytes: partially overwritten, not removed",
			         rc == MV_ERR_INTERRUPTED ? "interrupted" : e.msg,
			         (unsigned long long)res.bytes_overwritten,
			         (unsigned long long)res.allocated * passes);
		int r2 = add_item(c, full, f->size, f, MV_WIPE_PARTIAL, msg);
		rc = rc == MV_ERR_INTERRUPTED ? rc : r2;
	} else if (rc == MV_ERR_NOMEM || (c->err->code && rc == c->err->code)) {
		/* out of memory, or the journal could not record the begin */
		if (rc != MV_ERR_NOMEM && !c->err->msg[0])
			*c->err = e;
	} else {
		rc = add_item(c, full, f->size, f, MV_WIPE_FAILED, e.msg);
	}
	if (c->je.time && f->wipe != 2) /* begun and not ended: the journal keeps it */
		keep_left(c);
	c->je.time = 0;
	close(fd);
	free(full);
	c->current = NULL;
	return rc;
}

/* Another name of a file this run wiped (--include-hardlinked): the name
 * goes, the inode was overwritten through the first one. */
static int remove_other_name(struct ctx *c, const struct target *t, int dirfd, const char *name,
                             struct wfile *f)
{
	struct mv_error e = {0};
	struct stat st;
	int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int rc = fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_ino != f->ino ||
	                 (uint64_t)st.st_dev != f->dev || st.st_size != 0
	             ? mv_error_set(&e, MV_ERR_INTEGRITY, 0, "replaced since the first walk")
	             : mv_wipe_name(dirfd, name, MV_WIPE_NAME_FILE | MV_WIPE_NAME_NOSYNC, fd, &e);
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		return add_item_rel(c, t, f->rel, f->size, f, MV_WIPE_FAILED, e.msg);
	return add_item_rel(c, t, f->rel, f->size, f, MV_WIPE_WIPED,
	                    "another name (hard link) of a file wiped in this run: removed");
}

static int visit2(struct ctx *c, size_t ti, int dirfd, const char *name, const char *rel,
                  const struct stat *st)
{
	(void)st;
	struct wfile *f = find_file(c, ti, rel);
	if (!f || !f->wipe) /* refused, or new since the first walk */
		return 0;
	const struct target *t = &c->t[ti];
	uint8_t key[16];
	ukey(key, f->dev, f->ino, "");
	if (f->kind == K_FILE && mv_keymap_get(c->wiped, key, NULL))
		return remove_other_name(c, t, dirfd, name, f);
	return f->kind == K_LINK ? wipe_link(c, t, dirfd, name, f)
	                         : wipe_file(c, t, dirfd, name, f);
}

static int leave2(struct ctx *c, size_t ti, int parentfd, const char *name, const char *rel)
{
	struct mv_error e = {0};
	(void)ti;
	(void)rel;
	if (mv_wipe_name(parentfd, name, 1, -1, &e) == 0)
		c->rep->folders_removed++;
	return 0; /* a folder that holds what was not wiped stays */
}

/* ---- the targets ------------------------------------------------------------- */

static int open_target(struct ctx *c, struct target *t, const char *arg)
{
	size_t len = strlen(arg);
	struct stat st;

	t->parentfd = t->rootfd = -1;
	while (len > 1 && arg[len - 1] == '/')
		len--;
	if (!(t->arg_copy = strndup(arg, len)))
		return nomem(c);
	t->arg = t->arg_copy;
	const char *slash = NULL;
	for (size_t i = len; i-- > 0;)
		if (arg[i] == '/') {
			slash = arg + i;
			break;
		}
	const char *base = slash ? slash + 1 : arg;
	size_t blen = len - (size_t)(base - arg);
	if (blen == 0 || (blen == 1 && base[0] == '.') || (blen == 2 && !memcmp(base, "..", 2)))
		return mv_error_set(c->err, MV_ERR_USAGE, 0,
		                    "'%s': name the file or folder itself (not '/', '.' or '..')",
		                    arg);
	t->base = strndup(base, blen);
	char *parent = slash ? strndup(arg, slash == arg ? 1 : (size_t)(slash - arg)) : strdup(".");
	if (!t->base || !parent) {
		free(parent);
		return nomem(c);
	}
	/* a link another user planted on the way is never followed */
	t->parentfd = mv_open_trusted_dir(parent, 0, c->err);
	free(parent);
	if (t->parentfd < 0) {
		int code = t->parentfd;
		t->parentfd = -1;
		return code == MV_ERR_NOMEM ? code : (c->err->code = MV_ERR_USAGE);
	}
	if (fstatat(t->parentfd, t->base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return mv_error_set(c->err, MV_ERR_USAGE, errno, "'%s'", arg);
	/* items are named by absolute paths: a certificate read years later
	 * must say which folder it was */
	char proc[64], abs[PATH_MAX];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->parentfd);
	ssize_t al = readlink(proc, abs, sizeof(abs) - 1);
	if (al > 0 && abs[0] == '/') {
		abs[al] = '\0';
		char *full = join(abs, t->base);
		if (!full)
			return nomem(c);
		free(t->arg_copy);
		t->arg = t->arg_copy = full;
	}
	struct statvfs vfs;
	if (fstatvfs(t->parentfd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return mv_error_set(c->err, MV_ERR_USAGE, 0,
		                    "'%s' is on a read-only filesystem: nothing can be wiped there "
		                    "(mount it read-write)",
		                    arg);
	t->kind = (int)(st.st_mode & S_IFMT);
	t->dev = st.st_dev;
	t->mnt = 0;
	if (S_ISLNK(st.st_mode))
		return 0;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return mv_error_set(c->err, MV_ERR_USAGE, 0,
		                    "'%s' is %s: not wiped (a whole device is wiped with --device)",
		                    arg, special_name(st.st_mode));
	int fd = openat(t->parentfd, t->base,
	                (S_ISDIR(st.st_mode) ? O_DIRECTORY : O_NONBLOCK) | O_RDONLY | O_NOFOLLOW |
	                    O_CLOEXEC);
	struct stat fst, pst;
	if (fd < 0 || fstat(fd, &fst) != 0 || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev) {
		int e = fd < 0 ? errno : EAGAIN;
		if (fd >= 0)
			close(fd);
		return mv_error_set(c->err, MV_ERR_USAGE, e, "'%s'", arg);
	}
	if (S_ISDIR(st.st_mode) && (fstat(t->parentfd, &pst) != 0 || pst.st_dev != st.st_dev ||
	                            pst.st_ino == st.st_ino || mount_of(fd, "", &t->mnt) == 1)) {
		close(fd);
		return mv_error_set(
		    c->err, MV_ERR_USAGE, 0,
		    "'%s' is a mount point (or '/'): name the folders inside it, or "
		    "wipe the whole device with --device",
		    arg);
	}
	int rc = mv_medium_probe_file(fd, &t->medium, c->err);
	if (S_ISDIR(st.st_mode))
		t->rootfd = fd;
	else
		close(fd);
	return rc;
}

static void close_targets(struct ctx *c)
{
	for (size_t i = 0; i < c->nt; i++) {
		if (c->t[i].parentfd >= 0)
			close(c->t[i].parentfd);
		if (c->t[i].rootfd >= 0)
			close(c->t[i].rootfd);
		free(c->t[i].base);
		free(c->t[i].arg_copy);
	}
	free(c->t);
}

/* Files that earlier runs began to overwrite and did not finish (a kill,
 * a crash): each is named in this run's certificate as partially
 * overwritten; the journal then forgets them. */
static int report_pending(struct ctx *c)
{
	size_t n = 0;
	const struct mv_journal_entry *p =
	    c->o->journal ? mv_journal_pending(c->o->journal, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		char when[64], msg[200];
		time_t tt = (time_t)p[i].time;
		struct tm tm;
		if (!gmtime_r(&tt, &tm) ||
		    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
			snprintf(when, sizeof(when), "an earlier run");
		snprintf(
		    msg, sizeof(msg),
		    "the wipe of %s was interrupted while overwriting it: partially overwritten, "
		    "not removed",
		    when);
		struct wfile f = {0};
		static const uint8_t zero[32];
		memcpy(f.content, p[i].content, 32);
		memcpy(f.snapshot, p[i].snapshot, 32);
		f.has_content = memcmp(f.content, zero, 32) != 0;
		f.has_snapshot = memcmp(f.snapshot, zero, 32) != 0;
		int rc = add_item(c, p[i].path, p[i].size, &f, MV_WIPE_PARTIAL, msg);
		if (rc)
			return rc;
	}
	return 0;
}

/* At the end of a run: the journal keeps only what this run began and did
 * not end (earlier runs' files are in this run's certificate). */
static void journal_end_of_run(struct ctx *c)
{
	struct mv_error e = {0};
	if (mv_journal_reset(c->o->journal, &e) != 0)
		return; /* the next run names those files again: harmless */
	for (size_t i = 0; i < c->nleft; i++)
		if (mv_journal_append(c->o->journal, MV_JOURNAL_BEGINS, &c->left[i], &e) != 0)
			return;
}

/* An upper bound of the bytes a string takes in JSON: printable ASCII as
 * itself (two for '"' and '\\'), any other byte at most six ("\\u00e9" or
 * U+FFFD), and when it is not valid UTF-8 also its "_hex" twin. */
static uint64_t json_bound(const char *s)
{
	uint64_t n = 2;
	int ascii = 1;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f)
			n += (*p == '"' || *p == '\\') ? 2 : 1;
		else
			n += 6, ascii = 0;
	}
	if (!ascii)
		n += 16 + 2 * strlen(s);
	return n;
}

/* What the certificate's items may take: each item's fixed part (keys,
 * two hashes, size, status: about 240 bytes) with room to spare, its path
 * and reason, and 1 MiB for the rest and the reasons of failures to come. */
static uint64_t cert_bound(const struct ctx *c, size_t *items)
{
	uint64_t b = 1u << 20;
	size_t n = 0;
	for (size_t i = 0; i < c->rep->nitems; i++, n++)
		b += 320 + json_bound(c->rep->items[i].path) +
		     (c->rep->items[i].reason ? json_bound(c->rep->items[i].reason) : 0);
	for (size_t i = 0; i < c->nf; i++)
		if (c->f[i].wipe) {
			b += 320 + json_bound(c->t[c->f[i].target].arg) + json_bound(c->f[i].rel) +
			     (c->f[i].kind == K_LINK ? 80 : 0);
			n++;
		}
	*items = n;
	return b;
}

int mv_wipe_files(const struct mv_wipe_opts *o, const char *const *paths, size_t n,
                  const struct mv_events *ev, struct mv_wipe_report *rep, struct mv_error *err)
{
	static const struct mv_events none = {0};
	struct ctx c;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.ev = ev ? ev : &none;
	c.rep = rep;
	c.err = err;
	c.icap = rep->nitems;
	c.t = calloc(n ? n : 1, sizeof(*c.t));
	c.entries = mv_keymap_new(16);
	c.wiped = mv_keymap_new(16);
	if (!c.t || !c.entries || !c.wiped) {
		free(c.t);
		mv_keymap_free(c.entries);
		mv_keymap_free(c.wiped);
		return nomem(&c);
	}
	for (size_t i = 0; i < n; i++)
		c.t[i].parentfd = c.t[i].rootfd = -1;
	c.nt = n;
	/* every path, and its medium, before anything is read */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = open_target(&c, &c.t[i], paths[i]);
		if (rc == 0 && (i == 0 || (c.t[i].medium.unreliable && !rep->medium.unreliable)))
			rep->medium = c.t[i].medium;
	}
	/* a dry run still says what would be proven and wiped */
	int unreliable = rc == 0 && rep->medium.unreliable && !o->accept_unreliable;
	if (unreliable && !o->dry_run)
		rc = MV_ERR_UNRELIABLE;
	/* what earlier runs left half done comes first in the report */
	if (rc == 0)
		rc = report_pending(&c);
	/* the first walk, the files hashed on the pool and their copies read
	 * back meanwhile */
	int64_t t0 = mono_ns();
	if (rc == 0 && o->proof) {
		unsigned nt = o->threads ? o->threads : mv_pool_default_threads(MV_PROOF_SLOTS);
		rc = mv_pool_start(nt < MV_PROOF_SLOTS ? nt : MV_PROOF_SLOTS, 0, c.ev->cancel,
		                   &c.pool, err);
		if (rc == 0)
			rc = readback_start(&c);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct target *t = &c.t[i];
		struct stat st;
		if (t->kind == S_IFDIR) {
			rc = walk(&c, i, t->rootfd, "", visit1, NULL);
		} else if (fstatat(t->parentfd, t->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			rc = visit1(&c, i, t->parentfd, t->base, "", &st);
		}
	}
	if (c.pool) {
		struct mv_error perr = {0};
		int prc = mv_pool_finish(c.pool, &perr);
		if (rc == 0 && prc != 0) {
			*err = perr;
			rc = prc;
		}
		c.pool = NULL;
		if (rc == 0)
			rc = take_hashed(&c);
	}
	for (size_t i = c.hdone; i < c.nht; i++)
		free(c.ht[i]);
	free(c.ht);
	rc = readback_finish(&c, rc);
	if (rc == 0 && c.nf + rep->nitems > MV_WIPE_MAX_ITEMS)
		rc = mv_error_set(err, MV_ERR_LIMIT, 0,
		                  "%zu files: a wipe lists at most %u in its certificate; wipe the "
		                  "folders inside in several runs",
		                  c.nf + rep->nitems, (unsigned)MV_WIPE_MAX_ITEMS);
	if (rc == 0 && c.nf > 1)
		qsort(c.f, c.nf, sizeof(*c.f), cmp_wfile);
	rep->proof_ns = (uint64_t)(mono_ns() - t0);
	/* room for the evidence before anything is touched */
	if (rc == 0 && !o->dry_run && o->planned) {
		size_t items;
		uint64_t bytes = cert_bound(&c, &items);
		rc = o->planned(o->arg, items, bytes, err);
	}
	/* the second walk */
	for (size_t i = 0; i < c.nf; i++)
		if (c.f[i].wipe && c.f[i].kind == K_FILE)
			c.pr.bytes_total += c.f[i].size * ((o->ow.passes ? o->ow.passes : 1) + 1);
	for (size_t i = 0; rc == 0 && !o->dry_run && i < n; i++) {
		struct target *t = &c.t[i];
		struct stat st;
		if (t->kind == S_IFDIR) {
			rc = walk(&c, i, t->rootfd, "", visit2, leave2);
			if (rc == 0)
				rc = leave2(&c, i, t->parentfd, t->base, "");
		} else if (fstatat(t->parentfd, t->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			rc = visit2(&c, i, t->parentfd, t->base, "", &st);
			if (rc == 0 && fsync(t->parentfd) != 0)
				rc = mv_error_set(err, MV_ERR_IO, errno,
				                  "cannot sync the folder of '%s'", t->arg);
		}
	}
	if (o->dry_run && rc == 0) /* tell what would be wiped */
		for (size_t i = 0; rc == 0 && i < c.nf; i++)
			if (c.f[i].wipe)
				rc = add_item_rel(&c, &c.t[c.f[i].target], c.f[i].rel, c.f[i].size,
				                  &c.f[i], MV_WIPE_WIPED,
				                  c.f[i].kind == K_LINK ? "symbolic link" : NULL);
	if (!o->dry_run && o->journal && (rc == 0 || rc == MV_ERR_INTERRUPTED))
		journal_end_of_run(&c);
	for (size_t i = 0; i < c.nleft; i++)
		free(c.left[i].path);
	free(c.left);
	mv_keymap_free(c.entries);
	mv_keymap_free(c.wiped);
	for (size_t i = 0; i < c.nf; i++)
		free(c.f[i].rel);
	free(c.f);
	close_targets(&c);
	if (rc == MV_ERR_UNRELIABLE || (rc == 0 && unreliable))
		return mv_error_set(err, MV_ERR_UNRELIABLE, 0, "overwriting is unreliable here: %s",
		                    rep->medium.notes);
	if (rc == 0 && c.integrity)
		return mv_error_set(
		    err, MV_ERR_INTEGRITY, 0,
		    "files were refused because the repository's copy is damaged or "
		    "missing: run 'medvault check --read-data'");
	if (rc == 0 && c.refused)
		return mv_error_set(err, MV_ERR_PARTIAL, 0, "some files were not wiped");
	return rc;
}

void mv_wipe_report_release(struct mv_wipe_report *rep)
{
	for (size_t i = 0; i < rep->nitems; i++) {
		free(rep->items[i].path);
		free(rep->items[i].reason);
	}
	free(rep->items);
	rep->items = NULL;
	rep->nitems = 0;
}
