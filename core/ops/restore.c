/* Restore: walk the snapshot's trees, create directories and temporary
 * files, then read each needed pack once, in order, on worker threads, and
 * write every blob to the places that use it. Each blob is authenticated; a
 * damaged blob fails only the files that use it.
 *
 * The target is reached through directory handles only: the target is
 * opened once, every folder below it is created and opened relative to its
 * parent's handle without following links (core/util/beneath.h), and a file is
 * written under a temporary name in its folder (".medvault-TAG.part", TAG
 * derived from the snapshot and the file's path) and renamed to its real
 * name, never over something that appeared meanwhile, only once every blob
 * is written and its owner, mode and times are set on its descriptor. A
 * name in the target is thus either absent, a complete restored file, or
 * something restore did not write, which it names. A re-run compares the
 * files already there by content (on the workers, after planning), keeps
 * the equal ones, and removes the temporary files earlier runs left in the
 * folders that existed before it. One restore at a time holds the target. */
#define _GNU_SOURCE /* O_PATH, AT_EMPTY_PATH */
#include "core/ops/restore.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/repo/filechunk.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/packread.h"
#include "core/repo/walker.h"
#include "core/util/beneath.h"
#include "core/util/clock.h"
#include "core/util/grow.h"
#include "core/util/pool.h"

/* F_VERIFY: an existing file of the right size, compared after planning */
enum { F_PLANNED, F_DONE, F_GONE, F_VERIFY };

struct rfile {
	struct mv_node node; /* owned copy: name (NUL-terminated), chunks */
	uint32_t dir;        /* folder, index in s->dirs */
	uint32_t remaining;  /* blob writes still to do */
	uint32_t link_of;    /* a hard link of files[link_of - 1]; 0: none */
	uint64_t tag;        /* of the temporary name */
	uint64_t ino;        /* of the temporary file (kept by the rename) */
	uint8_t state;       /* F_PLANNED: the temporary file exists */
	uint8_t replace;     /* something stood at the name: the rename replaces it */
	uint8_t damaged;     /* repository data missing or failing verification */
	uint8_t failed;      /* could not be written into the target (warned) */
};

/* One write of a blob into a file. */
struct ref {
	uint32_t pack;
	uint32_t offset; /* in pack */
	uint32_t length;
	uint32_t file;
	uint32_t chunk;
	uint64_t file_off;
};

/* A folder restore made or used; index 0 is the target itself. */
struct rdir {
	char *rel;           /* below the target, "" for the target */
	struct mv_node node; /* metadata to set at the end; kind 0: none */
	uint64_t dev, ino;   /* what was made or opened, checked at the end */
	int fresh;           /* made by this run (mode 0700): no one else writes in it */
};

/* A folder on the path being walked; created (fd >= 0) on demand. */
struct level {
	char *rel;
	size_t name_off; /* its name in rel */
	struct mv_node node;
	int fd;
	int bad;      /* could not be created or opened: nothing below is restored */
	int included; /* it or an ancestor matched --include */
	int fresh;    /* made by this run: it held nothing before */
	uint32_t dir;
};

/* A worker's handle of the folder it writes into last. */
struct dircache {
	uint32_t dir;
	int fd;
};

struct rs {
	struct mv_repo *r;
	const struct mv_restore_opts *o;
	const struct mv_events *ev;
	struct mv_restore_result *res;
	int is_root;
	const uint8_t *snap_id;
	const char *target; /* as given, for messages */
	int rootfd;
	int eager; /* create folders as the walk enters them (no selection) */

	struct rfile *files;
	size_t nfiles, capfiles;
	struct ref *refs;
	size_t nrefs, caprefs;
	struct rdir *dirs;
	size_t ndirs, capdirs;
	/* files by inode (open addressing, index + 1), to restore hard links */
	uint32_t *byino;
	size_t inocap, inocount;
	struct mv_file_hasher *hasher; /* compares existing files (main thread) */
	size_t nverify;                /* files in state F_VERIFY */
	uint64_t bytes_planned;        /* of the files to write (progress) */

	struct level stack[600];
	int depth;             /* levels on the path */
	int open_depth;        /* levels created and open */
	struct mv_error *werr; /* the planning walk's error */

	pthread_mutex_t mu;
	struct rworker *workers; /* by pool worker (64) */
	uint64_t bytes_done;
	int fatal;
	struct mv_error ferr;
};

/* "TARGET/rel/name" for messages (malloc'd; NULL when out of memory). */
static char *tpath(const struct rs *s, const char *rel, const char *name)
{
	size_t tl = strlen(s->target), rl = strlen(rel), nl = name ? strlen(name) : 0;
	char *p = malloc(tl + rl + nl + 3);
	if (!p)
		return NULL;
	memcpy(p, s->target, tl);
	size_t o = tl;
	if (rl) {
		p[o++] = '/';
		memcpy(p + o, rel, rl);
		o += rl;
	}
	if (nl) {
		p[o++] = '/';
		memcpy(p + o, name, nl);
		o += nl;
	}
	p[o] = '\0';
	return p;
}

