/* Backup: walk -> (unchanged vs parent? reuse) -> chunk -> id -> dedup ->
 * compress + encrypt -> pack -> backend.
 *
 * The calling thread walks the paths in name order, reads files and cuts
 * them into chunks; worker threads hash, deduplicate, compress, encrypt and
 * pack them. A directory's tree is encoded when all its files' chunks are
 * done; a large directory is stored as parts of at most MV_TREE_PART_NODES
 * nodes as it is walked (FORMAT.md section 9.2), its names are read in
 * bounded batches and its parent-snapshot tree one part at a time, so the
 * memory in flight is bounded by the queue, the open packs and one part per
 * directory on the current path, whatever the size of a directory. */
#include "core/ops/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/medical/catalog.h"
#include "core/util/dirlist.h"
#include "core/repo/filechunk.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/lock.h"
#include "core/repo/packer.h"
#include "core/repo/reindex.h"
#include "core/repo/snapfind.h"
#include "core/ops/sourcecheck.h"
#include "core/ops/totals.h"
#include "core/util/grow.h"
#include "core/util/pool.h"

#define MAX_DEPTH   512
#define PROGRESS_NS 200000000LL

/* One file being read: the workers fill ids[] slots. Guarded by bk->mu. */
struct pfile {
	uint8_t (*ids)[32];
	size_t nids, cap;
	size_t pending; /* chunks queued but not done */
};

/* One chunk, a task of the pool. */
struct job {
	struct bk *b;
	uint8_t *data;
	size_t len;
	struct pfile *file;
	size_t slot;
};

struct bk {
	struct mv_repo *r;
	const struct mv_backup_opts *o;
	const struct mv_events *ev;
	struct mv_packer *packer;

	pthread_mutex_t mu;     /* pfiles, index, stats, failure */
	pthread_cond_t cv_done; /* a chunk is done */
	int failed;
	struct mv_error ferr;

	struct mv_pool *pool;      /* hashes, compresses, encrypts, packs chunks */
	struct mv_blob_ctx **ctxs; /* one per worker */
	unsigned nctxs;

	struct mv_snapshot_summary sum;
	struct mv_snapshot_error *errors;
	uint32_t nerrors;
	size_t caperrors;

	struct mv_file_chunker fc;      /* reads and cuts files */
	struct pfile *cur_file;         /* the file being read */
	struct mv_catalog_writer *cat;  /* this snapshot's catalog */
	struct mv_catalog_cursor *pcat; /* the parent's, for unchanged files */
	struct mv_progress prog;
	int64_t last_progress;
	struct mv_totals *totals; /* counts ahead, for progress */
	uint64_t *src;            /* files of each source path */
	size_t nsrc, nsrc_cap;
	char path[PATH_MAX + 256];

	/* Packs the index held before this run (numbers 0..nold): those this
	 * snapshot uses must still be listed before it is saved. */
	uint8_t *used;
	size_t nold;
	struct mv_index *verified; /* --force: blobs read back intact */
	struct mv_index *damaged;  /* --force: blobs whose copy is damaged, and where */
	uint64_t stored_again;     /* blobs whose copy was lost or damaged */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* Records the backup's first error and stops the pool (its queued chunks
 * are then dropped). */
static void fail(struct bk *b, const struct mv_error *e)
{
	pthread_mutex_lock(&b->mu);
	if (!b->failed) {
		b->failed = e->code ? e->code : MV_ERR_IO;
		b->ferr = *e;
		b->ferr.code = b->failed;
	}
	int code = b->failed;
	pthread_cond_broadcast(&b->cv_done);
	pthread_mutex_unlock(&b->mu);
	if (b->pool)
		mv_pool_cancel(b->pool, code, e->msg);
}

/* Whether the copy the index locates serves for deduplication (called
 * with b->mu held, returns with it held): 1 when it does (a blob of this
 * run, or in a pack that exists, read back intact under --force), 0 when
 * the blob is to be stored again (its location is then pending), or an
 * error (the copy could not be confirmed). */
static int copy_serves(struct bk *b, struct mv_blob_ctx *ctx, uint8_t type, const uint8_t id[32],
                       size_t len, struct mv_error *err)
{
	struct mv_blob_loc loc, now;
	(void)mv_repo_index_lookup(b->r, id, &loc);
	if (loc.pack == MV_PACK_NONE || loc.pack >= b->nold)
		return 1; /* stored by this run */
	if (!mv_repo_index_pack_missing(b->r, loc.pack)) {
		if (!b->o->force || mv_index_lookup(b->verified, id)) {
			b->used[loc.pack] = 1;
			return 1;
		}
		/* --force: read the copy back and authenticate it */
		const uint8_t *out;
		size_t olen;
		struct mv_error e = {0};
		pthread_mutex_unlock(&b->mu);
		int rc = mv_repo_read_blob(b->r, ctx, type, id, &out, &olen, &e);
		pthread_mutex_lock(&b->mu);
		if (rc == 0 && olen == len) {
			struct mv_blob_loc v = {.pack = MV_PACK_NONE};
			memcpy(v.id, id, 32);
			if (mv_index_add(b->verified, &v) < 0)
				return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			b->used[loc.pack] = 1;
			return 1;
		}
		if (rc && rc != MV_ERR_INTEGRITY && rc != MV_ERR_NOTFOUND) {
			if (err)
				*err = e;
			return rc;
		}
		if (mv_index_add(b->damaged, &loc) < 0)
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		/* damaged: stored again, unless another thread did meanwhile */
		if (mv_repo_index_lookup(b->r, id, &now) && now.pack != loc.pack)
			return 1;
	}
	loc.pack = MV_PACK_NONE;
	loc.type = type;
	loc.raw_length = (uint32_t)len;
	int rc = mv_repo_index_update(b->r, &loc);
	if (rc)
		return mv_error_set(err, rc, 0, "cannot update the index");
	b->stored_again++;
	return 0;
}

