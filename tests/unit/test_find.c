/* Catalog search (core/medical/find.c): folding of names, criteria, date ranges, a
 * million entries through the writer and the decoder, and mv_find /
 * mv_catalog_select_paths over snapshots of a real repository (newest
 * first, de-duplicated by SOPInstanceUID). Independent of backup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/medical/catalog.h"
#include "core/repo/crypto.h"
#include "core/medical/find.h"
#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/packer.h"
#include "core/repo/repo.h"
#include "formats/catalog.h"
#include "tests/unit/testutil.h"

/* ---- helpers ------------------------------------------------------------ */

static void info_of(struct mv_dicom_info *d, const char *patient, const char *sop,
                    const char *modality, const char *date)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->patient_name, sizeof(d->patient_name), "%s", patient);
	snprintf(d->patient_id, sizeof(d->patient_id), "PID-42");
	snprintf(d->study_uid, sizeof(d->study_uid), "1.2.3.4");
	snprintf(d->series_uid, sizeof(d->series_uid), "1.2.3.4.5");
	snprintf(d->sop_uid, sizeof(d->sop_uid), "%s", sop);
	snprintf(d->modality, sizeof(d->modality), "%s", modality);
	snprintf(d->study_date, sizeof(d->study_date), "%s", date);
}

static struct mv_find_matcher *matcher(const struct mv_find_query *q)
{
	struct mv_find_matcher *m = NULL;
	struct mv_error err = {0};
	assert_int_equal(mv_find_matcher_new(q, &m, &err), 0);
	assert_non_null(m);
	return m;
}

static unsigned match_patient(const char *query, const char *name)
{
	struct mv_find_query q = {.patient = query};
	struct mv_dicom_info info;
	struct mv_find_matcher *m = matcher(&q);
	info_of(&info, name, "1", "MR", "20190315");
	unsigned r = mv_find_matcher_match(m, &info);
	/* the second time comes from the matcher's memory of the last name */
	assert_int_equal(mv_find_matcher_match(m, &info), r);
	mv_find_matcher_free(m);
	return r;
}

static void assert_fold(const char *in, const char *want)
{
	char out[256];
	long n = mv_find_fold(in, strlen(in), out, sizeof(out));
	assert_true(n >= 0);
	assert_string_equal(out, want);
	assert_int_equal((size_t)n, strlen(want));
}

/* ---- folding and criteria --------------------------------------------- */

static void test_find__fold(void **state)
{
	char small[4];
	(void)state;
	assert_fold("DUPONT^MARIE", "dupont marie");
	assert_fold("Dupont Marie", "dupont marie");
	assert_fold("DUPONT^MARIE^^^", "dupont marie");
	assert_fold("  ^Lefèvre^^Inès=  ", "lefevre ines");
	assert_fold("Dupónt", "dupont");
	assert_fold("Due\xcc\x81", "due");               /* e + combining acute */
	assert_fold("Straße", "strasse");                /* full case folding */
	assert_fold("ΣΟΦΙΑ^Ελληνικά", "σοφια ελληνικα"); /* Greek, tonos dropped */
	assert_fold("Şahin^Jérôme", "sahin jerome");
	assert_fold("Nuñez\xc2\xa0José", "nunez jose"); /* no-break space */
	assert_fold("Yamada^Tarou=山田^太郎", "yamada tarou 山田 太郎");
	assert_fold("\xe9t\xe9", "\xe9t\xe9"); /* not UTF-8: bytes kept */
	assert_fold("", "");
	assert_fold("^^ ^", "");
	assert_int_equal(mv_find_fold("DUPONT", 6, small, sizeof(small)), -1);
	assert_int_equal(mv_find_fold("Dupónt", strlen("Dupónt"), small, sizeof(small)), -1);
}

