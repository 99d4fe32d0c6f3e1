/* The per-pack batch read (core/repo/packread.c) over a real repository: few
 * get() calls, every blob decoded, damage reported per blob, a failed read
 * kept apart from damage, the whole-pack hash. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/repo/crypto.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/packer.h"
#include "core/repo/packread.h"
#include "core/repo/repo.h"

#define PW     "Correct-Horse-Battery-9"
#define NBLOBS 5

/* Blob 3 is large and incompressible: blobs 0-2 and 4 lie more than the
 * merge gap apart from one another around it when it is not wanted. */
static const size_t sizes[NBLOBS] = {1000, 20000, 70000, 1600000, 300};

struct fixture {
	char dir[64];
	struct mv_repo *r;
	uint8_t *data[NBLOBS];
	uint8_t id[NBLOBS][32];
	struct mv_pack_want w[NBLOBS];
	uint8_t pack_id[32];
	uint64_t pack_size;
	struct mv_backend_ops ops; /* the local backend's, get() wrapped */
	const struct mv_backend_ops *local;
	int gets;
	int fail_gets; /* get() fails with MV_ERR_IO */
};

static struct fixture *the; /* for the wrapped get() */

static int counting_get(struct mv_backend *b, enum mv_ftype t, const char *name, uint64_t off,
                        void *buf, size_t len, struct mv_error *err)
{
	the->gets++;
	if (the->fail_gets)
		return mv_error_set(err, MV_ERR_IO, 5, "cannot read '%s': Input/output error",
		                    name);
	return the->local->get(b, t, name, off, buf, len, err);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int want_cmp(const void *a, const void *b)
{
	const struct mv_pack_want *x = a, *y = b;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mv_error err = {0};
	char loc[96], rec[MV_RECOVERY_TEXT_LEN + 1];
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mvpr.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(loc, sizeof(loc), "%s/repo", f->dir);
	assert_int_equal(mv_repo_init(loc, (const uint8_t *)PW, strlen(PW), NULL, rec, &err), 0);
	assert_int_equal(mv_repo_open(loc, &f->r, &err), 0);
	assert_int_equal(mv_repo_unlock(f->r, (const uint8_t *)PW, strlen(PW), &err), 0);
	assert_int_equal(mv_repo_load_index(f->r, 0, NULL, &err), 0);
	struct mv_packer *p = mv_packer_new(f->r);
	assert_non_null(p);
	for (size_t i = 0; i < NBLOBS; i++) {
		f->data[i] = malloc(sizes[i]);
		assert_non_null(f->data[i]);
		if (i == 3)
			randombytes_buf(f->data[i], sizes[i]);
		else
			for (size_t k = 0; k < sizes[i]; k++)
				f->data[i][k] = (uint8_t)("medvault"[k % 8] + i);
		mv_blob_id(mv_repo_keys(f->r), f->data[i], sizes[i], f->id[i]);
		struct mv_blob_loc loc0 = {
		    .pack = MV_PACK_NONE, .type = MV_T_DATA, .raw_length = (uint32_t)sizes[i]};
		memcpy(loc0.id, f->id[i], 32);
		assert_int_equal(mv_repo_index_add(f->r, &loc0), 0);
		const uint8_t *sealed;
		size_t slen;
		assert_int_equal(mv_blob_encode(mv_repo_blob_ctx(f->r), mv_repo_keys(f->r),
		                                MV_T_DATA, f->id[i], f->data[i], sizes[i], &sealed,
		                                &slen, &err),
		                 0);
		assert_int_equal(
		    mv_packer_add(p, MV_T_DATA, f->id[i], sealed, slen, sizes[i], &err), 0);
	}
	assert_int_equal(mv_packer_flush(p, &err), 0);
	mv_packer_free(p);
	for (size_t i = 0; i < NBLOBS; i++) {
		struct mv_blob_loc l;
		assert_true(mv_repo_index_lookup(f->r, f->id[i], &l));
		mv_repo_index_pack_id(f->r, l.pack, f->pack_id);
		f->w[i] = (struct mv_pack_want){.id = f->id[i],
		                                .type = l.type,
		                                .offset = l.offset,
		                                .length = l.length,
		                                .raw_length = l.raw_length};
	}
	qsort(f->w, NBLOBS, sizeof(f->w[0]), want_cmp);
	char name[65];
	mv_hex(f->pack_id, 32, name);
	assert_int_equal(mv_repo_backend(f->r)->ops->size(mv_repo_backend(f->r), MV_FT_PACK, name,
	                                                  &f->pack_size, &err),
	                 0);
	f->local = mv_repo_backend(f->r)->ops;
	f->ops = *f->local;
	f->ops.get = counting_get;
	mv_repo_backend(f->r)->ops = &f->ops;
	the = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	mv_repo_backend(f->r)->ops = f->local;
	mv_repo_close(f->r);
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < NBLOBS; i++)
		free(f->data[i]);
	free(f);
	return 0;
}