/* Stores one blob unless the index has a copy that serves. Thread-safe. */
static int store_blob(struct bk *b, struct mv_blob_ctx *ctx, uint8_t type, const uint8_t *data,
                      size_t len, uint8_t id[32], struct mv_error *err)
{
	const uint8_t *sealed;
	size_t slen;
	mv_blob_id(mv_repo_keys(b->r), data, len, id);
	struct mv_blob_loc loc = {.pack = MV_PACK_NONE, .type = type, .raw_length = (uint32_t)len};
	memcpy(loc.id, id, 32);
	pthread_mutex_lock(&b->mu);
	int rc = mv_repo_index_add(b->r, &loc);
	if (rc == 1)
		rc = copy_serves(b, ctx, type, id, len, err);
	else if (rc < 0)
		rc = mv_error_set(err, rc, 0, "out of memory");
	pthread_mutex_unlock(&b->mu);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return 0; /* deduplicated */
	rc = mv_blob_encode(ctx, mv_repo_keys(b->r), type, id, data, len, &sealed, &slen, err);
	if (rc)
		return rc;
	rc = mv_packer_add(b->packer, type, id, sealed, slen, len, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&b->mu);
	if (type == MV_T_DATA)
		b->sum.data_blobs++;
	else
		b->sum.tree_blobs++;
	b->sum.bytes_added += slen;
	pthread_mutex_unlock(&b->mu);
	return 0;
}

/* A task of the pool: stores one chunk and records its id in its file (a
 * chunk dropped after a failure or an interruption only releases it). */
static int chunk_task(void *arg, unsigned worker, struct mv_error *err)
{
	struct job *j = arg;
	struct bk *b = j->b;
	struct mv_error e = {0};
	uint8_t id[32];
	int rc;
	(void)err;
	if (mv_pool_stopped(b->pool))
		rc = mv_error_set(&e, MV_ERR_INTERRUPTED, 0, "interrupted");
	else
		rc = store_blob(b, b->ctxs[worker], MV_T_DATA, j->data, j->len, id, &e);
	free(j->data);
	if (rc)
		fail(b, &e);
	pthread_mutex_lock(&b->mu);
	if (!rc)
		memcpy(j->file->ids[j->slot], id, 32);
	j->file->pending--;
	pthread_cond_broadcast(&b->cv_done);
	pthread_mutex_unlock(&b->mu);
	free(j);
	return 0;
}

static int check_cancel(struct bk *b)
{
	struct mv_error e;
	if (b->ev && b->ev->cancel && *b->ev->cancel) {
		mv_error_set(&e, MV_ERR_INTERRUPTED, 0, "interrupted");
		fail(b, &e);
	}
	if (mv_lock_check(mv_repo_lock(b->r), &e))
		fail(b, &e);
	pthread_mutex_lock(&b->mu);
	int f = b->failed;
	pthread_mutex_unlock(&b->mu);
	return f;
}

static void progress(struct bk *b, int force)
{
	if (!b->ev || !b->ev->progress)
		return;
	int64_t t = now_ns();
	if (!force && t - b->last_progress < PROGRESS_NS)
		return;
	b->last_progress = t;
	b->prog.current = b->path;
	mv_totals_get(b->totals, &b->prog.files_total, &b->prog.bytes_total);
	b->ev->progress(b->ev->arg, &b->prog);
}

/* Queues one chunk of f for the pool, waiting while its queue is full. */
static int enqueue(struct bk *b, struct pfile *f, const uint8_t *data, size_t len)
{
	struct mv_error e = {0};
	struct job *j = malloc(sizeof(*j));
	uint8_t *copy = malloc(len ? len : 1);
	int rc = 0;
	if (!j || !copy)
		goto nomem;
	memcpy(copy, data, len);
	pthread_mutex_lock(&b->mu); /* workers write into f->ids */
	if ((rc = mv_grow(f->ids, f->cap, f->nids + 1)) != 0) {
		pthread_mutex_unlock(&b->mu);
		goto nomem;
	}
	*j = (struct job){.b = b, .data = copy, .len = len, .file = f, .slot = f->nids++};
	f->pending++;
	pthread_mutex_unlock(&b->mu);
	if ((rc = mv_pool_submit(b->pool, chunk_task, j, &e)) == 0)
		return 0;
	pthread_mutex_lock(&b->mu);
	f->pending--;
	pthread_mutex_unlock(&b->mu);
	free(copy);
	free(j);
	fail(b, &e);
	return rc;
nomem:
	free(j);
	free(copy);
	mv_error_set(&e, MV_ERR_NOMEM, 0, "out of memory");
	fail(b, &e);
	return MV_ERR_NOMEM;
}

static int add_error(struct bk *b, const char *path, const char *msg)
{
	if (b->ev && b->ev->warn)
		b->ev->warn(b->ev->arg, path, msg);
	if (b->nerrors >= MV_SNAP_MAX_LIST)
		return 0;
	if (mv_grow(b->errors, b->caperrors, (size_t)b->nerrors + 1))
		return MV_ERR_NOMEM;
	char *p = strdup(path), *m = strdup(msg);
	if (!p || !m) {
		free(p);
		free(m);
		return MV_ERR_NOMEM;
	}
	b->errors[b->nerrors++] = (struct mv_snapshot_error){p, m};
	return 0;
}

static int add_errno(struct bk *b, const char *path, const char *what, int e)
{
	char msg[256];
	char ebuf[128];
	snprintf(msg, sizeof(msg), "%s: %s", what, mv_errno_str(e, ebuf, sizeof(ebuf)));
	return add_error(b, path, msg);
}

/* Reads, chunks and queues one regular file; waits for nothing. */
/* One chunk of the file being read: queued for the workers. */
static int queue_chunk(void *arg, const uint8_t *p, size_t n)
{
	struct bk *b = arg;
	int rc = enqueue(b, b->cur_file, p, n);
	if (rc)
		return rc;
	b->prog.bytes_done += n;
	progress(b, 0);
	return check_cancel(b);
}

static int excluded(const struct bk *b, const char *name, const char *path)
{
	return mv_excluded(b->o->excludes, b->o->nexcludes, name, path);
}

