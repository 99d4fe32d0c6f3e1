/* Choosing a snapshot (core/repo/snapfind.c): "latest" narrowed by host and
 * paths, damaged snapshot files reported (not passed over in silence) and a
 * damaged snapshot named by its id reported as damaged; and a config that
 * claims a newer version is judged by its MAC (core/repo/repo.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/repo/repo.h"
#include "core/repo/snapfind.h"
#include "tests/unit/testutil.h"

static struct mv_repo *open_repo(const char *loc, int *rc_out)
{
	struct mv_repo *r = NULL;
	*rc_out = tu_repo_open_rc(loc, &r);
	return r;
}

/* Saves a snapshot of host with one or two paths at time t; id in hex. */
static void save_snap(struct tu_fixture *f, const char *host, const char *p1, const char *p2,
                      int64_t t, char hex[65])
{
	struct mv_snapshot s;
	struct mv_wbuf w;
	struct mv_error err = {0};
	uint8_t id[32];
	char pa[2][64], host_copy[64], user[] = "root";
	char *paths[2] = {pa[0], pa[1]};

	snprintf(pa[0], sizeof(pa[0]), "%s", p1);
	snprintf(pa[1], sizeof(pa[1]), "%s", p2 ? p2 : "");
	snprintf(host_copy, sizeof(host_copy), "%s", host);
	memset(&s, 0, sizeof(s));
	s.time_ns = t;
	s.host = host_copy;
	s.user = user;
	s.paths = paths;
	s.npaths = p2 ? 2 : 1;
	mv_wbuf_init(&w, 1 << 20);
	mv_snapshot_encode(&s, &w);
	assert_false(w.failed);
	assert_int_equal(
	    mv_repo_save_object(f->r, MV_FT_SNAPSHOT, MV_T_SNAPSHOT, w.data, w.len, id, &err), 0);
	mv_wbuf_release(&w);
	mv_hex(id, 32, hex);
}

static void flip_byte(const char *path, long off)
{
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	int c = fgetc(fp);
	assert_true(c != EOF);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_not_equal(fputc(c ^ 1, fp), EOF);
	assert_int_equal(fclose(fp), 0);
}

static void damage_snapshot(struct tu_fixture *f, const char *hex)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/snapshots/%s", f->d.repo, hex);
	flip_byte(p, 30);
}

static void test_snapfind__latest_narrowed_by_host_and_path(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_snapshot s;
	struct mv_snapshot_damage d;
	struct mv_error err = {0};
	char a[65], b[65], c[65], got[65];

	save_snap(f, "pc1", "/srv/imaging/old", NULL, 1000, a);
	save_snap(f, "pc1", "/srv/imaging/new", "/home/doc", 2000, b);
	save_snap(f, "pc2", "/srv/imaging/old", NULL, 3000, c);

	assert_int_equal(mv_snapshot_resolve(f->r, "latest", NULL, &s, &d, &err), 0);
	mv_hex(s.id, 32, got);
	assert_string_equal(got, c);
	assert_int_equal(d.n, 0);
	mv_snapshot_release(&s);

	const char *h1[] = {"pc1"};
	struct mv_snapshot_filter fh = {h1, 1, NULL, 0};
	assert_int_equal(mv_snapshot_resolve(f->r, "latest", &fh, &s, &d, &err), 0);
	mv_hex(s.id, 32, got);
	assert_string_equal(got, b);
	mv_snapshot_release(&s);

	const char *p1[] = {"/srv/imaging/old"};
	struct mv_snapshot_filter fp = {h1, 1, p1, 1};
	assert_int_equal(mv_snapshot_resolve(f->r, "latest", &fp, &s, &d, &err), 0);
	mv_hex(s.id, 32, got);
	assert_string_equal(got, a);
	mv_snapshot_release(&s);

	/* every path given must be among the snapshot's; any host given */
	const char *p2[] = {"/home/doc", "/srv/imaging/new"};
	const char *h2[] = {"pc2", "pc1"};
	struct mv_snapshot_filter fb = {h2, 2, p2, 2};
	assert_int_equal(mv_snapshot_resolve(f->r, "latest", &fb, &s, &d, &err), 0);
	mv_hex(s.id, 32, got);
	assert_string_equal(got, b);
	mv_snapshot_release(&s);

	const char *p3[] = {"/srv/imaging"};
	struct mv_snapshot_filter fn = {NULL, 0, p3, 1};
	assert_int_equal(mv_snapshot_resolve(f->r, "latest", &fn, &s, &d, &err), MV_ERR_NOTFOUND);

	/* filters narrow "latest" only: an id is taken as named */
	assert_int_equal(mv_snapshot_resolve(f->r, a, &fb, &s, &d, &err), 0);
	mv_snapshot_release(&s);
}