/* What the callback saw, per wanted blob. */
struct seen {
	struct fixture *f;
	const struct mv_pack_want *w;
	int calls[NBLOBS];
	int rc[NBLOBS];
	int intact[NBLOBS]; /* the plaintext is the blob's */
};

static int on_blob(void *arg, size_t i, int rc, const uint8_t *plain, size_t len,
                   const struct mv_error *e)
{
	struct seen *s = arg;
	assert_true(i < NBLOBS);
	s->calls[i]++;
	s->rc[i] = rc;
	if (rc) {
		assert_null(plain);
		assert_int_equal(e->code, rc);
		return 0;
	}
	for (size_t k = 0; k < NBLOBS; k++)
		if (!memcmp(s->w[i].id, s->f->id[k], 32))
			s->intact[i] = len == sizes[k] && !memcmp(plain, s->f->data[k], len);
	return 0;
}

static void read_all(struct fixture *f, const struct mv_pack_want *w, size_t n, unsigned flags,
                     struct seen *s, struct mv_pack_status *st)
{
	struct mv_error err = {0};
	struct mv_pack_reader *pr = mv_pack_reader_new(1);
	assert_non_null(pr);
	memset(s, 0, sizeof(*s));
	s->f = f;
	s->w = w;
	f->gets = 0;
	assert_int_equal(
	    mv_pack_read(pr, f->r, f->pack_id, f->pack_size, w, n, flags, on_blob, s, st, &err), 0);
	mv_pack_reader_free(pr);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s->calls[i], 1);
}

static void test_packread__one_get_for_adjacent_blobs(void **state)
{
	struct fixture *f = *state;
	struct seen s;
	struct mv_pack_status st;
	read_all(f, f->w, NBLOBS, MV_PACKREAD_RAWLEN, &s, &st);
	assert_int_equal(f->gets, 1);
	assert_int_equal(st.read_rc, 0);
	assert_int_equal(st.damaged, 0);
	for (size_t i = 0; i < NBLOBS; i++) {
		assert_int_equal(s.rc[i], 0);
		assert_true(s.intact[i]);
	}
}

static void test_packread__distant_blobs_read_apart(void **state)
{
	struct fixture *f = *state;
	struct mv_pack_want w[2];
	struct seen s;
	struct mv_pack_status st;
	/* the first and the last blob, with the large one between them */
	w[0] = f->w[0];
	w[1] = f->w[NBLOBS - 1];
	assert_true(w[1].offset - (w[0].offset + w[0].length) > (1u << 20));
	read_all(f, w, 2, 0, &s, &st);
	assert_int_equal(f->gets, 2);
	assert_true(s.intact[0] && s.intact[1]);
}

static void test_packread__whole_checks_the_name(void **state)
{
	struct fixture *f = *state;
	struct seen s;
	struct mv_pack_status st;
	read_all(f, f->w, NBLOBS, MV_PACKREAD_WHOLE | MV_PACKREAD_RAWLEN, &s, &st);
	assert_int_equal(f->gets, 1);
	assert_true(st.hash_ok);
	assert_int_equal(st.damaged, 0);
}

/* Flips the byte at `at` of the fixture's pack file. */
static void flip(struct fixture *f, off_t at)
{
	char name[65], path[256];
	mv_hex(f->pack_id, 32, name);
	snprintf(path, sizeof(path), "%s/repo/data/%.2s/%s", f->dir, name, name);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0x01;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
}

