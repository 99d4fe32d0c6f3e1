/* Dump: walk the snapshot's trees in order and hand every entry to the
 * sink, each file's blobs read in order, authenticated and checked against
 * the file's content hash (see dump.h for what happens to damaged files). */
#include "core/ops/dump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/walker.h"

#define DUMP_MAX_DEPTH 512
#define DUMP_PATH_MAX  65536

/* A directory on the way down; dumped before its first dumped child (at
 * once without a filter). */
struct dir_level {
	const struct mv_node *n;
	size_t plen; /* length of its path in ds.path */
};

struct ds {
	struct mv_repo *r;
	const struct mv_dump_opts *o;
	const struct mv_dump_sink *sink;
	const struct mv_events *ev;
	struct mv_dump_result *res;
	struct mv_blob_ctx *ctx;
	struct mv_error *err; /* the walk's */
	int damage_seen;      /* a problem was damage, not only a read error */
	size_t buffer_max;
	char *path; /* the current path inside the snapshot, NUL-terminated */
	struct dir_level stack[DUMP_MAX_DEPTH + 4];
	int depth;    /* levels on the stack */
	int dumped;   /* levels [0, dumped) have been handed to the sink */
	uint8_t *buf; /* a whole file, for files up to buffer_max */
	size_t bufcap;
	struct mv_progress prog;
	struct timespec last;
};

static const uint8_t zeros[65536];

static void warn(struct ds *s, const char *path, const char *msg)
{
	if (s->ev && s->ev->warn)
		s->ev->warn(s->ev->arg, path && *path ? path : "/", msg);
}

static void note(struct ds *s, const char *path, const char *msg)
{
	if (s->ev && s->ev->note)
		s->ev->note(s->ev->arg, path && *path ? path : "/", msg);
}

static int cancelled(const struct ds *s)
{
	return s->ev && s->ev->cancel && *s->ev->cancel;
}

static void progress(struct ds *s, int force)
{
	struct timespec now;

	if (!s->ev || !s->ev->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force &&
	    (now.tv_sec - s->last.tv_sec) * 1000000000LL + (now.tv_nsec - s->last.tv_nsec) <
	        200000000LL)
		return;
	s->last = now;
	s->prog.files_done = s->res->files + s->res->damaged - s->res->zero_filled;
	s->prog.bytes_done = s->res->bytes;
	s->prog.current = s->path[0] ? s->path : NULL;
	s->ev->progress(s->ev->arg, &s->prog);
}

/* Reports a file the output lacks in part or in full because of rc: damage
 * (MV_ERR_INTEGRITY and the like) or a read error (MV_ERR_IO,
 * MV_ERR_TRANSIENT: the repository could not be read). */
static void damaged(struct ds *s, int rc, const char *msg, const char *detail)
{
	char m[640];

	if (rc != MV_ERR_IO && rc != MV_ERR_TRANSIENT)
		s->damage_seen = 1;
	if (detail && *detail)
		snprintf(m, sizeof(m), "damaged: %s (%s)", msg, detail);
	else
		snprintf(m, sizeof(m), "damaged: %s", msg);
	warn(s, s->path, m);
	s->res->damaged++;
}

/* Calls a sink function's result through: a negative result ends the dump
 * with the sink's message (or a generic one). */
static int sink_result(int rc, struct mv_error *se, struct mv_error *err)
{
	if (rc >= 0)
		return rc;
	if (!se->msg[0])
		mv_error_set(se, rc, 0, "cannot write the output");
	se->code = rc;
	if (err)
		*err = *se;
	return rc;
}

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case MV_NODE_FILE:
		return "file";
	case MV_NODE_DIR:
		return "directory";
	case MV_NODE_SYMLINK:
		return "symbolic link";
	case MV_NODE_FIFO:
		return "fifo";
	case MV_NODE_CHR:
	case MV_NODE_BLK:
		return "device node";
	default:
		return "socket";
	}
}

