/* A repository: config, keys, the in-memory index, and sealed objects. */
#ifndef MV_REPO_H
#define MV_REPO_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/backend/backend.h"
#include "core/repo/blob.h"
#include "core/repo/chunker.h"
#include "core/repo/crypto.h"
#include "core/util/err.h"
#include "core/repo/keys.h"
#include "formats/config.h"
#include "formats/index.h"
#include "formats/snapshot.h"
#include "formats/tree.h"

#define MV_FORMAT_VERSION      1u
#define MV_PACK_TARGET_DEFAULT (16u << 20)

struct mv_index; /* core/repo/memindex.h */

struct mv_lock;

/* The repository handle: opaque outside core/repo (its fields are in
 * core/repo/repo_impl.h); operations use the functions below and the
 * services in core/repo/index.h and core/repo/keyslots.h. */
struct mv_repo;

/* The handle's parts, for the operations (core/repo/access.c). */
struct mv_backend *mv_repo_backend(struct mv_repo *r);
const struct mv_config_fields *mv_repo_config(const struct mv_repo *r);
/* The config file's bytes as read (its MAC at the end); *len gets their
 * number. */
const uint8_t *mv_repo_config_raw(const struct mv_repo *r, size_t *len);
/* The keys for keyed hashes and sealing: NULL until unlocked. */
const struct mv_keys *mv_repo_keys(const struct mv_repo *r);
/* The repository's Ed25519 signing key pair (wipe certificates), derived
 * from sub-key 6 `sign` (FORMAT.md section 2): pk gets the public key, sk
 * (64 bytes the caller allocated with sodium_malloc and frees with
 * sodium_free, which wipes it) the secret key. Returns 0, or MV_ERR_USAGE
 * when r is not unlocked (pk and sk are then zeroed). */
int mv_repo_sign_keypair(struct mv_repo *r, uint8_t pk[32], uint8_t *sk) MV_MUST_CHECK;
/* The content-defined chunker: NULL until unlocked. */
const struct mv_chunker *mv_repo_chunker(const struct mv_repo *r);
/* The blob context of the thread that opened r (other threads use their
 * own, mv_blob_ctx_new). */
struct mv_blob_ctx *mv_repo_blob_ctx(struct mv_repo *r);
/* The lock held (core/repo/lock.h), or NULL. */
struct mv_lock *mv_repo_lock(const struct mv_repo *r);

/* How mv_repo_unlock opened the repository. The strings live as long as r. */
struct mv_unlock_info {
	int slot_kind;         /* MV_SLOT_PASSWORD, MV_SLOT_RECOVERY or MV_SLOT_MACHINE */
	const char *slot_name; /* the slot's file name in keys/ */
	int slots_skipped;     /* slots not tried: beyond the Argon2id caps or the work cap */
	const char *skip_msg;  /* why the first of them was skipped, naming it */
};
void mv_repo_unlock_info(const struct mv_repo *r, struct mv_unlock_info *out);
/* The Argon2id work one unlock may spend (default MV_UNLOCK_MAX_WORK);
 * set before mv_repo_unlock. */
void mv_repo_set_unlock_budget(struct mv_repo *r, uint64_t budget);

struct mv_init_opts {
	struct mv_kdf_params kdf;       /* zero = default (t=3, 64 MiB) */
	struct mv_chunker_params chunk; /* zero = default */
	/* NULL: the chunker key is derived from the master key (FORMAT.md 2).
	 * Else these 32 bytes are the chunker key, sealed in config (FORMAT.md
	 * 3.1; init --copy-chunker-params-from: files cut as in another
	 * repository). */
	const uint8_t *chunker_key;
	/* When set, called with the recovery key text once the key slots are
	 * written and before config is (the commit point): the repository is
	 * made only when it returns 0 (e.g. the key is safe in a file). */
	int (*recovery_sink)(void *arg, const char *text, struct mv_error *err);
	void *recovery_arg;
	/* who makes the repository, recorded for its first two key slots */
	struct mv_keyslot_origin origin;
};

/* Creates a repository at location with a password slot and a recovery
 * slot; writes the recovery key text to recovery_out. On failure the key
 * slots it wrote are removed again. Returns 0, MV_ERR_EXISTS (a repository
 * is there already), MV_ERR_IO, the sink's error, ... */
