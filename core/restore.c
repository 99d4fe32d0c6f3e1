/* Restore: walk the snapshot's trees, create directories and files, then
 * read each needed pack once, in order, on worker threads, and write every
 * blob to the places that use it. Each blob is authenticated and its id
 * recomputed; a damaged blob fails only the files that use it. */
#include "core/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/index.h"

struct rfile {
	char *path;
	struct mv_node node; /* owned copy: chunks, content, metadata */
	uint32_t remaining;  /* blob writes still to do */
	int damaged;
	int created;
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

struct rdir {
	char *path;
	struct mv_node node;
};

struct rs {
	struct mv_repo *r;
	const struct mv_restore_opts *o;
	const struct mv_events *ev;
	struct mv_restore_result *res;
	int is_root;

	struct rfile *files;
	size_t nfiles, capfiles;
	struct ref *refs;
	size_t nrefs, caprefs;
	struct rdir *dirs;
	size_t ndirs, capdirs;

	/* the stack of directories being walked, created on demand */
	struct {
		char *path;
		int created;
		size_t dir; /* index in dirs when created */
	} stack[600];
	int depth;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next_ref; /* next group start for workers */
	int active;
	uint64_t bytes_done;
	int fatal;
	struct mv_error ferr;
};

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 64;
	void *np = realloc(*p, nc * size);
	if (!np)
		return MV_ERR_NOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

static void warn(struct rs *s, const char *path, const char *msg)
{
	if (s->ev && s->ev->warn)
		s->ev->warn(s->ev->arg, path, msg);
}

static int node_copy(struct mv_node *dst, const struct mv_node *src)
{
	*dst = *src;
	dst->name = NULL;
	dst->chunks = NULL;
	dst->target = NULL;
	if (src->nchunks) {
		dst->chunks = malloc((size_t)src->nchunks * 32);
		if (!dst->chunks)
			return MV_ERR_NOMEM;
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

/* Sets size (files), owner (when root), mode and times through fd, the
 * file or directory restored at path, and closes it. */
static void set_meta_fd(struct rs *s, int fd, const char *path, const struct mv_node *n)
{
	struct timespec ts[2];
	node_times(n, ts);
	/* the size last: blobs were written in order of their offsets
	 * (cheaper for the filesystem than into a pre-sized file), zero runs
	 * skipped; trailing zeros become a hole */
	if (n->kind == MV_NODE_FILE && ftruncate(fd, (off_t)n->size) < 0)
		warn(s, path, "cannot set the size");
	if (s->is_root && fchown(fd, n->uid, n->gid) < 0)
		warn(s, path, "cannot set owner");
	if (fchmod(fd, n->mode & 07777) < 0)
		warn(s, path, "cannot set mode");
	if (futimens(fd, ts) < 0)
		warn(s, path, "cannot set modification time");
	close(fd);
}

/* Sets owner (when root), mode and times. Files and directories are opened
 * without following a symbolic link, so that metadata never lands on what a
 * link points to; links, fifos and devices were just made at path by this
 * restore. */
static void set_meta(struct rs *s, const char *path, const struct mv_node *n)
{
	struct timespec ts[2];
	node_times(n, ts);
	if (n->kind == MV_NODE_FILE || n->kind == MV_NODE_DIR) {
		int fd = open(path, (n->kind == MV_NODE_DIR ? O_RDONLY | O_DIRECTORY : O_WRONLY) |
		                        O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			warn(s, path, "cannot set owner, mode and time");
			return;
		}
		set_meta_fd(s, fd, path, n);
		return;
	}
	if (s->is_root && lchown(path, n->uid, n->gid) < 0)
		warn(s, path, "cannot set owner");
	if (n->kind != MV_NODE_SYMLINK && chmod(path, n->mode & 07777) < 0)
		warn(s, path, "cannot set mode");
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		warn(s, path, "cannot set modification time");
}

static char *join(const char *a, const uint8_t *name, size_t len)
{
	size_t al = strlen(a);
	char *p = malloc(al + 1 + len + 1);
	if (!p)
		return NULL;
	memcpy(p, a, al);
	p[al] = '/';
	memcpy(p + al + 1, name, len);
	p[al + 1 + len] = '\0';
	return p;
}

/* Creates the directories of the stack that do not exist yet. */
static int ensure_dirs(struct rs *s, struct mv_error *err)
{
	for (int i = 0; i < s->depth; i++) {
		if (s->stack[i].created)
			continue;
		if (mkdir(s->stack[i].path, 0700) < 0) {
			struct stat st;
			if (errno != EEXIST)
				return mv_error_set(err, MV_ERR_IO, errno,
				                    "cannot create directory '%s'",
				                    s->stack[i].path);
			/* never write through a link (or anything else) that
			 * stands where the snapshot has a directory */
			if (lstat(s->stack[i].path, &st) < 0 || !S_ISDIR(st.st_mode))
				return mv_error_set(err, MV_ERR_IO, ENOTDIR,
				                    "refusing to restore into '%s'",
				                    s->stack[i].path);
		}
		s->stack[i].created = 1;
	}
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

static void file_done(struct rs *s, struct rfile *f, int fd);

/* Creates the file at path (O_EXCL: never through a link); an existing one
 * is kept or replaced as --overwrite says. Returns the descriptor, -1 when
 * kept (*rc 0) or not created (*rc 0, warned) or on error (*rc set). */
static int create_file(struct rs *s, const char *path, const struct mv_node *n, int *rc,
                       struct mv_error *err)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	*rc = 0;
	int fd = open(path, flags, 0600);
	if (fd >= 0)
		return fd;
	if (errno == EEXIST && lstat(path, &st) == 0) {
		if (s->o->overwrite == MV_OVERWRITE_NEVER ||
		    (s->o->overwrite == MV_OVERWRITE_IF_CHANGED && S_ISREG(st.st_mode) &&
		     (uint64_t)st.st_size == n->size &&
		     (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec ==
		         n->mtime_ns)) {
			s->res->skipped++;
			return -1;
		}
		if (unlink(path) < 0) {
			*rc = mv_error_set(err, MV_ERR_IO, errno, "cannot replace '%s'", path);
			return -1;
		}
		if ((fd = open(path, flags, 0600)) >= 0)
			return fd;
	}
	warn(s, path, "cannot create file");
	s->res->damaged++;
	return -1;
}

static int plan_file(struct rs *s, const char *path, const struct mv_node *n, struct mv_error *err)
{
	int rc = ensure_dirs(s, err);
	if (rc)
		return rc;
	int fd = create_file(s, path, n, &rc, err);
	if (fd < 0)
		return rc;

	if ((rc = grow((void **)&s->files, &s->capfiles, s->nfiles, sizeof(*s->files)))) {
		close(fd);
		return mv_error_set(err, rc, 0, "out of memory");
	}
	struct rfile *f = &s->files[s->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path || node_copy(&f->node, n))
		goto nomem;
	uint32_t fi = (uint32_t)s->nfiles++;

	/* verify the chunk list against the recorded content hash */
	uint8_t ch[32];
	mv_content_hash(s->r->keys, n->size, (const uint8_t(*)[32])n->chunks, n->nchunks, ch);
	if (memcmp(ch, n->content, 32)) {
		f->damaged = 1;
		warn(s, path, "content hash does not match the chunk list");
	}
	uint64_t off = 0;
	for (uint32_t i = 0; i < n->nchunks; i++) {
		const struct mv_blob_loc *loc = mv_index_lookup(s->r->index, n->chunks[i]);
		if (!loc || loc->pack == MV_PACK_NONE || loc->type != MV_T_DATA) {
			if (!f->damaged)
				warn(s, path, "a data blob is missing from the repository");
			f->damaged = 1;
			continue;
		}
		if ((rc = grow((void **)&s->refs, &s->caprefs, s->nrefs, sizeof(*s->refs)))) {
			close(fd);
			return mv_error_set(err, rc, 0, "out of memory");
		}
		s->refs[s->nrefs++] = (struct ref){loc->pack, loc->offset, loc->length, fi, i, off};
		f->remaining++;
		off += loc->raw_length;
	}
	if (off != n->size && !f->damaged) {
		f->damaged = 1;
		warn(s, path, "chunk sizes do not add up to the file size");
	}
	s->res->bytes += n->size;
	/* a file without blobs to write (empty, or all of them damaged) is
	 * finished now, through the descriptor that created it */
	if (f->remaining == 0)
		file_done(s, f, fd);
	else
		close(fd);
	return 0;
nomem:
	close(fd);
	free(f->path);
	f->path = NULL;
	return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
}

static int plan_other(struct rs *s, const char *path, const struct mv_node *n, struct mv_error *err)
{
	int rc = ensure_dirs(s, err);
	struct stat st;
	if (rc)
		return rc;
	if (lstat(path, &st) == 0) {
		if (s->o->overwrite == MV_OVERWRITE_NEVER) {
			s->res->skipped++;
			return 0;
		}
		if (unlink(path) < 0)
			return mv_error_set(err, MV_ERR_IO, errno, "cannot replace '%s'", path);
	}
	if (n->kind == MV_NODE_SYMLINK) {
		char t[4096];
		memcpy(t, n->target, n->target_len);
		t[n->target_len] = '\0';
		if (symlink(t, path) < 0) {
			warn(s, path, "cannot create symbolic link");
			return 0;
		}
		set_meta(s, path, n);
	} else if (n->kind == MV_NODE_FIFO) {
		if (mkfifo(path, 0600) < 0) {
			warn(s, path, "cannot create fifo");
			return 0;
		}
		set_meta(s, path, n);
	} else if (n->kind == MV_NODE_CHR || n->kind == MV_NODE_BLK) {
		if (!s->is_root || mknod(path, (mode_t)n->mode, (dev_t)n->rdev) < 0) {
			warn(s, path, "cannot create device node (needs root)");
			return 0;
		}
		set_meta(s, path, n);
	}
	return 0;
}

static int push_dir(struct rs *s, const char *path, const struct mv_node *n, struct mv_error *err)
{
	if (s->depth >= (int)(sizeof(s->stack) / sizeof(s->stack[0])))
		return mv_error_set(err, MV_ERR_LIMIT, 0, "directory nesting too deep at '%s'",
		                    path);
	int rc = grow((void **)&s->dirs, &s->capdirs, s->ndirs, sizeof(*s->dirs));
	if (rc)
		return mv_error_set(err, rc, 0, "out of memory");
	char *p = strdup(path);
	if (!p)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	s->dirs[s->ndirs].path = p;
	if (n)
		node_copy(&s->dirs[s->ndirs].node, n);
	else
		memset(&s->dirs[s->ndirs].node, 0, sizeof(s->dirs[s->ndirs].node));
	s->stack[s->depth].path = p;
	s->stack[s->depth].created = 0;
	s->stack[s->depth].dir = s->ndirs++;
	s->depth++;
	return 0;
}

/* Walks the tree `id` whose contents go into directory `dst`; spath is
 * the path inside the snapshot. included: an ancestor matched --include.
 * A damaged part of a large directory loses only the entries it held. */
static int walk(struct rs *s, const uint8_t id[32], const char *dst, const char *spath,
                int included, struct mv_error *err)
{
	struct mv_tree_cursor c;
	const struct mv_node *n;
	struct mv_error e = {0};
	int rc = mv_tree_cursor_open(s->r, NULL, id, &c, &e);
	if (rc == MV_ERR_NOMEM)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc) {
		warn(s, spath[0] ? spath : "/",
		     "directory cannot be read (damaged tree); its contents are missing");
		s->res->damaged++;
		return 0;
	}
	while (!rc) {
		int got = mv_tree_cursor_next(&c, &n, &e);
		if (got == 0)
			break;
		if (got == MV_ERR_NOMEM) {
			rc = mv_error_set(err, got, 0, "out of memory");
			break;
		}
		if (got < 0) {
			warn(s, spath[0] ? spath : "/",
			     "part of this directory cannot be read (damaged tree); the entries it "
			     "held are missing");
			s->res->damaged++;
			continue;
		}
		char *sp = join(spath, n->name, n->name_len);
		char *dp = join(dst, n->name, n->name_len);
		if (!sp || !dp) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			goto next;
		}
		if (s->o->nexcludes &&
		    matches(s->o->excludes, s->o->nexcludes, sp, n->name, n->name_len))
			goto next;
		int inc = included || !s->o->nincludes ||
		          matches(s->o->includes, s->o->nincludes, sp, n->name, n->name_len);
		if (n->kind == MV_NODE_DIR) {
			if ((rc = push_dir(s, dp, n, err)))
				goto next;
			if (inc && (rc = ensure_dirs(s, err)))
				goto next;
			rc = walk(s, n->subtree, dp, sp, inc, err);
			s->depth--;
			if (!s->stack[s->depth].created) {
				/* nothing below was restored */
				free(s->dirs[s->ndirs - 1].path);
				mv_node_release(&s->dirs[s->ndirs - 1].node);
				s->ndirs--;
			} else {
				s->res->dirs++;
			}
		} else if (inc && (!s->o->filter || s->o->filter(s->o->filter_arg, sp, n))) {
			rc = n->kind == MV_NODE_FILE ? plan_file(s, dp, n, err)
			                             : plan_other(s, dp, n, err);
		}
	next:
		free(sp);
		free(dp);
		if (!rc && s->ev && s->ev->cancel && *s->ev->cancel)
			rc = mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
	}
	mv_tree_cursor_close(&c);
	return rc;
}

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

/* A file whose blobs are all written: metadata, or a report. fd is the
 * file, open for writing, or -1; it is closed. Called without s->mu (the
 * metadata system calls of different files run in parallel). */
static void file_done(struct rs *s, struct rfile *f, int fd)
{
	if (f->damaged) {
		if (fd >= 0)
			close(fd);
		warn(s, f->path, "damaged: its content could not be restored");
		pthread_mutex_lock(&s->mu);
		s->res->damaged++;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (fd >= 0)
		set_meta_fd(s, fd, f->path, &f->node);
	else
		set_meta(s, f->path, &f->node);
	pthread_mutex_lock(&s->mu);
	s->res->files++;
	pthread_mutex_unlock(&s->mu);
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = pwrite(fd, p + done, n - done, (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* Writes one decoded blob to a file at off, skipping runs of zero blocks:
 * the file is sized with ftruncate at the end, so they read back as zeros and the
 * restored file is as sparse as the original. The file is opened when there
 * is something to write; *fdp (-1 or the descriptor) is left open for the
 * caller. */
static int write_blob(const char *path, const uint8_t *p, size_t n, uint64_t off, int *fdp)
{
	enum { BLK = 4096 };
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
		if (*fdp < 0 && (*fdp = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return -1;
		if (pwrite_all(*fdp, p + i, j - i, off + i) < 0)
			return -1;
		i = j;
	}
	return 0;
}

static void *restore_worker(void *arg)
{
	struct rs *s = arg;
	struct mv_blob_ctx *ctx = mv_blob_ctx_new(3);
	uint8_t *buf = NULL;
	/* The AEAD binds each blob to its id; the keyed hash is not computed a
	 * second time here (check --read-data does). */
	if (ctx)
		mv_blob_ctx_verify_ids(ctx, 0);
	size_t bufcap = 0;
	char pname[65];

	for (;;) {
		pthread_mutex_lock(&s->mu);
		size_t a = s->next_ref;
		if (a >= s->nrefs || s->fatal || !ctx) {
			if (!ctx && !s->fatal) {
				s->fatal = MV_ERR_NOMEM;
				mv_error_set(&s->ferr, MV_ERR_NOMEM, 0, "out of memory");
			}
			pthread_mutex_unlock(&s->mu);
			break;
		}
		size_t b = a;
		while (b < s->nrefs && s->refs[b].pack == s->refs[a].pack)
			b++;
		s->next_ref = b;
		pthread_mutex_unlock(&s->mu);

		/* one read covering every blob needed from this pack */
		uint64_t lo = s->refs[a].offset, hi = 0;
		for (size_t i = a; i < b; i++)
			if ((uint64_t)s->refs[i].offset + s->refs[i].length > hi)
				hi = (uint64_t)s->refs[i].offset + s->refs[i].length;
		size_t span = (size_t)(hi - lo);
		struct mv_error e = {0};
		int rc = 0;
		if (span > bufcap) {
			uint8_t *nb = realloc(buf, span);
			if (!nb) {
				rc = MV_ERR_NOMEM;
			} else {
				buf = nb;
				bufcap = span;
			}
		}
		mv_hex(mv_index_pack_id(s->r->index, s->refs[a].pack), 32, pname);
		if (!rc)
			rc = s->r->be->ops->get(s->r->be, MV_FT_PACK, pname, lo, buf, span, &e);
		if (rc == MV_ERR_NOMEM) {
			pthread_mutex_lock(&s->mu);
			s->fatal = rc;
			mv_error_set(&s->ferr, rc, 0, "out of memory");
			pthread_mutex_unlock(&s->mu);
			break;
		}
		for (size_t i = a; i < b;) {
			/* refs to the same blob are adjacent: decode once */
			size_t j = i;
			while (j < b && s->refs[j].offset == s->refs[i].offset)
				j++;
			const struct ref *rf = &s->refs[i];
			const uint8_t *plain = NULL;
			size_t plen = 0;
			int brc = rc;
			if (!brc)
				brc = mv_blob_decode(ctx, s->r->keys, MV_T_DATA,
				                     s->files[rf->file].node.chunks[rf->chunk],
				                     buf + (rf->offset - lo), rf->length, &plain,
				                     &plen, &e);
			for (size_t k = i; k < j; k++) {
				struct rfile *f = &s->files[s->refs[k].file];
				int ok = brc == 0 &&
				         !memcmp(f->node.chunks[s->refs[k].chunk],
				                 s->files[rf->file].node.chunks[rf->chunk], 32);
				int fd = -1;
				if (ok &&
				    write_blob(f->path, plain, plen, s->refs[k].file_off, &fd) < 0)
					ok = 0;
				pthread_mutex_lock(&s->mu);
				if (!ok)
					f->damaged = 1;
				s->bytes_done += plen;
				int last = --f->remaining == 0;
				pthread_mutex_unlock(&s->mu);
				if (last)
					file_done(s, f, fd); /* metadata through fd: no reopen */
				else if (fd >= 0)
					close(fd);
			}
			i = j;
		}
		pthread_mutex_lock(&s->mu);
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_lock(&s->mu);
	s->active--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	free(buf);
	mv_blob_ctx_free(ctx);
	return NULL;
}

/* Finds the node at spath ("/a/b") below the root tree. */
static int find_sub(struct rs *s, const uint8_t root[32], const char *spath, struct mv_node *out,
                    struct mv_error *err)
{
	uint8_t cur[32];
	memcpy(cur, root, 32);
	const char *p = spath;
	memset(out, 0, sizeof(*out));
	out->kind = MV_NODE_DIR;
	memcpy(out->subtree, root, 32);
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t l = strcspn(p, "/");
		if (out->kind != MV_NODE_DIR)
			return mv_error_set(err, MV_ERR_NOTFOUND, 0, "'%s' is not in the snapshot",
			                    spath);
		struct mv_tree t;
		int rc = mv_repo_load_tree(s->r, NULL, cur, &t, err);
		if (rc)
			return rc;
		const struct mv_node *n = mv_tree_find(&t, (const uint8_t *)p, l);
		if (!n) {
			mv_tree_release(&t);
			return mv_error_set(err, MV_ERR_NOTFOUND, 0, "'%s' is not in the snapshot",
			                    spath);
		}
		mv_node_release(out);
		rc = node_copy(out, n);
		if (!rc && n->name_len) {
			out->name = malloc(n->name_len);
			if (out->name) {
				memcpy(out->name, n->name, n->name_len);
				out->name_len = n->name_len;
			} else
				rc = MV_ERR_NOMEM;
		}
		if (!rc && n->kind == MV_NODE_SYMLINK) {
			out->target = malloc(n->target_len);
			if (out->target)
				memcpy(out->target, n->target, n->target_len);
			else
				rc = MV_ERR_NOMEM;
		}
		mv_tree_release(&t);
		if (rc)
			return mv_error_set(err, rc, 0, "out of memory");
		memcpy(cur, out->subtree, 32);
		p += l;
	}
	return 0;
}

int mv_restore(struct mv_repo *r, const struct mv_snapshot *snap, const struct mv_restore_opts *o,
               const struct mv_events *ev, struct mv_restore_result *res, struct mv_error *err)
{
	struct rs s = {.r = r, .o = o, .ev = ev, .res = res, .is_root = geteuid() == 0};
	struct mv_node sub = {0};
	pthread_t th[64];
	int nt = 0, rc;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(res, 0, sizeof(*res));
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	if (!o->target || !o->target[0])
		return mv_error_set(err, MV_ERR_USAGE, 0, "no target directory");
	if (mkdir(o->target, 0700) < 0 && errno != EEXIST)
		return mv_error_set(err, MV_ERR_IO, errno, "cannot create '%s'", o->target);

	/* plan: create directories and files, collect blob references */
	const char *spath = o->subpath ? o->subpath : "";
	rc = find_sub(&s, snap->tree, spath, &sub, err);
	if (rc)
		goto out;
	size_t tl = strlen(o->target);
	while (tl > 1 && o->target[tl - 1] == '/')
		tl--;
	char *target = strndup(o->target, tl);
	if (!target) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	if (sub.kind == MV_NODE_DIR) {
		s.stack[0].path = target;
		s.stack[0].created = 1;
		s.depth = 1;
		char sp[PATH_MAX];
		snprintf(sp, sizeof(sp), "%s%s", spath[0] && spath[0] != '/' ? "/" : "", spath);
		size_t sl = strlen(sp);
		while (sl > 0 && sp[sl - 1] == '/')
			sp[--sl] = '\0';
		rc = walk(&s, sub.subtree, target, sp, 0, err);
	} else {
		char *dp = join(target, sub.name, sub.name_len);
		s.stack[0].path = target;
		s.stack[0].created = 1;
		s.depth = 1;
		rc = dp ? (sub.kind == MV_NODE_FILE ? plan_file(&s, dp, &sub, err)
		                                    : plan_other(&s, dp, &sub, err))
		        : mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		free(dp);
	}
	free(target);
	if (rc)
		goto out;

	if (s.nrefs)
		qsort(s.refs, s.nrefs, sizeof(*s.refs), ref_cmp);
	int want = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (want < 1)
		want = 1;
	if (want > 64)
		want = 64;
	for (; nt < want; nt++) {
		s.active++;
		if (pthread_create(&th[nt], NULL, restore_worker, &s) != 0) {
			s.active--;
			break;
		}
	}
	if (nt == 0) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "cannot start threads");
		goto out;
	}
	/* report progress while the workers run */
	struct mv_progress prog = {.files_total = s.nfiles, .bytes_total = res->bytes};
	pthread_mutex_lock(&s.mu);
	while (s.active > 0) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 200000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s.cv, &s.mu, &dl);
		if (ev && ev->cancel && *ev->cancel && !s.fatal) {
			s.fatal = MV_ERR_INTERRUPTED;
			mv_error_set(&s.ferr, MV_ERR_INTERRUPTED, 0, "interrupted");
		}
		prog.bytes_done = s.bytes_done;
		prog.files_done = res->files + res->damaged;
		if (ev && ev->progress) {
			pthread_mutex_unlock(&s.mu);
			ev->progress(ev->arg, &prog);
			pthread_mutex_lock(&s.mu);
		}
	}
	pthread_mutex_unlock(&s.mu);
	for (int i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	if (s.fatal) {
		rc = s.fatal;
		if (err)
			*err = s.ferr;
		goto out;
	}
	/* directories last, deepest first, so their times stick */
	for (size_t i = s.ndirs; i-- > 0;)
		set_meta(&s, s.dirs[i].path, &s.dirs[i].node);
	if (res->damaged)
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                  "%llu files could not be restored intact",
		                  (unsigned long long)res->damaged);
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (size_t i = 0; i < s.nfiles; i++) {
		free(s.files[i].path);
		free(s.files[i].node.chunks);
	}
	free(s.files);
	free(s.refs);
	for (size_t i = 0; i < s.ndirs; i++) {
		free(s.dirs[i].path);
		free(s.dirs[i].node.chunks);
	}
	free(s.dirs);
	mv_node_release(&sub);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
	return rc;
}
