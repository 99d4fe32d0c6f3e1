/* Choosing a snapshot by name: "latest" (narrowed by host and paths, as
 * restic's --host and --path), a full id or a unique prefix of one. Damaged
 * snapshot files are reported, never passed over in silence: a damaged file
 * may hold the newest snapshot. */
#ifndef MV_SNAPFIND_H
#define MV_SNAPFIND_H

#include <stddef.h>

#include "core/repo/repo.h"

/* Which snapshots "latest" may be. A snapshot matches when its host is one
 * of hosts (any host when nhosts is 0) and every one of paths is among its
 * paths (compared byte for byte: give them normalised, as backup records
 * them). The arrays are the caller's. */
struct mv_snapshot_filter {
	const char *const *hosts;
	size_t nhosts;
	const char *const *paths;
	size_t npaths;
};

/* 1 when s matches f (a NULL f matches every snapshot), else 0. */
int mv_snapshot_filter_match(const struct mv_snapshot_filter *f, const struct mv_snapshot *s);

/* The snapshot files that could not be read while "latest" was resolved. */
struct mv_snapshot_damage {
	char (*names)[65]; /* malloc'd; file names in snapshots/ */
	size_t n;
	struct mv_error first; /* why the first of them could not be read */
};
void mv_snapshot_damage_release(struct mv_snapshot_damage *d); /* accepts NULL */

/* Resolves name into *out (the caller releases it):
 * - "latest": the newest intact snapshot that matches f. Damaged snapshot
 *   files (their time is unknown, so any may be newer) are listed in *d when
 *   d is not NULL; 0 is still returned with the newest intact one.
 *   MV_ERR_NOTFOUND when no intact snapshot matches (MV_ERR_INTEGRITY when
 *   there are damaged files and no intact snapshot matches).
 * - an id or a unique prefix of one (f is not used): only the files whose
 *   names start with it are read. MV_ERR_NOTFOUND, MV_ERR_AMBIGUOUS (damaged
 *   files count: their names are known), MV_ERR_INTEGRITY when the file it
 *   names is damaged (err names the file and says why).
 * Also MV_ERR_NOMEM and the backend's errors. d is reset on entry. */
int mv_snapshot_resolve(struct mv_repo *r, const char *name, const struct mv_snapshot_filter *f,
                        struct mv_snapshot *out, struct mv_snapshot_damage *d,
                        struct mv_error *err) MV_MUST_CHECK;

/* p as backup records source paths and as --path is compared with them:
 * absolute (from the current directory), without ".", ".." or repeated and
 * trailing '/' (lexically, like restic). malloc'd; NULL when out of memory
 * or the current directory is unknown. */
char *mv_abs_path(const char *p);

#endif
