/* forget: which snapshots a retention policy keeps (restic's policy: the
 * last N, N per hour/day/week/month/year, those within a duration of the
 * newest, those with tags; core/ops/forget.c), what would then exist in no
 * remaining snapshot (files, bytes, patients, studies;
 * core/ops/forget_loss.c), and the removal of snapshot files.
 *
 * Time buckets use local time (the TZ environment variable), as restic
 * does: "daily" means one calendar day where the command runs. Weeks are
 * ISO 8601 weeks (Monday first; week-years). */
#ifndef MV_FORGET_H
#define MV_FORGET_H

#include <stddef.h>
#include <stdint.h>

#include "core/medical/inventory.h"
#include "core/repo/repo.h"
#include "core/util/events.h"

/* The kinds of bucket, in restic's order. */
enum {
	MV_FORGET_LAST,
	MV_FORGET_HOURLY,
	MV_FORGET_DAILY,
	MV_FORGET_WEEKLY,
	MV_FORGET_MONTHLY,
	MV_FORGET_YEARLY,
	MV_FORGET_NKINDS
};

/* A count of --keep-*: keep every one ("unlimited", restic's -1). */
#define MV_FORGET_ALL (-1L)

/* "2y5m7d3h": years, months, days, hours; all zero = not set. */
struct mv_forget_duration {
	int years, months, days, hours;
};

/* Parses a duration: one or more of NUMBER followed by y, m, d or h, each
 * unit at most once (numbers up to 1000000). Returns 0 or MV_ERR_USAGE. */
int mv_forget_duration_parse(const char *s, struct mv_forget_duration *d) MV_MUST_CHECK;
/* "2y5m7d3h" without the zero parts ("0h" when all are zero). */
void mv_forget_duration_str(const struct mv_forget_duration *d, char buf[64]);

struct mv_forget_policy {
	/* per kind: how many to keep (0: none of this kind, MV_FORGET_ALL) */
	long keep[MV_FORGET_NKINDS];
	/* every snapshot within this of the newest (--keep-within) */
	struct mv_forget_duration within;
	/* per kind but LAST: one per bucket within this of the newest
	 * (--keep-within-hourly, ...); within_kind[MV_FORGET_LAST] is unused */
	struct mv_forget_duration within_kind[MV_FORGET_NKINDS];
	/* --keep-tag: each a comma-separated list of tags that a kept snapshot
	 * must all have (the caller's strings) */
	const char *const *tags;
	size_t ntags;
};

/* 1 when the policy keeps nothing by itself (no keep flag given). */
int mv_forget_policy_empty(const struct mv_forget_policy *p);

/* Grouping (--group-by): snapshots are grouped by the fields set, and the
 * policy applies to each group alone. */
enum {
	MV_FORGET_BY_HOST = 1u << 0,
	MV_FORGET_BY_PATHS = 1u << 1,
	MV_FORGET_BY_TAGS = 1u << 2,
};

/* Why a snapshot is kept: bits of mv_forget_decision.reasons. */
enum {
	MV_FORGET_R_KIND = 1u << 0,    /* << kind: "last snapshot", "daily snapshot", ... */
	MV_FORGET_R_WITHIN = 1u << 6,  /* within policy.within of the newest */
	MV_FORGET_R_WKIND = 1u << 7,   /* << kind: "daily within 1m", ... */
	MV_FORGET_R_TAGS = 1u << 13,   /* has the tags of policy.tags[tag] */
	MV_FORGET_R_POLICY = 1u << 14, /* the policy is empty: everything is kept */
};

struct mv_forget_decision {
	size_t snap;      /* index in the input list */
	size_t group;     /* groups numbered from 0 */
	int keep;         /* 1: kept, 0: removed */
	unsigned reasons; /* MV_FORGET_R_* */
	size_t tag;       /* with MV_FORGET_R_TAGS: the first tag list matched */
};

/* One decision per input snapshot, by group (groups ordered by host, paths
 * and tags, bytewise), newest first within a group (equal times: by id). */
struct mv_forget_plan {
	struct mv_forget_decision *d;
	size_t n, nkeep, nremove, ngroups;
};

/* Applies p to each group of the n snapshots (time_ns, host, paths, tags
 * and id are read; nothing else). now_ns: snapshots newer than it are never
 * the "newest" that --keep-within-* counts from (restic's rule for clocks
 * set wrong). An empty policy keeps everything (reason POLICY). A pure
 * function of its arguments and TZ. Returns 0 or MV_ERR_NOMEM. */
int mv_forget_select(const struct mv_snapshot *s, size_t n, const struct mv_forget_policy *p,
                     unsigned group_by, int64_t now_ns, struct mv_forget_plan *out,
                     struct mv_error *err) MV_MUST_CHECK;
void mv_forget_plan_release(struct mv_forget_plan *plan); /* accepts a zeroed plan */

/* The reasons of d as text, "daily snapshot, monthly snapshot, within 1y";
 * truncated to fit cap (>0). */
void mv_forget_reasons_str(const struct mv_forget_policy *p, const struct mv_forget_decision *d,
                           char *buf, size_t cap);

/* ---- what would be lost (forget_loss.c) -------------------------------- */

/* What the removed snapshots hold that no kept snapshot holds.
 * Files: a file of a removed snapshot whose content (hash) is in no file
 * of a kept snapshot; contents counted once (bytes: their sizes), paths
 * each time a tree not read before names one.
 * DICOM: from the catalogs; a patient (the inventory's rule: PatientID,
 * else name and birth date) or a study (StudyInstanceUID) named in a
 * removed snapshot's catalog and in no kept snapshot's catalog. The
 * inventory `patients` holds the instances of those patients (with their
 * list: MV_INV_KEEP_PATIENTS). A kept snapshot without a catalog may hold
 * the same patients: counted in kept_without_catalog. */
struct mv_forget_loss {
	uint64_t contents, bytes, files;
	char **paths; /* the first max_paths paths of such files, in walk order */
	size_t npaths;
	uint64_t studies;
	struct mv_inventory *patients;
	size_t removed_with_catalog, kept_without_catalog;
	size_t unreadable; /* trees and catalogs that could not be read (warned about) */
};

/* Fills *out (free with mv_forget_loss_release). The index must be loaded
 * (trees and catalogs). A tree or catalog that cannot be read is reported
 * through ev->warn and counted: a kept one may make the report claim more
 * than is lost, a removed one less. Returns 0, MV_ERR_INTERRUPTED, or a
 * fatal error (MV_ERR_NOMEM, ...). */
int mv_forget_loss(struct mv_repo *r, const struct mv_snapshot *kept, size_t nkept,
                   const struct mv_snapshot *removed, size_t nremoved, size_t max_paths,
                   const struct mv_events *ev, struct mv_forget_loss *out,
                   struct mv_error *err) MV_MUST_CHECK;
void mv_forget_loss_release(struct mv_forget_loss *l); /* accepts a zeroed one */

/* Deletes the snapshot files of the n snapshots, one by one (each deletion
 * is complete by itself: a kill leaves the rest in place). The caller holds
 * the exclusive lock: it is checked before each deletion. *done counts the
 * files deleted. Returns 0, MV_ERR_INTERRUPTED, MV_ERR_LOCKED or the
 * backend's error. */
int mv_forget_remove(struct mv_repo *r, const struct mv_snapshot *s, size_t n,
                     const struct mv_events *ev, size_t *done, struct mv_error *err) MV_MUST_CHECK;

#endif