static void report(struct rs *s, int warning, const char *rel, const char *name, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
static void report(struct rs *s, int warning, const char *rel, const char *name, const char *fmt,
                   ...)
{
	void (*cb)(void *, const char *, const char *) =
	    s->ev ? (warning ? s->ev->warn : s->ev->note) : NULL;
	if (!cb)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char *p = tpath(s, rel, name);
	cb(s->ev->arg, p ? p : s->target, msg);
	free(p);
}

static void count(struct rs *s, uint64_t *counter)
{
	pthread_mutex_lock(&s->mu);
	(*counter)++;
	pthread_mutex_unlock(&s->mu);
}

/* Errors of the target that no other file would escape: the restore stops
 * (and removes its temporary files) instead of failing file after file. */
static int fatal_errno(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EROFS || e == EIO || e == EMFILE || e == ENFILE ||
	       e == ENOMEM;
}

/* Reports that writing into the target failed with errno e: a fatal error
 * stops the restore (returns it), any other fails the one file or folder
 * (warned, counted; returns 0). */
static int target_error(struct rs *s, const char *rel, const char *name, const char *what, int e)
{
	char eb[128];
	if (fatal_errno(e)) {
		pthread_mutex_lock(&s->mu);
		if (!s->fatal) {
			s->fatal = (e == ENOSPC || e == EDQUOT) ? MV_ERR_NOSPC
			           : e == ENOMEM                ? MV_ERR_NOMEM
			                                        : MV_ERR_IO;
			mv_error_set(&s->ferr, s->fatal, e, "cannot restore into '%s'", s->target);
		}
		int rc = s->fatal;
		pthread_mutex_unlock(&s->mu);
		return rc;
	}
	report(s, 1, rel, name, "%s: %s", what,
	       e == ESTALE ? "its folder was moved or replaced during the restore"
	                   : mv_errno_str(e, eb, sizeof(eb)));
	count(s, &s->res->failed);
	return 0;
}

/* Stops the restore with rc (the first fatal error wins); returns it. */
static int set_fatal(struct rs *s, int rc, const char *msg)
{
	pthread_mutex_lock(&s->mu);
	if (!s->fatal) {
		s->fatal = rc;
		mv_error_set(&s->ferr, rc, 0, "%s", msg);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The fatal error recorded by target_error, for the caller's err. */
static int copy_fatal(struct rs *s, struct mv_error *err)
{
	if (err)
		*err = s->ferr;
	return s->fatal;
}

static void tmp_name(uint64_t tag, char out[40])
{
	snprintf(out, 40, ".medvault-%016llx.part", (unsigned long long)tag);
}

/* The temporary name's tag: the same for the same file of the same snapshot,
 * so that a re-run replaces what an interrupted run left. */
static uint64_t file_tag(const struct rs *s, const char *spath)
{
	uint8_t h[8];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, s->snap_id, 32);
	crypto_generichash_update(&st, (const unsigned char *)spath, strlen(spath));
	crypto_generichash_final(&st, h, sizeof(h));
	uint64_t t = 0;
	for (int i = 0; i < 8; i++)
		t = t << 8 | h[i];
	return t;
}

/* A copy of n with its name NUL-terminated and, when with_chunks, its
 * chunk list; never the link target (symbolic links are made at once). */
static int node_copy(struct mv_node *dst, const struct mv_node *src, int with_chunks)
{
	*dst = *src;
	dst->name = NULL;
	dst->chunks = NULL;
	dst->target = NULL;
	dst->target_len = 0;
	dst->name = malloc((size_t)src->name_len + 1);
	if (!dst->name)
		return MV_ERR_NOMEM;
	memcpy(dst->name, src->name, src->name_len);
	dst->name[src->name_len] = '\0';
	if (!with_chunks)
		dst->nchunks = 0;
	if (with_chunks && src->nchunks) {
		dst->chunks = malloc((size_t)src->nchunks * 32);
		if (!dst->chunks) {
			free(dst->name);
			dst->name = NULL;
			return MV_ERR_NOMEM;
		}
		memcpy(dst->chunks, src->chunks, (size_t)src->nchunks * 32);
	}
	return 0;
}

static void node_times(const struct mv_node *n, struct timespec ts[2])
{
	ts[0].tv_sec = n->mtime_ns / 1000000000LL;
	ts[0].tv_nsec = n->mtime_ns % 1000000000LL;
	if (ts[0].tv_nsec < 0) {
		ts[0].tv_sec--;
		ts[0].tv_nsec += 1000000000LL;
	}
	ts[1] = ts[0];
}

/* The mode restored: set-user-id and set-group-id bits of files only when
 * asked (--setuid), as a careful archiver does. */
static mode_t restored_mode(const struct rs *s, const struct mv_node *n)
{
	mode_t m = n->mode & 07777;
	if (n->kind != MV_NODE_DIR && !s->o->setuid)
		m &= (mode_t) ~(S_ISUID | S_ISGID);
	return m;
}

/* Owner (when root), mode and times of the file or folder open at fd. */
static void set_meta_fd(struct rs *s, int fd, const char *rel, const char *name,
                        const struct mv_node *n)
{
	struct timespec ts[2];
	node_times(n, ts);
	char eb[128];
	if (s->is_root && fchown(fd, n->uid, n->gid) < 0)
		report(s, 1, rel, name, "cannot set owner: %s",
		       mv_errno_str(errno, eb, sizeof(eb)));
	if (fchmod(fd, restored_mode(s, n)) < 0)
		report(s, 1, rel, name, "cannot set mode: %s", mv_errno_str(errno, eb, sizeof(eb)));
	if (futimens(fd, ts) < 0)
		report(s, 1, rel, name, "cannot set modification time: %s",
		       mv_errno_str(errno, eb, sizeof(eb)));
}

/* The same for a fifo or device node just made under the temporary name
 * tmp in folder pfd: reached through an O_PATH handle checked to be what
 * restore made, never through a name that could have become a link. */
static void set_meta_special(struct rs *s, int pfd, const char *tmp, const char *rel,
                             const struct mv_node *n)
{
	struct timespec ts[2];
	struct stat st;
	char proc[64];
	const char *name = (const char *)n->name;
	node_times(n, ts);
	int fd = openat(pfd, tmp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode) ||
	    S_ISREG(st.st_mode)) {
		report(s, 1, rel, name, "cannot set owner, mode and time");
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (s->is_root && fchownat(fd, "", n->uid, n->gid, AT_EMPTY_PATH) < 0)
		report(s, 1, rel, name, "cannot set owner");
	if (fchmodat(AT_FDCWD, proc, restored_mode(s, n), 0) < 0)
		report(s, 1, rel, name, "cannot set mode");
	if (utimensat(AT_FDCWD, proc, ts, 0) < 0)
		report(s, 1, rel, name, "cannot set modification time");
	close(fd);
}

/* ---- folders --------------------------------------------------------------- */

/* Removes what interrupted restores left in folder dfd: temporary files
 * named as tmp_name names them (restore holds the target's lock, so none is
 * in use). */
static void remove_leftovers(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		struct stat st;
		if (strlen(n) != 31 || strncmp(n, ".medvault-", 10) || strcmp(n + 26, ".part") ||
		    strspn(n + 10, "0123456789abcdef") != 16 || e->d_type == DT_DIR)
			continue;
		/* only what a restore of this user makes: a regular file with
		 * one name, or a link, fifo or node, owned by this user */
		if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid != geteuid() ||
		    S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_nlink != 1))
			continue;
		unlinkat(dfd, n, 0);
	}
	closedir(d);
}

/* Records folder dir's identity (it is open at fd) and, when it was there
 * before this run, clears the leftovers of earlier ones. */
static int note_dir(struct rs *s, struct rdir *d, int fd, int fresh)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	d->dev = (uint64_t)st.st_dev;
	d->ino = (uint64_t)st.st_ino;
	d->fresh = fresh;
	if (!fresh)
		remove_leftovers(fd);
	(void)s;
	return 0;
}

/* Creates and opens the folders of the path that are not open yet. Returns
 * 0 when the innermost one is open, 1 when it cannot be (reported; skip
 * what goes in it), or a fatal error. */
static int ensure_dirs(struct rs *s, struct mv_error *err)
{
	for (int i = s->open_depth; i < s->depth; i++) {
		struct level *lv = &s->stack[i];
		const char *name = lv->rel + lv->name_off;
		int pfd = s->stack[i - 1].fd, rc;
		if (lv->bad)
			return 1;
		lv->fresh = mkdirat(pfd, name, 0700) == 0;
		if (!lv->fresh && errno != EEXIST) {
			lv->bad = 1;
			rc = target_error(s, s->stack[i - 1].rel, name, "cannot create folder",
			                  errno);
			return rc ? copy_fatal(s, err) : 1;
		}
		lv->fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (lv->fd < 0) {
			int e = errno;
			lv->bad = 1;
			if (e == ELOOP || e == ENOTDIR) {
				report(
				    s, 1, s->stack[i - 1].rel, name,
				    "not a folder (a file or link stands where the snapshot has a "
				    "folder): left as it was, and nothing below it restored");
				count(s, &s->res->conflicts);
				return 1;
			}
			rc = target_error(s, s->stack[i - 1].rel, name, "cannot open folder", e);
			return rc ? copy_fatal(s, err) : 1;
		}
		if ((rc = mv_grow(s->dirs, s->capdirs, s->ndirs + 1)))
			return mv_error_set(err, rc, 0, "out of memory");
		struct rdir *d = &s->dirs[s->ndirs];
		memset(d, 0, sizeof(*d));
		d->rel = strdup(lv->rel);
		if (!d->rel)
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		d->node = lv->node; /* metadata only; the name stays the level's */
		d->node.name = NULL;
		if (note_dir(s, d, lv->fd, lv->fresh) < 0) {
			free(d->rel);
			lv->bad = 1;
			rc =
			    target_error(s, s->stack[i - 1].rel, name, "cannot open folder", errno);
			return rc ? copy_fatal(s, err) : 1;
		}
		lv->dir = (uint32_t)s->ndirs++;
		s->res->dirs++;
		s->open_depth = i + 1;
	}
	return 0;
}

