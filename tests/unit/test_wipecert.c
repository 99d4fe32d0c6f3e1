/* Unit tests of the wipe certificate: core/wipe/sign.c (the signed file),
 * cli/wipecert.c (the certificate object, writing, verifying), cli/wipepdf.c
 * (the PDF) and the repository's signing key (mv_repo_sign_keypair). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cli/wipecert.h"
#include "core/repo/repo.h"
#include "core/wipe/sign.h"
#include "testutil.h"

#define OPERATOR "Cabinet Dupont IT"

struct keypair {
	uint8_t pk[MV_SIGN_PK_LEN];
	uint8_t *sk;
};

static void keypair_new(struct keypair *k)
{
	k->sk = sodium_malloc(MV_SIGN_SK_LEN);
	assert_non_null(k->sk);
	assert_int_equal(crypto_sign_ed25519_keypair(k->pk, k->sk), 0);
}

static void keypair_free(struct keypair *k)
{
	sodium_free(k->sk);
}

static int setup(void **state)
{
	(void)state;
	return mv_crypto_init() == 0 ? 0 : -1;
}

/* A report of nitems files: the first wiped, the second refused (with a
 * name that is not UTF-8), the others wiped with long names. */
static struct mv_wipe_report *report_new(size_t nitems)
{
	struct mv_wipe_report *rep = calloc(1, sizeof(*rep));

	assert_non_null(rep);
	rep->mode = MV_WIPE_FILES;
	rep->start = 1796668800; /* 2026-12-07T18:40:00Z */
	rep->end = 1796668860;
	snprintf(rep->operator_name, sizeof(rep->operator_name), "%s", OPERATOR);
	snprintf(rep->host, sizeof(rep->host), "cabinet-pc");
	snprintf(rep->tool, sizeof(rep->tool), "medvault 0.1.0");
	snprintf(rep->method, sizeof(rep->method), "overwrite (NIST SP 800-88 Clear)");
	rep->passes = 1;
	snprintf(rep->pattern, sizeof(rep->pattern), "random");
	snprintf(rep->verification, sizeof(rep->verification),
	         "read back and compared, every byte");
	rep->verified = 1;
	snprintf(rep->target, sizeof(rep->target), "/media/old-disk/IMAGERIE");
	rep->has_repo = 1;
	memset(rep->repo_id, 0xab, sizeof(rep->repo_id));
	rep->has_snapshot = 1;
	memset(rep->snapshot, 0xcd, sizeof(rep->snapshot));
	rep->backup_checked = 1;
	snprintf(rep->medium.kind, sizeof(rep->medium.kind), "rotational disk");
	snprintf(rep->medium.fs_type, sizeof(rep->medium.fs_type), "ext4");
	snprintf(rep->medium.device, sizeof(rep->medium.device), "sdb");
	snprintf(rep->medium.vendor, sizeof(rep->medium.vendor), "ATA");
	snprintf(rep->medium.model, sizeof(rep->medium.model), "WDC WD5000AAKX");
	snprintf(rep->medium.serial, sizeof(rep->medium.serial), "WD-WCAYUJ123456");
	rep->medium.size = 500107862016ull;
	snprintf(rep->limits, sizeof(rep->limits),
	         "names of wiped files and folders may remain in directory blocks and the "
	         "journal; a device wipe is the remedy");
	rep->nitems = nitems;
	rep->items = calloc(nitems, sizeof(*rep->items));
	assert_non_null(rep->items);
	for (size_t i = 0; i < nitems; i++) {
		struct mv_wipe_item *it = &rep->items[i];
		char name[512];
		if (i == 0)
			snprintf(name, sizeof(name), "/media/old-disk/IMAGERIE/IRM-genou.dcm");
		else if (i == 1)
			snprintf(name, sizeof(name),
			         "/media/old-disk/IMAGERIE/Ren\xe9-\x1b[31m.dcm");
		else
			snprintf(
			    name, sizeof(name),
			    "/media/old-disk/IMAGERIE/"
			    "%04zu-a-rather-long-folder-name-for-a-patient/"
			    "study-with-an-equally-long-description/series-%zu/last-file-%04zu.dcm",
			    i, i, i);
		it->path = strdup(name);
		assert_non_null(it->path);
		it->size = 1000 + i;
		it->has_content = 1;
		memset(it->content, (int)i, sizeof(it->content));
		it->has_snapshot = 1;
		memset(it->snapshot, 0xcd, sizeof(it->snapshot));
		it->status = i == 1 ? MV_WIPE_REFUSED : MV_WIPE_WIPED;
		if (i == 1) {
			it->reason =
			    strdup("changed since the backup: its content is not in the snapshot");
			assert_non_null(it->reason);
		}
	}
	return rep;
}

