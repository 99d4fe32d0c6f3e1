/* The inventory of DICOM instances (core/medical/inventory.c): distinct counts,
 * buckets, dates, caps, the patient list, and the key map under them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/medical/inventory.h"

/* ---- helpers ---------------------------------------------------------- */

static void set(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

#define SET(field, s) set(field, sizeof(field), s)

/* An instance: patient id, name, birth date, study, series, SOP UID,
 * study date, modality, institution. */
static struct mv_dicom_info inst(const char *pid, const char *name, const char *birth,
                                 const char *study, const char *series, const char *sop,
                                 const char *date, const char *mod, const char *inst_name)
{
	struct mv_dicom_info i;
	memset(&i, 0, sizeof(i));
	SET(i.patient_id, pid);
	SET(i.patient_name, name);
	SET(i.birth_date, birth);
	SET(i.study_uid, study);
	SET(i.series_uid, series);
	SET(i.sop_uid, sop);
	SET(i.study_date, date);
	SET(i.modality, mod);
	SET(i.institution, inst_name);
	i.has_pixel_data = 1;
	return i;
}

static void add(struct mv_inventory *inv, const struct mv_dicom_info *i, uint64_t size, int member)
{
	struct mv_error err = {0};
	assert_int_equal(mv_inventory_add(inv, i, size, member, &err), 0);
}

static const struct mv_inv_modality *find_mod(const struct mv_inv_report *r, const char *name)
{
	for (size_t i = 0; i < r->nmodalities; i++)
		if (strcmp(r->modalities[i].name, name) == 0)
			return &r->modalities[i];
	return NULL;
}

static const struct mv_inv_year *find_year(const struct mv_inv_report *r, int year)
{
	for (size_t i = 0; i < r->nyears; i++)
		if (r->years[i].year == year)
			return &r->years[i];
	return NULL;
}

static void fill_key(uint8_t *k, size_t len, uint32_t seed)
{
	crypto_generichash(k, len, (const uint8_t *)&seed, sizeof(seed), NULL, 0);
}

/* ---- key map ------------------------------------------------------------ */

static void test_inventory__keymap_put_get_grow(void **state)
{
	(void)state;
	struct mv_keymap *m = mv_keymap_new(32);
	uint8_t k[32];
	uint32_t v;
	const uint32_t n = 100000;

	assert_non_null(m);
	for (uint32_t i = 0; i < n; i++) {
		fill_key(k, sizeof(k), i);
		assert_int_equal(mv_keymap_put(m, k, i * 3, NULL), 0);
	}
	assert_int_equal(mv_keymap_count(m), n);
	for (uint32_t i = 0; i < n; i++) {
		fill_key(k, sizeof(k), i);
		assert_int_equal(mv_keymap_get(m, k, &v), 1);
		assert_int_equal(v, i * 3);
		/* a second put keeps the first value and reports it */
		assert_int_equal(mv_keymap_put(m, k, 7, &v), 1);
		assert_int_equal(v, i * 3);
	}
	assert_int_equal(mv_keymap_count(m), n);
	for (uint32_t i = n; i < n + 1000; i++) {
		fill_key(k, sizeof(k), i);
		assert_int_equal(mv_keymap_get(m, k, NULL), 0);
	}
	/* an all-zero key is a key like any other */
	memset(k, 0, sizeof(k));
	assert_int_equal(mv_keymap_get(m, k, NULL), 0);
	assert_int_equal(mv_keymap_put(m, k, 42, NULL), 0);
	assert_int_equal(mv_keymap_get(m, k, &v), 1);
	assert_int_equal(v, 42);
	mv_keymap_free(m);
}

static void test_inventory__keymap_rejects_bad_key_length(void **state)
{
	(void)state;
	assert_null(mv_keymap_new(0));
	assert_null(mv_keymap_new(7));
	assert_null(mv_keymap_new(65));
	struct mv_keymap *m = mv_keymap_new(8);
	assert_non_null(m);
	assert_int_equal(mv_keymap_count(m), 0);
	mv_keymap_free(m);
	mv_keymap_free(NULL);
}

/* ---- dates ---------------------------------------------------------------- */

static void test_inventory__dates(void **state)
{
	(void)state;
	char d[11];

	assert_int_equal(mv_inventory_date("20190105", d), 2019);
	assert_string_equal(d, "2019-01-05");
	assert_int_equal(mv_inventory_date("1999.12.31", d), 1999);
	assert_string_equal(d, "1999-12-31");
	assert_int_equal(mv_inventory_date("20000229", d), 2000); /* leap (divisible by 400) */
	snprintf(d, sizeof(d), "untouched");
	assert_int_equal(mv_inventory_date("19000229", d), 0); /* not a leap year */
	assert_int_equal(mv_inventory_date("20190229", d), 0);
	assert_int_equal(mv_inventory_date("20190230", d), 0);
	assert_int_equal(mv_inventory_date("20191301", d), 0);
	assert_int_equal(mv_inventory_date("20190100", d), 0);
	assert_int_equal(mv_inventory_date("18000101", d), 0);
	assert_int_equal(mv_inventory_date("22000101", d), 0);
	assert_int_equal(mv_inventory_date("2019", d), 0);
	assert_int_equal(mv_inventory_date("201901051", d), 0);
	assert_int_equal(mv_inventory_date("2019-01-05", d), 0);
	assert_int_equal(mv_inventory_date("2019010a", d), 0);
	assert_int_equal(mv_inventory_date("", d), 0);
	assert_string_equal(d, "untouched");
}

/* ---- counts -------------------------------------------------------------------- */

static void test_inventory__distinct_counts(void **state)
{
	(void)state;
	struct mv_inventory *inv = mv_inventory_new(0);
	assert_non_null(inv);

	/* patient P1: one CT study, two series, three instances; one of
	 * them twice (a second export) */
	struct mv_dicom_info a1 = inst("P1", "DUPONT^MARIE", "19600101", "S1", "E1", "I1",
	                               "20190105", "CT", "CHU NANTES");
	struct mv_dicom_info a2 = inst("P1", "DUPONT^MARIE", "19600101", "S1", "E1", "I2",
	                               "20190105", "CT", "CHU NANTES");
	struct mv_dicom_info a3 = inst("P1", "DUPONT^MARIE", "19600101", "S1", "E2", "I3",
	                               "20190105", "CT", "CHU NANTES");
	add(inv, &a1, 1000, 0);
	add(inv, &a2, 1000, 0);
	add(inv, &a3, 1000, 0);
	add(inv, &a1, 1000, 0); /* copy: counts as a file, not as an instance */
	/* the same patient ID under a corrected name is the same patient */
	struct mv_dicom_info a4 = inst("P1", "DUPONT^MARIE-ANNE", "19600101", "S1", "E2", "I4",
	                               "20190105", "CT", "CHU NANTES");
	add(inv, &a4, 1000, 0);
	/* no patient ID: name + birth date tell patients apart */
	struct mv_dicom_info b1 = inst("", "DOE^JOHN", "19700101", "S2", "E3", "I5", "20200301",
	                               "MR", "Cabinet Dr Martin");
	struct mv_dicom_info b2 = inst("", "DOE^JOHN", "19700101", "S2", "E3", "I6", "20200301",
	                               "MR", "Cabinet Dr Martin");
	struct mv_dicom_info c1 =
	    inst("", "DOE^JOHN", "19800101", "S3", "E4", "I7", "2020.12.31", "MR", "");
	add(inv, &b1, 500, 0);
	add(inv, &b2, 500, 1); /* inside an archive */
	add(inv, &c1, 500, 1);
	/* nobody named, no SOP UID, no valid date, no modality: one
	 * unidentified instance per file */
	struct mv_dicom_info u = inst("", "", "", "S4", "E5", "", "2019", "", "");
	u.has_pixel_data = 0;
	u.flags = MV_DICOM_F_TRUNCATED;
	add(inv, &u, 10, 0);
	add(inv, &u, 10, 0);
	/* a DICOMDIR is not an instance */
	struct mv_dicom_info dd = inst("", "", "", "", "", "1.2.3", "", "", "");
	dd.flags = MV_DICOM_F_DICOMDIR;
	add(inv, &dd, 4096, 0);
	mv_inventory_add_archive(inv, 1, 0);
	mv_inventory_add_archive(inv, 0, 1);

	const struct mv_inv_report *r = mv_inventory_report(inv);
	assert_non_null(r);
	assert_int_equal(r->files, 10);
	assert_int_equal(r->bytes, 5 * 1000 + 3 * 500 + 2 * 10);
	assert_int_equal(r->members, 2);
	assert_int_equal(r->patients, 3); /* P1, DOE 1970, DOE 1980 */
	assert_int_equal(r->studies, 4);
	assert_int_equal(r->series, 5);
	assert_int_equal(r->instances, 7 + 2); /* I1..I7, and two without SOP UID */
	assert_int_equal(r->unidentified, 2);
	assert_int_equal(r->dicomdirs, 1);
	assert_int_equal(r->flagged, 2);
	assert_int_equal(r->with_name, 8);
	assert_int_equal(r->with_patient_id, 5);
	assert_int_equal(r->with_birth_date, 8);
	assert_int_equal(r->with_pixel_data, 8);
	assert_int_equal(r->with_institution, 7);
	assert_int_equal(r->archives_dicom, 1);
	assert_int_equal(r->archives_unreadable, 1);
	assert_string_equal(r->first_date, "2019-01-05");
	assert_string_equal(r->last_date, "2020-12-31");

	/* modalities sorted, "" (none) first */
	assert_int_equal(r->nmodalities, 3);
	assert_string_equal(r->modalities[0].name, "");
	assert_string_equal(r->modalities[1].name, "CT");
	assert_string_equal(r->modalities[2].name, "MR");
	const struct mv_inv_modality *ct = find_mod(r, "CT"), *mr = find_mod(r, "MR");
	assert_int_equal(ct->b.files, 5);
	assert_int_equal(ct->b.bytes, 5000);
	assert_int_equal(ct->b.instances, 4);
	assert_int_equal(ct->b.series, 2);
	assert_int_equal(ct->b.studies, 1);
	assert_int_equal(mr->b.files, 3);
	assert_int_equal(mr->b.instances, 3);
	assert_int_equal(mr->b.studies, 2);
	assert_int_equal(r->modalities[0].b.files, 2);
	assert_int_equal(r->modalities[0].b.instances, 2);

	/* years ascending, 0 (unknown) first */
	assert_int_equal(r->nyears, 3);
	assert_int_equal(r->years[0].year, 0);
	assert_int_equal(r->years[1].year, 2019);
	assert_int_equal(r->years[2].year, 2020);
	assert_int_equal(find_year(r, 2019)->b.files, 5);
	assert_int_equal(find_year(r, 2020)->b.files, 3);
	assert_int_equal(find_year(r, 2020)->b.studies, 2);
	assert_int_equal(find_year(r, 0)->b.instances, 2);

	/* institutions: distinct, sorted bytewise */
	assert_int_equal(r->ninstitutions, 2);
	assert_string_equal(r->institutions[0], "CHU NANTES");
	assert_string_equal(r->institutions[1], "Cabinet Dr Martin");
	assert_int_equal(r->institutions_truncated, 0);
	/* no patient list unless asked */
	assert_int_equal(r->npatient_list, 0);
	mv_inventory_free(inv);
}

static void test_inventory__empty(void **state)
{
	(void)state;
	struct mv_inventory *inv = mv_inventory_new(0);
	const struct mv_inv_report *r = mv_inventory_report(inv);
	assert_non_null(r);
	assert_int_equal(r->files, 0);
	assert_int_equal(r->patients, 0);
	assert_int_equal(r->nmodalities, 0);
	assert_int_equal(r->nyears, 0);
	assert_int_equal(r->ninstitutions, 0);
	assert_string_equal(r->first_date, "");
	mv_inventory_free(inv);
	mv_inventory_free(NULL);
}

static void test_inventory__patient_list(void **state)
{
	(void)state;
	struct mv_inventory *inv = mv_inventory_new(MV_INV_KEEP_PATIENTS);
	struct mv_dicom_info z1 =
	    inst("P9", "ZOLA^EMILE", "18400402", "S1", "E1", "I1", "20190101", "CR", "");
	struct mv_dicom_info z2 =
	    inst("P9", "ZOLA^EMILE", "18400402", "S2", "E2", "I2", "20200101", "CR", "");
	struct mv_dicom_info z3 =
	    inst("P9", "ZOLA^EMILE", "18400402", "S2", "E2", "I2", "20200101", "CR", "");
	struct mv_dicom_info a1 =
	    inst("P2", "ADAM^ANNE", "19900101", "S3", "E3", "I3", "20210101", "MR", "");
	a1.sex[0] = 'F';
	add(inv, &z1, 1, 0);
	add(inv, &z2, 1, 0);
	add(inv, &z3, 1, 0); /* a copy */
	add(inv, &a1, 1, 0);
	const struct mv_inv_report *r = mv_inventory_report(inv);
	assert_non_null(r);
	assert_int_equal(r->npatient_list, 2);
	assert_string_equal(r->patient_list[0].name, "ADAM^ANNE");
	assert_string_equal(r->patient_list[0].id, "P2");
	assert_string_equal(r->patient_list[0].sex, "F");
	assert_int_equal(r->patient_list[0].studies, 1);
	assert_int_equal(r->patient_list[0].instances, 1);
	assert_string_equal(r->patient_list[1].name, "ZOLA^EMILE");
	assert_string_equal(r->patient_list[1].birth_date, "18400402");
	assert_int_equal(r->patient_list[1].studies, 2);
	assert_int_equal(r->patient_list[1].instances, 2);
	/* a second report gives the same */
	r = mv_inventory_report(inv);
	assert_int_equal(r->npatient_list, 2);
	assert_string_equal(r->patient_list[1].name, "ZOLA^EMILE");
	mv_inventory_free(inv);
}

static void test_inventory__modality_and_institution_caps(void **state)
{
	(void)state;
	struct mv_inventory *inv = mv_inventory_new(0);
	char mod[20], inst_name[40], sop[20];

	for (int i = 0; i < MV_INV_MAX_MODALITIES + 6; i++) {
		snprintf(mod, sizeof(mod), "M%03d", i);
		snprintf(sop, sizeof(sop), "I%d", i);
		struct mv_dicom_info x = inst("P", "N", "", "S", "E", sop, "", mod, "");
		add(inv, &x, 1, 0);
	}
	for (int i = 0; i < MV_INV_MAX_INSTITUTIONS + 44; i++) {
		snprintf(inst_name, sizeof(inst_name), "HOSPITAL %04d", i);
		snprintf(sop, sizeof(sop), "J%d", i);
		struct mv_dicom_info x = inst("P", "N", "", "S", "E", sop, "", "M000", inst_name);
		add(inv, &x, 1, 0);
	}
	const struct mv_inv_report *r = mv_inventory_report(inv);
	assert_non_null(r);
	assert_int_equal(r->nmodalities, MV_INV_MAX_MODALITIES + 1);
	const struct mv_inv_modality *other = find_mod(r, "OTHER");
	assert_non_null(other);
	assert_int_equal(other->b.files, 6);
	uint64_t files = 0;
	for (size_t i = 0; i < r->nmodalities; i++)
		files += r->modalities[i].b.files;
	assert_int_equal(files, r->files);
	assert_int_equal(r->ninstitutions, MV_INV_MAX_INSTITUTIONS);
	assert_int_equal(r->institutions_truncated, 1);
	assert_string_equal(r->institutions[0], "HOSPITAL 0000");
	assert_int_equal(r->instances, MV_INV_MAX_MODALITIES + 6 + MV_INV_MAX_INSTITUTIONS + 44);
	assert_int_equal(r->patients, 1);
	mv_inventory_free(inv);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_inventory__keymap_put_get_grow),
	    cmocka_unit_test(test_inventory__keymap_rejects_bad_key_length),
	    cmocka_unit_test(test_inventory__dates),
	    cmocka_unit_test(test_inventory__distinct_counts),
	    cmocka_unit_test(test_inventory__empty),
	    cmocka_unit_test(test_inventory__patient_list),
	    cmocka_unit_test(test_inventory__modality_and_institution_caps),
	};
	return cmocka_run_group_tests(tests, 0, NULL);
}