static void test_packread__damage_is_per_blob(void **state)
{
	struct fixture *f = *state;
	struct seen s;
	struct mv_pack_status st;
	flip(f, (off_t)f->w[2].offset + f->w[2].length / 2);

	read_all(f, f->w, NBLOBS, MV_PACKREAD_RAWLEN, &s, &st);
	assert_int_equal(st.read_rc, 0); /* the read worked: damage, not an I/O error */
	assert_int_equal(st.damaged, 1);
	for (size_t i = 0; i < NBLOBS; i++)
		assert_int_equal(s.rc[i], i == 2 ? MV_ERR_INTEGRITY : 0);
	read_all(f, f->w, NBLOBS, MV_PACKREAD_WHOLE, &s, &st);
	assert_false(st.hash_ok);
	assert_int_equal(st.damaged, 1);
}

/* A whole read that wants every blob of the pack relies on the tags of the
 * header and the blobs instead of the pack's hash: a flipped bit anywhere
 * (blobs, header, its length) must still be found. One that wants fewer
 * blobs hashes the pack: a flip in a blob not wanted is found too. */
static void test_packread__whole_finds_a_flip_anywhere(void **state)
{
	struct fixture *f = *state;
	struct seen s;
	struct mv_pack_status st;
	uint64_t data_len = (uint64_t)f->w[NBLOBS - 1].offset + f->w[NBLOBS - 1].length;
	off_t at[4 * NBLOBS + 8];
	size_t nat = 0;
	for (size_t i = 0; i < NBLOBS; i++) {
		at[nat++] = (off_t)f->w[i].offset;                      /* nonce */
		at[nat++] = (off_t)f->w[i].offset + 30;                 /* ciphertext */
		at[nat++] = (off_t)f->w[i].offset + f->w[i].length - 1; /* tag */
	}
	at[nat++] = (off_t)data_len;                                       /* header nonce */
	at[nat++] = (off_t)(data_len + (f->pack_size - 4 - data_len) / 2); /* header */
	for (off_t k = 4; k >= 1; k--)
		at[nat++] = (off_t)f->pack_size - k; /* header length */
	for (size_t j = 0; j < nat; j++) {
		flip(f, at[j]);
		read_all(f, f->w, NBLOBS, MV_PACKREAD_WHOLE | MV_PACKREAD_RAWLEN, &s, &st);
		if (st.hash_ok && !st.damaged && !st.read_rc)
			fail_msg("a flip at byte %lld of %llu went unseen", (long long)at[j],
			         (unsigned long long)f->pack_size);
		flip(f, at[j]);
	}
	read_all(f, f->w, NBLOBS, MV_PACKREAD_WHOLE | MV_PACKREAD_RAWLEN, &s, &st);
	assert_true(st.hash_ok);

	/* blob 2 not wanted, and damaged: the hash finds it */
	struct mv_pack_want w[NBLOBS - 1];
	memcpy(w, f->w, 2 * sizeof(w[0]));
	memcpy(w + 2, f->w + 3, (NBLOBS - 3) * sizeof(w[0]));
	read_all(f, w, NBLOBS - 1, MV_PACKREAD_WHOLE, &s, &st);
	assert_true(st.hash_ok);
	flip(f, (off_t)f->w[2].offset + 30);
	read_all(f, w, NBLOBS - 1, MV_PACKREAD_WHOLE, &s, &st);
	assert_false(st.hash_ok);
	assert_int_equal(st.damaged, 0);
}

static void test_packread__io_error_is_not_damage(void **state)
{
	struct fixture *f = *state;
	struct seen s;
	struct mv_pack_status st;
	f->fail_gets = 1;
	read_all(f, f->w, NBLOBS, 0, &s, &st);
	f->fail_gets = 0;
	assert_int_equal(st.read_rc, MV_ERR_IO);
	assert_non_null(strstr(st.read_err.msg, "Input/output error"));
	for (size_t i = 0; i < NBLOBS; i++)
		assert_int_equal(s.rc[i], MV_ERR_IO);
}

static void test_packread__missing_pack(void **state)
{
	struct fixture *f = *state;
	struct seen s;
	struct mv_pack_status st;
	f->pack_id[0] ^= 1;
	read_all(f, f->w, NBLOBS, 0, &s, &st);
	f->pack_id[0] ^= 1;
	assert_int_equal(st.read_rc, MV_ERR_NOTFOUND);
	for (size_t i = 0; i < NBLOBS; i++)
		assert_int_equal(s.rc[i], MV_ERR_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_packread__one_get_for_adjacent_blobs, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_packread__distant_blobs_read_apart, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_packread__whole_checks_the_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_packread__damage_is_per_blob, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_packread__whole_finds_a_flip_anywhere, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_packread__io_error_is_not_damage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_packread__missing_pack, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
