/* Helpers shared by the unit tests (testutil.h). */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/backend/mem.h"
#include "core/backend/retry.h"
#include "core/ops/dump.h"
#include "core/repo/blob.h"
#include "core/repo/crypto.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/packer.h"
#include "core/repo/repo.h"
#include "core/util/grow.h"
#include "tests/unit/testutil.h"

void tu_tmpdir(char *dir, size_t cap, const char *prefix)
{
	int n = snprintf(dir, cap, "/tmp/%s.XXXXXX", prefix);
	assert_true(n > 0 && (size_t)n < cap);
	assert_non_null(mkdtemp(dir));
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void tu_rm_rf(const char *dir)
{
	assert_int_equal(nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS), 0);
}

void tu_write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	if (n)
		assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *p;
	size_t got = 0;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_int_equal(close(fd), 0);
	p[got] = '\0';
	*len = got;
	return p;
}

uint8_t *tu_random_data(size_t n, uint8_t seed_byte)
{
	uint8_t seed[randombytes_SEEDBYTES];
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	memset(seed, seed_byte, sizeof(seed));
	randombytes_buf_deterministic(p, n, seed);
	return p;
}

void tu_repo_dir_make(struct tu_repo_dir *t, const char *prefix, char *recovery)
{
	struct mv_init_opts io = {0};
	struct mv_error err = {0};
	char rec[MV_RECOVERY_TEXT_LEN + 1];

	tu_tmpdir(t->dir, sizeof(t->dir), prefix);
	snprintf(t->repo, sizeof(t->repo), "%s/repo", t->dir);
	assert_int_equal(mv_repo_init(t->repo, (const uint8_t *)TU_PASSWORD, strlen(TU_PASSWORD),
	                              &io, recovery ? recovery : rec, &err),
	                 0);
}

int tu_repo_open_rc(const char *loc, struct mv_repo **out)
{
	struct mv_repo *r = NULL;
	struct mv_error err = {0};
	int rc = mv_repo_open(loc, &r, &err);
	if (rc == 0)
		rc = mv_repo_unlock(r, (const uint8_t *)TU_PASSWORD, strlen(TU_PASSWORD), &err);
	if (rc) {
		mv_repo_close(r);
		r = NULL;
	}
	*out = r;
	return rc;
}

struct mv_repo *tu_repo_open(const char *loc)
{
	struct mv_repo *r = NULL;
	assert_int_equal(tu_repo_open_rc(loc, &r), 0);
	return r;
}

_Static_assert(TU_RECOVERY_LEN >= MV_RECOVERY_TEXT_LEN + 1, "TU_RECOVERY_LEN too small");

int tu_setup_repo(void **state)
{
	struct tu_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_repo_dir_make(&f->d, "mvtest", f->recovery);
	*state = f;
	return 0;
}

int tu_setup_repo_open(void **state)
{
	tu_setup_repo(state);
	struct tu_fixture *f = *state;
	f->r = tu_repo_open(f->d.repo);
	return 0;
}

int tu_teardown_repo(void **state)
{
	struct tu_fixture *f = *state;
	mv_repo_close(f->r);
	tu_rm_rf(f->d.dir);
	free(f);
	return 0;
}

void tu_trepo_open(struct tu_trepo *t, const char *prefix)
{
	struct mv_error err = {0};

	tu_repo_dir_make(&t->d, prefix, NULL);
	t->r = tu_repo_open(t->d.repo);
	assert_int_equal(mv_repo_load_index(t->r, 0, NULL, &err), 0);
	t->packer = mv_packer_new(t->r);
	assert_non_null(t->packer);
}

int tu_trepo_store(void *arg, const uint8_t *payload, size_t len, uint8_t id[32],
                   struct mv_error *err)
{
	struct tu_trepo *t = arg;
	const uint8_t *sealed;
	size_t slen;

	mv_blob_id(mv_repo_keys(t->r), payload, len, id);
	struct mv_blob_loc loc = {
	    .pack = MV_PACK_NONE, .type = MV_T_CATALOG, .raw_length = (uint32_t)len};
	memcpy(loc.id, id, 32);
	int rc = mv_repo_index_add(t->r, &loc);
	if (rc < 0)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc == 1)
		return 0;
	rc = mv_blob_encode(mv_repo_blob_ctx(t->r), mv_repo_keys(t->r), MV_T_CATALOG, id, payload,
	                    len, &sealed, &slen, err);
	if (rc)
		return rc;
	return mv_packer_add(t->packer, MV_T_CATALOG, id, sealed, slen, len, err);
}