static void test_find__patient_names(void **state)
{
	(void)state;
	const char *name = "DUPONT^MARIE";
	assert_int_equal(match_patient("dupont", name), MV_FIND_PATIENT);
	assert_int_equal(match_patient("DUPONT", name), MV_FIND_PATIENT);
	assert_int_equal(match_patient("Dupónt", name), MV_FIND_PATIENT);
	assert_int_equal(match_patient("DUPONT^MARIE", name), MV_FIND_PATIENT);
	assert_int_equal(match_patient("Dupont Marie", name), MV_FIND_PATIENT);
	assert_int_equal(match_patient("dupont   marie", name), MV_FIND_PATIENT);
	assert_int_equal(match_patient("marie", name), MV_FIND_PATIENT);
	assert_int_equal(match_patient("pont^ma", name), MV_FIND_PATIENT);
	assert_int_equal(match_patient("dupond", name), 0);
	assert_int_equal(match_patient("dupont jean", name), 0);
	assert_int_equal(match_patient("marie dupont", name), 0); /* a substring, in order */
	/* accents in the stored name fold too */
	assert_int_equal(match_patient("lefevre ines", "Lefèvre^Inès"), MV_FIND_PATIENT);
	assert_int_equal(match_patient("LEFÈVRE", "LEFEVRE^INES"), MV_FIND_PATIENT);
	assert_int_equal(match_patient("helene", "Dupont^Marie-Hélène"), MV_FIND_PATIENT);
	assert_int_equal(match_patient("dupont", ""), 0);
}

static void test_find__other_criteria(void **state)
{
	struct mv_dicom_info info;
	struct mv_find_matcher *m;
	(void)state;

	info_of(&info, "DUPONT^MARIE", "1.2.3.4.5.6", "MR", "20190315");
	struct mv_find_query q = {.patient_id = "PID-42"};
	m = matcher(&q);
	assert_int_equal(mv_find_matcher_criteria(m), MV_FIND_PATIENT_ID);
	assert_int_equal(mv_find_matcher_match(m, &info), MV_FIND_PATIENT_ID);
	mv_find_matcher_free(m);
	q = (struct mv_find_query){.patient_id = "PID-4"}; /* exact, not a prefix */
	m = matcher(&q);
	assert_int_equal(mv_find_matcher_match(m, &info), 0);
	mv_find_matcher_free(m);
	q = (struct mv_find_query){.modality = "mr", .study_uid = "1.2.3.4"};
	m = matcher(&q);
	assert_int_equal(mv_find_matcher_match(m, &info), MV_FIND_MODALITY | MV_FIND_STUDY_UID);
	mv_find_matcher_free(m);
	q = (struct mv_find_query){.modality = "M"};
	m = matcher(&q);
	assert_int_equal(mv_find_matcher_match(m, &info), 0);
	mv_find_matcher_free(m);
	/* every criterion must hold */
	q = (struct mv_find_query){
	    .series_uid = "1.2.3.4.5", .patient = "dupont", .modality = "CT"};
	m = matcher(&q);
	assert_int_equal(mv_find_matcher_match(m, &info), 0);
	mv_find_matcher_free(m);
	q = (struct mv_find_query){
	    .series_uid = "1.2.3.4.5", .patient = "dupont", .modality = "MR", .dates = "2019"};
	m = matcher(&q);
	assert_int_equal(mv_find_matcher_match(m, &info),
	                 MV_FIND_SERIES_UID | MV_FIND_PATIENT | MV_FIND_MODALITY | MV_FIND_DATE);
	mv_find_matcher_free(m);

	assert_string_equal(mv_find_criterion_name(MV_FIND_PATIENT), "patient");
	assert_string_equal(mv_find_criterion_name(MV_FIND_DATE), "date");
	assert_string_equal(mv_find_criterion_name(MV_FIND_SERIES_UID), "series_uid");
	assert_null(mv_find_criterion_name(1u << 20));

	/* bad queries */
	struct mv_error err = {0};
	q = (struct mv_find_query){0};
	assert_int_equal(mv_find_matcher_new(&q, &m, &err), MV_ERR_USAGE);
	assert_null(m);
	q = (struct mv_find_query){.patient = "^ ^"};
	assert_int_equal(mv_find_matcher_new(&q, &m, &err), MV_ERR_USAGE);
	mv_find_matcher_free(NULL);
}

