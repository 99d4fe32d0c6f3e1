#include "core/medical/inventory.h"
#include "core/util/grow.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ---- inventory ---------------------------------------------------------- */

#define YEAR_MIN 1850
#define YEAR_MAX 2199
#define NYEARS   (YEAR_MAX - YEAR_MIN + 2) /* slot 0: unknown */
#define KEY_LEN  MV_INV_KEY_LEN

struct mv_inventory {
	unsigned flags;
	struct mv_keymap *patients; /* value: index in plist (with KEEP_PATIENTS) */
	struct mv_keymap *studies, *series, *instances, *institutions;
	struct mv_inv_modality mods[MV_INV_MAX_MODALITIES + 1]; /* + "OTHER" */
	size_t nmods;
	struct mv_inv_bucket years[NYEARS];
	uint8_t year_used[NYEARS];
	char **insts;
	size_t ninsts;
	struct mv_inv_patient *plist;
	size_t np, capp;
	/* the report's sorted copies */
	struct mv_inv_report rep;
	struct mv_inv_modality *rmods;
	struct mv_inv_year *ryears;
	struct mv_inv_patient *rpatients;
};

struct mv_inventory *mv_inventory_new(unsigned flags)
{
	struct mv_inventory *inv = calloc(1, sizeof(*inv));
	if (!inv)
		return NULL;
	inv->flags = flags;
	inv->patients = mv_keymap_new(KEY_LEN);
	inv->studies = mv_keymap_new(KEY_LEN);
	inv->series = mv_keymap_new(KEY_LEN);
	inv->instances = mv_keymap_new(KEY_LEN);
	inv->institutions = mv_keymap_new(KEY_LEN);
	if (!inv->patients || !inv->studies || !inv->series || !inv->instances ||
	    !inv->institutions) {
		mv_inventory_free(inv);
		return NULL;
	}
	return inv;
}

void mv_inventory_free(struct mv_inventory *inv)
{
	if (!inv)
		return;
	mv_keymap_free(inv->patients);
	mv_keymap_free(inv->studies);
	mv_keymap_free(inv->series);
	mv_keymap_free(inv->instances);
	mv_keymap_free(inv->institutions);
	for (size_t i = 0; i < inv->ninsts; i++)
		free(inv->insts[i]);
	free(inv->insts);
	for (size_t i = 0; i < inv->np; i++) {
		free(inv->plist[i].name);
		free(inv->plist[i].id);
		free(inv->plist[i].birth_date);
		free(inv->plist[i].sex);
	}
	free(inv->plist);
	free(inv->rmods);
	free(inv->ryears);
	free(inv->rpatients);
	free(inv);
}

/* BLAKE2b-128 of a domain byte and up to two NUL-separated strings. */
static void key_of(uint8_t out[KEY_LEN], char domain, const char *a, const char *b)
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, KEY_LEN);
	crypto_generichash_update(&st, (const unsigned char *)&domain, 1);
	crypto_generichash_update(&st, (const unsigned char *)a, strlen(a));
	if (b) {
		crypto_generichash_update(&st, (const unsigned char *)"", 1);
		crypto_generichash_update(&st, (const unsigned char *)b, strlen(b));
	}
	crypto_generichash_final(&st, out, KEY_LEN);
}

static int digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int mv_inventory_date(const char *da, char out[11])
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t len = strnlen(da, 11);
	const char *y, *m, *d;

	if (len == 8 && digits(da, 8)) {
		y = da, m = da + 4, d = da + 6;
	} else if (len == 10 && da[4] == '.' && da[7] == '.' && digits(da, 4) &&
	           digits(da + 5, 2) && digits(da + 8, 2)) {
		y = da, m = da + 5, d = da + 8;
	} else {
		return 0;
	}
	int year = num(y, 4), month = num(m, 2), day = num(d, 2);
	if (year < YEAR_MIN || year > YEAR_MAX || month < 1 || month > 12 || day < 1 ||
	    day > mdays[month - 1])
		return 0;
	if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return 0;
	memcpy(out, y, 4);
	out[4] = '-';
	memcpy(out + 5, m, 2);
	out[7] = '-';
	memcpy(out + 8, d, 2);
	out[10] = '\0';
	return year;
}

static struct mv_inv_bucket *modality_bucket(struct mv_inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->nmods; i++)
		if (strcmp(inv->mods[i].name, name) == 0)
			return &inv->mods[i].b;
	if (inv->nmods == MV_INV_MAX_MODALITIES) {
		/* the last slot collects the rest */
		struct mv_inv_modality *o = &inv->mods[MV_INV_MAX_MODALITIES];
		if (!o->name[0])
			memcpy(o->name, "OTHER", sizeof("OTHER"));
		return &o->b;
	}
	struct mv_inv_modality *m = &inv->mods[inv->nmods++];
	memset(m, 0, sizeof(*m));
	size_t l = strnlen(name, sizeof(m->name) - 1);
	memcpy(m->name, name, l);
	m->name[l] = '\0';
	return &m->b;
}