static void test_snapfind__damaged_latest_is_reported(void **state)
{
	struct tu_fixture *f = *state;
	struct mv_snapshot s;
	struct mv_snapshot_damage d;
	struct mv_error err = {0};
	char a[65], b[65], c[65], got[65];

	save_snap(f, "pc1", "/srv/a", NULL, 1000, a);
	save_snap(f, "pc1", "/srv/a", NULL, 2000, b);
	save_snap(f, "pc1", "/srv/a", NULL, 3000, c);
	damage_snapshot(f, c);
	damage_snapshot(f, b);

	assert_int_equal(mv_snapshot_resolve(f->r, "latest", NULL, &s, &d, &err), 0);
	mv_hex(s.id, 32, got);
	assert_string_equal(got, a); /* the newest intact one ... */
	assert_int_equal(d.n, 2);    /* ... and the two damaged files named */
	assert_true(strcmp(d.names[0], b) == 0 || strcmp(d.names[0], c) == 0);
	assert_true(strcmp(d.names[1], b) == 0 || strcmp(d.names[1], c) == 0);
	assert_true(d.first.msg[0] != '\0');
	mv_snapshot_release(&s);
	mv_snapshot_damage_release(&d);

	/* named by id or prefix: damaged, not "no snapshot" */
	char prefix[9];
	memcpy(prefix, c, 8);
	prefix[8] = '\0';
	assert_int_equal(mv_snapshot_resolve(f->r, prefix, NULL, &s, &d, &err), MV_ERR_INTEGRITY);
	assert_non_null(strstr(err.msg, "damaged"));
	assert_int_equal(d.n, 1);
	assert_string_equal(d.names[0], c);
	mv_snapshot_damage_release(&d);
	assert_int_equal(mv_repo_find_snapshot(f->r, c, &s, &err), MV_ERR_INTEGRITY);

	/* nothing intact left: integrity error, not "no snapshot" */
	damage_snapshot(f, a);
	assert_int_equal(mv_snapshot_resolve(f->r, "latest", NULL, &s, &d, &err), MV_ERR_INTEGRITY);
	assert_int_equal(d.n, 3);
	mv_snapshot_damage_release(&d);
}

/* Rewrites the config with version v and incompat flags, with a valid MAC
 * (mac = 1) or the old one. */
static void rewrite_config(struct tu_fixture *f, uint32_t v, uint32_t incompat, int mac)
{
	struct mv_config_fields c = *mv_repo_config(f->r);
	size_t raw_len;
	const uint8_t *raw = mv_repo_config_raw(f->r, &raw_len);
	const struct mv_keys *k = mv_repo_keys(f->r);
	struct mv_wbuf w;
	char p[256];

	c.version = v;
	c.incompat = incompat;
	mv_wbuf_init(&w, MV_CONFIG_MAX);
	mv_config_encode(&c, &w);
	uint8_t *m = mv_wbuf_reserve(&w, MV_CONFIG_MAC_LEN);
	assert_non_null(m);
	if (mac)
		crypto_generichash(m, 32, w.data, w.len - MV_CONFIG_MAC_LEN, k->config,
		                   sizeof(k->config));
	else
		memcpy(m, raw + raw_len - MV_CONFIG_MAC_LEN, MV_CONFIG_MAC_LEN);
	snprintf(p, sizeof(p), "%s/config", f->d.repo);
	FILE *fp = fopen(p, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(w.data, 1, w.len, fp), w.len);
	assert_int_equal(fclose(fp), 0);
	mv_wbuf_release(&w);
}

static void test_snapfind__config_version_judged_by_its_mac(void **state)
{
	struct tu_fixture *f = *state;
	char p[256];
	int rc;

	/* a bit flipped in the version field: damage, not "upgrade" */
	rewrite_config(f, 1u ^ 2u, 0, 0);
	assert_null(open_repo(f->d.repo, &rc));
	assert_int_equal(rc, MV_ERR_INTEGRITY);
	rewrite_config(f, 1u ^ 0x80000000u, 0, 0);
	assert_null(open_repo(f->d.repo, &rc));
	assert_int_equal(rc, MV_ERR_INTEGRITY);
	rewrite_config(f, 1, 1u << 7, 0); /* a flipped feature bit */
	assert_null(open_repo(f->d.repo, &rc));
	assert_int_equal(rc, MV_ERR_INTEGRITY);

	/* a real newer repository (its MAC valid): upgrade */
	rewrite_config(f, 2, 0, 1);
	assert_null(open_repo(f->d.repo, &rc));
	assert_int_equal(rc, MV_ERR_VERSION);
	rewrite_config(f, 1, 1u << 3, 1);
	assert_null(open_repo(f->d.repo, &rc));
	assert_int_equal(rc, MV_ERR_VERSION);

	/* and back to version 1: it opens */
	rewrite_config(f, 1, 0, 1);
	struct mv_repo *r = open_repo(f->d.repo, &rc);
	assert_int_equal(rc, 0);
	mv_repo_close(r);

	/* a flipped bit elsewhere is still a MAC mismatch */
	snprintf(p, sizeof(p), "%s/config", f->d.repo);
	flip_byte(p, 30);
	assert_null(open_repo(f->d.repo, &rc));
	assert_int_equal(rc, MV_ERR_INTEGRITY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_snapfind__latest_narrowed_by_host_and_path,
	                                    tu_setup_repo_open, tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_snapfind__damaged_latest_is_reported,
	                                    tu_setup_repo_open, tu_teardown_repo),
	    cmocka_unit_test_setup_teardown(test_snapfind__config_version_judged_by_its_mac,
	                                    tu_setup_repo_open, tu_teardown_repo),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