static void report_free(struct mv_wipe_report *rep)
{
	for (size_t i = 0; i < rep->nitems; i++) {
		free(rep->items[i].path);
		free(rep->items[i].reason);
	}
	free(rep->items);
	free(rep);
}

/* A small signed file around a small certificate object. */
static uint8_t *small_file(const struct keypair *k, size_t *len)
{
	static const char obj[] = "{\n    \"operator\": \"A\"\n  }";
	uint8_t *file;
	struct mv_error err = {0};

	assert_int_equal(
	    mv_cert_sign((const uint8_t *)obj, strlen(obj), k->pk, k->sk, &file, len, &err), 0);
	return file;
}

static void test_wipecert__roundtrip(void **state)
{
	struct keypair k;
	struct mv_wipe_report *rep = report_new(3);
	struct mv_cert_verified v;
	struct mv_error err = {0};
	uint8_t *file;
	char *obj;
	size_t len, olen;

	(void)state;
	keypair_new(&k);
	assert_int_equal(cli_wipecert_build(rep, k.pk, k.sk, &file, &len, &err), 0);
	assert_int_equal(cli_wipecert_object(rep, &obj, &olen, &err), 0);
	assert_int_equal(mv_cert_verify(file, len, NULL, &v, &err), 0);
	assert_memory_equal(v.pk, k.pk, sizeof(k.pk));
	assert_int_equal(v.cert_len, olen);
	assert_memory_equal(v.cert, obj, olen);
	assert_int_equal(mv_cert_verify(file, len, k.pk, &v, &err), 0);
	assert_int_equal(strlen(v.fingerprint), MV_CERT_FPR_LEN);
	assert_memory_equal(v.fingerprint, "MV-", 3);
	/* the fields are there, the bytes that are not UTF-8 replaced and
	 * the escape character escaped */
	assert_non_null(strstr(obj, "\"name\": \"" OPERATOR "\""));
	assert_non_null(strstr(obj, "\"method_type\": \"Clear\""));
	assert_non_null(strstr(obj, "\"start\": \"2026-12-07T18:40:00Z\""));
	assert_non_null(strstr(obj, "\"serial\": \"WD-WCAYUJ123456\""));
	assert_non_null(strstr(obj, "\"status\": \"refused\""));
	assert_non_null(strstr(obj, "Ren\xef\xbf\xbd-\\u001b[31m.dcm"));
	assert_non_null(strstr(obj, "\"wiped\": 2"));
	assert_null(memchr(obj, 0x1b, olen));
	/* one item per line */
	assert_non_null(strstr(obj,
	                       "\n      {\"path\": \"/media/old-disk/IMAGERIE/IRM-genou.dcm\", "
	                       "\"size\": 1000, \"content\": \"0000"));
	free(obj);
	free(file);
	keypair_free(&k);
	report_free(rep);
}

/* A key pair and a small signed file (the fixture of the tests that break
 * the file). */
struct small {
	struct keypair k;
	uint8_t *file;
	size_t len;
};

static int small_setup(void **state)
{
	struct small *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	keypair_new(&t->k);
	t->file = small_file(&t->k, &t->len);
	*state = t;
	return 0;
}

static int small_teardown(void **state)
{
	struct small *t = *state;

	free(t->file);
	keypair_free(&t->k);
	free(t);
	return 0;
}

static void test_wipecert__every_byte_change_fails(void **state)
{
	static const uint8_t masks[] = {0x01, 0x02, 0x20, 0x40, 0x80, 0xff};
	struct small *t = *state;
	struct mv_cert_verified v;
	struct mv_error err = {0};
	size_t len = t->len;
	uint8_t *file = t->file;

	assert_int_equal(mv_cert_verify(file, len, NULL, &v, &err), 0);
	for (size_t i = 0; i < len; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			file[i] ^= masks[m];
			int rc = mv_cert_verify(file, len, NULL, &v, &err);
			if (rc != MV_ERR_INTEGRITY)
				fail_msg("changing byte %zu (^0x%02x) verified", i, masks[m]);
			assert_null(v.cert);
			file[i] ^= masks[m];
		}
	}
	assert_int_equal(mv_cert_verify(file, len, NULL, &v, &err), 0);
}