static void node_from_stat(struct mv_node *n, const struct stat *st)
{
	n->mode = (uint32_t)st->st_mode;
	n->uid = (uint32_t)st->st_uid;
	n->gid = (uint32_t)st->st_gid;
	n->mtime_ns = ts_ns(&st->st_mtim);
	n->ctime_ns = ts_ns(&st->st_ctim);
	n->inode = (uint64_t)st->st_ino;
	n->rdev = (uint64_t)st->st_rdev;
	n->size = S_ISREG(st->st_mode) || S_ISLNK(st->st_mode) ? (uint64_t)st->st_size : 0;
	if (S_ISREG(st->st_mode))
		n->kind = MV_NODE_FILE;
	else if (S_ISDIR(st->st_mode))
		n->kind = MV_NODE_DIR;
	else if (S_ISLNK(st->st_mode))
		n->kind = MV_NODE_SYMLINK;
	else if (S_ISFIFO(st->st_mode))
		n->kind = MV_NODE_FIFO;
	else if (S_ISCHR(st->st_mode))
		n->kind = MV_NODE_CHR;
	else if (S_ISBLK(st->st_mode))
		n->kind = MV_NODE_BLK;
	else
		n->kind = MV_NODE_SOCK;
}

static int set_name(struct mv_node *n, const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 255)
		return MV_ERR_LIMIT;
	n->name = malloc(len);
	if (!n->name)
		return MV_ERR_NOMEM;
	memcpy(n->name, name, len);
	n->name_len = (uint16_t)len;
	return 0;
}

/* A file whose chunks are still in flight, finished at the directory's end. */
struct pending_node {
	size_t node;     /* index in the tree */
	struct pfile *f; /* heap: workers hold pointers to it */
};

/* Waits until no worker holds f, then frees it. */
static void pfile_free(struct bk *b, struct pfile *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&b->mu);
	while (f->pending)
		pthread_cond_wait(&b->cv_done, &b->mu);
	pthread_mutex_unlock(&b->mu);
	free(f->ids);
	free(f);
}

/* The directory being walked: the nodes of its current part, and the ids of
 * the parts already stored. */
struct dirstate {
	struct mv_tree tree;
	struct pending_node *pend;
	size_t npend, cappend;
	size_t est; /* bound on the current part's encoded size */
	uint8_t (*parts)[32];
	uint32_t nparts;
	size_t capparts;
	uint64_t nodes; /* nodes in the stored parts */
	size_t plen;    /* length of the directory's path in b->path */
	uint16_t last_len;
	uint8_t last[255]; /* the last name of the stored parts */
};

/* Writers close a part at MV_TREE_PART_NODES nodes or about this many
 * bytes, well below the blob size limit. */
#define PART_BYTES (8u << 20)

static int walk_dir(struct bk *b, size_t plen, struct mv_tree_cursor *parent, int depth,
                    uint8_t id[32]);
static int dir_room(struct bk *b, struct dirstate *d);
static int dir_add(struct bk *b, struct dirstate *d, struct mv_node *n);
static int open_parent(struct bk *b, const struct mv_node *old, struct mv_tree_cursor *c);

static int unchanged(const struct mv_node *old, const struct mv_node *n)
{
	return old && old->kind == MV_NODE_FILE && !old->flags && old->size == n->size &&
	       old->mtime_ns == n->mtime_ns && old->ctime_ns == n->ctime_ns &&
	       old->inode == n->inode;
}

/* Whether the repository still holds every chunk of an unchanged file (a
 * lost pack must not be inherited by every later snapshot: the file is read
 * again instead). */
static int blobs_present(struct bk *b, const struct mv_node *old)
{
	int ok = 1;
	pthread_mutex_lock(&b->mu);
	for (uint32_t i = 0; i < old->nchunks && ok; i++) {
		struct mv_blob_loc l;
		ok = mv_repo_index_lookup(b->r, old->chunks[i], &l) &&
		     !mv_repo_index_pack_missing(b->r, l.pack);
	}
	for (uint32_t i = 0; i < old->nchunks && ok; i++) {
		struct mv_blob_loc l;
		(void)mv_repo_index_lookup(b->r, old->chunks[i], &l);
		if (l.pack < b->nold)
			b->used[l.pack] = 1;
	}
	pthread_mutex_unlock(&b->mu);
	return ok;
}

static int copy_chunks(struct mv_node *n, const struct mv_node *old)
{
	n->nchunks = old->nchunks;
	if (old->nchunks) {
		n->chunks = malloc((size_t)old->nchunks * 32);
		if (!n->chunks)
			return MV_ERR_NOMEM;
		memcpy(n->chunks, old->chunks, (size_t)old->nchunks * 32);
	}
	memcpy(n->content, old->content, 32);
	return 0;
}

/* Records the DICOM instances of a file that was read in the catalog: the
 * file itself, or the members of an archive (read again through libarchive,
 * in memory). */
static int catalog_file(struct bk *b, int fd, uint64_t size, const struct mv_file_facts *fi)
{
	struct mv_error e = {0};
	int rc = 0;
	if (fi->dicom) {
		struct mv_catalog_entry ce = {.path = b->path, .size = size, .info = &b->fc.info};
		rc = mv_catalog_writer_add(b->cat, &ce, &e);
	} else if (fi->archive && lseek(fd, 0, SEEK_SET) == 0) {
		int unreadable = 0;
		rc = mv_catalog_add_archive(fd, b->path, b->cat, &unreadable, &e);
		if (rc > 0)
			rc = 0;
		if (unreadable && b->ev && b->ev->note)
			b->ev->note(
			    b->ev->arg, b->path,
			    "archive could not be read (corrupt or encrypted): backed up as "
			    "bytes, not cataloged");
	}
	if (rc) {
		fail(b, &e);
		return rc;
	}
	return 0;
}

/* A regular file: unchanged since the parent snapshot (its chunks and
 * catalog entries are reused without reading it), or read and queued. */