static int push_dir(struct rs *s, const struct mv_node *n, struct mv_error *err)
{
	if (s->depth >= (int)(sizeof(s->stack) / sizeof(s->stack[0])))
		return mv_error_set(err, MV_ERR_LIMIT, 0, "folders nested too deep");
	const struct level *up = &s->stack[s->depth - 1];
	size_t ul = strlen(up->rel);
	struct level *lv = &s->stack[s->depth];
	memset(lv, 0, sizeof(*lv));
	lv->fd = -1;
	lv->rel = malloc(ul + 1 + n->name_len + 1);
	if (!lv->rel || node_copy(&lv->node, n, 0)) {
		free(lv->rel);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	memcpy(lv->rel, up->rel, ul);
	lv->name_off = ul ? ul + 1 : 0;
	if (ul)
		lv->rel[ul] = '/';
	memcpy(lv->rel + lv->name_off, n->name, n->name_len);
	lv->rel[lv->name_off + n->name_len] = '\0';
	s->depth++;
	return 0;
}

static void pop_dir(struct rs *s)
{
	struct level *lv = &s->stack[--s->depth];
	if (s->open_depth > s->depth) {
		close(lv->fd);
		s->open_depth = s->depth;
	}
	free(lv->rel);
	mv_node_release(&lv->node);
}

/* ---- files ------------------------------------------------------------------ */

/* Opens files[fi]'s temporary file for writing in folder dfd, checking that
 * it is still the file restore created. -1: errno set, or 0 when something
 * else now stands there (*swapped set). */
static int open_tmp(const struct rfile *f, int dfd, int *swapped)
{
	char tmp[40];
	struct stat st;
	*swapped = 0;
	tmp_name(f->tag, tmp);
	int fd = openat(dfd, tmp, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_ino != f->ino ||
	    st.st_nlink != 1) {
		close(fd);
		*swapped = 1;
		errno = 0;
		return -1;
	}
	return fd;
}

/* Renames tmp to name in folder dfd; without replace, fails with EEXIST
 * when something appeared at name meanwhile (never replaces it). */
static int give_name(int dfd, const char *tmp, const char *name, int replace)
{
	if (replace)
		return renameat(dfd, tmp, dfd, name);
	return mv_rename_noreplace(dfd, tmp, name);
}

/* After giving a file its name in a folder others may write: is it still
 * the inode restore wrote? */
static int kept_name(int dfd, const char *name, uint64_t ino)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (uint64_t)st.st_ino == ino;
}

/* A file whose blobs are all written, or that failed: set its size and
 * metadata on fd and give it its real name, or remove it. fd (the temporary
 * file, open for writing, or -1) is closed; dfd is its folder. Called
 * without s->mu. Returns 0 or a fatal error (s->fatal set). */
static int file_done(struct rs *s, struct rfile *f, int fd, int dfd)
{
	const char *rel = s->dirs[f->dir].rel, *name = (const char *)f->node.name;
	char tmp[40];
	int rc = 0, swapped = 0;
	tmp_name(f->tag, tmp);
	if (!f->damaged && !f->failed && fd < 0) {
		fd = open_tmp(f, dfd, &swapped);
		if (fd < 0) {
			if (swapped) {
				report(
				    s, 1, rel, name,
				    "replaced by something else during the restore: not restored");
				count(s, &s->res->failed);
			} else {
				rc = target_error(s, rel, name, "cannot open", errno);
			}
			f->failed = 1;
		}
	}
	if (!f->damaged && !f->failed) {
		/* the size last: blobs were written in order of their offsets,
		 * zero runs skipped; trailing zeros become a hole */
		if (ftruncate(fd, (off_t)f->node.size) < 0) {
			rc = target_error(s, rel, name, "cannot set the size", errno);
			f->failed = 1;
		}
	}
	if (!f->damaged && !f->failed) {
		set_meta_fd(s, fd, rel, name, &f->node);
		int c = close(fd); /* where a network file system reports write errors */
		fd = -1;
		if (c < 0) {
			rc = target_error(s, rel, name, "cannot write", errno);
			f->failed = 1;
		}
	}
	if (!f->damaged && !f->failed) {
		if (give_name(dfd, tmp, name, f->replace) < 0) {
			if (errno == EEXIST) {
				report(s, 1, rel, name,
				       "appeared in the target during the restore: left as it was, "
				       "not "
				       "restored");
				count(s, &s->res->conflicts);
			} else {
				rc = target_error(s, rel, name, "cannot give the file its name",
				                  errno);
			}
			f->failed = 1;
		} else if (!s->dirs[f->dir].fresh && !kept_name(dfd, name, f->ino)) {
			report(s, 1, rel, name, "replaced by something else during the restore");
			count(s, &s->res->failed);
			f->state = F_GONE;
			return 0;
		}
	}
	if (fd >= 0)
		close(fd);
	if (f->damaged || f->failed) {
		if (!swapped)
			unlinkat(dfd, tmp, 0);
		f->state = F_GONE;
		if (f->damaged) {
			report(s, 1, rel, name,
			       "damaged: its content could not be restored intact (not written)");
			count(s, &s->res->damaged);
		}
		return rc;
	}
	f->state = F_DONE;
	pthread_mutex_lock(&s->mu);
	s->res->bytes += f->node.size;
	pthread_mutex_unlock(&s->mu);
	if ((f->node.mode & (S_ISUID | S_ISGID)) && !s->o->setuid)
		report(s, 0, rel, name,
		       "set-user-id or set-group-id bit not restored (use --setuid)");
	count(s, &s->res->files);
	return 0;
}

/* Compares an existing regular file with the snapshot's by content. */
/* Compares an existing regular file with the snapshot's by content (its
 * keyed content hash, cut as backup cuts); when equal, gives it the
 * snapshot's owner, mode and times. Returns 1 equal, 0 not, 2 when it
 * cannot be read (errno set), or MV_ERR_INTERRUPTED / MV_ERR_NOMEM. */
static int same_content(struct rs *s, struct mv_file_hasher *h, int pfd, const char *rel,
                        const char *name, const struct stat *st, const struct mv_node *n)
{
	uint8_t ch[32];
	uint64_t got;
	const struct mv_dicom_info *info;
	struct mv_error e = {0};
	struct stat st2;
	if ((uint64_t)st->st_size != n->size)
		return 0;
	if (!h)
		return MV_ERR_NOMEM;
	int fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? 0 : 2;
	int rc = fstat(fd, &st2) == 0 && st2.st_ino == st->st_ino && S_ISREG(st2.st_mode)
	             ? mv_file_hasher_run(h, fd, n->size, ch, &got, &info, NULL, NULL,
	                                  s->ev ? s->ev->cancel : NULL, &e)
	             : MV_ERR_IO;
	int same = rc == 0 && got == n->size && sodium_memcmp(ch, n->content, 32) == 0;
	if (same)
		set_meta_fd(s, fd, rel, name, n);
	close(fd);
	if (rc == MV_ERR_IO && e.saved_errno) {
		errno = e.saved_errno;
		return 2;
	}
	return rc == MV_ERR_INTERRUPTED || rc == MV_ERR_NOMEM ? rc : same;
}

/* Size and modification time as the snapshot's (what if-changed trusts). */
static int same_meta(const struct stat *st, const struct mv_node *n)
{
	return (uint64_t)st->st_size == n->size &&
	       (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec == n->mtime_ns;
}

/* Gives the existing regular file at name (the inode of st) the snapshot's
 * owner, mode and times. */
static void fix_meta(struct rs *s, int pfd, const char *rel, const char *name,
                     const struct stat *st, const struct mv_node *n)
{
	struct stat st2;
	int fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st2) == 0 && st2.st_ino == st->st_ino && S_ISREG(st2.st_mode))
		set_meta_fd(s, fd, rel, name, n);
	close(fd);
}

/* What stands at name in folder pfd, for a node of the snapshot. */
/* E_VERIFY: a regular file of the snapshot's size, to compare by content
 * (after planning, in parallel). */
enum existing { E_NONE, E_SAME, E_CONFLICT, E_REPLACE, E_VERIFY };