static void test_wipecert__added_bytes_fail(void **state)
{
	struct small *t = *state;
	struct mv_cert_verified v;
	struct mv_error err = {0};
	size_t len = t->len;
	uint8_t *file = t->file, *more;

	more = malloc(len + 1);
	assert_non_null(more);
	memcpy(more, file, len);
	for (int c = 0; c < 256; c++) {
		more[len] = (uint8_t)c;
		assert_int_equal(mv_cert_verify(more, len + 1, NULL, &v, &err), MV_ERR_INTEGRITY);
	}
	/* a byte inserted before the signature line */
	memcpy(more, file, len - MV_CERT_TAIL_LEN);
	more[len - MV_CERT_TAIL_LEN] = ' ';
	memcpy(more + len - MV_CERT_TAIL_LEN + 1, file + len - MV_CERT_TAIL_LEN, MV_CERT_TAIL_LEN);
	assert_int_equal(mv_cert_verify(more, len + 1, NULL, &v, &err), MV_ERR_INTEGRITY);
	free(more);
}

static void test_wipecert__truncated_fails(void **state)
{
	struct small *t = *state;
	struct mv_cert_verified v;
	struct mv_error err = {0};
	size_t len = t->len;
	uint8_t *file = t->file;

	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1); /* its own buffer: ASan sees over-reads */
		assert_non_null(cut);
		memcpy(cut, file, n);
		assert_int_equal(mv_cert_verify(cut, n, NULL, &v, &err), MV_ERR_INTEGRITY);
		free(cut);
	}
	assert_non_null(strstr(err.msg, "certificate"));
	/* larger than a certificate may be: refused before any byte is read */
	assert_int_equal(mv_cert_verify(file, MV_CERT_MAX + 1, NULL, &v, &err), MV_ERR_INTEGRITY);
	assert_non_null(strstr(err.msg, "64 MiB"));
}

static void test_wipecert__resigned_with_another_key(void **state)
{
	struct keypair a, b;
	struct mv_cert_verified v;
	struct mv_error err = {0};
	size_t la, lb;
	uint8_t *fa, *fb;
	char fpr_a[MV_CERT_FPR_LEN + 1], fpr_b[MV_CERT_FPR_LEN + 1];

	(void)state;
	keypair_new(&a);
	keypair_new(&b);
	fa = small_file(&a, &la);
	fb = small_file(&b, &lb);
	mv_cert_fingerprint(a.pk, fpr_a);
	mv_cert_fingerprint(b.pk, fpr_b);
	assert_string_not_equal(fpr_a, fpr_b);
	assert_int_equal(lb, la);
	assert_int_equal(mv_cert_verify(fb, lb, NULL, &v, &err), 0);
	assert_string_equal(v.fingerprint, fpr_b);
	assert_int_equal(mv_cert_verify(fb, lb, b.pk, &v, &err), 0);
	assert_int_equal(mv_cert_verify(fb, lb, a.pk, &v, &err), MV_ERR_INTEGRITY);
	assert_null(v.cert);
	assert_non_null(strstr(err.msg, "not by this repository's key"));
	assert_non_null(strstr(err.msg, fpr_a));
	assert_non_null(strstr(err.msg, fpr_b));
	/* B's signature line on A's file: B's key did not sign those bytes */
	memcpy(fa + la - MV_CERT_TAIL_LEN, fb + lb - MV_CERT_TAIL_LEN, MV_CERT_TAIL_LEN);
	assert_int_equal(mv_cert_verify(fa, la, NULL, &v, &err), 0); /* same bytes signed */
	/* a signature with wrong bytes: the secret key must match */
	uint8_t *out;
	size_t olen;
	assert_int_equal(mv_cert_sign((const uint8_t *)"{}", 2, a.pk, b.sk, &out, &olen, &err),
	                 MV_ERR_USAGE);
	assert_int_equal(mv_cert_sign((const uint8_t *)"[]", 2, a.pk, a.sk, &out, &olen, &err),
	                 MV_ERR_USAGE);
	free(fa);
	free(fb);
	keypair_free(&a);
	keypair_free(&b);
}

static void test_wipecert__fingerprint_format(void **state)
{
	uint8_t pk[MV_SIGN_PK_LEN] = {0};
	char fpr[MV_CERT_FPR_LEN + 1];

	(void)state;
	mv_cert_fingerprint(pk, fpr);
	assert_int_equal(strlen(fpr), MV_CERT_FPR_LEN);
	for (size_t i = 0; i < MV_CERT_FPR_LEN; i++) {
		if (i == 2 || (i > 2 && (i - 2) % 5 == 0))
			assert_int_equal(fpr[i], '-');
		else if (i > 2)
			assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", fpr[i]));
	}
	/* computed apart: python3 -c 'import hashlib, base64;
	 * print(base64.b32encode(hashlib.blake2b(bytes(32), digest_size=32).digest()[:20]))' */
	assert_string_equal(fpr, "MV-RHVQ-22UK-NEO2-4LGR-L3ID-NGJR-ZYFJ-JHWK");
}