static int backup_file(struct bk *b, struct dirstate *d, struct mv_node *n, const struct stat *st,
                       const struct mv_node *old)
{
	struct mv_error e = {0};
	struct mv_file_facts fi;
	int rc;

	b->sum.total_files++;
	b->sum.total_bytes += n->size;
	b->prog.files_done++;
	if (!b->o->force && unchanged(old, n) && blobs_present(b, old)) {
		b->sum.files_unmodified++;
		b->prog.bytes_done += n->size;
		b->prog.bytes_reused += n->size;
		progress(b, 0); /* done at once */
		if ((rc = copy_chunks(n, old)))
			return rc;
		if (b->pcat && (rc = mv_catalog_cursor_copy(b->pcat, b->path, b->cat, &e))) {
			fail(b, &e);
			return rc;
		}
		return 0;
	}
	if (old && old->kind == MV_NODE_FILE)
		b->sum.files_changed++;
	else
		b->sum.files_new++;
	int fd = open(b->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		n->flags |= MV_NODE_F_UNREADABLE;
		return add_errno(b, b->path, "cannot open", errno);
	}
	struct pending_node pn = {.node = d->tree.count, .f = calloc(1, sizeof(struct pfile))};
	if (!pn.f) {
		close(fd);
		return MV_ERR_NOMEM;
	}
	b->cur_file = pn.f;
	rc = mv_file_chunks(&b->fc, fd, (uint64_t)st->st_size, queue_chunk, NULL, b, &fi);
	uint64_t got = fi.size;
	struct stat st2;
	int changed = fstat(fd, &st2) == 0 &&
	              (st2.st_size != st->st_size || ts_ns(&st2.st_mtim) != ts_ns(&st->st_mtim));
	if (rc == 0)
		rc = catalog_file(b, fd, got, &fi);
	close(fd);
	b->sum.bytes_processed += got;
	if (rc == MV_ERR_IO && fi.read_errno) {
		/* the file is unreadable: recorded, the backup goes on */
		n->flags |= MV_NODE_F_UNREADABLE;
		pfile_free(b, pn.f);
		return add_errno(b, b->path, "cannot read", fi.read_errno);
	}
	if (rc) {
		pfile_free(b, pn.f);
		return rc;
	}
	n->size = got;
	if (changed || got != (uint64_t)st->st_size) {
		n->flags |= MV_NODE_F_CHANGED;
		if (b->ev && b->ev->warn)
			b->ev->warn(b->ev->arg, b->path,
			            "file changed while being read; recorded as read");
	}
	if (mv_grow(d->pend, d->cappend, d->npend + 1)) {
		pfile_free(b, pn.f);
		return MV_ERR_NOMEM;
	}
	d->pend[d->npend++] = pn;
	return 0;
}

/* Backs up the entry at b->path (length plen) into the directory state d.
 * old is the node of the same name in the parent snapshot. */
static int backup_entry(struct bk *b, size_t plen, const char *name, struct dirstate *d,
                        const struct mv_node *old, int depth)
{
	struct stat st;
	struct mv_node n = {0};
	int rc;

	if ((rc = dir_room(b, d)))
		return rc;
	if (lstat(b->path, &st) < 0) {
		if (errno == ENOENT)
			return 0; /* vanished since readdir */
		return add_errno(b, b->path, "cannot stat", errno);
	}
	node_from_stat(&n, &st);
	if ((rc = set_name(&n, name)))
		return rc;

	if (n.kind == MV_NODE_DIR) {
		b->sum.dirs++;
		struct mv_tree_cursor sub;
		int have_sub = old && old->kind == MV_NODE_DIR && open_parent(b, old, &sub) == 0;
		rc = walk_dir(b, plen, have_sub ? &sub : NULL, depth + 1, n.subtree);
		if (have_sub)
			mv_tree_cursor_close(&sub);
		if (rc)
			goto fail;
	} else if (n.kind == MV_NODE_SYMLINK) {
		char target[4096];
		ssize_t tl = readlink(b->path, target, sizeof(target));
		if (tl <= 0 || tl >= (ssize_t)sizeof(target)) {
			rc = add_errno(b, b->path, "cannot read link",
			               tl < 0 ? errno : ENAMETOOLONG);
			mv_node_release(&n);
			return rc;
		}
		n.target = malloc((size_t)tl);
		if (!n.target) {
			rc = MV_ERR_NOMEM;
			goto fail;
		}
		memcpy(n.target, target, (size_t)tl);
		n.target_len = (uint16_t)tl;
	} else if (n.kind == MV_NODE_FILE) {
		if ((rc = backup_file(b, d, &n, &st, old)))
			goto fail;
	}
	if ((rc = dir_add(b, d, &n)))
		goto fail;
	return 0;
fail:
	mv_node_release(&n);
	return rc;
}

/* Waits for the files of the current part, fills their chunk lists and
 * content hashes, and sorts the part. */
static int complete_part(struct bk *b, struct dirstate *d)
{
	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < d->npend; i++)
		while (d->pend[i].f->pending && !b->failed)
			pthread_cond_wait(&b->cv_done, &b->mu);
	int failed = b->failed;
	pthread_mutex_unlock(&b->mu);
	if (failed)
		return failed;
	for (size_t i = 0; i < d->npend; i++) {
		struct pending_node *p = &d->pend[i];
		struct mv_node *n = &d->tree.nodes[p->node];
		n->nchunks = (uint32_t)p->f->nids;
		n->chunks = p->f->ids;
		p->f->ids = NULL;
		mv_content_hash(mv_repo_keys(b->r), n->size, (const uint8_t(*)[32])n->chunks,
		                n->nchunks, n->content);
		pfile_free(b, p->f);
	}
	d->npend = 0;
	struct mv_node prev = {.name = d->last, .name_len = d->last_len};
	if (mv_tree_sort(&d->tree) < 0 ||
	    (d->nparts && d->tree.count && mv_node_name_cmp(&prev, &d->tree.nodes[0]) >= 0)) {
		struct mv_error e;
		mv_error_set(&e, MV_ERR_USAGE, 0, "duplicate names in '%.*s'", (int)d->plen,
		             b->path);
		fail(b, &e);
		return MV_ERR_USAGE;
	}
	return 0;
}

/* Encodes and stores a tree payload of d (w holds it, or has failed). */
static int store_tree(struct bk *b, const struct dirstate *d, struct mv_wbuf *w, uint8_t id[32])
{
	struct mv_error e = {0};
	int rc;
	if (w->failed) {
		rc = w->failed; /* MV_ERR_LIMIT, MV_ERR_NOMEM */
		mv_error_set(&e, rc, 0, "directory '%.*s' cannot be encoded", (int)d->plen,
		             b->path);
		fail(b, &e);
	} else {
		rc = store_blob(b, mv_repo_blob_ctx(b->r), MV_T_TREE, w->data, w->len, id, &e);
		if (rc)
			fail(b, &e);
	}
	mv_wbuf_release(w);
	return rc;
}

