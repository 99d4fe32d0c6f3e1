/* Tree blob payloads (FORMAT.md section 9). */
#ifndef MV_FMT_TREE_H
#define MV_FMT_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/fmt_err.h"

/* On-disk node kinds (fixed forever). */
enum {
	MV_NODE_FILE = 1,
	MV_NODE_DIR = 2,
	MV_NODE_SYMLINK = 3,
	MV_NODE_FIFO = 4,
	MV_NODE_CHR = 5,
	MV_NODE_BLK = 6,
	MV_NODE_SOCK = 7,
};

/* Node flags (fixed forever). */
enum {
	MV_NODE_F_CHANGED = 1,    /* file changed while being read */
	MV_NODE_F_UNREADABLE = 2, /* could not be read: no content */
};

#define MV_TREE_MAX_NODES  (4u << 20)
#define MV_NODE_MAX_CHUNKS (16u << 20)

/* Split trees (payload version 2): a directory of more than
 * MV_TREE_PART_NODES entries is stored as parts of at most
 * MV_TREE_PART_NODES nodes (version 1 payloads; writers also close a part
 * early when its encoding grows large) and a list of their ids, so that a
 * writer holds one part at a time. */
#define MV_TREE_PART_NODES      8192u
#define MV_TREE_MAX_PARTS       65536u
#define MV_TREE_SPLIT_MAX_NODES (64u << 20)

struct mv_node {
	uint8_t kind;
	uint8_t flags;
	uint16_t name_len;
	uint8_t *name; /* owned, name_len bytes, not NUL-terminated */
	uint32_t mode, uid, gid;
	int64_t mtime_ns, ctime_ns;
	uint64_t inode, rdev, size;
	/* file */
	uint32_t nchunks;
	uint8_t (*chunks)[32]; /* owned */
	uint8_t content[32];
	/* dir */
	uint8_t subtree[32];
	/* symlink */
	uint16_t target_len;
	uint8_t *target; /* owned */
};

struct mv_tree {
	struct mv_node *nodes;
	size_t count;
	size_t cap;
};

void mv_tree_init(struct mv_tree *t);
/* Frees all nodes and their owned memory; the tree is empty afterwards. */
void mv_tree_release(struct mv_tree *t);
/* Frees the owned memory of one node. */
void mv_node_release(struct mv_node *n);
/* A deep copy of src into dst (its name, chunk list and link target
 * duplicated; release dst with mv_node_release). Returns 0 or MV_FMT_NOMEM
 * (dst then owns nothing). */
int mv_node_copy(struct mv_node *dst, const struct mv_node *src);
/* Appends a node (takes ownership of its owned pointers; *n is copied, not
 * cleared). The array grows by doubling. Returns 0, MV_FMT_NOMEM, or
 * MV_FMT_LIMIT when the tree already holds MV_TREE_SPLIT_MAX_NODES (on
 * failure ownership stays with the caller). */
int mv_tree_add(struct mv_tree *t, struct mv_node *n);
/* Sorts nodes by name (bytewise). Returns 0, or MV_FMT_MALFORMED if two
 * names are equal (such a tree cannot be encoded). */
int mv_tree_sort(struct mv_tree *t);
/* Binary search by name in a sorted tree; NULL when absent. */
const struct mv_node *mv_tree_find(const struct mv_tree *t, const uint8_t *name, size_t len);

/* Encodes a sorted tree. Sets w->failed (writing nothing) when the tree
 * is not strictly sorted or a node breaks a rule mv_tree_decode checks, so
 * that nothing unreadable is ever written. */
void mv_tree_encode(const struct mv_tree *t, struct mv_wbuf *w);
/* Decodes into t (initialised by the callee). Validates every field: version
 * 1, kinds 1..7, only known flag bits, name rules (1..255 bytes, no '/', no
 * NUL, not "." or ".."), strictly increasing names, symlink targets of
 * 1..4095 bytes without NUL, counts within limits and within the input
 * (checked before allocating), no trailing bytes. Returns 0,
 * MV_FMT_MALFORMED or MV_FMT_NOMEM; t is empty on failure. */
int mv_tree_decode(const uint8_t *p, size_t len, struct mv_tree *t);

/* Orders two nodes by name as trees do (bytewise; a prefix first). */
int mv_node_name_cmp(const struct mv_node *a, const struct mv_node *b);

/* The first byte of a tree payload, its version (1 nodes, 2 a list of
 * parts; any other value is malformed), or 0 when the payload is empty. */
int mv_tree_payload_version(const uint8_t *p, size_t len);

/* A split tree: the ids of its parts, in name order, and its node count. */
struct mv_tree_parts {
	uint64_t nodes;
	uint32_t count;
	uint8_t (*ids)[32]; /* owned */
};

/* Encodes a split tree; sets w->failed when ids is NULL, count is not within
 * 2..MV_TREE_MAX_PARTS or nodes is not within count..MV_TREE_SPLIT_MAX_NODES
 * (each part holds at least one node). */
void mv_tree_parts_encode(const struct mv_tree_parts *tp, struct mv_wbuf *w);
/* Decodes and validates a version 2 payload (same limits, no trailing
 * bytes). Returns 0, MV_FMT_MALFORMED or MV_FMT_NOMEM; tp is empty on
 * failure. */
int mv_tree_parts_decode(const uint8_t *p, size_t len, struct mv_tree_parts *tp);
void mv_tree_parts_release(struct mv_tree_parts *tp); /* accepts NULL */

#endif