static void test_wipecert__repo_keypair(void **state)
{
	struct tu_fixture *f = *state;
	uint8_t pk[32], pk2[32], check[32];
	uint8_t *sk = sodium_malloc(MV_SIGN_SK_LEN);
	struct mv_repo *r2;
	struct mv_error err = {0};

	assert_non_null(sk);
	assert_int_equal(mv_repo_sign_keypair(f->r, pk, sk), 0);
	crypto_sign_ed25519_sk_to_pk(check, sk);
	assert_memory_equal(check, pk, 32);
	/* the same key after opening again, with the recovery key */
	assert_int_equal(mv_repo_open(f->d.repo, &r2, &err), 0);
	assert_int_equal(mv_repo_sign_keypair(r2, pk2, sk), MV_ERR_USAGE); /* locked */
	assert_int_equal(
	    mv_repo_unlock(r2, (const uint8_t *)f->recovery, strlen(f->recovery), &err), 0);
	assert_int_equal(mv_repo_sign_keypair(r2, pk2, sk), 0);
	assert_memory_equal(pk, pk2, 32);
	/* derived from sub-key 6: seed = the `sign` sub-key */
	uint8_t pk3[32], sk3[64];
	assert_int_equal(crypto_sign_ed25519_seed_keypair(pk3, sk3, mv_repo_keys(r2)->sign), 0);
	assert_memory_equal(pk3, pk, 32);
	sodium_memzero(sk3, sizeof(sk3));
	mv_repo_close(r2);
	sodium_free(sk);
}

static int have_pdftotext(void)
{
	return system("command -v pdftotext >/dev/null 2>&1") == 0;
}

/* The text pdftotext finds in pdf (malloc'd), or NULL without pdftotext. */
static char *pdf_text(const char *dir, const char *pdf)
{
	char cmd[1024], txt[512];
	size_t len;

	if (!have_pdftotext())
		return NULL;
	snprintf(txt, sizeof(txt), "%s/out.txt", dir);
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' '%s'", pdf, txt);
	assert_int_equal(system(cmd), 0);
	return (char *)tu_read_file(txt, &len);
}