static enum existing existing(struct rs *s, int pfd, const char *rel, const char *name,
                              const struct mv_node *n, struct stat *st, int *rc)
{
	*rc = 0;
	if (s->stack[s->depth - 1].fresh)
		return E_NONE; /* a folder this restore made (mode 0700) held nothing */
	if (fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return E_NONE;
		*rc = target_error(s, rel, name, "cannot look at the existing file", errno);
		return E_CONFLICT;
	}
	enum mv_overwrite ow = s->o->overwrite;
	int same = 0;
	if (n->kind == MV_NODE_FILE && S_ISREG(st->st_mode)) {
		/* never: equal only by content (a file with the right size and
		 * time can still hold other bytes); if-changed trusts size and
		 * time, as documented */
		if (ow == MV_OVERWRITE_IF_CHANGED) {
			same = same_meta(st, n);
			if (same)
				fix_meta(s, pfd, rel, name, st, n);
		} else if (ow == MV_OVERWRITE_NEVER && (uint64_t)st->st_size == n->size) {
			return E_VERIFY;
		}
	} else if (n->kind == MV_NODE_SYMLINK && S_ISLNK(st->st_mode)) {
		char t[4097];
		ssize_t l = readlinkat(pfd, name, t, sizeof(t));
		same = ow != MV_OVERWRITE_ALWAYS && l == n->target_len &&
		       memcmp(t, n->target, (size_t)l) == 0;
	} else if (n->kind == MV_NODE_FIFO && S_ISFIFO(st->st_mode)) {
		same = ow != MV_OVERWRITE_ALWAYS;
	} else if ((n->kind == MV_NODE_CHR && S_ISCHR(st->st_mode)) ||
	           (n->kind == MV_NODE_BLK && S_ISBLK(st->st_mode))) {
		same = ow != MV_OVERWRITE_ALWAYS && (uint64_t)st->st_rdev == n->rdev;
	}
	if (same)
		return E_SAME;
	if (S_ISDIR(st->st_mode)) {
		report(s, 1, rel, name,
		       "a folder stands where the snapshot has a file: left as it was, not "
		       "restored");
		count(s, &s->res->conflicts);
		return E_CONFLICT;
	}
	if (ow == MV_OVERWRITE_NEVER) {
		report(s, 1, rel, name,
		       "exists and differs from the snapshot: left as it was, not restored (use "
		       "--overwrite always to replace it)");
		count(s, &s->res->conflicts);
		return E_CONFLICT;
	}
	return E_REPLACE;
}

/* Files by inode: a node with the inode, change time and content of a file
 * already planned is a hard link of it. */
static uint32_t *ino_slot(struct rs *s, const struct mv_node *n)
{
	size_t mask = s->inocap - 1, i = (size_t)(n->inode * 0x9E3779B97F4A7C15ull) & mask;
	for (;; i = (i + 1) & mask) {
		uint32_t v = s->byino[i];
		if (!v)
			return &s->byino[i];
		const struct mv_node *o = &s->files[v - 1].node;
		if (o->inode == n->inode && o->ctime_ns == n->ctime_ns && o->size == n->size &&
		    memcmp(o->content, n->content, 32) == 0)
			return &s->byino[i];
	}
}

static int ino_grow(struct rs *s)
{
	if (s->inocount * 2 < s->inocap)
		return 0;
	size_t nc = s->inocap ? s->inocap * 2 : 1024;
	uint32_t *old = s->byino;
	size_t oc = s->inocap;
	s->byino = calloc(nc, sizeof(*s->byino));
	if (!s->byino) {
		s->byino = old;
		return MV_ERR_NOMEM;
	}
	s->inocap = nc;
	for (size_t i = 0; i < oc; i++)
		if (old[i])
			*ino_slot(s, &s->files[old[i] - 1].node) = old[i];
	free(old);
	return 0;
}

/* The file added last is the first name of its inode: later nodes with
 * that inode are restored as hard links of it. */
static void first_name(struct rs *s, uint32_t *slot)
{
	if (slot) {
		*slot = (uint32_t)s->nfiles;
		s->inocount++;
	}
}

/* Adds a file entry (a copy of n) in the innermost folder. */
static int add_file(struct rs *s, const struct mv_node *n, const char *spath, int with_chunks,
                    struct rfile **out, struct mv_error *err)
{
	int rc = mv_grow(s->files, s->capfiles, s->nfiles + 1);
	if (rc || s->nfiles >= UINT32_MAX - 1)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	struct rfile *f = &s->files[s->nfiles];
	memset(f, 0, sizeof(*f));
	if (node_copy(&f->node, n, with_chunks))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	f->dir = s->stack[s->depth - 1].dir;
	f->tag = file_tag(s, spath);
	f->state = F_GONE;
	s->nfiles++;
	*out = f;
	return 0;
}

static int plan_file(struct rs *s, const char *spath, const struct mv_node *n, struct mv_error *err)
{
	const char *rel = s->stack[s->depth - 1].rel;
	char name[256], tmp[40];
	struct stat st;
	struct rfile *f;
	uint32_t *slot = NULL;
	int rc;

	memcpy(name, n->name, n->name_len);
	name[n->name_len] = '\0';
	if (n->flags & MV_NODE_F_UNREADABLE) {
		/* nothing of it is in the snapshot: not damage, not restored */
		if (s->ev && s->ev->warn)
			s->ev->warn(s->ev->arg, spath,
			            "was not readable when it was backed up: the snapshot holds no "
			            "content for it; not restored");
		s->res->unreadable++;
		return 0;
	}
	if ((rc = ensure_dirs(s, err)))
		return rc < 0 ? rc : 0;
	int pfd = s->stack[s->depth - 1].fd;

	if (n->inode) {
		if ((rc = ino_grow(s)))
			return mv_error_set(err, rc, 0, "out of memory");
		slot = ino_slot(s, n);
		if (*slot) {
			/* a hard link of a file planned before: linked at the end */
			uint32_t first = *slot;
			if ((rc = add_file(s, n, spath, 0, &f, err)))
				return rc;
			f->link_of = first;
			return 0;
		}
	}

	enum existing ex = existing(s, pfd, rel, name, n, &st, &rc);
	switch (ex) {
	case E_SAME:
	case E_VERIFY:
		/* kept: equal, or compared by content after planning (a hard
		 * link to it is made only if it proves equal) */
		if ((rc = add_file(s, n, spath, 0, &f, err)))
			return rc;
		f->state = ex == E_SAME ? F_DONE : F_VERIFY;
		f->ino = (uint64_t)st.st_ino;
		first_name(s, slot);
		if (ex == E_SAME)
			s->res->unchanged++;
		else
			s->nverify++;
		return 0;
	case E_CONFLICT:
		return rc ? copy_fatal(s, err) : 0;
	case E_NONE:
	case E_REPLACE:
		break;
	}
	int replace = ex == E_REPLACE;

	if ((rc = add_file(s, n, spath, 1, &f, err)))
		return rc;
	f->replace = (uint8_t)replace;
	uint32_t fi = (uint32_t)(s->nfiles - 1);
	tmp_name(f->tag, tmp);
	int fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* left by an interrupted restore of this snapshot: start again */
		unlinkat(pfd, tmp, 0);
		fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		rc = target_error(s, rel, name, "cannot create", e);
		return rc ? copy_fatal(s, err) : 0;
	}
	f->state = F_PLANNED;
	f->ino = (uint64_t)st.st_ino;
	first_name(s, slot);

	/* verify the chunk list against the recorded content hash */
	uint8_t ch[32];
	mv_content_hash(mv_repo_keys(s->r), n->size, (const uint8_t(*)[32])n->chunks, n->nchunks,
	                ch);
	if (memcmp(ch, n->content, 32)) {
		f->damaged = 1;
		report(s, 1, rel, name, "content hash does not match the chunk list");
	}
	uint64_t off = 0;
	for (uint32_t i = 0; i < n->nchunks && !f->damaged; i++) {
		struct mv_blob_loc loc;
		if (!mv_repo_index_lookup(s->r, n->chunks[i], &loc) || loc.pack == MV_PACK_NONE ||
		    loc.type != MV_T_DATA) {
			report(s, 1, rel, name, "a data blob is missing from the repository");
			f->damaged = 1;
			break;
		}
		if ((rc = mv_grow(s->refs, s->caprefs, s->nrefs + 1))) {
			close(fd);
			return mv_error_set(err, rc, 0, "out of memory");
		}
		s->refs[s->nrefs++] = (struct ref){loc.pack, loc.offset, loc.length, fi, i, off};
		f->remaining++;
		off += loc.raw_length;
	}
	if (!f->damaged && off != n->size) {
		f->damaged = 1;
		report(s, 1, rel, name, "chunk sizes do not add up to the file size");
	}
	if (f->damaged) {
		/* no blob of it is written */
		s->nrefs -= f->remaining;
		f->remaining = 0;
	}
	s->bytes_planned += n->size;
	/* a file without blobs to write (empty, or damaged) is finished now,
	 * through the descriptor that created it */
	if (f->remaining == 0) {
		rc = file_done(s, f, fd, pfd);
		return rc ? copy_fatal(s, err) : 0;
	}
	close(fd);
	return 0;
}

