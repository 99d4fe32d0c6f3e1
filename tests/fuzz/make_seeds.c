/* Writes the seed corpora of the format fuzz targets:
 *   tests/fuzz/corpus/fuzz_tree/      tree payloads (version 1, and split trees: version 2)
 *   tests/fuzz/corpus/fuzz_index/     0x00 + index payload, 0x01 + u64 data_len + pack header
 *   tests/fuzz/corpus/fuzz_snapshot/  0x00 + snapshot payload, 0x01 + lock payload
 *
 * Not part of the CMake build. From the source root:
 *   cc -std=c11 -I. tests/fuzz/make_seeds.c formats/buf.c formats/tree.c \
 *      formats/index.c formats/snapshot.c -o /tmp/make_seeds && /tmp/make_seeds tests/fuzz/corpus
 * The output is deterministic (no random bytes), so regenerating changes
 * nothing unless the encoders change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/index.h"
#include "formats/snapshot.h"
#include "formats/tree.h"

static const char *root;

static void die(const char *what)
{
	fprintf(stderr, "make_seeds: %s\n", what);
	exit(1);
}

static void mkdir_p(const char *path)
{
	if (mkdir(path, 0755) && errno != EEXIST)
		die(path);
}

/* Writes prefix (0 or 1 bytes) + extra + the buffer as root/target/name. */
static void write_seed(const char *target, const char *name, const uint8_t *prefix,
                       size_t prefix_len, const struct mv_wbuf *w)
{
	char path[4096];
	if (w->failed)
		die(name);
	snprintf(path, sizeof(path), "%s/%s", root, target);
	mkdir_p(path);
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		die(path);
	if ((prefix_len && fwrite(prefix, 1, prefix_len, f) != prefix_len) ||
	    (w->len && fwrite(w->data, 1, w->len, f) != w->len) || fclose(f))
		die(path);
}

static uint8_t *dup_bytes(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (!d)
		die("out of memory");
	memcpy(d, p, n);
	return d;
}

static void add_node(struct mv_tree *t, uint8_t kind, uint8_t flags, const char *name,
                     uint32_t seed)
{
	struct mv_node n;
	memset(&n, 0, sizeof(n));
	n.kind = kind;
	n.flags = flags;
	n.name_len = (uint16_t)strlen(name);
	n.name = dup_bytes(name, n.name_len);
	n.mode = 0100644u;
	n.uid = 1000 + seed;
	n.gid = 1000 + seed;
	n.mtime_ns = 1700000000000000000LL + seed;
	n.ctime_ns = 1700000000000000000LL + seed;
	n.inode = 4096 + seed;
	n.size = 100u * seed;
	if (kind == MV_NODE_FILE) {
		n.nchunks = seed % 3;
		n.chunks = n.nchunks ? malloc((size_t)n.nchunks * 32) : NULL;
		for (uint32_t i = 0; i < n.nchunks; i++)
			memset(n.chunks[i], (int)(seed + i), 32);
		memset(n.content, 0xc0, 32);
	} else if (kind == MV_NODE_DIR) {
		memset(n.subtree, 0xd0 + (int)seed, 32);
	} else if (kind == MV_NODE_SYMLINK) {
		n.target_len = 12;
		n.target = dup_bytes("../other/dir", 12);
	} else if (kind == MV_NODE_CHR || kind == MV_NODE_BLK) {
		n.rdev = 0x0801;
	}
	if (mv_tree_add(t, &n))
		die("out of memory");
}

/* A split tree (payload version 2) of count parts holding nodes nodes. */
static void split_seed(const char *name, uint64_t nodes, uint32_t count)
{
	uint8_t ids[8][32];
	struct mv_tree_parts tp = {.nodes = nodes, .count = count, .ids = ids};
	struct mv_wbuf w;

	if (count > 8)
		die(name);
	for (uint32_t i = 0; i < count; i++)
		for (unsigned j = 0; j < 32; j++)
			ids[i][j] = (uint8_t)(0xe0 + i * 5 + j);
	mv_wbuf_init(&w, 1u << 20);
	mv_tree_parts_encode(&tp, &w);
	write_seed("fuzz_tree", name, NULL, 0, &w);
	mv_wbuf_release(&w);
}