/* Entries of dir besides "." and "..". */
static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_wipecert__write_and_verify_files(void **state)
{
	struct keypair k, other;
	struct mv_wipe_report *rep = report_new(3);
	struct mv_error err = {0};
	char dir[64], path[128], pdf[128], link[128];
	struct stat st;
	char *out = NULL;
	size_t olen;
	FILE *f;

	(void)state;
	keypair_new(&k);
	keypair_new(&other);
	tu_tmpdir(dir, sizeof(dir), "test_wipecert");
	snprintf(path, sizeof(path), "%s/cert.json", dir);
	snprintf(pdf, sizeof(pdf), "%s/cert.pdf", dir);
	assert_int_equal(cli_wipecert_write(rep, k.pk, k.sk, path, 0, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(pdf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(st.st_size > 1000);
	size_t plen;
	uint8_t *pbytes = tu_read_file(pdf, &plen);
	assert_memory_equal(pbytes, "%PDF-", 5);
	free(pbytes);

	/* not replaced unless asked */
	assert_int_equal(cli_wipecert_write(rep, k.pk, k.sk, path, 0, &err), MV_ERR_EXISTS);
	assert_non_null(strstr(err.msg, "cert.json"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cli_wipecert_write(rep, k.pk, k.sk, path, 0, &err), MV_ERR_EXISTS);
	assert_non_null(strstr(err.msg, "cert.pdf"));
	assert_int_equal(stat(path, &st), -1); /* nothing written */
	assert_int_equal(cli_wipecert_write(rep, k.pk, k.sk, path, 1, &err), 0);

	/* no temporary file left beside them */
	assert_int_equal(count_entries(dir), 2);
	/* a folder that does not exist, a name that is no file */
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/missing/cert.json", dir);
	assert_int_equal(cli_wipecert_write(rep, k.pk, k.sk, bad, 0, &err), MV_ERR_IO);
	snprintf(bad, sizeof(bad), "%s/", dir);
	assert_int_equal(cli_wipecert_write(rep, k.pk, k.sk, bad, 0, &err), MV_ERR_USAGE);
	assert_int_equal(count_entries(dir), 2);

	/* verify: prints the certificate and the signer */
	f = open_memstream(&out, &olen);
	assert_non_null(f);
	assert_int_equal(cli_wipecert_verify(path, k.pk, f, NULL, &err), 0);
	fclose(f);
	char fpr[MV_CERT_FPR_LEN + 1];
	mv_cert_fingerprint(k.pk, fpr);
	assert_non_null(strstr(out, fpr));
	assert_non_null(strstr(out, OPERATOR));
	assert_non_null(strstr(out, "signature:   good"));
	assert_null(memchr(out, 0x1b, olen));
	free(out);
	out = NULL;
	/* another key expected: fails */
	f = open_memstream(&out, &olen);
	assert_int_equal(cli_wipecert_verify(path, other.pk, f, NULL, &err), MV_ERR_INTEGRITY);
	fclose(f);
	free(out);
	out = NULL;
	/* never through a symbolic link, never a folder, never a missing file */
	snprintf(link, sizeof(link), "%s/link.json", dir);
	assert_int_equal(symlink(path, link), 0);
	f = open_memstream(&out, &olen);
	assert_int_equal(cli_wipecert_verify(link, NULL, f, NULL, &err), MV_ERR_INTEGRITY);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(cli_wipecert_verify(dir, NULL, f, NULL, &err), MV_ERR_INTEGRITY);
	assert_int_equal(cli_wipecert_verify("/nonexistent/cert.json", NULL, f, NULL, &err),
	                 MV_ERR_INTEGRITY);
	fclose(f);
	free(out);

	/* the PDF holds the operator and the file names */
	char *text = pdf_text(dir, pdf);
	if (text) {
		assert_non_null(strstr(text, OPERATOR));
		assert_non_null(strstr(text, "IRM-genou.dcm"));
		assert_non_null(strstr(text, "WD-WCAYUJ123456"));
		assert_non_null(strstr(text, fpr));
		assert_non_null(strstr(text, "medvault wipe --verify-certificate"));
		free(text);
	}
	tu_rm_rf(dir);
	keypair_free(&k);
	keypair_free(&other);
	report_free(rep);
}

static void test_wipecert__pdf_many_files(void **state)
{
	struct keypair k;
	struct mv_wipe_report *rep = report_new(400);
	struct mv_error err = {0};
	char dir[64], path[128], pdf[128];

	(void)state;
	keypair_new(&k);
	tu_tmpdir(dir, sizeof(dir), "test_wipecert");
	snprintf(path, sizeof(path), "%s/many", dir);
	snprintf(pdf, sizeof(pdf), "%s/many.pdf", dir);
	assert_int_equal(cli_wipecert_write(rep, k.pk, k.sk, path, 0, &err), 0);
	char *text = pdf_text(dir, pdf);
	if (text) {
		/* long paths keep their start and end around an ellipsis */
		assert_non_null(strstr(text, "last-file-0399.dcm"));
		assert_non_null(strstr(text, "\xe2\x80\xa6"));
		assert_non_null(strstr(text, "page 8"));
		assert_non_null(strstr(text, "(continued)"));
		free(text);
	}
	tu_rm_rf(dir);
	keypair_free(&k);
	report_free(rep);
}

static void test_wipecert__pdf_path(void **state)
{
	char *p;

	(void)state;
	p = cli_wipecert_pdf_path("a/cert.json");
	assert_string_equal(p, "a/cert.pdf");
	free(p);
	p = cli_wipecert_pdf_path("cert");
	assert_string_equal(p, "cert.pdf");
	free(p);
	p = cli_wipecert_pdf_path(".json");
	assert_string_equal(p, ".json.pdf");
	free(p);
	char name[CLI_WIPECERT_NAME_LEN];
	assert_string_equal(cli_wipecert_default_name(1796668800, name),
	                    "medvault-wipe-20261207-184000Z.json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wipecert__roundtrip),
	    cmocka_unit_test_setup_teardown(test_wipecert__every_byte_change_fails, small_setup,
	                                    small_teardown),
	    cmocka_unit_test_setup_teardown(test_wipecert__added_bytes_fail, small_setup,
	                                    small_teardown),
	    cmocka_unit_test_setup_teardown(test_wipecert__truncated_fails, small_setup,
	                                    small_teardown),
	    cmocka_unit_test(test_wipecert__resigned_with_another_key),
	    cmocka_unit_test(test_wipecert__fingerprint_format),
	    cmocka_unit_test_setup_teardown(test_wipecert__repo_keypair, tu_setup_repo_open,
	                                    tu_teardown_repo),
	    cmocka_unit_test(test_wipecert__write_and_verify_files),
	    cmocka_unit_test(test_wipecert__pdf_many_files),
	    cmocka_unit_test(test_wipecert__pdf_path),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