/* Symbolic links, fifos and device nodes: made under the temporary name,
 * given their metadata, then renamed. */
static int plan_other(struct rs *s, const char *spath, const struct mv_node *n,
                      struct mv_error *err)
{
	const char *rel;
	char name[256], tmp[40];
	struct stat st;
	int rc;

	if (n->kind == MV_NODE_SOCK)
		return 0;
	memcpy(name, n->name, n->name_len);
	name[n->name_len] = '\0';
	if ((n->kind == MV_NODE_CHR || n->kind == MV_NODE_BLK) && !s->o->devices) {
		char *p = tpath(s, s->stack[s->depth - 1].rel, name);
		if (s->ev && s->ev->note)
			s->ev->note(s->ev->arg, p ? p : name,
			            "device node not restored (use --devices)");
		free(p);
		s->res->not_restored++;
		return 0;
	}
	if ((rc = ensure_dirs(s, err)))
		return rc < 0 ? rc : 0;
	rel = s->stack[s->depth - 1].rel;
	int pfd = s->stack[s->depth - 1].fd;
	enum existing ex = existing(s, pfd, rel, name, n, &st, &rc);
	switch (ex) {
	case E_SAME:
		s->res->unchanged++;
		return 0;
	case E_CONFLICT:
		return rc ? copy_fatal(s, err) : 0;
	default:
		break;
	}
	tmp_name(file_tag(s, spath), tmp);
	unlinkat(pfd, tmp, 0);
	int made;
	if (n->kind == MV_NODE_SYMLINK) {
		char t[4097];
		memcpy(t, n->target, n->target_len);
		t[n->target_len] = '\0';
		made = symlinkat(t, pfd, tmp);
	} else if (n->kind == MV_NODE_FIFO) {
		made = mkfifoat(pfd, tmp, 0600);
	} else {
		made = s->is_root
		           ? mknodat(pfd, tmp, (n->kind == MV_NODE_CHR ? S_IFCHR : S_IFBLK) | 0600,
		                     (dev_t)n->rdev)
		           : (errno = EPERM, -1);
	}
	if (made < 0) {
		rc = target_error(s, rel, name, "cannot create", errno);
		return rc ? copy_fatal(s, err) : 0;
	}
	if (n->kind == MV_NODE_SYMLINK) {
		struct timespec ts[2];
		node_times(n, ts);
		if (s->is_root && fchownat(pfd, tmp, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) < 0)
			report(s, 1, rel, name, "cannot set owner");
		if (utimensat(pfd, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0)
			report(s, 1, rel, name, "cannot set modification time");
	} else {
		set_meta_special(s, pfd, tmp, rel, n);
	}
	if (give_name(pfd, tmp, name, ex == E_REPLACE) < 0) {
		int e = errno;
		unlinkat(pfd, tmp, 0);
		if (e == EEXIST) {
			report(s, 1, rel, name,
			       "appeared in the target during the restore: left as it was");
			count(s, &s->res->conflicts);
			return 0;
		}
		rc = target_error(s, rel, name, "cannot give it its name", e);
		return rc ? copy_fatal(s, err) : 0;
	}
	s->res->files++;
	return 0;
}

static int matches(const char *const *pats, size_t n, const char *path, const uint8_t *name,
                   size_t nlen)
{
	char nm[256];
	memcpy(nm, name, nlen);
	nm[nlen] = '\0';
	for (size_t i = 0; i < n; i++)
		if (fnmatch(pats[i], nm, 0) == 0 || fnmatch(pats[i], path, 0) == 0)
			return 1;
	return 0;
}

/* A folder (or part of one) whose tree could not be read: damage, or an I/O
 * error reading the repository, which is not. */
static void tree_lost(struct rs *s, const char *spath, int rc, const struct mv_error *e,
                      const char *what, const char *loss)
{
	int damage = rc == MV_ERR_INTEGRITY || rc == MV_ERR_NOTFOUND;
	if (s->ev && s->ev->warn) {
		char msg[700];
		snprintf(msg, sizeof(msg), "%s%s (%s); %s", damage ? "damaged: " : "", what,
		         e->msg[0] ? e->msg : mv_strerror(rc), loss);
		s->ev->warn(s->ev->arg, spath[0] ? spath : "/", msg);
	}
	if (damage)
		s->res->damaged++;
	else
		s->res->failed++;
}

static int cancel_check(struct rs *s)
{
	if (s->ev && s->ev->cancel && *s->ev->cancel)
		return mv_error_set(s->werr, MV_ERR_INTERRUPTED, 0, "interrupted");
	return 0;
}

/* Not this node, nor what a folder holds. */
static int skip(struct rs *s)
{
	int rc = cancel_check(s);
	return rc ? rc : MV_WALK_SKIP;
}

/* A node the walk reached: the contents of a folder go into the innermost
 * folder of the stack. The subpath's own node (start) is not a folder of
 * the target: a folder's contents go into the target itself. */
static int plan_node(struct rs *s, const struct mv_walk_item *it)
{
	const struct mv_node *n = it->node;
	const char *sp = it->path;
	struct mv_error *err = s->werr;
	int rc = 0;
	if (it->start) {
		if (n->kind == MV_NODE_DIR)
			return MV_WALK_CONTINUE;
		if (s->o->filter && !s->o->filter(s->o->filter_arg, sp, n))
			return MV_WALK_CONTINUE;
		return n->kind == MV_NODE_FILE ? plan_file(s, sp, n, err)
		                               : plan_other(s, sp, n, err);
	}
	if (s->o->nexcludes && matches(s->o->excludes, s->o->nexcludes, sp, n->name, n->name_len))
		return skip(s);
	/* included: an ancestor matched --include */
	int inc = s->stack[s->depth - 1].included || !s->o->nincludes ||
	          matches(s->o->includes, s->o->nincludes, sp, n->name, n->name_len);
	if (n->kind == MV_NODE_DIR) {
		if ((rc = push_dir(s, n, err)))
			return rc;
		s->stack[s->depth - 1].included = inc;
		/* without a selection every folder is made, empty ones too;
		 * with one, only those that receive a file */
		if (inc && s->eager && (rc = ensure_dirs(s, err)) != 0) {
			pop_dir(s);
			return rc < 0 ? rc : skip(s);
		}
	} else if (inc && (!s->o->filter || s->o->filter(s->o->filter_arg, sp, n))) {
		rc = n->kind == MV_NODE_FILE ? plan_file(s, sp, n, err) : plan_other(s, sp, n, err);
	}
	return rc ? rc : cancel_check(s);
}

/* The planning walk's events. A damaged part of a large directory loses
 * only the entries it held. */
static int plan_event(void *arg, const struct mv_walk_item *it)
{
	struct rs *s = arg;
	switch (it->event) {
	case MV_WALK_NODE:
		return plan_node(s, it);
	case MV_WALK_LEAVE:
		if (!it->start)
			pop_dir(s);
		return cancel_check(s);
	case MV_WALK_ERROR:
		if (it->error == MV_WALK_E_PART)
			tree_lost(s, it->path, it->rc, it->err,
			          "part of this directory cannot be read",
			          "the entries it held are missing");
		else
			tree_lost(s, it->path, it->rc, it->err, "directory cannot be read",
			          "its contents are missing");
		return MV_WALK_CONTINUE;
	default:
		return MV_WALK_CONTINUE;
	}
}

/* ---- writing ---------------------------------------------------------------- */

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return (x->file > y->file) - (x->file < y->file);
}

