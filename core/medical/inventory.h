/* An inventory of DICOM instances, the engine behind `scan` and `impact`:
 * distinct patients, studies, series and instances, bytes, counts by
 * modality and by year, the date range, the modalities, the institutions,
 * which categories of personal data the headers carry, and the archives
 * that held DICOM. It aggregates and never prints.
 *
 * Memory grows with the number of distinct values, never with bytes: a
 * distinct patient, study, series or instance costs one 16-byte hash and a
 * 4-byte value in an open-addressing table (about 40 bytes with the table's
 * free room). Values are told apart by BLAKE2b-128 of the string: two UIDs
 * colliding is a 2^-64 event even over billions of instances.
 *
 * Counting rules (the same for a live scan and a snapshot's catalog, so
 * that `impact PATH` and `impact -r REPO SNAPSHOT` agree):
 *   - patient: PatientID when present, else PatientName + PatientBirthDate;
 *     an instance with neither counts as "unidentified", not as a patient;
 *   - study, series, instance: StudyInstanceUID, SeriesInstanceUID,
 *     SOPInstanceUID; an instance without SOPInstanceUID counts once per
 *     file; copies of the same instance (a second export) count once;
 *   - files and bytes count every DICOM file (and archive member), copies
 *     included: what lies on the disk;
 *   - a DICOMDIR (media directory) is counted apart, not as an instance;
 *   - year and date range come from StudyDate (YYYYMMDD or YYYY.MM.DD,
 *     years 1850..2199); other values count under year 0, "unknown".
 * By-modality and by-year buckets count files and bytes of every file, and
 * an instance, series or study in the bucket of the file where it was
 * first seen. */
#ifndef MV_INVENTORY_H
#define MV_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/err.h"
#include "core/util/keymap.h"
#include "formats/dicom.h"

/* ---- the inventory ------------------------------------------------------ */

/* Distinct modalities kept; further ones count under "OTHER". */
#define MV_INV_MAX_MODALITIES 64
/* Distinct institution names kept; the report says when more were seen. */
#define MV_INV_MAX_INSTITUTIONS 256

enum {
	MV_INV_KEEP_PATIENTS = 1u << 0, /* keep each patient's name, ID, birth date, sex */
};

struct mv_inv_bucket {
	uint64_t files, bytes;               /* every file */
	uint64_t instances, series, studies; /* distinct, where first seen */
};

struct mv_inv_modality {
	char name[20]; /* "CT"; "" when the header has none */
	struct mv_inv_bucket b;
};

struct mv_inv_year {
	int year; /* 0: no valid StudyDate */
	struct mv_inv_bucket b;
};

/* A patient, with MV_INV_KEEP_PATIENTS: the strings of the first instance
 * seen (UTF-8 as mv_dicom_parse gives them; not escaped). */
struct mv_inv_patient {
	char *name, *id, *birth_date, *sex;
	uint64_t studies, instances;
};

struct mv_inv_report {
	uint64_t files, bytes; /* DICOM files and archive members, copies included */
	uint64_t members;      /* of which inside archives */
	uint64_t instances, series, studies, patients; /* distinct */
	uint64_t unidentified; /* files with neither PatientID nor PatientName */
	uint64_t dicomdirs;    /* DICOMDIR files (not counted above) */
	uint64_t flagged;      /* files read only in part (truncated, malformed, limits) */
	/* categories of personal data: files whose header carries each */
	uint64_t with_name, with_patient_id, with_birth_date, with_sex;
	uint64_t with_pixel_data, with_study_date, with_description, with_accession;
	uint64_t with_institution;
	/* archives (ZIP, tar, ISO) found: holding DICOM, and unreadable
	 * (corrupt or encrypted) */
	uint64_t archives_dicom, archives_unreadable;
	char first_date[11], last_date[11]; /* "YYYY-MM-DD"; "" when no valid date */
	/* sorted: modalities by name ("" first), years ascending (0 first),
	 * institutions bytewise, patients by name then ID */
	const struct mv_inv_modality *modalities;
	size_t nmodalities;
	const struct mv_inv_year *years;
	size_t nyears;
	char *const *institutions;
	size_t ninstitutions;
	int institutions_truncated;                /* more than MV_INV_MAX_INSTITUTIONS seen */
	const struct mv_inv_patient *patient_list; /* with MV_INV_KEEP_PATIENTS */
	size_t npatient_list;
};

struct mv_inventory;

/* flags: MV_INV_*. NULL when out of memory. */
struct mv_inventory *mv_inventory_new(unsigned flags);
void mv_inventory_free(struct mv_inventory *inv); /* accepts NULL */

/* Counts one DICOM file (or archive member, in_archive set) of `size`
 * bytes whose header parsed into info. Returns 0 or MV_ERR_NOMEM (the
 * counts may then include part of this instance). Not thread-safe. */
int mv_inventory_add(struct mv_inventory *inv, const struct mv_dicom_info *info, uint64_t size,
                     int in_archive, struct mv_error *err) MV_MUST_CHECK;

/* Counts an archive: holds_dicom (at least one member is DICOM), or
 * unreadable (corrupt or encrypted: its members are unknown). */
void mv_inventory_add_archive(struct mv_inventory *inv, int holds_dicom, int unreadable);

/* The report, sorted; owned by inv, valid until the next report, add or
 * free. NULL when out of memory (the sorted copies are allocated). */
const struct mv_inv_report *mv_inventory_report(struct mv_inventory *inv);

/* The keys the inventory tells patients and studies apart by (BLAKE2b-128,
 * see the counting rules above), for callers that compare sets of them.
 * Each returns 1 with key filled, or 0 when info names no patient (no
 * PatientID and no PatientName) or no study (no StudyInstanceUID). */
#define MV_INV_KEY_LEN 16
int mv_inventory_patient_key(const struct mv_dicom_info *info, uint8_t key[MV_INV_KEY_LEN]);
int mv_inventory_study_key(const struct mv_dicom_info *info, uint8_t key[MV_INV_KEY_LEN]);

/* Parses a DICOM date (YYYYMMDD or YYYY.MM.DD, years 1850..2199, month
 * 1..12, day 1..31) into "YYYY-MM-DD" and returns the year, or 0 when da
 * is not such a date (out untouched). */
int mv_inventory_date(const char *da, char out[11]);

#endif