static void tree_seeds(void)
{
	struct mv_tree t;
	struct mv_wbuf w;

	mv_tree_init(&t);
	mv_wbuf_init(&w, 1u << 20);
	mv_tree_encode(&t, &w);
	write_seed("fuzz_tree", "empty", NULL, 0, &w);
	mv_wbuf_release(&w);

	add_node(&t, MV_NODE_FILE, 0, "IM000001.dcm", 1);
	add_node(&t, MV_NODE_FILE, MV_NODE_F_CHANGED, "IM000002.dcm", 2);
	add_node(&t, MV_NODE_FILE, MV_NODE_F_UNREADABLE, "locked", 3);
	add_node(&t, MV_NODE_DIR, 0, "\xc3\xa9tudes", 4);
	add_node(&t, MV_NODE_SYMLINK, 0, "latest", 5);
	add_node(&t, MV_NODE_FIFO, 0, "fifo", 6);
	add_node(&t, MV_NODE_CHR, 0, "tty0", 7);
	add_node(&t, MV_NODE_BLK, 0, "sda1", 8);
	add_node(&t, MV_NODE_SOCK, 0, "sock", 9);
	add_node(&t, MV_NODE_FIFO, 0, "caf\xe9 \xff", 10); /* not UTF-8 */
	if (mv_tree_sort(&t))
		die("duplicate names");
	mv_wbuf_init(&w, 1u << 20);
	mv_tree_encode(&t, &w);
	write_seed("fuzz_tree", "every_kind", NULL, 0, &w);
	mv_wbuf_release(&w);
	mv_tree_release(&t);

	add_node(&t, MV_NODE_DIR, 0, "srv", 1);
	mv_wbuf_init(&w, 1u << 20);
	mv_tree_encode(&t, &w);
	write_seed("fuzz_tree", "root_one_dir", NULL, 0, &w);
	mv_wbuf_release(&w);
	mv_tree_release(&t);

	split_seed("split_two_parts", MV_TREE_PART_NODES + 1, 2);
	split_seed("split_three_parts", 2 * MV_TREE_PART_NODES + 100, 3);
	split_seed("split_max_nodes", MV_TREE_SPLIT_MAX_NODES, 5);
}

static const struct mv_index_entry pack_a[] = {
    {1, {0x11, 1}, 0, 45, 0},
    {2, {0x22, 2}, 45, 1000, 5000},
    {3, {0x33, 3}, 2000, 300, 64u << 20},
};
static const struct mv_index_entry pack_b[] = {
    {1, {0x44, 4}, 0, 600000, 524288},
};

static void index_seeds(void)
{
	static const uint8_t sel_index = 0;
	uint8_t hdr_prefix[9] = {1};
	struct mv_index_pack packs[3];
	struct mv_wbuf w;

	memset(packs, 0, sizeof(packs));
	memset(packs[0].id, 0xa0, 32);
	packs[0].entries = pack_a;
	packs[0].count = 3;
	memset(packs[1].id, 0xb0, 32);
	packs[1].entries = pack_b;
	packs[1].count = 1;
	memset(packs[2].id, 0xc0, 32); /* empty pack */

	mv_wbuf_init(&w, 1u << 20);
	mv_index_encode(packs, 0, &w);
	write_seed("fuzz_index", "index_empty", &sel_index, 1, &w);
	mv_wbuf_release(&w);
	mv_index_encode(packs, 2, &w);
	write_seed("fuzz_index", "index_two_packs", &sel_index, 1, &w);
	mv_wbuf_release(&w);
	mv_index_encode(packs, 3, &w);
	write_seed("fuzz_index", "index_with_empty_pack", &sel_index, 1, &w);
	mv_wbuf_release(&w);

	mv_put_u64(hdr_prefix + 1, 2300);
	mv_packhdr_encode(pack_a, 3, &w);
	write_seed("fuzz_index", "packhdr_three", hdr_prefix, sizeof(hdr_prefix), &w);
	mv_wbuf_release(&w);
	mv_put_u64(hdr_prefix + 1, 600000);
	mv_packhdr_encode(pack_b, 1, &w);
	write_seed("fuzz_index", "packhdr_one", hdr_prefix, sizeof(hdr_prefix), &w);
	mv_wbuf_release(&w);
	mv_put_u64(hdr_prefix + 1, 0);
	mv_packhdr_encode(NULL, 0, &w);
	write_seed("fuzz_index", "packhdr_empty", hdr_prefix, sizeof(hdr_prefix), &w);
	mv_wbuf_release(&w);
}