static int all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t z[4096];
	while (n >= sizeof(z)) {
		if (memcmp(p, z, sizeof(z)))
			return 0;
		p += sizeof(z);
		n -= sizeof(z);
	}
	return memcmp(p, z, n) == 0;
}

/* Folder dir, opened below the target and checked to be the one restore
 * made or opened (a folder moved or replaced meanwhile fails with ESTALE). */
static int open_dir(struct rs *s, uint32_t dir, int flags)
{
	struct stat st;
	int fd = mv_open_beneath(s->rootfd, s->dirs[dir].rel, flags | O_DIRECTORY, 0);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != s->dirs[dir].dev ||
	    (uint64_t)st.st_ino != s->dirs[dir].ino) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

/* The folder dir, opened below the target (cached per worker). */
static int dir_fd(struct rs *s, struct dircache *dc, uint32_t dir)
{
	if (dc->fd >= 0 && dc->dir == dir)
		return dc->fd;
	if (dc->fd >= 0)
		close(dc->fd);
	dc->dir = dir;
	dc->fd = open_dir(s, dir, O_PATH);
	return dc->fd;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = pwrite(fd, p + done, n - done, (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

/* Writes one decoded blob to file f at off, skipping runs of zero blocks:
 * the file is sized with ftruncate at the end, so they read back as zeros
 * and the restored file is as sparse as the original. The temporary file is
 * opened when there is something to write; *fdp (-1 or the descriptor) is
 * left open for the caller. Returns 0, or a fatal error; a failure of this
 * file alone sets f->failed. */
static int write_blob(struct rs *s, struct rfile *f, int dfd, const uint8_t *p, size_t n,
                      uint64_t off, int *fdp)
{
	enum { BLK = 4096 };
	const char *rel = s->dirs[f->dir].rel, *name = (const char *)f->node.name;
	size_t i = 0;
	while (i < n) {
		size_t len = n - i < BLK ? n - i : BLK;
		if (all_zero(p + i, len)) {
			i += len;
			continue;
		}
		size_t j = i + len;
		while (j < n) {
			size_t l2 = n - j < BLK ? n - j : BLK;
			if (all_zero(p + j, l2))
				break;
			j += l2;
		}
		if (*fdp < 0) {
			int swapped;
			if (dfd < 0 || (*fdp = open_tmp(f, dfd, &swapped)) < 0) {
				f->failed = 1;
				if (dfd >= 0 && swapped) {
					report(s, 1, rel, name,
					       "replaced by something else during the restore: not "
					       "restored");
					count(s, &s->res->failed);
					return 0;
				}
				return target_error(s, rel, name, "cannot open", errno);
			}
		}
		if (pwrite_all(*fdp, p + i, j - i, off + i) < 0) {
			f->failed = 1;
			return target_error(s, rel, name, "cannot write", errno);
		}
		i = j;
	}
	return 0;
}

/* The files of refs[a..b) could not be read from the repository: each is
 * named once, counted as failed, and its temporary file removed when it had
 * nothing else to wait for. */
static void fail_unread(struct rs *s, struct dircache *dc, size_t a, size_t b,
                        const struct mv_error *e)
{
	for (size_t k = a; k < b; k++) {
		struct rfile *f = &s->files[s->refs[k].file];
		pthread_mutex_lock(&s->mu);
		int first = !f->failed && !f->damaged;
		f->failed = 1;
		int last = --f->remaining == 0;
		pthread_mutex_unlock(&s->mu);
		if (first) {
			report(s, 1, s->dirs[f->dir].rel, (const char *)f->node.name,
			       "could not be read from the repository (%s): not restored", e->msg);
			count(s, &s->res->failed);
		}
		if (last)
			file_done(s, f, -1, dir_fd(s, dc, f->dir));
	}
}

/* A worker's state, kept from task to task: its folder handle, pack
 * reader, the blobs wanted from the pack it reads (each once: first[i] is
 * the first of the refs using blob i) and its file hasher. */
struct rworker {
	struct dircache dc;
	struct mv_pack_reader *pr;
	struct mv_pack_want *w;
	size_t capw;
	size_t *first;
	size_t capf;
	struct mv_file_hasher *h;
};

/* A task: refs[a..b) (one pack), or files[a..b) to compare. */
struct rtask {
	struct rs *s;
	size_t a, b;
};

/* The callback's view of the pack being read. */
struct rpack {
	struct rs *s;
	struct rworker *rw;
};

static int stopping(struct rs *s)
{
	pthread_mutex_lock(&s->mu);
	int f = s->fatal;
	pthread_mutex_unlock(&s->mu);
	return f;
}

/* Blob i of the pack: written to every place that uses it. */
static int restore_blob(void *arg, size_t i, int brc, const uint8_t *plain, size_t plen,
                        const struct mv_error *e)
{
	struct rpack *rp = arg;
	struct rs *s = rp->s;
	struct rworker *rw = rp->rw;
	size_t a = rw->first[i], b = rw->first[i + 1];
	if (stopping(s))
		return MV_ERR_INTERRUPTED;
	if (brc == MV_ERR_IO) {
		/* the repository could not be read (an I/O error): its files are
		 * not restored, but that is not damage */
		fail_unread(s, &rw->dc, a, b, e);
		return 0;
	}
	const struct ref *rf = &s->refs[a];
	const uint8_t *id = s->files[rf->file].node.chunks[rf->chunk];
	for (size_t k = a; k < b; k++) {
		struct rfile *f = &s->files[s->refs[k].file];
		int ok = brc == 0 && !memcmp(f->node.chunks[s->refs[k].chunk], id, 32);
		int fd = -1, frc = 0;
		int dfd = dir_fd(s, &rw->dc, f->dir);
		if (ok && !f->failed && !f->damaged)
			frc = write_blob(s, f, dfd, plain, plen, s->refs[k].file_off, &fd);
		pthread_mutex_lock(&s->mu);
		if (!ok)
			f->damaged = 1;
		s->bytes_done += plen;
		int last = --f->remaining == 0;
		pthread_mutex_unlock(&s->mu);
		if (frc == 0 && last)
			frc = file_done(s, f, fd, dfd); /* metadata through fd */
		else if (fd >= 0)
			close(fd);
		if (frc)
			break;
	}
	return 0;
}

/* Reads the blobs of refs[a..b) from their pack (one read for all) and
 * writes them. Fatal errors go to s->fatal. */
static int restore_pack(void *arg, unsigned worker, struct mv_error *err)
{
	struct rtask *t = arg;
	struct rs *s = t->s;
	struct rworker *rw = &s->workers[worker];
	(void)err;
	if (stopping(s))
		return 0;
	/* The AEAD binds each blob to its id; the keyed hash is not computed a
	 * second time here (check --read-data does). */
	if (!rw->pr && !(rw->pr = mv_pack_reader_new(0))) {
		set_fatal(s, MV_ERR_NOMEM, "out of memory");
		return 0;
	}
	/* refs to the same blob are adjacent: each blob wanted once */
	size_t n = 0;
	for (size_t i = t->a; i < t->b; i++) {
		const struct ref *rf = &s->refs[i];
		if (i > t->a && rf->offset == s->refs[i - 1].offset)
			continue;
		if (mv_grow(rw->w, rw->capw, n + 1) || mv_grow(rw->first, rw->capf, n + 2)) {
			set_fatal(s, MV_ERR_NOMEM, "out of memory");
			return 0;
		}
		rw->w[n] = (struct mv_pack_want){.id = s->files[rf->file].node.chunks[rf->chunk],
		                                 .type = MV_T_DATA,
		                                 .offset = rf->offset,
		                                 .length = rf->length};
		rw->first[n++] = i;
	}
	rw->first[n] = t->b;
	struct rpack rp = {s, rw};
	struct mv_pack_status st;
	struct mv_error e = {0};
	uint8_t pid[32];
	mv_repo_index_pack_id(s->r, s->refs[t->a].pack, pid);
	int rc = mv_pack_read(rw->pr, s->r, pid, 0, rw->w, n, 0, restore_blob, &rp, &st, &e);
	if (rc == MV_ERR_NOMEM)
		set_fatal(s, rc, "out of memory");
	return 0;
}

/* Hard links: each made to the file it links to, once that one has its
 * name. */
static void make_links(struct rs *s)
{
	struct dircache da = {0, -1}, db = {0, -1};
	for (size_t i = 0; i < s->nfiles && !s->fatal; i++) {
		struct rfile *l = &s->files[i];
		if (!l->link_of)
			continue;
		const struct rfile *f = &s->files[l->link_of - 1];
		const char *rel = s->dirs[l->dir].rel, *name = (const char *)l->node.name;
		struct stat st;
		char tmp[40];
		if (f->state != F_DONE) {
			report(s, 1, rel, name,
			       "a hard link of '%s', which was not restored: not restored",
			       (const char *)f->node.name);
			count(s, &s->res->failed);
			continue;
		}
		int fd = dir_fd(s, &da, f->dir), ld = dir_fd(s, &db, l->dir);
		if (fd < 0 || ld < 0 ||
		    fstatat(fd, (const char *)f->node.name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (uint64_t)st.st_ino != f->ino) {
			report(s, 1, rel, name, "cannot make the hard link: its file was moved");
			count(s, &s->res->failed);
			continue;
		}
		int exists = fstatat(ld, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (exists) {
			/* the link, or a copy equal in content (an older restore) */
			int same = (uint64_t)st.st_ino == f->ino;
			if (!same && s->o->overwrite == MV_OVERWRITE_IF_CHANGED &&
			    S_ISREG(st.st_mode))
				same = same_meta(&st, &l->node); /* what if-changed trusts */
			if (!same && s->o->overwrite == MV_OVERWRITE_NEVER && S_ISREG(st.st_mode))
				same =
				    (s->hasher || (s->hasher = mv_file_hasher_new(s->r)))
				        ? same_content(s, s->hasher, ld, rel, name, &st, &l->node)
				        : MV_ERR_NOMEM;
			if (same < 0) {
				set_fatal(s, same,
				          same == MV_ERR_NOMEM ? "out of memory" : "interrupted");
				break;
			}
			if (same == 1) {
				s->res->unchanged++;
				continue;
			}
			if (s->o->overwrite == MV_OVERWRITE_NEVER || S_ISDIR(st.st_mode)) {
				report(
				    s, 1, rel, name,
				    "exists and is not the hard link the snapshot has: left as it "
				    "was (use --overwrite always to replace it)");
				count(s, &s->res->conflicts);
				continue;
			}
		}
		tmp_name(l->tag, tmp);
		unlinkat(ld, tmp, 0);
		if (linkat(fd, (const char *)f->node.name, ld, tmp, 0) < 0 ||
		    give_name(ld, tmp, name, exists) < 0) {
			int e = errno;
			unlinkat(ld, tmp, 0);
			if (e == EEXIST) {
				report(s, 1, rel, name,
				       "appeared in the target during the restore: left as it was");
				count(s, &s->res->conflicts);
			} else {
				target_error(s, rel, name, "cannot make the hard link", e);
			}
			continue;
		}
		s->res->files++;
	}
	if (da.fd >= 0)
		close(da.fd);
	if (db.fd >= 0)
		close(db.fd);
}

/* After an interruption or a fatal error: no temporary file stays. */
static void remove_partial(struct rs *s)
{
	struct dircache dc = {0, -1};
	char tmp[40];
	for (size_t i = 0; i < s->nfiles; i++) {
		struct rfile *f = &s->files[i];
		if (f->state != F_PLANNED)
			continue;
		int dfd = dir_fd(s, &dc, f->dir);
		tmp_name(f->tag, tmp);
		if (dfd >= 0)
			unlinkat(dfd, tmp, 0);
		f->state = F_GONE;
	}
	if (dc.fd >= 0)
		close(dc.fd);
}

/* Folder metadata last, deepest first, so that their times stick. */
static void set_dir_meta(struct rs *s)
{
	for (size_t i = s->ndirs; i-- > 1;) {
		int fd = open_dir(s, (uint32_t)i, O_RDONLY);
		if (fd < 0) {
			char eb[128];
			report(s, 1, s->dirs[i].rel, NULL, "cannot set owner, mode and time: %s",
			       errno == ESTALE ? "moved or replaced during the restore"
			                       : mv_errno_str(errno, eb, sizeof(eb)));
			continue;
		}
		set_meta_fd(s, fd, s->dirs[i].rel, NULL, &s->dirs[i].node);
		close(fd);
	}
}

/* Opens the target, making it and its missing parents (like mkdir -p)
 * through links no other user can change (mv_open_trusted_dir), and takes
 * its lock. Returns the descriptor or an error. */
static int open_target(const char *target, struct mv_error *err)
{
	int rc = mv_open_trusted_dir(target, 1, err);
	if (rc < 0)
		return rc;
	/* one restore at a time into a target: two would trip over each
	 * other's files */
	if (flock(rc, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(rc);
		rc = e == EWOULDBLOCK
		         ? mv_error_set(err, MV_ERR_LOCKED, 0,
		                        "another restore is writing into '%s': wait until it ends",
		                        target)
		         : mv_error_set(err, MV_ERR_IO, e, "cannot lock '%s'", target);
	}
	return rc;
}

/* Compares the existing files of the snapshot's sizes with the snapshot,
 * on worker threads (planning only noted them: reading them all in the
 * planning walk made a re-run as slow as the restore). An equal one is kept
 * (and gets the snapshot's metadata); one that differs is named and kept. */
static int verify_files(void *arg, unsigned worker, struct mv_error *err)
{
	struct rtask *t = arg;
	struct rs *s = t->s;
	struct rworker *rw = &s->workers[worker];
	struct stat st;
	(void)err;
	if (!rw->h && !(rw->h = mv_file_hasher_new(s->r))) {
		set_fatal(s, MV_ERR_NOMEM, "out of memory");
		return 0;
	}
	for (size_t i = t->a; i < t->b && !stopping(s); i++) {
		struct rfile *f = &s->files[i];
		if (f->state != F_VERIFY)
			continue;
		const char *rel = s->dirs[f->dir].rel, *name = (const char *)f->node.name;
		int dfd = dir_fd(s, &rw->dc, f->dir), same = 0;
		const char *why = NULL;
		if (dfd < 0 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			why =
			    "disappeared during the restore: not restored (run the restore again)";
		else if ((uint64_t)st.st_ino != f->ino)
			why = "replaced by something else during the restore: left as it was, not "
			      "restored";
		else
			same = same_content(s, rw->h, dfd, rel, name, &st, &f->node);
		if (same < 0) {
			set_fatal(s, same, same == MV_ERR_NOMEM ? "out of memory" : "interrupted");
			break;
		}
		f->state = same == 1 ? F_DONE : F_GONE;
		if (same == 1) {
			count(s, &s->res->unchanged);
			continue;
		}
		if (same == 2) {
			char eb[128];
			report(
			    s, 1, rel, name,
			    "cannot be read to compare it with the snapshot (%s): left as it was",
			    mv_errno_str(errno, eb, sizeof(eb)));
			count(s, &s->res->failed);
			continue;
		}
		report(s, 1, rel, name, "%s",
		       why ? why
		           : "exists and differs from the snapshot: left as it was, not restored "
		             "(use --overwrite always to replace it)");
		count(s, &s->res->conflicts);
	}
	return 0;
}

/* Reports progress every 200 ms until the pool is idle; a cancellation
 * stops the restore. */
static void wait_pool(struct rs *s, struct mv_pool *pool)
{
	const struct mv_events *ev = s->ev;
	struct mv_progress prog = {.files_total = s->nfiles, .bytes_total = s->bytes_planned};
	for (int idle = 0; !idle;) {
		struct timespec dl;
		mv_deadline_in(&dl, 200000000L); /* a progress report every 200 ms */
		idle = mv_pool_wait_idle(pool, &dl);
		pthread_mutex_lock(&s->mu);
		if (ev && ev->cancel && *ev->cancel && !s->fatal) {
			s->fatal = MV_ERR_INTERRUPTED;
			mv_error_set(&s->ferr, MV_ERR_INTERRUPTED, 0, "interrupted");
		}
		prog.bytes_done = s->bytes_done;
		prog.files_done = s->res->files + s->res->unchanged + s->res->damaged +
		                  s->res->failed + s->res->conflicts;
		pthread_mutex_unlock(&s->mu);
		if (ev && ev->progress)
			ev->progress(ev->arg, &prog);
	}
}

/* Runs fn on the n tasks t on the workers (o->threads, or one per CPU, at
 * most 64), reporting progress. Fatal errors are in s->fatal. */
static int run_tasks(struct rs *s, mv_task_fn fn, struct rtask *t, size_t n, struct mv_error *err)
{
	struct mv_pool *pool = NULL;
	unsigned nt = s->o->threads > 0 ? (unsigned)s->o->threads : mv_pool_default_threads(64);
	if (nt > 64)
		nt = 64;
	if (!s->workers) {
		s->workers = calloc(64, sizeof(*s->workers));
		if (!s->workers)
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		for (size_t i = 0; i < 64; i++)
			s->workers[i].dc.fd = -1;
	}
	/* every task queued at once: the calling thread reports progress */
	int rc = mv_pool_start(nt, n ? n : 1, NULL, &pool, err);
	for (size_t i = 0; i < n && !rc; i++)
		rc = mv_pool_submit(pool, fn, &t[i], err);
	if (!rc)
		wait_pool(s, pool);
	int frc = mv_pool_finish(pool, rc ? NULL : err);
	return rc ? rc : frc;
}

/* The tasks: refs grouped by pack, or files in batches of 8. */
static int make_tasks(struct rs *s, int by_pack, struct rtask **out, size_t *nout)
{
	struct rtask *t = NULL;
	size_t n = 0, cap = 0, end = by_pack ? s->nrefs : s->nfiles;
	*out = NULL;
	*nout = 0;
	for (size_t a = 0, b; a < end; a = b) {
		b = a + 1;
		if (by_pack)
			while (b < end && s->refs[b].pack == s->refs[a].pack)
				b++;
		else
			b = end - a < 8 ? end : a + 8;
		if (mv_grow(t, cap, n + 1)) {
			free(t);
			return MV_ERR_NOMEM;
		}
		t[n++] = (struct rtask){s, a, b};
	}
	*out = t;
	*nout = n;
	return 0;
}

static void free_workers(struct rs *s)
{
	for (size_t i = 0; s->workers && i < 64; i++) {
		struct rworker *rw = &s->workers[i];
		if (rw->dc.fd >= 0)
			close(rw->dc.fd);
		mv_pack_reader_free(rw->pr);
		mv_file_hasher_free(rw->h);
		free(rw->w);
		free(rw->first);
	}
	free(s->workers);
	s->workers = NULL;
}

/* Compares the existing files (verify) or writes the blobs of every pack. */
static int run_phase(struct rs *s, int by_pack, struct mv_error *err)
{
	struct rtask *t;
	size_t n;
	if (make_tasks(s, by_pack, &t, &n))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	int rc = run_tasks(s, by_pack ? restore_pack : verify_files, t, n, err);
	free(t);
	free_workers(s);
	return rc;
}

int mv_restore(struct mv_repo *r, const struct mv_snapshot *snap, const struct mv_restore_opts *o,
               const struct mv_events *ev, struct mv_restore_result *res, struct mv_error *err)
{
	struct rs s = {.r = r,
	               .o = o,
	               .ev = ev,
	               .res = res,
	               .is_root = geteuid() == 0,
	               .snap_id = snap->id,
	               .target = o->target,
	               .rootfd = -1};
	int rc;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(res, 0, sizeof(*res));
	pthread_mutex_init(&s.mu, NULL);
	s.eager = !o->filter;
	if (!o->target || !o->target[0]) {
		rc = mv_error_set(err, MV_ERR_USAGE, 0, "no target directory");
		goto out;
	}
	if ((rc = open_target(o->target, err)) < 0)
		goto out;
	s.rootfd = rc;

	/* the target is folder 0 and the first level of the stack */
	s.dirs = calloc(1, sizeof(*s.dirs));
	s.stack[0].rel = strdup("");
	if (!s.dirs || !s.stack[0].rel || !(s.dirs[0].rel = strdup(""))) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	s.ndirs = s.capdirs = 1;
	if (note_dir(&s, &s.dirs[0], s.rootfd, 0) < 0) {
		rc = mv_error_set(err, MV_ERR_IO, errno, "cannot open '%s'", o->target);
		goto out;
	}
	s.stack[0].fd = s.rootfd;
	s.depth = s.open_depth = 1;

	/* plan: create folders and temporary files, collect blob references */
	struct mv_walk_opts wo = {.subpath = o->subpath};
	s.werr = err;
	rc = mv_walk_tree(r, snap->tree, &wo, plan_event, &s, err);
	while (s.depth > 1)
		pop_dir(&s);
	if (rc)
		goto out;

	if (s.nverify && (rc = run_phase(&s, 0, err)))
		goto out;
	if (s.nrefs && !s.fatal) {
		qsort(s.refs, s.nrefs, sizeof(*s.refs), ref_cmp);
		if ((rc = run_phase(&s, 1, err)))
			goto out;
	}
	if (s.fatal) {
		rc = s.fatal;
		if (err)
			*err = s.ferr;
		goto out;
	}
	make_links(&s);
	if (s.fatal) {
		rc = s.fatal;
		if (err)
			*err = s.ferr;
		goto out;
	}
	set_dir_meta(&s);
	if (res->damaged)
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                  "%llu files could not be restored intact",
		                  (unsigned long long)res->damaged);
	else if (res->failed || res->conflicts)
		rc = mv_error_set(err, MV_ERR_PARTIAL, 0,
		                  "%llu files were not restored (named above)",
		                  (unsigned long long)(res->failed + res->conflicts));
out:
	if (rc && rc != MV_ERR_INTEGRITY && rc != MV_ERR_PARTIAL)
		remove_partial(&s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	while (s.depth > 1)
		pop_dir(&s);
	free(s.stack[0].rel);
	for (size_t i = 0; i < s.nfiles; i++)
		mv_node_release(&s.files[i].node);
	free(s.files);
	free(s.refs);
	free(s.byino);
	for (size_t i = 0; i < s.ndirs; i++)
		free(s.dirs[i].rel);
	free(s.dirs);
	mv_file_hasher_free(s.hasher);
	if (s.rootfd >= 0)
		close(s.rootfd);
	free_workers(&s);
	pthread_mutex_destroy(&s.mu);
	return rc;
}
