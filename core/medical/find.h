/* Searching the DICOM catalog: by patient name (folding case, accents and the
 * PN separators), patient id, study, series, modality and study date, over
 * every snapshot (find) or in one snapshot (restore and dump by patient or
 * study). */
#ifndef MV_FIND_H
#define MV_FIND_H

#include <stddef.h>
#include <stdint.h>

#include "core/medical/catalog.h"
#include "core/repo/repo.h"

/* Criteria, as bits of struct mv_find_match.matched. */
enum {
	MV_FIND_PATIENT = 1u << 0,
	MV_FIND_PATIENT_ID = 1u << 1,
	MV_FIND_STUDY_UID = 1u << 2,
	MV_FIND_SERIES_UID = 1u << 3,
	MV_FIND_MODALITY = 1u << 4,
	MV_FIND_DATE = 1u << 5,
};
#define MV_FIND_NCRIT 6

/* What to look for; NULL fields are not criteria. An entry matches when it
 * meets every criterion given. */
struct mv_find_query {
	/* PatientName contains it, both folded: case and accents removed
	 * (Unicode NFD without combining marks, case folding), the PN
	 * separators '^' and '=' and other white space as one space, no
	 * leading or trailing space. "dupont", "DUPONT^MARIE", "Dupont Marie"
	 * and "dupónt" all match "DUPONT^MARIE". */
	const char *patient;
	const char *patient_id; /* PatientID equals it */
	const char *study_uid;  /* StudyInstanceUID equals it */
	const char *series_uid; /* SeriesInstanceUID equals it */
	const char *modality;   /* Modality equals it, ignoring ASCII case */
	/* StudyDate within an inclusive range "A..B", either end may be left
	 * out ("2019-01-01..", "..2019-12-31"); a single date "A" is the range
	 * A..A. Dates are YYYY-MM-DD or YYYYMMDD, or shorter (YYYY-MM, YYYY)
	 * standing for their whole month or year. */
	const char *dates;
};

/* A compiled query. */
struct mv_find_matcher;

/* Checks and compiles q (folds the patient name once, parses the dates).
 * Returns 0, MV_ERR_USAGE (no criterion, a patient name with nothing to
 * match once folded, a malformed date range: message in err) or
 * MV_ERR_NOMEM. */
int mv_find_matcher_new(const struct mv_find_query *q, struct mv_find_matcher **out,
                        struct mv_error *err) MV_MUST_CHECK;
void mv_find_matcher_free(struct mv_find_matcher *m); /* accepts NULL */
/* The criteria of the query (MV_FIND_* bits). */
unsigned mv_find_matcher_criteria(const struct mv_find_matcher *m);
/* Whether info meets every criterion: returns the MV_FIND_* bits of the
 * criteria (all of them) when it does, 0 when not. Does not allocate in
 * the common cases; remembers the last patient name folded, so runs of
 * entries of one patient fold it once. Not thread-safe per matcher. */
unsigned mv_find_matcher_match(struct mv_find_matcher *m, const struct mv_dicom_info *info);

/* The same on a catalog record (formats/catalog.h), without copying it. */
struct mv_catalog_rec;
unsigned mv_find_matcher_match_rec(struct mv_find_matcher *m, const struct mv_catalog_rec *rec);

/* The criterion's name for output: "patient", "patient_id", "study_uid",
 * "series_uid", "modality", "date"; NULL for an unknown bit. */
const char *mv_find_criterion_name(unsigned bit);

/* Folds a name as the patient criterion does, into out (cap bytes,
 * NUL-terminated). Returns the folded length, or -1 when it does not fit.
 * Exposed for tests. */
long mv_find_fold(const char *s, size_t len, char *out, size_t cap);

struct mv_find_match {
	const struct mv_snapshot *snapshot;
	const struct mv_catalog_entry *entry;
	unsigned matched; /* MV_FIND_* bits of the criteria that matched */
};

/* Called for each match; a non-zero return stops the search and is
 * returned by mv_find. Pointers are valid during the call only. */
typedef int (*mv_find_cb)(void *arg, const struct mv_find_match *m);

struct mv_find_stats {
	uint64_t snapshots;       /* snapshots searched (with a catalog) */
	uint64_t without_catalog; /* snapshots that have no catalog */
	uint64_t entries;         /* catalog entries examined */
	uint64_t matches;         /* reported */
	uint64_t damaged;         /* snapshot files or catalog blobs that could not be read */
};

/* Searches the catalogs of all snapshots, newest snapshot first. A matching
 * instance (SOPInstanceUID; for entries without one, path and member) is
 * reported once, from the newest snapshot where it matches: older
 * snapshots' matches for it are skipped, while the copies one snapshot
 * holds at several paths are all reported. (An instance whose header
 * changed, a corrected name, is found under its old name in the snapshots
 * that hold the old header.) Damaged snapshots and catalog blobs are skipped
 * and counted in st->damaged (err keeps the last message); the search goes
 * on. st may be NULL. Returns 0, a callback's non-zero value, or a fatal
 * error (MV_ERR_USAGE for a bad query, MV_ERR_NOMEM, MV_ERR_IO). */
int mv_find(struct mv_repo *r, const struct mv_find_query *q, mv_find_cb cb, void *arg,
            struct mv_find_stats *st, struct mv_error *err) MV_MUST_CHECK;

/* The paths inside snapshot s of the files with at least one catalog entry
 * that matches q (an archive is selected whole when one of its members
 * matches): *paths (malloc'd array of malloc'd strings, sorted by strcmp,
 * unique) and *n. None: NULL and 0. Free with mv_catalog_paths_free.
 * Returns 0, MV_ERR_USAGE, MV_ERR_INTEGRITY (damaged catalog) or
 * MV_ERR_NOMEM. */
int mv_catalog_select_paths(struct mv_repo *r, const struct mv_snapshot *s,
                            const struct mv_find_query *q, char ***paths, size_t *n,
                            struct mv_error *err) MV_MUST_CHECK;
void mv_catalog_paths_free(char **paths, size_t n);
/* Whether path is in a sorted array from mv_catalog_select_paths. */
int mv_catalog_paths_has(char *const *paths, size_t n, const char *path);

#endif