/* Completes, stores and frees the current part of a large directory. */
static int flush_part(struct bk *b, struct dirstate *d)
{
	struct mv_wbuf w;
	int rc = complete_part(b, d);
	if (rc)
		return rc;
	if (d->nparts >= MV_TREE_MAX_PARTS || mv_grow(d->parts, d->capparts, d->nparts + 1)) {
		struct mv_error e;
		mv_error_set(&e, MV_ERR_LIMIT, 0, "directory '%.*s' is too large", (int)d->plen,
		             b->path);
		fail(b, &e);
		return MV_ERR_LIMIT;
	}
	mv_wbuf_init(&w, MV_BLOB_MAX_RAW);
	mv_tree_encode(&d->tree, &w);
	if ((rc = store_tree(b, d, &w, d->parts[d->nparts])))
		return rc;
	const struct mv_node *last = &d->tree.nodes[d->tree.count - 1];
	memcpy(d->last, last->name, last->name_len);
	d->last_len = last->name_len;
	d->nparts++;
	d->nodes += d->tree.count;
	d->est = 0;
	mv_tree_release(&d->tree);
	return 0;
}

/* Stores the current part when it is full, before an entry is walked (so
 * that the last part is never empty). */
static int dir_room(struct bk *b, struct dirstate *d)
{
	if (d->tree.count >= MV_TREE_PART_NODES || d->est >= PART_BYTES)
		return flush_part(b, d);
	return 0;
}

/* Adds a node to the current part; takes ownership of n's memory on
 * success. */
static int dir_add(struct bk *b, struct dirstate *d, struct mv_node *n)
{
	int rc = mv_tree_add(&d->tree, n);
	if (rc)
		return rc; /* MV_ERR_NOMEM or MV_ERR_LIMIT */
	/* chunks are not known yet: the smallest chunk size bounds their count */
	d->est += 128u + n->name_len + n->target_len +
	          32u * (size_t)(n->size / mv_repo_config(b->r)->chunk_min + 1);
	return 0;
}

/* Stores the directory's tree: one version 1 blob, or the last part and the
 * list of parts (version 2). */
static int finish_dir(struct bk *b, struct dirstate *d, uint8_t id[32])
{
	struct mv_wbuf w;
	int rc;
	if (d->nparts) {
		/* the entries after the last stored part may all have been
		 * skipped (vanished, unreadable): no empty part is written */
		if (d->tree.count && (rc = flush_part(b, d)))
			return rc;
		if (d->nparts == 1) { /* that part is the whole directory */
			memcpy(id, d->parts[0], 32);
			return 0;
		}
		struct mv_tree_parts tp = {.nodes = d->nodes, .count = d->nparts, .ids = d->parts};
		mv_wbuf_init(&w, MV_BLOB_MAX_RAW);
		mv_tree_parts_encode(&tp, &w);
		return store_tree(b, d, &w, id);
	}
	if ((rc = complete_part(b, d)))
		return rc;
	mv_wbuf_init(&w, MV_BLOB_MAX_RAW);
	mv_tree_encode(&d->tree, &w);
	return store_tree(b, d, &w, id);
}

static void dirstate_release(struct bk *b, struct dirstate *d)
{
	for (size_t i = 0; i < d->npend; i++)
		pfile_free(b, d->pend[i].f);
	free(d->pend);
	free(d->parts);
	mv_tree_release(&d->tree);
}

/* Opens the parent snapshot's tree of a directory; an unreadable one only
 * means its files are read again. */
static void parent_damaged(struct bk *b, const struct mv_error *e)
{
	char msg[640];
	snprintf(msg, sizeof(msg),
	         "the parent snapshot's tree cannot be read (%s); files below are read again",
	         e->msg);
	if (b->ev && b->ev->warn)
		b->ev->warn(b->ev->arg, b->path, msg);
}

static int open_parent(struct bk *b, const struct mv_node *old, struct mv_tree_cursor *c)
{
	struct mv_error e = {0};
	int rc = mv_tree_cursor_open(b->r, NULL, old->subtree, c, &e);
	if (rc)
		parent_damaged(b, &e);
	return rc;
}

/* The parent snapshot's node of the same name; a damaged parent tree stops
 * being used (its files are read again). */
static const struct mv_node *parent_node(struct bk *b, struct mv_tree_cursor **parent,
                                         const char *name, size_t len)
{
	const struct mv_node *old = NULL;
	struct mv_error e = {0};
	if (!*parent)
		return NULL;
	int rc = mv_tree_cursor_find(*parent, (const uint8_t *)name, len, &old, &e);
	if (rc < 0) {
		parent_damaged(b, &e);
		*parent = NULL;
	}
	return rc == 1 ? old : NULL;
}

/* Walks the directory at b->path (length plen). */
static int walk_dir(struct bk *b, size_t plen, struct mv_tree_cursor *parent, int depth,
                    uint8_t id[32])
{
	struct dirstate d = {.plen = plen};
	struct mv_dir_iter *it = NULL;
	const char *name;
	int rc = 0, e;

	mv_tree_init(&d.tree);
	if (depth > MAX_DEPTH) {
		rc = add_error(b, b->path, "directory nesting too deep; not descended");
		goto finish;
	}
	rc = mv_dir_open(b->path, MV_DIR_BATCH, &it, &e);
	if (rc == MV_ERR_IO) {
		rc = add_errno(b, b->path, "cannot open directory", e);
		goto finish;
	}
	if (rc)
		goto out;
	while ((rc = mv_dir_next(it, &name, &e)) == 1) {
		size_t l = strlen(name);
		if (plen + 1 + l >= sizeof(b->path)) {
			rc = add_error(b, b->path, "path too long; entry skipped");
			if (rc)
				goto out;
			continue;
		}
		b->path[plen] = '/';
		memcpy(b->path + plen + 1, name, l + 1);
		if (excluded(b, name, b->path))
			continue;
		const struct mv_node *old = parent_node(b, &parent, name, l);
		rc = backup_entry(b, plen + 1 + l, name, &d, old, depth);
		if (rc)
			goto out;
		if ((rc = check_cancel(b)))
			goto out;
	}
	b->path[plen] = '\0';
	if (rc == MV_ERR_IO) /* the entries read so far are kept */
		rc = add_errno(b, b->path, "cannot read directory", e);
	if (rc)
		goto out;
finish:
	b->path[plen] = '\0';
	rc = rc ? rc : finish_dir(b, &d, id);
out:
	b->path[plen] = '\0';
	mv_dir_close(it);
	dirstate_release(b, &d);
	return rc;
}

/* Records the files of the next source path (the walk takes them in the
 * order of the paths). */