int mv_repo_init(const char *location, const uint8_t *password, size_t pwlen,
                 const struct mv_init_opts *opts, char recovery_out[MV_RECOVERY_TEXT_LEN + 1],
                 struct mv_error *err) MV_MUST_CHECK;

/* Opens and parses config. MV_ERR_NOREPO when there is none, MV_ERR_VERSION
 * for an unknown chunker or encoding, MV_ERR_INTEGRITY when malformed. A
 * config that claims a newer version is noted: mv_repo_unlock then checks
 * its MAC before it blames the version. */
int mv_repo_open(const char *location, struct mv_repo **out, struct mv_error *err) MV_MUST_CHECK;

/* The same on a backend stack opened by the caller (core/backend/backend.h;
 * a test's in-memory backend): r owns be from then on, also when this
 * fails. Messages name be->location. */
int mv_repo_open_backend(struct mv_backend *be, struct mv_repo **out,
                         struct mv_error *err) MV_MUST_CHECK;

/* Tries the key slots with the secret (a password, or recovery key text),
 * cheapest Argon2id work first (mv_keyslots_open, core/repo/keyslots.h);
 * then verifies the config MAC and builds the chunker. A slot beyond the
 * Argon2id caps (core/repo/keys.h) is never run, and one open spends at most
 * MV_UNLOCK_MAX_WORK: skipped slots are counted in mv_repo_unlock_info (its
 * skip_msg names the first). MV_ERR_PASSWORD when none opens, MV_ERR_LIMIT
 * when the work cap stopped the search first,
 * MV_ERR_INTEGRITY when the config MAC does not match, MV_ERR_VERSION when
 * an intact config has a newer version. */
int mv_repo_unlock(struct mv_repo *r, const uint8_t *secret, size_t len,
                   struct mv_error *err) MV_MUST_CHECK;

/* The same with a machine key (the 32 bytes of a key file), tried on the
 * machine key slots only. */
int mv_repo_unlock_machine(struct mv_repo *r, const uint8_t key[MV_KEY_LEN],
                           struct mv_error *err) MV_MUST_CHECK;

void mv_repo_close(struct mv_repo *r); /* accepts NULL */

/* Lists the packs (one listing), loads every index file into the index (core/repo/index.h), then
 * adds the blobs of listed packs that no index names, read from their headers
 * (left by an interrupted backup, or named only by a lost index file; they
 * are recorded as orphans, mv_repo_orphans). Packs that an index names but the listing
 * lacks are marked missing (mv_index_pack_missing); a blob with a copy in a
 * pack that exists is located there. A listing that fails is fatal when
 * `scan_orphans` (backup, which must know which packs exist); other readers go
 * on with what the index files say (counted in *damaged). Integrity errors of single index files
 * are reported through *damaged (count) and err's message but loading goes on; returns 0 or a fatal
 * error. */
int mv_repo_load_index(struct mv_repo *r, int scan_orphans, size_t *damaged,
                       struct mv_error *err) MV_MUST_CHECK;

/* Writes a sealed object (index, snapshot, lock) named by the hash of its
 * bytes. id_out may be NULL. */
int mv_repo_save_object(struct mv_repo *r, enum mv_ftype ft, uint8_t type, const void *payload,
                        size_t len, uint8_t id_out[32], struct mv_error *err) MV_MUST_CHECK;

/* The same with the calling thread's blob context (another thread than
 * the one that owns mv_repo_blob_ctx(r)). */
int mv_repo_save_object_ctx(struct mv_repo *r, struct mv_blob_ctx *ctx, enum mv_ftype ft,
                            uint8_t type, const void *payload, size_t len, uint8_t id_out[32],
                            struct mv_error *err) MV_MUST_CHECK;

/* Reads, verifies the file hash against the name, and opens a sealed object
 * (malloc'd payload in *out). */
int mv_repo_load_object(struct mv_repo *r, enum mv_ftype ft, uint8_t type, const char *name,
                        uint8_t **out, size_t *out_len, struct mv_error *err) MV_MUST_CHECK;

