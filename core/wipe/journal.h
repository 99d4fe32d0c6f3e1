/* The wipe journal (FORMAT.md section 14.1): a local file, sealed with the
 * repository key record by record, that says which file a wipe began to
 * overwrite and did not finish, so that the next run names it (interrupted
 * by Ctrl-C, kill -9, a crash or a power cut). */
#ifndef MV_WIPE_JOURNAL_H
#define MV_WIPE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/repo/crypto.h"
#include "core/util/err.h"

enum { MV_JOURNAL_BEGINS = 1, MV_JOURNAL_ENDS = 2 };

struct mv_journal_entry {
	uint64_t dev, ino, size;
	uint8_t content[32];  /* zero when the file was not proven (--no-backup-check) */
	uint8_t snapshot[32]; /* zero likewise */
	int64_t time;         /* Unix seconds */
	char *path;           /* NUL-terminated, malloc'd in the pending list */
};

struct mv_journal;

/* Opens (creating it, mode 0600, its folders 0700) the journal at path,
 * without following a symbolic link, locks it (one wipe with a repository
 * at a time on a machine: MV_ERR_LOCKED otherwise) and reads it: the files that began
 * and never ended are the pending ones. A record that does not open with
 * the key (damage, another repository's journal) makes this fail with
 * MV_ERR_INTEGRITY naming the file (it is then left as it is); a record cut
 * short at the end (a crash while appending) is ignored. Returns 0,
 * MV_ERR_LOCKED, MV_ERR_IO, MV_ERR_INTEGRITY, MV_ERR_NOMEM. */
int mv_journal_open(const char *path, const struct mv_keys *k, struct mv_journal **out,
                    struct mv_error *err) MV_MUST_CHECK;

/* The pending entries (valid until mv_journal_close). */
const struct mv_journal_entry *mv_journal_pending(const struct mv_journal *j, size_t *n);

/* Appends a record of kind MV_JOURNAL_BEGINS (then fdatasync: on disk
 * before the first byte of the file is overwritten) or MV_JOURNAL_ENDS
 * (not synced: a lost "ends" only names a finished file once more).
 * Returns 0, MV_ERR_IO, MV_ERR_NOSPC, MV_ERR_LIMIT (path over 65535 bytes),
 * MV_ERR_NOMEM. */
int mv_journal_append(struct mv_journal *j, int kind, const struct mv_journal_entry *e,
                      struct mv_error *err) MV_MUST_CHECK;

/* Empties the journal and syncs it: at the end of a run, once the pending
 * files of earlier runs are in this run's certificate (the caller then
 * appends again the one file this run left begun, if any). Returns 0 or
 * MV_ERR_IO. */
int mv_journal_reset(struct mv_journal *j, struct mv_error *err) MV_MUST_CHECK;

void mv_journal_close(struct mv_journal *j); /* accepts NULL */

#endif