static void count_source(struct bk *b, uint64_t files)
{
	if (b->nsrc < b->nsrc_cap)
		b->src[b->nsrc++] = files;
}

/* Builds the tree of the directory b->path (a prefix of the backed-up
 * paths): entries are the next components of paths[0..n). */
static int build_virtual(struct bk *b, size_t plen, char **paths, size_t n,
                         struct mv_tree_cursor *parent, uint8_t id[32])
{
	struct dirstate d = {.plen = plen};
	int rc = 0;
	mv_tree_init(&d.tree);
	size_t i = 0;
	while (i < n) {
		const char *comp = paths[i] + plen + 1;
		size_t cl = strcspn(comp, "/");
		size_t j = i;
		int leaf = 0;
		while (j < n && !strncmp(paths[j] + plen + 1, comp, cl) &&
		       (paths[j][plen + 1 + cl] == '/' || paths[j][plen + 1 + cl] == '\0')) {
			if (paths[j][plen + 1 + cl] == '\0')
				leaf = 1;
			j++;
		}
		char name[256];
		if (cl == 0 || cl > 255) {
			rc = MV_ERR_USAGE;
			goto out;
		}
		memcpy(name, comp, cl);
		name[cl] = '\0';
		memcpy(b->path + plen, paths[i] + plen, cl + 1);
		b->path[plen + 1 + cl] = '\0';
		const struct mv_node *old = parent_node(b, &parent, name, cl);
		if (leaf) {
			uint64_t before = b->sum.total_files;
			rc = backup_entry(b, plen + 1 + cl, name, &d, old, 0);
			count_source(b, b->sum.total_files - before);
		} else {
			struct stat st;
			struct mv_node nd = {0};
			struct mv_tree_cursor sub;
			if ((rc = dir_room(b, &d)))
				goto out;
			if (lstat(b->path, &st) < 0) {
				struct mv_error e;
				rc =
				    mv_error_set(&e, MV_ERR_IO, errno, "cannot stat '%s'", b->path);
				fail(b, &e);
				goto out;
			}
			node_from_stat(&nd, &st);
			int have_sub =
			    old && old->kind == MV_NODE_DIR && open_parent(b, old, &sub) == 0;
			rc = set_name(&nd, name);
			if (!rc)
				rc = build_virtual(b, plen + 1 + cl, paths + i, j - i,
				                   have_sub ? &sub : NULL, nd.subtree);
			if (have_sub)
				mv_tree_cursor_close(&sub);
			if (!rc)
				rc = dir_add(b, &d, &nd);
			if (rc)
				mv_node_release(&nd);
		}
		b->path[plen] = '\0';
		if (rc)
			goto out;
		i = j;
	}
	rc = finish_dir(b, &d, id);
out:
	b->path[plen] = '\0';
	dirstate_release(b, &d);
	return rc;
}

/* Walk order (component by component), which trees and the catalog use. */
static int walk_cmp(const void *a, const void *b)
{
	return mv_catalog_path_cmp(*(char *const *)a, *(char *const *)b);
}

static int same_paths(const struct mv_snapshot *s, char **paths, size_t n)
{
	if (s->npaths != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->paths[i], paths[i]))
			return 0;
	return 1;
}

static int find_latest(struct bk *b, char **paths, size_t n, const char *host, int unflagged,
                       struct mv_snapshot *latest, int *have, struct mv_error *err);

/* Loads the parent snapshot's root tree into t (empty when none). */
static int find_parent(struct bk *b, char **paths, size_t n, const char *host,
                       struct mv_snapshot *parent, int *have, struct mv_error *err)
{
	*have = 0;
	if (b->o->force && !b->o->parent)
		return 0;
	if (b->o->parent) {
		int rc = mv_repo_find_snapshot(b->r, b->o->parent, parent, err);
		if (rc)
			return rc;
		*have = 1;
		return 0;
	}
	return find_latest(b, paths, n, host, 0, parent, have, err);
}

/* The latest snapshot of the same host and paths (that the check of the
 * sources did not flag, when unflagged is set). */
static int find_latest(struct bk *b, char **paths, size_t n, const char *host, int unflagged,
                       struct mv_snapshot *latest, int *have, struct mv_error *err)
{
	struct mv_snapshot *all;
	size_t ns;
	int rc = mv_repo_snapshots(b->r, &all, &ns, NULL, err);
	if (rc)
		return rc;
	for (size_t i = ns; i-- > 0;) {
		if (!strcmp(all[i].host, host) && same_paths(&all[i], paths, n) &&
		    !(unflagged && mv_source_flagged(&all[i]))) {
			*latest = all[i];
			memset(&all[i], 0, sizeof(all[i]));
			*have = 1;
			break;
		}
	}
	mv_snapshots_free(all, ns);
	return 0;
}

/* A finding of mv_source_check: warned about and listed in the snapshot. */
static int source_warn(void *arg, const char *path, const char *msg)
{
	return add_error(arg, path, msg);
}

static int store_catalog(void *arg, const uint8_t *payload, size_t len, uint8_t id[32],
                         struct mv_error *err)
{
	struct bk *b = arg;
	return store_blob(b, mv_repo_blob_ctx(b->r), MV_T_CATALOG, payload, len, id, err);
}

/* Starts the pool (at most 64 workers, a queue of two chunks per worker)
 * and a blob context for each worker. */
static int start_workers(struct bk *b, struct mv_error *err)
{
	unsigned nt = b->o->threads > 0 ? (unsigned)b->o->threads : mv_pool_default_threads(64);
	if (nt > 64)
		nt = 64;
	int rc = mv_pool_start(nt, 0, b->ev ? b->ev->cancel : NULL, &b->pool, err);
	if (rc)
		return rc;
	unsigned n = mv_pool_threads(b->pool);
	if (!(b->ctxs = calloc(n, sizeof(*b->ctxs))))
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	for (; b->nctxs < n; b->nctxs++)
		if (!(b->ctxs[b->nctxs] = mv_blob_ctx_new(3)))
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	return 0;
}

/* Waits for the queued chunks and stops the pool; an interruption that
 * only the pool noticed becomes the backup's error. */
static void stop_workers(struct bk *b)
{
	struct mv_error e = {0};
	int rc = mv_pool_finish(b->pool, &e);
	b->pool = NULL; /* before fail(), which cancels b->pool */
	if (rc)
		fail(b, &e);
	for (unsigned i = 0; i < b->nctxs; i++)
		mv_blob_ctx_free(b->ctxs[i]);
	free(b->ctxs);
	b->ctxs = NULL;
	b->nctxs = 0;
}