/* Lists the 64-hex-digit names of objects of type ft (malloc'd array). */
int mv_repo_list_names(struct mv_repo *r, enum mv_ftype ft, char (**names)[65], size_t *n,
                       struct mv_error *err) MV_MUST_CHECK;

/* Reads and authenticates a pack's header (the last 4 bytes and the sealed
 * header before them, with size from the listing), calling cb for each
 * entry. One request for headers up to 64 KiB, two beyond. Uses r->ctx. */
int mv_repo_read_pack_header(struct mv_repo *r, const char *name, uint64_t size,
                             int (*cb)(void *arg, const struct mv_index_entry *e), void *arg,
                             struct mv_error *err) MV_MUST_CHECK;

/* Reads and decodes a blob located through the index. ctx is the calling
 * thread's blob context; *out points into it. MV_ERR_NOTFOUND when not in
 * the index, MV_ERR_INTEGRITY when damaged. */
int mv_repo_read_blob(struct mv_repo *r, struct mv_blob_ctx *ctx, uint8_t type,
                      const uint8_t id[32], const uint8_t **out, size_t *out_len,
                      struct mv_error *err) MV_MUST_CHECK;

/* Loads a directory's tree whole: a version 1 tree blob, or every part of a
 * split one (FORMAT.md section 9.2), checked for order and count. */
int mv_repo_load_tree(struct mv_repo *r, struct mv_blob_ctx *ctx, const uint8_t id[32],
                      struct mv_tree *t, struct mv_error *err) MV_MUST_CHECK;

/* A directory's nodes in name order with one part in memory at a time
 * (core/repo/treeread.c). */
struct mv_tree_cursor {
	struct mv_repo *r;
	struct mv_blob_ctx *ctx;
	uint8_t id[32];
	struct mv_tree_parts parts; /* count 0: a version 1 tree */
	uint32_t next_part;
	struct mv_tree cur; /* the part in memory */
	size_t pos;
	uint64_t nodes; /* nodes loaded so far */
	int skipped;    /* a part could not be read */
	uint16_t last_len;
	uint8_t last[255]; /* the previous part's last name */
};

/* Opens the tree id: a version 1 tree is read whole, the parts of a split
 * one as the cursor reaches them. */
int mv_tree_cursor_open(struct mv_repo *r, struct mv_blob_ctx *ctx, const uint8_t id[32],
                        struct mv_tree_cursor *c, struct mv_error *err) MV_MUST_CHECK;
/* The next node: returns 1 (*n valid until the next call), 0 at the end, or
 * an error (MV_ERR_INTEGRITY for a malformed or missing part). After an
 * error in a part, the next call goes on with the following part, so a
 * reader can skip what one damaged part held and keep the rest. */
int mv_tree_cursor_next(struct mv_tree_cursor *c, const struct mv_node **n,
                        struct mv_error *err) MV_MUST_CHECK;
/* Looks name up, moving forward only: names must be asked in increasing
 * order (a smaller one is not found). Returns 1 (*n valid until the next
 * call), 0 when absent, or an error. */
int mv_tree_cursor_find(struct mv_tree_cursor *c, const uint8_t *name, size_t len,
                        const struct mv_node **n, struct mv_error *err) MV_MUST_CHECK;
void mv_tree_cursor_close(struct mv_tree_cursor *c); /* accepts a closed cursor */

/* All snapshots, sorted by time (oldest first). Damaged ones are skipped and
 * counted in *damaged. Free with mv_snapshots_free. */
int mv_repo_snapshots(struct mv_repo *r, struct mv_snapshot **out, size_t *n, size_t *damaged,
                      struct mv_error *err) MV_MUST_CHECK;
void mv_snapshots_free(struct mv_snapshot *s, size_t n);

/* Resolves "latest", a full id or a unique hex prefix (core/repo/snapfind.h,
 * without a filter; damaged files are passed over for "latest").
 * MV_ERR_NOTFOUND, MV_ERR_AMBIGUOUS, MV_ERR_INTEGRITY (the named snapshot's
 * file is damaged). */
int mv_repo_find_snapshot(struct mv_repo *r, const char *name, struct mv_snapshot *out,
                          struct mv_error *err) MV_MUST_CHECK;

#endif