static char *dup_str(const char *s)
{
	size_t l = strlen(s);
	char *d = malloc(l + 1);
	if (d)
		memcpy(d, s, l + 1);
	return d;
}

/* Records a new patient for the list; returns its index or -1. */
static long add_patient(struct mv_inventory *inv, const struct mv_dicom_info *info)
{
	if (inv->np >= UINT32_MAX || mv_grow(inv->plist, inv->capp, inv->np + 1))
		return -1;
	struct mv_inv_patient p = {
	    .name = dup_str(info->patient_name),
	    .id = dup_str(info->patient_id),
	    .birth_date = dup_str(info->birth_date),
	    .sex = dup_str(info->sex),
	};
	if (!p.name || !p.id || !p.birth_date || !p.sex) {
		free(p.name);
		free(p.id);
		free(p.birth_date);
		free(p.sex);
		return -1;
	}
	inv->plist[inv->np] = p;
	return (long)inv->np++;
}

static int add_institution(struct mv_inventory *inv, const char *name)
{
	uint8_t key[KEY_LEN];
	key_of(key, 'H', name, NULL);
	int rc = mv_keymap_put(inv->institutions, key, 0, NULL);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (inv->ninsts == MV_INV_MAX_INSTITUTIONS) {
		inv->rep.institutions_truncated = 1;
		return 0;
	}
	if (!inv->insts) {
		inv->insts = calloc(MV_INV_MAX_INSTITUTIONS, sizeof(*inv->insts));
		if (!inv->insts)
			return MV_ERR_NOMEM;
	}
	if (!(inv->insts[inv->ninsts] = dup_str(name)))
		return MV_ERR_NOMEM;
	inv->ninsts++;
	return 0;
}

int mv_inventory_patient_key(const struct mv_dicom_info *info, uint8_t key[KEY_LEN])
{
	if (info->patient_id[0])
		key_of(key, 'P', info->patient_id, NULL);
	else if (info->patient_name[0])
		key_of(key, 'N', info->patient_name, info->birth_date);
	else
		return 0;
	return 1;
}

int mv_inventory_study_key(const struct mv_dicom_info *info, uint8_t key[KEY_LEN])
{
	if (!info->study_uid[0])
		return 0;
	key_of(key, 'S', info->study_uid, NULL);
	return 1;
}

/* Counts the file's patient; *pat gets its list entry (or NULL). */
static int count_patient(struct mv_inventory *inv, const struct mv_dicom_info *info,
                         struct mv_inv_patient **pat)
{
	uint8_t key[KEY_LEN];
	uint32_t idx = UINT32_MAX;

	*pat = NULL;
	if (!info->patient_id[0] && !info->patient_name[0]) {
		inv->rep.unidentified++;
		return 0;
	}
	mv_inventory_patient_key(info, key);
	int rc = mv_keymap_put(inv->patients, key, UINT32_MAX, &idx);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		inv->rep.patients++;
		if (inv->flags & MV_INV_KEEP_PATIENTS) {
			long i = add_patient(inv, info);
			if (i < 0)
				return MV_ERR_NOMEM;
			idx = (uint32_t)i;
			mv_keymap_set(inv->patients, key, idx);
		}
	}
	if (idx != UINT32_MAX && idx < inv->np)
		*pat = &inv->plist[idx];
	return 0;
}

/* Adds uid to map under domain d; returns 1 when new, 0 when known or
 * empty, or an error. */
static int count_uid(struct mv_keymap *m, char d, const char *uid)
{
	uint8_t key[KEY_LEN];
	if (!uid[0])
		return 0;
	key_of(key, d, uid, NULL);
	int rc = mv_keymap_put(m, key, 0, NULL);
	return rc < 0 ? rc : rc == 0;
}