/* Confirms, with one listing, that every pack this snapshot uses from
 * before the run still exists: a snapshot is never saved damaged. */
struct confirm {
	struct mv_repo *r;
	uint8_t *listed;
	size_t n;
};

static int confirm_cb(void *arg, const char *name, uint64_t size)
{
	struct confirm *c = arg;
	uint8_t id[32];
	(void)size;
	if (strlen(name) != 64 || mv_unhex(name, id, 32))
		return 0;
	uint32_t pn = mv_repo_index_find_pack(c->r, id);
	if (pn < c->n)
		c->listed[pn] = 1;
	return 0;
}

static int confirm_packs(struct bk *b, struct mv_error *err)
{
	struct confirm c = {b->r, calloc(b->nold ? b->nold : 1, 1), b->nold};
	size_t missing = 0, first = 0;
	struct mv_error e = {0};
	if (!c.listed)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	struct mv_backend *be = mv_repo_backend(b->r);
	int rc = be->ops->list(be, MV_FT_PACK, confirm_cb, &c, &e);
	if (rc) {
		free(c.listed);
		return mv_error_set(err, rc, e.saved_errno,
		                    "cannot confirm that the packs this snapshot uses exist (%s); "
		                    "no snapshot was written",
		                    e.msg);
	}
	for (size_t p = 0; p < b->nold; p++)
		if (b->used[p] && !c.listed[p] && !missing++)
			first = p;
	free(c.listed);
	if (!missing)
		return 0;
	char name[65];
	mv_repo_index_pack_name(b->r, (uint32_t)first, name);
	return mv_error_set(err, MV_ERR_INTEGRITY, 0,
	                    "%zu pack%s this snapshot uses disappeared during the backup (%s%s); "
	                    "no snapshot was written: run the backup again (it stores %s blobs "
	                    "again)",
	                    missing, missing == 1 ? "" : "s", name, missing > 1 ? ", ..." : "",
	                    missing == 1 ? "its" : "their");
}

/* --force found damaged copies and stored the blobs again: the index files
 * stop placing them in their damaged packs, so that readers use the new
 * copies (the damaged pack stays, with its other blobs). */
static void drop_damaged(struct bk *b)
{
	struct mv_error e = {0};
	size_t n = 0;
	char msg[700];
	if (!b->damaged || !mv_index_count(b->damaged))
		return;
	if (mv_repo_drop_index_entries(b->r, b->damaged, &n, &e) == 0) {
		snprintf(msg, sizeof(msg),
		         "the index no longer places %zu damaged blob cop%s in %s pack%s", n,
		         n == 1 ? "y" : "ies", n == 1 ? "its" : "their", n == 1 ? "" : "s");
		if (b->ev && b->ev->note)
			b->ev->note(b->ev->arg, "repository", msg);
		return;
	}
	snprintf(msg, sizeof(msg),
	         "the index still places damaged blob copies in their packs (%s): readers may "
	         "pick them; run 'backup --force' again",
	         e.msg);
	if (b->ev && b->ev->warn)
		b->ev->warn(b->ev->arg, "repository", msg);
}

static char *user_name(void)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
		return strdup(pw.pw_name);
	return strdup("");
}

int mv_backup(struct mv_repo *r, const struct mv_backup_opts *o, const struct mv_events *ev,
              struct mv_backup_result *res, struct mv_error *err)
{
	struct bk b = {.r = r, .o = o, .ev = ev};
	struct mv_snapshot snap = {0}, parent = {0}, latest = {0};
	const struct mv_snapshot *prev = NULL; /* for the check of the sources */
	struct mv_tree_cursor ptree = {0};
	char **paths = NULL;
	size_t n = 0;
	char host[256];
	int have_parent = 0, have_latest = 0, rc;
	uint32_t unreadable;
	struct mv_wbuf w;
	int64_t t0 = now_ns();