/* begin_entry for the node at s->path: 0 begun, MV_DUMP_SKIP, or < 0. */
static int begin(struct ds *s, const struct mv_node *n, struct mv_error *err)
{
	struct mv_error se = {0};
	int rc = s->sink->begin_entry(s->sink->arg, s->path, n, &se);

	if (rc > 0) {
		char m[128];
		snprintf(m, sizeof(m), "not in the output: its format cannot hold a %s",
		         kind_name(n->kind));
		note(s, s->path, m);
		s->res->skipped++;
		return MV_DUMP_SKIP;
	}
	return sink_result(rc, &se, err);
}

static int end(struct ds *s, struct mv_error *err)
{
	struct mv_error se = {0};
	return sink_result(s->sink->end_entry(s->sink->arg, &se), &se, err);
}

static int data(struct ds *s, const uint8_t *p, size_t len, struct mv_error *err)
{
	struct mv_error se = {0};
	if (len == 0)
		return 0;
	return sink_result(s->sink->data(s->sink->arg, p, len, &se), &se, err);
}

/* Hands the directories of the stack not yet dumped to the sink. */
static int dump_dirs(struct ds *s, struct mv_error *err)
{
	for (; s->dumped < s->depth; s->dumped++) {
		struct dir_level *d = &s->stack[s->dumped];
		char saved = s->path[d->plen];
		int rc;

		s->path[d->plen] = '\0';
		rc = begin(s, d->n, err);
		if (rc == 0) {
			rc = end(s, err);
			if (rc == 0)
				s->res->dirs++;
		}
		s->path[d->plen] = saved;
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int push_dir(struct ds *s, const struct mv_node *n, size_t plen, struct mv_error *err)
{
	if (s->depth >= (int)(sizeof(s->stack) / sizeof(s->stack[0])))
		return mv_error_set(err, MV_ERR_LIMIT, 0, "tree nesting too deep at '%s'", s->path);
	s->stack[s->depth].n = n;
	s->stack[s->depth].plen = plen;
	s->depth++;
	return s->o->filter ? 0 : dump_dirs(s, err);
}

static void pop_dir(struct ds *s)
{
	s->depth--;
	if (s->dumped > s->depth)
		s->dumped = s->depth;
}

/* Checks a file's chunk list before reading anything: the content hash over
 * the chunk ids, each blob in the index as a data blob, the sizes adding up
 * to the file's size. Returns NULL or what is wrong. */
static const char *check_chunks(struct ds *s, const struct mv_node *n)
{
	uint8_t ch[32];
	uint64_t total = 0;

	mv_content_hash(mv_repo_keys(s->r), n->size, (const uint8_t(*)[32])n->chunks, n->nchunks,
	                ch);
	if (memcmp(ch, n->content, 32) != 0)
		return "its chunk list does not match its content hash";
	for (uint32_t i = 0; i < n->nchunks; i++) {
		struct mv_blob_loc loc;
		if (!mv_repo_index_lookup(s->r, n->chunks[i], &loc) || loc.pack == MV_PACK_NONE ||
		    loc.type != MV_T_DATA)
			return "a data blob is missing from the repository";
		total += loc.raw_length; /* at most 2^24 chunks of < 2^32 bytes */
	}
	if (total != n->size)
		return "its chunk sizes do not add up to its size";
	return NULL;
}

/* Reads chunk i of n: 0 with *p, *len set; MV_ERR_NOMEM; or another error
 * with the reason in be (the blob is damaged or unreadable). */
static int read_chunk(struct ds *s, const struct mv_node *n, uint32_t i, const uint8_t **p,
                      size_t *len, struct mv_error *be)
{
	struct mv_blob_loc loc;
	int found = mv_repo_index_lookup(s->r, n->chunks[i], &loc);
	int rc = mv_repo_read_blob(s->r, s->ctx, MV_T_DATA, n->chunks[i], p, len, be);

	if (rc == 0 && (!found || *len != loc.raw_length))
		rc = mv_error_set(be, MV_ERR_INTEGRITY, 0, "a blob's size differs from the index");
	return rc;
}

/* A file read whole and verified before its entry is begun; a damaged one
 * is left out. */
static int dump_buffered(struct ds *s, const struct mv_node *n, struct mv_error *err)
{
	size_t off = 0;
	int rc;

	if (n->size > s->bufcap) {
		uint8_t *nb = realloc(s->buf, (size_t)n->size);
		if (!nb)
			return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		s->buf = nb;
		s->bufcap = (size_t)n->size;
	}
	for (uint32_t i = 0; i < n->nchunks; i++) {
		struct mv_error be = {0};
		const uint8_t *p;
		size_t len;

		rc = read_chunk(s, n, i, &p, &len, &be);
		if (rc == MV_ERR_NOMEM)
			return mv_error_set(err, rc, 0, "out of memory");
		if (rc) {
			damaged(s, rc, "its content cannot be read; left out", be.msg);
			return 0;
		}
		if (len > n->size - off) { /* check_chunks makes this impossible */
			damaged(s, MV_ERR_INTEGRITY,
			        "its content is longer than its size; left out", NULL);
			return 0;
		}
		memcpy(s->buf + off, p, len);
		off += len;
		if (cancelled(s))
			return mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
	}
	rc = begin(s, n, err);
	if (rc)
		return rc == MV_DUMP_SKIP ? 0 : rc;
	rc = data(s, s->buf, off, err);
	if (rc == 0)
		rc = end(s, err);
	if (rc == 0) {
		s->res->files++;
		s->res->bytes += off;
	}
	return rc;
}

/* A file streamed chunk by chunk; a damaged chunk becomes zeros. */
static int dump_streamed(struct ds *s, const struct mv_node *n, struct mv_error *err)
{
	struct mv_error first = {0};
	int first_rc = 0;
	uint64_t zeroed = 0;
	int rc = begin(s, n, err);

	if (rc)
		return rc == MV_DUMP_SKIP ? 0 : rc;
	for (uint32_t i = 0; i < n->nchunks && rc == 0; i++) {
		struct mv_error be = {0};
		const uint8_t *p;
		size_t len;
		int brc = read_chunk(s, n, i, &p, &len, &be);

		if (brc == MV_ERR_NOMEM)
			return mv_error_set(err, brc, 0, "out of memory");
		if (brc == 0) {
			rc = data(s, p, len, err);
			s->res->bytes += len;
		} else {
			struct mv_blob_loc loc;
			(void)mv_repo_index_lookup(s->r, n->chunks[i], &loc);
			size_t left = loc.raw_length;
			if (!first_rc) {
				first = be;
				first_rc = brc;
			}
			zeroed += left;
			while (left > 0 && rc == 0) {
				size_t k = left < sizeof(zeros) ? left : sizeof(zeros);
				rc = data(s, zeros, k, err);
				left -= k;
			}
		}
		if (rc == 0 && cancelled(s))
			rc = mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
		progress(s, 0);
	}
	if (rc == 0)
		rc = end(s, err);
	if (rc)
		return rc;
	s->res->files++;
	if (zeroed) {
		char m[160];
		snprintf(m, sizeof(m),
		         "its content cannot be read in full; %llu of its %llu bytes are "
		         "zeros in the output",
		         (unsigned long long)zeroed, (unsigned long long)n->size);
		damaged(s, first_rc, m, first.msg);
		s->res->zero_filled++;
	}
	return 0;
}

static int dump_file(struct ds *s, const struct mv_node *n, struct mv_error *err)
{
	const char *why;

	if (n->flags & MV_NODE_F_UNREADABLE) {
		warn(s, s->path,
		     "not in the output: the file could not be read when it was backed up");
		s->res->skipped++;
		return 0;
	}
	why = check_chunks(s, n);
	if (why) {
		char m[160];
		snprintf(m, sizeof(m), "%s; left out", why);
		damaged(s, MV_ERR_INTEGRITY, m, NULL);
		return 0;
	}
	if (n->size <= s->buffer_max)
		return dump_buffered(s, n, err);
	return dump_streamed(s, n, err);
}

/* Anything but a directory, at s->path. */
static int dump_leaf(struct ds *s, const struct mv_node *n, struct mv_error *err)
{
	int rc;

	if (s->o->filter && !s->o->filter(s->o->filter_arg, s->path, n))
		return 0;
	rc = dump_dirs(s, err);
	if (rc)
		return rc;
	if (n->kind == MV_NODE_FILE)
		rc = dump_file(s, n, err);
	else {
		rc = begin(s, n, err);
		if (rc == MV_DUMP_SKIP)
			return 0;
		if (rc == 0)
			rc = end(s, err);
		if (rc == 0 && n->kind == MV_NODE_SYMLINK)
			s->res->links++;
		else if (rc == 0)
			s->res->others++;
	}
	progress(s, 0);
	return rc;
}

/* The walk's events; s->path gets each event's path. */
static int dump_event(void *arg, const struct mv_walk_item *it)
{
	struct ds *s = arg;

	memcpy(s->path, it->path, it->path_len + 1); /* below DUMP_PATH_MAX */
	switch (it->event) {
	case MV_WALK_NODE:
		if (cancelled(s))
			return mv_error_set(s->err, MV_ERR_INTERRUPTED, 0, "interrupted");
		if (it->node->kind == MV_NODE_DIR)
			return push_dir(s, it->node, it->path_len, s->err);
		return dump_leaf(s, it->node, s->err);
	case MV_WALK_LEAVE:
		pop_dir(s);
		return MV_WALK_CONTINUE;
	case MV_WALK_ERROR:
		if (it->error == MV_WALK_E_TREE) {
			damaged(s, it->rc,
			        "directory cannot be read (damaged tree); its contents are missing",
			        it->err->msg);
		} else if (it->error == MV_WALK_E_PART) {
			/* the rest of the directory is dumped */
			damaged(s, it->rc,
			        "part of this directory cannot be read (damaged tree); the entries "
			        "it held are missing",
			        it->err->msg);
		} else {
			if (s->err)
				*s->err = *it->err;
			return it->rc;
		}
		return MV_WALK_CONTINUE;
	default:
		return MV_WALK_CONTINUE;
	}
}

int mv_dump(struct mv_repo *r, const struct mv_snapshot *snap, const struct mv_dump_opts *o,
            const struct mv_dump_sink *sink, const struct mv_events *ev, struct mv_dump_result *res,
            struct mv_error *err)
{
	static const struct mv_dump_opts defaults = {0};
	struct ds s = {.r = r, .o = o ? o : &defaults, .sink = sink, .ev = ev, .res = res};
	struct timespec t0, t1;
	struct mv_walk_opts wo = {
	    .max_depth = DUMP_MAX_DEPTH, .path_max = DUMP_PATH_MAX, .subpath = s.o->subpath};
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(res, 0, sizeof(*res));
	if (!mv_repo_keys(r))
		return mv_error_set(err, MV_ERR_USAGE, 0,
		                    "repository not unlocked or index not loaded");
	if (!sink || !sink->begin_entry || !sink->data || !sink->end_entry)
		return mv_error_set(err, MV_ERR_USAGE, 0, "incomplete dump sink");
	s.buffer_max = s.o->buffer_max ? s.o->buffer_max : MV_DUMP_BUFFER_DEFAULT;
	s.ctx = mv_blob_ctx_new(3);
	s.path = malloc(DUMP_PATH_MAX);
	if (!s.ctx || !s.path) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	s.last = t0;
	s.err = err;
	s.path[0] = '\0';
	rc = mv_walk_tree(r, snap->tree, &wo, dump_event, &s, err);
	if (rc)
		goto out;
	s.path[0] = '\0';
	progress(&s, 1);
	res->finished = 1;
	if (res->damaged && s.damage_seen)
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "%llu damaged file%s",
		                  (unsigned long long)res->damaged, res->damaged == 1 ? "" : "s");
	else if (res->damaged) /* only read errors: the repository, not its data */
		rc = mv_error_set(err, MV_ERR_IO, 0,
		                  "%llu file%s could not be read from the repository (read errors)",
		                  (unsigned long long)res->damaged, res->damaged == 1 ? "" : "s");
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	mv_blob_ctx_free(s.ctx);
	free(s.path);
	free(s.buf);
	return rc;
}
