/* The rollback record (FORMAT.md section 15, SECURITY.md 1.4): a local,
 * sealed record per repository of the newest snapshot and the key slots
 * this machine saw there, so that a repository that has gone back in time
 * (an older copy swapped in, the newest snapshots or a removed key slot put
 * back) is reported. */
#ifndef MV_ROLLBACK_H
#define MV_ROLLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/repo.h"

#define MV_ROLLBACK_MAX_SLOTS 4096

/* What mv_rollback_check found. */
struct mv_rollback_report {
	int had_record; /* a record was there and opened */
	int damaged;    /* a record was there and did not open (replaced) */
	/* the recorded newest snapshot is gone and no snapshot is as new */
	int snapshots_back;
	int64_t recorded_time_ns; /* the recorded newest snapshot */
	uint8_t recorded_id[32];
	int have_newest; /* newest_*: the newest intact snapshot now, when read */
	int64_t newest_time_ns;
	uint8_t newest_id[32];
	size_t slots_back;   /* removed key slots that are back */
	char first_slot[65]; /* the first of them */
	char why[300];       /* damaged: why the record did not open */
};

/* Compares the unlocked r with the record at path (made with its folders
 * when missing), then moves the record forward (never back) and writes it
 * when it changed. Reads one size of a snapshot file and the key slots'
 * names; every snapshot only when the recorded one is gone or there is no
 * record yet. Returns 0 (rep says what was found), or MV_ERR_IO (the
 * record cannot be read or written), MV_ERR_NOMEM, the repository's
 * errors. */
int mv_rollback_check(struct mv_repo *r, const char *path, struct mv_rollback_report *rep,
                      struct mv_error *err) MV_MUST_CHECK;

/* A snapshot saved or listed as the newest: the record moves to it when it
 * is newer than the recorded one (a record that does not open is replaced).
 * Returns 0, MV_ERR_IO, MV_ERR_NOMEM. */
int mv_rollback_note(struct mv_repo *r, const char *path, int64_t time_ns, const uint8_t id[32],
                     struct mv_error *err) MV_MUST_CHECK;

#endif
