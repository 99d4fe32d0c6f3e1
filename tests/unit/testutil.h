/* Helpers shared by the unit tests: temporary directories, files, test
 * repositories and byte builders. Each helper fails the running cmocka
 * test (it asserts) instead of returning an error. */
#ifndef MV_TESTUTIL_H
#define MV_TESTUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mv_error;
struct mv_packer;
struct mv_repo;

/* The password of every test repository. */
#define TU_PASSWORD "Correct-Horse-Battery-9"

/* Room for a recovery key (MV_RECOVERY_TEXT_LEN + 1). */
#define TU_RECOVERY_LEN 128

/* Makes a new directory "/tmp/<prefix>.XXXXXX" (mode 0700) into dir. */
void tu_tmpdir(char *dir, size_t cap, const char *prefix);

/* Removes dir and everything below it. */
void tu_rm_rf(const char *dir);

/* Writes n bytes of p to path (created or truncated) with the given mode,
 * set with fchmod so that the umask does not narrow it. */
void tu_write_file(const char *path, const void *p, size_t n, mode_t mode);

/* The whole content of path (NUL-terminated, *len without the NUL); the
 * caller frees it. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* n deterministic pseudo-random bytes (same seed, same bytes); the caller
 * frees them. */
uint8_t *tu_random_data(size_t n, uint8_t seed_byte);

/* A temporary directory holding a repository at <dir>/repo. */
struct tu_repo_dir {
	char dir[64];
	char repo[128];
};

/* Makes the directory and a repository with TU_PASSWORD in it; its
 * recovery key into recovery when not NULL. */
void tu_repo_dir_make(struct tu_repo_dir *t, const char *prefix, char *recovery);

/* Opens the repository at loc and unlocks it with TU_PASSWORD: 0 and the
 * handle in *out, or the error (and *out NULL). */
int tu_repo_open_rc(const char *loc, struct mv_repo **out);

/* The same, asserting that it succeeds. */
struct mv_repo *tu_repo_open(const char *loc);

/* A cmocka fixture: a new repository (d), its recovery key and, with
 * tu_setup_repo_open, the repository open and unlocked (r). */
struct tu_fixture {
	struct tu_repo_dir d;
	struct mv_repo *r;
	char recovery[TU_RECOVERY_LEN];
};

int tu_setup_repo(void **state);
int tu_setup_repo_open(void **state);

/* Closes r, removes the directory, frees the fixture. */
int tu_teardown_repo(void **state);

/* A repository in a temporary directory, open and unlocked, its index
 * loaded, with a packer to store blobs. */
struct tu_trepo {
	struct tu_repo_dir d;
	struct mv_repo *r;
	struct mv_packer *packer;
};

void tu_trepo_open(struct tu_trepo *t, const char *prefix);

/* The store callback backup uses (arg: a struct tu_trepo): a blob of type
 * catalog into a pack, unless the index holds it already. */
int tu_trepo_store(void *arg, const uint8_t *payload, size_t len, uint8_t id[32],
                   struct mv_error *err);

/* Flushes the packer and writes its index. */
void tu_trepo_commit(struct tu_trepo *t);

/* Frees all and removes the directory. */
void tu_trepo_close(struct tu_trepo *t);

/* A growable byte buffer for building inputs. */
struct tu_buf {
	uint8_t *p;
	size_t len, cap;
};

void tu_buf_put(struct tu_buf *b, const void *v, size_t n);
void tu_buf_u16le(struct tu_buf *b, uint16_t v);
void tu_buf_u32le(struct tu_buf *b, uint32_t v);
void tu_buf_free(struct tu_buf *b);

/* A DICOM element in explicit VR little endian: OB, OW, SQ and UN in the
 * long form, the others in the short one; an odd value padded with a NUL
 * (UI, OB) or a space. */
void tu_dcm_elem(struct tu_buf *b, uint16_t g, uint16_t e, const char *vr, const void *v, size_t n);

/* The same for a string value. */
void tu_dcm_str(struct tu_buf *b, uint16_t g, uint16_t e, const char *vr, const char *s);

/* A repository in the in-memory store s (core/backend/mem.h) under a fast
 * retry layer, unlocked with the recovery key text (no Argon2id per run);
 * with load, its index loaded (with the headers of the packs no index
 * names when scan_orphans). Returns 0 and the handle in *out, or the error
 * (and *out NULL). */
struct mv_mem_store;
int tu_mem_open(struct mv_mem_store *s, const char *recovery, int load, int scan_orphans,
                struct mv_repo **out, struct mv_error *err);

/* A dump sink (core/ops/dump.h) that hashes every path, size and byte it
 * is handed into st, a crypto_generichash_state the caller initialised. */
struct mv_dump_sink;
void tu_digest_sink(struct mv_dump_sink *sink, void *st);

/* A hash of what dump gives for the snapshot name ("latest", an id): every
 * path, size and byte. Returns dump's result. */
int tu_dump_digest(struct mv_repo *r, const char *name, uint8_t out[32], struct mv_error *err);

#endif