int mv_inventory_add(struct mv_inventory *inv, const struct mv_dicom_info *info, uint64_t size,
                     int in_archive, struct mv_error *err)
{
	struct mv_inv_report *r = &inv->rep;
	struct mv_inv_patient *pat;
	char date[11];
	int rc;

	if (info->flags & MV_DICOM_F_DICOMDIR) {
		r->dicomdirs++;
		return 0;
	}
	r->files++;
	r->bytes += size;
	if (in_archive)
		r->members++;
	if (info->flags & (MV_DICOM_F_TRUNCATED | MV_DICOM_F_MALFORMED | MV_DICOM_F_LIMIT))
		r->flagged++;
	r->with_name += info->patient_name[0] != '\0';
	r->with_patient_id += info->patient_id[0] != '\0';
	r->with_birth_date += info->birth_date[0] != '\0';
	r->with_sex += info->sex[0] != '\0';
	r->with_pixel_data += info->has_pixel_data != 0;
	r->with_study_date += info->study_date[0] != '\0';
	r->with_description += info->study_desc[0] != '\0' || info->series_desc[0] != '\0';
	r->with_accession += info->accession[0] != '\0';
	r->with_institution += info->institution[0] != '\0';

	int year = mv_inventory_date(info->study_date, date);
	if (year) {
		if (!r->first_date[0] || strcmp(date, r->first_date) < 0)
			memcpy(r->first_date, date, sizeof(date));
		if (!r->last_date[0] || strcmp(date, r->last_date) > 0)
			memcpy(r->last_date, date, sizeof(date));
	}
	size_t yi = year ? (size_t)(year - YEAR_MIN + 1) : 0;
	struct mv_inv_bucket *yb = &inv->years[yi];
	struct mv_inv_bucket *mb = modality_bucket(inv, info->modality);
	inv->year_used[yi] = 1;
	yb->files++;
	yb->bytes += size;
	mb->files++;
	mb->bytes += size;

	if ((rc = count_patient(inv, info, &pat)) < 0)
		goto nomem;
	if ((rc = count_uid(inv->studies, 'S', info->study_uid)) < 0)
		goto nomem;
	if (rc) {
		r->studies++, yb->studies++, mb->studies++;
		if (pat)
			pat->studies++;
	}
	if ((rc = count_uid(inv->series, 'E', info->series_uid)) < 0)
		goto nomem;
	if (rc)
		r->series++, yb->series++, mb->series++;
	rc = info->sop_uid[0] ? count_uid(inv->instances, 'I', info->sop_uid) : 1;
	if (rc < 0)
		goto nomem;
	if (rc) {
		r->instances++, yb->instances++, mb->instances++;
		if (pat)
			pat->instances++;
	}
	if (info->institution[0] && (rc = add_institution(inv, info->institution)) < 0)
		goto nomem;
	return 0;
nomem:
	return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
}

void mv_inventory_add_archive(struct mv_inventory *inv, int holds_dicom, int unreadable)
{
	if (holds_dicom)
		inv->rep.archives_dicom++;
	if (unreadable)
		inv->rep.archives_unreadable++;
}

static int cmp_mod(const void *a, const void *b)
{
	return strcmp(((const struct mv_inv_modality *)a)->name,
	              ((const struct mv_inv_modality *)b)->name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_patient(const void *a, const void *b)
{
	const struct mv_inv_patient *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c == 0)
		c = strcmp(x->id, y->id);
	if (c == 0)
		c = strcmp(x->birth_date, y->birth_date);
	return c;
}

const struct mv_inv_report *mv_inventory_report(struct mv_inventory *inv)
{
	struct mv_inv_report *r = &inv->rep;
	size_t nm = inv->nmods + (inv->mods[MV_INV_MAX_MODALITIES].name[0] ? 1 : 0);

	free(inv->rmods);
	free(inv->ryears);
	free(inv->rpatients);
	inv->rmods = NULL;
	inv->ryears = NULL;
	inv->rpatients = NULL;
	inv->rmods = malloc((nm ? nm : 1) * sizeof(*inv->rmods));
	inv->ryears = malloc(NYEARS * sizeof(*inv->ryears));
	inv->rpatients = malloc((inv->np ? inv->np : 1) * sizeof(*inv->rpatients));
	if (!inv->rmods || !inv->ryears || !inv->rpatients)
		return NULL;
	memcpy(inv->rmods, inv->mods, inv->nmods * sizeof(*inv->rmods));
	if (nm > inv->nmods)
		inv->rmods[inv->nmods] = inv->mods[MV_INV_MAX_MODALITIES];
	qsort(inv->rmods, nm, sizeof(*inv->rmods), cmp_mod);
	size_t ny = 0;
	for (size_t i = 0; i < NYEARS; i++) {
		if (!inv->year_used[i])
			continue;
		inv->ryears[ny].year = i ? (int)i + YEAR_MIN - 1 : 0;
		inv->ryears[ny].b = inv->years[i];
		ny++;
	}
	if (inv->ninsts)
		qsort(inv->insts, inv->ninsts, sizeof(*inv->insts), cmp_str);
	if (inv->np) {
		memcpy(inv->rpatients, inv->plist, inv->np * sizeof(*inv->rpatients));
		qsort(inv->rpatients, inv->np, sizeof(*inv->rpatients), cmp_patient);
	}
	r->modalities = inv->rmods;
	r->nmodalities = nm;
	r->years = inv->ryears;
	r->nyears = ny;
	r->institutions = inv->insts;
	r->ninstitutions = inv->ninsts;
	r->patient_list = inv->rpatients;
	r->npatient_list = inv->np;
	return r;
}