static void snapshot_seeds(void)
{
	static const uint8_t sel_snap = 0, sel_lock = 1;
	char *paths[] = {"/srv/imaging", "/home/dr/caf\xe9"};
	char *tags[] = {"nightly"};
	struct mv_snapshot_error errs[] = {{"/srv/imaging/locked.dcm", "permission denied"}};
	struct mv_snapshot s;
	struct mv_lock_info l;
	struct mv_wbuf w;

	memset(&s, 0, sizeof(s));
	s.time_ns = 1718000000123456789LL;
	s.host = "cabinet";
	s.user = "root";
	s.paths = paths;
	s.npaths = 2;
	s.tags = tags;
	s.ntags = 1;
	memset(s.tree, 0x7e, 32);
	s.has_parent = 1;
	memset(s.parent, 0x9a, 32);
	s.summary.files_new = 10;
	s.summary.files_changed = 2;
	s.summary.files_unmodified = 300;
	s.summary.dirs = 12;
	s.summary.data_blobs = 40;
	s.summary.tree_blobs = 13;
	s.summary.bytes_added = 1u << 20;
	s.summary.bytes_processed = 1u << 30;
	s.summary.total_files = 312;
	s.summary.total_bytes = 5ull << 30;
	s.errors = errs;
	s.nerrors = 1;
	mv_wbuf_init(&w, 1u << 20);
	mv_snapshot_encode(&s, &w);
	write_seed("fuzz_snapshot", "snapshot_full", &sel_snap, 1, &w);
	mv_wbuf_release(&w);

	memset(&s, 0, sizeof(s));
	s.host = "h";
	s.user = "";
	mv_snapshot_encode(&s, &w);
	write_seed("fuzz_snapshot", "snapshot_minimal", &sel_snap, 1, &w);
	mv_wbuf_release(&w);

	memset(&l, 0, sizeof(l));
	l.time_ns = 1718000000123456789LL;
	l.pid = 4242;
	snprintf(l.host, sizeof(l.host), "nas-cabinet");
	l.exclusive = 1;
	mv_lock_encode(&l, &w);
	write_seed("fuzz_snapshot", "lock_exclusive", &sel_lock, 1, &w);
	mv_wbuf_release(&w);
	l.exclusive = 0;
	l.host[0] = '\0';
	mv_lock_encode(&l, &w);
	write_seed("fuzz_snapshot", "lock_shared_nohost", &sel_lock, 1, &w);
	mv_wbuf_release(&w);
	memset(l.boot_id, 0xb0, sizeof(l.boot_id)); /* version 2 */
	l.start_ticks = 123456;
	mv_lock_encode(&l, &w);
	write_seed("fuzz_snapshot", "lock_v2", &sel_lock, 1, &w);
	mv_wbuf_release(&w);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
		return 2;
	}
	root = argv[1];
	mkdir_p(root);
	tree_seeds();
	index_seeds();
	snapshot_seeds();
	return 0;
}