static unsigned date_match(const char *range, const char *date)
{
	struct mv_find_query q = {.dates = range};
	struct mv_dicom_info info;
	struct mv_find_matcher *m = matcher(&q);
	info_of(&info, "X", "1", "MR", date);
	unsigned r = mv_find_matcher_match(m, &info);
	mv_find_matcher_free(m);
	return r;
}

static void test_find__dates(void **state)
{
	struct mv_find_query q;
	struct mv_find_matcher *m = NULL;
	struct mv_error err = {0};
	(void)state;

	/* {--date, the entry's StudyDate, matches} */
	static const struct {
		const char *range, *date;
		int match;
	} cases[] = {
	    {"2019-01-01..2019-12-31", "20190101", 1},
	    {"2019-01-01..2019-12-31", "20191231", 1},
	    {"2019-01-01..2019-12-31", "20181231", 0},
	    {"2019-01-01..2019-12-31", "20200101", 0},
	    {"2019-01-01..", "20990101", 1},
	    {"2019-01-01..", "20181231", 0},
	    {"..2019-06-30", "19800101", 1},
	    {"..2019-06-30", "20190701", 0},
	    {"2019", "20191231", 1},
	    {"2019", "20200101", 0},
	    {"2019-03", "20190331", 1},
	    {"2019-03", "20190401", 0},
	    {"20190315", "20190315", 1},
	    {"2019-03-15", "20190316", 0},
	    {"2019..2020", "20200615", 1},
	    {"2019-03-15", "2019.03.15", 1}, /* old form */
	    {"2019", "", 0},                 /* no date: no match */
	    {"2019", "2019", 0},             /* not a full date */
	    {"2019", "2019031X", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(date_match(cases[i].range, cases[i].date),
		                 cases[i].match ? MV_FIND_DATE : 0);

	static const char *const bad[] = {
	    "..",      "2019-13-01..", "2019-00-01", "2019-01-32",
	    "abc",     "2019-1-1",     "201",        "2019-",
	    "..2019-", "2019--01",     "201901011",  "2019-12-31..2019-01-01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q = (struct mv_find_query){.dates = bad[i]};
		assert_int_equal(mv_find_matcher_new(&q, &m, &err), MV_ERR_USAGE);
		assert_null(m);
	}
}

/* ---- a million entries -------------------------------------------------- */

#define MILLION 1000000u

/* The patient of entry i: 1000 patients, two of them Duponts (one written
 * with accents), one Dupond. */
static void million_info(struct mv_dicom_info *d, unsigned i)
{
	unsigned p = i % 1000;
	memset(d, 0, sizeof(*d));
	if (p == 17)
		snprintf(d->patient_name, sizeof(d->patient_name), "DUPONT^MARIE");
	else if (p == 503)
		snprintf(d->patient_name, sizeof(d->patient_name), "Dupónt^Jean");
	else if (p == 18)
		snprintf(d->patient_name, sizeof(d->patient_name), "DUPOND^MARIE");
	else
		snprintf(d->patient_name, sizeof(d->patient_name), "PATIENT%03u^Given", p);
	snprintf(d->patient_id, sizeof(d->patient_id), "PID%03u", p);
	snprintf(d->sop_uid, sizeof(d->sop_uid), "1.2.826.0.1.3680043.2.1125.1.%u", i);
	snprintf(d->study_uid, sizeof(d->study_uid), "1.2.826.0.1.3680043.2.1125.2.%u", i / 50);
	snprintf(d->modality, sizeof(d->modality), "%s", i % 3 ? "CT" : "MR");
	snprintf(d->study_date, sizeof(d->study_date), "%04u0615", 2013 + i % 10);
}

struct million {
	struct mv_find_matcher *patient, *mr2019;
	uint64_t entries, patient_hits, mr2019_hits;
	unsigned blobs;
	int order_ok;
	uint32_t last;
};

/* The store callback decodes each payload as a cursor would and searches
 * it: nothing is kept but the counts. */
static int million_store(void *arg, const uint8_t *payload, size_t len, uint8_t id[32],
                         struct mv_error *err)
{
	struct million *m = arg;
	struct mv_catalog_iter it;
	struct mv_catalog_rec rec;
	struct mv_dicom_info *info = malloc(sizeof(*info));
	int rc;

	(void)err;
	assert_non_null(info);
	assert_true(len <= MV_CATALOG_BLOB_TARGET);
	assert_int_equal(mv_catalog_iter_init(&it, payload, len), 0);
	while ((rc = mv_catalog_iter_next(&it, &rec)) == 1) {
		mv_catalog_rec_to_info(&rec, info);
		/* entries come back in order: the size holds the index */
		if (rec.size != m->last)
			m->order_ok = 0;
		m->last++;
		m->entries++;
		m->patient_hits += mv_find_matcher_match(m->patient, info) != 0;
		m->mr2019_hits += mv_find_matcher_match(m->mr2019, info) != 0;
	}
	assert_int_equal(rc, 0);
	memset(id, 0, 32);
	m->blobs++;
	free(info);
	return 0;
}

static void test_find__million_entries(void **state)
{
	struct mv_error err = {0};
	struct mv_dicom_info info;
	struct million m;
	char path[64];
	uint8_t(*ids)[32];
	uint32_t nids;
	(void)state;

	memset(&m, 0, sizeof(m));
	m.order_ok = 1;
	struct mv_find_query qp = {.patient = "dupont"};
	struct mv_find_query qm = {.modality = "mr", .dates = "2019-01-01..2019-12-31"};
	m.patient = matcher(&qp);
	m.mr2019 = matcher(&qm);
	struct mv_catalog_writer *w = mv_catalog_writer_new(million_store, &m);
	assert_non_null(w);
	for (unsigned i = 0; i < MILLION; i++) {
		million_info(&info, i);
		snprintf(path, sizeof(path), "/srv/imaging/%07u.dcm", i);
		struct mv_catalog_entry e = {path, NULL, i, &info};
		assert_int_equal(mv_catalog_writer_add(w, &e, &err), 0);
	}
	assert_int_equal(mv_catalog_writer_finish(w, &ids, &nids, &err), 0);
	mv_catalog_writer_free(w);
	assert_int_equal(nids, m.blobs);
	assert_true(nids > 10);
	free(ids);
	assert_true(m.entries == MILLION);
	assert_true(m.order_ok);
	/* patients 17 and 503 are the Duponts: 1000 entries each */
	assert_true(m.patient_hits == 2000);
	/* MR: i % 3 == 0; 2019: i % 10 == 6; both: i % 30 == 6 */
	assert_true(m.mr2019_hits == (MILLION - 6 + 29) / 30);
	mv_find_matcher_free(m.patient);
	mv_find_matcher_free(m.mr2019);
}

/* ---- snapshots of a real repository ---------------------------------------- */

struct tentry {
	const char *path, *member, *patient, *sop;
};

/* Writes a catalog of the entries (none: no catalog; bogus: a catalog id
 * the index does not know) and a snapshot at time t; returns its id. */
static void add_snapshot(struct tu_trepo *t, int64_t time_s, const struct tentry *te, size_t n,
                         int bogus, uint8_t id_out[32])
{
	struct mv_error err = {0};
	struct mv_snapshot s;
	struct mv_wbuf w;
	struct mv_dicom_info info;
	char *paths[] = {"/srv"};

	memset(&s, 0, sizeof(s));
	s.time_ns = time_s * 1000000000LL;
	s.host = "host";
	s.user = "user";
	s.paths = paths;
	s.npaths = 1;
	if (n) {
		struct mv_catalog_writer *cw = mv_catalog_writer_new(tu_trepo_store, t);
		for (size_t i = 0; i < n; i++) {
			info_of(&info, te[i].patient, te[i].sop, "MR", "20190315");
			struct mv_catalog_entry e = {te[i].path, te[i].member, 100 + i, &info};
			assert_int_equal(mv_catalog_writer_add(cw, &e, &err), 0);
		}
		assert_int_equal(mv_catalog_writer_finish(cw, &s.catalog, &s.ncatalog, &err), 0);
		mv_catalog_writer_free(cw);
		tu_trepo_commit(t);
	}
	if (bogus)
		memset(s.catalog[0], 0xee, 32);
	mv_wbuf_init(&w, 1u << 20);
	mv_snapshot_encode(&s, &w);
	assert_false(w.failed);
	assert_int_equal(
	    mv_repo_save_object(t->r, MV_FT_SNAPSHOT, MV_T_SNAPSHOT, w.data, w.len, id_out, &err),
	    0);
	mv_wbuf_release(&w);
	free(s.catalog);
}

struct hits {
	char line[32][160];
	size_t n;
	const uint8_t *new_id, *old_id;
};

static int on_match(void *arg, const struct mv_find_match *m)
{
	struct hits *h = arg;
	assert_true(h->n < 32);
	assert_int_equal(m->matched, MV_FIND_PATIENT);
	snprintf(h->line[h->n++], sizeof(h->line[0]), "%s %s%s%s",
	         memcmp(m->snapshot->id, h->new_id, 32) == 0   ? "new"
	         : memcmp(m->snapshot->id, h->old_id, 32) == 0 ? "old"
	                                                       : "?",
	         m->entry->path, m->entry->member ? ":" : "",
	         m->entry->member ? m->entry->member : "");
	return 0;
}

/* Runs q over t's snapshots, its matches recorded in h (emptied first). */
static void find_hits(struct tu_trepo *t, const struct mv_find_query *q, struct hits *h,
                      struct mv_find_stats *st)
{
	struct mv_error err = {0};

	h->n = 0;
	assert_int_equal(mv_find(t->r, q, on_match, h, st, &err), 0);
}

static int stop_at_first(void *arg, const struct mv_find_match *m)
{
	(void)m;
	(*(int *)arg)++;
	return 42;
}

static void test_find__snapshots_newest_first_dedup(void **state)
{
	struct tu_trepo t;
	struct mv_error err = {0};
	struct mv_find_stats st;
	struct hits h;
	uint8_t old_id[32], mid_id[32], new_id[32], bad_id[32];
	(void)state;

	static const struct tentry old_e[] = {
	    {"/srv/a.dcm", NULL, "DUPONT^MARIE", "1.1"},
	    {"/srv/b.dcm", NULL, "DUPONT^MARIE", "1.2"},
	    {"/srv/c.dcm", NULL, "DUPOND^MARIE", "1.3"},
	    {"/srv/d.dcm", NULL, "Dupont^Marie", ""},    /* no SOP UID: path is the key */
	    {"/srv/f.dcm", NULL, "Dupónt^Marie", "1.6"}, /* only in the old snapshot */
	    {"/srv/g.zip", "IM1", "DUPONT^MARIE", "1.7"},
	    {"/srv/g.zip", "IM2", "OTHER^ONE", "1.8"},
	    {"/srv/h.dcm", NULL, "DUPOND^PAUL", "1.9"}, /* renamed since */
	};
	static const struct tentry new_e[] = {
	    {"/srv/a.dcm", NULL, "DUPONT^MARIE", "1.1"},
	    {"/srv/d.dcm", NULL, "Dupont^Marie", ""},
	    {"/srv/e.dcm", NULL, "DUPONT^MARIE", "1.5"},
	    {"/srv/h.dcm", NULL, "DUPONT^PAUL", "1.9"},
	    {"/srv/moved/b.dcm", NULL, "DUPONT^MARIE", "1.2"},
	    {"/srv/z/e-copy.dcm", NULL, "DUPONT^MARIE", "1.5"}, /* same instance, same snapshot */
	};

	tu_trepo_open(&t, "mvfind");
	add_snapshot(&t, 1000, old_e, 8, 0, old_id);
	add_snapshot(&t, 2000, NULL, 0, 0, mid_id); /* made before catalogs existed */
	add_snapshot(&t, 3000, new_e, 6, 0, new_id);

	memset(&h, 0, sizeof(h));
	h.new_id = new_id;
	h.old_id = old_id;
	struct mv_find_query q = {.patient = "dupont"};
	find_hits(&t, &q, &h, &st);
	assert_int_equal(h.n, 8);
	assert_string_equal(h.line[0], "new /srv/a.dcm");
	assert_string_equal(h.line[1], "new /srv/d.dcm");
	assert_string_equal(h.line[2], "new /srv/e.dcm");
	assert_string_equal(h.line[3], "new /srv/h.dcm");
	assert_string_equal(h.line[4], "new /srv/moved/b.dcm");
	assert_string_equal(h.line[5], "new /srv/z/e-copy.dcm");
	assert_string_equal(h.line[6], "old /srv/f.dcm");
	assert_string_equal(h.line[7], "old /srv/g.zip:IM1");
	assert_true(st.snapshots == 2);
	assert_true(st.without_catalog == 1);
	assert_true(st.entries == 14);
	assert_true(st.matches == 8);
	assert_true(st.damaged == 0);

	/* the old name of an instance is found in the snapshot that has it */
	struct mv_find_query qd = {.patient = "dupond"};
	find_hits(&t, &qd, &h, &st);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.line[0], "old /srv/c.dcm");
	assert_string_equal(h.line[1], "old /srv/h.dcm");

	/* a callback's value stops the search */
	int calls = 0;
	assert_int_equal(mv_find(t.r, &q, stop_at_first, &calls, NULL, &err), 42);
	assert_int_equal(calls, 1);

	/* a bad query is refused before anything is read */
	struct mv_find_query none = {0};
	assert_int_equal(mv_find(t.r, &none, on_match, &h, &st, &err), MV_ERR_USAGE);

	/* one snapshot's paths, as restore uses them */
	struct mv_snapshot snap;
	char hex[65], **paths;
	size_t n;
	mv_hex(old_id, 32, hex);
	assert_int_equal(mv_repo_find_snapshot(t.r, hex, &snap, &err), 0);
	assert_int_equal(mv_catalog_select_paths(t.r, &snap, &q, &paths, &n, &err), 0);
	assert_int_equal(n, 5); /* not h.dcm: DUPOND in this snapshot */
	assert_string_equal(paths[0], "/srv/a.dcm");
	assert_string_equal(paths[1], "/srv/b.dcm");
	assert_string_equal(paths[2], "/srv/d.dcm");
	assert_string_equal(paths[3], "/srv/f.dcm");
	assert_string_equal(paths[4], "/srv/g.zip"); /* the archive, whole */
	assert_true(mv_catalog_paths_has(paths, n, "/srv/d.dcm"));
	assert_true(mv_catalog_paths_has(paths, n, "/srv/g.zip"));
	assert_false(mv_catalog_paths_has(paths, n, "/srv/c.dcm"));
	assert_false(mv_catalog_paths_has(paths, n, "/srv"));
	mv_catalog_paths_free(paths, n);
	struct mv_find_query q2 = {.patient = "nobody"};
	assert_int_equal(mv_catalog_select_paths(t.r, &snap, &q2, &paths, &n, &err), 0);
	assert_null(paths);
	assert_int_equal(n, 0);
	assert_false(mv_catalog_paths_has(paths, n, "/srv/a.dcm"));
	mv_snapshot_release(&snap);

	/* a snapshot whose catalog cannot be read: counted, the rest found */
	add_snapshot(&t, 4000, new_e, 1, 1, bad_id);
	find_hits(&t, &q, &h, &st);
	assert_true(st.damaged == 1);
	assert_int_equal(h.n, 8);
	mv_hex(bad_id, 32, hex);
	assert_int_equal(mv_repo_find_snapshot(t.r, hex, &snap, &err), 0);
	assert_int_equal(mv_catalog_select_paths(t.r, &snap, &q, &paths, &n, &err),
	                 MV_ERR_NOTFOUND);
	mv_snapshot_release(&snap);
	tu_trepo_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find__fold),
	    cmocka_unit_test(test_find__patient_names),
	    cmocka_unit_test(test_find__other_criteria),
	    cmocka_unit_test(test_find__dates),
	    cmocka_unit_test(test_find__million_entries),
	    cmocka_unit_test(test_find__snapshots_newest_first_dedup),
	};
	if (mv_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