void tu_trepo_commit(struct tu_trepo *t)
{
	struct mv_error err = {0};
	assert_int_equal(mv_packer_flush(t->packer, &err), 0);
	assert_int_equal(mv_packer_write_index(t->packer, &err), 0);
}

void tu_trepo_close(struct tu_trepo *t)
{
	mv_packer_free(t->packer);
	mv_repo_close(t->r);
	tu_rm_rf(t->d.dir);
}

void tu_buf_put(struct tu_buf *b, const void *v, size_t n)
{
	assert_true(n <= SIZE_MAX - b->len);
	assert_int_equal(mv_grow(b->p, b->cap, b->len + n), 0);
	if (n)
		memcpy(b->p + b->len, v, n);
	b->len += n;
}

void tu_buf_u16le(struct tu_buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	tu_buf_put(b, x, 2);
}

void tu_buf_u32le(struct tu_buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	tu_buf_put(b, x, 4);
}

void tu_buf_free(struct tu_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void tu_dcm_elem(struct tu_buf *b, uint16_t g, uint16_t e, const char *vr, const void *v, size_t n)
{
	int lng = !strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "SQ") || !strcmp(vr, "UN");
	size_t padded = n + (n & 1);
	tu_buf_u16le(b, g);
	tu_buf_u16le(b, e);
	tu_buf_put(b, vr, 2);
	if (lng) {
		tu_buf_u16le(b, 0);
		tu_buf_u32le(b, (uint32_t)padded);
	} else {
		tu_buf_u16le(b, (uint16_t)padded);
	}
	tu_buf_put(b, v, n);
	if (n & 1)
		tu_buf_put(b, !strcmp(vr, "UI") || !strcmp(vr, "OB") ? "\0" : " ", 1);
}

void tu_dcm_str(struct tu_buf *b, uint16_t g, uint16_t e, const char *vr, const char *s)
{
	tu_dcm_elem(b, g, e, vr, s, strlen(s));
}

int tu_mem_open(struct mv_mem_store *s, const char *recovery, int load, int scan_orphans,
                struct mv_repo **out, struct mv_error *err)
{
	static const struct mv_retry_params fast = {.attempts = 4, .base_ns = 1000, .max_ns = 8000};
	struct mv_backend *m, *b;
	size_t damaged;
	*out = NULL;
	int rc = mv_backend_mem_open(s, &m, err);
	if (rc == 0)
		rc = mv_backend_retry_wrap(m, &fast, &b, err);
	if (rc == 0)
		rc = mv_repo_open_backend(b, out, err);
	if (rc == 0)
		rc = mv_repo_unlock(*out, (const uint8_t *)recovery, strlen(recovery), err);
	if (rc == 0 && load)
		rc = mv_repo_load_index(*out, scan_orphans, &damaged, err);
	if (rc) {
		mv_repo_close(*out);
		*out = NULL;
	}
	return rc;
}

static int dd_begin(void *arg, const char *path, const struct mv_node *n, struct mv_error *err)
{
	(void)err;
	crypto_generichash_update(arg, (const uint8_t *)path, strlen(path) + 1);
	crypto_generichash_update(arg, (const uint8_t *)&n->size, sizeof(n->size));
	return 0;
}

static int dd_data(void *arg, const uint8_t *buf, size_t len, struct mv_error *err)
{
	(void)err;
	crypto_generichash_update(arg, buf, len);
	return 0;
}

static int dd_end(void *arg, struct mv_error *err)
{
	(void)arg;
	(void)err;
	return 0;
}

void tu_digest_sink(struct mv_dump_sink *sink, void *st)
{
	*sink = (struct mv_dump_sink){dd_begin, dd_data, dd_end, st};
}

int tu_dump_digest(struct mv_repo *r, const char *name, uint8_t out[32], struct mv_error *err)
{
	struct mv_snapshot s;
	struct mv_dump_result res;
	crypto_generichash_state st;
	int rc = mv_repo_find_snapshot(r, name, &s, err);
	if (rc)
		return rc;
	crypto_generichash_init(&st, NULL, 0, 32);
	struct mv_dump_sink sink;
	tu_digest_sink(&sink, &st);
	rc = mv_dump(r, &s, NULL, &sink, NULL, &res, err);
	crypto_generichash_final(&st, out, 32);
	mv_snapshot_release(&s);
	return rc;
}