	memset(res, 0, sizeof(*res));
	mv_wbuf_init(&w, 64u << 20);
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv_done, NULL);

	if (!mv_repo_keys(r) || !mv_repo_chunker(r))
		return mv_error_set(err, MV_ERR_USAGE, 0, "repository is not unlocked");
	if (o->npaths == 0)
		return mv_error_set(err, MV_ERR_USAGE, 0, "nothing to back up");
	paths = calloc(o->npaths, sizeof(*paths));
	if (!paths)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	for (size_t i = 0; i < o->npaths; i++) {
		char *p = mv_abs_path(o->paths[i]);
		struct stat st;
		if (!p) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			goto out;
		}
		paths[n++] = p;
		if (!strcmp(p, "/")) {
			rc = mv_error_set(err, MV_ERR_USAGE, 0, "backing up '/' is not supported");
			goto out;
		}
		if (strlen(p) >= PATH_MAX) {
			rc = mv_error_set(err, MV_ERR_USAGE, 0, "path too long: '%s'", p);
			goto out;
		}
		if (lstat(p, &st) < 0) {
			rc = mv_error_set(err, MV_ERR_USAGE, errno, "cannot back up '%s'", p);
			goto out;
		}
	}
	qsort(paths, n, sizeof(*paths), walk_cmp);
	/* drop duplicates and paths inside another (they follow it in walk
	 * order): the outer one holds them */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = k ? strlen(paths[k - 1]) : 0;
		if (k && !strncmp(paths[k - 1], paths[i], l) &&
		    (paths[i][l] == '\0' || paths[i][l] == '/')) {
			free(paths[i]);
			continue;
		}
		paths[k++] = paths[i];
	}
	n = k;

	if (o->host)
		snprintf(host, sizeof(host), "%s", o->host);
	else if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	b.src = calloc(n, sizeof(*b.src));
	if (!b.src) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	b.nsrc_cap = n;
	if (o->count_totals && ev && ev->progress &&
	    mv_totals_start(paths, n, o->excludes, o->nexcludes, ev->cancel, &b.totals) != 0)
		b.totals = NULL; /* progress without totals */

	rc = find_parent(&b, paths, n, host, &parent, &have_parent, err);
	if (rc)
		goto out;
	/* the reference of the check of the sources: the parent, unless it
	 * was flagged, is of other paths (--parent) or there is none (--force) */
	if (have_parent && !strcmp(parent.host, host) && same_paths(&parent, paths, n) &&
	    !mv_source_flagged(&parent))
		prev = &parent;
	else if ((have_parent || o->parent || o->force) &&
	         (rc = find_latest(&b, paths, n, host, 1, &latest, &have_latest, err)))
		goto out;
	else if (have_latest)
		prev = &latest;
	if (have_parent) {
		struct mv_error e = {0};
		if (mv_tree_cursor_open(r, NULL, parent.tree, &ptree, &e) != 0) {
			if (ev && ev->warn)
				ev->warn(ev->arg, "parent snapshot", e.msg);
			have_parent = 0;
		}
	}

	b.nold = mv_repo_index_npacks(r);
	b.used = calloc(b.nold ? b.nold : 1, 1);
	b.verified = o->force ? mv_index_new() : NULL;
	b.damaged = o->force ? mv_index_new() : NULL;
	if (!b.used || (o->force && (!b.verified || !b.damaged))) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	b.packer = mv_packer_new(r);
	/* the walker reads old trees while workers add */
	if ((rc = mv_repo_index_share(r, err)))
		goto out;
	b.cat = mv_catalog_writer_new(store_catalog, &b);
	if (!b.packer || !b.cat ||
	    mv_file_chunker_init(&b.fc, mv_repo_chunker(r), mv_repo_config(r)->chunk_max,
	                         o->plain_chunking)) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	if (have_parent && parent.ncatalog) {
		struct mv_error e = {0};
		if (mv_catalog_cursor_open(r, NULL, &parent, &b.pcat, &e) != 0) {
			/* without the parent's catalog, unchanged files would go
			 * uncataloged: read everything instead */
			if (ev && ev->warn)
				ev->warn(ev->arg, "parent snapshot catalog", e.msg);
			have_parent = 0;
		}
	}
	if ((rc = start_workers(&b, err)) != 0) {
		stop_workers(&b);
		goto out;
	}
	b.path[0] = '\0';
	rc = build_virtual(&b, 0, paths, n, have_parent ? &ptree : NULL, snap.tree);
	if (rc == 0 && !b.failed)
		rc = mv_catalog_writer_finish(b.cat, &snap.catalog, &snap.ncatalog, err);
	stop_workers(&b);
	mv_totals_stop(b.totals);
	b.totals = NULL;
	if (b.failed) {
		rc = b.failed;
		if (err)
			*err = b.ferr;
		goto out;
	}
	if (rc) {
		if (rc == MV_ERR_NOMEM)
			mv_error_set(err, rc, 0, "out of memory");
		else if (!err || !err->code)
			mv_error_set(err, rc, 0, "backup failed");
		goto out;
	}
	unreadable = b.nerrors;
	rc = mv_source_check(r, o, host, paths, b.nsrc, b.src, b.sum.total_files, prev, source_warn,
	                     &b);
	if (rc < 0) {
		mv_error_set(err, rc, 0, "out of memory");
		goto out;
	}
	res->suspect_sources = (uint32_t)rc;
	rc = mv_packer_flush(b.packer, err);
	if (rc)
		goto out;
	rc = mv_packer_write_index(b.packer, err);
	if (rc)
		goto out;
	/* orphans are now named by an index */
	mv_repo_orphans_forget(r);
	if ((rc = confirm_packs(&b, err)))
		goto out;
	if (b.stored_again && ev && ev->note) {
		char msg[160];
		snprintf(msg, sizeof(msg),
		         "%llu blob%s whose pack is missing or damaged %s stored again",
		         (unsigned long long)b.stored_again, b.stored_again == 1 ? "" : "s",
		         b.stored_again == 1 ? "was" : "were");
		ev->note(ev->arg, "repository", msg);
	}

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	snap.time_ns = o->has_time ? o->time_ns : ts_ns(&now);
	res->snapshot_time_ns = snap.time_ns;
	snap.host = strdup(host);
	snap.user = user_name();
	snap.paths = paths;
	snap.npaths = (uint32_t)n;
	snap.tags = (char **)(uintptr_t)o->tags;
	snap.ntags = (uint32_t)o->ntags;
	if (have_parent) {
		snap.has_parent = 1;
		memcpy(snap.parent, parent.id, 32);
	}
	snap.summary = b.sum;
	snap.errors = b.errors;
	snap.nerrors = b.nerrors;
	if (!snap.host || !snap.user) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out_snap;
	}
	if ((rc = mv_lock_check(mv_repo_lock(r), err)))
		goto out_snap; /* the packs stay, adopted by the next backup */
	mv_snapshot_encode(&snap, &w);
	if (w.failed) {
		rc = mv_error_set(err, w.failed, 0, "cannot encode the snapshot: %s",
		                  mv_strerror(w.failed));
		goto out_snap;
	}
	rc = mv_repo_save_object(r, MV_FT_SNAPSHOT, MV_T_SNAPSHOT, w.data, w.len, res->snapshot_id,
	                         err);
	if (rc)
		goto out_snap;
	drop_damaged(&b);
	res->summary = b.sum;
	res->unreadable = unreadable;
	res->seconds = (double)(now_ns() - t0) / 1e9;
	if (b.nerrors || res->suspect_sources)
		rc = mv_error_set(
		    err, MV_ERR_PARTIAL, 0,
		    "%u files or directories could not be read, %u sources are suspect", unreadable,
		    res->suspect_sources);
out_snap:
	free(snap.host);
	free(snap.user);
out:
	mv_totals_stop(b.totals);
	free(b.src);
	mv_snapshot_release(&latest);
	for (uint32_t i = 0; i < b.nerrors; i++) {
		free(b.errors[i].path);
		free(b.errors[i].msg);
	}
	free(b.errors);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	mv_wbuf_release(&w);
	mv_tree_cursor_close(&ptree);
	mv_snapshot_release(&parent);
	mv_packer_free(b.packer);
	mv_repo_index_unshare(r);
	free(b.used);
	mv_index_free(b.verified);
	mv_index_free(b.damaged);
	mv_catalog_writer_free(b.cat);
	mv_catalog_cursor_free(b.pcat);
	free(snap.catalog);
	mv_file_chunker_release(&b.fc);
	pthread_cond_destroy(&b.cv_done);
	pthread_mutex_destroy(&b.mu);
	return rc;
}
